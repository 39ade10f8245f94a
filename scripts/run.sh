#!/usr/bin/env bash
# `make run`: chatd on port 5000 (or --port) and TLS on 5001, with its data in
# a real database. Without CHATD_DB in the environment it starts the private
# MariaDB under ./var/ (scripts/db.sh) and points chatd at its database chatd
# (chatd_PORT for another --port); with CHATD_DB set it uses that instead. The TLS certificate is a private one for
# localhost from scripts/cert.sh (./var/tls/). Extra arguments go to chatd.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mkdir -p var
tls=$(scripts/cert.sh)
# --port P alone moves TLS to P+1, so that a second `make run PORT=6000` does
# not collide with the first one's TLS port.
port=5000 tls_port=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --port) port=${args[i + 1]:-} ;;
    --port=*) port=${args[i]#--port=} ;;
    --tls-port) tls_port=${args[i + 1]:-} ;;
    --tls-port=*) tls_port=${args[i]#--tls-port=} ;;
  esac
done
if [[ -z $tls_port ]]; then
  tls_port=5001
  if [[ $port =~ ^[0-9]+$ && $port != 5000 ]]; then
    tls_port=$((port == 0 ? 0 : port + 1))
  fi
  set -- --tls-port "$tls_port" "$@"
fi
if [[ -z "${CHATD_DB:-}" ]]; then
  scripts/db.sh start
  eval "$(scripts/db.sh env)"
  # A second `make run PORT=6000` beside the first gets a database of its own: two single
  # servers cannot share one (chatd refuses; docs/operations.md). `make cluster` runs several
  # on one database.
  if [[ $port != 5000 ]]; then
    [[ $port =~ ^[0-9]+$ ]] || { echo "run.sh: --port $port is not a number" >&2; exit 2; }
    scripts/db.sh shell -e "CREATE DATABASE IF NOT EXISTS chatd_$port CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    CHATD_DB=${CHATD_DB%/*}/chatd_$port
  fi
fi
chat_port= chat_tls_port=
[[ $port == 5000 ]] || chat_port=" --port $port"
[[ $tls_port == 5001 ]] || chat_tls_port=" --port $tls_port"
cat >&2 <<EOT
chatd: data in $CHATD_DB
chatd: chat with  nc localhost $port  or  build/chat$chat_port --nick ana
chatd: over TLS   build/chat --tls$chat_tls_port --tls-ca $tls/ca.pem --nick ana
chatd:            (or openssl s_client -quiet -connect localhost:$tls_port -CAfile $tls/ca.pem)
EOT
# A chatd on another port beside the first keeps a journal of its own: two
# processes appending to one journal would interleave their records.
journal=var/chatd.journal
[[ $port == 5000 ]] || journal=var/chatd-$port.journal
exec build/chatd --journal "$journal" --tls-cert "$tls/server.pem" --tls-key "$tls/server.key" "$@"
