"""The offline engine behaves like Splunk where Splunk's documentation says how, or refuses.

Each case cites the rule it checks: searchbnf.conf (sort), segmenters.conf defaults (bare
terms), the eval reference (operators, precedence, escapes, type errors, min/max).
"""
import pytest

from c2hunt_offline import SplError

ROWS = [{"a": "1", "b": "1", "id": "x"}, {"a": "1", "b": "2", "id": "y"},
        {"a": "2", "b": "1", "id": "z"}]


def ids(rows):
    return [r["id"] for r in rows]


def test_sort_lone_sign_applies_to_every_following_field(spl):
    # searchbnf: "sort - a, b" sorts by a then b, both descending
    assert ids(spl("search * | sort 0 - a, b", ROWS)) == ["z", "y", "x"]
    # a sign joined to the field applies to that field only
    assert ids(spl("search * | sort 0 -a, b", ROWS)) == ["z", "x", "y"]
    # a later lone sign switches the direction back
    assert ids(spl("search * | sort 0 - a + b", ROWS)) == ["z", "x", "y"]


@pytest.mark.parametrize("term, raw, found", [
    ("dns", "image=C:\\x\\nodns.exe", False),      # inside a segment: no match
    ("dns", "proto=dns query", True),
    ("evil.com", "GET http://www.evil.com/x", True),  # minor segments in order
    ("cmd", "C:\\Windows\\cmd.exe /c", True),
    ("cmd", "cmdline=1", False),
    ("cmd*", "cmdline=1", True),                   # trailing wildcard: a segment prefix
    ("*line", "cmdline=1", True),
    ("a*b", "a x b", False),                       # a wildcard never crosses a space
    ('"x b"', "a x b", True),                      # a phrase is matched as its segments
])
def test_bare_terms_match_whole_segments(spl, term, raw, found):
    rows = spl("search " + term, [{"_raw": raw}])
    assert bool(rows) is found


def test_filter_exclusion_is_no_broader_than_splunk(spl):
    # a _filter macro's "NOT svc" must not drop an event that merely contains "svchost"
    rows = [{"_raw": "Image=svchost.exe"}, {"_raw": "Image=svc.exe"}]
    assert [r["_raw"] for r in spl("search NOT svc", rows)] == ["Image=svchost.exe"]


@pytest.mark.parametrize("expr", ["if(1=1 and 2=2, 1, 0)", "if(1=1 or 2=2, 1, 0)",
                                  "if(not 1=1, 1, 0)"])
def test_eval_operators_are_uppercase_only(spl, expr):
    with pytest.raises(SplError):
        spl("| makeresults | eval r=" + expr)


def test_eval_xor_is_evaluated_last(spl):
    # true() OR false() XOR true(): (true OR false) XOR true = false; XOR first would be true
    rows = spl("| makeresults | eval r=if(true() OR false() XOR true(), 1, 0)")
    assert rows[0]["r"] == 0


@pytest.mark.parametrize("expr, value", [
    (r'"a\tb"', "a\tb"),
    (r'"a\nb"', "a\nb"),
    (r'"q\"q"', 'q"q'),
    (r'"back\\slash"', "back\\slash"),
    (r'"\d+"', "\\d+"),   # unknown escapes stay as written (regexes)
])
def test_eval_string_escapes(spl, expr, value):
    assert spl("| makeresults | eval r=" + expr)[0]["r"] == value


@pytest.mark.parametrize("expr", ["(1>0)", 'if("x", 1, 0)', "1 AND 2", "NOT 3",
                                  "case(1, 2)", "(1>0)+1"])
def test_eval_type_errors_are_refused_before_any_event(spl, expr):
    # no rows at all: Splunk rejects these when it parses the search
    with pytest.raises(SplError):
        spl("search * | eval r=" + expr, [])


def test_where_needs_a_condition(spl):
    with pytest.raises(SplError, match="condition"):
        spl('search * | where "abc"', [])


@pytest.mark.parametrize("expr, value", [
    ('max(3, "abc")', "abc"),        # any string is greater than any number
    ('min(3, "abc")', 3),
    ('max(10, 9, "1")', "1"),        # a quoted literal is a string, even "1"
    ("max(10, 9, tonumber(\"11\"))", 11),
    ('min("b", "a")', "a"),
])
def test_eval_max_min_mixed_types(spl, expr, value):
    assert spl("| makeresults | eval r=" + expr)[0]["r"] == value
