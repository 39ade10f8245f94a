#!/usr/bin/env bash
# `make run`: chatd on port 5000 (or --port) and TLS on 5001, with its data in
# a real database. Without CHATD_DB in the environment it starts the private
# MariaDB under ./var/ (scripts/db.sh) and points chatd at it; with CHATD_DB
# set it uses that server instead. The TLS certificate is a private one for
# localhost from scripts/cert.sh (./var/tls/). Extra arguments go to chatd.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ -z "${CHATD_DB:-}" ]]; then
  scripts/db.sh start
  eval "$(scripts/db.sh env)"
fi
mkdir -p var
tls=$(scripts/cert.sh)
cat >&2 <<EOT
chatd: data in $CHATD_DB
chatd: chat with  nc localhost 5000  or  build/chat --nick ana
chatd: over TLS   build/chat --tls --tls-ca $tls/ca.pem --nick ana
chatd:            (or openssl s_client -quiet -connect localhost:5001 -CAfile $tls/ca.pem)
chatd: (other ports if --port / --tls-port were given: they are logged below)
EOT
exec build/chatd --journal var/chatd.journal --tls-cert "$tls/server.pem" --tls-key "$tls/server.key" "$@"
