/* Internal layout of clv_model and the per-layer kernels shared by
 * inference (clv_workspace) and training (the model's own arena). */
#ifndef CLV_NN_MODEL_IMPL_H
#define CLV_NN_MODEL_IMPL_H

#include <stdint.h>

#include "../clv_internal.h"
#include "../core/parallel.h"
#include "../core/tensor.h"

/* One recurrent layer's parameters (and, at the same offsets, gradients). */
typedef struct clv__rnn_weights {
    float *w_ih;   /* [G*H][in]  */
    float *w_hh;   /* [G*H][H]   */
    float *b_ih;   /* [G*H]      LSTM: the only bias (PyTorch's b_ih + b_hh) */
    float *b_hh;   /* [G*H]      GRU only, NULL for LSTM */
} clv__rnn_weights;

typedef struct clv__head_weights {
    float *w;      /* [O][H+S]: columns 0..H-1 read h, H..H+S-1 read static features */
    float *b;      /* [O] */
} clv__head_weights;

typedef struct clv__param_entry {
    char name[32];
    uint64_t offset;
    uint32_t rows, cols;
} clv__param_entry;

/* Activations of one layer over a whole batch, time-major. */
typedef struct clv__layer_buf {
    float *act;    /* [T][B][G*H] gate activations, reused for gate gradients in backward;
                    * LSTM inference: [1][B][G*H], one step's block reused by every
                    * step, except tiny batches ([T][B][G*H], see lstm.c) */
    float *hh;     /* GRU: [T][B][3H] hidden-side pre-activations W_hh h + b_hh */
    float *h;      /* [T+1][B][H]: h[0] = 0, h[t+1] = state after step t (frozen past length);
                    * h_pingpong: [2][B][H], the state after step t-1 in slot t % 2 */
    int h_pingpong;
    float *c;      /* LSTM: [T+1][B][H] cell states, same indexing; LSTM inference:
                    * [2][B][H], the state after step t-1 in slot t % 2 */
    /* LSTM roll-out step (clv__model_step, T = 1): when set, the state is
     * read from h0/c0 and the new state written to hT/cT (the caller's
     * arrays, updated in place) instead of h[0]/c[0] and h[T]/c[T]. */
    float *h0, *c0, *hT, *cT;
    /* LSTM weights packed for clv__packmm (core/packmm.h), refilled by every
     * pass; clv__lstm_pack_size() floats, NULL where that is 0 */
    float *wpack;
    /* Training with dropout: [T][B][H] the outputs of steps 0..T-1 after
     * dropout, which the heads or the next layer read instead of h[1..T] */
    float *out_drop;
} clv__layer_buf;

/* The dropout of one training pass (dropout.c): the hash key of its masks,
 * the 24-bit threshold below which a unit is dropped, 1/(1-p). */
typedef struct clv__dropout {
    uint64_t key;
    uint32_t threshold;
    float scale;
} clv__dropout;

/* Every buffer of one forward (and backward) pass, carved from one arena. */
typedef struct clv__pass {
    uint32_t batch, steps;
    int inference;         /* planned without training buffers */
    int dropping;          /* this training pass applies `drop` (model dropout > 0) */
    clv__dropout drop;
    uint32_t act_steps;    /* steps held in layer[].act (clv__lstm_act_steps for LSTM) */
    int32_t *lengths;      /* [B] */
    float *x;              /* [T][B][F] time-major copy, zero at padded steps */
    float *stat;           /* [B][S] or NULL */
    clv__layer_buf layer[CLV_MAX_LAYERS];
    float *step_out;       /* [T][B][Os] time-major per-step head output */
    float *stat_proj;      /* [B][max(Of,Os)] static part of a head's output */
    /* backward scratch */
    float *dseq_a, *dseq_b;/* [T][B][max(H,F)] gradient w.r.t. a layer's outputs / inputs */
    float *dh, *dc;        /* [B][H] carried state gradients */
    float *dbias_part;     /* LSTM: [workers][G*H] per-worker bias-gradient sums */
    uint32_t bias_parts;   /* rows of dbias_part (workers planned for the pass) */
    float *d_step;         /* [T][B][Os] time-major head gradient */
    float *dstat_acc;      /* [B][max(Of,Os)] head gradient summed over steps */
    /* training-step extras (clv_model_train_step) */
    float *pred_final;     /* [B][Of] */
    float *pred_step;      /* [B][T][Os] */
    float *grad_final;     /* [B][Of] */
    float *grad_step;      /* [B][T][Os] */
    float *target_step;    /* [B][T][Os] per-step targets, zero at padded steps */
    float *mask;           /* [B*T] */
} clv__pass;

