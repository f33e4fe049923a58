/* oneDNN peer of bench/run train | infer | latency: the same model as
 * bench_lstm.c and torch_lstm.py (LSTM F=16 -> H, Linear(H,1) on the last
 * hidden state, MSE, Adam lr 1e-3), on oneDNN's LSTM primitive (C API).
 *
 *   bench_dnnl train   H THREADS [B=256]   forward training + backward
 *                                          (data and weights) + Adam step
 *   bench_dnnl infer   H THREADS [B=1024]  forward inference
 *   bench_dnnl latency H THREADS [B=1]     median us of forward inference
 *
 * THREADS is oneDNN's OpenMP thread count. OpenMP reads OMP_NUM_THREADS when
 * the runtime loads, so the program re-executes itself once with it set.
 * Weights live in the user's plain ldigo layout (what Adam updates) and are
 * reordered into the primitive's preferred layout on every training step,
 * as a training loop must; for inference they are reordered once.
 * The head, the loss and Adam are plain C loops (a few thousand floats).
 * Output: one TSV line in torch_lstm.py's format. */
#define _POSIX_C_SOURCE 200809L

#include <oneapi/dnnl/dnnl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { F = 16, T = 52 };

#define CHECK(call)                                                                        \
    do {                                                                                   \
        dnnl_status_t st_ = (call);                                                        \
        if (st_ != dnnl_success) {                                                         \
            fprintf(stderr, "bench_dnnl: %s failed (status %d) at line %d\n", #call, (int)st_, \
                    __LINE__);                                                             \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Same generator as bench_lstm.c. */
static void fill(float *a, size_t n, unsigned long long seed, float scale)
{
    unsigned long long s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        float u = 0.0f;
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u += (float)(s >> 40) / (float)(1ull << 24);
        }
        a[i] = (u - 2.0f) * 1.7320508f * scale;
    }
}

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static dnnl_memory_desc_t md(int nd, const dnnl_dims_t dims, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t d;
    CHECK(dnnl_memory_desc_init_by_tag(&d, nd, dims, dnnl_f32, tag));
    return d;
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *d, void *handle)
{
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, d, eng, handle ? handle : DNNL_MEMORY_ALLOCATE));
    return m;
}

static float *ptr(dnnl_memory_t m)
{
    void *p;
    CHECK(dnnl_memory_get_data_handle(m, &p));
    return p;
}

/* A reorder from `from` into a new memory of the primitive's layout `to`
 * (NULL reorder when they already agree). */
typedef struct reorder {
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
} reorder;

static reorder make_reorder(dnnl_memory_t from, const dnnl_memory_desc_t *from_md,
                            const dnnl_memory_desc_t *to)
{
    reorder r = { NULL, from, from };
    if (dnnl_memory_desc_equal(from_md, to)) return r;
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, from_md, eng, to, eng, NULL));
    CHECK(dnnl_primitive_create(&r.prim, pd));
    CHECK(dnnl_primitive_desc_destroy(pd));
    r.dst = mem(to, NULL);
    return r;
}

static void run_reorder(const reorder *r)
{
    if (!r->prim) return;
    dnnl_exec_arg_t a[2] = { { DNNL_ARG_FROM, r->src }, { DNNL_ARG_TO, r->dst } };
    CHECK(dnnl_primitive_execute(r->prim, strm, 2, a));
}

static const dnnl_memory_desc_t *arg_md(dnnl_primitive_desc_t pd, int arg)
{
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
}

