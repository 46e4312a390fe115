"""eval functions: name -> (min args, max args or None, implementation)."""
import datetime as _dt
import hashlib
import ipaddress
import math
import re
import time
import urllib.parse

from ..limits import GuardedRegex
from ..values import (SplError, compare, convert_regex, is_null, like_regex, mv, mv_pack,
                      to_number, to_str, truth)


def _elementwise(fn):
    """Apply a scalar function to each value of a multivalue field; null stays null."""
    def wrapped(value, *rest):
        if value is None:
            return None
        if isinstance(value, list):
            return mv_pack([fn(v, *rest) for v in value])
        return fn(value, *rest)
    return wrapped


def _if(ev, args):
    return args[1](ev) if truth(args[0](ev)) else args[2](ev)


def _case(ev, args):
    if len(args) % 2:
        raise SplError("eval: case() takes condition/value pairs")
    for i in range(0, len(args), 2):
        if truth(args[i](ev)):
            return args[i + 1](ev)
    return None


def _validate(ev, args):
    if len(args) % 2:
        raise SplError("eval: validate() takes condition/value pairs")
    for i in range(0, len(args), 2):
        if not truth(args[i](ev)):
            return args[i + 1](ev)
    return None


def _coalesce(ev, args):
    for a in args:
        v = a(ev)
        if not is_null(v):
            return v
    return None


_REGEX_CACHE = {}


def _regex(pattern):
    pattern = to_str(pattern)
    if pattern is None:
        return None
    rx = _REGEX_CACHE.get(pattern)
    if rx is None:
        try:
            rx = GuardedRegex(re.compile(convert_regex(pattern)))  # under the regex time budget
        except re.error as exc:
            raise SplError("eval: bad regular expression %r: %s" % (pattern, exc))
        _REGEX_CACHE[pattern] = rx
    return rx


def _match(value, pattern):
    if value is None or pattern is None:
        return None
    rx = _regex(pattern)
    return any(rx.search(to_str(v)) is not None for v in mv(value))


def _like(value, pattern):
    if value is None or pattern is None:
        return None
    rx = like_regex(to_str(pattern))
    return any(rx.match(to_str(v)) is not None for v in mv(value))


def _cidrmatch(cidr, ip):
    if cidr is None or ip is None:
        return None
    try:
        network = ipaddress.ip_network(to_str(cidr).strip(), strict=False)
    except ValueError:
        return False
    for v in mv(ip):
        try:
            if ipaddress.ip_address(to_str(v).strip()) in network:
                return True
        except ValueError:
            continue
    return False


def _in(value, *candidates):
    if value is None:
        return None
    for v in mv(value):
        for c in candidates:
            if c is not None and compare(v, c) == 0:
                return True
    return False


def _tonumber(value, base=None):
    if value is None:
        return None
    if isinstance(value, list):
        return mv_pack([_tonumber(v, base) for v in value])
    if base is not None:
        b = to_number(base)
        if b is None or b not in (2, 8, 10, 16):
            raise SplError("eval: tonumber() base must be 2, 8, 10 or 16")
        text = to_str(value).strip()
        if b == 16 and text.lower().startswith("0x"):
            text = text[2:]
        try:
            return int(text, int(b))
        except ValueError:
            return None
    text = to_str(value).strip()
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        return int(text, 16)
    return to_number(text)


def _tostring(value, fmt=None):
    if value is None:
        return None
    if isinstance(value, list):
        return mv_pack([_tostring(v, fmt) for v in value])
    if isinstance(value, bool):
        return "True" if value else "False"
    if fmt is None:
        return to_str(value)
    n = to_number(value)
    if n is None:
        return to_str(value)
    fmt = to_str(fmt)
    if fmt == "hex":
        return hex(int(n))
    if fmt == "commas":
        return "{:,}".format(round(n, 2)) if isinstance(n, float) else "{:,}".format(n)
    if fmt == "duration":
        seconds = int(n)
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        text = "%02d:%02d:%02d" % (hours, minutes, secs)
        return ("%d+" % days + text) if days else text
    raise SplError("eval: tostring() format must be hex, commas or duration")


def _round(value, digits=None):
    n = to_number(value)
    if n is None:
        return None
    d = 0 if digits is None else int(to_number(digits) or 0)
    # Splunk rounds half away from zero
    factor = 10 ** d
    result = math.floor(abs(n) * factor + 0.5) / factor
    result = math.copysign(result, n)
    if d <= 0:
        return int(result)
    return result


def _num1(fn):
    def wrapped(value):
        n = to_number(value)
        if n is None:
            return None
        try:
            return fn(n)
        except (ValueError, OverflowError):
            return None
    return wrapped


