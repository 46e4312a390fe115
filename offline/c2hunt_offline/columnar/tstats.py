"""tstats on columns: the data model's rows are cut out of the EventTable's partitions.

The row command (:mod:`c2hunt_offline.commands.tstats`) turns every event into a dict, keeps
the data set's members by their tags and renames the CIM fields ``<dataset>.<field>``. Here,
per partition (one sourcetype):

- membership is decided once per distinct ``tag`` value (tags repeat: one set per sourcetype),
  the partition's distinct tag sets kept for the hunt's next tstats;
- the data set's columns are the event's own columns renamed, so no value is converted;
- a missing ``bytes`` is ``bytes_in + bytes_out`` (each parsed as ``to_number`` does, natively
  for ASCII text, per distinct value for the rest; a missing side counts 0), natively added
  (float addition is the row's);
- the ``where`` clause is the ``search`` command's mask, ``span=`` the columnar ``bin``,
  and the aggregation the columnar ``stats`` (the row ``stats`` on these rows when it
  declines), all with the row commands' parsing.

A data model the offline runner does not have, a pipeline that did not hand over an
EventTable, or a sum that a float cannot hold exactly raise NotColumnar before anything
happens: the row command then runs.
"""
import weakref

import polars as pl

from ..commands.stats import cmd_stats
from ..commands.tstats import CIM_FIELDS, DATAMODELS, parse_tstats
from ..values import mv, to_number, to_str
from .events import EventTable, POSITION, select
from .expressions import _parse_numbers, _Unsupported
from .ordering import col_bin
from .search import filter_frame, may_match_partition
from .stats import col_stats, guarded
from .table import NotColumnar, distinct_groups, frame_from_rows, map_distinct, python_values, rows_from_frame

_EXACT = 2 ** 53  # a sum past this is not exact in a Float64 column
EVENT_FIELDS = ("_time", "host", "source", "sourcetype", "index")


_TAG_SETS = {}  # id(partition) -> (weakref to it, each row's index into its tag sets, the tag sets)


def _tag_sets(frame):
    """(each row's index into ``sets``, ``sets``: the distinct tag sets of ``frame``), kept
    while ``frame`` lives: every tstats of a hunt asks the same partitions."""
    cached = _TAG_SETS.get(id(frame))
    if cached is not None and cached[0]() is frame:
        return cached[1], cached[2]
    keys, groups = distinct_groups(frame, ["tag"])
    coded = groups.select("tag").with_row_index("\x00set")
    codes = keys.join(coded, on="tag", how="left", nulls_equal=True, maintain_order="left").get_column("\x00set")
    firsts = python_values(frame.get_column("tag").gather(groups.get_column("__row")))
    sets = [frozenset(to_str(t) for t in mv(value)) for value in firsts]
    for key in [k for k, (ref, _, _) in _TAG_SETS.items() if ref() is None]:
        del _TAG_SETS[key]
    _TAG_SETS[id(frame)] = (weakref.ref(frame), codes, sets)
    return codes, sets


def _member_mask(frame, member):
    """Which rows of ``frame`` belong to the data set (``member(tags)``), per distinct tag set."""
    if "tag" not in frame.columns:
        return pl.Series("", [bool(member(set()))] * frame.height, dtype=pl.Boolean)
    codes, sets = _tag_sets(frame)
    answers = pl.Series([bool(member(set(tags))) for tags in sets], dtype=pl.Boolean)
    return answers.gather(codes)


def _numbers(frame, name):
    """``to_number`` of column ``name`` as Float64 (null where missing or not a number)."""
    if name not in frame.columns:
        return pl.Series(name, [None] * frame.height, dtype=pl.Float64)
    column = frame.get_column(name)
    if column.dtype == pl.String:
        try:  # parsed natively where the text is ASCII; declines numbers past 2**53
            return _unsigned_zero(_parse_numbers(column)).alias(name)
        except _Unsupported:
            pass
    elif column.dtype == pl.Float64:  # to_number of a number is the number, of NaN none
        return _unsigned_zero(column.fill_nan(None)).alias(name)
    numbers = map_distinct(frame, [name], lambda row: to_number(row.get(name)), "\x00number").alias(name)
    if numbers.dtype == pl.String:  # every cell null: no number at all
        return pl.Series(name, [None] * frame.height, dtype=pl.Float64)
    if numbers.dtype != pl.Float64:
        raise NotColumnar("tstats: %s holds integers a float cannot hold" % name)
    return numbers


def _unsigned_zero(numbers):
    """-0.0 as 0.0: the row adds ``to_number(value) or 0``, where a zero of either sign is 0."""
    return pl.select(pl.when(pl.lit(numbers) == 0).then(0.0).otherwise(pl.lit(numbers))).to_series()


def _integral(numbers):
    """Which cells the row holds as an int (or lacks: the row adds 0)."""
    small = numbers.abs() < _EXACT
    return (numbers.is_null() | ((numbers.floor() == numbers) & small)).fill_null(True)


