"""The columnar lookup, inputlookup and outputlookup give exactly what the row commands give:
a seeded fuzz corpus of lookup tables (exact, CIDR over IPv4 and IPv6, wildcard, case-insensitive,
max_matches, min_matches with default_match) and rows (addresses, names in mixed case,
multivalue inputs, numbers, nulls, fields the lookup overwrites), with OUTPUT and OUTPUTNEW.
The app's own lookup clauses are compared in test_columnar_stats.py (saved-search corpus)."""
import copy
import csv
import random
from pathlib import Path

import polars as pl
import pytest

from c2hunt_offline import commands as row_commands
from c2hunt_offline.columnar import NotColumnar, frame_from_rows, rows_from_frame
from c2hunt_offline.columnar import lookup as col_lookup
from c2hunt_offline.columnar.lookup import COLUMNAR_COMMANDS
from c2hunt_offline.engine import Runner, _Context
from c2hunt_offline.lookups import Lookups
from c2hunt_offline.values import SplError
from support import shown_value

ROOT = Path(__file__).resolve().parents[2]


def _seen(rows):
    return [{k: shown_value(v) for k, v in r.items()}
            for r in rows]


def _differential(row_ctx, col_ctx, name, args, rows):
    try:
        expected = ("rows", _seen(row_commands.COMMANDS[name](row_ctx, args, copy.deepcopy(rows))))
    except SplError as exc:
        expected = ("error", str(exc))
    try:
        got = ("rows", _seen(rows_from_frame(COLUMNAR_COMMANDS[name](col_ctx, args, frame_from_rows(rows)))))
    except NotColumnar as exc:
        if isinstance(exc.__context__, pl.exceptions.PolarsError):  # a defect, not a refusal
            return "%s %s: %s" % (name, args, exc)
        return "refused"
    except SplError as exc:
        got = ("error", str(exc))
    if expected != got:
        return "%s %s: row %s != columnar %s" % (name, args, str(expected)[:500], str(got)[:500])
    return "same"


_KEYS = ["alpha", "Alpha", "ALPHA", "beta", "gamma", "", "10", "7"]
_NETS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "192.168.1.0/24", "0.0.0.0/0", "::1/128",
         "2001:db8::/32", "fe80::/10", "not-a-net", ""]
_PATTERNS = ["*.example.com", "evil*", "EVIL*", "x", "*", "*ph*", "10.*", ""]
_EVENT_VALUES = ["alpha", "ALPHA", "beta", "delta", "10.1.2.3", "10.9.9.9", "192.168.1.50", "8.8.8.8",
                 "::1", "2001:db8::5", "fe80::1", "www.example.com", "evilcorp", "EVILCORP", "x",
                 "", " 10.1.2.3", "10", "7"]


