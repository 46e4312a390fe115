"""The offline engines give exactly what the per-row reference gives.

``C2HUNT_ENGINE=row`` evaluates every eval/where expression on every row and tries every
lookup row; ``memo`` memoises expressions per distinct tuple of the fields they read and
looks lookups up through indexes (exact keys hashed, CIDR rows in prefix-length tables,
wildcards compiled once); ``col`` (the default) runs pipelines on polars columns, falling
back to rows for what has no columnar version. Compared here, on the formatted values (an
integral 6.0 and 6 are the same value to the user): every scenario of samples/ and a
generated Zeek workload (the scale benchmark's generator) through every correlation search,
a seeded fuzz corpus of search pipelines, and one of events, expressions and lookup tables.
"""
import csv
import ipaddress
import random
from pathlib import Path

import pytest

from c2hunt_offline.engine import Runner
from c2hunt_offline.evalexpr import Expression, result_value
from c2hunt_offline.lookups import LookupTable
from c2hunt_offline.values import SplError
from support import shown_value

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SCENARIOS = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())


FAST_ENGINES = ["col", "memo"]


def shown(value):
    """A value as the user sees it: numbers formatted (6.0 and 6 alike), lists kept, dicts
    in key order (a frame has one column order, while each row dict keeps the order its
    fields were added in, so the order of fields is not compared)."""
    if isinstance(value, dict):
        return {k: shown(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [shown(v) for v in value]
    return shown_value(value)


def _use(monkeypatch, engine):
    if engine == "col":
        monkeypatch.delenv("C2HUNT_ENGINE", raising=False)  # the default
    else:
        monkeypatch.setenv("C2HUNT_ENGINE", engine)


_REFERENCE = {}  # the row engine's notables per input, computed once for both fast engines


def _notables(folder_or_files, monkeypatch, engine):
    key = tuple(str(f) for f in folder_or_files)
    if engine == "row" and key in _REFERENCE:
        return _REFERENCE[key]
    _use(monkeypatch, engine)
    runner = Runner(str(ROOT))
    events, _ = runner.read_files([str(f) for f in folder_or_files])
    notables, errors = runner.hunt(events)
    result = sorted((repr(sorted(shown(n.as_dict()).items())) for n in notables)), errors
    if engine == "row":
        _REFERENCE[key] = result
    return result


@pytest.mark.parametrize("engine", FAST_ENGINES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_notables_identical_to_the_row_engine(scenario, engine, monkeypatch):
    row = _notables([SAMPLES / scenario], monkeypatch, "row")
    fast = _notables([SAMPLES / scenario], monkeypatch, engine)
    assert fast == row


@pytest.fixture(scope="module")
def zeek_workload(tmp_path_factory):
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path_factory.mktemp("zeek")), 6000, hosts=300, n_beacons=3)
    return paths


@pytest.mark.parametrize("engine", FAST_ENGINES)
def test_generated_zeek_workload_identical_to_the_row_engine(zeek_workload, engine, monkeypatch):
    """Thousands of rows: the memo fills, gives up on high-cardinality inputs, the lookup
    indexes see many distinct addresses, the columns hold many distinct values."""
    row = _notables(zeek_workload, monkeypatch, "row")
    fast = _notables(zeek_workload, monkeypatch, engine)
    assert not fast[1]
    assert fast == row
    assert any("Periodic Beaconing" in n for n in fast[0])


# ---------------------------------------------------------------------------- fuzz corpus

_FIELDS = ["a", "b", "c", "n", "m"]
_VALUES = ["1", "2", "10", "1.0", "0", "-3", "x", "X", "abc", "10.0.0.1", "192.168.1.7", " 7 ",
           "", "1e3", "tcp", "TCP", 1, 2, 1.0, 2.5, 0, -1, ["1", "2"], ["x", "y", "x"], ["a"]]
_LEAVES = ["a", "b", "c", "n", "m", "1", "2.5", '"x"', '"1"', '"tcp"', "null()", "0"]
_UNARY = ["lower({})", "upper({})", "len({})", "tonumber({})", "isnull({})", "isnotnull({})",
          "mvcount({})", "round({})", "abs({})", "trim({})", "typeof({})", "isnum({})",
          "mvindex({}, 0)", "coalesce({}, \"d\")", "tostring({})", "mvdedup({})"]
_BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / {}", "{} . {}", "{} % {}", "if({} > {}, 1, 0)",
           "if({} == {}, \"eq\", \"ne\")", "if({} < {}, \"lt\", null())", "max({}, {})",
           "min({}, {})", "mvappend({}, {})", "coalesce({}, {})", "case({} != {}, 1, true(), 2)",
           "if(match({}, \"^[0-9]+$\") AND isnotnull({}), 1, 0)", "if(like({}, \"%c%\") OR {} >= 2, 1, 0)"]


