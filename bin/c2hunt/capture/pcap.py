"""Packet capture parsing without third-party packet libraries: pcap and pcapng to columns.

A capture is read in blocks of ``batch_bytes``. For each block one Python loop walks the
record (pcap) or block (pcapng) headers, which is inherently sequential because each
length says where the next record starts; everything after that is vectorized with numpy
gathers over the block: link layer (Ethernet with up to two VLAN tags, raw IP, Linux
cooked v1/v2, BSD loopback), IPv4 (with fragments), IPv6 (with extension headers), TCP,
UDP, ICMP and ICMPv6. The result of each block is a :class:`PacketBatch` of aligned
columns, one row per IP packet.

Nothing here raises on bad data once the capture's header was recognised: truncated
records, corrupt lengths, unknown link types and non-IP frames are counted in
:class:`CaptureStats` and parsing stops (corruption) or skips the packet (everything else).

Public API
----------
``CaptureReader(path, batch_bytes=8 << 20, start_offset=0)``
    ``.batches()`` yields :class:`PacketBatch`; ``.stats`` is a :class:`CaptureStats`.
``read_packets(path)``
    The whole capture as one :class:`PacketBatch` (tests and small files).
"""
import socket
import struct
import sys

import numpy as np

from c2hunt.memo import BoundedCache

__all__ = ["CaptureReader", "CaptureStats", "PacketBatch", "CaptureFormatError",
           "read_packets", "LINKTYPE_NAMES", "AddressText"]

# Link types (www.tcpdump.org/linktypes.html) this parser decodes.
LINKTYPE_NULL = 0          # BSD loopback, host-endian address family
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_ALIASES = (12, 14, 101)   # DLT_RAW values differ between OSes; 101 is canonical
LINKTYPE_LOOP = 108        # OpenBSD loopback, network-order address family
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
LINKTYPE_NAMES = {0: "null", 1: "ethernet", 12: "raw", 14: "raw", 101: "raw", 108: "loop",
                  113: "linux_sll", 228: "ipv4", 229: "ipv6", 276: "linux_sll2"}

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
VLAN_ETHERTYPES = (0x8100, 0x88A8, 0x9100)

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58
# ICMP (RFC 792, 950) and ICMPv6 (RFC 4443) messages that come as request and reply.
ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST = 0, 8
ICMP_TIMESTAMP_REQUEST, ICMP_TIMESTAMP_REPLY = 13, 14
ICMP_INFO_REQUEST, ICMP_INFO_REPLY = 15, 16
ICMP_MASK_REQUEST, ICMP_MASK_REPLY = 17, 18
ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY = 128, 129
IPV6_EXTENSION_HEADERS = (0, 43, 44, 60)   # hop-by-hop, routing, fragment, destination
# Bytes gathered past a packet's start never read beyond this padding of the block.
_PAD = 256
# A record longer than this is corruption, not a packet (pcap's own maximum is 256 KiB).
MAX_RECORD_BYTES = 1 << 20

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000000),
    b"\xa1\xb2\xc3\xd4": (">", 1000000),
    b"\x4d\x3c\xb2\xa1": ("<", 1000000000),
    b"\xa1\xb2\x3c\x4d": (">", 1000000000),
}
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_BYTE_ORDER = 0x1A2B3C4D
_PCAPNG_IDB = 1
_PCAPNG_SPB = 3
_PCAPNG_EPB = 6
_PCAPNG_OBSOLETE_PB = 2


class CaptureFormatError(ValueError):
    """The file is not a pcap or pcapng capture (bad magic or header)."""


