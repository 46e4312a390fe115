"""The splunkd side of search command protocol v2 (SCP v2, "chunked"), for running the
app's commands without Splunk.

splunkd starts a command script with its working directory set to ``bin/``, sends a
``getinfo`` chunk with the search's arguments, reads the command's configuration reply,
then sends ``execute`` chunks of CSV (at most 50,000 records each, multivalue fields as
``__mv_<name>`` columns) and reads one reply chunk per execute chunk. The last execute
chunk carries ``"finished": true``. Messages the command wants in the job inspector come
back in each reply's ``inspector.messages`` as ``[level, text]`` pairs.

Typical use::

    from c2hunt_offline.scp_driver import run_command
    result = run_command("bin/c2asym.py", ["threshold=0.8"],
                         [{"bytes_out": "900", "bytes_in": "10"}])
    result.records   # [{"bytes_out": "900", "bytes_in": "10", "pcr": "0.978", ...}]
    result.messages  # [("INFO", "..."), ...]

Records are dicts of field name to a string, or a list of strings for a multivalue
field. Splunk has no empty string: a field whose value is empty is left out of the
output records, as splunkd treats it as null.

Lower-level helpers (:func:`encode_chunk`, :func:`encode_records`, :func:`read_chunk`,
:func:`decode_records`, :func:`start`, :func:`exchange`) let tests and benchmarks drive a
command byte by byte.
"""
import csv
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import namedtuple
from urllib.parse import quote

DEFAULT_CHUNK_SIZE = 50000  # splunkd's maxresultrows default: records per execute chunk

_HEADER = re.compile(rb"chunked\s+1.0\s*,\s*(\d+)\s*,\s*(\d+)\s*\n")
# splunkd writes identifiers and numbers bare and quotes every other value.
_BARE_VALUE = re.compile(r"[A-Za-z0-9.+\-]*\Z")
_MV_ITEM = re.compile(r"\$((?:\$\$|[^$])*)\$(?:;|$)")


class CommandResult(namedtuple("CommandResult",
                               "records fields messages getinfo replies returncode stderr")):
    """What a command returned.

    records: list of dict, field -> str or list of str (multivalue); empty fields omitted.
    fields: every output field name (no ``__mv_`` columns) in order of first appearance.
    messages: list of (level, text) from ``inspector.messages`` of every reply, in order.
    getinfo: the command's reply metadata to getinfo (``type``, ``required_fields``, ...).
    replies: metadata dict of each execute reply, in order.
    returncode: the process exit status; stderr: its standard error bytes.
    """

    @property
    def errors(self):
        """Texts of ERROR and FATAL messages."""
        return [text for level, text in self.messages if level in ("ERROR", "FATAL")]


class CommandError(RuntimeError):
    """The command reported an error (job inspector) or died; ``result`` has the details."""

    def __init__(self, message, result):
        RuntimeError.__init__(self, message)
        self.result = result


# ---------------------------------------------------------------------------- encoding

def _csv_cell(value):
    if value == "" or _BARE_VALUE.match(value):
        return value
    return '"' + value.replace('"', '""') + '"'


def _encode_mv(values):
    return "$" + "$;$".join(value.replace("$", "$$") for value in values) + "$"


def _as_text(value):
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def encode_records(records, fields=None):
    """CSV body as splunkd writes it: all plain columns, then one ``__mv_`` column each.

    A list value becomes the plain column joined by newlines plus the ``$a$;$b$``
    encoding in its ``__mv_`` column; a one-element list is written as a plain value.
    """
    if fields is None:
        fields = []
        seen = set()
        for record in records:
            for name in record:
                if name not in seen:
                    seen.add(name)
                    fields.append(name)
    if not fields:
        return b""
    lines = [",".join(_csv_cell(name) for name in fields)
             + "," + ",".join(_csv_cell("__mv_" + name) for name in fields)]
    cells = {}  # text -> CSV cell: field values repeat, each is quoted once
    no_multi = "," * len(fields)
    for record in records:
        plain, multi, any_multi = [], [], False
        for value in map(record.get, fields):
            if type(value) is str:
                cell = cells.get(value)
                if cell is None:
                    cell = cells[value] = _csv_cell(value)
                plain.append(cell)
                multi.append("")
            elif isinstance(value, (list, tuple)):
                items = [_as_text(item) for item in value]
                plain.append(_csv_cell("\n".join(items)))
                multi.append(_csv_cell(_encode_mv(items)) if len(items) > 1 else "")
                any_multi = any_multi or len(items) > 1
            else:
                plain.append(_csv_cell(_as_text(value)))
                multi.append("")
        lines.append(",".join(plain) + ("," + ",".join(multi) if any_multi else no_multi))
        if len(cells) > 100000:
            cells.clear()
    return ("\n".join(lines) + "\n").encode("utf-8")


