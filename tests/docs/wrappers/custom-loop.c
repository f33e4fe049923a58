/* docs/optimizers.md: the hand-written training loop, on a small synthetic
 * regression (the target is the sum of the inputs). */
#include <clv/clv.h>
#include <stdio.h>

enum { B = 8, T = 5, F = 2, epochs = 3, nbatches = 4 };

static int fail(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
    return 1;
}

static int train(clv_model *model, float x[nbatches][B * T * F], int32_t len[nbatches][B],
                 float y[nbatches][B])
{
    float pred[B], dpred[B];

    /* @SAMPLE@ */

    return 0;
}

int main(void)
{
    static float x[nbatches][B * T * F], y[nbatches][B];
    static int32_t len[nbatches][B];
    for (int b = 0; b < nbatches; b++)
        for (int i = 0; i < B; i++) {
            len[b][i] = 1 + (b + i) % T;
            y[b][i] = 0.0f;
            for (int k = 0; k < T * F; k++) {
                float v = (float)(((b * 31 + i * 7 + k * 3) % 11) - 5) / 5.0f;
                x[b][i * T * F + k] = v;
                if (k / F < len[b][i])
                    y[b][i] += v;
            }
        }
    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = F;
    mo.hidden_size = 8;
    clv_model *model;
    if (clv_model_new(&model, &mo) != CLV_OK)
        return fail(clv_last_error());
    int rc = train(model, x, len, y);
    clv_model_free(model);
    return rc;
}
