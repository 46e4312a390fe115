"""convert: ctime, mktime, num, rmcomma, rmunit, dur2sec, memk, none, auto.

``convert [timeformat=<fmt>] <function>(<field>) [AS <field>] ...`` as searchbnf.conf
describes; the default time format is Splunk's ``%m/%d/%Y %H:%M:%S`` (times in UTC here).
A value a function cannot convert is left as it was (Splunk's behaviour), and ``AS`` writes
the result to a new field instead.
"""
import datetime as _dt
import re

from ..values import SplError, mv, mv_pack, to_number, to_str
from .arguments import field_matcher, take_options, words

_CALL = re.compile(r"^(auto|ctime|dur2sec|memk|mktime|mstime|none|num|rmcomma|rmunit)\((.*)\)$", re.I)


def _ctime(value, fmt):
    n = to_number(value)
    if n is None:
        return value
    try:
        moment = _dt.datetime.fromtimestamp(n, _dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return value
    return moment.strftime(fmt.replace("%3N", "%f")).replace("%f", "")


def _mktime(value, fmt):
    try:
        return _dt.datetime.strptime(to_str(value), fmt).replace(tzinfo=_dt.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return value


def _dur2sec(value):
    m = re.fullmatch(r"\s*(?:(\d+)\+)?(\d+):(\d+):(\d+(?:\.\d+)?)\s*", to_str(value) or "")
    if not m:
        return value
    days, hours, minutes, seconds = m.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return int(total) if total.is_integer() else total


def _memk(value):
    m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d+)?)\s*([kmg]?)b?\s*", (to_str(value) or "").lower())
    if not m:
        return value
    return float(m.group(1)) * {"": 1, "k": 1, "m": 1024, "g": 1024 * 1024}[m.group(2)]


def _leading_number(value):
    m = re.match(r"\s*([-+]?\d+(?:\.\d+)?)", to_str(value) or "")
    return to_number(m.group(1)) if m else value


_FUNCTIONS = {
    "ctime": _ctime,
    "mktime": _mktime,
    "dur2sec": lambda v, fmt: _dur2sec(v),
    "memk": lambda v, fmt: _memk(v),
    "num": lambda v, fmt: to_number(v) if to_number(v) is not None else _leading_number(v),
    "auto": lambda v, fmt: to_number(v) if to_number(v) is not None else v,
    "rmcomma": lambda v, fmt: to_number((to_str(v) or "").replace(",", "")) or v,
    "rmunit": lambda v, fmt: _leading_number(v),
    "none": lambda v, fmt: v,
    "mstime": lambda v, fmt: v,
}


def parse_convert(args):
    """(time format, conversions as (function, field or wildcard, target or None)) of
    ``convert`` arguments."""
    options, items = take_options(words(args), {"timeformat"})
    fmt = options.get("timeformat", "%m/%d/%Y %H:%M:%S")
    tokens = [w for w, _ in items]
    conversions = []
    i = 0
    while i < len(tokens):
        m = _CALL.match(tokens[i])
        if not m:
            raise SplError("convert: expected <function>(<field>), got %r" % tokens[i])
        target = None
        if i + 2 < len(tokens) and tokens[i + 1].lower() == "as":
            target = tokens[i + 2]
            i += 3
        else:
            i += 1
        conversions.append((_FUNCTIONS[m.group(1).lower()], m.group(2).strip() or "*", target))
    if not conversions:
        raise SplError("convert: a conversion function is required")
    return fmt, conversions


def cmd_convert(ctx, args, rows):
    fmt, conversions = parse_convert(args)
    for row in rows:
        for fn, pattern, target in conversions:
            names = [pattern] if "*" not in pattern else [k for k in row if field_matcher([pattern])(k)]
            for name in names:
                value = row.get(name)
                if value is None:
                    continue
                converted = mv_pack([fn(v, fmt) for v in mv(value)])
                row[target or name] = converted
    return rows
