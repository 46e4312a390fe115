"""A whole-table hunt across worker processes gives the in-process hunt byte for byte.

``C2HUNT_WORKERS=2`` hands the correlation searches to the main process and a worker process
(:mod:`c2hunt_offline.columnar.parallel`) and puts their outcomes back in the searches' order;
``C2HUNT_WORKERS=1`` runs them in-process (the reference). The output (``--format json`` and
the ``document`` summary), the errors and the exit code must be the same, with the worker's
searches really run in the worker, with a search that fails, and with a worker that dies.
"""
import io
import shutil
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from c2hunt_offline.cli import main
from c2hunt_offline.columnar import parallel
from c2hunt_offline.engine import Runner
from c2hunt_offline.readers import frames

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def hunt_output(paths, monkeypatch, workers, fmt="json", app_root=ROOT):
    """(exit code, stdout, stderr) of ``hunt`` over ``paths`` with ``workers`` processes."""
    monkeypatch.setenv("C2HUNT_STREAM", "0")
    monkeypatch.setenv("C2HUNT_WORKERS", str(workers))
    monkeypatch.setattr(parallel, "MIN_EVENTS", 0)  # small test data goes to the workers too
    monkeypatch.setattr(parallel, "WARM_MIN_BYTES", 0)  # started before the read: they read files too
    monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)  # every Zeek log read into a frame, not dicts
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--app-root", str(app_root), "hunt", "--no-progress", "--format", fmt] + [str(p) for p in paths])
    return code, out.getvalue(), err.getvalue()


def searches_in_main(monkeypatch, delay=0.0):
    """Count the searches the main process runs (each held ``delay`` s, so a worker gets some)."""
    ran = []
    original = Runner.search_outcome

    def counted(self, saved, *args, **kwargs):
        ran.append(saved.name)
        time.sleep(delay)
        return original(self, saved, *args, **kwargs)
    monkeypatch.setattr(Runner, "search_outcome", counted)
    return ran


def files_read_in_main(monkeypatch):
    """The files the main process reads with the frame reader."""
    read = []
    original = frames.read_frame

    def counted(path, *args, **kwargs):
        read.append(path)
        return original(path, *args, **kwargs)
    monkeypatch.setattr(frames, "read_frame", counted)
    return read


def correlation_count():
    return sum(1 for s in Runner(str(ROOT)).saved_searches() if s.kind == "correlation")


@pytest.fixture(scope="module")
def zeek_workload(tmp_path_factory):
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path_factory.mktemp("zeek")), 6000, hosts=300, n_beacons=3)
    return paths


def test_worker_count(monkeypatch):
    monkeypatch.setenv("C2HUNT_WORKERS", "1")
    assert parallel.worker_count() == 1
    monkeypatch.setenv("C2HUNT_WORKERS", "3")
    assert parallel.worker_count() == 3
    monkeypatch.setenv("C2HUNT_WORKERS", "0")
    assert parallel.worker_count() == 1
    monkeypatch.delenv("C2HUNT_WORKERS")
    assert parallel.worker_count() >= 1
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1})
    assert parallel.worker_count() == 2  # both cores idle
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (1.4, 1.0, 1.0))
    assert parallel.worker_count() == 1  # one busy: in-process
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert parallel.worker_count() == 1


@pytest.mark.parametrize("height", [0, 1, 300000])
def test_frames_written_for_the_workers_read_back_whole_and_in_one_chunk(tmp_path, height):
    """What a worker maps (a bucket, a table partition) is the frame, each column one chunk:
    polars writes a large frame as several record batches, and gathers from a column of several
    chunks are many times slower (stats, sort and dedup gather)."""
    import io

    import polars as pl
    frame = pl.DataFrame({"src": ["10.0.0.%d" % (i % 250) for i in range(height)],
                          "_time": [1.7e9 + i / 7 for i in range(height)],
                          "dest_ip": [None if i % 3 else ["a", "b"] for i in range(height)]},
                         schema={"src": pl.String, "_time": pl.Float64, "dest_ip": pl.List(pl.String)})
    parallel.write_arrow(frame, str(tmp_path / "f.arrow"))
    mapped = parallel._load_frame(str(tmp_path / "f.arrow"))
    assert mapped.equals(frame) and mapped.schema == frame.schema
    assert [mapped.get_column(c).n_chunks() for c in mapped.columns] == [1, 1, 1]
    packed = io.BytesIO()
    parallel.write_arrow(frame, packed, pl.CompatLevel.oldest())
    assert pl.read_ipc(io.BytesIO(packed.getvalue())).get_column("src").n_chunks() == 1
    if height == 300000:  # what polars (as pinned) does by default: the reason for the one batch
        frame.write_ipc(str(tmp_path / "default.arrow"))
        assert parallel._load_frame(str(tmp_path / "default.arrow")).get_column("src").n_chunks() > 1


