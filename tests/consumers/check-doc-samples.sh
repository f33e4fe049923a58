#!/usr/bin/env bash
# docs/consumers.md shows files that the consumers tests build; each such
# code block follows a line "<!-- file: PATH -->" (PATH from the source
# root) and must equal that file, so the documentation cannot drift from
# what is tested.
#
#   check-doc-samples.sh DOC SOURCE_ROOT
set -euo pipefail
[ "$#" -eq 2 ] || { echo "usage: $0 DOC SOURCE_ROOT" >&2; exit 2; }
doc=$1 root=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clv-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Write each marked block to $tmp/N and list "N PATH".
awk -v dir="$tmp" '
    /^<!-- file: .* -->$/ { path = $3; next }
    path != "" && /^```/ && !inblock { inblock = 1; n++; out = dir "/" n; printf "" > out;
                                       print n, path > (dir "/list"); next }
    inblock && /^```$/ { inblock = 0; path = ""; close(out); next }
    inblock { print > out }
' "$doc"
[ -s "$tmp/list" ] || { echo "FAIL: no <!-- file: ... --> samples in $doc" >&2; exit 1; }
bad=0
while read -r n path; do
    if diff -u "$root/$path" "$tmp/$n" >"$tmp/diff"; then
        echo "ok: $path"
    else
        echo "FAIL: the block $doc marks as $path differs from that file:" >&2
        cat "$tmp/diff" >&2
        bad=1
    fi
done <"$tmp/list"
exit "$bad"
