/**
 * @file optim.h
 * @brief Optimizers: Adam, AdamW, SGD (momentum, Nesterov), Adagrad, Adadelta;
 *        global-norm gradient clipping; learning-rate schedules.
 *
 * An optimizer keeps only its own state (moments, step count). It is handed the
 * parameters at every step, either a model's (clv_optim_step()) or any flat
 * float buffer (clv_optim_step_raw()), so optimizer and model can be freed in
 * any order. The state is sized on the first step; later steps must pass the
 * same parameter count (else CLV_ESHAPE).
 *
 * Update rules follow PyTorch's torch.optim (step t counts from 1, g = gradient,
 * optionally scaled by clipping, and lr = the scheduled rate):
 *  - ADAM:  g += wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *           p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
 *  - ADAMW: as ADAM without the g += wd*p, and first p -= lr*wd*p (decoupled).
 *  - SGD:   g += wd*p; buf = g at t=1, else momentum*buf + (1-dampening) g;
 *           g = nesterov ? g + momentum*buf : buf (when momentum > 0); p -= lr g
 *  - ADAGRAD: g += wd*p; sum += g^2; p -= lr g / (sqrt(sum) + eps)
 *  - ADADELTA: g += wd*p; sq = rho sq + (1-rho) g^2;
 *           d = sqrt(acc + eps)/sqrt(sq + eps) * g; acc = rho acc + (1-rho) d^2; p -= lr d
 * Clipping: when clip_norm > 0 and ||g||_2 > clip_norm over all parameters,
 * g is scaled by clip_norm/||g||_2 (the caller's gradient buffer is not changed).
 * A step that meets a non-finite gradient, or whose update would make a
 * parameter or a moment non-finite, is refused with CLV_ENUMERIC: parameters,
 * state, step count, last_lr and last_grad_norm are all left as they were.
 * A schedule callback may run for a refused step, so it must be a pure
 * function of its arguments.
 *
 * Schedules (lr at step t, 1-based): CONSTANT lr; STEP lr * gamma^floor((t-1)/step_size);
 * COSINE min_lr + (lr - min_lr) * (1 + cos(pi * min(t-1, total_steps)/total_steps)) / 2
 * (min_lr is reached at step total_steps + 1 and kept);
 * or a user callback (clv_optim_set_lr_callback()).
 */
#ifndef CLV_OPTIM_H
#define CLV_OPTIM_H

#include "common.h"

CLV_BEGIN_DECLS

/** Optimizer kinds (stored as int32_t). */
typedef enum clv_optim_kind {
    CLV_OPTIM_ADAM = 1,
    CLV_OPTIM_ADAMW = 2,
    CLV_OPTIM_SGD = 3,
    CLV_OPTIM_ADAGRAD = 4,
    CLV_OPTIM_ADADELTA = 5
} clv_optim_kind;

/** Learning-rate schedules (stored as int32_t). */
typedef enum clv_schedule_kind {
    CLV_SCHEDULE_CONSTANT = 1,
    CLV_SCHEDULE_STEP = 2,
    CLV_SCHEDULE_COSINE = 3
} clv_schedule_kind;

/** Optimizer configuration; fill with clv_optim_options_init(). */
typedef struct clv_optim_options {
    uint32_t struct_size;   /**< set by clv_optim_options_init() */
    int32_t kind;           /**< clv_optim_kind */
    float lr;               /**< base learning rate (1e-3; 1.0 for Adadelta; 1e-2 for SGD, Adagrad) */
    float beta1;            /**< Adam(W) (0.9) */
    float beta2;            /**< Adam(W) (0.999) */
    float eps;              /**< 1e-8 Adam(W); 1e-10 Adagrad; 1e-6 Adadelta */
    float weight_decay;     /**< 0; 1e-2 for AdamW */
    float momentum;         /**< SGD (0) */
    float dampening;        /**< SGD (0) */
    int32_t nesterov;       /**< SGD: non-zero for Nesterov momentum (needs momentum > 0, dampening 0) */
    float rho;              /**< Adadelta, in [0, 1) (0.9) */
    float clip_norm;        /**< global-norm clipping threshold; 0 = off (default) */
    int32_t schedule;       /**< clv_schedule_kind (CONSTANT) */
    uint32_t step_size;     /**< STEP: steps between decays (1000) */
    float gamma;            /**< STEP: decay factor (0.1) */
    uint64_t total_steps;   /**< COSINE: length of the decay; min_lr from step total_steps+1 (1000) */
    float min_lr;           /**< COSINE: final rate (0) */
} clv_optim_options;

/** Callback schedule: returns the learning rate for step (1-based). */
typedef float (*clv_lr_callback)(uint64_t step, float base_lr, void *user_data);

/** Set `struct_size` and the defaults for `kind` (see the field comments). */
CLV_API void clv_optim_options_init(clv_optim_options *opts, int32_t kind);

/** Create an optimizer. @return CLV_OK, CLV_EINVAL (names the bad field), CLV_ENOMEM. */
CLV_API CLV_NODISCARD int clv_optim_new(clv_optim **out, const clv_optim_options *opts);

/** Free an optimizer. NULL is a no-op. */
CLV_API void clv_optim_free(clv_optim *opt);

/**
 * Update `model`'s parameters from its gradients (does not zero them).
 * @return CLV_OK, CLV_EINVAL, CLV_ESHAPE (parameter count changed),
 *         CLV_ENUMERIC (non-finite gradient or update; nothing was changed), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_optim_step(clv_optim *opt, clv_model *model);

/**
 * Same update on any flat buffer params[count] with gradients grads[count].
 * @return CLV_OK, CLV_EINVAL (NULL buffer, count 0), CLV_ESHAPE (count differs from
 *         the first step's), CLV_ENUMERIC (see above), CLV_ENOMEM (first step's state).
 */
CLV_API CLV_NODISCARD int clv_optim_step_raw(clv_optim *opt, uint64_t count, float *params,
                                             const float *grads);

/** Use `fn` as the schedule (NULL restores options.schedule). */
CLV_API CLV_NODISCARD int clv_optim_set_lr_callback(clv_optim *opt, clv_lr_callback fn,
                                                    void *user_data);

/** Forget the state (moments, step count, parameter count); the next step
 *  starts afresh. last_lr returns to the base rate, last_grad_norm to 0. */
CLV_API CLV_NODISCARD int clv_optim_reset(clv_optim *opt);

/** @return the number of steps taken (0 for NULL). */
CLV_API uint64_t clv_optim_step_count(const clv_optim *opt);
/** @return the learning rate used by the last successful step (the base rate
 *  before any step); 0 for NULL. */
CLV_API float clv_optim_last_lr(const clv_optim *opt);
/** @return the global gradient norm seen by the last successful step, before
 *  clipping (float: a norm beyond FLT_MAX reads as Inf); 0 for NULL or before any step. */
CLV_API float clv_optim_last_grad_norm(const clv_optim *opt);

CLV_END_DECLS

#endif
