"""Kept rows held narrower, written to files past a limit, stacked a column at a time, and a
rest run bucket by bucket (:mod:`c2hunt_offline.columnar.buckets`), each against what it
replaces: ``Compact`` gives the frame back exactly, ``_stack_newest_first`` gives
``concat_frames`` + sort, a bucketed rest gives the whole rest's rows and the hunt's notables,
a check that cannot be exact (mixed columns, by-values sharing a sort key) runs the rest whole,
and spilled chunks give the same notables.
"""
import random
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from c2hunt_offline.columnar import buckets, stats, stream
from c2hunt_offline.columnar.events import concat_frames
from c2hunt_offline.columnar.stream import ORDER_SEQ, ORDER_TIME, Compact
from c2hunt_offline.conf import split_pipeline
from c2hunt_offline.engine import Runner

ROOT = Path(__file__).resolve().parents[2]


def same(a, b):
    """Same columns, dtypes and values (Object columns compared by value: polars' ``equals``
    compares their objects by identity)."""
    return a.columns == b.columns and a.schema == b.schema and all(
        a.get_column(c).to_list() == b.get_column(c).to_list() if a.schema[c] == pl.Object
        else a.get_column(c).equals(b.get_column(c), check_names=True, null_equal=True) for c in a.columns)


# ---------------------------------------------------------------- narrower compact rows

def test_compact_narrows_whole_numbers_and_the_order_key():
    n = 300
    time = pl.Series("_time", [1715644800.123456 + i for i in range(n)], dtype=pl.Float64)
    frame = pl.DataFrame([
        time,
        pl.Series("flag", [1.0, 0.0, None] * 100),
        pl.Series("port", [443.0, 53.0, 65535.0] * 100),
        pl.Series("big", [2.0 ** 40, 1.0, 2.0] * 100),  # past Int32: stays Float64
        pl.Series("negzero", [-0.0, 1.0, 2.0] * 100),  # -0.0 would come back as 0.0
        pl.Series("frac", [0.5, 1.0, 2.0] * 100),
        pl.Series("nan", [float("nan"), 1.0, 2.0] * 100),
        pl.Series("src", ["10.0.0.%d" % (i % 7) for i in range(n)]),
        time.fill_null(0.0).alias(ORDER_TIME),
        pl.Series(ORDER_SEQ, range(10 ** 12, 10 ** 12 + n), dtype=pl.Int64),
    ])
    kept = Compact(frame)
    held = kept.frame.schema
    assert held["flag"] == pl.Int8 and held["port"] == pl.Int32 and held["src"] == pl.UInt8
    assert held["big"] == held["negzero"] == held["frac"] == held["nan"] == pl.Float64
    assert ORDER_TIME not in kept.frame.columns and held[ORDER_SEQ] == pl.UInt32
    back = kept.expand()
    assert back.columns == frame.columns and back.schema == frame.schema
    assert back.equals(frame, null_equal=True)
    assert np.signbit(back.get_column("negzero").to_numpy()[0])
    assert kept.estimated_size() < 0.7 * frame.estimated_size()
    rows = np.array([5, 0, 299])
    assert kept.rows(rows).equals(frame[pl.Series(rows)], null_equal=True)


def test_compact_split_gives_each_piece_its_rows_and_only_their_values():
    """A chunk cut into its buckets' pieces: each piece's rows given back exactly, in their
    order, its dictionaries holding only the values those rows use; no piece where no row goes."""
    n = 400
    frame = pl.DataFrame({
        "_time": [1715644800.0 + i for i in range(n)],
        "src": ["10.0.0.%d" % (i % 50) for i in range(n)],
        "dest": [None if i % 9 == 0 else "d%d" % (i % 20) for i in range(n)],
        "port": [float(i % 3) for i in range(n)],
    }).with_columns(pl.col("_time").alias(ORDER_TIME), pl.Series(ORDER_SEQ, range(7, 7 + n), dtype=pl.Int64))
    kept = Compact(frame)
    of_row = np.array([(i * 7) % 5 if i % 50 != 3 else 5 for i in range(n)])  # src 10.0.0.3 alone in piece 5
    pieces = kept.split(of_row, 7)
    assert pieces[6] is None and all(p is not None for p in pieces[:6])
    for index, piece in enumerate(pieces[:6]):
        rows = np.flatnonzero(of_row == index)
        assert piece.expand().equals(frame[pl.Series(rows)], null_equal=True)
        used = frame[pl.Series(rows)].get_column("src").unique().sort().to_list()
        assert sorted(piece.dictionaries["src"].to_list()) == used
    assert pieces[5].dictionaries["src"].to_list() == ["10.0.0.3"] and pieces[5].frame.schema["src"] == pl.UInt8
    assert kept.expand().equals(frame, null_equal=True)  # the chunk itself unchanged


