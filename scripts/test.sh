#!/usr/bin/env bash
# `make test`: the whole suite (CTest) in each build directory given, with a
# private MariaDB started for the storage tests (scripts/db.sh) unless
# CHATD_DB already points at one; then the storage thread's tests under
# ThreadSanitizer (scripts/tsan.sh) and a brief run of every fuzz target on
# its corpus (scripts/fuzz.sh, when clang is there).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ -z "${CHATD_DB:-}" ]]; then
  scripts/db.sh start
  eval "$(scripts/db.sh env)"
fi
export CHATD_DB CHATD_DB_PASSWORD
status=0
for b in "$@"; do
  echo "== tests in $b"
  ctest --test-dir "$b" --output-on-failure -j "$(nproc)" || status=1
done
echo "== ThreadSanitizer: the storage thread and its queue"
scripts/tsan.sh || status=1
echo "== fuzz targets, ${FUZZ_SECONDS:=15} s each on their corpus"
FUZZ_SECONDS=$FUZZ_SECONDS scripts/fuzz.sh --if-clang || status=1
exit $status
