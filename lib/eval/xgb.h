/* The XGBoost baseline (internal to libclv): gradient-boosted trees through
 * XGBoost's C API, trained on the sliding-cutoff examples (examples.h).
 * Built only with the meson feature `xgboost`; without it every entry point
 * reports CLV_ENOTSUP. See docs/baselines.md, "XGBoost on sliding cutoffs". */
#ifndef CLV_EVAL_XGB_H
#define CLV_EVAL_XGB_H

#include <stdint.h>

#include "clv/pipeline.h"
#include "examples.h"

typedef struct clv__xgb_options {
    clv__examples_options examples; /* training windows and features */
    uint32_t threads;          /* XGBoost nthread; 0 (default) = auto: 1 below 50,000 example rows, else 2 */
    uint32_t max_rounds;       /* boosting rounds at most (default 500) */
    uint32_t patience;         /* early stopping: rounds without a better validation RMSE (default 30) */
    uint32_t max_depth;        /* default 5 */
    double eta;                /* learning rate (default 0.1) */
    double min_child_weight;   /* default 1 */
    double lambda;             /* L2 on leaf weights (default 1) */
    double tweedie_power;      /* variance power of the Tweedie candidate (default 1.5) */
    uint64_t seed;             /* XGBoost seed (default 0; no subsampling is used, so nothing is random) */
    int32_t btyd_features;     /* 1 (default): add BG/NBD and Gamma-Gamma fitted at each cutoff as features */
} clv__xgb_options;

/* What the fit chose and measured (all on the temporal validation split). */
typedef struct clv__xgb_report {
    uint64_t train_rows, valid_rows;
    uint32_t windows, features;
    int32_t spend_objective;   /* 0 = reg:squarederror, 1 = reg:tweedie */
    uint32_t spend_rounds, tx_rounds, active_rounds;
    double valid_rmse_squared, valid_rmse_tweedie; /* horizon-scaled spend RMSE of each candidate */
    double valid_rmse_tx, valid_logloss_active;
} clv__xgb_report;

void clv__xgb_options_init(clv__xgb_options *opts);

/* 1 when libclv was built with XGBoost, else 0 (sets no error). */
int clv__xgb_built(void);
/* CLV_OK when libclv was built with XGBoost, else CLV_ENOTSUP with a message. */
int clv__xgb_available(void);

/* Train on examples before the cutoff C and predict (C, C + H] for every
 * customer with a purchase on or before C, in the order of
 * clv_pipeline_transform() at C. n = that number of customers (checked).
 * spend, tx: expected spend and transactions over the H days; p_active: the
 * probability of any purchase (any output may be NULL). Reads nothing dated
 * after C. rep may be NULL. */
int clv__xgb_predict(const clv_txlog *log, int32_t cutoff, uint32_t horizon_days, const clv__xgb_options *opts,
                     uint64_t n, float *spend, float *tx, float *p_active, clv__xgb_report *rep);

#endif
