"""TLS handshake facts from the first payload bytes of a flow (c2hunt:flow, service ssl).

What Zeek writes to ssl.log and x509.log for a TLS connection, read from the flow's
payload sample (the first bytes of the record, both directions in capture order):
``server_name`` (SNI), ``ja3`` and ``ja3s`` (Salesforce's JA3/JA3S: MD5 of the
ClientHello/ServerHello parameters, GREASE values removed), ``ssl_version`` (the version
the server chose, Zeek's names), and from the server's first certificate (TLS 1.2 and
older send it in clear) ``subject`` and ``issuer`` (RFC 4514 order, as Zeek writes them),
``cert_not_valid_before``/``cert_not_valid_after`` (epoch seconds) and ``cert_sha256``
(when the whole certificate is in the sample).

The parser walks TLS records in the order they were captured: the client's flight, then
the server's, each a run of whole records. It stops at the first thing that is not a
plausible handshake record (encrypted data, a retransmission that breaks the framing, the
end of the sample) and returns what it has read so far, so a short or damaged sample gives
fewer fields, never an error.
"""
import calendar
import hashlib
import struct

__all__ = ["handshake_fields", "ja3_string", "TLS_FIELDS"]

#: Fields this module can add to a flow record, in output order.
TLS_FIELDS = ("server_name", "ssl_version", "ja3", "ja3s", "subject", "issuer",
              "cert_not_valid_before", "cert_not_valid_after", "cert_sha256")

_VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv10", 0x0302: "TLSv11", 0x0303: "TLSv12",
                  0x0304: "TLSv13"}
_HANDSHAKE, _CHANGE_CIPHER_SPEC, _ALERT = 22, 20, 21
_CLIENT_HELLO, _SERVER_HELLO, _CERTIFICATE = 1, 2, 11
_EXT_SERVER_NAME, _EXT_GROUPS, _EXT_POINT_FORMATS, _EXT_SUPPORTED_VERSIONS = 0, 10, 11, 43

# X.500 attribute types Zeek (OpenSSL) prints by short name.
_ATTRIBUTE_NAMES = {b"\x55\x04\x03": "CN", b"\x55\x04\x06": "C", b"\x55\x04\x07": "L",
                    b"\x55\x04\x08": "ST", b"\x55\x04\x0a": "O", b"\x55\x04\x0b": "OU",
                    b"\x55\x04\x05": "serialNumber", b"\x55\x04\x09": "street",
                    b"\x55\x04\x11": "postalCode",
                    b"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01": "emailAddress"}


def _is_grease(value):
    # RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa.
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


def _u16_list(data):
    return [v for (v,) in struct.iter_unpack(">H", data[:len(data) - len(data) % 2])]


