"""Packet captures -> ``c2hunt:flow`` and ``c2hunt:dns`` events through the app's own code.

The records come from ``bin/c2hunt/flows.py`` (``read_capture_events``: flows and DNS
transactions in one read), the same code the c2flow modular input runs, so offline results
match what the input would index. The search-time fields props.conf adds (CIM aliases of
the DNS fields, ``app`` from ``service``) and the eventtype tags are added here.
"""
from .readers import FLOW_SOURCETYPE, ReadIssue, generic_event


def read_capture(flows, path):
    """Events and issues for one capture file.

    Parameters
    ----------
    flows : module
        ``c2hunt.flows`` (imported by the caller from the app's bin/).
    path : str
        A .pcap or .pcapng file.
    """
    from c2hunt import dns_wire, pcap
    events, issues = [], []
    stats = pcap.CaptureStats()
    dns_stats = dns_wire.DnsStats()
    try:
        for sourcetype, record in flows.read_capture_events(str(path), stats=stats,
                                                            dns_stats=dns_stats):
            raw = flows.format_event(record)
            event = generic_event(record, raw, path, sourcetype)
            event["_time"] = float(flows.event_time(sourcetype, record))
            if sourcetype == FLOW_SOURCETYPE:
                event["tag"] = ["network", "communicate"]
                if "service" in event:
                    event["app"] = event["service"]
            else:
                event["tag"] = ["network", "resolution", "dns"]
                for alias, name in dns_wire.CIM_ALIASES:
                    if name in event:
                        event[alias] = event[name]
            events.append(event)
    except pcap.CaptureFormatError as exc:  # not a capture at all
        return events, [ReadIssue(path, None, "not a readable packet capture: %s" % exc)]
    except Exception as exc:  # a bug in the flow code must not hide the other files
        return events, [ReadIssue(path, None, "flow extraction failed after %d flows: %s: %s"
                                  % (len(events), type(exc).__name__, exc))]
    # Non-IP frames (ARP, LLDP ...) are normal in a capture and are not reported; damage is.
    for problem in stats.problems() + dns_stats.problems():
        if not problem.startswith("non_ip="):
            issues.append(ReadIssue(path, None, "capture: %s" % problem))
    return events, issues
