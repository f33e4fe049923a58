/* Forward and backward passes of a whole model: input staging, the layer
 * stack, both heads, and the public predict / forward / backward calls.
 *
 * Internally every sequence tensor is time-major ([T][B][...]) so that the
 * rows of one time step are contiguous for the per-step GEMM; the public API
 * is batch-major ([B][T][...], like PyTorch's batch_first), converted once on
 * the way in and once on the way out. */
#include <math.h>
#include <string.h>

#include "../core/blas.h"
#include "../core/ops.h"
#include "model_impl.h"

static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

static int check_batch_steps(uint32_t batch, uint32_t steps, const char *fn)
{
    CLV__CHECK_ARG(batch >= 1 && steps >= 1, "%s: batch = %u, steps = %u, both must be >= 1", fn,
                   batch, steps);
    /* BLAS takes int dimensions: batch*steps rows must fit. */
    CLV__CHECK_ARG((uint64_t)batch * steps <= (uint64_t)INT32_MAX / 4,
                   "%s: batch*steps = %llu is too large (max %d)", fn,
                   (unsigned long long)batch * steps, INT32_MAX / 4);
    return CLV_OK;
}

int clv__check_shapes(const clv_model *m, uint32_t batch, uint32_t steps, const float *x,
                      const float *static_x, const float *final_out, const float *step_out,
                      const char *fn)
{
    CLV__CHECK_ARG(m != NULL, "%s: model is NULL", fn);
    CLV__CHECK_ARG(x != NULL, "%s: x is NULL", fn);
    CLV__TRY(check_batch_steps(batch, steps, fn));
    CLV__CHECK_ARG(m->o.static_size == 0 || static_x != NULL,
                   "%s: the model has %u static features but static_x is NULL", fn, m->o.static_size);
    if (final_out && m->o.final_outputs == 0)
        return clv__error(CLV_ESHAPE, "%s: final_out given but the model has no final head", fn);
    if (step_out && m->o.step_outputs == 0)
        return clv__error(CLV_ESHAPE, "%s: step_out given but the model has no per-step head", fn);
    return CLV_OK;
}

static float *take(clv__arena *a, int *overflow, size_t n0, size_t n1, size_t n2)
{
    size_t n;
    if (clv__mul_size(n0, n1, &n) != 0 || clv__mul_size(n, n2, &n) != 0) {
        *overflow = 1;
        return NULL;
    }
    return clv__arena_take(a, n, overflow);
}

static void layout(const clv_model *m, clv__arena *a, clv__pass *p, uint32_t B, uint32_t T,
                   int mode, int *ovf)
{
    const int training = mode == CLV__PLAN_TRAIN;
    const clv_model_options *o = &m->o;
    const uint32_t H = o->hidden_size, F = o->input_size, S = o->static_size;
    const uint32_t GH = m->gates * H, Of = o->final_outputs, Os = o->step_outputs;
    const uint32_t Omax = max_u32(Of, Os), W = max_u32(H, F);

    memset(p, 0, sizeof *p);
    p->batch = B;
    p->steps = T;
    p->inference = !training;
    p->act_steps = o->cell == CLV_CELL_LSTM ? clv__lstm_act_steps(B, T, training) : T;
    p->lengths = (int32_t *)take(a, ovf, B, 1, 1);
    p->x = take(a, ovf, T, B, F);
    if (S) {
        p->stat = take(a, ovf, B, S, 1);
        p->stat_proj = take(a, ovf, B, Omax, 1);
    }
    for (uint32_t l = 0; l < o->num_layers; l++) {
        clv__layer_buf *lb = &p->layer[l];
        /* LSTM inference keeps no activations: one step's block, reused. */
        lb->act = take(a, ovf, p->act_steps, B, GH);
        /* The top LSTM layer of an inference that needs only final states
         * keeps two h slots, used in turn, instead of every step's h (which
         * went out to memory: 13.6 MB at B=1024, H=64). */
        lb->h_pingpong = mode == CLV__PLAN_INFER_FINAL && o->cell == CLV_CELL_LSTM &&
                         l + 1 == o->num_layers;
        lb->h = take(a, ovf, lb->h_pingpong ? 2 : (size_t)T + 1, B, H);
        if (o->cell == CLV_CELL_LSTM) lb->c = take(a, ovf, training ? (size_t)T + 1 : 2, B, H);
        else lb->hh = take(a, ovf, T, B, GH);
        const size_t pack = o->cell == CLV_CELL_LSTM ? clv__lstm_pack_size(l ? H : F, H, B, training) : 0;
        if (pack) lb->wpack = take(a, ovf, pack, 1, 1);
        if (training && o->dropout > 0) lb->out_drop = take(a, ovf, T, B, H);
    }
    if (Os) p->step_out = take(a, ovf, T, B, Os);
    if (!training) return;
    p->dseq_a = take(a, ovf, T, B, W);
    p->dseq_b = take(a, ovf, T, B, W);
    p->dh = take(a, ovf, B, H, 1);
    p->dc = take(a, ovf, B, H, 1);
    if (o->cell == CLV_CELL_LSTM) {
        p->bias_parts = clv__lstm_workers((uint32_t)m->threads, B);
        p->dbias_part = take(a, ovf, p->bias_parts, GH, 1);
    }
    if (Os) {
        p->d_step = take(a, ovf, T, B, Os);
        p->pred_step = take(a, ovf, B, T, Os);
        p->grad_step = take(a, ovf, B, T, Os);
        p->target_step = take(a, ovf, B, T, Os);
    }
    if (S) p->dstat_acc = take(a, ovf, B, Omax, 1);
    if (Of) {
        p->pred_final = take(a, ovf, B, Of, 1);
        p->grad_final = take(a, ovf, B, Of, 1);
    }
    p->mask = take(a, ovf, B, T, 1);
}

