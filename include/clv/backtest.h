/**
 * @file backtest.h
 * @brief Honest backtests: every model learns from data up to a cutoff only
 *        and predicts the holdout that follows (../shared/PROTOCOL.md).
 *
 * Models compared, in this order:
 *  - "lstm": the clv_forecaster (or "gru" when options.cell is CLV_CELL_GRU);
 *  - "bgnbd_gg": BG/NBD transactions x Gamma-Gamma mean value;
 *  - "paretonbd_gg": Pareto/NBD transactions x Gamma-Gamma mean value;
 *  - "naive": each customer's calibration spend and transaction rates per day
 *    of their age T (cutoff minus first purchase day, at least 1) times the
 *    horizon;
 *  - "xgboost" (only when libclv is built with XGBoost, meson option
 *    -Dxgboost; see clv_backtest_model_available()): gradient-boosted trees
 *    trained on sliding-cutoff examples inside the calibration window, with
 *    BG/NBD x Gamma-Gamma fitted at each training cutoff as features and base
 *    margin (docs/baselines.md). Its activity score is the expected number of
 *    transactions. The row is left out when the calibration window is too
 *    short for two training cutoffs.
 * BTYD models work in weeks (days / 7) on the calibration summaries of the
 * feature pipeline; their activity score is the expected number of
 * transactions (AUC only uses the ranking). Every model sees the same
 * information: the log up to the cutoff.
 */
#ifndef CLV_BACKTEST_H
#define CLV_BACKTEST_H

#include "common.h"
#include "forecast.h"
#include "metrics.h"
#include "pipeline.h"

CLV_BEGIN_DECLS

/** The results of one backtest: actual holdout totals and every model's scores and predictions. */
typedef struct clv_backtest clv_backtest;

/** Models of the backtest (stored as int32_t). */
typedef enum clv_backtest_model {
    CLV_BACKTEST_SEQUENCE = 1,      /**< "lstm" (or "gru") */
    CLV_BACKTEST_BGNBD_GG = 2,      /**< "bgnbd_gg" */
    CLV_BACKTEST_PARETONBD_GG = 3,  /**< "paretonbd_gg" */
    CLV_BACKTEST_NAIVE = 4,         /**< "naive" */
    CLV_BACKTEST_XGBOOST = 5,       /**< "xgboost": optional, needs XGBoost at build time */
    CLV_BACKTEST_ZILN = 6           /**< "ziln": the direct horizon network (ZILN spend + Poisson count) */
} clv_backtest_model;

/**
 * Whether this build can run a model.
 * @return CLV_OK; CLV_ENOTSUP when libclv was built without it (the message
 *         says how to get it: XGBoost for CLV_BACKTEST_XGBOOST); CLV_EINVAL
 *         for an unknown model.
 */
CLV_API CLV_NODISCARD int clv_backtest_model_available(int32_t model);

/**
 * Model identifier from a row name ("lstm" and "gru" are CLV_BACKTEST_SEQUENCE,
 * "bgnbd_gg", "paretonbd_gg", "naive", "xgboost"), whether or not it is available.
 * @return CLV_OK or CLV_EINVAL (unknown name; the message lists the names).
 */
CLV_API CLV_NODISCARD int clv_backtest_model_lookup(const char *name, int32_t *model);

/**
 * Run the backtest on `log`: fit every model at `cutoff_day`, predict
 * (cutoff_day, holdout_end_day], and score against what happened.
 * @param log    the transaction log, read up to holdout_end_day.
 * @param cutoff_day       last day of calibration (inclusive).
 * @param holdout_end_day  last day of the holdout (inclusive).
 * @param fopts  forecaster options (NULL = defaults; horizon_days is set to the holdout length).
 * @param cb     optional progress callback for the forecaster's training.
 * @param user_data passed to `cb`.
 * @param out    receives the results; free them with clv_backtest_free().
 * @return CLV_OK, CLV_EINVAL (holdout_end_day <= cutoff_day, NULL log), CLV_ESTATE
 *         (nobody bought before the cutoff), a model's fitting status, CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_backtest_run(const clv_txlog *log, int32_t cutoff_day,
                                           int32_t holdout_end_day,
                                           const clv_forecast_options *fopts,
                                           clv_fit_callback cb, void *user_data,
                                           clv_backtest **out);
/** Free backtest results. NULL is a no-op. */
CLV_API void clv_backtest_free(clv_backtest *bt);

