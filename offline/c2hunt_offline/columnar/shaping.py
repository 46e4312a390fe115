"""Shaping commands on columns: fields, table, rename, fillnull, head, tail, rex, mvexpand,
makeresults, and the custom commands (c2entropy, c2asym, c2beacon) fed from columns.

Arguments are checked by the row command itself, run over no rows on a scratch context
(:func:`_check`): a bad argument raises the row command's own error, so the texts are the
same by construction. Then each command works on whole columns; what it cannot do exactly
(a rename whose targets collide, a computation on a column mixing strings and numbers)
raises :class:`NotColumnar` before touching ``ctx``, and the engine runs the row command.
"""
import re

import polars as pl

from ..commands import COMMANDS, CUSTOM
from ..commands.arguments import field_matcher, take_options, words
from ..commands.shaping import rex_extractor, sed_expression, table_columns
from ..limits import GuardedRegex
from ..values import convert_regex, mv, mv_pack, to_str
from . import custom
from .expressions import _NOT_PLAIN, _SAFE_ESCAPES, rust_compatible
from .table import NotColumnar, distinct_groups, frame_from_rows, python_values, series_from_values

CUSTOM_CHUNK = 50000  # records converted at a time for a custom command (as the row engine)


class _Scratch(object):
    """A context the argument check may write to without touching the search's."""

    def __init__(self, ctx):
        self.runner, self.lookups = ctx.runner, ctx.lookups
        self.messages, self.columns = [], list(ctx.columns) if ctx.columns else ctx.columns
        self.events = []


def _check(name, ctx, args):
    """Raise what the row command raises for these arguments (run over no rows)."""
    COMMANDS[name](_Scratch(ctx), args, [])


def _present_fields(frame):
    """The fields some row holds, in order of first appearance (``_ordered_fields`` of the
    rows: by the first row holding each, then in column order within that row)."""
    if not frame.width or not frame.height:
        return []
    first = frame.select(pl.all().is_not_null().arg_max()).row(0)
    counts = frame.null_count().row(0)
    present = [(row, i, name) for i, (name, row, nulls) in enumerate(zip(frame.columns, first, counts))
               if nulls < frame.height]
    return [name for _, _, name in sorted(present)]


def _only(frame, names):
    """``frame`` with only ``names`` (existing columns), in that order; the rows stay even
    when no column does (rows without fields, as the row command leaves them)."""
    kept = frame.drop([c for c in frame.columns if c not in names])
    return kept.select(names) if names else kept


def cmd_table(ctx, args, frame):
    _check("table", ctx, args)
    patterns = [w for w, _ in words(args)]
    all_fields = _present_fields(frame)
    columns = table_columns(patterns, all_fields)
    ctx.columns = columns
    return _only(frame, [c for c in columns if c in frame.columns])


def cmd_fields(ctx, args, frame):
    _check("fields", ctx, args)
    items = [w for w, _ in words(args)]
    remove = False
    if items and items[0] in ("+", "-"):
        remove = items[0] == "-"
        items = items[1:]
    elif items and items[0].startswith("-") and len(items[0]) > 1:
        remove = True
        items[0] = items[0][1:]
    match = field_matcher(items)
    if remove:
        return frame.drop([c for c in frame.columns if match(c)])
    ctx.columns = [i for i in items if "*" not in i]
    return _only(frame, [c for c in frame.columns if match(c) or c in ("_time", "_raw")])


def _rename_pairs(args):
    items = [w for w, _ in words(args)]
    return [(items[i], items[i + 2]) for i in range(0, len(items) - 2, 3)]


def cmd_rename(ctx, args, frame):
    _check("rename", ctx, args)
    pairs = _rename_pairs(args)
    for old, new in pairs:
        if "*" in old:
            rx = re.compile("^" + "(.*)".join(re.escape(p) for p in old.split("*")) + "$")
            pieces = new.split("*")
            mapping = {}
            for key in frame.columns:
                m = rx.match(key)
                if m:
                    mapping[key] = pieces[0] + "".join(g + p for g, p in zip(m.groups(), pieces[1:]))
            targets = list(mapping.values())
            if len(set(targets)) != len(targets) or any(t in frame.columns and t not in mapping
                                                        or t in mapping and t != k for k, t in mapping.items()):
                raise NotColumnar("rename: wildcard targets collide with fields")
            # a renamed field moves to the end of the row, as the row command pops and re-adds it
            frame = frame.rename(mapping)
            frame = _only(frame, [c for c in frame.columns if c not in targets] + targets)
        elif old == new:
            continue
        elif old in frame.columns:
            # rows holding old: new takes its value; rows without old: new is cleared
            frame = frame.drop([new] if new in frame.columns else []).rename({old: new})
            frame = _only(frame, [c for c in frame.columns if c != new] + [new])
        elif new in frame.columns:
            frame = frame.drop(new)
    if getattr(ctx, "columns", None):
        mapping = dict(pairs)
        ctx.columns = [mapping.get(c, c) for c in ctx.columns]
    return frame


