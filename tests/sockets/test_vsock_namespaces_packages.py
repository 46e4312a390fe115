"""vsock sockets (sock_diag netlink replies, kernels without vsock_diag), sockets of other
network namespaces, and the package owner of a socket's program; on a fake /proc from
recorded replies, and for real on this machine where the kernel allows (skipped if not)."""
import errno
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from c2hunt.sockets import inventory, packages, vsock
from support import run_script

# The reply of a kernel without vsock_diag (recorded on a 6.18 Firecracker guest): one
# NLMSG_ERROR, error -2 (ENOENT), echoing the request header and body.
NO_VSOCK_DIAG = bytes.fromhex(
    "3c000000020000000100000035150000feffffff2800000014000103010000000000000028000000"
    "ffffffff0000000000000000ffffffffffffffff")


def _diag_message(sock_type, state, src, dst, inode, seq=1):
    """One SOCK_DIAG_BY_FAMILY reply in the kernel's layout (struct vsock_diag_msg)."""
    body = struct.pack("=BBBBIIIII2I", 40, sock_type, state, 0, src[0], src[1], dst[0], dst[1],
                       inode, 0x1234, 0x5678)
    return struct.pack("=IHHII", 16 + len(body), 20, 2, seq, 4242) + body


DONE = struct.pack("=IHHII", 20, 3, 2, 1, 4242) + b"\0\0\0\0"
ANY = 0xFFFFFFFF
# A backdoor listening on every context id, port 18098; a guest's connection to the host.
LISTENER = _diag_message(1, 10, (ANY, 18098), (ANY, ANY), 51001)
CONNECTED = _diag_message(1, 1, (3, 1025), (2, 5000), 51002)


def test_request_layout():
    request = vsock.request(seq=7)
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", request)
    assert (length, kind, flags, seq, pid) == (len(request), 20, 0x301, 7, 0)
    family, protocol, pad, states = struct.unpack_from("=BBHI", request, 16)
    assert (family, protocol, pad, states) == (40, 0, 0, 0xFFFFFFFF)
    assert len(request) == 16 + 24      # sizeof(struct vsock_diag_req) == 24


def test_parse_replies():
    records, code, done = vsock.parse_replies(LISTENER + CONNECTED + DONE)
    assert code is None and done
    assert records == [
        {"table": "vsock", "transport": "vsock", "family": "vsock", "socket_type": "stream",
         "state": "listen", "local_cid": -1, "local_cid_name": "any", "local_port": 18098,
         "remote_cid": -1, "remote_cid_name": "any", "remote_port": -1, "socket_inode": 51001},
        {"table": "vsock", "transport": "vsock", "family": "vsock", "socket_type": "stream",
         "state": "established", "local_cid": 3, "local_cid_name": "guest", "local_port": 1025,
         "remote_cid": 2, "remote_cid_name": "host", "remote_port": 5000,
         "socket_inode": 51002}]
    # A multi-part dump: the first buffer has no DONE yet.
    assert vsock.parse_replies(LISTENER) == (vsock.parse_replies(LISTENER)[0], None, False)
    # Another request's replies, a truncated message and garbage cost nothing.
    other = _diag_message(1, 10, (ANY, 1), (ANY, ANY), 9, seq=99)
    assert [r["socket_inode"] for r in vsock.parse_replies(other + LISTENER + DONE)[0]] == [51001]
    assert vsock.parse_replies(LISTENER[:30]) == ([], None, False)
    assert vsock.parse_replies(b"\xff" * 7) == ([], None, False)


@pytest.mark.parametrize("reply, code", [
    (NO_VSOCK_DIAG, errno.ENOENT),
    (struct.pack("=IHHIIi", 36, 2, 0, 1, 0, -errno.EPROTONOSUPPORT) + b"\0" * 16,
     errno.EPROTONOSUPPORT),
    (struct.pack("=IHHIIi", 36, 2, 0, 1, 0, -errno.EINVAL) + b"\0" * 16, errno.EINVAL)],
    ids=["ENOENT", "EPROTONOSUPPORT", "EINVAL"])
def test_kernels_without_vsock_diag(reply, code):
    records, got, done = vsock.parse_replies(reply)
    assert (records, got, done) == ([], code, True)
    assert errno.errorcode[code] in vsock.explain(code)


class FakeNetlink:
    """A netlink socket that answers with recorded buffers (or raises)."""

    def __init__(self, buffers=(), error=None):
        self.buffers, self.error, self.sent, self.closed = list(buffers), error, [], False

    def settimeout(self, seconds):
        pass

    def sendto(self, data, address):
        self.sent.append(data)

    def recv(self, size):
        if self.error is not None:
            raise self.error
        if not self.buffers:
            raise socket.timeout()
        return self.buffers.pop(0)

    def close(self):
        self.closed = True


