/* The forecaster's weekly inputs (lib/forecast/inputs.c): rebuilt from raw
 * weeks, they must equal a hand-computed history; and reading the log in
 * chunks of customers, for the fit and for predictions, must not change a
 * bit of the model or of any prediction. */
#include <math.h>
#include <string.h>

#include "forecast/inputs.h"
#include "pipeline/pipeline_impl.h"
#include "test-common.h"

static clv_forecaster *small_forecaster(uint32_t ensemble, uint32_t samples)
{
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.hidden_size = 8;
    o.epochs = 2;
    o.ensemble = ensemble;
    o.samples = samples;
    o.horizon_days = 70;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    return f;
}

/* Customer A, cutoff Tuesday 1997-01-21 (weeks are 7-day blocks counted back
 * from it): $10 on 01-01 (week 0 of 3), nothing in week 1, $20 on 01-15 and
 * $10 on 01-16 (week 2, two purchase days). */
START_TEST(rows_match_a_hand_computed_history)
{
    static const char csv[] = "customer_id,date,amount\n"
                              "A,1997-01-01,10\nA,1997-01-15,20\nA,1997-01-16,10\n"
                              "B,1996-12-20,5\nB,1997-01-02,7\nB,1997-01-20,9\n";
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, csv, strlen(csv), "t.csv", NULL), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-01-21");
    clv_forecaster *f = small_forecaster(1, 4);
    ck_assert_int_eq(clv_forecaster_fit(f, log, cutoff), CLV_OK);

    uint32_t *members;
    uint64_t n;
    clv_dataset *ds;
    ck_assert_int_eq(clv__pipeline_members(log, cutoff, &members, &n), CLV_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(clv__pipeline_transform_subset(f->pipe, log, cutoff, cutoff, members, n, 0, &ds), CLV_OK);
    ck_assert_str_eq(ds->ids + ds->id_off[0], "A");
    clv__seqdata sd;
    ck_assert_int_eq(clv__seqdata_build(f, log, cutoff, members, ds->lengths, n, 1, &sd), CLV_OK);
    ck_assert_uint_eq(clv__seq_len(&sd, 0), 3);

    float x[3 * CLV__IN_COUNT], val[3];
    int8_t cls[3];
    clv__carry carry;
    clv__seqdata_rows(f, &sd, 0, 0, x, cls, val, &carry);
    const float l10 = log1pf(10), l1 = log1pf(1), l2 = log1pf(2), l3 = log1pf(3);
    const float want[3][9] = {
        /* tx, spend, cum tx, since last, age, sin, cos, first, avg value */
        { 1, l10, l1, 0, 0, 0, 0, l10, l10 },
        { 0, 0, l1, l1, l1, 0, 0, l10, l10 },
        { 2, log1pf(30), l3, 0, l2, 0, 0, l10, log1pf(40.0f / 3) },
    };
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < 9; k++)
            ck_assert_msg(fabsf(x[t * CLV__IN_COUNT + k] - want[t][k]) <= 1e-6f, "week %d input %d: %g, expected %g", t,
                          k, (double)x[t * CLV__IN_COUNT + k], (double)want[t][k]);
    /* next week's class (0, 1, 2, 3+) and log value per transaction */
    ck_assert_int_eq(cls[0], 0);
    ck_assert(isnan(val[0]));
    ck_assert_int_eq(cls[1], 2);
    ck_assert_float_eq_tol(val[1], log1pf(15), 1e-6f);
    ck_assert_int_eq(cls[2], -1);
    ck_assert_float_eq(carry.cum, 3);
    ck_assert_float_eq(carry.cum_spend, 40);
    ck_assert_float_eq(carry.since, 0);
    ck_assert_float_eq(carry.age, 2);
    ck_assert_float_eq_tol(carry.first, l10, 1e-6f);

    /* normalised rows are the raw ones z-scored with the fitted scalers */
    float z[3 * CLV__IN_COUNT];
    clv__seqdata_rows(f, &sd, 0, 1, z, NULL, NULL, NULL);
    for (int k = 0; k < CLV__IN_COUNT; k++)
        ck_assert_float_eq(z[2 * CLV__IN_COUNT + k], (x[2 * CLV__IN_COUNT + k] - f->in_mean[k]) * f->in_scale[k]);

    clv__seqdata_free(&sd);
    clv_dataset_free(ds);
    clv__free(members);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