def cmd_fillnull(ctx, args, frame):
    _check("fillnull", ctx, args)
    options, rest = take_options(words(args), {"value"})
    value = options.get("value", "0")
    fields = [w for w, _ in rest]
    if not fields:
        fields = [f for f in _present_fields(frame) if not f.startswith("_")]
        fields += [c for c in (getattr(ctx, "columns", None) or []) if c not in fields]
    if not frame.height:
        return frame  # no rows to fill
    original = frame.columns
    first = frame.head(1).null_count().row(0) if original else ()
    filled = []
    for name in dict.fromkeys(fields):
        if name not in frame.columns:
            filled.append(pl.Series(name, [value], dtype=pl.String).extend_constant(value, frame.height - 1))
            continue
        series = frame.get_column(name)
        if series.dtype == pl.String:
            filled.append(pl.when(pl.col(name).is_null() | (pl.col(name) == "")).then(pl.lit(value))
                          .otherwise(pl.col(name)).alias(name))
        elif series.null_count() == 0 and series.dtype != pl.Object:
            continue  # numbers and lists are never empty strings
        else:  # numbers, multivalue or mixed with gaps: as rows would hold them (rare)
            filled.append(series_from_values(name, [value if v is None or v == "" else v
                                                    for v in python_values(series)]))
    frame = frame.with_columns(filled) if filled else frame
    # the first row gains the fields it lacked at its end, in this order (its dict's order,
    # which decides the order of fields a later "table *" lists)
    lacking = [n for n in dict.fromkeys(fields) if n not in original or first[original.index(n)]]
    return _only(frame, [c for c in frame.columns if c not in lacking] + lacking) if lacking else frame


def _count(args, name):
    items = [w for w, _ in words(args)]
    if name == "head":
        text = items[0].split("=", 1)[1] if items and items[0].lower().startswith("limit=") else \
            (items[0] if items else "10")
        return int(text)
    return int(items[0]) if items else 10


def cmd_head(ctx, args, frame):
    _check("head", ctx, args)
    return frame.head(_count(args, "head"))


def cmd_tail(ctx, args, frame):
    _check("tail", ctx, args)
    n = _count(args, "tail")
    if n < 0:
        raise NotColumnar("tail: a negative count")
    return frame.tail(n).reverse() if n else frame.clear()


# ------------------------------------------------------------------------ rex
#
# The row command runs Python's ``re`` over every value. Here polars' regex engine settles what it
# can settle exactly: where it reads the pattern as ``re`` does (expressions.rust_compatible, with
# the named groups made plain groups for the check) and the value is tab or printable ASCII (where
# the two engines agree on ``$``, ``\s``, ``\w``, case), a value it finds no match in has none for
# ``re`` either, so only the values it may match in (and every value that is not plain ASCII) go
# through ``re``, once per distinct value. With one match wanted (max_match=1) and no quantified
# group (whose captures the two engines may repeat differently), polars extracts the groups itself.

_NAMED_GROUP = re.compile(r"\(\?P<([A-Za-z_]\w*)>")
_QUANTIFIED_GROUP = re.compile(r"\)(?:[*+]|\{)")
# an alternation under an unbounded quantifier, ``(a|a)*``: exponential for a backtracking engine,
# so (as a nested quantifier) its outcome on a value polars rules out may be the row engine's
# regex time budget
_QUANTIFIED_ALTERNATION = re.compile(r"\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\})")


