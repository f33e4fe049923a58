/* Dropout on the recurrent layers' outputs (lib/nn/dropout.c): the gradient
 * of a training pass with a fixed mask, inference untouched, masks that do
 * not depend on the thread count, the rate and scale of the masks, and the
 * options' validation. Internal test: it fixes the pass number
 * (clv__model_set_dropout_pass) to replay one pass's masks and reads the
 * dropped outputs kept in the model's pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model_impl.h"
#include "test-common.h"

#define B 4
#define T 6
#define F 3

typedef struct fixture {
    clv_model *m;
    clv_model_options o;
    float x[B * T * F], stat[B * 2], wf[B * 2], ws[B * T * 3];
    int32_t len[B];
    uint64_t pass;   /* the pass number every forward of the check replays */
} fixture;

static void setup(fixture *f, int32_t cell, uint32_t layers, double p)
{
    clv_model_options_init(&f->o);
    f->o.cell = cell;
    f->o.input_size = F;
    f->o.hidden_size = 5;
    f->o.num_layers = layers;
    f->o.static_size = 2;
    f->o.final_outputs = 2;
    f->o.step_outputs = 3;
    f->o.seed = 7;
    f->o.dropout = p;
    ck_assert_int_eq(clv_model_new(&f->m, &f->o), CLV_OK);
    uint64_t n = clv_model_param_count(f->m);
    float *w = malloc(n * sizeof *w);
    clv_test_fill(w, n, 11, -0.8f, 0.8f);
    ck_assert_int_eq(clv_model_set_params(f->m, w, n), CLV_OK);
    free(w);
    const int32_t lens[B] = { T, 3, 1, 0 };
    memcpy(f->len, lens, sizeof lens);
    clv_test_fill(f->x, B * T * F, 1, -1.5f, 1.5f);
    clv_test_fill(f->stat, B * 2, 2, -1.0f, 1.0f);
    clv_test_fill(f->wf, B * 2, 3, -1.0f, 1.0f);
    clv_test_fill(f->ws, B * T * 3, 4, -1.0f, 1.0f);
    f->pass = 12345;
}

/* L = sum(wf * final) + sum(ws * step) of a training forward pass with the
 * masks of pass f->pass. */
static double objective(fixture *f)
{
    float fo[B * 2], so[B * T * 3];
    clv__model_set_dropout_pass(f->m, f->pass);
    ck_assert_int_eq(clv_model_forward(f->m, B, T, f->x, f->len, f->stat, fo, so), CLV_OK);
    double L = 0.0;
    for (int i = 0; i < B * 2; i++) L += (double)f->wf[i] * fo[i];
    for (int i = 0; i < B * T * 3; i++) L += (double)f->ws[i] * so[i];
    return L;
}

static double central(fixture *f, float *v)
{
    const float h = 5e-3f, keep = *v;
    *v = keep + h;
    double lp = objective(f);
    *v = keep - h;
    double lm = objective(f);
    *v = keep;
    return (lp - lm) / (2.0 * h);
}

/* The tolerance of test-gradcheck.c: float32 model, h = 5e-3. */
static int outside(double fd, double an, double *worst)
{
    double err = fabs(fd - an), mag = fmax(fabs(fd), fabs(an));
    if (mag > 1e-2 && err / mag > *worst) *worst = err / mag;
    return err > 2e-3 * mag + 5e-4;
}

