"""The offline report's pure parts: Studio definitions made offline, gap histograms, allowlist
entries, and the plain-HTML report written when the viewer bundle is not built."""
import math

from c2hunt_offline.engine import Notable, Runner
from c2hunt_offline.report import write_report
from c2hunt_offline.report.data import OfflineResults, gap_histogram, nice_span
from c2hunt_offline.report.studio import offline_definition, tokens_of

DEFINITION = {
    "title": "t", "inputs": {"i": {}}, "defaults": {},
    "dataSources": {
        "ds_all": {"type": "ds.search", "options": {"query": "index=x earliest=$global_time.earliest$"}},
        "ds_one": {"type": "ds.search", "options": {"query": "index=x host=$host$"}},
        "ds_chain": {"type": "ds.chain", "options": {"extend": "ds_one", "query": "| head 1"}},
        "ds_empty": {"type": "ds.search", "options": {"query": "index=y"}},
    },
    "visualizations": {
        "viz_all": {"type": "splunk.table", "title": "All", "dataSources": {"primary": "ds_all"},
                    "eventHandlers": [{"type": "drilldown.setToken"}]},
        "viz_empty": {"type": "splunk.line", "title": "Empty", "dataSources": {"primary": "ds_empty"}},
        "viz_one": {"type": "splunk.column", "title": "Host $host$", "dataSources": {"primary": "ds_one"}},
        "viz_chain": {"type": "splunk.table", "title": "Chain $host$", "dataSources": {"primary": "ds_chain"}},
    },
    "layout": {"type": "grid", "options": {"width": 1000}, "structure": [
        {"item": "viz_all", "type": "block", "position": {"x": 0, "y": 0, "w": 500, "h": 100}},
        {"item": "viz_empty", "type": "block", "position": {"x": 500, "y": 0, "w": 500, "h": 100}},
        {"item": "viz_one", "type": "block", "position": {"x": 0, "y": 100, "w": 1000, "h": 100}},
        {"item": "viz_chain", "type": "block", "position": {"x": 0, "y": 200, "w": 1000, "h": 100}},
    ]},
}


def _fill(ds_id, ds, tokens):
    if ds_id == "ds_empty":
        return {"fields": ["a"], "rows": []}
    return {"fields": ["_time", "n", "tags"], "rows": [{"_time": "2024-01-01T00:00:00Z", "n": 2.0,
                                                       "tags": ["a", "b"], "host": tokens.get("host")}]}


def test_tokens_of_follows_chains_and_ignores_the_time_picker():
    assert tokens_of(DEFINITION, "ds_all") == []
    assert tokens_of(DEFINITION, "ds_chain") == ["host"]


def test_offline_definition_fills_repeats_and_leaves_out():
    out, left_out = offline_definition(DEFINITION, _fill, lambda name: ["h1", "h2"] if name == "host" else [])
    assert left_out == ["Empty"]
    assert set(out["visualizations"]) == {"viz_all", "viz_one_0", "viz_chain_0", "viz_one_1", "viz_chain_1"}
    assert all(ds["type"] == "ds.test" for ds in out["dataSources"].values())
    assert out["inputs"] == {} and "defaults" not in out
    assert out["visualizations"]["viz_one_1"]["title"] == "Host h2"
    assert "eventHandlers" not in out["visualizations"]["viz_all"]
    # the rows that share the host token repeat together, in order: one, chain, one, chain
    order = [i["item"] for i in sorted(out["layout"]["structure"], key=lambda i: i["position"]["y"])]
    assert order == ["viz_all", "viz_one_0", "viz_chain_0", "viz_one_1", "viz_chain_1"]
    # the panel left out gives its width to its neighbour
    assert next(i for i in out["layout"]["structure"] if i["item"] == "viz_all")["position"]["w"] == 1000
    data = out["dataSources"]["ds_all"]["options"]["data"]
    assert data["fields"] == [{"name": "_time"}, {"name": "n"}, {"name": "tags"}]
    assert data["columns"] == [["2024-01-01T00:00:00Z"], [2], ["a, b"]]


def test_offline_definition_without_token_values_drops_the_token_rows():
    out, left_out = offline_definition(DEFINITION, _fill, lambda name: [])
    assert set(out["visualizations"]) == {"viz_all"}


