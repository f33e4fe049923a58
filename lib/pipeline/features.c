/* Per-customer features at a cutoff. Every function here reads only the
 * records it is told to (dates on or before the cutoff for features, the
 * holdout window for targets): that is the honesty guarantee, tested by
 * transforming a log and its copy cut at the cutoff. */
#include <math.h>
#include <string.h>

#include "parse.h"
#include "pipeline_impl.h"

void clv__summarize(const clv_txlog *log, uint32_t ci, int32_t cutoff, int32_t holdout_end, clv__summary *s)
{
    memset(s, 0, sizeof *s);
    s->first_day = INT32_MAX;
    s->last_day = INT32_MIN;
    int32_t later_purchase = INT32_MIN;   /* the walk goes newest first */
    for (uint32_t i = log->customers[ci].head; i != CLV__NO_RECORD; i = log->recs[i].next) {
        const clv__day_rec *r = &log->recs[i];
        if (r->day > cutoff) {
            if (r->day <= holdout_end) {
                s->holdout_spend += r->spend;
                if (r->purchases) s->holdout_tx++;
            }
            continue;
        }
        s->spend += r->spend;
        s->views += r->views;
        s->clicks += r->clicks;
        s->carts += r->carts;
        s->sessions += 1.0;   /* a day with any activity */
        if (!r->purchases) continue;
        s->tx++;
        s->items += r->items;
        if (s->last_day == INT32_MIN) s->last_day = r->day;
        s->first_day = r->day;
        s->first_amount = r->spend;
        if (later_purchase != INT32_MIN) {
            double gap = (double)(later_purchase - r->day), d = gap - s->ipt_mean;
            s->ngaps++;
            s->ipt_mean += d / s->ngaps;
            s->ipt_m2 += d * (gap - s->ipt_mean);
        }
        later_purchase = r->day;
    }
}

void clv__raw_features(const clv__summary *s, int32_t cutoff, double *f)
{
    const double x = s->tx ? s->tx - 1.0 : 0.0;
    const double age = (double)cutoff - s->first_day, recency = (double)s->last_day - s->first_day;
    f[CLV__F_FREQUENCY] = x;
    f[CLV__F_RECENCY] = recency;
    f[CLV__F_AGE] = age;
    f[CLV__F_SINCE_LAST] = age - recency;
    f[CLV__F_TOTAL] = s->spend;
    f[CLV__F_AOV] = s->tx ? s->spend / s->tx : 0.0;
    f[CLV__F_REPEAT_MEAN] = x > 0 ? (s->spend - s->first_amount) / x : 0.0;
    f[CLV__F_REPURCHASE_RATE] = x * 30.0 / (age > 1.0 ? age : 1.0);
    f[CLV__F_IPT_MEAN] = s->ngaps ? s->ipt_mean : 0.0;
    f[CLV__F_IPT_STD] = s->ngaps > 1 ? sqrt(s->ipt_m2 / (s->ngaps - 1)) : 0.0;
    f[CLV__F_FIRST_AMOUNT] = s->first_amount;
    f[CLV__F_ITEMS_PER_TX] = s->tx ? s->items / s->tx : 0.0;
    f[CLV__F_CTR] = s->views > 0 ? s->clicks / s->views : 0.0;
    f[CLV__F_CR] = s->sessions > 0 ? s->tx / s->sessions : 0.0;
}

static int64_t month_number(int32_t day)
{
    int32_t y;
    uint32_t m, d;
    clv__civil_from_days(day, &y, &m, &d);
    return (int64_t)y * 12 + (m - 1);
}

int64_t clv__period_index(int32_t period, int32_t cutoff, int32_t day)
{
    switch (period) {
    case CLV_PERIOD_DAY: return (int64_t)cutoff - day;
    case CLV_PERIOD_WEEK: return ((int64_t)cutoff - day) / 7;
    default: return month_number(cutoff) - month_number(day);
    }
}

static float squash(double v, int log1p_on)
{
    /* Most period cells are empty: log1p(0) is 0, skip the call. */
    if (!log1p_on || v == 0) return (float)v;
    return (float)(v < 0 ? -log1p(-v) : log1p(v));
}

int32_t clv__sequence_length(const clv_pipeline_options *o, int32_t cutoff, int32_t first_day)
{
    const int64_t birth = clv__period_index(o->period, cutoff, first_day);
    return (int32_t)(birth + 1 < (int64_t)o->max_steps ? birth + 1 : (int64_t)o->max_steps);
}

void clv__fill_sequence(const clv_txlog *log, uint32_t ci, int32_t cutoff, int32_t first_day,
                        const clv_pipeline_options *o, uint32_t nch, float *seq, int32_t *len)
{
    /* Step 0 is the customer's first purchase period (or the oldest period
     * that fits in max_steps); the last valid step is the cutoff's period. */
    const int64_t L = clv__sequence_length(o, cutoff, first_day);
    *len = (int32_t)L;
    const int64_t offset = o->pad == CLV_PAD_PRE ? (int64_t)o->max_steps - L : 0;
    const int lg = o->seq_log1p;
    /* Accumulate raw values first, squash at the end (log1p of a sum). */
    for (uint32_t i = log->customers[ci].head; i != CLV__NO_RECORD; i = log->recs[i].next) {
        const clv__day_rec *r = &log->recs[i];
        if (r->day > cutoff) continue;
        int64_t p = clv__period_index(o->period, cutoff, r->day);
        if (p >= L) break;   /* newest first: everything further is older */
        float *v = seq + (size_t)(offset + L - 1 - p) * nch;
        v[CLV__S_SPEND] += r->spend;
        v[CLV__S_TX] += r->purchases ? 1.0f : 0.0f;
        v[CLV__S_ITEMS] += r->items;
        if (nch > CLV__S_BASE) {
            v[CLV__S_VIEWS] += (float)r->views;
            v[CLV__S_CLICKS] += (float)r->clicks;
            v[CLV__S_CARTS] += (float)r->carts;
            v[CLV__S_SESSIONS] += 1.0f;
        }
    }
    for (int64_t t = 0; t < L; t++) {
        float *v = seq + (size_t)(offset + t) * nch;
        for (uint32_t k = 0; k < nch; k++)
            if (k != CLV__S_TX) v[k] = squash(v[k], lg);
    }
}

int32_t clv__stage(const clv__summary *s, int32_t cutoff, const clv_pipeline_options *o)
{
    int64_t age = (int64_t)cutoff - s->first_day, since = (int64_t)cutoff - s->last_day;
    if (age < o->new_days) return CLV_STAGE_NEW;
    if (since < o->active_days) return CLV_STAGE_ACTIVE;
    if (since < o->churn_days) return CLV_STAGE_AT_RISK;
    return CLV_STAGE_CHURNED;
}
