"""The native frame reader against the dict readers: the same events, the same issues.

``read_frame(path)`` must hold exactly what ``detect_and_read`` + the runner's defaults give,
as ``frame_from_rows`` holds those events (column set, dtypes, every value per row, row order
= line order), and report the same issues; or give None (the caller then uses the dict
readers). Checked on every Zeek file under samples/, the scale benchmark's generated conn and
dns logs, the Zeek logs of the shared datasets (skipped when absent), and written cases for
what JSON and TSV allow: damage, blank lines, unicode, escapes, mixed types, late keys, gzip.
"""
import gzip
import json
from pathlib import Path

import pytest

from c2hunt_offline.columnar.table import frame_from_rows, python_values
from c2hunt_offline.readers import frames
from c2hunt_offline.readers.dispatch import detect_and_read
from c2hunt_offline.readers.frames import read_frame
from support import assert_frame_reader_same as assert_same

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"


def _zeek_files(root):
    names = ("conn", "dns", "http", "ssl", "x509", "files", "dhcp", "notice", "weird", "quic",
             "open_conn", "open_http", "open_ssl", "loaded_scripts", "telemetry")
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and p.name.split(".")[0].split("_json")[0] in names
                  or p.is_file() and p.name.endswith((".log", ".log.gz", ".log.labeled")))


