/**
 * @file model.h
 * @brief Sequence models: stacked LSTM or GRU layers with dense heads.
 *
 * A model maps a batch of sequences x[b][t][0..F) with per-sequence lengths to
 *  - a *final head* on the last valid hidden state (one prediction per customer,
 *    V_b = W_f [h_b ; s_b] + b_f), and/or
 *  - a *per-step head* on every valid hidden state (V_{b,t} = W_s [h_{b,t} ; s_b] + b_s),
 * where s_b are optional static features concatenated to the head input.
 *
 * Lengths: steps t < lengths[b] are valid; later steps are padding. Padding never
 * reaches a sequence's state: from t = lengths[b] on, h and c are frozen, so the
 * final head reads the state after the last valid step, per-step outputs at
 * padded steps are 0, and gradients given for padded steps are ignored.
 *
 * Gate order and equations (PyTorch's, so weights can be exchanged with it):
 *  - LSTM gates [i, f, g, o]: i,f,o = sigmoid, g = tanh of W_ih x + W_hh h + b;
 *    c' = f*c + i*g; h' = o*tanh(c'). One bias per layer (PyTorch's b_ih + b_hh).
 *  - GRU gates [r, z, n]: r,z = sigmoid(W_ih x + b_ih + W_hh h + b_hh) parts;
 *    n = tanh(W_in x + b_in + r*(W_hn h + b_hn)); h' = (1-z)*n + z*h.
 * Initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)) from the
 * model's seed; LSTM forget-gate bias set to options.forget_bias (default 1);
 * heads ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with zero bias; h0 = c0 = 0.
 *
 * Threading: functions taking `const clv_model *` may run concurrently on one
 * model from many threads, each with its own clv_workspace and output buffers.
 * Training calls (non-const) need exclusive use of the model.
 */
#ifndef CLV_MODEL_H
#define CLV_MODEL_H

#include "common.h"

CLV_BEGIN_DECLS

/** Recurrent cell kinds (stored as int32_t in options). */
typedef enum clv_cell_kind {
    CLV_CELL_LSTM = 1,
    CLV_CELL_GRU = 2
} clv_cell_kind;

/** Model configuration. Fill with clv_model_options_init(), then set fields. */
typedef struct clv_model_options {
    uint32_t struct_size;     /**< set by clv_model_options_init() */
    int32_t cell;             /**< CLV_CELL_LSTM (default) or CLV_CELL_GRU */
    uint32_t input_size;      /**< F: features per time step (required, >= 1) */
    uint32_t hidden_size;     /**< H (default 64) */
    uint32_t num_layers;      /**< stacked recurrent layers (default 1) */
    uint32_t static_size;     /**< S: static features appended to each head's input (default 0) */
    uint32_t final_outputs;   /**< outputs of the final-state head; 0 = no such head (default 1) */
    uint32_t step_outputs;    /**< outputs of the per-step head; 0 = no such head (default 0) */
    uint64_t seed;            /**< initialisation seed (default 42) */
    float forget_bias;        /**< LSTM forget-gate bias at init (default 1.0) */
    double dropout;           /**< training only: rate p of inverted dropout on the recurrent
                               *   layers' outputs, 0 <= p < 1 (default 0 = off); see below.
                               *   A double so that it starts past the end of the struct
                               *   before it (a float would sit in its tail padding, which
                               *   older callers' struct_size covers). */
} clv_model_options;

/** @var clv_model_options::dropout
 * Inverted dropout (Srivastava et al. 2014) on the non-recurrent connections
 * (Zaremba et al. 2014): each output h_t of every recurrent layer, where it
 * feeds the heads and the next layer, is multiplied by m/(1-p) with m ~
 * Bernoulli(1-p) per sequence, step and unit. The recurrent state itself is
 * never dropped. Only training forward passes (clv_model_forward(),
 * clv_model_train_step()) drop; clv_model_predict() and every inference path
 * use the weights as they are, which the 1/(1-p) scaling makes the expected
 * training output. The masks are a hash of (seed, pass number, layer,
 * sequence row, step, unit): deterministic for a given seed and sequence of
 * calls, and independent of clv_model_set_num_threads(). The pass number
 * starts at 0 and advances with every training forward pass;
 * clv_model_backward() uses the masks of the forward pass it differentiates.
 * With p = 0 training is exactly as without the field. A network saved
 * inside a forecaster file keeps its weights, not p (the forecaster's own
 * options record it: clv_forecast_options::dropout). */

