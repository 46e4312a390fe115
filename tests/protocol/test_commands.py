"""Each command as splunkd runs it (SCP v2 subprocess) on CPython 3.9, 3.11 and 3.13."""
import random

import pytest

from c2hunt_offline.scp_driver import CommandError


def test_c2entropy_text_dns_and_decode(run_app):
    result = run_app("c2entropy", ["field=q", "mode=dns"],
                     [{"q": "a1b2c3d4e5.evil.co.uk", "k": "x,y"}, {"q": "example.com"}, {}])
    first, second, third = result.records
    assert first["k"] == "x,y" and first["q_registered_domain"] == "evil.co.uk"
    assert first["q_entropy"] == "3.3219" and first["q_entropy_norm"] == "1"
    assert (second["q_labels"], second["q_length"]) == ("0", "0")
    assert "q_entropy" not in second            # nothing left of the domain to score
    assert third == {}                          # no field, no outputs, record kept
    decoded = run_app("c2entropy", ["field=p", "decode=hex"], [{"p": "00ff00ff"}, {"p": "zz"}])
    assert decoded.records[0]["p_entropy"] == "1"
    assert "p_entropy" not in decoded.records[1]
    assert decoded.messages == [("WARN", "c2entropy: 1 values of p are not valid hex; "
                                         "their outputs are empty")]


def test_c2asym_values_and_bad_input(run_app):
    result = run_app("c2asym", ["threshold=0.8", "min_bytes=100"],
                     [{"bytes_out": "950", "bytes_in": "50"}, {"bytes_out": "abc", "bytes_in": "1"},
                      {"bytes_out": "1"}])
    assert result.records[0] == {"bytes_out": "950", "bytes_in": "50", "pcr": "0.9",
                                 "outbound_share": "0.95", "total_bytes": "1000", "asym_flag": "1"}
    assert set(result.records[1]) == {"bytes_out", "bytes_in"}
    assert set(result.records[2]) == {"bytes_out"}
    assert len(result.messages) == 1 and result.messages[0][0] == "WARN"


@pytest.mark.parametrize("command, args, text", [
    ("c2asym", ["threshold=1.5"], "threshold=1.5: expected a number from 0 to 1"),
    ("c2asym", ["nope=1"], "unknown option nope=1"),
    ("c2entropy", [], "name at least one field"),
    ("c2entropy", ["field=q", "mode=dns", "decode=hex"], "decode applies to mode=text only"),
    ("c2beacon", ["min_count=2", "src"], "min_count=2: expected a whole number from 3"),
    ("c2beacon", ["evidence_span=0", "src"], "evidence_span=0: expected a number from 1"),
    ("c2beacon", ["window=abc", "src"], "window=abc: expected a number"),
])
def test_bad_options_are_clear_errors_not_tracebacks(run_app, command, args, text):
    with pytest.raises(CommandError) as raised:
        run_app(command, args, [{"src": "a"}])
    result = raised.value.result
    assert result.returncode == 1 and "Traceback" not in result.errors[0]
    assert text in result.errors[0] and result.getinfo["inspector"]["messages"][0][0] == "ERROR"


def beacon_events(seed=5):
    rng = random.Random(seed)
    events = []
    for i in range(300):   # 60 s beacon, 30% jitter, some missed beats
        if rng.random() > 0.15:
            events.append({"_time": "%.3f" % (1e9 + 60 * i + rng.uniform(-18, 18)),
                           "src": "10.0.0.5", "dest": "203.0.113.9", "bytes_out": "512"})
    t = 1e9
    for _ in range(300):   # Poisson background
        t += rng.expovariate(1 / 60.0)
        events.append({"_time": "%.3f" % t, "src": "10.0.0.7", "dest": "198.51.100.1",
                       "bytes_out": str(rng.randint(100, 90000))})
    rng.shuffle(events)
    return events