static void adam(float *p, const float *g, float *m, float *v, size_t n, int step)
{
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double fwd_flops(double B, double H) { return 2.0 * B * T * 4 * H * (F + H); }

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_dnnl train|infer|latency H THREADS [B]\n");
        return 2;
    }
    const char *mode = argv[1];
    const int H = atoi(argv[2]), threads = atoi(argv[3]);
    const int train = strcmp(mode, "train") == 0, infer = strcmp(mode, "infer") == 0;
    const int latency = strcmp(mode, "latency") == 0;
    int B = train ? 256 : infer ? 1024 : 1;
    if (argc > 4) B = atoi(argv[4]);
    if (H < 1 || threads < 1 || B < 1 || !(train || infer || latency)) return 2;
    {
        const char *e = getenv("OMP_NUM_THREADS");
        if (!e || atoi(e) != threads) {
            char buf[16];
            snprintf(buf, sizeof buf, "%d", threads);
            setenv("OMP_NUM_THREADS", buf, 1);
            execv("/proc/self/exe", argv);
            perror("bench_dnnl: re-exec with OMP_NUM_THREADS");
            return 1;
        }
    }

    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));

    const dnnl_dims_t d_src = { T, B, F }, d_dst = { T, B, H };
    const dnnl_dims_t d_wl = { 1, 1, F, 4, H }, d_wi = { 1, 1, H, 4, H }, d_b = { 1, 1, 4, H };
    dnnl_memory_desc_t src_md = md(3, d_src, dnnl_tnc), dst_md = md(3, d_dst, dnnl_tnc);
    dnnl_memory_desc_t wl_user = md(5, d_wl, dnnl_ldigo), wi_user = md(5, d_wi, dnnl_ldigo);
    dnnl_memory_desc_t b_md = md(4, d_b, dnnl_ldgo);
    dnnl_memory_desc_t wl_any = md(5, d_wl, dnnl_format_tag_any), wi_any = md(5, d_wi, dnnl_format_tag_any);

    dnnl_rnn_desc_t fd;
    CHECK(dnnl_lstm_forward_desc_init(&fd, train ? dnnl_forward_training : dnnl_forward_inference,
                                      dnnl_unidirectional_left2right, &src_md, NULL, NULL, &wl_any,
                                      &wi_any, &b_md, &dst_md, NULL, NULL, 0));
    dnnl_primitive_desc_t fpd;
    CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    dnnl_primitive_t fwd;
    CHECK(dnnl_primitive_create(&fwd, fpd));

    /* User-layout parameters: LSTM weights/bias ~ U-ish(1/sqrt(H)), head. */
    const size_t n_wl = (size_t)F * 4 * H, n_wi = (size_t)H * 4 * H, n_b = 4 * (size_t)H;
    const size_t n_par = n_wl + n_wi + n_b + (size_t)H + 1;
    float *par = calloc(n_par, sizeof *par), *grad = calloc(n_par, sizeof *grad);
    float *am = calloc(n_par, sizeof *am), *av = calloc(n_par, sizeof *av);
    fill(par, n_par, 3, 0.5f / sqrtf((float)H));
    float *p_wl = par, *p_wi = par + n_wl, *p_b = p_wi + n_wi, *p_hw = p_b + n_b, *p_hb = p_hw + H;
    float *g_wl = grad, *g_wi = grad + n_wl, *g_b = g_wi + n_wi, *g_hw = g_b + n_b, *g_hb = g_hw + H;

    dnnl_memory_t m_src = mem(&src_md, NULL), m_dst = mem(&dst_md, NULL);
    dnnl_memory_t m_wl = mem(&wl_user, p_wl), m_wi = mem(&wi_user, p_wi), m_b = mem(&b_md, p_b);
    fill(ptr(m_src), (size_t)T * B * F, 1, 1.0f);   /* x, time-major: oneDNN's tnc */
    float *y = malloc((size_t)B * sizeof *y), *pred = malloc((size_t)B * sizeof *pred);
    fill(y, (size_t)B, 2, 1.0f);
    reorder r_wl = make_reorder(m_wl, &wl_user, arg_md(fpd, DNNL_ARG_WEIGHTS_LAYER));
    reorder r_wi = make_reorder(m_wi, &wi_user, arg_md(fpd, DNNL_ARG_WEIGHTS_ITER));
    dnnl_memory_t m_ws = NULL;
    const dnnl_memory_desc_t *ws_md = arg_md(fpd, DNNL_ARG_WORKSPACE);
    if (ws_md && dnnl_memory_desc_get_size(ws_md) > 0) m_ws = mem(ws_md, NULL);
    dnnl_exec_arg_t fargs[6] = { { DNNL_ARG_SRC_LAYER, m_src }, { DNNL_ARG_WEIGHTS_LAYER, r_wl.dst },
                                 { DNNL_ARG_WEIGHTS_ITER, r_wi.dst }, { DNNL_ARG_BIAS, m_b },
                                 { DNNL_ARG_DST_LAYER, m_dst }, { DNNL_ARG_WORKSPACE, m_ws } };
    const int nfargs = m_ws ? 6 : 5;

    /* Head on h_T = dst_layer[T-1]. */
    const float *hT = ptr(m_dst) + (size_t)(T - 1) * B * H;
