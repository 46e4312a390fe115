"""The c2sockets modular input: /proc/net parsers on hand-written tables, the inode ->
process walk on a fake /proc tree, first_seen across passes, and the script as splunkd runs
it (scheme, validation, a pass) seeing real raw and packet sockets a child process holds."""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from c2hunt.sockets import inventory, processes, procnet
from support import run_script

# Hand-written tables in the kernel's layout (project-made, little-endian host words).
RAW = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
   1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41001 2 0000000000000000 0
  47: 0100007F:002F 0200A8C0:0000 01 00000000:00000000 00:00000000 00000000  1000        0 41002 2 0000000000000000 0
  garbage line that does not parse
"""
RAW6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  58: 00000000000000000000000000000000:003A 00000000000000000000000001000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41003 2 0000000000000000 0
"""
ICMP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 113: 0500000A:1F90 0971000A:0000 07 00000000:00000000 00:00000000 00000000   998        0 41004 2 0000000000000000 0
"""
PACKET = """\
sk               RefCnt Type Proto  Iface R Rmem   User   Inode
ffff8f0b4a2c1000 3      3    0003   0     1 0      0      41005
ffff8f0b4a2c2000 3      2    0800   2     1 0      101    41006
ffff8f0b4a2c3000 3      3    zz
"""
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42001 1 0000000000000000 100 0 0 10 0
   1: 0500000A:0016 0971000A:C350 01 00000000:00000000 02:00000000 00000000     0        0 42002 4 0000000000000000 20 4 30 10 -1
"""
UDP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 100: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 42003 2 0000000000000000 0
 101: 0500000A:A000 08080808:0035 01 00000000:00000000 00:00000000 00000000  1000        0 42004 2 0000000000000000 0
