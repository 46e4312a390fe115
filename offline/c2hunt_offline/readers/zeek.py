"""Zeek logs, TSV (``#fields`` header) or JSON lines, as the Splunk Add-on for Zeek names them."""
import os

from .common import ReadIssue, parse_iso, put, scalar_text

ZEEK_SOURCETYPES = {"conn": "bro:conn:json", "dns": "bro:dns:json",
                    "http": "bro:http:json", "ssl": "bro:ssl:json"}


def _zeek_cim(ev, kind):
    g = ev.get
    put(ev, "src", g("id.orig_h"))
    put(ev, "src_ip", g("id.orig_h"))
    put(ev, "src_port", g("id.orig_p"))
    put(ev, "dest", g("id.resp_h"))
    put(ev, "dest_ip", g("id.resp_h"))
    put(ev, "dest_port", g("id.resp_p"))
    if kind == "conn":
        put(ev, "transport", g("proto"))
        ev["protocol"] = "ip"
        put(ev, "app", g("service"))
        put(ev, "duration", g("duration"))
        put(ev, "bytes_out", g("orig_bytes"))
        put(ev, "bytes_in", g("resp_bytes"))
        put(ev, "packets_out", g("orig_pkts"))
        put(ev, "packets_in", g("resp_pkts"))
        try:
            ev["bytes"] = str(int(g("orig_bytes") or 0) + int(g("resp_bytes") or 0))
        except ValueError:
            pass
        ev["tag"] = ["network", "communicate"]
    elif kind == "dns":
        put(ev, "query", g("query"))
        put(ev, "record_type", g("qtype_name"))
        put(ev, "reply_code", g("rcode_name"))
        put(ev, "answer", g("answers"))
        put(ev, "transport", g("proto"))
        ev["tag"] = ["network", "resolution", "dns"]
    elif kind == "http":
        put(ev, "http_method", g("method"))
        put(ev, "site", g("host"))
        put(ev, "uri_path", g("uri"))
        if g("host") is not None:
            ev["url"] = "http://%s%s" % (g("host"), g("uri") or "")
        put(ev, "http_user_agent", g("user_agent"))
        put(ev, "status", g("status_code"))
        put(ev, "bytes_out", g("request_body_len"))
        put(ev, "bytes_in", g("response_body_len"))
        ev["tag"] = ["network", "web"]
    elif kind == "ssl":
        put(ev, "ssl_subject_common_name", g("server_name"))
        put(ev, "ssl_version", g("version"))
        ev["tag"] = ["network", "certificate"]


def zeek_event(kind, fields, raw, path):
    ev = {"sourcetype": ZEEK_SOURCETYPES[kind], "source": str(path), "c2hunt_file": str(path),
          "_raw": raw}
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):
            put(ev, key, [scalar_text(v) for v in value])
        elif isinstance(value, dict):
            for sub, subval in value.items():  # nested id {orig_h ...} in some exports
                put(ev, "%s.%s" % (key, sub), scalar_text(subval))
        else:
            put(ev, key, scalar_text(value))
    ts = ev.get("ts")
    if ts is None:
        raise ValueError("no ts field")
    try:
        ev["_time"] = float(ts)
    except ValueError:
        ev["_time"] = parse_iso(ts)
    _zeek_cim(ev, kind)
    return ev



def zeek_kind_from_name(path):
    base = os.path.basename(str(path)).lower()
    for kind in ZEEK_SOURCETYPES:
        if base.startswith(kind):
            return kind
    return None


def zeek_kind_from_keys(keys):
    keys = set(keys)
    if {"query", "qtype_name"} & keys or "qtype" in keys:
        return "dns"
    if {"method", "uri"} <= keys or "user_agent" in keys:
        return "http"
    if {"server_name", "cipher"} & keys and "conn_state" not in keys:
        return "ssl"
    if {"conn_state", "orig_bytes", "proto"} & keys:
        return "conn"
    return None


def read_zeek_tsv(path, lines):
    events, issues = [], []
    kind, names, sep, unset, empty = None, None, "\t", "-", "(empty)"
    set_sep = ","
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#separator"):
                sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
            else:
                parts = line.split(sep)
                head = parts[0]
                if head == "#path":
                    kind = parts[1]
                elif head == "#fields":
                    names = parts[1:]
                elif head == "#unset_field":
                    unset = parts[1]
                elif head == "#empty_field":
                    empty = parts[1]
                elif head == "#set_separator":
                    set_sep = parts[1]
            continue
        if names is None:
            issues.append(ReadIssue(path, n, "Zeek TSV data line before the #fields header"))
            continue
        values = line.split(sep)
        if len(values) != len(names):
            issues.append(ReadIssue(path, n, "Zeek TSV line has %d columns, header has %d"
                                    % (len(values), len(names))))
            continue
        kind_here = kind or zeek_kind_from_name(path) or zeek_kind_from_keys(names)
        if kind_here not in ZEEK_SOURCETYPES:
            issues.append(ReadIssue(path, n, "unsupported Zeek log type %r (conn, dns, http, ssl)" % kind_here))
            return events, issues
        fields = {}
        for name, value in zip(names, values):
            if value == unset:
                continue
            if value == empty:
                fields[name] = ""
            elif name in ("answers", "TTLs", "tags", "resp_mime_types", "orig_mime_types",
                          "cert_chain_fuids", "client_cert_chain_fuids") and set_sep in value:
                fields[name] = value.split(set_sep)
            else:
                fields[name] = value
        try:
            events.append(zeek_event(kind_here, fields, line, path))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "bad Zeek record: %s" % exc))
    return events, issues
