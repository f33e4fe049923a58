/* GRU layer: forward over a whole batch and backpropagation through time.
 *
 * Gate order [r, z, n] (PyTorch's). Per step t and sequence b:
 *   ax = W_ih x_t + b_ih,  ah = W_hh h_{t-1} + b_hh        (3H each)
 *   r = sigm(ax_r + ah_r)   z = sigm(ax_z + ah_z)
 *   n = tanh(ax_n + r * ah_n)
 *   h_t = (1 - z) * n + z * h_{t-1}
 * ah_n must be kept apart from ax_n because r multiplies only the hidden part,
 * which is why the GRU has two biases where the LSTM has one. Past a
 * sequence's length the state is frozen, as in lstm.c. */
#include <math.h>
#include <string.h>

#include "../core/blas.h"
#include "../core/ops.h"
#include "model_impl.h"

static void gru_cell_row(float *ax, const float *ah, const float *h_prev, float *h, uint32_t hid)
{
    float *xr = ax, *xz = ax + hid, *xn = ax + 2 * (size_t)hid;
    const float *hr = ah, *hz = ah + hid, *hn = ah + 2 * (size_t)hid;
    for (uint32_t j = 0; j < hid; j++) {
        float r = clv__sigmoidf(xr[j] + hr[j]);
        float z = clv__sigmoidf(xz[j] + hz[j]);
        float n = clv__tanhf(xn[j] + r * hn[j]);
        xr[j] = r;
        xz[j] = z;
        xn[j] = n;
        h[j] = (1.0f - z) * n + z * h_prev[j];
    }
}

void clv__gru_forward(const clv__rnn_weights *w, uint32_t in, uint32_t hid, uint32_t batch,
                      uint32_t steps, const int32_t *len, const float *x, clv__layer_buf *buf,
                      int keep_state)
{
    const uint32_t gh = 3 * hid;
    const size_t bh = (size_t)batch * hid, bg = (size_t)batch * gh;

    clv__gemm(0, 1, steps * batch, gh, in, 1.0f, x, in, w->w_ih, in, 0.0f, buf->act, gh);
    clv__rows_add_bias(buf->act, gh, w->b_ih, (size_t)steps * batch, gh);
    if (!keep_state) clv__vec_zero(buf->h, bh);   /* else preloaded: a roll-out step */

    for (uint32_t t = 0; t < steps; t++) {
        float *ax = buf->act + t * bg, *ah = buf->hh + t * bg;
        const float *h_prev = buf->h + t * bh;
        float *h = buf->h + (t + 1) * bh;
        clv__gemm(0, 1, batch, gh, hid, 1.0f, h_prev, hid, w->w_hh, hid, 0.0f, ah, gh);
        clv__rows_add_bias(ah, gh, w->b_hh, batch, gh);
        for (uint32_t b = 0; b < batch; b++) {
            size_t o = (size_t)b * hid, og = (size_t)b * gh;
            if ((int32_t)t < len[b])
                gru_cell_row(ax + og, ah + og, h_prev + o, h + o, hid);
            else
                memcpy(h + o, h_prev + o, hid * sizeof(float));
        }
    }
}

/* In place: ax row (r, z, n activations) becomes the input-side pre-activation
 * gradient, ah row (hidden pre-activations) the hidden-side one; dh enters as
 * dL/dh_t and leaves as the direct part of dL/dh_{t-1} (z * dh). */
static void gru_cell_row_backward(float *ax, float *ah, const float *h_prev, float *dh,
                                  uint32_t hid)
{
    float *xr = ax, *xz = ax + hid, *xn = ax + 2 * (size_t)hid;
    float *hr = ah, *hz = ah + hid, *hn = ah + 2 * (size_t)hid;
    for (uint32_t j = 0; j < hid; j++) {
        float r = xr[j], z = xz[j], n = xn[j], ahn = hn[j];
        float d = dh[j];
        float dn = d * (1.0f - z) * (1.0f - n * n);
        float dz = d * (h_prev[j] - n) * z * (1.0f - z);
        float dr = dn * ahn * r * (1.0f - r);
        xr[j] = dr;
        xz[j] = dz;
        xn[j] = dn;
        hr[j] = dr;
        hz[j] = dz;
        hn[j] = dn * r;
        dh[j] = d * z;
    }
}

void clv__gru_backward(const clv__rnn_weights *w, clv__rnn_weights *g, uint32_t in,
                       uint32_t hid, uint32_t batch, uint32_t steps, const int32_t *len,
                       const float *x, clv__layer_buf *buf, const float *dy, float *dx,
                       float *dh)
{
    const uint32_t gh = 3 * hid;
    const size_t bh = (size_t)batch * hid, bg = (size_t)batch * gh;

    clv__vec_zero(dh, bh);
    for (uint32_t t = steps; t-- > 0;) {
        float *ax = buf->act + t * bg, *ah = buf->hh + t * bg;
        const float *h_prev = buf->h + t * bh;
        clv__vec_axpy(dh, 1.0f, dy + t * bh, bh);
        for (uint32_t b = 0; b < batch; b++) {
            size_t o = (size_t)b * hid, og = (size_t)b * gh;
            if ((int32_t)t < len[b]) {
                gru_cell_row_backward(ax + og, ah + og, h_prev + o, dh + o, hid);
            } else {
                clv__vec_zero(ax + og, gh);
                clv__vec_zero(ah + og, gh);
            }
        }
        clv__gemm(0, 0, batch, hid, gh, 1.0f, ah, gh, w->w_hh, hid, 1.0f, dh, hid);
    }

    const uint32_t rows = steps * batch;
    clv__gemm(1, 0, gh, in, rows, 1.0f, buf->act, gh, x, in, 1.0f, g->w_ih, in);
    clv__gemm(1, 0, gh, hid, rows, 1.0f, buf->hh, gh, buf->h, hid, 1.0f, g->w_hh, hid);
    clv__rows_sum_into(g->b_ih, buf->act, gh, rows, gh);
    clv__rows_sum_into(g->b_hh, buf->hh, gh, rows, gh);
    if (dx) clv__gemm(0, 0, rows, in, gh, 1.0f, buf->act, gh, w->w_ih, in, 0.0f, dx, in);
}
