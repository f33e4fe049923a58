/* libclv side of bench/run train | infer | latency: the model of
 * /work/shared/bench/torch_lstm.py (one LSTM layer, F=16 inputs, hidden H,
 * a Linear(H,1) head on the last hidden state, MSE loss, Adam lr 1e-3),
 * timed through the public API only.
 *
 *   bench_lstm train   H THREADS [B=256 [BLAS_THREADS=1]]   seconds per clv_model_train_step
 *   bench_lstm infer   H THREADS [B=1024 [BLAS_THREADS=1]]  seconds per clv_model_predict
 *   bench_lstm latency H THREADS [B=1 [BLAS_THREADS=1]]     median us per clv_model_predict
 *
 * THREADS is libclv's own thread count (clv_model_set_num_threads); OpenBLAS
 * is pinned to BLAS_THREADS, by default 1 so the two pools never share the
 * cores (docs/threading.md; the other policy, THREADS=1 BLAS_THREADS=2, is
 * there to be measured against it). One invocation = one measurement: bench/run interleaves
 * invocations with the peers'. Output: one TSV line in torch_lstm.py's format
 *   mode H threads B value unit key=value...
 * Every memory request libclv makes goes through a counting allocator; the
 * latency mode reports the requests made after warm-up (expected 0). */
#define _POSIX_C_SOURCE 200809L

#include <clv/clv.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { F = 16, T = 52 };

static unsigned long long n_alloc;

static void *count_alloc(size_t size, void *user)
{
    (void)user;
    n_alloc++;
    return malloc(size);
}

static void count_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Process CPU time (all threads): on a shared machine wall time includes
 * time spent waiting for a core; printed next to it as a noise indicator. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_lstm: %s failed: %s (%s)\n", what, clv_status_str(rc), clv_last_error());
    exit(1);
}

#define CHECK(call)                      \
    do {                                 \
        int rc_ = (call);                \
        if (rc_ != CLV_OK) die(#call, rc_); \
    } while (0)

/* Deterministic N(0,1)-ish inputs (sum of 4 uniforms, scaled): the timing
 * does not depend on the values, only on them being finite and typical. */
static float *random_array(size_t n, unsigned long long seed)
{
    float *a = malloc(n * sizeof *a);
    if (!a) exit(1);
    unsigned long long s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        float u = 0.0f;
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u += (float)(s >> 40) / (float)(1ull << 24);
        }
        a[i] = (u - 2.0f) * 1.7320508f;
    }
    return a;
}

