"""Zeek logs, TSV (``#fields`` header) or JSON lines, as the Splunk Add-on for Zeek names them.

Every Zeek log type is read: sourcetype ``bro:<path>:json`` (the TA's naming), the path from
the TSV ``#path`` header, the JSON ``_path`` key or the file name (``conn.log``,
``conn.log.gz``, hourly ``conn.00:00:00-01:00:00.log.gz``, ``dhcp.log.labeled``). Fields keep
their Zeek names (``id.orig_h``, ``certificate.subject``, ``san.dns`` ...), also when a log
pipeline flattened them to ``id_orig_h``/``certificate_subject`` or nested them as objects.
conn, dns, http and ssl get the TA's CIM fields and tags; x509 is kept as it is; any other
type is read as generic events (CIM src/dest/ports/transport from ``id.*``) with one warning
per file.
"""
import functools
import json
import os
import re

from .common import ReadIssue, parse_iso, put, scalar_text

# The types the searches read, with the TA's CIM fields and tags.
CIM_KINDS = ("conn", "dns", "http", "ssl")
# Read as they are, without a warning (the TLS searches read x509 by its Zeek names).
KNOWN_KINDS = CIM_KINDS + ("x509",)
ZEEK_SOURCETYPES = {kind: "bro:%s:json" % kind for kind in KNOWN_KINDS}
_SOURCETYPE = re.compile(r"^(?:bro|zeek):(?P<path>[a-z][a-z0-9_]*)(?::json)?$")

# Zeek's own log paths (base scripts and common packages, RITA's open_* logs), so a JSON file
# named after one is known as Zeek even when its records carry no connection id.
ZEEK_PATHS = frozenset("""
    conn dns http ssl x509 files dhcp quic notice weird ssh sip tunnel dpd smtp ftp irc rdp
    rfb socks software syslog mysql radius ntp snmp kerberos ntlm dce_rpc smb_files smb_mapping
    smb_cmd pe ocsp known_hosts known_services known_certs known_devices capture_loss
    loaded_scripts packet_filter reporter stats analyzer signatures intel traceroute notice_alarm
    weird_stats conn_long modbus dnp3 mqtt_connect mqtt_publish mqtt_subscribe ldap ldap_search
    websocket arp netcontrol open_conn open_http open_ssl dns_unmatched unified2 config
    telemetry cluster broker print
""".split())

# Where a log pipeline flattened Zeek's record names with "_" instead of ".".
_FLATTENED = re.compile(r"^(?P<record>id|certificate|san|basic_constraints)_"
                        r"(?P<field>\w+)$")
_FLATTENED_FIELDS = {
    "id": {"orig_h", "orig_p", "resp_h", "resp_p", "vlan", "vlan_inner"},
    "certificate": {"version", "serial", "subject", "issuer", "not_valid_before",
                    "not_valid_after", "key_alg", "sig_alg", "key_type", "key_length",
                    "exponent", "curve", "cn", "tbs_sig_alg"},
    "san": {"dns", "uri", "email", "ip"},
    "basic_constraints": {"ca", "path_len"},
}

# Logs whose protocol fixes the transport when the record has no proto field.
_TRANSPORT_OF_PATH = {"quic": "udp", "dhcp": "udp", "ntp": "udp", "ssh": "tcp", "rdp": "tcp",
                      "smtp": "tcp", "ftp": "tcp", "irc": "tcp", "socks": "tcp",
                      "mysql": "tcp", "rfb": "tcp", "smb_files": "tcp", "smb_mapping": "tcp"}

# Set and vector columns of TSV logs without a #types header.
_MULTIVALUE_NAMES = {"answers", "TTLs", "tags", "resp_mime_types", "orig_mime_types",
                     "cert_chain_fuids", "client_cert_chain_fuids", "cert_chain_fps",
                     "client_cert_chain_fps", "san.dns", "san.uri", "san.email", "san.ip",
                     "tx_hosts", "rx_hosts", "conn_uids", "analyzers", "resp_fuids",
                     "orig_fuids", "resp_filenames", "orig_filenames", "actions", "tunnel_parents"}


@functools.lru_cache(maxsize=4096)
def zeek_name(key):
    """A field name as Zeek writes it: ``id_orig_h`` -> ``id.orig_h``, others unchanged."""
    match = _FLATTENED.match(key)
    if match and match.group("field") in _FLATTENED_FIELDS[match.group("record")]:
        return "%s.%s" % (match.group("record"), match.group("field"))
    return key


