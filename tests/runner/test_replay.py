"""Time ranges and the scheduler replay: what Splunk's scheduler and ES would raise.

The searches here are the runner's own small app; the app's real searches are replayed over
the scenario samples at the end (every attack still raises a notable).
"""
import collections
import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from c2hunt_offline import Runner, SplError
from c2hunt_offline.replay import replay, suppress_period
from c2hunt_offline.timespec import Cron, parse_instant, resolve

ROOT = Path(__file__).resolve().parents[2]

T0 = parse_instant("2024-05-14T08:00:00Z")

RULE = """\
search = sourcetype=net dest_port=4444 | stats min(_time) AS _time count by src \\
| eval detection_signal="Port_4444", risk_score=70
action.correlationsearch.enabled = 1
action.notable = 1
action.risk = 1
action.risk.param._risk = [{"risk_object_field": "src", "risk_object_type": "system", "risk_score": 70}]
cron_schedule = */15 * * * *
dispatch.earliest_time = -70m@m
dispatch.latest_time = -5m@m
"""


@pytest.fixture
def app(tmp_path):
    default = tmp_path / "default"
    default.mkdir()
    (default / "savedsearches.conf").write_text(textwrap.dedent("""\
        [Overlapping - Rule]
        {rule}
        [Throttled - Rule]
        {rule}alert.suppress = 1
        alert.suppress.fields = src
        alert.suppress.period = 86400s
        """).format(rule=RULE))
    return Runner(str(tmp_path))


def beacon(minutes=60, every=5, src="10.0.0.5"):
    """One connection to port 4444 every ``every`` minutes from T0 on."""
    return [{"_time": T0 + m * 60, "sourcetype": "net", "src": src, "dest_port": "4444",
             "index": "main"} for m in range(0, minutes, every)]


def iso(epoch):
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%H:%M")


@pytest.mark.parametrize("modifier, expected", [
    ("-70m@m", "2024-05-14T09:27:00"), ("-5m@m", "2024-05-14T10:32:00"),
    ("-24h@h", "2024-05-13T10:00:00"), ("@h", "2024-05-14T10:00:00"),
    ("-1d@d", "2024-05-13T00:00:00"), ("@w0", "2024-05-12T00:00:00"),
    ("-1mon@mon", "2024-04-01T00:00:00"), ("now", "2024-05-14T10:37:12"),
    ("0", "1970-01-01T00:00:00"), ("+1h@h-5m", "2024-05-14T10:55:00"),
])
def test_time_modifiers(modifier, expected):
    now = parse_instant("2024-05-14T10:37:12Z")
    got = dt.datetime.fromtimestamp(resolve(modifier, now), dt.timezone.utc)
    assert got.strftime("%Y-%m-%dT%H:%M:%S") == expected


def test_bad_time_modifier_is_refused():
    with pytest.raises(SplError):
        resolve("-70x", T0)


def test_cron_schedules():
    assert [iso(t) for t in Cron("*/15 * * * *").times(T0 + 60, T0 + 3600)] == \
        ["08:15", "08:30", "08:45"]
    assert [iso(t) for t in Cron("0 * * * *").times(T0, T0 + 3 * 3600)] == ["08:00", "09:00", "10:00"]
    assert len(Cron("30 2 * * *").times(T0, T0 + 7 * 86400)) == 7
    assert [iso(t) for t in Cron("5,10-12 8 * * *").times(T0, T0 + 3600)] == \
        ["08:05", "08:10", "08:11", "08:12"]
    with pytest.raises(SplError):
        Cron("*/15 * * *")


def test_suppress_period_units():
    assert suppress_period("86400s") == suppress_period("1d") == suppress_period("24h") == 86400
    assert suppress_period("60") == 60


