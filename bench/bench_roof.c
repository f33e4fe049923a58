/* The roof for bench/run roof: OpenBLAS cblas_sgemm alone on the GEMM shapes
 * of one LSTM training step (B=256, T=52, F=16, hidden H), with the layouts
 * and transposes libclv uses (row-major, time-major activations):
 *
 *   forward   X[TB][F] W_ih^T             -> A[TB][4H]      once
 *             h_t[B][H] W_hh^T (beta 1)   -> A_t[B][4H]     T times
 *   backward  dA_t[B][4H] W_hh (beta 1)   -> dh[B][H]       T times
 *             dA^T X                      -> dW_ih[4H][F]   once
 *             dA^T H                      -> dW_hh[4H][H]   once
 *
 * i.e. everything but the elementwise work, the head, the loss and Adam.
 *
 *   bench_roof H THREADS [B=256]   (THREADS = OpenBLAS threads)
 *
 * Prints "roof H threads B ms/step GFLOP/s=..." where GFLOP/s counts the
 * flops of these products. This program calls BLAS directly on purpose: it
 * measures BLAS, not libclv. */
#define _POSIX_C_SOURCE 200809L

#include <cblas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { F = 16, T = 52 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *arr(size_t n, float v)
{
    float *a = malloc(n * sizeof *a);
    if (!a) exit(1);
    for (size_t i = 0; i < n; i++) a[i] = v * (float)((i * 2654435761u) % 1000) / 1000.0f;
    return a;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_roof H THREADS [B]\n");
        return 2;
    }
    const int H = atoi(argv[1]), threads = atoi(argv[2]);
    const int B = argc > 3 ? atoi(argv[3]) : 256;
    if (H < 1 || threads < 1 || B < 1) return 2;
    openblas_set_num_threads(threads);
    const int G = 4 * H, TB = T * B;
    float *x = arr((size_t)TB * F, 0.1f), *wih = arr((size_t)G * F, 0.1f), *whh = arr((size_t)G * H, 0.1f);
    float *act = arr((size_t)TB * G, 0.01f), *h = arr((size_t)(T + 1) * B * H, 0.1f);
    float *dh = arr((size_t)B * H, 0.0f), *dwih = arr((size_t)G * F, 0.0f), *dwhh = arr((size_t)G * H, 0.0f);
    const double flops = 2.0 * TB * G * F + 2.0 * T * B * G * H * 2 + 2.0 * G * F * TB + 2.0 * G * H * TB;

#define STEP()                                                                                        \
    do {                                                                                              \
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, TB, G, F, 1.0f, x, F, wih, F, 0.0f, act, G); \
        for (int t = 0; t < T; t++)                                                                   \
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H, 1.0f, h + (size_t)t * B * H, H, \
                        whh, H, 1.0f, act + (size_t)t * B * G, G);                                    \
        for (int t = T; t-- > 0;)                                                                     \
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G, 1.0f, act + (size_t)t * B * G, \
                        G, whh, H, 1.0f, dh, H);                                                      \
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, F, TB, 1.0f, act, G, x, F, 1.0f, dwih, F); \
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, TB, 1.0f, act, G, h, H, 1.0f, dwhh, H); \
    } while (0)

    for (int i = 0; i < 3; i++) STEP();
    int n = 0;
    double t0 = now(), el;
    for (;;) {
        STEP();
        n++;
        el = now() - t0;
        if (el >= 1.0 && n >= 3) break;
    }
    double s = el / n;
    printf("roof\t%d\t%d\t%d\t%.2f\tms/step\tGFLOP/s=%.2f\tgemm_gflop=%.4f\tsteps=%d\n", H, threads, B, s * 1e3,
           flops / s * 1e-9, flops * 1e-9, n);
    free(x), free(wih), free(whh), free(act), free(h), free(dh), free(dwih), free(dwhh);
    return 0;
}
