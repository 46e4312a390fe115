"""Windows events in the Splunk Add-on for Microsoft Windows' classic (non-XML) rendering.

Each event is a date line, ``key=value`` header lines, then ``Message=`` and the rendered
message::

    05/14/2024 09:01:00 AM
    LogName=Security
    EventCode=5156
    ComputerName=WS02.corp
    RecordNumber=9
    Message=The Windows Filtering Platform has permitted a connection.

    Application Information:
        Process ID:        1234
        Application Name:  \\device\\harddiskvolume2\\tools\\x.exe
    ...

The message's ``Name: value`` lines become fields as the TA extracts them (spaces in the name
become ``_``: ``Source_Address``, ``Application_Name``; Sysmon's ``Image``, ``DestinationIp``
keep theirs; a name seen twice is multivalue). Labels are the TA 5.0+ classic ones:
``sourcetype=WinEventLog``, ``source=WinEventLog:<LogName>``. The date line carries no time
zone and is read as UTC.

``wevtutil qe <log> /f:text`` exports (``Event[0]:``, indented ``Log Name:`` ... headers,
``Description:`` then the same rendered message) are read into the same fields, and so are
Event Viewer's "Save as CSV" exports (Level, Date and Time, Source, Event ID, Task Category,
then the message in a sixth, unnamed column).
"""
import csv
import datetime as _dt
import io
import re

from .common import ReadIssue
from .windows import normalise_windows

_DATE_LINE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M\s*$")
_HEADER = re.compile(r"^(?P<key>[A-Za-z][A-Za-z_]*)=(?P<value>.*)$")
_MESSAGE_FIELD = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9 ._()/-]{0,60}?):\s*(?P<value>.*)$")
# Header keys that name the System part of the event.
_SYSTEM_KEYS = {"EventCode": "EventID", "LogName": "Channel", "ComputerName": "Computer",
                "RecordNumber": "EventRecordID"}


def is_classic_windows(lines):
    """The first non-empty line is a classic event's date line and a LogName= line follows."""
    texts = [line.strip() for line in lines[:20] if line.strip()]
    return bool(texts) and bool(_DATE_LINE.match(texts[0])) and \
        any(t.startswith("LogName=") for t in texts[1:8])


def read_windows_classic(path, lines):
    """Events of a classic-rendered Windows log; an event without LogName/EventCode is
    reported by the line it starts on."""
    return _read_blocks(path, lines, _DATE_LINE, _parse_block, "no LogName= or EventCode= line",
                        "unreadable classic Windows event")


def _read_blocks(path, lines, start_line, parse_block, missing, unreadable):
    """Events of a text rendering whose events each start on a line ``start_line`` matches,
    the block (trailing blank lines cut) parsed by ``parse_block`` into (System, Data); an
    event without Channel/EventID (``missing`` says which lines) or that does not parse is an
    issue at the line it starts on."""
    events, issues = [], []
    starts = [n for n, line in enumerate(lines) if start_line.match(line.strip())]
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
        block = lines[start:stop]
        while block and not block[-1].strip():
            block = block[:-1]
        try:
            system, data = parse_block(block)
            if not system.get("Channel") or not system.get("EventID"):
                raise ValueError(missing)
            events.append(normalise_windows(system, data, "\n".join(block), str(path), classic=True))
        except Exception as exc:
            issues.append(ReadIssue(path, start + 1, "%s: %s" % (unreadable, exc)))
    return events, issues


def _parse_block(block):
    moment = _dt.datetime.strptime(block[0].strip(), "%m/%d/%Y %I:%M:%S %p")
    system = {"SystemTime": moment.replace(tzinfo=_dt.timezone.utc).isoformat()}
    data = {}
    for n, line in enumerate(block[1:], 1):
        match = _HEADER.match(line.strip())
        if match is None:
            continue
        key, value = match.group("key"), match.group("value").strip()
        if key == "Message":
            # the message's first line may already be a field
            _message_fields([value] + block[n + 1:], data)
            break
        if key in _SYSTEM_KEYS:
            system[_SYSTEM_KEYS[key]] = value
        else:
            data[key] = value
    return system, data


def _message_fields(lines, data):
    """The rendered message's ``Name: value`` lines into ``data`` as the TA extracts them."""
    for line in lines:
        match = _MESSAGE_FIELD.match(line.strip())
        if match is None or not match.group("value").strip():
            continue  # prose or a section title ("Network Information:")
        name = re.sub(r"\s+", "_", match.group("name").strip())
        value = match.group("value").strip()
        if name in data:
            previous = data[name]
            data[name] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            data[name] = value


