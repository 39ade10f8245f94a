#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages chatd needs to build, run and test.
# Does nothing when they are all there. Uses sudo when not root.
#   scripts/install-deps.sh           build, run and test dependencies
#   scripts/install-deps.sh --bench   also the peers and tools `make bench` uses
#   scripts/install-deps.sh --package also what `make deb` needs (debhelper, lintian)
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config        # toolchain
  libcli11-dev doctest-dev                # options, unit tests
  libmariadb-dev mariadb-server mariadb-client  # storage and the private test database
  libhiredis-dev redis-server             # the cluster link, and the private test Redis
  libncurses-dev libutf8proc-dev          # the chat client (screen, grapheme clusters)
  libsodium-dev                           # Argon2id password hashes
  libssl-dev openssl                      # TLS (OpenSSL 3), and scripts/cert.sh
  clang libclang-rt-14-dev                # sanitizer and fuzzer runtimes
  tmux                                    # drives the client in its tests
  python3                                 # integration tests
  procps iproute2                         # ps, ss for the scripts
  netcat-openbsd                          # nc, for the README's first chat
  scdoc man-db groff-base                 # man pages, and their test
  systemd libsystemd-dev                  # sd_notify (Type=notify, watchdog); systemd-analyze verify in the tests
  prometheus                              # promtool check metrics, in the metrics test
)
for arg in "$@"; do
  case $arg in
    --bench) pkgs+=(ngircd inspircd stunnel4 linux-perf valgrind gnuplot-nox util-linux time) ;;
    --package) pkgs+=(dpkg-dev debhelper fakeroot lintian ninja-build) ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The distribution's own MariaDB and Redis services are not used (scripts/db.sh
# and scripts/redis.sh run private ones).
for svc in mariadb redis-server; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    "${sudo[@]}" systemctl stop "$svc" || true
  fi
done
