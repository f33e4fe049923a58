#include <math.h>
#include <stdlib.h>

#include "test-common.h"

int clv_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void clv_test_fill(float *x, size_t n, uint32_t seed, float lo, float hi)
{
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = lo + (hi - lo) * (float)(s >> 8) * (1.0f / 16777216.0f);
    }
}

double clv_test_relerr(double a, double b, double floor)
{
    double d = fabs(a - b);
    double m = fmax(fmax(fabs(a), fabs(b)), floor);
    return d / m;
}

int32_t clv_test_day(const char *date)
{
    int32_t d;
    ck_assert_int_eq(clv_date_parse(date, &d), CLV_OK);
    return d;
}

clv_txlog *clv_test_sim_log(const clv_sim_options *so)
{
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(so, log), CLV_OK);
    return log;
}

clv_txlog *clv_test_seasonal_log(uint64_t customers)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = customers;
    so.seed = 1;
    so.weekly_amplitude = 0.6;
    so.yearly_amplitude = 0.9;
    return clv_test_sim_log(&so);
}
