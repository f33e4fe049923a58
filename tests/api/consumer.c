/* A minimal out-of-tree user of libclv: built by the 'install' test against the
 * installed headers and library only (cc consumer.c $(pkg-config --cflags --libs clv)). */
#include <clv/clv.h>

#include <math.h>
#include <stdio.h>

#define B 2
#define T 5
#define F 3

#define CHECK(call)                                                              \
    do {                                                                         \
        int st_ = (call);                                                        \
        if (st_ != CLV_OK) {                                                     \
            fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__,   \
                    #call, clv_status_str(st_), clv_last_error());               \
            return 1;                                                            \
        }                                                                        \
    } while (0)

static int run(clv_model *m)
{
    float x[B * T * F];
    const int32_t lengths[B] = {5, 3};
    float out[B] = {NAN, NAN};
    int i;

    for (i = 0; i < B * T * F; i++)
        x[i] = (float)((i % 7) - 3) / 4.0f;
    CHECK(clv_model_predict(m, NULL, B, T, x, lengths, NULL, out, NULL));
    for (i = 0; i < B; i++) {
        if (!isfinite(out[i])) {
            fprintf(stderr, "prediction %d is not finite\n", i);
            return 1;
        }
        printf("prediction[%d] = %g\n", i, (double)out[i]);
    }
    return 0;
}

int main(void)
{
    clv_model_options mo;
    clv_model *m = NULL;
    int rc;

    printf("libclv %s (headers %s)\n", clv_version(), CLV_VERSION_STRING);
    if (clv_version_number() != CLV_VERSION_NUMBER) {
        fprintf(stderr, "version skew: library %u, headers %u\n",
                (unsigned)clv_version_number(), (unsigned)CLV_VERSION_NUMBER);
        return 1;
    }

    clv_model_options_init(&mo);
    mo.input_size = F;
    mo.hidden_size = 8;
    mo.final_outputs = 1;
    CHECK(clv_model_new(&m, &mo));
    rc = run(m);
    clv_model_free(m);
    if (rc == 0)
        puts("consumer: ok");
    return rc;
}
