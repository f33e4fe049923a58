/* Sliding-cutoff training examples (lib/eval/examples.c): window layout,
 * shapes, targets computed by hand on a tiny log, the prediction rows, and
 * honesty: a log cut at the evaluation cutoff gives byte-identical examples. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clv/clv.h>

#include "eval/examples.h"
#include "test-common.h"

static const int32_t D0 = 9862;   /* 1997-01-01 */

/* A: d0 $10, d0+10 $20, d0+30 $5, d0+50 $7, d0+70 $100 (after C)
 * B: d0+5 $8, d0+15 $3, d0+45 $12
 * E: d0+25 $4
 * Z: d0+80 $9 (only after C) */
static clv_txlog *tiny_log(int32_t cut_at)
{
    static const char *ids[] = { "A", "A", "A", "A", "A", "B", "B", "B", "E", "Z" };
    const int32_t days[] = { D0, D0 + 10, D0 + 30, D0 + 50, D0 + 70, D0 + 5, D0 + 15, D0 + 45, D0 + 25, D0 + 80 };
    const float amt[] = { 10, 20, 5, 7, 100, 8, 3, 12, 4, 9 };
    const char *kid[10];
    int32_t kday[10];
    float kamt[10];
    uint64_t n = 0;
    for (int i = 0; i < 10; i++) {
        if (days[i] > cut_at) continue;
        kid[n] = ids[i];
        kday[n] = days[i];
        kamt[n] = amt[i];
        n++;
    }
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_append(log, n, kid, kday, kamt, NULL, NULL, NULL), CLV_OK);
    return log;
}

static clv__examples_options tiny_opts(void)
{
    clv__examples_options o;
    clv__examples_options_init(&o);
    o.windows = 3;
    o.step_days = 10;
    o.min_history_days = 5;
    o.valid_share = 0;   /* three customers: a purely temporal split */
    return o;
}

static int col(const clv__examples *ex, const char *name)
{
    for (uint32_t j = 0; j < ex->features; j++)
        if (strcmp(ex->names[j], name) == 0) return (int)j;
    ck_abort_msg("no column %s", name);
    return -1;
}

/* Row of window k whose customer first bought `age` days before the cutoff. */
static uint64_t row_by_age(const clv__examples *ex, uint32_t k, float age)
{
    for (uint64_t r = ex->row_start[k]; r < ex->row_start[k + 1]; r++)
        if (ex->age_days[r] == age) return r;
    ck_abort_msg("window %u: no customer of age %g", k, (double)age);
    return 0;
}

static void expect_row(const clv__examples *ex, uint32_t k, float age, float spend, float tx, float active,
                       float freq, float total)
{
    const uint64_t r = row_by_age(ex, k, age);
    ck_assert_float_eq(ex->y_spend[r], spend);
    ck_assert_float_eq(ex->y_tx[r], tx);
    ck_assert_float_eq(ex->y_active[r], active);
    ck_assert_float_eq(ex->frequency[r], freq);
    ck_assert_float_eq(ex->calibration_spend[r], total);
    const float *x = ex->x + r * ex->features;
    ck_assert_float_eq(x[col(ex, "frequency")], freq);
    ck_assert_float_eq(x[col(ex, "total_spend")], total);
    ck_assert_float_eq(x[col(ex, "age_days")], age);
    ck_assert_float_eq(x[ex->features - 1], ex->days[r]);
}

