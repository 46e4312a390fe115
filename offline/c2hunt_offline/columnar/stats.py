"""stats and eventstats on columns: groups numbered once, then numpy kernels (and one polars
group_by on the group number) with the row commands' exact semantics
(:mod:`c2hunt_offline.commands.stats`).

What the row command does, and how it is done here:

- A row joins one group per combination of its by-field values; a null or empty by-value
  drops the row, a multivalue by-field puts the row in one group per distinct non-empty
  value (first field outermost). Here: the by-columns are exploded one after the other.
- Groups are keyed by the string form of their values. A String or List column is its own
  key; a Float64 column keys by its numbers, which is the same grouping as long as no two
  numbers print alike (checked: ``%.15g`` can print two floats the same). Each by-column's
  distinct values get codes, the codes of a row combine into one integer, and np.unique
  numbers the groups (:class:`_Groups`).
- stats emits the groups ordered by ``values.sort_key`` of each by-value (numbers
  numerically, then strings), ties in order of first appearance: the codes follow the sort
  keys, so the group numbers are the output order; only by-values sharing a sort key ("1",
  "01") need renumbering by first appearance.
- Aggregations see each member row's values, multivalue expanded, nulls and empty strings
  left out; numbers are ``values.to_number`` of each value, worked out once per distinct
  value. sum/avg add each group's numbers left to right as Python's sum does (np.bincount
  with weights); count, dc, values, min, max, first and last are numpy kernels too (first
  and last: the lowest/highest row of each group's non-null cells, np.minimum/maximum.at,
  not a group_by: a million groups made that one the stats' cost); list and median a
  polars group_by on the group number.
- eventstats gives every row its first group's values and keeps a field the aggregation
  leaves null; past limits.conf's maxresultrows and max_mem_usage_mb it stops, with the
  row command's message.

Supported: count, count(x), dc, sum, avg/mean, min, max, median, values, list, first, last.
Anything else (eval(...) arguments, other functions, Object or NaN inputs, integers a float
cannot hold, results that would mix numbers and strings in one field) raises NotColumnar
before any side effect, so the row command runs instead.
"""
import numpy as np
import polars as pl

from .. import limits
from ..commands.stats import parse_aggregations
from ..values import to_number
from .expressions import number_texts
from .table import NotColumnar

_EXACT = 2 ** 53  # integers beyond this are not exact in a Float64 column
_NUMERIC_FUNCS = {"sum", "avg", "mean", "min", "max", "median"}
_SUPPORTED = {"count", "dc", "values", "list", "first", "last"} | _NUMERIC_FUNCS
_ROW = "__c2row"


def guarded(command):
    """A columnar command whose polars errors (a column kind or shape not foreseen) become
    NotColumnar: the row command then runs, so an unforeseen input costs speed, never a
    result. The commands make their side effects (messages, files) last."""
    def run(ctx, args, frame):
        try:
            return command(ctx, args, frame)
        except pl.exceptions.PolarsError as exc:
            raise NotColumnar("%s: %s: %s" % (command.__name__, type(exc).__name__, str(exc)[:200]))
    run.__name__ = run.__qualname__ = command.__name__
    run.__doc__ = command.__doc__
    return run


# ------------------------------------------------------------------ per-distinct helpers
def _checked_number(value):
    number = to_number(value)
    if type(number) is int and abs(number) >= _EXACT:
        raise NotColumnar("an integer past 2**53 is not exact in a Float64 column")
    return number


# A plain ASCII number: polars parses it to the same float as Python (both round correctly);
# anything else (spaces around it, other digits) goes through values.to_number itself.
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)$"


# ASCII letters but e/E, and punctuation: never in a number values._NUM matches (\d, \s, sign, dot, exponent)
_NEVER_A_NUMBER = r"[A-DF-Za-df-z:/_@,;=#%&()<>?!|~*$]|\..*\."


def number_column(series):
    """``values.to_number`` of each cell of a String or Float64 column (null when not a number)."""
    scalar_column(series)
    if series.dtype == pl.Float64:
        return series
    plain = series.str.contains(_PLAIN_NUMBER)
    numbers = pl.select(pl.when(plain).then(series.cast(pl.Float64, strict=False))).to_series()
    if (numbers.abs() >= _EXACT).any():
        raise NotColumnar("a number past 2**53 is not exact in a Float64 column")
    # the others go through to_number, but for strings no number can be: two dots (an
    # address), or a character neither a digit, a space, a sign, a dot nor an exponent
    unplain = series.filter(plain.not_())  # only these are read again (none in a column of numbers)
    distinct = unplain.filter(unplain.str.contains(_NEVER_A_NUMBER).not_()).unique()  # few: "", "-", padded numbers
    if distinct.len():
        mapped = pl.Series([_checked_number(v) for v in distinct.to_list()], dtype=pl.Float64, strict=False)
        others = series.replace_strict(distinct, mapped, default=None, return_dtype=pl.Float64)
        numbers = pl.select(pl.when(plain).then(numbers).otherwise(others)).to_series()
    return numbers.alias(series.name)


def scalar_column(series):
    """The column itself when it holds one kind of scalar the commands compute on exactly."""
    if series.dtype == pl.Float64:
        if series.is_nan().any():
            raise NotColumnar("field %r holds NaN" % series.name)
        if (series.abs() >= _EXACT).any():
            raise NotColumnar("field %r holds numbers past 2**53" % series.name)
        return series
    if series.dtype == pl.String or isinstance(series.dtype, pl.List) and series.dtype.inner == pl.String:
        return series
    if series.dtype == pl.Null:
        return series.cast(pl.String)
    raise NotColumnar("field %r has dtype %s" % (series.name, series.dtype))


