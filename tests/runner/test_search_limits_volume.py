"""The correlation searches at volume: every eventstats runs over rows that grow with groups
(channels, destinations, names), not with connections, so limits.conf's eventstats limits
(maxresultrows and max_mem_usage_mb together; past them eventstats stops adding its fields)
are not reached where a day of a big network's connections would reach them.

A day of a mid-size network is millions of conn records; here the limits are scaled down
instead (``limits.eventstats_limits``) so that 20,000 generated records (the scale
benchmark's generator: benchmarks/offline_scale.py) pass them one row per connection, as 5
million records pass the real ones. Before the beacon searches aggregated first, Periodic
Beaconing found none of the planted beacons this way (and none at 5 million records)."""
import json

import pytest

import offline_scale  # benchmarks/ (on pythonpath)
from c2hunt_offline import limits
from c2hunt_offline.engine import Runner, data_now

BEACONING = "C2Hunt - Periodic Beaconing - Rule"
# 20,000 conn + 4,000 dns records: about 23,000 rows per channel and second (4.7 MB as
# limits.py estimates them) reach what used to be the first eventstats; the largest
# eventstats input now is about 12,700 rows and 1.7 MB (channels that can be scored, one row
# per destination for the rest, one per source and DNS name)
SCALED = {"maxresultrows": 1000, "max_mem_usage_mb": 2}
# Searches whose eventstats still join per event (documented in docs/offline-runner.md
# "Search limits at volume"): the Linux/macOS program search joins Zeek conn bytes to
# endpoint connections by 5-tuple over every event. Take a search off this list when it
# aggregates first.
PER_EVENT_JOINS = {
    "C2Hunt - Network Tool, Script Or Transient Program To Monitored Port Or Beaconing - Linux And macOS - Rule",
}


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale20k")
    paths, planted = offline_scale.generate(str(folder), 20000)
    runner = Runner()
    events, issues = runner.read_table(paths)
    assert not issues
    return runner, runner.event_table(events) or events, planted


def run(runner, events, name):
    saved = next(s for s in runner.saved_searches() if s.name == name)
    return runner.run(saved.search, events, now=data_now(events))


def truncations(result):
    return [m for m in result.messages if m.startswith("eventstats: WARN")]


def test_the_scaled_limits_cut_rows_per_connection(workload):
    # the premise: one row per channel and second (Periodic Beaconing's first stats) is past
    # the scaled limits, so an eventstats there would drop fields
    runner, events, _ = workload
    saved = next(s for s in runner.saved_searches() if s.name == BEACONING)
    head = saved.search.split("| `c2hunt_beacon_series`")[0]
    assert "by src dest dest_port transport channel _time" in head
    with limits.eventstats_limits(**SCALED):
        result = runner.run(head + "| eventstats count AS rows", events, now=data_now(events))
    assert len(result.rows) > 20000
    assert truncations(result), result.messages


def test_every_planted_beacon_found_within_scaled_limits(workload):
    runner, events, planted = workload
    with limits.eventstats_limits(**SCALED):
        result = run(runner, events, BEACONING)
    assert truncations(result) == []
    found = {(row["src"], row["dest"]) for row in result.rows}
    assert {(src, dest) for src, dest, _, _ in planted} <= found
    assert len(planted) == 20


def test_same_beacons_with_and_without_scaled_limits(workload):
    runner, events, _ = workload
    plain = run(runner, events, BEACONING)
    with limits.eventstats_limits(**SCALED):
        scaled = run(runner, events, BEACONING)
    assert plain.rows == scaled.rows and plain.messages == scaled.messages == []


def test_no_search_truncates_eventstats_within_scaled_limits(workload):
    runner, events, _ = workload
    cut = {}
    with limits.eventstats_limits(**SCALED):
        for saved in runner.saved_searches():
            if saved.kind == "correlation":
                messages = truncations(runner.run(saved.search, events, now=data_now(events)))
                if messages:
                    cut[saved.name] = messages
    assert set(cut) <= PER_EVENT_JOINS, cut


def test_limits_restored():
    before = limits.MAXRESULTROWS, limits.MAX_MEM_USAGE_MB
    with pytest.raises(RuntimeError):
        with limits.eventstats_limits(10, 1):
            assert (limits.MAXRESULTROWS, limits.MAX_MEM_USAGE_MB) == (10, 1)
            raise RuntimeError
    assert (limits.MAXRESULTROWS, limits.MAX_MEM_USAGE_MB) == before == (50000, 200)


