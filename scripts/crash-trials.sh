#!/usr/bin/env bash
# Kill-during-save trials at full count: scripts/crash-trials.sh [TRIALS] [BUILD_DIR]
# (default 500 in ./build). Each trial SIGKILLs a process that is saving checkpoints
# in a loop at a random moment, then checks that latest_checkpoint restores and
# verifies, and that later saves sweep the temporaries killed saves left
# (tests/test_crash_safety.c; the meson test runs 12).
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-500}
build=${2:-build}
ninja -C "$build" tests/test_crash_safety >/dev/null
TFM_BUILD_DIR=$PWD/$build TFM_CRASH_TRIALS=$trials CK_DEFAULT_TIMEOUT=100000 "$build"/tests/test_crash_safety
