"""The streamed pass on worker processes (``C2HUNT_WORKERS``, columnar/stream_workers.py).

Workers read a Zeek JSON log's blocks and run every search's prefix over each; the hunt's
process adds what they give in reading order. The output must be the in-process one
(``C2HUNT_WORKERS=1``) byte for byte, with chunk boundaries everywhere; a block read on its
own must give what the chunked reader gives for it; a worker that dies, or plans that differ,
must fall back to reading in the hunt's process with nothing lost.
"""
import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from test_stream_chunks import CASES, _rows, _write, conn

from c2hunt_offline.cli import main
from c2hunt_offline.columnar import stream, stream_workers
from c2hunt_offline.readers import frames

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def zeek_workload(tmp_path_factory):
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path_factory.mktemp("zeek")), 6000, hosts=300, n_beacons=3)
    return paths


def hunt(paths, monkeypatch, workers, chunk, fmt="json"):
    monkeypatch.setattr(stream_workers, "POOL_MIN_BYTES", 0)  # the generated logs are small
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    monkeypatch.setenv("C2HUNT_STREAM_BYTES", str(chunk))
    monkeypatch.setenv("C2HUNT_WORKERS", str(workers))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--app-root", str(ROOT), "hunt", "--no-progress", "--format", fmt] + [str(p) for p in paths])
    return (code, out.getvalue()), err.getvalue()


def count_worker_blocks(monkeypatch):
    """A list that gets one entry per block a worker process ran."""
    ran = []
    original = stream_workers.ChunkPool.blocks

    def blocks(self, *args):
        for result in original(self, *args):
            if result.part is not None:
                ran.append(result.span)
            yield result
    monkeypatch.setattr(stream_workers.ChunkPool, "blocks", blocks)
    return ran


@pytest.fixture(scope="module")
def in_process(zeek_workload):
    """{format: (exit code, output)} of the hunt in one process (``json``, and ``document``
    with its summary), and the blocks worker processes ran meanwhile (none). A streamed hunt
    gives the whole-table output whatever its chunks, folds, spills or pruning
    (test_stream_differential.py), so this one reference serves every pooled hunt below."""
    with pytest.MonkeyPatch.context() as patch:
        ran = count_worker_blocks(patch)
        outputs = {fmt: hunt(zeek_workload, patch, 1, 300000, fmt)[0] for fmt in ("json", "document")}
    return outputs, ran


def test_one_worker_reads_in_the_hunts_process(in_process):
    outputs, ran = in_process
    assert not ran and outputs["json"][1].strip() and outputs["document"][1].strip()


@pytest.mark.parametrize("chunk", [40000, 300000])
def test_workers_give_the_in_process_output(zeek_workload, in_process, monkeypatch, chunk):
    """Two workers, blocks of 40 KB (about 60 of the conn log's) and 300 KB: the same notables,
    rows and order as the hunt in one process, and the workers did read the blocks."""
    ran = count_worker_blocks(monkeypatch)
    pooled, err = hunt(zeek_workload, monkeypatch, 2, chunk)
    assert pooled == in_process[0]["json"]
    assert len(ran) >= 5 and "worker" not in err


def test_workers_summary_and_carried_stats(zeek_workload, in_process, monkeypatch):
    """The document summary (events, time range, sources, DNS samples) and stats folded into
    per-group state from the first chunk on come out the same as well."""
    monkeypatch.setattr(stream, "FOLD_BYTES", 0)
    monkeypatch.setattr(stream, "FOLD_RATIO", float("inf"))
    monkeypatch.setattr(stream, "FOLD_GROUPS_PER_ROW", float("inf"))
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_BYTES", "200000")  # and chunks spilled to files
    ran = count_worker_blocks(monkeypatch)
    pooled, _ = hunt(zeek_workload, monkeypatch, 2, 60000, fmt="document")
    assert pooled == in_process[0]["document"] and ran


