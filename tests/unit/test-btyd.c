/* BTYD baselines through the public API: the Gauss hypergeometric function
 * against closed forms and a brute-force series, BG/NBD, Pareto/NBD and
 * Gamma-Gamma fits reproducing the published CDNOW estimates, predictions
 * against independent computations written here (long-double series,
 * quadrature of the Pareto/NBD likelihood integral), units, determinism and
 * every documented error path.
 *
 * The CDNOW checks need ../shared/data/cdnow/CDNOW_sample.txt, found through
 * $CLV_CDNOW_DIR or by walking up from the current directory; they are
 * skipped (with a message) when it is absent. The calibration summaries are
 * built here by a reader of our own, not by libclv's pipeline:
 *   - records dated 1997-01-01 .. 1997-09-30, same-day records of a customer
 *     merged into one transaction;
 *   - x   = purchase days - 1;  t_x = (last day - first day) / 7;
 *   - T   = (1997-09-30 - first day) / 7 (day difference, the end day not
 *     counted again: a customer who first bought on 1997-01-01 has
 *     T = 272/7 = 38.857 weeks, the 38.86 of Fader, Hardie & Lee's example);
 *   - m_x = mean value of the x repeat transactions (a day's records summed).
 * Reference figures: BG/NBD and the worked example from Fader, Hardie & Lee
 * (2005a); Pareto/NBD from Fader & Hardie's note (2005); Gamma-Gamma from
 * Fader, Hardie & Lee (2005b) / Fader & Hardie (2013). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clv/clv.h>

#include "test-common.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 12345.0

static void assert_rel(double got, double want, double tol, const char *what)
{
    double rel = clv_test_relerr(got, want, 1e-300);
    ck_assert_msg(rel <= tol, "%s: got %.15g, want %.15g (relative error %.3g > %.3g)", what, got,
                  want, rel, tol);
}

static void assert_error_mentions(const char *needle)
{
    ck_assert_msg(strstr(clv_last_error(), needle) != NULL, "error message \"%s\" lacks \"%s\"",
                  clv_last_error(), needle);
}

/* ------------------------------------------------------------------ */
/* Independent references                                              */

/* sum_n (a)_n (b)_n / ((c)_n n!) z^n in long double, until the terms are negligible. */
static long double brute_2f1(long double a, long double b, long double c, long double z)
{
    long double t = 1.0L, s = 1.0L;
    for (long n = 0; n < 50000000L; n++) {
        t *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z;
        s += t;
        if (n > 50 && fabsl(t) < 1e-21L * fabsl(s)) break;
    }
    return s;
}

/* BG/NBD E[Y(t) | x, t_x, T] by the textbook formula and the brute-force series. */
static double brute_bgnbd_e(const double *p, double x, double tx, double T, double t)
{
    long double r = p[0], al = p[1], a = p[2], b = p[3];
    long double k = r + x, c = a + b + x - 1;
    long double z = t / (al + T + t), w = (al + T) / (al + T + t);
    long double f = brute_2f1(k, b + x, c, z);
    long double den = 1.0L + (x > 0 ? a / (b + x - 1) * powl((al + T) / (al + tx), k) : 0.0L);
    return (double)(c / (a - 1) * (1.0L - powl(w, k) * f) / den);
}

/* BG/NBD log-likelihood of one customer as written in FHL (2005a), with lgamma. */
static double ref_bgnbd_ll(const double *p, double x, double tx, double T)
{
    double r = p[0], al = p[1], a = p[2], b = p[3];
    double lbeta = lgamma(b + x) + lgamma(a + b) - lgamma(b) - lgamma(a + b + x);
    double common = lgamma(r + x) - lgamma(r) + r * log(al);
    double l = exp(common + lbeta - (r + x) * log(al + T));
    if (x > 0) l += exp(common + lbeta + log(a) - log(b + x - 1) - (r + x) * log(al + tx));
    return log(l);
}

/* Pareto/NBD by its integral form (Fader & Hardie 2005, before the 2F1 is
 * introduced): L = G(r+x) al^r be^s / G(r) * [ (al+T)^-(r+x) (be+T)^-s
 *   + s * int_{t_x}^{T} (al+u)^-(r+x) (be+u)^-(s+1) du ],
 * the integral by composite Simpson in v = ln(c + u), c = min(alpha, beta),
 * which flattens the integrand's peak at u = 0 when c is small. Returns
 * log L; *p_alive gets the share of the first term. */
static double ref_pareto_ll(const double *p, double x, double tx, double T, double *p_alive)
{
    double r = p[0], al = p[1], s = p[2], be = p[3], c = fmin(al, be);
    const int N = 2000;
    double v0 = log(c + tx), h = (log(c + T) - v0) / N, integral = 0.0;
    if (h > 0) {
        for (int i = 0; i <= N; i++) {
            double e = exp(v0 + h * i), u = e - c; /* du = e dv */
            double f = pow(al + u, -(r + x)) * pow(be + u, -(s + 1)) * e;
            integral += f * (i == 0 || i == N ? 1 : (i % 2 ? 4 : 2));
        }
        integral *= h / 3;
    }
    double first = pow(al + T, -(r + x)) * pow(be + T, -s);
    double second = s * integral;
    if (p_alive) *p_alive = first / (first + second);
    return lgamma(r + x) - lgamma(r) + r * log(al) + s * log(be) + log(first + second);
}

/* Pareto/NBD as published (Fader & Hardie 2005), in long double with the
 * brute-force 2F1 and the powers kept as logs:
 * L = G(r+x) al^r be^s / G(r) [ (al+T)^-(r+x) (be+T)^-s + s/(r+s+x) A0 ]. */
static double ref_pareto_2f1_ll(const double *p, double x, double tx, double T)
{
    long double r = p[0], al = p[1], s = p[2], be = p[3], k = r + s + x;
    long double hi = al >= be ? al : be, lo = al >= be ? be : al, bb = al >= be ? s + 1 : r + x;
    long double l1 = logl(brute_2f1(k, bb, k + 1, (hi - lo) / (hi + tx))) - k * logl(hi + tx);
    long double l2 = logl(brute_2f1(k, bb, k + 1, (hi - lo) / (hi + T))) - k * logl(hi + T);
    long double la0 = l1 + log1pl(-expl(l2 - l1));
    long double lf = -(r + x) * logl(al + T) - s * logl(be + T), ls = logl(s / k) + la0;
    long double m = lf > ls ? lf : ls;
    return (double)(lgammal(r + x) - lgammal(r) + r * logl(al) + s * logl(be) + m +
                    logl(expl(lf - m) + expl(ls - m)));
}

/* The integral form with al^r be^s taken inside, which stays finite for any
 * s: al^r be^s (al+u)^-(r+x) (be+u)^-(s+1) = (1+u/al)^-r (al+u)^-x (1+u/be)^-s / (be+u);
 * long-double Simpson with 20000 intervals in ln(c + u), c = min(al, be). */
static double ref_pareto_scaled_ll(const double *p, double x, double tx, double T, double *p_alive)
{
    long double r = p[0], al = p[1], s = p[2], be = p[3], c = al < be ? al : be;
    const int N = 20000;
    long double v0 = logl(c + tx), h = (logl(c + T) - v0) / N, integral = 0;
    for (int i = 0; i <= N && h > 0; i++) {
        long double e = expl(v0 + h * i), u = e - c;
        long double f = expl(-r * log1pl(u / al) - x * logl(al + u) - s * log1pl(u / be)) / (be + u) * e;
        integral += f * (i == 0 || i == N ? 1 : (i % 2 ? 4 : 2));
    }
    integral *= h / 3;
    long double first = expl(-r * log1pl(T / al) - x * logl(al + T) - s * log1pl(T / be));
    if (p_alive) *p_alive = (double)(first / (first + s * integral));
    return (double)(lgammal(r + x) - lgammal(r) + logl(first + s * integral));
}

/* A non-buyer's 1 - L = P(a repeat purchase in (0, T]) = int_0^T E[lambda
 * e^-(lambda+mu)u] du = r int_0^T (1+u/al)^-r (al+u)^-1 (1+u/be)^-s du
 * (long-double Simpson, 100000 intervals in ln(al + u)). */
static long double ref_pareto_nonbuyer_c(const double *p, double T)
{
    long double r = p[0], al = p[1], s = p[2], be = p[3];
    const int N = 100000;
    long double v0 = logl(al), h = (logl(al + T) - v0) / N, integral = 0;
    for (int i = 0; i <= N; i++) {
        long double e = expl(v0 + h * i), u = e - al;
        long double f = expl(-r * log1pl(u / al) - s * log1pl(u / be)) / (al + u) * e;
        integral += f * (i == 0 || i == N ? 1 : (i % 2 ? 4 : 2));
    }
    return r * integral * h / 3;
}

/* The limit s, be -> inf with s/be = mu: every customer drops out at the
 * same rate mu, L = G(r+x) al^r / G(r) [ (al+T)^-(r+x) e^(-mu T)
 * + mu int_{t_x}^{T} (al+u)^-(r+x) e^(-mu u) du ] (Simpson in long double). */
