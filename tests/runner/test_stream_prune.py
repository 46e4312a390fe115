"""A streamed prefix's rows pruned to the fields the rest of the pipeline names
(``columnar/prune.py``): what is kept, and that the result is the whole-table one, including
where ``eventstats`` stops adding fields past limits.conf's cut-off (measured from every field of
the rows, the pruned ones carried as sizes)."""
import json
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from c2hunt_offline import limits
from c2hunt_offline.columnar import prune, stream
from c2hunt_offline.columnar.events import EventTable
from c2hunt_offline.conf import split_pipeline
from c2hunt_offline.engine import Runner

ROOT = Path(__file__).resolve().parents[2]


def rest(search):
    segments = split_pipeline(search)
    return prune.rest_fields(segments, 1)


def test_rest_fields_up_to_table_or_stats():
    fields, stop = rest("x | eval a=b . c | where d>1 | eventstats count AS n by e | table a n f")
    assert stop == 4 and {"_time", "a", "b", "c", "d", "n", "e", "f"} <= fields
    fields, stop = rest("x | eventstats sum(b) AS s by c | stats count by c s")
    assert stop == 2 and {"b", "s", "c"} <= fields and "_raw" not in fields


def test_rest_fields_past_a_fields_list():
    """A fields list keeps _raw unasked: past it, a stats or table decides; else _raw is kept."""
    fields, stop = rest("x | eventstats count AS n by a | fields a n | eval m=n+1 | stats max(m) by a")
    assert stop == 4 and "_raw" not in fields and {"a", "n", "m"} <= fields
    fields, stop = rest("x | eventstats count AS n by a | fields a n | dedup a")
    assert stop == 4 and "_raw" in fields
    fields, stop = rest("x | eventstats count AS n by a | fields a n | c2beacon series=s")
    assert stop == 3 and "_raw" in fields


@pytest.mark.parametrize("search", [
    "x | eventstats count by a",  # no reset: the rows are the output
    "x | eventstats count by a | c2asym out=a in=b | table a",  # a custom command reads what it likes
    "x | lookup some_table a | table a",  # without OUTPUT it writes columns not named here
    "x | fillnull value=0 | table a",  # fills (and so sizes) every field
    "x | where searchmatch(\"y\") | table a",  # reads every field
    "x | eval {name}=1 | table a",  # writes a field named by a value
    "x | rename a* AS b* | table b",
    "x | table a*",
    "x | fields - a* | table b",
])
def test_rest_fields_whole_rows(search):
    assert rest(search) == (None, None)


def test_fields_removed_before_eventstats_are_neither_kept_nor_sized():
    """`fields - _raw` right after the prefix (the Linux/macOS connections macro): no command
    sizes the rows while _raw is there, so it is not kept and its size is not carried; removed
    after an eventstats it counted there, so its size is carried (and taken off at the command)."""
    search = "x | fields - _raw b | eventstats sum(a) AS s by c | table a s c"
    segments = split_pipeline(search)
    fields, stop = prune.rest_fields(segments, 1)
    assert stop == 3 and "_raw" not in fields and "b" not in fields
    assert prune.unsized_fields(segments, 1, stop) == {"_raw", "b"}
    later = split_pipeline("x | eventstats sum(a) AS s by c | fields - _raw | table a s c")
    fields, stop = prune.rest_fields(later, 1)
    assert "_raw" not in fields and prune.unsized_fields(later, 1, stop) == set()  # sized, taken off there
    frame = pl.DataFrame({"a": ["1", "2"], "_raw": ["x" * 50, "y" * 70], "b": ["bb", None], "c": ["k", "k"]})
    pruned = prune.prune(frame, {"a", "c"}, unsized={"_raw", "b"})
    assert pruned.columns == ["a", "c", prune.PRUNED_BYTES, prune.PRUNED_RAW]
    assert pruned.get_column(prune.PRUNED_BYTES).to_list() == [0, 0]
    assert pruned.get_column(prune.PRUNED_RAW).to_list() == [0, 0]
    sized = prune.prune(frame, {"a", "c"})
    assert sized.get_column(prune.PRUNED_BYTES).to_list() == [50 + 4 + 2 + 1, 70 + 4]
    assert sized.get_column(prune.PRUNED_RAW).to_list() == [54, 74]


