"""Suricata EVE JSON lines, as a Splunk site with the Suricata add-on (TA-suricata) indexes them.

Sourcetype ``suricata``; every EVE key is kept under the name Splunk's ``KV_MODE = json``
gives it (``event_type``, ``src_ip``, ``flow.bytes_toserver``, ``dns.answers{}.rdata``,
``http.hostname``, ``alert.signature``), and the add-on's CIM fields and tags are added beside
them, so the ``- CIM -`` searches read Suricata through the data models:

- ``flow`` and ``netflow``: Network_Traffic (``network communicate``);
- ``dns`` (version 1: one record per query and per answer; version 2: the answers of a
  response in ``dns.answers``; version 3: ``dns.queries``): Network_Resolution
  (``network resolution dns``);
- ``http``: Web (``network web``); ``tls``: certificate fields (``network certificate``);
- ``alert``: Intrusion_Detection (``ids attack``);
- ``anomaly``, ``fileinfo`` and any other type: the raw keys plus src/dest/ports/transport.

Two choices where EVE and the CIM differ: ``transport`` is the lower-cased ``proto`` with
``ipv6-icmp`` as ``icmp`` (as Zeek and the CIM name both ICMPs), and a DNS response's ``src`` is
the client (the side that is not port 53), as the CIM defines ``DNS.src``, whichever way the
Suricata version wrote the record's addresses. Suricata's byte counts are of whole packets
(headers included), not of payload as Zeek's ``orig_bytes``; a flow's ``action`` is
``allowed`` (the sensor saw it cross the wire) unless an inline sensor dropped it.
"""
import re

from .common import parse_iso, put
from .osquery import _json_paths

SURICATA_SOURCETYPE = "suricata"
VENDOR_PRODUCT = "Suricata"

# EVE record types with a CIM mapping; others keep their raw keys and the network fields.
_TAGS = {
    "flow": ["network", "communicate"],
    "netflow": ["network", "communicate"],
    "dns": ["network", "resolution", "dns"],
    "http": ["network", "web"],
    "tls": ["network", "certificate"],
    "alert": ["ids", "attack"],
}
# Suricata names a flow whose protocol it could not recognise "failed": no application.
_NO_APP = {"failed", "unknown"}
# Suricata rule severity (1 highest) -> CIM Intrusion_Detection severity.
_SEVERITY = {"1": "high", "2": "medium", "3": "low", "4": "informational"}
_DNS_PORT = "53"
# Verdicts of an inline (IPS) Suricata on a flow or alert.
_BLOCKED = {"blocked", "drop", "dropped", "reject", "rejected"}
_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d\d)(\d\d)$")


def is_suricata_eve(obj):
    """An EVE record: ``event_type`` and ``timestamp`` always, the flow keys on network records."""
    return isinstance(obj.get("event_type"), str) and isinstance(obj.get("timestamp"), str) and (
        "src_ip" in obj or "flow_id" in obj or obj["event_type"] == "stats")


def eve_time(text):
    """EVE's ``2024-01-02T03:04:05.123456+0000`` (offset without a colon) as epoch seconds."""
    return parse_iso(_OFFSET_WITHOUT_COLON.sub(r"\1:\2", text.strip()))


def suricata_event(obj, raw, path):
    """One EVE record as an event; raises ValueError without a readable ``timestamp``."""
    ev = {"sourcetype": SURICATA_SOURCETYPE, "source": str(path), "_raw": raw}
    fields = {}
    _json_paths(obj, "", fields)
    for key, values in fields.items():
        put(ev, key, values)
    ev["_time"] = eve_time(obj["timestamp"])
    kind = obj["event_type"]
    _network_fields(ev)
    put(ev, "vendor_product", VENDOR_PRODUCT)
    mapper = _MAPPERS.get(kind)
    if mapper is not None:
        mapper(ev, obj.get(kind) if isinstance(obj.get(kind), dict) else {})
    if kind in _TAGS:
        ev["tag"] = list(_TAGS[kind])
    return ev


def _network_fields(ev):
    g = ev.get
    for cim, name in (("src", "src_ip"), ("dest", "dest_ip"), ("src_port", "src_port"),
                      ("dest_port", "dest_port")):
        put(ev, cim, g(name))
    proto = g("proto")
    if isinstance(proto, str):
        proto = proto.lower()
        ev["transport"] = "icmp" if proto in ("ipv6-icmp", "icmpv6") else proto
    app = g("app_proto")
    if isinstance(app, str) and app.lower() not in _NO_APP:
        ev["app"] = app.lower()
    put(ev, "dvc", g("host"))
    put(ev, "session_id", g("flow_id"))


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _count(value):
    number = _number(value)
    return None if number is None else str(int(number))


def _duration(section):
    """Seconds from the record's start to its end (``age`` is whole seconds only)."""
    start, end = section.get("start"), section.get("end")
    if isinstance(start, str) and isinstance(end, str):
        try:
            return max(0.0, eve_time(end) - eve_time(start))
        except ValueError:
            pass
    return _number(section.get("age"))


def _put_duration(ev, section):
    seconds = _duration(section)
    if seconds is not None:
        ev["duration"] = "%.6f" % seconds


def _flow_action(section):
    """A passive sensor saw the session cross the wire: allowed, unless an inline (IPS) sensor
    says it dropped it. The CIM needs an action (the searches drop ``blocked`` sessions)."""
    verdict = str(section.get("action") or "").lower()
    return "blocked" if verdict in _BLOCKED else "allowed"


