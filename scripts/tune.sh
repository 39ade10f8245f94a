#!/usr/bin/env bash
# Kernel and limit settings for tens of thousands of loopback connections.
#   scripts/tune.sh --check    report the current values against the wanted ones
#   scripts/tune.sh            apply them (root), print before/after; saves the
#                              values found into var/tune.saved (first time only)
#   scripts/tune.sh --revert   restore what var/tune.saved holds
# The fd limit of a running shell cannot be raised from a child: run the server
# and chat-load from a shell with `ulimit -n` raised (chat-load raises its own
# soft limit to the hard one, and as root the hard one up to fs.nr_open).
set -euo pipefail
cd "$(dirname "$0")/.."
saved=var/tune.saved

# name  wanted  (sysctl keys; nofile is the hard RLIMIT_NOFILE this shell may raise to)
wanted=(
  "fs.nr_open 1048576"
  "fs.file-max 2097152"
  "net.core.somaxconn 65535"
  "net.ipv4.tcp_max_syn_backlog 65535"
  "net.ipv4.ip_local_port_range 1024 65535"
  "net.core.netdev_max_backlog 65536"
  "net.ipv4.tcp_tw_reuse 1"
)

key_path() { echo "/proc/sys/${1//.//}"; }
current() { tr -s '\t ' ' ' < "$(key_path "$1")" | sed 's/ *$//'; }
# True when the current value already satisfies the wanted one (numbers: at least; port range: at least as wide).
good_enough() {
  local key="$1" have="$2" want="$3"
  case "$key" in
    net.ipv4.ip_local_port_range)
      read -r hl hh <<< "$have"; read -r wl wh <<< "$want"; [[ $hl -le $wl && $hh -ge $wh ]] ;;
    net.ipv4.tcp_tw_reuse) [[ "$have" == "$want" ]] ;;
    *) [[ "$have" -ge "$want" ]] ;;
  esac
}

check() {
  local bad=0
  printf '%-32s %-20s %-20s\n' setting current wanted
  for line in "${wanted[@]}"; do
    read -r key want <<< "$line"
    local have; have="$(current "$key" 2>/dev/null || echo '?')"
    local mark="ok"; good_enough "$key" "$have" "$want" 2>/dev/null || { mark="LOW"; bad=1; }
    printf '%-32s %-20s %-20s %s\n' "$key" "$have" "$want" "$mark"
  done
  local soft hard; soft=$(ulimit -Sn); hard=$(ulimit -Hn)
  local mark="ok"; [[ "$hard" == unlimited || "$hard" -ge 65536 ]] || { mark="LOW"; bad=1; }
  printf '%-32s %-20s %-20s %s\n' "nofile (this shell, soft/hard)" "$soft/$hard" "65536+" "$mark"
  return $bad
}

apply() {
  [[ $(id -u) -eq 0 ]] || { echo "tune: applying needs root" >&2; exit 1; }
  mkdir -p var
  if [[ ! -f "$saved" ]]; then
    for line in "${wanted[@]}"; do
      read -r key _ <<< "$line"
      echo "$key=$(current "$key")"
    done > "$saved"
    echo "tune: saved the current values in $saved"
  fi
  echo "== before"; check || true
  for line in "${wanted[@]}"; do
    read -r key want <<< "$line"
    local have; have="$(current "$key")"
    good_enough "$key" "$have" "$want" && continue
    printf '%s\n' "$want" > "$(key_path "$key")" || echo "tune: could not set $key" >&2
  done
  echo "== after"; check || true
  echo "tune: in the shell that starts the server and chat-load: ulimit -n $(current fs.nr_open)"
}

revert() {
  [[ -f "$saved" ]] || { echo "tune: nothing saved in $saved" >&2; exit 1; }
  [[ $(id -u) -eq 0 ]] || { echo "tune: reverting needs root" >&2; exit 1; }
  while IFS='=' read -r key value; do
    [[ -n "$key" ]] || continue
    printf '%s\n' "$value" > "$(key_path "$key")" || echo "tune: could not restore $key" >&2
    echo "restored $key = $value"
  done < "$saved"
  rm -f "$saved"
}

case "${1:-}" in
  --check) check ;;
  --revert) revert ;;
  "") apply ;;
  -h|--help) sed -n '2,10p' "$0" ;;
  *) echo "usage: scripts/tune.sh [--check|--revert]" >&2; exit 2 ;;
esac