int clv__pass_plan(const clv_model *m, clv__arena *a, clv__pass *p, uint32_t batch,
                   uint32_t steps, int mode)
{
    /* Measure with a NULL base, then allocate once and lay out for real. */
    clv__arena probe;
    clv__arena_init(&probe);
    int ovf = 0;
    layout(m, &probe, p, batch, steps, mode, &ovf);
    if (ovf) return clv__error(CLV_EINVAL, "batch = %u, steps = %u: buffer sizes overflow", batch, steps);
    CLV__TRY(clv__arena_reserve(a, probe.used));
    layout(m, a, p, batch, steps, mode, &ovf);
    return CLV_OK;
}

int clv__pass_load(const clv_model *m, clv__pass *p, const float *x, const int32_t *lengths,
                   const float *static_x, const char *fn)
{
    const uint32_t B = p->batch, T = p->steps, F = m->o.input_size, S = m->o.static_size;
    for (uint32_t b = 0; b < B; b++) {
        int32_t len = lengths ? lengths[b] : (int32_t)T;
        CLV__CHECK_ARG(len >= 0 && (uint32_t)len <= T, "%s: lengths[%u] = %d, expected 0..%u", fn, b,
                       (int)len, T);
        p->lengths[b] = len;
        /* The valid steps of a sequence are contiguous in the caller's
         * batch-major array: one check for all of them. */
        size_t bad;
        if (!clv__all_finite(x + (size_t)b * T * F, (size_t)len * F, &bad))
            return clv__error(CLV_EINVAL, "%s: x[%u][%zu][%zu] is not finite", fn, b, bad / F, bad % F);
        for (uint32_t t = 0; t < T; t++) {
            float *dst = p->x + ((size_t)t * B + b) * F;
            const float *src = x + ((size_t)b * T + t) * F;
            if ((int32_t)t >= len) {
                /* Zeros, not the caller's padding: padding may hold NaN and
                 * must not reach the weight-gradient GEMMs (0 * NaN = NaN). */
                clv__vec_zero(dst, F);
                continue;
            }
            memcpy(dst, src, F * sizeof(float));
        }
    }
    if (S) {
        size_t bad;
        if (!clv__all_finite(static_x, (size_t)B * S, &bad))
            return clv__error(CLV_EINVAL, "%s: static_x[%zu][%zu] is not finite", fn, bad / S, bad % S);
        memcpy(p->stat, static_x, (size_t)B * S * sizeof(float));
    }
    return CLV_OK;
}

/* out[rows][O] = h[rows][H] Wh^T + b (+ static part added by the caller). */
static void head_apply(const clv__head_weights *w, uint32_t H, uint32_t S, uint32_t O,
                       uint32_t rows, const float *h, float *out)
{
    clv__gemm(0, 1, rows, O, H, 1.0f, h, H, w->w, (size_t)H + S, 0.0f, out, O);
    clv__rows_add_bias(out, O, w->b, rows, O);
}