def test_compact_keeps_an_order_time_that_is_not_the_time():
    frame = pl.DataFrame({"_time": [None, 2.0, 3.5], ORDER_TIME: [0.0, 2.0, 3.0],
                          ORDER_SEQ: pl.Series([0, 1, 2], dtype=pl.Int64)})
    kept = Compact(frame)
    assert ORDER_TIME in kept.frame.columns and kept.expand().equals(frame, null_equal=True)
    nulls = frame.with_columns(pl.Series(ORDER_TIME, [0.0, 2.0, 3.5]))  # _time null -> order 0
    kept = Compact(nulls)
    assert ORDER_TIME not in kept.frame.columns and kept.expand().equals(nulls, null_equal=True)


# ---------------------------------------------------------------- stacked a column at a time

def _chunks(rng, count):
    frames, seq = [], 0
    for c in range(count):
        n = rng.randint(1, 40)
        columns = {
            "_time": [float(rng.choice([100, 101, 99.5, 0])) for _ in range(n)],
            "src": [rng.choice(["a", "b", None]) for _ in range(n)],
        }
        if c % 2:
            columns["size"] = [rng.choice(["7", "x", None]) for _ in range(n)]  # text here, numbers there
        else:
            columns["size"] = [float(rng.choice([1, 2, 3])) for _ in range(n)]
        if c % 3 == 0:
            columns["only_here"] = [rng.choice([1.0, None]) for _ in range(n)]
        frame = pl.DataFrame(columns)
        frame = frame.with_columns(pl.col("_time").fill_null(0.0).alias(ORDER_TIME),
                                   pl.Series(ORDER_SEQ, range(seq, seq + n), dtype=pl.Int64))
        seq += n
        frames.append(frame)
    return frames


@pytest.mark.parametrize("seed", range(6))
def test_stack_is_concat_and_sort(seed):
    rng = random.Random(seed)
    frames = _chunks(rng, rng.randint(1, 7))
    expected = concat_frames(frames).sort([ORDER_TIME, ORDER_SEQ], descending=[True, False], maintain_order=True)
    parts = [Compact(f) if i % 2 else f for i, f in enumerate(frames)]
    got = stream._stack_newest_first(parts)
    assert parts == []  # given up to the stack
    assert got.columns == expected.columns and got.schema == expected.schema
    assert same(got, expected)


# ---------------------------------------------------------------- the print-alike check

def test_print_alike_looks_only_at_close_values(monkeypatch):
    seen = []
    original = stats.text_column
    monkeypatch.setattr(stats, "text_column", lambda s: seen.append(s.len()) or original(s))
    times = [1715644800.0 + i * 0.37 for i in range(10000)]
    times[5000] = times[4999] + 1.2e-5  # two close ones (within 1e-14 of 1.7e9), printing apart
    assert not stats._may_print_alike(pl.Series(times))
    assert seen == [2]
    times[5000] = times[4999] + 2e-7  # 15 significant digits: 1715646649.63 both
    assert stats._may_print_alike(pl.Series(times))
    # a chain: the outer two print alike, the whole number between them prints apart
    assert stats._may_print_alike(pl.Series([1234567890123456.5, 1234567890123457.0, 1234567890123457.5]))



