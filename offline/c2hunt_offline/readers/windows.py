"""Telemetry readers: files -> events with the sourcetypes and field names Splunk's TAs produce.

Each reader yields plain dicts (field -> str, or list of str for multivalue fields) with
``_time`` as epoch seconds (float). Problems with one record are collected as
:class:`ReadIssue` (file, line, message) and never stop the other records.

The field contract is documented in README.md, section "Offline runner".
"""
import csv
import datetime as _dt
import io
import ipaddress
import json
import ntpath
import os
import re
import struct
import xml.etree.ElementTree as ET

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SYSMON_SOURCETYPE = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
SECURITY_SOURCETYPE = "WinEventLog:Security"
AUDIT_SOURCETYPE = "linux:audit"
FLOW_SOURCETYPE = "c2hunt:flow"
DNS_SOURCETYPE = "c2hunt:dns"
ZEEK_SOURCETYPES = {"conn": "bro:conn:json", "dns": "bro:dns:json",
                    "http": "bro:http:json", "ssl": "bro:ssl:json"}

IANA_TRANSPORT = {"1": "icmp", "6": "tcp", "17": "udp", "58": "icmp"}
OSQUERY_SOURCETYPE = "osquery:results"
ESXI_SOURCETYPE_PREFIX = "vmware:esxlog:"


class ReadIssue(object):
    """One unreadable record or file: where it is and why."""

    def __init__(self, path, line, message):
        self.path = str(path)
        self.line = line
        self.message = message

    def __str__(self):
        where = self.path if self.line is None else "%s:%s" % (self.path, self.line)
        return "%s: %s" % (where, self.message)

    __repr__ = __str__


class UnknownFormat(Exception):
    """The file's format could not be recognised."""


# ---------------------------------------------------------------------------------------
# helpers

def _put(event, key, value):
    """Set a field unless the value is empty or a placeholder (null in Splunk)."""
    if value is None:
        return
    if isinstance(value, list):
        value = [str(v) for v in value if v is not None and str(v) not in ("", "-")]
        if not value:
            return
        event[key] = value if len(value) > 1 else value[0]
        return
    value = str(value)
    if value in ("", "-"):
        return
    event[key] = value


def _basename(path):
    if not path:
        return None
    return ntpath.basename(path.replace("/", "\\")) if "\\" in path else os.path.basename(path)


def _parse_iso(text):
    """Parse Windows/Sysmon timestamps ('2019-02-16 10:01:46.884037+00:00', ISO 'Z')."""
    text = text.strip().replace("Z", "+00:00")
    if "T" not in text and " " in text:
        text = text.replace(" ", "T", 1)
    # fromisoformat on 3.9/3.10 accepts only 3 or 6 fractional digits
    m = re.match(r"^(.*?\.)(\d+)(.*)$", text)
    if m:
        frac = (m.group(2) + "000000")[:6]
        text = m.group(1) + frac + m.group(3)
    value = _dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.timestamp()


def _lower_bool(value):
    return value.lower() if value in ("True", "False", "TRUE", "FALSE") else value


# ---------------------------------------------------------------------------------------
# Windows events

_NS = re.compile(r"^\{[^}]*\}")


def _local(tag):
    return _NS.sub("", tag)


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


