"""Render simulated telemetry in the forms Splunk indexes.

Each renderer takes one plain record (a dict built by :mod:`c2hunt_sim.scenarios`) and
returns one line of text, exactly as the matching Splunk add-on indexes one event:

- Sysmon Event ID 1 and 3: ``XmlWinEventLog`` XML, one ``<Event>`` per line
  (Splunk Add-on for Sysmon, ``source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational``).
- Windows Security 5156 (Windows Filtering Platform permitted a connection): ``XmlWinEventLog``
  XML (Splunk Add-on for Microsoft Windows, ``source=XmlWinEventLog:Security``).
- Linux audit records: ``type=... msg=audit(<epoch>.<ms>:<serial>): key=value ...``
  (``sourcetype=linux:audit``), one record per line, several records per audit event.
- Sysmon Event ID 17/18 (named pipe created/connected) and 22 (DNS query) in the same form.
- Zeek ``conn.log``, ``dns.log`` and ``http.log``: JSON lines, Zeek's own field names (``id.orig_h`` ...).
- VMware ESXi syslog (hostd, vpxa, shell): ``<PRI>ISO-time host Program[pid]: message``
  (Splunk Add-on for VMware ESXi Logs, ``sourcetype=vmware:esxlog:<program>``).
- osquery results log: one JSON object per differential row (``name``, ``hostIdentifier``,
  ``calendarTime``, ``unixTime``, ``columns``, ``action``), ``sourcetype=osquery:results``.

Times are UTC epoch seconds (float) in the records; renderers format them.
"""
import datetime
import json
from xml.sax.saxutils import escape, quoteattr

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SYSMON_PROVIDER = ("Microsoft-Windows-Sysmon", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}")
SYSMON_LINUX_PROVIDER = ("Linux-Sysmon", "{ff032593-a8d3-4f13-b0d6-01fc615a0f97}")
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SECURITY_PROVIDER = ("Microsoft-Windows-Security-Auditing",
                     "{54849625-5478-4994-a5ba-3e3b0328c30d}")

# Windows Filtering Platform message-table ids as they appear in the XML form.
WFP_DIRECTION = {"outbound": "%%14593", "inbound": "%%14592"}
WFP_LAYER = {"outbound": ("%%14611", "48"), "inbound": ("%%14610", "44")}
IANA_PROTOCOL = {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58}


def _utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def windows_system_time(epoch):
    """``2024-05-14T09:00:00.1234567Z``: the TimeCreated SystemTime form (100 ns ticks)."""
    moment = _utc(epoch)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (moment.microsecond * 10)


