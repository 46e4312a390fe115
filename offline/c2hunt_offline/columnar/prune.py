"""A streamed prefix's rows pruned to the fields the rest of its pipeline reads, exactly.

A search whose prefix stops at a command that needs other events (``eventstats``, ``sort``,
...) keeps every row its prefix selects until the pass ends. Most of those rows' fields are
never read again: the rest of the pipeline names what it reads, and a ``table``, a ``fields``
list or a ``stats`` soon drops everything else. :func:`rest_fields` finds, from the prefix's
cut on, the commands up to that first *reset* and the fields they name (read or written); the
pass keeps only those (:func:`prune`), so what a search holds grows with the fields it uses,
not with the width of the events.

One thing between the cut and the reset sees the fields it does not name: ``eventstats``
stops adding its fields once the results pass limits.conf's ``maxresultrows`` *and*
``max_mem_usage_mb``, measured from the text of every field of every result
(:func:`..limits.eventstats_cutoff`). So each pruned row carries the text size of what was
dropped (:data:`PRUNED_BYTES`, the same estimate: field name plus value text, numbers as
printed), :func:`run_rest` runs ``eventstats`` with that size added to each row's own, and the
column is dropped before the reset. Every other command between is one that reads only what
it names (see :func:`_reads`); any other command, a wildcard, ``searchmatch`` or a pipeline
without a reset leaves the rows whole, as before. A ``fields -`` list reads nothing: ``_raw``
named there is not kept for it (its size is, and the command takes it off the row's).

Over-naming is harmless (a field kept that is never read), under-naming is not: the fields of
a command are every word of its text, and every piece of a word split at ``.``, ``:`` and
``-`` (an unquoted ``a.b`` in eval is a concatenation or a dotted field name).
"""
import re

import numpy as np
import polars as pl

from .. import limits
from .table import NotColumnar, python_values, rows_from_frame
from ..values import mv, to_str

PRUNED_BYTES = "\x00pruned_bytes"  # text size of the fields a pruned row no longer holds
PRUNED_RAW = "\x00pruned_raw"  # the part of it that is ``_raw`` (a ``fields`` list keeps _raw)

_WORD = re.compile(r"[^\s\"'(),=<>!|&+*/%\[\]{}?;]+")
_QUOTED = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'")


def _word(segment):
    return segment.split(None, 1)[0].lower() if segment.strip() else ""


def _names(text):
    """Every name a command's text could refer to a field by (a superset): each unquoted word
    and its pieces split at ``.``, ``:`` and ``-``; a single-quoted name as it is; a
    double-quoted string as it is and each word in it (rex's group names)."""
    found = set()
    for match in _QUOTED.finditer(text):
        if match.group(1) is not None:
            found.add(match.group(1))
            found.update(_WORD.findall(match.group(1)))
        else:
            found.add(match.group(2))
    for piece in _WORD.findall(_QUOTED.sub(" ", text)):
        found.add(piece)
        found.update(p for p in re.split(r"[.:\-]", piece) if p)
    return found


def _lookup_fields(args):
    """The event fields a ``lookup`` reads and writes (its input and OUTPUT fields, not the
    table's column names), or None without OUTPUT (every column of the table is written)."""
    from ..commands.arguments import take_options, words
    try:
        options, items = take_options(words(args), {"local", "update", "event_time_field"})
    except Exception:  # noqa: BLE001  (the command gives the error)
        return None
    tokens = [w for w, _ in items[1:]]
    if not any(t.upper() in ("OUTPUT", "OUTPUTNEW") for t in tokens):
        return None
    fields = set(options.values()) if isinstance(options, dict) else set()
    i = 0
    while i < len(tokens):
        if tokens[i].upper() in ("OUTPUT", "OUTPUTNEW"):
            i += 1
        elif i + 2 < len(tokens) and tokens[i + 1].lower() == "as":
            fields.add(tokens[i + 2])
            i += 3
        else:
            fields.add(tokens[i])
            i += 1
    return fields


