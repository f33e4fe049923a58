/* Special functions of the BTYD baselines: log-gamma, digamma, generalised
 * hypergeometric series and the Gauss hypergeometric function 2F1 for real
 * arguments. Values are carried as sign * exp(log-magnitude) so that the
 * large 2F1 values of heavy buyers never overflow.
 *
 * 2F1(a, b; c; z), z <= 1 (cases as in docs/baselines.md; formula numbers are
 * Abramowitz & Stegun 1964 / DLMF chapter 15):
 *   z = 0, a = 0 or b = 0        1
 *   a or b a non-positive int    the terminating series (a polynomial)
 *   z = 1                        Gauss: G(c) G(c-a-b) / (G(c-a) G(c-b)), c-a-b > 0
 *   z < 0                        Pfaff (15.3.4): (1-z)^-a 2F1(a, c-b; c; z/(z-1)),
 *                                the argument z/(z-1) lies in (0, 1)
 *   0 < z <= 0.9                 the defining series (15.1.1)
 *   0.9 < z < 1, m = c-a-b:
 *     m not within 0.05 of an integer   the 1-z connection formula (15.3.6)
 *     m an integer                      its limit with digamma terms (15.3.10-12,
 *                                       DLMF 15.8.10), after Euler's
 *                                       transformation (15.3.3) when m < 0
 *     m within 0.05 of an integer       the defining series with up to 1e6 terms
 *                                       (15.3.6 would cancel catastrophically)
 *     either transformation cancelling  the defining series too, when it
 *     by more than 2 digits (large a,b)  converges within 1e6 terms
 * Every series stops on a rigorous remainder bound (see clv__hyp_series), and
 * every sum whose terms cancel reports a loss of precision instead of a
 * wrong value. */
#define _DEFAULT_SOURCE /* lgamma_r */
#include <float.h>
#include <math.h>

#include "btyd_impl.h"

#define PI 3.14159265358979323846
#define LN2 0.69314718055994530942
/* Stop when the remainder bound is below half an ulp of the partial sum. */
#define SERIES_EPS (0.5 * DBL_EPSILON)
#define MAX_TERMS 1000000L
/* sum|terms| / |sum| above this leaves fewer than about 8 correct digits. */
#define COND_MAX 1e8
/* A transformation whose terms cancel by more than this (about 2 digits) is
 * replaced by the defining series when that converges. */
#define COND_GOOD 100.0
#define Z_DIRECT 0.9
#define NEAR_INT 0.05
/* Rescale running sums by 2^-SCALE_BITS once they pass 2^SCALE_BITS. */
#define SCALE_BITS 600

double clv__lgamma(double x)
{
#if defined(__GLIBC__)
    int sign; /* lgamma() writes the global signgam: a data race between threads */
    return lgamma_r(x, &sign);
#else
    return lgamma(x);
#endif
}

const char *clv__hyp_reason(int code)
{
    switch (code) {
    case CLV__HYP_OK: return "ok";
    case CLV__HYP_DOMAIN: return "argument outside the domain";
    case CLV__HYP_NOCONV: return "series did not converge within 1e6 terms";
    case CLV__HYP_PRECISION: return "cancellation would leave fewer than 8 significant digits";
    case CLV__HYP_QUADRATURE: return "quadrature met a non-finite integrand or needed more than 400 panels";
    default: return "unknown failure";
    }
}

double clv__logaddexp(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    double m = a > b ? a : b;
    return m + log1p(exp(-fabs(a - b)));
}

static int is_nonpos_int(double x)
{
    return x <= 0.0 && x == floor(x);
}

static clv__slog slog_of(double v)
{
    clv__slog r = { -INFINITY, 0 };
    if (v != 0.0) {
        r.l = log(fabs(v));
        r.s = v > 0.0 ? 1 : -1;
    }
    return r;
}

static clv__slog slog_mul(clv__slog a, clv__slog b)
{
    clv__slog r = { -INFINITY, 0 };
    if (a.s != 0 && b.s != 0) {
        r.l = a.l + b.l;
        r.s = a.s * b.s;
    }
    return r;
}

