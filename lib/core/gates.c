/* See gates.h. Everything here is plain C loops over contiguous floats with
 * no branches and no libm calls in the element loop: that is what lets the
 * compiler vectorise them (expf and the branchy clv__sigmoidf were ~45% of a
 * training step, measured with perf, docs/performance.md). */
#include <math.h>
#include <string.h>

#include "gates.h"

/* -std=c11 turns off FP contraction; the polynomials want FMAs where the
 * target has them. Results stay deterministic for a given binary and CPU. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")
#endif

/* x86-64 with GCC or Clang: each kernel is also built for AVX-512 and for
 * AVX2+FMA and picked per call from the running CPU (__builtin_cpu_supports
 * reads a table filled at load time). Not target_clones: its ifunc
 * resolvers escape -fvisibility=hidden and would be exported. */
#if defined(__GNUC__) && defined(__x86_64__)
#define CLV__X86_DISPATCH 1
#define CLV__AVX512 __attribute__((target("avx512f")))
#define CLV__AVX2 __attribute__((target("avx2,fma")))
#endif

#if defined(__GNUC__)
#define CLV__INLINE static inline __attribute__((always_inline))
#else
#define CLV__INLINE static inline
#endif

/* e^x for x clamped to [-87.3, 88.3] (so the result is a finite normal
 * float): x = n ln2 + r, |r| <= ln2/2, e^r by Cephes' degree-7 polynomial,
 * 2^n put straight into the exponent bits. NaN is restored by the callers. */
CLV__INLINE float exp_approx(float x)
{
    x = x < 88.3762626647949f ? x : 88.3762626647949f;
    x = x > -87.3365478515625f ? x : -87.3365478515625f;
    /* Round to nearest by the 1.5*2^23 trick: no libm call, vectorises. */
    const float shifter = 12582912.0f;
    float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return p * scale;
}

CLV__INLINE float sigmoid_approx(float x)
{
    float y = 1.0f / (1.0f + exp_approx(-x));
    return x == x ? y : x;
}

/* clv__tanhf's scheme, branch-free: both halves are computed and one kept. */
CLV__INLINE float tanh_approx(float x)
{
    float a = fabsf(x);
    float z = x * x;
    float p = (((-5.7980998e-3f * z + 2.0720281e-2f) * z - 5.3763801e-2f) * z + 1.3331719e-1f) * z -
              3.3333292e-1f;
    float small = x + x * z * p;
    float big = 1.0f - 2.0f / (exp_approx(2.0f * a) + 1.0f);
    big = x < 0.0f ? -big : big;
    float y = a < 0.625f ? small : big;
    return x == x ? y : x;
}

/* The cell's tanh: one exp and one division, where tanh_approx computes
 * both of its halves. Its absolute error stays below 3e-7 (its relative
 * error grows near 0, where gate values are added to others, not divided):
 * 1.48 against 1.75 ns/cell for the forward gate math (docs/performance.md). */
CLV__INLINE float cell_tanh(float x) { return 2.0f * sigmoid_approx(2.0f * x) - 1.0f; }

CLV__INLINE void vec_sigmoid_impl(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = sigmoid_approx(x[i]);
}

CLV__INLINE void vec_tanh_impl(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = tanh_approx(x[i]);
}

/* One active row, in simple loops (one per gate, then c and h) rather than
 * one fused loop: each keeps few values live. The fused loop (all gates, c
 * and h per element, even with one shared division for the four gates)
 * measured 5 ns/cell, these 2.3-2.7 ns/cell (docs/performance.md). The row
 * (4H floats) stays in L1 between the loops. Parameters are restrict so the
 * loops vectorise without run-time alias checks. */
CLV__INLINE void cell_forward_row(float *restrict ai, float *restrict af, float *restrict ag,
                                  float *restrict ao, const float *restrict bias,
                                  const float *restrict cp, float *restrict cr,
                                  float *restrict hr, uint32_t hid)
{
    const float *restrict bi = bias, *restrict bf = bias + hid;
    const float *restrict bg = bias + 2 * (size_t)hid, *restrict bo = bias + 3 * (size_t)hid;
    for (uint32_t j = 0; j < hid; j++) ai[j] = sigmoid_approx(ai[j] + bi[j]);
    for (uint32_t j = 0; j < hid; j++) af[j] = sigmoid_approx(af[j] + bf[j]);
    for (uint32_t j = 0; j < hid; j++) ag[j] = cell_tanh(ag[j] + bg[j]);
    for (uint32_t j = 0; j < hid; j++) ao[j] = sigmoid_approx(ao[j] + bo[j]);
    for (uint32_t j = 0; j < hid; j++) {
        float cj = af[j] * cp[j] + ai[j] * ag[j];
        cr[j] = cj;
        hr[j] = ao[j] * cell_tanh(cj);
    }
}

