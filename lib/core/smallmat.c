#include "smallmat.h"

static void gemv2_portable(float *y, uint32_t rows, const float *w1, uint32_t k1,
                           const float *v1, const float *w2, uint32_t k2, const float *v2,
                           int accumulate)
{
    for (uint32_t n = 0; n < rows; n++) {
        const float *r1 = w1 + (size_t)n * k1;
        float s = 0.0f;
        for (uint32_t k = 0; k < k1; k++) s += r1[k] * v1[k];
        if (k2) {
            const float *r2 = w2 + (size_t)n * k2;
            for (uint32_t k = 0; k < k2; k++) s += r2[k] * v2[k];
        }
        y[n] = accumulate ? y[n] + s : s;
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_AVX512_KERNEL 1
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* acc[i] += W[n0+i][0..k) . v for 16 rows: the chunk of v is loaded once
 * and the 16 accumulators are independent chains (a single row's chain of
 * dependent FMAs was latency-bound); the tail uses masked loads. */
AVX512 static inline void dot16(__m512 *acc, const float *w, size_t ldw, const float *v, uint32_t k)
{
    uint32_t c = 0;
    for (; c + 16 <= k; c += 16) {
        __m512 vc = _mm512_loadu_ps(v + c);
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(w + (size_t)i * ldw + c), vc, acc[i]);
    }
    if (c < k) {
        __mmask16 m = (__mmask16)((1u << (k - c)) - 1u);
        __m512 vc = _mm512_maskz_loadu_ps(m, v + c);
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            acc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + (size_t)i * ldw + c), vc, acc[i]);
    }
}

/* r[i] = horizontal sum of a[i], for 16 vectors at once: pairwise
 * interleave-and-add inside 128-bit lanes, then across lanes (45 shuffles
 * and adds instead of 16 separate reductions). */
AVX512 static inline __m512 reduce16(const __m512 *a)
{
    __m512 u[8], v[4];
    for (int i = 0; i < 8; i++)
        u[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]),
                             _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d x = _mm512_castps_pd(u[2 * i]), y = _mm512_castps_pd(u[2 * i + 1]);
        v[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    /* v[i] lane L holds rows 4i..4i+3's partial sums from lane L. */
    __m512 w0 = _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], 0x88), _mm512_shuffle_f32x4(v[0], v[1], 0xDD));
    __m512 w1 = _mm512_add_ps(_mm512_shuffle_f32x4(v[2], v[3], 0x88), _mm512_shuffle_f32x4(v[2], v[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0xDD));
}

AVX512 static void gemv2_avx512(float *y, uint32_t rows, const float *w1, uint32_t k1,
                                const float *v1, const float *w2, uint32_t k2, const float *v2,
                                int accumulate, int backwards)
{
    const uint32_t blocks = rows / 16;
    for (uint32_t blk = 0; blk < blocks; blk++) {
        const uint32_t n0 = 16 * (backwards ? blocks - 1 - blk : blk);
        __m512 acc[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
        dot16(acc, w1 + (size_t)n0 * k1, k1, v1, k1);
        if (k2) dot16(acc, w2 + (size_t)n0 * k2, k2, v2, k2);
        __m512 r = reduce16(acc);
        if (accumulate) r = _mm512_add_ps(r, _mm512_loadu_ps(y + n0));
        _mm512_storeu_ps(y + n0, r);
    }
    const uint32_t n0 = 16 * blocks;
    if (n0 < rows)
        gemv2_portable(y + n0, rows - n0, w1 + (size_t)n0 * k1, k1, v1,
                       k2 ? w2 + (size_t)n0 * k2 : w2, k2, v2, accumulate);
}
#endif

void clv__gemv2(float *y, uint32_t rows, const float *w1, uint32_t k1, const float *v1,
                const float *w2, uint32_t k2, const float *v2, int accumulate, int backwards)
{
#ifdef HAVE_AVX512_KERNEL
    if (__builtin_cpu_supports("avx512f")) {
        gemv2_avx512(y, rows, w1, k1, v1, w2, k2, v2, accumulate, backwards);
        return;
    }
#endif
    (void)backwards;
    gemv2_portable(y, rows, w1, k1, v1, w2, k2, v2, accumulate);
}
