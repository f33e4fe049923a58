#include <pthread.h>

#include "parallel.h"

typedef struct job {
    void (*fn)(void *ctx, uint32_t part, uint32_t parts);
    void *ctx;
    uint32_t part, parts;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    j->fn(j->ctx, j->part, j->parts);
    return NULL;
}

void clv__parallel_run(uint32_t parts, void (*fn)(void *ctx, uint32_t part, uint32_t parts),
                       void *ctx)
{
    if (parts <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    if (parts > CLV__MAX_WORKERS) parts = CLV__MAX_WORKERS;
    job jobs[CLV__MAX_WORKERS];
    pthread_t tid[CLV__MAX_WORKERS];
    int started[CLV__MAX_WORKERS];
    for (uint32_t p = 1; p < parts; p++) {
        jobs[p] = (job){ fn, ctx, p, parts };
        started[p] = pthread_create(&tid[p], NULL, run_job, &jobs[p]) == 0;
    }
    fn(ctx, 0, parts);
    for (uint32_t p = 1; p < parts; p++) {
        if (started[p]) pthread_join(tid[p], NULL);
        else fn(ctx, p, parts);
    }
}

void clv__split_range(uint32_t n, uint32_t part, uint32_t parts, uint32_t align, uint32_t *lo,
                      uint32_t *hi)
{
    if (align == 0) align = 1;
    uint32_t blocks = (n + align - 1) / align;
    uint32_t b0 = (uint32_t)((uint64_t)blocks * part / parts);
    uint32_t b1 = (uint32_t)((uint64_t)blocks * (part + 1) / parts);
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}
