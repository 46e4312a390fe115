"""The ``search`` command's boolean expression with Splunk's matching semantics.

- ``field=value``: value is a ``*`` wildcard pattern, matched case-insensitively against
  every value of a multivalue field; a missing field never matches.
- ``field!=value``: the field exists and no value matches. ``NOT field=value`` also matches
  events without the field (Splunk documents the difference).
- ``field<value`` (``<= > >=``): numeric when both sides are numbers, else lexical.
- ``field IN (a, b*, "c d")``: any of the patterns.
- A bare word or phrase matches whole segments of ``_raw`` (split at Splunk's default
  breakers), case-insensitively, wildcards allowed: ``cmd`` matches ``c:\\cmd.exe`` but not
  ``cmdline``. Rows without ``_raw`` (e.g. after ``stats``) are matched against their field
  values the same way.
- Precedence: NOT, then OR, then AND (implicit between terms): ``a b OR c`` is
  ``a AND (b OR c)``, as Splunk's search language defines.
- ``index=...`` matches the event's index (files read offline are in ``main`` unless a
  reader says otherwise); ``index=*`` matches every index except internal ones (``_*``).
- ``earliest=...``/``latest=...`` keep events with ``earliest <= _time < latest``, the time
  modifiers resolved against the search's "now" (:func:`timespec.resolve`). Splunk applies
  them to the whole search; as a term they act the same when ANDed with the rest (the
  usual form). Other selectors (``_index_earliest``, ``splunk_server`` ...) are true.
"""
import re

from . import timespec
from .spltext import TokenCursor, read_quoted
from .values import SplError, compare, fast_paths_enabled, mv, to_number, to_str, wildcard_regex

SELECTOR_FIELDS = {"index", "earliest", "latest", "_index_earliest", "_index_latest",
                   "starttime", "endtime", "starttimeu", "endtimeu", "splunk_server"}
_OPS = ("!=", "<=", ">=", "==", "=", "<", ">")


