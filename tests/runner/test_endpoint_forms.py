"""The endpoint forms the Linux/macOS searches read, as their sensors write them: the osquery
signature table next to process_open_sockets (AN1256's code signing), and the normalised
outbound connections of Sysmon for Linux, auditd and osquery (AN1226/AN1227)."""
import json
from pathlib import Path

from c2hunt_offline import Runner

ROOT = Path(__file__).resolve().parents[2]
OSQUERY_SEARCH = "C2Hunt - Raw Socket Or SOCKS From Unexpected Program - osquery - Rule"


def _osquery_line(name, when, columns, host="mac77.corp.example"):
    return json.dumps({"name": name, "hostIdentifier": host, "unixTime": when,
                       "calendarTime": "Tue May 14 09:00:00 2024 UTC", "epoch": 0,
                       "counter": 1, "numerics": False, "decorations": {"username": "ana"},
                       "columns": columns, "action": "added"})


def _udp_socket(pid, path, when, port=40404):
    return _osquery_line("pack_c2hunt_process_open_sockets", when, {
        "pid": str(pid), "name": path.rsplit("/", 1)[-1], "path": path, "cmdline": path,
        "uid": "501", "family": "2", "protocol": "17", "local_address": "10.20.6.77",
        "local_port": "61000", "remote_address": "198.51.100.99", "remote_port": str(port),
        "state": ""})


def _signature(path, when, **columns):
    row = {"path": path, "hash_resources": "1", "arch": "arm64"}
    row.update(columns)
    return _osquery_line("pack_c2hunt_signature", when, row)


def _hunt(tmp_path, lines, name):
    path = tmp_path / "osqueryd.results.log"
    path.write_text("\n".join(lines) + "\n")
    runner = Runner(str(ROOT))
    events, issues = runner.read_files([str(path)])
    assert not [i for i in issues if i.is_error]
    notables, errors = runner.hunt(events, names=[name])
    assert not errors
    return {n.fields["process_path"]: n for n in notables}


def test_code_signing_states_from_the_signature_table(tmp_path):
    """signed=0 is unsigned; signed with an empty (or absent) team and authority is ad-hoc;
    a Developer ID or Apple signature is signed, and its UDP stays quiet."""
    lines = [
        _signature("/Users/ana/bin/unsigned", 1715677200, signed="0", identifier="",
                   team_identifier="", authority=""),
        _udp_socket(101, "/Users/ana/bin/unsigned", 1715677201),
        _signature("/Users/ana/bin/adhoc-empty", 1715677200, signed="1", identifier="adhoc-empty",
                   team_identifier="", authority=""),
        _udp_socket(102, "/Users/ana/bin/adhoc-empty", 1715677202),
        _signature("/Users/ana/bin/adhoc-absent", 1715677200, signed="1", identifier="adhoc-absent"),
        _udp_socket(103, "/Users/ana/bin/adhoc-absent", 1715677203),
        _signature("/Applications/Vendor.app/Contents/MacOS/vendor", 1715677200, signed="1",
                   identifier="com.vendor.app", team_identifier="ABCDE12345",
                   authority="Developer ID Application: Vendor Inc. (ABCDE12345)"),
        _udp_socket(104, "/Applications/Vendor.app/Contents/MacOS/vendor", 1715677204),
        # no signature row at all (Linux, or the query not scheduled): not judged on signing
        _udp_socket(105, "/Users/ana/bin/unknown", 1715677205),
        # an unsigned program on an allowlisted UDP port (DNS) is not a non-standard protocol
        _signature("/Users/ana/bin/resolver", 1715677200, signed="0"),
        _udp_socket(106, "/Users/ana/bin/resolver", 1715677206, port=53),
    ]
    found = _hunt(tmp_path, lines, OSQUERY_SEARCH)
    assert sorted(found) == ["/Users/ana/bin/adhoc-absent", "/Users/ana/bin/adhoc-empty",
                             "/Users/ana/bin/unsigned"]
    assert found["/Users/ana/bin/unsigned"].fields["code_signing"] == "unsigned"
    assert found["/Users/ana/bin/adhoc-empty"].fields["code_signing"] == "ad-hoc"
    assert found["/Users/ana/bin/adhoc-absent"].fields["code_signing"] == "ad-hoc"
    for notable in found.values():
        assert notable.signal == "Unsigned_Binary_Non_Standard_Protocol"
        assert notable.risk_score == 70
        assert notable.fields["non_standard_protocol"] == "UDP"


