"""Splunk value semantics: null, numbers vs strings, multivalue fields.

A field value is ``None``/absent (null), a ``str``, an ``int``/``float`` (numbers made by
eval/stats), or a ``list`` of those (multivalue; never empty, never of length 1 once stored).
"""
import functools
import math
import os
import re

_NUM = re.compile(r"^\s*[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)\s*$")
_HEX = re.compile(r"^\s*0[xX][0-9a-fA-F]+\s*$")


def fast_paths_enabled():
    """False when ``C2HUNT_ENGINE=row``: every expression, search term and lookup row is
    evaluated for every event, with no memo or index (the reference the fast paths are
    tested against)."""
    return os.environ.get("C2HUNT_ENGINE", "").strip().lower() != "row"


class Literal(str):
    """A quoted string literal of an eval expression: always a string, never a number."""


class SplError(Exception):
    """An error in a search (syntax, unsupported command or function, bad argument)."""


class Unavailable(SplError):
    """A search names something this runner does not have (a lookup file, a data model):
    the search itself is well formed."""


def to_number(value):
    """The number a value stands for, or None (strings that look numeric count)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return value
    if isinstance(value, list):
        return to_number(value[0]) if len(value) == 1 else None
    if type(value) is Literal:
        return None
    return _str_to_number(str(value))


@functools.lru_cache(maxsize=65536)
def _str_to_number(text):
    """Number of a numeric-looking string, else None (cached: field values repeat)."""
    if _NUM.match(text):
        try:
            number = float(text)
        except ValueError:  # padded with \x1c-\x1f: whitespace to the regex, not to float()
            return None
        if number.is_integer() and "." not in text and "e" not in text.lower():
            return int(number) if abs(number) < 2 ** 63 else number
        return number
    return None


def format_number(value):
    """Numbers as Splunk prints them: integers without a decimal point."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        text = "%.15g" % value
        return text
    return str(value)


def to_str(value):
    """The string form of a scalar value (None stays None)."""
    if value is None:
        return None
    if isinstance(value, (int, float, bool)):
        return format_number(value)
    return value


def mv(value):
    """A value as a list of scalars ([] for null)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def mv_pack(values):
    """Store a list of values: [] -> None, [x] -> x."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return values


def is_null(value):
    return value is None or (isinstance(value, list) and not value)


def truth(value):
    """Truth of a condition: only True is true (null and non-booleans are false)."""
    if isinstance(value, list):
        return any(v is True for v in value)
    return value is True


def compare(left, right):
    """Splunk ordering of two scalars: numerically when both are numbers, else as strings.

    Returns -1, 0 or 1. Used by eval comparisons, sort and min/max.
    """
    ln, rn = to_number(left), to_number(right)
    if ln is not None and rn is not None:
        return (ln > rn) - (ln < rn)
    ls, rs = to_str(left), to_str(right)
    return (ls > rs) - (ls < rs)


def sort_key(value):
    """Key for Splunk's default sort: numbers first (numerically), then strings (lexically)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return (2, 0, "")
    number = to_number(value)
    if number is not None:
        return (0, number, "")
    return (1, 0, str(value))


_SHARED = {}
_SHARED_LIMIT = 262144


def shared(text):
    """One string object for every event holding the same short value (a protocol, a state, an
    address, a process path): millions of events then hold references, not copies. The table
    starts over past a fixed size, so it stays bounded whatever the input."""
    if len(text) > 256:
        return text
    found = _SHARED.get(text)
    if found is None:
        if len(_SHARED) >= _SHARED_LIMIT:
            _SHARED.clear()
        found = _SHARED[text] = text
    return found


def wildcard_regex(pattern, case_sensitive=False):
    """Compile a Splunk ``*`` wildcard pattern into an anchored regex."""
    parts = [re.escape(p) for p in pattern.split("*")]
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile("^" + ".*".join(parts) + "$", flags | re.S)


def like_regex(pattern):
    """Compile an SQL LIKE pattern (% any run, _ one character), case-sensitive as Splunk."""
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.S)


def convert_regex(pattern):
    """PCRE named groups ``(?<name>`` -> Python ``(?P<name>``."""
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)