def test_dump_never_raises():
    fake = FakeNetlink([LISTENER, CONNECTED + DONE])
    records, why = vsock.dump(open_netlink=lambda: fake)
    assert why is None and [r["socket_inode"] for r in records] == [51001, 51002]
    assert fake.sent == [vsock.request()] and fake.closed
    assert vsock.dump(open_netlink=lambda: FakeNetlink([NO_VSOCK_DIAG])) == \
        ([], "the kernel has no vsock_diag (ENOENT)")

    def no_netlink():
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported")
    records, why = vsock.dump(open_netlink=no_netlink)
    assert records == [] and "EAFNOSUPPORT" in why
    assert "no answer" in vsock.dump(open_netlink=lambda: FakeNetlink([LISTENER]))[1]
    assert "EPERM" in vsock.dump(open_netlink=lambda: FakeNetlink(
        error=OSError(errno.EPERM, "no")))[1]


PROTOCOLS = ("protocol  size sockets  memory press maxhdr  slab module     cl co di\n"
             "AF_VSOCK  1240      0      -1   NI       0   yes  kernel      y  n  n\n"
             "RAW       1152      0      -1   NI       0   yes  kernel      y  y  y\n")
RAW_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
              "timeout inode ref pointer drops\n")
RAW_ROW = (" %d: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0"
           "        0 %d 2 0000000000000000 0\n")


def _process(root, pid, exe, inodes, netns=None):
    base = root / str(pid)
    (base / "fd").mkdir(parents=True)
    (base / "stat").write_text("%d (%s) S 1" % (pid, os.path.basename(exe)) + " 0" * 17 + " 5 0 0")
    (base / "cmdline").write_bytes(exe.encode() + b"\0")
    (base / "status").write_text("Uid:\t0\t0\t0\t0\n")
    os.symlink(exe, str(base / "exe"))
    for fd, inode in enumerate(inodes, start=3):
        os.symlink("socket:[%d]" % inode, str(base / "fd" / str(fd)))
    if netns is not None:
        (base / "ns").mkdir()
        os.link(str(netns), str(base / "ns" / "net"))   # same file = same namespace inode


def _fake_host(tmp_path):
    """A host with AF_VSOCK, a VMCI backdoor (pid 40) and vmtoolsd (pid 41) on vsock, and a
    container (pid 50, its own network namespace) holding a raw socket in its own table."""
    root = tmp_path / "proc"
    (root / "net").mkdir(parents=True)
    (root / "net" / "protocols").write_text(PROTOCOLS)
    (root / "net" / "raw").write_text(RAW_HEADER)
    (root / "stat").write_text("btime 1700000000\n")
    host_ns, container_ns = tmp_path / "ns_host", tmp_path / "ns_container"
    host_ns.write_text("")
    container_ns.write_text("")
    (root / "self" / "ns").mkdir(parents=True)
    os.link(str(host_ns), str(root / "self" / "ns" / "net"))
    _process(root, 40, "/tmp/.vmcl/vmsyslogd", [51001], host_ns)
    _process(root, 41, "/usr/bin/vmtoolsd", [51002, 7], host_ns)
    _process(root, 50, "/opt/app/bin/pinger", [52001], container_ns)
    (root / "50" / "net").mkdir()
    (root / "50" / "net" / "raw").write_text(RAW_HEADER + RAW_ROW % (1, 52001))
    _process(root, 51, "/opt/app/bin/pinger", [52001], container_ns)   # same namespace
    dpkg = tmp_path / "dpkg" / "info"
    dpkg.mkdir(parents=True)
    (dpkg / "open-vm-tools.list").write_text("/.\n/usr\n/usr/bin\n/usr/bin/vmtoolsd\n")
    (dpkg / "iputils-ping.list").write_text("/bin/ping\n")
    return root, host_ns.stat().st_ino, container_ns.stat().st_ino


def test_vsock_from_netlink_and_container_sockets(tmp_path):
    root, host_ns, container_ns = _fake_host(tmp_path)
    records, _, summary = inventory.take_inventory(
        inventory.parse_settings({}), str(root), now=1700000100.0,
        vsock_dump=lambda: vsock.parse_replies(LISTENER + CONNECTED + DONE)[:1] + (None,),
        dpkg_root=str(tmp_path / "dpkg"))
    got = {(r["socket_inode"], r.get("process_id")): r for r in records}
    assert set(got) == {(51001, 40), (51002, 41), (52001, 50), (52001, 51)}
    backdoor = got[(51001, 40)]
    assert backdoor["state"] == "listen" and backdoor["local_port"] == 18098
    assert backdoor["process_path"] == "/tmp/.vmcl/vmsyslogd" and "process_package" not in backdoor
    assert got[(51002, 41)]["process_package"] == "open-vm-tools"
    assert got[(51002, 41)]["remote_cid_name"] == "host"
    # The container's raw socket is read from its own namespace's table, once.
    assert got[(52001, 50)]["netns"] == container_ns and got[(52001, 50)]["table"] == "raw"
    assert backdoor["netns"] == host_ns
    assert summary["vsock"] == "vsock_diag" and summary["namespaces"] == 2
    assert summary["package_index"] == "dpkg"