struct clv_model {
    clv_model_options o;
    uint32_t gates;                 /* 4 LSTM, 3 GRU */
    int32_t threads;                /* clv_model_set_num_threads(); runtime only, never saved */
    uint64_t nparams;
    float *params, *grads;
    clv__rnn_weights w[CLV_MAX_LAYERS], g[CLV_MAX_LAYERS];
    clv__head_weights final_w, final_g, step_w, step_g;
    clv__param_entry *table;
    uint32_t ntable;
    /* training state */
    clv__arena train_arena;
    clv__pass pass;
    int has_forward;                /* a forward pass is cached for backward */
    uint64_t dropout_pass;          /* pass number of the next dropping forward pass */
};

struct clv_workspace {
    clv__arena arena;
    clv__pass pass;
};

/* Lay out a pass for (batch, steps) in `arena` (growing it if needed).
 * CLV__PLAN_TRAIN adds the backward and train-step buffers;
 * CLV__PLAN_INFER_FINAL is inference whose per-step outputs are not wanted
 * (the top LSTM layer then keeps only two h slots; at most as much memory
 * as CLV__PLAN_INFER, so a workspace reserved for that fits it). */
#define CLV__PLAN_INFER 0
#define CLV__PLAN_TRAIN 1
#define CLV__PLAN_INFER_FINAL 2
int clv__pass_plan(const clv_model *m, clv__arena *arena, clv__pass *p, uint32_t batch,
                   uint32_t steps, int mode);
/* Validate and copy inputs into the pass (x made time-major, padding zeroed). */
int clv__pass_load(const clv_model *m, clv__pass *p, const float *x, const int32_t *lengths,
                   const float *static_x, const char *fn);
/* Run all layers and the requested heads. */
void clv__pass_forward(const clv_model *m, clv__pass *p, float *final_out, float *step_out);
/* Plan, stage and run a training forward pass (kept for clv_model_backward).
 * Flags: CLV__FWD_INTERNAL_OUTPUTS sends the head outputs to
 * pass.pred_final / pred_step (clv_model_train_step); CLV__FWD_NO_DROPOUT
 * runs the training path without dropout and without advancing the pass
 * number, for a loss or gradient of the network as predict sees it
 * (held-out loss, explanations); backward then applies no mask either. */
#define CLV__FWD_INTERNAL_OUTPUTS 1u
#define CLV__FWD_NO_DROPOUT 2u
int clv__model_forward(clv_model *m, uint32_t batch, uint32_t steps, const float *x,
                       const int32_t *lengths, const float *static_x, float *final_out,
                       float *step_out, unsigned flags, const char *fn);
/* The pass number the next dropping forward pass uses (then advances by
 * one). Setting it replays a pass's masks: the gradient check, and a
 * training loop that numbers its steps itself (the forecaster, so that a
 * run resumed from a checkpoint draws the masks of the uninterrupted run). */
void clv__model_set_dropout_pass(clv_model *m, uint64_t pass);
uint64_t clv__model_dropout_pass(const clv_model *m);

/* Dropout (dropout.c). make: the masks of pass `pass` of a model seeded
 * `seed` at rate p. apply: out = in * mask over steps [t_from, T) of
 * layer `layer` ([T][B][H], in place when out == in; backward applies it to
 * the output gradient). factor: one element's m / (1-p), for tests. */
