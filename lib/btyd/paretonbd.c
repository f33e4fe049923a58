/* Pareto/NBD (Schmittlein, Morrison & Colombo 1987), likelihood and
 * conditional expressions as in Fader & Hardie (2005), "A note on deriving
 * the Pareto/NBD model and related expressions".
 *
 * Per customer, with theta = (r, alpha, s, beta):
 *   L = G(r+x) alpha^r beta^s / G(r)
 *       * [ 1/((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0 ]
 * with, for alpha >= beta,
 *   A0 = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t_x)) / (alpha+t_x)^(r+s+x)
 *      - 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+T))   / (alpha+T)^(r+s+x)
 * and, for alpha < beta,
 *   A0 = 2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+t_x)) / (beta+t_x)^(r+s+x)
 *      - 2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+T))   / (beta+T)^(r+s+x),
 * so the 2F1 argument always lies in [0, 1). Both terms are kept as logs and
 * differenced as l1 + log(-expm1(l2 - l1)).
 *
 * P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)
 * E[Y(t) | x, t_x, T]  = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1))
 *                        * [1 - ((beta+T)/(beta+T+t))^(s-1)]   (limit ln(1 + t/(beta+T)) at s = 1). */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>

#include "btyd_impl.h"

static const char *const NAMES[4] = { "r", "alpha", "s", "beta" };

typedef struct pn_state {
    double r, alpha, s, beta;
    double base; /* r ln alpha + s ln beta */
    clv__lgdiff rx;
} pn_state;

static void pn_init(pn_state *st, const double *p)
{
    st->r = p[0];
    st->alpha = p[1];
    st->s = p[2];
    st->beta = p[3];
    st->base = st->r * log(st->alpha) + st->s * log(st->beta);
    clv__lgdiff_init(&st->rx, st->r);
}

/* log( 2F1(k, bb; k+1; (hi-lo)/(hi+t)) / (hi+t)^k ) for hi >= lo. */
static int pn_term(double k, double bb, double hi, double lo, double t, double *out)
{
    clv__slog f;
    int rc = clv__hyp2f1(k, bb, k + 1.0, (hi - lo) / (hi + t), (lo + t) / (hi + t), &f);
    if (rc != CLV__HYP_OK) return rc;
    if (f.s <= 0) return CLV__HYP_PRECISION; /* positive terms: cannot happen */
    *out = f.l - k * log(hi + t);
    return CLV__HYP_OK;
}

/* The two log-terms of the likelihood bracket: *l_first = log of
 * 1/((alpha+T)^(r+x) (beta+T)^s), *l_second = log(s/(r+s+x) A0). */
static int pn_parts(const pn_state *st, double x, double tx, double T, double *l_first,
                    double *l_second)
{
    const double r = st->r, alpha = st->alpha, s = st->s, beta = st->beta;
    const double k = r + s + x;
    *l_first = -(r + x) * log(alpha + T) - s * log(beta + T);
    double l1, l2;
    int rc;
    if (alpha >= beta) {
        rc = pn_term(k, s + 1.0, alpha, beta, tx, &l1);
        if (rc == CLV__HYP_OK) rc = pn_term(k, s + 1.0, alpha, beta, T, &l2);
    } else {
        rc = pn_term(k, r + x, beta, alpha, tx, &l1);
        if (rc == CLV__HYP_OK) rc = pn_term(k, r + x, beta, alpha, T, &l2);
    }
    if (rc != CLV__HYP_OK) return rc;
    /* A0 = exp(l1) - exp(l2) >= 0 (t_x <= T); rounding may make l2 >= l1 when t_x ~ T. */
    double la0 = l2 < l1 ? l1 + log(-expm1(l2 - l1)) : -INFINITY;
    *l_second = log(s) - log(k) + la0;
    return CLV__HYP_OK;
}

/* One customer's log-likelihood; NAN and *fail set when a 2F1 fails. */
static double pn_customer(pn_state *st, double x, double tx, double T, int *fail)
{
    double lf, ls;
    int rc = pn_parts(st, x, tx, T, &lf, &ls);
    if (rc != CLV__HYP_OK) {
        *fail = rc;
        return NAN;
    }
    return clv__lgdiff_get(&st->rx, x) + st->base + clv__logaddexp(lf, ls);
}

/* Total over customers, in their order (what clv_paretonbd_loglik reports). */
static double pn_total(const double *params, uint64_t n, const float *x, const float *t_x,
                       const float *T, int *fail)
{
    pn_state st;
    pn_init(&st, params);
    double sum = 0.0;
    for (uint64_t i = 0; i < n && isfinite(sum); i++) sum += pn_customer(&st, x[i], t_x[i], T[i], fail);
    return sum;
}

typedef struct pn_fit {
    const clv__rft *g;
    uint64_t m;
    double penalty;
} pn_fit;

static double pn_objective(const double *theta, void *ctx)
{
    const pn_fit *d = ctx;
    double p[4], pen = 0.0;
    for (int k = 0; k < 4; k++) {
        p[k] = exp(theta[k]);
        pen += theta[k] * theta[k];
    }
    pn_state st;
    pn_init(&st, p);
    double ll = 0.0;
    int fail = CLV__HYP_OK;
    for (uint64_t i = 0; i < d->m && isfinite(ll); i++)
        ll += d->g[i].w * pn_customer(&st, d->g[i].x, d->g[i].t_x, d->g[i].T, &fail);
    return isfinite(ll) ? -ll + d->penalty * pen : INFINITY;
}

