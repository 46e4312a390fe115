"""Linux auditd text (raw audit.log or ``ausearch --raw``): one event per audit serial."""
import ipaddress
import re
import struct

from .common import ReadIssue, path_basename, put

AUDIT_SOURCETYPE = "linux:audit"

AUDIT_HEAD = re.compile(r"^(?:node=(?P<node>\S+)\s+)?type=(?P<type>\S+)\s+msg=audit\((?P<ts>[\d.]+):(?P<serial>\d+)\):\s?(?P<body>.*)$")
_AUDIT_KV = re.compile(r"""([A-Za-z_][\w-]*)=("[^"]*"|'[^']*'|\{[^}]*\}|\S*)""")

SYSCALLS = {
    "x86_64": {"41": "socket", "42": "connect", "43": "accept", "44": "sendto", "45": "recvfrom",
               "46": "sendmsg", "47": "recvmsg", "49": "bind", "50": "listen", "59": "execve",
               "288": "accept4", "322": "execveat", "2": "open", "257": "openat"},
    "aarch64": {"198": "socket", "203": "connect", "202": "accept", "206": "sendto",
                "207": "recvfrom", "211": "sendmsg", "200": "bind", "201": "listen",
                "221": "execve", "242": "accept4", "281": "execveat", "56": "openat"},
}
_ARCH = {"c000003e": "x86_64", "c00000b7": "aarch64"}
_AF = {2: "AF_INET", 10: "AF_INET6", 17: "AF_PACKET", 1: "AF_UNIX", 16: "AF_NETLINK"}
_SOCK = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
_IPPROTO = {0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP",
            58: "IPPROTO_ICMPV6", 255: "IPPROTO_RAW"}


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _hexdecode(value):
    """auditd writes untrusted strings as hex; decode them, NULs as spaces."""
    if re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", value or ""):
        try:
            return bytes.fromhex(value).replace(b"\x00", b" ").decode("utf-8", "replace").strip()
        except ValueError:
            return value
    return value


def decode_saddr(hexstr):
    """Decode an auditd SOCKADDR ``saddr`` hex string.

    Returns
    -------
    dict
        ``saddr_family`` ('inet', 'inet6', 'local', 'netlink' or the number) and, for
        inet/inet6, ``dest_ip`` and ``dest_port``; empty dict when undecodable.
    """
    try:
        raw = bytes.fromhex(hexstr)
    except ValueError:
        return {}
    if len(raw) < 2:
        return {}
    family = struct.unpack("<H", raw[:2])[0]
    out = {}
    if family == 2 and len(raw) >= 8:
        out["saddr_family"] = "inet"
        out["dest_port"] = str(struct.unpack(">H", raw[2:4])[0])
        out["dest_ip"] = str(ipaddress.IPv4Address(raw[4:8]))
    elif family == 10 and len(raw) >= 24:
        out["saddr_family"] = "inet6"
        out["dest_port"] = str(struct.unpack(">H", raw[2:4])[0])
        out["dest_ip"] = str(ipaddress.IPv6Address(raw[8:24]))
    elif family == 1:
        out["saddr_family"] = "local"
        path = raw[2:].split(b"\x00", 1)[0].decode("utf-8", "replace")
        if path:
            out["saddr_path"] = path
    elif family == 16:
        out["saddr_family"] = "netlink"
    else:
        out["saddr_family"] = str(family)
    return out


def _decode_socket_args(ev):
    try:
        family = int(ev.get("a0", ""), 16)
        stype = int(ev.get("a1", ""), 16) & 0xF  # strip SOCK_NONBLOCK / SOCK_CLOEXEC
        proto = int(ev.get("a2", ""), 16)
    except ValueError:
        return
    ev["socket_family"] = _AF.get(family, str(family))
    ev["socket_type"] = _SOCK.get(stype, str(stype))
    ev["socket_protocol"] = _IPPROTO.get(proto, str(proto))


