"""The columnar rex (columnar/shaping.py) gives exactly what the row command gives.

Compared directly (the columnar function against the row function on the same rows, so a
fallback cannot hide a difference): every rex of the saved searches and their drilldowns
(macros expanded) over the frames each gets while hunting every scenario of samples/, then
seeded fuzz (patterns with groups, optional groups, alternation, anchors, classes, case
flags, sed mode; values with non-ASCII, newlines, tabs, empty strings, multivalues, numbers,
missing fields). Also checked: the app's patterns take the fast path (polars rules values out
or extracts the groups itself), so a change that silently sends them through ``re`` again
fails here.
"""
import random
import re

import polars as pl
import pytest

from c2hunt_offline.columnar import commands as columnar_commands
from c2hunt_offline.columnar import shaping
from c2hunt_offline.columnar.table import NotColumnar, frame_from_rows, rows_from_frame
from c2hunt_offline.commands.shaping import cmd_rex as row_rex
from c2hunt_offline.conf import split_pipeline
from c2hunt_offline.engine import Runner, _Context
from c2hunt_offline.values import SplError, convert_regex
from support import ROOT, SAMPLES, SCENARIOS, app_search_texts, shown_rows as shown



@pytest.fixture(scope="module")
def runner():
    return Runner(str(ROOT))


def compare(runner, args, frame):
    """Assert the columnar rex and the row rex agree on ``frame`` (rows, columns, error text)."""
    rows = rows_from_frame(frame)
    try:
        expected = ("ok", shown(row_rex(_Context(runner, []), args, [dict(r) for r in rows])))
    except SplError as exc:
        expected = ("error", type(exc).__name__, str(exc))
    try:
        got_frame = shaping.cmd_rex(_Context(runner, []), args, frame)
    except SplError as exc:
        got = ("error", type(exc).__name__, str(exc))
    except NotColumnar:
        return "fallback"  # the engine runs the row command itself
    else:
        got = ("ok", shown(rows_from_frame(got_frame)))
        assert got_frame.height == frame.height
        assert got_frame.columns[:frame.width] == frame.columns
    assert got == expected, (args, rows[:5])
    return expected[0]


def _app_rex_args(runner):
    """The argument text of every rex the app's searches (and drilldowns) run, macros expanded."""
    out = []
    for text in app_search_texts(runner):
        if "rex" not in text:
            continue
        for command in split_pipeline(runner.expand(text)):
            if command.split(None, 1)[0].lower() == "rex":
                out.append(command.split(None, 1)[1])
    return list(dict.fromkeys(out))


def _pattern(args):
    return convert_regex(re.search(r'"((?:[^"\\]|\\.)*)"\s*$', args.strip()).group(1))


def test_every_app_rex_takes_the_fast_path(runner):
    """polars extracts the groups of every app pattern itself (all of them ask for one match)."""
    every = _app_rex_args(runner)
    assert len(every) >= 10
    for args in every:
        pattern = _pattern(args)
        assert shaping.rex_filter_pattern(pattern) is not None, args
        assert shaping.rex_native_pattern(pattern) is not None, args


def _counting(monkeypatch):
    """Count the values the exact path (Python's re, once per distinct value) gets."""
    seen = []
    original = shaping._per_distinct

    def spy(series, rows, fn):
        codes, results = original(series, rows, fn)
        seen.append(len(results))
        return codes, results
    monkeypatch.setattr(shaping, "_per_distinct", spy)
    return seen


def test_app_rex_over_plain_text_never_runs_python_re(runner, monkeypatch):
    seen = _counting(monkeypatch)
    raws = ['{"ts":%d,"uid":"C%d","id.orig_h":"10.0.0.%d"}' % (i, i, i % 250) for i in range(300)]
    frame = pl.DataFrame({"_raw": raws + ["type=SOCKADDR msg=audit(1700000000.123:42): saddr=0200"]})
    args = 'field=_raw "msg=audit\\((?<audit_epoch>[0-9.]+):(?<audit_record>[0-9]+)\\)"'
    assert compare(runner, args, frame) == "ok"
    out = shaping.cmd_rex(_Context(runner, []), args, frame)
    assert out.get_column("audit_record").to_list()[-1] == "42"
    assert out.get_column("audit_epoch").null_count() == 300
    assert seen and max(seen) == 0