def sort_key_columns(values):
    """``values.sort_key`` of each cell of a String or Float64 column as columns compared in
    order (class, number, string): numbers first numerically, then strings, then nulls."""
    numbers = number_column(values)
    is_number = numbers.is_not_null()
    klass = pl.select(pl.when(is_number).then(0).when(values.is_not_null()).then(1).otherwise(2)
                      .cast(pl.UInt8)).to_series()
    if values.dtype != pl.String:
        return [klass, numbers.fill_null(0)]
    strings = pl.select(pl.when(klass == 1).then(values).otherwise(pl.lit(""))).to_series()
    return [klass, numbers.fill_null(0), strings]


def text_column(series):
    """The string form (``values.to_str``) of each cell of a String or Float64 column."""
    if series.dtype != pl.Float64:
        return series
    return number_texts(series)


def _near_values(series):
    """The distinct numbers of a Float64 column that might print alike with ``%.15g``, sorted:
    whole numbers below 2**53 never do; two others can only when they lie within 1e-14 of
    their magnitude of each other (15 significant digits), so only the values that come that
    close to a neighbour in sorted order need printing (epoch times with microseconds: a few
    values in a thousand, not every one)."""
    distinct = series.drop_nulls().unique().sort()
    if distinct.len() < 2:
        return distinct.clear()
    gaps = distinct.diff().slice(1)
    magnitude = pl.select(pl.max_horizontal(distinct.slice(1).abs(), distinct.slice(0, distinct.len() - 1).abs())) \
        .to_series()
    close = (gaps > magnitude * 1.000001e-14).not_().to_numpy()
    near = np.zeros(distinct.len(), dtype=bool)  # a value within that of the one before or after it
    near[1:] |= close
    near[:-1] |= close
    return distinct.filter(pl.Series(near))


def _may_print_alike(series):
    """Whether two distinct numbers of a Float64 column print alike with ``%.15g``."""
    values = _near_values(series)
    return values.len() > 1 and text_column(values).n_unique() != values.n_unique()


def _print_classes(series):
    """A Float64 column in which the numbers of ``series`` that print alike hold one value
    (the smallest of them) and every other number its own: the groups of the printed texts,
    with only the near values (:func:`_near_values`) printed."""
    near = _near_values(series)
    if near.len() < 2:
        return series
    # by text, not by runs: a whole number between two fractions prints apart from both
    smallest = pl.DataFrame([near.alias("v"), text_column(near).alias("t")]) \
        .select(pl.col("v").min().over("t")).to_series()
    moved = smallest != near
    if not moved.any():
        return series
    return series.replace(near.filter(moved), smallest.filter(moved))


def non_empty_items(series):
    """A List(String) column with its null and empty-string items left out, in order; a row
    left with none (or null) is null. Built by exploding and regrouping the items rather than
    with ``list.eval``: over a column of mostly null rows (the beacon channels that are not
    candidates) ``list.eval`` took about 2.6 GB for a million rows of a few thousand items
    (polars 2.1), the exploded items a few MB."""
    items = series.to_frame("__c2e").with_row_index("__c2r").explode("__c2e") \
        .filter(pl.col("__c2e") != "").group_by("__c2r", maintain_order=True).agg("__c2e")
    owners = items.get_column("__c2r").cast(pl.Int64).to_numpy()
    return _gather_per_group(items.get_column("__c2e"), owners, series.len()).alias(series.name)


def as_list(series):
    """A String column as a List(String) one (a one-element list is the single value)."""
    column = pl.col(series.name)
    return series.to_frame().select(pl.when(column.is_not_null()).then(pl.concat_list(column))).to_series()


def column_or_null(frame, name):
    if name in frame.columns:
        return scalar_column(frame.get_column(name))
    return pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(name)  # not a list of Nones: slow


# ------------------------------------------------------------------ groups
def _by_frame(frame, by, print_alike=True):
    """The rows exploded into their groups: one row per (row, group), columns ``_ROW`` (the
    row's position) and one key column per by-field, in the row command's group order within
    each row. A row with no group is gone. Numbers of a by-field that print alike (epoch
    times with microseconds: ``%.15g`` keeps five decimals) are one group, as the row command
    groups by the printed text; with ``print_alike=False`` such a by-field is refused."""
    columns = [pl.Series(_ROW, range(frame.height), dtype=pl.UInt32)]
    alike = []
    for position, field in enumerate(by):
        if field not in frame.columns:
            return None
        series = scalar_column(frame.get_column(field))
        if series.dtype == pl.Float64 and _may_print_alike(series):
            if not print_alike:
                raise NotColumnar("two numbers of by-field %r print alike" % field)
            alike.append(position)
        if isinstance(series.dtype, pl.List):
            series = non_empty_items(series).list.unique(maintain_order=True)
        columns.append(series.alias("__c2by%d" % position))
    keys = pl.DataFrame(columns)
    for position, series in enumerate(columns[1:]):
        name = "__c2by%d" % position
        if isinstance(series.dtype, pl.List):
            keys = keys.explode(name)
        keys = keys.filter(pl.col(name).is_not_null() & (pl.col(name) != "")) \
            if series.dtype != pl.Float64 else keys.filter(pl.col(name).is_not_null())
    return _first_of_alike(keys, len(by), alike) if alike else keys


