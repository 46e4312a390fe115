"""Packets to flow records (sourcetype ``c2hunt:flow``) with the features of ATT&CK AN1258.

Public API (used by the c2flow modular input and by the offline runner)
------------------------------------------------------------------------
``read_capture_flows(path, config=None, stats=None)``
    Generator of flow records for one capture file (pcap or pcapng), in a deterministic
    order. Each record is a dict of the event's fields (see ``FIELDS``); the event's
    ``_time`` is ``first_packet_time`` (epoch seconds), its sourcetype ``SOURCETYPE``,
    its source the capture path. ``config`` is a :class:`FlowConfig` (defaults when None).
    ``stats``, when given, is a :class:`c2hunt.capture.pcap.CaptureStats` filled while reading
    (skipped frames, truncation, corruption). Raises :class:`c2hunt.capture.pcap.CaptureFormatError`
    (a ``ValueError``) before yielding anything when the file is not a capture. Every flow
    still open at the end of the file is emitted with ``end_reason="end_of_capture"``: each
    file is read on its own, so its records do not depend on other files.
``read_capture_events(path, config=None, stats=None, dns_stats=None, dns=True)``
    ``(sourcetype, record)`` for the flow records and, from the same read, the DNS
    transactions (``c2hunt:dns``, :mod:`c2hunt.capture.dns_wire`) of one capture: what the c2flow
    input indexes. ``event_time(sourcetype, record)`` is the event's ``_time``.
``CaptureEvents(config, dns=True)``
    The incremental engine behind it (``add_batch``/``flush`` like ``FlowTable``).
``format_event(record)``
    The record as the one-line JSON text of the event (either sourcetype).
``FlowTable(config)``
    The incremental engine: ``add_batch(batch)`` returns the records a packet batch
    completed, ``flush()`` the rest.

Flow definition
---------------
A flow is bidirectional: (address pair, transport, ports, VLAN). ICMP echo request and
reply share a flow keyed by the echo identifier; other ICMP messages are keyed by type
and code. The initiator (``src``) is the sender of the flow's first packet, except that a
first TCP SYN-ACK, ICMP echo reply, or UDP datagram from a port below 1024 to one above
makes its receiver the initiator. ``*_out`` counts
what ``src`` sent, ``*_in`` what it received (CIM Network_Traffic convention).

A flow ends after ``idle_timeout`` seconds without packets, when a TCP pure SYN arrives
after a FIN or RST (port reuse), or at the end of the capture. A long flow is reported
in windows of ``active_timeout`` seconds counted from its first packet: each window is a
record with the same ``flow_id`` and an increasing ``record_seq``, so a week-long ICMP
tunnel yields a record every ``active_timeout`` seconds, not one at the end. When more
than ``max_flows`` flows are open, the least recently active ones are emitted early
(``end_reason="evicted"``): memory stays bounded for a capture of any size.

Each record names the application protocol in ``service`` (Zeek's names: dns, http, ssl,
ssh, socks, smb, ...) from the first payload bytes each side sent (:mod:`c2hunt.capture.services`).

Per-record memory: the first ``services.FIRST_BYTES`` payload bytes of each direction, the
distinct payload sizes, a payload sample of at most
``entropy_sample_bytes`` (the first payload bytes of the record, both directions), and at
most ``echo_pending_limit`` unanswered echo requests (a digest each).
"""
import collections
import contextlib
import gc
import hashlib
import json
import itertools
import math
import operator

import numpy as np

from c2hunt import beacon, entropy
from c2hunt.capture import dns_wire, http_request, pcap, services, ssh_handshake, tls

__all__ = ["FlowConfig", "FlowTable", "CaptureEvents", "read_capture_flows",
           "read_capture_events", "format_event", "event_time", "SOURCETYPE", "FIELDS"]

SOURCETYPE = "c2hunt:flow"

# Field order of the events (absent values are left out of the JSON).
FIELDS = (
    "first_packet_time", "last_packet_time", "duration", "src", "src_ip", "src_port",
    "dest", "dest_ip", "dest_port", "transport", "service", "socks_auth", "protocol",
    "protocol_version",
    "vlan",
    "icmp_type", "icmp_code", "packets", "packets_out", "packets_in", "bytes", "bytes_out",
    "bytes_in", "payload_bytes_out", "payload_bytes_in", "payload_packets",
    "payload_size_dc", "payload_size_min", "payload_size_median", "payload_size_max",
    "payload_size_mode", "payload_size_mode_share",
    "payload_entropy", "payload_entropy_norm", "payload_entropy_bytes", "echo_requests", "echo_replies",
    "echo_replies_matched", "echo_replies_mismatched", "echo_reply_mismatch_ratio",
    "tcp_flag", "flow_id", "record_seq", "flow_start_time", "flow_duration", "end_reason",
    "burst_count", "burst_data_count", "burst_period", "burst_score",
) + tls.TLS_FIELDS + http_request.HTTP_FIELDS + ssh_handshake.SSH_FIELDS

TRANSPORT_NAMES = {pcap.PROTO_ICMP: "icmp", pcap.PROTO_TCP: "tcp", pcap.PROTO_UDP: "udp",
                   pcap.PROTO_ICMPV6: "icmp", 132: "sctp", 47: "gre", 50: "esp"}
