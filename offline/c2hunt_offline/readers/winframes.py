"""Windows XML event exports read straight into polars frames: no dict per event.

:class:`WinXmlLog` reads an ``XmlWinEventLog`` text export (one ``<Event>`` a line, as Splunk
renders them and as the scale benchmark writes them) a block of lines at a time, and holds
exactly what :func:`..windows.read_winxml` + :func:`..windows.normalise_windows` give for the
file, as :func:`..columnar.table.frame_from_rows` would hold those events (the scheme of
:mod:`.frames`: same columns, same values, same issues). The System fields are taken by one
short regular expression each, the ``<Data Name=...>`` pairs by ``str.extract_all`` exploded
and pivoted into columns, and the CIM fields (Sysmon's network, process and DNS events) are
column expressions: no Python object per field.

Exactness comes first. A line is read here only when it matches, as a whole, the layout
Windows renders (:data:`_RECORD`: the System children in Windows' order, each at most once and
with its attributes in Windows' order, then EventData of ``<Data Name=...>`` elements only, one
quote style per value, the five predefined entities and nothing else escaped); anything else
in a record (numeric character references, CDATA, comments, nested or unknown elements,
UserData, Binary, attributes in another order, control characters an XML parser refuses, a
Data name given twice or one the event itself sets, a Security process event (and a WFP one
from EVTX), a UNC image path, a timestamp polars and Python might read apart) sends that
record to the dict reader's own functions, so its event or its issue is theirs by
construction; so does a record not closed on its own line (cut, as ``read_winxml`` cuts it,
up to the next record, across blocks). A file whose records this cannot cut that way (two
records on a line) or whose text it cannot hold (invalid UTF-8, lone carriage returns) raises
``_NotNative``: the caller reads it with the dict readers.

:class:`EvtxFrames` reads binary EVTX the same way: the Rust parser's records (the parser
``read_evtx`` uses), a batch at a time, each record's XML read as an export line.

Memory: one block's text, its lines and the columns extracted from them (the Data pairs
exploded, about 18 a Sysmon event, for ``SLICE_ROWS`` records at a time) are held while it is
converted, then only the block's event columns: about 10 times the block's text (measured,
reading a 256 MB Sysmon export block by block and dropping the frames: peak RSS 316 MiB at
8 MB blocks, 543 MiB at 32 MB, 905 MiB at 64 MB; 52 MiB of it Python and polars).
"""
import functools
import os
import re

import polars as pl

from .common import ReadIssue, parse_iso
from .frames import _PY_SPACE, _NotNative
from .windows import (IANA_TRANSPORT, SYSMON_CHANNEL, SYSMON_CHANNELS, SYSMON_LINUX_CHANNEL, SYSMON_LINUX_SOURCE,
                      SYSMON_LINUX_SOURCETYPE, XML_SOURCETYPE, _SYSMON_BOOLEANS, evtx_record_texts,
                      normalise_windows, windows_event_from_xml)
from ..columnar.table import frame_from_rows

# Records converted at a time: the exploded and pivoted Data pairs are held for a slice of a
# block, not the whole block (8,192 Sysmon records are about 10 MB of text).
SLICE_ROWS = 8192

# Where read_winxml cuts records: r"<Event[\s>]" in Python, whose \s also takes \x1c-\x1f.
_START = r"<Event[\s\x1c-\x1f>]"
_PY_START = re.compile(r"<Event[\s>]")
# a record's start on one line: "<Event" then a space or ">", or the line's end (its newline)
_PY_START_OR_LINE_END = re.compile(r"<Event(?:[\s>]|$)")
# Characters an XML parser refuses: a line holding one (or "]]>") goes to the dict reader.
_REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"

# The record as Windows renders it (see the module docstring).
_S, _E = r"[ \t]+", r"[ \t]*"
# (an XML parser turns a tab, CR or LF in an attribute into a space, a CR in text into LF)
_VALUE = r"""(?:"[^"<&\t\r\n%s]*"|'[^'<&\t\r\n%s]*')""" % (_REFUSED, _REFUSED)
_NAME_VALUE = r"""(?:"[^"<&\t\r\n%s]+"|'[^'<&\t\r\n%s]+')""" % (_REFUSED, _REFUSED)
_TEXT = r"(?:[^<&\r%s]|&(?:lt|gt|amp|quot|apos);)*" % _REFUSED


