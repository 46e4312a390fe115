"""Bad input never aborts the offline runner (issue 20, items 7-10).

Each test reproduces one defect of the fuzz campaign: lookup path traversal, one bad file
aborting the run, a damaged EVTX read as "nothing", special files hanging or eating memory,
unreadable folders skipped silently.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from c2hunt_offline import Runner, SplError
from c2hunt_offline.cli import EXIT_INPUT, main

from support import ROOT

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
EVTX_SAMPLE = DATASETS / "evtx-attack-samples" / "Command_and_Control-DE_RDP_Tunnel_5156.evtx"

CONN = ("#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
        "1715677400\t10.0.0.8\t5000\t203.0.113.9\t22\ttcp\n"
        "1715677401\t10.0.0.8\t5001\t203.0.113.9\t443\ttcp\n")


def _cli(argv, capsys):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _good_conn(folder):
    path = folder / "conn.log"
    path.write_text(CONN)
    return path


# ---------------------------------------------------------------- 7: lookup path traversal
@pytest.fixture
def secret(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "secret.csv"
    path.write_text("user,password\nroot,hunter2\n")
    return path


@pytest.fixture
def runner(mini_app, tmp_path):
    return Runner(str(mini_app), lookup_dir=str(tmp_path / "state"))


def _relative_from_lookups(runner, target):
    return os.path.relpath(str(target), os.path.join(runner.app_root, "lookups"))


def test_inputlookup_refuses_an_absolute_path(runner, secret):
    with pytest.raises(SplError, match="lookup"):
        runner.run("| inputlookup %s" % secret, [])


def test_inputlookup_refuses_a_relative_path_out_of_the_lookup_folder(runner, secret):
    name = _relative_from_lookups(runner, secret)
    assert name.startswith("..")
    with pytest.raises(SplError, match="lookup"):
        runner.run("| inputlookup %s" % name, [])


def test_lookup_command_refuses_dot_dot(runner, secret):
    name = _relative_from_lookups(runner, secret)
    with pytest.raises(SplError, match="lookup"):
        runner.run("| makeresults | eval user=\"root\" | lookup %s user OUTPUT password" % name, [])


def test_a_transforms_stanza_cannot_point_out_of_the_lookup_folder(mini_app, tmp_path, secret):
    transforms = mini_app / "default" / "transforms.conf"
    transforms.write_text(transforms.read_text() + "\n[evil]\nfilename = %s\n" % secret)
    runner = Runner(str(mini_app), lookup_dir=str(tmp_path / "state"))
    with pytest.raises(SplError, match="lookup"):
        runner.run("| inputlookup evil", [])


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "app-lookups", "subfolder"])
def test_outputlookup_writes_only_into_the_runner_lookup_folder(runner, tmp_path, kind):
    app_lookups = os.path.join(runner.app_root, "lookups")
    target = {
        "absolute": str(tmp_path / "outside" / "written.csv"),
        "dotdot": os.path.join("..", "..", "written.csv"),
        "app-lookups": os.path.relpath(os.path.join(app_lookups, "written.csv"), runner.lookup_dir),
        "subfolder": os.path.join("sub", "written.csv"),
    }[kind]
    before = set(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(SplError, match="outputlookup"):
        runner.run("| makeresults | eval a=1 | outputlookup %s" % target, [])
    after = set(str(p) for p in tmp_path.rglob("*"))
    assert not [p for p in after - before if p.endswith("written.csv")]


def test_plain_file_names_still_resolve_in_both_lookup_folders(runner):
    runner.run("| makeresults count=2 | eval a=\"x\" | outputlookup scratch.csv", [])
    assert os.path.exists(os.path.join(runner.lookup_dir, "scratch.csv"))
    assert len(runner.run("| inputlookup scratch.csv", []).rows) == 2


# ---------------------------------------------------------------- 8: one bad file never aborts
NESTED_JSON = "[" * 100000 + "]" * 100000 + "\n"
BAD_FILES = {
    "deep_nesting.json": '{"ts": 1715677400, "a": ' + "[" * 100000 + "]" * 100000 + "}\n",
    "deep_nesting_list.json": "{\"x\": 1}\n" + NESTED_JSON,
    "no_fields_conn.log": "#separator \\x09\n#path\tconn\n1715677400\t10.0.0.8\n",
    "odd_separator_conn.log": "#separator\n#path\tconn\n#fields\tts\n1715677400\n",
    "bad_escape_conn.log": "#separator \\x\n#fields\tts\n1\n",
    "empty_path_conn.log": "#separator \\x09\n#path\n#fields\tts\tuid\n1715677400\tC1\n",
    "empty_fields.log": "#separator \\x09\n#path\tconn\n#fields\n1715677400\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_one_bad_file_becomes_a_named_issue_and_the_rest_is_read(tmp_path, capsys, name):
    _good_conn(tmp_path)
    (tmp_path / name).write_text(BAD_FILES[name])
    rc, out, err = _cli(["read", "--no-progress", str(tmp_path)], capsys)
    assert "Traceback" not in err
    assert out.count("\n") >= 2, "the good file's two events are printed"
    assert rc in (0, EXIT_INPUT)
    if rc == EXIT_INPUT:
        assert name in err


def test_a_reader_crash_is_reported_for_that_file_only(tmp_path, monkeypatch, capsys):
    from c2hunt_offline import engine

    real = engine.detect_and_read

    def flaky(path, *args, **kwargs):
        if path.endswith("boom.log"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine, "detect_and_read", flaky)
    _good_conn(tmp_path)
    (tmp_path / "boom.log").write_text(CONN)
    rc, out, err = _cli(["hunt", "--no-progress", "--format", "json", str(tmp_path)], capsys)
    assert rc == EXIT_INPUT
    assert "boom.log" in err and "RecursionError" in err


# ---------------------------------------------------------------- 9: damaged EVTX
def _evtx_bytes():
    if not EVTX_SAMPLE.exists():
        pytest.skip("EVTX dataset not present")
    return EVTX_SAMPLE.read_bytes()


def _records_read(path):
    events, issues = Runner().read_files([str(path)])
    return events, [str(i) for i in issues]


def test_truncated_evtx_reports_the_damage_and_keeps_the_records_before_the_cut(tmp_path):
    data = _evtx_bytes()
    full, full_issues = _records_read(EVTX_SAMPLE)
    assert full and not full_issues
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(data[:40000])
    events, issues = _records_read(cut)
    assert issues, "a truncated EVTX is reported, never read as 'no events'"
    text = " ".join(issues)
    assert "truncated" in text and "40000" in text
    assert "recovered" in text
    assert 0 < len(events) < len(full)
    ids = sorted(int(e["EventRecordID"]) for e in events)
    full_ids = sorted(int(e["EventRecordID"]) for e in full)
    assert ids == full_ids[:len(ids)], "the records before the cut, unchanged"
    assert [e for e in events if e["c2hunt_file"] != str(cut)] == []


def test_evtx_with_a_corrupted_chunk_header_reports_it(tmp_path):
    data = bytearray(_evtx_bytes())
    data[4096:4104] = b"XXXXXXXX"
    bad = tmp_path / "bad.evtx"
    bad.write_bytes(bytes(data))
    events, issues = _records_read(bad)
    assert issues
    assert "chunk" in " ".join(issues)


def test_evtx_with_only_a_file_header_reports_missing_chunks(tmp_path):
    data = _evtx_bytes()
    header_only = tmp_path / "header.evtx"
    header_only.write_bytes(data[:4096])
    events, issues = _records_read(header_only)
    assert events == []
    assert issues and "truncated" in " ".join(issues)


def test_intact_evtx_reports_nothing():
    events, issues = _records_read(EVTX_SAMPLE) if EVTX_SAMPLE.exists() else pytest.skip("no EVTX")
    assert issues == []


# ---------------------------------------------------------------- 10: special files
def _run_cli(args, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "offline"))
    return subprocess.run([sys.executable, "-m", "c2hunt_offline"] + args, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_a_fifo_in_an_input_folder_is_skipped_not_waited_on(tmp_path):
    _good_conn(tmp_path)
    os.mkfifo(str(tmp_path / "pipe.log"))
    proc = _run_cli(["read", "--no-progress", str(tmp_path)], timeout=60)
    assert proc.returncode == EXIT_INPUT
    assert "pipe.log" in proc.stderr and "skipped" in proc.stderr
    assert proc.stdout.count("\n") == 2


def test_a_device_given_as_input_is_skipped(tmp_path):
    _good_conn(tmp_path)
    proc = _run_cli(["read", "--no-progress", "/dev/zero", str(tmp_path / "conn.log")], timeout=60)
    assert proc.returncode == EXIT_INPUT
    assert "/dev/zero" in proc.stderr and "skipped" in proc.stderr
    assert proc.stdout.count("\n") == 2


def test_an_unreadable_subfolder_is_reported(tmp_path, monkeypatch, capsys):
    _good_conn(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "conn.log").write_text(CONN)
    real_scandir = os.scandir

    def scandir(path="."):  # root reads any folder: refuse this one as a non-root user sees it
        if isinstance(path, (str, os.PathLike)) and os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    rc, out, err = _cli(["read", "--no-progress", str(tmp_path)], capsys)
    assert rc == EXIT_INPUT
    assert "locked" in err and "Permission denied" in err
    assert out.count("\n") == 2


def test_a_missing_input_file_is_a_named_issue(tmp_path, capsys):
    _good_conn(tmp_path)
    rc, out, err = _cli(["read", "--no-progress", str(tmp_path / "conn.log"),
                         str(tmp_path / "gone.log")], capsys)
    assert rc == EXIT_INPUT and "gone.log" in err
    assert out.count("\n") == 2


def test_a_symlink_to_a_regular_file_is_read(tmp_path, capsys):
    real = _good_conn(tmp_path)
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / "conn.log").symlink_to(real)
    rc, out, err = _cli(["read", "--no-progress", str(folder)], capsys)
    assert rc == 0 and out.count("\n") == 2
