/* BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").
 *
 * Per customer, with theta = (r, alpha, a, b):
 *   L = B(a, b+x)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
 *     + [x > 0] B(a+1, b+x-1)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))
 * evaluated as log A1 + log A2 + logaddexp(A3, A4).
 *
 * Conditional expectation over a horizon t:
 *   E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1)
 *       * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
 *       / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)),
 * and P(alive | x, t_x, T) = 1 / (the same denominator). */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>

#include "btyd_impl.h"

static const char *const NAMES[4] = { "r", "alpha", "a", "b" };

/* Below this |a - 1| the standard form cancels (0/0 at a = 1). */
#define NEAR_A1 0.01
/* Below this |a + b + x - 1| the 2F1's c approaches its pole at 0. */
#define NEAR_C0 1e-8
#define SERIES_TERMS 1000000L

typedef struct bg_state {
    double r, alpha, a, b;
    double log_alpha;
    clv__lgdiff rx, bx, abx;    /* lgamma(r+x)-lgamma(r), lgamma(b+x)-lgamma(b), lgamma(a+b+x)-lgamma(a+b) */
} bg_state;

static void bg_init(bg_state *st, const double *p)
{
    st->r = p[0];
    st->alpha = p[1];
    st->a = p[2];
    st->b = p[3];
    st->log_alpha = log(st->alpha);
    clv__lgdiff_init(&st->rx, st->r);
    clv__lgdiff_init(&st->bx, st->b);
    clv__lgdiff_init(&st->abx, st->a + st->b);
}

static double bg_customer(bg_state *st, double x, double tx, double T)
{
    const double r = st->r, alpha = st->alpha, a = st->a, b = st->b;
    double a1 = clv__lgdiff_get(&st->rx, x) + r * st->log_alpha;
    /* B(a, b+x)/B(a, b) = G(b+x) G(a+b) / (G(b) G(a+b+x)) */
    double a2 = clv__lgdiff_get(&st->bx, x) - clv__lgdiff_get(&st->abx, x);
    double a3 = -(r + x) * log(alpha + T);
    double a4 = x > 0.0 ? log(a) - log(b + x - 1.0) - (r + x) * log(alpha + tx) : -INFINITY;
    return a1 + a2 + clv__logaddexp(a3, a4);
}

/* Total over customers, in their order (what clv_bgnbd_loglik reports). */
static double bg_total(const double *params, uint64_t n, const float *x, const float *t_x,
                       const float *T)
{
    bg_state st;
    bg_init(&st, params);
    double sum = 0.0;
    for (uint64_t i = 0; i < n; i++) sum += bg_customer(&st, x[i], t_x[i], T[i]);
    return sum;
}

typedef struct bg_fit {
    const clv__rft *g;
    uint64_t m;
    double penalty;
} bg_fit;

static double bg_objective(const double *theta, void *ctx)
{
    const bg_fit *d = ctx;
    double p[4], pen = 0.0;
    for (int k = 0; k < 4; k++) {
        p[k] = exp(theta[k]);
        pen += theta[k] * theta[k];
    }
    bg_state st;
    bg_init(&st, p);
    double ll = 0.0;
    for (uint64_t i = 0; i < d->m; i++)
        ll += d->g[i].w * bg_customer(&st, d->g[i].x, d->g[i].t_x, d->g[i].T);
    return isfinite(ll) ? -ll + d->penalty * pen : INFINITY;
}

CLV_API int clv_bgnbd_loglik(const double params[4], uint64_t n, const float *x, const float *t_x,
                             const float *T, double *out)
{
    static const char fn[] = "clv_bgnbd_loglik";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__TRY(clv__btyd_check_params(fn, params, 4, NAMES));
    CLV__TRY(clv__btyd_check_rft(fn, n, x, t_x, T));
    double ll = bg_total(params, n, x, t_x, T);
    if (!isfinite(ll))
        return clv__error(CLV_ENUMERIC, "%s: the log-likelihood is not finite at these parameters",
                          fn);
    *out = ll;
    return CLV_OK;
}

