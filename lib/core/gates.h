/* Fused, vectorised LSTM gate math over a block of batch rows: the
 * elementwise half of a recurrent step (the other half is one GEMM).
 *
 * Rows b in [b0, b1) of one time step t; a row whose sequence has ended
 * (t >= len[b]) is frozen. Pre-activation rows a[b] are 4*hid wide, gate
 * order [i, f, g, o], row stride lda; h and c rows are hid wide.
 *
 * The transcendental functions are branch-free polynomial approximations
 * (a Cephes-style expf, max relative error a few ulp; clv__tanhf's
 * polynomial near 0), so the loops vectorise. On x86-64 (GCC, Clang) each
 * kernel is also built for AVX-512 and for AVX2+FMA and picked per call
 * from the running CPU; elsewhere, or on older CPUs, the portable build
 * runs. */
#ifndef CLV_CORE_GATES_H
#define CLV_CORE_GATES_H

#include <stddef.h>
#include <stdint.h>

/* a += bias; i,f,o = sigmoid, g = tanh, stored back into a;
 * c = f*c_prev + i*g; h = o*tanh(c). Frozen rows: h = h_prev, c = c_prev
 * (a is left as it is). */
void clv__lstm_cell_forward(float *a, size_t lda, const float *bias, const float *h_prev,
                            const float *c_prev, float *h, float *c, uint32_t hid, uint32_t b0,
                            uint32_t b1, const int32_t *len, uint32_t t);

/* a holds the activations of the forward step; dh, dc enter as the gradient
 * w.r.t. h_t and c_t. Active rows: a becomes the pre-activation gradient,
 * dc the gradient w.r.t. c_{t-1}, dh is zeroed (the caller's GEMM refills
 * it). Frozen rows: a is zeroed, dh and dc pass through. */
void clv__lstm_cell_backward(float *a, size_t lda, const float *c_prev, const float *c,
                             float *dh, float *dc, uint32_t hid, uint32_t b0, uint32_t b1,
                             const int32_t *len, uint32_t t);

/* Vectorised sigmoid / tanh on n floats (the same approximations), for
 * tests and the other cells. */
void clv__vec_sigmoid_fast(float *y, const float *x, size_t n);
void clv__vec_tanh_fast(float *y, const float *x, size_t n);

#endif
