/* docs/optimizers.md: an optimizer configured from its options. */
#include <clv/clv.h>
#include <stdio.h>

int main(void)
{
    /* @SAMPLE@ */

    int ok = clv_optim_step_count(opt) == 0 && clv_optim_last_lr(opt) > 0.0f;
    clv_optim_free(opt);
    return ok ? 0 : 1;
}