static void gradient_check(int32_t cell, uint32_t layers, const char *label)
{
    fixture f;
    setup(&f, cell, layers, 0.3);
    const uint64_t n = clv_model_param_count(f.m);
    float dx[B * T * F], dstat[B * 2], fo[B * 2], so[B * T * 3];
    /* The mask must matter: the training pass differs from predict. */
    float po[B * 2];
    ck_assert_int_eq(clv_model_predict(f.m, NULL, B, T, f.x, f.len, f.stat, po, NULL), CLV_OK);
    ck_assert_int_eq(clv_model_zero_grad(f.m), CLV_OK);
    clv__model_set_dropout_pass(f.m, f.pass);
    ck_assert_int_eq(clv_model_forward(f.m, B, T, f.x, f.len, f.stat, fo, so), CLV_OK);
    ck_assert(memcmp(fo, po, sizeof fo) != 0);
    ck_assert_int_eq(clv_model_backward(f.m, f.wf, f.ws, dx, dstat), CLV_OK);
    float *g = malloc(n * sizeof *g);
    ck_assert_int_eq(clv_model_get_grads(f.m, g, n), CLV_OK);

    double worst = 0;
    int failed = 0, checked = 0;
    float *p = clv_model_params(f.m);
    for (uint64_t i = 0; i < n; i++, checked++)
        if (outside(central(&f, &p[i]), g[i], &worst) && failed++ < 10)
            fprintf(stderr, "  %s param[%llu]: analytic %g\n", label, (unsigned long long)i, (double)g[i]);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < f.len[b]; t++)
            for (int k = 0; k < F; k++, checked++) {
                size_t i = ((size_t)b * T + t) * F + k;
                if (outside(central(&f, &f.x[i]), dx[i], &worst) && failed++ < 10)
                    fprintf(stderr, "  %s x[%zu]: analytic %g\n", label, i, (double)dx[i]);
            }
    for (int i = 0; i < B * 2; i++, checked++)
        if (outside(central(&f, &f.stat[i]), dstat[i], &worst) && failed++ < 10)
            fprintf(stderr, "  %s static[%d]: analytic %g\n", label, i, (double)dstat[i]);
    printf("dropout gradcheck %-10s entries %4d, worst relative error %.2e\n", label, checked, worst);
    ck_assert_msg(failed == 0, "%s: %d of %d entries outside tolerance", label, failed, checked);
    free(g);
    clv_model_free(f.m);
}

START_TEST(gradient_with_a_fixed_mask_lstm) { gradient_check(CLV_CELL_LSTM, 2, "lstm L2"); }
END_TEST
START_TEST(gradient_with_a_fixed_mask_gru) { gradient_check(CLV_CELL_GRU, 2, "gru L2"); }
END_TEST

/* clv_model_predict and the roll-out paths ignore dropout: the same weights
 * with p = 0.5 and p = 0 give the same bits. A forward pass without dropout
 * (CLV__FWD_NO_DROPOUT, the held-out loss) equals a p = 0 training pass and
 * does not advance the pass number. */
