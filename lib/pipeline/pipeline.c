/* clv_pipeline: options, fit (scalers and category encoders learnt from the
 * calibration window) and transform (the dataset at a cutoff). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_impl.h"

#define OPT_HAS(o, field) \
    ((o)->struct_size >= offsetof(clv_pipeline_options, field) + sizeof((o)->field))

static const char *const numeric_names[CLV__F_NUMERIC_MAX] = {
    "frequency", "recency_days", "age_days", "days_since_last", "total_spend", "aov",
    "repeat_mean_value", "repurchase_per_30d", "ipt_mean_days", "ipt_std_days",
    "first_purchase_amount", "items_per_transaction", "ctr", "conversion_rate",
};
static const char *const channel_names[CLV__S_MAX] = {
    "spend", "transactions", "items", "views", "clicks", "carts", "sessions",
};

CLV_API void clv_pipeline_options_init(clv_pipeline_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->period = CLV_PERIOD_WEEK;
    o->max_steps = 52;
    o->pad = CLV_PAD_POST;
    o->norm = CLV_NORM_LOG1P;
    o->seq_log1p = 1;
    o->max_categories = 32;
    o->new_days = 30;
    o->active_days = 90;
    o->churn_days = 180;
}

static int validate(const clv_pipeline_options *o)
{
    static const char fn[] = "clv_pipeline_new";
    CLV__CHECK_ARG(o->period >= CLV_PERIOD_DAY && o->period <= CLV_PERIOD_MONTH,
                   "%s: period = %d is not a clv_period", fn, (int)o->period);
    CLV__CHECK_ARG(o->max_steps >= 1 && o->max_steps <= 100000, "%s: max_steps = %u, expected 1..100000", fn,
                   o->max_steps);
    CLV__CHECK_ARG(o->pad == CLV_PAD_POST || o->pad == CLV_PAD_PRE, "%s: pad = %d is not a clv_pad", fn, (int)o->pad);
    CLV__CHECK_ARG(o->norm >= CLV_NORM_NONE && o->norm <= CLV_NORM_LOG1P, "%s: norm = %d is not a clv_norm", fn,
                   (int)o->norm);
    CLV__CHECK_ARG(o->seq_log1p == 0 || o->seq_log1p == 1, "%s: seq_log1p = %d, expected 0 or 1", fn,
                   (int)o->seq_log1p);
    CLV__CHECK_ARG(o->max_categories >= 1 && o->max_categories <= 4096, "%s: max_categories = %u, expected 1..4096",
                   fn, o->max_categories);
    CLV__CHECK_ARG(o->new_days >= 1 && o->active_days >= 1 && o->churn_days >= o->active_days,
                   "%s: lifecycle windows new_days = %u, active_days = %u, churn_days = %u; expected >= 1 and churn_days >= active_days",
                   fn, o->new_days, o->active_days, o->churn_days);
    return CLV_OK;
}

CLV_API int clv_pipeline_new(clv_pipeline **out, const clv_pipeline_options *opts)
{
    CLV__CHECK_ARG(out != NULL, "clv_pipeline_new: out is NULL");
    *out = NULL;
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    if (opts) {
        CLV__CHECK_ARG(OPT_HAS(opts, period), "clv_pipeline_new: options struct_size %u is too small; call clv_pipeline_options_init()",
                       opts->struct_size);
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    CLV__TRY(validate(&o));
    clv_pipeline *p = clv__calloc(1, sizeof *p);
    if (!p) return clv__oom();
    p->o = o;
    *out = p;
    return CLV_OK;
}

static void clear_fit(clv_pipeline *p)
{
    for (uint32_t c = 0; c < p->ncats; c++) clv__free(p->cats[c].kept);
    clv__free(p->static_names);
    memset(p->cats, 0, sizeof p->cats);
    p->ncats = 0;
    p->static_names = NULL;
    p->fitted = 0;
}

CLV_API void clv_pipeline_free(clv_pipeline *p)
{
    if (!p) return;
    clear_fit(p);
    clv__free(p);
}

CLV_API int32_t clv_pipeline_is_fitted(const clv_pipeline *p) { return p && p->fitted; }

int clv__pipeline_options(const clv_pipeline *p, clv_pipeline_options *out)
{
    CLV__CHECK_ARG(p != NULL && out != NULL, "clv__pipeline_options: NULL argument");
    *out = p->o;
    return CLV_OK;
}
CLV_API uint32_t clv_pipeline_seq_features(const clv_pipeline *p) { return p && p->fitted ? p->n_channels : 0; }
CLV_API uint32_t clv_pipeline_static_features(const clv_pipeline *p) { return p && p->fitted ? p->n_static : 0; }

CLV_API const char *clv_pipeline_seq_feature_name(const clv_pipeline *p, uint32_t i)
{
    return p && p->fitted && i < p->n_channels ? channel_names[i] : NULL;
}

CLV_API const char *clv_pipeline_static_feature_name(const clv_pipeline *p, uint32_t i)
{
    return p && p->fitted && i < p->n_static ? p->static_names[i] : NULL;
}

/* ---- fit ---------------------------------------------------------------- */

