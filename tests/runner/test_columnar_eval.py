"""The columnar eval and where give exactly what the row commands give.

Compared on what the user sees (support.shown_value: 6 and 6.0 alike, other floats exact): every eval/where
the app's saved searches run, on the rows they really meet in every scenario of samples/ and in
a generated Zeek workload (the row commands are wrapped so each call is also run on columns), and
a seeded fuzz corpus of events and expressions (numbers as strings, padded and exponent
numbers, empty strings, multivalues, Object columns). A columnar command may decline
(NotColumnar: the engine then runs the row command), never differ. The common expressions
of the searches must stay native: a regression to the per-distinct path fails here.
"""
import copy
import random
from pathlib import Path

import pytest

from c2hunt_offline import commands as row_commands
from c2hunt_offline.columnar import expressions as ex
from c2hunt_offline.columnar.filtering import COLUMNAR, COLUMNAR_COMMANDS, col_eval, col_where
from c2hunt_offline.columnar.table import NotColumnar, frame_from_rows, rows_from_frame
from c2hunt_offline.commands.filtering import cmd_eval, cmd_where
from c2hunt_offline.engine import Runner
from c2hunt_offline.evalexpr.parser import parse
from c2hunt_offline.values import SplError, to_str
from support import shown_value

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SCENARIOS = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())


def _formatted(rows):
    def value(v):
        if isinstance(v, list):  # a multivalue of one value is that value (as Splunk prints it)
            return shown_value(v) if len(v) != 1 else shown_value(v[0])
        return shown_value(v)
    return [{k: value(v) for k, v in row.items()} for row in rows]


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except NotColumnar:
        return "declined", None
    except SplError as exc:
        return "error", str(exc)
    except Exception as exc:  # noqa: BLE001  (the runner reports it as "cannot run"; columns must decline)
        return "crash", type(exc).__name__


def _compare(command, args, rows):
    """(row outcome, columnar outcome), both formatted; columnar may decline."""
    row_fn, col_fn = {"eval": (cmd_eval, col_eval), "where": (cmd_where, col_where)}[command]
    status, result = _outcome(row_fn, None, args, copy.deepcopy(rows))
    reference = (status, _formatted(result) if status == "ok" else result)
    try:
        frame = frame_from_rows(copy.deepcopy(rows))
    except NotColumnar:
        return reference, ("declined", None)
    ex.ColumnEvaluator.instances = []
    try:
        status, result = _outcome(col_fn, None, args, frame)
        errors = [e for evaluator in ex.ColumnEvaluator.instances for e in evaluator.errors]
    finally:
        ex.ColumnEvaluator.instances = None
    assert status != "crash", (args, result)
    assert not errors, (args, errors)  # a native kernel failed: the per-distinct path hid it
    return reference, (status, _formatted(rows_from_frame(result)) if status == "ok" else result)


class _Recorder(object):
    """Wraps the row eval/where: every call is also run on columns and compared."""

    def __init__(self):
        self.calls = self.declined = 0
        self.mismatches = []

    def wrap(self, command):
        original = row_commands.COMMANDS[command]

        def checked(ctx, args, rows):
            reference, columnar = _compare(command, args, rows)
            self.calls += 1
            if columnar[0] == "declined":
                self.declined += 1
            elif columnar != reference:
                self.mismatches.append((command, args[:300], reference, columnar))
            return original(ctx, args, rows)
        return checked


def _hunt_checked(paths, monkeypatch):
    recorder = _Recorder()
    monkeypatch.setenv("C2HUNT_ENGINE", "row")
    for command in ("eval", "where"):
        monkeypatch.setitem(row_commands.COMMANDS, command, recorder.wrap(command))
    runner = Runner(str(ROOT))
    events, _ = runner.read_files([str(p) for p in paths])
    runner.hunt(events)
    return recorder


def test_registered_names():
    assert COLUMNAR_COMMANDS == COLUMNAR == {"eval": col_eval, "where": col_where}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_search_eval_and_where_on_scenario_rows(scenario, monkeypatch):
    recorder = _hunt_checked([SAMPLES / scenario], monkeypatch)
    assert recorder.calls > 0
    assert not recorder.mismatches, recorder.mismatches[:3]
    assert recorder.declined <= recorder.calls // 10, (recorder.declined, recorder.calls)