def normalise_windows(system, data, raw, source_path, from_binary=False):
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
    """
    channel = system.get("Channel") or ""
    event_id = str(system.get("EventID") or "").strip()
    if channel == SYSMON_CHANNEL:
        sourcetype = source = SYSMON_SOURCETYPE
    elif channel == "Security":
        sourcetype = source = SECURITY_SOURCETYPE
    else:
        sourcetype = source = "WinEventLog:%s" % channel
    ev = {"_raw": raw, "sourcetype": sourcetype, "source": source, "c2hunt_file": source_path}
    if system.get("SystemTime"):
        ev["_time"] = _parse_iso(system["SystemTime"])
    for key in ("Channel", "Computer", "EventRecordID", "Provider", "Level", "Task",
                "Opcode", "Keywords", "Version"):
        _put(ev, key, system.get(key))
    _put(ev, "EventCode", event_id)
    _put(ev, "EventID", event_id)
    _put(ev, "signature_id", event_id)
    _put(ev, "host", system.get("Computer"))
    for name, value in data.items():
        if value is None:
            continue
        value = value.strip() if isinstance(value, str) else value
        if from_binary:
            value = _windows_rendering(value)
        if channel == SYSMON_CHANNEL:
            value = _lower_bool(value)
        _put(ev, name, value)
    if channel == SYSMON_CHANNEL:
        _cim_sysmon(ev, event_id)
    elif channel == "Security":
        _cim_security(ev, event_id, data)
    _put(ev, "dvc", ev.get("host"))
    return ev


def _cim_sysmon(ev, event_id):
    image = ev.get("Image")
    if image:
        ev["process_path"] = ev["process"] = image
        ev["process_name"] = _basename(image)
    _put(ev, "process_id", ev.get("ProcessId"))
    _put(ev, "user", ev.get("User"))
    if event_id == "3":
        for cim, raw in (("src", "SourceIp"), ("src_ip", "SourceIp"),
                         ("src_port", "SourcePort"), ("dest", "DestinationIp"),
                         ("dest_ip", "DestinationIp"), ("dest_port", "DestinationPort")):
            _put(ev, cim, ev.get(raw))
        if ev.get("Protocol"):
            ev["transport"] = ev["Protocol"].lower()
        ev["protocol"] = "ip"
        if ev.get("Initiated") in ("true", "false"):
            ev["direction"] = "outbound" if ev["Initiated"] == "true" else "inbound"
        _put(ev, "app", ev.get("process_name"))
        ev["tag"] = ["network", "communicate"]
    elif event_id == "1":
        _put(ev, "process", ev.get("CommandLine"))
        _put(ev, "parent_process", ev.get("ParentCommandLine"))
        _put(ev, "parent_process_path", ev.get("ParentImage"))
        _put(ev, "parent_process_name", _basename(ev.get("ParentImage")))
        _put(ev, "dest", ev.get("host"))
        ev["tag"] = ["process", "report"]
    elif event_id == "22":
        _put(ev, "query", ev.get("QueryName"))
        _put(ev, "answer", ev.get("QueryResults"))
        _put(ev, "src", ev.get("host"))
        ev["tag"] = ["network", "resolution", "dns"]


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
                _put(ev, classic, (data.get(xml_name) or "").strip() or ev.get(classic))
        direction = (data.get("Direction") or ev.get("Direction") or "").strip()
        direction = _WFP_DIRECTION.get(direction, direction)
        _put(ev, "Direction", direction)
        _put(ev, "direction", direction.lower() if direction else None)
        app = ev.get("Application_Name")
        if app:
            ev["process_path"] = ev["process"] = app
            ev["process_name"] = _basename(app)
            ev["app"] = ev["process_name"]
        for cim, raw in (("src", "Source_Address"), ("src_ip", "Source_Address"),
                         ("src_port", "Source_Port"), ("dest", "Destination_Address"),
                         ("dest_ip", "Destination_Address"), ("dest_port", "Destination_Port"),
                         ("process_id", "Process_ID")):
            _put(ev, cim, ev.get(raw))
        proto = ev.get("Protocol")
        _put(ev, "transport", IANA_TRANSPORT.get(proto, proto))
        ev["protocol"] = "ip"
        ev["action"] = "allowed" if event_id in ("5156", "5158") else "blocked"
        ev["tag"] = ["network", "communicate"]
    elif event_id == "4688":
        _put(ev, "process_path", data.get("NewProcessName"))
        _put(ev, "process_name", _basename(data.get("NewProcessName")))
        _put(ev, "process", data.get("CommandLine") or data.get("NewProcessName"))
        _put(ev, "parent_process_path", data.get("ParentProcessName"))
        _put(ev, "parent_process_name", _basename(data.get("ParentProcessName")))
        _put(ev, "user", data.get("SubjectUserName"))
        _put(ev, "dest", ev.get("host"))
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
    n = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except Exception as exc:  # a corrupt chunk: report and keep reading
            issues.append(ReadIssue(path, "record %d" % (n + 1), "unreadable EVTX record: %s" % exc))
            n += 1
            if n > 10000000:
                break
            continue
        n += 1
        try:
            if isinstance(record, Exception):
                raise record
            xml_text = record["data"]
            if xml_text.startswith("<?xml"):
                xml_text = xml_text.split("?>", 1)[1].lstrip()
            system, data = windows_event_from_xml(xml_text)
            events.append(normalise_windows(system, data, xml_text, str(path), from_binary=True))
        except Exception as exc:
            issues.append(ReadIssue(path, "record %d" % n, "unreadable EVTX record: %s" % exc))
    return events, issues


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
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(text)
        segment = text[start:stop]
        line = text.count("\n", 0, start) + 1
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
    """(system, data) from a JSON Windows event: flat (nxlog-like) or winlogbeat-style."""
    if "winlog" in obj:
        w = obj["winlog"]
        system = {"EventID": w.get("event_id"), "Channel": w.get("channel"),
                  "Computer": w.get("computer_name"), "EventRecordID": w.get("record_id"),
                  "SystemTime": obj.get("@timestamp")}
        return system, dict(w.get("event_data") or {})
    if "Event" in obj and isinstance(obj["Event"], dict):
        ev = obj["Event"]
        sysd = ev.get("System", {})
        eid = sysd.get("EventID")
        if isinstance(eid, dict):
            eid = eid.get("#text") or eid.get("text")
        tc = sysd.get("TimeCreated")
        system = {"EventID": eid, "Channel": sysd.get("Channel"),
                  "Computer": sysd.get("Computer"), "EventRecordID": sysd.get("EventRecordID"),
                  "SystemTime": tc.get("SystemTime") if isinstance(tc, dict) else tc}
        data = ev.get("EventData") or {}
        if isinstance(data, dict) and isinstance(data.get("Data"), list):
            data = {d.get("Name") or d.get("@Name"): d.get("#text", d.get("text"))
                    for d in data["Data"]}
        return system, dict(data)
    system = {"EventID": obj.get("EventID", obj.get("EventCode")),
              "Channel": obj.get("Channel"), "Computer": obj.get("Computer", obj.get("Hostname")),
              "EventRecordID": obj.get("EventRecordID", obj.get("RecordNumber")),
              "SystemTime": obj.get("SystemTime") or obj.get("TimeCreated")
              or obj.get("EventTime") or obj.get("UtcTime")}
    skip = {"EventID", "EventCode", "Channel", "Computer", "Hostname", "EventRecordID",
            "RecordNumber", "SystemTime", "TimeCreated", "EventTime"}
    data = {k: ("" if v is None else str(v)) for k, v in obj.items() if k not in skip}
    return system, data


def _is_windows_json(obj):
    return ("winlog" in obj or ("Event" in obj and isinstance(obj["Event"], dict))
            or ("Channel" in obj and ("EventID" in obj or "EventCode" in obj)))


# ---------------------------------------------------------------------------------------
# Linux auditd

_AUDIT_HEAD = re.compile(r"^(?:node=(?P<node>\S+)\s+)?type=(?P<type>\S+)\s+msg=audit\((?P<ts>[\d.]+):(?P<serial>\d+)\):\s?(?P<body>.*)$")
_AUDIT_KV = re.compile(r"""([A-Za-z_][\w-]*)=("[^"]*"|'[^']*'|\{[^}]*\}|\S*)""")

