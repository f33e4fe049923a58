/* Honest sliding-cutoff training examples: see examples.h. */
#include "examples.h"

#include <string.h>

#include "../clv_internal.h"

void clv__examples_options_init(clv__examples_options *o)
{
    memset(o, 0, sizeof *o);
    o->windows = 6;
    o->step_days = 14;
    o->window_days = 0;
    o->min_history_days = 28;
    o->valid_share = 0.25;
    clv_pipeline_options_init(&o->pipeline);
    o->pipeline.norm = CLV_NORM_NONE;
}

void clv__examples_free(clv__examples *ex)
{
    if (!ex) return;
    if (ex->names)
        for (uint32_t j = 0; j < ex->features; j++) clv__free(ex->names[j]);
    clv__free(ex->names);
    clv__free(ex->cutoff);
    clv__free(ex->window_end);
    clv__free(ex->row_start);
    clv__free(ex->x);
    clv__free(ex->days);
    clv__free(ex->y_spend);
    clv__free(ex->y_tx);
    clv__free(ex->y_active);
    clv__free(ex->frequency);
    clv__free(ex->recency_days);
    clv__free(ex->age_days);
    clv__free(ex->monetary_repeat);
    clv__free(ex->calibration_spend);
    clv__free(ex->split);
    clv__free(ex->customer_key);
    clv__free(ex->seq);
    clv__free(ex->len);
    clv__free(ex);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = clv__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Allocate the per-row arrays for `rows` rows of `features` columns. */
static int alloc_rows(clv__examples *ex, uint64_t rows)
{
    size_t nx;
    if (clv__mul_size((size_t)rows, ex->features, &nx) != 0 || rows > SIZE_MAX / sizeof(float))
        return clv__error(CLV_ENOMEM, "sliding-cutoff examples: %llu rows do not fit in memory",
                          (unsigned long long)rows);
    const size_t n = rows ? (size_t)rows : 1;
    ex->x = clv__calloc(nx ? nx : 1, sizeof(float));
    float **cols[] = { &ex->days, &ex->y_spend, &ex->y_tx, &ex->y_active, &ex->frequency,
                       &ex->recency_days, &ex->age_days, &ex->monetary_repeat, &ex->calibration_spend };
    ex->split = clv__calloc(n, 1);
    ex->customer_key = clv__calloc(n, sizeof(uint64_t));
    int ok = ex->x != NULL && ex->split != NULL && ex->customer_key != NULL;
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        *cols[c] = clv__calloc(n, sizeof(float));
        ok = ok && *cols[c] != NULL;
    }
    return ok ? CLV_OK : clv__oom();
}

/* Sequence storage for every row; every window's dataset must have the
 * same shape (the pipeline pads to max_steps). */
static int alloc_sequences(clv__examples *ex, clv_dataset *const *dsl, uint32_t K)
{
    ex->steps = clv_dataset_steps(dsl[0]);
    ex->seq_features = clv_dataset_seq_features(dsl[0]);
    for (uint32_t k = 1; k < K; k++)
        if (clv_dataset_steps(dsl[k]) != ex->steps || clv_dataset_seq_features(dsl[k]) != ex->seq_features)
            return clv__error(CLV_ESTATE, "sliding-cutoff examples: the sequences at cutoff %u are %u x %u, "
                              "at cutoff 0 %u x %u", k, clv_dataset_steps(dsl[k]),
                              clv_dataset_seq_features(dsl[k]), ex->steps, ex->seq_features);
    size_t per, total;
    if (clv__mul_size((size_t)ex->steps, ex->seq_features, &per) != 0 ||
        clv__mul_size(per, (size_t)ex->rows, &total) != 0 || total > SIZE_MAX / sizeof(float))
        return clv__error(CLV_ENOMEM, "sliding-cutoff examples: sequences of %llu rows do not fit in memory",
                          (unsigned long long)ex->rows);
    ex->seq = clv__calloc(total ? total : 1, sizeof(float));
    ex->len = clv__calloc(ex->rows ? (size_t)ex->rows : 1, sizeof(int32_t));
    return ex->seq && ex->len ? CLV_OK : clv__oom();
}

/* Fit a pipeline at `cutoff` and transform with holdout end `end` (<= the
 * evaluation cutoff, or <= cutoff for no targets). */
