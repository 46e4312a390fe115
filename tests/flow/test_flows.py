"""Flow records of generated C2 and benign traffic: the features AN1258 needs."""
import collections
import json
import math

import numpy as np
import pytest

import synthetic as syn
from c2hunt.capture import flows, pcap

T0 = 1700000000.0


def _records(tmp_path, frames, name="c.pcap", **config):
    path = tmp_path / name
    syn.write_pcap(str(path), frames)
    return list(flows.read_capture_flows(str(path), flows.FlowConfig(**config)))


def _plain_entropy(data):
    counts = collections.Counter(data)
    return -sum(c / len(data) * math.log2(c / len(data)) for c in counts.values())


def test_icmp_tunnel_features(tmp_path):
    records = _records(tmp_path, syn.icmp_tunnel("10.0.0.5", "203.0.113.9", 600, T0))
    assert len(records) == 1
    tunnel = records[0]
    assert (tunnel["src"], tunnel["dest"], tunnel["transport"]) == ("10.0.0.5", "203.0.113.9", "icmp")
    assert tunnel["icmp_type"] == 8 and tunnel["icmp_code"] == 0 and "src_port" not in tunnel
    assert tunnel["echo_reply_mismatch_ratio"] == 1.0
    assert tunnel["echo_replies_matched"] == tunnel["echo_replies"] == tunnel["echo_requests"]
    assert tunnel["payload_entropy"] > 7.5 and tunnel["payload_entropy_bytes"] == 4096
    assert tunnel["payload_size_dc"] > 4 and tunnel["payload_size_max"] >= 1024
    assert tunnel["bytes_in"] > tunnel["bytes_out"] > 0
    assert tunnel["duration"] > 590 and tunnel["first_packet_time"] == T0


def test_week_long_tunnel_is_reported_every_active_timeout(tmp_path):
    frames = syn.icmp_tunnel("10.0.0.5", "203.0.113.9", 7 * 86400, T0, rate=1 / 60.0)
    records = _records(tmp_path, frames, active_timeout=3600, idle_timeout=1200)
    assert 150 <= len(records) <= 7 * 24
    assert {r["flow_id"] for r in records} == {records[0]["flow_id"]}
    assert [r["record_seq"] for r in records] == list(range(len(records)))
    assert all(r["end_reason"] == "active_timeout" for r in records[:-1])
    assert all(r["flow_start_time"] == T0 for r in records)
    assert sum(r["packets"] for r in records) == len(frames)
    assert all(r["duration"] < 3600 for r in records)
    assert records[-1]["flow_duration"] > 6.9 * 86400


def test_fixed_size_ping_train(tmp_path):
    records = _records(tmp_path, syn.fixed_size_ping_train("10.0.0.8", "198.51.100.1", 100, T0))
    (train,) = records
    assert train["payload_size_dc"] == 1
    assert train["payload_size_min"] == train["payload_size_max"] == train["payload_size_median"] == 64
    assert train["echo_reply_mismatch_ratio"] == 0.0 and train["packets"] == 200


@pytest.mark.parametrize("payload_for,size", [(None, 32), (syn.linux_ping_payload, 56)])
def test_normal_pings(tmp_path, payload_for, size):
    frames = syn.ping("10.0.0.6", "8.8.8.8", 4, T0, payload_for=payload_for)
    (ping,) = _records(tmp_path, frames)
    assert ping["payload_size_dc"] == 1 and ping["payload_size_min"] == size
    assert ping["echo_reply_mismatch_ratio"] == 0.0 and ping["echo_requests"] == 4
    sample = b"".join(frame[-size:] for _, frame in frames)
    assert ping["payload_entropy"] == pytest.approx(_plain_entropy(sample), abs=1e-4)
    assert ping["payload_entropy"] < 6


def test_capture_starting_with_a_reply_keeps_the_requester_as_src(tmp_path):
    frames = syn.ping("10.0.0.6", "8.8.8.8", 3, T0)[1:]
    (ping,) = _records(tmp_path, frames)
    assert (ping["src"], ping["dest"]) == ("10.0.0.6", "8.8.8.8")
    assert ping["packets_out"] == 2 and ping["packets_in"] == 3 and ping["icmp_type"] == 8