def _write_table(folder, name, rng):
    rows = []
    for _ in range(rng.randint(1, 14)):
        rows.append([rng.choice(_KEYS), rng.choice(_NETS), rng.choice(_PATTERNS),
                     rng.choice(["o1", "o2", "shared", "", "Zed"]), rng.choice(["p", "q", "", "r"])])
    with open(folder / (name + ".csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "net", "pat", "out1", "out2"])
        writer.writerows(rows)
    stanza = {"filename": name + ".csv", "match_type": "CIDR(net), WILDCARD(pat)",
              "case_sensitive_match": rng.choice(["true", "false"]),
              "max_matches": rng.choice(["1", "2", "100"])}
    if rng.random() < 0.3:
        stanza.update(min_matches="1", default_match=rng.choice(["none", "unknown"]))
    return stanza


def _event_rows(rng, n):
    rows = []
    for _ in range(n):
        row = {}
        if rng.random() < 0.85:
            row["s"] = rng.choice(_EVENT_VALUES)
        if rng.random() < 0.7:
            row["m"] = rng.sample(_EVENT_VALUES, rng.randint(2, 3)) if rng.random() < 0.4 \
                else rng.choice(_EVENT_VALUES)
        if rng.random() < 0.6:
            row["n"] = rng.choice([10, 7, 1.5, 0])
        if rng.random() < 0.5:
            row["o"] = rng.choice(["kept", "old"])
        rows.append(row)
    return rows


def _clause(rng, table):
    inputs = rng.sample([("key", "s"), ("net", "s"), ("pat", "s"), ("key", "m"), ("net", "m"),
                         ("pat", "m"), ("key", "n"), ("key", "missing")], rng.randint(1, 2))
    if len({c for c, _ in inputs}) < len(inputs):
        inputs = inputs[:1]
    text = " ".join(c if c == f else "%s AS %s" % (c, f) for c, f in inputs)
    outputs = rng.choice(["", "OUTPUT out1", "OUTPUTNEW out1", "OUTPUT out1 AS o out2",
                          "OUTPUTNEW out1 AS o", "OUTPUT out2 AS o out1 AS o", "OUTPUTNEW out1 AS o out2 AS o",
                          "OUTPUT out1 AS s", "OUTPUTNEW out2 AS n", "OUTPUT out1 AS n", "OUTPUTNEW"])
    return "%s %s %s" % (table, text, outputs)


@pytest.fixture
def lookup_contexts(tmp_path):
    """A row context and a columnar context sharing one Lookups over fuzzed tables."""
    runner = Runner(str(ROOT))
    app = tmp_path / "app"
    (app / "lookups").mkdir(parents=True)
    rng = random.Random("columnar-lookup-tables")
    transforms = {"fuzz%d" % i: _write_table(app / "lookups", "fuzz%d" % i, rng) for i in range(12)}
    lookups = Lookups(str(app), transforms, str(tmp_path / "written"))

    def contexts():
        row_ctx, col_ctx = _Context(runner, []), _Context(runner, [])
        row_ctx.lookups = col_ctx.lookups = lookups
        return row_ctx, col_ctx
    return contexts, sorted(transforms)


def test_fuzz_corpus_lookup_matches_the_row_command(lookup_contexts):
    contexts, tables = lookup_contexts
    rng = random.Random("columnar-lookup")
    outcomes = []
    for _ in range(400):
        rows = _event_rows(rng, rng.choice([0, 1, 5, 30]))
        outcomes.append(_differential(*contexts(), "lookup", _clause(rng, rng.choice(tables)), rows))
    differences = [o for o in outcomes if o not in ("same", "refused")]
    assert not differences, differences[:3]
    assert outcomes.count("same") >= len(outcomes) * 0.8, outcomes.count("refused")


def test_lookup_on_many_rows_matches_in_bulk(lookup_contexts):
    contexts, tables = lookup_contexts
    rows = _event_rows(random.Random(7), 5000)
    row_ctx, col_ctx = contexts()
    table = col_ctx.lookups.get(tables[0])
    calls = []
    match = table.match
    table.match = lambda columns, values: calls.append(values) or match(columns, values)
    try:
        COLUMNAR_COMMANDS["lookup"](col_ctx, "%s net AS s OUTPUT out1" % tables[0], frame_from_rows(rows))
    finally:
        del table.match
    assert calls == []  # matched in bulk: joins and masked network joins, no per-value call
    assert _differential(row_ctx, col_ctx, "lookup", "%s net AS s, key AS m OUTPUTNEW out1 AS o" % tables[0],
                         rows) == "same"


def test_three_input_lookups_match_the_row_command_whatever_column_decides_first(lookup_contexts):
    """The bulk matcher tries exact columns first, then patterns, then networks, each on the
    tuples still matching: the order of the clause and an early empty match change nothing."""
    contexts, tables = lookup_contexts
    rng = random.Random("columnar-lookup-three")
    outcomes = []
    for _ in range(60):
        rows = _event_rows(rng, rng.choice([5, 40]))
        inputs = [("net", "s"), ("key", "m"), ("pat", rng.choice(["s", "m"]))]
        rng.shuffle(inputs)
        clause = "%s %s OUTPUT out1 AS o out2" % (rng.choice(tables), " ".join("%s AS %s" % c for c in inputs))
        outcomes.append(_differential(*contexts(), "lookup", clause, rows))
    assert [o for o in outcomes if o not in ("same", "refused")] == []
    assert outcomes.count("same") >= 50


def test_exact_columns_narrow_the_tuples_before_any_row_pair_is_built():
    """Two exact columns (the app's service/port table, case-insensitive): tuples with a key in
    one column but not the other, in either clause order, multivalue services, mixed case."""
    runner = Runner(str(ROOT))
    rng = random.Random("exact-columns")
    services = ["http", "HTTP", "ssl", "dns", "socks", "none", "", "Ssh"]
    ports = ["80", "443", "8080", "53", "1080", "22", "9999", "", "080"]
    rows = []
    for _ in range(400):
        row = {"p": rng.choice(ports), "q": rng.choice(ports)}
        row["s"] = rng.sample(services, 2) if rng.random() < 0.3 else rng.choice(services)
        rows.append(row)
    for clause in ["service AS s dest_port AS p OUTPUT known_service_port",
                   "dest_port AS q service AS s OUTPUTNEW known_service_port AS p",
                   "dest_port AS p service AS s OUTPUT service AS matched"]:
        args = "c2hunt_known_service_ports " + clause
        assert _differential(_Context(runner, []), _Context(runner, []), "lookup", args, rows) == "same", args


def test_rows_an_exact_column_rules_out_take_the_outputs_of_no_match(tmp_path):
    """Rows whose exact-key field is missing, null, empty or not a key are set aside before
    the distinct tuples: they still get what no match gives (nothing, or default_match), in
    their places, as the row command does; a multivalue or number field rules out nothing."""
    runner = Runner(str(ROOT))
    app = tmp_path / "app"
    (app / "lookups").mkdir(parents=True)
    with open(app / "lookups" / "keys.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["key", "pat", "out"], ["alpha", "*", "o1"], ["Beta", "x*", "o2"],
                                      ["alpha", "y", "o3"], ["10", "*", "o4"]])
    rng = random.Random("ruled-out")
    rows = []
    for _ in range(300):
        row = {"s": rng.choice(["alpha", "ALPHA", "beta", "gamma", "", "10", None]), "p": rng.choice(["x1", "y", "z"])}
        if rng.random() < 0.2:
            row["m"] = rng.sample(["alpha", "beta", "delta"], 2)
        if rng.random() < 0.3:
            row["n"] = rng.choice([10, 7.5])
        rows.append({k: v for k, v in row.items() if v is not None})
    for case_sensitive in ("true", "false"):
        for extra in ({}, {"min_matches": "1", "default_match": "none"}):
            transforms = {"keys": dict({"filename": "keys.csv", "match_type": "WILDCARD(pat)",
                                        "case_sensitive_match": case_sensitive}, **extra)}
            lookups = Lookups(str(app), transforms, str(tmp_path / "written"))
            for clause in ["key AS s OUTPUT out", "key AS s pat AS p OUTPUTNEW out AS p", "key AS m OUTPUT out",
                           "key AS n pat AS p OUTPUT out", "key AS s key AS m OUTPUT out", "key AS gone OUTPUT out",
                           "key AS gone pat AS p out AS s OUTPUT out AS o", "out AS s key AS n OUTPUTNEW pat AS p"]:
                row_ctx, col_ctx = _Context(runner, []), _Context(runner, [])
                row_ctx.lookups = col_ctx.lookups = lookups
                outcome = _differential(row_ctx, col_ctx, "lookup", "keys " + clause, rows)
                assert outcome == "same", (case_sensitive, extra, clause, outcome)
    table = lookups.get("keys")
    frame = frame_from_rows(rows)
    held = col_lookup._may_match(frame, table, [("key", "s"), ("pat", "p")])
    assert 0 < held.sum() < frame.height
    assert col_lookup._may_match(frame, table, [("key", "m")]) is None


# Edges of the bulk matcher: addresses ipaddress refuses (leading zeros, octets past 255,
# padding is stripped), IPv4-mapped and scoped IPv6, nested and overlapping networks of both
# versions (file order decides, max_matches cuts), case-insensitive keys outside ASCII.
_EDGE_NETS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "0.0.0.0/0", "::/0",
              "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::1/128", "::ffff:0:0/96", "fe80::/10",
              "10.1.2.3/8", " 192.168.0.0/16 ", "garbage/33"]
