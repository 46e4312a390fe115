"""TLS handshake facts read from a flow's payload sample (bin/c2hunt/tls.py)."""
import calendar
import hashlib
import struct

import pytest

from c2hunt.capture import tls


# -- building handshakes ----------------------------------------------------------------

def _record(kind, payload, version=0x0301):
    return struct.pack(">BHH", kind, version, len(payload)) + payload


def _handshake(message_type, body):
    return struct.pack(">B", message_type) + len(body).to_bytes(3, "big") + body


def _extension(kind, data):
    return struct.pack(">HH", kind, len(data)) + data


def _client_hello(ciphers, extensions, version=0x0303):
    body = struct.pack(">H", version) + b"\x11" * 32 + b"\x00"
    body += struct.pack(">H", 2 * len(ciphers)) + b"".join(struct.pack(">H", c) for c in ciphers)
    body += b"\x01\x00"
    blob = b"".join(extensions)
    return _handshake(1, body + struct.pack(">H", len(blob)) + blob)


def _sni(name):
    entry = b"\x00" + struct.pack(">H", len(name)) + name
    return _extension(0, struct.pack(">H", len(entry)) + entry)


def _groups(groups):
    data = b"".join(struct.pack(">H", g) for g in groups)
    return _extension(10, struct.pack(">H", len(data)) + data)


def _point_formats(formats):
    return _extension(11, bytes([len(formats)]) + bytes(formats))


def _server_hello(cipher, extensions, version=0x0303):
    body = struct.pack(">H", version) + b"\x22" * 32 + b"\x00" + struct.pack(">H", cipher) + b"\x00"
    blob = b"".join(extensions)
    return _handshake(2, body + struct.pack(">H", len(blob)) + blob)


def _der(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([tag, n])
    else:
        size = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([tag, 0x80 | len(size)]) + size
    return head + content


_OIDS = {"CN": b"\x55\x04\x03", "O": b"\x55\x04\x0a", "C": b"\x55\x04\x06", "OU": b"\x55\x04\x0b"}


def _name(pairs):
    """DER Name from (key, value) pairs in DER order (country first, as CAs write them)."""
    return _der(0x30, b"".join(
        _der(0x31, _der(0x30, _der(0x06, _OIDS[k]) + _der(0x0C, v.encode()))) for k, v in pairs))


def _certificate(subject, issuer, not_before="240101000000Z", not_after="250101000000Z",
                 padding=0):
    tbs = (_der(0xA0, _der(0x02, b"\x02")) + _der(0x02, b"\x01\x02\x03")
           + _der(0x30, _der(0x06, b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"))
           + _name(issuer)
           + _der(0x30, _der(0x17, not_before.encode()) + _der(0x17, not_after.encode()))
           + _name(subject) + _der(0x30, b"\x00" * padding))
    return _der(0x30, _der(0x30, tbs) + _der(0x30, b"") + _der(0x03, b"\x00" * 16))


def _certificate_message(*certificates):
    chain = b"".join(len(c).to_bytes(3, "big") + c for c in certificates)
    return _handshake(11, len(chain).to_bytes(3, "big") + chain)


GREASE = 0x0A0A
CLIENT = _client_hello([GREASE, 0xC02F, 0x009C],
                       [_extension(GREASE, b""), _sni(b"c2.example.net"), _groups([GREASE, 29, 23]),
                        _point_formats([0]), _extension(35, b"")])
SERVER = _server_hello(0xC02F, [_extension(0xFF01, b"\x00"), _extension(11, b"\x01\x00")])
LEAF = _certificate([("C", "US"), ("O", "Acme, Inc"), ("CN", "c2.example.net")],
                    [("C", "US"), ("O", "Acme, Inc"), ("CN", "c2.example.net")])


def _session(*server_messages):
    return _record(22, CLIENT) + _record(22, b"".join(server_messages), 0x0303) \
        + _record(20, b"\x01", 0x0303) + _record(23, b"\xAA" * 64, 0x0303)


# -- tests --------------------------------------------------------------------------------

def test_ja3_and_ja3s_follow_the_published_definition():
    fields = tls.handshake_fields(_session(SERVER, _certificate_message(LEAF)))
    # JA3: version,ciphers,extensions,groups,point formats in decimal, GREASE left out.
    ja3 = "771,49199-156,0-10-11-35,29-23,0"
    ja3s = "771,49199,65281-11"
    assert fields["ja3"] == hashlib.md5(ja3.encode()).hexdigest()
    assert fields["ja3s"] == hashlib.md5(ja3s.encode()).hexdigest()
    assert tls.ja3_string(771, [GREASE, 49199, 156], [GREASE, 0, 10, 11, 35], [GREASE, 29, 23],
                          [0]) == ja3
    assert fields["server_name"] == "c2.example.net" and fields["ssl_version"] == "TLSv12"


def test_certificate_names_are_written_as_zeek_writes_them():
    fields = tls.handshake_fields(_session(SERVER, _certificate_message(LEAF)))
    # Last RDN first, commas in values escaped (OpenSSL's RFC 2253 form, as in ssl.log).
    assert fields["subject"] == "CN=c2.example.net,O=Acme\\, Inc,C=US"
    assert fields["issuer"] == fields["subject"]
    assert fields["cert_not_valid_before"] == calendar.timegm((2024, 1, 1, 0, 0, 0))
    assert fields["cert_not_valid_after"] == calendar.timegm((2025, 1, 1, 0, 0, 0))
    assert fields["cert_sha256"] == hashlib.sha256(LEAF).hexdigest()
    assert list(fields) == [name for name in tls.TLS_FIELDS if name in fields]


def test_tls13_version_comes_from_supported_versions():
    server = _server_hello(0x1301, [_extension(43, b"\x03\x04")])
    fields = tls.handshake_fields(_record(22, CLIENT) + _record(22, server, 0x0303)
                                  + _record(23, b"\x00" * 40, 0x0303))
    assert fields["ssl_version"] == "TLSv13" and "subject" not in fields


def test_a_certificate_cut_by_the_sample_still_gives_its_names():
    big = _certificate([("CN", "tor-relay")], [("CN", "www.random.com")], padding=3000)
    sample = _session(SERVER, _certificate_message(big))[:1200]
    fields = tls.handshake_fields(sample)
    assert fields["subject"] == "CN=tor-relay" and fields["issuer"] == "CN=www.random.com"
    assert "cert_sha256" not in fields          # the whole certificate was not seen


def test_handshake_split_over_records_is_reassembled():
    message = _certificate_message(LEAF)
    split = _record(22, SERVER, 0x0303) + _record(22, message[:50], 0x0303) \
        + _record(22, message[50:], 0x0303)
    fields = tls.handshake_fields(_record(22, CLIENT) + split)
    assert fields["subject"] == "CN=c2.example.net,O=Acme\\, Inc,C=US"


@pytest.mark.parametrize("sample", [b"", b"GET / HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x00",
                                    b"\x16\x03\x01\x00\x05\x01\x00\x00\xff\xff",
                                    _session(SERVER)[:7], bytes(range(256)) * 4])
def test_bad_or_short_samples_give_fewer_fields_never_an_error(sample):
    fields = tls.handshake_fields(sample)
    assert set(fields) <= set(tls.TLS_FIELDS)


def test_every_prefix_of_a_session_parses():
    session = _session(SERVER, _certificate_message(LEAF))
    seen = [tls.handshake_fields(session[:n]) for n in list(range(0, len(session), 7)) + [len(session)]]
    assert seen[-1] == tls.handshake_fields(session)
    assert all(set(f) <= set(tls.TLS_FIELDS) for f in seen)
