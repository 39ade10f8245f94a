# Sourced by scripts/db.sh, scripts/redis.sh and the bench scripts: loopback ports for private
# servers, and stopping them.

# True when 127.0.0.1:$1 can be bound, as a server binds it (SO_REUSEADDR:
# connections of a previous run in TIME_WAIT do not count).
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# A port the kernel says is free now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stop_and_wait NAME PID SECONDS: waits for PID (already asked to stop) to exit, SIGKILL after
# SECONDS; says which happened, prefixed with NAME ("db.sh").
stop_and_wait() {
  local name=$1 pid=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { echo "$name: stopped"; return 0; }
    sleep 0.1
  done
  echo "$name: pid $pid did not stop in $secs s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# stop_children PID...: SIGTERM to each of these children of the calling shell, SIGKILL to any
# still there 10 s later, and reaps them. Only the PIDs given: others run processes of the same names.
stop_children() {
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
