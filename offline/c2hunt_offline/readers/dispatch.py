"""Which reader a file needs: by its first bytes, its first line, or the sourcetype given.

Gzip-compressed files (``conn.log.gz``, rotated ``conn.00:00:00-01:00:00.log.gz``) are
decompressed first and read like the plain file; the name without ``.gz`` gives the log type.
"""
import codecs
import csv
import io
import itertools
import json
import re
import zlib

from . import capture
from .auditd import AUDIT_HEAD, AUDIT_SOURCETYPE, read_auditd
from .common import ReadIssue, UnknownFormat
from .evtx_damage import read_evtx_checked
from .esxi import ESXI_SOURCETYPE_PREFIX, esxi_match, read_esxi_syslog
from .generic import generic_event, read_csv
from .osquery import OSQUERY_SOURCETYPE, is_osquery_result, osquery_event
from .sockets import SOCKET_SOURCETYPE, socket_event, socket_record
from .suricata import SURICATA_SOURCETYPE, is_suricata_eve, suricata_event
from .sysmon_linux import (SYSMON_LINUX_SOURCETYPE, is_sysmon_message, is_sysmon_syslog,
                           read_sysmon_syslog, sysmon_message_event, sysmon_record_event)
from .windows import (is_windows_json, normalise_windows, read_evtx, read_winxml,
                      windows_event_from_xml, windows_from_json)
from .windows_classic import (is_classic_windows, is_eventviewer_csv, is_wevtutil_text, read_eventviewer_csv,
                              read_windows_classic, read_wevtutil_text)
from .zeek import (KNOWN_KINDS, ecs_zeek_record, generic_kind_warning, is_zeek_json, is_zeek_tsv_mode_header,
                   looks_like_headerless_zeek, read_zeek_tsv, zeek_event, zeek_kind_from_sourcetype, zeek_kind_of_json)

GZIP_MAGIC = b"\x1f\x8b"
EVTX_MAGIC = b"ElfFile\x00"
# How many leading lines may precede the first Sysmon for Linux record in a syslog file.
SYSLOG_SNIFF_LINES = 200


def read_json_lines(path, lines, sourcetype=None, name_hint=None):
    """JSON lines: Windows events, Zeek JSON, Suricata EVE, c2flow and c2sockets records, or anything with --sourcetype.

    ``name_hint`` is the file name that tells a Zeek log's type (``path`` without ``.gz``).
    """
    events, issues = [], []
    name_hint = name_hint or path
    given_zeek_kind = zeek_kind_from_sourcetype(sourcetype)
    warned = set()
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("a JSON line must hold an object")
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than Python's stack
            issues.append(ReadIssue(path, n, "invalid JSON: %s" % exc))
            continue
        obj = splunk_export_record(obj)
        try:
            if sourcetype in (None, SOCKET_SOURCETYPE):
                record = socket_record(obj)
                if record is not None:
                    events.append(socket_event(record, text, path))
                    continue
            if sourcetype is None:
                event = _event_of_exported_raw(obj, path)
                if event is not None:
                    events.append(event)
                    continue
                ecs = ecs_zeek_record(obj)
                if ecs is not None:
                    if ecs[0] not in KNOWN_KINDS and ecs[0] not in warned:
                        issues.append(generic_kind_warning(path, ecs[0]))
                        warned.add(ecs[0])
                    events.append(zeek_event(ecs[0], ecs[1], text, path))
                    continue
            if sourcetype is None and is_sysmon_message(obj):
                events.append(sysmon_message_event(obj, text, path))
                continue
            if sourcetype is None and is_windows_json(obj):
                system, data = windows_from_json(obj)
                events.append(normalise_windows(system, data, text, str(path)))
                continue
            if (sourcetype is None or sourcetype == OSQUERY_SOURCETYPE) and is_osquery_result(obj):
                events.append(osquery_event(obj, text, path))
                continue
            if (sourcetype is None and is_suricata_eve(obj)) or sourcetype == SURICATA_SOURCETYPE:
                events.append(suricata_event(obj, text, path))
                continue
            if sourcetype is None and obj.get("sourcetype") in capture.SOURCETYPES:
                events.append(capture.capture_event(obj, text, path, obj["sourcetype"]))
                continue
            kind = given_zeek_kind
            if sourcetype is None and is_zeek_json(obj, name_hint):
                kind = zeek_kind_of_json(obj, name_hint)
            if kind is not None:
                if kind not in KNOWN_KINDS and kind not in warned:
                    issues.append(generic_kind_warning(path, kind))
                    warned.add(kind)
                events.append(zeek_event(kind, obj, text, path))
                continue
            if sourcetype is None and is_tagged_search_result(obj):
                events.append(tagged_search_result_event(obj, text, path))
                continue
            if sourcetype is None:
                issues.append(ReadIssue(path, n, "JSON record of unknown type; give --sourcetype"))
                return events, issues
            events.append(generic_event(obj, text, path, sourcetype))
        except Exception as exc:
            issues.append(ReadIssue(path, n, "bad record: %s" % exc))
    return events, issues