def sysmon_utc_time(epoch):
    """``2024-05-14 09:00:00.123``: the UtcTime form in Sysmon's EventData."""
    moment = _utc(epoch)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (moment.microsecond // 1000)


def _xml_event(provider, event_id, version, task, keywords, record):
    """One ``<Event>`` element on one line, fields in the order the record lists them."""
    name, guid = provider
    system = (
        "<System><Provider Name=%s Guid=%s/><EventID>%d</EventID><Version>%d</Version>"
        "<Level>%d</Level><Task>%d</Task><Opcode>0</Opcode><Keywords>%s</Keywords>"
        "<TimeCreated SystemTime=%s/><EventRecordID>%d</EventRecordID><Correlation/>"
        "<Execution ProcessID=%s ThreadID=%s/><Channel>%s</Channel>"
        "<Computer>%s</Computer>%s</System>"
        % (quoteattr(name), quoteattr(guid), event_id, version, record.get("level", 4), task,
           keywords, quoteattr(windows_system_time(record["time"])), record["record_id"],
           quoteattr(str(record.get("logger_pid", 3320))),
           quoteattr(str(record.get("logger_tid", 4512))),
           escape(record["channel"]), escape(record["computer"]),
           "<Security UserID='S-1-5-18'/>" if record["channel"] != "Security" else "<Security/>"))
    data = "".join("<Data Name=%s>%s</Data>" % (quoteattr(key), escape(str(value)))
                   for key, value in record["data"])
    return "<Event xmlns=%s>%s<EventData>%s</EventData></Event>" % (
        quoteattr(EVENT_NS), system, data)


def sysmon_process_create(record):
    """Sysmon Event ID 1 (process creation) from a process record."""
    proc = record["process"]
    parent = record["parent"]
    data = [
        ("RuleName", "-"), ("UtcTime", sysmon_utc_time(record["time"])),
        ("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]), ("Image", proc["image"]),
        ("FileVersion", proc.get("file_version", "-")),
        ("Description", proc.get("description", "-")),
        ("Product", proc.get("product", "-")), ("Company", proc.get("company", "-")),
        ("OriginalFileName", proc.get("original_file_name", "-")),
        ("CommandLine", proc["command_line"]),
        ("CurrentDirectory", proc.get("current_directory", "C:\\Windows\\system32\\")),
        ("User", proc["user"]), ("LogonGuid", proc.get("logon_guid", "-")),
        ("LogonId", proc.get("logon_id", "0x3e7")), ("TerminalSessionId", proc.get("session", 1)),
        ("IntegrityLevel", proc.get("integrity", "Medium")),
        ("Hashes", proc.get("hashes", "-")),
        ("ParentProcessGuid", parent["guid"]), ("ParentProcessId", parent["pid"]),
        ("ParentImage", parent["image"]), ("ParentCommandLine", parent["command_line"]),
        ("ParentUser", parent["user"]),
    ]
    return _xml_event(record.get("provider", SYSMON_PROVIDER), 1, 5, 1, "0x8000000000000000",
                      dict(record, channel=record.get("channel", SYSMON_CHANNEL), data=data))


def sysmon_image_load(record):
    """Sysmon Event ID 7 (image loaded) with the loaded file's code signature."""
    proc = record["process"]
    data = [
        ("RuleName", "-"), ("UtcTime", sysmon_utc_time(record["time"])),
        ("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]), ("Image", proc["image"]),
        ("ImageLoaded", record["image_loaded"]), ("FileVersion", "-"), ("Description", "-"),
        ("Product", "-"), ("Company", "-"), ("OriginalFileName", "-"), ("Hashes", "-"),
        ("Signed", "true" if record["signature"] else "false"),
        ("Signature", record["signature"] or "-"),
        ("SignatureStatus", record["signature_status"]), ("User", proc["user"]),
    ]
    return _xml_event(SYSMON_PROVIDER, 7, 3, 7, "0x8000000000000000", dict(
        record, channel="Microsoft-Windows-Sysmon/Operational", data=data))


def sysmon_network_connect(record):
    """Sysmon Event ID 3 (network connection) from a connection record."""
    proc = record["process"]
    data = [
        ("RuleName", "-"), ("UtcTime", sysmon_utc_time(record["time"])),
        ("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]), ("Image", proc["image"]),
        ("User", proc["user"]), ("Protocol", record["transport"]),
        ("Initiated", "true" if record.get("initiated", True) else "false"),
        ("SourceIsIpv6", "false"), ("SourceIp", record["src"]),
        ("SourceHostname", record.get("src_hostname", "-")),
        ("SourcePort", record["src_port"]), ("SourcePortName", "-"),
        ("DestinationIsIpv6", "false"), ("DestinationIp", record["dest"]),
        ("DestinationHostname", record.get("dest_hostname", "-")),
        ("DestinationPort", record["dest_port"]),
        ("DestinationPortName", record.get("dest_port_name", "-")),
    ]
    return _xml_event(record.get("provider", SYSMON_PROVIDER), 3, 5, 3, "0x8000000000000000",
                      dict(record, channel=record.get("channel", SYSMON_CHANNEL), data=data))


def sysmon_dns_query(record):
    """Sysmon Event ID 22 (DNS query): the name, its status and answers (``results`` as Sysmon
    writes them, or built from a list of ``answers``), and the process."""
    proc = record["process"]
    answers = record.get("answers") or ()
    results = record.get("results") or "".join("::ffff:%s;" % answer for answer in answers) or "-"
    data = [
        ("RuleName", "-"), ("UtcTime", sysmon_utc_time(record["time"])),
        ("ProcessGuid", proc["guid"]), ("ProcessId", proc["pid"]),
        ("QueryName", record["query"]), ("QueryStatus", record.get("status", 0)),
        ("QueryResults", results), ("Image", proc["image"]),
        ("User", proc["user"]),
    ]
    return _xml_event(SYSMON_PROVIDER, 22, 5, 22, "0x8000000000000000",
                      dict(record, channel=SYSMON_CHANNEL, data=data))


def sysmon_linux_syslog(record, xml):
    """A Sysmon for Linux record as rsyslog writes it to /var/log/syslog (RFC 3164 header,
    the program tag ``sysmon``, then the ``<Event>`` XML on the same line)."""
    moment = _utc(record["time"])
    return "%s %2d %s %s sysmon[%d]: %s" % (moment.strftime("%b"), moment.day,
                                          moment.strftime("%H:%M:%S"),
                                          record["computer"].split(".")[0],
                                          record.get("logger_pid", 812), xml)


def sysmon_pipe_event(record):
    """Sysmon Event ID 17 (pipe created) or 18 (pipe connected) of a process."""
    proc = record["process"]
    created = record.get("created", True)
    data = [
        ("RuleName", "-"), ("EventType", "CreatePipe" if created else "ConnectPipe"),
        ("UtcTime", sysmon_utc_time(record["time"])), ("ProcessGuid", proc["guid"]),
        ("ProcessId", proc["pid"]), ("PipeName", record["pipe_name"]), ("Image", proc["image"]),
        ("User", proc["user"]),
    ]
    event_id = 17 if created else 18
    return _xml_event(SYSMON_PROVIDER, event_id, 1, event_id, "0x8000000000000000", dict(
        record, channel="Microsoft-Windows-Sysmon/Operational", data=data))


def wfp_device_path(image):
    """``C:\\Windows\\x.exe`` -> ``\\device\\harddiskvolume3\\windows\\x.exe`` (5156's form)."""
    if len(image) > 2 and image[1] == ":":
        return "\\device\\harddiskvolume3" + image[2:].lower()
    return image


def wfp_connection(record):
    """Windows Security 5156 from a connection record (``direction`` outbound|inbound)."""
    proc = record["process"]
    direction = record.get("direction", "outbound")
    layer_name, layer_rtid = WFP_LAYER[direction]
    data = [
        ("ProcessID", proc["pid"]), ("Application", wfp_device_path(proc["image"])),
        ("Direction", WFP_DIRECTION[direction]), ("SourceAddress", record["src"]),
        ("SourcePort", record["src_port"]), ("DestAddress", record["dest"]),
        ("DestPort", record["dest_port"]), ("Protocol", IANA_PROTOCOL[record["transport"]]),
        ("FilterRTID", record.get("filter_rtid", 70745)), ("LayerName", layer_name),
        ("LayerRTID", layer_rtid), ("RemoteUserID", "S-1-0-0"), ("RemoteMachineID", "S-1-0-0"),
    ]
    return _xml_event(SECURITY_PROVIDER, 5156, 1, 12810, "0x8020000000000000", dict(
        record, channel="Security", level=0, logger_pid=4, data=data))


def security_logon(record):
    """Windows Security 4624 (an account logged on) from a logon record."""
    data = [
        ("SubjectUserSid", "S-1-5-18"), ("SubjectUserName", record["computer"].split(".")[0] + "$"),
        ("SubjectDomainName", record["domain"]), ("SubjectLogonId", "0x3e7"),
        ("TargetUserSid", record.get("user_sid", "S-1-5-21-1004336348-1177238915-682003330-1104")),
        ("TargetUserName", record["user"]), ("TargetDomainName", record["domain"]),
        ("TargetLogonId", record.get("logon_id", "0x1f2c3a")),
        ("LogonType", record["logon_type"]), ("LogonProcessName", "User32 "),
        ("AuthenticationPackageName", "Negotiate"),
        ("WorkstationName", record["computer"].split(".")[0].upper()),
        ("LogonGuid", "{00000000-0000-0000-0000-000000000000}"),
        ("TransmittedServices", "-"), ("LmPackageName", "-"), ("KeyLength", 0),
        ("ProcessId", "0x2d4"), ("ProcessName", "C:\\Windows\\System32\\winlogon.exe"),
        ("IpAddress", record["ip"]), ("IpPort", record["port"]),
        ("ImpersonationLevel", "%%1833"), ("RestrictedAdminMode", "%%1843"),
        ("TargetOutboundUserName", "-"), ("TargetOutboundDomainName", "-"),
        ("VirtualAccount", "%%1843"), ("TargetLinkedLogonId", "0x0"),
        ("ElevatedToken", "%%1842"),
    ]
    return _xml_event(SECURITY_PROVIDER, 4624, 2, 12544, "0x8020000000000000", dict(
        record, channel="Security", level=0, logger_pid=724, data=data))


def audit_record(record):
    """One Linux audit record line: ``[node=N] type=T msg=audit(E.mmm:S): k=v ...``.

    ``record["fields"]`` is a list of (key, value, quoted) triples; quoted values are written
    in double quotes as auditd writes strings that need no hex encoding.
    """
    stamp = "%.3f" % record["time"]
    parts = ["type=%s" % record["type"], "msg=audit(%s:%d):" % (stamp, record["serial"])]
    if record.get("node"):  # auditd.conf name_format=fqd prefixes every record
        parts.insert(0, "node=%s" % record["node"])
    for key, value, quoted in record["fields"]:
        parts.append('%s="%s"' % (key, value) if quoted else "%s=%s" % (key, value))
    return " ".join(parts)


ZEEK_CONN_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
                    "service", "duration", "orig_bytes", "resp_bytes", "conn_state",
                    "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts",
                    "orig_ip_bytes", "resp_pkts", "resp_ip_bytes")
ZEEK_DNS_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
                   "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name",
                   "rcode", "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs",
                   "rejected")


def _zeek_json(record, fields):
    """Zeek's JSON writer: fields in log order, unset fields omitted, ts as epoch float."""
    out = {}
    for name in fields:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, float):
            value = round(value, 6)
        out[name] = value
    return json.dumps(out, separators=(",", ":"))


ZEEK_HTTP_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p",
                    "trans_depth", "method", "host", "uri", "version", "user_agent",
                    "request_body_len", "response_body_len", "status_code", "status_msg")