class CaptureStats(object):
    """Counters for one capture: what was decoded and what was skipped, and why.

    Attributes
    ----------
    format : str
        ``"pcap"``, ``"pcapng"`` or ``""`` before the header was read.
    records : int
        Packet records read (pcap records, pcapng enhanced/simple/obsolete packet blocks).
    ip_packets : int
        Records decoded as IPv4 or IPv6 (rows in the batches).
    non_ip : int
        Frames of a known link type that carry something other than IP (ARP, LLDP, ...).
    unknown_linktype : int
        Records whose interface has a link type this parser does not decode.
    short_packets : int
        Records too short for the IP header (snap length below the headers).
    fragments : int
        Non-first IPv4/IPv6 fragments (no transport header; counted in flows without ports).
    skipped_blocks : int
        pcapng simple packet blocks (they carry no timestamp) and obsolete packet blocks.
    truncated : bool
        The capture ends inside a record (still being written, or cut short).
    corrupt : str
        Why parsing stopped early on a corrupt length, or ``""``.
    linktypes : set of int
        Link types seen in the capture's headers.
    """

    def __init__(self):
        self.format = ""
        self.records = 0
        self.ip_packets = 0
        self.non_ip = 0
        self.unknown_linktype = 0
        self.short_packets = 0
        self.fragments = 0
        self.skipped_blocks = 0
        self.truncated = False
        self.corrupt = ""
        self.linktypes = set()

    def as_dict(self):
        out = dict(self.__dict__)
        out["linktypes"] = sorted(self.linktypes)
        return out

    def problems(self):
        """Human-readable list of what was skipped or wrong; empty for a clean capture."""
        messages = []
        for name in ("non_ip", "unknown_linktype", "short_packets", "skipped_blocks"):
            if getattr(self, name):
                messages.append("%s=%d" % (name, getattr(self, name)))
        unknown = sorted(lt for lt in self.linktypes if lt not in LINKTYPE_NAMES)
        if unknown:
            messages.append("unknown link types %s" % unknown)
        if self.truncated:
            messages.append("capture ends inside a record (truncated)")
        if self.corrupt:
            messages.append("corrupt: %s" % self.corrupt)
        return messages


class PacketBatch(object):
    """Aligned columns for the IP packets of one block of a capture.

    Attributes (numpy arrays of length ``n``, capture order)
    ----------------------------------------------------------
    ts : float64          seconds since the epoch
    ip_version : uint8    4 or 6
    src_hi, src_lo, dst_hi, dst_lo : uint64
        Addresses as 128-bit numbers split in two halves; IPv4 is IPv4-mapped
        (``::ffff:a.b.c.d``) so both families share one key space.
    proto : uint8         IP protocol number of the transport (after IPv6 extension headers)
    sport, dport : uint16 TCP/UDP ports, 0 for other protocols and fragments
    icmp_type, icmp_code : int16   -1 unless ICMP/ICMPv6 with a captured header
    icmp_id, icmp_seq : uint16     echo identifier and sequence (0 otherwise)
    tcp_flags : uint16    TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ...)
    ip_len : int64        bytes of the IP packet as its header states (header included)
    payload_len : int64   transport payload bytes as the headers state
    payload_off : int64   offset of the payload in ``buffer``
    payload_caplen : int64  payload bytes actually captured (snap length, padding removed)
    vlan : uint16         outer VLAN id, 0 when untagged
    fragment : bool       non-first fragment (no transport header)
    buffer : uint8 array  the block the offsets point into
    end_offset : int      file offset just past the last complete record of this block
    """

    COLUMNS = ("ts", "ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "sport",
               "dport", "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "tcp_flags",
               "ip_len", "payload_len", "payload_off", "payload_caplen", "vlan", "fragment")

    def __init__(self, columns, buffer, end_offset):
        for name in self.COLUMNS:
            setattr(self, name, columns[name])
        self.buffer = buffer
        self.end_offset = end_offset

    def __len__(self):
        return len(self.ts)

    def payload(self, row):
        """The captured payload bytes of one row."""
        start = int(self.payload_off[row])
        return self.buffer[start:start + int(self.payload_caplen[row])].tobytes()

    def in_time_order(self):
        """The batch with its rows in time order (file order kept among equal times): itself
        when its times never go back, as in most captures. A capture merged from two
        interfaces or capture queues has times going back; flows, bursts and handshakes are
        read in the order the packets were on the wire."""
        if len(self.ts) < 2 or not bool(np.any(self.ts[1:] < self.ts[:-1])):
            return self
        order = np.argsort(self.ts, kind="stable")
        return PacketBatch({name: getattr(self, name)[order] for name in self.COLUMNS}, self.buffer,
                           self.end_offset)

    @classmethod
    def concatenate(cls, batches):
        """One batch from many (buffers are concatenated and offsets shifted)."""
        batches = list(batches)
        if not batches:
            return cls(_empty_columns(), np.zeros(0, np.uint8), 0)
        shifts = np.cumsum([0] + [len(b.buffer) for b in batches[:-1]])
        columns = {}
        for name in cls.COLUMNS:
            parts = [getattr(b, name) for b in batches]
            if name == "payload_off":
                parts = [p + s for p, s in zip(parts, shifts)]
            columns[name] = np.concatenate(parts)
        return cls(columns, np.concatenate([b.buffer for b in batches]),
                   batches[-1].end_offset)


