"""DNS tunnel recall and false-positive rate of AN1228 on netrack's labelled query names.

    PYTHONPATH=offline python benchmarks/dns_tunnel_eval.py [--split validate] [--window 20 ...]
                                                          [--app-root DIR]

netrack-dns (../shared/datasets/netrack-dns, third-party, not in this repository) lists DNS
query names, label 0 plain and 1 tunnel (dns2tcp, iodine, dnscapy, tuns), in capture order.
The names go through the app's own path: written as a Zeek dns.log (JSON), read by the
offline runner's Zeek reader and scored by the shipped correlation search
`C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule` with its macros and lookups,
so what is measured is what the search raises.

The labelled lists carry names only (no time, client or record type), so the log gives each
window of ``window`` consecutive queries its own client address: the search groups by source
and registered domain over its window, so one client's ``window`` queries are exactly one
scheduled run over a window in which the tunnel sent that many queries. Tunnel names keep
their order (a window is a stretch of one tool's session); plain names are cut the same way.
Every query is an A query, so the record-type signals cannot help: the names alone decide.

A name counts as detected when the (client, group) its query falls in raises a notable;
recall is over tunnel names, the false-positive rate over plain names.
"""
import argparse
import csv
import json
import os
import re
import sys
import tempfile
from pathlib import Path

AN1228 = "C2Hunt - DNS Tunnel, DoH Or Internal Protocol Egress - Rule"
DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "netrack-dns"
T0 = 1700000000.0


def read_names(path):
    """(label, name) rows of a netrack CSV: label 0 plain, anything else a tunnel."""
    rows = []
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or row[0] == "label":
                continue
            rows.append((0 if row[0].strip() == "0" else 1, ",".join(row[1:])))
    return rows


def window_events(rows, window):
    """Zeek dns.log records: each run of ``window`` names of a class from its own client.

    Returns the records and, per record, (label, client).
    """
    records, truth = [], []
    for label in (1, 0):
        names = [name for lab, name in rows if lab == label]
        for start in range(0, len(names), window):
            client = "10.%d.%d.%d" % (label + 1, (start // window) // 250, (start // window) % 250 + 1)
            chunk = names[start:start + window]
            for offset, name in enumerate(chunk):
                ts = T0 + 3600.0 * offset / max(len(chunk), 1)
                records.append({"ts": ts, "uid": "C%d%d" % (label, start + offset),
                                "id.orig_h": client, "id.orig_p": 40000 + offset % 20000,
                                "id.resp_h": "10.0.0.53", "id.resp_p": 53, "proto": "udp",
                                "trans_id": offset % 65536, "query": name.rstrip("."),
                                "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 1,
                                "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR"})
                truth.append((label, client))
    return records, truth


def _group(registered, resolver):
    """The search's group_dest for a DNS name (its invalid_tld rule, then the domain)."""
    if registered is None:
        return None
    tld = registered.rsplit(".", 1)[-1]
    if len(tld) > 24 or (re.search("[0-9_]", tld) and not tld.startswith("xn--")):
        return "invalid-tld-via-" + resolver
    return registered


def evaluate(rows, window, app_root=None):
    """Recall over tunnel names and false-positive rate over plain names, through AN1228."""
    from c2hunt_offline import hunt
    from c2hunt.dns import split_name

    records, truth = window_events(rows, window)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "dns.log")
        with open(path, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
        notables = hunt([path], app_root=app_root, names=[AN1228])
    flagged = {(n.fields.get("src"), n.fields.get("group_dest")) for n in notables}
    counts = {0: [0, 0], 1: [0, 0]}          # label -> [names, detected]
    for record, (label, client) in zip(records, truth):
        counts[label][0] += 1
        counts[label][1] += (client, _group(split_name(record["query"]).registered,
                                            record["id.resp_h"])) in flagged
    return {"window": window, "tunnel_names": counts[1][0], "detected": counts[1][1],
            "recall": counts[1][1] / max(counts[1][0], 1), "plain_names": counts[0][0],
            "false_positives": counts[0][1], "fpr": counts[0][1] / max(counts[0][0], 1),
            "notables": len(notables)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="validate", help="train or validate (default)")
    parser.add_argument("--window", type=int, nargs="+", default=[10, 20, 50, 100])
    parser.add_argument("--app-root", default=None, help="app folder (default: this repository)")
    args = parser.parse_args(argv)
    path = DATASET / ("%s.csv" % args.split)
    if not path.exists():
        print("%s not present" % path, file=sys.stderr)
        return 2
    rows = read_names(path)
    print("| queries per window | tunnel names | recall | plain names | false positives | FPR |")
    print("|---|---|---|---|---|---|")
    for window in args.window:
        r = evaluate(rows, window, args.app_root)
        print("| %d | %d | %.4f | %d | %d | %.4f |" % (r["window"], r["tunnel_names"], r["recall"],
                                                       r["plain_names"], r["false_positives"],
                                                       r["fpr"]))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bin"))
    sys.exit(main())
