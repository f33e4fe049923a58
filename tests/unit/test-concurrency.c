/* Concurrent inference on shared read-only objects, as the headers promise
 * (model.h: const-model inference from many threads, one workspace each;
 * forecast.h: predict takes a const forecaster). 8 threads hammer one plain
 * LSTM model, one GRU model and one forecaster for a configurable time,
 * comparing every result bit for bit with a single-threaded reference
 * computed beforehand.
 *
 * CLV_TEST_CONCURRENCY_SECONDS sets the duration (default 3). The test is
 * also built with ThreadSanitizer in CI (scripts/dev: build-tsan), where a
 * data race fails it even if the results happen to agree. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clv/clv.h"
#include "test-common.h"

enum { NTHREADS = 8, B = 16, T = 20, F = 5, S = 3 };

typedef struct shared {
    const clv_model *lstm, *gru;
    const clv_forecaster *fc;
    const clv_txlog *log;
    int32_t at;
    float x[B * T * F], st[B * S];
    int32_t len[B];
    /* references */
    float lstm_final[B * 2], gru_step[B * T * 3];
    uint64_t n;
    float *spend, *tx, *pa;
    int32_t *stages;
    char **ids;
    double deadline;
} shared;

typedef struct worker {
    shared *sh;
    int id;
    long model_calls, forecast_calls, mismatches, errors;
    char first_problem[256];
} worker;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void problem(worker *w, int error, const char *what)
{
    if (error) w->errors++;
    else w->mismatches++;
    if (!w->first_problem[0])
        snprintf(w->first_problem, sizeof w->first_problem, "thread %d: %s (%s)", w->id, what,
                 error ? clv_last_error() : "differs from the single-threaded reference");
}

static void one_model_round(worker *w, clv_workspace *ws)
{
    const shared *sh = w->sh;
    float fin[B * 2], step[B * T * 3];
    /* Odd threads sometimes pass no workspace (the call allocates its own). */
    clv_workspace *use = (w->id & 1) && (w->model_calls % 3 == 0) ? NULL : ws;
    if (clv_model_predict(sh->lstm, use, B, T, sh->x, sh->len, sh->st, fin, NULL) != CLV_OK)
        problem(w, 1, "lstm predict");
    else if (memcmp(fin, sh->lstm_final, sizeof fin) != 0)
        problem(w, 0, "lstm final outputs");
    if (clv_model_predict(sh->gru, use, B, T, sh->x, sh->len, NULL, NULL, step) != CLV_OK)
        problem(w, 1, "gru predict");
    else if (memcmp(step, sh->gru_step, sizeof step) != 0)
        problem(w, 0, "gru step outputs");
    w->model_calls += 2;
}

static void one_forecast_round(worker *w)
{
    const shared *sh = w->sh;
    clv_prediction *p = NULL;
    if (clv_forecaster_predict(sh->fc, sh->log, sh->at, 91, &p) != CLV_OK) {
        problem(w, 1, "forecaster predict");
        return;
    }
    w->forecast_calls++;
    const uint64_t n = clv_prediction_customers(p);
    if (n != sh->n || memcmp(clv_prediction_spend(p), sh->spend, n * sizeof(float)) != 0 ||
        memcmp(clv_prediction_transactions(p), sh->tx, n * sizeof(float)) != 0 ||
        memcmp(clv_prediction_p_active(p), sh->pa, n * sizeof(float)) != 0 ||
        memcmp(clv_prediction_stages(p), sh->stages, n * sizeof(int32_t)) != 0) {
        problem(w, 0, "forecaster predictions");
    } else {
        for (uint64_t i = 0; i < n; i += 17)
            if (strcmp(clv_prediction_customer_id(p, i), sh->ids[i]) != 0) {
                problem(w, 0, "customer ids");
                break;
            }
    }
    clv_prediction_free(p);
}

static void *run(void *arg)
{
    worker *w = arg;
    clv_workspace *ws;
    if (clv_workspace_new(&ws) != CLV_OK) {
        problem(w, 1, "workspace_new");
        return NULL;
    }
    /* Every thread does both kinds of work, interleaved differently, and at
     * least one round of each whatever the duration. */
    do {
        one_model_round(w, ws);
        if ((w->model_calls / 2 + (long)w->id) % 4 == 0 || w->forecast_calls == 0) one_forecast_round(w);
    } while (now() < w->sh->deadline);
    clv_workspace_free(ws);
    return NULL;
}

