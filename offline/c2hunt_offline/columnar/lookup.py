"""lookup, inputlookup and outputlookup on columns (:mod:`c2hunt_offline.commands.lookup`).

``lookup`` matches in bulk, with the semantics of the row command's
:class:`~c2hunt_offline.lookups.LookupTable` (its row scan is the reference):

- the rows are reduced to their distinct input tuples; each input field's values (multivalue
  expanded, empty ones dropped, numbers as ``to_str`` prints them) become (tuple, value) pairs;
- per lookup column, the pairs are joined with the column's cells: exact keys hashed
  (lower-cased with Python's own rules when the lookup is case-insensitive), wildcard
  patterns compiled once and tried once per distinct value, CIDR networks grouped by
  (IP version, prefix length): each address, parsed once to an integer (dotted quads in
  polars, anything else through ``ipaddress``), is masked per prefix length present and
  joined, so nested and overlapping networks of IPv4 and IPv6 all match;
- a lookup row matches a tuple when every input column matches one of its values: the
  per-column (tuple, row) pairs are intersected, sorted into file order and cut at
  max_matches (at least one, as the row scan stops only after a row);
- the output values are computed once per distinct set of matched rows (min_matches and
  default_match as the table pads them) and joined back onto the rows.

A lookup column read from two fields, or an input of a kind the matcher does not read, goes
per distinct input tuple through the table's own ``match``. OUTPUT replaces the field (no
match clears it), OUTPUTNEW fills only rows that lack it, each output in the order given.

inputlookup and outputlookup read and write small tables: they go through rows, but stay
registered so a pipeline does not leave the columns for them.
"""
import ipaddress
import weakref

import polars as pl

from ..commands.arguments import parse_bool, take_options, words
from ..commands.lookup import _packed, parse_lookup, cmd_inputlookup, cmd_outputlookup
from ..lookups import _address
from .stats import as_list, guarded, text_column
from .table import NotColumnar, _key_column, frame_from_rows, rows_from_frame, series_from_values


def _output_values(frame, table, inputs, outputs):
    """One column per output: the packed value of the matching lookup rows. Rows an exact-key
    column rules out (none of their values is among its keys) match no lookup row: they are
    set aside before the inputs are reduced to their distinct tuples and take the outputs of
    an empty match, computed once on a row of nulls appended to the rows that may match."""
    held = _may_match(frame, table, inputs)
    if held is None:
        return _distinct_output_values(frame, table, inputs, outputs)
    present = list(dict.fromkeys(f for _, f in inputs if f in frame.columns))
    candidates = frame.select(present).filter(held)
    nulls = pl.DataFrame([pl.Series(name, [None], dtype=dtype) for name, dtype in candidates.schema.items()])
    values = _distinct_output_values(pl.concat([candidates, nulls]), table, inputs, outputs)
    # each row's place among the candidates; the rows set aside take the null row's (the last)
    place = pl.select(pl.when(held).then(held.cast(pl.UInt32).cum_sum() - 1)
                      .otherwise(candidates.height).cast(pl.UInt32)).to_series()
    return [column.gather(place) for column in values]


def _may_match(frame, table, inputs):
    """Which rows may match a lookup row (a Boolean column), judged on the exact-key input
    columns alone, or None when none rules a row out or the check would not pay (one input
    field: its distinct values are as cheap to find as the check). A row is ruled out when such a column's
    field is missing, null, empty, or a string not among the column's keys (compared as
    :meth:`_ColumnIndex.keyed` does); a column of another kind rules nothing out."""
    input_columns = [c for c, _ in inputs]
    if len(set(input_columns)) < len(input_columns) or sum(f in frame.columns for _, f in inputs) < 2:
        return None
    held = None
    for column, field in inputs:
        index = _column_index(table, column)
        if index.cost != 0:
            continue
        if field not in frame.columns:
            return pl.Series([False] * frame.height)
        values = frame.get_column(field)
        if values.dtype == pl.Float64:
            values = text_column(values)
        elif values.dtype == pl.Null:
            return pl.Series([False] * frame.height)
        elif values.dtype != pl.String:
            continue
        distinct = values.unique()  # few: the keys are compared once per distinct value
        keyed = distinct.filter((distinct if index.case_sensitive else _python_lower(distinct)).is_in(index.keys.implode()))
        found = values.is_in(keyed.implode()).fill_null(False)
        held = found if held is None else held & found
    if held is None or held.all():
        return None
    return held