_EDGE_KEYS = ["Straße", "STRASSE", "İstanbul", "istanbul", "ΟΔΟΣ", "οδος", "key", "KEY", "Key "]
_EDGE_VALUES = ["10.1.2.3", "010.1.2.3", "10.1.2.256", "10.1.2", " 10.1.2.3 ", "10.1.2.3\t", "1.2.3.4",
                "192.168.5.5", "::ffff:10.1.2.3", "2001:db8:1::1", "2001:DB8:1::1", "2001:db8:2::9",
                "fe80::1%eth0", "::", "0.0.0.0", "255.255.255.255", "straße", "strasse", "i̇stanbul",
                "İSTANBUL", "οδοσ", "ΟΔΟΣ", "key", "Key", "key ", "", "١٠.1.2.3"]


def test_bulk_matcher_edges_match_the_row_command(tmp_path):
    runner = Runner(str(ROOT))
    app = tmp_path / "app"
    (app / "lookups").mkdir(parents=True)
    rng = random.Random("bulk-lookup-edges")
    transforms = {}
    for i in range(16):
        name = "edge%d" % i
        with open(app / "lookups" / (name + ".csv"), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["net", "key", "out"])
            for n in range(rng.randint(3, 12)):
                writer.writerow([rng.choice(_EDGE_NETS), rng.choice(_EDGE_KEYS), "o%d" % n])
        transforms[name] = {"filename": name + ".csv", "match_type": "CIDR(net)",
                            "case_sensitive_match": rng.choice(["true", "false"]),
                            "max_matches": rng.choice(["1", "2", "3", "100", "0"])}
        if i % 4 == 0:
            transforms[name].update(min_matches="2", default_match="none")
    lookups = Lookups(str(app), transforms, str(tmp_path / "written"))
    outcomes = []
    for name in sorted(transforms):
        rows = [{"a": rng.choice(_EDGE_VALUES),
                 "m": rng.sample(_EDGE_VALUES, 2) if rng.random() < 0.3 else rng.choice(_EDGE_VALUES)}
                for _ in range(200)]
        for clause in ["net AS a OUTPUT out", "net AS m OUTPUT out AS o", "key AS a OUTPUT out",
                       "key AS m OUTPUTNEW out AS a", "net AS a key AS m OUTPUT out"]:
            row_ctx, col_ctx = _Context(runner, []), _Context(runner, [])
            row_ctx.lookups = col_ctx.lookups = lookups
            table = lookups.get(name)
            expected = _seen(row_commands.COMMANDS["lookup"](row_ctx, "%s %s" % (name, clause), copy.deepcopy(rows)))

            def refuse(columns, values):
                raise AssertionError("the bulk matcher fell back to per-value matching")
            table.match = refuse
            try:
                got = _seen(rows_from_frame(COLUMNAR_COMMANDS["lookup"](col_ctx, "%s %s" % (name, clause),
                                                                        frame_from_rows(rows))))
            finally:
                del table.match
            outcomes.append(expected == got or (name, clause))
    assert all(o is True for o in outcomes), [o for o in outcomes if o is not True][:3]


