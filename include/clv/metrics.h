/**
 * @file metrics.h
 * @brief Evaluation metrics for CLV predictions: MAE, RMSE, R², Spearman,
 *        normalised Gini, decile MAPE, total % error, AUC and the decile table.
 *
 * Every function takes n predictions `pred[n]` and true values `actual[n]`
 * (plain float arrays, borrowed for the call) and computes in double. The
 * definitions follow the evaluation protocol; docs/metrics.md has the
 * formulas with worked examples. In short, with d_i = pred_i - actual_i:
 *  - MAE = mean |d_i|;  RMSE = sqrt(mean d_i^2);
 *  - R² = 1 - SSE/SST, SSE = sum d_i^2, SST = sum (actual_i - mean actual)^2;
 *  - Spearman = Pearson correlation of the average ranks (ties get the mean
 *    of the ranks they span);
 *  - normalised Gini (Wang, Liu & Miao 2019): sort by pred descending,
 *    gain_k = (sum of actual over the first k) / (sum of all actual),
 *    raw = 2 * mean_k(gain_k) - 1, normalised = raw(model order) / raw(true
 *    order). Rows with equal predictions form a block in which every row
 *    counts with the block's mean actual, so the order inside a tie block
 *    never matters. With this (the protocol's) formula a random or constant
 *    prediction scores raw = 1/n, not 0 (see docs/metrics.md);
 *  - deciles: rows sorted by pred ascending, ties kept in input order
 *    (stable), bucket k (0..9) = sorted positions [floor(k*n/10),
 *    floor((k+1)*n/10)); n >= 10 so no bucket is empty;
 *  - decile MAPE = mean over buckets of |mean pred - mean actual| /
 *    |mean actual|; buckets whose mean actual is exactly 0 are skipped and
 *    the mean is taken over the others;
 *  - total % error = 100 * (sum pred - sum actual) / sum actual;
 *  - AUC = P(score of a positive > score of a negative) + P(equal) / 2
 *    (Mann-Whitney U / (n1 * n0)).
 *
 * Errors: CLV_EINVAL for a NULL pointer, n = 0 or n > CLV_METRICS_MAX_N, a
 * NaN or Inf input (the message names the array and index), and for data
 * on which the metric is undefined (each function lists its cases); CLV_ENOMEM
 * when the work buffers of a sorting metric cannot be allocated. Nothing is
 * written to the outputs on error. The functions keep no state and may run
 * concurrently.
 *
 * Memory and time: the rank-based metrics sort 64-bit (key, payload) words
 * with a stable radix sort, O(n) time and 16*n bytes of scratch (160 MB for
 * n = 10^7); the others need no scratch.
 */
#ifndef CLV_METRICS_H
#define CLV_METRICS_H

#include "common.h"

CLV_BEGIN_DECLS

/** Largest n every metric accepts (2^31 - 1): doubled ranks must fit 32 bits. */
#define CLV_METRICS_MAX_N 2147483647u

/** Number of buckets in the decile table and decile MAPE. */
#define CLV_DECILES 10

/**
 * All spend metrics of one prediction. Fill with clv_metrics_init() and pass
 * to clv_metrics_compute(). Fields are only ever appended.
 */
typedef struct clv_metrics {
    uint32_t struct_size;    /**< set by clv_metrics_init() */
    double mae;              /**< mean absolute error */
    double rmse;             /**< root mean squared error */
    double r2;               /**< 1 - SSE/SST */
    double spearman;         /**< rank correlation, average ranks for ties */
    double gini_norm;        /**< normalised Gini */
    double decile_mape;      /**< decile MAPE (a fraction: 0.2 = 20%) */
    double total_pct_error;  /**< 100 * (sum pred - sum actual) / sum actual */
} clv_metrics;

/** Set `struct_size` and every metric to NaN ("not computed"). NULL is ignored. */
CLV_API void clv_metrics_init(clv_metrics *m);

/**
 * Compute every metric of `out` in one go (two sorts are shared by Spearman,
 * Gini and the deciles).
 * Only fields that lie inside out->struct_size are written, so a struct from
 * an older header works; `struct_size` itself is left as it is. A metric that
 * is undefined for this data (the CLV_EINVAL data cases of the single-metric
 * functions below, e.g. SST = 0 for R², n < 10 for decile MAPE) is set to NaN
 * and the call still succeeds.
 * @param n       number of customers, 1..CLV_METRICS_MAX_N.
 * @param pred    [n] predictions, finite.
 * @param actual  [n] true values, finite.
 * @param out     receives the metrics (call clv_metrics_init(out) first).
 * @return CLV_OK; CLV_EINVAL (NULL pointer, bad n, NaN/Inf input, struct_size
 *         too small to hold `mae`); CLV_ENOMEM. `out` is unchanged on error.
 */
