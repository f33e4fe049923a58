# bench/run train | infer | latency | roof: sourced by bench/run (uses its
# BUILD_DIR, PY, bench_dir, log, die, build, report_load).
#
# Every benchmark runs libclv and its peers in the same invocation,
# interleaved (one fresh process per measurement, rotating through the
# sides), REPS times, and prints the medians and the ratio (bench/lstm_report.py).
#
# Sides:
#   libclv   build/bench/bench_lstm: libclv threads = THREADS, OpenBLAS 1 thread
#   onednn   build/bench/bench_dnnl: oneDNN LSTM primitive, OpenMP threads = THREADS
#            (built only when meson finds oneDNN; skipped with a message otherwise)
#   torch    bench/torch_lstm.py (a copy of the reference script) under
#            /usr/bin/python3 with torch; it measures 1 and 2 threads per run
#            and the report takes its best (skipped when torch is missing)
#   sgemm    build/bench/bench_roof: cblas_sgemm on the step's GEMM shapes

REPS=${CLV_BENCH_REPS:-5}
TORCH_SCRIPT=${CLV_TORCH_SCRIPT:-$bench_dir/torch_lstm.py}
HAVE_DNNL=0
HAVE_TORCH=0

build_lstm() {
    build bench/bench_lstm bench/bench_roof
    local targets
    # Captured first: `ninja | grep -q` under pipefail fails when grep exits
    # early and ninja gets SIGPIPE.
    targets=$(ninja -C "$BUILD_DIR" -t targets all 2>/dev/null || true)
    if grep -q '^bench/bench_dnnl:' <<<"$targets"; then
        ninja -C "$BUILD_DIR" bench/bench_dnnl >&2
        HAVE_DNNL=1
    fi
    if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null && [ -r "$TORCH_SCRIPT" ]; then
        HAVE_TORCH=1
    fi
}

lstm_facts() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ { m = $2 } END { print m }' /proc/cpuinfo)
    echo "Machine"
    echo "  cpu: $cpu; $(getconf _NPROCESSORS_ONLN) cores online;" \
        "flags: $(grep -o -w -E 'avx512f|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    echo "  kernel $(uname -r); $(cc --version | head -n 1); openblas $(dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null || echo '?')"
    echo "  libclv: $BUILD_DIR (buildtype $(meson introspect --buildoptions "$BUILD_DIR" | "$PY" -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])'))," \
        "sources $(git -C "$bench_dir/.." rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$bench_dir/.." diff --quiet HEAD -- lib include 2>/dev/null || echo '+uncommitted')"
    if [ "$HAVE_DNNL" = 1 ]; then
        echo "  peer oneDNN: $(dpkg-query -W -f='libdnnl-dev ${Version}' libdnnl-dev 2>/dev/null || echo 'found by meson'), OpenMP threads = libclv's"
    else
        echo "  peer oneDNN: SKIPPED (meson found no oneDNN: install libdnnl-dev and rerun)"
    fi
    if [ "$HAVE_TORCH" = 1 ]; then
        echo "  peer PyTorch: $("$PY" -c 'import torch; print("torch", torch.__version__)') via $PY $TORCH_SCRIPT; best of 1 and 2 threads"
    else
        echo "  peer PyTorch: SKIPPED (no $PY with torch, or no $TORCH_SCRIPT)"
    fi
    echo "  libclv threads: clv_model_set_num_threads(THREADS) with clv_blas_set_num_threads(1); no CPU pinning"
    echo "  $REPS repetitions per side and configuration, interleaved; medians below (CLV_BENCH_REPS changes it)"
}

# side, then the program's TSV line(s), into the results file and stdout.
record() {
    local side=$1 results=$2 line
    while IFS= read -r line; do
        case $line in
            train* | infer* | lat* | roof*)
                printf '%s\t%s\n' "$side" "$line" >>"$results"
                printf '  %-7s %s\n' "$side" "$line"
                ;;
        esac
    done
}

run_libclv() { "$BUILD_DIR/bench/bench_lstm" "$@"; }
run_onednn() { "$BUILD_DIR/bench/bench_dnnl" "$@"; }
# torch_lstm.py MODE: one run measures threads 1 and 2 (train: for TORCH_H).
run_torch() {
    local mode=$1 h=${2:-}
    env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS TORCH_H="$h" "$PY" "$TORCH_SCRIPT" "$mode"
}

# measure MODE "H..." "THREADS..." WITH_TORCH TORCH_MODE
measure_lstm() {
    local mode=$1 hs=$2 ths=$3 torch_mode=$4 results=$5 rep h t
    for ((rep = 1; rep <= REPS; rep++)); do
        echo "rep $rep/$REPS"
        for h in $hs; do
            for t in $ths; do
                run_libclv "$mode" "$h" "$t" | record libclv "$results" || die "bench_lstm $mode $h $t failed"
                if [ "$HAVE_DNNL" = 1 ]; then
                    run_onednn "$mode" "$h" "$t" | record onednn "$results" || die "bench_dnnl $mode $h $t failed"
                fi
                if [ "$mode" = train ] && [ "${ROOF:-0}" = 1 ]; then
                    "$BUILD_DIR/bench/bench_roof" "$h" "$t" | record sgemm "$results" || die "bench_roof failed"
                fi
            done
            if [ "$HAVE_TORCH" = 1 ] && [ -n "$torch_mode" ]; then
                run_torch "$torch_mode" "$h" | record torch "$results" || die "torch_lstm.py $torch_mode failed"
            fi
        done
    done
}

lstm_bench() {
    local name=$1 mode=$2 hs=$3 ths=$4 torch_mode=$5 what=$6 results
    results=$(mktemp)
    # shellcheck disable=SC2064 # expand now
    trap "rm -f '$results'" EXIT
    echo "bench/run $name: $what"
    lstm_facts
    report_load "before the runs" 0
    echo "Runs (TSV: side mode H threads B value unit ...)"
    measure_lstm "$mode" "$hs" "$ths" "$torch_mode" "$results"
    report_load "after the runs" 1
    "$PY" "$bench_dir/lstm_report.py" "$name" "$results"
}

bench_train() {
    lstm_bench train train "64 128" "1 2" train \
        "training step (zero_grad+forward+MSE+backward+Adam), LSTM F=16 -> H + Linear(H,1), B=256, T=52"
}

bench_infer() {
    lstm_bench infer infer "64" "1 2" infer "inference, LSTM F=16 -> H=64 + Linear(64,1), B=1024, T=52"
}

bench_latency() {
    lstm_bench latency latency "64" "1" lat \
        "inference latency, B=1, T=52, H=64 (libclv: reserved workspace, counting allocator)"
}

bench_roof() {
    ROOF=1 HAVE_DNNL=0 HAVE_TORCH=0 lstm_bench roof train "64 128" "1 2" "" \
        "libclv training GFLOP/s (3 x 2*B*T*4H*(F+H) per step) vs cblas_sgemm alone on the step's GEMM shapes, same thread count"
}
