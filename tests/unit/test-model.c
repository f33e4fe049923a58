/* Model lifecycle, parameter table, initialisation, inference semantics
 * (padding, heads, workspace reuse without allocation), and agreement of the
 * training forward with inference. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <clv/clv.h>

#include "test-common.h"

static clv_model *make(int32_t cell, uint32_t F, uint32_t H, uint32_t L, uint32_t S, uint32_t Of,
                       uint32_t Os, uint64_t seed)
{
    clv_model_options o;
    clv_model_options_init(&o);
    o.cell = cell;
    o.input_size = F;
    o.hidden_size = H;
    o.num_layers = L;
    o.static_size = S;
    o.final_outputs = Of;
    o.step_outputs = Os;
    o.seed = seed;
    clv_model *m = NULL;
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
    return m;
}

START_TEST(options_defaults)
{
    clv_model_options o;
    memset(&o, 0xff, sizeof o);
    clv_model_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_int_eq(o.cell, CLV_CELL_LSTM);
    ck_assert_uint_eq(o.hidden_size, 64);
    ck_assert_uint_eq(o.num_layers, 1);
    ck_assert_uint_eq(o.final_outputs, 1);
    ck_assert_uint_eq(o.step_outputs, 0);
    ck_assert_float_eq(o.forget_bias, 1.0f);
    clv_model_options_init(NULL);
}
END_TEST

START_TEST(limit_twins_match_macros)
{
    ck_assert_uint_eq(clv_max_input_size(), CLV_MAX_INPUT_SIZE);
    ck_assert_uint_eq(clv_max_hidden_size(), CLV_MAX_HIDDEN_SIZE);
    ck_assert_uint_eq(clv_max_layers(), CLV_MAX_LAYERS);
    ck_assert_uint_eq(clv_max_outputs(), CLV_MAX_OUTPUTS);
}
END_TEST

START_TEST(param_table_lstm)
{
    /* F=3, H=4, 2 layers, S=2, final 1, step 2. Hand count:
     * layer 0: w_ih 16x3 + w_hh 16x4 + b 16 = 48+64+16 = 128
     * layer 1: 16x4 + 16x4 + 16 = 144; final head 1x6 + 1 = 7; step head 2x6 + 2 = 14. */
    clv_model *m = make(CLV_CELL_LSTM, 3, 4, 2, 2, 1, 2, 1);
    ck_assert_uint_eq(clv_model_param_count(m), 128 + 144 + 7 + 14);
    ck_assert_uint_eq(clv_model_param_tensor_count(m), 10);
    const char *expect[] = { "lstm.0.w_ih", "lstm.0.w_hh", "lstm.0.b", "lstm.1.w_ih", "lstm.1.w_hh",
                             "lstm.1.b", "head.final.w", "head.final.b", "head.step.w", "head.step.b" };
    const uint32_t rows[] = { 16, 16, 1, 16, 16, 1, 1, 1, 2, 1 }, cols[] = { 3, 4, 16, 4, 4, 16, 6, 1, 6, 2 };
    uint64_t next = 0;
    for (uint32_t i = 0; i < 10; i++) {
        const char *name;
        uint64_t off;
        uint32_t r, c;
        ck_assert_int_eq(clv_model_param_tensor_info(m, i, &name, &off, &r, &c), CLV_OK);
        ck_assert_str_eq(name, expect[i]);
        ck_assert_uint_eq(off, next);
        ck_assert_uint_eq(r, rows[i]);
        ck_assert_uint_eq(c, cols[i]);
        next += (uint64_t)r * c;
    }
    ck_assert_uint_eq(next, clv_model_param_count(m));
    clv_model_free(m);
}
END_TEST

START_TEST(param_table_gru)
{
    /* GRU F=2 H=3: w_ih 9x2 + w_hh 9x3 + b_ih 9 + b_hh 9 = 18+27+18 = 63; head 1x3 + 1 = 4. */
    clv_model *m = make(CLV_CELL_GRU, 2, 3, 1, 0, 1, 0, 1);
    ck_assert_uint_eq(clv_model_param_count(m), 63 + 4);
    const char *name;
    ck_assert_int_eq(clv_model_param_tensor_info(m, 3, &name, NULL, NULL, NULL), CLV_OK);
    ck_assert_str_eq(name, "gru.0.b_hh");
    clv_model_free(m);
}
END_TEST

