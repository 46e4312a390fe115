"""Metamorphic tests on the real datasets: telemetry written differently must give the same
detections (benchmarks/metamorphic.py has the transforms; docs/evaluation.md the findings).

Held-out data will differ from ../shared/datasets in ways that say nothing about C2: Zeek TSV
or JSON, gzip, CRLF, hourly rotation, another year or time zone, another private address
plan or IPv6, more hosts around the channel, Windows events exported as XML, text or JSON,
captures with another link type. Each case rewrites one scoreboard unit into a temporary
folder (never into the repository), hunts it through the subprocess the scoreboard runs
(detection_eval.AppRunner), and asserts that every labelled channel detected as shipped is
still detected and no notable on benign traffic appears. A representative subset, about a
minute in all; ``python benchmarks/metamorphic.py`` runs every transform on more units.

The transform helpers are also checked on made-up data (no datasets needed).
"""
import gzip
import ipaddress
import json
import struct
from pathlib import Path

import pytest

import detection_eval as ev  # benchmarks/detection_eval.py
import metamorphic as mm     # benchmarks/metamorphic.py

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

RDP_TUN = "Command_and_Control-DE_sysmon-3-rdp-tun.evtx"
WFP_5156 = "Command_and_Control-DE_RDP_Tunnel_5156.evtx"
REMCOS = "dataset/test18-malicious-ctu-sme-11-win/zeek-labeled"
TRICKBOT_JA3 = "dataset/test15-malicious-zeek-dir"
MERLIN_QUIC = "quic/merlinc2_Zeek_example.pcapng"
REVERSE_SSH = "ssh/reverse-ssh.pcap"

# (dataset, unit) -> transform chains ("a+b": a, then b on a's output)
CASES = {
    ("rita-test-data", "proxy"): [                       # Zeek TSV, a beacon through a proxy
        "zeek_tsv_to_json+zeek_json_shuffled+gzip",
        "zeek_splunk_csv",
        "split_by_hour+renumber_private+shift_dst_local_tz+crlf",
        "zeek_filebeat_ecs",                             # round 2: unknown JSON before the ECS reader
        "zeek_json_ts_millis",                           # round 2: JSON::TS_MILLIS times read as seconds
    ],
    ("slips-cc-beacons", REMCOS): [                      # Zeek TSV with label columns, RemcosRAT beacon
        "add_benign_hosts",
        "zeek_mixed_rotation",
        "zeek_tsv_other_layout+renumber_private_ipv6",
        "zeek_tsv_other_header+gzip",                    # guards: | separators, NULL/EMPTY, no #open
        "zeek_tsv_mode",                                 # round 2: a names line only: unknown before
    ],
    ("slips-dataset-extra", TRICKBOT_JA3): [             # Zeek JSON, relative timestamps, Trickbot JA3
        "zeek_json_to_tsv+crlf",
        "zeek_json_streaming+shift_past_2038",
        "zeek_tsv_concatenated",                         # guards: several #path sections in one file
        "zeek_filebeat_ecs",                             # the ssl fileset's ja3 (tls.client.ja3)
    ],
    ("evtx-attack-samples", RDP_TUN): [                  # Sysmon: plink RDP-over-SSH
        "evtx_to_rendered_xml",
        "evtx_to_classic_text+utf16",
        "evtx_dump_json",                                # round 2: unknown format before
        "evtx_to_eventviewer_csv",                       # round 2: unknown format before
    ],
    ("evtx-attack-samples", WFP_5156): [                 # Security 5156 + 4624
        "renumber_private+utf16",
        "evtx_to_wevtutil_text",
        "evtx_dump_jsonl",                               # round 2: typed values lost 72 of 101 events
        "evtx_json_array",                               # round 2: unknown format before
    ],
    ("ndpi-pcaps", "icmp-tunnel.pcap"): [                # SSH inside ICMP echo payloads
        "pcap_raw_ip+shift_years",
        "pcap_vlan+pcap_to_pcapng",
    ],
    ("zeek-traces", MERLIN_QUIC): [                      # Merlin C2 check-ins inside one QUIC flow
        "pcap_out_of_order",                             # round 2: bursts lost before
    ],
    ("zeek-traces", REVERSE_SSH): [                      # reverse SSH: the dialler serves SSH
        "pcap_span_duplicates",                          # round 2: reversed roles lost before
    ],
}