def _attrs(*names):
    return "".join(r"(?:%s%s=%s)?" % (_S, name, _VALUE) for name in names)


def _text_element(tag, attrs=()):
    return r"(?:<%s%s%s(?:>%s</%s>|/>))?" % (tag, _attrs(*attrs), _E, _TEXT, tag)


def _empty_element(tag, *attrs):
    return r"(?:<%s%s%s(?:/>|></%s>))?" % (tag, _attrs(*attrs), _E, tag)


_SYSTEM = ("<System>" + _empty_element("Provider", "Name", "Guid", "EventSourceName")
           + _text_element("EventID", ("Qualifiers",))
           + "".join(_text_element(tag) for tag in ("Version", "Level", "Task", "Opcode", "Keywords"))
           + _empty_element("TimeCreated", "SystemTime") + _text_element("EventRecordID")
           + _empty_element("Correlation", "ActivityID", "RelatedActivityID")
           + _empty_element("Execution", "ProcessID", "ThreadID", "ProcessorID", "SessionID",
                            "KernelTime", "UserTime", "ProcessorTime")
           + _text_element("Channel") + _text_element("Computer") + _empty_element("Security", "UserID")
           + "</System>")
_DATA = r"<Data%sName=%s%s(?:>%s</Data>|/>)" % (_S, _NAME_VALUE, _E, _TEXT)
_RECORD = (r"^[ \t]*<Event(?:%sxmlns=(?:\"[^\"<&\t}%s]*\"|'[^'<&\t}%s]*'))?%s>%s"
           r"(?:<EventData>(?:%s)*</EventData>|<EventData%s/>)?</Event>[ \t]*$"
           % (_S, _REFUSED, _REFUSED, _E, _SYSTEM, _DATA, _E))
_DATA_PARTS = r"""^<Data[ \t]+Name=(?:"(?P<d>[^"]*)"|'(?P<s>[^']*)')[ \t]*(?:>(?P<v>[^<]*)</Data>|/>)$"""

# System values: element text (stripped, as windows_event_from_xml strips it) or attribute.
_SYSTEM_TEXT = {tag: r"<%s(?:[ \t][^>]*)?>([^<]*)</%s>" % (tag, tag)
                for tag in ("EventID", "Version", "Level", "Task", "Opcode", "Keywords",
                            "EventRecordID", "Channel", "Computer")}
_SYSTEM_ATTRIBUTE = {"SystemTime": r"""<TimeCreated[ \t]+SystemTime=("[^"]*"|'[^']*')""",
                     "Provider": r"""<Provider[ \t]+Name=("[^"]*"|'[^']*')"""}

# Fields normalise_windows sets itself (and the runner's defaults): a Data element of that
# name changes what the event's own fields become, so such a record is the dict reader's.
_OWN_FIELDS = frozenset((
    "_raw", "sourcetype", "source", "c2hunt_file", "_time", "Channel", "Computer", "EventRecordID",
    "Provider", "Level", "Task", "Opcode", "Keywords", "Version", "EventCode", "EventID",
    "signature_id", "host", "dvc", "process_path", "process", "process_name", "process_id", "user",
    "src", "src_ip", "src_port", "dest", "dest_ip", "dest_port", "transport", "protocol", "direction",
    "app", "tag", "parent_process", "parent_process_path", "parent_process_name", "query", "answer",
    "index", "linecount", "action", "Application_Name", "Source_Address", "Source_Port",
    "Destination_Address", "Destination_Port", "Process_ID", "Layer_Name", "Filter_Run_Time_ID"))
_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.([0-9]+))?Z$"
_WFP_EVENTS = ("5156", "5157", "5152", "5158")  # windows._cim_security's network events
# Their Data names and the fields _cim_security gives them (classic rendering's names)
_WFP_FIELDS = (("Application_Name", "Application"), ("Source_Address", "SourceAddress"),
               ("Source_Port", "SourcePort"), ("Destination_Address", "DestAddress"),
               ("Destination_Port", "DestPort"), ("Process_ID", "ProcessID"),
               ("Layer_Name", "LayerName"), ("Filter_Run_Time_ID", "FilterRTID"))