def test_inline_earliest_latest_and_index(app):
    events = beacon(60)
    run = app.run
    # relative to "now" = one second after the newest event (08:55:01)
    assert len(run("search earliest=-10m dest_port=4444", events).rows) == 2
    assert len(run("search latest=-51m dest_port=4444", events).rows) == 1
    assert len(run("search earliest=-10m dest_port=4444", events, now=T0 + 3900).rows) == 1
    assert len(run("search index=main", events).rows) == 12
    assert run("search index=other", events).rows == []
    internal = [dict(events[0], index="_internal")]
    assert run("search index=*", internal).rows == []
    assert len(run("search index=_*", internal).rows) == 1


def test_time_range_limits_the_events(app):
    events = beacon(60)
    rows = app.run("search dest_port=4444", events, earliest=T0 + 600, latest=T0 + 1200).rows
    assert sorted(r["_time"] for r in rows) == [T0 + 600, T0 + 900]


def test_hunt_with_each_dispatch_window(app):
    events = beacon(120)
    notables, errors = app.hunt(events, names=["Overlapping - Rule"], dispatch=True, now=T0 + 7200)
    assert not errors
    # window -70m@m .. -5m@m at 10:00 = [08:50, 09:55): connections 08:50 .. 09:50 (13)
    assert [n.fields["count"] for n in notables] == [13]


def test_replay_overlapping_windows_duplicate_and_throttling_removes_them(app):
    result = replay(app, beacon(60))
    by_search = {}
    for n in result.notables:
        by_search.setdefault(n.search, []).append(iso(n.fields["_fire_time"]))
    # a 65-minute window fired every 15 minutes: an hour of beaconing (08:00-08:55) is in the
    # windows of 8 firings, each raising a notable for the same source
    assert by_search["Overlapping - Rule"] == ["08:15", "08:30", "08:45", "09:00", "09:15",
                                               "09:30", "09:45", "10:00"]
    # throttled on src for a day: one notable, the later results counted as suppressed
    assert by_search["Throttled - Rule"] == ["08:15"]
    throttled = [f for f in result.firings if f.search == "Throttled - Rule"]
    assert sum(f.suppressed for f in throttled) == 7
    risk = [r for r in result.risk_events if r.search == "Throttled - Rule"]
    assert [(r.risk_object, r.risk_object_type, r.risk_score) for r in risk] == [("10.0.0.5", "system", 70)]
    assert len([r for r in result.risk_events if r.search == "Overlapping - Rule"]) == 8


def test_replay_throttles_per_entity(app):
    events = beacon(60) + beacon(60, src="10.0.0.6")
    result = replay(app, events, names=["Throttled - Rule"])
    assert sorted(n.fields["src"] for n in result.notables) == ["10.0.0.5", "10.0.0.6"]


# The app's searches replayed over the samples take minutes: one test replays them once and
# checks each part (tests sharing a module fixture each ran it again on their own xdist worker).
def test_replay_of_the_app_over_the_samples():
    runner = Runner(str(ROOT))
    events, _ = runner.read_files([str(ROOT / "samples")])
    result = replay(runner, events)
    assert not result.errors
    _check_every_scenario_is_raised(runner, events, result)
    _check_throttled_searches_raise_once_per_entity_and_period(runner, result)


def _check_every_scenario_is_raised(runner, events, result):
    hosts = {n.host for n in result.notables}
    risk_objects = {r.risk_object for r in result.risk_events}
    plain, _ = runner.hunt(events)
    # every host a plain hunt raises is raised by some scheduled firing too: as a notable by
    # the TTP-grade searches, as a risk event by the anomaly-grade (risk-only) ones
    notable_grade = {s.name for s in runner.saved_searches()
                     if s.stanza.get("action.notable", "0").strip() in ("1", "true")}
    assert {n.host for n in plain if n.search in notable_grade} <= hosts
    assert {n.host for n in plain if n.search not in notable_grade} <= risk_objects | hosts


