"""DNS messages from packet captures: wire-format parsing and query/response transactions.

The c2flow input turns the DNS messages of a capture into one ``c2hunt:dns`` event per
query/response pair, with the field names of Zeek's dns.log (``query``, ``qtype_name``,
``rcode_name``, ``answers``, ``TTLs``, ``trans_id``, ``rtt``, ``AA``/``TC``/``RD``/``RA``,
``id.*`` as CIM ``src``/``dest``/``src_port``/``dest_port``) so the searches that read Zeek
DNS read these too. props.conf aliases the CIM Network_Resolution names (``answer``,
``record_type``, ``reply_code``, ...; see ``CIM_ALIASES``).

Which packets are DNS
---------------------
* UDP to or from ports 53, 5353 (mDNS) and 5355 (LLMNR): every payload is parsed; one that
  is not a DNS message is counted as malformed.
* UDP on any other port: a payload is DNS only when a vectorised header test passes (one
  question, standard query opcode, no answers in a query, at most 64 records per section,
  a label length where the name starts) *and* the whole message parses strictly (every
  record, nothing past the payload). A tunnel that moves DNS to another port is still
  seen; random or encrypted datagrams pass the header test about once in 2^30.
* TCP port 53: each segment is read as a run of length-prefixed messages. A message that
  continues in the next segment is counted (``tcp_split``) but not reassembled.

Nothing here raises on bad data: :func:`parse_message` raises :class:`DnsFormatError`,
which the extraction counts (``DnsStats``) before moving on.

Public API
----------
``parse_message(data, strict=False)`` -> :class:`DnsMessage`
``DnsTable(timeout=30.0, max_pending=100000)``
    ``add_batch(batch)`` returns the transaction records completed by a
    :class:`c2hunt.capture.pcap.PacketBatch`; ``flush()`` the rest. ``stats`` is a
    :class:`DnsStats`.
"""
import collections
import re
import socket
import struct

import numpy as np

from c2hunt.capture import pcap

__all__ = ["DnsFormatError", "DnsMessage", "DnsStats", "DnsTable", "parse_message",
           "SOURCETYPE", "FIELDS", "CIM_ALIASES", "CIM_REPLY_CODES", "DNS_PORTS", "looks_like_dns"]

SOURCETYPE = "c2hunt:dns"
DNS_PORTS = (53, 5353, 5355)

FIELDS = ("ts", "src", "src_ip", "src_port", "dest", "dest_ip", "dest_port", "transport",
          "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode",
          "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "answer_count",
          "retransmits", "message_type")

#: CIM Network_Resolution name -> the dns.log name it aliases (props.conf FIELDALIAS; the
#: offline runner applies the same table).
CIM_ALIASES = (("answer", "answers"), ("record_type", "qtype_name"),
               ("reply_code_id", "rcode"),
               ("transaction_id", "trans_id"), ("response_time", "rtt"), ("ttl", "TTLs"))

QTYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 11: "WKS", 12: "PTR",
               13: "HINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY",
               28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT",
               43: "DS", 44: "SSHFP", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3",
               51: "NSEC3PARAM", 52: "TLSA", 59: "CDS", 60: "CDNSKEY", 64: "SVCB",
               65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
               255: "*", 256: "URI", 257: "CAA"}
QCLASS_NAMES = {1: "C_INTERNET", 3: "C_CHAOS", 4: "C_HESIOD", 254: "C_NONE", 255: "C_ANY"}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH",
               10: "NOTZONE", 16: "BADVERS"}
#: rcode_name -> the CIM Network_Resolution reply_code (props.conf EVAL-reply_code; the
#: offline runner applies the same table): the CIM names rcodes as RFC 6895's registry does.
CIM_REPLY_CODES = {"NOERROR": "No Error", "FORMERR": "Format Error", "SERVFAIL": "Server Failure",
                   "NXDOMAIN": "Non-Existent Domain", "NOTIMP": "NotImp", "REFUSED": "Refused",
                   "YXDOMAIN": "YXDomain", "YXRRSET": "YXRRSet", "NXRRSET": "NXRRSet",
                   "NOTAUTH": "NotAuth", "NOTZONE": "NotZone", "BADVERS": "BADVERS"}
