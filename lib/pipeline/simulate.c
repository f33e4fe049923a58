/* Synthetic transaction logs with a known ground truth (simulate.h).
 *
 * The process is documented in docs/simulator.md; in short, per customer i:
 *   acquisition day  A_i ~ Uniform{start, .., start + acquisition_days - 1}
 *   purchase rate    lambda_i ~ Gamma(r, rate alpha), per week (per day: lambda_i / 7)
 *   dropout          p_i ~ Beta(a, b)
 *   spend scale      nu_i ~ Gamma(q, rate gamma); amount ~ Gamma(p, rate nu_i)
 * and, while alive, a Poisson process of intensity lambda_i / 7 * s(d) on day d
 * whose events on one calendar day make one transaction (a day with at least
 * one event), each transaction after the first followed by dropout with
 * probability p_i.
 *
 * Determinism: customer i draws from three private xoshiro256** streams
 * seeded from (seed, i, stream) only, so a customer's rows depend on nothing
 * else (not on the order customers are generated in, nor on batch sizes):
 *   stream 0 (latent): acquisition, lambda, p, nu, then the purchase process;
 *   stream 1 (spend):  amount and quantity of each purchase, in order;
 *   stream 2 (browse): browser or not, browse-only days, click/cart draws.
 * The ground truth replays stream 0 alone up to the cutoff. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../clv_internal.h"
#include "../io/container.h"
#include "../core/rng.h"

/* ------------------------------------------------------------------ */
/* Limits and fixed constants of the process (all in docs/simulator.md). */

#define SIM_MAX_CUSTOMERS 100000000ULL
#define SIM_MAX_DAYS 100000u           /* ~273 years */
#define SIM_MIN_DAY (-719162)          /* 0001-01-01 */
#define SIM_MAX_DAY 2932896            /* 9999-12-31 */
#define SIM_MIN_SHAPE 0.01
#define SIM_MAX_SHAPE 1000.0
#define SIM_MIN_RATE 1e-6
#define SIM_MAX_RATE 1e9

#define SIM_WEEKLY_PEAK_DOW 6          /* 0 = Monday .. 6 = Sunday */
#define SIM_YEARLY_PEAK_DAY 349        /* 1970-12-16: mid-December, every year */
#define SIM_YEAR_DAYS 365.25

#define SIM_MAX_CENTS 100000000000LL   /* amounts are capped at $1,000,000,000 */
#define SIM_CENTS_PER_EXTRA_ITEM 2500.0 /* quantity = 1 + Poisson(amount / $25) */
#define SIM_BROWSE_RATE 2.0            /* browse-only day intensity, times the purchase intensity */
#define SIM_CLICK_ON_PURCHASE_DAY 0.7
#define SIM_CLICK_ON_BROWSE_DAY 0.5
#define SIM_CART_ON_BROWSE_DAY 0.2

/* Truth: below this day intensity the per-day product is summed by its
 * 4th-order series in closed form (relative error < x^4, i.e. < 1e-5). */
#define SIM_SERIES_MAX_X 0.05

/* Above this many thinning candidates per day, days are drawn one by one. */
#define SIM_DAYWISE_RATE 1.0

#define SIM_BATCH_ROWS 65536u          /* rows per clv_txlog_append_u64 call */
#define SIM_CSV_BUFFER ((size_t)4 << 20)

#define SIM_OPTIONS_MIN_SIZE (offsetof(clv_sim_options, browse_share) + sizeof(double))

/* ------------------------------------------------------------------ */
/* Options */

CLV_API void clv_sim_options_init(clv_sim_options *opts)
{
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = (uint32_t)sizeof *opts;
    opts->customers = 10000;
    opts->seed = 1;
    opts->start_day = 9862; /* 1997-01-01 */
    opts->days = 546;       /* 78 weeks */
    opts->acquisition_days = 84;
    opts->r = 0.243;
    opts->alpha = 4.414;
    opts->a = 0.793;
    opts->b = 2.426;
    opts->p = 6.25;
    opts->q = 3.74;
    opts->gamma = 15.44;
    opts->weekly_amplitude = 0.2;
    opts->yearly_amplitude = 0.3;
    opts->browse_share = 0.3;
}

static int check_double(const char *fn, const char *name, double v, double lo, double hi,
                        int hi_open)
{
    int ok = isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
    CLV__CHECK_ARG(ok, "%s: %s = %g, expected a finite value in [%g, %g%c", fn, name, v, lo, hi,
                   hi_open ? ')' : ']');
    return CLV_OK;
}

