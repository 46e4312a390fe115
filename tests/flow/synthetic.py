"""Synthetic packet captures for the c2flow tests and benchmark (the project's own writer).

Frames are built byte by byte with ``struct`` (Ethernet, IPv4/IPv6, TCP, UDP, ICMP) and
written as pcap (micro- or nanosecond) or pcapng. Scenario generators return lists of
``(timestamp, frame)`` and take a seed, so every capture is reproducible.
"""
import random
import struct

ETH_SRC = b"\x02\x00\x00\x00\x00\x01"
ETH_DST = b"\x02\x00\x00\x00\x00\x02"


def _inet(address):
    import socket
    if ":" in address:
        return socket.inet_pton(socket.AF_INET6, address)
    return socket.inet_aton(address)


def _checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp(sport, dport, flags, payload=b"", seq=1, ack=0):
    """TCP header (no options) + payload. flags: string of F S R P A U letters."""
    bits = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32}[f] for f in flags)
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, bits, 65535, 0, 0) + payload


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(kind, code=0, ident=0, seq=0, payload=b""):
    header = struct.pack("!BBHHH", kind, code, 0, ident, seq)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", kind, code, checksum, ident, seq) + payload


def ip(src, dst, proto, transport, ident=0, ttl=64, fragment=0):
    """IPv4 or IPv6 (chosen by the address form) around a transport segment."""
    if ":" in src:
        return struct.pack("!IHBB", 6 << 28, len(transport), proto, ttl) + _inet(src) \
            + _inet(dst) + transport
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), ident, fragment, ttl,
                         proto, 0, _inet(src), _inet(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + transport


def ether(packet, vlan=None, ethertype=None):
    if ethertype is None:
        ethertype = 0x86DD if (packet[0] >> 4) == 6 else 0x0800
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return ETH_DST + ETH_SRC + tag + struct.pack("!H", ethertype) + packet


def linux_sll(packet):
    ethertype = 0x86DD if (packet[0] >> 4) == 6 else 0x0800
    return struct.pack("!HHH8sH", 0, 1, 6, ETH_SRC + b"\x00\x00", ethertype) + packet


def loopback(packet):
    family = 30 if (packet[0] >> 4) == 6 else 2
    return struct.pack("<I", family) + packet


# -- writers ------------------------------------------------------------------------------

def write_pcap(path, frames, linktype=1, nanosecond=False, big_endian=False, snaplen=65535):
    """Classic pcap. frames: iterable of (timestamp, bytes); records keep the whole frame
    unless it exceeds snaplen (then the record is cut and orig_len keeps the real length)."""
    endian = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    ticks = 1000000000 if nanosecond else 1000000
    record = struct.Struct(endian + "IIII")
    with open(path, "wb") as handle:
        handle.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for timestamp, frame in frames:
            whole = int(round(timestamp * ticks))
            seconds, fraction = divmod(whole, ticks)
            data = frame[:snaplen]
            handle.write(record.pack(seconds, fraction, len(data), len(frame)))
            handle.write(data)


def write_pcapng(path, frames, linktype=1, tsresol=6):
    """pcapng: one section, one interface (if_tsresol = 10^-tsresol), enhanced packet blocks."""
    ticks = 10 ** tsresol
    with open(path, "wb") as handle:
        shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
        handle.write(struct.pack("<II", 0x0A0D0D0A, 12 + len(shb_body)) + shb_body
                     + struct.pack("<I", 12 + len(shb_body)))
        options = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
        idb_body = struct.pack("<HHI", linktype, 0, 0) + options
        handle.write(struct.pack("<II", 1, 12 + len(idb_body)) + idb_body
                     + struct.pack("<I", 12 + len(idb_body)))
        for timestamp, frame in frames:
            whole = int(round(timestamp * ticks))
            padded = frame + b"\x00" * (-len(frame) % 4)
            length = 32 + len(padded)
            handle.write(struct.pack("<IIIIIII", 6, length, 0, whole >> 32, whole & 0xFFFFFFFF,
                                     len(frame), len(frame)) + padded
                         + struct.pack("<I", length))


# -- scenarios ------------------------------------------------------------------------------

WINDOWS_PING_PAYLOAD = b"abcdefghijklmnopqrstuvwabcdefghi"


def _random_bytes(rng, size):
    return rng.getrandbits(8 * size).to_bytes(size, "little") if size else b""


def linux_ping_payload(timestamp):
    seconds = int(timestamp)
    return struct.pack("<QQ", seconds, int((timestamp - seconds) * 1e6)) + bytes(range(0x10, 0x38))


def ping(src, dst, count, start, interval=1.0, payload=WINDOWS_PING_PAYLOAD, ident=1,
         rtt=0.002, payload_for=None):
    """Normal ping: echo replies carry the request's payload back."""
    frames = []
    for seq in range(count):
        at = start + seq * interval
        data = payload_for(at) if payload_for else payload
        frames.append((at, ether(ip(src, dst, 1, icmp(8, 0, ident, seq + 1, data)))))
        frames.append((at + rtt, ether(ip(dst, src, 1, icmp(0, 0, ident, seq + 1, data)))))
    return frames


def icmp_tunnel(src, dst, seconds, start, rate=2.0, seed=1, ident=0x4242):
    """ptunnel/icmptunnel-like: random (encrypted-looking) payloads of varying size, the
    reply carries different data than the request."""
    rng = random.Random(seed)
    frames = []
    seq = 0
    at = start
    while at < start + seconds:
        seq = (seq + 1) & 0xFFFF
        up = _random_bytes(rng, rng.choice((64, 120, 512, 1024)))
        down = _random_bytes(rng, rng.choice((64, 300, 1024, 1400)))
        frames.append((at, ether(ip(src, dst, 1, icmp(8, 0, ident, seq, up)))))
        frames.append((at + 0.01, ether(ip(dst, src, 1, icmp(0, 0, ident, seq, down)))))
        at += rng.expovariate(rate)
    return frames


def fixed_size_ping_train(src, dst, count, start, size=64, interval=0.5, seed=2):
    """Same-size echo requests whose (random) payload changes each time; replies echo it."""
    rng = random.Random(seed)
    frames = []
    for seq in range(count):
        data = _random_bytes(rng, size)
        at = start + seq * interval
        frames.append((at, ether(ip(src, dst, 1, icmp(8, 0, 7, seq + 1, data)))))
        frames.append((at + 0.003, ether(ip(dst, src, 1, icmp(0, 0, 7, seq + 1, data)))))
    return frames


def _dns_name(labels):
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def dns_tunnel(src, resolver, count, start, domain=b"tunnel.example.com", seed=3):
    """dnscat2-like: hex data labels under one domain, TXT answers, one flow per query."""
    rng = random.Random(seed)
    frames = []
    for number in range(count):
        data = _random_bytes(rng, 30).hex().encode()
        qname = _dns_name([data[:60]] + domain.split(b"."))
        sport = 10000 + (number * 37 + seed) % 50000   # unique per query: one flow each
        txid = rng.randrange(65536)
        question = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 16, 1)
        txt = _random_bytes(rng, 40).hex().encode()
        answer = (struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + qname
                  + struct.pack("!HH", 16, 1) + b"\xc0\x0c"
                  + struct.pack("!HHIHB", 16, 1, 0, len(txt) + 1, len(txt)) + txt)
        at = start + number * 0.5
        frames.append((at, ether(ip(src, resolver, 17, udp(sport, 53, question)))))
        frames.append((at + 0.02, ether(ip(resolver, src, 17, udp(53, sport, answer)))))
    return frames


