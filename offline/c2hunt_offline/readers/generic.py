"""CSV rows and JSON objects of any other source, under the sourcetype the user gives."""
import csv
import io
import json

from .common import ReadIssue, parse_iso, put, scalar_text


def _coerce_time(value):
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return parse_iso(str(value))


def generic_event(obj, raw, path, sourcetype):
    """A CSV row or JSON object as an event; ``_time`` from _time/time/timestamp/ts."""
    ev = {"sourcetype": sourcetype, "source": str(path), "c2hunt_file": str(path), "_raw": raw}
    for key, value in obj.items():
        if isinstance(value, (list, tuple)):
            put(ev, key, [json.dumps(v) if isinstance(v, (dict, list)) else scalar_text(v) for v in value])
        elif isinstance(value, dict):
            put(ev, key, json.dumps(value, sort_keys=True))
        else:
            put(ev, key, scalar_text(value))
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