def test_removing_raw_does_not_keep_it():
    """``fields - _raw`` reads nothing: _raw is pruned (its size carried), other names kept."""
    fields, stop = rest("x | fields - _raw b | eventstats count AS n by a | table a n")
    assert stop == 3 and "_raw" not in fields and {"a", "n"} <= fields and "b" not in fields
    fields, stop = rest("x | eventstats count AS n by a | fields - _raw b | table a n")
    assert stop == 3 and "_raw" not in fields and {"a", "b", "n"} <= fields  # sized before: b kept
    assert "_raw" in rest("x | fields - b | rex \"(?<a>\\d+)\" | table a")[0]  # read after: kept


def test_rex_reads_raw_unless_a_field_is_named():
    assert "_raw" in rest("x | rex \"(?<a>\\d+)\" | table a")[0]
    fields = rest("x | rex field=b \"(?<a>\\d+)\" | table a")[0]
    assert "_raw" not in fields and {"a", "b"} <= fields


def test_network_tool_plan_keeps_the_fields_it_names():
    runner = Runner(str(ROOT))
    saved = next(s for s in runner.saved_searches() if "Linux And macOS" in s.name and "Network Tool" in s.name)
    plan = stream.plan_search(runner, saved)
    # the prefix runs up to the flow stats (kept: the fields it names) and only the groups
    # some endpoint event holds reach it: the conn-only 5-tuples are never expanded
    assert plan.stop is None and stream._word(plan.segments[plan.cut]) == "stats"
    assert plan.group_filter == (["merge_key"], "endpoint_event")
    conn_fields = {"service", "id.orig_h", "proto", "history", "conn_state", "orig_pkts", "resp_ip_bytes", "_raw",
                   "src", "src_port"}
    assert not conn_fields & plan.keep  # fields of every conn record it never names past the prefix
    assert {"merge_key", "endpoint_event", "flow_out", "flow_in", "flow_key", "host", "_time"} <= plan.keep


def test_row_text_bytes_is_the_limits_estimate():
    from c2hunt_offline.columnar.table import frame_from_rows, rows_from_frame
    rows = [{"a": "xyz", "n": 12, "f": 0.125, "m": ["p", "qq"], "o": "é"},
            {"n": 1e20, "o": 3}, {}, {"a": "", "f": -2.5e-7, "o": "zz"}]
    frame = frame_from_rows(rows)
    assert prune.row_text_bytes(frame).to_list() == [limits.estimated_bytes(r) for r in rows_from_frame(frame)]


# ---------------------------------------------------------------- through the stream pass