def _check_throttled_searches_raise_once_per_entity_and_period(runner, result):
    """Searches that set alert.suppress (the ES throttling keys) raise each entity once per
    suppression period over the samples, however many windows overlap (each search's firings
    are its own: the whole replay holds what replaying these alone gives)."""
    throttled = [s for s in runner.saved_searches()
                 if s.kind == "correlation" and s.stanza.get("alert.suppress", "0").strip() in ("1", "true")]
    assert throttled and any(n.search in {s.name for s in throttled} for n in result.notables)
    for saved in throttled:
        fields = [f.strip() for f in saved.stanza.get("alert.suppress.fields", "").split(",") if f.strip()]
        period = suppress_period(saved.stanza.get("alert.suppress.period"))
        last = {}
        for n in (n for n in result.notables if n.search == saved.name):
            key = tuple(str(n.fields.get(f)) for f in fields)
            fire = n.fields["_fire_time"]
            assert key not in last or fire - last[key] >= period, (saved.name, key)
            last[key] = fire


def test_cli_replay_window_and_time_range(app, tmp_path, capsys):
    from c2hunt_offline.cli import main
    path = tmp_path / "net.csv"
    lines = ["_time,sourcetype,src,dest_port"] + ["%d,net,10.0.0.5,4444" % e["_time"] for e in beacon(60)]
    path.write_text("\n".join(lines) + "\n")
    spec = str(path) + ":net"
    base = ["--app-root", app.app_root, "hunt", "--no-progress", "--format", "json", spec]
    assert main(base + ["--replay"]) == 0
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    kinds = collections.Counter((d["type"], d["search"]) for d in lines)
    assert kinds[("notable", "Overlapping - Rule")] == 8 and kinds[("notable", "Throttled - Rule")] == 1
    assert kinds[("risk", "Throttled - Rule")] == 1
    assert "7 results suppressed by throttling" in out.err
    # --window: one run of each search over its dispatch window at --now
    assert main(base + ["--window", "--now", "2024-05-14T09:00:00Z", "--search", "Overlapping - Rule"]) == 0
    counts = [json.loads(line)["fields"]["count"] for line in capsys.readouterr().out.splitlines()]
    assert counts == [11]   # [07:50, 08:55): 08:00 .. 08:50
    # --from/--to: the time picker
    assert main(base + ["--from", "2024-05-14T08:30:00", "--to", "2024-05-14T08:40:00",
                        "--search", "Overlapping - Rule"]) == 0
    counts = [json.loads(line)["fields"]["count"] for line in capsys.readouterr().out.splitlines()]
    assert counts == [2]
    assert main(base + ["--from", "yesterday"]) == 2


def test_a_stray_old_event_stays_out_of_the_beaconing_window():
    """Over a whole export a connection from days before joins the beacon's series; the
    scheduled search's 24-hour window (dispatch.earliest_time) keeps it out, as in Splunk."""
    runner = Runner(str(ROOT))
    start = parse_instant("2024-05-14T08:00:00Z")
    beats = [start + 60 * i for i in range(120)] + [start - 3 * 86400]   # one stray, 3 days old
    events = [{"_time": t, "sourcetype": "bro:conn:json", "index": "main", "src": "10.0.0.5",
               "dest": "203.0.113.7", "dest_port": "8443", "transport": "tcp", "bytes_out": "300"}
              for t in beats]
    name = "C2Hunt - Periodic Beaconing - Rule"
    whole, errors = runner.hunt(events, names=[name])
    assert not errors
    windowed, errors = runner.hunt(events, names=[name], dispatch=True, now=start + 3 * 3600)
    assert not errors and len(windowed) == 1
    assert int(windowed[0].fields["beacon_count"]) == 120
    # over the whole export the stray event is part of the series and lowers the score
    assert not whole or (int(whole[0].fields["beacon_count"]) == 121
                         and float(whole[0].fields["beacon_score"]) < float(windowed[0].fields["beacon_score"]))
