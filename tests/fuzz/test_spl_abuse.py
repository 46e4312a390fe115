"""SPL abuse of the offline engine (issue 20, item 11): a clear search error or Splunk's limit.

Every hostile search below either fails with :class:`SplError` (the CLI prints "search
error" and exits 4) or runs under the limit Splunk applies (limits.conf), within a few
seconds. None may raise anything else, hang, or allocate without bound. A seeded random
campaign of mangled searches checks the same over many more inputs; set
C2HUNT_FUZZ_ITERATIONS for a longer run.
"""
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from c2hunt_offline import Runner, SplError

ROOT = Path(__file__).resolve().parents[2]
try:
    from c2hunt_offline.commands.shaping import MAKERESULTS_MAX_ROWS
except ImportError:  # before the fix
    MAKERESULTS_MAX_ROWS = None

ITERATIONS = int(os.environ.get("C2HUNT_FUZZ_ITERATIONS", "300"))
SECONDS = 20  # each case; the regex budget is a few seconds

EVIL_STRING = "a" * 40 + "!"  # (a+)+$ backtracks 2^40 times on this
NEST = 5000


@pytest.fixture(scope="module")
def runner():
    return Runner()


def _run(runner, spl, events=()):
    started = time.monotonic()
    try:
        result = runner.run(spl, list(events))
    except SplError as exc:
        result = exc
    assert time.monotonic() - started < SECONDS, "bounded in time"
    return result


ERRORS = {
    "eval nested parentheses": "| makeresults | eval x=" + "(" * NEST + "1" + ")" * NEST,
    "where nested parentheses": "| makeresults | where " + "(" * NEST + "1=1" + ")" * NEST,
    "search nested parentheses": "| makeresults | search " + "(" * NEST + "a=1" + ")" * NEST,
    "eval nested function calls": "| makeresults | eval x=" + "abs(" * NEST + "1" + ")" * NEST,
    "eval unary minus chain": "| makeresults | eval x=" + "-" * NEST + "1",
    "eval not chain": "| makeresults | where " + "NOT " * NEST + "1=1",
    "rex catastrophic backtracking":
        '| makeresults | eval s="%s" | rex field=s "(?<x>(a+)+)$"' % EVIL_STRING,
    "rex sed catastrophic backtracking":
        '| makeresults | eval s="%s" | rex field=s mode=sed "s/(a+)+$/b/"' % EVIL_STRING,
    "match catastrophic backtracking":
        '| makeresults | eval s="%s" | where match(s, "(a+)+$")' % EVIL_STRING,
    "replace catastrophic backtracking":
        '| makeresults | eval s="%s" | eval t=replace(s, "(a+)+$", "b")' % EVIL_STRING,
    "makeresults negative count": "| makeresults count=-5",
    "makeresults non-numeric count": "| makeresults count=lots",
    "head huge count": "| makeresults | head 99999999999999999999999999",
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_abuse_is_a_clear_search_error(runner, name):
    result = _run(runner, ERRORS[name])
    if name == "head huge count":
        assert not isinstance(result, SplError) or "head" in str(result)
        return
    assert isinstance(result, SplError), "%s: expected a search error, got %r" % (name, result)
    assert "Traceback" not in str(result)


def test_nesting_error_names_the_limit(runner):
    result = _run(runner, ERRORS["eval nested parentheses"])
    assert "nested" in str(result)


def test_regex_budget_error_names_the_command_and_the_budget(runner):
    result = _run(runner, ERRORS["rex catastrophic backtracking"])
    assert str(result).startswith("rex:") and "time budget" in str(result)


def test_a_fast_regex_over_many_events_is_not_cut_by_the_budget(runner):
    events = [{"_raw": "user=u%d action=login" % i, "_time": i} for i in range(20000)]
    rows = runner.run('search * | rex "user=(?<user>\\w+)" | stats dc(user) AS users', events).rows
    assert rows == [{"users": 20000}]


def test_strftime_out_of_range_is_null(runner):
    rows = _run(runner, '| makeresults | eval t=strftime(1e20, "%Y"), u=strftime(-1e20, "%Y"), '
                        'v=strftime(0, "%Y")').rows
    assert "t" not in rows[0] and "u" not in rows[0]
    assert rows[0]["v"] in ("1970", "1969")


@pytest.mark.parametrize("expr", ["pow(10,100000)", "pow(2,1e6)", "pow(-10,100001)",
                                  "exp(1000000)", "1e308*10", "pow(10,100000)*0"])
def test_huge_numbers_are_null_not_a_crash(runner, expr):
    result = _run(runner, "| makeresults | eval x=%s | table x" % expr)
    assert not isinstance(result, SplError)
    assert result.rows[0].get("x") in (None, "inf", float("inf"), "-inf", float("-inf"), 0, 0.0)


def test_pow_keeps_exact_small_integers(runner):
    rows = _run(runner, "| makeresults | eval x=pow(2,10), y=pow(2,0.5)").rows
    assert rows[0]["x"] == 1024
    assert abs(rows[0]["y"] - 2 ** 0.5) < 1e-12


def test_makeresults_is_capped_at_splunk_maxresultrows(runner):
    started = time.monotonic()
    result = runner.run("| makeresults count=100000000", [])
    assert len(result.rows) == MAKERESULTS_MAX_ROWS == 50000
    assert any("maxresultrows" in m for m in result.messages)
    assert time.monotonic() - started < SECONDS


def test_cli_gives_exit_4_and_no_traceback():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "offline"))
    for spl in (ERRORS["eval nested parentheses"], ERRORS["match catastrophic backtracking"]):
        proc = subprocess.run([sys.executable, "-m", "c2hunt_offline", "run", spl], capture_output=True,
                              text=True, timeout=60, env=env)
        assert proc.returncode == 4, proc.stderr[-500:]
        assert "search error" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- seeded random campaign
