"""Where a hunt's time and memory go: the streamed pass and each search's rest, timed, under a
sampler of the process tree's memory.

    PYTHONPATH=offline python benchmarks/hunt_phases.py [--timeline OUT.json] -- HUNT ARGS...

runs ``python -m c2hunt_offline hunt HUNT ARGS`` in a child process (its output thrown away
unless ``--output``), prints on stderr the pass's wall time and each search's rest (wall, CPU
of the hunt's process, its resident memory after), then one summary line: wall, CPU of the
whole process tree (the workers too), the largest process's peak and the tree's peak summed
resident memory, sampled every 0.1 s. ``C2HUNT_STREAM``/``C2HUNT_WORKERS`` pass through.
``--timeline`` writes the samples as [seconds, tree GiB, largest process GiB].
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

GIB = float(1 << 30)


def _tree_memory(root):
    """(summed resident bytes of ``root`` and its descendants, the largest one's)."""
    children, resident = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/statm" % name) as handle:
                resident[int(name)] = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
        children.setdefault(parent, []).append(int(name))
    total = largest = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        size = resident.get(pid, 0)
        total, largest = total + size, max(largest, size)
        todo.extend(children.get(pid, ()))
    return total, largest


def measure(command, output=None):
    """Run ``command`` sampling its tree; (summary dict, timeline)."""
    start = time.time()
    with open(output or os.devnull, "wb") as out:
        child = subprocess.Popen(command, stdout=out)
        timeline = []

        def sample():
            while child.poll() is None:
                tree, largest = _tree_memory(child.pid)
                timeline.append((round(time.time() - start, 1), round(tree / GIB, 3), round(largest / GIB, 3)))
                time.sleep(0.1)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = child.wait()
        sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = {"exit": code, "wall_s": round(time.time() - start, 1), "user_s": round(usage.ru_utime, 1),
               "system_s": round(usage.ru_stime, 1),
               "largest_process_GiB": round(usage.ru_maxrss * 1024 / GIB, 2),
               "tree_peak_GiB": max((t for _s, t, _l in timeline), default=0.0)}
    return summary, timeline


def timed_hunt(argv):
    """In the child: the hunt with its pass and rests timed (stderr)."""
    from c2hunt_offline import cli, engine
    from c2hunt_offline.columnar import stream
    began = time.time()
    stream_events, search_outcome = stream.stream_events, engine.Runner.search_outcome

    def timed_pass(*args, **kwargs):
        at = time.time()
        found = stream_events(*args, **kwargs)
        print("pass %.1f s" % (time.time() - at), file=sys.stderr)
        return found

    def timed_rest(self, saved, *args, **kwargs):
        at, cpu = time.time(), time.process_time()
        found = search_outcome(self, saved, *args, **kwargs)
        print("rest %7.2f s  cpu %7.2f s  rss %.2f GiB  %s" % (
            time.time() - at, time.process_time() - cpu, stream.resident_bytes() / GIB, saved.name), file=sys.stderr)
        return found
    stream.stream_events, engine.Runner.search_outcome = timed_pass, timed_rest
    try:
        return cli.main(["hunt"] + argv)
    finally:
        print("hunt %.1f s" % (time.time() - began), file=sys.stderr)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return timed_hunt(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeline", help="write the memory samples here (JSON)")
    parser.add_argument("--output", help="keep the hunt's output here")
    parser.add_argument("hunt", nargs=argparse.REMAINDER, help="-- then hunt's arguments")
    args = parser.parse_args(argv)
    hunt_args = args.hunt[1:] if args.hunt[:1] == ["--"] else args.hunt
    summary, timeline = measure([sys.executable, os.path.abspath(__file__), "--child"] + hunt_args, args.output)
    print(json.dumps(summary))
    if args.timeline:
        with open(args.timeline, "w") as handle:
            json.dump(timeline, handle)
    return summary["exit"]


if __name__ == "__main__":  # the workers are spawned: they import this file without running it
    sys.exit(main())
