/* Central finite-difference gradient checks for the whole model: LSTM and
 * GRU, one and two layers, both heads, static features, mixed sequence
 * lengths (including 0 and full length), for every parameter, every valid
 * input and every static feature.
 *
 * Objective: L = sum(wf * final_out) + sum(ws * step_out) with fixed random
 * wf, ws, so dL/dfinal = wf and dL/dstep = ws are fed to backward. The model
 * computes in float32, so the difference quotient carries the rounding of L
 * (|L| ~ 10, float epsilon 6e-8, ~1e-6 absolute after summation) divided by
 * 2h, plus the truncation term h^2 f'''/6. With h = 5e-3 both are ~1e-4
 * absolute. We therefore accept an entry when
 *     |fd - an| <= 2e-3 * max(|fd|, |an|) + 5e-4,
 * i.e. 0.2% relative for gradients above 0.25 and an absolute floor below,
 * and print the worst relative error among entries with |an| > 1e-2.
 * Observed worst relative errors are about 3e-3 at most (entries with |g| > 1e-2,
 * where float noise is largest next to the gradient); a wrong gate or a
 * missing term shows up as errors of order 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clv/clv.h>

#include "test-common.h"

#define B 4
#define T 6

typedef struct fixture {
    clv_model *m;
    clv_model_options o;
    float *x, *stat, *wf, *ws;
    int32_t len[B];
} fixture;

static void setup(fixture *f, int32_t cell, uint32_t layers, uint32_t S, uint32_t Of, uint32_t Os)
{
    clv_model_options_init(&f->o);
    f->o.cell = cell;
    f->o.input_size = 3;
    f->o.hidden_size = 5;
    f->o.num_layers = layers;
    f->o.static_size = S;
    f->o.final_outputs = Of;
    f->o.step_outputs = Os;
    f->o.seed = 7;
    ck_assert_int_eq(clv_model_new(&f->m, &f->o), CLV_OK);
    /* Spread the weights wider than the default init so that gates are not
     * all near their linear regime and every nonlinearity is exercised. */
    uint64_t n = clv_model_param_count(f->m);
    float *p = malloc(n * sizeof *p);
    clv_test_fill(p, n, 11, -0.8f, 0.8f);
    ck_assert_int_eq(clv_model_set_params(f->m, p, n), CLV_OK);
    free(p);
    const int32_t lens[B] = { T, 3, 1, 0 };
    memcpy(f->len, lens, sizeof lens);
    f->x = malloc(sizeof(float) * B * T * 3);
    clv_test_fill(f->x, B * T * 3, 1, -1.5f, 1.5f);
    f->stat = S ? malloc(sizeof(float) * B * S) : NULL;
    if (S) clv_test_fill(f->stat, B * S, 2, -1.0f, 1.0f);
    f->wf = Of ? malloc(sizeof(float) * B * Of) : NULL;
    if (Of) clv_test_fill(f->wf, B * Of, 3, -1.0f, 1.0f);
    f->ws = Os ? malloc(sizeof(float) * B * T * Os) : NULL;
    if (Os) clv_test_fill(f->ws, B * T * Os, 4, -1.0f, 1.0f);
}

static void teardown(fixture *f)
{
    clv_model_free(f->m);
    free(f->x);
    free(f->stat);
    free(f->wf);
    free(f->ws);
}

static double objective(fixture *f)
{
    float fo[B * 8], so[B * T * 8];
    float *fop = f->o.final_outputs ? fo : NULL, *sop = f->o.step_outputs ? so : NULL;
    ck_assert_int_eq(clv_model_predict(f->m, NULL, B, T, f->x, f->len, f->stat, fop, sop), CLV_OK);
    double L = 0.0;
    for (uint32_t i = 0; fop && i < B * f->o.final_outputs; i++) L += (double)f->wf[i] * fo[i];
    for (uint32_t i = 0; sop && i < B * T * f->o.step_outputs; i++) L += (double)f->ws[i] * so[i];
    return L;
}

typedef struct stats { double worst_rel; int checked; int failed; } stats;

