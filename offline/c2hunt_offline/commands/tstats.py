"""tstats over the CIM data models the app's searches use, built from the events' tags."""
import re

from ..searchexpr import SearchExpression
from ..values import SplError, Unavailable, mv, to_number, to_str
from .arguments import parse_bool, take_options, words
from .buckets import cmd_bin
from .stats import cmd_stats


DATAMODELS = {
    "Network_Traffic": {"All_Traffic": lambda tags: {"network", "communicate"} <= tags},
    "Network_Resolution": {"DNS": lambda tags: {"network", "resolution", "dns"} <= tags},
    "Endpoint": {"Processes": lambda tags: {"process", "report"} <= tags},
    "Web": {"Web": lambda tags: "web" in tags},
}
CIM_FIELDS = {
    "All_Traffic": ["action", "app", "bytes", "bytes_in", "bytes_out", "dest", "dest_ip",
                    "dest_port", "direction", "duration", "dvc", "packets_in", "packets_out",
                    "protocol", "src", "src_ip", "src_port", "transport", "user", "vendor_product",
                    "process_name", "process_path", "process_id", "process", "icmp_type",
                    "icmp_code", "packets", "dest_category", "src_category", "session_id",
                    "flow_id", "vendor_account", "rule"],
    "DNS": ["answer", "answer_count", "dest", "query", "query_count", "query_type",
            "record_type", "reply_code", "reply_code_id", "message_type", "response_time",
            "transaction_id", "src", "transport", "ttl", "dest_port", "src_port",
            "vendor_product", "process_name", "process_path"],
    "Web": ["action", "app", "bytes", "bytes_in", "bytes_out", "cached", "category", "dest",
            "dest_port", "duration", "http_content_type", "http_method", "http_referrer",
            "http_referrer_domain", "http_user_agent", "http_user_agent_length",
            "response_time", "site", "src", "status", "uri_path", "uri_query", "url",
            "url_domain", "url_length", "user", "vendor_product"],
    "Processes": ["dest", "process", "process_name", "process_path", "process_id",
                  "parent_process", "parent_process_name", "parent_process_path",
                  "parent_process_id", "user", "vendor_product"],
}


def _datamodel_rows(ctx, model, dataset):
    datasets = DATAMODELS.get(model)
    if datasets is None:
        raise Unavailable("tstats: data model %r is not available offline (%s)" % (model, ", ".join(sorted(DATAMODELS))))
    if dataset is None:
        dataset = next(iter(datasets))
    if dataset not in datasets:
        raise Unavailable("tstats: dataset %s.%s is not available offline" % (model, dataset))
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


class TstatsQuery(object):
    """A parsed ``tstats``: what both engines need, parsed once the same way (same errors)."""

    def __init__(self, model, dataset, where, by, span, fill, stats_text):
        self.model, self.dataset, self.where = model, dataset, where
        self.by, self.span, self.fill, self.stats_text = by, span, fill, stats_text


def parse_tstats(args):
    """The :class:`TstatsQuery` of ``args``; SplError for what the offline tstats cannot do.
    ``dataset`` is None when the search names only the model; ``where`` a SearchExpression
    or None."""
    m = re.match(r"^(?P<head>.*?)\s+from\s+datamodel\s*=\s*\"?(?P<dm>[\w.]+)\"?(?P<tail>.*)$", args, re.S | re.I)
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
    where_text = re.sub(r"\bnodename\s*=\s*[^\s()]+", "*", where_text)  # "(nodename = X)" too
    where = SearchExpression(where_text) if where_text.strip() else None
    by_opts, by_items = take_options(words(by_text), {"span"})
    by = [w for w, _ in by_items]
    if "span" in by_opts and "_time" not in by:
        raise SplError("tstats: span= needs _time in the by clause")
    fill = opts.get("fillnull_value")
    if fill is not None:
        fill = fill.strip('"')
    agg_text = " ".join(head_rest)
    stats_text = agg_text + ((" by " + " ".join(by)) if by else "")
    return TstatsQuery(model, dataset or None, where, by, by_opts.get("span"), fill, stats_text)


def cmd_tstats(ctx, args, rows):
    query = parse_tstats(args)
    missing = None
    try:
        data, dataset = _datamodel_rows(ctx, query.model, query.dataset)
    except Unavailable as exc:  # parse the rest first: a syntax error is the better message
        missing, data = exc, []
    if query.where is not None:
        data = [r for r in data if query.where(r)]
    if query.span is not None:
        cmd_bin(ctx, "span=%s _time" % query.span, data)
    if query.fill is not None:  # tstats keeps rows whose by-fields are missing under this value
        for row in data:
            for field in query.by:
                if field != "_time" and row.get(field) is None:
                    row[field] = query.fill
    result = cmd_stats(ctx, query.stats_text, data)
    if missing is not None:
        raise missing
    return result
