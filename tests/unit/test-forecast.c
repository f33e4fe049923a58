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

static clv_forecaster *fit_opts(const clv_forecast_options *o, const clv_txlog *log, int32_t cutoff)
{
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, o), CLV_OK);
    ck_assert_msg(clv_forecaster_fit(f, log, cutoff) == CLV_OK, "fit: %s", clv_last_error());
    return f;
}

static clv_forecaster *fitted(const clv_txlog *log, int32_t cutoff)
{
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 3;
    o.samples = 16;
    o.hidden_size = 16;
    o.ensemble = 2;   /* the ensemble's paths (two networks, pooled intervals, ME01 in the file) */
    clv_forecaster *f = fit_opts(&o, log, cutoff);
    return f;
}

START_TEST(predictions_are_sane_and_deterministic)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-09-30");
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
    const int32_t cutoff = clv_test_day("1997-09-30");
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
    const int32_t cutoff = clv_test_day("1997-09-30");
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
    ck_assert_int_eq(clv_forecaster_predict(f, log, clv_test_day("1997-09-30"), 0, &p), CLV_ESTATE);
    ck_assert_ptr_null(p);
    void *buf;
    size_t size;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, &buf, &size), CLV_ESTATE);
    ck_assert_int_eq(clv_forecaster_fit(f, log, clv_test_day("1990-01-01")), CLV_ESTATE);
    int calls = 0;
    ck_assert_int_eq(clv_forecaster_set_callback(f, cancel_after_two, &calls), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(f, log, clv_test_day("1997-09-30")), CLV_ECANCELED);
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
    o.ensemble = 1;
    clv_backtest *bt = NULL;
    ck_assert_int_eq(clv_backtest_run(log, clv_test_day("1997-09-30"), clv_test_day("1997-09-01"), &o, NULL, NULL, &bt), CLV_EINVAL);
    ck_assert_int_eq(clv_backtest_run(log, clv_test_day("1997-09-30"), clv_test_day("1998-06-30"), &o, NULL, NULL, &bt), CLV_OK);
    /* Plus "xgboost" when libclv was built with XGBoost, then "ziln". */
    const uint32_t nm = 5 + (clv_backtest_model_available(CLV_BACKTEST_XGBOOST) == CLV_OK);
    ck_assert_uint_eq(clv_backtest_models(bt), nm);
    const int xgb = clv_backtest_model_available(CLV_BACKTEST_XGBOOST) == CLV_OK;
    const char *names[] = { "lstm", "bgnbd_gg", "paretonbd_gg", "naive", xgb ? "xgboost" : "ziln", "ziln" };
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
        /* Only the sequence model has intervals; their coverage is a share. */
        double cov;
        ck_assert_int_eq(clv_backtest_interval_coverage(bt, k, &cov), CLV_OK);
        if (k == 0) ck_assert(cov >= 0 && cov <= 1);
        else ck_assert(isnan(cov));
    }
    double cov;
    ck_assert_int_eq(clv_backtest_interval_coverage(bt, nm, &cov), CLV_EINVAL);
    ck_assert_int_eq(clv_backtest_scores(bt, nm, NULL, NULL, NULL, NULL, NULL), CLV_EINVAL);
    /* Every fit identified its model: no penalty anywhere. */
    for (uint32_t k = 0; k < nm; k++) ck_assert(clv_backtest_model_penalty(bt, k) == 0.0);
    ck_assert(clv_backtest_model_penalty(bt, nm) == -1.0 && clv_backtest_model_penalty(NULL, 0) == -1.0);
    clv_backtest_free(bt);
    clv_txlog_free(log);
}
END_TEST

/* A log whose Pareto/NBD maximum likelihood runs off to infinity (strong
 * seasonality, a 92-day window: s and beta grow together, test-btyd's
 * paretonbd_fit_common_dropout_rate) still gets its comparison: the row is
 * fitted with the small penalty and says so, the other rows are as usual. */
