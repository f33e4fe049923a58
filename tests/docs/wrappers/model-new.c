/* docs/error-handling.md: the status-checking pattern, on a good and on a
 * bad configuration. */
#include <clv/clv.h>
#include <stdio.h>

static int make_model(uint32_t input_size)
{
    clv_model_options opts;
    clv_model_options_init(&opts);
    opts.input_size = input_size;

    /* @SAMPLE@ */

    clv_model_free(m);
    return CLV_OK;
}

int main(void)
{
    if (make_model(8) != CLV_OK)
        return 1;
    return make_model(0) == CLV_EINVAL ? 0 : 1;   /* input_size 0 is refused */
}
