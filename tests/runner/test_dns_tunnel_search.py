"""AN1228's per-domain DNS scoring, through the offline runner: what a tunnel with short or
few names raises, and what stays quiet (CDN and shard names, link-local and service names).

The netrack measurement (recall and false-positive rate on labelled names) is in
tests/runner/test_dns_datasets.py; the captures in tests/flow/test_datasets.py.
"""
import random

from c2hunt_offline import hunt

AN1228 = "C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule"
T0 = 1700000000.0
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def dns(src, query, offset, qtype="A", dest="10.0.0.53", dest_port="53", src_port="53000"):
    return {"sourcetype": "bro:dns:json", "_time": T0 + offset, "src": src, "dest": dest,
            "src_port": src_port, "dest_port": dest_port, "transport": "udp", "query": query,
            "qtype_name": qtype, "host": src}


def notables(events):
    rows = []
    for n in hunt(events, names=[AN1228]):
        signals = n.fields["signals"]
        rows.append((n.fields["src"], n.fields["group_dest"],
                     sorted([signals] if isinstance(signals, str) else signals)))
    return rows


def base32(rng, length):
    return "".join(rng.choice(BASE32) for _ in range(length))


def test_slow_tunnel_with_few_encoded_names_raises_the_profile_signal():
    # Ten queries in an hour: every name new, a 20-character base32 chunk and a sequence
    # number; below the encoded-label rule (24+ characters) and every volume threshold.
    rng = random.Random(1)
    events = [dns("10.1.1.5", "%s.%d.t.exfil-example.net" % (base32(rng, 20), i), 360 * i)
              for i in range(10)]
    [(src, domain, signals)] = notables(events)
    assert (src, domain) == ("10.1.1.5", "exfil-example.net")
    assert signals == ["DNS_Tunnel_Encoded_Subdomain_Profile"]


def test_short_label_polls_raise_the_machine_made_signal():
    # tuns-style polling: r<counter>, six characters, one every two minutes.
    events = [dns("10.1.1.6", "r%d.tunnel.c2-example.org" % (15989 + i), 120 * i)
              for i in range(30)]
    [(src, domain, signals)] = notables(events)
    assert domain == "c2-example.org"
    assert signals == ["DNS_Tunnel_Machine_Made_Subdomains"]


def test_txt_commands_under_one_domain_raise_the_record_type_share():
    events = [dns("10.1.1.7", "l.%d.ns.cmd-example.pl" % i, 10 * i, qtype="TXT")
              for i in range(12)]
    [(_, domain, signals)] = notables(events)
    assert domain == "cmd-example.pl" and "DNS_Tunnel_Record_Type_Share" in signals


def test_many_unique_host_names_of_a_site_stay_quiet():
    # A browser on a busy site: many unique names, words people pick, a few shard numbers.
    words = ["www", "static", "images", "api", "login", "accounts", "mail", "news", "video",
             "assets", "cdn", "media", "shop", "help", "docs", "blog", "status", "search",
             "maps", "play", "photos", "img1", "img2", "img3", "s1", "s2"]
    events = [dns("10.1.1.8", "%s.bigsite-example.com" % word, 30 * i)
              for i, word in enumerate(words)]
    assert notables(events) == []


def test_allowlisted_cdn_names_stay_quiet():
    # Generated cache names under CDNs whose name servers the provider runs.
    rng = random.Random(2)
    events = [dns("10.1.1.9", "r%d---sn-%s.googlevideo.com" % (i % 9, base32(rng, 8)), 20 * i)
              for i in range(40)]
    events += [dns("10.1.1.9", "d%s.cloudfront.net" % base32(rng, 13), 20 * i) for i in range(40)]
    assert notables(events) == []


def test_mdns_and_service_names_stay_quiet():
    rng = random.Random(3)
    mdns = [dns("10.1.1.10", "printer-%s (%s)._ipp._tcp.local" % (i, base32(rng, 20)), i,
                qtype="SRV", dest="224.0.0.251", dest_port="5353", src_port="5353")
            for i in range(30)]
    mdns_v6 = [dns("fe80::1", "%s.%s.local" % (base32(rng, 24), i), i, qtype="TXT",
                   dest="ff02::fb", dest_port="5353", src_port="5353") for i in range(30)]
    # DNS-SD browsing and SRV lookups through the resolver: protocol labels, not data.
    service = [dns("10.1.1.11", "_ldap._tcp.site%d._sites.dc._msdcs.corp-example.com" % i, i,
                   qtype="SRV") for i in range(30)]
    service += [dns("10.1.1.11", "%s._domainkey.mail-example.com" % base32(rng, 20), i,
                    qtype="TXT") for i in range(30)]
    assert notables(mdns + mdns_v6 + service) == []


def test_reverse_lookups_stay_quiet():
    events = [dns("10.1.1.12", "%d.%d.51.198.in-addr.arpa" % (i % 250, i // 250), i, qtype="PTR")
              for i in range(300)]
    assert notables(events) == []


def test_machine_made_host_names_of_a_zone_many_hosts_use_stay_quiet():
    # A management server resolving workstation names of the company's own zone, which
    # every workstation resolves too: infrastructure, not one implant's channel.
    events = [dns("10.2.0.5", "ws%04d.corp-example.com" % i, 60 * i) for i in range(40)]
    events += [dns("10.2.1.%d" % k, "fs01.corp-example.com", k) for k in range(1, 9)]
    assert notables(events) == []
    # The same names from one host and nobody else: the short-label signal.
    [(_, domain, signals)] = notables(events[:40])
    assert domain == "corp-example.com" and signals == ["DNS_Tunnel_Machine_Made_Subdomains"]


def test_names_under_a_suffix_the_public_suffix_list_carves_out_of_an_allowlisted_cdn_stay_quiet():
    # The public-suffix list makes dscx.akamaiedge.net (and each d<hash>.cloudfront.net) a
    # registered domain of its own; the provider still runs its name servers, so the
    # allowlisted parent covers it (as in the endpoint DNS search).
    rng = random.Random(4)
    carved = [dns("10.1.1.13", "%s.dscx.akamaiedge.net" % base32(rng, 30), 20 * i) for i in range(40)]
    assert notables(carved) == []
    # The same names under a parent nobody allowlisted still raise.
    other = [dns("10.1.1.13", "%s.dscx.cdn-example.net" % base32(rng, 30), 20 * i) for i in range(40)]
    [(_, domain, signals)] = notables(other)
    assert domain == "cdn-example.net" and "DNS_Tunnel_Encoded_Labels" in signals


def smb(src, history, offset, state="SF"):
    return {"sourcetype": "bro:conn:json", "_time": T0 + offset, "src": src, "dest": "198.51.100.20",
            "src_port": "42257", "dest_port": "445", "transport": "tcp", "conn_state": state,
            "history": history, "host": src}


def test_smb_leaving_the_network_raises_but_a_lone_reset_does_not():
    # A connection attempt (SYN, even unanswered) is egress; a single reset with no handshake
    # and no payload (Zeek history "R", state OTH) is backscatter or a stray packet.
    [(src, dest, signals)] = notables([smb("10.1.1.20", "S", 0, state="S0")])
    assert (src, dest, signals) == ("10.1.1.20", "198.51.100.20", ["Internal_Protocol_Egress_SMB"])
    assert notables([smb("10.1.1.21", "R", 0, state="OTH")]) == []
