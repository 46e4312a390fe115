"""Flow features, DNS transactions and the notables the shipped searches raise on public
third-party captures (../shared/datasets; skipped when absent)."""
import re
from pathlib import Path

import numpy as np
import pytest

from c2hunt.capture import dns_wire, flows, pcap
from c2hunt_offline.engine import hunt

ROOT = Path(__file__).resolve().parents[2]

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
NDPI = DATASETS / "ndpi-pcaps"
SLIPS = DATASETS / "slips-cc-beacons" / "dataset" / "test-cc"
ZEEK_TRACES = DATASETS / "zeek-traces"


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


def test_merlin_quic_checks_in_inside_one_flow():
    """Merlin over HTTP/3 keeps one QUIC flow for 184 s; its bursts come every ~15 s (QUIC
    pings and check-ins), some of them carrying data."""
    records, _ = _flows(ZEEK_TRACES / "quic" / "merlinc2_Zeek_example.pcapng")
    (flow,) = [r for r in records if r.get("dest_port") == 443]
    assert flow["burst_count"] >= 12 and flow["burst_data_count"] >= 5
    assert abs(flow["burst_period"] - 15.1) < 0.2 and flow["burst_score"] >= 0.7
    # Bursts that straddle batch boundaries count once: the same fields batch by batch.
    path = str(ZEEK_TRACES / "quic" / "merlinc2_Zeek_example.pcapng")
    small = [r for r in flows.read_capture_flows(path, flows.FlowConfig(batch_bytes=4096))
             if r.get("dest_port") == 443]
    assert [{k: v for k, v in r.items() if k.startswith("burst_")} for r in small] == \
        [{k: v for k, v in flow.items() if k.startswith("burst_")}]


def test_socks5_password_authentication_is_recorded():
    records, _ = _flows(ZEEK_TRACES / "socks-auth.pcap")
    (socks,) = [r for r in records if r.get("service") == "socks"]
    assert socks["socks_auth"] == "username_password" and socks["dest_port"] == 1080
    ndpi, _ = _flows(NDPI / "socks.pcap")
    assert "none" in {r.get("socks_auth") for r in ndpi if r["dest_port"] == 1080}
    assert "username_password" not in {r.get("socks_auth") for r in ndpi}


@pytest.mark.parametrize("name,signals,score", [
    ("quic/merlinc2_Zeek_example.pcapng", {"Periodic_Bursts_In_Long_Flow_UDP"}, 50),
    ("socks-auth.pcap", {"SOCKS_Handshake", "SOCKS_Password_Auth"}, 50),
    ("socks.pcap", {"Nonstandard_Port_socks_8124", "SOCKS_Handshake_To_Outside"}, 65),
    ("ssh/reverse-ssh.pcap", {"SSH_Reversed_Roles"}, 60)])
def test_zeek_trace_channels_raise_the_protocol_anomaly_search(name, signals, score):
    path = ZEEK_TRACES / name
    if not path.exists():
        pytest.skip("%s not present" % path)
    (notable,) = [n for n in hunt([str(path)])]
    assert notable.search == "C2Hunt - Network Protocol Anomaly - Rule"
    found = notable.fields["signals"]
    assert set([found] if isinstance(found, str) else found) == signals
    assert int(float(notable.risk_score)) == score


def test_http_request_facts_of_the_foudre_backdoor():
    records, _ = _flows(DATASETS / "pcap-attack" / "Command_and_Control-C2_Foudre_Backdoor_DGA.pcapng")
    (http,) = [r for r in records if r.get("service") == "http"]
    assert (http["http_method"], http["http_host"]) == ("GET", "db54a845.top")
    assert http["http_user_agent"].startswith("Mozilla/5.0 (Windows NT 6.1")
    assert http["http_header_names"] == "user-agent,host,cache-control"
    (notable,) = hunt([str(DATASETS / "pcap-attack"
                          / "Command_and_Control-C2_Foudre_Backdoor_DGA.pcapng")])
    assert notable.signal == "HTTP_Browser_Agent_Without_Browser_Headers"
    assert int(float(notable.risk_score)) == 45


