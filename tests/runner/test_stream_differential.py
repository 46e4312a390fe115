"""A streamed hunt gives byte for byte what the whole-table hunt gives.

``hunt`` reads its files a chunk at a time (``Runner.read_stream``), runs every search's
per-event prefix on each chunk and the rest of the pipeline over the kept rows put back in the
global newest-first order. Its output (``--format json`` and the ``document`` summary) must be
the whole-table hunt's (``C2HUNT_STREAM=0``), with chunk boundaries everywhere: chunks of a few
lines and of a few hundred, every Zeek log read by the chunked frame reader (even the small
ones), over every scenario of samples/ and a generated Zeek workload with beacons.
"""
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from c2hunt_offline.cli import main
from c2hunt_offline.columnar import stream
from c2hunt_offline.engine import Runner
from c2hunt_offline.readers import frames

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SCENARIOS = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())
# scenarios whose Zeek logs have enough lines for tiny chunks to cut them many times (chunk
# sizes in bytes: 1 is one line a chunk; each chunk costs every search's prefix, so few cases)
TINY_SCENARIOS = {"s3_python_udp_beacon": [1, 2500], "x8_cim_network_c2": [1, 2500],
                  "x1_dns_tunnel_doh_smb_egress": [2500]}


def always_fold(monkeypatch):
    """A stats after a prefix carried as state from the first chunk on, whatever it costs."""
    monkeypatch.setattr(stream, "FOLD_BYTES", 0)
    monkeypatch.setattr(stream, "FOLD_RATIO", float("inf"))
    monkeypatch.setattr(stream, "FOLD_GROUPS_PER_ROW", float("inf"))


def hunt_output(paths, monkeypatch, streamed, chunk=None, fmt="json"):
    if streamed:
        monkeypatch.setenv("C2HUNT_STREAM", "1")
        monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)  # small Zeek logs chunked as well
        monkeypatch.setenv("C2HUNT_STREAM_BYTES", str(chunk))
    else:
        monkeypatch.setenv("C2HUNT_STREAM", "0")
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--app-root", str(ROOT), "hunt", "--no-progress", "--format", fmt] + [str(p) for p in paths])
    return code, out.getvalue()


# whole-table outputs per (paths, format) under the app's own limits: several tests stream the
# same input in other ways, and the whole-table hunt ignores how a streamed one chunks or folds
_WHOLE = {}


def assert_same(paths, monkeypatch, chunks, fmt="json", limits_changed=False):
    key = (tuple(str(p) for p in paths), fmt)
    whole = _WHOLE.get(key) if not limits_changed else None
    if whole is None:
        whole = hunt_output(paths, monkeypatch, False, fmt=fmt)
        if not limits_changed:
            _WHOLE[key] = whole
    for chunk in chunks:
        assert hunt_output(paths, monkeypatch, True, chunk, fmt) == whole, (paths, chunk)
    return whole


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios(scenario, monkeypatch):
    always_fold(monkeypatch)
    assert_same([SAMPLES / scenario], monkeypatch, [30000])


@pytest.mark.parametrize("scenario", sorted(TINY_SCENARIOS))
def test_scenarios_tiny_chunks(scenario, monkeypatch):
    """Chunks of one to a few lines: a boundary after (nearly) every event."""
    always_fold(monkeypatch)
    code, text = assert_same([SAMPLES / scenario], monkeypatch, TINY_SCENARIOS[scenario])
    assert text.strip(), scenario  # an attack scenario: something was found
    if scenario == "s3_python_udp_beacon":  # the summary (events, sources, DNS samples) as well
        assert_same([SAMPLES / scenario], monkeypatch, [2500], fmt="document")


@pytest.fixture(scope="module")
def zeek_workload(tmp_path_factory):
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path_factory.mktemp("zeek")), 6000, hosts=300, n_beacons=3)
    return paths


def test_generated_zeek_workload(zeek_workload, monkeypatch):
    always_fold(monkeypatch)
    code, text = assert_same(zeek_workload, monkeypatch, [100000, 700000])
    assert "Periodic Beaconing" in text
    assert_same(zeek_workload, monkeypatch, [300000], fmt="document")