_TAGS = {"3": ["network", "communicate"], "1": ["process", "report"],
         "22": ["network", "resolution", "dns"]}


def is_winxml_start(start):
    """The (decoded) start of a file that ``_read_text`` reads as Windows XML."""
    stripped = start.lstrip()
    return stripped.startswith(("<Event", "<?xml", "<Events"))


class WinXmlLog(object):
    """A Windows XML export as read_winxml reads it, a block of lines at a time (the
    interface of :mod:`.frames`' readers: ``add_block``, ``frames``, ``finish``)."""

    def __init__(self, path, from_binary=False):
        self.path = path
        self.from_binary = from_binary  # records rendered from binary EVTX (normalise_windows')
        self.frames = []
        self.issues = []  # (line, issue)
        self.segment = None  # (line, lines) of a record not closed on its own line

    def add_block(self, block, lines, first_line):
        # CRLF: the \r follows </Event>, outside the record
        text = lines.str.strip_chars_end("\r") if b"\r" in block else lines
        numbers = pl.int_range(first_line, first_line + len(text), eager=True, dtype=pl.Int64)
        # a line of the Windows layout holds one whole record (no other "<" in it)
        native = text.str.contains(_RECORD) & ~text.str.contains("]]>", literal=True)
        # a line ending in "<Event" starts a record too (the newline is the \s after it),
        # unless it is the file's last line and has none
        trailing = text.str.ends_with("<Event")
        if trailing.any() and not block.endswith(b"\n"):
            trailing = trailing.scatter(len(trailing) - 1, False)
        starts = text.str.count_matches(_START) + trailing.cast(pl.UInt32)
        if (starts > 1).any():
            raise _NotNative("two records on a line")
        has_start = starts == 1
        complete = native.clone()  # scatter writes in place
        rest = (has_start & ~native).arg_true()
        if len(rest):
            complete = complete.scatter(rest, text.gather(rest).str.contains(_START + ".*</Event>"))
        if self.segment is not None or (has_start & ~complete).any():
            self._open_records(block, lines, has_start, complete, numbers)
        python = complete & ~native
        records = pl.DataFrame({"__line": numbers, "__text": text}).filter(native)
        handed = []
        for start in range(0, records.height, SLICE_ROWS):
            frame, more = self._events(records.slice(start, SLICE_ROWS))
            if more is not None and len(more):
                handed.append(more + start)
            if frame.height:
                self.frames.append(frame)
        if handed:
            python = python.scatter(native.arg_true().gather(pl.concat(handed)), True)
        if python.any():
            self._python_lines(text.filter(python).to_list(), numbers.filter(python).to_list())

    def _open_records(self, block, lines, has_start, complete, numbers):
        """Records not closed on their own line, read as read_winxml cuts them: from the
        record's start up to the next record's, in Python (a segment may run into the next
        block). Lines of a segment are kept as read: polars' lines lose a CRLF's \r."""
        if b"\r" in block:
            texts = block.decode("utf-8").split("\n")
            if block.endswith(b"\n"):
                texts.pop()
        else:
            texts = lines.to_list()
        starts, ends = has_start.to_list(), complete.to_list()
        for text, start, end, number in zip(texts, starts, ends, numbers.to_list()):
            if start:
                if self.segment is not None:
                    # the text before this line's record is the open record's end (Event
                    # Viewer's export: "...</Message></RenderingInfo></Event><Event xmlns=...")
                    cut = _PY_START_OR_LINE_END.search(text)
                    if cut is not None and cut.start():
                        self.segment[1].append(text[:cut.start()])
                self._close_segment()
                if not end:
                    self.segment = (number, [text])
            elif self.segment is not None:
                self.segment[1].append(text)

    def _close_segment(self):
        if self.segment is None:
            return
        number, texts = self.segment
        self.segment = None
        text = "\n".join(texts) + "\n"  # the segment runs on to the next record's line
        start = _PY_START.search(text).start()
        end = text.find("</Event>", start)
        if end < 0:
            self._issue(number, "Windows XML event without </Event>")
            return
        self._python_records([text[start:end + len("</Event>")]], [number])

    def _issue(self, line, message):
        self.issues.append((line, ReadIssue(self.path, line, message)))

    def _python_lines(self, texts, numbers):
        """Lines the dict reader's functions read: their events and issues."""
        records = []
        for text in texts:
            start = _PY_START.search(text).start()
            records.append(text[start:text.index("</Event>", start) + len("</Event>")])
        self._python_records(records, numbers)

    def _python_records(self, records, numbers):
        events = []
        for xml_text, number in zip(records, numbers):
            try:
                system, data = windows_event_from_xml(xml_text)
                event = normalise_windows(system, data, xml_text, str(self.path))
            except Exception as exc:  # noqa: BLE001  (read_winxml's issue)
                self._issue(number, "unreadable Windows XML event: %s" % exc)
                continue
            if "__line" in event:
                raise _NotNative("a record holding __line")
            event["__line"] = number
            events.append(event)
        if events:
            self.frames.append(frame_from_rows(events))

    def finish(self):
        self._close_segment()
        self.issues.sort(key=lambda item: item[0])
        return self.frames, [issue for _, issue in self.issues]

    # ------------------------------------------------------------ the events (normalise_windows)
    def _events(self, frame):
        """(events frame, positions of ``frame``'s rows the dict reader must make instead)."""
        if not frame.height:
            return frame, None
        lines = frame.get_column("__text")
        system = {name: _unescape(lines.str.extract(pattern)).str.strip_chars(_PY_SPACE)
                  for name, pattern in _SYSTEM_TEXT.items()}
        for name, pattern in _SYSTEM_ATTRIBUTE.items():
            system[name] = lines.str.extract(pattern).str.head(-1).str.tail(-1)
        channel = system["Channel"].fill_null("")
        event_id = system["EventID"].fill_null("")
        data, python = self._data(lines, channel)
        # Security's network (WFP) and process events have their own CIM mapping: the dict
        # reader's (its other events are read like any channel's)
        # Security's process events (4688) keep their CIM mapping in Python (it reads the Data
        # values unstripped), so do its WFP events rendered from EVTX (it reads them before
        # Windows' rendering); WFP events of text exports are mapped below
        security = channel == "Security"
        wfp = security & event_id.is_in(list(_WFP_EVENTS))
        python = python | (security & (event_id == "4688"))
        if self.from_binary:
            python = python | wfp
        seconds, bad_time = _epoch(system["SystemTime"])
        python = python | bad_time

        linux = channel == SYSMON_LINUX_CHANNEL
        columns = {
            "__line": frame.get_column("__line"),
            "_raw": frame.get_column("__raw") if "__raw" in frame.columns else lines.str.strip_chars(" \t"),
            "sourcetype": pl.select(pl.when(linux).then(pl.lit(SYSMON_LINUX_SOURCETYPE))
                                    .otherwise(pl.lit(XML_SOURCETYPE))).to_series(),
            "source": pl.select(pl.when(linux).then(pl.lit(SYSMON_LINUX_SOURCE))
                                .otherwise(pl.lit("XmlWinEventLog:") + channel)).to_series(),
            "c2hunt_file": pl.repeat(str(self.path), frame.height, dtype=pl.String, eager=True),
            "_time": seconds,
        }
        for key in ("Channel", "Computer", "EventRecordID", "Provider", "Level", "Task", "Opcode",
                    "Keywords", "Version"):
            columns[key] = _put(system[key])
        for key in ("EventCode", "EventID", "signature_id"):
            columns[key] = _put(event_id)
        columns["host"] = _put(system["Computer"])
        events = pl.DataFrame([s.alias(name) for name, s in columns.items()])
        if data is not None:
            events = pl.concat([events, data], how="horizontal")
        sysmon = channel.is_in(list(SYSMON_CHANNELS))
        if sysmon.any():
            events, python = _cim_sysmon(events, sysmon, event_id, python)
        if not self.from_binary and wfp.any():
            events, python = _cim_wfp(events, wfp, event_id, python)
        events = events.with_columns(pl.col("host").alias("dvc"))
        more = python.arg_true()
        if len(more):
            events = events.filter(~python)
        events = events.select([name for name in events.columns
                                if events.get_column(name).null_count() < events.height])
        return events, more

    def _data(self, lines, channel):
        """The Data name/value pairs as one column per name (put() applied) and the rows whose
        Data the dict reader must read (duplicate names, names the event sets itself)."""
        n = len(lines)
        python = pl.Series(values=[False] * n, dtype=pl.Boolean)
        pairs = pl.DataFrame({"__row": pl.int_range(0, n, eager=True, dtype=pl.Int64),
                              "__pair": lines.str.extract_all(_DATA)}).explode("__pair")
        pairs = pairs.filter(pl.col("__pair").is_not_null())
        if not pairs.height:
            return None, python
        parts = pairs.get_column("__pair").str.extract_groups(_DATA_PARTS)
        names = pl.select(pl.coalesce(parts.struct.field("d"), parts.struct.field("s"))).to_series()
        values = _unescape(parts.struct.field("v").fill_null("")).str.strip_chars(_PY_SPACE)
        rows = pairs.get_column("__row")
        sysmon = channel.is_in(list(SYSMON_CHANNELS)).gather(rows)
        if self.from_binary:
            values = _windows_rendering(values)
        values = pl.select(pl.when(sysmon & values.is_in(list(_SYSMON_BOOLEANS)))
                           .then(values.str.to_lowercase()).otherwise(values)).to_series()
        pairs = pl.DataFrame({"__row": rows, "name": names, "value": _put(values)})
        distinct = pairs.get_column("name").unique().to_list()
        own = [name for name in distinct if name in _OWN_FIELDS or name.startswith("__")]
        bad = pairs.filter(pl.col("name").is_in(own)).get_column("__row") if own \
            else pl.Series(dtype=pl.Int64)
        # a name twice in a record (the dict keeps the last): one integer key per (row, name)
        codes = pairs.get_column("name").cast(pl.Categorical).to_physical().cast(pl.Int64)
        doubled = rows.filter((rows * (1 << 32) + codes).is_duplicated())
        if len(bad) or len(doubled):
            python = python.scatter(pl.concat([bad, doubled]).unique(), True)
        wide = pairs.filter(pl.col("name").is_in(own).not_()).pivot(
            on="name", index="__row", values="value", aggregate_function="first")
        full = pl.DataFrame({"__row": pl.int_range(0, n, eager=True, dtype=pl.Int64)})
        wide = full.join(wide, on="__row", how="left", maintain_order="left").drop("__row")
        return wide.select([pl.col(c).cast(pl.String) for c in wide.columns]), python


