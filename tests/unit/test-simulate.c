/* Synthetic transaction logs (simulate.h), through the public API only.
 *
 * The generated CSV is read back by the small parser below (written for this
 * test; it shares no code with libclv), and the sample statistics are checked
 * against values derived from the documented process (docs/simulator.md) by
 * formulas written out here, never by calling into the library.
 *
 * Tolerances are k standard errors of the statistic with k = 4 (a two-sided
 * normal tail of 6e-5), or for chi-square statistics the mean plus 4 standard
 * deviations. The seeds are fixed, so a pass is reproducible; the tolerance
 * says how unlikely a failure would be for a correct generator on another seed. */
#define _POSIX_C_SOURCE 200809L

#include <clv/clv.h>

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test-common.h"

#define K_SE 4.0
#define START_1997 9862 /* 1997-01-01 */
#define TWO_PI 6.283185307179586

/* ------------------------------------------------------------------ */
/* Temporary directory and files */

static char g_dir[512];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !base[0]) base = "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/clv-sim-test-XXXXXX", base);
    ck_assert_msg(mkdtemp(g_dir) != NULL, "mkdtemp(%s) failed", g_dir);
}

/* Remove the directory's plain files, then the directory. */
static void remove_tmpdir(void)
{
    DIR *d = opendir(g_dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        if (unlink(p) != 0) (void)rmdir(p);
    }
    closedir(d);
    (void)rmdir(g_dir);
}

static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", g_dir, name);
}

/* Number of entries in a directory, "." and ".." excluded. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "opendir(%s)", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void simulate_csv_ok(const clv_sim_options *o, const char *path)
{
    int rc = clv_simulate_to_csv(o, path);
    ck_assert_msg(rc == CLV_OK, "clv_simulate_to_csv: %s (%s)", clv_status_str(rc), clv_last_error());
}

/* ------------------------------------------------------------------ */
/* An independent reader for the generator's CSV */

typedef struct row {
    uint64_t id;
    int32_t day;
    int32_t event;   /* clv_event */
    int64_t cents;
    int64_t qty;
} row;

typedef struct table {
    row *rows;
    size_t n;
} table;

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days since 1970-01-01: whole years from 1970, then months. */
static int32_t test_days(int y, int m, int d)
{
    static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int32_t days = 0;
    for (int yy = 1970; yy < y; yy++) days += is_leap(yy) ? 366 : 365;
    for (int yy = y; yy < 1970; yy++) days -= is_leap(yy) ? 366 : 365;
    int leap = is_leap(y);
    return days + cum[m - 1] + (leap && m > 2) + d - 1;
}

static int64_t parse_uint(const char **p, int *digits)
{
    int64_t v = 0;
    *digits = 0;
    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++;
        (*digits)++;
    }
    return v;
}

static void expect_char(const char **p, char c, size_t line)
{
    ck_assert_msg(**p == c, "line %zu: expected '%c', found '%c'", line, c, **p);
    (*p)++;
}

static table parse_csv(const char *buf, size_t size)
{
    static const char header[] = "customer_id,date,amount,quantity,event\n";
    ck_assert_msg(size >= sizeof header - 1 && !memcmp(buf, header, sizeof header - 1),
                  "unexpected header");
    table t = {NULL, 0};
    size_t cap = 0;
    const char *p = buf + sizeof header - 1, *end = buf + size;
    size_t line = 1;
    int nd;
    while (p < end) {
        line++;
        if (t.n == cap) {
            cap = cap ? 2 * cap : 4096;
            t.rows = realloc(t.rows, cap * sizeof *t.rows);
            ck_assert_ptr_nonnull(t.rows);
        }
        row *r = &t.rows[t.n++];
        r->id = (uint64_t)parse_uint(&p, &nd);
        ck_assert_msg(nd > 0, "line %zu: customer id", line);
        expect_char(&p, ',', line);
        int y = (int)parse_uint(&p, &nd);
        ck_assert_msg(nd == 4, "line %zu: year", line);
        expect_char(&p, '-', line);
        int m = (int)parse_uint(&p, &nd);
        ck_assert_msg(nd == 2 && m >= 1 && m <= 12, "line %zu: month", line);
        expect_char(&p, '-', line);
        int d = (int)parse_uint(&p, &nd);
        ck_assert_msg(nd == 2 && d >= 1 && d <= 31, "line %zu: day", line);
        r->day = test_days(y, m, d);
        expect_char(&p, ',', line);
        int64_t whole = parse_uint(&p, &nd);
        ck_assert_msg(nd > 0, "line %zu: amount", line);
        r->cents = whole * 100;
        if (*p == '.') {
            p++;
            int64_t frac = parse_uint(&p, &nd);
            ck_assert_msg(nd == 2, "line %zu: amount has %d decimals, expected 2", line, nd);
            r->cents += frac;
        }
        expect_char(&p, ',', line);
        r->qty = parse_uint(&p, &nd);
        ck_assert_msg(nd > 0, "line %zu: quantity", line);
        expect_char(&p, ',', line);
        const char *w = p;
        while (p < end && *p != '\n') p++;
        size_t wl = (size_t)(p - w);
        if (wl == 8 && !memcmp(w, "purchase", 8)) r->event = CLV_EVENT_PURCHASE;
        else if (wl == 4 && !memcmp(w, "view", 4)) r->event = CLV_EVENT_VIEW;
        else if (wl == 5 && !memcmp(w, "click", 5)) r->event = CLV_EVENT_CLICK;
        else if (wl == 4 && !memcmp(w, "cart", 4)) r->event = CLV_EVENT_CART;
        else ck_abort_msg("line %zu: unknown event '%.*s'", line, (int)wl, w);
        expect_char(&p, '\n', line);
    }
    return t;
}

