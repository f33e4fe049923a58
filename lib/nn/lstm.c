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
 * Training: the input projection of all time steps is one GEMM before the
 * step loop; inside the loop there is one product per step (all four gates
 * fused) and one vectorised pass of gate math (core/gates.c) that also adds
 * the bias. Inference keeps no activations: x_t is projected step by step
 * into one reused block, and batches of a few rows use clv__gemv2 instead of
 * BLAS. Every tensor is time-major, so the rows of one step are contiguous
 * and no step transposes anything.
 *
 * The per-step products (forward: h_{t-1} W_hh^T, in inference together with
 * x_t W_ih^T; backward: dA_t W_hh) go through core/packmm.h where its AVX-512
 * kernel runs: the weights are packed once per pass instead of by OpenBLAS
 * in every call, and a block of 64 rows gets its gate math right after its
 * product, while it is in cache. Elsewhere they are BLAS calls, as are the
 * all-steps products (input projection, weight gradients). The packed
 * layout space is planned with the pass (layer_buf.wpack).
 *
 * Threads (clv_model_set_num_threads, docs/threading.md): sequences are
 * independent, so the step loop is split over the batch: each worker owns a
 * contiguous block of rows for all T steps and runs its own per-step GEMM on
 * it, with no synchronisation inside the loop. The all-steps GEMMs before and
 * after the loop are split by output rows instead. One worker = exactly the
 * single-threaded code path. */
#include <string.h>

#include "../core/blas.h"
#include "../core/gates.h"
#include "../core/ops.h"
#include "../core/packmm.h"
#include "../core/smallmat.h"
#include "model_impl.h"

/* Fewer rows than this per worker make the per-step GEMM too thin to pay
 * for a thread. */
#define MIN_ROWS_PER_WORKER 16
/* Up to this many rows per worker, inference steps use clv__gemv2 per row
 * instead of two BLAS calls (measured at B=1: docs/performance.md). */
#define SMALL_ROWS 4
/* Rows per product-then-gates block of the packed path: the block's
 * pre-activations (64 x 4H floats, 64 KB at H = 64) are still in cache when
 * the gate math reads them. */
#define PACKED_ROWS 64

typedef struct lstm_job {
    const clv__rnn_weights *w;
    clv__rnn_weights *g;
    uint32_t in, hid, batch, steps;
    const int32_t *len;
    const float *x;
    clv__layer_buf *buf;
    const float *dy;
    uint32_t dy_from;
    float *dx, *dh, *dc;
    float *dbias_part;    /* [parts][4H]: each backward worker's bias-gradient sum */
    int inference;        /* two cell-state slots, no activations kept */
    int stream;           /* inference, BLAS: x_t projected per step into one reused block */
    int small;            /* inference, tiny batch: clv__gemv2 per row, act holds all steps */
    const float *pack_ih, *pack_hh;   /* clv__packmm weights (buf->wpack), or NULL: BLAS */
} lstm_job;

uint32_t clv__lstm_act_steps(uint32_t batch, uint32_t steps, int training)
{
    return (training || batch <= SMALL_ROWS) ? steps : 1;
}

size_t clv__lstm_pack_size(uint32_t in, uint32_t hid, uint32_t batch, int training)
{
    if (!clv__packmm_fast()) return 0;
    if (!training)
        return batch <= SMALL_ROWS ? 0 : clv__packmm_size(4 * hid, in) + clv__packmm_size(4 * hid, hid);
    const size_t fwd = clv__packmm_size(4 * hid, hid), bwd = clv__packmm_size(hid, 4 * hid);
    return fwd > bwd ? fwd : bwd;
}

uint32_t clv__lstm_workers(uint32_t threads, uint32_t batch)
{
    uint32_t by_rows = batch / MIN_ROWS_PER_WORKER;
    uint32_t n = threads < by_rows ? threads : by_rows;
    return n < 1 ? 1 : n;
}

