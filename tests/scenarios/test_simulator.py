"""The telemetry simulator: deterministic, seed-dependent, and read by the runner's readers
exactly as written (no record lost, every file recognised)."""
from pathlib import Path

from c2hunt_offline.readers import detect_and_read
from c2hunt_sim import generate, scenarios

ROOT = Path(__file__).resolve().parents[2]


def test_same_seed_same_files_other_seed_other_files():
    first = generate.render("s3_python_udp_beacon")
    assert generate.render("s3_python_udp_beacon") == first
    assert generate.render("s3_python_udp_beacon", seed=7) != first


def test_scenarios_are_independent_of_each_other():
    """A scenario's output depends only on its name and the seed, not on what ran before."""
    alone = generate.render("s2_powershell_socks5_tor")
    for name in scenarios.SCENARIOS:
        generate.render(name)
    assert generate.render("s2_powershell_socks5_tor") == alone


def test_every_written_record_is_read_back(tmp_path):
    for name in scenarios.SCENARIOS:
        paths = generate.write_scenario(tmp_path, name)
        folder = tmp_path / name
        for path in sorted(folder.iterdir()):
            events, issues = detect_and_read(str(path), app_root=str(ROOT))
            assert issues == [], (path, issues[:3])
            if path.suffix == ".pcap":
                assert events  # flow records
                continue
            lines = path.read_text().splitlines()
            if path.name == "audit.log":  # one event per audit serial
                serials = {line.split("msg=audit(", 1)[1].split(")", 1)[0] for line in lines}
                assert len(events) == len(serials)
            else:
                assert len(events) == len(lines)
        assert paths


def test_check_reports_a_stale_file(tmp_path):
    generate.write_scenario(tmp_path, "s2_powershell_socks5_tor")
    target = tmp_path / "s2_powershell_socks5_tor" / "sysmon.xml"
    target.write_text(target.read_text().replace("9050", "9051"))
    assert generate.stale_files(tmp_path, ["s2_powershell_socks5_tor"]) == [target]
    assert generate.main(["--check", "--out", str(tmp_path), "s2_powershell_socks5_tor"]) == 1
