"""The process-context search (AN1254/AN1225 judged on where a process runs and what it is)
and the ICMP signal's local-scope exclusion, on hand-made telemetry written by the simulator's
recorder: each case is one small host, so a notable names the case that raised it."""
import re
from pathlib import Path

import pytest

from c2hunt_offline import Runner
from c2hunt_sim.world import STREAM_FILES, Host, Recorder

ROOT = Path(__file__).resolve().parents[2]

CONTEXT = "C2Hunt - Connection From User-Writable Path, Unusual System Process Or Loopback Tunnel - Rule"
SYSMON = "C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule"
WFP = "C2Hunt - Non-Application Protocol From Unexpected Process - WFP - Rule"
LOOPBACK_RDP = "C2Hunt - RDP Logon Through A Loopback Tunnel - Rule"
T0 = 1715677200.0
USER = "CORP\\max"
EXTERNAL = "203.0.113.44"


def _hunt(tmp_path, rec, names=(CONTEXT,)):
    paths = []
    for stream, text in rec.rendered().items():
        path = tmp_path / STREAM_FILES[stream]
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    runner = Runner()
    events, issues = runner.read_files(paths)
    assert not issues
    notables, errors = runner.hunt(events, names=list(names))
    assert not errors
    return notables


def _by_host(notables):
    return sorted((n.host, n.signal, int(n.risk_score), n.fields.get("data_source"))
                  for n in notables)


def _host(n):
    return Host("ws%02d.corp.example" % n, "10.20.7.%d" % n, "windows")


def _connect(rec, host, image, command_line, dest, port, transport="tcp", at=0.0, **kw):
    process = rec.windows_process(host, T0 + at, image, command_line, USER)
    rec.windows_connection(host, process, T0 + at + 1, transport, dest, port, **kw)
    return process


def test_user_writable_folders(tmp_path):
    rec = Recorder("user-paths", 1)
    app = "C:\\Users\\max\\AppData\\Roaming\\NoteSync\\notesync.exe"
    # an unlisted program in AppData on HTTPS: weak alone (40)
    _connect(rec, _host(1), app, app, EXTERNAL, 443)
    # the same program signed by a listed vendor (Sysmon EID 7 of its own image): quiet;
    # a signature that does not verify clears nothing
    signed = _connect(rec, _host(2), app, app, EXTERNAL, 443)
    rec.windows_image_load(_host(2), signed, T0 + 0.5,
                           signature="Zoom Video Communications, Inc.")
    broken = _connect(rec, _host(3), app, app, EXTERNAL, 443)
    rec.windows_image_load(_host(3), broken, T0 + 0.5,
                           signature="Zoom Video Communications, Inc.",
                           signature_status="Expired")
    # a signed Microsoft binary copied into Temp: the signature does not clear Temp
    copied = "C:\\Users\\max\\AppData\\Local\\Temp\\rundll32.exe"
    proc = _connect(rec, _host(4), copied, copied + " payload.dll,Run", EXTERNAL, 443)
    rec.windows_image_load(_host(4), proc, T0 + 0.5, signature="Microsoft Windows")
    # a payload in Downloads on Metasploit's port: raw TCP 70 + transient folder = 80
    _connect(rec, _host(5), "C:\\Users\\max\\Downloads\\setup.exe", "setup.exe", EXTERNAL, 4444)
    # PerfLogs, talking to an internal host (lab C2 uses private addresses too)
    _connect(rec, _host(6), "C:\\PerfLogs\\svc.exe", "svc.exe", "10.20.0.77", 443)
    # per-user installs and Store aliases: quiet
    _connect(rec, _host(7), "C:\\Users\\max\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
             "Teams.exe", "52.113.194.132", 443)
    _connect(rec, _host(7), "C:\\Users\\max\\AppData\\Local\\Programs\\Obsidian\\Obsidian.exe",
             "Obsidian.exe", "104.18.20.1", 443, at=5)
    # link-local, multicast and loopback destinations from Temp: quiet
    local = _connect(rec, _host(8), "C:\\Users\\max\\AppData\\Local\\Temp\\helper.exe",
                     "helper.exe", "224.0.0.251", 5353, transport="udp")
    rec.windows_connection(_host(8), local, T0 + 3, "udp", "169.254.10.1", 5353)
    rec.windows_connection(_host(8), local, T0 + 4, "tcp", "127.0.0.1", 8080, src="127.0.0.1")
    got = _by_host(_hunt(tmp_path, rec))
    assert got == [
        ("ws01.corp.example", "Executable_In_App_Data_Folder", 40, "sysmon"),
        ("ws01.corp.example", "Executable_In_App_Data_Folder", 40, "wfp"),
        ("ws02.corp.example", "Executable_In_App_Data_Folder", 40, "wfp"),  # 5156 has no signature
        ("ws03.corp.example", "Executable_In_App_Data_Folder", 40, "sysmon"),
        ("ws03.corp.example", "Executable_In_App_Data_Folder", 40, "wfp"),
        ("ws04.corp.example", "Executable_In_Transient_Folder", 55, "sysmon"),
        ("ws04.corp.example", "Executable_In_Transient_Folder", 55, "wfp"),
        ("ws05.corp.example", "Raw_TCP_Unusual_Port_4444", 80, "sysmon"),
        ("ws05.corp.example", "Raw_TCP_Unusual_Port_4444", 80, "wfp"),
        ("ws06.corp.example", "Executable_In_Transient_Folder", 55, "sysmon"),
        ("ws06.corp.example", "Executable_In_Transient_Folder", 55, "wfp"),
    ]


