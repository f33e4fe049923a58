/* The weekly tracking data of a backtest: actual cumulative repeat
 * transactions of the cohort across calibration and holdout, and the classic
 * BTYD curve for it (what lifetimes' and CLVTools' tracking plots draw). */
#include <string.h>

#include "../pipeline/txlog_impl.h"
#include "backtest_impl.h"

void clv__tracking_free(clv__tracking *tr)
{
    clv__free(tr->day);
    clv__free(tr->actual_cum);
    clv__free(tr->births);
    memset(tr, 0, sizeof *tr);
}

/* First purchase day of customer ci, or INT32_MAX when none by the cutoff. */
static int32_t first_purchase(const clv_txlog *log, uint32_t ci, int32_t cutoff)
{
    int32_t first = INT32_MAX;
    for (uint32_t i = log->customers[ci].head; i != CLV__NO_RECORD; i = log->recs[i].next)
        if (log->recs[i].purchases && log->recs[i].day <= cutoff) first = log->recs[i].day;   /* newest first */
    return first;
}

/* Grid index of the first grid day on or after `day`. */
static uint32_t grid_index(const clv__tracking *tr, int32_t cutoff, int32_t day)
{
    const int64_t k = day > cutoff ? (int64_t)tr->cal_weeks + ((int64_t)day - cutoff + 6) / 7
                                   : (int64_t)tr->cal_weeks - ((int64_t)cutoff - day) / 7;
    if (k < 0) return 0;
    return k >= tr->grid ? tr->grid - 1 : (uint32_t)k;
}

int clv__tracking_build(const clv_txlog *log, int32_t cutoff, int32_t end, clv__tracking *tr)
{
    memset(tr, 0, sizeof *tr);
    int32_t min_birth = cutoff;
    for (uint64_t c = 0; c < log->ncustomers; c++) {
        int32_t b = first_purchase(log, (uint32_t)c, cutoff);
        if (b < min_birth) min_birth = b;
    }
    /* At least one calibration week, so that the cutoff is a grid day after day[0]. */
    tr->cal_weeks = (uint32_t)(((int64_t)cutoff - min_birth + 6) / 7);
    if (tr->cal_weeks == 0) tr->cal_weeks = 1;
    tr->hold_weeks = (uint32_t)(((int64_t)end - cutoff + 6) / 7);
    tr->grid = tr->cal_weeks + tr->hold_weeks + 1;
    tr->birth0 = min_birth;
    tr->nbirth = (uint32_t)(cutoff - min_birth + 1);
    tr->day = clv__calloc(tr->grid, sizeof *tr->day);
    tr->actual_cum = clv__calloc(tr->grid, sizeof *tr->actual_cum);
    tr->births = clv__calloc(tr->nbirth, sizeof *tr->births);
    if (!tr->day || !tr->actual_cum || !tr->births) {
        clv__tracking_free(tr);
        return clv__oom();
    }
    for (uint32_t k = 0; k < tr->grid; k++) {
        int64_t d = (int64_t)cutoff + 7 * ((int64_t)k - tr->cal_weeks);
        tr->day[k] = (int32_t)(d > end ? end : d);
    }
    /* Each repeat transaction counts from the first grid day on or after it. */
    for (uint64_t c = 0; c < log->ncustomers; c++) {
        const int32_t b = first_purchase(log, (uint32_t)c, cutoff);
        if (b == INT32_MAX) continue;
        tr->births[b - min_birth]++;
        for (uint32_t i = log->customers[c].head; i != CLV__NO_RECORD; i = log->recs[i].next) {
            const clv__day_rec *r = &log->recs[i];
            if (r->purchases && r->day > b && r->day <= end) tr->actual_cum[grid_index(tr, cutoff, r->day)] += 1.0;
        }
    }
    for (uint32_t k = 1; k < tr->grid; k++) tr->actual_cum[k] += tr->actual_cum[k - 1];
    return CLV_OK;
}

int clv__tracking_population(const clv__tracking *tr, int pareto, const double params[4], double *pop_cum)
{
    /* E[X(d / 7)] once per whole day d since the first purchase, then the
     * cohort's sum as a convolution with the births per day. */
    const int32_t span = tr->day[tr->grid - 1] - tr->birth0;
    float *t = clv__calloc((size_t)span + 1, sizeof *t), *e = clv__calloc((size_t)span + 1, sizeof *e);
    int rc = t && e ? CLV_OK : clv__oom();
    for (int32_t d = 0; rc == CLV_OK && d <= span; d++) t[d] = (float)(d / 7.0);
    if (rc == CLV_OK)
        rc = pareto ? clv_paretonbd_expected_population(params, (uint64_t)span + 1, t, e)
                    : clv_bgnbd_expected_population(params, (uint64_t)span + 1, t, e);
    for (uint32_t k = 0; rc == CLV_OK && k < tr->grid; k++) {
        double sum = 0;
        for (uint32_t j = 0; j < tr->nbirth; j++) {
            const int32_t age = tr->day[k] - (tr->birth0 + (int32_t)j);
            if (age > 0 && tr->births[j]) sum += tr->births[j] * (double)e[age];
        }
        pop_cum[k] = sum;
    }
    clv__free(t);
    clv__free(e);
    return rc;
}
