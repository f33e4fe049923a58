/* docs/tutorial.md: an L2 penalty added to the gradient buffer; checks that
 * each gradient grew by exactly lambda * w. */
#include <clv/clv.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = 3;
    mo.hidden_size = 4;
    clv_model *m;
    if (clv_model_new(&m, &mo) != CLV_OK || clv_model_zero_grad(m) != CLV_OK)
        return 1;
    const float lambda = 0.5f;

    /* @SAMPLE@ */

    const uint64_t count = clv_model_param_count(m);
    float *p = malloc(count * sizeof *p), *grad = malloc(count * sizeof *grad);
    int ok = p && grad && clv_model_get_params(m, p, count) == CLV_OK
             && clv_model_get_grads(m, grad, count) == CLV_OK;
    for (uint64_t k = 0; ok && k < count; k++)
        ok = grad[k] == lambda * p[k];
    free(p);
    free(grad);
    clv_model_free(m);
    return ok ? 0 : 1;
}