def test_print_classes_group_numbers_as_their_printed_texts(monkeypatch):
    """The groups of _print_classes are those of the printed texts (to_str), with only the
    near values printed: epoch times with microseconds (many print alike at 15 digits), a chain
    whose whole middle number prints apart, -0.0 beside 0.0, nulls."""
    import random

    from c2hunt_offline.values import to_str
    rng = random.Random(29)
    times = [1715644800 + rng.randrange(0, 3000 * 10 ** 6) / 1e6 for _ in range(20000)]
    edges = [1234567890123456.5, 1234567890123457.0, 1234567890123457.5, -0.0, 0.0, 2.5, None]
    values = times + edges + times[:50]
    seen = []
    original = stats.text_column
    monkeypatch.setattr(stats, "text_column", lambda s: seen.append(s.len()) or original(s))
    classes = stats._print_classes(pl.Series("t", values)).to_list()
    assert 0 < seen[0] < len(values) / 2  # only the near values printed
    by_text, by_class = {}, {}
    for value, cls in zip(values, classes):
        assert (cls is None) == (value is None)
        if value is not None:
            by_text.setdefault(to_str(value), set()).add(cls)
            by_class.setdefault(cls, set()).add(to_str(value))
    assert all(len(c) == 1 for c in by_text.values()) and all(len(t) == 1 for t in by_class.values())
    assert len(by_class) < len(set(v for v in values if v is not None))  # some did print alike
    same = pl.Series("t", [1.5, 2.5, None])
    assert stats._print_classes(same) is same  # none near: the column itself


# ---------------------------------------------------------------- bucketed rests

BEACON_LIKE = ("x | eval k=1 | stats count AS n sum(b) AS b by src dest port _time | eval beat=_time . \":\" . n"
               " | stats sum(n) AS n values(beat) AS series by src dest port | eval key=if(n>=2, src, \"-\")"
               " | stats sum(n) AS n values(src) AS src by key dest port | eventstats dc(src) AS s")


def test_bucket_range():
    segments = split_pipeline(BEACON_LIKE)
    assert buckets.bucket_range(segments, 2) == (7, ["dest", "port"])  # src: written by the eval before
    assert buckets.bucket_range(split_pipeline("x | stats count by a | eval a=1 | stats count by a"), 1) == (2, ["a"])
    assert buckets.bucket_range(split_pipeline("x | stats count | stats count by a"), 1) is None
    assert buckets.bucket_range(split_pipeline("x | sort a | stats count by a"), 1) is None
    assert buckets.bucket_range(split_pipeline("x | rename a AS b | stats count by b"), 1) is None


def _frames(rng, chunks, ties=False):
    frames, seq = [], 0
    for _c in range(chunks):
        n = rng.randint(20, 80)
        src = [rng.choice(["10.0.0.1", "10.0.0.2", "10.0.0.3"]) for _ in range(n)]
        dest = [rng.choice(["a.example", "b.example", "c", "d", "e", "f", None]) for _ in range(n)]
        ports = ["1", "01"] if ties else ["80", "443"]
        port = [rng.choice(ports) for _ in range(n)]
        time = [1715644800.0 + rng.randint(0, 50) + rng.choice([0, 0.25, 1e-6]) for _ in range(n)]
        size = [float(rng.randint(0, 3)) if rng.random() < 0.9 else None for _ in range(n)]
        frame = pl.DataFrame({"_time": time, "src": src, "dest": dest, "port": port, "b": size})
        frame = frame.with_columns(pl.col("_time").alias(ORDER_TIME),
                                   pl.Series(ORDER_SEQ, range(seq, seq + n), dtype=pl.Int64))
        seq += n
        frames.append(frame)
    return frames


class _Plan(object):
    kind, stop, group_filter, failed, partial_failed, stats_args, partial_files = \
        "prefix", None, None, False, False, None, set()

    def __init__(self, segments, frames, spill_to=None):
        """Its kept chunks compact, every other one written to ``spill_to`` when given."""
        self.segments, self.cut, self.outputs = segments, 2, [(0, Compact(f)) for f in frames]
        if spill_to is not None:
            self.outputs = [(i, stream.Spilled(f, str(spill_to)) if n % 2 else f)
                            for n, (i, f) in enumerate(self.outputs)]

    def kept_bytes(self):
        return sum(f.estimated_size() for _i, f in self.outputs)


def _rest(runner, plan, monkeypatch, bucket_bytes):
    from c2hunt_offline.columnar import engine as columnar_engine
    from c2hunt_offline.columnar.events import EventTable
    from c2hunt_offline.engine import _Context, _Step
    monkeypatch.setenv("C2HUNT_STREAM_BUCKET_BYTES", str(bucket_bytes))
    events = stream.StreamedEvents(runner, [], None, None, [], (None, None))
    data, start = events.finish(plan)
    ctx = _Context(runner, EventTable({}))
    if isinstance(data, buckets.Bucketed):
        data, start = data.run(runner, ctx, _Step())
    else:
        data = data.drop([ORDER_TIME, ORDER_SEQ])
    return start, columnar_engine.execute_from(runner, ctx, plan.segments, start, data, _Step(), rows=False)


