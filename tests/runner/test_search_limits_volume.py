"""The correlation searches at volume: every eventstats runs over rows that grow with groups
(channels, destinations, names), not with connections, so limits.conf's eventstats limits
(maxresultrows and max_mem_usage_mb together; past them eventstats stops adding its fields)
are not reached where a day of a big network's connections would reach them.

A day of a mid-size network is millions of conn records; here the limits are scaled down
instead (``limits.eventstats_limits``) so that 20,000 generated records (the scale
benchmark's generator: benchmarks/offline_scale.py) pass them one row per connection, as 5
million records pass the real ones. Before the beacon searches aggregated first, Periodic
Beaconing found none of the planted beacons this way (and none at 5 million records)."""
import json
from pathlib import Path

import pytest

import offline_scale  # benchmarks/ (on pythonpath)
from c2hunt_offline import limits
from c2hunt_offline.engine import Runner, data_now
from c2hunt_sim.world import STREAM_FILES, Host, Recorder

ROOT = Path(__file__).resolve().parents[2]
BEACONING = "C2Hunt - Periodic Beaconing - Rule"
# 20,000 conn + 4,000 dns records: about 23,000 rows per channel and second (4.7 MB as
# limits.py estimates them) reach what used to be the first eventstats; the largest
# eventstats input now is about 12,700 rows and 1.7 MB (channels that can be scored, one row
# per destination for the rest, one per source and DNS name)
SCALED = {"maxresultrows": 1000, "max_mem_usage_mb": 2}
# Searches whose eventstats still join per event over the generated conn/dns records
# (documented in docs/offline-runner.md "Search limits at volume"): none since the Linux/macOS
# program search joins Zeek bytes by stats first. Add a search here only with its reason.
PER_EVENT_JOINS = set()


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale20k")
    paths, planted = offline_scale.generate(str(folder), 20000)
    runner = Runner()
    events, issues = runner.read_table(paths)
    assert not issues
    return runner, runner.event_table(events) or events, planted


def run(runner, events, name):
    saved = next(s for s in runner.saved_searches() if s.name == name)
    return runner.run(saved.search, events, now=data_now(events))


def truncations(result):
    return [m for m in result.messages if m.startswith("eventstats: WARN")]


def test_the_scaled_limits_cut_rows_per_connection(workload):
    # the premise: one row per channel and second (Periodic Beaconing's first stats) is past
    # the scaled limits, so an eventstats there would drop fields
    runner, events, _ = workload
    saved = next(s for s in runner.saved_searches() if s.name == BEACONING)
    head = saved.search.split("| `c2hunt_beacon_series`")[0]
    assert "by src dest dest_port transport channel _time" in head
    with limits.eventstats_limits(**SCALED):
        result = runner.run(head + "| eventstats count AS rows", events, now=data_now(events))
    assert len(result.rows) > 20000
    assert truncations(result), result.messages


def test_every_planted_beacon_found_within_scaled_limits(workload):
    runner, events, planted = workload
    with limits.eventstats_limits(**SCALED):
        result = run(runner, events, BEACONING)
    assert truncations(result) == []
    found = {(row["src"], row["dest"]) for row in result.rows}
    assert {(src, dest) for src, dest, _, _ in planted} <= found
    assert len(planted) == 20


def test_same_beacons_with_and_without_scaled_limits(workload):
    runner, events, _ = workload
    plain = run(runner, events, BEACONING)
    with limits.eventstats_limits(**SCALED):
        scaled = run(runner, events, BEACONING)
    assert plain.rows == scaled.rows and plain.messages == scaled.messages == []


def test_no_search_truncates_eventstats_within_scaled_limits(workload):
    runner, events, _ = workload
    cut = {}
    with limits.eventstats_limits(**SCALED):
        for saved in runner.saved_searches():
            if saved.kind == "correlation":
                messages = truncations(runner.run(saved.search, events, now=data_now(events)))
                if messages:
                    cut[saved.name] = messages
    assert set(cut) <= PER_EVENT_JOINS, cut


def test_limits_restored():
    before = limits.MAXRESULTROWS, limits.MAX_MEM_USAGE_MB
    with pytest.raises(RuntimeError):
        with limits.eventstats_limits(10, 1):
            assert (limits.MAXRESULTROWS, limits.MAX_MEM_USAGE_MB) == (10, 1)
            raise RuntimeError
    assert (limits.MAXRESULTROWS, limits.MAX_MEM_USAGE_MB) == before == (50000, 200)


