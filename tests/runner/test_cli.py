"""hunt/run/list/read through the CLI and the Python API, on a small app of our own."""
import csv
import io
import json
import os
import subprocess
import sys

import pytest

from c2hunt_offline import Runner, SplError, hunt, run_search
from c2hunt_offline.cli import main

from support import ROOT

CONN = ("#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
        "1715677400\t10.0.0.8\t5000\t203.0.113.9\t22\ttcp\n"
        "1715677401\t10.0.0.8\t5001\t203.0.113.9\t443\ttcp\n"
        "1715677402\t10.0.0.9\t5002\t203.0.113.10\t4444\ttcp\n")


@pytest.fixture
def net_csv(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("_time,host,src,dest,dest_port,transport\n"
                    "1715677400,h1,10.0.0.8,203.0.113.9,22,tcp\n"
                    "1715677401,h1,10.0.0.8,203.0.113.9,443,tcp\n"
                    "1715677402,h2,10.0.0.9,203.0.113.10,4444,tcp\n")
    return str(path) + ":net"


def test_hunt_api_raises_when_a_search_cannot_run(mini_app, net_csv):
    with pytest.raises(SplError, match="Test - Broken - Rule: command 'transaction' is not supported"):
        hunt([net_csv], app_root=str(mini_app))


def test_runner_hunt_notables_and_risk_scores(mini_app, net_csv):
    runner = Runner(str(mini_app))
    events, issues = runner.read_files([net_csv])
    assert issues == []
    notables, errors = runner.hunt(events)
    assert set(errors) == {"Test - Broken - Rule"}
    got = sorted((n.search, n.host, n.signal, n.risk_score) for n in notables)
    assert got == [
        ("Test - Default Score - Rule", "h1", "Test - Default Score - Rule", 40),  # _risk_score key
        ("Test - Rare Port - Rule", "h1", "Port_22", 60),
        ("Test - Rare Port - Rule", "h2", "Port_4444", 60),
    ]
    rare = [n for n in notables if n.signal == "Port_4444"][0]
    assert rare.time == 1715677402 and rare.fields["dest"] == "203.0.113.10"


def test_run_search_api_on_files_and_events(mini_app, tmp_path):
    conn = tmp_path / "conn.log"
    conn.write_text(CONN)
    rows = run_search("sourcetype=bro:conn:json | stats count by dest_port", [str(conn)], app_root=str(mini_app))
    assert rows == [{"dest_port": "22", "count": 1}, {"dest_port": "443", "count": 1}, {"dest_port": "4444", "count": 1}]
    rows = run_search("search x=1 | eval y=x+1", [{"x": "1"}, {"x": "2"}], app_root=str(mini_app))
    assert rows == [{"x": "1", "y": 2, "index": "main"}]


def _cli(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_hunt_formats_and_exit_codes(mini_app, net_csv, capsys):
    base = ["--app-root", str(mini_app), "hunt", net_csv, "--no-progress"]
    code, out, err = _cli(capsys, base + ["--skip", "Test - Broken - Rule"])
    assert code == 0
    assert out.startswith("== c2hunt summary") and "read 3 events (net 3)" in out
    assert "Port_4444" in out and "Test - Rare Port - Rule" in out
    code, out, err = _cli(capsys, base + ["--skip", "Test - Broken - Rule", "--format", "json"])
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["risk_score"] for line in lines] == [60, 60, 40]          # sorted by risk, then time
    assert lines[0]["signal"] == "Port_4444" and lines[0]["time"] == "2024-05-14T09:03:22.000Z"
    assert lines[0]["fields"]["dest_port"] == 4444                         # a number, not "4444"
    assert lines[0]["risk_objects"] == [{"object": "10.0.0.9", "type": "system", "field": "src", "score": 60}]
    assert err == ""                                                       # --no-progress: no summary
    code, out, err = _cli(capsys, base[:-1] + ["--progress", "--skip", "Broken", "--format", "json"])
    assert "c2hunt: read 3 events (net 3)" in err and len(out.splitlines()) == 3  # the summary on stderr
    code, out, err = _cli(capsys, base + ["--skip", "Test - Broken - Rule", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["search"] == "Test - Rare Port - Rule" and rows[0]["dest"] == "203.0.113.10"
    assert rows[0]["dest_port"] == "4444" and rows[0]["risk_objects"] == "10.0.0.9 (system) 60"
    code, out, err = _cli(capsys, base)
    assert code == 4 and "transaction" in err                      # a search could not run
    code, out, err = _cli(capsys, base + ["--skip", "Test - Broken - Rule", "--fail-on-notables"])
    assert code == 1
    code, out, err = _cli(capsys, base + ["--skip", "Broken", "--timezone", "Asia/Tokyo", "--format", "json"])
    assert json.loads(out.splitlines()[0])["time"] == "2024-05-14T18:03:22.000+09:00"
    code, out, err = _cli(capsys, base + ["--timezone", "Mars/Olympus"])
    assert code == 2 and "not a time zone" in err


def test_cli_search_names_that_match_nothing_are_errors(mini_app, net_csv, capsys):
    base = ["--app-root", str(mini_app), "hunt", net_csv, "--no-progress"]
    code, out, err = _cli(capsys, base + ["--search", "Test - Rare Prot - Rule"])
    assert code == 2 and "matches no saved search" in err and "'Test - Rare Port - Rule'" in err
    code, out, err = _cli(capsys, base + ["--skip", "nothing like it"])
    assert code == 2 and "--skip 'nothing like it'" in err
    code, out, err = _cli(capsys, base + ["--search", "rare port", "--format", "json"])  # part of a name
    assert code == 0 and {json.loads(line)["search"] for line in out.splitlines()} == {"Test - Rare Port - Rule"}


def test_cli_baseline_is_one_path_per_option_and_empty_is_explained(mini_app, net_csv, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("_time,host,src\n")
    base = ["--app-root", str(mini_app), "hunt", "--no-progress", "--skip", "Broken"]
    code, out, err = _cli(capsys, base + ["--baseline", str(empty), net_csv])
    assert code == 2 and "--baseline read no event from" in err and "baseline searches" in err
    state = tmp_path / "state"
    code, out, err = _cli(capsys, ["--lookup-dir", str(state)] + base
                          + ["--baseline", net_csv, "--baseline", net_csv, net_csv, "--format", "json"])
    assert code == 0 and len(out.splitlines()) == 3                 # the hunt file was searched, not swallowed
    assert (state / "baseline.csv").read_text().splitlines()[0] == "host,protocol"


def test_cli_reading_nothing_says_so_on_stdout(mini_app, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("_time,host,src\n")
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "hunt", "--no-progress", str(empty) + ":net"])
    assert code == 3 and "read no event" in out and "nothing was searched" in out


def test_cli_help_names_the_program_options_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["hunt", "--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: c2hunt hunt")
    for needle in ("--baseline FILE", "--timezone ZONE", "examples:", "exit codes:", "no progress bars"):
        assert needle in text
    helpless = [line for line in text.splitlines() if line.strip().startswith("-") and len(line.split()) == 1]
    assert helpless == []                                              # every option says what it does


def test_cli_input_problems(mini_app, tmp_path, capsys):
    bad = tmp_path / "junk.bin"
    bad.write_bytes(b"\x01\x02\x03")
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "hunt", str(bad), "--no-progress",
                                   "--skip", "Test - Broken - Rule"])
    assert code == 3 and "junk.bin" in err and "unknown log format" in err
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "hunt", str(tmp_path / "missing.log"),
                                   "--skip", "Test - Broken - Rule"])
    assert code == 3 and "cannot read" in err


