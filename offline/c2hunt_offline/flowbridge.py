"""Packet captures -> ``c2hunt:flow`` events through the app's own flow code.

The flow records come from ``bin/c2hunt/flows.py`` (``read_capture_flows``), the same code
the c2flow modular input runs, so offline results match what the input would index.
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
    from c2hunt import pcap
    events, issues = [], []
    stats = pcap.CaptureStats()
    try:
        for record in flows.read_capture_flows(str(path), stats=stats):
            raw = flows.format_event(record)
            event = generic_event(record, raw, path, FLOW_SOURCETYPE)
            event["_time"] = float(record["first_packet_time"])
            event["tag"] = ["network", "communicate"]
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
    return events, issues
