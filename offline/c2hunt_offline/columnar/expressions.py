"""eval expressions on columns: an eval node tree evaluated for a whole frame at once.

Each node is evaluated natively (polars kernels over the column) when its Splunk semantics can
be matched exactly for the columns at hand, and otherwise per distinct tuple of the fields it
reads with the row evaluator (:func:`..evalexpr.evaluate.compile_expr` through
:func:`.table.map_distinct`): exact by construction, and cheap because log fields repeat. The
choice is made per node, on the node and the dtypes and contents of its inputs (a cheap check
per column), so a native node may hold a per-distinct child and the other way round.

Evaluation is eager, one node at a time: every native kernel checks its inputs first (an
integer past 2**53 that Python would keep exact, a regex whose matches Python's ``re`` and
polars' engine might not agree on, a non-ASCII string a case mapping might treat differently)
and declines by raising :class:`_Unsupported`, upon which that node goes per distinct. What a
check or a conversion derives from a value (its numbers, its text, whether it is plain ASCII) is
kept on the value (:func:`_memo`), and the fields read stay for the whole eval command (dropped
when assigned), so a field read by several nodes and assignments is checked once; what is
derived from a frame's column is kept across commands too, for as long as an equal column is
read (:func:`_shared_memo`: the searches of a hunt read the same event fields).

Measured on the 200k-record hunt, the time goes to these passes over the rows (regexes, parses,
formatting, copies), not to the calls that start them (about 0.05 ms each), so the savings are
in passes not made: facts kept across commands, integers parsed without the number regex
(:func:`_integers`), ``%.15g`` by float arithmetic (:func:`_g15`), and, as the row engine does,
an operand evaluated only on the rows that need it (AND/OR's right operand where the left one
leaves the outcome open, an if/case branch where it is chosen: :meth:`ColumnEvaluator.value_on`,
when those rows are few).

A node's result is a :class:`Val`: a column and a kind that says which Python values it
stands for (the row engine's, see :mod:`..values`):

=========  =================  ===================================================================
kind       column dtype       Python values
=========  =================  ===================================================================
``num``    Float64            int (when integral) or float; always finite, below 2**53 in size
``str``    String             ``str`` (a numeric-looking string counts as a number)
``lit``    String             :class:`..values.Literal` (a quoted literal: never a number)
``text``   String             either of the two above (usable where the difference is moot)
``mv``     List(String)       a list of ``str`` (one element: the single value); never empty
``mix``    String + Float64   ``str`` in the rows of ``s``, numbers in those of ``num``
                              (``coalesce(bytes, 0)``): at most one of the two per row
``bool``   Boolean            True/False (conditions)
``null``   String             nothing but nulls (``null()``, a field no row has)
``obj``    (Python list)      anything else: only the per-distinct path computes on it
=========  =================  ===================================================================
"""
import math
import re

import numpy as np
import polars as pl

from ..evalexpr.evaluate import compile_expr, fields_read
from ..values import Literal, convert_regex, to_number, truth
from .table import NotColumnar, map_distinct

NUM, STR, LIT, TEXT, MV, BOOL, NULL, OBJ = "num", "str", "lit", "text", "mv", "bool", "null", "obj"
MIX = "mix"
_STRINGS = (STR, LIT, TEXT)
DTYPES = {NUM: pl.Float64, STR: pl.String, LIT: pl.String, TEXT: pl.String, NULL: pl.String,
          MV: pl.List(pl.String), BOOL: pl.Boolean}
_EXACT = 2.0 ** 53  # below this a float holds an integer exactly, so int and float agree

# ASCII whitespace as float() strips it (Python's ``\s`` also takes \x1c-\x1f, which float()
# refuses: strings holding those go through values.to_number itself)
_PY_SPACE = "\\t\\n\\x0b\\x0c\\r "
# values.to_number's pattern for ASCII strings, spelt for polars' regex engine
_NUMBER = ("^[%s]*[-+]?(?:[0-9]+\\.?[0-9]*(?:[eE][-+]?[0-9]+)?|\\.[0-9]+(?:[eE][-+]?[0-9]+)?)[%s]*$"
           % (_PY_SPACE, _PY_SPACE))
_PY_SPACE_CHARS = "\t\n\x0b\x0c\r "
_HEX = "^[%s]*0[xX][0-9a-fA-F]+[%s]*$" % (_PY_SPACE, _PY_SPACE)
_NOT_ASCII = "[^\\x00-\\x7f]"
_NOT_SIMPLE = "[^\\x00-\\x1b\\x20-\\x7f]"  # non-ASCII or \x1c-\x1f: to_number itself decides
# characters on which Python's re and polars' regex engine agree for the patterns allowed below
_NOT_PLAIN = "[^\\t\\x20-\\x7e]"


class _Unsupported(Exception):
    """This node cannot be evaluated natively here: evaluate it per distinct input instead."""


class Val(object):
    __slots__ = ("kind", "s", "num", "outputs", "index", "memo", "column", "chosen")

    def __init__(self, kind, s, outputs=None, index=None, num=None):
        self.kind = kind
        self.s = s
        self.num = num  # mix: the numbers (s holds the strings)
        self.outputs = outputs  # obj: the distinct Python values, and each row's position in them
        self.index = index
        self.memo = None  # what has been derived from the value (its numbers, its text, checks)
        self.column = None  # a field read as the frame holds it: its name (see _shared_memo)
        self.chosen = None  # mix of if/case/coalesce: the (mask, Val) pairs and default it chose from


def _memo(val, key, compute):
    """``compute()`` once per value: a field read by several nodes of a command is parsed and
    checked once (a Val never changes; a check that declines is not kept, so it declines again)."""
    memo = val.memo
    if memo is None:
        memo = val.memo = _shared_memo(val) if val.column is not None else {}
    if key not in memo:
        memo[key] = compute()
    return memo[key]


# What was derived from a frame's column (its numbers, its text, whether it is plain ASCII), kept
# from one eval/where to the next while the column is unchanged: the searches of a hunt read the
# same event fields again and again, and each check is a pass over every string (a regex, a
# parse), where telling that a column is the one already checked is one comparison (Series.equals
# on shared buffers: a tenth of the cost). Keyed by (name, dtype, length); an entry is reused only
# when its column equals the one read now (so a derived fact is always the fact of these values),
# and replaced otherwise. Bounded by the rows the entries hold, oldest dropped first.
_SHARED = {}
_SHARED_MIN_ROWS = 4096  # below this a check costs less than the comparison that would skip it
_SHARED_MAX_ROWS = 1 << 21  # about 10 columns of 200,000 rows (mostly the event table's own: no copy)


def _shared_memo(val):
    """The memo dict of the column ``val`` reads: the one kept for an equal column, else a new
    one kept from now on."""
    s = val.s
    n = s.len()
    if n < _SHARED_MIN_ROWS:
        return {}
    key = (val.column, str(s.dtype), n)
    entry = _SHARED.pop(key, None)
    if entry is not None and entry[0].null_count() == s.null_count() and entry[0].equals(s):
        _SHARED[key] = entry  # now the newest
        return entry[1]
    memo = {}
    _SHARED[key] = (s, memo)
    rows = sum(k[2] for k in _SHARED)
    while rows > _SHARED_MAX_ROWS and len(_SHARED) > 1:
        oldest = next(iter(_SHARED))
        rows -= oldest[2]
        del _SHARED[oldest]
    return memo


