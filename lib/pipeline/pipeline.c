/* clv_pipeline: options, fit (scalers and category encoders learnt from the
 * calibration window) and transform (the dataset at a cutoff). */
/* sysconf(_SC_NPROCESSORS_ONLN) is a glibc/BSD extension. */
#define _DEFAULT_SOURCE
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline_impl.h"

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
    o->threads = 1;
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
    CLV__CHECK_ARG(o->threads <= CLV__MAX_THREADS, "%s: threads = %u, expected 0 (one per online CPU) .. %d", fn,
                   o->threads, CLV__MAX_THREADS);
    return CLV_OK;
}

CLV_API int clv_pipeline_new(clv_pipeline **out, const clv_pipeline_options *opts)
{
    CLV__CHECK_ARG(out != NULL, "clv_pipeline_new: out is NULL");
    *out = NULL;
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    if (opts) {
        CLV__CHECK_ARG(CLV__HAS_FIELD(clv_pipeline_options, opts, period), "clv_pipeline_new: options struct_size %u is too small; call clv_pipeline_options_init()",
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


/* ---- threads ------------------------------------------------------------- */

/* Fit and transform split the customers into chunks of consecutive
 * customers; every chunk writes only its own outputs, so the result does not
 * depend on how many threads ran or which thread took which chunk. Threads
 * live for one parallel section: no pool, nothing left running after a call. */

typedef void (*chunk_fn)(void *ctx, uint32_t chunk);

typedef struct par_run {
    chunk_fn fn;
    void *ctx;
    uint32_t nchunks;
    atomic_uint next;
} par_run;

static void *par_worker(void *arg)
{
    par_run *pr = arg;
    for (;;) {
        uint32_t k = atomic_fetch_add_explicit(&pr->next, 1, memory_order_relaxed);
        if (k >= pr->nchunks) break;
        pr->fn(pr->ctx, k);
    }
    return NULL;
}

/* fn(ctx, k) for every k in [0, nchunks), on up to nthreads threads of which
 * the caller is one. A thread that cannot be started is not an error: the
 * others take its chunks. Returns after every chunk is done (pthread_join
 * orders the workers' writes before the caller's reads). */
static void run_chunks(uint32_t nthreads, uint32_t nchunks, chunk_fn fn, void *ctx)
{
    par_run pr = { fn, ctx, nchunks, 0 };
    atomic_init(&pr.next, 0);
    pthread_t tid[CLV__MAX_THREADS];
    uint32_t started = 0;
    if (nthreads > nchunks) nthreads = nchunks;
    for (uint32_t t = 1; t < nthreads; t++) {
        if (pthread_create(&tid[started], NULL, par_worker, &pr) != 0) break;
        started++;
    }
    par_worker(&pr);
    for (uint32_t t = 0; t < started; t++) pthread_join(tid[t], NULL);
}

/* Customers per chunk: large enough that a chunk costs far more than taking
 * it, small enough to balance two to a few dozen threads. */
#define CHUNK_CUSTOMERS 8192u

/* Threads to use for `ncustomers` customers under option `req`. */
static uint32_t threads_for(uint32_t req, uint64_t ncustomers)
{
    uint64_t n = req;
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (uint64_t)c : 1;
    }
    if (n > CLV__MAX_THREADS) n = CLV__MAX_THREADS;
    uint64_t chunks = (ncustomers + CHUNK_CUSTOMERS - 1) / CHUNK_CUSTOMERS;
    if (n > chunks) n = chunks ? chunks : 1;
    return (uint32_t)n;
}

/* ---- fit ---------------------------------------------------------------- */

/* A scaled feature as a float: values beyond the float range (a customer
 * far outside the fit's range, scaled by 1/(max - min) of a narrow one)
 * saturate instead of becoming Inf, which no model accepts as input. */
static inline float saturate(double v)
{
    return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v;
}

static double transform_raw(int32_t norm, double v)
{
    if (norm == CLV_NORM_LOG1P) return v < 0 ? -log1p(-v) : log1p(v);
    return v;
}


/* Fit: per customer of a block, whether it has events and a calibration
 * transaction, and the g(v) of its numeric features. */
#define FIT_BLOCK ((uint64_t)64 * CHUNK_CUSTOMERS)
#define FIT_TX 1u
#define FIT_EVENTS 2u

typedef struct fit_block {
    const clv_txlog *log;
    int32_t cutoff, norm;
    uint64_t base, count;     /* customers [base, base + count) */
    double *g;                /* [count][CLV__F_NUMERIC_MAX] */
    uint8_t *flags;           /* [count] FIT_TX | FIT_EVENTS */
} fit_block;

static void fit_chunk(void *ctx, uint32_t k)
{
    fit_block *fb = ctx;
    const uint64_t lo = (uint64_t)k * CHUNK_CUSTOMERS;
    const uint64_t hi = lo + CHUNK_CUSTOMERS < fb->count ? lo + CHUNK_CUSTOMERS : fb->count;
    double f[CLV__F_NUMERIC_MAX];
    for (uint64_t j = lo; j < hi; j++) {
        clv__summary s;
        clv__summarize(fb->log, (uint32_t)(fb->base + j), fb->cutoff, fb->cutoff, &s);
        uint8_t fl = s.views + s.clicks + s.carts > 0 ? FIT_EVENTS : 0;
        if (s.tx) {
            fl |= FIT_TX;
            clv__raw_features(&s, fb->cutoff, f);
            double *gj = fb->g + j * CLV__F_NUMERIC_MAX;
            for (int q = 0; q < CLV__F_NUMERIC_MAX; q++) gj[q] = transform_raw(fb->norm, f[q]);
        }
        fb->flags[j] = fl;
    }
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
    double lo[CLV__F_NUMERIC_MAX], hi[CLV__F_NUMERIC_MAX];
    for (int k = 0; k < CLV__F_NUMERIC_MAX; k++) {
        lo[k] = INFINITY;
        hi[k] = -INFINITY;
    }
    /* Summaries and the g(feature) values come from the threads a block
     * of customers at a time; the statistics are then accumulated here,
     * customer by customer in log order, exactly as a single thread would. */
    const uint64_t ncust = log->ncustomers;
    fit_block fb;
    memset(&fb, 0, sizeof fb);
    fb.log = log;
    fb.cutoff = cutoff;
    fb.norm = p->o.norm;
    const uint32_t nthreads = threads_for(p->o.threads, ncust);
    const uint64_t bsize = ncust < FIT_BLOCK ? (ncust ? ncust : 1) : FIT_BLOCK;
    fb.g = clv__malloc((size_t)bsize * CLV__F_NUMERIC_MAX * sizeof *fb.g);
    fb.flags = clv__malloc((size_t)bsize);
    if (!fb.g || !fb.flags) {
        clv__free(fb.g);
        clv__free(fb.flags);
        clv__free(in_cal);
        return clv__oom();
    }
    for (uint64_t b0 = 0; b0 < ncust; b0 += bsize) {
        fb.base = b0;
        fb.count = ncust - b0 < bsize ? ncust - b0 : bsize;
        run_chunks(nthreads, (uint32_t)((fb.count + CHUNK_CUSTOMERS - 1) / CHUNK_CUSTOMERS), fit_chunk, &fb);
        for (uint64_t j = 0; j < fb.count; j++) {
            const uint8_t fl = fb.flags[j];
            if (fl & FIT_EVENTS) has_events = 1;
            if (!(fl & FIT_TX)) continue;
            in_cal[b0 + j] = 1;
            n++;
            const double *gj = fb.g + j * CLV__F_NUMERIC_MAX;
            for (int k = 0; k < CLV__F_NUMERIC_MAX; k++) {
                double g = gj[k], d = g - mean[k];
                mean[k] += d / (double)n;   /* Welford: totals in the millions stay exact enough */
                m2[k] += d * (g - mean[k]);
                if (g < lo[k]) lo[k] = g;
                if (g > hi[k]) hi[k] = g;
            }
        }
    }
    clv__free(fb.g);
    clv__free(fb.flags);
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

typedef struct transform_ctx {
    const clv_pipeline *p;
    const clv_txlog *log;
    int32_t cutoff, holdout_end;
    uint64_t ncust;
    uint64_t *rows;       /* per chunk: customers in the dataset, then the chunk's first row */
    uint64_t *id_bytes;   /* per chunk: id bytes, then the chunk's first id byte */
    clv_dataset *ds;
    int zero_rows;        /* the dataset came zeroed; else each row is zeroed before it is filled */
    int with_seq;         /* 0: lengths only, no sequences (clv__pipeline_transform_subset) */
    uint32_t *slots[CLV__MAX_CATEGORY_COLUMNS];
    const clv__category_column *cols[CLV__MAX_CATEGORY_COLUMNS];
} transform_ctx;

/* Whether customer ci has a purchase on or before the cutoff: the same test
 * as clv__summarize()'s tx > 0, without the rest of the summary. */
static int in_dataset(const clv_txlog *log, uint32_t ci, int32_t cutoff)
{
    for (uint32_t i = log->customers[ci].head; i != CLV__NO_RECORD; i = log->recs[i].next) {
        const clv__day_rec *r = &log->recs[i];
        if (r->day <= cutoff && r->purchases) return 1;
    }
    return 0;
}

static void count_chunk(void *ctx, uint32_t k)
{
    transform_ctx *tc = ctx;
    const clv_txlog *log = tc->log;
    const uint64_t lo = (uint64_t)k * CHUNK_CUSTOMERS;
    const uint64_t hi = lo + CHUNK_CUSTOMERS < tc->ncust ? lo + CHUNK_CUSTOMERS : tc->ncust;
    uint64_t n = 0, bytes = 0;
    for (uint64_t i = lo; i < hi; i++) {
        if (!in_dataset(log, (uint32_t)i, tc->cutoff)) continue;
        n++;
        bytes += strlen(log->ids + log->customers[i].id_off) + 1;
    }
    tc->rows[k] = n;
    tc->id_bytes[k] = bytes;
}

/* Dataset row `row` from log customer ci, whose summary s has s->tx > 0;
 * its id goes to byte *id_at, which is advanced. Without sequences
 * (tc->with_seq = 0) only the length of the row the full transform would
 * have is recorded. */
static void fill_row(const transform_ctx *tc, uint32_t ci, const clv__summary *s, uint64_t row, uint64_t *id_at)
{
    const clv_pipeline *p = tc->p;
    const clv_txlog *log = tc->log;
    clv_dataset *ds = tc->ds;
    const int32_t cutoff = tc->cutoff;
    const uint32_t T = ds->steps, F = p->n_channels, S = p->n_static;
    double f[CLV__F_NUMERIC_MAX];
    float *st = ds->stat + row * S;
    if (!tc->zero_rows && S) memset(st, 0, (size_t)S * sizeof *st);
    if (tc->with_seq) {
        float *sq = ds->seq + row * T * F;
        if (!tc->zero_rows) memset(sq, 0, (size_t)T * F * sizeof *sq);
        clv__fill_sequence(log, ci, cutoff, s->first_day, &p->o, F, sq, &ds->lengths[row]);
    } else {
        ds->lengths[row] = clv__sequence_length(&p->o, cutoff, s->first_day);
    }
    clv__raw_features(s, cutoff, f);
    for (uint32_t q = 0; q < p->n_numeric; q++)
        st[q] = saturate((transform_raw(p->o.norm, f[q]) - p->shift[q]) * p->scale[q]);
    uint32_t at = p->n_numeric;
    for (uint32_t c = 0; c < p->ncats; c++) {
        uint32_t slot = p->cats[c].nkept;
        if (tc->cols[c]) slot = tc->slots[c][tc->cols[c]->customer_value[ci]];
        st[at + slot] = 1.0f;
        at += p->cats[c].nkept + 1;
    }
    ds->target_spend[row] = (float)s->holdout_spend;
    ds->target_tx[row] = (float)s->holdout_tx;
    ds->target_active[row] = s->holdout_tx > 0 ? 1.0f : 0.0f;
    ds->stages[row] = clv__stage(s, cutoff, &p->o);
    ds->frequency[row] = (float)f[CLV__F_FREQUENCY];
    ds->recency[row] = (float)f[CLV__F_RECENCY];
    ds->age[row] = (float)f[CLV__F_AGE];
    ds->monetary_repeat[row] = (float)f[CLV__F_REPEAT_MEAN];
    ds->cal_spend[row] = (float)s->spend;
    const char *id = log->ids + log->customers[ci].id_off;
    size_t len = strlen(id) + 1;
    memcpy(ds->ids + *id_at, id, len);
    ds->id_off[row] = *id_at;
    *id_at += len;
}

static void fill_chunk(void *ctx, uint32_t k)
{
    const transform_ctx *tc = ctx;
    const uint64_t lo = (uint64_t)k * CHUNK_CUSTOMERS;
    const uint64_t hi = lo + CHUNK_CUSTOMERS < tc->ncust ? lo + CHUNK_CUSTOMERS : tc->ncust;
    uint64_t row = tc->rows[k], id_at = tc->id_bytes[k];
    for (uint64_t i = lo; i < hi; i++) {
        clv__summary s;
        clv__summarize(tc->log, (uint32_t)i, tc->cutoff, tc->holdout_end, &s);
        if (!s.tx) continue;
        fill_row(tc, (uint32_t)i, &s, row++, &id_at);
    }
}

/* The one-hot slots of every fitted categorical column in this log. */
static int match_categories(transform_ctx *tc)
{
    const clv_pipeline *p = tc->p;
    for (uint32_t c = 0; c < p->ncats; c++) {
        tc->cols[c] = match_column(tc->log, &p->cats[c]);
        if (tc->cols[c]) CLV__TRY(category_slots(&p->cats[c], tc->cols[c], &tc->slots[c]));
    }
    return CLV_OK;
}

static void free_categories(transform_ctx *tc)
{
    for (uint32_t c = 0; c < CLV__MAX_CATEGORY_COLUMNS; c++) {
        clv__free(tc->slots[c]);
        tc->slots[c] = NULL;
    }
}

CLV_API int clv_pipeline_transform(const clv_pipeline *p, const clv_txlog *log, int32_t cutoff,
                                   int32_t holdout_end, clv_dataset **out)
{
    static const char fn[] = "clv_pipeline_transform";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    *out = NULL;
    CLV__CHECK_ARG(p != NULL && log != NULL, "%s: pipeline or log is NULL", fn);
    if (!p->fitted) return clv__error(CLV_ESTATE, "%s: the pipeline is not fitted; call clv_pipeline_fit() first", fn);

    /* Pass 1, per chunk of customers: who is in, and how much id text they
     * carry. Prefix sums then give each chunk its first row and id byte, so
     * that pass 2 fills disjoint parts of the output in any order. */
    const uint64_t ncust = log->ncustomers;
    const uint32_t nthreads = threads_for(p->o.threads, ncust);
    const uint32_t nchunks = (uint32_t)((ncust + CHUNK_CUSTOMERS - 1) / CHUNK_CUSTOMERS);
    transform_ctx tc;
    memset(&tc, 0, sizeof tc);
    tc.p = p;
    tc.log = log;
    tc.cutoff = cutoff;
    tc.holdout_end = holdout_end;
    tc.ncust = ncust;
    tc.rows = clv__calloc(nchunks ? nchunks : 1, sizeof *tc.rows);
    tc.id_bytes = clv__calloc(nchunks ? nchunks : 1, sizeof *tc.id_bytes);
    if (!tc.rows || !tc.id_bytes) {
        clv__free(tc.rows);
        clv__free(tc.id_bytes);
        return clv__oom();
    }
    run_chunks(nthreads, nchunks, count_chunk, &tc);
    uint64_t n = 0, ids_len = 0;
    for (uint32_t k = 0; k < nchunks; k++) {
        uint64_t r = tc.rows[k], b = tc.id_bytes[k];
        tc.rows[k] = n;   /* now: first row and first id byte of chunk k */
        tc.id_bytes[k] = ids_len;
        n += r;
        ids_len += b;
    }
    const uint32_t T = p->o.max_steps, F = p->n_channels, S = p->n_static;
    clv_dataset *ds;
    /* Not zeroed here: each row is zeroed by the thread that fills it. The
     * first touch of the multi-gigabyte sequence array is what costs (page
     * faults, and on a VM the host backing fresh memory); spread over the
     * threads it runs in parallel instead of in one calloc'd stretch. */
    tc.zero_rows = 0;
    int rc = clv__dataset_alloc(&ds, n, T, F, S, ids_len, tc.zero_rows);
    if (rc != CLV_OK) {
        clv__free(tc.rows);
        clv__free(tc.id_bytes);
        return rc;
    }
    ds->cutoff = cutoff;
    ds->holdout_end = holdout_end;

    tc.with_seq = 1;
    rc = match_categories(&tc);
    tc.ds = ds;
    /* Pass 2: every chunk fills its rows. */
    if (rc == CLV_OK) run_chunks(nthreads, nchunks, fill_chunk, &tc);
    clv__free(tc.rows);
    clv__free(tc.id_bytes);
    free_categories(&tc);
    if (rc != CLV_OK) {
        clv_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return CLV_OK;
}

int clv__pipeline_members(const clv_txlog *log, int32_t cutoff, uint32_t **out, uint64_t *n)
{
    *out = NULL;
    *n = 0;
    uint32_t *m = clv__calloc(log->ncustomers ? log->ncustomers : 1, sizeof *m);
    if (!m) return clv__oom();
    uint64_t count = 0;
    for (uint64_t i = 0; i < log->ncustomers; i++)
        if (in_dataset(log, (uint32_t)i, cutoff)) m[count++] = (uint32_t)i;
    *out = m;
    *n = count;
    return CLV_OK;
}

int clv__pipeline_transform_subset(const clv_pipeline *p, const clv_txlog *log, int32_t cutoff, int32_t holdout_end,
                                   const uint32_t *members, uint64_t n, int with_seq, clv_dataset **out)
{
    *out = NULL;
    if (!p->fitted) return clv__error(CLV_ESTATE, "clv_pipeline_transform: the pipeline is not fitted; call clv_pipeline_fit() first");
    uint64_t ids_len = 0;
    for (uint64_t r = 0; r < n; r++) ids_len += strlen(log->ids + log->customers[members[r]].id_off) + 1;
    transform_ctx tc;
    memset(&tc, 0, sizeof tc);
    tc.p = p;
    tc.log = log;
    tc.cutoff = cutoff;
    tc.holdout_end = holdout_end;
    tc.ncust = log->ncustomers;
    tc.zero_rows = 1;
    tc.with_seq = with_seq;
    clv_dataset *ds;
    CLV__TRY(clv__dataset_alloc(&ds, n, with_seq ? p->o.max_steps : 0, p->n_channels, p->n_static, ids_len, 1));
    ds->cutoff = cutoff;
    ds->holdout_end = holdout_end;
    tc.ds = ds;
    int rc = match_categories(&tc);
    uint64_t id_at = 0;
    for (uint64_t r = 0; rc == CLV_OK && r < n; r++) {
        clv__summary s;
        clv__summarize(log, members[r], cutoff, holdout_end, &s);
        if (!s.tx) rc = clv__error(CLV_EINVAL, "clv_pipeline_transform: customer %u has no purchase on or before the cutoff", members[r]);
        else fill_row(&tc, members[r], &s, r, &id_at);
    }
    free_categories(&tc);
    if (rc != CLV_OK) {
        clv_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return CLV_OK;
}