static clv_model *make(int32_t cell, uint32_t stat, uint32_t fin, uint32_t step)
{
    clv_model_options o;
    clv_model_options_init(&o);
    o.cell = cell;
    o.input_size = F;
    o.hidden_size = 24;
    o.num_layers = 2;
    o.static_size = stat;
    o.final_outputs = fin;
    o.step_outputs = step;
    o.seed = 7;
    clv_model *m;
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
    return m;
}

START_TEST(eight_threads_share_models_and_forecaster)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    const char *env = getenv("CLV_TEST_CONCURRENCY_SECONDS");
    const double seconds = env ? atof(env) : 3.0;
    ck_assert_msg(seconds >= 0 && seconds <= 3600, "CLV_TEST_CONCURRENCY_SECONDS=%s", env);

    static shared sh;
    clv_model *lstm = make(CLV_CELL_LSTM, S, 2, 0), *gru = make(CLV_CELL_GRU, 0, 0, 3);
    sh.lstm = lstm;
    sh.gru = gru;
    clv_test_fill(sh.x, sizeof sh.x / sizeof *sh.x, 3, -1, 1);
    clv_test_fill(sh.st, sizeof sh.st / sizeof *sh.st, 4, 0, 2);
    for (int b = 0; b < B; b++) sh.len[b] = b % (T + 1);   /* includes empty and full sequences */
    ck_assert_int_eq(clv_model_predict(lstm, NULL, B, T, sh.x, sh.len, sh.st, sh.lstm_final, NULL), CLV_OK);
    ck_assert_int_eq(clv_model_predict(gru, NULL, B, T, sh.x, sh.len, NULL, NULL, sh.gru_step), CLV_OK);

    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 200;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(&so, log), CLV_OK);
    ck_assert_int_eq(clv_date_parse("1997-09-30", &sh.at), CLV_OK);
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    fo.epochs = 1;
    fo.hidden_size = 8;
    fo.samples = 8;
    clv_forecaster *fc;
    ck_assert_int_eq(clv_forecaster_new(&fc, &fo), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(fc, log, sh.at), CLV_OK);
    sh.fc = fc;
    sh.log = log;
    clv_prediction *ref;
    ck_assert_int_eq(clv_forecaster_predict(fc, log, sh.at, 91, &ref), CLV_OK);
    sh.n = clv_prediction_customers(ref);
    ck_assert_uint_gt(sh.n, 20);
    sh.spend = malloc(sh.n * sizeof(float));
    sh.tx = malloc(sh.n * sizeof(float));
    sh.pa = malloc(sh.n * sizeof(float));
    sh.stages = malloc(sh.n * sizeof(int32_t));
    sh.ids = malloc(sh.n * sizeof(char *));
    ck_assert(sh.spend && sh.tx && sh.pa && sh.stages && sh.ids);
    memcpy(sh.spend, clv_prediction_spend(ref), sh.n * sizeof(float));
    memcpy(sh.tx, clv_prediction_transactions(ref), sh.n * sizeof(float));
    memcpy(sh.pa, clv_prediction_p_active(ref), sh.n * sizeof(float));
    memcpy(sh.stages, clv_prediction_stages(ref), sh.n * sizeof(int32_t));
    for (uint64_t i = 0; i < sh.n; i++) {
        sh.ids[i] = strdup(clv_prediction_customer_id(ref, i));
        ck_assert_ptr_nonnull(sh.ids[i]);
    }
    clv_prediction_free(ref);

    static worker w[NTHREADS];
    pthread_t th[NTHREADS];
    const double t0 = now();
    sh.deadline = t0 + seconds;
    for (int i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].sh = &sh;
        w[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    long calls = 0, fcalls = 0, bad = 0;
    const char *first = NULL;
    for (int i = 0; i < NTHREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        calls += w[i].model_calls;
        fcalls += w[i].forecast_calls;
        bad += w[i].mismatches + w[i].errors;
        if (!first && w[i].first_problem[0]) first = w[i].first_problem;
    }
    printf("concurrency: %d threads, %.1f s: %ld model predictions, %ld forecaster predictions, %ld problems\n",
           NTHREADS, now() - t0, calls, fcalls, bad);
    ck_assert_msg(bad == 0, "%ld problems; first: %s", bad, first);
    ck_assert_int_ge(fcalls, NTHREADS);

    for (uint64_t i = 0; i < sh.n; i++) free(sh.ids[i]);
    free(sh.ids);
    free(sh.spend);
    free(sh.tx);
    free(sh.pa);
    free(sh.stages);
    clv_forecaster_free(fc);
    clv_txlog_free(log);
    clv_model_free(lstm);
    clv_model_free(gru);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("shared-inference");
    tcase_set_timeout(tc, 3700);
    tcase_add_test(tc, eight_threads_share_models_and_forecaster);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
