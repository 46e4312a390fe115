"""The offline HTML report opened in headless Chromium: every dashboard panel renders with data,
the page logs no error, and a screenshot of each section is saved under build/report-screenshots/.

Driver: the chromium command line itself (--dump-dom for the rendered page, --screenshot per
section through the report's #only=<section> anchor). No Python browser driver to pin, nothing
downloaded; the page records console errors in #c2hunt-console-errors, which the dump carries.
Skips only when chromium is absent (.ci/run installs it); the viewer bundle is built by
offline/c2hunt_offline/report/web/build.sh when missing (node and npm: .ci/run installs them).
"""
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from c2hunt_offline.cli import main as offline_main
from c2hunt_offline.report.studio import height_of

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "build" / "report-web" / "dist" / "c2hunt-report.js"
SCREENSHOTS = ROOT / "build" / "report-screenshots"
SECTIONS = ("summary", "c2hunt_overview", "c2hunt_beacon", "c2hunt_dns", "c2hunt_health")
WIDTH = 1480


def _chromium():
    for name in (os.environ.get("C2HUNT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _run_chromium(chromium, url, height, *extra):
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--window-size=%d,%d" % (WIDTH, height),
               "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the report must not need it
               "--virtual-time-budget=10000", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def _ensure_bundle():
    lock_path = ROOT / "build" / "report-web.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not BUNDLE.is_file():
            if not shutil.which("npm"):
                pytest.fail("the report viewer is not built and npm is missing (.ci/run installs nodejs npm)")
            subprocess.run(["bash", str(ROOT / "offline" / "c2hunt_offline" / "report" / "web" / "build.sh")],
                           check=True, capture_output=True, timeout=900)


@pytest.fixture(scope="module")
def chromium():
    path = _chromium()
    if path is None:
        pytest.skip("chromium is not installed")
    return path


@pytest.fixture(scope="module")
def report(chromium, tmp_path_factory):
    _ensure_bundle()
    path = tmp_path_factory.mktemp("report") / "report.html"
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        status = offline_main(["hunt", "--no-progress", "--format", "json", "--report", str(path),
                               str(ROOT / "samples")])
    assert status == 0
    text = path.read_text(encoding="utf-8")
    result = _run_chromium(chromium, path.as_uri(), 9000, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return path, text, result.stdout


def _definitions(html_text):
    found = {}
    for name, body in re.findall(r'<script type="application/json" id="definition-([\w-]+)">(.*?)</script>',
                                  html_text, re.S):
        found[name] = json.loads(body.replace("<\\/", "</"))
    return found


def _panel_segments(dom):
    """Rendered grid items: {viz id: its markup}, each cut at the next item or section end."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r'<div id="([^"]+)" data-test="grid-item"', dom)]
    segments = {}
    for i, (pos, viz_id) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(dom)
        segment = dom[pos:end]
        segments[viz_id] = segment.split("</section>")[0]
    return segments


def test_report_renders_every_panel_with_data_and_no_errors(report, chromium):
    path, html_text, dom = report
    errors = re.search(r'<pre id="c2hunt-console-errors"[^>]*>(.*?)</pre>', dom, re.S)
    assert errors is not None and unescape(errors.group(1)).strip() == "", errors and errors.group(1)[:2000]

    definitions = _definitions(html_text)
    assert set(definitions) == set(SECTIONS[1:])
    segments = _panel_segments(dom)
    panels = 0
    for name, definition in definitions.items():
        assert definition["visualizations"], name
        for viz_id, viz in definition["visualizations"].items():
            panels += 1
            segment = segments.get(viz_id)
            assert segment is not None, "%s: panel %s not rendered" % (name, viz_id)
            assert 'data-viz-type="%s"' % viz["type"] in segment
            assert "data-error" not in segment and "No search results" not in segment, viz_id
            if viz["type"] == "splunk.table":
                assert "data-row-index" in segment, "%s: table %s has no rows" % (name, viz_id)
            else:
                assert "highcharts-point" in segment, "%s: chart %s has no points" % (name, viz_id)
    # the samples hold beaconing, a DNS tunnel and findings on many hosts: each view shows them
    titles = [v["title"] for d in definitions.values() for v in d["visualizations"].values()]
    assert any(t.startswith("Check-ins over time: ") for t in titles)
    assert any(t.startswith("Gaps between check-ins") for t in titles)
    assert any(t.startswith("Names under ") for t in titles)
    assert sum(t.startswith("Findings of host ") for t in titles) >= 10
    assert panels >= 20
    assert "lookups/c2hunt_beacon_allowlist.csv: src=" in html_text  # allowlist entry of a beacon
    assert "c2hunt_dns_domain_allowlist.csv: registered_domain=example-c2.net" in html_text

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for section in SECTIONS:
        height = 1300 if section == "summary" else height_of(definitions[section]) + 220
        shot = SCREENSHOTS / ("%s.png" % section)
        if shot.exists():
            shot.unlink()
        result = _run_chromium(chromium, path.as_uri() + "#only=" + section, height,
                               "--screenshot=%s" % shot)
        assert result.returncode == 0 and shot.is_file() and shot.stat().st_size > 20000, section


def test_report_needs_no_network(report):
    """Self-contained: the page's own markup loads no external script, style or image (and the
    rendering test above runs with name resolution disabled)."""
    _, html_text, _ = report
    markup = re.sub(r"<(script|style)\b.*?</\1>", "", html_text, flags=re.S)
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", markup)
    assert "@import url(" not in html_text
