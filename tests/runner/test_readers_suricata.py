"""Suricata EVE JSON: the reader (sourcetype suricata, KV_MODE=json names, TA-suricata's CIM
fields and tags) and the four CIM variants on it.

The end-to-end tests re-express the firewall/proxy/DNS-server scenarios (samples/
x8_cim_network_c2: beaconing, a DNS tunnel, ICMP, SMB egress, SOCKS ...; samples/
benign_cim_network: browsing, SaaS polling, NTP, internal SMB) as the EVE records a Suricata
sensor on the same wire writes (flow per session, dns query and answer records in the
version 1, 2 and 3 layouts, http per plain-HTTP request), and assert the CIM searches raise
the same notables on them and stay quiet on the benign site.
"""
import datetime as dt
import functools
import gzip
import json
import tempfile
from pathlib import Path

import pytest

from c2hunt_offline.engine import Runner
from c2hunt_offline.readers.dispatch import detect_and_read

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

TRAFFIC = "C2Hunt - Network Protocol Anomaly Or Internal Protocol Egress - CIM - Rule"
DNS = "C2Hunt - DNS Tunnel - CIM - Rule"
BEACON = "C2Hunt - Periodic Beaconing - CIM - Rule"
WEB_BEACON = "C2Hunt - Web Beaconing - CIM - Rule"
CIM_SEARCHES = [TRAFFIC, DNS, BEACON, WEB_BEACON]

FLOW = {"timestamp": "2024-05-14T09:29:57.345123+0000", "flow_id": 1736193842761903,
        "in_iface": "eth1", "event_type": "flow", "src_ip": "10.20.1.31", "src_port": 50959,
        "dest_ip": "203.0.113.120", "dest_port": 443, "proto": "TCP", "app_proto": "tls",
        "flow": {"pkts_toserver": 7, "pkts_toclient": 8, "bytes_toserver": 1433,
                 "bytes_toclient": 5244, "start": "2024-05-14T09:29:57.345123+0000",
                 "end": "2024-05-14T09:29:58.145123+0000", "age": 1, "state": "closed",
                 "reason": "timeout", "alerted": False},
        "tcp": {"tcp_flags": "1b", "syn": True, "fin": True, "psh": True, "ack": True,
                "state": "closed"}}
DNS_V1_QUERY = {"timestamp": "2024-05-14T09:30:00.533000+0000", "flow_id": 1, "event_type": "dns",
                "src_ip": "10.20.1.36", "src_port": 53001, "dest_ip": "10.20.0.53",
                "dest_port": 53, "proto": "UDP",
                "dns": {"type": "query", "id": 46477, "rrname": "a1b2.example.org",
                        "rrtype": "TXT", "tx_id": 0}}
DNS_V2_ANSWER = {"timestamp": "2024-05-14T09:30:00.534000+0000", "flow_id": 1,
                 "event_type": "dns", "src_ip": "10.20.0.53", "src_port": 53,
                 "dest_ip": "10.20.1.36", "dest_port": 53001, "proto": "UDP",
                 "dns": {"version": 2, "type": "answer", "id": 46477, "flags": "8180",
                         "qr": True, "rd": True, "ra": True, "rrname": "a1b2.example.org",
                         "rrtype": "TXT", "rcode": "NOERROR",
                         "answers": [{"rrname": "a1b2.example.org", "rrtype": "TXT",
                                      "ttl": 60, "rdata": "c0ffee"},
                                     {"rrname": "a1b2.example.org", "rrtype": "TXT",
                                      "ttl": 60, "rdata": "beef"}],
                         "grouped": {"TXT": ["c0ffee", "beef"]}}}