def _expression(rng, depth=0):
    if depth > 3 or rng.random() < 0.25:
        return rng.choice(_LEAVES)
    if rng.random() < 0.4:
        return rng.choice(_UNARY).format(_expression(rng, depth + 1))
    return rng.choice(_BINARY).format(_expression(rng, depth + 1), _expression(rng, depth + 1))


def _events(rng, n):
    out = []
    for _ in range(n):
        ev = {}
        for field in _FIELDS:
            if rng.random() < 0.85:
                ev[field] = rng.choice(_VALUES)
        out.append(ev)
    return out


def _outcomes(text, events):
    """Each event's result (or the error it raised) of one expression."""
    expr = Expression(text, kind="value")
    out = []
    for ev in events:
        try:
            out.append(("ok", repr(result_value(expr(dict(ev))))))
        except SplError as exc:
            out.append(("error", str(exc)))
    return out


def test_fuzz_expressions_identical_with_and_without_the_memo(monkeypatch):
    rng = random.Random(20261206)
    events = _events(rng, 3000)  # values repeat: the memo is used and must stay right
    compared = 0
    for _ in range(250):
        text = _expression(rng)
        try:
            Expression(text, kind="value")
        except SplError:
            continue  # a boolean result or a type error: refused before any row, both ways
        monkeypatch.setenv("C2HUNT_ENGINE", "row")
        reference = _outcomes(text, events)
        monkeypatch.delenv("C2HUNT_ENGINE")
        assert _outcomes(text, events) == reference, text
        compared += 1
    assert compared > 100


def test_memo_keeps_numbers_and_strings_apart():
    """``1``, ``1.0``, ``"1"`` and ``["1"]`` are one or two dict keys in Python but may differ
    to eval: each gives what a fresh expression (an empty memo) gives."""
    text = "typeof(a) . \":\" . a . \":\" . mvcount(a) . \":\" . if(a==\"1\", \"eq\", \"ne\")"
    values = (1, 1.0, "1", "1.0", ["1"], True, 1, "1", 1.0)
    shared = Expression(text, kind="value")
    assert [shared({"a": v}) for v in values] == [Expression(text, kind="value")({"a": v}) for v in values]


def test_memo_returns_a_fresh_multivalue_each_time():
    expr = Expression("mvappend(a, \"z\")", kind="value")
    first = expr({"a": "q"})
    first.append("mutated")
    assert expr({"a": "q"}) == ["q", "z"]


def _random_cidr(rng, version):
    if version == 4:
        prefix = rng.choice([8, 12, 16, 24, 28, 32, 0])
        address = ipaddress.IPv4Address(rng.choice(["10.0.0.0", "10.1.2.3", "192.168.1.0", "172.16.5.5",
                                                    "8.8.8.8", "0.0.0.0"]))
    else:
        prefix = rng.choice([0, 32, 48, 64, 128])
        address = ipaddress.IPv6Address(rng.choice(["2001:db8::", "fe80::1", "::1", "2001:db8:1::5"]))
    return str(ipaddress.ip_network("%s/%d" % (address, prefix), strict=False))


