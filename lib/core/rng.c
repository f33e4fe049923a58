#include <math.h>

#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void clv__rng_seed(clv__rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t clv__rng_next(clv__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float clv__rng_uniform(clv__rng *r)
{
    return (float)(clv__rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

float clv__rng_range(clv__rng *r, float lo, float hi)
{
    /* In float, lo + (hi - lo) * u can round up to hi for u just below 1;
     * the interval is half-open, so step back to the float below hi. */
    float v = (float)((double)lo + ((double)hi - (double)lo) * clv__rng_uniform(r));
    return v < hi ? v : nextafterf(hi, lo);
}

double clv__rng_normal(clv__rng *r)
{
    /* u1 in (0, 1] so the log is finite. */
    double u1 = ((double)(clv__rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(clv__rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
