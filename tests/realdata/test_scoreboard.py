"""The detection scoreboard (benchmarks/detection_eval.py): its matching rule on made-up
notables, its ground-truth files, and the floor the app must hold on ../shared/datasets
(skipped when the datasets are absent)."""
import json
import shutil
from pathlib import Path

import pytest

import detection_eval as ev  # benchmarks/detection_eval.py

ROOT = Path(__file__).resolve().parents[2]

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"

# The measured figures of docs/evaluation.md (baseline 17 detected / 16 benign when the
# scoreboard landed). Raise DETECTED_FLOOR and lower BENIGN_CEILING as detection improves;
# never the other way.
DETECTED_FLOOR = 30                   # of 34 labelled channels; the other 4 are documented undetectable
BENIGN_CEILING = 5                    # 3 inbound HTTP series on RITA's exposed sensor, 2 on Zeek's cert-no-cn trace
RITA_ABOVE_BENIGN_FLOOR = 2          # expected beacons scored above every benign beacon row
RITA_MET_FLOOR = 2                   # ... and raising a notable (RITA's target)
DNS_RECALL_FLOOR = 0.95               # the target on netrack's validate split
DNS_FPR_CEILING = 0.005


# ----------------------------------------------------------------------------- matching
def _notable(search, signal, **fields):
    return {"search": search, "signal": signal, "risk_score": 50, "host": fields.pop("host", None),
            "fields": fields}


METERPRETER = {"id": "m", "dest": ["10.0.2.18"], "dest_port": "4443", "process": "mshta.exe"}


def test_sysmon_names_match_by_value():
    n = _notable("Sysmon", "Raw_TCP_Unusual_Port_4443", Image="C:\\Windows\\System32\\mshta.exe",
                 DestinationIp="10.0.2.18", dest_port="4443", SourceIp="10.0.2.13", SourcePort="49162")
    assert ev.matches(METERPRETER, ev.entities(n))


def test_contradicting_port_or_process_does_not_match():
    wrong_port = _notable("Sysmon", "x", Image="C:\\Windows\\System32\\mshta.exe", DestinationIp="10.0.2.18",
                          dest_port="80")
    wrong_process = _notable("Sysmon", "x", Image="C:\\Windows\\System32\\svchost.exe", DestinationIp="10.0.2.18",
                             dest_port="4443")
    assert not ev.matches(METERPRETER, ev.entities(wrong_port))
    assert not ev.matches(METERPRETER, ev.entities(wrong_process))


def test_missing_attributes_do_not_contradict():
    # a flow search carries no process: the IP and port anchor it
    n = _notable("Flow", "x", src="10.0.2.13", dest="10.0.2.18", dest_port="4443")
    assert ev.matches(METERPRETER, ev.entities(n))


def test_process_alone_anchors_a_notable_without_addresses():
    # a command-line notable names the program and no address: the channel's process anchors it
    command_line = _notable("Cmdline", "SSH_Remote_Port_Forward", process_path="C:\\tmp\\mshta.exe")
    other_program = _notable("Cmdline", "x", process_path="C:\\tmp\\ncat.exe")
    other_address = _notable("Sysmon", "x", Image="mshta.exe", DestinationIp="10.9.9.9")
    assert ev.matches(METERPRETER, ev.entities(command_line))
    assert not ev.matches(METERPRETER, ev.entities(other_program))
    assert not ev.matches(METERPRETER, ev.entities(other_address))


def test_source_port_is_not_a_destination_port():
    n = _notable("Sysmon", "x", Image="mshta.exe", DestinationIp="10.0.2.18", dest_port="4443", SourcePort="80",
                 src_port="81")
    assert ev.entities(n)["ports"] == {"4443"}


def test_src_must_agree_when_present():
    channel = {"id": "c", "src": "192.168.88.2", "dest": ["165.227.88.15"], "dest_port": "53"}
    same = _notable("Beacon", "x", src="192.168.88.2", dest="165.227.88.15", dest_port="53")
    other = _notable("Beacon", "x", src="192.168.88.9", dest="165.227.88.15", dest_port="53")
    swapped = _notable("Beacon", "x", src="165.227.88.15", dest="192.168.88.2", dest_port="53")
    assert ev.matches(channel, ev.entities(same))
    assert not ev.matches(channel, ev.entities(other))
    assert ev.matches(channel, ev.entities(swapped))          # direction is not required