SYSCALLS = {
    "x86_64": {"41": "socket", "42": "connect", "43": "accept", "44": "sendto", "45": "recvfrom",
               "46": "sendmsg", "47": "recvmsg", "49": "bind", "50": "listen", "59": "execve",
               "288": "accept4", "322": "execveat", "2": "open", "257": "openat"},
    "aarch64": {"198": "socket", "203": "connect", "202": "accept", "206": "sendto",
                "207": "recvfrom", "211": "sendmsg", "200": "bind", "201": "listen",
                "221": "execve", "242": "accept4", "281": "execveat", "56": "openat"},
}
_ARCH = {"c000003e": "x86_64", "c00000b7": "aarch64"}
_AF = {2: "AF_INET", 10: "AF_INET6", 17: "AF_PACKET", 1: "AF_UNIX", 16: "AF_NETLINK"}
_SOCK = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
_IPPROTO = {0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP",
            58: "IPPROTO_ICMPV6", 255: "IPPROTO_RAW"}


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _hexdecode(value):
    """auditd writes untrusted strings as hex; decode them, NULs as spaces."""
    if re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", value or ""):
        try:
            return bytes.fromhex(value).replace(b"\x00", b" ").decode("utf-8", "replace").strip()
        except ValueError:
            return value
    return value


