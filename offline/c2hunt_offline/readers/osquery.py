"""osquery results log (Splunk TA for osquery: sourcetype osquery:results, KV_MODE = json)."""
import datetime as _dt

from .common import put, scalar_text

OSQUERY_SOURCETYPE = "osquery:results"


def is_osquery_result(obj):
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
        out.setdefault(prefix, []).append(scalar_text(value))


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
        put(ev, key, values)
    unix_time = obj.get("unixTime")
    if unix_time not in (None, ""):
        ev["_time"] = float(unix_time)
    elif obj.get("calendarTime"):
        moment = _dt.datetime.strptime(obj["calendarTime"], "%a %b %d %H:%M:%S %Y UTC")
        ev["_time"] = moment.replace(tzinfo=_dt.timezone.utc).timestamp()
    else:
        raise ValueError("osquery result without unixTime or calendarTime")
    put(ev, "host", obj.get("hostIdentifier"))
    for cim, name in (("dest", "hostIdentifier"), ("user", "decorations.username"),
                      ("process_id", "columns.pid"), ("process_path", "columns.path"),
                      ("parent_process_id", "columns.parent"), ("user_id", "columns.uid")):
        put(ev, cim, ev.get(name))
    put(ev, "vendor_product", "osquery")
    return ev