static double ref_common_rate_ll(double r, double al, double mu, double x, double tx, double T)
{
    const int N = 20000;
    long double h = ((long double)T - tx) / N, integral = 0;
    for (int i = 0; i <= N && h > 0; i++) {
        long double u = tx + h * i, f = powl(al + u, -(r + x)) * expl(-mu * u);
        integral += f * (i == 0 || i == N ? 1 : (i % 2 ? 4 : 2));
    }
    integral *= h / 3;
    return (double)(lgammal(r + x) - lgammal(r) + r * logl(al) +
                    logl(powl(al + T, -(r + x)) * expl(-mu * T) + mu * integral));
}

/* Gamma-Gamma log density of m_x (mean of x transactions). */
static double ref_gg_ll(const double *g, double x, double m)
{
    double p = g[0], q = g[1], ga = g[2];
    return lgamma(p * x + q) - lgamma(p * x) - lgamma(q) + q * log(ga) + (p * x - 1) * log(m) +
           p * x * log(x) - (p * x + q) * log(ga + m * x);
}

/* ------------------------------------------------------------------ */
/* 2F1                                                                 */

static void check_2f1(double a, double b, double c, double z, long double want, double tol)
{
    double v = SENTINEL;
    int rc = clv_hyp2f1(a, b, c, z, &v);
    ck_assert_msg(rc == CLV_OK, "2F1(%g, %g; %g; %.12g): rc %d (%s)", a, b, c, z, rc,
                  clv_last_error());
    double rel = clv_test_relerr(v, (double)want, 1e-300);
    ck_assert_msg(rel <= tol, "2F1(%g, %g; %g; %.12g) = %.16g, want %.16Lg (relative error %.3g)",
                  a, b, c, z, v, want, rel);
}

/* Closed forms, covering every evaluation branch: z < 0 (Pfaff), the direct
 * series, the connection formula (c-a-b = -2.5), its integer limit
 * (c-a-b = 0 and -2), z = 1 (Gauss) and polynomials. */
START_TEST(hyp_closed_forms)
{
    static const double zs[] = { -50, -3, -0.999, -0.5, 0.1, 0.5, 0.9, 0.90001, 0.95, 0.99,
                                 0.999, 0.999999, 1 - 1e-9 };
    for (size_t i = 0; i < NELEM(zs); i++) {
        long double z = zs[i];
        check_2f1(1, 1, 2, zs[i], -log1pl(-z) / z, 1e-13);           /* -ln(1-z)/z */
        check_2f1(2.5, 1.3, 1.3, zs[i], powl(1 - z, -2.5L), 1e-13);  /* (1-z)^-a */
        check_2f1(2, 1.3, 1.3, zs[i], powl(1 - z, -2.0L), 1e-13);    /* integer a */
        if (zs[i] > 0) check_2f1(0.5, 0.5, 1.5, zs[i], asinl(sqrtl(z)) / sqrtl(z), 1e-13);
    }
    check_2f1(0.7, 1.9, 3.3, 0.0, 1.0L, 0);
    check_2f1(0.0, 1.9, 3.3, 0.7, 1.0L, 0);
    /* 2F1(-3, 2; 5; -7) by hand: 1 + (-3)(2)/5 (-7) + (-3)(-2)(2)(3)/(5*6*2!) 49
     *   + (-3)(-2)(-1)(2)(3)(4)/(5*6*7*3!) (-343) = 1 + 8.4 + 29.4 + 39.2 = 78 */
    check_2f1(-3, 2, 5, -7, 78.0L, 1e-14);
    /* Gauss: G(2) G(1.25) / (G(1.5) G(1.75)) */
    check_2f1(0.5, 0.25, 2, 1, tgammal(2) * tgammal(1.25L) / (tgammal(1.5L) * tgammal(1.75L)), 1e-14);
    /* A terminating series converges at z = 1 even with c - a - b <= 0:
     * Chu-Vandermonde 2F1(-2, 4; 1; 1) = (c-b)_2/(c)_2 = (-3)(-2)/(1*2) = 3. */
    check_2f1(-2, 4, 1, 1, 3.0L, 1e-15);
}
END_TEST

/* Against the brute-force series, in the parameter ranges the models use and
 * at the regime boundaries (z = 0.9 both sides, c-a-b near an integer, integer
 * c-a-b > 0, large parameters of a heavy buyer). */
START_TEST(hyp_against_series)
{
    static const double P[][3] = {
        { 0.8, 1.7, 3.1 },     { 2.3, 1.1, 1.7 },      { 0.5533, 1.6062, 2.1595 },
        { 3, 2, 7 },           { 1.5, 2.5, 4.02 },     { 1.5, 2.5, 3.97 },
        { 0.3, 0.4, 0.7 },     { 10.5, 3.2, 11.5 },    { 5.5, 3, 6.5 },
        { 4.2, 1.3, 10.5 },    { 31.6, 2.6, 32.6 },    { 200.24, 202.4, 401.8 },
        { -1.5, 2.5, 3.3 },    { 1.2, -0.7, -2.5 },
    };
    static const double zs[] = { 0.3, 0.85, 0.9, 0.91, 0.95, 0.98, 0.995 };
    for (size_t k = 0; k < NELEM(P); k++)
        for (size_t i = 0; i < NELEM(zs); i++)
            check_2f1(P[k][0], P[k][1], P[k][2], zs[i], brute_2f1(P[k][0], P[k][1], P[k][2], zs[i]),
                      1e-12);
}
END_TEST

START_TEST(hyp_errors)
{
    double v = SENTINEL;
    ck_assert_int_eq(clv_hyp2f1(1, 1, 2, 0.5, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_hyp2f1(1, 1, 2, 1.5, &v), CLV_EINVAL);
    assert_error_mentions("z = 1.5");
    ck_assert_int_eq(clv_hyp2f1(1, 1, 0, 0.5, &v), CLV_EINVAL);
    ck_assert_int_eq(clv_hyp2f1(1, 1, -2, 0.5, &v), CLV_EINVAL);
    assert_error_mentions("non-positive integer");
    ck_assert_int_eq(clv_hyp2f1(1, 1, 2, 1, &v), CLV_EINVAL); /* c - a - b = 0 */
    assert_error_mentions("diverges");
    ck_assert_int_eq(clv_hyp2f1(NAN, 1, 2, 0.5, &v), CLV_EINVAL);
    ck_assert_int_eq(clv_hyp2f1(1, INFINITY, 2, 0.5, &v), CLV_EINVAL);
    ck_assert_int_eq(clv_hyp2f1(1, 1, 2, -INFINITY, &v), CLV_EINVAL);
    /* c-a-b = 0.001, too close to an integer for the connection formula and
     * too close to z = 1 for a million terms of the series. */
    ck_assert_int_eq(clv_hyp2f1(0.25, 0.5, 0.751, 1 - 1e-9, &v), CLV_ENUMERIC);
    assert_error_mentions("converge");
    /* (1-z)^-400 overflows double. */
    ck_assert_int_eq(clv_hyp2f1(400, 1.5, 1.5, 0.9, &v), CLV_ENUMERIC);
    assert_error_mentions("overflows");
    ck_assert(v == SENTINEL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* CDNOW                                                               */

static int find_cdnow(char *out, size_t size, const char *file)
{
    const char *env = getenv("CLV_CDNOW_DIR");
    if (env && *env) {
        snprintf(out, size, "%s/%s", env, file);
        return access(out, R_OK) == 0;
    }
    char dir[4096];
    if (!getcwd(dir, sizeof dir)) return 0;
    for (;;) {
        snprintf(out, size, "%s/shared/data/cdnow/%s", dir, file);
        if (access(out, R_OK) == 0) return 1;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) return 0;
        *slash = '\0';
    }
}

/* Days since 1970-01-01, by counting whole years and months. */
static long day_number(long yyyymmdd)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = (int)(yyyymmdd / 10000), m = (int)(yyyymmdd / 100 % 100), d = (int)(yyyymmdd % 100);
    long days = 0;
    for (int yy = 1970; yy < y; yy++) days += (yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0)) ? 366 : 365;
    int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    for (int mm = 1; mm < m; mm++) days += mdays[mm - 1] + (mm == 2 && leap);
    return days + d - 1;
}

typedef struct record {
    long id, day;
    double value;
} record;

static int record_cmp(const void *pa, const void *pb)
{
    const record *a = pa, *b = pb;
    if (a->id != b->id) return a->id < b->id ? -1 : 1;
    if (a->day != b->day) return a->day < b->day ? -1 : 1;
    return 0;
}

typedef struct cdnow {
    size_t n;
    float *x, *tx, *T, *mx;      /* weeks */
    float *txd, *Td;             /* days */
    float *T_end_counted;        /* (end + 1 - first)/7: the convention that does not reproduce */
    float *mx_all;               /* mean of all calibration transactions, the first included */
} cdnow;

static cdnow g_cd;
static int g_have_cd = -1;
static char g_cd_path[4200];
static long *g_cd_id; /* sample customer id of each row */