def test_non_plain_values_go_through_python_re(runner, monkeypatch):
    seen = _counting(monkeypatch)
    frame = pl.DataFrame({"_raw": ["user=ann", "user=bob\n", "usér=x", "user=éva", "none", None]})
    assert compare(runner, '"user=(?<who>\\w+)$"', frame) == "ok"
    assert seen == [3]   # the three values holding a newline or non-ASCII letter


def test_filter_only_path_for_many_matches(runner, monkeypatch):
    """max_match=0 (all matches): polars rules values out, re extracts from the rest."""
    seen = _counting(monkeypatch)
    frame = pl.DataFrame({"f": ["a1b22", "xyz", "3", "", None, "xyz"]})
    assert compare(runner, 'field=f max_match=0 "(?<d>\\d+)"', frame) == "ok"
    assert seen == [2]


def test_sed_leaves_values_it_cannot_match(runner, monkeypatch):
    seen = _counting(monkeypatch)
    frame = pl.DataFrame({"f": ["alice and ALICE", "bob", "bob", None, "carol"]})
    assert compare(runner, 'field=f mode=sed "s/alice/X/gi"', frame) == "ok"
    assert seen == [1]


def test_named_group_lookalikes_are_not_rewritten():
    assert shaping._without_named_groups(r"(?P<a>x)\(?P<b>y)[(?P<c>]")[0] == r"(?:x)\(?P<b>y)[(?P<c>]"
    assert shaping._without_named_groups(r"[]](?P<a>x)[^]]")[0] == r"[]](?:x)[^]]"


def test_class_set_tokens_matter_only_inside_a_class():
    assert shaping.rex_filter_pattern(r"BEGIN -- (?P<a>\w+) && ~~") == r"BEGIN -- (?:\w+) && ~~"
    for pattern in [r"(?P<a>[a-z--c])", r"(?P<a>[a&&b])", r"(?P<a>[a~~b])", r"(?P<a>[[a]])"]:
        assert shaping.rex_filter_pattern(pattern) is None, pattern


def test_patterns_polars_may_read_otherwise_are_refused():
    for pattern in [r"(?P<a>a+)+b", r"(?P<a>a|b)*c", r"(?P<a>\w+)\1", r"(?P<a>x)(?P=a)", r"(?P<a>[[:alpha:]])",
                    r"(?P<a>x{,3})", r"(?P<a>\Ax)", r"(?P<a>é)", r"(?s)(?P<a>.)"]:
        assert shaping.rex_filter_pattern(pattern) is None, pattern
    for pattern in [r"(?:(?P<a>x)|y)+", r"(?P<a>x)*", r"(?P<a>x){2}"]:
        assert shaping.rex_native_pattern(pattern) is None, pattern


# ------------------------------------------------------------------ saved searches' inputs

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_saved_search_rex_inputs_of_every_scenario(scenario, runner, monkeypatch):
    captured = []
    real = columnar_commands.COLUMNAR["rex"]

    def spy(ctx, args, frame):
        captured.append((args, frame))
        return real(ctx, args, frame)
    monkeypatch.setitem(columnar_commands.COLUMNAR, "rex", spy)
    hunter = Runner(str(ROOT))
    events, _ = hunter.read_files([str(SAMPLES / scenario)])
    _, errors = hunter.hunt(events)
    assert not errors
    for args, frame in captured:
        compare(runner, args, frame)


# ------------------------------------------------------------------ fuzz

