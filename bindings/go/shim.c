/* C side of the fit-progress callback: libclv calls this C function, which
 * hands the progress to Go together with the cgo.Handle of the Go callback.
 * The handle travels through libclv as user_data, never a Go pointer. */
#include <stdint.h>
#include <clv/clv.h>
#include "_cgo_export.h"

static int clvgo_fit_trampoline(const clv_fit_progress *progress, void *user_data)
{
    return clvgoFitProgress((clv_fit_progress *)progress, (uintptr_t)user_data);
}

int clvgo_set_fit_callback(clv_forecaster *f, uintptr_t handle)
{
    if (handle == 0)
        return clv_forecaster_set_callback(f, NULL, NULL);
    return clv_forecaster_set_callback(f, clvgo_fit_trampoline, (void *)handle);
}