static void pass_forward(const clv_model *m, clv__pass *p, float *final_out, float *step_out,
                         int keep_state)
{
    const clv_model_options *o = &m->o;
    const uint32_t B = p->batch, T = p->steps, H = o->hidden_size, S = o->static_size;
    const size_t BH = (size_t)B * H;

    const float *in = p->x;
    uint32_t in_size = o->input_size;
    for (uint32_t l = 0; l < o->num_layers; l++) {
        clv__layer_buf *lb = &p->layer[l];
        if (o->cell == CLV_CELL_LSTM)
            clv__lstm_forward(&m->w[l], in_size, H, B, T, p->lengths, in, lb, keep_state,
                              p->inference, (uint32_t)m->threads);
        else
            clv__gru_forward(&m->w[l], in_size, H, B, T, p->lengths, in, lb, keep_state);
        /* outputs of steps 0..T-1 feed the next layer (a roll-out step's
         * single output went to the caller's array), after dropout in a
         * training pass that drops */
        in = lb->hT ? lb->hT : lb->h + BH;
        if (p->dropping) {
            clv__dropout_apply(&p->drop, l, B, T, H, 0, in, lb->out_drop, (uint32_t)m->threads);
            in = lb->out_drop;
        }
        in_size = H;
    }
    const clv__layer_buf *top = &p->layer[o->num_layers - 1];

    if (final_out) {
        const uint32_t O = o->final_outputs;
        /* Frozen states make h[T] the state after each sequence's last valid step. */
        const size_t last = top->h_pingpong ? (T & 1) : T;
        const float *h_last = p->dropping ? top->out_drop + (size_t)(T - 1) * BH : top->h + last * BH;
        head_apply(&m->final_w, H, S, O, B, h_last, final_out);
        if (S)
            clv__gemm(0, 1, B, O, S, 1.0f, p->stat, S, m->final_w.w + H, (size_t)H + S, 1.0f,
                      final_out, O);
    }
    if (step_out) {
        const uint32_t O = o->step_outputs;
        head_apply(&m->step_w, H, S, O, T * B, p->dropping ? top->out_drop : top->h + BH, p->step_out);
        if (S)
            clv__gemm(0, 1, B, O, S, 1.0f, p->stat, S, m->step_w.w + H, (size_t)H + S, 0.0f,
                      p->stat_proj, O);
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t t = 0; t < T; t++) {
                const float *src = p->step_out + ((size_t)t * B + b) * O;
                float *dst = step_out + ((size_t)b * T + t) * O;
                if ((int32_t)t >= p->lengths[b]) {
                    clv__vec_zero(dst, O);
                } else if (S) {
                    clv__vec_add(dst, src, p->stat_proj + (size_t)b * O, O);
                } else {
                    memcpy(dst, src, O * sizeof(float));
                }
            }
    }
}

void clv__pass_forward(const clv_model *m, clv__pass *p, float *final_out, float *step_out)
{
    pass_forward(m, p, final_out, step_out, 0);
}

int clv__model_history(const clv_model *m, clv__arena *a, uint32_t B, uint32_t T, const float *x,
                       const int32_t *lengths, float *h_out, float *c_out, float *last_out)
{
    static const char fn[] = "clv__model_history";
    clv__pass p;
    if (m->o.static_size || !m->o.step_outputs)
        return clv__error(CLV_ENOTSUP, "%s: roll-outs need a per-step head and no static features", fn);
    CLV__TRY(clv__check_shapes(m, B, T, x, NULL, NULL, NULL, fn));
    CLV__TRY(clv__pass_plan(m, a, &p, B, T, CLV__PLAN_INFER));
    CLV__TRY(clv__pass_load(m, &p, x, lengths, NULL, fn));
    pass_forward(m, &p, NULL, NULL, 0);
    const uint32_t H = m->o.hidden_size, O = m->o.step_outputs;
    const size_t BH = (size_t)B * H;
    for (uint32_t l = 0; l < m->o.num_layers; l++) {
        memcpy(h_out + l * BH, p.layer[l].h + (size_t)T * BH, BH * sizeof(float));
        if (m->o.cell == CLV_CELL_LSTM)   /* inference: c after step T-1 is in slot T % 2 */
            memcpy(c_out + l * BH, p.layer[l].c + (size_t)(T & 1) * BH, BH * sizeof(float));
    }
    /* The head on each sequence's final state = its output at the last valid step. */
    head_apply(&m->step_w, H, 0, O, B, p.layer[m->o.num_layers - 1].h + (size_t)T * BH, last_out);
    return CLV_OK;
}