def test_every_search_eval_and_where_on_generated_zeek(tmp_path, monkeypatch):
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path), 3000, hosts=200, n_beacons=3)
    recorder = _hunt_checked(paths, monkeypatch)
    assert recorder.calls > 20
    assert not recorder.mismatches, recorder.mismatches[:3]
    assert recorder.declined <= recorder.calls // 10, (recorder.declined, recorder.calls)


# ---------------------------------------------------------------------------- fuzz corpus

_FIELDS = ["a", "b", "c", "n", "m"]
_STRINGS = ["1", "2", "10", "1.0", "0", "-3", "x", "X", "abc", "10.0.0.1", "192.168.1.7", " 7 ", "",
            "1e3", "tcp", "TCP", "0x1f", "+5", ".5", "5.", "9007199254740993", "ab\n", "Ünï", "a,b", "-0",
            "1E+2", "nan", "inf", "\x1c4\x1c"]
_NUMBERS = [1, 2, 1.0, 2.5, 0, -1, 0.1, 1e20, -0.5, 3.25]
_LISTS = [["1", "2"], ["x", "y", "x"], ["a"], ["TCP", "udp"], ["7", " 7 "]]
_LEAVES = ["a", "b", "c", "n", "m", "1", "2.5", '"x"', '"1"', '"tcp"', "null()", "0", '"a,b"', "-1"]
_UNARY = ["lower({})", "upper({})", "len({})", "tonumber({})", "isnull({})", "isnotnull({})",
          "mvcount({})", "round({})", "round({}, 2)", "abs({})", "trim({})", "rtrim({}, \".\")", "typeof({})",
          "isnum({})", "mvindex({}, 0)", "mvindex({}, -1)", "coalesce({}, \"d\")", "tostring({})",
          "mvdedup({})", "split({}, \",\")", "-{}", "urldecode({})", "substr({}, 2)",
          "if(match({}, \"^[0-9]+$\"), 1, 0)", "if(match({}, \"(?i)^tcp$\"), \"t\", \"f\")",
          "if(like({}, \"%c%\"), 1, 0)", "if(like({}, \"1%\"), 1, 0)", "mvfind({}, \"^x\")",
          "replace({}, \"\\.\\d+$\", \"\")", "replace({}, \"^(.)(.*)$\", \"\\2\\1$\")",
          "replace({}, \"[^a-z]\", \"_\")", "replace({}, \"x*\", \"-\")", "mvjoin({}, \"+\")", "substr({}, -3)",
          "substr({}, 2, 3)", "substr({}, 0, 1)"]
_BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / {}", "{} . {}", "{} % {}", "if({} > {}, 1, 0)",
           "if({} == {}, \"eq\", \"ne\")", "if({} < {}, \"lt\", null())", "if({} != {}, 1, null())",
           "if({} <= {}, a, b)", "max({}, {})", "min({}, {})", "mvappend({}, {})", "coalesce({}, {})",
           "case({} != {}, 1, true(), 2)", "case({} >= {}, \"ge\")",
           "if(match({}, \"^[0-9]+$\") AND isnotnull({}), 1, 0)",
           "if(like({}, \"%c%\") OR {} >= 2, 1, 0)", "if(isnull({}) XOR isnull({}), 1, 0)",
           "if(NOT ({} = {}), \"n\", \"y\")", "mvindex({}, {})", "coalesce({}, 0) + coalesce({}, 1)",
           "if({} > 1, {}, 0)", "case(isnull({}), 0, true(), {}) . \"|\"", "coalesce({}, 2) - {}",
           "if(coalesce({}, 0) < {}, \"lt\", \"ge\")", "substr({}, {})", "substr({}, 1, {})"]
_CONDITIONS = ["{} > {}", "{} == {}", "isnull({}) OR {} != \"x\"", "match({}, \"^[a-z]\") AND {} < 5",
               "NOT isnotnull({}) XOR {} = 1", "like({}, \"T%\") OR {} <= \"b\""]


