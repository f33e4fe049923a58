/* clv_pipeline: features computed by hand on a tiny log, sequences with
 * padding and truncation, lifecycle stages, holdout targets, normalisation,
 * categories, events, the no-data-after-the-cutoff guarantee, determinism,
 * and the CDNOW holdout truth of ../shared/PROTOCOL.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clv/clv.h>

#include "test-common.h"

static const int32_t D0 = 9862;   /* 1997-01-01 */

static clv_txlog *tiny_log(void)
{
    /* A: d0 $10; d0+7 $5 + $15 (one day, two rows); d0+21 $30; holdout d0+35 $40.
     * B: d0+27 $5.  D: d0 $8.  E: d0+10 $12.  C: only after the cutoff (d0+30). */
    static const char *ids[] = { "A", "A", "A", "A", "A", "B", "D", "E", "C" };
    const int32_t days[] = { D0, D0 + 7, D0 + 7, D0 + 21, D0 + 35, D0 + 27, D0, D0 + 10, D0 + 30 };
    const float amt[] = { 10, 5, 15, 30, 40, 5, 8, 12, 9 };
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_append(log, 9, ids, days, amt, NULL, NULL, NULL), CLV_OK);
    return log;
}

static clv_pipeline *pipeline(int32_t norm, uint32_t T, int32_t pad)
{
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    o.norm = norm;
    o.max_steps = T;
    o.pad = pad;
    o.seq_log1p = 0;
    o.new_days = 7;
    o.active_days = 14;
    o.churn_days = 21;
    clv_pipeline *p;
    ck_assert_int_eq(clv_pipeline_new(&p, &o), CLV_OK);
    return p;
}

static uint64_t find(const clv_dataset *ds, const char *id)
{
    for (uint64_t i = 0; i < clv_dataset_customers(ds); i++)
        if (strcmp(clv_dataset_customer_id(ds, i), id) == 0) return i;
    ck_abort_msg("customer %s not in dataset", id);
    return 0;
}

START_TEST(features_by_hand)
{
    clv_txlog *log = tiny_log();
    clv_pipeline *p = pipeline(CLV_NORM_NONE, 8, CLV_PAD_POST);
    const int32_t cutoff = D0 + 28;
    ck_assert_int_eq(clv_pipeline_fit(p, log, cutoff), CLV_OK);
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_transform(p, log, cutoff, cutoff + 28, &ds), CLV_OK);
    ck_assert_uint_eq(clv_dataset_customers(ds), 4);   /* C is not seen by the cutoff */
    ck_assert_uint_eq(clv_dataset_seq_features(ds), 3);
    const uint32_t S = clv_dataset_static_features(ds);
    ck_assert_uint_eq(S, 12);
    ck_assert_str_eq(clv_pipeline_static_feature_name(p, 0), "frequency");
    ck_assert_str_eq(clv_pipeline_seq_feature_name(p, 0), "spend");

    uint64_t a = find(ds, "A");
    const float *f = clv_dataset_static(ds) + a * S;
    /* x = 2 repeat transactions; t_x = 21; T = 28; 7 days since last; total 60;
     * AOV 20; repeat mean (60-10)/2 = 25; 2*30/28 per 30 days; gaps 7 and 14:
     * mean 10.5, sample sd sqrt(24.5); first amount 10; items (1+2+1)/3. */
    const double expect[12] = { 2, 21, 28, 7, 60, 20, 25, 60.0 / 28, 10.5, sqrt(24.5), 10, 4.0 / 3 };
    for (int k = 0; k < 12; k++) ck_assert_double_eq_tol(f[k], expect[k], 1e-5);
    ck_assert_float_eq(clv_dataset_frequency(ds)[a], 2);
    ck_assert_float_eq(clv_dataset_recency_days(ds)[a], 21);
    ck_assert_float_eq(clv_dataset_age_days(ds)[a], 28);
    ck_assert_float_eq(clv_dataset_monetary_repeat(ds)[a], 25);
    ck_assert_float_eq(clv_dataset_calibration_spend(ds)[a], 60);
    ck_assert_float_eq(clv_dataset_target_spend(ds)[a], 40);
    ck_assert_float_eq(clv_dataset_target_transactions(ds)[a], 1);
    ck_assert_float_eq(clv_dataset_target_active(ds)[a], 1);

    /* Weeks back from the cutoff: d0 -> 4, d0+7 -> 3, d0+21 -> 1; birth 4 -> 5 steps. */
    ck_assert_int_eq(clv_dataset_lengths(ds)[a], 5);
    const float *sq = clv_dataset_sequences(ds) + a * 8 * 3;
    const float want[8][3] = { { 10, 1, 1 }, { 20, 1, 2 }, { 0, 0, 0 }, { 30, 1, 1 }, { 0, 0, 0 } };
    for (int t = 0; t < 8; t++)
        for (int k = 0; k < 3; k++) ck_assert_float_eq(sq[t * 3 + k], want[t][k]);

    /* Stages with windows new 7, active 14, churn 21. */
    ck_assert_int_eq(clv_dataset_stages(ds)[a], CLV_STAGE_ACTIVE);
    ck_assert_int_eq(clv_dataset_stages(ds)[find(ds, "B")], CLV_STAGE_NEW);
    ck_assert_int_eq(clv_dataset_stages(ds)[find(ds, "E")], CLV_STAGE_AT_RISK);
    ck_assert_int_eq(clv_dataset_stages(ds)[find(ds, "D")], CLV_STAGE_CHURNED);
    ck_assert_str_eq(clv_stage_name(CLV_STAGE_AT_RISK), "at-risk");
    ck_assert_float_eq(clv_dataset_target_active(ds)[find(ds, "B")], 0);
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(log);
}
END_TEST