int clv__model_step(const clv_model *m, clv__arena *a, uint32_t B, const float *x, float *h, float *c,
                    float *out)
{
    static const char fn[] = "clv__model_step";
    clv__pass p;
    if (m->o.static_size || !m->o.step_outputs)
        return clv__error(CLV_ENOTSUP, "%s: roll-outs need a per-step head and no static features", fn);
    CLV__TRY(clv__check_shapes(m, B, 1, x, NULL, NULL, NULL, fn));
    CLV__TRY(clv__pass_plan(m, a, &p, B, 1, CLV__PLAN_INFER));
    CLV__TRY(clv__pass_load(m, &p, x, NULL, NULL, fn));
    const uint32_t H = m->o.hidden_size, L = m->o.num_layers;
    const size_t BH = (size_t)B * H;
    if (m->o.cell == CLV_CELL_LSTM) {
        /* The layers read and write the caller's h and c directly: no copy
         * in or out (the copies were 14% of a roll-out, measured). */
        for (uint32_t l = 0; l < L; l++) {
            clv__layer_buf *lb = &p.layer[l];
            lb->h0 = lb->hT = h + l * BH;
            lb->c0 = lb->cT = c + l * BH;
        }
        pass_forward(m, &p, NULL, NULL, 1);
        head_apply(&m->step_w, H, 0, m->o.step_outputs, B, h + (size_t)(L - 1) * BH, out);
        return CLV_OK;
    }
    for (uint32_t l = 0; l < L; l++) memcpy(p.layer[l].h, h + l * BH, BH * sizeof(float));
    pass_forward(m, &p, NULL, NULL, 1);
    for (uint32_t l = 0; l < L; l++) memcpy(h + l * BH, p.layer[l].h + BH, BH * sizeof(float));
    head_apply(&m->step_w, H, 0, m->o.step_outputs, B, p.layer[L - 1].h + BH, out);
    return CLV_OK;
}

/* ------------------------------------------------------------------ */

CLV_API int clv_workspace_new(clv_workspace **out)
{
    CLV__CHECK_ARG(out != NULL, "clv_workspace_new: out is NULL");
    *out = clv__calloc(1, sizeof **out);
    if (!*out) return clv__oom();
    clv__arena_init(&(*out)->arena);
    return CLV_OK;
}

CLV_API void clv_workspace_free(clv_workspace *ws)
{
    if (!ws) return;
    clv__arena_free(&ws->arena);
    clv__free(ws);
}

CLV_API int clv_workspace_reserve(clv_workspace *ws, const clv_model *m, uint32_t batch,
                                  uint32_t steps)
{
    CLV__CHECK_ARG(ws != NULL && m != NULL, "clv_workspace_reserve: workspace or model is NULL");
    CLV__TRY(check_batch_steps(batch, steps, "clv_workspace_reserve"));
    return clv__pass_plan(m, &ws->arena, &ws->pass, batch, steps, CLV__PLAN_INFER);
}

CLV_API int clv_model_predict(const clv_model *m, clv_workspace *ws, uint32_t batch,
                              uint32_t steps, const float *x, const int32_t *lengths,
                              const float *static_x, float *final_out, float *step_out)
{
    static const char fn[] = "clv_model_predict";
    CLV__TRY(clv__check_shapes(m, batch, steps, x, static_x, final_out, step_out, fn));
    clv__arena local;
    clv__arena_init(&local);
    clv__pass tmp;
    clv__arena *arena = ws ? &ws->arena : &local;
    clv__pass *p = ws ? &ws->pass : &tmp;
    int rc = clv__pass_plan(m, arena, p, batch, steps,
                            step_out ? CLV__PLAN_INFER : CLV__PLAN_INFER_FINAL);
    if (rc == CLV_OK) rc = clv__pass_load(m, p, x, lengths, static_x, fn);
    if (rc == CLV_OK) clv__pass_forward(m, p, final_out, step_out);
    clv__arena_free(&local);
    return rc;
}

