#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../clv_internal.h"

/* Thread-local so that concurrent inference on a shared model reports each
 * thread's own failure (libgit2's model). Fixed size: reporting never allocates. */
static _Thread_local char last_msg[512];
static _Thread_local int last_code;

int clv__error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    last_code = status;
    return status;
}

int clv__oom(void)
{
    static const char msg[] = "out of memory";
    memcpy(last_msg, msg, sizeof msg);
    last_code = CLV_ENOMEM;
    return CLV_ENOMEM;
}

CLV_API const char *clv_last_error(void) { return last_msg; }
CLV_API int clv_last_error_code(void) { return last_code; }

CLV_API void clv_clear_error(void)
{
    last_msg[0] = '\0';
    last_code = CLV_OK;
}

CLV_API const char *clv_status_str(int status)
{
    switch (status) {
    case CLV_OK: return "CLV_OK: success";
    case CLV_EINVAL: return "CLV_EINVAL: invalid argument";
    case CLV_ENOMEM: return "CLV_ENOMEM: out of memory";
    case CLV_EIO: return "CLV_EIO: input/output error";
    case CLV_EFORMAT: return "CLV_EFORMAT: malformed file or record";
    case CLV_ESHAPE: return "CLV_ESHAPE: shapes do not agree";
    case CLV_ESTATE: return "CLV_ESTATE: call made in the wrong order";
    case CLV_ENOTSUP: return "CLV_ENOTSUP: not supported";
    case CLV_ENUMERIC: return "CLV_ENUMERIC: NaN or Inf arose";
    case CLV_ECANCELED: return "CLV_ECANCELED: canceled by the caller";
    default: return "unknown status";
    }
}
