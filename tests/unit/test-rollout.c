/* Roll-out internals: the state after a history plus one carried step must
 * equal running the longer sequence in one pass, for LSTM and GRU, with
 * mixed lengths and several layers. */
#include <stdlib.h>
#include <string.h>

#include "nn/model_impl.h"
#include "test-common.h"

static void check(int32_t cell)
{
    enum { B = 3, T = 6, F = 4, H = 5, L = 2, O = 3 };
    clv_model_options o;
    clv_model_options_init(&o);
    o.cell = cell;
    o.input_size = F;
    o.hidden_size = H;
    o.num_layers = L;
    o.final_outputs = 0;
    o.step_outputs = O;
    clv_model *m;
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
    /* Sequences of lengths 5, 2, 4 followed, for the step, by one more input. */
    const int32_t len[B] = { 5, 2, 4 };
    float x[B * T * F], xs[B * F], full[B * T * F];
    clv_test_fill(x, B * T * F, 1, -1, 1);
    clv_test_fill(xs, B * F, 2, -1, 1);
    memcpy(full, x, sizeof x);
    int32_t len1[B];
    for (int b = 0; b < B; b++) {
        memcpy(full + (b * T + len[b]) * F, xs + b * F, F * sizeof(float));
        len1[b] = len[b] + 1;
    }
    float ref[B * T * O];
    ck_assert_int_eq(clv_model_predict(m, NULL, B, T, full, len1, NULL, NULL, ref), CLV_OK);

    clv__arena a;
    clv__arena_init(&a);
    float h[L * B * H], c[L * B * H], last[B * O], out[B * O];
    ck_assert_int_eq(clv__model_history(m, &a, B, T, x, len, h, c, last), CLV_OK);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < O; k++)
            ck_assert_float_eq_tol(last[b * O + k], ref[(b * T + len[b] - 1) * O + k], 1e-6f);
    ck_assert_int_eq(clv__model_step(m, &a, B, xs, h, c, out), CLV_OK);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < O; k++)
            ck_assert_float_eq_tol(out[b * O + k], ref[(b * T + len[b]) * O + k], 1e-6f);
    clv__arena_free(&a);
    clv_model_free(m);
}

START_TEST(lstm_step_matches_full_pass) { check(CLV_CELL_LSTM); }
END_TEST
START_TEST(gru_step_matches_full_pass) { check(CLV_CELL_GRU); }
END_TEST

int main(void)
{
    Suite *s = suite_create("rollout");
    TCase *tc = tcase_create("rollout");
    tcase_add_test(tc, lstm_step_matches_full_pass);
    tcase_add_test(tc, gru_step_matches_full_pass);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