def _distinct_output_values(frame, table, inputs, outputs):
    """One column per output: the packed value of the matching lookup rows, computed once per
    distinct set of matched rows (few: the lookup's rows and their overlaps)."""
    input_columns = [c for c, _ in inputs]
    event_fields = [f for _, f in inputs]
    present = list(dict.fromkeys(f for f in event_fields if f in frame.columns))
    names = ["__c2out%d" % i for i in range(len(outputs))]
    if not present:
        values = [_packed(table.match(input_columns, [None] * len(inputs)), column) for column, _ in outputs]
        return [series_from_values(n, [v] * frame.height) for n, v in zip(names, values)]
    memo = _memo(table)
    try:
        sets = memo.row_sets(table, input_columns, event_fields, frame.select(present))
    except NotColumnar:
        return _per_tuple_output_values(frame.select(present), table, inputs, outputs, names)
    unique_sets = sets.unique()
    per_set = []
    for text in (memo.texts[i] for i in unique_sets.to_list()):
        found = table._defaults([table.rows[int(i)] for i in text.split(",")] if text else [])
        per_set.append([_packed(found, column) for column, _ in outputs])
    # each row's place among the sets met here, through a table indexed by set number
    place = pl.zeros(len(memo.texts), dtype=pl.UInt32, eager=True) \
        .scatter(unique_sets, pl.arange(0, unique_sets.len(), dtype=pl.UInt32, eager=True)).gather(sets)
    return [series_from_values(n, [values[i] for values in per_set]).gather(place) for i, n in enumerate(names)]


def _per_tuple_output_values(inputs_frame, table, inputs, outputs, names):
    """:func:`_distinct_output_values` for inputs the bulk matcher does not read: per distinct
    input tuple, through the row command's own table."""
    present = inputs_frame.columns
    keys = inputs_frame.select([_key_column(inputs_frame.get_column(f)) for f in present])
    distinct, first = _distinct_tuples(keys)
    per_tuple = []
    for row in rows_from_frame(inputs_frame[first]):
        matches = table.match([c for c, _ in inputs], [row.get(f) for _, f in inputs])
        per_tuple.append([_packed(matches, column) for column, _ in outputs])
    result = distinct.with_columns(
        [series_from_values(n, [values[i] for values in per_tuple]) for i, n in enumerate(names)])
    joined = keys.join(result, on=present, how="left", nulls_equal=True, maintain_order="left")
    return [joined.get_column(n) for n in names]


def _distinct_tuples(keys):
    """(one row per distinct row of ``keys``, in order of first appearance; the index of the
    first row holding each)."""
    index = keys.with_row_index("__c2first").group_by(keys.columns, maintain_order=True) \
        .agg(pl.col("__c2first").first())
    return index.select(keys.columns), index.get_column("__c2first")


# ------------------------------------------------------------------ the lookup memo
# The streamed pass runs every search's lookups chunk after chunk, and many searches look up
# the same tables on the same values: the matched rows of each distinct input tuple are kept
# per table and clause, so a chunk matches only the tuples not met before.
_MEMO_ROWS = 100000  # input tuples kept per table and clause, and sets of matched rows per table
_MEMOS = weakref.WeakKeyDictionary()  # LookupTable -> _LookupMemo


def _memo(table):
    """The table's :class:`_LookupMemo`, started over once it holds too many sets of rows. A
    table object is read once per file version (an outputlookup makes the next ``get`` read a
    new one), so its memo never outlives its rows."""
    memo = _MEMOS.get(table)
    if memo is None or len(memo.texts) > _MEMO_ROWS:
        memo = _MEMOS[table] = _LookupMemo()
    return memo


