"""The CIM variants on real third-party data: Zeek logs and c2flow records of public captures,
read as a site that maps them into the CIM data models (and does not enable c2hunt's own Zeek
and c2flow searches) would search them. c2hunt_cim_native_data is emptied for that, so the
tstats searches see these sourcetypes through Network_Traffic, Network_Resolution and Web.

Each labelled channel must be found by its CIM variant; captures without C2 must stay quiet.
Skips when ../shared/datasets is absent.
"""
from pathlib import Path

import pytest

from c2hunt_offline.engine import Runner

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

TRAFFIC = "C2Hunt - Network Protocol Anomaly Or Internal Protocol Egress - CIM - Rule"
DNS = "C2Hunt - DNS Tunnel - CIM - Rule"
BEACON = "C2Hunt - Periodic Beaconing - CIM - Rule"
WEB_BEACON = "C2Hunt - Web Beaconing - CIM - Rule"
CIM_SEARCHES = [TRAFFIC, DNS, BEACON, WEB_BEACON]

# dataset path -> (search, src, dest) of each labelled channel (datasets/README.md)
CHANNELS = {
    # RITA's beacon through the proxy 10.136.0.16:3128 (Zeek http: the Host header is the site)
    "rita-test-data/proxy": [(WEB_BEACON, "10.136.0.18", "www.honestimnotevil.com"),
                             (BEACON, "10.136.0.18", "10.136.0.16")],
    # RemcosRAT 192.168.1.107 -> 66.63.168.35:5888 (Zeek conn)
    "slips-cc-beacons/dataset/test18-malicious-ctu-sme-11-win": [
        (BEACON, "192.168.1.107", "66.63.168.35")],
    # dnscat2 and iodine (c2hunt:dns from the captures)
    "ndpi-pcaps/dns_exfiltration.pcap": [(DNS, "192.168.220.56", "192.168.203.167")],
    "ndpi-pcaps/dns-tunnel-iodine.pcap": [(DNS, "10.0.2.30", "10.0.2.20")],
    # the SSH session inside ICMP echo payloads (c2hunt:flow), 1,122 s long
    "ndpi-pcaps/icmp-tunnel.pcap": [(TRAFFIC, "192.168.154.131", "192.168.154.132")],
    # commands in TXT answers under ns.ostrykebs.pl
    "pcap-attack/Command_and_Control-cmds_over_dns_txt_queries_and_reponses.pcap": [
        (DNS, "192.168.100.121", None)],
    # SOCKS5 to an outside server
    "zeek-traces/socks.pcap": [(TRAFFIC, "10.0.0.55", "60.190.189.214")],
}
# Captures and logs without C2 (lab lateral movement and discovery, campus traffic).
QUIET = [
    "slips-dataset-extra/dataset/test10-mixed-zeek-dir",
    "pcap-attack/Discovery-Discovery_impacket_rpcdump.pcapng",
    "pcap-attack/Lateral_Movement-LM_psexec_smb_dcerpc_epm_svcctl.pcapng",
    "pcap-attack/CredAccess-CA_kerbrute_passwordspray_kerberos_AS-REQ.pcapng",
    "zeek-traces/irc-basic.pcap",
]


def _cim_runner():
    runner = Runner(str(ROOT))
    runner.macros.defs[("c2hunt_cim_native_data", 0)] = ([], '(sourcetype="c2hunt-no-such")', False)
    return runner


def _hunt(relative):
    path = DATASETS / relative
    if not path.exists():
        pytest.skip("%s not available" % path)
    runner = _cim_runner()
    events, _ = runner.read_files([str(path)])
    notables, errors = runner.hunt(events, names=CIM_SEARCHES)
    assert not errors, errors
    return notables


@pytest.mark.parametrize("relative", sorted(CHANNELS))
def test_cim_variant_finds_the_labelled_channel(relative):
    notables = _hunt(relative)
    found = set()
    for n in notables:
        dests = n.fields.get("dest")
        found.add((n.search, n.fields.get("src"),
                   tuple(dests) if isinstance(dests, list) else (dests,)))
    for search, src, dest in CHANNELS[relative]:
        assert any(s == search and f_src == src and (dest is None or dest in f_dests)
                   for s, f_src, f_dests in found), (search, src, dest, found)


@pytest.mark.parametrize("relative", QUIET)
def test_cim_variants_stay_quiet_without_c2(relative):
    assert [(n.search, n.signal, n.fields.get("src")) for n in _hunt(relative)] == []
