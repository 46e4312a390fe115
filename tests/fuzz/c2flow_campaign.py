"""The c2flow kill -9 campaign (issue 20 item 12): the input run as splunkd runs it, its
stdout drained slowly (so writes block), killed at seeded random points, restarted until a
run completes; then what splunkd received is compared with one uninterrupted run.

    PYTHONPATH=tests/flow python tests/fuzz/c2flow_campaign.py [kills] [seed]   # figures as JSON

(under pytest, tests/flow is on the path already: pyproject.toml's ``pythonpath``)
"""
import collections
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import synthetic as syn  # tests/flow/synthetic.py

ROOT = Path(__file__).resolve().parents[2]
T0 = 1700000000.0
_EVENT = re.compile(rb"<event[ >].*?</event>", re.S)
_DATA = re.compile(rb"<source>(.*?)</source>.*?<data>(.*?)</data>", re.S)


def make_spool(folder, n_files=2, packets=30000):
    folder.mkdir(parents=True, exist_ok=True)
    old = time.time() - 3600
    for number in range(n_files):
        path = folder / ("rot.pcap%d" % number)
        syn.write_pcap(str(path), syn.mixed_traffic(packets, start=T0 + number * 100,
                                                    seed=number))
        os.utime(str(path), (old, old))
    return folder


def definition(captures, checkpoints):
    params = {"directory": str(captures), "settle_seconds": "5", "idle_timeout": "2",
              "entropy_sample_bytes": "256"}
    body = "".join('<param name="%s">%s</param>' % item for item in sorted(params.items()))
    return ("<input><server_host>test</server_host><server_uri>https://127.0.0.1:8089"
            "</server_uri><session_key>k</session_key><checkpoint_dir>%s</checkpoint_dir>"
            '<configuration><stanza name="c2flow://lab">%s</stanza></configuration></input>'
            % (checkpoints, body)).encode()


def _run(stdin_bytes, kill_after=None, read_pause=0.001, piece=4096):
    """One run; stdout read ``piece`` bytes at a time with a pause (a slow splunkd).
    Killed with SIGKILL once ``kill_after`` bytes arrived. Returns (bytes, killed, rc)."""
    process = subprocess.Popen([sys.executable, str(ROOT / "bin" / "c2flow.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, cwd=str(ROOT / "bin"))
    process.stdin.write(stdin_bytes)
    process.stdin.close()
    received, killed = bytearray(), False
    fd = process.stdout.fileno()
    while True:
        data = os.read(fd, piece)
        if not data:
            break
        received += data
        if kill_after is not None and not killed and len(received) >= kill_after:
            process.kill()
            killed = True
        if read_pause:
            time.sleep(read_pause)
    process.stdout.close()
    return bytes(received), killed, process.wait(timeout=120)


def _records(output):
    return [tuple(match.groups()) for match in map(_DATA.search, _EVENT.findall(output))]


def campaign(work, kills=13, seed=20, n_files=2, packets=30000):
    """Figures of one campaign: kills, kills_mid_file, records, lost, duplicated, fragments."""
    work = Path(work)
    captures = make_spool(work / "captures", n_files, packets)
    reference, _, rc = _run(definition(captures, work / "reference"), read_pause=0)
    assert rc == 0
    expected = collections.Counter(_records(reference))
    rng = random.Random(seed)
    got = collections.Counter()
    figures = {"kills": 0, "kills_mid_file": 0, "runs": 0, "fragments": 0}
    stdin_bytes = definition(captures, work / "checkpoints")
    total = len(reference)
    for _ in range(kills + 20):
        kill_after = rng.randint(1, max(2, total // max(kills, 1))) if figures["kills"] < kills \
            else None
        output, killed, rc = _run(stdin_bytes, kill_after)
        figures["runs"] += 1
        complete = _EVENT.findall(output)
        figures["fragments"] += output.count(b"<event") - len(complete)
        got.update(_records(output))
        if killed:
            figures["kills"] += 1
            figures["kills_mid_file"] += rc != 0 and b"</stream>" not in output
            continue
        if rc == 0:
            break
    figures.update(records=sum(expected.values()),
                   lost=sum((expected - got).values()),
                   duplicated=sum((got - expected).values()))
    return figures


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(campaign(folder, *arguments)))