def _finish_audit(records, path, line):
    """Merge the records of one audit serial into one event."""
    ev = {"sourcetype": AUDIT_SOURCETYPE, "source": str(path), "c2hunt_file": str(path)}
    types = []
    raws = []
    args = {}
    for rtype, ts, serial, node, body, raw in records:
        types.append(rtype)
        raws.append(raw)
        ev["_time"] = float(ts)
        ev["audit_serial"] = serial
        if node:
            ev["node"] = node
        kvs = _AUDIT_KV.findall(body.split("\x1d")[0])
        enriched = body.split("\x1d")[1] if "\x1d" in body else ""
        for key, value in kvs + _AUDIT_KV.findall(enriched):
            value = _unquote(value)
            if rtype == "EXECVE":
                if re.fullmatch(r"a\d+", key):
                    # quoted args are plain text, unquoted ones are hex
                    raw_val = dict(kvs).get(key, "")
                    args[int(key[1:])] = value if raw_val.startswith('"') else _hexdecode(value)
                elif key == "argc":
                    ev["argc"] = value
                continue
            if rtype == "SOCKADDR" and key == "saddr":
                ev["saddr"] = value
                ev.update(decode_saddr(value) if not value.startswith("{") else {})
                continue
            if rtype == "PROCTITLE" and key == "proctitle":
                ev["proctitle"] = value if kvs and dict(kvs).get(key, "").startswith('"') else _hexdecode(value)
                continue
            if rtype == "PATH" and key in ("name", "inode", "mode", "nametype"):
                ev.setdefault("path_" + key, [])
                ev["path_" + key].append(value)
                continue
            if rtype == "CWD" and key == "cwd":
                ev["cwd"] = value
                continue
            if key == "msg":
                continue
            if rtype != "SYSCALL" and key in ev:
                continue  # SYSCALL's keys win over the same name in later records
            ev[key] = value
    ev["type"] = types if len(types) > 1 else types[0]
    ev["_raw"] = "\n".join(raws)
    ev["linecount"] = str(len(raws))
    for key in ("path_name", "path_inode", "path_mode", "path_nametype"):
        if key in ev and len(ev[key]) == 1:
            ev[key] = ev[key][0]
    if args:
        argv = [args[i] for i in sorted(args)]
        ev["args"] = argv if len(argv) > 1 else argv[0]
        ev["cmdline"] = " ".join(argv)
    arch = _ARCH.get(ev.get("arch", "").lower(), ev.get("arch"))
    if "syscall" in ev:
        name = SYSCALLS.get(arch, {}).get(ev["syscall"], ev["syscall"] if not ev["syscall"].isdigit() else None)
        put(ev, "syscall_name", name)
        if ev.get("syscall_name") == "socket":
            _decode_socket_args(ev)
    if ev.get("node"):
        ev["host"] = ev["node"]
    exe = ev.get("exe")
    if exe:
        ev["process_path"] = exe
        ev["process_name"] = path_basename(exe)
    put(ev, "process", ev.get("cmdline") or ev.get("proctitle") or exe)
    put(ev, "process_id", ev.get("pid"))
    put(ev, "parent_process_id", ev.get("ppid"))
    put(ev, "user", ev.get("UID") or ev.get("uid"))
    if ev.get("dest_ip"):
        ev["dest"] = ev["dest_ip"]
    if ev.get("syscall_name") in ("connect", "sendto", "sendmsg") and ev.get("dest_ip"):
        ev["tag"] = ["network", "communicate"]
        put(ev, "src", ev.get("node"))
    elif ev.get("syscall_name") in ("execve", "execveat"):
        ev["tag"] = ["process", "report"]
    return ev


def read_auditd(path, lines):
    """auditd text (raw audit.log or ausearch --raw): one event per msg=audit serial."""
    events, issues = [], []
    groups = {}
    order = []
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("----"):
            continue
        m = AUDIT_HEAD.match(line)
        if not m:
            issues.append(ReadIssue(path, n, "not an auditd record (expected 'type=... msg=audit(ts:serial):')"))
            continue
        key = (m.group("node"), m.group("ts"), m.group("serial"))
        if key not in groups:
            groups[key] = (n, [])
            order.append(key)
        groups[key][1].append((m.group("type"), m.group("ts"), m.group("serial"),
                               m.group("node"), m.group("body"), line))
    for key in order:
        first_line, records = groups[key]
        try:
            events.append(_finish_audit(records, path, first_line))
        except Exception as exc:
            issues.append(ReadIssue(path, first_line, "unreadable audit event: %s" % exc))
    return events, issues
