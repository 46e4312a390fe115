"""Windows events: binary EVTX, ``<Event>`` XML and JSON exports (Sysmon, Security, others).

Sourcetypes and field names as the Splunk Add-on for Microsoft Windows (5.0 and later: XML
events are ``sourcetype=XmlWinEventLog``, ``source=XmlWinEventLog:<Channel>``) and the Sysmon
TA give them, with the CIM aliases of the network and process events. Sysmon for Linux
records (channel ``Linux-Sysmon/Operational``) are labelled as the Splunk Add-on for Sysmon
for Linux does: ``sourcetype=sysmon:linux``, ``source=Syslog:Linux-Sysmon/Operational``.
"""
import functools
import json
import re
import xml.etree.ElementTree as ET

from ..values import shared
from .common import ReadIssue, parse_iso, path_basename, put

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SYSMON_LINUX_CHANNEL = "Linux-Sysmon/Operational"
XML_SOURCETYPE = "XmlWinEventLog"
CLASSIC_SOURCETYPE = "WinEventLog"
SYSMON_SOURCE = "XmlWinEventLog:" + SYSMON_CHANNEL
SECURITY_SOURCE = "XmlWinEventLog:Security"
SYSMON_LINUX_SOURCETYPE = "sysmon:linux"
SYSMON_LINUX_SOURCE = "Syslog:" + SYSMON_LINUX_CHANNEL
SYSMON_CHANNELS = (SYSMON_CHANNEL, SYSMON_LINUX_CHANNEL)
IANA_TRANSPORT = {"1": "icmp", "6": "tcp", "17": "udp", "58": "icmp"}


_SYSMON_BOOLEANS = frozenset(("True", "False", "TRUE", "FALSE"))


def _lower_bool(value):
    return value.lower() if isinstance(value, str) and value in _SYSMON_BOOLEANS else value


def _local(tag):
    """A tag without its ``{namespace}`` (ElementTree's ``{uri}name``)."""
    if tag[:1] == "{":
        end = tag.find("}")
        if end > 0:
            return tag[end + 1:]
    return tag


def windows_event_from_xml(xml_text):
    """Fields of one Windows ``<Event>`` XML record (System + EventData/UserData)."""
    root = ET.fromstring(xml_text)
    fields = {}
    system = None
    for child in root:
        if _local(child.tag) == "System":
            system = child
    if system is None:
        raise ValueError("no <System> element")
    for item in system:
        tag = _local(item.tag)
        if tag == "EventID":
            fields["EventID"] = (item.text or "").strip()
        elif tag == "TimeCreated":
            fields["SystemTime"] = item.get("SystemTime")
        elif tag == "Provider":
            fields["Provider"] = item.get("Name")
        elif tag in ("Channel", "Computer", "EventRecordID", "Level", "Task", "Opcode",
                     "Keywords", "Version"):
            fields[tag] = (item.text or "").strip()
        elif tag == "Security":
            fields["SecurityUserID"] = item.get("UserID")
    data = {}
    for child in root:
        tag = _local(child.tag)
        if tag == "EventData":
            for n, item in enumerate(child):
                name = item.get("Name") or ("Data%d" % n)
                data[name] = item.text or ""
        elif tag == "UserData":
            for sub in child:
                for item in sub:
                    data[_local(item.tag)] = item.text or ""
    return fields, data


_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_PADDED_HEX = re.compile(r"^0x0+([0-9a-fA-F]+)$")


def _windows_rendering(value):
    """Values as Windows renders them for Splunk, whichever EVTX parser read them:
    GUIDs as ``{UPPER-CASE}``, hex integers without zero padding (``0x3e7``)."""
    if not isinstance(value, str):
        return value
    m = _GUID.match(value)
    if m:
        return "{%s}" % m.group(1).upper()
    m = _PADDED_HEX.match(value)
    if m:
        return "0x" + m.group(1).lower()
    return value


