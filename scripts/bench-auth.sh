#!/usr/bin/env bash
# Accounts figures for docs/benchmarks.md (part of `make bench`):
#  1. password checks per second at chatd's default cost (Argon2id, 2 passes,
#     64 MiB, --auth-threads 2): the pool alone (chat-auth-bench) and end to
#     end through chatd (chat-load -s auth: ACCOUNTS logins at once, nothing
#     else running), and registrations per second (/registrar, 32 at a time);
#  2. the p99 delivery latency of CLIENTS chatting clients at RATE messages/s
#     (chat-load -s fanout, open loop) with and without ACCOUNTS account
#     logins arriving at once from a second chat-load process, which starts
#     when the fan-out's measured window does. Hashing runs on chatd's auth
#     threads, so the fan-out should not see it beyond the run-to-run spread;
#     and, as the control that tells hashing from the rest of a login (the
#     JOIN to everyone, the roster, the storage), the same fan-out while
#     ACCOUNTS guests (no password) log in at once.
# Each of RUNS rounds starts one chatd at the default password cost,
# registers ACCOUNTS accounts (they live in chatd's memory), runs the
# fan-out quiet and with the login storm (the order alternates between
# rounds), then the login storm alone; medians and min-max at the end.
#   scripts/bench-auth.sh [BUILD_DIR]
#   RUNS=5 ACCOUNTS=500 CLIENTS=200 RATE=1000 DURATION=30 scripts/bench-auth.sh build-bench
#   CHATD=/path/to/chatd scripts/bench-auth.sh    (a chatd built elsewhere)
#   PIN=1: chatd on CPU 0 (with its auth threads), both chat-loads on CPU 1, as bench.sh pins
#   RETRY=S: the storm's clients ask again S seconds (+-50 %) after ERROR unavailable (default 0.2)
#   CHATD_ARGS="--auth-threads 1": more chatd options (the password cost stays the default)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-build}
runs=${RUNS:-3}
accounts=${ACCOUNTS:-500}
clients=${CLIENTS:-200}
rate=${RATE:-1000}
duration=${DURATION:-30}
retry=${RETRY:-0.2}
read -r -a chatd_args <<< "${CHATD_ARGS:-}"
warmup=2
cmake --build "$build" --target chatd chat-load chat-auth-bench -j "$(nproc)" > /dev/null
chatd=${CHATD:-$build/chatd}
load=$build/chat-load
pool_bench=$build/chat-auth-bench
out=bench/results
mkdir -p "$out"
csv="$out/auth-$(date +%Y%m%d-%H%M%S).csv"
tmp=$(mktemp -d)
srv_cpu=(); load_cpu=()
if [[ ${PIN:-0} == 1 && $(nproc) -ge 2 ]]; then srv_cpu=(taskset -c 0); load_cpu=(taskset -c 1); fi
pid=""
cleanup() {
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

start_chatd() {  # sets pid and port; chatd at its default password cost
  "${srv_cpu[@]}" "$chatd" --bind 127.0.0.1 --port 0 --rate 0 --max-per-ip 0 --login-timeout 600 \
    --log-level warn "${chatd_args[@]}" 2> "$tmp/chatd.log" &
  pid=$!
  port=""
  for _ in $(seq 100); do  # --log-level warn hides the "listening on" line: ask the kernel
    port=$(ss -Htlnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) {n = split($4, a, ":"); print a[n]; exit}')
    [[ -n $port ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench-auth: chatd did not start" >&2; cat "$tmp/chatd.log" >&2; exit 1
}
stop_chatd() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }

# json FILE EXPR: one figure from a chat-load --json-file result (r is the parsed JSON).
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

auth() {  # auth PHASE TAG JSON [extra]: chat-load -s auth against the running chatd
  "${load_cpu[@]}" "$load" -H 127.0.0.1 -p "$port" -q -s auth --auth-phase "$1" -c "$accounts" --run "$2" \
    --auth-retry "$retry" --login-wait 600 --json-file "$3" > "$tmp/auth.out" 2>&1 ||
    { echo "bench-auth: chat-load -s auth --auth-phase $1 failed:" >&2; tail -5 "$tmp/auth.out" >&2; }
}

fanout_case() {  # fanout_case quiet|storm ROUND TAG: one fan-out run, a CSV row
  local mode=$1 r=$2 tag=$3 fpid storm_row=",,,,"
  "${load_cpu[@]}" "$load" -H 127.0.0.1 -p "$port" -q -s fanout -c "$clients" -r "$rate" --connect-rate 2000 \
    --size 64 -d "$duration" --warmup "$warmup" --drain 10 --json-file "$tmp/f.json" > "$tmp/f.out" 2>&1 &
  fpid=$!
  if [[ $mode == storm ]]; then
    # The fan-out logs in within a fraction of a second; the storm starts with its measured window.
    sleep $((warmup + 1))
    auth login "$tag" "$tmp/s.json"
    storm_row=$(json "$tmp/s.json" "'%g,%d,%d,%d,%d' % (r['login_s'], r['account_logins'], r['login_latency_ns']['p50'], r['login_latency_ns']['p99'], r['auth_busy'])")
  elif [[ $mode == guests ]]; then
    sleep $((warmup + 1))
    "${load_cpu[@]}" "$load" -H 127.0.0.1 -p "$port" -q -s idle -c "$accounts" -d 1 --warmup 0 --run "G$tag" \
      --login-wait 600 --json-file "$tmp/g.json" > "$tmp/g.out" 2>&1 ||
      { echo "bench-auth: the guest logins failed:" >&2; tail -5 "$tmp/g.out" >&2; }
    storm_row=$(json "$tmp/g.json" "'%g,%d,%d,%d,0' % (r['login_s'], r['logged_in'], r['login_latency_ns']['p50'], r['login_latency_ns']['p99'])")
  fi
  wait "$fpid" || echo "bench-auth: the fan-out reported a failure (see missing)" >&2
  echo "$mode,$r,$(json "$tmp/f.json" "'%d,%d,%d,%d,%d' % (r['latency_ns']['p50'], r['latency_ns']['p99'], r['latency_ns']['p99.9'], r['latency_ns']['max'], r['missing'])"),$storm_row" >> "$csv"
  tail -n 1 "$csv" >&2
}

echo "case,round,p50_ns,p99_ns,p999_ns,max_ns,missing,storm_s,logins,login_p50_ns,login_p99_ns,busy" > "$csv"
for r in $(seq "$runs"); do
  echo "== bench-auth round $r/$runs (load average $(cut -d' ' -f1-3 /proc/loadavg)): pool alone" >&2
  "$pool_bench" -n 40 | tee -a "$tmp/pool.txt" >&2
  start_chatd
  tag="A${r}$$"
  echo "== round $r: registering $accounts accounts at the default cost" >&2
  auth register "$tag" "$tmp/reg.json"
  echo "register,$r,$(json "$tmp/reg.json" "'%g,%d' % (r['register_s'], r['registered'])")" >> "$tmp/reg.csv"
  # Alternate which case comes first, so a drift over the round does not favour one.
  if (( r % 2 )); then order=(quiet storm guests); else order=(guests storm quiet); fi
  for mode in "${order[@]}"; do fanout_case "$mode" "$r" "$tag"; done
  echo "== round $r: $accounts logins at once, nothing else running" >&2
  auth login "$tag" "$tmp/alone.json"
  echo "alone,$r,$(json "$tmp/alone.json" "'%g,%d,%d,%d,%d' % (r['login_s'], r['account_logins'], r['login_latency_ns']['p50'], r['login_latency_ns']['p99'], r['auth_busy'])")" >> "$tmp/alone.csv"
  stop_chatd
done
cat "$tmp/reg.csv" >> "$csv.register"
cat "$tmp/alone.csv" >> "$csv.alone"
sed -n 's/.* \([0-9.]*\) checks\/s.*/\1/p' "$tmp/pool.txt" > "$csv.pool"

python3 - "$csv" "$accounts" "$clients" "$rate" <<'PY'
import csv, statistics, sys
base, accounts, clients, rate = sys.argv[1:]
rows = list(csv.DictReader(open(base)))
def cell(vals, f="{:.2f}"):
    if not vals: return "-"
    s = f.format(statistics.median(vals))
    return s + (" (" + f.format(min(vals)) + "-" + f.format(max(vals)) + ")" if len(vals) > 1 else "")
def col(case, key, div=1.0):
    return [float(r[key]) / div for r in rows if r["case"] == case and r[key] != ""]
reg = [line.strip().split(",") for line in open(base + ".register") if line.strip()]
alone = [line.strip().split(",") for line in open(base + ".alone") if line.strip()]
pool = [float(x) for x in open(base + ".pool").read().split()]
print("\nmedian (min-max) of %d rounds" % len({r["round"] for r in rows}))
print("%-58s %s" % ("password checks/s, auth pool alone (2 threads)", cell(pool, "{:.1f}")))
print("%-58s %s" % ("registrations/s through chatd (%s, 32 at a time)" % accounts,
                    cell([int(x[3]) / float(x[2]) for x in reg if float(x[2]) > 0], "{:.1f}")))
print("%-58s %s" % ("account logins/s through chatd (%s at once, alone)" % accounts,
                    cell([int(x[3]) / float(x[2]) for x in alone if float(x[2]) > 0], "{:.1f}")))
print("%-58s %s" % ("  login latency p50 / p99 (s)", cell([int(x[4]) / 1e9 for x in alone]) + " / " +
                    cell([int(x[5]) / 1e9 for x in alone])))
print("%-58s %s" % ("  ERROR unavailable answered (retried)", cell([int(x[6]) for x in alone], "{:.0f}")))
print()
print("fan-out: %s clients, %s msg/s, latency in ms" % (clients, rate))
cases = (("quiet", "quiet"), ("storm", "%s account logins" % accounts), ("guests", "%s guest logins" % accounts))
print("%-20s" % "" + "".join(" %-26s" % label for _, label in cases))
def line(label, cells):
    print("%-20s" % label + "".join(" %-26s" % c for c in cells))
for key, label in (("p50_ns", "p50"), ("p99_ns", "p99"), ("p999_ns", "p99.9"), ("max_ns", "max")):
    line(label, [cell(col(c, key, 1e6)) for c, _ in cases])
line("missing", [cell(col(c, "missing"), "{:.0f}") for c, _ in cases])
rate_of = lambda c: cell([float(r["logins"]) / float(r["storm_s"]) for r in rows if r["case"] == c and r["storm_s"]], "{:.1f}")
line("logins/s", ["", rate_of("storm"), rate_of("guests")])
line("logins: seconds", ["", cell(col("storm", "storm_s"), "{:.1f}"), cell(col("guests", "storm_s"), "{:.1f}")])
line("login p99 s", ["", cell(col("storm", "login_p99_ns", 1e9)), cell(col("guests", "login_p99_ns", 1e9))])
line("unavailable", ["", cell(col("storm", "busy"), "{:.0f}"), ""])
PY
echo "raw: $csv (+ .register .alone .pool)" >&2
