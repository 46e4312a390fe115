"""The app's own saved searches in the runner: each runs offline (or is listed as not
supported, with the reason, in README "Offline runner"), and the evaluation on the
third-party EVTX attack samples (skipped when ../shared/datasets is absent)."""
import pytest

from c2hunt_offline import Runner

NOT_OFFLINE = {}



def _searches():
    return Runner().saved_searches()


@pytest.mark.parametrize("name", [s.name for s in _searches()] or ["(no saved searches yet)"])
def test_every_saved_search_runs_offline(name):
    runner = Runner()
    saved = {s.name: s for s in runner.saved_searches()}.get(name)
    if saved is None:
        pytest.skip("default/savedsearches.conf has no searches yet")
    if name in NOT_OFFLINE:
        pytest.skip(NOT_OFFLINE[name])
    result = runner.run(saved.search, [])  # parses, expands macros, resolves lookups, runs commands
    assert result.rows == [] or all(isinstance(r, dict) for r in result.rows)


def test_hunt_on_evtx_attack_samples(evtx_events):
    runner = Runner()
    events, issues = evtx_events
    assert issues == []
    by_code = {}
    for e in events:
        by_code[e.get("EventCode")] = by_code.get(e.get("EventCode"), 0) + 1
    assert by_code.get("3") == 61 and by_code.get("5156") == 63  # counted with python-evtx
    notables, errors = runner.hunt(events)
    assert errors == {}
    for n in notables:
        assert n.signal and n.risk_score is not None and 0 < n.risk_score <= 100
