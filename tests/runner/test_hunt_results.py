"""results.hunt_results: what the analyst (and the report) gets for each notable."""
import json

import pytest

from c2hunt_offline import Runner
from c2hunt_offline.results import (Finding, fill_tokens, group_findings, health_lines, hunt_results,
                                    select_searches, stable_fields)

from support import ROOT


def _short(name):
    return name.replace("C2Hunt - ", "").replace(" - Rule", "")

SYSMON = "C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule"
WFP = "C2Hunt - Non-Application Protocol From Unexpected Process - WFP - Rule"
BEACON = "C2Hunt - Periodic Beaconing - Rule"


def _finding(search, time, **fields):
    fields.setdefault("host", "ws1")
    return Finding(search=search, title="", description="", time=time, last_time=fields.get("lastTime", time),
                   host=fields["host"], signal="s", risk_score=fields.pop("risk", 50), fields=fields)


def test_twins_and_endpoint_plus_network_group_and_nothing_else_does():
    sysmon = _finding(SYSMON, 1000, Image="C:\\Users\\a\\AppData\\x.exe", DestinationIp="203.0.113.9",
                      SourceIp="10.0.0.5", risk=85)
    wfp = _finding(WFP, 1001, Image="\\device\\harddiskvolume3\\users\\a\\appdata\\x.exe",
                   DestinationIp="203.0.113.9", risk=85)
    beacon = _finding(BEACON, 900, host="10.0.0.5", src="10.0.0.5", dest="203.0.113.9", lastTime=5000, risk=70)
    other_dest = _finding(WFP, 1002, Image="C:\\y.exe", DestinationIp="198.51.100.1")
    next_day = _finding(SYSMON, 1000 + 86400, Image="C:\\y.exe", DestinationIp="203.0.113.9")
    other_host = _finding(SYSMON, 1000, host="ws2", Image="C:\\x.exe", DestinationIp="203.0.113.9")
    cmdline = _finding("C2Hunt - Tunnelling Tool", 1010, process_path="C:\\Users\\a\\AppData\\x.exe")
    groups = group_findings([other_dest, sysmon, wfp, beacon, next_day, other_host, cmdline])
    together = [g for g in groups if len(g.findings) > 1]
    assert len(together) == 1
    assert {f.search for f in together[0].findings} == {SYSMON, WFP, BEACON, "C2Hunt - Tunnelling Tool"}
    assert together[0].id == 1 and together[0].risk_score == 85       # the strongest group first
    assert [f.risk_score for f in together[0].findings] == [85, 85, 70, 50]   # by risk within the group
    assert len(groups) == 4 and group_findings([]) == []


def test_stable_fields_numbers_and_lists():
    rows = [{"dest_port": "443", "DestinationIp": "1.2.3.4", "count": 3, "User": "1000", "signals": "A"},
            {"dest_port": ["80", "8080"], "DestinationIp": ["1.2.3.4", "5.6.7.8"], "count": "7", "User": "bob",
             "signals": ["A", "B"]}]
    stable_fields(rows, "| stats values(DestinationIp) AS DestinationIp | eval signals=mvappend(a, b)")
    assert rows[0] == {"dest_port": [443], "DestinationIp": ["1.2.3.4"], "count": 3, "User": "1000",
                       "signals": ["A"]}
    assert rows[1]["dest_port"] == [80, 8080] and rows[1]["count"] == 7 and rows[1]["User"] == "bob"
    assert stable_fields([{"dest_port": "-", "x": None}]) == [{"dest_port": "-", "x": None}]


def test_fill_tokens_as_es_fills_them():
    fields = {"host": "ws1", "Image": "C:\\a b\\x.exe", "signals": ["A", "B"]}
    assert fill_tokens("$Image$ on $host$: $signals$ ($missing$)", fields) == \
        "C:\\a b\\x.exe on ws1: A, B ($missing$)"
    assert fill_tokens("$info_min_time$", {}, {"info_min_time": "17"}) == "17"


