/* The direct ZILN model: see ziln.h and docs/accuracy.md. */
#include "ziln.h"

#include <math.h>
#include <string.h>

#include "../clv_internal.h"
#include "../core/rng.h"

#define OUTS 4   /* z, mu, s, log rate */

void clv__ziln_options_init(clv__ziln_options *o)
{
    memset(o, 0, sizeof *o);
    clv__examples_options_init(&o->examples);
    o->examples.keep_sequences = 1;
    o->examples.pipeline.norm = CLV_NORM_LOG1P;   /* a network wants scaled inputs, trees did not */
    o->examples.pipeline.threads = 2;             /* byte-identical output whatever the count */
    o->hidden = 32;
    o->batch = 256;
    o->max_epochs = 40;
    o->patience = 3;
    o->lr = 3e-3f;
    o->seed = 42;
    o->ensemble = 3;
}

/* One batch gathered from example rows: inputs, targets and the buffers of
 * a step, allocated once for the largest batch. */
typedef struct batch {
    uint32_t cap, T, F, S;
    float *x, *st, *out, *dout, *zpred, *zgrad, *yspend, *ytx, *expo;
    int32_t *len;
} batch;

static void batch_free(batch *b)
{
    clv__free(b->x), clv__free(b->st), clv__free(b->out), clv__free(b->dout);
    clv__free(b->zpred), clv__free(b->zgrad), clv__free(b->yspend), clv__free(b->ytx), clv__free(b->expo), clv__free(b->len);
}

static int batch_alloc(batch *b, uint32_t cap, uint32_t T, uint32_t F, uint32_t S)
{
    memset(b, 0, sizeof *b);
    b->cap = cap, b->T = T, b->F = F, b->S = S;
    b->x = clv__calloc((size_t)cap * T * F, sizeof(float));
    b->st = clv__calloc((size_t)cap * S, sizeof(float));
    b->out = clv__calloc((size_t)cap * OUTS, sizeof(float));
    b->dout = clv__calloc((size_t)cap * OUTS, sizeof(float));
    b->zpred = clv__calloc((size_t)cap * 3, sizeof(float));
    b->zgrad = clv__calloc((size_t)cap * 3, sizeof(float));
    b->yspend = clv__calloc(cap, sizeof(float));
    b->ytx = clv__calloc(cap, sizeof(float));
    b->expo = clv__calloc(cap, sizeof(float));
    b->len = clv__calloc(cap, sizeof(int32_t));
    if (b->x && b->st && b->out && b->dout && b->zpred && b->zgrad && b->yspend && b->ytx && b->expo && b->len) return CLV_OK;
    batch_free(b);
    return clv__oom();
}

/* Static input of a row: the pipeline's static features, then the window
 * length in years, held at cap_days: the training windows (CDNOW: 136 to 206
 * days) are shorter than the horizon (273), and a network extrapolated in
 * its input goes anywhere. The targets are rates per year, spend in units of
 * `scale`, so that any horizon is the rate times its length. */
static void gather(batch *b, const clv__examples *ex, const uint64_t *rows, uint32_t m, double scale,
                   float cap_days)
{
    const size_t per = (size_t)b->T * b->F;
    const uint32_t S = b->S;
    for (uint32_t k = 0; k < m; k++) {
        const uint64_t r = rows[k];
        memcpy(b->x + k * per, ex->seq + r * per, per * sizeof(float));
        b->len[k] = ex->len[r];
        memcpy(b->st + (size_t)k * S, ex->x + r * ex->features, (S - 1) * sizeof(float));
        const float days = ex->days[r] > 0 ? ex->days[r] : 1.0f;
        b->st[(size_t)k * S + S - 1] = (days < cap_days ? days : cap_days) / 365.0f;
        b->expo[k] = days / 365.0f;
        /* Returns can net a window's spend below 0 (CLV_NEGATIVE_NET): the
         * lognormal part knows no negative spend, so it counts as none. */
        const float y = ex->y_spend[r] > 0 ? ex->y_spend[r] : 0.0f;
        b->yspend[k] = (float)(y / b->expo[k] / scale);
        b->ytx[k] = ex->y_tx[r];
    }
}

/* ZILN on the spend rate plus Poisson on the transactions over exposure e
 * (mean e^r e), means over the m rows; with dout, dLoss/dout. zpred and
 * zgrad: [m][3] scratch. */
