"""Records/s of the app's commands through the real protocol, beside splunklib's record path.

Each command runs as a subprocess exactly as splunkd runs it (SCP v2: getinfo, then
execute chunks of CSV with ``__mv_`` columns, one reply read per chunk) over the same
input: ``--chunks`` chunks of ``--chunk-size`` records of 12 fields (quoted values, a
multivalue field, unicode). Timing covers process start to exit; input encoding is done
once beforehand. Runs are interleaved: each round runs every command once. Printed: median
records/s of ``--runs`` runs per command and path, the ratio to the trivial splunklib
pass-through (for c2beacon, to the same command on splunklib's record path), the same per
CPU second of the command's process (less sensitive to other work on the machine), and
the machine's 1-minute load average when the runs started.

    .venv/bin/python benchmarks/throughput.py                       # this interpreter
    .venv/bin/python benchmarks/throughput.py --python /root/.pyenv/versions/3.9.18/bin/python3 \\
        --lib build/vendor/<key>/lib                                # Splunk's 3.9 + vendored libs
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import repo_paths  # the repository's import folders (pyproject.toml), first

import c2hunt_path  # the app's own naming of vendored targets
from _data import make_records
from c2hunt_offline import scp_driver

ROOT = str(repo_paths.ROOT)

REFERENCE = os.path.join(ROOT, "tests", "protocol", "reference_command.py")
# (label, script, script_args, search arguments, baseline label)
CASES = [
    ("splunklib pass-through", None, ["passthrough"], [], None),
    ("c2entropy field=query", "c2entropy.py", [], ["field=query"], "splunklib pass-through"),
    ("c2entropy field=query mode=dns", "c2entropy.py", [], ["field=query", "mode=dns"],
     "splunklib pass-through"),
    ("c2asym", "c2asym.py", [], [], "splunklib pass-through"),
    ("c2beacon src dest dest_port", "c2beacon.py", [], ["src", "dest", "dest_port"],
     "c2beacon on splunklib"),
    ("c2beacon on splunklib", None, ["c2beacon"], ["src", "dest", "dest_port"], None),
]


def run_once(python, script, script_args, args, chunks, bin_dir, check=False,
             expect_records=None):
    """(wall seconds, CPU seconds of the command process) of one session.

    Timed runs read each reply as splunkd does, into one reused buffer (a new 13 MB bytes
    object per reply would make this stand-in for splunkd page-fault through fresh memory
    while the command waits to write). With ``check`` every reply body is kept and decoded
    afterwards, and the run fails unless ``expect_records`` (when given) came back.
    """
    getinfo = scp_driver.encode_chunk(scp_driver.getinfo_metadata(args, tempfile.gettempdir()))
    # The reference imports the app's modules from bin_dir; the app's scripts run untouched.
    env = {"PYTHONPATH": bin_dir} if script == REFERENCE else {}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = scp_driver.start(script, python, env, script_args)
    info, replies = scp_driver.exchange(process, getinfo, chunks,
                                        buffer=None if check else bytearray(1 << 20))
    stderr = process.stderr.read()
    code = process.wait()
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    process.stdout.close()
    process.stderr.close()
    result = scp_driver.collect(info, replies if check else [(meta, b"") for meta, _ in replies],
                                code, stderr)
    if code != 0 or result.errors or len(replies) != len(chunks):
        raise SystemExit("%s %s failed: %s %s" % (script, args, result.errors, stderr[-2000:]))
    if check and expect_records is not None and len(result.records) != expect_records:
        raise SystemExit("%s %s returned %d records" % (script, args, len(result.records)))
    return elapsed, cpu


def prepare_bin(lib, python):
    """bin/ as splunkd sees it after a first search: a copy of this checkout's bin/ with the
    vendored lib/, modules compiled to bytecode.

    Splunk's Python caches bytecode in the app's folders; without that (e.g. under
    PYTHONDONTWRITEBYTECODE) every run would compile the modules again, a fixed cost of
    both paths that says nothing about record throughput.
    """
    tmp = None
    if lib:
        tmp = tempfile.mkdtemp(prefix="c2hunt-bench-")
        bin_dir = os.path.join(tmp, "bin")
        shutil.copytree(os.path.join(ROOT, "bin"), bin_dir,
                        ignore=shutil.ignore_patterns("__pycache__", "lib"))
        os.symlink(os.path.abspath(lib), os.path.join(bin_dir, "lib"))
    else:
        bin_dir = os.path.join(ROOT, "bin")
    folders = [bin_dir]
    if lib:  # compileall does not follow the lib/ symlink: the folders this Python loads
        tag = subprocess.run([python, "-c", "import sys; print('cp%d%d' % sys.version_info[:2])"],
                             check=True, capture_output=True, text=True).stdout.strip()
        folders += [os.path.join(os.path.realpath(lib), name)
                    for name in ("common", "%s-%s" % (tag, c2hunt_path.machine_name()))]
    for folder in folders:
        subprocess.run([python, "-m", "compileall", "-q", folder], check=True)
    return bin_dir, tmp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to run commands")
    parser.add_argument("--lib", help="vendored bin/lib to use (as packaged)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--chunk-size", type=int, default=50000)
    parser.add_argument("--only", help="comma-separated case labels to run")
    options = parser.parse_args(argv)

    bin_dir, tmp = prepare_bin(options.lib, options.python)
    try:
        records = make_records(options.chunk_size)
        body = scp_driver.encode_records(records)
        chunks = [scp_driver.encode_chunk({"action": "execute", "finished": i == options.chunks - 1},
                                          body) for i in range(options.chunks)]
        n_records = options.chunks * options.chunk_size
        version = os.popen('"%s" -c "import sys; print(sys.version.split()[0])"' % options.python).read().strip()
        print("python %s, %d chunks x %d records x 12 fields (%.1f MB a chunk), median of %d runs"
              % (version, options.chunks, options.chunk_size, len(body) / 1e6, options.runs))
        wanted = set(options.only.split(",")) if options.only else None
        cases = [case for case in CASES if not wanted or case[0] in wanted]
        times = dict((case[0], []) for case in cases)
        cpu_times = dict((case[0], []) for case in cases)
        loads = dict((case[0], []) for case in cases)
        # One untimed run per case checks that every record comes back (and warms up);
        # c2beacon returns one row per group. Timed runs are interleaved (each round runs
        # every case once) so that a change in the machine's load during the benchmark
        # weighs on every case alike.
        for label, script, script_args, args, _ in cases:
            path = os.path.join(bin_dir, script) if script else REFERENCE
            groups_only = script_args == ["c2beacon"] or path.endswith("c2beacon.py")
            run_once(options.python, path, script_args, args, chunks, bin_dir, check=True,
                     expect_records=None if groups_only else n_records)
        for _ in range(options.runs):
            for label, script, script_args, args, _ in cases:
                path = os.path.join(bin_dir, script) if script else REFERENCE
                loads[label].append(os.getloadavg()[0])
                wall, cpu = run_once(options.python, path, script_args, args, chunks, bin_dir)
                times[label].append(wall)
                cpu_times[label].append(cpu)
        rates = dict((label, n_records / statistics.median(values))
                     for label, values in times.items())
        cpu_rates = dict((label, n_records / statistics.median(values))
                         for label, values in cpu_times.items())
        print("%-32s %10s %7s %12s %7s %6s  %s" % ("command", "records/s", "ratio", "rec/CPU-s",
                                                  "ratio", "load", "baseline"))
        for label, _, _, _, baseline in cases:
            def ratio(table):
                if baseline is None:
                    return ""
                return "%.1fx" % (table[label] / table[baseline]) if baseline in table else "nan"
            print("%-32s %10.0f %7s %12.0f %7s %6.2f  %s" % (
                label, rates[label], ratio(rates), cpu_rates[label], ratio(cpu_rates),
                statistics.median(loads[label]), baseline or ""))
        print("records/s: wall clock, process start to exit; rec/CPU-s: per CPU second of the"
              " command's process (user + system). load: median 1-minute load average"
              " (%d cores) when each run started." % (os.cpu_count() or 0))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
