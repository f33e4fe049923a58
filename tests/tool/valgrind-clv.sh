#!/usr/bin/env bash
# The clv tool under valgrind memcheck: a modest subset of test-clv.sh
# (simulate, train and predict on a small log, and the failure paths:
# bad row, truncated and foreign model files, missing file, usage error)
# must run with zero memcheck errors and zero definite or indirect leaks.
# Every run's exit code is checked too, so valgrind cannot hide a failure.
#   valgrind-clv.sh PATH/TO/clv          (scripts/dev runs it in CI)
set -u
clv=$1
command -v valgrind >/dev/null || { echo "valgrind not found: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
runs=0
export OPENBLAS_NUM_THREADS=1

# vg EXPECTED_EXIT -- clv args...
vg() {
    local want=$1
    shift 2
    runs=$((runs + 1))
    local logf="$tmp/vg.$runs.log" rc
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --track-origins=yes --log-file="$logf" "$clv" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 99 ]; then
        printf 'FAIL: valgrind found errors in: clv %s\n' "$*"
        grep -E '^==[0-9]+== ' "$logf" | sed -n '1,60p'
        fails=$((fails + 1))
    elif [ "$rc" -ne "$want" ]; then
        printf 'FAIL: clv %s exited %d, expected %d: %s\n' "$*" "$rc" "$want" "$(head -c 300 "$tmp/err")"
        fails=$((fails + 1))
    else
        printf 'ok: clv %s  (%s)\n' "$*" "$(grep -E 'ERROR SUMMARY' "$logf" | sed 's/^==[0-9]*== //')"
    fi
}

vg 0 -- simulate --customers 120 --seed 5 --out "$tmp/log.csv" --quiet
vg 0 -- train --data "$tmp/log.csv" --cutoff 1997-09-30 --horizon 28 --epochs 1 --hidden 8 --samples 4 \
    --out "$tmp/m.clv" --quiet
vg 0 -- predict --model "$tmp/m.clv" --data "$tmp/log.csv" --at 1997-09-30 --out "$tmp/p.csv" --quiet
printf 'customer_id,date,amount\n1,1997-01-01,5\n2,1997-02-30,5\n' >"$tmp/badrow.csv"
vg 1 -- train --data "$tmp/badrow.csv" --cutoff 1997-09-30 --horizon 30 --out "$tmp/x.clv"
head -c 100 "$tmp/m.clv" >"$tmp/trunc.clv"
vg 1 -- predict --model "$tmp/trunc.clv" --data "$tmp/log.csv" --out "$tmp/x.csv"
vg 1 -- predict --model "$tmp/log.csv" --data "$tmp/log.csv" --out "$tmp/x.csv"
vg 1 -- evaluate --data "$tmp/missing.csv" --cutoff 1997-09-30 --holdout-end 1998-01-01
vg 2 -- train --data "$tmp/log.csv" --cutoff 1997-13-01 --horizon 30 --out "$tmp/x.clv"

printf '%d runs under valgrind, %d failed\n' "$runs" "$fails"
[ "$fails" -eq 0 ]
