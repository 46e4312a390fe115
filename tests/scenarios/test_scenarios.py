"""Scenario tier: the app's saved searches, run by the offline runner over the simulator's
fixtures (samples/), raise exactly the expected notables.

Each scenario's full notables (every output field) are compared with a golden file in
tests/scenarios/golden/; ``C2HUNT_UPDATE_GOLDEN=1`` rewrites them. The signal and risk
score of each notable are also listed here, so a wrong rewrite of a golden file cannot hide
a lost or changed detection.
"""
import csv
import functools
import json
import os
import shutil
from pathlib import Path

import pytest

from c2hunt_offline.engine import Runner
from c2hunt_sim import generate, scenarios

ROOT = Path(__file__).resolve().parents[2]

SAMPLES = ROOT / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("C2HUNT_UPDATE_GOLDEN") == "1"

SYSMON = "C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule"
WFP = "C2Hunt - Non-Application Protocol From Unexpected Process - WFP - Rule"
AN1254 = "C2Hunt - Outbound-Heavy ICMP Or UDP From Unlisted Process - Rule"
AN1225 = "C2Hunt - Application Protocol From Unusual Process - Rule"
AN1258 = "C2Hunt - Network Protocol Anomaly - Rule"
AN1228 = "C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule"
BEACON = "C2Hunt - Periodic Beaconing - Rule"
AN1255 = "C2Hunt - Raw Socket Or SOCKS Connect From Unexpected Linux Program - Rule"
ESXI = "C2Hunt - ESXi Guest Operations Or Unusual Host Process - Rule"
VMTOOLS = "C2Hunt - Guest Operation Shell From VMware Tools - Rule"
OSQUERY = "C2Hunt - Raw Socket Or SOCKS From Unexpected Program - osquery - Rule"
CONTEXT = "C2Hunt - Connection From User-Writable Path, Unusual System Process Or Loopback Tunnel - Rule"
LOOPBACK_RDP = "C2Hunt - RDP Logon Through A Loopback Tunnel - Rule"
COMMANDS = "C2Hunt - Tunnelling Tool Or Reverse Shell Command Line - Rule"
TUNNEL_DNS = "C2Hunt - DNS Lookup Of Tunnelling Service - Rule"
SOCKETS = ("C2Hunt - Raw, ICMP Or Packet Socket Held By Unexpected Linux Program - "
           "Socket Inventory - Rule")
VSOCK = "C2Hunt - VMCI Or vsock Socket Held By Non-VMware Program - Socket Inventory - Rule"
DNS_PROCESS = "C2Hunt - DNS Tunnel From Process - Sysmon - Rule"
UNIX_APP_C2 = ("C2Hunt - Network Tool, Script Or Transient Program To Monitored Port Or Beaconing"
               " - Linux And macOS - Rule")
WEB_SERVICE = "C2Hunt - Web Service C2 From Non-Browser Process - Rule"
TOR = "C2Hunt - Tor Use Outside Tor Browser - Rule"
ARTEFACT = "C2Hunt - C2 Framework Default Artefact - Rule"
LOLBIN_DNS = "C2Hunt - Dynamic DNS, DGA Or Suspicious TLD Lookup By LOLBin - Rule"
CIM_TRAFFIC = "C2Hunt - Network Protocol Anomaly Or Internal Protocol Egress - CIM - Rule"
CIM_DNS = "C2Hunt - DNS Tunnel - CIM - Rule"
CIM_BEACON = "C2Hunt - Periodic Beaconing - CIM - Rule"
CIM_WEB_BEACON = "C2Hunt - Web Beaconing - CIM - Rule"

CIM_SEARCHES = (CIM_TRAFFIC, CIM_DNS, CIM_BEACON, CIM_WEB_BEACON)

