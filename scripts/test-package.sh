#!/usr/bin/env bash
# The Debian package as an operator meets it, on this machine (root only; it
# installs and purges the package system-wide, so run it on a test machine or
# in CI): `make deb` (lintian must report no error), `dpkg -i` of the .deb,
# the files where they belong, `chatd --version` naming the package's version,
# the unit enabled but not started until /etc/chatd/chatd.env exists, then
# `dpkg --purge`, after which nothing of it is left.
#   scripts/test-package.sh [OUTDIR]      (default build-deb)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/build-deb}
[[ $(id -u) -eq 0 ]] || { echo "test-package: needs root (it installs the package)" >&2; exit 2; }
if dpkg-query -W -f='${Status}' chatd 2>/dev/null | grep -q 'install ok installed'; then
  echo "test-package: a chatd package is installed already; not touching it" >&2
  exit 2
fi
fail() { echo "FAIL $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

"$root/scripts/install-deps.sh" --package
"$root/scripts/build-deb.sh" "$out"
version=$(sed -n 's/^project(chatd VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
deb=$out/chatd_${version}_$(dpkg --print-architecture).deb
[[ -f $deb ]] || fail "no $deb"
ok "make deb: $(basename "$deb"), lintian without errors"

trap 'dpkg --purge chatd >/dev/null 2>&1 || true' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null 2>&1 ||
  DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" || fail "installing $deb"
ok "installed"
for f in /usr/sbin/chatd /usr/bin/chat /usr/bin/chat-load /etc/chatd/chatd.ini /lib/systemd/system/chatd.service \
         /usr/share/man/man8/chatd.8.gz /usr/share/man/man1/chat.1.gz /usr/share/doc/chatd/README.md; do
  [[ -e $f ]] || fail "missing $f"
done
ok "files in place"
/usr/sbin/chatd --version | grep -q "chatd $version" || fail "chatd --version: $(/usr/sbin/chatd --version)"
/usr/bin/chat --version >/dev/null && /usr/bin/chat-load --version >/dev/null || fail "--version of chat, chat-load"
ok "chatd --version: $(/usr/sbin/chatd --version)"
getent passwd chatd >/dev/null || fail "no chatd system user"
[[ -d /var/lib/chatd ]] || fail "no /var/lib/chatd"
ok "the chatd user and /var/lib/chatd"
dpkg-query -W -f='${Conffiles}\n' chatd | grep -q /etc/chatd/chatd.ini || fail "chatd.ini is not a conffile"
ok "chatd.ini is a conffile"
if [[ -d /run/systemd/system ]]; then
  systemctl is-enabled --quiet chatd || fail "the unit is not enabled"
  systemctl is-active --quiet chatd && fail "the unit runs before chatd.env exists"
  ok "the unit enabled, not started"
fi

dpkg --purge chatd >/dev/null || fail "dpkg --purge"
trap - EXIT
for f in /usr/sbin/chatd /etc/chatd /var/lib/chatd /lib/systemd/system/chatd.service; do
  [[ -e $f ]] && fail "left after purge: $f"
done
getent passwd chatd >/dev/null && echo "note: the chatd user stays after purge (Debian's rule for system users)"
ok "purged: nothing left"
