"""Helpers shared by the test tiers (plain functions; fixtures live in conftest.py).

Import as ``from support import ...`` (tests/ is on pytest's ``pythonpath``, pyproject.toml).
Keeping these out of conftest.py matters because several tiers have a conftest.py of
their own, and ``from conftest import`` would pick whichever one was imported first.
"""
import glob
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
# Every scenario folder of samples/ (one simulated attack or benign day each).
SCENARIOS = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())
PYENV = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
# The runtimes Splunk ships (3.9, 3.13) and this machine's default (3.11).
SPLUNK_PYTHONS = ("3.9", "3.11", "3.13")
# Set C2HUNT_UPDATE_GOLDEN=1 to rewrite golden files instead of comparing with them.
UPDATE_GOLDEN = os.environ.get("C2HUNT_UPDATE_GOLDEN") == "1"


def find_python(version):
    """Path of a pyenv CPython <version>.x interpreter, or None."""
    matches = sorted(glob.glob(str(PYENV / (version + ".*") / "bin" / "python3")))
    return matches[-1] if matches else None


def run_script(python, script, stdin_bytes, timeout=300, env=None):
    """Run a bin/ script the way splunkd does: cwd bin/, bytes on stdin, no site env."""
    script = Path(script)
    full_env = {"PATH": os.environ.get("PATH", ""), "TZ": "UTC", "LC_ALL": "C",
                "PYTHONNOUSERSITE": "1"}
    full_env.update(env or {})
    return subprocess.run([python, str(script)], input=stdin_bytes, cwd=str(script.parent),
                          capture_output=True, timeout=timeout, env=full_env)


def normalise_read(events, issues, tmp):
    """Events (keys sorted) and issue texts of a read, with the tmp folder as ``<tmp>``."""
    def clean(value):
        if isinstance(value, str):
            return value.replace(str(tmp), "<tmp>")
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    return {"events": [{k: clean(v) for k, v in sorted(e.items())} for e in events],
            "issues": [clean(str(i)) for i in issues]}


def assert_matches_golden(golden, got):
    """``got`` equals the JSON golden file; with UPDATE_GOLDEN, or when it is missing, write
    it (a missing golden still fails, so it is reviewed before it is committed)."""
    if UPDATE_GOLDEN or not golden.exists():
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not UPDATE_GOLDEN:
            pytest.fail("golden %s was missing and has been written; review and commit it" % golden.name)
    assert got == json.loads(golden.read_text())


def shown_value(value):
    """A field value as the offline runner's JSON output shows it, for comparing engines:
    the int 6 and the float 6.0 print alike, every other float by its exact repr (a value one
    ulp off is a different value), lists element by element."""
    if isinstance(value, list):
        return [shown_value(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2 ** 53:
            return str(int(value))
        return repr(value)
    return value


def shown_rows(rows):
    """Result rows with every value as :func:`shown_value` shows it."""
    return [{key: shown_value(value) for key, value in row.items()} for row in rows]


def app_search_texts(runner):
    """The search text of every saved search of the app and of its notables' drilldowns
    (macros not expanded)."""
    for stanza in runner.savedsearches.values():
        yield stanza.get("search", "")
        yield stanza.get("action.notable.param.drilldown_search", "")
        try:
            drilldowns = json.loads(stanza.get("action.notable.param.drilldown_searches", "[]"))
        except ValueError:
            continue
        for drilldown in drilldowns:
            yield drilldown.get("search", "")


def dict_reader_frame(path, sourcetype=None, host=None):
    """What Runner.read_files makes of one file with the dict readers, as a frame (file order),
    and its issues: the reference the native frame readers are checked against."""
    from c2hunt_offline.columnar.table import frame_from_rows
    from c2hunt_offline.readers.dispatch import detect_and_read
    events, issues = detect_and_read(str(path), sourcetype)
    stem = os.path.splitext(os.path.basename(str(path)))[0]
    for ev in events:
        ev.setdefault("host", host or stem)
        ev.setdefault("index", "main")
        ev.setdefault("_time", 0.0)
        ev.setdefault("linecount", "1")
    return frame_from_rows(events), issues


def assert_frame_reader_same(path, sourcetype=None, host=None, native=True):
    """``read_frame`` gives the dict readers' events and issues (column set, dtypes, every value
    per row, row order, issues); None when it declines, allowed only when ``native`` is False."""
    from c2hunt_offline.columnar.table import python_values
    from c2hunt_offline.readers.frames import read_frame
    expected, expected_issues = dict_reader_frame(path, sourcetype, host)
    got, issues = read_frame(str(path), sourcetype, host)
    if got is None:
        assert not native, "%s: the frame reader declined a file it should read" % path
        assert issues == []
        return None
    assert sorted(got.columns) == sorted(expected.columns), path
    assert got.height == expected.height, path
    for name in expected.columns:
        assert got.schema[name] == expected.schema[name], (path, name)
        want, have = python_values(expected.get_column(name)), python_values(got.get_column(name))
        if want != have:
            diff = [(i, a, b) for i, (a, b) in enumerate(zip(want, have)) if a != b]
            raise AssertionError("%s: field %s differs in %d rows, first %s" % (path, name, len(diff), diff[:3]))
    assert [(str(i), i.level) for i in issues] == [(str(i), i.level) for i in expected_issues], path
    return got
