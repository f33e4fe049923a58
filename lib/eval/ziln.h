/* The direct ZILN model (internal to libclv): one network that reads each
 * customer's weekly sequence and static features at a cutoff and predicts
 * the horizon directly, instead of rolling a per-week model forward.
 *
 * Heads (one final-state head of 4 outputs):
 *  - [z, mu, s]: zero-inflated lognormal horizon spend (Wang, Liu & Miao
 *    2019): P(any purchase) = sigmoid(z) is the activity probability, the
 *    spend given a purchase is lognormal(mu, softplus(s)); loss CLV_LOSS_ZILN;
 *  - r: log of the expected number of transactions, Poisson loss.
 * The two losses are added: the activity, spend and count tasks share one
 * recurrent state (multi-task).
 *
 * Training rows are the honest sliding-cutoff examples of examples.h (with
 * their sequences). Targets are rates per year (spend per year, Poisson
 * with the window length as exposure), and the window length is also an
 * input, held at the longest training window: a horizon longer than every
 * training window (CDNOW: 273 days against 136..206) is predicted as that
 * window's rate times the horizon, not by extrapolating the network. Early stopping on the
 * customer-disjoint temporal validation split picks the number of passes,
 * then the network is trained again from the same seed on every row for
 * that many passes and predicts at the evaluation cutoff. Three such
 * networks with consecutive seeds are averaged: on CDNOW single networks'
 * totals ranged from -14.8% to +3.0% of the holdout transactions by seed.
 */
#ifndef CLV_EVAL_ZILN_H
#define CLV_EVAL_ZILN_H

#include <stdint.h>

#include "examples.h"

typedef struct clv__ziln_options {
    clv__examples_options examples; /* windows and features (default: keep_sequences, LOG1P statics) */
    uint32_t hidden;                /* LSTM hidden size (default 32) */
    uint32_t batch;                 /* rows per step (default 256) */
    uint32_t max_epochs;            /* passes at most (default 40) */
    uint32_t patience;              /* passes without a better validation loss before stopping (default 3) */
    float lr;                       /* Adam learning rate (default 3e-3) */
    uint64_t seed;                  /* initialisation and shuffling (default 42) */
    uint32_t ensemble;              /* networks averaged, seeds seed .. seed + ensemble - 1 (default 3) */
} clv__ziln_options;

typedef struct clv__ziln_report {
    uint64_t train_rows, valid_rows, rows;
    uint32_t best_epoch, epochs_run;
    double best_valid_loss;         /* ZILN + Poisson, mean over validation rows */
    double spend_scale;             /* spend unit: mean positive window spend of the training rows */
} clv__ziln_report;              /* of the first member of the ensemble */

void clv__ziln_options_init(clv__ziln_options *opts);

/* The training loss of m rows of raw outputs out [m][4] against spend-rate
 * (in the model's unit) and transaction targets [m] over exposures [m] (the
 * window in years; NULL = 1): ZILN mean + Poisson mean (mu - y log mu,
 * mu = e^r exposure). grad [m][4] receives dLoss/dout, or NULL. */
int clv__ziln_loss(uint32_t m, const float *out, const float *y_spend, const float *y_tx, const float *exposure,
                   double *value, float *grad);

/* Fit on examples before C and predict every customer with a purchase on or
 * before C over H days, in clv_pipeline_transform() order at C: n must equal
 * that count. spend, tx, p_active: [n] outputs (p_active may be NULL).
 * rep may be NULL. */
int clv__ziln_predict(const clv_txlog *log, int32_t C, uint32_t H, const clv__ziln_options *opts, uint64_t n,
                      float *spend, float *tx, float *p_active, clv__ziln_report *rep);

#endif
