"""Each supported command against Splunk's documented behaviour, and refusal of the rest."""
import csv

import pytest

from c2hunt_offline import Runner, SplError

EVENTS = [
    {"_time": 100.0, "host": "h1", "src": "10.0.0.5", "dest": "8.8.8.8", "dest_port": "53", "bytes": "100", "user": "a"},
    {"_time": 160.0, "host": "h1", "src": "10.0.0.5", "dest": "1.1.1.1", "dest_port": "443", "bytes": "300", "user": ["a", "b"]},
    {"_time": 3700.0, "host": "h2", "src": "10.1.2.3", "dest": "8.8.8.8", "dest_port": "53", "bytes": "x"},
    {"_time": 3800.0, "host": "h2", "dest": "9.9.9.9", "dest_port": "9050", "bytes": "50"},
]


def test_stats_functions(spl):
    rows = spl("search * | stats count count(src) as with_src dc(dest) as dests sum(bytes) as total "
               "avg(bytes) as mean min(bytes) as lo max(bytes) as hi values(dest_port) as ports "
               "list(dest_port) as port_list earliest(dest) as first_dest latest(dest) as last_dest "
               "median(bytes) as med stdev(bytes) as sd range(bytes) as span", EVENTS)
    assert rows == [{
        "count": 4, "with_src": 3, "dests": 3, "total": 450, "mean": 150, "lo": 50, "hi": 300,
        "ports": ["443", "53", "9050"],               # values(): distinct, lexicographic
        "port_list": ["53", "443", "53", "9050"],     # list(): in order
        "first_dest": "8.8.8.8", "last_dest": "9.9.9.9",
        "med": 100, "sd": pytest.approx(132.2875655532), "span": 250,
    }]


def test_stats_by_drops_null_groups_and_splits_multivalue(spl):
    rows = spl("search * | stats count by user", EVENTS)
    assert rows == [{"user": "a", "count": 2}, {"user": "b", "count": 1}]
    rows = spl("search * | stats count by host src", EVENTS)
    assert rows == [{"host": "h1", "src": "10.0.0.5", "count": 2},
                    {"host": "h2", "src": "10.1.2.3", "count": 1}]


def test_stats_eval_argument_and_empty_input(spl):
    rows = spl('search * | stats count(eval(dest_port=53)) as dns', EVENTS)
    assert rows == [{"dns": 2}]
    assert spl("search nomatch | stats count", EVENTS) == [{"count": 0}]
    assert spl("search nomatch | stats count by host", EVENTS) == []


def test_eventstats_adds_group_values(spl):
    rows = spl("search * | eventstats count as n dc(dest) as d by host", EVENTS)
    assert [(r["host"], r["n"], r["d"]) for r in rows] == [("h1", 2, 2), ("h1", 2, 2), ("h2", 2, 2), ("h2", 2, 2)]


def test_bin_span(spl):
    rows = spl("search * | bin _time span=1h | stats count by _time", EVENTS)
    assert rows == [{"_time": 0, "count": 2}, {"_time": 3600, "count": 2}]
    rows = spl("search * | bucket bytes span=100 as b | table bytes b", EVENTS)
    assert [r.get("b") for r in rows] == [100, 300, None, 0]


def test_table_fields_rename(spl):
    rows = spl("search * | table host, dest* | rename dest AS target, dest_port as port", EVENTS)
    assert rows[0] == {"host": "h1", "target": "8.8.8.8", "port": "53"}
    rows = spl("search * | fields - bytes user _time | head 1", EVENTS)
    assert rows == [{"host": "h1", "src": "10.0.0.5", "dest": "8.8.8.8", "dest_port": "53"}]
    rows = spl("search * | rename d* as x* | table xest xest_port | head 1", EVENTS)
    assert rows == [{"xest": "8.8.8.8", "xest_port": "53"}]


def test_sort_numeric_and_descending(spl):
    assert [r["dest_port"] for r in spl("search * | sort dest_port", EVENTS)] == ["53", "53", "443", "9050"]
    assert [r["dest_port"] for r in spl("search * | sort - dest_port", EVENTS)] == ["9050", "443", "53", "53"]
    assert [r["dest"] for r in spl("search * | sort str(dest_port), -_time", EVENTS)] == \
        ["1.1.1.1", "8.8.8.8", "8.8.8.8", "9.9.9.9"]
    # mixed: numbers first (numerically), then strings (lexically)
    assert [r["bytes"] for r in spl("search * | sort bytes", EVENTS)] == ["50", "100", "300", "x"]