def _reads(name, args):
    """(the names a command between the cut and the reset refers to, or None: it reads fields
    it does not name, or is not one of the commands known to read only what they name)."""
    lowered = args.lower()
    if name in ("eval", "where"):  # searchmatch reads every field; eval {x}=... writes one named by a value
        if "searchmatch" in lowered or re.search(r"(^|,)\s*\{[^}]*\}\s*=", args):
            return None
        return _names(args)
    if name == "lookup":
        return _lookup_fields(args)
    if name == "rex":
        return _names(args) | (set() if re.search(r"\bfield\s*=", lowered) else {"_raw"})  # default: _raw
    if name in ("rename", "sort", "dedup", "eventstats"):
        return None if "*" in args else _names(args)
    if name == "fillnull":  # without a field list it fills (and so sizes) every field
        from .stream import _per_event
        return _names(args) if _per_event("fillnull " + args) else None
    if name == "fields":  # removing named fields reads none (a list to keep: rest_fields)
        if not removes_list(name, args):
            return None
        # _raw removed need not be kept: its size is carried (PRUNED_RAW), taken off there
        return _names(args) - {"_raw"}
    return None


def _strong_reset(name, args):
    """The fields a ``table`` or ``stats`` keeps, dropping every other (None: it is not one)."""
    if "*" in args:
        return None
    if name == "table":
        return _names(args)
    if name == "stats":
        from .stream import _stats_fields
        fields = _stats_fields(args)
        return None if fields is None else fields | _names(args)
    return None


def keeps_list(name, args):
    """Whether the command is ``fields`` with a list to keep (it drops the rest but ``_time``
    and ``_raw``)."""
    return name == "fields" and not args.strip().startswith("-") and "*" not in args


def removes_list(name, args):
    """Whether the command is ``fields -`` with named fields to remove (no wildcard)."""
    return name == "fields" and args.strip().startswith("-") and "*" not in args


def rest_fields(segments, cut, reads=None):
    """(fields, stop): the fields the commands from ``segments[cut]`` on name, up to ``stop``,
    the first ``table`` or ``stats`` (which keep only fields named) or the first command not
    known to read only what it names after a ``fields`` list (which kept only what it names,
    ``_time`` and ``_raw``: ``_raw`` is kept then); (None, None) when the rows must stay whole.
    A pipeline that ends after a ``fields`` list stops at its end (``_raw`` kept). ``reads``:
    (name, args) -> the names another command reads and writes, or None (as :func:`_reads`),
    asked for the commands :func:`_reads` does not know."""
    fields = {"_time"}
    after_list = sized = False
    for index in range(cut, len(segments)):
        name = _word(segments[index])
        args = segments[index][len(name):]
        if removes_list(name, args) and not sized:
            continue  # gone before anything sizes the rows: need not be kept (unsized_fields)
        sized = sized or name == "eventstats"
        kept = _strong_reset(name, args)
        if kept is not None:
            return fields | kept, index
        if keeps_list(name, args):
            fields |= _names(args)
            after_list = True
            continue
        named = _reads(name, args)
        if named is None and reads is not None:
            named = reads(name, args)
        if named is None:
            return (fields | {"_raw"}, index) if after_list else (None, None)
        fields |= named
    return (fields | {"_raw"}, len(segments)) if after_list else (None, None)


def unsized_fields(segments, cut, stop):
    """The fields a ``fields -`` in ``segments[cut:stop]`` removes before any ``eventstats``:
    no command sizes the rows while they are there, so where pruning drops them their text
    is not carried either (``fields - _raw`` right after the prefix keeps neither the text nor
    its size). After an ``eventstats`` only ``_raw`` is dropped for a ``fields -`` (its size
    carried, taken off there: :func:`run_rest`)."""
    unsized = set()
    for segment in segments[cut:stop]:
        name = _word(segment)
        args = segment[len(name):]
        if name == "eventstats":
            break
        if removes_list(name, args):
            unsized |= _names(args.strip()[1:])
    return unsized


# ---------------------------------------------------------------- sizes

