"""How the repository's code finds its modules (docs/architecture.md, "Import paths").

splunkd runs bin/*.py with cwd bin/ and each script imports bin/c2hunt_path.py first, the
one module that adds vendored folders; tests get their folders from pytest's ``pythonpath``
(pyproject.toml); benchmark scripts from benchmarks/repo_paths.py, which reads that same
list; the offline runner imports the app's capture code in one function. Nothing else edits
sys.path: a new insert would make an import work in one entry point and fail in another.
"""
import re
import subprocess
import sys
from pathlib import Path

import repo_paths  # benchmarks/repo_paths.py

from support import ROOT

# The files allowed to edit sys.path, and why.
PATH_EDITORS = {
    "bin/c2hunt_path.py",                           # splunkd's scripts: vendored libraries
    "offline/c2hunt_offline/readers/capture.py",    # the offline runner: the app's bin/
    "offline/c2hunt_offline/columnar/custom.py",    # commands in process: bin/ while they run
    "benchmarks/repo_paths.py",                     # benchmark scripts: pyproject's list
}
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()   # its examples match
EDIT = re.compile(r"sys\.path\s*(\.\s*(insert|append|extend|remove)\b|\[[^\]]*\]\s*=|\s*\+=|\s*=)")


def _python_files():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=str(ROOT), capture_output=True, text=True, check=True).stdout
    return [name for name in listed.splitlines()
            if (name.endswith(".py") or name == "offline/c2hunt") and name != THIS_FILE]


def test_only_the_documented_modules_edit_sys_path():
    editors = {name for name in _python_files()
               if EDIT.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))}
    assert editors == PATH_EDITORS


def test_the_pattern_sees_the_usual_spellings():
    for line in ("sys.path.insert(0, d)", "sys.path.append(d)", "sys.path[:0] = [d]",
                 "sys.path += [d]", "sys.path = [d] + sys.path"):
        assert EDIT.search(line), line
    assert not EDIT.search("if folder not in sys.path:")


def test_benchmarks_and_tests_share_one_list_of_folders():
    folders = repo_paths.pythonpath()
    assert folders[0] == str(ROOT / "bin") and str(ROOT / "offline") in folders
    assert all((ROOT / folder).is_dir() for folder in folders)
    assert set(folders) <= set(sys.path)     # pytest put every one of them on sys.path