ADDRESS_TEXT_CACHE_LIMIT = 1 << 16   # distinct addresses of a capture's busy hosts


class AddressText(object):
    """Text of the addresses in a :class:`PacketBatch` (``src_hi``/``src_lo`` halves of a
    128-bit value, an IPv4 address in the low 32 bits), cached."""

    def __init__(self):
        self.cache = BoundedCache(ADDRESS_TEXT_CACHE_LIMIT)

    def __call__(self, hi, lo, version):
        text = self.cache.get((hi, lo))
        if text is None:
            if version == 4:
                text = socket.inet_ntop(socket.AF_INET, struct.pack(">I", lo & 0xFFFFFFFF))
            else:
                text = socket.inet_ntop(socket.AF_INET6, struct.pack(">QQ", hi, lo))
            self.cache.put((hi, lo), text)
        return text


def _empty_columns():
    dtypes = {"ts": np.float64, "ip_version": np.uint8, "src_hi": np.uint64,
              "src_lo": np.uint64, "dst_hi": np.uint64, "dst_lo": np.uint64,
              "proto": np.uint8, "sport": np.uint16, "dport": np.uint16,
              "icmp_type": np.int16, "icmp_code": np.int16, "icmp_id": np.uint16,
              "icmp_seq": np.uint16, "tcp_flags": np.uint16, "ip_len": np.int64,
              "payload_len": np.int64, "payload_off": np.int64, "payload_caplen": np.int64,
              "vlan": np.uint16, "fragment": bool}
    return {name: np.zeros(0, dtype) for name, dtype in dtypes.items()}


def sniff_format(head):
    """``"pcap"`` or ``"pcapng"`` from a file's first bytes, or None."""
    if head[:4] in _PCAP_MAGICS:
        return "pcap"
    if len(head) >= 4 and struct.unpack("<I", head[:4])[0] == _PCAPNG_SHB:
        return "pcapng"
    return None


class _Interface(object):
    __slots__ = ("linktype", "snaplen", "ticks_per_second", "binary_resolution", "offset")

    def __init__(self, linktype, snaplen, ticks_per_second=1000000, binary=False, offset=0):
        self.linktype = linktype
        self.snaplen = snaplen
        self.ticks_per_second = ticks_per_second
        self.binary_resolution = binary
        self.offset = offset


