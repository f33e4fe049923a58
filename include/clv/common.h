/**
 * @file common.h
 * @brief Export macros, handle typedefs, the allocator hook and BLAS threading.
 *
 * Conventions used by every libclv header:
 * - Fallible functions return an `int` status (0 = CLV_OK, negative = error,
 *   see error.h); outputs come first and are named `out`.
 * - Handles are opaque; `clv_X_new` creates, `clv_X_free` releases and accepts NULL.
 * - Options structs start with `uint32_t struct_size`, are filled by
 *   `clv_X_options_init()` and only ever grow at the end.
 * - Arrays are plain `float*`/`int32_t*` buffers with explicit shapes, row-major.
 *   Input arrays are borrowed for the call only.
 * - No struct is passed by value, no varargs, no `bool`: every call can be made
 *   from Python ctypes or Go cgo as is.
 */
#ifndef CLV_COMMON_H
#define CLV_COMMON_H

#include <stddef.h>
#include <stdint.h>

/**
 * @def CLV_API
 * Marks a function as part of the public ABI: exported from libclv.so with
 * default visibility (everything else is hidden), dllexport/dllimport on Windows.
 *
 * @def CLV_NODISCARD
 * On a function returning a status: the compiler warns when the status is
 * ignored (GCC and Clang), because an unchecked failure leaves outputs unset.
 *
 * @def CLV_DEPRECATED
 * On a function that will go at the next ABI major: the compiler warns on use
 * and prints `msg`, which names the replacement.
 *
 * @def CLV_BEGIN_DECLS
 * Opens `extern "C" {` when the header is read by a C++ compiler, so that the
 * functions keep their C names; nothing in C.
 *
 * @def CLV_END_DECLS
 * Closes what CLV_BEGIN_DECLS opened.
 */

#if defined(_WIN32) && defined(CLV_BUILDING)
#define CLV_API __declspec(dllexport)
#elif defined(_WIN32)
#define CLV_API __declspec(dllimport)
#elif defined(__GNUC__)
#define CLV_API __attribute__((visibility("default")))
#else
#define CLV_API
#endif

#if defined(__GNUC__)
#define CLV_NODISCARD __attribute__((warn_unused_result))
#define CLV_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define CLV_NODISCARD
#define CLV_DEPRECATED(msg)
#endif

#ifdef __cplusplus
#define CLV_BEGIN_DECLS extern "C" {
#define CLV_END_DECLS }
#else
#define CLV_BEGIN_DECLS
#define CLV_END_DECLS
#endif

CLV_BEGIN_DECLS

/** A sequence model: a stack of LSTM or GRU layers plus dense heads (model.h). */
typedef struct clv_model clv_model;
/** Caller-owned scratch memory for inference on a shared model (model.h). */
typedef struct clv_workspace clv_workspace;
/** An optimizer's state: Adam, AdamW, SGD, Adagrad or Adadelta (optim.h). */
typedef struct clv_optim clv_optim;

/**
 * Process-wide allocator. All memory libclv allocates goes through it.
 * `alloc` must return memory aligned at least as malloc() does, or NULL.
 */
typedef struct clv_allocator {
    uint32_t struct_size;                              /**< sizeof(clv_allocator) */
    void *(*alloc)(size_t size, void *user_data);      /**< allocate `size` bytes */
    void (*free)(void *ptr, void *user_data);          /**< release (ptr may be NULL) */
    void *user_data;                                   /**< passed to both */
} clv_allocator;

/**
 * Replace the allocator (NULL restores malloc/free).
 * Not thread-safe: call it before any libclv object exists, and never free an
 * object with a different allocator than the one that created it.
 * @return CLV_OK, or CLV_EINVAL when a callback is missing or struct_size is 0.
 */
CLV_API CLV_NODISCARD int clv_set_allocator(const clv_allocator *allocator);

/** Release a buffer that libclv allocated and handed to the caller. NULL is a no-op. */
CLV_API void clv_free(void *ptr);

/**
 * Set OpenBLAS's thread count (process-global; libclv never changes it by itself).
 * Recommended: 1 when the service already runs requests in parallel, or the
 * number of physical cores for one large training job. Not thread-safe.
 * @return CLV_OK or CLV_EINVAL when n < 1.
 */
CLV_API CLV_NODISCARD int clv_blas_set_num_threads(int32_t n);
/** @return OpenBLAS's current thread count. */
CLV_API int32_t clv_blas_num_threads(void);

CLV_END_DECLS

#endif
