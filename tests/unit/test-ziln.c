/* The direct ZILN model (lib/eval/ziln.c): the combined loss against central
 * finite differences, the sequences the sliding-cutoff examples keep for it,
 * and its predictions on a simulated log: finite, deterministic, honest (a
 * log cut at the cutoff gives the same bits) and informative. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clv/clv.h>

#include "eval/examples.h"
#include "eval/ziln.h"
#include "test-common.h"

START_TEST(loss_gradient_matches_finite_differences)
{
    enum { M = 6 };
    float out[M * 4], grad[M * 4];
    const float ys[M] = { 0, 1.5f, 0.2f, 0, 7.0f, 0.9f }, yt[M] = { 0, 2, 1, 0, 5, 1 };
    const float ex[M] = { 0.5f, 0.37f, 1, 0.56f, 0.75f, 2 };
    clv_test_fill(out, M * 4, 11, -1.0f, 1.0f);
    double v;
    ck_assert_int_eq(clv__ziln_loss(M, out, ys, yt, ex, &v, grad), CLV_OK);
    ck_assert(isfinite(v));
    for (int i = 0; i < M * 4; i++) {
        const float h = 1e-2f, keep = out[i];
        double vp, vm;
        out[i] = keep + h;
        ck_assert_int_eq(clv__ziln_loss(M, out, ys, yt, ex, &vp, NULL), CLV_OK);
        out[i] = keep - h;
        ck_assert_int_eq(clv__ziln_loss(M, out, ys, yt, ex, &vm, NULL), CLV_OK);
        out[i] = keep;
        const double fd = (vp - vm) / (2.0 * h);
        ck_assert_msg(fabs(fd - grad[i]) <= 2e-3 + 2e-2 * fabs(fd), "d/dout[%d]: analytic %g, numeric %g", i,
                      (double)grad[i], fd);
    }
    /* The Poisson part by hand: one row, z = mu = s = 0, r = log 2, y = 3,
     * exposure 1.5: mean 3, d/dr = 3 - y = 0, value 3 - 3 log 3. */
    float one[4] = { 0, 0, 0, (float)log(2.0) }, g1[4];
    const float s1 = 0, t1 = 3, e1 = 1.5f;
    ck_assert_int_eq(clv__ziln_loss(1, one, &s1, &t1, &e1, &v, g1), CLV_OK);
    ck_assert_double_eq_tol(g1[3], 0.0, 1e-6);
    ck_assert_double_eq_tol(v, log(2.0) + (3.0 - 3.0 * log(3.0)), 1e-6);   /* BCE(0, 0) + Poisson */
    ck_assert_int_eq(clv__ziln_loss(1, one, &s1, &t1, NULL, &v, g1), CLV_OK);   /* exposure 1: 2 - 3 */
    ck_assert_double_eq_tol(g1[3], -1.0, 1e-6);
    ck_assert_int_eq(clv__ziln_loss(0, one, &s1, &t1, NULL, &v, g1), CLV_EINVAL);
}
END_TEST

static clv_txlog *simulated(uint64_t customers, uint64_t seed, const char *cut_after)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = customers;
    so.seed = seed;
    clv_txlog *full, *log;
    ck_assert_int_eq(clv_txlog_new(&full, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(&so, full), CLV_OK);
    if (!cut_after) return full;
    /* Keep rows dated on or before cut_after: rebuild through the CSV writer. */
    char path[] = "/tmp/clv-ziln-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(clv_simulate_to_csv(&so, path), CLV_OK);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *kept = NULL;
    size_t nk = 0;
    FILE *kk = open_memstream(&kept, &nk);
    char line[512];
    int header = 1;
    while (fgets(line, sizeof line, f)) {
        const char *comma = strchr(line, ',');
        if (header || (comma && strncmp(comma + 1, cut_after, 10) <= 0)) fputs(line, kk);
        header = 0;
    }
    fclose(f);
    fclose(kk);
    unlink(path);
    clv_txlog_free(full);
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, kept, nk, "cut", NULL), CLV_OK);
    free(kept);
    return log;
}

/* Every window's rows carry the sequences a pipeline fitted at that window's
 * cutoff gives. */
START_TEST(examples_keep_the_pipeline_sequences)
{
    clv_txlog *log = simulated(300, 5, NULL);
    int32_t C;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &C), CLV_OK);
    clv__examples_options o;
    clv__examples_options_init(&o);
    o.keep_sequences = 1;
    clv__examples *ex;
    ck_assert_int_eq(clv__examples_build(log, C, 273, &o, &ex), CLV_OK);
    ck_assert_ptr_nonnull(ex->seq);
    for (uint32_t k = 0; k < ex->windows; k += ex->windows - 1) {
        clv_pipeline *p;
        clv_dataset *ds;
        ck_assert_int_eq(clv_pipeline_new(&p, &o.pipeline), CLV_OK);
        ck_assert_int_eq(clv_pipeline_fit(p, log, ex->cutoff[k]), CLV_OK);
        ck_assert_int_eq(clv_pipeline_transform(p, log, ex->cutoff[k], ex->window_end[k], &ds), CLV_OK);
        const uint64_t n = clv_dataset_customers(ds), r0 = ex->row_start[k];
        ck_assert_uint_eq(n, ex->row_start[k + 1] - r0);
        ck_assert_uint_eq(clv_dataset_steps(ds), ex->steps);
        const size_t per = (size_t)ex->steps * ex->seq_features;
        ck_assert_int_eq(memcmp(clv_dataset_sequences(ds), ex->seq + r0 * per, n * per * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(clv_dataset_lengths(ds), ex->len + r0, n * sizeof(int32_t)), 0);
        clv_dataset_free(ds);
        clv_pipeline_free(p);
    }
    clv__examples_free(ex);
    o.keep_sequences = 0;
    ck_assert_int_eq(clv__examples_build(log, C, 273, &o, &ex), CLV_OK);
    ck_assert_ptr_null(ex->seq);
    clv__examples_free(ex);
    clv_txlog_free(log);
}
END_TEST