# Reply type -> request type, so both directions of an ICMP exchange share a key.
_ICMP_REQUEST_OF = {
    (pcap.PROTO_ICMP, pcap.ICMP_ECHO_REPLY): pcap.ICMP_ECHO_REQUEST,
    (pcap.PROTO_ICMP, pcap.ICMP_TIMESTAMP_REPLY): pcap.ICMP_TIMESTAMP_REQUEST,
    (pcap.PROTO_ICMP, pcap.ICMP_INFO_REPLY): pcap.ICMP_INFO_REQUEST,
    (pcap.PROTO_ICMP, pcap.ICMP_MASK_REPLY): pcap.ICMP_MASK_REQUEST,
    (pcap.PROTO_ICMPV6, pcap.ICMPV6_ECHO_REPLY): pcap.ICMPV6_ECHO_REQUEST,
}
_TCP_FIN, _TCP_SYN, _TCP_RST, _TCP_ACK = 0x01, 0x02, 0x04, 0x10
_TCP_FLAG_NAMES = ((0x01, "FIN"), (0x02, "SYN"), (0x04, "RST"), (0x08, "PSH"),
                   (0x10, "ACK"), (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR"))
_SIZE_KEY = 1 << 20   # payload sizes are clipped below this to pack (segment, size) keys

# Bursts inside a flow: C2 that keeps one connection open (HTTP/3 or WebSocket implants,
# long polls) checks in inside it, so its period shows in the flow's own packet timing, not
# in connection starts. A burst starts at a payload packet that follows BURST_GAP seconds
# without payload in the record (an exchange's packets are milliseconds apart; a check-in
# period is seconds to hours; 2 s lets a reply that follows a ping after a few slow round
# trips join its burst). Packets of at most KEEPALIVE_PAYLOAD bytes are not payload
# (TCP keepalive probes carry 0-1 byte). A burst whose initiator sent at least
# BURST_DATA_BYTES is a data burst: transport keepalives and pings (QUIC PING 20-40 bytes,
# WireGuard 32, NAT-T 1, SSH keepalive under 100) stay below it, a request with headers or
# a tasking result does not. At most MAX_BURSTS start times are kept per record (memory).
BURST_GAP = 2.0
KEEPALIVE_PAYLOAD = 1
BURST_DATA_BYTES = 128
MAX_BURSTS = 2048


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while a batch is folded in.

    A batch allocates tens of thousands of containers (flows, records, lists) and no
    reference cycles; each allocation burst makes the collector walk every open flow again,
    about a sixth of the flow stage's time on a busy capture. Reference counting still frees
    everything; the collector runs again once the batch is done (if it was on before).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class FlowConfig(object):
    """Settings of flow assembly, checked on construction.

    Parameters
    ----------
    idle_timeout : float
        Seconds without packets that end a flow (default 120).
    active_timeout : float
        Length in seconds of the windows a long flow is reported in (default 1800).
    max_flows : int
        Open flows kept; beyond it the least recently active are emitted (default 100000).
    entropy_sample_bytes : int
        Payload bytes per record the entropy is computed over (default 4096, 0 disables).
    echo_pending_limit : int
        Unanswered echo requests remembered per flow (default 256).
    batch_bytes : int
        Capture bytes decoded at a time (default 8 MiB).

    Raises
    ------
    ValueError
        A setting out of range, with the setting's name.
    """

    LIMITS = {"idle_timeout": (0.001, 30 * 86400.0), "active_timeout": (1.0, 30 * 86400.0),
              "max_flows": (1, 10000000), "entropy_sample_bytes": (0, 1 << 20),
              "echo_pending_limit": (0, 65536), "batch_bytes": (4096, 1 << 30)}

    def __init__(self, idle_timeout=120.0, active_timeout=1800.0, max_flows=100000,
                 entropy_sample_bytes=4096, echo_pending_limit=256, batch_bytes=8 << 20):
        values = {"idle_timeout": idle_timeout, "active_timeout": active_timeout,
                  "max_flows": max_flows, "entropy_sample_bytes": entropy_sample_bytes,
                  "echo_pending_limit": echo_pending_limit, "batch_bytes": batch_bytes}
        for name, value in values.items():
            low, high = self.LIMITS[name]
            kind = float if name.endswith("timeout") else int
            try:
                number = kind(value)
                if kind is int and number != float(value):
                    raise ValueError
            except (TypeError, ValueError):
                raise ValueError("%s must be a %s number, got %r"
                                 % (name, "whole" if kind is int else "", value))
            if not (low <= number <= high) or number != number:
                raise ValueError("%s must be between %s and %s, got %r"
                                 % (name, low, high, value))
            setattr(self, name, number)

    def as_dict(self):
        return {name: getattr(self, name) for name in sorted(self.LIMITS)}


# Columns of a flow record while it is assembled, one row per record (struct of arrays):
# name -> dtype. The identity is the initiator's view of the flow's first packet.
_RECORD_COLUMNS = (
    ("rid", np.int64), ("flow_start", np.float64), ("record_seq", np.int64),
    ("window", np.int64), ("init_lo", bool), ("first_ts", np.float64), ("last_ts", np.float64),
    ("packets_out", np.int64), ("packets_in", np.int64), ("bytes_out", np.int64),
    ("bytes_in", np.int64), ("payload_out", np.int64), ("payload_in", np.int64),
    ("tcp_flags", np.int64), ("closed", bool), ("icmp_type", np.int64), ("icmp_code", np.int64),
    ("echo_requests", np.int64), ("echo_replies", np.int64), ("echo_matched", np.int64),
    ("echo_mismatched", np.int64), ("n_bursts", np.int64), ("bursts_dropped", np.int64),
    ("last_payload_ts", np.float64), ("sample_len", np.int64), ("pair_epoch", np.int64),
    ("version", np.int64), ("src_hi", np.uint64), ("src_lo", np.uint64), ("dst_hi", np.uint64),
    ("dst_lo", np.uint64), ("src_port", np.int64), ("dest_port", np.int64), ("ported", bool),
    ("proto", np.int64), ("vlan", np.int64))
# What varies in length stays a Python object per record: the flow key (bytes), the payload
# sample and its pieces, the first payload bytes each way, the burst start times and bytes,
# The unanswered echo requests of a flow (shared by its windows) are kept by slot, for echo
# flows only (``_OpenRecords.pending``).
_RECORD_OBJECTS = ("key", "sample", "pieces", "first_out", "first_in", "burst_times",
                   "burst_bytes")
_REASON_NAMES = {1: "active_timeout", 2: "idle_timeout", 3: "tcp_port_reuse"}


class _Records(object):
    """A set of flow records as columns: ``num`` (name -> ndarray), ``obj`` (name -> list) and
    ``reasons`` (why each ended), in the order they ended."""

    def __init__(self, num, obj, reasons):
        self.num, self.obj, self.reasons = num, obj, reasons

    def __len__(self):
        return len(self.reasons)

    @classmethod
    def concatenate(cls, parts):
        parts = [part for part in parts if len(part)]
        if len(parts) == 1:
            return parts[0]
        num = {name: np.concatenate([part.num[name] for part in parts]) if parts
               else np.zeros(0, dtype) for name, dtype in _RECORD_COLUMNS}
        obj = {name: [value for part in parts for value in part.obj[name]]
               for name in _RECORD_OBJECTS}
        return cls(num, obj, [reason for part in parts for reason in part.reasons])

    def take(self, rows, reasons):
        """The records at ``rows`` (ndarray of indices), ending for ``reasons``."""
        index = rows.tolist()
        return _Records({name: column[rows] for name, column in self.num.items()},
                        {name: _items(column, index) for name, column in self.obj.items()},
                        reasons)


def _items(values, index):
    """``[values[i] for i in index]``, at C speed."""
    if len(index) > 1:
        return list(operator.itemgetter(*index)(values))
    return [values[i] for i in index]


class _OpenRecords(object):
    """The open records, one per open flow, as rows of arrays (slots) that are reused.

    ``index`` maps a flow key to its slot. Least recently active first is kept as a queue of
    (slot, stamp) entries: each batch appends the flows it touched, in order of their last
    packet (then key), with new stamps; an entry whose stamp is no longer its slot's is stale
    and skipped. The size multisets live in one table of (record id, size, count) rows: a
    part sorted by (record id, size) and a tail appended to since the last merge, so a batch
    adds its rows without copying the table, and the records that end are found by a binary
    search of the sorted part and, when one of them added rows since the last merge (its
    ``pair_epoch`` is the table's), one pass over the tail; their rows are zeroed where they
    are (a record id is never used again) and dropped at the next merge (when the tail
    outgrows the sorted part, or taken rows make up three quarters of the table).
    """

    def __init__(self):
        self._empty_slots()
        self.next_rid = 0
        self.pair_epoch = 0      # merges of the size table so far
        self._empty_pairs()

    def _empty_slots(self):
        self.index = {}
        self.capacity = 0
        self.num = {name: np.zeros(0, dtype) for name, dtype in _RECORD_COLUMNS}
        self.num["stamp"] = np.zeros(0, np.int64)
        self.obj = {name: [] for name in _RECORD_OBJECTS}
        self.pending = {}                           # slot -> unanswered echo requests
        self.free = []
        self.next_stamp = 0
        self.queue_slot = np.zeros(0, np.int64)
        self.queue_stamp = np.zeros(0, np.int64)
        self.head = 0

    def __len__(self):
        return len(self.index)

    def allocate(self, count):
        """``count`` free slots (ndarray), growing the arrays when needed."""
        if count > len(self.free):
            grow = max(count - len(self.free), self.capacity, 1024)
            for name, column in self.num.items():
                self.num[name] = np.concatenate((column, np.zeros(grow, column.dtype)))
            for values in self.obj.values():
                values.extend([None] * grow)
            self.free.extend(range(self.capacity + grow - 1, self.capacity - 1, -1))
            self.capacity += grow
        taken = self.free[len(self.free) - count:]
        del self.free[len(self.free) - count:]
        return np.array(taken, np.int64)

    def release(self, slots):
        if len(slots) == len(self.index):           # all of them (the end of a capture)
            self._empty_slots()
            return
        index, slot_list = self.index, slots.tolist()
        for key in _items(self.obj["key"], slot_list):
            del index[key]
        for values in self.obj.values():
            for slot in slot_list:
                values[slot] = None
        if self.pending:
            for slot in slot_list:
                self.pending.pop(slot, None)
        self.num["stamp"][slots] = -1
        self.free.extend(slot_list)

    def snapshot(self, slots, reasons):
        """The records in ``slots`` as a :class:`_Records` (copies)."""
        index = slots.tolist()
        return _Records({name: self.num[name][slots] for name, _ in _RECORD_COLUMNS},
                        {name: _items(self.obj[name], index) for name in _RECORD_OBJECTS},
                        reasons)

    def touch(self, slots, last_ts, tie):
        """``slots`` were active in this batch: to the back of the queue, ordered by last
        packet time then ``tie`` (the key order)."""
        rank = np.lexsort((tie, last_ts))
        slots = slots[rank]
        stamps = np.arange(self.next_stamp, self.next_stamp + len(slots), dtype=np.int64)
        self.next_stamp += len(slots)
        self.num["stamp"][slots] = stamps
        live = len(self.queue_slot) - self.head
        if live > 2 * len(self.index) + 4096:        # mostly stale entries: keep the live ones
            queue, stamp = self.queue_slot[self.head:], self.queue_stamp[self.head:]
            keep = self.num["stamp"][queue] == stamp
            self.queue_slot, self.queue_stamp, self.head = queue[keep], stamp[keep], 0
        elif self.head > len(self.queue_slot) // 2:
            self.queue_slot = self.queue_slot[self.head:]
            self.queue_stamp = self.queue_stamp[self.head:]
            self.head = 0
        self.queue_slot = np.concatenate((self.queue_slot, slots))
        self.queue_stamp = np.concatenate((self.queue_stamp, stamps))

    def front(self, limit=None, horizon=None):
        """Slots from the least recently active: the first ``limit``, or those whose last
        packet is before ``horizon`` up to the first that is not. They leave the queue."""
        taken = []
        count = 0
        step = 1024
        last_ts, stamp = self.num["last_ts"], self.num["stamp"]
        while self.head < len(self.queue_slot) and (limit is None or count < limit):
            stop = min(self.head + step, len(self.queue_slot))
            queue = self.queue_slot[self.head:stop]
            valid = np.flatnonzero(stamp[queue] == self.queue_stamp[self.head:stop])
            slots = queue[valid]
            if horizon is not None:
                old = last_ts[slots] < horizon
                k = len(slots) if old.all() else int(np.argmin(old))
            else:
                k = min(len(slots), limit - count)
            taken.append(slots[:k])
            count += k
            if k < len(slots):
                self.head += int(valid[k])
                break
            self.head = stop
            step *= 2
        return np.concatenate(taken) if taken else np.zeros(0, np.int64)

    # -- payload size multisets ----------------------------------------------------------

    def _empty_pairs(self):
        self.main_key = np.zeros(0, np.int64)       # record id * _SIZE_KEY + size, sorted
        self.main_count = np.zeros(0, np.int64)     # 0 once its record was taken
        self.tail_rid = np.zeros(1024, np.int64)    # rows added since the last merge
        self.tail_size = np.zeros(1024, np.int64)
        self.tail_count = np.zeros(1024, np.int64)
        self.tail_rows = 0
        self.live_pairs = 0                         # rows not yet taken

    @property
    def pair_rows(self):
        """Rows the size table holds, taken ones not yet dropped included (memory)."""
        return len(self.main_key) + self.tail_rows

    def add_pairs(self, rid, size, count):
        added = len(rid)
        end = self.tail_rows + added
        if end > len(self.tail_rid):                # grow by doubling: appends stay amortised
            room = max(2 * len(self.tail_rid), end)
            for name in ("tail_rid", "tail_size", "tail_count"):
                grown = np.zeros(room, np.int64)
                grown[:self.tail_rows] = getattr(self, name)[:self.tail_rows]
                setattr(self, name, grown)
        self.tail_rid[self.tail_rows:end] = rid
        self.tail_size[self.tail_rows:end] = size
        self.tail_count[self.tail_rows:end] = count
        self.tail_rows = end
        self.live_pairs += added
        if end > len(self.main_key) + 65536:
            self._merge_pairs()

    def _merge_pairs(self):
        """Tail and sorted part into one sorted part: taken rows dropped, the repeats of a
        (record, size) pair summed, so memory stays one row per distinct size."""
        n = self.tail_rows
        keys = np.concatenate((self.main_key, self.tail_rid[:n] * _SIZE_KEY + self.tail_size[:n]))
        counts = np.concatenate((self.main_count, self.tail_count[:n]))
        live = counts > 0
        merged, inverse = np.unique(keys[live], return_inverse=True)
        self.main_count = np.bincount(inverse.reshape(-1), weights=counts[live],
                                      minlength=len(merged)).astype(np.int64)
        self.main_key = merged
        self.tail_rows = 0
        self.live_pairs = len(merged)
        self.pair_epoch += 1

    def take_pairs(self, rids, epochs):
        """(row in ``rids``, size, count) of the records ``rids`` (which leave the table);
        ``epochs``: the ``pair_epoch`` of each, the merge count when it last added rows."""
        empty = np.zeros(0, np.int64)
        if not self.live_pairs or not len(rids):
            return empty, empty, empty
        rows, sizes, counts = [], [], []
        # The sorted part: each record's rows are one run, found by binary search.
        first = np.searchsorted(self.main_key, rids * _SIZE_KEY)
        run = np.searchsorted(self.main_key, (rids + 1) * _SIZE_KEY) - first
        if run.any():
            at = np.repeat(first - (np.cumsum(run) - run), run) + np.arange(int(run.sum()))
            rows.append(np.repeat(np.arange(len(rids)), run))
            sizes.append(self.main_key[at] % _SIZE_KEY)
            counts.append(self.main_count[at])
            self.main_count[at] = 0
        # The tail: one pass, unless all of them added their rows before the last merge.
        n = self.tail_rows
        if n and (epochs >= self.pair_epoch).any():
            by_rid = np.argsort(rids)
            sorted_rids = rids[by_rid]
            tail_rid = self.tail_rid[:n]
            near = np.minimum(np.searchsorted(sorted_rids, tail_rid), len(rids) - 1)
            hit = np.flatnonzero((sorted_rids[near] == tail_rid) & (self.tail_count[:n] > 0))
            rows.append(by_rid[near[hit]])
            sizes.append(self.tail_size[hit])
            counts.append(self.tail_count[hit])
            self.tail_count[hit] = 0
        out = tuple(np.concatenate(part) if part else empty for part in (rows, sizes, counts))
        self.live_pairs -= int(np.count_nonzero(out[2]))
        if self.live_pairs <= 0:
            self._empty_pairs()
        elif self.pair_rows > 4 * self.live_pairs + 65536:   # mostly taken rows: drop them
            self._merge_pairs()
        return out


class FlowTable(object):
    """Bounded table of open flows fed with :class:`c2hunt.capture.pcap.PacketBatch` objects.

    ``add_batch`` and ``flush`` return lists of records (dicts, see ``FIELDS``). The
    output depends only on the packets, the settings and the batch boundaries (which
    depend only on the capture and ``batch_bytes``), so a replay yields the same records in
    the same order.

    The open records are rows of arrays (:class:`_OpenRecords`); a batch's packets are
    grouped by flow key and cut into records with numpy, the records are written column by
    column, and the finished ones become dicts in one pass.
    """

    def __init__(self, config=None):
        self.config = config or FlowConfig()
        self.open = _OpenRecords()
        self.clock = -math.inf                     # latest packet time seen
        self._address = pcap.AddressText()

    @property
    def flows(self):
        """Flow key -> slot of its open record."""
        return self.open.index

    # -- public ------------------------------------------------------------------------

    def add_batch(self, batch):
        if len(batch) == 0:
            return []
        with _collector_paused():
            return self._add_batch(batch)

    def flush(self, reason="end_of_capture"):
        """Emit every open flow: ``idle_timeout`` for those idle at the last packet time,
        ``reason`` for the others."""
        with _collector_paused():
            return self._flush(reason)

    def _add_batch(self, batch):
        done = self._assemble(batch)
        self.clock = max(self.clock, float(np.max(batch.ts)))
        horizon = self.clock - self.config.idle_timeout
        expired = self.open.front(horizon=horizon)
        if len(expired):
            done.append(self._close(expired, ["idle_timeout"] * len(expired)))
        excess = len(self.open) - self.config.max_flows
        if excess > 0:
            evicted = self.open.front(limit=excess)
            done.append(self._close(evicted, ["evicted"] * len(evicted)))
        return self._finish(done)

    def _flush(self, reason):
        horizon = self.clock - self.config.idle_timeout
        slots = self.open.front(limit=len(self.open))
        idle = (self.open.num["last_ts"][slots] < horizon).tolist()
        done = self._close(slots, ["idle_timeout" if old else reason for old in idle])
        return self._finish([done])

    def _finish(self, parts):
        done = _Records.concatenate(parts)
        if not len(done):
            return []
        return _emit(done, self.open.take_pairs(done.num["rid"], done.num["pair_epoch"]),
                     self.config, self._address)

    def _close(self, slots, reasons):
        records = self.open.snapshot(slots, reasons)
        self.open.release(slots)
        return records

    # -- assembly ------------------------------------------------------------------------

    def _assemble(self, batch):
        """Fold a batch into the open records; returns the records that ended on the way.

        Packets are keyed (direction-free, ICMP by echo id or type), grouped by key, cut
        into records (a new flow, a new active-timeout window) and summed per record with
        numpy. A group's first record may continue its flow's open record (merged column by
        column); every record but a group's last ends in the batch; the last is written to
        the group's slot.
        """
        table, cfg = self.open, self.config
        ports = _transport_ports(batch)
        keys, src_is_lo = _canonical_keys(batch, ports)
        raw_keys, first_row, group, order = _group_by_key(keys)
        width = keys.dtype.itemsize
        key_blob = raw_keys[first_row].tobytes()
        group_keys = [key_blob[i:i + width] for i in range(0, len(key_blob), width)]
        get_slot = table.index.get
        group_slot = np.fromiter(map(get_slot, group_keys, itertools.repeat(-1)), np.int64,
                                 count=len(group_keys))
        carried = _carried_state(table.num, group_slot)
        cuts = _record_cuts(batch, ports, order, group, src_is_lo, carried, cfg)
        totals = _record_totals(batch, ports, order, cuts)

        starts, n_seg = cuts.starts, cuts.n_segments
        seg = np.arange(n_seg)
        seg_group = cuts.grp[starts]
        group_first = cuts.group_start[starts]
        group_last = np.ones(n_seg, bool)
        group_last[:-1] = seg_group[1:] != seg_group[:-1]
        seg_slot = group_slot[seg_group]
        new_flow, new_window = cuts.new_flow[starts], cuts.new_window[starts]
        merge = group_first & (seg_slot >= 0) & ~new_flow & ~new_window
        merged = np.flatnonzero(merge)
        merged_slot = seg_slot[merged]
        reason = np.where(new_window, 1, np.where(cuts.idle_break[starts], 2,
                                                  np.where(cuts.reuse[starts], 3, 0)))
        # The segment that started each record's flow here, or the group's first segment
        # when the flow was carried in (then the flow's identity is the slot's).
        anchor = np.maximum.accumulate(np.where(new_flow | group_first, seg, 0))
        chain_new = new_flow[anchor]
        carried_seg = np.flatnonzero(~chain_new)
        carried_slot = seg_slot[carried_seg]

        rec = _segment_records(batch, order, cuts, totals, anchor, table.num, seg_slot, merge,
                               merged, merged_slot, carried_seg, carried_slot)
        num = table.num
        rid = np.arange(table.next_rid, table.next_rid + n_seg, dtype=np.int64)
        rid[merged] = num["rid"][merged_slot]
        table.next_rid += n_seg
        rec["rid"] = rid

        obj = {"key": [group_keys[g] for g in seg_group.tolist()]}
        chains = self._echo(batch, ports, order, cuts, rec, obj, anchor, chain_new, seg_slot,
                            merged, merged_slot)
        self._payloads(batch, order, cuts, rec, obj, anchor, chain_new, carried_seg,
                       carried_slot, merged, merged_slot)

        # Ended here: a carried record its group's first segment does not continue, and
        # every record but a group's last; in the order of the records that follow them.
        ended_slot_at = np.flatnonzero(group_first & (seg_slot >= 0) & ~merge)
        ended_seg = np.flatnonzero(~group_last)
        reason_list = reason.tolist()
        ended = _Records.concatenate([
            table.snapshot(seg_slot[ended_slot_at],
                           [_REASON_NAMES.get(reason_list[s], "idle_timeout")
                            for s in ended_slot_at.tolist()]),
            _Records(rec, obj, [None] * n_seg).take(
                ended_seg, [_REASON_NAMES.get(reason_list[s + 1], "idle_timeout")
                            for s in ended_seg.tolist()])])
        if len(ended) and len(ended_slot_at) and len(ended_seg):
            follower = np.concatenate((ended_slot_at, ended_seg + 1))
            ended = ended.take(np.argsort(follower, kind="stable"),
                               [ended.reasons[i] for i in np.argsort(follower, kind="stable")])

        # Each group's last record is its flow's open record.
        last = np.flatnonzero(group_last)
        slots = seg_slot[last]
        new = np.flatnonzero(slots < 0)
        if len(new):
            slots[new] = table.allocate(len(new))
            table.index.update(zip([obj["key"][s] for s in last[new].tolist()],
                                   slots[new].tolist()))
        for name, column in rec.items():
            num[name][slots] = column[last]
        last_list, slot_list = last.tolist(), slots.tolist()
        for name, values in obj.items():
            stored = table.obj[name]
            for slot, s in zip(slot_list, last_list):
                stored[slot] = values[s]
        # A flow that started here has its own unanswered echo requests (or none).
        renewed = np.flatnonzero(chain_new[last])
        if table.pending:
            for slot in slots[renewed].tolist():
                table.pending.pop(slot, None)
        if chains:
            for slot, a in zip(slots[renewed].tolist(), anchor[last[renewed]].tolist()):
                if a in chains:
                    table.pending[slot] = chains[a]
        table.touch(slots, rec["last_ts"][last], seg_group[last])
        return [ended]

    def _echo(self, batch, ports, order, cuts, rec, obj, anchor, chain_new, seg_slot, merged,
              merged_slot):
        """Echo requests matched with their replies, packet by packet (only ICMP echo rows
        enter this loop) on digests computed for all of them at once. The unanswered
        requests belong to the flow: a new window keeps them."""
        n_seg = cuts.n_segments
        echo_rows = np.flatnonzero((ports.echo_request | ports.echo_reply)[order])
        matched = np.zeros(n_seg, np.int64)
        mismatched = np.zeros(n_seg, np.int64)
        chains = {}
        if len(echo_rows):
            is_request, tokens, digests = _echo_columns(batch, order[echo_rows])
            limit = self.config.echo_pending_limit
            stored = self.open.pending
            anchor_list, new_list = anchor.tolist(), chain_new.tolist()
            slot_list = seg_slot.tolist()
            hits, misses = [0] * n_seg, [0] * n_seg
            current = None                  # the chain of the previous echo packet
            for position, s in enumerate(cuts.segment[echo_rows].tolist()):
                a = anchor_list[s]
                if a != current:
                    pending = chains.get(a)
                    if pending is None and new_list[s]:
                        pending = collections.OrderedDict()
                    elif pending is None:
                        pending = stored.get(slot_list[s])
                        if pending is None:
                            pending = stored[slot_list[s]] = collections.OrderedDict()
                    chains[a], current = pending, a
                token = tokens[position]
                if is_request[position]:
                    if limit == 0:
                        continue
                    pending[token] = digests[position]
                    pending.move_to_end(token)
                    while len(pending) > limit:
                        pending.popitem(last=False)
                else:
                    request = pending.pop(token, None)
                    if request is not None:
                        hits[s] += 1
                        if request != digests[position]:
                            misses[s] += 1
            matched[:] = hits
            mismatched[:] = misses
        matched[merged] += self.open.num["echo_matched"][merged_slot]
        mismatched[merged] += self.open.num["echo_mismatched"][merged_slot]
        rec["echo_matched"], rec["echo_mismatched"] = matched, mismatched
        return chains

    def _payloads(self, batch, order, cuts, rec, obj, anchor, chain_new, carried_seg,
                  carried_slot, merged, merged_slot):
        """Payload sample (entropy), first payload bytes each way (service), payload sizes
        and bursts of each record, the merged ones appended to what their record had."""
        table, n_seg, segment = self.open, cuts.n_segments, cuts.segment
        num, stored = table.num, table.obj
        merged_list, merged_slots = merged.tolist(), merged_slot.tolist()
        payload_len = batch.payload_len[order]

        # Payload size multiset per record: (record, size) pairs with counts.
        has_payload = payload_len > 0
        size_keys = (segment[has_payload] * _SIZE_KEY
                     + np.minimum(payload_len[has_payload], _SIZE_KEY - 1))
        size_values, size_counts = np.unique(size_keys, return_counts=True)
        # Every record of the batch may have rows in the size table's tail (see take_pairs).
        rec["pair_epoch"] = np.full(n_seg, table.pair_epoch, np.int64)
        table.add_pairs(rec["rid"][size_values // _SIZE_KEY], size_values % _SIZE_KEY,
                        size_counts.astype(np.int64))

        # Sample: the room left in each record, then one gather.
        cap = self.config.entropy_sample_bytes
        room = np.full(n_seg, cap, np.int64)
        room[merged] = np.maximum(cap - num["sample_len"][merged_slot], 0)
        blob, bounds, pieces, piece_bounds = _gather_samples(batch, order, segment, room,
                                                             cuts.outbound)
        samples = [blob[low:high] for low, high in zip(bounds[:-1], bounds[1:])]
        piece_lists = [pieces[low:high] for low, high in zip(piece_bounds[:-1], piece_bounds[1:])]
        sample_len = np.diff(np.asarray(bounds, np.int64))
        for s, slot in zip(merged_list, merged_slots):
            if samples[s]:
                samples[s] = stored["sample"][slot] + samples[s]
                piece_lists[s] = stored["pieces"][slot] + piece_lists[s]
            else:
                samples[s], piece_lists[s] = stored["sample"][slot], stored["pieces"][slot]
        sample_len[merged] += num["sample_len"][merged_slot]
        rec["sample_len"] = sample_len
        obj["sample"], obj["pieces"] = samples, piece_lists

        # First payload bytes each way: the flow's first, whichever record carried them.
        first_out, first_in = _first_payloads(batch, order, cuts.outbound, segment, n_seg,
                                              services.FIRST_BYTES)
        chain_start = np.flatnonzero(anchor == np.arange(n_seg))
        chain_of = np.cumsum(anchor == np.arange(n_seg)) - 1
        for name, values in (("first_out", first_out), ("first_in", first_in)):
            has = np.fromiter(map(len, values), np.int64, count=n_seg) > 0
            first = np.minimum.reduceat(np.where(has, np.arange(n_seg), n_seg),
                                        chain_start)[chain_of] if n_seg else has
            pick = np.where(first <= np.arange(n_seg), first, -1).tolist()
            filled = [values[p] if p >= 0 else b"" for p in pick]
            carried_values = stored[name]
            for s, slot in zip(carried_seg.tolist(), carried_slot.tolist()):
                if carried_values[slot]:
                    filled[s] = carried_values[slot]
            obj[name] = filled

        # Bursts, at most MAX_BURSTS start times per record.
        carried_payload_ts = np.full(n_seg, np.nan)
        carried_payload_ts[merged] = num["last_payload_ts"][merged_slot]
        bursts = _bursts(cuts.ts, payload_len, cuts.outbound, segment, carried_payload_ts,
                         n_seg)
        low, high = bursts.bounds[:-1], bursts.bounds[1:]
        had = np.zeros(n_seg, np.int64)
        had[merged] = num["n_bursts"][merged_slot]
        keep = np.minimum(high, low + MAX_BURSTS - had)
        dropped = high - np.maximum(keep, low)
        dropped[merged] += num["bursts_dropped"][merged_slot]
        rec["n_bursts"] = had + np.maximum(keep - low, 0)
        rec["bursts_dropped"] = dropped
        last_payload = bursts.last_payload_ts
        last_payload[merged] = np.where(np.isnan(last_payload[merged]),
                                        num["last_payload_ts"][merged_slot],
                                        last_payload[merged])
        rec["last_payload_ts"] = last_payload
        time_list, byte_list = bursts.times.tolist(), bursts.bytes_out.tolist()
        spans = list(zip(low.tolist(), np.maximum(keep, low).tolist()))
        times = [time_list[a:b] for a, b in spans]
        sent = [byte_list[a:b] for a, b in spans]
        carry = bursts.carry_bytes.tolist()
        for s, slot in zip(merged_list, merged_slots):
            old_times, old_sent = stored["burst_times"][slot], stored["burst_bytes"][slot]
            if carry[s] and old_sent:
                old_sent = old_sent[:-1] + [old_sent[-1] + carry[s]]
            times[s] = old_times + times[s]
            sent[s] = old_sent + sent[s]
        obj["burst_times"], obj["burst_bytes"] = times, sent


def _carried_state(num, group_slot):
    """Per group, the state of its open record (defaults where it has none)."""
    has = group_slot >= 0
    slots = group_slot[has]
    n = len(group_slot)
    last = np.full(n, np.nan)
    start = np.full(n, np.nan)
    window = np.full(n, -1, np.int64)
    closed = np.zeros(n, bool)
    init_lo = np.zeros(n, bool)
    last[has] = num["last_ts"][slots]
    start[has] = num["flow_start"][slots]
    window[has] = num["window"][slots]
    closed[has] = num["closed"][slots]
    init_lo[has] = num["init_lo"][slots]
    return _Columns(has=has, last=last, start=start, window=window, closed=closed,
                    init_lo=init_lo)


def _segment_records(batch, order, cuts, totals, anchor, num, seg_slot, merge, merged,
                     merged_slot, carried_seg, carried_slot):
    """The numeric columns of the batch's records: the batch's totals, plus the open
    record's for a record that continues one; identity and record number from the flow."""
    starts = cuts.starts
    n_seg = cuts.n_segments
    rec = {"flow_start": cuts.flow_start[starts], "window": cuts.window[starts],
           "init_lo": cuts.init_lo[starts]}
    slot_seq = np.zeros(n_seg, np.int64)
    has_slot = np.flatnonzero(seg_slot >= 0)
    slot_seq[has_slot] = num["record_seq"][seg_slot[has_slot]] + (~merge[has_slot])
    base = np.where(cuts.new_flow[starts], 0, slot_seq)
    rec["record_seq"] = base[anchor] + (np.arange(n_seg) - anchor)

    first_ts, last_ts = totals.first_ts.copy(), totals.last_ts.copy()
    first_ts[merged] = np.minimum(first_ts[merged], num["first_ts"][merged_slot])
    last_ts[merged] = np.maximum(last_ts[merged], num["last_ts"][merged_slot])
    rec["first_ts"], rec["last_ts"] = first_ts, last_ts
    for name in ("packets_out", "packets_in", "bytes_out", "bytes_in", "payload_out",
                 "payload_in", "echo_requests", "echo_replies"):
        column = getattr(totals, name).astype(np.int64)
        column[merged] += num[name][merged_slot]
        rec[name] = column
    flags = totals.flags.astype(np.int64)
    flags[merged] |= num["tcp_flags"][merged_slot]
    closed = totals.closed.copy()
    closed[merged] |= num["closed"][merged_slot]
    rec["tcp_flags"], rec["closed"] = flags, closed
    # The first ICMP type seen (with its code) stays the record's.
    icmp_type = totals.icmp_type.astype(np.int64)
    icmp_code = np.where(icmp_type >= 0, totals.icmp_code, -1).astype(np.int64)
    had = num["icmp_type"][merged_slot]
    icmp_type[merged] = np.where(had >= 0, had, icmp_type[merged])
    icmp_code[merged] = np.where(had >= 0, num["icmp_code"][merged_slot], icmp_code[merged])
    rec["icmp_type"], rec["icmp_code"] = icmp_type, icmp_code

    # Identity seen from the initiator, from the flow's first packet here or its open record.
    rows = order[starts[anchor]]
    swap = cuts.lo_src[starts[anchor]] != cuts.init_lo[starts[anchor]]
    src_hi, src_lo = batch.src_hi[rows], batch.src_lo[rows]
    dst_hi, dst_lo = batch.dst_hi[rows], batch.dst_lo[rows]
    sport, dport = batch.sport[rows].astype(np.int64), batch.dport[rows].astype(np.int64)
    proto = batch.proto[rows].astype(np.int64)
    rec["src_hi"], rec["dst_hi"] = np.where(swap, dst_hi, src_hi), np.where(swap, src_hi, dst_hi)
    rec["src_lo"], rec["dst_lo"] = np.where(swap, dst_lo, src_lo), np.where(swap, src_lo, dst_lo)
    rec["src_port"] = np.where(swap, dport, sport)
    rec["dest_port"] = np.where(swap, sport, dport)
    rec["ported"] = (((proto == pcap.PROTO_TCP) | (proto == pcap.PROTO_UDP))
                     & ~batch.fragment[rows])
    rec["proto"] = proto
    rec["version"] = batch.ip_version[rows].astype(np.int64)
    rec["vlan"] = batch.vlan[rows].astype(np.int64)
    for name in _IDENTITY_COLUMNS:
        rec[name][carried_seg] = num[name][carried_slot]
    return rec


_IDENTITY_COLUMNS = ("src_hi", "src_lo", "dst_hi", "dst_lo", "src_port", "dest_port", "ported",
                     "proto", "version", "vlan")


# ---------------------------------------------------------------- assembly steps (numpy)

class _Columns(object):
    """Named arrays handed from one assembly step to the next."""

    def __init__(self, **columns):
        self.__dict__.update(columns)


def _is_echo(proto, itype, icmp_type, icmpv6_type):
    return (((proto == pcap.PROTO_ICMP) & (itype == icmp_type))
            | ((proto == pcap.PROTO_ICMPV6) & (itype == icmpv6_type)))


def _transport_ports(batch):
    """Per packet: protocol, ICMP type, echo request/reply, and the ports of its flow key.

    ICMP has no ports: an echo exchange is keyed by its identifier, any other message by
    its request type (a reply counts as its request) and code, so both directions of an
    exchange share one key.
    """
    proto = batch.proto.astype(np.int64)
    is_icmp = (proto == pcap.PROTO_ICMP) | (proto == pcap.PROTO_ICMPV6)
    itype = batch.icmp_type.astype(np.int64)
    echo_request = is_icmp & _is_echo(proto, itype, pcap.ICMP_ECHO_REQUEST,
                                      pcap.ICMPV6_ECHO_REQUEST)
    echo_reply = is_icmp & _is_echo(proto, itype, pcap.ICMP_ECHO_REPLY, pcap.ICMPV6_ECHO_REPLY)
    request_type = itype.copy()
    for (p, reply), request in _ICMP_REQUEST_OF.items():
        request_type[(proto == p) & (itype == reply)] = request
    icmp_port = np.where(echo_request | echo_reply, batch.icmp_id.astype(np.int64),
                         (request_type << 8) | batch.icmp_code.astype(np.int64))
    sport = np.where(is_icmp & (itype >= 0), icmp_port, batch.sport.astype(np.int64))
    dport = np.where(is_icmp & (itype >= 0), icmp_port, batch.dport.astype(np.int64))
    return _Columns(proto=proto, request_type=request_type, echo_request=echo_request,
                    echo_reply=echo_reply, sport=sport, dport=dport)


def _canonical_keys(batch, ports):
    """Direction-free flow keys (the lower endpoint first) and whether each packet's
    source is that lower endpoint."""
    sport, dport = ports.sport, ports.dport
    src_is_lo = ((batch.src_hi < batch.dst_hi)
                 | ((batch.src_hi == batch.dst_hi)
                    & ((batch.src_lo < batch.dst_lo)
                       | ((batch.src_lo == batch.dst_lo) & (sport <= dport)))))
    keys = np.zeros(len(batch), dtype=[("a", ">u8"), ("b", ">u8"), ("c", ">u8"), ("d", ">u8"),
                                       ("ports", ">u4"), ("proto", "u1"), ("vlan", ">u2")])
    keys["a"] = np.where(src_is_lo, batch.src_hi, batch.dst_hi)
    keys["b"] = np.where(src_is_lo, batch.src_lo, batch.dst_lo)
    keys["c"] = np.where(src_is_lo, batch.dst_hi, batch.src_hi)
    keys["d"] = np.where(src_is_lo, batch.dst_lo, batch.src_lo)
    lo_port = np.where(src_is_lo, sport, dport)
    hi_port = np.where(src_is_lo, dport, sport)
    keys["ports"] = (lo_port << 16) | hi_port
    keys["proto"] = ports.proto
    keys["vlan"] = batch.vlan
    return keys, src_is_lo


def _group_by_key(keys):
    """(keys as bytes, first row of each group, group of each row, rows ordered by group
    with their order kept within a group). Groups are numbered in the order of the keys'
    bytes (big-endian fields: the order of the fields as numbers, most significant first)."""
    raw_keys = keys.view(np.dtype((np.void, keys.dtype.itemsize)))
    # A stable lexsort of native integer columns (ports, protocol and VLAN in one) is
    # faster than sorting the 39-byte keys as opaque bytes.
    rest = ((keys["ports"].astype(np.uint64) << np.uint64(24))
            | (keys["proto"].astype(np.uint64) << np.uint64(16)) | keys["vlan"].astype(np.uint64))
    columns = [rest] + [keys[name].astype(np.uint64) for name in ("d", "c", "b", "a")]
    order = np.lexsort(columns)
    first = np.zeros(len(order), bool)
    first[:1] = True
    for column in columns:
        ordered = column[order]
        first[1:] |= ordered[1:] != ordered[:-1]
    group = np.empty(len(order), np.int64)
    group[order] = np.cumsum(first) - 1
    return raw_keys, order[first], group, order


def _record_cuts(batch, ports, order, group, src_is_lo, carried, cfg):
    """Where the packets, ordered by group, start a new flow or a new record, and who
    initiated each packet's flow.

    A flow starts at a group's first packet (nothing carried in), after an idle gap, or at
    a TCP pure SYN after a FIN or RST (port reuse); a record also starts at a group's first
    packet and at each active-timeout window of its flow.
    """
    n = len(order)
    proto = ports.proto
    ts = batch.ts[order]
    grp = group[order]
    flags = batch.tcp_flags[order].astype(np.int64)
    is_tcp = proto[order] == pcap.PROTO_TCP
    lo_src = src_is_lo[order]
    index = np.arange(n)
    group_start = np.ones(n, bool)
    group_start[1:] = grp[1:] != grp[:-1]

    # State carried in from earlier batches, per group (see _carried_state).
    has_state, st_last, st_start = carried.has, carried.last, carried.start
    st_window, st_closed, st_init_lo = carried.window, carried.closed, carried.init_lo

    # 1. Idle boundaries (a gap longer than idle_timeout starts a new flow).
    previous_ts = np.empty(n)
    previous_ts[1:] = ts[:-1]
    previous_ts[group_start] = st_last[grp[group_start]]
    with np.errstate(invalid="ignore"):
        idle_break = (ts - previous_ts) > cfg.idle_timeout
    fresh = group_start & ~has_state[grp]
    # 2. TCP port reuse: a pure SYN after a FIN or RST of the same flow.
    pure_syn = is_tcp & ((flags & (_TCP_SYN | _TCP_ACK)) == _TCP_SYN)
    fin_rst = is_tcp & ((flags & (_TCP_FIN | _TCP_RST)) != 0)
    continuing_closed = group_start & st_closed[grp] & ~idle_break
    candidate = pure_syn & ~fresh & ~idle_break
    # A closed flow carried in counts as a FIN at the group's first packet, unless that
    # packet is itself the SYN that reuses the ports.
    carried_closed = continuing_closed & ~pure_syn
    anchor = np.where(fresh | idle_break | group_start | candidate, index, -1)
    anchor_before = np.maximum.accumulate(np.concatenate(([-1], anchor[:-1])))
    closed_count = np.cumsum(fin_rst | carried_closed)
    count_before = np.concatenate(([0], closed_count[:-1]))
    since = np.where(anchor_before >= 0, anchor_before, 0)
    at_anchor_start = np.concatenate(([0], closed_count))[since]
    reuse = candidate & ~group_start & ((count_before - at_anchor_start) > 0)
    reuse |= candidate & group_start & continuing_closed
    new_flow = fresh | idle_break | reuse

    # 3. Active-timeout windows counted from each flow's first packet.
    flow_anchor = np.maximum.accumulate(np.where(new_flow | group_start, index, 0))
    anchor_new = new_flow[flow_anchor]
    flow_start = np.where(anchor_new, ts[flow_anchor], st_start[grp])
    window = np.maximum(np.floor((ts - flow_start) / cfg.active_timeout), 0).astype(np.int64)
    previous_window = np.empty(n, np.int64)
    previous_window[1:] = window[:-1]
    previous_window[group_start] = st_window[grp[group_start]]
    new_window = ~new_flow & (window != previous_window)
    # Initiator of each packet's flow: lower endpoint or not. A flow whose first packet is
    # a SYN-ACK, an echo reply, or a UDP datagram from a well-known port (< 1024) to an
    # ephemeral one (a DNS answer whose query was not captured) was started by that
    # packet's receiver.
    udp_from_server = ((proto[order] == pcap.PROTO_UDP) & (batch.sport[order] < 1024)
                       & (batch.dport[order] >= 1024))
    flips = ((is_tcp & ((flags & (_TCP_SYN | _TCP_ACK)) == (_TCP_SYN | _TCP_ACK)))
             | ports.echo_reply[order] | udp_from_server)
    start_init_lo = lo_src ^ flips
    init_lo = np.where(anchor_new, start_init_lo[flow_anchor], st_init_lo[grp])

    record_start = group_start | new_flow | new_window
    return _Columns(ts=ts, grp=grp, flags=flags, fin_rst=fin_rst, lo_src=lo_src,
                    group_start=group_start, idle_break=idle_break, reuse=reuse,
                    new_flow=new_flow, new_window=new_window, window=window,
                    flow_start=flow_start, init_lo=init_lo, outbound=lo_src == init_lo,
                    record_start=record_start, starts=np.flatnonzero(record_start),
                    segment=np.cumsum(record_start) - 1,
                    n_segments=int(np.count_nonzero(record_start)))


def _record_totals(batch, ports, order, cuts):
    """Per record: packets, bytes and payload bytes each way, first and last time, TCP
    flags, whether it closed, its ICMP type and code, and its echo requests and replies."""
    starts, outbound, n = cuts.starts, cuts.outbound, len(order)
    ip_len = batch.ip_len[order]
    payload_len = batch.payload_len[order]
    packets_out = np.add.reduceat(outbound.astype(np.int64), starts)
    packets_all = np.diff(np.append(starts, n))
    bytes_out = np.add.reduceat(np.where(outbound, ip_len, 0), starts)
    bytes_all = np.add.reduceat(ip_len, starts)
    payload_out = np.add.reduceat(np.where(outbound, payload_len, 0), starts)
    payload_all = np.add.reduceat(payload_len, starts)
    first_type = batch.icmp_type[order].astype(np.int64)
    return _Columns(
        packets_out=packets_out, packets_in=packets_all - packets_out,
        bytes_out=bytes_out, bytes_in=bytes_all - bytes_out,
        payload_out=payload_out, payload_in=payload_all - payload_out,
        first_ts=np.minimum.reduceat(cuts.ts, starts),
        last_ts=np.maximum.reduceat(cuts.ts, starts),
        flags=np.bitwise_or.reduceat(cuts.flags, starts),
        closed=np.add.reduceat(cuts.fin_rst.astype(np.int64), starts) > 0,
        # Echo flows report the request type whichever direction the record starts with.
        icmp_type=np.where(first_type[starts] >= 0, ports.request_type[order][starts], -1),
        icmp_code=batch.icmp_code[order][starts].astype(np.int64),
        echo_requests=np.add.reduceat(ports.echo_request[order].astype(np.int64), starts),
        echo_replies=np.add.reduceat(ports.echo_reply[order].astype(np.int64), starts))


def _bursts(ts, payload_len, outbound, segment, carried_payload_ts, n_segments):
    """Payload bursts per record, for packets ordered by record (see ``BURST_GAP``).

    ``carried_payload_ts[s]`` is the last payload time of the flow record ``s`` continues
    from an earlier batch (NaN when it starts here). Returns the bursts' start times and
    initiator payload bytes (record ``s``'s are ``[bounds[s]:bounds[s + 1]]``), the initiator
    bytes of packets that continue a burst begun in an earlier batch (``carry_bytes``) and
    each record's last payload time here (NaN without payload).
    """
    rows = np.flatnonzero(payload_len > KEEPALIVE_PAYLOAD)
    seg = segment[rows]
    t = ts[rows]
    sent = np.where(outbound[rows], payload_len[rows], 0).astype(np.float64)
    previous = np.empty(len(rows))
    previous[1:] = t[:-1]
    first = np.ones(len(rows), bool)
    first[1:] = seg[1:] != seg[:-1]
    previous[first] = carried_payload_ts[seg[first]]
    with np.errstate(invalid="ignore"):
        starts = ~((t - previous) <= BURST_GAP)     # nothing before (NaN) starts a burst
    index = np.arange(len(rows))
    owner = np.maximum.accumulate(np.where(starts, index, -1)) if len(rows) else index
    carried = (owner < 0) | (seg[np.maximum(owner, 0)] != seg)
    burst_of = np.cumsum(starts) - 1
    n_bursts = int(np.count_nonzero(starts))
    burst_bytes = np.bincount(burst_of[~carried], weights=sent[~carried], minlength=n_bursts)
    burst_seg = seg[starts]
    last_ts = np.full(n_segments, np.nan)
    last_row = np.flatnonzero(np.append(seg[1:] != seg[:-1], True)) if len(rows) else index
    last_ts[seg[last_row]] = t[last_row]
    return _Columns(times=t[starts], bytes_out=burst_bytes[:n_bursts].astype(np.int64),
                    bounds=np.searchsorted(burst_seg, np.arange(n_segments + 1)),
                    carry_bytes=np.bincount(seg[carried], weights=sent[carried],
                                            minlength=n_segments).astype(np.int64),
                    last_payload_ts=last_ts)


def _gather(buffer, offsets, lengths):
    """The bytes ``buffer[offsets[i]:offsets[i] + lengths[i]]`` for all i, concatenated."""
    # Joining slices of a memoryview beats a fancy-index gather (np.repeat of a byte index)
    # by about 4x here: payloads are contiguous runs of hundreds of bytes.
    used = np.flatnonzero(lengths > 0)
    starts = offsets[used].tolist()
    ends = (offsets[used] + lengths[used]).tolist()
    view = memoryview(buffer)
    try:
        return b"".join([view[start:end] for start, end in zip(starts, ends)])
    finally:
        view.release()


def _gather_samples(batch, order, segment, room, outbound):
    """Each record's payload sample: the first ``room[s]`` payload bytes of record ``s``.

    Returns (bytes of all samples, bounds, pieces, piece bounds): record ``s``'s sample is
    ``blob[bounds[s]:bounds[s + 1]]``, made of the packet payloads
    ``pieces[piece_bounds[s]:piece_bounds[s + 1]]`` (their lengths, negative for those the
    responder sent), so a parser can follow each side's byte stream.
    """
    n_segments = len(room)
    rows = np.flatnonzero(batch.payload_caplen[order] > 0)
    if not len(rows) or not room.any():
        return b"", [0] * (n_segments + 1), [], [0] * (n_segments + 1)
    seg = segment[rows]
    original = order[rows]
    caplen = batch.payload_caplen[original]
    before_row = np.cumsum(caplen) - caplen
    before = before_row - before_row[np.searchsorted(seg, seg)]   # bytes earlier in record
    take = np.clip(room[seg] - before, 0, caplen)
    blob = _gather(batch.buffer, batch.payload_off[original], take)
    per_record = np.bincount(seg, weights=take, minlength=n_segments).astype(np.int64)
    used = take > 0
    pieces = np.where(outbound[rows], take, -take)[used]
    piece_bounds = np.searchsorted(seg[used], np.arange(n_segments + 1))
    return (blob, [0] + np.cumsum(per_record).tolist(), pieces.tolist(),
            piece_bounds.tolist())


def _first_payloads(batch, order, outbound, segment, n_segments, cap):
    """Per record, the first ``cap`` bytes of the first payload sent each way (or b"")."""
    has_payload = batch.payload_caplen[order] > 0
    found = []
    for direction in (outbound, ~outbound):
        rows = np.flatnonzero(has_payload & direction)
        firsts = [b""] * n_segments
        segments, position = np.unique(segment[rows], return_index=True)
        original = order[rows[position]]
        lengths = np.minimum(batch.payload_caplen[original], cap)
        blob = _gather(batch.buffer, batch.payload_off[original], lengths)
        bounds = np.cumsum(lengths).tolist()
        start = 0
        for record, end in zip(segments.tolist(), bounds):
            firsts[record] = blob[start:end]
            start = end
        found.append(firsts)
    return found


# Echo payloads up to this size are their own digest (pings carry 32-64 bytes); longer ones
# (tunnels) are kept as an 8-byte BLAKE2b digest with their length.
ECHO_DIGEST_BYTES = 64


def _echo_columns(batch, rows):
    """(is request, (identifier, sequence), payload digest) lists for ICMP echo rows.

    The digest is the captured payload itself when it is whole and at most
    ``ECHO_DIGEST_BYTES`` long, else (its 8-byte BLAKE2b digest, the payload length the
    headers state): a reply "matches" its request when the digests are equal.
    """
    if not len(rows):
        return [], [], []
    proto = batch.proto[rows]
    kind = batch.icmp_type[rows]
    is_request = _is_echo(proto, kind, pcap.ICMP_ECHO_REQUEST, pcap.ICMPV6_ECHO_REQUEST)
    caplen = batch.payload_caplen[rows]
    blob = _gather(batch.buffer, batch.payload_off[rows], caplen)
    ends = np.cumsum(caplen)
    digests = list(map(blob.__getitem__, map(slice, (ends - caplen).tolist(), ends.tolist())))
    payload_len = batch.payload_len[rows]
    for i in np.flatnonzero((caplen > ECHO_DIGEST_BYTES) | (caplen != payload_len)).tolist():
        digests[i] = (hashlib.blake2b(digests[i], digest_size=8).digest(), int(payload_len[i]))
    # (identifier, sequence) as one number: the key of an unanswered request.
    tokens = ((batch.icmp_id[rows].astype(np.int64) << 16) | batch.icmp_seq[rows]).tolist()
    return is_request.tolist(), tokens, digests


def rounded(values, digits):
    """``[round(v, digits) for v in values]`` for floats, vectorised, with the same results.

    Python rounds the exact binary value to ``digits`` decimals (half to even) and returns the
    double nearest that decimal. ``rint(v * 10**digits) / 10**digits`` gives the same double
    whenever the rounding error of the product (at most half its spacing) cannot carry it
    across a half: the values within half a spacing of a half (capture times scaled to
    microseconds have a spacing of 1/4: only those ending in exactly .5), and huge or
    non-finite ones, are rounded by Python itself.
    """
    x = np.asarray(values, np.float64)
    scale = 10.0 ** digits
    with np.errstate(all="ignore"):
        y = x * scale
        result = (np.rint(y) / scale).tolist()
        near_half = np.abs(np.abs(y - np.trunc(y)) - 0.5) <= 0.5 * np.spacing(np.abs(y))
        unsafe = np.flatnonzero(~(np.abs(y) < 2.0 ** 52) | near_half)
    for i in unsafe.tolist():
        result[i] = round(float(x[i]), digits)
    return result


def payload_entropy(samples):
    """Entropy of each payload sample (bytes or bytearray) with the c2entropy kernel.

    Returns (bits per byte, normalised 0..1) lists; None where a sample is empty (no
    entropy) or shorter than two bytes (no normalised entropy).
    """
    if not samples:
        return [], []
    bits, n_distinct, length = entropy.byte_sample_entropy(samples)
    norm = entropy.normalised_entropy(bits, length, n_distinct, entropy.BYTE_ALPHABET)
    return ([v if v == v else None for v in rounded(bits, 4)],
            [v if v == v else None for v in rounded(norm, 4)])


def _size_summaries(n_records, row, size, count):
    """Per record, the summary of its payload size multiset given as (record, size, count)
    rows (a size may repeat): (packets, distinct sizes, min, median, max, mode, share of the
    mode), or None when it has no payload.

    The median of an even count is the mean of the two middle values; the mode is the
    commonest size, the larger on ties. All multisets at once, in one sort.
    """
    out = [None] * n_records
    if not len(row):
        return out
    key = row * _SIZE_KEY + size
    order = np.argsort(key)
    key = key[order]
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    counts = np.add.reduceat(count[order], starts)           # a size's count, summed
    owner, sizes = key[starts] // _SIZE_KEY, key[starts] % _SIZE_KEY   # by record, then size
    lengths = np.bincount(owner, minlength=n_records)
    start = np.cumsum(lengths) - lengths               # first pair of each record
    used = np.flatnonzero(lengths)
    first, last = start[used], start[used] + lengths[used] - 1
    before = np.cumsum(counts) - counts                # packets of earlier pairs
    total = np.add.reduceat(counts, first)
    base = before[first]
    # The pair holding rank r (0-based, in size order) is the last whose count-before <= r.
    lower = sizes[np.searchsorted(before, base + (total - 1) // 2, side="right") - 1]
    upper = sizes[np.searchsorted(before, base + total // 2, side="right") - 1]
    median = (lower + upper) / 2.0
    # The mode: the last (largest) size with its record's highest count, without a sort.
    top = np.maximum.reduceat(counts, first)
    is_top = counts == np.repeat(top, lengths[used])
    mode_at = np.maximum.reduceat(np.where(is_top, np.arange(len(counts)), -1), first)
    columns = zip(used.tolist(), total.tolist(), lengths[used].tolist(), sizes[first].tolist(),
                  median.tolist(), sizes[last].tolist(), sizes[mode_at].tolist(),
                  rounded(counts[mode_at] / total, 4))
    for index, packets, distinct, low, middle, high, mode, mode_share in columns:
        out[index] = (packets, distinct, low, middle, high, mode, mode_share)
    return out


_TCP_FLAG_TEXT = [",".join(name for bit, name in _TCP_FLAG_NAMES if value & bit) or None
                  for value in range(256)]


def _emit(done, pairs, config, address):
    """The records' events (dicts, field order of ``FIELDS``, absent values left out), built
    from the columns in one pass, sorted by first packet time, flow id and record number."""
    # The columns are put in the events' order first (one lexsort instead of a sort of dicts):
    # the flow id's hex text sorts as its 8 digest bytes read as a big-endian number.
    n = len(done)
    start_bytes = done.num["flow_start"].astype("<f8").tobytes()
    digests = [hashlib.blake2b(key + start_bytes[8 * i:8 * i + 8], digest_size=8).digest()
               for i, key in enumerate(done.obj["key"])]
    first_rounded = np.asarray(rounded(done.num["first_ts"], 6), np.float64)
    order = np.lexsort((done.num["record_seq"], np.frombuffer(b"".join(digests), ">u8"),
                        first_rounded))
    index = order.tolist()
    done = done.take(order, _items(done.reasons, index))
    digests = _items(digests, index)
    position = np.empty(n, np.int64)
    position[order] = np.arange(n)
    pairs = (position[pairs[0]],) + tuple(pairs[1:])

    num, obj = done.num, done.obj
    samples = obj["sample"]
    bits, norm = payload_entropy(samples)
    summaries = _size_summaries(n, *pairs)
    first_ts, last_ts, flow_start = num["first_ts"], num["last_ts"], num["flow_start"]
    times = zip(first_rounded[order].tolist(), rounded(last_ts, 6),
                rounded(last_ts - first_ts, 6), rounded(flow_start, 6),
                rounded(last_ts - flow_start, 6))
    version = num["version"].tolist()
    src = [address(hi, lo, v) for hi, lo, v
           in zip(num["src_hi"].tolist(), num["src_lo"].tolist(), version)]
    dest = [address(hi, lo, v) for hi, lo, v
            in zip(num["dst_hi"].tolist(), num["dst_lo"].tolist(), version)]
    flow_ids = [digest.hex() for digest in digests]
    matched = num["echo_matched"]
    mismatch_ratio = rounded(num["echo_mismatched"] / np.maximum(matched, 1), 4)
    columns = zip(times, src, dest, num["ported"].tolist(), num["src_port"].tolist(),
                  num["dest_port"].tolist(), num["proto"].tolist(), version,
                  num["vlan"].tolist(), obj["first_out"], obj["first_in"],
                  num["icmp_type"].tolist(), num["icmp_code"].tolist(),
                  num["packets_out"].tolist(), num["packets_in"].tolist(),
                  num["bytes_out"].tolist(), num["bytes_in"].tolist(),
                  num["payload_out"].tolist(), num["payload_in"].tolist(), summaries,
                  bits, norm, num["sample_len"].tolist(), num["echo_requests"].tolist(),
                  num["echo_replies"].tolist(), num["echo_matched"].tolist(),
                  num["echo_mismatched"].tolist(), mismatch_ratio, num["tcp_flags"].tolist(),
                  flow_ids, num["record_seq"].tolist(), done.reasons)
    identify = services.identify_service
    records = []
    for (when, src_text, dest_text, ported, sport, dport, proto, ip_version, vlan, first_out,
         first_in, icmp_type, icmp_code, packets_out, packets_in, bytes_out, bytes_in,
         payload_out, payload_in, size_summary, entropy_bits, entropy_norm, sample_bytes,
         echo_requests, echo_replies, echo_matched, echo_mismatched, ratio, tcp_flags,
         flow_id, record_seq, reason) in columns:
        first, last, duration, started, flow_duration = when
        record = {"first_packet_time": first, "last_packet_time": last,
                  "duration": duration, "src": src_text, "src_ip": src_text}
        if ported:
            record["src_port"] = sport
        record["dest"] = dest_text
        record["dest_ip"] = dest_text
        if ported:
            record["dest_port"] = dport
        transport = TRANSPORT_NAMES.get(proto)
        record["transport"] = transport or str(proto)
        service = identify(first_out, first_in, transport)
        if service is not None:
            record["service"] = service
            if service == "socks":
                auth = services.socks_auth(first_out, first_in)
                if auth is not None:
                    record["socks_auth"] = auth
        record["protocol"] = "ip"
        record["protocol_version"] = ip_version
        if vlan:
            record["vlan"] = vlan
        icmp = proto == pcap.PROTO_ICMP or proto == pcap.PROTO_ICMPV6
        if icmp:
            if icmp_type >= 0:
                record["icmp_type"] = icmp_type
            if icmp_code >= 0:
                record["icmp_code"] = icmp_code
        record["packets"] = packets_out + packets_in
        record["packets_out"] = packets_out
        record["packets_in"] = packets_in
        record["bytes"] = bytes_out + bytes_in
        record["bytes_out"] = bytes_out
        record["bytes_in"] = bytes_in
        record["payload_bytes_out"] = payload_out
        record["payload_bytes_in"] = payload_in
        if size_summary is None:
            record["payload_packets"] = 0
        else:
            packets, distinct, low, middle, high, mode, mode_share = size_summary
            record["payload_packets"] = packets
            record["payload_size_dc"] = distinct
            record["payload_size_min"] = low
            record["payload_size_median"] = middle
            record["payload_size_max"] = high
            # The commonest size (the larger on ties) and its share: fixed-size cells (Tor).
            record["payload_size_mode"] = mode
            record["payload_size_mode_share"] = mode_share
        if sample_bytes:
            if entropy_bits is not None:
                record["payload_entropy"] = entropy_bits
            if entropy_norm is not None:
                record["payload_entropy_norm"] = entropy_norm
            record["payload_entropy_bytes"] = sample_bytes
        if icmp and (echo_requests or echo_replies):
            record["echo_requests"] = echo_requests
            record["echo_replies"] = echo_replies
            record["echo_replies_matched"] = echo_matched
            record["echo_replies_mismatched"] = echo_mismatched
            if echo_matched:
                record["echo_reply_mismatch_ratio"] = ratio
        if proto == pcap.PROTO_TCP and _TCP_FLAG_TEXT[tcp_flags & 0xFF] is not None:
            record["tcp_flag"] = _TCP_FLAG_TEXT[tcp_flags & 0xFF]
        record["flow_id"] = flow_id
        record["record_seq"] = record_seq
        record["flow_start_time"] = started
        record["flow_duration"] = flow_duration
        record["end_reason"] = reason
        records.append(record)
    _add_burst_scores(records, obj["burst_times"], obj["burst_bytes"],
                      num["bursts_dropped"].tolist(), config.active_timeout)
    for record, sample, pieces in zip(records, samples, obj["pieces"]):
        service = record.get("service")
        if service is None or record["record_seq"] != 0:
            continue
        if service == "ssl":
            record.update(tls.handshake_fields(bytes(sample)))   # SNI, JA3/JA3S, certificate
        elif service == "http":
            record.update(http_request.request_fields(bytes(sample)))   # Host, agent, headers
        elif service == "ssh":
            record.update(ssh_handshake.handshake_fields(bytes(sample), pieces))
    return records


def _add_burst_scores(records, burst_times, burst_bytes, dropped, window):
    """Burst fields of each record: how many bursts, how many carried data, and the period
    and regularity of their start times scored by the c2beacon kernel (one group per record,
    all records in one call). Timing only: inside one connection the bursts mix transport
    pings with data exchanges, so their sizes are no check-in fingerprint; the data-burst
    count says whether data moved. The observation window is a record's (``window``, the
    active timeout): a record's score depends on its own bursts only, and check-ins that last
    the whole window count more than a short run (the kernel's coverage)."""
    lengths = np.fromiter(map(len, burst_times), np.int64, count=len(records))
    with_bursts = np.flatnonzero(lengths)
    if not len(with_bursts):
        return
    sent = np.fromiter((b for values in burst_bytes for b in values), np.int64,
                       count=int(lengths.sum()))
    data = np.add.reduceat((sent >= BURST_DATA_BYTES).astype(np.int64),
                           (np.cumsum(lengths) - lengths)[with_bursts])
    for i, count, data_count in zip(with_bursts.tolist(), (lengths[with_bursts]).tolist(),
                                    data.tolist()):
        records[i]["burst_count"] = count + dropped[i]
        records[i]["burst_data_count"] = data_count
    scored = np.flatnonzero(lengths >= beacon.DEFAULT_MIN_COUNT)
    if not len(scored):
        return
    group = np.repeat(np.arange(len(scored)), lengths[scored])
    times = np.fromiter((t for i in scored.tolist() for t in burst_times[i]), np.float64,
                        count=len(group))
    out = beacon.score_groups(group, times, n_groups=len(scored), window=window)
    for k, i in enumerate(scored.tolist()):
        period, score = out["beacon_period"][k], out["beacon_score"][k]
        if period == period and score == score:
            records[i]["burst_period"] = round(float(period), 3)
            records[i]["burst_score"] = round(float(score), 4)


def format_event(record):
    """One-line JSON text of a record (field order of ``FIELDS``)."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


def event_time(sourcetype, record):
    """The event time (epoch seconds) of a record of either sourcetype."""
    return record["first_packet_time"] if sourcetype == SOURCETYPE else record["ts"]


class CaptureEvents(object):
    """Flow records and DNS transactions from one pass over a capture's packet batches.

    ``add_batch`` and ``flush`` return lists of ``(sourcetype, record)``: the flow records
    of the batch (``c2hunt:flow``) followed by its DNS transactions (``c2hunt:dns``), so the
    sequence is as deterministic as each part. ``dns=False`` leaves DNS out.
    """

    DNS_TIMEOUT = 30.0

    def __init__(self, config=None, dns=True):
        self.flows = FlowTable(config)
        self.dns = (dns_wire.DnsTable(timeout=self.DNS_TIMEOUT,
                                      max_pending=self.flows.config.max_flows)
                    if dns else None)

    def add_batch(self, batch):
        events = [(SOURCETYPE, record) for record in self.flows.add_batch(batch)]
        if self.dns is not None:
            events += [(dns_wire.SOURCETYPE, record) for record in self.dns.add_batch(batch)]
        return events

    def flush(self):
        events = [(SOURCETYPE, record) for record in self.flows.flush()]
        if self.dns is not None:
            events += [(dns_wire.SOURCETYPE, record) for record in self.dns.flush()]
        return events


def read_capture_events(path, config=None, stats=None, dns_stats=None, dns=True):
    """``(sourcetype, record)`` for the flows and DNS transactions of one capture, read once.

    Parameters are those of :func:`read_capture_flows`, plus ``dns_stats`` (a
    :class:`c2hunt.capture.dns_wire.DnsStats` filled while reading) and ``dns`` (False: flows only).
    """
    config = config or FlowConfig()
    events = CaptureEvents(config, dns=dns)
    if events.dns is not None and dns_stats is not None:
        events.dns.stats = dns_stats
    yield from _read_through(events, path, config, stats)


def read_capture_flows(path, config=None, stats=None):
    """Flow records of one capture file, in a deterministic order.

    Parameters
    ----------
    path : str
        A pcap or pcapng file.
    config : FlowConfig, optional
        Flow settings; defaults when None.
    stats : c2hunt.capture.pcap.CaptureStats, optional
        Filled with the capture's counters while reading.

    Yields
    ------
    dict
        One record per flow window (see the module docstring and ``FIELDS``).

    Raises
    ------
    c2hunt.capture.pcap.CaptureFormatError
        The file is not a pcap/pcapng capture (raised before any record is yielded).
    """
    config = config or FlowConfig()
    yield from _read_through(FlowTable(config), path, config, stats)


def _read_through(engine, path, config, stats):
    """What ``engine`` (``add_batch``/``flush``: a FlowTable or CaptureEvents) makes of one
    capture, batch by batch, then what is still open at its end."""
    reader = pcap.CaptureReader(path, batch_bytes=config.batch_bytes)
    if stats is not None:
        reader.stats = stats
    for batch in reader.batches():
        yield from engine.add_batch(batch)
    yield from engine.flush()
