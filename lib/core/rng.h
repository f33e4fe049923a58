/* Seeded pseudo-random numbers (xoshiro256**, seeded through splitmix64).
 * State lives in each handle, never in a global, so the same seed gives the
 * same bits whatever else the process does. */
#ifndef CLV_CORE_RNG_H
#define CLV_CORE_RNG_H

#include <stdint.h>

typedef struct clv__rng {
    uint64_t s[4];
} clv__rng;

void clv__rng_seed(clv__rng *r, uint64_t seed);
uint64_t clv__rng_next(clv__rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable floats). */
float clv__rng_uniform(clv__rng *r);
/* Uniform in [lo, hi). */
float clv__rng_range(clv__rng *r, float lo, float hi);
/* Standard normal (Box-Muller, double internally). */
double clv__rng_normal(clv__rng *r);

#endif
