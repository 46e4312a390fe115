"""c2hunt.capture.pcap against dpkt on the same files, every format and link type, bad input."""
import socket
import struct

import dpkt
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

import synthetic as syn
from c2hunt.capture import pcap

T0 = 1700000000.0


def _frames():
    return syn.by_time(
        syn.https_beacon("10.0.0.10", "192.0.2.80", 3, T0),
        syn.dns_tunnel("10.0.0.9", "10.0.0.53", 5, T0 + 1),
        syn.ping("10.0.0.6", "8.8.8.8", 3, T0 + 2),
        syn.ping("2001:db8::1", "2001:db8::2", 0, T0),
        [(T0 + 3, syn.ether(syn.ip("2001:db8::1", "2001:db8::2", 17, syn.udp(5000, 6000, b"hello"))))],
        [(T0 + 4, syn.ether(syn.ip("10.0.0.1", "10.0.0.2", 17, syn.udp(1, 2, b"x" * 30)), vlan=42))],
        [(T0 + 5, syn.ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20, ethertype=0x0806))],
    )


def _address(hi, lo, version):
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack(">I", int(lo) & 0xFFFFFFFF))
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">QQ", int(hi), int(lo)))


def _ours(path, batch_bytes=8 << 20):
    batch, stats = pcap.read_packets(str(path), batch_bytes=batch_bytes)
    rows = []
    for i in range(len(batch)):
        version = int(batch.ip_version[i])
        rows.append((round(float(batch.ts[i]), 6), _address(batch.src_hi[i], batch.src_lo[i], version),
                     _address(batch.dst_hi[i], batch.dst_lo[i], version), int(batch.proto[i]),
                     int(batch.sport[i]), int(batch.dport[i]), int(batch.ip_len[i]),
                     batch.payload(i)))
    return rows, stats


def _dpkt_rows(path, ng=False):
    rows = []
    with open(path, "rb") as handle:
        reader = dpkt.pcapng.Reader(handle) if ng else dpkt.pcap.Reader(handle)
        for ts, buf in reader:
            eth = dpkt.ethernet.Ethernet(buf)
            packet = eth.data
            if not isinstance(packet, (dpkt.ip.IP, dpkt.ip6.IP6)):
                continue
            v4 = isinstance(packet, dpkt.ip.IP)
            family = socket.AF_INET if v4 else socket.AF_INET6
            transport = packet.data
            sport = getattr(transport, "sport", 0) if isinstance(transport, (dpkt.tcp.TCP, dpkt.udp.UDP)) else 0
            dport = getattr(transport, "dport", 0) if isinstance(transport, (dpkt.tcp.TCP, dpkt.udp.UDP)) else 0
            if isinstance(transport, (dpkt.icmp.ICMP, dpkt.icmp6.ICMP6)):
                payload = bytes(transport.data)[4:] if transport.type in (0, 8, 128, 129) else bytes(transport.data)
                if not isinstance(transport.data, (bytes,)) and transport.type in (0, 8, 128, 129):
                    payload = bytes(transport.data.data)
            else:
                payload = bytes(transport.data)
            ip_len = packet.len if v4 else packet.plen + 40
            rows.append((round(float(ts), 6), socket.inet_ntop(family, packet.src),
                         socket.inet_ntop(family, packet.dst), packet.p if v4 else packet.nxt,
                         sport, dport, ip_len, payload))
    return rows


@pytest.mark.parametrize("variant", ["usec", "nsec", "big_endian"])
def test_pcap_matches_dpkt(tmp_path, variant):
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), _frames(), nanosecond=variant == "nsec",
                   big_endian=variant == "big_endian")
    ours, stats = _ours(path)
    assert ours == _dpkt_rows(str(path))
    assert stats.records == len(_frames()) and stats.problems() == ["non_ip=1"]


