"""Static type check of an eval expression, done before any event is read.

Splunk rejects a search whose eval/where expression mixes booleans and values (``eval
x=(a>1)``, ``if("x", 1, 0)``, ``1 AND 2``) when it parses the search, whatever the data; the
runner does the same here instead of failing (or not) on the first row.

Types: ``bool`` (comparisons, AND/OR/XOR/NOT, predicate functions), ``num``, ``str``, and
``any`` (field values and functions whose type depends on the data).
"""
from ..values import Literal, SplError

# Functions that return a boolean (a condition) in Splunk's eval.
BOOLEAN_FUNCTIONS = {"isnull", "isnotnull", "isnum", "isint", "isstr", "match", "like",
                     "cidrmatch", "in", "true", "false", "searchmatch", "isbool"}
NUMBER_FUNCTIONS = {"len", "tonumber", "round", "abs", "ceil", "ceiling", "floor", "sqrt",
                    "exp", "ln", "log", "pow", "now", "time", "mvcount", "strptime",
                    "random", "exact", "pi", "sigfig"}
STRING_FUNCTIONS = {"lower", "upper", "trim", "ltrim", "rtrim", "substr", "replace",
                    "urldecode", "tostring", "strftime", "md5", "sha1", "sha256", "sha512",
                    "typeof", "mvjoin"}
# Functions whose arguments at these positions are conditions.
_CONDITION_ARGS = {"if": lambda n: [0], "case": lambda n: range(0, n, 2),
                   "validate": lambda n: range(0, n, 2)}


def _fail(text, message):
    raise SplError("eval: %s in %r" % (message, text))


def infer(node, text):
    """The static type of ``node``; raises SplError on a boolean/value mix-up."""
    kind = node[0]
    if kind == "lit":
        if node[1] is None:
            return "any"
        return "str" if type(node[1]) is Literal else "num"
    if kind == "field":
        return "any"
    if kind == "neg":
        if infer(node[1], text) == "bool":
            _fail(text, "unary minus of a boolean")
        return "num"
    if kind == "not":
        _want_bool(node[1], text, "NOT")
        return "bool"
    if kind in ("and", "or", "xor"):
        _want_bool(node[1], text, kind.upper())
        _want_bool(node[2], text, kind.upper())
        return "bool"
    if kind == "cmp":
        for side in (node[2], node[3]):
            if infer(side, text) == "bool":
                _fail(text, "a comparison of a boolean (%s); use if(...)" % node[1])
        return "bool"
    if kind == "arith":
        types = [infer(side, text) for side in (node[2], node[3])]
        if "bool" in types:
            _fail(text, "a boolean in arithmetic (%s); use if(...)" % node[1])
        if node[1] == ".":
            return "str"
        if node[1] == "+":
            if types == ["num", "num"]:
                return "num"
            return "str" if types == ["str", "str"] else "any"
        return "num"
    if kind == "call":
        name, args = node[1], node[2]
        positions = set(_CONDITION_ARGS.get(name, lambda n: [])(len(args)))
        types = []
        for i, arg in enumerate(args):
            if i in positions:
                _want_bool(arg, text, "%s() condition" % name)
                types.append("bool")
            else:
                types.append(infer(arg, text))
        if name in BOOLEAN_FUNCTIONS:
            return "bool"
        if name in ("if", "case", "validate", "coalesce"):
            results = [t for i, t in enumerate(types) if i not in positions]
            return results[0] if results and all(t == results[0] for t in results) else "any"
        if name in NUMBER_FUNCTIONS:
            return "num"
        if name in STRING_FUNCTIONS:
            return "str"
        return "any"
    return "any"


def _want_bool(node, text, where):
    kind = infer(node, text)
    if kind in ("num", "str"):
        _fail(text, "%s needs a boolean, got a %s" % (where, "number" if kind == "num" else "string"))


def check_value(node, text, where="eval"):
    """An eval assignment's expression: must not be a boolean."""
    if infer(node, text) == "bool":
        raise SplError("%s: the result of an expression cannot be boolean; use if(...) in %r"
                       % (where, text))


def check_condition(node, text, where="where"):
    """A where/if condition: must not be a plain number or string."""
    kind = infer(node, text)
    if kind in ("num", "str"):
        raise SplError("%s: the expression must be a condition (a boolean), got a %s in %r"
                       % (where, "number" if kind == "num" else "string", text))
