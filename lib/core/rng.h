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

/* Counter-based bits: splitmix64's output function, a bijective mix of x
 * alone. For random numbers that must not depend on the order in which
 * threads draw them (dropout masks, lib/nn/dropout.c): hash the element's
 * coordinates instead of advancing a shared state. */
static inline uint64_t clv__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
