#!/usr/bin/env bash
# ThreadSanitizer run of the tests that exercise the storage thread and its
# queue, and the password-hashing pool's workers: configures build-tsan
# (-DCHATD_TSAN=ON), builds only those targets and runs them. The database tests run when CHATD_DB names a server
# (scripts/test.sh starts a private one); without it they report "skipped".
#   scripts/tsan.sh [build-dir (build-tsan)]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-$root/build-tsan}
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  mkdir -p "$build"
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHATD_TSAN=ON \
    >"$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 2; }
fi
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target unit-storage storage-it unit-auth-pool
# A report is a failure: halt_on_error makes the test exit non-zero at the first race.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:history_size=4}"
ctest --test-dir "$build" --output-on-failure -R "^(unit-storage|unit-auth-pool|db-storage.*)$"