static void same_networks(const clv_forecaster *a, const clv_forecaster *b)
{
    for (uint32_t k = 0; k < a->o.ensemble; k++) {
        const uint64_t P = clv_model_param_count(a->members[k]);
        ck_assert_uint_eq(P, clv_model_param_count(b->members[k]));
        ck_assert_msg(memcmp(clv_model_params(a->members[k]), clv_model_params(b->members[k]), P * sizeof(float)) == 0,
                      "network %u differs", k);
        ck_assert(a->value_sigma[k] == b->value_sigma[k]);
    }
    ck_assert(memcmp(a->in_mean, b->in_mean, sizeof a->in_mean) == 0);
    ck_assert(memcmp(a->in_scale, b->in_scale, sizeof a->in_scale) == 0);
    ck_assert(a->top_class_mean == b->top_class_mean);
    ck_assert(a->age_cap == b->age_cap && a->since_cap == b->since_cap);
}

static void same_predictions(const clv_prediction *a, const clv_prediction *b)
{
    const uint64_t n = clv_prediction_customers(a);
    ck_assert_uint_eq(n, clv_prediction_customers(b));
    ck_assert(memcmp(clv_prediction_spend(a), clv_prediction_spend(b), n * sizeof(float)) == 0);
    ck_assert(memcmp(clv_prediction_transactions(a), clv_prediction_transactions(b), n * sizeof(float)) == 0);
    ck_assert(memcmp(clv_prediction_p_active(a), clv_prediction_p_active(b), n * sizeof(float)) == 0);
    ck_assert(memcmp(clv_prediction_spend_p10(a), clv_prediction_spend_p10(b), n * sizeof(float)) == 0);
    ck_assert(memcmp(clv_prediction_spend_p90(a), clv_prediction_spend_p90(b), n * sizeof(float)) == 0);
    uint32_t wa, wb;
    const float *ta = clv_prediction_weekly_transactions(a, &wa), *tb = clv_prediction_weekly_transactions(b, &wb);
    ck_assert_uint_eq(wa, wb);
    ck_assert(memcmp(ta, tb, wa * sizeof(float)) == 0);
    for (uint64_t i = 0; i < n; i++) ck_assert_str_eq(clv_prediction_customer_id(a, i), clv_prediction_customer_id(b, i));
}

/* 600 customers, 256 paths (roll-out chunks of 32 customers): the fit read
 * 7 customers at a time, and predictions held 64 at a time, give the bits
 * of the default 16,384. */
START_TEST(chunks_change_nothing)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 600;
    so.seed = 3;
    clv_txlog *log = clv_test_sim_log(&so);
    const int32_t cutoff = clv_test_day("1997-09-30");
    clv_forecaster *a = small_forecaster(2, 256), *b = small_forecaster(2, 256);
    b->input_chunk = 7;
    ck_assert_int_eq(clv_forecaster_fit(a, log, cutoff), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(b, log, cutoff), CLV_OK);
    same_networks(a, b);

    clv_prediction *pa, *pb;
    ck_assert_int_eq(clv_forecaster_predict(a, log, cutoff, 0, &pa), CLV_OK);
    a->input_chunk = 7;
    a->predict_block = 33;   /* rounded up to the roll-out's 32: blocks of 64 */
    ck_assert_int_eq(clv_forecaster_predict(a, log, cutoff, 0, &pb), CLV_OK);
    ck_assert_uint_gt(clv_prediction_customers(pa), 128);
    same_predictions(pa, pb);
    clv_prediction_free(pb);
    ck_assert_int_eq(clv_forecaster_set_threads(a, 2), CLV_OK);
    ck_assert_int_eq(clv_forecaster_predict(a, log, cutoff, 0, &pb), CLV_OK);
    same_predictions(pa, pb);

    clv_prediction_free(pa);
    clv_prediction_free(pb);
    clv_forecaster_free(a);
    clv_forecaster_free(b);
    clv_txlog_free(log);
}
END_TEST

/* clv__pipeline_transform_subset against clv_pipeline_transform: the same
 * rows (every member, in order) with the same bytes, for a log with a
 * categorical column (a value unseen in the fit), view/cart events (a
 * customer with only views before the cutoff, one whose purchases all come
 * after it), both paddings, two periods, a transform at another cutoff than
 * the fit's and a holdout past it. */
