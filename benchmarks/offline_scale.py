"""Records/s and peak memory of the offline runner's ``hunt`` at real data volumes.

    python benchmarks/offline_scale.py [--sizes 200000,1000000] [--hosts 2000] [--beacons 20]
                                       [--dns-share 0.2] [--row-size 50000] [--keep DIR]

Generates, deterministically (fixed seed), a day of Zeek ``conn.log`` (JSON lines) from
``--hosts`` internal hosts talking to a pool of internet servers, plus a Zeek ``dns.log`` of
``--dns-share`` times as many records, with planted C2 that the app must still find:

* ``--beacons`` internal hosts beaconing to their own rare internet server (period 60-900 s,
  10-20 % jitter, steady sizes) on tcp/443, tcp/8443 or udp/53xx;
* one DNS tunnel: a host sending long high-entropy subdomain queries under one domain
  (one query in 50 of dns.log).

(Sysmon at scale is not generated yet.)

``hunt`` streams by default (:mod:`c2hunt_offline.columnar.stream`: the files read a chunk at a
time, each search's per-event prefix run on every chunk); ``--stream both`` (the default) runs
each size streamed and whole (``C2HUNT_STREAM=0``) in the same sitting, prints both peaks and
checks the two outputs are the same; the plan of every search (streamed or whole table, the
fields it keeps) is printed first.

Each size runs ``python -m c2hunt_offline hunt --format json`` (every correlation search) in
a child process and prints: records/s end to end (read + every search), wall seconds, the
child's peak RSS, and the notables found by search, with how many planted beacons were found.
Beside it, in the same run: Python's ``json`` module merely parsing the same files (the
reference the issue sets: ``hunt`` should take no longer than that), and with ``--row-size``
the row engine (``C2HUNT_ENGINE=row``: no memo, no lookup index) on a file of that size, and
with ``--baseline-root`` another checkout's runner on it too (before/after), so ratios are
measured under the same load. With ``--profile N`` the hunt of N records runs under cProfile in this process
and the top functions by own time are printed instead.
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import repo_paths  # the repository's import folders (pyproject.toml), first

ROOT = repo_paths.ROOT
DAY = 86400.0
START = 1715644800.0  # 2024-05-14 00:00 UTC

BEACON_SEARCH = "C2Hunt - Periodic Beaconing - Rule"

_CONN = ('{"ts":%.6f,"uid":"C%013x","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s",'
         '"id.resp_p":%d,"proto":"%s","service":%s,"duration":%.6f,"orig_bytes":%d,'
         '"resp_bytes":%d,"conn_state":"%s","local_orig":true,"local_resp":%s,"missed_bytes":0,'
         '"history":"%s","orig_pkts":%d,"orig_ip_bytes":%d,"resp_pkts":%d,"resp_ip_bytes":%d}\n')
_DNS = ('{"ts":%.6f,"uid":"D%013x","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s",'
        '"id.resp_p":53,"proto":"udp","trans_id":%d,"query":"%s","qclass":1,"qclass_name":"C_INTERNET",'
        '"qtype":%d,"qtype_name":"%s","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,'
        '"RD":true,"RA":true,"Z":0,"answers":["%s"],"TTLs":[300.0],"rejected":false}\n')

_SERVICES = [(443, "tcp", '"ssl"', 0.45), (80, "tcp", '"http"', 0.15), (53, "udp", '"dns"', 0.15),
             (123, "udp", "null", 0.05), (22, "tcp", '"ssh"', 0.03), (445, "tcp", "null", 0.05),
             (8080, "tcp", '"http"', 0.04), (3389, "tcp", "null", 0.02), (993, "tcp", '"ssl"', 0.03),
             (8443, "tcp", '"ssl"', 0.03)]
_DOMAINS = ["example.com", "cdn.example.net", "mail.example.org", "updates.example.com",
            "static.example.net", "api.example.org", "news.example.com", "video.example.net"]


def _internal(rng, hosts):
    n = rng.randrange(hosts)
    return "10.%d.%d.%d" % (20 + n // 62500, (n // 250) % 250, 1 + n % 250)


def _external(rng, pool):
    n = rng.randrange(pool)
    return "%d.%d.%d.%d" % (23 + n % 170, (n * 7) % 250 + 1, (n * 13) % 250 + 1, (n % 240) + 2)


def _conn_line(rng, ts, uid, src, dst, port, proto, service, local_resp):
    out_b = int(rng.lognormvariate(6.5, 1.5))
    in_b = int(rng.lognormvariate(8.0, 2.0))
    state = "SF" if rng.random() > 0.08 else rng.choice(("S0", "REJ", "RSTO", "SH"))
    if state in ("S0", "REJ"):
        out_b = in_b = 0
    op, rp = 1 + out_b // 1200, 1 + in_b // 1200
    return _CONN % (ts, uid, src, rng.randrange(32768, 60999), dst, port, proto, service,
                    rng.expovariate(1 / 5.0), out_b, in_b, state, local_resp,
                    "ShADadFf" if state == "SF" else "S", op, out_b + 40 * op, rp, in_b + 40 * rp)


def generate(folder, n_conn, hosts=2000, n_beacons=20, dns_share=0.2, seed=17):
    """Write conn.log and dns.log for ``n_conn`` conn records; returns (paths, planted)."""
    rng = random.Random(seed)
    weights = [w for *_, w in _SERVICES]
    planted = []
    beacon_records = []
    for b in range(n_beacons):
        src = "10.99.%d.%d" % (b // 200, 10 + b % 200)
        dst = "198.51.%d.%d" % (100 + b // 250, 1 + b % 250)
        port, proto = rng.choice([(443, "tcp"), (8443, "tcp"), (5353 + b, "udp")])
        period = rng.choice([60, 120, 300, 600, 900])
        jitter = rng.choice([0.1, 0.15, 0.2])
        size = rng.randrange(200, 2000)
        t = START + rng.uniform(0, period)
        while t < START + DAY:
            beacon_records.append((t, src, dst, port, proto, size))
            t += period * (1 + rng.uniform(-jitter, jitter))
        planted.append((src, dst, port, proto))
    n_background = max(0, n_conn - len(beacon_records))
    conn_path, dns_path = os.path.join(folder, "conn.log"), os.path.join(folder, "dns.log")
    with open(conn_path, "w") as out:
        lines = []
        for i in range(n_background):
            ts = START + DAY * i / max(1, n_background)
            port, proto, service, _ = rng.choices(_SERVICES, weights)[0]
            # file sharing and remote desktop stay inside; ssh goes out now and then
            internal_dest = port in (445, 3389) or (port == 22 and rng.random() < 0.7)
            dst = _internal(rng, hosts) if internal_dest else _external(rng, 5000)
            lines.append((ts, _conn_line(rng, ts, i, _internal(rng, hosts), dst, port, proto,
                                         service, "true" if internal_dest else "false")))
        for j, (ts, src, dst, port, proto, size) in enumerate(beacon_records):
            lines.append((ts, _CONN % (ts, 1 << 40 | j, src, rng.randrange(32768, 60999), dst, port,
                                       proto, "null", rng.uniform(0.2, 0.4), size, size * 3, "SF",
                                       "false", "ShADadFf", 3, size + 120, 3, size * 3 + 120)))
        lines.sort()
        out.writelines(line for _, line in lines)
    n_dns = int(n_conn * dns_share)
    with open(dns_path, "w") as out:
        tunnel_every = 50
        for i in range(n_dns):
            ts = START + DAY * i / max(1, n_dns)
            if i % tunnel_every == 0:
                label = "%032x" % rng.getrandbits(128)
                query, src = "%s.%s.t1.c2tunnel-example.net" % (label[:30], label[30:]), "10.99.8.8"
            else:
                query, src = "%s.%s" % (rng.choice(("www", "img", "api", "m")), rng.choice(_DOMAINS)), \
                    _internal(rng, hosts)
            out.write(_DNS % (ts, i, src, rng.randrange(32768, 60999), "10.20.0.53",
                              rng.randrange(65536), query, 1, "A", _external(rng, 5000)))
    return [conn_path, dns_path], planted


def json_parse_seconds(paths):
    started = time.perf_counter()
    n = 0
    for path in paths:
        with open(path, "rb") as handle:
            for line in handle:
                json.loads(line)
                n += 1
    return time.perf_counter() - started, n


def summarise(notables, planted):
    by_search = collections.Counter(n.get("search") for n in notables)
    found = set()
    for n in notables:
        if n.get("search") != BEACON_SEARCH:
            continue
        fields = n.get("fields", {})
        found.add((fields.get("src"), fields.get("dest")))
    beacons = sum(1 for src, dst, _, _ in planted if (src, dst) in found)
    return by_search, beacons


def profile(n, folder, top):
    import cProfile
    import pstats

    from c2hunt_offline.engine import Runner
    paths, _ = generate(folder, n)
    runner = Runner()
    prof = cProfile.Profile()
    prof.enable()
    events, _ = runner.read_files(paths)
    notables, errors = runner.hunt(events)
    prof.disable()
    print("profiled %d conn records: %d notables, errors %s" % (n, len(notables), errors))
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200000,1000000", help="conn records per run, comma separated")
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--beacons", type=int, default=20)
    parser.add_argument("--dns-share", type=float, default=0.2)
    parser.add_argument("--row-size", type=int, default=0,
                        help="also run the row engine on a file of this many conn records")
    parser.add_argument("--baseline-root",
                        help="also run another checkout's runner (a folder with offline/, bin/, default/ "
                             "and lookups/, e.g. from `git archive <commit> offline bin default lookups`) "
                             "on the --row-size file, in the same run")
    parser.add_argument("--no-row", action="store_true",
                        help="with --row-size, skip the row engine (e.g. to compare memory with --baseline-root)")
    parser.add_argument("--keep", help="write the generated files here (default: a temporary folder)")
    parser.add_argument("--profile", type=int, default=0, help="cProfile a hunt of this many records")
    parser.add_argument("--stream", choices=("both", "on", "off"), default="both",
                        help="hunt streamed (on), whole (off: C2HUNT_STREAM=0) or both, per size")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="c2hunt-scale-") as tmp:
        base = args.keep or tmp
        if args.profile:
            os.makedirs(base, exist_ok=True)
            return profile(args.profile, base, 40)
        _print_plans()
        modes = {"both": ["stream", "whole"], "on": ["stream"], "off": ["whole"]}[args.stream]
        runs = [(int(s), mode) for s in args.sizes.split(",") if s.strip() for mode in modes]
        if args.row_size:
            runs = ([] if args.no_row else [(args.row_size, "row")]) + [(args.row_size, None)] + runs
            if args.baseline_root:
                runs.insert(0, (args.row_size, "baseline"))
        print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
        print("| conn records | total records | engine | hunt s | hunt CPU s | records/s | records/CPU s "
              "| peak RSS MiB | json parse s | hunt / json | notables | planted beacons found |")
        print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        generated, outputs = {}, {}
        for size, engine in runs:
            folder = os.path.join(base, "n%d" % size)
            if size not in generated:
                os.makedirs(folder, exist_ok=True)
                generated[size] = generate(folder, size, args.hosts, args.beacons, args.dns_share)
            paths, planted = generated[size]
            parse_s, total = json_parse_seconds(paths)
            rss = _child_peak(paths, engine, args.baseline_root)
            elapsed, notables = rss["elapsed"], rss["notables"]
            by_search, beacons = summarise(notables, planted)
            print("| %d | %d | %s | %.1f | %.1f | %.0f | %.0f | %.0f | %.1f | %.1f | %d | %d/%d |"
                  % (size, total, engine or "default", elapsed, rss["cpu"], total / elapsed,
                     total / max(rss["cpu"], 1e-9), rss["peak_mib"], parse_s, elapsed / parse_s,
                     len(notables), beacons, len(planted)))
            for search, count in sorted(by_search.items()):
                print("|  |  |  |  |  |  |  |  |  |  | %d | %s |" % (count, search))
            if engine in ("stream", "whole"):
                outputs.setdefault(size, {})[engine] = rss["text"]
                if len(outputs[size]) == 2:
                    same = outputs[size]["stream"] == outputs[size]["whole"]
                    print("|  |  |  |  |  |  |  |  |  |  |  | streamed output %s the whole-table output |"
                          % ("identical to" if same else "DIFFERS from"))
            sys.stdout.flush()
    return 0


def _child_peak(paths, engine, baseline_root=None):
    """Run ``hunt`` and measure the child's own peak RSS (wait4 gives it per child).

    ``engine``: None (this checkout), ``"row"`` (this checkout, C2HUNT_ENGINE=row) or
    ``"baseline"`` (the runner of ``baseline_root``, with that checkout's own app content)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(repo_paths.pythonpath()), TZ="UTC")
    env.pop("C2HUNT_ENGINE", None)
    env["C2HUNT_STREAM"] = "1"  # streamed at every size (unset, hunt streams 256 MiB or more)
    if engine == "whole":
        env["C2HUNT_STREAM"] = "0"
    elif engine == "stream":
        pass
    elif engine == "baseline":
        env["PYTHONPATH"] = os.path.join(os.path.abspath(baseline_root), "offline")
    elif engine:
        env["C2HUNT_ENGINE"] = engine
    out_file = tempfile.TemporaryFile()
    err_file = tempfile.TemporaryFile()
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "c2hunt_offline", "hunt", "--no-progress",
                              "--format", "json"] + list(paths), stdout=out_file, stderr=err_file,
                             env=env, cwd=str(ROOT))
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    out_file.seek(0)
    err_file.seek(0)
    if child.returncode not in (0, 1, 3):
        raise SystemExit("hunt failed (%s): %s" % (child.returncode, err_file.read().decode()[-2000:]))
    text = out_file.read()
    notables = [json.loads(line) for line in text.splitlines() if line.strip()]
    notables = [n for n in notables if "search" in n]  # one JSON object per notable
    return {"elapsed": elapsed, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": usage.ru_maxrss / 1024.0, "notables": notables, "text": text}


def _print_plans():
    """How each correlation search runs in a streamed hunt."""
    from c2hunt_offline.columnar import stream
    from c2hunt_offline.engine import Runner
    runner = Runner(str(ROOT))
    for saved in runner.saved_searches():
        if saved.kind == "correlation":
            print("plan: " + stream.plan_search(runner, saved).describe())


if __name__ == "__main__":
    sys.exit(main())