/** Largest input_size (features per step) a model accepts: a guard against hostile
 *  sizes, like the three below; function twins follow. */
#define CLV_MAX_INPUT_SIZE 65536u
/** Largest hidden_size. */
#define CLV_MAX_HIDDEN_SIZE 16384u
/** Largest num_layers. */
#define CLV_MAX_LAYERS 64u
/** Largest final_outputs or step_outputs. */
#define CLV_MAX_OUTPUTS 65536u
/** @return CLV_MAX_INPUT_SIZE (for FFIs that cannot read macros). */
CLV_API uint32_t clv_max_input_size(void);
/** @return CLV_MAX_HIDDEN_SIZE. */
CLV_API uint32_t clv_max_hidden_size(void);
/** @return CLV_MAX_LAYERS. */
CLV_API uint32_t clv_max_layers(void);
/** @return CLV_MAX_OUTPUTS. */
CLV_API uint32_t clv_max_outputs(void);

/** Set `struct_size` and every default. NULL is ignored. */
CLV_API void clv_model_options_init(clv_model_options *opts);

/**
 * Create a model with freshly initialised weights.
 * @param out   receives the model; free it with clv_model_free().
 * @param opts  configuration (NULL is refused: input_size has no default).
 * @return CLV_OK, CLV_EINVAL (bad size or kind; the message names the field), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_model_new(clv_model **out, const clv_model_options *opts);

/** Free a model. NULL is a no-op. */
CLV_API void clv_model_free(clv_model *model);

/**
 * Threads libclv itself runs for this model's recurrent layers in
 * clv_model_predict(), clv_model_forward(), clv_model_backward() and
 * clv_model_train_step() (default 1: the calling thread only). Each call
 * splits the batch into up to n contiguous parts, one per thread, started
 * inside the call and joined before it returns; small batches use fewer.
 * Keep OpenBLAS at 1 thread (clv_blas_set_num_threads(1)) when n > 1, and
 * n <= the cores the process may use: docs/threading.md. A runtime setting:
 * not part of the options and never saved. Results do not depend on n for
 * predict; training sums weight gradients in a different order for n > 1.
 * @return CLV_OK or CLV_EINVAL (NULL model, n outside 1..64).
 */
CLV_API CLV_NODISCARD int clv_model_set_num_threads(clv_model *model, int32_t n);
/** @return the model's thread count (0 for NULL). */
CLV_API int32_t clv_model_num_threads(const clv_model *model);

/**
 * Copy the model's configuration into `out` (up to out->struct_size bytes;
 * call clv_model_options_init(out) first).
 * @return CLV_OK or CLV_EINVAL.
 */
CLV_API CLV_NODISCARD int clv_model_get_options(const clv_model *model, clv_model_options *out);

/* ------------------------------------------------------------------ */
/** @name Inference (thread-safe on a shared model) */

/** Create an empty inference workspace; it grows on first use. */
CLV_API CLV_NODISCARD int clv_workspace_new(clv_workspace **out);
/** Free a workspace. NULL is a no-op. */
CLV_API void clv_workspace_free(clv_workspace *ws);
/**
 * Size `ws` for `model` at up to `batch` x `steps`, so that later
 * clv_model_predict() calls with no larger shapes allocate nothing.
 * @return CLV_OK, CLV_EINVAL (NULL handle, zero or too large batch*steps), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_workspace_reserve(clv_workspace *ws, const clv_model *model,
                                                uint32_t batch, uint32_t steps);

/**
 * Inference forward pass.
 * @param model       the model (read only).
 * @param ws          scratch (one per thread), or NULL to allocate for this call.
 * @param batch,steps B and T, both >= 1.
 * @param x           [B][T][F] inputs; must be finite at valid steps.
 * @param lengths     [B] valid steps per sequence, each in 0..T; NULL = all T.
 * @param static_x    [B][S] static features, or NULL when S == 0.
 * @param final_out   [B][final_outputs], or NULL to skip (requires a final head when given).
 * @param step_out    [B][T][step_outputs], or NULL to skip; padded steps are 0.
 * @return CLV_OK, CLV_EINVAL (NULL/zero/overflowing sizes, bad length, NaN/Inf input),
 *         CLV_ESHAPE (asked for a head the model lacks), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_model_predict(const clv_model *model, clv_workspace *ws,
                                            uint32_t batch, uint32_t steps,
                                            const float *x, const int32_t *lengths,
                                            const float *static_x,
                                            float *final_out, float *step_out);

/* ------------------------------------------------------------------ */
/** @name Training (single writer) */

