/**
 * @file error.h
 * @brief Status codes and the thread-local error message.
 *
 * The status code is the contract; the message is diagnostics for humans.
 * After a failed call, clv_last_error() on the same thread says what and where.
 */
#ifndef CLV_ERROR_H
#define CLV_ERROR_H

#include "common.h"

CLV_BEGIN_DECLS

/** Status codes. Values are fixed forever; new codes are only appended. */
typedef enum clv_status {
    CLV_OK = 0,          /**< success */
    CLV_EINVAL = -1,     /**< invalid argument: NULL, zero or overflowing size, NaN/Inf input */
    CLV_ENOMEM = -2,     /**< out of memory */
    CLV_EIO = -3,        /**< I/O failure */
    CLV_EFORMAT = -4,    /**< malformed file or record */
    CLV_ESHAPE = -5,     /**< shapes do not agree */
    CLV_ESTATE = -6,     /**< call made in the wrong order (e.g. backward before forward) */
    CLV_ENOTSUP = -7,    /**< not supported by this build or this configuration */
    CLV_ENUMERIC = -8,   /**< NaN or Inf arose in a loss, gradient or update */
    CLV_ECANCELED = -9   /**< stopped by the caller's abort callback */
} clv_status;

/** @return a static, human-readable name for a status ("CLV_EINVAL: invalid argument"). */
CLV_API const char *clv_status_str(int status);

/**
 * @return the message of the last failed call on this thread; never NULL
 * ("" when none). Valid until the next libclv call on this thread.
 */
CLV_API const char *clv_last_error(void);

/** @return the status of the last failed call on this thread (CLV_OK when none). */
CLV_API int clv_last_error_code(void);

/** Forget this thread's last error. */
CLV_API void clv_clear_error(void);

CLV_END_DECLS

#endif
