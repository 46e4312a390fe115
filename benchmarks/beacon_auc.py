"""Beacon-scoring benchmark: AUC per synthetic case against a RITA-v5-style baseline, and
throughput of ``c2hunt.beacon.score_groups``.

Run from the repository root::

    TZ=UTC LC_ALL=C.UTF-8 .venv/bin/python benchmarks/beacon_auc.py [--series 300] [--seed 1]
        [--resolution 1] [--events 2000000 --groups 20000]

Columns:

* ``rita_ts``   RITA v5's timestamp score (Bowley skew + MAD dispersion of gaps), computed here
                from its published definition (../shared/research/scoring-anchors.md).
* ``interval``  this app's ``beacon_interval_score`` (timing only, sizes not passed).
* ``score``     this app's ``beacon_score`` with sizes (interval, size and count evidence).

A case's AUC is its beacon series against every benign series; a benign case's AUC is every
beacon series against that case. Groups the app does not judge (below ``min_count`` distinct
timestamps, or fewer check-ins than their period needs over the evidence span,
``beacon_required_count``) score 0 for every method (RITA needs 4 at least).
"""
import argparse
import os
import time

import repo_paths  # the repository's import folders (pyproject.toml), first

import numpy as np
from c2hunt import beacon
from c2hunt_sim import beacons as sim

ROOT = str(repo_paths.ROOT)


def auc(positive, negative):
    """Area under the ROC curve (Mann-Whitney U / n_pos n_neg), ties counted half."""
    positive = np.asarray(positive, dtype=float)
    negative = np.asarray(negative, dtype=float)
    if positive.size == 0 or negative.size == 0:
        return float("nan")
    values = np.concatenate((positive, negative))
    order = np.argsort(values, kind="mergesort")
    _, first, size = np.unique(values[order], return_index=True, return_counts=True)
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(first + (size + 1) / 2.0, size)
    u = ranks[:positive.size].sum() - positive.size * (positive.size + 1) / 2.0
    return float(u / (positive.size * negative.size))


def rita_timestamp_score(times):
    """RITA v5 timestamp score of one series: mean of (1 - |Bowley skew|) and
    max(0, (median - MAD) / median) over the non-zero gaps; 0 below 4 unique timestamps."""
    unique = np.unique(times[np.isfinite(times)])
    if unique.size < 4:
        return 0.0
    gaps = np.diff(unique)
    q1, q2, q3 = np.percentile(gaps, [25, 50, 75])
    bowley = 0.0
    # RITA forces the skew to 0 unless the IQR is at least 10 s and the median is off the
    # quartiles.
    if q3 - q1 >= 10 and q2 != q1 and q2 != q3:
        bowley = (q1 + q3 - 2 * q2) / (q3 - q1)
    mad = np.median(np.abs(gaps - q2))
    dispersion = max(0.0, (q2 - mad) / q2) if q2 > 0 else 0.0
    return ((1.0 - abs(bowley)) + dispersion) / 2.0


def score_all(series, min_count):
    group_index, times, sizes, labels, cases = sim.to_events(series)
    timing = beacon.score_groups(group_index, times, n_groups=len(series), min_count=min_count)
    full = beacon.score_groups(group_index, times, sizes=sizes, n_groups=len(series),
                               min_count=min_count)
    columns = {
        "rita_ts": np.array([rita_timestamp_score(s.times) for s in series]),
        "interval": np.nan_to_num(timing["beacon_interval_score"], nan=0.0),
        "score": np.nan_to_num(full["beacon_score"], nan=0.0),
    }
    too_few = ~np.isfinite(full["beacon_score"])
    for values in columns.values():
        values[too_few] = 0.0
    return columns, labels, cases, full


SHORT_SERIES = 24   # a day of an hourly beacon: RITA v4's minimum was 23 connections


def distinct_times(series):
    """Number of distinct timestamps of each series."""
    return np.array([np.unique(s.times).size for s in series])


def auc_table(columns, labels, cases, n_beats=None):
    """Rows of (name, n, {method: auc}); with ``n_beats`` (distinct times per series) also
    the overall AUC on series shorter than SHORT_SERIES."""
    rows = []
    benign = labels == 0
    for case in sim.BEACON_CASES:
        mask = cases == case
        rows.append((case, int(mask.sum()),
                     {m: auc(v[mask], v[benign]) for m, v in columns.items()}))
    for case in sim.BENIGN_CASES:
        mask = cases == case
        beacon_mask = labels == 1
        rows.append(("vs " + case, int(mask.sum()),
                     {m: auc(v[beacon_mask], v[mask]) for m, v in columns.items()}))
    core = np.isin(cases, sim.CORE_CASES)
    overall = [("overall (issue cases)", core), ("overall (all cases)", None)]
    if n_beats is not None:
        overall.append(("overall, < %d check-ins" % SHORT_SERIES, n_beats < SHORT_SERIES))
    for name, mask in overall:
        pos = (labels == 1) if mask is None else (labels == 1) & mask
        neg = benign if mask is None else benign & mask
        rows.append((name, int(pos.sum() + neg.sum()),
                     {m: auc(v[pos], v[neg]) for m, v in columns.items()}))
    return rows


