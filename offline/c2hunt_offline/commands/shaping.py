"""SPL commands: each takes the result rows (list of dict) and returns the new rows.

A command is ``fn(ctx, args_text, rows) -> rows``; generating commands (``tstats``,
``inputlookup``, ``makeresults``) ignore the incoming rows unless told to append.
"""
import csv
import math
import os
import re
import statistics
import time

from ..evalexpr import Expression, result_value, truth
from ..searchexpr import SearchExpression
from ..spltext import read_quoted, split_top_level
from ..values import (SplError, compare, convert_regex, format_number, is_null, mv, mv_pack,
                     sort_key, to_number, to_str, wildcard_regex)

# ---------------------------------------------------------------------------------------
# argument helpers


def words(text):
    """Split command arguments on whitespace and commas, keeping quoted strings whole.

    Returns a list of (text, quoted) pairs; quotes are removed from quoted items.
    """
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch == ",":
            i += 1
            continue
        if ch == '"':
            value, j = read_quoted(text, i)
            out.append((value, True))
            i = j + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ",":
            if text[j] == '"':  # key="quoted value"
                k = text.find('"', j + 1)
                while k > 0 and text[k - 1] == "\\":
                    k = text.find('"', k + 1)
                j = (k + 1) if k > 0 else n
                continue
            j += 1
        out.append((text[i:j], False))
        i = j
    return out


def take_options(items, known):
    """Pull ``key=value`` options named in ``known`` off the front/anywhere of ``items``."""
    options, rest = {}, []
    for word, quoted in items:
        if not quoted and "=" in word:
            key, value = word.split("=", 1)
            if key.lower() in known:
                options[key.lower()] = value.strip('"')
                continue
        rest.append((word, quoted))
    return options, rest


def parse_bool(value, name):
    v = str(value).lower()
    if v in ("1", "t", "true", "yes", "y"):
        return True
    if v in ("0", "f", "false", "no", "n"):
        return False
    raise SplError("%s: expected a boolean, got %r" % (name, value))


def field_matcher(patterns):
    """Predicate over field names from a list of names with ``*`` wildcards."""
    exact = set(p for p in patterns if "*" not in p)
    regexes = [wildcard_regex(p, case_sensitive=True) for p in patterns if "*" in p]
    return lambda name: name in exact or any(r.match(name) for r in regexes)


# ---------------------------------------------------------------------------------------
# search / where / eval


def cmd_search(ctx, args, rows):
    expr = SearchExpression(args)
    return [r for r in rows if expr(r)]


def cmd_where(ctx, args, rows):
    if not args.strip():
        raise SplError("where: an expression is required")
    expr = Expression(args)
    return [r for r in rows if truth(expr(r))]


_ASSIGN = re.compile(r"^\s*('(?:[^'\\]|\\.)+'|[^\s=!<>'\"]+)\s*=(?!=)(.*)$", re.S)


def cmd_eval(ctx, args, rows):
    assignments = []
    for part in split_top_level(args, ",", quotes="\"'", brackets="()"):
        if not part.strip():
            continue
        m = _ASSIGN.match(part)
        if not m:
            raise SplError("eval: expected <field>=<expression>, got %r" % part.strip())
        name = m.group(1)
        if name.startswith("'"):
            name = name[1:-1]
        assignments.append((name, Expression(m.group(2).strip())))
    if not assignments:
        raise SplError("eval: an assignment is required")
    for row in rows:
        for name, expr in assignments:
            value = result_value(expr(row))
            if value is None:
                row.pop(name, None)
            else:
                row[name] = value
    return rows


# ---------------------------------------------------------------------------------------
# stats / eventstats