@pytest.mark.parametrize("seed", range(4))
def test_bucketed_rest_is_the_whole_rest(seed, monkeypatch):
    runner = Runner(str(ROOT))
    segments = split_pipeline(BEACON_LIKE)
    frames = _frames(random.Random(seed), 6)
    start, whole = _rest(runner, _Plan(segments, frames), monkeypatch, 0)
    assert start == 2
    start, bucketed = _rest(runner, _Plan(segments, frames), monkeypatch, 500)
    assert start == 7  # the three stats ran bucket by bucket
    assert same(bucketed, whole)


@pytest.mark.parametrize("seed", range(2))
def test_bucketed_rest_of_spilled_chunks_is_the_whole_rest(seed, tmp_path, monkeypatch):
    """Spilled chunks are read back one at a time and cut into their buckets' files: never
    two of them in memory at once, the output the whole rest's, every file gone afterwards."""
    runner = Runner(str(ROOT))
    segments = split_pipeline(BEACON_LIKE)
    frames = _frames(random.Random(seed), 6)
    _start, whole = _rest(runner, _Plan(segments, frames), monkeypatch, 0)
    loads, load = [], stream.Spilled.load
    monkeypatch.setattr(stream.Spilled, "load", lambda self, remove=True: loads.append(remove) or load(self, remove))
    cut = buckets._Pieces._add
    held = []
    monkeypatch.setattr(buckets._Pieces, "_add", lambda self, *a: held.append(len(loads)) or cut(self, *a))
    start, bucketed = _rest(runner, _Plan(segments, frames, spill_to=tmp_path), monkeypatch, 500)
    assert start == 7 and same(bucketed, whole)
    assert loads == [True] * 3 and held == [0, 1, 1, 2, 2, 3]  # each spilled chunk read once, as its turn came
    assert list(tmp_path.iterdir()) == []
    tied = _frames(random.Random(seed), 6, ties=True)
    _start, whole = _rest(runner, _Plan(segments, tied), monkeypatch, 0)
    start, got = _rest(runner, _Plan(segments, tied, spill_to=tmp_path), monkeypatch, 500)
    assert start == 2 and same(got, whole)  # run whole (ties), from the pieces
    assert list(tmp_path.iterdir()) == []


def test_bucketed_rest_runs_whole_where_it_cannot_be_exact(monkeypatch):
    runner = Runner(str(ROOT))
    segments = split_pipeline(BEACON_LIKE)
    rng = random.Random(7)
    tied = _frames(rng, 6, ties=True)  # "1" and "01" share a sort key: their order is first appearance
    start, whole = _rest(runner, _Plan(segments, tied), monkeypatch, 0)
    start, got = _rest(runner, _Plan(segments, tied), monkeypatch, 500)
    assert start == 2 and same(got, whole)
    mixed = _frames(rng, 6)
    mixed[2] = mixed[2].with_columns(pl.col("b").cast(pl.String).fill_null("x"))  # text and numbers
    start, whole = _rest(runner, _Plan(segments, mixed), monkeypatch, 0)
    start, got = _rest(runner, _Plan(segments, mixed), monkeypatch, 500)
    assert start == 2 and same(got, whole)


def test_stacked_schema_reads_a_spilled_chunk_once_for_all_its_mixed_columns(tmp_path, monkeypatch):
    """Two columns numbers in one chunk and all null (text) in another: each takes the dtype
    of the chunks holding values, and the spilled chunk is read once (its file kept), not once
    per column. A column holding text in one chunk and numbers in another has no one dtype."""
    numbers = pl.DataFrame({"b": [1.5, None], "c": [2.0, 3.0], "d": ["x", "y"]})
    nulls = pl.DataFrame({"b": [None, None], "c": [None, None], "d": ["z", None]}, schema={
        "b": pl.String, "c": pl.String, "d": pl.String})
    reads, load = [], stream.Spilled.load
    monkeypatch.setattr(stream.Spilled, "load", lambda self, remove=True: reads.append(remove) or load(self, remove))
    parts = [stream.Spilled(Compact(numbers), str(tmp_path)), Compact(nulls)]
    assert buckets._stacked_schema(parts) == {"b": pl.Float64, "c": pl.Float64, "d": pl.String}
    assert reads == [False]
    text = pl.DataFrame({"b": ["1.5", None], "c": [None, None], "d": ["z", None]}, schema={
        "b": pl.String, "c": pl.String, "d": pl.String})
    assert buckets._stacked_schema([parts[0], Compact(text)]) is None


