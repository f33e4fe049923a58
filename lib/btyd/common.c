/* Shared parts of the BTYD baselines: options, argument checks, the
 * Nelder-Mead optimiser with restarts, and the public 2F1. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "btyd_impl.h"

#define DEFAULT_MAX_ITERATIONS 20000u
#define DEFAULT_TOLERANCE 1e-10
#define MAX_TOLERANCE 1e-2

/* Log-parameters are searched inside [-LOG_BOUND, LOG_BOUND] (theta between
 * about 1e-13 and 1e13); an optimum beyond DIVERGED means the likelihood
 * keeps improving towards 0 or infinity. */
#define LOG_BOUND 30.0
#define DIVERGED 25.0
#define MAX_DIM 8
#define FIRST_STEP 0.5
#define RESTART_STEP 0.25
#define MAX_RESTARTS 25

#define COVERS(o, f) ((size_t)(o)->struct_size >= offsetof(clv_btyd_options, f) + sizeof((o)->f))

CLV_API void clv_btyd_options_init(clv_btyd_options *opts)
{
    if (!opts) return;
    opts->struct_size = (uint32_t)sizeof *opts;
    opts->max_iterations = DEFAULT_MAX_ITERATIONS;
    opts->tolerance = DEFAULT_TOLERANCE;
    opts->penalty = 0.0;
}

int clv__btyd_read_options(const clv_btyd_options *opts, const char *fn, clv__fit_config *out)
{
    out->max_iterations = DEFAULT_MAX_ITERATIONS;
    out->tolerance = DEFAULT_TOLERANCE;
    out->penalty = 0.0;
    if (!opts) return CLV_OK;
    CLV__CHECK_ARG(COVERS(opts, max_iterations),
                   "%s: opts->struct_size %u is too small (fill opts with clv_btyd_options_init())",
                   fn, (unsigned)opts->struct_size);
    out->max_iterations = opts->max_iterations;
    if (COVERS(opts, tolerance)) out->tolerance = opts->tolerance;
    if (COVERS(opts, penalty)) out->penalty = opts->penalty;
    CLV__CHECK_ARG(out->max_iterations >= 1, "%s: opts->max_iterations must be >= 1", fn);
    CLV__CHECK_ARG(isfinite(out->tolerance) && out->tolerance > 0.0 &&
                       out->tolerance <= MAX_TOLERANCE,
                   "%s: opts->tolerance = %g must be in (0, %g]", fn, out->tolerance, MAX_TOLERANCE);
    CLV__CHECK_ARG(isfinite(out->penalty) && out->penalty >= 0.0,
                   "%s: opts->penalty = %g must be finite and >= 0", fn, out->penalty);
    return CLV_OK;
}

int clv__btyd_check_rft(const char *fn, uint64_t n, const float *x, const float *t_x,
                        const float *T)
{
    CLV__CHECK_ARG(n >= 1, "%s: n must be >= 1", fn);
    CLV__CHECK_ARG(n <= SIZE_MAX / sizeof(float), "%s: n = %" PRIu64 " is too large", fn, n);
    CLV__CHECK_ARG(x != NULL, "%s: x is NULL", fn);
    CLV__CHECK_ARG(t_x != NULL, "%s: t_x is NULL", fn);
    CLV__CHECK_ARG(T != NULL, "%s: T is NULL", fn);
    for (uint64_t i = 0; i < n; i++) {
        float xi = x[i], ti = t_x[i], Ti = T[i];
        CLV__CHECK_ARG(isfinite(xi) && xi >= 0.0f && xi == floorf(xi),
                       "%s: x[%" PRIu64 "] = %g must be a finite non-negative integer", fn, i,
                       (double)xi);
        CLV__CHECK_ARG(isfinite(Ti) && Ti > 0.0f, "%s: T[%" PRIu64 "] = %g must be finite and > 0",
                       fn, i, (double)Ti);
        CLV__CHECK_ARG(isfinite(ti) && ti >= 0.0f && ti <= Ti,
                       "%s: t_x[%" PRIu64 "] = %g must be finite and in [0, T[%" PRIu64 "] = %g]",
                       fn, i, (double)ti, i, (double)Ti);
        CLV__CHECK_ARG(xi > 0.0f || ti == 0.0f,
                       "%s: t_x[%" PRIu64 "] = %g must be 0 when x[%" PRIu64
                       "] = 0 (no repeat purchase: the last purchase is the first)",
                       fn, i, (double)ti, i);
    }
    return CLV_OK;
}