static double transform_raw(int32_t norm, double v)
{
    if (norm == CLV_NORM_LOG1P) return v < 0 ? -log1p(-v) : log1p(v);
    return v;
}

typedef struct cat_count { uint32_t id; uint64_t count; const char *value; } cat_count;

static int by_count_then_value(const void *a, const void *b)
{
    const cat_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    /* Ties broken by the value itself, never by first appearance in the
     * log, which could depend on rows after the cutoff. */
    return strcmp(x->value, y->value);
}

/* Keep the most frequent values of one category column among the
 * calibration customers. */
static int fit_category(clv_pipeline *p, const clv_txlog *log, uint32_t c, const uint8_t *in_cal)
{
    const clv__category_column *cc = &log->cats[c];
    clv__fitted_category *fc = &p->cats[c];
    snprintf(fc->name, sizeof fc->name, "%s", cc->name);
    fc->index = cc->index;
    if (cc->nvalues == 0) return CLV_OK;
    cat_count *counts = clv__calloc(cc->nvalues, sizeof *counts);
    if (!counts) return clv__oom();
    for (uint64_t v = 0; v < cc->nvalues; v++) {
        counts[v].id = (uint32_t)v;
        counts[v].value = cc->values + cc->value_off[v];
    }
    for (uint64_t i = 0; i < log->ncustomers; i++)
        if (in_cal[i] && cc->customer_value[i]) counts[cc->customer_value[i] - 1].count++;
    qsort(counts, cc->nvalues, sizeof *counts, by_count_then_value);
    uint64_t len = 0;
    uint32_t keep = 0;
    while (keep < p->o.max_categories && keep < cc->nvalues && counts[keep].count > 0) {
        len += strlen(counts[keep].value) + 1;
        keep++;
    }
    fc->kept = clv__malloc(len ? len : 1);
    if (!fc->kept) {
        clv__free(counts);
        return clv__oom();
    }
    uint64_t at = 0;
    for (uint32_t k = 0; k < keep; k++) {
        size_t n = strlen(counts[k].value) + 1;
        memcpy(fc->kept + at, counts[k].value, n);
        at += n;
    }
    fc->nkept = keep;
    fc->kept_len = len;
    clv__free(counts);
    return CLV_OK;
}

static int name_features(clv_pipeline *p)
{
    p->static_names = clv__calloc(p->n_static ? p->n_static : 1, sizeof *p->static_names);
    if (!p->static_names) return clv__oom();
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->n_numeric; i++) snprintf(p->static_names[k++], 96, "%s", numeric_names[i]);
    for (uint32_t c = 0; c < p->ncats; c++) {
        const clv__fitted_category *fc = &p->cats[c];
        const char *v = fc->kept;
        char col[64];
        if (fc->name[0]) snprintf(col, sizeof col, "%s", fc->name);
        else snprintf(col, sizeof col, "col%d", (int)fc->index);
        for (uint32_t j = 0; j < fc->nkept; j++, v += strlen(v) + 1)
            snprintf(p->static_names[k++], 96, "cat.%.40s=%.40s", col, v);
        snprintf(p->static_names[k++], 96, "cat.%.40s=other", col);
    }
    return CLV_OK;
}

int clv__pipeline_finish_load(clv_pipeline *p)
{
    clv__free(p->static_names);
    p->static_names = NULL;
    CLV__TRY(name_features(p));
    p->fitted = 1;
    return CLV_OK;
}