def _flatten(value, prefix, out):
    """Nested JSON objects as Zeek's dotted names; arrays of scalars stay multivalue."""
    if isinstance(value, dict):
        for sub, item in value.items():
            _flatten(item, "%s.%s" % (prefix, sub), out)
    else:
        out[prefix] = value


def _zeek_cim(ev, kind):
    """The Splunk Add-on for Zeek's CIM aliases for the four log types the searches read."""
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
    """One Zeek record (dict of name -> value, TSV or JSON) as the TA indexes it.

    ``kind`` is the Zeek log path (conn, dns, dhcp ...). Raises ValueError when a record of a
    type the searches read (conn, dns, http, ssl) has no ``ts``.
    """
    ev = {"sourcetype": "bro:%s:json" % kind, "source": str(path), "c2hunt_file": str(path),
          "_raw": raw}
    flat = {}
    for key, value in fields.items():
        if key == "_path":
            continue
        name = zeek_name(key)
        if isinstance(value, dict):  # nested id {orig_h ...} or certificate {...}
            _flatten(value, name, flat)
        else:
            flat[name] = value
    for name in _TIME_FIELDS.intersection(flat):
        flat[name] = _seconds(flat[name])
    for key, value in flat.items():
        if isinstance(value, (list, tuple)):
            put(ev, key, [json.dumps(v, sort_keys=True) if isinstance(v, (dict, list))
                          else scalar_text(v) for v in value])
        else:
            put(ev, key, scalar_text(value))
    # ts as Zeek writes it; pipelines that move it keep it as @timestamp
    ts = ev.get("ts") or ev.get("@timestamp")
    if ts is not None:
        try:
            ev["_time"] = float(ts)
        except ValueError:
            ev["_time"] = parse_iso(ts)
    elif kind in CIM_KINDS:
        raise ValueError("no ts field")
    if kind in CIM_KINDS:
        _zeek_cim(ev, kind)
    elif kind != "x509":
        _generic_cim(ev, kind)
    return ev


# Zeek's time fields the searches read. With ``LogAscii::json_timestamps = JSON::TS_MILLIS``
# (the setting for Elasticsearch) Zeek writes them as whole milliseconds since the epoch.
_TIME_FIELDS = frozenset(("ts", "certificate.not_valid_before", "certificate.not_valid_after",
                          "not_valid_before", "not_valid_after"))
# Epoch seconds this large are past the year 5000: such a time is in milliseconds.
MILLISECONDS_FROM = 1e11