START_TEST(padding_and_truncation)
{
    clv_txlog *log = tiny_log();
    const int32_t cutoff = D0 + 28;
    clv_pipeline *pre = pipeline(CLV_NORM_NONE, 8, CLV_PAD_PRE), *cut = pipeline(CLV_NORM_NONE, 3, CLV_PAD_POST);
    clv_dataset *a, *b;
    ck_assert_int_eq(clv_pipeline_fit(pre, log, cutoff), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(cut, log, cutoff), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(pre, log, cutoff, cutoff, &a), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(cut, log, cutoff, cutoff, &b), CLV_OK);
    uint64_t i = find(a, "A");
    const float *sa = clv_dataset_sequences(a) + i * 8 * 3, *sb = clv_dataset_sequences(b) + i * 3 * 3;
    /* PRE: 3 padding steps, then the 5 valid ones. */
    for (int t = 0; t < 3; t++) ck_assert_float_eq(sa[t * 3], 0);
    ck_assert_float_eq(sa[3 * 3], 10);
    ck_assert_float_eq(sa[4 * 3], 20);
    ck_assert_float_eq(sa[6 * 3], 30);
    /* Truncated to 3 steps: the most recent weeks 2, 1, 0. */
    ck_assert_int_eq(clv_dataset_lengths(b)[i], 3);
    ck_assert_float_eq(sb[0], 0);
    ck_assert_float_eq(sb[3], 30);
    ck_assert_float_eq(sb[6], 0);
    /* Truncation never drops history from the static features. */
    ck_assert_float_eq(clv_dataset_calibration_spend(b)[i], 60);
    clv_dataset_free(a);
    clv_dataset_free(b);
    clv_pipeline_free(pre);
    clv_pipeline_free(cut);
    clv_txlog_free(log);
}
END_TEST

/* A pseudo-random log sorted by date: `upto` keeps only rows on or before it. */
static clv_txlog *random_log(int32_t upto, uint32_t seed)
{
    enum { N = 3000 };
    static char idbuf[N][12];
    static const char *ids[N];
    static int32_t d[N];
    static float a[N], q[N];
    static int32_t ev[N];
    uint32_t s = seed, n = 0;
    for (int32_t day = D0; day < D0 + 200; day++) {
        for (int k = 0; k < 15 && n < N; k++) {
            s = s * 1664525u + 1013904223u;
            if ((s >> 28) > 10) continue;
            if (day > upto) continue;
            snprintf(idbuf[n], sizeof idbuf[n], "c%u", (s >> 8) % 400);
            ids[n] = idbuf[n];
            d[n] = day;
            a[n] = (float)((s >> 4) % 10000) / 100.0f;
            q[n] = (float)(1 + (s >> 20) % 3);
            ev[n] = (s >> 12) % 5 == 0 ? CLV_EVENT_VIEW : CLV_EVENT_PURCHASE;
            n++;
        }
    }
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_append(log, n, ids, d, a, q, ev, NULL), CLV_OK);
    return log;
}

