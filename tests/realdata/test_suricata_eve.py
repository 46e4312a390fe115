"""The CIM variants on Suricata EVE JSON made from the public captures by a real Suricata.

Runs only where the ``suricata`` binary is installed (it is not in Debian bookworm's main
archive, so it skips on the project's machines today); the EVE output is written to a
temporary folder and never kept. Suricata runs with no rules (``-S /dev/null``): the flow,
dns, http and tls records are what the searches read. Expectations are the DNS channels of
tests/realdata/test_cim_variants.py and its quiet captures: Suricata's dns records must give
the DNS Tunnel - CIM search what Zeek's and c2flow's do. Skips when ../shared/datasets is absent.
"""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from c2hunt_offline.engine import Runner

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
SURICATA = shutil.which("suricata")

TRAFFIC = "C2Hunt - Network Protocol Anomaly Or Internal Protocol Egress - CIM - Rule"
DNS = "C2Hunt - DNS Tunnel - CIM - Rule"
BEACON = "C2Hunt - Periodic Beaconing - CIM - Rule"
WEB_BEACON = "C2Hunt - Web Beaconing - CIM - Rule"
CIM_SEARCHES = [TRAFFIC, DNS, BEACON, WEB_BEACON]

# capture -> (src, resolver or None) of its DNS tunnel (datasets/README.md)
DNS_TUNNELS = {
    "ndpi-pcaps/dns_exfiltration.pcap": ("192.168.220.56", "192.168.203.167"),
    "ndpi-pcaps/dns-tunnel-iodine.pcap": ("10.0.2.30", "10.0.2.20"),
    "pcap-attack/Command_and_Control-cmds_over_dns_txt_queries_and_reponses.pcap":
        ("192.168.100.121", None),
}
QUIET = [
    "pcap-attack/Discovery-Discovery_impacket_rpcdump.pcapng",
    "pcap-attack/Lateral_Movement-LM_psexec_smb_dcerpc_epm_svcctl.pcapng",
    "pcap-attack/CredAccess-CA_kerbrute_passwordspray_kerberos_AS-REQ.pcapng",
    "zeek-traces/irc-basic.pcap",
]

pytestmark = pytest.mark.skipif(SURICATA is None, reason="suricata is not installed")


def _notables(relative):
    capture = DATASETS / relative
    if not capture.exists():
        pytest.skip("%s not available" % capture)
    with tempfile.TemporaryDirectory(prefix="c2hunt-suricata-") as folder:
        subprocess.run([SURICATA, "-r", str(capture), "-l", folder, "-k", "none",
                        "-S", "/dev/null", "--runmode", "single"],
                       check=True, capture_output=True, timeout=600)
        eve = Path(folder) / "eve.json"
        assert eve.exists(), "suricata wrote no eve.json"
        runner = Runner(str(ROOT))
        events, issues = runner.read_files([str(eve)])
    assert not [i for i in issues if i.is_error()], issues
    assert events and {e["sourcetype"] for e in events} == {"suricata"}
    notables, errors = runner.hunt(events, names=CIM_SEARCHES)
    assert not errors, errors
    return notables


@pytest.mark.parametrize("relative", sorted(DNS_TUNNELS))
def test_dns_tunnel_cim_finds_the_tunnel_in_suricata_dns_records(relative):
    src, resolver = DNS_TUNNELS[relative]
    found = [(n.fields.get("src"), n.fields.get("dest")) for n in _notables(relative)
             if n.search == DNS]
    assert any(f_src == src and (resolver is None or resolver in
                                 (f_dest if isinstance(f_dest, list) else [f_dest]))
               for f_src, f_dest in found), found


@pytest.mark.parametrize("relative", QUIET)
def test_cim_variants_stay_quiet_on_suricata_records_without_c2(relative):
    assert [(n.search, n.signal, n.fields.get("src")) for n in _notables(relative)] == []