@pytest.mark.parametrize("mode", ["rows kept", "fold when it pays", "rows whole, not compact"])
def test_generated_zeek_workload_fold_modes(zeek_workload, monkeypatch, mode):
    """Stats-bound prefixes keeping rows (``C2HUNT_STREAM_STATS=0``, as before the carried
    state), and folding them only when the state is smaller (the default, here with folds
    every ~100 KB so that some pay, some do not, and rows and state are combined at the end);
    rows neither pruned nor compact (``C2HUNT_STREAM_PRUNE=0``, ``C2HUNT_STREAM_COMPACT=0``)."""
    if mode == "rows kept":
        monkeypatch.setenv("C2HUNT_STREAM_STATS", "0")
    elif mode == "rows whole, not compact":
        monkeypatch.setenv("C2HUNT_STREAM_PRUNE", "0")
        monkeypatch.setenv("C2HUNT_STREAM_COMPACT", "0")
    else:
        monkeypatch.setattr(stream, "FOLD_BYTES", 100000)
    assert_same(zeek_workload, monkeypatch, [200000])


def test_plans(monkeypatch):
    """Every correlation search has a plan; the searches that start with search terms stream,
    tstats searches keep their data set's members; stats after the prefix prunes fields."""
    runner = Runner(str(ROOT))
    plans = {s.name: stream.plan_search(runner, s) for s in runner.saved_searches() if s.kind == "correlation"}
    assert plans
    beacon = plans["C2Hunt - Periodic Beaconing - Rule"]
    assert beacon.kind == "prefix" and beacon.keep and "_raw" not in beacon.keep
    assert plans["C2Hunt - Periodic Beaconing - CIM - Rule"].kind == "tstats"
    for plan in plans.values():
        assert plan.kind in ("prefix", "tstats", "whole")
        if plan.kind == "prefix":
            assert all(stream._per_event(s, runner) for s in plan.segments[1:plan.cut])


def test_per_event_commands():
    assert stream._per_event("eval x=1")
    assert stream._per_event("fillnull value=0 a b")
    assert not stream._per_event("fillnull value=0")  # fills the fields of every row: not per event
    assert not stream._per_event("rename a* AS b*")
    assert not stream._per_event("eventstats count by a")
    assert not stream._per_event("c2asym")


def test_prefix_error_falls_back(tmp_path, monkeypatch):
    """A prefix that fails on a chunk: the search runs over the full table (its error as before)."""
    runner = Runner(str(ROOT))
    saved = runner.saved_searches()[0]
    plan = stream.plan_search(runner, saved)
    plan.segments = plan.segments[:1] + ["lookup no_such_lookup x"] + plan.segments[1:]
    plan.kind, plan.cut = "prefix", 2
    log = tmp_path / "conn.log"
    log.write_text("\n".join(json.dumps({"ts": 1715677505.5 + i, "uid": "C%d" % i, "id.orig_h": "10.0.0.1",
                                         "id.resp_h": "10.0.0.2", "id.resp_p": 80, "proto": "tcp"})
                             for i in range(20)) + "\n")
    events, _ = stream.stream_events(runner, [str(log)], [plan], block_bytes=300, min_bytes=0)
    assert len(events) == 20
    assert plan.failed or not plan.outputs


def test_second_hunt_reads_the_full_table(monkeypatch):
    """The kept rows are handed over once; hunting again gives the same notables (full table)."""
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    runner = Runner(str(ROOT))
    events, _ = runner.read_stream([str(SAMPLES / "s3_python_udp_beacon")])
    assert isinstance(events, stream.StreamedEvents) and len(events)
    first, errors = runner.hunt(events)
    again, errors_again = runner.hunt(events)
    assert first and not errors and not errors_again
    assert [n.as_dict() for n in again] == [n.as_dict() for n in first]