def decode_saddr(hexstr):
    """Decode an auditd SOCKADDR ``saddr`` hex string.

    Returns
    -------
    dict
        ``saddr_family`` ('inet', 'inet6', 'local', 'netlink' or the number) and, for
        inet/inet6, ``dest_ip`` and ``dest_port``; empty dict when undecodable.
    """
    try:
        raw = bytes.fromhex(hexstr)
    except ValueError:
        return {}
    if len(raw) < 2:
        return {}
    family = struct.unpack("<H", raw[:2])[0]
    out = {}
    if family == 2 and len(raw) >= 8:
        out["saddr_family"] = "inet"
        out["dest_port"] = str(struct.unpack(">H", raw[2:4])[0])
        out["dest_ip"] = str(ipaddress.IPv4Address(raw[4:8]))
    elif family == 10 and len(raw) >= 24:
        out["saddr_family"] = "inet6"
        out["dest_port"] = str(struct.unpack(">H", raw[2:4])[0])
        out["dest_ip"] = str(ipaddress.IPv6Address(raw[8:24]))
    elif family == 1:
        out["saddr_family"] = "local"
        path = raw[2:].split(b"\x00", 1)[0].decode("utf-8", "replace")
        if path:
            out["saddr_path"] = path
    elif family == 16:
        out["saddr_family"] = "netlink"
    else:
        out["saddr_family"] = str(family)
    return out


def _decode_socket_args(ev):
    try:
        family = int(ev.get("a0", ""), 16)
        stype = int(ev.get("a1", ""), 16) & 0xF  # strip SOCK_NONBLOCK / SOCK_CLOEXEC
        proto = int(ev.get("a2", ""), 16)
    except ValueError:
        return
    ev["socket_family"] = _AF.get(family, str(family))
    ev["socket_type"] = _SOCK.get(stype, str(stype))
    ev["socket_protocol"] = _IPPROTO.get(proto, str(proto))


def _finish_audit(records, path, line):
    """Merge the records of one audit serial into one event."""
    ev = {"sourcetype": AUDIT_SOURCETYPE, "source": str(path), "c2hunt_file": str(path)}
    types = []
    raws = []
    args = {}
    for rtype, ts, serial, node, body, raw in records:
        types.append(rtype)
        raws.append(raw)
        ev["_time"] = float(ts)
        ev["audit_serial"] = serial
        if node:
            ev["node"] = node
        kvs = _AUDIT_KV.findall(body.split("\x1d")[0])
        enriched = body.split("\x1d")[1] if "\x1d" in body else ""
        for key, value in kvs + _AUDIT_KV.findall(enriched):
            value = _unquote(value)
            if rtype == "EXECVE":
                if re.fullmatch(r"a\d+", key):
                    # quoted args are plain text, unquoted ones are hex
                    raw_val = dict(kvs).get(key, "")
                    args[int(key[1:])] = value if raw_val.startswith('"') else _hexdecode(value)
                elif key == "argc":
                    ev["argc"] = value
                continue
            if rtype == "SOCKADDR" and key == "saddr":
                ev["saddr"] = value
                ev.update(decode_saddr(value) if not value.startswith("{") else {})
                continue
            if rtype == "PROCTITLE" and key == "proctitle":
                ev["proctitle"] = value if kvs and dict(kvs).get(key, "").startswith('"') else _hexdecode(value)
                continue
            if rtype == "PATH" and key in ("name", "inode", "mode", "nametype"):
                ev.setdefault("path_" + key, [])
                ev["path_" + key].append(value)
                continue
            if rtype == "CWD" and key == "cwd":
                ev["cwd"] = value
                continue
            if key == "msg":
                continue
            if rtype != "SYSCALL" and key in ev:
                continue  # SYSCALL's keys win over the same name in later records
            ev[key] = value
    ev["type"] = types if len(types) > 1 else types[0]
    ev["_raw"] = "\n".join(raws)
    ev["linecount"] = str(len(raws))
    for key in ("path_name", "path_inode", "path_mode", "path_nametype"):
        if key in ev and len(ev[key]) == 1:
            ev[key] = ev[key][0]
    if args:
        argv = [args[i] for i in sorted(args)]
        ev["args"] = argv if len(argv) > 1 else argv[0]
        ev["cmdline"] = " ".join(argv)
    arch = _ARCH.get(ev.get("arch", "").lower(), ev.get("arch"))
    if "syscall" in ev:
        name = SYSCALLS.get(arch, {}).get(ev["syscall"], ev["syscall"] if not ev["syscall"].isdigit() else None)
        _put(ev, "syscall_name", name)
        if ev.get("syscall_name") == "socket":
            _decode_socket_args(ev)
    if ev.get("node"):
        ev["host"] = ev["node"]
    exe = ev.get("exe")
    if exe:
        ev["process_path"] = exe
        ev["process_name"] = _basename(exe)
    _put(ev, "process", ev.get("cmdline") or ev.get("proctitle") or exe)
    _put(ev, "process_id", ev.get("pid"))
    _put(ev, "parent_process_id", ev.get("ppid"))
    _put(ev, "user", ev.get("UID") or ev.get("uid"))
    if ev.get("dest_ip"):
        ev["dest"] = ev["dest_ip"]
    if ev.get("syscall_name") in ("connect", "sendto", "sendmsg") and ev.get("dest_ip"):
        ev["tag"] = ["network", "communicate"]
        _put(ev, "src", ev.get("node"))
    elif ev.get("syscall_name") in ("execve", "execveat"):
        ev["tag"] = ["process", "report"]
    return ev