def _select(expr):
    return pl.select(expr).to_series()


# Constant columns (all null, all false, a literal) by (value, dtype, rows): searches read many
# fields a log lacks and the same literals, eval after eval, on frames of one height; a few are
# kept (polars copies a shared column before changing it: a caller's scatter leaves it as it was).
_CONSTANT_COLUMNS = {}


def _nulls(n, dtype=pl.String):
    return _repeated(None, dtype, n)


def _repeated(value, dtype, n):
    """A column of ``n`` times ``value``, kept per (value, dtype, rows) (the value's repr: -0.0
    is not 0.0): each pl.repeat costs a query (0.1-0.2 ms), and the same few constants (nulls,
    false, a literal) are made again and again on frames of one height."""
    key = (type(value), repr(value), str(dtype), n)
    column = _CONSTANT_COLUMNS.get(key)
    if column is None:
        if len(_CONSTANT_COLUMNS) >= 16:
            _CONSTANT_COLUMNS.clear()
        column = _CONSTANT_COLUMNS[key] = pl.repeat(value, n, dtype=dtype, eager=True)
    return column.clone()


# Series.fill_null, is_null and is_not_null run through polars' query engine (0.1-0.2 ms a
# call whatever the column's length, and a chunk's expressions make hundreds of them): where the
# column holds no null, which its null count tells at once, the answer needs no call.
def _filled(mask, value):
    """``mask.fill_null(value)``."""
    return mask.fill_null(value) if mask.null_count() else mask


def _held(s):
    """``s.is_not_null()``."""
    return s.is_not_null() if s.null_count() else _repeated(True, pl.Boolean, s.len()).alias(s.name)


def _missing(s):
    """``s.is_null()``."""
    return s.is_null() if s.null_count() else _repeated(False, pl.Boolean, s.len()).alias(s.name)


def _any(mask):
    return bool(mask.any()) if mask.len() else False


def _per_distinct(series, fn, dtype):
    """``fn`` of each distinct non-null value, mapped back onto the column (nulls stay)."""
    distinct = series.drop_nulls().unique(maintain_order=True)
    if not distinct.len():
        return _nulls(series.len(), dtype)
    try:
        mapped = pl.Series([fn(v) for v in distinct.to_list()], dtype=dtype)
    except Exception as exc:  # noqa: BLE001  (the node's per-distinct path meets it as the row engine does)
        raise _Unsupported("%s: %s" % (type(exc).__name__, exc))
    return series.replace_strict(distinct, mapped, default=None, return_dtype=dtype)


def _exact_numbers(s):
    """Numbers that the row engine's int/float agree with a Float64 on (else decline)."""
    # in numpy: a null reads as NaN there, so more rows not below 2**53 than nulls means a
    # NaN, an infinity or a number past 2**53 (four polars calls cost 0.5 ms on any column)
    if s.null_count() == s.len():
        return s
    outside = np.count_nonzero(~(np.abs(s.to_numpy()) < _EXACT))
    if outside > s.null_count():
        raise _Unsupported("a number past 2**53 or not finite")
    return s


def _simple(s):
    """True when no string holds a character to_number must judge itself (non-ASCII, \\x1c-\\x1f)."""
    return not _any(_filled(s.str.contains(_NOT_SIMPLE), False))


def _integers(s):
    """The numbers of a String column whose every string is an integer as polars' integer
    parser reads one (ASCII ``[-+]?[0-9]+`` below 2**63: a number for values.to_number too,
    the same one), else None. Counts, sizes and ports: one parse instead of a regex, a strip
    and a parse."""
    integers = s.cast(pl.Int64, strict=False)
    if integers.null_count() != s.null_count():
        return None
    return integers.cast(pl.Float64)


def _parse_numbers(s, simple=None, integers=True):
    """values.to_number of each string of a String column, as Float64 (null: not a number);
    ``simple``: _simple(s), or a function giving it, when already known; ``integers``: False
    when _integers(s) is known to be None."""
    integers = _integers(s) if integers else None
    if integers is not None:
        return _exact_numbers(integers)
    if callable(simple):
        simple = simple()
    if not (_simple(s) if simple is None else simple):
        def number(text):
            n = to_number(text)
            return None if n is None else float(n) if abs(n) < _EXACT else math.inf
        return _exact_numbers(_per_distinct(s, number, pl.Float64))
    numeric = s.str.contains(_NUMBER)
    parsed = s.str.strip_chars(_PY_SPACE_CHARS).cast(pl.Float64, strict=False)
    return _exact_numbers(_select(pl.when(pl.lit(numeric)).then(pl.lit(parsed))))


def number_texts(series):
    """``values.to_str`` of each number of a Float64 or integer column: whole numbers below
    1e16 without a point, the others as ``"%.15g"`` (inf, -inf and nan too), natively where
    that is certain (:func:`_g15`), else by the C formatter once per distinct value; null stays
    null, the name is kept."""
    values = series.cast(pl.Float64)
    whole = _filled(values.is_finite() & (values == values.floor()) & (values.abs() < 1e16), False)
    texts = _select(pl.when(pl.lit(whole)).then(pl.lit(values)).otherwise(None).cast(pl.Int64).cast(pl.String))
    other = _held(values) & ~whole
    if _any(other):
        settled = _g15(_select(pl.when(pl.lit(other)).then(pl.lit(values))))
        texts = _select(pl.coalesce(pl.lit(settled), pl.lit(texts)))
        other = other & _missing(settled)
    if _any(other):
        at = np.flatnonzero(other.to_numpy())
        distinct, inverse = np.unique(values.to_numpy()[at], return_inverse=True)  # NaNs sort last, each apart
        table = np.array(["%.15g" % value for value in distinct.tolist()], dtype=object)
        texts = texts.scatter(at, pl.Series(table[inverse.ravel()].tolist(), dtype=pl.String))
    return texts.alias(series.name)


_POWERS = 10.0 ** np.arange(19)  # exact as floats (every power of ten up to 10**22 is)
_UNITS = 10 ** np.arange(19, dtype=np.int64)
_SPLITTER = 134217729.0  # 2**27 + 1: Veltkamp's split of a float into two 26-bit halves


def _product_error(a, b, product):
    """a * b - product, exactly (Dekker's TwoProduct, ``product`` being a * b rounded): the
    part of the exact product the float lost. Exact where nothing overflows or underflows."""
    def halves(v):
        c = _SPLITTER * v
        high = c - (c - v)
        return high, v - high
    ah, al = halves(a)
    bh, bl = halves(b)
    return al * bl - (((product - ah * bh) - al * bh) - ah * bl)