SLIPS = os.path.join(os.path.dirname(ROOT), "shared", "datasets", "slips-cc-beacons", "dataset")
SLIPS_CURL_PCAPS = (os.path.join(SLIPS, "test-cc", "test-cc-capture-1.pcap"),
                    os.path.join(SLIPS, "test-cc", "test-cc-capture-2.pcap"))
SLIPS_REMCOS_CONN = os.path.join(SLIPS, "test18-malicious-ctu-sme-11-win", "zeek-labeled",
                                 "conn.log.labeled")


def load_pcap_connections(path):
    """TCP connections of a pcap as conn-log-like columns: one row per client SYN.

    Returns
    -------
    keys : list of (src, dest, dest_port) tuples, one per group
    group_index, times, sizes : ndarrays per connection; size = client payload bytes
    """
    import socket

    import dpkt

    starts = {}   # (src, sport, dest, dport) -> connection start time
    sent = {}     # same key -> client payload bytes
    with open(path, "rb") as handle:
        for timestamp, frame in dpkt.pcap.Reader(handle):
            packet = dpkt.ethernet.Ethernet(frame).data
            if not isinstance(packet, dpkt.ip.IP) or not isinstance(packet.data, dpkt.tcp.TCP):
                continue
            segment = packet.data
            flow = (socket.inet_ntoa(packet.src), segment.sport,
                    socket.inet_ntoa(packet.dst), segment.dport)
            if segment.flags & dpkt.tcp.TH_SYN and not segment.flags & dpkt.tcp.TH_ACK:
                starts.setdefault(flow, timestamp)
            if flow in starts:
                sent[flow] = sent.get(flow, 0) + len(segment.data)
    keys, group_index, times, sizes = {}, [], [], []
    for flow, start in starts.items():
        group_index.append(keys.setdefault((flow[0], flow[2], flow[3]), len(keys)))
        times.append(start)
        sizes.append(sent[flow])
    return (list(keys), np.array(group_index, dtype=np.int64), np.array(times, dtype=float),
            np.array(sizes, dtype=float))


