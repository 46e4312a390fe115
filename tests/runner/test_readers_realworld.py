"""Readers take logs as real pipelines write them (issue 12 part 1).

Zeek: JSON with flattened names (``id_orig_h``) or nested objects, gzip, hourly rotated names,
every log type (unknown ones as generic ``bro:<path>:json`` events with one warning), the TLS
fields by their Zeek names. Windows: JSON exports whose EventData is one string or a dict,
TA 5.0+ labels. Sysmon for Linux through syslog. All fixtures are written here.
"""
import gzip
import json
from pathlib import Path

import pytest

from c2hunt_offline import Runner, run_search
from c2hunt_offline.cli import main as cli_main

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "history",
               "orig_pkts", "resp_pkts"]
CONN_ROWS = [
    ["1715677200.100000", "CaaA1", "10.1.1.5", "50100", "203.0.113.7", "8443", "tcp", "ssl",
     "60.5", "2048", "512", "SF", "ShADadFf", "12", "10"],
    ["1715677260.250000", "CaaA2", "10.1.1.5", "50101", "203.0.113.7", "8443", "tcp", "-",
     "0.25", "0", "0", "S0", "S", "1", "0"],
]


def zeek_tsv(path_name, fields, types, rows):
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
            "#unset_field\t-", "#path\t%s" % path_name, "#fields\t" + "\t".join(fields)]
    if types is not None:
        head.append("#types\t" + "\t".join(types))
    return "\n".join(head + ["\t".join(r) for r in rows] + ["#close\t2024-05-14-10-00-00"]) + "\n"


def conn_tsv():
    return zeek_tsv("conn", CONN_FIELDS, None, CONN_ROWS)


def conn_json(flatten):
    lines = []
    for row in CONN_ROWS:
        record = dict(zip(CONN_FIELDS, row))
        record = {k: v for k, v in record.items() if v != "-"}
        for key in ("ts", "duration"):
            record[key] = float(record[key])
        for key in ("id.orig_p", "id.resp_p", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts"):
            record[key] = int(record[key])
        if flatten == "underscore":
            record = {k.replace(".", "_"): v for k, v in record.items()}
        elif flatten == "nested":
            ids = {k[3:]: record.pop(k) for k in list(record) if k.startswith("id.")}
            record["id"] = ids
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def read(paths, **kw):
    return Runner().read_files([str(p) for p in paths], **kw)


def errors(issues):
    return [i for i in issues if i.is_error]


def comparable(events):
    """Events without the fields that name the file, and ts (its text is as the log wrote it:
    ``1715677200.100000`` in TSV, ``1715677200.1`` in JSON; ``_time`` is compared)."""
    return [{k: v for k, v in e.items() if k not in ("source", "c2hunt_file", "_raw", "host", "ts")}
            for e in sorted(events, key=lambda e: e["_time"])]


# --------------------------------------------------------------------------------- Zeek


@pytest.mark.parametrize("flatten", ["dotted", "underscore", "nested"])
def test_zeek_json_flattened_or_nested_names_read_like_dotted(tmp_path, flatten):
    (tmp_path / "tsv").mkdir()
    tsv = tmp_path / "tsv" / "conn.log"
    tsv.write_text(conn_tsv())
    js = tmp_path / ("conn_%s.json" % flatten)
    js.write_text(conn_json(flatten))
    from_tsv, issues_tsv = read([tsv])
    from_json, issues_json = read([js])
    assert issues_tsv == [] and issues_json == []
    assert comparable(from_json) == comparable(from_tsv)
    first = comparable(from_json)[0]
    assert (first["src"], first["src_port"], first["dest"], first["dest_port"]) == \
        ("10.1.1.5", "50100", "203.0.113.7", "8443")
    assert first["id.orig_h"] == "10.1.1.5" and "id_orig_h" not in first
    assert first["sourcetype"] == "bro:conn:json" and first["transport"] == "tcp"


def test_conn_and_http_keep_the_fields_the_searches_read(tmp_path):
    http_fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p",
                   "trans_depth", "method", "host", "uri", "user_agent", "request_body_len",
                   "response_body_len", "status_code"]
    http_rows = [["1715677300.5", "ChH1", "10.1.1.9", "50200", "198.51.100.20", "80", "1",
                  "POST", "cdn.example.net", "/submit.php?id=7", "Mozilla/4.0 (compatible)",
                  "4464", "0", "200"]]
    (tmp_path / "conn.log").write_text(conn_tsv())
    (tmp_path / "http.log").write_text(zeek_tsv("http", http_fields, None, http_rows))
    events, issues = read([tmp_path])
    assert issues == []
    conn = next(e for e in events if e["sourcetype"] == "bro:conn:json" and e["uid"] == "CaaA1")
    for name, value in (("duration", "60.5"), ("orig_bytes", "2048"), ("resp_bytes", "512"),
                        ("conn_state", "SF"), ("service", "ssl"), ("history", "ShADadFf"),
                        ("orig_pkts", "12"), ("resp_pkts", "10")):
        assert conn[name] == value, name
    http = next(e for e in events if e["sourcetype"] == "bro:http:json")
    for name, value in (("host", "cdn.example.net"), ("uri", "/submit.php?id=7"),
                        ("method", "POST"), ("user_agent", "Mozilla/4.0 (compatible)"),
                        ("request_body_len", "4464"), ("response_body_len", "0"),
                        ("status_code", "200"), ("ts", "1715677300.5")):
        assert http[name] == value, name
    assert http["_time"] == 1715677300.5