_FUZZ_PATTERNS = [
    r"(?<a>\d+)", r"user=(?<who>\w+)", r"^(?<first>\S+)", r"(?<last>\w+)$", r"(?<a>a)?(?<b>b)?",
    r"(?<a>a)|(?<b>b)", r"(?<x>ab|a)(?<y>b?)", r"(?<e>)b", r"(?<k>[^=\s]+)=(?<v>[^\s]*)",
    r"(?i)(?<w>alice|bob)", r"(?<h>[0-9a-fA-F]{2})(?<h2>[0-9a-f]{2})", r"(?:x(?<n>\d))?y",
    r"(?<sp>\s+)(?<after>.)", r"(?<dot>.+?)\.", r"\b(?<word>\w{3})\b", r"(?<t>\t)",
    r"(?<q>\"[^\"]*\")", r"(?<br>[]x])", r"(?<neg>[^]a-c]+)", r"(?<a>a+)+b", r"(?<r>(?:ab)+)",
    r"(?<u>é+)", r"(?<any>.)", r"(?<nl>\n)", r"(?<a>x)(?<b>y)?(?<c>z)?", r"(?<d>\d)\.(?<d2>\d*)",
    r"(?<w>\W+)", r"^$(?<z>)", r"(?<o>[a-z])\1", r"(?<p>\()(?<pp>\))", r"(?<a>a)|(?<a2>[)", r"no group",
    r"(?<a>x", r"(?<a>\d+)\.(?<b>\d+)", r"(?<k>-?\d+(?:\.\d+)?)e(?<x>\d+)",
]
_FUZZ_TEXTS = ["", " ", "0", "12", "1.5", "a", "ab", "abb", "b", "xyz", "xy", "x1y", "user=ann", "user=",
               "User=BOB", "ALICE bob", "k=v k2= k3=v3", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "a.b.c",
               "deadBEEF", "tab\there", "line\nbreak", "end\n", "\n", "café", "é", "漢字=x", "a\U0001F600b",
               '"quoted" rest', "(x)", "]x[", "d-e", "aa", "abab", "a\r\nb", " lead", "trail ", "x" * 500]


def _fuzz_value(rng):
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(_FUZZ_TEXTS)
    if roll < 0.7:
        return rng.choice([0, 7, -3, 1.5, 1e20, 1700000000])
    if roll < 0.85:
        return [rng.choice(_FUZZ_TEXTS) for _ in range(rng.choice([2, 3]))]
    return None


def _fuzz_frame(rng, n, kind):
    rows = []
    for _ in range(n):
        row = {}
        if kind == "text":
            value = rng.choice(_FUZZ_TEXTS)
        elif kind == "numbers":
            value = rng.choice([0, 7, -3, 1.5, 1e20, 1700000000, 12, 2.5e-9])
        elif kind == "mv":
            value = rng.choice([rng.choice(_FUZZ_TEXTS), [rng.choice(_FUZZ_TEXTS) for _ in range(rng.choice([2, 3]))]])
        else:
            value = _fuzz_value(rng)
        if value is not None and rng.random() < 0.9:
            row["f"] = value
        if rng.random() < 0.3:
            row[rng.choice(["a", "who", "b"])] = rng.choice(["old", "12"])
        row["i"] = str(len(rows))
        rows.append(row)
    return frame_from_rows(rows)


def test_fuzz_identical_to_the_row_command(runner):
    rng = random.Random(2024)
    outcomes = {"ok": 0, "error": 0, "fallback": 0}
    for trial in range(1500):
        frame = _fuzz_frame(rng, rng.choice([1, 5, 40]), rng.choice(["text", "text", "mv", "numbers", "mixed"]))
        pattern = rng.choice(_FUZZ_PATTERNS)
        roll = rng.random()
        if roll < 0.15:
            plain = re.sub(r"\(\?<\w+>", "(", pattern)
            args = 'field=f mode=sed "s/%s/%s/%s"' % (plain.replace("/", "\\/"), rng.choice(["X", "<\\1>", ""]),
                                                      rng.choice(["", "g", "i", "gi"]))
        else:
            option = rng.choice(["", "", "max_match=0 ", "max_match=2 "])
            args = '%sfield=%s "%s"' % (option, rng.choice(["f", "f", "f", "missing"]), pattern.replace('"', '\\"'))
        outcomes[compare(runner, args, frame)] += 1
    assert outcomes["ok"] > 1000 and outcomes["error"] > 50, outcomes


_ATOMS = ["a", "b", "x", "1", " ", "-", "\\.", ".", "\\d", "\\w", "\\W", "\\s", "\\S", "[a-c]", "[^a ]", "[]b]",
          "^", "$", "\\b", "\\B", "[0-9a-f]", "ab", "é", "K", "[A-C]"]