def test_pcapng_matches_dpkt_and_scapy_writer(tmp_path):
    path = tmp_path / "c.pcapng"
    syn.write_pcapng(str(path), _frames(), tsresol=9)
    ours, _ = _ours(path)
    assert ours == _dpkt_rows(str(path), ng=True)
    from scapy.utils import PcapNgWriter
    from scapy.layers.l2 import Ether
    scapy_path = tmp_path / "scapy.pcapng"
    writer = PcapNgWriter(str(scapy_path))
    for ts, frame in _frames():
        packet = Ether(frame)
        packet.time = ts
        writer.write(packet)
    writer.close()
    theirs, _ = _ours(scapy_path)
    assert [row[1:] for row in theirs] == [row[1:] for row in ours]
    assert np.allclose([row[0] for row in theirs], [row[0] for row in ours], atol=1e-6)


def test_block_boundaries_do_not_change_the_result(tmp_path):
    # the copies follow each other in time (a block's packets are put in time order, so
    # times going back across a block boundary would read differently by block size)
    frames = [(t + 1000 * copy, frame) for copy in range(20) for t, frame in _frames()]
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), frames)
    big, _ = _ours(path)
    small, stats = _ours(path, batch_bytes=4096)
    assert small == big and stats.truncated is False
    ng = tmp_path / "c.pcapng"
    syn.write_pcapng(str(ng), frames)
    assert _ours(ng, batch_bytes=4096)[0] == _ours(ng)[0]


def test_multibyte_fields_at_every_offset_read_as_their_bytes():
    # The header readers gather one unaligned item per offset: each must equal the field
    # spelled out byte by byte, at odd offsets and up to the last whole field of the block.
    buf = np.random.default_rng(17).integers(0, 256, 4099, dtype=np.uint8)
    raw = buf.tobytes()
    at = np.arange(len(buf) - 15)
    expected = {
        "be16": [int.from_bytes(raw[i:i + 2], "big") for i in at],
        "be32": [int.from_bytes(raw[i:i + 4], "big") for i in at],
        "le32": [int.from_bytes(raw[i:i + 4], "little") for i in at],
        "hi": [int.from_bytes(raw[i:i + 8], "big") for i in at],
        "lo": [int.from_bytes(raw[i + 8:i + 16], "big") for i in at],
    }
    hi, lo = pcap._be64_pair(buf, at)
    got = {"be16": pcap._be16(buf, at), "be32": pcap._be32(buf, at),
           "le32": pcap._le32(buf, at), "hi": hi, "lo": lo}
    for name, values in got.items():
        assert values.tolist() == expected[name], name
    assert got["be16"].dtype == np.int64 and hi.dtype == np.uint64
    last = np.array([len(buf) - 2])
    assert pcap._be16(buf, last).tolist() == [int.from_bytes(raw[-2:], "big")]
    with pytest.raises(IndexError):
        pcap._be16(buf, np.array([len(buf) - 1]))   # a field past the block is not read


@pytest.mark.parametrize("linktype,wrap", [
    (101, lambda p: p), (228, lambda p: p), (113, syn.linux_sll), (0, syn.loopback),
])
def test_other_link_types(tmp_path, linktype, wrap):
    packets = [syn.ip("10.0.0.1", "10.0.0.2", 6, syn.tcp(1000, 80, "S")),
               syn.ip("2001:db8::1", "2001:db8::2", 17, syn.udp(53, 5353, b"abc"))]
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), [(T0 + i, wrap(p)) for i, p in enumerate(packets)], linktype=linktype)
    batch, stats = pcap.read_packets(str(path))
    # The IP version nibble decides, also for LINKTYPE_IPV4 (228).
    assert list(batch.proto) == [6, 17] and list(batch.ip_version) == [4, 6]
    assert list(batch.dport) == [80, 5353] and batch.payload(1) == b"abc"
    assert stats.problems() == []


def test_unknown_link_type_is_counted(tmp_path):
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), [(T0, b"\x00" * 40)] * 3, linktype=147)
    batch, stats = pcap.read_packets(str(path))
    assert len(batch) == 0 and stats.unknown_linktype == 3
    assert any("unknown link types [147]" in p for p in stats.problems())