def normalise_windows(system, data, raw, source_path, from_binary=False, classic=False):
    """Build a Splunk-like event from System fields + EventData fields.

    Parameters
    ----------
    system : dict
        EventID, SystemTime, Channel, Computer, EventRecordID ...
    data : dict
        EventData values by name.
    raw : str
        The record as Splunk would index it (_raw).
    source_path : str
        Input file, kept as ``c2hunt_file``.
    from_binary : bool
        The record was rendered from binary EVTX by a parser: bring GUID and hex values to
        Windows' own rendering. Text input (XML/JSON) is kept as it was indexed.
    classic : bool
        The record is in the TA's classic (non-XML) rendering: ``sourcetype=WinEventLog``,
        ``source=WinEventLog:<Channel>``.
    """
    channel = system.get("Channel") or ""
    event_id = str(system.get("EventID") or "").strip()
    if channel == SYSMON_LINUX_CHANNEL:
        sourcetype, source = SYSMON_LINUX_SOURCETYPE, SYSMON_LINUX_SOURCE
    elif classic:
        sourcetype, source = CLASSIC_SOURCETYPE, "WinEventLog:%s" % channel
    else:
        sourcetype, source = XML_SOURCETYPE, "XmlWinEventLog:%s" % channel
    ev = {"_raw": raw, "sourcetype": sourcetype, "source": source, "c2hunt_file": source_path}
    if system.get("SystemTime"):
        ev["_time"] = parse_iso(system["SystemTime"])
    for key in ("Channel", "Computer", "EventRecordID", "Provider", "Level", "Task",
                "Opcode", "Keywords", "Version"):
        put(ev, key, system.get(key))
    put(ev, "EventCode", event_id)
    put(ev, "EventID", event_id)
    put(ev, "signature_id", event_id)
    put(ev, "host", system.get("Computer"))
    sysmon = channel in SYSMON_CHANNELS
    for name, value in data.items():
        if value is None:
            continue
        if isinstance(value, str):  # put() inlined for text, the usual value (the reader's hot loop)
            value = value.strip()
            if from_binary:
                value = _windows_rendering(value)
            if sysmon and value in _SYSMON_BOOLEANS:
                value = value.lower()
            if value and value != "-":
                ev[name] = shared(value)
            continue
        if from_binary:
            value = _windows_rendering(value)
        if sysmon:
            value = _lower_bool(value)
        put(ev, name, value)
    if channel in SYSMON_CHANNELS:
        _cim_sysmon(ev, event_id)
    elif channel == "Security":
        _cim_security(ev, event_id, data)
    put(ev, "dvc", ev.get("host"))
    return ev


# Process paths repeat (a fleet runs the same programs): their names are worked out once.
_cached_basename = functools.lru_cache(maxsize=8192)(path_basename)


def _basename(path):
    return _cached_basename(path) if isinstance(path, str) else path_basename(path)


def _cim_sysmon(ev, event_id):
    image = ev.get("Image")
    if image:
        ev["process_path"] = ev["process"] = image
        ev["process_name"] = _basename(image)
    put(ev, "process_id", ev.get("ProcessId"))
    put(ev, "user", ev.get("User"))
    if event_id == "3":
        for cim, raw in (("src", "SourceIp"), ("src_ip", "SourceIp"),
                         ("src_port", "SourcePort"), ("dest", "DestinationIp"),
                         ("dest_ip", "DestinationIp"), ("dest_port", "DestinationPort")):
            put(ev, cim, ev.get(raw))
        if ev.get("Protocol"):
            ev["transport"] = ev["Protocol"].lower()
        ev["protocol"] = "ip"
        if ev.get("Initiated") in ("true", "false"):
            ev["direction"] = "outbound" if ev["Initiated"] == "true" else "inbound"
        put(ev, "app", ev.get("process_name"))
        ev["tag"] = ["network", "communicate"]
    elif event_id == "1":
        put(ev, "process", ev.get("CommandLine"))
        put(ev, "parent_process", ev.get("ParentCommandLine"))
        put(ev, "parent_process_path", ev.get("ParentImage"))
        put(ev, "parent_process_name", _basename(ev.get("ParentImage")))
        put(ev, "dest", ev.get("host"))
        ev["tag"] = ["process", "report"]
    elif event_id == "22":
        put(ev, "query", ev.get("QueryName"))
        put(ev, "answer", ev.get("QueryResults"))
        put(ev, "src", ev.get("host"))
        ev["tag"] = ["network", "resolution", "dns"]


def _first(value):
    return value[0] if isinstance(value, list) and value else value