static int dataset_at(const clv_txlog *log, const clv_pipeline_options *po, int32_t cutoff, int32_t end,
                      clv_pipeline **pout, clv_dataset **dout)
{
    clv_pipeline *p;
    CLV__TRY(clv_pipeline_new(&p, po));
    clv_dataset *ds = NULL;
    int rc = clv_pipeline_fit(p, log, cutoff);
    if (rc == CLV_OK) rc = clv_pipeline_transform(p, log, cutoff, end, &ds);
    if (rc != CLV_OK) {
        clv_pipeline_free(p);
        return rc;
    }
    *pout = p;
    *dout = ds;
    return CLV_OK;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Validation customer: the hash, mixed (splitmix64's finaliser: FNV-1a's
 * high bits are poor for short, similar ids), as a uniform number in [0, 1). */
static int is_valid_customer(uint64_t key, double share)
{
    uint64_t z = key;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0) < share;
}

/* Copy dataset rows into ex at row offset r0, with window length h; `last`
 * is non-zero for the latest window of a training set. */
static void copy_rows(clv__examples *ex, const clv_dataset *ds, uint64_t r0, float h, int last, double share)
{
    const uint64_t n = clv_dataset_customers(ds);
    const uint32_t S = clv_dataset_static_features(ds), F = ex->features;
    const float *st = clv_dataset_static(ds);
    for (uint64_t i = 0; i < n; i++) {
        float *row = ex->x + (size_t)(r0 + i) * F;
        if (S) memcpy(row, st + (size_t)i * S, S * sizeof(float));
        row[S] = h;
        ex->days[r0 + i] = h;
        const uint64_t key = fnv1a(clv_dataset_customer_id(ds, i));
        const int vc = is_valid_customer(key, share);
        ex->customer_key[r0 + i] = key;
        if (share < 0) ex->split[r0 + i] = CLV__EX_REFIT;   /* prediction rows */
        else if (share == 0) ex->split[r0 + i] = last ? CLV__EX_VALID : CLV__EX_TRAIN;
        else if (last) ex->split[r0 + i] = vc ? CLV__EX_VALID : CLV__EX_REFIT;
        else ex->split[r0 + i] = vc ? CLV__EX_REFIT : CLV__EX_TRAIN;
        ex->train_rows += ex->split[r0 + i] == CLV__EX_TRAIN;
        ex->valid_rows += ex->split[r0 + i] == CLV__EX_VALID;
    }
    memcpy(ex->y_spend + r0, clv_dataset_target_spend(ds), (size_t)n * sizeof(float));
    memcpy(ex->y_tx + r0, clv_dataset_target_transactions(ds), (size_t)n * sizeof(float));
    memcpy(ex->y_active + r0, clv_dataset_target_active(ds), (size_t)n * sizeof(float));
    memcpy(ex->frequency + r0, clv_dataset_frequency(ds), (size_t)n * sizeof(float));
    memcpy(ex->recency_days + r0, clv_dataset_recency_days(ds), (size_t)n * sizeof(float));
    memcpy(ex->age_days + r0, clv_dataset_age_days(ds), (size_t)n * sizeof(float));
    memcpy(ex->monetary_repeat + r0, clv_dataset_monetary_repeat(ds), (size_t)n * sizeof(float));
    memcpy(ex->calibration_spend + r0, clv_dataset_calibration_spend(ds), (size_t)n * sizeof(float));
    if (ex->seq) {
        const size_t per = (size_t)ex->steps * ex->seq_features;
        memcpy(ex->seq + (size_t)r0 * per, clv_dataset_sequences(ds), (size_t)n * per * sizeof(float));
        memcpy(ex->len + r0, clv_dataset_lengths(ds), (size_t)n * sizeof(int32_t));
    }
}

static int set_names(clv__examples *ex, const clv_pipeline *p, uint32_t S)
{
    ex->features = S + 1;
    ex->names = clv__calloc(ex->features, sizeof(char *));
    if (!ex->names) return clv__oom();
    for (uint32_t j = 0; j < S; j++) {
        const char *nm = clv_pipeline_static_feature_name(p, j);
        if (!(ex->names[j] = dup_str(nm ? nm : "?"))) return clv__oom();
    }
    if (!(ex->names[S] = dup_str("window_days"))) return clv__oom();
    return CLV_OK;
}

