#!/usr/bin/env bash
# TLS figures for docs/benchmarks.md (part of `make bench`), side by side in
# one run, each repeated RUNS times (medians, min-max), the server restarted
# before every run:
#  1. saturation (100 clients, W=16) and fixed load (500 clients, 2,000
#     msg/s offered = 1 M deliveries/s) over plain TCP, over chatd's native
#     TLS, and over plain chatd behind stunnel4 (the set-up docs/security.md
#     recommended before chatd spoke TLS); the order of the three rotates
#     from round to round so a drift of the machine favours none;
#  2. chatd's idle RSS per connection after a storm of IDLE (10,000) logins
#     (IDLE_RATE, 500 connections/s), TLS against plain;
#  3. full TLS handshakes per second (ECDHE, scripts/cert.sh's P-256
#     certificate, no resumption) with chatd on one core: chat-load -s
#     handshake (connect, handshake, HELLO, close) from HS_CLIENTS slots.
# The server side (chatd, and stunnel with it) runs on CPU 0 and chat-load on
# CPU 1 (taskset) when there are two CPUs or more. Prints one table with the
# targets of the TLS work and whether each is met; the load average is logged
# before every run and kept in the CSV.
#   scripts/bench-tls.sh [BUILD_DIR]
#   RUNS=5 DUR=10 scripts/bench-tls.sh build
#   QUICK=1 scripts/bench-tls.sh      one round, shorter runs
#   CASES="idle handshake" scripts/bench-tls.sh   only some of saturation fixed idle handshake
#   PERF=1: perf record -g on chatd during the TLS saturation and idle-storm runs of round 1
#           (bench/results/perf-tls-*.data)
#   SERVER_CPU=0.5: the server side (chatd, or chatd and stunnel together) gets that many CPUs
#           of time (a cgroup CPU quota, as root) so that it, not chat-load, is what saturates:
#           on two cores chat-load decrypts in one thread and sets the pace otherwise.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=ports.sh
. "$root/scripts/ports.sh"
build=${1:-${BUILD:-build}}
runs=${RUNS:-3}
dur=${DUR:-8}
warm=${WARM:-2}
idle=${IDLE:-10000}
# The storm arrives at IDLE_RATE connections/s, and its clients do not verify the certificate
# (chatd's side of the handshake is the same): all at once, or at 1,000/s verifying, a loaded 2-core
# machine cannot finish 10,000 handshakes within the 10 s chatd allows each one (PROTOCOL.md, "TLS").
idle_rate=${IDLE_RATE:-500}
# CASES: which of saturation fixed idle handshake to run (default all).
cases=" ${CASES:-saturation fixed idle handshake} "
hs_clients=${HS_CLIENTS:-64}
hs_dur=${HS_DUR:-8}
if [[ ${QUICK:-0} == 1 ]]; then runs=1; dur=4; warm=1; hs_dur=4; fi
port_base=${PORT_BASE:-15700}
plain_port=$port_base tls_port=$((port_base + 1)) tunnel_port=$((port_base + 2))

if ! command -v stunnel4 > /dev/null; then scripts/install-deps.sh --bench; fi
cmake --build "$build" --target chatd chat-load -j "$(nproc)" > /dev/null
chatd_bin=$root/$build/chatd
load_bin=$root/$build/chat-load
out=$root/bench/results
var=$root/var/bench-tls
mkdir -p "$out" "$var"
stamp=$(date +%Y%m%d-%H%M%S)
csv=$out/tls-$stamp.csv
certs=$(CHATD_TLS_DIR=$var/tls scripts/cert.sh)

# Both sides hold IDLE sockets (and chatd a few more): as many descriptors as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $((idle + 100)) ]]; then
  echo "bench-tls: fd limit $(ulimit -n) is below $idle clients: raise ulimit -n (scripts/tune.sh)" >&2
  exit 1