START_TEST(tiny_by_hand)
{
    clv_txlog *log = tiny_log(D0 + 1000);
    const int32_t C = D0 + 60;
    clv__examples_options o = tiny_opts();
    clv__examples *ex;
    /* span 60 days: h = min(40, 60 / 2) = 30; cutoffs C-30, C-40, C-50 (>= d0+5). */
    ck_assert_int_eq(clv__examples_build(log, C, 40, &o, &ex), CLV_OK);
    ck_assert_uint_eq(ex->windows, 3);
    const int32_t cut[3] = { D0 + 10, D0 + 20, D0 + 30 }, end[3] = { D0 + 50, D0 + 60, D0 + 60 };
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(ex->cutoff[k], cut[k]);
        ck_assert_int_eq(ex->window_end[k], end[k]);
        ck_assert_int_le(ex->window_end[k], C);
    }
    /* Shapes: A and B at d0+10 and d0+20; A, B and E at d0+30. */
    ck_assert_uint_eq(ex->row_start[0], 0);
    ck_assert_uint_eq(ex->row_start[1], 2);
    ck_assert_uint_eq(ex->row_start[2], 4);
    ck_assert_uint_eq(ex->row_start[3], 7);
    ck_assert_uint_eq(ex->rows, 7);
    ck_assert_uint_eq(ex->train_rows, 4);
    ck_assert_uint_eq(ex->valid_rows, 3);
    for (uint64_t r = 0; r < ex->rows; r++) ck_assert_uint_eq(ex->split[r], r < 4 ? CLV__EX_TRAIN : CLV__EX_VALID);
    ck_assert_uint_eq(ex->features, 12 + 1);
    ck_assert_str_eq(ex->names[ex->features - 1], "window_days");
    for (uint64_t r = 0; r < ex->rows; r++) {
        const float h = r < 2 ? 40.0f : r < 4 ? 40.0f : 30.0f;   /* min(H, C - c_k) */
        ck_assert_float_eq(ex->days[r], h);
    }
    /* window 0, (d0+10, d0+50]: A buys d0+30 $5, d0+50 $7; B d0+15 $3, d0+45 $12 */
    expect_row(ex, 0, 10, 12, 2, 1, 1, 30);
    expect_row(ex, 0, 5, 15, 2, 1, 0, 8);
    /* window 1, (d0+20, d0+60]: A d0+30, d0+50; B d0+45 */
    expect_row(ex, 1, 20, 12, 2, 1, 1, 30);
    expect_row(ex, 1, 15, 12, 1, 1, 1, 11);
    /* window 2 (validation), (d0+30, d0+60]: A d0+50 $7; B d0+45 $12; E nothing */
    expect_row(ex, 2, 30, 7, 1, 1, 2, 35);
    expect_row(ex, 2, 25, 12, 1, 1, 1, 11);
    expect_row(ex, 2, 5, 0, 0, 0, 0, 4);

    /* Prediction rows at C: everyone seen by C (A, B, E; not Z), window_days = H, no targets. */
    clv__examples *pr;
    ck_assert_int_eq(clv__examples_build_predict(log, C, 40, &o, &pr), CLV_OK);
    ck_assert_uint_eq(pr->windows, 1);
    ck_assert_uint_eq(pr->rows, 3);
    ck_assert_uint_eq(pr->train_rows, 0);
    ck_assert_uint_eq(pr->valid_rows, 0);
    ck_assert_int_eq(pr->cutoff[0], C);
    ck_assert_int_eq(pr->window_end[0], C + 40);
    ck_assert(clv__examples_same_columns(ex, pr));
    for (uint64_t r = 0; r < 3; r++) {
        ck_assert_float_eq(pr->days[r], 40);
        ck_assert_float_eq(pr->x[r * pr->features + pr->features - 1], 40);
        ck_assert_float_eq(pr->y_spend[r], 0);
        ck_assert_float_eq(pr->y_tx[r], 0);
    }
    /* A at C: 4 transactions (x = 3), spend 42; the $100 after C is not seen. */
    const uint64_t a = row_by_age(pr, 0, 60);
    ck_assert_float_eq(pr->frequency[a], 3);
    ck_assert_float_eq(pr->calibration_spend[a], 42);
    clv__examples_free(pr);
    clv__examples_free(ex);
    clv_txlog_free(log);
}
END_TEST