START_TEST(backtest_penalises_a_btyd_fit_that_runs_off)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_txlog *log = clv_test_seasonal_log(200);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 2;
    o.samples = 8;
    o.ensemble = 1;
    clv_backtest *bt = NULL;
    ck_assert_int_eq(clv_backtest_run(log, clv_test_day("1997-06-30"), clv_test_day("1997-09-30"), &o, NULL, NULL, &bt), CLV_OK);
    int seen = 0;
    for (uint32_t k = 0; k < clv_backtest_models(bt); k++) {
        const char *name = clv_backtest_model_name(bt, k);
        const double pen = clv_backtest_model_penalty(bt, k);
        if (strcmp(name, "paretonbd_gg") == 0) {
            ck_assert_msg(pen == 1e-3, "paretonbd_gg penalty %g", pen);
            seen = 1;
        } else if (strcmp(name, "bgnbd_gg") != 0) {
            ck_assert_msg(pen == 0.0, "%s penalty %g", name, pen);
        }
        clv_metrics m;
        clv_metrics_init(&m);
        double tmae, tpct, auc, secs;
        ck_assert_int_eq(clv_backtest_scores(bt, k, &m, &tmae, &tpct, &auc, &secs), CLV_OK);
        ck_assert(isfinite(m.rmse) && isfinite(tpct));
    }
    ck_assert(seen);
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
    const int32_t cutoff = clv_test_day("1997-09-30");
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
            if (clv_test_day(date) > cutoff) later[nl++] = n;
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
    const int32_t cutoff = clv_test_day("1997-09-30");
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

/* Auto epochs: an early-stopping run on the held-out last weeks (finite
 * validation losses), stopped CLV__PATIENCE (3) passes after its best, then
 * a final run on every week with exactly the best run's number of passes. */
typedef struct epochs_seen {
    uint32_t n, epoch[256], total[256];
    double valid[256];
} epochs_seen;

static int record_epoch(const clv_fit_progress *p, void *user)
{
    epochs_seen *e = user;
    if (e->n < 256) {
        e->epoch[e->n] = p->epoch;
        e->total[e->n] = p->epochs;
        e->valid[e->n] = p->valid_loss;
        e->n++;
    }
    return 0;
}

START_TEST(early_stopping_picks_the_epochs)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_txlog *log = synthetic(400, INT32_MAX);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    ck_assert_uint_eq(o.epochs, 0);
    ck_assert_uint_eq(o.valid_weeks, 4);
    o.hidden_size = 8;
    o.samples = 4;
    o.max_epochs = 12;
    o.ensemble = 2;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    epochs_seen seen;
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(clv_forecaster_set_callback(f, record_epoch, &seen), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(f, log, clv_test_day("1997-09-30")), CLV_OK);
    /* The early-stopping run: epochs 1..k with finite validation losses. */
    uint32_t k = 0, best = 0;
    double best_loss = INFINITY;
    while (k < seen.n && isfinite(seen.valid[k])) {
        ck_assert_uint_eq(seen.epoch[k], k + 1);
        ck_assert_uint_eq(seen.total[k], 12);
        if (seen.valid[k] < best_loss * (1 - 1e-4)) {
            best_loss = seen.valid[k];
            best = k + 1;
        }
        k++;
    }
    ck_assert_uint_ge(k, 1);
    ck_assert(k == 12 || k == best + 3);
    /* The final runs, one per network: `best` passes each, no validation loss. */
    ck_assert_uint_eq(seen.n, k + 2 * best);
    for (uint32_t j = k; j < seen.n; j++) {
        ck_assert(isnan(seen.valid[j]));
        ck_assert_uint_eq(seen.total[j], best);
    }
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* Fitted forecasters that differ only in the number of Monte Carlo paths are
 * the same network (paths are not used in training). The means add up each
 * week's conditional expectation rather than the draws, so that what remains
 * of the Monte Carlo noise is the spread of the paths' histories; measured
 * here against 256 paths. P(active) is exact (one deterministic path). */
START_TEST(means_have_little_monte_carlo_noise)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-09-30");
    clv_txlog *log = synthetic(400, INT32_MAX);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 3;
    o.hidden_size = 16;
    o.ensemble = 1;
    clv_prediction *p[2];
    const uint32_t samples[2] = { 32, 256 };
    for (int k = 0; k < 2; k++) {
        o.samples = samples[k];
        clv_forecaster *f = fit_opts(&o, log, cutoff);
        ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 273, &p[k]), CLV_OK);
        clv_forecaster_free(f);
    }
    const uint64_t n = clv_prediction_customers(p[0]);
    const float *a = clv_prediction_spend(p[0]), *b = clv_prediction_spend(p[1]);
    const float *pa = clv_prediction_p_active(p[0]), *pb = clv_prediction_p_active(p[1]);
    double diff = 0, total = 0, total_few = 0, pdiff = 0;
    for (uint64_t i = 0; i < n; i++) {
        diff += fabs(a[i] - b[i]);
        total += b[i];
        total_few += a[i];
        /* P(active) comes from the path that never buys: no sampling at all. */
        pdiff = fmax(pdiff, fabs(pa[i] - pb[i]));
    }
    printf("spend: mean |32 paths - 256 paths| / mean = %.4f, totals differ by %.4f; P(active) max difference %.2g\n",
           diff / total, fabs(total_few - total) / total, pdiff);
    ck_assert_double_lt(diff / total, 0.15);
    ck_assert_double_lt(fabs(total_few - total) / total, 0.02);
    ck_assert_double_lt(pdiff, 1e-6);
    clv_prediction_free(p[0]);
    clv_prediction_free(p[1]);
    clv_txlog_free(log);
}
END_TEST

