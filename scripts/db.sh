#!/usr/bin/env bash
# A private MariaDB for chatd under ./var/mariadb (its own data dir, socket,
# loopback port, non-root user `chatd` with a generated password). The
# distribution's service is neither used nor needed.
#
#   scripts/db.sh start    start it (creating it on first use); ok if running
#   scripts/db.sh stop     shut it down cleanly and wait
#   scripts/db.sh status   exit 0 and say so when running, else exit 3
#   scripts/db.sh shell    a mariadb shell as chatd on the chatd database
#   scripts/db.sh env      print the export lines chatd and the tests read
#
# Port: $CHATD_DB_PORT, else 3307; if taken, a free one. The choice is kept
# in var/mariadb/port. The password is in var/mariadb/password (mode 600).
# The user may also create databases named chatd* (the tests use their own).
# CHATD_DB_DIR names another directory for a second server (the tests that
# stop their server have one of their own: tests/integration/db/on_fault_db.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${CHATD_DB_DIR:-$root/var/mariadb}
data=$dir/data
sock=$dir/mysqld.sock
pidf=$dir/mysqld.pid
logf=$dir/mysqld.log
portf=$dir/port
pwf=$dir/password
me=$(id -un)

# shellcheck source=ports.sh
. "$root/scripts/ports.sh"

die() { echo "db.sh: $*" >&2; exit 1; }

find_bin() {
  local b
  for b in "$@"; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
    for p in /usr/sbin /usr/local/sbin /usr/libexec; do
      [[ -x $p/$b ]] && { echo "$p/$b"; return 0; }
    done
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

# The admin account is the OS user through unix_socket authentication
# (mariadb-install-db creates root@localhost and <user>@localhost that way).
admin() { "$client" --no-defaults --protocol=socket -S "$sock" -u "$me" "$@"; }

answers() { admin -N -e 'SELECT 1' >/dev/null 2>&1; }

client=$(find_bin mariadb mysql) || die "mariadb client not found (run scripts/install-deps.sh)"

cmd_start() {
  local mariadbd install
  mariadbd=$(find_bin mariadbd mysqld) || die "mariadbd not found (run scripts/install-deps.sh)"
  mkdir -p "$dir"
  chmod 700 "$dir"
  if server_pid >/dev/null && answers; then
    echo "db.sh: already running on 127.0.0.1:$(<"$portf")"
    return 0
  fi
  if server_pid >/dev/null; then
    wait_answers "$(server_pid)" || die "mariadbd is running but does not answer; see $logf"
  else
    if [[ ! -d $data/mysql ]]; then
      install=$(find_bin mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
      rm -rf "$data"
      mkdir -p "$data"
      echo "db.sh: creating the data directory $data" >&2
      "$install" --no-defaults --datadir="$data" --user="$me" --auth-root-authentication-method=socket \
        --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
    fi
    local port=${CHATD_DB_PORT:-}
    [[ -z $port && -s $portf ]] && port=$(<"$portf")
    port=${port:-3307}
    if ! port_free "$port"; then
      local old=$port
      port=$(free_port)
      echo "db.sh: port $old is taken, using $port" >&2
    fi
    echo "$port" >"$portf"
    rm -f "$sock" "$pidf"
    local args=(--no-defaults --datadir="$data" --socket="$sock" --pid-file="$pidf" --log-error="$logf"
      --port="$port" --bind-address=127.0.0.1 --skip-name-resolve
      --character-set-server=utf8mb4 --collation-server=utf8mb4_bin
      --innodb-buffer-pool-size=64M --max-connections=500)
    [[ $(id -u) -eq 0 ]] && args+=(--user="$me")
    # setsid: the server must not die with the shell or the test that started it.
    setsid "$mariadbd" "${args[@]}" </dev/null >>"$dir/stdout.log" 2>&1 &
    local pid=$!
    wait_answers "$pid" || { tail -n 30 "$logf" >&2 || true; die "mariadbd did not come up; see $logf"; }
  fi
  setup
  echo "db.sh: running on 127.0.0.1:$(<"$portf") (socket $sock)"
}

wait_answers() {
  local pid=$1 i
  for ((i = 0; i < 600; i++)); do
    answers && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

setup() {
  if [[ ! -s $pwf ]]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$pwf")
  fi
  chmod 600 "$pwf"
  local pw
  pw=$(<"$pwf")
  # Idempotent: the password file is the truth, so it is set again each start.
  admin <<EOF
CREATE DATABASE IF NOT EXISTS chatd CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'chatd'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'chatd'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'chatd'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'chatd'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`chatd%\`.* TO 'chatd'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`chatd%\`.* TO 'chatd'@'localhost';
FLUSH PRIVILEGES;
EOF
  admin chatd <"$root/schema.sql"
}

cmd_stop() {
  local pid
  if ! pid=$(server_pid); then
    echo "db.sh: not running"
    return 0
  fi
  admin -e 'SHUTDOWN' >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  stop_and_wait db.sh "$pid" 60
}

cmd_status() {
  if server_pid >/dev/null && answers; then
    echo "db.sh: running on 127.0.0.1:$(<"$portf") (socket $sock, data $data)"
    return 0
  fi
  echo "db.sh: not running"
  return 3
}

cmd_env() {
  [[ -s $portf && -s $pwf ]] || die "no private database yet: run scripts/db.sh start"
  echo "export CHATD_DB=mysql://chatd@127.0.0.1:$(<"$portf")/chatd"
  echo "export CHATD_DB_PASSWORD=$(<"$pwf")"
}

cmd_shell() {
  [[ -s $pwf ]] || die "no private database yet: run scripts/db.sh start"
  MYSQL_PWD=$(<"$pwf") exec "$client" --no-defaults --protocol=socket -S "$sock" -u chatd chatd "$@"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  shell) shift; cmd_shell "$@" ;;
  *) echo "usage: $0 start|stop|status|shell|env" >&2; exit 2 ;;
esac