class _Agg(object):
    """One aggregation: function name, argument (field or eval expression), output name."""

    def __init__(self, func, arg, name):
        self.func, self.arg, self.name = func, arg, name
        self.expr = None
        if arg and arg.startswith("eval(") and arg.endswith(")"):
            self.expr = Expression(arg[5:-1])
        m = re.match(r"^(?:p|perc|exactperc|upperperc)(\d+(?:\.\d+)?)$", func)
        self.percentile = float(m.group(1)) if m else None
        if func not in AGG_FUNCS and self.percentile is None:
            raise SplError("stats: unsupported function %s()" % func)
        if func != "count" and func not in ("earliest_time", "latest_time") and not arg:
            raise SplError("stats: %s() needs a field" % func)

    def values_of(self, row):
        if self.expr is not None:
            v = self.expr(row)
            if isinstance(v, bool):
                return [v] if v else []
            return mv(v)
        return mv(row.get(self.arg))


def parse_aggregations(text, command):
    """``count, dc(x) AS n, values(y) BY a b`` -> ([_Agg], [by fields], options)."""
    m = re.search(r"\s[Bb][Yy]\s", " " + text + " ")
    by = []
    if m:
        idx = m.start()
        # BY must be at top level (not inside eval(...) or quotes)
        head, tail = text[:idx], text[idx + 3:]
        by = [w for w, _ in words(tail)]
        text = head
    aggs = []
    tokens = re.findall(r"""[A-Za-z_][\w]*\s*\((?:[^()"]|"[^"]*"|\((?:[^()"]|"[^"]*")*\))*\)|"[^"]*"|[^\s,]+""", text)
    options = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if "=" in tok and "(" not in tok:
            key, value = tok.split("=", 1)
            options[key.lower()] = value
            continue
        m = re.match(r"^([A-Za-z_]\w*)\s*(?:\((.*)\))?$", tok, re.S)
        if not m:
            raise SplError("%s: cannot parse %r" % (command, tok))
        func, arg = m.group(1).lower(), (m.group(2) or "").strip()
        if func == "c":
            func = "count"
        if func == "distinct_count":
            func = "dc"
        name = tok if m.group(2) is not None else func
        if i + 1 < len(tokens) and tokens[i].lower() == "as":
            name = tokens[i + 1].strip('"')
            i += 2
        aggs.append(_Agg(func, arg, name))
    if not aggs:
        raise SplError("%s: at least one aggregation is required" % command)
    return aggs, by, options


def _numbers(values):
    out = []
    for v in values:
        n = to_number(v)
        if n is not None:
            out.append(n)
    return out


def _pick_minmax(values, sign):
    nums = _numbers(values)
    if nums:
        return min(nums) if sign < 0 else max(nums)
    strs = [to_str(v) for v in values]
    if not strs:
        return None
    return min(strs) if sign < 0 else max(strs)


