#!/bin/sh
# The benchmark suite of issue 7 in one table: bench/run.sh [build-dir] [--quick]
# Builds the benchmarks in build-dir (default: build), then runs bench/suite.py with
# Debian's python3 (for NumPy and PyTorch when installed). Same as `ninja -C build bench`.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
ninja -C "$build" -j2 bench/bench_train bench/bench_fused bench/bench_reduce >/dev/null
[ -f "$here/bench_checkpoint.c" ] && ninja -C "$build" -j2 bench/bench_checkpoint >/dev/null || true
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$here/suite.py" "$build" "$@"