_WFP_DIRECTION = {"%%14592": "Inbound", "%%14593": "Outbound"}


def _cim_security(ev, event_id, data):
    if event_id in ("5156", "5157", "5152", "5158"):
        mapping = (("Application_Name", "Application"), ("Source_Address", "SourceAddress"),
                   ("Source_Port", "SourcePort"), ("Destination_Address", "DestAddress"),
                   ("Destination_Port", "DestPort"), ("Process_ID", "ProcessID"),
                   ("Layer_Name", "LayerName"), ("Filter_Run_Time_ID", "FilterRTID"),
                   ("Protocol", "Protocol"))
        for classic, xml_name in mapping:
            if classic not in ev or classic == "Protocol":
                put(ev, classic, (data.get(xml_name) or "").strip() or ev.get(classic))
        direction = (data.get("Direction") or ev.get("Direction") or "").strip()
        direction = _WFP_DIRECTION.get(direction, direction)
        put(ev, "Direction", direction)
        put(ev, "direction", direction.lower() if direction else None)
        app = ev.get("Application_Name")
        if app:
            ev["process_path"] = ev["process"] = app
            ev["process_name"] = _basename(app)
            ev["app"] = ev["process_name"]
        for cim, raw in (("src", "Source_Address"), ("src_ip", "Source_Address"),
                         ("src_port", "Source_Port"), ("dest", "Destination_Address"),
                         ("dest_ip", "Destination_Address"), ("dest_port", "Destination_Port"),
                         ("process_id", "Process_ID")):
            put(ev, cim, ev.get(raw))
        proto = ev.get("Protocol")
        put(ev, "transport", IANA_TRANSPORT.get(proto, proto))
        ev["protocol"] = "ip"
        ev["action"] = "allowed" if event_id in ("5156", "5158") else "blocked"
        ev["tag"] = ["network", "communicate"]
    elif event_id == "4688":
        # XML names, else the classic rendering's (New_Process_Name ...)
        image = data.get("NewProcessName") or data.get("New_Process_Name")
        parent = data.get("ParentProcessName") or data.get("Creator_Process_Name")
        put(ev, "process_path", image)
        put(ev, "process_name", _basename(image))
        put(ev, "process", data.get("CommandLine") or data.get("Process_Command_Line") or image)
        put(ev, "parent_process_path", parent)
        put(ev, "parent_process_name", _basename(parent))
        put(ev, "user", data.get("SubjectUserName") or _first(data.get("Account_Name")))
        put(ev, "dest", ev.get("host"))
        ev["tag"] = ["process", "report"]


def read_evtx(path):
    """Events and issues from a binary .evtx file.

    Uses the Rust parser (PyPI ``evtx``) when installed, else python-evtx; both render
    each record as XML, normalised by :func:`normalise_windows`.
    """
    try:
        import evtx as rust_evtx  # noqa: WPS433
    except ImportError:
        return read_evtx_python(path)
    events, issues = [], []
    try:
        parser = rust_evtx.PyEvtxParser(str(path))
        records = parser.records()
    except Exception as exc:  # corrupt header: the whole file is unreadable
        return [], [ReadIssue(path, None, "not a readable EVTX file: %s" % exc)]
    for n, xml_text, error in evtx_record_texts(records):
        if error is None:
            try:
                system, data = windows_event_from_xml(xml_text)
                events.append(normalise_windows(system, data, xml_text, str(path), from_binary=True))
                continue
            except Exception as exc:
                error = str(exc)
        issues.append(ReadIssue(path, "record %d" % n, "unreadable EVTX record: %s" % error))
    return events, issues


def evtx_record_texts(records):
    """(record number, its XML without the declaration, None) for each record the Rust EVTX
    parser's iterator ``records`` gives, or (number, None, why) for one it cannot: a corrupt
    chunk is reported and reading goes on (up to 10 million such, so a parser that fails for
    ever cannot loop for ever). Shared by :func:`read_evtx` and the columnar reader."""
    n = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as exc:  # a corrupt chunk: report and keep reading
            n += 1
            yield n, None, str(exc)
            if n > 10000000:
                return
            continue
        n += 1
        try:
            if isinstance(record, Exception):
                raise record
            xml_text = record["data"]
            if xml_text.startswith("<?xml"):
                xml_text = xml_text.split("?>", 1)[1].lstrip()
        except Exception as exc:
            yield n, None, str(exc)
            continue
        yield n, xml_text, None