def read_auditd(path, lines):
    """auditd text (raw audit.log or ausearch --raw): one event per msg=audit serial."""
    events, issues = [], []
    groups = {}
    order = []
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("----"):
            continue
        m = _AUDIT_HEAD.match(line)
        if not m:
            issues.append(ReadIssue(path, n, "not an auditd record (expected 'type=... msg=audit(ts:serial):')"))
            continue
        key = (m.group("node"), m.group("ts"), m.group("serial"))
        if key not in groups:
            groups[key] = (n, [])
            order.append(key)
        groups[key][1].append((m.group("type"), m.group("ts"), m.group("serial"),
                               m.group("node"), m.group("body"), line))
    for key in order:
        first_line, records = groups[key]
        try:
            events.append(_finish_audit(records, path, first_line))
        except Exception as exc:
            issues.append(ReadIssue(path, first_line, "unreadable audit event: %s" % exc))
    return events, issues


# ---------------------------------------------------------------------------------------
# Zeek

def _zeek_cim(ev, kind):
    g = ev.get
    _put(ev, "src", g("id.orig_h"))
    _put(ev, "src_ip", g("id.orig_h"))
    _put(ev, "src_port", g("id.orig_p"))
    _put(ev, "dest", g("id.resp_h"))
    _put(ev, "dest_ip", g("id.resp_h"))
    _put(ev, "dest_port", g("id.resp_p"))
    if kind == "conn":
        _put(ev, "transport", g("proto"))
        ev["protocol"] = "ip"
        _put(ev, "app", g("service"))
        _put(ev, "duration", g("duration"))
        _put(ev, "bytes_out", g("orig_bytes"))
        _put(ev, "bytes_in", g("resp_bytes"))
        _put(ev, "packets_out", g("orig_pkts"))
        _put(ev, "packets_in", g("resp_pkts"))
        try:
            ev["bytes"] = str(int(g("orig_bytes") or 0) + int(g("resp_bytes") or 0))
        except ValueError:
            pass
        ev["tag"] = ["network", "communicate"]
    elif kind == "dns":
        _put(ev, "query", g("query"))
        _put(ev, "record_type", g("qtype_name"))
        _put(ev, "reply_code", g("rcode_name"))
        _put(ev, "answer", g("answers"))
        _put(ev, "transport", g("proto"))
        ev["tag"] = ["network", "resolution", "dns"]
    elif kind == "http":
        _put(ev, "http_method", g("method"))
        _put(ev, "site", g("host"))
        _put(ev, "uri_path", g("uri"))
        if g("host") is not None:
            ev["url"] = "http://%s%s" % (g("host"), g("uri") or "")
        _put(ev, "http_user_agent", g("user_agent"))
        _put(ev, "status", g("status_code"))
        _put(ev, "bytes_out", g("request_body_len"))
        _put(ev, "bytes_in", g("response_body_len"))
        ev["tag"] = ["network", "web"]
    elif kind == "ssl":
        _put(ev, "ssl_subject_common_name", g("server_name"))
        _put(ev, "ssl_version", g("version"))
        ev["tag"] = ["network", "certificate"]


def _zeek_event(kind, fields, raw, path):
    ev = {"sourcetype": ZEEK_SOURCETYPES[kind], "source": str(path), "c2hunt_file": str(path),
          "_raw": raw}
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):
            _put(ev, key, [_zeek_scalar(v) for v in value])
        elif isinstance(value, dict):
            for sub, subval in value.items():  # nested id {orig_h ...} in some exports
                _put(ev, "%s.%s" % (key, sub), _zeek_scalar(subval))
        else:
            _put(ev, key, _zeek_scalar(value))
    ts = ev.get("ts")
    if ts is None:
        raise ValueError("no ts field")
    try:
        ev["_time"] = float(ts)
    except ValueError:
        ev["_time"] = _parse_iso(ts)
    _zeek_cim(ev, kind)
    return ev


