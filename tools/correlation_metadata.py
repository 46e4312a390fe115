"""Fill in the Enterprise Security metadata a correlation search needs, the way ESCU writes it.

Run from the repo root after adding or changing a correlation search:

    python tools/correlation_metadata.py            # rewrite default/savedsearches.conf in place
    python tools/correlation_metadata.py --check    # exit 1 if anything is missing or stale

It never touches a `search =` line. For each stanza with action.correlationsearch.enabled = 1:

- derived in place: `action.notable.param.severity` from the static risk score (ESCU's bands:
  0-20 informational, 21-40 low, 41-60 medium, 61-80 high, 81-100 critical);
  the ESCU keys of `action.correlationsearch.annotations` (cis20, nist, kill_chain_phases from
  the ATT&CK tactics, confidence and impact with confidence * impact / 100 = the score, type);
  a "risk events of this object" entry in `action.notable.param.drilldown_searches`.
- appended at the end of the stanza when missing: detection_type (TTP when the search raises a
  notable, Anomaly when it is risk-only), metadata (detection_id: a UUID derived from the
  stanza name, so it is stable and unique; detection_version; publish_time; deprecated),
  `action.notable.param._entities` (the risk objects), allow_skew, is_visible, and throttling:
  alert.suppress on the notable's suppression fields (nes_fields) for one dispatch window, so an
  event that several overlapping windows see raises one notable and one set of risk events.
- default/analyticstories.conf: the search is listed in the story's `searches`.

What it cannot decide is left to a person and enforced by tests/content/test_es_metadata.py:
whether a search is TTP- or anomaly-grade (set `action.notable = 0` for anomaly-grade before
running), the risk and threat object typing, and the per-search documentation
(`[savedsearch://<name>]` in analyticstories.conf: explanation, how_to_implement,
known_false_positives, references).
"""
import argparse
import datetime
import json
import re
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORY = "Command and Control (c2hunt)"
# uuid5 namespace of c2hunt detection ids (itself uuid5(NAMESPACE_URL, "c2hunt detections")).
DETECTION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "c2hunt detections")
# Consequence of the behaviour if true: a working C2 channel gives the attacker the host.
IMPACT = 80
# CIS Controls v8, 13: Network Monitoring and Defense. NIST CSF DE.AE (anomalies and events),
# which ESCU gives TTP and Anomaly detections alike.
CIS20 = ["CIS 13"]
NIST = ["DE.AE"]
# ATT&CK technique -> Lockheed Martin kill chain phase, through its tactic (as ESCU maps them:
# Command and Control -> Command and Control, Execution -> Installation).
KILL_CHAIN = {
    "T1071": "Command and Control", "T1090": "Command and Control",
    "T1095": "Command and Control", "T1105": "Command and Control",
    "T1132": "Command and Control", "T1568": "Command and Control",
    "T1571": "Command and Control", "T1572": "Command and Control",
    "T1573": "Command and Control", "T1008": "Command and Control",
    "T1059": "Installation", "T1675": "Installation",
}
RISK_DRILLDOWN_NAME = "Risk events of $%s$ in the last 7 days"
RISK_DRILLDOWN_SEARCH = (
    '| tstats summariesonly=false count sum(All_Risk.calculated_risk_score) AS risk_score '
    'dc(source) AS detections values(source) AS search_name values(All_Risk.risk_message) '
    'AS risk_message min(_time) AS firstTime max(_time) AS lastTime from datamodel=Risk.All_Risk '
    'where All_Risk.normalized_risk_object="$%s$" by All_Risk.normalized_risk_object '
    'All_Risk.risk_object_type')


def severity_for(score):
    """ESCU's risk score -> severity bands."""
    for limit, name in ((20, "informational"), (40, "low"), (60, "medium"), (80, "high")):
        if score <= limit:
            return name
    return "critical"


def seconds(relative):
    """Offset in seconds of a relative time such as -70m@m, -24h@h or @h (snap ignored)."""
    match = re.match(r"^\s*(?:([+-]?\d*)([smhdw]))?", relative.split("@")[0] or "")
    if not relative.split("@")[0]:
        return 0
    count = int(match.group(1)) if match.group(1) not in ("", "-", "+") else -1
    return count * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]


def window_seconds(stanza):
    return seconds(stanza["dispatch.latest_time"]) - seconds(stanza["dispatch.earliest_time"])