START_TEST(inference_does_not_drop)
{
    fixture a, z;
    setup(&a, CLV_CELL_LSTM, 2, 0.5);
    setup(&z, CLV_CELL_LSTM, 2, 0.0);
    float fa[B * 2], fz[B * 2], sa[B * T * 3], sz[B * T * 3];
    ck_assert_int_eq(clv_model_predict(a.m, NULL, B, T, a.x, a.len, a.stat, fa, sa), CLV_OK);
    ck_assert_int_eq(clv_model_predict(z.m, NULL, B, T, z.x, z.len, z.stat, fz, sz), CLV_OK);
    ck_assert_mem_eq(fa, fz, sizeof fa);
    ck_assert_mem_eq(sa, sz, sizeof sa);
    /* after a training pass too: nothing of it leaks into inference */
    ck_assert_int_eq(clv_model_forward(a.m, B, T, a.x, a.len, a.stat, fa, sa), CLV_OK);
    ck_assert(memcmp(fa, fz, sizeof fa) != 0);
    ck_assert_int_eq(clv_model_predict(a.m, NULL, B, T, a.x, a.len, a.stat, fa, sa), CLV_OK);
    ck_assert_mem_eq(fa, fz, sizeof fa);
    ck_assert_mem_eq(sa, sz, sizeof sa);

    const uint64_t before = clv__model_dropout_pass(a.m);
    ck_assert_int_eq(clv__model_forward(a.m, B, T, a.x, a.len, a.stat, fa, sa, CLV__FWD_NO_DROPOUT, "test"), CLV_OK);
    ck_assert_int_eq(clv_model_forward(z.m, B, T, z.x, z.len, z.stat, fz, sz), CLV_OK);
    ck_assert_mem_eq(fa, fz, sizeof fa);
    ck_assert_mem_eq(sa, sz, sizeof sa);
    ck_assert(clv__model_dropout_pass(a.m) == before);
    clv_model_free(a.m);
    clv_model_free(z.m);

    /* The roll-out (history, then one step) of a model without static
     * features, as the forecaster runs it. */
    clv_model *r[2];
    for (int k = 0; k < 2; k++) {
        clv_model_options o;
        clv_model_options_init(&o);
        o.input_size = F;
        o.hidden_size = 5;
        o.num_layers = 2;
        o.final_outputs = 0;
        o.step_outputs = 3;
        o.dropout = k ? 0.5 : 0.0;
        ck_assert_int_eq(clv_model_new(&r[k], &o), CLV_OK);
    }
    float h[2][2 * B * 5], c[2][2 * B * 5], last[2][B * 3], out[2][B * 3];
    int32_t full[B] = { T, T, T, T };
    for (int k = 0; k < 2; k++) {
        clv__arena arena;
        clv__arena_init(&arena);
        ck_assert_int_eq(clv__model_history(r[k], &arena, B, T, a.x, full, h[k], c[k], last[k]), CLV_OK);
        ck_assert_int_eq(clv__model_step(r[k], &arena, B, a.x, h[k], c[k], out[k]), CLV_OK);
        clv__arena_free(&arena);
        clv_model_free(r[k]);
    }
    ck_assert_mem_eq(last[0], last[1], sizeof last[0]);
    ck_assert_mem_eq(out[0], out[1], sizeof out[0]);
    ck_assert_mem_eq(h[0], h[1], sizeof h[0]);
}
END_TEST

/* Every dropped output equals h * m/(1-p) with m from the element's own
 * hash, whatever the number of threads the pass ran on. */
static void check_pass_masks(const clv_model *m, uint32_t Bn, uint32_t Tn, uint32_t H)
{
    const clv__pass *p = &m->pass;
    ck_assert(p->dropping);
    for (uint32_t l = 0; l < m->o.num_layers; l++) {
        const float *h = p->layer[l].h + (size_t)Bn * H, *d = p->layer[l].out_drop;
        for (uint32_t t = 0; t < Tn; t++)
            for (uint32_t b = 0; b < Bn; b++)
                for (uint32_t j = 0; j < H; j++) {
                    size_t i = ((size_t)t * Bn + b) * H + j;
                    float want = clv__dropout_factor(&p->drop, l, t, b, j) == 0.0f ? 0.0f : h[i] * p->drop.scale;
                    ck_assert_msg(d[i] == want, "layer %u t %u b %u j %u: %g, expected %g", l, t, b, j, (double)d[i],
                                  (double)want);
                }
    }
}

