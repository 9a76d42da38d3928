#!/usr/bin/env bash
# Quick start, step 2: runs every test (C suites and Python tests) in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || meson setup build
meson compile -C build
meson test -C build --print-errorlogs "$@"
