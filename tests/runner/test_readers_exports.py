"""Readers take the export forms a SOC hands over (metamorphic round 2, docs/evaluation.md).

evtx_dump's JSON (typed values, ``#attributes`` or ``--separate-json-attributes``), indented
JSON documents (``Record <id>`` lines, arrays, Elasticsearch hits), Event Viewer's "Save as
CSV", Zeek logs as Filebeat's Zeek module indexes them (ECS). Every sample is written here.
"""
import json

import pytest

from c2hunt_offline.readers.common import UnknownFormat
from c2hunt_offline.readers.dispatch import detect_and_read

SYSTEM = {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 3, "Level": 4,
          "TimeCreated": {"#attributes": {"SystemTime": "2019-02-16T10:01:46.884038Z"}},
          "EventRecordID": 7, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "PC01.corp"}
DATA = {"RuleName": "", "UtcTime": "2019-02-16 10:01:45.887", "ProcessId": 1608,
        "Image": "C:\\Users\\u\\AppData\\Local\\Temp\\x.exe", "Protocol": "tcp", "Initiated": True,
        "SourceIsIpv6": False, "SourceIp": "10.0.2.17", "SourcePort": 50100,
        "DestinationIp": "10.0.2.18", "DestinationPort": 4443}
WFP = {"Event": {"System": {"EventID": 5156, "Channel": "Security", "Computer": "PC01.corp",
                            "TimeCreated": {"#attributes": {"SystemTime": "2019-02-13T18:01:47.1Z"}}},
                 "EventData": {"ProcessID": 4242, "Application": "\\device\\harddiskvolume1\\tools\\plink.exe",
                               "Direction": "%%14593", "SourceAddress": "127.0.0.1", "SourcePort": 50000,
                               "DestAddress": "127.0.0.2", "DestPort": 3389, "Protocol": 6}}}