def test_dns_tunnel_one_flow_per_query(tmp_path):
    records = _records(tmp_path, syn.dns_tunnel("10.0.0.9", "10.0.0.53", 40, T0))
    assert len(records) == 40
    assert {(r["src"], r["dest"], r["dest_port"], r["transport"]) for r in records} == {
        ("10.0.0.9", "10.0.0.53", 53, "udp")}
    assert all(r["packets_out"] == 1 and r["packets_in"] == 1 for r in records)
    assert all(r["bytes_in"] > r["bytes_out"] for r in records)


def test_https_beacon_connections(tmp_path):
    frames = syn.https_beacon("10.0.0.10", "192.0.2.80", 30, T0, period=60, jitter=0.2)
    records = _records(tmp_path, frames, idle_timeout=30)
    assert len(records) == 30
    starts = np.sort([r["first_packet_time"] for r in records])
    gaps = np.diff(starts)
    assert np.all((gaps > 47.9) & (gaps < 72.1))
    first = records[0]
    assert (first["dest_port"], first["transport"], first["packets"]) == (443, "tcp", 8)
    assert first["packets_out"] == 5 and first["tcp_flag"] == "FIN,SYN,PSH,ACK"
    assert first["payload_size_dc"] == 2 and first["payload_entropy"] > 7
    assert all(r["end_reason"] == "idle_timeout" for r in records[:-1])


def test_tcp_port_reuse_starts_a_new_flow(tmp_path):
    one = syn.https_beacon("10.0.0.10", "192.0.2.80", 1, T0, seed=9)
    again = [(ts + 5, frame) for ts, frame in one]     # same ports 5 s later
    records = _records(tmp_path, one + again)
    assert [r["end_reason"] for r in records] == ["tcp_port_reuse", "end_of_capture"]
    assert records[0]["flow_id"] != records[1]["flow_id"]
    # A retransmitted SYN is not a new connection.
    syn_again = [one[0], (T0 + 1, one[0][1])] + [(ts + 1, f) for ts, f in one[1:]]
    assert len(_records(tmp_path, syn_again, name="r.pcap")) == 1


def test_idle_timeout_splits_flows(tmp_path):
    frames = syn.ping("10.0.0.6", "8.8.8.8", 2, T0) + syn.ping("10.0.0.6", "8.8.8.8", 2, T0 + 500)
    records = _records(tmp_path, frames, idle_timeout=120)
    assert [r["packets"] for r in records] == [4, 4]
    assert records[0]["end_reason"] == "idle_timeout" and records[0]["flow_id"] != records[1]["flow_id"]


def _scenario():
    return syn.by_time(
        syn.icmp_tunnel("10.0.0.5", "203.0.113.9", 900, T0, rate=0.5),
        syn.ping("10.0.0.6", "8.8.8.8", 4, T0 + 100),
        syn.fixed_size_ping_train("10.0.0.8", "198.51.100.1", 100, T0 + 200),
        syn.dns_tunnel("10.0.0.9", "10.0.0.53", 100, T0 + 300),
        syn.https_beacon("10.0.0.10", "192.0.2.80", 40, T0))


def test_records_do_not_depend_on_block_size_and_conserve_packets(tmp_path):
    frames = _scenario()
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), frames)
    big = list(flows.read_capture_flows(str(path), flows.FlowConfig(active_timeout=300)))
    small = list(flows.read_capture_flows(str(path), flows.FlowConfig(active_timeout=300,
                                                                      batch_bytes=4096)))
    assert len({r["flow_id"] for r in big if r["transport"] == "icmp" and r["record_seq"] > 0}) == 1
    key = lambda r: (r["flow_id"], r["record_seq"])   # noqa: E731
    assert sorted(big, key=key) == sorted(small, key=key)
    assert sum(r["packets"] for r in big) == len(frames)
    assert sum(r["bytes"] for r in big) == sum(len(f) - 14 for _, f in frames)
    assert len({key(r) for r in big}) == len(big)
    assert all(list(r) == [name for name in flows.FIELDS if name in r] for r in big)
    assert all(None not in r.values() for r in big)


