"""Which processes hold a socket: walk /proc/<pid>/fd for 'socket:[inode]' links.

Reading only, bounded by a cap on processes visited. A process that exits or denies
access mid-walk is skipped (its fields are left out), never raised on.
"""
import os


def boot_time(proc_root="/proc"):
    """Epoch seconds of the boot (btime of /proc/stat), or None."""
    try:
        with open(os.path.join(proc_root, "stat"), encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("btime "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _clock_ticks():
    try:
        return os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError, AttributeError):
        return 100


def list_pids(proc_root="/proc"):
    """Process ids under proc_root, ascending ([] when it cannot be listed)."""
    try:
        return sorted(int(name) for name in os.listdir(proc_root) if name.isdigit())
    except OSError:
        return []


def network_namespace(proc_root, pid="self"):
    """The inode of a process's network namespace (/proc/<pid>/ns/net), or None."""
    try:
        return os.stat(os.path.join(proc_root, str(pid), "ns", "net")).st_ino
    except OSError:
        return None


def socket_inodes_by_pid(proc_root, wanted, max_processes, sniff=None, pids=None):
    """({inode: [pid, ...]}, processes visited, cap reached) for the inodes in ``wanted``.

    ``sniff`` = (protocol names, function of an fd path -> protocol name) also collects
    sockets in no table read, by the protocol name the kernel gives the socket inode
    (``system.sockprotoname``): vsock sockets on kernels without vsock_diag. One lookup per
    distinct socket inode.
    """
    holders, visited, verdicts = {}, 0, {}
    pids = list_pids(proc_root) if pids is None else pids
    sniff_names, sniff_protocol = sniff or (None, None)
    for pid in pids:
        if visited >= max_processes:
            return holders, visited, True
        visited += 1
        fd_dir = os.path.join(proc_root, str(pid), "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        seen = set()
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                try:
                    inode = int(target[8:-1])
                except ValueError:
                    continue
                if inode in seen:
                    continue
                if inode not in wanted and sniff_names:
                    if inode not in verdicts:
                        verdicts[inode] = sniff_protocol(os.path.join(fd_dir, fd)) in sniff_names
                    if not verdicts[inode]:
                        continue
                if inode in wanted or sniff_names:
                    seen.add(inode)
                    holders.setdefault(inode, []).append(pid)
    return holders, visited, False


def process_info(proc_root, pid, boot=None, ticks=None):
    """CIM Endpoint.Processes fields of one process; missing ones are left out."""
    base = os.path.join(proc_root, str(pid))
    info = {"process_id": pid}
    try:
        with open(os.path.join(base, "stat"), encoding="utf-8", errors="replace") as f:
            stat = f.read()
        # comm may hold spaces and parentheses: the fields start after the last ')'.
        info["process_name"] = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        info["parent_process_id"] = int(rest[1])
        start_ticks = int(rest[19])
        info["process_start_ticks"] = start_ticks
        if boot is not None:
            info["process_start_time"] = round(boot + start_ticks / float(ticks or _clock_ticks()), 2)
    except (OSError, ValueError, IndexError):
        pass
    try:
        info["process_path"] = os.readlink(os.path.join(base, "exe"))
    except OSError:
        pass
    try:
        with open(os.path.join(base, "cmdline"), "rb") as f:
            argv = f.read(4096).rstrip(b"\0").split(b"\0")
        command = " ".join(a.decode("utf-8", "replace") for a in argv if a)
        if command:
            info["process"] = command
    except OSError:
        pass
    try:
        with open(os.path.join(base, "status"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("Uid:"):
                    info["user_id"] = int(line.split()[1])   # real uid
                    break
    except (OSError, ValueError, IndexError):
        pass
    if "process_path" in info:
        info["process_exec"] = os.path.basename(info["process_path"].replace(" (deleted)", ""))
    return info