def test_fuzz_lookups_identical_to_scanning_every_row(monkeypatch):
    rng = random.Random(17)
    matched = 0
    for case in range(40):
        rows = []
        for _ in range(rng.randrange(1, 25)):
            rows.append({
                "net": rng.choice([_random_cidr(rng, 4), _random_cidr(rng, 6), "not-a-net", ""]),
                "name": rng.choice(["ssh", "SSH", "ssl", "*sh", "s*", "*", "http", "dns"]),
                "port": rng.choice(["22", "443", "53", "8080", "*"]),
                "out": "row%d" % len(rows)})
        options = dict(match_types={"net": "CIDR", "name": "WILDCARD"},
                       case_sensitive=rng.random() < 0.5, max_matches=rng.choice([1, 3, 100]))
        queries = []
        for _ in range(200):
            columns = rng.sample(["net", "name", "port"], rng.randrange(1, 4))
            values = []
            for column in columns:
                pool = {"net": ["10.1.2.3", "10.0.0.9", "192.168.1.200", "8.8.8.8", "2001:db8::7",
                                "::1", "fe80::1%eth0", "::ffff:10.1.2.3", "nonsense", " 10.1.2.3 "],
                        "name": ["ssh", "SSH", "bash", "ssl", "http", "x"],
                        "port": ["22", "443", "53", "9999"]}[column]
                values.append(rng.choice(pool) if rng.random() < 0.8 else rng.sample(pool, 2))
            queries.append((columns, values))
        monkeypatch.setenv("C2HUNT_ENGINE", "row")
        scan = LookupTable("t", "t.csv", ["net", "name", "port", "out"], rows, **options)
        monkeypatch.delenv("C2HUNT_ENGINE")
        indexed = LookupTable("t", "t.csv", ["net", "name", "port", "out"], rows, **options)
        assert not scan._indexed and indexed._indexed
        reference = [[r["out"] for r in scan.match(c, vals)] for c, vals in queries]
        fast = [[r["out"] for r in indexed.match(c, vals)] for c, vals in queries]
        assert fast == reference, case
        matched += sum(1 for found in reference if found)
    assert matched > 1000  # the corpus does find rows, not only misses


