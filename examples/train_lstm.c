/* train_lstm: train an LSTM on a toy sequence task and print the loss per epoch.
 *
 * Introduces usage of: clv_model_new, clv_optim_new, clv_model_train_step,
 * clv_model_predict, per-sequence lengths, error reporting.
 *
 * Task: each "customer" has a weekly spend signal, a seasonal wave with a
 * customer-specific level and phase plus noise, observed for a variable
 * number of weeks (8..26). From the observed weeks, predict next week's spend.
 *
 *   train_lstm [epochs] [seed]      (defaults: 30 epochs, seed 1)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <clv/clv.h>

#define N_TRAIN 512
#define N_TEST 128
#define T_MAX 26
#define BATCH 64

#define CHECK(call)                                                                    \
    do {                                                                               \
        int rc_ = (call);                                                              \
        if (rc_ != CLV_OK) {                                                           \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, clv_status_str(rc_), clv_last_error()); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static uint64_t rng_state;
static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

/* One customer: x[t][0] = spend in week t, x[t][1] = t / T_MAX (customer age). */
static void make_customer(float *x, int32_t *len, float *next)
{
    double level = 1.0 + 2.0 * uniform(), phase = 6.283185 * uniform();
    *len = 8 + (int32_t)(uniform() * (T_MAX - 8 + 1));
    for (int t = 0; t <= *len; t++) {
        double v = level * (1.0 + 0.5 * sin(phase + 0.6 * t)) + 0.1 * (uniform() - 0.5);
        if (t == *len) {
            *next = (float)v;
            break;
        }
        x[t * 2] = (float)v;
        x[t * 2 + 1] = (float)t / T_MAX;
    }
    for (int t = *len; t < T_MAX; t++) x[t * 2] = x[t * 2 + 1] = 0.0f;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 30;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    if (epochs < 1) {
        fprintf(stderr, "usage: train_lstm [epochs >= 1] [seed]\n");
        return 2;
    }
    static float x[(N_TRAIN + N_TEST) * T_MAX * 2], y[N_TRAIN + N_TEST];
    static int32_t len[N_TRAIN + N_TEST];
    for (int i = 0; i < N_TRAIN + N_TEST; i++) make_customer(x + i * T_MAX * 2, &len[i], &y[i]);

    printf("libclv %s: LSTM(2 -> 32) on %d toy customers, %d held out\n", clv_version(), N_TRAIN, N_TEST);
    CHECK(clv_blas_set_num_threads(1));   /* small GEMMs: one thread is fastest */

    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = 2;
    mo.hidden_size = 32;
    mo.seed = 1;
    clv_model *model;
    CHECK(clv_model_new(&model, &mo));
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
    oo.lr = 5e-3f;
    oo.clip_norm = 5.0f;
    clv_optim *opt;
    CHECK(clv_optim_new(&opt, &oo));
    clv_loss_options lo;
    clv_loss_options_init(&lo);   /* MSE */

    static float pred[N_TEST];
    for (int e = 1; e <= epochs; e++) {
        double sum = 0;
        for (int i = 0; i < N_TRAIN; i += BATCH) {
            double loss;
            CHECK(clv_model_train_step(model, opt, &lo, BATCH, T_MAX, x + i * T_MAX * 2, len + i, NULL,
                                       y + i, NULL, &loss));
            sum += loss;
        }
        CHECK(clv_model_predict(model, NULL, N_TEST, T_MAX, x + N_TRAIN * T_MAX * 2, len + N_TRAIN,
                                NULL, pred, NULL));
        double mse = 0;
        for (int i = 0; i < N_TEST; i++) mse += (pred[i] - y[N_TRAIN + i]) * (pred[i] - y[N_TRAIN + i]);
        printf("epoch %3d  train loss %.5f  held-out MSE %.5f\n", e, sum / (N_TRAIN / BATCH), mse / N_TEST);
    }
    clv_optim_free(opt);
    clv_model_free(model);
    return 0;
}