def _total_bytes(frame):
    """``bytes_in + bytes_out`` where either is present (the row command's fallback)."""
    bytes_in, bytes_out = _numbers(frame, "bytes_in"), _numbers(frame, "bytes_out")
    present = pl.Series([False] * frame.height, dtype=pl.Boolean)
    for name in ("bytes_in", "bytes_out"):
        if name in frame.columns:
            present = present | frame.get_column(name).is_not_null()
    total = bytes_in.fill_null(0.0) + bytes_out.fill_null(0.0)
    # Python adds two ints exactly: a sum of integral inputs past 2**53 is an int the
    # column cannot hold (any float input makes it a float addition, the same as here)
    integral = _integral(bytes_in) & _integral(bytes_out)
    if (integral & (total.abs() >= _EXACT)).any() or total.is_nan().any():
        raise NotColumnar("tstats: a byte total a float cannot hold exactly")
    return pl.select(pl.when(present).then(total)).to_series()


def _dataset_frame(frame, dataset):
    """The data set's rows of one partition (already filtered to its members): the event
    fields kept, the CIM fields renamed, ``__pos`` kept for the order."""
    columns = [frame.get_column(name) for name in EVENT_FIELDS if name in frame.columns]
    prefix = dataset + "."
    for field in CIM_FIELDS[dataset]:
        if field in frame.columns:
            columns.append(frame.get_column(field).alias(prefix + field))
    out = pl.DataFrame(columns + [frame.get_column(POSITION)])
    if "bytes_in" in frame.columns or "bytes_out" in frame.columns:
        total = _total_bytes(frame).alias(prefix + "bytes")
        if prefix + "bytes" in out.columns:
            native = out.get_column(prefix + "bytes")
            if native.dtype != pl.Float64 and not total.is_null().all() \
                    and (native.is_null() & total.is_not_null()).any():
                raise NotColumnar("tstats: bytes mixes strings with computed totals")
            out = out.with_columns(native.fill_null(total) if native.dtype == pl.Float64 else native)
        elif not total.is_null().all():
            out = out.with_columns(total)
    return out


def col_tstats(ctx, args, frame):
    """``| tstats ... from datamodel=<Model>[.<Dataset>] [where ...] [by ...]`` on columns."""
    query = parse_tstats(args)  # the row command's parse: the same errors
    table = ctx._events
    if not isinstance(table, EventTable):
        raise NotColumnar("tstats: the events are not held in columns")
    datasets = DATAMODELS.get(query.model)
    if datasets is None or (query.dataset is not None and query.dataset not in datasets):
        raise NotColumnar("tstats: data model not available offline (the row command says so)")
    dataset = query.dataset or next(iter(datasets))
    member = datasets[dataset]
    parts = []
    for key, partition in table.partitions.items():
        if not partition.height:
            continue
        if query.where is not None and not may_match_partition(query.where, key):
            continue  # the where clause's sourcetype terms rule the partition out: no totals made
        kept = partition.filter(_member_mask(partition, member))
        if not kept.height:
            continue
        part = _dataset_frame(kept, dataset)
        if query.where is not None:
            part = filter_frame(query.where, part, None, key)
        if part.height:
            parts.append(part)
    data = select(parts)
    if query.span is not None:  # parsed even over no rows: a bad span is the row's error
        data = col_bin(ctx, "span=%s _time" % query.span, data)
    if query.fill is not None and data.height:
        data = _fill_by_fields(data, query.by, query.fill)
    if not data.width:  # no member rows: the row stats over nothing
        return frame_from_rows(cmd_stats(ctx, query.stats_text, []))
    try:
        return col_stats(ctx, query.stats_text, data)
    except NotColumnar:
        return frame_from_rows(cmd_stats(ctx, query.stats_text, rows_from_frame(data)))


def _fill_by_fields(data, by, fill):
    """``fillnull_value``: a by-field (not ``_time``) a row lacks takes ``fill``."""
    columns = []
    for field in dict.fromkeys(f for f in by if f != "_time"):
        if field not in data.columns:
            columns.append(pl.Series(field, [fill] * data.height, dtype=pl.String))
            continue
        column = data.get_column(field)
        if not column.null_count():
            continue
        if column.dtype == pl.String:
            columns.append(column.fill_null(fill))
        elif column.dtype == pl.List(pl.String):
            columns.append(pl.select(pl.when(column.is_null()).then(pl.lit([fill], dtype=pl.List(pl.String)))
                                     .otherwise(column)).to_series().alias(field))
        else:
            raise NotColumnar("tstats: fillnull_value into a %s column" % column.dtype)
    return data.with_columns(columns) if columns else data


COLUMNAR_COMMANDS = {"tstats": guarded(col_tstats)}

__all__ = ["COLUMNAR_COMMANDS", "col_tstats"]
