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
 * That form is used only where it is cheap and exact: 2F1 argument at most
 * 0.9 (the defining series), a short series, and r + s moderate (see
 * pn_use_2f1). Elsewhere the bracket times alpha^r beta^s is evaluated
 * directly (pn_quadrature): its first term as
 *   -r log1p(T/alpha) - x log(alpha+T) - s log1p(T/beta)
 * and s/(r+s+x) A0 = s int_{t_x}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du by
 * Gauss-Legendre quadrature in log(min(alpha, beta) + u). Near a 2F1
 * argument of 1 the series needs ~40/(1-z) terms and the 1-z transformation
 * cancels (it did both on a fit that let s and beta grow together, the
 * limit of a common dropout rate: each likelihood evaluation took seconds,
 * and longer at every step), and for large s the terms s log(beta) and
 * -s log(beta+T) cancel; the quadrature has neither problem and a bounded
 * cost.
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

/* ------------------------------------------------------------------ */
/* Where the 2F1 form is used.
 *
 * Its larger argument is z = (hi-lo)/(hi+t_x). Up to Z_2F1 clv__hyp2f1 sums
 * the defining series of 2F1(k, b; k+1; z), whose terms grow while
 * (b+n) z > n+1 and then fall off like z^n: b z/(1-z) <= TERMS_2F1 keeps it
 * to a few thousand terms. r + s <= RS_2F1 keeps r log(alpha) + s log(beta),
 * which the caller adds back, small enough not to swamp the likelihood's
 * digits (their rounding is below 1e-12 there). Everything else goes to the
 * quadrature. */
#define Z_2F1 0.9
#define TERMS_2F1 500.0
#define RS_2F1 100.0

static int pn_use_2f1(const pn_state *st, double x, double tx)
{
    const double hi = fmax(st->alpha, st->beta), lo = fmin(st->alpha, st->beta);
    const double z = (hi - lo) / (hi + tx);
    const double b = st->alpha >= st->beta ? st->s + 1.0 : st->r + x;
    return z <= Z_2F1 && b * z <= TERMS_2F1 * (1.0 - z) && st->r + st->s <= RS_2F1;
}

/* ------------------------------------------------------------------ */
/* Quadrature of the second term.
 *
 * I = alpha^r beta^s int_{t1}^{t2} (alpha+u)^-(r+x) (beta+u)^-(s+1) du
 *   = int (1+u/alpha)^-r (alpha+u)^-x (1+u/beta)^-s (beta+u)^-1 du,
 * the second form free of the huge canceling powers. With lo = min(alpha,
 * beta), hi = max, c1 = lo + t1, the variable is d = log((lo+u)/c1), so
 * lo + u = c1 e^d, u = t1 + c1 expm1(d), d in [0, log1p((t2-t1)/c1)], and
 * I = c1 int exp(l(d)) dd,
 *   l(d) = -r log1p(u/alpha) - x log(alpha+u) - s log1p(u/beta) - log(beta+u) + d.
 * Writing pl, ph for the exponents of lo+u and hi+u (r+x and s+1 in some
 * order) and sg(d) = (lo+u)/(hi+u) = 1/(1 + exp(dh - d)), dh = log((hi-lo)/c1):
 *   l'(d)  = 1 - pl - ph sg(d),         decreasing from 1-pl to -(r+s+x),
 *   l''(d) = -ph sg(d) (1 - sg(d)),     so l is concave,
 * and the integrand is analytic except at d = dh + i pi (2j+1), where hi+u = 0.
 * The maximum is at 0 when pl >= 1, else where sg = (1-pl)/ph, clamped to
 * the interval. From there panels march to both ends. Each panel gets the
 * 16-point Gauss-Legendre rule and a half-width w with
 *   w |l'| <= QUAD_SLOPE at both ends,  w^2 |l''| <= QUAD_CURV on the panel,
 *   distance from its centre to dh +- i pi >= QUAD_DIST w,
 * so that the integrand is a tame analytic function on the panel and the
 * rule's error is far below an ulp (measured against long-double references
 * in tests/unit/test-btyd.c). Panels grow geometrically away from dh.
 * A march stops at the end of the interval or when the rest is negligible:
 * by concavity the integrand beyond a point p lies below its tangent there,
 * so the rest is at most exp(l(p)) min(distance to the end, 1/|l'(p)|).
 * The number of panels is capped; beyond it, or with a non-finite integrand,
 * the evaluation fails (CLV__HYP_QUADRATURE). That did not happen over
 * 200,000 random points of the optimiser's box (|log parameter| <= 30,
 * x up to 1000, T from 0.01 to 1000), which took at most 17 panels. */
