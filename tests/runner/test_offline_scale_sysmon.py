"""The scale benchmark's Sysmon generator (benchmarks/offline_scale.py): deterministic, read
as Sysmon by the offline readers, and every planted intrusion found by its search with no
notable on a host nothing was planted on."""
import filecmp
import os

import offline_scale  # benchmarks/ (on pythonpath)
from c2hunt_offline.engine import Runner


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    runs = {}
    for name, seed in (("a", 17), ("b", 17), ("c", 18)):
        folder = tmp_path / name
        folder.mkdir()
        runs[name] = offline_scale.generate_sysmon(str(folder), 4000, hosts=50, per_kind=1, seed=seed)
    (paths_a, planted_a), (paths_b, planted_b), (paths_c, _) = runs["a"], runs["b"], runs["c"]
    assert planted_a == planted_b and len(planted_a) == len(offline_scale.SYSMON_SEARCHES)
    assert [os.path.basename(p) for p in paths_a] == [os.path.basename(p) for p in paths_b]
    assert all(filecmp.cmp(a, b, shallow=False) for a, b in zip(paths_a, paths_b))
    assert not all(filecmp.cmp(a, c, shallow=False) for a, c in zip(paths_a, paths_c))
    assert sum(1 for p in paths_a for _ in open(p)) == 4000


def test_planted_intrusions_found_and_background_quiet(tmp_path):
    paths, planted = offline_scale.generate_sysmon(str(tmp_path), 6000, hosts=60, per_kind=2)
    runner = Runner()
    events, issues = runner.read_files(paths)
    assert not issues and len(events) == 6000
    assert {e["sourcetype"] for e in events} == {"XmlWinEventLog"}
    assert {e["EventCode"] for e in events} == {"1", "3", "5", "11", "13", "22"}
    notables, errors = runner.hunt(events)
    assert not errors
    as_json = [n.as_dict() for n in notables]
    by_search, found, elsewhere = offline_scale.summarise_sysmon(as_json, planted)
    assert found == len(planted) == 2 * len(offline_scale.SYSMON_SEARCHES), sorted(
        (n.search, n.host) for n in notables)
    assert elsewhere == 0, [n for n in notables if n.host not in {h for _, h in planted}]