static void assert_same_features(const clv_dataset *x, const clv_dataset *y)
{
    uint64_t n = clv_dataset_customers(x);
    ck_assert_uint_eq(n, clv_dataset_customers(y));
    const uint32_t T = clv_dataset_steps(x), F = clv_dataset_seq_features(x), S = clv_dataset_static_features(x);
    ck_assert_uint_eq(F, clv_dataset_seq_features(y));
    ck_assert_uint_eq(S, clv_dataset_static_features(y));
    ck_assert_mem_eq(clv_dataset_sequences(x), clv_dataset_sequences(y), n * T * F * sizeof(float));
    ck_assert_mem_eq(clv_dataset_static(x), clv_dataset_static(y), n * S * sizeof(float));
    ck_assert_mem_eq(clv_dataset_lengths(x), clv_dataset_lengths(y), n * sizeof(int32_t));
    ck_assert_mem_eq(clv_dataset_stages(x), clv_dataset_stages(y), n * sizeof(int32_t));
    ck_assert_mem_eq(clv_dataset_frequency(x), clv_dataset_frequency(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_calibration_spend(x), clv_dataset_calibration_spend(y), n * sizeof(float));
    for (uint64_t i = 0; i < n; i++)
        ck_assert_str_eq(clv_dataset_customer_id(x, i), clv_dataset_customer_id(y, i));
}

/* The honesty guarantee: fitting and transforming at a cutoff give the same
 * bytes whether or not the log holds anything after the cutoff. */
START_TEST(nothing_after_cutoff_is_read)
{
    const int32_t cutoff = D0 + 120;
    clv_txlog *full = random_log(INT32_MAX, 3), *cut = random_log(cutoff, 3);
    for (int32_t norm = CLV_NORM_NONE; norm <= CLV_NORM_LOG1P; norm++) {
        clv_pipeline *pf = pipeline(norm, 20, CLV_PAD_POST), *pc = pipeline(norm, 20, CLV_PAD_POST);
        ck_assert_int_eq(clv_pipeline_fit(pf, full, cutoff), CLV_OK);
        ck_assert_int_eq(clv_pipeline_fit(pc, cut, cutoff), CLV_OK);
        clv_dataset *a, *b;
        ck_assert_int_eq(clv_pipeline_transform(pf, full, cutoff, cutoff, &a), CLV_OK);
        ck_assert_int_eq(clv_pipeline_transform(pc, cut, cutoff, cutoff, &b), CLV_OK);
        ck_assert_uint_gt(clv_dataset_customers(a), 100);
        ck_assert_uint_eq(clv_dataset_seq_features(a), 7);   /* the log has view events */
        assert_same_features(a, b);
        clv_dataset_free(a);
        clv_dataset_free(b);
        /* The holdout targets do read after the cutoff, and only there. */
        ck_assert_int_eq(clv_pipeline_transform(pf, full, cutoff, cutoff + 30, &a), CLV_OK);
        double spend = 0;
        for (uint64_t i = 0; i < clv_dataset_customers(a); i++) spend += clv_dataset_target_spend(a)[i];
        ck_assert(spend > 0);
        clv_dataset_free(a);
        clv_pipeline_free(pf);
        clv_pipeline_free(pc);
    }
    clv_txlog_free(full);
    clv_txlog_free(cut);
}
END_TEST

START_TEST(transform_is_repeatable)
{
    clv_txlog *log = random_log(INT32_MAX, 9);
    clv_pipeline *p = pipeline(CLV_NORM_LOG1P, 30, CLV_PAD_POST), *q = pipeline(CLV_NORM_LOG1P, 30, CLV_PAD_POST);
    ck_assert_int_eq(clv_pipeline_fit(p, log, D0 + 150), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(q, log, D0 + 150), CLV_OK);
    clv_dataset *a, *b, *c;
    ck_assert_int_eq(clv_pipeline_transform(p, log, D0 + 150, D0 + 199, &a), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(p, log, D0 + 150, D0 + 199, &b), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(q, log, D0 + 150, D0 + 199, &c), CLV_OK);
    assert_same_features(a, b);
    assert_same_features(a, c);
    uint64_t n = clv_dataset_customers(a);
    ck_assert_mem_eq(clv_dataset_target_spend(a), clv_dataset_target_spend(c), n * sizeof(float));
    clv_dataset_free(a);
    clv_dataset_free(b);
    clv_dataset_free(c);
    clv_pipeline_free(p);
    clv_pipeline_free(q);
    clv_txlog_free(log);
}
END_TEST

/* clv_pipeline_options.threads: fit and transform give the same bytes on 1, 2,
 * 3 or "one per CPU" threads. The log has enough customers (40,000) for
 * several chunks of work, views for the event features, and customers with
 * no purchase before the cutoff (left out of the dataset). */
static clv_txlog *many_customers_log(void)
{
    enum { C = 40000 };
    uint64_t *ids = malloc(C * 8 * sizeof *ids);
    int32_t *d = malloc(C * 8 * sizeof *d), *ev = malloc(C * 8 * sizeof *ev);
    float *a = malloc(C * 8 * sizeof *a), *q = malloc(C * 8 * sizeof *q);
    ck_assert(ids && d && ev && a && q);
    uint32_t s = 12345;
    uint64_t n = 0;
    for (uint64_t c = 0; c < C; c++) {
        s = s * 1664525u + 1013904223u;
        uint32_t rows = 1 + (s >> 24) % 8;
        int32_t day = D0 + (int32_t)((s >> 8) % 300);
        for (uint32_t k = 0; k < rows; k++) {
            s = s * 1664525u + 1013904223u;
            ids[n] = c * 7919 % 1000003;
            d[n] = day;
            a[n] = (float)((s >> 4) % 10000) / 100.0f - ((s >> 14) % 17 == 0 ? 60.0f : 0.0f);
            q[n] = (float)(1 + (s >> 20) % 3);
            ev[n] = (s >> 12) % 4 == 0 ? CLV_EVENT_VIEW : CLV_EVENT_PURCHASE;
            n++;
            day += (int32_t)((s >> 16) % 40);
        }
    }
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_append_u64(log, n, ids, d, a, q, ev, NULL), CLV_OK);
    free(ids);
    free(d);
    free(ev);
    free(a);
    free(q);
    return log;
}

