/* Numerical faults: divergence during training is caught at the step that
 * causes it, with CLV_ENUMERIC and the last finite weights kept; absurd
 * amounts in a transaction log are refused where they enter instead of
 * turning features non-finite later; and neither a model nor a forecaster
 * with non-finite weights is ever written. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clv_internal.h"
#include "forecast/forecast_impl.h"
#include "test-common.h"

enum { B = 6, T = 8, F = 3 };

static int all_finite(const float *x, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* clv_model_train_step with an absurd learning rate (Adam 1e30, SGD 1e37),
 * LSTM and GRU: the first step that would produce NaN/Inf returns
 * CLV_ENUMERIC and leaves every parameter exactly as before that step; the
 * model keeps predicting finite values, and later steps never corrupt it. */
START_TEST(train_step_divergence_keeps_last_finite_weights)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    float x[B * T * F], y[B], out[B];
    int32_t len[B];
    clv_test_fill(x, B * T * F, 1, -1, 1);
    clv_test_fill(y, B, 2, 0, 100);
    for (int b = 0; b < B; b++) len[b] = 1 + b % T;
    const struct { int32_t cell, kind; float lr; } cases[] = {
        { CLV_CELL_LSTM, CLV_OPTIM_ADAM, 1e30f }, { CLV_CELL_GRU, CLV_OPTIM_ADAM, 1e30f },
        { CLV_CELL_LSTM, CLV_OPTIM_SGD, 1e37f },  { CLV_CELL_GRU, CLV_OPTIM_SGD, 1e37f },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        clv_model_options o;
        clv_model_options_init(&o);
        o.cell = cases[k].cell;
        o.input_size = F;
        o.hidden_size = 8;
        clv_model *m;
        ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
        clv_optim_options oo;
        clv_optim_options_init(&oo, cases[k].kind);
        oo.lr = cases[k].lr;
        clv_optim *opt;
        ck_assert_int_eq(clv_optim_new(&opt, &oo), CLV_OK);
        clv_loss_options lo;
        clv_loss_options_init(&lo);
        const uint64_t n = clv_model_param_count(m);
        float *before = malloc(n * sizeof *before), *after = malloc(n * sizeof *after);
        ck_assert(before && after);
        int rc = CLV_OK, steps = 0;
        while (rc == CLV_OK && steps < 50) {
            ck_assert_int_eq(clv_model_get_params(m, before, n), CLV_OK);
            rc = clv_model_train_step(m, opt, &lo, B, T, x, len, NULL, y, NULL, NULL);
            steps++;
        }
        ck_assert_msg(rc == CLV_ENUMERIC, "case %zu: %d steps, status %d (%s)", k, steps, rc, clv_last_error());
        ck_assert_int_eq(clv_last_error_code(), CLV_ENUMERIC);
        ck_assert_msg(strstr(clv_last_error(), "nothing updated") || strstr(clv_last_error(), "not finite") ||
                          strstr(clv_last_error(), "NaN") || strstr(clv_last_error(), "Inf"),
                      "case %zu: message \"%s\" does not say what went wrong", k, clv_last_error());
        ck_assert_int_eq(clv_model_get_params(m, after, n), CLV_OK);
        ck_assert_msg(memcmp(before, after, n * sizeof *after) == 0, "case %zu: the failed step %d changed weights", k, steps);
        ck_assert(all_finite(after, n));
        ck_assert_int_eq(clv_model_predict(m, NULL, B, T, x, len, NULL, out, NULL), CLV_OK);
        ck_assert(all_finite(out, B));
        /* More steps: each fails or succeeds, the weights stay finite. */
        for (int i = 0; i < 5; i++) {
            rc = clv_model_train_step(m, opt, &lo, B, T, x, len, NULL, y, NULL, NULL);
            ck_assert(rc == CLV_OK || rc == CLV_ENUMERIC);
            ck_assert(all_finite(clv_model_params(m), n));
        }
        free(before);
        free(after);
        clv_optim_free(opt);
        clv_model_free(m);
    }
}
END_TEST

static clv_txlog *sim_log(uint64_t customers)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = customers;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(&so, log), CLV_OK);
    return log;
}