/* Read the sample once (the fits below share it). */
static int load_cdnow(void)
{
    if (g_have_cd >= 0) return g_have_cd;
    g_have_cd = 0;
    char *path = g_cd_path;
    if (!find_cdnow(path, sizeof g_cd_path, "CDNOW_sample.txt")) return 0;
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 8192, nrec = 0;
    record *rec = malloc(cap * sizeof *rec);
    long master, id, date, cds;
    double value;
    const long end = day_number(19970930);
    while (fscanf(f, "%ld %ld %ld %ld %lf", &master, &id, &date, &cds, &value) == 5) {
        if (nrec == cap) rec = realloc(rec, (cap *= 2) * sizeof *rec);
        rec[nrec].id = id;
        rec[nrec].day = day_number(date);
        rec[nrec].value = value;
        nrec++;
    }
    fclose(f);
    ck_assert_uint_eq(nrec, 6919);
    qsort(rec, nrec, sizeof *rec, record_cmp);
    cdnow *c = &g_cd;
    float **arrays[] = { &c->x, &c->tx, &c->T, &c->mx, &c->txd, &c->Td, &c->T_end_counted, &c->mx_all };
    for (size_t k = 0; k < NELEM(arrays); k++) *arrays[k] = calloc(nrec, sizeof(float));
    g_cd_id = calloc(nrec, sizeof *g_cd_id);
    size_t i = 0;
    while (i < nrec) {
        size_t j = i;
        long first = rec[i].day, last = first, days = 0, prev = -1;
        double repeat_value = 0, all_value = 0;
        for (; j < nrec && rec[j].id == rec[i].id; j++) {
            if (rec[j].day > end) continue;
            all_value += rec[j].value;
            if (rec[j].day != prev) days++;
            prev = last = rec[j].day;
            if (rec[j].day != first) repeat_value += rec[j].value;
        }
        /* every sample customer made the first purchase in Q1 1997 */
        ck_assert(first <= end);
        size_t k = c->n++;
        g_cd_id[k] = rec[i].id;
        c->x[k] = (float)(days - 1);
        c->txd[k] = (float)(last - first);
        c->Td[k] = (float)(end - first);
        c->tx[k] = (float)((last - first) / 7.0);
        c->T[k] = (float)((end - first) / 7.0);
        c->T_end_counted[k] = (float)((end + 1 - first) / 7.0);
        c->mx[k] = days > 1 ? (float)(repeat_value / (double)(days - 1)) : 0.0f;
        c->mx_all[k] = days > 1 ? (float)(all_value / (double)days) : 0.0f;
        i = j;
    }
    free(rec);
    g_have_cd = 1;
    return 1;
}

#define REQUIRE_CDNOW(name)                                                                \
    do {                                                                                   \
        if (!load_cdnow()) {                                                               \
            fprintf(stderr, "%s: CDNOW_sample.txt not found (set CLV_CDNOW_DIR); skipped\n", \
                    name);                                                                 \
            return;                                                                        \
        }                                                                                  \
    } while (0)

static const double PUB_BG[4] = { 0.243, 4.414, 0.793, 2.426 };
static const double PUB_PN[4] = { 0.553, 10.578, 0.606, 11.669 };
static const double PUB_GG[3] = { 6.25, 3.74, 15.44 };

START_TEST(cdnow_summaries)
{
    REQUIRE_CDNOW("cdnow_summaries");
    const cdnow *c = &g_cd;
    ck_assert_uint_eq(c->n, 2357);
    double sx = 0, sT = 0;
    size_t repeaters = 0;
    for (size_t i = 0; i < c->n; i++) {
        sx += c->x[i];
        sT += c->T[i];
        repeaters += c->x[i] > 0;
    }
    fprintf(stderr, "CDNOW sample: n = %zu, sum x = %.0f, repeaters = %zu, mean T = %.4f weeks\n",
            c->n, sx, repeaters, sT / (double)c->n);
    ck_assert_double_eq(sx, 2457);
    ck_assert_uint_eq(repeaters, 946);
    ck_assert_double_eq_tol(sT / (double)c->n, 32.7159, 1e-3);
}
END_TEST

START_TEST(cdnow_bgnbd)
{
    REQUIRE_CDNOW("cdnow_bgnbd");
    const cdnow *c = &g_cd;
    double p[4] = { 0 }, ll = 0, ll2 = 0;
    ck_assert_int_eq(clv_bgnbd_fit(NULL, c->n, c->x, c->tx, c->T, p, &ll), CLV_OK);
    fprintf(stderr, "BG/NBD: r = %.6f, alpha = %.6f, a = %.6f, b = %.6f, LL = %.4f\n", p[0], p[1],
            p[2], p[3], ll);
    static const char *names[] = { "r", "alpha", "a", "b" };
    for (int k = 0; k < 4; k++) assert_rel(p[k], PUB_BG[k], 0.01, names[k]);
    ck_assert_double_eq_tol(ll, -9582.4, 0.5);
    /* the reported LL is clv_bgnbd_loglik at the estimate, bit for bit */
    ck_assert_int_eq(clv_bgnbd_loglik(p, c->n, c->x, c->tx, c->T, &ll2), CLV_OK);
    ck_assert(ll == ll2);
    /* and agrees with the likelihood evaluated here */
    double ref = 0;
    for (size_t i = 0; i < c->n; i++) ref += ref_bgnbd_ll(p, c->x[i], c->tx[i], c->T[i]);
    ck_assert_double_eq_tol(ll, ref, 1e-8 * fabs(ref));
    /* the optimum: every parameter moved by +-2% lowers the likelihood */
    for (int k = 0; k < 4; k++)
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            double q[4];
            memcpy(q, p, sizeof q);
            q[k] *= 1 + 0.02 * sgn;
            ck_assert_int_eq(clv_bgnbd_loglik(q, c->n, c->x, c->tx, c->T, &ll2), CLV_OK);
            ck_assert_msg(ll2 < ll, "moving %s by %+d%% raised the LL: %.6f >= %.6f", names[k],
                          2 * sgn, ll2, ll);
        }
    /* The end-day-counted T convention does not reproduce the published fit. */
    double pe[4];
    ck_assert_int_eq(clv_bgnbd_fit(NULL, c->n, c->x, c->tx, c->T_end_counted, pe, &ll2), CLV_OK);
    fprintf(stderr, "BG/NBD with T counting the end day: r = %.4f, alpha = %.4f, a = %.4f, b = %.4f, LL = %.4f\n",
            pe[0], pe[1], pe[2], pe[3], ll2);
    ck_assert(clv_test_relerr(pe[2], PUB_BG[2], 0) > 0.01 && fabs(ll2 + 9582.4) > 0.5);
}
END_TEST

/* FHL (2005a), worked example: x = 2, t_x = 30.43, T = 38.86 expects 1.226
 * transactions in the next 39 weeks. */
START_TEST(bgnbd_worked_example)
{
    float x = 2, tx = 30.43f, T = 38.86f, e = -1, pa = -1;
    ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 1, &x, &tx, &T, 39, &e, &pa), CLV_OK);
    fprintf(stderr, "BG/NBD worked example: E[Y(39)] = %.6f, P(alive) = %.6f\n", e, pa);
    ck_assert_double_eq_tol(e, 1.226, 0.001);
    ck_assert_double_eq_tol(e, brute_bgnbd_e(PUB_BG, 2, tx, T, 39), 1e-5);
    /* P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) */
    double want = 1 / (1 + 0.793 / (2.426 + 1) * pow((4.414 + T) / (4.414 + tx), 2.243));
    ck_assert_double_eq_tol(pa, want, 1e-6);
}
END_TEST

START_TEST(cdnow_paretonbd)
{
    REQUIRE_CDNOW("cdnow_paretonbd");
    const cdnow *c = &g_cd;
    double p[4] = { 0 }, ll = 0, ll2 = 0;
    ck_assert_int_eq(clv_paretonbd_fit(NULL, c->n, c->x, c->tx, c->T, p, &ll), CLV_OK);
    fprintf(stderr, "Pareto/NBD: r = %.6f, alpha = %.6f, s = %.6f, beta = %.6f, LL = %.4f\n",
            p[0], p[1], p[2], p[3], ll);
    static const char *names[] = { "r", "alpha", "s", "beta" };
    for (int k = 0; k < 4; k++) assert_rel(p[k], PUB_PN[k], 0.01, names[k]);
    ck_assert_double_eq_tol(ll, -9595.0, 0.5);
    ck_assert_int_eq(clv_paretonbd_loglik(p, c->n, c->x, c->tx, c->T, &ll2), CLV_OK);
    ck_assert(ll == ll2);
    /* the 2F1 form agrees with the integral form evaluated by quadrature */
    double ref = 0;
    for (size_t i = 0; i < c->n; i++) ref += ref_pareto_ll(p, c->x[i], c->tx[i], c->T[i], NULL);
    ck_assert_double_eq_tol(ll, ref, 1e-9 * fabs(ref));
    for (int k = 0; k < 4; k++)
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            double q[4];
            memcpy(q, p, sizeof q);
            q[k] *= 1 + 0.02 * sgn;
            ck_assert_int_eq(clv_paretonbd_loglik(q, c->n, c->x, c->tx, c->T, &ll2), CLV_OK);
            ck_assert_msg(ll2 < ll, "moving %s by %+d%% raised the LL: %.6f >= %.6f", names[k],
                          2 * sgn, ll2, ll);
        }
}
END_TEST

