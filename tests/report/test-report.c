/* The HTML report of a backtest (clv_backtest_write_report) and the data
 * behind its charts: the file's structure, escaping, one chart per kind and
 * model, tracking totals that agree with the backtest's own, the BTYD
 * population expectations against independent computations, and the atomic
 * write when a step fails. A small synthetic backtest with a small sequence
 * model keeps it quick (and cheap enough for the sanitizer builds). */
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clv/clv.h>

#include "../../lib/eval/backtest_impl.h"
#include "../../lib/io/container.h"
#include "test-common.h"

static clv_backtest *bt;
static clv_txlog *txlog;
static int32_t cutoff, end;
static char dir[] = "/tmp/clv-report-XXXXXX";

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 400;
    so.seed = 1;
    ck_assert_int_eq(clv_txlog_new(&txlog, NULL), CLV_OK);
    ck_assert_msg(clv_simulate_to_txlog(&so, txlog) == CLV_OK, "%s", clv_last_error());
    ck_assert_int_eq(clv_date_parse("1997-09-30", &cutoff), CLV_OK);
    ck_assert_int_eq(clv_date_parse("1998-06-30", &end), CLV_OK);
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    fo.hidden_size = 8;
    fo.max_epochs = 4;
    fo.ensemble = 2;
    fo.samples = 8;
    ck_assert_msg(clv_backtest_run(txlog, cutoff, end, &fo, NULL, NULL, &bt) == CLV_OK, "%s", clv_last_error());
}