def _zeek_scalar(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float) and value.is_integer() is False:
        return repr(value)
    return str(value)


def _zeek_kind_from_name(path):
    base = os.path.basename(str(path)).lower()
    for kind in ZEEK_SOURCETYPES:
        if base.startswith(kind):
            return kind
    return None


def _zeek_kind_from_keys(keys):
    keys = set(keys)
    if {"query", "qtype_name"} & keys or "qtype" in keys:
        return "dns"
    if {"method", "uri"} <= keys or "user_agent" in keys:
        return "http"
    if {"server_name", "cipher"} & keys and "conn_state" not in keys:
        return "ssl"
    if {"conn_state", "orig_bytes", "proto"} & keys:
        return "conn"
    return None


def read_zeek_tsv(path, lines):
    events, issues = [], []
    kind, names, sep, unset, empty = None, None, "\t", "-", "(empty)"
    set_sep = ","
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#separator"):
                sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
            else:
                parts = line.split(sep)
                head = parts[0]
                if head == "#path":
                    kind = parts[1]
                elif head == "#fields":
                    names = parts[1:]
                elif head == "#unset_field":
                    unset = parts[1]
                elif head == "#empty_field":
                    empty = parts[1]
                elif head == "#set_separator":
                    set_sep = parts[1]
            continue
        if names is None:
            issues.append(ReadIssue(path, n, "Zeek TSV data line before the #fields header"))
            continue
        values = line.split(sep)
        if len(values) != len(names):
            issues.append(ReadIssue(path, n, "Zeek TSV line has %d columns, header has %d"
                                    % (len(values), len(names))))
            continue
        kind_here = kind or _zeek_kind_from_name(path) or _zeek_kind_from_keys(names)
        if kind_here not in ZEEK_SOURCETYPES:
            issues.append(ReadIssue(path, n, "unsupported Zeek log type %r (conn, dns, http, ssl)" % kind_here))
            return events, issues
        fields = {}
        for name, value in zip(names, values):
            if value == unset:
                continue
            if value == empty:
                fields[name] = ""
            elif name in ("answers", "TTLs", "tags", "resp_mime_types", "orig_mime_types",
                          "cert_chain_fuids", "client_cert_chain_fuids") and set_sep in value:
                fields[name] = value.split(set_sep)
            else:
                fields[name] = value
        try:
            events.append(_zeek_event(kind_here, fields, line, path))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "bad Zeek record: %s" % exc))
    return events, issues


# ---------------------------------------------------------------------------------------
# osquery results log (Splunk TA for osquery: sourcetype osquery:results, KV_MODE = json)

def _is_osquery_result(obj):
    return "hostIdentifier" in obj and "name" in obj and (
        "columns" in obj or "snapshot" in obj or "diffResults" in obj)


def _json_paths(value, prefix, out):
    """Flatten JSON as Splunk's KV_MODE=json names it: ``a.b`` for objects, ``a{}`` (multivalue)
    for arrays, ``a{}.b`` for objects in arrays."""
    if isinstance(value, dict):
        for key, item in value.items():
            _json_paths(item, "%s.%s" % (prefix, key) if prefix else key, out)
    elif isinstance(value, list):
        for item in value:
            _json_paths(item, prefix + "{}", out)
    elif isinstance(value, bool):  # Splunk renders JSON booleans as true/false
        out.setdefault(prefix, []).append("true" if value else "false")
    elif value is not None:
        out.setdefault(prefix, []).append(_zeek_scalar(value))