def _g15(s):
    """``"%.15g" % x`` of each value of a Float64 column of fractions, where it is certain; null
    elsewhere (the caller asks Python for those).

    %g writes x to 15 significant digits, in fixed notation when x's decimal exponent e
    (10**e <= |x| < 10**(e+1)) is between -4 and 14: the integer N nearest to X = |x| * 10**p,
    p = 14 - e, written with p decimals, trailing zeros dropped. 10**p is exact as a float,
    so the float product y holds X but for one rounding, and the TwoProduct error r gives X =
    y + r exactly. For X between 10**14 and 10**15, y's fraction is a multiple of its ulp (at
    most 1/8) and |r| at most half of it, so N is floor(y), plus one when y's fraction is past
    0.5, or is 0.5 and r is positive, or r is zero and floor(y) is odd (a true tie: to even, as
    the C formatter rounds). Left to the caller: exponents outside -4..14 (exponent notation),
    an X outside [10**14, 10**15) (log10 misjudged e near a power of ten), N = 10**15 with e =
    14 (the carry makes it exponent notation)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # infinities: not fixed, left
        return _g15_of(s, s.to_numpy())  # nulls as NaN


def _g15_of(s, x):
    magnitude = np.abs(np.where(np.isnan(x), 1.0, x))
    exponent = np.floor(np.log10(magnitude))
    fixed = ~np.isnan(x) & (exponent >= -4) & (exponent <= 14)
    places = np.where(fixed, 14 - exponent, 0).astype(np.int64)
    y = magnitude * _POWERS[places]
    error = _product_error(magnitude, _POWERS[places], y)
    floor = np.floor(np.where(y < 1e15, y, 0.0))
    fraction = y - floor
    digits = floor.astype(np.int64)
    up = (fraction > 0.5) | ((fraction == 0.5) & ((error > 0) | ((error == 0) & (digits & 1 == 1))))
    digits += up
    certain = fixed & (y < 1e15) & ((y > 1e14) | ((y == 1e14) & (error >= 0))) \
        & ~((digits == 10 ** 15) & (places == 0))
    digits = np.where(certain, digits, 0)
    unit, sign = _UNITS[places], np.where(x < 0, -1, 1)
    # N / 10**p: both exact as floats (N < 2**53), so the quotient is the float nearest the
    # decimal N * 10**-p, and a decimal of at most 15 significant digits is what the shortest
    # text of its nearest float says (polars' cast writes that, in fixed notation here); a
    # whole N / 10**p (x rounded up to an integer) is written as the integer, as %g does
    text = pl.Series(s.name, sign * (digits / _POWERS[places])).cast(pl.String)
    integer = pl.Series(s.name, sign * (digits // unit)).cast(pl.String)
    return _select(pl.when(pl.lit(pl.Series(certain))).then(
        pl.when(pl.lit(pl.Series(digits % unit == 0))).then(pl.lit(integer)).otherwise(pl.lit(text)))
        .otherwise(None).cast(pl.String)).alias(s.name)


def _plain(s):
    """True when every string is tab or printable ASCII: there polars' regex engine and case
    mappings give what Python's give (no newline for ``$``, no Unicode for ``\\s``/``\\w``)."""
    return not _any(_filled(s.str.contains(_NOT_PLAIN), False))


def _single(val):
    """A multivalue column's lists of one value as that value (str); longer lists: null."""
    return _select(pl.when(pl.lit(val.s.list.len()) == 1).then(pl.lit(val.s).list.first()))


def _normalise_mv(s):
    """Empty lists are null; a column whose lists all hold one value is a plain column."""
    lengths = s.list.len()
    s = _select(pl.when(pl.lit(lengths) > 0).then(pl.lit(s)))
    if not _any(_filled(lengths > 1, False)):
        return Val(STR, s.list.first())
    return Val(MV, s)


def _string_numbers(val):
    """to_num of a str/lit/text value (kept: _memo)."""
    def parse():
        integers = _integer_strings(val)
        if integers is not None:
            return _exact_numbers(integers)
        return _parse_numbers(val.s, lambda: _simple_strings(val), integers=False)
    return _memo(val, "parsed", parse)


def _integer_strings(val):
    return _memo(val, "integers", lambda: _integers(val.s))


def _simple_strings(val):
    return _memo(val, "simple", lambda: _simple(val.s))


def _plain_text(val):
    """to_text of a value, declined unless it is tab or printable ASCII (see _plain)."""
    text = to_text(val)
    if not _memo(val, "plain", lambda: _plain(text)):
        raise _Unsupported("input outside printable ASCII")
    return text


def _plain_items(val):
    """A multivalue column, declined unless every item is tab or printable ASCII."""
    if not _memo(val, "plain items", lambda: _plain(val.s.explode())):
        raise _Unsupported("input outside printable ASCII")
    return val.s


# ------------------------------------------------------------------------ conversions

def to_num(val):
    """values.to_number of each value: a Float64 column (null: not a number)."""
    kind = val.kind
    if kind == NUM:
        return val.s
    return _memo(val, "num", lambda: _to_num(val))


def _to_num(val):
    kind = val.kind
    if kind in (NULL, LIT):
        return _nulls(val.s.len(), pl.Float64)
    if kind == STR:
        return _string_numbers(val)
    if kind == MV:
        return _parse_numbers(_single(val))
    if kind == MIX:
        if val.chosen is not None:
            try:
                return _chosen_numbers(*val.chosen)
            except _Unsupported:
                pass  # a branch declines as a whole where its chosen rows would not: parse them
        return _select(pl.coalesce([pl.lit(_parse_numbers(val.s)), pl.lit(val.num)]))
    raise _Unsupported("not a number")


def _chosen_numbers(pairs, default):
    """to_num of what _choose picked, as the same choice among the branches' numbers: those of a
    field are parsed once for every command (_shared_memo), the chosen strings would be anew."""
    expr = None
    for condition, branch in pairs:
        numbers = pl.lit(to_num(branch))
        expr = pl.when(pl.lit(condition)).then(numbers) if expr is None \
            else expr.when(pl.lit(condition)).then(numbers)
    if default is not None:
        expr = expr.otherwise(pl.lit(to_num(default)))
    return _select(expr).cast(pl.Float64)


def to_text(val):
    """values.to_str of each value (a multivalue of one value is that value, else null, as
    eval's operators take it)."""
    kind = val.kind
    if kind in _STRINGS or kind == NULL:
        return val.s
    return _memo(val, "text", lambda: _to_text(val))


def _to_text(val):
    kind = val.kind
    if kind == NUM:
        return number_texts(val.s)
    if kind == MV:
        return _single(val)
    if kind == MIX:
        return _select(pl.coalesce([pl.lit(val.s), pl.lit(number_texts(val.num))]))
    raise _Unsupported("not text")


def present(val):
    """Rows that hold a value."""
    if val.kind == OBJ:
        raise _Unsupported("only Python holds these values")
    if val.kind == MIX:
        return _held(val.s) | _held(val.num)
    return _held(val.s)


