/* Inputs from the classic models' posteriors. The network learns each
 * customer's rate and value from short, noisy histories; BG/NBD and
 * Gamma-Gamma, fitted on the same calibration data, give it the Bayesian
 * summary of that history (how likely the customer is still active, the
 * posterior purchase rate, the shrunken mean value) as inputs it can
 * correct, rather than having to rediscover them. The posteriors are
 * closed forms (no hypergeometric function), cheap enough for every week of
 * every Monte Carlo path. */
#include <math.h>
#include <string.h>

#include "../pipeline/pipeline_impl.h"
#include "dist.h"
#include "forecast_impl.h"

int clv__prior_params_ok(const clv_forecaster *f)
{
    for (int k = 0; k < 7; k++) {
        const double v = k < 4 ? f->prior_bgnbd[k] : f->prior_gg[k - 4];
        if (!(v > 0 && v <= CLV__PRIOR_PARAM_MAX)) return 0;
    }
    return f->prior_gg[1] > 1.0;   /* the Gamma-Gamma mean needs q > 1 */
}

int clv__prior_fit(clv_forecaster *f, const clv_dataset *ds, const clv__global_order *go)
{
    f->use_prior = 0;
    memset(f->prior_bgnbd, 0, sizeof f->prior_bgnbd);
    memset(f->prior_gg, 0, sizeof f->prior_gg);
    const uint64_t n = go->n;
    if (n == 0) return CLV_OK;
    /* Four arrays in one block, so that a data-parallel fit gathers them
     * with one reduction: each rank fills its customers' places, the others
     * are 0, and the sum is every customer's summary, exactly. */
    float *all = clv__calloc((size_t)n * 4, sizeof(float));
    int rc = clv__dist_agree(f, all ? CLV_OK : clv__oom(), "to allocate the calibration summaries");
    if (rc != CLV_OK) {
        clv__free(all);
        return rc;
    }
    float *x = all, *tx = all + n, *T = all + 2 * n, *m = all + 3 * n;
    /* In global id order (go->pos), so that the likelihood sums, and the
     * fitted bits, follow neither the log's row order nor the ranks. */
    for (uint64_t i = 0; i < ds->n; i++) {
        const uint64_t j = go->pos[i];
        /* Whole weeks counted back from the cutoff, exactly as the weekly
         * inputs measure them (clv__prior_inputs): T = age in weeks + 1,
         * t_x = age in weeks - weeks since the last purchase. */
        const double age_w = floor(ds->age[i] / 7.0), since_w = floor((ds->age[i] - ds->recency[i]) / 7.0);
        x[j] = ds->frequency[i];
        T[j] = (float)(age_w + 1.0);
        tx[j] = x[j] > 0 ? (float)(age_w - since_w) : 0.0f;
        m[j] = ds->monetary_repeat[i];
    }
    rc = clv__dist_sum_f32(f, all, (uint64_t)n * 4);
    if (rc != CLV_OK) {
        clv__free(all);
        return rc;
    }
    rc = clv_bgnbd_fit(NULL, n, x, tx, T, f->prior_bgnbd, NULL);
    int rg = rc == CLV_OK ? clv_gammagamma_fit(NULL, n, x, m, f->prior_gg, NULL) : rc;
    clv__free(all);
    /* Running out of memory may strike one rank only: every rank agrees
     * before going on, so that none waits for it in a later collective. */
    const int oom = clv__dist_agree(f, rc == CLV_ENOMEM || rg == CLV_ENOMEM ? CLV_ENOMEM : CLV_OK,
                                    "to fit BG/NBD and Gamma-Gamma");
    if (oom != CLV_OK) return oom;
    /* Logs these models cannot describe (no repeat buyer, parameters running
     * off to infinity) leave the inputs at 0: the network still has the raw
     * history. The Gamma-Gamma mean needs q > 1. */
    f->use_prior = rc == CLV_OK && rg == CLV_OK && clv__prior_params_ok(f);
    clv_clear_error();
    return CLV_OK;
}

void clv__prior_inputs(const clv_forecaster *f, double cum_tx, double cum_spend, double first_amount,
                       double since_weeks, double age_weeks, float *in)
{
    if (!f->use_prior) {
        in[CLV__IN_P_ALIVE] = in[CLV__IN_RATE] = in[CLV__IN_GG_VALUE] = 0.0f;
        return;
    }
    const double r = f->prior_bgnbd[0], alpha = f->prior_bgnbd[1], a = f->prior_bgnbd[2], b = f->prior_bgnbd[3];
    const double x = cum_tx > 1 ? cum_tx - 1 : 0, T = age_weeks + 1.0;
    const double t_x = x > 0 ? fmax(age_weeks - since_weeks, 0.0) : 0.0;
    double p_alive = 1.0;
    if (x > 0) {
        const double odds = a / (b + x - 1) * exp((r + x) * log((alpha + T) / (alpha + t_x)));
        p_alive = 1.0 / (1.0 + odds);
    }
    const double rate = (r + x) / (alpha + T);
    const double p = f->prior_gg[0], q = f->prior_gg[1], gamma = f->prior_gg[2];
    const double m_x = x > 0 ? fmax(cum_spend - first_amount, 0.0) / x : 0.0;
    const double value = p * (gamma + x * m_x) / (p * x + q - 1);
    in[CLV__IN_P_ALIVE] = (float)p_alive;
    in[CLV__IN_RATE] = (float)log1p(rate);
    in[CLV__IN_GG_VALUE] = (float)log1p(value);
}

/* log(e^l - 1 - l - l^2/2), the log of Poisson's P(N >= 3) plus l, without
 * cancellation for small l. */
static double log_tail3(double l)
{
    if (l < 1e-2) return 3.0 * log(l) - log(6.0) + log1p(l / 4.0 + l * l / 20.0);
    if (l > 30) return l + log1p(-exp(-l) * (1.0 + l + 0.5 * l * l));   /* expm1(l) overflows past ~709 */
    return log(expm1(l) - l - 0.5 * l * l);
}

void clv__prior_offsets(const clv_forecaster *f, const float *x, float *out)
{
    if (!f->use_prior) return;
    const float rate_in = x[CLV__IN_RATE] / f->in_scale[CLV__IN_RATE] + f->in_mean[CLV__IN_RATE];
    const float value_in = x[CLV__IN_GG_VALUE] / f->in_scale[CLV__IN_GG_VALUE] + f->in_mean[CLV__IN_GG_VALUE];
    const double l = fmax(expm1((double)rate_in), 1e-6), ll = log(l);
    /* Poisson(l) over the classes 0, 1, 2, 3+, up to the softmax's constant. */
    out[1] += (float)ll;
    out[2] += (float)(2.0 * ll - log(2.0));
    out[3] += (float)log_tail3(l);
    out[CLV__TX_CLASSES] += value_in;
}