#define QUAD_SLOPE 4.0
#define QUAD_CURV 2.0
#define QUAD_DIST 3.0
#define QUAD_WMAX 32.0
#define QUAD_TAIL 1e-17
#define QUAD_PANELS 400
#define PI 3.14159265358979323846

/* 16-point Gauss-Legendre rule on [-1, 1]: the positive nodes and their weights. */
static const double GL_X[8] = { 0.0950125098376374401741, 0.281603550779258913231,
                                0.45801677765722738635,   0.617876244402643748452,
                                0.755404408355003033891,  0.865631202387831743866,
                                0.94457502307323257609,   0.989400934991649932601 };
static const double GL_W[8] = { 0.18945061045506849626,   0.182603415044923588872,
                                0.169156519395002538251,  0.149595988816576732093,
                                0.124628971255533872049,  0.0951585116824927848209,
                                0.0622535239386478928357, 0.0271524594117540948074 };

typedef struct pn_quad {
    double r, s, x, alpha, beta;
    double t1, c1;  /* t_x and lo + t_x */
    double gap, dh; /* hi - lo and log(gap / c1) (-inf when alpha = beta) */
    double pl, ph;  /* exponents of lo + u and hi + u */
} pn_quad;

static double pq_log(const pn_quad *q, double d)
{
    const double u = q->t1 + q->c1 * expm1(d);
    double l = d - q->r * log1p(u / q->alpha) - q->s * log1p(u / q->beta) - log(q->beta + u);
    if (q->x != 0.0) l -= q->x * log(q->alpha + u);
    return l;
}

/* sg(d) = (lo+u)/(hi+u) and 1 - sg(d) */
static void pq_sg(const pn_quad *q, double d, double *sg, double *cg)
{
    if (q->gap == 0.0) {
        *sg = 1.0;
        *cg = 0.0;
        return;
    }
    const double e = exp(-fabs(d - q->dh)), big = 1.0 / (1.0 + e), small = e / (1.0 + e);
    *sg = d >= q->dh ? big : small;
    *cg = d >= q->dh ? small : big;
}

static double pq_slope(const pn_quad *q, double d)
{
    double sg, cg;
    pq_sg(q, d, &sg, &cg);
    return 1.0 - q->pl - q->ph * sg;
}

static double pq_curv(const pn_quad *q, double d)
{
    double sg, cg;
    pq_sg(q, d, &sg, &cg);
    return q->ph * sg * cg;
}

/* Half-width of the next panel from pos towards end (dir = +1 or -1); 0 if
 * none qualifies. */