def test_unsigned_usage_threshold_counts_distinct_uses(tmp_path):
    """UnsignedBinaryNetworkUsage: with the threshold at 2, one UDP peer is not enough and
    two distinct peers are."""
    app = tmp_path / "app"
    (app / "default").mkdir(parents=True)
    for item in ("bin", "lookups", "default"):
        source = ROOT / item
        if item == "default":
            for conf in source.iterdir():
                if conf.is_file():
                    (app / "default" / conf.name).write_bytes(conf.read_bytes())
        else:
            (app / item).symlink_to(source)
    macros = app / "default" / "macros.conf"
    text = macros.read_text()
    old = "[c2hunt_unsigned_binary_network_usage_threshold]\ndefinition = 1\n"
    assert old in text
    macros.write_text(text.replace(old, old.replace("= 1", "= 2")))
    lines = [_signature("/Users/ana/bin/one", 1715677200, signed="0"),
             _udp_socket(201, "/Users/ana/bin/one", 1715677201),
             _signature("/Users/ana/bin/two", 1715677200, signed="0"),
             _udp_socket(202, "/Users/ana/bin/two", 1715677202, port=40404),
             _udp_socket(202, "/Users/ana/bin/two", 1715677203, port=40405)]
    path = tmp_path / "osqueryd.results.log"
    path.write_text("\n".join(lines) + "\n")
    runner = Runner(str(app))
    events, _ = runner.read_files([str(path)])
    notables, errors = runner.hunt(events, names=[OSQUERY_SEARCH])
    assert not errors
    assert [n.fields["process_path"] for n in notables] == ["/Users/ana/bin/two"]


def test_unix_outbound_connections_decode_each_source():
    """The shared macro gives one row per connect() with the destination decoded: Sysmon for
    Linux through syslog, auditd's hex SOCKADDR, osquery's socket_events and
    process_open_sockets (with the parent's path), and Zeek's bytes joined on the 5-tuple."""
    runner = Runner(str(ROOT))
    events, issues = runner.read_files([str(ROOT / "samples" / "x8_unix_scripted_app_c2")])
    assert not [i for i in issues if i.is_error]
    rows = runner.run("`c2hunt_unix_outbound_connections` | stats count sum(bytes_out) AS "
                      "bytes_out values(parent_process) AS parent by data_source host "
                      "process_name dest dest_port", events)
    rows = rows.rows
    got = {(r["data_source"], r["host"], r["process_name"], r["dest"], str(r["dest_port"])): r
           for r in rows}
    assert sorted(got) == [
        ("auditd", "lnx32.corp.example", "bash", "10.20.0.53", "53"),
        ("auditd", "lnx32.corp.example", "bash", "203.0.113.90", "443"),
        ("auditd", "lnx32.corp.example", "perl", "198.51.100.73", "6667"),
        ("osquery", "mac33.corp.example", "curl", "198.51.100.72", "443"),
        ("sysmon", "lnx31.corp.example", "python3.11", "198.51.100.71", "8443"),
    ]
    implant = got[("sysmon", "lnx31.corp.example", "python3.11", "198.51.100.71", "8443")]
    assert int(implant["count"]) == 20
    assert float(implant["bytes_out"]) > 3 * 900000  # the uploads, from Zeek conn
    curl = got[("osquery", "mac33.corp.example", "curl", "198.51.100.72", "443")]
    assert int(curl["count"]) == 13  # 12 socket_events connects + 1 open-socket snapshot
    assert "Automator Application Stub" in str(curl["parent"])
    # every connect gets its parent and command line from the es_process_events exec row of
    # its pid, not only the one process_open_sockets snapshot that joins the parent itself
    parents = runner.run("`c2hunt_unix_outbound_connections` | where data_source==\"osquery\" "
                         "| stats count by parent_name command_line", events).rows
    assert [(r["parent_name"], int(r["count"])) for r in parents] == [
        ("automator application stub", 13)]
    assert parents[0]["command_line"].startswith("curl -s -X POST")
