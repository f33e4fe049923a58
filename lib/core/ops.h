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

/* softplus(x) = log(1 + e^x), stable for large |x|. */
static inline double clv__softplus(double x)
{
    return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

void clv__vec_sigmoid(float *y, const float *x, size_t n);
void clv__vec_tanh(float *y, const float *x, size_t n);
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