@pytest.mark.parametrize("fmt", ["json", "document"])
def test_workers_give_the_in_process_output(zeek_workload, monkeypatch, fmt):
    paths = list(zeek_workload) + [SAMPLES / "s3_python_udp_beacon", SAMPLES / "x1_dns_tunnel_doh_smb_egress"]
    read = files_read_in_main(monkeypatch)
    reference = hunt_output(paths, monkeypatch, 1, fmt)
    assert reference[1].strip()  # beacons planted: something to compare
    every_file = len(read)
    del read[:]
    ran = searches_in_main(monkeypatch, delay=0.05)
    assert hunt_output(paths, monkeypatch, 2, fmt) == reference
    assert 0 < len(ran) < correlation_count()  # the worker ran the others
    assert 0 < len(read) < every_file  # and read some of the files


def test_in_process_below_the_size(zeek_workload, monkeypatch):
    """Below MIN_EVENTS no worker is used: every search runs in the main process."""
    ran = searches_in_main(monkeypatch)
    monkeypatch.setenv("C2HUNT_STREAM", "0")
    monkeypatch.setenv("C2HUNT_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_EVENTS", 10 ** 9)
    with redirect_stdout(io.StringIO()):
        assert main(["--app-root", str(ROOT), "hunt", "--no-progress", "--format", "json"]
                    + [str(p) for p in zeek_workload]) == 0
    assert len(ran) == correlation_count()


@pytest.fixture
def app_with_a_broken_search(tmp_path):
    """The app with one more correlation search, whose second command does not exist."""
    app = tmp_path / "app"
    shutil.copytree(ROOT / "default", app / "default")
    for folder in ("bin", "lookups"):
        (app / folder).symlink_to(ROOT / folder, target_is_directory=True)
    with open(app / "default" / "savedsearches.conf", "a") as conf:
        conf.write("\n[C2Hunt - Broken For The Test - Rule]\naction.correlationsearch.enabled = 1\n"
                   "search = index=* sourcetype=\"bro:conn:json\" | eval x=1 | nosuchcommand x\n")
    return app


def test_a_failing_search_reads_the_same(zeek_workload, app_with_a_broken_search, monkeypatch):
    """A search that fails in a worker is reported as the in-process run reports it."""
    reference = hunt_output(zeek_workload, monkeypatch, 1, app_root=app_with_a_broken_search)
    assert reference[0] != 0 and "Broken For The Test" in reference[2] and "nosuchcommand" in reference[2]
    ran = searches_in_main(monkeypatch, delay=0.05)
    assert hunt_output(zeek_workload, monkeypatch, 2, app_root=app_with_a_broken_search) == reference
    assert 0 < len(ran) < correlation_count() + 1  # the worker ran some


@pytest.fixture(scope="module")
def in_process_json(zeek_workload):
    """The in-process ``--format json`` hunt of the Zeek workload, run once for the tests
    below (each kills a worker at a different point and compares with it)."""
    with pytest.MonkeyPatch.context() as patch:
        return hunt_output(zeek_workload, patch, 1)


@pytest.mark.parametrize("when", ["read", "search"])
def test_a_lost_worker_work_runs_in_process(zeek_workload, in_process_json, monkeypatch, when):
    """A worker killed before it reads its files, or before its first search: that work (and
    every search after) is done in the main process, the output unchanged."""
    reference = in_process_json
    killed = []
    send = parallel.Worker.send

    def kill_first(self, message):
        if message[0] == when and not killed:
            self.process.kill()
            self.process.wait()
            killed.append(message[1])
        return send(self, message)
    monkeypatch.setattr(parallel.Worker, "send", kill_first)
    ran = searches_in_main(monkeypatch)
    read = files_read_in_main(monkeypatch)
    assert hunt_output(zeek_workload, monkeypatch, 2) == reference
    assert killed
    assert len(ran) == correlation_count()
    if when == "read":
        assert len(read) == len(zeek_workload)  # both Zeek logs, one read after its worker was lost


def test_prepared_workers_run_buckets(monkeypatch):
    """:func:`parallel.prepare` starts the workers and has them build their runner (a message
    not answered, so the pipe stays in step); :func:`parallel.run_buckets` then gives each
    bucket's output, in bucket order, wherever it ran, and None for a bucket without rows."""
    import polars as pl

    from c2hunt_offline.columnar.buckets import run_bucket
    from c2hunt_offline.conf import split_pipeline
    monkeypatch.setenv("C2HUNT_WORKERS", "2")
    runner = Runner(str(ROOT))
    parallel.prepare(runner)
    segments = split_pipeline("x | stats count AS n by a")
    rows = [pl.DataFrame({"a": ["k%d" % (b % 3)] * (b + 1)}) if b != 2 else None for b in range(6)]
    sent = []
    send = parallel.Worker.send
    monkeypatch.setattr(parallel.Worker, "send", lambda self, m: sent.append(m[0]) or send(self, m))
    got = parallel.run_buckets(runner, len(rows), lambda b: rows[b],
                               lambda data: time.sleep(0.3) or run_bucket(runner, segments, 1, data), segments, 1)
    assert "bucket" in sent  # the main process slowed: the worker takes some
    assert got[2] is None
    assert [g.rows() for g in got if g is not None] == [[("k%d" % (b % 3), b + 1)] for b in range(6) if b != 2]
