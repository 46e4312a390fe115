"""Telemetry readers: files -> events with the sourcetypes and field names Splunk's TAs produce.

One module per log family (windows, windows_classic, sysmon_linux, auditd, zeek, osquery,
esxi, generic CSV/JSON, capture);
:mod:`.dispatch` picks the reader for a file. Each reader yields plain dicts (field -> str,
or list of str for multivalue fields) with ``_time`` as epoch seconds (float). Problems with
one record are collected as :class:`ReadIssue` (file, line, message, level) and never stop
the other records; ``level="warning"`` marks a file read in full but not as a known source.

The field contract is documented in README.md, section "Offline runner".
"""
from .auditd import AUDIT_SOURCETYPE, decode_saddr, read_auditd
from .capture import DNS_SOURCETYPE, FLOW_SOURCETYPE
from .common import ReadIssue, UnknownFormat
from .dispatch import detect_and_read, read_json_lines
from .esxi import ESXI_SOURCETYPE_PREFIX, read_esxi_syslog
from .generic import generic_event, read_csv
from .osquery import OSQUERY_SOURCETYPE, osquery_event
from .sysmon_linux import read_sysmon_syslog
from .windows import (CLASSIC_SOURCETYPE, SECURITY_SOURCE, SYSMON_LINUX_SOURCETYPE,
                      SYSMON_SOURCE, XML_SOURCETYPE, normalise_windows, read_evtx,
                      read_evtx_python, read_winxml, windows_from_json)
from .windows_classic import read_windows_classic
from .zeek import ZEEK_SOURCETYPES, read_zeek_tsv

__all__ = ["AUDIT_SOURCETYPE", "CLASSIC_SOURCETYPE", "DNS_SOURCETYPE", "ESXI_SOURCETYPE_PREFIX",
           "FLOW_SOURCETYPE", "OSQUERY_SOURCETYPE", "ReadIssue", "SECURITY_SOURCE",
           "SYSMON_LINUX_SOURCETYPE", "SYSMON_SOURCE", "UnknownFormat", "XML_SOURCETYPE",
           "ZEEK_SOURCETYPES", "decode_saddr", "detect_and_read", "generic_event",
           "normalise_windows", "osquery_event", "read_auditd", "read_csv", "read_esxi_syslog",
           "read_evtx", "read_evtx_python", "read_json_lines", "read_sysmon_syslog",
           "read_windows_classic", "read_winxml", "read_zeek_tsv", "windows_from_json"]
