"""stats and eventstats: aggregations over groups of rows."""
import math
import re
import statistics

from .. import limits
from ..evalexpr import Expression
from ..values import SplError, mv, mv_pack, sort_key, to_number, to_str


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


def _agg_tokens(text):
    """Top-level words of a stats argument list: ``f(...)`` calls with balanced parentheses
    (any depth, quotes respected), quoted strings, and other words; commas separate."""
    tokens, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == ",":
            i += 1
            continue
        j = i
        if text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            tokens.append(text[i:j + 1])
            i = j + 1
            continue
        depth, quote = 0, False
        while j < n:
            ch = text[j]
            if quote:
                if ch == "\\":
                    j += 1
                elif ch == '"':
                    quote = False
            elif ch == '"':
                quote = True
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif depth <= 0 and (ch.isspace() or ch == ","):
                # "values (x)": a call written with a space before its parenthesis
                k = j
                while k < n and text[k].isspace():
                    k += 1
                if not (k < n and text[k] == "(" and re.match(r"^[A-Za-z_]\w*$", text[i:j])):
                    break
                j = k
                continue
            j += 1
        tokens.append(text[i:j])
        i = j
    return tokens


def parse_aggregations(text, command):
    """``count, dc(x) AS n, values(y) BY a b`` -> ([_Agg], [by fields], options)."""
    tokens = _agg_tokens(text)
    by = []
    for k, tok in enumerate(tokens):
        if tok.lower() == "by":  # BY at top level (never inside eval(...) or quotes)
            by = [t.strip('"') for t in tokens[k + 1:]]
            tokens = tokens[:k]
            break
    aggs = []
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


def _added_in_order(nums):
    """``nums`` added strictly left to right, as Splunk accumulates a sum (and the columnar
    stats does): Python's ``sum()`` compensates float rounding from 3.12 on, so on Splunk's
    Python 3.13 it could differ from the plain sum in the last bit."""
    total = 0
    for number in nums:
        total = total + number
    return total


def _sum(values):
    nums = _numbers(values)
    return _added_in_order(nums) if nums else None


def _avg(values):
    nums = _numbers(values)
    return _added_in_order(nums) / len(nums) if nums else None


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
        return mv_pack(values[:limits.LIST_MAXSIZE])
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
        return _added_in_order(n * n for n in nums) if nums else None
    if agg.percentile is not None:
        return _percentile(_numbers(values), agg.percentile)
    raise SplError("stats: unsupported function %s()" % f)


def _group_keys(row, by):
    """Group keys of a row: one per combination of by-field values; none if a value is null.

    Each key is a tuple of (string form, original value) pairs, so numbers such as a binned
    ``_time`` stay numbers in the output.
    """
    plain = []  # the common case: every by-field one non-empty string
    for value in map(row.get, by):
        if type(value) is not str:
            break
        if value == "":
            return []
        plain.append((value, value))
    else:
        return [tuple(plain)]
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
        _warn_list_limit(ctx, "stats", aggs, [rows])
        out = {}
        for agg in aggs:
            value = _aggregate(agg, rows)
            if value is not None:
                out[agg.name] = value
        return [out]
    groups, originals = _groups(rows, by)
    _warn_list_limit(ctx, "stats", aggs, groups.values())
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


def _warn_list_limit(ctx, command, aggs, groups):
    """The job inspector's warning when list() dropped values (limits.conf list_maxsize)."""
    if any(a.func == "list" for a in aggs) and any(len(g) > limits.LIST_MAXSIZE for g in groups):
        ctx.messages.append("%s: WARN list() kept the first %d values of a group "
                            "(limits.conf [stats] list_maxsize)" % (command, limits.LIST_MAXSIZE))


def cmd_eventstats(ctx, args, rows):
    aggs, by, _ = parse_aggregations(args, "eventstats")
    cutoff = limits.eventstats_cutoff(rows)
    if cutoff is not None:
        # past maxresultrows and max_mem_usage_mb, Splunk's eventstats stops adding fields
        ctx.messages.append(limits.eventstats_cutoff_message(cutoff, len(rows)))
        cmd_eventstats(ctx, args, rows[:cutoff])
        return rows
    if not by:
        _warn_list_limit(ctx, "eventstats", aggs, [rows])
        values = {agg.name: _aggregate(agg, rows) for agg in aggs}
        for row in rows:
            for name, value in values.items():
                if value is not None:
                    row[name] = value
        return rows
    groups, _ = _groups(rows, by)
    _warn_list_limit(ctx, "eventstats", aggs, groups.values())
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
