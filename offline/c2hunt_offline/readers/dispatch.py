"""Which reader a file needs: by its first bytes, its first line, or the sourcetype given."""
import json

from . import capture
from .auditd import AUDIT_HEAD, AUDIT_SOURCETYPE, read_auditd
from .common import ReadIssue, UnknownFormat
from .evtx_damage import read_evtx_checked
from .esxi import ESXI_SOURCETYPE_PREFIX, esxi_match, read_esxi_syslog
from .generic import generic_event, read_csv
from .osquery import OSQUERY_SOURCETYPE, is_osquery_result, osquery_event
from .windows import is_windows_json, normalise_windows, read_evtx, read_winxml, windows_from_json
from .zeek import (ZEEK_SOURCETYPES, read_zeek_tsv, zeek_event, zeek_kind_from_keys,
                   zeek_kind_from_name)


def read_json_lines(path, lines, sourcetype=None):
    """JSON lines: Windows events, Zeek JSON, c2flow records, or anything with --sourcetype."""
    events, issues = [], []
    zeek_kind = zeek_kind_from_name(path)
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("a JSON line must hold an object")
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than Python's stack
            issues.append(ReadIssue(path, n, "invalid JSON: %s" % exc))
            continue
        try:
            if sourcetype is None and is_windows_json(obj):
                system, data = windows_from_json(obj)
                events.append(normalise_windows(system, data, text, str(path)))
                continue
            if (sourcetype is None or sourcetype == OSQUERY_SOURCETYPE) and is_osquery_result(obj):
                events.append(osquery_event(obj, text, path))
                continue
            if sourcetype is None and obj.get("sourcetype") in capture.SOURCETYPES:
                events.append(capture.capture_event(obj, text, path, obj["sourcetype"]))
                continue
            kind = None
            if sourcetype is None:
                kind = zeek_kind or (zeek_kind_from_keys(obj) if "ts" in obj else None)
            elif sourcetype in ZEEK_SOURCETYPES.values():
                kind = [k for k, v in ZEEK_SOURCETYPES.items() if v == sourcetype][0]
            if kind is not None:
                events.append(zeek_event(kind, obj, text, path))
                continue
            if sourcetype is None:
                issues.append(ReadIssue(path, n, "JSON record of unknown type; give --sourcetype"))
                return events, issues
            events.append(generic_event(obj, text, path, sourcetype))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "bad record: %s" % exc))
    return events, issues


def detect_and_read(path, sourcetype=None, app_root=None):
    """Read one file; returns (events, issues). Raises UnknownFormat if nothing matches."""
    path = str(path)
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"ElfFile\x00"):
        return read_evtx_checked(path, read_evtx)
    if head[:4] in capture.PCAP_MAGICS or path.lower().endswith((".pcap", ".pcapng")):
        return capture.read_pcap(path, app_root)
    with open(path, "rb") as handle:
        data = handle.read()
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    stripped = text.lstrip()
    low = path.lower()
    if sourcetype:
        if sourcetype == AUDIT_SOURCETYPE:
            return read_auditd(path, lines)
        if sourcetype.startswith(ESXI_SOURCETYPE_PREFIX):
            return read_esxi_syslog(path, lines)
        if low.endswith(".csv"):
            return read_csv(path, text, sourcetype)
        if stripped.startswith("#separator"):
            return read_zeek_tsv(path, lines)
        return read_json_lines(path, lines, sourcetype)
    if stripped.startswith("#separator") or stripped.startswith("#fields"):
        return read_zeek_tsv(path, lines)
    if stripped.startswith("<Event") or stripped.startswith("<?xml") or stripped.startswith("<Events"):
        return read_winxml(path, text)
    first = next((l for l in lines if l.strip()), "")
    if AUDIT_HEAD.match(first.strip()):
        return read_auditd(path, lines)
    if esxi_match(first):
        return read_esxi_syslog(path, lines)
    if first.lstrip().startswith("{"):
        return read_json_lines(path, lines, None)
    raise UnknownFormat("%s:1: unknown log format (not EVTX, Windows XML/JSON, auditd, Zeek, "
                        "ESXi syslog, osquery results, pcap); for CSV or JSON lines give "
                        "--sourcetype" % path)
