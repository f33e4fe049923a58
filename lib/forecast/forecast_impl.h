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
    CLV__IN_COUNT
};
/* Per-week outputs: logits of next week's transactions 0, 1, 2, 3+, then the
 * mean of log1p(spend per transaction) in a purchasing week. */
#define CLV__TX_CLASSES 4
#define CLV__OUT_COUNT (CLV__TX_CLASSES + 1)

struct clv_forecaster {
    clv_forecast_options o;
    int32_t fitted;
    int32_t fit_cutoff;
    clv_pipeline *pipe;
    clv_model *model;
    float in_mean[CLV__IN_COUNT], in_scale[CLV__IN_COUNT];  /* input z-scores */
    int32_t use_season;      /* calendar inputs on: the fit window spans two years or more */
    double top_class_mean;   /* mean transactions in a week of class "3+" */
    double value_sigma;      /* residual sd of log1p(spend per transaction) */
    clv_fit_callback cb;
    void *cb_user;
};

struct clv_prediction {
    uint64_t n;
    int32_t at_day;
    uint32_t horizon_days;
    float *spend, *tx, *p_active, *p10, *p90;
    int32_t *stages;
    char *ids;
    uint64_t *id_off;
};

#endif