START_TEST(masks_do_not_depend_on_threads)
{
    enum { BB = 64, TT = 12, H = 8, FF = 3 };
    float *x = malloc(sizeof(float) * BB * TT * FF), *so = malloc(sizeof(float) * BB * TT * 2);
    clv_test_fill(x, (size_t)BB * TT * FF, 5, -1.0f, 1.0f);
    clv_model *m[2];
    unsigned char *pattern[2];
    for (int k = 0; k < 2; k++) {
        clv_model_options o;
        clv_model_options_init(&o);
        o.input_size = FF;
        o.hidden_size = H;
        o.num_layers = 2;
        o.final_outputs = 0;
        o.step_outputs = 2;
        o.seed = 3;
        o.dropout = 0.25;
        ck_assert_int_eq(clv_model_new(&m[k], &o), CLV_OK);
        ck_assert_int_eq(clv_model_set_num_threads(m[k], k + 1), CLV_OK);
        /* 64 rows: two LSTM workers; 768 rows x steps: two dropout workers */
        ck_assert_uint_eq(clv__lstm_workers((uint32_t)(k + 1), BB), (uint32_t)(k + 1));
        clv__model_set_dropout_pass(m[k], 77);
        ck_assert_int_eq(clv_model_forward(m[k], BB, TT, x, NULL, NULL, NULL, so), CLV_OK);
        check_pass_masks(m[k], BB, TT, H);
        pattern[k] = malloc((size_t)2 * TT * BB * H);
        for (uint32_t l = 0; l < 2; l++)
            for (size_t i = 0; i < (size_t)TT * BB * H; i++)
                pattern[k][l * (size_t)TT * BB * H + i] = m[k]->pass.layer[l].out_drop[i] == 0.0f;
    }
    ck_assert_mem_eq(pattern[0], pattern[1], (size_t)2 * TT * BB * H);
    for (int k = 0; k < 2; k++) {
        free(pattern[k]);
        clv_model_free(m[k]);
    }
    free(x);
    free(so);
}
END_TEST

/* Training with dropout is deterministic for a seed: two models, the same
 * steps, the same bits; a different seed draws other masks. */
START_TEST(training_is_deterministic)
{
    enum { BB = 8, TT = 5, FF = 2 };
    float x[BB * TT * FF], y[BB];
    clv_test_fill(x, BB * TT * FF, 9, -1.0f, 1.0f);
    clv_test_fill(y, BB, 10, -1.0f, 1.0f);
    float *w[3];
    for (int k = 0; k < 3; k++) {
        clv_model_options o;
        clv_model_options_init(&o);
        o.input_size = FF;
        o.hidden_size = 6;
        o.num_layers = 2;
        o.dropout = 0.3;
        clv_model *m;
        ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
        if (k == 2) clv__model_set_dropout_pass(m, 1000);   /* other masks, same initial weights */
        clv_optim_options oo;
        clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
        clv_optim *opt;
        ck_assert_int_eq(clv_optim_new(&opt, &oo), CLV_OK);
        double loss;
        for (int s = 0; s < 5; s++)
            ck_assert_int_eq(clv_model_train_step(m, opt, NULL, BB, TT, x, NULL, NULL, y, NULL, &loss), CLV_OK);
        ck_assert(clv__model_dropout_pass(m) == (k == 2 ? 1005u : 5u));
        const uint64_t n = clv_model_param_count(m);
        w[k] = malloc(n * sizeof(float));
        ck_assert_int_eq(clv_model_get_params(m, w[k], n), CLV_OK);
        if (k == 2) {
            ck_assert_mem_eq(w[0], w[1], n * sizeof(float));
            ck_assert(memcmp(w[0], w[2], n * sizeof(float)) != 0);
        }
        clv_optim_free(opt);
        clv_model_free(m);
    }
    for (int k = 0; k < 3; k++) free(w[k]);
}
END_TEST

/* The fraction dropped is p (within 5 standard deviations over 2^18
 * elements of many rows, steps, units and two layers), kept units are
 * scaled by exactly (float)(1/(1-p)), masks of consecutive passes agree no
 * more than independent ones would, and p = 0 drops nothing. */
