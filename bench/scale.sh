# bench/run scale: sourced by bench/run (uses its BUILD_DIR, DATA_DIR, PY,
# log, die, report_load).
#
# The command-line tool end to end at growing customer counts:
#   clv simulate --customers N          (default simulator, seed 1)
#   clv train    --cutoff 1997-09-30 --horizon 273   (library defaults)
#   clv predict  --at 1997-09-30        (32 Monte-Carlo paths x 39 weeks per customer)
# Each step runs once under /usr/bin/time -v: wall time, user CPU, peak RSS,
# and wall and CPU time per customer. Sizes: CLV_SCALE_SIZES (default 100000
# 1000000 10000000; with the defaults the 10M train and predict take hours
# on 2 cores: set the variable to skip it). CLV_SCALE_TRAIN_ARGS adds
# options to clv train, e.g. "--epochs 1 --ensemble 1 --samples 4" for a
# quick run whose memory is that of the defaults (the buffers do not grow
# with passes, networks or paths) at a fraction of the time. Files go to
# $DATA_DIR/scale (reused between runs for simulate only when
# CLV_SCALE_REUSE=1).

SCALE_SIZES=${CLV_SCALE_SIZES:-100000 1000000 10000000}
SCALE_CUTOFF=1997-09-30
SCALE_HORIZON=273
read -r -a SCALE_TRAIN_ARGS <<<"${CLV_SCALE_TRAIN_ARGS:-}"

# time_step NAME N CMD...: run CMD under GNU time, print one result line.
# A failure (e.g. the kernel's OOM killer at 10M customers on a small
# machine) is reported with its peak RSS and returns 1; the caller skips the
# rest of that size.
time_step() {
    local name=$1 n=$2 tv rc=0
    shift 2
    tv=$(mktemp)
    /usr/bin/time -v -o "$tv" "$@" >/dev/null 2>"$tv.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -n 3 "$tv.err" >&2
        printf '  %-9s %10d customers  FAILED (exit status %d; %s); peak RSS %s MB; MemTotal %s\n' "$name" "$n" "$rc" \
            "$(grep -m1 -o 'Command terminated by signal [0-9]*' "$tv" || echo 'see stderr above')" \
            "$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$tv")" \
            "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
        rm -f "$tv" "$tv.err"
        return 1
    fi
    awk -v name="$name" -v n="$n" -F': ' '
        /Elapsed \(wall clock\)/ {
            k = split($2, p, ":"); w = 0
            for (i = 1; i <= k; i++) w = w * 60 + p[i]
        }
        /User time/ { u = $2 }
        /System time/ { s = $2 }
        /Maximum resident set size/ { r = $2 }
        END {
            printf "  %-9s %10d customers  wall %9.2f s  user %9.2f s  sys %7.2f s  peak RSS %8.1f MB  %9.2f us/customer wall  %9.2f us/customer user\n",
                name, n, w, u, s, r / 1024, w / n * 1e6, u / n * 1e6
        }' "$tv"
    rm -f "$tv" "$tv.err"
}

bench_scale() {
    local clv=$BUILD_DIR/examples/clv dir=$DATA_DIR/scale n log model out
    [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for peak RSS: apt-get install time"
    mkdir -p "$dir"
    echo "bench/run scale: clv simulate / train / predict end to end"
    echo "Machine"
    echo "  cpu: $(awk -F': ' '/^model name/ { m = $2 } END { print m }' /proc/cpuinfo); $(getconf _NPROCESSORS_ONLN) cores online;" \
        "memory $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "  $("$clv" version 2>/dev/null | head -n 1); build dir $BUILD_DIR;" \
        "sources $(git -C "$bench_dir/.." rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$bench_dir/.." diff --quiet HEAD -- lib include 2>/dev/null || echo '+uncommitted')"
    echo "  threads: tool defaults (OpenBLAS: its default unless OPENBLAS_NUM_THREADS is set; now '${OPENBLAS_NUM_THREADS:-unset}')"
    if [ "${#SCALE_TRAIN_ARGS[@]}" -eq 0 ]; then
        echo "  train --cutoff $SCALE_CUTOFF --horizon $SCALE_HORIZON (library defaults); predict --at $SCALE_CUTOFF (32 paths x 39 weeks)"
    else
        echo "  train --cutoff $SCALE_CUTOFF --horizon $SCALE_HORIZON ${SCALE_TRAIN_ARGS[*]} (CLV_SCALE_TRAIN_ARGS: not the defaults); predict --at $SCALE_CUTOFF"
    fi
    echo "  sizes: $SCALE_SIZES (CLV_SCALE_SIZES)"
    report_load "before the runs" 0
    echo "Results (one run per step; wall time per customer = wall / customers)"
    for n in $SCALE_SIZES; do
        log=$dir/sim-$n.csv model=$dir/model-$n.clvm out=$dir/pred-$n.csv
        if [ "${CLV_SCALE_REUSE:-0}" = 1 ] && [ -s "$log" ]; then
            echo "  simulate  $n: reusing $log"
        else
            time_step simulate "$n" "$clv" simulate --customers "$n" --out "$log" --quiet || continue
        fi
        time_step train "$n" "$clv" train --data "$log" --cutoff "$SCALE_CUTOFF" --horizon "$SCALE_HORIZON" \
            "${SCALE_TRAIN_ARGS[@]}" --out "$model" --quiet || continue
        time_step predict "$n" "$clv" predict --model "$model" --data "$log" --at "$SCALE_CUTOFF" --out "$out" --quiet ||
            continue
        echo "            $n: $(($(wc -l <"$log") - 1)) log rows, $(($(wc -l <"$out") - 1)) predicted customers"
    done
    report_load "after the runs" 1
}