def zeek_conn(record):
    """One Zeek conn.log JSON line."""
    return _zeek_json(record, ZEEK_CONN_FIELDS)


def zeek_dns(record):
    """One Zeek dns.log JSON line."""
    return _zeek_json(record, ZEEK_DNS_FIELDS)


def zeek_http(record):
    """One Zeek http.log JSON line."""
    return _zeek_json(record, ZEEK_HTTP_FIELDS)


def esxi_syslog(record):
    """One ESXi syslog line: ``<166>2024-05-14T09:00:00.123Z esx01 Hostd[2099715]: ...``."""
    moment = _utc(record["time"])
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)
    return "<%d>%s %s %s[%d]: %s" % (record["pri"], stamp, record["host"], record["program"],
                                     record["pid"], record["message"])


def osquery_result(record):
    """One osquery results-log line (differential format, as osqueryd's filesystem logger)."""
    moment = _utc(record["time"])
    out = {"name": record["name"], "hostIdentifier": record["hostIdentifier"],
           "calendarTime": moment.strftime("%a %b %d %H:%M:%S %Y UTC"),
           "unixTime": int(record["time"]), "epoch": 0, "counter": record["counter"],
           "numerics": False, "decorations": record["decorations"],
           "columns": record["columns"], "action": record["action"]}
    return json.dumps(out, separators=(",", ":"))


def cim_export(record):
    """One CIM-mapped event as Splunk exports a search result (``splunk search ... -output
    json``, the REST export endpoint): ``{"preview": false, "result": {...}}`` with ``_time``
    in ISO form, the sourcetype, and the search-time tags that place it in a data model."""
    moment = _utc(record["_time"])
    result = {"_time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+00:00" % (moment.microsecond // 1000)}
    for key, value in record.items():
        if key != "_time" and value is not None:
            result[key] = value if isinstance(value, list) else str(value)
    return json.dumps({"preview": False, "result": result}, separators=(",", ":"))