def test_dns_transactions_do_not_depend_on_block_size(tmp_path):
    frames = syn.by_time(_scenario(), syn.dns_tunnel("10.0.0.9", "10.0.0.53", 300, T0))
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), frames)
    big = list(flows.read_capture_events(str(path)))
    small = list(flows.read_capture_events(str(path), flows.FlowConfig(batch_bytes=4096)))
    dns = [r for s, r in big if s == "c2hunt:dns"]
    assert len(dns) == 400      # 300 here and the 100 of the scenario's tunnel
    key = lambda event: json.dumps(event, sort_keys=True)   # noqa: E731
    assert sorted(map(key, big)) == sorted(map(key, small))
    assert all(r["message_type"] == "query_response" and r["rtt"] > 0 for r in dns)


def test_max_flows_bounds_memory(tmp_path):
    frames = syn.dns_tunnel("10.0.0.9", "10.0.0.53", 400, T0)
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), frames)
    config = flows.FlowConfig(max_flows=16, batch_bytes=4096, idle_timeout=3600)
    table = flows.FlowTable(config)
    reader = pcap.CaptureReader(str(path), batch_bytes=4096)
    records = []
    for batch in reader.batches():
        records += table.add_batch(batch)
        assert len(table.flows) <= 16
    records += table.flush()
    assert len(records) == 400 and sum(r["packets"] for r in records) == 800
    assert collections.Counter(r["end_reason"] for r in records)["evicted"] > 300


def test_empty_and_non_ip_captures_give_no_records(tmp_path):
    assert _records(tmp_path, []) == []
    arp = [(T0, syn.ether(b"\x00" * 28, ethertype=0x0806))]
    stats = pcap.CaptureStats()
    path = tmp_path / "arp.pcap"
    syn.write_pcap(str(path), arp)
    assert list(flows.read_capture_flows(str(path), stats=stats)) == [] and stats.non_ip == 1


def test_event_json_field_order_and_types(tmp_path):
    (record,) = _records(tmp_path, syn.ping("10.0.0.6", "8.8.8.8", 2, T0))
    text = flows.format_event(record)
    assert text.startswith('{"first_packet_time":1700000000.0,')
    assert list(record) == [name for name in flows.FIELDS if name in record]
    assert "NaN" not in text and "null" not in text


@pytest.mark.parametrize("bad", [{"idle_timeout": 0}, {"active_timeout": "soon"},
                                 {"max_flows": 1.5}, {"entropy_sample_bytes": -1},
                                 {"idle_timeout": float("nan")}])
def test_config_rejects_bad_settings(bad):
    with pytest.raises(ValueError, match=list(bad)[0]):
        flows.FlowConfig(**bad)


def test_open_record_table_stays_bounded_by_the_open_flows(tmp_path):
    """The columnar table's arrays, least-recently-active queue and size table hold what the
    open flows need, not what the capture held: 3,000 one-query flows expiring as they go."""
    frames = syn.dns_tunnel("10.0.0.9", "10.0.0.53", 3000, T0)
    path = tmp_path / "c.pcap"
    syn.write_pcap(str(path), frames)
    table = flows.FlowTable(flows.FlowConfig(batch_bytes=4096, idle_timeout=2.0))
    records, most_open = [], 0
    for batch in pcap.CaptureReader(str(path), batch_bytes=4096).batches():
        records += table.add_batch(batch)
        open_records = table.open
        most_open = max(most_open, len(open_records))
        assert len(open_records) <= 8                   # a query every 0.5 s, 2 s idle timeout
        assert open_records.capacity <= 1024            # slots are reused
        assert len(open_records.queue_slot) - open_records.head <= 2 * 8 + 4096 + 64
        assert open_records.pair_rows <= 2 * 8 + 65536
        assert len(open_records.free) + len(open_records) == open_records.capacity
    records += table.flush()
    assert most_open >= 4 and len(records) == 3000
    reasons = collections.Counter(r["end_reason"] for r in records)
    assert reasons["idle_timeout"] > 2990 and set(reasons) == {"idle_timeout", "end_of_capture"}
    assert len(table.open) == 0 and table.open.pair_rows == 0