/* a + b; *cond receives (|a| + |b|) / |a + b| (1 without cancellation). */
static clv__slog slog_add(clv__slog a, clv__slog b, double *cond)
{
    *cond = 1.0;
    if (a.s == 0) return b;
    if (b.s == 0) return a;
    double m = a.l > b.l ? a.l : b.l;
    double ea = exp(a.l - m), eb = exp(b.l - m);
    double v = a.s * ea + b.s * eb;
    *cond = v != 0.0 ? (ea + eb) / fabs(v) : INFINITY;
    clv__slog r = slog_of(v);
    if (r.s != 0) r.l += m;
    return r;
}

/* Gamma(x) and 1/Gamma(x) as slog; x must not be a pole for gamma_slog. For
 * x < 0 the sign of Gamma is + when floor(x) is even. */
static int gamma_sign(double x)
{
    return (x > 0.0 || fmod(floor(x), 2.0) == 0.0) ? 1 : -1;
}

static clv__slog gamma_slog(double x)
{
    clv__slog r = { clv__lgamma(x), gamma_sign(x) };
    return r;
}

static clv__slog rgamma_slog(double x)
{
    clv__slog r = { -INFINITY, 0 };
    if (!is_nonpos_int(x)) {
        r.l = -clv__lgamma(x);
        r.s = gamma_sign(x);
    }
    return r;
}

/* Digamma for x not a non-positive integer: reflection for x <= 0,
 * recurrence up to x >= 10, then the asymptotic series through x^-12
 * (remainder below 1e-15 there). */
static double digamma(double x)
{
    double r = 0.0;
    if (x <= 0.0) {
        r = -PI / tan(PI * x); /* psi(x) = psi(1 - x) - pi cot(pi x) */
        x = 1.0 - x;
    }
    while (x < 10.0) {
        r -= 1.0 / x;
        x += 1.0;
    }
    double x2 = 1.0 / (x * x);
    double tail = x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240 -
                  x2 * (1.0 / 132 - x2 * (691.0 / 32760))))));
    return r + log(x) - 0.5 / x - tail;
}

/* Running sum with power-of-two rescaling (exact) so that terms up to
 * exp(1e300)-ish stay representable; `scale` counts the 2^SCALE_BITS taken out. */
typedef struct scaled_sum {
    double t, s, sa;
    long scale;
} scaled_sum;

static void ss_rescale(scaled_sum *q)
{
    if (q->sa > 0x1p600) {
        q->t = ldexp(q->t, -SCALE_BITS);
        q->s = ldexp(q->s, -SCALE_BITS);
        q->sa = ldexp(q->sa, -SCALE_BITS);
        q->scale++;
    }
}

static int ss_result(const scaled_sum *q, clv__slog *out)
{
    if (!isfinite(q->s) || !isfinite(q->sa)) return CLV__HYP_PRECISION;
    if (q->s == 0.0) {
        if (q->sa != 0.0) return CLV__HYP_PRECISION;
        out->l = -INFINITY;
        out->s = 0;
        return CLV__HYP_OK;
    }
    if (q->sa > COND_MAX * fabs(q->s)) return CLV__HYP_PRECISION;
    out->l = log(fabs(q->s)) + (double)q->scale * SCALE_BITS * LN2;
    out->s = q->s > 0.0 ? 1 : -1;
    return CLV__HYP_OK;
}

/* Remainder bound: once every num[i]+k and den[i]+k is positive, each factor
 * (num[i]+j)/(den[i]+j) is monotone in j towards 1, so for all j >= k the
 * term ratio is at most R = |z| prod_i max(1, (num[i]+k)/(den[i]+k)) and the
 * terms after t_k sum to at most |t_k| R / (1 - R) when R < 1. Any pairing of
 * numerators with denominators gives a valid R; for m = 2 the smaller of the
 * two is used: 2F1(a, b; c; z) with b and c both huge (a BG/NBD fit with no
 * dropout has a, b ~ 1e6) pairs b with c, else R stays above 1 for ~b terms. */