def test_head_dedup_fillnull(spl):
    assert len(spl("search * | head 2", EVENTS)) == 2
    assert len(spl("search * | head", [{"i": str(i)} for i in range(20)])) == 10
    assert [r["dest"] for r in spl("search * | dedup dest", EVENTS)] == ["8.8.8.8", "1.1.1.1", "9.9.9.9"]
    assert [r["host"] for r in spl("search * | dedup src", EVENTS)] == ["h1", "h2"]   # null src dropped
    assert len(spl("search * | dedup src keepempty=true", EVENTS)) == 3
    rows = spl("search * | fillnull value=none src user | table src user", EVENTS)
    assert [r["src"] for r in rows][-1] == "none" and rows[2]["user"] == "none"
    rows = spl("search * | table host src | fillnull", EVENTS)
    assert rows[3] == {"host": "h2", "src": "0"}


def test_rex_named_groups(spl):
    rows = [{"_raw": "user=alice port=22 port=80"}]
    out = spl('search * | rex "user=(?<who>\\w+)" | rex max_match=0 "port=(?<p>\\d+)"', rows)
    assert out[0]["who"] == "alice" and out[0]["p"] == ["22", "80"]
    out = spl('search * | rex field=_raw mode=sed "s/alice/ALICE/g"', rows)
    assert out[0]["_raw"].startswith("user=ALICE")
    with pytest.raises(SplError, match="named group"):
        spl('search * | rex "user=\\w+"', rows)


def test_mvexpand_and_makeresults(spl):
    rows = spl('| makeresults count=2 | eval v=split("a,b", ",") | mvexpand v', [])
    assert [r["v"] for r in rows] == ["a", "b", "a", "b"]


def test_macros_with_arguments_and_nesting(spl):
    events = [{"sourcetype": "net", "dest_port": "22"}, {"sourcetype": "net", "dest_port": "80"},
              {"sourcetype": "other", "dest_port": "22"}]
    assert len(spl("`nested`", events)) == 1
    assert spl("`src_net` `ports(80, 81)` | `twice(dest_port)` | table doubled", events) == [{"doubled": 160}]
    with pytest.raises(SplError, match="macro `nope`"):
        spl("`nope`", events)
    with pytest.raises(SplError, match="with 1 arguments"):
        spl("`ports(1)`", events)


def test_comments_are_ignored(spl):
    assert len(spl("search * ```a comment | with a pipe``` | head 1", EVENTS)) == 1


def test_lookup_wildcard_case_insensitive(spl):
    rows = [{"process": "C:\\Program Files\\CHROME.EXE"}, {"process": "ping.exe"}, {"process": "evil.exe"}]
    out = spl("search * | lookup proc_allow process OUTPUT allowed reason", rows)
    assert [r.get("allowed") for r in out] == ["true", "true", None]
    assert out[0]["reason"] == "browser"


def test_lookup_cidr_max_matches_and_as(spl):
    rows = [{"ip": "10.1.2.3"}, {"ip": "192.168.1.1"}, {"ip": "8.8.8.8"}, {"ip": "bad"}]
    out = spl("search * | lookup nets cidr AS ip OUTPUT zone AS net_zone", rows)
    # max_matches = 1: the first matching row in file order
    assert [r.get("net_zone") for r in out] == ["internal", "internal", None, None]


def test_lookup_exact_is_case_sensitive_by_default(spl):
    out = spl("search * | lookup exact_cs name OUTPUT kind", [{"name": "alpha"}, {"name": "ALPHA"}])
    assert [r.get("kind") for r in out] == ["second", None]


def test_lookup_multiple_matches_give_multivalue(spl):
    out = spl("search * | lookup multi port OUTPUT service", [{"port": "53"}, {"port": ["443", "53"]}])
    assert out[0]["service"] == ["dns", "domain"]
    assert out[1]["service"] == ["dns", "domain", "https"]


def test_lookup_output_vs_outputnew(spl):
    rows = [{"port": "53", "service": "keep"}, {"port": "99", "service": "old"}]
    assert [r.get("service") for r in spl("search * | lookup multi port OUTPUTNEW service", rows)] == ["keep", "old"]
    # OUTPUT overwrites, and clears the field when nothing matches
    assert [r.get("service") for r in spl("search * | lookup multi port OUTPUT service", rows)] == [["dns", "domain"], None]


def test_lookup_without_output_adds_all_columns_and_errors(spl):
    out = spl("search * | lookup nets cidr AS ip", [{"ip": "10.2.3.4"}])
    assert out[0]["zone"] == "internal"
    with pytest.raises(SplError, match="no column 'nope'"):
        spl("search * | lookup nets nope", [{"ip": "1"}])
    with pytest.raises(SplError, match="no transforms.conf stanza"):
        spl("search * | lookup missing_table x", [{"x": "1"}])


def test_inputlookup_and_where(spl):
    rows = spl("| inputlookup nets where zone=internal", [])
    assert [r["cidr"] for r in rows] == ["10.0.0.0/8", "192.168.0.0/16"]
    assert len(spl("| inputlookup proc_allow.csv", [])) == 2


