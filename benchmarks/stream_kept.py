"""What each search of a streamed hunt keeps after the pass (rows, or its stats' carried state).

    python benchmarks/stream_kept.py FILE_OR_FOLDER... [--rows] [--whole]

Runs the stream pass (:func:`c2hunt_offline.columnar.stream.stream_events`: every correlation
search's per-event prefix over each chunk) and prints, per search keeping 10 kB or more, the
bytes it holds when the pass ends (polars' estimate of its kept frames, plus its stats state)
and how it holds them; then the total and this process's peak RSS. ``--rows`` keeps rows for
every search (``C2HUNT_STREAM_STATS=0``: as before stats were carried per group), for the
before/after comparison on the same files (``offline_scale.py --keep DIR`` writes its data).
"""
import argparse
import os
import resource
import sys

import repo_paths  # the repository's import folders (pyproject.toml), first


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--rows", action="store_true", help="keep rows for every search (C2HUNT_STREAM_STATS=0)")
    parser.add_argument("--whole", action="store_true", help="keep whole rows (C2HUNT_STREAM_PRUNE=0)")
    args = parser.parse_args(argv)
    if args.whole:
        os.environ["C2HUNT_STREAM_PRUNE"] = "0"
    if args.rows:
        os.environ["C2HUNT_STREAM_STATS"] = "0"
    from c2hunt_offline.columnar import stream
    from c2hunt_offline.engine import Runner
    runner = Runner(str(repo_paths.ROOT))
    plans = [stream.plan_search(runner, s) for s in runner.saved_searches() if s.kind == "correlation"]
    events, _ = stream.stream_events(runner, args.paths, plans)
    total = 0
    print("| search | kept MB | held as |")
    print("|---|---:|---|")
    for plan in plans:
        if plan.kind == "whole":
            continue
        size = plan.kept_bytes()
        total += size
        if size < 10000:
            continue
        held = "rows" if plan.keep is None else "rows, %d fields" % len(
            {c for _i, f in plan.outputs for c in f.columns if not c.startswith("\x00")})
        if plan.stop is not None:
            held += " (pruned to the fields the rest names)"
        if plan.partial_failed:
            held = "rows, read again (%s)" % plan.reason
        elif plan.stats_args is not None and plan.partial_files:
            rows = sum(frame.estimated_size() for _i, frame in plan.outputs)
            held = "stats state" + (" + %.1f MB rows not folded" % (rows / 1e6) if rows else "")
        print("| %s | %.1f | %s |" % (plan.name, size / 1e6, held))
    print("| total (%d events) | %.1f | peak RSS %.0f MiB |"
          % (len(events), total / 1e6, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