@pytest.fixture(scope="module")
def generated_whole(tmp_path_factory):
    """(paths, the whole-table notables as dicts) of a generated Zeek workload of 3,000 records
    read natively: made once, as the streamed hunts below only compare with it."""
    import offline_scale  # benchmarks/ (on pythonpath)
    from c2hunt_offline.readers import frames
    paths, _ = offline_scale.generate(str(tmp_path_factory.mktemp("zeek3k")), 3000, hosts=100, n_beacons=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frames, "NATIVE_MIN_BYTES", 0)
        runner = Runner(str(ROOT))
        whole, errors = runner.hunt(runner.read_table(paths)[0])
    assert whole and not errors
    return paths, [n.as_dict() for n in whole]


def test_bucketed_hunt_gives_the_same_notables(generated_whole, monkeypatch):
    """The generated Zeek workload, streamed in small chunks: Periodic Beaconing's rest bucket
    by bucket gives the notables of the whole-table hunt, in order."""
    from c2hunt_offline.readers import frames
    paths, whole = generated_whole
    monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)
    runner = Runner(str(ROOT))
    ran = []
    original = buckets.Bucketed._buckets
    monkeypatch.setattr(buckets.Bucketed, "_buckets", lambda self, *a: ran.append(self.count) or original(self, *a))
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    monkeypatch.setenv("C2HUNT_STREAM_BYTES", "60000")
    monkeypatch.setenv("C2HUNT_STREAM_BUCKET_BYTES", "20000")
    events, _ = runner.read_stream(paths)
    got, errors = runner.hunt(events)
    assert ran and max(ran) > 1
    assert [n.as_dict() for n in got] == whole and not errors


# ---------------------------------------------------------------- buckets across worker processes

def _worker_buckets(monkeypatch, kill_first=False):
    """The buckets each worker was sent (killing the worker at the first one when ``kill_first``)
    and the buckets run in this process."""
    from c2hunt_offline.columnar import parallel
    sent, here = [], []
    send, run_bucket = parallel.Worker.send, buckets.run_bucket

    def watched_send(self, message):
        if message[0] == "bucket":
            if kill_first and not sent:
                self.process.kill()
                self.process.wait()
            sent.append(message[-1])
        return send(self, message)

    def watched_run(*args):
        here.append(args[-1].height)
        time.sleep(0.02)  # so the worker surely takes some
        return run_bucket(*args)
    monkeypatch.setattr(parallel.Worker, "send", watched_send)
    monkeypatch.setattr(buckets, "run_bucket", watched_run)
    monkeypatch.setenv("C2HUNT_WORKERS", "2")
    return sent, here


@pytest.mark.parametrize("seed", range(2))
def test_buckets_across_workers_are_the_whole_rest(seed, monkeypatch):
    """With a worker, the buckets go to it and to this process one at a time; their outputs,
    merged in bucket order, are the whole rest's rows."""
    runner = Runner(str(ROOT))
    segments = split_pipeline(BEACON_LIKE)
    frames = _frames(random.Random(seed), 6)
    _start, whole = _rest(runner, _Plan(segments, frames), monkeypatch, 0)
    sent, here = _worker_buckets(monkeypatch)
    start, bucketed = _rest(runner, _Plan(segments, frames), monkeypatch, 300)
    assert start == 7 and same(bucketed, whole)
    assert sent and here  # both processes ran buckets


def test_a_lost_worker_bucket_runs_in_process(monkeypatch):
    """A worker killed as its first bucket is sent: that bucket, and every one after, runs in
    this process, the output the whole rest's."""
    runner = Runner(str(ROOT))
    segments = split_pipeline(BEACON_LIKE)
    frames = _frames(random.Random(3), 6)
    _start, whole = _rest(runner, _Plan(segments, frames), monkeypatch, 0)
    sent, here = _worker_buckets(monkeypatch, kill_first=True)
    start, bucketed = _rest(runner, _Plan(segments, frames), monkeypatch, 300)
    assert start == 7 and same(bucketed, whole)
    assert len(sent) == 1 and sum(here) == sum(f.height for f in frames)  # every row ran here


