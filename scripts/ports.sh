# Sourced by scripts/db.sh and scripts/redis.sh: loopback ports for private servers, and stopping them.

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
