"""Scheduler replay: run each correlation search as Splunk's scheduler and ES would.

Over the time span of the data, each correlation search fires at every minute its
``cron_schedule`` names. A firing at time ``t`` searches the events of its dispatch window
(``dispatch.earliest_time``/``latest_time`` resolved at ``t``, with ``t`` as the search's
"now") and turns each result row into a notable (``action.notable = 1``) and one risk event
per risk object of ``action.risk.param._risk`` (``action.risk = 1``), unless throttling
suppresses it: with ``alert.suppress = 1`` a result whose ``alert.suppress.fields`` values
were alerted on within ``alert.suppress.period`` raises nothing (no suppression fields: the
whole search is suppressed for the period after a firing that raised something). The
result is exactly the notables and risk events ES would create, so overlapping windows show
up as duplicates and throttling as their absence.

Not modelled: ``allow_skew`` and ``schedule_window`` (they move a firing by minutes, not what
it searches), skipped runs under load, and searches that are not correlation searches.
Firings whose window holds no event are not run (they cannot return results: every
correlation search starts from events).
"""
import bisect
import json
import re

from . import timespec
from .values import SplError, mv, to_number, to_str


def _flag(stanza, key):
    return str(stanza.get(key, "0")).strip().lower() in ("1", "true", "t", "yes", "y")


def suppress_period(text):
    """Seconds of an ``alert.suppress.period`` (``60``, ``1m``, ``1h``, ``86400s``, ``1d``)."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", str(text or "").lower())
    if not m:
        raise SplError("alert.suppress.period %r is not a time specifier" % text)
    unit = m.group(2) or "s"
    seconds = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
               "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600,
               "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400}.get(unit)
    if seconds is None:
        raise SplError("alert.suppress.period %r: unknown unit %r" % (text, unit))
    return int(m.group(1)) * seconds


class RiskEvent(object):
    """One risk event an ES risk action creates for one risk object of one result."""

    __slots__ = ("search", "time", "risk_object", "risk_object_type", "risk_score",
                 "threat_objects")

    def __init__(self, search, time, risk_object, risk_object_type, risk_score, threat_objects):
        self.search, self.time = search, time
        self.risk_object, self.risk_object_type = risk_object, risk_object_type
        self.risk_score, self.threat_objects = risk_score, threat_objects

    def as_dict(self):
        return {"search": self.search, "time": self.time, "risk_object": self.risk_object,
                "risk_object_type": self.risk_object_type, "risk_score": self.risk_score,
                "threat_objects": self.threat_objects}


class Firing(object):
    """One scheduled run: when, its window, how many rows, how many were suppressed."""

    __slots__ = ("search", "time", "earliest", "latest", "results", "suppressed")

    def __init__(self, search, time, earliest, latest, results, suppressed):
        self.search, self.time, self.earliest, self.latest = search, time, earliest, latest
        self.results, self.suppressed = results, suppressed


class ReplayResult(object):
    def __init__(self):
        self.notables, self.risk_events, self.firings, self.errors = [], [], [], {}


def _risk_entries(saved):
    text = saved.stanza.get("action.risk.param._risk", "").strip()
    if not text:
        field = saved.stanza.get("action.risk.param._risk_object", "").strip()
        if not field:
            return []
        return [{"risk_object_field": field,
                 "risk_object_type": saved.stanza.get("action.risk.param._risk_object_type", "system"),
                 "risk_score": saved.stanza.get("action.risk.param._risk_score")}]
    try:
        entries = json.loads(text)
    except ValueError:
        raise SplError("%s: action.risk.param._risk is not JSON" % saved.name)
    return [e for e in entries if isinstance(e, dict)]


def risk_events(saved, row, when):
    """The risk events ES creates for one result row (null risk objects create none)."""
    entries = _risk_entries(saved)
    threats = []
    for e in entries:
        if e.get("threat_object_field"):
            for v in mv(row.get(e["threat_object_field"])):
                if to_str(v):
                    threats.append((to_str(v), e.get("threat_object_type")))
    out = []
    row_score = to_number(row.get("risk_score"))
    for e in entries:
        field = e.get("risk_object_field")
        if not field:
            continue
        score = row_score if row_score is not None else to_number(e.get("risk_score"))
        for v in mv(row.get(field)):
            if to_str(v):
                out.append(RiskEvent(saved.name, when, to_str(v), e.get("risk_object_type"),
                                     score, threats))
    return out


def replay(runner, events, names=None, start=None, end=None, skip=()):
    """Replay the scheduler over ``events``; returns a :class:`ReplayResult`.

    ``start``/``end`` (epochs) bound the firings; by default they run from the first event
    until every window that can hold the last event has run.
    """
    result = ReplayResult()
    timed = sorted(((to_number(e.get("_time")), e) for e in events
                    if to_number(e.get("_time")) is not None), key=lambda p: p[0])
    times = [t for t, _ in timed]
    if not times:
        return result
    for saved in runner.saved_searches():
        if saved.kind != "correlation" or saved.name in skip or (names and saved.name not in names):
            continue
        stanza = saved.stanza
        try:
            cron = timespec.Cron(stanza.get("cron_schedule", "").strip())
            first = start if start is not None else times[0]
            if end is not None:
                last = end
            else:  # run until a window has passed beyond the last event
                lo, _ = runner.dispatch_window(saved, times[-1])
                last = times[-1] + (times[-1] - (lo if lo is not None else times[0])) + 3600
            suppress = _flag(stanza, "alert.suppress")
            fields = [f.strip() for f in stanza.get("alert.suppress.fields", "").split(",") if f.strip()]
            period = suppress_period(stanza.get("alert.suppress.period", "0")) if suppress else 0
        except SplError as exc:
            result.errors[saved.name] = str(exc)
            continue
        raise_notable = _flag(stanza, "action.notable")
        raise_risk = _flag(stanza, "action.risk")
        quiet_until = {}  # suppression key -> end of its suppression period
        for fire in cron.times(first, last):
            lo, hi = runner.dispatch_window(saved, fire)
            i = bisect.bisect_left(times, lo) if lo is not None else 0
            j = bisect.bisect_left(times, hi) if hi is not None else len(times)
            if i >= j:
                continue
            try:
                rows = runner.run(saved.search, [dict(e) for _, e in timed[i:j]], now=fire).rows
            except SplError as exc:
                result.errors[saved.name] = str(exc)
                break
            kept, suppressed = [], 0
            for row in rows:
                key = tuple(tuple(to_str(v) for v in mv(row.get(f))) for f in fields)
                if suppress and quiet_until.get(key, float("-inf")) > fire:
                    suppressed += 1
                    continue
                kept.append(row)
            if suppress:
                for row in kept:
                    quiet_until[tuple(tuple(to_str(v) for v in mv(row.get(f))) for f in fields)] = fire + period
            result.firings.append(Firing(saved.name, fire, lo, hi, len(rows), suppressed))
            if raise_notable:
                for notable in runner.notables(saved, kept):
                    notable.fields["_fire_time"] = fire
                    result.notables.append(notable)
            if raise_risk:
                for row in kept:
                    result.risk_events.extend(risk_events(saved, row, fire))
    return result
