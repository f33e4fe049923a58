/* Matrix-vector products for tiny batches, without BLAS. At batch 1 an
 * LSTM step is two GEMVs (W_ih x_t and W_hh h) of a few thousand
 * multiply-adds each; through cblas_sgemm each costs a call, argument
 * checks and packing, which dominated B=1 latency (docs/performance.md). */
#ifndef CLV_CORE_SMALLMAT_H
#define CLV_CORE_SMALLMAT_H

#include <stddef.h>
#include <stdint.h>

/* y[n] = W1[n][0..k1) . v1 + W2[n][0..k2) . v2 for n in [0, rows)
 * (accumulate: y[n] += the same);
 * W1, W2 row-major with row strides k1, k2 (PyTorch's [out][in] layout, as
 * stored in the model: no transposed copy is needed). W2/v2 may be NULL
 * when k2 == 0. An AVX-512 kernel runs when the CPU has it (checked at run
 * time), else a portable loop; both sum in a fixed order, so results are
 * deterministic for a given CPU.
 *
 * backwards: visit the rows last to first. Every row's sum is the same
 * either way; a caller streaming a matrix larger than L1 once per step
 * alternates the direction, so each pass starts on the rows the previous
 * one left in L1 instead of on those it evicted first. */
void clv__gemv2(float *y, uint32_t rows, const float *w1, uint32_t k1, const float *v1,
                const float *w2, uint32_t k2, const float *v2, int accumulate, int backwards);

#endif