static void teardown(void)
{
    clv_backtest_free(bt);
    bt = NULL;
    clv_txlog_free(txlog);
    txlog = NULL;
    DIR *d = opendir(dir);
    if (d) {
        char p[512];
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (e->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static int count(const char *s, const char *needle)
{
    int k = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle)) k++;
    return k;
}

/* Models with a horizon total and no weekly path. */
static int horizon_only(const char *name)
{
    return strcmp(name, "xgboost") == 0 || strcmp(name, "ziln") == 0;
}

START_TEST(structure_and_escaping)
{
    char path[600];
    snprintf(path, sizeof path, "%s/report.html", dir);
    const char *title = "<script>alert(\"x\")</script> & 'q'";
    ck_assert_msg(clv_backtest_write_report(bt, path, title) == CLV_OK, "%s", clv_last_error());
    char *html = slurp(path);
    ck_assert_msg(strncmp(html, "<!DOCTYPE html>", 15) == 0, "no doctype");
    ck_assert_ptr_nonnull(strstr(html, "</html>\n"));
    /* The title is text in <title> and <h1>, never markup. */
    ck_assert_int_eq(count(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"), 2);
    ck_assert_ptr_null(strstr(html, "<script"));
    /* Self-contained: nothing to fetch. */
    ck_assert_ptr_null(strstr(html, "src="));
    ck_assert_ptr_null(strstr(html, "href="));
    ck_assert_ptr_null(strstr(html, "@import"));
    /* One chart per kind, one decile chart per model. */
    const uint32_t m = clv_backtest_models(bt);
    ck_assert_uint_ge(m, 4);
    ck_assert_int_eq(count(html, "<svg "), 4 + (int)m);
    ck_assert_int_eq(count(html, "data-chart=\"learning-curve\""), 1);
    ck_assert_int_eq(count(html, "data-chart=\"deciles\""), (int)m);
    ck_assert_int_eq(count(html, "data-chart=\"gain\""), 1);
    ck_assert_int_eq(count(html, "data-chart=\"tracking\""), 1);
    ck_assert_int_eq(count(html, "data-chart=\"tracking-weekly\""), 1);
    ck_assert_int_eq(count(html, "<rect class=\"bar\""), 20 * (int)m);
    ck_assert_int_eq(count(html, "<table class=\"tracking\">"), 1);
    char actual_row[96];
    snprintf(actual_row, sizeof actual_row, "<td>actual</td><td>%.0f</td><td>%.0f</td>",
             bt->tr.actual_cum[bt->tr.cal_weeks], clv_backtest_actual_transactions(bt));
    ck_assert_msg(strstr(html, actual_row), "no row %s", actual_row);
    for (uint32_t k = 0; k < m; k++) {
        char want[96];
        snprintf(want, sizeof want, "data-chart=\"deciles\" data-model=\"%s\"", clv_backtest_model_name(bt, k));
        ck_assert_msg(strstr(html, want), "no decile chart for %s", clv_backtest_model_name(bt, k));
        /* gain, and the forecast from the cutoff in both tracking charts
         * (horizon-only models, xgboost and ziln: a point instead) */
        snprintf(want, sizeof want, "class=\"series\" data-model=\"%s\"", clv_backtest_model_name(bt, k));
        ck_assert_int_ge(count(html, want), horizon_only(clv_backtest_model_name(bt, k)) ? 1 : 3);
    }
    /* Numbers only: no NaN or Inf leaked into coordinates or the table. */
    ck_assert_ptr_null(strstr(html, "nan"));
    ck_assert_ptr_null(strstr(html, "inf<"));
    ck_assert_ptr_null(strstr(html, "inf,"));
    ck_assert_ptr_null(strstr(html, "points=\"\""));
    free(html);
}
END_TEST

/* The tracking series add up to the backtest's own totals. */
START_TEST(tracking_totals)
{
    const clv__tracking *tr = &bt->tr;
    ck_assert_uint_eq(tr->hold_weeks, 39);
    ck_assert_int_eq(tr->day[tr->cal_weeks], bt->cutoff);
    ck_assert_int_eq(tr->day[tr->grid - 1], bt->holdout_end);
    ck_assert_double_eq(tr->actual_cum[0], 0);
    for (uint32_t k = 1; k < tr->grid; k++) ck_assert(tr->actual_cum[k] >= tr->actual_cum[k - 1]);
    ck_assert_double_eq_tol(tr->actual_cum[tr->grid - 1] - tr->actual_cum[tr->cal_weeks],
                            clv_backtest_actual_transactions(bt), 1e-9);
    uint64_t cohort = 0;
    for (uint32_t j = 0; j < tr->nbirth; j++) cohort += tr->births[j];
    ck_assert_uint_eq(cohort, clv_backtest_customers(bt));
    for (uint32_t k = 0; k < clv_backtest_models(bt); k++) {
        const clv__bt_model *r = &bt->r[k];
        double total = 0;
        for (uint64_t i = 0; i < bt->n; i++) total += r->tx[i];
        if (horizon_only(r->name)) {
            ck_assert_ptr_null(r->hold_cum);
            continue;
        }
        ck_assert_msg(r->hold_cum != NULL, "%s has no weekly forecast", r->name);
        ck_assert_msg(fabs(r->hold_cum[tr->hold_weeks - 1] - total) <= 1e-4 * total + 1e-3,
                      "%s: weekly forecast ends at %g, horizon total %g", r->name, r->hold_cum[tr->hold_weeks - 1],
                      total);
        for (uint32_t w = 1; w < tr->hold_weeks; w++) ck_assert(r->hold_cum[w] >= r->hold_cum[w - 1] - 1e-9);
        const int btyd = strstr(r->name, "nbd_gg") != NULL;
        ck_assert_int_eq(r->pop_cum != NULL, btyd);
        if (btyd) {
            ck_assert_double_eq(r->pop_cum[0], 0);
            /* A fitted model tracks its own calibration data: within 25% at the cutoff. */
            ck_assert_msg(fabs(r->pop_cum[tr->cal_weeks] / tr->actual_cum[tr->cal_weeks] - 1) < 0.25,
                          "%s: expected %g repeat transactions by the cutoff, actual %g", r->name,
                          r->pop_cum[tr->cal_weeks], tr->actual_cum[tr->cal_weeks]);
        }
    }
    ck_assert_uint_ge(bt->nlc, 3);   /* early stopping run + 2 networks */
    ck_assert_uint_eq(bt->lc[0].run, 1);
    ck_assert(isfinite(bt->lc[0].valid));
    ck_assert(isnan(bt->lc[bt->nlc - 1].valid));
}
END_TEST

/* BG/NBD E[X(t)] as a one-dimensional integral over the dropout probability:
 * E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p, averaged over lambda ~
 * Gamma(r, alpha) gives (1 - (alpha / (alpha + p t))^r) / p; then over
 * p ~ Beta(a, b), with p = u^(1/a) to take away the p^(a-1) singularity. */
static double bgnbd_integral(const double *q, double t)
{
    const double r = q[0], alpha = q[1], a = q[2], b = q[3];
    const int N = 400000;
    double sum = 0;
    for (int k = 0; k < N; k++) {
        const double u = (k + 0.5) / N, p = pow(u, 1.0 / a);
        const double g = p > 1e-12 ? -expm1(-r * log1p(p * t / alpha)) / p : r * t / alpha;
        sum += pow(1.0 - p, b - 1.0) * g;
    }
    return sum / N / a / exp(lgamma(a) + lgamma(b) - lgamma(a + b));
}

START_TEST(population_expectations)
{
    const double bg[4] = { 0.243, 4.414, 0.793, 2.426 };   /* CDNOW, Fader, Hardie & Lee (2005) */
    const float t[4] = { 0.0f, 1.0f, 39.0f, 78.0f };
    float e[4];
    ck_assert_int_eq(clv_bgnbd_expected_population(bg, 4, t, e), CLV_OK);
    ck_assert_float_eq(e[0], 0.0f);
    for (int i = 1; i < 4; i++) {
        double want = bgnbd_integral(bg, t[i]);
        ck_assert_msg(fabs(e[i] - want) <= 2e-5 * want, "BG/NBD E[X(%g)] = %.7g, integral %.7g", (double)t[i], e[i],
                      want);
    }
    const double pn[4] = { 0.55, 10.58, 0.61, 11.67 };     /* CDNOW, Fader & Hardie (2005) */
    ck_assert_int_eq(clv_paretonbd_expected_population(pn, 4, t, e), CLV_OK);
    for (int i = 0; i < 4; i++) {
        double want = pn[0] * pn[3] / (pn[1] * (pn[2] - 1.0)) * (1.0 - pow(pn[3] / (pn[3] + t[i]), pn[2] - 1.0));
        ck_assert_msg(fabs(e[i] - want) <= 1e-6 * want + 1e-9, "Pareto/NBD E[X(%g)] = %.7g, want %.7g",
                      (double)t[i], e[i], want);
    }
    const double pn1[4] = { 0.55, 10.58, 1.0, 11.67 };    /* s = 1: the logarithmic limit */
    ck_assert_int_eq(clv_paretonbd_expected_population(pn1, 1, &t[2], e), CLV_OK);
    ck_assert_double_eq_tol(e[0], 0.55 * 11.67 / 10.58 * log1p(39.0 / 11.67), 1e-5);
    const float bad = -1.0f;
    ck_assert_int_eq(clv_bgnbd_expected_population(bg, 1, &bad, e), CLV_EINVAL);
    ck_assert_int_eq(clv_paretonbd_expected_population(pn, 1, &bad, e), CLV_EINVAL);
    ck_assert_int_eq(clv_bgnbd_expected_population(NULL, 1, t, e), CLV_EINVAL);
    const double pole[4] = { 0.243, 4.414, 1.0, 2.426 };
    ck_assert_int_eq(clv_bgnbd_expected_population(pole, 1, &t[1], e), CLV_ENUMERIC);
}
END_TEST

/* The weekly roll-out totals: as many weeks as the horizon covers, adding up
 * to the per-customer totals, and the same bits on any number of threads. */
START_TEST(weekly_rollout)
{
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    fo.hidden_size = 4;
    fo.epochs = 2;
    fo.ensemble = 1;
    fo.samples = 8;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &fo), CLV_OK);
    ck_assert_msg(clv_forecaster_fit(f, txlog, cutoff) == CLV_OK, "%s", clv_last_error());
    clv_prediction *p1, *p3;
    ck_assert_int_eq(clv_forecaster_predict(f, txlog, cutoff, 40, &p1), CLV_OK);   /* 5 weeks + 5 days */
    ck_assert_int_eq(clv_forecaster_set_threads(f, 3), CLV_OK);
    ck_assert_int_eq(clv_forecaster_predict(f, txlog, cutoff, 40, &p3), CLV_OK);
    uint32_t w1 = 0, w3 = 0;
    const float *a = clv_prediction_weekly_transactions(p1, &w1), *b = clv_prediction_weekly_transactions(p3, &w3);
    ck_assert_uint_eq(w1, 6);
    ck_assert_uint_eq(w3, 6);
    ck_assert_mem_eq(a, b, 6 * sizeof *a);
    double weekly = 0, total = 0;
    for (uint32_t w = 0; w < w1; w++) {
        ck_assert(a[w] > 0);
        weekly += a[w];
    }
    for (uint64_t i = 0; i < clv_prediction_customers(p1); i++) total += clv_prediction_transactions(p1)[i];
    ck_assert_msg(fabs(weekly - total) <= 1e-4 * total, "weeks add up to %g, customers to %g", weekly, total);
    /* The last week has 5 of 7 days. */
    ck_assert(a[5] < a[4]);
    ck_assert_ptr_null(clv_prediction_weekly_transactions(NULL, &w1));
    ck_assert_uint_eq(w1, 0);
    clv_prediction_free(p1);
    clv_prediction_free(p3);
    clv_forecaster_free(f);
}
END_TEST

START_TEST(atomic_write)
{
    char path[600], tmpl[700];
    snprintf(path, sizeof path, "%s/keep.html", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("old", f);
    fclose(f);
    clv__io_fail_step = CLV__IO_STEP_RENAME;
    int rc = clv_backtest_write_report(bt, path, "t");
    clv__io_fail_step = CLV__IO_STEP_NONE;
    ck_assert_int_eq(rc, CLV_EIO);
    ck_assert_msg(strstr(clv_last_error(), "cannot save report to") && strstr(clv_last_error(), path), "%s",
                  clv_last_error());
    char *s = slurp(path);
    ck_assert_str_eq(s, "old");
    free(s);
    /* No temporary file left behind. */
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) ck_assert_msg(!strstr(e->d_name, ".tmp."), "left %s", e->d_name);
    closedir(d);
    /* A short disk: the same. */
    clv__io_fail_after_bytes = 1000;
    rc = clv_backtest_write_report(bt, path, "t");
    clv__io_fail_after_bytes = UINT64_MAX;
    ck_assert_int_eq(rc, CLV_EIO);
    s = slurp(path);
    ck_assert_str_eq(s, "old");
    free(s);
    snprintf(tmpl, sizeof tmpl, "%s/no/such/dir/r.html", dir);
    ck_assert_int_eq(clv_backtest_write_report(bt, tmpl, NULL), CLV_EIO);
    ck_assert_int_eq(clv_backtest_write_report(NULL, path, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_backtest_write_report(bt, NULL, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_backtest_write_report(bt, "", NULL), CLV_EINVAL);
    /* And a successful write replaces it. */
    ck_assert_int_eq(clv_backtest_write_report(bt, path, NULL), CLV_OK);
    s = slurp(path);
    ck_assert_ptr_nonnull(strstr(s, "<h1>libclv backtest report</h1>"));
    free(s);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, structure_and_escaping);
    tcase_add_test(tc, tracking_totals);
    tcase_add_test(tc, population_expectations);
    tcase_add_test(tc, weekly_rollout);
    tcase_add_test(tc, atomic_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return clv_test_run(report_suite()); }