class _LookupMemo(object):
    """One lookup table's answers: each distinct set of matched rows numbered once (``texts``:
    the row ids as "3,5", "" for none), and per clause (input columns, which present field each
    reads, the fields' kinds) a frame of the input tuples met (their key columns, ``__c2k0``...)
    and the number of the set each matches. Only text inputs (plain or multivalue) are kept:
    their key is the value matched, where a number's is not its ``to_str`` text."""

    def __init__(self):
        self.texts, self.numbers, self.clauses = [], {}, {}

    def row_sets(self, table, input_columns, event_fields, inputs_frame):
        """For each row of ``inputs_frame`` (the input fields present), the number of the set
        of lookup rows it matches (UInt32 ``__c2set``), each distinct tuple matched once and
        tuples of text met before not at all."""
        present = inputs_frame.columns
        names = ["__c2k%d" % i for i in range(len(present))]
        keys = inputs_frame.select([_key_column(inputs_frame.get_column(f)).alias(n)
                                    for f, n in zip(present, names)])
        signature = None
        if all(dtype in (pl.String, pl.List(pl.String)) for dtype in inputs_frame.schema.values()):
            signature = (tuple(input_columns), tuple(present.index(f) if f in present else None for f in event_fields),
                         tuple(str(dtype) for dtype in inputs_frame.schema.values()))
        met = self.clauses.get(signature)
        if met is None:
            sets = pl.repeat(None, keys.height, dtype=pl.UInt32, eager=True).alias("__c2set")
        else:
            sets = keys.join(met, on=names, how="left", nulls_equal=True, maintain_order="left").get_column("__c2set")
        unknown = sets.is_null()
        if not unknown.any():
            return sets
        rows = unknown.arg_true()
        new_keys, first = _distinct_tuples(keys[rows])
        matched = _matched_rows(table, input_columns, inputs_frame[rows[first]], event_fields)
        texts = matched.list.eval(pl.element().cast(pl.String)).list.join(",").fill_null("")
        distinct_texts = texts.unique()
        numbers = [self._number(text) for text in distinct_texts.to_list()]
        new = new_keys.with_columns(texts.replace_strict(distinct_texts, numbers, return_dtype=pl.UInt32).alias("__c2set"))
        if signature is not None:
            self._remember(signature, met, new)
        found = keys[rows].join(new, on=names, how="left", nulls_equal=True, maintain_order="left")
        return sets.scatter(rows, found.get_column("__c2set"))

    def _number(self, text):
        number = self.numbers.get(text)
        if number is None:
            number = self.numbers[text] = len(self.texts)
            self.texts.append(text)
        return number

    def _remember(self, signature, met, new):
        """Add the tuples ``new`` to a clause's, at most _MEMO_ROWS of them: past it the clause
        starts over (one whose tuples rarely repeat keeps only its latest)."""
        if met is not None and met.height + new.height <= _MEMO_ROWS:
            self.clauses[signature] = pl.concat([met, new], rechunk=True)
        elif new.height <= _MEMO_ROWS:
            self.clauses[signature] = new
        else:
            self.clauses.pop(signature, None)


# ------------------------------------------------------------------ vectorised matching
# A dotted quad exactly as ipaddress.ip_address reads one (no leading zeros, octets <= 255);
# anything else (IPv6, padded text, names) is parsed by ipaddress once per distinct value.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = r"^(?:%s\.){3}%s$" % (_OCTET, _OCTET)
_ASCII = r"^[\x00-\x7f]*$"
_LOW64 = (1 << 64) - 1
_D, _R = "__c2d", "__c2r"  # distinct input tuple id, lookup row id
_INDEXES = weakref.WeakKeyDictionary()  # LookupTable -> {column: _ColumnIndex}, built once per table