def _pow(a, b):
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        return None
    try:
        # Splunk's numbers are doubles: a result past their range is null, and checking in
        # floats first never builds a 100,000-digit integer
        approx = float(x) ** float(y)
        if isinstance(approx, complex) or math.isinf(approx):
            return None
        return x ** y if isinstance(x, int) and isinstance(y, int) and y >= 0 else approx
    except (OverflowError, ZeroDivisionError):
        return None


def _log(value, base=None):
    n = to_number(value)
    b = 10 if base is None else to_number(base)
    if n is None or b is None or n <= 0 or b <= 0 or b == 1:
        return None
    return math.log(n, b)


def _minmax(pick):
    # Splunk: numbers compare numerically, and any string is greater than any number
    def key(v):
        n = to_number(v)
        return (0, n, "") if n is not None else (1, 0, to_str(v))

    def fn(*args):
        values = [v for a in args for v in mv(a)]
        if not values:
            return None
        return max(values, key=key) if pick > 0 else min(values, key=key)
    return fn


def _len(value):
    return len(to_str(value))


def _substr(value, start, length=None):
    text = to_str(value)
    s = to_number(start)
    if s is None:
        return None
    s = int(s)
    begin = s - 1 if s > 0 else (len(text) + s if s < 0 else 0)
    begin = max(begin, 0)
    if length is None:
        return text[begin:]
    n = to_number(length)
    if n is None:
        return None
    return text[begin:begin + int(n)]


def _replace(value, pattern, repl):
    if pattern is None or repl is None:
        return None
    rx = _regex(pattern)
    return rx.sub(re.sub(r"\\(\d)", r"\\g<\1>", to_str(repl)), to_str(value))


def _trim(fn_name):
    def fn(value, chars=None):
        text = to_str(value)
        c = None if chars is None else to_str(chars)
        return getattr(text, fn_name)(c) if c is not None else getattr(text, fn_name)()
    return fn


def _split(value, delim):
    if value is None or delim is None:
        return None
    d = to_str(delim)
    parts = []
    for v in mv(value):
        parts.extend(to_str(v).split(d) if d else list(to_str(v)))
    return mv_pack(parts) if len(parts) != 1 else parts[0]


def _mvcount(value):
    if is_null(value):
        return None
    return len(mv(value))


def _mvindex(value, start, end=None):
    values = mv(value)
    if not values:
        return None
    s = to_number(start)
    if s is None:
        return None
    s = int(s)
    n = len(values)
    if s < 0:
        s += n
    if end is None:
        return values[s] if 0 <= s < n else None
    e = to_number(end)
    if e is None:
        return None
    e = int(e)
    if e < 0:
        e += n
    if s < 0 or s >= n or e < s:
        return None
    return mv_pack(values[s:e + 1])


def _mvjoin(value, delim):
    if is_null(value) or delim is None:
        return None
    return to_str(delim).join(to_str(v) for v in mv(value))


def _mvappend(*args):
    return mv_pack([v for a in args for v in mv(a)])


def _mvdedup(value):
    seen, out = set(), []
    for v in mv(value):
        key = to_str(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return mv_pack(out)


def _mvsort(value):
    return mv_pack(sorted(mv(value), key=lambda v: to_str(v)))


def _mvfind(value, pattern):
    rx = _regex(pattern)
    for i, v in enumerate(mv(value)):
        if rx.search(to_str(v)):
            return i
    return None


def _mvzip(a, b, delim=","):
    d = to_str(delim)
    return mv_pack([to_str(x) + d + to_str(y) for x, y in zip(mv(a), mv(b))])


def _mvrange(start, end, step=1):
    s, e, st = to_number(start), to_number(end), to_number(step)
    if s is None or e is None or not st:
        return None
    out, v = [], s
    while (st > 0 and v < e) or (st < 0 and v > e):
        out.append(v)
        v += st
        if len(out) > 10000:
            break
    return mv_pack(out)


def _typeof(value):
    if value is None:
        return "Invalid"
    if isinstance(value, list):
        return "Multivalue"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, (int, float)) or to_number(value) is not None:
        return "Number"
    return "String"


def _isnum(value):
    return not is_null(value) and not isinstance(value, (list, bool)) and to_number(value) is not None


def _isint(value):
    n = to_number(value) if not isinstance(value, (list, bool)) else None
    return n is not None and float(n).is_integer()


def _isstr(value):
    return isinstance(value, str) and to_number(value) is None