def test_python_whitespace():
    """The characters the reader strips are exactly those str.strip() strips."""
    assert set(frames._PY_SPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


SAMPLES = sorted(p for p in (REPO / "samples").rglob("*.log"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_samples(path):
    head = path.read_text(errors="replace")[:200].lstrip()
    zeek = head.startswith("{\"ts\"") or head.startswith("#separator") or head.startswith("#fields")
    got = assert_same(path, native=False)
    if zeek and path.name.split(".")[0] in ("conn", "dns", "http", "ssl"):
        assert got is not None, path


def test_datasets():
    if not DATASETS.is_dir():
        pytest.skip("shared datasets absent")
    files = [p for p in DATASETS.rglob("*") if p.is_file() and p.name.endswith((".log", ".log.gz", ".labeled"))]
    if not files:
        pytest.skip("no Zeek logs in the shared datasets")
    read = 0
    for path in sorted(files):
        try:
            detect_and_read(str(path))
        except Exception:  # noqa: BLE001  (not a log the dict readers read: the frame reader must decline)
            assert read_frame(str(path))[0] is None, path
            continue
        if assert_same(path, native=False) is not None:
            read += 1
    assert read >= len(files) * 0.9, "the frame reader declined %d of %d logs" % (len(files) - read, len(files))


def test_generated_scale_logs(tmp_path):
    import offline_scale  # benchmarks/ is on the tests' pythonpath

    paths, _ = offline_scale.generate(str(tmp_path), 4000)
    for path in paths:
        got = assert_same(path)
        assert got.height > 0


# ---------------------------------------------------------------- written cases

CONN = {"ts": 1715677505.000632, "uid": "Cbk0", "id.orig_h": "10.20.2.20", "id.orig_p": 123,
        "id.resp_h": "162.159.200.1", "id.resp_p": 123, "proto": "udp", "service": "ntp",
        "duration": 0.02, "orig_bytes": 48, "resp_bytes": 48, "conn_state": "SF", "local_orig": True,
        "missed_bytes": 0, "history": "Dd", "orig_pkts": 1, "resp_pkts": 1}


def conn(**changes):
    record = dict(CONN)
    for key, value in changes.items():
        if value is _DROP:
            record.pop(key, None)
        else:
            record[key] = value
    return json.dumps(record, separators=(",", ":"))


_DROP = object()


def _write(tmp_path, name, lines, compress=False, newline="\n"):
    path = tmp_path / name
    text = newline.join(lines) + newline
    if compress:
        with gzip.open(path, "wb") as out:
            out.write(text.encode("utf-8"))
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def _many(n=300):
    return [conn(ts=1715677505.5 + i, uid="C%d" % i, orig_bytes=i) for i in range(n)]


JSON_CASES = {
    "plain": _many(),
    "blank and space lines": _many(5) + ["", "   ", "\t"] + _many(5),
    "damaged lines": _many(5) + ['{"ts":1715677505.1,"uid":"X"', "garbage", "[1,2]", '"text"'] + _many(5),
    "unicode and escapes": [conn(uid="C\u00e9\u4e2d\U0001F600"), conn(history="a\\\"b\":c"),
                            conn(uid="\\ud800x"), conn(uid="\\ud83d\\ude00"), conn(history="x\\ny\\t\\\\")],
    "integral floats and ints": [conn(duration=2.0), conn(duration=2), conn(duration=1e-05),
                                 conn(duration=1e20), conn(duration=-0.0), conn(ts=1715677590.0),
                                 conn(ts=1715677590)],
    "numbers in string fields": [conn(history="12"), conn(history=12), conn(history=True),
                                 conn(history="true"), conn(history=2.5), conn(history=[1, 2]),
                                 conn(history={"a": 1}), conn(history="[x]")],
    "booleans mixed": [conn(local_orig=True), conn(local_orig=1), conn(local_orig="T")],
    "big and odd numbers": [conn(orig_bytes=2 ** 70), conn(duration=float("nan")), conn(orig_bytes=-0),
                            '{"ts":1715677505.1,"uid":"N","duration":Infinity,"proto":"tcp"}'],
    "late and duplicate keys": _many(5) + [conn(extra="late"), conn(tunnel_parents=["a", "b"]),
                                           '{"ts":1715677505.1,"uid":"D","uid":"E","proto":"tcp"}'],
    "nulls, empty and dashes": [conn(service=None), conn(service=""), conn(service="-"),
                                conn(tunnel_parents=[]), conn(tunnel_parents=["-", "", None, "x"]),
                                conn(tunnel_parents=["x", None, "y"])],
    "iso timestamps": [conn(ts="2024-05-14T08:25:05.000632Z"), conn(ts="2024-05-14T08:25:05Z"),
                       conn(ts="2024-05-14T08:25:05.5Z"), conn(ts="2024-02-30T08:25:05Z"),
                       conn(ts="2024-05-14T23:59:60Z"), conn(ts="1969-12-31T23:59:59.999999Z"),
                       conn(ts="2024-05-14T08:25:05.1234567Z"), conn(ts="2024-05-14T08:25:05+02:00")],
    "no ts": [conn(ts=_DROP), conn(ts=None), conn(ts="-"), conn(ts=_DROP, **{"@timestamp": "2024-05-14T08:00:00Z"}),
              conn(ts="2024-05-14T08:00:00.123456789Z"), conn(ts="not a time"), conn(ts=[1.5, 2.5])],
    "byte counts": [conn(orig_bytes="12"), conn(orig_bytes="x"), conn(orig_bytes="+5"),
                    conn(orig_bytes=_DROP, resp_bytes=_DROP), conn(orig_bytes=["1", "2"]),
                    conn(orig_bytes=12, bytes="99"), conn(orig_bytes="1.5", bytes="7")],
    "nested names": [json.dumps({"ts": 1715677505.5, "uid": "N", "id": {"orig_h": "10.0.0.1", "orig_p": 5,
                                                                        "resp_h": "10.0.0.2", "resp_p": 80},
                                  "proto": "tcp"}),
                      json.dumps({"ts": 1715677505.7, "uid": "M", "id": {"orig_h": "10.0.0.1", "orig_p": 5.0},
                                  "proto": "tcp"}),
                      json.dumps({"ts": 1715677505.9, "uid": "O", "id": None, "proto": "tcp"}),
                      json.dumps({"ts": 1715677506.1, "uid": "P", "id": {}, "proto": "tcp"})],
    "flattened names": [json.dumps({"ts": 1715677506.5, "uid": "F", "id_orig_h": "10.0.0.3", "id_resp_h": "10.0.0.4",
                                    "id_resp_p": 443, "proto": "tcp"})],
    "record fields the reader sets": [conn(source="HTTP", host="h1", index="zeek", linecount="3", tag="x",
                                           protocol="p", src="s", app="a")],
    "spaced separators": [json.dumps(json.loads(conn())), json.dumps(json.loads(conn(service=None)))],
    "whitespace around": ["  " + conn() + "  ", "\x0c" + conn(uid="FF"), conn(uid="NB") + "\u00a0"],
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_json_cases(tmp_path, case, compress):
    path = _write(tmp_path, "conn.log" + (".gz" if compress else ""), JSON_CASES[case], compress)
    got = assert_same(path, native=case not in ())
    assert got is not None


def test_json_kinds(tmp_path):
    dns = {"ts": 1715677590.0, "uid": "D1", "id.orig_h": "10.20.2.20", "id.orig_p": 58048, "id.resp_h": "10.20.0.53",
           "id.resp_p": 53, "proto": "udp", "query": "deb.debian.org", "qtype_name": "A", "rcode_name": "NOERROR",
           "answers": ["151.101.2.130", "151.101.66.130"], "TTLs": [300.0, 60]}
    http = {"ts": 1715677591.5, "uid": "H1", "id.orig_h": "10.0.0.1", "id.orig_p": 5555, "id.resp_h": "10.0.0.2",
            "id.resp_p": 80, "method": "GET", "host": "example.com", "uri": "/a?b=1", "user_agent": "curl/8",
            "status_code": 200, "request_body_len": 0, "response_body_len": 612, "tags": []}
    ssl = {"ts": 1715677592.5, "uid": "S1", "id.orig_h": "10.0.0.1", "id.orig_p": 5556, "id.resp_h": "10.0.0.3",
           "id.resp_p": 443, "version": "TLSv13", "server_name": "example.org", "established": True}
    dhcp = {"ts": 1715677593.5, "uids": ["A", "B"], "client_addr": "10.0.0.9", "mac": "00:11", "lease_time": 86400.0}
    cases = {
        "dns.log": [json.dumps(dns), json.dumps(dict(dns, answers=["1.2.3.4"], TTLs=[5.0])),
                    json.dumps(dict(dns, answers=[], TTLs=[])), json.dumps(dict(dns, answers=["80", "x"]))],
        "http.log": [json.dumps(http), json.dumps(dict(http, host=None)), json.dumps(dict(http, uri=None)),
                     json.dumps(dict(http, host=["a", "b"]))],
        "ssl.log": [json.dumps(ssl), json.dumps(dict(ssl, server_name=None))],
        "dhcp.log": [json.dumps(dhcp), json.dumps(dict(dhcp, **{"id.orig_h": "10.0.0.9", "id.resp_h": "10.0.0.1"}))],
        "x509.log": [json.dumps({"ts": 1715677594.5, "id": "F1", "certificate": {"subject": "CN=a", "issuer": "CN=b"},
                                 "san": {"dns": ["a", "b"]}})],
        "mixed.json": [json.dumps(dict(dns, _path="dns")), json.dumps(dict(http, _path="http")),
                       json.dumps(dict(dhcp, _path="dhcp")), json.dumps(dict(ssl, _path="ssl"))],
        "conn.json": [json.dumps(dict(CONN, _path=value)) for value in
                      ("conn", True, "true", 5, "open_conn", "Conn", "conn\n", None, ["x"], "")],
        "weird.log": [json.dumps({"ts": 1715677595.5, "name": "bad_TCP_checksum", "notice": False, "peer": "zeek",
                                  "source": "TCP"})],
    }
    for name, lines in cases.items():
        path = _write(tmp_path, name, lines)
        assert assert_same(path) is not None, name


def test_json_given_sourcetype_and_host(tmp_path):
    path = _write(tmp_path, "export.json", _many(20))
    assert assert_same(path, sourcetype="bro:conn:json", host="sensor1") is not None
    assert read_frame(str(path), sourcetype="suricata")[0] is None


def test_json_crlf_bom_and_lone_cr(tmp_path):
    path = _write(tmp_path, "conn.log", _many(10), newline="\r\n")
    assert assert_same(path) is not None
    bom = tmp_path / "bom" / "conn.log"
    bom.parent.mkdir()
    bom.write_bytes(b"\xef\xbb\xbf" + "\n".join(_many(10)).encode())
    assert assert_same(bom) is not None
    lone = tmp_path / "lone" / "conn.log"
    lone.parent.mkdir()
    lone.write_bytes("\r".join(_many(10)).encode())
    assert_same(lone, native=False)


def test_empty_and_undecodable(tmp_path):
    empty = tmp_path / "conn.log"
    empty.write_bytes(b"")
    assert read_frame(str(empty))[0] is None
    bad = tmp_path / "bad" / "conn.log"
    bad.parent.mkdir()
    bad.write_bytes(conn().encode() + b"\n" + conn(uid="X").encode()[:-2] + b"\xff\xfe\"}\n")
    assert_same(bad, native=False)
    other = tmp_path / "eve.json"
    other.write_text(json.dumps({"timestamp": "2024-01-01T00:00:00Z", "event_type": "flow", "src_ip": "1.2.3.4"}) + "\n")
    assert read_frame(str(other))[0] is None
    both = tmp_path / "both" / "conn.log"  # one field under two names: the dict reader's key order decides
    both.parent.mkdir()
    both.write_text(json.dumps({"ts": 1.5, "id": {"orig_h": "a"}}) + "\n" + json.dumps({"ts": 2.5, "id_orig_h": "b"}) + "\n")
    assert_same(both, native=False)


def test_truncated_gzip(tmp_path):
    path = _write(tmp_path, "conn.log.gz", _many(400), compress=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    got = assert_same(path)
    assert got is not None


def test_blocks_and_widening(tmp_path, monkeypatch):
    """Several blocks, keys first seen after the sample, types widened later in the file."""
    monkeypatch.setattr(frames, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(frames, "SAMPLE_LINES", 5)
    lines = _many(40) + [conn(uid="L%d" % i, late=i, orig_bytes=1.5 if i % 3 else 2) for i in range(40)] + \
        [conn(uid="M%d" % i, duration=i) for i in range(40)] + ["{broken"] + _many(10)
    path = _write(tmp_path, "conn.log", lines)
    assert assert_same(path) is not None


# ---------------------------------------------------------------- TSV

HEADER = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
          "#path\t%s", "#open\t2024-05-14-00-00-00"]


def tsv(kind, fields, types, rows, footer=True):
    lines = [h if "%s" not in h else h % kind for h in HEADER]
    lines += ["#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    lines += ["\t".join(row) for row in rows]
    if footer:
        lines.append("#close\t2024-05-14-01-00-00")
    return lines


CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
               "orig_bytes", "resp_bytes", "conn_state", "tunnel_parents"]
CONN_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
              "string", "set[string]"]


def conn_row(i, **changes):
    row = {"ts": "1715677505.%06d" % i, "uid": "C%d" % i, "id.orig_h": "10.0.0.%d" % (i % 250), "id.orig_p": "5%04d" % i,
           "id.resp_h": "192.0.2.1", "id.resp_p": "443", "proto": "tcp", "service": "ssl", "duration": "1.5",
           "orig_bytes": str(i), "resp_bytes": "100", "conn_state": "SF", "tunnel_parents": "(empty)"}
    row.update(changes)
    return [row[f] for f in CONN_FIELDS]


TSV_CASES = {
    "conn": tsv("conn", CONN_FIELDS, CONN_TYPES, [conn_row(i) for i in range(200)]),
    "conn odd values": tsv("conn", CONN_FIELDS, CONN_TYPES, [
        conn_row(1, service="-"), conn_row(2, service="(empty)"), conn_row(3, tunnel_parents="a,b"),
        conn_row(4, tunnel_parents="a"), conn_row(5, tunnel_parents="-,x"), conn_row(6, tunnel_parents="-"),
        conn_row(7, ts="-"), conn_row(8, ts="2024-05-14T08:00:00Z"), conn_row(9, ts="bad"),
        conn_row(10, orig_bytes="-"), conn_row(11, orig_bytes="x"), conn_row(12, uid="\u00e9\\x09"),
        conn_row(13, service="")]),
    "damaged": tsv("conn", CONN_FIELDS, CONN_TYPES, [conn_row(1), conn_row(2)[:5], conn_row(3) + ["", ""],
                                                     conn_row(4) + ["x"], conn_row(5)]) + ["", "  "],
    "several headers": tsv("conn", CONN_FIELDS, CONN_TYPES, [conn_row(1)]) +
    tsv("conn", CONN_FIELDS[:8], CONN_TYPES[:8], [conn_row(2)[:8]]),
    "no types": [line for line in tsv("conn", CONN_FIELDS, CONN_TYPES, [conn_row(1, tunnel_parents="a,b")])
                 if not line.startswith("#types")],
    "data before fields": ["\t".join(conn_row(1))] + tsv("conn", CONN_FIELDS, CONN_TYPES, [conn_row(2)]),
}


@pytest.mark.parametrize("case", sorted(TSV_CASES))
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_tsv_cases(tmp_path, case, compress):
    lines = TSV_CASES[case]
    path = _write(tmp_path, "conn.log" + (".gz" if compress else ""), lines, compress)
    if case == "data before fields":  # starts with a data line: not Zeek TSV to the sniffer
        assert_same(path, native=False)
        return
    assert assert_same(path) is not None


def test_tsv_kinds(tmp_path):
    dns_fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query", "qtype_name",
                  "rcode_name", "answers", "TTLs"]
    dns_types = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "string", "string",
                 "vector[string]", "vector[interval]"]
    dns_rows = [["1715677590.000000", "D1", "10.0.0.1", "5353", "10.0.0.53", "53", "udp", "a.example", "A", "NOERROR",
                 "1.2.3.4,5.6.7.8", "300.000000,60.000000"],
                ["1715677591.000000", "D2", "10.0.0.1", "5354", "10.0.0.53", "53", "udp", "b.example", "TXT", "-",
                 "-", "-"]]
    dhcp_fields = ["ts", "uids", "client_addr", "mac"]
    dhcp_rows = [["1715677592.000000", "A,B", "10.0.0.9", "00:11"]]
    path = _write(tmp_path, "dns.log", tsv("dns", dns_fields, dns_types, dns_rows))
    assert assert_same(path) is not None
    path = _write(tmp_path, "dhcp.log", tsv("dhcp", dhcp_fields, ["time", "set[string]", "addr", "string"], dhcp_rows))
    assert assert_same(path) is not None


# ---------------------------------------------------------------- fuzz

_FUZZ_VALUES = [None, "", "-", "x", "12", "-3", "2.50", "true", "[1]", "{}", "a,b", "é中", "a\"b", "a\\b", "1e5",
                "10.0.0.1", 0, 7, -1, 2 ** 40, 2.0, 0.1, -0.0, 1e-07, 1.5e16, 123456.789, True, False,
                [], ["a"], ["a", "b"], ["1", "x"], [1, 2], [1.0, 2.5], [True], [None, "y"], ["-", ""],
                {"orig_h": "10.0.0.9"}, {"x": 1.0, "y": "z"}]


@pytest.mark.parametrize("seed", range(12))
def test_fuzz_json(tmp_path, seed):
    """Random records: each key draws from a few JSON shapes, so types mix within columns in
    every way Zeek-like logs (and their pipelines) mix them."""
    import random
    rng = random.Random(seed)
    keys = ["uid", "proto", "service", "orig_bytes", "resp_bytes", "duration", "history", "host", "uri",
            "answers", "TTLs", "id", "extra"]
    shapes = {key: rng.sample(_FUZZ_VALUES, rng.choice((1, 2, 3))) for key in keys}
    kind = rng.choice(["conn", "dns", "http", "ssl", "dhcp"])
    lines = []
    for i in range(rng.randrange(5, 80)):
        record = {"ts": rng.choice([1715677505.25 + i, 1715677505 + i, "1715677505.5", 1715677600.0])}
        for key in keys:
            if rng.random() < 0.7:
                record[key] = rng.choice(shapes[key])
        lines.append(json.dumps(record, separators=rng.choice([(",", ":"), (", ", ": ")])))
    path = _write(tmp_path, kind + ".log", lines)
    assert_same(path, native=False)


_TSV_VALUES = ["-", "(empty)", "", "x", "a,b", "-,x", ",", "12", "1.5", "T", "é中", "\\x09", "1715677505.5",
               "2024-05-14T08:00:00Z", "bad", "10.0.0.1"]


@pytest.mark.parametrize("seed", range(8))
def test_fuzz_tsv(tmp_path, seed):
    import random
    rng = random.Random(seed)
    kind = rng.choice(["conn", "dns", "http", "ssl", "dhcp"])
    fields = ["ts", "uid", "id.orig_h", "id.resp_h", "proto", "orig_bytes", "resp_bytes", "host", "uri",
              "answers", "tags"]
    types = ["time", "string", "addr", "addr", "enum", "count", "count", "string", "string", "vector[string]",
             "set[string]"]
    rows = []
    for i in range(rng.randrange(5, 60)):
        row = [rng.choice(["1715677505.%06d" % i, "-", "1715677505"]) if f == "ts" else rng.choice(_TSV_VALUES)
               for f in fields]
        if rng.random() < 0.05:
            row = row[:-1] if rng.random() < 0.5 else row + [rng.choice(["", "x"])]
        rows.append(row)
    lines = tsv(kind, fields, types if rng.random() < 0.7 else [], rows)
    lines = [line for line in lines if line != "#types\t"]
    path = _write(tmp_path, kind + ".log", lines)
    assert assert_same(path) is not None


def test_mixed_columns_stay_native(tmp_path, monkeypatch):
    """Numbers, booleans and strings mixed in one key (a pipeline writing "-" for a missing
    number) are settled from the raw tokens in bulk, not handed to the dict reader line by line."""
    handed = []
    real = frames._JsonLog._python_lines

    def count(self, texts, numbers):
        handed.extend(numbers)
        return real(self, texts, numbers)

    monkeypatch.setattr(frames._JsonLog, "_python_lines", count)
    lines = [conn(uid="M%d" % i, orig_bytes=[7, "-", "12", 2.5, True][i % 5], duration=[1, 2.0, 0.5][i % 3],
                  service=["dns", 53, None][i % 3]) for i in range(3000)]
    path = _write(tmp_path, "conn.log", lines)
    assert assert_same(path) is not None
    assert handed == []


def test_frames_of_files_is_read_files(tmp_path):
    """The runner's read as frames (Zeek natively, the rest by the dict readers) is the
    runner's events, newest first, when the frames are put together."""
    from c2hunt_offline.engine import Runner

    runner = Runner()
    folders = [REPO / "samples" / "x1_dns_tunnel_doh_smb_egress", REPO / "samples" / "benign_background",
               REPO / "samples" / "x10_sysmon_dns_tunnel_process"]
    extra = _write(tmp_path, "conn.log.gz", _many(50), compress=True)
    specs = [str(f) for f in folders] + [str(extra), str(extra) + ":bro:conn:json"]
    events, issues = runner.read_files(specs)
    frames_read, frame_issues = frames.frames_of_files(runner, specs, min_bytes=0)
    got = frames.events_frame(frames_read)
    expected = frame_from_rows(events)
    assert sorted(got.columns) == sorted(expected.columns)
    for name in expected.columns:
        assert python_values(got.get_column(name)) == python_values(expected.get_column(name)), name
    assert [str(i) for i in frame_issues] == [str(i) for i in issues]
    small = frames.events_frame(frames.frames_of_files(runner, specs)[0])  # small files: the dict readers
    assert small.select(sorted(small.columns)).equals(got.select(sorted(got.columns)))


def test_iso_timestamps_in_bulk(tmp_path):
    """ISO 8601 ts (Zeek's JSON::TS_ISO8601) parsed in bulk give parse_iso's float to the bit."""
    import datetime
    import random
    rng = random.Random(5)
    start = datetime.datetime(2024, 5, 14, tzinfo=datetime.timezone.utc)
    lines = []
    for i in range(2000):
        moment = start + datetime.timedelta(seconds=rng.randrange(86400 * 400), microseconds=rng.randrange(10 ** 6))
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[: rng.choice([19, 21, 23, 26])].rstrip(".") + "Z"
        lines.append(conn(ts=text, uid="I%d" % i))
    path = _write(tmp_path, "conn.log", lines)
    assert assert_same(path) is not None
