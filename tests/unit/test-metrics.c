/* Evaluation metrics through the public API only.
 *
 * Reference values are worked out by hand (the arithmetic is in the comments)
 * and written as literals; the property tests compare with brute-force
 * references written here in a different way (O(n^2) ranks, pair counting,
 * qsort with averaged tie blocks), never with libclv itself, so a wrong
 * formula cannot agree with itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clv/clv.h>

#include "test-common.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 12345.0
#define TOL 1e-12

typedef int (*metric_fn)(uint64_t, const float *, const float *, double *);

static void assert_close(double got, double want, double tol, const char *what)
{
    ck_assert_msg(fabs(got - want) <= tol * fmax(1.0, fabs(want)), "%s: got %.17g, want %.17g",
                  what, got, want);
}

static double call_ok(metric_fn f, uint64_t n, const float *p, const float *a, const char *what)
{
    double v = SENTINEL;
    int rc = f(n, p, a, &v);
    ck_assert_msg(rc == CLV_OK, "%s: rc %d (%s)", what, rc, clv_last_error());
    return v;
}

/* f must fail with CLV_EINVAL, leave *out alone and say `needle`. */
static void expect_einval(metric_fn f, uint64_t n, const float *p, const float *a,
                          const char *needle, const char *what)
{
    double v = SENTINEL;
    clv_clear_error();
    int rc = f(n, p, a, &v);
    ck_assert_msg(rc == CLV_EINVAL, "%s: rc %d, want CLV_EINVAL", what, rc);
    ck_assert_msg(v == SENTINEL, "%s: output written on error", what);
    ck_assert_int_eq(clv_last_error_code(), CLV_EINVAL);
    ck_assert_msg(strstr(clv_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", what,
                  clv_last_error(), needle);
}

/* ---- 1. elementwise metrics ---------------------------------------------- */

START_TEST(ref_mae_rmse)
{
    /* d = pred - actual = {-1, 0, -3, 2}:
     * MAE = (1 + 0 + 3 + 2) / 4 = 1.5; RMSE = sqrt((1 + 0 + 9 + 4) / 4) = sqrt(3.5). */
    static const float p[] = { 1, 2, 3, 4 }, a[] = { 2, 2, 6, 2 };
    assert_close(call_ok(clv_metric_mae, 4, p, a, "mae"), 1.5, TOL, "mae");
    assert_close(call_ok(clv_metric_rmse, 4, p, a, "rmse"), 1.8708286933869707, TOL, "rmse");
    /* One row: |3 - 5| = 2 for both. */
    static const float p1[] = { 3 }, a1[] = { 5 };
    assert_close(call_ok(clv_metric_mae, 1, p1, a1, "mae1"), 2.0, TOL, "mae1");
    assert_close(call_ok(clv_metric_rmse, 1, p1, a1, "rmse1"), 2.0, TOL, "rmse1");
}
END_TEST

START_TEST(ref_r2)
{
    /* actual {1,3,2,5}: mean 2.75, SST = 1.75^2 + .25^2 + .75^2 + 2.25^2 = 8.75;
     * d = {0,-1,1,-1}, SSE = 3; R^2 = 1 - 3/8.75 = 0.657142857142857... */
    static const float p[] = { 1, 2, 3, 4 }, a[] = { 1, 3, 2, 5 };
    assert_close(call_ok(clv_metric_r2, 4, p, a, "r2"), 1.0 - 3.0 / 8.75, TOL, "r2");
    /* actual {2,2,6,2}: mean 3, SST = 1+1+9+1 = 12; SSE = 1+0+9+4 = 14: R^2 = -1/6. */
    static const float a2[] = { 2, 2, 6, 2 };
    assert_close(call_ok(clv_metric_r2, 4, p, a2, "r2 neg"), -1.0 / 6.0, TOL, "r2 neg");
    /* Perfect prediction: SSE = 0, R^2 = 1. */
    assert_close(call_ok(clv_metric_r2, 4, a, a, "r2 perfect"), 1.0, TOL, "r2 perfect");
}
END_TEST

START_TEST(ref_total_pct_error)
{
    /* sum pred 6, sum actual 8: 100 * (6 - 8) / 8 = -25. */
    static const float p[] = { 1, 2, 3 }, a[] = { 2, 2, 4 };
    assert_close(call_ok(clv_metric_total_pct_error, 3, p, a, "tot"), -25.0, TOL, "tot");
    /* sum pred 10: 100 * 2 / 8 = +25. */
    static const float p2[] = { 3, 3, 4 };
    assert_close(call_ok(clv_metric_total_pct_error, 3, p2, a, "tot2"), 25.0, TOL, "tot2");
}
END_TEST

/* ---- 2. Spearman --------------------------------------------------------- */

START_TEST(ref_spearman_ties)
{
    /* pred {1,2,2,3,4}: average ranks {1, 2.5, 2.5, 4, 5}
     * actual {10,30,20,30,40}: ranks {1, 3.5, 2, 3.5, 5}; both means 3.
     * centred p {-2,-.5,-.5,1,2}, centred a {-2,.5,-1,.5,2}
     * cov = 4 - .25 + .5 + .5 + 4 = 8.75; var_p = 4+.25+.25+1+4 = 9.5;
     * var_a = 4+.25+1+.25+4 = 9.5; rho = 8.75 / 9.5 = 0.92105263157894737.
     * (Breaking ties by position would give another value: p ranks {1,2,3,4,5}
     * and a ranks {1,3,2,4,5} give 0.9.) */
    static const float p[] = { 1, 2, 2, 3, 4 }, a[] = { 10, 30, 20, 30, 40 };
    assert_close(call_ok(clv_metric_spearman, 5, p, a, "sp"), 8.75 / 9.5, TOL, "sp");
    /* Symmetric in its arguments. */
    assert_close(call_ok(clv_metric_spearman, 5, a, p, "sp swap"), 8.75 / 9.5, TOL, "sp swap");
}
END_TEST

START_TEST(ref_spearman_perfect_reversed)
{
    static const float a[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
    float rev[NELEM(a)], scaled[NELEM(a)];
    for (size_t i = 0; i < NELEM(a); i++) {
        rev[i] = -a[i];
        scaled[i] = 2.0f * a[i] + 7.0f;
    }
    ck_assert(call_ok(clv_metric_spearman, NELEM(a), a, a, "perfect") == 1.0);
    ck_assert(call_ok(clv_metric_spearman, NELEM(a), scaled, a, "scaled") == 1.0);
    assert_close(call_ok(clv_metric_spearman, NELEM(a), rev, a, "reversed"), -1.0, TOL,
                 "reversed");
}
END_TEST

START_TEST(ref_spearman_signed_zero)
{
    /* -0 and +0 are equal, so they tie: p ranks {1.5, 1.5, 3} = a's ranks: rho = 1.
     * Treated as distinct, p ranks {1,2,3} would give 1.5 / sqrt(2 * 1.5) = 0.866. */
    static const float p[] = { -0.0f, 0.0f, 1.0f }, a[] = { 5, 5, 7 };
    assert_close(call_ok(clv_metric_spearman, 3, p, a, "zero"), 1.0, TOL, "zero");
}
END_TEST

/* ---- 3. normalised Gini -------------------------------------------------- */

/* pred {.9,.5,.5,.1}, actual {10,0,6,4}, total 20.
 * Model order (descending pred): 10 | tie block {0, 6} -> 3, 3 | 4.
 *   cumulative 10, 13, 16, 20 -> gain .5, .65, .8, 1; mean .7375; raw .475.
 * True order: 10, 6, 4, 0 -> cumulative 10, 16, 20, 20 -> gain .5,.8,1,1;
 *   mean .825; raw .65.  Normalised = .475 / .65 = 0.73076923076923...
 * Breaking the tie as {0, 6} would give raw .4 (0.615), as {6, 0} raw .55 (0.846). */
static const float g_pred[] = { 0.9f, 0.5f, 0.5f, 0.1f };
static const float g_act[] = { 10, 0, 6, 4 };

START_TEST(ref_gini_ties)
{
    double g = call_ok(clv_metric_gini_norm, 4, g_pred, g_act, "gini");
    assert_close(g, 0.475 / 0.65, TOL, "gini");
    /* Swap the two tied rows: the result must not move at all. */
    static const float p2[] = { 0.9f, 0.5f, 0.5f, 0.1f }, a2[] = { 10, 6, 0, 4 };
    ck_assert(call_ok(clv_metric_gini_norm, 4, p2, a2, "gini swapped") == g);
    /* Move the tied rows to other positions of the input as well. */
    static const float p3[] = { 0.5f, 0.1f, 0.9f, 0.5f }, a3[] = { 6, 4, 10, 0 };
    ck_assert(call_ok(clv_metric_gini_norm, 4, p3, a3, "gini moved") == g);
}
END_TEST

START_TEST(ref_gini_extremes)
{
    /* Perfect order (any increasing function of actual): raw equals the truth's: 1. */
    static const float perfect[] = { 100, 0, 60, 40 };
    assert_close(call_ok(clv_metric_gini_norm, 4, perfect, g_act, "perfect"), 1.0, TOL, "perfect");
    /* Reversed: 0, 4, 6, 10 -> cumulative 0, 4, 10, 20 -> gain 0,.2,.5,1; mean .425;
     * raw -.15; normalised -.15 / .65 = -0.2307692... */
    static const float rev[] = { -10, 0, -6, -4 };
    assert_close(call_ok(clv_metric_gini_norm, 4, rev, g_act, "reversed"), -0.15 / 0.65, TOL,
                 "reversed");
    /* Constant prediction: one tie block, every row counts 5: gain .25,.5,.75,1,
     * mean .625, raw = 1/n = .25 (the protocol's formula is not centred);
     * normalised .25 / .65 = 0.3846... */
    static const float cst[] = { 7, 7, 7, 7 };
    assert_close(call_ok(clv_metric_gini_norm, 4, cst, g_act, "const"), 0.25 / 0.65, TOL, "const");
    /* n = 1: raw = 2 * 1 - 1 = 1 for both orders. */
    static const float one[] = { 3 };
    assert_close(call_ok(clv_metric_gini_norm, 1, one, one, "n=1"), 1.0, TOL, "n=1");
}
END_TEST

/* ---- 4. AUC -------------------------------------------------------------- */

START_TEST(ref_auc_ties)
{
    /* positives score {.4, .8, .2}, negatives {.1, .4, .4}; 9 pairs:
     *   .4 vs .1 -> 1, vs .4 -> 1/2, vs .4 -> 1/2   = 2
     *   .8 beats all three                          = 3
     *   .2 beats .1 only                            = 1
     * AUC = 6 / 9 = 2/3. */
    static const float s[] = { 0.1f, 0.4f, 0.4f, 0.8f, 0.4f, 0.2f };
    static const float l[] = { 0, 1, 0, 1, 0, 1 };
    assert_close(call_ok(clv_metric_auc, 6, s, l, "auc"), 2.0 / 3.0, TOL, "auc");
    /* All scores equal: every pair ties: 1/2. */
    static const float flat[] = { 1, 1, 1, 1, 1, 1 };
    assert_close(call_ok(clv_metric_auc, 6, flat, l, "flat"), 0.5, TOL, "flat");
    /* Perfect separation 1, reversed 0. */
    static const float sep[] = { 0, 5, 1, 6, 2, 7 }, inv[] = { 9, 5, 8, 4, 7, 3 };
    assert_close(call_ok(clv_metric_auc, 6, sep, l, "sep"), 1.0, TOL, "sep");
    assert_close(call_ok(clv_metric_auc, 6, inv, l, "inv"), 0.0, TOL, "inv");
}
END_TEST

/* ---- 5. deciles ---------------------------------------------------------- */

static void expect_table(uint64_t n, const float *p, const float *a, const double *want_p,
                         const double *want_a, const uint64_t *want_c)
{
    double mp[CLV_DECILES], ma[CLV_DECILES];
    uint64_t c[CLV_DECILES];
    ck_assert_int_eq(clv_decile_table(n, p, a, mp, ma, c), CLV_OK);
    for (int k = 0; k < CLV_DECILES; k++) {
        ck_assert_msg(fabs(mp[k] - want_p[k]) < 1e-12, "n=%u bucket %d: mean pred %.17g, want %g",
                      (unsigned)n, k, mp[k], want_p[k]);
        ck_assert_msg(fabs(ma[k] - want_a[k]) < 1e-12,
                      "n=%u bucket %d: mean actual %.17g, want %g", (unsigned)n, k, ma[k],
                      want_a[k]);
        ck_assert_msg(c[k] == want_c[k], "n=%u bucket %d: count %u, want %u", (unsigned)n, k,
                      (unsigned)c[k], (unsigned)want_c[k]);
    }
    /* count may be NULL. */
    double mp2[CLV_DECILES], ma2[CLV_DECILES];
    ck_assert_int_eq(clv_decile_table(n, p, a, mp2, ma2, NULL), CLV_OK);
    ck_assert(memcmp(mp, mp2, sizeof mp) == 0 && memcmp(ma, ma2, sizeof ma) == 0);
}

START_TEST(ref_decile_n20)
{
    /* pred[i] = (19 - i) / 3 (integer division), actual[i] = i.
     * pred 0: rows 17,18,19   1: 14,15,16   2: 11,12,13   3: 8,9,10
     *      4: 5,6,7           5: 2,3,4      6: 0,1
     * Stable ascending order: 17 18 19 14 15 16 11 12 13 8 9 10 5 6 7 2 3 4 0 1
     * Buckets of 2: {17,18} {19,14} {15,16} {11,12} {13,8} {9,10} {5,6} {7,2}
     * {3,4} {0,1}. Bucket 1 = {19,14} only if tied rows keep input order. */
    float p[20], a[20];
    for (int i = 0; i < 20; i++) {
        p[i] = (float)((19 - i) / 3);
        a[i] = (float)i;
    }
    static const double wp[] = { 0, 0.5, 1, 2, 2.5, 3, 4, 4.5, 5, 6 };
    static const double wa[] = { 17.5, 16.5, 15.5, 11.5, 10.5, 9.5, 5.5, 4.5, 3.5, 0.5 };
    static const uint64_t wc[] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2 };
    expect_table(20, p, a, wp, wa, wc);
}
END_TEST

START_TEST(ref_decile_n23)
{
    /* pred[i] = i % 4, actual[i] = i. Bounds floor(23k/10) = 0,2,4,6,9,11,13,16,18,20,23:
     * sizes 2,2,2,3,2,2,3,2,2,3. Stable order: 0 4 8 12 16 20 | 1 5 9 13 17 21 |
     * 2 6 10 14 18 22 | 3 7 11 15 19.
     * {0,4} {8,12} {16,20} {1,5,9} {13,17} {21,2} {6,10,14} {18,22} {3,7} {11,15,19}
     * mean actual 2, 10, 18, 5, 15, 11.5, 10, 20, 5, 15
     * mean pred   0, 0, 0, 1, 1, 1.5, 2, 2, 3, 3 */
    float p[23], a[23];
    for (int i = 0; i < 23; i++) {
        p[i] = (float)(i % 4);
        a[i] = (float)i;
    }
    static const double wp[] = { 0, 0, 0, 1, 1, 1.5, 2, 2, 3, 3 };
    static const double wa[] = { 2, 10, 18, 5, 15, 11.5, 10, 20, 5, 15 };
    static const uint64_t wc[] = { 2, 2, 2, 3, 2, 2, 3, 2, 2, 3 };
    expect_table(23, p, a, wp, wa, wc);
}
END_TEST

START_TEST(ref_decile_mape)
{
    /* n = 10: one row per bucket. pred 1..10, actual {2,2,4,4,5,5,7,8,9,10}:
     * |1-2|/2 = .5, |3-4|/4 = .25, |6-5|/5 = .2, the rest 0: (.5+.25+.2)/10 = .095. */
    static const float p[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    static const float a[] = { 2, 2, 4, 4, 5, 5, 7, 8, 9, 10 };
    assert_close(call_ok(clv_metric_decile_mape, 10, p, a, "mape"), 0.095, TOL, "mape");
    /* Bucket 0 with mean actual 0 is skipped: (.25 + .2) / 9 = .05. */
    static const float a0[] = { 0, 2, 4, 4, 5, 5, 7, 8, 9, 10 };
    assert_close(call_ok(clv_metric_decile_mape, 10, p, a0, "mape0"), 0.05, TOL, "mape0");
    /* The n = 20 table above: |mp - ma| / ma per bucket =
     * 17.5/17.5, 16/16.5, 14.5/15.5, 9.5/11.5, 8/10.5, 6.5/9.5, 1.5/5.5, 0, 1.5/3.5, 5.5/.5
     * = 1 + .969697 + .935484 + .826087 + .761905 + .684211 + .272727 + 0 + .428571 + 11
     * = 16.878682; / 10 = 1.6878682. */
    float p20[20], a20[20];
    for (int i = 0; i < 20; i++) {
        p20[i] = (float)((19 - i) / 3);
        a20[i] = (float)i;
    }
    double want = (1.0 + 16.0 / 16.5 + 14.5 / 15.5 + 9.5 / 11.5 + 8.0 / 10.5 + 6.5 / 9.5 +
                   1.5 / 5.5 + 0.0 + 1.5 / 3.5 + 5.5 / 0.5) / 10.0;
    assert_close(want, 1.6878681786705705, 1e-15, "hand sum");
    assert_close(call_ok(clv_metric_decile_mape, 20, p20, a20, "mape20"), want, TOL, "mape20");
}
END_TEST

/* ---- 6. clv_metrics_compute ---------------------------------------------- */

START_TEST(compute_all)
{
    /* pred 1..10, actual {2,2,4,4,5,5,7,8,9,10} (n = 10):
     * d = {-1,0,-1,0,0,1,0,0,0,0}: MAE .3, RMSE sqrt(.3).
     * mean actual 5.6; SST = 2*3.6^2 + 2*1.6^2 + 2*.6^2 + 1.4^2 + 2.4^2 + 3.4^2 + 4.4^2
     *   = 25.92 + 5.12 + .72 + 1.96 + 5.76 + 11.56 + 19.36 = 70.4; R^2 = 1 - 3/70.4.
     * Spearman: p ranks 1..10, a ranks {1.5,1.5,3.5,3.5,5.5,5.5,7,8,9,10}, mean 5.5:
     *   cov = 81, var_p = 82.5, var_a = 81 -> rho = 81 / sqrt(82.5 * 81) = sqrt(81/82.5).
     * Gini: the model's order is the true order: 1.
     * Decile MAPE .095 (above). Total: 100 * (55 - 56) / 56 = -100/56. */
    static const float p[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    static const float a[] = { 2, 2, 4, 4, 5, 5, 7, 8, 9, 10 };
    clv_metrics m;
    clv_metrics_init(&m);
    ck_assert_uint_eq(m.struct_size, sizeof m);
    ck_assert(isnan(m.mae) && isnan(m.total_pct_error));
    ck_assert_int_eq(clv_metrics_compute(10, p, a, &m), CLV_OK);
    ck_assert_uint_eq(m.struct_size, sizeof m);
    assert_close(m.mae, 0.3, TOL, "mae");
    assert_close(m.rmse, sqrt(0.3), TOL, "rmse");
    assert_close(m.r2, 1.0 - 3.0 / 70.4, TOL, "r2");
    assert_close(m.spearman, sqrt(81.0 / 82.5), TOL, "spearman");
    assert_close(m.gini_norm, 1.0, TOL, "gini");
    assert_close(m.decile_mape, 0.095, TOL, "decile_mape");
    assert_close(m.total_pct_error, -100.0 / 56.0, TOL, "total");

    /* The Gini example (n = 4 < 10): decile MAPE undefined -> NaN, others set.
     * Spearman: p ranks {4, 2.5, 2.5, 1}, a ranks {4, 1, 3, 2}; centred
     * {1.5, 0, 0, -1.5} and {1.5, -1.5, .5, -.5}: cov = 2.25 + .75 = 3,
     * var_p = 4.5, var_a = 5 -> 3 / sqrt(22.5). */
    clv_metrics_init(&m);
    ck_assert_int_eq(clv_metrics_compute(4, g_pred, g_act, &m), CLV_OK);
    assert_close(m.gini_norm, 0.475 / 0.65, TOL, "gini4");
    assert_close(m.spearman, 3.0 / sqrt(22.5), TOL, "spearman4");
    ck_assert(isnan(m.decile_mape));
    ck_assert(!isnan(m.r2) && !isnan(m.mae));

    /* Constant actual: R^2 and Spearman undefined -> NaN, still CLV_OK. */
    static const float c[] = { 4, 4, 4, 4 };
    clv_metrics_init(&m);
    ck_assert_int_eq(clv_metrics_compute(4, g_pred, c, &m), CLV_OK);
    ck_assert(isnan(m.r2) && isnan(m.spearman));
    assert_close(m.mae, (fabs(0.9 - 4) + 2 * fabs(0.5 - 4) + fabs(0.1 - 4)) / 4, 1e-7, "mae c");
    /* Gini with a constant truth: every order is the true one up to ties: 1. */
    assert_close(m.gini_norm, 1.0, TOL, "gini c");

    /* Actual all zero: Gini and total undefined. */
    static const float z[] = { 0, 0, 0, 0 };
    clv_metrics_init(&m);
    ck_assert_int_eq(clv_metrics_compute(4, g_pred, z, &m), CLV_OK);
    ck_assert(isnan(m.gini_norm) && isnan(m.total_pct_error) && isnan(m.r2));
    assert_close(m.mae, 2.0 / 4.0, 1e-7, "mae z");
}
END_TEST

START_TEST(compute_struct_size)
{
    static const float p[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    static const float a[] = { 2, 2, 4, 4, 5, 5, 7, 8, 9, 10 };
    /* An older, shorter struct: only mae and rmse fit; nothing beyond is touched. */
    clv_metrics m;
    clv_metrics_init(&m);
    m.r2 = m.spearman = m.gini_norm = m.decile_mape = m.total_pct_error = SENTINEL;
    m.struct_size = (uint32_t)(offsetof(clv_metrics, rmse) + sizeof m.rmse);
    ck_assert_int_eq(clv_metrics_compute(10, p, a, &m), CLV_OK);
    ck_assert_uint_eq(m.struct_size, offsetof(clv_metrics, rmse) + sizeof m.rmse);
    assert_close(m.mae, 0.3, TOL, "mae");
    assert_close(m.rmse, sqrt(0.3), TOL, "rmse");
    ck_assert(m.r2 == SENTINEL && m.spearman == SENTINEL && m.gini_norm == SENTINEL &&
              m.decile_mape == SENTINEL && m.total_pct_error == SENTINEL);

    /* A newer, longer struct: the known fields are filled, the tail untouched. */
    struct {
        clv_metrics m;
        double future;
    } big;
    clv_metrics_init(&big.m);
    big.m.struct_size = (uint32_t)sizeof big;
    big.future = SENTINEL;
    ck_assert_int_eq(clv_metrics_compute(10, p, a, &big.m), CLV_OK);
    assert_close(big.m.total_pct_error, -100.0 / 56.0, TOL, "total big");
    ck_assert(big.future == SENTINEL);

    /* Too small to hold even mae: CLV_EINVAL, nothing written. */
    clv_metrics_init(&m);
    m.struct_size = 0;
    ck_assert_int_eq(clv_metrics_compute(10, p, a, &m), CLV_EINVAL);
    ck_assert(isnan(m.mae));
    ck_assert(strstr(clv_last_error(), "struct_size") != NULL);
    m.struct_size = (uint32_t)offsetof(clv_metrics, mae);
    ck_assert_int_eq(clv_metrics_compute(10, p, a, &m), CLV_EINVAL);
    clv_metrics_init(NULL); /* ignored */
}
END_TEST

/* ---- 7. bad arguments ---------------------------------------------------- */

static const struct {
    metric_fn f;
    const char *name;
    uint64_t min_n;
} pair_fns[] = {
    { clv_metric_mae, "clv_metric_mae", 1 },
    { clv_metric_rmse, "clv_metric_rmse", 1 },
    { clv_metric_r2, "clv_metric_r2", 1 },
    { clv_metric_spearman, "clv_metric_spearman", 1 },
    { clv_metric_gini_norm, "clv_metric_gini_norm", 1 },
    { clv_metric_decile_mape, "clv_metric_decile_mape", 10 },
    { clv_metric_total_pct_error, "clv_metric_total_pct_error", 1 },
    { clv_metric_auc, "clv_metric_auc", 1 },
};

/* Adapters so the table-driven checks also cover compute and the table. */
static int compute_fn(uint64_t n, const float *p, const float *a, double *out)
{
    clv_metrics m;
    clv_metrics_init(&m);
    int rc = clv_metrics_compute(n, p, a, out ? &m : NULL);
    if (rc == CLV_OK) *out = m.mae;
    return rc;
}

static int table_fn(uint64_t n, const float *p, const float *a, double *out)
{
    double mp[CLV_DECILES], ma[CLV_DECILES];
    int rc = clv_decile_table(n, p, a, out ? mp : NULL, ma, NULL);
    if (rc == CLV_OK) *out = mp[0];
    return rc;
}

START_TEST(bad_common)
{
    /* Valid data for every function (AUC's "actual" doubles as 0/1 labels). */
    float p[12], a[12];
    for (int i = 0; i < 12; i++) {
        p[i] = (float)i;
        a[i] = (float)(i % 2);
    }
    const struct {
        metric_fn f;
        const char *name;
    } extra[] = { { compute_fn, "clv_metrics_compute" }, { table_fn, "clv_decile_table" } };
    for (size_t k = 0; k < NELEM(pair_fns) + NELEM(extra); k++) {
        metric_fn f = k < NELEM(pair_fns) ? pair_fns[k].f : extra[k - NELEM(pair_fns)].f;
        const char *name = k < NELEM(pair_fns) ? pair_fns[k].name : extra[k - NELEM(pair_fns)].name;
        const char *second = f == clv_metric_auc ? "label" : "actual";
        const char *first = f == clv_metric_auc ? "score" : "pred";
        double v = SENTINEL;
        /* The valid call works. */
        ck_assert_msg(f(12, p, a, &v) == CLV_OK, "%s: valid call failed: %s", name,
                      clv_last_error());
        expect_einval(f, 0, p, a, "n is 0", name);
        expect_einval(f, (uint64_t)CLV_METRICS_MAX_N + 1, p, a, "CLV_METRICS_MAX_N", name);
        expect_einval(f, UINT64_MAX, p, a, "CLV_METRICS_MAX_N", name);
        expect_einval(f, 12, NULL, a, first, name);
        expect_einval(f, 12, p, NULL, second, name);
        clv_clear_error();
        ck_assert_msg(f(12, p, a, NULL) == CLV_EINVAL, "%s: NULL out accepted", name);
        ck_assert(strstr(clv_last_error(), "NULL") != NULL);
        /* Non-finite values name the array and the index. */
        char needle[32];
        float keep = p[7];
        p[7] = NAN;
        snprintf(needle, sizeof needle, "%s[7] is NaN", first);
        expect_einval(f, 12, p, a, needle, name);
        p[7] = -INFINITY;
        snprintf(needle, sizeof needle, "%s[7] is -Inf", first);
        expect_einval(f, 12, p, a, needle, name);
        p[7] = keep;
        keep = a[11];
        a[11] = INFINITY;
        snprintf(needle, sizeof needle, "%s[11] is +Inf", second);
        expect_einval(f, 12, p, a, needle, name);
        /* ... even beyond n? No: only the first n rows are read. */
        ck_assert_msg(f(11, p, a, &v) == CLV_OK, "%s: read past n", name);
        a[11] = keep;
        /* The function name leads the message. */
        expect_einval(f, 0, p, a, name, name);
    }
}
END_TEST

START_TEST(bad_undefined)
{
    static const float p[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    static const float cst[] = { 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
    static const float zero[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const float negsum[] = { 1, -2, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const float cancel[] = { 1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    /* R^2: SST = 0 (constant actual, or one row). */
    expect_einval(clv_metric_r2, 10, p, cst, "SST = 0", "r2 const");
    expect_einval(clv_metric_r2, 1, p, p, "SST = 0", "r2 n=1");
    /* Spearman: a constant side (or one row). */
    expect_einval(clv_metric_spearman, 10, p, cst, "actual value is equal", "sp const a");
    expect_einval(clv_metric_spearman, 10, cst, p, "prediction is equal", "sp const p");
    expect_einval(clv_metric_spearman, 1, p, p, "undefined", "sp n=1");
    /* Gini: total actual <= 0. */
    expect_einval(clv_metric_gini_norm, 10, p, zero, "sum to <= 0", "gini zero");
    expect_einval(clv_metric_gini_norm, 10, p, negsum, "sum to <= 0", "gini neg");
    /* Decile MAPE: n < 10 and every bucket mean actual 0. */
    expect_einval(clv_metric_decile_mape, 9, p, p, "need at least 10", "mape n=9");
    expect_einval(clv_metric_decile_mape, 10, p, zero, "mean actual value is 0", "mape zero");
    /* {1,-1} in one bucket: n = 20 puts rows 0,1 (pred 1,2) together: mean 0, all skipped. */
    float p20[20], c20[20];
    for (int i = 0; i < 20; i++) {
        p20[i] = (float)i;
        c20[i] = i < 2 ? cancel[i] : 0.0f;
    }
    expect_einval(clv_metric_decile_mape, 20, p20, c20, "mean actual value is 0", "mape cancel");
    /* Total % error: sum actual 0. */
    expect_einval(clv_metric_total_pct_error, 10, p, zero, "sum to 0", "tot zero");
    expect_einval(clv_metric_total_pct_error, 10, p, cancel, "sum to 0", "tot cancel");
    /* Decile table: n < 10, NULL outputs. */
    double mp[CLV_DECILES], ma[CLV_DECILES];
    ck_assert_int_eq(clv_decile_table(9, p, p, mp, ma, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_decile_table(10, p, p, NULL, ma, NULL), CLV_EINVAL);
    ck_assert(strstr(clv_last_error(), "mean_pred is NULL") != NULL);
    ck_assert_int_eq(clv_decile_table(10, p, p, mp, NULL, NULL), CLV_EINVAL);
    ck_assert(strstr(clv_last_error(), "mean_actual is NULL") != NULL);
}
END_TEST

START_TEST(bad_auc)
{
    static const float s[] = { 0.1f, 0.2f, 0.3f, 0.4f };
    static const float ones[] = { 1, 1, 1, 1 }, zeros[] = { 0, 0, 0, 0 };
    static const float two[] = { 0, 1, 2, 0 }, half[] = { 0, 1, 0.5f, 0 };
    static const float negone[] = { 0, 1, -1, 0 };
    expect_einval(clv_metric_auc, 4, s, ones, "only one class", "auc ones");
    expect_einval(clv_metric_auc, 4, s, zeros, "only one class", "auc zeros");
    expect_einval(clv_metric_auc, 1, s, ones, "only one class", "auc n=1");
    expect_einval(clv_metric_auc, 4, s, two, "label[2] is 2, not 0 or 1", "auc 2");
    expect_einval(clv_metric_auc, 4, s, half, "label[2] is 0.5", "auc .5");
    expect_einval(clv_metric_auc, 4, s, negone, "label[2] is -1", "auc -1");
    /* -0 is a 0 label: negatives {.1, .3}, positives {.2, .4}; .2 beats .1 only,
     * .4 beats both: 3 of 4 pairs. */
    static const float nz[] = { -0.0f, 1, -0.0f, 1 };
    assert_close(call_ok(clv_metric_auc, 4, s, nz, "auc -0"), 0.75, TOL, "auc -0");
}
END_TEST

/* ---- 8. properties on random data, against brute-force references ---------- */

/* Average ranks, O(n^2): 1 + #smaller + (#equal - 1) / 2. */
static void ref_ranks(const float *x, size_t n, double *r)
{
    for (size_t i = 0; i < n; i++) {
        size_t lt = 0, eq = 0;
        for (size_t j = 0; j < n; j++) {
            lt += x[j] < x[i];
            eq += x[j] == x[i];
        }
        r[i] = 1.0 + (double)lt + ((double)eq - 1.0) / 2.0;
    }
}

static double ref_spearman(const float *p, const float *a, size_t n)
{
    double *rp = malloc(n * sizeof *rp), *ra = malloc(n * sizeof *ra);
    ck_assert(rp && ra);
    ref_ranks(p, n, rp);
    ref_ranks(a, n, ra);
    double mp = 0, ma = 0, c = 0, vp = 0, va = 0;
    for (size_t i = 0; i < n; i++) {
        mp += rp[i] / (double)n;
        ma += ra[i] / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        c += (rp[i] - mp) * (ra[i] - ma);
        vp += (rp[i] - mp) * (rp[i] - mp);
        va += (ra[i] - ma) * (ra[i] - ma);
    }
    free(rp);
    free(ra);
    return c / sqrt(vp * va);
}

typedef struct gpair {
    double key, val;
} gpair;

static int by_key_desc(const void *x, const void *y)
{
    double a = ((const gpair *)x)->key, b = ((const gpair *)y)->key;
    return (a < b) - (a > b);
}

/* Raw Gini literally: replace each actual by the mean actual of its tie block
 * (O(n^2)), order by key descending (qsort; ties now carry equal values so
 * their order cannot matter), sum the gain curve. */
static double ref_raw_gini(const float *key, const float *a, size_t n)
{
    gpair *g = malloc(n * sizeof *g);
    ck_assert(g != NULL);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0, m = 0;
        for (size_t j = 0; j < n; j++)
            if (key[j] == key[i]) {
                s += a[j];
                m += 1;
            }
        g[i].key = key[i];
        g[i].val = s / m;
        total += a[i];
    }
    qsort(g, n, sizeof *g, by_key_desc);
    double cum = 0, gain = 0;
    for (size_t i = 0; i < n; i++) {
        cum += g[i].val;
        gain += cum / total;
    }
    free(g);
    return 2.0 * gain / (double)n - 1.0;
}

static double ref_auc(const float *s, const float *l, size_t n)
{
    double win = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (l[i] == 1.0f && l[j] == 0.0f) {
                pairs += 1;
                win += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    return win / pairs;
}

/* Random data with many ties: values rounded to one decimal, and spend with
 * about 40% zeros, like a holdout window. */
static void make_data(float *p, float *a, size_t n, uint32_t seed)
{
    clv_test_fill(p, n, seed, 0.0f, 5.0f);
    clv_test_fill(a, n, seed + 1000, -3.0f, 5.0f);
    for (size_t i = 0; i < n; i++) {
        p[i] = roundf(p[i] * 10.0f) / 10.0f;
        a[i] = a[i] < 0.0f ? 0.0f : roundf(a[i] * 4.0f) / 4.0f + 0.5f * p[i];
    }
}

START_TEST(prop_spearman)
{
    enum { N = 600 };
    static float p[N], a[N], mono[N], dec[N];
    for (uint32_t seed = 1; seed <= 4; seed++) {
        make_data(p, a, N, seed);
        double want = ref_spearman(p, a, N);
        double got = call_ok(clv_metric_spearman, N, p, a, "sp rand");
        assert_close(got, want, 1e-12, "spearman vs reference");
        /* Strictly increasing transform of pred (ties stay ties): unchanged;
         * a decreasing one flips the sign. */
        for (size_t i = 0; i < N; i++) {
            double x = p[i];
            mono[i] = (float)(exp(x) + x * x * x);
            dec[i] = (float)(-3.0 * x + 1.0);
        }
        assert_close(call_ok(clv_metric_spearman, N, mono, a, "sp mono"), got, 1e-12, "monotone");
        assert_close(call_ok(clv_metric_spearman, N, dec, a, "sp dec"), -got, 1e-12, "decreasing");
    }
}
END_TEST

START_TEST(prop_gini)
{
    enum { N = 600 };
    static float p[N], a[N], pp[N], pa[N], cst[N];
    for (uint32_t seed = 1; seed <= 4; seed++) {
        make_data(p, a, N, seed);
        double raw_true = ref_raw_gini(a, a, N);
        double want = ref_raw_gini(p, a, N) / raw_true;
        double got = call_ok(clv_metric_gini_norm, N, p, a, "gini rand");
        assert_close(got, want, 1e-10, "gini vs reference");
        ck_assert(got > 0.0 && got < 1.0);
        /* Reverse the input order (permutes the rows inside every tie block):
         * same value up to rounding of the block sums. */
        for (size_t i = 0; i < N; i++) {
            pp[i] = p[N - 1 - i];
            pa[i] = a[N - 1 - i];
        }
        assert_close(call_ok(clv_metric_gini_norm, N, pp, pa, "gini perm"), got, 1e-12, "perm");
        /* Perfect ranking: 1. */
        assert_close(call_ok(clv_metric_gini_norm, N, a, a, "gini perfect"), 1.0, 1e-12,
                     "perfect");
        /* Constant prediction: raw = 1/n exactly (not 0: the protocol's formula is
         * not centred), normalised (1/n) / raw_true, which vanishes as n grows. */
        for (size_t i = 0; i < N; i++) cst[i] = 2.5f;
        double g0 = call_ok(clv_metric_gini_norm, N, cst, a, "gini const");
        assert_close(g0, (1.0 / N) / raw_true, 1e-9, "const");
        ck_assert(fabs(g0) < 0.01);
    }
}
END_TEST

START_TEST(prop_auc)
{
    enum { N = 500 };
    static float s[N], l[N], u[N];
    for (uint32_t seed = 1; seed <= 4; seed++) {
        clv_test_fill(s, N, seed, 0.0f, 1.0f);
        clv_test_fill(u, N, seed + 77, 0.0f, 1.0f);
        for (size_t i = 0; i < N; i++) {
            s[i] = roundf(s[i] * 20.0f) / 20.0f; /* 21 distinct scores: many ties */
            l[i] = u[i] < 0.3f + 0.4f * s[i] ? 1.0f : 0.0f;
        }
        assert_close(call_ok(clv_metric_auc, N, s, l, "auc rand"), ref_auc(s, l, N), 1e-12,
                     "auc vs reference");
    }
}
END_TEST

START_TEST(prop_decile)
{
    enum { N = 537 };
    static float p[N], a[N];
    make_data(p, a, N, 9);
    double mp[CLV_DECILES], ma[CLV_DECILES];
    uint64_t c[CLV_DECILES];
    ck_assert_int_eq(clv_decile_table(N, p, a, mp, ma, c), CLV_OK);
    /* Reference: a row's stable position is #{smaller} + #{equal before it};
     * it belongs to bucket k when k*N/10 <= pos < (k+1)*N/10. */
    double sp[CLV_DECILES] = { 0 }, sa[CLV_DECILES] = { 0 };
    uint64_t cnt[CLV_DECILES] = { 0 };
    for (size_t i = 0; i < N; i++) {
        size_t pos = 0;
        for (size_t j = 0; j < N; j++) pos += p[j] < p[i] || (p[j] == p[i] && j < i);
        int k = 0;
        while ((size_t)(k + 1) * N / 10 <= pos) k++;
        sp[k] += p[i];
        sa[k] += a[i];
        cnt[k]++;
    }
    double mape = 0;
    for (int k = 0; k < CLV_DECILES; k++) {
        ck_assert_uint_eq(c[k], cnt[k]);
        assert_close(mp[k], sp[k] / (double)cnt[k], 1e-12, "mean pred");
        assert_close(ma[k], sa[k] / (double)cnt[k], 1e-12, "mean actual");
        ck_assert(ma[k] != 0.0);
        mape += fabs(sp[k] - sa[k]) / fabs(sa[k]) / 10.0;
    }
    assert_close(call_ok(clv_metric_decile_mape, N, p, a, "mape rand"), mape, 1e-12, "mape");
}
END_TEST

/* Large n: the sorts are linear and the sums compensated. pred = actual
 * shuffled by a multiplicative permutation, so both the value and the
 * orders are known exactly. */
START_TEST(large_n)
{
    const size_t n = 3000000;
    float *p = malloc(n * sizeof *p), *a = malloc(n * sizeof *a);
    ck_assert(p && a);
    for (size_t i = 0; i < n; i++) {
        size_t j = (i * 7919u) % n; /* 7919 is prime and does not divide n */
        a[i] = (float)(j % 1000);   /* 3000 rows per value: big tie blocks */
        p[i] = a[i] * 0.5f + 1.0f;
    }
    clv_metrics m;
    clv_metrics_init(&m);
    ck_assert_int_eq(clv_metrics_compute(n, p, a, &m), CLV_OK);
    assert_close(m.spearman, 1.0, 1e-12, "spearman");
    assert_close(m.gini_norm, 1.0, 1e-12, "gini");
    /* sum a = 3000 * (0 + ... + 999) = 3000 * 499500; sum p = sum a / 2 + n:
     * total % = 100 * (n - sum a / 2) / sum a. */
    double sa = 3000.0 * 499500.0;
    assert_close(m.total_pct_error, 100.0 * ((double)n - sa / 2.0) / sa, 1e-12, "total");
    /* |p - a| = |1 - a/2|: mean over a = 0..999 of |1 - a/2| = (1 + .5 + 0 + sum_{a=3}^{999} (a/2 - 1)) / 1000. */
    double mae = 1.5;
    for (int v = 3; v < 1000; v++) mae += v / 2.0 - 1.0;
    assert_close(m.mae, mae / 1000.0, 1e-12, "mae");
    free(p);
    free(a);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *ref = tcase_create("reference");
    tcase_add_test(ref, ref_mae_rmse);
    tcase_add_test(ref, ref_r2);
    tcase_add_test(ref, ref_total_pct_error);
    tcase_add_test(ref, ref_spearman_ties);
    tcase_add_test(ref, ref_spearman_perfect_reversed);
    tcase_add_test(ref, ref_spearman_signed_zero);
    tcase_add_test(ref, ref_gini_ties);
    tcase_add_test(ref, ref_gini_extremes);
    tcase_add_test(ref, ref_auc_ties);
    tcase_add_test(ref, ref_decile_n20);
    tcase_add_test(ref, ref_decile_n23);
    tcase_add_test(ref, ref_decile_mape);
    tcase_add_test(ref, compute_all);
    tcase_add_test(ref, compute_struct_size);
    suite_add_tcase(s, ref);

    TCase *bad = tcase_create("errors");
    tcase_add_test(bad, bad_common);
    tcase_add_test(bad, bad_undefined);
    tcase_add_test(bad, bad_auc);
    suite_add_tcase(s, bad);

    TCase *prop = tcase_create("properties");
    tcase_add_test(prop, prop_spearman);
    tcase_add_test(prop, prop_gini);
    tcase_add_test(prop, prop_auc);
    tcase_add_test(prop, prop_decile);
    tcase_add_test(prop, large_n);
    suite_add_tcase(s, prop);
    return s;
}

int main(void) { return clv_test_run(metrics_suite()); }
