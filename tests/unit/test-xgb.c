/* The xgboost baseline (lib/eval/xgb.c) on a synthetic CDNOW-like log:
 * sane predictions (finite, non-negative, ranking customers, totals of the
 * right size), bit-for-bit determinism, honesty (a log cut at the cutoff
 * gives identical predictions), and the backtest row. Without XGBoost in the
 * build, the model must refuse with CLV_ENOTSUP and say why. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clv/clv.h>

#include "eval/xgb.h"
#include "test-common.h"

enum { NCUST = 1000 };

/* The simulated log as CSV text; `cut` keeps only rows dated on or before 1997-09-30. */
static clv_txlog *sim_log(int cut)
{
    char dir[] = "/tmp/clv-xgb-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sim.csv", dir);
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = NCUST;
    so.seed = 11;
    ck_assert_int_eq(clv_simulate_to_csv(&so, path), CLV_OK);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char line[512];
    int header = 1;
    while (fgets(line, sizeof line, f)) {
        const char *comma = strchr(line, ',');
        if (!cut || header || (comma && strncmp(comma + 1, "1997-09-30", 10) <= 0)) fputs(line, out);
        header = 0;
    }
    fclose(f);
    fclose(out);
    unlink(path);
    rmdir(dir);
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, text, len, "sim", NULL), CLV_OK);
    free(text);
    return log;
}

#ifdef CLV_HAVE_XGBOOST

/* Defaults, with fewer rounds to keep the suite quick. */
static clv__xgb_options quick(void)
{
    clv__xgb_options o;
    clv__xgb_options_init(&o);
    o.max_rounds = 80;
    o.patience = 10;
    return o;
}

/* Customers and holdout truth at the cutoff, as the backtest sees them. */
static clv_dataset *truth(const clv_txlog *log, int32_t C, int32_t E)
{
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    po.norm = CLV_NORM_NONE;
    clv_pipeline *p;
    ck_assert_int_eq(clv_pipeline_new(&p, &po), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(p, log, C), CLV_OK);
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_transform(p, log, C, E, &ds), CLV_OK);
    clv_pipeline_free(p);
    return ds;
}


