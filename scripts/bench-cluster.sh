#!/usr/bin/env bash
# Cluster figures for docs/benchmarks.md: the standard scenarios against one
# chatd without a cluster and against clusters of 1, 2 and 3 nodes on this
# machine, side by side in one run, RUNS rounds (medians, min-max), the
# order of the four set-ups rotating from round to round so a drift of the
# machine favours none, every server restarted (and the cluster's Redis
# database emptied) before every run:
#   saturation  fanout, 100 clients, W=16 (closed loop)
#   fixed       fanout, 500 clients, 2,000 msg/s offered (1 M deliveries/s)
#   storm       STORM (10,000) clients logging in at once
# chat-load spreads its clients over the nodes (--ports) and checks that
# every receiver saw the same order. Around each run Redis's statistics are
# reset and read (CONFIG RESETSTAT, INFO commandstats, INFO cpu): the table
# gives deliveries/s, p50, p99, and per public message Redis's CPU
# (used_cpu_sys + used_cpu_user), its command time and its calls: EVALSHA,
# XREAD, and every command (commandstats also counts the commands a script
# runs: the INCR and XADD inside the EVALSHA are in the total). Nodes share
# the private MariaDB (scripts/db.sh) and Redis (scripts/redis.sh), both
# started if need be and left running. Redis's CPU and commands are the whole
# server's: keep others off that Redis while measuring.
#   scripts/bench-cluster.sh [BUILD_DIR]
#   RUNS=5 DURATION=10 scripts/bench-cluster.sh
#   RUNS=1 DURATION=3 CASES=fixed SETUPS="single 3" scripts/bench-cluster.sh
# Environment: RUNS (3), DURATION (measured s, 10), WARM (2), STORM (10000),
# CASES ("saturation fixed storm"), SETUPS ("single 1 2 3": node counts, or
# single for chatd without --cluster), PORT_BASE (15800: single on it, node K
# on PORT_BASE+K), REDIS_DB (15: a database no test uses), DB (1: nodes store
# in MariaDB; 0: in memory, as the first look of 2026-12-02 ran).
# chatd processes run on CPU 0 and chat-load on CPU 1 (taskset) when there
# are two CPUs or more; Redis stays where it runs. Writes
# bench/results/cluster-*.csv (one row per run); each run's chat-load JSON and
# Redis commandstats stay in var/bench-cluster/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=ports.sh
. "$root/scripts/ports.sh"
# shellcheck source=cluster-servers.sh
. "$root/scripts/cluster-servers.sh"
case ${1:-} in -h|--help) sed -n '2,/^set /{/^set /!p}' "$0"; exit 0 ;; esac
build=${1:-${BUILD:-build}}
runs=${RUNS:-3}
dur=${DURATION:-10}
warm=${WARM:-2}
storm=${STORM:-10000}
cases=" ${CASES:-saturation fixed storm} "
read -ra setups <<< "${SETUPS:-single 1 2 3}"
port_base=${PORT_BASE:-15800}
redis_db=${REDIS_DB:-15}
use_db=${DB:-1}

die() { echo "bench-cluster: $*" >&2; exit 2; }
for v in "$runs" "$storm" "$port_base" "$redis_db"; do [[ $v =~ ^[0-9]+$ ]] || die "not a number: '$v'"; done
[[ $dur =~ ^[0-9]+([.][0-9]+)?$ && $warm =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DURATION and WARM are seconds"
[[ $runs -ge 1 ]] || die "RUNS must be 1 or more"
[[ $use_db == 0 || $use_db == 1 ]] || die "DB is 0 or 1"
for s in "${setups[@]}"; do [[ $s == single || $s =~ ^[1-9]$ ]] || die "SETUPS: '$s' is neither single nor 1-9 nodes"; done
for c in $cases; do [[ $c =~ ^(saturation|fixed|storm)$ ]] || die "CASES: unknown case '$c'"; done

cmake --build "$build" --target chatd chat-load -j "$(nproc)" > /dev/null
chatd_bin=$root/$build/chatd
load_bin=$root/$build/chat-load
out=$root/bench/results
var=$root/var/bench-cluster
mkdir -p "$out" "$var"
stamp=$(date +%Y%m%d-%H%M%S)
csv=$out/cluster-$stamp.csv

use_cluster_servers "$use_db" "$redis_db"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $cases == *" storm "* && $(ulimit -n) != unlimited && $(ulimit -n) -lt $((storm + 100)) ]]; then
  die "fd limit $(ulimit -n) is below $storm clients: raise ulimit -n (scripts/tune.sh) or lower STORM"