def _without_named_groups(pattern):
    """(``pattern`` (Python syntax) with each named group ``(?P<name>`` made ``(?:``, the same
    with each ``-``, ``&``, ``~`` outside a character class made ``x`` and each escaped
    punctuation mark ``\\.``). An escaped parenthesis and one inside a class stay as they are.
    The second text is the one to check with expressions.rust_compatible, whose tokens are
    syntax: the class-set ones (``--``, ``&&``, ``~~``) mean something else than in ``re`` only
    inside a class, and an escaped ``[`` or ``{`` starts nothing (``\\[[^a]``, ``\\{,``)."""
    out, check, i, in_class = [], [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            escaped = pattern[i + 1:i + 2]  # an escaped punctuation mark is a literal in both
            check.append("\\." if escaped in _SAFE_ESCAPES and not escaped.isalpha() else pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
            out.append(ch)
            check.append(ch)
            i += 1
            continue
        if ch == "[":
            j = i + 1 + (pattern[i + 1:i + 2] == "^")
            j += pattern[j:j + 1] == "]"  # a "]" first in a class is literal
            out.append(pattern[i:j])
            check.append(pattern[i:j])
            i, in_class = j, True
            continue
        named = _NAMED_GROUP.match(pattern, i)
        if named:
            out.append("(?:")
            check.append("(?:")
            i = named.end()
            continue
        out.append(ch)
        check.append("x" if ch in "-&~" else ch)
        i += 1
    return "".join(out), "".join(check)


def rex_filter_pattern(pattern, ignore_case=False):
    """The pattern polars can rule values out with (a value it finds no match in has none for
    ``re``, on tab and printable ASCII), or None when it cannot stand in for ``pattern``
    (Python syntax, named groups ``(?P<name>``)."""
    plain, check = _without_named_groups(pattern)
    if _QUANTIFIED_ALTERNATION.search(plain):
        return None
    if ignore_case:
        if plain.startswith("(?i)"):
            plain, check = plain[4:], check[4:]
        plain, check = "(?i)" + plain, "(?i)" + check
    return plain if rust_compatible(check) else None


def rex_native_pattern(pattern):
    """The pattern polars can extract the first match's named groups with, as ``re`` gives
    them (on tab and printable ASCII), or None."""
    if rex_filter_pattern(pattern) is None or _QUANTIFIED_GROUP.search(pattern) or "\\B" in pattern:
        return None  # re's \B never matches in an empty value (Python < 3.14), polars' does
    return pattern


# where the two engines may read a text that is not plain ASCII differently: the Unicode classes
# (\d \w \s \b and their complements: other Unicode versions, re's \s takes \x1c-\x1f), case
# folding, and $ (re's also matches before a final newline). A pattern without them reads every
# text alike: literals, ASCII ranges, negated classes and "." take the same characters in both.
_TEXT_SENSITIVE = re.compile(r"\\[dDwWsSbB]|\$|\(\?i\)")


def _reads_every_text_alike(pattern, ignore_case=False):
    """True when ``pattern`` (one polars stands in for) needs no plain-ASCII check of the values."""
    return not ignore_case and not _TEXT_SENSITIVE.search(_without_named_groups(pattern)[1])


def _not_plain(series):
    """Rows holding a value that is not tab or printable ASCII (where the engines may differ)."""
    if isinstance(series.dtype, pl.List):
        return series.list.eval(pl.element().str.contains(_NOT_PLAIN)).list.any().fill_null(False)
    return series.str.contains(_NOT_PLAIN).fill_null(False)


def _may_match(series, pattern, every_text):
    """Rows ``re`` may find ``pattern`` in: those polars finds it in and, unless the pattern
    reads ``every_text`` alike, those not plain ASCII; every row holding a value when polars
    cannot rule any out (``pattern`` None, a column of numbers, a pattern polars refuses)."""
    if pattern is not None and (series.dtype == pl.String or series.dtype == pl.List(pl.String)):
        try:
            if isinstance(series.dtype, pl.List):
                found = series.list.eval(pl.element().str.contains(pattern)).list.any()
            else:
                found = series.str.contains(pattern)
            found = found.fill_null(False)
            return found if every_text else found | _not_plain(series)
        except pl.exceptions.PolarsError:
            pass
    return series.is_not_null()


def _per_distinct(series, rows, fn):
    """(each row's index into ``results``, null outside ``rows``; ``results``: ``fn`` of each
    distinct value among ``rows``, as a row holds it)."""
    picked = series.filter(rows) if rows is not None else series
    keys, groups = distinct_groups(picked.to_frame(), [series.name])
    coded = groups.select(series.name).with_row_index("\x00code")
    codes = keys.join(coded, on=series.name, how="left", nulls_equal=True,
                      maintain_order="left").get_column("\x00code")
    results = [fn(value) for value in python_values(picked.gather(groups.get_column("__row")))]
    if rows is not None and len(picked) < len(series):
        codes = pl.Series(codes.name, [None] * len(series), dtype=codes.dtype).scatter(rows.arg_true(), codes)
    return codes, results


def _merge(frame, name, found):
    """Column ``name`` = ``found`` where it is not null, the existing value elsewhere."""
    if name not in frame.columns or found.null_count() == 0:
        return found
    existing = frame.get_column(name)
    if existing.dtype == found.dtype:
        return found.fill_null(existing)
    if found.null_count() == len(found):
        return existing
    return series_from_values(name, [f if f is not None else e
                                     for f, e in zip(python_values(found), python_values(existing))])


def _native_groups(series, pattern, names):
    """polars' first match's named groups of each row (null: not matched), or None when polars
    refuses the pattern."""
    try:
        groups = series.str.extract_groups(pattern)
    except pl.exceptions.PolarsError:
        return None
    return [groups.struct.field(name).alias(name) for name in names]


def _sed(series, field, pattern):
    rx, repl, count = sed_expression(pattern)
    python_pattern, ignore_case = rx.regex.pattern, bool(rx.regex.flags & re.I)

    def substituted(value):  # a value it cannot match in stays as it is
        return mv_pack([rx.sub(repl, to_str(v), count=count) for v in mv(value)])
    rows = _may_match(series, rex_filter_pattern(python_pattern, ignore_case),
                      _reads_every_text_alike(python_pattern, ignore_case))
    codes, results = _per_distinct(series, rows, substituted)
    return series_from_values(field, results).gather(codes)


def cmd_rex(ctx, args, frame):
    _check("rex", ctx, args)
    options, rest = take_options(words(args), {"field", "max_match", "mode", "offset_field"})
    pattern = rest[0][0]
    field = options.get("field", "_raw")
    if field not in frame.columns:
        return frame
    series = frame.get_column(field)
    if series.dtype == pl.Object:
        raise NotColumnar("rex over a column mixing strings and numbers")
    if options.get("mode") == "sed":
        return frame.with_columns(_merge(frame, field, _sed(series, field, pattern)))
    python_pattern = convert_regex(pattern)
    rx = GuardedRegex(re.compile(python_pattern))
    names = list(rx.groupindex)
    max_match = int(options.get("max_match", "1"))
    native = rex_native_pattern(python_pattern) if max_match == 1 and series.dtype == pl.String else None
    native = _native_groups(series, native, names) if native is not None else None
    every_text = _reads_every_text_alike(python_pattern)
    if native is not None:  # only values the engines may read differently go through re
        rows = pl.Series([False] * len(series), dtype=pl.Boolean) if every_text else _not_plain(series)
    else:
        rows = _may_match(series, rex_filter_pattern(python_pattern), every_text)
    codes, results = _per_distinct(series, rows, rex_extractor(rx, max_match))
    columns = []
    for i, name in enumerate(names):
        found = series_from_values(name, [r.get(name) for r in results]).gather(codes)
        if native is not None:
            found = pl.select(pl.when(pl.lit(rows)).then(pl.lit(found)).otherwise(pl.lit(native[i]))
                              ).to_series().alias(name)
        columns.append(_merge(frame, name, found))
    return frame.with_columns(columns) if columns else frame


def cmd_mvexpand(ctx, args, frame):
    _check("mvexpand", ctx, args)
    options, rest = take_options(words(args), {"limit"})
    field = rest[0][0]
    if field not in frame.columns:
        return frame.clear()
    series = frame.get_column(field)
    if series.dtype == pl.Object:
        raise NotColumnar("mvexpand over a column mixing strings and numbers")
    kept = frame.filter(series.is_not_null())
    if not kept.height:
        return kept
    limit = int(options["limit"]) if "limit" in options else None
    if limit is not None and limit < 0:
        raise NotColumnar("mvexpand: a negative limit")
    if not isinstance(series.dtype, pl.List):
        return kept if limit != 0 else kept.clear()
    if limit is not None:
        kept = kept.with_columns(pl.col(field).list.head(limit))
        kept = kept.filter(pl.col(field).list.len() > 0)
    return kept.explode(field)


def cmd_makeresults(ctx, args, frame):
    return frame_from_rows(COMMANDS["makeresults"](ctx, args, []))


def _records(frame):
    """Custom-command input records, built a chunk at a time from column values (strings,
    lists of strings; a missing field left out), as the row engine converts its rows."""
    for chunk in frame.iter_slices(CUSTOM_CHUNK):
        names = chunk.columns
        columns = []
        for name in names:
            series = chunk.get_column(name)
            if series.dtype == pl.String:
                columns.append(series.to_list())
            else:
                columns.append([v if v is None or type(v) is str else [to_str(x) for x in v]
                                if isinstance(v, list) else to_str(v) for v in python_values(series)])
        for cells in zip(*columns):
            yield {k: v for k, v in zip(names, cells) if v is not None}


def make_custom(name):
    def run(ctx, args, frame):
        if not frame.width and frame.height:
            raise NotColumnar("rows without fields")
        if custom.in_process_enabled():
            try:
                return custom.run_custom_in_process(ctx, name, args, frame)
            except NotColumnar:
                pass  # what it cannot reproduce exactly: the protocol path, on the same columns
        return frame_from_rows(ctx.runner.run_custom_records(ctx, name, args, _records(frame)))
    return run


COLUMNAR = {"table": cmd_table, "fields": cmd_fields, "rename": cmd_rename, "fillnull": cmd_fillnull,
            "head": cmd_head, "tail": cmd_tail, "rex": cmd_rex, "mvexpand": cmd_mvexpand,
            "makeresults": cmd_makeresults}
COLUMNAR.update((name, make_custom(name)) for name in CUSTOM)

__all__ = ["COLUMNAR", "make_custom"]