static int loss_core(uint32_t m, const float *out, const float *ys, const float *yt, const float *expo,
                     float *zpred, float *zgrad, float *dout, double *value)
{
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    lo.kind = CLV_LOSS_ZILN;
    for (uint32_t k = 0; k < m; k++) memcpy(zpred + 3 * k, out + OUTS * k, 3 * sizeof(float));
    double zl;
    CLV__TRY(clv_loss_eval(&lo, m, 3, zpred, ys, NULL, NULL, &zl, dout ? zgrad : NULL));
    double pl = 0;
    for (uint32_t k = 0; k < m; k++) {
        const double e = expo ? expo[k] : 1.0, r = out[OUTS * k + 3], y = yt[k], mu = exp(r) * e;
        pl += mu - y * (r + log(e));
        if (dout) {
            memcpy(dout + OUTS * k, zgrad + 3 * k, 3 * sizeof(float));
            dout[OUTS * k + 3] = (float)((mu - y) / m);
        }
    }
    *value = zl + pl / m;
    if (!isfinite(*value)) return clv__error(CLV_ENUMERIC, "ziln model: the training loss is not finite");
    return CLV_OK;
}

int clv__ziln_loss(uint32_t m, const float *out, const float *y_spend, const float *y_tx, const float *exposure,
                   double *value, float *grad)
{
    CLV__CHECK_ARG(m >= 1 && out && y_spend && y_tx && value, "clv__ziln_loss: bad arguments");
    float *scratch = clv__calloc((size_t)m * 6, sizeof(float));
    if (!scratch) return clv__oom();
    int rc = loss_core(m, out, y_spend, y_tx, exposure, scratch, scratch + (size_t)m * 3, grad, value);
    clv__free(scratch);
    return rc;
}

static int loss(batch *b, uint32_t m, int grad, double *value)
{
    return loss_core(m, b->out, b->yspend, b->ytx, b->expo, b->zpred, b->zgrad, grad ? b->dout : NULL, value);
}

/* Rows of the given splits (mask bit s set for split s). */
static uint64_t select_rows(const clv__examples *ex, unsigned mask, uint64_t *rows)
{
    uint64_t m = 0;
    for (uint64_t r = 0; r < ex->rows; r++)
        if (mask & (1u << ex->split[r])) rows[m++] = r;
    return m;
}