def row_text_bytes(frame):
    """:func:`..limits.estimated_bytes` of each row of ``frame`` (Int64): per present cell, its
    field name's length and its value's text (numbers as printed, every value of a multivalue).
    Text columns are measured in one pass over the frame (no column of lengths per field)."""
    from .stats import number_text_lengths
    texts, others = [], []
    for name in frame.columns:
        series = frame.get_column(name)
        if series.null_count() == frame.height:
            continue
        column = pl.col(name)
        if series.dtype == pl.String:
            texts.append((column.str.len_chars().cast(pl.Int64) + len(name)).fill_null(0))
        elif series.dtype == pl.List(pl.String):  # every item's text, a null item none's
            others.append((_list_text_lengths(series) + len(name)).fill_null(0))
        elif series.dtype == pl.Float64:
            others.append((number_text_lengths(series) + len(name)).fill_null(0))
        else:
            others.append((pl.Series(name, [None if v is None else sum(len(to_str(x) or "") for x in mv(v))
                                            for v in python_values(series)], dtype=pl.Int64) + len(name)).fill_null(0))
    if texts:
        sizes = frame.select(pl.sum_horizontal(texts).cast(pl.Int64).alias("size")).to_series()
    else:
        sizes = pl.Series("size", [0] * frame.height, dtype=pl.Int64)
    for length in others:
        sizes = sizes + length
    return sizes.alias("size")


def _list_text_lengths(series):
    """Each cell's text length of a List(String) column as :func:`row_text_bytes` counts it
    from the row's value (``python_values``: an empty list or a single null item is no value;
    null items count nothing), without a Python object per row (Zeek's ``tag`` on every event)."""
    items = series.list.len()
    flat = series.to_frame("v").with_row_index("r").explode("v")  # each item with its row
    lengths = flat.get_column("v").str.len_chars().fill_null(0).to_numpy()
    rows = flat.get_column("r").to_numpy()
    totals = np.bincount(rows, weights=lengths, minlength=series.len())
    absent = items.is_null() | (items == 0) | ((items == 1) & series.list.first().is_null())
    return pl.Series(series.name, totals.astype(np.int64)).set(absent, None)


def prune(frame, keep, unsized=()):
    """``frame`` with only the fields in ``keep``, :data:`PRUNED_BYTES` the text size of the
    others but ``unsized`` (removed before anything sizes the rows) and :data:`PRUNED_RAW`
    that of ``_raw`` when it is one of them (what a ``fields`` list would have kept of them)."""
    dropped = [c for c in frame.columns if c not in keep]
    sized = [c for c in dropped if c not in unsized]
    sizes = row_text_bytes(frame.select(sized)) if sized else pl.Series([0] * frame.height, dtype=pl.Int64)
    raw = row_text_bytes(frame.select("_raw")) if "_raw" in sized else pl.Series([0] * frame.height, dtype=pl.Int64)
    return frame.drop(dropped).with_columns(sizes.cast(pl.UInt32).alias(PRUNED_BYTES),
                                            raw.cast(pl.UInt32).alias(PRUNED_RAW))


# ---------------------------------------------------------------- the rest

def _take_sizes(data):
    """(the data without the size columns, [sizes, raw sizes] as Int64 Series)."""
    if isinstance(data, pl.DataFrame):
        sizes = [data.get_column(name).fill_null(0).cast(pl.Int64) if name in data.columns
                 else pl.Series(name, [0] * data.height, dtype=pl.Int64) for name in (PRUNED_BYTES, PRUNED_RAW)]
        return data.drop([PRUNED_BYTES, PRUNED_RAW], strict=False), sizes
    rows = data or []
    sizes = [pl.Series(name, [int(row.pop(name, 0) or 0) for row in rows], dtype=pl.Int64)
             for name in (PRUNED_BYTES, PRUNED_RAW)]
    return rows, sizes


def _give_sizes(data, sizes):
    if isinstance(data, pl.DataFrame):
        return data.with_columns([s.cast(pl.Float64).alias(n) for n, s in zip((PRUNED_BYTES, PRUNED_RAW), sizes)])
    for row, size, raw in zip(data, sizes[0].to_list(), sizes[1].to_list()):
        row[PRUNED_BYTES], row[PRUNED_RAW] = size, raw
    return data