static void compare(stats *s, double fd, double an, const char *what, uint64_t i)
{
    double err = fabs(fd - an), mag = fmax(fabs(fd), fabs(an));
    s->checked++;
    if (mag > 1e-2 && err / mag > s->worst_rel) s->worst_rel = err / mag;
    if (err > 2e-3 * mag + 5e-4) {
        if (s->failed++ < 10) fprintf(stderr, "  %s[%llu]: fd %.6g analytic %.6g\n", what, (unsigned long long)i, fd, an);
    }
}

/* Perturb *v by +-h and return the central difference of the objective. */
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

static void run_check(int32_t cell, uint32_t layers, uint32_t S, uint32_t Of, uint32_t Os, const char *label)
{
    fixture f;
    setup(&f, cell, layers, S, Of, Os);
    uint64_t n = clv_model_param_count(f.m);
    float dx[B * T * 3], dstat[B * 4];
    float fo[B * 8], so[B * T * 8];

    ck_assert_int_eq(clv_model_zero_grad(f.m), CLV_OK);
    ck_assert_int_eq(clv_model_forward(f.m, B, T, f.x, f.len, f.stat, Of ? fo : NULL, Os ? so : NULL), CLV_OK);
    ck_assert_int_eq(clv_model_backward(f.m, f.wf, f.ws, dx, S ? dstat : NULL), CLV_OK);
    float *g = malloc(n * sizeof *g);
    ck_assert_int_eq(clv_model_get_grads(f.m, g, n), CLV_OK);

    stats s = { 0, 0, 0 };
    float *p = clv_model_params(f.m);
    for (uint64_t i = 0; i < n; i++) compare(&s, central(&f, &p[i]), g[i], "param", i);
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t t = 0; t < T; t++)
            for (uint32_t k = 0; k < 3; k++) {
                size_t i = ((size_t)b * T + t) * 3 + k;
                if ((int32_t)t >= f.len[b]) {
                    /* Padding must neither matter nor receive gradient. */
                    ck_assert_msg(dx[i] == 0.0f, "d_x at padding [%u][%u] = %g", b, t, (double)dx[i]);
                    ck_assert(fabs(central(&f, &f.x[i])) == 0.0);
                } else {
                    compare(&s, central(&f, &f.x[i]), dx[i], "x", i);
                }
            }
    for (uint32_t i = 0; i < B * S; i++) compare(&s, central(&f, &f.stat[i]), dstat[i], "static", i);

    printf("gradcheck %-28s params %4llu, entries %4d, worst relative error %.2e\n", label,
           (unsigned long long)n, s.checked, s.worst_rel);
    ck_assert_msg(s.failed == 0, "%s: %d of %d entries outside tolerance", label, s.failed, s.checked);
    free(g);
    teardown(&f);
}

START_TEST(lstm_one_layer_final) { run_check(CLV_CELL_LSTM, 1, 0, 1, 0, "lstm L1 final"); }
END_TEST
START_TEST(lstm_two_layers_both_heads_static) { run_check(CLV_CELL_LSTM, 2, 2, 2, 3, "lstm L2 final+step+static"); }
END_TEST
START_TEST(lstm_step_head_only) { run_check(CLV_CELL_LSTM, 1, 0, 0, 2, "lstm L1 step"); }
END_TEST
START_TEST(gru_one_layer_final) { run_check(CLV_CELL_GRU, 1, 0, 1, 0, "gru L1 final"); }
END_TEST
START_TEST(gru_two_layers_both_heads_static) { run_check(CLV_CELL_GRU, 2, 2, 2, 3, "gru L2 final+step+static"); }
END_TEST
START_TEST(gru_three_layers_step_static) { run_check(CLV_CELL_GRU, 3, 1, 0, 2, "gru L3 step+static"); }
END_TEST

int main(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("finite-differences");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lstm_one_layer_final);
    tcase_add_test(tc, lstm_two_layers_both_heads_static);
    tcase_add_test(tc, lstm_step_head_only);
    tcase_add_test(tc, gru_one_layer_final);
    tcase_add_test(tc, gru_two_layers_both_heads_static);
    tcase_add_test(tc, gru_three_layers_step_static);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