fi
srv_cpu=(); load_cpu=()
if [[ $(nproc) -ge 2 ]] && command -v taskset > /dev/null; then srv_cpu=(taskset -c 0); load_cpu=(taskset -c 1); fi

# SERVER_CPU: a CPU quota for the server side, in a cgroup of its own (v1 cpu controller or v2).
cgroup=""
server_cpu=${SERVER_CPU:-}
if [[ -n $server_cpu ]]; then
  quota=$(awk -v c="$server_cpu" 'BEGIN { if (c + 0 <= 0) exit 1; printf "%d", c * 100000 }') ||
    { echo "bench-tls: SERVER_CPU=$server_cpu is not a positive number of CPUs" >&2; exit 1; }
  if [[ -w /sys/fs/cgroup/cpu/cgroup.procs ]]; then
    cgroup=/sys/fs/cgroup/cpu/chatd-bench-tls-$$
    mkdir "$cgroup" && echo 100000 > "$cgroup/cpu.cfs_period_us" && echo "$quota" > "$cgroup/cpu.cfs_quota_us"
  elif [[ -w /sys/fs/cgroup/cgroup.subtree_control ]] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control; then
    cgroup=/sys/fs/cgroup/chatd-bench-tls-$$
    mkdir "$cgroup" && echo "$quota 100000" > "$cgroup/cpu.max"
  else
    echo "bench-tls: SERVER_CPU needs a writable cgroup cpu controller (run as root)" >&2; exit 1
  fi
fi
to_budget() {  # to_budget PID: into the server side's cgroup; threads it starts later follow
  [[ -z $cgroup ]] || echo "$1" > "$cgroup/cgroup.procs"
}

pids=()  # the server side: chatd, then stunnel when there is one
stop_server() {
  stop_children "${pids[@]}"
  pids=()
}
finish() {
  stop_server
  [[ -z $cgroup ]] || rmdir "$cgroup" 2>/dev/null || true
}
trap finish EXIT INT TERM

wait_port() {  # wait_port PORT PID NAME
  for _ in $(seq 100); do
    ss -Htln "sport = :$1" | grep -q . && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench-tls: $3 did not start; its log:" >&2
  cat "$var/$3.log" >&2
  exit 1
}

# start_server plain|tls|stunnel: sets pids and port (where chat-load connects).
start_server() {
  stop_server
  local p
  for p in $plain_port $tls_port $tunnel_port; do
    if ss -Htln "sport = :$p" | grep -q .; then echo "bench-tls: port $p is busy" >&2; exit 1; fi
  done
  local args=(--bind 127.0.0.1 --rate 0 --max-per-ip 0 --login-timeout 120 --log-level warn)
  case $1 in
    tls)  # TLS only (--port 0 with a certificate)
      "${srv_cpu[@]}" "$chatd_bin" "${args[@]}" --port 0 --tls-port "$tls_port" \
        --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" > "$var/chatd.log" 2>&1 &
      pids=($!); port=$tls_port ;;
    *)
      "${srv_cpu[@]}" "$chatd_bin" "${args[@]}" --port "$plain_port" > "$var/chatd.log" 2>&1 &
      pids=($!); port=$plain_port ;;
  esac
  to_budget "${pids[0]}"
  wait_port "$port" "${pids[0]}" chatd
  if [[ $1 == stunnel ]]; then
    # Server mode in front of chatd, Nagle off on both of its sockets as chatd has it, on chatd's CPU.
    cat > "$var/stunnel.conf" <<CONF
foreground = yes
pid =
debug = 3
output = $var/stunnel.log
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
[chatd]
accept = 127.0.0.1:$tunnel_port
connect = 127.0.0.1:$plain_port
cert = $certs/server.pem
key = $certs/server.key
CONF
    : > "$var/stunnel.log"
    "${srv_cpu[@]}" stunnel4 "$var/stunnel.conf" >> "$var/stunnel.log" 2>&1 &
    pids+=($!); port=$tunnel_port
    to_budget "${pids[1]}"
    wait_port "$port" "${pids[1]}" stunnel
  fi
}

