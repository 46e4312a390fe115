"""lookup, inputlookup and outputlookup over the app's lookup definitions."""
from ..searchexpr import SearchExpression
from ..values import SplError, is_null, mv_pack
from .arguments import parse_bool, take_options, words


def _named_lookup(ctx, command, args, known_options):
    """A lookup command's table (named by its first word), its options, and its words
    without the options (the table name still first)."""
    options, items = take_options(words(args), known_options)
    if not items:
        raise SplError("%s: a lookup name is required" % command)
    return ctx.lookups.get(items[0][0]), options, items


def parse_lookup(ctx, args):
    """(table, inputs, outputs, mode) of ``lookup`` arguments: inputs and outputs as
    (lookup column, event field) pairs; every check and error of the command."""
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


def cmd_lookup(ctx, args, rows):
    table, inputs, outputs, mode = parse_lookup(ctx, args)
    input_columns = [c for c, _ in inputs]
    packed = {}  # id(matches) -> (matches, output values): the table hands back one list per distinct input
    for row in rows:
        values = [row.get(event_field) for _, event_field in inputs]
        matches = table.match(input_columns, values)
        cached = packed.get(id(matches))
        if cached is None or cached[0] is not matches:
            if len(packed) >= 65536:
                packed.clear()
            cached = packed[id(matches)] = (matches, [_packed(matches, column) for column, _ in outputs])
        for (column, event_field), value in zip(outputs, cached[1]):
            if mode == "OUTPUTNEW" and not is_null(row.get(event_field)):
                continue
            if value is None:
                row.pop(event_field, None)
            else:
                row[event_field] = list(value) if type(value) is list else value
    return rows


def _packed(matches, column):
    """The value a lookup writes for one output column: the matching rows' non-empty cells."""
    found = []
    for m in matches:
        v = m.get(column)
        if v not in (None, ""):
            found.append(v)
    return mv_pack(found)


def cmd_inputlookup(ctx, args, rows):
    table, options, items = _named_lookup(ctx, "inputlookup", args, {"append", "start", "max"})
    out = [{k: v for k, v in r.items() if v != ""} for r in table.rows]
    if len(items) > 1:
        if items[1][0].lower() != "where":
            raise SplError("inputlookup: expected 'where', got %r" % items[1][0])
        where_text = args.split(items[0][0], 1)[1].strip()[len("where"):]
        expr = SearchExpression(where_text)
        out = [r for r in out if expr(r)]
    if "max" in options:
        out = out[:int(options["max"])]
    if parse_bool(options.get("append", "false"), "inputlookup append"):
        return rows + out
    return out


def cmd_outputlookup(ctx, args, rows):
    items = words(args)
    options, items = take_options(items, {"append", "create_empty", "override_if_empty",
                                          "createinapp", "create_context", "max", "key_field"})
    if len(items) != 1:
        raise SplError("outputlookup: exactly one lookup name is required")
    append = parse_bool(options.get("append", "false"), "outputlookup append")
    override = parse_bool(options.get("override_if_empty", "true"), "outputlookup override_if_empty")
    ctx.lookups.write(items[0][0], rows, append=append, override_if_empty=override)
    return rows