static void assert_same(const clv__examples *a, const clv__examples *b)
{
    ck_assert_uint_eq(a->windows, b->windows);
    ck_assert_uint_eq(a->rows, b->rows);
    ck_assert_uint_eq(a->train_rows, b->train_rows);
    ck_assert_uint_eq(a->valid_rows, b->valid_rows);
    ck_assert_mem_eq(a->split, b->split, a->rows);
    ck_assert_mem_eq(a->customer_key, b->customer_key, a->rows * sizeof(uint64_t));
    ck_assert(clv__examples_same_columns(a, b));
    ck_assert_mem_eq(a->cutoff, b->cutoff, a->windows * sizeof(int32_t));
    ck_assert_mem_eq(a->window_end, b->window_end, a->windows * sizeof(int32_t));
    ck_assert_mem_eq(a->row_start, b->row_start, (a->windows + 1) * sizeof(uint64_t));
    ck_assert(memcmp(a->x, b->x, a->rows * a->features * sizeof(float)) == 0);
    const float *const pa[] = { a->days, a->y_spend, a->y_tx, a->y_active, a->frequency,
                                a->recency_days, a->age_days, a->monetary_repeat, a->calibration_spend };
    const float *const pb[] = { b->days, b->y_spend, b->y_tx, b->y_active, b->frequency,
                                b->recency_days, b->age_days, b->monetary_repeat, b->calibration_spend };
    for (int c = 0; c < 9; c++) ck_assert(memcmp(pa[c], pb[c], a->rows * sizeof(float)) == 0);
}

START_TEST(tiny_cut_at_cutoff_is_identical)
{
    const int32_t C = D0 + 60;
    clv_txlog *full = tiny_log(D0 + 1000), *cut = tiny_log(C);
    clv__examples_options o = tiny_opts();
    clv__examples *a, *b;
    ck_assert_int_eq(clv__examples_build(full, C, 40, &o, &a), CLV_OK);
    ck_assert_int_eq(clv__examples_build(cut, C, 40, &o, &b), CLV_OK);
    assert_same(a, b);
    clv__examples_free(a);
    clv__examples_free(b);
    ck_assert_int_eq(clv__examples_build_predict(full, C, 40, &o, &a), CLV_OK);
    ck_assert_int_eq(clv__examples_build_predict(cut, C, 40, &o, &b), CLV_OK);
    assert_same(a, b);
    clv__examples_free(a);
    clv__examples_free(b);
    clv_txlog_free(full);
    clv_txlog_free(cut);
}
END_TEST

/* The protocol's check on a CDNOW-like synthetic log: the CSV as generated,
 * and a copy keeping only the rows dated on or before the cutoff. */
