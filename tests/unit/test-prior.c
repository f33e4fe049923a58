/* The forecaster's posterior inputs (lib/forecast/prior.c) against the
 * library's own BG/NBD and Gamma-Gamma predictions, which are tested against
 * published figures in test-btyd.c: P(active) and the shrunken mean value
 * must agree for the same summaries, and the rate must be the posterior mean
 * (r + x) / (alpha + T); the offsets must be the Poisson probabilities. */
#include <math.h>
#include <string.h>

#include <check.h>

#include "../../lib/forecast/forecast_impl.h"
#include "test-common.h"

static clv_forecaster prior_forecaster(void)
{
    clv_forecaster f;
    memset(&f, 0, sizeof f);
    f.use_prior = 1;
    /* BG/NBD and Gamma-Gamma fitted on CDNOW_sample (Fader, Hardie & Lee). */
    const double bg[4] = { 0.2426, 4.4136, 0.7929, 2.4259 }, gg[3] = { 6.2496, 3.7442, 15.4435 };
    memcpy(f.prior_bgnbd, bg, sizeof bg);
    memcpy(f.prior_gg, gg, sizeof gg);
    return f;
}

START_TEST(matches_btyd_predictions)
{
    clv_forecaster f = prior_forecaster();
    /* Histories: (transactions incl. first, spend, first amount, weeks since last, age in weeks). */
    static const double h[][5] = {
        { 1, 20.0, 20.0, 10, 10 }, { 2, 50.0, 20.0, 3, 30 }, { 5, 300.0, 40.0, 0, 38 },
        { 3, 45.0, 15.0, 25, 36 }, { 12, 900.0, 70.0, 1, 39 }, { 1, 5.0, 5.0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof h / sizeof *h; i++) {
        float in[CLV__IN_COUNT] = { 0 };
        clv__prior_inputs(&f, h[i][0], h[i][1], h[i][2], h[i][3], h[i][4], in);
        const float x = (float)(h[i][0] - 1), T = (float)(h[i][4] + 1);
        const float t_x = x > 0 ? (float)(h[i][4] - h[i][3]) : 0.0f;
        const float m_x = x > 0 ? (float)((h[i][1] - h[i][2]) / x) : 0.0f;
        float p_alive, value;
        ck_assert_int_eq(clv_bgnbd_expected(f.prior_bgnbd, 1, &x, &t_x, &T, 1.0, NULL, &p_alive), CLV_OK);
        ck_assert_int_eq(clv_gammagamma_expected_value(f.prior_gg, 1, &x, &m_x, &value), CLV_OK);
        ck_assert_double_eq_tol(in[CLV__IN_P_ALIVE], p_alive, 1e-5);
        const double rate = (f.prior_bgnbd[0] + x) / (f.prior_bgnbd[1] + T);
        ck_assert_double_eq_tol(in[CLV__IN_RATE], log1p(rate), 1e-5);
        ck_assert_double_eq_tol(in[CLV__IN_GG_VALUE], log1p(value), 1e-4);
    }
}
END_TEST

START_TEST(off_means_zero)
{
    clv_forecaster f = prior_forecaster();
    f.use_prior = 0;
    float in[CLV__IN_COUNT];
    for (int k = 0; k < CLV__IN_COUNT; k++) in[k] = 7.0f;
    clv__prior_inputs(&f, 4, 100, 10, 2, 20, in);
    ck_assert_float_eq(in[CLV__IN_P_ALIVE], 0.0f);
    ck_assert_float_eq(in[CLV__IN_RATE], 0.0f);
    ck_assert_float_eq(in[CLV__IN_GG_VALUE], 0.0f);
    ck_assert_float_eq(in[CLV__IN_TX], 7.0f);   /* other inputs untouched */
}
END_TEST

/* Alone, the offsets are the Poisson probabilities of the classes 0, 1, 2
 * and 3+ at the posterior rate (softmax of the offsets), and the log value. */
START_TEST(offsets_are_poisson_probabilities)
{
    clv_forecaster f = prior_forecaster();
    for (int k = 0; k < CLV__IN_COUNT; k++) {
        f.in_mean[k] = 0.0f;
        f.in_scale[k] = 1.0f;
    }
    static const double rates[] = { 1e-4, 0.003, 0.05, 0.4, 1.0, 2.5, 8.0, 29.0, 31.0, 800.0, 1e6 };
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        const double l = rates[r];
        float x[CLV__IN_COUNT] = { 0 }, out[CLV__OUT_COUNT] = { 0 };
        x[CLV__IN_RATE] = (float)log1p(l);
        x[CLV__IN_GG_VALUE] = 3.25f;
        clv__prior_offsets(&f, x, out);
        for (int k = 0; k < CLV__OUT_COUNT; k++) ck_assert_msg(isfinite(out[k]), "rate %g: offset %d = %g", l, k, (double)out[k]);
        double z = 0, p[4], mx = out[0];
        for (int k = 1; k < 4; k++) mx = fmax(mx, out[k]);
        for (int k = 0; k < 4; k++) z += exp(out[k] - mx);
        for (int k = 0; k < 4; k++) p[k] = exp(out[k] - mx) / z;
        const double l_f = expm1((double)(float)log1p(l));   /* the rate the float input carries */
        const double p0 = exp(-l_f), p1 = l_f * p0, p2 = l_f * l_f / 2 * p0;
        /* float offsets: relative 1e-5 of each probability (above 1e-30) */
        ck_assert_double_eq_tol(p[0], p0, 1e-5 * p0 + 1e-30);
        ck_assert_double_eq_tol(p[1], p1, 1e-5 * p1 + 1e-30);
        ck_assert_double_eq_tol(p[2], p2, 1e-5 * p2 + 1e-30);
        ck_assert_double_eq_tol(p[3], 1 - p0 - p1 - p2, 1e-4 * (1 - p0 - p1 - p2) + 1e-12);
        ck_assert_float_eq(out[CLV__TX_CLASSES], 3.25f);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prior");
    TCase *tc = tcase_create("prior");
    tcase_add_test(tc, matches_btyd_predictions);
    tcase_add_test(tc, off_means_zero);
    tcase_add_test(tc, offsets_are_poisson_probabilities);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