"""
LITTLE_ENDIAN = sys.byteorder == "little"


@pytest.mark.skipif(not LITTLE_ENDIAN, reason="fixtures use little-endian host words")
def test_inet_tables():
    raw = procnet.parse_inet_table(RAW, "raw")
    assert [(r["local_ip"], r["ip_protocol_name"], r["state"], r["socket_uid"], r["socket_inode"])
            for r in raw] == [("0.0.0.0", "icmp", "close", 0, 41001),
                              ("127.0.0.1", "gre", "established", 1000, 41002)]
    assert raw[1]["remote_ip"] == "192.168.0.2" and raw[1]["ip_protocol"] == 47
    raw6 = procnet.parse_inet_table(RAW6, "raw6")
    assert raw6[0]["family"] == "ipv6" and raw6[0]["ip_protocol_name"] == "ipv6-icmp"
    assert raw6[0]["local_ip"] == "::" and raw6[0]["remote_ip"] == "::1"
    icmp = procnet.parse_inet_table(ICMP, "icmp")
    assert icmp == [{"table": "icmp", "transport": "icmp", "family": "ipv4",
                     "socket_type": "dgram", "local_ip": "10.0.0.5", "local_port": 8080,
                     "remote_ip": "10.0.113.9", "remote_port": 0, "state": "close",
                     "socket_uid": 998, "socket_inode": 41004}]
    listeners = [r for r in procnet.parse_inet_table(TCP, "tcp") + procnet.parse_inet_table(UDP, "udp")
                 if procnet.is_listener(r)]
    assert [(r["transport"], r["local_port"]) for r in listeners] == [("tcp", 22), ("udp", 53)]
    assert procnet.parse_inet_table("", "raw") == []
    assert procnet.parse_inet_table("header only\n", "icmp6") == []


def test_packet_table():
    rows = procnet.parse_packet_table(PACKET)
    assert [(r["socket_type"], r["ethertype_name"], r["interface_index"], r["socket_uid"],
             r["socket_inode"]) for r in rows] == [("raw", "all", 0, 0, 41005),
                                                   ("dgram", "ipv4", 2, 101, 41006)]


def _fake_proc(root, tables=None):
    """A /proc tree: tables under net/, btime, and processes with fd links to sockets."""
    (root / "net").mkdir(parents=True)
    for name, text in (tables or {"raw": RAW, "icmp": ICMP, "packet": PACKET}).items():
        (root / "net" / name).write_text(text)
    (root / "stat").write_text("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n")

    def process(pid, ppid, comm, exe, argv, uid, start_ticks, inodes):
        base = root / str(pid)
        (base / "fd").mkdir(parents=True)
        stat = "%d (%s) S %d" % (pid, comm, ppid) + " 0" * 17 + " %d 0 0" % start_ticks
        (base / "stat").write_text(stat)
        (base / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        (base / "status").write_text("Name:\t%s\nUid:\t%d\t%d\t%d\t%d\n" % (comm, uid, uid, uid, uid))
        os.symlink(exe, str(base / "exe"))
        for fd, inode in enumerate(inodes, start=3):
            os.symlink("socket:[%d]" % inode, str(base / "fd" / str(fd)))
        os.symlink("/dev/null", str(base / "fd" / "0"))
    process(10, 1, "ptunnel ng", "/tmp/.x/ptunnel-ng", ["./ptunnel-ng", "-r", "10.0.113.9"],
            0, 250, [41001, 41005])
    process(11, 10, "ptunnel ng", "/tmp/.x/ptunnel-ng", ["./ptunnel-ng"], 0, 260, [41001])
    process(12, 1, "dhclient", "/usr/sbin/dhclient", ["dhclient", "eth0"], 0, 100, [41006, 99])
    (root / "13").mkdir()        # a process that exited mid-walk: no fd folder
    (root / "self").mkdir()
    return root


def test_inode_mapping_on_a_fake_proc(tmp_path):
    proc = _fake_proc(tmp_path / "proc")
    holders, visited, capped = processes.socket_inodes_by_pid(str(proc), {41001, 41005, 41006}, 100)
    assert holders == {41001: [10, 11], 41005: [10], 41006: [12]}
    assert visited == 4 and not capped
    info = processes.process_info(str(proc), 10, processes.boot_time(str(proc)), ticks=100)
    assert info == {"process_id": 10, "process_name": "ptunnel ng", "parent_process_id": 1,
                    "process_start_ticks": 250, "process_start_time": 1700000002.5,
                    "process_path": "/tmp/.x/ptunnel-ng", "process_exec": "ptunnel-ng",
                    "process": "./ptunnel-ng -r 10.0.113.9", "user_id": 0}
    assert processes.process_info(str(proc), 999) == {"process_id": 999}
    _, visited, capped = processes.socket_inodes_by_pid(str(proc), {41001}, 2)
    assert visited == 2 and capped


@pytest.mark.skipif(not LITTLE_ENDIAN, reason="fixtures use little-endian host words")
def test_one_record_per_socket_and_process_and_first_seen_kept(tmp_path):
    proc = _fake_proc(tmp_path / "proc")
    written, messages = [], []
    settings = inventory.parse_settings({})

    def run(now):
        written.clear()
        summary = inventory.collect("c2sockets://h", settings, str(tmp_path / "ck"),
                                    written.extend, lambda *m: messages.append(m),
                                    proc_root=str(proc), now=now)
        return summary, list(written)
    summary, first = run(1700000100.0)
    pairs = sorted((r["socket_inode"], r.get("process_id", -1)) for r in first)
    # raw 41001 held by parent and child, 41002 by nobody visible, icmp 41004 by nobody,
    # packet 41005 by the tunnel and 41006 by dhclient.
    assert pairs == sorted([(41001, 10), (41001, 11), (41002, -1), (41004, -1),
                            (41005, 10), (41006, 12)])
    assert summary["events"] == 6 and summary["sockets"] == 5 and not summary["process_cap_reached"]
    assert all(r["first_seen"] == r["last_seen"] == 1700000100.0 for r in first)
    _, second = run(1700000160.0)
    assert {r["socket_id"]: r["first_seen"] for r in second} == \
        {r["socket_id"]: 1700000100.0 for r in first}
    assert all(r["last_seen"] == 1700000160.0 for r in second)
    # Events read back as JSON with last_seen first (props.conf TIME_PREFIX).
    assert inventory.format_event(second[0]).startswith('{"last_seen":1700000160.0,')
    # A socket that closed leaves the state; one that reopens starts a new story.
    os.remove(str(proc / "10" / "fd" / "4"))    # the tunnel closes its packet socket
    (proc / "net" / "packet").write_text(PACKET.replace("41005", "41007"))
    os.symlink("socket:[41007]", str(proc / "10" / "fd" / "4"))
    _, third = run(1700000220.0)
    new = [r for r in third if r["socket_inode"] == 41007]
    assert len(new) == 1 and new[0]["first_seen"] == 1700000220.0
    state = json.loads((tmp_path / "ck" / "c2sockets_c2sockets___h.json").read_text())
    assert not any(key.startswith("41005:") for key in state)


def test_caps_and_settings(tmp_path):
    proc = _fake_proc(tmp_path / "proc")
    records, _, summary = inventory.take_inventory(
        inventory.parse_settings({"max_sockets": "2", "max_processes": "1"}), str(proc), now=1.0)
    assert summary["sockets_reported"] == 2 and summary["socket_cap_reached"]
    assert summary["process_cap_reached"] and summary["processes_visited"] == 1
    assert "pass_seconds" in summary
    for params, name in [({"max_sockets": "0"}, "max_sockets"), ({"max_processes": "x"}, "max_processes"),
                         ({"listeners": "perhaps"}, "listeners")]:
        with pytest.raises(ValueError, match=name):
            inventory.parse_settings(params)
    assert inventory.parse_settings({"listeners": "1"})["listeners"] is True
    # No socket tables at all (a kernel without them, a non-Linux /proc): nothing, no error.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert inventory.take_inventory(inventory.parse_settings({}), str(empty))[0] == []


# -- protocol tier: the script as splunkd runs it ----------------------------------------

def _definition(checkpoints, **params):
    body = "".join('<param name="%s">%s</param>' % item for item in sorted(params.items()))
    return ("<input><server_host>test</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
            "<session_key>k</session_key><checkpoint_dir>%s</checkpoint_dir><configuration>"
            '<stanza name="c2sockets://host">%s</stanza></configuration></input>'
            % (checkpoints, body)).encode()


def _events(xml_bytes):
    found = []
    for event in ET.fromstring(xml_bytes).iter("event"):
        found.append((event.findtext("sourcetype"), float(event.findtext("time")),
                      json.loads(event.findtext("data"))))
    return found


def _script(app_dir):
    return app_dir / "bin" / "c2sockets.py"


def test_scheme_and_validation(splunk_python, app_dir):
    env = {"PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"}
    proc = subprocess.run([splunk_python, str(_script(app_dir)), "--scheme"], capture_output=True,
                          cwd=str(app_dir / "bin"), timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    scheme = ET.fromstring(proc.stdout)
    assert scheme.findtext("use_external_validation") == "true"
    assert scheme.findtext("streaming_mode") == "xml"
    assert {arg.get("name") for arg in scheme.iter("arg")} == {"listeners", "max_processes",
                                                               "max_sockets"}
    for params, ok in [({"max_sockets": "10"}, True), ({"max_sockets": "-1"}, False),
                       ({"listeners": "maybe"}, False)]:
        body = "".join('<param name="%s">%s</param>' % item for item in params.items())
        items = ("<items><server_host>t</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
                 "<session_key>k</session_key><checkpoint_dir>/tmp</checkpoint_dir>"
                 '<item name="host">%s</item></items>' % body).encode()
        result = subprocess.run([splunk_python, str(_script(app_dir)), "--validate-arguments"],
                                input=items, capture_output=True, cwd=str(app_dir / "bin"),
                                timeout=120, env=env)
        assert (result.returncode == 0) == ok, result.stdout


HOLDER = r"""
import os, socket, sys
held, kinds = [], []
for kind, args in [("raw", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                   ("raw6", (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)),
                   ("icmp", (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)),
                   ("packet", (socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)))]:
    try:
        s = socket.socket(*args)
    except OSError:
        continue        # not permitted here (ping_group_range, no IPv6): not reported either
    held.append(s)
    kinds.append("%s=%d" % (kind, os.fstat(s.fileno()).st_ino))