int clv__btyd_check_params(const char *fn, const double *params, int k, const char *const *names)
{
    CLV__CHECK_ARG(params != NULL, "%s: params is NULL", fn);
    for (int i = 0; i < k; i++)
        CLV__CHECK_ARG(isfinite(params[i]) && params[i] > 0.0,
                       "%s: params[%d] (%s) = %g must be finite and > 0", fn, i, names[i],
                       params[i]);
    return CLV_OK;
}

void clv__lgdiff_init(clv__lgdiff *c, double s)
{
    c->s = s;
    c->lg_s = clv__lgamma(s);
    memset(c->have, 0, sizeof c->have);
}

double clv__lgdiff_get(clv__lgdiff *c, double x)
{
    if (x < (double)CLV__LGDIFF_CACHE) {
        int k = (int)x;
        if (!c->have[k]) {
            c->v[k] = clv__lgamma(c->s + x) - c->lg_s;
            c->have[k] = 1;
        }
        return c->v[k];
    }
    return clv__lgamma(c->s + x) - c->lg_s;
}

double clv__softplus(double u)
{
    return u > 0.0 ? u + log1p(exp(-u)) : log1p(exp(u));
}

static int rft_cmp(const void *pa, const void *pb)
{
    const clv__rft *a = pa, *b = pb;
    if (a->x != b->x) return a->x < b->x ? -1 : 1;
    if (a->t_x != b->t_x) return a->t_x < b->t_x ? -1 : 1;
    if (a->T != b->T) return a->T < b->T ? -1 : 1;
    return 0;
}

int clv__btyd_group(uint64_t n, const float *x, const float *t_x, const float *T, clv__rft **out,
                    uint64_t *groups)
{
    size_t bytes;
    if (n > SIZE_MAX || clv__mul_size((size_t)n, sizeof(clv__rft), &bytes) != 0) return clv__oom();
    clv__rft *g = clv__malloc(bytes);
    if (!g) return clv__oom();
    for (uint64_t i = 0; i < n; i++) {
        g[i].x = x[i];
        g[i].t_x = t_x[i];
        g[i].T = T[i];
        g[i].w = 1.0;
    }
    /* Rows equal in all three keys are interchangeable, so qsort's
     * instability cannot change the result. */
    qsort(g, (size_t)n, sizeof *g, rft_cmp);
    uint64_t m = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (m > 0 && rft_cmp(&g[m - 1], &g[i]) == 0) {
            g[m - 1].w += 1.0;
        } else {
            g[m++] = g[i];
        }
    }
    *out = g;
    *groups = m;
    return CLV_OK;
}

/* ------------------------------------------------------------------ */
/* Nelder-Mead (standard coefficients: reflection 1, expansion 2,
 * contraction 1/2, shrink 1/2) on log-parameters. */

typedef struct nm_problem {
    clv__objective f;
    void *ctx;
    int dim;
    double ftol, xtol;
} nm_problem;

static double nm_eval(const nm_problem *p, const double *x)
{
    for (int i = 0; i < p->dim; i++)
        if (!(fabs(x[i]) <= LOG_BOUND)) return INFINITY;
    double v = p->f(x, p->ctx);
    return isnan(v) ? INFINITY : v;
}

/* Order vertices by value (insertion sort: stable, so ties keep their index
 * order and the run stays deterministic). */
