/**
 * @file loss.h
 * @brief Losses with value and gradient: MSE, MAE, Huber, BCE and CE on
 *        logits, and the zero-inflated lognormal (ZILN) loss.
 *
 * A loss is evaluated over `rows` rows of predictions pred[rows][pred_dim]
 * against targets target[rows][target_dim], where target_dim is
 *  - pred_dim for the elementwise losses (MSE, MAE, Huber, BCE_LOGITS);
 *  - 1 for CE_LOGITS (the class index, an integer-valued float in 0..pred_dim-1)
 *    and for ZILN (the non-negative amount; pred_dim must be 3).
 *
 * Each row r carries the factor w_r = weight[r] * mask[r] (a NULL array means 1).
 * Reduction CLV_REDUCE_SUM returns sum_r w_r * l_r; CLV_REDUCE_MEAN divides that
 * by sum_r w_r, times pred_dim for the elementwise losses (so unweighted MSE is
 * the mean over all elements, as in PyTorch). A zero divisor gives value 0 and
 * gradient 0. Per-step losses are rows = B*T with mask[b*T+t] = (t < lengths[b]);
 * the formula L = 1/N sum_i sum_t (C_it - V_it)^2 is REDUCE_SUM times 1/N.
 *
 * Per-row losses (d = pred - target, z = logit):
 *  - MSE   d^2;  MAE |d| (subgradient 0 at d = 0);
 *  - HUBER d^2/2 for |d| <= delta, else delta*(|d| - delta/2);
 *  - BCE_LOGITS  softplus(z) - y*z, y in [0,1], computed without overflow;
 *  - CE_LOGITS   logsumexp(z) - z_y;
 *  - ZILN (Wang, Liu & Miao 2019), pred = [z, mu, s]: p = sigmoid(z),
 *    sigma = max(softplus(s), 1e-3) (floored for stability);
 *    l = BCE(z, 1[y>0]) + 1[y>0] * (log y + log sigma + log(2 pi)/2 + (log y - mu)^2 / (2 sigma^2)).
 *    Its predicted mean is p * exp(mu + sigma^2/2) (clv_ziln_mean()).
 */
#ifndef CLV_LOSS_H
#define CLV_LOSS_H

#include "common.h"

CLV_BEGIN_DECLS

/** Loss kinds (stored as int32_t). */
typedef enum clv_loss_kind {
    CLV_LOSS_MSE = 1,
    CLV_LOSS_MAE = 2,
    CLV_LOSS_HUBER = 3,
    CLV_LOSS_BCE_LOGITS = 4,
    CLV_LOSS_CE_LOGITS = 5,
    CLV_LOSS_ZILN = 6
} clv_loss_kind;

/** Reductions (stored as int32_t). */
typedef enum clv_reduction {
    CLV_REDUCE_MEAN = 1,
    CLV_REDUCE_SUM = 2
} clv_reduction;

/** Loss configuration; fill with clv_loss_options_init(). */
typedef struct clv_loss_options {
    uint32_t struct_size;   /**< set by clv_loss_options_init() */
    int32_t kind;           /**< clv_loss_kind (default CLV_LOSS_MSE) */
    int32_t reduction;      /**< clv_reduction (default CLV_REDUCE_MEAN) */
    float huber_delta;      /**< Huber threshold (default 1.0) */
} clv_loss_options;

/** Set `struct_size` and the defaults. NULL is ignored. */
CLV_API void clv_loss_options_init(clv_loss_options *opts);

/**
 * Target columns per row for a loss and prediction width.
 * @return CLV_OK, or CLV_EINVAL when pred_dim does not suit the loss (ZILN needs 3,
 *         CE needs >= 2, others >= 1) or the kind is unknown.
 */
CLV_API CLV_NODISCARD int clv_loss_target_dim(const clv_loss_options *opts, uint32_t pred_dim,
                                              uint32_t *out);

/**
 * Evaluate a loss and, when `grad` is not NULL, its gradient dValue/dpred.
 * @param opts       loss options (NULL = defaults: MSE, mean).
 * @param rows       number of rows (>= 1).
 * @param pred_dim   predictions per row.
 * @param pred       [rows][pred_dim], finite.
 * @param target     [rows][target_dim], finite (see the file comment).
 * @param weight     [rows] non-negative, or NULL.
 * @param mask       [rows] 0/1 (any non-negative factor), or NULL.
 * @param out_value  receives the loss (double).
 * @param grad       [rows][pred_dim] receives the gradient, or NULL.
 * @return CLV_OK; CLV_EINVAL (NULL array, size overflow, unknown kind or reduction,
 *         NaN/Inf, negative weight or mask, BCE target outside [0,1], out-of-range
 *         class, negative ZILN target; the message names the row) with no output
 *         written; CLV_ENUMERIC when the value or a gradient overflows float even
 *         though the inputs are finite (grad is then zeroed, *out_value unchanged).
 * Every row's target is validated, masked rows included: pad with 0.
 * huber_delta is only read (and must be finite and > 0) for CLV_LOSS_HUBER.
 */
CLV_API CLV_NODISCARD int clv_loss_eval(const clv_loss_options *opts, uint32_t rows,
                                        uint32_t pred_dim, const float *pred,
                                        const float *target, const float *weight,
                                        const float *mask, double *out_value, float *grad);

/**
 * ZILN predictive mean and purchase probability from raw predictions [rows][3].
 * @param rows        number of rows (>= 1).
 * @param pred        [rows][3] raw outputs [z, mu, s] of a ZILN head, finite.
 * @param mean        [rows] receives p * exp(mu + sigma^2/2), or NULL.
 * @param p_positive  [rows] receives p = sigmoid(z), or NULL.
 * @return CLV_OK; CLV_EINVAL (NULL pred, both outputs NULL, rows 0, NaN/Inf);
 *         CLV_ENUMERIC when a mean overflows float (mu + sigma^2/2 above ~88).
 *         Nothing is written on error.
 */
CLV_API CLV_NODISCARD int clv_ziln_mean(uint32_t rows, const float *pred, float *mean,
                                        float *p_positive);

CLV_END_DECLS

#endif
