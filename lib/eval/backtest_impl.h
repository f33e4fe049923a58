/* Internal layout of clv_backtest, shared by the backtest (backtest.c), its
 * tracking data (tracking.c) and the HTML report (report.c). */
#ifndef CLV_EVAL_BACKTEST_IMPL_H
#define CLV_EVAL_BACKTEST_IMPL_H

#include "../clv_internal.h"

#define CLV__BT_MODELS 6   /* at most: the xgboost row only when built with XGBoost (lib/eval/xgb.c) */
/* The L2 penalty a BTYD row is refitted with when the data do not identify
 * the model by maximum likelihood (the fit ran off: CLV_ENUMERIC). */
#define CLV__BT_BTYD_PENALTY 1e-3

typedef struct clv__bt_model {
    const char *name;
    float *spend, *tx, *score;
    float *lo, *hi;        /* 80% spend interval, models that give one */
    clv_metrics m;
    double tx_mae, tx_pct, auc, seconds;
    double penalty;        /* BTYD rows: the L2 penalty the fit needed (0: plain maximum likelihood) */
    double *hold_cum;      /* [hold_weeks] expected holdout transactions up to each holdout grid day; NULL: the
                            * model only has a horizon total (tx) */
    double *pop_cum;       /* [grid] BTYD: expected cumulative repeat transactions of the cohort from each
                            * customer's first purchase (the classic tracking curve); NULL otherwise */
} clv__bt_model;

/* One epoch of the sequence model's training, as the fit callback saw it.
 * A run is one call of the training loop: with automatic epochs the first
 * run is the early-stopping run (valid is finite), then one per network. */
typedef struct clv__lc_point {
    uint32_t run, epoch;
    double train, valid;
} clv__lc_point;

/* Weekly grid for the tracking plot: day[k] = cutoff + 7 (k - cal_weeks),
 * the last one clipped to the holdout end, k = 0 .. cal_weeks + hold_weeks.
 * day[0] is on or before the first purchase of the cohort. */
typedef struct clv__tracking {
    uint32_t cal_weeks, hold_weeks, grid;   /* grid = cal_weeks + hold_weeks + 1 points */
    int32_t *day;          /* [grid] */
    double *actual_cum;    /* [grid] repeat transactions of the cohort (first purchase on or before the cutoff) */
    int32_t birth0;        /* first day of births[] */
    uint32_t nbirth;
    uint32_t *births;      /* [nbirth] cohort customers by day of first purchase */
} clv__tracking;

struct clv_backtest {
    uint64_t n;
    uint32_t nmodels;
    int32_t cutoff, holdout_end;
    double act_spend, act_tx, act_active;
    float *y_spend, *y_tx, *y_active;
    clv__bt_model r[CLV__BT_MODELS];
    clv__lc_point *lc;
    uint64_t nlc, lc_cap;
    clv__tracking tr;
};

int clv__tracking_build(const clv_txlog *log, int32_t cutoff, int32_t holdout_end, clv__tracking *tr);
void clv__tracking_free(clv__tracking *tr);
/* The classic curve: pop_cum[k] = sum over the cohort of E[X((day[k] - first day) / 7)],
 * BG/NBD (pareto = 0) or Pareto/NBD at params, time in weeks. */
int clv__tracking_population(const clv__tracking *tr, int pareto, const double params[4], double *pop_cum);

#endif
