"""Parsers for the kernel's socket tables under /proc/net (pure: text in, records out).

Every table row becomes a dict; a row that does not parse is skipped, never raised on, so
a kernel with an extra column or a truncated read costs that row only.
"""
import socket
import struct

# /proc/net/<table> -> (transport, family). raw and icmp rows share the inet layout.
INET_TABLES = {
    "raw": ("raw", "ipv4"), "raw6": ("raw", "ipv6"),
    "icmp": ("icmp", "ipv4"), "icmp6": ("icmp", "ipv6"),
    "tcp": ("tcp", "ipv4"), "tcp6": ("tcp", "ipv6"),
    "udp": ("udp", "ipv4"), "udp6": ("udp", "ipv6"),
}
ALWAYS_TABLES = ("raw", "raw6", "icmp", "icmp6")
LISTENER_TABLES = ("tcp", "tcp6", "udp", "udp6")

TCP_LISTEN = 0x0A
# include/net/tcp_states.h; raw/icmp/udp sockets use the same numbers (7 = CLOSE: unconnected).
STATE_NAMES = {1: "established", 2: "syn_sent", 3: "syn_recv", 4: "fin_wait1",
               5: "fin_wait2", 6: "time_wait", 7: "close", 8: "close_wait", 9: "last_ack",
               10: "listen", 11: "closing", 12: "new_syn_recv"}
# IP protocol numbers a raw socket is commonly opened for (its "local port" in the table).
IP_PROTOCOL_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp",
                     58: "ipv6-icmp", 89: "ospf", 103: "pim", 112: "vrrp", 255: "raw"}
# include/linux/net.h socket types; packet sockets are SOCK_RAW (3) or SOCK_DGRAM (2).
SOCKET_TYPE_NAMES = {1: "stream", 2: "dgram", 3: "raw", 5: "seqpacket"}
ETHERTYPE_NAMES = {0x0003: "all", 0x0800: "ipv4", 0x0806: "arp", 0x86DD: "ipv6",
                   0x8100: "vlan", 0x888E: "eapol", 0x88CC: "lldp"}


def _address(hex_address, family):
    """'0100007F:0035' -> ('127.0.0.1', 53). The kernel prints each 32-bit word in host order."""
    host, _, port = hex_address.partition(":")
    words = [int(host[i:i + 8], 16) for i in range(0, len(host), 8)]
    if family == "ipv4" and len(words) == 1:
        ip = socket.inet_ntop(socket.AF_INET, struct.pack("=I", words[0]))
    elif family == "ipv6" and len(words) == 4:
        ip = socket.inet_ntop(socket.AF_INET6, struct.pack("=4I", *words))
    else:
        raise ValueError("bad address %r" % hex_address)
    return ip, int(port, 16)


def parse_inet_table(text, table):
    """Rows of /proc/net/{raw,raw6,icmp,icmp6,tcp,tcp6,udp,udp6} as records."""
    transport, family = INET_TABLES[table]
    records = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        try:
            local_ip, local_port = _address(fields[1], family)
            remote_ip, remote_port = _address(fields[2], family)
            state = int(fields[3], 16)
            uid, inode = int(fields[7]), int(fields[9])
        except (IndexError, ValueError):
            continue
        record = {"table": table, "transport": transport, "family": family,
                  "socket_type": {"raw": "raw", "icmp": "dgram", "tcp": "stream",
                                  "udp": "dgram"}[transport],
                  "local_ip": local_ip, "local_port": local_port,
                  "remote_ip": remote_ip, "remote_port": remote_port,
                  "state": STATE_NAMES.get(state, str(state)), "socket_uid": uid,
                  "socket_inode": inode}
        if transport == "raw":      # a raw socket's "port" is the IP protocol it receives
            record["ip_protocol"] = local_port
            record["ip_protocol_name"] = IP_PROTOCOL_NAMES.get(local_port, str(local_port))
        records.append(record)
    return records


def is_listener(record):
    """A TCP socket in LISTEN, or a UDP socket bound but not connected."""
    if record["transport"] == "tcp":
        return record["state"] == STATE_NAMES[TCP_LISTEN]
    if record["transport"] == "udp":
        return record["remote_port"] == 0 and record["local_port"] != 0
    return True


def parse_packet_table(text):
    """Rows of /proc/net/packet: sk RefCnt Type Proto Iface R Rmem User Inode."""
    records = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        try:
            sock_type, ethertype = int(fields[2]), int(fields[3], 16)
            ifindex, uid, inode = int(fields[4]), int(fields[7]), int(fields[8])
        except (IndexError, ValueError):
            continue
        records.append({"table": "packet", "transport": "packet", "family": "packet",
                        "socket_type": SOCKET_TYPE_NAMES.get(sock_type, str(sock_type)),
                        "ethertype": "0x%04x" % ethertype,
                        "ethertype_name": ETHERTYPE_NAMES.get(ethertype, "other"),
                        "interface_index": ifindex, "socket_uid": uid,
                        "socket_inode": inode})
    return records


def read_sockets(proc_root="/proc", listeners=False):
    """(records, tables read) from the socket tables this kernel has; missing ones are skipped."""
    tables = ALWAYS_TABLES + (LISTENER_TABLES if listeners else ())
    records, read = [], []
    for table in tables + ("packet",):
        try:
            with open("%s/net/%s" % (proc_root, table), encoding="ascii", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        read.append(table)
        if table == "packet":
            records += parse_packet_table(text)
        else:
            records += [r for r in parse_inet_table(text, table)
                        if table not in LISTENER_TABLES or is_listener(r)]
    return [r for r in records if r["socket_inode"]], read