START_TEST(init_ranges_and_forget_bias)
{
    const uint32_t H = 16;
    clv_model *m = make(CLV_CELL_LSTM, 5, H, 1, 0, 1, 0, 3);
    const float k = 1.0f / sqrtf((float)H);
    uint64_t off;
    uint32_t r, c;
    const float *p = clv_model_params(m);
    for (uint32_t t = 0; t < 2; t++) {
        ck_assert_int_eq(clv_model_param_tensor_info(m, t, NULL, &off, &r, &c), CLV_OK);
        double mean = 0;
        for (uint64_t i = 0; i < (uint64_t)r * c; i++) {
            ck_assert(fabsf(p[off + i]) <= k);
            mean += p[off + i];
        }
        ck_assert(fabs(mean / (r * c)) < 0.05);   /* U(-k,k) mean 0, se ~ 0.25/sqrt(n) */
    }
    ck_assert_int_eq(clv_model_param_tensor_info(m, 2, NULL, &off, NULL, NULL), CLV_OK);
    for (uint32_t j = 0; j < H; j++) ck_assert_float_eq(p[off + H + j], 1.0f);   /* gate f */
    ck_assert(fabsf(p[off]) <= k && p[off] != 1.0f);
    clv_model_free(m);
}
END_TEST

START_TEST(init_deterministic_per_seed)
{
    clv_model *a = make(CLV_CELL_GRU, 4, 8, 2, 1, 1, 1, 99), *b = make(CLV_CELL_GRU, 4, 8, 2, 1, 1, 1, 99);
    clv_model *c = make(CLV_CELL_GRU, 4, 8, 2, 1, 1, 1, 100);
    uint64_t n = clv_model_param_count(a);
    ck_assert_mem_eq(clv_model_params(a), clv_model_params(b), n * sizeof(float));
    ck_assert(memcmp(clv_model_params(a), clv_model_params(c), n * sizeof(float)) != 0);
    clv_model_free(a);
    clv_model_free(b);
    clv_model_free(c);
}
END_TEST

START_TEST(params_roundtrip)
{
    clv_model *m = make(CLV_CELL_LSTM, 3, 4, 1, 0, 1, 0, 1);
    uint64_t n = clv_model_param_count(m);
    float *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
    clv_test_fill(v, n, 5, -1, 1);
    ck_assert_int_eq(clv_model_set_params(m, v, n), CLV_OK);
    ck_assert_int_eq(clv_model_get_params(m, w, n), CLV_OK);
    ck_assert_mem_eq(v, w, n * sizeof *v);
    ck_assert_mem_eq(clv_model_params(m), v, n * sizeof *v);
    clv_model_options o;
    clv_model_options_init(&o);
    ck_assert_int_eq(clv_model_get_options(m, &o), CLV_OK);
    ck_assert_uint_eq(o.input_size, 3);
    ck_assert_uint_eq(o.hidden_size, 4);
    free(v);
    free(w);
    clv_model_free(m);
}
END_TEST

/* A hand-computed single LSTM step: F = H = 1, one step, all weights set. */
START_TEST(lstm_single_step_by_hand)
{
    clv_model *m = make(CLV_CELL_LSTM, 1, 1, 1, 0, 1, 0, 1);
    /* order: w_ih[4] (i,f,g,o), w_hh[4], b[4], head w[1], head b[1] */
    const float p[] = { 0.5f, -0.3f, 0.8f, 0.2f, 0.1f, 0.1f, 0.1f, 0.1f, 0.0f, 1.0f, -0.2f, 0.3f, 2.0f, 0.5f };
    ck_assert_int_eq(clv_model_set_params(m, p, 14), CLV_OK);
    float x = 1.5f, y;
    ck_assert_int_eq(clv_model_predict(m, NULL, 1, 1, &x, NULL, NULL, &y, NULL), CLV_OK);
    /* h0 = c0 = 0: a = w_ih*x + b */
    double i = 1 / (1 + exp(-(0.5 * 1.5))), g = tanh(0.8 * 1.5 - 0.2), o = 1 / (1 + exp(-(0.2 * 1.5 + 0.3)));
    double c = i * g, h = o * tanh(c);
    ck_assert_double_eq_tol(y, 2.0 * h + 0.5, 1e-6);
    clv_model_free(m);
}
END_TEST

