"""The columnar stats, eventstats, sort, dedup, bin and convert give exactly what the row
commands give, compared on what the user sees (support.shown_value: 6 and 6.0 alike, other floats exact), with the same
messages and errors.

Two corpora: (a) every stats/eventstats/lookup/sort/dedup clause of every saved search, on
the rows the row engine feeds it when it hunts the scenario events of samples/, and (b) a
seeded fuzz corpus of rows (strings, numeric strings, empty strings, numbers, multivalue
fields, nulls) and clauses. A clause the columnar command refuses (NotColumnar) is allowed
(the engine then runs the row command), but the share refused is bounded, so the columnar
path is really what is tested.
"""
import copy
import functools
import math
import operator
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from c2hunt_offline import commands as row_commands
from c2hunt_offline import limits
from c2hunt_offline.columnar import NotColumnar, frame_from_rows, rows_from_frame
from c2hunt_offline.columnar import lookup as col_lookup
from c2hunt_offline.columnar import ordering as col_ordering
from c2hunt_offline.columnar import stats as col_stats
from c2hunt_offline.engine import Runner, _Context
from c2hunt_offline.values import SplError, to_str
from support import shown_value

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
COLUMNAR = dict(col_stats.COLUMNAR_COMMANDS, **col_lookup.COLUMNAR_COMMANDS,
                **col_ordering.COLUMNAR_COMMANDS)
RECORDED = ("stats", "eventstats", "lookup", "sort", "dedup", "bin", "convert")


def _seen(rows):
    return [{k: shown_value(v) for k, v in r.items()}
            for r in rows]


def differential(runner, name, args, rows):
    """'same', 'refused' (NotColumnar) or a description of the difference."""
    row_ctx, col_ctx = _Context(runner, []), _Context(runner, [])
    try:
        expected = ("rows", _seen(row_commands.COMMANDS[name](row_ctx, args, copy.deepcopy(rows))))
    except SplError as exc:
        expected = ("error", str(exc))
    try:
        frame = frame_from_rows(rows)
        got = ("rows", _seen(rows_from_frame(COLUMNAR[name](col_ctx, args, frame))))
    except NotColumnar as exc:
        assert not col_ctx.messages, "NotColumnar after a side effect"
        if isinstance(exc.__context__, pl.exceptions.PolarsError):  # a defect, not a refusal
            return "%s %s: %s" % (name, args, exc)
        return "refused"
    except SplError as exc:
        got = ("error", str(exc))
    if expected != got:
        return "%s %s: row %r != columnar %r" % (name, args, str(expected)[:400], str(got)[:400])
    if (row_ctx.messages, row_ctx.columns) != (col_ctx.messages, col_ctx.columns):
        return "%s %s: messages %r != %r" % (name, args, row_ctx.messages, col_ctx.messages)
    return "same"


@pytest.fixture(scope="module")
def runner():
    return Runner(str(ROOT))


def _record(runner, paths):
    """(command, arguments, input rows) of every recorded clause as the row engine runs every
    correlation search over the files ``paths``."""
    calls = []

    def recorder(name, command):
        def run(ctx, args, rows):
            calls.append((name, args, copy.deepcopy(rows)))
            return command(ctx, args, rows)
        return run

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("C2HUNT_ENGINE", "memo")
        for name in RECORDED:
            patch.setitem(row_commands.COMMANDS, name, recorder(name, row_commands.COMMANDS[name]))
        events, _ = runner.read_files(paths)
        _, errors = runner.hunt(events)
    assert not errors
    return calls


@pytest.fixture(scope="module")
def saved_search_clauses(runner):
    """Every clause on the scenario events of samples/ (all scenarios at once)."""
    return _record(runner, [str(p) for p in sorted(SAMPLES.iterdir()) if p.is_dir()])


