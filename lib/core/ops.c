#include "../clv_internal.h"
#include "ops.h"

void clv__vec_sigmoid(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = clv__sigmoidf(x[i]);
}

void clv__vec_tanh(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = clv__tanhf(x[i]);
}

void clv__vec_dsigmoid(float *dx, const float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

void clv__vec_dtanh(float *dx, const float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void clv__vec_add(float *y, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void clv__vec_mul(float *y, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}

void clv__vec_axpy(float *y, float alpha, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

void clv__vec_scale(float *y, float alpha, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] *= alpha;
}

void clv__vec_zero(float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = 0.0f;
}

double clv__vec_sum(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

double clv__vec_dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

double clv__vec_sumsq(const float *x, size_t n)
{
    return clv__vec_dot(x, x, n);
}

void clv__rows_add_bias(float *y, size_t ld, const float *bias, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * ld;
        for (size_t c = 0; c < cols; c++) row[c] += bias[c];
    }
}

void clv__rows_sum_into(float *acc, const float *x, size_t ld, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * ld;
        for (size_t c = 0; c < cols; c++) acc[c] += row[c];
    }
}

int clv__all_finite(const float *x, size_t n, size_t *bad)
{
    /* x - x is 0 for finite x and NaN for Inf or NaN, and a sum keeps the
     * NaN: 16 independent sums vectorise, where isfinite() with an early
     * exit does not (input validation was 5% of a batch prediction). Only
     * when something is not finite does the second loop find the first. */
    float acc[16] = { 0 };
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += x[i + k] - x[i + k];
    int ok = 1;
    for (int k = 0; k < 16; k++) ok &= acc[k] == 0.0f;
    for (; i < n; i++) ok &= isfinite(x[i]) != 0;
    if (ok) return 1;
    for (i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            if (bad) *bad = i;
            return 0;
        }
    return 1;
}
