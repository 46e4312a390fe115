"""Zeek logs read straight into polars frames: the columnar engine's native readers.

:func:`read_frame` reads a Zeek JSON-lines or TSV log (plain or gzip) into one
:class:`polars.DataFrame` holding exactly what the dict readers give for it
(:func:`..dispatch.detect_and_read` + the defaults ``Runner.read_files`` adds), as
:func:`..columnar.table.frame_from_rows` would hold those events: the same columns, the same
values, one row per event in the file's order (oldest line first; the runner orders events
newest first). Records are parsed by polars (``read_ndjson`` with a schema, ``str.split`` for
TSV) and the CIM fields derived by vectorised expressions: no Python object per field.

Exactness comes first. JSON does not say everything a typed parser keeps: ``2`` and ``2.0`` are
one Float64, ``true`` and ``"true"`` one String. The schema is taken from the first lines parsed
by Python's own ``json`` (so each key's JSON type is known), polars parses strictly against it,
and wherever a value could have been written in a way the frame cannot tell apart (an
integral float, a number-looking string, a key polars did not expect) the raw line is asked,
by a regular expression on that key, for those rows only. A line this cannot settle is read by
the dict reader itself (:func:`..dispatch.read_json_lines`, :func:`..zeek.zeek_event`), so its
event and its issues are the dict reader's by construction. A file whose layout the frame
cannot follow at all (invalid UTF-8, lone carriage returns, other readers' records) gives
``None``: the caller reads it with the dict readers.

Memory: the file is read ``BLOCK_BYTES`` of (decompressed) text at a time; a block's text, its
lines column and its parsed columns are held while it is converted, then only the block's
event columns are kept, and the blocks are concatenated without copying. Beyond the events
themselves (the result: about 1.1 KB per conn event, its ``_raw`` plus 16 bytes per field
view), the reader holds one block's text, lines and parsed columns: about 100-150 MB at 32 MB
blocks, whatever the file's size. Measured (``benchmarks/frame_reader.py``, 2 cores under
load): 200,000 conn records (77 MB) in about the time ``json.loads`` takes merely to parse the
lines (0.8-1.1x over five runs), 6-13 times faster than the dict reader, peak RSS 335-365 MB
against its 506-535 MB; 600,000 records in 0.87x json.loads' time, peak 768 MB; dns.log (lists
of answers and TTLs) 1.5x json.loads; the same conn records as TSV 14x faster than the dict
reader.

Windows event logs follow the same scheme in :mod:`.winframes`: XmlWinEventLog text exports
(:class:`.winframes.WinXmlLog`, chosen here by the file's first bytes as ``_read_text`` chooses
``read_winxml``, read by the same blocks) and binary EVTX (:class:`.winframes.EvtxFrames`, the
Rust parser's records a batch at a time), both through :func:`read_frame` and
:class:`FrameChunks`.

Wiring: :func:`frames_of_files` is ``Runner.read_files`` as frames (one per file, Zeek logs and
Windows XML/EVTX read here, any other file by the dict readers) and :func:`events_frame` their
concatenation newest first, equal to ``frame_from_rows`` of ``read_files``' events.
"""
import io
import json
import os
import re

import polars as pl

from . import capture
from .common import ReadIssue, parse_iso
from .dispatch import (EVTX_MAGIC, GZIP_MAGIC, READ_CHUNK, SNIFF_BYTES, _plain_chunks, _streamable,
                       gunzip_chunks, read_json_lines)
from .zeek import (_TRANSPORT_OF_PATH, CIM_KINDS, KNOWN_KINDS, MILLISECONDS_FROM, _multivalue_columns,
                   generic_kind_warning, zeek_event, zeek_kind_from_keys, zeek_kind_from_name,
                   zeek_kind_from_sourcetype, zeek_name)
from ..columnar.table import frame_from_rows

# Text parsed at a time (polars parses a block in parallel; bigger blocks, fewer passes).
BLOCK_BYTES = 32 << 20
# Lines Python's json parses to learn each key's JSON type (later keys and types are learnt
# from the lines that bring them).
SAMPLE_LINES = 200
# Rows with unexpected keys whose keys are learnt before a block is parsed again.
WIDEN_ROWS = 200
# Smaller files are read faster by the dict readers: a frame costs about 35 ms whatever its
# size, the dict reader about 100 us a record (measured crossover: 300-500 conn records).
NATIVE_MIN_BYTES = 128 * 1024

# What str.strip() strips (Python's whitespace, which is not Unicode's: \x1c-\x1f are in it).
_PY_SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
             "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# How polars writes a non-string JSON value it read into a String column.
_NOT_STRING_LOOK = r"^(?:-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false)$|^[\[{]"
# Keys a regular expression can find in the raw line (Zeek's names).
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_@][A-Za-z0-9_.@-]*$")
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_FLOAT_TOKEN = r"-?[0-9]+(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)"
_FLOAT_LIST = r"\[\s*(?:%s\s*(?:,\s*%s\s*)*)?\]" % (_FLOAT_TOKEN, _FLOAT_TOKEN)
_VALID_PATH = r"^[a-z][a-z0-9_]*\n?$"  # re.match(r"^...$") also takes a trailing newline

# Keys of records other readers take before Zeek's (dispatch.read_json_lines' order).
_OTHER_READERS_KEYS = frozenset(("preview", "_raw", "MESSAGE", "message", "msg", "winlog",
                                 "Event", "EventID", "EventCode", "hostIdentifier", "event_type",
                                 "sourcetype", "_source", "event", "event.dataset"))
_SOCKET_KEYS = frozenset(("socket_id", "socket_inode", "last_seen", "first_seen", "transport"))
# Fields the reader itself sets, which a record must not hold for the frame to follow it.
_OWN_FIELDS = frozenset(("_time", "__line"))
_TAGS = {"conn": ["network", "communicate"], "dns": ["network", "resolution", "dns"],
         "http": ["network", "web"], "ssl": ["network", "certificate"]}
_EXACT_FLOAT_TEXT = (1e-4, 1e16)  # polars writes floats as Python's repr inside this range


class _NotNative(Exception):
    """The file cannot be read as a frame exactly: the caller uses the dict readers."""


def read_frame(path, sourcetype=None, host=None):
    """(frame or None, issues) of one Zeek log, Windows XML export or EVTX file, as the dict
    readers read it.

    The frame holds the events ``Runner.read_files`` makes of the file (defaults included:
    ``host`` = the file's stem unless given, ``index``, ``_time``, ``linecount``), one row per
    event in the order of the file's lines (EVTX: records). None (and no issues) when the file
    is not one this reader follows exactly: read it with ``detect_and_read`` then.
    """
    path = str(path)
    try:
        if not os.path.isfile(path):
            return None, []
        if _is_evtx(path):  # detect_and_read reads EVTX whatever the sourcetype
            from .winframes import EvtxFrames
            chunks = EvtxFrames(path, host)
            frames = list(chunks)
            if chunks.declined:
                return None, []
            return frames_in_order(frames), chunks.issues
        return _read(path, sourcetype, host)
    except Exception:  # noqa: BLE001  (_NotNative, or anything unforeseen: the dict readers decide)
        return None, []


def _read(path, sourcetype, host):
    reader = problems = None
    for reader, problems in _reading(path, sourcetype, BLOCK_BYTES):
        pass
    if reader is None:
        return None, []
    blocks, issues = reader.finish()
    stem = os.path.splitext(os.path.basename(path))[0]
    frame = _concat(blocks, host or stem)
    return frame, [ReadIssue(path, None, p) for p in problems] + issues