def _expression(rng, depth=0):
    if depth > 3 or rng.random() < 0.25:
        return rng.choice(_LEAVES)
    if rng.random() < 0.4:
        return rng.choice(_UNARY).format(_expression(rng, depth + 1))
    return rng.choice(_BINARY).format(_expression(rng, depth + 1), _expression(rng, depth + 1))


# values every native kernel takes (the corpus above also holds the ones that send a node per
# distinct: integers past 2**53, non-ASCII, newlines, \x1c)
_PLAIN_STRINGS = [v for v in _STRINGS if v.isascii() and v.isprintable() and v != "9007199254740993"]
_PLAIN_NUMBERS = [v for v in _NUMBERS if abs(v) < 2 ** 53]


def _events(rng, n, mixed, plain=False):
    """Rows whose columns hold one kind each (strings, numbers or string multivalues), or,
    with ``mixed``, columns mixing kinds (Object columns)."""
    strings, numbers = (_PLAIN_STRINGS, _PLAIN_NUMBERS) if plain else (_STRINGS, _NUMBERS)
    kinds = {f: rng.choice([strings, strings + _LISTS, numbers]) for f in _FIELDS}
    rows = []
    for _ in range(n):
        row = {}
        for field in _FIELDS:
            if rng.random() < 0.85:
                pool = (_STRINGS + _NUMBERS + _LISTS) if mixed else kinds[field]
                value = rng.choice(pool)
                row[field] = list(value) if isinstance(value, list) else value
        rows.append(row)
    return rows


def _fuzz(rng, make, command, rounds, mixed=False, plain=False):
    compared = declined = 0
    for i in range(rounds):
        rows = _events(rng, 60, mixed, plain)
        args = make(rng)
        reference, columnar = _compare(command, args, rows)
        if columnar[0] == "declined":
            declined += 1
            continue
        assert columnar == reference, (args, rows)
        compared += 1
    return compared, declined


def test_fuzz_eval_identical_to_the_row_command():
    rng = random.Random(20261206)
    compared, declined = _fuzz(rng, lambda r: "x=" + _expression(r) + ", y=x . " + _expression(r), "eval", 700)
    assert compared > 500
    assert declined < compared // 10


def test_fuzz_plain_values_mostly_native():
    """On values every kernel takes, most nodes of random expressions stay native (and agree)."""
    rng = random.Random(99)
    nodes = []
    original = ex.ColumnEvaluator.fallback

    def counted(self, node):
        nodes.append(node)
        return original(self, node)
    ex.ColumnEvaluator.fallback = counted
    try:
        compared, declined = _fuzz(rng, lambda r: "x=" + _expression(r), "eval", 300, plain=True)
    finally:
        ex.ColumnEvaluator.fallback = original
    assert compared > 250
    # what goes per distinct besides the functions left to Python (typeof, substr, urldecode)
    # and %: values of kinds no column holds (mvappend of numbers, min of a string and a
    # number, a literal or a number from one branch): fewer than one node per expression,
    # while a field read or a comparison going per distinct would add several to each
    natively_supported = [n for n in nodes if not (n[0] == "call" and n[1] not in ex._CALLS)
                          and not (n[0] == "arith" and n[1] == "%")]
    assert len(natively_supported) < compared, natively_supported[:10]
    assert not [n for n in natively_supported if n[0] == "field"]


def test_fuzz_where_identical_to_the_row_command():
    rng = random.Random(17)

    def condition(r):
        return r.choice(_CONDITIONS).format(_expression(r, 2), _expression(r, 2))
    compared, declined = _fuzz(rng, condition, "where", 500)
    assert compared > 350
    assert declined < compared // 10


def test_fuzz_mixed_columns_decline_or_agree():
    """Object columns (strings and numbers in one field): declined or identical."""
    rng = random.Random(5)
    compared, declined = _fuzz(rng, lambda r: "x=" + _expression(r), "eval", 200, mixed=True)
    assert compared + declined == 200


def _kept_memos(monkeypatch):
    """Share every column's memo (however few its rows) and count the commands that found one."""
    monkeypatch.setattr(ex, "_SHARED_MIN_ROWS", 0)
    monkeypatch.setattr(ex, "_SHARED", {})
    found = []
    original = ex._shared_memo

    def counted(val):
        kept = [entry[1] for entry in ex._SHARED.values()]
        memo = original(val)
        found.append(any(memo is m for m in kept))
        return memo
    monkeypatch.setattr(ex, "_shared_memo", counted)
    return found


