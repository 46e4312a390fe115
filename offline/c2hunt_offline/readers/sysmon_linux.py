"""Sysmon for Linux delivered through syslog: one ``<Event>`` XML record after a syslog header.

``Nov 24 08:30:01 web01 sysmon: <Event><System><Provider Name="Linux-Sysmon" .../>...``
(RFC 3164, with or without ``<PRI>``), RFC 5424 or ISO-timestamped lines as rsyslog and
journald exports write them; also JSON log records (``journalctl -o json`` ``MESSAGE``,
rsyslog/Fluent ``message``) that carry one. The record is read like a Windows XML event (same field names and
CIM aliases as Sysmon on Windows), labelled as the Splunk Add-on for Sysmon for Linux does
(``sourcetype=sysmon:linux``, ``source=Syslog:Linux-Sysmon/Operational``); ``_time`` is the
record's ``SystemTime`` (UTC), not the syslog header's local time. Windows events forwarded
as XML through syslog read the same way and keep their Windows labels (by Channel).
"""
import re

from .common import ReadIssue
from .windows import SYSMON_LINUX_SOURCETYPE, normalise_windows, windows_event_from_xml

_EVENT_START = re.compile(r"<Event[\s>]")


_EVENT_MARKERS = ("Linux-Sysmon", "schemas.microsoft.com/win/2004/08/events/event")


def is_sysmon_syslog(lines):
    """Some line holds a Sysmon for Linux ``<Event>`` record (or a Windows event forwarded as
    XML through syslog) after a syslog header."""
    for line in lines:
        match = _EVENT_START.search(line)
        if match and match.start() > 0 and any(m in line for m in _EVENT_MARKERS):
            return True
    return False


def sysmon_record_event(text, raw, path):
    """The event of the Sysmon record in ``text`` (a syslog line or a journald MESSAGE), or
    None when it holds none. ``raw`` is kept as ``_raw``. Raises ValueError for a broken one."""
    match = _EVENT_START.search(text)
    if match is None:
        return None
    xml_text = text[match.start():].rstrip()
    end = xml_text.rfind("</Event>")
    if end < 0:
        raise ValueError("Sysmon record without </Event>")
    system, data = windows_event_from_xml(xml_text[:end + len("</Event>")])
    return normalise_windows(system, data, raw, str(path))


def is_sysmon_message(obj):
    """A JSON log record (journald ``MESSAGE``, rsyslog/Fluent ``message``/``msg``) carrying a
    Sysmon for Linux record."""
    return _message(obj) is not None


def _message(obj):
    for key in ("MESSAGE", "message", "msg"):
        value = obj.get(key)
        if isinstance(value, str) and "Linux-Sysmon" in value and _EVENT_START.search(value):
            return value
    return None


def sysmon_message_event(obj, raw, path):
    """The Sysmon for Linux event of a JSON log record (see :func:`is_sysmon_message`)."""
    return sysmon_record_event(_message(obj), raw, path)


def read_sysmon_syslog(path, lines):
    """Events of every Sysmon record in a syslog file; other syslog lines are skipped.

    A record that does not parse is reported by line; the lines without a record (other
    programs in a shared syslog) are counted in one warning.
    """
    events, issues = [], []
    other = 0
    for n, line in enumerate(lines, 1):
        try:
            event = sysmon_record_event(line, line.rstrip("\r\n"), path)
        except Exception as exc:
            issues.append(ReadIssue(path, n, "unreadable Sysmon syslog record: %s" % exc))
            continue
        if event is None:
            if line.strip():
                other += 1
            continue
        events.append(event)
    if other:
        issues.append(ReadIssue(path, None, "%d syslog lines without a Sysmon record skipped"
                                % other, level="warning"))
    return events, issues


__all__ = ["SYSMON_LINUX_SOURCETYPE", "is_sysmon_message", "is_sysmon_syslog",
           "read_sysmon_syslog", "sysmon_message_event", "sysmon_record_event"]
