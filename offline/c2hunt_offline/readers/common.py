"""What every reader shares: the issue record, field setting, names and timestamps.

Each reader yields plain dicts (field -> str, or list of str for multivalue fields) with
``_time`` as epoch seconds (float). Problems with one record are collected as
:class:`ReadIssue` (file, line, message) and never stop the other records.
"""
import datetime as _dt
import ntpath
import os
import re

from ..values import shared


class ReadIssue(object):
    """One unreadable record or file, or a warning about how a file was read: where and why.

    ``level`` is ``"error"`` (something was not read) or ``"warning"`` (everything was read,
    but not as a known source: e.g. a Zeek log type read as generic events).
    """

    def __init__(self, path, line, message, level="error"):
        self.path = str(path)
        self.line = line
        self.message = message
        self.level = level

    @property
    def is_error(self):
        return self.level != "warning"

    def __str__(self):
        where = self.path if self.line is None else "%s:%s" % (self.path, self.line)
        if self.is_error:
            return "%s: %s" % (where, self.message)
        return "%s: %s: %s" % (where, self.level, self.message)

    __repr__ = __str__


class UnknownFormat(Exception):
    """The file's format could not be recognised."""


def put(event, key, value):
    """Set a field unless the value is empty or a placeholder (null in Splunk)."""
    if value is None:
        return
    if isinstance(value, list):
        value = [str(v) for v in value if v is not None and str(v) not in ("", "-")]
        if not value:
            return
        event[key] = value if len(value) > 1 else value[0]
        return
    value = str(value)
    if value in ("", "-"):
        return
    event[key] = shared(value)


def path_basename(path):
    if not path:
        return None
    return ntpath.basename(path.replace("/", "\\")) if "\\" in path else os.path.basename(path)


def parse_iso(text):
    """Parse Windows/Sysmon timestamps ('2019-02-16 10:01:46.884037+00:00', ISO 'Z')."""
    text = text.strip().replace("Z", "+00:00")
    if "T" not in text and " " in text:
        text = text.replace(" ", "T", 1)
    # fromisoformat on 3.9/3.10 accepts only 3 or 6 fractional digits
    m = re.match(r"^(.*?\.)(\d+)(.*)$", text)
    if m:
        frac = (m.group(2) + "000000")[:6]
        text = m.group(1) + frac + m.group(3)
    value = _dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.timestamp()



def scalar_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float) and value.is_integer() is False:
        return repr(value)
    return str(value)
