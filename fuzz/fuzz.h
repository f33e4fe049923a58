/* Shared helpers of the fuzz targets (header-only: each target is one
 * translation unit, built with libFuzzer or with replay.c). */
#ifndef CLV_FUZZ_H
#define CLV_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clv/clv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant broke: say where and what, then abort so that the fuzzer
 * saves the input (and a replay run fails). */
#define FUZZ_FAIL(...)                                             \
    do {                                                           \
        fprintf(stderr, "%s:%d: invariant broken: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                              \
        fputc('\n', stderr);                                       \
        abort();                                                   \
    } while (0)

static inline void fuzz_init(void)
{
    /* One BLAS thread: the targets run many short calls. */
    if (clv_blas_set_num_threads(1) != CLV_OK) FUZZ_FAIL("clv_blas_set_num_threads");
}

/* A directory for temporary files: memory-backed when there is one. */
static inline const char *fuzz_tmpdir(void)
{
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* Allocation accounting through clv_set_allocator (installed once, for the
 * whole process: objects are freed with the allocator that made them). A
 * loader must not allocate more than the input justifies: fuzz_mark() before
 * a load, fuzz_check_growth() after it. */
typedef struct fuzz_counting {
    size_t live, peak;
} fuzz_counting;
static fuzz_counting fuzz_mem;

static void *fuzz_alloc(size_t n, void *u)
{
    (void)u;
    if (n > SIZE_MAX - 16) return NULL;
    size_t *p = (size_t *)malloc(n + 16);
    if (!p) return NULL;
    p[0] = n;
    fuzz_mem.live += n;
    if (fuzz_mem.live > fuzz_mem.peak) fuzz_mem.peak = fuzz_mem.live;
    return (char *)p + 16;
}

static void fuzz_free(void *q, void *u)
{
    (void)u;
    if (!q) return;
    size_t *p = (size_t *)((char *)q - 16);
    fuzz_mem.live -= p[0];
    free(p);
}

static inline void fuzz_install_allocator(void)
{
    clv_allocator a = { sizeof a, fuzz_alloc, fuzz_free, NULL };
    if (clv_set_allocator(&a) != CLV_OK) FUZZ_FAIL("clv_set_allocator");
}

static inline size_t fuzz_mark(void)
{
    fuzz_mem.peak = fuzz_mem.live;
    return fuzz_mem.live;
}

/* A loaded model holds its weights and gradients (2 floats per stored
 * float) plus tables: 4x the input and fixed-size handles are plenty. */
static inline void fuzz_check_growth(size_t mark, size_t input_size, const char *what)
{
    const size_t grew = fuzz_mem.peak - mark, bound = 4 * input_size + ((size_t)256 << 10);
    if (grew > bound) FUZZ_FAIL("%s allocated %zu bytes at its peak for a %zu-byte input (bound %zu)", what, grew, input_size, bound);
}

/* Little-endian helpers and the file checksum (CRC-64/XZ, as the container). */
static inline uint64_t fuzz_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | p[k];
    return v;
}

static inline void fuzz_put_le64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++) p[k] = (uint8_t)(v >> (8 * k));
}

#endif
