#!/usr/bin/env bash
# `cmake --install` with DESTDIR lays out every file an operator expects, the
# programs print one version, the example chatd.ini holds every option of
# `chatd --help` with a value chatd accepts, the unit passes `systemd-analyze
# verify` (when systemd's tools are there), and scripts/uninstall.sh removes
# it all again.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
tmp=$(mktemp -d)
manifest=$build/install_manifest.txt
# The build tree's manifest belongs to the last real `make install`, which
# `make uninstall` reads: keep it.
[[ -f $manifest ]] && cp -p "$manifest" "$tmp/manifest.saved"
cleanup() {
  if [[ -f $tmp/manifest.saved ]]; then mv -f "$tmp/manifest.saved" "$manifest"; else rm -f "$manifest"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

root=$tmp/root
prefix=/usr/local
DESTDIR=$root cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
cp "$manifest" "$tmp/manifest"

expected=(
  $prefix/bin/chat $prefix/bin/chat-load $prefix/sbin/chatd
  $prefix/share/man/man8/chatd.8 $prefix/share/man/man1/chat.1 $prefix/share/man/man1/chat-load.1
  $prefix/share/doc/chatd/README.md $prefix/share/doc/chatd/schema.sql $prefix/share/doc/chatd/examples/chatd.env
  /etc/chatd/chatd.ini
  $prefix/lib/systemd/system/chatd.service $prefix/lib/sysusers.d/chatd.conf $prefix/lib/tmpfiles.d/chatd.conf
)
for doc in "$src"/docs/*.md; do expected+=("$prefix/share/doc/chatd/$(basename "$doc")"); done
for f in "${expected[@]}"; do
  [[ -f $root$f ]] || fail "$f not installed"
done
for f in chat chat-load; do [[ -x $root$prefix/bin/$f ]] || fail "$f not executable"; done
[[ -x $root$prefix/sbin/chatd ]] || fail "chatd not executable"
echo "ok   ${#expected[@]} files in place"

# One version string: "chat 1.0 (git ...)" and so on, the same after the name.
version=$(sed -n 's/^project(chatd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
for p in $prefix/sbin/chatd $prefix/bin/chat $prefix/bin/chat-load; do
  name=$(basename "$p")
  out=$("$root$p" --version 2>&1) || true
  [[ $out == "$name $version"* ]] || { echo "note $name --version says: $out"; [[ $name == chatd ]] || fail "$name --version"; }
done
echo "ok   --version"

# The example configuration: every option chatd lists, each with a value it takes.
chatd=$root$prefix/sbin/chatd
ini=$root/etc/chatd/chatd.ini
options=$("$chatd" --help | sed -n 's/^  --\([a-z][a-z-]*\).*/\1/p' | grep -v -x -e config -e help -e version)
for o in $options; do
  grep -q -E "^# $o = " "$ini" || fail "chatd.ini has no line for --$o"
done
sed -E 's/^# ([a-z][a-z-]* = )/\1/' "$ini" >"$tmp/all.ini"
"$chatd" --config "$tmp/all.ini" --help >/dev/null 2>"$tmp/ini.err" || { cat "$tmp/ini.err"; fail "chatd refuses the values of chatd.ini"; }
for key in $(sed -n 's/^\([a-z][a-z-]*\) = .*/\1/p' "$tmp/all.ini"); do
  grep -q -x -e "$key" <<<"$options" || echo "note chatd.ini sets $key, which this chatd does not list"
done
echo "ok   chatd.ini: $(wc -w <<<"$options") options"

unit=$root$prefix/lib/systemd/system/chatd.service
grep -q "^ExecStart=$prefix/sbin/chatd --config /etc/chatd/chatd.ini" "$unit" || fail "ExecStart does not name the installed chatd"
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify also checks that ExecStart's program exists: point it into DESTDIR.
  sed "s#^ExecStart=$prefix#ExecStart=$root$prefix#" "$unit" >"$tmp/chatd.service"
  systemd-analyze verify --man=no "$tmp/chatd.service" || fail "systemd-analyze verify chatd.service"
  echo "ok   systemd-analyze verify"
else
  echo "skip systemd-analyze verify (systemd is not installed)"
fi

DESTDIR=$root "$src/scripts/uninstall.sh" "$tmp/manifest" >/dev/null
left=$(find "$root" -type f)
[[ -z $left ]] || fail "left after uninstall: $left"
echo "ok   uninstall"
