#!/usr/bin/env bash
# `make run`: chatd on port 5000 (or --port) with its data in a real database.
# Without CHATD_DB in the environment it starts the private MariaDB under
# ./var/ (scripts/db.sh) and points chatd at it; with CHATD_DB set it uses
# that server instead. Extra arguments go to chatd.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ -z "${CHATD_DB:-}" ]]; then
  scripts/db.sh start
  eval "$(scripts/db.sh env)"
fi
mkdir -p var
echo "chatd: data in $CHATD_DB; chat with nc localhost PORT or build/chat --port PORT (PORT as logged below)" >&2
exec build/chatd --journal var/chatd.journal "$@"
