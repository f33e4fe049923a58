/* clv_forecaster and clv_backtest on small synthetic logs: shapes and ranges
 * of predictions, determinism, bit-exact save/load, the no-future guarantee
 * (a model fitted on the full log is byte-identical to one fitted on the log
 * cut at the cutoff), cancellation, and the backtest's rows. */
#define _POSIX_C_SOURCE 200809L   /* mkstemp */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clv/clv.h>

#include "test-common.h"

static int32_t day(const char *s)
{
    int32_t d;
    ck_assert_int_eq(clv_date_parse(s, &d), CLV_OK);
    return d;
}

/* The generator's log, optionally only the rows on or before `upto`. */
static clv_txlog *synthetic(uint64_t customers, int32_t upto)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = customers;
    so.seed = 11;
    clv_txlog *full, *out;
    ck_assert_int_eq(clv_txlog_new(&full, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(&so, full), CLV_OK);
    if (upto == INT32_MAX) return full;
    /* Re-create the cut log through a CSV round trip filtered by date. */
    char path[] = "/tmp/clv-forecast-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(clv_simulate_to_csv(&so, path), CLV_OK);
    FILE *in = fopen(path, "r");
    ck_assert_ptr_nonnull(in);
    char *text = NULL;
    size_t len = 0, cap = 0;
    char line[256];
    while (fgets(line, sizeof line, in)) {
        char date[11] = { 0 };
        const char *comma = strchr(line, ',');
        if (comma && strlen(comma) > 11) memcpy(date, comma + 1, 10);
        int32_t d;
        int header = strncmp(line, "customer_id", 11) == 0;
        if (!header && (clv_date_parse(date, &d) != CLV_OK || d > upto)) continue;
        size_t n = strlen(line);
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            text = realloc(text, cap);
            ck_assert_ptr_nonnull(text);
        }
        memcpy(text + len, line, n);
        len += n;
    }
    fclose(in);
    unlink(path);
    close(fd);
    ck_assert_int_eq(clv_txlog_new(&out, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(out, text, len, "cut.csv", NULL), CLV_OK);
    free(text);
    clv_txlog_free(full);
    return out;
}

static clv_forecaster *fitted(const clv_txlog *log, int32_t cutoff)
{
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 3;
    o.samples = 16;
    o.hidden_size = 16;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(f, log, cutoff), CLV_OK);
    return f;
}

START_TEST(predictions_are_sane_and_deterministic)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = day("1997-09-30");
    clv_txlog *log = synthetic(600, INT32_MAX);
    clv_forecaster *f = fitted(log, cutoff), *g = fitted(log, cutoff);
    clv_prediction *p, *q;
    ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 91, &p), CLV_OK);
    ck_assert_int_eq(clv_forecaster_predict(g, log, cutoff, 91, &q), CLV_OK);
    const uint64_t n = clv_prediction_customers(p);
    ck_assert_uint_gt(n, 100);
    ck_assert_uint_eq(clv_prediction_horizon_days(p), 91);
    const float *sp = clv_prediction_spend(p), *tx = clv_prediction_transactions(p), *pa = clv_prediction_p_active(p);
    const float *lo = clv_prediction_spend_p10(p), *hi = clv_prediction_spend_p90(p);
    for (uint64_t i = 0; i < n; i++) {
        ck_assert(isfinite(sp[i]) && sp[i] >= 0 && tx[i] >= 0);
        ck_assert(pa[i] >= 0 && pa[i] <= 1);
        ck_assert(lo[i] <= hi[i]);
        /* No purchase on any path means no transactions and no spend. */
        if (pa[i] == 0) ck_assert(tx[i] == 0 && sp[i] == 0);
        ck_assert_ptr_nonnull(clv_prediction_customer_id(p, i));
    }
    ck_assert_mem_eq(sp, clv_prediction_spend(q), n * sizeof(float));
    ck_assert_mem_eq(pa, clv_prediction_p_active(q), n * sizeof(float));
    clv_prediction_free(p);
    clv_prediction_free(q);
    clv_forecaster_free(f);
    clv_forecaster_free(g);
    clv_txlog_free(log);
}
END_TEST

