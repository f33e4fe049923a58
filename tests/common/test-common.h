/* Shared helpers for the Check suites: a runner and small numeric utilities. */
#ifndef CLV_TEST_COMMON_H
#define CLV_TEST_COMMON_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Run one suite (CK_NORMAL output) and return the process exit code. */
int clv_test_run(Suite *s);

/* Deterministic test data: uniform in [lo, hi) from a tiny LCG (tests must
 * not depend on libclv's own RNG to build their inputs). */
void clv_test_fill(float *x, size_t n, uint32_t seed, float lo, float hi);

/* Relative error |a-b| / max(|a|, |b|, floor). */
double clv_test_relerr(double a, double b, double floor);

#endif
