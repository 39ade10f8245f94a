#!/usr/bin/env bash
# Target 5 of the benchmarks over a cluster: N (default 50,000) logged-in
# clients over NODES (3) chatd nodes on this machine, every process under
# FD_LIMIT (19,999) descriptors: each node gets N/NODES clients, and the
# clients come from PROCS chat-load processes (scripts/loadtest.sh -k PROCS,
# as many clients each, client i of a process on node i mod NODES). Once everyone is in and
# has been held HOLD seconds, client 0 of every process sends one message,
# which must reach every one of the N clients (each process waits for its own
# message and the PROCS-1 others). Reports the login time, the deliveries and
# each node's RSS: before, peak, held (while everyone is in, 2 s before the
# end) and held minus before per connection. Run scripts/tune.sh first; the
# nodes share the private Redis (and MariaDB, DB=1), both started if need be
# and left running. scripts/scale.sh is the same for one chatd.
#   scripts/scale-cluster.sh [N] [BUILD_DIR]
#   NODES=3 PROCS=3 scripts/scale-cluster.sh 50000
#   scripts/scale-cluster.sh 3000            a small try
# Environment: NODES (3), PROCS (the fewest under FD_LIMIT that divide N), FD_LIMIT
# (19999), CONNECT_RATE (5000 connections/s over all processes), HOLD (30 s;
# it must also cover the gap between the processes' ends of login, or the
# late ones' clients miss the early ones' message), LOGIN_WAIT (900 s),
# DRAIN (120 s), PORT_BASE (15900: node K on PORT_BASE+K), REDIS_DB (11: a
# database no test uses), DB (1: nodes store in MariaDB; 0: in memory as
# scripts/scale.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=ports.sh
. "$root/scripts/ports.sh"
# shellcheck source=cluster-servers.sh
. "$root/scripts/cluster-servers.sh"
case ${1:-} in -h|--help) sed -n '2,/^set /{/^set /!p}' "$0"; exit 0 ;; esac
n=${1:-50000}
build=${2:-build}
nodes=${NODES:-3}
fd_limit=${FD_LIMIT:-19999}
rate=${CONNECT_RATE:-5000}
hold=${HOLD:-30}
login_wait=${LOGIN_WAIT:-900}
drain=${DRAIN:-120}
port_base=${PORT_BASE:-15900}
redis_db=${REDIS_DB:-11}
use_db=${DB:-1}
die() { echo "scale-cluster: $*" >&2; exit 2; }
for v in "$n" "$nodes" "$fd_limit" "$rate" "$hold" "$login_wait" "$drain" "$port_base" "$redis_db"; do
  [[ $v =~ ^[0-9]+$ ]] || die "not a whole number: '$v' (see --help)"
done
[[ $n -ge 1 && $nodes -ge 1 && $nodes -le 9 ]] || die "N must be 1 or more and NODES 1-9"
[[ $use_db == 0 || $use_db == 1 ]] || die "DB is 0 or 1"
# Room in each process for what is not a client: listening and Redis sockets, the database, logs.
slack=200
per_node=$(((n + nodes - 1) / nodes))
[[ $((per_node + slack)) -le $fd_limit ]] || die "$per_node clients per node do not fit under $fd_limit fds: more NODES"
if [[ -n ${PROCS:-} ]]; then
  procs=$PROCS
else  # the fewest processes that fit, and that share N out evenly (50,000: 4 of 12,500)
  procs=$(((n + fd_limit - slack - 1) / (fd_limit - slack)))
  while ((n % procs)); do procs=$((procs + 1)); done
fi
[[ $procs =~ ^[0-9]+$ && $procs -ge 1 && $procs -le 250 ]] || die "PROCS must be 1-250"
[[ $((n % procs)) -eq 0 ]] || die "N ($n) must be a multiple of PROCS ($procs): every process gets as many clients"
per_proc=$((n / procs))
[[ $((per_proc + slack)) -le $fd_limit ]] || die "$per_proc clients per chat-load process do not fit under $fd_limit fds: more PROCS"
hard=$(ulimit -Hn)
[[ $hard == unlimited || $hard -ge $fd_limit ]] || echo "scale-cluster: note: the hard fd limit is $hard; raising it to $fd_limit needs CAP_SYS_RESOURCE (scripts/tune.sh)" >&2

cmake --build "$build" --target chatd chat-load > /dev/null
use_cluster_servers "$use_db" "$redis_db"
rcli flushdb > /dev/null

var=$root/var/scale-cluster
rm -rf "$var"
mkdir -p "$var"
pids=()
sampler=""
cleanup() {
  [[ -n $sampler ]] && stop_children "$sampler"
  stop_children "${pids[@]}"
}
trap cleanup EXIT INT TERM