def read_evtx_python(path):
    """Events and issues from a binary .evtx file through python-evtx."""
    import Evtx.Evtx as evtx  # imported here: only EVTX input needs it
    events, issues = [], []
    try:
        log = evtx.Evtx(str(path))
        log.__enter__()
    except Exception as exc:  # corrupt header: the whole file is unreadable
        return [], [ReadIssue(path, None, "not a readable EVTX file: %s" % exc)]
    try:
        for n, record in enumerate(log.records(), 1):
            try:
                xml_text = record.xml()
                system, data = windows_event_from_xml(xml_text)
                events.append(normalise_windows(system, data, xml_text, str(path), from_binary=True))
            except Exception as exc:
                issues.append(ReadIssue(path, "record %d" % n, "unreadable EVTX record: %s" % exc))
    except Exception as exc:
        issues.append(ReadIssue(path, None, "EVTX chunk iteration stopped: %s" % exc))
    finally:
        try:
            log.__exit__(None, None, None)
        except Exception:
            pass
    return events, issues


def read_winxml(path, text):
    """Windows XML: one ``<Event ...>...</Event>`` per record, any line layout.

    Records are cut at each ``<Event`` start, so a broken record ends where the next
    one starts and never swallows it.
    """
    events, issues = [], []
    starts = [m.start() for m in re.finditer(r"<Event[\s>]", text)]
    line, counted = 1, 0  # the line of ``counted``: counted on from the previous record, not from the top
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(text)
        segment = text[start:stop]
        line += text.count("\n", counted, start)
        counted = start
        end = segment.find("</Event>")
        if end < 0:
            issues.append(ReadIssue(path, line, "Windows XML event without </Event>"))
            continue
        xml_text = segment[:end + len("</Event>")]
        try:
            system, data = windows_event_from_xml(xml_text)
            events.append(normalise_windows(system, data, xml_text, str(path)))
        except Exception as exc:
            issues.append(ReadIssue(path, line, "unreadable Windows XML event: %s" % exc))
    return events, issues


def windows_from_json(obj):
    """(system, data) from a JSON Windows event.

    Layouts: winlogbeat (``winlog.event_data``), XML converted to JSON (``Event.System``,
    ``Event.EventData.Data[]``), and flat exports (nxlog, SIEM tables such as Sentinel's
    ``Event``/``SecurityEvent``) whose ``EventData`` is absent, a dict, or one string holding
    the ``<EventData>`` XML or a JSON object.
    """
    if "winlog" in obj:
        w = obj["winlog"]
        system = {"EventID": w.get("event_id"), "Channel": w.get("channel"),
                  "Computer": w.get("computer_name"), "EventRecordID": w.get("record_id"),
                  "SystemTime": obj.get("@timestamp")}
        return system, event_data(w.get("event_data"))
    if "Event" in obj and isinstance(obj["Event"], dict):
        ev = obj["Event"]
        sysd = ev.get("System") if isinstance(ev.get("System"), dict) else {}
        eid = sysd.get("EventID")
        if isinstance(eid, dict):
            eid = eid.get("#text", eid.get("text"))
        system = {"EventID": eid, "Channel": sysd.get("Channel"),
                  "Computer": sysd.get("Computer"), "EventRecordID": sysd.get("EventRecordID"),
                  "SystemTime": _attribute(sysd, "TimeCreated", "SystemTime"),
                  "Provider": _attribute(sysd, "Provider", "Name")}
        system.update({k: _flat_value(sysd[k]) for k in ("Level", "Task", "Opcode", "Keywords", "Version")
                       if isinstance(sysd.get(k), (str, int))})
        data = event_data(ev.get("EventData"))
        if not data and isinstance(ev.get("UserData"), dict):
            data = _user_data(ev["UserData"])
        return system, data
    system = {"EventID": obj.get("EventID", obj.get("EventCode")),
              "Channel": obj.get("Channel") or obj.get("EventLog"),
              "Computer": obj.get("Computer", obj.get("Hostname")),
              "EventRecordID": obj.get("EventRecordID", obj.get("RecordNumber")),
              "SystemTime": obj.get("SystemTime") or obj.get("TimeCreated")
              or obj.get("EventTime") or obj.get("UtcTime") or obj.get("TimeGenerated")}
    skip = {"EventID", "EventCode", "Channel", "Computer", "Hostname", "EventRecordID",
            "RecordNumber", "SystemTime", "TimeCreated", "EventTime", "EventData"}
    data = {k: _flat_value(v) for k, v in obj.items() if k not in skip}
    if "EventData" in obj:
        parsed = event_data(obj["EventData"])
        if parsed or not obj["EventData"]:
            data.update(parsed)
        else:  # neither XML nor JSON: keep the text as the export had it
            data["EventData"] = _flat_value(obj["EventData"])
    return system, data