DNS_V3_REQUEST = {"timestamp": "2024-05-14T09:30:00.533000+0000", "flow_id": 1,
                  "event_type": "dns", "src_ip": "10.20.1.36", "src_port": 53001,
                  "dest_ip": "10.20.0.53", "dest_port": 53, "proto": "UDP",
                  "dns": {"version": 3, "type": "request", "tx_id": 0, "id": 46477,
                          "flags": "100", "rd": True, "opcode": 0,
                          "queries": [{"rrname": "a1b2.example.org", "rrtype": "TXT"}]}}
HTTP = {"timestamp": "2024-05-14T09:30:01.750000+0000", "flow_id": 2, "event_type": "http",
        "src_ip": "10.20.1.37", "src_port": 50100, "dest_ip": "203.0.113.123", "dest_port": 80,
        "proto": "TCP", "tx_id": 0,
        "http": {"hostname": "cdn.example-jquery.net", "url": "/jquery.min.js?v=3",
                 "http_user_agent": "Mozilla/5.0", "http_content_type": "application/javascript",
                 "http_method": "GET", "protocol": "HTTP/1.1", "status": 200, "length": 5632}}
TLS = {"timestamp": "2024-05-14T09:30:02.000000+0000", "flow_id": 3, "event_type": "tls",
       "src_ip": "10.20.1.31", "src_port": 50960, "dest_ip": "203.0.113.120", "dest_port": 443,
       "proto": "TCP",
       "tls": {"subject": "C=US, O=Example, CN=update.example.net",
               "issuerdn": "C=US, O=Let's Encrypt, CN=R3", "serial": "04:AB",
               "fingerprint": "aa:bb:cc", "sni": "update.example.net", "version": "TLS 1.2",
               "notbefore": "2024-04-01T00:00:00", "notafter": "2024-06-30T00:00:00",
               "ja3": {"hash": "72a589da586844d7f0818ce684948eea"}}}
ALERT = {"timestamp": "2024-05-14T09:30:03.000000+0000", "flow_id": 3, "event_type": "alert",
         "src_ip": "10.20.1.31", "src_port": 50960, "dest_ip": "203.0.113.120",
         "dest_port": 443, "proto": "TCP",
         "alert": {"action": "allowed", "gid": 1, "signature_id": 2027757, "rev": 3,
                   "signature": "ET MALWARE Observed Cobalt Strike CnC", "category":
                   "A Network Trojan was detected", "severity": 1}}


def _read(tmp_path, records, name="eve.json", compress=False):
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    path = tmp_path / (name + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(text) if compress else text)
    events, issues = detect_and_read(path)
    assert not [i for i in issues if i.is_error()], issues
    return events


def test_flow_is_network_traffic_with_the_raw_eve_names(tmp_path):
    (ev,) = _read(tmp_path, [FLOW])
    assert ev["sourcetype"] == "suricata"
    assert ev["_time"] == pytest.approx(1715678997.345123)
    assert ev["flow.bytes_toserver"] == "1433" and ev["tcp.syn"] == "true"
    assert set(ev["tag"]) == {"network", "communicate"}
    assert (ev["src"], ev["dest"], ev["src_port"], ev["dest_port"]) == \
        ("10.20.1.31", "203.0.113.120", "50959", "443")
    assert (ev["transport"], ev["app"], ev["protocol"]) == ("tcp", "tls", "ip")
    assert (ev["bytes_out"], ev["bytes_in"], ev["bytes"]) == ("1433", "5244", "6677")
    assert (ev["packets_out"], ev["packets_in"]) == ("7", "8")
    assert float(ev["duration"]) == pytest.approx(0.8)
    assert ev["vendor_product"] == "Suricata" and ev["action"] == "allowed"
    (dropped,) = _read(tmp_path, [dict(FLOW, flow=dict(FLOW["flow"], action="drop"))], "ips.json")
    assert dropped["action"] == "blocked"