static void same_rows(const clv_dataset *a, const clv_dataset *b, int with_seq)
{
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_uint_eq(a->nstatic, b->nstatic);
    ck_assert_uint_eq(a->nseq, b->nseq);
    const uint64_t n = a->n;
    if (with_seq) {
        ck_assert_uint_eq(a->steps, b->steps);
        ck_assert_mem_eq(a->seq, b->seq, n * a->steps * a->nseq * sizeof(float));
    }
    ck_assert_mem_eq(a->stat, b->stat, n * a->nstatic * sizeof(float));
    ck_assert_mem_eq(a->lengths, b->lengths, n * sizeof(int32_t));
    ck_assert_mem_eq(a->stages, b->stages, n * sizeof(int32_t));
    ck_assert_mem_eq(a->target_spend, b->target_spend, n * sizeof(float));
    ck_assert_mem_eq(a->target_tx, b->target_tx, n * sizeof(float));
    ck_assert_mem_eq(a->target_active, b->target_active, n * sizeof(float));
    ck_assert_mem_eq(a->frequency, b->frequency, n * sizeof(float));
    ck_assert_mem_eq(a->recency, b->recency, n * sizeof(float));
    ck_assert_mem_eq(a->age, b->age, n * sizeof(float));
    ck_assert_mem_eq(a->monetary_repeat, b->monetary_repeat, n * sizeof(float));
    ck_assert_mem_eq(a->cal_spend, b->cal_spend, n * sizeof(float));
    for (uint64_t i = 0; i < n; i++) ck_assert_str_eq(a->ids + a->id_off[i], b->ids + b->id_off[i]);
    ck_assert_int_eq(a->cutoff, b->cutoff);
    ck_assert_int_eq(a->holdout_end, b->holdout_end);
}

START_TEST(subset_rows_are_the_transform_rows)
{
    static const char csv[] = "customer,date,amount,event,channel\n"
                              "A,1997-01-01,10,purchase,web\nA,1997-01-03,0,view,web\nA,1997-02-15,20,purchase,web\n"
                              "B,1996-11-20,5,purchase,store\nB,1997-01-02,0,cart,store\nB,1997-03-20,9,purchase,store\n"
                              "C,1997-01-05,0,view,phone\nC,1997-03-01,4,purchase,phone\n"
                              "D,1997-04-10,8,purchase,web\n"
                              "E,1997-02-01,3,purchase,kiosk\nE,1997-02-08,3,purchase,kiosk\nE,1997-04-02,6,purchase,kiosk\n"
                              "F,1996-06-01,7,purchase,web\n";
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "channel", 0), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, csv, strlen(csv), "t.csv", NULL), CLV_OK);
    const int32_t fit_at = clv_test_day("1997-02-10");
    const int32_t at[] = { fit_at, clv_test_day("1997-03-05"), clv_test_day("1996-12-01") };
    for (int pad = 0; pad < 2; pad++)
        for (int per = 0; per < 2; per++)
            for (int norm = 0; norm < 2; norm++) {
                clv_pipeline_options o;
                clv_pipeline_options_init(&o);
                o.pad = pad ? CLV_PAD_PRE : CLV_PAD_POST;
                o.period = per ? CLV_PERIOD_DAY : CLV_PERIOD_WEEK;
                o.max_steps = per ? 40 : 8;
                o.norm = norm ? CLV_NORM_ZSCORE : CLV_NORM_NONE;
                o.max_categories = 2;
                clv_pipeline *p;
                ck_assert_int_eq(clv_pipeline_new(&p, &o), CLV_OK);
                ck_assert_int_eq(clv_pipeline_fit(p, log, fit_at), CLV_OK);
                for (size_t c = 0; c < sizeof at / sizeof *at; c++)
                    for (int h = 0; h < 2; h++) {
                        const int32_t end = h ? at[c] + 60 : at[c];
                        clv_dataset *full, *sub, *lens;
                        uint32_t *members;
                        uint64_t n;
                        ck_assert_int_eq(clv_pipeline_transform(p, log, at[c], end, &full), CLV_OK);
                        ck_assert_int_eq(clv__pipeline_members(log, at[c], &members, &n), CLV_OK);
                        ck_assert_uint_eq(n, full->n);
                        ck_assert_int_eq(clv__pipeline_transform_subset(p, log, at[c], end, members, n, 1, &sub), CLV_OK);
                        ck_assert_int_eq(clv__pipeline_transform_subset(p, log, at[c], end, members, n, 0, &lens), CLV_OK);
                        same_rows(full, sub, 1);
                        same_rows(full, lens, 0);
                        clv_dataset_free(full);
                        clv_dataset_free(sub);
                        clv_dataset_free(lens);
                        clv__free(members);
                    }
                clv_pipeline_free(p);
            }
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inputs");
    TCase *tc = tcase_create("inputs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rows_match_a_hand_computed_history);
    tcase_add_test(tc, chunks_change_nothing);
    tcase_add_test(tc, subset_rows_are_the_transform_rows);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