def test_gzip_and_hourly_rotated_names_read_like_the_plain_log(tmp_path):
    plain = tmp_path / "conn.log"
    plain.write_text(conn_tsv())
    rotated = tmp_path / "rotated" / "conn.00:00:00-01:00:00.log.gz"
    rotated.parent.mkdir()
    # no #path header: the type comes from the rotated name
    rotated.write_bytes(gzip.compress(conn_tsv().replace("#path\tconn\n", "").encode()))
    json_gz = tmp_path / "json" / "conn.10_00_00-11_00_00.log.gz"
    json_gz.parent.mkdir()
    json_gz.write_bytes(gzip.compress(conn_json("underscore").encode()))
    expected = comparable(read([plain])[0])
    for path in (rotated, json_gz):
        events, issues = read([path])
        assert issues == [], path
        assert comparable(events) == expected, path


def test_truncated_gzip_keeps_the_good_lines_and_names_the_damage(tmp_path):
    data = gzip.compress(conn_json("dotted").encode())
    path = tmp_path / "conn.log.gz"
    path.write_bytes(data[:-30])  # cut inside the last record
    events, issues = read([path])
    assert len(events) >= 1
    text = " ".join(str(i) for i in issues)
    assert "conn.log.gz" in text and "truncated" in text


def test_unknown_zeek_types_are_generic_events_with_one_warning_each(tmp_path):
    dhcp_fields = ["ts", "uids", "client_addr", "server_addr", "mac", "host_name", "msg_types"]
    dhcp_types = ["time", "set[string]", "addr", "addr", "string", "string", "vector[string]"]
    (tmp_path / "dhcp.log").write_text(zeek_tsv("dhcp", dhcp_fields, dhcp_types, [
        ["1715677000.0", "Cd1,Cd2", "10.1.1.5", "10.1.1.1", "00:11:22:33:44:55", "ws05",
         "REQUEST,ACK"],
        ["1715677010.0", "Cd3", "10.1.1.6", "10.1.1.1", "00:11:22:33:44:66", "ws06", "ACK"]]))
    quic = [{"_path": "quic", "ts": 1715677100.0, "uid": "Cq1", "id.orig_h": "10.1.1.5",
             "id.orig_p": 55000, "id.resp_h": "192.0.2.44", "id.resp_p": 443,
             "version": "1", "server_name": "api.example.org"}] * 2
    (tmp_path / "zeek_export.json").write_text("\n".join(json.dumps(q) for q in quic) + "\n")
    # a Zeek log named notice.log is data, not a NOTICE file
    (tmp_path / "notice.log").write_text(json.dumps(
        {"ts": 1715677200.0, "note": "SSL::Invalid_Server_Cert", "id_orig_h": "10.1.1.5",
         "id_orig_p": 50100, "id_resp_h": "203.0.113.7", "id_resp_p": 8443, "proto": "tcp",
         "src": "10.1.1.5", "dst": "203.0.113.7", "p": 8443}) + "\n")
    (tmp_path / "weird.00:00:00-01:00:00.log.gz").write_bytes(gzip.compress(json.dumps(
        {"ts": 1715677300.0, "name": "bad_TCP_checksum", "notice": False,
         "peer": "zeek"}).encode() + b"\n"))
    (tmp_path / "LICENSE").write_text("Some licence text.\n")
    events, issues = read([tmp_path])
    assert errors(issues) == []
    warned = sorted(i.path.rsplit("/", 1)[-1] for i in issues)
    assert warned == ["dhcp.log", "notice.log", "weird.00:00:00-01:00:00.log.gz", "zeek_export.json"]
    assert all(i.level == "warning" and "generic events" in i.message for i in issues)
    by_type = {}
    for e in sorted(events, key=lambda e: e["_time"]):
        by_type.setdefault(e["sourcetype"], []).append(e)
    assert sorted(by_type) == ["bro:dhcp:json", "bro:notice:json", "bro:quic:json", "bro:weird:json"]
    dhcp = by_type["bro:dhcp:json"][0]
    assert dhcp["uids"] == ["Cd1", "Cd2"] and dhcp["msg_types"] == ["REQUEST", "ACK"]
    assert "src" not in dhcp and "tag" not in dhcp  # no id.*: no CIM fields
    quic_event = by_type["bro:quic:json"][0]
    assert (quic_event["src"], quic_event["dest"], quic_event["dest_port"],
            quic_event["transport"]) == ("10.1.1.5", "192.0.2.44", "443", "udp")
    assert "_path" not in quic_event and quic_event["server_name"] == "api.example.org"
    notice = by_type["bro:notice:json"][0]
    assert (notice["id.orig_h"], notice["src"], notice["dest"], notice["src_port"],
            notice["transport"]) == ("10.1.1.5", "10.1.1.5", "203.0.113.7", "50100", "tcp")
    assert by_type["bro:weird:json"][0]["notice"] == "F"


