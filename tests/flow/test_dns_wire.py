"""DNS wire parsing, query/response pairing from captures, and flow service identification."""
import random
import struct

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR, dns_compress

import synthetic as syn
from c2hunt.capture import dns_wire, flows, services

T0 = 1700000000.0


def _message(**fields):
    """A DNS message built by scapy (an independent encoder), names compressed."""
    return bytes(dns_compress(DNS(**fields)))


def _answer():
    return _message(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com", qtype="A"),
                    an=[DNSRR(rrname="www.example.com", type="CNAME", rdata="edge.example.net",
                              ttl=300),
                        DNSRR(rrname="edge.example.net", type="A", rdata="192.0.2.7", ttl=60),
                        DNSRR(rrname="edge.example.net", type="TXT", rdata=[b"v=1 two", b"x"],
                              ttl=5)])


# -- parse_message ----------------------------------------------------------------------

def test_response_with_compression_pointers():
    data = _answer()
    assert b"\xc0" in data                       # scapy compressed the repeated names
    message = dns_wire.parse_message(data, strict=True)
    assert (message.trans_id, message.qr, message.rd, message.ra, message.rcode) == (7, 1, 1, 1, 0)
    assert (message.qname, message.qtype, message.qclass) == ("www.example.com", 1, 1)
    assert message.answers == [(5, 300, "edge.example.net"), (1, 60, "192.0.2.7"),
                               (16, 5, "TXT 10 v=1 two x")]
    assert message.rr_error == ""


def test_pointer_loops_and_forward_pointers_are_errors():
    header = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    for name in (b"\xc0\x0c",                    # points at itself
                 b"\x01a\xc0\x0e",               # points at its own second byte (forward)
                 b"\xc0\x40"):                   # past the end
        with pytest.raises(dns_wire.DnsFormatError):
            dns_wire.parse_message(header + name + b"\x00\x01\x00\x01")


def test_every_truncation_is_an_error_or_a_partial_message():
    data = _answer()
    for size in range(len(data)):
        piece = data[:size]
        try:
            message = dns_wire.parse_message(piece)
        except dns_wire.DnsFormatError:
            assert size < 33                     # header + question (12 + 17 + 4 bytes)
            continue
        assert message.qname == "www.example.com" and message.rr_error
        with pytest.raises(dns_wire.DnsFormatError):
            dns_wire.parse_message(piece, strict=True)


def test_odd_labels_are_escaped_not_decoded():
    header = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    message = dns_wire.parse_message(header + b"\x04a\x00\xff.\x03com\x00\x00\x10\x00\x01")
    assert message.qname == "a\\x00\\xff..com" and message.qtype == 16


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_raises_anything_else(data):
    try:
        dns_wire.parse_message(data)
    except dns_wire.DnsFormatError:
        pass
    assert dns_wire.looks_like_dns(data) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_messages_never_raise_anything_else(draw):
    data = bytearray(_answer())
    for _ in range(draw.draw(st.integers(1, 6))):
        data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.integers(0, 255))
    for strict in (False, True):
        try:
            dns_wire.parse_message(bytes(data), strict=strict)
        except dns_wire.DnsFormatError:
            pass


def test_looks_like_dns_rejects_random_datagrams():
    rng = random.Random(11)
    payloads = [bytes(rng.randrange(256) for _ in range(rng.randrange(17, 400)))
                for _ in range(5000)]
    assert not any(dns_wire.looks_like_dns(p) for p in payloads)
    assert dns_wire.looks_like_dns(_answer())


# -- transactions from a capture --------------------------------------------------------

def _udp(src, dst, sport, dport, payload, at):
    return (at, syn.ether(syn.ip(src, dst, 17, syn.udp(sport, dport, payload))))


def _query(txid, name, qtype="A"):
    return _message(id=txid, rd=1, qd=DNSQR(qname=name, qtype=qtype))


def _reply(txid, name, address="192.0.2.1", qtype="A"):
    return _message(id=txid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype),
                    an=[DNSRR(rrname=name, type="A", rdata=address, ttl=30)])


def _events(tmp_path, frames):
    path = tmp_path / "dns.pcap"
    syn.write_pcap(str(path), sorted(frames, key=lambda f: f[0]))
    stats = dns_wire.DnsStats()
    events = list(flows.read_capture_events(str(path), dns_stats=stats))
    return [r for s, r in events if s == dns_wire.SOURCETYPE], \
        [r for s, r in events if s == flows.SOURCETYPE], stats