int clv__hyp_series(int m, const double *num, const double *den, double z, long max_terms,
                    clv__slog *out)
{
    scaled_sum q = { 1.0, 1.0, 1.0, 0 };
    for (long k = 0;; k++) {
        double ratio = z, bound = fabs(z), swapped = fabs(z);
        int ends = 0, positive = 1;
        for (int i = 0; i < m; i++) {
            double nu = num[i] + (double)k, de = den[i] + (double)k;
            if (de == 0.0) return CLV__HYP_DOMAIN;
            if (nu == 0.0) ends = 1;
            ratio *= nu / de;
            if (nu <= 0.0 || de <= 0.0) positive = 0;
            else if (nu > de) bound *= nu / de;
            if (m == 2) {
                double ds = den[1 - i] + (double)k;
                if (ds > 0.0 && nu > ds) swapped *= nu / ds;
            }
        }
        if (m == 2 && swapped < bound) bound = swapped;
        if (ends || ratio == 0.0) break;
        if (positive && bound < 1.0 && fabs(q.t) * bound <= SERIES_EPS * (1.0 - bound) * fabs(q.s))
            break;
        if (k >= max_terms) return CLV__HYP_NOCONV;
        q.t *= ratio;
        q.s += q.t;
        q.sa += fabs(q.t);
        ss_rescale(&q);
    }
    return ss_result(&q, out);
}

static int direct(double a, double b, double c, double z, clv__slog *out)
{
    const double num[2] = { a, b }, den[2] = { c, 1.0 };
    return clv__hyp_series(2, num, den, z, MAX_TERMS, out);
}

/* p + q; *cond receives the cancellation factor (|p| + |q|) / |p + q|. */
static int combine(clv__slog p, clv__slog q, clv__slog *out, double *cond)
{
    *out = slog_add(p, q, cond);
    return *cond > COND_MAX ? CLV__HYP_PRECISION : CLV__HYP_OK;
}

/* 15.3.6 for 0.9 < z < 1 with m = c-a-b at least NEAR_INT from an integer:
 * 2F1 = G(c)G(m)/(G(c-a)G(c-b)) 2F1(a,b;1-m;w)
 *     + G(c)G(-m)/(G(a)G(b)) w^m 2F1(c-a,c-b;1+m;w),   w = 1-z. */
static int connection(double a, double b, double c, double w, clv__slog *out, double *cond)
{
    double m = c - a - b;
    clv__slog f1, f2;
    int rc = direct(a, b, 1.0 - m, w, &f1);
    if (rc != CLV__HYP_OK) return rc;
    rc = direct(c - a, c - b, 1.0 + m, w, &f2);
    if (rc != CLV__HYP_OK) return rc;
    clv__slog gc = gamma_slog(c);
    clv__slog t1 = slog_mul(slog_mul(gc, gamma_slog(m)),
                            slog_mul(slog_mul(rgamma_slog(c - a), rgamma_slog(c - b)), f1));
    clv__slog t2 = slog_mul(slog_mul(gc, gamma_slog(-m)),
                            slog_mul(slog_mul(rgamma_slog(a), rgamma_slog(b)), f2));
    if (t2.s != 0) t2.l += m * log(w);
    return combine(t1, t2, out, cond);
}

/* DLMF 15.8.10 for an integer m = c-a-b >= 0, 0 < w = 1-z < 0.1, a and b not
 * non-positive integers:
 * 2F1/G(c) = 1/(G(a+m)G(b+m)) sum_{k<m} (a)_k (b)_k (m-k-1)!/k! (z-1)^k
 *          - (z-1)^m/(G(a)G(b)) sum_k (a+m)_k (b+m)_k/(k!(k+m)!) w^k g_k,
 * g_k = ln w - psi(k+1) - psi(k+m+1) + psi(a+k+m) + psi(b+k+m). */
