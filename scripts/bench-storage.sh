#!/usr/bin/env bash
# Storage figures for docs/benchmarks.md (part of `make bench`):
#  1. messages persisted per second, batched (--db-batch 500) against one
#     INSERT per transaction (--db-batch 1), same machine, same run;
#  2. the reactor's p99 delivery latency at a fixed load with storage in
#     memory and in MariaDB: the storage thread must not show in it.
# Uses the private MariaDB (scripts/db.sh). Each case runs RUNS times (default 3).
#   scripts/bench-storage.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-build}
runs=${RUNS:-3}
chatd=$build/chatd
load=$build/chat-load
[[ -x $chatd && -x $load ]] || { echo "bench-storage: build first (make)" >&2; exit 1; }
scripts/db.sh start >/dev/null
eval "$(scripts/db.sh env)"
export CHATD_DB_PASSWORD
db="$CHATD_DB"
unset CHATD_DB
out=bench/results
mkdir -p "$out" var
tmp=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

sql() { scripts/db.sh shell -N -B -e "$1"; }

start_chatd() {  # start_chatd ARGS...: sets pid and port
  "$chatd" --bind 127.0.0.1 --port 0 --rate 0 --max-per-ip 0 "$@" 2> "$tmp/chatd.log" &
  pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$tmp/chatd.log" | head -1)
    [[ -n $port ]] && return 0
    sleep 0.1
  done
  echo "bench-storage: chatd did not start" >&2; cat "$tmp/chatd.log" >&2; exit 1
}
stop_chatd() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# 1. Persisted per second: a backlog larger than the storage can write while it is sent, then
#    time how long until every accepted message is a row. Rate = rows / (time from the first
#    send to the last row). Batched: 20 senders flood for 1 s (closed loop, several hundred
#    thousand messages); one commit per message: 20,000 messages at 10,000/s.
persist_case() {  # persist_case BATCH -> prints msgs/s
  local batch=$1 before after sent t0 t1 shape
  if [[ $batch == 1 ]]; then shape=(-r 10000 -d 2); else shape=(-w 64 -d 1); fi
  before=$(sql "SELECT COUNT(*) FROM messages")
  start_chatd --db "$db" --db-batch "$batch" --journal "$tmp/journal" --history 0
  t0=$(date +%s.%N)
  "$load" -H 127.0.0.1 -p "$port" -q -s fanout -c 20 "${shape[@]}" --warmup 0 --drain 30 \
    --json-file "$tmp/p.json" > /dev/null 2>&1 || true
  sent=$(python3 -c "import json;print(json.load(open('$tmp/p.json'))['sent'])")
  while :; do
    after=$(sql "SELECT COUNT(*) FROM messages")
    (( after - before >= sent )) && break
    t1=$(date +%s.%N)
    if awk -v a="$t0" -v b="$t1" 'BEGIN{exit !(b-a>600)}'; then echo "bench-storage: rows did not arrive" >&2; break; fi
    sleep 0.05
  done
  t1=$(date +%s.%N)
  stop_chatd
  awk -v n="$((after - before))" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f\n", n/(b-a)}'
}

# 2. p99 at a fixed load: 200 clients, 1,000 msg/s offered (200,000 deliveries/s), 5 s.
latency_case() {  # latency_case ARGS... -> prints p99 in us
  start_chatd "$@" --history 0 --journal "$tmp/journal"
  "$load" -H 127.0.0.1 -p "$port" -q -s fanout -c 200 --senders 20 -r 1000 -d 5 --warmup 1 \
    --json-file "$tmp/l.json" > /dev/null 2>&1 || true
  stop_chatd
  python3 -c "import json;print(round(json.load(open('$tmp/l.json'))['latency_ns']['p99']/1000))"
}

echo "case,run,value" > "$out/storage.csv"
declare -A res
for r in $(seq "$runs"); do
  for b in 500 1; do
    v=$(persist_case "$b"); res["persist_$b"]+="$v "; echo "persist_batch_$b,$r,$v" >> "$out/storage.csv"
  done
  v=$(latency_case); res[lat_mem]+="$v "; echo "p99_us_memory,$r,$v" >> "$out/storage.csv"
  v=$(latency_case --db "$db"); res[lat_db]+="$v "; echo "p99_us_mariadb,$r,$v" >> "$out/storage.csv"
done

row() { printf '%-44s %12s   (runs: %s)\n' "$1" "$(tr ' ' '\n' <<< "$2" | grep . | median)" "$2"; }
echo
echo "storage (median of $runs runs)"
row "persisted msgs/s, batched (--db-batch 500)" "${res[persist_500]}"
row "persisted msgs/s, one per commit (--db-batch 1)" "${res[persist_1]}"
row "p99 delivery us, storage in memory" "${res[lat_mem]}"
row "p99 delivery us, storage in MariaDB" "${res[lat_db]}"
echo "raw: $out/storage.csv"