def _conn_log(path, n):
    lines = [json.dumps({"ts": 1715677505.0 + (i * 7) % 23, "uid": "C%05d" % i, "id.orig_h": "10.0.0.%d" % (i % 3),
                         "id.resp_h": "10.9.0.%d" % (i % 5), "id.resp_p": 80 + i % 2, "proto": "tcp",
                         "orig_bytes": i * 10, "history": "ShADadFf" * (1 + i % 4)})
             for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _streamed(runner, search, log, block):
    saved = SimpleNamespace(name="t", search=search)
    plan = stream.plan_search(runner, saved)
    events, _ = stream.stream_events(runner, [log], [plan], block_bytes=block, min_bytes=0)
    return plan, runner._run_streamed(saved, events, None, None, None)


SEARCHES = [
    # eventstats over the pruned rows, then a table
    "sourcetype=bro:conn:json | eval w=len(uid) | eventstats sum(orig_bytes) AS total count AS n by id.orig_h "
    "| where n>0 | table _time id.orig_h total n w",
    # two eventstats around a fields list (past it, only _raw of the pruned fields is sized)
    "sourcetype=bro:conn:json | eventstats count AS n by id.resp_h | fields _time id.orig_h id.resp_h n orig_bytes "
    "| eventstats sum(orig_bytes) AS total by id.orig_h | sort 0 - orig_bytes | stats values(n) AS n values(total) "
    "AS total count by id.orig_h id.resp_h",
    # _raw removed between two eventstats: not kept, its size counted before and not after
    "sourcetype=bro:conn:json | eventstats count AS n by id.resp_h | fields - _raw "
    "| eventstats sum(orig_bytes) AS total by id.orig_h | table _time id.orig_h id.resp_h n total",
]


@pytest.mark.parametrize("search", SEARCHES)
@pytest.mark.parametrize("budget", [None, 4000, 9000])
@pytest.mark.parametrize("block", [300, 1 << 20])
def test_pruned_rest_is_the_whole_tables(tmp_path, monkeypatch, search, budget, block):
    """The eventstats cut-off (limits made tiny so that 40 rows pass it) falls where the whole
    rows put it: the pruned rows carry the size of what they no longer hold."""
    if budget is not None:
        monkeypatch.setattr(limits, "MAXRESULTROWS", 5)
        monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", budget / (1024 * 1024))
    runner = Runner(str(ROOT))
    log = _conn_log(tmp_path / "conn.log", 40)
    want = runner.run(search, runner.read_table([log])[0])
    plan, got = _streamed(runner, search, log, block)
    assert plan.stop is not None and "history" not in plan.keep
    assert got.rows == want.rows and got.messages == want.messages and want.rows
    assert any("eventstats fields" in m for m in want.messages) is (budget is not None)


def test_sizes_matter(tmp_path, monkeypatch):
    """Without the pruned fields' sizes the cut-off falls later: the test above would see it."""
    monkeypatch.setattr(limits, "MAXRESULTROWS", 5)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", 4000 / (1024 * 1024))
    runner = Runner(str(ROOT))
    log = _conn_log(tmp_path / "conn.log", 40)
    want = runner.run(SEARCHES[0], runner.read_table([log])[0])
    real = prune.prune
    monkeypatch.setattr(prune, "prune", lambda frame, keep, *unsized: real(frame, keep, *unsized).with_columns(
        pl.lit(0, pl.UInt32).alias(prune.PRUNED_BYTES), pl.lit(0, pl.UInt32).alias(prune.PRUNED_RAW)))
    _plan, got = _streamed(runner, SEARCHES[0], log, 1 << 20)
    assert got.rows != want.rows


def test_rows_fallback_in_the_rest(tmp_path, monkeypatch):
    """A field holding numbers and strings (an Object column: eventstats runs on rows): the
    cut-off is still measured with the pruned sizes."""
    monkeypatch.setattr(limits, "MAXRESULTROWS", 5)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", 5000 / (1024 * 1024))
    runner = Runner(str(ROOT))
    log = _conn_log(tmp_path / "conn.log", 40)
    search = ('sourcetype=bro:conn:json | eval v=if(orig_bytes>150, "big", orig_bytes) '
              '| eventstats values(v) AS vs by id.orig_h | table _time id.orig_h v vs')
    want = runner.run(search, runner.read_table([log])[0])
    _plan, got = _streamed(runner, search, log, 300)
    assert got.rows == want.rows and got.messages == want.messages
    assert any("eventstats fields" in m for m in want.messages)


def test_no_event_selected(tmp_path):
    runner = Runner(str(ROOT))
    log = _conn_log(tmp_path / "conn.log", 10)
    search = "sourcetype=nothing | eventstats count AS n by a | table a n"
    _plan, got = _streamed(runner, search, log, 300)
    assert got.rows == runner.run(search, EventTable({})).rows == []


@pytest.mark.parametrize("budget", [6000, 9000])
def test_raw_size_matters_past_a_fields_list(tmp_path, monkeypatch, budget):
    """Past a fields list the rows would still hold _raw: without its size there, the second
    eventstats' cut-off falls later."""
    monkeypatch.setattr(limits, "MAXRESULTROWS", 5)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", budget / (1024 * 1024))
    runner = Runner(str(ROOT))
    log = _conn_log(tmp_path / "conn.log", 40)
    want = runner.run(SEARCHES[1], runner.read_table([log])[0])
    real = prune.prune
    monkeypatch.setattr(prune, "prune", lambda frame, keep, *unsized: real(frame, keep, *unsized).with_columns(
        pl.lit(0, pl.UInt32).alias(prune.PRUNED_RAW)))
    _plan, got = _streamed(runner, SEARCHES[1], log, 1 << 20)
    assert got.messages != want.messages


def test_lookup_fields_are_the_event_fields():
    fields = rest("x | lookup t col AS ev_in other OUTPUT out_col AS ev_out plain | table ev_out")[0]
    assert {"ev_in", "other", "ev_out", "plain"} <= fields and not {"col", "out_col"} & fields


def test_quoted_names():
    fields = rest("x | eval a='columns.uid' . \"lit.eral\" | rex field=b \"(?<grp>\\d)\" | table a")[0]
    assert {"columns.uid", "grp", "a", "b"} <= fields and "uid" not in fields


# ---------------------------------------------------------------- compact rows, run order

def test_compact_gives_the_frame_back():
    frame = pl.DataFrame({
        "src": ["10.0.0.1", "10.0.0.2", None, "10.0.0.1"] * 50,
        "uid": ["C%d" % i for i in range(200)],  # all distinct: left as text
        "n": [1.5, None, 3.0, 4.0] * 50,
        "empty": pl.Series([None] * 200, dtype=pl.String),
        "mv": [["a", "b"], None, ["a"], ["c", "d"]] * 50,
        "\x00order_seq": list(range(200)),
    })
    kept = stream.Compact(frame)
    assert set(kept.dictionaries) == {"src"}
    assert kept.frame.get_column("src").dtype != pl.String
    assert kept.expand().equals(frame) and kept.expand().columns == frame.columns
    assert kept.estimated_size() < frame.estimated_size() and kept.height == 200 and kept.columns == frame.columns
    assert stream.Compact(frame.head(0)).expand().equals(frame.head(0))


def test_compact_off_and_on_give_the_same_hunt(tmp_path, monkeypatch):
    """Compact rows and the smallest-kept-first order: the same notables in the same order as
    the whole-table hunt (the differential tests run with both on as well)."""
    import offline_scale  # benchmarks/ (on pythonpath)
    from c2hunt_offline.readers import frames
    paths, _ = offline_scale.generate(str(tmp_path), 3000, hosts=100, n_beacons=2)
    monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)
    runner = Runner(str(ROOT))
    whole, errors = runner.hunt(runner.read_table(paths)[0])
    assert whole and not errors
    for setting in ("0", "1"):
        monkeypatch.setenv("C2HUNT_STREAM", "1")
        monkeypatch.setenv("C2HUNT_STREAM_BYTES", "60000")
        monkeypatch.setenv("C2HUNT_STREAM_COMPACT", setting)
        events, _ = runner.read_stream(paths)
        searches = [(s, None, None) for s in runner.saved_searches() if s.kind == "correlation"]
        kept = [events.plans[saved.name].kept_bytes() for saved, _lo, _hi in events.run_order(searches)
                if events.plans[saved.name].kind != "whole"]
        assert kept == sorted(kept) and kept[-1] > kept[0]  # the ones that keep least first
        got, errors = runner.hunt(events)
        assert [n.as_dict() for n in got] == [n.as_dict() for n in whole] and not errors