def _reading(path, sourcetype, block_bytes):
    """The file's reader, yielded (with the decompression problems so far) after each block
    of about ``block_bytes`` has been added to it, and once more at the end; nothing when the
    file is not a Zeek log this module reads (raises _NotNative where it finds out later)."""
    from . import winframes  # it builds on this module

    given_kind = None
    if sourcetype:
        given_kind = zeek_kind_from_sourcetype(sourcetype)
        if given_kind is None:
            return
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if head.startswith(EVTX_MAGIC) or head[:4] in capture.PCAP_MAGICS or \
            path.lower().endswith((".pcap", ".pcapng")):
        return
    compressed = head[:2] == GZIP_MAGIC
    name_hint = path[:-3] if compressed and path.lower().endswith(".gz") else path
    problems = []
    with open(path, "rb") as handle:
        chunks = gunzip_chunks(handle, problems) if compressed else _big_chunks(handle)
        start, sniffed = bytearray(), []
        for chunk in chunks:
            sniffed.append(chunk)
            start += chunk
            if len(start) >= SNIFF_BYTES:
                break
        if compressed and (start.startswith(EVTX_MAGIC) or start[:4] in capture.PCAP_MAGICS):
            return
        streamed = _streamable(start.decode("utf-8-sig", errors="replace"), sourcetype, name_hint)
        if streamed == "json":
            reader = _JsonLog(path, sourcetype, name_hint, given_kind)
        elif streamed == "tsv":
            reader = _TsvLog(path, name_hint)
        elif streamed is None and sourcetype is None and \
                winframes.is_winxml_start(start.decode("utf-8-sig", errors="replace")):
            reader = winframes.WinXmlLog(path)
        else:
            return
        del start
        for block, lines, first_line in _blocks(_chain(sniffed, chunks), block_bytes):
            reader.add_block(block, lines, first_line)
            yield reader, problems
    yield reader, problems