def test_gzip_netflow_and_unknown_app(tmp_path):
    netflow = {"timestamp": "2024-05-14T09:29:57.000000+0000", "flow_id": 9,
               "event_type": "netflow", "src_ip": "fe80::1", "dest_ip": "ff02::1",
               "proto": "IPv6-ICMP", "icmp_type": 135, "app_proto": "failed",
               "netflow": {"pkts": 3, "bytes": 258, "start": "2024-05-14T09:29:57.000000+0000",
                           "end": "2024-05-14T09:30:07.500000+0000", "age": 10}}
    (ev,) = _read(tmp_path, [netflow], compress=True)
    assert ev["transport"] == "icmp" and "app" not in ev
    assert (ev["bytes_out"], ev["packets_out"]) == ("258", "3")
    assert float(ev["duration"]) == pytest.approx(10.5)
    assert set(ev["tag"]) == {"network", "communicate"}


def test_dns_versions_give_the_same_cim_fields_and_the_client_as_source(tmp_path):
    query, answer, request = _read(tmp_path, [DNS_V1_QUERY, DNS_V2_ANSWER, DNS_V3_REQUEST])
    for ev in (query, answer, request):
        assert set(ev["tag"]) == {"network", "resolution", "dns"}
        assert (ev["src"], ev["dest"], ev["dest_port"]) == ("10.20.1.36", "10.20.0.53", "53")
        assert (ev["query"], ev["record_type"], ev["transport"]) == \
            ("a1b2.example.org", "TXT", "udp")
    assert query["message_type"] == "Query" and request["message_type"] == "Query"
    assert answer["message_type"] == "Response" and answer["reply_code"] == "NOERROR"
    assert answer["answer"] == ["c0ffee", "beef"] and answer["answer_count"] == "2"
    assert answer["dns.answers{}.rdata"] == ["c0ffee", "beef"]
    assert answer["src_ip"] == "10.20.0.53"  # the raw EVE key stays as written
    v1_answer = dict(DNS_V2_ANSWER, dns={"type": "answer", "id": 1, "rcode": "NOERROR",
                                         "rrname": "a1b2.example.org", "rrtype": "A",
                                         "ttl": 60, "rdata": "192.0.2.7"})
    (ev,) = _read(tmp_path, [v1_answer], name="v1.json")
    assert (ev["answer"], ev["record_type"], ev["src"]) == ("192.0.2.7", "A", "10.20.1.36")


def test_http_tls_and_alert(tmp_path):
    http, tls, alert = _read(tmp_path, [HTTP, TLS, ALERT])
    assert set(http["tag"]) == {"network", "web"}
    assert (http["site"], http["uri_path"], http["uri_query"], http["http_method"]) == \
        ("cdn.example-jquery.net", "/jquery.min.js", "v=3", "GET")
    assert http["url"] == "http://cdn.example-jquery.net/jquery.min.js?v=3"
    assert (http["status"], http["bytes_in"], http["http_user_agent"]) == \
        ("200", "5632", "Mozilla/5.0")
    assert set(tls["tag"]) == {"network", "certificate"}
    assert (tls["ssl_subject_common_name"], tls["ssl_issuer_common_name"]) == \
        ("update.example.net", "R3")
    assert tls["tls.ja3.hash"] == "72a589da586844d7f0818ce684948eea"
    assert set(alert["tag"]) == {"ids", "attack"}
    assert (alert["signature"], alert["signature_id"], alert["severity"], alert["action"]) == \
        ("ET MALWARE Observed Cobalt Strike CnC", "2027757", "high", "allowed")


def test_splunk_export_of_suricata_events_is_read_again_from_raw(tmp_path):
    export = {"preview": False, "result": {"sourcetype": "suricata", "host": "sensor1",
                                           "_raw": json.dumps(FLOW)}}
    (ev,) = _read(tmp_path, [export], name="export.json")
    assert ev["sourcetype"] == "suricata" and ev["bytes_out"] == "1433"


