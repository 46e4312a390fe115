"""Which columnar library should the offline runner execute on? Measured on its own workload.

    python benchmarks/columnar_candidates.py [--records 200000] [--repeat 3] [--keep DIR]
                                             [--candidates numpy,pyarrow,polars,duckdb]

Generates offline_scale.py's Zeek ``conn.log`` (JSON lines, same seed) and runs one
representative pipeline with each candidate, in its own child process (so each peak RSS is
its own), the equivalent of::

    proto IN (tcp, udp) dest_port!=53 dest_port!=123
    | eval bytes=orig_bytes+resp_bytes, ratio=resp_bytes/(orig_bytes+1), long=if(duration>60,1,0)
    | lookup c2hunt_internal_networks cidr AS dest OUTPUT network_name
    | where isnull(network_name)
    | stats count, sum(bytes), avg(ratio), sum(long), dc(src_port) by src, dest, dest_port

Prints, side by side: the median seconds to load the file into columns, the median seconds
of the pipeline on the loaded columns, peak RSS, and a checksum (groups, events, bytes) that
must be the same on every line. A candidate that is not installed is skipped with a message
(pins: benchmarks/requirements-bench.txt). The CIDR table is the IPv4 rows of the lookup as
sorted integer ranges (the data is IPv4); each candidate matches them its own natural way.
"""
import argparse
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import repo_paths  # noqa: F401  (the repository's import folders, first)

ROOT = repo_paths.ROOT
CANDIDATES = ("numpy", "pyarrow", "polars", "duckdb")
EXCLUDED_PORTS = (53, 123)