START_TEST(rate_and_scale)
{
    const double rates[] = { 0.0, 0.1, 0.3, 0.5 };
    for (int r = 0; r < 4; r++) {
        const double p = rates[r];
        clv__dropout d = clv__dropout_make(42, 3, p), e = clv__dropout_make(42, 4, p);
        const float scale = (float)(1.0 / (1.0 - p));
        ck_assert(d.scale == scale);
        uint64_t n = 0, dropped = 0, both = 0;
        for (uint32_t l = 0; l < 2; l++)
            for (uint32_t t = 0; t < 32; t++)
                for (uint32_t b = 0; b < 64; b++)
                    for (uint32_t j = 0; j < 64; j++) {
                        float v = clv__dropout_factor(&d, l, t, b, j), u = clv__dropout_factor(&e, l, t, b, j);
                        ck_assert(v == 0.0f || v == scale);
                        n++;
                        dropped += v == 0.0f;
                        both += (v == 0.0f) == (u == 0.0f);
                    }
        const double frac = (double)dropped / (double)n, sd = sqrt(p * (1 - p) / (double)n);
        printf("dropout p %.1f: dropped %.5f of %llu, scale %.6f\n", p, frac, (unsigned long long)n, (double)scale);
        ck_assert_msg(fabs(frac - p) <= 5 * sd + 1e-12, "p %g: dropped fraction %g", p, frac);
        /* two independent masks agree on a unit with probability p^2 + (1-p)^2 */
        const double agree = p * p + (1 - p) * (1 - p), sda = sqrt(agree * (1 - agree) / (double)n);
        ck_assert_msg(fabs((double)both / (double)n - agree) <= 5 * sda + 1e-12, "p %g: passes agree on %g", p,
                      (double)both / (double)n);
    }
}
END_TEST

START_TEST(bad_rates_refused)
{
    const double bad[] = { -0.1, 1.0, 1.5, NAN, INFINITY };
    for (int k = 0; k < 5; k++) {
        clv_model_options o;
        clv_model_options_init(&o);
        o.input_size = 2;
        o.dropout = bad[k];
        clv_model *m = (clv_model *)1;
        ck_assert_int_eq(clv_model_new(&m, &o), CLV_EINVAL);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(clv_last_error(), "clv_model_new: dropout = ") != NULL &&
                          strstr(clv_last_error(), "expected 0 <= dropout < 1") != NULL,
                      "message: %s", clv_last_error());
        clv_forecast_options fo;
        clv_forecast_options_init(&fo);
        fo.dropout = (float)bad[k];
        clv_forecaster *f = (clv_forecaster *)1;
        ck_assert_int_eq(clv_forecaster_new(&f, &fo), CLV_EINVAL);
        ck_assert_ptr_null(f);
        ck_assert_msg(strstr(clv_last_error(), "clv_forecaster_new: dropout = ") != NULL, "message: %s",
                      clv_last_error());
    }
    /* the message names the value */
    clv_model_options o;
    clv_model_options_init(&o);
    o.input_size = 2;
    o.dropout = 1.5;
    clv_model *m;
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_EINVAL);
    ck_assert_str_eq(clv_last_error(), "clv_model_new: dropout = 1.5, expected 0 <= dropout < 1");
    /* 0 and 0.9 are fine; the defaults are 0 */
    o.dropout = 0.9;
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
    clv_model_free(m);
    clv_model_options_init(&o);
    ck_assert(o.dropout == 0.0);
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    ck_assert(fo.dropout == 0.0f);
    /* A caller built before the field (a smaller struct_size) gets no
     * dropout, whatever lies past its struct. */
    o.input_size = 2;
    o.dropout = 0.7;
    o.struct_size = (uint32_t)offsetof(clv_model_options, dropout);
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
    clv_model_options got;
    clv_model_options_init(&got);
    ck_assert_int_eq(clv_model_get_options(m, &got), CLV_OK);
    ck_assert(got.dropout == 0.0);
    clv_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dropout");
    TCase *tc = tcase_create("dropout");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gradient_with_a_fixed_mask_lstm);
    tcase_add_test(tc, gradient_with_a_fixed_mask_gru);
    tcase_add_test(tc, inference_does_not_drop);
    tcase_add_test(tc, masks_do_not_depend_on_threads);
    tcase_add_test(tc, training_is_deterministic);
    tcase_add_test(tc, rate_and_scale);
    tcase_add_test(tc, bad_rates_refused);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