def test_bad_records_do_not_stop_the_file(tmp_path):
    broken = dict(FLOW, timestamp="yesterday")
    odd = dict(FLOW, flow="not an object", src_port=None)
    path = tmp_path / "eve.json"
    path.write_text("\n".join(json.dumps(r) for r in (broken, odd, FLOW)) + "\n")
    events, issues = detect_and_read(path)
    assert len(events) == 2 and len(issues) == 1


# --- the CIM scenarios as a Suricata sensor on the same wire would log them -----------------

# Application names Suricata's protocol detection gives (app_proto); anything else it cannot
# name is "failed" (it has no SOCKS or IRC parser, for instance).
SURICATA_APP_PROTO = {"ssl": "tls", "http": "http", "dns": "dns", "ssh": "ssh", "smb": "smb",
                      "ntp": "ntp", "ftp": "ftp", "smtp": "smtp", "rdp": "rdp", "krb5": "krb5",
                      "dcerpc": "dcerpc", "ldap": "ldap", "snmp": "snmp", "dhcp": "dhcp"}
RCODES = {"No Error": "NOERROR", "Name Error": "NXDOMAIN", "Server Failure": "SERVFAIL",
          "Refused": "REFUSED"}


def _eve_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


def _moment(event):
    return dt.datetime.fromisoformat(event["_time"])


def _base(event, kind, n, src, dest, src_port, dest_port, transport, when):
    record = {"timestamp": _eve_time(when), "flow_id": 1000000 + n, "in_iface": "span0",
              "event_type": kind, "src_ip": src, "dest_ip": dest,
              "proto": {"icmp": "ICMP"}.get(transport, transport.upper())}
    if transport != "icmp":
        record.update(src_port=int(src_port), dest_port=int(dest_port))
    return record


def _flow_records(event, n):
    """A firewall session (pan:traffic) as Suricata's flow record: the sensor sits behind the
    firewall, so sessions the firewall blocked never reach it."""
    if event.get("action") == "blocked":
        return []
    start = _moment(event)
    end = start + dt.timedelta(seconds=float(event.get("duration") or 0))
    record = _base(event, "flow", n, event["src"], event["dest"], event.get("src_port", 0),
                   event.get("dest_port", 0), event["transport"], start)
    record["app_proto"] = SURICATA_APP_PROTO.get(event.get("app"), "failed")
    record["flow"] = {"pkts_toserver": int(event.get("packets_out") or 0),
                      "pkts_toclient": int(event.get("packets_in") or 0),
                      "bytes_toserver": int(event.get("bytes_out") or 0),
                      "bytes_toclient": int(event.get("bytes_in") or 0),
                      "start": _eve_time(start), "end": _eve_time(end),
                      "age": int((end - start).total_seconds()), "state": "closed",
                      "reason": "timeout", "alerted": False}
    return [record]


def _dns_records(event, n):
    """A DNS server's transaction as Suricata's query and answer records, in the version 1
    (one record per answer), 2 (answers grouped) and 3 (queries[] list) layouts in turn; the
    answer is written as the response packet flows, server to client (as Suricata 5 and 6 do)."""
    when = _moment(event)
    client, server, port = event["src"], event["dest"], 40000 + n % 20000
    question = {"rrname": event["query"], "rrtype": event["record_type"]}
    answers = event.get("answer") or []
    answers = answers if isinstance(answers, list) else [answers]
    rcode = RCODES.get(event.get("reply_code"), str(event.get("reply_code", "")).upper())
    layout = n % 3 + 1
    query = _base(event, "dns", n, client, server, port, 53, event.get("transport", "udp"), when)
    reply_at = when + dt.timedelta(milliseconds=2)
    answer = _base(event, "dns", n, server, client, 53, port, event.get("transport", "udp"),
                   reply_at)
    txid = int(event.get("transaction_id") or n % 65536)
    if layout == 3:
        query["dns"] = {"version": 3, "type": "request", "id": txid, "queries": [question]}
        answer["dns"] = {"version": 3, "type": "response", "id": txid, "rcode": rcode,
                         "queries": [question],
                         "answers": [dict(question, ttl=60, rdata=a) for a in answers]}
        return [query, answer]
    query["dns"] = dict(question, type="query", id=txid, tx_id=0)
    if layout == 2:
        answer["dns"] = dict(question, version=2, type="answer", id=txid, rcode=rcode,
                             answers=[dict(question, ttl=60, rdata=a) for a in answers])
        return [query, answer]
    replies = [dict(answer, dns=dict(question, type="answer", id=txid, rcode=rcode, ttl=60,
                                     rdata=a)) for a in answers]
    return [query] + (replies or [dict(answer, dns=dict(question, type="answer", id=txid,
                                                         rcode=rcode))])