/* What BTYD users ask for: one-time buyers do not all get P(active) = 1, and
 * a purchase long ago means less than a recent one; customers with a single
 * purchase days before the cutoff get finite, positive predictions. */
typedef struct pair_af {
    double age, p;
} pair_af;

static int by_age(const void *a, const void *b)
{
    double x = ((const pair_af *)a)->age, y = ((const pair_af *)b)->age;
    return (x > y) - (x < y);
}

START_TEST(one_time_buyers_and_short_histories)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-09-30");
    clv_txlog *log = synthetic(600, INT32_MAX);
    /* Two newcomers: one purchase 3 days before the cutoff, one on it. */
    static const char extra[] = "customer_id,date,amount\nnew-a,1997-09-27,25.00\nnew-b,1997-09-30,40.00\n"
                                "old-c,1997-01-05,25.00\n";
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, extra, sizeof extra - 1, "extra.csv", NULL), CLV_OK);
    /* A trained model (auto epochs), not the 3-pass one of the other tests. */
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.hidden_size = 16;
    o.samples = 8;
    o.max_epochs = 20;
    o.ensemble = 1;
    clv_forecaster *f = fit_opts(&o, log, cutoff);
    clv_prediction *p;
    ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 273, &p), CLV_OK);
    clv_pipeline *pipe;
    ck_assert_int_eq(clv_pipeline_new(&pipe, NULL), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(pipe, log, cutoff), CLV_OK);
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_transform(pipe, log, cutoff, cutoff, &ds), CLV_OK);
    const uint64_t n = clv_prediction_customers(p);
    ck_assert_uint_eq(n, clv_dataset_customers(ds));
    const float *freq = clv_dataset_frequency(ds), *first_age = clv_dataset_age_days(ds);
    const float *pa = clv_prediction_p_active(p), *sp = clv_prediction_spend(p);
    double lo = 1, hi = 0, p_new = -1, p_old = -1;
    int found = 0;
    pair_af *one = calloc(n, sizeof *one);
    ck_assert_ptr_nonnull(one);
    size_t m = 0;
    for (uint64_t i = 0; i < n; i++) {
        const char *id = clv_prediction_customer_id(p, i);
        ck_assert_str_eq(id, clv_dataset_customer_id(ds, i));
        if (strncmp(id, "new-", 4) == 0) {
            ck_assert(isfinite(sp[i]) && sp[i] > 0);
            ck_assert(pa[i] > 0 && pa[i] < 1);
            found++;
        }
        if (strcmp(id, "new-a") == 0) p_new = pa[i];
        if (strcmp(id, "old-c") == 0) p_old = pa[i];
        if (freq[i] != 0) continue;
        ck_assert(pa[i] > 0 && pa[i] < 1);
        lo = fmin(lo, pa[i]);
        hi = fmax(hi, pa[i]);
        one[m].age = first_age[i];
        one[m].p = pa[i];
        m++;
    }
    ck_assert_int_eq(found, 2);
    ck_assert_uint_ge(m, 30);
    /* Youngest third against oldest third of the one-time buyers. */
    qsort(one, m, sizeof *one, by_age);
    double young = 0, old = 0;
    for (size_t k = 0; k < m / 3; k++) {
        young += one[k].p;
        old += one[m - 1 - k].p;
    }
    young /= m / 3;
    old /= m / 3;
    printf("%zu one-time buyers: P(active) %.3f..%.3f; youngest third %.3f (first purchase %.0f..%.0f days ago), "
           "oldest third %.3f (%.0f..%.0f days); $25 three days ago %.3f, $25 268 days ago %.3f\n", m, lo, hi, young,
           one[0].age, one[m / 3 - 1].age, old, one[m - m / 3].age, one[m - 1].age, p_new, p_old);
    ck_assert_double_gt(hi - lo, 0.05);
    ck_assert_double_gt(p_new, p_old);
    free(one);
    clv_dataset_free(ds);
    clv_pipeline_free(pipe);
    clv_prediction_free(p);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* An ensemble of E networks predicts the average of E single networks with
 * seeds seed .. seed + E - 1 (same passes): the same initialisation,
 * shuffling and Monte Carlo streams, member by member. */
