/* Shared helpers for the Check suites: a runner and small numeric utilities. */
#ifndef CLV_TEST_COMMON_H
#define CLV_TEST_COMMON_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include <clv/clv.h>

/* Run one suite (CK_NORMAL output) and return the process exit code. */
int clv_test_run(Suite *s);

/* Deterministic test data: uniform in [lo, hi) from a tiny LCG (tests must
 * not depend on libclv's own RNG to build their inputs). */
void clv_test_fill(float *x, size_t n, uint32_t seed, float lo, float hi);

/* Relative error |a-b| / max(|a|, |b|, floor). */
double clv_test_relerr(double a, double b, double floor);

/* Day number of a YYYY-MM-DD date (fails the test on a bad one). */
int32_t clv_test_day(const char *date);

/* A transaction log simulated with `so` (clv_simulate_to_txlog). Free with
 * clv_txlog_free(). */
clv_txlog *clv_test_sim_log(const clv_sim_options *so);

/* The simulator's strongly seasonal setting (weekly amplitude 0.6, yearly
 * 0.9: `clv demo --scenario seasonal`), seed 1. Calibrated to 1997-06-30,
 * its Pareto/NBD maximum likelihood runs off to a common dropout rate
 * (docs/baselines.md). Free with clv_txlog_free(). */
clv_txlog *clv_test_seasonal_log(uint64_t customers);

#endif