def _attribute(parent, tag, name):
    """Attribute ``name`` of element ``tag`` of an XML element converted to JSON (``parent``):
    ``{"SystemTime": v}``, xmltodict's ``{"@SystemTime": v}``, evtx_dump's ``{"#attributes":
    {"SystemTime": v}}``, or evtx_dump ``--separate-json-attributes``' ``<tag>_attributes``
    beside the element; a plain value is the value itself."""
    beside = parent.get(tag + "_attributes")
    if isinstance(beside, dict) and name in beside:
        return beside[name]
    element = parent.get(tag)
    if not isinstance(element, dict):
        return element
    nested = element.get("#attributes")
    if isinstance(nested, dict) and name in nested:
        return nested[name]
    return element.get(name, element.get("@" + name))


def _user_data(value):
    """UserData converted to JSON (``{"LogFileCleared": {"SubjectUserName": ...}}``): the
    leaf values of its one child, as the XML reader takes them."""
    data = {}
    for child in value.values():
        if isinstance(child, dict):
            data.update({k: _flat_value(v) for k, v in child.items()
                         if not k.startswith(("#", "xmlns")) and not k.endswith("_attributes")})
    return data


def _flat_value(value):
    """A JSON value as text, as the event's XML writes it: booleans ``true``/``false`` (EVTX
    parsers' JSON types Sysmon's Initiated, IsIpv6 ...), numbers as written, objects and arrays
    as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def event_data(value):
    """EventData of a JSON export as {Name: value}.

    Accepts a dict of names (winlogbeat), ``{"Data": [{"@Name"|"Name": n, "#text"|"text"|
    "Value": v}]}`` (XML converted to JSON), or a string holding ``<EventData>`` XML (possibly
    inside a ``<DataItem>``, as SIEM tables store it) or a JSON object. Anything else gives {}.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("<"):
            return _event_data_xml(text)
        if text.startswith("{"):
            try:
                return event_data(json.loads(text))
            except ValueError:
                return {}
        return {}
    if not isinstance(value, dict):
        return {}
    items = value.get("Data")
    if isinstance(items, dict):
        items = [items]
    if isinstance(items, list) and all(isinstance(d, dict) for d in items):
        return {d.get("Name") or d.get("@Name") or "Data%d" % n:
                _flat_value(d.get("#text", d.get("text", d.get("Value"))))
                for n, d in enumerate(items)}
    # a dict of names (winlogbeat, evtx_dump): typed JSON values as the XML's text
    return {k: v if isinstance(v, list) else _flat_value(v) for k, v in value.items()
            if not k.endswith("_attributes")}


def _event_data_xml(text):
    """``<Data Name=...>`` values of an EventData XML string (UserData children too)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return {}
    data = {}
    for n, item in enumerate(root.iter()):
        tag = _local(item.tag)
        if tag == "Data":
            data[item.get("Name") or "Data%d" % n] = item.text or ""
    if not data:  # UserData: <UserData><Kind><Name>value</Name>...</Kind></UserData>
        for item in root.iter():
            if len(item) == 0 and item is not root and item.text and item.text.strip():
                data[_local(item.tag)] = item.text
    return data


def is_windows_json(obj):
    has_id = "EventID" in obj or "EventCode" in obj
    return ("winlog" in obj or ("Event" in obj and isinstance(obj["Event"], dict))
            or (has_id and ("Channel" in obj or "EventLog" in obj)))
