"""sort, dedup, bin and convert on columns, with the row commands' exact semantics
(:mod:`c2hunt_offline.commands.shaping`, ``buckets``, ``convert``).

- sort: each key's Python sort key (``values.sort_key``, or the ``str()``/``num()``/``ip()``
  key) is worked out once per distinct value and becomes a dense rank; one stable polars
  sort over the ranks is the row command's stable sort from the last key to the first.
- dedup: rows keyed by the string form of their values (a multivalue by all of its values);
  the n-th occurrence of a key counted with a window, or compared with the previous row's
  key for ``consecutive=true``; ``keepempty`` rows stay where they are.
- bin: ``floor(value / span) * span`` on the numbers (``values.to_number``, per distinct value).
- convert: each function applied once per distinct value of the field (map_distinct).

What is not exact here (an Object column, a zero span, a wildcard conversion written to one
field, a result mixing numbers and strings) raises NotColumnar before any side effect.
"""
import math
import re

import polars as pl

from ..commands.buckets import parse_bin
from ..commands.convert import parse_convert
from ..commands.shaping import parse_sort
from ..commands.arguments import field_matcher, parse_bool, take_options, words
from ..values import SplError, mv, mv_pack, sort_key, to_number, to_str
from .stats import (assign_where_not_null, guarded, number_column, sort_key_columns,
                    text_column)
from .table import NotColumnar, map_distinct, python_values



# ------------------------------------------------------------------ sort
def _python_key(mode):
    """The row command's key of one (first) value under ``mode``."""
    if mode == "str":
        return lambda value: (0 if value is not None else 1, 0, to_str(value) or "")
    if mode == "num":
        def num(value):
            n = to_number(value)
            return (0 if n is not None else 1, n or 0, "")
        return num
    if mode == "ip":
        def ip(value):
            parts = [int(p) for p in re.findall(r"\d+", to_str(value) or "")][:4]
            return (0 if parts else 1, tuple(parts), "")
        return ip
    return sort_key


def _first_values(frame, field):
    """The field's first value in every row (a multivalue sorts by its first value)."""
    if field not in frame.columns:
        return pl.Series(field, [None] * frame.height, dtype=pl.String)
    series = frame.get_column(field)
    if isinstance(series.dtype, pl.List):
        if series.dtype.inner != pl.String:
            raise NotColumnar("field %r holds multivalue numbers" % field)
        return series.list.first()
    if series.dtype in (pl.String, pl.Float64):
        return series
    if series.dtype == pl.Null:
        return series.cast(pl.String)
    raise NotColumnar("field %r has dtype %s" % (field, series.dtype))


def _rank(series, key):
    """Dense rank of each cell by ``key`` (null included), computed once per distinct value."""
    distinct = series.unique(maintain_order=True)
    keys = [key(v) for v in python_values(distinct)]
    position = {k: i for i, k in enumerate(sorted(set(keys)))}
    ranks = pl.Series("", [position[k] for k in keys], dtype=pl.UInt32)
    present = distinct.is_not_null()
    ranked = series.replace_strict(distinct.filter(present), ranks.filter(present), default=None,
                                   return_dtype=pl.UInt32)
    if distinct.null_count():
        ranked = ranked.fill_null(ranks.filter(distinct.is_null())[0])
    return ranked


def _native_key(values, mode):
    """The row command's ``auto``/``num`` key as columns, None for the keys worked out per
    distinct value instead (``str()``, ``ip()``)."""
    if mode == "auto":
        return sort_key_columns(values)
    if mode == "num":
        numbers = number_column(values)
        return [pl.select(pl.when(numbers.is_not_null()).then(0).otherwise(1).cast(pl.UInt8)).to_series(),
                numbers.fill_null(0)]
    return None


def col_sort(ctx, args, frame):
    keys, limit, reverse_all = parse_sort(args)
    columns, descending = [], []
    for field, desc, mode in keys:
        values = _first_values(frame, field)
        parts = _native_key(values, mode) or [_rank(values, _python_key(mode))]
        base = len(columns)
        columns.extend([part.alias("__c2key%d" % (base + n)) for n, part in enumerate(parts)])
        descending.extend([desc != reverse_all] * len(parts))
    if frame.height == 0:
        return frame
    order = pl.DataFrame(columns).with_row_index("__c2pos") \
        .sort([c.name for c in columns], descending=descending, maintain_order=True).get_column("__c2pos")
    if limit:
        order = order.head(limit)
    return frame[order]


