"""CIM compliance of the app's own sourcetypes and of the CIM-shaped scenario data, checked
against the data-model definitions pytest-splunk-addon 7.0.5 ships
(pytest_splunk_addon/data_models/<Model>.json: per dataset its tag sets, and per field
required / conditional / optional / not_allowed_in_search, expected values and a validity
expression in SPL).

pytest-splunk-addon's own CIM tests need a live Splunk; here its definitions are used offline:
the validity expressions and conditions run in the offline runner's eval, over events read the
way Splunk indexes them. pytest-splunk-addon 7.0.5 requires pytest<8 (and urllib3<2), which
conflicts with requirements-dev.txt's pytest pin, so it lives in its own virtualenv
(requirements-cim.txt, built by test.sh as .venv-cim); the tests find its data models through
C2HUNT_CIM_DATA_MODELS, an importable pytest_splunk_addon, or .venv-cim, and skip without.
"""
import glob
import importlib.util
import json
import os
from pathlib import Path

import pytest
from ksconf.conf.parser import parse_conf

from c2hunt.capture import dns_wire, flows
from c2hunt_offline.engine import Runner
from c2hunt_offline.values import SplError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "default"
SAMPLES = ROOT / "samples"
CIM_SCENARIOS = ("x8_cim_network_c2", "benign_cim_network")


def _data_models_dir():
    candidates = [os.environ.get("C2HUNT_CIM_DATA_MODELS")]
    spec = importlib.util.find_spec("pytest_splunk_addon")  # located, not imported
    if spec is not None and spec.submodule_search_locations:
        candidates += [os.path.join(p, "data_models") for p in spec.submodule_search_locations]
    candidates += glob.glob(str(ROOT / ".venv-cim" / "lib" / "python3*" / "site-packages" /
                                "pytest_splunk_addon" / "data_models"))
    for folder in candidates:
        if folder and os.path.isfile(os.path.join(folder, "Network_Traffic.json")):
            return Path(folder)
    return None


MODELS_DIR = _data_models_dir()
pytestmark = pytest.mark.skipif(
    MODELS_DIR is None, reason="pytest-splunk-addon 7.0.5 data models not found: "
    "python -m venv .venv-cim && .venv-cim/bin/pip install -r requirements-cim.txt")

# Defects of the shipped definitions themselves (pytest-splunk-addon 7.0.5), not of the data:
# the check uses the corrected rule, so a real violation still fails.
DEFINITION_ERRATA = {
    # The validity tests duration (copied from the duration field), so any ICMP session
    # longer than 254 s would fail; an ICMP type is a number 0-255.
    ("All_Traffic", "icmp_type"): "if(isnum(icmp_type) AND icmp_type>=0 AND icmp_type<=255, "
                                  "icmp_type, null())",
}
# Values the shipped expected_values omit: rcode 0 (NOERROR, RFC 1035) is the commonest
# reply_code_id of all, the list starts at 1.
EXTRA_EXPECTED_VALUES = {("DNS", "reply_code_id"): {"0"}}

# Required fields c2hunt's own sourcetypes do not carry, each with why. The test asserts the
# gaps are exactly these, so closing one means deleting its line and a new gap fails.
KNOWN_GAPS = {
    ("c2hunt:dns", "query_count"): "one question per message; c2flow does not count them",
    ("c2hunt:dns", "query_type"): "the opcode name is not recorded (c2flow keeps standard "
                                  "queries only: always Query)",
}


