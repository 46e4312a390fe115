"""Dashboards: Dashboard Studio definitions (version 2) that Splunk accepts, whose searches name
existing macros, whose tables all drill down, and whose offline-runnable searches run over samples."""
import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from c2hunt_offline import run_search
from c2hunt_offline.report.studio import load_view

ROOT = Path(__file__).resolve().parents[2]

VIEWS = sorted((ROOT / "default" / "data" / "ui" / "views").glob("*.xml"))
MACROS = set(re.findall(r"^\[([^\]]+)\]", (ROOT / "default" / "macros.conf").read_text(), re.M))
TRIAGE_VIEWS = {"c2hunt_overview", "c2hunt_beacon", "c2hunt_dns", "c2hunt_health"}


def queries():
    for view in VIEWS:
        for ds_id, ds in load_view(view)["dataSources"].items():
            yield pytest.param(ds["options"]["query"], id="%s:%s" % (view.stem, ds_id))


def test_the_triage_views_ship():
    assert {view.stem for view in VIEWS} >= TRIAGE_VIEWS


@pytest.mark.parametrize("view", VIEWS, ids=lambda p: p.stem)
def test_view_is_dashboard_studio(view):
    root = ElementTree.parse(view).getroot()
    assert root.tag == "dashboard" and root.get("version") == "2"
    assert root.get("theme") in ("dark", "light")
    definition = json.loads(root.find("definition").text)
    assert definition["title"] == root.find("label").text
    placed = {item["item"] for item in definition["layout"]["structure"]}
    assert placed == set(definition["visualizations"])  # every panel placed, none dangling
    assert set(definition["layout"].get("globalInputs", ())) == set(definition.get("inputs", {}))  # every input shown
    for viz in definition["visualizations"].values():
        assert viz["dataSources"]["primary"] in definition["dataSources"]
    for ds in definition["dataSources"].values():
        if ds["type"] == "ds.chain":
            assert ds["options"]["extend"] in definition["dataSources"]


@pytest.mark.parametrize("view", VIEWS, ids=lambda p: p.stem)
def test_every_table_drills_down(view):
    definition = load_view(view)
    for viz_id, viz in definition["visualizations"].items():
        if viz["type"] == "splunk.table":
            kinds = {h["type"] for h in viz.get("eventHandlers", ())}
            assert kinds & {"drilldown.linkToSearch", "drilldown.setToken", "drilldown.linkToDashboard"}, viz_id


def test_enterprise_security_panels_say_so():
    for view in VIEWS:
        definition = load_view(view)
        for viz in definition["visualizations"].values():
            query = definition["dataSources"][viz["dataSources"]["primary"]]["options"].get("query", "")
            if re.search(r"\bindex=(notable|risk)\b", query):
                assert "Enterprise Security" in viz["title"], viz["title"]


def test_navigation_lists_the_views():
    nav = ElementTree.parse(ROOT / "default" / "data" / "ui" / "nav" / "default.xml")
    builtin = {"search", "reports", "alerts", "dashboards"}
    named = {view.get("name") for view in nav.iter("view")}
    assert named - builtin <= {view.stem for view in VIEWS}
    assert TRIAGE_VIEWS <= named


@pytest.mark.parametrize("query", list(queries()))
def test_search_macros_exist(query):
    names = set(re.findall(r"`([a-z0-9_]+)`", query)) - {"$row"}
    assert names <= MACROS


def test_dns_view_searches_run_offline_over_samples():
    definition = load_view(ROOT / "default" / "data" / "ui" / "views" / "c2hunt_dns.xml")
    domains = run_search(definition["dataSources"]["ds_domains"]["options"]["query"], [str(ROOT / "samples")])
    assert domains and all("max_entropy" in row and "unique_names" in row for row in domains)
    assert max(int(row["unique_names"]) for row in domains) >= 50  # the sample DNS tunnel