static table simulate_table(const clv_sim_options *o, const char *name)
{
    char path[1024];
    tmp_path(path, sizeof path, name);
    simulate_csv_ok(o, path);
    size_t size;
    char *buf = read_all(path, &size);
    table t = parse_csv(buf, size);
    free(buf);
    ck_assert_int_eq(unlink(path), 0);
    return t;
}

/* Per-customer summary of a table (ids 1..n). */
typedef struct cust {
    int32_t acq;           /* first purchase day */
    uint32_t purchases;
    double spend;
    double qty;
} cust;

static cust *summarise(const table *t, uint64_t n)
{
    cust *c = calloc(n, sizeof *c);
    ck_assert_ptr_nonnull(c);
    for (uint64_t i = 0; i < n; i++) c[i].acq = INT32_MAX;
    for (size_t k = 0; k < t->n; k++) {
        const row *r = &t->rows[k];
        ck_assert_msg(r->id >= 1 && r->id <= n, "customer id %llu outside 1..%llu",
                      (unsigned long long)r->id, (unsigned long long)n);
        if (r->event != CLV_EVENT_PURCHASE) continue;
        cust *x = &c[r->id - 1];
        if (r->day < x->acq) x->acq = r->day;
        x->purchases++;
        x->spend += (double)r->cents / 100.0;
        x->qty += (double)r->qty;
    }
    return c;
}

static clv_sim_options plain_options(uint64_t customers, uint64_t seed)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = customers;
    o.seed = seed;
    o.weekly_amplitude = 0.0;
    o.yearly_amplitude = 0.0;
    o.browse_share = 0.0;
    return o;
}

/* ------------------------------------------------------------------ */
/* Options */

START_TEST(options_defaults)
{
    clv_sim_options o;
    memset(&o, 0xab, sizeof o);
    clv_sim_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_uint_eq(o.customers, 10000);
    ck_assert_uint_eq(o.seed, 1);
    ck_assert_int_eq(o.start_day, START_1997);
    ck_assert_uint_eq(o.days, 546);
    ck_assert_uint_eq(o.acquisition_days, 84);
    ck_assert(o.r > 0 && o.alpha > 0 && o.a > 0 && o.b > 0 && o.p > 0 && o.q > 1 && o.gamma > 0);
    ck_assert(o.weekly_amplitude >= 0 && o.weekly_amplitude < 1);
    ck_assert(o.yearly_amplitude >= 0 && o.yearly_amplitude < 1);
    ck_assert(o.browse_share >= 0 && o.browse_share <= 1);
    clv_sim_options_init(NULL); /* no crash */
}
END_TEST

/* ------------------------------------------------------------------ */
/* Determinism and format */