def test_a_channel_past_the_limits_is_scored_not_dropped(workload):
    # limits so low that the channel rows pass them too: the planted beacons' rows come
    # last (their sources sort after the others) and get no prevalence; they are still
    # scored and raised, without the rare-destination signal, and the search says why
    runner, events, planted = workload
    with limits.eventstats_limits(maxresultrows=100, max_mem_usage_mb=1):
        result = run(runner, events, BEACONING)
    assert truncations(result)
    found = {(row["src"], row["dest"]): row for row in result.rows}
    assert {(src, dest) for src, dest, _, _ in planted} <= set(found)
    cut = [row for row in found.values() if row.get("dest_sources") == "-"]
    assert cut and all("Beacon_Rare_Destination" not in row["signals"] for row in cut)


def _conn(src, offset, dest="203.0.113.80"):
    return {"sourcetype": "bro:conn:json", "_time": 1700000000.0 + offset, "src": src, "dest": dest,
            "src_port": str(40000 + int(offset) % 20000), "dest_port": "443", "transport": "tcp",
            "duration": "0.2", "bytes_out": "700", "bytes_in": "2100", "conn_state": "SF",
            "host": src, "index": "main"}


def test_channels_too_short_to_score_still_count_toward_prevalence():
    # one host beacons every 10 minutes; nine others reached the same server once or twice
    # (folded into one row per destination): the server is common (10 of 10 sources), so
    # the beacon is dropped as software many hosts run; without them it is raised
    runner = Runner()
    beacon = [_conn("10.0.0.1", i * 600.0 + (17 * i) % 40) for i in range(60)]
    others = [_conn("10.0.0.%d" % n, 3000.0 * n + k * 90) for n in range(2, 11) for k in range(n % 2 + 1)]
    hunted = {}
    for name, events in (("alone", beacon), ("with others", beacon + others)):
        notables, errors = runner.hunt(events, names=[BEACONING])
        assert not errors
        hunted[name] = [(n.fields["src"], n.fields["dest"]) for n in notables]
    assert hunted["alone"] == [("10.0.0.1", "203.0.113.80")]
    assert hunted["with others"] == []


TLS = "C2Hunt - Suspicious TLS Or Long Connection - Rule"
CS_SUBJECT = "CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth"