def test_vlan_fragments_and_snaplen(tmp_path):
    frames = [(T0, syn.ether(syn.ip("10.0.0.1", "10.0.0.2", 17, syn.udp(1, 2, b"y" * 100)), vlan=7)),
              (T0 + 1, syn.ether(syn.ip("10.0.0.1", "10.0.0.2", 17, b"z" * 48, fragment=0x0010)))]
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), frames, snaplen=60)
    batch, stats = pcap.read_packets(str(path))
    assert list(batch.vlan) == [7, 0]
    assert list(batch.payload_len) == [100, 48] and list(batch.payload_caplen) == [60 - 46, 60 - 34]
    assert list(batch.fragment) == [False, True] and list(batch.sport) == [1, 0]
    assert stats.fragments == 1


def test_truncated_capture_keeps_complete_records(tmp_path):
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), _frames())
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    batch, stats = pcap.read_packets(str(path))
    assert stats.truncated and len(batch) == len(_ours(tmp_path / "c.pcap")[0])
    assert stats.records == len(_frames()) - 1


def test_corrupt_length_stops_with_a_reason(tmp_path):
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), _frames())
    data = bytearray(path.read_bytes())
    first_len = struct.unpack_from("<I", data, 24 + 8)[0]
    second = 24 + 16 + first_len
    data[second + 8:second + 12] = struct.pack("<I", 0x7FFFFFF0)
    path.write_bytes(bytes(data))
    batch, stats = pcap.read_packets(str(path))
    assert len(batch) == 1 and "claims" in stats.corrupt


def test_not_a_capture(tmp_path):
    path = tmp_path / "x.pcap"
    path.write_bytes(b"hello world, not a capture")
    with pytest.raises(pcap.CaptureFormatError, match="not a pcap"):
        pcap.read_packets(str(path))
    path.write_bytes(b"")
    with pytest.raises(pcap.CaptureFormatError):
        pcap.read_packets(str(path))


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=4000), noise=st.binary(min_size=1, max_size=64),
       at=st.integers(min_value=0, max_value=4000), ng=st.booleans())
@example(cut=0, noise=b"\x00\x01\x14", at=46, ng=True)    # if_tsresol 10^127: overflowed
def test_damaged_captures_never_raise(tmp_path_factory, cut, noise, at, ng):
    """Any truncation or overwrite of a valid capture decodes without an exception."""
    path = tmp_path_factory.mktemp("fuzz") / "c.cap"
    (syn.write_pcapng if ng else syn.write_pcap)(str(path), _frames())
    data = bytearray(path.read_bytes())
    data[at:at + len(noise)] = noise
    data = bytes(data[:max(8, len(data) - cut)])
    path.write_bytes(data)
    try:
        batch, stats = pcap.read_packets(str(path), batch_bytes=4096)
    except pcap.CaptureFormatError:
        assert at < 4          # only a damaged magic number makes it "not a capture"
        return
    assert len(batch) <= len(_frames())
    assert np.all(batch.payload_caplen <= batch.payload_len)
    assert np.all(batch.payload_off + batch.payload_caplen <= len(batch.buffer))


def test_packets_whose_times_go_back_are_read_in_time_order(tmp_path):
    # a capture merged from two interfaces: every other packet is older than the one before
    frames = [(T0 + t, syn.ether(syn.ip("10.0.0.1", "10.0.0.2", 17, syn.udp(1, 2, b"p%d" % t))))
              for t in (1, 0, 3, 2, 3, 4)]
    path = tmp_path / "merged.pcap"
    syn.write_pcap(str(path), frames)
    rows, _ = _ours(path)
    assert [r[0] - T0 for r in rows] == [0, 1, 2, 3, 3, 4]
    assert [r[-1] for r in rows] == [b"p0", b"p1", b"p2", b"p3", b"p3", b"p4"]   # payloads follow
    in_order = tmp_path / "ordered.pcap"
    syn.write_pcap(str(in_order), sorted(frames, key=lambda f: f[0]))
    assert _ours(in_order)[0] == rows
