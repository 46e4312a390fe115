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

__all__ = ["identify_service", "FIRST_BYTES"]

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
        return None
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