def test_fuzz_facts_kept_across_commands_only_for_equal_columns(monkeypatch):
    """What a command derived from a column (its numbers, whether it is plain ASCII) is reused by
    the next command only over an equal column: rows whose values change under the same field
    names, lengths and dtypes never see the facts of the old values."""
    found = _kept_memos(monkeypatch)
    rng = random.Random(31337)
    kinds = {f: rng.choice([_STRINGS, _NUMBERS, _PLAIN_STRINGS]) for f in _FIELDS}

    def rows_of(seed):
        r = random.Random(seed)
        return [{f: r.choice(kinds[f]) for f in _FIELDS} for _ in range(40)]
    variants = [rows_of(seed) for seed in range(4)]
    compared = 0
    for _ in range(400):
        rows = rng.choice(variants)
        args = "x=" + _expression(rng) + ", y=" + _expression(rng)
        reference, columnar = _compare("eval", args, rows)
        if columnar[0] != "declined":
            assert columnar == reference, (args, rows)
            compared += 1
    assert compared > 300
    assert 0 < sum(found) < len(found)  # both kept and replaced facts were exercised


def test_kept_facts_follow_the_values_not_the_name(monkeypatch):
    import polars as pl
    _kept_memos(monkeypatch)
    numbers = pl.DataFrame({"a": ["1", "2", " 3 "]})
    words = pl.DataFrame({"a": ["x", "2", "y"]})
    assert col_eval(None, "b=a + 1", numbers).get_column("b").to_list() == [2.0, 3.0, 4.0]
    assert col_eval(None, "b=a + 1", words).get_column("b").to_list() == [None, 3.0, None]
    assert col_eval(None, "b=a + 1", numbers.clone()).get_column("b").to_list() == [2.0, 3.0, 4.0]
    assert len(ex._SHARED) == 1  # one entry per name, dtype and length: the latest values


def test_kept_facts_are_bounded(monkeypatch):
    import polars as pl
    _kept_memos(monkeypatch)
    monkeypatch.setattr(ex, "_SHARED_MAX_ROWS", 10)
    for i in range(8):
        col_eval(None, "b=f%d + 1" % i, pl.DataFrame({"f%d" % i: ["1", "2", "3"]}))
    assert sum(key[2] for key in ex._SHARED) <= 10


def test_small_columns_keep_facts_per_command():
    import polars as pl
    before = dict(ex._SHARED)
    col_eval(None, "b=a + 1", pl.DataFrame({"a": ["1"] * (ex._SHARED_MIN_ROWS - 1)}))
    assert ex._SHARED == before


def test_fuzz_operands_evaluated_only_where_needed(monkeypatch):
    """AND/OR evaluate their right operand on the rows the left one leaves open, if/case each
    condition and value where it decides, as the row engine does (value_on; here on every frame,
    however small): identical results, also where the operand goes per distinct or would meet an
    error on the rows it skips."""
    monkeypatch.setattr(ex, "_SELECTIVE_MIN_ROWS", 0)
    monkeypatch.setattr(ex, "_SELECTIVE_MAX_SHARE", 1.0)
    selective = []
    original = ex.ColumnEvaluator.value_on

    def counted(self, node, needed):
        before = len(ex.ColumnEvaluator.instances or [])
        val = original(self, node, needed)
        selective.append(len(ex.ColumnEvaluator.instances or []) > before)
        return val
    monkeypatch.setattr(ex.ColumnEvaluator, "value_on", counted)
    rng = random.Random(8080)

    def condition(r):
        return r.choice(_CONDITIONS).format(_expression(r, 2), _expression(r, 2))
    compared, declined = _fuzz(rng, condition, "where", 300)
    assert compared > 200
    compared, declined = _fuzz(rng, lambda r: "x=if(" + condition(r) + ", " + _expression(r, 2) + ", "
                               + _expression(r, 2) + ")", "eval", 300)
    assert compared > 200
    compared, declined = _fuzz(rng, lambda r: "x=case(" + condition(r) + ", " + _expression(r, 2) + ", "
                               + condition(r) + ", " + _expression(r, 2) + ", true(), " + _expression(r, 2) + ")",
                               "eval", 300)
    assert compared > 200
    assert sum(selective) > 50
    rows = [{"a": str(i), "b": "x" if i % 7 else "1"} for i in range(50)]
    for i, row in enumerate(rows):
        if i % 3:
            row["c"] = str(i % 5)
    for args in ("b == \"1\" AND tonumber(a) > 20", "b != \"1\" OR a * 2 > 60",
                 "b == \"1\" AND (b AND a > 1)", "a > 100 AND b + 1 > 0",
                 # a null left operand: the right one still decides between False and null
                 "NOT (c > 1 AND a * 1 > 10)", "NOT (c > 1 OR a * 1 > 10)", "isnull(c > 2 AND a + 0 < 30)"):
        reference, columnar = _compare("where", args, rows)
        assert columnar[0] == "declined" or columnar == reference, (args, reference, columnar)


