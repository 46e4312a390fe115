"""Sysmon for Linux delivered through syslog: one ``<Event>`` XML record after a syslog header.

``Nov 24 08:30:01 web01 sysmon: <Event><System><Provider Name="Linux-Sysmon" .../>...``
(RFC 3164, with or without ``<PRI>``), RFC 5424 or ISO-timestamped lines as rsyslog and
journald exports write them. The record is read like a Windows XML event (same field names and
CIM aliases as Sysmon on Windows), labelled as the Splunk Add-on for Sysmon for Linux does
(``sourcetype=sysmon:linux``, ``source=Syslog:Linux-Sysmon/Operational``); ``_time`` is the
record's ``SystemTime`` (UTC), not the syslog header's local time.
"""
import re

from .common import ReadIssue
from .windows import SYSMON_LINUX_SOURCETYPE, normalise_windows, windows_event_from_xml

_EVENT_START = re.compile(r"<Event[\s>]")


def is_sysmon_syslog(lines):
    """Some line holds a Sysmon for Linux ``<Event>`` record after a syslog header."""
    for line in lines:
        match = _EVENT_START.search(line)
        if match and match.start() > 0 and "Linux-Sysmon" in line:
            return True
    return False


def read_sysmon_syslog(path, lines):
    """Events of every Sysmon record in a syslog file; other syslog lines are skipped.

    A record that does not parse is reported by line; the lines without a record (other
    programs in a shared syslog) are counted in one warning.
    """
    events, issues = [], []
    other = 0
    for n, line in enumerate(lines, 1):
        match = _EVENT_START.search(line)
        if match is None:
            if line.strip():
                other += 1
            continue
        xml_text = line[match.start():].rstrip()
        end = xml_text.rfind("</Event>")
        if end < 0:
            issues.append(ReadIssue(path, n, "Sysmon syslog record without </Event>"))
            continue
        xml_text = xml_text[:end + len("</Event>")]
        try:
            system, data = windows_event_from_xml(xml_text)
            event = normalise_windows(system, data, line.rstrip("\r\n"), str(path))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "unreadable Sysmon syslog record: %s" % exc))
            continue
        events.append(event)
    if other:
        issues.append(ReadIssue(path, None, "%d syslog lines without a Sysmon record skipped"
                                % other, level="warning"))
    return events, issues


__all__ = ["SYSMON_LINUX_SOURCETYPE", "is_sysmon_syslog", "read_sysmon_syslog"]