class CaptureReader(object):
    """Read a pcap or pcapng file block by block into :class:`PacketBatch` objects.

    Parameters
    ----------
    path : str
        The capture file.
    batch_bytes : int
        Bytes read per block; memory use is about three times this, whatever the file size.
    start_offset : int
        Skip records that start before this file offset (resume after an appended file was
        already read up to there). 0 reads everything.

    Raises
    ------
    CaptureFormatError
        From :meth:`batches` when the file is neither pcap nor pcapng.
    """

    def __init__(self, path, batch_bytes=8 << 20, start_offset=0):
        if batch_bytes < 4096:
            raise ValueError("batch_bytes must be at least 4096")
        self.path = path
        self.batch_bytes = int(batch_bytes)
        self.start_offset = int(start_offset)
        self.stats = CaptureStats()
        #: File offset just past the last complete record read so far.
        self.end_offset = 0

    def batches(self):
        with open(self.path, "rb") as handle:
            head = handle.read(64)
            kind = sniff_format(head)
            if kind is None:
                raise CaptureFormatError("%s: not a pcap or pcapng capture (magic %s)"
                                         % (self.path, head[:4].hex() or "empty"))
            self.stats.format = kind
            handle.seek(0)
            if kind == "pcap":
                for batch in self._pcap_batches(handle):
                    yield batch
            else:
                for batch in self._pcapng_batches(handle):
                    yield batch

    # -- block reading shared by both formats ----------------------------------------

    def _blocks(self, handle, first_offset):
        """Generator of (buffer, size, file offset, at end of file).

        ``buffer`` is a fresh uint8 array: ``size`` bytes of the file from the offset, then
        zero padding so fixed-width gathers past a short packet stay inside it. The caller
        sends back how many bytes it consumed; the rest is carried into the next block.
        """
        handle.seek(first_offset)
        carry = np.zeros(0, np.uint8)
        offset = first_offset
        while True:
            buffer = np.empty(len(carry) + self.batch_bytes + _PAD, np.uint8)
            buffer[:len(carry)] = carry
            got = handle.readinto(memoryview(buffer)[len(carry):len(carry) + self.batch_bytes])
            size = len(carry) + got
            buffer[size:size + _PAD] = 0
            consumed = yield buffer, size, offset, got == 0
            if got == 0:
                return
            carry = buffer[consumed:size].copy()
            offset += consumed

    def _read_blocks(self, blocks, walk, decode):
        """Batches of one capture, by the rules both formats share.

        Parameters
        ----------
        blocks : generator
            :meth:`_blocks` of the file, from the first record.
        walk : callable
            ``walk(buffer, size, base) -> (records, consumed, corrupt)``: the complete
            records of a block (None when there are none), the bytes they take, and a
            message when the data is corrupt (reading stops after that block's records).
        decode : callable
            ``decode(buffer, records, base, end_offset) -> PacketBatch or None``.
        """
        buffer, size, base, at_eof = next(blocks)
        while True:
            records, consumed, corrupt = walk(buffer, size, base)
            self.end_offset = base + consumed
            if corrupt:
                self.stats.corrupt = corrupt
            if records is not None:
                batch = decode(buffer, records, base, base + consumed)
                if batch is not None and len(batch):
                    yield batch.in_time_order()
            if corrupt:
                return
            if at_eof:
                if consumed < size:
                    self.stats.truncated = True
                return
            buffer, size, base, at_eof = blocks.send(consumed)

    # -- classic pcap --------------------------------------------------------------

    def _pcap_batches(self, handle):
        header = handle.read(24)
        if len(header) < 24:
            self.stats.truncated = True
            return
        endian, ticks = _PCAP_MAGICS[header[:4]]
        snaplen, network = struct.unpack(endian + "II", header[16:24])
        linktype = network & 0x0FFFFFFF   # upper bits may carry FCS length
        self.stats.linktypes.add(linktype)
        unpack_len = struct.Struct(endian + "I").unpack_from
        native = (endian == "<") == (sys.byteorder == "little") and struct.calcsize("I") == 4
        limit = max(MAX_RECORD_BYTES, snaplen)
        self.end_offset = max(24, self.start_offset)

        def walk(buffer, size, base):
            offsets, consumed, corrupt = _walk_pcap(buffer, size, unpack_len, limit, native)
            problem = None
            if corrupt:
                problem = "record at byte %d claims %d bytes" % (base + consumed, corrupt)
            return (offsets if len(offsets) else None), consumed, problem

        def decode(buffer, offsets, base, end_offset):
            return self._pcap_decode(buffer, offsets, endian, ticks, linktype, base, end_offset)

        yield from self._read_blocks(self._blocks(handle, self.end_offset), walk, decode)

    def _pcap_decode(self, buf, offs, endian, ticks, linktype, base, end_offset):
        if self.start_offset > base:
            offs = offs[offs + base >= self.start_offset]
        self.stats.records += len(offs)
        u32 = _le32 if endian == "<" else _be32
        seconds = u32(buf, offs)
        fraction = u32(buf, offs + 4)
        caplen = u32(buf, offs + 8)
        ts = seconds.astype(np.float64) + fraction.astype(np.float64) / ticks
        if linktype not in LINKTYPE_NAMES:
            self.stats.unknown_linktype += len(offs)
            return None
        return _decode(buf, offs + 16, caplen, np.full(len(offs), linktype, np.int64), ts,
                       self.stats, end_offset)

    # -- pcapng --------------------------------------------------------------------

    def _pcapng_batches(self, handle):
        interfaces = []           # all interfaces of all sections, in order
        state = {"section_base": 0, "endian": "<"}

        def walk(buffer, size, base):
            view = memoryview(buffer)[:size]
            packets, consumed, corrupt = _walk_pcapng(view, base, interfaces, state, self.stats)
            view.release()
            return (packets if packets[0] else None), consumed, corrupt

        def decode(buffer, packets, base, end_offset):
            return self._pcapng_decode(buffer, packets, interfaces, base, end_offset)

        yield from self._read_blocks(self._blocks(handle, 0), walk, decode)

    def _pcapng_decode(self, buf, packets, interfaces, base, end_offset):
        offs = np.asarray(packets[0], dtype=np.int64)
        iface = np.asarray(packets[1], dtype=np.int64)
        big = np.asarray(packets[2], dtype=bool)
        if self.start_offset > base:
            keep = offs + base >= self.start_offset
            offs, iface, big = offs[keep], iface[keep], big[keep]
        self.stats.records += len(offs)

        def u32(at):
            return np.where(big, _be32(buf, at), _le32(buf, at))

        iface = iface + u32(offs + 8)     # section base + interface id of the block
        known = iface < len(interfaces)
        if not known.all():
            self.stats.corrupt = self.stats.corrupt or "packet for an undeclared interface"
            offs, iface, big = offs[known], iface[known], big[known]
            self.stats.records -= int((~known).sum())
            return self._pcapng_decode_known(buf, offs, iface, big, interfaces, end_offset)
        return self._pcapng_decode_known(buf, offs, iface, big, interfaces, end_offset)

    def _pcapng_decode_known(self, buf, offs, iface, big, interfaces, end_offset):
        def u32(at):
            return np.where(big, _be32(buf, at), _le32(buf, at))

        ticks_high = u32(offs + 12).astype(np.uint64)
        ticks = (ticks_high << np.uint64(32)) | u32(offs + 16).astype(np.uint64)
        caplen = u32(offs + 20)
        linktypes = np.array([i.linktype for i in interfaces], np.int64)[iface]
        ts = np.zeros(len(offs), np.float64)
        for number, interface in enumerate(interfaces):
            rows = iface == number
            if not rows.any():
                continue
            per_second = np.uint64(interface.ticks_per_second)
            whole = (ticks[rows] // per_second).astype(np.float64)
            part = (ticks[rows] % per_second).astype(np.float64) / interface.ticks_per_second
            ts[rows] = whole + part + interface.offset
        known = np.isin(linktypes, list(LINKTYPE_NAMES))
        self.stats.unknown_linktype += int((~known).sum())
        if not known.all():
            offs, caplen, linktypes, ts = offs[known], caplen[known], linktypes[known], ts[known]
        return _decode(buf, offs + 28, caplen, linktypes, ts, self.stats, end_offset)


def _walk_pcap(buffer, size, unpack_len, limit, native=False):
    """Offsets of the complete records among the first ``size`` bytes of ``buffer``.

    The sequential part of pcap parsing, kept to one append and one read per record;
    lengths are validated afterwards, vectorized. Returns (offsets as an int64 array,
    bytes consumed, the corrupt length that stopped the walk or 0). ``native``: the file's
    byte order is the machine's, so a length is read as an item of one of four 32-bit views
    of the buffer (one per alignment), without building a tuple as ``unpack_from`` does.
    """
    view = memoryview(buffer)
    offsets = []
    append = offsets.append
    position = 0
    last = size - 16
    if native:
        whole = len(buffer)
        # words[k][i] is the 32-bit item at byte 8 + k + 4 * i: the length of the record
        # at p (its bytes 8-11) is words[p & 3][p >> 2].
        words = [view[8 + k:8 + k + (whole - 8 - k) // 4 * 4].cast("I") for k in range(4)]
        while position <= last:
            append(position)
            position += 16 + words[position & 3][position >> 2]
        for word in words:
            word.release()
    else:
        while position <= last:
            append(position)
            position += 16 + unpack_len(view, position + 8)[0]
    view.release()
    offs = np.asarray(offsets, np.int64)
    ends = np.append(offs[1:], position)
    lengths = ends - offs - 16
    bad = np.flatnonzero(lengths > limit)
    if len(bad):
        first = int(bad[0])
        return offs[:first], int(offs[first]), int(lengths[first])
    if len(offs) and ends[-1] > size:      # the last record continues in the next block
        offs, ends = offs[:-1], ends[:-1]
    return offs, int(ends[-1]) if len(ends) else 0, 0


def _walk_pcapng(data, base, interfaces, state, stats):
    """Packet block offsets in ``data``, reading section and interface blocks on the way.

    Returns ((offsets, section bases, big-endian flags), bytes consumed, corrupt reason).
    """
    offsets, bases, bigs = [], [], []
    position = 0
    size = len(data)
    endian = state["endian"]
    header = struct.Struct(endian + "II")
    big = endian == ">"
    section_base = state["section_base"]
    while position + 12 <= size:
        block_type = struct.unpack_from("<I", data, position)[0]
        if block_type == _PCAPNG_SHB:
            if position + 12 > size:
                break
            magic = data[position + 8:position + 12]
            if magic == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif magic == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                return (offsets, bases, bigs), position, (
                    "section header at byte %d has no byte-order magic" % (base + position))
            header = struct.Struct(endian + "II")
            big = endian == ">"
            section_base = len(interfaces)
            state["endian"], state["section_base"] = endian, section_base
        block_type, length = header.unpack_from(data, position)
        if length < 12 or length % 4 or length > MAX_RECORD_BYTES:
            return (offsets, bases, bigs), position, (
                "block at byte %d has length %d" % (base + position, length))
        if position + length > size:
            break
        if block_type == _PCAPNG_EPB:
            offsets.append(position)
            bases.append(section_base)
            bigs.append(big)
        elif block_type == _PCAPNG_IDB:
            interfaces.append(_parse_idb(data, position, length, endian))
            stats.linktypes.add(interfaces[-1].linktype)
        elif block_type in (_PCAPNG_SPB, _PCAPNG_OBSOLETE_PB):
            stats.skipped_blocks += 1
        position += length
    return (offsets, bases, bigs), position, ""


def _parse_idb(data, position, length, endian):
    linktype, _reserved, snaplen = struct.unpack_from(endian + "HHI", data, position + 8)
    interface = _Interface(linktype, snaplen)
    option = position + 16
    end = position + length - 4
    while option + 4 <= end:
        code, size = struct.unpack_from(endian + "HH", data, option)
        value = data[option + 4:option + 4 + size]
        if code == 0:
            break
        if code == 9 and size >= 1:          # if_tsresol
            exponent = value[0] & 0x7F
            ticks = (1 << exponent) if value[0] & 0x80 else 10 ** exponent
            # A resolution finer than a 64-bit tick count can hold is corruption: keep the
            # default (microseconds) rather than overflow the timestamp arithmetic.
            if ticks < (1 << 63):
                interface.ticks_per_second = ticks
        elif code == 14 and size >= 8:       # if_tsoffset, seconds
            interface.offset = struct.unpack(endian + "q", value[:8])[0]
        option += 4 + ((size + 3) & ~3)
    return interface


# -- vectorized decoding -----------------------------------------------------------------

def _fields(buf, dtype):
    """``buf`` (a uint8 array) seen as one ``dtype`` item starting at every byte offset: item
    ``i`` is ``buf[i:i + itemsize]``, so a multi-byte field at any offset is read by one
    gather (numpy copes with the unaligned items) instead of one gather per byte."""
    dtype = np.dtype(dtype)
    return np.ndarray((max(len(buf) - dtype.itemsize + 1, 0),), dtype, buffer=buf,
                      strides=(1,))


def _be16(buf, at):
    return _fields(buf, ">u2")[at].astype(np.int64)


def _be32(buf, at):
    return _fields(buf, ">u4")[at].astype(np.int64)


def _le32(buf, at):
    return _fields(buf, "<u4")[at].astype(np.int64)


def _be64_pair(buf, at):
    """Two big-endian uint64 halves of the 16 bytes at each offset."""
    halves = _fields(buf, ">u8")
    return halves[at].astype(np.uint64), halves[at + 8].astype(np.uint64)


def _link_layer(buf, data, caplen, linktype):
    """(ethertype, offset of the network header, outer VLAN id) per packet."""
    n = len(data)
    ethertype = np.zeros(n, np.int64)
    network = data.copy()
    vlan = np.zeros(n, np.int64)

    rows = linktype == LINKTYPE_ETHERNET
    if rows.any():
        at = data[rows] + 12
        kind = _be16(buf, at)
        tag = np.zeros(len(at), np.int64)
        for depth in range(2):
            tagged = np.isin(kind, VLAN_ETHERTYPES)
            if not tagged.any():
                break
            if depth == 0:
                tag = np.where(tagged, _be16(buf, at + 2) & 0x0FFF, tag)
            at = np.where(tagged, at + 4, at)
            kind = np.where(tagged, _be16(buf, at), kind)
        ethertype[rows] = kind
        network[rows] = at + 2
        vlan[rows] = tag

    rows = np.isin(linktype, LINKTYPE_RAW_ALIASES + (LINKTYPE_IPV4, LINKTYPE_IPV6))
    if rows.any():
        version = buf[data[rows]] >> 4
        ethertype[rows] = np.where(version == 4, ETHERTYPE_IPV4,
                                   np.where(version == 6, ETHERTYPE_IPV6, 0))

    rows = linktype == LINKTYPE_LINUX_SLL
    if rows.any():
        ethertype[rows] = _be16(buf, data[rows] + 14)
        network[rows] = data[rows] + 16

    rows = linktype == LINKTYPE_LINUX_SLL2
    if rows.any():
        ethertype[rows] = _be16(buf, data[rows])
        network[rows] = data[rows] + 20

    rows = (linktype == LINKTYPE_NULL) | (linktype == LINKTYPE_LOOP)
    if rows.any():
        # The family is a 32-bit number in the capturing host's byte order (NULL) or
        # network order (LOOP): one of its end bytes is zero, the other the family.
        start = data[rows]
        family = buf[start].astype(np.int64) | buf[start + 3]
        ethertype[rows] = np.where(family == 2, ETHERTYPE_IPV4,
                                   np.where(np.isin(family, (10, 24, 28, 30)), ETHERTYPE_IPV6, 0))
        network[rows] = start + 4

    header_room = network - data
    ethertype[header_room > caplen] = 0
    return ethertype, network, vlan


def _decode(buf, data, caplen, linktype, ts, stats, end_offset):
    """Decode the IP packets among the records that start at ``data`` (offsets in buf)."""
    ethertype, l3, vlan = _link_layer(buf, data, caplen, linktype)
    captured_end = data + caplen
    version = buf[l3] >> 4
    is4 = (ethertype == ETHERTYPE_IPV4) & (version == 4)
    is6 = (ethertype == ETHERTYPE_IPV6) & (version == 6)
    short4 = is4 & (l3 + 20 > captured_end)
    short6 = is6 & (l3 + 40 > captured_end)
    is_ip = (is4 & ~short4) | (is6 & ~short6)
    stats.non_ip += int((~(is4 | is6)).sum())
    stats.short_packets += int((short4 | short6).sum())

    keep = np.flatnonzero(is_ip)
    l3, captured_end, ts, vlan = l3[keep], captured_end[keep], ts[keep], vlan[keep]
    v4 = is4[keep]
    n = len(keep)
    stats.ip_packets += n

    # IPv4 header
    ihl = (buf[l3] & 0x0F).astype(np.int64) * 4
    total4 = _be16(buf, l3 + 2)
    frag_field = _be16(buf, l3 + 6)
    proto4 = buf[l3 + 9].astype(np.int64)
    # IPv6 header and extension headers
    total6 = _be16(buf, l3 + 4) + 40
    next_header = buf[l3 + 6].astype(np.int64)
    l4_6 = l3 + 40
    fragment6 = np.zeros(n, bool)
    for _ in range(4):
        extension = ~v4 & np.isin(next_header, IPV6_EXTENSION_HEADERS)
        if not extension.any():
            break
        is_frag = extension & (next_header == 44)
        fragment6 |= is_frag & ((_be16(buf, l4_6 + 2) & 0xFFF8) != 0)
        length = np.where(is_frag, 8, (buf[l4_6 + 1].astype(np.int64) + 1) * 8)
        next_header = np.where(extension, buf[l4_6].astype(np.int64), next_header)
        l4_6 = np.where(extension, l4_6 + length, l4_6)

    proto = np.where(v4, proto4, next_header)
    ip_len = np.where(v4, total4, total6)
    l4 = np.where(v4, l3 + ihl, l4_6)
    fragment = np.where(v4, (frag_field & 0x1FFF) != 0, fragment6)
    # Bytes after the network header as the header states (never negative).
    transport_len = np.maximum(ip_len - (l4 - l3), 0)

    src_hi = np.zeros(n, np.uint64)
    src_lo = np.zeros(n, np.uint64)
    dst_hi = np.zeros(n, np.uint64)
    dst_lo = np.zeros(n, np.uint64)
    if v4.any():
        mapped = np.uint64(0xFFFF00000000)
        src_lo[v4] = _be32(buf, l3[v4] + 12).astype(np.uint64) | mapped
        dst_lo[v4] = _be32(buf, l3[v4] + 16).astype(np.uint64) | mapped
    v6 = ~v4
    if v6.any():
        src_hi[v6], src_lo[v6] = _be64_pair(buf, l3[v6] + 8)
        dst_hi[v6], dst_lo[v6] = _be64_pair(buf, l3[v6] + 24)

    whole = ~fragment
    tcp = whole & (proto == PROTO_TCP) & (l4 + 20 <= captured_end)
    udp = whole & (proto == PROTO_UDP) & (l4 + 8 <= captured_end)
    icmp = whole & ((proto == PROTO_ICMP) | (proto == PROTO_ICMPV6)) & (l4 + 8 <= captured_end)
    ported = tcp | udp
    sport = np.where(ported, _be16(buf, l4), 0)
    dport = np.where(ported, _be16(buf, l4 + 2), 0)
    tcp_header = np.where(tcp, (buf[l4 + 12] >> 4).astype(np.int64) * 4, 0)
    tcp_flags = np.where(tcp, buf[l4 + 13], 0)
    header_len = np.where(tcp, tcp_header, np.where(udp | icmp, 8, 0))
    payload_len = np.maximum(transport_len - header_len, 0)
    payload_off = l4 + header_len
    payload_caplen = np.clip(np.minimum(captured_end, l3 + ip_len) - payload_off, 0, payload_len)
    icmp_type = np.where(icmp, buf[l4].astype(np.int64), -1)
    icmp_code = np.where(icmp, buf[l4 + 1].astype(np.int64), -1)
    icmp_id = np.where(icmp, _be16(buf, l4 + 4), 0)
    icmp_seq = np.where(icmp, _be16(buf, l4 + 6), 0)
    stats.fragments += int(fragment.sum())

    columns = {
        "ts": ts, "ip_version": np.where(v4, 4, 6).astype(np.uint8),
        "src_hi": src_hi, "src_lo": src_lo, "dst_hi": dst_hi, "dst_lo": dst_lo,
        "proto": proto.astype(np.uint8), "sport": sport.astype(np.uint16),
        "dport": dport.astype(np.uint16), "icmp_type": icmp_type.astype(np.int16),
        "icmp_code": icmp_code.astype(np.int16), "icmp_id": icmp_id.astype(np.uint16),
        "icmp_seq": icmp_seq.astype(np.uint16), "tcp_flags": tcp_flags.astype(np.uint16),
        "ip_len": ip_len, "payload_len": payload_len, "payload_off": payload_off,
        "payload_caplen": payload_caplen, "vlan": vlan.astype(np.uint16),
        "fragment": fragment.astype(bool),
    }
    return PacketBatch(columns, buf, end_offset)


def read_packets(path, batch_bytes=8 << 20):
    """Decode a whole capture into one :class:`PacketBatch`; returns (batch, stats)."""
    reader = CaptureReader(path, batch_bytes=batch_bytes)
    batch = PacketBatch.concatenate(reader.batches())
    return batch, reader.stats