START_TEST(save_load_is_bit_exact)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = day("1997-09-30");
    clv_txlog *log = synthetic(300, INT32_MAX);
    clv_forecaster *f = fitted(log, cutoff), *g = NULL, *h = NULL;
    char path[] = "/tmp/clv-model-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(clv_forecaster_save(f, path), CLV_OK);
    ck_assert_int_eq(clv_forecaster_load(&g, path), CLV_OK);
    void *buf;
    size_t size;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, &buf, &size), CLV_OK);
    ck_assert_int_eq(clv_forecaster_load_buffer(&h, buf, size), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit_cutoff(g), cutoff);
    clv_prediction *a, *b, *c;
    ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 0, &a), CLV_OK);
    ck_assert_int_eq(clv_forecaster_predict(g, log, cutoff, 0, &b), CLV_OK);
    ck_assert_int_eq(clv_forecaster_predict(h, log, cutoff, 0, &c), CLV_OK);
    const uint64_t n = clv_prediction_customers(a);
    ck_assert_mem_eq(clv_prediction_spend(a), clv_prediction_spend(b), n * sizeof(float));
    ck_assert_mem_eq(clv_prediction_spend(a), clv_prediction_spend(c), n * sizeof(float));
    ck_assert_mem_eq(clv_prediction_p_active(a), clv_prediction_p_active(b), n * sizeof(float));
    /* A damaged copy is refused, never half-loaded. */
    ((unsigned char *)buf)[size / 2] ^= 0x40;
    clv_forecaster *bad = (clv_forecaster *)1;
    ck_assert_int_eq(clv_forecaster_load_buffer(&bad, buf, size), CLV_EFORMAT);
    ck_assert_ptr_null(bad);
    clv_free(buf);
    unlink(path);
    clv_prediction_free(a);
    clv_prediction_free(b);
    clv_prediction_free(c);
    clv_forecaster_free(f);
    clv_forecaster_free(g);
    clv_forecaster_free(h);
    clv_txlog_free(log);
}
END_TEST

/* PROTOCOL.md's honesty rule: what is fitted at a cutoff cannot depend on
 * rows dated after it, so the saved models are the same bytes. */
START_TEST(fit_reads_nothing_after_cutoff)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = day("1997-09-30");
    clv_txlog *full = synthetic(300, INT32_MAX), *cut = synthetic(300, cutoff);
    clv_forecaster *f = fitted(full, cutoff), *g = fitted(cut, cutoff);
    void *a, *b;
    size_t na, nb;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, &a, &na), CLV_OK);
    ck_assert_int_eq(clv_forecaster_save_buffer(g, &b, &nb), CLV_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(a, b, na);
    clv_free(a);
    clv_free(b);
    clv_forecaster_free(f);
    clv_forecaster_free(g);
    clv_txlog_free(full);
    clv_txlog_free(cut);
}
END_TEST

static int cancel_after_two(const clv_fit_progress *p, void *user)
{
    (*(int *)user)++;
    return p->epoch >= 2;
}

START_TEST(errors_and_cancel)
{
    clv_txlog *log = synthetic(200, INT32_MAX);
    clv_forecaster *f;
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.samples = 0;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_EINVAL);
    ck_assert(strstr(clv_last_error(), "samples") != NULL);
    clv_forecast_options_init(&o);
    o.epochs = 5;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    clv_prediction *p = (clv_prediction *)1;
    ck_assert_int_eq(clv_forecaster_predict(f, log, day("1997-09-30"), 0, &p), CLV_ESTATE);
    ck_assert_ptr_null(p);
    void *buf;
    size_t size;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, &buf, &size), CLV_ESTATE);
    ck_assert_int_eq(clv_forecaster_fit(f, log, day("1990-01-01")), CLV_ESTATE);
    int calls = 0;
    ck_assert_int_eq(clv_forecaster_set_callback(f, cancel_after_two, &calls), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(f, log, day("1997-09-30")), CLV_ECANCELED);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(clv_forecaster_is_fitted(f), 0);
    clv_forecaster_free(f);
    clv_forecaster_free(NULL);
    clv_prediction_free(NULL);
    clv_txlog_free(log);
}
END_TEST