def test_workers_encode_the_rows_of_stats_that_stopped_folding(zeek_workload, in_process, monkeypatch):
    """Once a search's stats state stops folding (too many groups per row), the hunt's process
    names it with each block and the workers send its rows dictionary-encoded: same output."""
    monkeypatch.setattr(stream, "FOLD_BYTES", 1)  # the hunt's process only: workers keep theirs
    monkeypatch.setattr(stream, "FOLD_GROUPS_PER_ROW", 0.0)  # never folds: rows kept encoded
    encoded = []
    original = stream_workers.ChunkPool.blocks

    def blocks(self, *args):
        for result in original(self, *args):
            if result.part is not None:
                encoded.extend(name for name, index, _size, shared in result.part.outputs
                               if self.events.plans[name].stats_args is not None and not shared
                               and index is not None and index != stream.FAILED
                               and isinstance(result.part.frames[index], stream.Compact))
            yield result
    monkeypatch.setattr(stream_workers.ChunkPool, "blocks", blocks)
    pooled, _ = hunt(zeek_workload, monkeypatch, 2, 60000)
    assert pooled == in_process[0]["json"] and encoded


def test_a_worker_that_dies(zeek_workload, in_process, monkeypatch):
    """A worker process that exits mid-read: the blocks not yet added are read in the hunt's
    process (a message says so), the output is the in-process one, nothing hangs."""
    chunk = 100000  # about 24 blocks: the death at the fourth leaves most to fall back
    conn_log = next(p for p in zeek_workload if Path(p).name.startswith("conn"))
    spans = list(frames.json_spans(conn_log, None, chunk))
    monkeypatch.setenv("C2HUNT_WORKER_TEST_EXIT", str(spans[3][0]))
    ran = count_worker_blocks(monkeypatch)
    pooled, err = hunt(zeek_workload, monkeypatch, 2, chunk)
    assert pooled == in_process[0]["json"]
    assert "worker processes failed (BrokenProcessPool" in err and "reading on in this process" in err
    assert spans[3] not in ran and len(ran) < len(spans)


def test_plans_that_differ(zeek_workload, in_process, monkeypatch):
    """A hunt whose plans its workers would not make (here: rows kept whole, set in this
    process only) reads every block itself: same output as in one process."""
    monkeypatch.setattr(stream, "prune_rows", lambda: False)
    ran = count_worker_blocks(monkeypatch)
    pooled, err = hunt(zeek_workload, monkeypatch, 2, 300000)
    assert pooled == in_process[0]["json"] and not ran
    assert "plans differ" in err


def test_plan_signatures_are_stable():
    """Two runners plan every search alike (what a worker checks: no object addresses)."""
    from c2hunt_offline.engine import Runner

    def signatures():
        runner = Runner(str(ROOT))
        return [stream_workers.plan_signature(stream.plan_search(runner, s)) for s in runner.saved_searches()]
    first = signatures()
    assert first == signatures() and not any(" at 0x" in s for s in first)


def test_worker_count(monkeypatch):
    monkeypatch.setenv("C2HUNT_WORKERS", "1")
    assert stream_workers.worker_count() == 1
    monkeypatch.setenv("C2HUNT_WORKERS", "3")
    assert stream_workers.worker_count() == 3
    monkeypatch.setenv("C2HUNT_WORKERS", "0")
    assert stream_workers.worker_count() == 1
    monkeypatch.delenv("C2HUNT_WORKERS")
    assert 1 <= stream_workers.worker_count() <= stream_workers.MAX_DEFAULT_WORKERS
    # unset: the idle cores, as the whole-table hunt counts them, at most MAX_DEFAULT_WORKERS
    from c2hunt_offline.columnar import parallel
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert stream_workers.worker_count() == stream_workers.MAX_DEFAULT_WORKERS
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert stream_workers.worker_count() == 1
    monkeypatch.setenv("C2HUNT_WORKERS", "6")
    assert stream_workers.worker_count() == 6


def test_worker_environment(monkeypatch):
    """Each worker's polars pool is its share of the cores (one thread when the workers fill
    them); a POLARS_MAX_THREADS the user set is left as given."""
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    assert stream_workers.worker_environment(2, cores=2)["POLARS_MAX_THREADS"] == "1"
    assert stream_workers.worker_environment(3, cores=2)["POLARS_MAX_THREADS"] == "1"
    assert stream_workers.worker_environment(2, cores=8)["POLARS_MAX_THREADS"] == "4"
    assert stream_workers.worker_environment(0, cores=3)["POLARS_MAX_THREADS"] == "3"
    monkeypatch.setenv("POLARS_MAX_THREADS", "5")
    assert "POLARS_MAX_THREADS" not in stream_workers.worker_environment(2, cores=2)