static int same_features(const clv_pipeline *a, const clv_pipeline *b)
{
    const uint32_t S = clv_pipeline_static_features(a);
    if (clv_pipeline_static_features(b) != S) return 0;
    for (uint32_t j = 0; j < S; j++) {
        const char *x = clv_pipeline_static_feature_name(a, j), *y = clv_pipeline_static_feature_name(b, j);
        if (!x || !y || strcmp(x, y) != 0) return 0;
    }
    return 1;
}

/* Build from K (cutoff, end) pairs, ascending cutoffs. */
static int build(const clv_txlog *log, const clv_pipeline_options *po, uint32_t K, const int32_t *cut,
                 const int32_t *end, const float *h, double share, int keep_seq, clv__examples **out)
{
    clv__examples *ex = clv__calloc(1, sizeof *ex);
    if (!ex) return clv__oom();
    clv_pipeline **pl = clv__calloc(K, sizeof *pl);
    clv_dataset **dsl = clv__calloc(K, sizeof *dsl);
    ex->windows = K;
    ex->cutoff = clv__calloc(K, sizeof(int32_t));
    ex->window_end = clv__calloc(K, sizeof(int32_t));
    ex->row_start = clv__calloc(K + 1, sizeof(uint64_t));
    int rc = pl && dsl && ex->cutoff && ex->window_end && ex->row_start ? CLV_OK : clv__oom();
    uint32_t S = 0;
    for (uint32_t k = 0; rc == CLV_OK && k < K; k++) {
        rc = dataset_at(log, po, cut[k], end[k], &pl[k], &dsl[k]);
        if (rc != CLV_OK) break;
        const uint64_t n = clv_dataset_customers(dsl[k]);
        const uint32_t s = clv_dataset_static_features(dsl[k]);
        char day[16];
        if (n == 0) {
            if (clv_date_format(cut[k], day, sizeof day) != CLV_OK) day[0] = 0;
            rc = clv__error(CLV_ESTATE, "sliding-cutoff examples: nobody bought on or before the cutoff %s", day);
        } else if (k > 0 && !same_features(pl[0], pl[k])) {
            /* Category slots are fitted per cutoff: they can differ over time. */
            rc = clv__error(CLV_ESTATE,
                            "sliding-cutoff examples: the static features at cutoff %u (%u) differ from those "
                            "at cutoff 0 (%u): the categories kept changed over time; lower max_categories",
                            k, s, S);
        }
        S = s;
        ex->cutoff[k] = cut[k];
        ex->window_end[k] = end[k];
        ex->row_start[k + 1] = ex->row_start[k] + n;
    }
    if (rc == CLV_OK) rc = set_names(ex, pl[K - 1], S);
    if (rc == CLV_OK) {
        ex->rows = ex->row_start[K];
        rc = alloc_rows(ex, ex->rows);
    }
    if (rc == CLV_OK && keep_seq) rc = alloc_sequences(ex, dsl, K);
    for (uint32_t k = 0; rc == CLV_OK && k < K; k++) copy_rows(ex, dsl[k], ex->row_start[k], h[k], k + 1 == K, share);
    if (rc == CLV_OK && share >= 0 && (ex->train_rows == 0 || ex->valid_rows == 0))
        rc = clv__error(CLV_ESTATE,
                        "sliding-cutoff examples: %llu training and %llu validation rows; both must be non-empty "
                        "(too few customers for a validation share of %g)",
                        (unsigned long long)ex->train_rows, (unsigned long long)ex->valid_rows, share);
    for (uint32_t k = 0; k < K; k++) {
        if (dsl) clv_dataset_free(dsl[k]);
        if (pl) clv_pipeline_free(pl[k]);
    }
    clv__free(dsl);
    clv__free(pl);
    if (rc != CLV_OK) {
        clv__examples_free(ex);
        return rc;
    }
    *out = ex;
    return CLV_OK;
}