def _unescape(texts):
    """The five predefined XML entities as the parser reads them (``&amp;`` last)."""
    if not texts.str.contains("&", literal=True).any():
        return texts
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        texts = texts.str.replace_all(entity, char, literal=True)
    return texts


def _windows_rendering(values):
    """windows._windows_rendering of each value: GUIDs as {UPPER-CASE}, hex integers
    without zero padding."""
    guid = values.str.extract(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
    padded = values.str.extract(r"^0x0+([0-9a-fA-F]+)$")
    return pl.select(pl.when(guid.is_not_null()).then(pl.lit("{") + guid.str.to_uppercase() + pl.lit("}"))
                     .when(padded.is_not_null()).then(pl.lit("0x") + padded.str.to_lowercase())
                     .otherwise(values)).to_series().alias(values.name)


def _put(texts):
    """put(): "" and "-" are no value."""
    return pl.select(pl.when((texts != "") & (texts != "-")).then(texts)).to_series().alias(texts.name)


def _epoch(stamps):
    """(parse_iso of each non-empty SystemTime, rows where the frame cannot tell its value:
    parse_iso raises there, or the text is one this does not parse in bulk and Python's own
    parse of it failed). Windows' UTC form is parsed in bulk: whole seconds by polars, the
    fraction (cut to 6 digits as parse_iso cuts it) added as integer microseconds and divided
    by 1e6, as datetime.timestamp() divides."""
    n = len(stamps)
    present = (stamps.fill_null("") != "")
    common = stamps.str.contains(_TIME).fill_null(False) & ~stamps.str.starts_with("0000").fill_null(False)
    whole = stamps.str.head(19).str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", time_zone="UTC",
                                                strict=False)
    fraction = (stamps.str.extract(_TIME, 1).fill_null("") + "000000").str.head(6).cast(pl.Int64, strict=False)
    micros = whole.dt.epoch("us") + fraction
    common = common & micros.is_not_null()
    # a divisor column, not a scalar: polars multiplies by a scalar's reciprocal (not exact)
    seconds = micros.cast(pl.Float64) / pl.repeat(1e6, n, dtype=pl.Float64, eager=True)
    seconds = pl.select(pl.when(common).then(seconds)).to_series()
    other = present & ~common
    bad = pl.Series(values=[False] * n, dtype=pl.Boolean)
    if other.any():
        distinct = stamps.filter(other).unique().to_list()
        parsed = []
        for text in distinct:
            try:
                parsed.append(parse_iso(text))
            except Exception:  # noqa: BLE001  (the dict reader reports it)
                parsed.append(None)
        mapping = pl.DataFrame({"t": distinct, "v": parsed}, schema={"t": pl.String, "v": pl.Float64})
        looked = pl.DataFrame({"t": stamps}).join(mapping, on="t", how="left", maintain_order="left")
        seconds = pl.select(pl.when(other).then(looked.get_column("v")).otherwise(seconds)).to_series()
        bad = other & seconds.is_null()
    return seconds.alias("_time"), bad


