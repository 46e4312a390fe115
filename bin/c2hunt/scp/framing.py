"""Search command protocol v2 transport: chunk framing and the pipe and heap tuning a
command process does once at start."""
import ctypes
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
import io
import json
import re
import sys

_HEADER = re.compile(rb"chunked\s+1.0\s*,\s*(\d+)\s*,\s*(\d+)\s*\n")
# Bounds on what a header may announce, checked before anything is allocated. splunkd's
# chunks hold at most 50,000 records (tens of MB); its metadata is a few kB.
MAX_HEADER_LINE = 1024
MAX_METADATA_BYTES = 64 << 20
MAX_BODY_BYTES = 2 << 30
_READ_PIECE = 64 << 20  # a larger body is read in pieces, so a lying length costs nothing


class ProtocolError(Exception):
    """Input that is not search command protocol v2: its text names the violation."""


def read_chunk(stream):
    """(metadata dict, body bytes) of the next chunk, or None at end of input.

    Raises :class:`ProtocolError` (one line naming the violation) for a malformed header,
    a length above the bounds, input that ends inside a chunk, or metadata that is not a
    JSON object.
    """
    header = stream.readline(MAX_HEADER_LINE)
    if not header:
        return None
    match = _HEADER.match(header)
    if match is None:
        raise ProtocolError("protocol error: expected a 'chunked 1.0,<metadata length>,<body"
                            " length>' header line, got %r" % header[:80])
    meta_length, body_length = int(match.group(1)), int(match.group(2))
    if meta_length > MAX_METADATA_BYTES or body_length > MAX_BODY_BYTES:
        raise ProtocolError("protocol error: chunk header announces %d bytes of metadata and %d"
                            " of body, above the limits (%d and %d)"
                            % (meta_length, body_length, MAX_METADATA_BYTES, MAX_BODY_BYTES))
    metadata = _read_exactly(stream, meta_length)
    body = _read_exactly(stream, body_length)
    if len(metadata) != meta_length or len(body) != body_length:
        raise ProtocolError("protocol error: input ended inside a chunk (header announced %d+%d"
                            " bytes, %d arrived)" % (meta_length, body_length,
                                                     len(metadata) + len(body)))
    if not meta_length:
        return {}, body
    try:
        parsed = json.loads(metadata.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise ProtocolError("protocol error: chunk metadata is not JSON (%s)"
                            % str(error).splitlines()[0][:120])
    if not isinstance(parsed, dict):
        raise ProtocolError("protocol error: chunk metadata is a JSON %s, not an object"
                            % type(parsed).__name__)
    return parsed, body


def _read_exactly(stream, size):
    """Up to ``size`` bytes; above one piece, read piece by piece (never allocates more than
    what arrived plus one piece)."""
    if size <= _READ_PIECE:
        return stream.read(size) if size else b""
    pieces, remaining = [], size
    while remaining:
        piece = stream.read(min(remaining, _READ_PIECE))
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    return b"".join(pieces)


def write_chunk(stream, metadata, body=b""):
    """Write one chunk with splunklib's compact JSON metadata, and flush."""
    meta = json.dumps(metadata, separators=(",", ":")).encode("utf-8")
    stream.write(("chunked 1.0,%d,%d\n" % (len(meta), len(body))).encode("ascii"))
    stream.write(meta)
    stream.write(body)
    stream.flush()


def stop_before_start(problem, stdin=None, stdout=None):
    """When ``problem`` (a text) is given, answer splunkd's getinfo with it as an ERROR and
    exit with status 1; do nothing when it is None.

    For a command that cannot run here at all (no compiled libraries for this platform):
    the job inspector then says why, where an ImportError would reach only search.log.
    """
    if problem is None:
        return
    try:
        read_chunk(stdin or sys.stdin.buffer)
    except Exception:  # whatever came in, the answer is the same
        pass
    write_chunk(stdout or sys.stdout.buffer,
                {"inspector": {"messages": [["ERROR", problem]]}, "finished": True})
    sys.exit(1)


def keep_freed_memory(limit=256 << 20):
    """Let this process reuse freed memory blocks of up to ``limit`` bytes.

    A chunk's column work allocates arrays of tens of MB. glibc maps each such block fresh
    from the kernel and unmaps it when freed, so every chunk pays a page fault per 4 kB
    again (measured: 15-20% of c2beacon's time per chunk). Raising the mmap and trim
    thresholds keeps them in the heap for the next chunk. Only on Linux with glibc; the
    process then holds its peak memory (a few hundred MB at most) until it exits.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, limit)) and bool(mallopt(m_trim_threshold, 2 * limit))


def widen_pipes(*streams, size=1 << 20):
    """Ask for ``size``-byte pipe buffers on ``streams`` (Linux; others are left as they are).

    A chunk of tens of MB crosses a default 64 kB pipe in hundreds of pieces, each a
    wake-up of the reader and the writer (measured: about a fifth of a fast command's
    time per chunk). The kernel caps ``size`` at /proc/sys/fs/pipe-max-size for
    unprivileged processes; a refusal changes nothing.
    """
    set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", 1031) if fcntl else None
    if set_pipe_size is None or not sys.platform.startswith("linux"):
        return
    for stream in streams:
        try:
            fcntl.fcntl(stream.fileno(), set_pipe_size, size)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass  # not a pipe, or a size the kernel does not allow