START_TEST(predictions_on_a_simulated_log)
{
    int32_t C, E;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &C), CLV_OK);
    ck_assert_int_eq(clv_date_parse("1998-06-30", &E), CLV_OK);
    const uint32_t H = (uint32_t)(E - C);
    clv_txlog *full = simulated(1500, 3, NULL), *cut = simulated(1500, 3, "1997-09-30");
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    clv_pipeline *p;
    clv_dataset *ds;
    ck_assert_int_eq(clv_pipeline_new(&p, &po), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(p, full, C), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(p, full, C, E, &ds), CLV_OK);
    const uint64_t n = clv_dataset_customers(ds);
    ck_assert_uint_gt(n, 1000);

    clv__ziln_options o;
    clv__ziln_options_init(&o);
    ck_assert_uint_eq(o.ensemble, 3);
    o.max_epochs = 8;
    o.ensemble = 2;
    /* Runs: 0 the ensemble of 2; 1 its first member on the log cut at C and
     * 2 on the whole log (same bits: nothing after C is read, and training
     * is deterministic); 3 its second member. */
    float *sp[4], *tx[4], *pa[4];
    clv__ziln_report rep;
    for (int run = 0; run < 4; run++) {
        sp[run] = malloc(n * sizeof(float));
        tx[run] = malloc(n * sizeof(float));
        pa[run] = malloc(n * sizeof(float));
        clv__ziln_options ro = o;
        if (run >= 1) {
            ro.ensemble = 1;
            ro.seed = o.seed + (run == 3);
        }
        ck_assert_int_eq(clv__ziln_predict(run == 1 ? cut : full, C, H, &ro, n, sp[run], tx[run], pa[run],
                                           run == 0 ? &rep : NULL), CLV_OK);
    }
    ck_assert_uint_ge(rep.best_epoch, 1);
    ck_assert_uint_le(rep.best_epoch, rep.epochs_run);
    ck_assert(isfinite(rep.best_valid_loss));
    ck_assert_uint_gt(rep.valid_rows, 0);
    ck_assert_int_eq(memcmp(sp[1], sp[2], n * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(tx[1], tx[2], n * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(pa[1], pa[2], n * sizeof(float)), 0);
    /* The ensemble is the average of its members. */
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_float_eq_tol(sp[0][i], 0.5f * sp[2][i] + 0.5f * sp[3][i], 1e-5f * (sp[0][i] + 1));
        ck_assert_float_eq_tol(tx[0][i], 0.5f * tx[2][i] + 0.5f * tx[3][i], 1e-5f * (tx[0][i] + 1));
        ck_assert_float_eq_tol(pa[0][i], 0.5f * pa[2][i] + 0.5f * pa[3][i], 1e-6f);
    }
    double ptx = 0, atx = 0;
    for (uint64_t i = 0; i < n; i++) {
        ck_assert(isfinite(sp[0][i]) && sp[0][i] >= 0);
        ck_assert(isfinite(tx[0][i]) && tx[0][i] >= 0);
        ck_assert(pa[0][i] >= 0 && pa[0][i] <= 1);
        ptx += tx[0][i];
        atx += clv_dataset_target_transactions(ds)[i];
    }
    /* Informative: ranks the holdout buyers well above chance and gets the
     * total within a loose band. */
    double auc, gini;
    ck_assert_int_eq(clv_metric_auc(n, pa[0], clv_dataset_target_active(ds), &auc), CLV_OK);
    ck_assert_int_eq(clv_metric_gini_norm(n, sp[0], clv_dataset_target_spend(ds), &gini), CLV_OK);
    ck_assert_msg(auc > 0.7, "AUC %g", auc);
    ck_assert_msg(gini > 0.4, "normalised Gini %g", gini);
    ck_assert_msg(ptx > 0.5 * atx && ptx < 2.0 * atx, "predicted %g transactions, actual %g", ptx, atx);
    for (int run = 0; run < 4; run++) free(sp[run]), free(tx[run]), free(pa[run]);
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(full);
    clv_txlog_free(cut);
}
END_TEST

int main(void)
{
    /* One BLAS thread, as the clv tool runs: OpenBLAS's pool spinning
     * against the other core's jobs made this test 4x slower. */
    if (clv_blas_set_num_threads(1) != CLV_OK) return 1;
    Suite *s = suite_create("ziln");
    TCase *tc = tcase_create("ziln");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, loss_gradient_matches_finite_differences);
    tcase_add_test(tc, examples_keep_the_pipeline_sequences);
    tcase_add_test(tc, predictions_on_a_simulated_log);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