#define HEAD()                                                                  \
    do {                                                                        \
        for (int b = 0; b < B; b++) {                                           \
            float s = *p_hb;                                                    \
            for (int k = 0; k < H; k++) s += p_hw[k] * hT[(size_t)b * H + k];   \
            pred[b] = s;                                                        \
        }                                                                       \
    } while (0)

    if (train) {
        dnnl_memory_desc_t dwl_md = md(5, d_wl, dnnl_ldigo), dwi_md = md(5, d_wi, dnnl_ldigo);
        dnnl_rnn_desc_t bd;
        CHECK(dnnl_lstm_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &src_md,
                                           NULL, NULL, &wl_any, &wi_any, &b_md, &dst_md, NULL, NULL,
                                           &src_md, NULL, NULL, &dwl_md, &dwi_md, &b_md, &dst_md, NULL,
                                           NULL, 0));
        dnnl_primitive_desc_t bpd;
        CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
        dnnl_primitive_t bwd;
        CHECK(dnnl_primitive_create(&bwd, bpd));
        reorder rb_wl = make_reorder(m_wl, &wl_user, arg_md(bpd, DNNL_ARG_WEIGHTS_LAYER));
        reorder rb_wi = make_reorder(m_wi, &wi_user, arg_md(bpd, DNNL_ARG_WEIGHTS_ITER));
        dnnl_memory_t m_dsrc = mem(&src_md, NULL), m_ddst = mem(&dst_md, NULL);
        dnnl_memory_t m_dwl = mem(&dwl_md, g_wl), m_dwi = mem(&dwi_md, g_wi), m_db = mem(&b_md, g_b);
        float *ddst = ptr(m_ddst);
        memset(ddst, 0, (size_t)T * B * H * sizeof(float));
        dnnl_exec_arg_t bargs[12] = {
            { DNNL_ARG_SRC_LAYER, m_src },        { DNNL_ARG_WEIGHTS_LAYER, rb_wl.dst },
            { DNNL_ARG_WEIGHTS_ITER, rb_wi.dst }, { DNNL_ARG_BIAS, m_b },
            { DNNL_ARG_DST_LAYER, m_dst },        { DNNL_ARG_DIFF_DST_LAYER, m_ddst },
            { DNNL_ARG_DIFF_SRC_LAYER, m_dsrc },  { DNNL_ARG_DIFF_WEIGHTS_LAYER, m_dwl },
            { DNNL_ARG_DIFF_WEIGHTS_ITER, m_dwi }, { DNNL_ARG_DIFF_BIAS, m_db },
            { DNNL_ARG_WORKSPACE, m_ws },         { 0, NULL } };
        const int nbargs = m_ws ? 11 : 10;
        int step = 0;
        double loss = 0, loss0 = 0;
