#!/usr/bin/env bash
# Runs K chat-load processes against one server at once (as a user would from
# several shells) and prints one table adding them up.
#   scripts/loadtest.sh [-k K] [--bin PATH] [--keep DIR] -- [chat-load options]
# Every process gets its own run tag (nicks and message tags do not collide)
# and its own block of source addresses 127.0.<k+1>.x, so per-address limits
# and ephemeral ports are shared out. Exits non-zero when any delivery is
# missing in any process.
# Example: scripts/loadtest.sh -k 4 -- -p 5000 -s fanout -c 250 --senders 25 -r 1000
set -euo pipefail
cd "$(dirname "$0")/.."

k=2
bin=""
keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -k) k="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
if [[ -z "$bin" ]]; then
  for b in build/chat-load build-load/chat-load; do [[ -x "$b" ]] && { bin="$b"; break; }; done
fi
[[ -x "$bin" ]] || { echo "loadtest: chat-load not found (build it or pass --bin)" >&2; exit 2; }
[[ "$k" =~ ^[0-9]+$ && "$k" -ge 1 && "$k" -le 250 ]] || { echo "loadtest: -k must be 1..250" >&2; exit 2; }

dir="${keep:-$(mktemp -d)}"
mkdir -p "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "$keep" ]] || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

tag="T$(printf '%04x' $((RANDOM % 65536)))"
for ((i = 0; i < k; i++)); do
  # Only the first process draws the live line; the others would interleave with it.
  quiet=(); [[ $i -eq 0 ]] || quiet=(-q)
  "$bin" --run "${tag}p$i" --src "127.0.$((i + 1)).1" --json-file "$dir/$i.json" "${quiet[@]}" "$@" \
    > "$dir/$i.out" 2> "$dir/$i.err" &
  pids+=($!)
done
[[ $k -ge 1 ]] && tail -f "$dir/0.err" --pid "${pids[0]}" >&2 &
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
pids=()
files=()
for ((i = 0; i < k; i++)); do
  if [[ -s "$dir/$i.json" ]]; then files+=("$dir/$i.json"); else
    echo "loadtest: process $i left no result:" >&2; cat "$dir/$i.err" >&2; fail=1
  fi
done
[[ ${#files[@]} -gt 0 ]] || exit 2
json=(); for a in "$@"; do [[ "$a" == "--json" ]] && json=(--json); done
"$bin" --merge "${files[@]}" "${json[@]}" || fail=1
exit $fail
