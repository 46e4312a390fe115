"""The columnar tstats (columnar/tstats.py) gives exactly what the row command gives.

Compared directly (the columnar function against the row function, so a fallback cannot
hide a difference): every tstats of the saved searches and their drilldowns over every
scenario of samples/ and a generated Zeek workload, then a seeded fuzz corpus of events
(tags, CIM fields as strings, numbers and multivalues, bytes_in/bytes_out without bytes)
and tstats queries (aggregations, where, by, span, fillnull_value). Values are compared as
the user sees them (tests/support.shown_value: floats by repr)."""
import random
import re

import polars as pl
import pytest

from c2hunt_offline.columnar.events import EventTable
from c2hunt_offline.columnar.table import NotColumnar, rows_from_frame
from c2hunt_offline.columnar.tstats import COLUMNAR_COMMANDS, col_tstats
from c2hunt_offline.commands.tstats import cmd_tstats
from c2hunt_offline.conf import split_pipeline
from c2hunt_offline.engine import Runner, _Context
from c2hunt_offline.values import SplError
from support import ROOT, SAMPLES, SCENARIOS, app_search_texts, shown_rows as shown



@pytest.fixture(scope="module")
def runner():
    return Runner(str(ROOT))


def _tstats_queries(runner):
    """The argument text of every tstats the app's searches (and drilldowns) run, macros expanded."""
    out = []
    for text in app_search_texts(runner):
        if "tstats" not in text:
            continue
        first = split_pipeline(runner.expand(text))[1]
        if first.split(None, 1)[0].lower() == "tstats":
            args = first.split(None, 1)[1]
            args = re.sub(r"\$\w+\$", "x", args)  # a drilldown's tokens
            out.append(args)
    return list(dict.fromkeys(out))


def _outcome(fn):
    try:
        return "rows", fn()
    except SplError as exc:
        return "error", str(exc)


def _compare(runner, events, args, must_be_columnar):
    """Row tstats vs columnar tstats over ``events``: rows, order, columns and messages."""
    row_ctx = _Context(runner, [dict(e) for e in events])
    row = _outcome(lambda: shown(cmd_tstats(row_ctx, args, [])))
    col_ctx = _Context(runner, EventTable.from_events([dict(e) for e in events]))
    try:
        col = _outcome(lambda: shown(rows_from_frame(col_tstats(col_ctx, args, pl.DataFrame()))))
    except NotColumnar:
        assert not must_be_columnar, "fell back to rows: %s" % args
        return row, None
    assert col == row, args
    if row[0] == "rows":
        assert col_ctx.messages == row_ctx.messages
        assert col_ctx.columns == row_ctx.columns
    return row, col


def test_registered_in_the_columnar_registry():
    from c2hunt_offline.columnar.commands import COLUMNAR, OPTIONAL_MODULES
    assert "tstats" in OPTIONAL_MODULES
    assert COLUMNAR["tstats"] is COLUMNAR_COMMANDS["tstats"]


def test_the_app_has_tstats_searches(runner):
    queries = _tstats_queries(runner)
    assert len(queries) >= 4
    assert any("Network_Traffic" in q for q in queries)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_saved_search_tstats_over_scenarios(runner, scenario):
    events, _ = runner.read_files([str(SAMPLES / scenario)])
    for args in _tstats_queries(runner):
        if "datamodel=Risk" in args:  # not a data model the offline runner has: the row command says so
            with pytest.raises(NotColumnar):
                col_tstats(_Context(runner, EventTable.from_events(events)), args, pl.DataFrame())
            continue
        _compare(runner, events, args, must_be_columnar=True)


def test_scenarios_exercise_the_data_models(runner):
    """At least one scenario has Network_Traffic members (else the differential proves little)."""
    events, _ = runner.read_files([str(SAMPLES / "x8_cim_network_c2")])
    row, col = _compare(runner, events, "count from datamodel=Network_Traffic.All_Traffic by All_Traffic.src",
                        must_be_columnar=True)
    assert row[0] == "rows" and row[1]


@pytest.fixture(scope="module")
def zeek_events(tmp_path_factory, runner):
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path_factory.mktemp("zeek")), 4000, hosts=200, n_beacons=3)
    events, _ = runner.read_files(paths)
    return events


