#!/usr/bin/env bash
# Each man page formats without a single warning from man (or groff when man
# is not installed): a warning is a page that renders wrong somewhere.
#   man_test.sh PAGE...
set -euo pipefail
status=0
for page in "$@"; do
  if command -v man >/dev/null 2>&1; then
    # man-db's seccomp sandbox is refused by some container runtimes (status 159).
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 MAN_DISABLE_SECCOMP=1 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null) ||
      warnings+=" (man failed)"
  else
    warnings=$(groff -ww -z -man -Kutf8 "$page" 2>&1) || warnings+=" (groff failed)"
  fi
  if [[ -n $warnings ]]; then
    echo "FAIL $(basename "$page"):"
    echo "$warnings"
    status=1
  else
    echo "ok   $(basename "$page")"
  fi
done
exit $status
