#!/usr/bin/env bash
# Soak test: chatd under a mix of well-behaved and hostile clients for a set time.
#   scripts/soak.sh [--seconds N (600)] [--chatd PATH (build/chatd)] [--csv PATH (var/soak/samples.csv)]
#                   [--sanitized] [other options of tests/soak/soak.py, see --help]
# Starts chatd on a free port of 127.0.0.1 with a low fd limit, in-memory storage
# unless CHATD_DB is set; fails if a well-behaved client misses a message or sees
# another order, if chatd stops answering /ping within 2 s, or if its RSS grows
# without bound. Prints a summary table; the per-second samples go to the CSV.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
chatd=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --chatd) chatd=$2; shift 2 ;;
    --chatd=*) chatd=${1#--chatd=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ -z "$chatd" ]]; then
  for c in build/chatd build-hard/chatd; do
    [[ -x "$c" ]] && { chatd=$c; break; }
  done
fi
if [[ -z "$chatd" || ! -x "$chatd" ]]; then
  echo "soak: no chatd binary (run make, or give --chatd PATH)" >&2
  exit 2
fi
exec python3 "$root/tests/soak/soak.py" --chatd "$chatd" "${args[@]}"
