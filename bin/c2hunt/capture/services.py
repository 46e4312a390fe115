"""Which application protocol a flow carries, from the first payload bytes of each direction.

Zeek's conn.log names the protocol it recognised in ``service`` (dns, http, ssl, ssh,
socks, smb, ...) whatever the port; AN1258 compares that name with the ports the protocol
is expected on (lookups/c2hunt_known_service_ports.csv). c2hunt:flow records carry the same
field, from a few cheap byte tests on the first payload the initiator sent (``client``)
and the first the responder sent (``server``). A test must hold on the bytes alone: the
port is never used, since a protocol on the wrong port is what the search looks for.

The tests are deliberately narrow (a protocol's fixed opening bytes, not heuristics), so an
unrecognised flow has no ``service`` rather than a wrong one. Names follow Zeek.
"""
from c2hunt.capture import dns_wire

__all__ = ["identify_service", "socks_auth", "FIRST_BYTES"]

#: Bytes of the first payload of each direction kept per flow for the tests.
FIRST_BYTES = 280      # room for a DNS header and the longest question name

_HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ",
                 b"PATCH ", b"TRACE ", b"PROPFIND ")


def _tls(data):
    # TLS record: handshake (22), version 3.x, then a ClientHello (1) or ServerHello (2).
    return (len(data) >= 6 and data[0] == 0x16 and data[1] == 3 and data[2] <= 4
            and data[5] in (1, 2))


def _smb(data):
    # NetBIOS session message (type 0, 17-bit length) around an SMB1/2/3 header.
    return (len(data) >= 8 and data[0] == 0 and data[4:8] in (b"\xffSMB", b"\xfeSMB",
                                                               b"\xfdSMB"))


def _socks(client, server):
    if len(client) >= 3 and client[0] == 5 and 1 <= client[1] <= 16 and len(client) == 2 + client[1]:
        # SOCKS5 greeting: version, number of methods, the methods; reply: version, method.
        return not server or (len(server) == 2 and server[0] == 5
                              and server[1] in (0, 1, 2, 3, 0xFF))
    if len(client) >= 9 and client[0] == 4 and client[1] in (1, 2) and client[-1] == 0:
        # SOCKS4/4a request: version, command, port, address, user id ending in NUL.
        return not server or (len(server) >= 2 and server[0] == 0 and 0x5A <= server[1] <= 0x5D)
    return False


# SOCKS5 authentication methods (RFC 1928 section 3) by the code the server selects.
_SOCKS5_METHODS = {0: "none", 1: "gssapi", 2: "username_password"}


def socks_auth(client, server):
    """The authentication method a SOCKS5 server chose (``"none"``, ``"gssapi"``,
    ``"username_password"``), or None when the flow is not a SOCKS5 exchange or the server's
    method-selection reply was not seen. A proxy that asks for a password is one somebody set
    up on purpose: a sanctioned corporate proxy (listed in c2hunt_sanctioned_proxies) or an
    implant's relay."""
    if len(server) != 2 or server[0] != 5 or not _socks(client, server) or client[0] != 5:
        return None
    return _SOCKS5_METHODS.get(server[1])


# IP protocols an encapsulated packet plausibly carries (ICMP, IGMP, TCP, UDP, GRE, ESP,
# ICMPv6, no next header, IPv6 extension headers).
_INNER_PROTOCOLS = frozenset((0, 1, 2, 6, 17, 43, 44, 47, 50, 58, 59, 60))


def _ip_at(data, offset, version=None):
    """An IPv4 or IPv6 header starts at ``offset`` (version, header length, protocol)."""
    if offset < 0 or len(data) < offset + 20:
        return False
    first = data[offset]
    if first >> 4 == 4 and version in (None, 4):
        return (first & 0x0F) >= 5 and data[offset + 9] in _INNER_PROTOCOLS
    if first >> 4 == 6 and version in (None, 6):
        return len(data) >= offset + 40 and data[offset + 6] in _INNER_PROTOCOLS
    return False