CLV_API int clv_bgnbd_fit(const clv_btyd_options *opts, uint64_t n, const float *x,
                          const float *t_x, const float *T, double params[4], double *loglik)
{
    static const char fn[] = "clv_bgnbd_fit";
    clv__fit_config cfg;
    CLV__TRY(clv__btyd_read_options(opts, fn, &cfg));
    CLV__CHECK_ARG(params != NULL, "%s: params is NULL", fn);
    CLV__TRY(clv__btyd_check_rft(fn, n, x, t_x, T));

    /* Start: r = a = b = 1 and alpha matching the pooled purchase rate, so
     * that rescaling time rescales alpha and nothing else. */
    double sx = 0.0, sT = 0.0;
    for (uint64_t i = 0; i < n; i++) {
        sx += x[i];
        sT += T[i];
    }
    double theta[4] = { 0.0, log(sT / (sx + 1.0)), 0.0, 0.0 }, f;
    bg_fit d = { NULL, 0, cfg.penalty };
    clv__rft *groups;
    CLV__TRY(clv__btyd_group(n, x, t_x, T, &groups, &d.m));
    d.g = groups;
    int rc = clv__btyd_minimize(bg_objective, &d, 4, NAMES, &cfg, fn, theta, &f);
    clv__free(groups);
    if (rc != CLV_OK) return rc;
    double p[4];
    for (int k = 0; k < 4; k++) p[k] = exp(theta[k]);
    double ll = bg_total(p, n, x, t_x, T);
    for (int k = 0; k < 4; k++) params[k] = p[k];
    if (loglik) *loglik = ll;
    return CLV_OK;
}

/* The numerator of E[Y(t) | x, t_x, T] (E times its denominator):
 * c (1 - w^k 2F1(k, bb; c; z)) / (a - 1) with k = r+x, bb = b+x, c = a+b+x-1,
 * z = t/(alpha+T+t), w = 1 - z. Returns a CLV__HYP_* code. */
static int bg_numerator(const bg_state *st, double x, double T, double t, double *out)
{
    const double r = st->r, alpha = st->alpha, a = st->a, b = st->b;
    const double k = r + x, bb = b + x, c = a + b + x - 1.0;
    const double z = t / (alpha + T + t), w = (alpha + T) / (alpha + T + t), lw = log(w);
    if (t == 0.0) {
        *out = 0.0;
        return CLV__HYP_OK;
    }
    clv__slog f;
    int rc;
    if (fabs(a - 1.0) < NEAR_A1) {
        /* Euler: w^k F(k, bb; c; z) = w^(a-1) F(c-k, a-1; c; z), and
         * F(c-k, a-1; c; z) = 1 + (a-1) H with
         * H = (c-k) z / c * 3F2(c-k+1, a, 1; c+1, 2; z), so
         * (1 - w^k F)/(a-1) = (1 - w^(a-1))/(a-1) - w^(a-1) H, finite at a = 1. */
        const double pk = c - k;
        const double num[3] = { pk + 1.0, a, 1.0 }, den[3] = { c + 1.0, 2.0, 1.0 };
        rc = clv__hyp_series(3, num, den, z, SERIES_TERMS, &f);
        if (rc != CLV__HYP_OK) return rc;
        double h = f.s * exp(f.l) * pk * z / c;
        double e1 = a == 1.0 ? -lw : -expm1((a - 1.0) * lw) / (a - 1.0);
        *out = c * (e1 - exp((a - 1.0) * lw) * h);
        return CLV__HYP_OK;
    }
    if (fabs(c) < NEAR_C0) {
        /* c F(k, bb; c; z) = c + k bb z 3F2(k+1, bb+1, 1; c+1, 2; z): no pole at c = 0. */
        const double num[3] = { k + 1.0, bb + 1.0, 1.0 }, den[3] = { c + 1.0, 2.0, 1.0 };
        rc = clv__hyp_series(3, num, den, z, SERIES_TERMS, &f);
        if (rc != CLV__HYP_OK) return rc;
        double cf = c + k * bb * z * f.s * exp(f.l);
        *out = (c - exp(k * lw) * cf) / (a - 1.0);
        return CLV__HYP_OK;
    }
    rc = clv__hyp2f1(k, bb, c, z, w, &f);
    if (rc != CLV__HYP_OK) return rc;
    double lv = k * lw + f.l; /* w^k F = f.s * exp(lv) */
    double bracket = f.s > 0 ? -expm1(lv) : 1.0 - f.s * exp(lv);
    *out = c / (a - 1.0) * bracket;
    return CLV__HYP_OK;
}