def test_vsock_without_vsock_diag_is_found_by_protocol_name(tmp_path):
    root, _, _ = _fake_host(tmp_path)
    asked = []

    def protocol_name(fd_path):       # what system.sockprotoname answers on the real /proc
        asked.append(fd_path)
        return "AF_VSOCK" if os.readlink(fd_path) in ("socket:[51001]", "socket:[51002]") \
            else "TCP"
    records, _, summary = inventory.take_inventory(
        inventory.parse_settings({}), str(root), now=1.0,
        vsock_dump=lambda: ([], "the kernel has no vsock_diag (ENOENT)"),
        sniff_protocol=protocol_name, dpkg_root=str(tmp_path / "none"))
    vsocks = sorted((r["socket_inode"], r["process_id"], r["vsock_source"])
                    for r in records if r["transport"] == "vsock")
    # Socket 7 of vmtoolsd answers "TCP" and is not reported; the table's socket not asked.
    assert vsocks == [(51001, 40, "sockprotoname"), (51002, 41, "sockprotoname")]
    assert summary["vsock"] == "sockprotoname (the kernel has no vsock_diag (ENOENT))"
    assert not any(path.endswith("/50/fd/3") for path in asked)
    assert summary["package_index"] == "none" and "process_package" not in records[0]
    # A kernel without AF_VSOCK at all: no netlink question, no sniffing.
    (root / "net" / "protocols").write_text(PROTOCOLS.replace("AF_VSOCK", "AF_OTHER"))
    records, _, summary = inventory.take_inventory(
        inventory.parse_settings({}), str(root), now=1.0,
        vsock_dump=lambda: pytest.fail("asked the kernel"), sniff_protocol=protocol_name)
    assert summary["vsock"].startswith("none") and {r["transport"] for r in records} == {"raw"}


def test_package_owner_lookup(tmp_path):
    _fake_host(tmp_path)
    owners = packages.PackageOwners(str(tmp_path / "dpkg"))
    # /usr-merged: the program runs as /usr/bin/ping, the package lists /bin/ping.
    assert owners.owners({"/usr/bin/ping", "/usr/bin/vmtoolsd", "/tmp/x",
                          "/usr/bin/vmtoolsd (deleted)"}) == \
        {"/usr/bin/ping": "iputils-ping", "/usr/bin/vmtoolsd": "open-vm-tools"}
    assert packages.PackageOwners(str(tmp_path / "absent")).owners({"/usr/bin/ping"}) == {}
    assert packages.path_variants("/sbin/x") == ["/sbin/x", "/usr/sbin/x"]


# -- real sockets on this machine -----------------------------------------------------

VSOCK_HOLDER = r"""
import os, socket, sys
s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
s.bind((socket.VMADDR_CID_ANY, socket.VMADDR_PORT_ANY))
s.listen(1)
print(os.fstat(s.fileno()).st_ino, s.getsockname()[1], flush=True)
sys.stdin.read()
"""


def _vsock_allowed():
    try:
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        s.bind((socket.VMADDR_CID_ANY, socket.VMADDR_PORT_ANY))
        s.close()
        return True
    except (OSError, AttributeError):
        return False


def _definition(checkpoints):
    return ("<input><server_host>test</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
            "<session_key>k</session_key><checkpoint_dir>%s</checkpoint_dir><configuration>"
            '<stanza name="c2sockets://host"></stanza></configuration></input>'
            % checkpoints).encode()


def _records(xml_bytes):
    return [json.loads(e.findtext("data")) for e in ET.fromstring(xml_bytes).iter("event")]


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _vsock_allowed(),
                    reason="this kernel does not let us bind a vsock socket")
def test_real_vsock_socket_is_reported(splunk_python, app_dir, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", VSOCK_HOLDER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        inode, port = (int(x) for x in holder.stdout.readline().split())
        result = run_script(splunk_python, app_dir / "bin" / "c2sockets.py",
                            _definition(tmp_path / "ck"), timeout=120)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    mine = [r for r in _records(result.stdout) if r["socket_inode"] == inode]
    assert len(mine) == 1, result.stderr
    record = mine[0]
    assert record["transport"] == "vsock" and record["process_id"] == holder.pid
    assert record["process_path"] == os.path.realpath(sys.executable)
    summary = re.search(rb"'vsock': '([^']*)'|\"vsock\": \"([^\"]*)\"", result.stderr)
    assert summary, result.stderr
    if record.get("vsock_source") == "sockprotoname":       # kernel without vsock_diag
        assert b"ENOENT" in result.stderr or b"vsock_diag" in result.stderr
    else:                                                    # vsock_diag answered
        assert record["state"] == "listen" and record["local_port"] == port


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0
                    or shutil.which("unshare") is None, reason="needs Linux, root and unshare")