def splunk_export_record(obj):
    """A Splunk search export line (``{"preview": ..., "result": {...}}``) -> its result; an
    Elasticsearch hit (``{"_index": ..., "_source": {...}}``, as ``_search`` results and
    elasticdump write them) -> its document."""
    if "preview" in obj and isinstance(obj.get("result"), dict):
        return obj["result"]
    if "_index" in obj and isinstance(obj.get("_source"), dict):
        return obj["_source"]
    return obj


# JSON that is not one object a line: an array of objects, objects indented over several
# lines (``evtx_dump -o json``, ConvertTo-Json, Chainsaw, Kibana and Elasticsearch exports), each
# perhaps after evtx_dump's "Record <id>" line.
_RECORD_LINE = re.compile(r"^Record \d+[ \t]*$", re.MULTILINE)


def is_json_documents(start):
    """The text starting with ``start`` is JSON documents, not JSON lines: its first line is
    ``[`` (an array), ``{`` alone (an indented object) or evtx_dump's ``Record <id>``."""
    first = start.lstrip().split("\n", 1)[0].strip()
    return first.startswith("[") or first == "{" or bool(_RECORD_LINE.match(first))


def read_json_documents(path, text, sourcetype=None, name_hint=None):
    """JSON documents (see :func:`is_json_documents`): each object, or each object of a
    top-level array (of an Elasticsearch ``_search`` response: its ``hits.hits``), is read as one
    JSON line is by :func:`read_json_lines`, its ``_raw`` the compact object. The text is read
    whole (exports); where it stops parsing, the rest is one issue at that line."""
    decoder = json.JSONDecoder()
    text = _RECORD_LINE.sub("", text)
    objects, issues = [], []
    at, end = 0, len(text)
    while at < end:
        # an array's brackets and commas are read past: its objects are decoded one by one,
        # so a cut array keeps the objects before the cut
        while at < end and (text[at].isspace() or text[at] in ",[]"):
            at += 1
        if at >= end:
            break
        try:
            value, at = decoder.raw_decode(text, at)
        except (ValueError, RecursionError) as exc:
            issues.append(ReadIssue(path, text.count("\n", 0, at) + 1,
                                    "invalid JSON document (the rest of the file is not read): %s" % exc))
            break
        if isinstance(value, dict) and isinstance(value.get("hits"), dict):
            value = value["hits"].get("hits")
        for item in (value if isinstance(value, list) else [value]):
            objects.append(item)
    lines = [json.dumps(o, separators=(",", ":"), ensure_ascii=False) for o in objects]
    events, more = read_json_lines(path, lines, sourcetype, name_hint)
    return events, issues + more


def is_tagged_search_result(obj):
    """A search result exported from Splunk with its sourcetype and search-time tags (for
    example ``tag=network tag=communicate | table *`` of a firewall's CIM-mapped events)."""
    return isinstance(obj.get("sourcetype"), str) and bool(obj["sourcetype"]) and \
        obj.get("tag") not in (None, "", [])


def tagged_search_result_event(obj, text, path):
    """The result as an event under its own sourcetype: its CIM fields and tags as exported,
    so tstats places it in the data models the tags select, as Splunk did."""
    event = generic_event(obj, obj["_raw"] if isinstance(obj.get("_raw"), str) else text, path,
                          obj["sourcetype"])
    tags = obj["tag"] if isinstance(obj["tag"], list) else str(obj["tag"]).split()
    event["tag"] = [str(t) for t in tags]
    for key in ("host", "source", "index"):
        if isinstance(obj.get(key), str) and obj[key]:
            event[key] = obj[key]
    return event


