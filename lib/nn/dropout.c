/* Inverted dropout on the outputs of the recurrent layers (training only).
 *
 * For layer l, step t, sequence row b and unit j of a training pass:
 *   m = 1 with probability 1-p, else 0;   out = h * m / (1-p)
 * and in backward dL/dh = dL/dout * m / (1-p), with the same m. The output
 * feeds the heads (top layer) or the next layer; the recurrent state h_t
 * that the layer's own next step reads is not dropped (Zaremba et al. 2014,
 * "Recurrent neural network regularization").
 *
 * m is not drawn from a generator advanced in order, which would make it
 * depend on how the rows are split over threads: it is a hash of the
 * element's coordinates and of the pass key (the model's seed and pass
 * number). Per row, base = mix(mix(mix(key ^ l) + t) ^ b); per unit,
 * u = mix(base + (j+1) * golden) >> 40, 24 uniform bits (mix is splitmix64's
 * output function, a bijection, so distinct steps of one layer, and distinct
 * rows of one step, get distinct bases). The unit is dropped when
 * u < threshold = round(p * 2^24). Backward recomputes m instead of storing
 * it: one mix per element, cheaper than the memory of a mask. */
#include <math.h>

#include "../core/parallel.h"
#include "../core/rng.h"
#include "model_impl.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL
/* Rows (steps x sequences) below which one thread does the whole pass. */
#define MIN_ROWS_PER_WORKER 256

clv__dropout clv__dropout_make(uint64_t seed, uint64_t pass, double p)
{
    clv__dropout d;
    d.key = clv__mix64(clv__mix64(seed ^ 0xd50b0a7d1e5eedULL) + pass);
    d.threshold = (uint32_t)llround(p * 16777216.0);
    d.scale = (float)(1.0 / (1.0 - p));
    return d;
}

static uint64_t row_base(const clv__dropout *d, uint32_t layer, uint32_t t, uint32_t b)
{
    return clv__mix64(clv__mix64(clv__mix64(d->key ^ layer) + t) ^ b);
}

float clv__dropout_factor(const clv__dropout *d, uint32_t layer, uint32_t t, uint32_t b, uint32_t j)
{
    uint32_t u = (uint32_t)(clv__mix64(row_base(d, layer, t, b) + (uint64_t)(j + 1) * GOLDEN) >> 40);
    return u < d->threshold ? 0.0f : d->scale;
}

typedef struct drop_job {
    const clv__dropout *d;
    uint32_t layer, batch, hid, t_from, rows;
    const float *in;   /* [T][B][H] */
    float *out;        /* [T][B][H], may be `in` */
} drop_job;

/* Rows r = t*B + b of [t_from*B, T*B), split over the workers: each element
 * depends on its coordinates only, so the split does not change the result. */
static void drop_rows(void *ctx, uint32_t part, uint32_t parts)
{
    const drop_job *j = ctx;
    const uint32_t H = j->hid;
    uint32_t r0, r1;
    clv__split_range(j->rows, part, parts, 1, &r0, &r1);
    for (uint32_t r = r0; r < r1; r++) {
        const uint32_t t = j->t_from + r / j->batch, b = r % j->batch;
        const size_t o = ((size_t)t * j->batch + b) * H;
        const uint64_t base = row_base(j->d, j->layer, t, b);
        for (uint32_t k = 0; k < H; k++) {
            uint32_t u = (uint32_t)(clv__mix64(base + (uint64_t)(k + 1) * GOLDEN) >> 40);
            j->out[o + k] = u < j->d->threshold ? 0.0f : j->in[o + k] * j->d->scale;
        }
    }
}

void clv__dropout_apply(const clv__dropout *d, uint32_t layer, uint32_t batch, uint32_t steps,
                        uint32_t hid, uint32_t t_from, const float *in, float *out, uint32_t threads)
{
    if (t_from >= steps) return;
    drop_job j = { .d = d, .layer = layer, .batch = batch, .hid = hid, .t_from = t_from,
                   .rows = (steps - t_from) * batch, .in = in, .out = out };
    uint32_t parts = j.rows / MIN_ROWS_PER_WORKER;
    if (parts > threads) parts = threads;
    clv__parallel_run(parts < 1 ? 1 : parts, drop_rows, &j);
}