def test_unknown_zeek_types_do_not_fail_the_hunt(tmp_path, capsys):
    (tmp_path / "dhcp.log").write_text(zeek_tsv("dhcp", ["ts", "client_addr"], None,
                                                [["1715677000.0", "10.1.1.5"]]))
    (tmp_path / "conn.log").write_text(conn_tsv())
    code = cli_main(["hunt", "--no-progress", "--format", "json", str(tmp_path)])
    assert code in (0, 1)  # notables or none, but no input error (exit 3)
    assert "warning: Zeek dhcp log read as generic events" in capsys.readouterr().err


def test_ssl_and_x509_keep_their_zeek_names(tmp_path):
    ssl_fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version",
                  "server_name", "established", "cert_chain_fps", "subject", "issuer",
                  "validation_status", "ja3", "ja3s"]
    ssl_types = ["time", "string", "addr", "port", "addr", "port", "string", "string", "bool",
                 "vector[string]", "string", "string", "string", "string", "string"]
    (tmp_path / "ssl.log").write_text(zeek_tsv("ssl", ssl_fields, ssl_types, [[
        "1715677400.0", "Cs1", "10.1.1.5", "50300", "203.0.113.7", "8443", "TLSv12", "-", "T",
        "aa11,bb22", "CN=localhost", "CN=localhost", "self signed certificate",
        "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]]))
    x509 = [
        # nested objects, as some exporters write Zeek records
        {"ts": 1715677400.1, "fingerprint": "aa11", "id": "Fx1",
         "certificate": {"subject": "CN=localhost", "issuer": "CN=localhost",
                         "not_valid_before": 1715600000.0, "not_valid_after": 1747136000.0},
         "san": {"dns": ["localhost", "c2.example"]}, "basic_constraints": {"ca": True}},
        # flattened with underscores
        {"ts": 1715677400.2, "fingerprint": "bb22", "id": "Fx2",
         "certificate_subject": "CN=Example CA", "certificate_issuer": "CN=Example CA",
         "certificate_not_valid_before": 1700000000.0, "certificate_not_valid_after": 1800000000.0,
         "san_dns": ["ca.example"], "basic_constraints_ca": False},
    ]
    (tmp_path / "x509.log").write_text("\n".join(json.dumps(x) for x in x509) + "\n")
    events, issues = read([tmp_path])
    assert issues == []
    ssl = next(e for e in events if e["sourcetype"] == "bro:ssl:json")
    assert ssl["cert_chain_fps"] == ["aa11", "bb22"] and ssl["established"] == "T"
    assert "server_name" not in ssl  # unset (-): null, as in Splunk
    for name in ("subject", "issuer", "validation_status", "ja3", "ja3s"):
        assert ssl[name], name
    certs = sorted((e for e in events if e["sourcetype"] == "bro:x509:json"), key=lambda e: e["id"])
    assert [c["fingerprint"] for c in certs] == ["aa11", "bb22"]
    assert certs[0]["certificate.subject"] == "CN=localhost"
    assert certs[0]["certificate.not_valid_after"] == "1747136000.0"
    assert certs[0]["san.dns"] == ["localhost", "c2.example"]
    assert certs[0]["basic_constraints.ca"] == "T" and certs[1]["basic_constraints.ca"] == "F"
    assert certs[1]["certificate.issuer"] == "CN=Example CA" and certs[1]["san.dns"] == "ca.example"
    assert "certificate_subject" not in certs[1]


def test_zeek_tsv_tolerates_trailing_separator_and_indented_header(tmp_path):
    text = conn_tsv()
    rows = text.splitlines()
    rows = ["\t" + rows[0]] + [r + "\t" if not r.startswith("#") else r for r in rows[1:]]
    path = tmp_path / "conn.log"
    path.write_text("\n".join(rows) + "\n")
    events, issues = read([path])
    assert issues == [] and len(events) == 2


def test_headerless_zeek_rows_are_a_named_issue(tmp_path):
    path = tmp_path / "conn_top.log"
    path.write_text("\n".join("\t".join(r) for r in CONN_ROWS) + "\n")
    events, issues = read([path])
    assert events == [] and len(issues) == 1 and "without the #separator/#fields" in str(issues[0])


def test_zeek_record_without_ts_is_reported_and_others_kept(tmp_path):
    records = [json.loads(line) for line in conn_json("dotted").splitlines()]
    del records[1]["ts"]
    path = tmp_path / "conn.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    events, issues = read([path])
    assert len(events) == 1 and len(issues) == 1 and "conn.json:2" in str(issues[0])


# --------------------------------------------------------------------------------- Windows

SYSMON3 = {"RuleName": "-", "UtcTime": "2024-05-14 09:00:00.123", "ProcessId": "4242",
           "Image": "C:\\Users\\bob\\AppData\\Local\\Temp\\upd.exe", "User": "CORP\\bob",
           "Protocol": "tcp", "Initiated": "true", "SourceIp": "10.1.1.5", "SourcePort": "50000",
           "DestinationIp": "203.0.113.7", "DestinationPort": "4444"}


def _data_xml(data):
    return "".join('<Data Name="%s">%s</Data>' % (k, v.replace("&", "&amp;")) for k, v in data.items())


def test_windows_json_with_eventdata_as_string_or_dict(tmp_path):
    exports = [
        # SIEM table (Sentinel Event-like): EventData is one XML string inside <DataItem>
        {"TimeGenerated": "2024-05-14T09:00:00.123Z", "EventLog": "Microsoft-Windows-Sysmon/Operational",
         "EventID": 3, "Computer": "WS05.corp", "Source": "Microsoft-Windows-Sysmon",
         "EventData": '<DataItem type="System.XmlData" time="2024-05-14T09:00:00.123Z">'
                      '<EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event">'
                      + _data_xml(SYSMON3) + "</EventData></DataItem>"},
        # EventData as a JSON string
        {"TimeCreated": "2024-05-14T09:00:01Z", "Channel": "Microsoft-Windows-Sysmon/Operational",
         "EventID": "3", "Computer": "WS05.corp", "EventData": json.dumps(SYSMON3)},
        # EventData as a nested dict
        {"TimeCreated": "2024-05-14T09:00:02Z", "Channel": "Microsoft-Windows-Sysmon/Operational",
         "EventCode": 3, "Computer": "WS05.corp", "EventData": dict(SYSMON3)},
        # XML converted to JSON, Data as a list of {"@Name", "#text"}
        {"Event": {"System": {"EventID": "3", "Channel": "Microsoft-Windows-Sysmon/Operational",
                              "Computer": "WS05.corp",
                              "TimeCreated": {"SystemTime": "2024-05-14T09:00:03Z"}},
                   "EventData": {"Data": [{"@Name": k, "#text": v} for k, v in SYSMON3.items()]}}},
        # evtx_dump's JSON: attributes under "#attributes", EventData a dict
        {"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
                   "System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational",
                              "Computer": "WS05.corp",
                              "TimeCreated": {"#attributes": {"SystemTime": "2024-05-14T09:00:04Z"}}},
                   "EventData": dict(SYSMON3)}},
    ]
    path = tmp_path / "sysmon_export.json"
    path.write_text("\n".join(json.dumps(e) for e in exports) + "\n")
    events, issues = read([path])
    assert issues == [] and len(events) == 5
    assert sorted(e["_time"] for e in events) == [1715677200.123, 1715677201.0, 1715677202.0,
                                                  1715677203.0, 1715677204.0]
    for event in events:
        assert event["sourcetype"] == "XmlWinEventLog"
        assert event["source"] == "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
        assert (event["Image"], event["process_name"], event["dest"], event["dest_port"],
                event["transport"], event["direction"]) == (
            SYSMON3["Image"], "upd.exe", "203.0.113.7", "4444", "tcp", "outbound")
        assert "EventData" not in event
    rows = run_search("`c2hunt_sysmon_network` | stats count by process_name", [str(path)])
    assert rows == [{"process_name": "upd.exe", "count": 5}]


SECURITY_5156_XML = (
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
    '<Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>5156</EventID>'
    '<TimeCreated SystemTime="2024-05-14T09:01:00.000Z"/><EventRecordID>9</EventRecordID>'
    '<Channel>Security</Channel><Computer>WS02.corp</Computer></System><EventData>'
    '<Data Name="ProcessID">1234</Data><Data Name="Application">\\device\\harddiskvolume2\\tools\\x.exe</Data>'
    '<Data Name="Direction">%%14593</Data><Data Name="SourceAddress">10.0.0.6</Data>'
    '<Data Name="SourcePort">51000</Data><Data Name="DestAddress">8.8.8.8</Data>'
    '<Data Name="DestPort">4444</Data><Data Name="Protocol">6</Data></EventData></Event>')


def test_security_xml_is_labelled_as_the_windows_ta_5_does(tmp_path):
    xml = SECURITY_5156_XML + "\n"
    path = tmp_path / "security.xml"
    path.write_text(xml)
    events, issues = read([path])
    assert issues == []
    assert (events[0]["sourcetype"], events[0]["source"]) == ("XmlWinEventLog", "XmlWinEventLog:Security")
    classic = dict(events[0], sourcetype="WinEventLog", source="WinEventLog:Security")
    for labelled in (events, [classic]):
        rows = run_search("`c2hunt_wineventlog_wfp` | stats count by process_name", labelled)
        assert rows == [{"process_name": "x.exe", "count": 1}]


# --------------------------------------------------------------------------------- Sysmon for Linux


def _linux_sysmon(eid, record, when, data):
    return ('<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/>'
            '<EventID>%d</EventID><Version>5</Version><Level>4</Level><Task>%d</Task><Opcode>0</Opcode>'
            '<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="%s"/>'
            '<EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID="1109" ThreadID="1109"/>'
            '<Channel>Linux-Sysmon/Operational</Channel><Computer>web01</Computer>'
            '<Security UserId="0"/></System><EventData>%s</EventData></Event>'
            % (eid, eid, when, record, _data_xml(data)))


def test_sysmon_for_linux_through_syslog(tmp_path):
    net = {"RuleName": "-", "UtcTime": "2024-05-14 09:30:01.467", "ProcessGuid": "{de95-1}",
           "ProcessId": "2356", "Image": "/tmp/.x/agent", "User": "www-data", "Protocol": "tcp",
           "Initiated": "true", "SourceIsIpv6": "false", "SourceIp": "10.1.1.20",
           "SourcePort": "41000", "DestinationIsIpv6": "false", "DestinationIp": "203.0.113.9",
           "DestinationPort": "8443"}
    proc = {"RuleName": "-", "UtcTime": "2024-05-14 09:30:00.100", "ProcessGuid": "{de95-1}",
            "ProcessId": "2356", "Image": "/tmp/.x/agent", "CommandLine": "/tmp/.x/agent -d",
            "User": "www-data", "ParentImage": "/usr/bin/bash", "ParentCommandLine": "bash"}
    lines = [
        "May 14 09:29:59 web01 systemd[1]: Started Session 4 of user root.",
        "May 14 09:30:00 web01 sysmon: " + _linux_sysmon(1, 41, "2024-05-14T09:30:00.100000000Z", proc),
        "<14>1 2024-05-14T09:30:01.470Z web01 sysmon - - - "
        + _linux_sysmon(3, 42, "2024-05-14T09:30:01.467399000Z", net),
        "2024-05-14T09:30:02.000000+00:00 web01 sysmon: <Event><System><EventID>3</EventID>",
    ]
    path = tmp_path / "syslog"
    path.write_text("\n".join(lines) + "\n")
    events, issues = read([path])
    assert len(events) == 2
    assert [str(i).split(": ", 1)[0] for i in errors(issues)] == [str(path) + ":4"]
    assert [i.message for i in issues if not i.is_error] == ["1 syslog lines without a Sysmon record skipped"]
    for event in events:
        assert (event["sourcetype"], event["source"]) == ("sysmon:linux", "Syslog:Linux-Sysmon/Operational")
        assert event["host"] == "web01" and event["process_name"] == "agent"
    connect = next(e for e in events if e["EventCode"] == "3")
    assert connect["_time"] == pytest.approx(1715679001.467399)
    assert (connect["dest"], connect["dest_port"], connect["transport"], connect["direction"]) == \
        ("203.0.113.9", "8443", "tcp", "outbound")
    rows = run_search("`c2hunt_sysmon_network` | stats count by Image", [str(path)])
    assert rows == [{"Image": "/tmp/.x/agent", "count": 1}]


# --------------------------------------------------------------------------------- shared datasets

needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is absent")


@needs_datasets
def test_rita_gzip_tsv_json_and_hourly_logs_read():
    events, issues = read([DATASETS / "rita-test-data" / "dnscat2-ja3-strobe-agent",
                           DATASETS / "rita-test-data" / "valid_json"])
    assert errors(issues) == []
    http = [e for e in events if e["sourcetype"] == "bro:http:json"]
    assert len(http) == 2 * 27204  # the same capture as TSV and as JSON
    assert all(e.get("src") and e.get("dest_port") for e in http)
    hourly, issues = read([DATASETS / "rita-test-data" / "missing_host"])
    assert errors(issues) == []
    types = {e["sourcetype"] for e in hourly}
    assert {"bro:conn:json", "bro:dns:json", "bro:http:json", "bro:ssl:json",
            "bro:open_conn:json"} <= types
    beacon = [e for e in hourly if e["sourcetype"] == "bro:http:json"
              and e.get("user_agent") == "Modzilla/0.0001 (Atari 7800)"]
    # 317 requests with an empty Host header (EXPECTED.md)
    assert len(beacon) == 317 and all(e["dest_port"] == "80" and e["uri"] == "/" for e in beacon)


@needs_datasets
def test_rita_parser_cases_give_named_issues():
    events, issues = read([DATASETS / "rita-test-data" / name
                           for name in ("truncated", "text_file", "has_unknown_field")])
    where = sorted(str(i).split(": ", 1)[0].split("rita-test-data/")[1] for i in errors(issues))
    assert where == ["has_unknown_field/http.log:9", "text_file/conn.log", "truncated/conn.log:67",
                     "truncated/conn_json.log:4", "truncated/conn_top.log:1"]
    assert len(events) > 0


@needs_datasets
@pytest.mark.parametrize("folder", ["slips-dataset-extra/dataset/test9-mixed-zeek-dir",
                                    "slips-dataset-extra/dataset/test15-malicious-zeek-dir",
                                    "slips-cc-beacons/dataset/test18-malicious-ctu-sme-11-win"])
def test_slips_zeek_folders_read_every_log_type(folder):
    events, issues = read([DATASETS / folder])
    assert errors(issues) == []
    assert all("generic events" in i.message for i in issues)
    assert any(e["sourcetype"] == "bro:conn:json" and e.get("src") for e in events)


@needs_datasets
def test_slips_tls_logs_keep_the_fields_the_tls_searches_read():
    events, _ = read([DATASETS / "slips-dataset-extra" / "dataset" / "test9-mixed-zeek-dir"])
    ssl = [e for e in events if e["sourcetype"] == "bro:ssl:json"]
    x509 = [e for e in events if e["sourcetype"] == "bro:x509:json"]
    assert any(e.get("ja3") for e in ssl) and any(e.get("server_name") for e in ssl)
    assert x509 and all(e.get("certificate.subject") and e.get("certificate.issuer") for e in x509)
    assert any(isinstance(e.get("san.dns"), list) for e in x509)


def test_sysmon_for_linux_in_journald_json_and_splunk_exports(tmp_path):
    net = {"Image": "/usr/bin/curl", "Protocol": "tcp", "Initiated": "true",
           "SourceIp": "10.1.1.20", "SourcePort": "41001", "DestinationIp": "203.0.113.9",
           "DestinationPort": "443", "User": "bob"}
    record = _linux_sysmon(3, 50, "2024-05-14T09:31:00.000000000Z", net)
    lines = [
        {"MESSAGE": record, "SYSLOG_IDENTIFIER": "sysmon", "_HOSTNAME": "web01",
         "__REALTIME_TIMESTAMP": "1715679060000000"},
        # a Splunk search export: {"preview": ..., "result": {...,"_raw": ...}}
        {"preview": False, "offset": 0, "result": {
            "_raw": "May 14 09:31:00 web01 sysmon: " + record, "sourcetype": "sysmon:linux",
            "host": "web01", "_time": "2024-05-14T09:31:00.000+00:00"}},
    ]
    path = tmp_path / "exported.json"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    events, issues = read([path])
    assert issues == [] and len(events) == 2
    for event in events:
        assert event["sourcetype"] == "sysmon:linux" and event["process_name"] == "curl"
        assert event["dest"] == "203.0.113.9" and event["_time"] == 1715679060.0


def test_windows_and_zeek_events_exported_from_splunk_read_from_raw(tmp_path):
    xml = ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
           '<EventID>3</EventID><TimeCreated SystemTime="2024-05-14T09:00:00.000Z"/>'
           '<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS05.corp</Computer>'
           '</System><EventData>' + _data_xml(SYSMON3) + '</EventData></Event>')
    zeek = json.loads(conn_json("dotted").splitlines()[0])
    lines = [{"preview": False, "result": {"_raw": xml, "sourcetype": "XmlWinEventLog",
                                           "EventCode": "3", "host": "WS05.corp"}},
             {"preview": False, "result": {"_raw": json.dumps(zeek), "sourcetype": "bro:conn:json",
                                           "host": "sensor1", "uid": "CaaA1"}}]
    path = tmp_path / "splunk_export.json"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    events, issues = read([path])
    assert issues == []
    sysmon = next(e for e in events if e["sourcetype"] == "XmlWinEventLog")
    assert sysmon["process_name"] == "upd.exe" and sysmon["dest_port"] == "4444"
    conn = next(e for e in events if e["sourcetype"] == "bro:conn:json")
    assert conn["src"] == "10.1.1.5" and conn["dest_port"] == "8443" and conn["orig_bytes"] == "2048"


def test_splunk_csv_export_of_raw_events_read_from_raw(tmp_path):
    # "Export results as CSV" of `| table _time _raw sourcetype host`: the same events as the
    # JSON export (Windows XML with a newline in a value, Zeek JSON with commas and quotes)
    import csv
    import io
    xml = ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
           '<EventID>3</EventID><TimeCreated SystemTime="2024-05-14T09:00:00.000Z"/>'
           '<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS05.corp</Computer>'
           '</System><EventData>' + _data_xml(SYSMON3) + '<Data Name="Note">a\nb</Data></EventData></Event>')
    zeek = json.loads(conn_json("dotted").splitlines()[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["_time", "_raw", "sourcetype", "host"])
    writer.writerow(["2024-05-14T09:00:00.000+00:00", xml, "XmlWinEventLog", "WS05.corp"])
    writer.writerow(["2024-05-14T09:00:00.100+00:00", json.dumps(zeek), "bro:conn:json", "sensor1"])
    writer.writerow(["2024-05-14T09:00:01.000+00:00", "not an event the readers know", "syslog", "x"])
    path = tmp_path / "splunk_export.csv"
    path.write_text(buffer.getvalue())
    events, issues = read([path])
    assert [str(i).split(": ", 2)[-1] for i in issues] == ["row without sourcetype or tag"]
    sysmon = next(e for e in events if e["sourcetype"] == "XmlWinEventLog")
    assert sysmon["process_name"] == "upd.exe" and sysmon["dest_port"] == "4444" and sysmon["Note"] == "a\nb"
    conn = next(e for e in events if e["sourcetype"] == "bro:conn:json")
    assert conn["src"] == "10.1.1.5" and conn["dest_port"] == "8443" and conn["_time"] == zeek["ts"]


@needs_datasets
@pytest.mark.parametrize("folder", ["evtx-attack-samples", "ndpi-pcaps", "pcap-attack",
                                    "zeek-traces", "slips-cc-beacons", "slips-dataset-extra"])
def test_dataset_folders_read_without_errors_but_the_broken_lines(folder):
    """Captures whose DNS messages are malformed on purpose (SIGRed, Zeek's invalid-names
    trace) are read in full with a warning; the one mangled notice.log row is named."""
    events, issues = read([DATASETS / folder])
    assert events
    broken = [str(i).split(": ", 1)[0].split(folder + "/")[1] for i in errors(issues)]
    expected = {"slips-dataset-extra": ["dataset/test10-mixed-zeek-dir/notice.log:21"]}
    assert broken == expected.get(folder, [])


def test_windows_xml_forwarded_through_syslog_keeps_its_windows_labels(tmp_path):
    xml = ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
           '<EventID>3</EventID><TimeCreated SystemTime="2024-05-14T09:00:00.000Z"/>'
           '<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS05.corp</Computer>'
           '</System><EventData>' + _data_xml(SYSMON3) + '</EventData></Event>')
    path = tmp_path / "forwarded.log"
    path.write_text("<14>May 14 09:00:00 WS05 MSWinEventLog: " + xml + "\n")
    events, issues = read([path])
    assert issues == []
    assert (events[0]["sourcetype"], events[0]["source"], events[0]["process_name"]) == \
        ("XmlWinEventLog", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "upd.exe")


