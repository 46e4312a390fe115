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

from c2hunt.sockets import packages, processes, procnet, vsock

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


def _tables_of_all_namespaces(proc_root, pids, listeners, own):
    """(socket records, tables read, namespaces read) of this netns and every other one.

    A process in another network namespace (a container) has its sockets in its own
    tables, not in the host's /proc/net: those are read once per distinct namespace through
    the first process in it (/proc/<pid>/net/...), records tagged with the namespace inode
    (``own``: the input's own namespace, None when unknown).
    """
    sockets, tables = procnet.read_sockets(proc_root, listeners=listeners)
    known = {s["socket_inode"] for s in sockets}
    namespaces = {own}
    for pid in pids:
        namespace = processes.network_namespace(proc_root, pid)
        if namespace is None or namespace in namespaces:
            continue
        namespaces.add(namespace)
        more, _ = procnet.read_sockets(os.path.join(proc_root, str(pid)), listeners=listeners)
        for sock in more:
            if sock["socket_inode"] not in known:
                known.add(sock["socket_inode"])
                sockets.append(dict(sock, netns=namespace))
    if own is not None:
        for sock in sockets:
            sock.setdefault("netns", own)
    return sockets, tables, len(namespaces - {None})


def _vsock_sockets(proc_root, vsock_dump):
    """(vsock records, how they were found, sniff for the fd walk or None)."""
    if not vsock.registered(proc_root):
        return [], "none (no AF_VSOCK in this kernel)", None
    records, why = (vsock_dump or vsock.dump)()
    if why is None:
        return records, "vsock_diag", None
    # No vsock_diag: the fd walk asks each socket inode for its protocol name instead.
    return records, "sockprotoname (%s)" % why, ({"AF_VSOCK"}, vsock.socket_protocol_name)


def take_inventory(settings, proc_root="/proc", now=None, previous=None, vsock_dump=None,
                   sniff_protocol=None, dpkg_root="/var/lib/dpkg"):
    """(records, new state, summary) of one pass; pure apart from reading proc_root.

    ``vsock_dump`` and ``sniff_protocol`` replace the netlink dump and the fd's protocol
    name lookup (tests feed recorded kernel replies through them); ``dpkg_root`` is where
    the package owners are looked up.
    """
    started = time.monotonic()
    now = time.time() if now is None else now
    previous = previous or {}
    pids = processes.list_pids(proc_root)
    own_namespace = processes.network_namespace(proc_root)
    sockets, tables, namespaces = _tables_of_all_namespaces(
        proc_root, pids[:settings["max_processes"]], settings["listeners"], own_namespace)
    vsock_records, vsock_source, sniff = _vsock_sockets(proc_root, vsock_dump)
    if sniff is not None and sniff_protocol is not None:
        sniff = (sniff[0], sniff_protocol)
    # vsock_diag answers for the asking process's namespace only.
    sockets += [dict(r, netns=own_namespace) if own_namespace else r for r in vsock_records]
    sockets_found = len(sockets)
    sockets = sockets[:settings["max_sockets"]]
    wanted = {s["socket_inode"] for s in sockets}
    holders, visited, process_cap = ({}, 0, False) if not wanted and sniff is None else \
        processes.socket_inodes_by_pid(proc_root, wanted, settings["max_processes"], sniff, pids)
    sniffed = sorted(set(holders) - wanted)              # vsock sockets found by the walk
    sockets_found += len(sniffed)
    for inode in sniffed[:max(0, settings["max_sockets"] - len(sockets))]:
        sockets.append({"table": "vsock", "transport": "vsock", "family": "vsock",
                        "vsock_source": "sockprotoname", "socket_inode": inode})
    boot, infos = processes.boot_time(proc_root), {}
    owners = packages.PackageOwners(dpkg_root)
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
    owned = owners.owners({r["process_path"] for r in records if "process_path" in r})
    for record in records:
        if owned.get(record.get("process_path")):
            record["process_package"] = owned[record["process_path"]]
    summary = {"tables": ",".join(tables), "namespaces": namespaces, "vsock": vsock_source,
               "sockets": sockets_found, "sockets_reported": len(sockets),
               "socket_cap_reached": sockets_found > len(sockets),
               "processes": len(pids), "processes_visited": visited,
               "process_cap_reached": process_cap, "package_index": owners.source,
               "events": len(records), "pass_seconds": round(time.monotonic() - started, 4)}
    return records, state, summary


def collect(input_name, settings, checkpoint_dir, write, log, proc_root="/proc", now=None,
            **sources):
    """Run one pass, hand the records to ``write`` and keep first_seen; returns the summary.

    ``sources``: take_inventory's vsock_dump, sniff_protocol and dpkg_root (tests)."""
    path = state_path(checkpoint_dir, input_name)
    records, state, summary = take_inventory(settings, proc_root, now, _load_state(path),
                                             **sources)
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
