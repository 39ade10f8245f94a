#!/usr/bin/env bash
# Runs the whole test suite (CTest) in each build directory given.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in "$@"; do
  echo "== tests in $b"
  ctest --test-dir "$b" --output-on-failure -j "$(nproc)"
done