class _ColumnIndex(object):
    """One lookup column as frames the event values are joined with: exact keys (lower-cased
    when the lookup is case-insensitive), wildcard patterns (compiled once, tried once per
    distinct value), CIDR networks as (version, prefix length) -> frame of the network's
    integer (two UInt64 halves) and its row ids."""

    def __init__(self, table, column):
        kind = table.match_types.get(column, "EXACT")
        self.kind, self.case_sensitive = kind, table.case_sensitive
        cells = [row.get(column, "") for row in table.rows]
        self.networks, self.patterns, exact = {}, [], []
        for row_id, cell in enumerate(cells):
            if kind == "CIDR":
                try:
                    network = ipaddress.ip_network(cell.strip(), strict=False)
                except ValueError:
                    continue  # a bad CIDR cell matches nothing
                number = int(network.network_address)
                self.networks.setdefault((network.version, network.prefixlen), []) \
                    .append((number >> 64, number & _LOW64, row_id))
            elif kind == "WILDCARD" and "*" in cell:
                self.patterns.append((row_id, table._cell_matcher(column, cell), _literal_pieces(cell)))
            else:
                exact.append((cell if table.case_sensitive else cell.lower(), row_id))
        self.exact = pl.DataFrame({"__c2v": [k for k, _ in exact], _R: [r for _, r in exact]},
                                  schema={"__c2v": pl.String, _R: pl.UInt32})
        self.keys = self.exact.get_column("__c2v").unique()
        self.cost = 2 if kind == "CIDR" else 1 if self.patterns else 0
        self.networks = {key: pl.DataFrame({"__c2hi": [h for h, _, _ in rows], "__c2lo": [lo for _, lo, _ in rows],
                                            _R: [r for _, _, r in rows]},
                                           schema={"__c2hi": pl.UInt64, "__c2lo": pl.UInt64, _R: pl.UInt32})
                         for key, rows in self.networks.items()}

    def keyed(self, values):
        """The distinct ids (a one-column frame) with a value among this column's exact keys."""
        keys = values.get_column("__c2v")
        if not self.case_sensitive:
            keys = _python_lower(keys)
        return values.with_columns(keys).join(self.keys.to_frame(), on="__c2v", how="semi").select(_D).unique()

    def pairs(self, values):
        """(distinct id, row id) of every lookup row this column matches, from ``values``:
        a frame of (distinct id, one non-empty event value)."""
        if self.kind == "CIDR":
            return self._network_pairs(values)
        found = []
        keys = values.get_column("__c2v")
        if not self.case_sensitive:
            keys = _python_lower(keys)
        found.append(values.with_columns(keys).join(self.exact, on="__c2v", how="inner").select(_D, _R))
        if self.patterns:
            distinct = keys.unique() if self.case_sensitive else values.get_column("__c2v").unique()
            if distinct.len() < _FILTERED_PATTERNS_MIN:
                hits = [(v, row_id) for v in distinct.to_list() for row_id, fn, _ in self.patterns if fn(v)]
            else:
                lowered = distinct.str.to_lowercase()
                not_ascii = distinct.str.len_bytes() != distinct.str.len_chars()
                hits = [(v, row_id) for row_id, fn, pieces in self.patterns
                        for v in _pattern_candidates(distinct, lowered, not_ascii, pieces) if fn(v)]
            if hits:
                hit_frame = pl.DataFrame({"__c2v": [v for v, _ in hits], _R: [r for _, r in hits]},
                                         schema={"__c2v": pl.String, _R: pl.UInt32})
                found.append(values.join(hit_frame, on="__c2v", how="inner").select(_D, _R))
        return pl.concat(found)

    def _network_pairs(self, values):
        addresses = _addresses(values)
        found = [pl.DataFrame(schema={_D: pl.UInt32, _R: pl.UInt32})]
        for (version, prefix), networks in self.networks.items():
            bits = 32 if version == 4 else 128
            mask = ((1 << prefix) - 1) << (bits - prefix)
            masked = addresses.filter(pl.col("__c2ver") == version).select(
                _D, (pl.col("__c2hi") & pl.lit(mask >> 64, dtype=pl.UInt64)).alias("__c2hi"),
                (pl.col("__c2lo") & pl.lit(mask & _LOW64, dtype=pl.UInt64)).alias("__c2lo"))
            found.append(masked.join(networks, on=["__c2hi", "__c2lo"], how="inner").select(_D, _R))
        return pl.concat(found)


def _literal_pieces(cell):
    """The lower-cased literal pieces of a wildcard cell (its text between the ``*``), or None
    when one is not ASCII (no cheap filter is exact for it then)."""
    pieces = [piece.lower() for piece in cell.split("*") if piece]
    return pieces if all(piece.isascii() for piece in pieces) else None


# Below this many distinct values, every wildcard pattern is tried on every value: a pattern's
# filter costs a few polars calls (tens of microseconds each), its Python matcher well under a
# microsecond per value.
_FILTERED_PATTERNS_MIN = 1024


def _pattern_candidates(distinct, lowered, not_ascii, pieces):
    """The values of ``distinct`` (a String column; ``lowered``: it lower-cased, ``not_ascii``:
    which values are not ASCII) the wildcard pattern of ``pieces`` may match, as a list: an
    ASCII value it matches holds each piece, case aside (polars and Python lower-case ASCII
    alike); a value that is not ASCII is always tried. Only these go to the pattern's Python
    matcher, not every distinct value."""
    if not pieces:
        return distinct.to_list()
    found = pl.all_horizontal([lowered.str.contains(piece, literal=True) for piece in pieces])
    may = pl.select(found | not_ascii).to_series()
    return distinct.filter(may.fill_null(False)).to_list()


