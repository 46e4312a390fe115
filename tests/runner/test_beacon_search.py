"""The Zeek beaconing search (AN1226) through the offline runner: connection series to an
address the source resolved only through a name on c2hunt_beacon_host_allowlist (an apt
mirror behind a CDN) stay quiet; the same series to an address it also resolved through
another name, or never resolved, still raise."""
from c2hunt_offline import hunt

BEACONING = "C2Hunt - Periodic Beaconing - Rule"
T0 = 1700000000.0
SERVER = "10.1.2.3"
CDN_IP = "198.51.100.68"


def conn(offset, dest=CDN_IP):
    return {"sourcetype": "bro:conn:json", "_time": T0 + offset, "src": SERVER, "dest": dest,
            "src_port": str(40000 + int(offset) % 20000), "dest_port": "443", "transport": "tcp",
            "service": "ssl", "duration": "0.07", "bytes_out": "669", "bytes_in": "134126",
            "conn_state": "SF", "host": SERVER, "index": "main"}


def lookup(offset, query, answers):
    return {"sourcetype": "bro:dns:json", "_time": T0 + offset - 0.5, "src": SERVER,
            "dest": "10.1.0.53", "src_port": "53000", "dest_port": "53", "transport": "udp",
            "query": query, "qtype_name": "A", "rcode_name": "NOERROR", "answers": answers,
            "host": SERVER, "index": "main"}


def beacon_rows(events):
    return [(n.fields["src"], n.fields["dest"]) for n in hunt(events, names=[BEACONING])]


def series(period=900.0, beats=40):
    return [i * period + (37 * i) % 60 for i in range(beats)]


def test_series_to_an_address_resolved_only_through_an_allowlisted_name_stays_quiet():
    times = series()
    events = [conn(t) for t in times]
    events += [lookup(t, "repos-droplet.digitalocean.com", [CDN_IP, "198.51.100.69"]) for t in times]
    assert beacon_rows(events) == []


def test_the_same_series_without_a_lookup_or_with_another_name_still_raises():
    times = series()
    bare = [conn(t) for t in times]
    assert beacon_rows(bare) == [(SERVER, CDN_IP)]
    # the address is also what an unlisted name resolved to: the allowlisted name vouches
    # for nothing
    mixed = bare + [lookup(t, "repos-droplet.digitalocean.com", [CDN_IP]) for t in times]
    mixed += [lookup(times[3], "updates.c2-example.net", [CDN_IP])]
    assert beacon_rows(mixed) == [(SERVER, CDN_IP)]