START_TEST(determinism_bytes)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 3000;
    char a[1024], b[1024], c[1024], d[1024];
    tmp_path(a, sizeof a, "a.csv");
    tmp_path(b, sizeof b, "b.csv");
    tmp_path(c, sizeof c, "c.csv");
    tmp_path(d, sizeof d, "d.csv");
    simulate_csv_ok(&o, a);
    simulate_csv_ok(&o, b);
    o.seed = 2;
    simulate_csv_ok(&o, c);
    o.seed = 1;
    o.customers = 1500;
    simulate_csv_ok(&o, d);

    size_t na, nb, nc, ndd;
    char *ba = read_all(a, &na), *bb = read_all(b, &nb), *bc = read_all(c, &nc),
         *bd = read_all(d, &ndd);
    ck_assert_msg(na == nb && !memcmp(ba, bb, na), "same seed gave different bytes");
    ck_assert_msg(na != nc || memcmp(ba, bc, na), "seeds 1 and 2 gave the same bytes");
    /* Customer i's rows depend on (seed, i) only: the first 1500 customers
     * of a 3000-customer log are the 1500-customer log. */
    ck_assert_msg(ndd < na && !memcmp(ba, bd, ndd), "1500-customer log is not a prefix");
    ck_assert_msg(ba[ndd] == '1' && ba[ndd + 1] == '5' && ba[ndd + 2] == '0' && ba[ndd + 3] == '1' &&
                      ba[ndd + 4] == ',',
                  "customer 1501 does not follow the prefix");
    free(ba);
    free(bb);
    free(bc);
    free(bd);
    /* Nothing but the four outputs in the directory: no temporary files. */
    ck_assert_int_eq(dir_entries(g_dir), 4);
    unlink(a);
    unlink(b);
    unlink(c);
    unlink(d);
}
END_TEST

static int event_rank(int32_t e)
{
    return e == CLV_EVENT_VIEW ? 0 : e == CLV_EVENT_CLICK ? 1 : e == CLV_EVENT_CART ? 2 : 3;
}

START_TEST(format_and_invariants)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 5000;
    o.browse_share = 0.5;
    table t = simulate_table(&o, "fmt.csv");
    int32_t first = o.start_day, last = o.start_day + (int32_t)o.days - 1;
    uint64_t prev_id = 0;
    int32_t prev_day = 0, prev_event = 0;
    uint64_t events[5] = {0};
    for (size_t k = 0; k < t.n; k++) {
        const row *r = &t.rows[k];
        ck_assert_msg(r->day >= first && r->day <= last, "row %zu: day %d outside the window", k,
                      (int)r->day);
        events[r->event]++;
        if (r->event == CLV_EVENT_PURCHASE) {
            ck_assert_msg(r->cents >= 1, "row %zu: purchase amount below $0.01", k);
            ck_assert_msg(r->qty >= 1, "row %zu: purchase quantity 0", k);
        } else {
            ck_assert_msg(r->cents == 0 && r->qty == 0, "row %zu: event with amount/quantity", k);
        }
        if (r->id == prev_id) {
            /* Chronological, and on one day: view, click, cart, purchase, each at most once. */
            ck_assert_msg(r->day > prev_day ||
                              (r->day == prev_day && event_rank(r->event) > event_rank(prev_event)),
                          "row %zu: customer %llu out of order", k, (unsigned long long)r->id);
        } else {
            ck_assert_msg(r->id == prev_id + 1, "row %zu: id %llu after %llu", k,
                          (unsigned long long)r->id, (unsigned long long)prev_id);
            ck_assert_msg(r->day < first + (int32_t)o.acquisition_days,
                          "row %zu: first day after the acquisition window", k);
        }
        prev_id = r->id;
        prev_day = r->day;
        prev_event = r->event;
    }
    ck_assert_uint_eq(prev_id, o.customers);
    ck_assert(events[CLV_EVENT_VIEW] > 0 && events[CLV_EVENT_CLICK] > 0 && events[CLV_EVENT_CART] > 0);

    /* Each customer's first row-day holds a purchase (the acquisition). */
    cust *c = summarise(&t, o.customers);
    for (uint64_t i = 0; i < o.customers; i++) ck_assert(c[i].purchases >= 1);
    free(c);
    free(t.rows);
}
END_TEST

/* The in-memory path gives the same rows as the CSV, in batches. */
START_TEST(txlog_matches_csv)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 20000; /* ~130k rows: several 64k-row batches */
    table t = simulate_table(&o, "tx.csv");
    uint64_t days = 0;
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (size_t k = 0; k < t.n; k++) {
        if (k == 0 || t.rows[k].id != t.rows[k - 1].id || t.rows[k].day != t.rows[k - 1].day) days++;
        if (t.rows[k].day < lo) lo = t.rows[k].day;
        if (t.rows[k].day > hi) hi = t.rows[k].day;
    }
    ck_assert_uint_gt(t.n, 2 * 65536);

    clv_txlog *log = NULL;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    int rc = clv_simulate_to_txlog(&o, log);
    ck_assert_msg(rc == CLV_OK, "clv_simulate_to_txlog: %s", clv_last_error());
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    ck_assert_int_eq(clv_txlog_get_report(log, &rep), CLV_OK);
    ck_assert_uint_eq(rep.rows_read, t.n);
    ck_assert_uint_eq(rep.rows_used, t.n);
    ck_assert_uint_eq(rep.bad_rows, 0);
    ck_assert_uint_eq(rep.customers, o.customers);
    ck_assert_uint_eq(rep.customer_days, days);
    ck_assert_int_eq(rep.first_day, lo);
    ck_assert_int_eq(rep.last_day, hi);
    clv_txlog_free(log);
    free(t.rows);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Sample statistics against the process's parameters */

