#!/usr/bin/env bash
# The main job from a fresh clone: creates .venv-build, builds the app package into
# dist/c2hunt-<version>.tar.gz, then runs every correlation search offline over the bundled
# sample telemetry (samples/) and prints the notables.
#   bash build.sh                  build + hunt the samples
#   bash build.sh FILES...         build + hunt your own exports (EVTX, XML, auditd, Zeek, pcap)
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-build/bin/python ]; then
  python3 -m venv .venv-build
fi
.venv-build/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
.venv-build/bin/python -m pip install --quiet --disable-pip-version-check -r offline/requirements.txt
.venv-build/bin/python package/build.py
.venv-build/bin/python offline/c2hunt hunt "$@"
