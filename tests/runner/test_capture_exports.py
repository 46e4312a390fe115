"""c2flow events exported from Splunk as JSON lines read back like the capture itself."""
import json

import synthetic  # tests/flow/synthetic.py: the project's own pcap writer
from c2hunt_offline import load_events
from c2hunt_offline.readers.capture import app_modules

VOLATILE = {"source", "c2hunt_file", "_raw", "linecount", "host", "index"}


def comparable(event):
    return {key: value for key, value in event.items() if key not in VOLATILE}


def test_exported_flow_and_dns_events_match_the_capture(tmp_path):
    capture = tmp_path / "tunnel.pcap"
    synthetic.write_pcap(capture, synthetic.by_time(
        synthetic.dns_tunnel("10.0.0.5", "10.0.0.53", 30, 1700000000.0),
        synthetic.ping("10.0.0.5", "10.0.0.9", 4, 1700000001.0)))
    from_capture, issues = load_events([str(capture)])
    assert issues == []
    assert {event["sourcetype"] for event in from_capture} == {"c2hunt:flow", "c2hunt:dns"}

    # What a Splunk export of the indexed events looks like: the event JSON plus sourcetype.
    _, flows = app_modules()
    export = tmp_path / "export.json"
    with open(export, "w") as out:
        for sourcetype, record in flows.read_capture_events(str(capture)):
            exported = json.loads(flows.format_event(record))
            exported["sourcetype"] = sourcetype
            out.write(json.dumps(exported) + "\n")
    from_export, issues = load_events([str(export)])
    assert issues == []
    assert [comparable(event) for event in from_export] == \
        [comparable(event) for event in from_capture]
    dns = [event for event in from_export if event["sourcetype"] == "c2hunt:dns"]
    assert dns and all("network" in event["tag"] and "dns" in event["tag"] for event in dns)
    assert all(event["_time"] >= 1700000000.0 for event in from_export)