# scenario -> sorted (search, signal, risk score, host-or-src) of every notable it raises.
EXPECTED = {
    "s1_icmp_large_payload_powershell": [
        (AN1254, "Outbound_Heavy_ICMP_From_Unlisted_Process", 70, "ws01.corp.example"),
        (AN1258, "ICMP_Large_Payload", 65, "10.20.1.11"),
        (SYSMON, "ICMP_From_Unexpected_Process", 85, "ws01.corp.example"),
        (WFP, "ICMP_From_Unexpected_Process", 85, "ws01.corp.example"),
    ],
    "s2_powershell_socks5_tor": [
        (SYSMON, "SOCKS_Proxy_Port_9050", 75, "ws02.corp.example"),
        (WFP, "SOCKS_Proxy_Port_9050", 75, "ws02.corp.example"),
    ],
    "s3_python_udp_beacon": [
        (SYSMON, "Unusual_UDP_Port_4444", 60, "ws03.corp.example"),
        (WFP, "Unusual_UDP_Port_4444", 60, "ws03.corp.example"),
        # 60 for the beacon, +10: its check-ins span the whole window (Beacon_Sustained)
        (BEACON, "Beaconing_UDP_4444", 70, "10.20.1.13"),
    ],
    "s4_ptunnel_ng_icmp_tunnel": [
        (AN1258, "ICMP_Echo_Payload_Mismatch", 90, "10.20.2.14"),
        (AN1255, "Raw_Socket_From_Unexpected_Program", 85, "lnx04.corp.example"),
        # the same raw ICMP socket in the c2sockets inventory (hosts without auditd)
        (SOCKETS, "Raw_Socket_From_Unexpected_Program", 85, "lnx04.corp.example"),
    ],
    "s5_ncat_socks_tor": [
        (SYSMON, "SOCKS_Proxy_Port_9050", 75, "ws05.corp.example"),
        (WFP, "SOCKS_Proxy_Port_9050", 75, "ws05.corp.example"),
        (AN1255, "SOCKS_Proxy_Port_9050", 75, "lnx05.corp.example"),
    ],
    "benign_background": [],
    "false_positives": [
        (SYSMON, "ICMP_From_Unexpected_Process", 85, "mon01.corp.example"),
        (SYSMON, "ICMP_From_Unexpected_Process", 85, "scan01.corp.example"),
        (SYSMON, "Unusual_UDP_Port_1195", 60, "lt07.corp.example"),
        (WFP, "ICMP_From_Unexpected_Process", 85, "mon01.corp.example"),
        (WFP, "ICMP_From_Unexpected_Process", 85, "scan01.corp.example"),
        (WFP, "Unusual_UDP_Port_1195", 60, "lt07.corp.example"),
        (BEACON, "Beaconing_ICMP_0", 70, "10.20.5.11"),
    ],
    "x1_dns_tunnel_doh_smb_egress": [
        (AN1228, "DNS_Over_HTTPS_From_Non_Browser", 65, "ws06.corp.example"),
        (AN1228, "DNS_Tunnel_Encoded_Labels", 90, "10.20.1.16"),
        (AN1228, "Internal_Protocol_Egress_SMB", 70, "10.20.1.16"),
        # the DoH client runs from the user's Temp folder (Sysmon and WFP each see it)
        (CONTEXT, "Executable_In_Transient_Folder", 55, "ws06.corp.example"),
        (CONTEXT, "Executable_In_Transient_Folder", 55, "ws06.corp.example"),
    ],
    "x2_web_c2_unusual_process": [
        (AN1225, "Unusual_Process_HTTP", 75, "ws07.corp.example"),
        (AN1225, "Unusual_Process_HTTPS", 75, "ws07.corp.example"),
        (AN1258, "Nonstandard_Port_http_8081", 50, "10.20.1.17"),
        (BEACON, "Beaconing_TCP_443", 70, "10.20.1.17"),
        # mshta.exe (a LOLBin) on TCP 8081, a port no service list has: the endpoint
        # searches see raw TCP, whatever Zeek later calls the payload.
        (SYSMON, "Raw_TCP_Unusual_Port_8081", 70, "ws07.corp.example"),
        (WFP, "Raw_TCP_Unusual_Port_8081", 70, "ws07.corp.example"),
    ],
    "x3_raw_tcp_reverse_shells": [
        # The 4444 session in Zeek conn: no recognised protocol, odd port, 95% outbound.
        (AN1258, "Outbound_Heavy_Raw_TCP_4444", 50, "10.20.1.18"),
        # the PowerShell reverse shell's command line (TCPClient stream into iex)
        (COMMANDS, "Reverse_Shell_Command_Line", 80, "ws08.corp.example"),
        (SYSMON, "Raw_TCP_Unusual_Port_31337", 70, "ws08.corp.example"),
        (SYSMON, "Raw_TCP_Unusual_Port_4444", 70, "ws08.corp.example"),
        (WFP, "Raw_TCP_Unusual_Port_31337", 70, "ws08.corp.example"),
        (WFP, "Raw_TCP_Unusual_Port_4444", 70, "ws08.corp.example"),
    ],
    "benign_raw_tcp_admin": [],
    "x4_esxi_vmci_guest_ops": [
        # vpxuser: StartProgram 75 + file transfer + discovery = 90 (capped).
        (ESXI, "ESXi_Guest_Program_Started_By_Unlisted_Account", 90, "esx01.corp.example"),
        (ESXI, "ESXi_Process_From_Unusual_Path", 80, "esx01.corp.example"),
        (VMTOOLS, "Guest_Shell_From_VMware_Tools", 70, "fin-db01.corp.example"),
        (VMTOOLS, "Guest_Shell_From_VMware_Tools", 70, "fin-db01.corp.example"),
    ],
    "benign_esxi_admin": [],
    "fp_esxi_backup_guest_ops": [
        (ESXI, "ESXi_Guest_Program_Started_By_Unlisted_Account", 90, "esx02.corp.example"),
    ],
    "x5_osquery_raw_socks": [
        (OSQUERY, "Raw_Socket_And_SOCKS_Proxy_Port_9050", 95, "mac09.corp.example"),
        # scapy's IPPROTO_RAW socket: raw socket 85 + an interpreter running a script = 90
        (OSQUERY, "Raw_Socket_From_Unexpected_Program", 90, "mac09.corp.example"),
        (OSQUERY, "SOCKS_Proxy_Port_1080", 75, "lnx11.corp.example"),
    ],
    "benign_osquery_endpoints": [],
    "x6_user_folder_payload_and_tunnels": [
        # rundll32 without arguments on HTTPS: AN1225's unusual process, and the context
        # search's missing arguments (Sysmon only: 5156 carries no command line)
        (AN1225, "Unusual_Process_HTTPS", 65, "ws09.corp.example"),
        (CONTEXT, "Missing_Usual_Arguments_rundll32.exe", 65, "ws09.corp.example"),
        # plink in Temp: RDP forwarded to 127.0.0.2:3389 (70) + transient folder = 80
        (CONTEXT, "Loopback_Tunnel_RDP_3389", 80, "ws09.corp.example"),
        (CONTEXT, "Loopback_Tunnel_RDP_3389", 80, "ws09.corp.example"),
        # ... whose command line is a plink remote forward
        (COMMANDS, "SSH_Remote_Port_Forward", 55, "ws09.corp.example"),
        # ... and the tunnelled RDP session logs on from 127.0.0.1 (Security 4624 type 10)
        (LOOPBACK_RDP, "RDP_Logon_From_Loopback", 70, "ws09.corp.example"),
        # the payload in Downloads (osquery: the one in /dev/shm) on TCP 4444: raw TCP (70)
        # + transient folder = 80
        (CONTEXT, "Raw_TCP_Unusual_Port_4444", 80, "lnx12.corp.example"),
        (CONTEXT, "Raw_TCP_Unusual_Port_4444", 80, "ws09.corp.example"),
        (CONTEXT, "Raw_TCP_Unusual_Port_4444", 80, "ws09.corp.example"),
        # the spooler, migrated into, calls the handler outside the network on 4444
        (CONTEXT, "System_Process_Unusual_Connection", 80, "ws09.corp.example"),
        (CONTEXT, "System_Process_Unusual_Connection", 80, "ws09.corp.example"),
    ],
    # per-user installs, Defender, lsass/explorer, local admin over loopback, and WFP's
    # ICMPv6 neighbour discovery from System (before: ICMP_From_Unexpected_Process 85)
    "benign_user_folder_software": [],
    "x7_tunnel_tools_and_reverse_shells": [
        # bash /dev/tcp and the Python pty one-liner (auditd), ngrok and a renamed chisel client
        # (Sysmon), ssh -R alone stays weak (45); ngrok's agent lookup is risk only (Zeek dns)
        (COMMANDS, "Reverse_Shell_Command_Line", 80, "lnx22.corp.example"),
        (COMMANDS, "Reverse_Shell_Command_Line", 80, "lnx22.corp.example"),
        (COMMANDS, "SSH_Remote_Port_Forward", 45, "lnx22.corp.example"),
        (COMMANDS, "Tunnelling_Tool_chisel", 65, "ws22.corp.example"),
        (COMMANDS, "Tunnelling_Tool_ngrok", 65, "ws22.corp.example"),
        (TUNNEL_DNS, "Tunnel_Service_Lookup_ngrok", 50, "10.20.1.22"),
    ],
    # ssh -L and logins from a jump host, nc -zv, socat relays, cloudflared proxy-dns, ngrok.com
    "benign_tunnels_and_admin_forwards": [],
    "x8_vmci_backdoor_sockets": [
        # /tmp/vmtoolsd listening on vsock: 75 + listener + user-writable folder = 90 (capped)
        (VSOCK, "VSOCK_Listener_From_Non_VMware_Program", 90, "vmhost01.corp.example"),
        # the Python backdoor: 75 + listener + interpreter (no package discount) = 90
        (VSOCK, "VSOCK_Listener_From_Non_VMware_Program", 90, "vmhost01.corp.example"),
        # socat relaying to a guest: 75 - 15 (installed by its package) = 60, still raised;
        # vmtoolsd, VGAuthService and tcpdump stay quiet
        (VSOCK, "VSOCK_Socket_From_Non_VMware_Program", 60, "vmhost01.corp.example"),
    ],
    # vmtoolsd, systemd's vsock sshd listener, qemu-ga, kata-agent, ping, tcpdump
    "benign_hypervisor_agents": [],
    "x8_unix_scripted_app_c2": [
        # bash's own connect() (auditd) is the /dev/tcp redirection; its command line too.
        # Its lookup of the handler's name (a connect to the site's resolver) is not a notable
        (COMMANDS, "Reverse_Shell_Command_Line", 80, "lnx32.corp.example"),
        (UNIX_APP_C2, "Shell_Socket_Connection", 80, "lnx32.corp.example"),
        # the Perl IRC bot: monitored port alone (50)
        (UNIX_APP_C2, "Monitored_Port_IRC_6667", 50, "lnx32.corp.example"),
        # the Python implant (Sysmon for Linux): beaconing 65 + outbound-heavy (its uploads,
        # from Zeek conn joined on the 5-tuple) + monitored port 8443 = 85; Zeek's view of the
        # same channel is the network beacon
        (UNIX_APP_C2, "Process_Beaconing_8443", 85, "lnx31.corp.example"),
        (BEACON, "Beaconing_TCP_8443", 70, "10.20.2.51"),
        # curl run by an Automator app (osquery): beaconing 65 + script-host child = 75
        (UNIX_APP_C2, "Process_Beaconing_443", 75, "mac33.corp.example"),
    ],
    # pip, curl, wget on 443, a monitoring agent polling the internal collector on 8443,
    # nc -zv, Homebrew's curl, mDNS
    "benign_unix_scripted_tools": [],
    "x9_macos_unsigned_non_standard_protocol": [
        # the ad-hoc-signed reverse SOCKS proxy: SOCKS 75 + ad-hoc signed = 85
        (OSQUERY, "SOCKS_Proxy_Port_1080", 85, "mac34.corp.example"),
        # the unsigned implant on UDP 53535, and the unsigned copy of ping (its allowlisted
        # name does not clear it)
        (OSQUERY, "Unsigned_Binary_Non_Standard_Protocol", 70, "mac34.corp.example"),
        (OSQUERY, "Unsigned_Binary_Non_Standard_Protocol", 70, "mac34.corp.example"),
        (OSQUERY, "Interpreted_Script_Non_Standard_Protocol", 60, "mac34.corp.example"),
    ],
    # Apple's ping, Zoom and Tailscale on UDP, Homebrew's ad-hoc-signed tools on TCP and DNS
    "benign_macos_signed_network": [],
    "x10_sysmon_dns_tunnel_process": [
        # rundll32's DNS beacon: encoded labels 70 + profile + machine-made = 90
        (DNS_PROCESS, "DNS_Tunnel_Encoded_Labels", 90, "ws35.corp.example"),
        # PowerShell's short-label channel: 30 unique machine-made names
        (DNS_PROCESS, "DNS_Tunnel_Machine_Made_Subdomains", 65, "ws35.corp.example"),
    ],
    # Chrome (incl. 30 Akamai edge names and random single-label probes), Defender's reputation
    # lookups, SRV names, Outlook, eight hosts resolving a few machine-made corp names
    "benign_sysmon_dns_queries": [],
    "x8_web_service_tor_and_framework_defaults": [
        # the beacon's default post-ex and SMB pipes (80) and its DNS stager query (+10)
        (ARTEFACT, "C2_Default_Named_Pipe_Cobalt_Strike", 90, "ws25.corp.example"),
        # Empire's default profile URIs with its default user agent (Zeek http)
        (ARTEFACT, "C2_Default_HTTP_Profile_Empire", 70, "10.20.1.26"),
        # the dropped tor.exe in AppData on a relay's ORPort: raw TCP on an odd port (70) + AppData
        (CONTEXT, "Raw_TCP_Unusual_Port_9001", 80, "ws24.corp.example"),
        (CONTEXT, "Raw_TCP_Unusual_Port_9001", 80, "ws24.corp.example"),
        # rundll32 on a duckdns name, regsvr32 on a DGA-like name
        (LOLBIN_DNS, "LOLBin_DGA_Like_Lookup", 55, "ws24.corp.example"),
        (LOLBIN_DNS, "LOLBin_Dynamic_DNS_Lookup", 65, "ws24.corp.example"),
        # ... the same tor.exe outside Tor Browser (70) and its relay port (+10); an onion leak
        (TOR, "Tor_Client_Outside_Tor_Browser", 80, "ws24.corp.example"),
        (TOR, "Tor_Onion_Lookup", 60, "10.20.2.24"),
        # PowerShell on the Telegram Bot API (65, +10 script host), the AppData payload on pastebin
        (WEB_SERVICE, "Web_Service_C2_paste_site", 60, "ws24.corp.example"),
        (WEB_SERVICE, "Web_Service_C2_telegram_bot_api", 75, "ws24.corp.example"),
    ],
    # Tor Browser in its own folder, Telegram Desktop, Discord, Chrome on pastebin, OneDrive,
    # PowerShell and certutil on Microsoft names, Windows' and Chrome's pipes, a browser's /news.php
    "benign_web_services_and_tor_browser": [],
    # Firewall (pan:traffic), proxy (squid:access) and DNS server (MSAD:NT6:DNS) events in CIM
    # names only: the tstats-based CIM variants find every channel.
    "x8_cim_network_c2": [
        (CIM_BEACON, "Beaconing_TCP_443", 80, "10.20.1.31"),  # + rare destination + sustained
        (CIM_DNS, "DNS_Tunnel_Encoded_Labels", 90, "10.20.1.36"),
        (CIM_TRAFFIC, "ICMP_Large_Payload", 75, "10.20.1.33"),  # + the 15-minute session
        (CIM_TRAFFIC, "Internal_Protocol_Egress_SMB", 70, "10.20.1.32"),
        (CIM_TRAFFIC, "Nonstandard_Port_ssh_443", 50, "10.20.1.34"),
        (CIM_TRAFFIC, "Outbound_Heavy_Raw_TCP_7777", 50, "10.20.1.35"),
        (CIM_TRAFFIC, "SOCKS_Handshake_To_Outside", 55, "10.20.1.38"),
        (CIM_WEB_BEACON, "Beaconing_HTTP_80", 70, "10.20.1.37"),  # + sustained
    ],
    # browsing, SaaS polled by every client, NTP, internal SMB, pings, SSH on 22, a large
    # HTTPS upload, anti-virus reputation names
    "benign_cim_network": [],
}

