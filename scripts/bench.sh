#!/usr/bin/env bash
# make bench: chatd against ngIRCd and InspIRCd with the same load tester.
# Builds Release, then for each server runs the standard scenarios (RUNS times
# each, the server restarted before every run), an offered-load sweep, and
# prints one table (medians, min-max, ratios to chatd). Writes CSV and a
# gnuplot PNG into bench/results/.
#   scripts/bench.sh                 everything (about 20-25 minutes on 2 cores)
#   QUICK=1 scripts/bench.sh         shorter runs, 1 repetition (a few minutes)
#   SERVERS="chatd ngircd" RUNS=5 BUILD=build-x scripts/bench.sh
# Then chatd alone: storage (scripts/bench-storage.sh, SKIP_STORAGE=1 skips it),
# accounts (scripts/bench-auth.sh, about 15-20 minutes more, SKIP_AUTH=1 skips it)
# and TLS (scripts/bench-tls.sh: native TLS against plain TCP and stunnel4, about
# 8-10 minutes more, SKIP_TLS=1 skips it), and the cluster (scripts/bench-cluster.sh:
# one chatd against 1, 2 and 3 nodes, 10-15 minutes more, SKIP_CLUSTER=1 skips it).
# Server and load run on different CPUs (taskset) when there are two or more.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

BUILD="${BUILD:-build}"
RUNS="${RUNS:-3}"
SERVERS="${SERVERS:-chatd ngircd inspircd}"
QUICK="${QUICK:-0}"
PORT_BASE="${PORT_BASE:-15600}"
out="$root/bench/results"
var="$root/var/bench"
mkdir -p "$out" "$var"
stamp="$(date +%Y%m%d-%H%M%S)"
csv="$out/bench-$stamp.csv"
sweep_csv="$out/sweep-$stamp.csv"

if [[ "$QUICK" == 1 ]]; then
  RUNS="${RUNS_QUICK:-1}"; DUR=4; WARM=1; STORM=3000; IDLE=3000; SWEEP_DUR=3; PEER_WAIT=30
else
  DUR=10; WARM=2; STORM=10000; IDLE=10000; SWEEP_DUR=5; PEER_WAIT=60
fi

echo "== bench: installing what is missing, building Release in $BUILD" >&2
scripts/install-deps.sh --bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target chatd chat-load -j "$(nproc)" >/dev/null
load_bin="$root/$BUILD/chat-load"
chatd_bin="$root/$BUILD/chatd"

# Enough descriptors for 10,000 clients on each side of the loopback.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $((STORM + 100)) ]]; then
  echo "bench: fd limit $(ulimit -n) is below $STORM clients: run scripts/tune.sh and raise ulimit -n" >&2
  exit 1
fi
scripts/tune.sh --check >/dev/null 2>&1 || echo "bench: note: scripts/tune.sh --check reports low limits (see docs/benchmarks.md)" >&2

srv_cpu=(); load_cpu=()
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  srv_cpu=(taskset -c 0); load_cpu=(taskset -c 1)
fi

pid=""
stop_server() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=""
}
trap stop_server EXIT INT TERM

port_of() { case "$1" in chatd) echo "$PORT_BASE" ;; ngircd) echo $((PORT_BASE + 1)) ;; inspircd) echo $((PORT_BASE + 2)) ;; esac; }
proto_of() { [[ "$1" == chatd ]] && echo chat || echo irc; }

start_server() {
  local name="$1" port; port="$(port_of "$1")"
  stop_server
  if ss -Htln "sport = :$port" | grep -q .; then echo "bench: port $port is busy" >&2; exit 1; fi
  case "$name" in
    chatd)
      "${srv_cpu[@]}" "$chatd_bin" --bind 127.0.0.1 --port "$port" --rate 0 --max-per-ip 0 \
        --login-timeout 120 --log-level warn > "$var/chatd.log" 2>&1 &
      ;;
    ngircd)
      sed "s|@PORT@|$port|; s|@VAR@|$var|" bench/ngircd.conf > "$var/ngircd.conf"
      "${srv_cpu[@]}" ngircd -n -f "$var/ngircd.conf" > "$var/ngircd.log" 2>&1 &
      ;;
    inspircd)
      sed "s|@PORT@|$port|; s|@VAR@|$var|" bench/inspircd.conf > "$var/inspircd.conf"
      echo "benchmark" > "$var/inspircd.motd"
      "${srv_cpu[@]}" inspircd --nofork --runasroot --config "$var/inspircd.conf" > "$var/inspircd.log" 2>&1 &
      ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    ss -Htln "sport = :$port" | grep -q . && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: $name did not start; its log:" >&2
  cat "$var/$name.log" >&2
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0; }

