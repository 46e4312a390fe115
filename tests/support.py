"""Helpers shared by the test tiers (plain functions; fixtures live in conftest.py).

Import as ``from support import ...``: tests/ is on sys.path once tests/conftest.py loads.
Keeping these out of conftest.py matters because several tiers have a conftest.py of
their own, and ``from conftest import`` would pick whichever one was imported first.
"""
import glob
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
