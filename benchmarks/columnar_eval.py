"""eval and where of the app's own searches, columnar beside the row commands, on the rows
each search really gives them.

    python benchmarks/columnar_eval.py [--records 200000] [--engine memo|row] [--top 12]
                                       [--no-verify] [--keep DIR]

Generates offline_scale.py's Zeek conn/dns workload (same seed), runs ``hunt`` with the row
engine, and at every eval/where call converts the rows the search hands the command into a
frame (not timed: the columnar engine holds frames already), times the row command on the rows
and the columnar command (columnar/filtering.py) on the frame, and checks that both give the
same rows (formatted values; ``--no-verify`` skips the check). Prints the totals side by side,
the slowest commands, how many calls the columnar side declined (NotColumnar: the engine would
run the row command there), and which subexpressions went per distinct instead of native.
"""
import argparse
import collections
import os
import sys
import tempfile
import time

import repo_paths  # noqa: F401  (puts offline/ on sys.path)

from c2hunt_offline import commands as row_commands
from c2hunt_offline.columnar import expressions as ex
from c2hunt_offline.columnar.filtering import COLUMNAR_COMMANDS
from c2hunt_offline.columnar.table import NotColumnar, frame_from_rows, rows_from_frame
from c2hunt_offline.engine import Runner
from c2hunt_offline.values import to_str

import offline_scale


def _formatted(rows):
    def value(v):
        if isinstance(v, list):
            return [to_str(x) for x in v] if len(v) != 1 else to_str(v[0])
        return to_str(v)
    return [{k: value(v) for k, v in row.items()} for row in rows]


class _Timings(object):
    def __init__(self, verify):
        self.verify = verify
        self.calls = []          # (command, args, rows in, seconds row, seconds columnar or None)
        self.mismatches = []
        self.per_distinct = collections.Counter()

    def wrap(self, command):
        original = row_commands.COMMANDS[command]
        columnar = COLUMNAR_COMMANDS[command]

        def timed(ctx, args, rows):
            try:
                frame = frame_from_rows(rows)
            except NotColumnar:
                frame = None
            start = time.perf_counter()
            out = original(ctx, args, rows)
            row_seconds = time.perf_counter() - start
            col_seconds = None
            if frame is not None and frame.height:
                start = time.perf_counter()
                try:
                    result = columnar(ctx, args, frame)
                    col_seconds = time.perf_counter() - start
                except NotColumnar:
                    result = None
                if result is not None and self.verify and _formatted(rows_from_frame(result)) != _formatted(out):
                    self.mismatches.append((command, args[:200]))
            self.calls.append((command, args, len(rows), row_seconds, col_seconds))
            return out
        return timed


def _count_per_distinct(timings):
    """Which subexpressions go per distinct: wrap the evaluator's fallback."""
    fallback = ex.ColumnEvaluator.fallback

    def counted(self, node):
        timings.per_distinct[node[1] if node[0] == "call" else node[0]] += 1
        return fallback(self, node)
    ex.ColumnEvaluator.fallback = counted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200000, help="conn records to generate")
    parser.add_argument("--engine", default="memo", choices=("memo", "row"),
                        help="the row engine to time (memo: today's default, with its memo)")
    parser.add_argument("--top", type=int, default=12, help="slowest commands to list")
    parser.add_argument("--no-verify", action="store_true", help="skip comparing the results")
    parser.add_argument("--keep", help="write the generated files here (default: a temporary folder)")
    args = parser.parse_args(argv)
    os.environ["C2HUNT_ENGINE"] = args.engine
    timings = _Timings(not args.no_verify)
    _count_per_distinct(timings)
    for command in ("eval", "where"):
        row_commands.COMMANDS[command] = timings.wrap(command)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or tmp
        paths, _ = offline_scale.generate(folder, args.records)
        runner = Runner(str(repo_paths.ROOT))
        events, _ = runner.read_files(paths)
        runner.hunt(events)
    rows_in = sum(c[2] for c in timings.calls)
    row_total = sum(c[3] for c in timings.calls)
    both = [c for c in timings.calls if c[4] is not None]
    col_total = sum(c[4] for c in both)
    row_same = sum(c[3] for c in both)
    print("eval/where of every search, %d events (%s engine beside the columnar commands)"
          % (len(events), args.engine))
    print("  calls %d, rows in %d; columnar declined %d calls (%d rows)"
          % (len(timings.calls), rows_in, len([c for c in timings.calls if c[4] is None and c[2]]),
             sum(c[2] for c in timings.calls if c[4] is None)))
    print("  %-10s %10s %10s %8s" % ("", "row s", "col s", "speedup"))
    print("  %-10s %10.3f %10.3f %7.1fx" % ("total", row_same, col_total, row_same / col_total if col_total else 0))
    for command in ("eval", "where"):
        part = [c for c in both if c[0] == command]
        r, c = sum(x[3] for x in part), sum(x[4] for x in part)
        print("  %-10s %10.3f %10.3f %7.1fx" % (command, r, c, r / c if c else 0))
    print("  row seconds of all calls (declined included): %.3f" % row_total)
    print("slowest (row s, col s, rows, command):")
    for call in sorted(timings.calls, key=lambda c: -c[3])[:args.top]:
        print("  %8.3f %8s %8d  %s %s" % (call[3], "-" if call[4] is None else "%.3f" % call[4], call[2],
                                         call[0], call[1][:110].replace("\n", " ")))
    print("per-distinct subexpressions (node: times): %s"
          % (", ".join("%s: %d" % kv for kv in timings.per_distinct.most_common()) or "none"))
    if timings.mismatches:
        print("MISMATCHES: %d" % len(timings.mismatches))
        for mismatch in timings.mismatches[:5]:
            print("  ", mismatch)
        return 1
    print("results identical: %s" % ("not checked" if args.no_verify else "yes"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