def https_beacon(src, dst, count, start, period=60.0, jitter=0.2, seed=4, dport=443):
    """A TLS-like check-in every period +- jitter: handshake, small request, reply, FIN."""
    rng = random.Random(seed)
    frames = []
    at = start
    for number in range(count):
        sport = 49152 + (number * 7 + rng.randrange(1000)) % 16000
        up = _random_bytes(rng, rng.randrange(180, 260))
        down = _random_bytes(rng, rng.randrange(900, 1300))
        steps = [(src, dst, sport, dport, "S", b""), (dst, src, dport, sport, "SA", b""),
                 (src, dst, sport, dport, "A", b""), (src, dst, sport, dport, "PA", up),
                 (dst, src, dport, sport, "PA", down), (src, dst, sport, dport, "FA", b""),
                 (dst, src, dport, sport, "FA", b""), (src, dst, sport, dport, "A", b"")]
        for step, (a, b, pa, pb, flags, data) in enumerate(steps):
            frames.append((at + step * 0.01, ether(ip(a, b, 6, tcp(pa, pb, flags, data)))))
        at += period * (1 + rng.uniform(-jitter, jitter))
    return frames


def by_time(*frame_lists):
    """Merge scenario frame lists into one capture in time order."""
    merged = [frame for frames in frame_lists for frame in frames]
    merged.sort(key=lambda item: item[0])
    return merged