START_TEST(ensemble_is_the_average_of_its_networks)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-09-30");
    clv_txlog *log = synthetic(300, INT32_MAX);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    ck_assert_uint_eq(o.ensemble, 3);
    o.epochs = 2;
    o.hidden_size = 8;
    o.samples = 8;
    o.seed = 7;
    clv_prediction *single[3], *all;
    for (int k = 0; k < 3; k++) {
        o.ensemble = 1;
        o.seed = 7 + (uint64_t)k;
        clv_forecaster *f = fit_opts(&o, log, cutoff);
        ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 182, &single[k]), CLV_OK);
        clv_forecaster_free(f);
    }
    o.ensemble = 3;
    o.seed = 7;
    clv_forecaster *f = fit_opts(&o, log, cutoff);
    ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 182, &all), CLV_OK);
    const uint64_t n = clv_prediction_customers(all);
    double worst = 0;
    for (uint64_t i = 0; i < n; i++) {
        double sp = 0, tx = 0, pa = 0;
        for (int k = 0; k < 3; k++) {
            sp += clv_prediction_spend(single[k])[i] / 3.0;
            tx += clv_prediction_transactions(single[k])[i] / 3.0;
            pa += clv_prediction_p_active(single[k])[i] / 3.0;
        }
        worst = fmax(worst, fabs(sp - clv_prediction_spend(all)[i]) / (1.0 + sp));
        worst = fmax(worst, fabs(tx - clv_prediction_transactions(all)[i]) / (1.0 + tx));
        worst = fmax(worst, fabs(pa - clv_prediction_p_active(all)[i]));
    }
    ck_assert_double_lt(worst, 1e-5);
    for (int k = 0; k < 3; k++) clv_prediction_free(single[k]);
    clv_prediction_free(all);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* Explanations: the explained value is the first week's expected spend (a
 * 7-day prediction has no sampled week before it, so the two agree), and the
 * integrated-gradients attributions add up to value - baseline. */
START_TEST(explanations_add_up)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-09-30");
    clv_txlog *log = synthetic(400, INT32_MAX);
    clv_forecaster *f = fitted(log, cutoff);
    clv_prediction *p;
    ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 7, &p), CLV_OK);
    int explained = 0;
    double worst = 0;
    for (uint64_t i = 0; i < clv_prediction_customers(p); i += 37) {
        const char *id = clv_prediction_customer_id(p, i);
        clv_explanation *e;
        ck_assert_int_eq(clv_forecaster_explain(f, log, cutoff, id, &e), CLV_OK);
        const uint32_t W = clv_explanation_weeks(e), K = clv_explanation_inputs(e);
        ck_assert_uint_eq(K, 12);
        ck_assert_uint_ge(W, 1);
        ck_assert_str_eq(clv_explanation_input_name(e, 0), "transactions");
        ck_assert_ptr_null(clv_explanation_input_name(e, K));
        const double v = clv_explanation_value(e), b = clv_explanation_baseline(e);
        ck_assert_double_eq_tol(v, clv_prediction_spend(p)[i], 1e-4 * v + 1e-4);
        double sum = 0;
        const float *a = clv_explanation_attributions(e);
        for (uint32_t k = 0; k < W * K; k++) {
            ck_assert(isfinite(a[k]));
            sum += a[k];
        }
        worst = fmax(worst, fabs(sum - (v - b)) / (fabs(v - b) + 1e-3));
        clv_explanation_free(e);
        explained++;
    }
    printf("explanations: %d customers, completeness error at most %.2g of value - baseline\n", explained, worst);
    ck_assert_double_lt(worst, 0.02);
    clv_explanation *e = (clv_explanation *)1;
    ck_assert_int_eq(clv_forecaster_explain(f, log, cutoff, "no-such-customer", &e), CLV_EINVAL);
    ck_assert_ptr_null(e);
    ck_assert(strstr(clv_last_error(), "no-such-customer") != NULL);
    clv_explanation_free(NULL);
    clv_prediction_free(p);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* Prediction threads split the customers; nothing else changes. */
