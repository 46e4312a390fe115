"""The shipped tarball: allowlisted paths, vendored targets, clean files, loadable libs."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from support import ROOT, find_python, run_script
import build

FORBIDDEN_PARTS = {"__pycache__", ".DS_Store", "tests", ".git", ".venv", ".pytest_cache"}


@pytest.fixture(scope="module")
def members(built_package):
    with tarfile.open(built_package) as tar:
        return tar.getmembers()


def test_package_is_named_by_version(built_package):
    assert Path(built_package).name == "c2hunt-%s.tar.gz" % build.app_version()


def test_only_allowlisted_top_level_paths(members):
    top = {Path(m.name).parts[1] for m in members if len(Path(m.name).parts) > 1}
    assert {Path(m.name).parts[0] for m in members} == {"c2hunt"}
    assert top <= set(build.ALLOWLIST)
    assert {"app.manifest", "default", "bin", "metadata"} <= top


def test_every_allowlisted_path_exists_and_ships(members):
    """An allowlist entry naming nothing hides a typo (or a folder that moved)."""
    assert [name for name in build.ALLOWLIST if not (ROOT / name).exists()] == []
    assert {Path(m.name).parts[1] for m in members if len(Path(m.name).parts) > 1} == set(build.ALLOWLIST)


def test_no_bytecode_caches_or_odd_permissions(members):
    for member in members:
        parts = set(Path(member.name).parts)
        assert not parts & FORBIDDEN_PARTS, member.name
        assert not member.name.endswith((".pyc", ".pyo")), member.name
        assert member.uid == 0 and member.gid == 0
        mode = stat.S_IMODE(member.mode)
        assert mode in (0o644, 0o755), "%s has mode %o" % (member.name, mode)
        assert member.isdir() or member.isfile(), "%s is a link or device" % member.name


def test_vendored_targets_for_each_splunk_python_and_platform(members):
    names = {m.name for m in members}
    for python in build.PYTHONS:
        for machine in build.MACHINES:
            tag = "cp%s-%s" % (python.replace(".", ""), machine)
            assert "c2hunt/bin/lib/%s/numpy/__init__.py" % tag in names
    for package in ("splunklib", "publicsuffixlist"):
        assert "c2hunt/bin/lib/common/%s/__init__.py" % package in names


def test_both_modular_inputs_ship(members):
    names = {m.name for m in members}
    for path in ("bin/c2flow.py", "bin/c2sockets.py", "bin/c2hunt/sockets/procnet.py",
                 "bin/c2hunt/sockets/processes.py", "bin/c2hunt/sockets/inventory.py"):
        assert "c2hunt/" + path in names


@pytest.mark.parametrize("python", ["3.9", "3.13"])
def test_shipped_libraries_import_on_splunk_pythons(built_package, tmp_path, python):
    interpreter = find_python(python)
    assert interpreter, "CPython %s missing" % python
    with tarfile.open(built_package) as tar:
        tar.extractall(tmp_path)
    probe = tmp_path / "c2hunt" / "bin" / "probe_imports.py"
    probe.write_text("import c2hunt_path\nimport numpy, splunklib.searchcommands, "
                     "publicsuffixlist\nprint(numpy.__file__)\n")
    result = run_script(interpreter, probe, b"")
    assert result.returncode == 0, result.stderr.decode()
    assert "/bin/lib/cp%s-" % python.replace(".", "") in result.stdout.decode()


def test_shim_reports_a_missing_target(tmp_path):
    import c2hunt_path

    (tmp_path / "cp39-x86_64").mkdir()
    assert c2hunt_path.missing_target_message(str(tmp_path), "cp39-x86_64") is None
    message = c2hunt_path.missing_target_message(str(tmp_path), "cp312-riscv64")
    assert "cp312-riscv64" in message and "cp39-x86_64" in message
    assert c2hunt_path.target_tag((3, 9), "AMD64") == "cp39-x86_64"
    assert c2hunt_path.target_tag((3, 13), "arm64") == "cp313-aarch64"


@pytest.fixture
def bin_without_this_platform(tmp_path):
    """A copy of bin/ whose vendored lib/ holds a build for another platform only."""
    bin_dir = tmp_path / "bin"
    shutil.copytree(ROOT / "bin", bin_dir, ignore=shutil.ignore_patterns("__pycache__", "lib"))
    (bin_dir / "lib" / "cp27-sparc").mkdir(parents=True)
    return bin_dir


@pytest.mark.parametrize("script", ["c2entropy.py", "c2beacon.py", "c2asym.py"])
def test_command_without_its_platform_build_says_so_in_the_job_inspector(
        bin_without_this_platform, script):
    getinfo = json.dumps({"action": "getinfo", "searchinfo": {"args": []}}).encode()
    chunk = b"chunked 1.0,%d,0\n" % len(getinfo) + getinfo
    result = run_script(sys.executable, bin_without_this_platform / script, chunk)
    assert result.returncode == 1, result.stderr.decode()
    header, metadata = result.stdout.split(b"\n", 1)
    assert header == b"chunked 1.0,%d,0" % len(metadata)
    metadata = json.loads(metadata)
    assert metadata["finished"] is True
    [[level, text]] = metadata["inspector"]["messages"]
    assert level == "ERROR"
    assert "has no libraries for cp%d%d-" % sys.version_info[:2] in text and "cp27-sparc" in text
    assert b"Traceback" not in result.stderr


def test_flow_input_without_its_platform_build_says_so(bin_without_this_platform):
    result = run_script(sys.executable, bin_without_this_platform / "c2flow.py", b"")
    assert result.returncode == 1
    assert b"has no libraries for cp" in result.stderr and b"cp27-sparc" in result.stderr
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize("preset, expected", [(None, "1"), ("4", "4")])
def test_shim_keeps_openblas_to_one_thread_unless_told(preset, expected):
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    probe = "import c2hunt_path, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    result = subprocess.run([sys.executable, "-c", probe], cwd=str(ROOT / "bin"), env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_manifest_validates_with_slim(built_package, tmp_path):
    with tarfile.open(built_package) as tar:
        tar.extractall(tmp_path)
    slim = Path(sys.executable).with_name("slim")
    result = subprocess.run([str(slim), "validate", "c2hunt"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ERROR]" not in result.stdout + result.stderr