@pytest.fixture(scope="module")
def context():
    if not DATASETS.exists():
        pytest.skip("%s not present" % DATASETS)
    return ev.AppRunner(ROOT), ev.load_ground_truth(), mm.Context(DATASETS), {}


@pytest.mark.parametrize("dataset,unit", sorted(CASES), ids=lambda v: Path(v).name)
def test_transformed_unit_keeps_its_detections(context, dataset, unit):
    runner, truth, ctx, baselines = context
    if not (DATASETS / dataset / unit).exists():
        pytest.skip("%s/%s not present" % (dataset, unit))
    base, rows = mm.check_unit(runner, truth, DATASETS, dataset, unit, CASES[(dataset, unit)], ctx,
                               log=lambda *a: None)
    assert base["detected"], (dataset, unit, "detects nothing as shipped: the case checks nothing")
    assert [r for r in rows if r[1] != "ok"] == []


# ----------------------------------------------------------------------------- the helpers
CONN = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        "#open\t2024-05-14-10-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
        "service\tduration\tlocal_orig\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\t"
        "string\tinterval\tbool\tset[string]\n"
        "1715680800.250000\tCa1\t10.1.2.3\t50100\t203.0.113.7\t443\ttcp\tssl,http\t1.500000\tT\t(empty)\n"
        "1715684400.500000\tCa2\t192.168.7.9\t50101\t10.1.2.200\t8080\ttcp\t-\t-\tF\t-\n"
        "#close\t2024-05-14-11-00-00\n")


def test_zeek_tsv_json_round_trip_keeps_types_and_unset_fields():
    records = [json.loads(line) for line in mm.tsv_to_json_lines(CONN).splitlines()]
    assert records[0] == {"ts": 1715680800.25, "uid": "Ca1", "id.orig_h": "10.1.2.3", "id.orig_p": 50100,
                          "id.resp_h": "203.0.113.7", "id.resp_p": 443, "proto": "tcp",
                          "service": "ssl,http", "duration": 1.5,
                          "local_orig": True, "tunnel_parents": []}
    assert "service" not in records[1] and "duration" not in records[1]
    layouts = {"conn": [(f, t) for f, t in zip(mm.parse_zeek_tsv(CONN)[0][0], mm.parse_zeek_tsv(CONN)[0][1])]}
    back = mm.json_lines_to_tsv(mm.tsv_to_json_lines(CONN), "conn", layouts)
    assert mm.tsv_to_json_lines(back) == mm.tsv_to_json_lines(CONN)
    assert "#types\ttime\tstring\taddr\tport" in back


def test_time_shift_moves_every_time_field_and_the_header():
    layouts = {"conn": list(zip(*mm.parse_zeek_tsv(CONN)[0][:2]))}
    moved = mm.shift_zeek_text(CONN, 86400 * 3, "conn", layouts)
    assert "1715940000.250000\tCa1" in moved and "#open\t2024-05-17-10-00-00" in moved
    assert "1.500000" in moved                                   # an interval is not a time
    as_json = mm.shift_zeek_text(mm.tsv_to_json_lines(CONN), -1.0, "conn", layouts)
    assert json.loads(as_json.splitlines()[0])["ts"] == 1715680799.25


