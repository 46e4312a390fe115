"""The whole-table path's first segment projected to the fields the rest of the pipeline reads
(``columnar.engine.projection``, the analysis of ``columnar/prune.py``): the same rows, in the
same field order, and the same messages as with every column, including where an ``eventstats``
may stop adding fields past limits.conf's cut-off (its rows then stay whole)."""
import json
from pathlib import Path

import pytest

from c2hunt_offline import limits
from c2hunt_offline.columnar import engine as columnar_engine
from c2hunt_offline.columnar import search as columnar_search
from c2hunt_offline.conf import split_pipeline
from c2hunt_offline.engine import Runner

ROOT = Path(__file__).resolve().parents[2]


def _logs(tmp_path, n):
    conn = [json.dumps({"ts": 1715677505.0 + (i * 7) % 23, "uid": "C%05d" % i, "id.orig_h": "10.0.0.%d" % (i % 3),
                        "id.resp_h": "10.9.0.%d" % (i % 5), "id.resp_p": 80 + i % 2, "proto": "tcp",
                        "orig_bytes": i * 10, "history": "ShADadFf" * (1 + i % 4)})
            for i in range(n)]
    dns = [json.dumps({"ts": 1715677501.0 + i % 11, "uid": "D%05d" % i, "id.orig_h": "10.0.0.%d" % (i % 4),
                       "id.resp_h": "10.0.0.53", "id.resp_p": 53, "proto": "udp", "query": "h%d.example.com" % (i % 6),
                       "qtype_name": "A", "answers": ["192.0.2.%d" % (i % 3), "192.0.2.9"] if i % 2 else None})
           for i in range(n // 2)]
    (tmp_path / "conn.log").write_text("\n".join(conn) + "\n")
    (tmp_path / "dns.log").write_text("\n".join(dns) + "\n")
    return [str(tmp_path / "conn.log"), str(tmp_path / "dns.log")]


SEARCHES = [
    # conn and dns partitions, a lookup and a table: projected
    "sourcetype=bro:conn:json OR sourcetype=bro:dns:json | eval w=len(uid) | where w>0 "
    "| lookup c2hunt_internal_networks cidr AS src OUTPUT network_name AS src_network | table _time src src_network w",
    # stats at the end, a fields list on the way (_raw kept past it)
    "sourcetype=bro:* | fields _time id.orig_h id.resp_h orig_bytes query | dedup id.orig_h id.resp_h "
    "| sort 0 - orig_bytes",
    "sourcetype=bro:* | eval q=coalesce(query, \"-\") | stats count values(q) AS q by id.orig_h",
    # rex reads _raw; fields - _raw before anything sizes the rows
    "sourcetype=bro:conn:json | rex \"\\\"proto\\\":\\\"(?<p>\\w+)\" | fields - _raw | table _time p uid",
    # eventstats before the reset: projected only while the rows are within its row limit
    "sourcetype=bro:conn:json | eval w=len(uid) | eventstats sum(orig_bytes) AS total count AS n by id.orig_h "
    "| where n>0 | table _time id.orig_h total n w",
    "sourcetype=bro:* | eventstats count AS n by id.resp_h | fields - _raw "
    "| eventstats sum(orig_bytes) AS total by id.orig_h | table _time id.orig_h id.resp_h n total",
    # a streaming command reads its input_fields; every other field passes through as text
    "sourcetype=bro:* | eval out=orig_bytes, in=len(uid) | c2asym out=out in=in threshold=0.5 min_bytes=1 "
    "| stats count values(asym_ratio) AS r by id.orig_h asym_flag",
    "sourcetype=bro:* | c2entropy field=query mode=dns | eval x=query_entropy | table _time query x uid",
    # not projected: no reset, a wildcard
    "sourcetype=bro:conn:json | eval w=len(uid)",
    "sourcetype=bro:conn:json | eventstats count by id.orig_h | table id* count",
]


def _run(runner, table, search, monkeypatch, prune):
    monkeypatch.setenv("C2HUNT_STREAM_PRUNE", "1" if prune else "0")
    result = runner.run(search, table)
    return [list(row.items()) for row in result.rows], result.columns, result.messages


@pytest.mark.parametrize("search", SEARCHES)
@pytest.mark.parametrize("budget", [None, 4000, 9000])
def test_projected_first_segment_is_the_whole_frames(tmp_path, monkeypatch, search, budget):
    if budget is not None:  # limits made tiny so that a few dozen rows pass the cut-off
        monkeypatch.setattr(limits, "MAXRESULTROWS", 5)
        monkeypatch.setattr(limits, "MAX_MEM_USAGE_MB", budget / (1024 * 1024))
    runner = Runner(str(ROOT))
    table = runner.read_table(_logs(tmp_path, 40))[0]
    want = _run(runner, table, search, monkeypatch, False)
    got = _run(runner, table, search, monkeypatch, True)
    assert got == want and want[0]


def test_projection_drops_unread_columns(tmp_path, monkeypatch):
    """The first segment's frame holds only what the rest names (not ``history``), unless an
    eventstats past its row limit may size every field."""
    widths = []
    real = columnar_search.first_segment

    def spy(*args, **kwargs):
        frame = real(*args, **kwargs)
        widths.append(frame.columns)
        return frame

    monkeypatch.setattr(columnar_engine, "first_segment", spy)
    runner = Runner(str(ROOT))
    table = runner.read_table(_logs(tmp_path, 40))[0]
    runner.run(SEARCHES[0], table)
    assert "history" not in widths[-1] and {"_time", "uid", "src"} <= set(widths[-1])
    runner.run(SEARCHES[4], table)
    assert "history" not in widths[-1]
    monkeypatch.setattr(limits, "MAXRESULTROWS", 5)
    runner.run(SEARCHES[4], table)
    assert "history" in widths[-1]
    runner.run(SEARCHES[8], table)
    assert "history" in widths[-1]
    runner.run(SEARCHES[6], table)
    assert "history" not in widths[-1]


def test_projection_analysis():
    runner = Runner(str(ROOT))

    def seen(search):
        return columnar_engine.projection(runner, split_pipeline(search))

    assert seen("x | eval a=1").fields is None
    found = seen("x | eval a=b | stats count by a")
    assert {"a", "b", "_time"} <= found.fields and not found.sized and not found.streaming
    assert seen("x | eventstats count AS n by a | table a n").sized
    assert not seen("x | stats count by a | eventstats sum(count) AS t").sized  # past the reset: only what it kept
    # a streaming command reads its input_fields, defaults included (c2asym: bytes_out, bytes_in)
    found = seen("x | c2asym threshold=0.5 | stats count by asym_flag")
    assert {"bytes_out", "bytes_in", "asym_flag"} <= found.fields and found.streaming == {1}
    found = seen("x | eval q=lower(query) | c2entropy field=q mode=dns | table q query_entropy")
    assert "q" in found.fields and found.streaming == {2}
    assert seen("x | c2asym threshold=7 | stats count by asym_flag").fields is None  # rejected: the run says why
    assert seen("x | c2beacon series=s src dest | table src").fields is None  # a reporting command


def test_streaming_command_on_rows_without_fields_runs_whole(tmp_path, monkeypatch):
    """Rows holding none of the fields read would be lost by the command (a chunk without
    fields is not sent): the search runs again on the whole frame, its messages said once."""
    search = ("sourcetype=bro:conn:json | eval z=if(len(uid)>100, 1, null()), _time=null() | fields - uid "
              "| c2asym out=z in=z min_bytes=1 | stats count")
    runner = Runner(str(ROOT))
    table = runner.read_table(_logs(tmp_path, 40))[0]
    want = _run(runner, table, search, monkeypatch, False)
    calls = []
    real = columnar_engine._execute
    monkeypatch.setattr(columnar_engine, "_execute", lambda *a, **k: calls.append(k["project"]) or real(*a, **k))
    got = _run(runner, table, search, monkeypatch, True)
    assert got == want and calls == [True, False] and want[0] == [[("count", 40)]]
