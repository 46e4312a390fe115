"""One pass of the socket inventory: tables -> holders -> one record per (socket, process).

first_seen comes from a small state file in the input's checkpoint folder, keyed by
(socket inode, pid, process start): a raw socket held for a week is the same key every
pass, so its events share first_seen and socket_id and read as one story. The state holds
only the keys of the last pass, so it is bounded by max_sockets. Losing it only resets
first_seen; rerunning a pass re-reports the same sockets with the same keys (idempotent).
"""
import hashlib
import json
import os
import re
import time

from c2hunt.sockets import processes, procnet

DEFAULTS = {"listeners": False, "max_processes": 20000, "max_sockets": 5000}
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def parse_settings(params):
    """Validated settings from the stanza's parameters; ValueError names the bad one."""
    settings = dict(DEFAULTS)
    value = str(params.get("listeners", "") or "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise ValueError("listeners must be a boolean, not %r" % value)
    settings["listeners"] = value in _TRUE
    for name in ("max_processes", "max_sockets"):
        raw = params.get(name)
        if raw in (None, ""):
            continue
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise ValueError("%s must be a positive integer, not %r" % (name, raw))
        if number < 1:
            raise ValueError("%s must be a positive integer, not %r" % (name, raw))
        settings[name] = number
    return settings


def state_path(checkpoint_dir, input_name):
    return os.path.join(checkpoint_dir, "c2sockets_%s.json"
                        % re.sub(r"[^A-Za-z0-9_.-]", "_", input_name))


def _load_state(path):
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_state(path, state):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(state, f, sort_keys=True)
    os.replace(temporary, path)


def take_inventory(settings, proc_root="/proc", now=None, previous=None):
    """(records, new state, summary) of one pass; pure apart from reading proc_root."""
    started = time.monotonic()
    now = time.time() if now is None else now
    previous = previous or {}
    sockets, tables = procnet.read_sockets(proc_root, listeners=settings["listeners"])
    sockets_found = len(sockets)
    sockets = sockets[:settings["max_sockets"]]
    wanted = {s["socket_inode"] for s in sockets}
    holders, visited, process_cap = ({}, 0, False) if not wanted else \
        processes.socket_inodes_by_pid(proc_root, wanted, settings["max_processes"])
    boot, infos = processes.boot_time(proc_root), {}
    records, state = [], {}
    for sock in sockets:
        for pid in holders.get(sock["socket_inode"], [None]):
            if pid is not None and pid not in infos:
                infos[pid] = processes.process_info(proc_root, pid, boot)
            process = infos.get(pid, {})
            key = "%d:%s:%s" % (sock["socket_inode"], pid if pid is not None else "-",
                                process.get("process_start_ticks", "-"))
            first_seen = previous.get(key, now)
            state[key] = first_seen
            record = {"last_seen": round(now, 3), "first_seen": round(first_seen, 3),
                      "socket_id": hashlib.sha1(key.encode()).hexdigest()[:16]}
            record.update(sock)
            record.update({k: v for k, v in process.items() if k != "process_start_ticks"})
            # No holder found (it exited, or beyond the process cap): no process fields at
            # all, rather than nulls a JSON extraction would turn into the text "null".
            records.append(record)
    summary = {"tables": ",".join(tables), "sockets": sockets_found,
               "sockets_reported": len(sockets), "socket_cap_reached": sockets_found > len(sockets),
               "processes_visited": visited, "process_cap_reached": process_cap,
               "events": len(records), "pass_seconds": round(time.monotonic() - started, 4)}
    return records, state, summary


def collect(input_name, settings, checkpoint_dir, write, log, proc_root="/proc", now=None):
    """Run one pass, hand the records to ``write`` and keep first_seen; returns the summary."""
    path = state_path(checkpoint_dir, input_name)
    records, state, summary = take_inventory(settings, proc_root, now, _load_state(path))
    write(records)
    try:
        _save_state(path, state)
    except OSError as error:
        log("WARN", "c2sockets %s: cannot keep first_seen (%s)" % (input_name, error))
    for cap in ("socket_cap_reached", "process_cap_reached"):
        if summary[cap]:
            log("WARN", "c2sockets %s: %s, raise max_sockets/max_processes (%s)"
                % (input_name, cap.replace("_", " "), summary))
    return summary


def format_event(record):
    """The event text: compact JSON, last_seen first (props.conf reads _time there)."""
    return json.dumps(record, separators=(",", ":"))