class FrameChunks(object):
    """A Zeek log (or Windows XML export, or EVTX file: :mod:`.winframes`) read a block at a time: iterating gives one frame per block of about
    ``block_bytes`` of text (rows in line order, the runner's defaults set, as
    :func:`read_frame` gives them: the same events and values, one block's rows at a time),
    so the file is never held whole. After the iteration, ``issues`` holds the file's issues
    (those :func:`read_frame` gives) and ``declined`` says the file is not read here (at the
    start, or at a line this reader cannot follow, after some frames: the caller then drops
    this file's frames and reads it with the dict readers)."""

    def __init__(self, path, sourcetype=None, host=None, block_bytes=BLOCK_BYTES):
        self.path, self.sourcetype = str(path), sourcetype
        self.host = host or os.path.splitext(os.path.basename(self.path))[0]
        self.block_bytes = block_bytes
        self.issues, self.declined = [], False

    def __iter__(self):
        reader = problems = None
        try:
            if not os.path.isfile(self.path):
                self.declined = True
                return
            if _is_evtx(self.path):
                from .winframes import EvtxFrames
                chunks = EvtxFrames(self.path, self.host, batch=max(1, self.block_bytes // 1024))
                yield from chunks
                self.issues, self.declined = chunks.issues, chunks.declined
                return
            for reader, problems in _reading(self.path, self.sourcetype, self.block_bytes):
                frames, reader.frames = reader.frames, []
                frame = _concat(frames, self.host) if frames else None
                if frame is not None and frame.height:
                    yield frame
            if reader is None:
                self.declined = True
                return
            _frames, issues = reader.finish()
        except Exception:  # noqa: BLE001  (_NotNative, or anything unforeseen: the dict readers decide)
            self.declined = True
            return
        self.issues = [ReadIssue(self.path, None, p) for p in problems] + issues


def json_spans(path, sourcetype=None, block_bytes=BLOCK_BYTES):
    """The blocks :class:`FrameChunks` reads a plain (not compressed) Zeek JSON log in, as
    (offset, length, number of the first line) each, in order, so that each can be read on its
    own (:func:`read_json_block`, in a worker process); None when the file is not one
    (:func:`_reading` would not read it as JSON lines: TSV, gzip, EVTX, other formats). The
    blocks are cut where :func:`_blocks` cuts them; the spans are found as they are consumed
    (a read of each block, no parsing)."""
    path = str(path)
    if sourcetype and zeek_kind_from_sourcetype(sourcetype) is None:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(READ_CHUNK)  # what _reading sniffs: its first chunk
    except OSError:
        return None
    if head.startswith(EVTX_MAGIC) or head[:4] in capture.PCAP_MAGICS or head[:2] == GZIP_MAGIC or \
            path.lower().endswith((".pcap", ".pcapng")):
        return None
    if _streamable(head.decode("utf-8-sig", errors="replace"), sourcetype, path) != "json":
        return None
    return _spans(path, block_bytes, 3 if head.startswith(b"\xef\xbb\xbf") else 0)


def _spans(path, block_bytes, offset):
    line = 1
    data = bytearray(block_bytes)  # one buffer for every block (no fresh pages per block)
    with open(path, "rb") as handle:
        while True:
            handle.seek(offset)
            size = handle.readinto(data)
            if size < block_bytes:
                if size:
                    yield offset, size, line
                return
            cut = data.rfind(b"\n") + 1
            lines = data.count(b"\n", 0, cut)
            if cut == 0:  # one line longer than a block: up to its end
                cut = block_bytes
                while True:
                    more = handle.read(READ_CHUNK)
                    if not more:
                        yield offset, cut, line
                        return
                    at = more.find(b"\n")
                    if at >= 0:
                        cut, lines = cut + at + 1, 1
                        break
                    cut += len(more)
            yield offset, cut, line
            offset, line = offset + cut, line + lines


def read_json_block(path, sourcetype, host, offset, length, first_line):
    """One block of :func:`json_spans` read as :class:`FrameChunks` reads it: (frame or None,
    issues as (line, order, issue), the first line of each generic Zeek log type met, the JSON
    keys learned: :func:`keys_declined` of all blocks' says whether the file is declined). Raises
    where the file cannot be read here (the caller reads it with the dict readers)."""
    path = str(path)
    with open(path, "rb") as handle:
        handle.seek(offset)
        block = handle.read(length)
    given_kind = zeek_kind_from_sourcetype(sourcetype) if sourcetype else None
    reader = _JsonLog(path, sourcetype, path, given_kind)
    reader.add_block(block, _lines(block), first_line)
    del block
    host = host or os.path.splitext(os.path.basename(path))[0]
    frame = _concat(reader.frames, host) if reader.frames else None
    return frame, reader.issues, reader.first_of_kind, frozenset(reader.types or ())


def keys_declined(keys, sourcetype):
    """Whether the keys learned from a file's blocks so far (:func:`read_json_block`, each
    learning its own) make the file one :class:`FrameChunks` declines (it learns them all)."""
    try:
        _check_keys(set(keys), sourcetype)
    except _NotNative:
        return True
    return False


def json_block_issues(path, issues, first_of_kind):
    """A file's issues from its blocks' (:func:`read_json_block`, in order), as
    :class:`FrameChunks` gives them."""
    reader = _JsonLog(str(path), None, str(path), None)
    reader.issues, reader.first_of_kind = list(issues), dict(first_of_kind)
    return reader.finish()[1]


def _is_evtx(path):
    with open(path, "rb") as handle:
        return handle.read(len(EVTX_MAGIC)) == EVTX_MAGIC


def _big_chunks(handle):
    """A plain file's bytes, a block at a time after the first (sniffed) chunk."""
    first = next(_plain_chunks(handle), None)
    if first is None:
        return
    yield first
    while True:
        chunk = handle.read(BLOCK_BYTES)
        if not chunk:
            return
        yield chunk + handle.readline()  # ends at a line end: the block is this chunk, uncopied


def _stripped(lines):
    """str.strip() of each line (most JSON lines start with "{" and end with "}": as they are)."""
    if lines.str.starts_with("{").all() and lines.str.ends_with("}").all():
        return lines
    return lines.str.strip_chars(_PY_SPACE)


def _chain(first, rest):
    yield from first
    yield from rest


def _blocks(chunks, block_bytes=BLOCK_BYTES):
    """(block text, lines column, number of the first line) of the text, about
    ``block_bytes`` at a time, cut after a newline (a line longer than that is one block).
    Raises _NotNative where Python's universal newlines would split lines polars does not (a
    carriage return not before a newline) or the text is not UTF-8."""
    pending, size = [], 0
    first_line = 1
    at_start = True
    for chunk in chunks:
        if at_start:
            pending.append(chunk)
            size += len(chunk)
            if size < 3:
                continue
            joined = b"".join(pending)
            pending, size = [joined[3:] if joined.startswith(b"\xef\xbb\xbf") else joined], len(joined)
            at_start = False
            chunk = None
        if chunk is not None:
            pending.append(chunk)
            size += len(chunk)
        if size < block_bytes:
            continue
        data = b"".join(pending)
        start = 0
        while len(data) - start >= block_bytes:
            cut = data.rfind(b"\n", start, start + block_bytes) + 1
            if cut == 0:  # one line longer than a block: up to its end
                cut = data.find(b"\n", start + block_bytes) + 1
                if cut == 0:
                    break
            block = data[start:cut]
            start = cut
            lines = _lines(block)
            yield block, lines, first_line
            first_line += len(lines)
        pending = [data[start:] if start else data]
        size = len(pending[0])
        del data
    data = b"".join(pending)
    if at_start and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data:
        yield data, _lines(data), first_line


def _lines(block):
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        raise _NotNative("a carriage return that is not a line end")
    lines = pl.read_lines(block, name="line").to_series()  # raises on bad UTF-8
    expected = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    if len(lines) != expected:
        raise _NotNative("line count")
    return lines


# ---------------------------------------------------------------- value text (put/scalar_text)

def _key_regex(key):
    """A pattern finding key ``key`` in a raw JSON line (at any depth), up to its value."""
    if not _PLAIN_KEY.match(key):
        return None
    return r'[{,]\s*"' + key.replace(".", r"\.") + r'"\s*:\s*'


def _float_text(values):
    """Python's repr of each float (Float64 series), as scalar_text writes it."""
    text = values.cast(pl.String)
    size = values.abs()
    odd = values.is_not_null() & (size != 0) & ((size < _EXACT_FLOAT_TEXT[0]) | (size >= _EXACT_FLOAT_TEXT[1]))
    if odd.any():
        distinct = values.filter(odd).unique().to_list()
        mapping = pl.DataFrame({"v": distinct, "t": [repr(v) for v in distinct]},
                               schema={"v": pl.Float64, "t": pl.String})
        fixed = pl.DataFrame({"v": values}).join(mapping, on="v", how="left",
                                                 maintain_order="left").get_column("t")
        text = pl.select(pl.when(odd).then(fixed).otherwise(text)).to_series()
    return text


def _replace_rows(series, rows, values):
    """``series`` with rows ``rows`` (positions) holding ``values`` instead (any dtype)."""
    patch = pl.DataFrame({"__row": rows.cast(pl.Int64), "__new": values})
    whole = pl.DataFrame({"__old": series}).with_row_index("__row").with_columns(pl.col("__row").cast(pl.Int64))
    joined = whole.join(patch, on="__row", how="left", maintain_order="left")
    picked = joined.select(pl.when(pl.col("__row").is_in(rows.cast(pl.Int64).implode()))
                           .then(pl.col("__new")).otherwise(pl.col("__old")))
    return picked.to_series().alias(series.name)


def _number_token_text(tokens):
    """scalar_text of JSON number tokens (strings): ints as written, floats as Python's repr."""
    is_int = ~tokens.str.contains(r"[.eE]")
    floats = _float_text(tokens.cast(pl.Float64, strict=False))
    ints = tokens.str.replace(r"^-0$", "0")
    return pl.select(pl.when(is_int).then(ints).otherwise(floats)).to_series()


class _Texts(object):
    """Text columns of one parsed block (put/scalar_text applied) and the rows to hand to the
    dict reader (``python``: a Boolean mask). ``ambiguous``: key names found at two places of
    the schema (a pattern on the raw line must then also see the key just once)."""

    def __init__(self, raw, ambiguous=()):
        self.raw = raw
        self.ambiguous = ambiguous
        self.python = pl.Series(values=[False] * len(raw), dtype=pl.Boolean) if len(raw) \
            else pl.Series(dtype=pl.Boolean)
        self.columns = {}  # zeek name -> String or List(String) series

    def hand_over(self, rows):
        if len(rows):
            self.python = self.python.scatter(rows, True)

    def written(self, rows, key, value):
        """(rows, texts): of the row positions ``rows``, those whose raw line shows ``key``
        with a value matching ``value`` (a pattern with one group, the text returned); the
        others are handed to the dict reader."""
        pattern = _key_regex(key)
        if pattern is None or not len(rows):
            self.hand_over(rows)
            return rows.clear(), pl.Series(dtype=pl.String)
        lines = self.raw.gather(rows)
        texts = lines.str.extract(pattern + value)
        bad = texts.is_null()
        if key in self.ambiguous:
            bad = bad | (lines.str.count_matches(pattern) != 1)
        self.hand_over(rows.filter(bad))
        return rows.filter(~bad), texts.filter(~bad)

    def add(self, name, series, key):
        if name in self.columns:
            raise _NotNative("two keys give field %r" % name)
        dtype = series.dtype
        if dtype == pl.Null:
            return
        if dtype == pl.String:
            # a value that reads like a number or boolean: the raw token tells what it was
            look = series.str.contains(_NOT_STRING_LOOK).fill_null(False)
            rows, tokens = self.written(look.arg_true(), key, r'("|-?[0-9][0-9.eE+-]*|true|false|[\[{])')
            text = series
            not_string = tokens != '"'
            if not_string.any():
                rows, tokens = rows.filter(not_string), tokens.filter(not_string)
                nested = tokens.is_in(["[", "{"])
                self.hand_over(rows.filter(nested))  # a list or object: the dict reader's text
                rows, tokens = rows.filter(~nested), tokens.filter(~nested)
                fixed = pl.select(pl.when(tokens == "true").then(pl.lit("T"))
                                  .when(tokens == "false").then(pl.lit("F"))
                                  .otherwise(_number_token_text(tokens))).to_series()
                text = text.scatter(rows, fixed)
        elif dtype == pl.Boolean:
            text = pl.select(pl.when(series).then(pl.lit("T")).otherwise(pl.lit("F"))).to_series()
            text = pl.select(pl.when(series.is_null()).then(None).otherwise(text)).to_series()
        elif dtype == pl.Int64:
            text = series.cast(pl.String)
        elif dtype == pl.Float64:
            text = _float_text(series)
            # an integral value may have been written as an int ("2", not "2.0"): the token says
            rows, tokens = self.written((series == series.floor()).fill_null(False).arg_true(), key,
                                        r"(-?[0-9][0-9.eE+-]*)")
            if len(rows):
                text = text.scatter(rows, _number_token_text(tokens).fill_null(""))
        elif isinstance(dtype, pl.List):
            text = self._list_text(series, key)
        else:
            raise _NotNative("a %s value" % dtype)
        self.columns[name] = text.alias(name)

    def _list_text(self, series, key):
        inner = series.dtype.inner
        if inner == pl.Null:
            return pl.Series(series.name, [None] * len(series), dtype=pl.List(pl.String))
        if inner == pl.String:
            look = series.list.eval(pl.element().str.contains(_NOT_STRING_LOOK).fill_null(False)).list.any()
            rows, lists = self.written(look.fill_null(False).arg_true(), key,
                                       r"(\[(?:" + _JSON_STRING + r'|[^\]"])*\])')
            # every element written as a string (or null): nothing else outside the strings
            rest = lists.str.replace_all(_JSON_STRING, "").str.replace_all(r"null|[\s,\[\]]", "")
            self.hand_over(rows.filter(rest != ""))
            return series
        if inner == pl.Boolean:
            return series.list.eval(pl.when(pl.element()).then(pl.lit("T"))
                                    .when(pl.element().not_()).then(pl.lit("F")))
        if inner == pl.Int64:
            return series.list.eval(pl.element().cast(pl.String))
        if inner == pl.Float64:
            text = series.list.eval(pl.element().cast(pl.String))
            integral = series.list.eval(pl.element() == pl.element().floor()).list.any().fill_null(False)
            odd = series.list.eval((pl.element() != 0) & ((pl.element().abs() < _EXACT_FLOAT_TEXT[0]) |
                                                          (pl.element().abs() >= _EXACT_FLOAT_TEXT[1])))
            odd = odd.list.any().fill_null(False)
            rows = (integral | odd).arg_true()
            pattern = _key_regex(key)
            if len(rows) and pattern is not None and key not in self.ambiguous:
                # every number written as a float ("300.0", not "300"): polars' text is Python's
                # repr inside the exact range, so only the others need their tokens read
                floats = self.raw.gather(rows).str.contains(pattern + _FLOAT_LIST) & ~odd.gather(rows)
                rows = rows.filter(~floats)
            rows, lists = self.written(rows, key, r"\[([^\]]*)\]")
            if len(rows):
                tokens = lists.str.split(",").list.eval(pl.element().str.strip_chars(" \t\r\n"))
                lengths = tokens.list.len()
                flat = tokens.explode()
                flat = pl.select(pl.when(flat != "null").then(flat)).to_series()
                texts = _number_token_text(flat)
                rebuilt = pl.DataFrame({"row": pl.int_range(len(lengths), eager=True).repeat_by(lengths).explode(),
                                        "t": texts}).group_by("row", maintain_order=True).agg(pl.col("t"))
                fixed = rebuilt.get_column("t")
                if len(fixed) == len(rows):
                    text = _replace_rows(text, rows, fixed)
                else:
                    self.hand_over(rows)
            return text
        raise _NotNative("a list of %s" % inner)


def _put_text(series):
    """put(): "" and "-" are no value; list elements likewise, an empty list none."""
    if isinstance(series.dtype, pl.List):
        kept = series.list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")
                                                    & (pl.element() != "-")))
        return pl.select(pl.when(kept.list.len() > 0).then(kept)).to_series().alias(series.name)
    return pl.select(pl.when((series != "") & (series != "-")).then(series)).to_series().alias(series.name)