def test_parse_errors_are_the_row_commands():
    frame = frame_from_rows([{"a": "1"}])
    for command, args in (("eval", "x"), ("eval", ""), ("eval", "x=1 +"), ("eval", "x=(a>1)"),
                          ("where", ""), ("where", "a +"), ("where", "1")):
        reference, columnar = _compare(command, args, [{"a": "1"}])
        assert reference[0] == "error" and columnar == reference, (args, reference, columnar)
    for _ in range(2):  # a parsed argument is kept, a bad one raises every time
        with pytest.raises(SplError):
            col_eval(None, "x=nosuchfunction(a)", frame)
        with pytest.raises(SplError):
            col_where(None, "a +", frame)


def test_runtime_errors_are_left_to_the_row_command():
    """A value where a boolean belongs raises on the row that holds it: the row engine, run
    again on the rows, words it."""
    rows = [{"a": "1", "b": "x"}]
    with pytest.raises(NotColumnar):
        col_eval(None, "x=if(a AND b, 1, 0)", frame_from_rows(rows))
    with pytest.raises(NotColumnar):
        col_eval(None, "x=case(a==1, true(), true(), 1)", frame_from_rows(rows))


# ---------------------------------------------------------------------------- native coverage

_CONN = [{"transport": "tcp", "Protocol": None, "Image": "C:\\Windows\\System32\\svchost.exe",
          "dest_port": str(p), "bytes_out": str(1000 + p * 7), "packets_out": str(3 + p % 5),
          "query": "a%d.example.onion" % p if p % 3 else "host%d.example.com" % p,
          "signal_a": "Sig_A" if p % 2 else None, "signal_b": "Sig_B" if p % 3 else None,
          "signals": ["Sig_A", "Sig_B"] if p % 2 else None, "_time": 1.7e9 + p}
         for p in range(200)]

NATIVE = [
    "lower(coalesce(transport, Protocol))",
    "lower(mvindex(split(Image, \"\\\\\"), -1))",
    "if(isnotnull(signal_a) AND tonumber(dest_port)>=49152, 1, 0)",
    "case(transport==\"icmp\" AND isnull(signal_a), \"icmp\", transport==\"tcp\" AND isnotnull(signal_b), "
    "\"socks\", true(), null())",
    "\"Tor_Relay_Port_\" . dest_port",
    "mvappend(signal_a, signal_b)",
    "mvcount(signals)",
    "min(90, mvcount(signals) * 10 + 50)",
    "max(if(isnotnull(signal_a), 70, 0), if(isnotnull(signal_b), 65, 0))",
    "round(bytes_out / packets_out) - 28",
    "round(bytes_out / packets_out, 3)",
    "if(match(query, \"\\.onion$\"), 1, 0)",
    "if(like(query, \"%.onion\"), 1, 0)",
    "isnotnull(mvfind(signals, \"^Sig_B$\"))",
    "tostring(dest_port)",
    "if(dest_port>=49152, \"dynamic\", tostring(dest_port))",
    "upper(transport) . \"_\" . len(query)",
    "coalesce(signal_a, signal_b, \"none\")",
    "lower(rtrim(query, \".\"))",
    "_time - 1700000000",
    "abs(tonumber(dest_port) - 100)",
    "coalesce(bytes_out, 0) + coalesce(packets_out, 0)",
    "case(transport==\"tcp\", coalesce(bytes_out, 0) + coalesce(bytes_in, 0), true(), 0)",
    "if(isnull(signal_a), 0, dest_port) * 2",
    "replace(query, \"^.*\\.([^.]+\\.[^.]+)$\", \"\\1\")",
    "replace(Image, \"[^A-Za-z0-9]\", \"_\")",
    "mvjoin(signals, \" \")",
    "substr(query, 1, len(query) - len(transport) - 1)",
    "dest_port . \":\" . coalesce(_time, \"\") . \":\" . if(isnull(signal_a), \"-\", 1)",
]