def _map_flow(ev, flow):
    """Both directions of the session: to server is the source's, to client the destination's."""
    ev["protocol"] = "ip"
    out_bytes, in_bytes = _count(flow.get("bytes_toserver")), _count(flow.get("bytes_toclient"))
    out_pkts, in_pkts = _count(flow.get("pkts_toserver")), _count(flow.get("pkts_toclient"))
    put(ev, "bytes_out", out_bytes)
    put(ev, "bytes_in", in_bytes)
    put(ev, "packets_out", out_pkts)
    put(ev, "packets_in", in_pkts)
    if out_bytes is not None or in_bytes is not None:
        ev["bytes"] = str(int(out_bytes or 0) + int(in_bytes or 0))
    if out_pkts is not None or in_pkts is not None:
        ev["packets"] = str(int(out_pkts or 0) + int(in_pkts or 0))
    _put_duration(ev, flow)
    ev["action"] = _flow_action(flow)


def _map_netflow(ev, netflow):
    """One direction only (Suricata writes a record for each): its bytes are the source's."""
    ev["protocol"] = "ip"
    put(ev, "bytes_out", _count(netflow.get("bytes")))
    put(ev, "bytes", _count(netflow.get("bytes")))
    put(ev, "packets_out", _count(netflow.get("pkts")))
    put(ev, "packets", _count(netflow.get("pkts")))
    _put_duration(ev, netflow)
    ev["action"] = _flow_action(netflow)


def _map_dns(ev, dns):
    queries = dns.get("queries") if isinstance(dns.get("queries"), list) else []
    first_query = next((q for q in queries if isinstance(q, dict)), {})
    # v1/v2 name the question at the top (rrname/rrtype); v3 lists it in queries[]
    put(ev, "query", dns.get("rrname") or first_query.get("rrname"))
    record_type = dns.get("rrtype") or first_query.get("rrtype")
    put(ev, "record_type", record_type)
    put(ev, "query_type", record_type)
    put(ev, "reply_code", dns.get("rcode"))
    put(ev, "transaction_id", dns.get("id"))
    response = dns.get("type") in ("answer", "response")
    ev["message_type"] = "Response" if response else "Query"
    answers = dns.get("answers") if isinstance(dns.get("answers"), list) else []
    rdata = [a.get("rdata") for a in answers if isinstance(a, dict) and a.get("rdata") is not None]
    if not answers and response and dns.get("rdata") is not None:  # v1: one record per answer
        rdata = [dns["rdata"]]
    put(ev, "answer", rdata or None)
    if rdata:
        ev["answer_count"] = str(len(rdata))
    ttls = [a.get("ttl") for a in answers if isinstance(a, dict) and a.get("ttl") is not None]
    put(ev, "ttl", ttls or dns.get("ttl"))
    _client_as_source(ev)


def _client_as_source(ev):
    """CIM's DNS.src is the client: swap when the record names the server (port 53) as source."""
    if ev.get("src_port") == _DNS_PORT and ev.get("dest_port") != _DNS_PORT:
        for a, b in (("src", "dest"), ("src_port", "dest_port")):
            first, second = ev.get(a), ev.get(b)
            ev.pop(a, None)
            ev.pop(b, None)
            put(ev, a, second)
            put(ev, b, first)


def _map_http(ev, http):
    host = http.get("hostname")
    uri = http.get("url")
    put(ev, "site", host)
    put(ev, "http_method", http.get("http_method"))
    put(ev, "http_user_agent", http.get("http_user_agent"))
    put(ev, "http_referrer", http.get("http_refer"))
    put(ev, "http_content_type", http.get("http_content_type"))
    put(ev, "status", http.get("status"))
    put(ev, "bytes_in", _count(http.get("length")))
    if isinstance(uri, str):
        path, _, query = uri.partition("?")
        put(ev, "uri_path", path)
        put(ev, "uri_query", query)
        if isinstance(host, str) and host:
            ev["url"] = "http://%s%s" % (host, uri)


def _common_name(distinguished_name):
    if not isinstance(distinguished_name, str):
        return None
    match = re.search(r"(?:^|[,/]\s*)CN=([^,/]+)", distinguished_name)
    return match.group(1).strip() if match else None


def _map_tls(ev, tls):
    put(ev, "ssl_subject", tls.get("subject"))
    put(ev, "ssl_issuer", tls.get("issuerdn"))
    put(ev, "ssl_subject_common_name", _common_name(tls.get("subject")) or tls.get("sni"))
    put(ev, "ssl_issuer_common_name", _common_name(tls.get("issuerdn")))
    put(ev, "ssl_serial", tls.get("serial"))
    put(ev, "ssl_hash", tls.get("fingerprint"))
    put(ev, "ssl_version", tls.get("version"))
    put(ev, "ssl_start_time", tls.get("notbefore"))
    put(ev, "ssl_end_time", tls.get("notafter"))
    put(ev, "server_name", tls.get("sni"))


def _map_alert(ev, alert):
    put(ev, "signature", alert.get("signature"))
    put(ev, "signature_id", alert.get("signature_id"))
    put(ev, "category", alert.get("category"))
    put(ev, "severity_id", alert.get("severity"))
    put(ev, "severity", _SEVERITY.get(str(alert.get("severity"))))
    if alert.get("action") is not None:
        verdict = str(alert["action"]).lower()
        ev["action"] = "blocked" if verdict in _BLOCKED else "allowed"
    ev["ids_type"] = "network"


def _map_fileinfo(ev, fileinfo):
    put(ev, "file_name", fileinfo.get("filename"))
    put(ev, "file_size", fileinfo.get("size"))
    put(ev, "file_hash", fileinfo.get("sha256") or fileinfo.get("md5"))


_MAPPERS = {"flow": _map_flow, "netflow": _map_netflow, "dns": _map_dns, "http": _map_http,
            "tls": _map_tls, "alert": _map_alert, "fileinfo": _map_fileinfo}