/* Mean transaction value: amounts are Gamma(p, nu_i), nu_i ~ Gamma(q, gamma),
 * so E[amount] = E[p / nu] = p gamma / (q - 1), whatever the customer's
 * number of transactions (independent of nu). Rows of one customer share nu,
 * so the standard error is that of a ratio estimator over customers:
 * SE^2 = sum_i (S_i - m n_i)^2 / (sum_i n_i)^2. Quantity: 1 + Poisson(amount/25),
 * so E[quantity] = 1 + E[amount]/25 (same SE construction). Rounding to cents
 * moves the mean by far less than a cent. */
START_TEST(stats_spend)
{
    clv_sim_options o = plain_options(20000, 11);
    table t = simulate_table(&o, "spend.csv");
    cust *c = summarise(&t, o.customers);
    double sn = 0, ss = 0, sq = 0;
    for (uint64_t i = 0; i < o.customers; i++) {
        sn += c[i].purchases;
        ss += c[i].spend;
        sq += c[i].qty;
    }
    double m = ss / sn, mq = sq / sn, v = 0, vq = 0;
    for (uint64_t i = 0; i < o.customers; i++) {
        double e = c[i].spend - m * c[i].purchases, eq = c[i].qty - mq * c[i].purchases;
        v += e * e;
        vq += eq * eq;
    }
    double se = sqrt(v) / sn, seq = sqrt(vq) / sn;
    double want = o.p * o.gamma / (o.q - 1.0), wantq = 1.0 + want / 25.0;
    ck_assert_msg(fabs(m - want) < K_SE * se, "mean amount %.4f, expected %.4f (SE %.4f)", m, want, se);
    ck_assert_msg(fabs(mq - wantq) < K_SE * seq, "mean quantity %.4f, expected %.4f (SE %.4f)", mq,
                  wantq, seq);
    free(c);
    free(t.rows);
}
END_TEST

/* Share of customers with a repeat purchase. Without seasonality a customer
 * acquired on day A is alive until the first repeat (dropout follows repeat
 * purchases only), and each later day d <= last has a purchase with
 * probability 1 - exp(-lambda/7), independently; so
 *   P(no repeat | lambda, A) = exp(-lambda (last - A) / 7),
 * and with lambda ~ Gamma(r, rate alpha), E[exp(-lambda t)] = (alpha/(alpha+t))^r:
 *   P(repeat) = 1 - mean over A of (alpha / (alpha + (last - A)/7))^r,
 * A uniform over the acquisition_days days. SE = sqrt(P(1-P)/N).
 * Acquisition days: 84 equiprobable bins, chi-square with 83 degrees of
 * freedom (mean 83, sd sqrt(166)). */
START_TEST(stats_repeat_and_acquisition)
{
    clv_sim_options o = plain_options(20000, 12);
    table t = simulate_table(&o, "repeat.csv");
    cust *c = summarise(&t, o.customers);
    int32_t last = o.start_day + (int32_t)o.days - 1;

    double want = 0.0;
    for (uint32_t j = 0; j < o.acquisition_days; j++) {
        double weeks = (double)(last - (o.start_day + (int32_t)j)) / 7.0;
        want += pow(o.alpha / (o.alpha + weeks), o.r);
    }
    want = 1.0 - want / o.acquisition_days;
    double share = 0.0;
    uint64_t *bins = calloc(o.acquisition_days, sizeof *bins);
    ck_assert_ptr_nonnull(bins);
    for (uint64_t i = 0; i < o.customers; i++) {
        share += c[i].purchases > 1;
        int32_t j = c[i].acq - o.start_day;
        ck_assert(j >= 0 && j < (int32_t)o.acquisition_days);
        bins[j]++;
    }
    share /= (double)o.customers;
    double se = sqrt(want * (1.0 - want) / (double)o.customers);
    ck_assert_msg(fabs(share - want) < K_SE * se, "repeat share %.4f, expected %.4f (SE %.4f)", share,
                  want, se);

    double e = (double)o.customers / o.acquisition_days, chi2 = 0.0;
    for (uint32_t j = 0; j < o.acquisition_days; j++) chi2 += (bins[j] - e) * (bins[j] - e) / e;
    double df = o.acquisition_days - 1.0;
    ck_assert_msg(chi2 < df + K_SE * sqrt(2.0 * df), "acquisition chi-square %.1f (df %.0f)", chi2, df);
    free(bins);
    free(c);
    free(t.rows);
}
END_TEST