def test_saved_search_tstats_over_generated_zeek(runner, zeek_events):
    nonempty = 0
    for args in _tstats_queries(runner):
        if "datamodel=Risk" in args:
            continue
        row, _ = _compare(runner, zeek_events, args, must_be_columnar=True)
        nonempty += bool(row[0] == "rows" and row[1])
    by = "count sum(All_Traffic.bytes) AS b from datamodel=Network_Traffic by All_Traffic.dest_port _time span=10m"
    row, _ = _compare(runner, zeek_events, by, must_be_columnar=True)
    assert row[0] == "rows" and row[1]
    dns = "count dc(DNS.query) AS q from datamodel=Network_Resolution.DNS by DNS.src"
    row, _ = _compare(runner, zeek_events, dns, must_be_columnar=True)
    assert row[0] == "rows" and row[1]


def test_reads_straight_from_reader_frames(runner, zeek_events, tmp_path):
    """The hunt's table (Runner.read_table: Zeek logs parsed by polars) gives the row answer too."""
    import offline_scale
    paths, _ = offline_scale.generate(str(tmp_path), 1500, hosts=50, n_beacons=2)
    table, _ = runner.read_table(paths)
    events, _ = runner.read_files(paths)
    args = ("count sum(All_Traffic.bytes_out) AS o sum(All_Traffic.bytes) AS b max(All_Traffic.duration) AS d "
            "min(_time) AS f from datamodel=Network_Traffic.All_Traffic by All_Traffic.src All_Traffic.dest_port")
    row = shown(cmd_tstats(_Context(runner, events), args, []))
    col = shown(rows_from_frame(col_tstats(_Context(runner, table), args, pl.DataFrame())))
    assert row and col == row


# ---------------------------------------------------------------------------- fuzz

_TAGS = [["network", "communicate"], ["network", "resolution", "dns"], ["process", "report"], ["web"],
         ["web", "proxy", "network", "communicate"], "network", ["dns"], None]
_SOURCETYPES = ["fw", "zeek", "proxy", None, "dns"]
_FIELDS = ["src", "dest", "dest_port", "transport", "app", "action", "bytes", "bytes_in", "bytes_out",
           "duration", "query", "process_name", "user", "url_domain", "status"]
_TEXTS = ["a", "b", "10.0.0.1", "443", "53", "tcp", "udp", "blocked", "allowed", "", "1.5", "1e3", "x y",
          ["a", "b"], ["443", "80"], ["a"], "nan", "0.30000000000000004", "-2", "9007199254740993", "-0", " 12 ",
          "1e400", "\u0661\u0662", "0x1F", "+7", ".5", "5."]
_NUMBERS = [0, -0.0, 1, 7, 2.5, 0.1, 0.2, 1234567, -3, 1e300, 3.3, 2 ** 52 + 1, 4503599627370497.5]
_AGGS = ["count", "count(All_Traffic.dest)", "dc(All_Traffic.dest) AS d", "sum(All_Traffic.bytes) AS b",
         "sum(All_Traffic.bytes_in) AS bi", "avg(All_Traffic.duration) AS a", "max(All_Traffic.bytes_out) AS mo",
         "min(_time) AS f", "max(_time) AS l", "values(All_Traffic.app) AS app", "values(sourcetype) AS st",
         "list(All_Traffic.transport) AS t", "dc(source) AS s", "sum(DNS.bytes) AS db", "count(DNS.query) AS q",
         "values(Web.url_domain) AS u", "median(All_Traffic.duration) AS med"]
_MODELS = ["Network_Traffic", "Network_Traffic.All_Traffic", "Network_Resolution.DNS", "Web.Web",
           "Endpoint.Processes", "Web"]
_BYS = ["", "by All_Traffic.src", "by All_Traffic.dest_port All_Traffic.transport", "by sourcetype",
        "by _time span=1h", "by All_Traffic.src _time span=30m", "by DNS.query", "by Web.src Web.status",
        "by All_Traffic.app", "by host"]
_WHERES = ["", 'where All_Traffic.action!="blocked"', "where All_Traffic.dest_port=443",
           "where NOT sourcetype=fw", 'where All_Traffic.src="a*"', "where DNS.query=*", "where tcp",
           "where (nodename = All_Traffic) All_Traffic.transport=udp",
           'where NOT (sourcetype="f*" OR sourcetype=zz) All_Traffic.dest_port=443',
           "where sourcetype=fw OR All_Traffic.transport=udp"]