# ---------------------------------------------------------------- stats | where isnotnull(...)

def test_group_filter_plan():
    segments = split_pipeline("x | eval a=1 | stats values(h) AS host sum(b) AS b by s d | where isnotnull(host) | table s")
    assert stream._group_filter(segments, 2) == (["s", "d"], "h")
    for search in ("x | eval a=1 | stats count AS host by s d | where isnotnull(host)",  # count is never null
                   "x | eval a=1 | stats values(h) AS host list(b) AS l by s | where isnotnull(host)",  # list warns
                   "x | eval a=1 | stats values(h) AS host | where isnotnull(host)",  # no by-fields
                   "x | eval a=1 | stats values(h) AS host by s | where isnotnull(host) AND a>1"):
        assert stream._group_filter(split_pipeline(search), 2) is None, search


def test_groups_holding():
    a = pl.DataFrame({"s": ["1", "2", None, "3"], "h": [None, "x", None, None], "n": [1.0, 2.0, 3.0, 4.0]})
    b = pl.DataFrame({"s": ["1", "2", None, "4"], "h": ["y", None, "z", None], "n": [5.0, 6.0, 7.0, 8.0]})
    got = stream._groups_holding([a, b], ["s"], "h")
    assert [f.get_column("n").to_list() for f in got] == [[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]]
    none = stream._groups_holding([a.with_columns(pl.lit(None, pl.String).alias("h"))], ["s"], "h")
    assert [f.height for f in none] == [1]  # one row stays: its group gets dropped by the where
    numeric = [a.with_columns(pl.col("n").alias("s"))]
    assert stream._groups_holding(numeric, ["s"], "h") is numeric  # numbers group by their text