/* Day-of-week pattern with weekly_amplitude 0.5: s(d) = 1 + 0.5 cos(2 pi (dow - 6) / 7),
 * dow = (d + 3) mod 7 (Monday = 0). To make the expectation exact the test
 * removes dropout (a = 0.01, b = 1000: E[p] = 1e-5) so every customer stays
 * alive; then a repeat purchase falls on day d with probability
 * 1 - E[exp(-lambda s(d)/7)] = 1 - (alpha / (alpha + s(d)/7))^r for each
 * customer acquired before d. Expected share of day-of-week k among repeat
 * purchases: e_k = sum over days of that weekday / sum over all days. Given
 * the total, the weekday counts are close to multinomial (lambda is small,
 * r = 2, alpha = 40, so a customer's weekday mix hardly depends on lambda):
 * per weekday |share - e_k| < 4 sqrt(e_k (1 - e_k) / n), and the chi-square
 * (6 df) below 6 + 4 sqrt(12). */
START_TEST(stats_weekly)
{
    clv_sim_options o = plain_options(40000, 13);
    o.weekly_amplitude = 0.5;
    o.r = 2.0;
    o.alpha = 40.0;
    o.a = 0.01;
    o.b = 1000.0;
    table t = simulate_table(&o, "weekly.csv");
    cust *c = summarise(&t, o.customers);
    int32_t last = o.start_day + (int32_t)o.days - 1;

    /* Customers acquired before each day, from the observed acquisitions. */
    uint64_t *acq_on = calloc(o.days, sizeof *acq_on);
    ck_assert_ptr_nonnull(acq_on);
    for (uint64_t i = 0; i < o.customers; i++) acq_on[c[i].acq - o.start_day]++;

    double w[7] = {0}, wsum = 0;
    uint64_t before = 0;
    for (int32_t d = o.start_day; d <= last; d++) {
        int dow = (int)(((d + 3) % 7 + 7) % 7);
        double s = 1.0 + 0.5 * cos(TWO_PI * (dow - 6) / 7.0);
        double pd = 1.0 - pow(o.alpha / (o.alpha + s / 7.0), o.r);
        w[dow] += (double)before * pd;
        wsum += (double)before * pd;
        before += acq_on[d - o.start_day];
    }
    uint64_t obs[7] = {0}, n = 0;
    for (size_t k = 0; k < t.n; k++) {
        const row *r = &t.rows[k];
        if (r->event != CLV_EVENT_PURCHASE || r->day == c[r->id - 1].acq) continue;
        obs[((r->day + 3) % 7 + 7) % 7]++;
        n++;
    }
    ck_assert_uint_gt(n, 50000);
    double chi2 = 0.0;
    for (int k = 0; k < 7; k++) {
        double e = w[k] / wsum, sh = (double)obs[k] / (double)n;
        double se = sqrt(e * (1.0 - e) / (double)n);
        ck_assert_msg(fabs(sh - e) < K_SE * se, "weekday %d: share %.5f, expected %.5f (SE %.5f)", k,
                      sh, e, se);
        chi2 += ((double)obs[k] - n * e) * ((double)obs[k] - n * e) / (n * e);
    }
    ck_assert_msg(chi2 < 6.0 + K_SE * sqrt(12.0), "weekday chi-square %.2f (df 6)", chi2);
    /* The pattern is really there: Sunday (peak) vs Wednesday (trough side). */
    ck_assert((double)obs[6] > 2.0 * (double)obs[2]);
    free(acq_on);
    free(c);
    free(t.rows);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Ground truth */

/* With default options (seasonality and browsing on), the per-customer
 * differences D_i = N_i - E_i between the simulated holdout purchases and
 * clv_simulate_truth's expectation have mean 0 (E_i is the expectation of N_i
 * given the latent state at the cutoff, which the generator drew from the
 * same stream); SE = sd(D) / sqrt(N). Same for holdout spend. Plus exact
 * invariants: a customer who buys in the holdout was alive at the cutoff; one
 * who was not has expectation 0. */
START_TEST(truth_matches_simulation)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 20000;
    o.seed = 21;
    const int32_t cutoff = o.start_day + 272, end = o.start_day + 545; /* 39 + 39 weeks */
    table t = simulate_table(&o, "truth.csv");
    uint32_t *hn = calloc(o.customers, sizeof *hn);
    double *hs = calloc(o.customers, sizeof *hs);
    float *et = malloc(o.customers * sizeof *et), *es = malloc(o.customers * sizeof *es),
          *al = malloc(o.customers * sizeof *al);
    ck_assert(hn && hs && et && es && al);
    for (size_t k = 0; k < t.n; k++) {
        const row *r = &t.rows[k];
        if (r->event != CLV_EVENT_PURCHASE || r->day <= cutoff || r->day > end) continue;
        hn[r->id - 1]++;
        hs[r->id - 1] += (double)r->cents / 100.0;
    }
    int rc = clv_simulate_truth(&o, cutoff, end, et, es, al);
    ck_assert_msg(rc == CLV_OK, "clv_simulate_truth: %s", clv_last_error());

    double md = 0, ms = 0, vd = 0, vs = 0, alive = 0, mean_e = 0;
    const double n = (double)o.customers;
    for (uint64_t i = 0; i < o.customers; i++) {
        ck_assert(al[i] == 0.0f || al[i] == 1.0f);
        ck_assert(isfinite(et[i]) && et[i] >= 0.0f && isfinite(es[i]) && es[i] >= 0.0f);
        if (hn[i] > 0) ck_assert_msg(al[i] == 1.0f, "customer %llu buys in the holdout but was dead",
                                     (unsigned long long)(i + 1));
        if (al[i] == 0.0f) ck_assert(et[i] == 0.0f && es[i] == 0.0f);
        md += hn[i] - (double)et[i];
        ms += hs[i] - (double)es[i];
        alive += al[i];
        mean_e += et[i];
    }
    md /= n;
    ms /= n;
    for (uint64_t i = 0; i < o.customers; i++) {
        double a = hn[i] - (double)et[i] - md, b = hs[i] - (double)es[i] - ms;
        vd += a * a;
        vs += b * b;
    }
    double sed = sqrt(vd / (n - 1) / n), ses = sqrt(vs / (n - 1) / n);
    ck_assert_msg(fabs(md) < K_SE * sed, "holdout transactions: simulated - truth = %.4f (SE %.4f)", md,
                  sed);
    ck_assert_msg(fabs(ms) < K_SE * ses, "holdout spend: simulated - truth = %.3f (SE %.3f)", ms, ses);
    ck_assert(alive > 0.2 * n && alive < n);
    ck_assert(mean_e > 0.1);

    free(hn);
    free(hs);
    free(et);
    free(es);
    free(al);
    free(t.rows);
}
END_TEST

