"""SSH banners and key-exchange roles c2flow reads from a flow's sample
(c2hunt.capture.ssh_handshake)."""
import struct

from c2hunt.capture.ssh_handshake import SSH_FIELDS, handshake_fields


def _packet(kind, body=b"\x00" * 20):
    padding = 8 - (len(body) + 1 + 5) % 8 + 4
    return struct.pack(">IBB", 1 + 1 + len(body) + padding, padding, kind) + body + b"\0" * padding


def _sample(*pieces):
    """(sample bytes, signed piece lengths) from (side, bytes) pairs; side "c" = initiator."""
    data = b"".join(chunk for _, chunk in pieces)
    return data, [len(chunk) if side == "c" else -len(chunk) for side, chunk in pieces]


KEXINIT, ECDH_INIT, ECDH_REPLY, NEWKEYS = 20, 30, 31, 21


def test_ordinary_session_is_normal():
    sample, pieces = _sample(("s", b"SSH-2.0-OpenSSH_9.6\r\n"),
                             ("c", b"SSH-2.0-OpenSSH_9.7\r\n" + _packet(KEXINIT)),
                             ("s", _packet(KEXINIT)), ("c", _packet(ECDH_INIT)),
                             ("s", _packet(ECDH_REPLY, b"\x01" * 300) + _packet(NEWKEYS)),
                             ("c", _packet(NEWKEYS) + b"\x8f" * 64))
    fields = handshake_fields(sample, pieces)
    assert fields == {"ssh_client_banner": "SSH-2.0-OpenSSH_9.7",
                      "ssh_server_banner": "SSH-2.0-OpenSSH_9.6", "ssh_roles": "normal"}
    assert list(fields) == list(SSH_FIELDS)


def test_tcp_responder_sending_the_key_exchange_init_is_reversed():
    # reverse SSH: the host that dialled out answers with its host key
    sample, pieces = _sample(("s", b"SSH-2.0-AsyncSSH_2.8.1\r\n"),
                             ("c", b"SSH-2.0-dropbear_2018.76\r\n" + _packet(KEXINIT)),
                             ("s", _packet(KEXINIT) + _packet(ECDH_INIT)),
                             ("c", _packet(ECDH_REPLY, b"\x01" * 300)))
    assert handshake_fields(sample, pieces)["ssh_roles"] == "reversed"


def test_pre_banner_lines_short_and_damaged_samples():
    sample, pieces = _sample(("s", b"Welcome\r\nSSH-2.0-Server\r\n"), ("c", b"SSH-2.0-Client\r\n"))
    assert handshake_fields(sample, pieces) == {"ssh_client_banner": "SSH-2.0-Client",
                                                "ssh_server_banner": "SSH-2.0-Server"}
    assert handshake_fields(b"", []) == {}
    garbage, garbage_pieces = _sample(("c", b"SSH-2.0-x\r\n" + b"\xff" * 40), ("s", b"\x00\x01"))
    assert handshake_fields(garbage, garbage_pieces) == {"ssh_client_banner": "SSH-2.0-x"}


def test_segments_captured_twice_or_resent_are_read_once():
    # a SPAN port mirroring both directions gives every segment twice; a retransmission too
    handshake = [("s", b"SSH-2.0-AsyncSSH_2.8.1\r\n"), ("c", b"SSH-2.0-dropbear_2018.76\r\n"),
                 ("c", _packet(KEXINIT)), ("s", _packet(KEXINIT)), ("s", _packet(ECDH_INIT)),
                 ("c", _packet(ECDH_REPLY, b"\x01" * 300))]
    doubled = [piece for piece in handshake for _ in range(2)]
    assert handshake_fields(*_sample(*doubled)) == handshake_fields(*_sample(*handshake))
    assert handshake_fields(*_sample(*doubled))["ssh_roles"] == "reversed"