@pytest.mark.parametrize("text", NATIVE)
def test_common_expressions_are_native(text):
    frame = frame_from_rows([{k: v for k, v in row.items() if v is not None} for row in _CONN])
    _, evaluator = ex.evaluate(frame, parse(text))
    assert evaluator.per_distinct == [], text
    # and right
    reference, columnar = _compare("eval", "x=" + text, [{k: v for k, v in row.items() if v is not None}
                                                         for row in _CONN])
    assert columnar == reference


def test_a_regex_python_refuses_is_left_to_the_row_command():
    rows = [{"a": "x"}]
    reference, columnar = _compare("eval", "x=if(match(a, \"^*\"), 1, 0)", rows)
    assert reference[0] == "error" and columnar[0] in ("declined", "error")


def test_unsupported_parts_go_per_distinct_alone():
    """A native node may hold a per-distinct child: only that child leaves the native path."""
    frame = frame_from_rows([{"a": "x%2Fy", "b": "1"}, {"a": "q", "b": "2"}])
    val, evaluator = ex.evaluate(frame, parse("lower(urldecode(a)) . b"))
    assert [node[1] for node in evaluator.per_distinct] == ["urldecode"]
    assert val.s.to_list() == ["x/y1", "q2"]


@pytest.mark.parametrize("pattern, compatible", [
    ("^[0-9]+$", True), ("\\.onion$", True), ("(?i)^self.signed certificate$", True),
    ("(^|\\.)_[a-z0-9-]+(\\.|$)", True), ("(?<=a)b", False), ("a\\<b", False), ("[[:alpha:]]", False),
    ("\\1", False), ("a{,3}", False), ("é", False), ("a(?i)b", False), ("\\Z", False), ("a*+", False),
])
def test_regexes_native_only_where_both_engines_agree(pattern, compatible):
    assert ex.rust_compatible(pattern) is compatible


def _g15_corpus():
    """Fractions as logs carry them (epoch seconds with microseconds, durations, ratios, means)
    and the hard cases: 16 and 17 significant digits, values a hair from a 15-digit half-way
    point, the edges of %g's fixed notation, carries."""
    rng = random.Random(15)
    values = [0.5, 1.5, 0.1, 0.3, 2 / 3, 1 / 3, 0.0001, 0.00012345, 0.00009999999999999999, 99999999999999.95,
              999999999999999.9, 123456789012345.6, 0.999999999999999944, 9.9999999999999995, 1e-05, 1.5e-05,
              -0.25, -1715644800.448915, 4503599627370495.5]
    for _ in range(6000):
        values.append(1715644800 + rng.randrange(10 ** 6) / 1e6)       # epoch seconds, microseconds
        values.append(rng.randrange(1, 10 ** 6) / rng.randrange(1, 10 ** 3))  # ratios and means
        values.append(rng.uniform(-1, 1) * 10.0 ** rng.randrange(-7, 17))
        text = "%.15g" % rng.uniform(1, 1e5)
        values.append(float(text + ("5" if "." in text else ".5")))      # a 16th digit of 5
        values.append(float("%.16g" % rng.uniform(0, 1e6)))
    return [v for v in values if v != int(v)]


