/* Honest sliding-cutoff training examples (internal to libclv).
 *
 * A model that must predict, at the evaluation cutoff C, what every customer
 * does over the next H days cannot be trained on H-day targets observed
 * before C when the calibration window is not longer than H (CDNOW: 39 weeks
 * of calibration, a 39-week horizon). These helpers build the next best
 * thing: examples at K earlier cutoffs c_k inside the calibration window,
 * each with a target window (c_k, c_k + h_k] that ends on or before C.
 *
 * Choice of windows (defaults; see docs/baselines.md, "Sliding-cutoff examples"):
 *  - base length h = min(H, (C - first_day) / 2), first_day = the log's first day,
 *    unless options.window_days fixes it;
 *  - latest cutoff c_{K-1} = C - h, then stepping back by step_days:
 *    c_{K-1-j} = C - h - j * step_days, for j = 0 .. windows-1, keeping only
 *    cutoffs at least min_history_days after first_day (at least 2 must remain);
 *  - every target window ends at C (or earlier when H is shorter):
 *    h_k = min(H, C - c_k). The earliest cutoffs get the longest windows, so the
 *    examples cover lengths h .. h + (K-1) step_days and use every day up to C.
 * Windows are stored from the earliest cutoff to the latest. The latest window
 * (cutoff C - h) is the temporal validation split, for early stopping and
 * model selection; the others are the training split.
 *
 * Validation customers: the windows overlap in calendar time (each training
 * window contains the validation window when they all end at C), so the same
 * customer's training target contains their validation target. A model that
 * recognises customers by their features would look better and better on
 * validation while it only memorises them. The validation split is therefore
 * also customer-disjoint: a fixed share (valid_share, default 1/4) of the
 * customers, chosen by a hash of their id (FNV-1a 64), are validation
 * customers. split[] marks each row:
 *   CLV__EX_TRAIN  earlier windows, customers outside the validation group;
 *   CLV__EX_VALID  the latest window, validation customers;
 *   CLV__EX_REFIT  the rest (latest window of training customers, earlier
 *                  windows of validation customers): for a final refit on all
 *                  rows after selection only.
 * With valid_share = 0 the split is purely temporal (all customers).
 *
 * Honesty: at each c_k a fresh pipeline is fitted (clv_pipeline_fit reads
 * nothing after c_k) and the dataset is transformed at c_k with holdout end
 * c_k + h_k <= C, so nothing dated after C is read; the prediction set at C
 * is transformed with no holdout at all. A log cut at C gives byte-identical
 * examples (tested).
 *
 * Features per row: the pipeline's static features (configuration in
 * options.pipeline; by default norm NONE, raw values, suited to trees), then
 * one more column, "window_days": the length of the target window (h_k for
 * training rows, H for the prediction rows at C). Targets are totals over the
 * window; divide by days[] for per-day rates.
 */
#ifndef CLV_EVAL_EXAMPLES_H
#define CLV_EVAL_EXAMPLES_H

#include <stdint.h>

#include "clv/pipeline.h"

enum { CLV__EX_TRAIN = 0, CLV__EX_VALID = 1, CLV__EX_REFIT = 2 };

typedef struct clv__examples_options {
    uint32_t windows;          /* K: cutoffs wanted (default 6, at least 2) */
    uint32_t step_days;        /* days between consecutive cutoffs (default 14) */
    uint32_t window_days;      /* base length h; 0 (default) = min(H, (C - first_day) / 2) */
    uint32_t min_history_days; /* earliest allowed cutoff: first_day + this (default 28) */
    double valid_share;        /* share of customers in the validation group, [0, 1) (default 0.25) */
    int32_t keep_sequences;    /* non-zero: also keep each row's sequence (seq, len below; default 0) */
    clv_pipeline_options pipeline; /* features at each cutoff (default: defaults with norm NONE) */
} clv__examples_options;

typedef struct clv__examples {
    uint32_t features;         /* S + 1 columns of x */
    char **names;              /* [features] column names (owned) */
    uint32_t windows;          /* K */
    int32_t *cutoff;           /* [K] c_k, ascending */
    int32_t *window_end;       /* [K] c_k + h_k */
    uint64_t *row_start;       /* [K + 1] rows of window k: row_start[k] .. row_start[k+1] */
    uint64_t rows;             /* total rows */
    uint64_t train_rows;       /* rows marked CLV__EX_TRAIN */
    uint64_t valid_rows;       /* rows marked CLV__EX_VALID */
    uint8_t *split;            /* [rows] CLV__EX_TRAIN, CLV__EX_VALID or CLV__EX_REFIT */
    uint64_t *customer_key;    /* [rows] FNV-1a 64 hash of the customer id */
    float *x;                  /* [rows][features], row-major */
    float *days;               /* [rows] target window length h_k (also column features-1 of x) */
    float *y_spend;            /* [rows] spend in the target window */
    float *y_tx;               /* [rows] transactions in the target window */
    float *y_active;           /* [rows] 1 when any transaction falls in the target window */
    /* Raw BTYD summaries at the row's cutoff (days, unnormalised): */
    float *frequency, *recency_days, *age_days, *monetary_repeat, *calibration_spend;
    /* With keep_sequences: the pipeline's sequence at the row's cutoff,
     * [rows][steps][seq_features] (padding as options.pipeline.pad), and its
     * valid steps [rows]; NULL otherwise. */
    uint32_t steps, seq_features;
    float *seq;
    int32_t *len;
} clv__examples;

void clv__examples_options_init(clv__examples_options *opts);

/* Training and validation examples for predicting at cutoff C over H days.
 * opts NULL = defaults. CLV_OK; CLV_EINVAL (bad arguments or options);
 * CLV_ESTATE (calibration too short for 2 windows, or nobody at a cutoff);
 * CLV_ENOMEM; or a pipeline status. *out is set only on success. */
int clv__examples_build(const clv_txlog *log, int32_t cutoff, uint32_t horizon_days,
                        const clv__examples_options *opts, clv__examples **out);

/* The rows to predict from: every customer with a purchase on or before C,
 * in the order of clv_pipeline_transform() at C, with window_days = H; one
 * window (cutoff C, window_end C + H), targets all 0 (nothing after C is read),
 * every row marked CLV__EX_REFIT. */
int clv__examples_build_predict(const clv_txlog *log, int32_t cutoff, uint32_t horizon_days,
                                const clv__examples_options *opts, clv__examples **out);

/* Non-zero when a and b have the same columns (names, in order). */
int clv__examples_same_columns(const clv__examples *a, const clv__examples *b);

void clv__examples_free(clv__examples *ex);

#endif
