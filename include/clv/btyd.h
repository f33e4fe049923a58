/**
 * @file btyd.h
 * @brief Classic "buy till you die" baselines: BG/NBD, Pareto/NBD and the
 *        Gamma-Gamma spend model, fitted by maximum likelihood, with predictions.
 *
 * Per-customer summaries (the usual RFM inputs, see docs/baselines.md):
 *  - x    number of REPEAT transactions in the calibration period (an
 *         integer-valued float >= 0; the first purchase is not counted);
 *  - t_x  time of the last purchase, measured from the first purchase
 *         (0 <= t_x <= T; t_x must be 0 when x = 0);
 *  - T    time from the first purchase to the end of calibration (T > 0);
 *  - m_x  mean value of the x repeat transactions (Gamma-Gamma only).
 * Time may be in any unit (weeks in the literature: pass days / 7); the rate
 * parameters alpha, beta and the horizon are then in that unit.
 * clv_dataset_frequency(), _recency_days(), _age_days() and _monetary_repeat()
 * (pipeline.h) give x, t_x, T in days and m_x.
 *
 * Parameters travel as plain double arrays:
 *  - BG/NBD      params[4] = { r, alpha, a, b }     (Fader, Hardie & Lee 2005)
 *  - Pareto/NBD  params[4] = { r, alpha, s, beta }  (Schmittlein, Morrison & Colombo 1987)
 *  - Gamma-Gamma params[3] = { p, q, gamma }        (Fader, Hardie & Lee 2005, "RFM and CLV")
 * All must be finite and > 0.
 *
 * Fitting minimises the negative log-likelihood over the log-parameters with
 * Nelder-Mead, restarted from its own optimum until a restart no longer
 * improves it. The result is deterministic: the same input gives the same
 * bits on every run. Every function touches only the caller's buffers, so
 * all may run concurrently (docs/threading.md).
 *
 * Errors: CLV_EINVAL for NULL pointers, n = 0, non-finite or out-of-domain
 * inputs (the message names the array and index) and bad options, with no
 * output written; CLV_ENUMERIC when the optimiser does not converge within
 * max_iterations, a parameter runs off to 0 or infinity (the data do not
 * identify the model), or a special function cannot be evaluated to full
 * accuracy. On CLV_ENUMERIC the fit outputs are left untouched, while the
 * per-customer outputs of the prediction functions are unspecified.
 */
#ifndef CLV_BTYD_H
#define CLV_BTYD_H

#include "common.h"

CLV_BEGIN_DECLS

/** Fit configuration; fill with clv_btyd_options_init(). */
typedef struct clv_btyd_options {
    uint32_t struct_size;     /**< set by clv_btyd_options_init() */
    uint32_t max_iterations;  /**< Nelder-Mead iterations over all restarts (default 20000, >= 1) */
    double tolerance;         /**< relative convergence tolerance on the objective (default 1e-10; (0, 1e-2]);
                                   the simplex must also shrink to sqrt(tolerance) in log-parameters */
    double penalty;           /**< L2 penalty lambda * sum_k log(theta_k)^2 added to the negative
                                   log-likelihood (default 0: plain maximum likelihood; >= 0) */
} clv_btyd_options;

/** Set `struct_size` and the defaults. NULL is ignored. */
CLV_API void clv_btyd_options_init(clv_btyd_options *opts);

/* ------------------------------------------------------------------ */
/** @name BG/NBD */

/**
 * Fit the BG/NBD model by maximum likelihood.
 * @param opts    options (NULL = defaults).
 * @param n       number of customers (>= 1).
 * @param x,t_x,T [n] per-customer summaries (see the file comment).
 * @param params  receives { r, alpha, a, b }.
 * @param loglik  receives the total log-likelihood at the estimate (without
 *                the penalty), or NULL.
 * @return CLV_OK, CLV_EINVAL, CLV_ENUMERIC (see the file comment).
 */
CLV_API CLV_NODISCARD int clv_bgnbd_fit(const clv_btyd_options *opts, uint64_t n, const float *x,
                                        const float *t_x, const float *T, double params[4],
                                        double *loglik);

/**
 * BG/NBD predictions for a horizon of `horizon` time units after T.
 * @param params                { r, alpha, a, b } (from clv_bgnbd_fit()).
 * @param n                     number of customers (>= 1).
 * @param x,t_x,T               [n] per-customer summaries (see the file comment).
 * @param horizon               length of the prediction window, in the unit of T.
 * @param expected_transactions [n] receives E[Y(horizon) | x, t_x, T], or NULL.
 * @param p_alive               [n] receives P(alive at T | x, t_x, T) (1 when x = 0), or NULL.
 * At least one output must be given. horizon must be finite and >= 0.
 * @return CLV_OK, CLV_EINVAL, CLV_ENUMERIC (see the file comment).
 */
CLV_API CLV_NODISCARD int clv_bgnbd_expected(const double params[4], uint64_t n, const float *x,
                                             const float *t_x, const float *T, double horizon,
                                             float *expected_transactions, float *p_alive);