/** Customers evaluated (everyone with a purchase on or before the cutoff). */
CLV_API uint64_t clv_backtest_customers(const clv_backtest *bt);
/** Actual holdout total spend of the evaluated customers. */
CLV_API double clv_backtest_actual_spend(const clv_backtest *bt);
/** Actual holdout total transactions (purchase days). */
CLV_API double clv_backtest_actual_transactions(const clv_backtest *bt);
/** Actual number of customers buying in the holdout. */
CLV_API double clv_backtest_actual_active(const clv_backtest *bt);
/** Number of models compared (rows 0 .. models-1). */
CLV_API uint32_t clv_backtest_models(const clv_backtest *bt);
/** Name of model row `model` ("lstm", "bgnbd_gg", ...; static string), NULL out of range. */
CLV_API const char *clv_backtest_model_name(const clv_backtest *bt, uint32_t model);
/**
 * The L2 penalty on the log-parameters that the fit of row `model` needed:
 * 0 for plain maximum likelihood (always, for rows other than BG/NBD and
 * Pareto/NBD). A BTYD fit that runs off to infinity (the data do not
 * identify the model, CLV_ENUMERIC from clv_bgnbd_fit / clv_paretonbd_fit)
 * is refitted with penalty 0.001 and reports it here. -1 when `model` is
 * out of range or `bt` is NULL.
 */
CLV_API double clv_backtest_model_penalty(const clv_backtest *bt, uint32_t model);

/**
 * Scores of one model. spend: all of clv_metrics on holdout spend;
 * tx_mae, tx_total_pct_error: on holdout transactions; auc: of the activity
 * score against buying in the holdout; fit_seconds: fitting and predicting.
 * Any out pointer may be NULL.
 */
CLV_API CLV_NODISCARD int clv_backtest_scores(const clv_backtest *bt, uint32_t model, clv_metrics *spend,
                                              double *tx_mae, double *tx_total_pct_error, double *auc,
                                              double *fit_seconds);

/** Per-customer predicted holdout spend of one model ([N], borrowed until clv_backtest_free()). */
CLV_API const float *clv_backtest_pred_spend(const clv_backtest *bt, uint32_t model);
/** Per-customer predicted holdout transactions of one model ([N], borrowed until clv_backtest_free()). */
CLV_API const float *clv_backtest_pred_transactions(const clv_backtest *bt, uint32_t model);
/**
 * Empirical coverage of a model's 80% spend interval
 * (clv_prediction_spend_p10() to clv_prediction_spend_p90()): the share of customers whose actual holdout spend lies inside it,
 * ends included. NAN for models without intervals (the classic baselines).
 * @return CLV_OK, CLV_EINVAL (NULL, model out of range).
 */
CLV_API CLV_NODISCARD int clv_backtest_interval_coverage(const clv_backtest *bt, uint32_t model, double *coverage);
/** The actual holdout spend per customer ([N]). */
CLV_API const float *clv_backtest_actual_spend_per_customer(const clv_backtest *bt);

/**
 * Write the backtest as one self-contained HTML file (inline SVG charts, no
 * script, no external resource; docs/user-guide.md shows one): the scores
 * table; the sequence model's learning curve (loss per epoch, training and
 * temporal validation); predicted vs actual holdout spend by decile for every
 * model; the gain (Lorenz) curve of every model with its normalised Gini; and
 * the tracking plots, actual vs expected repeat transactions of the cohort
 * week by week across calibration and holdout, cumulative and per week (BTYD
 * models: the unconditional curve from each customer's first purchase and the
 * conditional forecast from the cutoff; the sequence model: its weekly
 * roll-out; a model with only a horizon total is drawn as one point). Every
 * chart element (`svg`) carries data-chart="learning-curve", "deciles" (one per model, with
 * data-model), "gain", "tracking" or "tracking-weekly". Written atomically
 * (temporary file + rename): on failure an existing file at `path` is left
 * as it was.
 * @param bt     the backtest to report.
 * @param path   the HTML file to write.
 * @param title  heading of the report, escaped (NULL: "libclv backtest report").
 * @return CLV_OK, CLV_EINVAL (NULL backtest or path, empty path), CLV_EIO
 *         (naming the path and the OS error), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_backtest_write_report(const clv_backtest *bt, const char *path, const char *title);

CLV_END_DECLS

#endif
