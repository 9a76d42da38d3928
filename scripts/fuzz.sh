#!/usr/bin/env bash
# Fuzzes one reader for a set time with libFuzzer + ASan/UBSan:
#   scripts/fuzz.sh TARGET SECONDS [JOBS]      (TARGET: table bundle ckstate tfrecord snappy pbio ...)
#   scripts/fuzz.sh all SECONDS                 (each target in turn)
# Builds build-fuzz (clang, -Dfuzzing=true) on first use. New coverage goes to
# build-fuzz/corpus/TARGET (not committed; merge the interesting inputs into
# fuzz/corpus/TARGET with -merge=1 when you want them kept). A crash leaves
# crash-* in build-fuzz/artifacts/TARGET: fix the reader, copy the file to
# fuzz/corpus/TARGET/regress-<what>, and the replay test keeps it fixed.
# Needs clang and libclang-rt-14-dev (libFuzzer); prints the executions made.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET|all SECONDS [JOBS]}
seconds=${2:?usage: scripts/fuzz.sh TARGET|all SECONDS [JOBS]}
jobs=${3:-1}
cc=${CC:-$(command -v clang-14 || command -v clang)}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=$cc meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dtests=disabled >/dev/null
fi
if [ "$target" = all ]; then
  targets=$(sed -n "s/^fuzz_targets = \[\(.*\)\]/\1/p" fuzz/meson.build | tr -d "',")
else
  targets=$target
fi
ninja -C build-fuzz -j2 $(for t in $targets; do echo fuzz/fuzz_$t; done) >/dev/null
for t in $targets; do
  mkdir -p build-fuzz/corpus/$t build-fuzz/artifacts/$t
  log=build-fuzz/fuzz-$t.log
  echo "== fuzz_$t for ${seconds}s (log $log)"
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    build-fuzz/fuzz/fuzz_$t -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
      -timeout=20 $( [ "$jobs" -gt 1 ] && echo "-fork=$jobs" ) -print_final_stats=1 \
      -artifact_prefix=build-fuzz/artifacts/$t/ \
      build-fuzz/corpus/$t fuzz/corpus/$t >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  echo "   executions: $execs, $cov, exit $rc"
  if ls build-fuzz/artifacts/$t/crash-* build-fuzz/artifacts/$t/leak-* build-fuzz/artifacts/$t/timeout-* \
       build-fuzz/artifacts/$t/oom-* >/dev/null 2>&1; then
    echo "   FINDINGS in build-fuzz/artifacts/$t:"; ls build-fuzz/artifacts/$t
  fi
done
