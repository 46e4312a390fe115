"""Reader mutation fuzzing (issue 20, items 8-10): every mutated file gives events or a named
issue for that file, never a traceback, and one bad file never stops the others being read.

Seeds are small real-format files: the bundled samples (Zeek TSV, Windows XML, auditd, ESXi,
osquery, pcap), Zeek and Windows JSON lines, Suricata EVE JSON, a CSV with a sourcetype and, when the dataset is
present, a binary EVTX. Mutations are what damaged exports look like: cut short, bytes flipped,
inserted or deleted, lines duplicated or dropped, headers lost, NUL/CR/invalid UTF-8, a line
nested past the stack. The random generator is seeded; C2HUNT_FUZZ_ITERATIONS (mutations per
seed, default 12) sets a longer run.
"""
import os
import random
import time
from pathlib import Path

import pytest

from c2hunt_offline import Runner
from c2hunt_offline.cli import main

ROOT = Path(__file__).resolve().parents[2]

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
ITERATIONS = int(os.environ.get("C2HUNT_FUZZ_ITERATIONS", "12"))
SAMPLES = ROOT / "samples"

ZEEK_JSON = (b'{"ts":1715677400.1,"uid":"C1","id.orig_h":"10.0.0.8","id.orig_p":5000,'
             b'"id.resp_h":"203.0.113.9","id.resp_p":443,"proto":"tcp","duration":1.5,'
             b'"orig_bytes":300,"resp_bytes":4000,"conn_state":"SF"}\n') * 3
WINDOWS_JSON = (b'{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Sysmon"},"EventID":3,'
                b'"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc1",'
                b'"TimeCreated":{"SystemTime":"2024-05-14T09:17:00.000Z"}},"EventData":{'
                b'"Image":"C:\\\\Windows\\\\System32\\\\cmd.exe","DestinationIp":"203.0.113.9",'
                b'"DestinationPort":"443","Protocol":"tcp"}}}\n') * 2
SURICATA_EVE = (
    b'{"timestamp":"2024-05-14T09:17:00.100000+0200","flow_id":17,"event_type":"flow",'
    b'"src_ip":"10.0.0.8","src_port":5000,"dest_ip":"203.0.113.9","dest_port":443,"proto":"TCP",'
    b'"app_proto":"tls","flow":{"pkts_toserver":3,"pkts_toclient":4,"bytes_toserver":300,'
    b'"bytes_toclient":4000,"start":"2024-05-14T09:17:00.100000+0200",'
    b'"end":"2024-05-14T09:17:01.600000+0200","age":1}}\n'
    b'{"timestamp":"2024-05-14T09:17:02.000000+0200","flow_id":18,"event_type":"dns",'
    b'"src_ip":"10.0.0.8","src_port":5001,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP",'
    b'"dns":{"version":2,"type":"answer","id":7,"rrname":"a.example.org","rrtype":"A",'
    b'"rcode":"NOERROR","answers":[{"rrname":"a.example.org","rrtype":"A","ttl":60,'
    b'"rdata":"192.0.2.1"}]}}\n')
NET_CSV = (b"_time,host,src,dest,dest_port,transport\n"
           b"1715677400,h1,10.0.0.8,203.0.113.9,22,tcp\n1715677401,h1,10.0.0.8,203.0.113.9,443,tcp\n")


def _head_lines(path, n):
    with open(str(path), "rb") as handle:
        return b"".join(line for _, line in zip(range(n), handle))


def seeds():
    """(name, bytes, sourcetype or None) of each seed."""
    found = {}
    for path in sorted(SAMPLES.rglob("*")):
        if path.is_file() and path.name not in found:
            data = path.read_bytes()[:40000] if path.suffix == ".pcap" else _head_lines(path, 30)
            found[path.name] = (path.name, data, None)
    out = list(found.values())
    out += [("conn.json.log", ZEEK_JSON, None), ("sysmon.json", WINDOWS_JSON, None),
            ("eve.json", SURICATA_EVE, None),
            ("net.csv", NET_CSV, "net")]
    evtx = DATASETS / "evtx-attack-samples" / "Command_and_Control-DE_RDP_Tunnel_5156.evtx"
    if evtx.exists():
        out.append(("sample.evtx", evtx.read_bytes(), None))
    return out


# ---------------------------------------------------------------- mutations
def _cut(rng, data):
    return data[:rng.randrange(len(data) + 1)]


def _flip(rng, data):
    buf = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        if buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _insert(rng, data):
    at = rng.randrange(len(data) + 1)
    junk = rng.choice([b"\x00", b"\r", b"\r\n", b"\xff\xfe", b"\xc3\x28", b"\t" * 50, b"#fields\t",
                       b"{", b"}", b"[" * 2000, b"<Event>", b"\n\n\n", bytes(rng.randrange(256)
                                                                             for _ in range(64))])
    return data[:at] + junk + data[at:]


