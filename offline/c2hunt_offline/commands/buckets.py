"""bin (bucket): values and times into spans."""
import math
import re

from ..values import SplError, to_number
from .arguments import take_options, words


_SPAN = re.compile(r"^(\d+(?:\.\d+)?)(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks|mon|month|months)?$", re.I)
_UNIT = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
         "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600,
         "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
         "weeks": 604800}


def parse_span(text, time_field=True):
    m = _SPAN.match(text.strip())
    if not m:
        raise SplError("bin: unsupported span %r (use a number with s, m, h, d or w)" % text)
    amount, unit = float(m.group(1)), (m.group(2) or "").lower()
    if unit.startswith("mon"):
        raise SplError("bin: month spans are not supported offline")
    if unit:
        return amount * _UNIT[unit]
    return amount if not time_field else amount  # a bare number on _time is seconds


def bin_value(value, span):
    n = to_number(value)
    if n is None:
        return None
    binned = math.floor(n / span) * span
    return int(binned) if float(binned).is_integer() else binned


def parse_bin(args):
    """(field, target field, span) of ``bin`` arguments."""
    options, rest = take_options(words(args), {"span", "bins", "minspan", "aligntime", "start", "end"})
    if "span" not in options:
        raise SplError("bin: only span=<span> is supported offline (bins= needs the data range)")
    if not rest:
        raise SplError("bin: a field is required")
    field = rest[0][0]
    target = field
    if len(rest) >= 3 and rest[1][0].lower() == "as":
        target = rest[2][0]
    return field, target, parse_span(options["span"], field == "_time")


def cmd_bin(ctx, args, rows):
    field, target, span = parse_bin(args)
    for row in rows:
        value = row.get(field)
        if value is None:
            continue
        b = bin_value(value if not isinstance(value, list) else value[0], span)
        if b is None:
            continue
        row[target] = b
    return rows