# ``wevtutil qe <log> /f:text`` (and Get-WinEvent's default text): a record is "Event[N]:",
# two-space indented "Name: value" header lines, then "Description:" and the rendered message.
_WEVTUTIL_START = re.compile(r"^Event\[\d+\]:\s*$")
_WEVTUTIL_HEADER = re.compile(r"^\s+(?P<key>[A-Za-z][A-Za-z ]*?):\s?(?P<value>.*)$")
# wevtutil's header names -> the System part, or the classic rendering's header keys
_WEVTUTIL_SYSTEM = {"Log Name": "Channel", "Event ID": "EventID", "Computer": "Computer",
                    "Record ID": "EventRecordID"}
_WEVTUTIL_DATA = {"Source": "SourceName", "Task": "TaskCategory", "Keyword": "Keywords",
                  "Level": "Type", "Opcode": "OpCode", "User": "Sid", "User Name": "User"}


def is_wevtutil_text(lines):
    """The first non-empty line is "Event[N]:" and a "Log Name:" line follows."""
    texts = [line.strip() for line in lines[:20] if line.strip()]
    return bool(texts) and bool(_WEVTUTIL_START.match(texts[0])) and \
        any(t.startswith("Log Name:") for t in texts[1:4])


def read_wevtutil_text(path, lines):
    """Events of a ``wevtutil qe /f:text`` export, as the classic rendering's (the message
    fields are the same rendered names); the Date carries no time zone and is read as UTC."""
    return _read_blocks(path, lines, _WEVTUTIL_START, _parse_wevtutil_block, "no Log Name: or Event ID: line",
                        "unreadable wevtutil text event")


def _parse_wevtutil_block(block):
    system, data = {}, {}
    for n, line in enumerate(block[1:], 1):
        match = _WEVTUTIL_HEADER.match(line.rstrip())
        if match is None:
            continue
        key, value = match.group("key"), match.group("value").strip()
        if key == "Description":
            _message_fields([value] + block[n + 1:], data)
            break
        if key == "Date":
            moment = _dt.datetime.fromisoformat(value.rstrip("Z"))
            system["SystemTime"] = moment.replace(tzinfo=_dt.timezone.utc).isoformat()
        elif key in _WEVTUTIL_SYSTEM:
            system[_WEVTUTIL_SYSTEM[key]] = value
        elif value not in ("", "N/A"):
            data[_WEVTUTIL_DATA.get(key, key.replace(" ", ""))] = value
    return system, data


# Event Viewer's "Save All Events As... CSV": a header naming five columns, rows of six (the
# rendered message last, unnamed), in the viewer's display language and date format; no
# channel and no computer. English and German headers are known.
_EVENTVIEWER_CSV_HEADERS = (("Level", "Date and Time", "Source", "Event ID", "Task Category"),
                            ("Ebene", "Datum und Uhrzeit", "Quelle", "Ereignis-ID", "Aufgabenkategorie"))
# The provider (Source column) names the channel for the providers the searches read.
_PROVIDER_CHANNELS = {"Microsoft-Windows-Sysmon": "Microsoft-Windows-Sysmon/Operational",
                      "Microsoft-Windows-Security-Auditing": "Security",
                      "Microsoft-Windows-Eventlog": "Security"}
_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")


def is_eventviewer_csv(first_line):
    """The first line is an Event Viewer CSV export's header."""
    columns = tuple(c.strip().strip('"') for c in first_line.lstrip("\ufeff").split(","))
    return columns in _EVENTVIEWER_CSV_HEADERS


def read_eventviewer_csv(path, text):
    """Events of an Event Viewer CSV export: the Source column (the provider) gives the
    channel (Sysmon, Security; others are named after their provider), the message its fields
    as in the classic rendering; the date, in the exporting machine's local time and display
    format (US month first with AM/PM, day first otherwise), is read as UTC. The host is not in
    the export (the runner's default, the file name, stands in)."""
    events, issues = [], []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    next(reader, None)
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) < 6:
                raise ValueError("%d columns, an event has 6" % len(row))
            level, when, provider, event_id, category, message = row[:6]
            system = {"SystemTime": _eventviewer_time(when.strip()), "EventID": event_id.strip(),
                      "Channel": _PROVIDER_CHANNELS.get(provider.strip(), provider.strip()),
                      "Provider": provider.strip()}
            data = {"Type": level.strip(), "TaskCategory": category.strip()}
            _message_fields(message.splitlines(), data)
            raw = "\n".join(["%s,%s,%s,%s,%s" % (level, when, provider, event_id, category), message])
            events.append(normalise_windows(system, data, raw, str(path), classic=True))
        except Exception as exc:
            issues.append(ReadIssue(path, reader.line_num, "unreadable Event Viewer CSV event: %s" % exc))
    return events, issues


def _eventviewer_time(text):
    for layout in _DATE_FORMATS:
        try:
            moment = _dt.datetime.strptime(text, layout)
        except ValueError:
            continue
        return moment.replace(tzinfo=_dt.timezone.utc).isoformat()
    raise ValueError("date %r in no known layout" % text)