# The allowlist entries README.md documents for the reference's false positives.
DOCUMENTED_ALLOWLIST_ENTRIES = {
    "c2hunt_icmp_process_allowlist.csv": [["nessusd.exe", "Tenable Nessus scanner"],
                                          ["prtg probe.exe", "PRTG ICMP sensors"]],
    "c2hunt_udp_process_allowlist.csv": [["nessusd.exe", "Tenable Nessus scanner"],
                                         ["openvpn.exe", "corporate VPN on UDP 1195"]],
    "c2hunt_beacon_allowlist.csv": [["10.20.5.11/32", "0.0.0.0/0", "*", "icmp",
                                     "PRTG monitoring server polls every minute"]],
}


def _runner(lookup_dir=None):
    return Runner(str(ROOT), lookup_dir=None if lookup_dir is None else str(lookup_dir))


def _hunt(runner, scenario, baseline_events=None):
    events, issues = runner.read_files([str(SAMPLES / scenario)])
    assert not issues, issues
    assert events
    notables, errors = runner.hunt(events, baseline_events=baseline_events)
    assert not errors, errors
    return notables


@functools.lru_cache(maxsize=None)
def _shipped_hunt(scenario):
    """The shipped app's notables for ``scenario`` (no lookup folder of the test's own), hunted
    once per test process: several tests look at the same scenario's notables, and only read
    them."""
    return tuple(_hunt(_runner(), scenario))


