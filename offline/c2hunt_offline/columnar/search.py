"""The first segment and the ``search`` command on columns.

The expression is parsed and compiled by :class:`~c2hunt_offline.searchexpr.SearchExpression`
exactly as the row engine does (so its errors are the same), then evaluated as a mask:

1. **Partitions pruned.** Within a sourcetype's partition every ``sourcetype=...`` term has
   one answer, so the tree is folded per partition; a partition whose tree folds to false is
   never looked at (``sourcetype="bro:conn:json" OR ...`` reads the conn partition only).
2. **Each term once per distinct value.** A ``field=value`` / ``IN`` / comparison /
   ``index=`` term reads one field, so its compiled row predicate is called once per distinct
   value of that column and the answers are mapped back natively (sourcetypes, ports,
   process paths and states repeat): exact by construction. ``earliest``/``latest`` compare
   a numeric ``_time`` column natively.
3. **Filter first, then copy**: the selected rows are a new frame; events are never changed.
"""
import polars as pl

from .. import timespec
from ..searchexpr import SELECTOR_FIELDS, SearchExpression, _compile
from .events import POSITION, numeric_column, partition_key, select
from .table import NotColumnar, map_distinct, python_values, rows_from_frame


def _fields_read(node, now):
    """The one field a leaf reads, "" for a constant leaf, None when it reads every field."""
    kind = node[0]
    if kind == "true":
        return ""
    if kind in ("cmp", "in"):
        field = node[1]
        low = field.lower()
        if kind == "cmp" and low in ("earliest", "latest") and now is not None:
            return "_time"
        if low == "index" and (kind == "in" or node[2] == "="):
            return "index"
        if low in SELECTOR_FIELDS:
            return ""
        return field
    if kind == "term":
        return "" if node[1] == "*" else None
    return None


def _fold(node, sourcetype, now):
    """``node`` with its ``sourcetype`` terms answered for a partition of that sourcetype:
    True, False, or a (smaller) tree."""
    kind = node[0]
    if kind == "true":
        return True
    if kind in ("and", "or"):
        parts = []
        for part in node[1]:
            folded = _fold(part, sourcetype, now)
            if folded is (kind == "or"):
                return folded  # True in an OR, False in an AND decides it
            if folded is not (kind == "and"):
                parts.append(folded)
        if not parts:
            return kind == "and"
        return parts[0] if len(parts) == 1 else (kind, parts)
    if kind == "not":
        inner = _fold(node[1], sourcetype, now)
        return (not inner) if isinstance(inner, bool) else ("not", inner)
    if sourcetype and _fields_read(node, now) == "sourcetype":
        return bool(_compile(node, now)({"sourcetype": sourcetype}))
    if _fields_read(node, now) == "":
        return bool(_compile(node, now)({}))
    return node


def _constant(value, height):
    return pl.Series("", [bool(value)], dtype=pl.Boolean).extend_constant(bool(value), height - 1) \
        if height else pl.Series("", [], dtype=pl.Boolean)


def _per_distinct(series, predicate):
    """``predicate(row)`` for a one-field row of every cell, evaluated per distinct value."""
    name = series.name
    null_answer = bool(predicate({}))
    if series.dtype == pl.Float64 and series.is_nan().any():  # NaN is no key: per row (rare)
        return pl.Series("", [bool(predicate({name: v}) if v is not None else null_answer)
                              for v in python_values(series)], dtype=pl.Boolean)
    if series.dtype in (pl.String, pl.Float64):
        if series.dtype == pl.String and len(series) and not series.null_count() \
                and (series == series[0]).all():
            # one text in every row (index, source, sourcetype within a partition): one
            # call, and no hashing of the column to find that out
            return _constant(predicate({name: series[0]}), len(series))
        distinct = series.drop_nulls().unique()
        if not len(distinct):
            return _constant(null_answer, len(series))
        answers = [bool(predicate({name: v})) for v in python_values(distinct)]
        return series.replace_strict(distinct, answers, default=None, return_dtype=pl.Boolean) \
            .fill_null(null_answer)
    if isinstance(series.dtype, pl.List):
        mask = map_distinct(series.to_frame(), [name], lambda row: 1 if predicate(row) else 0, "\x00mask")
        return mask == 1
    return pl.Series("", [bool(predicate({name: v} if v is not None else {})) for v in python_values(series)],
                     dtype=pl.Boolean)


def _term_candidates(node, raw):
    """The rows of a String ``_raw`` column that may hold the bare term ``node``: those where
    each of the term's literal pieces occurs, case aside (the term's regex needs them all),
    and those whose text is not ASCII. Exact as a filter: on ASCII text, Python's
    case-insensitive match of ASCII pieces is ASCII lower-casing, which polars does alike;
    other text stays a candidate. None when the term gives no ASCII piece to look for."""
    if node[0] != "term" or raw.dtype != pl.String:
        return None
    pieces = [piece.lower() for piece in node[1].split("*") if piece]
    if not pieces or not all(piece.isascii() for piece in pieces):
        return None
    text = pl.col(raw.name)
    lowered = text.str.to_lowercase()
    found = pl.all_horizontal([lowered.str.contains(piece, literal=True) for piece in pieces])
    return raw.to_frame().select((text.str.len_bytes() != text.str.len_chars()) | found).to_series()


