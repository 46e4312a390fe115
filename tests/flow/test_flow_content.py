"""The shipped searches on what c2flow makes of generated captures (offline runner, the same
flow and DNS code as the input): c2hunt:dns feeds AN1228, the flow service feeds AN1258's
port/protocol pairing, and the first record of each flow feeds the beaconing search."""
import random
import struct
from pathlib import Path

import pytest

import synthetic as syn
from c2hunt_offline.engine import hunt

ROOT = Path(__file__).resolve().parents[2]

T0 = 1700000000.0
DNS_SEARCH = "C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule"
ANOMALY = "C2Hunt - Network Protocol Anomaly - Rule"
BEACON = "C2Hunt - Periodic Beaconing - Rule"


def _hunt(tmp_path, frames, name="capture.pcap"):
    path = tmp_path / name
    syn.write_pcap(str(path), sorted(frames, key=lambda f: f[0]))
    return {(n.search, n.signal): n for n in hunt([str(path)])}


def _name(text):
    return b"".join(bytes([len(p)]) + p for p in text.encode().split(b".")) + b"\x00"


def _lookups(client, resolver, names, start):
    """Ordinary A lookups and their answers, one source port each, at irregular times (a
    person browsing: exponential gaps)."""
    rng = random.Random(7)
    frames = []
    at = start
    for number, name in enumerate(names):
        query = struct.pack("!HHHHHH", number, 0x0100, 1, 0, 0, 0) + _name(name) + b"\x00\x01\x00\x01"
        answer = (struct.pack("!HHHHHH", number, 0x8180, 1, 1, 0, 0) + _name(name)
                  + b"\x00\x01\x00\x01\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4)
                  + bytes([192, 0, 2, number % 250 + 1]))
        sport = 30000 + number
        at += rng.expovariate(1 / 20.0)
        frames.append((at, syn.ether(syn.ip(client, resolver, 17, syn.udp(sport, 53, query)))))
        frames.append((at + 0.01, syn.ether(syn.ip(resolver, client, 17,
                                                   syn.udp(53, sport, answer)))))
    return frames


def test_dns_tunnel_in_a_capture_raises_an1228(tmp_path):
    frames = syn.dns_tunnel("10.0.0.9", "10.0.0.53", 30, T0)
    notables = _hunt(tmp_path, frames)
    # The generator polls every 0.5 s from a new source port each time: each query is a
    # flow of its own (as in Zeek conn), so the polling is also a beacon to the resolver.
    assert set(notables) == {(DNS_SEARCH, "DNS_Tunnel_Encoded_Labels"),
                             (BEACON, "Beaconing_UDP_53")}
    notable = notables[(DNS_SEARCH, "DNS_Tunnel_Encoded_Labels")]
    assert notable.fields["group_dest"] == "example.com" and notable.fields["src"] == "10.0.0.9"
    assert int(float(notable.fields["encoded_queries"])) == 30


def test_ordinary_lookups_raise_nothing(tmp_path):
    names = ["www.example.com", "mail.example.org", "api.github.com", "login.microsoftonline.com",
             "update.googleapis.com", "cdn.jsdelivr.net"] * 10
    assert _hunt(tmp_path, _lookups("10.0.0.9", "10.0.0.53", names, T0)) == {}


def _session(client, server, sport, dport, first, reply, at):
    return [(at, syn.ether(syn.ip(client, server, 6, syn.tcp(sport, dport, "S")))),
            (at + 0.01, syn.ether(syn.ip(server, client, 6, syn.tcp(dport, sport, "SA")))),
            (at + 0.02, syn.ether(syn.ip(client, server, 6, syn.tcp(sport, dport, "PA", first)))),
            (at + 0.03, syn.ether(syn.ip(server, client, 6, syn.tcp(dport, sport, "PA", reply)))),
            (at + 0.04, syn.ether(syn.ip(client, server, 6, syn.tcp(sport, dport, "FA"))))]


def test_protocols_on_ports_not_theirs_raise_an1258(tmp_path):
    frames = (_session("10.0.0.1", "10.0.0.2", 50000, 21477, b"\x05\x01\x00", b"\x05\x00", T0)
              + _session("10.0.0.1", "10.0.0.3", 50001, 2222, b"SSH-2.0-OpenSSH_9.6\r\n",
                         b"SSH-2.0-OpenSSH_9.6\r\n", T0 + 5)
              + _session("10.0.0.1", "10.0.0.4", 50002, 1080, b"\x05\x01\x00", b"\x05\x00",
                         T0 + 10)          # SOCKS on its own port: the handshake alone, low
              + _session("127.0.0.1", "127.0.0.1", 50004, 1080, b"\x05\x01\x00", b"\x05\x00",
                         T0 + 12)          # a local proxy chain (ssh -D, Tor): nothing
              + _session("10.0.0.1", "10.0.0.5", 50003, 22, b"SSH-2.0-OpenSSH_9.6\r\n",
                         b"SSH-2.0-OpenSSH_9.6\r\n", T0 + 15))
    notables = _hunt(tmp_path, frames)
    assert set(notables) == {(ANOMALY, "Nonstandard_Port_socks_21477"),
                             (ANOMALY, "Nonstandard_Port_ssh_2222"),
                             (ANOMALY, "SOCKS_Handshake")}
    scores = {signal: int(float(n.risk_score)) for (_, signal), n in notables.items()}
    assert scores == {"Nonstandard_Port_socks_21477": 60,      # port 50 + handshake
                      "Nonstandard_Port_ssh_2222": 50, "SOCKS_Handshake": 40}
    assert notables[(ANOMALY, "SOCKS_Handshake")].fields["dest"] == "10.0.0.4"