def eventstats_cutoff(data, extra):
    """:func:`..limits.eventstats_cutoff` of the rows ``data`` (a frame or row dicts) had they
    still held the pruned fields: each row's size plus ``extra`` (its pruned fields' size)."""
    height = data.height if isinstance(data, pl.DataFrame) else len(data)
    if height <= limits.MAXRESULTROWS:
        return None
    if limits.MAX_MEM_USAGE_MB <= 0:
        return limits.MAXRESULTROWS
    if isinstance(data, pl.DataFrame):
        from .stats import text_size_bound
        try:  # the running sum passes the budget only if the total does: bounded first, cheaply
            if text_size_bound(data) + int(extra.sum() or 0) <= limits.MAX_MEM_USAGE_MB * 1024 * 1024:
                return None
        except NotColumnar:
            pass  # a column the bound does not read: every row measured
        own = row_text_bytes(data)
    else:
        own = pl.Series("size", [limits.estimated_bytes(row) for row in data], dtype=pl.Int64)
    used = (own + extra).cum_sum()
    past = (used > limits.MAX_MEM_USAGE_MB * 1024 * 1024) & (pl.int_range(height, eager=True) >= limits.MAXRESULTROWS)
    if not past.any():
        return None
    return int(past.arg_true()[0])


def _eventstats(runner, ctx, args, data, extra, reenter):
    """``eventstats`` over pruned rows as over the whole rows: the cut-off measured with the
    pruned fields' sizes ``extra``; the results before it get the fields (where, the pruned
    rows being smaller, the command finds no cut-off of its own), the rest stay as they are."""
    from .engine import apply, as_rows
    from .stats import past_cutoff
    cutoff = eventstats_cutoff(data, extra)
    if cutoff is None:
        return apply(runner, ctx, "eventstats", args, data, reenter)
    height = data.height if isinstance(data, pl.DataFrame) else len(data)
    ctx.messages.append(limits.eventstats_cutoff_message(cutoff, height))
    head = apply(runner, ctx, "eventstats", args, data[:cutoff], reenter)
    tail = data[cutoff:]
    if isinstance(head, pl.DataFrame) and isinstance(tail, pl.DataFrame):
        try:
            return past_cutoff(head, tail)
        except (NotColumnar, pl.exceptions.PolarsError):
            pass
    return as_rows(head) + (rows_from_frame(tail) if isinstance(tail, pl.DataFrame) else tail)


def run_rest(runner, ctx, segments, start, stop, data, step):
    """The commands ``segments[start:stop]`` over pruned rows as over the whole rows: each
    ``eventstats`` sized with the pruned fields, a ``fields`` list leaving only ``_raw``'s size,
    a ``fields -`` naming ``_raw`` taking its size off;
    then the pipeline from ``stop`` on without the size columns. Returns the rows the search
    returns, as :func:`.engine.execute_from` gives them."""
    from .engine import REENTRY_RUN, _columnar_run, _command_names, apply, execute_from
    names = _command_names(segments)
    for index in range(start, stop):
        step.name = None
        name, args = runner.next_command(segments[index], data, step)
        reenter = _columnar_run(names, index - 1) >= REENTRY_RUN
        if name == "eventstats":  # the rows as they are, in order: the sizes put back after
            data, sizes = _take_sizes(data)
            data = _give_sizes(_eventstats(runner, ctx, args, data, sizes[0], reenter), sizes)
        elif keeps_list(name, args):  # of the pruned fields only _raw would stay
            data, sizes = _take_sizes(data)
            data = _give_sizes(apply(runner, ctx, name, args, data, reenter), [sizes[1], sizes[1]])
        elif removes_list(name, args) and "_raw" in _names(args):  # _raw's size goes with it
            data, sizes = _take_sizes(data)
            zero = sizes[1] * 0
            data = _give_sizes(apply(runner, ctx, name, args, data, reenter), [sizes[0] - sizes[1], zero])
        else:  # every other command carries the size columns with its rows
            data = apply(runner, ctx, name, args, data, reenter)
    data, _sizes = _take_sizes(data)
    return execute_from(runner, ctx, segments, stop, data, step)


__all__ = ["PRUNED_BYTES", "PRUNED_RAW", "eventstats_cutoff", "prune", "rest_fields", "row_text_bytes",
           "run_rest", "unsized_fields"]