def _delete(rng, data):
    if not data:
        return data
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, 200):]


def _lines(rng, data):
    lines = data.split(b"\n")
    if not lines:
        return data
    i = rng.randrange(len(lines))
    kind = rng.randrange(4)
    if kind == 0:
        del lines[i]
    elif kind == 1:
        lines.insert(i, lines[i] * rng.randint(2, 50))
    elif kind == 2:
        lines[i] = b"{\"a\": " + b"[" * 100000 + b"]" * 100000 + b"}"
    else:
        rng.shuffle(lines)
    return b"\n".join(lines)


def _header(rng, data):
    """Drop or damage one header line (Zeek #separator/#fields/#path, XML prolog, CSV header)."""
    lines = data.split(b"\n")
    heads = [i for i, line in enumerate(lines[:10]) if line.startswith((b"#", b"<?xml", b"_time"))] or [0]
    i = rng.choice(heads)
    lines[i] = rng.choice([b"", b"#separator", b"#separator \\x", b"#path", b"#fields", lines[i][:5]])
    return b"\n".join(lines)


MUTATIONS = [_cut, _flip, _insert, _delete, _lines, _header]


def mutated(rng, data):
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(MUTATIONS)(rng, data)
    return data


# ---------------------------------------------------------------- the campaign
def _data_lines(data):
    """Non-blank lines that are not a header (a header-only file is rightly empty)."""
    return sum(1 for line in data.split(b"\n") if line.strip() and not line.startswith(b"#"))


def campaign(runner, folder, iterations, seed=20):
    """Read ``iterations`` mutants of every seed; returns the figures and the failures."""
    rng = random.Random(seed)
    figures = {"files": 0, "with_events": 0, "issue_only": 0, "silent_empty": 0, "crashes": 0}
    failures = []
    for name, data, sourcetype in seeds():
        for n in range(iterations):
            path = folder / ("m%03d_%s" % (n, name))
            path.write_bytes(mutated(rng, data))
            spec = "%s:%s" % (path, sourcetype) if sourcetype else str(path)
            figures["files"] += 1
            try:
                events, issues = runner.read_files([spec])
            except BaseException as exc:  # noqa: BLE001  (the finding)
                if isinstance(exc, KeyboardInterrupt):
                    raise
                figures["crashes"] += 1
                failures.append("%s: %s: %s" % (path.name, type(exc).__name__, str(exc)[:120]))
                continue
            if events:
                figures["with_events"] += 1
            elif issues:
                figures["issue_only"] += 1
            elif _data_lines(path.read_bytes()) > 1:
                # Records beyond a header that gave nothing and said nothing.
                figures["silent_empty"] += 1
                failures.append("%s: no events and no issue" % path.name)
            bad_paths = [i for i in issues if i.path != str(path)]
            if bad_paths:
                failures.append("%s: issue names another file: %s" % (path.name, bad_paths[0]))
            for ev in events:
                if not isinstance(ev.get("_time"), (int, float)):
                    failures.append("%s: event without a numeric _time" % path.name)
                    break
    return figures, failures


def test_every_mutated_file_gives_events_or_a_named_issue(tmp_path):
    started = time.monotonic()
    figures, failures = campaign(Runner(), tmp_path, ITERATIONS)
    print("reader fuzz figures:", figures)
    assert figures["files"] >= 10 * ITERATIONS
    assert failures == []
    if ITERATIONS <= 12:
        assert time.monotonic() - started < 120


def test_a_folder_of_mutants_is_read_whole_by_the_cli(tmp_path, capsys):
    rng = random.Random(7)
    for name, data, sourcetype in seeds():
        if sourcetype is None:
            for n in range(3):
                (tmp_path / ("m%d_%s" % (n, name))).write_bytes(mutated(rng, data))
    good = tmp_path / "zz_good_conn.log"
    good.write_text("#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\t"
                    "id.resp_p\tproto\n1715677400\t10.0.0.8\t5000\t203.0.113.9\t22\ttcp\n")
    rc = main(["read", "--no-progress", str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc in (0, 3)
    assert "Traceback" not in err
    assert '"id.orig_p": "5000"' in out or '"src_port": "5000"' in out or "5000" in out


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_each_mutation_changes_its_input(mutation):
    rng = random.Random(1)
    data = b"#separator \\x09\n#fields\tts\n1\n2\n3\n" * 3
    assert any(mutation(rng, data) != data for _ in range(5))
