"""``stats`` carried chunk by chunk (:mod:`c2hunt_offline.columnar.partial`) against ``col_stats``
over every row at once.

A frame of prefix output (rows in reading order, each with its order key) is cut into chunks
at every size from one row up; :class:`PartialStats` fed the chunks must give exactly (values
and dtypes) the frame ``col_stats`` gives over all rows sorted newest first, or raise
NotColumnar where ``col_stats`` would refuse the rows too (the search then keeps rows).
The rows hold what makes the carried state hard: times out of reading order and equal times,
fractions summed (order-dependent rounding), by-values that share a sort key ("1", "01"),
numeric by-fields, multivalue by-fields and values, empty strings and nulls, strings where
numbers are expected (min/max of a string field), groups present in only some chunks.
"""
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from c2hunt_offline.columnar import partial
from c2hunt_offline.columnar.partial import ORDER_SEQ, ORDER_TIME, PartialStats, carried
from c2hunt_offline.columnar.stats import col_stats
from c2hunt_offline.columnar.table import NotColumnar, frame_from_rows


ROOT = Path(__file__).resolve().parents[2]


class _Ctx(object):
    def __init__(self):
        self.messages = []


ARGS = ("count AS n count(size) AS sizes dc(dest) AS dests values(dest) AS dest values(tag) AS tags "
        "min(_time) AS _time max(_time) AS lastTime sum(size) AS bytes sum(duration) AS seconds "
        "avg(duration) AS mean_seconds values(port) AS port_values by src port")
LABELS = "min(label) AS low max(label) AS high count by src"


def rows_of(rng, n):
    rows = []
    for i in range(n):
        row = {"_time": float(rng.choice([100, 100, 101, 102.5, 99, 0])) + (i % 3),
               "src": rng.choice(["a", "b", "1", "01", "1.0", "", None, ["a", "c"], ["1", "01", ""]]),
               "port": rng.choice([80, 443, 53]),
               "dest": rng.choice(["x", "y", "z", "", None, ["x", "w"]]),
               "tag": rng.choice(["t1", "t2", None]),
               "size": rng.choice([1, 20, 300, None]),
               "duration": rng.choice([0.1, 0.2, 1e-7, 3.3333333, 12345.678, None]),
               "label": rng.choice(["alpha", "Beta", "7", "10", "-2.5", "", None])}
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


def with_order(frame):
    """The order key columns the stream pass adds: _time (0 when none) and reading sequence."""
    t = frame.get_column("_time").fill_null(0.0) if "_time" in frame.columns else pl.Series([0.0] * frame.height)
    return frame.with_columns(t.alias(ORDER_TIME), pl.Series(ORDER_SEQ, range(frame.height), dtype=pl.Int64))


def whole(frame, args):
    ordered = frame.sort([ORDER_TIME, ORDER_SEQ], descending=[True, False], maintain_order=True)
    return col_stats(_Ctx(), args, ordered.drop([ORDER_TIME, ORDER_SEQ]))


def carried_result(chunks, args):
    state = PartialStats(args)
    for chunk in chunks:
        state.add(chunk)
    return state.result()


def cut(frame, size):
    return [frame[i:i + size] for i in range(0, frame.height, size)]


def assert_same(frame, args, sizes):
    try:
        want = whole(frame, args)
    except NotColumnar:  # col_stats refuses these rows: so must the carried state
        for size in sizes:
            with pytest.raises(NotColumnar):
                carried_result(cut(frame, size), args)
        return None
    for size in sizes:
        got = carried_result(cut(frame, size), args)
        assert got.schema == want.schema, size
        assert got.equals(want), (size, got, want)
    return want


@pytest.mark.parametrize("seed", range(6))
def test_matches_col_stats_at_every_chunk_size(seed):
    rng = random.Random(seed)
    frame = with_order(frame_from_rows(rows_of(rng, rng.randrange(40, 120))))
    want = assert_same(frame, ARGS, [1, 2, 3, 7, 50, 1000])
    assert want is not None and want.height > 3
    assert_same(frame, LABELS, [1, 5, 1000])  # min/max of strings: refused where groups mix kinds


