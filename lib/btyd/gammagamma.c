/* Gamma-Gamma model of the mean transaction value (Fader, Hardie & Lee 2005,
 * "RFM and CLV: using iso-value curves for customer base analysis"; Fader &
 * Hardie 2013, "The Gamma-Gamma model of monetary value").
 *
 * A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma),
 * so the mean m_x of x transactions has density
 *   f(m_x) = G(px+q) / (G(px) G(q)) gamma^q m_x^(px-1) x^(px) / (gamma + x m_x)^(px+q)
 * and E[M | x, m_x] = p (gamma + x m_x) / (p x + q - 1).
 *
 * The likelihood uses the customers with x > 0 and m_x > 0: a zero mean (all
 * repeat transactions worth 0, as for some CDNOW customers) has density 0 or
 * infinity under a gamma model and carries nothing the model can fit. */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>

#include "btyd_impl.h"

static const char *const NAMES[3] = { "p", "q", "gamma" };

static int gg_check(const char *fn, uint64_t n, const float *x, const float *m_x)
{
    CLV__CHECK_ARG(n >= 1, "%s: n must be >= 1", fn);
    CLV__CHECK_ARG(n <= SIZE_MAX / sizeof(float), "%s: n = %" PRIu64 " is too large", fn, n);
    CLV__CHECK_ARG(x != NULL, "%s: x is NULL", fn);
    CLV__CHECK_ARG(m_x != NULL, "%s: m_x is NULL", fn);
    for (uint64_t i = 0; i < n; i++) {
        float xi = x[i], mi = m_x[i];
        CLV__CHECK_ARG(isfinite(xi) && xi >= 0.0f && xi == floorf(xi),
                       "%s: x[%" PRIu64 "] = %g must be a finite non-negative integer", fn, i,
                       (double)xi);
        CLV__CHECK_ARG(isfinite(mi) && mi >= 0.0f, "%s: m_x[%" PRIu64 "] = %g must be finite and >= 0",
                       fn, i, (double)mi);
    }
    return CLV_OK;
}

typedef struct gg_data {
    uint64_t n;
    const float *x, *m_x;
    double penalty;
} gg_data;

static double gg_total(const double *params, const gg_data *d)
{
    const double p = params[0], q = params[1], g = params[2];
    const double c = -clv__lgamma(q) + q * log(g);
    double sum = 0.0;
    for (uint64_t i = 0; i < d->n; i++) {
        const double x = d->x[i], m = d->m_x[i];
        if (x == 0.0 || m == 0.0) continue;
        const double px = p * x;
        sum += clv__lgamma(px + q) - clv__lgamma(px) + c + (px - 1.0) * log(m) + px * log(x) -
               (px + q) * log(g + x * m);
    }
    return sum;
}

static double gg_objective(const double *theta, void *ctx)
{
    const gg_data *d = ctx;
    double p[3], pen = 0.0;
    for (int k = 0; k < 3; k++) {
        p[k] = exp(theta[k]);
        pen += theta[k] * theta[k];
    }
    double ll = gg_total(p, d);
    return isfinite(ll) ? -ll + d->penalty * pen : INFINITY;
}

CLV_API int clv_gammagamma_loglik(const double params[3], uint64_t n, const float *x,
                                  const float *m_x, double *out)
{
    static const char fn[] = "clv_gammagamma_loglik";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__TRY(clv__btyd_check_params(fn, params, 3, NAMES));
    CLV__TRY(gg_check(fn, n, x, m_x));
    gg_data d = { n, x, m_x, 0.0 };
    double ll = gg_total(params, &d);
    if (!isfinite(ll))
        return clv__error(CLV_ENUMERIC, "%s: the log-likelihood is not finite at these parameters",
                          fn);
    *out = ll;
    return CLV_OK;
}

CLV_API int clv_gammagamma_fit(const clv_btyd_options *opts, uint64_t n, const float *x,
                               const float *m_x, double params[3], double *loglik)
{
    static const char fn[] = "clv_gammagamma_fit";
    clv__fit_config cfg;
    CLV__TRY(clv__btyd_read_options(opts, fn, &cfg));
    CLV__CHECK_ARG(params != NULL, "%s: params is NULL", fn);
    CLV__TRY(gg_check(fn, n, x, m_x));
    double sm = 0.0;
    uint64_t used = 0;
    for (uint64_t i = 0; i < n; i++)
        if (x[i] > 0.0f && m_x[i] > 0.0f) {
            sm += m_x[i];
            used++;
        }
    CLV__CHECK_ARG(used > 0, "%s: no customer has x > 0 and m_x > 0: nothing to fit", fn);
    /* Start: p = q = 1 and gamma = the mean of m_x (rescaling money rescales gamma only). */
    double theta[3] = { 0.0, 0.0, log(sm / (double)used) }, f;
    gg_data d = { n, x, m_x, cfg.penalty };
    CLV__TRY(clv__btyd_minimize(gg_objective, &d, 3, NAMES, &cfg, fn, theta, &f));
    double p[3];
    for (int k = 0; k < 3; k++) p[k] = exp(theta[k]);
    double ll = gg_total(p, &d);
    for (int k = 0; k < 3; k++) params[k] = p[k];
    if (loglik) *loglik = ll;
    return CLV_OK;
}

CLV_API int clv_gammagamma_expected_value(const double params[3], uint64_t n, const float *x,
                                          const float *m_x, float *out)
{
    static const char fn[] = "clv_gammagamma_expected_value";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__TRY(clv__btyd_check_params(fn, params, 3, NAMES));
    CLV__TRY(gg_check(fn, n, x, m_x));
    const double p = params[0], q = params[1], g = params[2];
    for (uint64_t i = 0; i < n; i++)
        CLV__CHECK_ARG(p * x[i] + q > 1.0,
                       "%s: p x + q = %g <= 1 for customer %" PRIu64 " (x = %g): the expected "
                       "value does not exist (q > 1 is needed for x = 0)",
                       fn, p * x[i] + q, i, (double)x[i]);
    for (uint64_t i = 0; i < n; i++) {
        const double xi = x[i];
        double e = p * (g + xi * (double)m_x[i]) / (p * xi + q - 1.0);
        if (!isfinite(e) || e > 3.0e38)
            return clv__error(CLV_ENUMERIC, "%s: customer %" PRIu64 ": expected value %g is not a finite float",
                              fn, i, e);
        out[i] = (float)e;
    }
    return CLV_OK;
}
