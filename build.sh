#!/usr/bin/env bash
# Build the app package into dist/ from a fresh clone: creates .venv-build, installs the
# build tools, vendors pinned dependencies and writes dist/c2hunt-<version>.tar.gz.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-build/bin/python ]; then
  python3 -m venv .venv-build
fi
.venv-build/bin/python -m pip install --quiet --disable-pip-version-check packaging==25.0 pip==25.3
.venv-build/bin/python package/build.py "$@"