# ---------------------------------------------------------------- the events (zeek_event)

def _as_list(expr):
    return pl.concat_list([expr])


def _set(frame, name, value_expr, keep_existing=True):
    """``put(ev, name, value)``: the value where it has one, else what the record held."""
    if keep_existing and name in frame.columns:
        existing = frame.schema[name]
        value_dtype = frame.select(value_expr).to_series().dtype
        if isinstance(existing, pl.List) != isinstance(value_dtype, pl.List):
            old = pl.col(name)
            if not isinstance(existing, pl.List):
                old = pl.when(old.is_not_null()).then(_as_list(old))
            else:
                value_expr = pl.when(value_expr.is_not_null()).then(_as_list(value_expr))
            return frame.with_columns(pl.coalesce(value_expr, old).alias(name))
        return frame.with_columns(pl.coalesce(value_expr, pl.col(name)).alias(name))
    return frame.with_columns(value_expr.alias(name))


def _fill(frame, name, value):
    """Column ``name`` where the record has it, else ``value`` (a String expression)."""
    if name not in frame.columns:
        return frame.with_columns(value.alias(name))
    if isinstance(frame.schema[name], pl.List):
        return frame.with_columns(pl.when(pl.col(name).is_not_null()).then(pl.col(name))
                                  .otherwise(_as_list(value)).alias(name))
    return frame.with_columns(pl.coalesce(pl.col(name), value).alias(name))


def _column(frame, name):
    """Column ``name`` as a series (all null when the frame lacks it)."""
    if name in frame.columns:
        return frame.get_column(name)
    return pl.Series(name, [None] * frame.height, dtype=pl.String)


def _col(frame, name):
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)


def _scalar(frame, name, python):
    """Column ``name`` as one value per row: rows holding several are handed to Python (the
    dict reader's formatting of a list is its own)."""
    if name not in frame.columns:
        return frame, python
    if isinstance(frame.schema[name], pl.List):
        python = python | (frame.get_column(name).list.len() > 1).fill_null(False)
        frame = frame.with_columns(pl.col(name).list.first().alias("__scalar_" + name))
        return frame, python
    return frame.with_columns(pl.col(name).alias("__scalar_" + name)), python


def _epoch(frame, python):
    """_time from ts (else @timestamp): float(ts), else parse_iso(ts); rows where Python would
    raise are handed to Python, which reports them as it does."""
    frame, python = _scalar(frame, "ts", python)
    frame, python = _scalar(frame, "@timestamp", python)
    ts = frame.select(pl.coalesce(_col(frame, "__scalar_ts"), _col(frame, "__scalar_@timestamp"),
                                  pl.repeat(None, frame.height, dtype=pl.String))).to_series()
    simple = ts.str.contains(r"^-?[0-9]{1,17}(?:\.[0-9]{1,17})?$").fill_null(False)
    value = pl.select(pl.when(simple).then(ts.cast(pl.Float64, strict=False))).to_series()
    other = ts.is_not_null() & ~simple
    # ISO 8601 in UTC as Zeek writes it with JSON::TS_ISO8601: parse_iso's value, in bulk
    # (epoch microseconds are exact in a double, so their quotient is timestamp()'s float;
    # second 60, which polars takes and Python refuses, is left to Python)
    iso = other & ts.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z$").fill_null(False)
    if iso.any():
        stamps = ts.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC", strict=False)
        micros = stamps.dt.epoch("us").cast(pl.Float64)
        # a divisor column, not a scalar: polars multiplies by a scalar's reciprocal (not exact)
        epoch = micros / pl.repeat(1e6, len(micros), dtype=pl.Float64, eager=True)
        value = pl.select(pl.when(iso & epoch.is_not_null()).then(epoch).otherwise(value)).to_series()
        other = other & ~(iso & epoch.is_not_null())
    if other.any():
        distinct = ts.filter(other).unique().to_list()
        parsed = []
        for text in distinct:
            try:
                try:
                    parsed.append(float(text))
                except ValueError:
                    parsed.append(parse_iso(text))
            except Exception:  # noqa: BLE001  (the dict reader reports it)
                parsed.append(None)
        mapping = pl.DataFrame({"t": distinct, "v": parsed}, schema={"t": pl.String, "v": pl.Float64})
        looked = pl.DataFrame({"t": ts}).join(mapping, on="t", how="left", maintain_order="left")
        value = pl.select(pl.when(other).then(looked.get_column("v")).otherwise(value)).to_series()
        python = python | (other & value.is_null())
    if bool((value >= MILLISECONDS_FROM).any()):
        raise _NotNative("times in milliseconds (JSON::TS_MILLIS): the dict reader converts them")
    return value, ts.is_null(), python


