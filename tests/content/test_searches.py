"""Detection content: every name a search uses resolves, every correlation search carries
the ES notable and RBA settings, annotations, a drilldown and its own filter macro."""
import csv
import json
import re
from pathlib import Path

import pytest
from ksconf.conf.parser import parse_conf

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "default"
LOOKUPS = ROOT / "lookups"

ANALYTIC_IDS = {"AN1225", "AN1226", "AN1227", "AN1228", "AN1254", "AN1255", "AN1256",
                "AN1257", "AN1258"}
# Built-in SPL commands the app's searches may use (the offline runner supports these).
SPL_COMMANDS = {"search", "where", "eval", "stats", "eventstats", "bin", "bucket", "table",
                "fields", "rename", "sort", "head", "tail", "dedup", "fillnull", "rex", "lookup",
                "inputlookup", "outputlookup", "tstats", "makeresults", "mvexpand"}
# The analytics' mutable elements that are thresholds: each is a macro.
THRESHOLD_MACROS = {
    "ByteTransferAnomalyThreshold": "c2hunt_byte_transfer_anomaly_threshold",
    "ProtocolEntropyThreshold": "c2hunt_protocol_entropy_threshold",
    "SessionDurationThreshold": "c2hunt_session_duration_threshold",
    "BeaconTimingThreshold": "c2hunt_beacon_timing_threshold",
    "TimeWindow": "c2hunt_time_window",
    "DataVolumeThreshold": "c2hunt_data_volume_threshold",
}
SEED_DEFAULTS = {"c2hunt_byte_transfer_anomaly_threshold": "0.9",
                 "c2hunt_session_duration_threshold": "300", "c2hunt_time_window": "120"}
# The analytics' lists: each is a lookup.
LIST_LOOKUPS = ("c2hunt_socks_ports", "c2hunt_udp_port_allowlist", "c2hunt_socks_process_allowlist",
                "c2hunt_udp_process_allowlist", "c2hunt_icmp_process_allowlist",
                "c2hunt_raw_socket_allowlist", "c2hunt_protocol_usage_baseline",
                "c2hunt_unusual_processes", "c2hunt_known_service_ports",
                "c2hunt_internal_networks", "c2hunt_doh_resolvers",
                # raw TCP (AN1254), ESXi (AN1257), osquery (AN1256)
                "c2hunt_scripting_processes", "c2hunt_tcp_service_ports",
                "c2hunt_raw_tcp_dest_allowlist", "c2hunt_esxi_guest_operations",
                "c2hunt_esxi_guest_ops_allowlist", "c2hunt_esxi_exec_paths",
                "c2hunt_esxi_interpreters", "c2hunt_vmtools_processes",
                "c2hunt_vmtools_child_allowlist", "c2hunt_raw_ip_protocols",
                # socket inventory (AN1255 over c2hunt:socket)
                "c2hunt_packet_socket_allowlist")


def _conf(name):
    return {stanza: dict(values) for stanza, values in parse_conf(str(DEFAULT / name)).items()
            if isinstance(stanza, str) and stanza != "default"}


SAVED = _conf("savedsearches.conf")
MACROS = _conf("macros.conf")
TRANSFORMS = _conf("transforms.conf")
COMMANDS_CONF = _conf("commands.conf")
SEARCHES = {name: stanza for name, stanza in SAVED.items() if name != "default"}
CORRELATION = {name: s for name, s in SEARCHES.items()
               if s.get("action.correlationsearch.enabled") == "1"}
BASELINES = {name: s for name, s in SEARCHES.items() if name not in CORRELATION}


def _macro_index():
    """macro name -> {arg count: stanza} (``name(2)`` stanzas take two arguments)."""
    index = {}
    for stanza, values in MACROS.items():
        match = re.fullmatch(r"([\w-]+)(?:\((\d+)\))?", stanza)
        assert match, "odd macro stanza name %r" % stanza
        index.setdefault(match.group(1), {})[int(match.group(2) or 0)] = values
    return index


MACRO_INDEX = _macro_index()
_MACRO_CALL = re.compile(r"`([\w-]+)(?:\(([^`]*)\))?`")