def duration(total):
    for unit, size in (("h", 3600), ("m", 60)):
        if total % size == 0:
            return "%d%s" % (total // size, unit)
    return "%ds" % total


def detection_id(name):
    return str(uuid.uuid5(DETECTION_NAMESPACE, name))


def static_score(stanza):
    risk = json.loads(stanza["action.risk.param._risk"])
    return max(int(entry["risk_score"]) for entry in risk if "risk_object_field" in entry)


def kill_chain_phases(techniques):
    phases = []
    for technique in techniques:
        phase = KILL_CHAIN.get(technique.split(".")[0])
        if phase and phase not in phases:
            phases.append(phase)
    return phases


# ------------------------------------------------------------------ conf text handling
class Stanza(object):
    """One stanza: its name, its lines (with continuations) and its keys."""

    def __init__(self, name, lines):
        self.name, self.lines = name, lines

    def entries(self):
        """[(key, first line index, last line index)] in order."""
        out, index = [], 0
        while index < len(self.lines):
            line = self.lines[index]
            start = index
            while self.lines[index].rstrip("\n").endswith("\\") and index + 1 < len(self.lines):
                index += 1
            match = re.match(r"^([^#\s\[][^=]*?)\s*=", line)
            if match:
                out.append((match.group(1).strip(), start, index))
            index += 1
        return out

    def get(self, key, default=None):
        for name, start, end in self.entries():
            if name == key:
                text = "".join(self.lines[start:end + 1])
                return text.split("=", 1)[1].strip()
        return default

    def as_dict(self):
        return {key: self.get(key) for key, _, _ in self.entries()}

    def set(self, key, value):
        """Replace a one-line key in place, or append it after the stanza's last key."""
        for name, start, end in self.entries():
            if name == key:
                assert start == end, "%s: %s spans lines" % (self.name, key)
                self.lines[start] = "%s = %s\n" % (key, value)
                return
        last = max(end for _, _, end in self.entries())
        self.lines.insert(last + 1, "%s = %s\n" % (key, value))


def split_conf(text):
    """(header lines, [Stanza]) of a conf file."""
    header, stanzas = [], []
    for line in text.splitlines(True):
        match = re.match(r"^\[(.+)\]\s*$", line)
        if match:
            stanzas.append(Stanza(match.group(1), [line]))
        elif stanzas:
            stanzas[-1].lines.append(line)
        else:
            header.append(line)
    return header, stanzas


def join_conf(header, stanzas):
    return "".join(header) + "".join("".join(s.lines) for s in stanzas)


# ------------------------------------------------------------------ the rules
def is_correlation(stanza):
    return stanza.get("action.correlationsearch.enabled") in ("1", "true")


def fill_stanza(stanza, today):
    values = stanza.as_dict()
    score = static_score(values)
    notable = values.get("action.notable", "0") in ("1", "true")
    detection_type = values.get("action.correlationsearch.detection_type") or (
        "TTP" if notable else "Anomaly")

    stanza.set("action.notable.param.severity", severity_for(score))
    annotations = json.loads(values["action.correlationsearch.annotations"])
    confidence = min(100, int(round(score * 100.0 / IMPACT)))
    annotations.update({
        "cis20": CIS20, "nist": NIST,
        "kill_chain_phases": kill_chain_phases(annotations.get("mitre_attack", [])),
        "confidence": confidence, "impact": IMPACT, "type": detection_type})
    stanza.set("action.correlationsearch.annotations", json.dumps(annotations))

    risk = json.loads(values["action.risk.param._risk"])
    objects = [entry for entry in risk if "risk_object_field" in entry]
    drilldowns = json.loads(values.get("action.notable.param.drilldown_searches") or "[]")
    if not any("Risk.All_Risk" in d.get("search", "") for d in drilldowns):
        field = objects[0]["risk_object_field"]
        drilldowns.append({"name": RISK_DRILLDOWN_NAME % field,
                           "search": RISK_DRILLDOWN_SEARCH % field,
                           "earliest_offset": "7d", "latest_offset": "$info_max_time$"})
        stanza.set("action.notable.param.drilldown_searches", json.dumps(drilldowns))

    missing = [
        ("action.correlationsearch.detection_type", detection_type),
        ("action.correlationsearch.metadata", json.dumps({
            "deprecated": "0", "detection_id": detection_id(stanza.name),
            "detection_version": "1",
            "publish_time": int(datetime.datetime(today.year, today.month, today.day,
                                                  tzinfo=datetime.timezone.utc).timestamp())},
            sort_keys=True)),
        ("action.notable.param._entities", json.dumps(objects)),
        ("allow_skew", "100%"),
        ("is_visible", "false"),
        ("alert.suppress", "1"),
        ("alert.suppress.fields", values["action.notable.param.nes_fields"]),
        ("alert.suppress.period", duration(window_seconds(values))),
    ]
    for key, value in missing:
        if stanza.get(key) is None:
            stanza.set(key, value)


def fill_story(text, names):
    """Add names missing from the story's searches list of analyticstories.conf."""
    header, stanzas = split_conf(text)
    for stanza in stanzas:
        if stanza.name == "analytic_story://" + STORY:
            listed = json.loads(stanza.get("searches") or "[]")
            listed += [name for name in names if name not in listed]
            stanza.set("searches", json.dumps(listed))
    return join_conf(header, stanzas)


def fill(text, today):
    header, stanzas = split_conf(text)
    names = []
    for stanza in stanzas:
        if is_correlation(stanza):
            fill_stanza(stanza, today)
            names.append(stanza.name)
    return join_conf(header, stanzas), names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report, do not write; exit 1 "
                        "if a key is missing or stale")
    args = parser.parse_args(argv)
    searches = ROOT / "default" / "savedsearches.conf"
    stories = ROOT / "default" / "analyticstories.conf"
    before = searches.read_text()
    after, names = fill(before, datetime.datetime.now(datetime.timezone.utc).date())
    stories_before = stories.read_text()
    stories_after = fill_story(stories_before, names)
    # publish_time of an existing stanza is kept; only a new stanza gets today's date.
    changed = [path.name for path, old, new in ((searches, before, after),
                                                (stories, stories_before, stories_after))
               if old != new]
    if args.check:
        print("up to date" if not changed else "would change: " + ", ".join(changed))
        return 1 if changed else 0
    searches.write_text(after)
    stories.write_text(stories_after)
    print("changed: " + (", ".join(changed) or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
