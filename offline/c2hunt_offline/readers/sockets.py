"""c2sockets records (``c2hunt:socket``) as Splunk indexes them, from JSON lines.

A line is either the input's record itself (the JSON the c2sockets input writes as the
event text) or a Splunk export of such an event (its ``_raw`` holds the record). props.conf's
search-time fields are added here: ``dest`` (the host), ``dest_port`` (a TCP/UDP/vsock socket's local port) and
``vendor_product``.
"""
import json

from .generic import generic_event

SOCKET_SOURCETYPE = "c2hunt:socket"
# Keys every c2sockets record carries; together they tell it from any other JSON.
_RECORD_KEYS = ("socket_id", "socket_inode", "last_seen", "first_seen", "transport")


def socket_record(obj):
    """The c2sockets record in a JSON object (itself or its exported ``_raw``), or None."""
    if all(key in obj for key in _RECORD_KEYS):
        return obj
    raw = obj.get("_raw")
    if obj.get("sourcetype") == SOCKET_SOURCETYPE and isinstance(raw, str):
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        if isinstance(record, dict) and all(key in record for key in _RECORD_KEYS):
            return dict(record, host=obj.get("host", record.get("host")))
    return None


def socket_event(record, raw, path):
    event = generic_event({k: v for k, v in record.items() if v is not None}, raw, path,
                          SOCKET_SOURCETYPE)
    event["_time"] = float(record["last_seen"])
    event["vendor_product"] = SOCKET_SOURCETYPE
    if record.get("host") not in (None, ""):
        event["dest"] = event["host"]
    # props.conf: only a TCP, UDP or vsock socket's local port is a port (a raw socket's is
    # its IP protocol, an ICMP socket's its echo identifier).
    if "local_port" in event and event.get("transport") in ("tcp", "udp", "vsock"):
        event["dest_port"] = event["local_port"]
    return event