# a stats by 5-tuple whose groups are kept only where some row holds an endpoint (every 7th)
ENDPOINT_FLOW_SEARCH = ('sourcetype=bro:conn:json | eval endpoint=if(orig_bytes % 7 == 0, "host" . orig_bytes, null()) '
                        '| stats values(endpoint) AS host sum(bytes_out) AS out count by src src_port dest dest_port '
                        '| where isnotnull(host) | table src src_port host out count')


def _endpoint_flow_log(tmp_path, n):
    """A Zeek conn log of ``n`` records over 24 5-tuples (4 sources x 6 ports), one a second."""
    lines = []
    for i in range(n):
        lines.append(json.dumps({"ts": 1715677505.0 + i, "uid": "C%d" % i, "id.orig_h": "10.0.0.%d" % (i % 4),
                                 "id.orig_p": 5000 + i % 6, "id.resp_h": "10.9.0.1", "id.resp_p": 80,
                                 "proto": "tcp", "orig_bytes": i}))
    log = tmp_path / "conn.log"
    log.write_text("\n".join(lines) + "\n")
    return log


def test_group_filter_through_the_stream(tmp_path, monkeypatch):
    """Conn and Sysmon-like rows sharing 5-tuples: only the groups with an endpoint reach the
    stats, with all their rows (the Zeek bytes of a tuple a process also logged are summed)."""
    log, search = _endpoint_flow_log(tmp_path, 60), ENDPOINT_FLOW_SEARCH
    runner = Runner(str(ROOT))
    want = runner.run(search, runner.read_table([str(log)])[0])
    monkeypatch.setenv("C2HUNT_STREAM_STATS", "0")  # rows kept: the filter applies when they are stacked
    plan, got = _streamed(runner, search, str(log), 400)
    assert plan.group_filter is not None
    assert got.rows == want.rows and 0 < len(want.rows) < 24


def test_groups_holding_reads_spilled_chunks_one_at_a_time(tmp_path, monkeypatch):
    """Spilled chunks give what their compact selves give, and none is read back for its rows
    while another's rows are held in full (each is filtered as it is read)."""
    frames = [pl.DataFrame({"s": ["%d" % (i % 5) for i in range(k, k + 40)],
                            "h": [("x%d" % i) if i % 17 == 0 else None for i in range(k, k + 40)],
                            "n": [float(i) for i in range(k, k + 40)]}) for k in (0, 40, 80)]
    want = stream._groups_holding([stream.Compact(f) for f in frames], ["s"], "h")
    spilled = [stream.Spilled(stream.Compact(f), str(tmp_path)) for f in frames]
    loads = []
    original = stream.Spilled.load

    def load(self, remove=True):
        kept = original(self, remove)
        if remove:  # read back for its rows: the earlier ones are filtered by now
            loads.append(kept.height)
        return kept
    monkeypatch.setattr(stream.Spilled, "load", load)
    got = stream._groups_holding(spilled, ["s"], "h")
    assert len(got) == len(want) and all(a.equals(b) for a, b in zip(got, want))
    assert loads == [40, 40, 40] and not list(tmp_path.iterdir())  # each read once for its rows, files gone


def test_spilled_group_filter_chunks_reach_the_filter_unread(tmp_path, monkeypatch):
    """A search with a group filter finishes from its spilled chunks without reading them all
    back first (the Linux flow stats keep every conn record: 2 GB compact at 20 million);
    its rows are those of the whole table."""
    log, search = _endpoint_flow_log(tmp_path, 300), ENDPOINT_FLOW_SEARCH
    runner = Runner(str(ROOT))
    want = runner.run(search, runner.read_table([str(log)])[0])
    folder = tmp_path / "spill"
    folder.mkdir()
    monkeypatch.setenv("C2HUNT_STREAM_STATS", "0")
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_BYTES", "2000")
    monkeypatch.setenv("C2HUNT_STREAM_SPILL_DIR", str(folder))
    given = []
    original = stream._groups_holding
    monkeypatch.setattr(stream, "_groups_holding", lambda frames, *a: given.extend(frames) or original(frames, *a))
    plan, got = _streamed(runner, search, str(log), 1500)
    assert plan.group_filter is not None
    assert any(isinstance(f, stream.Spilled) for f in given)
    assert got.rows == want.rows and want.rows
    assert not list(folder.glob("*/*.kept"))