def _column_index(table, column):
    """The :class:`_ColumnIndex` of a lookup column, built once per table."""
    indexes = _INDEXES.setdefault(table, {})
    index = indexes.get(column)
    if index is None:
        index = indexes[column] = _ColumnIndex(table, column)
    return index


def _python_lower(series):
    """``str.lower`` of each cell: polars for ASCII text, Python for the rest (Unicode case
    rules differ between libraries at the edges), once per distinct value."""
    ascii_text = series.str.contains(_ASCII)
    lowered = series.str.to_lowercase()
    others = series.filter(ascii_text.not_()).unique()
    if others.len():
        mapped = pl.Series([v.lower() for v in others.to_list()], dtype=pl.String)
        lowered = pl.select(pl.when(ascii_text).then(lowered)
                            .otherwise(series.replace_strict(others, mapped, default=None))).to_series()
    return lowered.alias(series.name)


def _addresses(values):
    """(distinct id, IP version, integer as two UInt64 halves) of each value that is an address."""
    text = values.get_column("__c2v")
    quad = text.str.contains(_IPV4)
    v4 = values.filter(quad)
    parts = v4.get_column("__c2v").str.split_exact(".", 3).struct.unnest()
    octets = [parts.get_column(c).cast(pl.UInt64) for c in parts.columns]
    number = octets[0] * 16777216 + octets[1] * 65536 + octets[2] * 256 + octets[3] \
        if v4.height else pl.Series([], dtype=pl.UInt64)
    frames = [pl.DataFrame({_D: v4.get_column(_D), "__c2ver": pl.Series([4] * v4.height, dtype=pl.UInt8),
                            "__c2hi": pl.Series([0] * v4.height, dtype=pl.UInt64),
                            "__c2lo": number.cast(pl.UInt64)})]
    rest = values.filter(quad.not_())
    distinct = rest.get_column("__c2v").unique().to_list()
    parsed = [(v, _address(v)) for v in distinct]
    parsed = [(v, p) for v, p in parsed if p is not None]
    if parsed:
        table = pl.DataFrame({"__c2v": [v for v, _ in parsed],
                              "__c2ver": [p[0] for _, p in parsed],
                              "__c2hi": [p[1] >> 64 for _, p in parsed],
                              "__c2lo": [p[1] & _LOW64 for _, p in parsed]},
                             schema={"__c2v": pl.String, "__c2ver": pl.UInt8, "__c2hi": pl.UInt64,
                                     "__c2lo": pl.UInt64})
        frames.append(rest.join(table, on="__c2v", how="inner").select(_D, "__c2ver", "__c2hi", "__c2lo"))
    return pl.concat(frames)


def _event_values(series):
    """(distinct id, value) for each non-empty value of a column of the distinct inputs, as
    ``LookupTable.match`` reads them (``to_str`` of each value, multivalue expanded)."""
    if series.dtype == pl.Float64:
        series = text_column(series)
    elif series.dtype == pl.Null:
        series = series.cast(pl.String)
    elif not (series.dtype == pl.String or isinstance(series.dtype, pl.List) and series.dtype.inner == pl.String):
        raise NotColumnar("lookup input %r has dtype %s" % (series.name, series.dtype))
    values = pl.DataFrame([pl.Series(_D, range(series.len()), dtype=pl.UInt32), series.alias("__c2v")])
    if isinstance(series.dtype, pl.List):
        values = values.explode("__c2v")
    return values.filter(pl.col("__c2v").is_not_null() & (pl.col("__c2v") != ""))


