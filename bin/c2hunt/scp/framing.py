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


def read_chunk(stream):
    """(metadata dict, body bytes) of the next chunk, or None at end of input."""
    header = stream.readline()
    if not header:
        return None
    match = _HEADER.match(header)
    if match is None:
        raise RuntimeError("Failed to parse transport header: %r" % header[:200])
    meta_length, body_length = int(match.group(1)), int(match.group(2))
    metadata = stream.read(meta_length)
    body = stream.read(body_length) if body_length else b""
    if len(metadata) != meta_length or len(body) != body_length:
        raise RuntimeError("Input ended inside a chunk")
    return json.loads(metadata.decode("utf-8")) if meta_length else {}, body


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