def encode_chunk(metadata, body=b""):
    """One protocol chunk: ``chunked 1.0,<len(metadata)>,<len(body)>\\n`` + JSON + body."""
    meta = json.dumps(metadata, separators=(",", ":")).encode("utf-8") if metadata else b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return b"chunked 1.0,%d,%d\n" % (len(meta), len(body)) + meta + body


def getinfo_metadata(args, dispatch_dir, command_name="c2hunt", preview=False, searchinfo=None):
    """The getinfo chunk's metadata, with the fields splunkd 6.3+ sends."""
    args = [str(arg) for arg in args]
    search = "| " + command_name + " " + " ".join(args)
    info = {
        "args": args,
        "raw_args": args,
        "dispatch_dir": str(dispatch_dir),
        "sid": "offline",
        "app": "c2hunt",
        "owner": "nobody",
        "username": "nobody",
        "session_key": "",
        "splunkd_uri": "https://127.0.0.1:8089",
        "splunk_version": "9.4.0",
        "search": quote(search),
        "earliest_time": "0",
        "latest_time": "0",
        "maxresultrows": DEFAULT_CHUNK_SIZE,
        "command": command_name,
    }
    info.update(searchinfo or {})
    return {"action": "getinfo", "preview": preview, "searchinfo": info}


def execute_chunks(records, chunk_size=DEFAULT_CHUNK_SIZE):
    """Encoded execute chunks for ``records``; the last one says ``finished``.

    Each chunk names only the fields its own records carry, as splunkd does. With no
    records, a single empty chunk with ``finished: true`` is produced.
    """
    return list(iter_execute_chunks(records, chunk_size))


def iter_execute_chunks(records, chunk_size=DEFAULT_CHUNK_SIZE):
    """:func:`execute_chunks` one chunk at a time: ``records`` (any iterable) is read and
    encoded a chunk at a time as the command asks for it, so only one chunk's text is held."""
    records = iter(records)
    part = list(itertools.islice(records, chunk_size))
    while True:
        following = list(itertools.islice(records, chunk_size))
        yield encode_chunk({"action": "execute", "finished": not following}, encode_records(part))
        if not following:
            return
        part = following


# ---------------------------------------------------------------------------- decoding

def read_chunk(stream, buffer=None):
    """Read one chunk from a binary stream: (metadata dict, body bytes) or None at EOF.

    With ``buffer`` (a bytearray, grown as needed) the body is read into it and its size
    stands in for the bytes: a driver that times replies without keeping them.
    """
    header = stream.readline()
    if not header:
        return None
    match = _HEADER.match(header)
    if match is None:
        raise ValueError("not a protocol v2 chunk header: %r" % header[:200])
    meta_length, body_length = int(match.group(1)), int(match.group(2))
    meta = _read_exactly(stream, meta_length)
    if buffer is None:
        body = _read_exactly(stream, body_length)
    else:
        body = _read_into(stream, buffer, body_length)
    metadata = json.loads(meta.decode("utf-8")) if meta_length else {}
    return metadata, body


def _read_exactly(stream, size):
    data = stream.read(size) if size else b""
    if len(data) != size:
        raise ValueError("stream ended after %d of %d bytes" % (len(data), size))
    return data


def _read_into(stream, buffer, size):
    if len(buffer) < size:
        buffer.extend(bytes(size - len(buffer)))
    view, received = memoryview(buffer), 0
    while received < size:
        got = stream.readinto(view[received:size])
        if not got:
            raise ValueError("stream ended after %d of %d bytes" % (received, size))
        received += got
    return size


def decode_mv(text):
    """``$a$;$b$`` -> ["a", "b"]."""
    return [item.replace("$$", "$") for item in _MV_ITEM.findall(text)]