static double fwd_flops(double B, double H) { return 2.0 * B * T * 4 * H * (F + H); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_lstm train|infer|latency H THREADS [B]\n");
        return 2;
    }
    const char *mode = argv[1];
    const unsigned H = (unsigned)atoi(argv[2]);
    const int threads = atoi(argv[3]);
    unsigned B = strcmp(mode, "train") == 0 ? 256 : strcmp(mode, "infer") == 0 ? 1024 : 1;
    if (argc > 4) B = (unsigned)atoi(argv[4]);
    const int blas_threads = argc > 5 ? atoi(argv[5]) : 1;
    if (H < 1 || threads < 1 || B < 1 || blas_threads < 1) return 2;

    clv_allocator al = { sizeof al, count_alloc, count_free, NULL };
    CHECK(clv_set_allocator(&al));
    CHECK(clv_blas_set_num_threads(blas_threads));

    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = F;
    mo.hidden_size = H;
    mo.final_outputs = 1;
    clv_model *model;
    CHECK(clv_model_new(&model, &mo));
    CHECK(clv_model_set_num_threads(model, threads));

    float *x = random_array((size_t)B * T * F, 1);
    float *y = random_array(B, 2);
    float *out = malloc(B * sizeof *out);

    if (strcmp(mode, "train") == 0) {
        clv_optim_options oo;
        clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
        oo.lr = 1e-3f;
        clv_optim *opt;
        CHECK(clv_optim_new(&opt, &oo));
        clv_loss_options lo;
        clv_loss_options_init(&lo);   /* MSE, mean */
        double loss0 = 0, loss = 0;
        for (int i = 0; i < 3; i++)
            CHECK(clv_model_train_step(model, opt, &lo, B, T, x, NULL, NULL, y, NULL, i ? &loss : &loss0));
        int n = 0;
        double t0 = now(), c0 = cpu_now(), el;
        for (;;) {
            CHECK(clv_model_train_step(model, opt, &lo, B, T, x, NULL, NULL, y, NULL, &loss));
            n++;
            el = now() - t0;
            if (el >= 1.5 && n >= 3) break;
        }
        double s = el / n, cpu = (cpu_now() - c0) / n;
        printf("train\t%u\t%d\t%u\t%.2f\tms/step\tseq/s=%.1f\tGFLOP/s=%.2f\tcpu_ms=%.2f\tsteps=%d\tloss0=%.4f\tloss=%.4f\n",
               H, threads, B, s * 1e3, B / s, 3 * fwd_flops(B, H) / s * 1e-9, cpu * 1e3, n, loss0, loss);
        clv_optim_free(opt);
    } else if (strcmp(mode, "infer") == 0) {
        clv_workspace *ws;
        CHECK(clv_workspace_new(&ws));
        CHECK(clv_workspace_reserve(ws, model, B, T));
        for (int i = 0; i < 3; i++) CHECK(clv_model_predict(model, ws, B, T, x, NULL, NULL, out, NULL));
        int n = 0;
        double t0 = now(), c0 = cpu_now(), el;
        for (;;) {
            CHECK(clv_model_predict(model, ws, B, T, x, NULL, NULL, out, NULL));
            n++;
            el = now() - t0;
            if (el >= 1.0 && n >= 3) break;
        }
        double s = el / n, cpu = (cpu_now() - c0) / n;
        printf("infer\t%u\t%d\t%u\t%.2f\tms/batch\tseq/s=%.1f\tGFLOP/s=%.2f\tcpu_ms=%.2f\tcalls=%d\n", H, threads,
               B, s * 1e3, B / s, fwd_flops(B, H) / s * 1e-9, cpu * 1e3, n);
        clv_workspace_free(ws);
    } else if (strcmp(mode, "latency") == 0) {
        enum { WARM = 50, CALLS = 4000 };
        clv_workspace *ws;
        CHECK(clv_workspace_new(&ws));
        CHECK(clv_workspace_reserve(ws, model, B, T));
        for (int i = 0; i < WARM; i++) CHECK(clv_model_predict(model, ws, B, T, x, NULL, NULL, out, NULL));
        double *ts = malloc(CALLS * sizeof *ts);
        unsigned long long allocs_before = n_alloc;
        for (int i = 0; i < CALLS; i++) {
            double t0 = now();
            int rc = clv_model_predict(model, ws, B, T, x, NULL, NULL, out, NULL);
            ts[i] = now() - t0;
            if (rc != CLV_OK) die("clv_model_predict", rc);
        }
        unsigned long long allocs = n_alloc - allocs_before;
        qsort(ts, CALLS, sizeof *ts, cmp_double);
        double med = ts[CALLS / 2] * 1e6, p10 = ts[CALLS / 10] * 1e6, p90 = ts[CALLS * 9 / 10] * 1e6;
        printf("lat\t%u\t%d\t%u\t%.1f\tus(median)\tp10=%.1f\tp90=%.1f\tGFLOP/s=%.3f\tallocs_after_warmup=%llu\n",
               H, threads, B, med, p10, p90, fwd_flops(B, H) / med * 1e-3, allocs);
        free(ts);
        clv_workspace_free(ws);
        if (allocs != 0) {
            fprintf(stderr, "bench_lstm: %llu allocations on the predict path after warm-up\n", allocs);
            return 1;
        }
    } else {
        fprintf(stderr, "bench_lstm: unknown mode %s\n", mode);
        return 2;
    }
    if (!isfinite(out[0]) && strcmp(mode, "train") != 0) return 1;
    clv_model_free(model);
    free(x);
    free(y);
    free(out);
    return 0;
}