def test_groups_holding_multivalue_by_values():
    """A multivalue by-value puts its row into each value's group (stats' rule): a row holding
    the field makes every one of its groups held, a row is kept when one of its groups is."""
    endpoints = pl.DataFrame({"s": [["e1", "f1"], ["e2"], ["e3", "f3"], []], "h": [1.0, None, 1.0, None],
                              "n": [1.0, 2.0, 3.0, 4.0]})
    conns = pl.DataFrame({"s": ["f1", "f2", "f3", "f1", None], "h": [None] * 5, "n": [5.0, 6.0, 7.0, 8.0, 9.0]},
                         schema_overrides={"h": pl.Float64})
    got = stream._groups_holding([endpoints, conns], ["s"], "h")
    assert [f.get_column("n").to_list() for f in got] == [[1.0, 3.0], [5.0, 7.0, 8.0]]
    # with a held group of its own, the row whose second value is that group stays
    got = stream._groups_holding([endpoints.with_columns(pl.Series("s", [["e1", "f1"], ["e2", "f2"], ["e3"], []]))],
                                 ["s"], "h")
    assert got[0].get_column("n").to_list() == [1.0, 3.0]
    numbers = [endpoints.with_columns(pl.Series("s", [[1.0], [2.0], [3.0], [4.0]]))]
    assert stream._groups_holding(numbers, ["s"], "h") is numbers  # numbers group by their text