_QUANTIFIERS = ["?", "*", "+", "{1,2}", "{2}", "??", "*?", "+?", "{0,3}?"]


def _random_pattern(rng, names, depth=0):
    parts = []
    for _ in range(rng.randrange(1, 4)):
        if depth < 2 and rng.random() < 0.35:
            inner = _random_pattern(rng, names, depth + 1)
            if rng.random() < 0.7:
                names.append("g%d" % len(names))
                atom = "(?<%s>%s)" % (names[-1], inner)
            else:
                atom = "(?:%s)" % inner
        else:
            atom = rng.choice(_ATOMS)
        if rng.random() < 0.3:
            atom += rng.choice(_QUANTIFIERS)
        parts.append(atom)
    text = "".join(parts)
    if rng.random() < 0.15:
        text += "|" + _random_pattern(rng, names, depth + 1)
    return text


def test_fuzz_generated_patterns_identical_to_the_row_command(runner):
    """Random patterns (groups, optional and repeated groups, alternation, anchors, lazy
    quantifiers) over random short texts: polars' extraction and filter agree with re."""
    rng = random.Random(99)
    native = 0
    for _ in range(1200):
        names = []
        pattern = _random_pattern(rng, names)
        if not names:
            pattern = "(?<whole>%s)" % pattern
        if rng.random() < 0.2:
            pattern = "(?i)" + pattern
        texts = ["".join(rng.choice("abx1 -.\tcé\n\x1cK\u212a") for _ in range(rng.randrange(0, 12))) for _ in range(30)]
        frame = pl.DataFrame({"f": [t if rng.random() < 0.9 else None for t in texts]})
        option = rng.choice(["", "", "", "max_match=0 "])
        compare(runner, '%sfield=f "%s"' % (option, pattern), frame)
        native += option == "" and shaping.rex_native_pattern(convert_regex(pattern)) is not None
    assert native > 300


def test_patterns_without_unicode_classes_read_every_text_alike(runner, monkeypatch):
    """Literals, ASCII ranges, negated classes and "." take the same characters in both engines,
    so such a pattern needs no plain-ASCII check: no value goes through re, and the result is
    still the row command's on newlines, non-ASCII letters and \\x1c (whitespace to re's \\s)."""
    seen = _counting(monkeypatch)
    frame = pl.DataFrame({"_raw": ["a=1\n", "a=é\x1c", "a=\n", "é a=2", "a=[x]", "", None]})
    for args in ['"a=(?<v>.)"', '"a=(?<v>[^\\]]+)"', '"(?<v>[0-9]+)"', 'max_match=0 "(?<v>a=.)"',
                 'mode=sed "s/a=./X/g"']:
        assert compare(runner, args, frame) == "ok"
    assert seen[:4] == [0, 0, 0, 4]  # max_match=0: re extracts from the 4 values polars matches in
    for pattern in [r"(?P<v>\s)", r"(?P<v>\w)", r"(?P<v>x)$", r"(?P<v>\d)", r"(?P<v>\b)"]:
        assert not shaping._reads_every_text_alike(pattern), pattern
    assert not shaping._reads_every_text_alike("(?P<v>x)", ignore_case=True)
    assert shaping._reads_every_text_alike(r"\$(?P<v>[^\\]+)\\d")


@pytest.mark.parametrize("expression", [r"s/(a)/\2/", r"s/a/\g<x>/g", r"s/(?<x>a)/\g<y>/"])
def test_a_bad_sed_replacement_is_a_search_error_with_or_without_events(runner, expression):
    args = "field=msg mode=sed \"%s\"" % expression
    for rows in ([], [{"msg": "abc"}], [{"other": "abc"}]):
        with pytest.raises(SplError, match="rex: bad sed replacement"):
            row_rex(_Context(runner, []), args, [dict(r) for r in rows])
        if rows:
            with pytest.raises(SplError, match="rex: bad sed replacement"):
                shaping.cmd_rex(_Context(runner, []), args, frame_from_rows(rows))

