/* Fork-join over a few threads for one call: libclv's own threading
 * (clv_model_set_num_threads). Threads are started inside the call and
 * joined before it returns, so none outlives a public call; part 0 runs on
 * the calling thread. The policy (why the batch is split this way and BLAS
 * stays at 1 thread) is in docs/threading.md. */
#ifndef CLV_CORE_PARALLEL_H
#define CLV_CORE_PARALLEL_H

#include <stdint.h>

#define CLV__MAX_WORKERS 64

/* fn(ctx, part, parts) for part = 0..parts-1, concurrently. When a thread
 * cannot be started its part runs on the calling thread afterwards: the
 * result is the same, only slower. */
void clv__parallel_run(uint32_t parts, void (*fn)(void *ctx, uint32_t part, uint32_t parts),
                       void *ctx);

/* [*lo, *hi) of `n` items for `part` of `parts`, in contiguous blocks whose
 * sizes differ by at most `align` (blocks start at multiples of `align`). */
void clv__split_range(uint32_t n, uint32_t part, uint32_t parts, uint32_t align, uint32_t *lo,
                      uint32_t *hi);

#endif
