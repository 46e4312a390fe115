"""A damaged binary EVTX says so: records recovered, and where reading stopped.

An EVTX file is a 4096-byte file header then 65536-byte chunks, each with a header listing
the record ids it holds. The parsers read a truncated or corrupted file as "no events" and
say nothing, so the layout is checked here, around whichever parser reads the records:

- a file cut inside a chunk (a copy taken while the log was written, a download cut short)
  is read with that chunk zero-padded to full size from the start of the record the cut
  goes through, so every complete record before the cut is kept and no half record is read;
- the records read are compared with the ids the chunk headers list, and any shortfall,
  bad chunk header or cut is one issue naming the byte offset and the chunk.
"""
import os
import struct
import tempfile

from .common import ReadIssue

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_MAGIC = b"ElfChnk\x00"
CHUNK_HEADER_SIZE = 512
RECORD_MAGIC = b"\x2a\x2a\x00\x00"
MAX_RECORDS_PER_CHUNK = CHUNK_SIZE // 24  # a record is at least 24 bytes: bigger counts are garbage


def evtx_layout(path):
    """(file size, chunks the file header lists, chunk slots present, list of (chunk index,
    offset, first id, last id) for valid chunk headers, list of (chunk index, offset) for
    chunks whose header is bad)."""
    size = os.path.getsize(path)
    valid, bad = [], []
    slots = max(0, -(-(size - FILE_HEADER_SIZE) // CHUNK_SIZE))
    with open(path, "rb") as handle:
        header = handle.read(44)
        listed = struct.unpack_from("<H", header, 42)[0] if len(header) >= 44 else 0
        for index in range(slots):
            offset = FILE_HEADER_SIZE + index * CHUNK_SIZE
            handle.seek(offset)
            head = handle.read(40)
            if len(head) < 40 or head[:8] != CHUNK_MAGIC:
                bad.append((index, offset))
                continue
            first_id, last_id = struct.unpack_from("<QQ", head, 24)
            if last_id < first_id or last_id - first_id >= MAX_RECORDS_PER_CHUNK:
                bad.append((index, offset))
                continue
            valid.append((index, offset, first_id, last_id))
    return size, listed, slots, valid, bad


def _padded_copy(path, size):
    """A temporary copy whose cut last chunk is padded with zeros to full size, from the
    start of the record the cut goes through (that record's lost bytes would parse as
    zeros, so it is dropped whole); returns (copy path, whether a record was dropped)."""
    keep, straddling = _start_of_cut_record(path, size)
    chunk_end = FILE_HEADER_SIZE + -(-(size - FILE_HEADER_SIZE) // CHUNK_SIZE) * CHUNK_SIZE
    handle = tempfile.NamedTemporaryFile(prefix="c2hunt-evtx-", suffix=".evtx", delete=False)
    with handle, open(path, "rb") as source:
        left = keep
        while left > 0:
            block = source.read(min(left, 1 << 20))
            if not block:
                break
            handle.write(block)
            left -= len(block)
        handle.write(b"\x00" * (chunk_end - keep))
    return handle.name, straddling


def read_evtx_checked(path, read_evtx):
    """``read_evtx(path)`` with the damage reported; returns (events, issues)."""
    path = str(path)
    try:
        layout = evtx_layout(path)
    except OSError as exc:
        return [], [ReadIssue(path, None, "cannot read: %s" % exc)]
    source, cut_records = readable_copy(path, layout)
    if source != path:
        try:
            events, issues = read_evtx(source)
        finally:
            os.unlink(source)
        for ev in events:
            for key, value in ev.items():
                if value == source:
                    ev[key] = path
        for issue in issues:
            issue.path = path
    else:
        events, issues = read_evtx(path)
    message = damage_message(layout, cut_records, len(events), lambda: _last_record_id(events))
    if message is None:
        return events, issues
    return events, issues + [ReadIssue(path, None, message)]


def readable_copy(path, layout):
    """(the file to read, whether a record was dropped): ``path`` itself, or for a file cut
    inside a chunk a temporary padded copy (:func:`_padded_copy`; the caller deletes it)."""
    size = layout[0]
    cut = size < FILE_HEADER_SIZE or (size - FILE_HEADER_SIZE) % CHUNK_SIZE != 0
    if cut and size > FILE_HEADER_SIZE:
        return _padded_copy(path, size)
    return path, 0


def damage_message(layout, cut_records, recovered, last_record_id):
    """The issue's message for a damaged file (None when whole): ``layout`` from
    :func:`evtx_layout`, ``recovered`` records read, ``last_record_id()`` the highest
    EventRecordID read (asked only when records are missing)."""
    size, listed, slots, valid, bad = layout
    cut = size < FILE_HEADER_SIZE or (size - FILE_HEADER_SIZE) % CHUNK_SIZE != 0
    expected = sum(last - first + 1 for _, _, first, last in valid)
    problems = []
    if cut:
        where = ("inside the file header" if size < FILE_HEADER_SIZE
                 else "inside chunk %d at its byte %d" % (slots - 1, (size - FILE_HEADER_SIZE) % CHUNK_SIZE))
        problems.append("truncated at byte %d (%s)%s" % (
            size, where, "; the record cut there is dropped" if cut_records else ""))
    elif listed > slots:
        problems.append("truncated at byte %d: the file header lists %d chunks, the file holds %d"
                        % (size, listed, slots))
    if bad:
        problems.append("bad chunk header%s at byte %s" % ("s" if len(bad) > 1 else "",
                                                           ", ".join(str(o) for _, o in bad[:5])))
    if recovered < expected:
        last_ok = last_record_id()
        problems.append("reading stopped %s" % ("after EventRecordID %s" % last_ok if last_ok
                                                 else "before the first record"))
    if not problems:
        return None
    return "damaged EVTX: %s; recovered %d of %d records the chunk headers list" % (
        "; ".join(problems), recovered, expected)


def _start_of_cut_record(path, size):
    """(file offset where the complete records of the cut chunk end, whether a record starts
    there that the cut goes through); a chunk's records follow its 512-byte header, each with
    its length in its own header."""
    chunk_start = FILE_HEADER_SIZE + ((size - FILE_HEADER_SIZE) // CHUNK_SIZE) * CHUNK_SIZE
    with open(path, "rb") as handle:
        handle.seek(chunk_start)
        chunk = handle.read(size - chunk_start)
    if len(chunk) < CHUNK_HEADER_SIZE:
        return chunk_start, False
    offset = CHUNK_HEADER_SIZE
    while offset + 8 <= len(chunk) and chunk[offset:offset + 4] == RECORD_MAGIC:
        length = struct.unpack_from("<I", chunk, offset + 4)[0]
        if length < 24 or offset + length > len(chunk):
            break
        offset += length
    return chunk_start + offset, chunk[offset:offset + 4] == RECORD_MAGIC


def _last_record_id(events):
    ids = []
    for ev in events:
        try:
            ids.append(int(ev.get("EventRecordID")))
        except (TypeError, ValueError):
            continue
    return max(ids) if ids else None
