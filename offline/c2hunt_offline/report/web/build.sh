#!/usr/bin/env bash
# Build the offline report's viewer (Splunk's dashboard framework, Apache-2.0) from the
# pinned package-lock.json into build/report-web/dist/ (never committed). Needs node and npm
# (.ci/run installs the Debian packages). Skips the work when the bundle is newer than its inputs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
work="${C2HUNT_REPORT_WEB_BUILD:-$root/build/report-web}"
dist="$work/dist"
mkdir -p "$work"
if [ -f "$dist/c2hunt-report.js" ] && [ -z "$(find "$here" -newer "$dist/c2hunt-report.js" -type f)" ]; then
  echo "report bundle up to date: $dist"
  exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$here/entry.jsx" "$work/"
cd "$work"
if ! cmp -s package-lock.json node_modules/.package-lock.json.src 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.package-lock.json.src
fi
npx --no-install esbuild entry.jsx --bundle --minify --format=iife --target=es2020 \
  --define:process.env.NODE_ENV='"production"' --loader:.js=jsx --log-level=warning \
  --outfile="$dist/c2hunt-report.js"
echo "report bundle: $dist ($(du -sh "$dist" | cut -f1))"