def test_zeek_json_whose_pipeline_moved_ts_to_at_timestamp(tmp_path):
    records = [json.loads(line) for line in conn_json("underscore").splitlines()]
    for record in records:
        record["@timestamp"] = record.pop("ts")
    path = tmp_path / "conn.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    events, issues = read([path])
    assert issues == [] and sorted(e["_time"] for e in events) == [1715677200.1, 1715677260.25]


# The message of a permitted WFP connection (5156) as both text renderings print it.
WFP_5156_MESSAGE = """The Windows Filtering Platform has permitted a connection.

Application Information:
\tProcess ID:\t\t1234
\tApplication Name:\t\\device\\harddiskvolume2\\tools\\x.exe

Network Information:
\tDirection:\t\tOutbound
\tSource Address:\t\t10.0.0.6
\tSource Port:\t\t51000
\tDestination Address:\t198.51.100.3
\tDestination Port:\t\t4444
\tProtocol:\t\t6
"""


CLASSIC = """05/14/2024 09:01:00 AM
LogName=Security
EventCode=5156
EventType=0
ComputerName=WS02.corp
SourceName=Microsoft Windows security auditing.
Type=Information
RecordNumber=9
Keywords=Audit Success
TaskCategory=Filtering Platform Connection
OpCode=Info
Message=""" + WFP_5156_MESSAGE + """
05/14/2024 09:01:05 AM
LogName=Microsoft-Windows-Sysmon/Operational
EventCode=3
ComputerName=WS02.corp
RecordNumber=77
Message=Network connection detected:
RuleName: -
UtcTime: 2024-05-14 09:01:05.000
ProcessId: 4242
Image: C:\\Users\\bob\\AppData\\Local\\Temp\\upd.exe
User: CORP\\bob
Protocol: tcp
Initiated: true
SourceIp: 10.0.0.6
SourcePort: 51001
DestinationIp: 198.51.100.3
DestinationPort: 4444

05/14/2024 09:01:09 AM
EventCode=4688
Message=A new process has been created.
"""