def test_min_max_of_strings():
    """Groups with only non-number strings pick the extreme string; col_stats refuses a field
    giving numbers for some groups and strings for others (then the carried state must too)."""
    rows = [{"_time": float(i % 4), "src": "ab"[i % 2], "label": ["b", "", "Z", "c", "a"][i % 5]} for i in range(30)]
    assert_same(with_order(frame_from_rows(rows)), LABELS, [1, 3, 30])
    rows[0]["label"] = "7"
    assert_same(with_order(frame_from_rows(rows)), LABELS, [1, 3, 30])
    mixed = [{"_time": float(i), "src": "ab"[i % 2], "label": ["7", "x"][i % 2]} for i in range(6)]
    assert assert_same(with_order(frame_from_rows(mixed)), LABELS, [1, 4]) is None


def test_fractional_sums_added_newest_first():
    """Sums whose rounding depends on the order: times decreasing then increasing across
    chunks, so reading order is not the sum's order."""
    rng = random.Random(1)
    rows = [{"_time": float((i * 37) % 11), "src": "h", "port": 1, "duration": rng.uniform(-1e6, 1e6)}
            for i in range(60)]
    frame = with_order(frame_from_rows(rows))
    args = "sum(duration) AS s avg(duration) AS a by src"
    want = assert_same(frame, args, [1, 4, 13, 60])
    newest_first = sorted(range(60), key=lambda i: (-rows[i]["_time"], i))
    total = 0.0
    for i in newest_first:
        total += rows[i]["duration"]
    assert want.get_column("s")[0] == total
    reading_order = 0.0
    for row in rows:
        reading_order += row["duration"]
    assert reading_order != total  # the rows make the order matter


def test_no_rows_and_no_groups():
    state = PartialStats("count by src")
    assert state.result() is None  # nothing added: no event selected
    frame = with_order(frame_from_rows([{"_time": 1.0, "other": "x"}]))
    assert_same(frame, "count by src", [1])
    assert carried_result([frame], "count by src").height == 0


def test_numeric_by_field_and_negative_zero():
    rows = [{"_time": float(i), "port": p, "size": i} for i, p in enumerate([80, 443, 80, -7, 0.0, 53.5])]
    want = assert_same(with_order(frame_from_rows(rows)), "count sum(size) AS s dc(size) AS d by port", [1, 2, 6])
    assert want.get_column("port").to_list() == [-7, 0, 53.5, 80, 443]
    # -0.0 and 0.0 are one group, shown as whichever appears first: the state refuses it
    rows[3]["port"] = -0.0
    with pytest.raises(NotColumnar):
        carried_result([with_order(frame_from_rows(rows))], "count by port")


def test_refuses_what_col_stats_refuses():
    # a field with numbers in one chunk and strings in another: the stacked column mixes them
    first = with_order(frame_from_rows([{"_time": 1.0, "src": "a", "size": 5}]))
    second = with_order(frame_from_rows([{"_time": 2.0, "src": "a", "size": "big"}]))
    state = PartialStats("values(size) AS v by src")
    state.add(first)
    with pytest.raises(NotColumnar):
        state.add(second)
        state.result()
    # a fraction after whole numbers were carried as a running sum: its order is lost
    state = PartialStats("sum(size) AS s by src")
    state.add(with_order(frame_from_rows([{"_time": 1.0, "src": "a", "size": 5}])))
    with pytest.raises(NotColumnar):
        state.add(with_order(frame_from_rows([{"_time": 2.0, "src": "a", "size": 0.5}])))
    # values() of numbers giving a multivalue: col_stats refuses, so does the carried state
    frame = with_order(frame_from_rows([{"_time": 1.0, "src": "a", "size": n} for n in (1, 2)]))
    with pytest.raises(NotColumnar):
        whole(frame, "values(size) AS v by src")
    with pytest.raises(NotColumnar):
        carried_result(cut(frame, 1), "values(size) AS v by src")


def test_carried_functions():
    assert carried("count min(_time) AS t values(x) AS x dc(y) sum(z) avg(z) by a b")
    assert not carried("count")  # no by-field: kept as rows
    assert not carried("list(x) by a")
    assert not carried("first(x) by a")
    assert not carried("count(eval(x>1)) by a")
    assert not carried("count by a*")


