"""Fuzz tier, search commands (issue 20): seeded random CSV chunks and mutated protocol
streams through c2entropy, c2asym and c2beacon, as splunkd runs them, on every Splunk
Python. Records pass through byte for byte, as many out as in, and nothing reports an
internal error. C2HUNT_FUZZ_SCALE=<n> runs n times as many chunks and mutations."""
import csv
import io
import os
import random
import re

import pytest

from c2hunt_offline import scp_driver

SCALE = max(1, int(os.environ.get("C2HUNT_FUZZ_SCALE", "1")))
# What an internal error looks like in the job inspector (splunklib's form, a traceback).
INTERNAL = re.compile(r'(Error|Exception) at "|Traceback|line \d+ :')

PIECES = [b"a", b"Zq", b"7", b"-", b".", b" ", b",", b'"', b'""', b"\n", b"\r", b"\r\n",
          b"\x00", b"$", b"$;$", b"%", b"%d", b"%s", b"%(x)s", b"\xff", b"\xc3(", b"\xe9",
          "é".encode(), "日本".encode(), b"\t", b"1e308", b"nan", b"-inf", b"0x1f",
          b"example.com", b"aGVsbG8=", b"deadbeef", b"1700000000.5", b":", b"1e300:1"]
NAMES = ["q", "bytes_out", "bytes_in", "src", "_time", "%_Processor_Time", "a,b", 'x"y',
         "n\u00e9", "series", "$x$", "d%d", "pcr", "q_entropy", "__mv_x"]
OUTPUTS = {
    "c2entropy": {"q_entropy", "q_entropy_norm", "q_length"},
    "c2asym": {"pcr", "outbound_share", "total_bytes", "asym_flag"},
}
SESSIONS = [("c2entropy", ["field=q"]), ("c2entropy", ["field=q", "mode=dns"]),
            ("c2entropy", ["field=q", "decode=auto"]), ("c2asym", []),
            ("c2beacon", ["src"]), ("c2beacon", ["series=series", "src"])]


def _value(rng):
    if rng.random() < 0.2:
        return b""
    if rng.random() < 0.3:
        return rng.choice([b"0", b"512", b"1024", b"-5", b"3.25", b"1e3", b" 42 ",
                           b"1700000060", b"abc"])
    return b"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6)))


def _cell(raw, rng):
    if re.search(rb'[,"\r\n]', raw) or (raw and rng.random() < 0.3):
        return b'"' + raw.replace(b'"', b'""') + b'"'
    return raw


def random_body(rng):
    """A chunk body: random fields (with __mv_ columns), rows, values and line ends."""
    names = rng.sample(NAMES, rng.randint(1, 6))
    if rng.random() < 0.7:
        names = list(dict.fromkeys(["q", "src"] + names))
    header = names + ["__mv_" + name for name in names if rng.random() < 0.8]
    newline = b"\r\n" if rng.random() < 0.15 else b"\n"
    lines = [b",".join(_cell(name.encode("utf-8"), rng) for name in header)]
    for _ in range(rng.randint(0, 40)):
        cells = []
        for name in header:
            if name.startswith("__mv_") and rng.random() < 0.2:
                items = [_value(rng).replace(b"$", b"$$") for _ in range(rng.randint(2, 3))]
                raw = b"$" + b"$;$".join(items) + b"$"
            elif name.startswith("__mv_"):
                raw = b""
            else:
                raw = _value(rng)
            cells.append(_cell(raw, rng))
        lines.append(b",".join(cells))
    return newline.join(lines) + newline


def _table(body):
    text = bytes(body).decode("utf-8", "surrogateescape")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return [], []
    as_bytes = [[cell.encode("utf-8", "surrogateescape") for cell in row] for row in rows]
    # A blank line is a record whose single cell is empty (the csv module says [])
    width = len(as_bytes[0])
    return as_bytes[0], [row or [b""] * width for row in as_bytes[1:]]