def test_classic_windows_rendering(tmp_path):
    path = tmp_path / "wineventlog.txt"
    path.write_text(CLASSIC)
    events, issues = read([path])
    assert [str(i).split(": ", 1)[0] for i in issues] == [str(path) + ":44"]  # no LogName
    wfp = next(e for e in events if e["EventCode"] == "5156")
    assert (wfp["sourcetype"], wfp["source"]) == ("WinEventLog", "WinEventLog:Security")
    assert wfp["_time"] == 1715677260.0 and wfp["host"] == "WS02.corp"
    assert (wfp["Application_Name"], wfp["process_name"], wfp["Direction"], wfp["direction"],
            wfp["dest"], wfp["dest_port"], wfp["transport"], wfp["TaskCategory"]) == (
        "\\device\\harddiskvolume2\\tools\\x.exe", "x.exe", "Outbound", "outbound",
        "198.51.100.3", "4444", "tcp", "Filtering Platform Connection")
    sysmon = next(e for e in events if e["EventCode"] == "3")
    assert sysmon["source"] == "WinEventLog:Microsoft-Windows-Sysmon/Operational"
    assert (sysmon["Image"], sysmon["process_name"], sysmon["dest_port"], sysmon["direction"]) == (
        "C:\\Users\\bob\\AppData\\Local\\Temp\\upd.exe", "upd.exe", "4444", "outbound")
    assert run_search("`c2hunt_wineventlog_wfp` | stats count", [str(path)]) == [{"count": 1}]
    assert run_search("`c2hunt_sysmon_network` | stats count", [str(path)]) == [{"count": 1}]