CLV_API int clv_bgnbd_expected(const double params[4], uint64_t n, const float *x,
                               const float *t_x, const float *T, double horizon,
                               float *expected_transactions, float *p_alive)
{
    static const char fn[] = "clv_bgnbd_expected";
    CLV__TRY(clv__btyd_check_expected(fn, params, NAMES, n, x, t_x, T, horizon, expected_transactions, p_alive));
    bg_state st;
    bg_init(&st, params);
    const double r = st.r, alpha = st.alpha, a = st.a, b = st.b;
    for (uint64_t i = 0; i < n; i++) {
        const double xi = x[i], ti = t_x[i], Ti = T[i];
        /* log of the denominator 1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) */
        double lden = 0.0;
        if (xi > 0.0)
            lden = clv__softplus(log(a) - log(b + xi - 1.0) +
                                 (r + xi) * (log(alpha + Ti) - log(alpha + ti)));
        if (p_alive) p_alive[i] = (float)exp(-lden);
        if (!expected_transactions) continue;
        double num;
        int rc = bg_numerator(&st, xi, Ti, horizon, &num);
        if (rc != CLV__HYP_OK)
            return clv__error(CLV_ENUMERIC, "%s: customer %" PRIu64 " (x = %g, horizon %g): 2F1 %s",
                              fn, i, xi, horizon, clv__hyp_reason(rc));
        double e = num * exp(-lden);
        if (!isfinite(e) || e > 3.0e38)
            return clv__error(CLV_ENUMERIC, "%s: customer %" PRIu64 ": expectation %g is not a finite float",
                              fn, i, e);
        expected_transactions[i] = (float)(e > 0.0 ? e : 0.0);
    }
    return CLV_OK;
}

/* E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
 * (Fader, Hardie & Lee 2005, eq. 9). Passing w = alpha/(alpha+t) keeps the
 * digits of 1 - z for long spans, where z nears 1. */
CLV_API int clv_bgnbd_expected_population(const double params[4], uint64_t n, const float *t, float *out)
{
    static const char fn[] = "clv_bgnbd_expected_population";
    CLV__TRY(clv__btyd_check_params(fn, params, 4, NAMES));
    CLV__CHECK_ARG(t != NULL && out != NULL, "%s: t or out is NULL", fn);
    for (uint64_t i = 0; i < n; i++)
        CLV__CHECK_ARG(isfinite(t[i]) && t[i] >= 0.0f, "%s: t[%" PRIu64 "] = %g must be finite and >= 0", fn, i,
                       (double)t[i]);
    const double r = params[0], alpha = params[1], a = params[2], b = params[3];
    if (fabs(a - 1.0) < 1e-9)
        return clv__error(CLV_ENUMERIC, "%s: a = %g: the expectation has a pole at a = 1", fn, a);
    for (uint64_t i = 0; i < n; i++) {
        const double ti = t[i];
        if (ti == 0.0) {
            out[i] = 0.0f;
            continue;
        }
        clv__slog f;
        int rc = clv__hyp2f1(r, b, a + b - 1.0, ti / (alpha + ti), alpha / (alpha + ti), &f);
        if (rc != CLV__HYP_OK)
            return clv__error(CLV_ENUMERIC, "%s: t[%" PRIu64 "] = %g: 2F1 %s", fn, i, ti, clv__hyp_reason(rc));
        const double e = (a + b - 1.0) / (a - 1.0) * (1.0 - f.s * exp(r * log(alpha / (alpha + ti)) + f.l));
        if (!isfinite(e) || e > 3.0e38)
            return clv__error(CLV_ENUMERIC, "%s: t[%" PRIu64 "] = %g: expectation %g is not a finite float", fn, i,
                              ti, e);
        out[i] = (float)(e > 0.0 ? e : 0.0);
    }
    return CLV_OK;
}