def _is_splunk_csv(header_line):
    """A Splunk CSV export of search results the readers can read: a sourcetype column and
    the search-time tags, or the events' ``_raw``."""
    columns = {c.strip().strip('"') for c in header_line.split(",")}
    return "sourcetype" in columns and bool({"tag", "_raw"} & columns)


def read_tagged_csv(path, text):
    """A Splunk CSV export of search results (multivalue fields one value a line inside the
    cell): a row whose ``_raw`` is an event a reader knows (Windows XML, Sysmon for Linux,
    Suricata EVE, Zeek JSON under ``bro:<log>:json``) is read again from it, as in a JSON
    export; a row with sourcetype and tag columns is a tagged search result."""
    events, issues = [], []
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        try:
            obj = {k: (v.split("\n") if "\n" in v and k != "_raw" else v) for k, v in row.items()
                   if k is not None and v not in (None, "")}
            event = _event_of_exported_raw(obj, path)
            if event is not None:
                events.append(event)
                continue
            if not is_tagged_search_result(obj):
                issues.append(ReadIssue(path, reader.line_num, "row without sourcetype or tag"))
                continue
            obj["tag"] = obj["tag"] if isinstance(obj["tag"], list) else obj["tag"].split()
            events.append(tagged_search_result_event(obj, json.dumps(obj, sort_keys=True), path))
        except Exception as exc:
            issues.append(ReadIssue(path, reader.line_num, "bad CSV row: %s" % exc))
    return events, issues


def _event_of_exported_raw(obj, path):
    """An event exported from Splunk with its ``_raw``: Windows or Sysmon XML, and Zeek JSON
    under a ``bro:<path>:json`` sourcetype, are read again from ``_raw``, so the fields are the
    reader's whatever the export kept. None otherwise."""
    raw = obj.get("_raw")
    if not isinstance(raw, str):
        return None
    text = raw.lstrip()
    if text.startswith("<Event"):
        system, data = windows_event_from_xml(text[:text.rfind("</Event>") + len("</Event>")])
        return normalise_windows(system, data, raw, str(path))
    if "Linux-Sysmon" in text:
        return sysmon_record_event(text, raw, path)
    if obj.get("sourcetype") == SURICATA_SOURCETYPE and text.startswith("{"):
        return suricata_event(json.loads(text), raw, path)
    zeek_kind = zeek_kind_from_sourcetype(obj.get("sourcetype"))
    if zeek_kind is not None and text.startswith("{"):
        return zeek_event(zeek_kind, json.loads(text), raw, path)
    return None


def gunzip(data):
    """(bytes, problem or None) of gzip data, all members; a truncated stream gives what it held."""
    problems = []
    out = b"".join(gunzip_chunks(io.BytesIO(data), problems))
    return out, (problems[0] if problems else None)


# A file is read this many bytes at a time (compressed input: decompressed at most this
# many bytes a step), so reading holds one chunk of it, never the whole text.
READ_CHUNK = 1 << 20
# How much of the (decompressed) start of a file decides its format.
SNIFF_BYTES = 64 * 1024