static double pq_halfwidth(const pn_quad *q, double pos, double end, double dir)
{
    const double g0 = fabs(pq_slope(q, pos)), k0 = pq_curv(q, pos);
    double w = fmin(QUAD_WMAX, 0.5 * fabs(end - pos));
    if (g0 * w > QUAD_SLOPE) w = QUAD_SLOPE / g0;
    if (k0 * w * w > QUAD_CURV) w = sqrt(QUAD_CURV / k0);
    for (int i = 0; i < 100; i++, w *= 0.5) {
        const double b = pos + dir * 2.0 * w, mid = pos + dir * w;
        const double g = fmax(g0, fabs(pq_slope(q, b)));
        /* sg (1 - sg) peaks at dh and is monotone on either side */
        const double k = q->gap > 0.0 && (pos - q->dh) * (b - q->dh) <= 0.0 ? 0.25 * q->ph
                                                                             : fmax(k0, pq_curv(q, b));
        const double dist = q->gap > 0.0 ? hypot(mid - q->dh, PI) : INFINITY;
        if (g * w <= QUAD_SLOPE && k * w * w <= QUAD_CURV && dist >= QUAD_DIST * w) return w;
    }
    return 0.0;
}

/* Adds the integral of exp(l - ref) from start towards end to *sum; l
 * decreases in that direction. */
static int pq_march(const pn_quad *q, double start, double end, double dir, double ref, double *sum)
{
    double pos = start;
    for (int panel = 0; pos != end; panel++) {
        const double w = panel < QUAD_PANELS ? pq_halfwidth(q, pos, end, dir) : 0.0;
        if (!(w > 0.0)) return CLV__HYP_QUADRATURE;
        const double b = 2.0 * w >= fabs(end - pos) ? end : pos + dir * 2.0 * w;
        const double mid = 0.5 * (pos + b), hw = 0.5 * fabs(b - pos);
        if (b == pos) return CLV__HYP_QUADRATURE; /* no progress at this precision */
        double acc = 0.0;
        for (int i = 0; i < 8; i++)
            acc += GL_W[i] * (exp(pq_log(q, mid - hw * GL_X[i]) - ref) + exp(pq_log(q, mid + hw * GL_X[i]) - ref));
        *sum += hw * acc;
        pos = b;
        if (pos == end) break;
        /* Concave l: beyond pos it lies below its tangent there, which falls
         * towards end when dir * l'(pos) < 0. */
        const double g = dir * pq_slope(q, pos);
        const double rest = fabs(end - pos), reach = g < 0.0 ? fmin(rest, -1.0 / g) : INFINITY;
        if (exp(pq_log(q, pos) - ref) * reach <= QUAD_TAIL * *sum) break;
    }
    return CLV__HYP_OK;
}

/* *out = log( alpha^r beta^s int_{t1}^{t2} (alpha+u)^-(r+x) (beta+u)^-(s+1) du ), t1 <= t2. */
static int pn_quadrature(double r, double alpha, double s, double beta, double x, double t1, double t2,
                         double *out)
{
    pn_quad q;
    q.r = r;
    q.s = s;
    q.x = x;
    q.alpha = alpha;
    q.beta = beta;
    q.t1 = t1;
    const double lo = fmin(q.alpha, q.beta), hi = fmax(q.alpha, q.beta);
    q.c1 = lo + t1;
    q.gap = hi - lo;
    q.dh = q.gap > 0.0 ? log(q.gap / q.c1) : -INFINITY;
    q.pl = q.alpha <= q.beta ? q.r + x : q.s + 1.0;
    q.ph = q.alpha <= q.beta ? q.s + 1.0 : q.r + x;
    const double span = log1p((t2 - t1) / q.c1);
    if (!(span > 0.0)) {
        *out = -INFINITY;
        return CLV__HYP_OK;
    }
    double mode = 0.0;
    if (q.pl < 1.0 && q.gap > 0.0) /* sg(mode) = (1-pl)/ph, i.e. exp(mode - dh) = (1-pl)/(r+s+x) */
        mode = fmin(fmax(q.dh + log((1.0 - q.pl) / (q.r + q.s + x)), 0.0), span);
    const double ref = pq_log(&q, mode);
    if (!isfinite(ref)) return CLV__HYP_QUADRATURE;
    double sum = 0.0;
    int rc = CLV__HYP_OK;
    if (mode < span) rc = pq_march(&q, mode, span, 1.0, ref, &sum);
    if (rc == CLV__HYP_OK && mode > 0.0) rc = pq_march(&q, mode, 0.0, -1.0, ref, &sum);
    if (rc != CLV__HYP_OK) return rc;
    if (!(sum > 0.0) || !isfinite(sum)) return CLV__HYP_QUADRATURE;
    *out = log(q.c1) + ref + log(sum);
    return CLV__HYP_OK;
}

