/* Dense float32 tensors (rank <= 4) with explicit shapes and strides, plus the
 * bump arena that gives training and inference their scratch memory without a
 * malloc per time step. */
#ifndef CLV_CORE_TENSOR_H
#define CLV_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define CLV__MAX_RANK 4

typedef struct clv__tensor {
    float *data;                      /* borrowed unless the owner says otherwise */
    uint32_t rank;
    uint32_t shape[CLV__MAX_RANK];
    size_t stride[CLV__MAX_RANK];     /* in floats; the last dimension is contiguous */
} clv__tensor;

/* Contiguous row-major views over existing memory. */
clv__tensor clv__tensor_1d(float *data, uint32_t n);
clv__tensor clv__tensor_2d(float *data, uint32_t rows, uint32_t cols);
clv__tensor clv__tensor_3d(float *data, uint32_t d0, uint32_t d1, uint32_t d2);
/* Number of elements; 0 on overflow of size_t. */
size_t clv__tensor_numel(const clv__tensor *t);
/* Row `i` of a rank-2 tensor, or the (d0 = i) slice of a rank-3 tensor as rank 2. */
clv__tensor clv__tensor_slice(const clv__tensor *t, uint32_t i);
/* Pointer to element (i, j) of a rank-2 tensor. */
static inline float *clv__at2(const clv__tensor *t, uint32_t i, uint32_t j)
{
    return t->data + (size_t)i * t->stride[0] + (size_t)j * t->stride[1];
}

/* Arena: one aligned block carved into tensors. Two passes: with base == NULL
 * clv__arena_take() only measures; clv__arena_reserve() then allocates the
 * measured size once, and a second layout pass hands out real pointers. */
typedef struct clv__arena {
    char *base;
    size_t cap;    /* bytes allocated */
    size_t used;   /* bytes handed out (or measured) */
} clv__arena;

void clv__arena_init(clv__arena *a);
/* Ensure capacity >= bytes (old contents are not kept). CLV_OK or CLV_ENOMEM. */
int clv__arena_reserve(clv__arena *a, size_t bytes);
void clv__arena_rewind(clv__arena *a);
void clv__arena_free(clv__arena *a);
/* n floats, 64-byte aligned; NULL while measuring (base == NULL). Sets *overflow on size overflow. */
float *clv__arena_take(clv__arena *a, size_t n, int *overflow);

#endif
