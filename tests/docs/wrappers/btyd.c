/* docs/baselines.md: the per-customer summaries x, t_x, T (in weeks) and m_x
 * of a synthetic CDNOW-like log, as the feature pipeline gives them. */
#include <clv/clv.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 2000;
    clv_txlog *log = NULL;
    clv_pipeline *pl = NULL;
    clv_dataset *ds = NULL;
    int32_t cutoff;
    if (clv_txlog_new(&log, NULL) != CLV_OK || clv_simulate_to_txlog(&so, log) != CLV_OK
        || clv_date_parse("1997-09-30", &cutoff) != CLV_OK
        || clv_pipeline_new(&pl, NULL) != CLV_OK || clv_pipeline_fit(pl, log, cutoff) != CLV_OK
        || clv_pipeline_transform(pl, log, cutoff, cutoff, &ds) != CLV_OK) {
        fprintf(stderr, "%s\n", clv_last_error());
        return 1;
    }
    uint64_t n = clv_dataset_customers(ds);
    const float *x = clv_dataset_frequency(ds), *m_x = clv_dataset_monetary_repeat(ds);
    float *t_x = malloc(n * sizeof *t_x), *T = malloc(n * sizeof *T);
    float *tx = malloc(n * sizeof *tx), *p_alive = malloc(n * sizeof *p_alive);
    float *value = malloc(n * sizeof *value), *spend = malloc(n * sizeof *spend);
    if (!t_x || !T || !tx || !p_alive || !value || !spend)
        return 1;
    for (uint64_t i = 0; i < n; i++) {
        t_x[i] = clv_dataset_recency_days(ds)[i] / 7.0f;
        T[i] = clv_dataset_age_days(ds)[i] / 7.0f;
    }

    /* @SAMPLE@ */

    double total = 0;
    for (uint64_t i = 0; i < n; i++)
        total += spend[i];
    printf("%llu customers, BG/NBD r=%.3f alpha=%.3f a=%.3f b=%.3f, expected spend %.0f\n",
           (unsigned long long)n, bg[0], bg[1], bg[2], bg[3], total);
    free(t_x); free(T); free(tx); free(p_alive); free(value); free(spend);
    clv_dataset_free(ds);
    clv_pipeline_free(pl);
    clv_txlog_free(log);
    return total > 0 ? 0 : 1;
}