def test_pairs_queries_and_responses(tmp_path):
    c, r = "10.0.0.9", "10.0.0.53"
    frames = [
        _udp(c, r, 40000, 53, _query(1, "a.example.com"), T0),
        _udp(c, r, 40000, 53, _query(1, "a.example.com"), T0 + 1),        # retransmission
        _udp(r, c, 53, 40000, _reply(1, "a.example.com"), T0 + 1.25),
        _udp(c, r, 40001, 53, _query(2, "lost.example.com"), T0 + 2),     # never answered
        _udp(r, c, 53, 40002, _reply(3, "stray.example.com"), T0 + 3),    # no query seen
        _udp(c, r, 40003, 53, b"\x00\x01garbage", T0 + 4),                # malformed
        _udp(c, "10.0.0.1", 40004, 5300, _query(4, "x.tunnel.example"), T0 + 5),  # odd port
        _udp(c, "10.0.0.1", 40005, 5300, bytes(range(60)), T0 + 6),       # not DNS at all
        (T0 + 200, syn.ether(syn.ip(c, r, 17, syn.udp(40009, 9, b"late")))),
    ]
    dns, flow_records, stats = _events(tmp_path, frames)
    by_query = {r["query"]: r for r in dns}
    assert sorted(by_query) == ["a.example.com", "lost.example.com", "stray.example.com",
                                "x.tunnel.example"]
    pair = by_query["a.example.com"]
    assert (pair["src"], pair["src_port"], pair["dest"], pair["dest_port"]) == (c, 40000, r, 53)
    assert pair["rtt"] == pytest.approx(1.25) and pair["retransmits"] == 1
    assert (pair["qtype_name"], pair["rcode_name"], pair["answers"], pair["TTLs"]) == (
        "A", "NOERROR", ["192.0.2.1"], [30.0])
    assert pair["message_type"] == "query_response" and pair["ts"] == T0
    assert by_query["lost.example.com"]["message_type"] == "query"
    assert "rcode_name" not in by_query["lost.example.com"]
    stray = by_query["stray.example.com"]
    assert stray["message_type"] == "response" and (stray["src"], stray["dest"]) == (c, r)
    assert by_query["x.tunnel.example"]["dest_port"] == 5300
    assert (stats.malformed, stats.unanswered, stats.unsolicited, stats.other_port) == (1, 2, 1, 1)
    # The flow of the stray answer starts at the server's packet but belongs to the client.
    stray_flow = [f for f in flow_records if f.get("src_port") == 40002][0]
    assert (stray_flow["src"], stray_flow["dest_port"], stray_flow["service"]) == (c, 53, "dns")
    odd = [f for f in flow_records if f.get("dest_port") == 5300]
    assert sorted(f.get("service", "-") for f in odd) == ["-", "dns"]


def test_dns_over_tcp_segments(tmp_path):
    c, r = "10.0.0.9", "10.0.0.53"
    query, reply = _query(9, "big.example.com", "TXT"), _reply(9, "big.example.com")
    frames = [(T0, syn.ether(syn.ip(c, r, 6, syn.tcp(41000, 53, "S")))),
              (T0 + 0.01, syn.ether(syn.ip(r, c, 6, syn.tcp(53, 41000, "SA")))),
              (T0 + 0.02, syn.ether(syn.ip(c, r, 6, syn.tcp(
                  41000, 53, "PA", struct.pack("!H", len(query)) + query)))),
              (T0 + 0.05, syn.ether(syn.ip(r, c, 6, syn.tcp(
                  53, 41000, "PA", struct.pack("!H", len(reply)) + reply)))),
              (T0 + 0.06, syn.ether(syn.ip(r, c, 6, syn.tcp(
                  53, 41000, "PA", struct.pack("!H", 400) + reply))))]   # continues later
    dns, flow_records, stats = _events(tmp_path, frames)
    assert [(d["transport"], d["query"], d["rtt"]) for d in dns] == [
        ("tcp", "big.example.com", pytest.approx(0.03))]
    assert stats.tcp_split == 1 and stats.malformed == 0
    assert flow_records[0]["service"] == "dns"


# -- services ---------------------------------------------------------------------------

TLS_HELLO = bytes.fromhex("16030100f5010000f10303") + bytes(32)
IPV4_TCP = bytes.fromhex("45000034526540008006b0300a832fb94f656e8d") + bytes(20)
IPV6_TEREDO = (bytes.fromhex("6000000000003b15") + bytes.fromhex("2001000041379e508000f12ab9c82815")
               + bytes.fromhex("20014860000020010000000000000068"))


