"""``stats`` aggregated a chunk at a time: per-group state carried across chunks, so a streamed
search whose per-event prefix is followed by ``stats ... by ...`` keeps its groups, not its rows.

:class:`PartialStats` takes the prefix's output chunk by chunk (each row with its global order
key: :data:`.stream.ORDER_TIME`, :data:`.stream.ORDER_SEQ`) and gives at the end exactly the frame
:func:`.stats.col_stats` gives over all those rows stacked in newest-first order. It reuses
``col_stats``' own pieces (``_by_frame`` for the groups of each row, ``_Plan`` for the value and
number columns, ``_Groups`` for the output order, ``_Plan.finish`` and ``assign_where_not_null``
for the output columns), so each function's semantics are that code's. What each carries:

- groups: one global number per distinct by-value tuple (a polars join of each chunk's groups
  against the known ones), and each group's first appearance (the smallest (-_time, sequence,
  place in the row's multivalue expansion)): ``stats`` orders its output by the by-values' sort
  keys and breaks ties ("1" and "01") by first appearance.
- ``count``, ``count(x)``: a count per group. ``dc``, ``values``: the distinct (group, value)
  pairs (compacted when they pile up). ``min``/``max``: the extreme number per group and, for a
  string field, the extreme non-number string (used only by groups that have no number).
- ``sum``/``avg``: ``col_stats`` adds a group's numbers left to right in newest-first order.
  Whole numbers (whose total stays below 2**53, which ``col_stats`` checks over the column)
  add exactly in any order, so they are carried as a running sum. A field with a fraction in
  the first chunk that has any value keeps every value instead, with its group and order key
  (32 bytes a value), and adds them in order at the end. A field carried as whole numbers that
  later shows a fraction cannot be exact: the search falls back (below).

The stream pass decides when rows are folded in (:mod:`.stream`: only while the state stays
smaller than the rows it takes); :meth:`PartialStats.add` takes rows in any order and any
grouping into chunks, each row once.

Anything ``col_stats`` would refuse (:class:`NotColumnar`: Object columns, a field holding
numbers in one chunk and strings in another, numbers past 2**53, NaN, by-values printing alike,
``values()`` of numbers giving a multivalue, ``min``/``max`` mixing numbers and strings) and
anything not carried raises :class:`NotColumnar` here, and the search falls back to keeping
rows (:meth:`.stream.Plan.fold`, :meth:`.stream.StreamedEvents.finish`): never a different result.

Memory: per group its by-values, its first-appearance key and a few numbers per function,
plus one pair per distinct value of ``dc``/``values`` and, for a ``sum``/``avg`` of fractions,
32 bytes per value (the only part that grows with the selected events).
"""
import numpy as np
import polars as pl

from ..commands.stats import parse_aggregations
from .stats import _EXACT, _ROW, _by_frame, _Groups, _key_names, _may_print_alike, _Plan, assign_where_not_null, \
    gather_or_null
from .table import NotColumnar

ORDER_TIME, ORDER_SEQ = "\x00order_t", "\x00order_seq"  # as .stream names them
CARRIED = frozenset(("count", "dc", "values", "min", "max", "sum", "avg", "mean"))
COMPACT_ROWS = 1 << 20  # buffered pairs compacted (made distinct) past this many, or the compacted size


def carried(args):
    """Whether ``stats <args>`` can be aggregated chunk by chunk (named functions of
    :data:`CARRIED`, by-fields without wildcards, no options)."""
    try:
        aggs, by, options = parse_aggregations(args, "stats")
    except Exception:  # noqa: BLE001  (the whole pipeline reports it)
        return False
    if not by or options or any("*" in f for f in by):
        return False
    return all(a.expr is None and a.func in CARRIED and "*" not in (a.arg or "") for a in aggs)