fi
srv_cpu=(); load_cpu=()
if [[ $(nproc) -ge 2 ]] && command -v taskset > /dev/null; then srv_cpu=(taskset -c 0); load_cpu=(taskset -c 1); fi

pids=()  # the chatd processes of the set-up running now; only these are ever stopped
stop_servers() {
  stop_children "${pids[@]}"
  pids=()
}
trap stop_servers EXIT INT TERM

# start_servers single|N: sets pids and ports (comma-separated, for chat-load --ports).
start_servers() {
  stop_servers
  local setup=$1 args=(--bind 127.0.0.1 --rate 0 --max-per-ip 0 --login-timeout 120 --log-level warn) i p list=()
  if [[ $setup == single ]]; then list=("$port_base"); else for ((i = 1; i <= setup; i++)); do list+=($((port_base + i))); done; fi
  for p in "${list[@]}"; do ss -Htln "sport = :$p" | grep -q . && die "port $p is busy (PORT_BASE)"; done
  if [[ $setup == single ]]; then
    "${srv_cpu[@]}" "$chatd_bin" "${args[@]}" --port "$port_base" --journal "$var/single.journal" > "$var/single.log" 2>&1 &
    pids=($!)
  else
    rcli flushdb > /dev/null
    for ((i = 1; i <= setup; i++)); do
      "${srv_cpu[@]}" "$chatd_bin" "${args[@]}" --port "${list[i - 1]}" --cluster "$CHATD_REDIS/$redis_db" \
        --node-name "n$i" --journal "$var/n$i.journal" > "$var/n$i.log" 2>&1 &
      pids+=($!)
    done
  fi
  for ((i = 0; i < ${#list[@]}; i++)); do
    for _ in $(seq 100); do
      ss -Htln "sport = :${list[i]}" | grep -q . && break
      kill -0 "${pids[i]}" 2>/dev/null || break
      sleep 0.1
    done
    ss -Htln "sport = :${list[i]}" | grep -q . || { echo "bench-cluster: chatd on ${list[i]} did not start; its logs:" >&2; tail -n 20 "$var"/*.log >&2; exit 1; }
  done
  ports=$(IFS=,; echo "${list[*]}")
}

redis_cpu() { rcli info cpu | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.6f\n", s}'; }

# run SETUP CASE ROUND -- chat-load args: one CSV row.
run() {
  local setup=$1 case=$2 round=$3; shift 4
  start_servers "$setup"
  local json=$var/$setup-$case-$round.json load stats cpu0 cpu1
  load=$(cut -d' ' -f1 /proc/loadavg)
  rm -f "$json"
  echo "== round $round: $setup $case on ports $ports (load average $load)" >&2
  rcli config resetstat > /dev/null
  cpu0=$(redis_cpu)
  "${load_cpu[@]}" "$load_bin" -H 127.0.0.1 --ports "$ports" -q --json-file "$json" "$@" \
    > "$var/last.out" 2> "$var/last.err" || true
  cpu1=$(redis_cpu)
  rcli info commandstats | tr -d '\r' | grep '^cmdstat_' > "$var/$setup-$case-$round.redis" || true
  stats=$(tr '\n' ' ' < "$var/$setup-$case-$round.redis")
  stop_servers
  [[ -s $json ]] || { echo "bench-cluster: $setup $case produced no result:" >&2; tail -5 "$var/last.err" >&2; return 0; }
  python3 - "$json" "$setup" "$case" "$round" "$load" "$cpu0" "$cpu1" "$stats" >> "$csv" <<'PY'
import json, sys
f, setup, case, rnd, load, cpu0, cpu1, stats = sys.argv[1:]
r = json.load(open(f))
calls = {}
usec = 0
for item in stats.split():  # cmdstat_evalsha:calls=1,usec=2,usec_per_call=...
    name, _, fields = item.partition(":")
    kv = dict(x.split("=", 1) for x in fields.split(","))
    name = name[len("cmdstat_"):]
    if name in ("info", "config|resetstat"): continue  # this script's own
    calls[name] = int(kv["calls"])
    usec += int(kv["usec"])
cluster = setup != "single"
msgs = r["sent"]
per = lambda v: round(v / msgs, 3) if cluster and msgs else ""
cpu_us = (float(cpu1) - float(cpu0)) * 1e6
xread = calls.get("xread", 0) + calls.get("xreadgroup", 0)
lat = r["latency_ns"]
print(",".join(str(x) for x in [setup, case, rnd, load, r["ok"], r["logged_in"], r["clients"], r["login_s"],
      round(r["deliveries_per_s"]), r["missing"], r["order_mismatches"], r.get("order_segment_mismatches", 0),
      lat["p50"], lat["p99"], lat["max"], msgs, per(cpu_us), per(usec), per(calls.get("evalsha", 0)), per(xread),
      per(sum(calls.values())), round(cpu_us) if cluster else "", sum(calls.values()) if cluster else ""]))
PY
  tail -n 1 "$csv" >&2
}

echo "setup,case,round,load1,ok,logged_in,clients,login_s,delivered_per_s,missing,order_mismatches,order_segment_mismatches,p50_ns,p99_ns,max_ns,messages,redis_cpu_us_per_msg,redis_cmd_us_per_msg,evalsha_per_msg,xread_per_msg,redis_calls_per_msg,redis_cpu_us,redis_calls" > "$csv"
echo "== bench-cluster: $runs rounds of ${cases# } on ${setups[*]}; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); Redis $CHATD_REDIS/$redis_db; storage $([[ $use_db == 1 ]] && echo MariaDB || echo memory)" >&2
n=${#setups[@]}
for ((i = 1; i <= runs; i++)); do
  k=$(((i - 1) % n))
  order=("${setups[@]:k}" "${setups[@]:0:k}")
  [[ $cases == *" saturation "* ]] && for s in "${order[@]}"; do
    run "$s" saturation "$i" -- -s fanout -c 100 -w 16 --connect-rate 2000 --size 64 -d "$dur" --warmup "$warm" --drain 10
  done
  [[ $cases == *" fixed "* ]] && for s in "${order[@]}"; do
    run "$s" fixed "$i" -- -s fanout -c 500 -r 2000 --connect-rate 2000 --size 64 -d "$dur" --warmup "$warm" --drain 10
  done
  [[ $cases == *" storm "* ]] && for s in "${order[@]}"; do
    run "$s" storm "$i" -- -s storm -c "$storm" --login-wait 60
  done
done

python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
setups = []
for r in rows:
    if r["setup"] not in setups: setups.append(r["setup"])
name = lambda s: "one server" if s == "single" else s + (" node" if s == "1" else " nodes")
def vals(setup, case, key):
    return [float(r[key]) for r in rows if r["setup"] == setup and r["case"] == case and r[key] != ""]
metrics = []
for case, what in (("saturation", "100 clients, W=16"), ("fixed", "500 clients, 2000 msg/s")):
    metrics += [(case, "delivered_per_s", f"{case}: deliveries/s ({what})", 1, "{:,.0f}"),
                (case, "p50_ns", "  p50 (ms)", 1e6, "{:.2f}"),
                (case, "p99_ns", "  p99 (ms)", 1e6, "{:.2f}"),
                (case, "missing", "  missing deliveries", 1, "{:,.0f}"),
                (case, "order_mismatches", "  receivers out of the one order", 1, "{:,.0f}"),
                (case, "redis_cpu_us_per_msg", "  Redis CPU us/public message", 1, "{:.1f}"),
                (case, "redis_cmd_us_per_msg", "  Redis command time us/message", 1, "{:.1f}"),
                (case, "redis_calls_per_msg", "  Redis commands/message (in scripts too)", 1, "{:.2f}"),
                (case, "evalsha_per_msg", "    EVALSHA/message", 1, "{:.2f}"),
                (case, "xread_per_msg", "    XREAD/message", 1, "{:.2f}")]
metrics += [("storm", "login_s", "storm: seconds to log all in", 1, "{:.2f}"),
            ("storm", "logged_in", "  clients logged in", 1, "{:,.0f}")]
w = 34  # "3,818,240 (3,634,080-3,942,400)" and a space
print("\n%-46s" % "median (min-max)" + "".join("%-*s" % (w, name(s)) for s in setups))
for case, key, label, div, f in metrics:
    if not any(r["case"] == case for r in rows): continue
    line = "%-46s" % label
    for s in setups:
        v = [x / div for x in vals(s, case, key)]
        if not v:
            line += "%-*s" % (w, "-"); continue
        cell = f.format(statistics.median(v))
        if len(v) > 1: cell += " (" + f.format(min(v)) + "-" + f.format(max(v)) + ")"
        line += "%-*s" % (w, cell + " ")
    print(line)
bad = [r for r in rows if r["ok"] != "True"]
print("\nevery run ok (all delivered once, in one order, all logged in)" if not bad else
      "\nNOT ok: " + ", ".join(f"{r['setup']} {r['case']} round {r['round']}" for r in bad))
PY
echo "bench-cluster: CSV in $csv" >&2