START_TEST(truth_edges)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 2000;
    const uint64_t n = o.customers;
    const int32_t last = o.start_day + (int32_t)o.days - 1, cutoff = o.start_day + 272;
    float *e1 = malloc(n * sizeof *e1), *e2 = malloc(n * sizeof *e2), *s1 = malloc(n * sizeof *s1),
          *a1 = malloc(n * sizeof *a1), *a2 = malloc(n * sizeof *a2);
    ck_assert(e1 && e2 && s1 && a1 && a2);

    /* Days after the simulated window add nothing (the log has none). */
    ck_assert_int_eq(clv_simulate_truth(&o, cutoff, last, e1, s1, a1), CLV_OK);
    ck_assert_int_eq(clv_simulate_truth(&o, cutoff, last + 1000, e2, NULL, a2), CLV_OK);
    ck_assert(!memcmp(e1, e2, n * sizeof *e1) && !memcmp(a1, a2, n * sizeof *a1));
    /* All outputs optional. */
    ck_assert_int_eq(clv_simulate_truth(&o, cutoff, last, NULL, NULL, NULL), CLV_OK);
    /* Prefix property: truth of the first 1000 customers does not depend on the count. */
    o.customers = 1000;
    ck_assert_int_eq(clv_simulate_truth(&o, cutoff, last, e2, NULL, a2), CLV_OK);
    ck_assert(!memcmp(e1, e2, 1000 * sizeof *e1) && !memcmp(a1, a2, 1000 * sizeof *a1));
    o.customers = n;
    /* Cutoff before the first day: nobody acquired yet. */
    ck_assert_int_eq(clv_simulate_truth(&o, o.start_day - 1, last, e1, s1, a1), CLV_OK);
    for (uint64_t i = 0; i < n; i++) ck_assert(e1[i] == 0.0f && s1[i] == 0.0f && a1[i] == 0.0f);
    /* Holdout entirely after the window: nothing expected, but aliveness is known. */
    ck_assert_int_eq(clv_simulate_truth(&o, last, last + 100, e1, s1, a1), CLV_OK);
    double alive = 0;
    for (uint64_t i = 0; i < n; i++) {
        ck_assert(e1[i] == 0.0f && s1[i] == 0.0f);
        alive += a1[i];
    }
    ck_assert(alive > 0 && alive < n);
    free(e1);
    free(e2);
    free(s1);
    free(a1);
    free(a2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Sizes and errors */

START_TEST(small_sizes)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 10;
    table t = simulate_table(&o, "ten.csv");
    ck_assert_uint_ge(t.n, 10);
    ck_assert_uint_eq(t.rows[t.n - 1].id, 10);
    free(t.rows);
    float e[10];
    ck_assert_int_eq(clv_simulate_truth(&o, o.start_day + 100, o.start_day + 200, e, NULL, NULL), CLV_OK);

    /* One day, one customer: exactly one purchase row. */
    o = plain_options(1, 5);
    o.days = 1;
    o.acquisition_days = 1;
    t = simulate_table(&o, "one.csv");
    ck_assert_uint_eq(t.n, 1);
    ck_assert_uint_eq(t.rows[0].id, 1);
    ck_assert_int_eq(t.rows[0].day, o.start_day);
    ck_assert_int_eq(t.rows[0].event, CLV_EVENT_PURCHASE);
    free(t.rows);

    /* A window far from 1997, before 1970. */
    clv_sim_options_init(&o);
    o.customers = 100;
    o.start_day = test_days(1970, 1, 1) - 3650;
    t = simulate_table(&o, "old.csv");
    ck_assert_uint_ge(t.n, 100);
    free(t.rows);
}
END_TEST

