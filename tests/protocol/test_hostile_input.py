"""Bad input a search can hand the commands (issue 20, items 1-3 and 6), as splunkd runs
them on every Splunk Python: odd field names, NUL bytes, carriage returns, invalid UTF-8,
and protocol violations. Records come back unchanged and counted; a violation is a
one-line message that names it, never an internal exception."""
import csv
import io
import json

import pytest

from c2hunt_offline import scp_driver

STREAMING = [("c2entropy", ["field=q"]), ("c2asym", [])]


def session(app_dir, python, command, args, chunks, raw=False):
    """getinfo with ``args`` then each execute body of ``chunks`` (bytes; or whole raw
    protocol bytes when ``raw``); returns (getinfo reply, [(reply, body)], returncode)."""
    process = scp_driver.start(app_dir / "bin" / (command + ".py"), python)
    getinfo = scp_driver.encode_chunk(scp_driver.getinfo_metadata(args, "/tmp", command))
    if raw:
        out, err = process.communicate(getinfo + b"".join(chunks), timeout=120)
        stream = io.BytesIO(out)
        info = scp_driver.read_chunk(stream)[0]
        replies = []
        while True:
            reply = scp_driver.read_chunk(stream)
            if reply is None:
                break
            replies.append(reply)
        return info, replies, process.returncode, err
    data = [scp_driver.encode_chunk({"action": "execute", "finished": i == len(chunks) - 1}, body)
            for i, body in enumerate(chunks)]
    info, replies = scp_driver.exchange(process, getinfo, data)
    err = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    return info, replies, process.wait(timeout=120), err


def cells(body):
    """Header and rows of a CSV body, each value as the exact bytes it stands for."""
    text = body.decode("utf-8", "surrogateescape")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    encode = [[cell.encode("utf-8", "surrogateescape") for cell in row] for row in rows]
    return encode[0], encode[1:]


def assert_passthrough(body_in, body_out):
    """Every input record is in the output, in order, every input value byte for byte."""
    header_in, rows_in = cells(body_in)
    header_out, rows_out = cells(body_out)
    assert len(rows_out) == len(rows_in)
    at = [header_out.index(name) for name in header_in]
    for row_in, row_out in zip(rows_in, rows_out):
        assert [row_out[i] for i in at] == row_in


def messages(info, replies):
    found = []
    for metadata in [info] + [meta for meta, _ in replies]:
        found += (metadata.get("inspector") or {}).get("messages") or []
    return found


# -- item 1: a % in a field name -----------------------------------------------------------

@pytest.mark.parametrize("command, args, body", [
    ("c2asym", ["out=%_Processor_Time", "in=b%s"],
     b"%_Processor_Time,b%s,__mv_%_Processor_Time,__mv_b%s\nabc,1,,\n"),
    ("c2entropy", ["field=%d_x", "decode=hex"], b"%d_x,__mv_%d_x\nzz,\n"),
    ("c2beacon", ["time=%_t", "%s_src"], b"%_t,%s_src,__mv_%_t,__mv_%s_src\nx,a,,\n,b,,\n"),
])
def test_percent_in_field_names_is_reported_not_a_crash(app_dir, splunk_python, command, args,
                                                        body):
    info, replies, returncode, _ = session(app_dir, splunk_python, command, args, [body])
    texts = [text for _, text in messages(info, replies)]
    assert returncode == 0, texts
    assert not any("TypeError" in text or "format" in text for text in texts)
    assert any(args[0].split("=")[1] in text for text in texts)   # the name, as it is


# -- items 2 and 3: NUL, CR and invalid UTF-8 ------------------------------------------------

HOSTILE_BODIES = [
    # NUL in a value and a CR in another record (Python 3.9's csv module refuses NULs)
    b'q,k,__mv_q,__mv_k\nab\x00c,"x\ry",,\nplain,z,,\n',
    # invalid UTF-8 in an untouched field of a chunk that also holds a CR
    b'q,k,__mv_q,__mv_k\nabc,"\xff\xfe\xc3",,\n"li\r\nne",k2,,\n',
    # a bare CR as a record separator: only the csv module reads this; bytes still kept
    b'q,k,__mv_q,__mv_k\r\nabc,\xff\x00,,\r\nd,e,,\r\n',
    # an output field already present (re-encoded records), invalid UTF-8 and a NUL
    b'q,k,q_entropy,pcr,__mv_q,__mv_k,__mv_q_entropy,__mv_pcr\nab,\xc3\x28\x00,9,9,,,,\n',
]


@pytest.mark.parametrize("command, args", STREAMING)
@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_bytes_pass_through_exactly(app_dir, splunk_python, command, args, body):
    info, replies, returncode, err = session(app_dir, splunk_python, command, args, [body])
    assert returncode == 0 and not any(level == "ERROR" for level, _ in messages(info, replies)), \
        (messages(info, replies), err[-500:])
    (_, out), = replies
    header_in, _ = cells(body)
    header_out, rows_out = cells(bytes(out))
    untouched = [name for name in header_in if name in (b"q", b"k", b"__mv_q", b"__mv_k")]
    _, rows_in = cells(body)
    keep_in = [header_in.index(name) for name in untouched]
    keep_out = [header_out.index(name) for name in untouched]
    assert [[row[i] for i in keep_out] for row in rows_out] == \
        [[row[i] for i in keep_in] for row in rows_in]