def test_lookup_errors_are_the_row_commands(lookup_contexts):
    contexts, tables = lookup_contexts
    for args in ["", "%s" % tables[0], "%s nosuch AS s" % tables[0], "%s key OUTPUT nosuch" % tables[0],
                 "no_such_lookup key"]:
        assert _differential(*contexts(), "lookup", args, [{"s": "x"}]) == "same", args


def test_inputlookup_and_outputlookup_match_the_row_commands(tmp_path):
    rows = [{"host": "h%d" % (i % 4), "process_name": "p%d" % (i % 3), "baselined": "1", "n": i}
            for i in range(10)] + [{"host": ["a", "b"], "baselined": "1"}]
    written = {}
    for engine in ("row", "columnar"):
        runner = Runner(str(ROOT), lookup_dir=str(tmp_path / engine))
        ctx = _Context(runner, [])
        if engine == "row":
            row_commands.COMMANDS["outputlookup"](ctx, "c2hunt_program_port_baseline", copy.deepcopy(rows))
        else:
            out = COLUMNAR_COMMANDS["outputlookup"](ctx, "c2hunt_program_port_baseline", frame_from_rows(rows))
            assert _seen(rows_from_frame(out)) == _seen(rows)
        written[engine] = (tmp_path / engine / "c2hunt_program_port_baseline.csv").read_text()
        for args in ["c2hunt_program_port_baseline", "c2hunt_program_port_baseline max=3",
                     "append=true c2hunt_program_port_baseline", "c2hunt_program_port_baseline where host=h1",
                     "c2hunt_internal_networks", "append=t c2hunt_internal_networks"]:
            for before in ([], [{"host": "x", "cidr": ["1", "2"]}], [{"n": 5}]):
                row_ctx, col_ctx = _Context(runner, []), _Context(runner, [])
                assert _differential(row_ctx, col_ctx, "inputlookup", args, before) in ("same", "refused"), args
    assert written["row"] == written["columnar"]