static int integer_m(double a, double b, double c, double w, long m, clv__slog *out,
                     double *cond)
{
    const double lw = log(w);
    clv__slog gc = gamma_slog(c);

    /* Finite part: (m-1)! sum_k u_k with u_0 = 1 and
     * u_{k+1}/u_k = (a+k)(b+k) w / ((k+1)(1-m+k)), k = 0..m-2. */
    clv__slog part_a = { -INFINITY, 0 };
    if (m >= 1) {
        scaled_sum q = { 1.0, 1.0, 1.0, 0 };
        for (long k = 0; k + 1 < m; k++) {
            double kk = (double)k;
            q.t *= (a + kk) * (b + kk) * w / ((kk + 1.0) * (1.0 - (double)m + kk));
            q.s += q.t;
            q.sa += fabs(q.t);
            ss_rescale(&q);
        }
        clv__slog u;
        int rc = ss_result(&q, &u);
        if (rc != CLV__HYP_OK) return rc;
        clv__slog fact = { clv__lgamma((double)m), 1 };
        part_a = slog_mul(slog_mul(gc, fact),
                          slog_mul(slog_mul(rgamma_slog(a + (double)m), rgamma_slog(b + (double)m)), u));
    }

    /* Logarithmic part: sum_k h_k g_k, h_0 = 1,
     * h_{k+1}/h_k = (a+m+k)(b+m+k) w / ((k+1)(m+1+k)). */
    const double dm = (double)m, am = a + dm, bm = b + dm;
    double psi1 = digamma(1.0), psim = digamma(dm + 1.0);
    double psia = digamma(am), psib = digamma(bm);
    double h = 1.0, s = 0.0, sa = 0.0;
    long scale = 0;
    for (long k = 0;; k++) {
        double kk = (double)k;
        double g = lw - psi1 - psim + psia + psib;
        s += h * g;
        sa += fabs(h * g);
        /* Remainder: for j > k, |h_j| <= |h_k| R^(j-k) and
         * |g_j| <= |ln w| + |a+m-1|/min(j+1, a+m+j) + |b-1|/min(m+j+1, b+m+j). */
        if (kk + 1.0 > 0.0 && am + kk > 0.0 && bm + kk > 0.0) {
            double r1 = (am + kk) / (kk + 1.0), r2 = (bm + kk) / (dm + 1.0 + kk);
            double bound = w * (r1 > 1.0 ? r1 : 1.0) * (r2 > 1.0 ? r2 : 1.0);
            double gmax = fabs(lw) + fabs(am - 1.0) / fmin(kk + 1.0, am + kk) +
                          fabs(b - 1.0) / fmin(dm + kk + 1.0, bm + kk);
            if (bound < 1.0 && fabs(h) * gmax * bound <= SERIES_EPS * (1.0 - bound) * fabs(s))
                break;
        }
        if (k >= MAX_TERMS) return CLV__HYP_NOCONV;
        h *= (am + kk) * (bm + kk) * w / ((kk + 1.0) * (dm + 1.0 + kk));
        psi1 += 1.0 / (kk + 1.0);
        psim += 1.0 / (dm + kk + 1.0);
        psia += 1.0 / (am + kk);
        psib += 1.0 / (bm + kk);
        if (sa > 0x1p600) {
            h = ldexp(h, -SCALE_BITS);
            s = ldexp(s, -SCALE_BITS);
            sa = ldexp(sa, -SCALE_BITS);
            scale++;
        }
    }
    scaled_sum q = { 0.0, s, sa, scale };
    clv__slog v;
    int rc = ss_result(&q, &v);
    if (rc != CLV__HYP_OK) return rc;
    clv__slog fm = { -clv__lgamma(dm + 1.0) + dm * lw, (m % 2 == 0) ? -1 : 1 }; /* -(-1)^m w^m / m! */
    clv__slog part_b = slog_mul(slog_mul(gc, fm),
                                slog_mul(slog_mul(rgamma_slog(a), rgamma_slog(b)), v));
    return combine(part_a, part_b, out, cond);
}

/* 15.3.6 or its integer-m limit for 0.9 < z < 1 (a, b not non-positive
 * integers); *cond receives the cancellation factor of the final sum. */