int clv__model_forward(clv_model *m, uint32_t batch, uint32_t steps, const float *x,
                       const int32_t *lengths, const float *static_x, float *final_out,
                       float *step_out, unsigned flags, const char *fn)
{
    CLV__TRY(clv__check_shapes(m, batch, steps, x, static_x, final_out, step_out, fn));
    m->has_forward = 0;
    CLV__TRY(clv__pass_plan(m, &m->train_arena, &m->pass, batch, steps, CLV__PLAN_TRAIN));
    CLV__TRY(clv__pass_load(m, &m->pass, x, lengths, static_x, fn));
    if (m->o.dropout > 0 && !(flags & CLV__FWD_NO_DROPOUT)) {
        m->pass.dropping = 1;
        m->pass.drop = clv__dropout_make(m->o.seed, m->dropout_pass++, m->o.dropout);
    }
    if (flags & CLV__FWD_INTERNAL_OUTPUTS) {
        /* clv_model_train_step: outputs land in the pass's own buffers. */
        final_out = m->o.final_outputs ? m->pass.pred_final : NULL;
        step_out = m->o.final_outputs ? NULL : m->pass.pred_step;
    }
    clv__pass_forward(m, &m->pass, final_out, step_out);
    m->has_forward = 1;
    return CLV_OK;
}

CLV_API int clv_model_forward(clv_model *m, uint32_t batch, uint32_t steps, const float *x,
                              const int32_t *lengths, const float *static_x, float *final_out,
                              float *step_out)
{
    return clv__model_forward(m, batch, steps, x, lengths, static_x, final_out, step_out, 0u,
                              "clv_model_forward");
}

/* Gradients of a head: accumulate dW, db and d_static; return dL/dh in dh_out
 * (overwritten when `overwrite`, else added). d is [rows][O] time- or batch-major
 * as h is; `stat_rows` maps rows to sequences (rows = steps*B, row r -> r % B). */
static void head_backward(const clv_model *m, const clv__head_weights *w, clv__head_weights *g,
                          uint32_t O, uint32_t rows, const float *d, const float *h,
                          float *dh_out, int overwrite)
{
    const uint32_t H = m->o.hidden_size, S = m->o.static_size;
    clv__gemm(0, 0, rows, H, O, 1.0f, d, O, w->w, (size_t)H + S, overwrite ? 0.0f : 1.0f, dh_out, H);
    clv__gemm(1, 0, O, H, rows, 1.0f, d, O, h, H, 1.0f, g->w, (size_t)H + S);
    clv__rows_sum_into(g->b, d, O, rows, O);
}

/* Static-feature part of a head: dW_s += dsum^T stat, d_static += dsum W_s,
 * where dsum[B][O] is the head gradient summed over the rows of each sequence. */
static void head_static_backward(const clv_model *m, const clv__head_weights *w,
                                 clv__head_weights *g, uint32_t O, const float *dsum,
                                 const float *stat, float *d_static)
{
    const uint32_t B = m->pass.batch, H = m->o.hidden_size, S = m->o.static_size;
    clv__gemm(1, 0, O, S, B, 1.0f, dsum, O, stat, S, 1.0f, g->w + H, (size_t)H + S);
    if (d_static) clv__gemm(0, 0, B, S, O, 1.0f, dsum, O, w->w + H, (size_t)H + S, 1.0f, d_static, S);
}

static int check_grad_input(const float *d, size_t n, const char *what)
{
    size_t bad;
    if (!clv__all_finite(d, n, &bad))
        return clv__error(CLV_EINVAL, "clv_model_backward: %s[%zu] is not finite", what, bad);
    return CLV_OK;
}

