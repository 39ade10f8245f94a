#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of tests/fuzz with clang
# (-fsanitize=fuzzer,address,undefined) in build-fuzz/ and runs each for
# FUZZ_SECONDS (default 180) on a copy of its seed corpus. A crash fails the
# run; its reproducer is saved under tests/fuzz/crashes/<target>/, where the
# replay test (ctest fuzz-replay-<target>) picks it up.
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh          every target, 10 minutes each
#   scripts/fuzz.sh core utf8                 only these targets
#   FUZZ_MERGE=1 scripts/fuzz.sh              also merge new coverage into tests/fuzz/corpus/
#   scripts/fuzz.sh --if-clang                exit 0 with a note when clang is missing (make test)
#
# Replay a reproducer:  build-fuzz/tests/fuzz/fuzz-core tests/fuzz/crashes/core/crash-...
# (CHATD_FUZZ_TRACE=1 prints the conversation of a core reproducer.)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if_clang=0
targets=()
for a in "$@"; do
  case "$a" in
    --if-clang) if_clang=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) targets+=("$a") ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(framer utf8 command server_line core)

seconds=${FUZZ_SECONDS:-180}
build=${FUZZ_BUILD:-$root/build-fuzz}
cc=$(command -v clang-14 || command -v clang || true)
cxx=$(command -v clang++-14 || command -v clang++ || true)
if [[ -z "$cxx" || -z "$cc" ]]; then
  if [[ $if_clang -eq 1 ]]; then
    echo "fuzz: clang not found; only the replay tests (ctest -R fuzz-replay) ran"
    exit 0
  fi
  echo "fuzz: clang++ is needed (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
mkdir -p "$build"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCHATD_FUZZ=ON -DCHATD_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >"$build/configure.log" 2>&1 \
    || { cat "$build/configure.log" >&2; exit 2; }
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz-$t"); done
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${build_targets[@]}"

runs="$build/fuzz-runs"
rm -rf "$runs"
mkdir -p "$runs"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz-$t"
  corpus="$runs/$t/corpus"
  art="$runs/$t/artifacts/"
  mkdir -p "$corpus" "$art"
  cp "$root/tests/fuzz/corpus/$t/"* "$corpus/"
  [[ -d "$root/tests/fuzz/crashes/$t" ]] && cp "$root/tests/fuzz/crashes/$t/"* "$corpus/" 2>/dev/null || true
  log="$runs/$t/fuzz.log"
  echo "== fuzz-$t for ${seconds}s"
  rc=0
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$art" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  found=$(find "$art" -type f | wc -l)
  if [[ $rc -ne 0 || $found -ne 0 ]]; then
    status=1
    mkdir -p "$root/tests/fuzz/crashes/$t"
    find "$art" -type f -exec cp {} "$root/tests/fuzz/crashes/$t/" \;
    echo "fuzz-$t: FAILED (exit $rc); reproducers in tests/fuzz/crashes/$t/; last lines of $log:" >&2
    grep -E 'ERROR|check failed|SUMMARY|runtime error' "$log" | head -20 >&2 || tail -30 "$log" >&2
  fi
  summary+=("$(printf '%-12s %6ss %12s %10s %6s %7s %s' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "$(find "$corpus" -type f | wc -l)" "$([[ $rc -eq 0 && $found -eq 0 ]] && echo ok || echo CRASH)")")
  if [[ "${FUZZ_MERGE:-0}" == 1 && $rc -eq 0 ]]; then
    "$bin" -merge=1 "$root/tests/fuzz/corpus/$t" "$corpus" >"$runs/$t/merge.log" 2>&1 || true
  fi
done

echo
printf '%-12s %7s %12s %10s %6s %7s %s\n' target time executions exec/s cov corpus result
printf '%s\n' "${summary[@]}"
exit $status