static int transformed(double a, double b, double c, double z, double w, clv__slog *out,
                       double *cond)
{
    double m = c - a - b;
    if (m != nearbyint(m)) return connection(a, b, c, w, out, cond);
    if (m >= 0.0) return integer_m(a, b, c, w, (long)m, out, cond);
    /* Euler (15.3.3): 2F1(a,b;c;z) = w^m 2F1(c-a, c-b; c; z), whose own
     * c - a' - b' = -m > 0. */
    int rc;
    *cond = 1.0;
    if (is_nonpos_int(c - a) || is_nonpos_int(c - b))
        rc = direct(c - a, c - b, c, z, out); /* terminates */
    else
        rc = integer_m(c - a, c - b, c, w, (long)-m, out, cond);
    if (rc == CLV__HYP_OK && out->s != 0) out->l += m * log(w);
    return rc;
}

/* 2F1 for 0 < z < 1 with w = 1 - z given accurately by the caller. Above
 * Z_DIRECT the transformation is used when its two terms cancel by less than
 * COND_GOOD (about 2 digits); otherwise, and when c-a-b is within NEAR_INT of
 * an integer, the defining series (up to MAX_TERMS terms), which loses nothing
 * to cancellation when a, b, c > 0. */
static int hyp_unit(double a, double b, double c, double z, double w, clv__slog *out)
{
    if (z <= Z_DIRECT) return direct(a, b, c, z, out);
    double m = c - a - b, mi = nearbyint(m);
    if (m != mi && fabs(m - mi) < NEAR_INT) return direct(a, b, c, z, out);
    clv__slog t;
    double cond = INFINITY;
    int rc = transformed(a, b, c, z, w, &t, &cond);
    if (rc == CLV__HYP_OK && cond <= COND_GOOD) {
        *out = t;
        return CLV__HYP_OK;
    }
    int rc2 = direct(a, b, c, z, out);
    if (rc2 == CLV__HYP_OK) return CLV__HYP_OK;
    if (rc == CLV__HYP_OK) { /* up to COND_MAX: still 8 digits */
        *out = t;
        return CLV__HYP_OK;
    }
    return rc2;
}

int clv__hyp2f1(double a, double b, double c, double z, double w, clv__slog *out)
{
    if (!isfinite(a) || !isfinite(b) || !isfinite(c) || !isfinite(z) || !isfinite(w))
        return CLV__HYP_DOMAIN;
    if (z > 1.0 || w < 0.0 || is_nonpos_int(c)) return CLV__HYP_DOMAIN;
    if (z == 0.0 || a == 0.0 || b == 0.0) {
        out->l = 0.0;
        out->s = 1;
        return CLV__HYP_OK;
    }
    if (is_nonpos_int(a) || is_nonpos_int(b)) {
        /* Terminating: at most -min(a,b)+1 terms, any z <= 1. */
        double deg = -(is_nonpos_int(a) ? (is_nonpos_int(b) ? fmax(a, b) : a) : b);
        if (deg > (double)MAX_TERMS) return CLV__HYP_NOCONV;
        return direct(a, b, c, z, out);
    }
    if (w == 0.0) { /* z = 1 */
        double m = c - a - b;
        if (m <= 0.0) return CLV__HYP_DOMAIN;
        *out = slog_mul(slog_mul(gamma_slog(c), gamma_slog(m)),
                        slog_mul(rgamma_slog(c - a), rgamma_slog(c - b)));
        return CLV__HYP_OK;
    }
    if (z < 0.0) {
        /* Pfaff: 2F1(a,b;c;z) = (1-z)^-a 2F1(a, c-b; c; z/(z-1)), z/(z-1) in
         * (0, 1); use the symmetric form when only that one terminates. */
        double lead = a, other = c - b;
        if (!is_nonpos_int(c - b) && is_nonpos_int(c - a)) {
            lead = b;
            other = c - a;
        }
        clv__slog f;
        int rc = clv__hyp2f1(lead, other, c, -z / w, 1.0 / w, &f); /* w = 1 - z > 1 */
        if (rc != CLV__HYP_OK) return rc;
        if (f.s != 0) f.l -= lead * log(w);
        *out = f;
        return CLV__HYP_OK;
    }
    return hyp_unit(a, b, c, z, w, out);
}