/* A hand-computed GRU step with a non-zero previous state (two steps). */
START_TEST(gru_two_steps_by_hand)
{
    clv_model *m = make(CLV_CELL_GRU, 1, 1, 1, 0, 1, 0, 1);
    /* w_ih[3] (r,z,n), w_hh[3], b_ih[3], b_hh[3], head w, head b */
    const float p[] = { 0.4f, -0.6f, 0.9f, 0.3f, 0.5f, -0.7f, 0.1f, 0.2f, -0.1f, 0.05f, -0.1f, 0.2f, 1.5f, -0.25f };
    ck_assert_int_eq(clv_model_set_params(m, p, 14), CLV_OK);
    const float x[2] = { 1.0f, -2.0f };
    float y;
    ck_assert_int_eq(clv_model_predict(m, NULL, 1, 2, x, NULL, NULL, &y, NULL), CLV_OK);
    double h = 0;
    for (int t = 0; t < 2; t++) {
        double r = 1 / (1 + exp(-(0.4 * x[t] + 0.1 + 0.3 * h + 0.05)));
        double z = 1 / (1 + exp(-(-0.6 * x[t] + 0.2 + 0.5 * h - 0.1)));
        double n = tanh(0.9 * x[t] - 0.1 + r * (-0.7 * h + 0.2));
        h = (1 - z) * n + z * h;
    }
    ck_assert_double_eq_tol(y, 1.5 * h - 0.25, 1e-6);
    clv_model_free(m);
}
END_TEST

/* A sequence of length L padded to T predicts exactly what the same
 * sequence cut to L steps predicts, whatever the padding holds. */
START_TEST(padding_does_not_leak)
{
    for (int32_t cell = CLV_CELL_LSTM; cell <= CLV_CELL_GRU; cell++) {
        clv_model *m = make(cell, 3, 6, 2, 0, 2, 1, 4);
        enum { T = 7, L = 4 };
        float x[T * 3], fo_pad[2], fo_cut[2], so_pad[T], so_cut[L];
        clv_test_fill(x, T * 3, 8, -1, 1);
        for (int i = L * 3; i < T * 3; i++) x[i] = (i % 2) ? NAN : 1e30f;
        int32_t len = L;
        ck_assert_int_eq(clv_model_predict(m, NULL, 1, T, x, &len, NULL, fo_pad, so_pad), CLV_OK);
        ck_assert_int_eq(clv_model_predict(m, NULL, 1, L, x, NULL, NULL, fo_cut, so_cut), CLV_OK);
        /* Equal up to BLAS blocking differences between M = 4 and M = 7 rows. */
        for (int k = 0; k < 2; k++) ck_assert_float_eq_tol(fo_pad[k], fo_cut[k], 1e-6f);
        for (int t = 0; t < L; t++) ck_assert_float_eq_tol(so_pad[t], so_cut[t], 1e-6f);
        for (int t = L; t < T; t++) ck_assert_float_eq(so_pad[t], 0.0f);
        clv_model_free(m);
    }
}
END_TEST

/* Each sequence of a batch is predicted as if it were alone. */
START_TEST(batch_rows_independent)
{
    clv_model *m = make(CLV_CELL_LSTM, 2, 5, 1, 3, 1, 0, 6);
    enum { B = 5, T = 4 };
    float x[B * T * 2], s[B * 3], y[B], y1;
    int32_t len[B] = { 4, 1, 3, 0, 2 };
    clv_test_fill(x, sizeof x / sizeof *x, 3, -1, 1);
    clv_test_fill(s, sizeof s / sizeof *s, 4, -1, 1);
    ck_assert_int_eq(clv_model_predict(m, NULL, B, T, x, len, s, y, NULL), CLV_OK);
    for (int b = 0; b < B; b++) {
        ck_assert_int_eq(clv_model_predict(m, NULL, 1, T, x + b * T * 2, &len[b], s + b * 3, &y1, NULL), CLV_OK);
        ck_assert_float_eq_tol(y[b], y1, 1e-6f);
    }
    clv_model_free(m);
}
END_TEST

/* clv_model_set_num_threads: the batch is split across workers; every row
 * must come out as with one thread (predict) and the gradients must agree up
 * to summation order (training). B = 45 gives 2 workers of >= 16 rows at 3
 * threads, with ragged lengths so frozen rows sit in both halves. */