# run SERVER SCENARIO RUN -- chat-load args: one row in the CSV.
run() {
  local name="$1" scen="$2" n="$3"; shift 4
  start_server "$name"
  local port; port="$(port_of "$name")"
  local json="$var/$name-$scen-$n.json"
  local rss0; rss0="$(rss_kib)"
  local cpu0; cpu0="$(cpu_ticks)"
  # Sample the server's RSS twice a second while the load runs.
  ( while kill -0 "$pid" 2>/dev/null; do rss_kib; sleep 0.5; done ) > "$var/rss.txt" 2>/dev/null &
  local sampler=$!
  "${load_cpu[@]}" "$load_bin" -p "$port" --proto "$(proto_of "$name")" -q --json-file "$json" "$@" \
    > "$var/last.out" 2> "$var/last.err" || true
  local cpu1; cpu1="$(cpu_ticks)"
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  # The idle hold ends with one message and a short drain: take the RSS about 2 s before the end.
  local rss_hold; rss_hold="$(tail -n 4 "$var/rss.txt" | head -n 1)"
  stop_server
  [[ -s "$json" ]] || { echo "bench: $name $scen produced no result:" >&2; tail -5 "$var/last.err" >&2; return 0; }
  python3 - "$json" "$name" "$scen" "$n" "$rss0" "${rss_hold:-0}" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" >> "$csv" <<'PY'
import json, sys
f, name, scen, n, rss0, rss1, c0, c1, hz = sys.argv[1:]
r = json.load(open(f))
deliv = r["delivered"] + r["foreign"]
cpu_s = (int(c1) - int(c0)) / int(hz)
ns_per = cpu_s * 1e9 / deliv if deliv else 0
per_conn = (int(rss1) - int(rss0)) * 1024 / r["logged_in"] if r["logged_in"] else 0
lat = r["latency_ns"]
print(",".join(str(x) for x in [name, scen, n, r["ok"], r["logged_in"], r["clients"], r["login_s"],
      r["offered_rate"], round(r["deliveries_per_s"]), r["missing"], lat["p50"], lat["p99"], lat["p999"] if "p999" in lat else lat.get("p99.9", 0),
      lat["max"], round(ns_per), int(rss1), round(per_conn)]))
PY
  tail -n 1 "$csv" >&2
}

echo "server,scenario,run,ok,logged_in,clients,login_s,offered,delivered_per_s,missing,p50_ns,p99_ns,p999_ns,max_ns,server_cpu_ns_per_delivery,rss_kib,rss_bytes_per_conn" > "$csv"
for s in $SERVERS; do
  wait_login=30; [[ "$s" == chatd ]] || wait_login=$PEER_WAIT
  for ((i = 1; i <= RUNS; i++)); do
    echo "== $s run $i/$RUNS" >&2
    run "$s" saturation "$i" -- -s fanout -c 100 -w 16 --connect-rate 2000 --size 64 -d "$DUR" --warmup "$WARM" --drain 10
    run "$s" fixed "$i" -- -s fanout -c 500 -r 2000 --connect-rate 2000 --size 64 -d "$DUR" --warmup "$WARM" --drain 10
    run "$s" storm "$i" -- -s storm -c "$STORM" --login-wait "$wait_login"
  done
  run "$s" idle 1 -- -s idle -c "$IDLE" -d 6 --login-wait "$wait_login" --drain 20
  for rate in 250 500 1000 2000 4000; do
    run "$s" "sweep$rate" 1 -- -s fanout -c 500 -r "$rate" --connect-rate 2000 --size 64 -d "$SWEEP_DUR" --warmup 1 --drain 5
  done
done

python3 - "$csv" "$sweep_csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
servers = []
for r in rows:
    if r["server"] not in servers: servers.append(r["server"])
def vals(server, scen, key):
    return [float(r[key]) for r in rows if r["server"] == server and r["scenario"] == scen]
