#!/usr/bin/env bash
# The ABI of libtfmini against the baseline kept in abi/libtfmini.so.0.abi.
#   scripts/abi.sh check  [BUILD]   fails on any ABI change but added symbols (CI)
#   scripts/abi.sh update [BUILD]   writes the baseline (a deliberate change: also
#                                   record it and the soname rule in CHANGELOG.md)
# BUILD must be a build with debug info (-g: buildtype debug or debugoptimized).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
build=${2:-build}
lib="$build/lib/libtfmini.so"
baseline=abi/libtfmini.so.0.abi
[ -e "$lib" ] || { echo "abi: $lib not built" >&2; exit 2; }
readelf -S "$lib" | grep -q '\.debug_info' || { echo "abi: $lib has no debug info (-g)" >&2; exit 2; }
case "$mode" in
  update)
    mkdir -p abi
    abidw --headers-dir include/tfmini --drop-private-types --no-corpus-path --out-file "$baseline" "$lib"
    echo "abi: wrote $baseline ($(grep -c '<elf-symbol ' "$baseline") symbols)";;
  check)
    [ -e "$baseline" ] || { echo "abi: no baseline $baseline (scripts/abi.sh update)" >&2; exit 2; }
    # abidiff's exit code is a bit field (4: ABI change, 8: incompatible change, 12
    # for a removed function): any non-zero status fails. abi/suppressions.ini
    # leaves out the layouts of the structs behind the opaque public handles.
    set +e
    abidiff --no-added-syms --suppressions abi/suppressions.ini --headers-dir2 include/tfmini \
      "$baseline" "$lib"
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
      echo "abi: libtfmini's ABI differs from $baseline (abidiff exit $rc)" >&2
      exit 1
    fi
    echo "abi: no change against $baseline";;
  *) echo "usage: scripts/abi.sh check|update [BUILD]" >&2; exit 2;;
esac