CLV_API int clv_model_backward(clv_model *m, const float *d_final, const float *d_step,
                               float *d_x, float *d_static)
{
    CLV__CHECK_ARG(m != NULL, "clv_model_backward: model is NULL");
    if (!m->has_forward)
        return clv__error(CLV_ESTATE, "clv_model_backward: no forward pass to differentiate; call clv_model_forward() first");
    clv__pass *p = &m->pass;
    const clv_model_options *o = &m->o;
    const uint32_t B = p->batch, T = p->steps, H = o->hidden_size, F = o->input_size;
    const uint32_t S = o->static_size;
    const size_t BH = (size_t)B * H;
    if (d_final && o->final_outputs == 0)
        return clv__error(CLV_ESHAPE, "clv_model_backward: d_final given but the model has no final head");
    if (d_step && o->step_outputs == 0)
        return clv__error(CLV_ESHAPE, "clv_model_backward: d_step given but the model has no per-step head");
    if (d_final) CLV__TRY(check_grad_input(d_final, (size_t)B * o->final_outputs, "d_final"));

    /* What the heads read: the top layer's outputs, after dropout when this
     * pass dropped (their gradients are then those of the dropped outputs,
     * taken back through the mask in the layer loop below). */
    const clv__layer_buf *top = &p->layer[o->num_layers - 1];
    const float *seen = p->dropping ? top->out_drop : top->h + BH;
    const float *seen_last = p->dropping ? top->out_drop + (size_t)(T - 1) * BH : top->h + (size_t)T * BH;
    float *dy = p->dseq_a;
    /* With only a final head the top layer's output gradient is zero
     * before the last step: an LSTM skips those steps' additions, so only
     * the last block needs clearing (3.4 MB of memset and as many adds per
     * training step at B=256, T=52, H=64). */
    uint32_t dy_from = (o->cell == CLV_CELL_LSTM && !d_step) ? T - 1 : 0;
    clv__vec_zero(dy + (size_t)dy_from * BH, (size_t)(T - dy_from) * BH);
    if (d_static && S) clv__vec_zero(d_static, (size_t)B * S);

    if (d_step) {
        const uint32_t O = o->step_outputs;
        /* Time-major copy with padded steps zeroed: their outputs are the
         * constant 0, so gradients given there are ignored. */
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t t = 0; t < T; t++) {
                float *dst = p->d_step + ((size_t)t * B + b) * O;
                const float *src = d_step + ((size_t)b * T + t) * O;
                size_t bad;
                if ((int32_t)t >= p->lengths[b]) {
                    clv__vec_zero(dst, O);
                } else if (!clv__all_finite(src, O, &bad)) {
                    return clv__error(CLV_EINVAL, "clv_model_backward: d_step[%u][%u][%zu] is not finite",
                                      b, t, bad);
                } else {
                    memcpy(dst, src, O * sizeof(float));
                }
            }
        head_backward(m, &m->step_w, &m->step_g, O, T * B, p->d_step, seen, dy, 1);
        if (S) {
            clv__vec_zero(p->dstat_acc, (size_t)B * O);
            for (uint32_t t = 0; t < T; t++)
                clv__vec_axpy(p->dstat_acc, 1.0f, p->d_step + (size_t)t * B * O, (size_t)B * O);
            head_static_backward(m, &m->step_w, &m->step_g, O, p->dstat_acc, p->stat, d_static);
        }
    }
    if (d_final) {
        const uint32_t O = o->final_outputs;
        /* Injected at the last step; frozen steps carry it back to each
         * sequence's last valid step. */
        head_backward(m, &m->final_w, &m->final_g, O, B, d_final, seen_last,
                      dy + (size_t)(T - 1) * BH, 0);
        if (S) head_static_backward(m, &m->final_w, &m->final_g, O, d_final, p->stat, d_static);
    }

    for (uint32_t l = o->num_layers; l-- > 0;) {
        clv__layer_buf *lb = &p->layer[l];
        uint32_t in_size = l == 0 ? F : H;
        const float *in = l == 0 ? p->x : p->dropping ? p->layer[l - 1].out_drop : p->layer[l - 1].h + BH;
        /* dy is the gradient of this layer's dropped outputs: through the
         * forward pass's mask to that of its outputs (steps before dy_from
         * are zero and unread) */
        if (p->dropping)
            clv__dropout_apply(&p->drop, l, B, T, H, dy_from, dy, dy, (uint32_t)m->threads);
        float *dx = (l > 0 || d_x) ? (dy == p->dseq_a ? p->dseq_b : p->dseq_a) : NULL;
        if (o->cell == CLV_CELL_LSTM)
            clv__lstm_backward(&m->w[l], &m->g[l], in_size, H, B, T, p->lengths, in, lb, dy,
                               dy_from, dx, p->dh, p->dc, p->dbias_part, p->bias_parts,
                               (uint32_t)m->threads);
        else
            clv__gru_backward(&m->w[l], &m->g[l], in_size, H, B, T, p->lengths, in, lb, dy, dx,
                              p->dh);
        if (dx) dy = dx;
        dy_from = 0;   /* a lower layer's output gradient is the full dx */
    }
    if (d_x) {
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t t = 0; t < T; t++)
                memcpy(d_x + ((size_t)b * T + t) * F, dy + ((size_t)t * B + b) * F, F * sizeof(float));
    }
    /* The layer kernels overwrote the cached activations with gradients. */
    m->has_forward = 0;
    return CLV_OK;
}
