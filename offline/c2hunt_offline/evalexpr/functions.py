"""eval/where expressions: tokenizer, parser and evaluator with Splunk semantics.

Semantics kept from Splunk's eval documentation:

- Field values that look numeric compare and compute as numbers; otherwise comparisons are
  string comparisons (case-sensitive, unlike ``search``).
- Null propagates: arithmetic, concatenation and comparisons with null give null, and a
  null condition counts as false in ``where``, ``if`` and ``case``. ``AND``/``OR`` follow
  three-valued logic (null AND false = false, null OR true = true).
- Comparisons against a multivalue field are true when any value satisfies them.
- ``+`` adds numbers and concatenates two strings; ``.`` always concatenates.
- An eval result cannot be boolean (Splunk refuses ``eval x=(a>1)``).
"""
import datetime as _dt
import hashlib
import ipaddress
import math
import re
import time
import urllib.parse

from ..spltext import TokenCursor
from ..values import (Literal, SplError, compare, convert_regex, format_number, is_null, like_regex,
                     mv, mv_pack, to_number, to_str)

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<qfield>'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|=|<|>|\+|-|\*|/|%|\.|\(|\)|,)
  | (?P<name>[A-Za-z_@$][\w@$]*(?:[.:][\w@$]+)*)
""", re.X)

KEYWORDS = {"AND", "OR", "NOT", "XOR", "LIKE", "IN"}


def tokenize(text):
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SplError("eval: cannot parse %r at %r" % (text, text[pos:pos + 20]))
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "ws":
            continue
        if kind == "str":
            # only \" and \\ are escapes; "\d" stays "\d" (regexes are written that way)
            value = re.sub(r'\\(["\\])', r"\1", value[1:-1])
        elif kind == "qfield":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
            kind = "field"
        elif kind == "name":
            if value.upper() in KEYWORDS:
                kind, value = "kw", value.upper()
        tokens.append((kind, value))
    tokens.append(("end", None))
    return tokens


class _Parser(TokenCursor):
    # tokenize() ends the list with this token; the grammar never reads past it
    past_end = ("end", None)

    def __init__(self, text):
        TokenCursor.__init__(self, text, tokenize(text))

    def accept(self, kind, value=None):
        tok = self.peek()
        if tok[0] == kind and (value is None or tok[1] == value):
            self.pos += 1
            return True
        return False

    def expect(self, kind, value=None):
        if not self.accept(kind, value):
            raise SplError("eval: expected %s in %r, found %r" % (value or kind, self.text, self.peek()[1]))

    def parse(self):
        node = self.p_or()
        if self.peek()[0] != "end":
            raise SplError("eval: unexpected %r in %r" % (self.peek()[1], self.text))
        return node

    def p_or(self):
        node = self.p_xor()
        while self.accept("kw", "OR"):
            node = ("or", node, self.p_xor())
        return node

    def p_xor(self):
        node = self.p_and()
        while self.accept("kw", "XOR"):
            node = ("xor", node, self.p_and())
        return node

    def p_and(self):
        node = self.p_not()
        while self.accept("kw", "AND"):
            node = ("and", node, self.p_not())
        return node

    def p_not(self):
        if self.accept("kw", "NOT"):
            return ("not", self.p_not())
        return self.p_cmp()

    def p_cmp(self):
        node = self.p_add()
        tok = self.peek()
        if tok[0] == "op" and tok[1] in ("=", "==", "!=", "<", ">", "<=", ">="):
            self.take()
            return ("cmp", tok[1], node, self.p_add())
        if tok == ("kw", "LIKE"):
            self.take()
            return ("call", "like", [node, self.p_add()])
        negate = False
        if tok == ("kw", "NOT") and self.peek(1) == ("kw", "IN"):
            self.take()
            negate = True
        if self.accept("kw", "IN"):
            self.expect("op", "(")
            args = self.p_args()
            call = ("call", "in", [node] + args)
            return ("not", call) if negate else call
        return node

    def p_add(self):
        node = self.p_mul()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-", "."):
            op = self.take()[1]
            node = ("arith", op, node, self.p_mul())
        return node

    def p_mul(self):
        node = self.p_unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            node = ("arith", op, node, self.p_unary())
        return node

    def p_unary(self):
        if self.accept("op", "-"):
            return ("neg", self.p_unary())
        if self.accept("op", "+"):
            return self.p_unary()
        return self.p_primary()

    def p_args(self):
        args = []
        if self.accept("op", ")"):
            return args
        while True:
            args.append(self.p_or())
            if self.accept("op", ")"):
                return args
            self.expect("op", ",")

    def p_primary(self):
        kind, value = self.take()
        if kind == "num":
            number = to_number(value)
            return ("lit", number)
        if kind == "str":
            return ("lit", Literal(value))
        if kind == "field":
            return ("field", value)
        if kind == "name":
            if self.accept("op", "("):
                return ("call", value.lower(), self.p_args())
            return ("field", value)
        if kind == "kw" and value in ("LIKE", "IN") and self.accept("op", "("):
            return ("call", value.lower(), self.p_args())
        if kind == "op" and value == "(":
            node = self.p_or()
            self.expect("op", ")")
            return node
        raise SplError("eval: unexpected %r in %r" % (value, self.text))


def parse(text):
    """Parse an eval expression into a node tree."""
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------
# evaluation

def truth(value):
    """Truth of a condition: only True is true (null and non-booleans are false)."""
    if isinstance(value, list):
        return any(v is True for v in value)
    return value is True


def _tri(value):
    """Three-valued logic input: True, False or None (null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise SplError("eval: AND/OR/NOT need boolean operands, got %r" % (value,))


def _cmp_scalar(op, left, right):
    if op in ("=", "=="):
        return compare(left, right) == 0
    if op == "!=":
        return compare(left, right) != 0
    c = compare(left, right)
    return {"<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op]


def _arith(op, left, right):
    if left is None or right is None:
        return None
    if isinstance(left, list) or isinstance(right, list):
        left = left[0] if isinstance(left, list) and len(left) == 1 else left
        right = right[0] if isinstance(right, list) and len(right) == 1 else right
        if isinstance(left, list) or isinstance(right, list):
            return None
    if op == ".":
        return to_str(left) + to_str(right)
    ln, rn = to_number(left), to_number(right)
    if op == "+" and (ln is None or rn is None):
        if isinstance(left, str) and isinstance(right, str) and ln is None and rn is None:
            return left + right
        return None
    if ln is None or rn is None:
        return None
    if op == "+":
        return ln + rn
    if op == "-":
        return ln - rn
    if op == "*":
        return ln * rn
    if op == "/":
        if rn == 0:
            return None
        result = ln / rn
        return int(result) if result.is_integer() and abs(result) < 2 ** 53 else result
    if op == "%":
        if rn == 0:
            return None
        return math.fmod(ln, rn) if isinstance(ln, float) or isinstance(rn, float) else int(math.fmod(ln, rn))
    raise SplError("eval: unknown operator %s" % op)


def compile_expr(node):
    """Compile a node tree into ``fn(event) -> value``."""
    kind = node[0]
    if kind == "lit":
        value = node[1]
        return lambda ev: value
    if kind == "field":
        name = node[1]
        return lambda ev: ev.get(name)
    if kind == "neg":
        inner = compile_expr(node[1])

        def neg(ev):
            n = to_number(inner(ev))
            return None if n is None else -n
        return neg
    if kind == "not":
        inner = compile_expr(node[1])

        def not_(ev):
            v = _tri(inner(ev))
            return None if v is None else not v
        return not_
    if kind in ("and", "or", "xor"):
        left, right = compile_expr(node[1]), compile_expr(node[2])
        if kind == "and":
            def and_(ev):
                lv = _tri(left(ev))
                if lv is False:
                    return False
                rv = _tri(right(ev))
                if rv is False:
                    return False
                return None if lv is None or rv is None else True
            return and_
        if kind == "or":
            def or_(ev):
                lv = _tri(left(ev))
                if lv is True:
                    return True
                rv = _tri(right(ev))
                if rv is True:
                    return True
                return None if lv is None or rv is None else False
            return or_

        def xor_(ev):
            lv, rv = _tri(left(ev)), _tri(right(ev))
            return None if lv is None or rv is None else lv != rv
        return xor_
    if kind == "cmp":
        op = node[1]
        left, right = compile_expr(node[2]), compile_expr(node[3])

        def cmp_(ev):
            lv, rv = left(ev), right(ev)
            if is_null(lv) or is_null(rv):
                return None
            return any(_cmp_scalar(op, a, b) for a in mv(lv) for b in mv(rv))
        return cmp_
    if kind == "arith":
        op = node[1]
        left, right = compile_expr(node[2]), compile_expr(node[3])
        return lambda ev: _arith(op, left(ev), right(ev))
    if kind == "call":
        name, args = node[1], node[2]
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise SplError("eval: unsupported function %s()" % name)
        lo, hi, impl = spec
        if len(args) < lo or (hi is not None and len(args) > hi):
            raise SplError("eval: %s() takes %s arguments, got %d"
                           % (name, lo if lo == hi else "%s..%s" % (lo, hi if hi is not None else "n"), len(args)))
        if name in LAZY:
            compiled = [compile_expr(a) for a in args]
            return lambda ev: impl(ev, compiled)
        if name in RAW_ARGS:
            return impl(args)
        compiled = [compile_expr(a) for a in args]
        return lambda ev: impl(*[c(ev) for c in compiled])
    raise SplError("eval: bad node %r" % (kind,))


# ---------------------------------------------------------------------------------------
# functions

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
            rx = re.compile(convert_regex(pattern))
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
        return x ** y
    except (OverflowError, ZeroDivisionError):
        return None


def _log(value, base=None):
    n = to_number(value)
    b = 10 if base is None else to_number(base)
    if n is None or b is None or n <= 0 or b <= 0 or b == 1:
        return None
    return math.log(n, b)


def _minmax(pick):
    def fn(*args):
        values = [v for a in args for v in mv(a)]
        if not values:
            return None
        best = values[0]
        for v in values[1:]:
            c = compare(v, best)
            if (pick < 0 and c < 0) or (pick > 0 and c > 0):
                best = v
        return best
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
    moment = _dt.datetime.fromtimestamp(n, _dt.timezone.utc).astimezone()
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


def _bool_arg(fn):
    return fn


# name -> (min args, max args or None, implementation)
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
    "strftime": (2, 2, _strftime),
    "strptime": (2, 2, _strptime),
    "md5": (1, 1, _elementwise(_hash("md5"))),
    "sha1": (1, 1, _elementwise(_hash("sha1"))),
    "sha256": (1, 1, _elementwise(_hash("sha256"))),
}
LAZY = {"if", "case", "validate", "coalesce"}
RAW_ARGS = set()

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


class Expression(object):
    """A compiled eval expression: ``Expression("a+1")(event)``."""

    def __init__(self, text):
        self.text = text
        self.fn = compile_expr(parse(text))

    def __call__(self, event):
        return self.fn(event)


def result_value(value, where="eval"):
    """Check an eval result before storing it (booleans are refused, like Splunk)."""
    if isinstance(value, bool):
        raise SplError("%s: the result of an expression cannot be boolean; use if(...)" % where)
    if isinstance(value, list):
        return mv_pack([str(v) if type(v) is Literal else v for v in value])
    if type(value) is Literal:
        return str(value)
    return value


__all__ = ["Expression", "parse", "truth", "result_value", "FUNCTIONS", "format_number"]