def test_domain_matches_registered_domain_and_subdomains():
    channel = {"id": "d", "domain": "r-1x.com", "dest_port": "53"}
    grouped = _notable("DNS", "DNS_TXT_NULL_Volume", src="192.168.88.2", group_dest="r-1x.com",
                       dest=["165.227.88.15"], dest_port="53")
    by_query = _notable("DNS", "x", query="6dde0175375169c68f.dnsc.r-1x.com.")
    lookalike = _notable("DNS", "x", group_dest="notr-1x.com")
    assert ev.matches(channel, ev.entities(grouped))
    assert ev.matches(channel, ev.entities(by_query))
    assert not ev.matches(channel, ev.entities(lookalike))


def test_ip_embedded_in_a_value_and_ipv6_forms():
    channel = {"id": "c", "dest": ["192.168.203.167"], "dest_port": "53"}
    n = _notable("DNS", "x", group_dest="invalid-tld-via-192.168.203.167", dest_port="53")
    assert ev.matches(channel, ev.entities(n))
    v6 = {"id": "v6", "dest": ["ff02::c"]}
    assert ev.matches(v6, ev.entities(_notable("Sysmon", "x", DestinationIp="ff02:0:0:0:0:0:0:c")))


def test_multivalue_fields_and_icmp_dash_port():
    channel = {"id": "t", "src": "192.168.154.131", "dest": ["192.168.154.132"], "transport": "icmp"}
    n = _notable("Anomaly", "ICMP_Echo_Payload_Mismatch", src="192.168.154.131", dest="192.168.154.132",
                 dest_port=["-"], icmp_payload_size=[122, 84])
    assert ev.matches(channel, ev.entities(n))
    assert ev.entities(n)["ports"] == set()


def test_process_only_entry_and_src_only_entry():
    wmic = {"id": "w", "process": "wmic.exe"}
    n = _notable("App", "Unusual_Process_HTTP", process_path="C:\\Windows\\System32\\wbem\\WMIC.exe",
                 dest="105.73.6.105", dest_port="80")
    assert ev.matches(wmic, ev.entities(n))
    only_src = {"id": "s", "src": "10.0.0.238"}
    assert ev.matches(only_src, ev.entities(_notable("Beacon", "x", src="10.0.0.238", dest="1.2.3.4")))
    assert not ev.matches(only_src, ev.entities(_notable("Beacon", "x", src="10.0.0.239", dest="1.2.3.4")))


def test_classify_channel_neutral_benign():
    channels = [METERPRETER]
    neutral = [{"id": "n", "process": "wmic.exe"}]
    hit = _notable("Sysmon", "x", Image="mshta.exe", DestinationIp="10.0.2.18", dest_port="4443")
    side = _notable("App", "x", process_name="wmic.exe", dest="1.2.3.4", dest_port="80")
    other = _notable("Anomaly", "Nonstandard_Port_dns_137", src="10.0.2.15", dest="10.0.2.255", dest_port="137")
    assert ev.classify(hit, channels, neutral) == ("channel", ["m"])
    assert ev.classify(side, channels, neutral) == ("neutral", ["n"])
    assert ev.classify(other, channels, neutral) == ("benign", [])


def test_summary_counts():
    results = [{"dataset": "a", "units": [{"path": "u"}], "seconds": 1.0,
                "channels": {"x": {"detected": True}, "y": {"detected": False, "miss_class": "undetectable"},
                             "z": {"detected": False, "miss_class": "no_events"}},
                "benign_notables": [{}], "neutral_notables": []}]
    rows, total = ev.summarise(results)
    assert rows[0]["detected"] == 1 and rows[0]["missed"] == 2 and rows[0]["undetectable"] == 1
    assert total["benign_notables"] == 1 and total["channels"] == 3
    assert "| **total** |" in ev.markdown_table(rows, total)


def test_dns_replay_clients_split_sessions_per_class():
    names = [("1", "a%d.t.org" % i) for i in range(25)] + [("0", "x%d.com" % i) for i in range(5)]
    clients = ev._replay_clients(names, {"1"}, {"0"}, 10)
    assert len(set(clients[:10])) == 1 and clients[9] != clients[10] and len(set(clients[:25])) == 3
    assert not set(clients[:25]) & set(clients[25:])
    assert len(set(ev._replay_clients(names, {"1"}, {"0"}, None))) == 2


def test_unit_inputs_drop_excluded_files(tmp_path):
    (tmp_path / "u").mkdir()
    for name in ("dns.log", "ORIGINALdns.log", "conn.log"):
        (tmp_path / "u" / name).write_text("x")
    assert [p.name for p in ev.unit_inputs(tmp_path, {"path": "u", "exclude": ["ORIGINALdns.log"]})] == \
        ["conn.log", "dns.log"]
    assert ev.unit_inputs(tmp_path, {"path": "u"}) == [tmp_path / "u"]


