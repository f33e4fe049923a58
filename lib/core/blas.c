#include <cblas.h>

#include "../clv_internal.h"
#include "blas.h"

void clv__gemm(int trans_a, int trans_b, uint32_t m, uint32_t n, uint32_t k, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta,
               float *c, size_t ldc)
{
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, alpha,
                a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

int clv__gemm_t(int trans_a, int trans_b, float alpha, const clv__tensor *a,
                const clv__tensor *b, float beta, clv__tensor *c)
{
    if (a->rank != 2 || b->rank != 2 || c->rank != 2 || a->stride[1] != 1 ||
        b->stride[1] != 1 || c->stride[1] != 1)
        return clv__error(CLV_ESHAPE, "gemm: operands must be rank-2 with contiguous rows");
    uint32_t m = trans_a ? a->shape[1] : a->shape[0];
    uint32_t k = trans_a ? a->shape[0] : a->shape[1];
    uint32_t kb = trans_b ? b->shape[1] : b->shape[0];
    uint32_t n = trans_b ? b->shape[0] : b->shape[1];
    if (k != kb || c->shape[0] != m || c->shape[1] != n)
        return clv__error(CLV_ESHAPE, "gemm: (%ux%u)(%ux%u) does not give %ux%u", m, k, kb, n,
                          c->shape[0], c->shape[1]);
    clv__gemm(trans_a, trans_b, m, n, k, alpha, a->data, a->stride[0], b->data, b->stride[0],
              beta, c->data, c->stride[0]);
    return CLV_OK;
}

void clv__gemv(int trans_a, uint32_t m, uint32_t n, float alpha, const float *a, size_t lda,
               const float *x, float beta, float *y)
{
    if (m == 0 || n == 0) return;
    cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
                alpha, a, (blasint)lda, x, 1, beta, y, 1);
}

void clv__gemm_ref(int trans_a, int trans_b, uint32_t m, uint32_t n, uint32_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta,
                   float *c, size_t ldc)
{
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t j = 0; j < n; j++) {
            double s = 0.0;
            for (uint32_t p = 0; p < k; p++) {
                float av = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                float bv = trans_b ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += (double)av * bv;
            }
            float *cij = &c[(size_t)i * ldc + j];
            *cij = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *cij));
        }
}

CLV_API int clv_blas_set_num_threads(int32_t n)
{
    CLV__CHECK_ARG(n >= 1, "clv_blas_set_num_threads: n = %d, expected >= 1", (int)n);
    openblas_set_num_threads(n);
    return CLV_OK;
}

CLV_API int32_t clv_blas_num_threads(void) { return openblas_get_num_threads(); }
