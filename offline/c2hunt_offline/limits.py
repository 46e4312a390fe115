"""The limits a search runs under, as Splunk applies them (limits.conf), and the regex budget.

limits.conf defaults that change what a search returns (etc/system/default/limits.conf, the
same in 9.4.3 and 10.4.2):

- ``[stats] list_maxsize = 100``: ``list()`` keeps the first 100 values.
- ``[searchresults]``/``[stats] maxresultrows = 50000`` and ``[default] max_mem_usage_mb =
  200``: eventstats stops adding its fields once *both* limits are passed (both limits,
  limits.conf.spec, max_mem_usage_mb NOTE; with max_mem_usage_mb = 0 only maxresultrows
  counts). stats spills to disk instead and loses nothing.
- ``sort``'s default count of 10,000 (searchbnf.conf) is applied by the sort command.
- ``makeresults`` creates at most ``[makeresults] maxresultrows`` rows (50000 by default).

The memory a result takes inside Splunk is not known here; the runner estimates it as the
text size of the result's field names and values, a lower bound, so where it truncates,
Splunk truncates at least as early. Every limit that drops data adds a message to the
search's messages (the job inspector's warnings).

A hostile or careless search must end in a clear search error or a documented cap, never a
traceback, a hang or unbounded memory. Splunk bounds each PCRE match (``[rex] match_limit =
100000``, ``depth_limit = 1000``), so catastrophic backtracking fails fast. Python's ``re``
has no such counter, so each regex applied to a value gets a time budget instead: a
watchdog timer (SIGALRM, main thread only) interrupts a single regex call that runs past it
and the search fails with "exceeded the regex time budget". A legitimate match over one
field value takes microseconds; :data:`REGEX_TIME_BUDGET_SECONDS` is far above that and far
below a hang.
"""
import contextlib
import signal
import threading

from .values import SplError, mv, to_str

MAKERESULTS_MAX_ROWS = 50000  # limits.conf [makeresults] maxresultrows (default)
REGEX_TIME_BUDGET_SECONDS = 1.0  # one regex call; it is stopped within twice this


class RegexTimeout(SplError):
    """A regular expression ran past its time budget (catastrophic backtracking)."""


class _Watch(object):
    """What the watchdog sees: the count of regex calls started and whether one runs."""
    calls = 0
    seen = -1
    active = False
    pattern = None


_WATCH = _Watch()


def _tick(signum, frame):
    # The same call still running one full tick later has run at least the budget.
    if _WATCH.active and _WATCH.calls == _WATCH.seen:
        _WATCH.active = False
        raise RegexTimeout("regular expression %r exceeded the regex time budget of %gs "
                           "(catastrophic backtracking?)" % (_WATCH.pattern, REGEX_TIME_BUDGET_SECONDS))
    _WATCH.seen = _WATCH.calls


@contextlib.contextmanager
def regex_watchdog():
    """Run a search with the regex watchdog armed (a no-op off the main thread, where
    signals cannot be delivered, and where SIGALRM does not exist)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _tick)
    old_timer = signal.setitimer(signal.ITIMER_REAL, REGEX_TIME_BUDGET_SECONDS, REGEX_TIME_BUDGET_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, *old_timer)
        signal.signal(signal.SIGALRM, previous)
        _WATCH.active = False


class GuardedRegex(object):
    """A compiled regex whose every call runs under the watchdog's budget."""

    __slots__ = ("regex",)

    def __init__(self, regex):
        self.regex = regex

    @property
    def groupindex(self):
        return self.regex.groupindex

    def _call(self, fn, *args, **kwargs):
        _WATCH.calls += 1
        _WATCH.pattern = self.regex.pattern
        _WATCH.active = True
        try:
            return fn(*args, **kwargs)
        finally:
            _WATCH.active = False

    def search(self, text):
        return self._call(self.regex.search, text)

    def match(self, text):
        return self._call(self.regex.match, text)

    def sub(self, repl, text, count=0):
        return self._call(self.regex.sub, repl, text, count=count)

    def finditer(self, text):
        """All matches, as a list (found under the budget, not lazily)."""
        return self._call(lambda: list(self.regex.finditer(text)))

LIST_MAXSIZE = 100
MAXRESULTROWS = 50000
MAX_MEM_USAGE_MB = 200


@contextlib.contextmanager
def eventstats_limits(maxresultrows, max_mem_usage_mb):
    """Run with other eventstats limits, as a limits.conf with other ``maxresultrows`` and
    ``max_mem_usage_mb`` would: for tests, which reach the cut-off a day of a big network
    reaches with a few thousand events (both engines read the two values at each call)."""
    global MAXRESULTROWS, MAX_MEM_USAGE_MB
    saved = MAXRESULTROWS, MAX_MEM_USAGE_MB
    MAXRESULTROWS, MAX_MEM_USAGE_MB = maxresultrows, max_mem_usage_mb
    try:
        yield
    finally:
        MAXRESULTROWS, MAX_MEM_USAGE_MB = saved


def estimated_bytes(row):
    """Lower bound of a result's size: its field names and values as text."""
    total = 0
    for key, value in row.items():
        total += len(key)
        for v in mv(value):
            total += len(to_str(v) or "")
    return total


def eventstats_cutoff_message(cutoff, height):
    """The job inspector's warning for an eventstats cut off at row ``cutoff`` of ``height``
    (both engines give it)."""
    return ("eventstats: WARN results %d and later (of %d) did not get the eventstats fields: past "
            "limits.conf maxresultrows=%d and max_mem_usage_mb=%d"
            % (cutoff + 1, height, MAXRESULTROWS, MAX_MEM_USAGE_MB))


def eventstats_cutoff(rows):
    """Index of the first result eventstats no longer adds fields to, or None (all get them)."""
    if len(rows) <= MAXRESULTROWS:
        return None
    if MAX_MEM_USAGE_MB <= 0:
        return MAXRESULTROWS
    budget = MAX_MEM_USAGE_MB * 1024 * 1024
    used = 0
    for i, row in enumerate(rows):
        used += estimated_bytes(row)
        if i >= MAXRESULTROWS and used > budget:
            return i
    return None