def _time_bound_mask(node, frame, now):
    """``earliest=``/``latest=`` on a numeric ``_time`` column, natively."""
    _, field, op, value, _ = node
    bound = timespec.resolve(value, now)
    t = numeric_column(frame.get_column("_time"))
    keep = (t >= bound) if field.lower() == "earliest" else (t < bound)
    return keep.fill_null(False)


def _leaf_mask(node, frame, now):
    field = _fields_read(node, now)
    predicate = _compile(node, now)
    if field is None:  # a bare term: _raw, or every field of rows without one
        if "_raw" in frame.columns and not frame.get_column("_raw").null_count():
            raw = frame.get_column("_raw")
            candidates = _term_candidates(node, raw)
            if candidates is None:
                return _per_distinct(raw, predicate)
            mask = pl.Series("", [False] * frame.height, dtype=pl.Boolean)
            return mask.scatter(candidates.arg_true(), _per_distinct(raw.filter(candidates), predicate))
        fields = frame.drop(POSITION) if POSITION in frame.columns else frame
        try:
            mask = map_distinct(fields, fields.columns, lambda row: 1 if predicate(row) else 0, "\x00mask")
            return (mask == 1).fill_null(False)
        except NotColumnar:
            return pl.Series("", [bool(predicate(row)) for row in rows_from_frame(fields)], dtype=pl.Boolean)
    if field not in frame.columns:
        return _constant(predicate({}), frame.height)
    if field == "_time" and node[0] == "cmp" and node[1].lower() in ("earliest", "latest"):
        return _time_bound_mask(node, frame, now)
    return _per_distinct(frame.get_column(field), predicate)


def _mask(node, frame, now):
    """The boolean mask of a (folded) tree over ``frame``."""
    if isinstance(node, bool):
        return _constant(node, frame.height)
    kind = node[0]
    if kind in ("and", "or"):
        mask = None
        for part in node[1]:
            part_mask = _mask(part, frame, now)
            mask = part_mask if mask is None else (mask & part_mask if kind == "and" else mask | part_mask)
        return mask
    if kind == "not":
        return ~_mask(node[1], frame, now)
    return _leaf_mask(node, frame, now)


def filter_frame(expression, frame, now=None, sourcetype=""):
    """The rows of ``frame`` the compiled ``expression`` keeps (a new frame)."""
    tree = _fold(expression.tree, sourcetype, now)
    if tree is False or not frame.height:
        return frame.clear()
    if tree is True:
        return frame
    return frame.filter(_mask(tree, frame, now))


def may_match_partition(expression, sourcetype, now=None):
    """False when ``expression`` keeps no row of the partition of that ``sourcetype`` (its
    sourcetype terms alone decide it), as :func:`filter_frame` would find."""
    return _fold(expression.tree, sourcetype, now) is not False


def first_segment(text, table, now, as_rows=False, fields=None, whole_above=None):
    """The events of ``table`` (an :class:`EventTable`) the search ``text`` selects, newest
    first: a frame, or with ``as_rows`` a list of copies of the event dicts (the row engine's
    own copies) when the table holds them. ``fields``: the frame holds only these columns (the
    rest of the pipeline reads no other), unless it has more than ``whole_above`` rows."""
    expression = SearchExpression(text, now=now)  # the row engine's parse: the same errors
    picked, count = [], 0
    for key, frame in table.partitions.items():
        tree = _fold(expression.tree, key, now)
        if tree is False or not frame.height:
            continue
        mask = None if tree is True else _mask(tree, frame, now)  # as filter_frame
        rows = frame.height if mask is None else int(mask.sum())
        if rows:
            picked.append((frame, mask))
            count += rows
    if as_rows or (whole_above is not None and count > whole_above):
        fields = None
    selected = []
    for frame, mask in picked:
        if fields is not None:  # only the columns read: fewer to copy now and in every command after
            frame = frame.select([c for c in frame.columns if c in fields or c == POSITION])
        selected.append(frame if mask is None else frame.filter(mask))
    if as_rows and table.source is not None:
        source = table.source
        return [dict(source[p]) for p in table.positions(selected)]
    return select(selected)


def cmd_search(ctx, args, frame):
    """``| search <expression>`` (terms relative to no "now", as the row command)."""
    expression = SearchExpression(args)
    st = frame.get_column("sourcetype") if "sourcetype" in frame.columns else None
    if st is not None and st.dtype == pl.String and st.n_unique() == 1 and not st.null_count():
        return filter_frame(expression, frame, None, partition_key(st[0]))
    return filter_frame(expression, frame)


COLUMNAR = {"search": cmd_search}

__all__ = ["COLUMNAR", "cmd_search", "filter_frame", "first_segment", "may_match_partition"]