def test_slips_https_beacon_every_two_seconds():
    records, _ = _flows(SLIPS / "test-cc-capture-1.pcap")
    starts = np.sort([r["first_packet_time"] for r in records
                      if (r["dest"], r.get("dest_port")) == ("141.193.213.21", 443)])
    gaps = np.diff(starts)
    assert len(starts) > 250 and 2.0 < np.median(gaps) < 2.4 and gaps.std() < 0.5


def test_dns_transactions_of_the_tunnel_captures():
    for name, pairs, domain in [("dns_exfiltration.pcap", 150, None),
                                ("dns-tunnel-iodine.pcap", 222, "pirate.sea")]:
        path = NDPI / name
        if not path.exists():
            pytest.skip("%s not present" % path)
        stats = dns_wire.DnsStats()
        dns = [r for s, r in flows.read_capture_events(str(path), dns_stats=stats)
               if s == dns_wire.SOURCETYPE]
        assert len(dns) == pairs and stats.malformed == 0
        assert all(r["dest_port"] == 53 and r["transport"] == "udp" for r in dns)
        if domain:
            assert all(r["query"].lower().endswith(domain) for r in dns)
        else:       # dnscat2 without a domain: hex labels after a "dnscat." tag
            assert all(r["query"].startswith("dnscat.") for r in dns)


# What the shipped correlation searches raise on each capture, through the offline runner
# (the same flow/DNS code as the c2flow input). Benign captures raise nothing.
EXPECTED_NOTABLES = {
    "icmp-tunnel.pcap": {("C2Hunt - Network Protocol Anomaly - Rule",
                          "ICMP_Echo_Payload_Mismatch", 90)},
    "dns_exfiltration.pcap": {("C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule",
                               "DNS_Tunnel_Encoded_Labels", 90)},
    "dns-tunnel-iodine.pcap": {("C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule",
                                "DNS_Tunnel_Encoded_Labels", 90)},
    # SOCKS between two lab hosts: on 21477 (port + handshake) and on its own port 1080
    # (the handshake alone, low: no sanctioned proxy is listed).
    "socks.pcap": {("C2Hunt - Network Protocol Anomaly - Rule",
                    "Nonstandard_Port_socks_21477", 60),
                   ("C2Hunt - Network Protocol Anomaly - Rule", "SOCKS_Handshake", 40)},
    # HTTP on 7080, and an MSIE agent without the Accept headers a browser sends.
    "trickbot.pcap": {("C2Hunt - Network Protocol Anomaly - Rule",
                       "HTTP_Browser_Agent_Without_Browser_Headers", 60)},
    # Tor relays on 443: Tor's 512-byte cells make most TLS records 586 bytes; relay
    # certificates are issued by a random www.<name>.com without an organisation.
    "tor.pcap": {("C2Hunt - Network Protocol Anomaly - Rule", "TCP_Fixed_Size_Records", 60),
                 ("C2Hunt - Suspicious TLS Or Long Connection - Rule",
                  "TLS_Issuer_Without_Organisation", 55)},
    "dns.pcap": set(), "smbv1.pcap": set(), "smb_deletefile.pcap": set(), "malware.pcap": set(),
    "shadowsocks.pcap": set(),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_NOTABLES))
def test_notables_on_ndpi_captures(name):
    path = NDPI / name
    if not path.exists():
        pytest.skip("%s not present" % path)
    found = {(n.search, n.signal, int(float(n.risk_score))) for n in hunt([str(path)])}
    assert found == EXPECTED_NOTABLES[name]


_NDPI_TLS_FLOW = re.compile(r"TCP ([\d.]+):(\d+) <-> ([\d.]+):(\d+) .*?\[JA3C: (\w+)\]"
                            r"(?:.*?\[JA3S: (\w+)\])?")