#define TRAIN_STEP()                                                                    \
    do {                                                                                \
        run_reorder(&r_wl);                                                             \
        run_reorder(&r_wi);                                                             \
        CHECK(dnnl_primitive_execute(fwd, strm, nfargs, fargs));                        \
        CHECK(dnnl_stream_wait(strm));                                                  \
        HEAD();                                                                         \
        memset(grad, 0, n_par * sizeof *grad);                                          \
        loss = 0;                                                                       \
        float *dlast = ddst + (size_t)(T - 1) * B * H;                                  \
        for (int b = 0; b < B; b++) {                                                   \
            float d = pred[b] - y[b], dp = 2.0f * d / (float)B;                         \
            loss += (double)d * d / B;                                                  \
            *g_hb += dp;                                                                \
            for (int k = 0; k < H; k++) {                                               \
                g_hw[k] += dp * hT[(size_t)b * H + k];                                  \
                dlast[(size_t)b * H + k] = dp * p_hw[k];                                \
            }                                                                           \
        }                                                                               \
        run_reorder(&rb_wl);                                                            \
        run_reorder(&rb_wi);                                                            \
        CHECK(dnnl_primitive_execute(bwd, strm, nbargs, bargs));                        \
        CHECK(dnnl_stream_wait(strm));                                                  \
        adam(par, grad, am, av, n_par, ++step);                                         \
    } while (0)
        for (int i = 0; i < 3; i++) {
            TRAIN_STEP();
            if (i == 0) loss0 = loss;
        }
        int n = 0;
        double t0 = now(), c0 = cpu_now(), el;
        for (;;) {
            TRAIN_STEP();
            n++;
            el = now() - t0;
            if (el >= 1.5 && n >= 3) break;
        }
        double s = el / n, cpu = (cpu_now() - c0) / n;
        printf("train\t%d\t%d\t%d\t%.2f\tms/step\tseq/s=%.1f\tGFLOP/s=%.2f\tcpu_ms=%.2f\tsteps=%d\tloss0=%.4f\tloss=%.4f\n",
               H, threads, B, s * 1e3, B / s, 3 * fwd_flops(B, H) / s * 1e-9, cpu * 1e3, n, loss0, loss);
    } else {
        run_reorder(&r_wl);   /* constant weights: reordered once */
        run_reorder(&r_wi);
#define INFER()                                                   \
    do {                                                          \
        CHECK(dnnl_primitive_execute(fwd, strm, nfargs, fargs));  \
        CHECK(dnnl_stream_wait(strm));                            \
        HEAD();                                                   \
    } while (0)
        for (int i = 0; i < 50; i++) INFER();
        if (infer) {
            int n = 0;
            double t0 = now(), c0 = cpu_now(), el;
            for (;;) {
                INFER();
                n++;
                el = now() - t0;
                if (el >= 1.0 && n >= 3) break;
            }
            double s = el / n, cpu = (cpu_now() - c0) / n;
            printf("infer\t%d\t%d\t%d\t%.2f\tms/batch\tseq/s=%.1f\tGFLOP/s=%.2f\tcpu_ms=%.2f\tcalls=%d\n", H,
                   threads, B, s * 1e3, B / s, fwd_flops(B, H) / s * 1e-9, cpu * 1e3, n);
        } else {
            enum { CALLS = 4000 };
            double *ts = malloc(CALLS * sizeof *ts);
            for (int i = 0; i < CALLS; i++) {
                double t0 = now();
                INFER();
                ts[i] = now() - t0;
            }
            qsort(ts, CALLS, sizeof *ts, cmp_double);
            double med = ts[CALLS / 2] * 1e6;
            printf("lat\t%d\t%d\t%d\t%.1f\tus(median)\tp10=%.1f\tp90=%.1f\tGFLOP/s=%.3f\n", H, threads, B, med,
                   ts[CALLS / 10] * 1e6, ts[CALLS * 9 / 10] * 1e6, fwd_flops(B, H) / med * 1e-3);
            free(ts);
        }
    }
    if (!isfinite(pred[0])) return 1;
    return 0;
}