@pytest.mark.parametrize("filtered", [True, False])
@pytest.mark.parametrize("case_sensitive", [False, True])
def test_wildcard_pairs_equal_every_pattern_tried_on_every_value(case_sensitive, filtered, monkeypatch):
    # past _FILTERED_PATTERNS_MIN distinct values, only values holding a pattern's literal
    # pieces (case aside) or not ASCII go to its matcher: the pairs must be those of trying
    # every pattern on every value
    from c2hunt_offline.lookups import LookupTable
    if filtered:
        monkeypatch.setattr(col_lookup, "_FILTERED_PATTERNS_MIN", 0)
    cells = ["*.msftncsi.com", "K*", "*update*.Example.*", "*", "a*b*c", "exact.host", "*\u00e9t\u00e9*", "**x"]
    table = LookupTable("t", None, ["dest", "reason"], [{"dest": c, "reason": "r%d" % i} for i, c in enumerate(cells)],
                        match_types={"dest": "WILDCARD"}, case_sensitive=case_sensitive)
    index = col_lookup._ColumnIndex(table, "dest")
    values = ["a.msftncsi.com", "A.MSFTNCSI.COM", "a.msftncsi.com\n", "msftncsi.com", "\u212a.example", "k", "kx",
              "win.update2.example.org", "WINUPDATE.EXAMPLE.", "abc", "aXbYc", "cba", "exact.host", "\u00c9T\u00c9.fr",
              "x", "", "s\u017f.msftncsi.com"]
    frame = pl.DataFrame({col_lookup._D: pl.Series(range(len(values)), dtype=pl.UInt32), "__c2v": values})
    pairs = index.pairs(frame).unique().sort([col_lookup._D, col_lookup._R]).rows()
    expected = set()
    for d, value in enumerate(values):
        key = value if case_sensitive else value.lower()
        for row_id, cell in enumerate(cells):
            if "*" in cell:
                hit = table._cell_matcher("dest", cell)(value)
            else:
                hit = key == (cell if case_sensitive else cell.lower())
            if hit:
                expected.add((d, row_id))
    assert pairs == sorted(expected)
    if not case_sensitive:  # "K*" and the Kelvin sign: Python's case rules decided it
        assert (values.index("\u212a.example"), 1) in pairs


# ------------------------------------------------------------------ the lookup memo
_MEMO_CLAUSES = ["key AS s OUTPUT out1", "net AS s OUTPUTNEW out1 AS o", "pat AS s OUTPUT out2 AS o out1",
                 "key AS m OUTPUT out1 AS o", "net AS m pat AS s OUTPUTNEW out1 AS o out2",
                 "key AS s net AS m OUTPUT out1", "key AS missing net AS s OUTPUT out2", "key AS n OUTPUT out1"]


def _batches(seed):
    """Row batches whose input values repeat from batch to batch, as chunks of a log do."""
    rng = random.Random(seed)
    return [_event_rows(rng, rng.choice([1, 30, 120])) for _ in range(4)]


def _memo_free(monkeypatch):
    monkeypatch.setattr(col_lookup, "_MEMO_ROWS", 0)  # no clause kept, every tuple matched afresh


def test_memo_answers_every_lookup_form_as_the_row_command_batch_after_batch(lookup_contexts):
    """Exact, CIDR and wildcard columns, case-insensitive tables, max_matches, min_matches with
    default_match, multivalue and missing inputs, OUTPUT and OUTPUTNEW: batches met before
    come from the memo and still give what the row command gives."""
    contexts, tables = lookup_contexts
    outcomes = []
    for table_name in tables:
        for clause in _MEMO_CLAUSES:
            for rows in _batches(table_name + clause):
                outcomes.append(_differential(*contexts(), "lookup", "%s %s" % (table_name, clause), rows))
    assert [o for o in outcomes if o not in ("same", "refused")] == []
    assert outcomes.count("same") >= len(outcomes) * 0.9
    memo = col_lookup._MEMOS[contexts()[1].lookups.get(tables[0])]
    assert memo.clauses and memo.texts