START_TEST(backtest_rows)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_txlog *log = synthetic(500, INT32_MAX);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 2;
    o.samples = 8;
    clv_backtest *bt = NULL;
    ck_assert_int_eq(clv_backtest_run(log, day("1997-09-30"), day("1997-09-01"), &o, NULL, NULL, &bt), CLV_EINVAL);
    ck_assert_int_eq(clv_backtest_run(log, day("1997-09-30"), day("1998-06-30"), &o, NULL, NULL, &bt), CLV_OK);
    /* Plus "xgboost" when libclv was built with XGBoost. */
    const uint32_t nm = 4 + (clv_backtest_model_available(CLV_BACKTEST_XGBOOST) == CLV_OK);
    ck_assert_uint_eq(clv_backtest_models(bt), nm);
    const char *names[] = { "lstm", "bgnbd_gg", "paretonbd_gg", "naive", "xgboost" };
    const uint64_t n = clv_backtest_customers(bt);
    double sum = 0;
    const float *y = clv_backtest_actual_spend_per_customer(bt);
    for (uint64_t i = 0; i < n; i++) sum += y[i];
    ck_assert_double_eq_tol(sum, clv_backtest_actual_spend(bt), 1e-6 * sum + 1e-6);
    for (uint32_t k = 0; k < nm; k++) {
        ck_assert_str_eq(clv_backtest_model_name(bt, k), names[k]);
        clv_metrics m;
        clv_metrics_init(&m);
        double tmae, tpct, auc, secs;
        ck_assert_int_eq(clv_backtest_scores(bt, k, &m, &tmae, &tpct, &auc, &secs), CLV_OK);
        ck_assert(isfinite(m.rmse) && m.rmse >= 0 && isfinite(m.spearman) && isfinite(tmae) && isfinite(auc));
        /* The scores are those of the published predictions. */
        double rmse;
        ck_assert_int_eq(clv_metric_rmse(n, clv_backtest_pred_spend(bt, k), y, &rmse), CLV_OK);
        ck_assert_double_eq(rmse, m.rmse);
    }
    ck_assert_int_eq(clv_backtest_scores(bt, nm, NULL, NULL, NULL, NULL, NULL), CLV_EINVAL);
    clv_backtest_free(bt);
    clv_txlog_free(log);
}
END_TEST

/* Rows dated after the cutoff may sit anywhere in a file; the forecaster must
 * not depend on where. Here every later row comes first (in reverse), which
 * reorders the customers of the log completely. */