def test_fractions_are_written_as_percent_15g_natively_where_certain():
    import polars as pl
    values = _g15_corpus()
    native = ex._g15(pl.Series(values, dtype=pl.Float64)).to_list()
    assert [t for v, t in zip(values, native) if t is not None and t != "%.15g" % v] == []
    assert sum(t is not None for t in native) > 0.6 * len(values)  # the rest (hard cases above): Python
    edges = [None, 3.0, -0.0, 1e16, -2.5e17, float("inf"), float("-inf"), float("nan")]
    formatted = ex.number_texts(pl.Series("x", values + edges, dtype=pl.Float64))
    assert formatted.name == "x"
    assert formatted.to_list() == [to_str(v) for v in values + edges]
    assert formatted.to_list()[-7:] == ["3", "0", "1e+16", "-2.5e+17", "inf", "-inf", "nan"]
    assert ex.number_texts(pl.Series("n", [7, None, -12], dtype=pl.Int64)).to_list() == ["7", None, "-12"]


def test_percent_15g_on_ties_and_powers_of_ten():
    """Exact half-way points (dyadic fractions: the formatter rounds them to even), values a hair
    from a power of ten (where log10 may misjudge the exponent), the carry into a 16th digit:
    native where certain, always what Python writes."""
    import math

    import numpy as np
    import polars as pl
    rng = random.Random(1515)
    values = [0.5, 2.5, 0.125, 1e-4, 9.99999999999999e-05, 0.000999999999999999, 99999.99999999999,
              999999999999999.5, 999999999999998.5, 0.1 + 0.2, 123456789012345.5, 123456789012344.5]
    for _ in range(4000):
        values.append(rng.randrange(1, 2 ** 40) / 2.0 ** rng.randrange(1, 40))
        power = 10.0 ** rng.randrange(-5, 16)
        values.append(float(np.nextafter(power, rng.choice([0.0, math.inf]))))
        values.append(power * (1 + rng.choice([-1, 1]) * rng.random() * 1e-13))
        text = "%.15g" % rng.uniform(1e-4, 1e15)
        values.append(float(text + ("5" if "." in text else ".5")))
    values = [v for v in values if v != int(v) and abs(v) < 2 ** 53]
    native = ex._g15(pl.Series(values, dtype=pl.Float64)).to_list()
    assert [(v, t) for v, t in zip(values, native) if t is not None and t != "%.15g" % v] == []
    assert sum(t is not None for t in native) > 0.8 * len(values)
    negative = [-v for v in values]
    formatted = ex.number_texts(pl.Series(negative, dtype=pl.Float64)).to_list()
    assert formatted == ["%.15g" % v for v in negative]


@pytest.mark.parametrize("values", [[1.0, 2.5], [1.0, None], [None, None], [], [True, None, False]])
def test_null_shortcuts_give_what_polars_gives(values):
    """The calls skipped where a column holds no null give polars' own answers, name and all."""
    import polars as pl
    s = pl.Series("f", values, dtype=pl.Boolean if values and isinstance(values[0], bool) else pl.Float64)
    assert ex._held(s).equals(s.is_not_null(), check_names=True)
    assert ex._missing(s).equals(s.is_null(), check_names=True)
    if s.dtype == pl.Boolean:
        for value in (False, True):
            assert ex._filled(s, value).equals(s.fill_null(value), check_names=True, null_equal=True)


@pytest.mark.parametrize("values, exact", [([1.0, None, -3.5], True), ([None, None], True), ([2.0 ** 53 - 1], True),
                                           ([2.0 ** 53], False), ([-2.0 ** 53, None], False),
                                           ([float("nan"), 1.0], False), ([None, float("inf")], False),
                                           ([float("-inf")], False)])
def test_exact_numbers_declines_nan_infinity_and_past_2_53(values, exact):
    import polars as pl
    s = pl.Series("n", values, dtype=pl.Float64)
    if exact:
        assert ex._exact_numbers(s) is s
    else:
        with pytest.raises(ex._Unsupported):
            ex._exact_numbers(s)


def test_repeated_columns_keep_minus_zero_and_are_not_shared():
    import polars as pl
    zero, minus = ex._repeated(0.0, pl.Float64, 3), ex._repeated(-0.0, pl.Float64, 3)
    assert str(minus.to_list()) == "[-0.0, -0.0, -0.0]" and str(zero.to_list()) == "[0.0, 0.0, 0.0]"
    again = ex._repeated(0.0, pl.Float64, 3)
    again.scatter([0], [5.0])  # changing one leaves the kept column as it was
    assert ex._repeated(0.0, pl.Float64, 3).to_list() == [0.0, 0.0, 0.0]