def _udp_tunnel(data):
    """Zeek's name of the IP-in-UDP tunnel ``data`` (one datagram's start) belongs to, or None.

    The payload of these is a whole IP packet (or Ethernet frame) behind a small header, so
    its entropy is that of the inner traffic, not a tell.
    """
    if len(data) < 28:
        return None
    if data[0] & 0xF0 == 0x30 and data[1] == 0xFF:        # GTPv1-U G-PDU (3GPP TS 29.281)
        if _ip_at(data, 12 if data[0] & 0x07 else 8):
            return "gtpv1"
    if data[0] & 0x08 and data[1:4] == b"\0\0\0" and data[7] == 0 and len(data) >= 22 \
            and data[20:22] in (b"\x08\x00", b"\x86\xdd", b"\x08\x06", b"\x81\x00"):
        return "vxlan"                                     # RFC 7348: flags, VNI, Ethernet
    if data[3] in (4, 41) and data[2] & 0x0F == 1:        # AYIYA forward: IP after the header
        if _ip_at(data, 8 + (1 << (data[0] >> 4)) + 4 * (data[1] >> 4)):
            return "ayiya"
    offset = 0                                             # Teredo (RFC 4380): IPv6 after
    if data[0:2] == b"\0\x01":                           # an optional authentication header
        offset = 4 + data[2] + data[3] + 9
    if data[offset:offset + 2] == b"\0\0":               # and an optional origin indication
        offset += 8
    if _ip_at(data, offset, version=6) and any(
            data[offset + at:offset + at + len(prefix)] == prefix
            for at in (8, 24) for prefix in (b"\x20\x01\0\0", b"\xfe\x80")):
        return "teredo"                                    # a Teredo (2001::/32) or link-local end
    return None


def identify_service(client, server, transport):
    """Zeek-style service name of a flow, or None.

    Parameters
    ----------
    client, server : bytes
        The first bytes (up to ``FIRST_BYTES``) of the first payload each side sent;
        empty when that side sent none.
    transport : str
        ``"tcp"``, ``"udp"`` or another transport name (no service then).

    Returns
    -------
    str or None
    """
    if transport == "udp":
        if client and dns_wire.looks_like_dns(client, len(client) < FIRST_BYTES):
            return "dns"
        if not client and server and dns_wire.looks_like_dns(server, len(server) < FIRST_BYTES):
            return "dns"
        if (len(client) == 48 and client[0] & 0x07 == 3 and 3 <= (client[0] >> 3) & 7 <= 4
                and (not server or (len(server) >= 48 and server[0] & 0x07 == 4))):
            return "ntp"
        return _udp_tunnel(client or server)
    if transport != "tcp" or not (client or server):
        return None
    if client.startswith(b"SSH-") or server.startswith(b"SSH-"):
        return "ssh"
    if _tls(client) or (not client and _tls(server)):
        return "ssl"
    if client.startswith(_HTTP_METHODS) or server.startswith(b"HTTP/1."):
        return "http"
    if _smb(client) or _smb(server):
        return "smb"
    if _socks(client, server):
        return "socks"
    if len(client) >= 7 and client[0] == 3 and client[1] == 0 and client[5] == 0xE0:
        return "rdp"       # TPKT + X.224 connection request
    if server.startswith(b"220"):
        head = client[:5].upper()
        if head.startswith((b"EHLO", b"HELO")):
            return "smtp"
        if head.startswith((b"USER", b"AUTH", b"FEAT", b"SYST", b"OPTS")):
            return "ftp"
    if client.startswith((b"NICK ", b"CAP LS", b"PASS ")) and b"\r\n" in client:
        return "irc"
    if len(client) >= 19 and (client[0] << 8 | client[1]) == len(client) - 2 \
            or len(client) == FIRST_BYTES:
        if dns_wire.looks_like_dns(client[2:], len(client) < FIRST_BYTES):
            return "dns"   # DNS over TCP: 2-byte length prefix, then the message
    return None