@pytest.mark.parametrize("scenario", ["x8_cim_network_c2", "x1_dns_tunnel_doh_smb_egress", "benign_sysmon_dns_queries"])
def test_summary_of_streamed_events(scenario, monkeypatch):
    """What the hunt summary reads of the events: the same from the pass as from the table."""
    from c2hunt_offline.results import _distinct, _time_range, data_source_macros
    monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)
    runner = Runner(str(ROOT))
    paths = [str(SAMPLES / scenario)]
    table, _ = runner.read_table(paths)
    plans = [stream.plan_search(runner, s) for s in runner.saved_searches() if s.kind == "correlation"][:2]
    # 4 KiB blocks: 27 and 34 chunks of 3-6 events for the DNS scenarios (900 bytes made 161
    # and 101 chunks, 90 s of the suite, for the same boundaries between summaries)
    events, _ = stream.stream_events(runner, paths, plans, block_bytes=4096, min_bytes=0)
    assert len(events) == len(table)
    assert events.newest_time() == table.newest_time()
    assert _time_range(events) == _time_range(table) != (None, None)
    fields = sorted(set(stream._summary_fields(runner)))
    assert data_source_macros(runner)
    for subset in (["sourcetype"], fields):
        got = [({k: v for k, v in rep.items() if k in subset}, n) for rep, n in _distinct(events, subset)]
        want = [({k: v for k, v in rep.items() if k in subset}, n) for rep, n in _distinct(table, subset)]
        assert got == want, subset


def test_streaming_is_chosen_by_input_size_unless_set(tmp_path, monkeypatch):
    """Unset, ``hunt`` streams only inputs of AUTO_MIN_BYTES or more; 1 and 0 force it."""
    log = tmp_path / "conn.log"
    log.write_text("x" * 1000)
    monkeypatch.delenv("C2HUNT_STREAM", raising=False)
    monkeypatch.setattr(stream, "AUTO_MIN_BYTES", 1001)
    assert not stream.enabled([str(tmp_path)])
    monkeypatch.setattr(stream, "AUTO_MIN_BYTES", 1000)
    assert stream.enabled([str(tmp_path)]) and stream.enabled([str(log)])
    monkeypatch.setenv("C2HUNT_STREAM", "0")
    assert not stream.enabled([str(log)])
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    monkeypatch.setattr(stream, "AUTO_MIN_BYTES", 10 ** 12)
    assert stream.enabled([str(log)])


def test_small_files_the_dict_readers_take_are_gathered_into_chunks(monkeypatch):
    """Files the dict readers take (Windows XML/JSON, small Zeek logs, ...) go into one chunk
    until block_bytes of input is gathered: every chunk runs every prefix, so a chunk per file
    of a folder of hourly exports cost twice the whole-table hunt. The events and their order
    are the same whichever way they are chunked (the differential tests above)."""
    runner = Runner(str(ROOT))
    paths = [str(SAMPLES / "benign_background"), str(SAMPLES / "x8_unix_scripted_app_c2")]
    files = [p for folder in paths for p in Path(folder).rglob("*") if p.is_file()]
    chunks = []
    original = stream.StreamedEvents.add_chunk
    monkeypatch.setattr(stream.StreamedEvents, "add_chunk",
                        lambda self, frame, index, seq: chunks.append(frame.height) or original(self, frame, index, seq))
    table, _ = runner.read_table(paths)
    events, _ = stream.stream_events(runner, paths, [])
    assert len(files) > 2 and len(chunks) == 1 and chunks[0] == len(table) == len(events)
    chunks.clear()
    # 64 KiB: the small files gathered into a few chunks, the larger Windows XML exports read a
    # block at a time (1 byte made a chunk of every XML event: 260 chunks, a minute and a half)
    stream.stream_events(runner, paths, [], block_bytes=1 << 16)
    assert len(chunks) > 2 and sum(chunks) == len(table)


# 12,000 bytes: the Linux/macOS flow join holds endpoint events only now, under 30,000
@pytest.mark.parametrize("budget", [3000, 12000])
def test_eventstats_cutoff_reached(budget, monkeypatch):
    """limits.conf's eventstats cut-off made tiny, so that it falls inside the scenario's
    results: the streamed hunt (rows pruned to the fields each rest names, the pruned fields
    carried as sizes) still gives the whole table's output, and the cut-off changes what the
    whole hunt finds (so this compares something)."""
    from c2hunt_offline import limits
    paths = [SAMPLES / "x8_unix_scripted_app_c2"]
    normal = hunt_output(paths, monkeypatch, False)
    monkeypatch.setattr(limits, "MAXRESULTROWS", 5)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", budget / (1024 * 1024))
    whole = assert_same(paths, monkeypatch, [300, 30000], limits_changed=True)
    assert whole != normal
