#!/usr/bin/env bash
# Runs the demo programs from the build tree (the user's story, as far as it exists).
set -euo pipefail
cd "$(dirname "$0")/.."
for demo in tensor_demo; do
  if [ -x "build/examples/$demo" ]; then
    echo "== $demo"
    "build/examples/$demo"
  fi
done
