"""Streaming readers: Zeek TSV and JSON lines, plain and gzip, read a chunk at a time give the
same events as the file read whole, whatever the chunk boundaries cut."""
import gzip
import io
import json

import pytest

from c2hunt_offline.readers import detect_and_read, dispatch

TSV = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
       "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\torig_bytes\n"
       "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\n")


def _tsv(n):
    rows = ["%.6f\tC%05d\t10.0.0.%d\t%d\t203.0.113.%d\t443\ttcp\tssl\t%d\n" % (
        1715644800 + i, i, i % 250 + 1, 40000 + i, i % 200 + 1, i * 7) for i in range(n)]
    return TSV + "".join(rows) + "#close\t2024-05-14-00-00-00\n"


def _json(n):
    return "".join(json.dumps({"ts": 1715644800 + i, "uid": "C%05d" % i, "id.orig_h": "10.0.0.%d" % (i % 250 + 1),
                               "id.orig_p": 40000 + i, "id.resp_h": "203.0.113.9", "id.resp_p": 443,
                               "proto": "tcp", "query": "caf\u00e9-%d" % i}) + ("\r\n" if i % 3 else "\n")
                   for i in range(n))


def _gzip_members(text, parts=3):
    data = text.encode()
    step = len(data) // parts + 1
    return b"".join(gzip.compress(data[k:k + step]) for k in range(0, len(data), step))


def _comparable(events):
    return [{k: v for k, v in ev.items() if k != "source"} for ev in events]


@pytest.mark.parametrize("kind", ["tsv", "json"])
@pytest.mark.parametrize("compressed", [False, True])
def test_small_chunks_give_the_events_of_one_read(tmp_path, monkeypatch, kind, compressed):
    text = _tsv(300) if kind == "tsv" else _json(300)
    path = tmp_path / ("conn.log.gz" if compressed else "conn.log")
    path.write_bytes(_gzip_members(text) if compressed else ("\ufeff" + text).encode())
    whole_events, whole_issues = detect_and_read(path)
    assert len(whole_events) == 300 and not whole_issues
    # 7-byte reads cut every line, every multi-byte character, CRLF pairs and gzip members
    monkeypatch.setattr(dispatch, "READ_CHUNK", 7)
    monkeypatch.setattr(dispatch, "SNIFF_BYTES", 16)
    events, issues = detect_and_read(path)
    assert not issues
    assert _comparable(events) == _comparable(whole_events)
    if kind == "json":
        assert events[5]["query"] == "caf\u00e9-5"
        assert "\r" not in events[1]["_raw"]


def test_zeek_and_json_lines_never_go_through_the_whole_text(tmp_path, monkeypatch):
    def whole(*_args):
        raise AssertionError("read whole")
    monkeypatch.setattr(dispatch, "_read_text", whole)
    for name, text in (("conn.log", _tsv(5)), ("conn.json", _json(5))):
        path = tmp_path / name
        path.write_text(text)
        events, issues = detect_and_read(path)
        assert len(events) == 5 and not issues


def test_other_formats_still_read_whole(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text('type=SYSCALL msg=audit(1715644800.123:42): arch=c000003e syscall=42 success=yes '
                    'exit=0 pid=1234 comm="curl" exe="/usr/bin/curl"\n')
    events, _ = detect_and_read(path)
    assert len(events) == 1


def test_truncated_gzip_keeps_what_it_held_and_says_so(tmp_path, monkeypatch):
    data = gzip.compress(_json(200).encode())
    path = tmp_path / "conn.log.gz"
    path.write_bytes(data[:len(data) * 2 // 3])
    monkeypatch.setattr(dispatch, "READ_CHUNK", 64)
    events, issues = detect_and_read(path)
    assert 0 < len(events) < 200
    assert "truncated" in issues[0].message
    # the line cut by the truncation is reported, the events before it kept
    assert any("invalid JSON" in issue.message for issue in issues[1:])


def test_damaged_gzip_keeps_the_text_before_the_damage(tmp_path, monkeypatch):
    data = bytearray(gzip.compress(_json(2000).encode()))
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
    path = tmp_path / "conn.log.gz"
    path.write_bytes(bytes(data))
    monkeypatch.setattr(dispatch, "READ_CHUNK", 4096)
    events, issues = detect_and_read(path)
    assert 0 < len(events) < 2000
    assert any("damaged gzip" in issue.message for issue in issues)


def test_gunzip_of_bytes_is_unchanged():
    text = _json(50).encode()
    assert dispatch.gunzip(_gzip_members(_json(50))) == (text, None)
    out, problem = dispatch.gunzip(gzip.compress(text)[:-20])
    assert problem and text.startswith(out[:100])


def test_compressed_evtx_is_refused(tmp_path):
    path = tmp_path / "Security.evtx.gz"
    path.write_bytes(gzip.compress(b"ElfFile\x00" + b"\x00" * 200))
    events, issues = detect_and_read(path)
    assert not events and "decompress it first" in issues[-1].message


def test_text_lines_splits_universal_newlines():
    chunks = [b"a\r", b"\nb\rc", b"\n\xc3", b"\xa9\n"]
    assert list(dispatch.text_lines(iter(chunks))) == ["a\n", "b\n", "c\n", "\u00e9\n"]
    assert list(dispatch.text_lines(io.BytesIO(b"").read(0) for _ in range(0))) == []