def osquery_event(obj, raw, path):
    """One osquery result line (differential ``columns`` or ``snapshot``) as an event.

    Fields as Splunk extracts them (``name``, ``hostIdentifier``, ``action``,
    ``columns.pid``, ``decorations.username``, ``snapshot{}.pid``), plus the TA-osquery
    aliases (``dest`` = ``hostIdentifier``, ``user`` = ``decorations.username``,
    ``process_id`` = ``columns.pid``, ``process_path`` = ``columns.path``,
    ``parent_process_id`` = ``columns.parent``, ``user_id`` = ``columns.uid``). ``host`` is the
    host identifier and ``_time`` is ``unixTime`` (else ``calendarTime``).
    """
    ev = {"sourcetype": OSQUERY_SOURCETYPE, "source": str(path), "_raw": raw}
    fields = {}
    _json_paths(obj, "", fields)
    for key, values in fields.items():
        _put(ev, key, values)
    unix_time = obj.get("unixTime")
    if unix_time not in (None, ""):
        ev["_time"] = float(unix_time)
    elif obj.get("calendarTime"):
        moment = _dt.datetime.strptime(obj["calendarTime"], "%a %b %d %H:%M:%S %Y UTC")
        ev["_time"] = moment.replace(tzinfo=_dt.timezone.utc).timestamp()
    else:
        raise ValueError("osquery result without unixTime or calendarTime")
    _put(ev, "host", obj.get("hostIdentifier"))
    for cim, name in (("dest", "hostIdentifier"), ("user", "decorations.username"),
                      ("process_id", "columns.pid"), ("process_path", "columns.path"),
                      ("parent_process_id", "columns.parent"), ("user_id", "columns.uid")):
        _put(ev, cim, ev.get(name))
    _put(ev, "vendor_product", "osquery")
    return ev


# ---------------------------------------------------------------------------------------
# VMware ESXi syslog (Splunk Add-on for VMware ESXi Logs: sourcetype vmware:esxlog:<program>)

# "<166>2024-05-14T09:00:00.123Z esx01 Hostd[2099]: msg" (RFC 3164 as ESXi sends it, or as a
# syslog server writes it without the PRI), or ESXi 8's own file form
# "2024-05-14T09:00:00.123Z In(166) Hostd[2099]: msg" (no host name; --host or the file name).
_ESXI_LINE = re.compile(
    r"^(?:<(?P<pri>\d{1,3})>)?(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))\s+"
    r"(?:(?P<severity>[A-Z][a-z]\(\d+\))|(?P<host>\S+))\s+"
    r"(?P<program>[A-Za-z][\w.-]*)(?:\[(?P<pid>\d+)\])?:\s?(?P<message>.*)$")
ESXI_PROGRAMS = {"hostd", "vpxa", "shell", "vmkernel", "vmkwarning", "vobd", "vmauthd",
                 "hostd-probe", "rhttpproxy", "vmsyslogd", "esxupdate", "sshd", "ssh", "dcui",
                 "fdm", "sfcb-vmware_base", "crond", "lwsmd", "vmkeventd", "auth"}


def _esxi_match(line):
    match = _ESXI_LINE.match(line.strip())
    if match and match.group("program").lower() in ESXI_PROGRAMS:
        return match
    return None


def read_esxi_syslog(path, lines):
    """ESXi syslog lines (hostd, vpxa, shell, vmkernel ...): one event per line.

    ``sourcetype`` is ``vmware:esxlog:<program>`` (program lower-cased), ``host`` the syslog
    host name when the line has one, ``app`` the program as logged
    (``Hostd``), ``pid`` its process id, ``message`` the text after the header, ``severity``
    ESXi 8's ``In(166)`` marker or the PRI's severity name. Lines that are not ESXi syslog are
    reported and skipped.
    """
    events, issues = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        match = _esxi_match(line)
        if match is None:
            issues.append(ReadIssue(path, n, "not an ESXi syslog line"))
            continue
        try:
            when = _parse_iso(match.group("ts"))
        except ValueError as exc:
            issues.append(ReadIssue(path, n, "bad timestamp: %s" % exc))
            continue
        program = match.group("program")
        ev = {"_time": when, "_raw": line.rstrip("\r\n"), "source": str(path),
              "sourcetype": ESXI_SOURCETYPE_PREFIX + program.lower()}
        _put(ev, "host", match.group("host"))
        _put(ev, "app", program)
        _put(ev, "pid", match.group("pid"))
        _put(ev, "message", match.group("message"))
        severity = match.group("severity")
        if severity is None and match.group("pri") is not None:
            severity = _SYSLOG_SEVERITY[int(match.group("pri")) % 8]
        _put(ev, "severity", severity)
        _put(ev, "dvc", ev.get("host"))
        _put(ev, "vendor_product", "VMware ESXi")
        events.append(ev)
    return events, issues


_SYSLOG_SEVERITY = ("emergency", "alert", "critical", "error", "warning", "notice",
                    "informational", "debug")


# ---------------------------------------------------------------------------------------
# JSON lines / CSV

