"""vsock (VMCI on VMware, virtio-vsock on KVM/Firecracker, hv_sock on Hyper-V) sockets.

The kernel lists them only through the sock_diag netlink family (the vsock_diag module,
what ``ss --vsock`` asks too): there is no /proc/net/vsock table. The request and the
reply parser are pure (bytes in, records out) so kernels with and without vsock_diag are
tested from recorded replies; ``dump`` does the one netlink round trip. Where the kernel has
no vsock_diag (ENOENT), the fd walk can still tell a vsock socket by the socket inode's
``system.sockprotoname`` attribute ("AF_VSOCK"): ``socket_protocol_name`` reads it.

``ss --vsock`` is not used as a fallback: it sends this same netlink request, so it fails
exactly where ``dump`` does, and would cost a process start per pass.
"""
import errno
import os
import socket
import struct

AF_VSOCK = 40
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
_NLMSGHDR = struct.Struct("=IHHII")                # len, type, flags, seq, pid
_VSOCK_DIAG_REQ = struct.Struct("=BBHIII2I")       # family, protocol, pad, states, ino, show, cookie
_VSOCK_DIAG_MSG = struct.Struct("=BBBBIIIII2I")    # family, type, state, shutdown, src cid/port,
#                                                    dst cid/port, inode, cookie
ALL_STATES = 0xFFFFFFFF
VMADDR_ANY = 0xFFFFFFFF
# include/uapi/linux/vm_sockets.h: well-known context ids.
CID_NAMES = {0: "hypervisor", 1: "local", 2: "host", VMADDR_ANY: "any"}
# vsock reuses the TCP state numbers (net/vmw_vsock/af_vsock.c).
STATE_NAMES = {1: "established", 2: "syn_sent", 7: "close", 10: "listen", 11: "closing"}
SOCKET_TYPE_NAMES = {1: "stream", 2: "dgram", 5: "seqpacket"}
# What a failed dump means, for the pass summary: a message, never an exception.
ERROR_MEANINGS = {errno.ENOENT: "the kernel has no vsock_diag",
                  errno.EPROTONOSUPPORT: "the kernel has no sock_diag netlink",
                  errno.EAFNOSUPPORT: "the kernel has no netlink or vsock",
                  errno.EINVAL: "the kernel refused the vsock_diag request",
                  errno.EPERM: "not permitted to read socket diagnostics",
                  errno.EACCES: "not permitted to read socket diagnostics"}


def request(seq=1):
    """The SOCK_DIAG_BY_FAMILY dump request for every vsock socket in every state."""
    body = _VSOCK_DIAG_REQ.pack(AF_VSOCK, 0, 0, ALL_STATES, 0, 0, VMADDR_ANY, VMADDR_ANY)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY,
                          NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def _endpoint(cid, port):
    return {"cid": cid if cid != VMADDR_ANY else -1, "cid_name": CID_NAMES.get(cid, "guest"),
            "port": port if port != VMADDR_ANY else -1}


def record_of(message):
    """One vsock_diag_msg (bytes) as a socket record, or None when it does not parse."""
    try:
        (family, sock_type, state, _shutdown, src_cid, src_port, dst_cid, dst_port, inode,
         _c0, _c1) = _VSOCK_DIAG_MSG.unpack_from(message)
    except struct.error:
        return None
    if family != AF_VSOCK or not inode:
        return None
    local, remote = _endpoint(src_cid, src_port), _endpoint(dst_cid, dst_port)
    return {"table": "vsock", "transport": "vsock", "family": "vsock",
            "socket_type": SOCKET_TYPE_NAMES.get(sock_type, str(sock_type)),
            "state": STATE_NAMES.get(state, str(state)),
            "local_cid": local["cid"], "local_cid_name": local["cid_name"],
            "local_port": local["port"], "remote_cid": remote["cid"],
            "remote_cid_name": remote["cid_name"], "remote_port": remote["port"],
            "socket_inode": inode}


def parse_replies(data, seq=1):
    """(records, errno or None, done) from one buffer of netlink replies to ``request(seq)``.

    Messages of another sequence number are ignored; a truncated message ends the parse.
    errno is positive (the kernel sends it negated); done is True at NLMSG_DONE or an error.
    """
    records, offset = [], 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, message_seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            break
        body = data[offset + _NLMSGHDR.size:offset + length]
        offset += (length + 3) & ~3
        if message_seq != seq:
            continue
        if kind == NLMSG_DONE:
            return records, None, True
        if kind == NLMSG_ERROR:
            code = struct.unpack_from("=i", body)[0] if len(body) >= 4 else -errno.EIO
            if code == 0:          # an acknowledgement, not an error
                continue
            return records, -code, True
        if kind == SOCK_DIAG_BY_FAMILY:
            record = record_of(body)
            if record is not None:
                records.append(record)
    return records, None, False


def explain(code):
    return "%s (%s)" % (ERROR_MEANINGS.get(code, os.strerror(code)),
                        errno.errorcode.get(code, str(code)))


def dump(timeout=2.0, max_replies=10000, open_netlink=None):
    """(records, None) from the kernel, or ([], why) when it cannot say (never raises).

    ``open_netlink`` makes the netlink socket (tests pass a fake); the socket is a
    NETLINK_SOCK_DIAG one, never a vsock socket.
    """
    try:
        sock = (open_netlink or _open_netlink)()
    except OSError as error:
        return [], "netlink: " + explain(error.errno or errno.EIO)
    records = []
    try:
        sock.settimeout(timeout)
        sock.sendto(request(), (0, 0))
        for _ in range(max_replies):
            records_part, code, done = parse_replies(sock.recv(1 << 16))
            records += records_part
            if code is not None:
                return records, explain(code)
            if done:
                return records, None
        return records, "vsock_diag: reply cut after %d messages" % max_replies
    except socket.timeout:
        return records, "vsock_diag: no answer within %.0f s" % timeout
    except OSError as error:
        return records, "vsock_diag: " + explain(error.errno or errno.EIO)
    finally:
        sock.close()


def _open_netlink():
    return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)


def registered(proc_root="/proc"):
    """True when the kernel has the AF_VSOCK family (a row of /proc/net/protocols)."""
    try:
        with open(os.path.join(proc_root, "net", "protocols"), encoding="ascii",
                  errors="replace") as f:
            return any(line.split()[:1] == ["AF_VSOCK"] for line in f)
    except OSError:
        return False


def socket_protocol_name(fd_path):
    """The protocol of the socket behind /proc/<pid>/fd/<n> ("AF_VSOCK", "TCP" ...), or None."""
    try:
        return os.getxattr(fd_path, "system.sockprotoname").rstrip(b"\0").decode("ascii", "replace")
    except (OSError, AttributeError):
        return None