@pytest.mark.parametrize("name", ["tor.pcap", "malware.pcap"])
def test_tls_fingerprints_agree_with_ndpi(name):
    """c2flow's JA3/JA3S of every TLS flow equal nDPI's own (its .ndpi-result.out)."""
    records, _ = _flows(NDPI / name)
    expected = {}
    for line in (NDPI / (name + ".ndpi-result.out")).read_text().splitlines():
        match = _NDPI_TLS_FLOW.search(line)
        if match:
            src, sport, dest, dport, ja3, ja3s = match.groups()
            expected[(src, int(sport), dest, int(dport))] = (ja3, ja3s)
    ours = {(r["src"], r["src_port"], r["dest"], r["dest_port"]): (r.get("ja3"), r.get("ja3s"))
            for r in records if r.get("service") == "ssl" and r["record_seq"] == 0}
    assert expected and ours == expected


def test_tor_relay_certificates_and_cells():
    records, _ = _flows(NDPI / "tor.pcap")
    relays = [r for r in records if r.get("service") == "ssl"]
    assert relays and all(r["ssl_version"] == "TLSv10" and r["server_name"].startswith("www.")
                          and "O=" not in r["issuer"] for r in relays)
    busy = [r for r in relays if r["payload_packets"] >= 16]
    assert busy and all(r["payload_size_mode"] == 586 and r["payload_size_mode_share"] >= 0.5
                        for r in busy)


# Non-C2 attack captures (lateral movement, credential access, discovery between lab hosts):
# the network searches of this branch stay quiet on them (SMB/RPC answers seen backwards,
# LLMNR and NetBIOS replies, internal TLS).
PCAP_ATTACK = DATASETS / "pcap-attack"


def test_non_c2_attack_captures_raise_no_protocol_or_tls_notable():
    if not PCAP_ATTACK.exists():
        pytest.skip("%s not present" % PCAP_ATTACK)
    captures = [str(p) for p in sorted(PCAP_ATTACK.glob("*.pcap*"))
                if not p.name.startswith("Command_and_Control")]
    assert len(captures) >= 20
    found = [(n.search, n.signal) for n in hunt(captures)
             if n.search in ("C2Hunt - Network Protocol Anomaly - Rule",
                             "C2Hunt - Suspicious TLS Or Long Connection - Rule")]
    assert found == []


def test_dns_tunnel_notables_name_the_tunnel():
    path = NDPI / "dns-tunnel-iodine.pcap"
    if not path.exists():
        pytest.skip("%s not present" % path)
    [notable] = hunt([str(path)])
    assert notable.fields["group_dest"] == "pirate.sea" and notable.fields["src"] == "10.0.2.30"
    # iodine asks NULL records for every name: the record-type share joins the volume signals
    assert set(notable.fields["signals"]) == {"DNS_Tunnel_Encoded_Labels",
                                              "DNS_Many_Unique_Subdomains", "DNS_TXT_NULL_Volume",
                                              "DNS_Tunnel_Record_Type_Share"}


@pytest.mark.parametrize("name,dest", [("test-cc-capture-1.pcap", "141.193.213.21"),
                                       ("test-cc-capture-2.pcap", "141.193.213.20")])
def test_slips_beacons_raise_the_beacon_search(name, dest):
    path = SLIPS / name
    if not path.exists():
        pytest.skip("%s not present" % path)
    notables = hunt([str(path)])
    # c2flow reads the SNI from the handshake, so the channel is named by it (one notable,
    # the connection rows to the same address give way to the named TLS channel)
    # (capture-1's curl also reached the other address of testing.com: dest_ip lists both)
    assert [(n.search, n.signal, n.fields["dest_host"]) for n in notables] == [
        ("C2Hunt - Periodic Beaconing - Rule", "Beaconing_TLS_443", "testing.com")]
    dest_ips = notables[0].fields["dest_ip"]
    assert dest in (dest_ips if isinstance(dest_ips, list) else [dest_ips])