def _seconds(value):
    """A Zeek time as epoch seconds: a number of MILLISECONDS_FROM or more (JSON::TS_MILLIS)
    divided by 1,000; anything else as it is."""
    if isinstance(value, str):
        if not value.isdigit():
            return value
        number = int(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    else:
        return value
    return number / 1000.0 if number >= MILLISECONDS_FROM else value


def _generic_cim(ev, kind):
    """src/dest/ports/transport of a log type the searches do not read, from its id.*."""
    g = ev.get
    if g("id.orig_h") is None and g("id.resp_h") is None:
        return
    put(ev, "src", g("id.orig_h"))
    put(ev, "src_port", g("id.orig_p"))
    put(ev, "dest", g("id.resp_h"))
    put(ev, "dest_port", g("id.resp_p"))
    put(ev, "transport", g("proto") or _TRANSPORT_OF_PATH.get(kind))


def zeek_kind_from_sourcetype(sourcetype):
    """``bro:dhcp:json`` -> ``dhcp``; None for other sourcetypes."""
    match = _SOURCETYPE.match(sourcetype or "")
    return match.group("path") if match else None


def zeek_kind_from_name(path):
    """The Zeek log path a file name gives, or None.

    ``conn.log``, ``conn.log.gz``, ``conn.00:00:00-01:00:00.log.gz``, ``dhcp.log.labeled``,
    ``open_conn.17_32_32-18_00_00.log.gz`` give their first name part when it is a Zeek log
    path; otherwise a name starting with conn/dns/http/ssl (``conn_json.log``) gives that.
    """
    base = os.path.basename(str(path)).lower()
    stem = base.split(".", 1)[0]
    if stem in ZEEK_PATHS:
        return stem
    for kind in CIM_KINDS:
        if base.startswith(kind):
            return kind
    return None


def zeek_kind_from_keys(keys):
    keys = {zeek_name(k) for k in keys}
    if {"query", "qtype_name"} & keys or "qtype" in keys:
        return "dns"
    if {"method", "uri"} <= keys or "user_agent" in keys:
        return "http"
    if {"server_name", "cipher"} & keys and "conn_state" not in keys:
        return "ssl"
    if {"conn_state", "orig_bytes", "proto"} & keys:
        return "conn"
    if {"certificate.subject", "certificate.issuer"} & keys or "certificate" in keys:
        return "x509"
    return None


def is_zeek_json(obj, path):
    """A JSON object is a Zeek record: it names its log (``_path``), comes from a file named
    after a Zeek log, or has Zeek's ``ts`` with a connection id or file id."""
    if "_path" in obj or zeek_kind_from_name(path) is not None:
        return True
    if "ts" not in obj:
        return False
    return bool({"uid", "fuid", "id", "id.orig_h", "id_orig_h"} & set(obj)) or \
        zeek_kind_from_keys(obj) is not None


def zeek_kind_of_json(obj, path):
    """The log path of one Zeek JSON record: ``_path``, else the file name, else its keys."""
    path_key = obj.get("_path")
    if isinstance(path_key, str) and re.match(r"^[a-z][a-z0-9_]*$", path_key):
        return path_key
    return zeek_kind_from_name(path) or zeek_kind_from_keys(obj) or "unknown"


def generic_kind_warning(path, kind):
    """The one warning of a file whose Zeek log type the searches do not read."""
    return ReadIssue(path, None, "Zeek %s log read as generic events (sourcetype bro:%s:json)"
                     % (kind, kind), level="warning")


_NO_HEADER_ROW = re.compile(r"^\d{9,10}\.\d+\t\S+\t")


def looks_like_headerless_zeek(first_line):
    """A Zeek TSV row (epoch ts, tab, ...) with no header before it."""
    return bool(_NO_HEADER_ROW.match(first_line))


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def is_zeek_tsv_mode_header(first_line):
    """The first line is the one header of Zeek's ``tsv`` mode (LogAscii's per-filter config
    ``tsv=T``: the column names, tab-separated, with no ``#fields`` and no other header): it
    starts with ``ts`` and names a connection or file id."""
    names = first_line.rstrip("\r\n").split("\t")
    return len(names) >= 3 and names[0] == "ts" and all(_FIELD_NAME.match(n) for n in names) and \
        bool({"uid", "fuid", "id.orig_h", "id_orig_h", "id"} & set(names))


def read_zeek_tsv(path, lines, name_hint=None):
    """Zeek TSV: ``#separator``/``#fields``/``#types`` headers, then one record a line.

    ``name_hint`` is the file name the log type is taken from when there is no ``#path``
    header (the name without ``.gz`` for compressed input).
    """
    events, issues = [], []
    kind, names, types, sep, unset, empty = None, None, None, "\t", "-", "(empty)"
    set_sep = ","
    warned = False
    multivalue = None
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line:
            continue
        header = line.lstrip()  # some writers indent the first header line
        if header.startswith("#"):
            multivalue = None
            if header.startswith("#separator"):
                sep = header.split(" ", 1)[1].encode().decode("unicode_escape")
            else:
                parts = header.split(sep)
                head = parts[0]
                if head == "#path":
                    kind = parts[1]
                elif head == "#fields":
                    names = [zeek_name(name) for name in parts[1:]]
                elif head == "#types":
                    types = parts[1:]
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
        while len(values) > len(names) and values[-1] == "":
            values.pop()  # a writer that ends every row with the separator
        if len(values) != len(names):
            issues.append(ReadIssue(path, n, "Zeek TSV line has %d columns, header has %d"
                                    % (len(values), len(names))))
            continue
        kind_here = kind or zeek_kind_from_name(name_hint or path) or \
            zeek_kind_from_keys(names) or "unknown"
        if kind_here not in KNOWN_KINDS and not warned:
            issues.append(generic_kind_warning(path, kind_here))
            warned = True
        if multivalue is None:
            multivalue = _multivalue_columns(names, types)
        fields = {}
        for name, value, is_set in zip(names, values, multivalue):
            if value == unset:
                continue
            if value == empty:
                fields[name] = ""
            elif is_set and set_sep in value:
                fields[name] = value.split(set_sep)
            else:
                fields[name] = value
        try:
            events.append(zeek_event(kind_here, fields, line, path))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "bad Zeek record: %s" % exc))
    return events, issues


