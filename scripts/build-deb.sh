#!/usr/bin/env bash
# `make deb`: builds build-deb/chatd_<version>_<arch>.deb with debian/ and
# dpkg-buildpackage, from a copy of the committed tree (git archive HEAD; the
# whole directory outside git), so the package is exactly one commit, which
# --version names, and the build leaves nothing in the tree. The version is
# the CMake project version; debian/changelog is written here from it, so
# that version is written down once. Ends with lintian's verdict.
#   scripts/build-deb.sh [OUTDIR]     (default build-deb)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$root/build-deb}")
cd "$root"

version=$(sed -n 's/^project(chatd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ -n $version ]] || { echo "build-deb: no project version in CMakeLists.txt" >&2; exit 1; }
src=$out/chatd-$version
rm -rf "$src"
mkdir -p "$src"
git_describe=""
if git rev-parse --git-dir >/dev/null 2>&1; then
  git_describe=$(git describe --always HEAD)
  git diff --quiet HEAD -- || echo "build-deb: packaging HEAD ($git_describe); uncommitted changes are left out" >&2
  git archive HEAD | tar -xf - -C "$src"
else
  tar --exclude='./build*' -cf - . | tar -xf - -C "$src"
fi

when=$(git log -1 --format=%aD 2>/dev/null || date -R)
cat >"$src/debian/changelog" <<CHANGELOG
chatd ($version) unstable; urgency=medium

  * Release $version${git_describe:+ (git $git_describe)}.

 -- chatd maintainers <maintainers@users.noreply.b-seed-afbd96a2.example>  $when
CHANGELOG

arch=$(dpkg --print-architecture)
(cd "$src" && CHATD_VERSION_GIT=$git_describe DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || {
  tail -40 "$out/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
  exit 1
}
deb=$out/chatd_${version}_${arch}.deb
echo "build-deb: $deb"
if command -v lintian >/dev/null 2>&1; then
  lintian --fail-on error "$deb" "$out/chatd_${version}_${arch}.changes" || {
    echo "build-deb: lintian reports errors" >&2
    exit 1
  }
fi
