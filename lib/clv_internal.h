/* Private to libclv: error helpers, allocation, checked arithmetic.
 * Never installed; sources include it, public headers never do. */
#ifndef CLV_INTERNAL_H
#define CLV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "clv/clv.h"

#if defined(__GNUC__)
#define CLV__PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CLV__LIKELY(x) __builtin_expect(!!(x), 1)
#define CLV__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CLV__PRINTF(a, b)
#define CLV__LIKELY(x) (x)
#define CLV__UNLIKELY(x) (x)
#endif

/* Record status + message for this thread and return status, so that error
 * paths read `return clv__error(CLV_EINVAL, "...", ...);`. */
int clv__error(int status, const char *fmt, ...) CLV__PRINTF(2, 3);
/* Out-of-memory needs no allocation to report. */
int clv__oom(void);

#define CLV__CHECK_ARG(cond, ...) \
    do { if (CLV__UNLIKELY(!(cond))) return clv__error(CLV_EINVAL, __VA_ARGS__); } while (0)
#define CLV__TRY(expr) \
    do { int clv__rc_ = (expr); if (CLV__UNLIKELY(clv__rc_ != CLV_OK)) return clv__rc_; } while (0)

void *clv__malloc(size_t size);
void *clv__calloc(size_t n, size_t size);
void clv__free(void *ptr);
/* Grow *buf (holding *cap elements of `elem` bytes) to hold at least `need`,
 * doubling; contents are kept. The allocator hook has no realloc, so this
 * copies; the doubling keeps that amortised O(1). CLV_OK or CLV_ENOMEM. */
int clv__grow(void **buf, uint64_t *cap, uint64_t need, size_t elem);

/* Multiply sizes, reporting overflow: returns 0 and sets *out, or -1. */
static inline int clv__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

/* Non-zero when an options struct `o` of type `type` (first member
 * struct_size) is large enough to hold `field`: readers take only the fields
 * an older caller's struct has and default the rest. */
#define CLV__HAS_FIELD(type, o, field) \
    ((o)->struct_size >= offsetof(type, field) + sizeof((o)->field))

/* Monotonic wall clock in seconds (training progress, backtest timings). */
double clv__now_seconds(void);

/* Non-zero when every x[0..n) is finite; *bad receives the first offender. */
int clv__all_finite(const float *x, size_t n, size_t *bad);

#endif