def _parts(val):
    """(strings, numbers) of a str/num/mix/null column, as a mix holds them."""
    n = val.s.len()
    if val.kind == MIX:
        return val.s, val.num
    if val.kind == STR:
        return val.s, _nulls(n, pl.Float64)
    if val.kind == NUM:
        return _nulls(n), val.s
    if val.kind == NULL:
        return _nulls(n), _nulls(n, pl.Float64)
    raise _Unsupported("%s in a mix" % val.kind)


def _choose(kind, pairs, default=None):
    """Per row, the value of the first (mask, Val) pair whose mask holds; else ``default`` (a
    Val) or null. A mix chooses its strings and its numbers alike."""
    def chain(columns, fallback):
        expr = None
        for (condition, _), column in zip(pairs, columns):
            expr = pl.when(pl.lit(condition)).then(pl.lit(column)) if expr is None \
                else expr.when(pl.lit(condition)).then(pl.lit(column))
        if fallback is not None:
            expr = expr.otherwise(pl.lit(fallback))
        return _select(expr)
    if kind == MIX:
        parts = [_parts(v) for _, v in pairs]
        rest = _parts(default) if default is not None else (None, None)
        val = Val(MIX, chain([p[0] for p in parts], rest[0]).cast(pl.String),
                  num=chain([p[1] for p in parts], rest[1]).cast(pl.Float64))
        val.chosen = (pairs, default)
        return val
    if kind == NULL:
        return Val(NULL, _nulls(pairs[0][0].len()))
    columns = [as_kind(v, kind) for _, v in pairs]
    fallback = as_kind(default, kind) if default is not None else None
    return Val(kind, chain(columns, fallback).cast(DTYPES[kind]))


def as_kind(val, kind):
    """``val`` as a column of ``kind`` (for if/case/coalesce branches)."""
    if val.kind == kind:
        return val.s
    n = val.s.len()
    if val.kind == NULL:
        if kind == NUM:
            return _nulls(n, pl.Float64)
        if kind == BOOL:
            return _nulls(n, pl.Boolean)
        if kind == MV:
            return _nulls(n, pl.List(pl.String))
        return val.s
    if kind == TEXT and val.kind in _STRINGS:
        return val.s
    if kind == MV and val.kind == STR:
        return _select(pl.when(pl.lit(val.s).is_not_null()).then(pl.concat_list([pl.lit(val.s)])))
    raise _Unsupported("branches of different kinds")


def unify(vals):
    kinds = set(v.kind for v in vals) - {NULL}
    if OBJ in kinds:
        raise _Unsupported("a branch only Python holds")
    if not kinds:
        return NULL
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= set(_STRINGS):
        return TEXT
    if kinds == {STR, MV}:
        return MV
    if kinds <= {STR, NUM, MIX}:
        return MIX
    raise _Unsupported("branches of different kinds")


def mask(val):
    """Splunk truth of a condition column: only True is true."""
    if val.kind == BOOL:
        return _filled(val.s, False)
    if val.kind == OBJ:
        flags = pl.Series([truth(v) for v in val.outputs], dtype=pl.Boolean)
        return flags.gather(val.index)
    return _repeated(False, pl.Boolean, val.s.len())


def _literal_number(node):
    """The number a literal argument (``2``, ``-1``) stands for, else None."""
    if node[0] == "lit" and type(node[1]) in (int, float):
        return node[1]
    if node[0] == "neg" and node[1][0] == "lit" and type(node[1][1]) in (int, float):
        return -node[1][1]
    return None


def _literal_text(node):
    if node[0] == "lit" and type(node[1]) is Literal:
        return str(node[1])
    return None


# ------------------------------------------------------------------------ regexes

_SAFE_ESCAPES = set("dDwWsSbB.\\/-+*?()[]{}|^$tnr\"'")


# a group holding a quantifier under an unbounded one, ``(a+)+``: Python's backtracking engine can take
# exponential time on it and the row engine then ends the search (the regex time budget, as
# PCRE's match limit ends a Splunk search), where polars' automaton answers in linear time
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\})")


def rust_compatible(pattern):
    """True when polars' regex engine reads ``pattern`` as Python's ``re`` does (on tab and
    printable ASCII input): no construct either engine spells differently, and no nested
    quantifier (whose outcome is the row engine's time budget)."""
    if not pattern.isascii() or _NESTED_QUANTIFIER.search(pattern):
        return False
    if pattern.startswith("(?i)"):
        pattern = pattern[4:]
    for token in ("[[", "&&", "--", "~~", "[:", "{,", "(?", "*+", "++", "?+", "}+"):
        if token in pattern.replace("(?:", ""):
            return False
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1] not in _SAFE_ESCAPES:
                return False
            i += 2
            continue
        i += 1
    return True


def _contains(s, pattern):
    try:
        return s.str.contains(pattern)
    except pl.exceptions.PolarsError:
        raise _Unsupported("polars does not take this regex")


def _like_regex(pattern):
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch in "\\.+*?()|[]{}^$#&-~":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "(?s)^" + "".join(out) + "$"


# ------------------------------------------------------------------------ the evaluator

class ColumnEvaluator(object):
    """Evaluates node trees over one frame; ``per_distinct`` lists the subexpressions that
    were not native (for tests and profiles)."""

    instances = None  # a list to collect every evaluator in (tests), else None

    def __init__(self, frame, fields=None, shared=True):
        self.frame = frame
        self.n = frame.height
        self.shared = shared  # what is derived from its columns is kept for later commands
        self.per_distinct = []
        # field name (or literal) -> Val: shared by the evaluators of one command, whose caller
        # drops a field it assigns (see evaluate)
        self.fields = {} if fields is None else fields
        self.errors = []  # native kernels that failed unexpectedly (tests assert there are none)
        if ColumnEvaluator.instances is not None:
            ColumnEvaluator.instances.append(self)

    def value(self, node):
        handler = _NATIVE.get(node[0]) if node[0] != "call" else _CALLS.get(node[1])
        if handler is not None:
            try:
                return handler(self, node)
            except _Unsupported:
                pass
            except NotColumnar:
                raise
            except Exception as exc:  # noqa: BLE001  (a defect of a native kernel: the exact path still answers)
                self.errors.append((node, exc))
        return self.fallback(node)

    def value_on(self, node, needed):
        """``node``'s value on the rows where ``needed`` (a Boolean column without nulls) holds,
        anything (null) elsewhere. When few rows need it and it costs more than a look at a
        field, only those rows are evaluated (a frame of them and of the fields it reads)."""
        if self.n < _SELECTIVE_MIN_ROWS or _cheap(node):
            return self.value(node)
        fields = fields_read(node)
        present = [f for f in fields or () if f in self.frame.columns]
        wanted = needed.sum()
        if not present or wanted > self.n * _SELECTIVE_MAX_SHARE:
            return self.value(node)
        if wanted == 0:
            return Val(NULL, _nulls(self.n))  # no row reads it (a now() in it declines all the same)
        # a frame of the columns themselves: DataFrame.select rechunks the whole frame when its
        # columns are chunked differently (a new column after stacked partitions)
        sub = ColumnEvaluator(pl.DataFrame([self.frame.get_column(f) for f in present]).filter(needed),
                              shared=False)  # a passing subset: no later command reads it
        try:
            val = sub.value(node)
        finally:
            self.per_distinct.extend(sub.per_distinct)
            self.errors.extend(sub.errors)
        spread = _spread(val, needed, self.n)
        return spread if spread is not None else self.value(node)

    def fallback(self, node):
        """``node`` evaluated once per distinct tuple of the fields it reads."""
        self.per_distinct.append(node)
        fields = fields_read(node)
        if fields is None:
            raise NotColumnar("now()/time() take a value per row")
        fn = compile_expr(node)
        outputs = []

        def position(row):
            outputs.append(fn(row))
            return len(outputs) - 1
        try:
            index = map_distinct(self.frame, fields, position, "__position")
        except NotColumnar:
            raise
        except Exception as exc:  # noqa: BLE001
            # an error the row engine raises (or not) on the row that causes it: let it decide
            raise NotColumnar("%s: %s" % (type(exc).__name__, exc))
        if self.n == 0:
            return Val(NULL, _nulls(0))
        index = index.cast(pl.UInt32)
        return _classify(outputs, index)


