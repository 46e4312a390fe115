"""Shared fixtures: Splunk's Pythons, the vendored libraries, an installed-like app copy.

Set TZ=UTC and LC_ALL=C before running (test.sh does) so golden files are stable. The
folders tests import from (bin/, offline/, package/, ...) are ``pythonpath`` in pyproject.toml.
"""
import fcntl
import hashlib
import os
import shutil
from pathlib import Path

import pytest

import build  # package/build.py
from support import PYENV, ROOT, SPLUNK_PYTHONS, find_python


@pytest.fixture(scope="session", params=SPLUNK_PYTHONS)
def splunk_python(request):
    """Each Splunk Python in turn; a missing interpreter fails (CI must have all three)."""
    path = find_python(request.param)
    if path is None:
        pytest.fail("CPython %s not found under %s" % (request.param, PYENV))
    return path


def _vendor_key():
    digest = hashlib.sha256((ROOT / "package" / "requirements-vendor.txt").read_bytes())
    digest.update((ROOT / "package" / "build.py").read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def vendored_lib():
    """bin/lib as the package build vendors it, plus CPython 3.11 for this machine.

    Built once per requirements/build-script version under build/vendor/ (a file lock
    keeps concurrent test runs from building it twice).
    """
    cache = ROOT / "build" / "vendor" / _vendor_key()
    cache.mkdir(parents=True, exist_ok=True)
    lib = cache / "lib"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (cache / "complete").exists():
            shutil.rmtree(lib, ignore_errors=True)
            build.vendor(lib, build.PYTHONS, [build.target_machine()])
            build.vendor(lib, ["3.11"], [build.target_machine()], with_common=False)
            (cache / "complete").touch()
    return lib


@pytest.fixture(scope="session")
def app_dir(tmp_path_factory, vendored_lib):
    """The app as splunkd would see it: the package allowlist plus vendored bin/lib."""
    app = tmp_path_factory.mktemp("apps") / build.APP_ID
    app.mkdir()
    build.copy_allowlist(app)
    (app / "bin" / "lib").symlink_to(vendored_lib, target_is_directory=True)
    return app


@pytest.fixture(scope="session")
def built_package(tmp_path_factory):
    """The shipped tarball, built exactly as package/build.py builds it.

    test.sh builds it once before pytest and passes it as C2HUNT_PACKAGE, so parallel
    workers share one build.
    """
    given = os.environ.get("C2HUNT_PACKAGE")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    return build.build(out, build.PYTHONS, build.MACHINES)
