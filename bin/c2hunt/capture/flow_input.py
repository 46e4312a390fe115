"""The c2flow input's work, without splunkd: settings, the folder scan, exactly-once reads.

``bin/c2flow.py`` (splunklib.modularinput) only turns records into event XML and log
lines into splunkd's log; everything else is here so it can be tested directly.

``collect(input_name, settings, checkpoint_dir, write_records, log)`` reads every ready
capture of the input's folder once (see :mod:`c2hunt.capture.checkpoint` for what "ready" and
"once" mean) and returns a summary dict. ``write_records(events, path)`` must write the
events, a list of ``(sourcetype, record)`` (``c2hunt:flow`` flow records and, unless
``dns_events`` is off, ``c2hunt:dns`` transactions from the same read), to splunkd before
returning; ``log(severity, message)`` reports to splunkd's log.
"""
import fnmatch
import hashlib
import json
import os
import stat as statmod
import time
import traceback

from c2hunt.capture import checkpoint, dns_wire, flows, pcap

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: splunkd already runs one process per stanza
    fcntl = None

__all__ = ["InputSettings", "parse_settings", "collect"]

_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off", "")
# Records written to splunkd per progress line in the checkpoint journal: the most a kill
# -9 can duplicate (records sent whose progress line was not written yet), whatever the
# speed at which splunkd reads.
RECORDS_PER_COMMIT = 16


class InputSettings(object):
    """A c2flow stanza's parameters, checked. See README/inputs.conf.spec."""

    def __init__(self, directory, file_pattern="*", settle_seconds=30.0,
                 require_newer_sibling=False, flow_config=None, dns_events=True):
        self.directory = directory
        self.dns_events = dns_events
        self.file_pattern = file_pattern
        self.settle_seconds = settle_seconds
        self.require_newer_sibling = require_newer_sibling
        self.flow_config = flow_config or flows.FlowConfig()

    def settings_hash(self):
        # The record kinds are part of the settings: a read resumed after an upgrade or a
        # change of dns_events is logged as a settings change.
        settings = dict(self.flow_config.as_dict(), record_kinds=(
            [flows.SOURCETYPE, dns_wire.SOURCETYPE] if self.dns_events else [flows.SOURCETYPE]))
        text = json.dumps(settings, sort_keys=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


def _boolean(name, value):
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("%s must be true or false, got %r" % (name, value))


def parse_settings(params, check_directory=True):
    """InputSettings from a stanza's parameters (strings, as splunkd passes them).

    Raises
    ------
    ValueError
        With the parameter's name: missing directory, a folder that does not exist (when
        ``check_directory``), a number out of range, an empty pattern.
    """
    def value(name, default=None):
        found = params.get(name)
        if found is None or (isinstance(found, str) and not found.strip()):
            return default
        return found.strip() if isinstance(found, str) else found

    directory = value("directory")
    if not directory:
        raise ValueError("directory is required: the folder the captures are written to")
    directory = os.path.expanduser(os.path.expandvars(directory))
    if check_directory and not os.path.isdir(directory):
        raise ValueError("directory %r does not exist or is not a folder" % directory)
    pattern = value("file_pattern", "*")
    try:
        settle = float(value("settle_seconds", 30))
    except (TypeError, ValueError):
        raise ValueError("settle_seconds must be a number, got %r" % params.get("settle_seconds"))
    if not (0 <= settle <= 86400):
        raise ValueError("settle_seconds must be between 0 and 86400, got %r" % settle)
    newer = _boolean("require_newer_sibling", value("require_newer_sibling", "false"))
    config_args = {}
    for name in ("idle_timeout", "active_timeout", "max_flows", "entropy_sample_bytes"):
        if value(name) is not None:
            config_args[name] = value(name)
    config = flows.FlowConfig(**config_args)
    dns_events = _boolean("dns_events", value("dns_events", "true"))
    return InputSettings(directory, pattern, settle, newer, config, dns_events)


def _candidates(settings, outside=None):
    """(path, stat) of the regular files of the folder that match the patterns.

    A symbolic link is followed only when it resolves inside the folder: a link to
    ``/etc/shadow`` is never opened, hashed or recorded (its name goes to ``outside``).
    FIFOs, devices and sockets are not files to read.
    """
    patterns = [p.strip() for p in settings.file_pattern.split(",") if p.strip()] or ["*"]
    root = os.path.realpath(settings.directory)
    found = []
    for name in sorted(os.listdir(settings.directory)):
        if name.startswith(".") or not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        path = os.path.join(settings.directory, name)
        try:
            stat = os.lstat(path)
            if statmod.S_ISLNK(stat.st_mode):
                target = os.path.realpath(path)
                if os.path.commonpath([root, target]) != root:
                    if outside is not None:
                        outside.append(path)
                    continue
                stat = os.stat(target)
        except (OSError, ValueError):
            continue
        if statmod.S_ISREG(stat.st_mode):
            found.append((path, stat))
    return found


class _Lock(object):
    """An exclusive lock on the stanza's state, so two runs never read the same file."""

    def __init__(self, path):
        self.path = path
        self.handle = None

    def __enter__(self):
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory)
        self.handle = os.fdopen(checkpoint._private_open(self.path, os.O_WRONLY | os.O_CREAT
                                                           | os.O_APPEND), "a")
        if fcntl is not None:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (IOError, OSError):
                self.handle.close()
                self.handle = None
        return self.handle is not None

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.close()