def _percentile(nums, p):
    """Nearest-rank-interpolated percentile as Splunk's exactperc (linear between ranks)."""
    nums = sorted(nums)
    if not nums:
        return None
    k = (len(nums) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return nums[int(k)]
    return nums[lo] + (nums[hi] - nums[lo]) * (k - lo)


def _sum(values):
    nums = _numbers(values)
    return sum(nums) if nums else None


def _avg(values):
    nums = _numbers(values)
    return sum(nums) / len(nums) if nums else None


def _stdev(values, sample=True, var=False):
    nums = _numbers(values)
    if len(nums) < (2 if sample else 1):
        return None
    v = statistics.variance(nums) if sample else statistics.pvariance(nums)
    return v if var else math.sqrt(v)


def _median(values):
    nums = _numbers(values)
    return statistics.median(nums) if nums else None


def _mode(values):
    counts = {}
    for v in values:
        counts[to_str(v)] = counts.get(to_str(v), 0) + 1
    if not counts:
        return None
    best = max(counts.values())
    for v in values:
        if counts[to_str(v)] == best:
            return v


def _range(values):
    nums = _numbers(values)
    return max(nums) - min(nums) if nums else None


def _distinct_sorted(values):
    seen = {}
    for v in values:
        seen.setdefault(to_str(v), v)
    return [seen[k] for k in sorted(seen)]


AGG_FUNCS = {
    "count": None, "dc": None, "sum": None, "avg": None, "mean": None, "min": None,
    "max": None, "values": None, "list": None, "earliest": None, "latest": None,
    "first": None, "last": None, "median": None, "stdev": None, "stdevp": None,
    "var": None, "varp": None, "range": None, "mode": None, "sumsq": None,
    "earliest_time": None, "latest_time": None, "estdc": None,
}


def _aggregate(agg, rows):
    """Value of one aggregation over a group's rows."""
    f = agg.func
    if f == "count" and not agg.arg:
        return len(rows)
    if f in ("earliest", "latest", "earliest_time", "latest_time"):
        timed = [(to_number(r.get("_time")), i, r) for i, r in enumerate(rows)]
        timed = [t for t in timed if t[0] is not None and (f.endswith("_time") or agg.values_of(t[2]))]
        if not timed:
            return None
        pick = min(timed, key=lambda t: (t[0], t[1])) if f.startswith("earliest") else max(timed, key=lambda t: (t[0], -t[1]))
        if f.endswith("_time"):
            return pick[0]
        return mv_pack(agg.values_of(pick[2]))
    if f in ("first", "last"):
        seq = rows if f == "first" else list(reversed(rows))
        for r in seq:
            vals = agg.values_of(r)
            if vals:
                return mv_pack(vals)
        return None
    values = [v for r in rows for v in agg.values_of(r) if v is not None and to_str(v) != ""]
    if f == "count":
        return len(values)
    if f in ("dc", "estdc"):
        return len(set(to_str(v) for v in values))
    if f == "sum":
        return _sum(values)
    if f in ("avg", "mean"):
        return _avg(values)
    if f == "min":
        return _pick_minmax(values, -1)
    if f == "max":
        return _pick_minmax(values, 1)
    if f == "values":
        return mv_pack(_distinct_sorted(values))
    if f == "list":
        return mv_pack(values[:100])
    if f == "median":
        return _median(values)
    if f == "stdev":
        return _stdev(values)
    if f == "stdevp":
        return _stdev(values, sample=False)
    if f == "var":
        return _stdev(values, var=True)
    if f == "varp":
        return _stdev(values, sample=False, var=True)
    if f == "range":
        return _range(values)
    if f == "mode":
        return _mode(values)
    if f == "sumsq":
        nums = _numbers(values)
        return sum(n * n for n in nums) if nums else None
    if agg.percentile is not None:
        return _percentile(_numbers(values), agg.percentile)
    raise SplError("stats: unsupported function %s()" % f)


def _group_keys(row, by):
    """Group keys of a row: one per combination of by-field values; none if a value is null.

    Each key is a tuple of (string form, original value) pairs, so numbers such as a binned
    ``_time`` stay numbers in the output.
    """
    keys = [()]
    for field in by:
        values = [v for v in mv(row.get(field)) if to_str(v) != ""]
        if not values:
            return []
        distinct = {}
        for v in values:
            distinct.setdefault(to_str(v), v)
        keys = [k + ((text, value),) for k in keys for text, value in distinct.items()]
    return keys


def _groups(rows, by):
    groups = {}
    originals = {}
    for row in rows:
        for key in _group_keys(row, by):
            text_key = tuple(t for t, _ in key)
            groups.setdefault(text_key, []).append(row)
            originals.setdefault(text_key, tuple(v for _, v in key))
    return groups, originals


def _group_order(key):
    return tuple(sort_key(v) for v in key)


def cmd_stats(ctx, args, rows):
    aggs, by, _ = parse_aggregations(args, "stats")
    if not by:
        out = {}
        for agg in aggs:
            value = _aggregate(agg, rows)
            if value is not None:
                out[agg.name] = value
        return [out]
    groups, originals = _groups(rows, by)
    out = []
    # groups come out ordered by their by-field values (numbers numerically, then strings)
    for key in sorted(groups, key=lambda k: _group_order(originals[k])):
        row = dict(zip(by, originals[key]))
        for agg in aggs:
            value = _aggregate(agg, groups[key])
            if value is not None:
                row[agg.name] = value
        out.append(row)
    return out


def cmd_eventstats(ctx, args, rows):
    aggs, by, _ = parse_aggregations(args, "eventstats")
    if not by:
        values = {agg.name: _aggregate(agg, rows) for agg in aggs}
        for row in rows:
            for name, value in values.items():
                if value is not None:
                    row[name] = value
        return rows
    groups, _ = _groups(rows, by)
    results = {key: {agg.name: _aggregate(agg, members) for agg in aggs}
               for key, members in groups.items()}
    for row in rows:
        keys = _group_keys(row, by)
        if not keys:
            continue
        # a row in several groups (multivalue by-field) takes its first group's values
        for name, value in results[tuple(t for t, _ in keys[0])].items():
            if value is not None:
                row[name] = value
    return rows


# ---------------------------------------------------------------------------------------
# bin


_SPAN = re.compile(r"^(\d+(?:\.\d+)?)(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks|mon|month|months)?$", re.I)
_UNIT = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
         "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600,
         "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
         "weeks": 604800}


