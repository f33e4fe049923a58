/* Attributions of a customer's predicted spend to its weekly inputs:
 * integrated gradients (Sundararajan, Taly & Yan 2017) of the expected spend
 * of the first week after at_day, the quantity every Monte Carlo path of the
 * roll-out starts from and the only one that is a smooth function of the
 * history (later weeks go through sampled purchases). The baseline is the
 * all-zero normalised input, the average customer-week of training; by the
 * completeness of integrated gradients the attributions add up to
 * value - baseline_value, up to the quadrature error (midpoint rule). */
#include <math.h>
#include <string.h>

#include "forecast_impl.h"

#define IG_STEPS 32u

struct clv_explanation {
    uint32_t weeks;
    float *attr;             /* [weeks][CLV__IN_COUNT] */
    double value, baseline;
};

static const char *const input_names[CLV__IN_COUNT] = {
    "transactions", "log_spend", "log_transactions_so_far", "log_weeks_since_last", "log_age_weeks",
    "season_sin", "season_cos", "log_first_amount", "log_mean_value", "bgnbd_p_active", "log_bgnbd_rate",
    "log_gg_value",
};

/* Expected first-week spend from one row of outputs (offsets included) and
 * its gradient with respect to them. */
static double week_spend(const clv_forecaster *f, double sigma, const float *o, double *g)
{
    double mx = o[0], p[CLV__TX_CLASSES], z = 0;
    for (int k = 1; k < CLV__TX_CLASSES; k++) mx = fmax(mx, o[k]);
    for (int k = 0; k < CLV__TX_CLASSES; k++) z += (p[k] = exp(o[k] - mx));
    const double count[CLV__TX_CLASSES] = { 0, 1, 2, f->top_class_mean };
    double ec = 0;
    for (int k = 0; k < CLV__TX_CLASSES; k++) ec += (p[k] /= z) * count[k];
    const double ev = exp(o[CLV__TX_CLASSES] + 0.5 * sigma * sigma), v = ev - 1.0;
    const int positive = v > 0;
    for (int k = 0; k < CLV__TX_CLASSES; k++) g[k] = positive ? v * p[k] * (count[k] - ec) : 0.0;
    g[CLV__TX_CLASSES] = positive ? ec * ev : 0.0;
    return positive ? ec * v : 0.0;
}

/* A private copy of a network: forward and backward keep activations in the
 * model, and the forecaster is shared read-only between threads. */
static int clone(const clv_model *m, clv_model **out)
{
    clv_model_options mo;
    clv_model_options_init(&mo);
    CLV__TRY(clv_model_get_options(m, &mo));
    mo.dropout = 0;   /* the network as predictions use it: forward and backward below drop nothing */
    CLV__TRY(clv_model_new(out, &mo));
    const uint64_t n = clv_model_param_count(m);
    float *p = clv__calloc(n, sizeof(float));
    int rc = p ? clv_model_get_params(m, p, n) : clv__oom();
    if (rc == CLV_OK) rc = clv_model_set_params(*out, p, n);
    clv__free(p);
    if (rc != CLV_OK) {
        clv_model_free(*out);
        *out = NULL;
    }
    return rc;
}

typedef struct ig_buf {
    float *x, *out, *d, *dx;
    int32_t *len;
} ig_buf;

static void ig_free(ig_buf *b)
{
    clv__free(b->x);
    clv__free(b->out);
    clv__free(b->d);
    clv__free(b->dx);
    clv__free(b->len);
}

/* One network's share: rows 0..IG_STEPS-1 are the midpoints alpha = (j+1/2)/IG_STEPS
 * of the path from the baseline to x, row IG_STEPS is x, row IG_STEPS+1 the baseline. */
