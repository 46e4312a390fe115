"""Every correlation search carries what Enterprise Security needs to run it as ESCU's do.

The rules (README.md, "How Enterprise Security runs the searches"); the keys a script can
derive are filled by tools/correlation_metadata.py, the decisions are checked here:
- ES 8 metadata: a unique detection_id UUID, detection_version, publish_time, deprecated;
  detection_type; the finding's entities; allow_skew; is_visible.
- TTP-grade searches raise a notable and risk; anomaly-grade ones risk only.
- Each event is judged once: windows that do not overlap, or throttling on the notable's
  suppression fields for at least one dispatch window.
- Severity follows the static risk score in ESCU's bands.
- Risk objects are never a placeholder; threat objects are typed by what the field holds.
- Drilldowns never put a raw Windows path into a quoted search term.
- analyticstories.conf lists every search and documents each one.
"""
import json
import re
import subprocess
import sys
import uuid

import pytest
from ksconf.conf.parser import parse_conf

from test_searches import CORRELATION, DEFAULT, ROOT, SEARCHES, _expand, _pipeline

STORY = "analytic_story://Command and Control (c2hunt)"
STORIES = {name: dict(values) for name, values in
           parse_conf(str(DEFAULT / "analyticstories.conf")).items() if isinstance(name, str)}
# Fields by what they hold, for threat-object typing.
PATH_FIELDS = {"Image", "ParentImage", "process_path", "exe", "exec_path", "Application_Name",
               "file_path", "TargetFilename"}
COMMAND_LINE_FIELDS = {"CommandLine", "ParentCommandLine", "cmdline", "process",
                       "shell_command", "command_line"}
ADDRESS_FIELDS = {"src", "dest", "DestinationIp", "SourceIp", "remote_ip", "src_ip", "dest_ip",
                  "remote_address"}
# Fields that may hold a Windows path (backslashes) when a drilldown quotes them.
WINDOWS_PATH_FIELDS = {"Image", "ParentImage", "process_path", "Application_Name",
                       "CommandLine", "ParentCommandLine", "TargetFilename"}


def _severity(score):
    return ("informational" if score <= 20 else "low" if score <= 40 else
            "medium" if score <= 60 else "high" if score <= 80 else "critical")


def _risk(s):
    return json.loads(s["action.risk.param._risk"])


def _static_score(s):
    return max(int(e["risk_score"]) for e in _risk(s) if "risk_object_field" in e)


def _output_columns(s):
    """Fields the search returns: its last table, plus fields an eval adds after it."""
    pipeline = _pipeline(_expand(s["search"]))
    last = max(i for i, seg in enumerate(pipeline) if seg.startswith("table "))
    columns = pipeline[last].split()[1:]
    for seg in pipeline[last + 1:]:
        if seg.startswith("eval "):
            columns += re.findall(r"(?:^eval |,\s*)(\w+)=", seg)
    return columns


def _seconds(relative):
    text = relative.split("@")[0]
    if not text:
        return 0
    match = re.fullmatch(r"([+-]?\d+)([smhd])", text)
    assert match, relative
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _period_seconds(period):
    match = re.fullmatch(r"(\d+)([smhd]?)", period.strip())
    assert match, period
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _cron_interval(cron):
    """Seconds between runs of the cron forms the app uses."""
    minute, hour, dom, month, dow = cron.split()
    if minute.startswith("*/") and hour == "*":
        return int(minute[2:]) * 60
    if minute.isdigit() and hour == "*":
        return 3600
    if minute.isdigit() and hour.startswith("*/"):
        return int(hour[2:]) * 3600
    if minute.isdigit() and hour.isdigit() and dom == "*":
        return 86400
    raise AssertionError("unrecognised cron %r" % cron)


NAMES = sorted(CORRELATION)


def test_detection_ids_are_unique_uuids():
    ids = [json.loads(CORRELATION[n]["action.correlationsearch.metadata"])["detection_id"]
           for n in NAMES]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert str(uuid.UUID(value)) == value


@pytest.mark.parametrize("name", NAMES)
def test_es8_metadata(name):
    s = CORRELATION[name]
    metadata = json.loads(s["action.correlationsearch.metadata"])
    assert set(metadata) == {"deprecated", "detection_id", "detection_version", "publish_time"}
    assert metadata["deprecated"] == "0"
    assert int(metadata["detection_version"]) >= 1
    assert isinstance(metadata["publish_time"], int) and metadata["publish_time"] > 1.7e9
    assert s["allow_skew"] and s["is_visible"] == "false"
    grade = s["action.correlationsearch.detection_type"]
    assert grade in ("TTP", "Anomaly")
    assert s["action.notable"] == ("1" if grade == "TTP" else "0")
    assert s["action.risk"] == "1"
    entities = json.loads(s["action.notable.param._entities"])
    objects = [e for e in _risk(s) if "risk_object_field" in e]
    assert entities and all(e in objects for e in entities)


@pytest.mark.parametrize("name", NAMES)
def test_annotations_as_escu_writes_them(name):
    s = CORRELATION[name]
    annotations = json.loads(s["action.correlationsearch.annotations"])
    for key in ("analytic_story", "cis20", "nist", "kill_chain_phases", "mitre_attack"):
        assert annotations[key] and isinstance(annotations[key], list), key
    assert "Command and Control (c2hunt)" in annotations["analytic_story"]
    assert "Command and Control" in annotations["kill_chain_phases"]
    assert annotations["type"] == s["action.correlationsearch.detection_type"]
    confidence, impact = annotations["confidence"], annotations["impact"]
    assert 0 < confidence <= 100 and 0 < impact <= 100
    assert round(confidence * impact / 100.0) == _static_score(s)


