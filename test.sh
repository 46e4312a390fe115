#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: creates .venv-test, installs
# requirements-dev.txt, lints (ruff, settings in pyproject.toml), then runs every tier
# with a pinned environment.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-test/bin/python ]; then
  python3 -m venv .venv-test
fi
.venv-test/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
.venv-test/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
.venv-test/bin/ruff check .
# pytest-splunk-addon's CIM data models (its pins conflict with ours: own venv, see
# requirements-cim.txt); the CIM compliance tests skip if it cannot be installed.
if [ ! -x .venv-cim/bin/python ]; then
  python3 -m venv .venv-cim
fi
.venv-cim/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-cim.txt \
  || echo "warning: pytest-splunk-addon not installed; CIM compliance tests will skip" >&2
export TZ=UTC LC_ALL=C.UTF-8 PYTHONHASHSEED=0
# Many tests run the offline runner as a subprocess (the scoreboard hunts a hundred units):
# its package byte-compiled once here, or each would compile it again on images that set
# PYTHONDONTWRITEBYTECODE (0.3 s of a 2.7 s hunt of a small capture).
.venv-test/bin/python -m compileall -q offline benchmarks simulator
# The offline report's viewer (Splunk's dashboard framework, pinned by its package-lock.json),
# which tests/browser opens in headless Chromium.
if command -v npm >/dev/null 2>&1; then
  bash offline/c2hunt_offline/report/web/build.sh
fi
# One package build shared by every test worker (the build command users run, too).
rm -rf build/test-dist
.venv-test/bin/python package/build.py --out build/test-dist
export C2HUNT_PACKAGE="$PWD/build/test-dist/c2hunt-$(sed -n 's/^version = //p' default/app.conf | head -1).tar.gz"
exec .venv-test/bin/python -m pytest -n 2 -p no:cacheprovider tests "$@"
