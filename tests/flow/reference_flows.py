"""Reference c2flow flow assembly, kept only for the differential test
(tests/flow/test_flow_differential.py): bin/c2hunt/capture/flows.py as it was before the
columnar record path (commit bc17bb5), module docstring aside. Not shipped; delete it with
that test once the shipped engine has run alone long enough."""
import collections
import hashlib
import json
import math
import struct

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


class _Flow(object):
    """One open record: identity of the flow plus the record's running aggregates."""

    __slots__ = ("key", "init_lo", "ident", "flow_id", "flow_start", "record_seq", "window",
                 "first_ts", "last_ts", "packets_out", "packets_in", "bytes_out", "bytes_in",
                 "payload_out", "payload_in", "sizes", "sample", "tcp_flags", "closed",
                 "icmp_type", "icmp_code", "echo_requests", "echo_replies", "echo_matched",
                 "echo_mismatched", "pending", "first_out", "first_in", "burst_times",
                 "burst_bytes", "bursts_dropped", "last_payload_ts", "sample_pieces")

    def __init__(self, key, init_lo, ident, flow_start, window, record_seq=0, flow_id=None,
                 pending=None, first_out=b"", first_in=b""):
        self.key = key
        self.init_lo = init_lo
        self.ident = ident            # (src, dest, src_port, dest_port, proto, version, vlan)
        self.flow_start = flow_start
        self.flow_id = flow_id or hashlib.blake2b(
            key + struct.pack("<d", flow_start), digest_size=8).hexdigest()
        self.record_seq = record_seq
        self.window = window
        self.first_ts = math.inf
        self.last_ts = -math.inf
        self.packets_out = self.packets_in = 0
        self.bytes_out = self.bytes_in = 0
        self.payload_out = self.payload_in = 0
        self.sizes = {}
        self.sample = bytearray()
        self.sample_pieces = []       # payload lengths in the sample, < 0 from the responder
        self.tcp_flags = 0
        self.closed = False
        self.icmp_type = self.icmp_code = -1
        self.echo_requests = self.echo_replies = 0
        self.echo_matched = self.echo_mismatched = 0
        self.pending = pending if pending is not None else collections.OrderedDict()
        # First payload bytes each side sent (service identification), kept for the flow.
        self.first_out = first_out
        self.first_in = first_in
        # Payload bursts of this record: start times and initiator payload bytes of each.
        self.burst_times = []
        self.burst_bytes = []
        self.bursts_dropped = 0
        self.last_payload_ts = math.nan

    def next_window(self, window):
        """The record that follows this one in the same flow (active timeout)."""
        return _Flow(self.key, self.init_lo, self.ident, self.flow_start, window,
                     self.record_seq + 1, self.flow_id, self.pending, self.first_out,
                     self.first_in)