START_TEST(cdnow_gammagamma)
{
    REQUIRE_CDNOW("cdnow_gammagamma");
    const cdnow *c = &g_cd;
    double g[3] = { 0 }, ll = 0, ll2 = 0;
    ck_assert_int_eq(clv_gammagamma_fit(NULL, c->n, c->x, c->mx, g, &ll), CLV_OK);
    fprintf(stderr, "Gamma-Gamma: p = %.6f, q = %.6f, gamma = %.6f, LL = %.4f (946 customers)\n",
            g[0], g[1], g[2], ll);
    static const char *names[] = { "p", "q", "gamma" };
    for (int k = 0; k < 3; k++) assert_rel(g[k], PUB_GG[k], 0.01, names[k]);
    ck_assert_int_eq(clv_gammagamma_loglik(g, c->n, c->x, c->mx, &ll2), CLV_OK);
    ck_assert(ll == ll2);
    double ref = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->x[i] > 0) ref += ref_gg_ll(g, c->x[i], c->mx[i]);
    ck_assert_double_eq_tol(ll, ref, 1e-9 * fabs(ref));
    for (int k = 0; k < 3; k++)
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            double q[3];
            memcpy(q, g, sizeof q);
            q[k] *= 1 + 0.02 * sgn;
            ck_assert_int_eq(clv_gammagamma_loglik(q, c->n, c->x, c->mx, &ll2), CLV_OK);
            ck_assert_msg(ll2 < ll, "moving %s by %+d%% raised the LL", names[k], 2 * sgn);
        }
    /* The mean of all calibration transactions (first one included) gives a
     * different model: the published fit needs the repeat-only mean. */
    double ga[3];
    ck_assert_int_eq(clv_gammagamma_fit(NULL, c->n, c->x, c->mx_all, ga, NULL), CLV_OK);
    fprintf(stderr, "Gamma-Gamma with the first transaction in m_x: p = %.4f, q = %.4f, gamma = %.4f\n",
            ga[0], ga[1], ga[2]);
    ck_assert(clv_test_relerr(ga[0], PUB_GG[0], 0) > 0.05);
}
END_TEST

/* Time in days instead of weeks: alpha (and beta) scale by 7, the shape
 * parameters do not move, and the LL shifts by -sum(x) ln 7 (the density of
 * the x purchase times carries a 1/time^x). */
START_TEST(cdnow_units)
{
    REQUIRE_CDNOW("cdnow_units");
    const cdnow *c = &g_cd;
    double sx = 0;
    for (size_t i = 0; i < c->n; i++) sx += c->x[i];
    double pw[4], pd[4], lw, ld;
    ck_assert_int_eq(clv_bgnbd_fit(NULL, c->n, c->x, c->tx, c->T, pw, &lw), CLV_OK);
    ck_assert_int_eq(clv_bgnbd_fit(NULL, c->n, c->x, c->txd, c->Td, pd, &ld), CLV_OK);
    assert_rel(pd[0], pw[0], 1e-4, "r");
    assert_rel(pd[1], 7 * pw[1], 1e-4, "alpha");
    assert_rel(pd[2], pw[2], 1e-4, "a");
    assert_rel(pd[3], pw[3], 1e-4, "b");
    ck_assert_double_eq_tol(ld + sx * log(7.0), lw, 1e-5);
    ck_assert_int_eq(clv_paretonbd_fit(NULL, c->n, c->x, c->tx, c->T, pw, &lw), CLV_OK);
    ck_assert_int_eq(clv_paretonbd_fit(NULL, c->n, c->x, c->txd, c->Td, pd, &ld), CLV_OK);
    assert_rel(pd[0], pw[0], 1e-4, "r");
    assert_rel(pd[1], 7 * pw[1], 1e-4, "alpha");
    assert_rel(pd[2], pw[2], 1e-4, "s");
    assert_rel(pd[3], 7 * pw[3], 1e-4, "beta");
    ck_assert_double_eq_tol(ld + sx * log(7.0), lw, 1e-5);
    /* predictions do not depend on the unit either */
    float ew[8], ed[8];
    ck_assert_int_eq(clv_paretonbd_expected(pw, 8, c->x, c->tx, c->T, 39, ew, NULL), CLV_OK);
    ck_assert_int_eq(clv_paretonbd_expected(pd, 8, c->x, c->txd, c->Td, 273, ed, NULL), CLV_OK);
    for (int i = 0; i < 8; i++) assert_rel(ed[i], ew[i], 1e-4, "E days vs weeks");
}
END_TEST

START_TEST(cdnow_determinism)
{
    REQUIRE_CDNOW("cdnow_determinism");
    const cdnow *c = &g_cd;
    double a[4], b[4], la, lb;
    ck_assert_int_eq(clv_paretonbd_fit(NULL, c->n, c->x, c->tx, c->T, a, &la), CLV_OK);
    ck_assert_int_eq(clv_paretonbd_fit(NULL, c->n, c->x, c->tx, c->T, b, &lb), CLV_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0 && la == lb);
    ck_assert_int_eq(clv_bgnbd_fit(NULL, c->n, c->x, c->tx, c->T, a, &la), CLV_OK);
    ck_assert_int_eq(clv_bgnbd_fit(NULL, c->n, c->x, c->tx, c->T, b, &lb), CLV_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0 && la == lb);
    float *e1 = malloc(2 * c->n * sizeof(float)), *e2 = e1 + c->n;
    ck_assert_int_eq(clv_bgnbd_expected(a, c->n, c->x, c->tx, c->T, 39, e1, NULL), CLV_OK);
    ck_assert_int_eq(clv_bgnbd_expected(b, c->n, c->x, c->tx, c->T, 39, e2, NULL), CLV_OK);
    ck_assert(memcmp(e1, e2, c->n * sizeof(float)) == 0);
    /* Customer order does not matter for the fit (identical triples are grouped). */
    float *rx = malloc(3 * c->n * sizeof(float)), *rt = rx + c->n, *rT = rt + c->n;
    for (size_t i = 0; i < c->n; i++) {
        rx[i] = c->x[c->n - 1 - i];
        rt[i] = c->tx[c->n - 1 - i];
        rT[i] = c->T[c->n - 1 - i];
    }
    ck_assert_int_eq(clv_bgnbd_fit(NULL, c->n, rx, rt, rT, b, &lb), CLV_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert_double_eq_tol(la, lb, 1e-9);
    free(rx);
    free(e1);
}
END_TEST

/* The documented path: clv_txlog -> clv_pipeline -> clv_dataset summaries
 * (days) / 7 gives the same x, t_x, T, m_x as the reader above, hence the
 * published fit. */
START_TEST(cdnow_via_pipeline)
{
    REQUIRE_CDNOW("cdnow_via_pipeline");
    const cdnow *c = &g_cd;
    clv_txlog_options lo;
    clv_txlog_options_init(&lo);
    lo.header = 0;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, &lo), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CUSTOMER, NULL, 2), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_DATE, NULL, 3), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_QUANTITY, NULL, 4), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 5), CLV_OK);
    ck_assert_msg(clv_txlog_read_csv(log, g_cd_path, NULL) == CLV_OK, "%s", clv_last_error());
    int32_t cutoff, end;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &cutoff), CLV_OK);
    ck_assert_int_eq(clv_date_parse("1998-06-30", &end), CLV_OK);
    clv_pipeline *p;
    ck_assert_int_eq(clv_pipeline_new(&p, NULL), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(p, log, cutoff), CLV_OK);
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_transform(p, log, cutoff, end, &ds), CLV_OK);
    const uint64_t n = clv_dataset_customers(ds);
    ck_assert_uint_eq(n, c->n);
    const float *fx = clv_dataset_frequency(ds), *rec = clv_dataset_recency_days(ds);
    const float *age = clv_dataset_age_days(ds), *mon = clv_dataset_monetary_repeat(ds);
    float *x = malloc(3 * n * sizeof(float)), *tx = x + n, *T = tx + n;
    for (uint64_t i = 0; i < n; i++) {
        long id = strtol(clv_dataset_customer_id(ds, i), NULL, 10);
        size_t k = 0;
        while (k < c->n && g_cd_id[k] != id) k++;
        ck_assert_msg(k < c->n, "customer %ld unknown to the reader", id);
        ck_assert(fx[i] == c->x[k] && rec[i] == c->txd[k] && age[i] == c->Td[k]);
        ck_assert_msg(fabsf(mon[i] - c->mx[k]) <= 1e-4f * fmaxf(1, c->mx[k]),
                      "customer %ld: m_x %g vs %g", id, mon[i], c->mx[k]);
        x[i] = fx[i];
        tx[i] = rec[i] / 7.0f;
        T[i] = age[i] / 7.0f;
    }
    double pb[4], ll;
    ck_assert_int_eq(clv_bgnbd_fit(NULL, n, x, tx, T, pb, &ll), CLV_OK);
    for (int k = 0; k < 4; k++) assert_rel(pb[k], PUB_BG[k], 0.01, "BG/NBD via pipeline");
    ck_assert_double_eq_tol(ll, -9582.4, 0.5);
    double g[3];
    ck_assert_int_eq(clv_gammagamma_fit(NULL, n, x, mon, g, NULL), CLV_OK);
    for (int k = 0; k < 3; k++) assert_rel(g[k], PUB_GG[k], 0.01, "Gamma-Gamma via pipeline");
    free(x);
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Predictions                                                         */

/* BG/NBD E against the textbook formula with a brute-force 2F1, across the
 * code paths: short and long horizons (2F1 argument up to 0.9989), a near 1
 * (the 0/0 of the textbook form) and a + b + x - 1 near 0. */