def parse_span(text, time_field=True):
    m = _SPAN.match(text.strip())
    if not m:
        raise SplError("bin: unsupported span %r (use a number with s, m, h, d or w)" % text)
    amount, unit = float(m.group(1)), (m.group(2) or "").lower()
    if unit.startswith("mon"):
        raise SplError("bin: month spans are not supported offline")
    if unit:
        return amount * _UNIT[unit]
    return amount if not time_field else amount  # a bare number on _time is seconds


def bin_value(value, span):
    n = to_number(value)
    if n is None:
        return None
    binned = math.floor(n / span) * span
    return int(binned) if float(binned).is_integer() else binned


def cmd_bin(ctx, args, rows):
    options, rest = take_options(words(args), {"span", "bins", "minspan", "aligntime", "start", "end"})
    if "span" not in options:
        raise SplError("bin: only span=<span> is supported offline (bins= needs the data range)")
    if not rest:
        raise SplError("bin: a field is required")
    field = rest[0][0]
    target = field
    if len(rest) >= 3 and rest[1][0].lower() == "as":
        target = rest[2][0]
    span = parse_span(options["span"], field == "_time")
    for row in rows:
        value = row.get(field)
        if value is None:
            continue
        b = bin_value(value if not isinstance(value, list) else value[0], span)
        if b is None:
            continue
        row[target] = b
    return rows


# ---------------------------------------------------------------------------------------
# shaping commands


def _ordered_fields(rows):
    seen = {}
    for row in rows:
        for k in row:
            seen.setdefault(k, None)
    return list(seen)


def cmd_table(ctx, args, rows):
    patterns = [w for w, _ in words(args)]
    if not patterns:
        raise SplError("table: a field list is required")
    all_fields = _ordered_fields(rows)
    columns = []
    for p in patterns:
        if "*" in p:
            m = field_matcher([p])
            columns.extend(f for f in all_fields if m(f) and f not in columns)
        elif p not in columns:
            columns.append(p)
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