START_TEST(simulated_cut_at_cutoff_is_identical)
{
    char dir[] = "/tmp/clv-examples-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sim.csv", dir);
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 400;
    so.seed = 7;
    ck_assert_int_eq(clv_simulate_to_csv(&so, path), CLV_OK);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *all = NULL, *kept = NULL;
    size_t na = 0, nk = 0;
    FILE *ka = open_memstream(&all, &na), *kk = open_memstream(&kept, &nk);
    char line[512];
    int header = 1, dropped = 0;
    while (fgets(line, sizeof line, f)) {
        fputs(line, ka);
        /* customer_id,date,... with YYYY-MM-DD dates: compare as strings */
        const char *comma = strchr(line, ',');
        if (header || (comma && strncmp(comma + 1, "1997-09-30", 10) <= 0)) fputs(line, kk);
        else dropped++;
        header = 0;
    }
    fclose(f);
    fclose(ka);
    fclose(kk);
    unlink(path);
    rmdir(dir);
    ck_assert_int_gt(dropped, 100);

    int32_t C;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &C), CLV_OK);
    clv_txlog *full, *cut;
    ck_assert_int_eq(clv_txlog_new(&full, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_new(&cut, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(full, all, na, "full", NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(cut, kept, nk, "cut", NULL), CLV_OK);
    free(all);
    free(kept);

    clv__examples *a, *b;
    ck_assert_int_eq(clv__examples_build(full, C, 273, NULL, &a), CLV_OK);
    ck_assert_int_eq(clv__examples_build(cut, C, 273, NULL, &b), CLV_OK);
    /* Defaults: h = (C - first day) / 2 (136 when someone bought on 1997-01-01);
     * 6 cutoffs 14 days apart, the last at C - h. */
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    ck_assert_int_eq(clv_txlog_get_report(cut, &rep), CLV_OK);
    const int32_t h = (int32_t)((C - rep.first_day) / 2);
    ck_assert_int_ge(h, 130);
    ck_assert_uint_eq(a->windows, 6);
    ck_assert_int_eq(a->cutoff[5], C - h);
    ck_assert_int_eq(a->cutoff[0], C - h - 70);
    for (uint32_t k = 0; k < 6; k++) ck_assert_int_eq(a->window_end[k], C);
    /* Validation: the latest window only, about a quarter of its customers,
     * none of whom has a training row. */
    const uint64_t last = a->row_start[6] - a->row_start[5];
    ck_assert_uint_gt(a->valid_rows, last * 15 / 100);
    ck_assert_uint_lt(a->valid_rows, last * 35 / 100);
    ck_assert_uint_gt(a->train_rows, a->row_start[5] / 2);
    uint64_t nt = 0, nv = 0;
    for (uint64_t r = 0; r < a->rows; r++) {
        nt += a->split[r] == CLV__EX_TRAIN;
        nv += a->split[r] == CLV__EX_VALID;
        if (a->split[r] == CLV__EX_VALID) ck_assert_uint_ge(r, a->row_start[5]);
        if (a->split[r] == CLV__EX_TRAIN) ck_assert_uint_lt(r, a->row_start[5]);
        if (a->split[r] != CLV__EX_VALID) continue;
        for (uint64_t q = 0; q < a->row_start[5]; q++)
            if (a->customer_key[q] == a->customer_key[r]) ck_assert_uint_eq(a->split[q], CLV__EX_REFIT);
    }
    ck_assert_uint_eq(nt, a->train_rows);
    ck_assert_uint_eq(nv, a->valid_rows);
    double tx = 0;
    for (uint64_t r = 0; r < a->rows; r++) tx += a->y_tx[r];
    ck_assert_double_gt(tx, 0);
    assert_same(a, b);
    clv__examples_free(a);
    clv__examples_free(b);
    ck_assert_int_eq(clv__examples_build_predict(full, C, 273, NULL, &a), CLV_OK);
    ck_assert_int_eq(clv__examples_build_predict(cut, C, 273, NULL, &b), CLV_OK);
    ck_assert_uint_eq(a->rows, 400);   /* all acquired in the first 12 weeks */
    assert_same(a, b);
    clv__examples_free(a);
    clv__examples_free(b);
    clv_txlog_free(full);
    clv_txlog_free(cut);
}
END_TEST

START_TEST(errors)
{
    clv_txlog *log = tiny_log(D0 + 1000);
    clv__examples_options o = tiny_opts();
    clv__examples *ex = (clv__examples *)&o;
    ck_assert_int_eq(clv__examples_build(NULL, D0 + 60, 40, &o, &ex), CLV_EINVAL);
    ck_assert_ptr_null(ex);
    ck_assert_int_eq(clv__examples_build(log, D0 + 60, 0, &o, &ex), CLV_EINVAL);
    o.windows = 1;
    ck_assert_int_eq(clv__examples_build(log, D0 + 60, 40, &o, &ex), CLV_EINVAL);
    /* Too short: cutoff d0+12 gives h = 6 and a single cutoff (d0+6) >= d0+5. */
    o = tiny_opts();
    ck_assert_int_eq(clv__examples_build(log, D0 + 12, 40, &o, &ex), CLV_ESTATE);
    ck_assert_ptr_null(ex);
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tiny_by_hand);
    tcase_add_test(tc, tiny_cut_at_cutoff_is_identical);
    tcase_add_test(tc, simulated_cut_at_cutoff_is_identical);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