def _multivalue_columns(names, types):
    """Which columns hold sets/vectors: from #types when the log has it, else by name."""
    if types is not None and len(types) == len(names):
        return [t.startswith(("set[", "vector[")) for t in types]
    return [name in _MULTIVALUE_NAMES for name in names]


# Zeek logs indexed by Filebeat's Zeek module (x-pack/filebeat/module/zeek, ECS), as exported
# from Elasticsearch: ``event.module: zeek``, ``event.dataset: zeek.<fileset>`` (conn is
# ``connection``), the connection id as source/destination, uid as ``zeek.session_id``,
# the fields below under ECS names, the rest under ``zeek.<fileset>.<name>``.
_ECS_COMMON = (("source.ip", "id.orig_h"), ("source.address", "id.orig_h"), ("source.port", "id.orig_p"),
               ("destination.ip", "id.resp_h"), ("destination.address", "id.resp_h"),
               ("destination.port", "id.resp_p"), ("zeek.session_id", "uid"), ("network.transport", "proto"))
_ECS_BY_KIND = {
    "conn": (("network.protocol", "service"), ("source.bytes", "orig_ip_bytes"),
             ("destination.bytes", "resp_ip_bytes"), ("source.packets", "orig_pkts"),
             ("destination.packets", "resp_pkts"), ("source.mac", "orig_l2_addr"),
             ("destination.mac", "resp_l2_addr")),
    "http": (("http.request.method", "method"), ("http.request.referrer", "referrer"),
             ("http.response.status_code", "status_code"), ("http.version", "version"),
             ("http.request.body.bytes", "request_body_len"), ("http.response.body.bytes", "response_body_len"),
             ("url.original", "uri"), ("url.domain", "host"), ("url.username", "username"),
             ("user_agent.original", "user_agent")),
    "ssl": (("tls.client.ja3", "ja3"), ("tls.server.ja3s", "ja3s"), ("tls.server.not_before", "not_valid_before"),
            ("tls.server.not_after", "not_valid_after"), ("tls.server.subject", "subject"),
            ("tls.server.issuer", "issuer"), ("tls.client.issuer", "client_issuer")),
}
# Names the module gives inside zeek.<fileset> -> Zeek's.
_ECS_RENAMED = {"conn": {"state": "conn_state", "icmp.type": "id.orig_p", "icmp.code": "id.resp_p"},
                "ssl": {"server.name": "server_name", "server.cert_chain": "cert_chain",
                        "server.cert_chain_fuids": "cert_chain_fuids", "client.cert_chain": "client_cert_chain",
                        "client.cert_chain_fuids": "client_cert_chain_fuids",
                        "validation.status": "validation_status", "validation.code": "validation_code"}}


def ecs_zeek_record(obj):
    """(Zeek log path, record in Zeek's names) of a document Filebeat's Zeek module indexed
    (nested or dotted names), or None. conn's duration comes back from ``event.duration``
    (nanoseconds), ts from ``@timestamp`` (milliseconds); orig_bytes and resp_bytes, which the
    module drops, stay absent (its source.bytes is orig_ip_bytes)."""
    event = obj.get("event")
    module = event.get("module") if isinstance(event, dict) else obj.get("event.module")
    dataset = event.get("dataset") if isinstance(event, dict) else obj.get("event.dataset")
    if not isinstance(dataset, str) or not (module == "zeek" or dataset.startswith("zeek.")):
        return None
    flat = {}
    for key, value in obj.items():
        _flatten(value, key, flat)
    fileset = dataset[len("zeek."):] if dataset.startswith("zeek.") else dataset
    kind = "conn" if fileset in ("connection", "conn") else fileset
    prefix = "zeek.%s." % fileset
    renamed = _ECS_RENAMED.get(kind, {})
    fields = {}
    for name, value in flat.items():
        if name.startswith(prefix):
            inner = name[len(prefix):]
            fields[renamed.get(inner, inner)] = value
    for ecs, zeek in _ECS_COMMON + _ECS_BY_KIND.get(kind, ()):
        if ecs in flat and zeek not in fields:
            fields[zeek] = flat[ecs]
    duration = flat.get("event.duration")
    if kind == "conn" and isinstance(duration, (int, float)) and not isinstance(duration, bool):
        fields.setdefault("duration", duration / 1e9)
    if "ts" not in fields and flat.get("@timestamp") is not None:
        fields["ts"] = flat["@timestamp"]
    return kind, fields
