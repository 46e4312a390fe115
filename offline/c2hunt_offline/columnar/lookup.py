"""lookup, inputlookup and outputlookup on columns (:mod:`c2hunt_offline.commands.lookup`).

``lookup`` matches each distinct tuple of its input fields once, with the same indexed
:class:`~c2hunt_offline.lookups.LookupTable` the row command uses (exact keys hashed, CIDR
networks by prefix length, wildcards compiled once, case sensitivity, max_matches,
min_matches/default_match, multivalue inputs), and joins the output values back onto the
rows: exact by construction, at the cost of the distinct inputs, which are far fewer than
the rows (addresses, ports, process names repeat). OUTPUT replaces the field (no match
clears it), OUTPUTNEW fills only rows that lack it, each output in the order given.

inputlookup and outputlookup read and write small tables: they go through rows, but stay
registered so a pipeline does not leave the columns for them.
"""
import polars as pl

from ..commands.arguments import parse_bool, take_options, words
from ..commands.lookup import _named_lookup, _packed, cmd_inputlookup, cmd_outputlookup
from ..values import SplError
from .stats import as_list, guarded
from .table import NotColumnar, _key_column, frame_from_rows, rows_from_frame, series_from_values


def _parse(ctx, args):
    """(table, inputs, outputs, mode) exactly as ``cmd_lookup`` reads its arguments."""
    table, _options, items = _named_lookup(ctx, "lookup", args, {"local", "update", "event_time_field"})
    tokens = [w for w, _ in items[1:]]
    inputs, outputs, mode = [], [], None
    current = inputs
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.upper() in ("OUTPUT", "OUTPUTNEW"):
            mode = tok.upper()
            current = outputs
            i += 1
            continue
        if i + 2 < len(tokens) and tokens[i + 1].lower() == "as":
            current.append((tok, tokens[i + 2]))
            i += 3
        else:
            current.append((tok, tok))
            i += 1
    if not inputs:
        raise SplError("lookup %s: an input field is required" % table.name)
    for column, _ in inputs + outputs:
        if column not in table.columns:
            raise SplError("lookup %s: no column %r (columns: %s)" % (table.name, column, ", ".join(table.columns)))
    if not outputs:
        used = set(c for c, _ in inputs)
        outputs = [(c, c) for c in table.columns if c not in used]
        mode = mode or "OUTPUT"
    return table, inputs, outputs, mode


def _output_values(frame, table, inputs, outputs):
    """One column per output: the packed value of the matching lookup rows, computed once per
    distinct tuple of the input fields."""
    input_columns = [c for c, _ in inputs]
    event_fields = [f for _, f in inputs]
    present = list(dict.fromkeys(f for f in event_fields if f in frame.columns))
    names = ["__c2out%d" % i for i in range(len(outputs))]

    def outputs_for(row):
        matches = table.match(input_columns, [row.get(f) for f in event_fields])
        return [_packed(matches, column) for column, _ in outputs]

    if not present:
        values = outputs_for({})
        return [series_from_values(n, [v] * frame.height) for n, v in zip(names, values)]
    keys = frame.select([_key_column(frame.get_column(f)) for f in present])
    index = keys.with_row_index("__c2first").group_by(present, maintain_order=True) \
        .agg(pl.col("__c2first").first())
    first_rows = rows_from_frame(frame.select(present)[index.get_column("__c2first")])
    per_distinct = [outputs_for(row) for row in first_rows]
    result = index.select(present).with_columns(
        [series_from_values(n, [values[i] for values in per_distinct]) for i, n in enumerate(names)])
    joined = keys.join(result, on=present, how="left", nulls_equal=True, maintain_order="left")
    return [joined.get_column(n) for n in names]


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
    table, inputs, outputs, mode = _parse(ctx, args)
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