def test_flow_group_filter_on_mixed_endpoint_and_conn_data(tmp_path, monkeypatch):
    """Sysmon for Linux, osquery and auditd of the Linux/macOS sample beside 3,000 other conn
    records, streamed in small chunks: endpoint events make merge_key multivalue in their
    chunks, and the flow stats' group filter still applies (exploded), so only the 5-tuples an
    endpoint reported reach the stats; the notables are the whole-table hunt's."""
    from c2hunt_offline.readers import frames
    unix = "C2Hunt - Network Tool, Script Or Transient Program To Monitored Port Or Beaconing - Linux And macOS - Rule"
    t0 = 1715678519.0
    rows = [{"ts": t0 + 7200 + i * 0.5, "uid": "Cpad%d" % i, "id.orig_h": "10.30.%d.%d" % (i // 250 % 250, i % 250 + 1),
             "id.orig_p": 20000 + i % 40000, "id.resp_h": "192.0.2.%d" % (i % 200 + 1), "id.resp_p": 443, "proto": "tcp",
             "duration": 1.5, "orig_bytes": 900, "resp_bytes": 5000, "conn_state": "SF"} for i in range(3000)]
    padding = tmp_path / "conn_other.log"
    padding.write_text("".join(json.dumps(row) + "\n" for row in rows))
    paths = [str(ROOT / "samples" / "x8_unix_scripted_app_c2"), str(padding) + ":bro:conn:json"]
    monkeypatch.setattr(frames, "NATIVE_MIN_BYTES", 0)
    runner = Runner(str(ROOT))
    whole, errors = runner.hunt(runner.read_table(paths)[0], names=[unix])
    assert whole and not errors
    filtered = []
    original = stream._groups_holding

    def recording(parts, by, field):
        out = original(parts, by, field)
        multivalue = any(f.schema[c] == pl.List(pl.String) for f in parts for c in by if c in f.columns)
        filtered.append((multivalue, sum(f.height for f in parts), sum(f.height for f in out)))
        return out

    monkeypatch.setattr(stream, "_groups_holding", recording)
    monkeypatch.setenv("C2HUNT_STREAM", "1")
    monkeypatch.setenv("C2HUNT_STREAM_BYTES", "60000")
    events, _ = runner.read_stream(paths)
    got, errors = runner.hunt(events, names=[unix])
    assert not errors
    assert json.dumps([n.as_dict() for n in got], sort_keys=True) == json.dumps([n.as_dict() for n in whole], sort_keys=True)
    ((multivalue, before, after),) = filtered
    assert multivalue and before > 3000 and after < 100  # 3,071 -> 71


# ---------------------------------------------------------------- fields dropped before a streaming command

def test_narrowing_names_what_the_command_and_the_rest_of_the_prefix_read():
    runner = Runner(str(ROOT))
    segments = split_pipeline("x | eval a=b+1 | c2asym out=o in=i | eval d=a . asym_flag | stats count by d")
    after = {"d", ".", "a", "_time", "asym_flag", "o", "i"}
    # and before the prefix's first command, what every command of it names
    assert stream._narrowing(runner, segments, 4, {"d"}) == {2: after, 1: after | {"b", "1"}}
    # searchmatch reads every field: nothing is dropped before the command
    segments = split_pipeline('x | c2asym out=o in=i | where searchmatch("z") | stats count by d')
    assert stream._narrowing(runner, segments, 3, {"d"}) == {}


def _assert_narrowed_prefix_is_whole(runner, plan, log):
    """The prefix's rows over the log's table, narrowed as planned and not: the same frame."""
    table = runner.read_table([log])[0]
    narrowed = stream._prefix_rows(runner, plan, table)
    plan.narrow = {}
    whole = stream._prefix_rows(runner, plan, table)
    assert narrowed.columns == whole.columns and narrowed.equals(whole, null_equal=True)


NARROWED = ("sourcetype=bro:conn:json | eval o=orig_bytes, i=len(history) | c2asym out=o in=i min_bytes=0 "
            "| eval side=if(asym_flag==1, id.orig_h, id.resp_h) | stats count sum(o) AS o by side")


def test_narrowed_prefix_is_the_whole_prefix(tmp_path, monkeypatch):
    """The command is given only the fields named from it on (not ``uid``, ``history``, ...),
    and the prefix's rows, the stats and the messages are the whole table's."""
    from c2hunt_offline.columnar import custom
    runner = Runner(str(ROOT))
    log = _conn_log(tmp_path / "conn.log", 40)
    given, run = [], custom.run_custom_in_process
    monkeypatch.setattr(custom, "run_custom_in_process", lambda ctx, n, a, frame: given.append(frame.columns)
                        or run(ctx, n, a, frame))
    want = runner.run(NARROWED, runner.read_table([log])[0])
    plan, got = _streamed(runner, NARROWED, log, 1 << 20)
    assert sorted(plan.narrow) == [1, 2]
    assert "uid" not in given[-1] and "history" not in given[-1] and "id.orig_h" in given[-1]
    assert got.rows == want.rows and got.messages == want.messages
    sides = {row["side"] for row in want.rows}
    assert any(s.startswith("10.0.") for s in sides) and any(s.startswith("10.9.") for s in sides)  # flagged or not
    _assert_narrowed_prefix_is_whole(runner, plan, log)


WHERE_PREFIX = ("sourcetype=bro:conn:json | eval o=orig_bytes | where o > 300 | eval side=id.orig_h "
                "| stats count sum(o) AS o by side")


def test_prefix_without_a_streaming_command_drops_unnamed_fields_first(tmp_path, monkeypatch):
    """Fields no command of the prefix names (``_raw``, ``uid``, ``history``, ...) are dropped
    before its first command, so its ``where`` copies only the named ones; the prefix's rows,
    the stats and the messages are the whole table's."""
    from c2hunt_offline.columnar import commands
    runner = Runner(str(ROOT))
    log = _conn_log(tmp_path / "conn.log", 40)
    seen, where = [], commands.COLUMNAR["where"]
    monkeypatch.setitem(commands.COLUMNAR, "where", lambda ctx, args, frame: seen.append(frame.columns)
                        or where(ctx, args, frame))
    want = runner.run(WHERE_PREFIX, runner.read_table([log])[0])
    plan, got = _streamed(runner, WHERE_PREFIX, log, 1 << 20)
    assert sorted(plan.narrow) == [1]
    assert "_raw" not in seen[-1] and "uid" not in seen[-1] and "orig_bytes" in seen[-1]
    assert got.rows == want.rows and got.messages == want.messages
    assert 0 < len(got.rows) and sum(row["count"] for row in got.rows) < 40 * 2  # the where dropped rows
    _assert_narrowed_prefix_is_whole(runner, plan, log)
