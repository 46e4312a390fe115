"""Splunk AppInspect on the built package: zero failures, errors and future failures.

Each warning AppInspect still reports must be listed, with its reason, in
docs/development.md under "AppInspect warnings left in place".
"""
import json
import re
import subprocess
import sys
from pathlib import Path

from support import ROOT

# One run of every check (precert mode), judged twice by each check's tags, as the two runs
# a submission gets would select them: precert without the aarch64_compatibility tag (numpy
# for both x86_64 and aarch64 can never pass its one check; the aarch64 builds are checked by
# the cloud tag's check_idx_binary_compatibility and by tests/packaging/test_package.py), and
# cloud (--included-tags cloud). One run instead of two: AppInspect's time is its pass over
# the package's files, whatever the checks selected.
MODES = {
    "precert": lambda tags: "aarch64_compatibility" not in tags,
    "cloud": lambda tags: "cloud" in tags,
}
BLOCKING = ("failure", "error", "future_failure")


def run_appinspect(package, options, report):
    """{result: [check, ...]} of one AppInspect run (each check with its name, tags, messages)."""
    appinspect = Path(sys.executable).with_name("splunk-appinspect")
    command = [str(appinspect), "inspect", str(package), "--ci", "--data-format", "json",
               "--output-file", str(report)] + options
    completed = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert report.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    results = {}
    for app_report in json.loads(report.read_text())["reports"]:
        for group in app_report["groups"]:
            for check in group["checks"]:
                results.setdefault(check["result"], []).append(check)
    return results


def selected(results, mode):
    """The results of the checks ``mode`` runs."""
    chosen = MODES[mode]
    return {result: [check for check in checks if chosen(set(check["tags"]))]
            for result, checks in results.items()}


def documented_warnings():
    notes = (ROOT / "docs" / "development.md").read_text()
    section = notes.split("\n## AppInspect warnings left in place\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(check_[a-z0-9_]+)`", section))


def test_appinspect_passes_precert_and_cloud(built_package, tmp_path):
    every_check = run_appinspect(built_package, ["--mode", "precert"], tmp_path / "report.json")
    found = {}
    for mode in sorted(MODES):
        results = selected(every_check, mode)
        assert sum(map(len, results.values())) > 50, "AppInspect ran too few %s checks" % mode
        found[mode] = {result: ["%s: %s" % (check["name"], check["messages"][:2])
                                for check in results.get(result, [])] for result in BLOCKING}
        undocumented = {check["name"] for check in results.get("warning", [])} - documented_warnings()
        found[mode]["undocumented warning (list it in docs/development.md)"] = sorted(undocumented)
    assert found == {mode: {key: [] for key in found[mode]} for mode in found}
