"""Deterministic splunkd-like input for the benchmarks: 12 fields, some multivalue."""
import random

FIELDS = ("_time", "src", "dest", "dest_port", "transport", "bytes_in", "bytes_out",
          "query", "process_name", "user", "_raw", "tag")


def make_records(n_records, seed=7):
    """n_records synthetic network events with quoted, multivalue and unicode values."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    hosts = ["10.0.%d.%d" % (i // 256, i % 256) for i in range(400)]
    processes = ["chrome.exe", "svchost.exe", "powershell.exe", "rundll32.exe", "curl"]
    records = []
    t0 = 1700000000.0
    for i in range(n_records):
        label = "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 40)))
        query = "%s.%s.example.co.uk" % (label, rng.choice(["cdn", "api", "mail"]))
        src, dest = rng.choice(hosts), rng.choice(hosts)
        bytes_out, bytes_in = rng.randint(0, 50000), rng.randint(0, 50000)
        record = {
            "_time": "%.3f" % (t0 + i * 0.25),
            "src": src, "dest": dest, "dest_port": str(rng.choice([53, 443, 8080, 9050])),
            "transport": rng.choice(["tcp", "udp"]),
            "bytes_in": str(bytes_in), "bytes_out": str(bytes_out),
            "query": query,
            "process_name": rng.choice(processes),
            "user": rng.choice(["CORP\\alice", "bob", "José", ""]),
            "_raw": 'ts=%d src=%s dest=%s msg="hello, world" q=%s' % (i, src, dest, query),
            "tag": ["network", "communicate"] if i % 3 else "network",
        }
        records.append(record)
    return records
