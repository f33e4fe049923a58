/* Private to lib/btyd: special functions, the Nelder-Mead optimiser and
 * shared argument checks of the BTYD baselines. */
#ifndef CLV_BTYD_IMPL_H
#define CLV_BTYD_IMPL_H

#include <stdint.h>

#include "../clv_internal.h"

/* A real number as sign * exp(l): s is -1, 0 or +1 (l = -INFINITY when s = 0).
 * Lets 2F1 values and likelihood terms far outside double range be combined. */
typedef struct clv__slog {
    double l;
    int s;
} clv__slog;

/* Outcomes of the special functions (no thread error is set: they run inside
 * the optimiser's objective, where a failure only rejects a trial point). */
enum {
    CLV__HYP_OK = 0,
    CLV__HYP_DOMAIN = 1,     /* argument outside the function's domain */
    CLV__HYP_NOCONV = 2,     /* a series needed more terms than allowed */
    CLV__HYP_PRECISION = 3,  /* cancellation would leave fewer than ~8 digits */
    CLV__HYP_QUADRATURE = 4  /* a quadrature (Pareto/NBD) met a non-finite integrand or ran out of panels */
};

/* log|Gamma(x)|, thread-safe (lgamma_r where the C library has it). */
double clv__lgamma(double x);

/* 2F1(a, b; c; z) as sign and log-magnitude; returns a CLV__HYP_* code.
 * w must be 1 - z, passed separately so that callers who know it exactly
 * (z = (alpha-beta)/(alpha+t) gives w = (beta+t)/(alpha+t)) keep its digits
 * near z = 1. */
int clv__hyp2f1(double a, double b, double c, double z, double w, clv__slog *out);

/* Generalised hypergeometric series sum_{k>=0} t_k with t_0 = 1 and
 * t_{k+1}/t_k = z * prod_i (num[i] + k) / (den[i] + k), i < m (the k! of a
 * pFq is one of the den[] entries equal to 1). Summed until a rigorous bound
 * of the remainder is below half an ulp of the sum, or max_terms. */
int clv__hyp_series(int m, const double *num, const double *den, double z, long max_terms,
                    clv__slog *out);

/* Human-readable reason for a CLV__HYP_* code. */
const char *clv__hyp_reason(int code);

/* log(exp(a) + exp(b)) without overflow; either may be -INFINITY. */
double clv__logaddexp(double a, double b);

/* lgamma(s + x) - lgamma(s) for integer-valued x >= 0, memoised for the
 * small counts that make up most of a customer base. */
#define CLV__LGDIFF_CACHE 128
typedef struct clv__lgdiff {
    double s, lg_s;
    double v[CLV__LGDIFF_CACHE];
    unsigned char have[CLV__LGDIFF_CACHE];
} clv__lgdiff;

void clv__lgdiff_init(clv__lgdiff *c, double s);
double clv__lgdiff_get(clv__lgdiff *c, double x);

/* Softplus log(1 + exp(u)) without overflow. */
double clv__softplus(double u);

/* Objective for the optimiser: returns the value at theta (log-parameters),
 * or +INFINITY for a point it cannot or must not evaluate. */
typedef double (*clv__objective)(const double *theta, void *ctx);

/* Settings resolved from clv_btyd_options. */
typedef struct clv__fit_config {
    uint32_t max_iterations;
    double tolerance;
    double penalty;
} clv__fit_config;

int clv__btyd_read_options(const clv_btyd_options *opts, const char *fn, clv__fit_config *out);

/* Minimise f over dim <= 8 log-parameters starting from theta (overwritten
 * with the minimiser). CLV_OK, or CLV_ENUMERIC with a message naming fn and
 * the parameter names[] when it does not converge or a parameter diverges. */
int clv__btyd_minimize(clv__objective f, void *ctx, int dim, const char *const *names,
                       const clv__fit_config *cfg, const char *fn, double *theta, double *fmin);

/* Distinct (x, t_x, T) triples with their multiplicity, sorted: the
 * objectives sum w * loglik over these instead of over customers (CDNOW's
 * non-repeaters collapse to one row per first-purchase day). */
typedef struct clv__rft {
    double x, t_x, T, w;
} clv__rft;

/* *out is allocated with clv__malloc (release with clv__free). */
int clv__btyd_group(uint64_t n, const float *x, const float *t_x, const float *T, clv__rft **out,
                    uint64_t *groups);

/* Argument checks (messages name fn, the array and the index). */
int clv__btyd_check_rft(const char *fn, uint64_t n, const float *x, const float *t_x,
                        const float *T);
int clv__btyd_check_params(const char *fn, const double *params, int k, const char *const *names);
/* The arguments of a *_expected() prediction: four parameters, at least one
 * output, a finite horizon >= 0, and the summaries. */
int clv__btyd_check_expected(const char *fn, const double params[4], const char *const *names, uint64_t n,
                             const float *x, const float *t_x, const float *T, double horizon,
                             const float *expected_transactions, const float *p_alive);

#endif