def test_search_selection_by_full_or_partial_name():
    runner = Runner()
    names, problem = select_searches(runner, ["periodic beaconing - rule"], ())   # part of one name
    assert names == [BEACON] and problem is None
    names, problem = select_searches(runner, ["c2hunt - periodic beaconing - rule"], ())  # a name, any case
    assert names == [BEACON] and problem is None
    names, problem = select_searches(runner, ["periodic beaconing"], ())           # part of several names
    assert BEACON in names and len(names) >= 2 and all("Periodic Beaconing" in n for n in names)
    names, problem = select_searches(runner, None, ["Sysmon"])
    assert SYSMON not in names and WFP in names and problem is None
    names, problem = select_searches(runner, ["Beaconning"], ())
    assert names == [] and "Periodic Beaconing" in problem


@pytest.fixture(scope="module")
def sample_results():
    runner = Runner()
    events, issues = runner.read_files([str(ROOT / "samples")])
    return hunt_results(runner, events, issues=issues)


def test_sample_notables_show_what_es_shows(sample_results):
    sysmon = [f for f in sample_results.findings if f.search == SYSMON]
    assert sysmon
    for f in sysmon:
        assert "$" not in f.title and f.title.endswith(" on " + f.host)
        assert f.mitre_attack[:2] == ["T1095", "T1090"]
        assert f.risk_objects and f.risk_objects[0]["object"] == f.host and f.risk_objects[0]["type"] == "system"
        assert f.drilldowns and 'host="%s"' % f.host in f.drilldowns[0]["search"] and "$" not in f.drilldowns[0]["search"]
        assert f.evidence["process"] and "command line" in f.evidence or "user" in f.evidence
        assert isinstance(f.fields["DestinationIp"], list) and isinstance(f.fields["count"], int)
    beacons = [f for f in sample_results.findings if f.search == BEACON]
    assert beacons and all(isinstance(f.evidence["beacon period (s)"], (int, float)) for f in beacons)
    assert all(0 <= f.evidence["beacon interval score"] <= 1 for f in beacons)
    dns = [f for f in sample_results.findings if "DNS samples" in f.evidence]
    assert dns and all(s.endswith(f.fields["threat_domain"][0] if isinstance(f.fields["threat_domain"], list)
                                  else f.fields["threat_domain"]) for f in dns for s in f.evidence["DNS samples"])
    json.dumps(sample_results.as_dict())                               # JSON-ready as it is


def test_sample_twins_are_one_finding(sample_results):
    twins = [g for g in sample_results.groups if {SYSMON, WFP} <= set(g.searches)]
    assert twins
    assert sample_results.summary()["findings"] < sample_results.summary()["notables"]


def test_health_names_the_sources_the_input_lacks(tmp_path):
    conn = tmp_path / "conn.log"
    conn.write_text("#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
                    "1715677400\t10.0.0.8\t5000\t203.0.113.9\t22\ttcp\n")
    runner = Runner()
    events, _ = runner.read_files([str(conn)])
    results = hunt_results(runner, events, names=[SYSMON, BEACON])
    assert SYSMON in results.searches_without_data() and BEACON not in results.searches_without_data()
    lines = health_lines(results)
    assert lines[0] == "data sources with events: Zeek conn.log 1"
    assert lines[1].startswith("data sources absent from the input: Sysmon (any event id)")
    assert lines[2] == "1 of 2 searches had nothing to look at (none of their data sources is in the input): " \
        + _short(SYSMON)
    assert results.events_by_sourcetype == {"bro:conn:json": 1}, results.events_by_sourcetype


def test_the_suggested_allowlist_entry_silences_that_notable_and_no_other(sample_results, tmp_path, capsys):
    from c2hunt_offline.cli import main
    target = next(f for f in sample_results.findings if f.search == SYSMON)
    entry = dict(target.allowlist_entry, reason="test: known admin tool")
    assert entry["host"] == target.host.lower() and entry["signal"] == target.signal.lower()
    allow = tmp_path / "allow.csv"
    allow.write_text("host,dest,process,signal,reason\n" + ",".join('"%s"' % entry[c] for c in
                                                                   ("host", "dest", "process", "signal", "reason")) + "\n")
    base = ["hunt", "--no-progress", "--format", "json", "--search", SYSMON, str(ROOT / "samples")]
    assert main(base) == 0
    before = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(base + ["--allowlist", str(allow)]) == 0
    after = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    key = lambda d: (d["host"], d["signal"], d["title"])  # noqa: E731
    assert len(after) == len(before) - 1
    assert sorted(map(key, before)) == sorted(list(map(key, after)) + [(target.host, target.signal, target.title)])
    allow.write_text("host,dest\nx,y\n")
    assert main(base + ["--allowlist", str(allow)]) == 2
    assert "missing: process, signal, reason" in capsys.readouterr().err