/**
 * Training forward pass: like clv_model_predict() but keeps the activations
 * inside the model for clv_model_backward(). Inputs are copied; the caller's
 * arrays may change afterwards. Reuses its memory when shapes do not grow.
 * Parameters and return values as clv_model_predict(), without a workspace.
 */
CLV_API CLV_NODISCARD int clv_model_forward(clv_model *model, uint32_t batch, uint32_t steps,
                                            const float *x, const int32_t *lengths,
                                            const float *static_x,
                                            float *final_out, float *step_out);

/**
 * Backpropagation through time for the last clv_model_forward().
 * Gradients are *added* to the model's gradient buffer (see clv_model_zero_grad()).
 * A forward pass can be differentiated once: backward consumes the cached
 * activations (a failed call on bad gradients leaves them for a retry).
 * @param model     the model of the last clv_model_forward().
 * @param d_final   [B][final_outputs] dLoss/dfinal_out, or NULL (zero).
 * @param d_step    [B][T][step_outputs] dLoss/dstep_out, or NULL; padded steps ignored.
 * @param d_x       optional output [B][T][F]: dLoss/dx (0 at padded steps).
 * @param d_static  optional output [B][S]: dLoss/dstatic_x.
 * @return CLV_OK, CLV_ESTATE (no forward pass to differentiate), CLV_EINVAL, CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_model_backward(clv_model *model, const float *d_final,
                                             const float *d_step, float *d_x, float *d_static);

/** Set every gradient to zero. */
CLV_API CLV_NODISCARD int clv_model_zero_grad(clv_model *model);

/* ------------------------------------------------------------------ */
/** @name Parameters: one flat float buffer, in the order of the tensor table */

/** @return the number of parameters (floats); 0 for NULL. */
CLV_API uint64_t clv_model_param_count(const clv_model *model);
/** @return the number of named parameter tensors; 0 for NULL. */
CLV_API uint32_t clv_model_param_tensor_count(const clv_model *model);
/**
 * Describe parameter tensor `index`: its name (e.g. "lstm.0.w_ih"; borrowed,
 * valid until clv_model_free()), offset in the flat buffer, and shape rows x cols
 * (row-major; biases have rows = 1). Any out pointer may be NULL.
 */
CLV_API CLV_NODISCARD int clv_model_param_tensor_info(const clv_model *model, uint32_t index,
                                                      const char **name, uint64_t *offset,
                                                      uint32_t *rows, uint32_t *cols);
/** Copy all parameters into out[count]; count must equal clv_model_param_count(). */
CLV_API CLV_NODISCARD int clv_model_get_params(const clv_model *model, float *out, uint64_t count);
/** Overwrite all parameters from in[count]; refuses (CLV_EINVAL) non-finite values. */
CLV_API CLV_NODISCARD int clv_model_set_params(clv_model *model, const float *in, uint64_t count);
/** Copy all gradients into out[count]. */
CLV_API CLV_NODISCARD int clv_model_get_grads(const clv_model *model, float *out, uint64_t count);
/**
 * Borrowed pointer to the flat parameter buffer, for custom training loops
 * (valid until clv_model_free()). NULL for a NULL model. Writes go straight
 * into the model; keep them finite.
 */
CLV_API float *clv_model_params(clv_model *model);
/**
 * Borrowed pointer to the flat gradient buffer, in the same layout as
 * clv_model_params() (valid until clv_model_free()). NULL for a NULL model.
 * A custom loop may add its own terms (e.g. a penalty's gradient) here
 * between clv_model_backward() and the optimizer step.
 */
CLV_API float *clv_model_grads(clv_model *model);

CLV_END_DECLS

#endif
