/* The common training step: zero_grad, forward, loss, backward, update. */
#include <math.h>
#include <string.h>

#include "../core/ops.h"
#include "model_impl.h"

static int read_loss_options(clv_loss_options *lo, const clv_loss_options *loss, const char *fn)
{
    clv_loss_options_init(lo);
    if (!loss) return CLV_OK;
    CLV__CHECK_ARG(loss->struct_size >= offsetof(clv_loss_options, kind) + sizeof loss->kind,
                   "%s: loss options struct_size %u is too small; call clv_loss_options_init()", fn,
                   loss->struct_size);
    memcpy(lo, loss, loss->struct_size < sizeof *lo ? loss->struct_size : sizeof *lo);
    lo->struct_size = sizeof *lo;
    return CLV_OK;
}

/* Per-step rows b*T+t: the mask carries padding and the per-sequence weight;
 * targets at padded steps are replaced by 0 because callers pad them with
 * anything (NaN included) and the loss validates every row it is given. */
static int stage_step_rows(clv__pass *p, const float *target, uint32_t tdim, const float *weight,
                           const char *fn)
{
    const uint32_t B = p->batch, T = p->steps;
    for (uint32_t b = 0; b < B; b++) {
        float w = 1.0f;
        if (weight) {
            w = weight[b];
            CLV__CHECK_ARG(isfinite(w) && w >= 0.0f, "%s: weight[%u] = %g, expected finite and >= 0",
                           fn, b, (double)w);
        }
        for (uint32_t t = 0; t < T; t++) {
            size_t r = (size_t)b * T + t;
            int valid = (int32_t)t < p->lengths[b];
            p->mask[r] = valid ? w : 0.0f;
            if (valid) memcpy(p->target_step + r * tdim, target + r * tdim, tdim * sizeof(float));
            else clv__vec_zero(p->target_step + r * tdim, tdim);
        }
    }
    return CLV_OK;
}

CLV_API int clv_model_train_step(clv_model *m, clv_optim *opt, const clv_loss_options *loss,
                                 uint32_t batch, uint32_t steps, const float *x,
                                 const int32_t *lengths, const float *static_x,
                                 const float *target, const float *weight, double *out_loss)
{
    static const char fn[] = "clv_model_train_step";
    CLV__CHECK_ARG(m != NULL && opt != NULL, "%s: model or optimizer is NULL", fn);
    CLV__CHECK_ARG(target != NULL, "%s: target is NULL", fn);
    clv_loss_options lo;
    CLV__TRY(read_loss_options(&lo, loss, fn));

    const int on_final = m->o.final_outputs > 0;
    const uint32_t pred_dim = on_final ? m->o.final_outputs : m->o.step_outputs;
    uint32_t tdim;
    CLV__TRY(clv_loss_target_dim(&lo, pred_dim, &tdim));
    CLV__TRY(clv_model_zero_grad(m));
    CLV__TRY(clv__model_forward(m, batch, steps, x, lengths, static_x, NULL, NULL, CLV__FWD_INTERNAL_OUTPUTS, fn));

    clv__pass *p = &m->pass;
    double value = 0.0;
    if (on_final) {
        CLV__TRY(clv_loss_eval(&lo, batch, pred_dim, p->pred_final, target, weight, NULL, &value,
                               p->grad_final));
        CLV__TRY(clv_model_backward(m, p->grad_final, NULL, NULL, NULL));
    } else {
        CLV__TRY(stage_step_rows(p, target, tdim, weight, fn));
        CLV__TRY(clv_loss_eval(&lo, batch * steps, pred_dim, p->pred_step, p->target_step, NULL,
                               p->mask, &value, p->grad_step));
        CLV__TRY(clv_model_backward(m, NULL, p->grad_step, NULL, NULL));
    }
    if (out_loss) *out_loss = value;
    return clv_optim_step(opt, m);
}