class FlowTable(object):
    """Bounded table of open flows fed with :class:`c2hunt.capture.pcap.PacketBatch` objects.

    ``add_batch`` and ``flush`` return lists of records (dicts, see ``FIELDS``). The
    output depends only on the packets, the settings and the batch boundaries (which
    depend only on the capture and ``batch_bytes``), so a replay yields the same records in
    the same order.
    """

    def __init__(self, config=None):
        self.config = config or FlowConfig()
        self.flows = collections.OrderedDict()   # key -> _Flow, least recently active first
        self.clock = -math.inf                     # latest packet time seen
        self._address = pcap.AddressText()

    # -- public ------------------------------------------------------------------------

    def add_batch(self, batch):
        if len(batch) == 0:
            return []
        done = []
        self._assemble(batch, done)
        self.clock = max(self.clock, float(np.max(batch.ts)))
        horizon = self.clock - self.config.idle_timeout
        while self.flows:
            flow = next(iter(self.flows.values()))
            if flow.last_ts >= horizon:
                break
            self.flows.popitem(last=False)
            done.append((flow, "idle_timeout"))
        while len(self.flows) > self.config.max_flows:
            done.append((self.flows.popitem(last=False)[1], "evicted"))
        return self._finish(done)

    def flush(self, reason="end_of_capture"):
        """Emit every open flow: ``idle_timeout`` for those idle at the last packet time,
        ``reason`` for the others."""
        horizon = self.clock - self.config.idle_timeout
        done = [(flow, "idle_timeout" if flow.last_ts < horizon else reason)
                for flow in self.flows.values()]
        self.flows.clear()
        return self._finish(done)

    # -- assembly ------------------------------------------------------------------------

    def _assemble(self, batch, done):
        """Fold a batch into the open flows; flows that end on the way go to ``done``.

        Packets are keyed (direction-free, ICMP by echo id or type), grouped by key, cut
        into records (a new flow, a new active-timeout window), summed per record with
        numpy, and the records merged into the flows in order in one Python loop.
        """
        ports = _transport_ports(batch)
        keys, src_is_lo = _canonical_keys(batch, ports)
        raw_keys, first_row, group, order = _group_by_key(keys)
        group_keys, states = self._carried_flows(raw_keys, first_row, keys.dtype.itemsize)
        cuts = _record_cuts(batch, ports, order, group, src_is_lo, states, self.config)
        totals = _record_totals(batch, ports, order, cuts)
        self._merge_records(batch, ports, order, cuts, totals, group_keys, states, done)

    def _carried_flows(self, raw_keys, first_row, width):
        """Each group's key bytes and its open flow from earlier batches (or None)."""
        key_blob = raw_keys[first_row].tobytes()
        group_keys = [key_blob[i:i + width] for i in range(0, len(key_blob), width)]
        get_state = self.flows.get
        return group_keys, [get_state(key) for key in group_keys]

    def _merge_records(self, batch, ports, order, cuts, totals, group_keys, states, done):
        """Records into flows, in order: a record continues its group's flow, starts a new
        window of it, or ends it (to ``done``) and starts the next one."""
        starts, segment, n_segments = cuts.starts, cuts.segment, cuts.n_segments
        # Payload size multiset per record: (segment, size) pairs with counts.
        payload_len = batch.payload_len[order]
        has_payload = payload_len > 0
        size_keys = (segment[has_payload] * _SIZE_KEY
                     + np.minimum(payload_len[has_payload], _SIZE_KEY - 1))
        size_values, size_counts = np.unique(size_keys, return_counts=True)
        size_segment = size_values // _SIZE_KEY
        size_bounds = np.searchsorted(size_segment, np.arange(n_segments + 1))
        size_list = (size_values % _SIZE_KEY).tolist()
        count_list = size_counts.tolist()
        size_bounds = size_bounds.tolist()

        # Echo packets are matched one by one (only ICMP echo rows enter this loop), on
        # digests computed for all of them at once.
        echo_rows = np.flatnonzero((ports.echo_request | ports.echo_reply)[order])
        echo_bounds = np.searchsorted(segment[echo_rows], np.arange(n_segments + 1)).tolist()
        echo = _echo_columns(batch, order[echo_rows])

        # Python loop over records (not packets), on plain lists.
        sample_cap = self.config.entropy_sample_bytes
        merge = (cuts.record_start[starts] & cuts.group_start[starts] & ~cuts.new_flow[starts]
                 & ~cuts.new_window[starts])
        reasons = np.where(cuts.new_window[starts], 1,
                           np.where(cuts.idle_break[starts], 2,
                                    np.where(cuts.reuse[starts], 3, 0)))
        reason_names = {1: "active_timeout", 2: "idle_timeout", 3: "tcp_port_reuse"}
        seg_group = cuts.grp[starts].tolist()
        current = list(states)
        merge_list = merge.tolist()
        reason_list = reasons.tolist()
        window_list = cuts.window[starts].tolist()
        flow_start_list = cuts.flow_start[starts].tolist()
        init_list = cuts.init_lo[starts].tolist()
        new_flow_list = cuts.new_flow[starts].tolist()
        start_rows = order[starts]
        ident_columns = _identity_columns(batch, start_rows, cuts.lo_src[starts], self._address)
        # Payload sample (entropy) and first payload bytes each way (service), gathered for
        # all records at once: room left in each record's sample, then one gather.
        room = np.full(n_segments, sample_cap, np.int64)
        for s in np.flatnonzero(merge).tolist():
            room[s] = max(sample_cap - len(current[seg_group[s]].sample), 0)
        sample_blob, sample_bounds, pieces, piece_bounds = _gather_samples(
            batch, order, segment, room, cuts.outbound)
        first_out, first_in = _first_payloads(batch, order, cuts.outbound, segment, n_segments,
                                              services.FIRST_BYTES)
        carried_payload_ts = np.full(n_segments, np.nan)
        for s in np.flatnonzero(merge).tolist():
            carried_payload_ts[s] = current[seg_group[s]].last_payload_ts
        bursts = _bursts(cuts.ts, payload_len, cuts.outbound, segment, carried_payload_ts,
                         n_segments)
        burst_time_list, burst_bytes_list = bursts.times.tolist(), bursts.bytes_out.tolist()
        burst_bounds, carry_bytes = bursts.bounds.tolist(), bursts.carry_bytes.tolist()
        last_payload_list = bursts.last_payload_ts.tolist()
        first_ts_list, last_ts_list = totals.first_ts.tolist(), totals.last_ts.tolist()
        packets_out_list = totals.packets_out.tolist()
        packets_in_list = totals.packets_in.tolist()
        bytes_out_list = totals.bytes_out.tolist()
        bytes_in_list = totals.bytes_in.tolist()
        payload_out_list = totals.payload_out.tolist()
        payload_in_list = totals.payload_in.tolist()
        flags_list, closed_list = totals.flags.tolist(), totals.closed.tolist()
        type_list, code_list = totals.icmp_type.tolist(), totals.icmp_code.tolist()
        req_list, rep_list = totals.echo_requests.tolist(), totals.echo_replies.tolist()
        for s in range(n_segments):
            g = seg_group[s]
            flow = current[g]
            if not merge_list[s]:
                if flow is not None:
                    done.append((flow, reason_names.get(reason_list[s], "idle_timeout")))
                if new_flow_list[s] or flow is None:
                    flow = _Flow(group_keys[g], init_list[s],
                                 _identity(ident_columns, s, init_list[s]),
                                 flow_start_list[s], window_list[s])
                else:
                    flow = flow.next_window(window_list[s])
                current[g] = flow
            if first_ts_list[s] < flow.first_ts:
                flow.first_ts = first_ts_list[s]
            if last_ts_list[s] > flow.last_ts:
                flow.last_ts = last_ts_list[s]
            flow.packets_out += packets_out_list[s]
            flow.packets_in += packets_in_list[s]
            flow.bytes_out += bytes_out_list[s]
            flow.bytes_in += bytes_in_list[s]
            flow.payload_out += payload_out_list[s]
            flow.payload_in += payload_in_list[s]
            flow.tcp_flags |= flags_list[s]
            if closed_list[s]:
                flow.closed = True
            if flow.icmp_type < 0 and type_list[s] >= 0:
                flow.icmp_type, flow.icmp_code = type_list[s], code_list[s]
            sizes = flow.sizes
            for k in range(size_bounds[s], size_bounds[s + 1]):
                sizes[size_list[k]] = sizes.get(size_list[k], 0) + count_list[k]
            if sample_bounds[s + 1] > sample_bounds[s]:
                flow.sample += sample_blob[sample_bounds[s]:sample_bounds[s + 1]]
                flow.sample_pieces.extend(pieces[piece_bounds[s]:piece_bounds[s + 1]])
            if not flow.first_out and first_out[s]:
                flow.first_out = first_out[s]
            if carry_bytes[s] and flow.burst_bytes:
                flow.burst_bytes[-1] += carry_bytes[s]
            low, high = burst_bounds[s], burst_bounds[s + 1]
            if high > low:
                keep = min(high, low + MAX_BURSTS - len(flow.burst_times))
                flow.burst_times.extend(burst_time_list[low:keep])
                flow.burst_bytes.extend(burst_bytes_list[low:keep])
                flow.bursts_dropped += high - max(keep, low)
            if last_payload_list[s] == last_payload_list[s]:
                flow.last_payload_ts = last_payload_list[s]
            if not flow.first_in and first_in[s]:
                flow.first_in = first_in[s]
            if req_list[s] or rep_list[s]:
                flow.echo_requests += req_list[s]
                flow.echo_replies += rep_list[s]
                for position in range(echo_bounds[s], echo_bounds[s + 1]):
                    self._match_echo(flow, echo, position)
        # Least recently active first, so idle expiry and eviction pop from the front.
        for flow in sorted(current, key=lambda f: (f.last_ts, f.key)):
            self.flows[flow.key] = flow
            self.flows.move_to_end(flow.key)

    def _match_echo(self, flow, echo, position):
        is_request, tokens, digests = echo
        token = tokens[position]
        if is_request[position]:
            if self.config.echo_pending_limit == 0:
                return
            flow.pending[token] = digests[position]
            flow.pending.move_to_end(token)
            while len(flow.pending) > self.config.echo_pending_limit:
                flow.pending.popitem(last=False)
        else:
            request = flow.pending.pop(token, None)
            if request is not None:
                flow.echo_matched += 1
                if request != digests[position]:
                    flow.echo_mismatched += 1

    # -- output --------------------------------------------------------------------------

    def _finish(self, done):
        samples = [bytes(flow.sample) for flow, _ in done]
        bits, norm = payload_entropy(samples)
        records = [_record(flow, reason, value, scaled, len(sample))
                   for (flow, reason), value, scaled, sample in zip(done, bits, norm, samples)]
        _add_burst_scores(records, [flow for flow, _ in done], self.config.active_timeout)
        for record, sample, (flow, _) in zip(records, samples, done):
            if record.get("service") == "ssl" and record["record_seq"] == 0:
                record.update(tls.handshake_fields(sample))   # SNI, JA3/JA3S, certificate
            elif record.get("service") == "http" and record["record_seq"] == 0:
                record.update(http_request.request_fields(sample))   # Host, agent, headers
            elif record.get("service") == "ssh" and record["record_seq"] == 0:
                record.update(ssh_handshake.handshake_fields(sample, flow.sample_pieces))
        records.sort(key=lambda r: (r["first_packet_time"], r["flow_id"], r["record_seq"]))
        return records