def test_size_table_gives_each_record_its_sizes_across_merges():
    """The size table (sorted part + tail, merged as it grows) returns for each record that
    leaves exactly the (size, count) rows added for it, whatever merged in between; taken
    rows are not returned again and the table empties when the last record leaves. Each
    record says when it last added rows (``pair_epoch``, as the flow table does), so the tail
    is searched only when needed."""
    rng = np.random.default_rng(3)
    table = flows._OpenRecords()
    expected = collections.defaultdict(collections.Counter)
    epoch_of = {}
    open_rids, next_rid = [], 0
    for step in range(300):
        fresh = list(range(next_rid, next_rid + int(rng.integers(0, 400))))
        next_rid += len(fresh)
        open_rids += fresh
        if open_rids:
            rid = rng.choice(open_rids, size=int(rng.integers(1, 3000)))
            size = rng.integers(0, 40, size=len(rid))
            count = rng.integers(1, 4, size=len(rid))
            epoch_of.update(dict.fromkeys(rid.tolist(), table.pair_epoch))
            table.add_pairs(rid.astype(np.int64), size.astype(np.int64), count.astype(np.int64))
            for r, s, c in zip(rid.tolist(), size.tolist(), count.tolist()):
                expected[r][s] += c
        leaving = rng.permutation(open_rids)[:int(rng.integers(0, len(open_rids) + 1))]
        if step == 299:
            leaving = np.array(open_rids)
        got = collections.defaultdict(collections.Counter)
        epochs = np.array([epoch_of.get(r, 0) for r in leaving.tolist()], np.int64)
        rows, sizes, counts = table.take_pairs(np.asarray(leaving, np.int64), epochs)
        for row, s, c in zip(rows.tolist(), sizes.tolist(), counts.tolist()):
            got[int(leaving[row])][s] += c
        assert got == {r: expected.pop(r) for r in leaving.tolist() if r in expected}
        gone = set(leaving.tolist())
        open_rids = [r for r in open_rids if r not in gone]
        assert table.pair_rows <= 4 * sum(map(len, expected.values())) + 65536 + 3000
    assert not expected and table.pair_rows == 0


def _echo_exchange(request_payloads, reply_payloads):
    frames = []
    for seq, (up, down) in enumerate(zip(request_payloads, reply_payloads)):
        at = T0 + seq
        frames.append((at, syn.ether(syn.ip("10.0.0.7", "192.0.2.9", 1, syn.icmp(8, 0, 9, seq + 1, up)))))
        frames.append((at + 0.01, syn.ether(syn.ip("192.0.2.9", "10.0.0.7", 1,
                                                   syn.icmp(0, 0, 9, seq + 1, down)))))
    return frames


@pytest.mark.parametrize("size", [16, 64, 65, 1400])
def test_echo_digest_compares_whole_payloads(tmp_path, size):
    """A reply matches its request when the payloads are equal, short (kept whole) or long
    (digest and length): one changed last byte is a mismatch either way."""
    payloads = [bytes([seq]) * size for seq in range(6)]
    changed = [p[:-1] + b"!" if seq % 2 else p for seq, p in enumerate(payloads)]
    (echo,) = _records(tmp_path, _echo_exchange(payloads, changed))
    assert echo["echo_replies_matched"] == 6 and echo["echo_replies_mismatched"] == 3


def test_echo_digest_of_cut_payloads_keeps_the_stated_length(tmp_path):
    """Cut by the snap length, a request and a reply with the same captured bytes match when
    their headers state the same length and not otherwise."""
    base = bytes(range(256)) * 4
    frames = _echo_exchange([base, base], [base, base + b"more"])
    path = tmp_path / "cut.pcap"
    syn.write_pcap(str(path), frames, snaplen=200)
    (echo,) = list(flows.read_capture_flows(str(path)))
    assert echo["echo_replies_matched"] == 2 and echo["echo_replies_mismatched"] == 1