def test_outputlookup_writes_runner_copy_only(mini_app, tmp_path):
    lookup_dir = tmp_path / "state"
    runner = Runner(str(mini_app), str(lookup_dir))
    original = (mini_app / "lookups" / "baseline.csv").read_text()
    events = [{"sourcetype": "net", "host": "h1", "transport": "udp"},
              {"sourcetype": "net", "host": "h1", "transport": "icmp"}]
    runner.run(runner.savedsearches["Test - Baseline"]["search"], events)
    assert (mini_app / "lookups" / "baseline.csv").read_text() == original
    with open(lookup_dir / "baseline.csv") as handle:
        assert list(csv.DictReader(handle)) == [{"host": "h1", "protocol": "icmp"}, {"host": "h1", "protocol": "udp"}]
    # later searches read the runner's copy
    rows = runner.run("| inputlookup baseline", []).rows
    assert len(rows) == 2


def test_tstats_over_network_traffic(spl):
    events = [
        {"_time": 10.0, "tag": ["network", "communicate"], "src": "a", "dest": "b", "dest_port": "9050", "transport": "tcp"},
        {"_time": 20.0, "tag": ["network", "communicate"], "src": "a", "dest": "b", "dest_port": "9050", "transport": "tcp"},
        {"_time": 30.0, "tag": ["network", "communicate"], "src": "c", "dest": "b", "dest_port": "443", "transport": "tcp"},
        {"_time": 40.0, "tag": ["process", "report"], "src": "a", "dest": "b", "dest_port": "9050"},
    ]
    rows = spl("| tstats summariesonly=true count min(_time) as firstTime from datamodel=Network_Traffic.All_Traffic "
               "where All_Traffic.dest_port=9050 by All_Traffic.src All_Traffic.dest "
               "| rename All_Traffic.* as *", events)
    assert rows == [{"src": "a", "dest": "b", "count": 2, "firstTime": 10.0}]
    rows = spl("| tstats count from datamodel=Endpoint.Processes by _time span=1h", events)
    assert rows == [{"_time": 0, "count": 1}]
    with pytest.raises(SplError, match="not available offline"):
        spl("| tstats count from datamodel=Authentication", events)


def test_tstats_web_and_fillnull_value(spl):
    """Web's constraint is tag=web; fillnull_value keeps rows whose by-fields are missing
    (ICMP has no dest_port), which tstats otherwise drops as stats does."""
    events = [
        {"_time": 1.0, "tag": ["web", "proxy"], "src": "a", "url_domain": "x.example", "dest_port": "80"},
        {"_time": 2.0, "tag": ["network", "communicate"], "src": "a", "dest": "b", "transport": "icmp"},
        {"_time": 3.0, "tag": ["network", "communicate"], "src": "a", "dest": "b", "transport": "tcp",
         "dest_port": "443"},
    ]
    rows = spl("| tstats count from datamodel=Web.Web by Web.src Web.url_domain", events)
    assert rows == [{"Web.src": "a", "Web.url_domain": "x.example", "count": 1}]
    by = "by All_Traffic.transport All_Traffic.dest_port | rename All_Traffic.* AS *"
    assert spl("| tstats count from datamodel=Network_Traffic " + by, events) == [
        {"transport": "tcp", "dest_port": "443", "count": 1}]
    rows = spl("| tstats fillnull_value=\"-\" count from datamodel=Network_Traffic " + by, events)
    assert sorted((r["transport"], r["dest_port"]) for r in rows) == [("icmp", "-"), ("tcp", "443")]


def test_custom_command_through_protocol(spl):
    rows = [{"bytes_out": "9000", "bytes_in": "100"}, {"bytes_out": "100", "bytes_in": "9000"}]
    out = spl("search * | c2asym threshold=0.9 min_bytes=1000", rows)
    assert len(out) == 2
    added = set(out[0]) - {"bytes_out", "bytes_in"}
    assert added, "c2asym added no fields"
    with pytest.raises(SplError, match="c2asym"):
        spl("search * | c2asym threshold=banana", rows)


@pytest.mark.parametrize("command", ["transaction src", "join src [search x]", "append [search x]",
                                     "streamstats count", "collect index=x", "sendemail to=a"])
def test_unsupported_commands_are_refused_by_name(spl, command):
    name = command.split()[0]
    with pytest.raises(SplError, match=name):
        spl("search * | " + command, EVENTS)


def test_generating_command_position(spl):
    with pytest.raises(SplError, match="not a generating command"):
        spl("| stats count", EVENTS)
    with pytest.raises(SplError, match="first command"):
        spl("search * | tstats count from datamodel=Network_Traffic", EVENTS)