def cmd_sort(ctx, args, rows):
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
    pending = None
    for item in items:
        if item in ("+", "-"):
            pending = item
            continue
        sign = pending or "+"
        pending = None
        if item[0] in "+-":
            sign, item = item[0], item[1:]
        mode = "auto"
        m = re.match(r"^(auto|str|num|ip)\((.+)\)$", item)
        if m:
            mode, item = m.group(1), m.group(2)
        keys.append((item, sign == "-", mode))
    if not keys:
        raise SplError("sort: a field is required")
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
        m = re.match(r"^s(.)(.*?)(?<!\\)\1(.*?)(?<!\\)\1([gi0-9]*)$", pattern, re.S)
        if not m:
            raise SplError("rex: mode=sed expects s/<regex>/<replacement>/[g]")
        rx = re.compile(convert_regex(m.group(2)), re.I if "i" in m.group(4) else 0)
        repl = re.sub(r"\\(\d)", r"\\g<\1>", m.group(3))
        count = 0 if "g" in m.group(4) else 1
        for row in rows:
            if row.get(field) is not None:
                row[field] = mv_pack([rx.sub(repl, to_str(v), count=count) for v in mv(row[field])])
        return rows
    try:
        rx = re.compile(convert_regex(pattern))
    except re.error as exc:
        raise SplError("rex: bad regular expression %r: %s" % (pattern, exc))
    if not rx.groupindex:
        raise SplError("rex: the regular expression needs a named group (?<name>...)")
    max_match = int(options.get("max_match", "1"))
    for row in rows:
        found = {}
        for v in mv(row.get(field)):
            for n, m in enumerate(rx.finditer(to_str(v))):
                if max_match and n >= max_match:
                    break
                for name, text in m.groupdict().items():
                    if text is not None:
                        found.setdefault(name, []).append(text)
            if max_match == 1 and found:
                break
        for name, values in found.items():
            row[name] = mv_pack(values[:1] if max_match == 1 else values)
    return rows


def cmd_makeresults(ctx, args, rows):
    options, _ = take_options(words(args), {"count", "annotate"})
    count = int(options.get("count", "1"))
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


# ---------------------------------------------------------------------------------------
# lookups


def _named_lookup(ctx, command, args, known_options):
    """A lookup command's table (named by its first word), its options, and its words
    without the options (the table name still first)."""
    options, items = take_options(words(args), known_options)
    if not items:
        raise SplError("%s: a lookup name is required" % command)
    return ctx.lookups.get(items[0][0]), options, items


def cmd_lookup(ctx, args, rows):
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
    for row in rows:
        values = [row.get(event_field) for _, event_field in inputs]
        matches = table.match([c for c, _ in inputs], values)
        for column, event_field in outputs:
            if mode == "OUTPUTNEW" and not is_null(row.get(event_field)):
                continue
            found = []
            for m in matches:
                v = m.get(column)
                if v not in (None, ""):
                    found.append(v)
            value = mv_pack(found)
            if value is None:
                row.pop(event_field, None)
            else:
                row[event_field] = value
    return rows


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


# ---------------------------------------------------------------------------------------
# tstats over CIM data models

DATAMODELS = {
    "Network_Traffic": {"All_Traffic": lambda tags: {"network", "communicate"} <= tags},
    "Network_Resolution": {"DNS": lambda tags: {"network", "resolution", "dns"} <= tags},
    "Endpoint": {"Processes": lambda tags: {"process", "report"} <= tags},
}
CIM_FIELDS = {
    "All_Traffic": ["action", "app", "bytes", "bytes_in", "bytes_out", "dest", "dest_ip",
                    "dest_port", "direction", "duration", "dvc", "packets_in", "packets_out",
                    "protocol", "src", "src_ip", "src_port", "transport", "user", "vendor_product",
                    "process_name", "process_path", "process_id", "process", "icmp_type",
                    "icmp_code", "packets"],
    "DNS": ["answer", "dest", "query", "record_type", "reply_code", "src", "transport",
            "dest_port", "src_port", "vendor_product", "process_name", "process_path"],
    "Processes": ["dest", "process", "process_name", "process_path", "process_id",
                  "parent_process", "parent_process_name", "parent_process_path",
                  "parent_process_id", "user", "vendor_product"],
}


