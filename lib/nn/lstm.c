/* LSTM layer: forward over a whole batch and backpropagation through time.
 *
 * Gate order [i, f, g, o] (PyTorch's). Per step t and sequence b:
 *   a = W_ih x_t + b + W_hh h_{t-1}          (a: 4H pre-activations)
 *   i = sigm(a_i)  f = sigm(a_f)  g = tanh(a_g)  o = sigm(a_o)
 *   c_t = f*c_{t-1} + i*g                     h_t = o*tanh(c_t)
 * Past a sequence's length its state is frozen (h_t = h_{t-1}, c_t = c_{t-1}),
 * so padding never reaches the final state; in backward those steps pass the
 * state gradients through unchanged and contribute no gate gradient.
 *
 * The input projection of all time steps is one GEMM before the step loop;
 * inside the loop there is one GEMM per step (all four gates fused). */
#include <math.h>
#include <string.h>

#include "../core/blas.h"
#include "../core/ops.h"
#include "model_impl.h"

static void lstm_cell_row(float *a, const float *c_prev, float *c, float *h, uint32_t hid)
{
    float *ai = a, *af = a + hid, *ag = a + 2 * (size_t)hid, *ao = a + 3 * (size_t)hid;
    for (uint32_t j = 0; j < hid; j++) {
        float i = clv__sigmoidf(ai[j]);
        float f = clv__sigmoidf(af[j]);
        float g = clv__tanhf(ag[j]);
        float o = clv__sigmoidf(ao[j]);
        float cj = f * c_prev[j] + i * g;
        ai[j] = i;
        af[j] = f;
        ag[j] = g;
        ao[j] = o;
        c[j] = cj;
        h[j] = o * clv__tanhf(cj);
    }
}

void clv__lstm_forward(const clv__rnn_weights *w, uint32_t in, uint32_t hid, uint32_t batch,
                       uint32_t steps, const int32_t *len, const float *x, clv__layer_buf *buf,
                       int keep_state)
{
    const uint32_t gh = 4 * hid;
    const size_t bh = (size_t)batch * hid, bg = (size_t)batch * gh;

    clv__gemm(0, 1, steps * batch, gh, in, 1.0f, x, in, w->w_ih, in, 0.0f, buf->act, gh);
    clv__rows_add_bias(buf->act, gh, w->b_ih, (size_t)steps * batch, gh);
    if (!keep_state) {   /* else the caller preloaded h[0] (and c[0]): a roll-out step */
        clv__vec_zero(buf->h, bh);
        clv__vec_zero(buf->c, bh);
    }

    for (uint32_t t = 0; t < steps; t++) {
        float *a = buf->act + t * bg;
        const float *h_prev = buf->h + t * bh, *c_prev = buf->c + t * bh;
        float *h = buf->h + (t + 1) * bh, *c = buf->c + (t + 1) * bh;
        clv__gemm(0, 1, batch, gh, hid, 1.0f, h_prev, hid, w->w_hh, hid, 1.0f, a, gh);
        for (uint32_t b = 0; b < batch; b++) {
            size_t o = (size_t)b * hid;
            if ((int32_t)t < len[b]) {
                lstm_cell_row(a + (size_t)b * gh, c_prev + o, c + o, h + o, hid);
            } else {
                memcpy(h + o, h_prev + o, hid * sizeof(float));
                memcpy(c + o, c_prev + o, hid * sizeof(float));
            }
        }
    }
}

/* Turn one row's activations into pre-activation gradients, in place, and
 * update the carried cell gradient: dh and dc enter as gradients w.r.t. h_t
 * and c_t, dc leaves as the gradient w.r.t. c_{t-1}. */
static void lstm_cell_row_backward(float *a, const float *c_prev, const float *c,
                                   const float *dh, float *dc, uint32_t hid)
{
    float *ai = a, *af = a + hid, *ag = a + 2 * (size_t)hid, *ao = a + 3 * (size_t)hid;
    for (uint32_t j = 0; j < hid; j++) {
        float i = ai[j], f = af[j], g = ag[j], o = ao[j];
        float tc = clv__tanhf(c[j]);
        float dcj = dc[j] + dh[j] * o * (1.0f - tc * tc);
        ai[j] = dcj * g * i * (1.0f - i);
        af[j] = dcj * c_prev[j] * f * (1.0f - f);
        ag[j] = dcj * i * (1.0f - g * g);
        ao[j] = dh[j] * tc * o * (1.0f - o);
        dc[j] = dcj * f;
    }
}

void clv__lstm_backward(const clv__rnn_weights *w, clv__rnn_weights *g, uint32_t in,
                        uint32_t hid, uint32_t batch, uint32_t steps, const int32_t *len,
                        const float *x, clv__layer_buf *buf, const float *dy, float *dx,
                        float *dh, float *dc)
{
    const uint32_t gh = 4 * hid;
    const size_t bh = (size_t)batch * hid, bg = (size_t)batch * gh;

    clv__vec_zero(dh, bh);
    clv__vec_zero(dc, bh);
    for (uint32_t t = steps; t-- > 0;) {
        float *a = buf->act + t * bg;
        const float *c_prev = buf->c + t * bh, *c = buf->c + (t + 1) * bh;
        clv__vec_axpy(dh, 1.0f, dy + t * bh, bh);
        for (uint32_t b = 0; b < batch; b++) {
            size_t o = (size_t)b * hid;
            if ((int32_t)t < len[b]) {
                lstm_cell_row_backward(a + (size_t)b * gh, c_prev + o, c + o, dh + o, dc + o, hid);
                clv__vec_zero(dh + o, hid);   /* refilled by the GEMM below */
            } else {
                clv__vec_zero(a + (size_t)b * gh, gh);   /* frozen step: pass-through */
            }
        }
        /* dh_{t-1} = dA_t W_hh (masked rows have dA = 0 and keep their dh). */
        clv__gemm(0, 0, batch, hid, gh, 1.0f, a, gh, w->w_hh, hid, 1.0f, dh, hid);
    }

    /* Weight gradients over all steps at once: dW_ih += dA^T X, dW_hh += dA^T H_prev. */
    const uint32_t rows = steps * batch;
    clv__gemm(1, 0, gh, in, rows, 1.0f, buf->act, gh, x, in, 1.0f, g->w_ih, in);
    clv__gemm(1, 0, gh, hid, rows, 1.0f, buf->act, gh, buf->h, hid, 1.0f, g->w_hh, hid);
    clv__rows_sum_into(g->b_ih, buf->act, gh, rows, gh);
    if (dx) clv__gemm(0, 0, rows, in, gh, 1.0f, buf->act, gh, w->w_ih, in, 0.0f, dx, in);
}
