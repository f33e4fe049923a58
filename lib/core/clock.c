/* POSIX clock_gettime needs the feature macro under strict C11. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "../clv_internal.h"

double clv__now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