/* The forecaster caps lr (0 < lr < 10): 1e30 is refused up front, by name. */
START_TEST(forecaster_absurd_lr_refused)
{
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.lr = 1e30f;
    clv_forecaster *f = (clv_forecaster *)&o;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "lr = 1e+30"));
}
END_TEST

/* Divergence inside clv_forecaster_fit: the API caps lr below 10, so the
 * test sets an absurd one behind its back (the struct is internal). The fit
 * stops at the diverging step with CLV_ENUMERIC naming the epoch, keeps the
 * model's last finite weights, and the forecaster is not fitted: predict and
 * save refuse with CLV_ESTATE and write nothing. */
START_TEST(forecaster_fit_divergence)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_txlog *log = sim_log(80);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 3;
    o.hidden_size = 4;
    o.samples = 2;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    f->o.lr = 1e30f;
    const int32_t cut = clv_test_day("1997-09-30");
    int rc = clv_forecaster_fit(f, log, cut);
    ck_assert_msg(rc == CLV_ENUMERIC, "fit: %d %s", rc, clv_last_error());
    ck_assert_msg(strstr(clv_last_error(), "clv_forecaster_fit: training diverged in epoch "), "%s", clv_last_error());
    printf("numeric: %s\n", clv_last_error());
    ck_assert_ptr_nonnull(f->members[0]);
    ck_assert(all_finite(clv_model_params(f->members[0]), clv_model_param_count(f->members[0])));
    ck_assert_int_eq(clv_forecaster_is_fitted(f), 0);
    clv_prediction *p = (clv_prediction *)f;
    ck_assert_int_eq(clv_forecaster_predict(f, log, cut, 28, &p), CLV_ESTATE);
    ck_assert_ptr_null(p);
    const char path[] = "/tmp/clv-test-numeric-never.clv";
    unlink(path);
    ck_assert_int_eq(clv_forecaster_save(f, path), CLV_ESTATE);
    ck_assert_int_eq(access(path, F_OK), -1);
    /* A sane rate fits the same forecaster afterwards. */
    f->o.lr = 3e-3f;
    ck_assert_int_eq(clv_forecaster_fit(f, log, cut), CLV_OK);
    ck_assert_int_eq(clv_forecaster_is_fitted(f), 1);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* Amounts whose float sums overflow used to be accepted (finite rows), and
 * the forecaster's fit then failed deep inside with "clv_model_forward:
 * x[0][0][1] is not finite" (CLV_EINVAL, about an argument the caller never
 * passed). They are refused where they enter the log, naming the row. */
START_TEST(absurd_amounts_refused_at_the_row)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    /* From memory: 3e38 twice on one day overflowed the day's spend; 3.4e38
     * on two days overflowed the customer's total. */
    const char *ids[2] = { "big", "big" };
    int32_t days[2] = { clv_test_day("1997-03-01"), clv_test_day("1997-03-01") };
    const float huge[2] = { 3e38f, 3e38f };
    clv_txlog *log = sim_log(60);
    clv_txlog_report before, after;
    clv_txlog_report_init(&before);
    clv_txlog_report_init(&after);
    ck_assert_int_eq(clv_txlog_get_report(log, &before), CLV_OK);
    ck_assert_int_eq(clv_txlog_append(log, 2, ids, days, huge, NULL, NULL, NULL), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "clv_txlog_append: row 0: amount out of range"));
    ck_assert_int_eq(clv_txlog_get_report(log, &after), CLV_OK);
    ck_assert_uint_eq(after.customers, before.customers);   /* nothing of the row stayed */
    ck_assert_uint_eq(after.customer_days, before.customer_days);
    const float qty[1] = { 1e30f }, ok_amount[1] = { 5 };
    ck_assert_int_eq(clv_txlog_append(log, 1, ids, days, ok_amount, qty, NULL, NULL), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "quantity out of range"));
    /* The log stays good for a fit. */
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 1;
    o.hidden_size = 4;
    o.samples = 4;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    ck_assert_msg(clv_forecaster_fit(f, log, clv_test_day("1997-09-30")) == CLV_OK, "%s", clv_last_error());
    clv_forecaster_free(f);
    clv_txlog_free(log);

    /* From a file: a finite double beyond the float range, strict and lenient. */
    static const char csv[] = "customer_id,date,amount\n1,1997-01-01,5\n2,1997-01-02,1e39\n3,1997-01-03,-2e15\n4,1997-01-04,7\n";
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, csv, sizeof csv - 1, "big.csv", NULL), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "big.csv:3: amount out of range"));
    clv_txlog_free(log);
    clv_txlog_options lo;
    clv_txlog_options_init(&lo);
    lo.strict = 0;
    ck_assert_int_eq(clv_txlog_new(&log, &lo), CLV_OK);
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, csv, sizeof csv - 1, "big.csv", &rep), CLV_OK);
    ck_assert_uint_eq(rep.bad_rows, 2);
    ck_assert_uint_eq(rep.rows_used, 2);
    clv_txlog_free(log);
}
END_TEST