# --------------------------------------------------------------------------------- UTF-16 text

UTF16_FORMS = {"le-bom": b"\xff\xfe", "be-bom": b"\xfe\xff", "le": b"", "be": b""}


def _utf16(text, form):
    return UTF16_FORMS[form] + text.encode("utf-16-be" if form.startswith("be") else "utf-16-le")


@pytest.mark.parametrize("form", sorted(UTF16_FORMS))
def test_utf16_windows_exports_read_like_utf8(tmp_path, form):
    # PowerShell 5's `wevtutil qe Security /f:xml > x.xml` and Event Viewer's Unicode text
    # are UTF-16: the same events as the UTF-8 file, not an unknown format.
    for name, text in (("wineventlog.txt", CLASSIC.replace("\n", "\r\n")), ("conn.log", conn_tsv())):
        (tmp_path / "utf8").mkdir(exist_ok=True)
        (tmp_path / form).mkdir(exist_ok=True)
        plain, wide = tmp_path / "utf8" / name, tmp_path / form / name
        plain.write_text(text)
        wide.write_bytes(_utf16(text, form))
        want, want_issues = read([plain])
        got, got_issues = read([wide])
        assert want and comparable(got) == comparable(want)
        assert len(got_issues) == len(want_issues)
    xml = tmp_path / form / "security.xml"
    xml.write_bytes(_utf16('<?xml version="1.0" encoding="UTF-16"?>\r\n<Events>' + SECURITY_5156_XML
                           + "</Events>\r\n", form))
    events, issues = read([xml])
    assert issues == [] and [e["EventCode"] for e in events] == ["5156"]
    assert run_search("`c2hunt_wineventlog_wfp` | stats count by process_name", [str(xml)]) == \
        [{"process_name": "x.exe", "count": 1}]


