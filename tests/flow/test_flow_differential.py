"""Differential test of c2flow flow assembly: the shipped engine (bin/c2hunt/capture/flows.py)
against the reference implementation it replaced (tests/flow/reference_flows.py).

Both must give exactly the same flow records, compared as the events' JSON text (so field
order and every float bit count), on generated captures full of edge cases (idle and active
timeouts at batch boundaries, out-of-order timestamps, fragments, non-IP frames, truncated
packets and files, TCP FIN/RST and port reuse, ICMP echo matching, eviction), on the
benchmark's mixed traffic, and on every capture in ../shared/datasets (skipped when absent).
"""
import random
from pathlib import Path

import pytest

import reference_flows
import synthetic
from c2hunt.capture import flows

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

CONFIGS = {
    "default": {},
    "small_batches": {"batch_bytes": 4096},
    "short_timeouts": {"batch_bytes": 4096, "idle_timeout": 3.0, "active_timeout": 1.0},
    "tight_limits": {"batch_bytes": 8192, "max_flows": 5, "echo_pending_limit": 2,
                     "entropy_sample_bytes": 16, "idle_timeout": 30.0},
    "no_entropy": {"batch_bytes": 4096, "entropy_sample_bytes": 0, "echo_pending_limit": 0},
}


def _events(module, path, config):
    return [module.format_event(record)
            for record in module.read_capture_flows(str(path), flows.FlowConfig(**config))]


def _assert_same(path, config):
    expected = _events(reference_flows, path, config)
    got = _events(flows, path, config)
    assert len(got) == len(expected)
    for number, (ours, theirs) in enumerate(zip(got, expected)):
        assert ours == theirs, "record %d differs" % number
    return expected


# -- generated edge cases --------------------------------------------------------------------

HOSTS = ["10.0.0.1", "10.0.0.2", "192.0.2.7", "2001:db8::1", "2001:db8::2"]


def _random_frame(rng):
    """One frame between a few hosts and ports, so that flows collide, reverse and reuse."""
    v6 = rng.random() < 0.25
    pool = [h for h in HOSTS if (":" in h) == v6]
    src, dst = rng.sample(pool, 2)
    roll = rng.random()
    payload = synthetic._random_bytes(rng, rng.choice((0, 0, 1, 20, 64, 300, 1400)))
    if rng.random() < 0.5:          # a few long flows: windows, bursts, echo matching
        src, dst = rng.sample(("10.9.0.1", "10.9.0.2"), 2)
        if roll < 0.5:
            ports = (45000, 8443) if src == "10.9.0.1" else (8443, 45000)
            return synthetic.ether(synthetic.ip(src, dst, 6, synthetic.tcp(
                ports[0], ports[1], rng.choice(("A", "PA", "PA")), payload)))
        kind = 8 if src == "10.9.0.1" else 0
        if rng.random() < 0.5:      # a reply that echoes a typical request
            payload = b"abcdefghijklmnopqrstuvwabcdefghi"
        return synthetic.ether(synthetic.ip(src, dst, 1, synthetic.icmp(
            kind, 0, 7, rng.randrange(1, 4), payload)))
    if roll < 0.45:
        flags = rng.choice(("S", "SA", "A", "PA", "FA", "R", "RA", "A", "PA", "S"))
        ports = rng.choice(((40000, 443), (40001, 22), (40002, 80), (1080, 40003)))
        if rng.random() < 0.5:
            ports = ports[::-1]
        transport, proto = synthetic.tcp(ports[0], ports[1], flags, payload), 6
    elif roll < 0.7:
        ports = rng.choice(((50000, 53), (123, 123), (4444, 50001), (53, 50002)))
        transport, proto = synthetic.udp(ports[0], ports[1], payload), 17
    elif roll < 0.92:
        kind = rng.choice((8, 0, 8, 0, 3, 11, 13, 14))
        if v6:
            kind = {8: 128, 0: 129}.get(kind, 1)
        transport = synthetic.icmp(kind, rng.choice((0, 0, 1)), rng.choice((1, 2)),
                                   rng.randrange(1, 6), payload)
        proto = 58 if v6 else 1
    else:
        transport, proto = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))), 47
    if not v6 and rng.random() < 0.05:                   # a non-first IPv4 fragment
        packet = synthetic.ip(src, dst, proto, transport, fragment=rng.randrange(1, 100))
    else:
        packet = synthetic.ip(src, dst, proto, transport)
    if rng.random() < 0.03:                               # ARP and other non-IP frames
        return synthetic.ether(bytes(28), ethertype=0x0806)
    if rng.random() < 0.03:                               # cut inside the headers
        return synthetic.ether(packet)[:rng.randrange(14, 40)]
    return synthetic.ether(packet, vlan=rng.choice((None, None, None, 7)))