def _ssh_packet(kind, size=24):
    padding = 8 - (size + 6) % 8 + 4
    return struct.pack("!IBB", size + padding + 2, padding, kind) + b"\x01" * size + b"\0" * padding


@pytest.mark.parametrize("reversed_roles", [False, True])
def test_reverse_ssh_raises_an1258(tmp_path, reversed_roles):
    client, server = ("10.0.0.1", 48020), ("203.0.113.37", 22)
    init_side, reply_side = (server, client) if reversed_roles else (client, server)
    steps = [(server, b"SSH-2.0-Server_1.0\r\n"), (client, b"SSH-2.0-Client_1.0\r\n" + _ssh_packet(20)),
             (server, _ssh_packet(20)), (init_side, _ssh_packet(30)),
             (reply_side, _ssh_packet(31, 400) + _ssh_packet(21)), (init_side, _ssh_packet(21))]
    frames = [(T0, syn.ether(syn.ip(client[0], server[0], 6, syn.tcp(client[1], server[1], "S")))),
              (T0 + 0.01, syn.ether(syn.ip(server[0], client[0], 6,
                                           syn.tcp(server[1], client[1], "SA"))))]
    for number, (sender, payload) in enumerate(steps):
        receiver = server if sender == client else client
        frames.append((T0 + 0.02 * (number + 2), syn.ether(syn.ip(
            sender[0], receiver[0], 6, syn.tcp(sender[1], receiver[1], "PA", payload)))))
    notables = _hunt(tmp_path, frames)
    if reversed_roles:
        assert set(notables) == {(ANOMALY, "SSH_Reversed_Roles")}
        assert int(float(notables[(ANOMALY, "SSH_Reversed_Roles")].risk_score)) == 60
    else:
        assert notables == {}


def _one_flow_check_ins(server, dport, count, request_size, start=T0, period=15.0, seed=11):
    """One UDP flow kept open (same ports throughout) with a request and reply every
    ``period`` seconds (5% jitter): an HTTP/3 implant checking in inside one connection."""
    rng = random.Random(seed)
    frames, at = [], start
    for _ in range(count):
        request = bytes(rng.getrandbits(8) for _ in range(request_size))
        reply = bytes(rng.getrandbits(8) for _ in range(request_size + 40))
        frames.append((at, syn.ether(syn.ip("10.0.0.20", server, 17, syn.udp(53241, dport, request)))))
        frames.append((at + 0.09, syn.ether(syn.ip(server, "10.0.0.20", 17,
                                                   syn.udp(dport, 53241, reply)))))
        at += period * (1 + rng.uniform(-0.05, 0.05))
    return frames


def test_check_ins_inside_one_long_flow_raise_an1258(tmp_path):
    notables = _hunt(tmp_path, _one_flow_check_ins("203.0.113.7", 443, 20, 600))
    assert set(notables) == {(ANOMALY, "Periodic_Bursts_In_Long_Flow_UDP")}
    notable = notables[(ANOMALY, "Periodic_Bursts_In_Long_Flow_UDP")]
    assert notable.fields["dest"] == "203.0.113.7" and int(float(notable.risk_score)) == 50


@pytest.mark.parametrize("server,dport,request_size", [
    ("203.0.113.7", 443, 30),      # transport pings only: no data moves
    ("203.0.113.7", 4500, 600),    # an IPsec NAT-T tunnel: periodic by design
    ("10.0.0.50", 443, 600)])      # an internal server
def test_periodic_flows_that_are_not_check_ins_raise_nothing(tmp_path, server, dport,
                                                             request_size):
    assert _hunt(tmp_path, _one_flow_check_ins(server, dport, 20, request_size)) == {}


def test_beacon_over_flows_raises_the_beacon_search(tmp_path):
    frames = syn.https_beacon("10.0.0.10", "192.0.2.80", 30, T0, period=60.0, jitter=0.1)
    notables = _hunt(tmp_path, frames)
    assert set(notables) == {(BEACON, "Beaconing_TCP_443")}
    notable = notables[(BEACON, "Beaconing_TCP_443")]
    assert 55 < float(notable.fields["beacon_period"]) < 65
    assert int(float(notable.fields["beacon_count"])) == 30


def test_long_flow_windows_are_not_beacons(tmp_path):
    # One ICMP session reported every active_timeout (1800 s) for a day: 48 records of one
    # flow, perfectly periodic, but one connection; only record_seq=0 counts as a check-in.
    frames = syn.ping("10.0.0.6", "198.51.100.7", 24 * 60, T0, interval=60.0)
    assert (BEACON, "Beaconing_ICMP_0") not in _hunt(tmp_path, frames)


def test_smb_leaving_the_network_raises_internal_protocol_egress(tmp_path):
    smb = b"\x00\x00\x00\x85\xfeSMB\x40\x00" + bytes(60)
    frames = (_session("10.0.0.5", "203.0.113.7", 50010, 445, smb, smb, T0)
              + _session("10.0.0.5", "10.0.0.20", 50011, 445, smb, smb, T0 + 1))  # internal
    notables = _hunt(tmp_path, frames)
    assert set(notables) == {(DNS_SEARCH, "Internal_Protocol_Egress_SMB")}
    assert notables[(DNS_SEARCH, "Internal_Protocol_Egress_SMB")].fields["dest"] == "203.0.113.7"
