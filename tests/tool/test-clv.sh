#!/usr/bin/env bash
# End-to-end test of the clv tool: simulate -> train -> predict -> evaluate,
# outputs parsed and checked; every usage error exits 2 with a one-line
# message; runtime failures exit 1; --help works everywhere.
#   test-clv.sh PATH/TO/clv [XGBOOST]   (XGBOOST: 1 when libclv has the xgboost model)
set -u
clv=$1
xgb=${2:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0

ok() { pass=$((pass + 1)); }
bad() { printf 'FAIL: %s\n' "$*"; fails=$((fails + 1)); }

# expect CODE PATTERN -- clv args...: exit code and a stderr line matching PATTERN.
expect() {
    local code=$1 pattern=$2
    shift 3
    local err rc
    err=$("$clv" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        bad "clv $* exited $rc, expected $code (stderr: $err)"
    elif ! grep -qE -- "$pattern" <<<"$err"; then
        bad "clv $*: stderr does not match /$pattern/: $err"
    else
        ok
    fi
}

# --- help for every command -------------------------------------------------
for c in demo simulate train predict evaluate explain tune; do
    if "$clv" "$c" --help | grep -q "^usage: clv $c"; then ok; else bad "clv $c --help"; fi
done
if "$clv" --help | grep -q "^commands:"; then ok; else bad "clv --help"; fi
if "$clv" version | grep -qE '^clv [0-9]+\.[0-9]+\.[0-9]+'; then ok; else bad "clv version"; fi

# --- simulate -------------------------------------------------------------
"$clv" simulate --customers 400 --seed 3 --out "$tmp/log.csv" --quiet || bad "simulate failed"
if [ "$(head -n 1 "$tmp/log.csv")" = "customer_id,date,amount,quantity,event" ]; then ok; else bad "simulate header"; fi
# Outputs through /dev/stdout and through a symbolic link: written into the
# descriptor or the link's target, never renamed over the link (as root that
# replaced /dev/stdout itself).
"$clv" simulate --customers 400 --seed 3 --out /dev/stdout --quiet >"$tmp/stdout.csv" || bad "simulate to /dev/stdout"
if cmp -s "$tmp/log.csv" "$tmp/stdout.csv"; then ok; else bad "simulate --out /dev/stdout > file differs"; fi
ln -s "$tmp/linked.csv" "$tmp/link.csv"
"$clv" simulate --customers 400 --seed 3 --out "$tmp/link.csv" --quiet || bad "simulate through a link"
if [ -L "$tmp/link.csv" ] && cmp -s "$tmp/log.csv" "$tmp/linked.csv"; then ok; else bad "simulate through a link replaced the link"; fi
rows=$(($(wc -l <"$tmp/log.csv") - 1))
if [ "$rows" -gt 400 ]; then ok; else bad "simulate wrote only $rows rows"; fi
"$clv" simulate --customers 400 --seed 3 --out "$tmp/log2.csv" --quiet
if cmp -s "$tmp/log.csv" "$tmp/log2.csv"; then ok; else bad "simulate is not deterministic"; fi

# --- train / predict --------------------------------------------------------
"$clv" train --data "$tmp/log.csv" --cutoff 1997-09-30 --horizon 91 --epochs 3 --samples 8 --ensemble 2 \
    --out "$tmp/m.clv" --quiet || bad "train failed"
if [ "$(head -c 8 "$tmp/m.clv")" = "CLVMODEL" ]; then ok; else bad "model file magic"; fi
"$clv" predict --model "$tmp/m.clv" --data "$tmp/log.csv" --at 1997-09-30 --discount-rate 0.1 \
    --out "$tmp/p.csv" --quiet || bad "predict failed"
"$clv" predict --model "$tmp/m.clv" --data "$tmp/log.csv" --at 1997-09-30 --discount-rate 0.1 \
    --out "$tmp/p2.csv" --quiet
if cmp -s "$tmp/p.csv" "$tmp/p2.csv"; then ok; else bad "predict is not deterministic"; fi
"$clv" predict --model "$tmp/m.clv" --data "$tmp/log.csv" --at 1997-09-30 --discount-rate 0.1 --threads 3 \
    --out "$tmp/p3.csv" --quiet
if cmp -s "$tmp/p.csv" "$tmp/p3.csv"; then ok; else bad "predict --threads 3 differs from the default"; fi
if /usr/bin/env python3 - "$tmp/p.csv" "$tmp/log.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert rows[0] == ["customer_id", "predicted_spend", "predicted_transactions", "p_active",
                   "lifecycle_stage", "spend_p10", "spend_p90", "discounted_clv"], rows[0]
# one row per customer with a purchase on or before the cutoff
buyers = set()
for r in csv.DictReader(open(sys.argv[2])):
    if r["date"] <= "1997-09-30" and r["event"] == "purchase":
        buyers.add(r["customer_id"])
ids = [r[0] for r in rows[1:]]
assert len(ids) == len(set(ids)) and set(ids) == buyers, (len(ids), len(buyers))
for r in rows[1:]:
    spend, tx, pa, lo, hi, disc = map(float, (r[1], r[2], r[3], r[5], r[6], r[7]))
    assert spend >= 0 and tx >= 0 and 0 <= pa <= 1, r
    assert r[4] in ("new", "active", "at-risk", "churned"), r
    assert lo <= hi and disc <= spend + 0.01, r
print("predict rows:", len(ids))
PY
then ok; else bad "predict output check"; fi

# The horizon defaults to the trained one; --at defaults to the last date.
"$clv" predict --model "$tmp/m.clv" --data "$tmp/log.csv" --out "$tmp/p3.csv" 2>"$tmp/err" || bad "predict defaults"
if grep -q "over 91 days" "$tmp/err"; then ok; else bad "default horizon: $(cat "$tmp/err")"; fi
# Outputs go through clv_write_file: /dev/stdout is written as it is, and a
# directory in the way is an error naming the path.
"$clv" predict --model "$tmp/m.clv" --data "$tmp/log.csv" --out /dev/stdout --quiet >"$tmp/p4.csv" ||
    bad "predict --out /dev/stdout"
if cmp -s "$tmp/p3.csv" "$tmp/p4.csv"; then ok; else bad "predict --out /dev/stdout > file differs"; fi
mkdir "$tmp/adir"
if ! "$clv" predict --model "$tmp/m.clv" --data "$tmp/log.csv" --out "$tmp/adir" --quiet 2>"$tmp/err" &&
    grep -q "$tmp/adir" "$tmp/err"; then ok; else bad "predict --out DIR: $(cat "$tmp/err")"; fi

# --- explain: attributions that add up to prediction - baseline ------------
id=$(sed -n 2p "$tmp/p.csv" | cut -d, -f1)
"$clv" explain --model "$tmp/m.clv" --data "$tmp/log.csv" --at 1997-09-30 --customer "$id" >"$tmp/x.txt" ||
    bad "explain failed"
if python3 - "$tmp/x.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"expected spend in the next week \$([0-9.]+) \(average training week \$([0-9.]+)\)", t)
total = float(re.search(r"attributions add up to ([-+0-9.]+)", t).group(1))
rows = re.findall(r"^(\w+) +([-+][0-9.]+)$", t, re.M)
names = [r[0] for r in rows[:12]]
assert len(set(names)) == 12 and "log_bgnbd_rate" in names, names
assert abs(sum(float(r[1]) for r in rows[:12]) - total) < 1e-3 + 0.02 * abs(total), (rows, total)
assert abs(float(m.group(1)) - float(m.group(2)) - total) < 1e-3
PY
then ok; else bad "explain output: $(cat "$tmp/x.txt")"; fi
expect 1 "customer 'nobody' has no purchase" -- explain --model "$tmp/m.clv" --data "$tmp/log.csv" --customer nobody
expect 2 "--customer is required" -- explain --model "$tmp/m.clv" --data "$tmp/log.csv"

# --- tune: 18 early-stopping runs on the held-out weeks, then the best with 3 dropout rates; the best trained ---
"$clv" tune --data "$tmp/log.csv" --cutoff 1997-09-30 --out "$tmp/tuned.clv" --horizon 91 --quiet >"$tmp/tune.txt" ||
    bad "tune failed"
if [ "$(grep -cE '^(lstm|gru) +[0-9]+ +0\.[0-9]+ +0\.00 +[0-9.]+ +[0-9]+$' "$tmp/tune.txt")" = 18 ] &&
    [ "$(grep -cE '^(lstm|gru) +[0-9]+ +0\.[0-9]+ +0\.[123]0 +[0-9.]+ +[0-9]+$' "$tmp/tune.txt")" = 3 ] &&
    grep -qE '^best: --model (lstm|gru) --hidden [0-9]+ --lr [0-9.e-]+ --dropout [0-9.]+' "$tmp/tune.txt" &&
    [ "$(head -c 8 "$tmp/tuned.clv")" = "CLVMODEL" ]; then ok; else bad "tune output: $(cat "$tmp/tune.txt")"; fi
expect 2 "--out needs --horizon" -- tune --data "$tmp/log.csv" --cutoff 1997-09-30 --out "$tmp/t.clv"

# --- demo scenarios: the oracle row and each model's gap to it --------------
expect 2 "unknown --scenario 'bogus'" -- demo --scenario bogus
"$clv" demo --customers 300 --scenario churn --quiet >"$tmp/demo.txt" || bad "demo --scenario churn failed"
if grep -q "scenario churn" "$tmp/demo.txt" && grep -qE "^oracle +[0-9]" "$tmp/demo.txt" &&
    grep -q "^gap to the oracle" "$tmp/demo.txt" && grep -qE "^lstm +[-+][0-9]" "$tmp/demo.txt"; then
    ok
else
    bad "demo --scenario churn output: $(cat "$tmp/demo.txt")"
fi
if grep -qE "^lstm +80% spend interval holds the actual spend for [0-9.]+% of customers" "$tmp/demo.txt"; then
    ok
else
    bad "demo: no interval coverage line"
fi
expect 2 "ensemble" -- train --data "$tmp/log.csv" --cutoff 1997-09-30 --horizon 91 --ensemble 17 --out "$tmp/x.clv"

# --- evaluate ----------------------------------------------------------------
"$clv" evaluate --data "$tmp/log.csv" --cutoff 1997-09-30 --holdout-end 1998-06-30 --json "$tmp/e.json" \
    --quiet >"$tmp/table.txt" || bad "evaluate failed"
models="lstm bgnbd_gg paretonbd_gg naive"
[ "$xgb" = 1 ] && models="$models xgboost"
models="$models ziln"
for m in $models; do
    if grep -q "^$m " "$tmp/table.txt"; then ok; else bad "evaluate table lacks $m"; fi
done
if [ "$xgb" = 1 ] || ! grep -q "^xgboost " "$tmp/table.txt"; then ok; else bad "xgboost row without XGBoost"; fi
if /usr/bin/env python3 - "$tmp/e.json" "$xgb" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["cutoff"] == "1997-09-30" and j["holdout_end"] == "1998-06-30" and j["customers"] > 0
names = ["lstm", "bgnbd_gg", "paretonbd_gg", "naive"] + (["xgboost"] if sys.argv[2] == "1" else []) + ["ziln"]
assert [m["name"] for m in j["models"]] == names, [m["name"] for m in j["models"]]
for m in j["models"]:
    assert set(m["spend"]) == {"mae", "rmse", "r2", "spearman", "gini_norm", "decile_mape", "total_pct_error"}
    assert set(m["transactions"]) == {"mae", "total_pct_error"} and "auc" in m["active"]
    assert m["spend"]["rmse"] >= 0 and m["fit_seconds"] >= 0
print("evaluate models:", len(j["models"]))
PY
then ok; else bad "evaluate JSON check"; fi

# --models: rows in the order asked; unknown names are usage errors; xgboost
# without XGBoost is a runtime failure naming the cause.
if [ "$xgb" = 1 ]; then
    "$clv" evaluate --data "$tmp/log.csv" --cutoff 1997-09-30 --holdout-end 1998-06-30 --models xgboost,naive \
        --json "$tmp/m.json" --quiet >"$tmp/m.txt" || bad "evaluate --models failed"
    if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert [m["name"] for m in j["models"]] == ["xgboost", "naive"]' "$tmp/m.json" &&
        [ "$(grep -cE '^(xgboost|naive|lstm|bgnbd_gg|paretonbd_gg) ' "$tmp/m.txt")" = 2 ]
    then ok; else bad "evaluate --models xgboost,naive rows"; fi
else
    expect 1 "built without XGBoost" -- evaluate --data "$tmp/log.csv" --cutoff 1997-09-30 \
        --holdout-end 1998-06-30 --models naive,xgboost
fi
expect 2 "unknown model 'nope'" -- evaluate --data "$tmp/log.csv" --cutoff 1997-09-30 --holdout-end 1998-06-30 \
    --models naive,nope

# Columns by name and by index, with other headers and another delimiter.
printf 'cust;day;value\n1;1997-01-03;10\n1;1997-02-03;12\n2;1997-01-05;7\n2;1997-03-01;9\n' >"$tmp/other.csv"
for i in 1 2 3 4 5 6; do printf '%d;1997-0%d-1%d;5\n' "$((i + 2))" "$(((i % 8) + 1))" "$i" >>"$tmp/other.csv"; done
if "$clv" train --data "$tmp/other.csv" --customer-col cust --date-col day --amount-col value \
    --cutoff 1997-06-30 --horizon 30 --epochs 1 --samples 4 --out "$tmp/o.clv" --quiet; then
    ok
else
    bad "train with named columns"
fi
if "$clv" predict --model "$tmp/o.clv" --data "$tmp/other.csv" --customer-col 1 --date-col 2 \
    --amount-col 3 --out "$tmp/o.csv" --quiet; then
    ok
else
    bad "predict with column indices"
fi

# --- usage errors: exit 2 ---------------------------------------------------
expect 2 "unknown command" -- frobnicate
expect 2 "--data is required" -- train --cutoff 1997-09-30 --horizon 30 --out "$tmp/x.clv"
expect 2 "--cutoff is required" -- evaluate --data "$tmp/log.csv" --holdout-end 1998-01-01
expect 2 "--horizon is required" -- train --data "$tmp/log.csv" --cutoff 1997-09-30 --out "$tmp/x.clv"
expect 2 "--out is required" -- predict --model "$tmp/m.clv" --data "$tmp/log.csv"
expect 2 "--model is required" -- predict --data "$tmp/log.csv" --out "$tmp/x.csv"
expect 2 "--customers is required" -- simulate --out "$tmp/x.csv"
expect 2 "expected a date" -- train --data "$tmp/log.csv" --cutoff 1997-13-01 --horizon 30 --out "$tmp/x.clv"
expect 2 "expected an integer" -- simulate --customers abc --out "$tmp/x.csv"
expect 2 "expected an integer" -- train --data "$tmp/log.csv" --cutoff 1997-09-30 --horizon 0 --out "$tmp/x.clv"
expect 2 "expected a number" -- predict --model "$tmp/m.clv" --data "$tmp/log.csv" --out "$tmp/x.csv" --discount-rate x
expect 2 "unknown option" -- train --bogus
expect 2 "needs a value" -- train --data
expect 2 "unexpected argument" -- evaluate extra --data "$tmp/log.csv"
expect 2 "supports 'week' only" -- train --data "$tmp/log.csv" --cutoff 1997-09-30 --horizon 30 --period month --out "$tmp/x.clv"
expect 2 "expected lstm or gru" -- train --data "$tmp/log.csv" --cutoff 1997-09-30 --horizon 30 --model rnn --out "$tmp/x.clv"
expect 2 "only 'default'" -- train --data "$tmp/log.csv" --cutoff 1997-09-30 --horizon 30 --loss mse --out "$tmp/x.clv"
expect 2 "must be after" -- evaluate --data "$tmp/log.csv" --cutoff 1997-09-30 --holdout-end 1997-09-01
expect 2 "nosuch" -- train --data "$tmp/log.csv" --customer-col nosuch --cutoff 1997-09-30 --horizon 30 --out "$tmp/x.clv"

# --- runtime failures: exit 1, one line naming the problem -------------------
expect 1 "missing.csv" -- evaluate --data "$tmp/missing.csv" --cutoff 1997-09-30 --holdout-end 1998-01-01
printf 'customer_id,date,amount\n1,1997-01-01,5\n2,1997-02-30,5\n' >"$tmp/badrow.csv"
expect 1 "badrow.csv:3: column 2" -- train --data "$tmp/badrow.csv" --cutoff 1997-09-30 --horizon 30 --out "$tmp/x.clv"
head -c 100 "$tmp/m.clv" >"$tmp/trunc.clv"
expect 1 "trunc.clv" -- predict --model "$tmp/trunc.clv" --data "$tmp/log.csv" --out "$tmp/x.csv"
expect 1 "not a libclv model file|bad magic" -- predict --model "$tmp/log.csv" --data "$tmp/log.csv" --out "$tmp/x.csv"
expect 1 "no customer" -- train --data "$tmp/log.csv" --cutoff 1990-01-01 --horizon 30 --out "$tmp/x.clv"
if [ ! -e "$tmp/x.clv" ] && [ ! -e "$tmp/x.csv" ]; then ok; else bad "a failed command left an output file"; fi

printf '%d passed, %d failed\n' "$pass" "$fails"
[ "$fails" -eq 0 ]
