/* Compiled as C99 with -pedantic -Wall -Wextra -Werror (tests/api/meson.build):
 * the public headers must stay valid, warning-free C99 for every user. */
#include <clv/clv.h>

#include <stddef.h>
#include <stdio.h>

/* C99 has no _Static_assert: a negative array size fails the compile. */
#define HDR_ASSERT(name, cond) typedef char hdr_assert_##name[(cond) ? 1 : -1]
HDR_ASSERT(model_opts_first, offsetof(clv_model_options, struct_size) == 0);
HDR_ASSERT(optim_opts_first, offsetof(clv_optim_options, struct_size) == 0);
HDR_ASSERT(loss_opts_first, offsetof(clv_loss_options, struct_size) == 0);
HDR_ASSERT(alloc_first, offsetof(clv_allocator, struct_size) == 0);
HDR_ASSERT(status_values, CLV_OK == 0 && CLV_EINVAL == -1 && CLV_ECANCELED == -9);
HDR_ASSERT(version_check, CLV_VERSION_CHECK(0, 1, 0));

int main(void)
{
    /* Types and macros from every header. */
    clv_model_options mo;
    clv_optim_options oo;
    clv_loss_options lo;
    clv_model *model = NULL;
    clv_optim *opt = NULL;
    clv_workspace *ws = NULL;
    clv_lr_callback cb = NULL;

    mo.struct_size = (uint32_t)sizeof mo;
    mo.cell = CLV_CELL_GRU;
    oo.kind = CLV_OPTIM_ADAMW;
    oo.schedule = CLV_SCHEDULE_COSINE;
    lo.kind = CLV_LOSS_ZILN;
    lo.reduction = CLV_REDUCE_SUM;
    (void)model, (void)opt, (void)ws, (void)cb;
    (void)mo, (void)oo, (void)lo;

    /* A few symbols, so the program must link against libclv. */
    printf("libclv %s (%u), ABI %u, %s\n", clv_version(), (unsigned)clv_version_number(),
           (unsigned)clv_abi_version(), clv_status_str(CLV_EINVAL));
    clv_clear_error();
    if (clv_last_error_code() != CLV_OK || clv_last_error()[0] != '\0')
        return 1;
    clv_free(NULL);
    return clv_abi_version() == CLV_ABI_VERSION && clv_version_number() == CLV_VERSION_NUMBER
               ? 0
               : 1;
}