# an operand that only some rows need (AND, OR) is evaluated on those rows alone when they are at
# most this share of a frame of at least this many rows: below, a frame of them costs more than
# it saves
_SELECTIVE_MIN_ROWS = 4096
_SELECTIVE_MAX_SHARE = 0.5
_CHEAP_CALLS = frozenset(("isnull", "isnotnull", "true", "false", "null"))


def _cheap(node):
    """A node that costs about one pass over a column (a field, a test of presence, a field
    against a quoted literal): not worth a frame of the rows that need it."""
    kind = node[0]
    if kind in ("lit", "field"):
        return True
    if kind == "not":
        return _cheap(node[1])
    if kind in ("and", "or", "xor"):
        return _cheap(node[1]) and _cheap(node[2])
    if kind == "call":
        return node[1] in _CHEAP_CALLS and all(_cheap(a) for a in node[2])
    if kind == "cmp":
        return node[2][0] in ("lit", "field") and _literal_text(node[3]) is not None
    return False


def _spread(val, needed, n):
    """A value computed on the rows where ``needed`` holds, as a column of all ``n`` rows (null
    elsewhere); None for a kind not spread here."""
    if val.kind not in (BOOL, NULL, NUM, STR, LIT, TEXT):
        return None
    column = pl.repeat(None, n, dtype=val.s.dtype, eager=True)
    return Val(val.kind, column.scatter(needed.arg_true(), val.s))


def _classify(outputs, index):
    types = set(type(v) for v in outputs if v is not None)
    values = outputs
    if not types:
        kind, dtype = NULL, pl.String
    elif types == {bool}:
        kind, dtype = BOOL, pl.Boolean
    elif types <= {int, float} and all(v is None or (math.isfinite(v) and abs(v) < _EXACT) for v in outputs):
        kind, dtype = NUM, pl.Float64
    elif types == {str}:
        kind, dtype = STR, pl.String
    elif types <= {str, int, float} and all(type(v) is str or v is None or (math.isfinite(v) and abs(v) < _EXACT)
                                            for v in outputs):
        strings = pl.Series([v if type(v) is str else None for v in outputs], dtype=pl.String)
        numbers = pl.Series([None if v is None or type(v) is str else float(v) for v in outputs], dtype=pl.Float64)
        return Val(MIX, strings.gather(index), num=numbers.gather(index))
    elif types == {Literal}:
        kind, dtype = LIT, pl.String
    elif types == {str, Literal}:
        kind, dtype = TEXT, pl.String
    elif types <= {str, list} and all(type(v) is str or (type(v) is list and v and all(type(x) is str for x in v))
                                      for v in outputs if v is not None):
        kind, dtype = MV, pl.List(pl.String)
        values = [[v] if type(v) is str else v for v in outputs]
    else:
        return Val(OBJ, None, outputs, index)
    column = pl.Series(values, dtype=dtype).gather(index)
    if kind == MV:
        return _normalise_mv(column)
    return Val(kind, column)


# ------------------------------------------------------------------------ native nodes

def _lit(ev, node):
    key = ("literal", type(node[1]), node[1])
    if key not in ev.fields:
        ev.fields[key] = _read_literal(ev, node)  # one column per literal, however often read
    return ev.fields[key]


def _read_literal(ev, node):
    value = node[1]
    if type(value) is Literal:
        return Val(LIT, _repeated(str(value), pl.String, ev.n))
    if type(value) in (int, float) and math.isfinite(value) and abs(value) < _EXACT:
        return Val(NUM, _repeated(float(value), pl.Float64, ev.n))
    raise _Unsupported("literal")


def _field(ev, node):
    name = node[1]
    if name not in ev.fields:
        ev.fields[name] = _read_field(ev, name)  # one dtype check per field, however often read
    return ev.fields[name]


def _read_field(ev, name):
    if name not in ev.frame.columns:
        return Val(NULL, _nulls(ev.n))
    s = ev.frame.get_column(name)
    dtype = s.dtype
    if dtype == pl.Null:
        return Val(NULL, _nulls(ev.n))
    if isinstance(dtype, pl.List) and dtype.inner == pl.String:
        return _normalise_mv(s)
    if dtype == pl.Float64:
        return Val(NUM, _exact_numbers(s))  # its text is all a command derives: rarely twice
    if dtype != pl.String:
        raise _Unsupported("field of dtype %s" % dtype)
    val = Val(STR, s)
    if ev.shared:
        val.column = name  # the column itself: what is derived from it is kept (_shared_memo)
    return val


def _neg(ev, node):
    n = to_num(ev.value(node[1]))
    return Val(NUM, -n)


def _bool_operand(val):
    if val.kind == BOOL:
        return val.s
    if val.kind == NULL:
        return _nulls(val.s.len(), pl.Boolean)
    raise _Unsupported("AND/OR/NOT of a value")  # the row engine raises on non-null values


def _not(ev, node):
    return Val(BOOL, ~_bool_operand(ev.value(node[1])))


def _logic(ev, node):
    left = _bool_operand(ev.value(node[1]))
    if node[0] == "xor":
        return Val(BOOL, left ^ _bool_operand(ev.value(node[2])))
    # Kleene logic, as the row engine's, which evaluates the right operand only where the left
    # one leaves the outcome open (not False for AND, not True for OR): so does value_on
    if node[0] == "and":
        return Val(BOOL, left & _bool_operand(ev.value_on(node[2], _filled(left, True))))
    return Val(BOOL, left | _bool_operand(ev.value_on(node[2], ~_filled(left, False))))


_OPS = {"=": "eq", "==": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}


def _apply(op, left, right):
    return getattr(left, "__%s__" % _OPS[op])(right)


