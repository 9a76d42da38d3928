#!/usr/bin/env bash
# Fails if libtfmini exports any symbol that is not tfm_* (besides the version node).
set -euo pipefail
lib=${1:-build/lib/libtfmini.so}
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^tfm_' | grep -v '^TFMINI_' || true)
if [ -n "$bad" ]; then
  echo "check-exports: symbols outside the tfm_ prefix are exported:" >&2
  echo "$bad" | head -20 >&2
  exit 1
fi
echo "check-exports: $(nm -D --defined-only "$lib" | grep -c ' tfm_') tfm_ symbols, nothing else"