@pytest.mark.parametrize("name", NAMES)
def test_severity_follows_the_score(name):
    s = CORRELATION[name]
    assert s["action.notable.param.severity"] == _severity(_static_score(s))


@pytest.mark.parametrize("name", NAMES)
def test_each_event_is_judged_once(name):
    """Overlapping windows (window longer than the schedule's interval) need throttling on
    the notable's suppression fields for at least one window; throttling covers the notable
    and the risk events alike."""
    s = CORRELATION[name]
    window = _seconds(s["dispatch.latest_time"]) - _seconds(s["dispatch.earliest_time"])
    interval = _cron_interval(s["cron_schedule"])
    assert window > 0
    if window <= interval:
        return
    assert s.get("alert.suppress") == "1", "%s: overlapping windows without throttling" % name
    fields = s["alert.suppress.fields"].split(",")
    assert fields and set(fields) <= set(_output_columns(s))
    assert _period_seconds(s["alert.suppress.period"]) >= window


@pytest.mark.parametrize("name", NAMES)
def test_risk_and_threat_objects(name):
    s = CORRELATION[name]
    search = _expand(s["search"])
    assert not re.search(r'"(unknown|n/a)"', search, re.I), \
        "placeholder value in %s: a risk object must be left null" % name
    for entry in _risk(s):
        field = entry.get("risk_object_field")
        for fill in re.findall(r"fillnull value=\S+ ([\w ]+)", search):
            if field in fill.split():  # a placeholder must be taken back out before output
                assert re.search(r"eval %s=if\(%s==\S+, null\(\), %s\)" % (field, field, field),
                                 search), (name, field)
    for entry in _risk(s):
        field = entry.get("threat_object_field")
        if not field:
            continue
        kind = entry["threat_object_type"]
        if field in PATH_FIELDS:
            assert kind == "file_path", (field, kind)
        elif field in COMMAND_LINE_FIELDS:
            assert kind == "process", (field, kind)
        elif field == "process_name":
            assert kind == "process_name", (field, kind)
        elif field in ADDRESS_FIELDS:
            assert kind == "ip_address", (field, kind)
        assert kind != "process" or field in COMMAND_LINE_FIELDS, (field, kind)
        # domain: only fields that hold names, never an address (the searches null IP literals)
        assert kind != "domain" or "domain" in field or field in ("query", "dest_host"), (
            field, kind)


@pytest.mark.parametrize("name", NAMES)
def test_drilldowns(name):
    s = CORRELATION[name]
    drilldowns = json.loads(s["action.notable.param.drilldown_searches"])
    assert any("datamodel=Risk.All_Risk" in d["search"] for d in drilldowns), \
        "no risk-events drilldown"
    columns = set(_output_columns(s))
    for d in drilldowns:
        assert set(d) == {"name", "search", "earliest_offset", "latest_offset"}
        for token in re.findall(r'"\$(\w+)\$"', d["search"]):
            assert token not in WINDOWS_PATH_FIELDS, \
                "%s quotes $%s$ unescaped; use a field made with c2hunt_search_escape" % (
                    name, token)
            assert token in columns, "drilldown token $%s$ is not output" % token
    for token in re.findall(r"\$(\w+_search)\$", s["action.notable.param.drilldown_searches"]):
        assert re.search(r"%s=`c2hunt_search_escape\(" % token, s["search"]), token


def test_sysmon_search_has_no_eventstats_over_raw_events():
    """eventstats stops adding fields past limits.conf's max_mem_usage_mb: over every process
    and network event of a window it would silently leave some events without the command
    line. The process context comes from the same stats that groups the process."""
    s = CORRELATION["C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule"]
    pipeline = _pipeline(_expand(s["search"]))
    first_stats = min(i for i, seg in enumerate(pipeline) if seg.startswith("stats "))
    assert not any(seg.startswith("eventstats ") for seg in pipeline[:first_stats])
    assert re.search(r"values\(CommandLine\) AS CommandLine .* by host ProcessGuid$",
                     pipeline[first_stats])


def test_analytic_story_lists_every_search():
    story = STORIES[STORY]
    assert sorted(json.loads(story["searches"])) == NAMES
    for key in ("category", "description", "narrative", "references", "version"):
        assert story[key].strip(), key
    assert all(url.startswith("https://") for url in json.loads(story["references"]))


@pytest.mark.parametrize("name", NAMES)
def test_every_search_is_documented(name):
    doc = STORIES["savedsearch://" + name]
    assert doc["type"] == "detection"
    for key in ("explanation", "how_to_implement", "known_false_positives"):
        assert len(doc[key].strip()) >= 80, "%s: %s too short" % (name, key)
    references = json.loads(doc["references"])
    assert references and all(url.startswith("https://") for url in references)


def test_no_documentation_for_searches_that_do_not_exist():
    documented = {n.split("://", 1)[1] for n in STORIES if n.startswith("savedsearch://")}
    assert documented <= set(SEARCHES)


def test_metadata_tool_is_up_to_date():
    """tools/correlation_metadata.py --check: nothing left to fill or re-derive."""
    completed = subprocess.run([sys.executable, str(ROOT / "tools" / "correlation_metadata.py"),
                                "--check"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