@pytest.mark.parametrize("compact_rows", [1, 1 << 20])
def test_state_is_by_groups(compact_rows, monkeypatch):
    """Many rows in few groups: what is carried does not grow with the rows (whole numbers;
    the distinct pairs of values() buffered until they pile up, then made distinct)."""
    monkeypatch.setattr(partial, "COMPACT_ROWS", compact_rows)
    rng = np.random.default_rng(0)
    sizes = []
    state = PartialStats("count min(_time) AS t max(_time) AS u sum(size) AS s values(dest) AS d by src")
    for chunk in range(20):
        n = 5000
        frame = pl.DataFrame({"_time": rng.integers(0, 10 ** 6, n).astype(float),
                              "src": rng.choice(["a", "b", "c"], n), "size": rng.integers(0, 100, n).astype(float),
                              "dest": rng.choice(["x", "y"], n)})
        frame = frame.with_columns(pl.col("_time").alias(ORDER_TIME),
                                   pl.Series(ORDER_SEQ, range(chunk * n, (chunk + 1) * n), dtype=pl.Int64))
        state.add(frame)
        sizes.append(state.nbytes())
    assert sizes[-1] < 200_000  # 100,000 rows of 4 fields fed (3.2 MB); arrays have 1,024 slots of slack
    if compact_rows == 1:
        assert sizes[-1] <= sizes[2] * 1.1, sizes
    assert state.result().height == 3


def _saved(name, search):
    from types import SimpleNamespace
    return SimpleNamespace(name=name, search=search)


def _conn_log(path, values):
    import json
    lines = [json.dumps({"ts": 1715677505.0 + (i * 7) % 13, "uid": "C%d" % i, "id.orig_h": "10.0.0.%d" % (i % 3),
                         "id.resp_h": "10.9.0.1", "id.resp_p": 80, "proto": "tcp", "orig_bytes": value})
             for i, value in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("values, block, held", [
    ([5, 7, 9, 10] * 5, 200, "state"),
    ([5, 7, 9] * 4 + [11, 12] * 4, 200, "read again"),  # numbers, then strings: the stacked column mixes them
    ([5, 7, 9] * 4 + [0.25, 1.5] * 4, 200, "read again"),  # whole numbers summed, then fractions
    ([5, 7, 9] * 4 + [11, 12] * 4, 1 << 20, "rows"),  # refused at the first fold: the rows are still there
])
def test_stream_pass_falls_back_to_rows(tmp_path, monkeypatch, values, block, held):
    """Through the stream pass: the state folded at every chunk, or (where it cannot be exact)
    the search read again keeping rows; either way the whole-table result."""
    from c2hunt_offline.columnar import stream
    from c2hunt_offline.engine import Runner
    monkeypatch.setattr(stream, "FOLD_BYTES", 0)
    monkeypatch.setattr(stream, "FOLD_RATIO", float("inf"))
    monkeypatch.setattr(stream, "FOLD_GROUPS_PER_ROW", float("inf"))
    runner = Runner(str(ROOT))
    search = ('sourcetype=bro:conn:json | eval size=if(orig_bytes>10, "big", orig_bytes * 1) '
              '| stats sum(size) AS s count dc(size) AS d max(size) AS m by id.orig_h')
    log = _conn_log(tmp_path / "conn.log", values)
    want = runner.run(search, runner.read_table([log])[0]).rows
    plan = stream.plan_search(runner, _saved("t", search))
    assert plan.stats_args is not None
    events, _ = stream.stream_events(runner, [log], [plan], block_bytes=block, min_bytes=0)
    assert len(events) == len(values)
    assert bool(plan.partial_files) is (held != "rows") and (plan.stats_args is None) is (held == "rows")
    data, start = events.finish(plan)
    assert plan.partial_failed is (held == "read again")
    assert start == (plan.cut + 1 if held == "state" else plan.cut)
    from c2hunt_offline.columnar import engine as columnar_engine
    from c2hunt_offline.engine import _Context, _Step
    from c2hunt_offline.columnar.events import EventTable
    data = data.drop([ORDER_TIME, ORDER_SEQ], strict=False)
    got = columnar_engine.execute_from(runner, _Context(runner, EventTable({})), plan.segments, start, data, _Step())
    assert got == want and want