def _first_of_alike(keys, n_by, alike):
    """Each number of the by-fields ``alike`` (positions) replaced by the first one seen, in
    row order, with the same printed text and the same other keys: the row command's group
    (keyed by the texts) and the value it shows (the first original it met)."""
    names = _key_names(range(n_by))
    classes = {names[p]: "__c2class%d" % p for p in alike}
    keys = keys.with_columns([_print_classes(keys.get_column(name)).alias(c) for name, c in classes.items()])
    partition = [classes.get(name, name) for name in names]
    return keys.with_columns([pl.col(name).first().over(partition) for name in classes]).drop(list(classes.values()))


def _key_names(by):
    return ["__c2by%d" % i for i in range(len(by))]


_ENUM_CATEGORIES = 1 << 16  # past this many categories, casting to an Enum costs more than a join


def _distinct_codes(series, ordered):
    """(codes, distinct, ranks) of a String or Float64 column without nulls: ``codes``
    numbers each cell by its place (numpy int64) in ``distinct``, the column's distinct
    values sorted (numbers numerically, strings by code point). With ``ordered`` they are
    sorted in the order of ``values.sort_key`` instead (distinct values with equal sort keys,
    as "1" and "01", by their text), and ``ranks`` (per code) is the dense rank of the sort
    key, or None when no two distinct values share one (never without ``ordered``)."""
    distinct = series.unique()
    if not ordered and series.dtype == pl.String and distinct.len() > _ENUM_CATEGORIES:
        codes, distinct = _codes_by_sorting(series)
        return codes, distinct, None
    distinct = distinct.sort()
    ranks = None
    if ordered and series.dtype == pl.String:
        keys = pl.DataFrame([k.alias("__c2k%d" % i) for i, k in enumerate(sort_key_columns(distinct))])
        order = keys.with_columns(distinct.alias("__c2v")).with_row_index("__c2i") \
            .sort(keys.columns + ["__c2v"]).get_column("__c2i")
        distinct, keys = distinct.gather(order), keys[order]
        tied = keys.is_duplicated()
        if tied.any():
            # sorted: a run of equal keys is one rank
            ranks = keys.select(pl.struct(keys.columns).rle_id()).to_series().to_numpy().astype(np.int64)
    if series.dtype == pl.Float64:  # numbers: their dense rank is their place in ``distinct``
        codes = series.rank("dense").cast(pl.Int64) - 1
    elif distinct.len() > _ENUM_CATEGORIES:  # many: each cell's place, by a hash join
        codes = series.to_frame("__c2v").join(distinct.to_frame("__c2v").with_row_index("__c2i"), on="__c2v",
                                              how="left", maintain_order="left").get_column("__c2i").cast(pl.Int64)
    elif distinct.len():  # an Enum of the distinct values in their order: its physical codes
        codes = series.cast(pl.Enum(distinct)).to_physical().cast(pl.Int64)
    else:
        codes = pl.Series([], dtype=pl.Int64)
    return codes.to_numpy(), distinct, ranks


def _codes_by_sorting(series):
    """(codes, distinct) of a String column without nulls, by one sort of its cells: where most
    values are distinct (beats, URLs) this is 2-3x faster than sorting the distinct values and
    finding every cell among them (755,000 of them: 0.19 s against 0.5 s)."""
    order = series.arg_sort()
    ordered = series.gather(order)
    first = (ordered != ordered.shift(1)).fill_null(True).to_numpy()  # the first of each run
    codes = np.empty(series.len(), dtype=np.int64)
    codes[order.to_numpy()] = np.cumsum(first) - 1
    return codes, ordered.filter(pl.Series(first))


def _unordered_codes(series):
    """(codes, how many distinct values) of a String or Float64 column without nulls, the
    codes in no particular order: by each value's hash when no two distinct values share
    one (checked: as many distinct hashes as values), which spares the lookup of every cell
    in a table of the distinct values."""
    if series.dtype == pl.String:
        hashes, codes = np.unique(series.hash().to_numpy(), return_inverse=True)
        if len(hashes) == series.n_unique():
            return codes.reshape(-1).astype(np.int64), len(hashes)
    codes, distinct, _ = _distinct_codes(series, ordered=False)
    return codes, distinct.len()


class _Groups(object):
    """The groups of the exploded rows of ``keys`` (see :func:`_by_frame`).

    ``ids``: each exploded row's group, numbered 0..count-1 (numpy int64); with ``ordered``,
    numbered in stats' output order: by ``values.sort_key`` of each by-value, first field
    first, ties (distinct values with one sort key) in order of first appearance, and
    ``first``: the exploded row where each group first appears."""

    def __init__(self, keys, names, ordered):
        combined, ranks = None, []
        for name in names:
            if ordered:
                codes, distinct, tie_ranks = _distinct_codes(keys.get_column(name), ordered)
                distinct = distinct.len()
                ranks.append(tie_ranks)
            else:
                codes, distinct = _unordered_codes(keys.get_column(name))
            if combined is None:
                combined, self.count = codes, distinct
                continue
            if combined.max(initial=0) >= (2 ** 62) // max(distinct, 1):  # keep the product in range
                combined = np.unique(combined, return_inverse=True)[1].reshape(-1)
            combined = combined * distinct + codes
        if not ordered and len(names) == 1:  # the codes are the group numbers
            self.ids, self.first = combined, None
            return
        # numbered in the order of the combined codes: lexicographic, first by-field first
        distinct, ids = np.unique(combined, return_inverse=True)
        ids = ids.reshape(-1).astype(np.int64)
        first = np.full(len(distinct), len(ids), dtype=np.int64)
        np.minimum.at(first, ids, np.arange(len(ids)))  # (return_index would sort stably: 3x slower)
        if any(r is not None for r in ranks):
            ids, first = self._ties_by_first_appearance(keys, names, ordered, ids, first)
        self.ids, self.first, self.count = ids, first, len(first)

    @staticmethod
    def _ties_by_first_appearance(keys, names, ordered, ids, first):
        """Renumbered so that groups whose by-values share their sort keys come in order of
        first appearance (the codes broke those ties by text)."""
        columns = [first]
        for name in reversed(names):
            codes, _, tie_ranks = _distinct_codes(keys.get_column(name)[first], ordered)
            columns.append(codes if tie_ranks is None else tie_ranks[codes])
        order = np.lexsort(columns)
        renumber = np.empty(len(order), dtype=np.int64)
        renumber[order] = np.arange(len(order))
        return renumber[ids], first[order]

    def sizes(self):
        return np.bincount(self.ids, minlength=self.count)