CLV_API int clv_pipeline_fit(clv_pipeline *p, const clv_txlog *log, int32_t cutoff)
{
    static const char fn[] = "clv_pipeline_fit";
    CLV__CHECK_ARG(p != NULL && log != NULL, "%s: pipeline or log is NULL", fn);
    clear_fit(p);
    uint8_t *in_cal = clv__calloc(log->ncustomers ? log->ncustomers : 1, 1);
    if (!in_cal) return clv__oom();

    /* Whether events exist is itself read from the calibration window only. */
    int has_events = 0;
    uint64_t n = 0;
    double mean[CLV__F_NUMERIC_MAX] = { 0 }, m2[CLV__F_NUMERIC_MAX] = { 0 };
    double lo[CLV__F_NUMERIC_MAX], hi[CLV__F_NUMERIC_MAX], f[CLV__F_NUMERIC_MAX];
    for (int k = 0; k < CLV__F_NUMERIC_MAX; k++) {
        lo[k] = INFINITY;
        hi[k] = -INFINITY;
    }
    for (uint64_t i = 0; i < log->ncustomers; i++) {
        clv__summary s;
        clv__summarize(log, (uint32_t)i, cutoff, cutoff, &s);
        if (s.views + s.clicks + s.carts > 0) has_events = 1;
        if (!s.tx) continue;
        in_cal[i] = 1;
        n++;
        clv__raw_features(&s, cutoff, f);
        for (int k = 0; k < CLV__F_NUMERIC_MAX; k++) {
            double g = transform_raw(p->o.norm, f[k]), d = g - mean[k];
            mean[k] += d / (double)n;   /* Welford: totals in the millions stay exact enough */
            m2[k] += d * (g - mean[k]);
            if (g < lo[k]) lo[k] = g;
            if (g > hi[k]) hi[k] = g;
        }
    }
    if (n == 0) {
        clv__free(in_cal);
        char day[16];
        if (clv_date_format(cutoff, day, sizeof day) != CLV_OK) snprintf(day, sizeof day, "day %d", (int)cutoff);
        return clv__error(CLV_ESTATE, "%s: no customer has a purchase on or before the cutoff %s", fn, day);
    }
    p->has_events = has_events;
    p->n_numeric = has_events ? CLV__F_NUMERIC_MAX : CLV__F_NUMERIC_BASE;
    p->n_channels = has_events ? CLV__S_MAX : CLV__S_BASE;
    for (uint32_t k = 0; k < p->n_numeric; k++) {
        double sd = sqrt(m2[k] / (double)n);
        switch (p->o.norm) {
        case CLV_NORM_NONE: p->shift[k] = 0.0; p->scale[k] = 1.0; break;
        case CLV_NORM_MINMAX:
            p->shift[k] = lo[k];
            p->scale[k] = hi[k] > lo[k] ? 1.0 / (hi[k] - lo[k]) : 0.0;
            break;
        default:   /* ZSCORE, and LOG1P's z-score on the log scale */
            p->shift[k] = mean[k];
            p->scale[k] = sd > 1e-12 * (fabs(mean[k]) + 1.0) ? 1.0 / sd : 0.0;
            break;
        }
    }
    int rc = CLV_OK;
    p->ncats = log->ncats;
    for (uint32_t c = 0; c < log->ncats && rc == CLV_OK; c++) rc = fit_category(p, log, c, in_cal);
    clv__free(in_cal);
    if (rc != CLV_OK) {
        clear_fit(p);
        return rc;
    }
    p->n_static = p->n_numeric;
    for (uint32_t c = 0; c < p->ncats; c++) p->n_static += p->cats[c].nkept + 1;
    if ((rc = name_features(p)) != CLV_OK) {
        clear_fit(p);
        return rc;
    }
    p->fit_cutoff = cutoff;
    p->fitted = 1;
    return CLV_OK;
}

/* ---- transform ----------------------------------------------------------- */

/* For each value id of the log's column: its one-hot slot among the fitted
 * kept values, or nkept ("other") for values unseen or infrequent at fit. */
static int category_slots(const clv__fitted_category *fc, const clv__category_column *cc, uint32_t **out)
{
    *out = clv__calloc(cc->nvalues + 1, sizeof **out);
    if (!*out) return clv__oom();
    (*out)[0] = fc->nkept;   /* id 0: the customer has no value */
    for (uint64_t v = 0; v < cc->nvalues; v++) {
        const char *val = cc->values + cc->value_off[v], *k = fc->kept;
        uint32_t slot = fc->nkept;
        for (uint32_t j = 0; j < fc->nkept; j++, k += strlen(k) + 1)
            if (strcmp(k, val) == 0) {
                slot = j;
                break;
            }
        (*out)[v + 1] = slot;
    }
    return CLV_OK;
}