def test_fast_path_keeps_record_bytes_with_quoted_carriage_returns(app_dir, splunk_python):
    body = b'q,k,__mv_q,__mv_k\nabc,"\xff\r\n\x00",,\nd,e,,\n'
    _, replies, returncode, _ = session(app_dir, splunk_python, "c2entropy", ["field=q"], [body])
    out = bytes(replies[0][1])
    assert returncode == 0
    assert out.split(b"\n", 1)[1].startswith(b'abc,"\xff\r\n\x00",,,')  # untouched, in place


# -- item 6: protocol violations ---------------------------------------------------------------

GETINFO_ARGS = ["field=q"]


@pytest.mark.parametrize("stream, text", [
    (b"chunked 1.0,20,99999999999\n" + b'{"action":"execute"}', "above the limits"),
    (b"chunked 1.0,2,3000000000\n{}", "above the limits"),
    (b"chunked 1.0,2,10\n[]" + b"0123456789", "JSON list, not an object"),
    (b"chunked 1.0,5,0\n{oops", "metadata is not JSON"),
    (b"chunked 1.0,20,100\n" + b'{"action":"execute"}' + b"q\nabc\n", "input ended inside"),
    (b"hello there\n", "expected a 'chunked 1.0"),
    (b"chunked 1.0,20,0\n" + b'{"action":"getinfo"}', "expected the execute action"),
])
def test_protocol_violations_are_named(app_dir, splunk_python, stream, text):
    info, replies, returncode, err = session(app_dir, splunk_python, "c2entropy", GETINFO_ARGS,
                                             [stream], raw=True)
    assert returncode == 1
    (level, message), = messages(info, replies)
    assert level == "ERROR" and text in message and message.startswith("c2entropy: protocol error")
    assert "\n" not in message and " at \"" not in message  # one line, not an internal exception


@pytest.mark.parametrize("first", [b"chunked 1.0,2,0\n[]", b"chunked 1.0,4,0\nnull",
                                   b'chunked 1.0,33,0\n{"action":"getinfo","searchinfo":7}'])
def test_bad_getinfo_metadata_is_named(app_dir, splunk_python, first):
    process = scp_driver.start(app_dir / "bin" / "c2asym.py", splunk_python)
    out, _ = process.communicate(first, timeout=120)
    metadata, _ = scp_driver.read_chunk(io.BytesIO(out))
    (level, message), = metadata["inspector"]["messages"]
    assert process.returncode == 1 and level == "ERROR"
    assert message.startswith("c2asym: protocol error") and "attribute" not in message


def test_unicode_json_metadata(app_dir, splunk_python):
    # metadata bytes that are not UTF-8: named, not a UnicodeDecodeError at a line number
    info, replies, returncode, _ = session(app_dir, splunk_python, "c2asym", [],
                                           [b"chunked 1.0,3,0\n\xff\xfe{"], raw=True)
    assert returncode == 1 and "metadata is not JSON" in messages(info, replies)[0][1]
    assert json.dumps(messages(info, replies))  # plain text


# -- item 4: c2beacon series tokens and times ------------------------------------------------

def _beacon_series(extra=()):
    tokens = ["%d:1:512" % (1700000000 + 60 * i) for i in range(30)]
    return [{"src": "a", "series": tokens + list(extra)}]


@pytest.mark.parametrize("token", ["1700000000:1e308", "1700000000:1e300", "1700000000:0.5",
                                   "1700000000:-3", "1e300:1", "-5:1", "1700000000:2:-1",
                                   "1700000000:1:1e300", "nan:1", "1700000000:inf"])
def test_c2beacon_bad_series_tokens_are_counted_and_excluded(run_app, token):
    clean = run_app("c2beacon", ["series=series", "src"], _beacon_series()).records
    result = run_app("c2beacon", ["series=series", "src"], _beacon_series([token]))
    assert result.records == clean                  # excluded: the score does not change
    assert result.records[0]["beacon_count"] == "30"
    assert [level for level, text in result.messages if "1 values of series" in text] == ["WARN"]


def test_c2beacon_out_of_range_time_is_counted_and_excluded(run_app):
    events = [{"_time": str(1700000000 + 60 * i), "src": "a"} for i in range(30)]
    clean = run_app("c2beacon", ["src"], events).records
    result = run_app("c2beacon", ["src"], events + [{"_time": "1e300", "src": "a"}])
    assert result.records == clean
    assert any("1 values of _time were outside the epoch range" in text
               for _, text in result.messages)


def test_c2beacon_series_field_absent_is_reported(run_app):
    result = run_app("c2beacon", ["series=seriez", "src"], _beacon_series())
    assert result.records[0]["beacon_count"] == "0"
    assert any("no grouped event had a value of seriez" in text for _, text in result.messages)