def _summary(notables):
    rows = []
    for n in notables:
        who = n.host if n.search not in (AN1258, AN1228, BEACON) + CIM_SEARCHES \
            or n.host.endswith(".example") \
            else n.fields.get("src")
        rows.append((n.search, n.signal, int(n.risk_score), who))
    return sorted(rows)


def _canonical(value):
    """Numbers as floats (6 decimals) whatever their text form, lists item by item, so the
    golden files pin values, not the runner's number formatting."""
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return str(value)


def _golden_form(notables):
    rows = []
    for n in notables:
        row = {k: _canonical(v) for k, v in n.as_dict().items() if k != "fields"}
        row["fields"] = {k: _canonical(v) for k, v in sorted(n.fields.items())}
        rows.append(row)
    return sorted(rows, key=lambda d: (d["search"], d["signal"], str(d["host"]), d["time"] or 0))


def test_samples_match_a_fresh_generation():
    assert generate.stale_files(SAMPLES, list(scenarios.SCENARIOS)) == []


def test_every_scenario_has_expectations():
    assert sorted(EXPECTED) == sorted(scenarios.SCENARIOS)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_raises_exactly_the_expected_notables(scenario):
    notables = _shipped_hunt(scenario)
    assert _summary(notables) == sorted(EXPECTED[scenario])
    golden = GOLDEN / (scenario + ".json")
    actual = _golden_form(notables)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    assert json.loads(golden.read_text()) == json.loads(json.dumps(actual))