def test_a_bucket_that_raised_in_a_worker_runs_the_rest_whole(monkeypatch):
    """A worker's bucket that raised (here: sent a file that is not there) raises in this
    process, as in-process: the rest then runs whole, its output unchanged."""
    from c2hunt_offline.columnar import parallel
    runner = Runner(str(ROOT))
    segments = split_pipeline(BEACON_LIKE)
    frames = _frames(random.Random(5), 6)
    _start, whole = _rest(runner, _Plan(segments, frames), monkeypatch, 0)
    sent, _here = _worker_buckets(monkeypatch)
    call = parallel.Worker.call
    monkeypatch.setattr(parallel.Worker, "call", lambda self, m: call(self, m[:-1] + (m[-1] + ".gone",)))
    start, got = _rest(runner, _Plan(segments, frames), monkeypatch, 300)
    assert sent and start == 2 and same(got, whole)


def test_one_process_runs_the_buckets_in_process(monkeypatch):
    """``C2HUNT_WORKERS=1`` (the reference): no worker is sent a bucket."""
    runner = Runner(str(ROOT))
    frames = _frames(random.Random(4), 6)
    sent, here = _worker_buckets(monkeypatch)
    monkeypatch.setenv("C2HUNT_WORKERS", "1")
    start, _out = _rest(runner, _Plan(split_pipeline(BEACON_LIKE), frames), monkeypatch, 300)
    assert start == 7 and not sent and sum(here) == sum(f.height for f in frames)


def _generated_whole_hunt(generated_whole, tmp_path, monkeypatch):
    """(runner, paths, the whole-table notables as dicts, an empty spill folder) over the
    generated Zeek workload, read natively."""
    from c2hunt_offline.readers import frames
    paths, whole = generated_whole
    monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)
    runner = Runner(str(ROOT))
    folder = tmp_path / "spill"
    folder.mkdir()
    return runner, paths, whole, folder


def test_spilled_hunt_gives_the_same_notables(generated_whole, tmp_path, monkeypatch):
    """Kept chunks written to files past a tiny spill limit (and read back when each search
    runs): the notables of the whole-table hunt, in order, and the files gone afterwards."""
    runner, paths, whole, folder = _generated_whole_hunt(generated_whole, tmp_path, monkeypatch)
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    monkeypatch.setenv("C2HUNT_STREAM_BYTES", "60000")
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_BYTES", "40000")
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_DIR", str(folder))
    events, _ = runner.read_stream(paths)
    spilled = [f for plan in events.plans.values() for _i, f in plan.outputs if isinstance(f, stream.Spilled)]
    assert spilled and all(Path(f.path).exists() for f in spilled)
    held = sum(f.estimated_size() for plan in events.plans.values() for _i, f in plan.outputs
               if isinstance(f, Compact))
    assert held <= 40000
    got, errors = runner.hunt(events)
    assert [n.as_dict() for n in got] == whole and not errors
    assert not any(Path(f.path).exists() for f in spilled)



def test_memory_budget_sets_the_spill_limit(monkeypatch):
    monkeypatch.delenv("C2HUNT_STREAM_SPILL_BYTES", raising=False)
    monkeypatch.delenv("C2HUNT_MEMORY_BYTES", raising=False)
    assert stream.spill_bytes() == stream.MEMORY_BYTES // stream.SPILL_SHARE
    monkeypatch.setenv("C2HUNT_MEMORY_BYTES", str(8 << 20))
    assert stream.memory_bytes() == 8 << 20 and stream.spill_bytes() == (8 << 20) // stream.SPILL_SHARE
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_BYTES", "0")  # given: never written
    assert stream.spill_bytes() == 0
    assert stream.resident_bytes() is None or stream.resident_bytes() > 1 << 20


def test_over_the_memory_budget_every_kept_chunk_is_written(generated_whole, tmp_path, monkeypatch):
    """A process over its memory budget (here 1 MB: always) writes every compact chunk at
    once, whatever the spill limit, and the hunt gives the whole table's notables."""
    runner, paths, whole, folder = _generated_whole_hunt(generated_whole, tmp_path, monkeypatch)
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    monkeypatch.setenv("C2HUNT_STREAM_BYTES", "60000")
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_BYTES", str(1 << 30))  # the limit alone never writes
    monkeypatch.setenv("C2HUNT_MEMORY_BYTES", str(1 << 20))
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_DIR", str(folder))
    events, _ = runner.read_stream(paths)
    kept = [f for plan in events.plans.values() for _i, f in plan.outputs]
    assert any(isinstance(f, stream.Spilled) for f in kept) and not any(isinstance(f, Compact) for f in kept)
    got, errors = runner.hunt(events)
    assert [n.as_dict() for n in got] == whole and not errors


