#!/usr/bin/env bash
# chat-load smoke test: a few hundred clients for a few seconds against a
# private chatd on a free port; every delivery, order and login is checked by
# chat-load itself, which exits non-zero on anything missing.
#   smoke.sh CHATD CHAT_LOAD
set -euo pipefail
unset CHATD_DB  # in-memory storage: the database `make test` starts is stopped by its fault tests
chatd="$1"
load="$2"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Port 0: the kernel picks a free port and chatd logs the one it got.
"$chatd" --bind 127.0.0.1 --port 0 --rate 0 --max-per-ip 0 --log-level info 2> "$tmp/chatd.log" &
pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$tmp/chatd.log" | head -1)"
  [[ -n "$port" ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "smoke: chatd exited:" >&2; cat "$tmp/chatd.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "smoke: chatd did not report its port" >&2; cat "$tmp/chatd.log" >&2; exit 1; }

common=(-H 127.0.0.1 -p "$port" -q --login-wait 30 --drain 20)
run() {
  echo "== chat-load $*"
  "$load" "${common[@]}" "$@"
}
run -s fanout -c 300 --senders 20 -r 2000 -d 2 --warmup 0.5 --src-addrs 3
run -s fanout -c 50 -w 8 -d 1 --warmup 0.2
run -s private -c 100 -r 1000 -d 1 --warmup 0.2
run -s churn -c 20 -d 1
run -s idle -c 200 -d 0.5
kill -0 "$pid" 2>/dev/null || { echo "smoke: chatd died during the run" >&2; cat "$tmp/chatd.log" >&2; exit 1; }
echo "smoke: all deliveries checked"