def test_utf16_decoding_keeps_characters_split_between_chunks():
    from c2hunt_offline.readers.dispatch import utf8_chunks
    text = "Image: C:\\Users\\jörg\\€\U0001F600.exe\r\n" * 3
    data = b"\xff\xfe" + text.encode("utf-16-le")
    for size in (1, 3, 5, 4096):
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
        assert b"".join(utf8_chunks(pieces)).decode("utf-8") == text
    assert b"".join(utf8_chunks([b"ab", b"cd\x00"])) == b"abcd\x00"    # UTF-8 passes as it is
    assert b"".join(utf8_chunks([])) == b""


WEVTUTIL_TEXT = """Event[0]:
  Log Name: Security
  Source: Microsoft-Windows-Security-Auditing
  Date: 2024-05-14T09:01:00.123
  Event ID: 5156
  Task: Filtering Platform Connection
  Level: Information
  Opcode: Info
  Keyword: Audit Success
  User: N/A
  User Name: N/A
  Computer: WS02.corp
  Description:
""" + WFP_5156_MESSAGE + """
Event[1]:
  Log Name: Microsoft-Windows-Sysmon/Operational
  Source: Microsoft-Windows-Sysmon
  Date: 2024-05-14T09:01:05.000
  Event ID: 3
  Task: Network connection detected (rule: NetworkConnect)
  Computer: WS02.corp
  Description:
Network connection detected:
RuleName: -
Image: C:\\Users\\bob\\AppData\\Local\\Temp\\upd.exe
Initiated: true
DestinationIp: 198.51.100.3
DestinationPort: 4444

Event[2]:
  Source: Microsoft-Windows-Sysmon
  Description:
no log name
"""