def decode_records(body):
    """Records of a CSV body with ``__mv_`` columns (empty fields left out), and field names."""
    if not body:
        return [], []
    if isinstance(body, (bytes, bytearray)):
        # decoded as it is read: a whole-body str (and a StringIO copy of it) would hold the
        # reply several times over
        reader = csv.reader(io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", newline=""))
    else:
        reader = csv.reader(io.StringIO(body, newline=""))
    header = next(reader, None)
    if header is None:
        return [], []
    names = [name for name in header if not name.startswith("__mv_")]
    for name in header:  # a multivalue column without its plain column still names a field
        if name.startswith("__mv_") and name[5:] not in names:
            names.append(name[5:])
    plain_at = {name: i for i, name in enumerate(header) if not name.startswith("__mv_")}
    mv_at = {name[5:]: i for i, name in enumerate(header) if name.startswith("__mv_")}
    columns = [(name, plain_at.get(name), mv_at.get(name)) for name in names]
    width = len(header)
    texts = {}  # one string object per distinct value of the body (values repeat across records)
    records = []
    for row in reader:
        if len(row) != width:
            raise ValueError("row has %d cells, header has %d: %r"
                             % (len(row), len(header), row[:5]))
        record = {}
        for name, index, mv_index in columns:
            if mv_index is not None and row[mv_index]:
                items = decode_mv(row[mv_index])
                record[name] = items if len(items) != 1 else items[0]
                continue
            if index is not None:
                value = row[index]
                if value != "":
                    record[name] = texts.setdefault(value, value)
        records.append(record)
    return records, names


# ---------------------------------------------------------------------------- running

def start(script_path, python=None, env=None, script_args=()):
    """Start a command as splunkd does: cwd = the script's folder, pipes on stdin/stdout."""
    script_path = os.path.abspath(str(script_path))
    full_env = dict(os.environ)
    full_env.update({"PYTHONNOUSERSITE": "1"})
    full_env.update(env or {})
    return subprocess.Popen([python or sys.executable, script_path] + list(script_args),
                            cwd=os.path.dirname(script_path), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env)


def exchange(process, getinfo_chunk, data_chunks, buffer=None):
    """Drive one session: getinfo, then each execute chunk, one reply read per chunk.

    Stops sending when the command says ``finished`` or reports an ERROR/FATAL message,
    as splunkd does. Returns (getinfo reply metadata, [(reply metadata, body bytes)]);
    with ``buffer``, reply bodies are read into it and sizes stand in for the bytes
    (:func:`read_chunk`). A reply missing (the process died) ends the exchange early.
    """
    info, replies = None, []
    try:
        process.stdin.write(getinfo_chunk)
        process.stdin.flush()
        first = read_chunk(process.stdout)
        if first is None:
            return None, replies
        info = first[0]
        if _has_error(info) or info.get("finished"):
            return info, replies
        for chunk in data_chunks:
            process.stdin.write(chunk)
            process.stdin.flush()
            reply = read_chunk(process.stdout, buffer)
            if reply is None:
                break
            replies.append(reply)
            if reply[0].get("finished") or _has_error(reply[0]):
                break
        return info, replies
    except BrokenPipeError:  # the command exited; what it said is in the replies so far
        return info, replies
    finally:
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass


def _has_error(metadata):
    messages = (metadata.get("inspector") or {}).get("messages") or []
    return any(level in ("ERROR", "FATAL") for level, _ in messages)


def run_command(script_path, args, records, python=None, chunk_size=DEFAULT_CHUNK_SIZE,
                env=None, script_args=(), searchinfo=None, raise_on_error=True, timeout=600):
    """Run a custom search command over ``records`` exactly as splunkd would.

    Parameters
    ----------
    script_path : str or Path
        The command script, e.g. ``bin/c2entropy.py``; it runs with cwd = its folder.
    args : list of str
        The search's arguments as splunkd passes them, e.g. ``["field=query", "mode=dns"]``.
    records : iterable of dict
        Input records: field -> str, number, list (multivalue) or None.
    python : str, optional
        Interpreter (default: this one).
    chunk_size : int
        Records per execute chunk (splunkd sends at most 50,000).
    env : dict, optional
        Extra environment variables for the process.
    script_args : sequence of str
        Extra argv for the script (splunkd passes none; the reference commands use one).
    searchinfo : dict, optional
        Overrides for getinfo's ``searchinfo``.
    raise_on_error : bool
        Raise :class:`CommandError` when the command reports ERROR/FATAL or exits non-zero.

    Returns
    -------
    CommandResult
    """
    command_name = os.path.splitext(os.path.basename(str(script_path)))[0]
    with tempfile.TemporaryDirectory(prefix="c2hunt-dispatch-") as dispatch_dir:
        getinfo = encode_chunk(getinfo_metadata(args, dispatch_dir, command_name,
                                                searchinfo=searchinfo))
        process = start(script_path, python, env, script_args)
        try:
            info, replies = exchange(process, getinfo, iter_execute_chunks(records, chunk_size))
            stderr = process.stderr.read()
            returncode = process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()
    result = collect(info, replies, returncode, stderr)
    if raise_on_error and (result.errors or returncode != 0 or info is None):
        detail = "; ".join(result.errors) or stderr.decode("utf-8", "replace")[-2000:]
        raise CommandError("%s failed (exit %s): %s" % (command_name, returncode, detail),
                           result)
    return result


def collect(info, replies, returncode=0, stderr=b""):
    """Assemble a :class:`CommandResult` from the raw replies of :func:`exchange`."""
    messages = []
    for metadata in [info or {}] + [meta for meta, _ in replies]:
        for level, text in (metadata.get("inspector") or {}).get("messages") or []:
            messages.append((level, text))
    records, fields, seen = [], [], set()
    for _, body in replies:
        chunk_records, names = decode_records(body)
        records.extend(chunk_records)
        for name in names:
            if name not in seen:
                seen.add(name)
                fields.append(name)
    return CommandResult(records, fields, messages, info, [meta for meta, _ in replies],
                         returncode, stderr)