def read_json_lines(path, lines, sourcetype=None):
    """JSON lines: Windows events, Zeek JSON, c2flow records, or anything with --sourcetype."""
    events, issues = [], []
    zeek_kind = _zeek_kind_from_name(path)
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("a JSON line must hold an object")
        except ValueError as exc:
            issues.append(ReadIssue(path, n, "invalid JSON: %s" % exc))
            continue
        try:
            if sourcetype is None and _is_windows_json(obj):
                system, data = windows_from_json(obj)
                events.append(normalise_windows(system, data, text, str(path)))
                continue
            if (sourcetype is None or sourcetype == OSQUERY_SOURCETYPE) and _is_osquery_result(obj):
                events.append(osquery_event(obj, text, path))
                continue
            if sourcetype is None and obj.get("sourcetype") in (FLOW_SOURCETYPE, DNS_SOURCETYPE):
                from ..flowbridge import capture_event  # imports the app's bin/ code
                events.append(capture_event(obj, text, path, obj["sourcetype"]))
                continue
            kind = None
            if sourcetype is None:
                kind = zeek_kind or (_zeek_kind_from_keys(obj) if "ts" in obj else None)
            elif sourcetype in ZEEK_SOURCETYPES.values():
                kind = [k for k, v in ZEEK_SOURCETYPES.items() if v == sourcetype][0]
            if kind is not None:
                events.append(_zeek_event(kind, obj, text, path))
                continue
            if sourcetype is None:
                issues.append(ReadIssue(path, n, "JSON record of unknown type; give --sourcetype"))
                return events, issues
            events.append(generic_event(obj, text, path, sourcetype))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "bad record: %s" % exc))
    return events, issues


def _coerce_time(value):
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return _parse_iso(str(value))


def generic_event(obj, raw, path, sourcetype):
    """A CSV row or JSON object as an event; ``_time`` from _time/time/timestamp/ts."""
    ev = {"sourcetype": sourcetype, "source": str(path), "c2hunt_file": str(path), "_raw": raw}
    for key, value in obj.items():
        if isinstance(value, (list, tuple)):
            _put(ev, key, [json.dumps(v) if isinstance(v, (dict, list)) else _zeek_scalar(v) for v in value])
        elif isinstance(value, dict):
            _put(ev, key, json.dumps(value, sort_keys=True))
        else:
            _put(ev, key, _zeek_scalar(value))
    ev["sourcetype"] = sourcetype
    for key in ("_time", "time", "timestamp", "ts", "@timestamp"):
        if obj.get(key) not in (None, ""):
            ev["_time"] = _coerce_time(obj[key])
            break
    return ev


def read_csv(path, text, sourcetype):
    events, issues = [], []
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return events, issues
    for row in reader:
        n = reader.line_num
        if not row:
            continue
        if len(row) != len(header):
            issues.append(ReadIssue(path, n, "CSV row has %d columns, header has %d" % (len(row), len(header))))
            continue
        try:
            obj = dict(zip(header, row))
            events.append(generic_event(obj, ",".join(row), path, sourcetype))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "bad CSV row: %s" % exc))
    return events, issues


# ---------------------------------------------------------------------------------------
# packet captures

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
               b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")


def read_pcap(path, app_root):
    """Flow records from a capture through the app's own flow code (bin/c2hunt/flows.py)."""
    from .. import flowbridge
    try:
        _, flows = flowbridge.app_modules(app_root)
    except ImportError as exc:
        return [], [ReadIssue(path, None, "packet captures need bin/c2hunt/flows.py: %s" % exc)]
    return flowbridge.read_capture(flows, path)


# ---------------------------------------------------------------------------------------
# dispatch

def detect_and_read(path, sourcetype=None, app_root=None):
    """Read one file; returns (events, issues). Raises UnknownFormat if nothing matches."""
    path = str(path)
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"ElfFile\x00"):
        return read_evtx(path)
    if head[:4] in PCAP_MAGICS or path.lower().endswith((".pcap", ".pcapng")):
        return read_pcap(path, app_root)
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
    if _AUDIT_HEAD.match(first.strip()):
        return read_auditd(path, lines)
    if _esxi_match(first):
        return read_esxi_syslog(path, lines)
    if first.lstrip().startswith("{"):
        return read_json_lines(path, lines, None)
    raise UnknownFormat("%s:1: unknown log format (not EVTX, Windows XML/JSON, auditd, Zeek, "
                        "ESXi syslog, osquery results, pcap); for CSV or JSON lines give "
                        "--sourcetype" % path)