def _http_records(event, n):
    """A proxy's plain-HTTP request as Suricata's http record (HTTPS is a TLS session to the
    sensor: no request to log)."""
    url = event.get("url") or ""
    if not url.startswith("http://"):
        return []
    record = _base(event, "http", n, event["src"], event.get("dest_ip", "192.0.2.80"), 50000,
                   event.get("dest_port", 80), "tcp", _moment(event))
    uri = url[len("http://"):]
    record["http"] = {"hostname": event["site"], "url": uri[uri.find("/"):] if "/" in uri else "/",
                      "http_method": event.get("http_method"),
                      "http_user_agent": event.get("http_user_agent"),
                      "http_content_type": event.get("http_content_type"),
                      "status": int(event.get("status") or 0),
                      "length": int(event.get("bytes_in") or 0), "protocol": "HTTP/1.1"}
    return [record]


def _as_eve(scenario):
    records = []
    with open(SAMPLES / scenario / "cim_export.json") as handle:
        for n, line in enumerate(handle):
            event = json.loads(line)
            event = event.get("result", event)
            tags = set(event["tag"])
            if {"network", "communicate"} <= tags:
                records += _flow_records(event, n)
            elif "dns" in tags:
                records += _dns_records(event, n)
            elif "web" in tags:
                records += _http_records(event, n)
    return sorted(records, key=lambda r: r["timestamp"])


@functools.lru_cache(maxsize=None)
def _notables(scenario, as_suricata):
    runner = Runner(str(ROOT))
    path = SAMPLES / scenario
    with tempfile.TemporaryDirectory(prefix="c2hunt-eve-") as folder:
        if as_suricata:
            path = Path(folder) / "eve.json"
            path.write_text("".join(json.dumps(r) + "\n" for r in _as_eve(scenario)))
        events, issues = runner.read_files([str(path)])
    assert not issues, issues
    assert {e["sourcetype"] for e in events} == (
        {"suricata"} if as_suricata else {"pan:traffic", "squid:access", "MSAD:NT6:DNS"})
    notables, errors = runner.hunt(events, names=CIM_SEARCHES)
    assert not errors, errors
    return sorted((n.search, n.signal, int(n.risk_score), n.fields.get("src")) for n in notables)


def test_cim_variants_on_suricata_find_what_they_find_on_firewall_proxy_and_dns_logs():
    """Every channel of the scenario, with the same signal and score, but the SOCKS session:
    the firewall names its application socks, Suricata has no SOCKS parser (app_proto
    "failed"), so the signal that needs the application name cannot be raised from EVE."""
    on_cim_sources = _notables("x8_cim_network_c2", False)
    socks = [n for n in on_cim_sources if n[1] == "SOCKS_Handshake_To_Outside"]
    assert len(socks) == 1
    expected = [n for n in on_cim_sources if n not in socks]
    assert {n[0] for n in expected} == set(CIM_SEARCHES)  # all four searches have a channel
    assert _notables("x8_cim_network_c2", True) == expected


def test_cim_variants_stay_quiet_on_the_benign_site_seen_by_suricata():
    assert _notables("benign_cim_network", False) == []
    assert _notables("benign_cim_network", True) == []