def _cmp(ev, node):
    op = node[1]
    text = _literal_text(node[3])
    if text is not None:  # field == "value": the literal as a scalar, no column of it
        left = ev.value(node[2])
        if left.kind == NULL:
            return Val(BOOL, _nulls(ev.n, pl.Boolean))
        if left.kind not in (NUM, STR, LIT, TEXT, MIX):
            raise _Unsupported("comparison of %s" % left.kind)
        # a quoted literal is never a number: compared as text (null where the field has no value)
        return Val(BOOL, _apply(op, to_text(left), text))
    left, right = ev.value(node[2]), ev.value(node[3])
    for side in (left, right):
        if side.kind not in (NUM, STR, LIT, NULL, MIX) and not (side.kind == TEXT and LIT in (left.kind, right.kind)):
            raise _Unsupported("comparison of %s" % side.kind)
    if NULL in (left.kind, right.kind):
        return Val(BOOL, _nulls(ev.n, pl.Boolean))
    held = present(left) & present(right)
    if left.kind == NUM and right.kind == NUM:
        return Val(BOOL, _apply(op, left.s, right.s))
    if LIT in (left.kind, right.kind) or TEXT in (left.kind, right.kind):
        # never numbers: compared as text, whose nulls are the rows where a side has no value
        return Val(BOOL, _apply(op, to_text(left), to_text(right)))
    ln, rn = to_num(left), to_num(right)
    numeric = _held(ln) & _held(rn)
    need_text = _any(held & ~numeric)
    by_number = _apply(op, ln, rn)
    by_text = _apply(op, to_text(left), to_text(right)) if need_text else _nulls(ev.n, pl.Boolean)
    return Val(BOOL, _select(pl.when(~pl.lit(held)).then(None)
                             .when(pl.lit(numeric)).then(pl.lit(by_number))
                             .otherwise(pl.lit(by_text))))


def _is_string(val):
    """Rows whose value is a string (isinstance str: a quoted literal too; a multivalue of one)."""
    if val.kind in _STRINGS:
        return _held(val.s)
    if val.kind == MIX:
        return _held(val.s)
    if val.kind == MV:
        return _filled(val.s.list.len() == 1, False)
    return _repeated(False, pl.Boolean, val.s.len())


def _text_of(ev, node):
    """to_text of a node's value. A branch that picks among values of different kinds
    (``coalesce(bytes, "")``) has no one kind, but its text is the text of the value it picks."""
    args = node[2] if node[0] == "call" else None
    pairs = None
    if args and node[1] == "coalesce":
        pairs, default = [(present(v), v) for v in (ev.value(a) for a in args)], None
    elif args and node[1] == "if" and len(args) == 3:
        pairs, default = [(mask(ev.value(args[0])), ev.value(args[1]))], ev.value(args[2])
    elif args and node[1] == "case" and not len(args) % 2:
        pairs = [(mask(ev.value(c)), ev.value(v)) for c, v in zip(args[0::2], args[1::2])]
        default = None
    if pairs is None:
        return to_text(ev.value(node))
    texts = [(condition, Val(STR, to_text(v))) for condition, v in pairs]
    return _choose(STR, texts, Val(STR, to_text(default)) if default is not None else None).s


def _chain(node):
    """The operands of a chain of ``.`` (``a . ":" . b`` parses as ``(a . ":") . b``), in order."""
    if node[0] == "arith" and node[1] == ".":
        return _chain(node[2]) + _chain(node[3])
    return [node]


def _concat(ev, node):
    """A chain of ``.`` as one concatenation (null when any operand is): one pass over the rows
    instead of one new column per operator. When an operand has no text here, the chain goes
    operator by operator as before, so the same subexpressions go per distinct."""
    mark = len(ev.per_distinct)
    try:
        operands = _chain(node)
        texts = [_literal_text(operand) for operand in operands]
        if all(text is not None for text in texts):
            texts[0] = None  # one column at least, for the result's length
        parts = [pl.lit(_text_of(ev, operand)) if text is None else pl.lit(text, dtype=pl.String)
                 for operand, text in zip(operands, texts)]
        return Val(STR, _select(pl.concat_str(parts)).cast(pl.String))
    except _Unsupported:
        del ev.per_distinct[mark:]
    return Val(STR, _text_of(ev, node[2]) + _text_of(ev, node[3]))


def _arith(ev, node):
    op = node[1]
    if op == ".":
        return _concat(ev, node)
    left, right = ev.value(node[2]), ev.value(node[3])
    if op == "%":
        raise _Unsupported("% (math.fmod) is not polars' modulo")
    ln, rn = to_num(left), to_num(right)
    if op == "+":
        # numbers add; two strings neither of which is a number concatenate; else null
        number = _exact_numbers(ln + rn)
        joins = _is_string(left) & _is_string(right) & _missing(ln) & _missing(rn)
        if not _any(joins):
            return Val(NUM, number)
        joined = _select(pl.when(pl.lit(joins)).then(pl.lit(to_text(left) + to_text(right))))
        if not _any(_held(number)):
            return Val(STR, joined.cast(pl.String))
        return Val(MIX, joined.cast(pl.String), num=number)
    if op == "-":
        return Val(NUM, _exact_numbers(ln - rn))
    if op == "*":
        return Val(NUM, _exact_numbers(ln * rn))
    if op == "/":
        divisor = _select(pl.when(pl.lit(rn) != 0).then(pl.lit(rn)))
        return Val(NUM, _exact_numbers(ln / divisor))
    raise _Unsupported(op)


_NATIVE = {"lit": _lit, "field": _field, "neg": _neg, "not": _not, "and": _logic, "or": _logic,
           "xor": _logic, "cmp": _cmp, "arith": _arith}


# ------------------------------------------------------------------------ native functions

def _constant(kind, value, dtype):
    def fn(ev, node):
        if node[2]:
            raise _Unsupported("arguments")
        return Val(kind, _repeated(value, dtype, ev.n))
    return fn


def _isnull(negate):
    def fn(ev, node):
        if len(node[2]) != 1:
            raise _Unsupported("arguments")
        val = ev.value(node[2][0])
        if val.kind == OBJ:
            raise _Unsupported("obj")
        held = present(val)
        return Val(BOOL, held if negate else ~held)
    return fn


def _if(ev, node):
    args = node[2]
    if len(args) != 3:
        raise _Unsupported("arguments")
    condition = mask(ev.value(args[0]))
    # each branch where it is chosen (the row engine evaluates only that one)
    yes, no = ev.value_on(args[1], condition), ev.value_on(args[2], ~condition)
    return _choose(unify([yes, no]), [(condition, yes)], no)


def _case(ev, node):
    args = node[2]
    if len(args) % 2 or not args:
        raise _Unsupported("odd case()")  # the row engine raises; let it
    # as the row engine: each condition where no earlier one holds, each value where it is chosen
    conditions, values, open_rows = [], [], None
    for test, value in zip(args[0::2], args[1::2]):
        condition = mask(ev.value(test) if open_rows is None else ev.value_on(test, open_rows))
        conditions.append(condition)  # False outside open_rows: an earlier one was chosen there
        values.append(ev.value_on(value, condition))
        open_rows = ~condition if open_rows is None else open_rows & ~condition
    return _choose(unify(values), list(zip(conditions, values)))