def test_reference_output_fields_of_the_sysmon_search():
    notables = [n for n in _shipped_hunt("s1_icmp_large_payload_powershell")
                if n.search == SYSMON]
    fields = notables[0].fields
    assert fields["Image"] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert fields["User"] == "CORP\\alice"
    assert fields["ParentImage"] == "C:\\Windows\\System32\\cmd.exe"
    assert "System.Net.NetworkInformation.Ping" in fields["CommandLine"]
    assert fields["DestinationIp"] == "203.0.113.50" and fields["protocol"] == "icmp"
    assert int(fields["count"]) == 12


def _with_entries(tmp_path, entries):
    for filename, rows in entries.items():
        shutil.copy(ROOT / "lookups" / filename, tmp_path / filename)
        with open(tmp_path / filename, "a", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return tmp_path


def test_documented_allowlist_entries_suppress_the_false_positives(tmp_path):
    runner = _runner(_with_entries(tmp_path, DOCUMENTED_ALLOWLIST_ENTRIES))
    assert _hunt(runner, "false_positives") == []


@pytest.mark.parametrize("scenario", [s for s in sorted(EXPECTED) if s.startswith("s")])
def test_documented_allowlist_entries_keep_the_reference_detections(tmp_path, scenario):
    runner = _runner(_with_entries(tmp_path, DOCUMENTED_ALLOWLIST_ENTRIES))
    assert _summary(_hunt(runner, scenario)) == sorted(EXPECTED[scenario])


def test_each_documented_entry_is_needed(tmp_path):
    """Dropping one documented file's entries brings back its false positives."""
    for filename in DOCUMENTED_ALLOWLIST_ENTRIES:
        folder = tmp_path / filename.replace(".", "_")
        folder.mkdir()
        partial = {k: v for k, v in DOCUMENTED_ALLOWLIST_ENTRIES.items() if k != filename}
        assert _hunt(_runner(_with_entries(folder, partial)), "false_positives")


def test_protocol_new_to_a_baselined_host(tmp_path):
    """The baseline search writes the lookup; ICMP new to a baselined host adds a signal."""
    runner = _runner(tmp_path)
    history = [dict(e) for e in runner.read_files([str(SAMPLES / "s1_icmp_large_payload_powershell")])[0]
               if e.get("EventCode") in ("1", "3")]
    for event in history:  # ws01's history: UDP only, a month earlier
        event.update(Protocol="udp", transport="udp", DestinationPort="53", dest_port="53",
                     _time=float(event["_time"]) - 30 * 86400)
    runner.run(runner.savedsearches["C2Hunt - Protocol Usage Baseline - Lookup Gen"]["search"],
               history)
    with open(tmp_path / "c2hunt_protocol_usage_baseline.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["host"], r["transport"], r["baselined"]) for r in rows] == [
        ("ws01.corp.example", "udp", "1")]
    notables = [n for n in _hunt(runner, "s1_icmp_large_payload_powershell") if n.search == AN1254]
    assert [(n.signal, n.risk_score) for n in notables] == [
        ("Outbound_Heavy_ICMP_From_Unlisted_Process", 80)]
    assert notables[0].fields["signals"] == ["Outbound_Heavy_ICMP_From_Unlisted_Process",
                                             "Protocol_New_To_Host_ICMP"]


def test_port_new_to_a_baselined_program(tmp_path):
    """AN1227's baseline: the Lookup Gen records the ports each program reached outside; a
    port new to a baselined program adds a signal, a baselined port does not."""
    runner = _runner(tmp_path)
    history = [dict(e) for e in runner.read_files([str(SAMPLES / "x8_unix_scripted_app_c2")])[0]
               if e.get("host") == "lnx31.corp.example"]
    for event in history:  # lnx31's python a month earlier: HTTPS on 443 only
        raw = event["_raw"].replace(">8443<", ">443<")
        event.update(DestinationPort="443", dest_port="443", _raw=raw,
                     _time=float(event["_time"]) - 30 * 86400)
    runner.run(runner.savedsearches["C2Hunt - Program Destination Port Baseline - Lookup Gen"]
               ["search"], history)
    with open(tmp_path / "c2hunt_program_port_baseline.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["host"], r["process_name"], r["dest_port"], r["baselined"]) for r in rows] == [
        ("lnx31.corp.example", "python3.11", "443", "1")]
    notables = {n.host: n for n in _hunt(runner, "x8_unix_scripted_app_c2")
                if n.search == UNIX_APP_C2 and n.signal.startswith("Process_Beaconing")}
    assert notables["lnx31.corp.example"].fields["signals"] == [
        "Process_Beaconing_8443", "Outbound_Heavy_Program_Flow", "Monitored_Port_HTTPS_8443",
        "Port_New_To_Program_8443"]
    assert notables["lnx31.corp.example"].risk_score == 90
    # mac33 is not in the baseline: nothing is new to an unknown program
    assert "Port_New_To_Program_443" not in notables["mac33.corp.example"].fields["signals"]


def _empty_lookup(folder, filename):
    """A copy of a shipped lookup with its header only."""
    with open(ROOT / "lookups" / filename, encoding="utf-8") as handle:
        header = handle.readline()
    (folder / filename).write_text(header, encoding="utf-8")


@pytest.mark.parametrize("filename, signals", [
    # Without the service port list, admin PowerShell (WinRM, RPC, SQL) and pip would raise.
    ("c2hunt_tcp_service_ports.csv", {"Raw_TCP_Unusual_Port_5985", "Raw_TCP_Unusual_Port_135",
                                      "Raw_TCP_Unusual_Port_1433", "Raw_TCP_Unusual_Port_443"}),
    # Without the loopback allowlist, the Python debugger on 127.0.0.1:5678 would.
    ("c2hunt_raw_tcp_dest_allowlist.csv", {"Raw_TCP_Unusual_Port_5678"}),
    # Without internal networks, WMI's dynamic RPC port on the domain controller would.
    ("c2hunt_internal_networks.csv", {"Raw_TCP_Unusual_Port_49702"}),
])
def test_each_raw_tcp_defence_is_needed(tmp_path, filename, signals):
    """benign_raw_tcp_admin is what a naive "scripting engine on TCP" rule raises: each
    shipped list (or the dynamic RPC rule) is what keeps one part of it quiet."""
    _empty_lookup(tmp_path, filename)
    notables = [n for n in _hunt(_runner(tmp_path), "benign_raw_tcp_admin")
                if n.search in (SYSMON, WFP)]
    raised = {s for n in notables for s in
              (n.fields["signals"] if isinstance(n.fields["signals"], list) else [n.fields["signals"]])}
    assert signals <= raised
    assert {n.search for n in notables} == {SYSMON, WFP}


@pytest.mark.parametrize("filename, signals", [
    # Without the program beacon allowlist, Azure's waagent polling the WireServer would raise.
    ("c2hunt_process_beacon_allowlist.csv", {"Process_Beaconing_80"}),
    # Without internal networks, the monitoring agent's collector on 8443 would look outside.
    ("c2hunt_internal_networks.csv", {"Process_Beaconing_8443", "Monitored_Port_HTTPS_8443"}),
    # Without the public resolver list, a curl loop's own name lookups would be its beacon.
    ("c2hunt_doh_resolvers.csv", {"Process_Beaconing_53"}),
])
def test_each_unix_app_c2_defence_is_needed(tmp_path, filename, signals):
    """benign_unix_scripted_tools stays quiet because of these lists, not by accident."""
    _empty_lookup(tmp_path, filename)
    notables = [n for n in _hunt(_runner(tmp_path), "benign_unix_scripted_tools")
                if n.search == UNIX_APP_C2]
    raised = {s for n in notables for s in
              (n.fields["signals"] if isinstance(n.fields["signals"], list) else [n.fields["signals"]])}
    assert signals <= raised


# The allowlist entry README.md documents for Guest Operations driven by a backup product.
ESXI_BACKUP_ENTRY = {"c2hunt_esxi_guest_ops_allowlist.csv": [
    ["vpxuser:CORP\\svc-veeam", "*", "Veeam application-aware backup through vCenter"]]}


def test_documented_esxi_entry_suppresses_the_backup_false_positive(tmp_path):
    runner = _runner(_with_entries(tmp_path, ESXI_BACKUP_ENTRY))
    assert _hunt(runner, "fp_esxi_backup_guest_ops") == []
    # ... and keeps the attack: the same entry does not cover a bare vpxuser login.
    assert _summary(_hunt(runner, "x4_esxi_vmci_guest_ops")) == sorted(
        EXPECTED["x4_esxi_vmci_guest_ops"])


def test_esxi_guest_ops_are_attributed_and_counted_once(tmp_path):
    """hostd's event lines carry no user: the account comes from the session's login
    (sid); vpxa and hostd lines of one operation (one opID) count once."""
    attack = [n for n in _shipped_hunt("x4_esxi_vmci_guest_ops") if n.search == ESXI]
    by_account = {n.fields["account"]: n for n in attack}
    assert set(by_account) == {"vpxuser", "root"}
    guest = by_account["vpxuser"].fields
    assert guest["src"] == "198.51.100.61" and guest["vm"] == "fin-db01"
    assert int(float(guest["guest_op_count"])) == 7
    assert guest["signals"] == ["ESXi_Guest_Program_Started_By_Unlisted_Account",
                                "ESXi_Guest_File_Transfer_By_Unlisted_Account",
                                "ESXi_Guest_Discovery_By_Unlisted_Account"]
    assert by_account["root"].fields["exec_path"] == [
        "/tmp/vmtoolsd", "/vmfs/volumes/datastore1/.vmcl/vmsyslog.py"]
    backup = _shipped_hunt("fp_esxi_backup_guest_ops")[0].fields
    assert int(float(backup["guest_op_count"])) == 6  # 12 lines (vpxa + hostd), 6 operations


def test_esxi_operation_burst_threshold(tmp_path):
    """OperationThreshold: an allowlisted account still raises once it runs more guest
    operations on one host than the threshold (here 20 copies of the backup's 6)."""
    runner = _runner(_with_entries(tmp_path, ESXI_BACKUP_ENTRY))
    events, _ = runner.read_files([str(SAMPLES / "fp_esxi_backup_guest_ops")])
    many = []
    for copy in range(4):
        for event in events:
            clone = dict(event, _time=float(event["_time"]) + 60.0 * copy)
            clone["_raw"] = clone["_raw"].replace("opID=", "opID=%d" % copy)
            many.append(clone)
    notables, errors = runner.hunt(many, names=[ESXI])
    assert not errors
    assert [(n.signal, n.risk_score) for n in notables] == [("ESXi_Guest_Operations_Burst", 60)]


@pytest.mark.parametrize("filename, expected", [
    # Without the sanctioned Tor clients, Tor Browser's own tor (on a relay's ORPort) would raise.
    ("c2hunt_tor_clients.csv", {(TOR, "Tor_Client_Outside_Tor_Browser")}),
    # Without the services' own clients and browsers, Telegram Desktop, Discord, Chrome and
    # OneDrive would.
    ("c2hunt_web_service_clients.csv", {(WEB_SERVICE, "Web_Service_C2_telegram_bot_api"),
                                        (WEB_SERVICE, "Web_Service_C2_discord_cdn"),
                                        (WEB_SERVICE, "Web_Service_C2_paste_site"),
                                        (WEB_SERVICE, "Web_Service_C2_onedrive_api")}),
])
def test_each_web_service_and_tor_defence_is_needed(tmp_path, filename, expected):
    """benign_web_services_and_tor_browser is quiet because of the shipped client lists, not
    because the searches miss those events."""
    _empty_lookup(tmp_path, filename)
    notables = _hunt(_runner(tmp_path), "benign_web_services_and_tor_browser")
    assert {(n.search, n.signal) for n in notables} == expected
@pytest.mark.parametrize("filename, search, signal", [
    # Without the DNS domain allowlist, anti-virus reputation names look like a tunnel.
    ("c2hunt_dns_domain_allowlist.csv", CIM_DNS, "DNS_Tunnel_Encoded_Labels"),
])
def test_each_cim_defence_is_needed(tmp_path, filename, search, signal):
    """benign_cim_network stays quiet because of the shipped lists, not by lack of data."""
    _empty_lookup(tmp_path, filename)
    notables = [n for n in _hunt(_runner(tmp_path), "benign_cim_network") if n.search == search]
    assert signal in {n.signal for n in notables}


def test_cim_variants_leave_the_native_sourcetypes_to_their_own_searches():
    """Zeek, Sysmon and Windows events are in Network_Traffic too; the CIM variants skip them
    (c2hunt_cim_native_data), so one connection is not scored twice."""
    for scenario in ("x1_dns_tunnel_doh_smb_egress", "x2_web_c2_unusual_process",
                     "s3_python_udp_beacon"):
        assert not [n for n in _shipped_hunt(scenario) if n.search in CIM_SEARCHES]


def test_cim_rows_without_an_address_are_not_judged():
    """tstats fills missing by-fields with "-" (c2hunt_summariesonly's fillnull_value, for
    ICMP's port); a record without a destination must not become an outside address "-"."""
    runner = _runner()
    events, _ = runner.read_files([str(SAMPLES / "x8_cim_network_c2")])
    smb = [e for e in events if e.get("app") == "ms-ds-smb"]
    assert smb
    for event in smb:
        del event["dest"]
    notables, errors = runner.hunt(events, names=[CIM_TRAFFIC])
    assert not errors
    assert "Internal_Protocol_Egress_SMB" not in {n.signal for n in notables}
    assert "ICMP_Large_Payload" in {n.signal for n in notables}