def _write_json(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_tls_sessions_are_grouped_before_the_certificate_join(tmp_path):
    # a day of browsing: 40 hosts, 100 sessions each to five sites with a public CA's
    # certificate, and one host whose first sessions (the oldest, so the last rows) reached
    # a server with Cobalt Strike's default certificate. The x509 join and the rare-destination
    # count run over sessions grouped by what the search judges (src, dest, SNI, JA3s,
    # certificate ...), not over the 4,000 sessions, so the certificate is still found
    t0 = 1700000000.0
    sessions = [{"ts": t0 + 3600 + 20 * k + n * 0.1, "uid": "C%d-%d" % (n, k), "id.orig_h": "10.1.2.%d" % (n + 10),
                 "id.orig_p": 40000 + k, "id.resp_h": "203.0.113.%d" % (k % 5 + 1), "id.resp_p": 443,
                 "server_name": "site%d.example.com" % (k % 5), "established": True, "cert_chain_fps": ["le%d" % (k % 5)]}
                for n in range(40) for k in range(100)]
    sessions += [{"ts": t0 + 60 * k, "uid": "CS%d" % k, "id.orig_h": "10.1.2.99", "id.orig_p": 50000 + k,
                  "id.resp_h": "198.51.100.7", "id.resp_p": 443, "established": True, "cert_chain_fps": ["cs"]}
                 for k in range(10)]
    certificates = [{"ts": t0, "fingerprint": "le%d" % i, "certificate.subject": "CN=site%d.example.com" % i,
                     "certificate.issuer": "CN=R3,O=Let's Encrypt,C=US", "certificate.not_valid_after": 1900000000.0}
                    for i in range(5)]
    certificates.append({"ts": t0, "fingerprint": "cs", "certificate.subject": CS_SUBJECT,
                         "certificate.issuer": CS_SUBJECT, "certificate.not_valid_after": 1900000000.0})
    files = [_write_json(tmp_path / "ssl.json", sessions) + ":bro:ssl:json",
             _write_json(tmp_path / "x509.json", certificates) + ":bro:x509:json"]
    runner = Runner()
    events, issues = runner.read_table(files)
    assert not issues
    events = runner.event_table(events) or events
    with limits.eventstats_limits(**SCALED):
        result = run(runner, events, TLS)
    assert truncations(result) == []
    (row,) = [row for row in result.rows if row["src"] == "10.1.2.99"]
    assert row["detection_signal"] == "TLS_C2_Framework_Certificate" and int(float(row["count"])) == 10


UNIX_PROGRAMS = "C2Hunt - Network Tool, Script Or Transient Program To Monitored Port Or Beaconing - Linux And macOS - Rule"
UNIX_SAMPLE = ROOT / "samples" / "x8_unix_scripted_app_c2"
UNIX_TUNNELS = ROOT / "samples" / "x7_tunnel_tools_and_reverse_shells"
TUNNELS = "C2Hunt - Tunnelling Tool Or Reverse Shell Command Line - Rule"
ESXI = "C2Hunt - ESXi Guest Operations Or Unusual Host Process - Rule"


def _other_connections(path, count, t0):
    # a busy network's other connections, newer than the sample's: before the flow join
    # aggregated first they came first in the eventstats by flow_key and took it past the
    # scaled limits, so the implant's connections (last rows) got no Zeek bytes
    rows = [{"ts": t0 + 7200 + i * 0.5, "uid": "Cpad%d" % i, "id.orig_h": "10.30.%d.%d" % (i // 250 % 250, i % 250 + 1),
             "id.orig_p": 20000 + i % 40000, "id.resp_h": "192.0.2.%d" % (i % 200 + 1), "id.resp_p": 443, "proto": "tcp",
             "service": "ssl", "duration": 1.5, "orig_bytes": 900, "resp_bytes": 5000, "conn_state": "SF",
             "local_orig": True, "local_resp": False, "history": "ShADadFf", "orig_pkts": 8, "resp_pkts": 9}
            for i in range(count)]
    return _write_json(path, rows) + ":bro:conn:json"


@pytest.fixture(scope="module")
def unix_workload(tmp_path_factory):
    padding = _other_connections(tmp_path_factory.mktemp("unixpad") / "conn_other.log", 3000, 1715678519.0)
    runner = Runner()
    events, issues = runner.read_table([str(UNIX_SAMPLE), padding])
    assert not [i for i in issues if i.is_error]
    return runner, runner.event_table(events) or events


def test_conn_records_alone_pass_the_scaled_limits(unix_workload):
    # the premise: an eventstats over the conn records (what the flow join was) is cut
    runner, events = unix_workload
    with limits.eventstats_limits(**SCALED):
        result = runner.run("`c2hunt_zeek_conn` | eventstats count AS rows by src", events, now=data_now(events))
    assert len(result.rows) > 3000 and truncations(result)


def test_flow_bytes_joined_within_scaled_limits(unix_workload):
    # the flow join holds the endpoint events and their 5-tuples, not the conn records: the
    # implant's uploads (Zeek bytes on Sysmon for Linux's 5-tuples) are still outbound-heavy
    runner, events = unix_workload
    plain = run(runner, events, UNIX_PROGRAMS)
    with limits.eventstats_limits(**SCALED):
        scaled = run(runner, events, UNIX_PROGRAMS)
    assert truncations(scaled) == [] and scaled.messages == plain.messages
    assert scaled.rows == plain.rows
    implant = [row for row in scaled.rows if row["process_name"] == "python3.11"]
    assert implant and "Outbound_Heavy_Program_Flow" in implant[0]["signals"]
    assert float(implant[0]["bytes_out"]) > 3 * 900000


def test_unix_connections_same_with_and_without_the_padding(unix_workload):
    # the other connections share no 5-tuple with the endpoints: the macro's rows (bytes
    # included) are those of the sample alone
    runner, events = unix_workload
    alone, issues = runner.read_table([str(UNIX_SAMPLE)])
    assert not [i for i in issues if i.is_error]
    alone = runner.event_table(alone) or alone
    spl = "`c2hunt_unix_outbound_connections` | sort 0 _time data_source process_name dest dest_port"
    with limits.eventstats_limits(**SCALED):
        padded = runner.run(spl, events, now=data_now(events))
    assert truncations(padded) == []
    assert padded.rows == runner.run(spl, alone, now=data_now(alone)).rows


# The endpoint searches' per-process and per-session context joins: their eventstats hold the
# candidate events and the distinct context values, not every event read. Scaled to 200 rows
# (max_mem_usage_mb=0: the row count alone), which the padding below passes ten times over.
ENDPOINT_LIMITS = {"maxresultrows": 200, "max_mem_usage_mb": 0}


def _same_within_limits(runner, events, name):
    plain = run(runner, events, name)
    with limits.eventstats_limits(**ENDPOINT_LIMITS):
        scaled = run(runner, events, name)
    assert truncations(scaled) == [], scaled.messages
    assert scaled.rows == plain.rows and scaled.messages == plain.messages
    return scaled.rows


def _table(runner, paths):
    events, issues = runner.read_table([str(p) for p in paths])
    assert not [i for i in issues if i.is_error]
    return runner.event_table(events) or events


def _osquery(name, when, columns, host):
    return json.dumps({"name": name, "hostIdentifier": host, "unixTime": when, "calendarTime": "Tue May 14 09:00:00 2024 UTC",
                       "columns": columns, "action": "added"})


def test_osquery_signing_context_within_limits(tmp_path):
    # 30 Macs snapshot their four signed programs' sockets and signatures every 5 minutes for
    # an hour (2,880 rows, newer than the unsigned program's, which come last): the signing
    # eventstats holds the candidate sockets and one row per host, program and signature
    t0 = 1715677200
    lines = [_osquery("pack_c2hunt_signature", t0, {"path": "/Users/ana/bin/unsigned", "signed": "0"}, "mac77.corp.example"),
             _osquery("pack_c2hunt_process_open_sockets", t0 + 1, {
                 "pid": "101", "name": "unsigned", "path": "/Users/ana/bin/unsigned", "cmdline": "unsigned", "uid": "501",
                 "family": "2", "protocol": "17", "local_address": "10.20.6.77", "local_port": "61000",
                 "remote_address": "198.51.100.99", "remote_port": "40404"}, "mac77.corp.example")]
    for snapshot in range(12):
        when = t0 + 600 + 300 * snapshot
        for host in range(30):
            for app in range(4):
                path = "/Applications/App%d.app/Contents/MacOS/app%d" % (app, app)
                name = "mac%d.corp.example" % host
                lines.append(_osquery("pack_c2hunt_signature", when, {
                    "path": path, "signed": "1", "identifier": "com.vendor.app%d" % app,
                    "team_identifier": "ABCDE12345", "authority": "Developer ID Application: Vendor"}, name))
                lines.append(_osquery("pack_c2hunt_process_open_sockets", when, {
                    "pid": str(500 + app), "name": "app%d" % app, "path": path, "cmdline": path, "uid": "501",
                    "family": "2", "protocol": "6", "local_address": "10.20.7.%d" % host, "local_port": str(50000 + app),
                    "remote_address": "192.0.2.%d" % (app + 1), "remote_port": "443"}, name))
    path = tmp_path / "osqueryd.results.log"
    path.write_text("\n".join(lines) + "\n")
    runner = Runner()
    rows = _same_within_limits(runner, _table(runner, [path]), "C2Hunt - Raw Socket Or SOCKS From Unexpected Program - osquery - Rule")
    assert [(row["process_path"], row["code_signing"], row["detection_signal"]) for row in rows] == [
        ("/Users/ana/bin/unsigned", "unsigned", "Unsigned_Binary_Non_Standard_Protocol")]


def test_auditd_exec_context_within_limits(tmp_path):
    # the auditd reverse shells' records (SYSCALL, EXECVE, PROCTITLE joined by record) come
    # after 2,000 newer everyday osquery process events, which no longer reach the join
    audit = UNIX_TUNNELS / "audit.log"
    t0 = 1715678400 + 3600
    padding = [_osquery("process_events", t0 + i, {"pid": str(3000 + i), "path": "/usr/bin/git", "uid": "501",
                                                  "cmdline": "git status --short", "parent": "1"}, "mac%d.corp.example" % (i % 40))
               for i in range(2000)]
    path = tmp_path / "osqueryd.results.log"
    path.write_text("\n".join(padding) + "\n")
    runner = Runner()
    alone = run(runner, _table(runner, [audit]), TUNNELS)
    rows = _same_within_limits(runner, _table(runner, [audit, path]), TUNNELS)
    assert rows == alone.rows and any(row["data_source"] == "auditd" for row in rows)



def test_auditd_exec_records_joined_within_limits(tmp_path):
    # 400 newer everyday execve() records on 20 servers (twice the scaled limit; the reader
    # makes one event of a record's SYSCALL, EXECVE and PROCTITLE lines, Splunk three): each
    # record's lines are paired by a stats, not an eventstats over every auditd record, so the
    # reverse shells' records (the oldest, the last rows) keep their program and arguments.
    # Before, the eventstats cut them (warned; here each record's own fields still named the
    # shell, in Splunk its EXECVE line alone has neither program nor joined arguments)
    audit = UNIX_TUNNELS / "audit.log"
    rec = Recorder("volume-auditd", 1)
    t0 = 1715678400 + 3600
    for n in range(400):
        box = Host("lnx%02d.corp.example" % (n % 20 + 40), "10.20.4.%d" % (n % 20 + 40), "linux")
        rec.linux_exec(box, t0 + n, "/usr/bin/git", ["git", "status", "--short"])
    padding = tmp_path / "padding"
    padding.mkdir()
    runner = Runner()
    alone = run(runner, _table(runner, [audit]), TUNNELS)
    rows = _same_within_limits(runner, _table(runner, [audit] + _recorded(padding, rec)), TUNNELS)
    assert rows == alone.rows and any(row["data_source"] == "auditd" for row in rows)

def test_esxi_session_and_operation_context_within_limits(tmp_path):
    # hostd's task lines of 40 other operations (2,000 lines, newer, each operation's context
    # repeated) and lines without one: the guest operations still get the session's account
    sample = (ROOT / "samples" / "x4_esxi_vmci_guest_ops" / "esxi.log").read_text()
    padding = []
    for i in range(2000):
        stamp = "2024-05-14T10:%02d:%02d.%03dZ" % (i // 60 % 60, i % 60, i % 1000)
        if i % 4:
            padding.append("<166>%s esx01.corp.example Hostd[2099715]: [Originator@6876 sub=Vimsvc.TaskManager "
                           "opID=job-%d-01 sid=5200%04d user=vpxuser:VSPHERE.LOCAL\\svc-backup] Task Completed : "
                           "haTask-%d-vim.VirtualMachine.createSnapshot-%d" % (stamp, i % 40, i % 40, i % 40, i))
        else:
            padding.append("<166>%s esx01.corp.example Hostd[2099715]: [Originator@6876 sub=Libs] "
                           "SSL Handshake on client connection completed" % stamp)
    path = tmp_path / "esxi.log"
    path.write_text(sample + "\n".join(padding) + "\n")
    runner = Runner()
    alone = run(runner, _table(runner, [ROOT / "samples" / "x4_esxi_vmci_guest_ops" / "esxi.log"]), ESXI)
    rows = _same_within_limits(runner, _table(runner, [path]), ESXI)
    assert rows == alone.rows
    assert any(row.get("account") == "vpxuser" for row in rows), rows


USER_PATHS = "C2Hunt - Connection From User-Writable Path, Unusual System Process Or Loopback Tunnel - Rule"


def test_user_path_prevalence_counts_processes_not_connections(tmp_path):
    # a per-user install in AppData on 12 hosts, 300 connections each: the prevalence
    # eventstats (dc(host) by program and folder class) holds one row per process and signal
    # state, not 3,600 connections, and still clears the program as common software
    rec = Recorder("volume-prevalence", 1)
    app = "C:\\Users\\max\\AppData\\Local\\NoteSync\\notesync.exe"
    t0 = 1715677200.0
    for n in range(1, 13):
        host = Host("ws%02d.corp.example" % n, "10.20.7.%d" % n, "windows")
        process = rec.windows_process(host, t0, app, app, "CORP\\max")
        for k in range(300):
            rec.windows_connection(host, process, t0 + 1 + k * 10, "tcp", "203.0.113.%d" % (k % 50 + 1), 443, wfp=False)
    paths = []
    for stream, text in rec.rendered().items():
        path = tmp_path / STREAM_FILES[stream]
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    runner = Runner()
    events = _table(runner, paths)
    saved = next(s for s in runner.saved_searches() if s.name == USER_PATHS)
    head = saved.search.split("| eventstats dc(host) AS path_host_count")[0]
    reaching = runner.run(head + "| stats count AS rows sum(count) AS connections", events, now=data_now(events)).rows
    assert [(int(r["rows"]), int(float(r["connections"]))) for r in reaching] == [(12, 3600)]
    assert run(runner, events, USER_PATHS).rows == []


def test_unix_context_joins_skip_inbound_connections(tmp_path):
    # a web server's 600 inbound connections (Sysmon for Linux EID 3, not initiated), newer than
    # the sample's: they can never be an outbound row and give no context, so they are dropped
    # before the exec-context joins and the implant's rows keep their parent and command line
    line = ('May 14 %02d:%02d:%02d web07 sysmon[812]: <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">'
            '<System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>3</EventID>'
            '<Version>5</Version><Level>4</Level><Task>3</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>'
            '<TimeCreated SystemTime="2024-05-14T%02d:%02d:%02d.0000000Z"/><EventRecordID>%d</EventRecordID><Correlation/>'
            '<Execution ProcessID="3320" ThreadID="4512"/><Channel>Linux-Sysmon/Operational</Channel>'
            '<Computer>web07.corp.example</Computer><Security UserID="S-1-5-18"/></System><EventData>'
            '<Data Name="ProcessGuid">{9F3C2A1E-3667-8A2A-B8C7-000000000001}</Data><Data Name="ProcessId">900</Data>'
            '<Data Name="Image">/usr/sbin/nginx</Data><Data Name="User">www-data</Data><Data Name="Protocol">tcp</Data>'
            '<Data Name="Initiated">false</Data><Data Name="SourceIsIpv6">false</Data><Data Name="SourceIp">203.0.113.%d</Data>'
            '<Data Name="SourcePort">%d</Data><Data Name="DestinationIsIpv6">false</Data>'
            '<Data Name="DestinationIp">10.20.9.7</Data><Data Name="DestinationPort">443</Data></EventData></Event>')
    rows = []
    for i in range(600):
        hour, minute, second = 11, i // 60 % 60, i % 60
        rows.append(line % (hour, minute, second, hour, minute, second, 500000 + i, i % 200 + 1, 30000 + i))
    padding = tmp_path / "syslog"
    padding.write_text("\n".join(rows) + "\n")
    runner = Runner()
    alone = _table(runner, [UNIX_SAMPLE])
    spl = "`c2hunt_unix_outbound_connections` | sort 0 _time data_source process_name dest dest_port"
    expected = runner.run(spl, alone, now=data_now(alone)).rows
    events = _table(runner, [UNIX_SAMPLE, padding])
    with limits.eventstats_limits(**ENDPOINT_LIMITS):
        padded = runner.run(spl, events, now=data_now(events))
    assert truncations(padded) == [] and padded.rows == expected
    assert any(row["process_name"] == "python3.11" and row["parent_process"] != "-" for row in expected)


def _recorded(tmp_path, rec):
    paths = []
    for stream, text in rec.rendered().items():
        path = tmp_path / STREAM_FILES[stream]
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _process_context_workload(rec):
    # three hosts whose verdict needs the process context, oldest (so the last rows an
    # eventstats over events holds): an AppData program whose own image a listed vendor signed
    # (quiet only with its Sysmon EID 7), svchost started without -k (raised only with its EID 1
    # command line), a Temp payload (raised either way, its command line and parent from EID 1);
    # a Linux implant in /tmp whose connect() is known only by joining its auditd record
    t0 = 1715677200.0
    hosts = [Host("ws%02d.corp.example" % n, "10.20.7.%d" % n, "windows") for n in (1, 2, 3)]
    app = "C:\\Users\\max\\AppData\\Roaming\\NoteSync\\notesync.exe"
    signed = rec.windows_process(hosts[0], t0, app, app, "CORP\\max")
    rec.windows_image_load(hosts[0], signed, t0 + 0.5, signature="Zoom Video Communications, Inc.")
    svchost = "C:\\Windows\\System32\\svchost.exe"
    hollow = rec.windows_process(hosts[1], t0, svchost, svchost, "NT AUTHORITY\\SYSTEM")
    payload = "C:\\Users\\max\\AppData\\Local\\Temp\\upd.exe"
    dropped = rec.windows_process(hosts[2], t0, payload, payload + " --sync", "CORP\\max")
    for n, (host, process) in enumerate(zip(hosts, (signed, hollow, dropped))):
        rec.windows_connection(host, process, t0 + 1, "tcp", "203.0.113.%d" % (44 + n), 443, wfp=False)
    lnx = Host("lnx01.corp.example", "10.20.2.1", "linux")
    rec.linux_connect(lnx, t0 + 1, rec.linux_exec(lnx, t0, "/tmp/.cache-x", ["/tmp/.cache-x"]), "203.0.113.47", 443)
    # a fleet's everyday process starts and connections, newer: browsers in Program Files,
    # svchost with its -k group (judged only once its command line is joined), curl on Linux
    for n in range(40):
        host = Host("ws%02d.corp.example" % (n + 10), "10.20.8.%d" % (n + 10), "windows")
        for k in range(6):
            chrome = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
            tab = rec.windows_process(host, t0 + 600 + n * 60 + k * 5, chrome, '"%s" --type=renderer' % chrome, "CORP\\u%d" % n)
            for j in range(4):
                rec.windows_connection(host, tab, t0 + 601 + n * 60 + k * 5 + j, "tcp", "198.51.100.%d" % (j + 1), 443,
                                       wfp=False)
        if n < 10:
            service = rec.windows_process(host, t0 + 600 + n * 60, svchost, svchost + " -k netsvcs -p", "NT AUTHORITY\\SYSTEM")
            rec.windows_connection(host, service, t0 + 601 + n * 60, "tcp", "192.0.2.%d" % (n + 1), 443, wfp=False)
    for n in range(150):
        box = Host("lnx%02d.corp.example" % (n % 30 + 10), "10.20.3.%d" % (n % 30 + 10), "linux")
        curl = rec.linux_exec(box, t0 + 900 + n, "/usr/bin/curl", ["curl", "-s", "https://updates.example.org"])
        rec.linux_connect(box, t0 + 901 + n, curl, "198.51.100.9", 443)


def test_process_context_joined_within_limits(tmp_path):
    # the Sysmon context (by host ProcessGuid) and the auditd record joins hold candidate
    # connections aggregated per process and the processes they belong to, not every event:
    # within 200 rows (1,500 events here) every verdict and context is as without limits.
    # Before, the eventstats over the events cut the oldest hosts: the signed program was
    # raised, svchost without -k missed, the payload shown without its command line, the
    # auditd implant missed
    rec = Recorder("volume-context", 1)
    _process_context_workload(rec)
    runner = Runner()
    events = _table(runner, _recorded(tmp_path, rec))
    assert len(events) > 1500
    rows = _same_within_limits(runner, events, USER_PATHS)
    got = sorted((row["host"], row["detection_signal"], row["command_line"], row.get("parent_process")) for row in rows)
    assert got == [
        ("lnx01.corp.example", "Executable_In_Transient_Folder", "/tmp/.cache-x", None),
        ("ws02.corp.example", "Missing_Usual_Arguments_svchost.exe", "C:\\Windows\\System32\\svchost.exe",
         "C:\\Windows\\explorer.exe"),
        ("ws03.corp.example", "Executable_In_Transient_Folder", "C:\\Users\\max\\AppData\\Local\\Temp\\upd.exe --sync",
         "C:\\Windows\\explorer.exe"),
    ]
    # what the context eventstats holds: the candidate connections (svchost's too, until its
    # command line is known) and their processes, not the 1,500 events
    spl = runner.expand(next(s for s in runner.saved_searches() if s.name == USER_PATHS).search)
    head = spl[:spl.index("| eventstats values(sysmon_command_line)")]
    reaching = runner.run(head + "| stats count AS rows", events, now=data_now(events)).rows
    assert 0 < int(reaching[0]["rows"]) < 60


DNS_FROM_PROCESS = "C2Hunt - DNS Tunnel From Process - Sysmon - Rule"


def test_dns_light_hosts_counted_within_limits(tmp_path):
    # Sysmon EID 22 of 60 workstations, each resolving 8 sites through its browser (480 rows of
    # host, process and domain, newer) and its company zone's file server; oldest: a
    # management server resolving 30 workstation names of that zone (machine-made, but a zone
    # many hosts use lightly: quiet) and rundll32 polling 30 machine-made names of a tunnel's
    # domain (raised). The light-host count by domain holds the rows that can raise a signal
    # and one row per domain, not a row per host, process and domain: within 200 rows the
    # verdicts are as without limits. Before, the eventstats over 542 rows cut the oldest: the
    # tunnel's domain got no light-host count and the tunnel was missed
    rec = Recorder("volume-dns", 1)
    t0 = 1715677200.0
    admin = Host("mgmt01.corp.example", "10.20.1.5", "windows")
    tool = rec.windows_process(admin, t0, "C:\\Program Files\\Inventory\\agent.exe", "agent.exe", "CORP\\svc")
    for i in range(30):
        rec.windows_dns_query(admin, tool, t0 + 60 * i, "ws%04d.corp-example.com" % i)
    victim = Host("ws99.corp.example", "10.20.9.99", "windows")
    implant = rec.windows_process(victim, t0, "C:\\Windows\\System32\\rundll32.exe", "rundll32.exe x.dll,Run", "CORP\\max")
    for i in range(30):
        rec.windows_dns_query(victim, implant, t0 + 60 * i + 7, "r%05d.tunnel-example.net" % (7919 * i % 100000))
    chrome = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
    for n in range(60):
        host = Host("ws%02d.corp.example" % n, "10.20.8.%d" % n, "windows")
        browser = rec.windows_process(host, t0 + 3600, chrome, chrome, "CORP\\u%d" % n)
        for k in range(8):
            rec.windows_dns_query(host, browser, t0 + 3600 + n + k, "www.site%d-example.org" % k)
        rec.windows_dns_query(host, browser, t0 + 3610 + n, "fs01.corp-example.com")
    runner = Runner()
    events = _table(runner, _recorded(tmp_path, rec))
    rows = _same_within_limits(runner, events, DNS_FROM_PROCESS)
    assert [(row["host"], row["threat_domain"], row["detection_signal"]) for row in rows] == [
        ("ws99.corp.example", "tunnel-example.net", "DNS_Tunnel_Machine_Made_Subdomains")]


DNS_ZEEK = "C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule"


def _dns(src, query, offset):
    return {"sourcetype": "bro:dns:json", "_time": 1700000000.0 + offset, "src": src, "dest": "10.0.0.53",
            "src_port": "53000", "dest_port": "53", "transport": "udp", "query": query, "qtype_name": "A",
            "host": src, "index": "main"}


def test_dns_light_sources_counted_within_limits():
    # the same count in the Zeek/CIM scoring (c2hunt_dns_tunnel_scoring): 60 sources resolving
    # 8 sites and the company's file server (540 rows of source and domain, newer) after a
    # management server's 30 workstation names of that zone (quiet: many light sources) and a
    # host's 30 machine-made names of a tunnel's domain (raised); before, the eventstats over
    # 542 rows cut the oldest and the tunnel got no light-source count (missed)
    events = [_dns("10.20.1.5", "ws%04d.corp-example.com" % i, 60 * i) for i in range(30)]
    events += [_dns("10.20.9.99", "r%05d.tunnel-example.net" % (7919 * i % 100000), 60 * i + 7) for i in range(30)]
    for n in range(60):
        src = "10.20.8.%d" % (n + 1)
        events += [_dns(src, "www.site%d-example.org" % k, 3600 + n + k) for k in range(8)]
        events.append(_dns(src, "fs01.corp-example.com", 3610 + n))
    runner = Runner()
    table = runner.event_table(events) or events
    rows = _same_within_limits(runner, table, DNS_ZEEK)
    assert [(row["src"], row["threat_domain"], row["detection_signal"]) for row in rows] == [
        ("10.20.9.99", "tunnel-example.net", "DNS_Tunnel_Machine_Made_Subdomains")]
