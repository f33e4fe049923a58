/**
 * @file train.h
 * @brief One call for the common training step: forward, loss, backward, update.
 */
#ifndef CLV_TRAIN_H
#define CLV_TRAIN_H

#include "common.h"
#include "loss.h"

CLV_BEGIN_DECLS

/**
 * zero_grad + forward + loss + backward + optimizer step.
 *
 * The loss is taken on the final head when the model has one, else on the
 * per-step head with padded steps masked out (rows b*T+t with t >= lengths[b]).
 * @param model   the model to train (exclusive use during the call).
 * @param opt     the optimizer that updates it.
 * @param loss    loss options (NULL = defaults: MSE, mean).
 * @param batch,steps B and T, both >= 1.
 * @param x       [B][T][F] inputs.
 * @param lengths [B] valid steps per sequence, or NULL = all T.
 * @param static_x [B][S] static features, or NULL when S == 0.
 * @param target  final head: [B][target_dim]; per-step head: [B][T][target_dim]
 *                (target_dim from clv_loss_target_dim()).
 * @param weight  [B] per-sequence weights, or NULL.
 * @param out_loss receives the loss before the update (may be NULL).
 * @return CLV_OK or the first failing call's status; on CLV_ENUMERIC the
 *         parameters are left unchanged.
 */
CLV_API CLV_NODISCARD int clv_model_train_step(clv_model *model, clv_optim *opt,
                                               const clv_loss_options *loss,
                                               uint32_t batch, uint32_t steps,
                                               const float *x, const int32_t *lengths,
                                               const float *static_x, const float *target,
                                               const float *weight, double *out_loss);

CLV_END_DECLS

#endif