START_TEST(prediction_threads_change_no_bit)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-09-30");
    clv_txlog *log = synthetic(700, INT32_MAX);
    clv_forecaster *f = fitted(log, cutoff);   /* 16 paths: 512 customers per chunk, two chunks */
    ck_assert_int_eq(clv_forecaster_threads(f), 1);
    clv_prediction *p[3];
    const int32_t threads[3] = { 1, 2, 5 };
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(clv_forecaster_set_threads(f, threads[k]), CLV_OK);
        ck_assert_int_eq(clv_forecaster_predict(f, log, cutoff, 91, &p[k]), CLV_OK);
    }
    const uint64_t n = clv_prediction_customers(p[0]);
    ck_assert_uint_gt(n, 512);
    for (int k = 1; k < 3; k++) {
        ck_assert_mem_eq(clv_prediction_spend(p[0]), clv_prediction_spend(p[k]), n * sizeof(float));
        ck_assert_mem_eq(clv_prediction_transactions(p[0]), clv_prediction_transactions(p[k]), n * sizeof(float));
        ck_assert_mem_eq(clv_prediction_p_active(p[0]), clv_prediction_p_active(p[k]), n * sizeof(float));
        ck_assert_mem_eq(clv_prediction_spend_p10(p[0]), clv_prediction_spend_p10(p[k]), n * sizeof(float));
        ck_assert_mem_eq(clv_prediction_spend_p90(p[0]), clv_prediction_spend_p90(p[k]), n * sizeof(float));
    }
    ck_assert_int_eq(clv_forecaster_set_threads(f, 0), CLV_EINVAL);
    ck_assert_int_eq(clv_forecaster_set_threads(f, 65), CLV_EINVAL);
    ck_assert_int_eq(clv_forecaster_set_threads(NULL, 2), CLV_EINVAL);
    for (int k = 0; k < 3; k++) clv_prediction_free(p[k]);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* Whatever a fit saves, the loader takes back: amounts in a small currency
 * unit (x 1e7) make Gamma-Gamma's gamma exceed 1e8, once refused at load
 * (found in review). */
START_TEST(large_currency_units_save_and_load)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 300;
    so.seed = 3;
    char path[] = "/tmp/clv-forecast-big-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(clv_simulate_to_csv(&so, path), CLV_OK);
    FILE *in = fopen(path, "r");
    ck_assert_ptr_nonnull(in);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap), line[256];
    ck_assert_ptr_nonnull(text);
    while (fgets(line, sizeof line, in)) {
        char id[64], date[16], event[16];
        double amount, qty;
        if (sscanf(line, "%63[^,],%15[^,],%lf,%lf,%15s", id, date, &amount, &qty, event) == 5)
            snprintf(line, sizeof line, "%s,%s,%.2f,%g,%s\n", id, date, amount * 1e7, qty, event);
        size_t n = strlen(line);
        if (len + n + 1 > cap) {
            cap *= 2;
            text = realloc(text, cap);
            ck_assert_ptr_nonnull(text);
        }
        memcpy(text + len, line, n);
        len += n;
    }
    fclose(in);
    unlink(path);
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, text, len, "big.csv", NULL), CLV_OK);
    free(text);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 1;
    o.hidden_size = 4;
    o.samples = 4;
    o.ensemble = 1;
    clv_forecaster *f = fit_opts(&o, log, clv_test_day("1997-09-30")), *g;
    void *buf;
    size_t size;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, &buf, &size), CLV_OK);
    ck_assert_msg(clv_forecaster_load_buffer(&g, buf, size) == CLV_OK, "%s", clv_last_error());
    clv_prediction *p;
    ck_assert_int_eq(clv_forecaster_predict(g, log, clv_test_day("1997-09-30"), 91, &p), CLV_OK);
    for (uint64_t i = 0; i < clv_prediction_customers(p); i++) ck_assert(isfinite(clv_prediction_spend(p)[i]));
    clv_prediction_free(p);
    clv_free(buf);
    clv_forecaster_free(g);
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
    tcase_add_test(tc, backtest_penalises_a_btyd_fit_that_runs_off);
    tcase_add_test(tc, fit_ignores_row_order_after_cutoff);
    tcase_add_test(tc, concurrent_predictions);
    tcase_add_test(tc, early_stopping_picks_the_epochs);
    tcase_add_test(tc, means_have_little_monte_carlo_noise);
    tcase_add_test(tc, one_time_buyers_and_short_histories);
    tcase_add_test(tc, ensemble_is_the_average_of_its_networks);
    tcase_add_test(tc, explanations_add_up);
    tcase_add_test(tc, prediction_threads_change_no_bit);
    tcase_add_test(tc, large_currency_units_save_and_load);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