ports=()
for ((k = 1; k <= nodes; k++)); do
  p=$((port_base + k))
  ss -Htln "sport = :$p" | grep -q . && die "port $p is busy (PORT_BASE)"
  ports+=("$p")
  # A login's roster alone is one USER line per user (~1.3 MB at 50,000): the output limit is raised to fit it.
  prlimit --nofile="$fd_limit:$fd_limit" -- "$build/chatd" --bind 127.0.0.1 --port "$p" --rate 0 --max-per-ip 0 \
    --history 0 --login-timeout 600 --max-outbuf $((8 << 20)) --log-level warn \
    --cluster "$CHATD_REDIS/$redis_db" --node-name "n$k" --journal "$var/n$k.journal" > "$var/n$k.log" 2>&1 &
  pids+=($!)
done
for ((k = 0; k < nodes; k++)); do
  for _ in $(seq 100); do
    ss -Htln "sport = :${ports[k]}" | grep -q . && break
    kill -0 "${pids[k]}" 2>/dev/null || break
    sleep 0.1
  done
  ss -Htln "sport = :${ports[k]}" | grep -q . || { echo "scale-cluster: node n$((k + 1)) did not start:" >&2; cat "$var/n$((k + 1)).log" >&2; exit 1; }
done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
before=(); for p in "${pids[@]}"; do before+=("$(rss "$p")"); done
# Every node's RSS twice a second: one line of KiB per sample, a column per node.
( while :; do line=""; for p in "${pids[@]}"; do line+="$(rss "$p") "; done; echo "$line"; sleep 0.5; done ) > "$var/rss.txt" &
sampler=$!

portlist=$(IFS=,; echo "${ports[*]}")
echo "scale-cluster: $n clients, $nodes nodes ($portlist, $per_node each), $procs chat-load processes of $per_proc, fds $fd_limit each" >&2
ok=yes
prlimit --nofile="$fd_limit:$fd_limit" -- scripts/loadtest.sh -k "$procs" --bin "$build/chat-load" --keep "$var/load" -- \
  --ports "$portlist" -q -s idle -c "$per_proc" -d "$hold" --connect-rate $(((rate + procs - 1) / procs)) \
  --login-wait "$login_wait" --drain "$drain" --expect-foreign $(((procs - 1) * per_proc)) > "$var/merged.txt" 2> "$var/load.err" || ok=no
stop_children "$sampler"
sampler=""
alive=yes; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || alive=no; done
python3 - "$var" "$n" "$nodes" "$procs" "$per_proc" "$ok" "$alive" "${before[*]}" <<'PY'
import glob, json, sys
var, n, nodes, procs, per_proc, ok, alive, before = sys.argv[1:]
n, nodes, procs, per_proc = int(n), int(nodes), int(procs), int(per_proc)
before = [int(x) for x in before.split()]
rs = [json.load(open(f)) for f in sorted(glob.glob(f"{var}/load/*.json"))]
samples = [[int(x) for x in line.split()] for line in open(f"{var}/rss.txt") if len(line.split()) == nodes]
held = samples[-5] if len(samples) >= 5 else (samples[-1] if samples else before)
peak = [max(s[k] for s in samples) for k in range(nodes)] if samples else before
# Client i of every process is on node i mod nodes.
on_node = [procs * len(range(k, per_proc, nodes)) for k in range(nodes)]
logged = sum(r["logged_in"] for r in rs)
login_s = max((r["login_s"] for r in rs), default=0)
got = sum(r["delivered"] + r["foreign"] for r in rs)  # the procs messages, each owed to every client
owed = len(rs) * logged
print(f"clients            {logged} of {n} logged in over {nodes} nodes by {len(rs)} of {procs} processes, login phase {login_s:.1f} s (slowest process)")
print(f"  per process      login phase " + ", ".join(f"{r['login_s']:.1f}" for r in rs) + " s (their spread must stay under HOLD)")
print(f"final messages     {len(rs)} (one per process, each from one client): {got} of {owed} deliveries owed, {max(owed - got, 0)} missing")
for k in range(nodes):
    per = (held[k] - before[k]) * 1024 / on_node[k] if on_node[k] else 0
    print(f"node n{k + 1} RSS        before {before[k]/1024:.1f} MiB, peak {peak[k]/1024:.1f} MiB, held {held[k]/1024:.1f} MiB "
          f"for {on_node[k]} clients: {per:,.0f} bytes per connection")
good = ok == "yes" and alive == "yes" and logged == n and got >= owed and len(rs) == procs
print(f"verdict            {'ok' if good else 'FAILED'}{'' if alive == 'yes' else ' (a node died: see ' + var + '/n*.log)'}")
sys.exit(0 if good else 1)
PY
