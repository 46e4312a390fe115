"""c2flow under faults (issue 20 items 13-15): a full checkpoint disk, thousands of files,
and symbolic links out of the spool. Library level: c2hunt.capture.flow_input.collect."""
import errno
import json
import os
import resource
import stat
import time

import pytest

import synthetic as syn
from c2hunt.capture import checkpoint, flow_input

T0 = 1700000000.0
OLD = time.time() - 3600
NAME = "c2flow://lab"


class Sink(object):
    def __init__(self, full=None):
        self.events, self.messages = [], []
        self.full = full   # called after each write: may fill the disk

    def write(self, events, path):
        self.events += [(path, json.dumps(record, sort_keys=True)) for _, record in events]
        if self.full is not None:
            self.full(len(self.events))

    def log(self, severity, message):
        self.messages.append((severity, message))


def _spool(tmp_path, n_files=3, packets=4000):
    captures = tmp_path / "captures"
    captures.mkdir()
    for number in range(n_files):
        path = captures / ("cap%d.pcap" % number)
        syn.write_pcap(str(path), syn.mixed_traffic(packets, start=T0 + 1000 * number,
                                                    seed=number))
        os.utime(str(path), (OLD, OLD))
    return captures


def _collect(captures, checkpoints, sink):
    settings = flow_input.parse_settings({"directory": str(captures), "settle_seconds": "5",
                                          "idle_timeout": "2"})
    return flow_input.collect(NAME, settings, str(checkpoints), sink.write, sink.log)


class FullDisk(object):
    """From ``after`` records on, every call that needs new disk space or a sync fails
    with ENOSPC, as on a full file system (writes into allocated space still succeed)."""

    def __init__(self, monkeypatch, after):
        self.after, self.on = after, False
        real_fsync, real_allocate = os.fsync, getattr(os, "posix_fallocate", None)

        def fsync(fd):
            if self.on:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_fsync(fd)

        def allocate(fd, offset, length):
            if self.on:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_allocate(fd, offset, length)

        monkeypatch.setattr(os, "fsync", fsync)
        if real_allocate is not None:
            monkeypatch.setattr(os, "posix_fallocate", allocate)

    def __call__(self, n_records):
        self.on = self.on or n_records >= self.after


@pytest.mark.parametrize("after", [1, 300, 900, 1500])
def test_full_checkpoint_disk_stops_cleanly_and_resumes_without_duplicates(
        tmp_path, monkeypatch, after):
    captures = _spool(tmp_path)
    reference = Sink()
    _collect(captures, tmp_path / "reference", reference)
    assert len(reference.events) > 1500
    # A small journal extent: the disk fills between two progress lines, not only at a file.
    monkeypatch.setattr(checkpoint, "JOURNAL_EXTENT", 512, raising=False)
    sink = Sink()
    disk = FullDisk(monkeypatch, after)
    sink.full = disk
    summary = _collect(captures, tmp_path / "ck", sink)      # must not raise
    assert disk.on and summary["errors"] >= 1
    assert any(level == "ERROR" and "checkpoint" in text for level, text in sink.messages)
    sent_while_full = len(sink.events)
    disk.on, disk.after = False, float("inf")               # space freed
    _collect(captures, tmp_path / "ck", sink)
    assert sorted(sink.events) == sorted(reference.events)  # none lost, none twice
    # The disk filling in the first half must hold records back; near the end, the
    # failing save may come after the last record went out (then nothing is held back).
    if after <= len(reference.events) // 2:
        assert sent_while_full < len(reference.events)


def _written_bytes():
    with open("/proc/self/io") as handle:
        return dict(line.split(": ") for line in handle.read().splitlines())["wchar"]


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux /proc")
def test_checkpoint_cost_per_file_does_not_grow_with_the_files_held(tmp_path):
    """Bytes written per file: the first 150 files against files 1,050-1,200. Rewriting the
    whole state per change made the second figure several times the first."""
    store = checkpoint.CheckpointStore(str(tmp_path), NAME)
    costs = []
    for number in range(1200):
        before = int(_written_bytes())
        path = "/spool/capture-%05d.pcap" % number
        store.put(path, status="reading", head="%064x" % number, head_len=65536, size=100,
                  mtime=1.0, start_offset=0, emitted=0, settings="s")
        store.update(path, emitted=1)
        store.update(path, status="done", emitted=1, flows=1, dns=0, end_offset=100,
                     stats={"records": 1})
        if hasattr(store, "sync"):
            store.sync()
        costs.append(int(_written_bytes()) - before)
    early, late = sum(costs[:150]), sum(costs[-150:])
    assert late < 2 * early, (early, late)
    reloaded = checkpoint.CheckpointStore(str(tmp_path), NAME)
    assert len(reloaded.files) == 1200 and reloaded.files[path]["status"] == "done"


def test_symlinks_out_of_the_spool_are_not_followed(tmp_path):
    captures = _spool(tmp_path, n_files=1, packets=200)
    secret = tmp_path / "secret"
    secret.write_bytes(b"root:$6$hash:19000:0:99999:7:::\n")
    os.symlink(str(secret), str(captures / "shadow.pcap"))
    os.symlink("../secret", str(captures / "relative.pcap"))
    inside = captures / "inside.pcap"
    os.symlink("cap0.pcap", str(inside))                  # a link within the spool is fine
    os.mkfifo(str(captures / "fifo.pcap"))                # never opened (it would block)
    sink = Sink()
    summary = _collect(captures, tmp_path / "ck", sink)
    assert summary["links_outside"] == 2
    state = "".join(path.read_text() for path in (tmp_path / "ck").iterdir()
                    if not path.name.endswith(".lock"))
    assert "shadow" not in state and "relative" not in state and "inside.pcap" in state
    digest = checkpoint.head_fingerprint(str(secret))[0]
    assert digest not in state
    assert any("symbolic links lead out" in text for _, text in sink.messages)
    for path in (tmp_path / "ck").iterdir():              # the state is private
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_checkpoint_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        captures = _spool(tmp_path, n_files=1, packets=100)
        _collect(captures, tmp_path / "ck", Sink())
    finally:
        os.umask(old)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "ck").iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes


def test_process_limits_untouched():
    # (guards the fixtures above: RLIMIT_FSIZE would turn ENOSPC tests into SIGXFSZ kills)
    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == resource.RLIM_INFINITY


def test_state_of_an_older_version_is_read_and_made_private(tmp_path):
    """A version-1 snapshot (no journal, 0644) still says what was read; it becomes 0600."""
    captures = _spool(tmp_path, n_files=1, packets=100)
    first = Sink()
    _collect(captures, tmp_path / "ck", first)
    store = checkpoint.CheckpointStore(str(tmp_path / "ck"), NAME)
    files = store.files
    store.close()
    for path in (tmp_path / "ck").iterdir():
        path.unlink()
    old_state = tmp_path / "ck" / checkpoint.state_file_name(NAME)
    old_state.write_text(json.dumps({"version": 1, "files": files}))
    os.chmod(str(old_state), 0o644)
    again = Sink()
    _collect(captures, tmp_path / "ck", again)
    assert first.events and again.events == []
    assert stat.S_IMODE(old_state.stat().st_mode) == 0o600
