"""Readers: golden files for inputs generated here, and bad input handling.

Rewrite the goldens with ``C2HUNT_UPDATE_GOLDEN=1`` after a deliberate change, then review
the diff: the goldens are the field contract with the data-source macros (README).
"""
import json
from pathlib import Path

import pytest

from c2hunt_offline import Runner, hunt, run_search
from c2hunt_offline.readers import decode_saddr

from support import assert_matches_golden, normalise_read

GOLDEN = Path(__file__).parent / "golden"


def _sysmon_xml(eid, record, when, data):
    items = "".join('<Data Name="%s">%s</Data>' % (k, v) for k, v in data)
    return ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
            '<Provider Name="Microsoft-Windows-Sysmon"/><EventID>%d</EventID>'
            '<TimeCreated SystemTime="%s"/><EventRecordID>%d</EventRecordID>'
            '<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS01.corp</Computer>'
            '</System><EventData>%s</EventData></Event>' % (eid, when, record, items))


INPUTS = {
    "sysmon.xml": "\n".join([
        _sysmon_xml(3, 1, "2024-05-14T09:00:00.1234567Z", [
            ("RuleName", ""), ("UtcTime", "2024-05-14 09:00:00.123"), ("ProcessId", "4242"),
            ("Image", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"),
            ("User", "CORP\\alice"), ("Protocol", "tcp"), ("Initiated", "True"),
            ("SourceIp", "10.0.0.5"), ("SourcePort", "50000"), ("DestinationIp", "127.0.0.1"),
            ("DestinationPort", "9050"), ("DestinationHostname", "")]),
        '<Event><System><EventID>3</EventID></System><EventData><Data Name="x">broken',
        _sysmon_xml(1, 2, "2024-05-14T08:59:59Z", [
            ("Image", "C:\\Tools\\ncat.exe"), ("CommandLine", "ncat.exe 127.0.0.1 9050"),
            ("ParentImage", "C:\\Windows\\System32\\cmd.exe"), ("ParentCommandLine", "cmd.exe /c x"),
            ("User", "CORP\\bob"), ("ProcessId", "77")]),
    ]) + "\n",
    "security.xml": (
        '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
        '<Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>5156</EventID>'
        '<TimeCreated SystemTime="2024-05-14T09:01:00.000Z"/><EventRecordID>9</EventRecordID>'
        '<Channel>Security</Channel><Computer>WS02.corp</Computer></System><EventData>'
        '<Data Name="ProcessID">1234</Data><Data Name="Application">\\device\\harddiskvolume2\\tools\\beacon.exe</Data>'
        '<Data Name="Direction">%%14593</Data><Data Name="SourceAddress">10.0.0.6</Data>'
        '<Data Name="SourcePort">51000</Data><Data Name="DestAddress">8.8.8.8</Data>'
        '<Data Name="DestPort">4444</Data><Data Name="Protocol">17</Data>'
        '<Data Name="FilterRTID">0</Data><Data Name="LayerName">%%14611</Data></EventData></Event>\n'),
    "sysmon.json": "\n".join([
        json.dumps({"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "WS03",
                    "UtcTime": "2024-05-14 09:02:00.000", "Image": "C:\\Python\\python.exe",
                    "Protocol": "udp", "Initiated": "true", "SourceIp": "10.0.0.7",
                    "SourcePort": "40000", "DestinationIp": "8.8.8.8", "DestinationPort": "4444"}),
        "{not json",
        json.dumps({"winlog": {"event_id": 3, "channel": "Microsoft-Windows-Sysmon/Operational",
                               "computer_name": "WS04", "record_id": 5,
                               "event_data": {"Image": "C:\\x\\a.exe", "Protocol": "tcp",
                                              "DestinationIp": "1.2.3.4", "DestinationPort": "1080"}},
                    "@timestamp": "2024-05-14T09:03:00Z"}),
    ]) + "\n",
    "audit.log": "\n".join([
        'node=lnx01 type=SYSCALL msg=audit(1715677380.040:1002): arch=c000003e syscall=41 success=yes exit=3 '
        'a0=2 a1=80003 a2=1 a3=0 items=0 ppid=717 pid=2011 auid=1000 uid=0 gid=0 euid=0 comm="ptunnel-ng" '
        'exe="/usr/local/bin/ptunnel-ng" key="net"',
        'node=lnx01 type=PROCTITLE msg=audit(1715677380.040:1002): proctitle=7074756E6E656C2D6E67002D7031',
        "this line is garbage",
        'node=lnx01 type=SYSCALL msg=audit(1715677381.000:1003): arch=c000003e syscall=42 success=no exit=-115 '
        'a0=3 a1=7ffd a2=10 a3=0 items=0 ppid=1 pid=3000 auid=1000 uid=1000 comm="ncat" exe="/usr/bin/ncat"',
        'node=lnx01 type=SOCKADDR msg=audit(1715677381.000:1003): saddr=020023827F0000010000000000000000',
        'node=lnx01 type=SYSCALL msg=audit(1715677382.000:1004): arch=c000003e syscall=59 success=yes exit=0 '
        'a0=1 a1=2 a2=3 a3=0 items=2 ppid=1 pid=3001 auid=1000 uid=1000 comm="bash" exe="/usr/bin/bash"',
        'node=lnx01 type=EXECVE msg=audit(1715677382.000:1004): argc=3 a0="bash" a1="-c" a2=6563686F206869',
    ]) + "\n",
    "conn.log": "\n".join([
        "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
        "#path\tconn", "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tcount\tcount",
        "1715677400.5\tC1\t10.0.0.8\t0\t203.0.113.9\t8\ticmp\t-\t600.25\t64000\t64000\tOTH\t1000\t1000",
        "1715677401.0\tC2\t10.0.0.8\t5353",
        "1715677402.0\tC3\t10.0.0.9\t53000\t8.8.8.8\t53\tudp\tdns\t0.01\t40\t120\tSF\t1\t1",
    ]) + "\n",
    "dns.json": "\n".join([
        json.dumps({"ts": 1715677500.0, "uid": "D1", "id.orig_h": "10.0.0.9", "id.orig_p": 53001,
                    "id.resp_h": "8.8.8.8", "id.resp_p": 53, "proto": "udp", "query": "aGVsbG8.evil.example",
                    "qtype_name": "TXT", "rcode_name": "NOERROR", "answers": ["a", "b"], "TTLs": [60.0, 60.0]}),
    ]) + "\n",
    "flows.csv": "time,src,dest,bytes_out\n1715677600,10.0.0.1,10.0.0.2,100\n1715677601,10.0.0.1\n",
}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_reader_golden(tmp_path, name):
    path = tmp_path / name
    path.write_text(INPUTS[name])
    spec = str(path) + (":my:csv" if name.endswith(".csv") else "")
    events, issues = Runner().read_files([spec])
    assert_matches_golden(GOLDEN / (name + ".json"), normalise_read(events, issues, tmp_path))


def test_bad_records_are_reported_with_line_and_good_ones_kept(tmp_path):
    cases = {"sysmon.xml": (2, ":2:"), "sysmon.json": (2, ":2:"), "audit.log": (3, ":3:"),
             "conn.log": (2, ":9:"), "flows.csv": (1, ":3:")}
    for name, (n_events, where) in cases.items():
        path = tmp_path / name
        path.write_text(INPUTS[name])
        spec = str(path) + (":my:csv" if name.endswith(".csv") else "")
        events, issues = Runner().read_files([spec])
        assert len(events) == n_events, name
        assert len(issues) == 1 and (name + where) in str(issues[0]), (name, issues)


def test_unknown_and_missing_files_are_named(tmp_path):
    unknown = tmp_path / "mystery.bin"
    unknown.write_bytes(b"\x00\x01garbage\n")
    events, issues = Runner().read_files([str(unknown), str(tmp_path / "absent.log")])
    assert events == []
    text = " ".join(str(i) for i in issues)
    assert "mystery.bin" in text and "unknown log format" in text
    assert "absent.log" in text and "cannot read" in text


def test_hunt_and_run_search_return_the_read_issues(tmp_path):
    good = tmp_path / "sysmon.xml"
    good.write_text(INPUTS["sysmon.xml"])
    unknown = tmp_path / "mystery.bin"
    unknown.write_bytes(b"\x00\x01garbage\n")
    files = [str(good), str(unknown)]
    rows = run_search("sourcetype=* | stats count", files)
    notables = hunt(files)
    for result in (rows, notables):
        where = {str(issue).split(": ")[0] for issue in result.issues}
        assert where == {str(good) + ":2", str(unknown)}, result.issues
    assert rows == [{"count": 2}]
    assert run_search("| makeresults", [{"a": "1"}]).issues == []


def test_json_without_sourcetype_is_an_issue(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}\n')
    events, issues = Runner().read_files([str(path)])
    assert events == [] and "give --sourcetype" in str(issues[0])


def test_tagged_search_results_keep_their_sourcetype_and_tags(tmp_path):
    """A Splunk export of CIM-mapped events (tag=network tag=communicate | table *) is read
    as those events: their own sourcetype, fields and tags, so tstats finds them."""
    path = tmp_path / "cim.json"
    path.write_text(json.dumps({"preview": False, "result": {
        "_time": "2024-05-14T09:00:00.000+00:00", "sourcetype": "pan:traffic", "host": "fw01",
        "tag": ["network", "communicate"], "src": "10.0.0.5", "dest": "203.0.113.9",
        "dest_port": "4444", "transport": "tcp", "app": "unknown-tcp"}}) + "\n")
    events, issues = Runner().read_files([str(path)])
    assert issues == []
    assert events[0]["sourcetype"] == "pan:traffic" and events[0]["host"] == "fw01"
    assert events[0]["_time"] == 1715677200.0 and events[0]["tag"] == ["network", "communicate"]
    rows = run_search("| tstats count from datamodel=Network_Traffic by All_Traffic.app", [str(path)])
    assert rows == [{"All_Traffic.app": "unknown-tcp", "count": 1}]


def test_tagged_csv_export_is_read_without_a_sourcetype(tmp_path):
    """Splunk's CSV export of the same results: multivalue cells hold one value a line."""
    path = tmp_path / "firewall.csv"
    path.write_text('_time,sourcetype,host,tag,src,dest,dest_port,transport,app\n'
                    '2024-05-14T09:00:00.000+00:00,pan:traffic,fw01,"network\ncommunicate",'
                    '10.0.0.5,203.0.113.9,4444,tcp,unknown-tcp\n')
    events, issues = Runner().read_files([str(path)])
    assert issues == []
    assert events[0]["tag"] == ["network", "communicate"] and events[0]["host"] == "fw01"
    rows = run_search("| tstats count from datamodel=Network_Traffic by All_Traffic.dest_port", [str(path)])
    assert rows == [{"All_Traffic.dest_port": "4444", "count": 1}]


def test_decode_saddr():
    assert decode_saddr("020023827F0000010000000000000000") == {"saddr_family": "inet", "dest_port": "9090", "dest_ip": "127.0.0.1"}
    v6 = "0A00005000000000" + "20010DB8000000000000000000000001" + "00000000"
    assert decode_saddr(v6) == {"saddr_family": "inet6", "dest_port": "80", "dest_ip": "2001:db8::1"}
    assert decode_saddr("01002F746D702F736F636B00")["saddr_path"] == "/tmp/sock"
    assert decode_saddr("zz") == {}


def test_pcap_through_flow_code(tmp_path):
    dpkt = pytest.importorskip("dpkt")
    path = tmp_path / "ping.pcap"
    with open(path, "wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for i in range(4):
            for src, dst, kind in ((b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 8), (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01", 0)):
                echo = dpkt.icmp.ICMP.Echo(id=7, seq=i, data=b"x" * 56)
                icmp = dpkt.icmp.ICMP(type=kind, code=0, data=echo)
                ip = dpkt.ip.IP(src=src, dst=dst, p=1, data=icmp)
                ip.len = len(bytes(ip))
                eth = dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x00" * 6, type=0x0800, data=ip)
                writer.writepkt(bytes(eth), ts=1715677700 + i + (0.1 if kind == 0 else 0))
    events, issues = Runner().read_files([str(path)])
    assert issues == []
    assert len(events) == 1
    ev = events[0]
    assert ev["sourcetype"] == "c2hunt:flow" and ev["transport"] == "icmp"
    assert ev["src"] == "10.0.0.1" and ev["dest"] == "10.0.0.2"
    assert ev["_time"] == pytest.approx(1715677700)


def test_evtx_sysmon_and_5156(evtx_events):
    events, issues = evtx_events
    assert issues == []
    plink = [e for e in events if e.get("process_name") == "plink.exe" and e.get("EventCode") == "3"]
    assert plink and plink[0]["sourcetype"] == "XmlWinEventLog"
    assert plink[0]["source"] == "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
    assert {e["dest_port"] for e in plink} >= {"3389"}
    wfp = [e for e in events if e.get("EventCode") == "5156" and e.get("process_name") == "plink.exe"]
    assert wfp and wfp[0]["Direction"] == "Outbound" and wfp[0]["transport"] == "tcp"
    assert wfp[0]["Application_Name"].endswith("plink.exe")


def test_both_evtx_parsers_give_the_same_events(evtx_events):
    from c2hunt_offline.readers import read_evtx_python
    pytest.importorskip("evtx")
    events, _ = evtx_events
    counts = {}
    for e in events:
        counts[e["c2hunt_file"]] = counts.get(e["c2hunt_file"], 0) + 1
    first_file = min(sorted(counts), key=lambda f: (counts[f] < 10, counts[f]))  # small, not trivial
    fast = sorted((e for e in events if e["c2hunt_file"] == first_file), key=lambda e: e["EventRecordID"])
    slow, issues = read_evtx_python(first_file)
    slow.sort(key=lambda e: e["EventRecordID"])
    assert issues == [] and len(fast) == len(slow)
    for a, b in zip(fast, slow):
        a, b = dict(a), dict(b)
        for e in (a, b):
            e.pop("_raw")
            e.pop("index", None), e.pop("linecount", None), e.pop("host", None)
        assert a.pop("_time") == pytest.approx(b.pop("_time"), abs=5e-6)  # the parsers round 100 ns FILETIME ticks differently
        assert a == b