static void nm_sort(int nv, int *order, const double *fv)
{
    for (int i = 0; i < nv; i++) order[i] = i;
    for (int i = 1; i < nv; i++) {
        int k = order[i], j = i;
        while (j > 0 && fv[order[j - 1]] > fv[k]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
}

/* One run from x (overwritten with the best vertex, *fx its value). Returns
 * iterations used; *converged = 1 when the simplex met both tolerances. */
static uint32_t nm_run(const nm_problem *p, double *x, double *fx, double step, uint32_t budget,
                       int *converged)
{
    const int d = p->dim, nv = d + 1;
    double v[MAX_DIM + 1][MAX_DIM], fv[MAX_DIM + 1];
    double c[MAX_DIM], xr[MAX_DIM], xe[MAX_DIM], xc[MAX_DIM];
    int order[MAX_DIM + 1];

    memcpy(v[0], x, (size_t)d * sizeof *x);
    fv[0] = *fx;
    for (int i = 1; i < nv; i++) {
        memcpy(v[i], x, (size_t)d * sizeof *x);
        v[i][i - 1] += step;
        fv[i] = nm_eval(p, v[i]);
        if (!isfinite(fv[i])) { /* try the other side of an edge */
            v[i][i - 1] = x[i - 1] - step;
            fv[i] = nm_eval(p, v[i]);
        }
    }
    *converged = 0;
    uint32_t it = 0;
    for (;;) {
        nm_sort(nv, order, fv);
        const int best = order[0], worst = order[d], second = order[d - 1];
        double size = 0.0;
        for (int i = 1; i < nv; i++)
            for (int j = 0; j < d; j++) size = fmax(size, fabs(v[order[i]][j] - v[best][j]));
        if (isfinite(fv[worst]) && fv[worst] - fv[best] <= p->ftol * (1.0 + fabs(fv[best])) &&
            size <= p->xtol) {
            *converged = 1;
            break;
        }
        if (it >= budget) break;
        it++;

        for (int j = 0; j < d; j++) {
            double sum = 0.0;
            for (int i = 0; i < nv; i++)
                if (i != worst) sum += v[i][j];
            c[j] = sum / d;
        }
        for (int j = 0; j < d; j++) xr[j] = c[j] + (c[j] - v[worst][j]);
        double fr = nm_eval(p, xr);
        if (fr < fv[best]) {
            for (int j = 0; j < d; j++) xe[j] = c[j] + 2.0 * (c[j] - v[worst][j]);
            double fe = nm_eval(p, xe);
            if (fe < fr) {
                memcpy(v[worst], xe, (size_t)d * sizeof *xe);
                fv[worst] = fe;
            } else {
                memcpy(v[worst], xr, (size_t)d * sizeof *xr);
                fv[worst] = fr;
            }
            continue;
        }
        if (fr < fv[second]) {
            memcpy(v[worst], xr, (size_t)d * sizeof *xr);
            fv[worst] = fr;
            continue;
        }
        double fc;
        int accept;
        if (fr < fv[worst]) { /* outside contraction */
            for (int j = 0; j < d; j++) xc[j] = c[j] + 0.5 * (xr[j] - c[j]);
            fc = nm_eval(p, xc);
            accept = fc <= fr;
        } else { /* inside contraction */
            for (int j = 0; j < d; j++) xc[j] = c[j] + 0.5 * (v[worst][j] - c[j]);
            fc = nm_eval(p, xc);
            accept = fc < fv[worst];
        }
        if (accept) {
            memcpy(v[worst], xc, (size_t)d * sizeof *xc);
            fv[worst] = fc;
            continue;
        }
        for (int i = 0; i < nv; i++) { /* shrink towards the best vertex */
            if (i == best) continue;
            for (int j = 0; j < d; j++) v[i][j] = v[best][j] + 0.5 * (v[i][j] - v[best][j]);
            fv[i] = nm_eval(p, v[i]);
        }
    }
    nm_sort(nv, order, fv);
    memcpy(x, v[order[0]], (size_t)d * sizeof *x);
    *fx = fv[order[0]];
    return it;
}

int clv__btyd_minimize(clv__objective f, void *ctx, int dim, const char *const *names,
                       const clv__fit_config *cfg, const char *fn, double *theta, double *fmin)
{
    nm_problem p = { f, ctx, dim, cfg->tolerance, sqrt(cfg->tolerance) };
    double fx = nm_eval(&p, theta);
    if (!isfinite(fx))
        return clv__error(CLV_ENUMERIC, "%s: the log-likelihood is not finite at the starting point",
                          fn);
    uint32_t used = 0;
    for (int restart = 0;; restart++) {
        double prev[MAX_DIM], fprev = fx;
        memcpy(prev, theta, (size_t)dim * sizeof *theta);
        int converged;
        used += nm_run(&p, theta, &fx, restart == 0 ? FIRST_STEP : RESTART_STEP,
                       cfg->max_iterations - used, &converged);
        if (!converged)
            return clv__error(CLV_ENUMERIC,
                              "%s: no convergence within max_iterations = %u Nelder-Mead "
                              "iterations (negative log-likelihood %.10g)",
                              fn, (unsigned)cfg->max_iterations, fx);
        double moved = 0.0;
        for (int j = 0; j < dim; j++) moved = fmax(moved, fabs(theta[j] - prev[j]));
        /* A restart from the optimum that finds nothing better confirms it. */
        if (restart > 0 && fprev - fx <= p.ftol * (1.0 + fabs(fx)) && moved <= 10.0 * p.xtol) break;
        if (restart >= MAX_RESTARTS)
            return clv__error(CLV_ENUMERIC,
                              "%s: still improving after %d Nelder-Mead restarts "
                              "(negative log-likelihood %.10g)",
                              fn, MAX_RESTARTS, fx);
    }
    for (int j = 0; j < dim; j++)
        if (fabs(theta[j]) > DIVERGED)
            return clv__error(CLV_ENUMERIC,
                              "%s: parameter %s ran off to %g: the data do not identify the "
                              "model (a small opts->penalty keeps it finite)",
                              fn, names[j], exp(theta[j]));
    *fmin = fx;
    return CLV_OK;
}

/* ------------------------------------------------------------------ */

CLV_API int clv_hyp2f1(double a, double b, double c, double z, double *out)
{
    static const char fn[] = "clv_hyp2f1";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__CHECK_ARG(isfinite(a) && isfinite(b) && isfinite(c) && isfinite(z),
                   "%s: arguments must be finite (a = %g, b = %g, c = %g, z = %g)", fn, a, b, c, z);
    CLV__CHECK_ARG(z <= 1.0, "%s: z = %g > 1 is outside the supported domain", fn, z);
    CLV__CHECK_ARG(!(c <= 0.0 && c == floor(c)), "%s: c = %g is a non-positive integer", fn, c);
    int poly = (a <= 0.0 && a == floor(a)) || (b <= 0.0 && b == floor(b));
    CLV__CHECK_ARG(z < 1.0 || poly || c - a - b > 0.0,
                   "%s: the series diverges at z = 1 when c - a - b = %g <= 0", fn, c - a - b);
    clv__slog v;
    int rc = clv__hyp2f1(a, b, c, z, 1.0 - z, &v);
    if (rc == CLV__HYP_DOMAIN)
        return clv__error(CLV_EINVAL, "%s(%g, %g, %g, %g): %s", fn, a, b, c, z, clv__hyp_reason(rc));
    if (rc != CLV__HYP_OK)
        return clv__error(CLV_ENUMERIC, "%s(%g, %g, %g, %g): %s", fn, a, b, c, z,
                          clv__hyp_reason(rc));
    if (v.s != 0 && v.l > log(DBL_MAX))
        return clv__error(CLV_ENUMERIC, "%s(%g, %g, %g, %g): the value overflows double", fn, a, b,
                          c, z);
    *out = v.s == 0 ? 0.0 : v.s * exp(v.l);
    return CLV_OK;
}

int clv__btyd_check_expected(const char *fn, const double params[4], const char *const *names, uint64_t n,
                             const float *x, const float *t_x, const float *T, double horizon,
                             const float *expected_transactions, const float *p_alive)
{
    CLV__TRY(clv__btyd_check_params(fn, params, 4, names));
    CLV__CHECK_ARG(expected_transactions != NULL || p_alive != NULL,
                   "%s: expected_transactions and p_alive are both NULL", fn);
    CLV__CHECK_ARG(isfinite(horizon) && horizon >= 0.0, "%s: horizon = %g must be finite and >= 0",
                   fn, horizon);
    return clv__btyd_check_rft(fn, n, x, t_x, T);
}