/* act[rows][4H] = x[rows][in] W_ih^T over all steps, split by rows. */
static void input_projection(void *ctx, uint32_t part, uint32_t parts)
{
    const lstm_job *j = ctx;
    const uint32_t gh = 4 * j->hid, rows = j->steps * j->batch;
    uint32_t r0, r1;
    clv__split_range(rows, part, parts, 1, &r0, &r1);
    clv__gemm(0, 1, r1 - r0, gh, j->in, 1.0f, j->x + (size_t)r0 * j->in, j->in, j->w->w_ih, j->in,
              0.0f, j->buf->act + (size_t)r0 * gh, gh);
}

/* Tiny-batch inference: the input projection of every step first (one
 * BLAS call of T*B rows), then each step only streams W_hh. */
static void small_input_projection(const lstm_job *j)
{
    const uint32_t gh = 4 * j->hid;
    clv__gemm(0, 1, j->steps * j->batch, gh, j->in, 1.0f, j->x, j->in, j->w->w_ih, j->in, 0.0f,
              j->buf->act, gh);
}

/* One step of rows [b0, b1) through the packed kernel, in blocks: the
 * product of a block (inference: x_t and h_{t-1} in one call; training: h_{t-1}
 * added to the input projection already in a), then its gate math. */
static void packed_step(const lstm_job *j, uint32_t t, float *a, const float *h_prev,
                        const float *c_prev, float *h, float *c, uint32_t b0, uint32_t b1)
{
    const uint32_t hid = j->hid, gh = 4 * hid, in = j->in;
    const uint32_t block = j->stream ? PACKED_ROWS : b1 - b0;
    for (uint32_t r0 = b0; r0 < b1; r0 += block) {
        const uint32_t rows = b1 - r0 < block ? b1 - r0 : block;
        if (j->stream)
            clv__packmm(rows, gh, j->x + ((size_t)t * j->batch + r0) * in, in, in, j->pack_ih,
                        h_prev + (size_t)r0 * hid, hid, hid, j->pack_hh, 0, a + (size_t)r0 * gh, gh);
        else
            clv__packmm(rows, gh, NULL, 0, 0, NULL, h_prev + (size_t)r0 * hid, hid, hid, j->pack_hh,
                        1, a + (size_t)r0 * gh, gh);
        clv__lstm_cell_forward(a, gh, j->w->b_ih, h_prev, c_prev, h, c, hid, r0, r0 + rows, j->len, t);
    }
}

static void forward_rows(void *ctx, uint32_t part, uint32_t parts)
{
    const lstm_job *j = ctx;
    const uint32_t hid = j->hid, gh = 4 * hid, B = j->batch;
    const size_t bh = (size_t)B * hid, bg = (size_t)B * gh;
    uint32_t b0, b1;
    clv__split_range(B, part, parts, 1, &b0, &b1);
    for (uint32_t t = 0; t < j->steps; t++) {
        float *a = j->buf->act + (j->stream ? 0 : t * bg);
        /* Inference keeps two cell-state slots, used in turn (see clv__pass). */
        const size_t cp = j->inference ? (t & 1) : t, cn = j->inference ? ((t + 1) & 1) : t + 1;
        const size_t hp = j->buf->h_pingpong ? cp : t, hn = j->buf->h_pingpong ? cn : t + 1;
        const float *h_prev = j->buf->h + hp * bh, *c_prev = j->buf->c + cp * bh;
        float *h = j->buf->h + hn * bh, *c = j->buf->c + cn * bh;
        /* A roll-out step reads and updates the caller's state in place:
         * all of h_prev is consumed by the GEMM before the gate pass of the
         * same rows writes h, and c is read and written element by element. */
        if (t == 0 && j->buf->h0) h_prev = j->buf->h0, c_prev = j->buf->c0;
        if (t + 1 == j->steps && j->buf->hT) h = j->buf->hT, c = j->buf->cT;
        if (j->small) {
            for (uint32_t b = b0; b < b1; b++)
                clv__gemv2(a + (size_t)b * gh, gh, j->w->w_hh, hid, h_prev + (size_t)b * hid, NULL,
                           0, NULL, 1, (int)((t * (b1 - b0) + (b - b0)) & 1));
            clv__lstm_cell_forward(a, gh, j->w->b_ih, h_prev, c_prev, h, c, hid, b0, b1, j->len, t);
            continue;
        }
        if (j->pack_hh) {
            packed_step(j, t, a, h_prev, c_prev, h, c, b0, b1);
            continue;
        }
        if (j->stream)
            clv__gemm(0, 1, b1 - b0, gh, j->in, 1.0f, j->x + ((size_t)t * B + b0) * j->in, j->in,
                      j->w->w_ih, j->in, 0.0f, a + (size_t)b0 * gh, gh);
        clv__gemm(0, 1, b1 - b0, gh, hid, 1.0f, h_prev + (size_t)b0 * hid, hid, j->w->w_hh, hid,
                  1.0f, a + (size_t)b0 * gh, gh);
        clv__lstm_cell_forward(a, gh, j->w->b_ih, h_prev, c_prev, h, c, hid, b0, b1, j->len, t);
    }
}