def _datamodel_rows(ctx, model, dataset):
    datasets = DATAMODELS.get(model)
    if datasets is None:
        raise SplError("tstats: data model %r is not available offline (%s)" % (model, ", ".join(sorted(DATAMODELS))))
    if dataset is None:
        dataset = next(iter(datasets))
    if dataset not in datasets:
        raise SplError("tstats: dataset %s.%s is not available offline" % (model, dataset))
    member = datasets[dataset]
    out = []
    for ev in ctx.events:
        tags = set(to_str(t) for t in mv(ev.get("tag")))
        if not member(tags):
            continue
        row = {"_time": ev.get("_time"), "host": ev.get("host"), "source": ev.get("source"),
               "sourcetype": ev.get("sourcetype"), "index": ev.get("index")}
        for f in CIM_FIELDS[dataset]:
            if ev.get(f) is not None:
                row["%s.%s" % (dataset, f)] = ev[f]
        if row.get(dataset + ".bytes") is None and (ev.get("bytes_in") is not None or ev.get("bytes_out") is not None):
            total = (to_number(ev.get("bytes_in")) or 0) + (to_number(ev.get("bytes_out")) or 0)
            row[dataset + ".bytes"] = total
        out.append({k: v for k, v in row.items() if v is not None})
    return out, dataset


def cmd_tstats(ctx, args, rows):
    m = re.match(r"^(?P<head>.*?)\s+from\s+datamodel\s*=\s*(?P<dm>[\w.]+)(?P<tail>.*)$", args, re.S | re.I)
    if not m:
        raise SplError("tstats: only 'from datamodel=<Model>' is supported offline")
    head = m.group("head")
    opts, head_rest = {}, []
    for word, quoted in words(head):
        if "=" in word and not quoted and "(" not in word:
            k, v = word.split("=", 1)
            opts[k.lower()] = v
        else:
            head_rest.append(word)
    if parse_bool(opts.get("prestats", "false"), "tstats prestats"):
        raise SplError("tstats: prestats=true is not supported offline")
    model, _, dataset = m.group("dm").partition(".")
    data, dataset = _datamodel_rows(ctx, model, dataset or None)
    tail = m.group("tail")
    by_text, where_text = "", ""
    bm = re.search(r"\s[Bb][Yy]\s", tail + " ")
    if bm:
        by_text = tail[bm.end():]
        tail = tail[:bm.start()]
    wm = re.match(r"^\s*(?:where\s+(?P<w>.*))?$", tail, re.S | re.I)
    if not wm:
        raise SplError("tstats: cannot parse %r" % tail.strip())
    where_text = wm.group("w") or ""
    where_text = re.sub(r"\bnodename\s*=\s*\S+", "", where_text)
    if where_text.strip():
        expr = SearchExpression(where_text)
        data = [r for r in data if expr(r)]
    by_opts, by_items = take_options(words(by_text), {"span"})
    by = [w for w, _ in by_items]
    if "span" in by_opts:
        if "_time" not in by:
            raise SplError("tstats: span= needs _time in the by clause")
        cmd_bin(ctx, "span=%s _time" % by_opts["span"], data)
    agg_text = " ".join(head_rest)
    stats_text = agg_text + ((" by " + " ".join(by)) if by else "")
    return cmd_stats(ctx, stats_text, data)


# ---------------------------------------------------------------------------------------
# custom commands through search command protocol v2


def make_custom(name):
    def run(ctx, args, rows):
        return ctx.run_custom(name, args, rows)
    return run


COMMANDS = {
    "search": cmd_search, "where": cmd_where, "eval": cmd_eval, "stats": cmd_stats,
    "eventstats": cmd_eventstats, "bin": cmd_bin, "bucket": cmd_bin, "table": cmd_table,
    "fields": cmd_fields, "rename": cmd_rename, "sort": cmd_sort, "head": cmd_head,
    "tail": cmd_tail, "dedup": cmd_dedup, "fillnull": cmd_fillnull, "rex": cmd_rex,
    "lookup": cmd_lookup, "inputlookup": cmd_inputlookup, "outputlookup": cmd_outputlookup,
    "tstats": cmd_tstats, "makeresults": cmd_makeresults, "mvexpand": cmd_mvexpand,
}
GENERATING = {"tstats", "inputlookup", "makeresults"}
CUSTOM = ("c2entropy", "c2asym", "c2beacon")
for _name in CUSTOM:
    COMMANDS[_name] = make_custom(_name)