/* The two log-terms of the likelihood bracket: *l_first = log of
 * 1/((alpha+T)^(r+x) (beta+T)^s), *l_second = log(s/(r+s+x) A0), both
 * without the factor alpha^r beta^s (*scaled = 0, the 2F1 form) or both
 * multiplied by it (*scaled = 1, the quadrature). */
static int pn_parts(const pn_state *st, double x, double tx, double T, double *l_first,
                    double *l_second, int *scaled)
{
    const double r = st->r, alpha = st->alpha, s = st->s, beta = st->beta;
    if (!pn_use_2f1(st, x, tx)) {
        *scaled = 1;
        *l_first = -r * log1p(T / alpha) - s * log1p(T / beta) - (x != 0.0 ? x * log(alpha + T) : 0.0);
        double li;
        int rc = pn_quadrature(r, alpha, s, beta, x, tx, T, &li);
        if (rc != CLV__HYP_OK) return rc;
        *l_second = log(s) + li;
        return CLV__HYP_OK;
    }
    *scaled = 0;
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

/* A non-buyer's likelihood L = P(no repeat purchase in (0, T]) tends to 1
 * when purchases become rare (r -> 0 or alpha -> inf): log L is then below
 * the rounding of L = first + second. Above NEAR_ONE it is taken from the
 * complement, log1p(-C) with
 *   C = 1 - L = int_0^T E[lambda e^-(lambda+mu)u] du
 *     = r alpha^r beta^s int_0^T (alpha+u)^-(r+1) (beta+u)^-s du,
 * the quadrature's integral with (r, alpha) and (s, beta) swapped. It keeps
 * log L strictly increasing towards 0 in those directions, so that a fit of
 * data where nobody buys again runs off (CLV_ENUMERIC) instead of stopping
 * on a plateau of rounded zeros. */
#define NEAR_ONE (-0.01)

/* One customer's log-likelihood; NAN and *fail set when a 2F1 fails. */
static double pn_customer(pn_state *st, double x, double tx, double T, int *fail)
{
    double lf, ls;
    int scaled;
    int rc = pn_parts(st, x, tx, T, &lf, &ls, &scaled);
    if (rc != CLV__HYP_OK) {
        *fail = rc;
        return NAN;
    }
    if (x == 0.0) {
        double l = scaled ? clv__logaddexp(lf, ls) : st->base + clv__logaddexp(lf, ls), lc;
        if (l > NEAR_ONE && pn_quadrature(st->s, st->beta, st->r, st->alpha, 0.0, 0.0, T, &lc) == CLV__HYP_OK) {
            const double c = st->r * exp(lc);
            if (c < 0.5) l = log1p(-c);
        }
        return l; /* lgamma(r+x) - lgamma(r) = 0 */
    }
    if (scaled) return clv__lgdiff_get(&st->rx, x) + clv__logaddexp(lf, ls);
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
                          fn, fail ? (fail == CLV__HYP_QUADRATURE ? " (" : " (2F1: ") : "",
                          fail ? clv__hyp_reason(fail) : "", fail ? ")" : "");
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
        int scaled;
        int rc = pn_parts(&st, xi, ti, Ti, &lf, &ls, &scaled);
        if (rc != CLV__HYP_OK)
            return clv__error(CLV_ENUMERIC, "%s: customer %" PRIu64 " (x = %g): %s%s", fn, i, xi,
                              rc == CLV__HYP_QUADRATURE ? "" : "2F1 ", clv__hyp_reason(rc));
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
