/* Internal layout of clv_forecaster and clv_prediction. */
#ifndef CLV_FORECAST_IMPL_H
#define CLV_FORECAST_IMPL_H

#include "../clv_internal.h"

/* Per-week model inputs, in this order (all causal: known at that week). */
enum {
    CLV__IN_TX,          /* transactions that week */
    CLV__IN_SPEND,       /* log1p(spend that week) */
    CLV__IN_CUM_TX,      /* log1p(transactions so far) */
    CLV__IN_SINCE_LAST,  /* log1p(weeks since the last purchase) */
    CLV__IN_AGE,         /* log1p(weeks since the first purchase) */
    CLV__IN_SEASON_SIN,  /* week of year on the unit circle */
    CLV__IN_SEASON_COS,
    CLV__IN_FIRST,       /* log1p(first purchase amount) */
    CLV__IN_AVG_VALUE,   /* log1p(spend so far / transactions so far) */
    CLV__IN_P_ALIVE,     /* BG/NBD P(active) given the history so far (prior.c) */
    CLV__IN_RATE,        /* log1p(BG/NBD posterior weekly rate while active) */
    CLV__IN_GG_VALUE,    /* log1p(Gamma-Gamma posterior mean value) */
    CLV__IN_COUNT
};
/* Per-week outputs: logits of next week's transactions 0, 1, 2, 3+, then the
 * mean of log1p(spend per transaction) in a purchasing week. */
#define CLV__TX_CLASSES 4
#define CLV__OUT_COUNT (CLV__TX_CLASSES + 1)
/* Most networks in an ensemble (clv_forecast_options.ensemble). */
#define CLV__MAX_ENSEMBLE 16
/* Largest BG/NBD or Gamma-Gamma parameter the posterior inputs accept (fit
 * and load alike): Gamma-Gamma's gamma grows with the currency unit. */
#define CLV__PRIOR_PARAM_MAX 1e15
/* Largest residual spread of log1p(value per transaction): exp(sigma^2/2)
 * stays far from overflow. */
#define CLV__VALUE_SIGMA_MAX 10.0
/* Early stopping: passes without a better held-out loss before stopping. */
#define CLV__PATIENCE 3

struct clv_forecaster {
    clv_forecast_options o;
    int32_t fitted;
    int32_t fit_cutoff;
    clv_pipeline *pipe;
    clv_model *members[CLV__MAX_ENSEMBLE];   /* o.ensemble networks, same shape, seeds seed + k */
    float in_mean[CLV__IN_COUNT], in_scale[CLV__IN_COUNT];  /* input z-scores */
    uint32_t epochs_trained; /* passes of the final training run */
    int32_t use_season;      /* calendar inputs on: the fit window spans two years or more */
    double top_class_mean;   /* mean transactions in a week of class "3+" */
    double value_sigma[CLV__MAX_ENSEMBLE];   /* per network: residual sd of log1p(spend per transaction) */
    float age_cap, since_cap;  /* largest age and weeks since the last purchase in training */
    int32_t use_prior;       /* the posterior inputs are on (prior.c) */
    double prior_bgnbd[4];   /* r, alpha, a, b in weeks */
    double prior_gg[3];      /* p, q, gamma */
    clv_fit_callback cb;
    void *cb_user;
    clv_comm comm;           /* data-parallel fit (dist.c); comm.size == 0: none */
    char *ckpt_path;         /* checkpoint after every epoch (checkpoint.c); NULL: none */
    uint32_t resumed_epoch;  /* epochs the last fit took from a checkpoint */
    /* Customers whose sequences are read at once (inputs.c) and whose
     * inputs a prediction holds at once; 0 = the defaults. Not options:
     * results do not depend on them, and tests shrink them to show it. */
    uint32_t input_chunk, predict_block;
};

struct clv_prediction {
    uint64_t n;
    int32_t at_day;
    uint32_t horizon_days;
    float *spend, *tx, *p_active, *p10, *p90;
    int32_t *stages;
    float *week_tx;       /* [weeks] expected transactions of all customers per week of the horizon */
    uint32_t weeks;
    char *ids;
    uint64_t *id_off;
};

/* Fit BG/NBD and Gamma-Gamma on the calibration summaries of `ds`, taken in
 * the global customer order `go` (ids sorted; dist.h), gathered over every
 * rank of a data-parallel fit; a log they cannot describe turns the
 * posterior inputs off (not an error). */
struct clv__global_order;
int clv__prior_fit(clv_forecaster *f, const clv_dataset *ds, const struct clv__global_order *go);
/* Non-zero when the stored parameters are ones the posterior inputs accept. */
int clv__prior_params_ok(const clv_forecaster *f);
/* Fill in[CLV__IN_P_ALIVE .. CLV__IN_GG_VALUE] for a history with these
 * running totals (transactions and spend including the first purchase). */
void clv__prior_inputs(const clv_forecaster *f, double cum_tx, double cum_spend, double first_amount,
                       double since_weeks, double age_weeks, float *in);
/* Add the posterior's offsets to one row of network outputs, given the
 * row's normalised inputs: Poisson log-probabilities of the classes at the
 * BG/NBD expected weekly rate, and the log Gamma-Gamma value. The network
 * then learns corrections to the classic models instead of everything;
 * heavy buyers, rare in training, get the classic models' extrapolation.
 * Nothing is added when the posterior inputs are off. */
void clv__prior_offsets(const clv_forecaster *f, const float *x, float *out);
/* One customer's normalised weekly inputs at at_day ([len][CLV__IN_COUNT],
 * free with clv__free), as predict builds them; CLV_EINVAL naming the id
 * when the customer has no purchase on or before at_day. */
int clv__forecast_customer_inputs(const clv_forecaster *f, const clv_txlog *log, int32_t at_day, const char *id,
                                  float **x, uint32_t *len);

#endif