def _int_values(text):
    """int(text or 0) per row; null where Python's int() raises ValueError."""
    simple = text.str.contains(r"^-?[0-9]{1,18}$").fill_null(False)
    value = pl.select(pl.when(text.is_null()).then(pl.lit(0, pl.Int64))
                      .when(simple).then(text.cast(pl.Int64, strict=False))).to_series()
    other = text.is_not_null() & ~simple
    if other.any():
        distinct = text.filter(other).unique().to_list()
        parsed = []
        for item in distinct:
            try:
                number = int(item)
                parsed.append(number if -2 ** 62 < number < 2 ** 62 else None)
            except ValueError:
                parsed.append(None)
        big = [t for t, v in zip(distinct, parsed) if v is None and _is_int(t)]
        if big:
            raise _NotNative("byte counts past 2**62")
        mapping = pl.DataFrame({"t": distinct, "v": parsed}, schema={"t": pl.String, "v": pl.Int64})
        looked = pl.DataFrame({"t": text}).join(mapping, on="t", how="left", maintain_order="left")
        value = pl.select(pl.when(other).then(looked.get_column("v")).otherwise(value)).to_series()
    return value


def _is_int(text):
    try:
        int(text)
        return True
    except ValueError:
        return False


def _events(frame, kind, path):
    """zeek_event() over a frame of one kind's record fields (text columns, ``__line``,
    ``_raw``): (events frame, mask of rows the dict reader must make instead)."""
    python = pl.Series(values=[False] * frame.height, dtype=pl.Boolean)
    defaults = {"sourcetype": "bro:%s:json" % kind, "source": path, "c2hunt_file": path}
    for name, value in defaults.items():  # the event starts with these; record fields win
        frame = _fill(frame, name, pl.lit(value, pl.String))
    value, no_ts, python = _epoch(frame, python)
    frame = frame.with_columns(value.alias("_time"))
    if kind in CIM_KINDS:
        python = python | no_ts
        frame = _cim(frame, kind)
    elif kind != "x509":
        frame = _generic_cim(frame, kind)
    if kind == "conn":
        frame, python = _conn_bytes(frame, python)
    if kind == "http":
        frame, python = _http_url(frame, python)
    for name in [c for c in frame.columns if c.startswith("__scalar_")]:
        frame.drop_in_place(name)
    return frame, python


def _cim(frame, kind):
    aliases = [("src", "id.orig_h"), ("src_ip", "id.orig_h"), ("src_port", "id.orig_p"),
               ("dest", "id.resp_h"), ("dest_ip", "id.resp_h"), ("dest_port", "id.resp_p")]
    aliases += {
        "conn": [("transport", "proto"), ("app", "service"), ("duration", "duration"),
                 ("bytes_out", "orig_bytes"), ("bytes_in", "resp_bytes"),
                 ("packets_out", "orig_pkts"), ("packets_in", "resp_pkts")],
        "dns": [("query", "query"), ("record_type", "qtype_name"), ("reply_code", "rcode_name"),
                ("answer", "answers"), ("transport", "proto")],
        "http": [("http_method", "method"), ("site", "host"), ("uri_path", "uri"),
                 ("http_user_agent", "user_agent"), ("status", "status_code"),
                 ("bytes_out", "request_body_len"), ("bytes_in", "response_body_len")],
        "ssl": [("ssl_subject_common_name", "server_name"), ("ssl_version", "version")],
    }[kind]
    for target, source in aliases:
        if source in frame.columns and target != source:
            frame = _set(frame, target, pl.col(source))
    if kind == "conn":
        frame = frame.with_columns(pl.lit("ip", pl.String).alias("protocol"))
    frame = frame.with_columns(pl.lit(_TAGS[kind], pl.List(pl.String)).alias("tag"))
    return frame


def _generic_cim(frame, kind):
    has_id = _present(frame, "id.orig_h") | _present(frame, "id.resp_h")
    for target, source in (("src", "id.orig_h"), ("src_port", "id.orig_p"),
                           ("dest", "id.resp_h"), ("dest_port", "id.resp_p")):
        if source in frame.columns:
            frame = _set(frame, target, pl.when(has_id).then(pl.col(source)))
    path_transport = _TRANSPORT_OF_PATH.get(kind)
    if "proto" in frame.columns or path_transport is not None:
        if "proto" in frame.columns and isinstance(frame.schema["proto"], pl.List):
            proto = pl.col("proto")
            fixed = pl.lit([path_transport], pl.List(pl.String)) if path_transport else None
        else:
            proto = _col(frame, "proto")
            fixed = pl.lit(path_transport, pl.String) if path_transport else None
        value = proto if fixed is None else pl.coalesce(proto, fixed)
        frame = _set(frame, "transport", pl.when(has_id).then(value))
    return frame


def _present(frame, name):
    return pl.col(name).is_not_null() if name in frame.columns else pl.lit(False)


def _conn_bytes(frame, python):
    frame, python = _scalar(frame, "orig_bytes", python)
    frame, python = _scalar(frame, "resp_bytes", python)
    out_b = _int_values(_column(frame, "__scalar_orig_bytes"))
    in_b = _int_values(_column(frame, "__scalar_resp_bytes"))
    total = (out_b + in_b).cast(pl.String)
    return _set(frame, "bytes", pl.lit(total)), python


def _http_url(frame, python):
    if "host" not in frame.columns:
        return frame, python
    frame, python = _scalar(frame, "host", python)
    frame, python = _scalar(frame, "uri", python)
    url = pl.when(pl.col("__scalar_host").is_not_null()).then(
        pl.lit("http://") + pl.col("__scalar_host") + pl.coalesce(_col(frame, "__scalar_uri"), pl.lit("")))
    return _set(frame, "url", url), python


# ---------------------------------------------------------------- JSON lines

def _json_dtype(value):
    """The polars type a JSON value asks for (None for null); raises _NotNative for values a
    frame column does not hold (lists of objects or lists)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return pl.Boolean
    if isinstance(value, int):
        return pl.Int64 if -2 ** 63 <= value < 2 ** 63 else pl.String
    if isinstance(value, float):
        return pl.Float64
    if isinstance(value, str):
        return pl.String
    if isinstance(value, list):
        inner = None
        for item in value:
            if isinstance(item, (list, dict)):
                raise _NotNative("a list of lists or objects")
            inner = _merge(inner, _json_dtype(item))
        return ("list", inner)
    if isinstance(value, dict):
        fields = {}
        for key, item in value.items():
            fields[key] = _merge(fields.get(key), _json_dtype(item))
        return ("struct", fields)
    raise _NotNative("a JSON value of type %s" % type(value).__name__)


def _merge(a, b):
    """One type for values of types a and b (None: no value seen)."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]):
            raise _NotNative("a key holding a list or object and something else")
        if a[0] == "list":
            return ("list", _merge(a[1], b[1]))
        fields = dict(a[1])
        for key, item in b[1].items():
            fields[key] = _merge(fields.get(key), item)
        return ("struct", fields)
    if {a, b} == {pl.Int64, pl.Float64}:
        return pl.Float64
    return pl.String  # strings, booleans and numbers mixed: read as text, settled per row


