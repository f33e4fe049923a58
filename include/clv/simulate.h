/**
 * @file simulate.h
 * @brief Built-in synthetic transaction logs with a known ground truth.
 *
 * Generative process (equations, derivations and constants in docs/simulator.md),
 * per customer i (id i+1), on the window of days [start_day, start_day + days):
 *  - acquisition: first purchase on day A_i, uniform in [start_day, start_day + acquisition_days);
 *  - purchase rate lambda_i ~ Gamma(shape r, rate alpha) per WEEK (so alpha is in
 *    weeks, as in published BG/NBD fits); on day d the customer's events follow a
 *    Poisson process of intensity lambda_i / 7 * s(d) with seasonality
 *    s(d) = (1 + weekly_amplitude cos(2 pi (dow(d) - 6) / 7)) *
 *           (1 + yearly_amplitude cos(2 pi (d - 349) / 365.25)),
 *    dow(d) = (d + 3) mod 7 (Monday = 0): peaks on Sundays and in mid-December;
 *  - a day with at least one event is one transaction (as same-day records merge
 *    in a clv_txlog), so day d after A_i is a purchase day with probability
 *    1 - exp(-lambda_i s(d) / 7) while the customer is alive;
 *  - dropout p_i ~ Beta(a, b): after each repeat purchase the customer becomes
 *    inactive for good with probability p_i (BG/NBD: not after the first);
 *  - spend per transaction ~ Gamma(shape p, rate nu_i), nu_i ~ Gamma(q, rate gamma)
 *    (Gamma-Gamma), rounded to cents (at least $0.01); quantity = 1 + Poisson(amount / $25);
 *  - a share browse_share of customers also produce view/click/cart rows: on each
 *    purchase day, and on browse-only days (intensity 2 lambda_i / 7 s(d)) while alive.
 * Same seed, same options -> the same log, byte for byte: customer i's rows
 * depend only on (seed, i), so the first n customers of a larger run are the
 * n-customer run. Customer ids are the decimal numbers 1..customers.
 */
#ifndef CLV_SIMULATE_H
#define CLV_SIMULATE_H

#include "common.h"
#include "pipeline.h"

CLV_BEGIN_DECLS

/** Generator configuration; fill with clv_sim_options_init(). Defaults give a
 * CDNOW-like log (BG/NBD and Gamma-Gamma estimates published for CDNOW).
 * Shapes r, a, b, p, q must lie in [0.01, 1000], rates alpha and gamma in
 * [1e-6, 1e9]; every double must be finite. */
typedef struct clv_sim_options {
    uint32_t struct_size;      /**< set by clv_sim_options_init() */
    uint64_t customers;        /**< 1 .. 100,000,000 (default 10,000) */
    uint64_t seed;             /**< any value (default 1) */
    int32_t start_day;         /**< first day, days since 1970-01-01 (default 1997-01-01 = 9862) */
    uint32_t days;             /**< window length, 1 .. 100,000 days, inside years 1..9999 (default 546, 78 weeks) */
    uint32_t acquisition_days; /**< first purchases spread over this many days, 1 .. days (default 84, 12 weeks) */
    double r, alpha;           /**< purchase rate per week ~ Gamma(r, rate alpha) (defaults 0.243, 4.414) */
    double a, b;               /**< dropout ~ Beta(a, b) (defaults 0.793, 2.426) */
    double p, q, gamma;        /**< Gamma-Gamma spend (defaults 6.25, 3.74, 15.44: mean p gamma/(q-1) = $35.22) */
    double weekly_amplitude;   /**< in [0, 1) (default 0.2) */
    double yearly_amplitude;   /**< in [0, 1) (default 0.3) */
    double browse_share;       /**< share of customers with browse events, [0, 1] (default 0.3) */
} clv_sim_options;
/** @var clv_sim_options::r
 *  Shape of the Gamma distribution of purchase rates per week (default 0.243).
 *  @var clv_sim_options::alpha
 *  Rate of that Gamma distribution, in weeks (default 4.414).
 *  @var clv_sim_options::a
 *  Dropout probability ~ Beta(a, b): a (default 0.793).
 *  @var clv_sim_options::b
 *  Dropout probability ~ Beta(a, b): b (default 2.426).
 *  @var clv_sim_options::p
 *  Gamma-Gamma: shape of the spend per transaction (default 6.25).
 *  @var clv_sim_options::q
 *  Gamma-Gamma: shape of the customers' spend rates nu (default 3.74).
 *  @var clv_sim_options::gamma
 *  Gamma-Gamma: rate of the customers' spend rates nu (default 15.44; mean spend p gamma/(q-1) = $35.22). */

/** Set `struct_size` and the CDNOW-like defaults (see the field comments). NULL is ignored. */
CLV_API void clv_sim_options_init(clv_sim_options *opts);

/**
 * Append the synthetic log to `log` directly (no text round trip), in batches
 * through clv_txlog_append_u64(), so the log's policies apply as to any rows.
 * @return CLV_OK, CLV_EINVAL (the message names the option), CLV_ENOMEM, or an
 *         error of clv_txlog_append_u64(); on failure the rows appended so far stay.
 */
CLV_API CLV_NODISCARD int clv_simulate_to_txlog(const clv_sim_options *opts, clv_txlog *log);

/**
 * Write the synthetic log as CSV (header customer_id,date,amount,quantity,event;
 * dates YYYY-MM-DD; amounts with two decimals; view/click/cart rows have amount
 * and quantity 0) to `path`, atomically: a temporary file in the same
 * directory (`path`.tmp.XXXXXX, mode 0644), fsync'ed and renamed over `path`,
 * so a failure never leaves a partial file and an existing file stays intact.
 * Rows come customer by customer, each customer's in date order.
 * @return CLV_OK, CLV_EINVAL, CLV_EIO (the message names the path), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_simulate_to_csv(const clv_sim_options *opts, const char *path);

/**
 * Ground truth at a cutoff: for customer i (id i+1), given the latent state the
 * simulator drew (rate lambda_i, dropout p_i, spend rate nu_i, and whether the
 * customer is still alive after their purchases up to cutoff_day), the exact
 * expected number of transactions and spend in (cutoff_day, holdout_end_day]:
 *   E[N] = alive ? (1 - prod_d (1 - p_i (1 - exp(-lambda_i s(d) / 7)))) / p_i : 0
 * over the holdout days d inside the simulated window (days after it hold no
 * rows, so they add nothing; when p_i = 0 the limit, the sum of the daily
 * probabilities), and E[spend] = E[N] p / nu_i. For small rates this
 * is (1 - exp(-p_i L)) / p_i with L = lambda_i / 7 * sum_d s(d). alive_at_cutoff
 * is 1 or 0. Customers acquired after the cutoff get 0 in all three.
 * Each output array has `customers` entries; any may be NULL.
 * @return CLV_OK, CLV_EINVAL (bad options, or holdout_end_day <= cutoff_day), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_simulate_truth(const clv_sim_options *opts, int32_t cutoff_day,
                                             int32_t holdout_end_day, float *expected_transactions,
                                             float *expected_spend, float *alive_at_cutoff);

CLV_END_DECLS

#endif
