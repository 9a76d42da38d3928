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

# The Python package: installed beside the library, imported from outside the tree
# with only PYTHONPATH pointing at the staged site-packages, finding the installed
# library (not the build tree's), and fitting the line.
config=$(find "$root" -path '*/tfmini/_config.py' | head -n1)
if [ -n "$config" ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  site=$(dirname "$(dirname "$config")")
  recorded=$(sed -n 's/^LIBDIR = "\(.*\)"$/\1/p' "$config")
  soname_py=$(sed -n 's/^SONAME = "\(.*\)"$/\1/p' "$config")
  [ -e "$stage$recorded/$soname_py" ] || { echo "check-install: _config.py names $recorded/$soname_py, not installed" >&2; exit 1; }
  # Staged, the recorded libdir lacks the DESTDIR prefix: the package falls back to
  # the system's search path, which LD_LIBRARY_PATH extends.
  ( cd "$work" && env -u TFMINI_LIBRARY PYTHONPATH="$site" LD_LIBRARY_PATH="$libdir" /usr/bin/python3 - "$stage" <<'PY'
import sys
import numpy as np
import tfmini as tf
from tfmini import _lib
assert _lib.path.startswith(sys.argv[1]) or _lib.path == "libtfmini.so.0", "loaded " + _lib.path
assert tf.__file__.startswith(sys.argv[1]), tf.__file__
x = tf.constant([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
y_data = np.array([-0.82, -0.94, -0.12, 0.26, 0.39, 0.64, 1.02, 1.00])
y = tf.constant(y_data.astype(np.float32))
m, b = tf.Variable(-0.5), tf.Variable(1.0)
train = tf.train.GradientDescentOptimizer(0.001).minimize(tf.reduce_sum(tf.square(y - (m * x + b))))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(1000):
        sess.run(train)
    got = sess.run([m, b])
rm, rb, xs = -0.5, 1.0, np.arange(8.0)
for _ in range(1000):
    err = y_data - (rm * xs + rb)
    rm, rb = rm + 0.002 * np.sum(err * xs), rb + 0.002 * np.sum(err)
assert abs(got[0] - rm) < 2e-4 and abs(got[1] - rb) < 5e-4, (got, rm, rb)
print("check-install: tfmini %s for Python from %s fits %.5f %.5f" % (tf.__version__, tf.__file__, got[0], got[1]))
PY
  )
  echo "check-install: the installed Python package imports from outside the tree and trains"
else
  echo "check-install: no Python package installed (or no NumPy): Python check skipped"
fi
rm -rf "$work"
