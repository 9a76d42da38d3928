#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages libtfmini needs to build, test and
# run its demo. Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc
  check                                   # C unit tests
  nanopb libnanopb-dev protobuf-compiler python3-protobuf  # protobuf encoding
  libsnappy-dev                           # snappy-compressed checkpoint index blocks
  python3-numpy python3-pytest            # Python bindings and their tests
  abigail-tools                           # ABI baseline checks
  valgrind
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