static void assert_same_dataset(const clv_dataset *x, const clv_dataset *y)
{
    assert_same_features(x, y);
    const uint64_t n = clv_dataset_customers(x);
    ck_assert_mem_eq(clv_dataset_target_spend(x), clv_dataset_target_spend(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_target_transactions(x), clv_dataset_target_transactions(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_target_active(x), clv_dataset_target_active(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_recency_days(x), clv_dataset_recency_days(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_age_days(x), clv_dataset_age_days(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_monetary_repeat(x), clv_dataset_monetary_repeat(y), n * sizeof(float));
}

START_TEST(threads_give_identical_bytes)
{
    clv_txlog *log = many_customers_log();
    const int32_t cutoff = D0 + 200, end = D0 + 400;
    static const int32_t norms[] = { CLV_NORM_LOG1P, CLV_NORM_MINMAX, CLV_NORM_ZSCORE };
    static const int32_t periods[] = { CLV_PERIOD_WEEK, CLV_PERIOD_MONTH, CLV_PERIOD_DAY };
    static const uint32_t threads[] = { 2, 3, 0, 7 };
    for (int v = 0; v < 3; v++) {
        clv_pipeline_options o;
        clv_pipeline_options_init(&o);
        ck_assert_uint_eq(o.threads, 1);   /* the documented default */
        o.norm = norms[v];
        o.period = periods[v];
        o.pad = v == 1 ? CLV_PAD_PRE : CLV_PAD_POST;
        o.max_steps = v == 2 ? 90 : 30;
        clv_pipeline *p1;
        ck_assert_int_eq(clv_pipeline_new(&p1, &o), CLV_OK);
        ck_assert_int_eq(clv_pipeline_fit(p1, log, cutoff), CLV_OK);
        clv_dataset *ref;
        ck_assert_int_eq(clv_pipeline_transform(p1, log, cutoff, end, &ref), CLV_OK);
        ck_assert_uint_gt(clv_dataset_customers(ref), 20000);
        ck_assert_uint_lt(clv_dataset_customers(ref), 40000);
        ck_assert_uint_eq(clv_dataset_seq_features(ref), 7);
        for (int t = 0; t < 4; t++) {
            o.threads = threads[t];
            clv_pipeline *pt;
            ck_assert_int_eq(clv_pipeline_new(&pt, &o), CLV_OK);
            ck_assert_int_eq(clv_pipeline_fit(pt, log, cutoff), CLV_OK);
            clv_dataset *a, *b;
            /* Fitted on t threads, transformed on t threads; and the
             * single-threaded fit transformed on t threads. */
            ck_assert_int_eq(clv_pipeline_transform(pt, log, cutoff, end, &a), CLV_OK);
            assert_same_dataset(ref, a);
            o.threads = 1;
            clv_pipeline *pone;
            ck_assert_int_eq(clv_pipeline_new(&pone, &o), CLV_OK);
            ck_assert_int_eq(clv_pipeline_fit(pone, log, cutoff), CLV_OK);
            ck_assert_int_eq(clv_pipeline_transform(pone, log, cutoff, end, &b), CLV_OK);
            assert_same_dataset(ref, b);
            clv_dataset_free(a);
            clv_dataset_free(b);
            clv_pipeline_free(pt);
            clv_pipeline_free(pone);
        }
        clv_dataset_free(ref);
        clv_pipeline_free(p1);
    }
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    o.threads = 257;
    clv_pipeline *bad = NULL;
    ck_assert_int_eq(clv_pipeline_new(&bad, &o), CLV_EINVAL);
    ck_assert_ptr_null(bad);
    clv_txlog_free(log);
}
END_TEST

/* Z-score gives mean 0 / sd 1 over the fit customers; min-max spans [0, 1]. */
START_TEST(normalisation_statistics)
{
    clv_txlog *log = random_log(INT32_MAX, 5);
    const int32_t norms[] = { CLV_NORM_ZSCORE, CLV_NORM_MINMAX, CLV_NORM_LOG1P };
    for (int k = 0; k < 3; k++) {
        clv_pipeline *p = pipeline(norms[k], 10, CLV_PAD_POST);
        ck_assert_int_eq(clv_pipeline_fit(p, log, D0 + 150), CLV_OK);
        clv_dataset *ds;
        ck_assert_int_eq(clv_pipeline_transform(p, log, D0 + 150, D0 + 150, &ds), CLV_OK);
        const uint64_t n = clv_dataset_customers(ds);
        const uint32_t S = clv_dataset_static_features(ds);
        const float *st = clv_dataset_static(ds);
        for (uint32_t j = 0; j < S; j++) {
            double m = 0, m2 = 0, lo = INFINITY, hi = -INFINITY;
            for (uint64_t i = 0; i < n; i++) {
                double v = st[i * S + j];
                m += v;
                m2 += v * v;
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
            m /= n;
            double sd = sqrt(m2 / n - m * m);
            if (hi == lo) continue;   /* a constant feature maps to 0 */
            if (norms[k] == CLV_NORM_MINMAX) {
                ck_assert_double_eq_tol(lo, 0, 1e-6);
                ck_assert_double_eq_tol(hi, 1, 1e-6);
            } else {
                ck_assert_msg(fabs(m) < 1e-4 && fabs(sd - 1) < 1e-3, "%s: mean %g sd %g",
                              clv_pipeline_static_feature_name(p, j), m, sd);
            }
        }
        clv_dataset_free(ds);
        clv_pipeline_free(p);
    }
    clv_txlog_free(log);
}
END_TEST

START_TEST(state_errors)
{
    clv_txlog *log = tiny_log();
    clv_pipeline *p = pipeline(CLV_NORM_NONE, 4, CLV_PAD_POST);
    clv_dataset *ds = NULL;
    ck_assert_int_eq(clv_pipeline_transform(p, log, D0 + 28, D0 + 28, &ds), CLV_ESTATE);
    ck_assert_ptr_null(ds);
    ck_assert_int_eq(clv_pipeline_fit(p, log, D0 - 1), CLV_ESTATE);
    ck_assert(strstr(clv_last_error(), "1996-12-31") != NULL);
    ck_assert_int_eq(clv_pipeline_is_fitted(p), 0);
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    o.period = 9;
    clv_pipeline *bad = NULL;
    ck_assert_int_eq(clv_pipeline_new(&bad, &o), CLV_EINVAL);
    ck_assert(strstr(clv_last_error(), "period") != NULL);
    /* A cutoff before everyone's first purchase at transform gives an empty dataset. */
    ck_assert_int_eq(clv_pipeline_fit(p, log, D0 + 28), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(p, log, D0 - 5, D0 - 5, &ds), CLV_OK);
    ck_assert_uint_eq(clv_dataset_customers(ds), 0);
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(log);
}
END_TEST

/* Categorical attributes: one-hot over the most frequent values at fit,
 * anything else (or unseen at transform time) in "other". */
START_TEST(categories_one_hot)
{
    const char csv[] = "customer,date,amount,channel\n"
                       "a,2020-01-01,5,web\nb,2020-01-02,5,web\nc,2020-01-03,5,store\n"
                       "d,2020-01-04,5,phone\na,2020-02-01,5,store\n";
    const char later[] = "customer,date,amount,channel\nx,2020-01-01,5,kiosk\ny,2020-01-01,5,web\n";
    clv_txlog *log, *other;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "channel", 0), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, csv, sizeof csv - 1, "mem.csv", NULL), CLV_OK);
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    o.max_categories = 2;
    clv_pipeline *p;
    ck_assert_int_eq(clv_pipeline_new(&p, &o), CLV_OK);
    int32_t cutoff;
    ck_assert_int_eq(clv_date_parse("2020-03-01", &cutoff), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(p, log, cutoff), CLV_OK);
    /* web (2 customers: a's first row, b) then the tie phone/store broken by value: phone. */
    const uint32_t S = clv_pipeline_static_features(p), base = S - 3;
    ck_assert_str_eq(clv_pipeline_static_feature_name(p, base), "cat.channel=web");
    ck_assert_str_eq(clv_pipeline_static_feature_name(p, base + 1), "cat.channel=phone");
    ck_assert_str_eq(clv_pipeline_static_feature_name(p, base + 2), "cat.channel=other");
    ck_assert_int_eq(clv_txlog_new(&other, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(other, CLV_COLUMN_CATEGORY, "channel", 0), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(other, later, sizeof later - 1, "later.csv", NULL), CLV_OK);
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_transform(p, other, cutoff, cutoff, &ds), CLV_OK);
    const float *st = clv_dataset_static(ds);
    ck_assert_float_eq(st[0 * S + base + 2], 1);   /* kiosk: unseen -> other */
    ck_assert_float_eq(st[0 * S + base], 0);
    ck_assert_float_eq(st[1 * S + base], 1);       /* web */
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(log);
    clv_txlog_free(other);
}
END_TEST

static int find_cdnow(char *path, size_t size)
{
    const char *dir = getenv("CLV_CDNOW_DIR");
    if (dir) {
        snprintf(path, size, "%s/CDNOW_master.txt", dir);
        return access(path, R_OK) == 0;
    }
    const char *up[] = { "../shared", "../../shared", "../../../shared", "../../../../shared" };
    for (int i = 0; i < 4; i++) {
        snprintf(path, size, "%s/data/cdnow/CDNOW_master.txt", up[i]);
        if (access(path, R_OK) == 0) return 1;
    }
    return 0;
}

/* The holdout truth stated in ../shared/PROTOCOL.md. */
START_TEST(cdnow_holdout_truth)
{
    char path[512];
    if (!find_cdnow(path, sizeof path)) {
        printf("cdnow_holdout_truth: CDNOW_master.txt not found (set CLV_CDNOW_DIR); skipped\n");
        return;
    }
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv(log, path, NULL), CLV_OK);
    clv_pipeline *p;
    ck_assert_int_eq(clv_pipeline_new(&p, NULL), CLV_OK);
    int32_t cutoff, end;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &cutoff), CLV_OK);
    ck_assert_int_eq(clv_date_parse("1998-06-30", &end), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(p, log, cutoff), CLV_OK);
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_transform(p, log, cutoff, end, &ds), CLV_OK);
    const uint64_t n = clv_dataset_customers(ds);
    ck_assert_uint_eq(n, 23570);
    double tx = 0, spend = 0, active = 0;
    for (uint64_t i = 0; i < n; i++) {
        tx += clv_dataset_target_transactions(ds)[i];
        spend += clv_dataset_target_spend(ds)[i];
        active += clv_dataset_target_active(ds)[i];
    }
    printf("CDNOW holdout: %.0f transactions, $%.2f, %.0f customers buying\n", tx, spend, active);
    ck_assert_double_eq(tx, 19684);
    ck_assert_double_eq_tol(spend, 776961.13, 0.05);
    ck_assert_double_eq(active, 7058);
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("features");
    tcase_add_test(tc, features_by_hand);
    tcase_add_test(tc, padding_and_truncation);
    tcase_add_test(tc, normalisation_statistics);
    tcase_add_test(tc, categories_one_hot);
    tcase_add_test(tc, state_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("guarantees");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, nothing_after_cutoff_is_read);
    tcase_add_test(tc, transform_is_repeatable);
    tcase_add_test(tc, threads_give_identical_bytes);
    tcase_add_test(tc, cdnow_holdout_truth);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