void clv__lstm_forward(const clv__rnn_weights *w, uint32_t in, uint32_t hid, uint32_t batch,
                       uint32_t steps, const int32_t *len, const float *x, clv__layer_buf *buf,
                       int keep_state, int inference, uint32_t threads)
{
    const size_t bh = (size_t)batch * hid;
    lstm_job j = { .w = w, .in = in, .hid = hid, .batch = batch, .steps = steps, .len = len,
                   .x = x, .buf = buf, .inference = inference };
    const uint32_t workers = clv__lstm_workers(threads, batch);
    /* Inference (layout: clv__lstm_act_steps): tiny batches go through
     * clv__gemv2; larger ones project x_t step by step into one reused
     * block, which then stays in cache between the GEMMs and the gate math.
     * Training keeps every step's block for backward, and there one GEMM
     * over all steps measured no slower than per-step products. */
    j.small = inference && batch <= SMALL_ROWS;
    j.stream = inference && !j.small;
    /* The packed kernel, where it runs, replaces the per-step BLAS calls:
     * the weights are packed once here for all steps and row blocks. The
     * pass planned buf->wpack exactly when this path runs
     * (clv__lstm_pack_size): inference W_ih then W_hh, training W_hh. */
    if (buf->wpack) {
        float *pack_hh = buf->wpack;
        if (j.stream) {
            clv__packmm_pack(buf->wpack, w->w_ih, 4 * hid, in, in);
            j.pack_ih = buf->wpack;
            pack_hh += clv__packmm_size(4 * hid, in);
        }
        clv__packmm_pack(pack_hh, w->w_hh, 4 * hid, hid, hid);
        j.pack_hh = pack_hh;
    }

    if (j.small) small_input_projection(&j);
    else if (!j.stream) clv__parallel_run(workers, input_projection, &j);
    if (!keep_state) {   /* else the caller preloaded h[0] (and c[0]): a roll-out step */
        clv__vec_zero(buf->h, bh);
        clv__vec_zero(buf->c, bh);
    }
    clv__parallel_run(workers, forward_rows, &j);
}

