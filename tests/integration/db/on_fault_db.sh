#!/usr/bin/env bash
# Runs a test that stops and restarts its database server against a private
# MariaDB of its own (scripts/db.sh with CHATD_DB_DIR=var/mariadb-fault), so
# that the other database tests go on meanwhile against the one CHATD_DB names.
#   on_fault_db.sh start|stop       the fixtures around those tests
#   on_fault_db.sh COMMAND ARGS...  the test, with CHATD_DB pointing at that server
# Without CHATD_DB no database test is wanted: the command runs as it is and skips.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export CHATD_DB_DIR=${CHATD_DB_FAULT_DIR:-$root/var/mariadb-fault}
case "${1:-}" in
  start)
    [[ -n ${CHATD_DB:-} ]] || exit 0
    # CHATD_DB may name a server elsewhere, with no MariaDB here to start: then the tests
    # behind this fixture skip (exit 77 below), as they did before they had a server of their own.
    "$root/scripts/db.sh" start || echo "on_fault_db.sh: no MariaDB of their own: the fault tests will be skipped" >&2
    exit 0
    ;;
  stop)
    [[ -n ${CHATD_DB:-} ]] || exit 0
    exec "$root/scripts/db.sh" stop
    ;;
  "")
    echo "usage: $0 start|stop|COMMAND [ARGS...]" >&2
    exit 2
    ;;
esac
if [[ -n ${CHATD_DB:-} ]]; then
  if ! "$root/scripts/db.sh" start >&2; then
    echo "SKIPPED: cannot start the fault tests' own MariaDB under $CHATD_DB_DIR"
    exit 77
  fi
  eval "$("$root/scripts/db.sh" env)"
fi
exec "$@"