/* At the cap, every row 1e15, many rows a day and many days: the pipeline's
 * features (all normalisations) and a forecaster's fit and predictions stay
 * finite. */
START_TEST(amounts_at_the_cap_stay_finite)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_txlog *log = sim_log(80);
    enum { N = 4000 };
    static char idbuf[N][8];
    const char *ids[N];
    int32_t days[N];
    float am[N];
    for (int i = 0; i < N; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "w%d", i % 7);
        ids[i] = idbuf[i];
        days[i] = clv_test_day("1997-01-05") + (i % 200);
        am[i] = (i % 3 == 2) ? -1e15f : 1e15f;
    }
    ck_assert_int_eq(clv_txlog_append(log, N, ids, days, am, NULL, NULL, NULL), CLV_OK);
    const int32_t cut = clv_test_day("1997-09-30");
    const int32_t norms[] = { CLV_NORM_NONE, CLV_NORM_MINMAX, CLV_NORM_ZSCORE, CLV_NORM_LOG1P };
    for (size_t k = 0; k < sizeof norms / sizeof *norms; k++) {
        clv_pipeline_options po;
        clv_pipeline_options_init(&po);
        po.norm = norms[k];
        clv_pipeline *p;
        ck_assert_int_eq(clv_pipeline_new(&p, &po), CLV_OK);
        ck_assert_int_eq(clv_pipeline_fit(p, log, cut), CLV_OK);
        clv_dataset *ds;
        ck_assert_int_eq(clv_pipeline_transform(p, log, cut, clv_test_day("1998-06-30"), &ds), CLV_OK);
        const uint64_t n = clv_dataset_customers(ds);
        ck_assert_msg(all_finite(clv_dataset_sequences(ds), n * clv_dataset_steps(ds) * clv_dataset_seq_features(ds)),
                      "norm %d: non-finite sequence feature", norms[k]);
        ck_assert_msg(all_finite(clv_dataset_static(ds), n * clv_dataset_static_features(ds)),
                      "norm %d: non-finite static feature", norms[k]);
        ck_assert(all_finite(clv_dataset_target_spend(ds), n));
        clv_dataset_free(ds);
        clv_pipeline_free(p);
    }
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 2;
    o.hidden_size = 4;
    o.samples = 4;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    int rc = clv_forecaster_fit(f, log, cut);
    ck_assert_msg(rc == CLV_OK || rc == CLV_ENUMERIC, "fit: %d %s", rc, clv_last_error());
    if (rc == CLV_OK) {
        clv_prediction *pr;
        rc = clv_forecaster_predict(f, log, cut, 91, &pr);
        ck_assert_msg(rc == CLV_OK, "predict: %d %s", rc, clv_last_error());
        ck_assert(all_finite(clv_prediction_spend(pr), clv_prediction_customers(pr)));
        clv_prediction_free(pr);
    } else {
        ck_assert_int_eq(clv_forecaster_is_fitted(f), 0);
    }
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* A forecaster whose weights turned non-finite (memory corruption, a bug)
 * is never written: save and save_buffer refuse with CLV_EINVAL naming the
 * tensor, the file at the path stays as it was, no buffer is handed out. */