def _grow(array, size, fill):
    if len(array) >= size:
        return array
    grown = np.full(max(size, len(array) + len(array) // 4 + 1024), fill, dtype=array.dtype)  # +25 %: little slack
    grown[:len(array)] = array
    return grown


class _Kinds(object):
    """The dtypes one field has in the chunks, and so its dtype in the stacked frame
    (:func:`.events.concat_frames`: one dtype stays; several are rebuilt from the values)."""

    def __init__(self):
        self.dtypes, self.values = set(), set()

    def add(self, series):
        self.dtypes.add(series.dtype)
        if series.null_count() == series.len():
            return
        dtype = series.dtype
        if dtype == pl.Float64:
            self.values.add("number")
        elif dtype == pl.String:
            self.values.add("string")
        elif isinstance(dtype, pl.List) and dtype.inner == pl.String:
            self.values.add("list")
        else:
            self.values.add("other")

    def whole(self):
        if len(self.dtypes) == 1:
            dtype = next(iter(self.dtypes))
            return pl.String if dtype == pl.Null else dtype
        if "other" in self.values or "number" in self.values and len(self.values) > 1:
            raise NotColumnar("a field holds numbers in one chunk and strings in another")
        if "list" in self.values:
            return pl.List(pl.String)
        return pl.Float64 if self.values == {"number"} else pl.String


class _Pairs(object):
    """Distinct (group, value) pairs, buffered chunk by chunk and made distinct when they
    pile up past the compacted size."""

    def __init__(self):
        self.compact, self.buffer, self.buffered = None, [], 0

    def add(self, groups, values):
        if not len(groups):
            return
        frame = pl.DataFrame({"g": pl.Series(groups, dtype=pl.UInt32), "v": values}).unique()
        self.buffer.append(frame)
        self.buffered += frame.height
        if self.buffered > max(COMPACT_ROWS, self.compact.height if self.compact is not None else 0):
            self.frame()

    def frame(self):
        if self.buffer:
            parts = ([self.compact] if self.compact is not None else []) + self.buffer
            self.compact = pl.concat(parts, how="vertical").unique()
            self.buffer, self.buffered = [], 0
        return self.compact

    def nbytes(self):
        return sum(f.estimated_size() for f in ([self.compact] if self.compact is not None else []) + self.buffer)


class _State(object):
    """What one aggregation carries (``plan``: its ``_Plan`` over the current chunk)."""

    def __init__(self, index, agg):
        self.index, self.agg = index, agg
        self.func = {"mean": "avg"}.get(agg.func, agg.func)
        self.counts = np.zeros(0, dtype=np.int64)  # count, count(x); avg: values found
        self.pairs = _Pairs() if self.func in ("dc", "values") else None
        # min/max: extremes (infinite: none); sum/avg: whole-number totals (NaN: none)
        self.numbers = np.zeros(0, dtype=np.float64)
        self.strings = []  # min/max: frames (g, s) of each chunk's extreme non-number string
        self.fractional = None  # sum/avg: None until a value is seen; then whether values are kept
        self.kept = []  # sum/avg of fractions: (group, -_time, sequence, value) arrays per chunk
        self.abs_total = 0.0  # sum/avg: the column's total magnitude (col_stats' 2**53 check)

    def nbytes(self):
        size = self.counts.nbytes + self.numbers.nbytes + sum(f.estimated_size() for f in self.strings)
        size += sum(a.nbytes for part in self.kept for a in part)
        return size + (self.pairs.nbytes() if self.pairs is not None else 0)

    def add(self, plan, ids, count, data, neg_t, seq):
        f = self.func
        if f == "count" and plan.kind is None:
            self.counts = _grow(self.counts, count, 0)
            self.counts[:count] += np.bincount(ids[ids >= 0], minlength=count)
            return
        if f in ("count", "dc", "values"):
            where, elements = plan._elements(ids, data)
            if f == "count":
                self.counts = _grow(self.counts, count, 0)
                self.counts[:count] += np.bincount(where, minlength=count)
            else:
                self.pairs.add(where, elements)
            return
        numbers = data.get_column(plan.number)
        present = (ids >= 0) & numbers.is_not_null().to_numpy()
        where, values = ids[present], numbers.to_numpy()[present]
        if f in ("min", "max"):
            self._extremes(plan, ids, count, data, numbers, where, values)
            return
        if not len(values):
            return
        whole = bool((values % 1 == 0).all())
        if self.fractional is None:
            self.fractional = not whole
        if not self.fractional:
            if not whole:
                raise NotColumnar("sum(%s): a fraction after whole numbers were added up" % plan.agg.arg)
            self.numbers = _grow(self.numbers, count, np.nan)
            hits = np.bincount(where, minlength=count)
            totals = self.numbers[:count]
            totals[(hits > 0) & np.isnan(totals)] = 0.0
            totals += np.bincount(where, values, minlength=count)
            if f == "avg":
                self.counts = _grow(self.counts, count, 0)
                self.counts[:count] += hits
        else:
            self.kept.append((where.astype(np.int32), neg_t[present], seq[present], values.copy()))

    def _extremes(self, plan, ids, count, data, numbers, where, values):
        lowest = self.func == "min"
        self.numbers = _grow(self.numbers, count, np.inf if lowest else -np.inf)
        (np.minimum if lowest else np.maximum).at(self.numbers, where, values)
        if plan.kind == pl.String:
            value = data.get_column(plan.value)
            other = (ids >= 0) & (value.is_not_null() & numbers.is_null()).to_numpy()
            if other.any():
                frame = pl.DataFrame({"g": ids[other], "s": value.filter(pl.Series(other))})
                picked = pl.col("s").min() if lowest else pl.col("s").max()
                self.strings.append(frame.group_by("g").agg(picked))
                if len(self.strings) > 8:
                    self.strings = [self._string_extremes()]

    def _string_extremes(self):
        frame = pl.concat(self.strings, how="vertical")
        return frame.group_by("g").agg(pl.col("s").min() if self.func == "min" else pl.col("s").max())

    def result(self, plan, gids, abs_totals):
        """The columns ``_Plan.kernel``/``expressions`` give, one row per output group
        (``gids``: the global group at each output position)."""
        f, name, count = self.func, plan.out, len(gids)
        if f == "count":
            counts = _grow(self.counts, int(gids.max()) + 1, 0)[gids]
            return [pl.Series(name, counts, dtype=pl.Float64)]
        position = np.full(int(gids.max()) + 1, -1, dtype=np.int64)
        position[gids] = np.arange(count)
        if f in ("dc", "values"):
            return [self._distinct(plan, position, count)]
        if f in ("min", "max"):
            extremes = _grow(self.numbers, len(position), np.inf)[gids]
            found = np.isfinite(extremes)  # the numbers are finite (col_stats refuses NaN, 2**53 and past)
            out = [pl.Series(name, extremes, dtype=pl.Float64).set(pl.Series(~found), None)]
            if plan.kind == pl.String:
                strings = pl.Series(name + "\x00s", [None] * count, dtype=pl.String)
                if self.strings:
                    chosen = self._string_extremes()
                    at = position[chosen.get_column("g").to_numpy()]
                    keep = ~found[at]  # only groups without numbers pick strings
                    if keep.any():
                        strings = strings.scatter(pl.Series(at[keep]), chosen.get_column("s").filter(pl.Series(keep)))
                out.append(strings)
            return out
        if abs_totals.get(plan.agg.arg, 0.0) >= _EXACT * (1 - 1e-9):
            raise NotColumnar("a sum near 2**53 is not exact in a Float64 column")
        if self.fractional:
            group, neg_t, seq, values = (np.concatenate([part[k] for part in self.kept]) for k in range(4))
            at = position[group.astype(np.int64)]
            order = np.lexsort((seq, neg_t, at))  # each group's values newest first
            total = np.bincount(at[order], values[order], minlength=count)
            found = np.bincount(at, minlength=count)
        else:
            total = _grow(self.numbers, len(position), np.nan)[gids]
            found = _grow(self.counts, len(position), 0)[gids] if f == "avg" else (~np.isnan(total)).astype(np.int64)
            total = np.where(found > 0, total, 0.0)
        if f == "avg":
            with np.errstate(divide="ignore", invalid="ignore"):
                total = total / found
        return [pl.Series(name, total, dtype=pl.Float64).set(pl.Series(found == 0), None)]

    def _distinct(self, plan, position, count):
        name = plan.out
        pairs = self.pairs.frame()
        if pairs is None or pairs.height == 0:
            if self.func == "dc":
                return pl.Series(name, np.zeros(count), dtype=pl.Float64)
            return pl.Series(name, [None] * count, dtype=pl.List(pl.Float64 if plan.kind == pl.Float64 else pl.String))
        at = position[pairs.get_column("g").to_numpy()]
        if self.func == "dc":
            return pl.Series(name, np.bincount(at, minlength=count), dtype=pl.Float64)
        ordered = pairs.with_columns(pl.Series("at", at)).sort(["at", "v"])  # values: sorted distinct
        grouped = ordered.group_by("at", maintain_order=True).agg(pl.col("v"))
        lists = gather_or_null(grouped.get_column("v"), grouped.get_column("at").to_numpy(),
                               np.arange(grouped.height), count)
        return lists.alias(name)


class PartialStats(object):
    """``stats <args>`` over a prefix's output given a chunk at a time (:meth:`add`), its
    output frame at the end (:meth:`result`). Raises :class:`NotColumnar` (on :meth:`add` or
    :meth:`result`) where the carried state cannot give ``col_stats``' exact result."""

    def __init__(self, args):
        self.aggs, self.by, _options = parse_aggregations(args, "stats")
        self.names = _key_names(self.by)
        self.keys = None  # one row per global group: its by-values
        self.count = 0
        self.first = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32))
        self.kinds = {}  # field -> _Kinds
        self.by_numbers = {}  # Float64 by-field -> its distinct values (col_stats' print-alike check)
        self.abs_totals = {}  # sum/avg field -> total magnitude of its numbers
        self.states = [_State(i, agg) for i, agg in enumerate(self.aggs)]
        self.selected = False

    def nbytes(self):
        """What is carried (bytes)."""
        size = (self.keys.estimated_size() if self.keys is not None else 0) + sum(a.nbytes for a in self.first)
        size += sum(s.estimated_size() for s in self.by_numbers.values())
        return size + sum(s.nbytes() for s in self.states)

    def add(self, frame):
        """One chunk of the prefix's output (with its order-key columns)."""
        if frame is None or frame.height == 0:
            return
        self.selected = True
        fields = set(self.by) | {a.arg for a in self.aggs if a.arg}
        for name in frame.columns:
            if name in fields:
                self.kinds.setdefault(name, _Kinds()).add(frame.get_column(name))
        for field in self.by:
            column = frame.get_column(field) if field in frame.columns else None
            if column is not None and column.dtype == pl.Float64:
                seen = self.by_numbers.get(field)
                both = column.drop_nulls() if seen is None else pl.concat([seen, column.drop_nulls()])
                self.by_numbers[field] = both.unique()
        keys = _by_frame(frame, self.by, print_alike=False)  # groups carried by value
        if keys is None or keys.height == 0:
            return
        for name in self.names:
            numbers = keys.get_column(name).to_numpy() if keys.schema[name] == pl.Float64 else None
            if numbers is not None and (np.signbit(numbers) & (numbers == 0)).any():
                # -0.0 joins 0.0's group, which shows the value that appears first: not carried
                raise NotColumnar("-0.0 in a numeric by-field")
        rows = keys.get_column(_ROW).to_numpy().astype(np.int64)
        local = _Groups(keys, self.names, ordered=False)
        starts = np.flatnonzero(np.diff(rows, prepend=-1))
        place = np.arange(len(rows)) - starts[np.cumsum(np.diff(rows, prepend=-1) != 0) - 1]
        ids = self._global_ids(keys, local)
        neg_t = -frame.get_column(ORDER_TIME).to_numpy()
        seq = frame.get_column(ORDER_SEQ).to_numpy().astype(np.int64)
        self._first_appearance(ids, neg_t[rows], seq[rows], place)
        inputs = {}
        plans = [_Plan(i, agg, frame, inputs) for i, agg in enumerate(self.aggs)]
        for plan in plans:
            if plan.kind is not None and plan.func in ("sum", "avg"):
                total = inputs[plan.number].abs().sum()
                self.abs_totals[plan.agg.arg] = self.abs_totals.get(plan.agg.arg, 0.0) + float(total or 0.0)
        if len(rows) < 2 or bool((np.diff(rows) > 0).all()):  # each row in one group at most
            group_of_row = np.full(frame.height, -1, dtype=np.int64)
            group_of_row[rows] = ids
            data = pl.DataFrame(list(inputs.values())) if inputs else pl.DataFrame(height=frame.height)
            row_neg_t, row_seq = neg_t, seq
        else:
            group_of_row = ids
            data = pl.DataFrame([s.gather(keys.get_column(_ROW)) for s in inputs.values()]) if inputs \
                else pl.DataFrame(height=len(rows))
            row_neg_t, row_seq = neg_t[rows], seq[rows]
        for state, plan in zip(self.states, plans):
            state.add(plan, group_of_row, self.count, data, row_neg_t, row_seq)

    def _global_ids(self, keys, local):
        """Each exploded row's global group number (new groups numbered on)."""
        first = np.full(local.count, len(local.ids), dtype=np.int64)
        np.minimum.at(first, local.ids, np.arange(len(local.ids)))
        chunk_keys = keys.select(self.names)[first]
        if self.keys is None:
            self.keys, self.count = chunk_keys, local.count
            return local.ids.astype(np.int64)
        if chunk_keys.schema != self.keys.schema:
            raise NotColumnar("by-fields of different kinds in different chunks")
        known = self.keys.with_row_index("\x00g").join(chunk_keys.with_row_index("\x00l"), on=self.names,
                                                       how="inner")
        mapping = np.full(local.count, -1, dtype=np.int64)
        mapping[known.get_column("\x00l").to_numpy()] = known.get_column("\x00g").to_numpy()
        new = np.flatnonzero(mapping < 0)
        if len(new):
            mapping[new] = self.count + np.arange(len(new))
            self.keys = pl.concat([self.keys, chunk_keys[new]], how="vertical")
            if self.keys.n_chunks() > 16:
                self.keys = self.keys.rechunk()
            self.count += len(new)
        return mapping[local.ids]

    def _first_appearance(self, ids, neg_t, seq, place):
        order = np.lexsort((place, seq, neg_t, ids))
        lead = order[np.flatnonzero(np.diff(ids[order], prepend=-1))]
        groups = ids[lead]
        t0, s0, p0 = (_grow(self.first[0], self.count, np.inf), _grow(self.first[1], self.count, 2 ** 62),
                      _grow(self.first[2], self.count, 2 ** 30))
        nt, ns, npl = neg_t[lead], seq[lead], place[lead]
        ot, os_, op = t0[groups], s0[groups], p0[groups]
        better = (nt < ot) | (nt == ot) & ((ns < os_) | (ns == os_) & (npl < op))
        t0[groups[better]], s0[groups[better]], p0[groups[better]] = nt[better], ns[better], npl[better]
        self.first = (t0, s0, p0)

    def result(self):
        """``col_stats``' output frame over every row added (None: no row was added)."""
        if not self.selected:
            return None
        whole = {name: kinds.whole() for name, kinds in self.kinds.items()}
        for field in self.by:
            if whole.get(field) == pl.Float64 and field in self.by_numbers \
                    and _may_print_alike(self.by_numbers[field].alias(field)):
                raise NotColumnar("two numbers of by-field %r print alike" % field)
        if self.keys is None or self.count == 0:
            return pl.DataFrame()
        t0, s0, p0 = (a[:self.count] for a in self.first)
        appearance = np.lexsort((p0, s0, t0))  # the groups in order of first appearance
        keys = self.keys[appearance]
        groups = _Groups(keys.with_columns(pl.lit(0).alias(_ROW)), self.names, ordered=True)
        rows = groups.first
        gids = appearance[rows]
        shape = {}
        for agg in self.aggs:
            if agg.arg:
                shape[agg.arg] = pl.Series(agg.arg, [], dtype=whole.get(agg.arg, pl.String))
        inputs = {}
        plans = [_Plan(i, agg, pl.DataFrame(list(shape.values())), inputs) for i, agg in enumerate(self.aggs)]
        columns = [c for state, plan in zip(self.states, plans) for c in state.result(plan, gids, self.abs_totals)]
        result = pl.DataFrame(columns)
        out = {}
        for field, name in zip(self.by, self.names):
            out[field] = keys.get_column(name).gather(rows).alias(field)
        for plan in plans:
            assign_where_not_null(out, plan.name, plan.finish(result), result.height)
        return pl.DataFrame(list(out.values()))


__all__ = ["CARRIED", "PartialStats", "carried"]
