/* The honest backtest: all models fitted on data up to the cutoff, scored
 * on the holdout. See include/clv/backtest.h. */
#include <math.h>
#include <string.h>

#include "../btyd/btyd_impl.h"
#include "backtest_impl.h"
#include "xgb.h"
#include "ziln.h"

#define NMODELS CLV__BT_MODELS

typedef clv__bt_model model_result;

CLV_API void clv_backtest_free(clv_backtest *bt)
{
    if (!bt) return;
    for (int k = 0; k < NMODELS; k++) {
        clv__free(bt->r[k].spend);
        clv__free(bt->r[k].tx);
        clv__free(bt->r[k].score);
        clv__free(bt->r[k].lo);
        clv__free(bt->r[k].hi);
        clv__free(bt->r[k].hold_cum);
        clv__free(bt->r[k].pop_cum);
    }
    clv__free(bt->lc);
    clv__tracking_free(&bt->tr);
    clv__free(bt->y_spend);
    clv__free(bt->y_tx);
    clv__free(bt->y_active);
    clv__free(bt);
}

static float *floats(uint64_t n) { return clv__calloc(n ? (size_t)n : 1, sizeof(float)); }

/* The fit callback of the backtest: records the learning curve, then
 * passes the progress on to the caller's callback. */
typedef struct lc_recorder {
    clv_backtest *bt;
    clv_fit_callback cb;
    void *user;
    uint32_t run;
    int oom;
} lc_recorder;

static int record_epoch(const clv_fit_progress *p, void *ctx)
{
    lc_recorder *rec = ctx;
    clv_backtest *bt = rec->bt;
    if (p->epoch == 1) rec->run++;
    if (clv__grow((void **)&bt->lc, &bt->lc_cap, bt->nlc + 1, sizeof *bt->lc) != CLV_OK) {
        rec->oom = 1;
        return 1;   /* stops the fit; reported as CLV_ENOMEM below */
    }
    bt->lc[bt->nlc++] = (clv__lc_point){ rec->run, p->epoch, p->train_loss, p->valid_loss };
    return rec->cb ? rec->cb(p, rec->user) : 0;
}

/* Cumulative sums of weekly values into the holdout grid. */
static int cumulate(const float *week, uint32_t weeks, double **out)
{
    double *c = clv__calloc(weeks ? weeks : 1, sizeof *c);
    if (!c) return clv__oom();
    double sum = 0;
    for (uint32_t w = 0; w < weeks; w++) c[w] = sum += week[w];
    *out = c;
    return CLV_OK;
}

