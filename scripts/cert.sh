#!/usr/bin/env bash
# A private certificate authority and a server certificate for localhost,
# 127.0.0.1 and ::1 under ./var/tls/ (or $CHATD_TLS_DIR), for `make run` and
# the tests: ca.pem (give it to clients: chat --tls-ca var/tls/ca.pem),
# server.pem (certificate and chain) and server.key. Idempotent: existing
# files that are still valid for a week are kept.
#   scripts/cert.sh            make them if needed, print the directory
#   scripts/cert.sh --force    make new ones (a new CA too)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${CHATD_TLS_DIR:-$root/var/tls}
force=0
[[ ${1:-} == --force ]] && force=1
command -v openssl >/dev/null || { echo "cert.sh: openssl is missing (scripts/install-deps.sh)" >&2; exit 2; }
mkdir -p "$dir"
chmod 700 "$dir"

valid() { [[ -f $1 ]] && openssl x509 -in "$1" -noout -checkend 604800 >/dev/null 2>&1; }

if [[ $force == 1 ]] || ! valid "$dir/ca.pem" || [[ ! -f $dir/ca.key ]]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=chatd test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  force=1
fi
if [[ $force == 1 ]] || ! valid "$dir/server.pem" || [[ ! -f $dir/server.key ]]; then
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  cat > "$dir/server.ext" <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
  rm -f "$dir/server.csr" "$dir/server.ext"
fi
chmod 600 "$dir"/*.key
echo "$dir"