def _polars_dtype(kind):
    if kind is None:
        return pl.String
    if isinstance(kind, tuple):
        if kind[0] == "list":
            return pl.List(kind[1] or pl.String)
        return pl.Struct({k: _polars_dtype(v) for k, v in kind[1].items()})
    return kind


class _JsonLog(object):
    def __init__(self, path, sourcetype, name_hint, given_kind):
        self.path = path
        self.sourcetype = sourcetype
        self.name_hint = name_hint
        self.given_kind = given_kind
        self.name_kind = given_kind or (zeek_kind_from_name(name_hint) if not sourcetype else None)
        self.types = None
        self.frames = []
        self.issues = []  # (line, order, issue)
        self.first_of_kind = {}  # generic kind -> (line, issue)

    # -- schema
    def _learn(self, texts):
        """Learn the JSON types of the keys of ``texts`` (lines); a line whose shapes clash with
        what is known (a list where a string was) is left out: polars refuses it, so the dict
        reader reads it. Returns the texts that fit (parsed objects that polars reads as
        Python does) as a Boolean list, and whether the schema changed."""
        types = dict(self.types or {})
        fits = []
        for text in texts:
            try:
                obj = json.loads(text)
                if not isinstance(obj, dict) or not _fits(obj):
                    raise _NotNative("not a record polars reads as Python does")
                merged = {}
                for key, value in obj.items():
                    merged[key] = _merge(merged[key] if key in merged else types.get(key), _json_dtype(value))
            except (ValueError, RecursionError, _NotNative):
                fits.append(False)
                continue
            types.update(merged)
            fits.append(True)
        _check_keys(set(types), self.sourcetype)
        changed = types != self.types
        self.types = types
        return fits, changed

    def _schema(self):
        return {key: _polars_dtype(kind) for key, kind in self.types.items()}

    # -- blocks
    def add_block(self, block, lines, first_line):
        raw = _stripped(lines)
        keep = raw != ""
        numbers = pl.int_range(first_line, first_line + len(lines), eager=True, dtype=pl.Int64)
        raw, numbers = raw.filter(keep), numbers.filter(keep)
        if not len(raw):
            return
        if self.types is None:
            self._learn(raw.head(SAMPLE_LINES).to_list())
            if not self.types:
                raise _NotNative("no JSON object in the first lines")
            if self.name_kind is None and "_path" not in self.types:
                # the log type would come from each record's keys: the dict reader's call
                raise _NotNative("neither the file name nor _path names the Zeek log")
        data = block
        for _ in range(3):
            parsed = self._parse(raw, data)
            if parsed is None:  # polars refuses some line: settle the block line by line
                return self._block_by_lines(raw, numbers)
            unexpected = self._unexpected_keys(parsed, raw)
            if not len(unexpected):
                break
            if not self._learn(raw.gather(unexpected.head(WIDEN_ROWS)).to_list())[1]:
                break
        self._convert(parsed, raw, numbers, unexpected)

    def _parse(self, raw, data=None):
        """The lines parsed against the schema (None when polars refuses one). ``data``: the
        block's text, blank lines included (polars skips those, as the dict reader does)."""
        if data is None:
            data = raw.str.join("\n").item().encode("utf-8")
        try:
            parsed = pl.read_ndjson(io.BytesIO(data), schema=self._schema())
        except pl.exceptions.PolarsError:
            return None
        return parsed if parsed.height == len(raw) else None

    def _block_by_lines(self, raw, numbers):
        """A block polars refuses: the lines that fit the (widened) schema are parsed again
        without the others, which the dict reader reads."""
        fits, _ = self._learn(raw.to_list())
        mask = pl.Series(fits, dtype=pl.Boolean)
        if mask.any():
            sub_raw, sub_numbers = raw.filter(mask), numbers.filter(mask)
            parsed = self._parse(sub_raw)
            if parsed is not None:
                unexpected = self._unexpected_keys(parsed, sub_raw)
                self._convert(parsed, sub_raw, sub_numbers, unexpected)
            else:
                mask = pl.Series([False] * len(raw), dtype=pl.Boolean)
        self._python_lines(raw.filter(~mask).to_list(), numbers.filter(~mask).to_list())

    def _unexpected_keys(self, parsed, raw):
        """Rows whose line holds a key the schema lacks (polars drops those silently) or one
        key twice: the keys written (and written null) are counted in the raw line."""
        present = _present_count(parsed)
        keys = raw.str.count_matches('":', literal=True)
        escaped = raw.str.contains("\\", literal=True)
        rows = ((keys != present) | escaped).arg_true()
        if not len(rows):
            return rows
        texts = raw.gather(rows)
        nulls = texts.str.count_matches('":null', literal=True)
        odd = (keys.gather(rows) != present.gather(rows) + nulls) | escaped.gather(rows)
        rows = rows.filter(odd)
        if not len(rows):
            return rows
        texts = raw.gather(rows)
        keys = texts.str.count_matches(_JSON_STRING + r"\s*:")
        nulls = texts.str.count_matches(_JSON_STRING + r"\s*:\s*null")
        surrogate = texts.str.contains(r"\\u[dD][89abAB]")
        bad = (keys != present.gather(rows) + nulls) | surrogate
        return rows.filter(bad)

    def _convert(self, parsed, raw, numbers, python_rows):
        texts = _Texts(raw, _ambiguous_keys(self.types))
        texts.hand_over(python_rows)
        for key in parsed.columns:
            self._add_texts(texts, zeek_name(key), parsed.get_column(key), key)
        # _path as Python sees it: a string (a true or 5 written there is text "T" or "5" here)
        path_column = texts.columns.get("_path") if "_path" in parsed.columns and \
            parsed.schema["_path"] == pl.String else None
        columns = {name: _put_text(series) for name, series in texts.columns.items()
                   if name != "_path"}
        frame = pl.DataFrame(list(columns.values())) if columns else pl.DataFrame(height=len(raw))
        frame = _fill(frame, "_raw", pl.lit(raw)).with_columns(numbers.alias("__line"))
        kinds = self._kinds(path_column, len(raw))
        python = texts.python | kinds.is_null()
        done = []
        for kind in kinds.filter(~python).unique(maintain_order=True).to_list():
            rows = (kinds == kind) & ~python
            events, to_python = _events(frame.filter(rows), kind, self.path)
            lines = events.get_column("__line")
            handed = lines.filter(to_python)
            events = events.filter(~to_python)
            if len(handed):
                python = python | numbers.is_in(handed.implode())
            if kind not in KNOWN_KINDS and events.height:
                self._note_kind(kind, events.get_column("__line").min())
            if events.height:
                done.append(events)
        self.frames.extend(done)
        self._python_lines(raw.filter(python).to_list(), numbers.filter(python).to_list())

    def _add_texts(self, texts, name, series, key):
        if isinstance(series.dtype, pl.Struct):
            for field in series.struct.fields:
                self._add_texts(texts, "%s.%s" % (name, field), series.struct.field(field), field)
            return
        texts.add(name, series, key)

    def _kinds(self, path_column, n):
        """The log type of each row (zeek_kind_of_json); null where only the dict reader can
        tell (no name, no valid _path)."""
        if self.given_kind is not None:
            return pl.Series(values=[self.given_kind] * n, dtype=pl.String)
        fallback = pl.lit(self.name_kind, pl.String)
        if path_column is None or path_column.dtype != pl.String:
            return pl.select(fallback.repeat_by(n).explode()).to_series() if n else \
                pl.Series(dtype=pl.String)
        valid = path_column.str.contains(_VALID_PATH).fill_null(False)
        return pl.select(pl.when(valid).then(path_column).otherwise(fallback)).to_series()

    def _note_kind(self, kind, line):
        known = self.first_of_kind.get(kind)
        if known is None or line < known[0]:
            self.first_of_kind[kind] = (line, generic_kind_warning(self.path, kind))

    def _python_lines(self, texts, numbers):
        """Lines the dict reader reads itself: its events and issues, at their line numbers."""
        events = []
        for text, number in zip(texts, numbers):
            got, issues = read_json_lines(self.path, [text], self.sourcetype, self.name_hint)
            for issue in issues:
                if issue.message.startswith("JSON record of unknown type"):
                    raise _NotNative("a record of unknown type ends the dict reader's file")
                if not issue.is_error and issue.message.startswith("Zeek "):
                    kind = issue.message.split(" ")[1]
                    self._note_kind(kind, number)
                    continue
                if issue.line is not None:
                    issue.line = number
                self.issues.append((number, 1, issue))
            for event in got:
                event["__line"] = number
                events.append(event)
        if events:
            self.frames.append(frame_from_rows(events))

    def finish(self):
        for kind, (line, issue) in self.first_of_kind.items():
            self.issues.append((line, 0, issue))
        self.issues.sort(key=lambda item: (item[0], item[1]))
        return self.frames, [issue for _, _, issue in self.issues]