def test_app_copy_overrides_one_macro_only():
    runner = ev.AppRunner(ROOT)
    assert runner.correlation_searches("Beacon") and runner.has_macro("c2hunt_beacon_timing_threshold")
    app = runner.app_copy_with_macros({"c2hunt_beacon_timing_threshold": "0"})
    try:
        macros = (app / "default" / "macros.conf").read_text()
        original = (ROOT / "default" / "macros.conf").read_text()
        block = macros.split("[c2hunt_beacon_timing_threshold]")[1].split("[")[0]
        assert "definition = 0\n" in block
        assert len(macros.splitlines()) == len(original.splitlines())
        assert (app / "lookups").resolve() == (ROOT / "lookups").resolve()
    finally:
        shutil.rmtree(app)
    assert (ROOT / "default" / "macros.conf").read_text() == original


# ----------------------------------------------------------------------------- ground truth
TRUTH = ev.load_ground_truth()


def test_ground_truth_files_are_consistent():
    assert {"ndpi-pcaps", "evtx-attack-samples", "slips-cc-beacons", "netrack-dns", "rita-test-data",
            "pcap-attack", "slips-dataset-extra", "zeek-traces"} <= set(TRUTH)
    ids = set()
    for name, doc in TRUTH.items():
        units = {u["path"] for u in doc.get("units", [])}
        for entry in doc.get("channels", []) + doc.get("neutral", []) + doc.get("rita_expected_beacons", []):
            assert entry["units"] and set(entry["units"]) <= units, (name, entry["id"])
            assert entry.get("dest") or entry.get("domain") or entry.get("process") or entry.get("src"), entry["id"]
        for c in doc.get("channels", []):
            assert c["id"] not in ids, c["id"]
            ids.add(c["id"])
            assert c["technique"].startswith("T1") and c["detectable_from"] and c["description"], c["id"]
        for n in doc.get("neutral", []):
            assert n["reason"], n["id"]


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_ground_truth_units_exist(name):
    root = DATASETS / name
    if not root.exists():
        pytest.skip("%s not present" % root)
    doc = TRUTH[name]
    missing = [u["path"] for u in doc.get("units", []) if not (root / u["path"]).exists()]
    assert not missing
    if doc.get("metric") == "dns_tunnel":
        assert (root / doc["split"]).exists()


# ----------------------------------------------------------------------------- the floor
# The board runs every dataset through every search (minutes), so one test computes it once and
# checks each part of the floor (pytest-xdist's loadgroup cannot pin a shared fixture to one
# worker under pytest 9, and a fixture shared by several tests ran once per worker).
def _check_detection_and_benign(board):
    total = board["total"]
    missed = [c["id"] for r in board["results"] for c in r["channels"].values() if not c["detected"]]
    assert total["detected"] >= DETECTED_FLOOR, missed
    benign = [(n["unit"], n["signal"]) for r in board["results"] for n in r["benign_notables"]]
    assert total["benign_notables"] <= BENIGN_CEILING, benign
    assert all(u.get("rc") in (0, 3) for r in board["results"] for u in r["units"] if not u.get("absent"))


def _check_rita_and_dns(board):
    ranking = board["rita_ranking"]
    assert {x["id"] for x in ranking} >= {"rita-ip-beacon", "rita-proxy-beacon", "rita-missing-host-beacon"}
    assert sum(bool(x["above_all_benign"]) for x in ranking) >= RITA_ABOVE_BENIGN_FLOOR
    assert sum(bool(x["met"]) for x in ranking) >= RITA_MET_FLOOR
    dns = board["dns_tunnel"]
    assert dns["recall"] >= DNS_RECALL_FLOOR and dns["fpr"] <= DNS_FPR_CEILING, dns


def _check_json_round_trip(board, path):
    path.write_text(json.dumps(board, default=str))
    assert json.loads(path.read_text())["total"] == board["total"]


def test_scoreboard_floor(tmp_path):
    if not DATASETS.exists():
        pytest.skip("%s not present" % DATASETS)
    board = ev.run(repo=ROOT, datasets_root=DATASETS, log=lambda m: None)
    _check_detection_and_benign(board)
    _check_rita_and_dns(board)
    _check_json_round_trip(board, tmp_path / "board.json")
