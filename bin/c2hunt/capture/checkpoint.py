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
* Records go to splunkd in batches: one write of the batch, then the checkpoint is
  replaced atomically (write a temporary file, fsync, rename). The only window for a
  duplicate is a kill between those two system calls; every record carries ``flow_id`` and
  ``record_seq`` so such a batch can be told apart (``dedup flow_id record_seq``).
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

The state is a small JSON document per input stanza; entries of files that disappeared
from the folder are dropped, so it stays bounded by the folder's size.
"""
import hashlib
import json
import os
import re
import time

__all__ = ["CheckpointStore", "head_fingerprint", "state_file_name", "plan_read", "ready_files"]

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


class CheckpointStore(object):
    """The per-stanza JSON state: ``files`` maps a capture path to its entry.

    Entry keys: ``head``/``head_len`` (fingerprint), ``size``/``mtime`` at the time of
    reading, ``start_offset`` (0, or where an appended read began), ``end_offset`` (file
    offset after the last record read), ``status`` (``reading``, ``done`` or
    ``not_capture``), ``emitted`` (records written in the current read), ``settings``
    (hash of the flow settings of that read), ``flows`` (records in total).
    """

    def __init__(self, directory, input_name):
        self.directory = directory
        self.path = os.path.join(directory, state_file_name(input_name))
        self.files = {}
        self.load()

    def load(self):
        try:
            with open(self.path, "r") as handle:
                document = json.load(handle)
        except (IOError, OSError, ValueError):
            document = {}
        if document.get("version") == STATE_VERSION and isinstance(document.get("files"), dict):
            self.files = document["files"]
        else:
            self.files = {}

    def save(self):
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory)
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            json.dump({"version": STATE_VERSION, "files": self.files}, handle,
                      sort_keys=True, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def get(self, path):
        return self.files.get(path)

    def put(self, path, **entry):
        entry.setdefault("updated", round(time.time(), 3))
        self.files[path] = entry
        self.save()

    def update(self, path, **changes):
        self.files[path].update(changes)
        self.files[path]["updated"] = round(time.time(), 3)
        self.save()

    def forget_missing(self, existing_paths):
        """Drop entries of files no longer present; returns how many were dropped."""
        missing = [path for path in self.files if path not in existing_paths]
        for path in missing:
            del self.files[path]
        if missing:
            self.save()
        return len(missing)

    def find_identical(self, head, head_len, size):
        """Path of a completely read capture with this fingerprint and size, or None."""
        for path, entry in self.files.items():
            if (entry.get("status") == "done" and entry.get("head") == head
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