def _check_keys(keys, sourcetype):
    """Raises _NotNative when JSON records with ``keys`` (every key learned so far) are not
    this reader's to read."""
    if sourcetype is None and (keys & _OTHER_READERS_KEYS or _SOCKET_KEYS <= keys):
        raise _NotNative("records other readers take")
    if "preview" in keys:
        raise _NotNative("a Splunk export")
    if {zeek_name(k) for k in keys} & _OWN_FIELDS:
        raise _NotNative("a record holding _time")


def _fits(obj):
    """A parsed line polars reads as Python does: numbers within 64 bits and finite."""
    for value in obj.values() if isinstance(obj, dict) else obj:
        kind = type(value)
        if kind is float:
            if value != value or value in (float("inf"), float("-inf")):
                return False
        elif kind is int:
            if not -2 ** 63 <= value < 2 ** 63:
                return False
        elif kind is dict or kind is list:
            if not _fits(value):
                return False
    return True


def _ambiguous_keys(types):
    """Key names at more than one place of the schema (top level and inside objects)."""
    seen, twice = set(), set()

    def walk(fields):
        for key, kind in fields.items():
            (twice if key in seen else seen).add(key)
            if isinstance(kind, tuple) and kind[0] == "struct":
                walk(kind[1])

    walk(types)
    return twice


def _present_count(frame):
    """Per row, the keys a parsed line had with a value (objects count themselves and their
    keys)."""
    counts = [pl.lit(0, pl.UInt32)]

    def walk(expr, dtype):
        counts.append(expr.is_not_null().cast(pl.UInt32))
        if isinstance(dtype, pl.Struct):
            for field in dtype.fields:
                walk(expr.struct.field(field.name), field.dtype)

    for name, dtype in frame.schema.items():
        walk(pl.col(name), dtype)
    return frame.select(pl.sum_horizontal(counts).alias("n")).to_series().cast(pl.UInt32)


# ---------------------------------------------------------------- TSV

class _TsvLog(object):
    """Zeek TSV as read_zeek_tsv reads it: headers (few) in Python, data lines as columns."""

    def __init__(self, path, name_hint):
        self.path = path
        self.name_hint = name_hint
        self.state = {"kind": None, "names": None, "types": None, "sep": "\t", "unset": "-",
                      "empty": "(empty)", "set_sep": ","}
        self.warned = False
        self.frames = []
        self.issues = []

    def add_block(self, block, lines, first_line):
        text = lines.str.strip_chars_end("\r\n")
        is_header = text.str.strip_chars_start(_PY_SPACE).str.starts_with("#")
        headers = is_header.arg_true().to_list()
        data = (text != "") & ~is_header
        # segments of data lines between header lines, each under the headers before it
        segment_starts = [0] + [h + 1 for h in headers]
        segment_ends = [h for h in headers] + [len(text)]
        for index, (start, end) in enumerate(zip(segment_starts, segment_ends)):
            if index > 0:
                self._header(text[headers[index - 1]])
            if end > start and data[start:end].any():
                segment = text[start:end].filter(data[start:end])
                numbers = pl.int_range(first_line + start, first_line + end, eager=True,
                                       dtype=pl.Int64).filter(data[start:end])
                self._segment(segment, numbers)

    def _header(self, line):
        state = self.state
        header = line.lstrip()
        if header.startswith("#separator"):
            state["sep"] = header.split(" ", 1)[1].encode().decode("unicode_escape")
            return
        parts = header.split(state["sep"])
        head = parts[0]
        if head == "#path":
            state["kind"] = parts[1]
        elif head == "#fields":
            state["names"] = [zeek_name(name) for name in parts[1:]]
        elif head == "#types":
            state["types"] = parts[1:]
        elif head == "#unset_field":
            state["unset"] = parts[1]
        elif head == "#empty_field":
            state["empty"] = parts[1]
        elif head == "#set_separator":
            state["set_sep"] = parts[1]

    def _segment(self, lines, numbers):
        state = self.state
        names = state["names"]
        if names is None:
            for number in numbers.to_list():
                self.issues.append((number, 1, ReadIssue(self.path, number,
                                                         "Zeek TSV data line before the #fields header")))
            return
        if len(set(names)) != len(names) or set(names) & _OWN_FIELDS or state["set_sep"] == "":
            raise _NotNative("a TSV header this reader does not follow")
        width = len(names)
        parts = lines.str.split(state["sep"])
        count = parts.list.len()
        tail_empty = parts.list.slice(width).list.join("") == ""
        fits = (count == width) | ((count > width) & tail_empty)
        for i in (~fits).arg_true().to_list():
            values = lines[i].split(state["sep"])
            while len(values) > width and values[-1] == "":
                values.pop()
            self.issues.append((numbers[i], 1, ReadIssue(self.path, numbers[i], "Zeek TSV line has %d columns, "
                                                         "header has %d" % (len(values), width))))
        lines, numbers, parts = lines.filter(fits), numbers.filter(fits), parts.filter(fits)
        if not len(lines):
            return
        kind = state["kind"] or zeek_kind_from_name(self.name_hint or self.path) or \
            zeek_kind_from_keys(names) or "unknown"
        if kind not in KNOWN_KINDS and not self.warned:
            self.issues.append((numbers[0], 0, generic_kind_warning(self.path, kind)))
            self.warned = True
        multivalue = _multivalue_columns(names, state["types"])
        unset, empty, set_sep = state["unset"], state["empty"], state["set_sep"]
        columns = []
        for index, (name, is_set) in enumerate(zip(names, multivalue)):
            if name == "_path":
                continue
            value = parts.list.get(index)
            no_value = (value == unset) | (value == empty)
            if is_set:
                listed = value.str.contains(set_sep, literal=True)
                items = value.str.split(set_sep)
                column = pl.select(pl.when(~no_value & listed).then(items)
                                   .when(~no_value).then(_as_list(pl.lit(value)))).to_series()
            else:
                column = pl.select(pl.when(~no_value).then(value)).to_series()
            columns.append(_put_text(column.alias(name)))
        frame = pl.DataFrame(columns) if columns else pl.DataFrame(height=len(lines))
        frame = _fill(frame, "_raw", pl.lit(lines)).with_columns(numbers.alias("__line"))
        events, to_python = _events(frame, kind, self.path)
        if to_python.any():
            for line, number in zip(lines.filter(to_python).to_list(), numbers.filter(to_python).to_list()):
                self._python_line(line, number, kind, names, multivalue)
            events = events.filter(~to_python)
        if events.height:
            self.frames.append(events)

    def _python_line(self, line, number, kind, names, multivalue):
        """read_zeek_tsv's own handling of one data line (its column count is right)."""
        state = self.state
        values = line.split(state["sep"])
        fields = {}
        for name, value, is_set in zip(names, values, multivalue):
            if value == state["unset"]:
                continue
            if value == state["empty"]:
                fields[name] = ""
            elif is_set and state["set_sep"] in value:
                fields[name] = value.split(state["set_sep"])
            else:
                fields[name] = value
        try:
            event = zeek_event(kind, fields, line, self.path)
        except Exception as exc:  # noqa: BLE001  (as read_zeek_tsv reports it)
            self.issues.append((number, 1, ReadIssue(self.path, number, "bad Zeek record: %s" % exc)))
            return
        event["__line"] = number
        self.frames.append(frame_from_rows([event]))

    def finish(self):
        self.issues.sort(key=lambda item: (item[0], item[1]))
        return self.frames, [issue for _, _, issue in self.issues]