def _expand(text, seen=()):
    """The text with every macro expanded; fails on an unknown macro or a cycle."""
    def replace(match):
        name, args = match.group(1), match.group(2)
        arity = 0 if args is None or not args.strip() else len(args.split(","))
        assert name in MACRO_INDEX, "unknown macro `%s`" % name
        assert arity in MACRO_INDEX[name], "macro `%s` has no %d-argument form" % (name, arity)
        assert name not in seen, "macro cycle through `%s`" % name
        stanza = MACRO_INDEX[name][arity]
        definition = stanza["definition"]
        if arity:
            names = [n.strip() for n in stanza["args"].split(",")]
            for arg_name, value in zip(names, args.split(",")):
                definition = definition.replace("$%s$" % arg_name, value.strip())
        return _expand(definition, seen + (name,))
    return _MACRO_CALL.sub(replace, text)


def _pipeline(search):
    """Top-level pipeline segments (pipes inside quotes or brackets do not split)."""
    segments, depth, quote, escaped, current = [], 0, False, False, []
    for char in search:
        if quote and escaped:
            escaped = False
        elif quote and char == "\\":
            escaped = True
        elif char == '"':
            quote = not quote
        elif not quote and char in "([":
            depth += 1
        elif not quote and char in ")]":
            depth -= 1
        if char == "|" and not quote and depth == 0:
            segments.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    segments.append("".join(current).strip())
    return segments