def mixed_traffic(n_packets, start=1700000000.0, seed=5):
    """About ``n_packets`` frames of mixed traffic for throughput runs.

    TCP sessions with data both ways (24 frames), DNS query/answer pairs, pings, single
    UDP datagrams, over IPv4 and one in eight over IPv6. Frames are built once per template
    and then re-stamped with a new client port (or echo identifier) per instance, so each
    instance is a flow of its own and a million frames take seconds to make.
    """
    rng = random.Random(seed)
    templates = []
    for number in range(64):
        client, server = "10.1.%d.%d" % (number, number + 1), "192.0.2.%d" % (number + 10)
        if number % 8 == 7:
            client, server = "2001:db8::%x" % (number + 1), "2001:db8:1::%x" % number
        sport = 40000
        session = [(ether(ip(client, server, 6, tcp(sport, 443, "S"))), 0),
                   (ether(ip(server, client, 6, tcp(443, sport, "SA"))), 1),
                   (ether(ip(client, server, 6, tcp(sport, 443, "A"))), 0)]
        for _ in range(10):
            session.append((ether(ip(client, server, 6, tcp(
                sport, 443, "PA", _random_bytes(rng, rng.randrange(40, 600))))), 0))
            session.append((ether(ip(server, client, 6, tcp(
                443, sport, "PA", _random_bytes(rng, 1448)))), 1))
        session.append((ether(ip(client, server, 6, tcp(sport, 443, "FA"))), 0))
        templates.append(session)
        query, answer = dns_tunnel(client, "10.0.0.53" if number % 8 != 7 else "2001:db8::53",
                                   1, 0, seed=number)
        templates.append([(query[1], 0), (answer[1], 1)])
        templates.append([(frame, index % 2) for index, (_, frame) in
                          enumerate(ping(client, server, 2, 0))])
        templates.append([(ether(ip(client, server, 17, udp(sport, 4444,
                                                            _random_bytes(rng, 200)))), 0)])
    frames = []
    at = start
    instance = 0
    while len(frames) < n_packets:
        instance += 1
        port = struct.pack("!H", 1024 + instance % 64000)
        for frame, reply in templates[rng.randrange(len(templates))]:
            frame = bytearray(frame)
            l4 = 14 + (40 if frame[12:14] == b"\x86\xdd" else 20)
            if frame[l4 - 11 if l4 == 34 else 20] == 1 or frame[20] == 58:
                frame[l4 + 4:l4 + 6] = port            # echo identifier
            else:
                where = l4 + 2 if reply else l4          # the client's port
                frame[where:where + 2] = port
            frames.append((at, bytes(frame)))
            at += 0.0002
    return frames[:n_packets]