START_TEST(forecaster_with_nonfinite_weights_never_written)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_txlog *log = sim_log(60);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 1;
    o.hidden_size = 4;
    o.samples = 2;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(f, log, clv_test_day("1997-09-30")), CLV_OK);
    char path[] = "/tmp/clv-test-numeric-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq((int)write(fd, "previous", 8), 8);
    close(fd);
    const float bad[2] = { NAN, INFINITY };
    for (int k = 0; k < 2; k++) {
        float *p = clv_model_params(f->members[0]);
        const uint64_t i = k ? clv_model_param_count(f->members[0]) - 1 : 3;
        const float keep = p[i];
        p[i] = bad[k];
        ck_assert_int_eq(clv_forecaster_save(f, path), CLV_EINVAL);
        ck_assert_ptr_nonnull(strstr(clv_last_error(), "non-finite"));
        void *buf = (void *)path;
        size_t size = 1;
        ck_assert_int_eq(clv_forecaster_save_buffer(f, &buf, &size), CLV_EINVAL);
        ck_assert_ptr_null(buf);
        ck_assert_uint_eq(size, 0);
        char got[16] = { 0 };
        FILE *fp = fopen(path, "rb");
        ck_assert_ptr_nonnull(fp);
        ck_assert_uint_eq(fread(got, 1, sizeof got, fp), 8);
        fclose(fp);
        ck_assert_str_eq(got, "previous");
        p[i] = keep;
    }
    ck_assert_int_eq(clv_forecaster_save(f, path), CLV_OK);
    clv_forecaster *back;
    ck_assert_int_eq(clv_forecaster_load(&back, path), CLV_OK);
    clv_forecaster_free(back);
    unlink(path);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* Min-max scaling fitted on a narrow range (amounts of 1e-40: a span of
 * ~1e-40, a scale of ~1e40) then applied to an ordinary customer used to
 * give Inf features, which no model accepts. They saturate at FLT_MAX. */
START_TEST(scaled_features_saturate_instead_of_inf)
{
    static const char narrow[] = "customer_id,date,amount\na,1997-01-01,1e-40\na,1997-02-01,1e-40\n"
                                 "b,1997-01-03,2e-40\nb,1997-03-01,3e-40\n";
    static const char wide[] = "customer_id,date,amount\na,1997-01-01,1e-40\nc,1997-01-05,250\nc,1997-02-05,900\n";
    clv_txlog *fitlog, *log;
    ck_assert_int_eq(clv_txlog_new(&fitlog, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(fitlog, narrow, sizeof narrow - 1, "narrow", NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, wide, sizeof wide - 1, "wide", NULL), CLV_OK);
    const int32_t norms[] = { CLV_NORM_MINMAX, CLV_NORM_ZSCORE };
    for (int k = 0; k < 2; k++) {
        clv_pipeline_options po;
        clv_pipeline_options_init(&po);
        po.norm = norms[k];
        clv_pipeline *p;
        ck_assert_int_eq(clv_pipeline_new(&p, &po), CLV_OK);
        ck_assert_int_eq(clv_pipeline_fit(p, fitlog, clv_test_day("1997-06-30")), CLV_OK);
        clv_dataset *ds;
        ck_assert_int_eq(clv_pipeline_transform(p, log, clv_test_day("1997-06-30"), 0, &ds), CLV_OK);
        const uint64_t n = clv_dataset_customers(ds);
        ck_assert_uint_eq(n, 2);
        const uint32_t S = clv_dataset_static_features(ds);
        for (uint64_t i = 0; i < n * S; i++)
            ck_assert_msg(isfinite(clv_dataset_static(ds)[i]), "norm %d: static feature %llu of customer %s is %g",
                          norms[k], (unsigned long long)(i % S), clv_dataset_customer_id(ds, i / S),
                          (double)clv_dataset_static(ds)[i]);
        clv_dataset_free(ds);
        clv_pipeline_free(p);
    }
    clv_txlog_free(fitlog);
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("numeric");
    TCase *tc = tcase_create("numeric");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, train_step_divergence_keeps_last_finite_weights);
    tcase_add_test(tc, forecaster_absurd_lr_refused);
    tcase_add_test(tc, forecaster_fit_divergence);
    tcase_add_test(tc, absurd_amounts_refused_at_the_row);
    tcase_add_test(tc, amounts_at_the_cap_stay_finite);
    tcase_add_test(tc, scaled_features_saturate_instead_of_inf);
    tcase_add_test(tc, forecaster_with_nonfinite_weights_never_written);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