def _coalesce(ev, node):
    values = [ev.value(a) for a in node[2]]
    if not values:
        raise _Unsupported("arguments")
    kind = unify(values)
    held = [v for v in values if v.kind != NULL]
    if len(held) == 1:
        # coalesce(absent_field, field): that field itself, with what is known of it (_shared_memo)
        return held[0]
    if kind == MIX:
        return _choose(kind, [(present(v), v) for v in values])
    if kind == NULL:
        return Val(NULL, _nulls(ev.n))
    return Val(kind, _select(pl.coalesce([pl.lit(as_kind(v, kind)) for v in values])))


def _one_arg(ev, node):
    if len(node[2]) != 1:
        raise _Unsupported("arguments")
    return ev.value(node[2][0])


def _case_map(method):
    def fn(ev, node):
        val = _one_arg(ev, node)
        if val.kind == NULL:
            return val
        if val.kind == MV:
            return Val(MV, _plain_items(val).list.eval(getattr(pl.element().str, method)()))
        return Val(STR, getattr(_plain_text(val).str, method)())
    return fn


def _len(ev, node):
    val = _one_arg(ev, node)
    if val.kind == NULL:
        return val
    if val.kind == MV:
        raise _Unsupported("len of a multivalue")
    return Val(NUM, to_text(val).str.len_chars().cast(pl.Float64))


def _mvindex(ev, node):
    args = node[2]
    if len(args) != 2:
        raise _Unsupported("mvindex with an end")
    start = _literal_number(args[1])
    if start is None or not float(start).is_integer():
        raise _Unsupported("mvindex start")
    start = int(start)
    val = ev.value(args[0])
    if val.kind == NULL:
        return val
    if val.kind == MV:
        return Val(STR, val.s.list.get(start, null_on_oob=True))
    if val.kind in (NUM, STR, LIT, TEXT, MIX):
        return val if start in (0, -1) else Val(NULL, _nulls(ev.n))
    raise _Unsupported("mvindex of %s" % val.kind)


def _mvcount(ev, node):
    val = _one_arg(ev, node)
    if val.kind == NULL:
        return Val(NULL, _nulls(ev.n))
    if val.kind == MV:
        return Val(NUM, val.s.list.len().cast(pl.Float64))
    if val.kind == OBJ:
        raise _Unsupported("obj")
    return Val(NUM, _select(pl.when(pl.lit(present(val))).then(pl.lit(1.0))))


def _as_list(val):
    if val.kind == MV:
        return val.s
    if val.kind in (STR, NULL):
        return as_kind(val, MV)
    raise _Unsupported("mvappend of %s" % val.kind)


def _mvappend(ev, node):
    lists = [_as_list(ev.value(a)) for a in node[2]]
    if not lists:
        raise _Unsupported("arguments")
    empty = pl.lit([], dtype=pl.List(pl.String))
    joined = _select(pl.concat_list([pl.coalesce([pl.lit(s), empty]) for s in lists]))
    return _normalise_mv(joined)


def _split(ev, node):
    args = node[2]
    delimiter = _literal_text(args[1]) if len(args) == 2 else None
    if not delimiter:
        raise _Unsupported("split delimiter")
    val = ev.value(args[0])
    if val.kind == NULL:
        return val
    if val.kind == MV:
        raise _Unsupported("split of a multivalue")
    return _normalise_mv(to_text(val).str.split(delimiter, literal=True))


def _tonumber(ev, node):
    val = _one_arg(ev, node)
    if val.kind == NULL:
        return Val(NULL, _nulls(ev.n))
    if val.kind == NUM:
        if _any(_filled(val.s != val.s.floor(), False)):
            raise _Unsupported("tonumber of a fraction goes through its text")
        return val
    if val.kind in _STRINGS:
        if _integer_strings(val) is None and (  # integers are neither hex nor outside ASCII
                not _simple_strings(val) or _memo(val, "hex", lambda: _any(_filled(val.s.str.contains(_HEX), False)))):
            raise _Unsupported("hex or non-ASCII")
        # a quoted literal too: tonumber("5") reads its text
        return Val(NUM, _string_numbers(val))
    raise _Unsupported("tonumber of %s" % val.kind)


def _tostring(ev, node):
    val = _one_arg(ev, node)
    if val.kind in (NUM, MIX):
        return Val(STR, to_text(val))
    if val.kind in _STRINGS or val.kind in (MV, NULL):
        return val
    if val.kind == BOOL:
        text = pl.when(pl.lit(val.s)).then(pl.lit("True")).otherwise(pl.lit("False"))
        return Val(STR, _select(pl.when(pl.lit(val.s).is_null()).then(None).otherwise(text)).cast(pl.String))
    raise _Unsupported("tostring of %s" % val.kind)


def _round(ev, node):
    args = node[2]
    digits = 0 if len(args) == 1 else _literal_number(args[1])
    if digits is None or not float(digits).is_integer() or not 0 <= digits <= 15:
        raise _Unsupported("round digits")
    n = to_num(ev.value(args[0]))
    factor = 10.0 ** int(digits)
    floored = (n.abs() * factor + 0.5).floor()
    # divided in numpy: polars divides by a scalar as a multiplication by its reciprocal,
    # which is one ulp off Python's division (round(903.29, 1) -> 903.3000000000001)
    magnitude = pl.Series(floored.name, floored.to_numpy() / factor, nan_to_null=True)
    return Val(NUM, _exact_numbers(_select(pl.when(pl.lit(n) < 0).then(-pl.lit(magnitude))
                                           .otherwise(pl.lit(magnitude)))))


def _abs(ev, node):
    return Val(NUM, to_num(_one_arg(ev, node)).abs())


def _minmax(pick):
    def fn(ev, node):
        values = [ev.value(a) for a in node[2]]
        if not values or any(v.kind not in (NUM, NULL) for v in values):
            raise _Unsupported("min/max of strings")  # strings keep their own text: per distinct
        columns = [pl.lit(as_kind(v, NUM)) for v in values]
        return Val(NUM, _select(pick(columns)))
    return fn


def _regex_argument(node):
    pattern = _literal_text(node)
    if pattern is None:
        raise _Unsupported("regex not a literal")
    pattern = convert_regex(pattern)
    if not rust_compatible(pattern):
        raise _Unsupported("regex %r may differ between engines" % pattern)
    try:
        re.compile(pattern)
    except re.error:
        raise _Unsupported("Python refuses it: the row engine says how")
    return pattern


def _match(ev, node):
    args = node[2]
    if len(args) != 2:
        raise _Unsupported("arguments")
    pattern = _regex_argument(args[1])
    val = ev.value(args[0])
    if val.kind == NULL:
        return Val(BOOL, _nulls(ev.n, pl.Boolean))
    if val.kind == MV:
        hits = _plain_items(val).list.eval(pl.element().str.contains(pattern)).list.any()
        return Val(BOOL, _select(pl.when(pl.lit(val.s).is_not_null()).then(pl.lit(hits))))
    return Val(BOOL, _contains(_plain_text(val), pattern))