metrics = [
    ("saturation", "delivered_per_s", "deliveries/s, 100 clients, W=16", 1, "{:,.0f}"),
    ("saturation", "p99_ns", "  p99 latency (ms)", 1e6, "{:.2f}"),
    ("fixed", "delivered_per_s", "deliveries/s, 500 clients, 2000 msg/s", 1, "{:,.0f}"),
    ("fixed", "p99_ns", "  p99 latency (ms)", 1e6, "{:.2f}"),
    ("fixed", "missing", "  missing deliveries", 1, "{:,.0f}"),
    ("fixed", "server_cpu_ns_per_delivery", "  server CPU ns/delivery", 1, "{:,.0f}"),
    ("storm", "login_s", "storm: seconds to log all in", 1, "{:.2f}"),
    ("storm", "logged_in", "  clients logged in", 1, "{:,.0f}"),
    ("idle", "rss_bytes_per_conn", "idle: server RSS bytes/conn", 1, "{:,.0f}"),
]
w = 32
print("\n%-40s" % "median (min-max) [ratio to chatd]" + "".join("%-*s" % (w + 10, s) for s in servers))
for scen, key, label, div, f in metrics:
    line = "%-40s" % label
    base = None
    for s in servers:
        v = [x / div for x in vals(s, scen, key)]
        if not v:
            line += "%-*s" % (w + 10, "-"); continue
        m = statistics.median(v)
        if s == "chatd": base = m
        cell = f.format(m)
        if len(v) > 1: cell += " (" + f.format(min(v)) + "-" + f.format(max(v)) + ")"
        if base and s != "chatd" and m: cell += " [%.2gx]" % (m / base)
        line += "%-*s" % (w + 10, cell)
    print(line)
with open(sys.argv[2], "w") as o:
    o.write("server,offered_msgs,delivered_per_s,p99_ms\n")
    for r in rows:
        if r["scenario"].startswith("sweep"):
            o.write("%s,%s,%s,%.3f\n" % (r["server"], r["scenario"][5:], r["delivered_per_s"], float(r["p99_ns"]) / 1e6))
PY

if command -v gnuplot >/dev/null; then
  png="$out/sweep-$stamp.png"
  plots1=(); plots2=()
  for s in $SERVERS; do
    grep "^$s," "$sweep_csv" | cut -d, -f2- | tr ',' ' ' > "$var/sweep-$s.dat" || true
    plots1+=("'$var/sweep-$s.dat' using 1:2 with linespoints title '$s'")
    plots2+=("'$var/sweep-$s.dat' using 1:3 with linespoints title '$s'")
  done
  join() { local IFS=','; echo "$*"; }
  gnuplot <<GP || echo "bench: gnuplot failed" >&2
set terminal png size 1100,480
set output '$png'
set multiplot layout 1,2 title 'chatd vs IRC servers: 500 clients in one room, 64-byte messages'
set xlabel 'offered messages/s (x500 deliveries)'
set ylabel 'deliveries/s'
set key top left
set grid
plot $(join "${plots1[@]}")
set ylabel 'p99 latency (ms)'
set logscale y
plot $(join "${plots2[@]}")
unset multiplot
GP
  echo "bench: plot in $png" >&2
fi
echo "bench: CSV in $csv and $sweep_csv" >&2

# Storage: batched against one commit per message, and p99 with and without the database.
if [[ "${SKIP_STORAGE:-0}" != 1 ]]; then
  RUNS=$RUNS scripts/bench-storage.sh "$BUILD" || echo "bench: storage figures failed" >&2
fi
# Accounts: password checks per second, and the fan-out's p99 while 500 account logins arrive at once.
if [[ "${SKIP_AUTH:-0}" != 1 ]]; then
  RUNS=$RUNS scripts/bench-auth.sh "$BUILD" || echo "bench: accounts figures failed" >&2
fi
# TLS: saturation and fixed load over native TLS, plain TCP and stunnel4; idle RSS per TLS connection; handshakes/s.
if [[ "${SKIP_TLS:-0}" != 1 ]]; then
  RUNS=$RUNS QUICK=$QUICK scripts/bench-tls.sh "$BUILD" || echo "bench: TLS figures failed" >&2
fi
# Cluster: the standard scenarios on one chatd and on 1, 2 and 3 nodes; Redis's CPU and calls per message.
if [[ "${SKIP_CLUSTER:-0}" != 1 ]]; then
  RUNS=$RUNS DURATION=$DUR WARM=$WARM STORM=$STORM scripts/bench-cluster.sh "$BUILD" || echo "bench: cluster figures failed" >&2
fi