START_TEST(predictions_are_sane_deterministic_and_honest)
{
    const int32_t C = clv_test_day("1997-09-30"), E = clv_test_day("1998-06-30");
    const uint32_t H = (uint32_t)(E - C);
    clv_txlog *full = sim_log(0), *cut = sim_log(1);
    clv_dataset *ds = truth(full, C, E);
    const uint64_t n = clv_dataset_customers(ds);
    ck_assert_uint_eq(n, NCUST);
    float *sp = calloc(n, sizeof *sp), *tx = calloc(n, sizeof *tx), *pa = calloc(n, sizeof *pa);
    float *sp2 = calloc(n, sizeof *sp2), *tx2 = calloc(n, sizeof *tx2), *pa2 = calloc(n, sizeof *pa2);
    ck_assert(sp && tx && pa && sp2 && tx2 && pa2);
    clv__xgb_report rep;
    const clv__xgb_options o = quick();
    ck_assert_int_eq(clv__xgb_predict(full, C, H, &o, n, sp, tx, pa, &rep), CLV_OK);

    /* What was chosen, on the temporal validation split. */
    ck_assert_uint_eq(rep.windows, 6);
    ck_assert_uint_gt(rep.train_rows, 0);
    ck_assert_uint_gt(rep.valid_rows, 0);
    ck_assert(rep.spend_objective == 0 || rep.spend_objective == 1);
    ck_assert_uint_ge(rep.spend_rounds, 1);
    ck_assert_uint_ge(rep.tx_rounds, 1);
    ck_assert_uint_ge(rep.active_rounds, 1);
    ck_assert(isfinite(rep.valid_rmse_squared) && isfinite(rep.valid_rmse_tweedie));
    ck_assert_int_eq(rep.spend_objective, rep.valid_rmse_tweedie < rep.valid_rmse_squared);

    /* Sane: finite, non-negative, probabilities in [0, 1]. */
    double psum = 0, tsum = 0;
    for (uint64_t i = 0; i < n; i++) {
        ck_assert(isfinite(sp[i]) && sp[i] >= 0);
        ck_assert(isfinite(tx[i]) && tx[i] >= 0);
        ck_assert(isfinite(pa[i]) && pa[i] >= 0 && pa[i] <= 1);
        psum += sp[i];
        tsum += tx[i];
    }
    /* Totals of the right size and a real ranking of holdout spend. */
    clv_metrics m;
    clv_metrics_init(&m);
    ck_assert_int_eq(clv_metrics_compute(n, sp, clv_dataset_target_spend(ds), &m), CLV_OK);
    double atx = 0, auc;
    for (uint64_t i = 0; i < n; i++) atx += clv_dataset_target_transactions(ds)[i];
    ck_assert_double_gt(m.gini_norm, 0.4);
    ck_assert_double_gt(m.spearman, 0.25);
    ck_assert_double_lt(fabs(m.total_pct_error), 50);
    ck_assert_double_lt(fabs(100 * (tsum - atx) / atx), 50);
    ck_assert_int_eq(clv_metric_auc(n, pa, clv_dataset_target_active(ds), &auc), CLV_OK);
    ck_assert_double_gt(auc, 0.65);
    ck_assert_int_eq(clv_metric_auc(n, tx, clv_dataset_target_active(ds), &auc), CLV_OK);
    ck_assert_double_gt(auc, 0.65);
    fprintf(stderr, "xgb on %d synthetic customers: gini %.3f spearman %.3f spend %+.1f%% tx %+.1f%% (%s, rounds %u/%u/%u)\n",
            NCUST, m.gini_norm, m.spearman, m.total_pct_error, 100 * (tsum - atx) / atx,
            rep.spend_objective ? "tweedie" : "squared error", rep.spend_rounds, rep.tx_rounds, rep.active_rounds);
    (void)psum;

    /* Deterministic: the same bits again. */
    ck_assert_int_eq(clv__xgb_predict(full, C, H, &o, n, sp2, tx2, pa2, NULL), CLV_OK);
    ck_assert(memcmp(sp, sp2, n * sizeof *sp) == 0);
    ck_assert(memcmp(tx, tx2, n * sizeof *tx) == 0);
    ck_assert(memcmp(pa, pa2, n * sizeof *pa) == 0);

    /* Honest: the log cut at the cutoff gives the same predictions. */
    memset(sp2, 0, n * sizeof *sp2);
    ck_assert_int_eq(clv__xgb_predict(cut, C, H, &o, n, sp2, tx2, pa2, NULL), CLV_OK);
    ck_assert(memcmp(sp, sp2, n * sizeof *sp) == 0);
    ck_assert(memcmp(tx, tx2, n * sizeof *tx) == 0);
    ck_assert(memcmp(pa, pa2, n * sizeof *pa) == 0);

    /* The customer count must match the cutoff's. */
    ck_assert_int_eq(clv__xgb_predict(full, C, H, &o, n - 1, sp2, NULL, NULL, NULL), CLV_ESTATE);
    free(sp), free(tx), free(pa), free(sp2), free(tx2), free(pa2);
    clv_dataset_free(ds);
    clv_txlog_free(full);
    clv_txlog_free(cut);
}
END_TEST

/* Without the BTYD features and margins: plain trees on the examples still rank. */
START_TEST(plain_trees_rank)
{
    const int32_t C = clv_test_day("1997-09-30"), E = clv_test_day("1998-06-30");
    clv_txlog *log = sim_log(0);
    clv_dataset *ds = truth(log, C, E);
    const uint64_t n = clv_dataset_customers(ds);
    float *sp = calloc(n, sizeof *sp);
    clv__xgb_options o = quick();
    o.btyd_features = 0;
    o.threads = 1;
    ck_assert_int_eq(clv__xgb_predict(log, C, (uint32_t)(E - C), &o, n, sp, NULL, NULL, NULL), CLV_OK);
    clv_metrics m;
    clv_metrics_init(&m);
    ck_assert_int_eq(clv_metrics_compute(n, sp, clv_dataset_target_spend(ds), &m), CLV_OK);
    fprintf(stderr, "plain trees: gini %.3f spearman %.3f spend %+.1f%%\n", m.gini_norm, m.spearman, m.total_pct_error);
    ck_assert_double_gt(m.gini_norm, 0.4);
    o.eta = 0;
    ck_assert_int_eq(clv__xgb_predict(log, C, (uint32_t)(E - C), &o, n, sp, NULL, NULL, NULL), CLV_EINVAL);
    free(sp);
    clv_dataset_free(ds);
    clv_txlog_free(log);
}
END_TEST

