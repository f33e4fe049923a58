/* Training end to end: a tiny data set is fitted (both heads, both cells),
 * training is bit-identical for a seed, the one-call train step equals the
 * researcher's manual loop, and numerical blow-ups are stopped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clv/clv.h>

#include "test-common.h"

enum { B = 16, T = 8, F = 2 };

typedef struct data {
    float x[B * T * F];
    int32_t len[B];
    float y_final[B];      /* 2 * mean of feature 0 over valid steps */
    float y_step[B * T];   /* running sum of feature 0 */
} data;

static void make_data(data *d)
{
    clv_test_fill(d->x, B * T * F, 21, -1, 1);
    for (int b = 0; b < B; b++) {
        d->len[b] = 3 + b % (T - 2);
        double s = 0;
        for (int t = 0; t < T; t++) {
            if (t < d->len[b]) s += d->x[(b * T + t) * F];
            d->y_step[b * T + t] = t < d->len[b] ? (float)s : NAN;   /* padding may hold anything */
        }
        d->y_final[b] = (float)(2.0 * s / d->len[b]);
    }
}

static clv_model *model(int32_t cell, uint32_t Of, uint32_t Os, uint64_t seed)
{
    clv_model_options o;
    clv_model_options_init(&o);
    o.cell = cell;
    o.input_size = F;
    o.hidden_size = 16;
    o.final_outputs = Of;
    o.step_outputs = Os;
    o.seed = seed;
    clv_model *m;
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
    return m;
}

static clv_optim *adam(float lr)
{
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
    oo.lr = lr;
    clv_optim *opt;
    ck_assert_int_eq(clv_optim_new(&opt, &oo), CLV_OK);
    return opt;
}

/* Returns the final loss; *first gets the initial one. */
static double fit(clv_model *m, const data *d, int steps_head, int iters, double *first)
{
    clv_optim *opt = adam(1e-2f);
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    double loss = 0;
    for (int i = 0; i < iters; i++) {
        ck_assert_int_eq(clv_model_train_step(m, opt, &lo, B, T, d->x, d->len, NULL,
                                              steps_head ? d->y_step : d->y_final, NULL, &loss), CLV_OK);
        if (i == 0 && first) *first = loss;
    }
    clv_optim_free(opt);
    return loss;
}

static void overfit(int32_t cell, int steps_head, double bound, const char *label)
{
    data d;
    make_data(&d);
    clv_model *m = model(cell, steps_head ? 0 : 1, steps_head ? 1 : 0, 1);
    double first, last = fit(m, &d, steps_head, 500, &first);
    printf("overfit %-16s loss %.4g -> %.4g after 500 Adam steps\n", label, first, last);
    ck_assert_msg(last < bound, "%s: loss %g not below %g", label, last, bound);
    ck_assert(first > 10 * last);
    clv_model_free(m);
}

START_TEST(overfit_lstm_final) { overfit(CLV_CELL_LSTM, 0, 1e-5, "lstm final"); }
END_TEST
START_TEST(overfit_gru_final) { overfit(CLV_CELL_GRU, 0, 1e-5, "gru final"); }
END_TEST
START_TEST(overfit_lstm_steps) { overfit(CLV_CELL_LSTM, 1, 3e-3, "lstm per-step"); }
END_TEST
START_TEST(overfit_gru_steps) { overfit(CLV_CELL_GRU, 1, 3e-3, "gru per-step"); }
END_TEST

START_TEST(deterministic_for_seed)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    data d;
    make_data(&d);
    for (int32_t cell = CLV_CELL_LSTM; cell <= CLV_CELL_GRU; cell++) {
        clv_model *a = model(cell, 1, 0, 5), *b = model(cell, 1, 0, 5), *c = model(cell, 1, 0, 6);
        fit(a, &d, 0, 50, NULL);
        fit(b, &d, 0, 50, NULL);
        fit(c, &d, 0, 50, NULL);
        uint64_t n = clv_model_param_count(a);
        ck_assert_mem_eq(clv_model_params(a), clv_model_params(b), n * sizeof(float));
        ck_assert(memcmp(clv_model_params(a), clv_model_params(c), n * sizeof(float)) != 0);
        clv_model_free(a);
        clv_model_free(b);
        clv_model_free(c);
    }
}
END_TEST

