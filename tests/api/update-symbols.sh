#!/usr/bin/env bash
# Regenerate tests/api/symbols.txt from a built libclv.so after a deliberate
# change to the public API (then review `git diff tests/api/symbols.txt`:
# a removed line is an ABI break and needs an soversion bump).
#
#   tests/api/update-symbols.sh [BUILD_DIR | path/to/libclv.so]   (default: build)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
arg=${1:-$root/build}
nm=${NM:-nm}

if [ -d "$arg" ]; then
    ninja -C "$arg" >/dev/null
    lib=$arg/lib/libclv.so
else
    lib=$arg
fi
if [ ! -f "$lib" ]; then
    echo "error: $lib not found (build first, or pass the library path)" >&2
    exit 1
fi

# Same extraction as check-symbols.sh: defined dynamic symbols minus the
# version nodes (type A), version suffix stripped, sorted bytewise.
exports=$("$nm" -D --defined-only "$lib" | awk 'NF >= 2 && $(NF-1) != "A" { print $NF }' |
    sed 's/@.*//' | LC_ALL=C sort -u)

out=$here/symbols.txt
{
    echo "# Symbols exported by libclv.so, one per line, sorted (LC_ALL=C)."
    echo "# Checked by the 'symbols' test; regenerate with tests/api/update-symbols.sh."
    printf '%s\n' "$exports"
} >"$out"
echo "wrote $out ($(printf '%s\n' "$exports" | wc -l) symbols from $lib)"