def test_a_channel_past_the_limits_is_scored_not_dropped(workload):
    # limits so low that the channel rows pass them too: the planted beacons' rows come
    # last (their sources sort after the others) and get no prevalence; they are still
    # scored and raised, without the rare-destination signal, and the search says why
    runner, events, planted = workload
    with limits.eventstats_limits(maxresultrows=100, max_mem_usage_mb=1):
        result = run(runner, events, BEACONING)
    assert truncations(result)
    found = {(row["src"], row["dest"]): row for row in result.rows}
    assert {(src, dest) for src, dest, _, _ in planted} <= set(found)
    cut = [row for row in found.values() if row.get("dest_sources") == "-"]
    assert cut and all("Beacon_Rare_Destination" not in row["signals"] for row in cut)


def _conn(src, offset, dest="203.0.113.80"):
    return {"sourcetype": "bro:conn:json", "_time": 1700000000.0 + offset, "src": src, "dest": dest,
            "src_port": str(40000 + int(offset) % 20000), "dest_port": "443", "transport": "tcp",
            "duration": "0.2", "bytes_out": "700", "bytes_in": "2100", "conn_state": "SF",
            "host": src, "index": "main"}


def test_channels_too_short_to_score_still_count_toward_prevalence():
    # one host beacons every 10 minutes; nine others reached the same server once or twice
    # (folded into one row per destination): the server is common (10 of 10 sources), so
    # the beacon is dropped as software many hosts run; without them it is raised
    runner = Runner()
    beacon = [_conn("10.0.0.1", i * 600.0 + (17 * i) % 40) for i in range(60)]
    others = [_conn("10.0.0.%d" % n, 3000.0 * n + k * 90) for n in range(2, 11) for k in range(n % 2 + 1)]
    hunted = {}
    for name, events in (("alone", beacon), ("with others", beacon + others)):
        notables, errors = runner.hunt(events, names=[BEACONING])
        assert not errors
        hunted[name] = [(n.fields["src"], n.fields["dest"]) for n in notables]
    assert hunted["alone"] == [("10.0.0.1", "203.0.113.80")]
    assert hunted["with others"] == []


TLS = "C2Hunt - Suspicious TLS Or Long Connection - Rule"
CS_SUBJECT = "CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth"


def _write_json(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_tls_sessions_are_grouped_before_the_certificate_join(tmp_path):
    # a day of browsing: 40 hosts, 100 sessions each to five sites with a public CA's
    # certificate, and one host whose first sessions (the oldest, so the last rows) reached
    # a server with Cobalt Strike's default certificate. The x509 join and the rare-destination
    # count run over sessions grouped by what the search judges (src, dest, SNI, JA3s,
    # certificate ...), not over the 4,000 sessions, so the certificate is still found
    t0 = 1700000000.0
    sessions = [{"ts": t0 + 3600 + 20 * k + n * 0.1, "uid": "C%d-%d" % (n, k), "id.orig_h": "10.1.2.%d" % (n + 10),
                 "id.orig_p": 40000 + k, "id.resp_h": "203.0.113.%d" % (k % 5 + 1), "id.resp_p": 443,
                 "server_name": "site%d.example.com" % (k % 5), "established": True, "cert_chain_fps": ["le%d" % (k % 5)]}
                for n in range(40) for k in range(100)]
    sessions += [{"ts": t0 + 60 * k, "uid": "CS%d" % k, "id.orig_h": "10.1.2.99", "id.orig_p": 50000 + k,
                  "id.resp_h": "198.51.100.7", "id.resp_p": 443, "established": True, "cert_chain_fps": ["cs"]}
                 for k in range(10)]
    certificates = [{"ts": t0, "fingerprint": "le%d" % i, "certificate.subject": "CN=site%d.example.com" % i,
                     "certificate.issuer": "CN=R3,O=Let's Encrypt,C=US", "certificate.not_valid_after": 1900000000.0}
                    for i in range(5)]
    certificates.append({"ts": t0, "fingerprint": "cs", "certificate.subject": CS_SUBJECT,
                         "certificate.issuer": CS_SUBJECT, "certificate.not_valid_after": 1900000000.0})
    files = [_write_json(tmp_path / "ssl.json", sessions) + ":bro:ssl:json",
             _write_json(tmp_path / "x509.json", certificates) + ":bro:x509:json"]
    runner = Runner()
    events, issues = runner.read_table(files)
    assert not issues
    events = runner.event_table(events) or events
    with limits.eventstats_limits(**SCALED):
        result = run(runner, events, TLS)
    assert truncations(result) == []
    (row,) = [row for row in result.rows if row["src"] == "10.1.2.99"]
    assert row["detection_signal"] == "TLS_C2_Framework_Certificate" and int(float(row["count"])) == 10