static void expect_einval(int rc, const char *needle)
{
    ck_assert_msg(rc == CLV_EINVAL, "expected CLV_EINVAL for %s, got %s (%s)", needle,
                  clv_status_str(rc), clv_last_error());
    ck_assert_msg(strstr(clv_last_error(), needle) != NULL, "message \"%s\" does not name %s",
                  clv_last_error(), needle);
}

/* Each bad option through all three entry points. */
static void expect_option_error(const clv_sim_options *o, const char *field)
{
    char path[1024];
    tmp_path(path, sizeof path, "never.csv");
    clv_clear_error();
    expect_einval(clv_simulate_to_csv(o, path), field);
    ck_assert_int_eq(access(path, F_OK), -1);
    clv_clear_error();
    expect_einval(clv_simulate_truth(o, 10000, 10100, NULL, NULL, NULL), field);
    clv_txlog *log = NULL;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    clv_clear_error();
    expect_einval(clv_simulate_to_txlog(o, log), field);
    clv_txlog_free(log);
}

#define BAD(field, value)                 \
    do {                                  \
        clv_sim_options o_;               \
        clv_sim_options_init(&o_);        \
        o_.customers = 10;                \
        o_.field = (value);               \
        expect_option_error(&o_, #field); \
    } while (0)

START_TEST(invalid_options)
{
    BAD(customers, 0);
    BAD(customers, 100000001ULL);
    BAD(days, 0);
    BAD(days, 100001);
    BAD(acquisition_days, 0);
    BAD(acquisition_days, 547);
    BAD(start_day, -800000);
    BAD(start_day, 2932896);
    BAD(r, 0.0);
    BAD(r, NAN);
    BAD(alpha, 0.0);
    BAD(alpha, INFINITY);
    BAD(a, -1.0);
    BAD(b, 0.0);
    BAD(b, 1e9);
    BAD(p, 0.0);
    BAD(q, NAN);
    BAD(gamma, -2.0);
    BAD(weekly_amplitude, 1.0);
    BAD(weekly_amplitude, -0.1);
    BAD(yearly_amplitude, NAN);
    BAD(browse_share, 1.5);
    BAD(browse_share, -0.5);
    BAD(struct_size, 0);
    BAD(struct_size, 8);

    char path[1024];
    tmp_path(path, sizeof path, "never.csv");
    clv_sim_options o;
    clv_sim_options_init(&o);
    clv_clear_error();
    expect_einval(clv_simulate_to_csv(NULL, path), "opts");
    clv_clear_error();
    expect_einval(clv_simulate_to_csv(&o, NULL), "path");
    clv_clear_error();
    expect_einval(clv_simulate_to_csv(&o, ""), "path");
    clv_clear_error();
    expect_einval(clv_simulate_to_txlog(&o, NULL), "log");
    clv_clear_error();
    expect_einval(clv_simulate_truth(NULL, 0, 1, NULL, NULL, NULL), "opts");
    clv_clear_error();
    expect_einval(clv_simulate_truth(&o, 100, 100, NULL, NULL, NULL), "holdout_end_day");
    ck_assert_int_eq(dir_entries(g_dir), 0);
}
END_TEST

START_TEST(io_errors)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 100;
    char path[1024];

    /* Missing directory. */
    tmp_path(path, sizeof path, "missing/out.csv");
    clv_clear_error();
    int rc = clv_simulate_to_csv(&o, path);
    ck_assert_int_eq(rc, CLV_EIO);
    ck_assert_msg(strstr(clv_last_error(), path) != NULL, "message \"%s\" does not name the path",
                  clv_last_error());

    /* Parent is a regular file. */
    char file[1024];
    tmp_path(file, sizeof file, "plain");
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    tmp_path(path, sizeof path, "plain/out.csv");
    clv_clear_error();
    ck_assert_int_eq(clv_simulate_to_csv(&o, path), CLV_EIO);
    ck_assert(strstr(clv_last_error(), path) != NULL);
    ck_assert_int_eq(unlink(file), 0);

    /* The target is a directory: the data is written, the rename fails, and
     * the temporary file must be gone afterwards. */
    tmp_path(path, sizeof path, "adir");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    clv_clear_error();
    ck_assert_int_eq(clv_simulate_to_csv(&o, path), CLV_EIO);
    ck_assert(strstr(clv_last_error(), path) != NULL);
    ck_assert_int_eq(dir_entries(g_dir), 1);
    ck_assert_int_eq(dir_entries(path), 0);
    ck_assert_int_eq(rmdir(path), 0);

    /* A failed write keeps an existing file intact. */
    tmp_path(path, sizeof path, "keep.csv");
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("old\n", f);
    fclose(f);
    BAD(r, -1.0); /* does not touch keep.csv */
    size_t size;
    char *buf = read_all(path, &size);
    ck_assert(size == 4 && !memcmp(buf, "old\n", 4));
    free(buf);
    /* ... and a successful one replaces it atomically. */
    simulate_csv_ok(&o, path);
    buf = read_all(path, &size);
    ck_assert(size > 100 && !memcmp(buf, "customer_id,", 12));
    free(buf);
    ck_assert_int_eq(dir_entries(g_dir), 1);
    ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Timing (informational) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

START_TEST(timing_1m)
{
    /* A throughput print: meaningless under a sanitizer, where it takes
     * minutes (scripts/dev sets this for its ASan+UBSan run). */
    if (getenv("CLV_TEST_NO_TIMING")) {
        printf("simulate: timing_1m skipped (CLV_TEST_NO_TIMING)\n");
        return;
    }
    clv_sim_options o;
    clv_sim_options_init(&o);
    o.customers = 1000000;
    char path[1024];
    tmp_path(path, sizeof path, "big.csv");
    double t0 = now_s();
    simulate_csv_ok(&o, path);
    double t1 = now_s();
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(unlink(path), 0);
    float *e = malloc(o.customers * sizeof *e);
    ck_assert_ptr_nonnull(e);
    double t2 = now_s();
    ck_assert_int_eq(clv_simulate_truth(&o, o.start_day + 272, o.start_day + 545, e, NULL, NULL),
                     CLV_OK);
    double t3 = now_s();
    free(e);
    printf("simulate: 1,000,000 customers -> CSV %.1f MB in %.2f s (%.0f MB/s); truth in %.2f s\n",
           (double)st.st_size / 1e6, t1 - t0, (double)st.st_size / 1e6 / (t1 - t0), t3 - t2);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *simulate_suite(void)
{
    Suite *s = suite_create("simulate");
    TCase *tc = tcase_create("simulate");
    tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, options_defaults);
    tcase_add_test(tc, determinism_bytes);
    tcase_add_test(tc, format_and_invariants);
    tcase_add_test(tc, txlog_matches_csv);
    tcase_add_test(tc, stats_spend);
    tcase_add_test(tc, stats_repeat_and_acquisition);
    tcase_add_test(tc, stats_weekly);
    tcase_add_test(tc, truth_matches_simulation);
    tcase_add_test(tc, truth_edges);
    tcase_add_test(tc, small_sizes);
    tcase_add_test(tc, invalid_options);
    tcase_add_test(tc, io_errors);
    tcase_add_test(tc, timing_1m);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return clv_test_run(simulate_suite()); }