def test_private_renumbering_keeps_scope_and_neighbourhoods():
    mapper = mm.PrivateRenumbering()
    pairs = ["10.1.2.3", "10.1.2.200", "10.9.0.1", "192.168.7.9", "172.16.5.4", "172.16.5.99",
             "203.0.113.7", "127.0.0.1", "169.254.1.1"]
    new = [mapper.address(a) for a in pairs]
    assert len(set(new)) == len(new)
    private = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    for old, moved in zip(pairs, new):
        was = any(ipaddress.ip_address(old) in p for p in private)
        assert was == any(ipaddress.ip_address(moved) in p for p in private)
        assert (moved != old) == was and moved.rsplit(".", 1)[1] == old.rsplit(".", 1)[1]
        if was:   # another private block
            assert not any(ipaddress.ip_address(old) in p and ipaddress.ip_address(moved) in p for p in private)
    assert new[0].rsplit(".", 1)[0] == new[1].rsplit(".", 1)[0] and new[4].rsplit(".", 1)[0] == new[5].rsplit(".", 1)[0]
    assert mapper.text("via-10.1.2.3:80 and 10.1.2.300") == "via-%s:80 and 10.1.2.300" % new[0]
    v6 = mm.PrivateToIpv6()
    assert v6.address("10.1.2.3") == "fd00:a:1:2::3" and v6.address("8.8.8.8") == "8.8.8.8"


def _ethernet_pcap(path):
    ip = bytes.fromhex("4500001c000100004001f7cb0a000001") + bytes([10, 0, 0, 2]) + bytes(8)
    frame = bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00" + ip
    mm.write_pcap(path, 1, [(1700000000, 123456000, frame), (1700000001, 0, bytes(12) + b"\x08\x06" + bytes(28))])
    return ip


def test_capture_relinking(tmp_path):
    ip = _ethernet_pcap(tmp_path / "eth.pcap")
    linktype, packets = mm.read_capture(tmp_path / "eth.pcap")
    assert linktype == 1 and packets[0][:2] == (1700000000, 123456000)
    raw = mm.relink(linktype, packets, 101)
    assert [p[2] for p in raw] == [ip]                           # ARP is not IP: dropped
    sll = mm.relink(linktype, packets, 113)
    assert sll[0][2][14:16] == b"\x08\x00" and sll[0][2][16:] == ip and len(sll) == 2
    mm.write_pcap(tmp_path / "ns.pcap", 101, raw, nanosecond=True, big_endian=True, snaplen=65535)
    assert (tmp_path / "ns.pcap").read_bytes()[:4] == struct.pack(">I", 0xA1B23C4D)
    assert mm.read_capture(tmp_path / "ns.pcap") == (101, raw)
    mm.write_pcapng(tmp_path / "x.pcapng", 113, sll)
    assert mm.read_capture(tmp_path / "x.pcapng") == (113, sll)


def test_gzip_split_and_merge_keep_every_row(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "conn.log").write_text(CONN)
    ctx = mm.Context(tmp_path)
    paths, _, _ = mm.apply_chain("split_by_hour+gzip", [tmp_path / "in"], tmp_path / "work", ctx)
    files = sorted(p for p in Path(paths[0]).rglob("*") if p.is_file())
    assert [p.name for p in files] == ["conn.10:00:00-11:00:00.log.gz", "conn.11:00:00-12:00:00.log.gz"]
    assert all(gzip.decompress(p.read_bytes()).decode().startswith("#separator") for p in files)
    paths, _, _ = mm.apply_chain(["merge_files"], paths, tmp_path / "work2", ctx)
    merged = mm.read_text(paths[0] / "conn.log")
    assert mm.tsv_to_json_lines(merged) == mm.tsv_to_json_lines(CONN)


def test_classic_rendering_of_a_security_event():
    xml = ("<Event><System><EventID>5156</EventID><TimeCreated SystemTime='2019-02-13T18:01:41.593830Z'/>"
           "<EventRecordID>7</EventRecordID><Channel>Security</Channel><Computer>PC01</Computer></System>"
           "<EventData><Data Name='ProcessID'>4</Data><Data Name='Application'>\\device\\x\\plink.exe</Data>"
           "<Data Name='Direction'>%%14593</Data><Data Name='DestAddress'>127.0.0.2</Data></EventData></Event>")
    text = mm.classic_rendering(xml)
    assert text.splitlines()[:3] == ["02/13/2019 06:01:41 PM", "LogName=Security", "EventCode=5156"]
    assert "\tApplication Name:\t\t\\device\\x\\plink.exe" in text and "\tDirection:\t\tOutbound" in text
    assert "\tSource Port:\t\t-" in text