FRAGMENTS = ['| makeresults count=3', '| eval x=', '(', ')', '"', "'", '`', '|', ' by ', '1e308',
             'pow(', 'strftime(', 'match(', 'replace(', 'split(', 'mvindex(', 'if(', 'case(',
             ',', '*', '+', '-', '/', '%', '=', '==', '!=', ' AND ', ' OR ', ' NOT ', '\\',
             '| stats count', '| rex "(?<a>', '| rex field=x "', '| where ', '| search ',
             '| table ', '| sort - ', '| head ', '| dedup ', '| rename ', ' as ', '| bin span=',
             '| lookup ', '| inputlookup ', '| fillnull value=', '| mvexpand ', '[', ']', '$',
             '0', '-1', '99999999999999999999', 'x', '_time', 'null()', 'tonumber(', '.', '..',
             '| makeresults count=', '| eventstats ', '| tstats count from datamodel=',
             '\x00', '\u00e9', '\n', '(?<', ')+', '{', '}', '| outputlookup ',
             # hostile pieces: deep nesting, numbers past a double or a datetime, paths
             '(' * 3000, 'abs(' * 3000, '| eval y=strftime(1e20, "%Y")', '| eval y=pow(10,100000)',
             '| eval y=exp(1e6)', '| makeresults count=1e300', '/etc/passwd.csv', '../x.csv',
             '| where match(x, "(a|a)*$")', '| rex field=x max_match=-1 "(?<z>a*)*"']


def _mangled(rng):
    parts = ['| makeresults count=3 | eval x="abc"']
    for _ in range(rng.randint(1, 12)):
        parts.append(rng.choice(FRAGMENTS))
    return "".join(parts)


def test_random_searches_give_rows_or_a_search_error(runner, tmp_path):
    runner = Runner(lookup_dir=str(tmp_path))
    rng = random.Random(20)
    unexpected = []
    for _ in range(ITERATIONS):
        spl = _mangled(rng)
        try:
            runner.run(spl, [])
        except SplError:
            continue
        except Exception as exc:  # noqa: BLE001  (the campaign's finding)
            unexpected.append("%r -> %s: %s" % (spl, type(exc).__name__, exc))
    assert unexpected == []


def test_the_watchdog_leaves_the_alarm_signal_as_it_found_it(runner):
    import signal
    marker = lambda signum, frame: None  # noqa: E731
    previous = signal.signal(signal.SIGALRM, marker)
    try:
        runner.run('| makeresults | eval s="abc" | rex field=s "(?<x>b)"', [])
        _run(runner, ERRORS["match catastrophic backtracking"])
        assert signal.getsignal(signal.SIGALRM) is marker
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_search_off_the_main_thread_runs_without_the_budget(runner):
    import threading
    out = {}

    def work():
        out["rows"] = runner.run('| makeresults | eval s="abc" | rex field=s "(?<x>b)"', []).rows

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert out["rows"][0]["x"] == "b"