# ------------------------------------------------------------------ dedup
def _dedup_key(frame, field):
    """The field's string form (a multivalue: all its values), null where the row lacks it."""
    if field not in frame.columns:
        return pl.Series(field, [None] * frame.height, dtype=pl.String)
    series = frame.get_column(field)
    if series.dtype == pl.String:
        return series
    if series.dtype == pl.Float64:
        return text_column(series)
    if isinstance(series.dtype, pl.List) and series.dtype.inner == pl.String:
        return series.list.join("\x1f")  # the unit separator never occurs in log values
    if series.dtype == pl.Null:
        return series.cast(pl.String)
    raise NotColumnar("field %r has dtype %s" % (field, series.dtype))


def col_dedup(ctx, args, frame):
    options, rest = take_options(words(args), {"keepempty", "consecutive", "keepevents"})
    items = [w for w, _ in rest]
    count = 1
    if items and re.fullmatch(r"\d+", items[0]):
        count = int(items.pop(0))
    sortby = []
    if "sortby" in [i.lower() for i in items]:
        idx = [i.lower() for i in items].index("sortby")
        sortby = items[idx + 1:]
        items = items[:idx]
    if not items:
        raise SplError("dedup: a field is required")
    keepempty = parse_bool(options.get("keepempty", "false"), "dedup keepempty")
    consecutive = parse_bool(options.get("consecutive", "false"), "dedup consecutive")
    if sortby:
        parse_sort("0 " + " ".join(sortby))  # its argument errors come after dedup's own
    names = ["__c2key%d" % i for i in range(len(items))]
    keys = pl.DataFrame([_dedup_key(frame, f).alias(n) for f, n in zip(items, names)]) \
        .with_row_index("__c2pos")
    present = pl.all_horizontal([pl.col(n).is_not_null() for n in names])
    complete = keys.filter(present)
    if consecutive:
        changed = pl.any_horizontal([pl.col(n).ne_missing(pl.col(n).shift(1)) for n in names])
        kept = complete.filter(changed | (pl.int_range(pl.len()) == 0))
    else:
        kept = complete.filter(pl.int_range(pl.len()).over(names) < count)
    positions = kept.get_column("__c2pos")
    if keepempty:
        positions = pl.concat([positions, keys.filter(present.not_()).get_column("__c2pos")]).sort()
    out = frame[positions]
    if sortby:
        out = col_sort(ctx, "0 " + " ".join(sortby), out)
    return out


# ------------------------------------------------------------------ bin
def col_bin(ctx, args, frame):
    field, target, span = parse_bin(args)
    if field not in frame.columns:
        return frame
    if span == 0 or not math.isfinite(span):
        raise NotColumnar("a zero span divides by zero on rows")
    numbers = number_column(_first_values(frame, field))
    # divided in numpy: polars divides by a scalar as a multiplication by its reciprocal,
    # one ulp off Python's division, which moves values on a bucket's edge
    quotient = pl.Series(numbers.name, numbers.to_numpy() / span, nan_to_null=True)
    binned = pl.select(quotient.floor() * span).to_series()
    columns = {name: frame.get_column(name) for name in frame.columns}
    assign_where_not_null(columns, target, binned, frame.height)
    return pl.DataFrame(list(columns.values()))


# ------------------------------------------------------------------ convert
def col_convert(ctx, args, frame):
    fmt, conversions = parse_convert(args)
    columns = {name: frame.get_column(name) for name in frame.columns}
    for fn, pattern, target in conversions:
        if "*" in pattern:
            if target is not None:
                raise NotColumnar("a wildcard conversion into one field depends on each row's field order")
            matches = field_matcher([pattern])
            names = [n for n in columns if matches(n)]
        else:
            names = [pattern] if pattern in columns else []
        for name in names:
            current = pl.DataFrame([columns[name]])

            def convert(row, fn=fn, name=name):
                value = row.get(name)
                return None if value is None else mv_pack([fn(v, fmt) for v in mv(value)])

            converted = map_distinct(current, [name], convert, "__c2converted").alias(name)
            if converted.dtype == pl.Object:
                raise NotColumnar("convert of %r gives numbers and strings" % name)
            assign_where_not_null(columns, target or name, converted, frame.height)
    return pl.DataFrame(list(columns.values())) if columns else frame


COLUMNAR_COMMANDS = {"sort": guarded(col_sort), "dedup": guarded(col_dedup), "bin": guarded(col_bin),
                     "bucket": guarded(col_bin), "convert": guarded(col_convert)}
