"""Commands that shape rows: table, fields, rename, sort, head, tail, dedup, fillnull, rex,
makeresults, mvexpand."""
import re
import time

from ..limits import MAKERESULTS_MAX_ROWS, GuardedRegex
from ..values import (SplError, convert_regex, is_null, mv, mv_pack, sort_key, to_number,
                      to_str)
from .arguments import field_matcher, parse_bool, take_options, words


def _ordered_fields(rows):
    seen = {}
    for row in rows:
        for k in row:
            seen.setdefault(k, None)
    return list(seen)


def table_columns(patterns, all_fields):
    """The columns ``table`` shows: each pattern in order, a wildcard expanded over
    ``all_fields`` in their order, every field once."""
    columns = []
    for p in patterns:
        if "*" in p:
            m = field_matcher([p])
            columns.extend(f for f in all_fields if m(f) and f not in columns)
        elif p not in columns:
            columns.append(p)
    return columns


def cmd_table(ctx, args, rows):
    patterns = [w for w, _ in words(args)]
    if not patterns:
        raise SplError("table: a field list is required")
    all_fields = _ordered_fields(rows)
    columns = table_columns(patterns, all_fields)
    ctx.columns = columns
    return [{c: row[c] for c in columns if c in row} for row in rows]


def cmd_fields(ctx, args, rows):
    items = [w for w, _ in words(args)]
    remove = False
    if items and items[0] in ("+", "-"):
        remove = items[0] == "-"
        items = items[1:]
    elif items and items[0].startswith("-") and len(items[0]) > 1:
        remove = True
        items[0] = items[0][1:]
    if not items:
        raise SplError("fields: a field list is required")
    match = field_matcher(items)
    out = []
    for row in rows:
        if remove:
            out.append({k: v for k, v in row.items() if not match(k)})
        else:
            kept = {k: v for k, v in row.items() if match(k) or k in ("_time", "_raw")}
            out.append(kept)
    if not remove:
        ctx.columns = [i for i in items if "*" not in i]
    return out


def cmd_rename(ctx, args, rows):
    items = [w for w, _ in words(args)]
    pairs = []
    i = 0
    while i < len(items):
        if i + 2 >= len(items) or items[i + 1].lower() != "as":
            raise SplError("rename: expected <field> AS <newname>")
        pairs.append((items[i], items[i + 2]))
        i += 3
    for old, new in pairs:
        if old.count("*") != new.count("*"):
            raise SplError("rename: %s and %s must have the same wildcards" % (old, new))
        if "*" in old:
            rx = re.compile("^" + "(.*)".join(re.escape(p) for p in old.split("*")) + "$")
            for row in rows:
                for key in list(row):
                    m = rx.match(key)
                    if m:
                        pieces = new.split("*")
                        target = pieces[0] + "".join(g + p for g, p in zip(m.groups(), pieces[1:]))
                        row[target] = row.pop(key)
        else:
            for row in rows:
                if old in row:
                    row[new] = row.pop(old)
                else:
                    row.pop(new, None)  # Splunk: renaming a missing field clears the target
    if getattr(ctx, "columns", None):
        mapping = dict(pairs)
        ctx.columns = [mapping.get(c, c) for c in ctx.columns]
    return rows


def parse_sort(args):
    """(keys as (field, descending, mode), limit, reverse_all) of ``sort`` arguments."""
    items = [w for w, _ in words(args)]
    limit = 10000  # Splunk's default: sort keeps the first 10,000 results
    if items and re.fullmatch(r"\d+", items[0]):
        limit = int(items.pop(0))
    elif items and items[0].lower().startswith("limit="):
        limit = int(items.pop(0).split("=", 1)[1])
    reverse_all = False
    if items and items[-1].lower() in ("d", "desc"):
        reverse_all = True
        items.pop()
    keys = []
    # Splunk: a sign standing alone ("sort - a, b") applies to every field after it until the
    # next lone sign; a sign joined to a field ("-a") applies to that field only
    standing = "+"
    for item in items:
        if item in ("+", "-"):
            standing = item
            continue
        sign = standing
        if item[0] in "+-":
            sign, item = item[0], item[1:]
        mode = "auto"
        m = re.match(r"^(auto|str|num|ip)\((.+)\)$", item)
        if m:
            mode, item = m.group(1), m.group(2)
        keys.append((item, sign == "-", mode))
    if not keys:
        raise SplError("sort: a field is required")
    return keys, limit, reverse_all


def cmd_sort(ctx, args, rows):
    keys, limit, reverse_all = parse_sort(args)
    out = list(rows)

    def key_for(field, mode):
        def k(row):
            value = row.get(field)
            if isinstance(value, list):
                value = value[0]
            if mode == "str":
                return (0 if value is not None else 1, 0, to_str(value) or "")
            if mode == "num":
                n = to_number(value)
                return (0 if n is not None else 1, n or 0, "")
            if mode == "ip":
                parts = [int(p) for p in re.findall(r"\d+", to_str(value) or "")][:4]
                return (0 if parts else 1, tuple(parts), "")
            return sort_key(value)
        return k
    for field, desc, mode in reversed(keys):
        k = key_for(field, mode)
        # nulls sort last in ascending order and first in descending order, as in Splunk
        out.sort(key=k, reverse=desc != reverse_all)
    return out[:limit] if limit else out