MAX_SECTION_RECORDS = 64     # per section; more is not a message a resolver sends
MAX_POINTER_JUMPS = 32
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_PRINTABLE = [chr(b) if 0x21 <= b <= 0x7E and b != 0x5C else "\\x%02x" % b for b in range(256)]
_NEEDS_ESCAPE = re.compile(r"[^\x21-\x5b\x5d-\x7e]")


def _label_text(raw):
    """A label's bytes as text: printable ASCII as is, anything else as \\xNN."""
    text = raw.decode("latin-1")
    if _NEEDS_ESCAPE.search(text):
        return "".join([_PRINTABLE[b] for b in raw])
    return text


class DnsFormatError(ValueError):
    """The bytes are not a (complete) DNS message."""


class DnsMessage(object):
    """One parsed DNS message.

    Attributes
    ----------
    trans_id, qr, opcode, aa, tc, rd, ra, z, rcode : int
        Header fields (``qr`` 1 for a response).
    qname : str or None
        The first question's name, dots between labels, bytes outside printable ASCII as
        ``\\xNN``; None when the message has no question.
    qtype, qclass : int or None
    counts : tuple of int
        (questions, answers, authority, additional) as the header states.
    answers : list of (rtype, ttl, text)
        The answer section (``text`` as Zeek prints it: an address, a name, TXT strings,
        else ``"<TYPE> <n> bytes"``). Complete unless ``rr_error`` is set.
    rr_error : str
        Why reading the records stopped early (lenient mode), or ``""``.
    """

    __slots__ = ("trans_id", "qr", "opcode", "aa", "tc", "rd", "ra", "z", "rcode", "qname",
                 "qtype", "qclass", "counts", "answers", "rr_error")


def _name(data, position, size, text=True):
    """(name, position after it) of the domain name at ``position``; follows compression
    pointers, which must point backwards (so they cannot loop). ``text=False`` only checks
    the name (the same checks) and returns None for it."""
    labels = []
    end = None
    jumps = 0
    total = 0
    floor = position
    while True:
        if position >= size:
            raise DnsFormatError("name runs past the message")
        length = data[position]
        if length == 0:
            position += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if position + 1 >= size:
                raise DnsFormatError("compression pointer cut short")
            target = ((length & 0x3F) << 8) | data[position + 1]
            if target >= floor or jumps >= MAX_POINTER_JUMPS:
                raise DnsFormatError("compression pointer does not point backwards")
            jumps += 1
            if end is None:
                end = position + 2
            floor = target
            position = target
            continue
        if kind:
            raise DnsFormatError("label type 0x%02x is not supported" % kind)
        position += 1
        if position + length > size:
            raise DnsFormatError("label runs past the message")
        total += length + 1
        if total > 255:
            raise DnsFormatError("name longer than 255 bytes")
        if text:
            labels.append(_label_text(data[position:position + length]))
        position += length
    return (".".join(labels) if text else None), (position if end is None else end)


def _check_rdata(data, rtype, start, length, size):
    """The checks :func:`_rdata_text` makes (the names in the data), without the text."""
    if rtype in (2, 5, 12, 39):
        _name(data, start, size, text=False)
    elif rtype == 15 and length > 2:
        _name(data, start + 2, size, text=False)
    elif rtype == 33 and length > 6:
        _name(data, start + 6, size, text=False)


def _rdata_text(data, rtype, start, length, size):
    if rtype == 1 and length == 4:
        return socket.inet_ntop(socket.AF_INET, bytes(data[start:start + 4]))
    if rtype == 28 and length == 16:
        return socket.inet_ntop(socket.AF_INET6, bytes(data[start:start + 16]))
    if rtype in (2, 5, 12, 39):
        return _name(data, start, size)[0]
    if rtype == 15 and length > 2:
        return _name(data, start + 2, size)[0]
    if rtype == 33 and length > 6:
        return _name(data, start + 6, size)[0]
    if rtype == 16:
        strings = []
        position, stop = start, start + length
        while position < stop:
            count = data[position]
            strings.append("".join([_PRINTABLE[b] if b != 0x20 else " "
                                    for b in data[position + 1:position + 1 + count]]))
            position += 1 + count
        return "TXT %d %s" % (length, " ".join(strings))
    return "<%s> %d bytes" % (QTYPE_NAMES.get(rtype, "TYPE%d" % rtype), length)