def _add_burst_scores(records, flows, window):
    """Burst fields of each record: how many bursts, how many carried data, and the period
    and regularity of their start times scored by the c2beacon kernel (one group per record,
    all records in one call). Timing only: inside one connection the bursts mix transport
    pings with data exchanges, so their sizes are no check-in fingerprint; the data-burst
    count says whether data moved. The observation window is a record's (``window``, the
    active timeout): a record's score depends on its own bursts only, and check-ins that last
    the whole window count more than a short run (the kernel's coverage)."""
    scored = [i for i, flow in enumerate(flows)
              if len(flow.burst_times) >= beacon.DEFAULT_MIN_COUNT]
    for record, flow in zip(records, flows):
        if flow.burst_times:
            record["burst_count"] = len(flow.burst_times) + flow.bursts_dropped
            record["burst_data_count"] = sum(1 for b in flow.burst_bytes if b >= BURST_DATA_BYTES)
    if not scored:
        return
    lengths = [len(flows[i].burst_times) for i in scored]
    group = np.repeat(np.arange(len(scored)), lengths)
    times = np.concatenate([np.asarray(flows[i].burst_times, np.float64) for i in scored])
    out = beacon.score_groups(group, times, n_groups=len(scored), window=window)
    for k, i in enumerate(scored):
        period, score = out["beacon_period"][k], out["beacon_score"][k]
        if period == period and score == score:
            records[i]["burst_period"] = round(float(period), 3)
            records[i]["burst_score"] = round(float(score), 4)


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
    with their order kept within a group)."""
    raw_keys = keys.view(np.dtype((np.void, keys.dtype.itemsize)))
    _, first_row, group = np.unique(raw_keys, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    return raw_keys, first_row, group, np.argsort(group, kind="stable")


def _record_cuts(batch, ports, order, group, src_is_lo, states, cfg):
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

    # State carried in from earlier batches, per group.
    has_state = np.array([s is not None for s in states], bool)
    nan = float("nan")
    st_last = np.array([s.last_ts if s is not None else nan for s in states], np.float64)
    st_start = np.array([s.flow_start if s is not None else nan for s in states], np.float64)
    st_window = np.array([s.window if s is not None else -1 for s in states], np.int64)
    st_closed = np.array([s is not None and s.closed for s in states], bool)
    st_init_lo = np.array([s is not None and s.init_lo for s in states], bool)

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


_HASH_PRIMES = (2147483629, 2147483587)
_HASH_BASE = 257
_hash_powers = {}


def _powers(prime, length):
    """``_HASH_BASE ** i % prime`` for i < length (cached, grown by doubling)."""
    table = _hash_powers.get(prime)
    if table is None or len(table) < length:
        table = np.ones(1, np.uint64)
        while len(table) < length:
            step = np.uint64(pow(_HASH_BASE, len(table), prime))
            table = np.concatenate((table, table * step % np.uint64(prime)))
        _hash_powers[prime] = table
    return table


def _echo_columns(batch, rows):
    """(is request, (identifier, sequence), payload digest) lists for ICMP echo rows.

    The digest is (two polynomial hashes of the captured payload, payload length): a
    reply "matches" its request when the digests are equal.
    """
    if not len(rows):
        return [], [], []
    proto = batch.proto[rows]
    kind = batch.icmp_type[rows]
    is_request = _is_echo(proto, kind, pcap.ICMP_ECHO_REQUEST, pcap.ICMPV6_ECHO_REQUEST)
    caplen = batch.payload_caplen[rows]
    blob = np.frombuffer(_gather(batch.buffer, batch.payload_off[rows], caplen), np.uint8)
    hashes = []
    nonempty = np.flatnonzero(caplen > 0)
    starts = (np.cumsum(caplen) - caplen)[nonempty]
    position = np.arange(len(blob)) - np.repeat(np.cumsum(caplen) - caplen, caplen)
    for prime in _HASH_PRIMES:
        value = np.zeros(len(rows), np.uint64)
        if len(blob):
            terms = blob.astype(np.uint64) * _powers(prime, int(caplen.max()))[position]
            value[nonempty] = np.add.reduceat(terms, starts) % np.uint64(prime)
        hashes.append(value.tolist())
    digests = list(zip(hashes[0], hashes[1], batch.payload_len[rows].tolist()))
    tokens = list(zip(batch.icmp_id[rows].tolist(), batch.icmp_seq[rows].tolist()))
    return is_request.tolist(), tokens, digests


def payload_entropy(samples):
    """Entropy of each payload sample with the c2entropy kernel.

    Returns (bits per byte, normalised 0..1) lists; None where a sample is empty (no
    entropy) or shorter than two bytes (no normalised entropy).
    """
    if not samples:
        return [], []
    bits, n_distinct, length = entropy.entropy_profile(samples)
    norm = entropy.normalised_entropy(bits, length, n_distinct, entropy.BYTE_ALPHABET)
    return ([round(float(v), 4) if v == v else None for v in bits],
            [round(float(v), 4) if v == v else None for v in norm])


def _identity_columns(batch, rows, first_is_lo, address):
    """Columns (lists) of the records' first packets, for :func:`_identity`."""
    names = ("ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo", "sport", "dport", "proto",
             "fragment", "vlan")
    columns = {name: getattr(batch, name)[rows].tolist() for name in names}
    columns["first_is_lo"] = first_is_lo.tolist()
    columns["address"] = address
    return columns


