"""The chunked Zeek reader (``FrameChunks``) against the whole-file reader (``read_frame``).

Read a block at a time, a file must give exactly the rows ``read_frame`` gives (every value,
in line order) and the same issues, whatever the block size: block sizes of one byte (every
line its own block), a few lines and a few hundred lines put a boundary at every place of
the files below (a line split between two reads, CRLF, gzip, a damaged line next to a
boundary, keys first seen late). A file the whole-file reader declines is declined too.
"""
import gzip
import json
import random

import pytest

from c2hunt_offline.columnar.table import python_values
from c2hunt_offline.readers.frames import FrameChunks, read_frame

BLOCK_SIZES = (1, 200, 777, 2900, 1 << 20)  # bytes: 1 line, 1-2 lines, ~3 lines, ~7 lines, all


def conn(i, **changes):
    record = {"ts": 1715677505.5 + (i * 7919) % 97, "uid": "C%d" % i, "id.orig_h": "10.20.2.%d" % (i % 7),
              "id.orig_p": 40000 + i, "id.resp_h": "162.159.200.1", "id.resp_p": 123, "proto": "udp",
              "service": "ntp", "duration": 0.02, "orig_bytes": i, "resp_bytes": 48, "conn_state": "SF",
              "history": "Dd", "orig_pkts": 1, "resp_pkts": 1}
    record.update(changes)
    return json.dumps(record, separators=(",", ":"))


def _write(path, lines, compress=False, newline="\n"):
    data = (newline.join(lines) + newline).encode("utf-8")
    if compress:
        with gzip.open(path, "wb") as out:
            out.write(data)
    else:
        path.write_bytes(data)
    return path


def _rows(frame):
    names = frame.columns
    columns = [python_values(frame.get_column(n)) for n in names]
    return [{k: v for k, v in zip(names, cells) if v is not None} for cells in zip(*columns)]


def assert_chunks_match(path, block_sizes=BLOCK_SIZES, sourcetype=None, host=None):
    whole, issues = read_frame(str(path), sourcetype, host)
    want = None if whole is None else _rows(whole)
    for size in block_sizes:
        chunks = FrameChunks(str(path), sourcetype, host, block_bytes=size)
        frames = list(chunks)
        if whole is None:
            assert chunks.declined, (path, size)
            continue
        assert not chunks.declined, (path, size)
        got = [row for frame in frames for row in _rows(frame)]
        assert got == want, (path, size)
        assert [(str(i), i.level) for i in chunks.issues] == [(str(i), i.level) for i in issues], (path, size)
        if size == 1:
            assert len(frames) == whole.height  # one line a block: a boundary after every line
    return whole


CASES = {
    "plain": [conn(i) for i in range(40)],
    # (the first line good: a first block without a JSON object is declined, see test_declined_mid_file)
    "damaged line near each boundary": [conn(i) if i % 5 != 1 else '{"ts":1715677505.1,"uid":"X%d"' % i
                                        for i in range(40)],
    "blank lines": [conn(i) if i % 6 else "" for i in range(40)],
    "late keys and types": [conn(i) for i in range(20)] + [conn(i, extra="late", duration=2) for i in range(20, 30)]
    + [conn(i, tunnel_parents=["a", "b"] if i % 2 else ["c"]) for i in range(30, 40)],
    "long line": [conn(i) for i in range(5)] + [conn(5, history="x" * 5000)] + [conn(i) for i in range(6, 12)],
    "unicode": [conn(i, uid="C\u00e9\u4e2d\U0001F600%d" % i) for i in range(30)],
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_json_chunks(tmp_path, case, compress):
    path = _write(tmp_path / ("conn.log" + (".gz" if compress else "")), CASES[case], compress)
    assert assert_chunks_match(path) is not None


def test_crlf_and_bom(tmp_path):
    assert assert_chunks_match(_write(tmp_path / "conn.log", CASES["plain"], newline="\r\n")) is not None
    bom = tmp_path / "bom"
    bom.mkdir()
    (bom / "conn.log").write_bytes(b"\xef\xbb\xbf" + "\n".join(CASES["plain"]).encode())
    assert assert_chunks_match(bom / "conn.log") is not None


def test_declined_mid_file(tmp_path):
    """A lone carriage return after some blocks: the whole-file reader declines the file, the
    chunked one says so after the iteration (its frames so far are the caller's to drop)."""
    lines = [conn(i) for i in range(30)]
    path = tmp_path / "conn.log"
    path.write_bytes(("\n".join(lines[:25]) + "\n" + "\r".join(lines[25:]) + "\n").encode())
    assert read_frame(str(path))[0] is None
    chunks = FrameChunks(str(path), block_bytes=300)
    assert list(chunks)  # frames came before the line it cannot follow
    assert chunks.declined
    # a first block without one JSON object: declined (the dict readers read such a file)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    _write(damaged / "conn.log", ["garbage"] + [conn(i) for i in range(10)])
    chunks = FrameChunks(str(damaged / "conn.log"), block_bytes=1)
    assert list(chunks) == [] and chunks.declined


def test_not_zeek_and_missing(tmp_path):
    other = tmp_path / "eve.json"
    other.write_text(json.dumps({"timestamp": "2024-01-01T00:00:00Z", "event_type": "flow"}) + "\n")
    for path in (other, tmp_path / "absent.log"):
        chunks = FrameChunks(str(path), block_bytes=100)
        assert list(chunks) == [] and chunks.declined


def test_truncated_gzip(tmp_path):
    path = _write(tmp_path / "conn.log.gz", [conn(i) for i in range(400)], compress=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    whole = assert_chunks_match(path, block_sizes=(1000, 1 << 20))
    assert whole is not None


def test_tsv(tmp_path):
    header = ["#separator \\x09", "#path\tconn", "#fields\tts\tuid\tid.orig_h\tid.resp_h\tproto\torig_bytes",
              "#types\ttime\tstring\taddr\taddr\tenum\tcount"]
    rows = ["%.6f\tC%d\t10.0.0.%d\t10.0.1.1\ttcp\t%s" % (1715677505.5 + i, i, i % 9, "-" if i % 4 else i)
            for i in range(40)]
    rows[17] = "1715677505.5\tbad\tcolumns"
    path = _write(tmp_path / "conn.log", header + rows[:20] + header[1:] + rows[20:])
    assert assert_chunks_match(path) is not None


@pytest.mark.parametrize("seed", range(4))
def test_fuzz(tmp_path, seed):
    rng = random.Random(seed)
    values = [None, "", "-", "x", "12", 7, 2.0, 0.1, True, [], ["a"], ["a", "b"], [1, 2], {"orig_h": "10.0.0.9"}]
    lines = []
    for i in range(rng.randrange(20, 60)):
        extra = {k: rng.choice(values) for k in ("service", "history", "orig_bytes", "id", "answers")
                 if rng.random() < 0.6}
        lines.append(conn(i, **extra) if rng.random() > 0.05 else "garbage %d" % i)
    assert_chunks_match(_write(tmp_path / "conn.log", lines), block_sizes=(1, 350, 1200))
