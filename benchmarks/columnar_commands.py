"""Seconds per command, columnar vs row, on generated Zeek conn records.

    python benchmarks/columnar_commands.py [--records 200000] [--hosts 2000]

Generates ``--records`` conn records with the scale benchmark's generator (deterministic),
reads them once with the runner's readers, and times the app's own kinds of clauses (stats,
eventstats, CIDR and exact lookups, sort, dedup) on those rows: the row command
(``C2HUNT_ENGINE=memo``: memo and lookup indexes) beside the columnar command on the same rows
as a polars frame, each checked to give the same result. Wall and CPU seconds (polars may use
several threads: CPU time is the fairer figure on a loaded machine). Converting rows to a frame is timed
apart (the columnar engine's readers produce frames directly).
"""
import argparse
import os
import tempfile
import time

import repo_paths  # noqa: F401  (the repository's import folders, first)

import offline_scale
from c2hunt_offline import commands as row_commands
from c2hunt_offline.columnar import frame_from_rows, rows_from_frame
from c2hunt_offline.columnar import lookup as col_lookup
from c2hunt_offline.columnar import ordering as col_ordering
from c2hunt_offline.columnar import stats as col_stats
from c2hunt_offline.engine import Runner, _Context
from c2hunt_offline.values import to_str

COLUMNAR = dict(col_stats.COLUMNAR_COMMANDS, **col_lookup.COLUMNAR_COMMANDS,
                **col_ordering.COLUMNAR_COMMANDS)
CLAUSES = [
    ("stats", "min(_time) AS _time max(_time) AS lastTime count values(dest_port) AS dest_port "
              "sum(bytes_out) AS bytes_out sum(bytes_in) AS bytes_in by src dest transport"),
    ("stats", "count dc(dest) AS dests values(app) AS apps by src"),
    # the beacon search's shape: a group per event (by _time), fractional sums added in order
    ("stats", "count sum(duration) AS seconds sum(bytes_out) AS bytes_out values(dest_ip) AS dest_ip "
              "max(bytes_in) AS most by src dest dest_port transport _time"),
    ("eventstats", "dc(src) AS dest_sources by dest dest_port"),
    # a group per row (a flow key): grouping cost without aggregation cost
    ("eventstats", "sum(duration) AS flow_seconds sum(bytes_in) AS flow_bytes_in by uid"),
    ("eventstats", "sum(bytes_out) AS flow_bytes_out max(_time) AS last by src dest"),
    ("lookup", "c2hunt_internal_networks cidr AS dest OUTPUT network_name AS dest_network"),
    ("lookup", "c2hunt_known_service_ports dest_port OUTPUT service AS port_service"),
    ("sort", "0 - bytes_out, _time"),
    ("dedup", "src dest dest_port"),
]


def _seen(rows):
    return [{k: ([to_str(x) for x in v] if isinstance(v, list) else to_str(v)) for k, v in r.items()}
            for r in rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200000)
    parser.add_argument("--hosts", type=int, default=2000)
    args = parser.parse_args(argv)
    os.environ["C2HUNT_ENGINE"] = "memo"
    runner = Runner()
    with tempfile.TemporaryDirectory() as folder:
        paths, _ = offline_scale.generate(folder, args.records, hosts=args.hosts, dns_share=0.0)
        started = time.perf_counter()
        events, _ = runner.read_files(paths[:1])
        read = time.perf_counter() - started
    started = time.perf_counter()
    frame = frame_from_rows(events)
    convert = time.perf_counter() - started
    print("%d conn records: read %.1f s, rows -> frame %.1f s" % (len(events), read, convert))
    print("%-11s %9s %9s %7s %9s %9s %7s  %s" % ("command", "row s", "col s", "ratio", "row cpu", "col cpu",
                                                "ratio", "clause"))
    for name, clause in CLAUSES:
        rows = [dict(e) for e in events]
        started, cpu = time.perf_counter(), time.process_time()
        expected = row_commands.COMMANDS[name](_Context(runner, []), clause, rows)
        row_seconds, row_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        got = COLUMNAR[name](_Context(runner, []), clause, frame)
        col_seconds, col_cpu = time.perf_counter() - started, time.process_time() - cpu
        same = _seen(expected) == _seen(rows_from_frame(got))
        print("%-11s %9.2f %9.3f %6.0fx %9.2f %9.3f %6.0fx  %s%s"
              % (name, row_seconds, col_seconds, row_seconds / max(col_seconds, 1e-9), row_cpu, col_cpu,
                 row_cpu / max(col_cpu, 1e-9), clause[:60], "" if same else "   RESULTS DIFFER"))


if __name__ == "__main__":
    main()