def load_zeek_conn(path):
    """A Zeek conn.log (TSV, optionally with Stratosphere label columns), grouped by
    (id.orig_h, id.resp_h, id.resp_p, proto).

    Returns
    -------
    keys : list of group tuples
    group_index, times, sizes : ndarrays per connection (size = orig_bytes, NaN if unset)
    labels : list of the ``label`` column per group ("" without labels)
    """
    fields = None
    keys, group_index, times, sizes, labels = {}, [], [], [], {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#fields"):
                fields = line.rstrip("\n").split("\t")[1:]
                continue
            if line.startswith("#") or fields is None:
                continue
            row = dict(zip(fields, line.rstrip("\n").split("\t")))
            key = (row["id.orig_h"], row["id.resp_h"], row["id.resp_p"], row["proto"])
            group_index.append(keys.setdefault(key, len(keys)))
            times.append(float(row["ts"]))
            size = row.get("orig_bytes", "-")
            sizes.append(float(size) if size not in ("-", "(empty)") else np.nan)
            labels.setdefault(key, row.get("label", ""))
    return (list(keys), np.array(group_index, dtype=np.int64), np.array(times, dtype=float),
            np.array(sizes, dtype=float), [labels[k] for k in keys])


def real_data_rows():
    """(source, group, connections, beacon fields, RITA ts score) for the Stratosphere C2
    captures; empty when the dataset is absent."""
    rows = []
    for path in SLIPS_CURL_PCAPS:
        if not os.path.exists(path):
            continue
        keys, group_index, times, sizes = load_pcap_connections(path)
        out = beacon.score_groups(group_index, times, sizes=sizes, n_groups=len(keys))
        for i, key in enumerate(keys):
            rows.append((os.path.basename(path), key, out, i,
                         rita_timestamp_score(times[group_index == i])))
    if os.path.exists(SLIPS_REMCOS_CONN):
        keys, group_index, times, sizes, labels = load_zeek_conn(SLIPS_REMCOS_CONN)
        out = beacon.score_groups(group_index, times, sizes=sizes, n_groups=len(keys))
        for i, key in enumerate(keys):
            if np.isfinite(out["beacon_score"][i]):
                rows.append(("ctu-sme-11 conn.log [%s]" % labels[i], key, out, i,
                             rita_timestamp_score(times[group_index == i])))
    return rows


def throughput(n_events=2000000, n_groups=20000, seed=7, repeats=3):
    """Best wall-clock and CPU seconds of score_groups with sizes, on beacon-like groups of
    equal size (numpy runs it on one core: CPU time is the figure on a busy machine)."""
    rng = np.random.default_rng(seed)
    per_group = n_events // n_groups
    period = rng.uniform(10.0, 600.0, n_groups)
    sleeps = period[:, None] * (1.0 - 0.3 * rng.random((n_groups, per_group)))
    times = 1.7e9 + np.cumsum(sleeps, axis=1).ravel()
    group_index = np.repeat(np.arange(n_groups), per_group)
    shuffle = rng.permutation(times.size)  # the command hands events over in any order
    sizes = rng.normal(500.0, 20.0, times.size)
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        beacon.score_groups(group_index[shuffle], times[shuffle], sizes=sizes[shuffle],
                            n_groups=n_groups)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return times.size, n_groups, best_wall, best_cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=300, help="series per case")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-count", type=int, default=beacon.DEFAULT_MIN_COUNT)
    parser.add_argument("--resolution", type=float, default=0.0,
                        help="floor times to this many seconds, as `bin _time span=1s` does"
                             " in the scalable search pattern (0: keep sub-second times)")
    parser.add_argument("--events", type=int, default=2000000, help="throughput: events")
    parser.add_argument("--groups", type=int, default=20000, help="throughput: groups")
    args = parser.parse_args(argv)

    series = sim.generate_benchmark(args.series, seed=args.seed)
    if args.resolution > 0:
        series = [s._replace(times=np.floor(s.times / args.resolution) * args.resolution)
                  for s in series]
    columns, labels, cases, full = score_all(series, args.min_count)
    methods = list(columns)
    print("beacon AUC: %d series per case, seed %d, min_count %d, time resolution %s"
          % (args.series, args.seed, args.min_count,
             "%g s" % args.resolution if args.resolution > 0 else "as generated"))
    print("%-24s %5s " % ("case", "n") + " ".join("%9s" % m for m in methods))
    for name, n, values in auc_table(columns, labels, cases, distinct_times(series)):
        print("%-24s %5d " % (name, n) + " ".join("%9.3f" % values[m] for m in methods))
    print()
    print("median beacon_score, and median relative error of beacon_period against the mean")
    print("sleep (S for symmetric jitter, S * (1 - j/2) for Cobalt-Strike-style jitter j):")
    for case in sim.CASES:
        mask = cases == case
        _, kind, jitter, _, _ = sim.CASES[case]
        sleep = np.array([s.period for s in series])[mask]
        if kind == "cs":
            sleep = sleep * (1.0 - jitter / 2.0)
        error = np.abs(full["beacon_period"][mask] / sleep - 1.0)
        print("  %-22s score %.3f%s" % (
            case, np.nanmedian(full["beacon_score"][mask]),
            "  period error %.3f" % np.nanmedian(error) if np.isfinite(sleep).all() else ""))
    print()
    thresholds = (0.5, 0.6, 0.7, 0.8)
    print("share of series with beacon_score >= threshold (recall on beacon cases, false"
          " positive rate on benign cases):")
    print("  %-22s " % "case" + " ".join("%6s" % t for t in thresholds))
    for case in sim.CASES:
        mask = cases == case
        print("  %-22s " % case + " ".join("%6.3f" % np.mean(columns["score"][mask] >= t)
                                           for t in thresholds))
    print()
    rows = real_data_rows()
    print("Stratosphere slips-cc-beacons (groups with >= min_count distinct times):"
          if rows else "Stratosphere slips-cc-beacons: dataset absent, skipped")
    for source, key, out, i, rita in rows:
        if not np.isfinite(out["beacon_score"][i]):
            continue
        print("  %-40s %-48s n=%4d score %.3f interval %.3f size %.3f period %.3f s "
              "fit %.2f jitter %.3f missed %.2f | rita_ts %.3f"
              % (source, " ".join(map(str, key)), out["beacon_count"][i],
                 out["beacon_score"][i], out["beacon_interval_score"][i],
                 out["beacon_size_score"][i], out["beacon_period"][i],
                 out["beacon_fit_share"][i], out["beacon_jitter"][i],
                 out["beacon_missed_share"][i], rita))
    print()
    n_events, n_groups, wall, cpu = throughput(args.events, args.groups)
    print("throughput: %d events in %d groups scored in %.2f s wall = %.0f events/s"
          " (%.2f s CPU = %.0f events/s per core; load average %.1f)"
          % (n_events, n_groups, wall, n_events / wall, cpu, n_events / cpu,
             os.getloadavg()[0]))


if __name__ == "__main__":
    main()