clv__dropout clv__dropout_make(uint64_t seed, uint64_t pass, double p);
void clv__dropout_apply(const clv__dropout *d, uint32_t layer, uint32_t batch, uint32_t steps,
                        uint32_t hid, uint32_t t_from, const float *in, float *out, uint32_t threads);
float clv__dropout_factor(const clv__dropout *d, uint32_t layer, uint32_t t, uint32_t b, uint32_t j);
/* Validate shapes common to predict and forward. */
int clv__check_shapes(const clv_model *m, uint32_t batch, uint32_t steps, const float *x,
                      const float *static_x, const float *final_out, const float *step_out,
                      const char *fn);

/* Roll-out support (inference, const model, caller-owned arena):
 * clv__model_history runs B sequences and returns each layer's state after
 * the last valid step, h_out/c_out [L][B][H] (c only for LSTM, else may be
 * NULL), and the per-step head output at each sequence's last valid step,
 * last_out [B][Os]. clv__model_step advances B states by one step with input
 * x [B][F], updating h/c in place and writing the per-step head to out [B][Os]. */
int clv__model_history(const clv_model *m, clv__arena *a, uint32_t batch, uint32_t steps,
                       const float *x, const int32_t *lengths, float *h_out, float *c_out,
                       float *last_out);
int clv__model_step(const clv_model *m, clv__arena *a, uint32_t batch, const float *x, float *h,
                    float *c, float *out);

/* Recurrent layer kernels. `in` is the layer input [T][B][in]. */
/* keep_state: h[0] (and c[0]) were preloaded by the caller instead of zero.
 * threads: the model's clv_model_set_num_threads() value (LSTM only). */
void clv__lstm_forward(const clv__rnn_weights *w, uint32_t in, uint32_t hid, uint32_t batch,
                       uint32_t steps, const int32_t *len, const float *x, clv__layer_buf *buf,
                       int keep_state, int inference, uint32_t threads);
/* Floats of layer_buf.wpack for an LSTM layer in a pass of `batch` rows:
 * inference: W_ih then W_hh packed (none for the tiny batches that take
 * clv__gemv2); training: W_hh packed for the forward products or transposed
 * for backward's. 0: the layer takes no packed path. */
size_t clv__lstm_pack_size(uint32_t in, uint32_t hid, uint32_t batch, int training);
/* Steps of activations an LSTM pass keeps in layer[].act (training: all). */
uint32_t clv__lstm_act_steps(uint32_t batch, uint32_t steps, int training);
/* Workers an LSTM call uses for `batch` rows when allowed `threads`. */
uint32_t clv__lstm_workers(uint32_t threads, uint32_t batch);
/* dy: [T][B][H] gradient w.r.t. outputs (consumed), zero before step dy_from
 * (those blocks are not read); dx: [T][B][in] output or NULL; dbias_part:
 * scratch [bias_parts][4H] (at most bias_parts workers run). */
void clv__lstm_backward(const clv__rnn_weights *w, clv__rnn_weights *g, uint32_t in,
                        uint32_t hid, uint32_t batch, uint32_t steps, const int32_t *len,
                        const float *x, clv__layer_buf *buf, const float *dy, uint32_t dy_from,
                        float *dx, float *dh, float *dc, float *dbias_part, uint32_t bias_parts,
                        uint32_t threads);
void clv__gru_forward(const clv__rnn_weights *w, uint32_t in, uint32_t hid, uint32_t batch,
                      uint32_t steps, const int32_t *len, const float *x, clv__layer_buf *buf,
                      int keep_state);
void clv__gru_backward(const clv__rnn_weights *w, clv__rnn_weights *g, uint32_t in,
                       uint32_t hid, uint32_t batch, uint32_t steps, const int32_t *len,
                       const float *x, clv__layer_buf *buf, const float *dy, float *dx,
                       float *dh);

#endif