static const clv__category_column *match_column(const clv_txlog *log, const clv__fitted_category *fc)
{
    for (uint32_t c = 0; c < log->ncats; c++) {
        const clv__category_column *cc = &log->cats[c];
        if (fc->name[0] ? strcmp(fc->name, cc->name) == 0 : fc->index == cc->index) return cc;
    }
    return NULL;
}

CLV_API int clv_pipeline_transform(const clv_pipeline *p, const clv_txlog *log, int32_t cutoff,
                                   int32_t holdout_end, clv_dataset **out)
{
    static const char fn[] = "clv_pipeline_transform";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    *out = NULL;
    CLV__CHECK_ARG(p != NULL && log != NULL, "%s: pipeline or log is NULL", fn);
    if (!p->fitted) return clv__error(CLV_ESTATE, "%s: the pipeline is not fitted; call clv_pipeline_fit() first", fn);

    /* Pass 1: who is in, and how much id text they carry. */
    uint64_t n = 0, ids_len = 0;
    for (uint64_t i = 0; i < log->ncustomers; i++) {
        clv__summary s;
        clv__summarize(log, (uint32_t)i, cutoff, cutoff, &s);
        if (!s.tx) continue;
        n++;
        ids_len += strlen(log->ids + log->customers[i].id_off) + 1;
    }
    const uint32_t T = p->o.max_steps, F = p->n_channels, S = p->n_static;
    clv_dataset *ds;
    CLV__TRY(clv__dataset_alloc(&ds, n, T, F, S, ids_len));
    ds->cutoff = cutoff;
    ds->holdout_end = holdout_end;

    uint32_t *slots[CLV__MAX_CATEGORY_COLUMNS] = { 0 };
    const clv__category_column *cols[CLV__MAX_CATEGORY_COLUMNS] = { 0 };
    int rc = CLV_OK;
    for (uint32_t c = 0; c < p->ncats && rc == CLV_OK; c++) {
        cols[c] = match_column(log, &p->cats[c]);
        if (cols[c]) rc = category_slots(&p->cats[c], cols[c], &slots[c]);
    }

    uint64_t row = 0, id_at = 0;
    double f[CLV__F_NUMERIC_MAX];
    for (uint64_t i = 0; i < log->ncustomers && rc == CLV_OK; i++) {
        clv__summary s;
        clv__summarize(log, (uint32_t)i, cutoff, holdout_end, &s);
        if (!s.tx) continue;
        clv__fill_sequence(log, (uint32_t)i, cutoff, s.first_day, &p->o, F, ds->seq + row * T * F,
                           &ds->lengths[row]);
        clv__raw_features(&s, cutoff, f);
        float *st = ds->stat + row * S;
        for (uint32_t k = 0; k < p->n_numeric; k++)
            st[k] = (float)((transform_raw(p->o.norm, f[k]) - p->shift[k]) * p->scale[k]);
        uint32_t at = p->n_numeric;
        for (uint32_t c = 0; c < p->ncats; c++) {
            uint32_t slot = p->cats[c].nkept;
            if (cols[c]) slot = slots[c][cols[c]->customer_value[i]];
            st[at + slot] = 1.0f;
            at += p->cats[c].nkept + 1;
        }
        ds->target_spend[row] = (float)s.holdout_spend;
        ds->target_tx[row] = (float)s.holdout_tx;
        ds->target_active[row] = s.holdout_tx > 0 ? 1.0f : 0.0f;
        ds->stages[row] = clv__stage(&s, cutoff, &p->o);
        ds->frequency[row] = (float)f[CLV__F_FREQUENCY];
        ds->recency[row] = (float)f[CLV__F_RECENCY];
        ds->age[row] = (float)f[CLV__F_AGE];
        ds->monetary_repeat[row] = (float)f[CLV__F_REPEAT_MEAN];
        ds->cal_spend[row] = (float)s.spend;
        const char *id = log->ids + log->customers[i].id_off;
        size_t len = strlen(id) + 1;
        memcpy(ds->ids + id_at, id, len);
        ds->id_off[row] = id_at;
        id_at += len;
        row++;
    }
    for (uint32_t c = 0; c < p->ncats; c++) clv__free(slots[c]);
    if (rc != CLV_OK) {
        clv_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return CLV_OK;
}