@pytest.mark.parametrize("command", RECORDED)
def test_every_saved_search_clause_matches_the_row_command(command, runner, saved_search_clauses):
    outcomes = [differential(runner, name, args, rows)
                for name, args, rows in saved_search_clauses if name == command]
    if command in ("bin", "convert") and not outcomes:
        pytest.skip("no saved search uses %s" % command)
    assert outcomes, "no %s clause was reached" % command
    differences = [o for o in outcomes if o not in ("same", "refused")]
    assert not differences, differences[:3]
    refused = outcomes.count("refused")
    # refused only where an eval left a field holding numbers and strings (an Object column)
    # or values() of numbers would be a multivalue of numbers
    assert refused <= max(1, len(outcomes) // 10), (refused, len(outcomes))


def test_every_stats_and_lookup_clause_of_the_app_is_reached(runner, saved_search_clauses):
    reached = {(name, args) for name, args, rows in saved_search_clauses if rows}
    assert len({a for n, a in reached if n == "stats"}) >= 25
    assert len({a for n, a in reached if n == "eventstats"}) >= 15
    assert len({a for n, a in reached if n == "lookup"}) >= 60


def test_saved_search_clauses_on_a_generated_zeek_workload(runner, tmp_path):
    """Thousands of conn and dns records: many groups, many distinct addresses to look up."""
    import offline_scale  # benchmarks/ (on pythonpath)
    paths, _ = offline_scale.generate(str(tmp_path), 2000, hosts=150, n_beacons=2)
    calls = _record(runner, paths)
    outcomes = [differential(runner, name, args, rows) for name, args, rows in calls]
    assert not [o for o in outcomes if o not in ("same", "refused")]
    assert outcomes.count("same") >= len(outcomes) * 0.9
    assert max(len(rows) for name, _, rows in calls if name == "lookup") >= 2000


# ---------------------------------------------------------------------------- fuzz corpus

_STRINGS = ["1", "2", "10", "1.0", "0", "-3", "x", "X", "abc", "10.0.0.1", "192.168.1.7", " 7 ",
            "", "1e3", "tcp", "TCP", "b", "é", "Z", "007"]
_NUMBERS = [1, 2, 1.0, 2.5, 0, -1, 10, 0.1, 1715644800, 1715644801.5, 3]
_KINDS = {"s": "str", "t": "str", "n": "num", "m": "mv", "u": "str", "_time": "num"}


def _value(rng, kind):
    if rng.random() < 0.15:
        return None
    if kind == "num":
        return rng.choice(_NUMBERS)
    if kind == "mv" and rng.random() < 0.5:
        return rng.sample(_STRINGS, rng.randint(2, 3))
    return rng.choice(_STRINGS[:8] if rng.random() < 0.5 else _STRINGS)


def _rows(rng, n):
    rows = []
    for _ in range(n):
        row = {}
        for field, kind in _KINDS.items():
            value = _value(rng, kind)
            if value is not None:
                row[field] = value
        rows.append(row)
    return rows


_FUNCS = ["count", "count({})", "dc({})", "sum({})", "avg({})", "mean({})", "min({})", "max({})",
          "median({})", "values({})", "list({})", "first({})", "last({})", "c({})",
          "distinct_count({})", "stdev({})", "eval(len({}))"]


def _stats_clause(rng):
    aggs = []
    for _ in range(rng.randint(1, 3)):
        call = rng.choice(_FUNCS).format(rng.choice(list(_KINDS) + ["missing"]))
        if rng.random() < 0.5:
            call += " AS %s" % rng.choice(["out", "total", "s", "n", "m", "out2"])
        aggs.append(call)
    by = rng.sample(["s", "t", "n", "m", "u", "missing"], rng.randint(0, 2))
    return " ".join(aggs) + (" by " + " ".join(by) if by else "")


def _sort_clause(rng):
    keys = []
    for _ in range(rng.randint(1, 3)):
        field = rng.choice(list(_KINDS) + ["missing"])
        mode = rng.choice(["", "", "str", "num", "ip", "auto"])
        keys.append(rng.choice(["", "-", "+", "- ", "+ "]) + ("%s(%s)" % (mode, field) if mode else field))
    head = rng.choice(["", "0 ", "5 ", "limit=3 "])
    return head + ", ".join(keys) + rng.choice(["", "", " d"])


def _dedup_clause(rng):
    fields = " ".join(rng.sample(["s", "t", "n", "m", "missing"], rng.randint(1, 2)))
    options = rng.choice(["", "keepempty=true ", "consecutive=true ", "keepempty=t consecutive=t "])
    count = rng.choice(["", "", "2 "])
    sortby = rng.choice(["", "", " sortby -n", " sortby s"])
    return options + count + fields + sortby


def _bin_clause(rng):
    field = rng.choice(["_time", "n", "s", "m", "missing"])
    return "span=%s %s%s" % (rng.choice(["1h", "5m", "10", "2.5", "1d"]), field,
                             rng.choice(["", " AS slot", " AS n"]))


def _convert_clause(rng):
    calls = []
    for _ in range(rng.randint(1, 2)):
        fn = rng.choice(["num", "auto", "rmcomma", "rmunit", "ctime", "dur2sec", "memk", "none"])
        calls.append("%s(%s)%s" % (fn, rng.choice(["s", "n", "m", "t", "_time", "missing", "*"]),
                                   rng.choice(["", "", " AS conv"])))
    return " ".join(calls)


_CLAUSES = {"stats": _stats_clause, "eventstats": _stats_clause, "sort": _sort_clause,
            "dedup": _dedup_clause, "bin": _bin_clause, "convert": _convert_clause}


@pytest.mark.parametrize("command", sorted(_CLAUSES))
def test_fuzz_corpus_matches_the_row_command(command, runner):
    rng = random.Random("columnar-%s" % command)
    outcomes = []
    for _ in range(250):
        rows = _rows(rng, rng.choice([0, 1, 3, 12, 40]))
        outcomes.append(differential(runner, command, _CLAUSES[command](rng), rows))
    differences = [o for o in outcomes if o not in ("same", "refused")]
    assert not differences, differences[:3]
    assert outcomes.count("same") >= len(outcomes) * 0.6, outcomes.count("refused")


@pytest.mark.parametrize("args", ["count values(s) AS vs by t", "dc(s) AS d first(n) AS f by m",
                                  "count sum(n) AS total", "values(n) AS vn by s",
                                  "min(s) AS lo max(s) AS hi by t", "min(n) AS lo by m"])
def test_stats_on_many_rows_in_few_groups(args, runner):
    rng = random.Random(args)
    rows = _rows(rng, 3000)
    assert differential(runner, "stats", args, rows) in ("same", "refused")
    assert differential(runner, "eventstats", args, rows) in ("same", "refused")


@pytest.mark.parametrize("args", ["first(s) AS fs last(s) AS ls first(n) AS fn last(missing) AS lx by k",
                                  "last(m) AS lm first(u) AS fu by m k", "first(s) AS fs last(m) AS lm by t"])
def test_first_last_over_many_groups_match_the_row_command(args, runner):
    """first/last (a numpy kernel: each group's lowest/highest non-null row) over groups of
    one or a few rows, fields often null, a multivalue by-field putting a row in several."""
    rows = _rows(random.Random(args), 1500)
    for i, row in enumerate(rows):
        row["k"] = str(i % 500)  # groups of three rows
    assert differential(runner, "stats", args, rows) == "same"
    assert differential(runner, "eventstats", args, rows) == "same"


def test_list_limit_warning_matches(runner):
    rows = [{"g": "a" if i % 3 else "b", "v": str(i)} for i in range(400)]
    for command in ("stats", "eventstats"):
        assert differential(runner, command, "list(v) AS l count by g", rows) == "same"
        assert differential(runner, command, "list(v) AS l", rows) == "same"


def test_eventstats_cutoff_matches(runner, monkeypatch):
    monkeypatch.setattr(limits, "MAXRESULTROWS", 20)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", 0.0005)  # 524 bytes of text
    rows = _rows(random.Random(5), 60)
    for args in ("dc(s) AS d by t", "count", "values(m) AS s by t", "max(n) AS n by s"):
        assert differential(runner, "eventstats", args, rows) in ("same",)
    ctx = _Context(runner, [])
    col_stats.col_eventstats(ctx, "count", frame_from_rows(rows))
    assert ctx.messages and "did not get the eventstats fields" in ctx.messages[0]


# Numbers whose printed forms sit at the edges of format_number: whole numbers (negative, -0.0,
# past 1e15), fractions that print alike with %.15g (0.1 + 0.2 and 0.3), fractions one step
# apart at 15 significant digits, tiny and exponent forms.
_EDGE_NUMBERS = [0.0, -0.0, 7.0, -7.0, 1e15, 1e15 + 2, 2.0 ** 52 + 1, 0.5, -0.5, 0.1 + 0.2, 0.3,
                 123456.789012345, 123456.789012346, 1.5e-7, 1.50000000000001e-7, 3.14159, 1e-300]


def test_float_text_forms_match_the_row_command(runner, monkeypatch):
    rng = random.Random("float-text")
    for case in range(30):
        pool = rng.sample(_EDGE_NUMBERS, rng.randint(2, len(_EDGE_NUMBERS)))
        rows = [{"x": rng.choice(pool), "g": rng.choice(["a", "b"])} for _ in range(40)]
        outcomes = [differential(runner, "stats", args, rows)
                    for args in ("count by x", "dc(x) AS d by g", "values(g) AS v by x")]
        assert all(o in ("same", "refused") for o in outcomes), outcomes
        if not any(abs(a - b) < 1e-9 and a != b for a in pool for b in pool):  # nothing prints alike
            assert outcomes[0] == "same", (pool, outcomes)
    monkeypatch.setattr(limits, "MAXRESULTROWS", 10)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", 0.0004)
    rows = [{"x": rng.choice(_EDGE_NUMBERS), "n": n} for n in range(60)]
    assert differential(runner, "eventstats", "count by n", rows) == "same"


def test_refuses_what_it_cannot_do_exactly(runner):
    ctx = _Context(runner, [])
    mixed = frame_from_rows([{"a": "x", "n": 1}, {"a": "y", "n": "z"}])
    for name, args in [("stats", "sum(n) by a"), ("stats", "count by n"), ("stats", "count(eval(n+1)) AS c"),
                       ("stats", "stdev(a)"), ("sort", "n"), ("dedup", "n"), ("bin", "span=0 n")]:
        with pytest.raises(NotColumnar):
            COLUMNAR[name](ctx, args, mixed if name != "bin" else frame_from_rows([{"n": 5}]))
    assert not ctx.messages


def test_errors_are_the_row_commands(runner):
    rows = [{"a": "1"}]
    for name, args in [("stats", ""), ("stats", "nosuch(a)"), ("stats", "sum()"), ("sort", ""),
                       ("dedup", ""), ("bin", "a"), ("bin", "span=1mon a"), ("convert", "bogus(a)"),
                       ("eventstats", "count(")]:
        assert differential(runner, name, args, rows) == "same", (name, args)


@pytest.mark.parametrize("name, args", [
    ("stats", "count values(z) AS v max(z) AS m by a"), ("stats", "count by z"),
    ("eventstats", "dc(z) AS d first(z) AS fz by a"), ("sort", "z, -a"), ("dedup", "z a"),
    ("dedup", "keepempty=t z"), ("bin", "span=1 z"), ("convert", "num(z)"),
    ("lookup", "c2hunt_internal_networks cidr AS z OUTPUT network_name AS zn"),
    ("lookup", "c2hunt_internal_networks cidr AS dest OUTPUTNEW network_name AS z")])
def test_a_column_of_nothing_but_nulls_is_a_missing_field(name, args, runner):
    """Other steps may leave a column of dtype Null (eval's null()): every row lacks it."""
    frame = pl.DataFrame({"a": ["x", "y", "x"], "z": pl.Series([None] * 3, dtype=pl.Null),
                          "dest": ["10.1.1.1", "8.8.8.8", None]})
    rows = rows_from_frame(frame)
    expected = row_commands.COMMANDS[name](_Context(runner, []), args, copy.deepcopy(rows))
    got = rows_from_frame(COLUMNAR[name](_Context(runner, []), args, frame))
    assert _seen(got) == _seen(expected)


def test_number_text_lengths_are_the_printed_lengths():
    """The eventstats memory estimate measures numbers without to_str: same lengths."""
    rng = random.Random("text-lengths")
    numbers = _EDGE_NUMBERS + [1e16, -1e16, 9.9e15, 2.0 ** 53, 1e300, -1e300, float("inf"), float("-inf"),
                               float("nan"), 5e-324, 1e17, 9.2e18, 1e19, -2.5, None]
    numbers += [rng.uniform(-1e6, 1e6) for _ in range(300)] + [float(rng.randint(-10 ** 17, 10 ** 17))
                                                              for _ in range(300)]
    got = col_stats.number_text_lengths(pl.Series("x", numbers, dtype=pl.Float64)).to_list()
    assert got == [None if v is None else len(to_str(v)) for v in numbers]


def test_number_text_lengths_in_numpy_are_printf_lengths():
    """The fixed-point lengths numpy settles (and the cells it leaves to Python) equal
    ``len("%.15g" % x)``: fractions of every decade of the fixed-point range, few-digit
    decimals, epoch times with microseconds, rounding ties and near-ties at the 15th digit,
    carries into the next decade (999.9999999999999) and the decade edges."""
    rng = random.Random("printf-lengths")
    numbers = [rng.uniform(1, 10) * 10.0 ** rng.randint(-7, 16) * rng.choice((1, -1)) for _ in range(4000)]
    numbers += [round(rng.uniform(-1e4, 1e4), rng.randint(1, 6)) for _ in range(2000)]
    numbers += [1.7e9 + rng.randint(0, 10 ** 6) / 1e6 for _ in range(2000)]
    numbers += [(rng.randint(10 ** 14, 10 ** 15) + rng.choice((0.5, 0.49, 0.51, 0.45, 0.55))) * 10.0 ** k
                for k in range(-18, 1) for _ in range(50)]
    numbers += [float(s) for s in ("999.9999999999999", "999.999999999999", "9.999999999999995",
                                   "0.0001", "0.00009999999999999999", "0.000123", "99999999999999.9",
                                   "999999999999999.9", "1000000000000000.5", "0.1", "1e-5", "2.5e-5")]
    numbers += [math.nextafter(x, direction) for x in (0.001, 0.01, 1.0, 100.0, 1e14) for direction in (0, 1e300)]
    fractions = [x for x in numbers if x != int(x)]
    got = col_stats.number_text_lengths(pl.Series("x", fractions, dtype=pl.Float64)).to_list()
    assert got == [len("%.15g" % x) for x in fractions]
    lengths, settled = col_stats._fixed_point_lengths(np.array(fractions))
    assert settled.mean() > 0.5  # numpy settles most of them, not Python


def test_eventstats_cutoff_where_the_bound_is_not_enough(runner, monkeypatch):
    """Multibyte strings and long fractions: the byte/longest-number bound passes the budget,
    the exact count decides (here: no cutoff, then a cutoff)."""
    rows = [{"s": "é" * 10, "x": 0.5, "g": "a" if i % 2 else "b"} for i in range(40)]
    exact = sum(limits.estimated_bytes(r) for r in rows)
    monkeypatch.setattr(limits, "MAXRESULTROWS", 10)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", exact / 1024.0 / 1024.0)
    assert col_stats._eventstats_cutoff(frame_from_rows(rows)) is None
    assert differential(runner, "eventstats", "count by g", rows) == "same"
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", (exact - 50) / 1024.0 / 1024.0)
    assert col_stats._eventstats_cutoff(frame_from_rows(rows)) == limits.eventstats_cutoff(rows) is not None
    assert differential(runner, "eventstats", "count by g", rows) == "same"


def test_bincount_adds_each_group_left_to_right():
    """The sum kernel's premise, on this numpy: np.bincount with weights adds each bin's
    values in input order (as the row stats does, strictly left to right), where a pairwise
    sum (np.sum) and np.add.reduceat round otherwise."""
    rng = random.Random("left-to-right")
    differs = 0
    for _ in range(200):
        values = [rng.choice([1e16, -1e16, 1.0, 0.1, 3.3e-5, 7e15, -2.5]) * rng.random() for _ in range(64)]
        groups = [rng.randint(0, 3) for _ in values]
        got = np.bincount(np.array(groups), np.array(values), minlength=4)
        for group in range(4):
            members = [v for v, g in zip(values, groups) if g == group]
            in_order = functools.reduce(operator.add, members, 0)
            assert got[group] == in_order or got[group] == 0 == len(members)
            differs += float(np.sum(np.array(members))) != in_order
    assert np.bincount(np.zeros(4, dtype=np.int64), np.array([1e16, 1.0, 1.0, -1e16]))[0] == 0.0
    assert np.add.reduceat(np.array([1e16, 1.0, 1.0, -1e16]), [0])[0] != 0.0 or differs
    assert differs, "no case where the order matters: the test proves nothing"


_SUM_CASES = {
    # fractions whose sum depends on the order they are added in (the column's total stays
    # below 2**53: past it the sum runs on rows)
    "fractions": ([0.1, 0.2, 0.3, 1e10, -1e10, 1.0, 2.5e-8, 3.3, 123456.789],
                  ["0.7", "1e10", "-1e10", "0.1", "2.5e-8", "3", "1e-3"]),
    # integers whose running sums come near 2**53 (two big ones per trial, the total below it)
    "near 2**53": ([7, -5, 1, 3, 1000], ["7", "-5", "12", "+3"]),
    "negative zero": ([-0.0, 0.0, 0, -0.0, 2.5], ["-0", "-0.0", "0", "0.0", "-1"]),
    "mixed strings": ([3, 2.5, -1], ["x", "10", "abc", "", "2.5", "-", " 4 ", "1e3"]),
}


@pytest.mark.parametrize("case", sorted(_SUM_CASES))
def test_fuzz_sums_and_values_by_groups(case, runner):
    """sum/avg/count/dc/values/min per group, by plain, multivalue and numeric by-fields; the
    summed field holds numbers (as eval leaves them) or strings (as events carry them)."""
    rng = random.Random("sums-%s" % case)
    clauses = ["sum(x) AS s avg(x) AS a count(x) AS c by g", "sum(x) AS s dc(x) AS d by g h",
               "values(x) AS v sum(x) AS s min(x) AS lo max(x) AS hi by m", "sum(x) AS s count by m g",
               "sum(x) AS s values(m) AS vm dc(m) AS dm count(m) AS cm by n", "sum(x) AS s avg(x) AS a"]
    outcomes = []
    for trial in range(40):
        pool = _SUM_CASES[case][trial % 2]
        rows = []
        for _ in range(rng.choice([1, 5, 30, 120])):
            row = {"x": rng.choice(pool), "g": rng.choice(["a", "b", "1", "01", "1.0", ""]),
                   "h": rng.choice(["p", "q"]), "n": rng.choice([1, 2, 2.5, -0.0, 0.0])}
            if rng.random() < 0.4:
                row["m"] = rng.sample(["u", "v", "w", "1", "10", "2"], rng.randint(2, 3))
            elif rng.random() < 0.7:
                row["m"] = rng.choice(["u", "w", "2", ""])
            rows.append({k: v for k, v in row.items() if rng.random() > 0.1})
        if case == "near 2**53":
            for big in (2 ** 52 - 12345, 2 ** 51 + 7):
                rng.choice(rows)["x"] = big if pool[0] == 7 else str(big)
        for args in clauses:
            for command in ("stats", "eventstats"):
                outcomes.append(differential(runner, command, args, rows))
    assert not [o for o in outcomes if o not in ("same", "refused")], \
        [o for o in outcomes if o not in ("same", "refused")][:3]
    assert outcomes.count("same") >= len(outcomes) * 0.7, outcomes.count("refused")


def test_group_order_ties_keep_first_appearance(runner):
    """By-values with one sort key ("1", "01", "1.0", " 1") come in order of first
    appearance, within the order of the first by-field."""
    rng = random.Random("ties")
    for _ in range(30):
        rows = [{"a": rng.choice(["1", "01", "1.0", "2", "b", "B", "10"]),
                 "b": rng.choice(["7", "07", "x", ["7", "x"], ["07", "y", "7.0"]]), "v": rng.random()}
                for _ in range(rng.randint(1, 25))]
        for args in ("count sum(v) AS s by a", "count by a b", "values(a) AS va by b", "sum(v) AS s by b a"):
            assert differential(runner, "stats", args, rows) == "same", args
            assert differential(runner, "eventstats", args, rows) == "same", args


def test_unordered_codes_fall_back_when_hashes_collide(runner, monkeypatch):
    """Groups numbered by hash only when the hashes are as many as the values: forced
    collisions (every hash alike) number them by the values themselves, same result."""
    rows = [{"k": k, "v": str(i % 7)} for i, k in enumerate(["a", "b", "a", "c", "b", "d"] * 5)]
    series = pl.Series("k", [r["k"] for r in rows])
    codes, count = col_stats._unordered_codes(series)
    assert count == 4 and len(set(zip(codes.tolist(), series.to_list()))) == 4
    monkeypatch.setattr(pl.Series, "hash", lambda self, *a, **k: pl.Series([0] * self.len(), dtype=pl.UInt64))
    codes, count = col_stats._unordered_codes(series)
    assert count == 4 and len(set(zip(codes.tolist(), series.to_list()))) == 4
    for args in ("sum(v) AS s dc(v) AS d by k", "count values(v) AS vs by k v"):
        assert differential(runner, "eventstats", args, rows) == "same"


def test_number_column_is_to_number():
    """Strings skipped as never a number (addresses, words) and the rest: to_number's results."""
    from c2hunt_offline.values import to_number
    cases = ["10.1.2.3", "1.2", "1e5", "abc", "e", "E5", "-", "", " 7 ", "\u0661\u0662", "1:2", "fe80::1",
             "1.2.3", ".5", "5.", "+3", "inf", "nan", "0x1F", "\x1c7\x1c", "1_000", "\u0967\u0968", "1,5", "7%",
             "-0", "3e", "e3", "1.5e-3", "\u20077\u2007"]
    got = col_stats.number_column(pl.Series("x", cases)).to_list()
    expected = [to_number(c) for c in cases]
    assert [None if v is None else float(v) for v in expected] == got


def test_by_field_numbers_that_print_alike_group_as_the_row_command_groups(runner):
    """Epoch times with microseconds print with five decimals (``%.15g``): the row command
    groups by that text and shows the first number it met in each group; the columnar
    stats and eventstats do the same instead of refusing (a day of 5 million conn records
    has such neighbours in every second), also next to another by-field and a multivalue one."""
    rng = random.Random("print-alike")
    base = 1715644800.01728
    alike = [base, base - 1e-7, base + 1e-7, base + 2e-7, 1715644800.5, 1715644801.0, 7.0]
    assert len({to_str(v) for v in alike[:4]}) == 1 < len(set(alike[:4]))
    rows = [{"_time": rng.choice(alike), "src": rng.choice(["a", "b", ["a", "c"]]),
             "bytes": rng.choice([1, 2.5, 7])} for _ in range(300)]
    for row in rows[::7]:
        del row["bytes"]
    for name, args in [("stats", "count sum(bytes) AS total values(src) AS srcs by _time"),
                       ("stats", "count min(bytes) AS low by src _time"),
                       ("stats", "count by _time src"),
                       ("eventstats", "count AS n sum(bytes) AS total by src _time")]:
        assert differential(runner, name, args, rows) == "same", (name, args)


@pytest.mark.parametrize("ordered", [False, True])
def test_distinct_codes_past_the_enum_categories_index_the_distinct_values(ordered):
    # past _ENUM_CATEGORIES distinct strings the codes come from a join (``ordered``) or one
    # sort of the cells, not an Enum cast: each cell's code must still be its value's place in
    # ``distinct`` (code point order, or sort-key order with ``ordered``: numeric-looking texts
    # like "7" and "07" tie there)
    rng = random.Random(17)
    n_distinct = col_stats._ENUM_CATEGORIES + 500
    pool = ["%d" % i for i in range(n_distinct - 2)] + ["07", "x\u00e9"]
    cells = [rng.choice(pool) for _ in range(n_distinct * 2)] + pool
    series = pl.Series("v", cells, dtype=pl.String)
    codes, distinct, _ranks = col_stats._distinct_codes(series, ordered)
    assert distinct.len() == n_distinct
    assert distinct.gather(codes).to_list() == cells
    small = pl.Series("v", cells[:1000], dtype=pl.String)  # the Enum path, for the same order
    small_codes, small_distinct, _ = col_stats._distinct_codes(small, ordered)
    assert small_distinct.gather(small_codes).to_list() == cells[:1000]
    if ordered:
        assert [v for v in distinct.to_list() if v in set(small_distinct.to_list())] == small_distinct.to_list()
    else:
        assert distinct.to_list() == sorted(pool) and small_distinct.to_list() == sorted(set(cells[:1000]))


def _non_empty_items_reference(series):
    """What stats did before non_empty_items (list.eval): the same items, empty lists null."""
    values = series.list.eval(pl.element().filter(pl.element() != ""))
    return pl.select(pl.when(values.list.len() > 0).then(values)).to_series().alias(series.name)


def test_non_empty_items_equals_the_list_eval_filter():
    rng = random.Random(17)
    pool = ["", "a", "b", "10", None, "a"]
    cases = [
        [],
        [None, None],
        [[], [""], [None], ["", None, ""]],
        [["b", "", "a", None, "b"], None, ["x"], [], ["", "y"]],
        [None] * 50 + [["only", "", "once"]] + [None] * 50,
        [None if rng.random() < 0.5 else [rng.choice(pool) for _ in range(rng.randrange(5))]
         for _ in range(400)],
    ]
    for rows in cases:
        series = pl.Series("mv", rows, dtype=pl.List(pl.String))
        got = col_stats.non_empty_items(series)
        want = _non_empty_items_reference(series)
        assert got.name == "mv" and got.dtype == want.dtype
        assert got.to_list() == want.to_list(), rows