static int check_common(const char *fn, const clv_txlog *log, uint32_t horizon, const clv__examples_options *o,
                        clv__examples **out)
{
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    *out = NULL;
    CLV__CHECK_ARG(log != NULL, "%s: log is NULL", fn);
    CLV__CHECK_ARG(horizon >= 1 && horizon <= 36500, "%s: horizon %u days, must be 1 .. 36500", fn, horizon);
    CLV__CHECK_ARG(o->windows >= 2 && o->windows <= 1000, "%s: windows = %u, must be 2 .. 1000", fn, o->windows);
    CLV__CHECK_ARG(o->step_days >= 1 && o->step_days <= 36500, "%s: step_days = %u, must be 1 .. 36500", fn,
                   o->step_days);
    CLV__CHECK_ARG(o->window_days <= 36500, "%s: window_days = %u, must be at most 36500", fn, o->window_days);
    CLV__CHECK_ARG(o->valid_share >= 0 && o->valid_share < 1, "%s: valid_share = %g, must be in [0, 1)", fn,
                   o->valid_share);
    CLV__CHECK_ARG(o->min_history_days <= 36500, "%s: min_history_days = %u, must be at most 36500", fn,
                   o->min_history_days);
    return CLV_OK;
}

int clv__examples_build(const clv_txlog *log, int32_t C, uint32_t H, const clv__examples_options *opts,
                        clv__examples **out)
{
    static const char fn[] = "sliding-cutoff examples";
    clv__examples_options o;
    if (opts) o = *opts;
    else clv__examples_options_init(&o);
    CLV__TRY(check_common(fn, log, H, &o, out));
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    CLV__TRY(clv_txlog_get_report(log, &rep));
    CLV__CHECK_ARG(rep.customers > 0 && rep.first_day <= C, "%s: the log has nothing on or before the cutoff", fn);
    const int64_t first = rep.first_day, span = (int64_t)C - first;
    int64_t h = o.window_days ? (int64_t)o.window_days : span / 2;
    if (h > (int64_t)H) h = H;
    if (h < 1)
        return clv__error(CLV_ESTATE, "%s: calibration of %lld days is too short for a target window", fn,
                          (long long)span);
    /* Cutoffs from the latest (C - h) back; keep those >= first + min_history. */
    const int64_t earliest = first + (int64_t)o.min_history_days;
    uint32_t K = 0;
    for (uint32_t j = 0; j < o.windows; j++) {
        int64_t c = (int64_t)C - h - (int64_t)j * o.step_days;
        if (c < earliest) break;
        K++;
    }
    if (K < 2)
        return clv__error(CLV_ESTATE,
                          "%s: calibration of %lld days leaves %u cutoff(s) at least %u days after the first "
                          "day with a %lld-day target window; need 2 (one to train, one to validate)",
                          fn, (long long)span, K, o.min_history_days, (long long)h);
    int32_t cut[1000], end[1000];
    float len[1000];
    for (uint32_t k = 0; k < K; k++) {
        const uint32_t j = K - 1 - k;   /* ascending cutoffs */
        const int64_t c = (int64_t)C - h - (int64_t)j * o.step_days;
        int64_t hk = (int64_t)C - c;
        if (hk > (int64_t)H) hk = H;
        cut[k] = (int32_t)c;
        end[k] = (int32_t)(c + hk);
        len[k] = (float)hk;
    }
    return build(log, &o.pipeline, K, cut, end, len, o.valid_share, o.keep_sequences, out);
}

int clv__examples_build_predict(const clv_txlog *log, int32_t C, uint32_t H, const clv__examples_options *opts,
                                clv__examples **out)
{
    static const char fn[] = "sliding-cutoff examples (prediction rows)";
    clv__examples_options o;
    if (opts) o = *opts;
    else clv__examples_options_init(&o);
    CLV__TRY(check_common(fn, log, H, &o, out));
    const int32_t end = (int32_t)((int64_t)C + H);
    const float len = (float)H;
    /* Transform with holdout end = C: no targets, nothing after C is read. */
    clv__examples *ex = NULL;
    CLV__TRY(build(log, &o.pipeline, 1, &C, &C, &len, -1.0, o.keep_sequences, &ex));
    ex->window_end[0] = end;
    *out = ex;
    return CLV_OK;
}

int clv__examples_same_columns(const clv__examples *a, const clv__examples *b)
{
    if (!a || !b || a->features != b->features) return 0;
    for (uint32_t j = 0; j < a->features; j++)
        if (strcmp(a->names[j], b->names[j]) != 0) return 0;
    return 1;
}