START_TEST(bgnbd_expected_paths)
{
    float x[3] = { 0, 2, 7 }, tx[3] = { 0, 30.43f, 35 }, T[3] = { 38.86f, 38.86f, 36 };
    static const double hs[] = { 0, 39, 400, 4000, 40000 };
    static const double as[] = { 0.793, 0.9899, 1 - 1e-7, 1 + 1e-7, 1.0101, 1.5 };
    for (size_t ia = 0; ia < NELEM(as); ia++)
        for (size_t ih = 0; ih < NELEM(hs); ih++) {
            double p[4] = { 0.243, 4.414, as[ia], 2.426 };
            float e[3];
            ck_assert_int_eq(clv_bgnbd_expected(p, 3, x, tx, T, hs[ih], e, NULL), CLV_OK);
            for (int i = 0; i < 3; i++) {
                double want = hs[ih] == 0 ? 0 : brute_bgnbd_e(p, x[i], tx[i], T[i], hs[ih]);
                ck_assert_msg(clv_test_relerr(e[i], want, 1e-30) < 2e-6,
                              "a = %.9g, horizon %g, x = %g: E = %.8g, want %.8g", as[ia], hs[ih],
                              x[i], e[i], want);
            }
        }
    /* a = 1 exactly: the limit, continuous with its neighbours */
    double p1[4] = { 0.243, 4.414, 1.0, 2.426 }, p2[4] = { 0.243, 4.414, 1 + 1e-7, 2.426 };
    float e1[3], e2[3];
    ck_assert_int_eq(clv_bgnbd_expected(p1, 3, x, tx, T, 400, e1, NULL), CLV_OK);
    ck_assert_int_eq(clv_bgnbd_expected(p2, 3, x, tx, T, 400, e2, NULL), CLV_OK);
    for (int i = 0; i < 3; i++) assert_rel(e1[i], e2[i], 1e-6, "E at a = 1");
    /* x = 0 and a + b = 1: the 2F1's c = 0 is a removable singularity of E */
    double pc[3][4] = { { 0.5, 4, 0.7, 0.3 - 1e-6 }, { 0.5, 4, 0.7, 0.3 }, { 0.5, 4, 0.7, 0.3 + 1e-6 } };
    float ec[3];
    for (int k = 0; k < 3; k++) ck_assert_int_eq(clv_bgnbd_expected(pc[k], 1, x, tx, T, 39, &ec[k], NULL), CLV_OK);
    assert_rel(ec[0], brute_bgnbd_e(pc[0], 0, 0, T[0], 39), 2e-6, "E near c = 0");
    assert_rel(ec[1], ec[0], 1e-5, "E at c = 0");
    assert_rel(ec[1], ec[2], 1e-5, "E at c = 0");
}
END_TEST

/* A BG/NBD fit on a few hundred customers can drift to a, b ~ 1e6 (little
 * heterogeneity in dropout): 2F1(r + x, b + x; a + b + x - 1; z) then has b
 * and c huge and converges fast, but a remainder bound that paired b with the
 * factorial's 1 stayed above 1 for ~b terms (clv demo --customers 300 failed
 * with "did not converge"). */
START_TEST(bgnbd_huge_a_b)
{
    static const double P[4] = { 0.255122, 6.70866, 1.10808e6, 4.77323e6 };
    float x[3] = { 0, 2, 7 }, tx[3] = { 0, 10, 30 }, T[3] = { 31.2857f, 31.2857f, 35 }, e[3];
    ck_assert_int_eq(clv_bgnbd_expected(P, 3, x, tx, T, 39, e, NULL), CLV_OK);
    for (int i = 0; i < 3; i++) assert_rel(e[i], brute_bgnbd_e(P, x[i], tx[i], T[i], 39), 1e-5, "E, huge a and b");
    check_2f1(0.255122, 4.77323e6, 1.10808e6 + 4.77323e6 - 1, 0.506,
              brute_2f1(0.255122L, 4.77323e6L, 1.10808e6L + 4.77323e6L - 1, 0.506L), 1e-12);
}
END_TEST

START_TEST(bgnbd_zero_frequency)
{
    /* x = 0: P(alive) = 1 exactly; E > 0, smaller for older non-buyers,
     * growing with the horizon. */
    float x[3] = { 0, 0, 0 }, tx[3] = { 0, 0, 0 }, T[3] = { 5, 20, 38 };
    float e[3], pa[3], e2[3];
    ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 3, x, tx, T, 39, e, pa), CLV_OK);
    ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 3, x, tx, T, 78, e2, NULL), CLV_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert(pa[i] == 1.0f);
        ck_assert(e[i] > 0 && e2[i] > e[i]);
        assert_rel(e[i], brute_bgnbd_e(PUB_BG, 0, 0, T[i], 39), 2e-6, "E for x = 0");
    }
    ck_assert(e[0] > e[1] && e[1] > e[2]);
    /* a buyer who stopped long ago is less likely alive than a recent one */
    float xb[2] = { 3, 3 }, tb[2] = { 5, 35 }, Tb[2] = { 38, 38 }, pb[2];
    ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 2, xb, tb, Tb, 39, NULL, pb), CLV_OK);
    ck_assert(pb[0] < pb[1] && pb[1] < 1.0f);
}
END_TEST

/* Pareto/NBD P(alive) and E against the integral form: for both orderings
 * of alpha and beta, 2F1 arguments beyond 0.9 (connection formula), integer
 * s (integer c-a-b), and r + x integer with alpha < beta. */
START_TEST(paretonbd_expected_paths)
{
    static const double P[][4] = {
        { 0.553, 10.578, 0.606, 11.669 }, /* CDNOW, alpha < beta */
        { 0.5, 100, 0.7, 0.5 },           /* alpha >> beta: z ~ 0.97 */
        { 0.5, 100, 2.0, 0.5 },           /* ... with integer s */
        { 1.0, 0.4, 0.8, 60 },            /* beta >> alpha, r + x integer */
        { 2.2, 3.0, 1.0, 3.0 },           /* alpha = beta, s = 1 */
    };
    float x[4] = { 0, 1, 3, 12 }, tx[4] = { 0, 2, 20, 37 }, T[4] = { 30, 25, 38, 38.5f };
    for (size_t k = 0; k < NELEM(P); k++) {
        float e[4], pa[4];
        ck_assert_int_eq(clv_paretonbd_expected(P[k], 4, x, tx, T, 39, e, pa), CLV_OK);
        for (int i = 0; i < 4; i++) {
            double want_pa, ll;
            double ref_ll = ref_pareto_ll(P[k], x[i], tx[i], T[i], &want_pa);
            ck_assert_int_eq(clv_paretonbd_loglik(P[k], 1, &x[i], &tx[i], &T[i], &ll), CLV_OK);
            ck_assert_msg(fabs(ll - ref_ll) < 1e-8 * fmax(1, fabs(ref_ll)),
                          "params %zu, customer %d: LL %.12g, quadrature %.12g", k, i, ll, ref_ll);
            ck_assert_msg(clv_test_relerr(pa[i], want_pa, 1e-30) < 1e-6,
                          "params %zu, customer %d: P(alive) %.8g, want %.8g", k, i, pa[i], want_pa);
            double r = P[k][0], al = P[k][1], s = P[k][2], be = P[k][3];
            double g = s == 1 ? log1p(39 / (be + T[i]))
                              : (1 - pow((be + T[i]) / (be + T[i] + 39), s - 1)) / (s - 1);
            double want_e = want_pa * (r + x[i]) * (be + T[i]) / (al + T[i]) * g;
            assert_rel(e[i], want_e, 1e-6, "Pareto/NBD E");
        }
    }
    /* s = 1 is the limit of its neighbours */
    double p1[4] = { 0.5, 10, 1.0, 12 }, p2[4] = { 0.5, 10, 1 + 1e-9, 12 };
    float e1, e2;
    ck_assert_int_eq(clv_paretonbd_expected(p1, 1, &x[2], &tx[2], &T[2], 39, &e1, NULL), CLV_OK);
    ck_assert_int_eq(clv_paretonbd_expected(p2, 1, &x[2], &tx[2], &T[2], 39, &e2, NULL), CLV_OK);
    assert_rel(e1, e2, 1e-6, "E at s = 1");
}
END_TEST

START_TEST(paretonbd_zero_frequency)
{
    float x[3] = { 0, 0, 0 }, tx[3] = { 0, 0, 0 }, T[3] = { 5, 20, 38 };
    float e[3], pa[3], e0[3];
    ck_assert_int_eq(clv_paretonbd_expected(PUB_PN, 3, x, tx, T, 39, e, pa), CLV_OK);
    ck_assert_int_eq(clv_paretonbd_expected(PUB_PN, 3, x, tx, T, 0, e0, NULL), CLV_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert(pa[i] > 0 && pa[i] < 1);
        ck_assert(e[i] > 0);
        ck_assert(e0[i] == 0.0f);
    }
    /* the longer a non-buyer has been silent, the less likely alive */
    ck_assert(pa[0] > pa[1] && pa[1] > pa[2]);
    ck_assert(e[0] > e[1] && e[1] > e[2]);
}
END_TEST