def test_gap_histogram():
    assert gap_histogram([]) == [] and gap_histogram([5.0]) == []
    assert gap_histogram([0, 60, 120, 180]) == [("60", 3)]
    # same-second events are one check-in; a missed beat shows as a second pile at twice the period
    bins = dict(gap_histogram([0, 0.5, 60, 120, 240, 300], n_bins=2))
    assert bins == {"60-90": 3, "90-120": 1}
    # a long silence goes to one last bin instead of squeezing the period into one column
    bins = gap_histogram([0, 60, 120, 180, 10000], n_bins=4)
    assert bins[-1] == (">240", 1) and bins[0] == ("60-105", 3)


def test_nice_span():
    assert nice_span(0) == 1 and nice_span(3600) == 300 and nice_span(10 ** 9) == 86400
    assert not math.isnan(nice_span(float("inf")))


def _notable(signal, **fields):
    return Notable("C2Hunt - Periodic Beaconing - Rule", 1715677690.0, fields.get("src", "h"), signal, 70,
                   dict(fields, detection_signal=signal))


def test_allowlist_entries():
    results = OfflineResults(Runner(), [], [])
    beacon = _notable("Beaconing_TCP_443", src="10.0.0.1", dest="192.0.2.1", dest_port="443", protocol="tcp")
    assert results.allowlist_entry(beacon) == (
        "lookups/c2hunt_beacon_allowlist.csv: src=10.0.0.1, dest=192.0.2.1, dest_port=443, transport=tcp")
    icmp = _notable("ICMP_From_Unexpected_Process", Image="C:\\Tools\\Evil.exe")
    assert results.allowlist_entry(icmp) == "lookups/c2hunt_icmp_process_allowlist.csv: process_name=evil.exe"
    # no lookup fits (or a field is missing): the search's own _filter macro
    odd = _notable("Beaconing_TCP_443", src="10.0.0.1")
    assert results.allowlist_entry(odd) == ("macros.conf [c2hunt_periodic_beaconing_filter]: definition = "
                                            'search NOT (host="10.0.0.1" detection_signal="Beaconing_TCP_443")')


def test_report_without_the_viewer_is_plain_html(tmp_path, monkeypatch):
    monkeypatch.setenv("C2HUNT_REPORT_BUNDLE", str(tmp_path / "absent"))
    runner = Runner()
    events = [{"_time": 1715677690.0 + 60 * i, "sourcetype": "bro:conn:json", "src": "10.0.0.1", "dest": "192.0.2.1",
               "dest_port": "443", "transport": "tcp"} for i in range(5)]
    notable = _notable("Beaconing_TCP_443", src="10.0.0.1", dest="192.0.2.1", dest_port="443", protocol="tcp",
                       beacon_score=0.9, beacon_interval_score=1)
    path = tmp_path / "r.html"
    panels = write_report(str(path), runner, events, [notable])
    text = path.read_text()
    assert panels >= 3 and "<script" not in text
    assert "Findings of host 10.0.0.1" in text and "c2hunt_beacon_allowlist.csv" in text
    assert "Charts need the report viewer" in text


def test_odd_values_never_raise():
    """Nulls, multivalues and bad times give empty cells, not exceptions."""
    odd = [Notable("C2Hunt - Periodic Beaconing - Rule", None, None, "ICMP_x", None,
                   {"dest": ["a", "b"], "process_path": None}),
           Notable("s", "bad", "h", "Beaconing_TCP", 5, {"src": ["a", "b"]})]
    results = OfflineResults(Runner(), [{"_time": "bad"}, {}], odd)
    assert results._ds_notables_over_time({}) is None
    assert results._ds_top_hosts({})["rows"][0]["last_seen"] is None
    assert [results.allowlist_entry(n) for n in odd][0].endswith('search NOT (detection_signal="ICMP_x")')
    pair = results.token_values("pair")[0]
    assert results._ds_checkins({"pair": pair}) is None and results._ds_gaps({"pair": pair})["rows"] == []
    assert results._ds_host_findings({"host": "h"})["rows"][0]["evidence"] == "src=a, b"
    assert results.summary()["first_event"] is None
