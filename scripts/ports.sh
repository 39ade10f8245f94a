# Sourced by scripts/db.sh and scripts/redis.sh: loopback ports for private servers.

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