static int read_options(const char *fn, const clv_sim_options *in, clv_sim_options *o)
{
    CLV__CHECK_ARG(in != NULL, "%s: opts is NULL (fill one with clv_sim_options_init())", fn);
    CLV__CHECK_ARG(in->struct_size >= SIM_OPTIONS_MIN_SIZE,
                   "%s: opts->struct_size = %" PRIu32 ", expected at least %zu "
                   "(fill opts with clv_sim_options_init())",
                   fn, in->struct_size, (size_t)SIM_OPTIONS_MIN_SIZE);
    clv_sim_options_init(o);
    memcpy(o, in, in->struct_size < sizeof *o ? in->struct_size : sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;

    CLV__CHECK_ARG(o->customers >= 1 && o->customers <= SIM_MAX_CUSTOMERS,
                   "%s: customers = %" PRIu64 ", expected 1..%llu", fn, o->customers,
                   SIM_MAX_CUSTOMERS);
    CLV__CHECK_ARG(o->days >= 1 && o->days <= SIM_MAX_DAYS,
                   "%s: days = %" PRIu32 ", expected 1..%u", fn, o->days, SIM_MAX_DAYS);
    CLV__CHECK_ARG(o->start_day >= SIM_MIN_DAY &&
                       (int64_t)o->start_day + (int64_t)o->days - 1 <= SIM_MAX_DAY,
                   "%s: start_day = %" PRId32 " with days = %" PRIu32
                   ": the window must lie in years 1..9999 (days %d..%d)",
                   fn, o->start_day, o->days, SIM_MIN_DAY, SIM_MAX_DAY);
    CLV__CHECK_ARG(o->acquisition_days >= 1 && o->acquisition_days <= o->days,
                   "%s: acquisition_days = %" PRIu32 ", expected 1..days (%" PRIu32 ")", fn,
                   o->acquisition_days, o->days);
    CLV__TRY(check_double(fn, "r", o->r, SIM_MIN_SHAPE, SIM_MAX_SHAPE, 0));
    CLV__TRY(check_double(fn, "alpha", o->alpha, SIM_MIN_RATE, SIM_MAX_RATE, 0));
    CLV__TRY(check_double(fn, "a", o->a, SIM_MIN_SHAPE, SIM_MAX_SHAPE, 0));
    CLV__TRY(check_double(fn, "b", o->b, SIM_MIN_SHAPE, SIM_MAX_SHAPE, 0));
    CLV__TRY(check_double(fn, "p", o->p, SIM_MIN_SHAPE, SIM_MAX_SHAPE, 0));
    CLV__TRY(check_double(fn, "q", o->q, SIM_MIN_SHAPE, SIM_MAX_SHAPE, 0));
    CLV__TRY(check_double(fn, "gamma", o->gamma, SIM_MIN_RATE, SIM_MAX_RATE, 0));
    CLV__TRY(check_double(fn, "weekly_amplitude", o->weekly_amplitude, 0.0, 1.0, 1));
    CLV__TRY(check_double(fn, "yearly_amplitude", o->yearly_amplitude, 0.0, 1.0, 1));
    CLV__TRY(check_double(fn, "browse_share", o->browse_share, 0.0, 1.0, 0));
    return CLV_OK;
}

/* ------------------------------------------------------------------ */
/* Random variates */

/* Seed customer i's stream k: mix64 is a bijection, so distinct (i, k)
 * under one seed give distinct xoshiro seeds. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void stream_seed(clv__rng *r, uint64_t seed, uint64_t customer, uint64_t k)
{
    uint64_t base = mix64(seed + 0x9e3779b97f4a7c15ULL);
    clv__rng_seed(r, mix64(base ^ ((customer << 2) | k)));
}

/* Uniform in [0, 1) and in (0, 1], 53 random bits. */
static inline double unif(clv__rng *r) { return (double)(clv__rng_next(r) >> 11) * 0x1p-53; }
static inline double unif_pos(clv__rng *r)
{
    return ((double)(clv__rng_next(r) >> 11) + 1.0) * 0x1p-53;
}

/* Uniform integer in [0, n), n <= 2^32 (multiply-shift; bias < 2^-32). */
static inline uint32_t unif_below(clv__rng *r, uint32_t n)
{
    return (uint32_t)(((clv__rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Gamma(k, 1) by Marsaglia and Tsang (2000): for k >= 1, d = k - 1/3,
 * c = 1/sqrt(9d), x ~ N(0,1), v = (1 + c x)^3, accept d v when
 * log u < x^2/2 + d (1 - v + log v) (with the cheap squeeze first). For
 * k < 1 draw Gamma(k + 1) and multiply by u^(1/k). */
typedef struct sim_gamma {
    double d, c, inv_k;
    int boost;
} sim_gamma;

static void gamma_setup(sim_gamma *g, double k)
{
    g->boost = k < 1.0;
    g->inv_k = 1.0 / k;
    g->d = (g->boost ? k + 1.0 : k) - 1.0 / 3.0;
    g->c = 1.0 / sqrt(9.0 * g->d);
}

static double gamma_core(const sim_gamma *g, clv__rng *r)
{
    for (;;) {
        double x = clv__rng_normal(r);
        double v = 1.0 + g->c * x;
        if (v <= 0.0) continue;
        v = v * v * v;
        double u = unif_pos(r);
        double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2) return g->d * v;
        if (log(u) < 0.5 * x2 + g->d * (1.0 - v + log(v))) return g->d * v;
    }
}

static double gamma_draw(const sim_gamma *g, clv__rng *r)
{
    double y = gamma_core(g, r);
    if (g->boost) y *= pow(unif_pos(r), g->inv_k);
    return y;
}

/* log of a Gamma(k, 1) draw: no underflow for tiny shapes. */
static double gamma_log_draw(const sim_gamma *g, clv__rng *r)
{
    double y = log(gamma_core(g, r));
    if (g->boost) y += log(unif_pos(r)) * g->inv_k;
    return y;
}

/* log(k!) : exact sum below 10, Stirling's series (error < 1e-12) above. */
static double log_factorial(double k)
{
    if (k < 10.0) {
        double s = 0.0;
        for (double j = 2.0; j <= k; j += 1.0) s += log(j);
        return s;
    }
    double n = k + 1.0, n2 = n * n;
    return (n - 0.5) * log(n) - n + 0.91893853320467274 +
           (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / (1260.0 * n2)) / n2) / n;
}

/* Poisson(mu): sequential inversion below 10, else Hormann's transformed
 * rejection (PTRS, 1993). */
static uint32_t poisson_draw(clv__rng *r, double mu)
{
    if (!(mu > 0.0)) return 0;
    if (mu > 1e7) mu = 1e7;
    if (mu < 10.0) {
        double u = unif(r), pk = exp(-mu), cdf = pk;
        uint32_t k = 0;
        while (u > cdf && k < 1000) {
            k++;
            pk *= mu / k;
            cdf += pk;
        }
        return k;
    }
    double smu = sqrt(mu), lmu = log(mu);
    double b = 0.931 + 2.53 * smu;
    double a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        double u = unif(r) - 0.5, v = unif(r);
        double us = 0.5 - fabs(u);
        if (us <= 0.0) continue;
        double k = floor((2.0 * a / us + b) * u + mu + 0.43);
        if (us >= 0.07 && v <= vr) return (uint32_t)k;
        if (k < 0.0 || (us < 0.013 && v > us)) continue;
        if (log(v) + log(inv_alpha) - log(a / (us * us) + b) <= -mu + k * lmu - log_factorial(k))
            return (uint32_t)k;
    }
}

/* ------------------------------------------------------------------ */
/* Context: resolved options and per-window tables */

typedef struct sim_ctx {
    clv_sim_options o;
    int32_t first, last;   /* simulated window, inclusive */
    uint32_t ndays;
    double *s;             /* seasonality s(d) for d = first .. last */
    double smax;           /* (1 + weekly_amplitude)(1 + yearly_amplitude) */
    sim_gamma g_r, g_a, g_b, g_q, g_p;
} sim_ctx;

/* 1970-01-01 was a Thursday: with Monday = 0 it is day-of-week 3. */
static int32_t day_of_week(int32_t d) { return (int32_t)((((int64_t)d + 3) % 7 + 7) % 7); }

static double seasonality(const clv_sim_options *o, int32_t d)
{
    const double two_pi = 6.283185307179586;
    double w = 1.0 + o->weekly_amplitude *
                         cos(two_pi * (double)(day_of_week(d) - SIM_WEEKLY_PEAK_DOW) / 7.0);
    double y = 1.0 + o->yearly_amplitude *
                         cos(two_pi * ((double)d - SIM_YEARLY_PEAK_DAY) / SIM_YEAR_DAYS);
    return w * y;
}

static int ctx_init(sim_ctx *c, const char *fn, const clv_sim_options *opts)
{
    memset(c, 0, sizeof *c);
    CLV__TRY(read_options(fn, opts, &c->o));
    c->first = c->o.start_day;
    c->last = (int32_t)((int64_t)c->o.start_day + c->o.days - 1);
    c->ndays = c->o.days;
    c->s = clv__malloc(sizeof(double) * c->ndays);
    if (!c->s) return clv__oom();
    for (uint32_t j = 0; j < c->ndays; j++) c->s[j] = seasonality(&c->o, c->first + (int32_t)j);
    c->smax = (1.0 + c->o.weekly_amplitude) * (1.0 + c->o.yearly_amplitude);
    gamma_setup(&c->g_r, c->o.r);
    gamma_setup(&c->g_a, c->o.a);
    gamma_setup(&c->g_b, c->o.b);
    gamma_setup(&c->g_q, c->o.q);
    gamma_setup(&c->g_p, c->o.p);
    return CLV_OK;
}

static void ctx_free(sim_ctx *c) { clv__free(c->s); }

/* ------------------------------------------------------------------ */
/* One customer */

typedef struct sim_latent {
    int32_t acq;        /* acquisition (first purchase) day */
    double lambda;      /* purchase intensity per day before seasonality: lambda_i / 7 */
    double drop;        /* p_i */
    double nu;          /* spend rate nu_i */
} sim_latent;

static void draw_latent(const sim_ctx *c, clv__rng *r, sim_latent *lat)
{
    lat->acq = c->first + (int32_t)unif_below(r, c->o.acquisition_days);
    lat->lambda = gamma_draw(&c->g_r, r) / c->o.alpha / 7.0;
    double lx = gamma_log_draw(&c->g_a, r), ly = gamma_log_draw(&c->g_b, r);
    lat->drop = 1.0 / (1.0 + exp(ly - lx));
    lat->nu = gamma_draw(&c->g_q, r) / c->o.gamma;
    /* A spend rate that underflowed would make every amount infinite. */
    if (!(lat->nu > 1e-300)) lat->nu = 1e-300;
}

/* Days with at least one event of a Poisson process of intensity
 * scale * s(d) on day d, over days from .. to (inclusive), by thinning a
 * homogeneous process of intensity scale * smax (or day by day for busy
 * customers). After an event on day d the clock jumps to the start of day
 * d + 1 (the day already counts; the process is memoryless). Purchases (drop != NULL) end after a day with probability
 * *drop. Writes the days to out (if not NULL); returns their count; *dead is
 * set when the process ended by dropout. */
static uint32_t day_process(const sim_ctx *c, clv__rng *r, double scale, int32_t from, int32_t to,
                            const double *drop, int32_t *out, int *dead)
{
    uint32_t n = 0;
    if (dead) *dead = 0;
    double rate = scale * c->smax;
    if (!(rate > 0.0) || from > to) return 0;
    if (rate > SIM_DAYWISE_RATE) {
        /* Busy customer: more than one candidate a day, and thinning could
         * need many per day when s varies a lot. Draw each day's Bernoulli
         * (probability 1 - exp(-scale s(d))) directly: same distribution. */
        for (int32_t d = from; d <= to; d++) {
            if (unif(r) < -expm1(-scale * c->s[d - c->first])) {
                if (out) out[n] = d;
                n++;
                if (drop && unif(r) < *drop) {
                    if (dead) *dead = 1;
                    break;
                }
            }
        }
        return n;
    }
    double t = (double)from, end = (double)to + 1.0;
    for (;;) {
        t += -log(unif_pos(r)) / rate;
        if (!(t < end)) break;
        int32_t d = (int32_t)floor(t);
        if (unif(r) * c->smax < c->s[d - c->first]) {
            if (out) out[n] = d;
            n++;
            if (drop && unif(r) < *drop) {
                if (dead) *dead = 1;
                break;
            }
            t = (double)d + 1.0;
        }
    }
    return n;
}

typedef struct sim_row {
    int32_t day;
    int32_t event;      /* clv_event */
    int64_t cents;      /* purchases only */
    uint32_t quantity;  /* purchases only */
} sim_row;

typedef struct sim_scratch {
    int32_t *pdays;     /* purchase days, ndays + 1 */
    int32_t *bdays;     /* browse-only days, ndays + 1 */
    sim_row *rows;      /* 4 per day at most */
} sim_scratch;

static int scratch_new(sim_scratch *sc, const sim_ctx *c)
{
    size_t nd = (size_t)c->ndays + 1;
    sc->pdays = clv__malloc(sizeof(int32_t) * nd);
    sc->bdays = clv__malloc(sizeof(int32_t) * nd);
    sc->rows = clv__malloc(sizeof(sim_row) * 4 * nd);
    if (!sc->pdays || !sc->bdays || !sc->rows) return clv__oom();
    return CLV_OK;
}

static void scratch_free(sim_scratch *sc)
{
    clv__free(sc->pdays);
    clv__free(sc->bdays);
    clv__free(sc->rows);
}

static inline void put_event(sim_row *rows, uint32_t *n, int32_t day, int32_t event)
{
    sim_row *w = &rows[(*n)++];
    w->day = day;
    w->event = event;
    w->cents = 0;
    w->quantity = 0;
}

/* Generate customer i's rows (chronological; on a day: view, click, cart,
 * purchase). Returns the row count. */
static uint32_t gen_customer(const sim_ctx *c, uint64_t i, sim_scratch *sc)
{
    clv__rng r_latent, r_spend, r_browse;
    sim_latent lat;
    stream_seed(&r_latent, c->o.seed, i, 0);
    draw_latent(c, &r_latent, &lat);
    int dead = 0;
    sc->pdays[0] = lat.acq;
    uint32_t np = 1 + day_process(c, &r_latent, lat.lambda, lat.acq + 1, c->last, &lat.drop,
                                  sc->pdays + 1, &dead);

    stream_seed(&r_browse, c->o.seed, i, 2);
    uint32_t nb = 0;
    int browser = unif(&r_browse) < c->o.browse_share;
    if (browser) {
        /* Browsing lasts while the customer is alive: through the day of the
         * last purchase for one who dropped out, to the end otherwise. */
        int32_t until = dead ? sc->pdays[np - 1] : c->last;
        nb = day_process(c, &r_browse, SIM_BROWSE_RATE * lat.lambda, lat.acq + 1, until, NULL, sc->bdays,
                         NULL);
    }

    stream_seed(&r_spend, c->o.seed, i, 1);
    uint32_t n = 0, ip = 0, ib = 0;
    while (ip < np || ib < nb) {
        if (ib < nb && (ip == np || sc->bdays[ib] < sc->pdays[ip])) {
            int32_t d = sc->bdays[ib++];
            put_event(sc->rows, &n, d, CLV_EVENT_VIEW);
            if (unif(&r_browse) < SIM_CLICK_ON_BROWSE_DAY) put_event(sc->rows, &n, d, CLV_EVENT_CLICK);
            if (unif(&r_browse) < SIM_CART_ON_BROWSE_DAY) put_event(sc->rows, &n, d, CLV_EVENT_CART);
            continue;
        }
        int32_t d = sc->pdays[ip++];
        if (ib < nb && sc->bdays[ib] == d) ib++; /* a browse day that is a purchase day */
        if (browser) {
            put_event(sc->rows, &n, d, CLV_EVENT_VIEW);
            if (unif(&r_browse) < SIM_CLICK_ON_PURCHASE_DAY) put_event(sc->rows, &n, d, CLV_EVENT_CLICK);
            put_event(sc->rows, &n, d, CLV_EVENT_CART);
        }
        double amount = gamma_draw(&c->g_p, &r_spend) / lat.nu;
        double cents = floor(amount * 100.0 + 0.5);
        int64_t ic = !(cents < (double)SIM_MAX_CENTS) ? SIM_MAX_CENTS
                     : cents < 1.0                    ? 1
                                                      : (int64_t)cents;
        sim_row *w = &sc->rows[n++];
        w->day = d;
        w->event = CLV_EVENT_PURCHASE;
        w->cents = ic;
        w->quantity = 1 + poisson_draw(&r_spend, (double)ic / SIM_CENTS_PER_EXTRA_ITEM);
    }
    return n;
}

/* Feed every customer's rows, in id order, to a sink. */
typedef int (*sim_sink)(void *user, uint64_t id, const sim_row *rows, uint32_t n);

static int run(const sim_ctx *c, sim_sink sink, void *user)
{
    sim_scratch sc = {0};
    int rc = scratch_new(&sc, c);
    for (uint64_t i = 0; rc == CLV_OK && i < c->o.customers; i++) {
        uint32_t n = gen_customer(c, i, &sc);
        rc = sink(user, i + 1, sc.rows, n);
    }
    scratch_free(&sc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* To a clv_txlog */

typedef struct txlog_sink {
    clv_txlog *log;
    uint32_t n;
    uint64_t *ids;
    int32_t *days, *events;
    float *amounts, *quantities;
} txlog_sink;

static int txlog_flush(txlog_sink *t)
{
    if (t->n == 0) return CLV_OK;
    int rc = clv_txlog_append_u64(t->log, t->n, t->ids, t->days, t->amounts, t->quantities,
                                  t->events, NULL);
    t->n = 0;
    return rc;
}

static int txlog_put(void *user, uint64_t id, const sim_row *rows, uint32_t n)
{
    txlog_sink *t = user;
    for (uint32_t k = 0; k < n; k++) {
        if (t->n == SIM_BATCH_ROWS) CLV__TRY(txlog_flush(t));
        uint32_t j = t->n++;
        t->ids[j] = id;
        t->days[j] = rows[k].day;
        t->events[j] = rows[k].event;
        t->amounts[j] = (float)((double)rows[k].cents / 100.0);
        t->quantities[j] = (float)rows[k].quantity;
    }
    return CLV_OK;
}

CLV_API int clv_simulate_to_txlog(const clv_sim_options *opts, clv_txlog *log)
{
    static const char fn[] = "clv_simulate_to_txlog";
    CLV__CHECK_ARG(log != NULL, "%s: log is NULL", fn);
    sim_ctx c;
    int rc = ctx_init(&c, fn, opts);
    txlog_sink t = {0};
    if (rc == CLV_OK) {
        t.log = log;
        t.ids = clv__malloc(sizeof(uint64_t) * SIM_BATCH_ROWS);
        t.days = clv__malloc(sizeof(int32_t) * SIM_BATCH_ROWS);
        t.events = clv__malloc(sizeof(int32_t) * SIM_BATCH_ROWS);
        t.amounts = clv__malloc(sizeof(float) * SIM_BATCH_ROWS);
        t.quantities = clv__malloc(sizeof(float) * SIM_BATCH_ROWS);
        if (!t.ids || !t.days || !t.events || !t.amounts || !t.quantities) rc = clv__oom();
    }
    if (rc == CLV_OK) rc = run(&c, txlog_put, &t);
    if (rc == CLV_OK) rc = txlog_flush(&t);
    clv__free(t.ids);
    clv__free(t.days);
    clv__free(t.events);
    clv__free(t.amounts);
    clv__free(t.quantities);
    ctx_free(&c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* To CSV */

static const char *const event_names[] = {"", "purchase", "view", "click", "cart"};
static const uint8_t event_lens[] = {0, 8, 4, 5, 4};

typedef struct csv_sink {
    int fd;
    const char *path;
    char *buf;
    size_t len;
    char *dates;         /* "YYYY-MM-DD" per window day, 10 bytes each */
    int32_t first;
} csv_sink;

static int io_error(const char *what, const char *path, int err)
{
    char msg[128];
    if (strerror_r(err, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "error %d", err);
    return clv__error(CLV_EIO, "clv_simulate_to_csv: %s '%s': %s", what, path, msg);
}

static int csv_flush(csv_sink *w)
{
    size_t off = 0;
    while (off < w->len) {
        ssize_t k = write(w->fd, w->buf + off, w->len - off);
        if (k < 0) {
            if (errno == EINTR) continue;
            return io_error("cannot write the temporary file for", w->path, errno);
        }
        off += (size_t)k;
    }
    w->len = 0;
    return CLV_OK;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static int csv_put(void *user, uint64_t id, const sim_row *rows, uint32_t n)
{
    csv_sink *w = user;
    char idtxt[24];
    size_t idlen = (size_t)(put_u64(idtxt, id) - idtxt);
    for (uint32_t k = 0; k < n; k++) {
        /* A row is at most 20 + 1 + 10 + 1 + 16 + 1 + 10 + 1 + 8 + 1 bytes. */
        if (SIM_CSV_BUFFER - w->len < 128) CLV__TRY(csv_flush(w));
        const sim_row *row = &rows[k];
        char *p = w->buf + w->len;
        memcpy(p, idtxt, idlen);
        p += idlen;
        *p++ = ',';
        memcpy(p, w->dates + (size_t)(row->day - w->first) * 10, 10);
        p += 10;
        *p++ = ',';
        if (row->event == CLV_EVENT_PURCHASE) {
            uint64_t cents = (uint64_t)row->cents;
            p = put_u64(p, cents / 100);
            *p++ = '.';
            *p++ = (char)('0' + (cents / 10) % 10);
            *p++ = (char)('0' + cents % 10);
            *p++ = ',';
            p = put_u64(p, row->quantity);
        } else {
            memcpy(p, "0,0", 3);
            p += 3;
        }
        *p++ = ',';
        memcpy(p, event_names[row->event], event_lens[row->event]);
        p += event_lens[row->event];
        *p++ = '\n';
        w->len = (size_t)(p - w->buf);
    }
    return CLV_OK;
}

/* Best effort: make the rename itself durable. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0) n = 1; /* "/file" */
        if (n >= sizeof dir) return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return;
    (void)fsync(fd);
    (void)close(fd);
}

CLV_API int clv_simulate_to_csv(const clv_sim_options *opts, const char *path)
{
    static const char fn[] = "clv_simulate_to_csv";
    CLV__CHECK_ARG(path != NULL && path[0] != '\0', "%s: path is NULL or empty", fn);
    sim_ctx c;
    int rc = ctx_init(&c, fn, opts);
    if (rc != CLV_OK) {
        ctx_free(&c);
        return rc;
    }

    csv_sink w = {0};
    w.fd = -1;
    w.path = path;
    w.first = c.first;
    size_t plen = strlen(path);
    char *tmp = clv__malloc(plen + 16), *resolved = NULL;
    w.buf = clv__malloc(SIM_CSV_BUFFER);
    w.dates = clv__malloc((size_t)c.ndays * 10 + 1);
    if (!tmp || !w.buf || !w.dates) {
        rc = clv__oom();
        goto done;
    }
    tmp[0] = '\0';
    for (uint32_t j = 0; j < c.ndays; j++) {
        /* The window lies in years 1..9999 (validated), which clv_date_format accepts. */
        char buf[11];
        if ((rc = clv_date_format(c.first + (int32_t)j, buf, sizeof buf)) != CLV_OK) goto done;
        memcpy(w.dates + (size_t)j * 10, buf, 10);
    }

    /* Never rename over a device, a FIFO or a link (lib/io/container.h). */
    int out_fd = -1;
    const int kind = clv__output_target(path, "cannot write simulated log to", &out_fd, &resolved);
    if (kind < 0) {
        rc = kind;
        goto done;
    }
    if (kind != CLV__OUT_FILE) {
        w.fd = kind == CLV__OUT_FD ? out_fd : open(resolved, O_WRONLY | O_CLOEXEC);
        if (w.fd < 0) {
            rc = io_error("cannot open", path, errno);
            goto done;
        }
        memcpy(w.buf, "customer_id,date,amount,quantity,event\n", 39);
        w.len = 39;
        rc = run(&c, csv_put, &w);
        if (rc == CLV_OK) rc = csv_flush(&w);
        if (kind == CLV__OUT_STREAM && close(w.fd) != 0 && rc == CLV_OK) rc = io_error("cannot close", path, errno);
        w.fd = -1;
        goto done;
    }
    path = resolved;   /* a symbolic link: replace its target, never the link */
    plen = strlen(path);
    clv__free(tmp);
    if (!(tmp = clv__malloc(plen + 16))) {
        rc = clv__oom();
        goto done;
    }
    tmp[0] = '\0';
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    w.fd = mkstemp(tmp);
    if (w.fd < 0) {
        rc = io_error("cannot create a temporary file next to", path, errno);
        goto done;
    }
    /* mkstemp creates the file 0600; a data file is normally world-readable. */
    (void)fchmod(w.fd, 0644);

    memcpy(w.buf, "customer_id,date,amount,quantity,event\n", 39);
    w.len = 39;
    rc = run(&c, csv_put, &w);
    if (rc == CLV_OK) rc = csv_flush(&w);
    if (rc == CLV_OK && fsync(w.fd) != 0) rc = io_error("cannot flush the temporary file for", path, errno);
    if (close(w.fd) != 0 && rc == CLV_OK) rc = io_error("cannot close the temporary file for", path, errno);
    w.fd = -1;
    if (rc == CLV_OK && rename(tmp, path) != 0) rc = io_error("cannot rename the temporary file to", path, errno);
    if (rc == CLV_OK) sync_parent_dir(path);
    else (void)unlink(tmp);

done:
    if (w.fd >= 0) {
        (void)close(w.fd);
        if (tmp && tmp[0]) (void)unlink(tmp);
    }
    clv__free(tmp);
    clv__free(resolved);
    clv__free(w.buf);
    clv__free(w.dates);
    ctx_free(&c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Ground truth */

/* log of prod over holdout days d of (1 - p (1 - exp(-x_d))), x_d = lambda s(d):
 * the probability generating function of the number of purchase days S at
 * 1 - p. Summed exactly, or for small x by the series
 *   log(1 - p(1 - e^-x)) = -p x + (p - p^2)/2 x^2 - (p/6 - p^2/2 + p^3/3) x^3
 *                          + (p/24 - 7p^2/24 + p^3/2 - p^4/4) x^4 + O(p x^5)
 * applied to the prefix sums S_k = sum s(d)^k. */
typedef struct truth_tables {
    double *pk[4];       /* pk[k-1][j] = sum over window days < j of s^k */
} truth_tables;

static double range_sum(const double *pk, uint32_t lo, uint32_t hi)
{
    return pk[hi + 1] - pk[lo];
}

CLV_API int clv_simulate_truth(const clv_sim_options *opts, int32_t cutoff_day,
                               int32_t holdout_end_day, float *expected_transactions,
                               float *expected_spend, float *alive_at_cutoff)
{
    static const char fn[] = "clv_simulate_truth";
    CLV__CHECK_ARG(holdout_end_day > cutoff_day,
                   "%s: holdout_end_day = %" PRId32 " must be after cutoff_day = %" PRId32, fn,
                   holdout_end_day, cutoff_day);
    sim_ctx c;
    int rc = ctx_init(&c, fn, opts);
    if (rc != CLV_OK) {
        ctx_free(&c);
        return rc;
    }
    truth_tables tt = {{NULL}};
    for (int k = 0; k < 4; k++) {
        tt.pk[k] = clv__malloc(sizeof(double) * ((size_t)c.ndays + 1));
        if (!tt.pk[k]) rc = clv__oom();
    }
    if (rc == CLV_OK) {
        for (int k = 0; k < 4; k++) tt.pk[k][0] = 0.0;
        for (uint32_t j = 0; j < c.ndays; j++) {
            double s = c.s[j], sk = s;
            for (int k = 0; k < 4; k++, sk *= s) tt.pk[k][j + 1] = tt.pk[k][j] + sk;
        }
    }

    /* Holdout days inside the window: [lo, hi] as window indices; empty when
     * the holdout lies outside it (the log has no rows there). */
    int64_t lo64 = (int64_t)cutoff_day + 1 - c.first;
    int64_t hi64 = (int64_t)holdout_end_day - c.first;
    if (hi64 > (int64_t)c.ndays - 1) hi64 = (int64_t)c.ndays - 1;
    if (lo64 < 0) lo64 = 0;
    int holdout = lo64 <= hi64;
    uint32_t lo = holdout ? (uint32_t)lo64 : 0, hi = holdout ? (uint32_t)hi64 : 0;
    double S[4] = {0, 0, 0, 0};
    if (rc == CLV_OK && holdout)
        for (int k = 0; k < 4; k++) S[k] = range_sum(tt.pk[k], lo, hi);

    for (uint64_t i = 0; rc == CLV_OK && i < c.o.customers; i++) {
        double et = 0.0, es = 0.0, alive = 0.0;
        clv__rng ra;
        sim_latent lat;
        stream_seed(&ra, c.o.seed, i, 0);
        draw_latent(&c, &ra, &lat);
        if (lat.acq <= cutoff_day) {
            int dead = 0;
            (void)day_process(&c, &ra, lat.lambda, lat.acq + 1,
                              cutoff_day < c.last ? cutoff_day : c.last, &lat.drop, NULL, &dead);
            alive = dead ? 0.0 : 1.0;
            if (!dead && holdout) {
                double lam = lat.lambda, p = lat.drop, logpgf;
                if (lam * c.smax <= SIM_SERIES_MAX_X) {
                    double p2 = p * p, p3 = p2 * p, p4 = p3 * p;
                    double l2 = lam * lam, l3 = l2 * lam, l4 = l3 * lam;
                    if (p > 0.0) {
                        logpgf = -p * lam * S[0] + 0.5 * (p - p2) * l2 * S[1] -
                                 (p / 6.0 - 0.5 * p2 + p3 / 3.0) * l3 * S[2] +
                                 (p / 24.0 - 7.0 * p2 / 24.0 + 0.5 * p3 - 0.25 * p4) * l4 * S[3];
                        et = -expm1(logpgf) / p;
                    } else {
                        /* p = 0: E[S] = sum (1 - e^-x) */
                        et = lam * S[0] - 0.5 * l2 * S[1] + l3 * S[2] / 6.0 - l4 * S[3] / 24.0;
                    }
                } else {
                    double sum = 0.0, esum = 0.0;
                    for (uint32_t j = lo; j <= hi; j++) {
                        double pi_d = -expm1(-lam * c.s[j]);
                        sum += log1p(-p * pi_d);
                        esum += pi_d;
                    }
                    et = p > 0.0 ? -expm1(sum) / p : esum;
                }
                es = et * c.o.p / lat.nu;
            }
        }
        if (expected_transactions) expected_transactions[i] = (float)et;
        if (expected_spend) expected_spend[i] = (float)es;
        if (alive_at_cutoff) alive_at_cutoff[i] = (float)alive;
    }
    for (int k = 0; k < 4; k++) clv__free(tt.pk[k]);
    ctx_free(&c);
    return rc;
}