START_TEST(threads_match_single_thread)
{
    enum { F = 3, H = 8, B = 45, T = 6, S = 2 };
    clv_model *m = make(CLV_CELL_LSTM, F, H, 2, S, 2, 1, 11);
    ck_assert_int_eq(clv_model_num_threads(m), 1);
    ck_assert_int_eq(clv_model_set_num_threads(m, 0), CLV_EINVAL);
    ck_assert_int_eq(clv_model_set_num_threads(NULL, 2), CLV_EINVAL);
    ck_assert_int_eq(clv_model_num_threads(NULL), 0);
    float x[B * T * F], st[B * S], y1[B * 2], y3[B * 2], so1[B * T], so3[B * T], df[B * 2];
    int32_t len[B];
    for (int b = 0; b < B; b++) len[b] = (b * 7) % (T + 1);
    clv_test_fill(x, sizeof x / sizeof *x, 5, -1, 1);
    clv_test_fill(st, sizeof st / sizeof *st, 6, -1, 1);
    clv_test_fill(df, sizeof df / sizeof *df, 7, -1, 1);
    uint64_t n = clv_model_param_count(m);
    float *g1 = malloc(n * sizeof *g1), *g3 = malloc(n * sizeof *g3);
    for (int pass = 0; pass < 2; pass++) {
        int32_t threads = pass == 0 ? 1 : 3;
        float *y = pass == 0 ? y1 : y3, *so = pass == 0 ? so1 : so3, *g = pass == 0 ? g1 : g3;
        ck_assert_int_eq(clv_model_set_num_threads(m, threads), CLV_OK);
        ck_assert_int_eq(clv_model_num_threads(m), threads);
        ck_assert_int_eq(clv_model_predict(m, NULL, B, T, x, len, st, y, so), CLV_OK);
        ck_assert_int_eq(clv_model_zero_grad(m), CLV_OK);
        ck_assert_int_eq(clv_model_forward(m, B, T, x, len, st, y, NULL), CLV_OK);
        ck_assert_int_eq(clv_model_backward(m, df, NULL, NULL, NULL), CLV_OK);
        ck_assert_int_eq(clv_model_get_grads(m, g, n), CLV_OK);
    }
    for (int i = 0; i < B * 2; i++) ck_assert_float_eq_tol(y1[i], y3[i], 1e-6f);
    for (int i = 0; i < B * T; i++) ck_assert_float_eq_tol(so1[i], so3[i], 1e-6f);
    for (uint64_t i = 0; i < n; i++) ck_assert_float_eq_tol(g1[i], g3[i], 1e-5f * (1.0f + fabsf(g1[i])));
    free(g1);
    free(g3);
    clv_model_free(m);
}
END_TEST

static long allocs;
static void *count_alloc(size_t n, void *u) { (void)u; allocs++; return malloc(n); }
static void count_free(void *p, void *u) { (void)u; free(p); }

START_TEST(reserved_workspace_allocates_nothing)
{
    clv_allocator a = { sizeof a, count_alloc, count_free, NULL };
    ck_assert_int_eq(clv_set_allocator(&a), CLV_OK);
    clv_model *m = make(CLV_CELL_LSTM, 16, 32, 2, 0, 1, 0, 1);
    clv_workspace *ws;
    ck_assert_int_eq(clv_workspace_new(&ws), CLV_OK);
    ck_assert_int_eq(clv_workspace_reserve(ws, m, 1, 52), CLV_OK);
    float x[52 * 16], y;
    clv_test_fill(x, sizeof x / sizeof *x, 1, -1, 1);
    long before = allocs;
    for (int i = 0; i < 100; i++) {
        int32_t len = 52 - i % 10;
        ck_assert_int_eq(clv_model_predict(m, ws, 1, 52, x, &len, NULL, &y, NULL), CLV_OK);
    }
    ck_assert_int_eq(allocs, before);
    /* Without a workspace the same call must allocate (the counter works). */
    ck_assert_int_eq(clv_model_predict(m, NULL, 1, 52, x, NULL, NULL, &y, NULL), CLV_OK);
    ck_assert_int_gt(allocs, before);
    clv_workspace_free(ws);
    clv_model_free(m);
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
}
END_TEST

START_TEST(training_forward_matches_predict)
{
    clv_model *m = make(CLV_CELL_GRU, 3, 7, 2, 2, 2, 3, 5);
    enum { B = 3, T = 5 };
    float x[B * T * 3], s[B * 2], f1[B * 2], f2[B * 2], s1[B * T * 3], s2[B * T * 3];
    int32_t len[B] = { 5, 2, 4 };
    clv_test_fill(x, sizeof x / sizeof *x, 9, -2, 2);
    clv_test_fill(s, sizeof s / sizeof *s, 10, -1, 1);
    ck_assert_int_eq(clv_model_predict(m, NULL, B, T, x, len, s, f1, s1), CLV_OK);
    ck_assert_int_eq(clv_model_forward(m, B, T, x, len, s, f2, s2), CLV_OK);
    ck_assert_mem_eq(f1, f2, sizeof f1);
    ck_assert_mem_eq(s1, s2, sizeof s1);
    clv_model_free(m);
}
END_TEST