def _model(name):
    with open(MODELS_DIR / (name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def _dataset(model, dataset):
    for obj in _model(model)["objects"]:
        if obj["name"] == dataset:
            return obj
    raise KeyError(dataset)


def _conf(name):
    with open(DEFAULT / name, encoding="utf-8") as handle:
        return parse_conf(handle)


def _props_fields(sourcetype):
    """Fields props.conf adds at search time: EVAL-<field> and FIELDALIAS ... AS <field>."""
    stanza = _conf("props.conf")[sourcetype]
    out = set()
    for key, value in stanza.items():
        if key.startswith("EVAL-"):
            out.add(key[len("EVAL-"):])
        elif key.startswith("FIELDALIAS-"):
            words = value.replace('"', "").split()
            out.update(words[i + 1] for i, w in enumerate(words) if w.upper() == "AS")
    return out


def _tags_of(sourcetype):
    eventtypes = _conf("eventtypes.conf")
    tags = _conf("tags.conf")
    out = set()
    for name, stanza in eventtypes.items():
        if stanza.get("search", "").strip() == 'sourcetype="%s"' % sourcetype:
            out |= {t for t, state in tags.get("eventtype=" + name, {}).items()
                    if state == "enabled"}
    return out


SOURCETYPES = {
    # sourcetype -> (model, dataset, fields its records carry)
    "c2hunt:flow": ("Network_Traffic", "All_Traffic", set(flows.FIELDS)),
    "c2hunt:dns": ("Network_Resolution", "DNS", set(dns_wire.FIELDS)),
}


@pytest.mark.parametrize("sourcetype", sorted(SOURCETYPES))
def test_eventtype_tags_select_the_data_model(sourcetype):
    model, dataset, _ = SOURCETYPES[sourcetype]
    tag_sets = [set(t) for t in _dataset(model, dataset)["tags"]]
    assert any(tags <= _tags_of(sourcetype) for tags in tag_sets), (sourcetype, tag_sets)


@pytest.mark.parametrize("sourcetype", sorted(SOURCETYPES))
def test_required_fields_are_produced(sourcetype):
    model, dataset, fields = SOURCETYPES[sourcetype]
    produced = fields | _props_fields(sourcetype)
    definition = _dataset(model, dataset)
    missing = {f["name"] for f in definition["fields"] if f["type"] == "required"} - produced
    assert missing == {f for st, f in KNOWN_GAPS if st == sourcetype}
    not_allowed = {f["name"] for f in definition["fields"] if f["type"] == "not_allowed_in_search"}
    assert not (produced & not_allowed)


def test_dns_reply_codes_use_the_cim_names():
    """reply_code is the CIM's name of the rcode ("Non-Existent Domain"), not dns.log's
    (NXDOMAIN); props.conf maps one to the other for every rcode c2flow names."""
    expected = set(next(f for f in _dataset("Network_Resolution", "DNS")["fields"]
                        if f["name"] == "reply_code")["expected_values"])
    mapping = _props_reply_codes()
    assert mapping == dns_wire.CIM_REPLY_CODES
    assert set(dns_wire.RCODE_NAMES.values()) <= set(mapping)
    assert set(mapping.values()) <= expected


def test_dns_message_types_use_the_cim_names():
    expected = set(next(f for f in _dataset("Network_Resolution", "DNS")["fields"]
                        if f["name"] == "message_type")["expected_values"])
    value = _conf("props.conf")["c2hunt:dns"]["EVAL-message_type"]
    assert value == 'if(message_type=="query", "Query", "Response")'
    assert {"Query", "Response"} <= expected


def _props_reply_codes():
    import re
    value = _conf("props.conf")["c2hunt:dns"]["EVAL-reply_code"]
    return dict(re.findall(r'rcode_name=="([^"]+)", "([^"]+)"', value))


def _check(events, model, dataset_name, exempt=()):
    """Violations of one dataset's field rules over ``events`` (already its members):
    [(field, rule, sample)]; the validity and condition expressions run in the offline eval."""
    runner = Runner(str(ROOT))
    dataset = _dataset(model, dataset_name)
    problems = []
    for field in dataset["fields"]:
        name, kind = field["name"], field["type"]
        if (dataset_name, name) in exempt or kind == "optional" and not any(name in e for e in events):
            continue
        if kind == "not_allowed_in_search":
            problems += [(name, "not allowed", e[name]) for e in events[:1] if name in e]
            continue
        applies = events
        if kind == "conditional":
            condition = field.get("condition", "").strip()
            spl = ("search * " + condition) if condition.startswith("|") else \
                ("search " + condition)
            try:
                marked = [dict(e, _c2hunt_index=i) for i, e in enumerate(events)]
                rows = runner.run(spl, marked).rows
            except SplError:  # PCRE recursion ((?1)) has no Python equivalent: not judged
                continue
            applies = [events[int(r["_c2hunt_index"])] for r in rows]
        if not applies:
            continue
        absent = [e for e in applies if e.get(name) in (None, "", [])]
        if kind == "required" or (kind == "conditional" and not field.get("validity")):
            problems += [(name, "missing", e.get("sourcetype")) for e in absent[:1]]
        present = [e for e in applies if e not in absent]
        expected = set(field.get("expected_values") or ()) | EXTRA_EXPECTED_VALUES.get(
            (dataset_name, name), set())
        if expected and field.get("expected_values"):
            for e in present:
                values = e[name] if isinstance(e[name], list) else [e[name]]
                bad = [v for v in values if str(v) not in expected]
                if bad:
                    problems.append((name, "value outside the model's list", bad[0]))
                    break
        validity = DEFINITION_ERRATA.get((dataset_name, name), field.get("validity"))
        if validity and present:
            rows = runner.run("search * | eval _c2hunt_valid=%s | where isnull(_c2hunt_valid)"
                              % validity, present).rows
            problems += [(name, "fails validity " + validity, r.get(name)) for r in rows[:1]]
    return problems


def _members(events, model, dataset_name):
    tag_sets = [set(t) for t in _dataset(model, dataset_name)["tags"]]
    out = []
    for e in events:
        tags = e.get("tag") or []
        tags = set(tags if isinstance(tags, list) else [tags])
        if any(t <= tags for t in tag_sets):
            out.append(e)
    return out


@pytest.fixture(scope="module")
def cim_events():
    events, issues = Runner(str(ROOT)).read_files([str(SAMPLES / s) for s in CIM_SCENARIOS])
    assert not issues and events
    return events


@pytest.mark.parametrize("model, dataset", [("Network_Traffic", "All_Traffic"),
                                            ("Network_Resolution", "DNS"), ("Web", "Web")])
def test_cim_shaped_scenario_data_complies(cim_events, model, dataset):
    """The firewall, proxy and DNS-server events of the CIM scenarios are what a compliant
    TA produces: each lands in its data model and passes every field rule there."""
    members = _members(cim_events, model, dataset)
    assert len(members) > 20
    assert _check(members, model, dataset) == []


def test_c2hunt_flow_events_comply():
    """c2hunt:flow events as the offline runner reads a capture (the c2flow input's code
    plus the props.conf fields) pass the Network_Traffic rules."""
    events, issues = Runner(str(ROOT)).read_files([str(SAMPLES / "s4_ptunnel_ng_icmp_tunnel"
                                                       / "egress.pcap")])
    assert not issues
    flows_read = [dict(e, dvc=e.get("host")) for e in events if e["sourcetype"] == "c2hunt:flow"]
    members = _members(flows_read, "Network_Traffic", "All_Traffic")
    assert members and len(members) == len(flows_read)
    assert _check(members, "Network_Traffic", "All_Traffic") == []


def test_the_checker_finds_violations(cim_events):
    """A broken event fails: a missing required field, a value outside the model's list, a
    byte count that is not a number."""
    event = dict(_members(cim_events, "Network_Traffic", "All_Traffic")[0])
    event.pop("dvc")
    event.update(action="permitted", bytes_out="lots")
    rules = {(field, rule.split(" ")[0]) for field, rule, _ in
             _check([event], "Network_Traffic", "All_Traffic")}
    assert {("dvc", "missing"), ("action", "value"), ("bytes_out", "fails")} <= rules
