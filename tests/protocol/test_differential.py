"""Fast path vs splunklib reference path: same records, fields, messages and getinfo.

Inputs: generated chunks with quoted commas, quotes, newlines inside values, empty values,
unicode, very long values and multivalue columns, plus the records of recorded splunkd
sessions (tests/protocol/recordings/, from the Apache-2.0 splunk-sdk-python; see its README).
"""
import functools
import gzip
import io
import random
from pathlib import Path

import pytest

from c2hunt_offline import scp_driver

RECORDINGS = Path(__file__).resolve().parent / "recordings"
TRICKY = ['a,b', 'say "hi"', 'line\nbreak', '', 'Ünïcödé ✓ 漢字', '$dollar$;$', 'x' * 20000,
          '""', ',', '\t lead', 'deadbeef', 'aGVsbG8gd29ybGQhIQ==', 'evil.co.uk']


def tricky_records(n=400, seed=11):
    rng = random.Random(seed)
    records = []
    for i in range(n):
        record = {"_time": "%.3f" % (1.7e9 + 30 * i + rng.uniform(-5, 5)),
                  "src": rng.choice(["10.0.0.1", "10.0.0.2", "", "ä,b"]),
                  "dest": rng.choice(["x", "y\nz"]),
                  "query": rng.choice(TRICKY),
                  "bytes_out": rng.choice(["100", "5000", "", "-3", "1e3", "abc", "7"]),
                  "bytes_in": rng.choice(["0", "10", "", "x"]),
                  "payload": rng.choice(TRICKY)}
        if i % 7 == 0:
            record["query"] = [rng.choice(TRICKY), rng.choice(TRICKY)]
        if i % 11 == 0:
            record["tags"] = ["a", "b,c", "d\"e"]
        if i > n // 2:
            record["late_field"] = "appears mid-stream"
        records.append(record)
    return records


DNS_NAMES = ["a1b2.tunnel.evil.co.uk", "WWW.Example.COM", "example.com", "x.y.corp.internal",
             "localhost", "co.uk", "bucket.s3.amazonaws.com", "a.b.ck", "www.ck", "x.www.ck",
             "a.city.kawasaki.jp", "_ldap._tcp.dc.example.net", "deadbeef", "B64AbC.example.org",
             "raw.githubusercontent.com", "x" * 63 + ".example.com"]
ODD_NAMES = ["10.1.2.3", "trail.example.com.", " spaced.com", "ünï.example.com", "a..b.com",
             "a,b.com", 'q"uote.org', "", "::1", "carriage\rreturn.com"]