def _session(app_dir, python, command, args, bodies):
    process = scp_driver.start(app_dir / "bin" / (command + ".py"), python)
    getinfo = scp_driver.encode_chunk(scp_driver.getinfo_metadata(args, "/tmp", command))
    chunks = [scp_driver.encode_chunk({"action": "execute", "finished": i == len(bodies) - 1},
                                      body) for i, body in enumerate(bodies)]
    info, replies = scp_driver.exchange(process, getinfo, chunks)
    stderr = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    return info, replies, process.wait(timeout=300), stderr


def _messages(info, replies):
    found = []
    for metadata in [info or {}] + [meta for meta, _ in replies]:
        found += (metadata.get("inspector") or {}).get("messages") or []
    return found


@pytest.mark.parametrize("command, args", SESSIONS)
def test_random_chunks_pass_through_exactly(app_dir, splunk_python, command, args):
    rng = random.Random("%s %s" % (command, args))
    bodies = [random_body(rng) for _ in range(25 * SCALE)]
    info, replies, returncode, stderr = _session(app_dir, splunk_python, command, args, bodies)
    messages = _messages(info, replies)
    assert returncode == 0 and not any(level == "ERROR" for level, _ in messages), \
        (messages, stderr[-1000:])
    assert not any(INTERNAL.search(text) for _, text in messages), messages
    assert len(replies) == len(bodies)
    if command == "c2beacon":  # one row per group, from the last reply only
        assert all(not bytes(body) for _, body in replies[:-1])
        return
    for body_in, (_, body_out) in zip(bodies, replies):
        header_in, rows_in = _table(body_in)
        header_out, rows_out = _table(body_out)
        assert len(rows_out) == len(rows_in)          # record count in = out
        if not rows_in:
            continue
        replaced = {name.encode("utf-8") for output in OUTPUTS[command]
                    for name in (output, "__mv_" + output)}
        kept = [(i, header_out.index(name)) for i, name in enumerate(header_in)
                if name not in replaced]
        for row_in, row_out in zip(rows_in, rows_out):
            assert [row_out[j] for _, j in kept] == [row_in[i] for i, _ in kept]


def _valid_stream(rng, command, args):
    getinfo = scp_driver.encode_chunk(scp_driver.getinfo_metadata(args, "/tmp", command))
    bodies = [random_body(rng) for _ in range(3)]
    return getinfo + b"".join(
        scp_driver.encode_chunk({"action": "execute", "finished": i == 2}, body)
        for i, body in enumerate(bodies))


def _mutated(stream, rng):
    data = bytearray(stream)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        at = rng.randrange(len(data))
        if kind == 0:
            data[at] = rng.randrange(256)
        elif kind == 1:
            del data[at:at + rng.randint(1, 50)]
        elif kind == 2:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        elif kind == 3:  # a header that lies about its lengths
            headers = [m.start() for m in re.finditer(rb"chunked 1\.0,", bytes(data))]
            if headers:
                start = rng.choice(headers)
                end = data.index(b"\n", start)
                data[start:end] = b"chunked 1.0,%d,%d" % (rng.choice([0, 2, 10 ** 12, 17]),
                                                         rng.choice([0, 1, 10 ** 10, 99]))
        else:
            del data[at:]
    return bytes(data)


@pytest.mark.parametrize("command, args", [("c2entropy", ["field=q"]), ("c2asym", []),
                                           ("c2beacon", ["src"])])
def test_mutated_protocol_streams_end_with_named_errors(app_dir, splunk_python, command, args):
    rng = random.Random("protocol %s" % command)
    for case in range(8 * SCALE):
        stream = _mutated(_valid_stream(rng, command, args), rng)
        process = scp_driver.start(app_dir / "bin" / (command + ".py"), splunk_python)
        out, err = process.communicate(stream, timeout=120)
        assert process.returncode in (0, 1), (case, err[-500:])
        replies, reader = [], io.BytesIO(out)
        while True:
            reply = scp_driver.read_chunk(reader)
            if reply is None:
                break
            replies.append(reply)
        texts = [text for meta, _ in replies
                 for _, text in (meta.get("inspector") or {}).get("messages") or []]
        assert not any(INTERNAL.search(text) for text in texts), (case, texts, stream[:300])
        assert all("\n" not in text for text in texts), texts
