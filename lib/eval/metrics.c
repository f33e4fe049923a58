/* Evaluation metrics; the definitions are in clv/metrics.h and docs/metrics.md.
 *
 * Everything rank-based works on one array of 64-bit words: the high 32 bits
 * are an order-preserving key of a float (the value sorted on), the low 32
 * bits a payload (the key of the other float, a doubled rank or a label).
 * A least-significant-digit radix sort on the high half is stable, so rows
 * with equal keys keep the order they had: built in input order, ties stay
 * in input order, which is exactly the decile rule. Scratch is two such
 * arrays (16 bytes per row); time is O(n).
 *
 * Sums are accumulated in double with Neumaier compensation, so results do
 * not drift with n (10^7 rows sum to full double accuracy). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../clv_internal.h"

/* ---- small helpers ------------------------------------------------------- */

/* Compensated (Neumaier) sum. */
typedef struct ksum {
    double s, c;
} ksum;

static void kadd(ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static double kval(const ksum *k) { return k->s + k->c; }

/* Order-preserving map float -> uint32 (finite input): unsigned comparison
 * of keys equals float comparison of values. -0 is mapped like +0 so that
 * the two compare equal, as they do as floats. */
static uint32_t fkey(float x)
{
    uint32_t b;
    if (x == 0.0f) x = 0.0f;
    memcpy(&b, &x, sizeof b);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

/* Inverse of fkey (gives +0 for either zero). */
static float fval(uint32_t k)
{
    uint32_t b = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static uint32_t hi32(uint64_t w) { return (uint32_t)(w >> 32); }
static uint32_t lo32(uint64_t w) { return (uint32_t)(w & 0xffffffffu); }
static uint64_t pack(uint32_t hi, uint32_t lo) { return ((uint64_t)hi << 32) | lo; }

/* Stable LSD radix sort of a[0..n) by the high 32 bits, four 8-bit passes
 * (a pass whose digit is the same for every row is skipped). tmp has room
 * for n words. Returns whichever of a and tmp holds the result. */
static uint64_t *sort_hi(uint64_t *a, uint64_t *tmp, size_t n)
{
    size_t hist[4][256];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = hi32(a[i]);
        hist[0][k & 0xffu]++;
        hist[1][(k >> 8) & 0xffu]++;
        hist[2][(k >> 16) & 0xffu]++;
        hist[3][k >> 24]++;
    }
    uint64_t *src = a, *dst = tmp;
    for (unsigned p = 0; p < 4; p++) {
        unsigned shift = 32 + 8 * p;
        if (hist[p][(src[0] >> shift) & 0xffu] == n) continue;
        size_t off[256], run = 0;
        for (unsigned d = 0; d < 256; d++) {
            off[d] = run;
            run += hist[p][d];
        }
        for (size_t i = 0; i < n; i++) dst[off[(src[i] >> shift) & 0xffu]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

static const char *nonfinite_name(float v)
{
    if (isnan(v)) return "NaN";
    return v > 0.0f ? "+Inf" : "-Inf";
}

static int check_array(const char *fn, const char *name, const float *x, size_t n)
{
    size_t bad = 0;
    CLV__CHECK_ARG(x != NULL, "%s: %s is NULL", fn, name);
    if (!clv__all_finite(x, n, &bad))
        return clv__error(CLV_EINVAL, "%s: %s[%zu] is %s", fn, name, bad, nonfinite_name(x[bad]));
    return CLV_OK;
}

static int check_n(const char *fn, uint64_t n, uint64_t min)
{
    CLV__CHECK_ARG(n >= min, "%s: n is %llu, need at least %llu", fn, (unsigned long long)n,
                   (unsigned long long)min);
    CLV__CHECK_ARG(n <= CLV_METRICS_MAX_N, "%s: n is %llu, above CLV_METRICS_MAX_N (%u)", fn,
                   (unsigned long long)n, CLV_METRICS_MAX_N);
    return CLV_OK;
}

/* The common argument checks of the pred/actual metrics. */
static int check_pair(const char *fn, uint64_t n, uint64_t min, const float *pred,
                      const float *actual, const void *out)
{
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__TRY(check_n(fn, n, min));
    CLV__TRY(check_array(fn, "pred", pred, (size_t)n));
    CLV__TRY(check_array(fn, "actual", actual, (size_t)n));
    return CLV_OK;
}

/* ---- elementwise metrics --------------------------------------------------- */

typedef struct basic {
    double mae, rmse, r2, total_pct;
    const char *r2_why, *total_why;
} basic;

static void basic_metrics(size_t n, const float *pred, const float *actual, basic *b)
{
    ksum abs_err = { 0, 0 }, sq_err = { 0, 0 }, sum_p = { 0, 0 }, sum_a = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - (double)actual[i];
        kadd(&abs_err, fabs(d));
        kadd(&sq_err, d * d);
        kadd(&sum_p, pred[i]);
        kadd(&sum_a, actual[i]);
    }
    double sa = kval(&sum_a), mean_a = sa / (double)n, sse = kval(&sq_err);
    ksum sst_k = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        double c = (double)actual[i] - mean_a;
        kadd(&sst_k, c * c);
    }
    double sst = kval(&sst_k);
    b->mae = kval(&abs_err) / (double)n;
    b->rmse = sqrt(sse / (double)n);
    b->r2_why = NULL;
    b->total_why = NULL;
    if (sst > 0.0) {
        b->r2 = 1.0 - sse / sst;
    } else {
        b->r2 = NAN;
        b->r2_why = "R^2 is undefined: every actual value is equal (SST = 0)";
    }
    if (sa != 0.0) {
        b->total_pct = 100.0 * (kval(&sum_p) - sa) / sa;
    } else {
        b->total_pct = NAN;
        b->total_why = "total % error is undefined: the actual values sum to 0";
    }
}

/* ---- rank-based metrics ------------------------------------------------------ */

enum { WANT_SPEARMAN = 1, WANT_GINI = 2, WANT_DECILE = 4 };

typedef struct ranked {
    double spearman, gini;
    const char *spearman_why, *gini_why;
    double mean_pred[CLV_DECILES], mean_actual[CLV_DECILES];
    uint64_t count[CLV_DECILES];
} ranked;

/* Bucket k holds sorted positions [k*n/10, (k+1)*n/10); s is sorted by pred
 * (high) and carries actual's key (low). */
static void decile_means(const uint64_t *s, size_t n, ranked *r)
{
    for (uint64_t k = 0; k < CLV_DECILES; k++) {
        size_t lo = (size_t)(k * n / CLV_DECILES), hi = (size_t)((k + 1) * n / CLV_DECILES);
        ksum p = { 0, 0 }, a = { 0, 0 };
        for (size_t j = lo; j < hi; j++) {
            kadd(&p, fval(hi32(s[j])));
            kadd(&a, fval(lo32(s[j])));
        }
        r->count[k] = hi - lo;
        r->mean_pred[k] = kval(&p) / (double)(hi - lo);
        r->mean_actual[k] = kval(&a) / (double)(hi - lo);
    }
}

/* Sum of the gain curve times the total: s is sorted ascending by the high
 * key and walked from the end (descending). Each tie block of m rows with
 * value sum B after a running total C contributes, every row counting B/m,
 *   sum_{j=1..m} (C + j B/m) = m C + B (m + 1) / 2.
 * The value of a row is fval of its high or low half (value_hi). */
static double gain_sum(const uint64_t *s, size_t n, int value_hi)
{
    ksum t = { 0, 0 }, c = { 0, 0 };
    size_t hi = n;
    while (hi > 0) {
        size_t lo = hi - 1;
        uint32_t key = hi32(s[lo]);
        while (lo > 0 && hi32(s[lo - 1]) == key) lo--;
        ksum b = { 0, 0 };
        for (size_t j = lo; j < hi; j++) kadd(&b, fval(value_hi ? hi32(s[j]) : lo32(s[j])));
        double m = (double)(hi - lo), bs = kval(&b);
        kadd(&t, m * kval(&c));
        kadd(&t, bs * (m + 1.0) / 2.0);
        kadd(&c, bs);
        hi = lo;
    }
    return kval(&t);
}

/* s sorted by pred with actual's key in the low half. Replace each word by
 * (actual key, doubled average rank of pred) and return the sum over rows of
 * (2 rank - (n + 1))^2. The rows lo..hi-1 of a tie block hold ranks lo+1..hi,
 * whose mean doubled is lo + hi + 1 <= 2n < 2^32. */
static double rank_pred(uint64_t *s, size_t n)
{
    ksum var = { 0, 0 };
    size_t lo = 0;
    while (lo < n) {
        size_t hi = lo + 1;
        while (hi < n && hi32(s[hi]) == hi32(s[lo])) hi++;
        uint64_t r2 = (uint64_t)lo + hi + 1;
        double c = (double)r2 - ((double)n + 1.0);
        kadd(&var, (double)(hi - lo) * c * c);
        for (size_t j = lo; j < hi; j++) s[j] = pack(lo32(s[j]), (uint32_t)r2);
        lo = hi;
    }
    return kval(&var);
}

/* s sorted by actual with pred's doubled rank in the low half: the centred
 * cross product and actual's centred sum of squares (both times 4). Summed
 * exactly like rank_pred's, so identical orders give cov == var_p == var_a. */
static void rank_actual(const uint64_t *s, size_t n, double *cov, double *var)
{
    const int64_t mid = (int64_t)n + 1;
    ksum cv = { 0, 0 }, va = { 0, 0 };
    size_t lo = 0;
    while (lo < n) {
        size_t hi = lo + 1;
        while (hi < n && hi32(s[hi]) == hi32(s[lo])) hi++;
        int64_t ca = (int64_t)lo + (int64_t)hi + 1 - mid, sum_cp = 0;
        for (size_t j = lo; j < hi; j++) sum_cp += (int64_t)lo32(s[j]) - mid;
        kadd(&va, (double)(hi - lo) * (double)ca * (double)ca);
        kadd(&cv, (double)ca * (double)sum_cp);
        lo = hi;
    }
    *cov = kval(&cv);
    *var = kval(&va);
}

/* Spearman, normalised Gini and/or the decile means, as `want` asks. The
 * caller has validated the inputs (and n >= 10 for the deciles). */
static int rank_metrics(size_t n, const float *pred, const float *actual, unsigned want,
                        ranked *r)
{
    r->spearman = r->gini = NAN;
    r->spearman_why = r->gini_why = NULL;
    size_t bytes;
    if (clv__mul_size(n, 2 * sizeof(uint64_t), &bytes) != 0) return clv__oom();
    uint64_t *buf = clv__malloc(bytes);
    if (!buf) return clv__oom();

    for (size_t i = 0; i < n; i++) buf[i] = pack(fkey(pred[i]), fkey(actual[i]));
    uint64_t *s = sort_hi(buf, buf + n, n);
    uint64_t *other = s == buf ? buf + n : buf;

    if (want & WANT_DECILE) decile_means(s, n, r);

    double total = 0.0, gain_model = 0.0;
    if (want & WANT_GINI) {
        ksum t = { 0, 0 };
        for (size_t i = 0; i < n; i++) kadd(&t, actual[i]);
        total = kval(&t);
        if (total > 0.0)
            gain_model = gain_sum(s, n, 0);
        else
            r->gini_why = "normalised Gini is undefined: the actual values sum to <= 0";
    }

    if (want & (WANT_SPEARMAN | WANT_GINI)) {
        double var_p = rank_pred(s, n);
        s = sort_hi(s, other, n);
        if ((want & WANT_GINI) && total > 0.0) {
            double nt = (double)n * total;
            double raw_model = 2.0 * gain_model / nt - 1.0;
            double raw_true = 2.0 * gain_sum(s, n, 1) / nt - 1.0;
            /* raw_true >= 1/n whenever total > 0; the test guards rounding only. */
            if (raw_true > 0.0)
                r->gini = raw_model / raw_true;
            else
                r->gini_why = "normalised Gini is undefined: the true order has raw Gini <= 0";
        }
        if (want & WANT_SPEARMAN) {
            double cov, var_a;
            rank_actual(s, n, &cov, &var_a);
            if (var_p > 0.0 && var_a > 0.0) {
                double rho = cov / sqrt(var_p * var_a);
                r->spearman = rho > 1.0 ? 1.0 : rho < -1.0 ? -1.0 : rho;
            } else {
                r->spearman_why = var_p > 0.0
                    ? "Spearman is undefined: every actual value is equal"
                    : "Spearman is undefined: every prediction is equal";
            }
        }
    }
    clv__free(buf);
    return CLV_OK;
}

/* Mean over buckets with non-zero mean actual of |mp - ma| / |ma|. */
static const char *decile_mape(const ranked *r, double *out)
{
    ksum sum = { 0, 0 };
    unsigned used = 0;
    for (unsigned k = 0; k < CLV_DECILES; k++) {
        if (r->mean_actual[k] == 0.0) continue;
        kadd(&sum, fabs(r->mean_pred[k] - r->mean_actual[k]) / fabs(r->mean_actual[k]));
        used++;
    }
    if (used == 0) return "decile MAPE is undefined: every decile's mean actual value is 0";
    *out = kval(&sum) / (double)used;
    return NULL;
}

/* ---- public API --------------------------------------------------------------- */

#define COVERS(m, f) ((size_t)(m)->struct_size >= offsetof(clv_metrics, f) + sizeof((m)->f))

CLV_API void clv_metrics_init(clv_metrics *m)
{
    if (!m) return;
    m->struct_size = (uint32_t)sizeof *m;
    m->mae = m->rmse = m->r2 = m->spearman = m->gini_norm = m->decile_mape =
        m->total_pct_error = NAN;
}

CLV_API int clv_metrics_compute(uint64_t n, const float *pred, const float *actual,
                                clv_metrics *out)
{
    static const char fn[] = "clv_metrics_compute";
    CLV__TRY(check_pair(fn, n, 1, pred, actual, out));
    CLV__CHECK_ARG(COVERS(out, mae),
                   "%s: out->struct_size %u is too small (fill out with clv_metrics_init())", fn,
                   (unsigned)out->struct_size);
    size_t nn = (size_t)n;
    basic b;
    basic_metrics(nn, pred, actual, &b);

    unsigned want = 0;
    if (COVERS(out, spearman)) want |= WANT_SPEARMAN;
    if (COVERS(out, gini_norm)) want |= WANT_GINI;
    if (COVERS(out, decile_mape) && nn >= CLV_DECILES) want |= WANT_DECILE;
    ranked r;
    r.spearman = r.gini = NAN;
    double mape = NAN;
    if (want) {
        CLV__TRY(rank_metrics(nn, pred, actual, want, &r));
        if ((want & WANT_DECILE) && decile_mape(&r, &mape) != NULL) mape = NAN;
    }

    out->mae = b.mae;
    if (COVERS(out, rmse)) out->rmse = b.rmse;
    if (COVERS(out, r2)) out->r2 = b.r2;
    if (COVERS(out, spearman)) out->spearman = r.spearman;
    if (COVERS(out, gini_norm)) out->gini_norm = r.gini;
    if (COVERS(out, decile_mape)) out->decile_mape = mape;
    if (COVERS(out, total_pct_error)) out->total_pct_error = b.total_pct;
    return CLV_OK;
}

CLV_API int clv_metric_mae(uint64_t n, const float *pred, const float *actual, double *out)
{
    CLV__TRY(check_pair("clv_metric_mae", n, 1, pred, actual, out));
    basic b;
    basic_metrics((size_t)n, pred, actual, &b);
    *out = b.mae;
    return CLV_OK;
}

CLV_API int clv_metric_rmse(uint64_t n, const float *pred, const float *actual, double *out)
{
    CLV__TRY(check_pair("clv_metric_rmse", n, 1, pred, actual, out));
    basic b;
    basic_metrics((size_t)n, pred, actual, &b);
    *out = b.rmse;
    return CLV_OK;
}

CLV_API int clv_metric_r2(uint64_t n, const float *pred, const float *actual, double *out)
{
    static const char fn[] = "clv_metric_r2";
    CLV__TRY(check_pair(fn, n, 1, pred, actual, out));
    basic b;
    basic_metrics((size_t)n, pred, actual, &b);
    if (b.r2_why) return clv__error(CLV_EINVAL, "%s: %s", fn, b.r2_why);
    *out = b.r2;
    return CLV_OK;
}

CLV_API int clv_metric_total_pct_error(uint64_t n, const float *pred, const float *actual,
                                       double *out)
{
    static const char fn[] = "clv_metric_total_pct_error";
    CLV__TRY(check_pair(fn, n, 1, pred, actual, out));
    basic b;
    basic_metrics((size_t)n, pred, actual, &b);
    if (b.total_why) return clv__error(CLV_EINVAL, "%s: %s", fn, b.total_why);
    *out = b.total_pct;
    return CLV_OK;
}

CLV_API int clv_metric_spearman(uint64_t n, const float *pred, const float *actual, double *out)
{
    static const char fn[] = "clv_metric_spearman";
    CLV__TRY(check_pair(fn, n, 1, pred, actual, out));
    ranked r;
    CLV__TRY(rank_metrics((size_t)n, pred, actual, WANT_SPEARMAN, &r));
    if (r.spearman_why) return clv__error(CLV_EINVAL, "%s: %s", fn, r.spearman_why);
    *out = r.spearman;
    return CLV_OK;
}

CLV_API int clv_metric_gini_norm(uint64_t n, const float *pred, const float *actual, double *out)
{
    static const char fn[] = "clv_metric_gini_norm";
    CLV__TRY(check_pair(fn, n, 1, pred, actual, out));
    ranked r;
    CLV__TRY(rank_metrics((size_t)n, pred, actual, WANT_GINI, &r));
    if (r.gini_why) return clv__error(CLV_EINVAL, "%s: %s", fn, r.gini_why);
    *out = r.gini;
    return CLV_OK;
}

CLV_API int clv_metric_decile_mape(uint64_t n, const float *pred, const float *actual,
                                   double *out)
{
    static const char fn[] = "clv_metric_decile_mape";
    CLV__TRY(check_pair(fn, n, CLV_DECILES, pred, actual, out));
    ranked r;
    CLV__TRY(rank_metrics((size_t)n, pred, actual, WANT_DECILE, &r));
    double v = 0.0;
    const char *why = decile_mape(&r, &v);
    if (why) return clv__error(CLV_EINVAL, "%s: %s", fn, why);
    *out = v;
    return CLV_OK;
}

CLV_API int clv_decile_table(uint64_t n, const float *pred, const float *actual,
                             double *mean_pred, double *mean_actual, uint64_t *count)
{
    static const char fn[] = "clv_decile_table";
    CLV__CHECK_ARG(mean_pred != NULL, "%s: mean_pred is NULL", fn);
    CLV__CHECK_ARG(mean_actual != NULL, "%s: mean_actual is NULL", fn);
    CLV__TRY(check_pair(fn, n, CLV_DECILES, pred, actual, mean_pred));
    ranked r;
    CLV__TRY(rank_metrics((size_t)n, pred, actual, WANT_DECILE, &r));
    for (unsigned k = 0; k < CLV_DECILES; k++) {
        mean_pred[k] = r.mean_pred[k];
        mean_actual[k] = r.mean_actual[k];
        if (count) count[k] = r.count[k];
    }
    return CLV_OK;
}

CLV_API int clv_metric_auc(uint64_t n, const float *score, const float *label, double *out)
{
    static const char fn[] = "clv_metric_auc";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__TRY(check_n(fn, n, 1));
    CLV__TRY(check_array(fn, "score", score, (size_t)n));
    CLV__TRY(check_array(fn, "label", label, (size_t)n));
    size_t nn = (size_t)n;
    uint64_t pos = 0;
    for (size_t i = 0; i < nn; i++) {
        CLV__CHECK_ARG(label[i] == 0.0f || label[i] == 1.0f, "%s: label[%zu] is %g, not 0 or 1",
                       fn, i, (double)label[i]);
        pos += label[i] == 1.0f;
    }
    uint64_t neg = (uint64_t)nn - pos;
    CLV__CHECK_ARG(pos > 0 && neg > 0,
                   "%s: AUC is undefined: only one class present (%llu positives, %llu negatives)",
                   fn, (unsigned long long)pos, (unsigned long long)neg);

    size_t bytes;
    if (clv__mul_size(nn, 2 * sizeof(uint64_t), &bytes) != 0) return clv__oom();
    uint64_t *buf = clv__malloc(bytes);
    if (!buf) return clv__oom();
    for (size_t i = 0; i < nn; i++) buf[i] = pack(fkey(score[i]), label[i] == 1.0f);
    const uint64_t *s = sort_hi(buf, buf + nn, nn);

    /* Twice the Mann-Whitney U, exactly: a block with p positives and q
     * negatives above `below` negatives adds 2 p below + p q. The total is at
     * most 2 pos neg < 2^62. */
    uint64_t u2 = 0, below = 0;
    size_t lo = 0;
    while (lo < nn) {
        size_t hi = lo;
        uint64_t p = 0;
        while (hi < nn && hi32(s[hi]) == hi32(s[lo])) p += lo32(s[hi++]);
        uint64_t q = (uint64_t)(hi - lo) - p;
        u2 += 2 * p * below + p * q;
        below += q;
        lo = hi;
    }
    clv__free(buf);
    *out = (double)u2 / (2.0 * (double)pos * (double)neg);
    return CLV_OK;
}