def parse_message(data, strict=False, text=True):
    """Parse one DNS message.

    Parameters
    ----------
    data : bytes or memoryview
        The message (a UDP payload, or a TCP message without its length prefix).
    strict : bool
        Also require every record of every section to parse and to end inside ``data``
        (used to recognise DNS on ports other than 53). When False, a record section that
        does not parse stops the reading with ``rr_error`` set; header and question must
        still parse.
    text : bool
        False: only check the message (the same checks, so the same errors), leaving
        ``qname`` and ``answers`` out (and, not strict, the record sections unread).

    Returns
    -------
    DnsMessage

    Raises
    ------
    DnsFormatError
        Shorter than a header, a question that does not parse, or (strict) any record.
    """
    data = bytes(data)
    size = len(data)
    if size < 12:
        raise DnsFormatError("%d bytes is shorter than a DNS header" % size)
    trans_id, flags, qd, an, ns, ar = _HEADER.unpack_from(data, 0)
    message = DnsMessage()
    message.trans_id = trans_id
    message.qr = flags >> 15
    message.opcode = (flags >> 11) & 0xF
    message.aa = (flags >> 10) & 1
    message.tc = (flags >> 9) & 1
    message.rd = (flags >> 8) & 1
    message.ra = (flags >> 7) & 1
    message.z = (flags >> 4) & 7
    message.rcode = flags & 0xF
    message.counts = (qd, an, ns, ar)
    message.qname = message.qtype = message.qclass = None
    message.answers = []
    message.rr_error = ""
    if max(qd, an, ns, ar) > MAX_SECTION_RECORDS:
        raise DnsFormatError("header claims %d records in one section" % max(qd, an, ns, ar))
    position = 12
    for number in range(qd):
        name, position = _name(data, position, size, text)
        if position + 4 > size:
            raise DnsFormatError("question cut short")
        qtype, qclass = struct.unpack_from("!HH", data, position)
        position += 4
        if number == 0:
            message.qname, message.qtype, message.qclass = name, qtype, qclass
    if not text and not strict:
        return message            # the records' errors would only be noted in rr_error
    try:
        for section, count in ((1, an), (2, ns), (3, ar)):
            for _ in range(count):
                _, position = _name(data, position, size, text)
                if position + 10 > size:
                    raise DnsFormatError("record header cut short")
                rtype, _rclass, ttl, length = _RR.unpack_from(data, position)
                position += 10
                if position + length > size:
                    raise DnsFormatError("record data runs past the message")
                if not text:
                    _check_rdata(data, rtype, position, length, size)
                elif section == 1:
                    message.answers.append((rtype, ttl, _rdata_text(data, rtype, position,
                                                                    length, size)))
                elif strict:
                    # Names inside authority/additional data are checked too.
                    _rdata_text(data, rtype, position, length, size)
                position += length
    except (DnsFormatError, IndexError, struct.error, ValueError) as error:
        if strict:
            raise DnsFormatError(str(error))
        message.rr_error = str(error)
    return message


def looks_like_dns(payload, complete=True):
    """True when ``payload`` (bytes) parses strictly as a standard DNS query or response
    with one question: the test for DNS on a port that is not a DNS port.

    With ``complete=False`` the payload may be the first bytes of a longer message: header
    and question must parse, the records are not required to."""
    if len(payload) < 17 or payload[4] != 0 or payload[5] != 1:
        return False          # not exactly one question: most non-DNS payloads stop here
    try:
        message = parse_message(payload, strict=complete, text=False)
    except (DnsFormatError, IndexError, struct.error, ValueError):
        return False
    return (message.counts[0] == 1 and message.opcode == 0 and message.qclass in (1, 255)
            and (message.qr == 1 or message.counts[1] == 0))


def _header_candidates(buf, off, caplen):
    """Vectorised test: could the payloads at ``off`` be a DNS message with one question?"""
    ok = caplen >= 17
    at = np.where(ok, off, 0)
    qd = (buf[at + 4].astype(np.int64) << 8) | buf[at + 5]
    an = (buf[at + 6].astype(np.int64) << 8) | buf[at + 7]
    ns = (buf[at + 8].astype(np.int64) << 8) | buf[at + 9]
    ar = (buf[at + 10].astype(np.int64) << 8) | buf[at + 11]
    flags = buf[at + 2].astype(np.int64)
    query = (flags & 0x80) == 0
    first_label = buf[at + 12]
    return (ok & (qd == 1) & (((flags >> 3) & 0xF) == 0) & (an <= MAX_SECTION_RECORDS)
            & (ns <= MAX_SECTION_RECORDS) & (ar <= MAX_SECTION_RECORDS)
            & ~(query & ((an > 0) | (ns > 0))) & (first_label < 64))