static void backward_rows(void *ctx, uint32_t part, uint32_t parts)
{
    const lstm_job *j = ctx;
    const uint32_t hid = j->hid, gh = 4 * hid, B = j->batch;
    const size_t bh = (size_t)B * hid, bg = (size_t)B * gh;
    uint32_t b0, b1;
    clv__split_range(B, part, parts, 1, &b0, &b1);
    const size_t o0 = (size_t)b0 * hid, n = (size_t)(b1 - b0) * hid;
    float *db = j->dbias_part + (size_t)part * gh;
    clv__vec_zero(j->dh + o0, n);
    clv__vec_zero(j->dc + o0, n);
    clv__vec_zero(db, gh);
    for (uint32_t t = j->steps; t-- > 0;) {
        float *a = j->buf->act + t * bg;
        const float *c_prev = j->buf->c + t * bh, *c = j->buf->c + (t + 1) * bh;
        if (t >= j->dy_from) clv__vec_axpy(j->dh + o0, 1.0f, j->dy + t * bh + o0, n);
        clv__lstm_cell_backward(a, gh, c_prev, c, j->dh, j->dc, hid, b0, b1, j->len, t);
        /* The bias gradient while the block is in cache (frozen rows are 0);
         * a separate pass over all T*B rows read 13.6 MB from memory. */
        clv__rows_sum_into(db, a + (size_t)b0 * gh, gh, b1 - b0, gh);
        /* dh_{t-1} = dA_t W_hh (frozen rows have dA = 0 and keep their dh). */
        if (j->pack_hh)
            clv__packmm(b1 - b0, hid, a + (size_t)b0 * gh, gh, gh, j->pack_hh, NULL, 0, 0, NULL, 1,
                        j->dh + o0, hid);
        else
            clv__gemm(0, 0, b1 - b0, hid, gh, 1.0f, a + (size_t)b0 * gh, gh, j->w->w_hh, hid,
                      1.0f, j->dh + o0, hid);
    }
}

/* Weight gradients over all steps at once, split by gate rows:
 * dW_ih += dA^T X, dW_hh += dA^T H_prev; and dx = dA W_ih split by rows.
 * (db is summed in the step loop, backward_rows.) */
static void weight_gradients(void *ctx, uint32_t part, uint32_t parts)
{
    const lstm_job *j = ctx;
    const uint32_t hid = j->hid, gh = 4 * hid, in = j->in, rows = j->steps * j->batch;
    const float *act = j->buf->act;
    uint32_t g0, g1;
    clv__split_range(gh, part, parts, 16, &g0, &g1);
    if (g1 > g0) {
        clv__gemm(1, 0, g1 - g0, in, rows, 1.0f, act + g0, gh, j->x, in, 1.0f,
                  j->g->w_ih + (size_t)g0 * in, in);
        clv__gemm(1, 0, g1 - g0, hid, rows, 1.0f, act + g0, gh, j->buf->h, hid, 1.0f,
                  j->g->w_hh + (size_t)g0 * hid, hid);
    }
    if (j->dx) {
        uint32_t r0, r1;
        clv__split_range(rows, part, parts, 1, &r0, &r1);
        clv__gemm(0, 0, r1 - r0, in, gh, 1.0f, act + (size_t)r0 * gh, gh, j->w->w_ih, in, 0.0f,
                  j->dx + (size_t)r0 * in, in);
    }
}

void clv__lstm_backward(const clv__rnn_weights *w, clv__rnn_weights *g, uint32_t in,
                        uint32_t hid, uint32_t batch, uint32_t steps, const int32_t *len,
                        const float *x, clv__layer_buf *buf, const float *dy, uint32_t dy_from,
                        float *dx, float *dh, float *dc, float *dbias_part, uint32_t bias_parts,
                        uint32_t threads)
{
    lstm_job j = { .w = w, .g = g, .in = in, .hid = hid, .batch = batch, .steps = steps,
                   .len = len, .x = x, .buf = buf, .dy = dy, .dy_from = dy_from, .dx = dx,
                   .dh = dh, .dc = dc, .dbias_part = dbias_part };
    uint32_t workers = clv__lstm_workers(threads, batch);
    /* The scratch was sized when the forward pass was planned; the thread
     * count may have been lowered since, never raised past it. */
    if (workers > bias_parts) workers = bias_parts;
    if (buf->wpack) {   /* a training pass: W_hh's region, transposed */
        clv__packmm_pack_t(buf->wpack, w->w_hh, hid, 4 * hid, hid);
        j.pack_hh = buf->wpack;
    }
    clv__parallel_run(workers, backward_rows, &j);
    for (uint32_t p = 0; p < workers; p++)   /* in worker order: deterministic */
        clv__vec_axpy(g->b_ih, 1.0f, dbias_part + (size_t)p * 4 * hid, 4 * (size_t)hid);
    clv__parallel_run(workers, weight_gradients, &j);
}
