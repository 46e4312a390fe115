"""Which capture files the c2flow input has read, and how far: exactly-once bookkeeping.

Design
------
* A capture is identified by its path plus a *head fingerprint*: SHA-256 of its first
  ``min(size, 64 KiB)`` bytes (the pcap/pcapng header and first packets, timestamps
  included). A ring buffer that rewrites ``capture.pcap3`` gets a new fingerprint and is
  read again; a file renamed after it was read (same fingerprint and size) is not.
* Reading is deterministic: the same bytes and settings give the same records in the same
  order. The checkpoint stores, per file, how many records were already written to
  splunkd (``emitted``). After a crash the file is read again from the same offset and
  the first ``emitted`` records are dropped, so no flow is lost or written twice.
* Records go to splunkd in small batches (``RECORDS_PER_COMMIT``), each event in one write
  that a kill cannot cut (a pipe write of up to PIPE_BUF bytes is all or nothing), and the
  batch's progress line is appended to the journal right after. Before a batch is sent,
  journal space for its progress line is allocated: if the disk refuses, reading stops
  with nothing sent that could not be recorded. The only window for a duplicate is a kill
  between a batch's writes and its progress line: at most one batch, however slowly
  splunkd reads. Every record carries ``flow_id`` and ``record_seq`` so such a batch can
  be told apart (``dedup flow_id record_seq``).
* A file that grows after it was read completely (same head, larger size) is read on from
  the recorded end offset: only the appended records become flows.
* A file is *ready* when it has not been modified for ``settle_seconds`` (default 30).
  With ``require_newer_sibling`` the newest file in the folder is also left alone until a
  newer one appears (for a live tcpdump -C/-G or dumpcap ring buffer that may be quiet for
  longer than the settle time). A ready file that ends inside a record is read up to there
  and reported as truncated.
* If the flow settings change while a file is half read, the resumed read still drops the
  records already written (their count), so nothing is duplicated; the records after that
  point follow the new settings.

The state is a JSON snapshot plus an append-only journal per input stanza (both 0600);
entries of files that disappeared from the folder are dropped, so it stays bounded by the
folder's size, and each change costs one small write whatever that size.
"""
import hashlib
import json
import os
import re
import time

__all__ = ["CheckpointError", "CheckpointStore", "head_fingerprint", "state_file_name", "plan_read",
           "ready_files"]

HEAD_BYTES = 64 * 1024
STATE_VERSION = 1


def head_fingerprint(path, length=None):
    """(hex SHA-256 of the first ``length`` bytes, bytes hashed); length defaults to 64 KiB."""
    with open(path, "rb") as handle:
        data = handle.read(HEAD_BYTES if length is None else length)
    return hashlib.sha256(data).hexdigest(), len(data)


def state_file_name(input_name):
    """A file name for an input stanza such as ``c2flow://lab captures``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", input_name).strip("_") or "default"
    digest = hashlib.sha256(input_name.encode("utf-8")).hexdigest()[:8]
    return "c2flow_%s_%s.json" % (cleaned[:80], digest)


class CheckpointError(Exception):
    """The checkpoint cannot be recorded (disk full, permissions): reading stops cleanly."""


# The journal grows in preallocated extents: a progress line written into space already
# allocated cannot fail for want of disk, so records are sent only when their progress
# line has a place to go.
JOURNAL_EXTENT = 64 * 1024
# Compaction (a new snapshot, the journal emptied) when the journal passes this size and the
# snapshot's: the cost of a write stays constant per line, whatever the number of files.
COMPACT_BYTES = 1 << 20
PROGRESS_RESERVE = 4096   # room kept for the next progress lines before records are sent


def _allocate(fd, offset, length):
    """Reserve disk blocks for ``[offset, offset + length)`` of ``fd``; raises OSError."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, offset, length)
    else:  # pragma: no cover - macOS, Windows: zeros allocate the blocks too
        os.pwrite(fd, b"\0" * length, offset) if hasattr(os, "pwrite") else None