print(" ".join(kinds), flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                    reason="raw and packet sockets need Linux and root")
def test_real_sockets_are_reported_with_their_process(splunk_python, app_dir, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        line = holder.stdout.readline().decode()
        opened = {kind: int(inode) for kind, inode in re.findall(r"(\w+)=(\d+)", line)}
        assert "raw" in opened and "packet" in opened, line
        result = run_script(splunk_python, _script(app_dir), _definition(tmp_path / "ck"),
                            timeout=120)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    events = _events(result.stdout)
    assert {e[0] for e in events} == {"c2hunt:socket"}
    mine = {e[2]["socket_inode"]: e[2] for e in events if e[2].get("process_id") == holder.pid}
    assert set(mine) == set(opened.values())
    expected_exe = os.path.realpath(sys.executable)
    for kind, inode in opened.items():
        record = mine[inode]
        assert record["table"] == kind
        assert record["process_path"] == expected_exe and record["user_id"] == 0
        assert record["parent_process_id"] == os.getpid()
        assert "process_start_time" in record and record["first_seen"] == record["last_seen"]
    assert mine[opened["raw"]]["ip_protocol_name"] == "icmp"
    assert mine[opened["packet"]]["ethertype_name"] == "all"
    assert all(abs(e[1] - e[2]["last_seen"]) < 1e-3 for e in events)
    assert b"c2sockets c2sockets://host: {" in result.stderr and b"pass_seconds" in result.stderr


# -- the offline runner reads c2hunt:socket events ---------------------------------------

@pytest.mark.skipif(not LITTLE_ENDIAN, reason="fixtures use little-endian host words")
def test_offline_runner_reads_socket_records_and_exports(tmp_path):
    from c2hunt_offline import run_search
    proc = _fake_proc(tmp_path / "proc")
    records, _, _ = inventory.take_inventory(inventory.parse_settings({}), str(proc), now=1700000100.0)
    lines = [inventory.format_event(r) for r in records]
    # The input's event text as is, and the same event as a Splunk export (host, _raw).
    (tmp_path / "sockets.json").write_text("\n".join(lines[:3]) + "\n")
    (tmp_path / "export.json").write_text("\n".join(
        json.dumps({"result": {"_raw": line, "sourcetype": "c2hunt:socket", "host": "esx01"},
                    "preview": False}) for line in lines[3:]) + "\n")
    rows = run_search('search sourcetype="c2hunt:socket" | eval t=_time '
                      '| stats count values(dest) AS dest values(t) AS t by transport process_id',
                      [str(tmp_path / "sockets.json"), str(tmp_path / "export.json")])
    assert not rows.issues
    by_key = {(r["transport"], r["process_id"]): r for r in rows}
    assert set(by_key) == {("raw", "10"), ("raw", "11"), ("packet", "10"), ("packet", "12")}
    assert by_key[("packet", "12")]["dest"] == "esx01"
    assert all(float(r["t"]) == 1700000100.0 for r in rows)
    assert sum(int(r["count"]) for r in rows) == 4     # sockets without a process: no process_id


SOCKET_RULE = ("C2Hunt - Raw, ICMP Or Packet Socket Held By Unexpected Linux Program - "
               "Socket Inventory - Rule")


@pytest.mark.skipif(not LITTLE_ENDIAN, reason="fixtures use little-endian host words")
def test_socket_inventory_search_flags_the_tunnel_not_the_dhcp_client(tmp_path):
    from c2hunt_offline import hunt
    proc = _fake_proc(tmp_path / "proc")
    # ping (allowlisted) holds an ICMP datagram socket too.
    base = proc / "20"
    (base / "fd").mkdir(parents=True)
    (base / "stat").write_text("20 (ping) S 1" + " 0" * 17 + " 300 0 0")
    (base / "cmdline").write_bytes(b"ping\x008.8.8.8\x00")
    (base / "status").write_text("Uid:\t1000\t1000\t1000\t1000\n")
    os.symlink("/usr/bin/ping", str(base / "exe"))
    os.symlink("socket:[41004]", str(base / "fd" / "3"))
    lines = []
    previous = {}
    for now in (1700000100.0, 1700000160.0, 1700000220.0):    # three passes: one story
        records, previous, _ = inventory.take_inventory(inventory.parse_settings({}), str(proc),
                                                        now=now, previous=previous)
        lines += [inventory.format_event(dict(r, host="linux01")) for r in records]
    (tmp_path / "sockets.json").write_text("\n".join(lines) + "\n")
    notables = [n for n in hunt([str(tmp_path / "sockets.json")]) if n.search == SOCKET_RULE]
    flagged = {(n.fields["pid"], n.fields["detection_signal"], n.risk_score) for n in notables}
    # The tunnel (pid 10: raw ICMP + sniffing packet socket; its child pid 11: the raw
    # socket) is flagged; dhclient's packet socket and ping's ICMP socket are not.
    assert flagged == {("10", "Raw_And_Packet_Socket_From_Unexpected_Program", 90),
                       ("11", "Raw_Socket_From_Unexpected_Program", 85)}
    tunnel = [n for n in notables if n.fields["pid"] == "10"][0]
    assert tunnel.host == "linux01"
    assert float(tunnel.fields["held_seconds"]) == 120
    assert tunnel.fields["process_path"] == "/tmp/.x/ptunnel-ng"