CLV_API CLV_NODISCARD int clv_metrics_compute(uint64_t n, const float *pred, const float *actual,
                                              clv_metrics *out);

/**
 * Mean absolute error, mean |pred_i - actual_i|.
 * @return CLV_OK or CLV_EINVAL (NULL pointer, bad n, NaN/Inf input).
 */
CLV_API CLV_NODISCARD int clv_metric_mae(uint64_t n, const float *pred, const float *actual,
                                         double *out);

/**
 * Root mean squared error, sqrt(mean (pred_i - actual_i)^2).
 * @return CLV_OK or CLV_EINVAL (NULL pointer, bad n, NaN/Inf input).
 */
CLV_API CLV_NODISCARD int clv_metric_rmse(uint64_t n, const float *pred, const float *actual,
                                          double *out);

/**
 * Coefficient of determination 1 - SSE/SST (can be negative).
 * @return CLV_OK or CLV_EINVAL (NULL pointer, bad n, NaN/Inf input, and
 *         SST = 0, i.e. every actual value equal, which includes n = 1).
 */
CLV_API CLV_NODISCARD int clv_metric_r2(uint64_t n, const float *pred, const float *actual,
                                        double *out);

/**
 * Spearman rank correlation: Pearson correlation of the average ranks of
 * pred and of actual (tied values share the mean of their ranks; -0 equals +0).
 * @return CLV_OK; CLV_EINVAL (NULL pointer, bad n, NaN/Inf input, and all
 *         pred equal or all actual equal, which includes n = 1); CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_metric_spearman(uint64_t n, const float *pred, const float *actual,
                                              double *out);

/**
 * Normalised Gini of the prediction's ranking (file comment; docs/metrics.md).
 * 1 for a ranking as good as the truth's, negative for one worse than random.
 * @return CLV_OK; CLV_EINVAL (NULL pointer, bad n, NaN/Inf input, and
 *         sum of actual <= 0, where the gain curve is undefined); CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_metric_gini_norm(uint64_t n, const float *pred, const float *actual,
                                               double *out);

/**
 * Decile MAPE (a fraction, not a percentage): the mean over the decile
 * buckets of |mean pred - mean actual| / |mean actual|, skipping buckets
 * whose mean actual is exactly 0.
 * @return CLV_OK; CLV_EINVAL (NULL pointer, bad n, NaN/Inf input, n < 10,
 *         every bucket's mean actual 0); CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_metric_decile_mape(uint64_t n, const float *pred,
                                                 const float *actual, double *out);

/**
 * Total percentage error 100 * (sum pred - sum actual) / sum actual
 * (negative = under-prediction).
 * @return CLV_OK or CLV_EINVAL (NULL pointer, bad n, NaN/Inf input, sum of
 *         actual = 0).
 */
CLV_API CLV_NODISCARD int clv_metric_total_pct_error(uint64_t n, const float *pred,
                                                     const float *actual, double *out);

/**
 * Area under the ROC curve of `score` for binary labels, by Mann-Whitney:
 * the share of (positive, negative) pairs in which the positive scores
 * higher, tied pairs counting 1/2. Higher scores mean "more likely 1".
 * @param n      number of customers, 1..CLV_METRICS_MAX_N.
 * @param score  [n] scores, finite.
 * @param label  [n] each exactly 0 or 1.
 * @param out    receives the AUC.
 * @return CLV_OK; CLV_EINVAL (NULL pointer, bad n, NaN/Inf score or label,
 *         a label other than 0/1, only one class present); CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_metric_auc(uint64_t n, const float *score, const float *label,
                                         double *out);

/**
 * Decile table: rows sorted by pred ascending (stable: tied rows keep their
 * input order), bucket k = sorted positions [floor(k*n/10), floor((k+1)*n/10)).
 * For n = 23 the bucket sizes are 2,2,2,3,2,2,3,2,2,3.
 * @param n            number of customers, 10..CLV_METRICS_MAX_N.
 * @param pred         [n] predictions, finite.
 * @param actual       [n] true values, finite.
 * @param mean_pred    [10] receives each bucket's mean prediction.
 * @param mean_actual  [10] receives each bucket's mean actual value.
 * @param count        [10] receives each bucket's row count, or NULL.
 * @return CLV_OK; CLV_EINVAL (NULL pred/actual/mean_pred/mean_actual, bad n,
 *         n < 10, NaN/Inf input); CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_decile_table(uint64_t n, const float *pred, const float *actual,
                                           double *mean_pred, double *mean_actual,
                                           uint64_t *count);

CLV_END_DECLS

#endif
