#!/usr/bin/env bash
# Run examples/cxx_forecast (the C++ wrapper in use) and check what it prints:
#  - on 1000 simulated customers: all 1000 predicted, the predicted total spend
#    within 50% of the simulator's expected total, a normalised Gini against
#    the expected spend of at least 0.5 (a random ranking scores about 0),
#    p10 <= p90 in the top-5 table, and the model reloaded from its file
#    predicting identically;
#  - on a CSV written by `clv simulate`: read through clv::txlog::read_csv;
#  - on a missing file: exit status 1 and the clv::error with CLV_EIO and the path.
#
#   check-cxx-example.sh CXX_FORECAST CLV_TOOL
set -euo pipefail
[ "$#" -eq 2 ] || { echo "usage: $0 CXX_FORECAST CLV_TOOL" >&2; exit 2; }
example=$1 clv=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clv-cxx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$example" 1000 1) || fail "cxx_forecast 1000 1 exited with status $?"
echo "$out" | sed 's/^/  /'
grep -q '^customers: 1000, fitted at 1997-09-30, horizon 273 days$' <<<"$out" ||
    fail "expected 1000 customers fitted at 1997-09-30"
err=$(sed -n 's/.*(total error \([-+][0-9.]*\)%)$/\1/p' <<<"$out")
gini=$(sed -n 's/^normalised gini vs expected spend: //p' <<<"$out")
[ -n "$err" ] && [ -n "$gini" ] || fail "no total error or Gini line"
awk -v e="$err" 'BEGIN { exit !(e >= -50 && e <= 50) }' || fail "total spend off by $err% (> 50%)"
awk -v g="$gini" 'BEGIN { exit !(g >= 0.5) }' || fail "normalised Gini $gini < 0.5"
# The top-5 table: rows of id, spend, p10, p90, p_active, stage, by spend descending.
awk '/^customer /{t=1; next} NF != 6 {t=0} t { n++; if ($3 > $4 || $5 < 0 || $5 > 1 || (n > 1 && $2 > prev)) bad=1; prev=$2 }
     END { exit !(n == 5 && !bad) }' <<<"$out" || fail "top-5 table malformed (5 rows, p10 <= p90, p_active in [0,1], sorted)"
grep -q 'reloaded predictions identical: yes$' <<<"$out" || fail "reloaded model predicts differently"
echo "ok: simulated log: total error $err%, Gini $gini, save/load identical"

"$clv" simulate --customers 300 --seed 2 --out "$tmp/orders.csv" >/dev/null ||
    fail "clv simulate failed"
out=$("$example" "$tmp/orders.csv" 1997-09-30) || fail "cxx_forecast on a CSV exited with status $?"
grep -q '^customers: 300, fitted at 1997-09-30' <<<"$out" || { echo "$out" >&2; fail "CSV: expected 300 customers"; }
grep -q 'identical: yes$' <<<"$out" || fail "CSV: reloaded model predicts differently"
echo "ok: CSV log read with clv::txlog::read_csv: 300 customers"

set +e
"$example" "$tmp/missing.csv" 1997-09-30 >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "missing file: exit status $rc, expected 1"
grep -q '^cxx_forecast: CLV_EIO' "$tmp/err" && grep -q "$tmp/missing.csv" "$tmp/err" ||
    { cat "$tmp/err" >&2; fail "missing file: no CLV_EIO error naming the path"; }
echo "ok: missing file: $(tr '\n' ' ' <"$tmp/err")"