def ipv4_ranges():
    """(start, end, name) of the IPv4 rows of c2hunt_internal_networks, sorted by start."""
    import csv
    rows = []
    with open(ROOT / "lookups" / "c2hunt_internal_networks.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            net = ipaddress.ip_network(row["cidr"], strict=False)
            if net.version == 4:
                rows.append((int(net.network_address), int(net.broadcast_address), row["network_name"]))
    return sorted(rows)


def _ipv4_ints(values):
    """uint32 of each distinct dotted quad (-1 where not IPv4): parsed once per distinct value."""
    import numpy as np
    out = np.full(len(values), -1, dtype=np.int64)
    for i, text in enumerate(values):
        try:
            out[i] = int(ipaddress.IPv4Address(text))
        except (ValueError, TypeError):
            pass
    return out


def _numpy_in_ranges(ints, ranges):
    """True where an address falls in one of the sorted, disjoint ranges (binary search)."""
    import numpy as np
    starts = np.array([s for s, _, _ in ranges], dtype=np.int64)
    ends = np.array([e for _, e, _ in ranges], dtype=np.int64)
    slot = np.searchsorted(starts, ints, side="right") - 1
    ok = slot >= 0
    hit = np.zeros(len(ints), dtype=bool)
    hit[ok] = ints[ok] <= ends[slot[ok]]
    return hit


# --- numpy alone: Python's json module fills lists, numpy does the rest ---------------------
def numpy_load(path):
    import numpy as np
    cols = {k: [] for k in ("proto", "src", "dest", "dest_port", "src_port", "orig_bytes",
                            "resp_bytes", "duration")}
    with open(path, "rb") as handle:
        for line in handle:
            rec = json.loads(line)
            cols["proto"].append(rec.get("proto"))
            cols["src"].append(rec.get("id.orig_h"))
            cols["dest"].append(rec.get("id.resp_h"))
            cols["dest_port"].append(rec.get("id.resp_p", -1))
            cols["src_port"].append(rec.get("id.orig_p", -1))
            cols["orig_bytes"].append(rec.get("orig_bytes") or 0)
            cols["resp_bytes"].append(rec.get("resp_bytes") or 0)
            cols["duration"].append(rec.get("duration") or 0.0)
    out = {k: np.array(cols[k], dtype=object) for k in ("proto", "src", "dest")}
    for k in ("dest_port", "src_port", "orig_bytes", "resp_bytes"):
        out[k] = np.array(cols[k], dtype=np.int64)
    out["duration"] = np.array(cols["duration"], dtype=np.float64)
    return out


def numpy_pipeline(cols, ranges):
    import numpy as np
    keep = (np.isin(cols["proto"], ["tcp", "udp"]) & ~np.isin(cols["dest_port"], EXCLUDED_PORTS))
    c = {k: v[keep] for k, v in cols.items()}
    nbytes = c["orig_bytes"] + c["resp_bytes"]
    ratio = c["resp_bytes"] / (c["orig_bytes"] + 1.0)
    long_ = (c["duration"] > 60).astype(np.int64)
    dest_values, dest_code = np.unique(c["dest"], return_inverse=True)
    internal = _numpy_in_ranges(_ipv4_ints(dest_values), ranges)[dest_code]
    ext = ~internal
    src_values, src_code = np.unique(c["src"][ext], return_inverse=True)
    dest_code = dest_code[ext]
    port = c["dest_port"][ext]
    key = (src_code.astype(np.int64) * (len(dest_values) + 1) + dest_code) * 65536 + port
    groups, g = np.unique(key, return_inverse=True)
    count = np.bincount(g, minlength=len(groups))
    total = np.bincount(g, weights=nbytes[ext], minlength=len(groups))
    np.bincount(g, weights=ratio[ext], minlength=len(groups)) / np.maximum(count, 1)
    np.bincount(g, weights=long_[ext], minlength=len(groups))
    pairs = np.unique(g.astype(np.int64) * 65536 + c["src_port"][ext])
    np.bincount((pairs // 65536).astype(np.int64), minlength=len(groups))
    return len(groups), int(count.sum()), int(total.sum())


# --- pyarrow: its JSON reader, pyarrow.compute and Table.group_by ----------------------------
def pyarrow_load(path):
    import pyarrow.json as pj
    return pj.read_json(path)


def pyarrow_pipeline(table, ranges):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    mask = pc.and_(pc.is_in(table["proto"], pa.array(["tcp", "udp"])),
                   pc.invert(pc.is_in(table["id.resp_p"], pa.array(EXCLUDED_PORTS, pa.int64()))))
    t = table.filter(mask)
    orig, resp = pc.fill_null(t["orig_bytes"], 0), pc.fill_null(t["resp_bytes"], 0)
    dest = pc.dictionary_encode(t["id.resp_h"]).combine_chunks()
    hit = _numpy_in_ranges(_ipv4_ints(dest.dictionary.to_pylist()), ranges)
    internal = hit[dest.indices.to_numpy(zero_copy_only=False)]
    t = pa.table({"src": t["id.orig_h"], "dest": t["id.resp_h"], "dest_port": t["id.resp_p"],
                  "src_port": t["id.orig_p"], "bytes": pc.add(orig, resp),
                  "ratio": pc.divide(pc.cast(resp, pa.float64()), pc.add(pc.cast(orig, pa.float64()), 1.0)),
                  "long": pc.cast(pc.greater(pc.fill_null(t["duration"], 0.0), 60.0), pa.int64())})
    t = t.filter(pa.array(~internal))
    out = t.group_by(["src", "dest", "dest_port"]).aggregate(
        [([], "count_all"), ("bytes", "sum"), ("ratio", "mean"), ("long", "sum"),
         ("src_port", "count_distinct")])
    return out.num_rows, int(np.sum(out["count_all"])), int(pc.sum(out["bytes_sum"]).as_py())


# --- polars: read_ndjson and the expression API -----------------------------------------------
def polars_load(path):
    import polars as pl
    return pl.read_ndjson(path)


def polars_pipeline(df, ranges):
    import polars as pl
    nets = pl.DataFrame({"start": [s for s, _, _ in ranges], "end": [e for _, e, _ in ranges],
                         "network_name": [n for _, _, n in ranges]}).with_columns(
        pl.col("start").cast(pl.Int64), pl.col("end").cast(pl.Int64))
    octets = pl.col("dest").str.split_exact(".", 3)
    ip = sum(octets.struct.field("field_%d" % i).cast(pl.Int64, strict=False) * (1 << (8 * (3 - i)))
             for i in range(4))
    out = (df.lazy()
           .filter(pl.col("proto").is_in(["tcp", "udp"]) & ~pl.col("id.resp_p").is_in(EXCLUDED_PORTS))
           .select(pl.col("id.orig_h").alias("src"), pl.col("id.resp_h").alias("dest"),
                   pl.col("id.resp_p").alias("dest_port"), pl.col("id.orig_p").alias("src_port"),
                   (pl.col("orig_bytes").fill_null(0) + pl.col("resp_bytes").fill_null(0)).alias("bytes"),
                   (pl.col("resp_bytes").fill_null(0) / (pl.col("orig_bytes").fill_null(0) + 1)).alias("ratio"),
                   (pl.col("duration").fill_null(0.0) > 60).cast(pl.Int64).alias("long"))
           .with_columns(ip.fill_null(-1).alias("ip"))
           .sort("ip")
           .join_asof(nets.lazy().sort("start"), left_on="ip", right_on="start", strategy="backward")
           .filter(pl.col("end").is_null() | (pl.col("ip") > pl.col("end")))
           .group_by("src", "dest", "dest_port")
           .agg(pl.len().alias("count"), pl.col("bytes").sum(), pl.col("ratio").mean(),
                pl.col("long").sum(), pl.col("src_port").n_unique())
           .collect())
    return out.height, int(out["count"].sum()), int(out["bytes"].sum())


# --- DuckDB: read_json and one SQL statement --------------------------------------------------
def duckdb_load(path):
    import duckdb
    con = duckdb.connect()
    con.execute("CREATE TABLE conn AS SELECT * FROM read_json(?, format='newline_delimited')", [path])
    return con


def duckdb_pipeline(con, ranges):
    con.execute("CREATE OR REPLACE TEMP TABLE nets (s BIGINT, e BIGINT, network_name VARCHAR)")
    con.executemany("INSERT INTO nets VALUES (?, ?, ?)", [list(r) for r in ranges])
    ip = " + ".join("TRY_CAST(split_part(\"id.resp_h\", '.', %d) AS BIGINT) * %d" % (i + 1, 1 << (8 * (3 - i)))
                    for i in range(4))
    row = con.execute(f"""
        WITH f AS (
            SELECT "id.orig_h" AS src, "id.resp_h" AS dest, "id.resp_p" AS dest_port,
                   "id.orig_p" AS src_port,
                   coalesce(orig_bytes, 0) + coalesce(resp_bytes, 0) AS bytes,
                   coalesce(resp_bytes, 0) / (coalesce(orig_bytes, 0) + 1.0) AS ratio,
                   CAST(coalesce(duration, 0) > 60 AS BIGINT) AS long, {ip} AS ip
            FROM conn WHERE proto IN ('tcp', 'udp') AND "id.resp_p" NOT IN {EXCLUDED_PORTS}),
        l AS (SELECT f.*, nets.network_name FROM f LEFT JOIN nets ON f.ip BETWEEN nets.s AND nets.e),
        g AS (SELECT src, dest, dest_port, count(*) AS n, sum(bytes) AS bytes, avg(ratio), sum(long),
                     count(DISTINCT src_port)
              FROM l WHERE network_name IS NULL GROUP BY src, dest, dest_port)
        SELECT count(*), sum(n), sum(bytes) FROM g""").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def run_one(name, path, repeat):
    """In the child: median load and pipeline seconds of one candidate, and its checksum."""
    load, pipeline = globals()[name + "_load"], globals()[name + "_pipeline"]
    ranges = ipv4_ranges()
    load_s, pipe_s, check = [], [], None
    for _ in range(repeat):
        started = time.perf_counter()
        data = load(path)
        load_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        check = pipeline(data, ranges)
        pipe_s.append(time.perf_counter() - started)
        del data
    print(json.dumps({"load": statistics.median(load_s), "pipeline": statistics.median(pipe_s),
                      "check": check}))


def _child(name, path, repeat):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, __file__, "--one", name, "--path", path,
                                  "--repeat", str(repeat)], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None, err.read().decode(errors="replace").strip().splitlines()[-1:]
        result = json.loads(out.read().decode().strip().splitlines()[-1])
        result["peak_mib"] = usage.ru_maxrss / 1024.0
        result["cpu"] = usage.ru_utime + usage.ru_stime
        return result, None


def _available(name):
    if name == "numpy":
        return True
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200000, help="conn records (offline_scale's generator)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--keep", help="write (or reuse) the generated conn.log here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        run_one(args.one, args.path, args.repeat)
        return 0
    import offline_scale
    with tempfile.TemporaryDirectory(prefix="c2hunt-columnar-") as tmp:
        folder = os.path.join(args.keep or tmp, "n%d" % args.records)
        conn = os.path.join(folder, "conn.log")
        if not os.path.exists(conn):
            os.makedirs(folder, exist_ok=True)
            offline_scale.generate(folder, args.records, dns_share=0.0)
        parse_s, total = offline_scale.json_parse_seconds([conn])
        print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
        print("%d conn records, %.1f MB; Python json.loads alone: %.2f s" % (
            total, os.path.getsize(conn) / 1e6, parse_s))
        print("| candidate | version | load s (median) | pipeline s (median) | records/s (load + pipeline) "
              "| peak RSS MiB | child CPU s | groups, events, bytes |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        for name in args.candidates.split(","):
            if not _available(name):
                print("| %s | not installed (pip install -r benchmarks/requirements-bench.txt): skipped "
                      "|  |  |  |  |  |  |" % name)
                continue
            version = __import__(name).__version__
            result, error = _child(name, conn, args.repeat)
            if result is None:
                print("| %s | %s | failed: %s |  |  |  |  |  |" % (name, version, error))
                continue
            print("| %s | %s | %.2f | %.3f | %.0f | %.0f | %.1f | %s |" % (
                name, version, result["load"], result["pipeline"],
                total / (result["load"] + result["pipeline"]), result["peak_mib"], result["cpu"],
                ", ".join(str(v) for v in result["check"])))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
