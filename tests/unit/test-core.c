/* Unit tests of the tensor core (lib/core): the BLAS door, tensors, the arena,
 * elementwise kernels, the RNG, thread-local errors, the allocator hook and
 * version/BLAS-thread entry points.
 *
 * Every check compares against something computed independently of the code
 * under test: hand-worked numbers, scalar formulas evaluated in double here,
 * statistical bounds, or a second implementation written in this file.
 *
 * Assertions inside hot loops use REQUIRE (only calls Check on failure):
 * Check's passing asserts record a location each time, which is slow in fork
 * mode when there are millions of them. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <fenv.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_internal.h"
#include "core/blas.h"
#include "core/gates.h"
#include "core/smallmat.h"
#include "core/ops.h"
#include "core/packmm.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "test-common.h"

#define REQUIRE(cond, ...) \
    do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static float *xmalloc_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void fill_value(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) x[i] = v;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The value C's padding holds before a call: it must be there after. */
#define C_PAD_SENTINEL 7777.0f

/* ------------------------------------------------------------------ */
/* 1. BLAS door                                                        */

/* Hand-worked product, both operand layouts:
 *   A = [1 2 3; 4 5 6], B = [7 8; 9 10; 11 12], AB = [58 64; 139 154]
 *   with alpha = 2, beta = -1, C0 = [1 2; 3 4]: C = [115 126; 275 304]. */
typedef void (*gemm_fn)(int, int, uint32_t, uint32_t, uint32_t, float, const float *, size_t,
                        const float *, size_t, float, float *, size_t);

static void check_hand_product(gemm_fn f, const char *name)
{
    const float a[6] = { 1, 2, 3, 4, 5, 6 };      /* 2x3 */
    const float at[6] = { 1, 4, 2, 5, 3, 6 };     /* its transpose, 3x2 */
    const float b[6] = { 7, 8, 9, 10, 11, 12 };   /* 3x2 */
    const float bt[6] = { 7, 9, 11, 8, 10, 12 };  /* its transpose, 2x3 */
    const float want[4] = { 115, 126, 275, 304 };
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float c[4] = { 1, 2, 3, 4 };
            f(ta, tb, 2, 2, 3, 2.0f, ta ? at : a, ta ? 2 : 3, tb ? bt : b, tb ? 3 : 2, -1.0f,
              c, 2);
            for (int i = 0; i < 4; i++)
                ck_assert_msg(c[i] == want[i], "%s ta=%d tb=%d: c[%d] = %g, want %g", name, ta,
                              tb, i, (double)c[i], (double)want[i]);
        }
}

START_TEST(gemm_hand_worked)
{
    check_hand_product(clv__gemm_ref, "gemm_ref");
    check_hand_product(clv__gemm, "gemm");
}
END_TEST

/* beta = 0 means "C is output only": NaN garbage in C must not reach the
 * result (reference BLAS: "when BETA is zero, C need not be set on input";
 * OpenBLAS overwrites). clv__gemm_ref documents and implements the same. */
START_TEST(gemm_beta_zero_ignores_nan)
{
    const float a[6] = { 1, 2, 3, 4, 5, 6 };
    const float b[6] = { 7, 8, 9, 10, 11, 12 };
    const float want[4] = { 58, 64, 139, 154 };
    float c1[4], c2[4];
    fill_value(c1, 4, NAN);
    fill_value(c2, 4, NAN);
    clv__gemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c1, 2);
    clv__gemm_ref(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c2, 2);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(c1[i] == want[i], "gemm c[%d] = %g", i, (double)c1[i]);
        ck_assert_msg(c2[i] == want[i], "gemm_ref c[%d] = %g", i, (double)c2[i]);
    }
    /* Also Inf garbage (Inf * 0 would be NaN if beta were applied). */
    fill_value(c1, 4, INFINITY);
    clv__gemm(1, 1, 2, 2, 3, 1.0f, (const float[]){ 1, 4, 2, 5, 3, 6 }, 2,
              (const float[]){ 7, 9, 11, 8, 10, 12 }, 3, 0.0f, c1, 2);
    for (int i = 0; i < 4; i++) ck_assert_msg(c1[i] == want[i], "gemm TT c[%d]", i);
}
END_TEST

struct gemm_case {
    uint32_t m, n, k;
    int ta, tb;
    size_t pad_a, pad_b, pad_c;   /* leading dimension = row width + pad */
    float alpha, beta;
};

/* Run clv__gemm and clv__gemm_ref on the same data and compare element-wise.
 *
 * Tolerance: the classic bound for a float dot product of length k is
 * |fl(s) - s| <= gamma_k * sum|a_p b_p| with gamma_k ~ k*u, u = 2^-24,
 * whatever the summation order or blocking BLAS picks; alpha, beta*C and the
 * final add cost a few more u. The reference accumulates in double, so it is
 * within u of the exact value. Hence
 *     |C_blas - C_ref| <= (k + 4) * FLT_EPSILON * M_ij,
 *     M_ij = |alpha| sum_p |op(A)_ip op(B)_pj| + |beta C0_ij|
 * (FLT_EPSILON = 2u: a 2x margin on a worst-case bound, so no luck is needed;
 * typical errors are ~sqrt(k)*u*M). Any indexing or transposition mistake
 * gives errors of order M itself. Padding of A and B holds NaN (must never be
 * read), padding of C a sentinel (must never be written). */
static void check_gemm_case(const struct gemm_case *g, uint32_t seed)
{
    const uint32_t m = g->m, n = g->n, k = g->k;
    const size_t a_rows = g->ta ? k : m, a_cols = g->ta ? m : k;
    const size_t b_rows = g->tb ? n : k, b_cols = g->tb ? k : n;
    size_t lda = a_cols + g->pad_a, ldb = b_cols + g->pad_b;
    const size_t ldc = n + g->pad_c;
    if (lda == 0) lda = 1;   /* BLAS wants ld >= max(1, width) */
    if (ldb == 0) ldb = 1;
    float *a = xmalloc_floats(a_rows * lda);
    float *b = xmalloc_floats(b_rows * ldb);
    float *c0 = xmalloc_floats(m * ldc);
    float *cb = xmalloc_floats(m * ldc);
    float *cr = xmalloc_floats(m * ldc);
    fill_value(a, a_rows * lda, NAN);
    fill_value(b, b_rows * ldb, NAN);
    for (size_t r = 0; r < a_rows; r++) clv_test_fill(a + r * lda, a_cols, seed + (uint32_t)r, -1, 1);
    for (size_t r = 0; r < b_rows; r++)
        clv_test_fill(b + r * ldb, b_cols, seed * 31u + (uint32_t)r, -1, 1);
    fill_value(c0, m * ldc, C_PAD_SENTINEL);
    for (size_t r = 0; r < m; r++) {
        if (g->beta == 0.0f) fill_value(c0 + r * ldc, n, NAN);
        else clv_test_fill(c0 + r * ldc, n, seed * 7u + (uint32_t)r, -2, 2);
    }
    memcpy(cb, c0, m * ldc * sizeof *cb);
    memcpy(cr, c0, m * ldc * sizeof *cr);

    clv__gemm(g->ta, g->tb, m, n, k, g->alpha, a, lda, b, ldb, g->beta, cb, ldc);
    clv__gemm_ref(g->ta, g->tb, m, n, k, g->alpha, a, lda, b, ldb, g->beta, cr, ldc);

    for (uint32_t i = 0; i < m; i++) {
        for (uint32_t j = 0; j < n; j++) {
            double mag = g->beta == 0.0f ? 0.0 : fabs((double)g->beta * c0[(size_t)i * ldc + j]);
            double absab = 0.0;
            for (uint32_t p = 0; p < k; p++) {
                double av = g->ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double bv = g->tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                absab += fabs(av * bv);
            }
            mag += fabs((double)g->alpha) * absab;
            double tol = (k + 4.0) * FLT_EPSILON * mag;
            double vb = cb[(size_t)i * ldc + j], vr = cr[(size_t)i * ldc + j];
            REQUIRE(fabs(vb - vr) <= tol,
                    "gemm m=%u n=%u k=%u ta=%d tb=%d lda=%zu ldb=%zu ldc=%zu alpha=%g beta=%g: "
                    "C[%u][%u] blas %.9g ref %.9g (tol %.3g)",
                    m, n, k, g->ta, g->tb, lda, ldb, ldc, (double)g->alpha, (double)g->beta, i,
                    j, vb, vr, tol);
        }
        for (size_t j = n; j < ldc; j++) {
            REQUIRE(same_bits(cb[(size_t)i * ldc + j], C_PAD_SENTINEL),
                    "gemm wrote C padding at [%u][%zu] (ldc=%zu)", i, j, ldc);
            REQUIRE(same_bits(cr[(size_t)i * ldc + j], C_PAD_SENTINEL),
                    "gemm_ref wrote C padding at [%u][%zu] (ldc=%zu)", i, j, ldc);
        }
    }
    free(a);
    free(b);
    free(c0);
    free(cb);
    free(cr);
}

static void run_gemm_shape(uint32_t m, uint32_t n, uint32_t k, uint32_t *seed)
{
    static const float alphas[] = { 1.0f, -0.75f, 2.5f };
    static const float betas[] = { 0.0f, 1.0f, 0.5f, -1.25f };
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int pad = 0; pad < 2; pad++) {
                struct gemm_case g;
                g.m = m;
                g.n = n;
                g.k = k;
                g.ta = ta;
                g.tb = tb;
                g.pad_a = pad ? 1 + lcg(seed) % 7 : 0;
                g.pad_b = pad ? 1 + lcg(seed) % 7 : 0;
                g.pad_c = pad ? 1 + lcg(seed) % 7 : 0;
                g.alpha = alphas[lcg(seed) % 3];
                g.beta = betas[lcg(seed) % 4];
                check_gemm_case(&g, lcg(seed));
                /* Always cover beta = 0 over garbage and alpha, beta != 1 together. */
                g.beta = 0.0f;
                check_gemm_case(&g, lcg(seed));
                g.alpha = -0.75f;
                g.beta = 0.5f;
                check_gemm_case(&g, lcg(seed));
            }
}

START_TEST(gemm_matches_reference_fixed_shapes)
{
    /* 1x1, vectors, tall/skinny, wide/short, long inner dimension, square. */
    static const uint32_t shapes[][3] = {
        { 1, 1, 1 },   { 1, 1, 7 },  { 7, 1, 1 },  { 1, 9, 1 },   { 1, 1, 300 }, { 300, 2, 3 },
        { 2, 300, 3 }, { 3, 2, 300 }, { 257, 1, 5 }, { 17, 13, 29 }, { 64, 64, 64 }, { 33, 65, 129 },
    };
    uint32_t seed = 11;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        run_gemm_shape(shapes[s][0], shapes[s][1], shapes[s][2], &seed);
}
END_TEST

START_TEST(gemm_matches_reference_random_shapes)
{
    uint32_t seed = 2024;
    for (int t = 0; t < 25; t++) {
        uint32_t m = 1 + lcg(&seed) % 80, n = 1 + lcg(&seed) % 80, k = 1 + lcg(&seed) % 80;
        run_gemm_shape(m, n, k, &seed);
    }
}
END_TEST