def _basename(paths):
    """path_basename of each path: the text after the last separator ("/" or "\\"; a path
    holding "\\" is split as Windows splits it, which differs only for UNC drives: those rows
    are flagged)."""
    names = paths.str.replace(r"^.*[\\/]", "")
    unc = paths.str.contains("\\", literal=True) & paths.str.contains(r"^[\\/][\\/]")
    return names, unc.fill_null(False)


def _text_column(events, name):
    """``events``' column ``name``, or a column of nulls (text) where it has none."""
    if name in events.columns:
        return events.get_column(name)
    return pl.Series(name, [None] * events.height, dtype=pl.String)


def _where(mask, value, otherwise=None):
    """``value`` where ``mask`` holds, else ``otherwise`` (null text when None), as a Series."""
    other = pl.lit(None, pl.String) if otherwise is None else otherwise
    return pl.select(pl.when(mask).then(value).otherwise(other)).to_series()


def _cim_sysmon(events, sysmon, event_id, python):
    """_cim_sysmon over the Sysmon rows (``sysmon``) of ``events``."""
    column = functools.partial(_text_column, events)
    image, host = column("Image"), column("host")
    image_name, unc = _basename(image)
    python = python | (sysmon & unc)
    has_image = sysmon & image.is_not_null()
    net, proc, dns = sysmon & (event_id == "3"), sysmon & (event_id == "1"), sysmon & (event_id == "22")
    out = {}
    out["process_path"] = _where(has_image, image)
    out["process_name"] = _where(has_image, image_name)
    process = _where(has_image, image)
    out["process_id"] = _where(sysmon, column("ProcessId"))
    out["user"] = _where(sysmon, column("User"))
    for cim, raw in (("src_ip", "SourceIp"), ("src_port", "SourcePort"), ("dest_ip", "DestinationIp"),
                     ("dest_port", "DestinationPort")):
        out[cim] = _where(net, column(raw))
    protocol = column("Protocol")
    python = python | (net & protocol.is_not_null() & ~protocol.str.contains(r"^[\x00-\x7f]*$").fill_null(True))
    out["transport"] = _where(net, protocol.str.to_lowercase())
    out["protocol"] = _where(net, pl.lit("ip"))
    initiated = column("Initiated")
    out["direction"] = _where(net & (initiated == "true"), pl.lit("outbound"),
                             _where(net & (initiated == "false"), pl.lit("inbound")))
    app = _put(out["process_name"])
    out["app"] = _where(net, app)
    command_line = column("CommandLine")
    process = _where(proc & command_line.is_not_null(), command_line, process)
    out["process"] = process
    out["parent_process"] = _where(proc, column("ParentCommandLine"))
    parent = column("ParentImage")
    parent_name, parent_unc = _basename(parent)
    python = python | (proc & parent_unc)
    out["parent_process_path"] = _where(proc, parent)
    out["parent_process_name"] = _where(proc, _put(parent_name))
    out["query"] = _where(dns, column("QueryName"))
    out["answer"] = _where(dns, column("QueryResults"))
    out["src"] = _where(net, out["src_ip"], _where(dns, host))
    out["dest"] = _where(net, out["dest_ip"], _where(proc, host))
    tag = pl.Series("tag", [None] * events.height, dtype=pl.List(pl.String))
    for code, values in _TAGS.items():
        mask = sysmon & (event_id == code)
        if mask.any():
            tag = pl.select(pl.when(mask).then(pl.lit(values, pl.List(pl.String))).otherwise(tag)).to_series()
    out["tag"] = tag
    return events.with_columns([series.alias(name) for name, series in out.items()]), python