def test_c2beacon_multi_chunk_equals_single_chunk(run_app):
    events = beacon_events()
    single = run_app("c2beacon", ["src", "dest"], events)
    chunked = run_app("c2beacon", ["src", "dest"], events, chunk_size=41)
    assert single.records == chunked.records
    assert single.getinfo == {"required_fields": ["src", "dest", "_time", "bytes_out",
                                                  "duration"],
                              "type": "reporting"}
    beacon, noise = single.records
    assert float(beacon["beacon_score"]) > 0.7 > float(noise["beacon_score"])
    assert 55 < float(beacon["beacon_period"]) < 65


def test_c2beacon_series_matches_raw_events(run_app):
    events = [e for e in beacon_events() if e["src"] == "10.0.0.5"]
    series = [{"src": "10.0.0.5", "series": ["%s:1:512" % e["_time"] for e in events[:100]]},
              {"src": "10.0.0.5", "series": ["%s:1:512" % e["_time"] for e in events[100:]]}]
    raw = run_app("c2beacon", ["src"], events).records
    aggregated = run_app("c2beacon", ["series=series", "src"], series, chunk_size=1).records
    assert raw == aggregated


def test_c2beacon_series_durations_match_raw_events(run_app):
    events = [dict(e, duration="%.2f" % (0.5 + (i % 3) * 0.1))
              for i, e in enumerate(e for e in beacon_events() if e["src"] == "10.0.0.5")]
    # a token's bytes and duration are the totals of its connections: two per token here
    pairs = [events[i:i + 2] for i in range(0, len(events) - 1, 2)]
    for first, second in pairs:
        second["_time"] = first["_time"]
    tokens = ["%s:2:%d:%.2f" % (a["_time"], int(a["bytes_out"]) + int(b["bytes_out"]),
                                float(a["duration"]) + float(b["duration"])) for a, b in pairs]
    raw = run_app("c2beacon", ["src", "window=86400"],
                  [e for pair in pairs for e in pair]).records
    aggregated = run_app("c2beacon", ["series=series", "src", "window=86400"],
                         [{"src": "10.0.0.5", "series": tokens}]).records
    assert raw == aggregated
    row = raw[0]
    assert float(row["beacon_duration"]) == pytest.approx(0.6, abs=0.051)
    assert float(row["beacon_duration_score"]) == 1.0
    # a day's window: the 4.5 h of check-ins cover 4.5/12 of the coverage span
    assert float(row["beacon_coverage"]) == pytest.approx(
        (float(row["beacon_span"])) / (12 * 3600), abs=1e-4)
    assert int(row["beacon_checkins"]) == len(pairs) and row["beacon_required_count"] == "6"


def test_c2beacon_evidence_span_option_sets_the_required_count(run_app):
    events = [e for e in beacon_events() if e["src"] == "10.0.0.5"]
    strict = run_app("c2beacon", ["src", "evidence_span=36000"], events).records[0]
    # ten hours of a 60 s beacon (window: its own ~5 h, half of it is the evidence span)
    assert int(strict["beacon_required_count"]) > 100 and strict.get("beacon_score")
    stricter = run_app("c2beacon", ["src", "evidence_span=36000", "window=86400"],
                       events).records[0]
    assert int(stricter["beacon_required_count"]) > 500 and not stricter.get("beacon_score")


def test_c2beacon_max_events_stops_with_clear_error(run_app):
    with pytest.raises(CommandError) as raised:
        run_app("c2beacon", ["src", "max_events=50"], beacon_events(), chunk_size=40)
    result = raised.value.result
    assert result.returncode == 1 and result.replies[-1]["finished"] is True
    assert "more than max_events=50" in result.errors[0]


def test_large_multi_chunk_pass_through(run_app):
    records = [{"q": "v%05d.example.com" % i, "n": str(i), "mv": ["a", "b,%d" % i]}
               for i in range(60000)]
    result = run_app("c2entropy", ["field=q"], records, chunk_size=25000)
    assert len(result.records) == 60000 and len(result.replies) == 3
    assert result.records[59999]["mv"] == ["a", "b,59999"]
    assert result.records[7]["q_length"] == "18"   # len("v00007.example.com")