START_TEST(gammagamma_expected)
{
    float x[3] = { 0, 1, 6 }, m[3] = { 0, 20, 35.5f }, out[3];
    ck_assert_int_eq(clv_gammagamma_expected_value(PUB_GG, 3, x, m, out), CLV_OK);
    /* x = 0: the population mean p gamma / (q - 1) */
    assert_rel(out[0], 6.25 * 15.44 / 2.74, 1e-7, "population mean");
    assert_rel(out[1], 6.25 * (15.44 + 20) / (6.25 + 2.74), 1e-7, "x = 1");
    assert_rel(out[2], 6.25 * (15.44 + 6 * 35.5) / (6 * 6.25 + 2.74), 1e-7, "x = 6");
    /* shrinkage: between the population mean and the customer's own mean */
    ck_assert(out[2] > out[0] && out[2] < 35.5f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pareto/NBD where the 2F1 form is slow or loses its digits          */

/* A common dropout rate. The seasonal setting of the simulator (weekly
 * amplitude 0.6, yearly 0.9; 5000 customers, seed 1) calibrated to
 * 1997-06-30 has a Pareto/NBD likelihood that keeps rising as s and beta
 * grow together with s/beta ~ 0.12: the gamma spread of dropout rates
 * collapses onto one rate. Its fit walked up that ridge and never
 * finished. At the point below, which it visited, the 2F1 form summed
 * 2F1(r+s+x, r+x; r+s+x+1; z), z = 1 - 5e-5, by 0.4 to 1 million terms
 * (12.5 s per likelihood evaluation of the log's 1352 distinct customers,
 * longer at every step up the ridge) or fell back to 8 digits (customer 1
 * below was off by 4e-9); further up, s log(beta) - s log(beta+T) cancelled
 * (errors up to 1.1e-4 at beta = 1e10). Customers as in that log (times in
 * days / 7). */
static const double PN_RIDGE[4] = { 0.63693667424395983, 9.8211378654489856, 53919.484783372623,
                                    450849.67237637605 };

START_TEST(paretonbd_common_dropout_rate)
{
    const float x[4] = { 0, 1, 3, 15 }, tx[4] = { 0, 15 / 7.0f, 7 / 7.0f, 142 / 7.0f };
    const float T[4] = { 97 / 7.0f, 122 / 7.0f, 138 / 7.0f, 176 / 7.0f };
    double ll, want_pa;
    float pa[4], e[4];
    ck_assert_int_eq(clv_paretonbd_expected(PN_RIDGE, 4, x, tx, T, 13, e, pa), CLV_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(clv_paretonbd_loglik(PN_RIDGE, 1, &x[i], &tx[i], &T[i], &ll), CLV_OK);
        double want = ref_pareto_2f1_ll(PN_RIDGE, x[i], tx[i], T[i]);
        double want2 = ref_pareto_scaled_ll(PN_RIDGE, x[i], tx[i], T[i], &want_pa);
        ck_assert_msg(fabs(ll - want) <= 1e-11 * fmax(1, fabs(want)),
                      "customer %d: LL %.15g, published 2F1 form %.15g", i, ll, want);
        ck_assert_msg(fabs(ll - want2) <= 1e-11 * fmax(1, fabs(want2)),
                      "customer %d: LL %.15g, integral %.15g", i, ll, want2);
        ck_assert_msg(clv_test_relerr(pa[i], want_pa, 1e-30) < 1e-6, "customer %d: P(alive) %.8g, want %.8g",
                      i, pa[i], want_pa);
    }
    /* Bounded time: 1000 evaluations of the four customers. The 2F1 form
     * took about 20 ms per evaluation here (20 s in all). */
    clock_t c0 = clock();
    for (int k = 0; k < 1000; k++) ck_assert_int_eq(clv_paretonbd_loglik(PN_RIDGE, 4, x, tx, T, &ll), CLV_OK);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    ck_assert_msg(cpu < 2.0, "1000 evaluations took %.2f CPU-seconds", cpu);
    /* Up the ridge to beta = 1e11 (s = 1.2e10, log s = 23.2, still inside the
     * optimiser's box): the exact value, tending to the common-rate limit. */
    const double mu = PN_RIDGE[2] / PN_RIDGE[3];
    for (double be = 1e5; be <= 1e11; be *= 100) {
        const double p[4] = { PN_RIDGE[0], PN_RIDGE[1], mu * be, be };
        for (int i = 0; i < 4; i++) {
            ck_assert_int_eq(clv_paretonbd_loglik(p, 1, &x[i], &tx[i], &T[i], &ll), CLV_OK);
            double want = ref_pareto_scaled_ll(p, x[i], tx[i], T[i], NULL);
            double lim = ref_common_rate_ll(p[0], p[1], mu, x[i], tx[i], T[i]);
            ck_assert_msg(fabs(ll - want) <= 1e-11 * fmax(1, fabs(want)),
                          "beta %g, customer %d: LL %.15g, integral %.15g", be, i, ll, want);
            ck_assert_msg(fabs(ll - lim) <= 10 / p[2], "beta %g, customer %d: LL %.15g, limit %.15g", be, i, ll,
                          lim);
        }
    }
}
END_TEST

/* A non-buyer whose likelihood is within 1e-12 of 1 (purchases all but
 * impossible): log L from L = first + second would be rounding noise of
 * ~1e-16; the complement keeps its digits, so that the fit of data where
 * nobody buys again sees the likelihood rise all the way and runs off
 * (fit_penalty_and_divergence). The complement formula is checked first
 * where both sides are well resolved: L + (1 - L) = 1. */
START_TEST(paretonbd_nonbuyer_near_one)
{
    static const double P[][4] = {
        { 0.553, 10.578, 0.606, 11.669 },                      /* the 2F1 form */
        { 0.637, 9.82, 53919.48, 450849.7 },                   /* the quadrature */
        { 0.553, 10.578, 400, 30 },                            /* quick dropout */
    };
    const float x = 0, tx = 0, T = 38;
    for (size_t k = 0; k < NELEM(P); k++) {
        double ll, p[4];
        memcpy(p, P[k], sizeof p);
        ck_assert_int_eq(clv_paretonbd_loglik(p, 1, &x, &tx, &T, &ll), CLV_OK);
        long double c = ref_pareto_nonbuyer_c(p, T);
        ck_assert_msg(fabsl(expl(ll) + c - 1) < 1e-12L, "params %zu: L %.17g + (1 - L) %.17Lg != 1", k, exp(ll), c);
        for (double r = 1e-6; r >= 1e-14; r *= 1e-4) {
            p[0] = r;
            ck_assert_int_eq(clv_paretonbd_loglik(p, 1, &x, &tx, &T, &ll), CLV_OK);
            double want = (double)log1pl(-ref_pareto_nonbuyer_c(p, T));
            ck_assert_msg(ll < 0 && clv_test_relerr(ll, want, 1e-300) < 1e-9,
                          "params %zu, r = %g: LL %.17g, want %.17g", k, r, ll, want);
        }
    }
}
END_TEST

/* The same shape, small: 200 customers of that setting. The likelihood's
 * supremum is the common-rate limit, so the fit must end with "s ran off"
 * (before, it had not ended after 120 CPU-seconds); a small penalty gives a
 * finite fit, as the message says. */
START_TEST(paretonbd_fit_common_dropout_rate)
{
    clv_txlog *log = clv_test_seasonal_log(200);
    int32_t cutoff, end;
    ck_assert_int_eq(clv_date_parse("1997-06-30", &cutoff), CLV_OK);
    ck_assert_int_eq(clv_date_parse("1997-09-30", &end), CLV_OK);
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    po.norm = CLV_NORM_NONE;
    clv_pipeline *pl;
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_new(&pl, &po), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(pl, log, cutoff), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(pl, log, cutoff, end, &ds), CLV_OK);
    const uint64_t n = clv_dataset_customers(ds);
    const float *fx = clv_dataset_frequency(ds), *rec = clv_dataset_recency_days(ds), *age = clv_dataset_age_days(ds);
    float *x = malloc(3 * n * sizeof(float)), *tx = x + n, *T = tx + n;
    for (uint64_t i = 0; i < n; i++) {
        x[i] = fx[i];
        tx[i] = rec[i] / 7.0f;
        T[i] = age[i] / 7.0f;
    }
    double p[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL }, ll = SENTINEL, ll2;
    clock_t c0 = clock();
    ck_assert_int_eq(clv_paretonbd_fit(NULL, n, x, tx, T, p, &ll), CLV_ENUMERIC);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    assert_error_mentions("parameter s ran off");
    ck_assert(p[0] == SENTINEL && ll == SENTINEL);
    ck_assert_msg(cpu < 20.0, "the fit took %.2f CPU-seconds", cpu);
    clv_btyd_options o;
    clv_btyd_options_init(&o);
    o.penalty = 0.001;
    ck_assert_int_eq(clv_paretonbd_fit(&o, n, x, tx, T, p, &ll), CLV_OK);
    /* large s and beta, their ratio near the common rate (0.107 measured) */
    ck_assert_msg(p[2] > 10 && p[2] / p[3] > 0.05 && p[2] / p[3] < 0.2, "s = %g, beta = %g", p[2], p[3]);
    ck_assert_int_eq(clv_paretonbd_loglik(p, n, x, tx, T, &ll2), CLV_OK);
    ck_assert(ll == ll2);
    free(x);
    clv_dataset_free(ds);
    clv_pipeline_free(pl);
    clv_txlog_free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Options, convergence and errors                                     */

/* 60 synthetic customers, deterministic. */
static void synthetic(float *x, float *tx, float *T, float *m, size_t n)
{
    float u[3 * 64];
    clv_test_fill(u, 3 * n, 7, 0, 1);
    for (size_t i = 0; i < n; i++) {
        T[i] = 10 + 30 * u[i];
        x[i] = floorf(6 * u[n + i] * u[n + i]);
        tx[i] = x[i] > 0 ? T[i] * (0.2f + 0.8f * u[2 * n + i]) : 0;
        m[i] = x[i] > 0 ? 10 + 40 * u[2 * n + i] : 0;
    }
}

START_TEST(options_defaults)
{
    clv_btyd_options o;
    memset(&o, 0xff, sizeof o);
    clv_btyd_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_uint_eq(o.max_iterations, 20000);
    ck_assert_double_eq(o.tolerance, 1e-10);
    ck_assert_double_eq(o.penalty, 0);
    clv_btyd_options_init(NULL);
    /* NULL options = defaults, same bits */
    float x[60], tx[60], T[60], m[60];
    synthetic(x, tx, T, m, 60);
    double a[4], b[4], la, lb;
    ck_assert_int_eq(clv_bgnbd_fit(NULL, 60, x, tx, T, a, &la), CLV_OK);
    ck_assert_int_eq(clv_bgnbd_fit(&o, 60, x, tx, T, b, &lb), CLV_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0 && la == lb);
    /* an older, shorter struct: the missing fields take their defaults */
    o.struct_size = (uint32_t)(offsetof(clv_btyd_options, max_iterations) + sizeof o.max_iterations);
    o.tolerance = -1; /* beyond struct_size: not read */
    ck_assert_int_eq(clv_bgnbd_fit(&o, 60, x, tx, T, b, NULL), CLV_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0);
}
END_TEST

START_TEST(fit_penalty_and_divergence)
{
    /* Nobody ever buys again: r -> 0 improves the likelihood without end. */
    float x[5] = { 0, 0, 0, 0, 0 }, tx[5] = { 0, 0, 0, 0, 0 }, T[5] = { 5, 10, 20, 30, 38 };
    double p[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL }, ll = SENTINEL;
    ck_assert_int_eq(clv_bgnbd_fit(NULL, 5, x, tx, T, p, &ll), CLV_ENUMERIC);
    assert_error_mentions("clv_bgnbd_fit");
    ck_assert(p[0] == SENTINEL && ll == SENTINEL);
    ck_assert_int_eq(clv_paretonbd_fit(NULL, 5, x, tx, T, p, &ll), CLV_ENUMERIC);
    ck_assert(p[0] == SENTINEL && ll == SENTINEL);
    /* A penalty on the log-parameters keeps the estimate finite. */
    clv_btyd_options o;
    clv_btyd_options_init(&o);
    o.penalty = 0.1;
    ck_assert_int_eq(clv_bgnbd_fit(&o, 5, x, tx, T, p, &ll), CLV_OK);
    for (int k = 0; k < 4; k++) ck_assert(isfinite(p[k]) && p[k] > 0);
    /* ... and pulls the synthetic fit towards theta = 1 */
    float sx[60], st[60], sT[60], sm[60];
    synthetic(sx, st, sT, sm, 60);
    double free_p[4], pen_p[4];
    ck_assert_int_eq(clv_bgnbd_fit(NULL, 60, sx, st, sT, free_p, NULL), CLV_OK);
    o.penalty = 5;
    ck_assert_int_eq(clv_bgnbd_fit(&o, 60, sx, st, sT, pen_p, NULL), CLV_OK);
    double nf = 0, np = 0;
    for (int k = 0; k < 4; k++) {
        nf += log(free_p[k]) * log(free_p[k]);
        np += log(pen_p[k]) * log(pen_p[k]);
    }
    ck_assert(np < nf);
}
END_TEST

START_TEST(fit_iteration_limit)
{
    float x[60], tx[60], T[60], m[60];
    synthetic(x, tx, T, m, 60);
    clv_btyd_options o;
    clv_btyd_options_init(&o);
    o.max_iterations = 5;
    double p[4] = { SENTINEL, 0, 0, 0 }, g[3] = { SENTINEL, 0, 0 };
    ck_assert_int_eq(clv_bgnbd_fit(&o, 60, x, tx, T, p, NULL), CLV_ENUMERIC);
    assert_error_mentions("max_iterations = 5");
    ck_assert_int_eq(clv_paretonbd_fit(&o, 60, x, tx, T, p, NULL), CLV_ENUMERIC);
    assert_error_mentions("clv_paretonbd_fit");
    ck_assert_int_eq(clv_gammagamma_fit(&o, 60, x, m, g, NULL), CLV_ENUMERIC);
    assert_error_mentions("clv_gammagamma_fit");
    ck_assert(p[0] == SENTINEL && g[0] == SENTINEL);
    /* the same data fit fine with the default budget */
    ck_assert_int_eq(clv_gammagamma_fit(NULL, 60, x, m, g, NULL), CLV_OK);
}
END_TEST

START_TEST(errors_options)
{
    float x[2] = { 1, 0 }, tx[2] = { 3, 0 }, T[2] = { 10, 10 };
    double p[4];
    clv_btyd_options o;
    clv_btyd_options_init(&o);
    o.struct_size = 4;
    ck_assert_int_eq(clv_bgnbd_fit(&o, 2, x, tx, T, p, NULL), CLV_EINVAL);
    assert_error_mentions("struct_size");
    clv_btyd_options_init(&o);
    o.max_iterations = 0;
    ck_assert_int_eq(clv_paretonbd_fit(&o, 2, x, tx, T, p, NULL), CLV_EINVAL);
    assert_error_mentions("max_iterations");
    static const double bad_tol[] = { 0, -1e-8, 0.5, NAN, INFINITY };
    for (size_t i = 0; i < NELEM(bad_tol); i++) {
        clv_btyd_options_init(&o);
        o.tolerance = bad_tol[i];
        ck_assert_int_eq(clv_bgnbd_fit(&o, 2, x, tx, T, p, NULL), CLV_EINVAL);
        assert_error_mentions("tolerance");
    }
    static const double bad_pen[] = { -0.1, NAN, INFINITY };
    for (size_t i = 0; i < NELEM(bad_pen); i++) {
        clv_btyd_options_init(&o);
        o.penalty = bad_pen[i];
        ck_assert_int_eq(clv_gammagamma_fit(&o, 2, x, T, p, NULL), CLV_EINVAL);
        assert_error_mentions("penalty");
    }
}
END_TEST

typedef int (*rft_fn)(const float *x, const float *tx, const float *T, uint64_t n);

static int call_bg_fit(const float *x, const float *tx, const float *T, uint64_t n)
{
    double p[4];
    return clv_bgnbd_fit(NULL, n, x, tx, T, p, NULL);
}
static int call_pn_fit(const float *x, const float *tx, const float *T, uint64_t n)
{
    double p[4];
    return clv_paretonbd_fit(NULL, n, x, tx, T, p, NULL);
}
static int call_bg_ll(const float *x, const float *tx, const float *T, uint64_t n)
{
    double v;
    return clv_bgnbd_loglik(PUB_BG, n, x, tx, T, &v);
}
static int call_pn_ll(const float *x, const float *tx, const float *T, uint64_t n)
{
    double v;
    return clv_paretonbd_loglik(PUB_PN, n, x, tx, T, &v);
}
static int call_bg_e(const float *x, const float *tx, const float *T, uint64_t n)
{
    float e[4], pa[4];
    return clv_bgnbd_expected(PUB_BG, n, x, tx, T, 39, e, pa);
}
static int call_pn_e(const float *x, const float *tx, const float *T, uint64_t n)
{
    float e[4];
    return clv_paretonbd_expected(PUB_PN, n, x, tx, T, 39, e, NULL);
}

/* Every bad (x, t_x, T) is refused with a message naming the array and index. */
START_TEST(errors_summaries)
{
    static const rft_fn fns[] = { call_bg_fit, call_pn_fit, call_bg_ll, call_pn_ll, call_bg_e, call_pn_e };
    struct bad {
        int idx;
        float x, tx, T;
        const char *needle;
    } cases[] = {
        { 2, -1, 0, 10, "x[2]" },       { 2, 1.5f, 1, 10, "x[2]" },
        { 2, NAN, 1, 10, "x[2]" },      { 2, INFINITY, 1, 10, "x[2]" },
        { 3, 1, 1, 0, "T[3]" },         { 3, 1, 1, -5, "T[3]" },
        { 3, 1, 1, INFINITY, "T[3]" },  { 1, 1, -1, 10, "t_x[1]" },
        { 1, 1, 11, 10, "t_x[1]" },     { 1, 1, NAN, 10, "t_x[1]" },
        { 0, 0, 2, 10, "t_x[0]" }, /* x = 0 with t_x > 0 */
    };
    for (size_t f = 0; f < NELEM(fns); f++) {
        for (size_t c = 0; c < NELEM(cases); c++) {
            float x[4] = { 1, 2, 0, 3 }, tx[4] = { 1, 2, 0, 3 }, T[4] = { 10, 10, 10, 10 };
            x[cases[c].idx] = cases[c].x;
            tx[cases[c].idx] = cases[c].tx;
            T[cases[c].idx] = cases[c].T;
            ck_assert_int_eq(fns[f](x, tx, T, 4), CLV_EINVAL);
            assert_error_mentions(cases[c].needle);
        }
        float x[1] = { 1 }, tx[1] = { 1 }, T[1] = { 5 };
        ck_assert_int_eq(fns[f](x, tx, T, 0), CLV_EINVAL);
        ck_assert_int_eq(fns[f](NULL, tx, T, 1), CLV_EINVAL);
        assert_error_mentions("x is NULL");
        ck_assert_int_eq(fns[f](x, NULL, T, 1), CLV_EINVAL);
        assert_error_mentions("t_x is NULL");
        ck_assert_int_eq(fns[f](x, tx, NULL, 1), CLV_EINVAL);
        assert_error_mentions("T is NULL");
        if (f >= 2) ck_assert_int_eq(fns[f](x, tx, T, 1), CLV_OK); /* not the fits: 1 customer */
    }
}
END_TEST

START_TEST(errors_params_and_outputs)
{
    float x[2] = { 1, 0 }, tx[2] = { 3, 0 }, T[2] = { 10, 10 }, e[2] = { -7, -7 }, pa[2] = { -7, -7 };
    double v = SENTINEL;
    static const double bad[] = { 0, -1, NAN, INFINITY };
    for (int k = 0; k < 4; k++)
        for (size_t b = 0; b < NELEM(bad); b++) {
            double p[4] = { 0.5, 4, 0.8, 2.4 };
            p[k] = bad[b];
            ck_assert_int_eq(clv_bgnbd_loglik(p, 2, x, tx, T, &v), CLV_EINVAL);
            assert_error_mentions("params[");
            ck_assert_int_eq(clv_bgnbd_expected(p, 2, x, tx, T, 39, e, pa), CLV_EINVAL);
            ck_assert_int_eq(clv_paretonbd_loglik(p, 2, x, tx, T, &v), CLV_EINVAL);
            ck_assert_int_eq(clv_paretonbd_expected(p, 2, x, tx, T, 39, e, pa), CLV_EINVAL);
            if (k < 3) {
                ck_assert_int_eq(clv_gammagamma_loglik(p, 2, x, tx, &v), CLV_EINVAL);
                ck_assert_int_eq(clv_gammagamma_expected_value(p, 2, x, tx, e), CLV_EINVAL);
            }
        }
    ck_assert(v == SENTINEL && e[0] == -7 && pa[0] == -7);
    ck_assert_int_eq(clv_bgnbd_loglik(NULL, 2, x, tx, T, &v), CLV_EINVAL);
    ck_assert_int_eq(clv_bgnbd_loglik(PUB_BG, 2, x, tx, T, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_paretonbd_loglik(PUB_PN, 2, x, tx, T, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_gammagamma_loglik(PUB_GG, 2, x, tx, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_bgnbd_fit(NULL, 2, x, tx, T, NULL, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_paretonbd_fit(NULL, 2, x, tx, T, NULL, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_gammagamma_fit(NULL, 2, x, tx, NULL, NULL), CLV_EINVAL);
    /* outputs: both NULL refused, either alone fine */
    ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 2, x, tx, T, 39, NULL, NULL), CLV_EINVAL);
    assert_error_mentions("both NULL");
    ck_assert_int_eq(clv_paretonbd_expected(PUB_PN, 2, x, tx, T, 39, NULL, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 2, x, tx, T, 39, e, NULL), CLV_OK);
    ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 2, x, tx, T, 39, NULL, pa), CLV_OK);
    ck_assert_int_eq(clv_paretonbd_expected(PUB_PN, 2, x, tx, T, 39, NULL, pa), CLV_OK);
    ck_assert_int_eq(clv_gammagamma_expected_value(PUB_GG, 2, x, tx, NULL), CLV_EINVAL);
    /* horizons */
    static const double bad_h[] = { -1, NAN, INFINITY };
    for (size_t i = 0; i < NELEM(bad_h); i++) {
        ck_assert_int_eq(clv_bgnbd_expected(PUB_BG, 2, x, tx, T, bad_h[i], e, pa), CLV_EINVAL);
        assert_error_mentions("horizon");
        ck_assert_int_eq(clv_paretonbd_expected(PUB_PN, 2, x, tx, T, bad_h[i], e, pa), CLV_EINVAL);
    }
}
END_TEST

START_TEST(errors_gammagamma)
{
    float x[3] = { 2, 0, 1 }, m[3] = { 20, 0, 15 }, out[3] = { -7, -7, -7 };
    double g[3] = { SENTINEL, 0, 0 }, v = SENTINEL;
    struct bad {
        int idx;
        float x, m;
        const char *needle;
    } cases[] = {
        { 1, -1, 0, "x[1]" }, { 1, 0.5f, 3, "x[1]" }, { 1, NAN, 3, "x[1]" },
        { 2, 1, -3, "m_x[2]" }, { 2, 1, NAN, "m_x[2]" }, { 2, 1, INFINITY, "m_x[2]" },
    };
    for (size_t c = 0; c < NELEM(cases); c++) {
        float xx[3], mm[3];
        memcpy(xx, x, sizeof xx);
        memcpy(mm, m, sizeof mm);
        xx[cases[c].idx] = cases[c].x;
        mm[cases[c].idx] = cases[c].m;
        ck_assert_int_eq(clv_gammagamma_fit(NULL, 3, xx, mm, g, NULL), CLV_EINVAL);
        assert_error_mentions(cases[c].needle);
        ck_assert_int_eq(clv_gammagamma_loglik(PUB_GG, 3, xx, mm, &v), CLV_EINVAL);
        ck_assert_int_eq(clv_gammagamma_expected_value(PUB_GG, 3, xx, mm, out), CLV_EINVAL);
    }
    ck_assert_int_eq(clv_gammagamma_fit(NULL, 0, x, m, g, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_gammagamma_fit(NULL, 3, NULL, m, g, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_gammagamma_fit(NULL, 3, x, NULL, g, NULL), CLV_EINVAL);
    /* nobody with x > 0 and m_x > 0: nothing to fit */
    float x0[2] = { 0, 3 }, m0[2] = { 0, 0 };
    ck_assert_int_eq(clv_gammagamma_fit(NULL, 2, x0, m0, g, NULL), CLV_EINVAL);
    assert_error_mentions("nothing to fit");
    /* a customer with x > 0 and m_x = 0 is skipped: same LL as without them */
    double l1, l2;
    float xs[4] = { 2, 0, 1, 4 }, ms[4] = { 20, 0, 15, 0 };
    ck_assert_int_eq(clv_gammagamma_loglik(PUB_GG, 4, xs, ms, &l1), CLV_OK);
    ck_assert_int_eq(clv_gammagamma_loglik(PUB_GG, 3, xs, ms, &l2), CLV_OK);
    ck_assert(l1 == l2);
    assert_rel(l1, ref_gg_ll(PUB_GG, 2, 20) + ref_gg_ll(PUB_GG, 1, 15), 1e-12, "GG LL");
    /* the population mean needs q > 1 */
    double gq[3] = { 6.25, 0.9, 15.44 };
    ck_assert_int_eq(clv_gammagamma_expected_value(gq, 3, x, m, out), CLV_EINVAL);
    assert_error_mentions("customer 1");
    ck_assert(out[0] == -7 && g[0] == SENTINEL && v == SENTINEL);
    /* ... but not when everybody has bought again */
    ck_assert_int_eq(clv_gammagamma_expected_value(gq, 1, x, m, out), CLV_OK);
}
END_TEST

static Suite *btyd_suite(void)
{
    Suite *s = suite_create("btyd");
    TCase *tc = tcase_create("hyp2f1");
    tcase_add_test(tc, hyp_closed_forms);
    tcase_add_test(tc, hyp_against_series);
    tcase_add_test(tc, hyp_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("cdnow");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cdnow_summaries);
    tcase_add_test(tc, cdnow_bgnbd);
    tcase_add_test(tc, bgnbd_worked_example);
    tcase_add_test(tc, cdnow_paretonbd);
    tcase_add_test(tc, cdnow_gammagamma);
    tcase_add_test(tc, cdnow_units);
    tcase_add_test(tc, cdnow_determinism);
    tcase_add_test(tc, cdnow_via_pipeline);
    suite_add_tcase(s, tc);

    tc = tcase_create("predictions");
    tcase_add_test(tc, bgnbd_expected_paths);
    tcase_add_test(tc, bgnbd_zero_frequency);
    tcase_add_test(tc, bgnbd_huge_a_b);
    tcase_add_test(tc, paretonbd_expected_paths);
    tcase_add_test(tc, paretonbd_zero_frequency);
    tcase_add_test(tc, gammagamma_expected);
    suite_add_tcase(s, tc);

    tc = tcase_create("hard regions");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, paretonbd_common_dropout_rate);
    tcase_add_test(tc, paretonbd_fit_common_dropout_rate);
    tcase_add_test(tc, paretonbd_nonbuyer_near_one);
    suite_add_tcase(s, tc);

    tc = tcase_create("options and errors");
    tcase_add_test(tc, options_defaults);
    tcase_add_test(tc, fit_penalty_and_divergence);
    tcase_add_test(tc, fit_iteration_limit);
    tcase_add_test(tc, errors_options);
    tcase_add_test(tc, errors_summaries);
    tcase_add_test(tc, errors_params_and_outputs);
    tcase_add_test(tc, errors_gammagamma);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return clv_test_run(btyd_suite());
}