def test_chunk_columns_held_by_reference_cycles_are_freed(tmp_path, monkeypatch):
    """A custom command's column source held its chunk's columns in a reference cycle (DNS
    Tunnel's ``c2entropy``: a class made per call): none is left once each chunk is done, with
    the automatic collector off, and also without the per-chunk collection (the workers' chunks
    get none)."""
    import gc

    import offline_scale  # benchmarks/ (on pythonpath)
    from c2hunt_offline.readers import frames
    paths, _ = offline_scale.generate(str(tmp_path), 3000, hosts=100, n_beacons=2)
    monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    monkeypatch.setenv("C2HUNT_STREAM_BYTES", "60000")
    from c2hunt_offline.columnar import custom
    runner = Runner(str(ROOT))
    sources = []
    original = stream.StreamedEvents.add_chunk

    def add_chunk(self, *args):
        original(self, *args)
        made = set(getattr(custom, "_FRAME_SOURCES", {}).values())  # the one class per driver
        sources.append(sum(1 for o in gc.get_objects() if type(o).__name__ == "FrameSource"
                           or isinstance(o, type) and o.__name__ == "FrameSource" and o not in made))
    monkeypatch.setattr(stream.StreamedEvents, "add_chunk", add_chunk)
    for collecting in (True, False):
        if not collecting:
            monkeypatch.setattr(stream, "release_cycles", lambda: None)
        sources.clear()
        gc.collect()
        gc.disable()
        try:
            runner.read_stream(paths)
        finally:
            gc.enable()
        assert len(sources) > 5 and max(sources) == 0

# ---------------------------------------------------------------- one cell per group, null elsewhere

def test_gather_or_null_is_a_null_index_gather():
    rng = np.random.default_rng(3)
    column = pl.Series("v", [["a", "b"], None, ["c"], ["d", "e", "f"]], dtype=pl.List(pl.String))
    for count in (4, 10, 50):
        at = np.sort(rng.choice(count, size=min(count, 4), replace=False))
        cells = rng.integers(0, column.len(), size=len(at))
        index = np.full(count, -1, dtype=np.int64)
        index[at] = cells
        expected = column.gather(pl.Series(index).set(pl.Series(index < 0), None))
        assert stats.gather_or_null(column, at, cells, count).equals(expected, null_equal=True)


def test_gather_or_null_does_not_copy_a_list_per_null_row():
    """polars gathers a null index as the column's first cell before masking it: a long first
    list was copied to every null row (1.5 GB for 145 items over 650,000 rows)."""
    import subprocess
    import sys
    code = ("import numpy as np, polars as pl\n"
            "from c2hunt_offline.columnar.stats import gather_or_null\n"
            "column = pl.Series([['x%d' % i for i in range(145)]], dtype=pl.List(pl.String))\n"
            "out = gather_or_null(column, np.array([5]), np.array([0]), 650000)\n"
            "assert out.null_count() == 649999 and out[5].len() == 145\n"
            "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) // 1024)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "offline"), "PATH": "/usr/bin:/bin"})
    # MiB, this process's own high-water mark (ru_maxrss would carry the forking test process's)
    assert int(done.stdout.strip()) < 600  # the process itself, not 94 million copied strings


def test_list_text_lengths_are_the_row_sizes():
    """A List(String) column's text sizes for the pruned rows, without a Python value per row,
    as the per-row sum over ``python_values`` gives them (an empty list or one null item: no
    value)."""
    from c2hunt_offline.columnar import prune
    from c2hunt_offline.columnar.table import python_values
    from c2hunt_offline.values import mv, to_str
    rng = random.Random(5)
    for _ in range(200):
        values = [rng.choice([None, [], [None], ["a"], ["", "bb"], ["é", None, "ccc"], [None, None], ["x"] * 3])
                  for _ in range(rng.randint(0, 25))]
        series = pl.Series("tag", values, dtype=pl.List(pl.String))
        expected = [None if v is None else sum(len(to_str(x) or "") for x in mv(v)) for v in python_values(series)]
        assert prune._list_text_lengths(series).to_list() == expected
