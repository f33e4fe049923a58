#!/usr/bin/env bash
# ABI guard for the built shared library (libevdev test-static-symbols-leak.sh idea).
#
#   check-symbols.sh LIB EXPECTED_SONAME SYMBOLS_TXT [HEADER_DIR]
#
# Fails when
#  - the SONAME differs from EXPECTED_SONAME;
#  - any exported symbol does not start with clv_ (an internal helper leaked);
#  - any exported symbol carries no CLV_x.y version (the version script was
#    not applied);
#  - the sorted export list differs from SYMBOLS_TXT (an accidental export or
#    a removal). After a deliberate API change run tests/api/update-symbols.sh;
#  - with HEADER_DIR (include/clv): a CLV_API function declared there is not
#    exported (users would fail to link), or an export is declared in no
#    public header (an internal clv_ function marked CLV_API).
# NM and READELF may name the tools (meson passes the ones it found).
set -euo pipefail

if [ "$#" -lt 3 ] || [ "$#" -gt 4 ]; then
    echo "usage: $0 LIB EXPECTED_SONAME SYMBOLS_TXT [HEADER_DIR]" >&2
    exit 2
fi
lib=$1
want_soname=$2
symbols_txt=$3
header_dir=${4:-}
nm=${NM:-nm}
readelf=${READELF:-readelf}
status=0

# --- SONAME -----------------------------------------------------------------
soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$want_soname" ]; then
    echo "FAIL: SONAME is '${soname:-<none>}', expected '$want_soname'" >&2
    status=1
else
    echo "ok: SONAME $soname"
fi

# --- exported symbols -----------------------------------------------------------
# `nm -D --defined-only` prints "ADDR TYPE NAME[@@VERSION]". Type A lines are
# the version nodes (CLV_0.1): skip them. Every other defined dynamic symbol
# (T D B R V W, and also i u G S should they ever appear) is an export.
raw=$("$nm" -D --defined-only "$lib" | awk 'NF >= 2 && $(NF-1) != "A" { print $NF }')
if [ -z "$raw" ]; then
    echo "FAIL: no exported symbols found in $lib" >&2
    exit 1
fi

exports=$(printf '%s\n' "$raw" | sed 's/@.*//' | LC_ALL=C sort -u)

leaked=$(printf '%s\n' "$exports" | grep -v '^clv_' || true)
if [ -n "$leaked" ]; then
    echo "FAIL: exported symbols outside the clv_ namespace:" >&2
    printf '%s\n' "$leaked" | sed 's/^/  /' >&2
    status=1
else
    echo "ok: all $(printf '%s\n' "$exports" | wc -l) exported symbols start with clv_"
fi

unversioned=$(printf '%s\n' "$raw" | grep -Ev '@@?CLV_[0-9]+\.[0-9]+$' || true)
if [ -n "$unversioned" ]; then
    echo "FAIL: exported symbols without a CLV_x.y version (is lib/clv.sym applied?):" >&2
    printf '%s\n' "$unversioned" | sed 's/^/  /' >&2
    status=1
else
    echo "ok: every export is versioned (CLV_x.y)"
fi

# --- agreement with the public headers ------------------------------------------
if [ -n "$header_dir" ]; then
    # Declarations read "CLV_API [CLV_NODISCARD] type clv_name(" on one line.
    declared=$(cat "$header_dir"/*.h "$header_dir"/*.h.in 2>/dev/null |
        sed -n 's/^CLV_API[^(]*[^a-zA-Z0-9_]\(clv_[a-zA-Z0-9_]*\)[[:space:]]*(.*/\1/p' | LC_ALL=C sort -u)
    undefined=$(LC_ALL=C comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exports"))
    undeclared=$(LC_ALL=C comm -13 <(printf '%s\n' "$declared") <(printf '%s\n' "$exports"))
    if [ -n "$undefined" ]; then
        echo "FAIL: declared CLV_API in $header_dir but not exported by the library:" >&2
        printf '%s\n' "$undefined" | sed 's/^/  /' >&2
        status=1
    fi
    if [ -n "$undeclared" ]; then
        echo "FAIL: exported but declared in no public header (internal function marked CLV_API?):" >&2
        printf '%s\n' "$undeclared" | sed 's/^/  /' >&2
        status=1
    fi
    if [ -z "$undefined" ] && [ -z "$undeclared" ]; then
        echo "ok: exports == the $(printf '%s\n' "$declared" | wc -l) CLV_API functions of the public headers"
    fi
fi

# --- comparison with the committed list ----------------------------------------
if [ ! -f "$symbols_txt" ]; then
    echo "FAIL: $symbols_txt is missing; create it with tests/api/update-symbols.sh" >&2
    exit 1
fi
expected=$(grep -v '^#' "$symbols_txt" | sed '/^[[:space:]]*$/d' | LC_ALL=C sort -u)
if ! diff_out=$(diff -u --label "$symbols_txt (expected)" --label "$lib (actual)" \
        <(printf '%s\n' "$expected") <(printf '%s\n' "$exports")); then
    echo "FAIL: exported symbols differ from tests/api/symbols.txt" >&2
    echo "      ('+' = exported but not listed, '-' = listed but no longer exported)" >&2
    printf '%s\n' "$diff_out" >&2
    echo "If the change is intended, run tests/api/update-symbols.sh and commit symbols.txt" >&2
    echo "(a removal or changed signature also needs an soversion bump)." >&2
    status=1
else
    echo "ok: export list matches $(basename "$symbols_txt")"
fi

exit "$status"