static int explain_member(const clv_forecaster *f, uint32_t m, const float *x, uint32_t L, ig_buf *b,
                          clv_explanation *e)
{
    const uint32_t B = IG_STEPS + 2, F = CLV__IN_COUNT, O = CLV__OUT_COUNT;
    for (uint32_t j = 0; j < B; j++) {
        const float alpha = j < IG_STEPS ? (float)((j + 0.5) / IG_STEPS) : j == IG_STEPS ? 1.0f : 0.0f;
        for (size_t k = 0; k < (size_t)L * F; k++) b->x[(size_t)j * L * F + k] = alpha * x[k];
        b->len[j] = (int32_t)L;
    }
    clv_model *net;
    CLV__TRY(clone(f->members[m], &net));
    int rc = clv_model_forward(net, B, L, b->x, b->len, NULL, NULL, b->out);
    memset(b->d, 0, (size_t)B * L * O * sizeof(float));
    double offset_grad[2] = { 0, 0 };   /* through the offsets: d/dx of the last week's rate and value inputs */
    const int via[2] = { CLV__IN_RATE, CLV__IN_GG_VALUE };
    for (uint32_t j = 0; rc == CLV_OK && j < B; j++) {
        const float *xl = b->x + ((size_t)j * L + L - 1) * F;
        float o[CLV__OUT_COUNT];
        memcpy(o, b->out + ((size_t)j * L + L - 1) * O, sizeof o);
        clv__prior_offsets(f, xl, o);
        double g[CLV__OUT_COUNT];
        const double s = week_spend(f, f->value_sigma[m], o, g);
        if (!isfinite(s)) {
            rc = clv__error(CLV_ENUMERIC, "clv_forecaster_explain: the first week's expected spend is not finite "
                            "(network %u); the model cannot be explained", m);
            break;
        }
        if (j == IG_STEPS) e->value += s / f->o.ensemble;
        if (j == IG_STEPS + 1) e->baseline += s / f->o.ensemble;
        if (j >= IG_STEPS) continue;
        for (uint32_t k = 0; k < O; k++) b->d[((size_t)j * L + L - 1) * O + k] = (float)(g[k] / IG_STEPS);
        /* The offsets are smooth functions of two inputs: central differences. */
        for (int v = 0; v < 2; v++) {
            const float h = 1e-2f;
            float xp[CLV__IN_COUNT], xm[CLV__IN_COUNT], op[CLV__OUT_COUNT] = { 0 }, om[CLV__OUT_COUNT] = { 0 };
            memcpy(xp, xl, sizeof xp);
            memcpy(xm, xl, sizeof xm);
            xp[via[v]] += h;
            xm[via[v]] -= h;
            clv__prior_offsets(f, xp, op);
            clv__prior_offsets(f, xm, om);
            for (uint32_t k = 0; k < O; k++) offset_grad[v] += g[k] * (op[k] - om[k]) / (2.0 * h) / IG_STEPS;
        }
    }
    if (rc == CLV_OK) rc = clv_model_backward(net, NULL, b->d, b->dx, NULL);
    for (uint32_t t = 0; rc == CLV_OK && t < L; t++)
        for (uint32_t k = 0; k < F; k++) {
            double grad = 0;
            for (uint32_t j = 0; j < IG_STEPS; j++) grad += b->dx[((size_t)j * L + t) * F + k];
            if (t == L - 1 && k == (uint32_t)via[0]) grad += offset_grad[0];
            if (t == L - 1 && k == (uint32_t)via[1]) grad += offset_grad[1];
            e->attr[(size_t)t * F + k] += (float)(x[(size_t)t * F + k] * grad / f->o.ensemble);
        }
    clv_model_free(net);
    return rc;
}

CLV_API int clv_forecaster_explain(const clv_forecaster *f, const clv_txlog *log, int32_t at_day,
                                   const char *customer_id, clv_explanation **out)
{
    static const char fn[] = "clv_forecaster_explain";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    *out = NULL;
    CLV__CHECK_ARG(f != NULL && log != NULL && customer_id != NULL, "%s: forecaster, log or customer_id is NULL", fn);
    if (!f->fitted) return clv__error(CLV_ESTATE, "%s: the forecaster is not fitted", fn);
    float *x;
    uint32_t L;
    CLV__TRY(clv__forecast_customer_inputs(f, log, at_day, customer_id, &x, &L));
    const size_t B = IG_STEPS + 2, rows = B * L;
    clv_explanation *e = clv__calloc(1, sizeof *e);
    ig_buf b = { clv__calloc(rows * CLV__IN_COUNT, sizeof(float)), clv__calloc(rows * CLV__OUT_COUNT, sizeof(float)),
                 clv__calloc(rows * CLV__OUT_COUNT, sizeof(float)), clv__calloc(rows * CLV__IN_COUNT, sizeof(float)),
                 clv__calloc(B, sizeof(int32_t)) };
    int rc = e && b.x && b.out && b.d && b.dx && b.len ? CLV_OK : clv__oom();
    if (rc == CLV_OK) {
        e->weeks = L;
        e->attr = clv__calloc((size_t)L * CLV__IN_COUNT, sizeof(float));
        if (!e->attr) rc = clv__oom();
    }
    for (uint32_t m = 0; rc == CLV_OK && m < f->o.ensemble; m++) rc = explain_member(f, m, x, L, &b, e);
    ig_free(&b);
    clv__free(x);
    if (rc != CLV_OK) {
        clv_explanation_free(e);
        return rc;
    }
    *out = e;
    return CLV_OK;
}

CLV_API void clv_explanation_free(clv_explanation *e)
{
    if (!e) return;
    clv__free(e->attr);
    clv__free(e);
}

CLV_API uint32_t clv_explanation_inputs(const clv_explanation *e) { return e ? CLV__IN_COUNT : 0; }
CLV_API uint32_t clv_explanation_weeks(const clv_explanation *e) { return e ? e->weeks : 0; }
CLV_API const float *clv_explanation_attributions(const clv_explanation *e) { return e ? e->attr : NULL; }
CLV_API double clv_explanation_value(const clv_explanation *e) { return e ? e->value : NAN; }
CLV_API double clv_explanation_baseline(const clv_explanation *e) { return e ? e->baseline : NAN; }
CLV_API const char *clv_explanation_input_name(const clv_explanation *e, uint32_t k)
{
    return e && k < CLV__IN_COUNT ? input_names[k] : NULL;
}
