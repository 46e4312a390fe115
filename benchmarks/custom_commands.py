"""The offline runner's custom commands: in process on columns against the protocol path.

    python benchmarks/custom_commands.py [--rows 200000] [--beacon-rows 50000]
                                         [--channels 400] [--repeat 3] [--keep DIR]

Generates the scale benchmark's Zeek workload (:func:`offline_scale.generate`, deterministic)
with ``--rows`` conn records and as many dns records, and times, side by side in one run:

* ``c2asym`` over the conn records (bytes_out/bytes_in as the Zeek reader gives them: text);
* ``c2entropy field=query mode=dns`` and ``c2entropy field=query`` over the dns records;
* ``c2beacon`` over the grouped input the beacon search hands it (one row per channel with
  its multivalue ``series``), captured by running "C2Hunt - Periodic Beaconing - Rule" over
  a generated conn.log of ``--beacon-rows`` records (row engine), and the same rows repeated
  as other sources' channels up to ``--channels`` groups.

Each is timed as the columnar engine runs it: from a frame to a frame. "protocol" is the
reference path (rows from the frame, ``bin/<command>.py`` in a child process over search
command protocol v2, the reply decoded, a frame of the records); "in process" is
:func:`c2hunt_offline.columnar.custom.run_custom_in_process`. Both results are checked equal.
The best of ``--repeat`` runs is printed, in records/s and seconds.
"""
import argparse
import os
import tempfile
import time

import repo_paths  # the repository's import folders (pyproject.toml), first

import polars as pl  # noqa: E402

import offline_scale  # noqa: E402
from c2hunt_offline.columnar.custom import run_custom_in_process  # noqa: E402
from c2hunt_offline.columnar.table import frame_from_rows, rows_from_frame  # noqa: E402
from c2hunt_offline.engine import Runner, _Context  # noqa: E402

ROOT = repo_paths.ROOT


def zeek_frame(path, renames):
    """The JSON-lines log as a frame of text columns (as the Zeek reader leaves values)."""
    frame = pl.read_ndjson(path, infer_schema_length=1000)
    frame = frame.select([pl.col(name).cast(pl.String).alias(alias) for name, alias in renames.items()])
    return frame


def beacon_input(runner, paths):
    """The rows the beacon search hands c2beacon over ``paths``, and its arguments."""
    captured = []
    reference = Runner.run_custom

    def spy(self, ctx, name, args, rows):
        rows = [dict(row) for row in rows]
        if name == "c2beacon":
            captured.append((args, rows))
        return reference(self, ctx, name, args, rows)

    Runner.run_custom = spy
    try:
        events, _ = runner.read_files(paths)
        saved = next(s for s in runner.saved_searches() if s.name == offline_scale.BEACON_SEARCH)
        runner.run(saved.search, events)
    finally:
        Runner.run_custom = reference
    args, rows = max(captured, key=lambda item: len(item[1]))
    return args, rows


def protocol(runner, name, args, frame):
    ctx = _Context(runner, [])
    return frame_from_rows(runner.run_custom(ctx, name, args, rows_from_frame(frame))), ctx.messages


def in_process(runner, name, args, frame):
    ctx = _Context(runner, [])
    return run_custom_in_process(ctx, name, args, frame), ctx.messages


def best(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beacon-rows", type=int, default=50000,
                        help="conn records the beacon search runs over (row engine) to capture"
                             " c2beacon's input")
    parser.add_argument("--channels", type=int, default=400,
                        help="groups of the replicated c2beacon input")
    parser.add_argument("--keep", help="folder for the generated files (default: a temporary one)")
    options = parser.parse_args(argv)
    folder = options.keep or tempfile.mkdtemp(prefix="c2hunt-custom-bench-")
    os.makedirs(folder, exist_ok=True)
    paths, _ = offline_scale.generate(folder, options.rows, dns_share=1.0)
    runner = Runner(str(ROOT))
    conn = zeek_frame(paths[0], {"id.orig_h": "src", "id.resp_h": "dest", "id.resp_p": "dest_port",
                                 "orig_bytes": "bytes_out", "resp_bytes": "bytes_in", "ts": "_time"})
    dns = zeek_frame(paths[1], {"id.orig_h": "src", "query": "query", "ts": "_time"})
    started = time.perf_counter()
    os.makedirs(os.path.join(folder, "beacon"), exist_ok=True)
    beacon_paths, _ = offline_scale.generate(os.path.join(folder, "beacon"), options.beacon_rows)
    beacon_args, beacon_rows = beacon_input(Runner(str(ROOT)), beacon_paths[:1])
    print("beacon search input captured in %.1f s: %d rows" % (time.perf_counter() - started,
                                                               len(beacon_rows)))
    beacon = frame_from_rows(beacon_rows)
    # The search's input is one row per channel that survived its filters (few here): the
    # same rows again as many sources' channels, for c2beacon at --channels groups.
    copies = max(1, options.channels // max(1, len(beacon_rows)))
    many = frame_from_rows([dict(row, src="%s-%d" % (row.get("src"), copy))
                            for copy in range(copies) for row in beacon_rows])
    cases = [("c2asym", "out=bytes_out in=bytes_in", conn),
             ("c2entropy", "field=query mode=dns", dns),
             ("c2entropy", "field=query", dns),
             ("c2beacon", beacon_args, beacon),
             ("c2beacon", beacon_args, many)]
    print("%-40s %9s %12s %12s %12s %8s" % ("command", "rows", "protocol s", "in-proc s",
                                            "in-proc r/s", "speedup"))
    for name, args, frame in cases:
        slow, (expected, expected_messages) = best(lambda: protocol(runner, name, args, frame),
                                                    options.repeat)
        fast, (got, messages) = best(lambda: in_process(runner, name, args, frame), options.repeat)
        same = (got.columns == expected.columns and rows_from_frame(got) == rows_from_frame(expected)
                and messages == expected_messages)
        label = ("%s %s" % (name, args))[:40]
        print("%-40s %9d %12.3f %12.3f %12.0f %7.1fx%s" % (
            label, frame.height, slow, fast, frame.height / fast if fast else 0, slow / fast if fast else 0,
            "" if same else "  RESULTS DIFFER"))


if __name__ == "__main__":
    main()
