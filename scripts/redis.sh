#!/usr/bin/env bash
# A private Redis for chatd clusters under ./var/redis (its own loopback port,
# a generated password, no persistence: a restart starts empty, which the
# cluster must survive anyway). The distribution's service is neither used
# nor needed.
#
#   scripts/redis.sh start    start it; ok if running
#   scripts/redis.sh stop     shut it down and wait
#   scripts/redis.sh status   exit 0 and say so when running, else exit 3
#   scripts/redis.sh cli      redis-cli on it (arguments are passed on)
#   scripts/redis.sh env      print the export lines chatd and the tests read
#
# Port: $CHATD_REDIS_PORT, else 6380; if taken, a free one. The choice is
# kept in var/redis/port. The password is in var/redis/password (mode 600).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$root/var/redis
pidf=$dir/redis.pid
logf=$dir/redis.log
portf=$dir/port
pwf=$dir/password

# shellcheck source=ports.sh
. "$root/scripts/ports.sh"

die() { echo "redis.sh: $*" >&2; exit 1; }

find_bin() {
  local b=$1 p
  if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  for p in /usr/bin /usr/sbin /usr/local/bin; do
    [[ -x $p/$b ]] && { echo "$p/$b"; return 0; }
  done
  return 1
}

server_pid() {
  [[ -s $pidf ]] || return 1
  local pid
  pid=$(<"$pidf")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

cli() { REDISCLI_AUTH=$(<"$pwf") "$client" -h 127.0.0.1 -p "$(<"$portf")" "$@"; }

answers() { [[ -s $portf && -s $pwf ]] && [[ $(cli ping 2>/dev/null) == PONG ]]; }

client=$(find_bin redis-cli) || die "redis-cli not found (run scripts/install-deps.sh)"

cmd_start() {
  local server
  server=$(find_bin redis-server) || die "redis-server not found (run scripts/install-deps.sh)"
  mkdir -p "$dir"
  chmod 700 "$dir"
  if server_pid >/dev/null && answers; then
    echo "redis.sh: already running on 127.0.0.1:$(<"$portf")"
    return 0
  fi
  if [[ ! -s $pwf ]]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$pwf")
  fi
  chmod 600 "$pwf"
  if ! server_pid >/dev/null; then
    local port=${CHATD_REDIS_PORT:-}
    [[ -z $port && -s $portf ]] && port=$(<"$portf")
    port=${port:-6380}
    if ! port_free "$port"; then
      local old=$port
      port=$(free_port)
      echo "redis.sh: port $old is taken, using $port" >&2
    fi
    echo "$port" >"$portf"
    rm -f "$pidf"
    # The password goes in through a config read from stdin, not the command
    # line, so ps does not show it.
    # setsid: the server must not die with the shell or the test that started it.
    printf 'requirepass %s\n' "$(<"$pwf")" |
      setsid "$server" - --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$dir" --pidfile "$pidf" --logfile "$logf" --daemonize no \
        --maxclients 1000 >>"$dir/stdout.log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 100; i++)); do
      answers && break
      kill -0 "$pid" 2>/dev/null || { tail -n 20 "$logf" >&2 || true; die "redis-server did not come up; see $logf"; }
      sleep 0.1
    done
    answers || die "redis-server does not answer; see $logf"
  else
    answers || die "redis-server is running but does not answer; see $logf"
  fi
  echo "redis.sh: running on 127.0.0.1:$(<"$portf")"
}

cmd_stop() {
  local pid
  if ! pid=$(server_pid); then
    echo "redis.sh: not running"
    return 0
  fi
  cli shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  stop_and_wait redis.sh "$pid" 10
}

cmd_status() {
  if server_pid >/dev/null && answers; then
    echo "redis.sh: running on 127.0.0.1:$(<"$portf") (pid $(<"$pidf"))"
    return 0
  fi
  echo "redis.sh: not running"
  return 3
}

cmd_env() {
  [[ -s $portf && -s $pwf ]] || die "no private Redis yet: run scripts/redis.sh start"
  echo "export CHATD_REDIS=redis://127.0.0.1:$(<"$portf")"
  echo "export CHATD_CLUSTER_PASSWORD=$(<"$pwf")"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  cli) shift; [[ -s $portf ]] || die "no private Redis yet: run scripts/redis.sh start"; cli "$@" ;;
  *) echo "usage: $0 start|stop|status|cli|env" >&2; exit 2 ;;
esac
