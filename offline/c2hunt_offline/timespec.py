"""Splunk time modifiers and cron schedules, for time windows and the scheduler replay.

- :func:`resolve` turns a time modifier (``-70m@m``, ``@h``, ``-1d@d+2h``, ``now``, ``0``,
  an epoch, ``%m/%d/%Y:%H:%M:%S``) into an epoch relative to a given "now", as Splunk's
  search time range does. Snapping is in UTC (the runner's time zone; Splunk snaps in the
  user's time zone).
- :class:`Cron` is a standard five-field cron expression (``*``, ``*/n``, ``a-b``,
  ``a-b/n``, lists) as ``cron_schedule`` uses; :meth:`Cron.times` lists the minutes it fires
  between two epochs.
"""
import calendar
import datetime as _dt
import re

from .values import SplError

_UNITS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
    "mon": "mon", "month": "mon", "months": "mon",
    "q": "q", "qtr": "q", "qtrs": "q", "quarter": "q", "quarters": "q",
    "y": "y", "yr": "y", "yrs": "y", "year": "y", "years": "y",
}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_OFFSET = re.compile(r"([-+])(\d*)([a-z]+)")
_SNAP = re.compile(r"@([a-z]+)(\d?)")


def _utc(epoch):
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc)


def _add_months(moment, months):
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _offset(moment, sign, amount, unit):
    n = (int(amount) if amount else 1) * (-1 if sign == "-" else 1)
    if unit in _SECONDS:
        return moment + _dt.timedelta(seconds=n * _SECONDS[unit])
    return _add_months(moment, n * {"mon": 1, "q": 3, "y": 12}[unit])


def _snap(moment, unit, weekday):
    if unit == "s":
        return moment.replace(microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    if unit == "h":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return day
    if unit == "w":  # @w0 = Sunday (Splunk's default week start), @w1 = Monday ...
        target = int(weekday or 0) % 7
        back = (day.isoweekday() % 7 - target) % 7
        return day - _dt.timedelta(days=back)
    if unit == "mon":
        return day.replace(day=1)
    if unit == "q":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def resolve(modifier, now):
    """The epoch a Splunk time modifier stands for, given ``now`` (epoch seconds).

    Raises SplError on text that is not a time modifier.
    """
    text = str(modifier).strip().lower().strip('"')
    if text in ("now", ""):
        return float(now)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)  # an epoch; "0" is the start of time
    if text.startswith("rt"):
        text = text[2:] or "now"
        if text == "now":
            return float(now)
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?::(\d{1,2}):(\d{1,2}):(\d{1,2}))?", text)
    if m:
        parts = [int(p) if p else 0 for p in m.groups()]
        moment = _dt.datetime(parts[2], parts[0], parts[1], parts[3], parts[4], parts[5],
                              tzinfo=_dt.timezone.utc)
        return moment.timestamp()
    moment = _utc(float(now))
    pos = 0
    while pos < len(text):
        m = _OFFSET.match(text, pos)
        if m and m.group(3) in _UNITS:
            moment = _offset(moment, m.group(1), m.group(2), _UNITS[m.group(3)])
            pos = m.end()
            continue
        m = _SNAP.match(text, pos)
        if m and m.group(1) in _UNITS:
            moment = _snap(moment, _UNITS[m.group(1)], m.group(2))
            pos = m.end()
            continue
        raise SplError("not a time modifier: %r" % modifier)
    return moment.timestamp()


def parse_instant(text):
    """An absolute time from the command line: epoch seconds or ISO 8601 (UTC if no zone)."""
    text = str(text).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SplError("not a time (epoch or ISO 8601 expected): %r" % text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


class Cron(object):
    """A five-field cron expression (minute hour day-of-month month day-of-week)."""

    _RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))

    def __init__(self, text):
        self.text = text
        fields = str(text).split()
        if len(fields) != 5:
            raise SplError("cron_schedule %r: five fields expected" % text)
        self.sets = [self._field(f, lo, hi) for f, (lo, hi) in zip(fields, self._RANGES)]
        if 7 in self.sets[4]:
            self.sets[4].add(0)
        self.dom_any, self.dow_any = fields[2] == "*", fields[4] == "*"

    def _field(self, text, lo, hi):
        values = set()
        for part in text.split(","):
            m = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part)
            if not m:
                raise SplError("cron_schedule %r: bad field %r" % (self.text, text))
            base, step = m.group(1), int(m.group(2) or 1)
            if base == "*":
                start, end = lo, hi
            elif "-" in base:
                start, end = map(int, base.split("-"))
            else:
                start = int(base)
                end = hi if m.group(2) else start
            if start < lo or end > hi or start > end or step < 1:
                raise SplError("cron_schedule %r: %r out of range" % (self.text, part))
            values.update(range(start, end + 1, step))
        return values

    def matches(self, moment):
        minute, hour, dom, month, dow = self.sets
        if moment.minute not in minute or moment.hour not in hour or moment.month not in month:
            return False
        day_ok, week_ok = moment.day in dom, moment.isoweekday() % 7 in dow
        # cron: when both day fields are restricted, either may match
        if not self.dom_any and not self.dow_any:
            return day_ok or week_ok
        return day_ok and week_ok

    def times(self, start, end):
        """Epochs of every firing in [start, end), in order."""
        moment = _utc(float(start)).replace(second=0, microsecond=0)
        if moment.timestamp() < start:
            moment += _dt.timedelta(minutes=1)
        out = []
        step = _dt.timedelta(minutes=1)
        hour_step = _dt.timedelta(hours=1)
        while moment.timestamp() < end:
            # skip whole hours that cannot fire (keeps a year of */15 cheap)
            if moment.minute == 0 and moment.hour not in self.sets[1]:
                moment += hour_step
                continue
            if self.matches(moment):
                out.append(moment.timestamp())
            moment += step
        return out