static int run_forecaster(clv_backtest *bt, model_result *r, const clv_txlog *log, int32_t cutoff,
                          uint32_t horizon, const clv_forecast_options *fopts, clv_fit_callback cb, void *user)
{
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    if (fopts) {
        CLV__CHECK_ARG(fopts->struct_size >= offsetof(clv_forecast_options, cell) + sizeof fopts->cell,
                       "clv_backtest_run: forecast options struct_size %u is too small; call clv_forecast_options_init()",
                       fopts->struct_size);
        memcpy(&o, fopts, fopts->struct_size < sizeof o ? fopts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    o.horizon_days = horizon;
    r->name = o.cell == CLV_CELL_GRU ? "gru" : "lstm";
    clv_forecaster *f;
    CLV__TRY(clv_forecaster_new(&f, &o));
    lc_recorder rec = { bt, cb, user, 0, 0 };
    int rc = clv_forecaster_set_callback(f, record_epoch, &rec);
    if (rc == CLV_OK) rc = clv_forecaster_fit(f, log, cutoff);
    if (rec.oom) rc = clv__oom();
    clv_prediction *p = NULL;
    if (rc == CLV_OK) rc = clv_forecaster_predict(f, log, cutoff, horizon, &p);
    if (rc == CLV_OK && clv_prediction_customers(p) != bt->n)
        rc = clv__error(CLV_ESTATE, "clv_backtest_run: the forecaster predicted %llu customers, expected %llu",
                        (unsigned long long)clv_prediction_customers(p), (unsigned long long)bt->n);
    if (rc == CLV_OK) {
        memcpy(r->spend, clv_prediction_spend(p), bt->n * sizeof(float));
        memcpy(r->tx, clv_prediction_transactions(p), bt->n * sizeof(float));
        memcpy(r->score, clv_prediction_p_active(p), bt->n * sizeof(float));
        r->lo = floats(bt->n);
        r->hi = floats(bt->n);
        if (!r->lo || !r->hi) rc = clv__oom();
    }
    if (rc == CLV_OK) {
        memcpy(r->lo, clv_prediction_spend_p10(p), bt->n * sizeof(float));
        memcpy(r->hi, clv_prediction_spend_p90(p), bt->n * sizeof(float));
        uint32_t weeks;
        const float *week = clv_prediction_weekly_transactions(p, &weeks);
        rc = weeks == bt->tr.hold_weeks ? cumulate(week, weeks, &r->hold_cum)
                                        : clv__error(CLV_ESTATE, "clv_backtest_run: %u roll-out weeks, expected %u",
                                                     weeks, bt->tr.hold_weeks);
    }
    clv_prediction_free(p);
    clv_forecaster_free(f);
    return rc;
}

/* The BTYD tracking curves: the conditional expectation of all customers up
 * to every holdout grid day, evaluated once per distinct (x, t_x, T) (CDNOW:
 * 23570 customers, a few thousand groups), and the classic unconditional
 * curve over the whole span. */
static int btyd_tracking(clv_backtest *bt, model_result *r, int pareto, const double params[4], const float *x,
                         const float *tx_w, const float *T_w)
{
    const clv__tracking *tr = &bt->tr;
    r->hold_cum = clv__calloc(tr->hold_weeks, sizeof *r->hold_cum);
    r->pop_cum = clv__calloc(tr->grid, sizeof *r->pop_cum);
    clv__rft *g = NULL;
    uint64_t m = 0;
    int rc = r->hold_cum && r->pop_cum ? clv__btyd_group(bt->n, x, tx_w, T_w, &g, &m) : clv__oom();
    float *gx = NULL, *gt = NULL, *gT = NULL, *e = NULL;
    if (rc == CLV_OK) {
        gx = floats(m), gt = floats(m), gT = floats(m), e = floats(m);
        if (!gx || !gt || !gT || !e) rc = clv__oom();
    }
    for (uint64_t j = 0; rc == CLV_OK && j < m; j++) {
        gx[j] = (float)g[j].x;   /* the grouped values came from these floats: exact */
        gt[j] = (float)g[j].t_x;
        gT[j] = (float)g[j].T;
    }
    for (uint32_t w = 1; rc == CLV_OK && w <= tr->hold_weeks; w++) {
        const double h = (tr->day[tr->cal_weeks + w] - bt->cutoff) / 7.0;
        rc = pareto ? clv_paretonbd_expected(params, m, gx, gt, gT, h, e, NULL)
                    : clv_bgnbd_expected(params, m, gx, gt, gT, h, e, NULL);
        double sum = 0;
        for (uint64_t j = 0; rc == CLV_OK && j < m; j++) sum += g[j].w * e[j];
        r->hold_cum[w - 1] = sum;
    }
    clv__free(g);
    clv__free(gx);
    clv__free(gt);
    clv__free(gT);
    clv__free(e);
    if (rc == CLV_OK) rc = clv__tracking_population(tr, pareto, params, r->pop_cum);
    return rc;
}

/* BTYD transactions (BG/NBD when pareto == 0) times Gamma-Gamma value. */
static int run_btyd(clv_backtest *bt, model_result *r, const clv_dataset *ds, int pareto, double horizon_weeks,
                    const float *gg_value)
{
    const uint64_t n = bt->n;
    float *tx_w = floats(n), *T_w = floats(n);
    if (!tx_w || !T_w) {
        clv__free(tx_w);
        clv__free(T_w);
        return clv__oom();
    }
    const float *rec = clv_dataset_recency_days(ds), *age = clv_dataset_age_days(ds), *x = clv_dataset_frequency(ds);
    for (uint64_t i = 0; i < n; i++) {
        tx_w[i] = rec[i] / 7.0f;
        T_w[i] = age[i] / 7.0f;
    }
    double params[4];
    int rc = pareto ? clv_paretonbd_fit(NULL, n, x, tx_w, T_w, params, NULL)
                    : clv_bgnbd_fit(NULL, n, x, tx_w, T_w, params, NULL);
    if (rc == CLV_ENUMERIC) {
        /* Data that do not identify the model (e.g. Pareto/NBD when every
         * customer seems to drop out at one rate: s and beta run off
         * together, docs/baselines.md) get the practitioners' remedy, a small
         * penalty on the log-parameters, rather than no comparison at all;
         * the row reports it (clv_backtest_model_penalty). */
        clv_btyd_options o;
        clv_btyd_options_init(&o);
        o.penalty = CLV__BT_BTYD_PENALTY;
        rc = pareto ? clv_paretonbd_fit(&o, n, x, tx_w, T_w, params, NULL)
                    : clv_bgnbd_fit(&o, n, x, tx_w, T_w, params, NULL);
        if (rc == CLV_OK) r->penalty = o.penalty;
    }
    if (rc == CLV_OK)
        rc = pareto ? clv_paretonbd_expected(params, n, x, tx_w, T_w, horizon_weeks, r->tx, NULL)
                    : clv_bgnbd_expected(params, n, x, tx_w, T_w, horizon_weeks, r->tx, NULL);
    /* Tracking: the conditional expectation up to every holdout grid day,
     * and the classic unconditional curve over the whole span. */
    if (rc == CLV_OK) rc = btyd_tracking(bt, r, pareto, params, x, tx_w, T_w);
    for (uint64_t i = 0; rc == CLV_OK && i < n; i++) {
        r->spend[i] = r->tx[i] * gg_value[i];
        r->score[i] = r->tx[i];
    }
    clv__free(tx_w);
    clv__free(T_w);
    return rc;
}

static int run_naive(clv_backtest *bt, model_result *r, const clv_dataset *ds, double horizon_days)
{
    const clv__tracking *tr = &bt->tr;
    r->hold_cum = clv__calloc(tr->hold_weeks, sizeof *r->hold_cum);
    if (!r->hold_cum) return clv__oom();
    const float *age = clv_dataset_age_days(ds), *sp = clv_dataset_calibration_spend(ds), *x = clv_dataset_frequency(ds);
    for (uint64_t i = 0; i < bt->n; i++) {
        /* T, the BTYD age (as PROTOCOL.md's naive row), floored at one day
         * for a customer whose first purchase is on the cutoff. */
        double life = age[i] > 1.0 ? age[i] : 1.0;
        r->spend[i] = (float)(sp[i] / life * horizon_days);
        r->tx[i] = (float)((x[i] + 1.0) / life * horizon_days);
        r->score[i] = r->tx[i];
    }
    /* Constant rates: the expectation grows linearly across the holdout. */
    double total = 0;
    for (uint64_t i = 0; i < bt->n; i++) total += r->tx[i];
    for (uint32_t w = 1; w <= tr->hold_weeks; w++)
        r->hold_cum[w - 1] = total * (tr->day[tr->cal_weeks + w] - bt->cutoff) / horizon_days;
    return CLV_OK;
}

static int score(clv_backtest *bt, model_result *r)
{
    clv_metrics_init(&r->m);
    CLV__TRY(clv_metrics_compute(bt->n, r->spend, bt->y_spend, &r->m));
    CLV__TRY(clv_metric_mae(bt->n, r->tx, bt->y_tx, &r->tx_mae));
    CLV__TRY(clv_metric_total_pct_error(bt->n, r->tx, bt->y_tx, &r->tx_pct));
    if (clv_metric_auc(bt->n, r->score, bt->y_active, &r->auc) != CLV_OK) r->auc = NAN;   /* one class only */
    return CLV_OK;
}

CLV_API int clv_backtest_run(const clv_txlog *log, int32_t cutoff, int32_t holdout_end,
                             const clv_forecast_options *fopts, clv_fit_callback cb, void *user,
                             clv_backtest **out)
{
    static const char fn[] = "clv_backtest_run";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    *out = NULL;
    CLV__CHECK_ARG(log != NULL, "%s: log is NULL", fn);
    CLV__CHECK_ARG(holdout_end > cutoff, "%s: holdout end (day %d) must be after the cutoff (day %d)", fn,
                   (int)holdout_end, (int)cutoff);
    CLV__CHECK_ARG(holdout_end - cutoff <= 36500, "%s: holdout longer than 100 years", fn);

    /* Truth and calibration summaries: one raw, weekly pipeline, fitted at the cutoff. */
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    po.norm = CLV_NORM_NONE;
    clv_pipeline *p;
    CLV__TRY(clv_pipeline_new(&p, &po));
    clv_dataset *ds = NULL;
    int rc = clv_pipeline_fit(p, log, cutoff);
    if (rc == CLV_OK) rc = clv_pipeline_transform(p, log, cutoff, holdout_end, &ds);
    clv_pipeline_free(p);
    if (rc != CLV_OK) return rc;

    clv_backtest *bt = clv__calloc(1, sizeof *bt);
    if (!bt) {
        clv_dataset_free(ds);
        return clv__oom();
    }
    const uint64_t n = clv_dataset_customers(ds);
    bt->n = n;
    bt->cutoff = cutoff;
    bt->holdout_end = holdout_end;
    bt->y_spend = floats(n);
    bt->y_tx = floats(n);
    bt->y_active = floats(n);
    float *gg = floats(n);
    rc = bt->y_spend && bt->y_tx && bt->y_active && gg ? CLV_OK : clv__oom();
    if (rc == CLV_OK) rc = clv__tracking_build(log, cutoff, holdout_end, &bt->tr);
    for (int k = 0; rc == CLV_OK && k < NMODELS; k++) {
        bt->r[k].spend = floats(n);
        bt->r[k].tx = floats(n);
        bt->r[k].score = floats(n);
        if (!bt->r[k].spend || !bt->r[k].tx || !bt->r[k].score) rc = clv__oom();
    }
    if (rc == CLV_OK) {
        memcpy(bt->y_spend, clv_dataset_target_spend(ds), n * sizeof(float));
        memcpy(bt->y_tx, clv_dataset_target_transactions(ds), n * sizeof(float));
        memcpy(bt->y_active, clv_dataset_target_active(ds), n * sizeof(float));
        for (uint64_t i = 0; i < n; i++) {
            bt->act_spend += bt->y_spend[i];
            bt->act_tx += bt->y_tx[i];
            bt->act_active += bt->y_active[i];
        }
    }
    const double horizon = holdout_end - cutoff;
    double t0 = clv__now_seconds();
    if (rc == CLV_OK) rc = run_forecaster(bt, &bt->r[0], log, cutoff, (uint32_t)horizon, fopts, cb, user);
    bt->r[0].seconds = clv__now_seconds() - t0;

    /* Gamma-Gamma once, shared by both BTYD rows. */
    double ggp[3];
    t0 = clv__now_seconds();
    if (rc == CLV_OK) rc = clv_gammagamma_fit(NULL, n, clv_dataset_frequency(ds), clv_dataset_monetary_repeat(ds), ggp, NULL);
    if (rc == CLV_OK)
        rc = clv_gammagamma_expected_value(ggp, n, clv_dataset_frequency(ds), clv_dataset_monetary_repeat(ds), gg);
    const double gg_seconds = clv__now_seconds() - t0;
    for (int k = 1; k <= 2 && rc == CLV_OK; k++) {
        bt->r[k].name = k == 1 ? "bgnbd_gg" : "paretonbd_gg";
        t0 = clv__now_seconds();
        rc = run_btyd(bt, &bt->r[k], ds, k == 2, horizon / 7.0, gg);
        bt->r[k].seconds = clv__now_seconds() - t0 + gg_seconds;
    }
    bt->r[3].name = "naive";
    if (rc == CLV_OK) {
        t0 = clv__now_seconds();
        rc = run_naive(bt, &bt->r[3], ds, horizon);
        bt->r[3].seconds = clv__now_seconds() - t0;
    }
    bt->nmodels = 4;
    if (rc == CLV_OK && clv__xgb_built()) {
        /* Gradient-boosted trees on sliding-cutoff examples; a log too short
         * for two training cutoffs (CLV_ESTATE) just has no xgboost row. */
        model_result *r = &bt->r[4];
        r->name = "xgboost";
        t0 = clv__now_seconds();
        rc = clv__xgb_predict(log, cutoff, (uint32_t)horizon, NULL, n, r->spend, r->tx, NULL, NULL);
        if (rc == CLV_OK) {
            memcpy(r->score, r->tx, n * sizeof(float));   /* activity score: expected transactions */
            r->seconds = clv__now_seconds() - t0;
            bt->nmodels = 5;
        } else if (rc == CLV_ESTATE) {
            rc = CLV_OK;
        }
    }
    if (rc == CLV_OK) {
        /* The direct network on the same sliding-cutoff examples. A log too
         * short for two training cutoffs has no ziln row either, and neither
         * has a fit that diverged (CLV_ENUMERIC): the other rows stand. */
        model_result *r = &bt->r[bt->nmodels];
        r->name = "ziln";
        t0 = clv__now_seconds();
        rc = clv__ziln_predict(log, cutoff, (uint32_t)horizon, NULL, n, r->spend, r->tx, r->score, NULL);
        if (rc == CLV_OK) {
            r->seconds = clv__now_seconds() - t0;
            bt->nmodels++;
        } else if (rc == CLV_ESTATE || rc == CLV_ENUMERIC) {
            rc = CLV_OK;
        }
    }
    for (uint32_t k = 0; k < bt->nmodels && rc == CLV_OK; k++) rc = score(bt, &bt->r[k]);
    clv__free(gg);
    clv_dataset_free(ds);
    if (rc != CLV_OK) {
        clv_backtest_free(bt);
        return rc;
    }
    *out = bt;
    return CLV_OK;
}

CLV_API uint64_t clv_backtest_customers(const clv_backtest *bt) { return bt ? bt->n : 0; }
CLV_API double clv_backtest_actual_spend(const clv_backtest *bt) { return bt ? bt->act_spend : 0; }
CLV_API double clv_backtest_actual_transactions(const clv_backtest *bt) { return bt ? bt->act_tx : 0; }
CLV_API double clv_backtest_actual_active(const clv_backtest *bt) { return bt ? bt->act_active : 0; }
CLV_API uint32_t clv_backtest_models(const clv_backtest *bt) { return bt ? bt->nmodels : 0; }

CLV_API const char *clv_backtest_model_name(const clv_backtest *bt, uint32_t k)
{
    return bt && k < bt->nmodels ? bt->r[k].name : NULL;
}

CLV_API double clv_backtest_model_penalty(const clv_backtest *bt, uint32_t k)
{
    return bt && k < bt->nmodels ? bt->r[k].penalty : -1.0;
}

CLV_API int clv_backtest_scores(const clv_backtest *bt, uint32_t k, clv_metrics *spend, double *tx_mae,
                                double *tx_pct, double *auc, double *seconds)
{
    CLV__CHECK_ARG(bt != NULL, "clv_backtest_scores: backtest is NULL");
    CLV__CHECK_ARG(k < bt->nmodels, "clv_backtest_scores: model %u, there are %u", k, bt->nmodels);
    const model_result *r = &bt->r[k];
    if (spend) {
        CLV__CHECK_ARG(spend->struct_size >= sizeof(uint32_t), "clv_backtest_scores: spend->struct_size is 0; call clv_metrics_init()");
        uint32_t keep = spend->struct_size;
        memcpy(spend, &r->m, keep < sizeof r->m ? keep : sizeof r->m);
        spend->struct_size = keep;
    }
    if (tx_mae) *tx_mae = r->tx_mae;
    if (tx_pct) *tx_pct = r->tx_pct;
    if (auc) *auc = r->auc;
    if (seconds) *seconds = r->seconds;
    return CLV_OK;
}

CLV_API const float *clv_backtest_pred_spend(const clv_backtest *bt, uint32_t k)
{
    return bt && k < bt->nmodels ? bt->r[k].spend : NULL;
}
CLV_API const float *clv_backtest_pred_transactions(const clv_backtest *bt, uint32_t k)
{
    return bt && k < bt->nmodels ? bt->r[k].tx : NULL;
}
CLV_API const float *clv_backtest_actual_spend_per_customer(const clv_backtest *bt)
{
    return bt ? bt->y_spend : NULL;
}

CLV_API int clv_backtest_interval_coverage(const clv_backtest *bt, uint32_t model, double *coverage)
{
    CLV__CHECK_ARG(bt != NULL && coverage != NULL, "clv_backtest_interval_coverage: NULL argument");
    CLV__CHECK_ARG(model < clv_backtest_models(bt), "clv_backtest_interval_coverage: model %u, expected 0..%u", model,
                   clv_backtest_models(bt) - 1);
    const model_result *r = &bt->r[model];
    *coverage = NAN;
    if (!r->lo || !r->hi || bt->n == 0) return CLV_OK;
    uint64_t inside = 0;
    for (uint64_t i = 0; i < bt->n; i++) inside += bt->y_spend[i] >= r->lo[i] && bt->y_spend[i] <= r->hi[i];
    *coverage = (double)inside / (double)bt->n;
    return CLV_OK;
}
