"""SSH handshake facts from the first payload bytes of a flow (c2hunt:flow, service ssh).

Read from the flow's payload sample, each side's byte stream on its own (the sample's pieces
say who sent what): ``ssh_client_banner`` and ``ssh_server_banner`` (the identification
strings the TCP initiator and the TCP responder sent, as Zeek's ssh.log ``client`` and
``server`` for a normal session) and ``ssh_roles``: ``normal`` when the TCP initiator acts as
the SSH client in the key exchange, ``reversed`` when the TCP responder does.

Why the roles: the SSH client sends the key-exchange init (KEXDH_INIT / KEX_ECDH_INIT 30,
GEX_REQUEST 34, GEX_INIT 32) and the server answers with its host key (31, 33). In a reverse
SSH tunnel (reverse_ssh, implants that dial out and then serve SSH to their operator) the
host that opened the TCP connection is the SSH *server*: the operator's client rides a
connection the implant made, past the firewall. Zeek reports the same inversion ("ECC INIT
not from the TCP client", scripts/base/protocols/ssh). Key-exchange packets are in clear
text; the walk stops at NEWKEYS (21), at the end of the sample, or at the first length that
is not a plausible SSH packet, and returns what it has, never an error.
"""
import struct

__all__ = ["handshake_fields", "SSH_FIELDS"]

#: Fields this module can add to a flow record, in output order.
SSH_FIELDS = ("ssh_client_banner", "ssh_server_banner", "ssh_roles")

_CLIENT_KEX = frozenset((30, 32, 34))     # sent by the SSH client only
_SERVER_KEX = frozenset((31, 33))         # sent by the SSH server only
_NEWKEYS = 21
_MAX_PACKET = 35000                       # RFC 4253 section 6.1
_MAX_BANNER = 255


def _streams(sample, pieces):
    """(bytes the initiator sent, bytes the responder sent) of the sample. A piece that
    repeats the same side's previous piece is left out: the same segment captured twice (a
    SPAN port mirroring both directions of a link) or sent again (a TCP retransmission);
    no two handshake packets of one side are the same bytes."""
    sides = {True: [], False: []}
    position = 0
    for length in pieces:
        size = abs(length)
        piece = sample[position:position + size]
        position += size
        side = sides[length > 0]
        if not side or side[-1] != piece:
            side.append(piece)
    return b"".join(sides[True]), b"".join(sides[False])


def _banner_and_messages(stream):
    """The identification string of one side and the message types of its clear-text
    packets (up to NEWKEYS)."""
    banner, position = None, 0
    while position < len(stream):          # a server may send other lines before it
        end = stream.find(b"\n", position, position + _MAX_BANNER + 2)
        if end < 0:
            return banner, []
        line = stream[position:end].rstrip(b"\r")
        position = end + 1
        if line.startswith(b"SSH-"):
            banner = line[:_MAX_BANNER].decode("latin-1")
            break
    if banner is None:
        return None, []
    messages = []
    while position + 6 <= len(stream):
        (length,) = struct.unpack_from(">I", stream, position)
        padding, kind = stream[position + 4], stream[position + 5]
        if not (5 <= length <= _MAX_PACKET) or padding >= length:
            break
        messages.append(kind)
        if kind == _NEWKEYS:
            break
        position += 4 + length
    return banner, messages


def handshake_fields(sample, pieces):
    """The SSH fields of a flow from its payload sample and the sample's pieces (payload
    lengths in capture order, negative for the responder's); {} when no banner is seen."""
    sent, received = _streams(bytes(sample), pieces)
    client_banner, client_messages = _banner_and_messages(sent)
    server_banner, server_messages = _banner_and_messages(received)
    fields = {}
    if client_banner is not None:
        fields["ssh_client_banner"] = client_banner
    if server_banner is not None:
        fields["ssh_server_banner"] = server_banner
    client_side = set(client_messages)
    server_side = set(server_messages)
    if client_side & _CLIENT_KEX or server_side & _SERVER_KEX:
        fields["ssh_roles"] = "normal"
    elif server_side & _CLIENT_KEX or client_side & _SERVER_KEX:
        fields["ssh_roles"] = "reversed"
    return fields
