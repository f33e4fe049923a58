/* docs/threading.md: a worker thread's loop over a shared model. Compiled
 * only (the loop never ends); docs/service.md has the complete program. */
#include <clv/clv.h>
#include <stdio.h>

enum { max_batch = 64, max_steps = 52, B = 1, T = 52, F = 4 };
static float x[B * T * F], out[B];
static int32_t lengths[B] = {T};

static clv_model *load_or_train(void)
{
    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = F;
    clv_model *m = NULL;
    return clv_model_new(&m, &mo) == CLV_OK ? m : NULL;
}

static void log_error(const char *status, const char *message)
{
    fprintf(stderr, "%s: %s\n", status, message);
}

int main(void)
{
    /* @SAMPLE@ */

    clv_model_free(model);
    return 0;
}
