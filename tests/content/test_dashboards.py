"""Dashboards: valid Simple XML 1.1, and every panel search over app data runs offline."""
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from c2hunt_offline import run_search

ROOT = Path(__file__).resolve().parents[2]

VIEWS = sorted((ROOT / "default" / "data" / "ui" / "views").glob("*.xml"))
MACROS = set(re.findall(r"^\[([^\]]+)\]", (ROOT / "default" / "macros.conf").read_text(), re.M))


def panel_queries():
    return list(_panel_queries())


def _panel_queries():
    for view in VIEWS:
        for query in ElementTree.parse(view).iter("query"):
            yield pytest.param(query.text.strip(), id="%s:%s" % (view.stem, query.text[:30]))


@pytest.mark.parametrize("view", VIEWS, ids=lambda p: p.stem)
def test_view_is_simple_xml_1_1(view):
    root = ElementTree.parse(view).getroot()
    assert root.tag in ("form", "dashboard") and root.get("version") == "1.1"


def test_navigation_names_existing_views():
    nav = ElementTree.parse(ROOT / "default" / "data" / "ui" / "nav" / "default.xml")
    builtin = {"search", "reports", "alerts", "dashboards"}
    named = {view.get("name") for view in nav.iter("view")}
    assert named - builtin <= {view.stem for view in VIEWS}


@pytest.mark.parametrize("query", panel_queries())
def test_panel_search_macros_exist(query):
    assert set(re.findall(r"`([a-z0-9_]+)`", query)) <= MACROS


@pytest.mark.parametrize("query", [q for q in panel_queries() if q.values[0].startswith("`")])
def test_panel_search_runs_offline_over_samples(query):
    rows = run_search(query, [str(ROOT / "samples")])
    assert isinstance(rows, list)
    for row in rows:  # every row the panel shows carries the score it sorts by
        assert "beacon_score" in row or "max_entropy" in row