def test_memo_hits_equal_fresh_matching(lookup_contexts, monkeypatch):
    """A batch answered wholly from the memo (no tuple matched again) equals the same batch
    matched with no memo: values and column kinds."""
    contexts, tables = lookup_contexts
    _, col_ctx = contexts()
    matched = []
    real = col_lookup._matched_rows
    monkeypatch.setattr(col_lookup, "_matched_rows", lambda *args: matched.append(1) or real(*args))
    for table_name in tables:
        for clause in _MEMO_CLAUSES:
            args = "%s %s" % (table_name, clause)
            for rows in _batches(args):
                frame = frame_from_rows(rows)
                COLUMNAR_COMMANDS["lookup"](col_ctx, args, frame)  # fills the memo
                del matched[:]
                hit = COLUMNAR_COMMANDS["lookup"](col_ctx, args, frame)
                if "AS n" not in clause:  # numbers are not memoised
                    assert matched == [], args
                with monkeypatch.context() as fresh:
                    _memo_free(fresh)
                    missed = COLUMNAR_COMMANDS["lookup"](col_ctx, args, frame)
                assert hit.schema == missed.schema and hit.equals(missed), args


def test_memo_of_a_rewritten_lookup_starts_over(tmp_path):
    """outputlookup rewrites a lookup file: the next lookup reads the new rows, not the memo
    of the old ones."""
    runner = Runner(str(ROOT), lookup_dir=str(tmp_path / "written"))
    ctx = _Context(runner, [])
    frame = frame_from_rows([{"process_name": "p1"}, {"process_name": "p2"}, {"process_name": "p1"}])
    args = "c2hunt_program_port_baseline process_name OUTPUT baselined"

    def baselined():
        return COLUMNAR_COMMANDS["lookup"](ctx, args, frame).get_column("baselined").to_list()
    COLUMNAR_COMMANDS["outputlookup"](ctx, "c2hunt_program_port_baseline",
                                      frame_from_rows([{"process_name": "p1", "baselined": "1"}]))
    assert baselined() == ["1", None, "1"]
    COLUMNAR_COMMANDS["outputlookup"](ctx, "c2hunt_program_port_baseline",
                                      frame_from_rows([{"process_name": "p2", "baselined": "2"}]))
    assert baselined() == [None, "2", None]


def test_memo_is_bounded(lookup_contexts, monkeypatch):
    """Past _MEMO_ROWS tuples a clause's memo starts over, past _MEMO_ROWS sets of rows the
    table's does; what comes out is unchanged."""
    contexts, tables = lookup_contexts
    monkeypatch.setattr(col_lookup, "_MEMO_ROWS", 4)
    row_ctx, col_ctx = contexts()
    outcomes = []
    for table_name in tables:
        for clause in _MEMO_CLAUSES:
            for rows in _batches("bound" + clause):
                outcomes.append(_differential(row_ctx, col_ctx, "lookup", "%s %s" % (table_name, clause), rows))
                memo = col_lookup._memo(col_ctx.lookups.get(table_name))
                assert len(memo.texts) <= 4 and all(met.height <= 4 for met in memo.clauses.values())
    assert [o for o in outcomes if o not in ("same", "refused")] == []
    frame = frame_from_rows([{"s": "v%d" % i} for i in range(10)])
    table = col_ctx.lookups.get(tables[0])
    col_lookup._MEMOS.pop(table, None)
    COLUMNAR_COMMANDS["lookup"](col_ctx, "%s key AS s OUTPUT out1" % tables[0], frame)
    assert col_lookup._MEMOS[table].clauses == {}  # ten tuples at once: none kept
    COLUMNAR_COMMANDS["lookup"](col_ctx, "%s key AS s OUTPUT out1" % tables[0], frame.head(3))
    assert [met.height for met in col_lookup._MEMOS[table].clauses.values()] == [3]
