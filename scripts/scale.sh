#!/usr/bin/env bash
# Target 5 of the benchmarks: N (default 50,000) logged-in clients on one
# machine, then one message that must reach every one of them. Run
# scripts/tune.sh first (as root); this script raises the fd limits of the
# two processes itself (prlimit, root) and reports the time to log everyone
# in, the delivery and chatd's RSS.
#   scripts/scale.sh [N] [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
n=${1:-50000}
build=${2:-build}
fds=$((n + 1000))
hard=$(ulimit -Hn)
[[ $hard == unlimited || $hard -ge $fds ]] || { echo "scale: $n clients need $fds fds per process, the hard limit is $hard (raising it needs CAP_SYS_RESOURCE)" >&2; fds=$hard; }
log=$(mktemp)
trap 'kill -TERM $pid 2>/dev/null; rm -f "$log"' EXIT
# A login's roster alone is n USER lines (~1.3 MB at 50,000): the output limit is raised to fit it.
prlimit --nofile=$fds:$fds -- "$build/chatd" --port 0 --rate 0 --max-per-ip 0 --history 0 \
  --login-timeout 600 --max-outbuf $((8 << 20)) --log-level warn 2> "$log" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$pid," '$0 ~ p {sub(/.*:/, "", $4); print $4; exit}')
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { echo "scale: chatd did not start" >&2; cat "$log" >&2; exit 1; }
base=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
prlimit --nofile=$fds:$fds -- "$build/chat-load" -p "$port" -q -s idle -c "$n" -d 10 \
  --connect-rate 5000 --login-wait 900 --drain 120 --json-file "$log.json" > /dev/null &
lp=$!
peak=0
while kill -0 $lp 2>/dev/null; do
  r=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status"); (( r > peak )) && peak=$r
  sleep 1
done
wait $lp && ok=yes || ok=no
idle=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
python3 - "$log.json" "$n" "$base" "$peak" "$idle" "$ok" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); base, peak, idle = map(int, sys.argv[3:6])
print(f"clients            {r['logged_in']} of {n} logged in, login phase {r['login_s']:.1f} s")
print(f"final message      {r['delivered']} of {r['expected']} delivered, {r['missing']} missing")
print(f"chatd RSS          before {base/1024:.1f} MiB, peak {peak/1024:.1f} MiB, after {idle/1024:.1f} MiB")
print(f"chat-load verdict  {'ok' if sys.argv[6] == 'yes' else 'FAILED'}")
PY
rm -f "$log.json"
[[ $ok == yes ]]
