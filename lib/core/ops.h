/* Elementwise kernels and reductions on contiguous float arrays. Written as
 * plain loops the compiler vectorises; accumulations that decide a loss or a
 * norm run in double so that results do not depend on array length quirks. */
#ifndef CLV_CORE_OPS_H
#define CLV_CORE_OPS_H

#include <math.h>
#include <stddef.h>

static inline float clv__sigmoidf(float x)
{
    /* Branch keeps exp's argument non-positive: no overflow for large |x|. */
    if (x >= 0.0f) {
        float e = expf(-x);
        return 1.0f / (1.0f + e);
    }
    float e = expf(x);
    return e / (1.0f + e);
}

/* tanh without libm's tanhf, which goes through expm1f and was 60% of a
 * roll-out's time. Near 0 an odd polynomial (coefficients least-squares
 * fitted to tanh on [0, 0.625] for relative error, max 1.3e-8 in double);
 * elsewhere 1 - 2/(e^{2|x|} + 1), which has no cancellation there and
 * saturates to +-1 when expf overflows. NaN stays NaN. */
static inline float clv__tanhf(float x)
{
    float a = fabsf(x);
    if (a < 0.625f) {
        float z = x * x;
        float p = (((-5.7980998e-3f * z + 2.0720281e-2f) * z - 5.3763801e-2f) * z + 1.3331719e-1f) * z -
                  3.3333292e-1f;
        return x + x * z * p;
    }
    float r = 1.0f - 2.0f / (expf(2.0f * a) + 1.0f);
    return copysignf(r, x);
}

/* softplus(x) = log(1 + e^x), stable for large |x|. */
static inline double clv__softplus(double x)
{
    return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

void clv__vec_sigmoid(float *y, const float *x, size_t n);
void clv__vec_tanh(float *y, const float *x, size_t n);   /* clv__tanhf */
/* dx = dy * y * (1 - y), with y = sigmoid(x) already computed. */
void clv__vec_dsigmoid(float *dx, const float *dy, const float *y, size_t n);
/* dx = dy * (1 - y^2), with y = tanh(x) already computed. */
void clv__vec_dtanh(float *dx, const float *dy, const float *y, size_t n);
void clv__vec_add(float *y, const float *a, const float *b, size_t n);
void clv__vec_mul(float *y, const float *a, const float *b, size_t n);
/* y += alpha * x */
void clv__vec_axpy(float *y, float alpha, const float *x, size_t n);
void clv__vec_scale(float *y, float alpha, size_t n);
void clv__vec_zero(float *y, size_t n);
double clv__vec_sum(const float *x, size_t n);
double clv__vec_dot(const float *a, const float *b, size_t n);
double clv__vec_sumsq(const float *x, size_t n);
/* Each of `rows` rows of y[rows][cols] (row stride ld) += bias[cols]. */
void clv__rows_add_bias(float *y, size_t ld, const float *bias, size_t rows, size_t cols);
/* acc[cols] += sum over rows of x[rows][cols] (row stride ld): bias gradients. */
void clv__rows_sum_into(float *acc, const float *x, size_t ld, size_t rows, size_t cols);

#endif
