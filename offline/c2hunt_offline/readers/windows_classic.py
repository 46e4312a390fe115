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
"""
import datetime as _dt
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
    events, issues = [], []
    starts = [n for n, line in enumerate(lines) if _DATE_LINE.match(line.strip())]
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(lines)
        block = lines[start:stop]
        while block and not block[-1].strip():
            block = block[:-1]
        try:
            system, data = _parse_block(block)
            if not system.get("Channel") or not system.get("EventID"):
                raise ValueError("no LogName= or EventCode= line")
            events.append(normalise_windows(system, data, "\n".join(block), str(path),
                                            classic=True))
        except Exception as exc:
            issues.append(ReadIssue(path, start + 1, "unreadable classic Windows event: %s" % exc))
    return events, issues


def _parse_block(block):
    moment = _dt.datetime.strptime(block[0].strip(), "%m/%d/%Y %I:%M:%S %p")
    system = {"SystemTime": moment.replace(tzinfo=_dt.timezone.utc).isoformat()}
    data = {}
    in_message = False
    for line in block[1:]:
        if not in_message:
            match = _HEADER.match(line.strip())
            if match is None:
                continue
            key, value = match.group("key"), match.group("value").strip()
            if key == "Message":
                in_message = True
                line = value  # the message's first line may already be a field
            elif key in _SYSTEM_KEYS:
                system[_SYSTEM_KEYS[key]] = value
                continue
            else:
                data[key] = value
                continue
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
    return system, data