@pytest.mark.parametrize("n_hosts, expected", [(9, 9), (10, 0)])
def test_application_data_program_on_many_hosts_is_software(tmp_path, n_hosts, expected):
    rec = Recorder("prevalence", 1)
    app = "C:\\Users\\max\\AppData\\Roaming\\NoteSync\\notesync.exe"
    for n in range(1, n_hosts + 1):
        _connect(rec, _host(n), app, app, EXTERNAL, 443, wfp=False)
    assert len(_hunt(tmp_path, rec)) == expected


def test_prevalence_never_clears_transient_folders_or_raw_tcp(tmp_path):
    rec = Recorder("prevalence-raw", 1)
    for n in range(1, 13):
        _connect(rec, _host(n), "C:\\Users\\max\\AppData\\Roaming\\x\\x.exe", "x.exe", EXTERNAL,
                 4444, wfp=False)
        _connect(rec, _host(n), "C:\\Users\\max\\AppData\\Local\\Temp\\y.exe", "y.exe", EXTERNAL,
                 443, wfp=False, at=10)
    got = _by_host(_hunt(tmp_path, rec))
    assert len(got) == 24
    assert {g[1:3] for g in got} == {("Raw_TCP_Unusual_Port_4444", 80),
                                     ("Executable_In_Transient_Folder", 55)}


def test_system_processes_on_connections_they_never_make(tmp_path):
    rec = Recorder("system-processes", 1)
    lsass = rec.windows_service("C:\\Windows\\System32\\lsass.exe", "lsass.exe", pid=700)
    for port in (88, 389, 49668):  # Kerberos, LDAP, a DC's dynamic RPC port: quiet
        rec.windows_connection(_host(1), lsass, T0 + port / 1000.0, "tcp", "10.20.0.10", port)
    rec.windows_connection(_host(1), lsass, T0 + 1, "tcp", "20.190.151.70", 443)  # Entra ID
    migrated = rec.windows_service("C:\\Windows\\System32\\lsass.exe", "lsass.exe", pid=704)
    rec.windows_connection(_host(2), migrated, T0 + 2, "tcp", EXTERNAL, 4444)
    winlogon = rec.windows_service("C:\\Windows\\System32\\winlogon.exe", "winlogon.exe")
    rec.windows_connection(_host(3), winlogon, T0 + 3, "tcp", "10.20.0.31", 443)
    explorer = rec.windows_service("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE",
                                   user=USER, pid=5120)
    rec.windows_connection(_host(4), explorer, T0 + 4, "tcp", "13.107.21.200", 443)  # quiet
    rec.windows_connection(_host(4), explorer, T0 + 4.5, "tcp", EXTERNAL, 8080)  # web proxy
    rec.windows_connection(_host(5), explorer, T0 + 5, "tcp", EXTERNAL, 995)  # POP3S
    svchost = "C:\\Windows\\System32\\svchost.exe"
    _connect(rec, _host(6), svchost, svchost + " -k netsvcs -p -s BITS", "13.107.4.50", 443)
    _connect(rec, _host(7), svchost, svchost, "13.107.4.50", 443)  # no -k: hollowed
    got = _by_host(_hunt(tmp_path, rec))
    assert got == [
        ("ws02.corp.example", "System_Process_Unusual_Connection", 80, "sysmon"),
        ("ws02.corp.example", "System_Process_Unusual_Connection", 80, "wfp"),
        ("ws03.corp.example", "System_Process_Unusual_Connection", 70, "sysmon"),
        ("ws03.corp.example", "System_Process_Unusual_Connection", 70, "wfp"),
        ("ws05.corp.example", "System_Process_Unusual_Connection", 70, "sysmon"),
        ("ws05.corp.example", "System_Process_Unusual_Connection", 70, "wfp"),
        # 5156 carries no command line: only Sysmon sees the missing -k
        ("ws07.corp.example", "Missing_Usual_Arguments_svchost.exe", 65, "sysmon"),
    ]


