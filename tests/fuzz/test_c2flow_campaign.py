"""Fuzz tier, c2flow: the kill -9 campaign against a slow reader and a disk-full campaign
(issue 20 items 12-13). Seeds fixed; C2HUNT_FUZZ_SCALE=<n> runs n times as many kills and
fill points (the default runs in well under two minutes)."""
import os
import random

import c2flow_campaign  # tests/fuzz/c2flow_campaign.py
from test_c2flow_faults import FullDisk, Sink, _collect, _spool  # tests/flow/

from c2hunt.capture import checkpoint, flow_input

SCALE = max(1, int(os.environ.get("C2HUNT_FUZZ_SCALE", "1")))


def test_kill_campaign_with_a_slow_reader(tmp_path):
    """13 kills x scale while splunkd drains stdout slowly. Before the journal and atomic
    event writes (same seed): 3,966 of 9,614 records duplicated and 13 cut-off events;
    now at most one commit batch per kill and no cut event."""
    kills = 13 * SCALE
    figures = c2flow_campaign.campaign(tmp_path, kills=kills, seed=20)
    assert figures["kills"] == kills and figures["kills_mid_file"] >= kills // 2, figures
    assert figures["lost"] == 0 and figures["fragments"] == 0, figures
    assert figures["duplicated"] <= kills * flow_input.RECORDS_PER_COMMIT, figures


def test_disk_full_campaign(tmp_path, monkeypatch):
    """The checkpoint disk fills at seeded random points, repeatedly; each time reading stops
    cleanly, and after space returns everything arrives exactly once."""
    captures = _spool(tmp_path, n_files=3, packets=4000)
    reference = Sink()
    _collect(captures, tmp_path / "reference", reference)
    monkeypatch.setattr(checkpoint, "JOURNAL_EXTENT", 512)
    rng = random.Random(13)
    sink = Sink()
    disk = FullDisk(monkeypatch, 0)
    sink.full = disk
    for _ in range(6 * SCALE):
        disk.on, disk.after = False, len(sink.events) + rng.randint(1, 400)
        _collect(captures, tmp_path / "ck", sink)
        if not disk.on:
            break
    disk.on, disk.after = False, float("inf")
    _collect(captures, tmp_path / "ck", sink)
    assert sorted(sink.events) == sorted(reference.events)