def test_cli_run_list_read(mini_app, net_csv, capsys):
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "run", "sourcetype=net | stats count by host",
                                   net_csv, "--format", "csv"])
    assert code == 0 and out.splitlines() == ["host,count", "h1,2", "h2,1"]
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "run", "| nosuch x"])
    assert code == 4 and "'nosuch' is not supported" in err
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "list", "--format", "csv"])
    listed = {r["name"]: r for r in csv.DictReader(io.StringIO(out))}
    assert code == 4
    assert listed["Test - Broken - Rule"]["offline"].startswith("cannot run: command 'transaction'")
    assert listed["Test - Baseline"]["kind"] == "baseline"
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "list"])
    assert "cannot run: command 'transaction' is not supported" in out and "~" not in out  # never cut
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "read", net_csv])
    assert code == 0 and json.loads(out.splitlines()[0])["sourcetype"] == "net"


def test_hunt_with_baseline_runs_lookup_generation_first(mini_app, net_csv, tmp_path):
    runner = Runner(str(mini_app), str(tmp_path / "state"))
    events, _ = runner.read_files([net_csv])
    runner.hunt(events, baseline_events=events, skip=["Test - Broken - Rule"])
    assert (tmp_path / "state" / "baseline.csv").read_text().splitlines() == ["host,protocol", "h1,tcp", "h2,tcp"]


def test_module_entry_point_runs(mini_app, net_csv):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "offline"))
    proc = subprocess.run([sys.executable, "-m", "c2hunt_offline", "--app-root", str(mini_app), "run",
                           "sourcetype=net | stats dc(dest) as n", net_csv, "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"n": 2}


def test_cli_document_format_is_one_json_document(mini_app, net_csv, capsys):
    code, out, err = _cli(capsys, ["--app-root", str(mini_app), "hunt", net_csv, "--no-progress", "--skip",
                                   "Broken", "--format", "document"])
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["events_read"] == 3 and doc["summary"]["notables"] == 3
    assert doc["summary"]["events_by_sourcetype"] == {"net": 3}
    assert doc["summary"]["notables_by_host"] == {"h1": 2, "h2": 1}
    findings = [f for g in doc["groups"] for f in g["findings"]]
    assert findings[0]["time"].endswith("Z") and isinstance(findings[0]["risk_score"], int)