def _private_open(path, flags):
    """Open ``path`` readable and writable by its owner only (0600), whatever the umask."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
    except (AttributeError, OSError):  # pragma: no cover - Windows
        pass
    return fd


class CheckpointStore(object):
    """The per-stanza state: ``files`` maps a capture path to its entry.

    Entry keys: ``head``/``head_len`` (fingerprint), ``size``/``mtime`` at the time of
    reading, ``start_offset`` (0, or where an appended read began), ``end_offset`` (file
    offset after the last record read), ``status`` (``reading``, ``done`` or
    ``not_capture``), ``emitted`` (records written in the current read), ``settings``
    (hash of the flow settings of that read), ``flows`` (records in total).

    Storage: a JSON snapshot (replaced atomically) plus an append-only journal of changes,
    one JSON line each, written into preallocated space. A change costs one small write
    however many files the stanza has; the journal is folded into a new snapshot when it
    outgrows it. A kill -9 loses nothing written (the page cache survives the process); the
    journal is fsynced when a file is finished and at compaction. Both files are 0600.
    """

    def __init__(self, directory, input_name):
        self.directory = directory
        self.path = os.path.join(directory, state_file_name(input_name))
        self.journal_path = self.path + ".journal"
        self.files = {}
        self._identical = {}       # (head, head_len, size) -> paths completely read
        self._fd = None            # the journal, open for writing
        self._generation = 0
        self._end = 0              # journal bytes used
        self._allocated = 0        # journal bytes reserved on disk
        self._snapshot_size = 0
        self.load()

    # ------------------------------------------------------------------ reading the state

    def load(self):
        self.close()
        try:
            with open(self.path, "r") as handle:
                document = json.load(handle)
        except (IOError, OSError, ValueError):
            document = {}
        if not isinstance(document, dict):
            document = {}
        if document.get("version") == STATE_VERSION and isinstance(document.get("files"), dict):
            self.files = document["files"]
            self._generation = int(document.get("generation", 0) or 0)
        else:
            self.files = {}
            self._generation = 0
        try:
            self._snapshot_size = os.path.getsize(self.path)
            os.chmod(self.path, 0o600)   # a state written by an older version was 0644
        except OSError:
            self._snapshot_size = 0
        self._replay()
        self._identical = {}
        for path, entry in self.files.items():
            self._index(path, entry)

    def _replay(self):
        """Apply the journal lines written since the snapshot (same generation)."""
        self._end = 0
        try:
            with open(self.journal_path, "rb") as handle:
                data = handle.read()
        except (IOError, OSError):
            return
        used = data.rstrip(b"\0")
        lines = used.split(b"\n")
        if not lines or not lines[0].startswith(b"{"):
            return
        try:
            header = json.loads(lines[0])
        except ValueError:
            return
        if not isinstance(header, dict) or header.get("generation") != self._generation:
            return  # written before the snapshot that already holds it
        end = len(lines[0]) + 1
        for line in lines[1:]:
            if not line:
                break
            try:
                change = json.loads(line)
                self._apply(change)
            except (ValueError, TypeError, KeyError, AttributeError):
                break  # a line cut short: nothing after it was written
            end += len(line) + 1
        self._end = end

    def _apply(self, change):
        path = change["p"]
        if "e" in change:
            self.files[path] = dict(change["e"])
        elif "u" in change:
            if path in self.files:
                self.files[path].update(change["u"])
        elif change.get("del"):
            self.files.pop(path, None)

    def _index(self, path, entry):
        if entry.get("status") == "done":
            key = (entry.get("head"), entry.get("head_len"), entry.get("size"))
            self._identical.setdefault(key, set()).add(path)

    # ------------------------------------------------------------------ writing changes

    def _open_journal(self):
        """Start a journal for the current generation (after load or compaction)."""
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory)
        fd = _private_open(self.journal_path, os.O_RDWR | os.O_CREAT)
        try:
            if self._end == 0:
                os.ftruncate(fd, 0)
                header = (json.dumps({"generation": self._generation}) + "\n").encode("utf-8")
                _allocate(fd, 0, JOURNAL_EXTENT)
                os.pwrite(fd, header, 0)
                self._end = len(header)
            self._allocated = max(os.fstat(fd).st_size, self._end)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def reserve(self, length=PROGRESS_RESERVE):
        """Make sure the next ``length`` bytes of journal are allocated on disk.

        Raises
        ------
        CheckpointError
            The disk refused: send nothing more (it could not be recorded).
        """
        try:
            if self._fd is None:
                self._open_journal()
            if self._end + length > self._allocated:
                grow = max(JOURNAL_EXTENT, length)
                _allocate(self._fd, self._allocated, grow)
                self._allocated += grow
        except OSError as error:
            raise CheckpointError("cannot extend the checkpoint journal %s: %s"
                                  % (self.journal_path, error))

    def _append(self, change):
        line = (json.dumps(change, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        self.reserve(len(line))
        try:
            written = os.pwrite(self._fd, line, self._end)
        except OSError as error:
            raise CheckpointError("cannot write the checkpoint journal %s: %s"
                                  % (self.journal_path, error))
        if written != len(line):
            raise CheckpointError("short write to the checkpoint journal %s" % self.journal_path)
        self._end += len(line)

    def sync(self):
        """Make the journal durable (fsync), and compact it when it has outgrown the snapshot."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as error:
            raise CheckpointError("cannot sync the checkpoint journal: %s" % error)
        if self._end > max(COMPACT_BYTES, self._snapshot_size):
            self.save()

    def save(self):
        """Write a snapshot of every entry and empty the journal (compaction).

        On failure (disk full) the previous snapshot and the journal stay as they were, so
        the state on disk is still complete; the error is raised as CheckpointError.
        """
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory)
        temporary = self.path + ".tmp"
        generation = self._generation + 1
        try:
            fd = _private_open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "w") as handle:
                json.dump({"version": STATE_VERSION, "generation": generation,
                           "files": self.files}, handle, sort_keys=True, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise CheckpointError("cannot save the checkpoint %s: %s" % (self.path, error))
        self._generation = generation
        self._snapshot_size = os.path.getsize(self.path)
        self.close()
        self._end = 0
        try:
            self._open_journal()
        except OSError:
            self._fd = None  # the next change says why (reserve raises CheckpointError)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def get(self, path):
        return self.files.get(path)

    def put(self, path, **entry):
        entry.setdefault("updated", round(time.time(), 3))
        self._append({"p": path, "e": entry})
        self.files[path] = entry
        self._index(path, entry)

    def update(self, path, **changes):
        changes["updated"] = round(time.time(), 3)
        self._append({"p": path, "u": changes})
        self.files[path].update(changes)
        self._index(path, self.files[path])

    def progress(self, path, emitted):
        """Record that ``emitted`` records of ``path``'s current read were sent (one small
        line into space :meth:`reserve` allocated beforehand)."""
        self._append({"p": path, "u": {"emitted": emitted}})
        self.files[path]["emitted"] = emitted

    def forget_missing(self, existing_paths):
        """Drop entries of files no longer present; returns how many were dropped."""
        missing = [path for path in self.files if path not in existing_paths]
        for path in missing:
            self._append({"p": path, "del": True})
            del self.files[path]
        return len(missing)

    def find_identical(self, head, head_len, size):
        """Path of a completely read capture with this fingerprint and size, or None."""
        for path in sorted(self._identical.get((head, head_len, size), ())):
            entry = self.files.get(path)
            if (entry is not None and entry.get("status") == "done" and entry.get("head") == head
                    and entry.get("head_len") == head_len and entry.get("size") == size):
                return path
        return None


def plan_read(entry, path, size, settings):
    """What to do with a ready capture given its checkpoint entry.

    Returns
    -------
    (action, start_offset, skip)
        ``action`` is ``"skip"`` (already read), ``"read"`` (from ``start_offset``,
        dropping the first ``skip`` records: a resumed read) or ``"new"`` (read from
        ``start_offset`` with a fresh entry).
    """
    if entry is None:
        return "new", 0, 0
    head_len = int(entry.get("head_len", 0))
    same_head = head_len > 0 and head_fingerprint(path, head_len) == (entry.get("head"), head_len)
    if not same_head or size < int(entry.get("size", 0)):
        return "new", 0, 0                     # replaced by a different capture
    status = entry.get("status")
    if status == "reading":
        return "read", int(entry.get("start_offset", 0)), int(entry.get("emitted", 0))
    if status in ("done", "not_capture"):
        if size == int(entry.get("size", 0)):
            return "skip", 0, 0
        if status == "done":
            return "new", int(entry.get("end_offset", 0)), 0   # appended after reading
        return "new", 0, 0
    return "new", 0, 0


def ready_files(candidates, now, settle_seconds, require_newer_sibling=False):
    """The captures that are complete, oldest first.

    Parameters
    ----------
    candidates : list of (path, os.stat_result)
    now : float
    settle_seconds : float
        A file modified less than this long ago is still being written.
    require_newer_sibling : bool
        Also hold back the most recently modified file of the folder.

    Returns
    -------
    ready : list of (path, os.stat_result), ordered by (mtime, path)
    waiting : list of paths held back
    """
    ordered = sorted(candidates, key=lambda item: (item[1].st_mtime, item[0]))
    newest = ordered[-1][0] if ordered else None
    ready, waiting = [], []
    for path, stat in ordered:
        if now - stat.st_mtime < settle_seconds or (require_newer_sibling and path == newest):
            waiting.append(path)
        else:
            ready.append((path, stat))
    return ready, waiting