/* Degenerate sizes: m or n = 0 touches nothing; k = 0 leaves beta * C. */
START_TEST(gemm_degenerate_sizes)
{
    float a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 };
    float c[4] = { 1, 2, 3, 4 };
    clv__gemm(0, 0, 0, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    clv__gemm(0, 0, 2, 0, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    for (int i = 0; i < 4; i++) ck_assert_msg(c[i] == (float)(i + 1), "m/n = 0 wrote C[%d]", i);

    float cr[4] = { 1, 2, 3, 4 };
    clv__gemm(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c, 2);
    clv__gemm_ref(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.5f, cr, 2);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(c[i] == 0.5f * (float)(i + 1), "k = 0 gemm C[%d] = %g", i, (double)c[i]);
        ck_assert_msg(cr[i] == 0.5f * (float)(i + 1), "k = 0 ref C[%d] = %g", i, (double)cr[i]);
    }
    fill_value(c, 4, NAN);
    clv__gemm(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    for (int i = 0; i < 4; i++) ck_assert_msg(c[i] == 0.0f, "k = 0, beta = 0: C[%d] = %g", i, (double)c[i]);
}
END_TEST

/* Tensor form: views with strides (slices of a rank-3 buffer), shape checks.
 * Tolerance: the bound of check_gemm_case with k = 3 and M <= 5 (|entries|
 * <= 1, |alpha| <= 1.5, |beta| <= 2). */
#define GEMM_T_TOL ((3 + 4) * FLT_EPSILON * 5.0)
START_TEST(gemm_tensor_form)
{
    float abuf[2 * 4 * 3], bbuf[3 * 5], cbuf[2 * 4 * 5], cref[4 * 5];
    clv_test_fill(abuf, 24, 5, -1, 1);
    clv_test_fill(bbuf, 15, 6, -1, 1);
    clv_test_fill(cbuf, 40, 7, -1, 1);
    clv__tensor a3 = clv__tensor_3d(abuf, 2, 4, 3);
    clv__tensor c3 = clv__tensor_3d(cbuf, 2, 4, 5);
    clv__tensor a = clv__tensor_slice(&a3, 1);   /* 4x3 at abuf + 12 */
    clv__tensor c = clv__tensor_slice(&c3, 1);   /* 4x5 at cbuf + 20 */
    clv__tensor b = clv__tensor_2d(bbuf, 3, 5);
    memcpy(cref, cbuf + 20, sizeof cref);
    float c_first[20];
    memcpy(c_first, cbuf, sizeof c_first);
    clv_clear_error();
    ck_assert_int_eq(clv__gemm_t(0, 0, 1.5f, &a, &b, 0.25f, &c), CLV_OK);
    clv__gemm_ref(0, 0, 4, 5, 3, 1.5f, abuf + 12, 3, bbuf, 5, 0.25f, cref, 5);
    for (int i = 0; i < 20; i++)
        ck_assert_msg(fabs((double)cbuf[20 + i] - cref[i]) <= GEMM_T_TOL,
                      "C[%d] = %g, ref %g", i, (double)cbuf[20 + i], (double)cref[i]);
    ck_assert_msg(memcmp(c_first, cbuf, sizeof c_first) == 0, "gemm_t wrote outside its slice");
    ck_assert_int_eq(clv_last_error_code(), CLV_OK);

    /* Every operand a padded view (row stride > width): the strides, not the
     * widths, are the leading dimensions. */
    {
        float pa[4 * 6], pb[3 * 7], pc[4 * 8], want[4 * 8];
        clv_test_fill(pa, 24, 21, -1, 1);
        clv_test_fill(pb, 21, 22, -1, 1);
        clv_test_fill(pc, 32, 23, -1, 1);
        memcpy(want, pc, sizeof want);
        clv__tensor va = clv__tensor_2d(pa, 4, 3), vb = clv__tensor_2d(pb, 3, 5);
        clv__tensor vc = clv__tensor_2d(pc, 4, 5);
        va.stride[0] = 6;
        vb.stride[0] = 7;
        vc.stride[0] = 8;
        ck_assert_int_eq(clv__gemm_t(0, 0, -1.0f, &va, &vb, 2.0f, &vc), CLV_OK);
        clv__gemm_ref(0, 0, 4, 5, 3, -1.0f, pa, 6, pb, 7, 2.0f, want, 8);
        for (int i = 0; i < 4 * 8; i++)
            ck_assert_msg(fabs((double)pc[i] - want[i]) <= GEMM_T_TOL,
                          "padded views: C[%d][%d] = %g, ref %g", i / 8, i % 8, (double)pc[i],
                          (double)want[i]);
    }

    /* A^T B with A stored 3x4 (from a 2d view), C 4x5. */
    clv__tensor at = clv__tensor_2d(abuf, 3, 4);
    clv__tensor c2 = clv__tensor_2d(cbuf, 4, 5);
    memcpy(cref, cbuf, sizeof cref);
    ck_assert_int_eq(clv__gemm_t(1, 0, 1.0f, &at, &b, 0.0f, &c2), CLV_OK);
    clv__gemm_ref(1, 0, 4, 5, 3, 1.0f, abuf, 4, bbuf, 5, 0.0f, cref, 5);
    for (int i = 0; i < 20; i++)
        ck_assert_msg(fabs((double)cbuf[i] - cref[i]) <= GEMM_T_TOL, "A^T B C[%d]", i);
}
END_TEST

START_TEST(gemm_tensor_shape_mismatch)
{
    float buf[64], cbuf[64], before[64];
    clv_test_fill(buf, 64, 1, -1, 1);
    clv_test_fill(cbuf, 64, 2, -1, 1);
    memcpy(before, cbuf, sizeof before);
    clv__tensor a = clv__tensor_2d(buf, 2, 3);
    clv__tensor b = clv__tensor_2d(buf, 4, 5);    /* inner dimension 3 vs 4 */
    clv__tensor c = clv__tensor_2d(cbuf, 2, 5);
    clv_clear_error();
    ck_assert_int_eq(clv__gemm_t(0, 0, 1.0f, &a, &b, 0.0f, &c), CLV_ESHAPE);
    ck_assert_int_eq(clv_last_error_code(), CLV_ESHAPE);
    ck_assert_msg(strstr(clv_last_error(), "gemm") != NULL, "message: '%s'", clv_last_error());
    ck_assert_msg(strstr(clv_last_error(), "(2x3)(4x5)") != NULL, "message: '%s'",
                  clv_last_error());
    ck_assert_mem_eq(cbuf, before, sizeof before);

    /* Inner dimensions agree but C has the wrong shape. */
    clv__tensor b2 = clv__tensor_2d(buf, 3, 5);
    clv__tensor cw = clv__tensor_2d(cbuf, 5, 2);
    clv_clear_error();
    ck_assert_int_eq(clv__gemm_t(0, 0, 1.0f, &a, &b2, 0.0f, &cw), CLV_ESHAPE);
    ck_assert_msg(strstr(clv_last_error(), "5x2") != NULL, "message: '%s'", clv_last_error());
    /* Transposes change the required shapes: A^T is 3x2, so 3x2 * (2x?) needed. */
    clv_clear_error();
    ck_assert_int_eq(clv__gemm_t(1, 0, 1.0f, &a, &b2, 0.0f, &c), CLV_ESHAPE);
    ck_assert_msg(clv_last_error()[0] != '\0', "no message");

    /* Rank other than 2, and a non-contiguous last dimension. */
    clv__tensor v = clv__tensor_1d(buf, 6);
    clv_clear_error();
    ck_assert_int_eq(clv__gemm_t(0, 0, 1.0f, &v, &b2, 0.0f, &c), CLV_ESHAPE);
    ck_assert_msg(strstr(clv_last_error(), "rank-2") != NULL, "message: '%s'", clv_last_error());
    clv__tensor strided = clv__tensor_2d(buf, 2, 3);
    strided.stride[0] = 6;
    strided.stride[1] = 2;
    clv_clear_error();
    ck_assert_int_eq(clv__gemm_t(0, 0, 1.0f, &strided, &b2, 0.0f, &c), CLV_ESHAPE);
    ck_assert_mem_eq(cbuf, before, sizeof before);
}
END_TEST

/* y = alpha op(A) x + beta y for A (m x n, row stride lda > n) against a
 * double loop here; same error bound as gemm with k = inner length. */
static void check_gemv(int trans, uint32_t m, uint32_t n, size_t lda, float alpha, float beta,
                       uint32_t seed)
{
    const uint32_t xlen = trans ? m : n, ylen = trans ? n : m;
    float *a = xmalloc_floats((size_t)m * lda);
    float *x = xmalloc_floats(xlen), *y = xmalloc_floats(ylen + 1), *y0 = xmalloc_floats(ylen);
    fill_value(a, (size_t)m * lda, NAN);
    for (uint32_t r = 0; r < m; r++) clv_test_fill(a + (size_t)r * lda, n, seed + r, -1, 1);
    clv_test_fill(x, xlen, seed + 1000, -1, 1);
    if (beta == 0.0f) fill_value(y0, ylen, NAN);
    else clv_test_fill(y0, ylen, seed + 2000, -1, 1);
    memcpy(y, y0, ylen * sizeof *y);
    y[ylen] = C_PAD_SENTINEL;
    clv__gemv(trans, m, n, alpha, a, lda, x, beta, y);
    const uint32_t inner = trans ? m : n;
    for (uint32_t i = 0; i < ylen; i++) {
        double s = 0.0, mag = 0.0;
        for (uint32_t p = 0; p < inner; p++) {
            double av = trans ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
            s += av * x[p];
            mag += fabs(av * x[p]);
        }
        double want = alpha * s + (beta == 0.0f ? 0.0 : (double)beta * y0[i]);
        mag = fabs((double)alpha) * mag + (beta == 0.0f ? 0.0 : fabs((double)beta * y0[i]));
        double tol = (inner + 4.0) * FLT_EPSILON * mag;
        REQUIRE(fabs(y[i] - want) <= tol, "gemv trans=%d m=%u n=%u lda=%zu: y[%u] = %.9g want %.9g",
                trans, m, n, lda, i, (double)y[i], want);
    }
    REQUIRE(same_bits(y[ylen], C_PAD_SENTINEL), "gemv wrote past y[%u]", ylen);
    free(a);
    free(x);
    free(y);
    free(y0);
}

START_TEST(gemv_both_transposes)
{
    /* Hand-worked: A = [1 2 3; 4 5 6]; A x for x = [1 1 1] is [6 15];
     * A^T x for x = [1 2] is [9 12 15]. */
    const float a[6] = { 1, 2, 3, 4, 5, 6 };
    float y2[2], y3[3];
    fill_value(y2, 2, NAN);
    fill_value(y3, 3, NAN);
    clv__gemv(0, 2, 3, 1.0f, a, 3, (const float[]){ 1, 1, 1 }, 0.0f, y2);
    clv__gemv(1, 2, 3, 1.0f, a, 3, (const float[]){ 1, 2 }, 0.0f, y3);
    ck_assert_msg(y2[0] == 6 && y2[1] == 15, "A x = [%g %g]", (double)y2[0], (double)y2[1]);
    ck_assert_msg(y3[0] == 9 && y3[1] == 12 && y3[2] == 15, "A^T x = [%g %g %g]", (double)y3[0],
                  (double)y3[1], (double)y3[2]);

    uint32_t seed = 99;
    static const uint32_t shapes[][2] = { { 1, 1 }, { 1, 40 }, { 40, 1 }, { 37, 23 }, { 128, 300 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int trans = 0; trans < 2; trans++) {
            uint32_t m = shapes[s][0], n = shapes[s][1];
            check_gemv(trans, m, n, n, 1.0f, 0.0f, lcg(&seed));
            check_gemv(trans, m, n, n + 5, -0.5f, 1.5f, lcg(&seed));
            check_gemv(trans, m, n, n + 1, 2.0f, 0.0f, lcg(&seed));
        }
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. Tensors                                                          */

START_TEST(tensor_constructors)
{
    float buf[4];
    clv__tensor t1 = clv__tensor_1d(buf, 7);
    ck_assert_ptr_eq(t1.data, buf);
    ck_assert_uint_eq(t1.rank, 1);
    ck_assert_uint_eq(t1.shape[0], 7);
    ck_assert_uint_eq(t1.stride[0], 1);
    ck_assert_uint_eq(clv__tensor_numel(&t1), 7);

    clv__tensor t2 = clv__tensor_2d(buf, 3, 4);
    ck_assert_uint_eq(t2.rank, 2);
    ck_assert_uint_eq(t2.shape[0], 3);
    ck_assert_uint_eq(t2.shape[1], 4);
    ck_assert_uint_eq(t2.stride[0], 4);
    ck_assert_uint_eq(t2.stride[1], 1);
    ck_assert_uint_eq(clv__tensor_numel(&t2), 12);
    ck_assert_ptr_eq(clv__at2(&t2, 2, 3), buf + 11);

    clv__tensor t3 = clv__tensor_3d(buf, 2, 3, 5);
    ck_assert_uint_eq(t3.rank, 3);
    ck_assert_uint_eq(t3.shape[0], 2);
    ck_assert_uint_eq(t3.shape[1], 3);
    ck_assert_uint_eq(t3.shape[2], 5);
    ck_assert_uint_eq(t3.stride[0], 15);
    ck_assert_uint_eq(t3.stride[1], 5);
    ck_assert_uint_eq(t3.stride[2], 1);
    ck_assert_uint_eq(clv__tensor_numel(&t3), 30);

    /* Unused trailing dimensions are zero, and a zero extent gives numel 0. */
    ck_assert_uint_eq(t1.shape[1], 0);
    ck_assert_uint_eq(t2.shape[2], 0);
    ck_assert_uint_eq(t3.shape[3], 0);
    clv__tensor z = clv__tensor_3d(buf, 4, 0, 9);
    ck_assert_uint_eq(clv__tensor_numel(&z), 0);

    /* The stride of a 3d tensor is computed in size_t, not uint32. */
    clv__tensor big = clv__tensor_3d(NULL, 1, 65536, 65537);
    ck_assert_uint_eq(big.stride[0], (size_t)65536 * 65537);
}
END_TEST

START_TEST(tensor_numel_overflow)
{
#if SIZE_MAX > UINT32_MAX
    clv__tensor t = clv__tensor_3d(NULL, UINT32_MAX, UINT32_MAX, UINT32_MAX);   /* ~2^96 */
    ck_assert_uint_eq(clv__tensor_numel(&t), 0);
    clv__tensor t2 = clv__tensor_2d(NULL, UINT32_MAX, UINT32_MAX);   /* < 2^64: exact */
    ck_assert_uint_eq(clv__tensor_numel(&t2), (size_t)UINT32_MAX * UINT32_MAX);
    /* Right at the edge: 2^16 four times is 2^64 (overflow), one less fits. */
    clv__tensor t4;
    memset(&t4, 0, sizeof t4);
    t4.rank = 4;
    t4.shape[0] = t4.shape[1] = t4.shape[2] = t4.shape[3] = 65536;
    ck_assert_uint_eq(clv__tensor_numel(&t4), 0);
    t4.shape[3] = 65535;
    ck_assert_uint_eq(clv__tensor_numel(&t4), (size_t)65536 * 65536 * 65536 * 65535);
#else
    clv__tensor t = clv__tensor_2d(NULL, 65536, 65536);
    ck_assert_uint_eq(clv__tensor_numel(&t), 0);
#endif
}
END_TEST

START_TEST(tensor_slices)
{
    float buf[4 * 3 * 5];
    for (int i = 0; i < 60; i++) buf[i] = (float)i;
    clv__tensor t3 = clv__tensor_3d(buf, 4, 3, 5);
    clv__tensor s = clv__tensor_slice(&t3, 2);
    ck_assert_ptr_eq(s.data, buf + 30);
    ck_assert_uint_eq(s.rank, 2);
    ck_assert_uint_eq(s.shape[0], 3);
    ck_assert_uint_eq(s.shape[1], 5);
    ck_assert_uint_eq(s.shape[2], 0);
    ck_assert_uint_eq(s.stride[0], 5);
    ck_assert_uint_eq(s.stride[1], 1);
    ck_assert_uint_eq(clv__tensor_numel(&s), 15);
    ck_assert_float_eq(*clv__at2(&s, 1, 4), 39.0f);   /* 2*15 + 1*5 + 4 */

    /* Row of the rank-2 slice: rank 1. */
    clv__tensor row = clv__tensor_slice(&s, 1);
    ck_assert_ptr_eq(row.data, buf + 35);
    ck_assert_uint_eq(row.rank, 1);
    ck_assert_uint_eq(row.shape[0], 5);
    ck_assert_uint_eq(row.stride[0], 1);
    ck_assert_uint_eq(row.shape[1], 0);
    ck_assert_uint_eq(row.stride[1], 0);

    /* Rank-2 slice of a plain 2d tensor, first and last rows. */
    clv__tensor t2 = clv__tensor_2d(buf, 6, 7);
    clv__tensor r0 = clv__tensor_slice(&t2, 0), r5 = clv__tensor_slice(&t2, 5);
    ck_assert_ptr_eq(r0.data, buf);
    ck_assert_ptr_eq(r5.data, buf + 35);
    ck_assert_uint_eq(r5.rank, 1);
    ck_assert_uint_eq(r5.shape[0], 7);

    /* Padded view (row stride 10 > 7 columns): slices and at2 follow the stride. */
    clv__tensor p = clv__tensor_2d(buf, 3, 7);
    p.stride[0] = 10;
    ck_assert_ptr_eq(clv__tensor_slice(&p, 2).data, buf + 20);
    ck_assert_ptr_eq(clv__at2(&p, 2, 6), buf + 26);
    /* Strided rank-3 view keeps its inner strides in the slice. */
    clv__tensor q = clv__tensor_3d(buf, 2, 3, 4);
    q.stride[0] = 30;
    q.stride[1] = 8;
    clv__tensor qs = clv__tensor_slice(&q, 1);
    ck_assert_ptr_eq(qs.data, buf + 30);
    ck_assert_uint_eq(qs.stride[0], 8);
    ck_assert_uint_eq(qs.stride[1], 1);
    ck_assert_ptr_eq(clv__at2(&qs, 2, 3), buf + 30 + 16 + 3);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. Arena                                                            */

static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

START_TEST(arena_two_pass_layout)
{
    static const size_t sizes[] = { 1, 16, 17, 100, 0, 3, 1000, 15 };
    enum { NS = sizeof sizes / sizeof sizes[0] };
    clv__arena a;
    clv__arena_init(&a);
    ck_assert_ptr_null(a.base);
    ck_assert_uint_eq(a.cap, 0);
    ck_assert_uint_eq(a.used, 0);

    /* Measure pass: NULL pointers, bytes counted with 64-byte rounding. */
    int of = 0;
    size_t want = 0;
    for (int i = 0; i < NS; i++) {
        ck_assert_ptr_null(clv__arena_take(&a, sizes[i], &of));
        want += round64(sizes[i] * sizeof(float));
    }
    ck_assert_int_eq(of, 0);
    ck_assert_uint_eq(a.used, want);
    const size_t measured = a.used;

    ck_assert_int_eq(clv__arena_reserve(&a, measured), CLV_OK);
    ck_assert_ptr_nonnull(a.base);
    ck_assert_uint_ge(a.cap, measured);
    ck_assert_uint_eq(a.used, 0);

    /* Layout pass: aligned, in order, non-overlapping, inside the block. */
    float *p[NS];
    for (int i = 0; i < NS; i++) {
        p[i] = clv__arena_take(&a, sizes[i], &of);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_msg((uintptr_t)p[i] % 64 == 0, "take %d not 64-byte aligned: %p", i, (void *)p[i]);
        ck_assert_msg((char *)p[i] >= a.base, "take %d before the block", i);
        ck_assert_msg((char *)(p[i] + sizes[i]) <= a.base + a.cap + 64, "take %d past the block", i);
        if (i > 0) ck_assert_msg(p[i - 1] + sizes[i - 1] <= p[i], "takes %d and %d overlap", i - 1, i);
    }
    ck_assert_int_eq(of, 0);
    ck_assert_uint_eq(a.used, measured);
    for (int i = 0; i < NS; i++) fill_value(p[i], sizes[i], (float)(i + 1));
    for (int i = 0; i < NS; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            REQUIRE(p[i][j] == (float)(i + 1), "block %d clobbered at %zu", i, j);

    /* Rewind hands out the same pointers again. */
    clv__arena_rewind(&a);
    ck_assert_uint_eq(a.used, 0);
    ck_assert_ptr_eq(clv__arena_take(&a, sizes[0], &of), p[0]);
    ck_assert_ptr_eq(clv__arena_take(&a, sizes[1], &of), p[1]);

    /* A smaller reserve keeps the block (no reallocation) and rewinds. */
    char *base = a.base;
    size_t cap = a.cap;
    ck_assert_int_eq(clv__arena_reserve(&a, measured / 2), CLV_OK);
    ck_assert_ptr_eq(a.base, base);
    ck_assert_uint_eq(a.cap, cap);
    ck_assert_uint_eq(a.used, 0);
    ck_assert_int_eq(clv__arena_reserve(&a, cap), CLV_OK);
    ck_assert_ptr_eq(a.base, base);

    /* A larger one grows it. */
    ck_assert_int_eq(clv__arena_reserve(&a, cap * 4), CLV_OK);
    ck_assert_uint_ge(a.cap, cap * 4);
    float *big = clv__arena_take(&a, cap, &of);   /* cap floats = 4*cap bytes */
    ck_assert_ptr_nonnull(big);
    fill_value(big, cap, 1.0f);

    clv__arena_free(&a);
    ck_assert_ptr_null(a.base);
    ck_assert_uint_eq(a.cap, 0);
    ck_assert_uint_eq(a.used, 0);
    clv__arena_free(&a);   /* twice is harmless */
}
END_TEST

START_TEST(arena_overflow_flag)
{
    clv__arena a;
    clv__arena_init(&a);
    int of = 0;
    /* n * sizeof(float) overflows size_t. */
    ck_assert_ptr_null(clv__arena_take(&a, SIZE_MAX / 2, &of));
    ck_assert_int_eq(of, 1);
    ck_assert_uint_eq(a.used, 0);

    /* Each fits alone, the running total does not. */
    of = 0;
    ck_assert_ptr_null(clv__arena_take(&a, SIZE_MAX / 8, &of));
    ck_assert_int_eq(of, 0);
    size_t used = a.used;
    ck_assert_uint_gt(used, 0);
    ck_assert_ptr_null(clv__arena_take(&a, SIZE_MAX / 8, &of));
    ck_assert_int_eq(of, 1);
    ck_assert_uint_eq(a.used, used);

    /* The flag is sticky: a later small take does not clear it. */
    ck_assert_ptr_null(clv__arena_take(&a, 4, &of));
    ck_assert_int_eq(of, 1);

    /* Reserving an impossible size fails cleanly with CLV_ENOMEM. */
    clv_clear_error();
    ck_assert_int_eq(clv__arena_reserve(&a, SIZE_MAX - 8), CLV_ENOMEM);
    ck_assert_int_eq(clv_last_error_code(), CLV_ENOMEM);
    ck_assert_ptr_null(a.base);
    ck_assert_uint_eq(a.cap, 0);
    clv__arena_free(&a);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. Ops                                                              */

enum { NOPS = 1001 };

/* x spans [-30, 30] evenly plus the exact points 0 and +-1. */
static void ops_inputs(float *x)
{
    for (int i = 0; i < NOPS; i++) x[i] = -30.0f + 60.0f * (float)i / (NOPS - 1);
    x[0] = 0.0f;
    x[1] = 1.0f;
    x[2] = -1.0f;
}

START_TEST(ops_activations)
{
    float x[NOPS], y[NOPS], t[NOPS];
    ops_inputs(x);
    clv__vec_sigmoid(y, x, NOPS);
    clv__vec_tanh(t, x, NOPS);
    /* expf/tanhf are within ~1-2 ulp, plus an add and a divide: 8u relative. */
    for (int i = 0; i < NOPS; i++) {
        double s = 1.0 / (1.0 + exp(-(double)x[i]));
        double th = tanh((double)x[i]);
        REQUIRE(fabs(y[i] - s) <= 4 * FLT_EPSILON * s, "sigmoid(%g) = %.9g want %.9g",
                (double)x[i], (double)y[i], s);
        REQUIRE(fabs(t[i] - th) <= 4 * FLT_EPSILON * fabs(th), "tanh(%g) = %.9g want %.9g",
                (double)x[i], (double)t[i], th);
        REQUIRE(clv__sigmoidf(x[i]) == y[i], "vec_sigmoid differs from clv__sigmoidf at %g",
                (double)x[i]);
    }
    ck_assert_float_eq(clv__sigmoidf(0.0f), 0.5f);
    /* Monotone and symmetric over the whole sweep (2 float ulps of 1). */
    for (int i = 4; i < NOPS; i++) REQUIRE(y[i] >= y[i - 1], "sigmoid not monotone at %d", i);
    for (int i = 0; i < NOPS; i++)
        REQUIRE(fabs((double)clv__sigmoidf(x[i]) + clv__sigmoidf(-x[i]) - 1.0) <= 2 * FLT_EPSILON,
                "sigmoid(x) + sigmoid(-x) != 1 at %g", (double)x[i]);

    /* In place (y aliases x), as the cells use them. */
    float z[NOPS];
    memcpy(z, x, sizeof z);
    clv__vec_sigmoid(z, z, NOPS);
    ck_assert_mem_eq(z, y, sizeof z);
    memcpy(z, x, sizeof z);
    clv__vec_tanh(z, z, NOPS);
    ck_assert_mem_eq(z, t, sizeof z);
}
END_TEST

START_TEST(ops_sigmoid_extremes)
{
    static const float xs[] = { 100.0f, -100.0f, 1e4f, -1e4f, 88.8f, -88.8f, 1e30f, -1e30f,
                                INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        float s = clv__sigmoidf(xs[i]), sn = clv__sigmoidf(-xs[i]);
        ck_assert_msg(isfinite(s), "sigmoid(%g) = %g", (double)xs[i], (double)s);
        ck_assert_msg(s >= 0.0f && s <= 1.0f, "sigmoid(%g) = %g outside [0,1]", (double)xs[i],
                      (double)s);
        ck_assert_msg(fabs((double)s + sn - 1.0) <= 1e-7, "sigmoid(%g) + sigmoid(%g) = %.9g",
                      (double)xs[i], (double)-xs[i], (double)s + sn);
    }
    /* No overflow on the way either (the branch keeps exp's argument <= 0),
     * so code running with FP traps enabled does not stop here. */
    volatile float big = 1e4f;
    feclearexcept(FE_ALL_EXCEPT);
    volatile float s1 = clv__sigmoidf(-big), s2 = clv__sigmoidf(big);
    ck_assert_msg(!fetestexcept(FE_OVERFLOW | FE_INVALID | FE_DIVBYZERO), "sigmoid(+-1e4) raised an FP exception");
    ck_assert_float_eq(s1, 0.0f);
    ck_assert_float_eq(s2, 1.0f);
    ck_assert_float_eq(clv__sigmoidf(100.0f), 1.0f);
    ck_assert_float_eq(clv__sigmoidf(-1e4f), 0.0f);
    /* Small tail kept with relative accuracy (no 1 - tiny cancellation). */
    double want = exp(-50.0) / (1.0 + exp(-50.0));
    ck_assert_msg(fabs(clv__sigmoidf(-50.0f) - want) <= 4 * FLT_EPSILON * want,
                  "sigmoid(-50) = %g want %g", (double)clv__sigmoidf(-50.0f), want);
}
END_TEST

/* Independent softplus: log(1 + e^x) directly where 1 + e^x cannot lose
 * digits (|x| < 1), else the series log1p(e) = e - e^2/2 + e^3/3 - ... with
 * e = e^-|x| <= 0.37 (80 terms: the remainder is < 1e-34), and
 * softplus(x) = x + softplus(-x) for x > 0. */
static double softplus_ref(double x)
{
    if (fabs(x) < 1.0) return log(1.0 + exp(x));
    double e = exp(-fabs(x)), p = 1.0, s = 0.0;
    for (int n = 1; n <= 80; n++) {
        p *= e;
        s += (n % 2 ? p : -p) / n;
    }
    return x > 0 ? x + s : s;
}

START_TEST(ops_softplus)
{
    ck_assert_msg(isfinite(clv__softplus(1000.0)), "softplus(1000) not finite");
    ck_assert_msg(isfinite(clv__softplus(-1000.0)), "softplus(-1000) not finite");
    ck_assert_double_eq(clv__softplus(1000.0), 1000.0);   /* 1000 + log1p(e^-1000) */
    /* The true value e^-1000 ~ 5e-435 underflows: 0 or a denormal is right. */
    ck_assert_msg(clv__softplus(-1000.0) >= 0.0 && clv__softplus(-1000.0) < 1e-300,
                  "softplus(-1000) = %g", clv__softplus(-1000.0));
    ck_assert_double_eq_tol(clv__softplus(0.0), log(2.0), 1e-15);
    /* Relative accuracy across the range, tails included (a naive
     * log(1 + exp(x)) fails here: it overflows above ~709 and loses all
     * digits below ~-37). */
    for (double x = -700.0; x <= 700.0; x += (fabs(x) < 40.0 ? 0.125 : 10.0)) {
        double want = softplus_ref(x);
        REQUIRE(clv_test_relerr(clv__softplus(x), want, 1e-300) <= 1e-13,
                "softplus(%g) = %.17g want %.17g", x, clv__softplus(x), want);
    }
}
END_TEST

START_TEST(ops_derivatives_and_arith)
{
    float x[NOPS], y[NOPS], dy[NOPS], dx[NOPS], b[NOPS], out[NOPS];
    ops_inputs(x);
    clv_test_fill(dy, NOPS, 3, -2, 2);
    clv_test_fill(b, NOPS, 4, -5, 5);
    clv__vec_sigmoid(y, x, NOPS);
    clv__vec_dsigmoid(dx, dy, y, NOPS);
    for (int i = 0; i < NOPS; i++) {
        double want = (double)dy[i] * y[i] * (1.0 - y[i]);
        REQUIRE(fabs(dx[i] - want) <= 4 * FLT_EPSILON * fabs(want) + FLT_MIN, "dsigmoid[%d]", i);
    }
    clv__vec_tanh(y, x, NOPS);
    clv__vec_dtanh(dx, dy, y, NOPS);
    for (int i = 0; i < NOPS; i++) {
        double yy = (double)y[i] * y[i], want = dy[i] * (1.0 - yy);
        /* 1 - fl(y^2) cancels near |y| = 1: bound relative to |dy| (y^2 + |1 - y^2|). */
        double tol = 4 * FLT_EPSILON * fabs((double)dy[i]) * (yy + fabs(1.0 - yy)) + FLT_MIN;
        REQUIRE(fabs(dx[i] - want) <= tol, "dtanh[%d]: %.9g want %.9g", i, (double)dx[i], want);
    }

    clv__vec_add(out, x, b, NOPS);
    for (int i = 0; i < NOPS; i++) REQUIRE(out[i] == (float)((double)x[i] + b[i]), "add[%d]", i);
    clv__vec_mul(out, x, b, NOPS);
    for (int i = 0; i < NOPS; i++) REQUIRE(out[i] == (float)((double)x[i] * b[i]), "mul[%d]", i);
    memcpy(out, x, sizeof out);
    clv__vec_add(out, out, b, NOPS);   /* in place */
    for (int i = 0; i < NOPS; i++) REQUIRE(out[i] == (float)((double)x[i] + b[i]), "add in place[%d]", i);

    memcpy(out, b, sizeof out);
    clv__vec_axpy(out, -0.3f, x, NOPS);
    for (int i = 0; i < NOPS; i++) {
        double want = (double)b[i] + (double)-0.3f * x[i];
        double tol = 2 * FLT_EPSILON * (fabs((double)b[i]) + fabs((double)-0.3f * x[i]));
        REQUIRE(fabs(out[i] - want) <= tol, "axpy[%d]: %.9g want %.9g", i, (double)out[i], want);
    }
    memcpy(out, x, sizeof out);
    clv__vec_scale(out, 1.7f, NOPS);
    for (int i = 0; i < NOPS; i++) REQUIRE(out[i] == (float)((double)x[i] * 1.7f), "scale[%d]", i);

    /* zero touches exactly n elements. */
    fill_value(out, NOPS, 5.0f);
    clv__vec_zero(out, NOPS - 1);
    for (int i = 0; i < NOPS - 1; i++) REQUIRE(out[i] == 0.0f && !signbit(out[i]), "zero[%d]", i);
    ck_assert_float_eq(out[NOPS - 1], 5.0f);
}
END_TEST

START_TEST(ops_reductions_in_double)
{
    float x[NOPS], w[NOPS];
    ops_inputs(x);
    clv_test_fill(w, NOPS, 8, -3, 3);
    double s = 0, d = 0, q = 0;
    for (int i = 0; i < NOPS; i++) {
        s += x[i];
        d += (double)x[i] * w[i];
        q += (double)w[i] * w[i];
    }
    ck_assert_double_eq_tol(clv__vec_sum(x, NOPS), s, 1e-9);
    ck_assert_double_eq_tol(clv__vec_dot(x, w, NOPS), d, 1e-9);
    ck_assert_double_eq_tol(clv__vec_sumsq(w, NOPS), q, 1e-9);
    ck_assert_double_eq(clv__vec_sum(x, 0), 0.0);

    /* Cancellation float accumulation cannot survive: 1e8 + 1 == 1e8 in float. */
    const float c[3] = { 1e8f, 1.0f, -1e8f }, ones[3] = { 1, 1, 1 }, sq[2] = { 1e4f, 1.0f };
    ck_assert_double_eq(clv__vec_sum(c, 3), 1.0);
    ck_assert_double_eq(clv__vec_dot(c, ones, 3), 1.0);
    ck_assert_double_eq(clv__vec_sumsq(sq, 2), 100000001.0);

    /* 1e7 copies of 0.1f: a float accumulator ends ~9% off; double is exact
     * to ~1e-10 relative. */
    const size_t n = 10000000;
    float *big = xmalloc_floats(n);
    fill_value(big, n, 0.1f);
    double want = (double)n * (double)0.1f;
    double got = clv__vec_sum(big, n);
    ck_assert_msg(clv_test_relerr(got, want, 1.0) <= 1e-6, "sum = %.10g want %.10g", got, want);
    got = clv__vec_dot(big, big, n);
    want = (double)n * ((double)0.1f * 0.1f);
    ck_assert_msg(clv_test_relerr(got, want, 1.0) <= 1e-6, "dot = %.10g want %.10g", got, want);
    free(big);
}
END_TEST

START_TEST(ops_rows_with_leading_dimension)
{
    enum { R = 4, C = 5, LD = 8 };
    float y[R * LD], y0[R * LD], bias[C], acc[C], acc0[C];
    clv_test_fill(y0, R * LD, 10, -1, 1);
    for (int r = 0; r < R; r++)
        for (int c = C; c < LD; c++) y0[r * LD + c] = C_PAD_SENTINEL;
    clv_test_fill(bias, C, 11, -1, 1);
    memcpy(y, y0, sizeof y);
    clv__rows_add_bias(y, LD, bias, R, C);
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < C; c++)
            ck_assert_msg(y[r * LD + c] == (float)((double)y0[r * LD + c] + bias[c]), "bias at [%d][%d]", r, c);
        for (int c = C; c < LD; c++)
            ck_assert_msg(same_bits(y[r * LD + c], C_PAD_SENTINEL), "padding written at [%d][%d]", r, c);
    }

    /* rows_sum_into accumulates (adds to acc), reading only the first C columns. */
    clv_test_fill(acc0, C, 12, -1, 1);
    memcpy(acc, acc0, sizeof acc);
    clv__rows_sum_into(acc, y0, LD, R, C);
    for (int c = 0; c < C; c++) {
        double want = acc0[c], mag = fabs((double)acc0[c]);
        for (int r = 0; r < R; r++) {
            want += y0[r * LD + c];
            mag += fabs((double)y0[r * LD + c]);
        }
        ck_assert_msg(fabs(acc[c] - want) <= (R + 1) * FLT_EPSILON * mag, "acc[%d] = %.9g want %.9g", c,
                      (double)acc[c], want);
    }
    /* Zero rows: no change. */
    memcpy(acc, acc0, sizeof acc);
    clv__rows_sum_into(acc, y0, LD, 0, C);
    ck_assert_mem_eq(acc, acc0, sizeof acc);
}
END_TEST

START_TEST(ops_all_finite)
{
    float x[10];
    fill_value(x, 10, 1.0f);
    size_t bad = 12345;
    ck_assert_int_ne(clv__all_finite(x, 10, &bad), 0);
    ck_assert_uint_eq(bad, 12345);   /* untouched on success */
    ck_assert_int_ne(clv__all_finite(x, 0, &bad), 0);
    x[7] = NAN;
    x[3] = INFINITY;
    ck_assert_int_eq(clv__all_finite(x, 10, &bad), 0);
    ck_assert_uint_eq(bad, 3);
    ck_assert_int_eq(clv__all_finite(x, 10, NULL), 0);   /* NULL index is allowed */
    x[3] = 1.0f;
    ck_assert_int_eq(clv__all_finite(x, 10, &bad), 0);
    ck_assert_uint_eq(bad, 7);
    ck_assert_int_ne(clv__all_finite(x, 7, &bad), 0);    /* the bad one is past n */
    x[7] = 1.0f;
    x[0] = -INFINITY;
    ck_assert_int_eq(clv__all_finite(x, 10, &bad), 0);
    ck_assert_uint_eq(bad, 0);
    x[0] = FLT_MAX;
    x[9] = -FLT_MAX;
    ck_assert_int_ne(clv__all_finite(x, 10, &bad), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 5. RNG                                                              */

/* Independent statement of the generator (splitmix64 seeding, xoshiro256**),
 * written from the published algorithm: the stream is part of the
 * reproducibility promise (same seed, same model), so it must not drift. */
static uint64_t ref_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t ref_splitmix(uint64_t *x)
{
    *x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = *x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t ref_xoshiro(uint64_t s[4])
{
    const uint64_t out = ref_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return out;
}

START_TEST(rng_stream_frozen)
{
    /* splitmix64 from 0: published first outputs. */
    clv__rng r;
    clv__rng_seed(&r, 0);
    ck_assert_uint_eq(r.s[0], 0xe220a8397b1dcdafULL);
    ck_assert_uint_eq(r.s[1], 0x6e789e6aa1b965f4ULL);
    ck_assert_uint_eq(r.s[2], 0x06c45d188009454fULL);
    ck_assert_uint_eq(r.s[3], 0xf88bb8a8724c81ecULL);

    static const uint64_t seeds[] = { 0, 1, 42, 0xdeadbeefcafef00dULL, UINT64_MAX };
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        uint64_t x = seeds[k], s[4];
        for (int i = 0; i < 4; i++) s[i] = ref_splitmix(&x);
        clv__rng_seed(&r, seeds[k]);
        for (int i = 0; i < 1000; i++) {
            uint64_t want = ref_xoshiro(s), got = clv__rng_next(&r);
            REQUIRE(got == want, "seed %llu draw %d: %016llx want %016llx",
                    (unsigned long long)seeds[k], i, (unsigned long long)got, (unsigned long long)want);
        }
    }
}
END_TEST

START_TEST(rng_same_seed_same_sequence)
{
    clv__rng a, b, c;
    clv__rng_seed(&a, 12345);
    clv__rng_seed(&b, 12345);
    clv__rng_seed(&c, 12346);
    int equal_to_other = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t va = clv__rng_next(&a), vb = clv__rng_next(&b), vc = clv__rng_next(&c);
        REQUIRE(va == vb, "same seed diverged at draw %d", i);
        equal_to_other += (va == vc);
    }
    ck_assert_int_eq(equal_to_other, 0);   /* 1000 draws of 64 bits: a match is ~1e-16 */

    /* Same for the float and normal streams, with re-seeding resetting the state. */
    clv__rng_seed(&a, 7);
    float first[1000];
    double nfirst[100];
    for (int i = 0; i < 1000; i++) first[i] = clv__rng_uniform(&a);
    for (int i = 0; i < 100; i++) nfirst[i] = clv__rng_normal(&a);
    clv__rng_seed(&a, 7);
    for (int i = 0; i < 1000; i++) REQUIRE(same_bits(clv__rng_uniform(&a), first[i]), "uniform %d", i);
    for (int i = 0; i < 100; i++) REQUIRE(clv__rng_normal(&a) == nfirst[i], "normal %d", i);

    /* Seed 0 is a valid seed (splitmix never gives the all-zero state). */
    clv__rng_seed(&a, 0);
    ck_assert_msg(a.s[0] | a.s[1] | a.s[2] | a.s[3], "all-zero state");
    ck_assert_uint_ne(clv__rng_next(&a), clv__rng_next(&a));
}
END_TEST

/* Moments over N = 1e5 draws. Tolerances are 5 standard errors of the
 * statistic (false alarm ~6e-7 for an unlucky seed; the seeds are fixed, so
 * the outcome is deterministic anyway):
 *   uniform: SE(mean) = sqrt(1/12/N) = 9.1e-4,
 *            SE(var)  = sqrt((1/80 - 1/144)/N) = 2.4e-4,
 *            SE(count per tenth) = sqrt(N * 0.1 * 0.9) = 95;
 *   normal:  SE(mean) = 1/sqrt(N) = 3.2e-3, SE(var) = sqrt(2/N) = 4.5e-3,
 *            SE(P(|z| > 1.96)) = sqrt(0.05 * 0.95 / N) = 6.9e-4.
 * These are tighter than the round bounds 0.01 (uniform mean), 0.005 (uniform
 * variance), 0.02 (normal mean) and 0.03 (normal variance). */
enum { NDRAWS = 100000 };

START_TEST(rng_uniform_moments)
{
    clv__rng r;
    clv__rng_seed(&r, 2025);
    double sum = 0, sumsq = 0;
    float lo = 1, hi = 0;
    long bins[10] = { 0 };
    for (int i = 0; i < NDRAWS; i++) {
        float u = clv__rng_uniform(&r);
        REQUIRE(u >= 0.0f && u < 1.0f, "uniform draw %d = %.9g outside [0,1)", i, (double)u);
        float scaled = u * 16777216.0f;
        REQUIRE(scaled == floorf(scaled), "uniform draw %d = %.9g is not k/2^24", i, (double)u);
        sum += u;
        sumsq += (double)u * u;
        lo = fminf(lo, u);
        hi = fmaxf(hi, u);
        bins[(int)(u * 10.0f)]++;
    }
    double mean = sum / NDRAWS, var = sumsq / NDRAWS - mean * mean;
    const double n = NDRAWS;
    ck_assert_msg(fabs(mean - 0.5) <= 5 * sqrt(1.0 / 12 / n), "uniform mean %.6f", mean);
    ck_assert_msg(fabs(var - 1.0 / 12) <= 5 * sqrt((1.0 / 80 - 1.0 / 144) / n), "uniform var %.6f", var);
    for (int b = 0; b < 10; b++)
        ck_assert_msg(fabs(bins[b] - n / 10) <= 5 * sqrt(n * 0.09), "tenth %d holds %ld draws", b, bins[b]);
    ck_assert_msg(lo < 1e-4f && hi > 1.0f - 1e-4f, "range [%g, %g] too narrow", (double)lo, (double)hi);
}
END_TEST

START_TEST(rng_normal_moments)
{
    clv__rng r;
    clv__rng_seed(&r, 77);
    double sum = 0, sumsq = 0;
    long tail = 0;
    for (int i = 0; i < NDRAWS; i++) {
        double z = clv__rng_normal(&r);
        REQUIRE(isfinite(z), "normal draw %d = %g", i, z);
        sum += z;
        sumsq += z * z;
        tail += fabs(z) > 1.959963984540054;
    }
    const double n = NDRAWS;
    double mean = sum / n, var = sumsq / n - mean * mean, p = tail / n;
    ck_assert_msg(fabs(mean) <= 5 / sqrt(n), "normal mean %.6f", mean);
    ck_assert_msg(fabs(var - 1.0) <= 5 * sqrt(2 / n), "normal var %.6f", var);
    ck_assert_msg(fabs(p - 0.05) <= 5 * sqrt(0.05 * 0.95 / n), "P(|z| > 1.96) = %.5f", p);
}
END_TEST

/* Modular inverse of an odd number mod 2^64 (Newton: each step doubles the bits). */
static uint64_t inv_odd(uint64_t a)
{
    uint64_t x = a;   /* correct to 3 bits */
    for (int i = 0; i < 5; i++) x *= 2 - a * x;
    return x;
}

/* A state whose next output is `want`: the output only depends on s[1]
 * (rotl(s1 * 5, 7) * 9), which is invertible. */
static void rng_state_for(clv__rng *r, uint64_t want)
{
    uint64_t v = want * inv_odd(9);
    v = (v >> 7) | (v << 57);   /* rotr 7 */
    r->s[0] = 0x0123456789abcdefULL;
    r->s[1] = v * inv_odd(5);
    r->s[2] = 0x1111111111111111ULL;
    r->s[3] = 0x2222222222222222ULL;
}

START_TEST(rng_range_and_extremes)
{
    clv__rng r;
    /* Largest uniform: (2^24 - 1) / 2^24, still < 1. */
    rng_state_for(&r, UINT64_MAX);
    {
        clv__rng probe = r;
        ck_assert_uint_eq(clv__rng_next(&probe), UINT64_MAX);   /* the helper works */
    }
    {
        clv__rng probe = r;
        float u = clv__rng_uniform(&probe);
        ck_assert_msg(u < 1.0f && u == 1.0f - 1.0f / 16777216.0f, "max uniform = %.9g", (double)u);
    }
    {
        clv__rng probe = r;
        float v = clv__rng_range(&probe, -2.0f, 3.0f);   /* -2 + 5 (1 - 2^-24) */
        ck_assert_msg(v < 3.0f && v >= 3.0f - 4e-7f, "range(-2, 3) at the largest uniform = %.9g", (double)v);
    }
    /* Smallest: 0 exactly, so range gives lo. */
    rng_state_for(&r, 0);
    {
        clv__rng probe = r;
        ck_assert_float_eq(clv__rng_uniform(&probe), 0.0f);
        probe = r;
        ck_assert_float_eq(clv__rng_range(&probe, -2.5f, 4.0f), -2.5f);
    }
    /* Normal with the smallest u1 (2^-53): finite, |z| <= sqrt(106 ln 2). */
    {
        clv__rng probe = r;
        double z = clv__rng_normal(&probe);
        ck_assert_msg(isfinite(z) && fabs(z) <= 8.5718, "normal at u1 = 2^-53: %g", z);
    }

    /* Statistical range checks. */
    static const float los[] = { -2.0f, -0.125f, 10.0f }, his[] = { 3.0f, 0.125f, 10.5f };
    for (int k = 0; k < 3; k++) {
        clv__rng_seed(&r, 500 + (uint64_t)k);
        double sum = 0;
        float vmin = his[k], vmax = los[k];
        for (int i = 0; i < NDRAWS; i++) {
            float v = clv__rng_range(&r, los[k], his[k]);
            REQUIRE(v >= los[k] && v < his[k], "range(%g, %g) draw %d = %.9g", (double)los[k],
                    (double)his[k], i, (double)v);
            sum += v;
            vmin = fminf(vmin, v);
            vmax = fmaxf(vmax, v);
        }
        double width = (double)his[k] - los[k], mean = sum / NDRAWS;
        ck_assert_msg(fabs(mean - (los[k] + width / 2)) <= 5 * width * sqrt(1.0 / 12 / NDRAWS),
                      "range(%g, %g) mean %.6f", (double)los[k], (double)his[k], mean);
        /* The draws reach both ends: P(no draw in the top 1e-4) = e^-10. */
        ck_assert_msg(vmin <= los[k] + 1e-4 * width && vmax >= his[k] - 1e-4 * width,
                      "range(%g, %g) spans only [%.9g, %.9g]", (double)los[k], (double)his[k],
                      (double)vmin, (double)vmax);
    }
}
END_TEST

/* [lo, hi) must hold even for the largest uniform. With lo = 1, hi = 2 the
 * exact value 2 - 2^-24 is halfway between the floats 2 - 2^-23 and 2, so a
 * plain float lo + (hi - lo) * u rounds to 2 = hi (regression test). */
START_TEST(rng_range_excludes_hi)
{
    static const float los[] = { -2.0f, 0.0f, 1.0f, 3.0f, -1.0f }, his[] = { 3.0f, 1.0f, 2.0f, 4.0f, 1.0f };
    for (int k = 0; k < 5; k++) {
        clv__rng r;
        rng_state_for(&r, UINT64_MAX);
        float v = clv__rng_range(&r, los[k], his[k]);
        ck_assert_msg(v >= los[k] && v < his[k], "clv__rng_range(%g, %g) at the largest uniform = %.9g",
                      (double)los[k], (double)his[k], (double)v);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* 6. Errors                                                           */

START_TEST(error_set_and_clear)
{
    clv_clear_error();
    ck_assert_ptr_nonnull(clv_last_error());
    ck_assert_str_eq(clv_last_error(), "");
    ck_assert_int_eq(clv_last_error_code(), CLV_OK);

    ck_assert_int_eq(clv__error(CLV_EFORMAT, "row %d: bad amount '%s'", 17, "x1"), CLV_EFORMAT);
    ck_assert_str_eq(clv_last_error(), "row 17: bad amount 'x1'");
    ck_assert_int_eq(clv_last_error_code(), CLV_EFORMAT);

    /* A later error replaces the earlier one. */
    ck_assert_int_eq(clv__error(CLV_ESTATE, "%s", "backward before forward"), CLV_ESTATE);
    ck_assert_str_eq(clv_last_error(), "backward before forward");
    ck_assert_int_eq(clv_last_error_code(), CLV_ESTATE);

    clv_clear_error();
    ck_assert_ptr_nonnull(clv_last_error());
    ck_assert_str_eq(clv_last_error(), "");
    ck_assert_int_eq(clv_last_error_code(), CLV_OK);

    /* Messages longer than the buffer are truncated, never overrun. */
    char longmsg[2000];
    memset(longmsg, 'a', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    ck_assert_int_eq(clv__error(CLV_EIO, "%s", longmsg), CLV_EIO);
    size_t len = strlen(clv_last_error());
    ck_assert_uint_gt(len, 100);
    ck_assert_uint_lt(len, sizeof longmsg - 1);
    ck_assert_int_eq(strncmp(clv_last_error(), longmsg, len), 0);

    /* Out of memory: fixed message, fixed code. */
    ck_assert_int_eq(clv__oom(), CLV_ENOMEM);
    ck_assert_str_eq(clv_last_error(), "out of memory");
    ck_assert_int_eq(clv_last_error_code(), CLV_ENOMEM);
}
END_TEST

static int check_arg_helper(int n)
{
    CLV__CHECK_ARG(n > 0, "n = %d must be positive", n);
    return CLV_OK;
}

static int try_helper(int n)
{
    CLV__TRY(check_arg_helper(n));
    return 42;
}

START_TEST(error_macros)
{
    clv_clear_error();
    ck_assert_int_eq(check_arg_helper(3), CLV_OK);
    ck_assert_int_eq(clv_last_error_code(), CLV_OK);
    ck_assert_int_eq(check_arg_helper(-4), CLV_EINVAL);
    ck_assert_str_eq(clv_last_error(), "n = -4 must be positive");
    ck_assert_int_eq(try_helper(1), 42);
    ck_assert_int_eq(try_helper(0), CLV_EINVAL);
    ck_assert_str_eq(clv_last_error(), "n = 0 must be positive");
}
END_TEST

struct thread_arg {
    int code;
    const char *msg;
    pthread_barrier_t *barrier;
    int fresh_ok;      /* last error was "" / CLV_OK before setting */
    int code_seen;
    char msg_seen[64];
};

static void *error_thread(void *p)
{
    struct thread_arg *t = p;
    const char *fresh = clv_last_error();
    t->fresh_ok = fresh != NULL && fresh[0] == '\0' && clv_last_error_code() == CLV_OK;
    (void)clv__error(t->code, "thread says %s", t->msg);
    /* Both threads have set their error before either reads. */
    pthread_barrier_wait(t->barrier);
    t->code_seen = clv_last_error_code();
    snprintf(t->msg_seen, sizeof t->msg_seen, "%s", clv_last_error());
    pthread_barrier_wait(t->barrier);
    return NULL;
}

START_TEST(error_thread_local)
{
    (void)clv__error(CLV_ENOTSUP, "main thread");
    pthread_barrier_t barrier;
    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, 2), 0);
    struct thread_arg ta = { CLV_EINVAL, "one", &barrier, 0, 0, "" };
    struct thread_arg tb = { CLV_EIO, "two", &barrier, 0, 0, "" };
    pthread_t t1, t2;
    ck_assert_int_eq(pthread_create(&t1, NULL, error_thread, &ta), 0);
    ck_assert_int_eq(pthread_create(&t2, NULL, error_thread, &tb), 0);
    ck_assert_int_eq(pthread_join(t1, NULL), 0);
    ck_assert_int_eq(pthread_join(t2, NULL), 0);
    pthread_barrier_destroy(&barrier);

    ck_assert_msg(ta.fresh_ok && tb.fresh_ok, "a new thread must start with \"\" / CLV_OK");
    ck_assert_int_eq(ta.code_seen, CLV_EINVAL);
    ck_assert_str_eq(ta.msg_seen, "thread says one");
    ck_assert_int_eq(tb.code_seen, CLV_EIO);
    ck_assert_str_eq(tb.msg_seen, "thread says two");
    /* The main thread's error is its own too. */
    ck_assert_int_eq(clv_last_error_code(), CLV_ENOTSUP);
    ck_assert_str_eq(clv_last_error(), "main thread");
}
END_TEST

START_TEST(error_status_strings)
{
    /* Values are part of the ABI: pinned here. */
    static const struct { int code, value; const char *name; } codes[] = {
        { CLV_OK, 0, "CLV_OK" },           { CLV_EINVAL, -1, "CLV_EINVAL" },
        { CLV_ENOMEM, -2, "CLV_ENOMEM" },   { CLV_EIO, -3, "CLV_EIO" },
        { CLV_EFORMAT, -4, "CLV_EFORMAT" }, { CLV_ESHAPE, -5, "CLV_ESHAPE" },
        { CLV_ESTATE, -6, "CLV_ESTATE" },   { CLV_ENOTSUP, -7, "CLV_ENOTSUP" },
        { CLV_ENUMERIC, -8, "CLV_ENUMERIC" }, { CLV_ECANCELED, -9, "CLV_ECANCELED" },
    };
    enum { NC = sizeof codes / sizeof codes[0] };
    for (int i = 0; i < NC; i++) {
        ck_assert_int_eq(codes[i].code, codes[i].value);
        const char *s = clv_status_str(codes[i].code);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(s[0] != '\0', "empty string for %s", codes[i].name);
        ck_assert_str_ne(s, "unknown status");
        size_t nl = strlen(codes[i].name);
        ck_assert_msg(strncmp(s, codes[i].name, nl) == 0 && (s[nl] == ':' || s[nl] == '\0'),
                      "%s -> '%s' does not start with its name", codes[i].name, s);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, clv_status_str(codes[j].code)) != 0, "%s and %s share '%s'",
                          codes[i].name, codes[j].name, s);
        /* Static storage: the same pointer every time. */
        ck_assert_ptr_eq(s, clv_status_str(codes[i].code));
    }
    static const int unknown[] = { 1, -10, 100, -100, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        ck_assert_str_eq(clv_status_str(unknown[i]), "unknown status");
}
END_TEST

/* ------------------------------------------------------------------ */
/* 7. Allocator hook                                                   */

static struct {
    size_t allocs, frees, last_size;
    void *last_user;
    int fail;
} ctr;
static int user_token;

static void *count_alloc(size_t size, void *user)
{
    ctr.allocs++;
    ctr.last_size = size;
    ctr.last_user = user;
    return ctr.fail ? NULL : malloc(size);
}

static void count_free(void *ptr, void *user)
{
    ctr.frees++;
    ctr.last_user = user;
    free(ptr);
}

static void install_counting(void)
{
    memset(&ctr, 0, sizeof ctr);
    clv_allocator al = { sizeof(clv_allocator), count_alloc, count_free, &user_token };
    ck_assert_int_eq(clv_set_allocator(&al), CLV_OK);
}

static void restore_default_allocator(void)
{
    if (clv_set_allocator(NULL) != CLV_OK) abort();
}

START_TEST(alloc_hook_routes_everything)
{
    install_counting();
    void *p = clv__malloc(100);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(ctr.allocs, 1);
    ck_assert_uint_eq(ctr.last_size, 100);
    ck_assert_ptr_eq(ctr.last_user, &user_token);
    memset(p, 0xab, 100);
    clv__free(p);
    ck_assert_uint_eq(ctr.frees, 1);

    unsigned char *z = clv__calloc(8, 16);
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_eq(ctr.allocs, 2);
    ck_assert_uint_ge(ctr.last_size, 128);
    for (int i = 0; i < 128; i++) ck_assert_uint_eq(z[i], 0);
    clv_free(z);   /* the public free goes through the hook too */
    ck_assert_uint_eq(ctr.frees, 2);

    clv__free(NULL);
    clv_free(NULL);
    ck_assert_uint_eq(ctr.frees, 2);   /* NULL never reaches the callback */

    void *zero = clv__malloc(0);   /* a real, freeable pointer */
    ck_assert_ptr_nonnull(zero);
    clv__free(zero);

    /* The arena allocates and frees through the hook. */
    clv__arena a;
    clv__arena_init(&a);
    size_t allocs_before = ctr.allocs;
    ck_assert_int_eq(clv__arena_reserve(&a, 1000), CLV_OK);
    ck_assert_uint_eq(ctr.allocs, allocs_before + 1);
    /* The block really holds `cap` bytes from its first 64-byte boundary. */
    uintptr_t start = ((uintptr_t)a.base + 63) & ~(uintptr_t)63;
    ck_assert_msg(start + a.cap <= (uintptr_t)a.base + ctr.last_size,
                  "cap %zu but only %zu bytes after alignment", a.cap,
                  (size_t)((uintptr_t)a.base + ctr.last_size - start));
    ck_assert_int_eq(clv__arena_reserve(&a, 5000), CLV_OK);
    clv__arena_free(&a);
    ck_assert_uint_eq(ctr.allocs, ctr.frees);

    /* NULL restores malloc/free: the counters stop moving. */
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
    size_t before = ctr.allocs;
    p = clv__malloc(10);
    ck_assert_ptr_nonnull(p);
    clv__free(p);
    ck_assert_uint_eq(ctr.allocs, before);
    ck_assert_uint_eq(ctr.frees, before);
    restore_default_allocator();
}
END_TEST

START_TEST(alloc_hook_rejects_bad_allocators)
{
    install_counting();
    clv_allocator bad = { sizeof(clv_allocator), NULL, count_free, NULL };
    clv_clear_error();
    ck_assert_int_eq(clv_set_allocator(&bad), CLV_EINVAL);
    ck_assert_int_eq(clv_last_error_code(), CLV_EINVAL);
    ck_assert_msg(strstr(clv_last_error(), "clv_set_allocator") != NULL, "message '%s'", clv_last_error());
    bad.alloc = count_alloc;
    bad.free = NULL;
    ck_assert_int_eq(clv_set_allocator(&bad), CLV_EINVAL);
    bad.free = count_free;
    bad.struct_size = 0;
    ck_assert_int_eq(clv_set_allocator(&bad), CLV_EINVAL);
    bad.struct_size = sizeof(clv_allocator) - 1;
    ck_assert_int_eq(clv_set_allocator(&bad), CLV_EINVAL);
    ck_assert_msg(strstr(clv_last_error(), "struct_size") != NULL, "message '%s'", clv_last_error());

    /* A refused allocator leaves the previous one in place. */
    void *p = clv__malloc(8);
    ck_assert_uint_eq(ctr.allocs, 1);
    clv__free(p);
    ck_assert_uint_eq(ctr.frees, 1);
    restore_default_allocator();
}
END_TEST

START_TEST(alloc_overflow_and_failure)
{
    install_counting();
    /* n * size overflows: NULL before any allocation is attempted. */
    ck_assert_ptr_null(clv__calloc(SIZE_MAX / 2, 4));
    ck_assert_ptr_null(clv__calloc(4, SIZE_MAX / 2));
    ck_assert_uint_eq(ctr.allocs, 0);

    /* A failing allocator turns into CLV_ENOMEM with the static message. */
    ctr.fail = 1;
    ck_assert_ptr_null(clv__malloc(16));
    ck_assert_ptr_null(clv__calloc(4, 4));
    clv__arena a;
    clv__arena_init(&a);
    clv_clear_error();
    ck_assert_int_eq(clv__arena_reserve(&a, 256), CLV_ENOMEM);
    ck_assert_int_eq(clv_last_error_code(), CLV_ENOMEM);
    ck_assert_str_eq(clv_last_error(), "out of memory");
    ck_assert_ptr_null(a.base);
    ck_assert_uint_eq(a.cap, 0);
    clv__arena_free(&a);
    ck_assert_uint_eq(ctr.frees, 0);
    restore_default_allocator();
}
END_TEST

/* ------------------------------------------------------------------ */
/* 8. Version and BLAS threads                                         */

START_TEST(version_matches_macros)
{
    ck_assert_str_eq(clv_version(), CLV_VERSION_STRING);
    ck_assert_uint_eq(clv_version_number(), (uint32_t)CLV_VERSION_NUMBER);
    ck_assert_uint_eq(clv_abi_version(), (uint32_t)CLV_ABI_VERSION);
    /* Independent: parse the string. */
    unsigned maj, min, pat;
    char tail;
    ck_assert_int_eq(sscanf(clv_version(), "%u.%u.%u%c", &maj, &min, &pat, &tail), 3);
    ck_assert_uint_eq(maj, CLV_VERSION_MAJOR);
    ck_assert_uint_eq(min, CLV_VERSION_MINOR);
    ck_assert_uint_eq(pat, CLV_VERSION_PATCH);
    ck_assert_uint_eq(clv_version_number(), maj * 10000u + min * 100u + pat);
    ck_assert_msg(min < 100 && pat < 100, "version %s does not fit MAJOR*10000+MINOR*100+PATCH", clv_version());
    ck_assert(CLV_VERSION_CHECK(0, 0, 0));
    ck_assert(CLV_VERSION_CHECK(CLV_VERSION_MAJOR, CLV_VERSION_MINOR, CLV_VERSION_PATCH));
    ck_assert(!CLV_VERSION_CHECK(CLV_VERSION_MAJOR, CLV_VERSION_MINOR, CLV_VERSION_PATCH + 1));
    ck_assert(!CLV_VERSION_CHECK(CLV_VERSION_MAJOR + 1, 0, 0));
    /* While 0.x the soname major is 0. */
    if (CLV_VERSION_MAJOR == 0) ck_assert_uint_eq(clv_abi_version(), 0);
}
END_TEST

START_TEST(blas_threads)
{
    clv_clear_error();
    ck_assert_int_eq(clv_blas_set_num_threads(0), CLV_EINVAL);
    ck_assert_int_eq(clv_last_error_code(), CLV_EINVAL);
    ck_assert_msg(strstr(clv_last_error(), "clv_blas_set_num_threads") != NULL, "message '%s'",
                  clv_last_error());
    ck_assert_int_eq(clv_blas_set_num_threads(-3), CLV_EINVAL);
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    ck_assert_int_eq(clv_blas_num_threads(), 1);
    ck_assert_int_ge(clv_blas_num_threads(), 1);

    /* One thread: identical calls give identical bits. */
    enum { M = 70, K = 90, N = 50 };
    float *a = xmalloc_floats(M * K), *b = xmalloc_floats(K * N);
    float *c1 = xmalloc_floats(M * N), *c2 = xmalloc_floats(M * N);
    clv_test_fill(a, M * K, 1, -1, 1);
    clv_test_fill(b, K * N, 2, -1, 1);
    clv__gemm(0, 0, M, N, K, 1.0f, a, K, b, N, 0.0f, c1, N);
    clv__gemm(0, 0, M, N, K, 1.0f, a, K, b, N, 0.0f, c2, N);
    ck_assert_mem_eq(c1, c2, sizeof(float) * M * N);
    free(a);
    free(b);
    free(c1);
    free(c2);
}
END_TEST

/* ------------------------------------------------------------------ */

/* The vectorised sigmoid/tanh of core/gates.c against libm in double, over
 * the range an LSTM meets and beyond (saturation), plus NaN propagation. */
START_TEST(fast_gates_accuracy)
{
    enum { N = 20001 };
    static float x[N], ys[N], yt[N];
    for (int i = 0; i < N; i++) x[i] = -100.0f + 200.0f * (float)i / (N - 1);
    x[N / 2 + 1] = 1e-30f;
    x[N / 2 + 2] = -3e-5f;
    clv__vec_sigmoid_fast(ys, x, N);
    clv__vec_tanh_fast(yt, x, N);
    for (int i = 0; i < N; i++) {
        double s = 1.0 / (1.0 + exp(-(double)x[i])), t = tanh((double)x[i]);
        REQUIRE(fabs(ys[i] - s) <= 2e-7 * (s > 1e-30 ? s : 1e-30) + 1e-38, "sigmoid(%g) = %g, want %g",
                (double)x[i], (double)ys[i], s);
        REQUIRE(fabs(yt[i] - t) <= 3e-7 * fabs(t) + 1e-37, "tanh(%g) = %g, want %g", (double)x[i],
                (double)yt[i], t);
    }
    float nan_in[17], nan_out[17];
    for (int i = 0; i < 17; i++) nan_in[i] = (float)i;
    nan_in[3] = NAN;
    clv__vec_sigmoid_fast(nan_out, nan_in, 17);
    ck_assert(isnan(nan_out[3]) && !isnan(nan_out[4]));
    clv__vec_tanh_fast(nan_out, nan_in, 17);
    ck_assert(isnan(nan_out[3]) && !isnan(nan_out[4]));
}
END_TEST

/* clv__gemv2 (the batch-1 path) against the double-accumulating oracle, on
 * sizes that hit the 16-row blocks, masked tails and the scalar remainder,
 * in both row orders. */
START_TEST(gemv2_matches_reference)
{
    static const uint32_t shapes[][3] = { { 256, 16, 64 }, { 37, 19, 5 }, { 16, 3, 0 }, { 5, 64, 64 } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        uint32_t rows = shapes[s][0], k1 = shapes[s][1], k2 = shapes[s][2];
        float *w1 = malloc((size_t)rows * k1 * sizeof(float)), *w2 = malloc(((size_t)rows * k2 + 1) * sizeof(float));
        float v1[64], v2[64], y[256], r1[256], r2[256];
        clv_test_fill(w1, (size_t)rows * k1, 1 + (uint32_t)s, -1, 1);
        clv_test_fill(w2, (size_t)rows * k2 + 1, 2 + (uint32_t)s, -1, 1);
        clv_test_fill(v1, 64, 3, -1, 1);
        clv_test_fill(v2, 64, 4, -1, 1);
        for (uint32_t n = 0; n < rows; n++) y[n] = 0.5f;
        clv__gemv2(y, rows, w1, k1, v1, k2 ? w2 : NULL, k2, k2 ? v2 : NULL, (int)(s & 1), 0);
        if (s & 1)
            for (uint32_t n = 0; n < rows; n++) y[n] -= 0.5f;
        /* Rows visited last to first give the same bits. */
        float yb[256];
        for (uint32_t n = 0; n < rows; n++) yb[n] = 0.5f;
        clv__gemv2(yb, rows, w1, k1, v1, k2 ? w2 : NULL, k2, k2 ? v2 : NULL, (int)(s & 1), 1);
        if (s & 1)
            for (uint32_t n = 0; n < rows; n++) yb[n] -= 0.5f;
        ck_assert_mem_eq(yb, y, rows * sizeof(float));
        clv__gemm_ref(0, 1, 1, rows, k1, 1.0f, v1, k1, w1, k1, 0.0f, r1, rows);
        for (uint32_t n = 0; n < rows; n++) r2[n] = 0.0f;
        if (k2) clv__gemm_ref(0, 1, 1, rows, k2, 1.0f, v2, k2, w2, k2, 0.0f, r2, rows);
        for (uint32_t n = 0; n < rows; n++)
            REQUIRE(fabsf(y[n] - (r1[n] + r2[n])) <= 1e-5f, "shape %zu row %u: %g vs %g", s, n,
                    (double)y[n], (double)(r1[n] + r2[n]));
        free(w1);
        free(w2);
    }
}
END_TEST

/* clv__packmm (the per-step products of LSTM layers) against the
 * double-accumulating oracle: two sources or one, with and without C
 * accumulated, W packed from [n][k] or from its transpose; shapes that hit
 * the 6-row blocks and their tails, partial 64-column panels and strided
 * operands. The fast kernel (when the CPU has it) and the portable loops
 * are both checked, and one row's result must not depend on how many rows
 * came with it. */
START_TEST(packmm_matches_reference)
{
    static const uint32_t shapes[][4] = {   /* m, n, k1, k2 */
        { 64, 256, 16, 64 }, { 13, 40, 5, 10 }, { 7, 512, 0, 128 }, { 1, 64, 3, 0 },
        { 25, 130, 80, 33 },
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const uint32_t m = shapes[s][0], n = shapes[s][1], k1 = shapes[s][2], k2 = shapes[s][3];
        const size_t lda1 = k1 + 3, lda2 = k2 + 1, ldc = n + 5;
        float *a1 = malloc((m * lda1 + 1) * sizeof(float)), *a2 = malloc((m * lda2 + 1) * sizeof(float));
        float *w1 = malloc(((size_t)n * k1 + 1) * sizeof(float)), *w2 = malloc(((size_t)n * k2 + 1) * sizeof(float));
        float *w2t = malloc(((size_t)n * k2 + 1) * sizeof(float));
        float *p1 = malloc((clv__packmm_size(n, k1) + 1) * sizeof(float));
        float *p2 = malloc((clv__packmm_size(n, k2) + 1) * sizeof(float));
        float *p2t = malloc((clv__packmm_size(n, k2) + 1) * sizeof(float));
        float *c0 = malloc(m * ldc * sizeof(float)), *c = malloc(m * ldc * sizeof(float));
        float *r = malloc(m * ldc * sizeof(float)), *r2 = malloc(m * ldc * sizeof(float));
        float *one = malloc(ldc * sizeof(float));
        clv_test_fill(a1, m * lda1 + 1, 11 + (uint32_t)s, -1, 1);
        clv_test_fill(a2, m * lda2 + 1, 12 + (uint32_t)s, -1, 1);
        clv_test_fill(w1, (size_t)n * k1 + 1, 13 + (uint32_t)s, -1, 1);
        clv_test_fill(w2, (size_t)n * k2 + 1, 14 + (uint32_t)s, -1, 1);
        clv_test_fill(c0, m * ldc, 15 + (uint32_t)s, -1, 1);
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t k = 0; k < k2; k++) w2t[(size_t)k * n + i] = w2[(size_t)i * k2 + k];
        clv__packmm_pack(p1, w1, n, k1, k1);
        clv__packmm_pack(p2, w2, n, k2, k2);
        clv__packmm_pack_t(p2t, w2t, n, k2, n);
        ck_assert_mem_eq(p2t, p2, clv__packmm_size(n, k2) * sizeof(float));
        for (int accumulate = 0; accumulate <= 1; accumulate++)
            for (int portable = 0; portable <= 1; portable++) {
                memcpy(c, c0, m * ldc * sizeof(float));
                (portable ? clv__packmm_portable : clv__packmm)(m, n, k1 ? a1 : NULL, lda1, k1,
                                                                k1 ? p1 : NULL, k2 ? a2 : NULL,
                                                                lda2, k2, k2 ? p2 : NULL,
                                                                accumulate, c, ldc);
                memcpy(r, c0, m * ldc * sizeof(float));
                clv__gemm_ref(0, 1, m, n, k1, 1.0f, a1, lda1, w1, k1, accumulate ? 1.0f : 0.0f, r, ldc);
                memset(r2, 0, m * ldc * sizeof(float));
                clv__gemm_ref(0, 1, m, n, k2, 1.0f, a2, lda2, w2, k2, 0.0f, r2, ldc);
                for (uint32_t i = 0; i < m; i++)
                    for (uint32_t j = 0; j < ldc; j++) {
                        const size_t e = (size_t)i * ldc + j;
                        if (j >= n) {   /* past n: untouched */
                            REQUIRE(c[e] == c0[e], "shape %zu: C[%u][%u] written", s, i, j);
                            continue;
                        }
                        const float want = r[e] + r2[e];
                        REQUIRE(fabsf(c[e] - want) <= 2e-5f * (1.0f + fabsf(want)),
                                "shape %zu acc %d portable %d: C[%u][%u] = %g, want %g", s,
                                accumulate, portable, i, j, (double)c[e], (double)want);
                    }
                /* The last row alone gives the same bits as within the block. */
                const size_t last = (size_t)(m - 1);
                memcpy(one, c0 + last * ldc, ldc * sizeof(float));
                (portable ? clv__packmm_portable : clv__packmm)(
                    1, n, k1 ? a1 + last * lda1 : NULL, lda1, k1, k1 ? p1 : NULL,
                    k2 ? a2 + last * lda2 : NULL, lda2, k2, k2 ? p2 : NULL, accumulate, one, ldc);
                ck_assert_mem_eq(one, c + last * ldc, n * sizeof(float));
            }
        free(a1), free(a2), free(w1), free(w2), free(w2t), free(p1), free(p2), free(p2t);
        free(c0), free(c), free(r), free(r2), free(one);
    }
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc;

#define ADD_CASE(name, fn)                  \
    do {                                    \
        tc = tcase_create(name);            \
        tcase_add_test(tc, fn);             \
        suite_add_tcase(s, tc);             \
    } while (0)

    ADD_CASE("gemm_hand_worked", gemm_hand_worked);
    ADD_CASE("fast_gates_accuracy", fast_gates_accuracy);
    ADD_CASE("gemv2_matches_reference", gemv2_matches_reference);
    ADD_CASE("packmm_matches_reference", packmm_matches_reference);
    ADD_CASE("gemm_beta_zero_ignores_nan", gemm_beta_zero_ignores_nan);
    ADD_CASE("gemm_matches_reference_fixed_shapes", gemm_matches_reference_fixed_shapes);
    ADD_CASE("gemm_matches_reference_random_shapes", gemm_matches_reference_random_shapes);
    ADD_CASE("gemm_degenerate_sizes", gemm_degenerate_sizes);
    ADD_CASE("gemm_tensor_form", gemm_tensor_form);
    ADD_CASE("gemm_tensor_shape_mismatch", gemm_tensor_shape_mismatch);
    ADD_CASE("gemv_both_transposes", gemv_both_transposes);

    ADD_CASE("tensor_constructors", tensor_constructors);
    ADD_CASE("tensor_numel_overflow", tensor_numel_overflow);
    ADD_CASE("tensor_slices", tensor_slices);

    ADD_CASE("arena_two_pass_layout", arena_two_pass_layout);
    ADD_CASE("arena_overflow_flag", arena_overflow_flag);

    ADD_CASE("ops_activations", ops_activations);
    ADD_CASE("ops_sigmoid_extremes", ops_sigmoid_extremes);
    ADD_CASE("ops_softplus", ops_softplus);
    ADD_CASE("ops_derivatives_and_arith", ops_derivatives_and_arith);
    ADD_CASE("ops_reductions_in_double", ops_reductions_in_double);
    ADD_CASE("ops_rows_with_leading_dimension", ops_rows_with_leading_dimension);
    ADD_CASE("ops_all_finite", ops_all_finite);

    ADD_CASE("rng_stream_frozen", rng_stream_frozen);
    ADD_CASE("rng_same_seed_same_sequence", rng_same_seed_same_sequence);
    ADD_CASE("rng_uniform_moments", rng_uniform_moments);
    ADD_CASE("rng_normal_moments", rng_normal_moments);
    ADD_CASE("rng_range_and_extremes", rng_range_and_extremes);
    ADD_CASE("rng_range_excludes_hi", rng_range_excludes_hi);

    ADD_CASE("error_set_and_clear", error_set_and_clear);
    ADD_CASE("error_macros", error_macros);
    ADD_CASE("error_thread_local", error_thread_local);
    ADD_CASE("error_status_strings", error_status_strings);

    /* The allocator is process-wide: every allocator test restores the
     * default itself, and the fixture does it again should an assert fire. */
    tc = tcase_create("alloc_hook_routes_everything");
    tcase_add_checked_fixture(tc, NULL, restore_default_allocator);
    tcase_add_test(tc, alloc_hook_routes_everything);
    suite_add_tcase(s, tc);
    tc = tcase_create("alloc_hook_rejects_bad_allocators");
    tcase_add_checked_fixture(tc, NULL, restore_default_allocator);
    tcase_add_test(tc, alloc_hook_rejects_bad_allocators);
    suite_add_tcase(s, tc);
    tc = tcase_create("alloc_overflow_and_failure");
    tcase_add_checked_fixture(tc, NULL, restore_default_allocator);
    tcase_add_test(tc, alloc_overflow_and_failure);
    suite_add_tcase(s, tc);

    ADD_CASE("version_matches_macros", version_matches_macros);
    ADD_CASE("blas_threads", blas_threads);
#undef ADD_CASE
    return s;
}

int main(void)
{
    return clv_test_run(core_suite());
}