def _separate(node):
    """evtx_dump --separate-json-attributes: ``#attributes`` beside the element."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if isinstance(value, dict) and "#attributes" in value:
            out[key + "_attributes"] = value["#attributes"]
            rest = {k: v for k, v in value.items() if k != "#attributes"}
            out[key] = _separate(rest) if rest else None
        else:
            out[key] = _separate(value)
    return out


def _read(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return detect_and_read(path)


def _check_sysmon(event):
    assert event["_time"] == 1550311306.884038 and event["EventCode"] == "3"
    assert event["Initiated"] == "true" and event["direction"] == "outbound"    # JSON true, as the XML writes it
    assert event["SourceIsIpv6"] == "false"
    assert (event["dest"], event["dest_port"], event["process_name"]) == ("10.0.2.18", "4443", "x.exe")
    assert event["Provider"] == "Microsoft-Windows-Sysmon" and event["Level"] == "4"


def test_evtx_dump_json_forms_read_as_the_xml(tmp_path):
    doc = {"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
                     "System": SYSTEM, "EventData": DATA}}
    forms = {
        "dump.json": "Record 7\n%s\nRecord 8\n%s\n" % (json.dumps(doc, indent=2), json.dumps(WFP, indent=2)),
        "dump.jsonl": "%s\n%s\n" % (json.dumps(_separate(doc)), json.dumps(_separate(WFP))),
        "array.json": json.dumps([_separate(doc), WFP], indent=2),
    }
    for name, text in forms.items():
        events, issues = _read(tmp_path, name, text)
        assert issues == [], name
        assert len(events) == 2, name
        _check_sysmon(events[0])
        wfp = events[1]                           # typed numbers: no crash, the TA's fields
        assert (wfp["Application_Name"], wfp["dest"], wfp["dest_port"], wfp["direction"], wfp["transport"]) == (
            "\\device\\harddiskvolume1\\tools\\plink.exe", "127.0.0.2", "3389", "outbound", "tcp"), name


def test_elasticsearch_hits_and_bad_documents(tmp_path):
    hit = {"_index": "winlogbeat-8", "_id": "a", "_source": {"Event": {"System": SYSTEM, "EventData": DATA}}}
    events, issues = _read(tmp_path, "hits.json", json.dumps(hit) + "\n")
    assert issues == [] and len(events) == 1
    _check_sysmon(events[0])
    response = {"took": 3, "hits": {"total": {"value": 1}, "hits": [hit]}}
    events, issues = _read(tmp_path, "search.json", json.dumps(response, indent=1))
    assert issues == [] and len(events) == 1
    events, issues = _read(tmp_path, "cut.json", "[\n" + json.dumps(hit, indent=1) + ",\n{\n \"_index\": ")
    assert len(events) == 1 and len(issues) == 1 and "invalid JSON document" in issues[0].message


EVENTVIEWER_CSV = (
    "\ufeffLevel,Date and Time,Source,Event ID,Task Category\r\n"
    "Information,2/16/2019 10:01:46 AM,Microsoft-Windows-Sysmon,3,Network connection detected (rule: "
    "NetworkConnect),\"Network connection detected:\r\nRuleName: \r\nUtcTime: 2019-02-16 10:01:45.887\r\n"
    "ProcessId: 1608\r\nImage: C:\\Users\\u\\AppData\\Local\\Temp\\x.exe\r\nProtocol: tcp\r\nInitiated: true\r\n"
    "SourceIp: 10.0.2.17\r\nSourcePort: 50100\r\nDestinationIp: 10.0.2.18\r\nDestinationPort: 4443\"\r\n"
    "Information,2/13/2019 6:01:47 PM,Microsoft-Windows-Security-Auditing,5156,Filtering Platform Connection,"
    "\"The Windows Filtering Platform has permitted a connection.\r\n\r\nApplication Information:\r\n"
    "\tProcess ID:\t\t4242\r\n\tApplication Name:\t\t\\device\\harddiskvolume1\\tools\\plink.exe\r\n\r\n"
    "Network Information:\r\n\tDirection:\t\tOutbound\r\n\tSource Address:\t\t127.0.0.1\r\n"
    "\tSource Port:\t\t50000\r\n\tDestination Address:\t\t127.0.0.2\r\n\tDestination Port:\t\t3389\r\n"
    "\tProtocol:\t\t6\"\r\n")


def test_event_viewer_csv(tmp_path):
    events, issues = _read(tmp_path, "exported.csv", EVENTVIEWER_CSV)
    assert issues == [] and len(events) == 2
    sysmon, wfp = events
    assert sysmon["sourcetype"] == "WinEventLog" and sysmon["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert sysmon["_time"] == 1550311306 and sysmon["direction"] == "outbound"
    assert (sysmon["dest"], sysmon["dest_port"], sysmon["process_name"]) == ("10.0.2.18", "4443", "x.exe")
    assert "host" not in sysmon and "Computer" not in sysmon     # the export names no computer
    assert wfp["Channel"] == "Security" and wfp["_time"] == 1550080907     # 6:01:47 PM
    assert (wfp["Application_Name"], wfp["dest"], wfp["dest_port"], wfp["direction"]) == (
        "\\device\\harddiskvolume1\\tools\\plink.exe", "127.0.0.2", "3389", "outbound")
    german = EVENTVIEWER_CSV.replace("Level,Date and Time,Source,Event ID,Task Category",
                                     "Ebene,Datum und Uhrzeit,Quelle,Ereignis-ID,Aufgabenkategorie") \
        .replace("2/16/2019 10:01:46 AM", "16.02.2019 10:01:46").replace("2/13/2019 6:01:47 PM", "13.02.2019 18:01:47")
    events, issues = _read(tmp_path, "export_de.csv", german)
    assert issues == [] and [e["_time"] for e in events] == [1550311306, 1550080907]
    events, issues = _read(tmp_path, "short.csv", EVENTVIEWER_CSV.split("\r\nInformation,2/13")[0] + "\r\nInformation,x\r\n")
    assert len(events) == 1 and len(issues) == 1


FILEBEAT_CONN = {   # Filebeat's Zeek module (connection fileset), nested as Elasticsearch keeps it
    "@timestamp": "2019-01-11T06:33:35.857Z", "event": {"module": "zeek", "dataset": "zeek.connection",
                                                       "duration": 76967000, "id": "CAcJw21"},
    "source": {"address": "192.168.86.167", "ip": "192.168.86.167", "port": 38339, "bytes": 103, "packets": 1},
    "destination": {"address": "192.168.86.1", "ip": "192.168.86.1", "port": 53, "bytes": 206, "packets": 1},
    "network": {"transport": "udp", "protocol": "dns"},
    "zeek": {"session_id": "CAcJw21", "connection": {"state": "SF", "history": "Dd", "local_orig": True}}}


def test_filebeat_zeek_documents(tmp_path):
    dns = {"@timestamp": "2019-01-11T06:33:36.001Z", "event.module": "zeek", "event.dataset": "zeek.dns",
           "source.ip": "192.168.86.167", "source.port": 38339, "destination.ip": "192.168.86.1",
           "destination.port": 53, "network.transport": "udp", "zeek.session_id": "CAcJw21",
           "zeek.dns.query": "abc.example.com", "zeek.dns.qtype_name": "TXT", "zeek.dns.answers": ["x", "y"]}
    icmp = {"@timestamp": "2019-03-01T00:10:00.578Z", "event": {"module": "zeek", "dataset": "zeek.connection"},
            "source": {"ip": "192.0.2.205"}, "destination": {"ip": "198.51.100.249"},
            "network": {"transport": "icmp"}, "zeek": {"connection": {"icmp": {"type": 3, "code": 3}}}}
    hit = {"_index": "filebeat-8", "_source": FILEBEAT_CONN}
    events, issues = _read(tmp_path, "export.json", "\n".join(json.dumps(d) for d in (hit, dns, icmp)) + "\n")
    assert issues == [] and len(events) == 3
    conn, query, ping = events
    assert conn["sourcetype"] == "bro:conn:json" and conn["_time"] == 1547188415.857
    assert (conn["src"], conn["src_port"], conn["dest"], conn["dest_port"], conn["transport"]) == (
        "192.168.86.167", "38339", "192.168.86.1", "53", "udp")
    assert (conn["uid"], conn["conn_state"], conn["duration"], conn["app"]) == ("CAcJw21", "SF", "0.076967", "dns")
    assert conn["orig_ip_bytes"] == "103" and "orig_bytes" not in conn     # the module drops orig_bytes
    assert query["sourcetype"] == "bro:dns:json" and query["query"] == "abc.example.com"
    assert query["answer"] == ["x", "y"] and query["src"] == "192.168.86.167"
    assert (ping["id.orig_p"], ping["id.resp_p"], ping["transport"]) == ("3", "3", "icmp")


def test_zeek_json_times_in_milliseconds(tmp_path):
    # Zeek's LogAscii::json_timestamps = JSON::TS_MILLIS: every time field in whole milliseconds
    from c2hunt_offline.readers.frames import read_frame
    conn = {"ts": 1517336040123, "uid": "C1", "id.orig_h": "10.0.0.5", "id.orig_p": 50000,
            "id.resp_h": "203.0.113.9", "id.resp_p": 443, "proto": "tcp", "duration": 1.5}
    x509 = {"ts": 1517336040200, "id": "F1", "certificate.not_valid_after": 1517336000000}
    events, issues = _read(tmp_path, "conn.log", json.dumps(conn) + "\n")
    assert issues == [] and events[0]["_time"] == 1517336040.123 and events[0]["ts"] == "1517336040.123"
    assert events[0]["duration"] == "1.5"                      # an interval is not a time
    events, _ = _read(tmp_path, "x509.log", json.dumps(x509) + "\n")
    assert events[0]["certificate.not_valid_after"] == "1517336000.0"
    assert _read(tmp_path, "seconds.log", json.dumps(dict(conn, ts=1517336040.123)) + "\n")[0][0]["ts"] == \
        "1517336040.123"                                       # seconds stay as they are
    big = tmp_path / "big" / "conn.log"                        # past the columnar reader's minimum size
    big.parent.mkdir()
    big.write_text("".join(json.dumps(dict(conn, ts=conn["ts"] + n, uid="C%d" % n)) + "\n" for n in range(2000)))
    assert read_frame(big) == (None, [])                       # left to the dict reader, which converts
    events, issues = detect_and_read(big)
    assert issues == [] and events[-1]["_time"] == 1517336040.123 + 1.999


def test_zeek_tsv_mode(tmp_path):
    # LogAscii's per-filter tsv=T: the column names once, no #fields and no other header
    text = ("ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\ttunnel_parents\n"
            "1715677200.100000\tCa1\t10.1.1.5\t50100\t203.0.113.7\t8443\ttcp\tssl\t60.5\t(empty)\n"
            "1715677260.250000\tCa2\t10.1.1.5\t50101\t203.0.113.7\t8443\ttcp\t-\t-\tCx,Cy\n")
    events, issues = _read(tmp_path, "conn.log", text)
    assert issues == [] and len(events) == 2
    assert (events[0]["sourcetype"], events[0]["_time"], events[0]["dest_port"], events[0]["app"]) == (
        "bro:conn:json", 1715677200.1, "8443", "ssl")
    assert "service" not in events[1] and "duration" not in events[1]       # unset fields
    assert events[1]["tunnel_parents"] == ["Cx", "Cy"]                      # a set, by its name
    with pytest.raises(UnknownFormat):                                     # not Zeek: no connection id
        _read(tmp_path, "notes.txt", "ts\tmessage\tlevel\n1\thello\tinfo\n")