START_TEST(fit_ignores_row_order_after_cutoff)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = day("1997-09-30");
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 300;
    so.seed = 5;
    char path[] = "/tmp/clv-order-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(clv_simulate_to_csv(&so, path), CLV_OK);
    FILE *in = fopen(path, "r");
    ck_assert_ptr_nonnull(in);
    static char lines[20000][64];
    int n = 0, later[20000], nl = 0, early[20000], ne = 0;
    while (n < 20000 && fgets(lines[n], sizeof lines[n], in)) {
        if (n > 0) {
            char date[11] = { 0 };
            memcpy(date, strchr(lines[n], ',') + 1, 10);
            if (day(date) > cutoff) later[nl++] = n;
            else early[ne++] = n;
        }
        n++;
    }
    fclose(in);
    unlink(path);
    ck_assert_int_lt(n, 20000);
    ck_assert_int_gt(nl, 100);
    char *cut = calloc(1, 64 * (size_t)n), *full = calloc(1, 64 * (size_t)n);
    strcat(cut, lines[0]);
    strcat(full, lines[0]);
    for (int i = nl - 1; i >= 0; i--) strcat(full, lines[later[i]]);
    for (int i = 0; i < ne; i++) {
        strcat(cut, lines[early[i]]);
        strcat(full, lines[early[i]]);
    }
    clv_txlog *a, *b;
    ck_assert_int_eq(clv_txlog_new(&a, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_new(&b, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(a, full, strlen(full), "full.csv", NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(b, cut, strlen(cut), "cut.csv", NULL), CLV_OK);
    clv_forecaster *f = fitted(a, cutoff), *g = fitted(b, cutoff);
    void *x, *y;
    size_t nx, ny;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, &x, &nx), CLV_OK);
    ck_assert_int_eq(clv_forecaster_save_buffer(g, &y, &ny), CLV_OK);
    ck_assert_uint_eq(nx, ny);
    ck_assert_mem_eq(x, y, nx);
    /* And a customer's prediction does not depend on its row in the output. */
    clv_prediction *p, *q;
    ck_assert_int_eq(clv_forecaster_predict(f, a, cutoff, 91, &p), CLV_OK);
    ck_assert_int_eq(clv_forecaster_predict(f, b, cutoff, 91, &q), CLV_OK);
    ck_assert_uint_eq(clv_prediction_customers(p), clv_prediction_customers(q));
    for (uint64_t i = 0; i < clv_prediction_customers(q); i++) {
        uint64_t j = 0;
        while (strcmp(clv_prediction_customer_id(p, j), clv_prediction_customer_id(q, i)) != 0) j++;
        ck_assert_float_eq(clv_prediction_spend(p)[j], clv_prediction_spend(q)[i]);
    }
    clv_prediction_free(p);
    clv_prediction_free(q);
    clv_free(x);
    clv_free(y);
    free(cut);
    free(full);
    clv_forecaster_free(f);
    clv_forecaster_free(g);
    clv_txlog_free(a);
    clv_txlog_free(b);
}
END_TEST

/* forecast.h: predict takes a const forecaster and may run concurrently. */
typedef struct shared_predict {
    const clv_forecaster *f;
    const clv_txlog *log;
    int32_t at;
    const float *ref;
    uint64_t n;
    int mismatches;
} shared_predict;

static void *predict_many(void *arg)
{
    shared_predict *sp = arg;
    for (int k = 0; k < 3; k++) {
        clv_prediction *p;
        if (clv_forecaster_predict(sp->f, sp->log, sp->at, 91, &p) != CLV_OK ||
            clv_prediction_customers(p) != sp->n || memcmp(clv_prediction_spend(p), sp->ref, sp->n * sizeof(float)) != 0)
            __atomic_add_fetch(&sp->mismatches, 1, __ATOMIC_RELAXED);
        clv_prediction_free(p);
    }
    return NULL;
}

START_TEST(concurrent_predictions)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = day("1997-09-30");
    clv_txlog *log = synthetic(300, INT32_MAX);
    clv_forecaster *f = fitted(log, cutoff);
    clv_prediction *ref;
    ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 91, &ref), CLV_OK);
    shared_predict sp = { f, log, cutoff, clv_prediction_spend(ref), clv_prediction_customers(ref), 0 };
    pthread_t th[4];
    for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, predict_many, &sp), 0);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(sp.mismatches, 0);
    clv_prediction_free(ref);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("forecast");
    TCase *tc = tcase_create("forecast");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, predictions_are_sane_and_deterministic);
    tcase_add_test(tc, save_load_is_bit_exact);
    tcase_add_test(tc, fit_reads_nothing_after_cutoff);
    tcase_add_test(tc, errors_and_cancel);
    tcase_add_test(tc, backtest_rows);
    tcase_add_test(tc, fit_ignores_row_order_after_cutoff);
    tcase_add_test(tc, concurrent_predictions);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
