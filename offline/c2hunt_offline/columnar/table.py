"""Splunk field values held in polars columns: the columnar engine's one representation.

A search's rows are a :class:`polars.DataFrame`, one column per field, one row per result.
Every column holds one kind of value, so the same row converts back to exactly the dict the
row engine would hold (:mod:`c2hunt_offline.values`):

=========================  ==================================================================
column dtype               values
=========================  ==================================================================
``String``                 ``str`` (what events carry, what string functions return)
``Float64``                numbers made by eval/stats; read back as ``int`` when integral
                           (below 2**53), as the app prints them (``format_number``)
``List(String)``           multivalue fields; a one-element list is the single value
                           (a stored multivalue never has one element)
``Object``                 anything else: a column mixing strings and numbers, multivalue
                           numbers, integers past 2**53. Commands that compute on a column
                           refuse an Object column with :class:`NotColumnar`
=========================  ==================================================================

Null is a missing field: a null cell is a key the row does not have. A column of nothing
but nulls is a ``String`` column.
"""
import math

import polars as pl

_EXACT_INT = 2 ** 53  # floats hold every integer below this exactly


class NotColumnar(Exception):
    """This step cannot run on columns: the pipeline goes on row by row from here, so the
    result is the row engine's by construction, only slower."""


def series_from_values(name, values):
    """A column holding ``values`` (Python values as rows hold them; None is null)."""
    kinds = set()
    for value in values:
        if value is None:
            continue
        kind = type(value)
        if kind is int and abs(value) >= _EXACT_INT:
            return pl.Series(name, values, dtype=pl.Object)
        kinds.add(kind)
        if len(kinds) > 2:
            break
    if not kinds or kinds == {str}:
        return pl.Series(name, values, dtype=pl.String)
    if kinds <= {int, float}:
        return pl.Series(name, values, dtype=pl.Float64, strict=False)
    if kinds <= {str, list} and all(type(v) is str for item in values if type(item) is list for v in item):
        return pl.Series(name, [[v] if type(v) is str else v for v in values], dtype=pl.List(pl.String))
    if kinds == {bool}:
        raise NotColumnar("boolean values are never stored in a field")
    return pl.Series(name, values, dtype=pl.Object)


def frame_from_rows(rows):
    """A frame of ``rows`` (dicts); columns in the order their fields first appear."""
    names = {}
    for row in rows:
        for key in row:
            if key not in names:
                names[key] = None
    if not names:
        return pl.DataFrame(height=len(rows)) if rows else pl.DataFrame()
    return pl.DataFrame([series_from_values(name, [row.get(name) for row in rows]) for name in names])


def python_values(series):
    """The column's cells as rows hold them (see the module table); None for null."""
    dtype = series.dtype
    if dtype == pl.Float64 or dtype == pl.Float32:
        return [_number(v) for v in series.to_list()]
    if isinstance(dtype, pl.List):
        return [v if v is None or len(v) > 1 else (v[0] if v else None) for v in series.to_list()]
    if dtype == pl.String or dtype == pl.Object or dtype == pl.Null:
        return series.to_list()
    if dtype == pl.Boolean:
        raise NotColumnar("a boolean column is a condition, not a field")
    if dtype.is_integer():
        return [None if v is None else (v if abs(v) < _EXACT_INT else float(v)) for v in series.to_list()]
    raise NotColumnar("column %r has dtype %s, which the engine does not hold" % (series.name, dtype))


def _number(value):
    if value is None or math.isnan(value):
        return None if value is None else value
    if value.is_integer() and abs(value) < _EXACT_INT:
        return int(value)
    return value


def rows_from_frame(frame):
    """The frame's rows as dicts (null cells left out), in column order."""
    names = frame.columns
    if not names:
        return [{} for _ in range(frame.height)]
    columns = [python_values(frame.get_column(name)) for name in names]
    return [{k: v for k, v in zip(names, cells) if v is not None} for cells in zip(*columns)]


def _key_column(series):
    """A column that can be a grouping/join key with the same distinct values as ``series``."""
    if isinstance(series.dtype, pl.List):
        # the unit separator never occurs in log values; a one-element list is its value
        return series.list.join("\x1f").alias(series.name)
    if series.dtype == pl.Object:
        raise NotColumnar("field %r mixes strings and numbers" % series.name)
    return series


def distinct_groups(frame, fields):
    """(the key columns of ``fields``, one row per distinct tuple of them in order of first
    appearance: the key values, ``__row`` the first row holding it, ``__n`` how many do).
    ``fields`` must be columns of ``frame``."""
    keys = frame.select([_key_column(frame.get_column(f)) for f in fields])
    groups = keys.with_row_index("__row").group_by(fields, maintain_order=True).agg(
        pl.col("__row").first(), pl.len().alias("__n"))
    return keys, groups


def map_distinct(frame, fields, fn, name):
    """Column ``name`` = ``fn(row)`` for every row of ``frame``, where ``row`` is a dict of only
    ``fields`` (as :func:`rows_from_frame` gives them) and ``fn`` is called once per distinct
    tuple of their values: exact row semantics at the cost of the distinct inputs.

    ``fn`` returns a value a row can hold (None for null)."""
    present = [f for f in fields if f in frame.columns]
    if not present:
        value = fn({})
        return series_from_values(name, [value]).extend_constant(value, frame.height - 1) \
            if frame.height and value is not None and type(value) is not list \
            else series_from_values(name, [value] * frame.height)
    keys, index = distinct_groups(frame, present)
    first_rows = frame.select(present)[index.get_column("__row")]
    values = [fn(row) for row in rows_from_frame(first_rows)]
    result = index.select(present).with_columns(series_from_values(name, values))
    joined = keys.join(result, on=present, how="left", nulls_equal=True, maintain_order="left")
    return joined.get_column(name)
