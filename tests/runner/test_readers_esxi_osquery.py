"""Readers for ESXi syslog (vmware:esxlog:<program>) and the osquery results log
(osquery:results): golden files for inputs written here, and what bad input gets.

``C2HUNT_UPDATE_GOLDEN=1`` rewrites the goldens; review the diff (they are the field
contract with the data-source macros and the AN1256/AN1257 searches).
"""
import json
from pathlib import Path

import pytest

from c2hunt_offline import Runner

from support import assert_matches_golden, normalise_read

GOLDEN = Path(__file__).parent / "golden"

ESXI = "\n".join([
    # RFC 3164 as ESXi sends it (PRI, ISO time, host, program[pid])
    "<166>2024-05-14T09:11:00.010Z esx01.corp.example Hostd[2099715]: [Originator@6876 "
    "sub=Vimsvc.ha-eventmgr opID=f728a53c sid=52a9c31e] Event 301 : User vpxuser@198.51.100.61 "
    "logged in as pyvmomi Python/3.10.12",
    "<166>2024-05-14T09:11:20.000Z esx01.corp.example Hostd[2099715]: [Originator@6876 "
    "sub=Vimsvc.ha-eventmgr opID=1c44cf16 sid=52a9c31e] Event 400 : Guest operation Start "
    "Program performed on Virtual machine fin-db01.",
    "this is not syslog",
    # ESXi 8's own file form: severity marker instead of a host name
    "2024-05-14T09:11:21.500Z In(166) Vpxa[2101003]: [Originator@6876 sub=vpxLro opID=9a] "
    "[VpxLRO] -- BEGIN lro-880100 -- guestOperationsProcessManager -- "
    "vim.vm.guest.ProcessManager.startProgram -- 52b1c0de-0000(CORP\\svc-veeam)",
    "<14>2024-05-14T09:21:02.000+00:00 esx01.corp.example shell[1053659]: [root]: /tmp/vmtoolsd -p 18098 &",
    "<14>2024-13-14T09:21:02.000Z esx01.corp.example shell[1053659]: [root]: bad month",
]) + "\n"

OSQUERY = "\n".join([
    json.dumps({"name": "pack_c2hunt_process_open_sockets", "hostIdentifier": "mac09.corp.example",
                "calendarTime": "Tue May 14 09:13:00 2024 UTC", "unixTime": 1715677980,
                "epoch": 0, "counter": 1, "numerics": False,
                "decorations": {"host_uuid": "515B", "username": "kim"},
                "columns": {"pid": "7311", "name": ".softwareupdated",
                            "path": "/private/tmp/.softwareupdated", "family": "2",
                            "protocol": "1", "remote_address": "0.0.0.0", "remote_port": "0"},
                "action": "added"}),
    "{broken json",
    # no unixTime: calendarTime is used
    json.dumps({"name": "pack_c2hunt_socket_events", "hostIdentifier": "lnx11",
                "calendarTime": "Tue May 14 09:16:20 2024 UTC", "counter": 2,
                "columns": {"action": "connect", "pid": "31877", "path": "/usr/bin/nc.openbsd",
                            "family": "2", "remote_address": "127.0.0.1", "remote_port": "1080"},
                "action": "added"}),
    # snapshot format: one event, columns as snapshot{}.<name> multivalue fields
    json.dumps({"name": "pack_c2hunt_process_open_sockets", "hostIdentifier": "mac20",
                "unixTime": "1715678000", "action": "snapshot",
                "snapshot": [{"pid": "1", "path": "/sbin/ping"}, {"pid": "2", "path": "/usr/sbin/traceroute"}]}),
    # neither time
    json.dumps({"name": "q", "hostIdentifier": "h", "columns": {"pid": "1"}}),
]) + "\n"

INPUTS = {"esxi.log": ESXI, "osqueryd.results.log": OSQUERY}


def _read(tmp_path, name, spec_suffix=""):
    path = tmp_path / name
    path.write_text(INPUTS[name])
    return Runner().read_files([str(path) + spec_suffix])


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_reader_golden(tmp_path, name):
    events, issues = _read(tmp_path, name)
    assert_matches_golden(GOLDEN / ("esxi_osquery_" + name + ".json"),
                          normalise_read(events, issues, tmp_path))


def test_esxi_lines(tmp_path):
    events, issues = _read(tmp_path, "esxi.log")
    assert [str(i).split(": ", 1)[1] for i in issues] == [
        "not an ESXi syslog line", "bad timestamp: month must be in 1..12"]
    assert ["esxi.log:3:" in str(issues[0]), "esxi.log:6:" in str(issues[1])] == [True, True]
    by_type = {e["sourcetype"]: e for e in events}
    assert sorted(by_type) == ["vmware:esxlog:hostd", "vmware:esxlog:shell", "vmware:esxlog:vpxa"]
    assert len(events) == 4
    hostd = by_type["vmware:esxlog:hostd"]
    assert hostd["host"] == "esx01.corp.example" and hostd["app"] == "Hostd"
    assert hostd["pid"] == "2099715" and hostd["severity"] == "informational"
    # ESXi 8 file form has no host name: the runner falls back to the file name.
    vpxa = by_type["vmware:esxlog:vpxa"]
    assert vpxa["host"] == "esxi" and vpxa["severity"] == "In(166)"
    assert vpxa["_time"] == pytest.approx(1715677881.5)
    shell = by_type["vmware:esxlog:shell"]
    assert shell["message"] == "[root]: /tmp/vmtoolsd -p 18098 &"
    assert shell["_raw"].endswith("18098 &")


def test_osquery_rows(tmp_path):
    events, issues = _read(tmp_path, "osqueryd.results.log")
    assert len(events) == 3
    messages = [str(i) for i in issues]
    assert len(messages) == 2
    assert "osqueryd.results.log:2: invalid JSON" in messages[0]
    assert "osqueryd.results.log:5: bad record: osquery result without unixTime or calendarTime" in messages[1]
    by_host = {e["host"]: e for e in events}  # the runner returns events newest first
    mac, lnx, snap = by_host["mac09.corp.example"], by_host["lnx11"], by_host["mac20"]
    assert mac["sourcetype"] == "osquery:results" and mac["host"] == "mac09.corp.example"
    assert mac["columns.protocol"] == "1" and mac["process_path"] == "/private/tmp/.softwareupdated"
    assert mac["user"] == "kim" and mac["dest"] == "mac09.corp.example"
    assert mac["_time"] == 1715677980.0
    assert lnx["_time"] == 1715678180.0 and lnx["columns.remote_port"] == "1080"
    assert snap["snapshot{}.path"] == ["/sbin/ping", "/usr/sbin/traceroute"]


def test_sourcetype_forces_the_reader(tmp_path):
    path = tmp_path / "syslog.txt"
    path.write_text("<166>2024-05-14T09:11:00.010Z esx01 Hostd[1]: hello\n")
    events, issues = Runner().read_files([str(path) + ":vmware:esxlog:hostd"])
    assert not issues and events[0]["sourcetype"] == "vmware:esxlog:hostd"
    json_path = tmp_path / "rows.json"
    json_path.write_text(OSQUERY.splitlines()[0] + "\n")
    events, issues = Runner().read_files([str(json_path) + ":osquery:results"])
    assert not issues and events[0]["columns.pid"] == "7311"
