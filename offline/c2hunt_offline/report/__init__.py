"""``hunt --report FILE``: one self-contained HTML file of a hunt's results.

The report renders the app's own Dashboard Studio views (default/data/ui/views) with Splunk's
open-source dashboard framework, bundled by ``web/build.sh`` into build/report-web/dist (pinned by
web/package-lock.json, never committed). Each view's searches are replaced by ``ds.test`` data
from the offline results (see :mod:`.data`); a summary, findings by host with the allowlist entry
that would silence each one, and the views follow. Without the bundle the same tables are
written as plain HTML, so a report is always produced.
"""
import os

from .data import OfflineResults
from .page import render
from .studio import load_view, offline_definition

VIEWS = ("c2hunt_overview", "c2hunt_beacon", "c2hunt_dns", "c2hunt_health")


def bundle_dir(app_root):
    """Where the built viewer is: $C2HUNT_REPORT_BUNDLE, else build/report-web/dist."""
    return os.environ.get("C2HUNT_REPORT_BUNDLE") or os.path.join(app_root, "build", "report-web", "dist")


def build_dashboards(results, app_root):
    """[(view name, title, description, offline definition, panels left out)]."""
    dashboards = []
    for name in VIEWS:
        path = os.path.join(app_root, "default", "data", "ui", "views", name + ".xml")
        if not os.path.isfile(path):
            continue
        definition = load_view(path)
        offline, left_out = offline_definition(definition, results.fill, results.token_values)
        dashboards.append((name, definition.get("title", name), definition.get("description", ""),
                           offline, left_out))
    return dashboards


def write_report(path, runner, events, notables, errors=None):
    """Write the report to ``path``; returns the number of dashboard panels in it."""
    results = OfflineResults(runner, events, notables, errors)
    dashboards = build_dashboards(results, runner.app_root)
    html = render(results, dashboards, bundle_dir(runner.app_root))
    with open(path, "w", encoding="utf-8") as out:
        out.write(html)
    return sum(len(d[3]["visualizations"]) for d in dashboards)
