"""Packet captures -> ``c2hunt:flow`` and ``c2hunt:dns`` events through the app's own code.

The records come from ``bin/c2hunt/capture/flows.py`` (``read_capture_events``: flows and DNS
transactions in one read), the same code the c2flow modular input runs, so offline results
match what the input would index. The search-time fields props.conf adds (CIM aliases of
the DNS fields, ``app`` from ``service``) and the eventtype tags are added here.
"""
import os
import sys

from .common import ReadIssue
from .generic import generic_event

FLOW_SOURCETYPE = "c2hunt:flow"
DNS_SOURCETYPE = "c2hunt:dns"
SOURCETYPES = (FLOW_SOURCETYPE, DNS_SOURCETYPE)
PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
               b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")


# The repository is the default app: offline/c2hunt_offline/readers/ -> repo root.
DEFAULT_APP_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _app_capture_code(app_root=None):
    """(dns_wire, flows, pcap) of the app's own capture code, from app_root's bin/.

    The one place the offline runner imports the app's modules (docs/architecture.md): it
    puts the app's bin/ on sys.path, as splunkd's working folder does for the app's scripts,
    and imports the ``c2hunt`` package from there. The search commands never load in this
    process: scp_driver runs bin/<command>.py as a subprocess, exactly as splunkd does. The
    first app imported wins for the life of the process (Python caches the modules).
    """
    bin_dir = os.path.join(str(app_root or DEFAULT_APP_ROOT), "bin")
    if bin_dir not in sys.path:
        sys.path.insert(0, bin_dir)
    from c2hunt.capture import dns_wire, flows, pcap
    return dns_wire, flows, pcap


def app_modules(app_root=None):
    """The app's own capture code (bin/c2hunt/capture/dns_wire.py, flows.py), from app_root's bin/."""
    dns_wire, flows, _ = _app_capture_code(app_root)
    return dns_wire, flows


def capture_event(record, raw, path, sourcetype):
    """A c2flow record as Splunk indexes it: the input's fields plus what props/eventtypes add.

    Used for captures read here and for c2flow events exported as JSON lines, so both give
    the same event: ``_time`` from the record, the CIM tags, and the CIM aliases and EVALs
    of props.conf (tests/content/test_cim_compliance.py checks the result against the CIM).
    """
    dns_wire, flows = app_modules()
    event = generic_event(record, raw, path, sourcetype)
    event["_time"] = float(flows.event_time(sourcetype, record))
    event["vendor_product"] = sourcetype
    if sourcetype == FLOW_SOURCETYPE:
        event["tag"] = ["network", "communicate"]
        event["action"] = "allowed"
        event["app"] = event.get("service", "unknown")
        if event.get("transport") == "icmp":
            event["protocol"] = "icmp"
        if event.get("protocol_version") in ("4", "6"):
            event["protocol_version"] = "ipv" + event["protocol_version"]
    else:
        event["tag"] = ["network", "resolution", "dns"]
        for alias, name in dns_wire.CIM_ALIASES:
            if name in event:
                event[alias] = event[name]
        if "message_type" in event:  # props.conf EVAL-message_type
            event["message_type"] = "Query" if event["message_type"] == "query" else "Response"
        if event.get("rcode_name") in dns_wire.CIM_REPLY_CODES:
            event["reply_code"] = dns_wire.CIM_REPLY_CODES[event["rcode_name"]]
    return event


def read_capture(flows, path):
    """Events and issues for one capture file.

    Parameters
    ----------
    flows : module
        ``c2hunt.flows`` (imported by the caller from the app's bin/).
    path : str
        A .pcap or .pcapng file.
    """
    dns_wire, _, pcap = _app_capture_code()
    events, issues = [], []
    stats = pcap.CaptureStats()
    dns_stats = dns_wire.DnsStats()
    try:
        for sourcetype, record in flows.read_capture_events(str(path), stats=stats,
                                                            dns_stats=dns_stats):
            event = capture_event(record, flows.format_event(record), path, sourcetype)
            events.append(event)
    except pcap.CaptureFormatError as exc:  # not a capture at all
        return events, [ReadIssue(path, None, "not a readable packet capture: %s" % exc)]
    except Exception as exc:  # a bug in the flow code must not hide the other files
        return events, [ReadIssue(path, None, "flow extraction failed after %d flows: %s: %s"
                                  % (len(events), type(exc).__name__, exc))]
    # Non-IP frames (ARP, LLDP ...) are normal in a capture and are not reported; damage is.
    for problem in stats.problems():
        if not problem.startswith("non_ip="):
            issues.append(ReadIssue(path, None, "capture: %s" % problem))
    # DNS messages the decoder skipped (malformed on purpose, split over TCP segments): every
    # flow was still read, so a warning.
    for problem in dns_stats.problems():
        issues.append(ReadIssue(path, None, "capture: %s" % problem, level="warning"))
    return events, issues


def read_pcap(path, app_root):
    """Flow records from a capture through the app's own flow code (bin/c2hunt/capture/flows.py)."""
    try:
        _, flows = app_modules(app_root)
    except ImportError as exc:
        return [], [ReadIssue(path, None, "packet captures need bin/c2hunt/capture/flows.py: %s" % exc)]
    return read_capture(flows, path)