def test_real_raw_socket_in_another_network_namespace(tmp_path):
    holder_code = ("import os, socket, sys\n"
                   "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
                   "print(os.fstat(s.fileno()).st_ino, flush=True)\nsys.stdin.read()\n")
    holder = subprocess.Popen(["unshare", "--net", sys.executable, "-c", holder_code],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        line = holder.stdout.readline()
        if not line:
            pytest.skip("unshare --net is not permitted here: %s" % holder.stderr.read()[:200])
        inode = int(line)
        with open("/proc/net/raw") as f:
            assert str(inode) not in f.read()        # not in the host's table
        records, _, summary = inventory.take_inventory(inventory.parse_settings({}))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    mine = [r for r in records if r["socket_inode"] == inode]
    assert len(mine) == 1 and mine[0]["process_id"] == holder.pid     # unshare execs python
    assert mine[0]["netns"] != os.stat("/proc/self/ns/net").st_ino
    assert mine[0]["ip_protocol_name"] == "icmp" and summary["namespaces"] >= 2


def test_offline_reader_ports_and_eventtypes(tmp_path):
    """dest_port only where the local port is a port (props.conf EVAL-dest_port), and the
    listener eventtype carries the Endpoint.Ports tags."""
    from c2hunt_offline import run_search
    root, _, _ = _fake_host(tmp_path)
    records, _, _ = inventory.take_inventory(
        inventory.parse_settings({}), str(root), now=1700000100.0,
        vsock_dump=lambda: vsock.parse_replies(LISTENER + DONE)[:1] + (None,))
    (tmp_path / "s.json").write_text("\n".join(inventory.format_event(dict(r, host="h"))
                                               for r in records) + "\n")
    rows = run_search('search sourcetype="c2hunt:socket" | eval p=coalesce(dest_port, "none") '
                      '| stats values(p) AS p by transport', [str(tmp_path / "s.json")])
    assert {r["transport"]: r["p"] for r in rows} == {"raw": "none", "vsock": "18098"}
    from pathlib import Path
    default = Path(__file__).resolve().parents[2] / "default"
    props = (default / "props.conf").read_text()
    assert 'EVAL-dest_port = if(transport=="tcp" OR transport=="udp" OR transport=="vsock"' in props
    tags = (default / "tags.conf").read_text()
    assert "[eventtype=c2hunt_socket_listener]\nlistening = enabled\nport = enabled" in tags


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                    reason="raw sockets need Linux and root")
def test_real_socket_keeps_first_seen_across_passes(tmp_path):
    code = ("import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_RAW, "
            "socket.IPPROTO_ICMP)\nprint(s.fileno(), flush=True)\nsys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    passes, logged = [], []
    try:
        holder.stdout.readline()
        for now in (1800000000.0, 1800000060.0):
            written = []
            inventory.collect("c2sockets://t", inventory.parse_settings({}), str(tmp_path),
                              written.extend, lambda *m: logged.append(m), now=now)
            passes.append([r for r in written if r.get("process_id") == holder.pid])
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    first, second = passes
    assert len(first) == len(second) == 1
    assert first[0]["socket_id"] == second[0]["socket_id"]
    assert second[0]["first_seen"] == 1800000000.0 and second[0]["last_seen"] == 1800000060.0


def test_caps_are_logged_and_bound_the_vsock_walk(tmp_path):
    root, _, _ = _fake_host(tmp_path)
    messages, written = [], []
    summary = inventory.collect(
        "c2sockets://t", inventory.parse_settings({"max_sockets": "1", "max_processes": "2"}),
        str(tmp_path / "ck"), written.extend, lambda *m: messages.append(m), proc_root=str(root),
        now=5.0, vsock_dump=lambda: ([], "the kernel has no vsock_diag (ENOENT)"),
        sniff_protocol=lambda path: "AF_VSOCK")
    # Two processes walked (40, 41): their three socket inodes are vsock by this fake; the
    # container (pid 50) is beyond the cap, so its namespace's table is not read either.
    assert summary["processes_visited"] == 2 and summary["process_cap_reached"]
    assert summary["sockets_reported"] == 1 and summary["socket_cap_reached"]
    assert summary["sockets"] == 3 and summary["namespaces"] == 1 and len({r["socket_inode"] for r in written}) == 1
    warnings = [m for m in messages if m[0] == "WARN"]
    assert len(warnings) == 2 and "pass_seconds" in warnings[0][1]
