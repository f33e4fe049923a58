#include <string.h>

#include "../clv_internal.h"
#include "tensor.h"

clv__tensor clv__tensor_1d(float *data, uint32_t n)
{
    clv__tensor t = { data, 1, { n, 0, 0, 0 }, { 1, 0, 0, 0 } };
    return t;
}

clv__tensor clv__tensor_2d(float *data, uint32_t rows, uint32_t cols)
{
    clv__tensor t = { data, 2, { rows, cols, 0, 0 }, { cols, 1, 0, 0 } };
    return t;
}

clv__tensor clv__tensor_3d(float *data, uint32_t d0, uint32_t d1, uint32_t d2)
{
    clv__tensor t = { data, 3, { d0, d1, d2, 0 }, { (size_t)d1 * d2, d2, 1, 0 } };
    return t;
}

size_t clv__tensor_numel(const clv__tensor *t)
{
    size_t n = 1;
    for (uint32_t i = 0; i < t->rank; i++)
        if (clv__mul_size(n, t->shape[i], &n) != 0) return 0;
    return n;
}

clv__tensor clv__tensor_slice(const clv__tensor *t, uint32_t i)
{
    clv__tensor s;
    memset(&s, 0, sizeof s);
    s.data = t->data + (size_t)i * t->stride[0];
    s.rank = t->rank - 1;
    for (uint32_t d = 1; d < t->rank; d++) {
        s.shape[d - 1] = t->shape[d];
        s.stride[d - 1] = t->stride[d];
    }
    return s;
}

#define ARENA_ALIGN 64u

void clv__arena_init(clv__arena *a) { memset(a, 0, sizeof *a); }

int clv__arena_reserve(clv__arena *a, size_t bytes)
{
    a->used = 0;
    if (bytes <= a->cap && a->base) return CLV_OK;
    clv__free(a->base);
    a->base = NULL;
    a->cap = 0;
    /* Over-allocate so the first take can be aligned whatever malloc returns. */
    if (bytes > SIZE_MAX - ARENA_ALIGN) return clv__oom();
    a->base = clv__malloc(bytes + ARENA_ALIGN);
    if (!a->base) return clv__oom();
    a->cap = bytes;
    return CLV_OK;
}

void clv__arena_rewind(clv__arena *a) { a->used = 0; }

void clv__arena_free(clv__arena *a)
{
    clv__free(a->base);
    clv__arena_init(a);
}

float *clv__arena_take(clv__arena *a, size_t n, int *overflow)
{
    size_t bytes;
    if (clv__mul_size(n, sizeof(float), &bytes) != 0 || bytes > SIZE_MAX - 2 * ARENA_ALIGN - a->used) {
        *overflow = 1;
        return NULL;
    }
    bytes = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    size_t at = a->used;
    a->used += bytes;
    if (!a->base) return NULL;
    if (a->used > a->cap) {
        /* A layout that asks for more than its measure pass counted is a bug;
         * refuse rather than hand out memory past the block. */
        *overflow = 1;
        return NULL;
    }
    uintptr_t start = ((uintptr_t)a->base + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
    return (float *)(start + at);
}
