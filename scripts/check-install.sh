#!/usr/bin/env bash
# Installs the build in build/ into a temporary prefix and builds an example against
# it the way an outside project would: only `pkg-config --cflags --libs tfmini`, no
# path into the source tree. Then runs it. Used by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
prefix=/opt/tfmini-check

DESTDIR="$stage" meson install -C "$build" --quiet >/dev/null
root="$stage$prefix"
[ -d "$root" ] || { echo "check-install: meson was not configured with --prefix=$prefix" >&2; exit 1; }
libdir=$(dirname "$(find "$root" -name 'libtfmini.so' | head -n1)")
pcdir=$(dirname "$(find "$root" -name 'tfmini.pc' | head -n1)")

for f in "$libdir"/libtfmini.so "$root"/include/tfmini/tfmini.h "$root"/include/tfmini/version.h; do
  [ -e "$f" ] || { echo "check-install: missing $f" >&2; exit 1; }
done
soname=$(readelf -d "$libdir"/libtfmini.so | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ -e "$libdir/$soname" ] || { echo "check-install: soname link $soname missing" >&2; exit 1; }
echo "check-install: installed $(readlink -f "$libdir"/libtfmini.so | xargs basename), soname $soname"

# pkg-config's own sysroot handling rewrites the prefix into the staging dir.
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage"
work=$(mktemp -d)
cp examples/tensor_demo.c "$work/"
( cd "$work" && cc -std=c11 -Wall -Wextra -Werror tensor_demo.c $(pkg-config --cflags --libs tfmini) -o demo )
LD_LIBRARY_PATH="$libdir" "$work/demo"
echo "check-install: an outside program built with pkg-config and ran"
# With -Ddefault_library=both: the same program linked statically, and the archive
# exports nothing but tfm_* symbols.
if [ -e "$libdir/libtfmini.a" ]; then
  leaked=$(nm -g --defined-only "$libdir/libtfmini.a" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^tfm_/' | head -n5)
  [ -z "$leaked" ] || { echo "check-install: libtfmini.a exports non-tfm_ symbols: $leaked" >&2; exit 1; }
  ( cd "$work" && cc -std=c11 -Wall -Wextra -Werror tensor_demo.c $(pkg-config --cflags tfmini) \
      "$libdir/libtfmini.a" $(pkg-config --static --libs-only-l tfmini | sed 's/-ltfmini//') -o demo-static )
  "$work/demo-static" >/dev/null
  echo "check-install: the static library links alone and runs"
fi
rm -rf "$work"