def test_kv_store_lookups_offline_are_empty_until_given_rows_and_case_sensitive(tmp_path):
    runner = Runner(lookup_dir=str(tmp_path))
    table = runner.lookups.get("c2hunt_site_allowlist")
    assert table.rows == [] and table.columns == ["_key", "host", "dest", "process", "signal", "reason"]
    runner.lookups.write("c2hunt_site_allowlist", [{"host": "ws*", "dest": "*", "process": "*", "signal": "x",
                                                    "reason": "r"}])
    table = runner.lookups.get("c2hunt_site_allowlist")
    assert table.match(["host", "dest", "process", "signal"], ["ws1", "-", "-", "x"])
    assert not table.match(["host", "dest", "process", "signal"], ["WS1", "-", "-", "x"])  # as the KV store


def test_data_source_counts_equal_running_each_macro(sample_results):
    runner = Runner()
    events, _ = runner.read_files([str(ROOT / "samples")])
    for ds in sample_results.data_sources:
        rows = runner.run("`%s` | stats count" % ds.macro, events).rows
        assert ds.events == (rows[0]["count"] if rows else 0), ds.macro
    assert {ds.macro for ds in sample_results.data_sources} >= {"c2hunt_sysmon", "c2hunt_zeek_conn"}


def test_dns_samples_read_from_columns_equal_those_read_from_dicts():
    # the columnar table narrows the DNS events to queries that may name a domain before
    # making dicts of them: the samples must be those the full scan of dicts finds
    from c2hunt_offline.columnar.events import EventTable
    from c2hunt_offline.results import _add_dns_samples
    events = []
    for i, (query, src) in enumerate([("a.Evil.example.", "10.0.0.1"), ("b.evil.example", "10.0.0.1"),
                                      ("EVIL.EXAMPLE", "10.0.0.1"), ("notevil.example", "10.0.0.1"),
                                      ("c.evil.example", "10.0.0.2"), ("d.evil.example.org", "10.0.0.1"),
                                      ("\u00e9.evil.example", "10.0.0.1"), ("e.EVİL.example", "10.0.0.1"),
                                      ("", "10.0.0.1")]):
        events.append({"_time": 1000 - i, "sourcetype": "bro:dns:json", "query": query, "src": src,
                       "host": "sensor"})
    events.append({"_time": 1, "sourcetype": "bro:conn:json", "src": "10.0.0.1"})

    def samples(source):
        finding = _finding("C2Hunt - DNS Tunnel - Rule", 1000, host="10.0.0.1", threat_domain="evil.example",
                           src="10.0.0.1")
        _add_dns_samples([finding], source)
        return finding.evidence.get("DNS samples")

    from_dicts = samples(events)
    assert from_dicts == ["a.evil.example", "b.evil.example", "evil.example", "\u00e9.evil.example"]
    assert samples(EventTable.from_events(events)) == from_dicts


def test_time_range_of_a_table_is_that_of_its_event_dicts():
    # zero, missing and non-numeric times are no time; the table answers from its columns
    from c2hunt_offline.columnar.events import EventTable
    from c2hunt_offline.results import _time_range
    events = [{"_time": t, "sourcetype": st} for t, st in
              [(1700000000.25, "a"), (0, "a"), ("1699999999.5", "b"), ("x", "b"), (None, "a"), (1700000100, "b"),
               (-0.0, "a")]]
    assert _time_range(events) == (1699999999.5, 1700000100)
    assert _time_range(EventTable.from_events(events)) == (1699999999.5, 1700000100)
    assert _time_range([]) == _time_range(EventTable.from_events([{"_time": 0, "sourcetype": "a"}])) == (None, None)