def cmd_head(ctx, args, rows):
    items = [w for w, _ in words(args)]
    n = 10
    if items:
        text = items[0].split("=", 1)[1] if items[0].lower().startswith("limit=") else items[0]
        if not re.fullmatch(r"\d+", text):
            raise SplError("head: only a count is supported offline, got %r" % items[0])
        n = int(text)
    return rows[:n]


def cmd_tail(ctx, args, rows):
    items = [w for w, _ in words(args)]
    n = int(items[0]) if items else 10
    return list(reversed(rows[-n:])) if n else []


def cmd_dedup(ctx, args, rows):
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
    seen = {}
    out = []
    previous = None
    for row in rows:
        values = [row.get(f) for f in items]
        if any(is_null(v) for v in values):
            if keepempty:
                out.append(row)
            continue
        key = tuple(tuple(to_str(x) for x in mv(v)) for v in values)
        if consecutive:
            if key != previous:
                out.append(row)
            previous = key
            continue
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= count:
            out.append(row)
    if sortby:
        out = cmd_sort(ctx, "0 " + " ".join(sortby), out)
    return out


def cmd_fillnull(ctx, args, rows):
    options, rest = take_options(words(args), {"value"})
    value = options.get("value", "0")
    fields = [w for w, _ in rest]
    if not fields:
        fields = [f for f in _ordered_fields(rows) if not f.startswith("_")]
        fields += [c for c in (getattr(ctx, "columns", None) or []) if c not in fields]
    for row in rows:
        for f in fields:
            if is_null(row.get(f)) or row.get(f) == "":
                row[f] = value
    return rows


def cmd_rex(ctx, args, rows):
    options, rest = take_options(words(args), {"field", "max_match", "mode", "offset_field"})
    if len(rest) != 1:
        raise SplError("rex: exactly one quoted regular expression is required")
    pattern = rest[0][0]
    field = options.get("field", "_raw")
    if options.get("mode") == "sed":
        rx, repl, count = sed_expression(pattern)
        for row in rows:
            if row.get(field) is not None:
                row[field] = mv_pack([rx.sub(repl, to_str(v), count=count) for v in mv(row[field])])
        return rows
    try:
        rx = GuardedRegex(re.compile(convert_regex(pattern)))  # under the regex time budget
    except re.error as exc:
        raise SplError("rex: bad regular expression %r: %s" % (pattern, exc))
    if not rx.groupindex:
        raise SplError("rex: the regular expression needs a named group (?<name>...)")
    max_match = int(options.get("max_match", "1"))
    extract = rex_extractor(rx, max_match)
    for row in rows:
        row.update(extract(row.get(field)))
    return rows


def sed_expression(pattern):
    """(regex, replacement, count) of a ``mode=sed`` expression ``s/<regex>/<replacement>/[g]``;
    a malformed expression, a bad regex or a replacement naming a group the regex lacks is a
    search error, whatever the events (the columnar rex shares it)."""
    m = re.match(r"^s(.)(.*?)(?<!\\)\1(.*?)(?<!\\)\1([gi0-9]*)$", pattern, re.S)
    if not m:
        raise SplError("rex: mode=sed expects s/<regex>/<replacement>/[g]")
    try:
        rx = GuardedRegex(re.compile(convert_regex(m.group(2)), re.I if "i" in m.group(4) else 0))
    except re.error as exc:
        raise SplError("rex: bad regular expression %r: %s" % (m.group(2), exc))
    repl = re.sub(r"\\(\d)", r"\\g<\1>", m.group(3))
    try:
        rx.sub(repl, "")  # Python checks the replacement's group references on every call
    except (re.error, IndexError) as exc:  # an unknown group name is an IndexError
        raise SplError("rex: bad sed replacement %r: %s" % (m.group(3), exc))
    return rx, repl, 0 if "g" in m.group(4) else 1


def rex_extractor(rx, max_match):
    """The extraction of one field value: {group: value} of the first ``max_match`` matches
    (0: all) in the first of its values holding one (the columnar rex shares it)."""
    def extracted(value):
        found = {}
        for v in mv(value):
            for n, m in enumerate(rx.finditer(to_str(v))):
                if max_match and n >= max_match:
                    break
                for name, text in m.groupdict().items():
                    if text is not None:
                        found.setdefault(name, []).append(text)
            if max_match == 1 and found:
                break
        return {name: mv_pack(values[:1] if max_match == 1 else values) for name, values in found.items()}
    return extracted


def cmd_makeresults(ctx, args, rows):
    options, _ = take_options(words(args), {"count", "annotate"})
    text = options.get("count", "1")
    if not re.match(r"^\d+$", text.strip()):
        raise SplError("makeresults: count must be a non-negative integer, got %r" % text)
    count = int(text)
    if count > MAKERESULTS_MAX_ROWS:
        ctx.messages.append("makeresults: count=%d capped at %d rows (limits.conf [makeresults] "
                            "maxresultrows)" % (count, MAKERESULTS_MAX_ROWS))
        count = MAKERESULTS_MAX_ROWS
    now = int(time.time())
    return [{"_time": now} for _ in range(count)]


def cmd_mvexpand(ctx, args, rows):
    options, rest = take_options(words(args), {"limit"})
    if len(rest) != 1:
        raise SplError("mvexpand: exactly one field is required")
    field = rest[0][0]
    out = []
    for row in rows:
        values = mv(row.get(field))
        if not values:
            continue
        for v in values[:int(options["limit"])] if "limit" in options else values:
            copy = dict(row)
            copy[field] = v
            out.append(copy)
    return out