def _extensions(data, pos, end):
    """[(type, bytes)] of an extensions block starting at ``pos`` (length-prefixed)."""
    found = []
    if pos + 2 > end:
        return found
    stop = min(end, pos + 2 + struct.unpack_from(">H", data, pos)[0])
    pos += 2
    while pos + 4 <= stop:
        kind, length = struct.unpack_from(">HH", data, pos)
        found.append((kind, data[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return found


def ja3_string(version, ciphers, extensions, groups, point_formats):
    """The JA3 text ``version,ciphers,extensions,groups,point_formats`` (GREASE removed)."""
    def join(values):
        return "-".join(str(v) for v in values if not _is_grease(v))
    return "%d,%s,%s,%s,%s" % (version, join(ciphers), join(extensions), join(groups),
                               "-".join(str(v) for v in point_formats))


def _client_hello(body, out):
    if len(body) < 38:
        return
    version = struct.unpack_from(">H", body, 0)[0]
    pos = 34
    pos += 1 + body[pos]                                  # session id
    if pos + 2 > len(body):
        return
    n = struct.unpack_from(">H", body, pos)[0]
    ciphers = _u16_list(body[pos + 2:pos + 2 + n])
    pos += 2 + n
    if pos >= len(body):
        return
    pos += 1 + body[pos]                                  # compression methods
    extensions = _extensions(body, pos, len(body))
    groups, point_formats = [], []
    for kind, data in extensions:
        if kind == _EXT_SERVER_NAME and len(data) >= 5 and data[2] == 0:
            name_length = struct.unpack_from(">H", data, 3)[0]
            name = data[5:5 + name_length].decode("ascii", "replace")
            if name:
                out["server_name"] = name
        elif kind == _EXT_GROUPS and len(data) >= 2:
            groups = _u16_list(data[2:2 + struct.unpack_from(">H", data, 0)[0]])
        elif kind == _EXT_POINT_FORMATS and len(data) >= 1:
            point_formats = list(data[1:1 + data[0]])
    text = ja3_string(version, ciphers, [kind for kind, _ in extensions], groups,
                      point_formats)
    out["ja3"] = hashlib.md5(text.encode("ascii")).hexdigest()


def _server_hello(body, out):
    if len(body) < 38:
        return
    version = struct.unpack_from(">H", body, 0)[0]
    pos = 34
    pos += 1 + body[pos]
    if pos + 3 > len(body):
        return
    cipher = struct.unpack_from(">H", body, pos)[0]
    extensions = _extensions(body, pos + 3, len(body))
    chosen = version
    for kind, data in extensions:
        if kind == _EXT_SUPPORTED_VERSIONS and len(data) == 2:
            chosen = struct.unpack_from(">H", data, 0)[0]
    out["ssl_version"] = _VERSION_NAMES.get(chosen, "unknown-%d" % chosen)
    text = "%d,%d,%s" % (version, cipher, "-".join(str(kind) for kind, _ in extensions))
    out["ja3s"] = hashlib.md5(text.encode("ascii")).hexdigest()


# -- DER, read leniently: a length past the end of the sample is cut at the end ------------

def _tlv(data, pos, end):
    """(tag, content start, content end) of the DER element at ``pos``, or None."""
    if pos + 2 > end:
        return None
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            return None
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, min(pos + length, end)


def _children(data, start, end):
    pos = start
    while pos < end:
        element = _tlv(data, pos, end)
        if element is None:
            return
        yield element
        pos = element[2]


def _name(data, start, end):
    """An X.500 Name as Zeek writes it: RFC 4514 order (last RDN first), ``,``-joined."""
    parts = []
    for _, set_start, set_end in _children(data, start, end):
        for _, seq_start, seq_end in _children(data, set_start, set_end):
            items = list(_children(data, seq_start, seq_end))
            if len(items) != 2 or items[0][0] != 0x06:
                continue
            oid = bytes(data[items[0][1]:items[0][2]])
            key = _ATTRIBUTE_NAMES.get(oid, "OID." + oid.hex())
            value = bytes(data[items[1][1]:items[1][2]])
            text = value.decode("utf-16-be", "replace") if items[1][0] == 0x1E else \
                value.decode("utf-8", "replace")
            parts.append("%s=%s" % (key, text.replace("\\", "\\\\").replace(",", "\\,")))
    return ",".join(reversed(parts))


def _der_time(data, tag, start, end):
    text = bytes(data[start:end]).decode("ascii", "replace").rstrip("Z")
    try:
        if tag == 0x17:                                   # UTCTime YYMMDDHHMM[SS]
            year = int(text[:2])
            year += 2000 if year < 50 else 1900
            rest = text[2:]
        else:                                             # GeneralizedTime YYYYMMDDHHMM[SS]
            year, rest = int(text[:4]), text[4:]
        month, day, hour, minute = (int(rest[i:i + 2]) for i in range(0, 8, 2))
        second = int(rest[8:10]) if len(rest) >= 10 else 0
        return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None


def _certificate(der, complete, out):
    cert = _tlv(der, 0, len(der))
    if cert is None or cert[0] != 0x30:
        return
    tbs = _tlv(der, cert[1], cert[2])
    if tbs is None or tbs[0] != 0x30:
        return
    fields = list(_children(der, tbs[1], tbs[2]))
    if fields and fields[0][0] == 0xA0:                   # [0] version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject
    if len(fields) >= 3 and fields[2][0] == 0x30:
        out["issuer"] = _name(der, fields[2][1], fields[2][2])
    if len(fields) >= 4 and fields[3][0] == 0x30:
        times = list(_children(der, fields[3][1], fields[3][2]))
        for key, element in zip(("cert_not_valid_before", "cert_not_valid_after"), times):
            value = _der_time(der, *element)
            if value is not None:
                out[key] = value
    if len(fields) >= 5 and fields[4][0] == 0x30:
        out["subject"] = _name(der, fields[4][1], fields[4][2])
    if complete:
        out["cert_sha256"] = hashlib.sha256(der).hexdigest()


def _first_certificate(body, out):
    if len(body) < 6:
        return
    length = int.from_bytes(body[3:6], "big")
    der = body[6:6 + length]
    _certificate(der, len(der) == length, out)


def handshake_fields(sample):
    """TLS facts (dict, keys from ``TLS_FIELDS``) read from a flow's payload sample.

    Parameters
    ----------
    sample : bytes
        The flow's first payload bytes, both directions in capture order.

    Returns
    -------
    dict
        Empty when the sample does not start with a TLS handshake record.
    """
    out = {}
    data = memoryview(bytes(sample))
    pos, end = 0, len(data)
    pending = bytearray()                                  # handshake bytes not yet parsed
    try:
        while pos + 5 <= end:
            kind, major, _minor, length = data[pos], data[pos + 1], data[pos + 2], \
                struct.unpack_from(">H", data, pos + 3)[0]
            if major != 3 or kind not in (_HANDSHAKE, _CHANGE_CIPHER_SPEC, _ALERT) \
                    or length == 0 or length > 18432:
                break
            if kind != _HANDSHAKE:
                pending.clear()
                if kind == _CHANGE_CIPHER_SPEC and "ja3s" in out:
                    break                                  # the rest is encrypted
                pos += 5 + length
                continue
            pending += data[pos + 5:min(pos + 5 + length, end)]
            truncated = pos + 5 + length > end
            pos += 5 + length
            while len(pending) >= 4:
                message = pending[0]
                size = int.from_bytes(pending[1:4], "big")
                whole = len(pending) >= 4 + size
                if not whole:
                    break                                  # wait for the next record
                body = bytes(pending[4:4 + size])
                if message == _CERTIFICATE and "subject" not in out:
                    _first_certificate(body, out)
                elif message == _CLIENT_HELLO and "ja3" not in out:
                    _client_hello(body, out)
                elif message == _SERVER_HELLO and "ja3s" not in out:
                    _server_hello(body, out)
                del pending[:4 + size]
            if truncated:
                break
        if len(pending) >= 4 and pending[0] == _CERTIFICATE and "subject" not in out:
            # The sample ends inside the certificate list: the leaf's names usually fit.
            _first_certificate(bytes(pending[4:]), out)
    except (IndexError, struct.error, ValueError):
        pass
    return {key: out[key] for key in TLS_FIELDS if key in out}