def _strftime(value, fmt):
    n = to_number(value)
    if n is None or fmt is None:
        return None
    try:
        moment = _dt.datetime.fromtimestamp(n, _dt.timezone.utc).astimezone()
    except (OverflowError, OSError, ValueError):  # past the years a datetime holds: null
        return None
    fmt = to_str(fmt).replace("%3N", "%f")  # milliseconds: trim microseconds below
    text = moment.strftime(fmt.replace("%f", "\x00f"))
    return text.replace("\x00f", "%03d" % (moment.microsecond // 1000))


def _strptime(value, fmt):
    if value is None or fmt is None:
        return None
    try:
        moment = _dt.datetime.strptime(to_str(value), to_str(fmt))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return time.mktime(moment.timetuple()) + moment.microsecond / 1e6
    return moment.timestamp()


def _hash(name):
    def fn(value):
        return hashlib.new(name, to_str(value).encode("utf-8")).hexdigest()
    return fn


# name -> (min args, max args or None, implementation)
def _relative_time(epoch, modifier):
    """relative_time(X, Y): the time modifier Y (``-1d@d``) applied to the epoch X."""
    from ..timespec import resolve
    n = to_number(epoch)
    if n is None or modifier is None:
        return None
    try:
        result = resolve(to_str(modifier), n)
    except (SplError, ValueError, OverflowError, OSError):
        return None
    return int(result) if float(result).is_integer() else result


FUNCTIONS = {
    "if": (3, 3, _if),
    "case": (2, None, _case),
    "validate": (2, None, _validate),
    "coalesce": (1, None, _coalesce),
    "isnull": (1, 1, lambda v: is_null(v)),
    "isnotnull": (1, 1, lambda v: not is_null(v)),
    "isnum": (1, 1, _isnum),
    "isint": (1, 1, _isint),
    "isstr": (1, 1, _isstr),
    "typeof": (1, 1, _typeof),
    "null": (0, 0, lambda: None),
    "true": (0, 0, lambda: True),
    "false": (0, 0, lambda: False),
    "now": (0, 0, lambda: int(time.time())),
    "time": (0, 0, lambda: time.time()),
    "match": (2, 2, _match),
    "like": (2, 2, _like),
    "cidrmatch": (2, 2, _cidrmatch),
    "in": (2, None, _in),
    "lower": (1, 1, _elementwise(lambda v: to_str(v).lower())),
    "upper": (1, 1, _elementwise(lambda v: to_str(v).upper())),
    "len": (1, 1, _elementwise(_len)),
    "trim": (1, 2, _elementwise(_trim("strip"))),
    "ltrim": (1, 2, _elementwise(_trim("lstrip"))),
    "rtrim": (1, 2, _elementwise(_trim("rstrip"))),
    "substr": (2, 3, _elementwise(_substr)),
    "replace": (3, 3, _elementwise(_replace)),
    "split": (2, 2, _split),
    "urldecode": (1, 1, _elementwise(lambda v: urllib.parse.unquote_plus(to_str(v)))),
    "tonumber": (1, 2, _tonumber),
    "tostring": (1, 2, _tostring),
    "round": (1, 2, _round),
    "abs": (1, 1, _num1(abs)),
    "ceil": (1, 1, _num1(math.ceil)),
    "ceiling": (1, 1, _num1(math.ceil)),
    "floor": (1, 1, _num1(math.floor)),
    "sqrt": (1, 1, _num1(math.sqrt)),
    "exp": (1, 1, _num1(math.exp)),
    "ln": (1, 1, _num1(math.log)),
    "log": (1, 2, _log),
    "pow": (2, 2, _pow),
    "min": (1, None, _minmax(-1)),
    "max": (1, None, _minmax(1)),
    "mvcount": (1, 1, _mvcount),
    "mvindex": (2, 3, _mvindex),
    "mvjoin": (2, 2, _mvjoin),
    "mvappend": (1, None, _mvappend),
    "mvdedup": (1, 1, _mvdedup),
    "mvsort": (1, 1, _mvsort),
    "mvfind": (2, 2, _mvfind),
    "mvzip": (2, 3, _mvzip),
    "mvrange": (2, 3, _mvrange),
    "relative_time": (2, 2, _relative_time),
    "strftime": (2, 2, _strftime),
    "strptime": (2, 2, _strptime),
    "md5": (1, 1, _elementwise(_hash("md5"))),
    "sha1": (1, 1, _elementwise(_hash("sha1"))),
    "sha256": (1, 1, _elementwise(_hash("sha256"))),
}
LAZY = {"if", "case", "validate", "coalesce"}

# Functions whose null argument gives null (Splunk's rule for most scalar functions).
_NULL_IN_NULL_OUT = {"len", "lower", "upper", "trim", "ltrim", "rtrim", "substr", "replace",
                     "urldecode", "md5", "sha1", "sha256"}
for _name in _NULL_IN_NULL_OUT:
    _lo, _hi, _fn = FUNCTIONS[_name]

    def _guard(*args, _fn=_fn):
        if args and args[0] is None:
            return None
        return _fn(*args)
    FUNCTIONS[_name] = (_lo, _hi, _guard)
