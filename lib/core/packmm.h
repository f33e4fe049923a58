/* Products with a weight matrix packed once and reused for many row blocks:
 * the per-step products of a recurrent layer.
 *
 * OpenBLAS re-packs the weights on every call, zeroes C before a beta = 0
 * product, and makes the caller run the gate math over the whole output
 * after the product wrote it. Here the weights are packed once per forward
 * pass, a product may have two sources (x_t and h_{t-1} against W_ih and
 * W_hh: no concatenated copy), and the caller can run the gate math on a
 * block of rows right after the product of that block, while it is in
 * cache (docs/performance.md).
 *
 * The kernel is AVX-512 (checked at run time); clv__packmm_fast() says
 * whether it runs. Elsewhere the same functions run portable loops, correct
 * but slow: callers take their BLAS path instead when it returns 0. Every
 * output element is summed in the same order (C, then source 1 over k, then
 * source 2 over k) whatever the row count of the call, so a row's result
 * does not depend on the batch it came in. */
#ifndef CLV_CORE_PACKMM_H
#define CLV_CORE_PACKMM_H

#include <stddef.h>
#include <stdint.h>

/* 1 when the AVX-512 kernel runs on this CPU. */
int clv__packmm_fast(void);

/* Floats clv__packmm_pack() writes for an n x k weight matrix. */
size_t clv__packmm_size(uint32_t n, uint32_t k);

/* Packs W (row-major [n][k], row stride ldw: the model's [out][in] layout)
 * for use as the right operand W^T of clv__packmm(). */
void clv__packmm_pack(float *dst, const float *w, uint32_t n, uint32_t k, size_t ldw);
/* The same for a W given transposed: w is row-major [k][n] (row stride
 * ldw), e.g. W_hh for the product dA W_hh of backpropagation. */
void clv__packmm_pack_t(float *dst, const float *w, uint32_t n, uint32_t k, size_t ldw);

/* C[m][n] = (accumulate ? C : 0) + A1[m][k1] W1^T + A2[m][k2] W2^T, with W1
 * and W2 packed by clv__packmm_pack() for the same n. k1 or k2 may be 0 (its
 * A and packed W are then unused). Row strides lda1, lda2, ldc. */
void clv__packmm(uint32_t m, uint32_t n, const float *a1, size_t lda1, uint32_t k1,
                 const float *w1, const float *a2, size_t lda2, uint32_t k2, const float *w2,
                 int accumulate, float *c, size_t ldc);

/* The portable loops clv__packmm() falls back to, callable on any CPU so
 * that the tests hold both to the same reference. */
void clv__packmm_portable(uint32_t m, uint32_t n, const float *a1, size_t lda1, uint32_t k1,
                          const float *w1, const float *a2, size_t lda2, uint32_t k2,
                          const float *w2, int accumulate, float *c, size_t ldc);

#endif