def _frame(columns, height):
    columns = list(columns)
    return pl.DataFrame(columns) if columns else pl.DataFrame(height=height)


def _grouped_inputs(frame_height, keys, groups, inputs):
    """(group of each input row (-1: none), the input columns those rows are): the inputs
    themselves when each row is in at most one group (no multivalue by-field spread one),
    else gathered once per (row, group)."""
    rows = keys.get_column(_ROW).to_numpy()
    if len(rows) < 2 or bool((np.diff(rows.astype(np.int64)) > 0).all()):
        group_of_row = np.full(frame_height, -1, dtype=np.int64)
        group_of_row[rows] = groups.ids
        return group_of_row, _frame(inputs.values(), frame_height)
    gathered = _frame([s.gather(keys.get_column(_ROW)) for s in inputs.values()], keys.height)
    return groups.ids, gathered


# ------------------------------------------------------------------ aggregations
class _Plan(object):
    """One aggregation over grouped rows: numpy kernels for count, dc, sum, avg, values, min,
    max, first and last, one polars group_by for the others (list, median)."""

    def __init__(self, index, agg, frame, inputs):
        self.agg, self.name = agg, agg.name
        self.out = "__c2agg%d" % index  # unique: two aggregations may write one field
        self.func = {"mean": "avg"}.get(agg.func, agg.func)
        if agg.expr is not None:
            raise NotColumnar("stats with eval(...) inside")
        if self.func not in _SUPPORTED:
            raise NotColumnar("stats function %s() runs on rows" % agg.func)
        self.kind = None
        if not (self.func == "count" and not agg.arg):
            raw = column_or_null(frame, agg.arg)
            self.kind = raw.dtype
            self.is_list = is_list = isinstance(raw.dtype, pl.List)
            self.raw = "__c2raw%d" % index
            self.value = "__c2val%d" % index
            inputs[self.raw] = raw.alias(self.raw)
            if is_list:
                values = non_empty_items(raw)
            elif raw.dtype == pl.String:
                values = pl.select(pl.when(raw != "").then(raw)).to_series()
            else:
                values = raw
            inputs[self.value] = values.alias(self.value)
            self.elements = pl.col(self.value).explode().drop_nulls() if is_list \
                else pl.col(self.value).drop_nulls()
            if self.func in _NUMERIC_FUNCS:
                if is_list:
                    raise NotColumnar("%s() of a multivalue field runs on rows" % self.func)
                self.number = "__c2num%d" % index
                numbers = number_column(raw)
                if self.func in ("sum", "avg") and numbers.abs().sum() >= _EXACT:
                    raise NotColumnar("a sum past 2**53 is not exact in a Float64 column")
                inputs[self.number] = numbers.alias(self.number)
            if self.func in ("dc",) and raw.dtype == pl.Float64:
                inputs[self.value] = text_column(raw).alias(self.value)

    @property
    def by_kernel(self):
        return self.func in ("count", "dc", "sum", "avg", "values", "min", "max", "first", "last")

    def kernel(self, ids, count, data):
        """The aggregation of each group 0..count-1 (``ids``: the group of each row of
        ``data``, -1 for none) as columns named ``self.out``."""
        f, name = self.func, self.out
        if f == "count" and self.kind is None:
            return [pl.Series(name, np.bincount(ids[ids >= 0], minlength=count), dtype=pl.Float64)]
        if f in ("sum", "avg"):
            numbers = data.get_column(self.number)
            present = (ids >= 0) & numbers.is_not_null().to_numpy()
            where, numbers = ids[present], numbers.to_numpy()[present]
            # bincount adds each group's numbers strictly left to right, as Python's sum does
            # (a pairwise sum can round otherwise); the mean divides that sum as _avg does
            total, found = np.bincount(where, numbers, minlength=count), np.bincount(where, minlength=count)
            if f == "avg":
                with np.errstate(divide="ignore", invalid="ignore"):
                    total = total / found
            return [pl.Series(name, total, dtype=pl.Float64).set(pl.Series(found == 0), None)]
        if f in ("min", "max"):
            return self._extreme(ids, count, data)
        if f in ("first", "last"):
            return [self._end(ids, count, data)]
        where, elements = self._elements(ids, data)
        sizes = np.bincount(where, minlength=count)
        if f == "count":
            return [pl.Series(name, sizes, dtype=pl.Float64)]
        # a group of one value is that value; only groups of several need distinct sorted values
        single = sizes[where] == 1
        several = pl.Series(~single)
        if f == "dc":
            codes, width = _unordered_codes(elements.filter(several))
            pairs = np.unique(where[~single] * max(width, 1) + codes)  # each group's distinct values
            return [pl.Series(name, (sizes == 1) + np.bincount(pairs // max(width, 1), minlength=count),
                              dtype=pl.Float64)]
        codes, distinct, _ = _distinct_codes(elements.filter(several), ordered=False)  # in value order
        width = max(distinct.len(), 1)
        pairs = np.unique(where[~single] * width + codes)  # each group's distinct values, sorted
        owner = pairs // width
        lists = as_list(_gather_per_group(elements, where[single], count, np.flatnonzero(single)).alias(name))
        if len(pairs):
            values = distinct.gather(pl.Series(pairs % width)).alias(name)
            grouped = pl.DataFrame({"__c2g": owner, name: values}).group_by("__c2g", maintain_order=True).agg(name)
            grouped = _gather_per_group(grouped.get_column(name), grouped.get_column("__c2g").to_numpy(), count)
            lists = pl.select(pl.when(grouped.is_not_null()).then(grouped).otherwise(lists)).to_series()
        return [lists.alias(name)]

    def _extreme(self, ids, count, data):
        """min/max: of each group's numbers; of a string field's other strings (by text)
        where a group has no number, as _pick_minmax. (Numbers here are finite: no NaN.)"""
        name, pick = self.out, np.minimum if self.func == "min" else np.maximum
        numbers = data.get_column(self.number)
        present = (ids >= 0) & numbers.is_not_null().to_numpy()
        where = ids[present]
        extremes = np.full(count, np.inf if self.func == "min" else -np.inf)
        pick.at(extremes, where, numbers.to_numpy()[present])
        found = np.bincount(where, minlength=count) > 0
        out = [pl.Series(name, extremes, dtype=pl.Float64).set(pl.Series(~found), None)]
        if self.kind == pl.String:
            value = data.get_column(self.value)
            other = (ids >= 0) & (value.is_not_null() & numbers.is_null()).to_numpy()
            other &= ~found[np.where(other, ids, 0)]  # only groups without numbers pick strings
            strings = pl.Series(name + "\x00s", [None] * count, dtype=pl.String)
            if other.any():
                codes, distinct, _ = _distinct_codes(value.filter(pl.Series(other)), ordered=False)
                chosen = np.full(count, len(distinct) if self.func == "min" else -1, dtype=np.int64)
                pick.at(chosen, ids[other], codes)
                chosen = pl.Series(chosen)
                strings = distinct.gather(chosen.set((chosen < 0) | (chosen >= len(distinct)), None)) \
                    .alias(strings.name)
            out.append(strings)
        return out

    def _end(self, ids, count, data):
        """first/last: each group's first (last) non-null cell in row order, as the polars
        ``drop_nulls().first()`` over a group_by gives (without a group_by over many groups)."""
        raw = data.get_column(self.raw)
        present = ids >= 0
        if raw.null_count():
            present &= raw.is_not_null().to_numpy()
        rows = np.flatnonzero(present)
        if not len(rows):  # a field no member row has (most of a union's fields)
            return pl.repeat(None, count, dtype=raw.dtype, eager=True).alias(self.out)
        if self.func == "first":
            picked = np.full(count, len(raw), dtype=np.int64)
            np.minimum.at(picked, ids[rows], rows)
        else:
            picked = np.full(count, -1, dtype=np.int64)
            np.maximum.at(picked, ids[rows], rows)
        missing = (picked < 0) | (picked >= len(raw))  # a group with no non-null cell
        return raw.gather(pl.Series(picked).set(pl.Series(missing), None)).alias(self.out)

    def _elements(self, ids, data):
        """(group, value) of every value the aggregation sees (multivalue expanded; nulls,
        empty strings and rows in no group left out), in row order."""
        frame = pl.DataFrame({"__c2g": ids, "__c2e": data.get_column(self.value)})
        if self.is_list:
            frame = frame.explode("__c2e")
        frame = frame.filter((pl.col("__c2g") >= 0) & pl.col("__c2e").is_not_null())
        return frame.get_column("__c2g").to_numpy(), frame.get_column("__c2e")

    def expressions(self):
        """Named polars aggregations (list, median)."""
        f, name = self.func, self.out
        if f == "list":
            return [self.elements.head(limits.LIST_MAXSIZE).implode().alias(name)]
        numbers = pl.col(self.number)
        found = numbers.count() > 0
        # the median of an even count is (a + b) / 2 as statistics.median
        ordered = numbers.drop_nulls().sort()
        lower = ordered.get((numbers.count() - 1) // 2, null_on_oob=True)
        middle = (lower + ordered.get(numbers.count() // 2, null_on_oob=True)) / 2
        return [pl.when(found).then(middle).alias(name)]

    def finish(self, result):
        """The aggregation's column in the row command's representation."""
        f, name = self.func, self.out
        if f in ("values", "list"):
            column = result.get_column(name)
            column = pl.select(pl.when(column.list.len() > 0).then(column)).to_series().alias(name)
            if self.kind == pl.Float64:
                if (column.list.len() > 1).any():
                    raise NotColumnar("%s() of numbers would hold a multivalue of numbers" % f)
                return column.list.first().alias(self.name)
            return column.alias(self.name)
        if f in ("min", "max") and self.kind == pl.String:
            numbers, strings = result.get_column(name), result.get_column(name + "\x00s")
            if strings.is_not_null().any():
                if numbers.is_not_null().any():
                    raise NotColumnar("%s() gives numbers for some groups, strings for others" % f)
                return strings.alias(self.name)
            return numbers.alias(self.name)
        return result.get_column(name).alias(self.name)


def _gather_per_group(column, owners, count, cells=None):
    """``column``'s cells ``cells`` (default: all, in order), each the value of the group in
    ``owners``, as one cell per group 0..count-1, null for a group not in ``owners``."""
    cells = np.arange(len(owners)) if cells is None else cells
    if len(owners) == count == column.len() and bool((owners == cells).all()):
        return column
    return gather_or_null(column, owners, cells, count)


def gather_or_null(column, at, cells, count):
    """A column of ``count`` cells: ``column``'s cell ``cells[i]`` at place ``at[i]``, null
    elsewhere. The null places read an appended null cell rather than a null index: polars
    gathers a list column's first cell for each null index before masking it (a 145-item
    list copied to 650,000 null rows took 1.5 GB)."""
    index = np.full(count, column.len(), dtype=np.int64)
    index[at] = cells
    # rechunked: the appended null is a second chunk, and a gather across chunks is 4-6x
    # slower than the copy (polars 2.1, 755,000 strings or lists: 130 ms against 20-30 ms)
    return column.extend_constant(None, 1).rechunk().gather(pl.Series(index))


def _per_group(result, group, count):
    """``result`` (one row per group that has one, column ``group`` its number) as one row
    per group 0..count-1 in order, null where a group has none."""
    if result.height == count:  # every group has its row
        return result.sort(group)
    every = pl.DataFrame({group: np.arange(count, dtype=np.int64)})
    return every.join(result, on=group, how="left", maintain_order="left")


def _plans(frame, aggs):
    inputs = {}
    plans = [_Plan(i, agg, frame, inputs) for i, agg in enumerate(aggs)]
    return plans, inputs


def _aggregate(plans, ids, count, data):
    """One row per group 0..count-1: every plan's columns (``ids``: the group of each row
    of ``data``, -1 for none)."""
    columns = [c for p in plans if p.by_kernel for c in p.kernel(ids, count, data)]
    expressions = [e for p in plans if not p.by_kernel for e in p.expressions()]
    if expressions:
        grouped = data.with_columns(pl.Series("__c2g", ids))
        if (ids < 0).any():
            grouped = grouped.filter(pl.col("__c2g") >= 0)
        computed = _per_group(grouped.group_by("__c2g").agg(expressions), "__c2g", count)
        columns.extend(computed.drop("__c2g").get_columns())
    return _frame(columns, count)
def assign_where_not_null(columns, name, new, height):
    """``row[name] = value`` where the value is not null (the row keeps its field otherwise)."""
    old = columns.get(name)
    if old is None or old.null_count() == height:
        columns[name] = new.alias(name)
        return
    if new.dtype != old.dtype:
        if isinstance(new.dtype, pl.List) and old.dtype == pl.String:
            old = as_list(old)
        elif isinstance(old.dtype, pl.List) and new.dtype == pl.String:
            new = as_list(new)
        elif (old.is_not_null() & new.is_null()).any():
            raise NotColumnar("field %r would mix numbers and strings" % name)
        else:
            columns[name] = new.alias(name)
            return
    columns[name] = pl.select(pl.when(new.is_not_null()).then(new).otherwise(old)).to_series().alias(name)


def _list_limit_message(command, plans, sizes):
    if any(p.func == "list" for p in plans) and sizes is not None and (sizes > limits.LIST_MAXSIZE).any():
        return ("%s: WARN list() kept the first %d values of a group "
                "(limits.conf [stats] list_maxsize)" % (command, limits.LIST_MAXSIZE))
    return None


# ------------------------------------------------------------------ commands
def col_stats(ctx, args, frame):
    aggs, by, _ = parse_aggregations(args, "stats")
    plans, inputs = _plans(frame, aggs)
    data = _frame(inputs.values(), frame.height)
    if not by:
        result = _aggregate(plans, np.zeros(frame.height, dtype=np.int64), 1, data)
        message = _list_limit_message("stats", plans, pl.Series([frame.height]))
        columns = {}
        for plan in plans:
            assign_where_not_null(columns, plan.name, plan.finish(result), 1)
        out = pl.DataFrame([c for c in columns.values() if c.null_count() == 0])
        if message:
            ctx.messages.append(message)
        return out if out.width else pl.DataFrame(height=1)
    keys = _by_frame(frame, by)
    if keys is None or keys.height == 0:
        return pl.DataFrame()
    names = _key_names(by)
    groups = _Groups(keys, names, ordered=True)  # numbered in the output order
    ids, data = _grouped_inputs(frame.height, keys, groups, inputs)
    result = _aggregate(plans, ids, groups.count, data)
    message = _list_limit_message("stats", plans, groups.sizes())
    columns = {}
    for field, name in zip(by, names):
        columns[field] = keys.get_column(name).gather(groups.first).alias(field)
    for plan in plans:
        assign_where_not_null(columns, plan.name, plan.finish(result), result.height)
    if message:
        ctx.messages.append(message)
    return pl.DataFrame(list(columns.values()))


def past_cutoff(head, tail):
    """The rows eventstats gave its fields (``head``) followed by those past its cut-off as they
    were (``tail``); NotColumnar where a field would mix kinds across the two."""
    for name in tail.columns:
        if name in head.columns and head.schema[name] != tail.schema[name]:
            if isinstance(head.schema[name], pl.List) and tail.schema[name] == pl.String:
                tail = tail.with_columns(as_list(tail.get_column(name)))
            elif tail.get_column(name).null_count() == tail.height:
                tail = tail.with_columns(pl.col(name).cast(head.schema[name]))
            else:
                raise NotColumnar("field %r would mix kinds past the eventstats cutoff" % name)
    return pl.concat([head, tail], how="diagonal")


def col_eventstats(ctx, args, frame):
    aggs, by, _ = parse_aggregations(args, "eventstats")
    messages = []
    cutoff = _eventstats_cutoff(frame)
    if cutoff is not None:
        messages.append(limits.eventstats_cutoff_message(cutoff, frame.height))
        out = past_cutoff(_eventstats(frame[:cutoff], aggs, by, messages), frame[cutoff:])
    else:
        out = _eventstats(frame, aggs, by, messages)
    ctx.messages.extend(messages)
    return out


def _eventstats(frame, aggs, by, messages):
    plans, inputs = _plans(frame, aggs)
    height = frame.height
    columns = {name: frame.get_column(name) for name in frame.columns}
    if not by:
        data = _frame(inputs.values(), height)
        result = _aggregate(plans, np.zeros(height, dtype=np.int64), 1, data)
        message = _list_limit_message("eventstats", plans, pl.Series([height]))
        for plan in plans:
            value = plan.finish(result)
            if value.null_count() == 0:
                assign_where_not_null(columns, plan.name, value.new_from_index(0, height), height)
    else:
        keys = _by_frame(frame, by)
        if keys is None or keys.height == 0:
            return frame
        names = _key_names(by)
        groups = _Groups(keys, names, ordered=False)
        ids, data = _grouped_inputs(height, keys, groups, inputs)
        result = _aggregate(plans, ids, groups.count, data)
        message = _list_limit_message("eventstats", plans, groups.sizes())
        # a row in several groups (multivalue by-field) takes its first group's values
        rows = keys.get_column(_ROW).to_numpy()
        starts = np.flatnonzero(np.diff(rows.astype(np.int64), prepend=-1))
        group_of_row = np.full(height, -1, dtype=np.int64)
        group_of_row[rows[starts]] = groups.ids[starts]
        in_group = np.flatnonzero(group_of_row >= 0)
        for plan in plans:
            value = gather_or_null(plan.finish(result), in_group, group_of_row[in_group], height)
            assign_where_not_null(columns, plan.name, value.alias(plan.name), height)
    if message:
        messages.append(message)
    return pl.DataFrame(list(columns.values())) if columns else frame


_NUMBER_TEXT_BOUND = 24  # format_number never prints more ("-1.23456789012345e-308")
_SIGNIFICANT = 15  # "%.15g"
_POWERS_OF_TEN = np.array([float(10 ** k) for k in range(19)])  # each exact in a double
_WHOLE_POWERS_OF_TEN = np.array([10 ** k for k in range(1, 17)], dtype=np.int64)  # a whole number's digits


def _trailing_zeros(integers):
    """How many trailing decimal zeros each int64 below 1e16 has (a binary search: 8, 4, 2, 1)."""
    zeros = np.zeros(integers.shape, dtype=np.int64)
    rest = integers
    for digits in (8, 4, 2, 1):
        ends_in_zeros = rest % 10 ** digits == 0
        zeros += digits * ends_in_zeros
        rest = np.where(ends_in_zeros, rest // 10 ** digits, rest)
    return zeros


def _fixed_point_lengths(values):
    """``len("%.15g" % x)`` of each finite non-zero ``x`` printed in fixed-point form, in
    numpy, and whether it is settled: ``x * 10**(14 - X)`` (X its decimal exponent, a power
    of ten held exactly for X in [-4, 14]) is within 1/16 of the exact product (its ulp is at
    most 1/8 below 1e15), so where that product lies clear of the decade's ends and of a
    rounding tie, rounding it gives the 15 significant digits %.15g prints. Cells not
    settled (ties, decade edges, exponent forms) are printed by Python instead."""
    magnitude = np.abs(values)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exponent = np.floor(np.log10(magnitude))
        fixed = np.isfinite(exponent) & (exponent >= -4) & (exponent <= _SIGNIFICANT - 1)
        exponent = np.where(fixed, exponent, 0).astype(np.int64)
        scaled = magnitude * _POWERS_OF_TEN[_SIGNIFICANT - 1 - exponent]
        half = np.abs(scaled - np.floor(scaled) - 0.5)
    settled = fixed & (scaled >= 1e14 + 1) & (scaled < 1e15 - 1) & (half > 0.07)
    digits = np.where(settled, np.rint(np.where(settled, scaled, 1e14)), 1e14).astype(np.int64)
    kept = _SIGNIFICANT - _trailing_zeros(digits)
    whole_digits = exponent + 1
    fraction = np.maximum(kept - whole_digits, 0)
    lengths = np.where(exponent >= 0, whole_digits + np.where(fraction > 0, fraction + 1, 0),
                       1 - exponent + kept)  # "0." then -X-1 zeros then the digits
    return lengths + (values < 0), settled


def number_text_lengths(series):
    """``len(format_number(x))`` of each cell of a Float64 column (null stays null), in numpy:
    whole numbers below 1e16 print as their integer (digits counted against exact powers of
    ten); other numbers print as ``"%.15g" % x``, measured where that is settled exactly
    (fixed-point forms, :func:`_fixed_point_lengths`) and by Python for the rest (exponent
    forms, NaN, infinities, rounding ties)."""
    values = series.to_numpy()  # a null reads as NaN here: put back at the end
    null = series.is_null().to_numpy()
    with np.errstate(invalid="ignore"):
        whole = (np.mod(values, 1) == 0) & (np.abs(values) < 1e16)
    lengths = np.zeros(len(values), dtype=np.int64)
    integers = values[whole].astype(np.int64)
    lengths[whole] = np.searchsorted(_WHOLE_POWERS_OF_TEN, np.abs(integers), side="right") + 1 + (integers < 0)
    others = np.flatnonzero(~whole & ~null)
    if len(others):
        fractional, settled = _fixed_point_lengths(values[others])
        if not settled.all():
            left = np.flatnonzero(~settled)
            fractional[left] = list(map(len, map("%.15g".__mod__, values[others[left]].tolist())))
        lengths[others] = fractional
    out = pl.Series(series.name, lengths, dtype=pl.Int64)
    return out.set(pl.Series(null), None) if null.any() else out


def _text_length_expression(name, dtype, exact):
    """The text length of each cell of column ``name`` as an expression (or an upper bound
    of it when not ``exact``); None for numbers (measured apart) and for a column of
    nothing but nulls."""
    column = pl.col(name)
    if dtype == pl.String:  # a string's bytes bound its characters (and count without reading it)
        return column.str.len_chars() if exact else column.str.len_bytes()
    if isinstance(dtype, pl.List):
        return column.list.eval(pl.element().str.len_chars() if exact else pl.element().str.len_bytes()).list.sum()
    if dtype == pl.Null or dtype == pl.Float64:
        return None
    raise NotColumnar("field %r has dtype %s" % (name, dtype))


def _eventstats_cutoff(frame):
    """``limits.eventstats_cutoff`` on columns: the same estimate (field names and values as
    text), summed in row order. The running sum only grows, so there is a cutoff only when
    the whole frame's estimate passes the budget: an upper bound of that total is taken
    first, per column, without reading a string or printing a number (strings counted in
    bytes, fractions at their longest printed form); only when the bound passes the budget
    are the rows measured exactly (characters, numbers as printed) and summed in order."""
    if frame.height <= limits.MAXRESULTROWS:
        return None
    if limits.MAX_MEM_USAGE_MB <= 0:
        return limits.MAXRESULTROWS
    budget = limits.MAX_MEM_USAGE_MB * 1024 * 1024
    if text_size_bound(frame) <= budget:
        return None
    texts = {name: dtype for name, dtype in frame.schema.items()
             if _text_length_expression(name, dtype, False) is not None}
    numbers = [name for name, dtype in frame.schema.items() if dtype == pl.Float64]
    lengths = {name: number_text_lengths(frame.get_column(name)) for name in numbers}
    used = _row_sizes(frame, texts, lengths).cum_sum()
    past = (used > budget) & (pl.int_range(frame.height, eager=True) >= limits.MAXRESULTROWS)
    if not past.any():
        return None
    return int(past.arg_true()[0])


def text_size_bound(frame):
    """An upper bound of the estimate's total over every row of ``frame`` (field names and
    values as text), taken per column without reading a string or printing a number: strings
    counted in bytes, fractions at their longest printed form (NotColumnar for a column of
    another kind)."""
    texts = {name: dtype for name, dtype in frame.schema.items()
             if _text_length_expression(name, dtype, False) is not None}
    numbers = [name for name, dtype in frame.schema.items() if dtype == pl.Float64]
    names = sum(len(name) * (frame.height - frame.get_column(name).null_count()) for name in list(texts) + numbers)
    return names + _text_bytes(frame, texts) + sum(_number_text_bound(frame.get_column(name)) for name in numbers)


def _whole(series):
    """Cells ``format_number`` prints as an integer (NaN and infinities are not; null stays null)."""
    return pl.select((series % 1 == 0) & (series.abs() < 1e16)).to_series()


def _number_text_bound(series):
    """An upper bound of the text length of a Float64 column's cells, summed: whole numbers
    below 1e16 at their printed length, every other number at the longest printed form."""
    whole = _whole(series)
    integers = series.filter(whole.fill_null(False)).cast(pl.Int64).to_numpy()
    # digits counted against exact powers of ten (as number_text_lengths), not printed
    printed = int(np.searchsorted(_WHOLE_POWERS_OF_TEN, np.abs(integers), side="right").sum()) \
        + len(integers) + int(np.count_nonzero(integers < 0))
    return printed + _NUMBER_TEXT_BOUND * int(whole.not_().sum())


def _text_bytes(frame, texts):
    """The byte length of the text columns' cells, summed (an upper bound of their characters)."""
    if not texts:
        return 0
    # a multivalue column's items in one flat column: their total needs no per-row sum
    sums = frame.select([(pl.col(name).explode().str.len_bytes() if isinstance(dtype, pl.List)
                          else _text_length_expression(name, dtype, False)).sum().cast(pl.Int64).alias(name)
                         for name, dtype in texts.items()])
    return sum(int(value or 0) for value in sums.row(0))


def _row_sizes(frame, texts, lengths):
    """``limits.estimated_bytes`` of each row: for each present cell, its field name's and
    its text's length (numbers as measured in ``lengths``)."""
    sizes = pl.Series("size", np.zeros(frame.height, dtype=np.int64))
    if texts:
        parts = [(_text_length_expression(name, dtype, True) + len(name)).fill_null(0)
                 for name, dtype in texts.items()]
        sizes = frame.select(pl.sum_horizontal(parts).cast(pl.Int64).alias("size")).to_series()
    for name, series in lengths.items():
        sizes = sizes + (series + len(name)).fill_null(0)
    return sizes


COLUMNAR_COMMANDS = {"stats": guarded(col_stats), "eventstats": guarded(col_eventstats)}