def _matched_rows(table, input_columns, distinct, event_fields):
    """For each distinct input tuple (row of ``distinct``), the ids of the lookup rows it
    matches in file order, at most max_matches: ``LookupTable.match`` before its defaults."""
    if len(set(input_columns)) < len(input_columns):
        # one lookup column read from two fields: the indexed table checks only the first
        raise NotColumnar("lookup column given twice")
    columns = [(_column_index(table, column), field) for column, field in zip(input_columns, event_fields)]
    # the cheapest, most selective matches first (exact keys, then patterns, then networks): each
    # later column is tried only on the tuples still matching, and none once nothing does
    columns.sort(key=lambda item: item[0].cost)
    values = [_event_values(distinct.get_column(field) if field in distinct.columns
                            else pl.Series(field, [None] * distinct.height, dtype=pl.String))
              for _, field in columns]
    # first the tuples every exact-only column has a key for (no row pairs built yet: one key
    # may stand in many lookup rows)
    live = None
    for (index, _), column_values in zip(columns, values):
        if index.cost == 0:
            held = index.keyed(column_values if live is None else column_values.join(live, on=_D, how="semi"))
            live = held if live is None else live.join(held, on=_D, how="semi")
    pairs = None
    if live is None or live.height:
        for (index, _), column_values in zip(columns, values):
            if pairs is not None:
                column_values = column_values.join(pairs.select(_D).unique(), on=_D, how="semi")
            elif live is not None:
                column_values = column_values.join(live, on=_D, how="semi")
            found = index.pairs(column_values).unique()
            pairs = found if pairs is None else pairs.join(found, on=[_D, _R], how="inner")
            if not pairs.height:
                break
    else:
        pairs = pl.DataFrame(schema={_D: pl.UInt32, _R: pl.UInt32})
    limit = max(table.max_matches, 1)  # the row scan stops once it holds max_matches rows, at least one
    matched = pairs.sort([_D, _R]).group_by(_D, maintain_order=True).agg(pl.col(_R).head(limit))
    return pl.DataFrame(pl.Series(_D, range(distinct.height), dtype=pl.UInt32)) \
        .join(matched, on=_D, how="left", maintain_order="left").get_column(_R)


def _merged(existing, new, name):
    """OUTPUTNEW: the existing value where there is one, else the lookup's."""
    if new.dtype != existing.dtype:
        if isinstance(new.dtype, pl.List) and existing.dtype == pl.String:
            existing = as_list(existing)
        elif isinstance(existing.dtype, pl.List) and new.dtype == pl.String:
            new = as_list(new)
        elif new.null_count() == new.len() or (existing.is_null() & new.is_not_null()).sum() == 0:
            return existing
        elif existing.null_count() == existing.len():
            return new.alias(name)
        else:
            raise NotColumnar("field %r would mix numbers and strings" % name)
    return pl.select(pl.when(existing.is_not_null()).then(existing).otherwise(new)).to_series().alias(name)


def col_lookup(ctx, args, frame):
    table, inputs, outputs, mode = parse_lookup(ctx, args)
    if frame.height == 0:
        return frame
    values = _output_values(frame, table, inputs, outputs)
    columns = {name: frame.get_column(name) for name in frame.columns}
    for (_column, event_field), new in zip(outputs, values):
        existing = columns.get(event_field)
        if mode == "OUTPUTNEW" and existing is not None:
            columns[event_field] = _merged(existing, new, event_field)
        else:
            columns[event_field] = new.alias(event_field)
    return pl.DataFrame(list(columns.values()))


def col_inputlookup(ctx, args, frame):
    table_rows = cmd_inputlookup(ctx, args, [])  # append or not, the lookup's own rows
    options, _ = take_options(words(args), {"append", "start", "max"})
    read = frame_from_rows(table_rows)
    if frame is None or not parse_bool(options.get("append", "false"), "inputlookup append"):
        return read
    if frame.width == 0 or read.width == 0:
        if frame.width == 0 and read.width == 0:
            return pl.DataFrame(height=frame.height + read.height)
        if frame.width == 0 and frame.height:
            raise NotColumnar("rows without fields before inputlookup append")
        return read if frame.width == 0 else pl.concat([frame, pl.DataFrame(
            [pl.Series(n, [None] * read.height, dtype=frame.schema[n]) for n in frame.columns])])
    for name in read.columns:
        if name in frame.columns and frame.schema[name] != read.schema[name]:
            if isinstance(frame.schema[name], pl.List) and read.schema[name] == pl.String:
                read = read.with_columns(as_list(read.get_column(name)))
            elif isinstance(read.schema[name], pl.List) and frame.schema[name] == pl.String:
                frame = frame.with_columns(as_list(frame.get_column(name)))
            else:
                raise NotColumnar("field %r holds different kinds in the rows and the lookup" % name)
    return pl.concat([frame, read], how="diagonal")


def col_outputlookup(ctx, args, frame):
    cmd_outputlookup(ctx, args, rows_from_frame(frame))
    return frame


COLUMNAR_COMMANDS = {"lookup": guarded(col_lookup), "inputlookup": guarded(col_inputlookup),
                     "outputlookup": col_outputlookup}  # its one polars step comes before the file is written
