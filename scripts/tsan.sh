#!/usr/bin/env bash
# The concurrency suite (and the session suite) under ThreadSanitizer:
#   scripts/tsan.sh [SUITE...]        (default: concurrency session)
# Builds build-tsan (-Db_sanitize=thread, gcc: its libtsan links into the shared
# library, where clang's static runtime does not) on first use.
# Races that the documented semantics allow (unsynchronised variable updates by
# concurrent training steps, as TensorFlow's use_locking=false) are suppressed in
# scripts/tsan.supp; any other report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
suites=${*:-concurrency session}
if [ ! -f build-tsan/build.ninja ]; then
  CC=${CC:-cc} \
    meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-tsan -j2 >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  meson test -C build-tsan --print-errorlogs $suites