CLV_API int clv_paretonbd_loglik(const double params[4], uint64_t n, const float *x,
                                 const float *t_x, const float *T, double *out)
{
    static const char fn[] = "clv_paretonbd_loglik";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__TRY(clv__btyd_check_params(fn, params, 4, NAMES));
    CLV__TRY(clv__btyd_check_rft(fn, n, x, t_x, T));
    int fail = CLV__HYP_OK;
    double ll = pn_total(params, n, x, t_x, T, &fail);
    if (!isfinite(ll))
        return clv__error(CLV_ENUMERIC, "%s: the log-likelihood is not finite at these parameters%s%s%s",
                          fn, fail ? " (2F1: " : "", fail ? clv__hyp_reason(fail) : "", fail ? ")" : "");
    *out = ll;
    return CLV_OK;
}

CLV_API int clv_paretonbd_fit(const clv_btyd_options *opts, uint64_t n, const float *x,
                              const float *t_x, const float *T, double params[4], double *loglik)
{
    static const char fn[] = "clv_paretonbd_fit";
    clv__fit_config cfg;
    CLV__TRY(clv__btyd_read_options(opts, fn, &cfg));
    CLV__CHECK_ARG(params != NULL, "%s: params is NULL", fn);
    CLV__TRY(clv__btyd_check_rft(fn, n, x, t_x, T));

    /* Start: r = s = 1, alpha from the pooled purchase rate, beta = mean T
     * (rescaling time rescales alpha and beta and nothing else). */
    double sx = 0.0, sT = 0.0;
    for (uint64_t i = 0; i < n; i++) {
        sx += x[i];
        sT += T[i];
    }
    double theta[4] = { 0.0, log(sT / (sx + 1.0)), 0.0, log(sT / (double)n) }, f;
    pn_fit d = { NULL, 0, cfg.penalty };
    clv__rft *groups;
    CLV__TRY(clv__btyd_group(n, x, t_x, T, &groups, &d.m));
    d.g = groups;
    int rc = clv__btyd_minimize(pn_objective, &d, 4, NAMES, &cfg, fn, theta, &f);
    clv__free(groups);
    if (rc != CLV_OK) return rc;
    double p[4];
    int fail = CLV__HYP_OK;
    for (int k = 0; k < 4; k++) p[k] = exp(theta[k]);
    double ll = pn_total(p, n, x, t_x, T, &fail);
    if (!isfinite(ll))
        return clv__error(CLV_ENUMERIC, "%s: the log-likelihood is not finite at the optimum", fn);
    for (int k = 0; k < 4; k++) params[k] = p[k];
    if (loglik) *loglik = ll;
    return CLV_OK;
}

CLV_API int clv_paretonbd_expected(const double params[4], uint64_t n, const float *x,
                                   const float *t_x, const float *T, double horizon,
                                   float *expected_transactions, float *p_alive)
{
    static const char fn[] = "clv_paretonbd_expected";
    CLV__TRY(clv__btyd_check_expected(fn, params, NAMES, n, x, t_x, T, horizon, expected_transactions, p_alive));
    pn_state st;
    pn_init(&st, params);
    const double r = st.r, alpha = st.alpha, s = st.s, beta = st.beta;
    for (uint64_t i = 0; i < n; i++) {
        const double xi = x[i], ti = t_x[i], Ti = T[i];
        double lf, ls;
        int rc = pn_parts(&st, xi, ti, Ti, &lf, &ls);
        if (rc != CLV__HYP_OK)
            return clv__error(CLV_ENUMERIC, "%s: customer %" PRIu64 " (x = %g): 2F1 %s", fn, i, xi,
                              clv__hyp_reason(rc));
        double pa = exp(-clv__softplus(ls - lf)); /* 1 / (1 + exp(ls - lf)) */
        if (p_alive) p_alive[i] = (float)pa;
        if (!expected_transactions) continue;
        /* [1 - q^(s-1)]/(s-1), q = (beta+T)/(beta+T+t) */
        double lq = -log1p(horizon / (beta + Ti));
        double g = s == 1.0 ? -lq : -expm1((s - 1.0) * lq) / (s - 1.0);
        double e = pa * (r + xi) * (beta + Ti) / (alpha + Ti) * g;
        if (!isfinite(e) || e > 3.0e38)
            return clv__error(CLV_ENUMERIC, "%s: customer %" PRIu64 ": expectation %g is not a finite float",
                              fn, i, e);
        expected_transactions[i] = (float)e;
    }
    return CLV_OK;
}

/* E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)], and
 * r beta / alpha log(1 + t/beta) at s = 1 (Schmittlein et al. 1987);
 * expm1/log1p keep the digits for small t. */
CLV_API int clv_paretonbd_expected_population(const double params[4], uint64_t n, const float *t, float *out)
{
    static const char fn[] = "clv_paretonbd_expected_population";
    CLV__TRY(clv__btyd_check_params(fn, params, 4, NAMES));
    CLV__CHECK_ARG(t != NULL && out != NULL, "%s: t or out is NULL", fn);
    for (uint64_t i = 0; i < n; i++)
        CLV__CHECK_ARG(isfinite(t[i]) && t[i] >= 0.0f, "%s: t[%" PRIu64 "] = %g must be finite and >= 0", fn, i,
                       (double)t[i]);
    const double r = params[0], alpha = params[1], s = params[2], beta = params[3];
    for (uint64_t i = 0; i < n; i++) {
        const double l = log1p(t[i] / beta);
        const double e = fabs(s - 1.0) < 1e-12 ? r * beta / alpha * l
                                                : r * beta / (alpha * (s - 1.0)) * -expm1(-(s - 1.0) * l);
        if (!isfinite(e) || e > 3.0e38)
            return clv__error(CLV_ENUMERIC, "%s: t[%" PRIu64 "] = %g: expectation %g is not a finite float", fn, i,
                              (double)t[i], e);
        out[i] = (float)(e > 0.0 ? e : 0.0);
    }
    return CLV_OK;
}
