#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build libtfmini, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -d build ] || meson setup build
meson compile -C build
scripts/demo.sh