# EVTX records converted at a time (a batch's XML texts and columns are held while it is).
EVTX_BATCH = 50000
_BETWEEN_TAGS = r">[\s\x1c-\x1f]+<"  # Python's whitespace (\s, and \x1c-\x1f)


class EvtxFrames(object):
    """A binary EVTX file as ``detect_and_read`` reads it (``read_evtx_checked`` around the
    Rust parser's ``read_evtx``), a batch of records at a time: iterating gives one frame per
    ``batch`` records (rows in record order, the runner's defaults set); afterwards ``issues``
    holds the file's issues and ``declined`` says it is not read here (the Rust parser is not
    installed, or something this reader cannot follow: the caller reads it with the dict
    readers). Each record's XML (the parser renders it over many lines) is read as an export
    line with the whitespace between tags taken out (every value the event keeps is stripped,
    so the values are the same), ``_raw`` the record's own text."""

    def __init__(self, path, host=None, batch=EVTX_BATCH):
        self.path, self.host, self.batch = str(path), host, batch
        self.issues, self.declined = [], False

    def __iter__(self):
        from . import evtx_damage
        from .frames import _concat
        try:
            import evtx as rust_evtx  # noqa: F401  (read_evtx's parser: without it, python-evtx's renderings)
        except ImportError:
            self.declined = True
            return
        host = self.host or os.path.splitext(os.path.basename(self.path))[0]
        try:
            layout = evtx_damage.evtx_layout(self.path)
        except OSError:
            self.declined = True
            return
        source, cut_records = evtx_damage.readable_copy(self.path, layout)
        reader = WinXmlLog(source, from_binary=True)
        issues, recovered, record_ids = [], 0, []
        try:
            for parts in self._batches(source, reader, issues):
                frame = _concat(parts, host)
                if source != self.path and "c2hunt_file" in frame.columns:
                    frame = frame.with_columns(pl.col("c2hunt_file").replace(source, self.path))
                recovered += frame.height
                if "EventRecordID" in frame.columns:
                    record_ids.append(frame.get_column("EventRecordID").drop_nulls().unique())
                if frame.height:
                    yield frame
        except Exception:  # noqa: BLE001  (_NotNative, or anything unforeseen: the dict readers decide)
            self.declined = True
            return
        finally:
            if source != self.path:
                os.unlink(source)
        issues.sort(key=lambda item: item[0])
        issues = [issue for _, issue in issues]
        for issue in issues:
            issue.path = self.path
        def last_id():  # asked only when records are missing
            ids = pl.concat(record_ids).unique().to_list() if record_ids else []
            return evtx_damage._last_record_id([{"EventRecordID": v} for v in ids])

        message = evtx_damage.damage_message(layout, cut_records, recovered, last_id)
        self.issues = issues + ([ReadIssue(self.path, None, message)] if message else [])

    def _batches(self, source, reader, issues):
        """Frames of ``batch`` records (the dict reader's own events for those it reads)."""
        import evtx as rust_evtx
        try:
            records = rust_evtx.PyEvtxParser(source).records()
        except Exception as exc:  # noqa: BLE001  (read_evtx's issue: the whole file is unreadable)
            issues.append((0, ReadIssue(source, None, "not a readable EVTX file: %s" % exc)))
            return
        texts, numbers = [], []
        for n, xml_text, error in evtx_record_texts(records):
            if error is not None:  # read_evtx's issue for it; reading goes on
                issues.append((n, ReadIssue(source, "record %d" % n, "unreadable EVTX record: %s" % error)))
                continue
            texts.append(xml_text)
            numbers.append(n)
            if len(texts) >= self.batch:
                yield self._frame(reader, texts, numbers, issues)
                texts, numbers = [], []
        if texts:
            yield self._frame(reader, texts, numbers, issues)

    def _frame(self, reader, texts, numbers, issues):
        """The batch's frames: its records read as columns, and the dict reader's events."""
        raw = pl.Series("__raw", texts, dtype=pl.String)
        lines = raw.str.replace_all(_BETWEEN_TAGS, "><").str.strip_chars(_PY_SPACE)
        number = pl.Series("__line", numbers, dtype=pl.Int64)
        native = lines.str.contains(_RECORD)
        frame = pl.DataFrame([number, lines.alias("__text"), raw]).filter(native)
        frame, more = reader._events(frame)
        python = ~native
        if more is not None and len(more):
            python = python.scatter(native.arg_true().gather(more), True)
        frames = [frame] if frame.height else []
        events = []
        for xml_text, n in zip(raw.filter(python).to_list(), number.filter(python).to_list()):
            try:
                system, data = windows_event_from_xml(xml_text)
                event = normalise_windows(system, data, xml_text, str(reader.path), from_binary=True)
            except Exception as exc:  # noqa: BLE001  (read_evtx's issue)
                issues.append((n, ReadIssue(reader.path, "record %d" % n, "unreadable EVTX record: %s" % exc)))
                continue
            if "__line" in event:
                raise _NotNative("a record holding __line")
            event["__line"] = n
            events.append(event)
        if events:
            frames.append(frame_from_rows(events))
        return frames


