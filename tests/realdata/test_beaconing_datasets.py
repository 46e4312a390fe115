"""The Periodic Beaconing rule on public third-party data (../shared/datasets; each test skips
when its files are absent): RITA's expected beacons found and ranked first, the benign
periodic traffic around them (scanners, brute-force, neighbour discovery, software many hosts
run, exploit floods) kept quiet."""
import gzip
import shutil
from pathlib import Path

import pytest

from c2hunt_offline.engine import hunt

ROOT = Path(__file__).resolve().parents[2]

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
RITA = DATASETS / "rita-test-data"
SLIPS18 = DATASETS / "slips-cc-beacons" / "dataset" / "test18-malicious-ctu-sme-11-win"
ZEROLOGON = (DATASETS / "pcap-attack" /
             "Lateral_Movement-CVE-2020-1472_Zerologon_RPC_NetLogon_NullChallenge_SecChan_6_from_nonDC_to_DC.pcapng")
BEACON = "C2Hunt - Periodic Beaconing - Rule"


def _need(path):
    if not path.exists():
        pytest.skip("%s not present" % path)


def _beacons(files):
    notables = hunt([str(f) for f in files], names=[BEACON])
    return sorted(notables, key=lambda n: -float(n.fields["beacon_score"]))


def _plain_copies(folder, tmp_path, kinds):
    """Zeek logs of ``folder`` (.log.gz, hourly names) as plain files the reader of any
    branch takes: <kind>_<n>.log."""
    out = []
    for n, path in enumerate(sorted(folder.glob("*.log.gz"))):
        kind = path.name.split(".")[0]
        if kind in kinds:
            target = tmp_path / ("%s_%03d.log" % (kind, n))
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            out.append(target)
    return out


def test_proxy_beacon_is_one_notable_on_its_named_channel():
    folder = RITA / "proxy"
    _need(folder)
    notables = _beacons(sorted(folder.glob("*.log")))
    # RITA: 10.136.0.18 -> www.honestimnotevil.com through 10.136.0.16:3128, score 0.979.
    # The CONNECT requests, the TLS inside and the TCP to the proxy are one channel: one
    # notable, on the host name. ICMPv6 router advertisements to ff02::2 (periodic) are
    # link-scoped multicast and stay quiet.
    assert len(notables) == 1
    fields = notables[0].fields
    assert (fields["src"], fields["dest"], fields["dest_port"]) == \
        ("10.136.0.18", "www.honestimnotevil.com", "3128")
    assert fields["dest_ip"] == "10.136.0.16"
    assert float(fields["beacon_score"]) > 0.9
    assert 240 < float(fields["beacon_period"]) < 260


def test_missing_host_beacon_ranks_first_and_inbound_ssh_brute_force_is_quiet(tmp_path):
    folder = RITA / "missing_host" / "2024-04-19"
    _need(folder)
    notables = _beacons(_plain_copies(folder, tmp_path, {"conn", "http"}))
    top = notables[0].fields
    # RITA: 73.54.23.243 -> 64.225.56.201:80, empty Host, every 200-350 s, beacon 0.963
    assert (top["src"], top["dest_port"], top["protocol"]) == ("73.54.23.243", "80", "http")
    assert "Beacon_HTTP_Without_Host" in top["signals"]
    assert "Beacon_Sustained" in top["signals"]
    assert 250 < float(top["beacon_period"]) < 290
    # hundreds of sources brute-forcing SSH on the sensor, each periodic: a campaign
    # against an exposed server (prevalence among beacons), not an implant
    assert not [n for n in notables if n.fields["dest_port"] == "22"]
    assert len(notables) < 50
    # ICMP errors the sensor sends back (unreachable) are not check-ins
    assert not [n for n in notables if n.fields["protocol"] == "icmp"]


def test_software_many_hosts_poll_is_not_an_implant(tmp_path):
    path = RITA / "valid_json" / "http.log.gz"
    _need(path)
    plain = tmp_path / "http.log"
    with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    # 10 to 11 of the capture's 13 hosts poll www.alexa.com and the Windows weather tile
    # (RITA's SNI beacons), 5 fetch the same MSN tile feed every 30 min: prevalence. NCSI
    # probes are on the host allowlist. Nothing in this capture is an implant.
    assert _beacons([plain]) == []


def test_remcos_reconnect_loop_is_found():
    folder = SLIPS18 / "zeek-labeled"
    _need(folder)
    notables = _beacons([folder / "conn.log.labeled"])
    assert notables, "RemcosRAT's reconnects to 66.63.168.35:5888 raised nothing"
    top = notables[0].fields
    assert (top["src"], top["dest"], top["dest_port"]) == ("192.168.1.107", "66.63.168.35", "5888")
    assert float(top["beacon_period"]) == pytest.approx(0.5, abs=0.1)


def test_exploit_flood_is_not_a_beacon():
    _need(ZEROLOGON)
    pytest.importorskip("dpkt")
    # Zerologon retries the NetLogon handshake every ~40 ms for seconds: a strobe
    assert _beacons([ZEROLOGON]) == []