static void shuffle(clv__rng *rng, uint64_t *v, uint64_t n)
{
    for (uint64_t i = n; i > 1; i--) {
        const uint64_t j = clv__rng_next(rng) % i, t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int new_model(const clv__ziln_options *o, const batch *b, clv_model **m, clv_optim **opt)
{
    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = b->F;
    mo.hidden_size = o->hidden;
    mo.static_size = b->S;
    mo.final_outputs = OUTS;
    mo.seed = o->seed;
    CLV__TRY(clv_model_new(m, &mo));
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
    oo.lr = o->lr;
    oo.clip_norm = 5.0f;
    int rc = clv_optim_new(opt, &oo);
    if (rc != CLV_OK) {
        clv_model_free(*m);
        *m = NULL;
    }
    return rc;
}

/* One pass over rows[0..n) in a seeded order. */
static int train_epoch(clv_model *m, clv_optim *opt, batch *b, const clv__examples *ex, uint64_t *rows, uint64_t n,
                       clv__rng *rng, double scale, float cap)
{
    shuffle(rng, rows, n);
    for (uint64_t i = 0; i < n; i += b->cap) {
        const uint32_t k = (uint32_t)(n - i < b->cap ? n - i : b->cap);
        gather(b, ex, rows + i, k, scale, cap);
        double v;
        CLV__TRY(clv_model_zero_grad(m));
        CLV__TRY(clv_model_forward(m, k, b->T, b->x, b->len, b->st, b->out, NULL));
        CLV__TRY(loss(b, k, 1, &v));
        CLV__TRY(clv_model_backward(m, b->dout, NULL, NULL, NULL));
        CLV__TRY(clv_optim_step(opt, m));
    }
    return CLV_OK;
}

static int predict_rows(const clv_model *m, clv_workspace *ws, batch *b, const clv__examples *ex,
                        const uint64_t *rows, uint32_t k, double scale, float cap)
{
    gather(b, ex, rows, k, scale, cap);
    return clv_model_predict(m, ws, k, b->T, b->x, b->len, b->st, b->out, NULL);
}

static int valid_loss(const clv_model *m, clv_workspace *ws, batch *b, const clv__examples *ex,
                      const uint64_t *rows, uint64_t n, double scale, float cap, double *out)
{
    double sum = 0;
    for (uint64_t i = 0; i < n; i += b->cap) {
        const uint32_t k = (uint32_t)(n - i < b->cap ? n - i : b->cap);
        double v;
        CLV__TRY(predict_rows(m, ws, b, ex, rows + i, k, scale, cap));
        CLV__TRY(loss(b, k, 0, &v));
        sum += v * k;
    }
    *out = sum / (double)n;
    return CLV_OK;
}

/* Early stopping on the validation rows: the best number of passes. */
static int choose_epochs(const clv__ziln_options *o, batch *b, clv_workspace *ws, const clv__examples *ex,
                         double scale, float cap, uint64_t *rows, clv__ziln_report *rep)
{
    const uint64_t ntr = select_rows(ex, 1u << CLV__EX_TRAIN, rows);
    uint64_t *vrows = rows + ntr;
    const uint64_t nva = select_rows(ex, 1u << CLV__EX_VALID, vrows);
    rep->train_rows = ntr;
    rep->valid_rows = nva;
    clv_model *m;
    clv_optim *opt;
    CLV__TRY(new_model(o, b, &m, &opt));
    clv__rng rng;
    clv__rng_seed(&rng, o->seed ^ 0x21a9e5eedULL);
    int rc = CLV_OK;
    rep->best_valid_loss = INFINITY;
    rep->best_epoch = 1;
    for (uint32_t e = 1; rc == CLV_OK && e <= o->max_epochs; e++) {
        double v = 0;
        rc = train_epoch(m, opt, b, ex, rows, ntr, &rng, scale, cap);
        if (rc == CLV_OK) rc = valid_loss(m, ws, b, ex, vrows, nva, scale, cap, &v);
        if (rc != CLV_OK) break;
        rep->epochs_run = e;
        if (v < rep->best_valid_loss) {
            rep->best_valid_loss = v;
            rep->best_epoch = e;
        } else if (e - rep->best_epoch >= o->patience) {
            break;
        }
    }
    clv_optim_free(opt);
    clv_model_free(m);
    return rc;
}

/* One member of the ensemble: early stopping picks the passes, then the
 * network is trained again from the same seed on every row for that many
 * passes and its predictions at C, divided by the ensemble size, are added
 * to the outputs (set by member 0). */
static int member(const clv__ziln_options *o, batch *b, clv_workspace *ws, const clv__examples *ex,
                  const clv__examples *px, double scale, float cap, uint64_t *rows, uint64_t n, uint32_t H,
                  uint32_t index, float *spend, float *tx, float *p_active, clv__ziln_report *rep)
{
    CLV__TRY(choose_epochs(o, b, ws, ex, scale, cap, rows, rep));
    clv_model *m;
    clv_optim *opt;
    CLV__TRY(new_model(o, b, &m, &opt));
    rep->rows = select_rows(ex, 7u, rows);
    clv__rng rng;
    clv__rng_seed(&rng, o->seed ^ 0x21a9e5eedULL);
    int rc = CLV_OK;
    for (uint32_t e = 0; rc == CLV_OK && e < rep->best_epoch; e++)
        rc = train_epoch(m, opt, b, ex, rows, rep->rows, &rng, scale, cap);
    const float w = 1.0f / (float)o->ensemble, years = (float)(H / 365.0);
    float *sp = b->yspend, *pa = b->ytx;   /* scratch of b->cap: gather has filled them already */
    for (uint64_t i = 0; rc == CLV_OK && i < n; i += b->cap) {
        const uint32_t k = (uint32_t)(n - i < b->cap ? n - i : b->cap);
        for (uint32_t j = 0; j < k; j++) rows[j] = i + j;
        rc = predict_rows(m, ws, b, px, rows, k, scale, cap);
        for (uint32_t j = 0; rc == CLV_OK && j < k; j++) memcpy(b->zpred + 3 * j, b->out + OUTS * j, 3 * sizeof(float));
        if (rc == CLV_OK) rc = clv_ziln_mean(k, b->zpred, sp, pa);
        for (uint32_t j = 0; rc == CLV_OK && j < k; j++) {
            const uint64_t c = i + j;
            const float s1 = (float)(sp[j] * scale) * years, t1 = expf(b->out[OUTS * j + 3]) * years;
            if (!isfinite(s1) || !isfinite(t1))
                rc = clv__error(CLV_ENUMERIC, "ziln model: prediction %llu is not finite", (unsigned long long)c);
            spend[c] = (index ? spend[c] : 0.0f) + w * s1;
            tx[c] = (index ? tx[c] : 0.0f) + w * t1;
            if (p_active) p_active[c] = (index ? p_active[c] : 0.0f) + w * pa[j];
        }
    }
    clv_optim_free(opt);
    clv_model_free(m);
    return rc;
}

int clv__ziln_predict(const clv_txlog *log, int32_t C, uint32_t H, const clv__ziln_options *opts, uint64_t n,
                      float *spend, float *tx, float *p_active, clv__ziln_report *rep_out)
{
    clv__ziln_options o;
    if (opts) o = *opts;
    else clv__ziln_options_init(&o);
    CLV__CHECK_ARG(spend != NULL && tx != NULL, "ziln model: NULL output");
    CLV__CHECK_ARG(o.hidden >= 1 && o.batch >= 1 && o.max_epochs >= 1 && o.ensemble >= 1 && o.ensemble <= 16 &&
                       isfinite(o.lr) && o.lr > 0,
                   "ziln model: hidden, batch, max_epochs and lr must be positive, ensemble 1..16");
    o.examples.keep_sequences = 1;
    clv__ziln_report rep;
    memset(&rep, 0, sizeof rep);
    clv__examples *ex = NULL, *px = NULL;
    uint64_t *rows = NULL;
    clv_workspace *ws = NULL;
    batch b;
    memset(&b, 0, sizeof b);
    int rc = clv__examples_build(log, C, H, &o.examples, &ex);
    if (rc == CLV_OK) rc = clv__examples_build_predict(log, C, H, &o.examples, &px);
    if (rc == CLV_OK && px->rows != n)
        rc = clv__error(CLV_ESTATE, "ziln model: %llu customers at the cutoff, expected %llu",
                        (unsigned long long)px->rows, (unsigned long long)n);
    if (rc == CLV_OK && (!clv__examples_same_columns(ex, px) || px->steps != ex->steps ||
                         px->seq_features != ex->seq_features))
        rc = clv__error(CLV_ESTATE, "ziln model: the features at the cutoff differ from the training windows'");
    /* Spend unit: the mean positive spend per year of the training rows, so
     * that mu starts near 0; the window lengths seen, for cap. */
    double scale = 0;
    uint64_t pos = 0;
    float cap = 1.0f;
    for (uint64_t r = 0; rc == CLV_OK && r < ex->rows; r++) {
        if (ex->days[r] > cap) cap = ex->days[r];
        if (ex->split[r] == CLV__EX_TRAIN && ex->y_spend[r] > 0 && ex->days[r] > 0)
            scale += ex->y_spend[r] / (ex->days[r] / 365.0), pos++;
    }
    scale = pos ? scale / (double)pos : 1.0;
    if (!(scale > 0) || !isfinite(scale)) scale = 1.0;
    rep.spend_scale = scale;
    if (rc == CLV_OK) {
        rows = clv__calloc((size_t)(ex->rows > o.batch ? ex->rows : o.batch), sizeof *rows);
        rc = rows ? batch_alloc(&b, o.batch, ex->steps, ex->seq_features, ex->features) : clv__oom();
    }
    if (rc == CLV_OK) rc = clv_workspace_new(&ws);
    /* The members differ in their seed; their predictions are averaged. */
    for (uint32_t e = 0; rc == CLV_OK && e < o.ensemble; e++) {
        clv__ziln_options mo = o;
        mo.seed = o.seed + e;
        clv__ziln_report mrep = rep;
        rc = member(&mo, &b, ws, ex, px, scale, cap, rows, n, H, e, spend, tx, p_active, &mrep);
        if (e == 0) rep = mrep;
    }
    if (rep_out) *rep_out = rep;
    clv_workspace_free(ws);
    batch_free(&b);
    clv__free(rows);
    clv__examples_free(px);
    clv__examples_free(ex);
    return rc;
}
