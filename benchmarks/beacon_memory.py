"""Peak memory of c2beacon holding raw events (issue 20 item 5).

Each measurement runs in a fresh process: the command (bin/c2beacon.py's class, the code
splunkd runs, without the pipes) is fed 50,000-event execute chunks of ``src,dest,_time,
bytes_out`` over ``--groups`` groups, the last one finished, and the process reports its
peak resident memory (ru_maxrss) above what it held after the imports.

    python benchmarks/beacon_memory.py 1000000 2000000 [--groups 20000]

Prints one JSON line per size: events, peak_mb (above the baseline), bytes_per_event.
"""
import argparse
import json
import os
import resource
import subprocess
import sys

import repo_paths  # noqa: F401  (puts the repository's import folders on sys.path; first)

CHUNK = 50000


def _chunk_body(start, n_rows, n_groups):
    rows = ["src,dest,_time,bytes_out,__mv_src,__mv_dest,__mv__time,__mv_bytes_out"]
    for i in range(start, start + n_rows):
        group = (i * 7919) % n_groups
        rows.append("10.%d.%d.%d,203.0.113.%d,%.3f,%d,,,,"
                    % (group >> 16, (group >> 8) & 255, group & 255, group % 200,
                       1.7e9 + i * 0.37, 300 + i % 50))
    return ("\n".join(rows) + "\n").encode("ascii")


def measure(n_events, n_groups):
    """Run in this process (a fresh one): returns the peak above the post-import baseline."""
    import c2beacon   # bin/ is on sys.path: repo_paths, imported first
    from c2hunt.scp.columns import Chunk
    command = c2beacon.C2Beacon()
    command.configure(["max_events=%d" % max(n_events, 1), "src", "dest"])
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    done = 0
    while done < n_events:
        size = min(CHUNK, n_events - done)
        body = _chunk_body(done, size, n_groups)
        done += size
        out = command.execute(Chunk(body), finished=done >= n_events)
        del body
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"events": n_events, "groups": n_groups, "output_bytes": len(out),
            "peak_mb": round((peak - baseline) / 1024.0, 1),
            "bytes_per_event": round((peak - baseline) * 1024.0 / n_events, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000000])
    parser.add_argument("--groups", type=int, default=20000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.sizes[0], args.groups)))
        return
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", "--groups", str(args.groups),
                              str(size)], check=True, capture_output=True,
                             env=dict(os.environ, PYTHONHASHSEED="0"))
        print(out.stdout.decode().strip(), flush=True)


if __name__ == "__main__":
    main()
