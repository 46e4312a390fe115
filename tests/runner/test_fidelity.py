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


def test_boolean_operators_case(spl):
    # search: AND/OR/NOT are operators only in uppercase; "or" is a search term
    rows = [{"_raw": "a x"}, {"_raw": "b or"}]
    assert [r["_raw"] for r in spl("search a OR b", rows)] == ["a x", "b or"]
    assert [r["_raw"] for r in spl("search b or", rows)] == ["b or"]
    # eval/where: searchbnf.conf says "All literals are case-insensitive" (eval-bool-exp's
    # AND|OR|XOR, NOT|!), and ESCU's detections rely on it (`where a >= 5 and b >= 1`)
    assert spl("| makeresults | eval r=if(1=1 and not 2=3, 1, 0)")[0]["r"] == 1
    assert spl("| makeresults | eval r=if(!(1=2) or 1=1, 1, 0)")[0]["r"] == 1


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


def test_list_keeps_list_maxsize_values_and_warns(runner):
    rows = [{"g": "a", "v": str(i)} for i in range(150)]
    result = runner.run("search * | stats list(v) AS l values(v) AS vs by g", rows)
    assert len(result.rows[0]["l"]) == 100          # limits.conf [stats] list_maxsize
    assert len(result.rows[0]["vs"]) == 150         # values() has no default limit
    assert any("list_maxsize" in m for m in result.messages)


def test_eventstats_stops_adding_fields_past_both_limits(runner, monkeypatch):
    from c2hunt_offline import limits
    monkeypatch.setattr(limits, "MAXRESULTROWS", 3)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", 0)   # 0: maxresultrows alone decides
    rows = [{"g": "a", "v": str(i)} for i in range(5)]
    result = runner.run("search * | eventstats count AS n by g", rows)
    assert [r.get("n") for r in result.rows] == [3, 3, 3, None, None]
    assert any("maxresultrows=3" in m for m in result.messages)
    # within the limits nothing is dropped and nothing is said
    monkeypatch.setattr(limits, "MAXRESULTROWS", 50000)
    result = runner.run("search * | eventstats count AS n by g", rows)
    assert [r.get("n") for r in result.rows] == [5] * 5 and not result.messages


def test_eventstats_memory_limit_needs_both_limits(runner, monkeypatch):
    from c2hunt_offline import limits
    monkeypatch.setattr(limits, "MAXRESULTROWS", 2)
    monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", 200)  # rows past 2, but far below 200 MB
    rows = [{"g": "a"} for _ in range(5)]
    assert [r.get("n") for r in runner.run("search * | eventstats count AS n by g", rows).rows] == [5] * 5


# Syntax the ESCU corpus showed the runner misreading (tests/runner/test_escu_corpus.py)

def test_stats_functions_nest_any_depth(spl):
    rows = [{"a": "b", "c": "1", "x": "k"}, {"a": "z", "c": "2", "x": "k"}]
    out = spl('search * | stats values(eval(if(a=="b", c, null()))) AS v, '
              'dc(eval(if(a!="b" AND c>1, c, null()))) AS n by x', rows)
    assert out == [{"x": "k", "v": "1", "n": 1}]


def test_quoted_and_unquoted_text_side_by_side_make_one_argument(spl):
    rows = [{"All_Traffic.src": "1.2.3.4"}]
    assert spl('search * | rename "All_Traffic".* AS *', rows) == [{"src": "1.2.3.4"}]


def test_search_quoted_field_in_list_and_values_with_parentheses(spl):
    rows = [{"result.status": "FAILED", "p": "x GetCurrent() y"}, {"result.status": "OK", "p": "z"}]
    assert len(spl('search "result.status" IN ("FAIL*", "X")', rows)) == 1
    assert len(spl("search (p=*GetCurrent()*)", rows)) == 1
    assert len(spl('search p=*\\"q\\"* OR p=z', rows + [{"p": 'a "q" b'}])) == 2


def test_eval_double_quoted_assignment_target(spl):
    assert spl('| makeresults | eval "My Field" = 1+1')[0]["My Field"] == 2


def test_relative_time_and_convert(spl):
    out = spl('| makeresults | eval t=1715680000, r=relative_time(t, "-1d@d"), d="01:02:03" '
              '| convert timeformat="%Y-%m-%d %H:%M:%S" ctime(t) AS ts dur2sec(d)')
    assert out[0]["r"] == 1715558400 and out[0]["ts"] == "2024-05-14 09:46:40"
    assert out[0]["d"] == 3723