/** Total BG/NBD log-likelihood of n customers at params (a sum of per-customer terms). */
CLV_API CLV_NODISCARD int clv_bgnbd_loglik(const double params[4], uint64_t n, const float *x,
                                           const float *t_x, const float *T, double *out);

/**
 * BG/NBD expected number of repeat transactions E[X(t)] of a customer drawn
 * at random, t time units after their first purchase (what the tracking plot
 * of lifetimes and CLVTools sums over a cohort).
 * @param params { r, alpha, a, b } as clv_bgnbd_fit() gives them.
 * @param n   number of times.
 * @param t   [n] times since the first purchase (finite, >= 0).
 * @param out [n] receives E[X(t[i])].
 * @return CLV_OK, CLV_EINVAL (NULL, bad params or t), CLV_ENUMERIC (a = 1,
 *         where the formula has a pole, or a 2F1 that cannot be evaluated).
 */
CLV_API CLV_NODISCARD int clv_bgnbd_expected_population(const double params[4], uint64_t n, const float *t,
                                                        float *out);

/* ------------------------------------------------------------------ */
/** @name Pareto/NBD */

/** Fit the Pareto/NBD model; params receives { r, alpha, s, beta }. As clv_bgnbd_fit(). */
CLV_API CLV_NODISCARD int clv_paretonbd_fit(const clv_btyd_options *opts, uint64_t n,
                                            const float *x, const float *t_x, const float *T,
                                            double params[4], double *loglik);

/**
 * Pareto/NBD predictions: E[Y(horizon) | x, t_x, T] and P(alive at T | x, t_x, T).
 * As clv_bgnbd_expected().
 */
CLV_API CLV_NODISCARD int clv_paretonbd_expected(const double params[4], uint64_t n,
                                                 const float *x, const float *t_x, const float *T,
                                                 double horizon, float *expected_transactions,
                                                 float *p_alive);

/** Total Pareto/NBD log-likelihood of n customers at params. */
CLV_API CLV_NODISCARD int clv_paretonbd_loglik(const double params[4], uint64_t n, const float *x,
                                               const float *t_x, const float *T, double *out);

/** Pareto/NBD E[X(t)] of a customer drawn at random; as clv_bgnbd_expected_population(). */
CLV_API CLV_NODISCARD int clv_paretonbd_expected_population(const double params[4], uint64_t n, const float *t,
                                                            float *out);

/* ------------------------------------------------------------------ */
/** @name Gamma-Gamma spend model */

/**
 * Fit the Gamma-Gamma model of the mean transaction value on the customers
 * with x > 0 and m_x > 0. The others are validated and then ignored (at least
 * one must remain): a zero mean, all repeat transactions worth 0, has no
 * gamma density.
 * @param opts    options (NULL = defaults).
 * @param n       number of customers (>= 1).
 * @param x       [n] number of repeat transactions (integer-valued, >= 0).
 * @param m_x     [n] mean value of those x transactions (finite, >= 0).
 * @param params  receives { p, q, gamma }.
 * @param loglik  receives the log-likelihood of the customers used, or NULL.
 * @return CLV_OK, CLV_EINVAL, CLV_ENUMERIC (see the file comment).
 */
CLV_API CLV_NODISCARD int clv_gammagamma_fit(const clv_btyd_options *opts, uint64_t n,
                                             const float *x, const float *m_x, double params[3],
                                             double *loglik);

/**
 * Conditional expected mean transaction value
 * E[M | p, q, gamma, x, m_x] = p (gamma + x m_x) / (p x + q - 1); for x = 0 this
 * is the population mean p gamma / (q - 1). Needs p x + q > 1 for every
 * customer (q > 1 when some x = 0); CLV_EINVAL otherwise.
 * @param params { p, q, gamma } (from clv_gammagamma_fit()).
 * @param n      number of customers (>= 1).
 * @param x      [n] number of repeat transactions.
 * @param m_x    [n] mean value of those transactions.
 * @param out    [n] receives the expectations.
 * @return CLV_OK or CLV_EINVAL.
 */
CLV_API CLV_NODISCARD int clv_gammagamma_expected_value(const double params[3], uint64_t n,
                                                        const float *x, const float *m_x,
                                                        float *out);

/** Log-likelihood at params of the customers with x > 0 and m_x > 0 (0 when there are none). */
CLV_API CLV_NODISCARD int clv_gammagamma_loglik(const double params[3], uint64_t n, const float *x,
                                                const float *m_x, double *out);

/* ------------------------------------------------------------------ */
/** @name Special function */

/**
 * Gauss hypergeometric function 2F1(a, b; c; z) for real arguments, z <= 1,
 * as used by the models above (method: docs/baselines.md).
 * @return CLV_OK; CLV_EINVAL when an argument is not finite, z > 1, c is a
 *         non-positive integer, or z = 1 with c - a - b <= 0 (the series
 *         diverges); CLV_ENUMERIC when the value overflows double or cannot be
 *         computed to about 8 significant digits. *out is written only on CLV_OK.
 */
CLV_API CLV_NODISCARD int clv_hyp2f1(double a, double b, double c, double z, double *out);

CLV_END_DECLS

#endif