cpu_ticks() {  # the server side's CPU time (every thread), in clock ticks
  local p t=0
  for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo $t
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/${pids[0]}/status" 2>/dev/null || echo 0; }

# run MODE CASE ROUND -- chat-load args: one CSV row.
run() {
  local mode=$1 case=$2 round=$3; shift 4
  start_server "$mode"
  local tls_args=()
  [[ $mode == plain ]] || tls_args=(--tls --tls-ca "$certs/ca.pem")
  [[ $mode == plain || $case != idle ]] || tls_args=(--tls --tls-insecure)
  local json=$var/$mode-$case-$round.json load
  load=$(cut -d' ' -f1 /proc/loadavg)
  rm -f "$json"
  local rss0 cpu0 cpu1 perf_pid=""
  rss0=$(rss_kib); cpu0=$(cpu_ticks)
  ( while kill -0 "${pids[0]}" 2>/dev/null; do rss_kib; sleep 0.5; done ) > "$var/rss.txt" 2>/dev/null &
  local sampler=$!
  if [[ ${PERF:-0} == 1 && $round == 1 && $mode == tls && ($case == saturation || $case == idle) ]]; then
    perf record -g -o "$out/perf-tls-$case-$stamp.data" -p "${pids[0]}" > "$var/perf.log" 2>&1 &
    perf_pid=$!
  fi
  echo "== round $round: $mode $case (load average $load)" >&2
  "${load_cpu[@]}" "$load_bin" -H 127.0.0.1 -p "$port" "${tls_args[@]}" -q --json-file "$json" "$@" \
    > "$var/last.out" 2> "$var/last.err" || true
  cpu1=$(cpu_ticks)
  [[ -n $perf_pid ]] && { kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; }
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  # The idle hold ends with one message and a short drain: the RSS about 2 s before the end.
  local rss_hold
  rss_hold=$(tail -n 4 "$var/rss.txt" | head -n 1)
  stop_server
  [[ -s $json ]] || { echo "bench-tls: $mode $case produced no result:" >&2; tail -5 "$var/last.err" >&2; return 0; }
  python3 - "$json" "$mode" "$case" "$round" "$load" "$rss0" "${rss_hold:-0}" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" >> "$csv" <<'PY'
import json, sys
f, mode, case, rnd, load, rss0, rss1, c0, c1, hz = sys.argv[1:]
r = json.load(open(f))
cpu_s = (int(c1) - int(c0)) / int(hz)
deliv = r["measured_deliveries"] + r["foreign_measured"]
per_conn = (int(rss1) - int(rss0)) * 1024 / r["logged_in"] if r["logged_in"] else 0
lat = r["latency_ns"]
print(",".join(str(x) for x in [mode, case, rnd, load, r["ok"], r["logged_in"], r["clients"], r["tls_handshakes"],
      r["tls_failures"], round(r["deliveries_per_s"]), r["missing"], lat["p50"], lat["p99"], lat["max"],
      r["sessions"], r["measured_s"], round(cpu_s, 2), round(cpu_s * 1e9 / deliv) if deliv else 0,
      int(rss0), int(rss1), round(per_conn)]))
PY
  tail -n 1 "$csv" >&2
}

echo "mode,case,round,load1,ok,logged_in,clients,tls_handshakes,tls_failures,delivered_per_s,missing,p50_ns,p99_ns,max_ns,sessions,measured_s,server_cpu_s,server_cpu_ns_per_delivery,rss0_kib,rss_kib,rss_bytes_per_conn" > "$csv"
echo "== bench-tls: $runs rounds; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)${server_cpu:+; the server side limited to $server_cpu CPU}" >&2
modes=(plain tls stunnel)
for ((i = 1; i <= runs; i++)); do
  order=("${modes[@]:$(((i - 1) % 3))}" "${modes[@]:0:$(((i - 1) % 3))}")
  [[ $cases == *" saturation "* ]] && for m in "${order[@]}"; do
    run "$m" saturation "$i" -- -s fanout -c 100 -w 16 --connect-rate 2000 --size 64 -d "$dur" --warmup "$warm" --drain 10
  done
  [[ $cases == *" fixed "* ]] && for m in "${order[@]}"; do
    run "$m" fixed "$i" -- -s fanout -c 500 -r 2000 --connect-rate 2000 --size 64 -d "$dur" --warmup "$warm" --drain 10
  done
  [[ $cases == *" idle "* ]] && for m in "${order[@]}"; do
    [[ $m == stunnel ]] && continue
    run "$m" idle "$i" -- -s idle -c "$idle" -d 6 --connect-rate "$idle_rate" --login-wait 60 --drain 20
  done
  [[ $cases == *" handshake "* ]] && for m in "${order[@]}"; do
    [[ $m == stunnel ]] && continue
    run "$m" handshake "$i" -- -s handshake -c "$hs_clients" -d "$hs_dur"
  done
done
echo "== bench-tls: done; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$csv" "$server_cpu" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if sys.argv[2]: print("\nthe server side (chatd, and stunnel with it) limited to %s CPU by a cgroup quota" % sys.argv[2])
def vals(mode, case, key, f=float):
    return [f(r[key]) for r in rows if r["mode"] == mode and r["case"] == case]
def med(mode, case, key):
    v = vals(mode, case, key)
    return statistics.median(v) if v else None
def cell(mode, case, key, div=1.0, fmt="{:,.0f}"):
    v = [x / div for x in vals(mode, case, key)]
    if not v: return "-"
    s = fmt.format(statistics.median(v))
    return s + (" (" + fmt.format(min(v)) + "-" + fmt.format(max(v)) + ")" if len(v) > 1 else "")
def hs_rate(mode):  # handshakes (sessions) per second, and per second of chatd CPU
    r = [float(x["sessions"]) / float(x["measured_s"]) for x in rows if x["mode"] == mode and x["case"] == "handshake" and float(x["measured_s"]) > 0]
    c = [float(x["sessions"]) / float(x["server_cpu_s"]) for x in rows if x["mode"] == mode and x["case"] == "handshake" and float(x["server_cpu_s"]) > 0]
    return r, c
def fmt_list(v, fmt="{:,.0f}"):
    if not v: return "-"
    s = fmt.format(statistics.median(v))
    return s + (" (" + fmt.format(min(v)) + "-" + fmt.format(max(v)) + ")" if len(v) > 1 else "")
loads = [float(r["load1"]) for r in rows]
print("\nTLS: median (min-max) of %d rounds; load average during the runs %.1f-%.1f (median %.1f)" %
      (len({r["round"] for r in rows}), min(loads), max(loads), statistics.median(loads)))
w = 30
print("%-44s%-*s%-*s%-*s" % ("", w, "plain TCP", w, "native TLS", w, "stunnel4 + plain chatd"))
def line(label, case, key, div=1.0, fmt="{:,.0f}", modes=("plain", "tls", "stunnel")):
    print("%-44s" % label + "".join("%-*s" % (w, cell(m, case, key, div, fmt)) for m in modes))
line("saturation: deliveries/s (100 cl., W=16)", "saturation", "delivered_per_s")
line("  p99 latency (ms)", "saturation", "p99_ns", 1e6, "{:.2f}")
line("  server CPU ns/delivery", "saturation", "server_cpu_ns_per_delivery")
line("fixed: deliveries/s (500 cl., 1 M/s offered)", "fixed", "delivered_per_s")
line("  missing deliveries", "fixed", "missing")
line("  p50 latency (ms)", "fixed", "p50_ns", 1e6, "{:.2f}")
line("  p99 latency (ms)", "fixed", "p99_ns", 1e6, "{:.2f}")
line("  server CPU ns/delivery", "fixed", "server_cpu_ns_per_delivery")
line("idle after a storm: clients logged in", "idle", "logged_in", modes=("plain", "tls"))
line("  chatd RSS (KiB)", "idle", "rss_kib", modes=("plain", "tls"))
line("  chatd RSS bytes per connection", "idle", "rss_bytes_per_conn", modes=("plain", "tls"))
pr, pc = hs_rate("plain"); tr, tc = hs_rate("tls")
print("%-44s%-*s%-*s" % ("handshake: connect-HELLO-close per second", w, fmt_list(pr), w, fmt_list(tr)))
print("%-44s%-*s%-*s" % ("  per second of chatd CPU (one core)", w, fmt_list(pc), w, fmt_list(tc)))

# A round's three runs follow one another, so their ratio is less exposed to the machine's drift
# than a ratio of medians taken over all rounds.
def round_ratios(case, key, a, b):
    out = []
    for rnd in sorted({r["round"] for r in rows}):
        x = [float(r[key]) for r in rows if r["mode"] == a and r["case"] == case and r["round"] == rnd]
        y = [float(r[key]) for r in rows if r["mode"] == b and r["case"] == case and r["round"] == rnd]
        if x and y and y[0] > 0: out.append(x[0] / y[0])
    return out
print("\nratios within a round, median (min-max)")
for label, case, key, a, b in (("saturation deliveries/s, TLS / plain", "saturation", "delivered_per_s", "tls", "plain"),
                               ("saturation deliveries/s, TLS / stunnel", "saturation", "delivered_per_s", "tls", "stunnel"),
                               ("saturation CPU ns/delivery, plain / TLS", "saturation", "server_cpu_ns_per_delivery", "plain", "tls"),
                               ("saturation CPU ns/delivery, stunnel / TLS", "saturation", "server_cpu_ns_per_delivery", "stunnel", "tls"),
                               ("fixed p99, TLS / plain", "fixed", "p99_ns", "tls", "plain")):
    print("  %-44s%s" % (label, fmt_list(round_ratios(case, key, a, b), "{:.2f}")))

print("\ntargets (on the ratios within a round)")
def verdict(ok): return "MET" if ok else "MISSED"
tp, ts = round_ratios("saturation", "delivered_per_s", "tls", "plain"), round_ratios("saturation", "delivered_per_s", "tls", "stunnel")
if tp:
    print("  saturation, native TLS >= 0.5x plain:       %.2fx  %s" % (statistics.median(tp), verdict(statistics.median(tp) >= 0.5)))
if ts:
    print("  saturation, native TLS >= 2x stunnel:       %.2fx  %s" % (statistics.median(ts), verdict(statistics.median(ts) >= 2)))
miss = vals("tls", "fixed", "missing")
p99p, p99t = med("plain", "fixed", "p99_ns"), med("tls", "fixed", "p99_ns")
if miss:
    print("  fixed, every message delivered over TLS:    %d missing in all rounds  %s" % (sum(miss), verdict(sum(miss) == 0 and all(r["ok"] == "True" for r in rows if r["mode"] == "tls" and r["case"] == "fixed"))))
fr = round_ratios("fixed", "p99_ns", "tls", "plain")
if p99p and p99t and fr:
    print("  fixed, TLS p99 <= 2x plain p99:             %.2f ms vs %.2f ms (medians), %.2fx  %s" % (p99t / 1e6, p99p / 1e6, statistics.median(fr), verdict(statistics.median(fr) <= 2)))
rt, rp = med("tls", "idle", "rss_bytes_per_conn"), med("plain", "idle", "rss_bytes_per_conn")
if rt is not None:
    print("  idle RSS <= 8 KiB per TLS connection:       %.0f bytes (plain %.0f, TLS's own %.0f)  %s" % (rt, rp or 0, rt - (rp or 0), verdict(rt <= 8192)))
PY
echo "bench-tls: CSV in $csv" >&2
