"""eval expressions: tokenizer and parser (text -> node tree)."""
import functools
import re

from ..spltext import TokenCursor
from ..values import Literal, SplError, to_number


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<qfield>'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|=|<|>|\+|-|\*|/|%|\.|\(|\)|,|!)
  | (?P<name>[A-Za-z_@$][\w@$]*(?:[.:][\w@$]+)*)
""", re.X)

KEYWORDS = {"AND", "OR", "NOT", "XOR", "LIKE", "IN"}
_ESCAPES = {"\\": "\\", '"': '"', "t": "\t", "n": "\n", "r": "\r"}


def unescape_string(body):
    """A quoted eval string's value: ``\\"``, ``\\\\``, ``\\t``, ``\\n``, ``\\r`` are escapes;
    any other backslash stays as written (``"\\d+"`` is the regex ``\\d+``, as in Splunk)."""
    return re.sub(r'\\(["\\tnr])', lambda m: _ESCAPES[m.group(1)], body)


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
            value = unescape_string(value[1:-1])
        elif kind == "qfield":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
            kind = "field"
        elif kind == "name":
            # searchbnf.conf: "All literals are case-insensitive", so eval's AND/OR/NOT/XOR/
            # LIKE/IN may be written in any case (ESCU's searches use `where a>1 and b>2`);
            # only the search command needs them uppercase (searchexpr)
            if value.upper() in KEYWORDS:
                kind, value = "kw", value.upper()
        tokens.append((kind, value))
    tokens.append(("end", None))
    return tokens


def lowercase_operators(text):
    """Operator words of an eval expression not written in uppercase (``and``, ``Or``).

    The runner accepts them (see :func:`tokenize`), but the Search Manual asks for
    capitalised operators, so the app's own SPL is checked to use uppercase only.
    """
    found, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            break
        pos = m.end()
        word = m.group("name") if m.lastgroup == "name" else None
        if word and word.upper() in KEYWORDS and word != word.upper() \
                and not (word.upper() in ("IN", "LIKE") and text[pos:pos + 1] == "("):
            found.append(word)  # like(x, y) and in(x, ...) are the functions
    return found


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
        node = self.p_xor()
        if self.peek()[0] != "end":
            raise SplError("eval: unexpected %r in %r" % (self.peek()[1], self.text))
        return node

    # Precedence, lowest first: XOR (Splunk evaluates it last), OR, AND, NOT, comparison,
    # + - ., * / %, unary minus.
    def p_xor(self):
        node = self.p_or()
        while self.accept("kw", "XOR"):
            node = ("xor", node, self.p_or())
        return node

    def p_or(self):
        node = self.p_and()
        while self.accept("kw", "OR"):
            node = ("or", node, self.p_and())
        return node

    def p_and(self):
        node = self.p_not()
        while self.accept("kw", "AND"):
            node = ("and", node, self.p_not())
        return node

    def p_not(self):
        if self.accept("kw", "NOT") or self.accept("op", "!"):
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
            args.append(self.p_xor())
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
            node = self.p_xor()
            self.expect("op", ")")
            return node
        raise SplError("eval: unexpected %r in %r" % (value, self.text))


@functools.lru_cache(maxsize=4096)
def parse(text):
    """Parse an eval expression into a node tree. Trees are never changed once built, so
    each text is parsed once per process (a hunt compiles the same expressions again for each
    search run and each evaluator); a text that does not parse raises each time."""
    return _Parser(text).parse()