def test_cidr_lookup_of_the_shipped_internal_networks():
    """The app's own CIDR lookup through the index: nested networks and IPv6 both match."""
    with open(ROOT / "lookups" / "c2hunt_internal_networks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    table = LookupTable("n", "n.csv", list(rows[0]), rows, match_types={"cidr": "CIDR"})
    for address in ("10.20.1.11", "192.168.0.1", "172.16.0.1", "8.8.8.8", "fd00::1", "2001:4860::1"):
        expected = [r for r in rows if ipaddress.ip_address(address) in ipaddress.ip_network(r["cidr"], strict=False)]
        assert table.match(["cidr"], [address]) == expected[:table.max_matches]


# ---------------------------------------------------------------------------- search pipelines

_SOURCETYPES = ["bro:conn:json", "bro:dns:json", "XmlWinEventLog:Security", "c2hunt:flow", "", None]
_PIPE_VALUES = ["tcp", "TCP", "udp", "10.0.0.1", "10.0.0.12", "192.168.1.7", "22", "443", "22.0", " 22 ",
                "1e3", "", "x y", "C:\\Temp\\a.exe", "a*b", ["tcp", "udp"], ["1", "2"], 22, 443.0, 0.5, -1]
_RAWS = ["user=alice port=22 action=allowed", "GET /index.html HTTP/1.1 host=evil.com",
         "cmd.exe /c whoami", "nodns.exe lookup", "ALICE logged in from 10.0.0.1"]


def _pipeline_events(rng, n):
    events = []
    for i in range(n):
        ev = {}
        st = rng.choice(_SOURCETYPES)
        if st is not None:
            ev["sourcetype"] = st
        if rng.random() < 0.9:
            ev["_time"] = rng.choice([1700000000.0 + rng.randrange(0, 7200), str(1700000000 + rng.randrange(0, 7200)),
                                      1700000000 + rng.randrange(0, 7200)])
        if rng.random() < 0.8:
            ev["index"] = rng.choice(["main", "main", "netfw", "_internal"])
        if rng.random() < 0.7:
            ev["_raw"] = rng.choice(_RAWS)
        for field in ("transport", "dest", "dest_port", "n", "tag"):
            if rng.random() < 0.75:
                ev[field] = rng.choice(_PIPE_VALUES)
        events.append(ev)
    events.sort(key=lambda e: -(float(e["_time"]) if "_time" in e else 0))
    return events


_PATTERNS = ["tcp", "TCP", "t*", "*p", "10.0.0.*", "22", "22.0", "443", "1000", '"x y"', '"C:\\\\Temp\\\\a.exe"',
             "*", '""', "a*b", "*.exe"]


def _term(rng, depth=0):
    roll = rng.random()
    field = rng.choice(["transport", "dest", "dest_port", "n", "tag", "missing"])
    if depth < 2 and roll < 0.12:
        return "(%s OR %s)" % (_term(rng, depth + 1), _term(rng, depth + 1))
    if depth < 2 and roll < 0.2:
        return "NOT " + _term(rng, depth + 1)
    if roll < 0.3:
        return "%s IN (%s)" % (field, ", ".join(rng.sample(_PATTERNS, rng.randrange(1, 4))))
    if roll < 0.4:
        return "%s%s%s" % (field, rng.choice(["<", ">", "<=", ">="]), rng.choice(["22", "100", "a", "10.0.0.5"]))
    if roll < 0.47:
        return rng.choice(["sourcetype=bro:conn:json", 'sourcetype="bro:*"', "sourcetype!=c2hunt:flow",
                           "sourcetype=*Security", 'NOT sourcetype="bro:dns:json"'])
    if roll < 0.53:
        return rng.choice(["index=main", "index=*", "index=net*", "index IN (main, netfw)"])
    if roll < 0.58:
        return rng.choice(["earliest=-30m", "latest=-1h", "earliest=-1h@h", "earliest=0"])
    if roll < 0.66:
        return rng.choice(["alice", "evil.com", "cmd*", "dns", "10.0.0.1", '"logged in"'])
    return "%s%s%s" % (field, rng.choice(["=", "=", "!="]), rng.choice(_PATTERNS))


_LATER = ["fields transport dest n", "fields - tag", "fields + dest*", "table dest_port transport *", "table n",
          "rename transport AS proto", "rename dest* AS d_*", "rename missing AS n", "fillnull",
          "fillnull value=none tag n", "head 7", "head", "tail 3", "tail", "rex \"user=(?<who>\\w+)\"",
          "rex field=dest \"(?<o1>\\d+)\\.(?<o2>\\d+)\"", "rex field=tag max_match=0 \"(?<digit>\\d)\"",
          "rex field=_raw mode=sed \"s/alice/ALICE/g\"", "mvexpand tag", "mvexpand transport limit=1",
          "search transport=udp OR n>0", "search NOT dest=10.*", "eval k=len(dest)", "where isnotnull(n)",
          "stats count by transport", "sort - _time", "dedup transport", "rename proto AS transport",
          "table", "head x", "rex \"(no group)\"", "mvexpand", "fields", "rename a"]


def _run(spl, events, monkeypatch, engine):
    _use(monkeypatch, engine)
    try:
        result = Runner(str(ROOT)).run(spl, events)
    except SplError as exc:
        return ("error", str(exc))
    return ("ok", [shown(r) for r in result.rows], result.columns, result.messages)


def test_fuzz_search_pipelines_identical_to_the_row_engine(monkeypatch):
    """First segments with wildcards, IN, NOT, OR, comparisons, selectors and bare terms over
    several sourcetypes (partitions), then shaping commands and commands that fall back to
    rows: the same rows in the same order, columns, messages or error text."""
    rng = random.Random(1717)
    events = _pipeline_events(rng, 400)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(150):
        first = " ".join(_term(rng) for _ in range(rng.randrange(1, 4)))
        spl = " | ".join([first] + [rng.choice(_LATER) for _ in range(rng.randrange(0, 4))])
        reference = _run(spl, events, monkeypatch, "row")
        for engine in FAST_ENGINES:
            assert _run(spl, events, monkeypatch, engine) == reference, (engine, spl)
        outcomes[reference[0]] += 1
    assert outcomes["ok"] > 100 and outcomes["error"] > 3


# ---------------------------------------------------------------------------- event table

def test_event_table_from_frames_orders_as_the_row_engine():
    """Reader frames in any order give the events newest first, ties in reading order, each
    partition's rows and fields as from_events gives them."""
    from c2hunt_offline.columnar.events import EventTable
    from c2hunt_offline.columnar.table import frame_from_rows, rows_from_frame

    rng = random.Random(5)
    files = []
    for _ in range(4):
        rows = [{"sourcetype": rng.choice(["a", "b"]), "_time": float(rng.randrange(0, 50)), "x": str(i)}
                for i in range(rng.randrange(1, 30))]
        files.append(rows)
    events = [ev for rows in files for ev in rows]
    events.sort(key=lambda e: -e["_time"])  # stable, as Runner.read_files sorts
    table = EventTable.from_frames([frame_from_rows(rows) for rows in files])
    assert [shown(r) for r in rows_from_frame(table.frame())] == [shown(e) for e in events]
    reference = EventTable.from_events(events)
    assert set(table.partitions) == set(reference.partitions) == {"a", "b"}
    for key in table.partitions:
        assert table.partitions[key].equals(reference.partitions[key]), key


def test_merged_order_keeps_every_layouts_order():
    from c2hunt_offline.columnar.events import merged_order

    assert merged_order([("a", "c"), ("a", "b", "c"), ("b", "d"), ("a", "e")]) == ["a", "b", "c", "d", "e"]
    assert merged_order([("x", "y"), ("y", "x")]) == ["x", "y"]  # disagreeing layouts: first seen wins


def test_first_segment_reads_only_the_partitions_it_can_match(monkeypatch):
    """A search naming sourcetypes evaluates its terms on those partitions only."""
    from c2hunt_offline.columnar import search
    from c2hunt_offline.columnar.events import EventTable

    events = [{"sourcetype": "conn", "dest_port": "22", "_time": 3.0},
              {"sourcetype": "dns", "dest_port": "22", "_time": 2.0},
              {"sourcetype": "conn", "dest_port": "443", "_time": 1.0},
              {"dest_port": "22", "_time": 0.5}]
    table = EventTable.from_events(events)
    looked_at = []
    leaf_mask = search._leaf_mask

    def spy(node, frame, now):
        looked_at.append(frame.get_column("sourcetype").to_list() if "sourcetype" in frame.columns else None)
        return leaf_mask(node, frame, now)
    monkeypatch.setattr(search, "_leaf_mask", spy)
    frame = search.first_segment('index=* (sourcetype="conn" OR sourcetype=other) dest_port=22', table, 10.0)
    assert frame.get_column("_time").to_list() == [3.0]
    assert all(seen is None or set(seen) == {"conn"} for seen in looked_at)
    assert None in looked_at  # the partition without a sourcetype is searched in full


def test_bare_terms_over_raw_match_the_row_predicate():
    """A bare term over a full _raw column is looked for natively first (its literal pieces,
    case aside, on ASCII text) and confirmed per distinct value: the same rows as the row
    predicate, with mixed case, breakers, wildcards, and text Python folds beyond ASCII
    (the Kelvin sign, long s, dotted and dotless i) on either side."""
    from c2hunt_offline.columnar import search
    from c2hunt_offline.columnar.table import frame_from_rows
    from c2hunt_offline.searchexpr import SearchExpression

    rng = random.Random("bare-terms")
    words = ["onion", "ONION", "Onion", "onions", "x.onion", "oni0n", "stage", "staging", "STAGE2", "\u212aey",
             "key", "KEY", "\u017ftage", "stage\u017f", "\u0130ndex", "\u0131ndex", "index", "a=b", "evil.com",
             "evil-com", "\u00e9t\u00e9", "\u00c9T\u00c9", '"quoted"', "[bracket]", ""]
    raws = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 4))) for _ in range(500)]
    frame = frame_from_rows([{"_raw": raw, "n": i} for i, raw in enumerate(raws)])
    terms = ["onion", "ONION", "stage", "st*e", "*age", "key", "\u212aey", "index", "\u0131ndex", "evil.com",
             "\u00e9t\u00e9", "on*on", "a=b", "quoted", "bracket", "nothing"]
    narrowed = 0
    for term in terms:
        expression = SearchExpression(term)
        expected = [i for i, raw in enumerate(raws) if expression({"_raw": raw})]
        got = search.filter_frame(expression, frame).get_column("n").to_list()
        assert got == expected, term
        candidates = search._term_candidates(expression.tree, frame.get_column("_raw"))
        narrowed += candidates is not None and candidates.sum() < len(raws)
    assert narrowed >= 8


def test_custom_commands_fed_from_columns_identical_to_rows(monkeypatch):
    """c2entropy and c2asym straight after the first segment (records built from the
    frame's columns), then shaping on their replies."""
    rng = random.Random(9)
    events = []
    for i in range(300):
        events.append({"sourcetype": "t", "_time": 1700000000.0 - i, "query": rng.choice(
            ["www.example.com", "a%x.tunnel.example" % rng.randrange(10 ** 12), "xk2j4h5.example.net"]),
            "bytes_out": rng.choice(["10", "5000", "120000", 7.5, ""]), "bytes_in": str(rng.randrange(0, 9000)),
            "tag": rng.choice([["a", "b"], "c"])})
    for spl in ("sourcetype=t | c2entropy field=query mode=dns | table query *entropy* | head 50",
                "sourcetype=t | c2asym out=bytes_out in=bytes_in threshold=0.5 min_bytes=100 | fields - tag | tail 20"):
        reference = _run(spl, events, monkeypatch, "row")
        assert reference[0] == "ok" and reference[1], reference
        assert _run(spl, events, monkeypatch, "col") == reference, spl