def _fuzz_events(rng, n):
    out = []
    for _ in range(n):
        ev = {"_time": rng.choice([rng.randrange(0, 10 ** 5), rng.random() * 10 ** 5, None])}
        tag = rng.choice(_TAGS)
        if tag is not None:
            ev["tag"] = tag
        st = rng.choice(_SOURCETYPES)
        if st is not None:
            ev["sourcetype"] = st
        ev["host"] = rng.choice(["h1", "h2"])
        for field in rng.sample(_FIELDS, rng.randrange(0, 8)):
            # a sourcetype's field holds one kind of value (as readers give them), now and
            # then another kind (a column mixing strings and numbers: the row command runs)
            numeric = (len(field) + len(st or "")) % 2 == 0
            if rng.random() < 0.01:
                numeric = not numeric
            ev[field] = rng.choice(_NUMBERS if numeric else _TEXTS)
        out.append({k: v for k, v in ev.items() if v is not None})
    out.sort(key=lambda e: -(e.get("_time") or 0))
    return out


def _fuzz_query(rng):
    head = " ".join(rng.sample(_AGGS, rng.randrange(1, 4)))
    opts = rng.choice(["", "summariesonly=true ", 'fillnull_value="-" ', "summariesonly=false fillnull_value=NA "])
    return "%s%s from datamodel=%s %s %s" % (opts, head, rng.choice(_MODELS), rng.choice(_WHERES), rng.choice(_BYS))


@pytest.mark.parametrize("seed", range(6))
def test_fuzzed_events_and_queries(runner, seed):
    rng = random.Random(seed)
    columnar = 0
    for _ in range(25):
        events = _fuzz_events(rng, rng.randrange(0, 60))
        args = _fuzz_query(rng)
        _, col = _compare(runner, events, args, must_be_columnar=False)
        columnar += col is not None
    assert columnar >= 10  # most of the corpus runs on columns (mixed kinds in a column: rows)


@pytest.mark.parametrize("args", [
    "count from datamodel=Network_Traffic where All_Traffic.x=( by All_Traffic.src",
    "count from datamodel=Network_Traffic by All_Traffic.src span=1h",
    "count from datamodel=Network_Traffic by _time span=banana",
    "bogus(x) from datamodel=Network_Traffic",
    "prestats=true count from datamodel=Network_Traffic",
    "count datamodel=Network_Traffic",
])
def test_errors_are_the_row_commands(runner, args):
    events = _fuzz_events(random.Random(1), 20)
    row, col = _compare(runner, events, args, must_be_columnar=False)
    assert row[0] == "error"


def test_numbers_are_to_number_of_each_value():
    """_numbers parses a text column natively (declining past 2**53) and reads a number
    column as is, each as ``to_number(value) or 0`` adds it (a zero of either sign is 0)."""
    import math

    from c2hunt_offline.columnar import tstats
    from c2hunt_offline.values import to_number

    texts = ["1", "-0", "-0.0", " 12 ", "1e3", ".5", "5.", "+7", "0x1F", "nan", "abc", "", None, "\u0661", "3.25"]
    numbers = [0.0, -0.0, 1.5, float("nan"), None, 1e300, -2.0]
    for values, dtype in ((texts, pl.String), (numbers, pl.Float64)):
        got = tstats._numbers(pl.DataFrame({"b": pl.Series(values, dtype=dtype)}), "b").to_list()
        for value, number in zip(values, got):
            expected = to_number(value)
            if expected is None:
                assert number is None, value
            else:
                assert number == float(expected), value
                assert number != 0 or math.copysign(1.0, number) == 1.0, value


def test_member_mask_per_distinct_tag_set_and_kept_per_partition():
    from c2hunt_offline.columnar import tstats

    frame = pl.DataFrame({"tag": pl.Series([["network", "communicate"], ["dns"], None, ["network", "communicate"],
                                            ["web", "network"]], dtype=pl.List(pl.String))})
    member = lambda tags: "network" in tags  # noqa: E731
    first = tstats._member_mask(frame, member).to_list()
    assert first == [True, False, False, True, True]
    assert tstats._member_mask(frame, member).to_list() == first
    assert tstats._member_mask(frame, lambda tags: not tags).to_list() == [False, False, True, False, False]
    other = pl.DataFrame({"tag": ["dns", "network", None]})
    assert tstats._member_mask(other, member).to_list() == [False, True, False]