/* clv_model_train_step == zero_grad + forward + loss + backward + step. */
START_TEST(train_step_equals_manual_loop)
{
    data d;
    make_data(&d);
    clv_model *a = model(CLV_CELL_LSTM, 1, 0, 3), *b = model(CLV_CELL_LSTM, 1, 0, 3);
    clv_optim *oa = adam(1e-2f), *ob = adam(1e-2f);
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    lo.kind = CLV_LOSS_HUBER;
    float w[B];
    clv_test_fill(w, B, 4, 0, 2);
    for (int i = 0; i < 5; i++) {
        double la, lb;
        ck_assert_int_eq(clv_model_train_step(a, oa, &lo, B, T, d.x, d.len, NULL, d.y_final, w, &la), CLV_OK);
        float pred[B], grad[B];
        ck_assert_int_eq(clv_model_zero_grad(b), CLV_OK);
        ck_assert_int_eq(clv_model_forward(b, B, T, d.x, d.len, NULL, pred, NULL), CLV_OK);
        ck_assert_int_eq(clv_loss_eval(&lo, B, 1, pred, d.y_final, w, NULL, &lb, grad), CLV_OK);
        ck_assert_int_eq(clv_model_backward(b, grad, NULL, NULL, NULL), CLV_OK);
        ck_assert_int_eq(clv_optim_step(ob, b), CLV_OK);
        ck_assert_double_eq(la, lb);
    }
    ck_assert_mem_eq(clv_model_params(a), clv_model_params(b), clv_model_param_count(a) * sizeof(float));
    clv_optim_free(oa);
    clv_optim_free(ob);
    clv_model_free(a);
    clv_model_free(b);
}
END_TEST

/* A zero weight removes a sequence from the gradient entirely. */
START_TEST(zero_weight_sequences_ignored)
{
    data d;
    make_data(&d);
    float w[B];
    for (int b = 0; b < B; b++) w[b] = b < B / 2 ? 1.0f : 0.0f;
    clv_model *a = model(CLV_CELL_GRU, 0, 1, 8), *b = model(CLV_CELL_GRU, 0, 1, 8);
    clv_optim *oa = adam(1e-2f), *ob = adam(1e-2f);
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    double la, lb;
    ck_assert_int_eq(clv_model_train_step(a, oa, &lo, B, T, d.x, d.len, NULL, d.y_step, w, &la), CLV_OK);
    ck_assert_int_eq(clv_model_train_step(b, ob, &lo, B / 2, T, d.x, d.len, NULL, d.y_step, NULL, &lb), CLV_OK);
    ck_assert_double_eq_tol(la, lb, 1e-6 * fabs(lb));
    const float *pa = clv_model_params(a), *pb = clv_model_params(b);
    for (uint64_t i = 0; i < clv_model_param_count(a); i++) ck_assert_float_eq_tol(pa[i], pb[i], 1e-6f);
    clv_optim_free(oa);
    clv_optim_free(ob);
    clv_model_free(a);
    clv_model_free(b);
}
END_TEST

/* An absurd learning rate drives the weights to overflow: the step that would
 * make them non-finite is refused and the last finite weights are kept. */
START_TEST(blowup_is_stopped)
{
    data d;
    make_data(&d);
    clv_model *m = model(CLV_CELL_LSTM, 1, 0, 2);
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_SGD);
    oo.lr = 1e37f;
    clv_optim *opt;
    ck_assert_int_eq(clv_optim_new(&opt, &oo), CLV_OK);
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    int rc = CLV_OK;
    for (int i = 0; i < 20 && rc == CLV_OK; i++)
        rc = clv_model_train_step(m, opt, &lo, B, T, d.x, d.len, NULL, d.y_final, NULL, NULL);
    ck_assert_int_eq(rc, CLV_ENUMERIC);
    ck_assert(strlen(clv_last_error()) > 0);
    uint64_t n = clv_model_param_count(m);
    const float *p = clv_model_params(m);
    for (uint64_t i = 0; i < n; i++) ck_assert(isfinite(p[i]));
    clv_optim_free(opt);
    clv_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("overfit");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, overfit_lstm_final);
    tcase_add_test(tc, overfit_gru_final);
    tcase_add_test(tc, overfit_lstm_steps);
    tcase_add_test(tc, overfit_gru_steps);
    suite_add_tcase(s, tc);
    tc = tcase_create("semantics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deterministic_for_seed);
    tcase_add_test(tc, train_step_equals_manual_loop);
    tcase_add_test(tc, zero_weight_sequences_ignored);
    tcase_add_test(tc, blowup_is_stopped);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
