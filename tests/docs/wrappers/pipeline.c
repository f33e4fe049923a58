/* docs/pipeline.md: from orders.csv to a dataset. The wrapper writes a
 * synthetic orders.csv first. */
#include <clv/clv.h>
#include <stdio.h>

int main(void)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 500;
    if (clv_simulate_to_csv(&so, "orders.csv") != CLV_OK)
        return 1;

    /* @SAMPLE@ */

    int ok = ds != NULL && clv_dataset_customers(ds) > 0;
    if (ok)
        printf("%llu customers, T = %u, F = %u, S = %u\n",
               (unsigned long long)clv_dataset_customers(ds), clv_dataset_steps(ds),
               clv_dataset_seq_features(ds), clv_dataset_static_features(ds));
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(log);
    return ok ? 0 : 1;
}