def collect(input_name, settings, checkpoint_dir, write_records, log, now=None):
    """Read every ready, unread capture of the stanza's folder; returns a summary dict."""
    summary = {"files_read": 0, "records": 0, "waiting": 0, "skipped": 0, "errors": 0}
    store = checkpoint.CheckpointStore(checkpoint_dir, input_name)
    with _Lock(store.path + ".lock") as locked:
        if not locked:
            log("INFO", "c2flow %s: another run holds the checkpoint lock; nothing to do"
                % input_name)
            return summary
        try:
            store.load()
            _collect_locked(input_name, settings, store, write_records, log, now, summary)
            store.sync()
        except checkpoint.CheckpointError as error:
            # Nothing was sent that the checkpoint does not hold: the next run resumes there.
            summary["errors"] += 1
            log("ERROR", "c2flow %s: %s; stopped reading, nothing more is sent until the"
                " checkpoint can be saved (is the disk full?)" % (input_name, error))
        finally:
            store.close()
    return summary


def _collect_locked(input_name, settings, store, write_records, log, now, summary):
    if not os.path.isdir(settings.directory):
        log("ERROR", "c2flow %s: directory %r does not exist" % (input_name, settings.directory))
        summary["errors"] += 1
        return
    outside = []
    candidates = _candidates(settings, outside)
    if outside:
        summary["links_outside"] = len(outside)
        log("WARN", "c2flow %s: %d symbolic links lead out of %s and were not followed: %s"
            % (input_name, len(outside), settings.directory, ", ".join(outside[:5])))
    store.forget_missing(set(path for path, _ in candidates))
    ready, waiting = checkpoint.ready_files(
        candidates, time.time() if now is None else now, settings.settle_seconds,
        settings.require_newer_sibling)
    summary["waiting"] = len(waiting)
    for path, stat in ready:
        try:
            read = _read_capture(input_name, settings, store, path, stat, write_records, log)
        except checkpoint.CheckpointError:
            raise
        except Exception as error:   # one bad file never stops the input
            summary["errors"] += 1
            log("ERROR", "c2flow %s: %s: %s %s" % (input_name, path, error,
                                                   traceback.format_exc().replace("\n", " | ")))
            entry = store.get(path) or {}
            entry.update(status="error", error=str(error), size=stat.st_size)
            store.put(path, **entry)
            continue
        if read is None:
            summary["skipped"] += 1
        else:
            summary["files_read"] += 1
            summary["records"] += read
            store.sync()   # a finished file is durable before the next one starts


def _read_capture(input_name, settings, store, path, stat, write_records, log):
    """Read one capture exactly once; returns records written, or None when skipped."""
    settings_hash = settings.settings_hash()
    entry = store.get(path)
    if entry is not None and entry.get("status") == "error" and entry.get("size") == stat.st_size:
        return None
    action, start_offset, skip = checkpoint.plan_read(entry, path, stat.st_size, settings_hash)
    if action == "skip":
        return None
    head, head_len = checkpoint.head_fingerprint(path)
    if action == "new" and start_offset == 0:
        twin = store.find_identical(head, head_len, stat.st_size)
        if twin is not None and twin != path:
            log("INFO", "c2flow %s: %s has the same content as %s, already read; skipped"
                % (input_name, path, twin))
            store.put(path, **dict(store.get(twin), renamed_from=twin))
            return None
        with open(path, "rb") as handle:
            kind = pcap.sniff_format(handle.read(8))
        if kind is None:
            log("WARN", "c2flow %s: %s is not a pcap or pcapng capture; skipped"
                % (input_name, path))
            store.put(path, status="not_capture", head=head, head_len=head_len,
                      size=stat.st_size)
            return None
    if skip:
        log("INFO", "c2flow %s: resuming %s after %d records already sent"
            % (input_name, path, skip))
    if entry is not None and action == "read" and entry.get("settings") != settings_hash:
        log("WARN", "c2flow %s: flow settings changed while %s was being read; the first %d "
            "records are not sent again, the rest follow the new settings"
            % (input_name, path, skip))
    store.put(path, status="reading", head=head, head_len=head_len, size=stat.st_size,
              mtime=stat.st_mtime, start_offset=start_offset, emitted=skip,
              settings=settings_hash)

    config = settings.flow_config
    reader = pcap.CaptureReader(path, batch_bytes=config.batch_bytes, start_offset=start_offset)
    table = flows.CaptureEvents(config, dns=settings.dns_events)
    produced = [0]
    written = [0]

    kinds = {flows.SOURCETYPE: 0, dns_wire.SOURCETYPE: 0}

    def emit(records):
        for sourcetype, _ in records:
            kinds[sourcetype] += 1
        first = produced[0]
        produced[0] += len(records)
        fresh = records[max(0, skip - first):]
        for begin in range(0, len(fresh), RECORDS_PER_COMMIT):
            part = fresh[begin:begin + RECORDS_PER_COMMIT]
            store.reserve()   # room for this batch's progress line, or stop before sending
            write_records(part, path)
            written[0] += len(part)
            store.progress(path, first + max(0, skip - first) + begin + len(part))

    for batch in reader.batches():
        emit(table.add_batch(batch))
    emit(table.flush())
    stats = reader.stats
    dns_stats = table.dns.stats if table.dns is not None else dns_wire.DnsStats()
    store.update(path, status="done", emitted=produced[0], flows=kinds[flows.SOURCETYPE],
                 dns=kinds[dns_wire.SOURCETYPE], end_offset=reader.end_offset,
                 stats=dict(stats.as_dict(), dns=dns_stats.as_dict()))
    problems = stats.problems() + dns_stats.problems()
    message = ("c2flow %s: read %s (%s): %d records, %d IP packets, %d flow records, "
               "%d DNS transactions (%d messages), %d events sent"
               % (input_name, path, stats.format, stats.records, stats.ip_packets,
                  kinds[flows.SOURCETYPE], kinds[dns_wire.SOURCETYPE], dns_stats.messages,
                  written[0]))
    if problems:
        log("WARN", message + "; " + "; ".join(problems))
    else:
        log("INFO", message)
    return written[0]
