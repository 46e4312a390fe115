"""The search command's matching rules (Splunk Search Reference: search command)."""
import pytest

from c2hunt_offline import SplError

EVENTS = [
    {"_raw": "conn from Alpha to beta", "user": "Alice", "dest_port": "443", "tags": ["x", "Y"], "n": "5"},
    {"_raw": "other Event", "user": "bob", "dest_port": "9050", "n": "50"},
    {"_raw": "no user here", "dest_port": "53", "n": "abc"},
]


def users(spl, query):
    return [e.get("user", "-") for e in spl(query, EVENTS)]


@pytest.mark.parametrize("query, expected", [
    ("user=alice", ["Alice"]),                  # field values match case-insensitively
    ("user=AL*", ["Alice"]),                    # wildcards
    ("user=*", ["Alice", "bob"]),               # field exists
    ("user!=alice", ["bob"]),                   # != needs the field to exist
    ("NOT user=alice", ["bob", "-"]),           # NOT also matches events without it
    ("dest_port IN (443, 53)", ["Alice", "-"]),
    ("NOT dest_port IN (443, 53)", ["bob"]),
    ("dest_port>100", ["Alice", "bob"]),        # numeric comparison
    ("n<10", ["Alice"]),                        # 'abc' is not < 10 numerically; lexical 'abc'>'10'
    ("tags=y", ["Alice"]),                      # any value of a multivalue field
    ("alpha", ["Alice"]),                       # bare terms match _raw case-insensitively
    ('"other event"', ["bob"]),                 # phrases
    ("ev*", ["bob"]),
    ("user=bob OR dest_port=53", ["bob", "-"]),
    ("dest_port=443 OR dest_port=53 user=*", ["Alice"]),  # OR binds tighter than AND
    ("(dest_port=443 OR dest_port=53) AND NOT user=*", ["-"]),
    ("index=anything user=bob", []),            # index= is honoured (files read into main)
    ("index=ma* user=bob", ["bob"]),
    ("earliest=-24h latest=now user=bob", []),  # time selectors need a _time (see test_replay)
    ("*", ["Alice", "bob", "-"]),
    ('user="Ali*"', ["Alice"]),                 # quoted values keep wildcards
])
def test_search_terms(spl, query, expected):
    assert users(spl, query) == expected


def test_search_after_stats_matches_fields(spl):
    rows = spl("search * | stats count by dest_port | search count=1 dest_port=9050", EVENTS)
    assert rows == [{"dest_port": "9050", "count": 1}]


def test_subsearch_is_refused(spl):
    with pytest.raises(SplError, match="subsearch"):
        spl("user=a [search user=b]", EVENTS)


def test_unbalanced_parenthesis(spl):
    with pytest.raises(SplError):
        spl("(user=a", EVENTS)
