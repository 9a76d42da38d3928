#!/usr/bin/env bash
# The C suites under valgrind (memcheck: invalid reads/writes, uninitialised values,
# definite leaks), one process per suite (CK_FORK=no) so that valgrind sees the tests.
# Suites of big numeric loops are left to the ASan/UBSan build (with LeakSanitizer):
# under valgrind each takes minutes (kernels, fusion, fault sweeps, bundle and graph-def stress).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mapfile -t suites < <(meson test -C "$build" --list --suite c --no-rebuild 2>/dev/null |
                      sed -n 's|^tfmini:c / ||p' | grep -Ev '^(kernels_|fuzz_|fuse(_avx2|_baseline)?$|small_prog_|faults$|io_bundle$|io_graph_def$)')
CK_FORK=no meson test -C "$build" --suite c --no-rebuild --print-errorlogs \
  --wrapper "valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --quiet" \
  "${suites[@]}"
