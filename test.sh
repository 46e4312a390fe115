#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: creates .venv-test, installs
# requirements-dev.txt, then runs every tier with a pinned environment.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-test/bin/python ]; then
  python3 -m venv .venv-test
fi
.venv-test/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
.venv-test/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
export TZ=UTC LC_ALL=C.UTF-8 PYTHONHASHSEED=0
exec .venv-test/bin/python -m pytest -n 2 -p no:cacheprovider tests "$@"
