#!/usr/bin/env bash
# Runs the user's story from the build tree: fit a line three ways, save and resume
# training in a new process, fine-tune the saved model; in C, then in Python.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
ex="$build/examples"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs one step: prints its title and output; a failure stops the demo.
step() {
  local title=$1
  shift
  echo "== $title"
  if "$@" >"$work/out" 2>&1; then
    sed -e "s|$work/|<tmp>/|g" -e 's/^/   /' "$work/out"
  else
    sed -e "s|$work/|<tmp>/|g" -e 's/^/   /' "$work/out"
    echo "demo: '$*' failed" >&2
    exit 1
  fi
}

echo "libtfmini demo: y = m*x + b fitted to the tutorial's 8 points (least squares: 0.29702, -0.86083)"
echo
echo "--- C (examples/*.c) ---"
step "serial: the error as a loop of scalar ops, 10,000 steps of gradient descent" "$ex/serial"
step "tensor: the error as reduce_sum of tensor ops" "$ex/tensor"
step "bigdata: 8,000,000 noisy points on y = 0.3x - 0.8, batches of 8 fed to placeholders" "$ex/bigdata"
step "save_restore, first process: 5,000 steps, a checkpoint every 1,000, the newest 3 kept" \
  "$ex/save_restore" "$work/c" --steps 5000
step "save_restore, a new process: restores the newest checkpoint and goes on to 10,000" \
  "$ex/save_restore" "$work/c" --steps 5000
step "fine_tune: imports the saved meta graph, freezes it, trains a new conv head on top" \
  "$ex/fine_tune" "$work/c"

py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo
  echo "--- Python: skipped ($py has no NumPy) ---"
  exit 0
fi
export PYTHONPATH="$PWD/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
export TFMINI_LIBRARY="$PWD/$build/lib/libtfmini.so"
echo
echo "--- Python (examples/python/*.py, import tfmini as tf) ---"
step "serial.py" "$py" examples/python/serial.py
step "tensor.py" "$py" examples/python/tensor.py
step "bigdata.py" "$py" examples/python/bigdata.py
step "save_restore.py, first process" "$py" examples/python/save_restore.py "$work/py" 5000
step "save_restore.py, a new process" "$py" examples/python/save_restore.py "$work/py" 5000
step "fine_tune.py" "$py" examples/python/fine_tune.py "$work/py"