def gunzip_chunks(handle, problems):
    """Decompressed chunks of the gzip members read from ``handle``; a damaged or truncated
    stream yields what it held and appends the problem to ``problems``. Compressed input is
    fed in pieces of a sixteenth of a chunk, so the text before damage is kept."""
    piece = max(16, READ_CHUNK // 16)
    data = handle.read(piece)
    while data[:2] == GZIP_MAGIC:
        stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        while not stream.eof:
            if not data:
                data = handle.read(piece)
                if not data:
                    tail = stream.flush()
                    if tail:
                        yield tail
                    problems.append("gzip stream is truncated (read what it held)")
                    return
            try:
                out = stream.decompress(data, READ_CHUNK)
            except zlib.error as exc:
                problems.append("damaged gzip data (read up to the damage): %s" % exc)
                return
            data = stream.unconsumed_tail
            if out:
                yield out
        data = stream.unused_data
        if len(data) < 2:  # the next member's magic may start in the next read
            data += handle.read(piece)


# UTF-16 text: Windows writes it (PowerShell 5's ``>`` and Out-File, Event Viewer's and
# wevtutil's Unicode exports), with a byte-order mark or, from some tools, without one.
UTF16_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def utf16_encoding(start):
    """(codec, bytes of its byte-order mark) when ``start`` (a file's first bytes) is UTF-16
    text, else None. Without a mark: ASCII text in UTF-16 has a NUL beside every character,
    so the first two characters tell the byte order."""
    for bom, codec in UTF16_BOMS:
        if start.startswith(bom) and not start.startswith(bom + b"\x00\x00"):  # FF FE 00 00: UTF-32
            return codec, len(bom)
    if len(start) >= 4 and start[1] == 0 and start[3] == 0 and start[0] and start[2]:
        return "utf-16-le", 0
    if len(start) >= 4 and start[0] == 0 and start[2] == 0 and start[1] and start[3]:
        return "utf-16-be", 0
    return None


def utf8_chunks(chunks):
    """``chunks`` as UTF-8: UTF-16 text (see :func:`utf16_encoding`) decoded as it is read
    (a character split between chunks is kept whole, bad units replaced), other bytes as they
    are. Every reader downstream reads UTF-8."""
    chunks = iter(chunks)
    start = b""
    for chunk in chunks:
        start += chunk
        if len(start) >= 4:
            break
    found = utf16_encoding(start)
    if found is None:
        if start:
            yield start
        yield from chunks
        return
    codec, skip = found
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    for chunk in itertools.chain([start[skip:]], chunks):
        text = decoder.decode(chunk)
        if text:
            yield text.encode("utf-8")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8")


def _plain_chunks(handle):
    while True:
        chunk = handle.read(READ_CHUNK)
        if not chunk:
            return
        yield chunk


class _ChunkStream(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (for io.TextIOWrapper)."""

    def __init__(self, chunks):
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self):
        return True

    def readinto(self, buffer):
        while not len(self._pending):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def text_lines(chunks):
    """Lines of the text in ``chunks`` (UTF-8, a leading BOM dropped, bad bytes replaced),
    decoded as they are read: universal newlines, as ``str.splitlines`` splits a file."""
    return io.TextIOWrapper(io.BufferedReader(_ChunkStream(chunks), READ_CHUNK),
                            encoding="utf-8-sig", errors="replace", newline=None)


def detect_and_read(path, sourcetype=None, app_root=None):
    """Read one file; returns (events, issues). Raises UnknownFormat if nothing matches.

    Zeek TSV and JSON lines (plain or gzip) stream: the file is read a chunk at a time and
    each line becomes an event as it is read, so the file's text is never held whole. The
    other text formats are small by nature (exports, syslog) and are read whole."""
    path = str(path)
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if head.startswith(EVTX_MAGIC):
        return read_evtx_checked(path, read_evtx)  # the Rust parser's record iterator
    if head[:4] in capture.PCAP_MAGICS or path.lower().endswith((".pcap", ".pcapng")):
        return capture.read_pcap(path, app_root)
    name_hint = path
    problems = []
    with open(path, "rb") as handle:
        if head[:2] == GZIP_MAGIC:
            chunks = gunzip_chunks(handle, problems)
            if path.lower().endswith(".gz"):
                name_hint = path[:-3]
        else:
            chunks = _plain_chunks(handle)
        chunks = utf8_chunks(chunks)
        start = bytearray()
        sniffed = []
        for chunk in chunks:
            sniffed.append(chunk)
            start += chunk
            if len(start) >= SNIFF_BYTES:
                break
        if head[:2] == GZIP_MAGIC and (start.startswith(EVTX_MAGIC) or start[:4] in capture.PCAP_MAGICS):
            return [], [ReadIssue(path, None, p) for p in problems] + [
                ReadIssue(path, None, "a compressed EVTX file or capture: decompress it first")]
        rest = itertools.chain(sniffed, chunks)
        streamed = _streamable(start.decode("utf-8-sig", errors="replace"), sourcetype, name_hint)
        if streamed == "tsv":
            events, more = read_zeek_tsv(path, text_lines(rest), name_hint)
        elif streamed == "json":
            events, more = read_json_lines(path, text_lines(rest), sourcetype, name_hint)
        else:
            data = b"".join(rest)
            events, more = _read_text(path, data.decode("utf-8-sig", errors="replace"), sourcetype,
                                      name_hint)
    return events, [ReadIssue(path, None, p) for p in problems] + more


def _streamable(start, sourcetype, name_hint):
    """"tsv" or "json" when ``_read_text`` would read the file starting with ``start`` as Zeek
    TSV or as JSON lines (the formats read line by line); None for the others."""
    stripped = start.lstrip()
    if not stripped:
        return None
    low = name_hint.lower()
    if sourcetype:
        if sourcetype in (AUDIT_SOURCETYPE, SYSMON_LINUX_SOURCETYPE) or \
                sourcetype.startswith(ESXI_SOURCETYPE_PREFIX) or low.endswith(".csv"):
            return None
        if stripped.startswith("#separator"):
            return "tsv"
        return None if is_json_documents(stripped) else "json"
    if stripped.startswith("#separator") or stripped.startswith("#fields"):
        return "tsv"
    if stripped.startswith("{") and not low.endswith(".csv") and not is_json_documents(stripped) and \
            not AUDIT_HEAD.match(stripped.splitlines()[0].strip()):
        return "json"
    return None


def _read_text(path, text, sourcetype, name_hint):
    lines = text.splitlines()
    stripped = text.lstrip()
    low = name_hint.lower()
    if sourcetype:
        if sourcetype == AUDIT_SOURCETYPE:
            return read_auditd(path, lines)
        if sourcetype.startswith(ESXI_SOURCETYPE_PREFIX):
            return read_esxi_syslog(path, lines)
        if sourcetype == SYSMON_LINUX_SOURCETYPE:
            return read_sysmon_syslog(path, lines)
        if low.endswith(".csv"):
            return read_csv(path, text, sourcetype)
        if stripped.startswith("#separator"):
            return read_zeek_tsv(path, lines, name_hint)
        if is_json_documents(stripped):
            return read_json_documents(path, text, sourcetype, name_hint)
        return read_json_lines(path, lines, sourcetype, name_hint)
    if stripped.startswith("#separator") or stripped.startswith("#fields"):
        return read_zeek_tsv(path, lines, name_hint)
    if stripped.startswith("<Event") or stripped.startswith("<?xml") or stripped.startswith("<Events"):
        return read_winxml(path, text)
    first = next((line for line in lines if line.strip()), "")
    if low.endswith(".csv") and _is_splunk_csv(first):
        return read_tagged_csv(path, text)
    if is_eventviewer_csv(first):
        return read_eventviewer_csv(path, text)
    if is_classic_windows(lines):
        return read_windows_classic(path, lines)
    if is_wevtutil_text(lines):
        return read_wevtutil_text(path, lines)
    if AUDIT_HEAD.match(first.strip()):
        return read_auditd(path, lines)
    if is_json_documents(first):
        return read_json_documents(path, text, None, name_hint)
    if first.lstrip().startswith("{"):
        return read_json_lines(path, lines, None, name_hint)
    if is_sysmon_syslog(lines[:SYSLOG_SNIFF_LINES]):
        return read_sysmon_syslog(path, lines)
    if esxi_match(first):
        return read_esxi_syslog(path, lines)
    if is_zeek_tsv_mode_header(first):   # Zeek's tsv mode: the names line is the #fields header
        at = next(n for n, line in enumerate(lines) if line.strip())
        return read_zeek_tsv(path, ["#fields\t" + lines[at]] + lines[at + 1:], name_hint)
    if looks_like_headerless_zeek(first):
        return [], [ReadIssue(path, 1, "Zeek TSV rows without the #separator/#fields header: "
                                       "the columns cannot be named")]
    raise UnknownFormat("%s:1: unknown log format (not EVTX, Windows XML/JSON/classic/wevtutil text/Event Viewer "
                        "CSV, Sysmon for Linux syslog, auditd, Zeek, Suricata EVE, ESXi syslog, osquery results, pcap); for CSV or "
                        "JSON lines give --sourcetype" % path)
