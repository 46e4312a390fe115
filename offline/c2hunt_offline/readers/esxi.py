"""VMware ESXi syslog (Splunk Add-on for VMware ESXi Logs: sourcetype vmware:esxlog:<program>)."""
import re

from .common import ReadIssue, parse_iso, put

ESXI_SOURCETYPE_PREFIX = "vmware:esxlog:"

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


def esxi_match(line):
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
        match = esxi_match(line)
        if match is None:
            issues.append(ReadIssue(path, n, "not an ESXi syslog line"))
            continue
        try:
            when = parse_iso(match.group("ts"))
        except ValueError as exc:
            issues.append(ReadIssue(path, n, "bad timestamp: %s" % exc))
            continue
        program = match.group("program")
        ev = {"_time": when, "_raw": line.rstrip("\r\n"), "source": str(path),
              "sourcetype": ESXI_SOURCETYPE_PREFIX + program.lower()}
        put(ev, "host", match.group("host"))
        put(ev, "app", program)
        put(ev, "pid", match.group("pid"))
        put(ev, "message", match.group("message"))
        severity = match.group("severity")
        if severity is None and match.group("pri") is not None:
            severity = _SYSLOG_SEVERITY[int(match.group("pri")) % 8]
        put(ev, "severity", severity)
        put(ev, "dvc", ev.get("host"))
        put(ev, "vendor_product", "VMware ESXi")
        events.append(ev)
    return events, issues


_SYSLOG_SEVERITY = ("emergency", "alert", "critical", "error", "warning", "notice",
                    "informational", "debug")
