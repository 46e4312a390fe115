"""eval expressions: node tree -> a function of the event, with Splunk's null and
multivalue semantics."""
import math

from ..values import Literal, SplError, compare, fast_paths_enabled, is_null, mv, mv_pack, to_number, to_str
from .functions import FUNCTIONS, LAZY
from . import typecheck
from .parser import parse


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
        compiled = [compile_expr(a) for a in args]
        return lambda ev: impl(*[c(ev) for c in compiled])
    raise SplError("eval: bad node %r" % (kind,))


# Functions whose value is not fixed by their arguments: an expression using one is never memoised.
_IMPURE = frozenset(("now", "time", "random"))


def fields_read(node):
    """The field names an expression reads (sorted tuple), or None when its value is not a
    function of them alone (it calls now()/time())."""
    names = set()
    stack = [node]
    while stack:
        item = stack.pop()
        kind = item[0]
        if kind == "field":
            names.add(item[1])
        elif kind == "lit":
            continue
        elif kind == "call":
            if item[1] in _IMPURE:
                return None
            stack.extend(item[2])
        else:
            stack.extend(x for x in item[1:] if isinstance(x, tuple))
    return tuple(sorted(names))


def _key_part(value):
    """A hashable stand-in for a field value that keeps its type: ``1``, ``1.0`` and ``"1"``
    (equal as dict keys or not) evaluate differently, so they must not share a memo entry."""
    if type(value) is str:
        return value
    if isinstance(value, list):
        return (list, tuple(_key_part(v) for v in value))
    return (type(value), value)


class Expression(object):
    """A compiled eval expression: ``Expression("a+1")(event)``.

    The value of a pure expression is a function of the fields it reads, and those repeat a
    lot in logs (transport, ports, service names, process paths): each distinct tuple of input
    values is evaluated once and its result reused, like a columnar engine evaluating a
    dictionary-encoded column once per distinct value. When the inputs barely repeat (byte
    counts, timestamps) the memo gives up after a sample and evaluates every row.
    """

    _MEMO_LIMIT = 65536      # entries kept before the memo starts over (bounded memory)
    _SAMPLE = 4096           # rows looked at before judging whether memoising pays
    _MIN_HIT_SHARE = 0.5     # below this share of repeats the memo costs more than it saves

    def __init__(self, text, kind=None):
        """``kind``: ``"value"`` (an eval assignment, never boolean), ``"condition"`` (where:
        never a plain number or string) or None; type errors raise before any event is read."""
        self.text = text
        tree = parse(text)
        if kind == "value":
            typecheck.check_value(tree, text)
        elif kind == "condition":
            typecheck.check_condition(tree, text)
        else:
            typecheck.infer(tree, text)
        self.fn = compile_expr(tree)
        self._fields = fields_read(tree) if fast_paths_enabled() else None
        self._memo = {}
        self._calls = self._hits = 0

    def __call__(self, event):
        fields = self._fields
        if fields is None:
            return self.fn(event)
        if len(fields) == 1:
            key = event.get(fields[0])
            if type(key) is not str:
                key = _key_part(key)
        else:
            key = tuple([v if type(v) is str else _key_part(v) for v in map(event.get, fields)])
        memo = self._memo
        if key in memo:
            self._hits += 1
            value = memo[key]
            return list(value) if type(value) is list else value
        value = self.fn(event)
        calls = self._calls = self._calls + 1
        if calls >= self._SAMPLE and self._hits < self._MIN_HIT_SHARE * (calls + self._hits):
            self._fields = None  # inputs barely repeat: evaluate every row from now on
            self._memo = {}
            return value
        if len(memo) >= self._MEMO_LIMIT:
            memo.clear()
        memo[key] = list(value) if type(value) is list else value
        return value


def result_value(value, where="eval"):
    """Check an eval result before storing it (booleans are refused, like Splunk)."""
    if isinstance(value, bool):
        raise SplError("%s: the result of an expression cannot be boolean; use if(...)" % where)
    if isinstance(value, list):
        return mv_pack([str(v) if type(v) is Literal else v for v in value])
    if type(value) is Literal:
        return str(value)
    return value