START_TEST(available)
{
    ck_assert_int_eq(clv__xgb_built(), 1);
    ck_assert_int_eq(clv_backtest_model_available(CLV_BACKTEST_XGBOOST), CLV_OK);
}
END_TEST

/* A calibration window too short for two training cutoffs: the model
 * refuses (CLV_ESTATE), and the backtest simply has no xgboost row. */
START_TEST(short_calibration_drops_the_row)
{
    /* Everyone acquired in the first 20 days; calibration of 60 days: h = 30,
     * cutoffs C - 30 (28 days after the first day: kept) and C - 44 (not). */
    const int32_t C = clv_test_day("1997-03-02"), E = clv_test_day("1997-06-01");
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 500;
    so.seed = 5;
    so.acquisition_days = 20;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(&so, log), CLV_OK);
    clv_dataset *ds = truth(log, C, E);
    const uint64_t n = clv_dataset_customers(ds);
    float *sp = calloc(n, sizeof *sp);
    const clv__xgb_options o = quick();
    ck_assert_int_eq(clv__xgb_predict(log, C, (uint32_t)(E - C), &o, n, sp, NULL, NULL, NULL), CLV_ESTATE);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "need 2"));
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    fo.epochs = 1;
    fo.samples = 4;
    clv_backtest *bt;
    int brc = clv_backtest_run(log, C, E, &fo, NULL, NULL, &bt);
    ck_assert_msg(brc == CLV_OK, "backtest: %s", clv_last_error());
    ck_assert_uint_eq(clv_backtest_models(bt), 4);
    for (uint32_t k = 0; k < 4; k++) ck_assert_str_ne(clv_backtest_model_name(bt, k), "xgboost");
    clv_backtest_free(bt);
    free(sp);
    clv_dataset_free(ds);
    clv_txlog_free(log);
}
END_TEST

#else

START_TEST(available)
{
    ck_assert_int_eq(clv__xgb_built(), 0);
    ck_assert_int_eq(clv_backtest_model_available(CLV_BACKTEST_XGBOOST), CLV_ENOTSUP);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "without XGBoost"));
    clv_txlog *log = sim_log(0);
    float sp[1];
    ck_assert_int_eq(clv__xgb_predict(log, clv_test_day("1997-09-30"), 273, NULL, 1, sp, NULL, NULL, NULL), CLV_ENOTSUP);
    clv_txlog_free(log);
}
END_TEST

#endif

START_TEST(lookup)
{
    int32_t id = 0;
    ck_assert_int_eq(clv_backtest_model_lookup("xgboost", &id), CLV_OK);
    ck_assert_int_eq(id, CLV_BACKTEST_XGBOOST);
    ck_assert_int_eq(clv_backtest_model_lookup("gru", &id), CLV_OK);
    ck_assert_int_eq(id, CLV_BACKTEST_SEQUENCE);
    ck_assert_int_eq(clv_backtest_model_lookup("naive", &id), CLV_OK);
    ck_assert_int_eq(id, CLV_BACKTEST_NAIVE);
    ck_assert_int_eq(clv_backtest_model_lookup("xgb", &id), CLV_EINVAL);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "unknown model 'xgb'"));
    ck_assert_int_eq(clv_backtest_model_available(CLV_BACKTEST_NAIVE), CLV_OK);
    ck_assert_int_eq(clv_backtest_model_available(99), CLV_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xgb");
    TCase *tc = tcase_create("xgb");
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, available);
    tcase_add_test(tc, lookup);
#ifdef CLV_HAVE_XGBOOST
    tcase_add_test(tc, predictions_are_sane_deterministic_and_honest);
    tcase_add_test(tc, plain_trees_rank);
    tcase_add_test(tc, short_calibration_drops_the_row);
#endif
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