def _identity(columns, s, init_lo):
    """(src, dest, src_port, dest_port, proto, version, vlan) seen from the initiator."""
    version = columns["ip_version"][s]
    address = columns["address"]
    a = address(columns["src_hi"][s], columns["src_lo"][s], version)
    b = address(columns["dst_hi"][s], columns["dst_lo"][s], version)
    sport, dport = columns["sport"][s], columns["dport"][s]
    proto = columns["proto"][s]
    if columns["first_is_lo"][s] != bool(init_lo):   # the first packet was the responder's
        a, b, sport, dport = b, a, dport, sport
    ported = proto in (pcap.PROTO_TCP, pcap.PROTO_UDP) and not columns["fragment"][s]
    return (a, b, sport if ported else None, dport if ported else None, proto, version,
            columns["vlan"][s])


def _median(sizes):
    """Median of a {size: count} multiset (mean of the two middle values for an even count)."""
    if len(sizes) == 1:
        for size in sizes:
            return float(size)
    total = sum(sizes.values())
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    seen = 0
    lower = None
    for size in sorted(sizes):
        seen += sizes[size]
        if lower is None and seen > lower_rank:
            lower = size
        if seen > upper_rank:
            return (lower + size) / 2.0
    return None


_TCP_FLAG_TEXT = [",".join(name for bit, name in _TCP_FLAG_NAMES if value & bit) or None
                  for value in range(256)]