def test_filebeat_document_as_the_module_writes_it():
    # the connection fileset's published test case (a DNS flow), from a Zeek conn record
    doc = mm.filebeat_zeek_document("conn", {
        "ts": 1547188415.857352, "uid": "CAcJw21BbVedgFnYH3", "id.orig_h": "192.168.86.167", "id.orig_p": 38339,
        "id.resp_h": "192.168.86.1", "id.resp_p": 53, "proto": "udp", "service": "dns", "duration": 0.076967,
        "orig_bytes": 75, "resp_bytes": 178, "conn_state": "SF", "local_orig": True, "missed_bytes": 0,
        "history": "Dd", "orig_pkts": 1, "orig_ip_bytes": 103, "resp_pkts": 1, "resp_ip_bytes": 206})
    assert doc["@timestamp"] == "2019-01-11T06:33:35.857Z" and doc["event"]["duration"] == 76967000
    assert doc["source"] == {"address": "192.168.86.167", "ip": "192.168.86.167", "port": 38339, "bytes": 103,
                             "packets": 1}
    assert doc["network"] == {"transport": "udp", "protocol": "dns"} and doc["zeek"]["session_id"] == "CAcJw21BbVedgFnYH3"
    assert doc["zeek"]["connection"] == {"state": "SF", "local_orig": True, "missed_bytes": 0, "history": "Dd"}


def test_renumbering_inside_packets_keeps_checksums_valid():
    import dpkt
    dns = dpkt.dns.DNS(id=1, qr=1, qd=[dpkt.dns.DNS.Q(name="a.example", type=1)],
                       an=[dpkt.dns.DNS.RR(name="a.example", type=1, rdata=bytes([10, 1, 2, 3]), ttl=5)])
    udp = dpkt.udp.UDP(sport=53, dport=40000, data=bytes(dns))
    udp.ulen = 8 + len(udp.data)
    ip = dpkt.ip.IP(src=bytes([192, 168, 7, 9]), dst=bytes([8, 8, 4, 4]), p=17, data=udp)
    ip.len = 20 + udp.ulen
    mapper = mm.PrivateRenumbering()
    moved = dpkt.ip.IP(mm.renumber_ipv4_packet(bytes(ip), mapper))
    assert (moved.src, moved.dst) == (bytes([10, 168, 7, 9]), bytes([8, 8, 4, 4]))
    assert dpkt.dns.DNS(moved.data.data).an[0].rdata == bytes(int(x) for x in mapper.address("10.1.2.3").split("."))
    header = bytearray(bytes(moved)[:20])
    assert mm._ipv4_checksum(bytes(header)) == b"\x00\x00"         # a valid header sums to zero
    again = dpkt.ip.IP(bytes(moved))
    again.sum, again.data.sum = 0, 0
    assert dpkt.ip.IP(bytes(again)).data.sum == moved.data.sum    # the UDP checksum as recomputed


def test_capture_timing_transforms(tmp_path):
    _ethernet_pcap(tmp_path / "eth.pcap")
    linktype, packets = mm.read_capture(tmp_path / "eth.pcap")
    mm._span_duplicates(tmp_path / "dup", linktype, packets)
    doubled = mm.read_capture(tmp_path / "dup.pcap")[1]
    assert [p[2] for p in doubled] == [packets[0][2]] * 2 + [packets[1][2]] * 2
    assert abs(doubled[1][1] - doubled[0][1] - mm.SPAN_DELAY_US * 1000) < 100    # read back as float seconds
    mm._out_of_order(tmp_path / "swap", linktype, packets)
    assert mm.read_capture(tmp_path / "swap.pcap")[1] == [packets[1], packets[0]]
    mm._snaplen_short(tmp_path / "short", linktype, packets)
    raw = (tmp_path / "short.pcap").read_bytes()
    assert struct.unpack("<I", raw[16:20])[0] == mm.SNAPLEN_SHORT
    assert struct.unpack("<II", raw[32:40]) == (len(packets[0][2]), len(packets[0][2]))   # short packets whole
