#!/usr/bin/env bash
# `make uninstall`: removes what `make install` recorded in MANIFEST (CMake's
# install_manifest.txt), under $DESTDIR when set, then the directories of
# ours left empty. A chatd.ini that differs from the one shipped is the
# operator's and stays, like dpkg keeps a changed conffile.
#   scripts/uninstall.sh build/install_manifest.txt
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest=${1:?usage: uninstall.sh install_manifest.txt}
if [[ ! -f $manifest ]]; then
  echo "uninstall: $manifest not found (make install writes it)" >&2
  exit 1
fi
dest=${DESTDIR:-}
dirs=()
while IFS= read -r f || [[ -n $f ]]; do
  [[ -n $f ]] || continue
  path=$dest$f
  dirs+=("$(dirname "$path")")
  if [[ $f == */chatd/chatd.ini && -f $path ]] && ! cmp -s "$path" "$root/packaging/chatd.ini"; then
    echo "uninstall: keeping $path (changed since it was installed)"
    continue
  fi
  if [[ -e $path || -L $path ]]; then
    rm -f -- "$path"
    echo "uninstall: removed $path"
  fi
done <"$manifest"
# Only directories named after chatd: bin/, man1/ ... are not ours to remove.
for d in $(printf '%s\n' "${dirs[@]}" | sort -ru); do
  while [[ $(basename "$d") == chatd || $(basename "$d") == examples ]] && rmdir -- "$d" 2>/dev/null; do
    d=$(dirname "$d")
  done
done
