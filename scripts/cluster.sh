#!/usr/bin/env bash
# `make cluster`: N chatd nodes (default 3) acting as one server, on ports
# 5000, 5010, 5020, ... (PORT=first port), sharing the private MariaDB
# (scripts/db.sh) and the private Redis (scripts/redis.sh), each node's log
# in var/cluster/nK.log. Ctrl-C stops every node (SIGTERM: their users PART
# at once); the database and Redis stay up (scripts/db.sh stop,
# scripts/redis.sh stop). Extra arguments go to every chatd.
#   scripts/cluster.sh [N] [chatd options...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=3
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
  n=$1
  shift
fi
[[ $n -ge 1 && $n -le 50 ]] || { echo "cluster.sh: between 1 and 50 nodes" >&2; exit 2; }
first=${PORT:-5000}
chatd=${CHATD:-build/chatd}
[[ -x $chatd ]] || { echo "cluster.sh: $chatd not built (make build)" >&2; exit 1; }
if [[ -z "${CHATD_DB:-}" ]]; then
  scripts/db.sh start
  eval "$(scripts/db.sh env)"
fi
if [[ -z "${CHATD_REDIS:-}" ]]; then
  scripts/redis.sh start
  eval "$(scripts/redis.sh env)"
fi
export CHATD_DB CHATD_DB_PASSWORD CHATD_CLUSTER_PASSWORD
mkdir -p var/cluster
pids=()
stop() {
  trap - INT TERM EXIT
  echo "cluster.sh: stopping ${#pids[@]} nodes" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT
for ((i = 1; i <= n; i++)); do
  port=$((first + (i - 1) * 10))
  "$chatd" --port "$port" --cluster "$CHATD_REDIS" --node-name "n$i" \
    --journal "var/cluster/n$i.journal" "$@" >"var/cluster/n$i.log" 2>&1 &
  pids+=($!)
  echo "cluster.sh: node n$i on port $port (log var/cluster/n$i.log): nc localhost $port  or  build/chat --port $port --nick NAME" >&2
done
echo "cluster.sh: $n nodes, one server; data in $CHATD_DB, coordination on $CHATD_REDIS. Ctrl-C stops them." >&2
# Until Ctrl-C, or until a node exits by itself.
wait -n "${pids[@]}" || true