CLV__INLINE void cell_backward_row(float *restrict ai, float *restrict af, float *restrict ag,
                                   float *restrict ao, const float *restrict cp,
                                   const float *restrict cr, float *restrict dhr,
                                   float *restrict dcr, uint32_t hid)
{
    for (uint32_t j = 0; j < hid; j++) {
        float i = ai[j], f = af[j], g = ag[j], og = ao[j];
        float tc = cell_tanh(cr[j]);
        float dcj = dcr[j] + dhr[j] * og * (1.0f - tc * tc);
        ai[j] = dcj * g * i * (1.0f - i);
        af[j] = dcj * cp[j] * f * (1.0f - f);
        ag[j] = dcj * i * (1.0f - g * g);
        ao[j] = dhr[j] * tc * og * (1.0f - og);
        dcr[j] = dcj * f;
        dhr[j] = 0.0f;
    }
}

CLV__INLINE void cell_forward_impl(float *a, size_t lda, const float *bias, const float *h_prev,
                                   const float *c_prev, float *h, float *c, uint32_t hid,
                                   uint32_t b0, uint32_t b1, const int32_t *len, uint32_t t)
{
    for (uint32_t b = b0; b < b1; b++) {
        const size_t o = (size_t)b * hid;
        if ((int32_t)t >= len[b]) {
            memcpy(h + o, h_prev + o, hid * sizeof(float));
            memcpy(c + o, c_prev + o, hid * sizeof(float));
            continue;
        }
        float *ai = a + (size_t)b * lda;
        cell_forward_row(ai, ai + hid, ai + 2 * (size_t)hid, ai + 3 * (size_t)hid, bias,
                         c_prev + o, c + o, h + o, hid);
    }
}

CLV__INLINE void cell_backward_impl(float *a, size_t lda, const float *c_prev, const float *c,
                                    float *dh, float *dc, uint32_t hid, uint32_t b0, uint32_t b1,
                                    const int32_t *len, uint32_t t)
{
    for (uint32_t b = b0; b < b1; b++) {
        float *ai = a + (size_t)b * lda;
        if ((int32_t)t >= len[b]) {
            memset(ai, 0, 4 * (size_t)hid * sizeof(float));   /* pass-through step */
            continue;
        }
        const size_t o = (size_t)b * hid;
        cell_backward_row(ai, ai + hid, ai + 2 * (size_t)hid, ai + 3 * (size_t)hid, c_prev + o,
                          c + o, dh + o, dc + o, hid);
    }
}

/* One definition per instruction set, the same source each time. */
#define FWD_ARGS float *a, size_t lda, const float *bias, const float *h_prev, const float *c_prev, \
                 float *h, float *c, uint32_t hid, uint32_t b0, uint32_t b1, const int32_t *len, \
                 uint32_t t
#define FWD_PASS a, lda, bias, h_prev, c_prev, h, c, hid, b0, b1, len, t
#define BWD_ARGS float *a, size_t lda, const float *c_prev, const float *c, float *dh, float *dc, \
                 uint32_t hid, uint32_t b0, uint32_t b1, const int32_t *len, uint32_t t
#define BWD_PASS a, lda, c_prev, c, dh, dc, hid, b0, b1, len, t
#define DEFINE_KERNELS(isa, attr)                                                              \
    attr static void fwd_##isa(FWD_ARGS) { cell_forward_impl(FWD_PASS); }                     \
    attr static void bwd_##isa(BWD_ARGS) { cell_backward_impl(BWD_PASS); }                    \
    attr static void sigm_##isa(float *y, const float *x, size_t n) { vec_sigmoid_impl(y, x, n); } \
    attr static void tanh_##isa(float *y, const float *x, size_t n) { vec_tanh_impl(y, x, n); }

DEFINE_KERNELS(portable, )
#ifdef CLV__X86_DISPATCH
DEFINE_KERNELS(avx512, CLV__AVX512)
DEFINE_KERNELS(avx2, CLV__AVX2)
#define DISPATCH(name, ...)                                                      \
    do {                                                                         \
        if (__builtin_cpu_supports("avx512f")) name##_avx512(__VA_ARGS__);       \
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) \
            name##_avx2(__VA_ARGS__);                                            \
        else name##_portable(__VA_ARGS__);                                       \
    } while (0)
#else
#define DISPATCH(name, ...) name##_portable(__VA_ARGS__)
#endif

void clv__lstm_cell_forward(FWD_ARGS) { DISPATCH(fwd, FWD_PASS); }
void clv__lstm_cell_backward(BWD_ARGS) { DISPATCH(bwd, BWD_PASS); }
void clv__vec_sigmoid_fast(float *y, const float *x, size_t n) { DISPATCH(sigm, y, x, n); }
void clv__vec_tanh_fast(float *y, const float *x, size_t n) { DISPATCH(tanh, y, x, n); }