def test_loopback_tunnels_to_admin_ports(tmp_path):
    rec = Recorder("loopback", 1)
    python = "C:\\Program Files\\Python312\\python.exe"
    _connect(rec, _host(1), python, "python.exe smbclient.py admin@127.0.0.1", "127.0.0.1", 445,
             src="127.0.0.1")  # impacket over loopback: a user-mode SMB client
    _connect(rec, _host(2), "C:\\Tools\\plink.exe", "plink.exe -R 3389:127.0.0.2:3389",
             "127.0.0.2", 3389, src="127.0.0.1")
    _connect(rec, _host(3), "C:\\Windows\\System32\\OpenSSH\\ssh.exe", "ssh.exe localhost",
             "127.0.0.1", 22, src="127.0.0.1")
    _connect(rec, _host(3), "C:\\Windows\\System32\\mstsc.exe", "mstsc.exe /v:127.0.0.2",
             "127.0.0.2", 3389, src="127.0.0.1", at=5)
    _connect(rec, _host(3), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
             "powershell.exe Enter-PSSession localhost", "127.0.0.1", 5985, src="127.0.0.1", at=9)
    _connect(rec, _host(3), python, "python.exe -m http.server", "127.0.0.1", 8000,
             src="127.0.0.1", at=12)  # loopback on a port no tunnel is judged for
    got = _by_host(_hunt(tmp_path, rec))
    assert got == [
        ("ws01.corp.example", "Loopback_Tunnel_SMB_445", 70, "sysmon"),
        ("ws01.corp.example", "Loopback_Tunnel_SMB_445", 70, "wfp"),
        ("ws02.corp.example", "Loopback_Tunnel_RDP_3389", 70, "sysmon"),
        ("ws02.corp.example", "Loopback_Tunnel_RDP_3389", 70, "wfp"),
    ]


def test_linux_auditd_and_osquery(tmp_path):
    rec = Recorder("linux", 1)
    lnx = Host("lnx01.corp.example", "10.20.2.1", "linux")
    implant = rec.linux_exec(lnx, T0, "/tmp/.cache-x", ["/tmp/.cache-x"])
    rec.linux_connect(lnx, T0 + 1, implant, EXTERNAL, 4444)
    curl = rec.linux_exec(lnx, T0 + 5, "/usr/bin/curl", ["curl", "https://example.org"])
    rec.linux_connect(lnx, T0 + 6, curl, "93.184.215.14", 443)
    cron = rec.linux_daemon("/usr/sbin/cron", ["/usr/sbin/cron", "-f"])
    rec.linux_connect(lnx, T0 + 7, cron, EXTERNAL, 443)  # injected into cron
    mac = Host("mac01.corp.example", "10.20.6.1", "macos")
    rec.osquery(mac, T0 + 8, "pack_c2hunt_socket_events", {
        "action": "connect", "pid": 812, "path": "/Users/max/Library/Caches/com.x/agent",
        "fd": 5, "auid": 501, "status": "succeeded", "family": 2, "protocol": 6,
        "local_address": "", "local_port": 0, "remote_address": EXTERNAL, "remote_port": 443,
        "time": int(T0 + 8)})
    got = _by_host(_hunt(tmp_path, rec))
    assert got == [
        ("lnx01.corp.example", "Raw_TCP_Unusual_Port_4444", 80, "auditd"),
        ("lnx01.corp.example", "System_Process_Unusual_Connection", 70, "auditd"),
        ("mac01.corp.example", "Executable_In_App_Data_Folder", 40, "osquery"),
    ]


def test_icmp_to_local_scope_and_from_system_is_not_judged(tmp_path):
    rec = Recorder("icmp-scope", 1)
    ws = _host(1)
    system = rec.windows_service("System", "", pid=4)
    link_local = "fe80::1c2a:5d1f:9e3b:7a10"
    for k, group in enumerate(("ff02::1", "ff02::1:ff00:1", "ff02::16")):
        rec.windows_connection(ws, system, T0 + k, "icmpv6", group, 0, src=link_local,
                               src_port=135, sysmon=False)
    rec.windows_connection(ws, system, T0 + 4, "icmp", EXTERNAL, 0, sysmon=False)  # echo reply
    tool = rec.windows_service("C:\\Program Files\\NetTool\\nettool.exe", "nettool.exe")
    rec.windows_connection(ws, tool, T0 + 5, "icmpv6", "ff02::2", 0, src=link_local,
                           src_port=133)
    rec.windows_connection(ws, tool, T0 + 6, "icmp", "224.0.0.22", 0)
    tunnel = rec.windows_service("C:\\Program Files\\NetTool\\tunnel.exe", "tunnel.exe")
    rec.windows_connection(_host(2), tunnel, T0 + 7, "icmp", EXTERNAL, 0)  # still judged
    got = _by_host(_hunt(tmp_path, rec, names=(SYSMON, WFP)))
    assert got == [("ws02.corp.example", "ICMP_From_Unexpected_Process", 85, None),
                   ("ws02.corp.example", "ICMP_From_Unexpected_Process", 85, None)]