def _csv_header(filename):
    with open(LOOKUPS / filename, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def _lookup_uses(search):
    """(lookup name, fields read, fields written) for each lookup command of a search."""
    uses = []
    for segment in _pipeline(_expand(search))[1:]:
        words = segment.split()
        if not words or words[0] not in ("lookup", "inputlookup", "outputlookup"):
            continue
        args = [w for w in words[1:] if "=" not in w]
        name = args[0]
        read, written = [], []
        if words[0] == "lookup":
            target = read
            tokens = args[1:]
            i = 0
            while i < len(tokens):
                token = tokens[i]
                if token in ("OUTPUT", "OUTPUTNEW"):
                    target = written
                elif token == "AS":
                    i += 1  # the event-side name follows AS
                else:
                    target.append(token)
                i += 1
        uses.append((words[0], name, read, written))
    return uses


def test_every_conf_file_parses():
    for name in ("savedsearches.conf", "macros.conf", "transforms.conf"):
        assert parse_conf(str(DEFAULT / name))


def test_first_wave_searches_present():
    analytics = sorted(a for s in CORRELATION.values()
                       for a in json.loads(s["action.correlationsearch.annotations"])["c2hunt_analytic"])
    assert len(CORRELATION) == 28
    assert set(analytics) == {"AN1225", "AN1226", "AN1227", "AN1228", "AN1254", "AN1255", "AN1256",
                              "AN1257", "AN1258"}
    assert sorted(BASELINES) == ["C2Hunt - Program Destination Port Baseline - Lookup Gen",
                                 "C2Hunt - Protocol Usage Baseline - Lookup Gen"]


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_every_macro_exists(name):
    expanded = _expand(SEARCHES[name]["search"])
    assert "`" not in expanded


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_every_command_exists(name):
    custom = set(COMMANDS_CONF) - {"default"}
    for segment in _pipeline(_expand(SEARCHES[name]["search"]))[1:]:
        command = segment.split()[0]
        assert command in SPL_COMMANDS or command in custom, \
            "%s: unknown command %r" % (name, command)
        if command in custom:
            assert (ROOT / "bin" / COMMANDS_CONF[command]["filename"]).is_file()


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_every_lookup_and_its_fields_exist(name):
    for command, lookup, read, written in _lookup_uses(SEARCHES[name]["search"]):
        assert lookup in TRANSFORMS, "%s: no transforms.conf stanza for %s" % (name, lookup)
        if "collection" in TRANSFORMS[lookup]:  # KV store: the fields are its fields_list
            filename = TRANSFORMS[lookup]["collection"]
            header = [f.strip() for f in TRANSFORMS[lookup]["fields_list"].split(",")]
        else:
            filename = TRANSFORMS[lookup]["filename"]
            header = _csv_header(filename)
        for field in read + written:
            assert field in header, "%s: %s has no column %r" % (name, filename, field)


def test_site_allowlist_is_a_kv_store_collection_every_correlation_search_reads():
    """Site entries must survive app upgrades (which replace lookups/*.csv): KV store."""
    stanza = TRANSFORMS["c2hunt_site_allowlist"]
    assert stanza["external_type"] == "kvstore" and "filename" not in stanza
    collections = _conf("collections.conf")
    fields = [f.strip() for f in stanza["fields_list"].split(",")]
    assert fields[0] == "_key" and "reason" in fields
    assert {"field." + f for f in fields[1:]} <= set(collections[stanza["collection"]])
    for match in re.findall(r"WILDCARD\(([^)]+)\)", stanza["match_type"]):
        assert match in fields
    for name, s in CORRELATION.items():
        tail = s["search"].strip().splitlines()[-2:]
        assert tail[0].strip() == "| `c2hunt_site_allowlist` \\" or tail[0].strip() == "| `c2hunt_site_allowlist`", \
            "%s: the site allowlist must be applied just before the filter macro" % name


def test_lookups_follow_conventions():
    stanzas = {n: s for n, s in TRANSFORMS.items() if n != "default" and "collection" not in s}
    files = sorted(p.name for p in LOOKUPS.glob("*.csv"))
    assert sorted(s["filename"] for s in stanzas.values()) == files
    for name, stanza in stanzas.items():
        assert re.fullmatch(r"c2hunt_[a-z0-9_]+", name)
        assert stanza["filename"] == name + ".csv"
        header = _csv_header(stanza["filename"])
        for match in re.findall(r"(?:WILDCARD|CIDR)\(([^)]+)\)", stanza.get("match_type", "")):
            assert match in header, "%s: match_type names a missing column %s" % (name, match)
        with open(LOOKUPS / stanza["filename"], newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert all(len(row) == len(header) for row in rows), name
    for name in LIST_LOOKUPS:
        assert name in stanzas


def test_thresholds_are_macros_with_seed_defaults():
    for macro in THRESHOLD_MACROS.values():
        assert macro in MACRO_INDEX
        float(MACRO_INDEX[macro][0]["definition"])
    for macro, value in SEED_DEFAULTS.items():
        assert MACRO_INDEX[macro][0]["definition"] == value


def test_data_source_macros_hold_index_and_sourcetype():
    for macro in ("c2hunt_sysmon", "c2hunt_wineventlog_wfp", "c2hunt_auditd", "c2hunt_zeek_conn",
                  "c2hunt_zeek_dns", "c2hunt_flow", "c2hunt_esxi_hostd", "c2hunt_esxi_vpxa",
                  "c2hunt_esxi_shell", "c2hunt_osquery_results", "c2hunt_zeek_ssl", "c2hunt_zeek_x509",
                  "c2hunt_zeek_open_conn", "c2hunt_socket_inventory"):
        definition = MACRO_INDEX[macro][0]["definition"]
        assert "index=" in definition and ("sourcetype=" in definition)
    for name, search in SEARCHES.items():
        assert "sourcetype" not in search["search"], "%s hard-codes a sourcetype" % name
        assert "index=" not in search["search"], "%s hard-codes an index" % name


def _filter_macro(name):
    core = name[len("C2Hunt - "):-len(" - Rule")]
    return "c2hunt_" + re.sub(r"[^a-z0-9]+", "_", core.lower()).strip("_") + "_filter"


@pytest.mark.parametrize("name", sorted(CORRELATION))
def test_correlation_search_settings(name):
    s = CORRELATION[name]
    assert re.fullmatch(r"C2Hunt - .+ - Rule", name)
    assert s["disabled"] == "1" and s["enableSched"] == "1" and s["cron_schedule"]
    assert s["dispatch.earliest_time"] and s["dispatch.latest_time"]
    assert s["action.correlationsearch.label"] == name
    annotations = json.loads(s["action.correlationsearch.annotations"])
    assert annotations["mitre_attack"] and all(
        re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in annotations["mitre_attack"])
    assert {"T1095", "T1071"} & {t.split(".")[0] for t in annotations["mitre_attack"]}
    assert annotations["c2hunt_analytic"] and set(annotations["c2hunt_analytic"]) <= ANALYTIC_IDS
    for analytic in annotations["c2hunt_analytic"]:
        assert analytic in s["description"]
    # TTP-grade searches raise a notable and risk, anomaly-grade ones risk only (ESCU's split);
    # the notable settings stay filled so a site can promote an anomaly search.
    grade = s["action.correlationsearch.detection_type"]
    assert s["action.notable"] == {"TTP": "1", "Anomaly": "0"}[grade]
    for key in ("rule_title", "rule_description", "security_domain", "severity", "nes_fields",
                "drilldown_name", "drilldown_search"):
        assert s["action.notable.param." + key].strip(), key
    assert s["action.notable.param.severity"] in ("informational", "low", "medium", "high",
                                                  "critical")
    drilldowns = json.loads(s["action.notable.param.drilldown_searches"])
    assert drilldowns[0]["search"] == s["action.notable.param.drilldown_search"]
    _expand(s["action.notable.param.drilldown_search"])  # its macros exist too
    assert s["action.risk"] == "1"
    risk = json.loads(s["action.risk.param._risk"])
    objects = [r for r in risk if "risk_object_field" in r]
    threats = [r for r in risk if "threat_object_field" in r]
    assert objects and threats
    for entry in objects:
        assert entry["risk_object_type"] in ("system", "user", "other")
        assert 0 < int(entry["risk_score"]) <= 100
    assert s["action.risk.param._risk_message"].strip()
    search = s["search"].strip()
    assert search.endswith("`%s`" % _filter_macro(name)), "must end with its own filter macro"
    assert MACRO_INDEX[_filter_macro(name)][0]["definition"] == "search *"
    output = _pipeline(_expand(search))
    table = [seg for seg in output if seg.startswith("table ")]
    assert table, "%s: no table of output fields" % name
    columns = table[-1].split()[1:]
    for field in ("_time", "detection_signal", "risk_score"):
        assert field in columns
    # Fields the notable settings name must be in the output.
    for entry in objects + threats:
        field = entry.get("risk_object_field") or entry.get("threat_object_field")
        assert field in columns, "%s: risk/threat field %s is not output" % (name, field)
    for field in s["action.notable.param.nes_fields"].split(","):
        assert field in columns, "%s: nes_field %s is not output" % (name, field)


def test_reference_search_output_fields():
    s = CORRELATION["C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule"]
    table = [seg for seg in _pipeline(_expand(s["search"])) if seg.startswith("table ")][-1]
    assert table.split()[1:16] == [
        "_time", "host", "User", "Image", "CommandLine", "ParentImage", "ParentCommandLine",
        "DestinationIp", "dest_port", "protocol", "SourceIp", "SourcePort", "detection_signal",
        "risk_score", "signals"]


def test_no_port_or_process_literals_in_t1095_searches():
    """Port and process lists live in lookups, not in SPL."""
    for name in ("C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule",
                 "C2Hunt - Non-Application Protocol From Unexpected Process - WFP - Rule"):
        text = _expand(SEARCHES[name]["search"])
        for literal in ("9050", "1080", "powershell", "ping.exe", "chrome", "4444"):
            assert literal not in text


def test_new_t1095_channel_searches_keep_lists_out_of_spl():
    """Raw TCP, ESXi and osquery: process, port, path and account lists live in lookups;
    OperationThreshold is a macro."""
    for name in ("C2Hunt - ESXi Guest Operations Or Unusual Host Process - Rule",
                 "C2Hunt - Guest Operation Shell From VMware Tools - Rule",
                 "C2Hunt - Raw Socket Or SOCKS From Unexpected Program - osquery - Rule",
                 "C2Hunt - Raw, ICMP Or Packet Socket Held By Unexpected Linux Program - "
                 "Socket Inventory - Rule"):
        text = _expand(SEARCHES[name]["search"])
        for literal in ("svc-", "/tmp", "vmtoolsd", "powershell", "9050", "ping", "veeam"):
            assert literal not in text, (name, literal)
    assert "c2hunt_esxi_guest_op_threshold" in SEARCHES[
        "C2Hunt - ESXi Guest Operations Or Unusual Host Process - Rule"]["search"]
    for name in ("C2Hunt - Non-Application Protocol From Unexpected Process - Sysmon - Rule",
                 "C2Hunt - Non-Application Protocol From Unexpected Process - WFP - Rule"):
        text = _expand(SEARCHES[name]["search"])
        for literal in ("5985", "127.0.0", "rundll32", "python"):
            assert literal not in text, literal


def test_baseline_search():
    s = BASELINES["C2Hunt - Protocol Usage Baseline - Lookup Gen"]
    assert s["disabled"] == "1" and s["enableSched"] == "1" and s["cron_schedule"]
    assert _pipeline(_expand(s["search"]))[-1] == "outputlookup c2hunt_protocol_usage_baseline"
    assert "c2hunt_protocol_usage_baseline" in TRANSFORMS
    s = BASELINES["C2Hunt - Program Destination Port Baseline - Lookup Gen"]
    assert s["disabled"] == "1" and s["enableSched"] == "1" and s["cron_schedule"]
    assert _pipeline(_expand(s["search"]))[-1] == "outputlookup c2hunt_program_port_baseline"
    assert "c2hunt_program_port_baseline" in TRANSFORMS
