/* See packmm.h. Weights are packed in panels of 64 output columns, k-major
 * (panel p, row k: the 64 weights W[64p .. 64p+63][k], zero past n), so
 * that one k of a panel is four aligned AVX-512 vectors. The kernel keeps a
 * block of 6 rows x 64 columns of C in 24 registers, and for each k loads
 * the panel's four vectors once and broadcasts one A value per row: 24 FMAs
 * per 4 loads and 6 broadcasts. Panels are the outer loop, so one panel
 * (k x 256 bytes: 20 KB at k = 80) stays in L1 while the rows stream by. */
#include "packmm.h"

#define PANEL 64
#define ROWS 6

size_t clv__packmm_size(uint32_t n, uint32_t k)
{
    return (size_t)((n + PANEL - 1) / PANEL) * PANEL * k;
}

void clv__packmm_pack(float *dst, const float *w, uint32_t n, uint32_t k, size_t ldw)
{
    for (uint32_t p0 = 0; p0 < n; p0 += PANEL)
        for (uint32_t kk = 0; kk < k; kk++, dst += PANEL)
            for (uint32_t c = 0; c < PANEL; c++)
                dst[c] = p0 + c < n ? w[(size_t)(p0 + c) * ldw + kk] : 0.0f;
}

void clv__packmm_pack_t(float *dst, const float *w, uint32_t n, uint32_t k, size_t ldw)
{
    for (uint32_t p0 = 0; p0 < n; p0 += PANEL)
        for (uint32_t kk = 0; kk < k; kk++, dst += PANEL)
            for (uint32_t c = 0; c < PANEL; c++)
                dst[c] = p0 + c < n ? w[(size_t)kk * ldw + p0 + c] : 0.0f;
}

static const float *panel(const float *w, uint32_t p0, uint32_t k)
{
    return k ? w + (size_t)(p0 / PANEL) * PANEL * k : NULL;
}

void clv__packmm_portable(uint32_t m, uint32_t n, const float *a1, size_t lda1, uint32_t k1,
                          const float *w1, const float *a2, size_t lda2, uint32_t k2,
                          const float *w2, int accumulate, float *c, size_t ldc)
{
    for (uint32_t p0 = 0; p0 < n; p0 += PANEL) {
        const float *q1 = panel(w1, p0, k1), *q2 = panel(w2, p0, k2);
        const uint32_t width = n - p0 < PANEL ? n - p0 : PANEL;
        for (uint32_t i = 0; i < m; i++)
            for (uint32_t j = 0; j < width; j++) {
                float *cij = c + (size_t)i * ldc + p0 + j;
                float s = accumulate ? *cij : 0.0f;
                for (uint32_t kk = 0; kk < k1; kk++) s += a1[(size_t)i * lda1 + kk] * q1[(size_t)kk * PANEL + j];
                for (uint32_t kk = 0; kk < k2; kk++) s += a2[(size_t)i * lda2 + kk] * q2[(size_t)kk * PANEL + j];
                *cij = s;
            }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_AVX512_KERNEL 1
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX512_INLINE __attribute__((target("avx512f"), always_inline)) static inline

/* acc[r][q] += sum over k of a[r][k] * panel[k][16q .. 16q+15]. */
AVX512_INLINE void accumulate_source(__m512 acc[ROWS][4], const int rows, uint32_t k,
                                     const float *a, size_t lda, const float *q)
{
    for (uint32_t kk = 0; kk < k; kk++) {
        const float *b = q + (size_t)kk * PANEL;
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        const __m512 b2 = _mm512_loadu_ps(b + 32), b3 = _mm512_loadu_ps(b + 48);
        for (int r = 0; r < rows; r++) {
            const __m512 av = _mm512_set1_ps(a[(size_t)r * lda + kk]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);
        }
    }
}

/* One block of `rows` (a constant after inlining) rows by one panel. */
AVX512_INLINE void block(const int rows, uint32_t k1, const float *a1, size_t lda1,
                         const float *q1, uint32_t k2, const float *a2, size_t lda2,
                         const float *q2, int accumulate, float *c, size_t ldc,
                         const __mmask16 mask[4])
{
    /* A column group wholly past n is not addressed at all: its address
     * could lie beyond the end of C. */
    __m512 acc[ROWS][4];
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < 4; q++)
            acc[r][q] = accumulate && mask[q]
                            ? _mm512_maskz_loadu_ps(mask[q], c + (size_t)r * ldc + 16 * q)
                            : _mm512_setzero_ps();
    accumulate_source(acc, rows, k1, a1, lda1, q1);
    accumulate_source(acc, rows, k2, a2, lda2, q2);
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < 4; q++)
            if (mask[q]) _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * q, mask[q], acc[r][q]);
}

#define BLOCK(R, i)                                                                              \
    block(R, k1, a1 ? a1 + (size_t)(i) * lda1 : NULL, lda1, q1, k2,                              \
          a2 ? a2 + (size_t)(i) * lda2 : NULL, lda2, q2, accumulate, c + (size_t)(i) * ldc + p0, \
          ldc, mask)

AVX512 static void packmm_avx512(uint32_t m, uint32_t n, const float *a1, size_t lda1,
                                 uint32_t k1, const float *w1, const float *a2, size_t lda2,
                                 uint32_t k2, const float *w2, int accumulate, float *c,
                                 size_t ldc)
{
    for (uint32_t p0 = 0; p0 < n; p0 += PANEL) {
        const float *q1 = panel(w1, p0, k1), *q2 = panel(w2, p0, k2);
        __mmask16 mask[4];
        for (uint32_t q = 0; q < 4; q++) {
            const uint32_t from = p0 + 16 * q;
            const uint32_t left = from >= n ? 0 : n - from;
            mask[q] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        }
        uint32_t i = 0;
        for (; i + ROWS <= m; i += ROWS) BLOCK(ROWS, i);
        switch (m - i) {
        case 5: BLOCK(5, i); break;
        case 4: BLOCK(4, i); break;
        case 3: BLOCK(3, i); break;
        case 2: BLOCK(2, i); break;
        case 1: BLOCK(1, i); break;
        default: break;
        }
    }
}
#endif

int clv__packmm_fast(void)
{
#ifdef HAVE_AVX512_KERNEL
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return 0;
#endif
}

void clv__packmm(uint32_t m, uint32_t n, const float *a1, size_t lda1, uint32_t k1,
                 const float *w1, const float *a2, size_t lda2, uint32_t k2, const float *w2,
                 int accumulate, float *c, size_t ldc)
{
    if (m == 0 || n == 0) return;
#ifdef HAVE_AVX512_KERNEL
    if (clv__packmm_fast()) {
        packmm_avx512(m, n, a1, lda1, k1, w1, a2, lda2, k2, w2, accumulate, c, ldc);
        return;
    }
#endif
    clv__packmm_portable(m, n, a1, lda1, k1, w1, a2, lda2, k2, w2, accumulate, c, ldc);
}