def _cim_wfp(events, wfp, event_id, python):
    """_cim_security over the WFP rows (``wfp``) of ``events`` (text exports: the Data values
    it reads are the stripped ones the columns hold; a Data element named like a field it
    sets sent its record to Python already)."""
    column = functools.partial(_text_column, events)
    out = {}
    for classic, xml_name in _WFP_FIELDS:
        out[classic] = _where(wfp, column(xml_name))
    direction = column("Direction")
    mapped = pl.select(pl.when(direction == "%%14592").then(pl.lit("Inbound"))
                       .when(direction == "%%14593").then(pl.lit("Outbound"))
                       .otherwise(direction)).to_series()
    python = python | (wfp & direction.is_not_null() & ~direction.str.contains(r"^[\x00-\x7f]*$").fill_null(True))
    out["Direction"] = _where(wfp, mapped, direction)
    out["direction"] = _where(wfp, mapped.str.to_lowercase(), column("direction"))
    app = out["Application_Name"]
    name, unc = _basename(app)
    python = python | (wfp & unc)
    has_app = wfp & app.is_not_null()
    for field, value in (("process_path", app), ("process", app), ("process_name", name), ("app", name)):
        out[field] = _where(has_app, value, column(field))
    for cim, raw in (("src", "Source_Address"), ("src_ip", "Source_Address"), ("src_port", "Source_Port"),
                     ("dest", "Destination_Address"), ("dest_ip", "Destination_Address"),
                     ("dest_port", "Destination_Port"), ("process_id", "Process_ID")):
        out[cim] = _where(wfp, out[raw], column(cim))
    protocol = column("Protocol")
    iana = protocol.replace_strict(list(IANA_TRANSPORT), list(IANA_TRANSPORT.values()), default=protocol)
    out["transport"] = _where(wfp, iana, column("transport"))
    out["protocol"] = _where(wfp, pl.lit("ip"), column("protocol"))
    out["action"] = _where(wfp & event_id.is_in(["5156", "5158"]), pl.lit("allowed"),
                          _where(wfp, pl.lit("blocked")))
    tag = events.get_column("tag") if "tag" in events.columns else \
        pl.Series("tag", [None] * events.height, dtype=pl.List(pl.String))
    out["tag"] = pl.select(pl.when(wfp).then(pl.lit(["network", "communicate"], pl.List(pl.String)))
                           .otherwise(tag)).to_series()
    return events.with_columns([series.alias(name) for name, series in out.items()]), python


__all__ = ["EvtxFrames", "WinXmlLog", "is_winxml_start", "SYSMON_CHANNEL"]