def test_workers_start_with_their_environment(monkeypatch):
    """A spawned worker finds the environment it was given; this process's is as it was."""
    from concurrent.futures import ProcessPoolExecutor
    import os
    monkeypatch.setenv("C2HUNT_TEST_KEPT", "parent")
    monkeypatch.delenv("C2HUNT_TEST_GIVEN", raising=False)
    context = stream_workers._SpawnWith({"C2HUNT_TEST_GIVEN": "worker", "C2HUNT_TEST_KEPT": "worker"})
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        got = pool.submit(os.getenv, "C2HUNT_TEST_GIVEN").result(), pool.submit(os.getenv, "C2HUNT_TEST_KEPT").result()
    assert got == ("worker", "worker")
    assert "C2HUNT_TEST_GIVEN" not in os.environ and os.environ["C2HUNT_TEST_KEPT"] == "parent"


def split_read(path, size):
    """The blocks of json_spans each read on its own: (rows, issues) or None (declined)."""
    spans = frames.json_spans(str(path), None, size)
    if spans is None:
        return None
    rows, issues, kinds, keys = [], [], {}, set()
    for span in spans:
        result = stream_workers.read_here(str(path), None, None, *span)
        keys.update(result.keys)
        if result.declined or frames.keys_declined(keys, None):
            return None
        issues.extend(result.issues)
        for kind, (line, issue) in result.kinds.items():
            if kind not in kinds or line < kinds[kind][0]:
                kinds[kind] = (line, issue)
        if result.frame is not None:
            rows.extend(_rows(result.frame))
    return rows, frames.json_block_issues(str(path), issues, kinds)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("size", [1, 200, 777, 2900, 1 << 20])
def test_blocks_read_on_their_own(tmp_path, case, size):
    """Each block read by a fresh reader (as a worker reads it) gives the rows and issues the
    chunked reader gives, or the file is declined (the dict readers then read it whole, as
    they read any file the native reader declines: same events)."""
    path = _write(tmp_path / "conn.log", CASES[case])
    chunks = frames.FrameChunks(str(path), block_bytes=size)
    want_rows = [row for frame in chunks for row in _rows(frame)]
    assert not chunks.declined
    spans = list(frames.json_spans(str(path), None, size))
    assert [s[1] for s in spans] == [len(b) for b, _lines, _n in frames._blocks(iter([path.read_bytes()]), size)]
    got = split_read(path, size)
    if got is None:
        assert size < 1000, case  # only blocks of a line or two lack the lines a fresh reader needs
        return
    rows, issues = got
    assert rows == want_rows
    assert [(str(i), i.level) for i in issues] == [(str(i), i.level) for i in chunks.issues]


def test_spans_bom_crlf_and_declines(tmp_path):
    bom = tmp_path / "bom"
    bom.mkdir()
    (bom / "conn.log").write_bytes(b"\xef\xbb\xbf" + "\n".join(CASES["plain"]).encode())
    crlf = _write(tmp_path / "conn.log", CASES["plain"], newline="\r\n")
    for path in (bom / "conn.log", crlf):
        chunks = frames.FrameChunks(str(path), block_bytes=700)
        want = [row for frame in chunks for row in _rows(frame)]
        assert split_read(path, 700)[0] == want
    lone_cr = tmp_path / "cr"
    lone_cr.mkdir()
    lines = [conn(i) for i in range(30)]
    (lone_cr / "conn.log").write_bytes(("\n".join(lines[:25]) + "\n" + "\r".join(lines[25:]) + "\n").encode())
    assert split_read(lone_cr / "conn.log", 300) is None  # declined, as FrameChunks declines it
    gz = _write(tmp_path / "conn.log.gz", CASES["plain"], compress=True)
    assert frames.json_spans(str(gz), None, 300) is None  # gzip: read in the hunt's process
    assert sys.modules["c2hunt_offline.columnar.stream_workers"] is stream_workers