def _random_capture(path, seed, n_frames=1500, snaplen=65535, cut_tail=False):
    rng = random.Random(seed)
    at = 1700000000.0
    frames = []
    for _ in range(n_frames):
        step = rng.choice((0.0, 0.001, 0.01, 0.2, 0.5, 1.0, 2.1, 2.9, 3.1))
        if rng.random() < 0.05:
            step = -rng.choice((0.001, 0.3, 1.5))         # out-of-order timestamps
        if rng.random() < 0.01:
            step = rng.choice((130.0, 1900.0))            # past the default timeouts
        at += step
        frames.append((at, _random_frame(rng)))
    synthetic.write_pcap(str(path), frames, snaplen=snaplen)
    if cut_tail:                                           # the file ends inside a record
        data = path.read_bytes()
        path.write_bytes(data[:-7])
    return path


def _scenario_capture(path):
    start = 1700000000.0
    frames = synthetic.by_time(
        synthetic.icmp_tunnel("10.0.0.5", "198.51.100.9", 40, start),
        synthetic.ping("10.0.0.6", "192.0.2.1", 30, start, interval=0.9),
        synthetic.fixed_size_ping_train("10.0.0.7", "192.0.2.2", 40, start),
        synthetic.dns_tunnel("10.0.0.8", "10.0.0.53", 60, start),
        synthetic.https_beacon("10.0.0.9", "203.0.113.4", 20, start, period=3.0),
        [(start + 5 + i * 0.3, synthetic.ether(synthetic.ip(
            "10.0.0.10", "203.0.113.5", 6, synthetic.tcp(41000, 443, flags,
                                                         b"x" * (i % 3) * 200))))
         for i, flags in enumerate("S SA A PA PA FA A S SA PA RA S PA".split())])
    synthetic.write_pcap(str(path), frames)
    return path


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_captures(tmp_path, seed, config):
    path = _random_capture(tmp_path / "random.pcap", seed)
    records = _assert_same(path, CONFIGS[config])
    assert records                                        # the capture made flows


@pytest.mark.parametrize("config", ["default", "small_batches", "short_timeouts"])
def test_truncated_packets_and_file(tmp_path, config):
    path = _random_capture(tmp_path / "cut.pcap", 4, snaplen=90, cut_tail=True)
    _assert_same(path, CONFIGS[config])


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_scenarios(tmp_path, config):
    _assert_same(_scenario_capture(tmp_path / "scenarios.pcap"), CONFIGS[config])


@pytest.mark.parametrize("config", ["default", "small_batches"])
def test_mixed_traffic(tmp_path, config):
    path = tmp_path / "mixed.pcap"
    synthetic.write_pcap(str(path), synthetic.mixed_traffic(20000))
    _assert_same(path, CONFIGS[config])


def test_pcapng_and_nanoseconds(tmp_path):
    rng = random.Random(9)
    frames = [(1700000000.0 + i * 0.37, _random_frame(rng)) for i in range(400)]
    synthetic.write_pcapng(str(tmp_path / "a.pcapng"), frames, tsresol=9)
    synthetic.write_pcap(str(tmp_path / "b.pcap"), frames, nanosecond=True, big_endian=True)
    for name in ("a.pcapng", "b.pcap"):
        _assert_same(tmp_path / name, CONFIGS["small_batches"])


# -- real captures ------------------------------------------------------------------------

def _dataset_captures():
    if not DATASETS.exists():
        return []
    return sorted(p for p in DATASETS.rglob("*")
                  if p.is_file() and p.suffix in (".pcap", ".pcapng", ".cap"))


@pytest.mark.parametrize("config", ["default", "small_batches"])
def test_dataset_captures(config):
    captures = _dataset_captures()
    if not captures:
        pytest.skip("%s not present" % DATASETS)
    total = 0
    for path in captures:
        with open(path, "rb") as handle:
            if flows.pcap.sniff_format(handle.read(8)) is None:
                continue
        total += len(_assert_same(path, CONFIGS[config]))
    assert total > 1000


def test_reference_is_what_the_engine_replaced():
    """The reference keeps the record layout of the shipped module."""
    assert reference_flows.FIELDS == flows.FIELDS
