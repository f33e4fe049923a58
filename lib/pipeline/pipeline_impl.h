/* Internal layout of clv_pipeline and clv_dataset, and the per-customer
 * feature kernels shared by fit and transform. */
#ifndef CLV_PIPELINE_PIPELINE_IMPL_H
#define CLV_PIPELINE_PIPELINE_IMPL_H

#include <stdint.h>

#include "txlog_impl.h"

/* Upper bound of clv_pipeline_options.threads. */
#define CLV__MAX_THREADS 256

/* Numeric static features, in output order. The event-based ones exist only
 * when the fit log had view/click/cart events. */
enum {
    CLV__F_FREQUENCY, CLV__F_RECENCY, CLV__F_AGE, CLV__F_SINCE_LAST, CLV__F_TOTAL, CLV__F_AOV,
    CLV__F_REPEAT_MEAN, CLV__F_REPURCHASE_RATE, CLV__F_IPT_MEAN, CLV__F_IPT_STD, CLV__F_FIRST_AMOUNT,
    CLV__F_ITEMS_PER_TX, CLV__F_CTR, CLV__F_CR, CLV__F_NUMERIC_MAX
};
#define CLV__F_NUMERIC_BASE CLV__F_CTR

/* Sequence channels per step. */
enum { CLV__S_SPEND, CLV__S_TX, CLV__S_ITEMS, CLV__S_VIEWS, CLV__S_CLICKS, CLV__S_CARTS, CLV__S_SESSIONS, CLV__S_MAX };
#define CLV__S_BASE CLV__S_VIEWS

/* What one customer did up to a cutoff, and in the holdout after it. */
typedef struct clv__summary {
    int32_t first_day, last_day;  /* purchase days on or before the cutoff; first_day INT32_MAX if none */
    uint32_t tx;                  /* transactions (purchase days) on or before the cutoff */
    double spend, items, first_amount;
    double ipt_mean, ipt_m2;      /* Welford over gaps between purchase days */
    uint32_t ngaps;
    double views, clicks, carts, sessions;
    uint32_t holdout_tx;
    double holdout_spend;
} clv__summary;

void clv__summarize(const clv_txlog *log, uint32_t ci, int32_t cutoff, int32_t holdout_end, clv__summary *s);
/* Raw (unnormalised) numeric features, CLV__F_NUMERIC_MAX of them. */
void clv__raw_features(const clv__summary *s, int32_t cutoff, double *f);
/* Period index of `day` counted back from the cutoff's period (0 = the cutoff's). */
int64_t clv__period_index(int32_t period, int32_t cutoff, int32_t day);
/* Fill one customer's sequence row seq[T][F] (zeroed by the caller) and its length. */
void clv__fill_sequence(const clv_txlog *log, uint32_t ci, int32_t cutoff, int32_t first_day,
                        const clv_pipeline_options *o, uint32_t nchannels, float *seq, int32_t *len);
/* The length clv__fill_sequence() gives a customer first seen on first_day. */
int32_t clv__sequence_length(const clv_pipeline_options *o, int32_t cutoff, int32_t first_day);
/* Lifecycle stage at the cutoff from a summary with tx > 0. */
int32_t clv__stage(const clv__summary *s, int32_t cutoff, const clv_pipeline_options *o);

typedef struct clv__fitted_category {
    char name[64];
    int32_t index;
    uint32_t nkept;
    char *kept;           /* nkept NUL-terminated values back to back, most frequent first */
    uint64_t kept_len;
} clv__fitted_category;

struct clv_pipeline {
    clv_pipeline_options o;
    int32_t fitted;
    int32_t fit_cutoff;
    int32_t has_events;
    uint32_t n_numeric;               /* numeric static features */
    uint32_t n_channels;              /* sequence channels (F) */
    uint32_t n_static;                /* S = numeric + one-hot */
    double shift[CLV__F_NUMERIC_MAX]; /* normalised = (g(v) - shift) * scale */
    double scale[CLV__F_NUMERIC_MAX];
    uint32_t ncats;
    clv__fitted_category cats[CLV__MAX_CATEGORY_COLUMNS];
    char (*static_names)[96];         /* n_static names */
};

struct clv_dataset {
    uint64_t n;
    uint32_t steps, nseq, nstatic;
    int32_t cutoff, holdout_end;
    float *seq;
    int32_t *lengths;
    float *stat;
    float *target_spend, *target_tx, *target_active;
    int32_t *stages;
    float *frequency, *recency, *age, *monetary_repeat, *cal_spend;
    char *ids;                        /* NUL-terminated ids back to back */
    uint64_t *id_off;
};

/* After a model file restored the fitted fields (has_events, n_numeric,
 * n_channels, n_static, shift, scale, ncats, cats) of a new pipeline: rebuild
 * the derived state (feature names) and mark it fitted (io/serialize.c). */
int clv__pipeline_finish_load(clv_pipeline *p);

/* Copy a pipeline's options (for loaders that check what they read). */
int clv__pipeline_options(const clv_pipeline *p, clv_pipeline_options *out);

/* Allocate a zeroed dataset (dataset.c); with zero_rows = 0 the sequences
 * and static features are left uninitialised: the caller writes every row
 * of both in full (the transform zeroes each row just before filling it, on
 * the thread that fills it, so that the pages are first touched there). */
int clv__dataset_alloc(clv_dataset **out, uint64_t n, uint32_t steps, uint32_t nseq, uint32_t nstatic,
                       uint64_t ids_len, int zero_rows);

/* Log indices of the customers a transform at `cutoff` has rows for (a
 * purchase on or before it), in row order; free with clv__free(). */
int clv__pipeline_members(const clv_txlog *log, int32_t cutoff, uint32_t **out, uint64_t *n);

/* The rows of clv_pipeline_transform() for log customers members[0..n)
 * (from clv__pipeline_members()), in that order, so that a caller can hold
 * a few thousand customers' sequences at a time instead of every
 * customer's. with_seq = 0 leaves out the sequences (steps = 0) but still
 * gives their lengths. Single-threaded. */
int clv__pipeline_transform_subset(const clv_pipeline *p, const clv_txlog *log, int32_t cutoff, int32_t holdout_end,
                                   const uint32_t *members, uint64_t n, int with_seq, clv_dataset **out);

#endif