def _record(flow, reason, bits, norm, sample_bytes):
    """The event's fields in ``FIELDS`` order, absent values left out."""
    src, dest, sport, dport, proto, version, vlan = flow.ident
    first, last = flow.first_ts, flow.last_ts
    record = {"first_packet_time": round(first, 6), "last_packet_time": round(last, 6),
              "duration": round(last - first, 6), "src": src, "src_ip": src}
    if sport is not None:
        record["src_port"] = sport
    record["dest"] = dest
    record["dest_ip"] = dest
    if dport is not None:
        record["dest_port"] = dport
    transport = TRANSPORT_NAMES.get(proto)
    record["transport"] = transport or str(proto)
    service = services.identify_service(flow.first_out, flow.first_in, transport)
    if service is not None:
        record["service"] = service
        if service == "socks":
            auth = services.socks_auth(flow.first_out, flow.first_in)
            if auth is not None:
                record["socks_auth"] = auth
    record["protocol"] = "ip"
    record["protocol_version"] = version
    if vlan:
        record["vlan"] = vlan
    icmp = proto in (pcap.PROTO_ICMP, pcap.PROTO_ICMPV6)
    if icmp:
        if flow.icmp_type >= 0:
            record["icmp_type"] = flow.icmp_type
        if flow.icmp_code >= 0:
            record["icmp_code"] = flow.icmp_code
    sizes = flow.sizes
    record["packets"] = flow.packets_out + flow.packets_in
    record["packets_out"] = flow.packets_out
    record["packets_in"] = flow.packets_in
    record["bytes"] = flow.bytes_out + flow.bytes_in
    record["bytes_out"] = flow.bytes_out
    record["bytes_in"] = flow.bytes_in
    record["payload_bytes_out"] = flow.payload_out
    record["payload_bytes_in"] = flow.payload_in
    record["payload_packets"] = sum(sizes.values())
    if sizes:
        record["payload_size_dc"] = len(sizes)
        record["payload_size_min"] = min(sizes)
        record["payload_size_median"] = _median(sizes)
        record["payload_size_max"] = max(sizes)
        # The commonest size (the larger on ties) and its share: fixed-size cells (Tor).
        mode, mode_count = max(sizes.items(), key=lambda item: (item[1], item[0]))
        record["payload_size_mode"] = mode
        record["payload_size_mode_share"] = round(mode_count / float(record["payload_packets"]), 4)
    if sample_bytes:
        if bits is not None:
            record["payload_entropy"] = bits
        if norm is not None:
            record["payload_entropy_norm"] = norm
        record["payload_entropy_bytes"] = sample_bytes
    if icmp and (flow.echo_requests or flow.echo_replies):
        record["echo_requests"] = flow.echo_requests
        record["echo_replies"] = flow.echo_replies
        record["echo_replies_matched"] = flow.echo_matched
        record["echo_replies_mismatched"] = flow.echo_mismatched
        if flow.echo_matched:
            record["echo_reply_mismatch_ratio"] = round(
                flow.echo_mismatched / float(flow.echo_matched), 4)
    if proto == pcap.PROTO_TCP and _TCP_FLAG_TEXT[flow.tcp_flags & 0xFF] is not None:
        record["tcp_flag"] = _TCP_FLAG_TEXT[flow.tcp_flags & 0xFF]
    record["flow_id"] = flow.flow_id
    record["record_seq"] = flow.record_seq
    record["flow_start_time"] = round(flow.flow_start, 6)
    record["flow_duration"] = round(last - flow.flow_start, 6)
    record["end_reason"] = reason
    return record


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