def test_wevtutil_text_export(tmp_path):
    # `wevtutil qe Security /f:text`: the classic rendering's message under another header
    path = tmp_path / "security.txt"
    path.write_text(WEVTUTIL_TEXT.replace("\n", "\r\n"))
    events, issues = read([path])
    assert [str(i).split(": ", 1)[0] for i in issues] == [str(path) + ":43"]  # no Log Name
    wfp = next(e for e in events if e["EventCode"] == "5156")
    sysmon = next(e for e in events if e["EventCode"] == "3")
    assert (wfp["sourcetype"], wfp["source"], wfp["_time"], wfp["host"], wfp["TaskCategory"]) == (
        "WinEventLog", "WinEventLog:Security", 1715677260.123, "WS02.corp", "Filtering Platform Connection")
    assert (wfp["Application_Name"], wfp["process_name"], wfp["direction"], wfp["dest"], wfp["dest_port"]) == (
        "\\device\\harddiskvolume2\\tools\\x.exe", "x.exe", "outbound", "198.51.100.3", "4444")
    assert (sysmon["source"], sysmon["Image"], sysmon["dest_port"]) == (
        "WinEventLog:Microsoft-Windows-Sysmon/Operational", "C:\\Users\\bob\\AppData\\Local\\Temp\\upd.exe", "4444")
    assert run_search("`c2hunt_wineventlog_wfp` | stats count", [str(path)]) == [{"count": 1}]
    assert run_search("`c2hunt_sysmon_network` | stats count", [str(path)]) == [{"count": 1}]