def tokenize(text):
    """Tokens: ('q', str) quoted, ('w', str) word, ('op', s), ('(',), (')',), (',',)."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append((ch, ch))
            i += 1
            continue
        if ch == ",":
            tokens.append((",", ","))
            i += 1
            continue
        if ch == "[":
            raise SplError("search: subsearches ([...]) are not supported by the offline runner")
        if ch == '"':
            value, j = read_quoted(text, i)
            if j >= n:
                raise SplError("search: unbalanced quotes in %r" % text)
            tokens.append(("q", value))
            i = j + 1
            continue
        matched = None
        for op in _OPS:
            if text.startswith(op, i):
                matched = op
                break
        if matched:
            tokens.append(("op", "=" if matched == "==" else matched))
            i += len(matched)
            continue
        j = i
        after_op = bool(tokens) and tokens[-1][0] == "op"
        depth = 0
        while j < n and not text[j].isspace():
            ch = text[j]
            if ch == "\\" and j + 1 < n:  # \" and \\ inside an unquoted word
                j += 2
                continue
            if after_op and ch == "(":  # a value may hold balanced parentheses: x=*Get()*
                depth += 1
            elif after_op and ch == ")" and depth:
                depth -= 1
            elif ch in '()",=<>' or text.startswith("!=", j):
                break
            j += 1
        word = text[i:j]
        tokens.append(("w", re.sub(r'\\(["\\])', r"\1", word) if "\\" in word else word))
        i = j
    return tokens


class _Parser(TokenCursor):
    def __init__(self, text):
        TokenCursor.__init__(self, text, tokenize(text))

    def is_kw(self, tok, word):
        return tok[0] == "w" and tok[1] == word

    def parse(self):
        if not self.tokens:
            return ("true",)
        node = self.p_and()
        if self.pos < len(self.tokens):
            raise SplError("search: unexpected %r in %r" % (self.peek()[1], self.text))
        return node

    def p_and(self):
        parts = [self.p_or()]
        while True:
            tok = self.peek()
            if tok[0] is None or tok[0] == ")":
                break
            if self.is_kw(tok, "AND"):
                self.take()
            parts.append(self.p_or())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def p_or(self):
        parts = [self.p_not()]
        while self.is_kw(self.peek(), "OR"):
            self.take()
            parts.append(self.p_not())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def p_not(self):
        if self.is_kw(self.peek(), "NOT"):
            self.take()
            return ("not", self.p_not())
        return self.p_primary()

    def p_primary(self):
        tok = self.take()
        if tok[0] == "(":
            node = self.p_and()
            if self.take()[0] != ")":
                raise SplError("search: missing ')' in %r" % self.text)
            return node
        if tok[0] in ("w", "q"):
            nxt = self.peek()
            if nxt[0] == "op":
                self.take()
                val = self.take()
                if val[0] not in ("w", "q"):
                    raise SplError("search: missing value after %s%s in %r" % (tok[1], nxt[1], self.text))
                return ("cmp", tok[1], nxt[1], val[1], val[0] == "q")
            if self.is_kw(nxt, "IN") and self.peek(1)[0] == "(":
                self.take()
                self.take()
                values = []
                while True:
                    v = self.take()
                    if v[0] == ")":
                        break
                    if v[0] == ",":
                        continue
                    if v[0] not in ("w", "q"):
                        raise SplError("search: bad IN list in %r" % self.text)
                    values.append(v[1])
                return ("in", tok[1], values)
            if tok[0] == "w" and tok[1] in ("AND", "OR"):
                raise SplError("search: %s without a term before it in %r" % (tok[1], self.text))
            return ("term", tok[1])
        raise SplError("search: unexpected %r in %r" % (tok[1], self.text))


def parse(text):
    return _Parser(text).parse()


def _value_matcher(pattern):
    """Predicate on one scalar field value: wildcard, case-insensitive, numeric-aware."""
    if "*" in pattern:
        rx = wildcard_regex(pattern)
        return lambda v: rx.match(to_str(v)) is not None
    low = pattern.lower()
    num = to_number(pattern)

    def match(v):
        s = to_str(v)
        if s.lower() == low:
            return True
        if num is not None:
            n = to_number(v)
            return n is not None and n == num
        return False
    return match


# Splunk's default segmenters.conf breakers. A bare term matches whole segments: it must
# start and end at a breaker (or the ends of _raw), so ``dns`` does not match ``nodns.exe``
# while ``evil.com`` matches ``www.evil.com/x`` (segments ``evil``, ``com`` in order).
MAJOR_BREAKERS = " \t\n\r[]<>(){}|!;,'\"&"
MINOR_BREAKERS = "/:=@.-$#%\\_"
_BREAKERS = re.escape(MAJOR_BREAKERS + MINOR_BREAKERS)
_MAJOR = re.escape(MAJOR_BREAKERS)


def term_regex(text):
    """Regex finding a bare search term (``*`` wildcards) as whole segments of a text.

    A wildcard matches within one major segment (it never crosses a space or other major
    breaker), as Splunk matches wildcard terms against indexed tokens.
    """
    body = ("[^%s]*" % _MAJOR).join(re.escape(p) for p in text.split("*"))
    return re.compile("(?<![^%s])%s(?![^%s])" % (_BREAKERS, body, _BREAKERS), re.IGNORECASE)


def _time_selector(field, op, value, now):
    bound = timespec.resolve(value, now)
    if op not in ("=", "!="):
        raise SplError("search: %s takes =, got %s" % (field, op))

    def keep(ev):
        t = to_number(ev.get("_time"))
        if t is None:
            return False
        return t >= bound if field == "earliest" else t < bound
    return keep


def _index_selector(value):
    if value == "*":
        return lambda ev: not to_str(ev.get("index") or "main").startswith("_")
    m = _value_matcher(value)
    return lambda ev: m(ev.get("index") or "main")


def _memoised_equal(field, matcher, limit=65536):
    """``field=value`` with the answer kept per distinct string value of the field (values
    repeat: sourcetypes, ports, process names), multivalue and numbers matched as they are."""
    seen = {}

    def equal(ev):
        value = ev.get(field)
        if type(value) is str:
            answer = seen.get(value)
            if answer is None:
                if len(seen) >= limit:
                    seen.clear()
                answer = seen[value] = matcher(value)
            return answer
        return any(matcher(v) for v in mv(value))
    return equal


def _compile(node, now=None):
    kind = node[0]
    if kind == "true":
        return lambda ev: True
    if kind == "and":
        parts = [_compile(p, now) for p in node[1]]

        def all_of(ev):
            for part in parts:
                if not part(ev):
                    return False
            return True
        return all_of
    if kind == "or":
        parts = [_compile(p, now) for p in node[1]]

        def any_of(ev):
            for part in parts:
                if part(ev):
                    return True
            return False
        return any_of
    if kind == "not":
        inner = _compile(node[1], now)
        return lambda ev: not inner(ev)
    if kind == "cmp":
        _, field, op, value, quoted = node
        if field.lower() in ("earliest", "latest") and now is not None:
            return _time_selector(field.lower(), op, value, now)
        if field.lower() == "index" and op == "=":
            return _index_selector(value)
        if field.lower() in SELECTOR_FIELDS:
            return lambda ev: True
        if op in ("=", "!="):
            if value == "*" and not quoted or value == "*":
                exists = lambda ev: any(to_str(v) != "" for v in mv(ev.get(field)))  # noqa: E731
                return exists if op == "=" else (lambda ev: False)
            m = _value_matcher(value)
            if op == "=":
                if fast_paths_enabled():
                    return _memoised_equal(field, m)
                return lambda ev: any(m(v) for v in mv(ev.get(field)))

            def not_equal(ev):
                values = mv(ev.get(field))
                return bool(values) and not any(m(v) for v in values)
            return not_equal

        def ordered(ev):
            for v in mv(ev.get(field)):
                c = compare(v, value)
                if (op == "<" and c < 0) or (op == ">" and c > 0) or (op == "<=" and c <= 0) or (op == ">=" and c >= 0):
                    return True
            return False
        return ordered
    if kind == "in":
        _, field, values = node
        if field.lower() == "index":
            selectors = [_index_selector(v) for v in values]
            return lambda ev: any(sel(ev) for sel in selectors)
        if field.lower() in SELECTOR_FIELDS:
            return lambda ev: True
        matchers = [_value_matcher(v) for v in values]
        return lambda ev: any(m(v) for v in mv(ev.get(field)) for m in matchers)
    if kind == "term":
        text = node[1]
        if text == "*":
            return lambda ev: True
        rx = term_regex(text)

        def term(ev):
            raw = ev.get("_raw")
            if raw is not None:
                return any(rx.search(to_str(r)) for r in mv(raw))
            return any(rx.search(to_str(v)) for key, val in ev.items() for v in mv(val))
        return term
    raise SplError("search: bad node %r" % (kind,))


class SearchExpression(object):
    """A compiled search expression: ``SearchExpression('a=1 OR b=2')(event) -> bool``."""

    def __init__(self, text, now=None):
        """``now``: the epoch ``earliest=``/``latest=`` are relative to (None: they are true)."""
        self.text = text
        self.tree = parse(text)
        self.fn = _compile(self.tree, now)

    def __call__(self, event):
        return self.fn(event)