# ---------------------------------------------------------------- the frame

def _concat(frames, host):
    """One frame of blocks and dict-reader rows, in line order, with one type per column and
    the runner's defaults. Each block is finished on its own and the blocks are concatenated
    without copying (a column operation on the concatenation would copy it whole)."""
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame()
    listed, multi = set(), set()
    for frame in frames:
        for name, dtype in frame.schema.items():
            if name in ("_time", "__line"):
                continue
            if dtype not in (pl.String, pl.List(pl.String)):
                raise _NotNative("field %r holds %s" % (name, dtype))
            if isinstance(dtype, pl.List):
                listed.add(name)
                if (frame.get_column(name).list.len() > 1).any():
                    multi.add(name)
    finished = []
    for frame in frames:
        changes = []
        for name, dtype in frame.schema.items():
            if name in multi and dtype == pl.String:
                changes.append(pl.when(pl.col(name).is_not_null()).then(_as_list(pl.col(name))).alias(name))
            elif name in listed and name not in multi and dtype != pl.String:
                # a stored multivalue has two values or more: single values are plain ones
                changes.append(pl.col(name).list.first())
            elif name == "_time" and dtype != pl.Float64:
                changes.append(pl.col(name).cast(pl.Float64))
            elif name == "__line" and dtype != pl.Int64:
                changes.append(pl.col(name).cast(pl.Int64))
        if changes:
            frame = frame.with_columns(changes)
        finished.append(_runner_defaults(frame, host, multi))
    result = pl.concat(finished, how="diagonal", rechunk=False) if len(finished) > 1 else finished[0]
    if not result.get_column("__line").is_sorted():
        result = result.sort("__line", maintain_order=True)
    result.drop_in_place("__line")
    for name in [n for n in result.columns if result.get_column(n).null_count() == result.height]:
        result.drop_in_place(name)
    return result


def _runner_defaults(frame, host, multi=()):
    """What Runner.read_files adds to every event the reader did not set (``multi``: fields
    held as lists in this file)."""
    if not frame.height:
        return frame
    for name, value in (("host", host), ("index", "main"), ("linecount", "1")):
        if name in multi and name not in frame.columns:
            frame = frame.with_columns(pl.lit([value], pl.List(pl.String)).alias(name))
        else:
            frame = _fill(frame, name, pl.lit(value, pl.String))
    if "_time" in frame.columns:
        return frame.with_columns(pl.col("_time").fill_null(0.0))
    return frame.with_columns(pl.lit(0.0, pl.Float64).alias("_time"))


# ---------------------------------------------------------------- many files (the runner's read)

def frames_of_files(runner, paths, sourcetype=None, host=None, progress=None,
                    min_bytes=NATIVE_MIN_BYTES):
    """``Runner.read_files`` as frames: (one frame per file, in the order it reads them, rows
    in line order; issues). A Zeek log of ``min_bytes`` or more is read by :func:`read_frame`;
    any other file by the runner's dict readers (``runner._read_one``), its events put in a
    frame with the same defaults. :func:`events_frame` of the result is ``frame_from_rows`` of the events
    ``read_files`` returns (newest first)."""
    from ..columnar.parallel import FrameReads
    from ..engine import input_files  # the engine imports the readers

    issues = []
    files = list(input_files(paths, sourcetype, issues))
    sizes = [_size(path) for path, _given in files]
    # the started workers of a whole-table hunt read some files meanwhile (columnar.parallel)
    elsewhere = FrameReads(runner, [(index, path, given, host, size) for index, ((path, given), size)
                                    in enumerate(zip(files, sizes)) if size >= min_bytes])
    read = {}
    try:
        for index, (path, given) in enumerate(files):  # this process's files first
            if index not in elsewhere:
                read[index] = _read_file(runner, path, given, host, sizes[index] >= min_bytes, progress)
        for index, (path, given) in enumerate(files):
            if index not in read:
                found = elsewhere.result(index)
                read[index] = _read_file(runner, path, given, host, True, progress, found)
    finally:
        elsewhere.close()
    frames = []
    for index in range(len(files)):
        frames.append(read[index][0])
        issues.extend(read[index][1])
    return frames, issues


def _read_file(runner, path, given, host, native, progress, found=None):
    """(frame, issues) of one file: ``found`` (a worker's :func:`read_frame` answer) or
    :func:`read_frame` when ``native``, else (or when it declines) the dict readers."""
    frame = None
    if found is not None:
        frame, file_issues = found
    elif native:
        frame, file_issues = read_frame(path, given, host)
    if frame is None:
        events, file_issues = runner.read_one_file(path, given, host)
        frame = frame_from_rows(events)
    if progress is not None:
        progress(path, frame.height)
    return frame, file_issues


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def events_frame(frames):
    """The files' frames as one, newest event first (``read_files``' stable sort on _time:
    ties keep file order, then line order). Raises ValueError when a field holds values a
    frame column cannot hold together (the dict events are then the way)."""
    result = frames_in_order(frames)
    if not result.height:
        return result
    return result.sort("_time", descending=True, maintain_order=True, nulls_last=True)


def frames_in_order(frames):
    """The files' frames as one, in the order given (a field a list in one, plain text in
    another, held as lists). Raises ValueError as :func:`events_frame` does."""
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame()
    listed = set()
    for frame in frames:
        for name, dtype in frame.schema.items():
            if isinstance(dtype, pl.List):
                listed.add(name)
            elif name != "_time" and dtype != pl.String:
                raise ValueError("field %r holds %s" % (name, dtype))
    unified = []
    for frame in frames:
        changes = [pl.when(pl.col(n).is_not_null()).then(_as_list(pl.col(n))).alias(n)
                   for n, dtype in frame.schema.items() if n in listed and dtype == pl.String]
        if "_time" in frame.columns and frame.schema["_time"] != pl.Float64:
            raise ValueError("_time holds %s" % frame.schema["_time"])
        unified.append(frame.with_columns(changes) if changes else frame)
    return pl.concat(unified, how="diagonal", rechunk=False) if len(unified) > 1 else unified[0]
