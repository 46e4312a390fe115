"""Flow features on public third-party captures (../shared/datasets; skipped when absent)."""
from pathlib import Path

import numpy as np
import pytest

from c2hunt import flows, pcap

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
NDPI = DATASETS / "ndpi-pcaps"
SLIPS = DATASETS / "slips-cc-beacons" / "dataset" / "test-cc"


def _flows(path):
    if not path.exists():
        pytest.skip("%s not present" % path)
    stats = pcap.CaptureStats()
    return list(flows.read_capture_flows(str(path), stats=stats)), stats


def test_icmp_tunnel_capture():
    records, stats = _flows(NDPI / "icmp-tunnel.pcap")
    assert stats.ip_packets == 863 and stats.non_ip == 98 and not stats.corrupt
    tunnel = [r for r in records if r["transport"] == "icmp"]
    assert sum(r["packets"] for r in tunnel) == 863
    assert all(r["echo_reply_mismatch_ratio"] == 1.0 for r in tunnel)
    assert all(r["payload_entropy"] > 6 and r["payload_size_dc"] > 10 for r in tunnel)
    assert max(r["duration"] for r in tunnel) > 300      # over SessionDurationThreshold


@pytest.mark.parametrize("name,max_payload", [("dns_exfiltration.pcap", 300),
                                              ("dns-tunnel-iodine.pcap", 1400)])
def test_dns_tunnel_captures(name, max_payload):
    records, _ = _flows(NDPI / name)
    dns = max(records, key=lambda r: r["packets"])
    assert (dns["transport"], dns["dest_port"]) == ("udp", 53)
    assert dns["packets"] >= 300 and dns["payload_size_max"] > max_payload


def test_socks_and_tor_captures():
    socks, _ = _flows(NDPI / "socks.pcap")
    assert {r["dest_port"] for r in socks} >= {1080, 21477}
    tor, _ = _flows(NDPI / "tor.pcap")
    relays = [r for r in tor if r.get("dest_port") == 443 and r["packets"] > 20]
    assert relays and all(r["payload_entropy"] > 7.5 for r in relays)
    assert all(r["payload_size_median"] == 586 for r in relays)     # Tor cells in TLS records


def test_slips_https_beacon_every_two_seconds():
    records, _ = _flows(SLIPS / "test-cc-capture-1.pcap")
    starts = np.sort([r["first_packet_time"] for r in records
                      if (r["dest"], r.get("dest_port")) == ("141.193.213.21", 443)])
    gaps = np.diff(starts)
    assert len(starts) > 250 and 2.0 < np.median(gaps) < 2.4 and gaps.std() < 0.5