class DnsStats(object):
    """Counters of the DNS extraction.

    Attributes
    ----------
    messages : int
        Messages parsed.
    malformed : int
        Payloads on a DNS port that are not a DNS message (header or question broken).
    partial : int
        Messages whose record sections stopped early (the transaction is still reported).
    truncated : int
        Payloads cut by the capture's snap length (parsed as far as they go).
    tcp_split : int
        TCP messages that continue in a later segment (not reassembled).
    other_port : int
        Messages found on UDP ports other than 53/5353/5355.
    unanswered, unsolicited : int
        Queries without a response, responses without a query seen.
    evicted : int
        Pending queries reported early because more than ``max_pending`` were open.
    """

    NAMES = ("messages", "malformed", "partial", "truncated", "tcp_split", "other_port",
             "unanswered", "unsolicited", "evicted")

    def __init__(self):
        for name in self.NAMES:
            setattr(self, name, 0)

    def as_dict(self):
        return {name: getattr(self, name) for name in self.NAMES}

    def problems(self):
        return ["dns_%s=%d" % (name, getattr(self, name))
                for name in ("malformed", "partial", "tcp_split") if getattr(self, name)]


class DnsTable(object):
    """Pairs DNS queries with their responses across the batches of one capture.

    Parameters
    ----------
    timeout : float
        Seconds a query waits for its response before it is reported unanswered.
    max_pending : int
        Open queries kept; beyond it the oldest are reported unanswered.

    A query and a response pair up on (client, client port, server, server port,
    transport, transaction id). A query repeated while pending (same id and question) is
    a retransmission (``retransmits``); a response with no pending query is reported on
    its own (``message_type=response``). Output depends only on the packets, the settings
    and the batch boundaries, so a replay yields the same records in the same order.
    """

    def __init__(self, timeout=30.0, max_pending=100000):
        self.timeout = float(timeout)
        self.max_pending = int(max_pending)
        self.pending = collections.OrderedDict()   # key -> [ts, message, endpoints, retransmits]
        self.stats = DnsStats()
        self.clock = float("-inf")
        self._address = pcap.AddressText()

    def add_batch(self, batch):
        done = []
        if len(batch) == 0:
            return done
        for ts, endpoints, message in self._messages(batch):
            if message.qr == 0:
                self._query(ts, endpoints, message, done)
            else:
                self._response(ts, endpoints, message, done)
        self.clock = max(self.clock, float(np.max(batch.ts)))
        horizon = self.clock - self.timeout
        while self.pending:
            entry = next(iter(self.pending.values()))
            if entry[0] >= horizon:
                break
            self.pending.popitem(last=False)
            done.append(self._record(entry, None, None))
        while len(self.pending) > self.max_pending:
            self.stats.evicted += 1
            done.append(self._record(self.pending.popitem(last=False)[1], None, None))
        return done

    def flush(self):
        done = [self._record(entry, None, None) for entry in self.pending.values()]
        self.pending.clear()
        return done

    # -- extraction ---------------------------------------------------------------------

    def _messages(self, batch):
        """(ts, endpoints, DnsMessage) of the batch's DNS messages, in capture order."""
        proto = batch.proto
        whole = ~batch.fragment
        sport, dport = batch.sport, batch.dport
        on_port = np.isin(sport, DNS_PORTS) | np.isin(dport, DNS_PORTS)
        udp = whole & (proto == pcap.PROTO_UDP) & (batch.payload_caplen > 0)
        udp_port = udp & on_port
        udp_other = udp & ~on_port
        if udp_other.any():
            rows = np.flatnonzero(udp_other)
            keep = _header_candidates(batch.buffer, batch.payload_off[rows],
                                      batch.payload_caplen[rows])
            udp_other[rows[~keep]] = False
        tcp = (whole & (proto == pcap.PROTO_TCP) & (batch.payload_caplen > 2)
               & ((sport == 53) | (dport == 53)))
        rows = np.flatnonzero(udp_port | udp_other | tcp)
        if not len(rows):
            return []
        found = []
        buffer = memoryview(batch.buffer)
        columns = [getattr(batch, name)[rows].tolist() for name in (
            "ts", "proto", "sport", "dport", "payload_off", "payload_caplen", "payload_len",
            "src_hi", "src_lo", "dst_hi", "dst_lo", "ip_version")]
        other_list = udp_other[rows].tolist()
        for (ts, p, sp, dp, off, caplen, length, shi, slo, dhi, dlo, version), other in zip(
                zip(*columns), other_list):
            data = buffer[off:off + caplen]
            if caplen < length:
                self.stats.truncated += 1
            endpoints = None
            if p == pcap.PROTO_UDP:
                pieces = [data]
            else:
                pieces = []
                position = 0
                while position + 2 <= caplen:
                    size = (data[position] << 8) | data[position + 1]
                    if size == 0:
                        break
                    if position + 2 + size > caplen:
                        self.stats.tcp_split += 1
                        break
                    pieces.append(data[position + 2:position + 2 + size])
                    position += 2 + size
            for piece in pieces:
                try:
                    message = parse_message(piece, strict=other)
                    if other and not (message.counts[0] == 1 and message.qclass in (1, 255)):
                        raise DnsFormatError("not a one-question internet-class message")
                except (DnsFormatError, IndexError, struct.error, ValueError):
                    if not other:
                        self.stats.malformed += 1
                    continue
                self.stats.messages += 1
                self.stats.other_port += other
                if message.rr_error:
                    self.stats.partial += 1
                if endpoints is None:
                    endpoints = (self._address(shi, slo, version), sp,
                                 self._address(dhi, dlo, version), dp,
                                 "udp" if p == pcap.PROTO_UDP else "tcp")
                found.append((ts, endpoints, message))
        buffer.release()
        return found

    # -- pairing --------------------------------------------------------------------------

    def _query(self, ts, endpoints, message, done):
        key = endpoints + (message.trans_id,)
        entry = self.pending.get(key)
        if entry is not None:
            old = entry[1]
            if (old.qname, old.qtype) == (message.qname, message.qtype):
                entry[3] += 1
                return
            del self.pending[key]
            done.append(self._record(entry, None, None))
        self.pending[key] = [ts, message, endpoints, 0]

    def _response(self, ts, endpoints, message, done):
        src, sport, dest, dport, transport = endpoints
        key = (dest, dport, src, sport, transport, message.trans_id)
        entry = self.pending.pop(key, None)
        if entry is None:
            self.stats.unsolicited += 1
            done.append(self._record(None, ts, message, (dest, dport, src, sport, transport)))
        else:
            done.append(self._record(entry, ts, message))

    def _record(self, entry, response_ts, response, endpoints=None):
        if entry is not None:
            ts, query, endpoints, retransmits = entry
            if response is None:
                self.stats.unanswered += 1
        else:
            ts, query, retransmits = response_ts, None, 0
        src, sport, dest, dport, transport = endpoints
        asked = query if query is not None else response
        record = {"ts": round(ts, 6), "src": src, "src_ip": src, "src_port": sport,
                  "dest": dest, "dest_ip": dest, "dest_port": dport, "transport": transport,
                  "trans_id": asked.trans_id, "query": asked.qname, "qclass": asked.qclass,
                  "qclass_name": (QCLASS_NAMES.get(asked.qclass, "qclass-%d" % asked.qclass)
                                  if asked.qclass is not None else None),
                  "qtype": asked.qtype,
                  "qtype_name": (QTYPE_NAMES.get(asked.qtype, "query-%d" % asked.qtype)
                                 if asked.qtype is not None else None),
                  "RD": bool(asked.rd), "Z": asked.z,
                  "retransmits": retransmits or None}
        if response is None:
            record["message_type"] = "query"
        else:
            record.update(
                rcode=response.rcode, rcode_name=RCODE_NAMES.get(response.rcode,
                                                                 "rcode-%d" % response.rcode),
                AA=bool(response.aa), TC=bool(response.tc), RA=bool(response.ra),
                answer_count=len(response.answers),
                message_type="query_response" if query is not None else "response")
            if query is not None:
                record["rtt"] = round(max(response_ts - ts, 0.0), 6)
            if response.answers:
                record["answers"] = [text for _, _, text in response.answers]
                record["TTLs"] = [float(ttl) for _, ttl, _ in response.answers]
        return {name: record[name] for name in FIELDS if record.get(name) is not None}
