#!/usr/bin/env bash
# Makes libtfmini.a the way the shared library looks from outside: one relocatable
# object holding our internal objects and nanopb's, in which only tfm_* symbols stay
# global (so a program's own mem_alloc or pb_encode cannot clash with ours).
# Usage (from meson): make-static.sh OUT.a INTERNAL.a
set -euo pipefail
out=$1
internal=$2
nanopb=$(${CC:-cc} -print-file-name=libprotobuf-nanopb.a)
[ -e "$nanopb" ] || { echo "make-static: libprotobuf-nanopb.a not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ld -r -o "$tmp/tfmini.o" --whole-archive "$internal" --no-whole-archive "$nanopb"
objcopy --wildcard --keep-global-symbol='tfm_*' "$tmp/tfmini.o"
rm -f "$out"
ar rcsD "$out" "$tmp/tfmini.o"