def _mvfind(ev, node):
    args = node[2]
    if len(args) != 2:
        raise _Unsupported("arguments")
    pattern = _regex_argument(args[1])
    val = ev.value(args[0])
    if val.kind == NULL:
        return Val(NULL, _nulls(ev.n))
    if val.kind == MV:
        hits = _plain_items(val).list.eval(pl.element().str.contains(pattern))
        found = _select(pl.when(pl.lit(hits).list.any()).then(pl.lit(hits).list.arg_max()))
        return Val(NUM, found.cast(pl.Float64))
    hit = _contains(_plain_text(val), pattern)
    return Val(NUM, _select(pl.when(pl.lit(hit)).then(pl.lit(0.0))))


def _like(ev, node):
    args = node[2]
    if len(args) != 2:
        raise _Unsupported("arguments")
    pattern = _literal_text(args[1])
    if pattern is None:
        raise _Unsupported("like pattern not a literal")
    val = ev.value(args[0])
    if val.kind == NULL:
        return Val(BOOL, _nulls(ev.n, pl.Boolean))
    if val.kind == MV:
        raise _Unsupported("like of a multivalue")
    text = to_text(val)
    if _any(_filled(text.str.ends_with("\n"), False)):
        raise _Unsupported("Python's $ matches before a final newline")
    return Val(BOOL, _contains(text, _like_regex(pattern)))


def _min_width(pattern):
    try:
        from re import _parser
    except ImportError:  # Python before 3.11
        import sre_parse as _parser
    try:
        parsed = _parser.parse(pattern)
        return parsed.getwidth()[0], parsed.state.groups - 1
    except Exception:  # noqa: BLE001  (Python refuses it: the row engine says how)
        raise _Unsupported("pattern Python does not take")


def _replacement(template, groups):
    """Python's replacement (values' replace(): ``\\N`` is group N) spelt for polars, or
    _Unsupported for any other backslash (an escape the two engines read differently)."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch == "\\":
            if i + 1 < len(template) and template[i + 1].isdigit() and template[i + 1].isascii() \
                    and int(template[i + 1]) <= groups:
                out.append("${%s}" % template[i + 1])
                i += 2
                continue
            raise _Unsupported("replacement escape")
        out.append("$$" if ch == "$" else ch)
        i += 1
    return "".join(out)


def _replace(ev, node):
    args = node[2]
    if len(args) != 3:
        raise _Unsupported("arguments")
    pattern = _regex_argument(args[1])
    template = _literal_text(args[2])
    if template is None:
        raise _Unsupported("replacement not a literal")
    width, groups = _min_width(pattern)
    if width == 0:
        raise _Unsupported("a pattern matching the empty string: the engines step past it differently")
    replacement = _replacement(template, groups)
    val = ev.value(args[0])
    if val.kind == NULL:
        return val
    if val.kind == MV:
        raise _Unsupported("replace in a multivalue")
    text = _plain_text(val)
    try:
        return Val(STR, text.str.replace_all(pattern, replacement))
    except pl.exceptions.PolarsError:
        raise _Unsupported("polars does not take this regex")


def _mvjoin(ev, node):
    args = node[2]
    delimiter = _literal_text(args[1]) if len(args) == 2 else None
    if delimiter is None:
        raise _Unsupported("delimiter not a literal")
    val = ev.value(args[0])
    if val.kind == NULL:
        return val
    if val.kind == MV:
        return Val(STR, val.s.list.join(delimiter))
    return Val(STR, to_text(val))


def _substr(ev, node):
    args = node[2]
    if len(args) not in (2, 3):
        raise _Unsupported("arguments")
    val = ev.value(args[0])
    if val.kind == NULL:
        return val
    if val.kind == MV:
        raise _Unsupported("substr of a multivalue")
    text = to_text(val)
    start = to_num(ev.value(args[1])).cast(pl.Int64)  # int(): toward zero, as the cast
    length = unusable = None
    if len(args) == 3:
        given = ev.value(args[2])
        length = to_num(given).cast(pl.Int64)
        unusable = present(given) & length.is_null()  # a length that is not a number: null
    if length is not None and _any(_filled(length < 0, False)):
        raise _Unsupported("a negative length slices from the end in Python")
    size = text.str.len_chars().cast(pl.Int64)
    begin = _select(pl.when(pl.lit(start) > 0).then(pl.lit(start) - 1)
                    .when(pl.lit(start) < 0).then(pl.lit(size) + pl.lit(start))
                    .otherwise(0).clip(lower_bound=0))
    # a null length is no length (the rest of the text), as in the row engine
    sliced = pl.lit(text).str.slice(pl.lit(begin), None if length is None else pl.lit(length))
    missing = pl.lit(start).is_null() if unusable is None else pl.lit(start).is_null() | pl.lit(unusable)
    return Val(STR, _select(pl.when(missing).then(None).otherwise(sliced)).cast(pl.String))


def _trim(method):
    def fn(ev, node):
        args = node[2]
        chars = None
        if len(args) == 2:
            chars = _literal_text(args[1])
            if chars is None:
                raise _Unsupported("trim characters")
        val = ev.value(args[0])
        if val.kind == NULL:
            return val
        if val.kind == MV:
            raise _Unsupported("trim of a multivalue")
        if chars is None:
            text = _plain_text(val)  # else whitespace outside ASCII
            chars = _PY_SPACE_CHARS
        else:
            text = to_text(val)
        return Val(STR, getattr(text.str, method)(chars))
    return fn


_CALLS = {
    "null": _constant(NULL, None, pl.String),
    "true": _constant(BOOL, True, pl.Boolean),
    "false": _constant(BOOL, False, pl.Boolean),
    "isnull": _isnull(False),
    "isnotnull": _isnull(True),
    "if": _if,
    "case": _case,
    "coalesce": _coalesce,
    "lower": _case_map("to_lowercase"),
    "upper": _case_map("to_uppercase"),
    "len": _len,
    "mvindex": _mvindex,
    "mvcount": _mvcount,
    "mvappend": _mvappend,
    "mvfind": _mvfind,
    "split": _split,
    "tonumber": _tonumber,
    "tostring": _tostring,
    "round": _round,
    "abs": _abs,
    "min": _minmax(pl.min_horizontal),
    "max": _minmax(pl.max_horizontal),
    "match": _match,
    "like": _like,
    "replace": _replace,
    "substr": _substr,
    "mvjoin": _mvjoin,
    "trim": _trim("strip_chars"),
    "ltrim": _trim("strip_chars_start"),
    "rtrim": _trim("strip_chars_end"),
}


def evaluate(frame, tree, fields=None):
    """(Val, evaluator) of an eval node tree over ``frame``. ``fields``: a dict that carries the
    fields read (and what was derived from them) from one expression of a command to the next
    over the same rows; the caller drops from it each field it assigns."""
    ev = ColumnEvaluator(frame, fields)
    return ev.value(tree), ev
