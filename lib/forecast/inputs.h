/* The forecaster's weekly inputs, computed per customer when needed from
 * compact raw weeks. Every week of every customer would otherwise be held
 * as 12 floats plus its targets for the whole fit (about 2 KB per customer
 * for the simulator's 40-week calibration, 20 GB at 10 million customers);
 * the raw weeks take 8 bytes each, and the inputs cost a few log1p per
 * week to rebuild, bit for bit the same each time. */
#ifndef CLV_FORECAST_INPUTS_H
#define CLV_FORECAST_INPUTS_H

#include "forecast_impl.h"

typedef struct clv__seqdata {
    uint64_t n, rows;
    uint32_t T;            /* longest history, in weeks (>= 1) */
    int32_t cutoff;
    int with_targets;      /* next week's class and value are targets (fit) */
    uint64_t *off;         /* [n + 1]: customer i's weeks are wk[off[i] .. off[i + 1]) */
    float *wk;             /* [rows][2]: raw transactions and spend of each week, oldest first */
    float *freq, *cal_spend, *age_days, *first_amount;   /* [n], as the pipeline's dataset has them */
    uint64_t *idh;         /* [n]: hash of each id, which seeds its Monte Carlo paths */
} clv__seqdata;

/* What a customer's last week carries into the roll-out. */
typedef struct clv__carry {
    float cum, cum_spend, since, age, first;
} clv__carry;

static inline uint32_t clv__seq_len(const clv__seqdata *sd, uint64_t i)
{
    return (uint32_t)(sd->off[i + 1] - sd->off[i]);
}

/* Rows for the log customers members[0..n) at `cutoff`, whose lengths
 * (clv_dataset.lengths of a transform without sequences) are known: read
 * through the forecaster's pipeline a chunk of customers at a time. */
int clv__seqdata_build(const clv_forecaster *f, const clv_txlog *log, int32_t cutoff, const uint32_t *members,
                       const int32_t *lengths, uint64_t n, int with_targets, clv__seqdata *sd);
void clv__seqdata_free(clv__seqdata *sd);

/* Customer i's inputs x[len][CLV__IN_COUNT], z-scored with the fitted
 * scalers when `normalised`; next week's class and log value per week in
 * cls/val (-1 / NAN where there is none; NULL to skip); its last week's
 * running values in carry (NULL to skip). */
void clv__seqdata_rows(const clv_forecaster *f, const clv__seqdata *sd, uint64_t i, int normalised, float *x,
                       int8_t *cls, float *val, clv__carry *carry);

/* Week of year of `day` on the unit circle. */
void clv__season(int32_t day, float *s, float *c);
/* log1p of a value clamped at 0, as every count and amount input. */
float clv__lg(double v);
/* z-score one row of inputs with the fitted scalers. */
void clv__normalise_row(const clv_forecaster *f, float *x);

#endif
