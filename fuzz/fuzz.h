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
