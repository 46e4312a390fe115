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
from ..commands.shaping import table_columns
from ..limits import GuardedRegex
from ..values import convert_regex, mv, mv_pack, to_str
from . import custom
from .table import NotColumnar, frame_from_rows, map_distinct, python_values, series_from_values

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


def _rex_value(series, fn, name):
    """``fn`` of each distinct one-field row as column ``name`` (which may be the field's)."""
    return map_distinct(series.to_frame(), [series.name], fn, "\x00value").alias(name)


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
        m = re.match(r"^s(.)(.*?)(?<!\\)\1(.*?)(?<!\\)\1([gi0-9]*)$", pattern, re.S)
        rx = GuardedRegex(re.compile(convert_regex(m.group(2)), re.I if "i" in m.group(4) else 0))
        repl = re.sub(r"\\(\d)", r"\\g<\1>", m.group(3))
        count = 0 if "g" in m.group(4) else 1

        def substituted(row):
            value = row.get(field)
            return None if value is None else mv_pack([rx.sub(repl, to_str(v), count=count) for v in mv(value)])
        return frame.with_columns(_rex_value(series, substituted, field))
    rx = GuardedRegex(re.compile(convert_regex(pattern)))
    max_match = int(options.get("max_match", "1"))
    memo = {}

    def extracted(row):
        value = row.get(field)
        key = tuple(value) if isinstance(value, list) else (type(value), value)
        found = memo.get(key)
        if found is None:
            found = {}
            for v in mv(value):
                for n, m in enumerate(rx.finditer(to_str(v))):
                    if max_match and n >= max_match:
                        break
                    for name, text in m.groupdict().items():
                        if text is not None:
                            found.setdefault(name, []).append(text)
                if max_match == 1 and found:
                    break
            found = memo[key] = {name: mv_pack(values[:1] if max_match == 1 else values)
                                 for name, values in found.items()}
        return found

    columns = []
    for name in rx.groupindex:
        found = _rex_value(series, lambda row, name=name: extracted(row).get(name), name)
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