@pytest.mark.parametrize("client,server,transport,expected", [
    (b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-2.0-dropbear\r\n", "tcp", "ssh"),
    (b"", b"SSH-2.0-OpenSSH_9.6\r\n", "tcp", "ssh"),
    (b"GET /a HTTP/1.1\r\nHost: x\r\n", b"HTTP/1.1 200 OK\r\n", "tcp", "http"),
    (b"\x00\x01binary", b"HTTP/1.0 404 Not Found\r\n", "tcp", "http"),
    (TLS_HELLO, b"", "tcp", "ssl"),
    (b"\x05\x01\x00", b"\x05\x00", "tcp", "socks"),
    (b"\x04\x01\x00\x50\x0a\x00\x00\x01bob\x00", b"\x00\x5a\x00\x00\x00\x00\x00\x00", "tcp", "socks"),
    (b"\x00\x00\x00\x85\xffSMBr\x00\x00", b"", "tcp", "smb"),
    (b"\x00\x00\x00\x66\xfeSMB\x40\x00", b"", "tcp", "smb"),
    (b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00", b"", "tcp", "rdp"),
    (b"EHLO mail.example.com\r\n", b"220 mx ESMTP\r\n", "tcp", "smtp"),
    (b"USER anonymous\r\n", b"220 ProFTPD\r\n", "tcp", "ftp"),
    (bytes([0x23]) + bytes(47), bytes([0x24]) + bytes(47), "udp", "ntp"),
    (_answer(), b"", "udp", "dns"),
    (b"\x05\x01\x00\x07", b"\x05\x00", "tcp", None),       # SOCKS5 greeting of a wrong length
    (bytes(range(200)), bytes(range(100, 300 % 256)), "tcp", None),
    (bytes(range(200)), b"", "udp", None),
    (b"SSH-2.0-x", b"", "icmp", None),
    # IP-in-UDP tunnels: a whole packet behind a small header (its entropy is the inner traffic's).
    (b"\x30\xff\x00\x34" + bytes(4) + IPV4_TCP, b"", "udp", "gtpv1"),
    (b"\x08\x00\x00\x00\x00\x00\x7b\x00" + bytes(12) + b"\x08\x00" + IPV4_TCP, b"", "udp", "vxlan"),
    (b"\x41\x52\x11\x29" + bytes(4 + 16 + 20) + IPV6_TEREDO, b"", "udp", "ayiya"),
    (IPV6_TEREDO, b"", "udp", "teredo"),
    (b"\x00\x01\x00\x00" + bytes(9) + b"\x00\x00" + bytes(6) + IPV6_TEREDO, b"", "udp", "teredo"),
    (IPV6_TEREDO.replace(b"\x20\x01\x00\x00", b"\x20\x01\x48\x60"), b"", "udp", None),  # not Teredo
    (b"\x30\xff\x00\x34" + bytes(4) + bytes(range(40)), b"", "udp", None),   # no inner IP
])
def test_identify_service(client, server, transport, expected):
    assert services.identify_service(client, server, transport) == expected


def test_service_on_flows_whatever_the_port(tmp_path):
    c, s = "10.0.0.1", "10.0.0.2"
    frames = []
    for number, (port, client, server) in enumerate([
            (21477, b"\x05\x01\x00", b"\x05\x00"),
            (2222, b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-2.0-OpenSSH_9.6\r\n"),
            (8081, b"POST /gate HTTP/1.1\r\n", b"HTTP/1.1 200 OK\r\n")]):
        at = T0 + number * 10
        sport = 50000 + number
        frames += [(at, syn.ether(syn.ip(c, s, 6, syn.tcp(sport, port, "S")))),
                   (at + 0.01, syn.ether(syn.ip(s, c, 6, syn.tcp(port, sport, "SA")))),
                   (at + 0.02, syn.ether(syn.ip(c, s, 6, syn.tcp(sport, port, "PA", client)))),
                   (at + 0.03, syn.ether(syn.ip(s, c, 6, syn.tcp(port, sport, "PA", server)))),
                   (at + 0.04, syn.ether(syn.ip(c, s, 6, syn.tcp(sport, port, "PA", b"\x99" * 50))))]
    _, flow_records, _ = _events(tmp_path, frames)
    assert [(f["dest_port"], f["service"]) for f in flow_records] == [
        (21477, "socks"), (2222, "ssh"), (8081, "http")]


def test_garbage_on_dns_ports_is_counted_not_raised(tmp_path):
    rng = random.Random(5)
    c, r = "10.0.0.9", "10.0.0.53"
    frames = []
    for number in range(300):
        payload = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 120)))
        at = T0 + number * 0.01
        if number % 3:
            frames.append(_udp(c, r, 20000 + number, 53, payload, at))
        else:
            frames.append((at, syn.ether(syn.ip(c, r, 6, syn.tcp(20000 + number, 53, "PA",
                                                                  payload)))))
    dns, flow_records, stats = _events(tmp_path, frames)
    assert len(flow_records) == 300
    assert stats.malformed + stats.messages + stats.tcp_split > 150
    # Whatever did parse is a well-formed record; nothing raised.
    assert all(isinstance(d["trans_id"], int) for d in dns)


def test_snap_length_cuts_answers_short(tmp_path):
    c, r = "10.0.0.9", "10.0.0.53"
    frames = sorted([_udp(c, r, 40000, 53, _query(1, "a.example.com"), T0),
                     _udp(r, c, 53, 40000, _answer(), T0 + 0.1)], key=lambda f: f[0])
    path = tmp_path / "snap.pcap"
    syn.write_pcap(str(path), frames, snaplen=14 + 20 + 8 + 40)    # 40 bytes of DNS
    stats = dns_wire.DnsStats()
    dns = [r for s, r in flows.read_capture_events(str(path), dns_stats=stats)
           if s == dns_wire.SOURCETYPE]
    assert stats.truncated == 1 and stats.partial == 1
    assert len(dns) == 2            # the answer's question differs from the query's id: two
    assert {d["message_type"] for d in dns} == {"query", "response"}