def test_tunnels_in_evtx_attack_samples(evtx_events):
    """The labelled tunnels of EVTX-ATTACK-SAMPLES (plink forwarding RDP to 127.0.0.2:3389 in
    Sysmon and in 5156; Tunna's web shell in w3wp.exe to 127.0.0.1:3389 and :445, two app-pool
    processes) raise, and nothing else in the folder does: the svchost, lsass and System
    connections stay within what those processes do."""
    events, _ = evtx_events
    notables, errors = Runner().hunt(events, names=[CONTEXT])
    assert not errors
    got = sorted((n.host, n.signal, int(n.risk_score), n.fields["process_name"],
                  n.fields["dest"], n.fields["data_source"]) for n in notables)
    assert got == [
        ("MSEDGEWIN10", "Loopback_Tunnel_RDP_3389", 70, "w3wp.exe", "127.0.0.1", "sysmon"),
        ("MSEDGEWIN10", "Loopback_Tunnel_SMB_445", 70, "w3wp.exe", "127.0.0.1", "sysmon"),
        ("PC01.example.corp", "Loopback_Tunnel_RDP_3389", 70, "plink.exe", "127.0.0.2", "sysmon"),
        ("PC01.example.corp", "Loopback_Tunnel_RDP_3389", 70, "plink.exe", "127.0.0.2", "wfp"),
    ]


def test_rdp_logons_from_loopback(tmp_path):
    rec = Recorder("rdp-logons", 1)
    rec.windows_logon(_host(1), T0, "CORP\\adm-x", 10, "127.0.0.1", 49274)  # via a tunnel
    rec.windows_logon(_host(2), T0, "CORP\\adm-y", 12, "::1", 50110)  # cached credentials
    rec.windows_logon(_host(3), T0, "CORP\\max", 2, "127.0.0.1")  # console: always loopback
    rec.windows_logon(_host(3), T0 + 5, "CORP\\helpdesk", 10, "10.20.1.50", 50122)
    got = sorted((n.host, n.signal, int(n.risk_score), n.fields["account"], n.fields["src"])
                 for n in _hunt(tmp_path, rec, names=(LOOPBACK_RDP,)))
    assert got == [
        ("ws01.corp.example", "RDP_Logon_From_Loopback", 70, "CORP\\adm-x", "127.0.0.1"),
        ("ws02.corp.example", "RDP_Logon_From_Loopback", 70, "CORP\\adm-y", "::1"),
    ]


def test_rdp_logon_through_the_plink_tunnel_in_evtx_attack_samples(evtx_events):
    """Both hosts of the plink tunnel recordings log the forwarded session as a type 10
    logon from 127.0.0.1; their console logons (type 2, also from 127.0.0.1) stay quiet."""
    events, _ = evtx_events
    notables, errors = Runner().hunt(events, names=[LOOPBACK_RDP])
    assert not errors
    got = sorted((n.host, n.fields["account"], n.fields["src"], n.fields["logon_type"])
                 for n in notables)
    assert got == [("PC01.example.corp", "EXAMPLE\\admin01", "127.0.0.1", "10"),
                   ("PC02.example.corp", "PC02\\IEUser", "127.0.0.1", "10")]


def test_auditd_ipv6_connect(tmp_path):
    """connect() to an IPv6 address: SOCKADDR family 0A00, port, flow info, 16 address bytes."""
    rec = Recorder("linux-ipv6", 1)
    lnx = Host("lnx02.corp.example", "10.20.2.2", "linux")
    implant = rec.linux_exec(lnx, T0, "/dev/shm/.x", ["/dev/shm/.x"])
    rec.linux_connect(lnx, T0 + 1, implant, "203.0.113.44", 443)
    # rewrite the SOCKADDR as the kernel writes a sockaddr_in6 to 2001:db8::44 port 4444
    saddr6 = "0A00115C00000000" + "20010DB8000000000000000000000044" + "00000000"
    text = rec.rendered()["auditd"]
    text = re.sub(r"saddr=0200[0-9A-F]+", "saddr=" + saddr6, text)
    path = tmp_path / "audit.log"
    path.write_text(text, encoding="utf-8")
    runner = Runner()
    events, issues = runner.read_files([str(path)])
    assert not issues
    notables, errors = runner.hunt(events, names=[CONTEXT])
    assert not errors
    assert [(n.signal, int(n.risk_score), n.fields["dest"], n.fields["dest_port"])
            for n in notables] == [("Raw_TCP_Unusual_Port_4444", 80,
                                    "2001:0db8:0000:0000:0000:0000:0000:0044", 4444)]