/* Gradients accumulate across backward calls until zero_grad. */
START_TEST(gradients_accumulate)
{
    clv_model *m = make(CLV_CELL_LSTM, 2, 3, 1, 0, 1, 0, 2);
    uint64_t n = clv_model_param_count(m);
    float x[4 * 2], y, d = 1.0f;
    clv_test_fill(x, 8, 1, -1, 1);
    float *g1 = malloc(n * sizeof *g1);
    ck_assert_int_eq(clv_model_forward(m, 1, 4, x, NULL, NULL, &y, NULL), CLV_OK);
    ck_assert_int_eq(clv_model_backward(m, &d, NULL, NULL, NULL), CLV_OK);
    ck_assert_int_eq(clv_model_get_grads(m, g1, n), CLV_OK);
    ck_assert_int_eq(clv_model_forward(m, 1, 4, x, NULL, NULL, &y, NULL), CLV_OK);
    ck_assert_int_eq(clv_model_backward(m, &d, NULL, NULL, NULL), CLV_OK);
    const float *g = clv_model_grads(m);
    for (uint64_t i = 0; i < n; i++) ck_assert_float_eq_tol(g[i], 2 * g1[i], 1e-6f);
    ck_assert_int_eq(clv_model_zero_grad(m), CLV_OK);
    for (uint64_t i = 0; i < n; i++) ck_assert_float_eq(g[i], 0.0f);
    free(g1);
    clv_model_free(m);
}
END_TEST

/* The header's promise: const-model inference is safe from many threads, each
 * with its own workspace. Each thread checks every result bit for bit
 * against a single-threaded reference computed beforehand. */
enum { CB = 8, CT = 12, CF = 4, NTHREADS = 4 };
typedef struct shared_case {
    const clv_model *m;
    float x[CB * CT * CF];
    int32_t len[CB];
    float ref[CB];
    int mismatches;
} shared_case;

static void *score_many(void *arg)
{
    shared_case *c = arg;
    clv_workspace *ws;
    if (clv_workspace_new(&ws) != CLV_OK) return (void *)1;
    float y[CB];
    for (int i = 0; i < 300; i++) {
        if (clv_model_predict(c->m, ws, CB, CT, c->x, c->len, NULL, y, NULL) != CLV_OK ||
            memcmp(y, c->ref, sizeof y) != 0)
            __atomic_add_fetch(&c->mismatches, 1, __ATOMIC_RELAXED);
    }
    clv_workspace_free(ws);
    return NULL;
}

START_TEST(concurrent_inference_on_shared_model)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    static shared_case c;
    clv_model *m = make(CLV_CELL_LSTM, CF, 16, 2, 0, 1, 0, 12);
    c.m = m;
    clv_test_fill(c.x, sizeof c.x / sizeof *c.x, 31, -1, 1);
    for (int b = 0; b < CB; b++) c.len[b] = 1 + b % CT;
    ck_assert_int_eq(clv_model_predict(m, NULL, CB, CT, c.x, c.len, NULL, c.ref, NULL), CLV_OK);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, score_many, &c), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *rv;
        ck_assert_int_eq(pthread_join(th[i], &rv), 0);
        ck_assert_ptr_null(rv);
    }
    ck_assert_int_eq(c.mismatches, 0);
    clv_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("lifecycle");
    tcase_add_test(tc, options_defaults);
    tcase_add_test(tc, limit_twins_match_macros);
    tcase_add_test(tc, param_table_lstm);
    tcase_add_test(tc, param_table_gru);
    tcase_add_test(tc, init_ranges_and_forget_bias);
    tcase_add_test(tc, init_deterministic_per_seed);
    tcase_add_test(tc, params_roundtrip);
    suite_add_tcase(s, tc);
    tc = tcase_create("inference");
    tcase_add_test(tc, lstm_single_step_by_hand);
    tcase_add_test(tc, gru_two_steps_by_hand);
    tcase_add_test(tc, padding_does_not_leak);
    tcase_add_test(tc, batch_rows_independent);
    tcase_add_test(tc, reserved_workspace_allocates_nothing);
    tcase_add_test(tc, concurrent_inference_on_shared_model);
    suite_add_tcase(s, tc);
    tc = tcase_create("training");
    tcase_add_test(tc, training_forward_matches_predict);
    tcase_add_test(tc, gradients_accumulate);
    tcase_add_test(tc, threads_match_single_thread);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