def clean_records(n=600, seed=5):
    """Records the vectorised paths take whole: plain DNS names, integers and decimals."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = "".join(rng.choice("abcdefXYZ0123456789-") for _ in range(rng.randint(1, 30)))
        records.append({"_time": "%.3f" % (1.7e9 + 60 * (i // 7) + rng.uniform(-9, 9)),
                        "src": "10.0.0.%d" % (i % 5), "dest": rng.choice(["a", "b"]),
                        "query": label + "." + rng.choice(DNS_NAMES),
                        "bytes_out": rng.choice(["%d" % rng.randint(0, 99999), "-0", "007",
                                                 "12.5", "0.000001", "123456789012345"]),
                        "bytes_in": "%d" % rng.randint(0, 5000),
                        "_raw": 'x="%d", y' % i})
        if i % 50 == 0:  # a few unusual values: the per-value path for those cells only
            records[-1]["query"] = ODD_NAMES[(i // 50) % len(ODD_NAMES)]   # each of them
            records[-1]["bytes_out"] = rng.choice(["1e3", " 5", "+7", "nan", "1_000", "abc"])
    return records


CLEAN_CASES = [
    ("c2entropy", ["field=query"]),
    ("c2entropy", ["field=query", "mode=dns"]),
    ("c2asym", []),
    ("c2beacon", ["src", "dest"]),
    ("c2beacon", ["min_count=3"]),
    ("c2beacon", ["src", "dest", "bytes_in", "_raw", "min_count=3"]),   # 4 fields: dict of keys
]


@pytest.mark.parametrize("command, args", CLEAN_CASES)
def test_clean_chunks_vectorised_paths(run_app, run_reference, command, args):
    records = clean_records()
    # Chunks of 49 hold an unusual value or not: both the whole-column and mixed branches.
    assert_same(run_app(command, args, records, chunk_size=49),
                run_reference(command, args, records, chunk_size=49))


CASES = [
    ("c2entropy", ["field=query,payload"]),
    ("c2entropy", ["field=query", "mode=dns", "prefix=d_"]),
    ("c2entropy", ["field=payload", "decode=auto"]),
    ("c2asym", ["threshold=0.6", "min_bytes=10"]),
    ("c2beacon", ["src", "dest", "min_count=3"]),
]


def assert_same(fast, reference):
    assert fast.records == reference.records
    assert fast.fields == reference.fields or sorted(fast.fields) == sorted(reference.fields)
    assert fast.messages == reference.messages
    assert fast.getinfo == reference.getinfo
    assert [reply.get("finished") for reply in fast.replies] == \
        [reply.get("finished") for reply in reference.replies]


@pytest.mark.parametrize("command, args", CASES)
def test_generated_chunks(run_app, run_reference, command, args):
    records = tricky_records()
    fast = run_app(command, args, records, chunk_size=97)
    reference = run_reference(command, args, records, chunk_size=97)
    assert len(fast.records) == (len(records) if command != "c2beacon" else len(fast.records))
    assert_same(fast, reference)


@pytest.mark.parametrize("command, args", [("c2asym", ["nope=1"]), ("c2entropy", [])])
def test_option_errors_match(run_app, run_reference, command, args):
    fast = run_app(command, args, [{"a": "1"}], raise_on_error=False)
    reference = run_reference(command, args, [{"a": "1"}], raise_on_error=False)
    assert fast.returncode == reference.returncode == 1
    assert fast.getinfo == reference.getinfo


def recorded_records(name):
    return _session_records(RECORDINGS / name)


@functools.lru_cache(maxsize=None)
def _session_records(path):
    """The execute chunks' records of one recorded session (read once per test run)."""
    stream = io.BytesIO(gzip.decompress(path.read_bytes()))
    records = []
    while True:
        chunk = scp_driver.read_chunk(stream)
        if chunk is None:
            return records
        metadata, body = chunk
        if metadata.get("action") == "execute" and body:
            records.extend(scp_driver.decode_records(body)[0])


@pytest.mark.parametrize("session, command, args", [
    ("countmatches.input.gz", "c2entropy", ["field=text"]),
    ("sum.map.head1200.input.gz", "c2asym", ["out=value1", "in=value2"]),
    ("sum.map.head1200.input.gz", "c2entropy", ["field=_raw,punct"]),
])
def test_recorded_splunkd_sessions(run_app, run_reference, session, command, args):
    records = recorded_records(session)[:1200]
    assert records
    assert_same(run_app(command, args, records, chunk_size=400),
                run_reference(command, args, records, chunk_size=400))


@pytest.mark.parametrize("session", ["countmatches.input.gz", "sum.map.head1200.input.gz"])
def test_recorded_session_bytes_as_sent(app_dir, splunk_python, session):
    """Replay splunkd's exact bytes (its quoting, header, finished flag) to c2entropy."""
    stream = io.BytesIO(gzip.decompress((RECORDINGS / session).read_bytes()))
    metadata, _ = scp_driver.read_chunk(stream)
    metadata["searchinfo"]["args"] = ["field=_time"]
    process = scp_driver.start(app_dir / "bin" / "c2entropy.py", splunk_python)
    chunks = []
    while True:
        chunk = scp_driver.read_chunk(stream)
        if chunk is None:
            break
        chunks.append(scp_driver.encode_chunk(*chunk))
    info, replies = scp_driver.exchange(process, scp_driver.encode_chunk(metadata), chunks)
    assert process.wait(timeout=120) == 0
    process.stdout.close()
    process.stderr.close()
    assert info == {"type": "streaming"} and replies and replies[-1][0]["finished"] is True
    records, fields = scp_driver.decode_records(replies[0][1])
    assert "_time_entropy" in fields and len(records) > 0
