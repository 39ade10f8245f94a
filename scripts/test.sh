#!/usr/bin/env bash
# `make test`: the whole suite (CTest) in each build directory given, with a
# private MariaDB started for the storage tests (scripts/db.sh) unless
# CHATD_DB already points at one, and a private Redis for the cluster tests
# (scripts/redis.sh) unless CHATD_REDIS already points at one; then the storage thread's tests under
# ThreadSanitizer (scripts/tsan.sh) and a brief run of every fuzz target on
# its corpus (scripts/fuzz.sh, when clang is there).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ -z "${CHATD_DB:-}" ]]; then
  scripts/db.sh start
  eval "$(scripts/db.sh env)"
fi
if [[ -z "${CHATD_REDIS:-}" ]]; then
  scripts/redis.sh start
  eval "$(scripts/redis.sh env)"
fi
export CHATD_DB CHATD_DB_PASSWORD CHATD_REDIS CHATD_CLUSTER_PASSWORD
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Twice as many tests as cores at once: most of a test's time is waiting (on timers, the
# network, a database restart): the CPU they use is a quarter to a third of their wall time.
jobs=${CTEST_JOBS:-$(($(nproc) * 2))}
for b in "$@"; do
  echo "== tests in $b ($jobs at once)"
  ctest --test-dir "$b" --output-on-failure -j "$jobs" 2>&1 | tee -a "$log" || status=1
done
echo "== ThreadSanitizer: the storage thread and its queue"
scripts/tsan.sh 2>&1 | tee -a "$log" || status=1
echo "== fuzz targets, ${FUZZ_SECONDS:=15} s each on their corpus"
FUZZ_SECONDS=$FUZZ_SECONDS scripts/fuzz.sh --if-clang || status=1
# One closing line for the whole run: the CTest counts of every tree added up.
read -r passed failed < <(sed -n 's/.*tests passed, \([0-9]*\) tests\? failed out of \([0-9]*\).*/\1 \2/p' "$log" |
  awk '{f += $1; t += $2} END {print t - f, f}')
echo "make test: ${passed:-0} passed, ${failed:-0} failed"
exit $status
