"""Read time and peak memory of the native frame reader beside the dict reader and json.loads.

    python benchmarks/frame_reader.py [--records 200000] [--keep DIR] [--file PATH ...]
    python benchmarks/frame_reader.py --sysmon 200000

Generates the Zeek conn.log and dns.log of ``offline_scale.py`` (JSON lines, deterministic)
for ``--records`` conn records (or, with ``--sysmon N``, one XmlWinEventLog file of N Sysmon
events, one ``<Event>`` a line), or reads the files given with ``--file``, and for each file
runs, each in its own child process (so the peak RSS is that step's alone):

* ``json.loads``: Python's json module merely parsing every line (the issue's reference; JSON
  files only); for XML, ``ElementTree.fromstring`` of every line;
* ``frame``: ``readers.frames.read_frame`` (polars: the events as one frame);
* ``dict``: ``readers.dispatch.detect_and_read`` plus the runner's defaults (the events as
  dicts, what the row engine reads);

and prints seconds, records/s and the child's peak RSS (VmHWM) side by side. With ``--tsv`` the
conn records are also written as Zeek TSV and read by the frame and dict readers. The dict reader is skipped
with ``--no-dict`` (it takes about 20 times longer than the others).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import repo_paths  # the repository's import folders (pyproject.toml), first

ROOT = repo_paths.ROOT

_CHILD = r"""
import json, os, sys, time
path, step = sys.argv[1], sys.argv[2]
if step != "json.loads":  # imported before the clock starts
    from c2hunt_offline.readers.dispatch import detect_and_read
    from c2hunt_offline.readers.frames import read_frame
started = time.perf_counter()
if step == "json.loads":
    n = 0
    with open(path, "rb") as handle:
        for line in handle:
            json.loads(line)
            n += 1
elif step == "ElementTree":
    from xml.etree.ElementTree import fromstring
    n = 0
    with open(path, "rb") as handle:
        for line in handle:
            fromstring(line)
            n += 1
elif step == "frame":
    frame, issues = read_frame(path)
    n = -1 if frame is None else frame.height
else:
    events, issues = detect_and_read(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    for ev in events:
        ev.setdefault("host", stem)
        ev.setdefault("index", "main")
        ev.setdefault("_time", 0.0)
        ev.setdefault("linecount", "1")
    n = len(events)
seconds = time.perf_counter() - started
with open("/proc/self/status") as status:  # VmHWM: this process's own peak (ru_maxrss keeps the parent's)
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"records": n, "seconds": seconds, "peak_kb": peak}))
"""


def _child_env():
    """The repository's import folders for a child (as PYTHONPATH: pyproject's list)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(repo_paths.pythonpath())
    return env


def run_step(path, step):
    out = subprocess.run([sys.executable, "-c", _CHILD, path, step], capture_output=True, text=True,
                         check=True, env=_child_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


_TSV_FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes "
               "conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts "
               "resp_ip_bytes").split()


def write_tsv(json_path, tsv_path):
    """The same conn records as Zeek TSV (with #fields/#types headers)."""
    def text(value):
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "T" if value else "F"
        if isinstance(value, float):
            return "%.6f" % value
        return str(value)
    with open(json_path) as source, open(tsv_path, "w") as out:
        out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n")
        out.write("#fields\t%s\n" % "\t".join(_TSV_FIELDS))
        out.write("#types\t%s\n" % "\t".join("string" for _ in _TSV_FIELDS))
        for line in source:
            record = json.loads(line)
            out.write("\t".join(text(record.get(f)) for f in _TSV_FIELDS) + "\n")
    return tsv_path


def baseline_kb():
    """Peak RSS of a child that imports polars and the readers and reads nothing."""
    code = ("import polars, c2hunt_offline.readers.frames, c2hunt_offline.readers.dispatch; "
            "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=_child_env())
    return int(out.stdout.strip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200000, help="conn records to generate")
    parser.add_argument("--file", action="append", help="read this file instead (repeatable)")
    parser.add_argument("--keep", help="write the generated files here (default: a temporary folder)")
    parser.add_argument("--no-dict", action="store_true", help="skip the dict reader")
    parser.add_argument("--tsv", action="store_true", help="also read the conn records as Zeek TSV")
    parser.add_argument("--sysmon", type=int, default=0,
                        help="read one generated XmlWinEventLog file of this many Sysmon events instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="c2hunt-frames-") as tmp:
        paths = args.file
        if not paths:
            import offline_scale
            folder = args.keep or tmp
            os.makedirs(folder, exist_ok=True)
            if args.sysmon:
                paths, _ = offline_scale.generate_sysmon(folder, args.sysmon, files=1)
            else:
                paths, _ = offline_scale.generate(folder, args.records)
            if args.tsv and not args.sysmon:
                paths.append(write_tsv(paths[0], os.path.join(folder, "conn_tsv.log")))
        steps = ["json.loads", "ElementTree", "frame"] + ([] if args.no_dict else ["dict"])
        print("child baseline (python + polars + readers imported): %.0f MB" % (baseline_kb() / 1024))
        print("| file | MB | step | records | seconds | records/s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        for path in paths:
            size = os.path.getsize(path) / 1e6
            for step in steps:
                first = open(path, "rb").read(1)
                if step == "json.loads" and first != b"{":
                    continue  # TSV: the reference is the JSON parse of the same records
                if step == "ElementTree" and first != b"<":
                    continue
                got = run_step(path, step)
                rate = got["records"] / got["seconds"] if got["seconds"] > 0 else 0
                print("| %s | %.1f | %s | %d | %.2f | %.0f | %.0f |" % (
                    os.path.basename(path), size, step, got["records"], got["seconds"], rate,
                    got["peak_kb"] / 1024))
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
