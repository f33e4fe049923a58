/* The only door to BLAS in libclv: every matrix product in the library goes
 * through these functions (lib/core/blas.c is the only file that includes
 * <cblas.h>). Row-major throughout. */
#ifndef CLV_CORE_BLAS_H
#define CLV_CORE_BLAS_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

/* C[M][N] = alpha * op(A) * op(B) + beta * C, op(A) is M x K, op(B) is K x N. */
void clv__gemm(int trans_a, int trans_b, uint32_t m, uint32_t n, uint32_t k, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta,
               float *c, size_t ldc);
/* Tensor form with shape checks; returns CLV_OK or CLV_ESHAPE. */
int clv__gemm_t(int trans_a, int trans_b, float alpha, const clv__tensor *a,
                const clv__tensor *b, float beta, clv__tensor *c);
/* y = alpha * op(A) x + beta * y, A is M x N row-major; op = A (x[N], y[M])
 * or A^T (x[M], y[N]). */
void clv__gemv(int trans_a, uint32_t m, uint32_t n, float alpha, const float *a, size_t lda,
               const float *x, float beta, float *y);
/* Naive triple loop in double accumulation: the oracle the tests hold BLAS to. */
void clv__gemm_ref(int trans_a, int trans_b, uint32_t m, uint32_t n, uint32_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta,
                   float *c, size_t ldc);

#endif
