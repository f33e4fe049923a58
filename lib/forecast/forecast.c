/* clv_forecaster: options, lifecycle, inputs, training and roll-out.
 * See include/clv/forecast.h for the model; the why of each choice is below. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops.h"
#include "../core/parallel.h"
#include "../core/rng.h"
#include "../nn/model_impl.h"
#include "../pipeline/pipeline_impl.h"
#include "../optim/optim_state.h"
#include "checkpoint.h"
#include "dist.h"
#include "forecast_impl.h"
#include "inputs.h"

CLV_API void clv_forecast_options_init(clv_forecast_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->cell = CLV_CELL_LSTM;
    o->hidden_size = 32;
    o->num_layers = 1;
    o->epochs = 0;   /* auto: see train() */
    o->batch_size = 128;
    o->lr = 3e-3f;
    o->weight_decay = 1e-4f;
    o->max_steps = 104;
    o->samples = 32;
    o->horizon_days = 273;
    o->seed = 1;
    o->valid_weeks = 4;
    o->max_epochs = 60;
    o->ensemble = 3;
    o->threads = 1;
    o->dropout = 0.0f;
}

static int validate(const clv_forecast_options *o)
{
    static const char fn[] = "clv_forecaster_new";
    CLV__CHECK_ARG(o->cell == CLV_CELL_LSTM || o->cell == CLV_CELL_GRU, "%s: cell = %d, expected CLV_CELL_LSTM or CLV_CELL_GRU", fn, (int)o->cell);
    CLV__CHECK_ARG(o->hidden_size >= 1 && o->hidden_size <= 1024, "%s: hidden_size = %u, expected 1..1024", fn, o->hidden_size);
    CLV__CHECK_ARG(o->num_layers >= 1 && o->num_layers <= 8, "%s: num_layers = %u, expected 1..8", fn, o->num_layers);
    CLV__CHECK_ARG(o->epochs <= 10000, "%s: epochs = %u, expected 0 (auto) or 1..10000", fn, o->epochs);
    CLV__CHECK_ARG(o->batch_size >= 1 && o->batch_size <= 65536, "%s: batch_size = %u, expected 1..65536", fn, o->batch_size);
    CLV__CHECK_ARG(isfinite(o->lr) && o->lr > 0 && o->lr < 10, "%s: lr = %g, expected 0 < lr < 10", fn, (double)o->lr);
    CLV__CHECK_ARG(isfinite(o->weight_decay) && o->weight_decay >= 0 && o->weight_decay < 1, "%s: weight_decay = %g, expected 0..1", fn, (double)o->weight_decay);
    CLV__CHECK_ARG(o->max_steps >= 2 && o->max_steps <= 10000, "%s: max_steps = %u, expected 2..10000", fn, o->max_steps);
    CLV__CHECK_ARG(o->samples >= 1 && o->samples <= 100000, "%s: samples = %u, expected 1..100000", fn, o->samples);
    CLV__CHECK_ARG(o->horizon_days >= 1 && o->horizon_days <= 36500, "%s: horizon_days = %u, expected 1..36500", fn, o->horizon_days);
    CLV__CHECK_ARG(o->valid_weeks <= 1000, "%s: valid_weeks = %u, expected 0..1000", fn, o->valid_weeks);
    CLV__CHECK_ARG(o->max_epochs >= 1 && o->max_epochs <= 10000, "%s: max_epochs = %u, expected 1..10000", fn, o->max_epochs);
    CLV__CHECK_ARG(o->ensemble >= 1 && o->ensemble <= CLV__MAX_ENSEMBLE, "%s: ensemble = %u, expected 1..%d", fn, o->ensemble, CLV__MAX_ENSEMBLE);
    CLV__CHECK_ARG(o->threads >= 1 && o->threads <= CLV__MAX_WORKERS, "%s: threads = %u, expected 1..%d", fn, o->threads, CLV__MAX_WORKERS);
    CLV__CHECK_ARG(o->dropout >= 0 && o->dropout < 1, "%s: dropout = %g, expected 0 <= dropout < 1", fn, (double)o->dropout);
    return CLV_OK;
}

CLV_API int clv_forecaster_new(clv_forecaster **out, const clv_forecast_options *opts)
{
    CLV__CHECK_ARG(out != NULL, "clv_forecaster_new: out is NULL");
    *out = NULL;
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    if (opts) {
        CLV__CHECK_ARG(CLV__HAS_FIELD(clv_forecast_options, opts, cell), "clv_forecaster_new: options struct_size %u is too small; call clv_forecast_options_init()", opts->struct_size);
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    CLV__TRY(validate(&o));
    clv_forecaster *f = clv__calloc(1, sizeof *f);
    if (!f) return clv__oom();
    f->o = o;
    *out = f;
    return CLV_OK;
}

CLV_API void clv_forecaster_free(clv_forecaster *f)
{
    if (!f) return;
    clv_pipeline_free(f->pipe);
    for (int k = 0; k < CLV__MAX_ENSEMBLE; k++) clv_model_free(f->members[k]);
    clv__free(f->ckpt_path);
    clv__free(f);
}

CLV_API int clv_forecaster_get_options(const clv_forecaster *f, clv_forecast_options *out)
{
    CLV__CHECK_ARG(f != NULL && out != NULL, "clv_forecaster_get_options: forecaster or out is NULL");
    CLV__CHECK_ARG(out->struct_size >= sizeof(uint32_t), "clv_forecaster_get_options: out->struct_size is 0");
    uint32_t keep = out->struct_size;
    memcpy(out, &f->o, keep < sizeof f->o ? keep : sizeof f->o);
    out->struct_size = keep;
    return CLV_OK;
}

CLV_API int clv_forecaster_set_callback(clv_forecaster *f, clv_fit_callback fn, void *user)
{
    CLV__CHECK_ARG(f != NULL, "clv_forecaster_set_callback: forecaster is NULL");
    f->cb = fn;
    f->cb_user = user;
    return CLV_OK;
}

CLV_API int32_t clv_forecaster_is_fitted(const clv_forecaster *f) { return f && f->fitted; }
CLV_API int32_t clv_forecaster_fit_cutoff(const clv_forecaster *f) { return f ? f->fit_cutoff : 0; }

/* ---- inputs (inputs.c) and their scalers --------------------------------- */

/* Each rank's (count, mean, sum of squared deviations), gathered through
 * one reduction of zero-padded slots and merged in rank order (Chan et al.'s
 * pairwise update): every rank gets the same numbers, and one rank's are
 * left untouched, bit for bit. */
static int merge_scalers(const clv_forecaster *f, double *cnt, double *mean, double *m2)
{
    enum { W = 1 + 2 * CLV__IN_COUNT };
    const int32_t size = f->comm.size;
    double *all = clv__calloc((size_t)size * W, sizeof(double));
    int rc = clv__dist_agree(f, all ? CLV_OK : clv__oom(), "to allocate the input statistics");
    if (rc != CLV_OK) {
        clv__free(all);
        return rc;
    }
    double *mine = all + (size_t)f->comm.rank * W;
    mine[0] = *cnt;
    memcpy(mine + 1, mean, CLV__IN_COUNT * sizeof(double));
    memcpy(mine + 1 + CLV__IN_COUNT, m2, CLV__IN_COUNT * sizeof(double));
    rc = clv__dist_sum_f64(f, all, (uint64_t)size * W);
    if (rc == CLV_OK) {
        double n = 0;
        for (int32_t r = 0; r < size; r++) {
            const double *s = all + (size_t)r * W, nb = s[0];
            if (nb == 0) continue;
            for (int k = 0; k < CLV__IN_COUNT; k++) {
                const double mb = s[1 + k], m2b = s[1 + CLV__IN_COUNT + k];
                if (n == 0) {
                    mean[k] = mb;
                    m2[k] = m2b;
                } else {
                    const double d = mb - mean[k], tot = n + nb;
                    mean[k] += d * (nb / tot);
                    m2[k] += m2b + d * d * (n * nb / tot);
                }
            }
            n += nb;
        }
        *cnt = n;
    }
    clv__free(all);
    return rc;
}

/* From one rebuild of every training week (scratch x[T][CLV__IN_COUNT]):
 * the inputs' z-scores, and the largest customer age and weeks since the
 * last purchase (raw, in weeks), where the roll-out holds those inputs
 * instead of extrapolating the network beyond them. */
static int fit_input_stats(clv_forecaster *f, const clv__seqdata *sd, const uint64_t *order, float *x)
{
    double mean[CLV__IN_COUNT] = { 0 }, m2[CLV__IN_COUNT] = { 0 }, cnt = 0;
    double cap[2] = { 0, 0 };   /* age, since */
    for (uint64_t j = 0; j < sd->n; j++) {
        const uint32_t L = clv__seq_len(sd, order[j]);
        clv__seqdata_rows(f, sd, order[j], 0, x, NULL, NULL, NULL);
        for (uint32_t t = 0; t < L; t++) {
            const float *xr = x + (size_t)t * CLV__IN_COUNT;
            cnt++;
            for (int k = 0; k < CLV__IN_COUNT; k++) {
                double d = xr[k] - mean[k];
                mean[k] += d / cnt;
                m2[k] += d * (xr[k] - mean[k]);
            }
            cap[0] = fmax(cap[0], expm1((double)xr[CLV__IN_AGE]));
            cap[1] = fmax(cap[1], expm1((double)xr[CLV__IN_SINCE_LAST]));
        }
    }
    if (clv__dist_on(f)) CLV__TRY(merge_scalers(f, &cnt, mean, m2));
    for (int k = 0; k < CLV__IN_COUNT; k++) {
        double sd_k = cnt > 1 ? sqrt(m2[k] / cnt) : 0;
        f->in_mean[k] = (float)mean[k];
        f->in_scale[k] = sd_k > 1e-6 ? (float)(1.0 / sd_k) : 1.0f;
    }
    CLV__TRY(clv__dist_max_f64(f, cap, 2));
    f->age_cap = (float)floor(cap[0] + 0.5);
    f->since_cap = (float)floor(cap[1] + 0.5);
    return CLV_OK;
}

/* The forecaster's own view of the log: weekly, raw, nothing normalised. */
static int make_pipeline(const clv_forecaster *f, clv_pipeline **out)
{
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    po.period = CLV_PERIOD_WEEK;
    po.max_steps = f->o.max_steps;
    po.norm = CLV_NORM_NONE;
    po.seq_log1p = 0;
    return clv_pipeline_new(out, &po);
}

/* Offsets of the classic models' posteriors (prior.c) on rows of outputs,
 * each with its inputs, `rows` of them, both arrays row-contiguous. */
static void add_offsets(const clv_forecaster *f, const float *x, size_t rows, float *out)
{
    for (size_t r = 0; r < rows; r++) clv__prior_offsets(f, x + r * CLV__IN_COUNT, out + r * CLV__OUT_COUNT);
}

/* ---- training ------------------------------------------------------------ */

typedef struct batch_buf {
    float *x, *out, *d, *ce_pred, *ce_tgt, *ce_mask, *ce_grad, *v_pred, *v_tgt, *v_mask, *v_grad;
    int32_t *len;
    int8_t *cls;   /* [T]: one customer's targets, as clv__seqdata_rows gives them */
    float *val;
} batch_buf;

static void batch_free(batch_buf *b)
{
    float **f[] = { &b->x, &b->out, &b->d, &b->ce_pred, &b->ce_tgt, &b->ce_mask, &b->ce_grad,
                    &b->v_pred, &b->v_tgt, &b->v_mask, &b->v_grad };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) clv__free(*f[i]);
    clv__free(b->len);
    clv__free(b->cls);
    clv__free(b->val);
    memset(b, 0, sizeof *b);
}

static int batch_alloc(batch_buf *b, uint32_t B, uint32_t T)
{
    memset(b, 0, sizeof *b);
    size_t rows = (size_t)B * T;
    b->x = clv__calloc(rows * CLV__IN_COUNT, sizeof(float));
    b->out = clv__calloc(rows * CLV__OUT_COUNT, sizeof(float));
    b->d = clv__calloc(rows * CLV__OUT_COUNT, sizeof(float));
    b->ce_pred = clv__calloc(rows * CLV__TX_CLASSES, sizeof(float));
    b->ce_grad = clv__calloc(rows * CLV__TX_CLASSES, sizeof(float));
    b->ce_tgt = clv__calloc(rows, sizeof(float));
    b->ce_mask = clv__calloc(rows, sizeof(float));
    b->v_pred = clv__calloc(rows, sizeof(float));
    b->v_tgt = clv__calloc(rows, sizeof(float));
    b->v_mask = clv__calloc(rows, sizeof(float));
    b->v_grad = clv__calloc(rows, sizeof(float));
    b->len = clv__calloc(B, sizeof(int32_t));
    b->cls = clv__calloc(T, 1);
    b->val = clv__calloc(T, sizeof(float));
    if (!b->x || !b->out || !b->d || !b->ce_pred || !b->ce_grad || !b->ce_tgt || !b->ce_mask || !b->v_pred ||
        !b->v_tgt || !b->v_mask || !b->v_grad || !b->len || !b->cls || !b->val) {
        batch_free(b);
        return clv__oom();
    }
    return CLV_OK;
}

/* Which targets a pass uses. The temporal split holds out, for every
 * customer, the targets of the last `valid_weeks` weeks before the cutoff. */
enum { TARGETS_ALL, TARGETS_TRAIN, TARGETS_VALID };

static int target_used(const clv__seqdata *sd, uint64_t i, uint32_t t, uint32_t valid_weeks, int which)
{
    if (which == TARGETS_ALL) return 1;
    /* target at step t is week t+1; it is in the split when t+1 >= L - valid_weeks */
    const int in_valid = (int64_t)t + 1 + valid_weeks >= (int64_t)clv__seq_len(sd, i);
    return which == TARGETS_VALID ? in_valid : !in_valid;
}

/* Gather sequences idx[0..B) into the batch, padded to their longest. */
static uint32_t gather(const clv_forecaster *f, const clv__seqdata *sd, const uint64_t *idx, uint32_t B,
                       uint32_t valid_weeks, int which, batch_buf *b, double *ntargets)
{
    uint32_t Tb = 1;
    for (uint32_t k = 0; k < B; k++)
        if (clv__seq_len(sd, idx[k]) > Tb) Tb = clv__seq_len(sd, idx[k]);
    *ntargets = 0;
    for (uint32_t k = 0; k < B; k++) {
        const uint64_t i = idx[k];
        const uint32_t L = clv__seq_len(sd, i);
        b->len[k] = (int32_t)L;
        clv__seqdata_rows(f, sd, i, 1, b->x + (size_t)k * Tb * CLV__IN_COUNT, b->cls, b->val, NULL);
        for (uint32_t t = 0; t < Tb; t++) {
            size_t r = (size_t)k * Tb + t;
            int has = t < L && b->cls[t] >= 0 && target_used(sd, i, t, valid_weeks, which);
            b->ce_tgt[r] = has ? b->cls[t] : 0.0f;
            b->ce_mask[r] = has ? 1.0f : 0.0f;
            int hv = has && isfinite(b->val[t]);
            b->v_tgt[r] = hv ? b->val[t] : 0.0f;
            b->v_mask[r] = hv ? 1.0f : 0.0f;
            *ntargets += has;
        }
    }
    return Tb;
}

/* Loss of one forward pass: cross-entropy of next week's class plus squared
 * error of the purchasing weeks' log value, summed, per target week. Fills
 * b->d with the gradient w.r.t. the step outputs. */
static int batch_loss(batch_buf *b, uint32_t rows, double ntargets, double *loss)
{
    for (uint32_t r = 0; r < rows; r++) {
        memcpy(b->ce_pred + (size_t)r * CLV__TX_CLASSES, b->out + (size_t)r * CLV__OUT_COUNT, CLV__TX_CLASSES * sizeof(float));
        b->v_pred[r] = b->out[(size_t)r * CLV__OUT_COUNT + CLV__TX_CLASSES];
    }
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    lo.reduction = CLV_REDUCE_SUM;
    double ce, mse;
    lo.kind = CLV_LOSS_CE_LOGITS;
    CLV__TRY(clv_loss_eval(&lo, rows, CLV__TX_CLASSES, b->ce_pred, b->ce_tgt, NULL, b->ce_mask, &ce, b->ce_grad));
    lo.kind = CLV_LOSS_MSE;
    CLV__TRY(clv_loss_eval(&lo, rows, 1, b->v_pred, b->v_tgt, NULL, b->v_mask, &mse, b->v_grad));
    const float inv = ntargets > 0 ? (float)(1.0 / ntargets) : 0.0f;
    for (uint32_t r = 0; r < rows; r++) {
        for (int k = 0; k < CLV__TX_CLASSES; k++)
            b->d[(size_t)r * CLV__OUT_COUNT + k] = b->ce_grad[(size_t)r * CLV__TX_CLASSES + k] * inv;
        b->d[(size_t)r * CLV__OUT_COUNT + CLV__TX_CLASSES] = b->v_grad[r] * inv;
    }
    *loss = ce + mse;
    return CLV_OK;
}

static void shuffle(clv__rng *rng, uint64_t *perm, uint64_t n)
{
    for (uint64_t i = n; i > 1; i--) {   /* Fisher-Yates, seeded */
        uint64_t j = clv__rng_next(rng) % i, tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
}

/* Loss summed over the held-out target weeks of this rank's customers, and
 * their number (the caller reduces both over the ranks). */
static int valid_loss(const clv_forecaster *f, clv_model *m, const clv__seqdata *sd, const uint64_t *order, uint32_t B,
                      batch_buf *b, double *sum_out, double *count_out)
{
    double sum = 0, count = 0;
    for (uint64_t s = 0; s < sd->n; s += B) {
        uint32_t nb = (uint32_t)(sd->n - s < B ? sd->n - s : B);
        double nt, loss = 0;
        uint32_t Tb = gather(f, sd, order + s, nb, f->o.valid_weeks, TARGETS_VALID, b, &nt);
        if (nt == 0) continue;
        /* the network as predict sees it: no dropout */
        CLV__TRY(clv__model_forward(m, nb, Tb, b->x, b->len, NULL, NULL, b->out, CLV__FWD_NO_DROPOUT, "clv_forecaster_fit"));
        add_offsets(f, b->x, (size_t)nb * Tb, b->out);
        CLV__TRY(batch_loss(b, nb * Tb, nt, &loss));
        sum += loss;
        count += nt;
    }
    *sum_out = sum;
    *count_out = count;
    return CLV_OK;
}

/* What the training runs of one fit share: the data, the customer order
 * over all ranks, and the checkpoint to resume from. */
typedef struct fit_ctx {
    const clv__seqdata *sd;
    const uint64_t *order;          /* this rank's customers in id order */
    const clv__global_order *go;    /* every rank's customers in id order */
    uint64_t fingerprint;           /* of the checkpoints this fit writes and reads */
    const clv__ckpt *resume;        /* NULL: start afresh */
    uint32_t total_epochs;          /* passes completed over every run */
} fit_ctx;

/* Rank 0's checkpoint after pass `epoch` of run `stage` (checkpoint.h). */
static int write_checkpoint(const clv_forecaster *f, const fit_ctx *fc, clv_model *m, const clv_optim *opt,
                            const clv__rng *rng, uint32_t stage, uint32_t epoch, uint32_t epochs, double best,
                            uint32_t best_epoch)
{
    clv__ckpt c;
    memset(&c, 0, sizeof c);
    c.fingerprint = fc->fingerprint;
    c.stage = stage;
    c.epoch = epoch;
    c.epochs = stage > 0 ? epochs : 0;
    c.best_epoch = best_epoch;
    c.total_epochs = fc->total_epochs;
    c.best = best;
    memcpy(c.rng, rng->s, sizeof c.rng);
    const float *state;
    size_t nstate;
    clv__optim_state(opt, &c.opt_t, &state, &nstate);
    c.opt_n = nstate;
    c.opt_state = (float *)state;   /* borrowed: not freed below */
    c.nparams = clv_model_param_count(m);
    c.params = clv_model_params(m);
    c.ndone = stage > 0 ? stage - 1 : 0;
    int rc = CLV_OK;
    if (c.ndone) {
        c.done = clv__calloc((size_t)c.ndone * c.nparams, sizeof(float));
        if (!c.done) return clv__oom();
        for (uint32_t k = 0; k < c.ndone && rc == CLV_OK; k++)
            rc = clv_model_get_params(f->members[k], c.done + (size_t)k * c.nparams, c.nparams);
    }
    if (rc == CLV_OK) rc = clv__ckpt_save(f->ckpt_path, &c);
    clv__free(c.done);
    return rc;
}

/* Put a run back where the checkpoint left it. The shuffled order is not
 * stored: replaying the passes' shuffles rebuilds it, and the generator's
 * state after the replay must be the stored one. */
static int resume_run(const clv_forecaster *f, const fit_ctx *fc, clv_model *m, clv_optim *opt, clv__rng *rng,
                      uint64_t *perm, uint64_t n, uint32_t epochs)
{
    const clv__ckpt *c = fc->resume;
    const uint64_t P = clv_model_param_count(m);
    if (c->nparams != P || c->ndone + 1 < c->stage)
        return clv__error(CLV_ESTATE, "checkpoint '%s': its networks do not fit this configuration", f->ckpt_path);
    /* The pass counts come from the file: bounded before the replay below
     * loops over them (a damaged count would spin for hours). A network's
     * run (stage > 0) records the full count as its best pass, unread. */
    if (c->epoch > epochs || (c->stage == 0 && c->best_epoch > c->epoch))
        return clv__error(CLV_EFORMAT, "checkpoint '%s': pass %u (best %u) of a run of %u passes", f->ckpt_path,
                          c->epoch, c->best_epoch, epochs);
    CLV__TRY(clv_model_set_params(m, c->params, P));
    CLV__TRY(clv__optim_restore(opt, c->opt_t, c->opt_state, (size_t)c->opt_n, (size_t)P));
    for (uint32_t e = 0; e < c->epoch; e++) shuffle(rng, perm, n);
    if (memcmp(rng->s, c->rng, sizeof c->rng) != 0)
        return clv__error(CLV_ESTATE, "checkpoint '%s': its shuffling state does not match this data", f->ckpt_path);
    return CLV_OK;
}

/* Train for up to `epochs` passes on the targets `which` selects. With
 * `patience` > 0, the loss on the held-out weeks is measured after every
 * pass and training stops once it has not improved for `patience` passes;
 * *best_epoch is the pass with the lowest held-out loss.
 *
 * Batches are drawn from the shuffled global customer order, so they are
 * the same whatever the number of ranks: each rank runs the customers of a
 * batch it holds, the gradient sums are all-reduced, and every rank takes
 * the same step (the loss is divided by the batch's global target count). */
static int train(clv_forecaster *f, clv_model *m, uint64_t seed, fit_ctx *fc, int which, uint32_t epochs,
                 uint32_t patience, uint32_t stage, uint32_t *best_epoch)
{
    const clv_forecast_options *o = &f->o;
    const clv__seqdata *sd = fc->sd;
    const uint64_t N = fc->go->n, P = clv_model_param_count(m);
    const int dist = clv__dist_on(f);
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAMW);
    oo.lr = o->lr;
    oo.weight_decay = o->weight_decay;
    oo.clip_norm = 5.0f;
    clv_optim *opt = NULL;
    const int orc = clv__dist_agree(f, clv_optim_new(&opt, &oo), "to create its optimizer");
    if (orc != CLV_OK) {   /* another rank's failure: this rank's optimizer exists */
        clv_optim_free(opt);
        return orc;
    }
    const uint32_t B = o->batch_size < N ? o->batch_size : (uint32_t)N;
    batch_buf b;
    memset(&b, 0, sizeof b);
    uint64_t *perm = clv__calloc(N ? N : 1, sizeof *perm), *idx = clv__calloc(B ? B : 1, sizeof *idx);
    int rc = perm && idx ? batch_alloc(&b, B, sd->T) : clv__oom();
    rc = clv__dist_agree(f, rc, "to allocate its training buffers");
    if (rc != CLV_OK) {
        batch_free(&b);
        clv__free(perm);
        clv__free(idx);
        clv_optim_free(opt);
        return rc;
    }
    for (uint64_t j = 0; j < N; j++) perm[j] = j;
    clv__rng rng;
    clv__rng_seed(&rng, seed ^ 0x5eedf00dULL);
    const double t0 = clv__now_seconds();
    double best = INFINITY;
    *best_epoch = epochs;
    uint32_t first = 1;
    if (fc->resume && fc->resume->stage == stage) {
        /* Restoring allocates (the optimizer state): every rank agrees. */
        rc = clv__dist_agree(f, resume_run(f, fc, m, opt, &rng, perm, N, epochs), "to resume from the checkpoint");
        first = fc->resume->epoch + 1;
        best = fc->resume->best;
        if (stage == 0) *best_epoch = fc->resume->best_epoch;
        if (patience > 0 && fc->resume->epoch >= *best_epoch + patience) first = epochs + 1;   /* it had stopped */
    }
    for (uint32_t e = first; e <= epochs && rc == CLV_OK; e++) {
        shuffle(&rng, perm, N);
        double sum = 0, count = 0;
        for (uint64_t s = 0; s < N && rc == CLV_OK; s += B) {
            const uint32_t nb = (uint32_t)(N - s < B ? N - s : B);
            uint32_t nloc = 0;
            for (uint32_t k = 0; k < nb; k++) {
                const uint64_t li = fc->go->local[perm[s + k]];
                if (li != CLV__NOT_LOCAL) idx[nloc++] = li;
            }
            double nt = 0, loss = 0;
            const uint32_t Tb = nloc ? gather(f, sd, idx, nloc, o->valid_weeks, which, &b, &nt) : 1;
            if (dist && (rc = clv__dist_sum_f64(f, &nt, 1)) != CLV_OK) break;
            if (nt == 0) continue;
            int lrc = clv_model_zero_grad(m);
            if (nloc > 0) {
                /* Dropout masks by step number, not by the model's count of
                 * its forward passes: a run resumed from a checkpoint draws
                 * those of the uninterrupted run; ranks differ in the top bits. */
                clv__model_set_dropout_pass(m, (uint64_t)clv__dist_rank(f) << 48 | ((uint64_t)(e - 1) * ((N + B - 1) / B) + s / B));
                if (lrc == CLV_OK) lrc = clv_model_forward(m, nloc, Tb, b.x, b.len, NULL, NULL, b.out);
                if (lrc == CLV_OK) add_offsets(f, b.x, (size_t)nloc * Tb, b.out);
                if (lrc == CLV_OK) lrc = batch_loss(&b, nloc * Tb, nt, &loss);
                if (lrc == CLV_OK) lrc = clv_model_backward(m, NULL, b.d, NULL, NULL);
            }
            /* Every point where one rank alone can fail (its own customers'
             * passes; the optimizer's first step allocates its state) is
             * followed by an agreement, so that all ranks stop together and
             * none waits in the next collective. A few bytes per step. */
            if (dist && (rc = clv__dist_agree(f, lrc, "in its forward or backward pass")) != CLV_OK) break;
            if (dist) rc = clv__dist_sum_f32(f, clv_model_grads(m), P);
            if (rc == CLV_OK) rc = lrc;
            if (rc == CLV_OK) rc = clv_optim_step(opt, m);
            if (dist) rc = clv__dist_agree(f, rc, "in its optimizer step");
            if (rc == CLV_ENUMERIC) {
                /* Copy the cause first: it lives in the buffer clv__error writes. */
                char cause[256];
                snprintf(cause, sizeof cause, "%s", clv_last_error());
                rc = clv__error(CLV_ENUMERIC, "clv_forecaster_fit: training diverged in epoch %u (%s); try a lower lr", e, cause);
            }
            sum += loss;
            count += nt;
        }
        double vsum = 0, vcount = 0, vl = NAN;
        if (rc == CLV_OK && patience > 0) rc = valid_loss(f, m, sd, fc->order, B, &b, &vsum, &vcount);
        if (dist) {
            rc = clv__dist_agree(f, rc, "in its training pass");
            double tot[3] = { sum, vsum, vcount };
            if (rc == CLV_OK) rc = clv__dist_sum_f64(f, tot, 3);
            sum = tot[0];
            vsum = tot[1];
            vcount = tot[2];
        }
        if (rc == CLV_OK && patience > 0) {
            vl = vcount > 0 ? vsum / vcount : NAN;
            if (vl < best * (1 - 1e-4)) {
                best = vl;
                *best_epoch = e;
            }
        }
        if (rc != CLV_OK) break;
        fc->total_epochs++;
        /* Before the callback: a process killed from there (or while it
         * runs) still leaves this pass's checkpoint behind. */
        int ck = CLV_OK, stop = 0;
        if (f->ckpt_path && clv__dist_rank(f) == 0)
            ck = write_checkpoint(f, fc, m, opt, &rng, stage, e, epochs, best, *best_epoch);
        if (f->cb) {
            clv_fit_progress pr = { sizeof pr, e, epochs, count > 0 ? sum / count : 0, 0, 0, vl };
            pr.elapsed_seconds = clv__now_seconds() - t0;
            pr.eta_seconds = pr.elapsed_seconds / e * (epochs - e);
            stop = f->cb(&pr, f->cb_user) != 0;
        }
        if (dist) {
            double flags[2] = { stop, ck != CLV_OK };
            rc = clv__dist_max_f64(f, flags, 2);
            stop = flags[0] > 0;
            if (rc == CLV_OK && ck == CLV_OK && flags[1] > 0)
                rc = clv__error(CLV_EIO, "clv_forecaster_fit: rank 0 could not write the checkpoint (see its message)");
        }
        if (rc == CLV_OK) rc = ck;
        if (rc == CLV_OK && stop) rc = clv__error(CLV_ECANCELED, "clv_forecaster_fit: canceled by the callback after epoch %u", e);
        if (patience > 0 && e >= *best_epoch + patience) break;
    }
    batch_free(&b);
    clv__free(perm);
    clv__free(idx);
    clv_optim_free(opt);
    return rc;
}

static int new_model(const clv_forecaster *f, uint64_t seed, clv_model **out)
{
    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.cell = f->o.cell;
    mo.input_size = CLV__IN_COUNT;
    mo.hidden_size = f->o.hidden_size;
    mo.num_layers = f->o.num_layers;
    mo.final_outputs = 0;
    mo.step_outputs = CLV__OUT_COUNT;
    mo.seed = seed;
    mo.dropout = f->o.dropout;
    return clv_model_new(out, &mo);
}

static void free_members(clv_forecaster *f)
{
    for (int k = 0; k < CLV__MAX_ENSEMBLE; k++) {
        clv_model_free(f->members[k]);
        f->members[k] = NULL;
    }
}

/* Auto epochs: early stopping on the temporal split picks the number of
 * passes (with the first network's seed), then every network of the
 * ensemble is trained afresh on every week with that number, so that the
 * most recent weeks, which carry the current level of activity, are learned
 * from too. Without held-out targets (histories shorter than the split) the
 * count falls back to about 2400 optimizer steps, 4..30 passes. The networks
 * differ only in their seeds (initialisation and shuffling): averaging them
 * removes most of the seed-to-seed spread of a single network. Runs that a
 * checkpoint records as finished are taken from it. */
static int fit_model(clv_forecaster *f, fit_ctx *fc)
{
    const clv_forecast_options *o = &f->o;
    const clv__seqdata *sd = fc->sd;
    const clv__ckpt *ck = fc->resume;
    uint32_t epochs = o->epochs, best = 0;
    int rc = CLV_OK;
    if (epochs == 0 && o->valid_weeks > 0) {
        double nvalid_ntrain[2] = { 0, 0 };
        /* every week but the last has a target */
        for (uint64_t i = 0; i < sd->n; i++)
            for (uint32_t t = 0; t + 1 < clv__seq_len(sd, i); t++)
                nvalid_ntrain[target_used(sd, i, t, o->valid_weeks, TARGETS_VALID) ? 0 : 1]++;
        rc = clv__dist_sum_f64(f, nvalid_ntrain, 2);
        if (rc == CLV_OK && nvalid_ntrain[0] > 0 && nvalid_ntrain[1] > 0) {
            if (ck && ck->stage > 0) {
                best = ck->epochs;   /* the early-stopping run had finished */
            } else {
                clv_model *m = NULL;
                rc = clv__dist_agree(f, new_model(f, o->seed, &m), "to create a network");
                if (rc == CLV_OK) rc = train(f, m, o->seed, fc, TARGETS_TRAIN, o->max_epochs, CLV__PATIENCE, 0, &best);
                clv_model_free(m);
            }
            epochs = best;
        }
    }
    if (rc == CLV_OK && epochs == 0) {
        const uint64_t N = fc->go->n;
        const uint32_t B = o->batch_size < N ? o->batch_size : (uint32_t)N;
        const uint64_t per_epoch = (N + B - 1) / B, e = (2400 + per_epoch - 1) / per_epoch;
        epochs = (uint32_t)(e < 4 ? 4 : e > 30 ? 30 : e);
    }
    for (uint32_t k = 0; rc == CLV_OK && k < o->ensemble; k++) {
        rc = clv__dist_agree(f, new_model(f, o->seed + k, &f->members[k]), "to create a network");
        if (rc != CLV_OK) break;
        const uint64_t P = clv_model_param_count(f->members[k]);
        if (ck && ck->stage > k + 1) {
            if (ck->nparams != P) rc = clv__error(CLV_ESTATE, "clv_forecaster_fit: the checkpoint's networks do not fit this configuration");
            else rc = clv_model_set_params(f->members[k], ck->done + (size_t)k * P, P);
        } else {
            rc = train(f, f->members[k], o->seed + k, fc, TARGETS_ALL, epochs, 0, k + 1, &best);
        }
        /* Every rank took the same steps; rank 0's networks make sure of it
         * should a transport's reduction differ in the last bit by rank. */
        if (rc == CLV_OK && clv__dist_on(f)) rc = clv__dist_bcast(f, clv_model_params(f->members[k]), P * sizeof(float), 0);
    }
    if (rc == CLV_OK) f->epochs_trained = epochs;
    return rc;
}

/* Residual spread of each network's value head and the mean of the top
 * class, both from the training weeks, for the roll-out's sampling. */
static int fit_sampling_stats(clv_forecaster *f, const clv__seqdata *sd, const uint64_t *order)
{
    const size_t T = sd->T;
    float *x = clv__calloc(T * CLV__IN_COUNT, sizeof(float)), *val = clv__calloc(T, sizeof(float));
    int8_t *cls = clv__calloc(T, 1);
    clv_workspace *ws = NULL;
    int rc = x && val && cls ? clv_workspace_new(&ws) : clv__oom();
    float *out = rc == CLV_OK ? clv__calloc(T * CLV__OUT_COUNT, sizeof(float)) : NULL;
    if (rc == CLV_OK && !out) rc = clv__oom();
    rc = clv__dist_agree(f, rc, "to allocate a workspace");
    double top[2] = { 0, 0 };   /* sum, count */
    for (uint64_t j = 0; rc == CLV_OK && j < sd->n; j++) {   /* id order: sums must not follow the log's row order */
        const uint32_t L = clv__seq_len(sd, order[j]);
        clv__seqdata_rows(f, sd, order[j], 1, x, cls, val, NULL);
        for (uint32_t t = 0; t + 1 < L; t++)
            if (cls[t] == CLV__TX_CLASSES - 1) {
                /* the raw count is the next step's (un-normalised) TX input */
                const float *xn = x + (size_t)(t + 1) * CLV__IN_COUNT;
                top[0] += xn[CLV__IN_TX] / f->in_scale[CLV__IN_TX] + f->in_mean[CLV__IN_TX];
                top[1]++;
            }
    }
    if (rc == CLV_OK) rc = clv__dist_sum_f64(f, top, 2);
    if (rc == CLV_OK) f->top_class_mean = top[1] > 0 ? top[0] / top[1] : (double)(CLV__TX_CLASSES - 1);
    for (uint32_t m = 0; m < f->o.ensemble && rc == CLV_OK; m++) {
        double ss[2] = { 0, 0 };   /* squared residuals, count */
        for (uint64_t j = 0; j < sd->n && rc == CLV_OK; j++) {
            const uint64_t i = order[j];
            const uint32_t L = clv__seq_len(sd, i);
            clv__seqdata_rows(f, sd, i, 1, x, cls, val, NULL);
            rc = clv_model_predict(f->members[m], ws, 1, L, x, NULL, NULL, NULL, out);
            if (rc == CLV_OK) add_offsets(f, x, L, out);
            for (uint32_t t = 0; rc == CLV_OK && t + 1 < L; t++)
                if (isfinite(val[t])) {
                    double e = val[t] - out[(size_t)t * CLV__OUT_COUNT + CLV__TX_CLASSES];
                    ss[0] += e * e;
                    ss[1]++;
                }
        }
        rc = clv__dist_agree(f, rc, "in the residual spread");
        if (rc == CLV_OK) rc = clv__dist_sum_f64(f, ss, 2);
        f->value_sigma[m] = ss[1] > 0 ? fmin(sqrt(ss[0] / ss[1]), CLV__VALUE_SIGMA_MAX) : 0.0;
    }
    clv__free(out);
    clv__free(x);
    clv__free(val);
    clv__free(cls);
    clv_workspace_free(ws);
    return rc;
}

typedef struct id_ref { const char *id; uint64_t index; } id_ref;

static int by_id(const void *a, const void *b)
{
    return strcmp(((const id_ref *)a)->id, ((const id_ref *)b)->id);
}

static uint64_t *canonical_order(const char *ids, const uint64_t *off, uint64_t n)
{
    id_ref *refs = clv__calloc(n ? n : 1, sizeof *refs);
    uint64_t *order = clv__calloc(n ? n : 1, sizeof *order);
    if (!refs || !order) {
        clv__free(refs);
        clv__free(order);
        return NULL;
    }
    for (uint64_t i = 0; i < n; i++) {
        refs[i].id = ids + off[i];
        refs[i].index = i;
    }
    qsort(refs, n, sizeof *refs, by_id);   /* ids are unique: no ties to break */
    for (uint64_t i = 0; i < n; i++) order[i] = refs[i].index;
    clv__free(refs);
    return order;
}

/* What a checkpoint must have been written for: everything that changes the
 * training runs (not threads, samples or the horizon, which only predict
 * reads), the cutoff, and the customers over all ranks. */
static uint64_t fit_fingerprint(const clv_forecaster *f, int32_t cutoff, const clv__global_order *go)
{
    const clv_forecast_options *o = &f->o;
    uint64_t v[16] = { (uint64_t)(uint32_t)o->cell, o->hidden_size, o->num_layers, o->epochs, o->batch_size, 0, 0,
                       o->max_steps, o->seed, o->valid_weeks, o->max_epochs, o->ensemble, (uint64_t)(uint32_t)cutoff,
                       go->n, go->id_hash, 0x636b7074 };
    memcpy(&v[5], &o->lr, sizeof o->lr);
    memcpy(&v[6], &o->weight_decay, sizeof o->weight_decay);
    uint64_t h = clv__hash_bytes(v, sizeof v, 0xc1f);
    /* Only when on, so that the checkpoints of fits without it stay valid. */
    if (o->dropout > 0) h = clv__hash_bytes(&o->dropout, sizeof o->dropout, h);
    return h;
}

/* The earliest day over every rank's log (+inf for an empty one), for the
 * season rule below. */
static int first_day(const clv_forecaster *f, const clv_txlog *log, double *out)
{
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    CLV__TRY(clv_txlog_get_report(log, &rep));
    double neg = rep.customers > 0 ? -(double)rep.first_day : -INFINITY;
    CLV__TRY(clv__dist_max_f64(f, &neg, 1));
    *out = -neg;
    return CLV_OK;
}

/* The customers the forecaster sees at `day` (a purchase on or before it):
 * their log indices, and their rows of the pipeline's dataset without the
 * sequences (ids, summaries and lengths, ~100 bytes each); the sequences
 * are read a chunk at a time (clv__seqdata_build). */
static int customers_at(const clv_forecaster *f, const clv_txlog *log, int32_t day, uint32_t **members,
                        clv_dataset **ds)
{
    uint64_t n = 0;
    *ds = NULL;
    CLV__TRY(clv__pipeline_members(log, day, members, &n));
    int rc = clv__pipeline_transform_subset(f->pipe, log, day, day, *members, n, 0, ds);
    if (rc != CLV_OK) {
        clv__free(*members);
        *members = NULL;
    }
    return rc;
}

CLV_API int clv_forecaster_fit(clv_forecaster *f, const clv_txlog *log, int32_t cutoff)
{
    static const char fn[] = "clv_forecaster_fit";
    CLV__CHECK_ARG(f != NULL && log != NULL, "%s: forecaster or log is NULL", fn);
    f->fitted = 0;
    f->resumed_epoch = 0;
    clv_pipeline_free(f->pipe);
    f->pipe = NULL;
    free_members(f);
    /* Each rank prepares its own customers; any failure is every rank's
     * (clv__dist_agree), so that none waits forever in a collective. */
    clv_dataset *ds = NULL;
    uint32_t *members = NULL;
    int rc = make_pipeline(f, &f->pipe);
    if (rc == CLV_OK) rc = clv_pipeline_fit(f->pipe, log, cutoff);
    if (rc == CLV_OK) rc = customers_at(f, log, cutoff, &members, &ds);
    rc = clv__dist_agree(f, rc, "to prepare its customers");
    if (rc != CLV_OK) {
        clv_dataset_free(ds);
        clv__free(members);
        return rc;
    }
    /* A week-of-year effect can only be told apart from customer age with at
     * least two years of history; with less (CDNOW: 39 weeks, all customers
     * acquired in one quarter) the calendar inputs would be confounded with
     * age and extrapolated in the roll-out, so they stay 0. */
    double first = 0;
    rc = first_day(f, log, &first);
    f->use_season = rc == CLV_OK && (double)cutoff - first >= 730;
    /* Customers in id order for everything order-sensitive (sums, fits, the
     * shuffle): the log's row order, which rows after the cutoff can change,
     * must not change the model; nor must the number of ranks. */
    uint64_t *order = rc == CLV_OK ? canonical_order(ds->ids, ds->id_off, ds->n) : NULL;
    if (rc == CLV_OK && !order) rc = clv__oom();
    clv__global_order go;
    memset(&go, 0, sizeof go);
    rc = clv__dist_agree(f, rc, "to order its customers");
    if (rc == CLV_OK) rc = clv__dist_global_order(f, ds->ids, ds->id_off, ds->n, order, &go);
    clv__seqdata sd;
    memset(&sd, 0, sizeof sd);
    if (rc == CLV_OK) rc = clv__prior_fit(f, ds, &go);
    if (rc == CLV_OK)
        rc = clv__dist_agree(f, clv__seqdata_build(f, log, cutoff, members, ds->lengths, ds->n, 1, &sd), "to build its inputs");
    clv_dataset_free(ds);
    clv__free(members);
    double targets = 0;   /* every week but the last has one */
    for (uint64_t i = 0; rc == CLV_OK && i < sd.n; i++) targets += clv__seq_len(&sd, i) - 1;
    if (rc == CLV_OK) rc = clv__dist_sum_f64(f, &targets, 1);
    if (rc == CLV_OK && targets == 0)
        rc = clv__error(CLV_ESTATE, "%s: no customer has two or more weeks of history before the cutoff; nothing to learn from", fn);
    float *scratch = rc == CLV_OK ? clv__calloc((size_t)sd.T * CLV__IN_COUNT, sizeof(float)) : NULL;
    if (rc == CLV_OK) rc = clv__dist_agree(f, scratch ? CLV_OK : clv__oom(), "to allocate its inputs");
    if (rc == CLV_OK) rc = fit_input_stats(f, &sd, order, scratch);
    clv__free(scratch);
    fit_ctx fc = { &sd, order, &go, 0, NULL, 0 };
    clv__ckpt ck;
    int found = 0;
    memset(&ck, 0, sizeof ck);
    if (rc == CLV_OK && f->ckpt_path) {
        fc.fingerprint = fit_fingerprint(f, cutoff, &go);
        rc = clv__ckpt_load(f, fc.fingerprint, &ck, &found);
        if (found) {
            fc.resume = &ck;
            fc.total_epochs = f->resumed_epoch = ck.total_epochs;
        }
    }
    if (rc == CLV_OK) rc = fit_model(f, &fc);
    if (rc == CLV_OK) rc = fit_sampling_stats(f, &sd, order);
    clv__ckpt_free(&ck);
    clv__global_order_free(&go);
    clv__free(order);
    clv__seqdata_free(&sd);
    if (rc != CLV_OK) return rc;
    f->fit_cutoff = cutoff;
    f->fitted = 1;
    return CLV_OK;
}

/* ---- roll-out ------------------------------------------------------------- */

CLV_API void clv_prediction_free(clv_prediction *p)
{
    if (!p) return;
    clv__free(p->spend);
    clv__free(p->tx);
    clv__free(p->p_active);
    clv__free(p->p10);
    clv__free(p->p90);
    clv__free(p->stages);
    clv__free(p->week_tx);
    clv__free(p->ids);
    clv__free(p->id_off);
    clv__free(p);
}

static int prediction_alloc(const clv_dataset *ds, clv_prediction **out)
{
    clv_prediction *p = clv__calloc(1, sizeof *p);
    if (!p) return clv__oom();
    const size_t m = ds->n ? (size_t)ds->n : 1;
    uint64_t ids_len = ds->n ? ds->id_off[ds->n - 1] + strlen(ds->ids + ds->id_off[ds->n - 1]) + 1 : 1;
    p->n = ds->n;
    p->spend = clv__calloc(m, sizeof(float));
    p->tx = clv__calloc(m, sizeof(float));
    p->p_active = clv__calloc(m, sizeof(float));
    p->p10 = clv__calloc(m, sizeof(float));
    p->p90 = clv__calloc(m, sizeof(float));
    p->stages = clv__calloc(m, sizeof(int32_t));
    p->ids = clv__malloc(ids_len);
    p->id_off = clv__calloc(m, sizeof(uint64_t));
    if (!p->spend || !p->tx || !p->p_active || !p->p10 || !p->p90 || !p->stages || !p->ids || !p->id_off) {
        clv_prediction_free(p);
        return clv__oom();
    }
    if (ds->n) {
        memcpy(p->ids, ds->ids, ids_len);
        memcpy(p->id_off, ds->id_off, ds->n * sizeof(uint64_t));
        memcpy(p->stages, ds->stages, ds->n * sizeof(int32_t));
    }
    *out = p;
    return CLV_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Per Monte Carlo path: what it carries from week to week. */
typedef struct path {
    clv__rng rng;
    float cum, cum_spend, since, age, first;
    double first_amount;   /* expm1(first), for the posterior inputs of every week */
} path;

/* Per customer, S sampled paths then one path that never purchases; each
 * path's running sums of its sampled spend and of the expected spend and
 * transactions, and (on the no-purchase path) the probability of none. */
typedef struct rollout {
    uint32_t C, S;            /* customers per chunk, sampled paths per customer */
    uint32_t Tc;              /* the chunk's longest history */
    float *hist_x, *hist_h, *hist_c, *last;   /* the chunk's inputs [C][Tc][IN], and the state after them */
    int32_t *hist_len;
    clv__carry *carry;
    float *h, *c, *out, *xin;
    double *drawn, *exp_spend, *exp_tx, *p_none;
    double *acc_spend, *acc_tx, *acc_none;   /* per customer, over networks and paths */
    double *acc_week;                        /* per week of the horizon, over the chunk's customers */
    float *pool;                             /* per customer, every network's sampled path totals */
    path *paths;
    clv__arena arena;
} rollout;

static void rollout_free(rollout *r)
{
    clv__free(r->hist_x);
    clv__free(r->hist_len);
    clv__free(r->carry);
    clv__free(r->hist_h);
    clv__free(r->hist_c);
    clv__free(r->last);
    clv__free(r->h);
    clv__free(r->c);
    clv__free(r->out);
    clv__free(r->xin);
    clv__free(r->drawn);
    clv__free(r->exp_spend);
    clv__free(r->exp_tx);
    clv__free(r->p_none);
    clv__free(r->acc_spend);
    clv__free(r->acc_tx);
    clv__free(r->acc_none);
    clv__free(r->acc_week);
    clv__free(r->pool);
    clv__free(r->paths);
    clv__arena_free(&r->arena);
    /* Idempotent: rollout_alloc frees on failure and its caller frees again. */
    memset(r, 0, sizeof *r);
}

static int rollout_alloc(rollout *r, const clv_forecaster *f, uint32_t C, uint32_t S, uint32_t T, uint32_t weeks)
{
    memset(r, 0, sizeof *r);
    clv__arena_init(&r->arena);
    r->C = C;
    r->S = S;
    const size_t LH = (size_t)f->o.num_layers * f->o.hidden_size, R = (size_t)C * (S + 1);
    r->hist_x = clv__calloc((size_t)C * T, CLV__IN_COUNT * sizeof(float));
    r->hist_len = clv__calloc(C, sizeof(int32_t));
    r->carry = clv__calloc(C, sizeof(clv__carry));
    r->hist_h = clv__calloc(LH * C, sizeof(float));
    r->hist_c = clv__calloc(LH * C, sizeof(float));
    r->last = clv__calloc((size_t)C * CLV__OUT_COUNT, sizeof(float));
    r->h = clv__calloc(LH * R, sizeof(float));
    r->c = clv__calloc(LH * R, sizeof(float));
    r->out = clv__calloc(R * CLV__OUT_COUNT, sizeof(float));
    r->xin = clv__calloc(R * CLV__IN_COUNT, sizeof(float));
    r->drawn = clv__calloc(R, sizeof(double));
    r->exp_spend = clv__calloc(R, sizeof(double));
    r->exp_tx = clv__calloc(R, sizeof(double));
    r->p_none = clv__calloc(R, sizeof(double));
    r->acc_spend = clv__calloc(C, sizeof(double));
    r->acc_tx = clv__calloc(C, sizeof(double));
    r->acc_none = clv__calloc(C, sizeof(double));
    r->acc_week = clv__calloc(weeks, sizeof(double));
    r->pool = clv__calloc((size_t)C * S * f->o.ensemble, sizeof(float));
    r->paths = clv__calloc(R, sizeof(path));
    if (!r->hist_x || !r->hist_len || !r->carry || !r->hist_h || !r->hist_c || !r->last || !r->h || !r->c || !r->out || !r->xin || !r->drawn ||
        !r->exp_spend || !r->exp_tx || !r->p_none || !r->acc_spend || !r->acc_tx || !r->acc_none || !r->acc_week || !r->pool ||
        !r->paths) {
        rollout_free(r);
        return clv__oom();
    }
    return CLV_OK;
}

/* One path's week from the model output. The path itself is sampled
 * (transactions from the softmax over classes, spend per transaction from a
 * lognormal around the value head) because later weeks depend on it; the
 * totals add up the week's conditional expectations instead of the draws,
 * which removes most of the Monte Carlo noise from the means (Rao-Blackwell).
 * `keep` < 1 thins the last, partial week of the horizon. A path with
 * `no_buy` set never purchases: it carries the probability of no purchase. */
typedef struct week_draw {
    double tx, spend;           /* sampled */
    double exp_tx, exp_spend;   /* expected given the path so far */
    double p_none;              /* probability of no purchase this week */
} week_draw;

static void sample_week(const clv_forecaster *f, double sig, const float *o, path *p, double keep, int no_buy,
                        week_draw *w)
{
    double mx = o[0];
    for (int k = 1; k < CLV__TX_CLASSES; k++) mx = o[k] > mx ? o[k] : mx;
    double e[CLV__TX_CLASSES], z = 0;
    for (int k = 0; k < CLV__TX_CLASSES; k++) z += (e[k] = exp(o[k] - mx));
    double mean_count = 0;
    for (int k = 1; k < CLV__TX_CLASSES; k++) mean_count += e[k] / z * (k < CLV__TX_CLASSES - 1 ? k : f->top_class_mean);
    const double mean_value = exp(o[CLV__TX_CLASSES] + 0.5 * sig * sig) - 1.0;
    w->exp_tx = keep * mean_count;
    w->exp_spend = w->exp_tx * (mean_value > 0 ? mean_value : 0);
    if (!(w->exp_spend <= 1e30)) w->exp_spend = 1e30;   /* as the draws below: sums stay finite in float */
    w->p_none = 1.0 - keep * (1.0 - e[0] / z);
    w->tx = w->spend = 0;
    if (no_buy) return;
    double u = clv__rng_uniform(&p->rng) * z;
    int cls = 0;
    while (cls < CLV__TX_CLASSES - 1 && u >= e[cls]) u -= e[cls++];
    double count = cls < CLV__TX_CLASSES - 1 ? cls : f->top_class_mean;
    if (keep < 1.0 && clv__rng_uniform(&p->rng) >= keep) count = 0;
    if (count > 0) {
        double v = expm1(o[CLV__TX_CLASSES] + sig * clv__rng_normal(&p->rng));
        w->spend = count * (v > 0 ? v : 0);
        /* A wide lognormal can overflow a float (exp(95) > FLT_MAX) and the
         * next week's input would be Inf; 1e30 keeps sums over any horizon finite. */
        if (!(w->spend <= 1e30)) w->spend = 1e30;
    }
    w->tx = count;
}

static void next_input(const clv_forecaster *f, path *p, const week_draw *w, float season_sin, float season_cos,
                       float *x)
{
    p->cum += (float)w->tx;
    p->cum_spend += (float)w->spend;
    p->since = w->tx > 0 ? 0 : p->since + 1;
    p->age += 1;
    x[CLV__IN_TX] = (float)w->tx;
    x[CLV__IN_SPEND] = clv__lg(w->spend);
    x[CLV__IN_CUM_TX] = clv__lg(p->cum);
    /* Held at the largest values seen in training: the network is not
     * extrapolated beyond them (the posterior inputs below use the true ones). */
    x[CLV__IN_SINCE_LAST] = clv__lg(fminf(p->since, f->since_cap));
    x[CLV__IN_AGE] = clv__lg(fminf(p->age, f->age_cap));
    x[CLV__IN_SEASON_SIN] = season_sin;
    x[CLV__IN_SEASON_COS] = season_cos;
    x[CLV__IN_FIRST] = p->first;
    x[CLV__IN_AVG_VALUE] = clv__lg(p->cum > 0 ? p->cum_spend / p->cum : 0);
    clv__prior_inputs(f, p->cum, p->cum_spend, p->first_amount, p->since, p->age, x);
    clv__normalise_row(f, x);
}

/* Roll one network of the ensemble forward over the chunk's customers,
 * adding each customer's sums over its paths to the accumulators and its
 * sampled path totals to the pool. */
static int rollout_member(const clv_forecaster *f, uint32_t member, rollout *r, const clv__seqdata *sd, uint64_t first,
                          uint32_t C, int32_t at_day, uint32_t horizon)
{
    const clv_model *model = f->members[member];
    const uint32_t S = r->S, P = S + 1, L = f->o.num_layers, H = f->o.hidden_size, E = f->o.ensemble, Tc = r->Tc;
    const size_t R = (size_t)C * P;
    CLV__TRY(clv__model_history(model, &r->arena, C, Tc, r->hist_x, r->hist_len, r->hist_h, r->hist_c, r->last));
    for (uint32_t k = 0; k < C; k++) {
        const int32_t len = r->hist_len[k];
        if (len > 0) clv__prior_offsets(f, r->hist_x + ((size_t)k * Tc + (size_t)(len - 1)) * CLV__IN_COUNT,
                                        r->last + (size_t)k * CLV__OUT_COUNT);
    }
    for (uint32_t l = 0; l < L; l++)
        for (uint32_t k = 0; k < C; k++)
            for (uint32_t s = 0; s < P; s++) {
                const size_t row = (size_t)k * P + s;
                memcpy(r->h + ((size_t)l * R + row) * H, r->hist_h + ((size_t)l * C + k) * H, H * sizeof(float));
                memcpy(r->c + ((size_t)l * R + row) * H, r->hist_c + ((size_t)l * C + k) * H, H * sizeof(float));
            }
    for (uint32_t k = 0; k < C; k++)
        for (uint32_t s = 0; s < P; s++) {
            const size_t row = (size_t)k * P + s;
            path *p = &r->paths[row];
            /* One stream per (network's seed, customer id, path): a
             * customer's paths do not depend on chunking, on the other
             * customers, or on row order, and network k of an ensemble
             * predicts as a single network with seed + k would. */
            const uint64_t seed = f->o.seed + member;
            clv__rng_seed(&p->rng, clv__hash_bytes(&s, sizeof s, sd->idh[first + k] ^ seed * 0x9e3779b97f4a7c15ULL));
            p->cum = r->carry[k].cum;
            p->cum_spend = r->carry[k].cum_spend;
            p->since = r->carry[k].since;
            p->age = r->carry[k].age;
            p->first = r->carry[k].first;
            p->first_amount = expm1(p->first);
            r->drawn[row] = r->exp_spend[row] = r->exp_tx[row] = 0;
            r->p_none[row] = 1;
            memcpy(r->out + row * CLV__OUT_COUNT, r->last + (size_t)k * CLV__OUT_COUNT, CLV__OUT_COUNT * sizeof(float));
        }
    const uint32_t weeks = (horizon + 6) / 7;
    const double last_keep = (horizon - 7.0 * (weeks - 1)) / 7.0;
    int rc = CLV_OK;
    for (uint32_t w = 1; w <= weeks && rc == CLV_OK; w++) {
        float ss = 0, sc = 0;   /* the calendar is the same for every path of a week */
        if (f->use_season) clv__season(at_day + 7 * (int32_t)w, &ss, &sc);
        for (size_t row = 0; row < R; row++) {
            week_draw d;
            sample_week(f, f->value_sigma[member], r->out + row * CLV__OUT_COUNT, &r->paths[row],
                        w == weeks ? last_keep : 1.0, row % P == S, &d);
            r->drawn[row] += d.spend;
            r->exp_spend[row] += d.exp_spend;
            r->exp_tx[row] += d.exp_tx;
            if ((uint32_t)(row % P) < S) r->acc_week[w - 1] += d.exp_tx;
            r->p_none[row] *= d.p_none;
            if (w < weeks) next_input(f, &r->paths[row], &d, ss, sc, r->xin + row * CLV__IN_COUNT);
        }
        if (w < weeks) rc = clv__model_step(model, &r->arena, (uint32_t)R, r->xin, r->h, r->c, r->out);
        if (w < weeks && rc == CLV_OK) add_offsets(f, r->xin, R, r->out);
    }
    for (uint32_t k = 0; rc == CLV_OK && k < C; k++) {
        for (uint32_t s = 0; s < S; s++) {
            const size_t row = (size_t)k * P + s;
            r->acc_spend[k] += r->exp_spend[row];
            r->acc_tx[k] += r->exp_tx[row];
            r->pool[((size_t)k * E + member) * S + s] = (float)r->drawn[row];
        }
        r->acc_none[k] += r->p_none[(size_t)k * P + S];
    }
    return rc;
}

static int rollout_chunk(const clv_forecaster *f, rollout *r, const clv__seqdata *sd, uint64_t first, uint32_t C,
                         int32_t at_day, uint32_t horizon, clv_prediction *pred, uint64_t base, double *chunk_week)
{
    const uint32_t S = r->S, E = f->o.ensemble;
    for (uint32_t k = 0; k < C; k++) r->acc_spend[k] = r->acc_tx[k] = r->acc_none[k] = 0;
    for (uint32_t w = 0; w < pred->weeks; w++) r->acc_week[w] = 0;
    /* The chunk's inputs, packed to its own longest history (no work on
     * padding beyond it), for every network. */
    r->Tc = 1;
    for (uint32_t k = 0; k < C; k++)
        if (clv__seq_len(sd, first + k) > r->Tc) r->Tc = clv__seq_len(sd, first + k);
    for (uint32_t k = 0; k < C; k++) {
        r->hist_len[k] = (int32_t)clv__seq_len(sd, first + k);
        float *x = r->hist_x + (size_t)k * r->Tc * CLV__IN_COUNT;
        clv__seqdata_rows(f, sd, first + k, 1, x, NULL, NULL, &r->carry[k]);
        memset(x + (size_t)r->hist_len[k] * CLV__IN_COUNT, 0, (size_t)(r->Tc - r->hist_len[k]) * CLV__IN_COUNT * sizeof(float));
    }
    for (uint32_t m = 0; m < E; m++) CLV__TRY(rollout_member(f, m, r, sd, first, C, at_day, horizon));
    const size_t pooled = (size_t)S * E;
    for (uint32_t k = 0; k < C; k++) {
        const uint64_t i = base + first + k;
        pred->spend[i] = (float)(r->acc_spend[k] / (double)pooled);
        pred->tx[i] = (float)(r->acc_tx[k] / (double)pooled);
        pred->p_active[i] = (float)(1.0 - r->acc_none[k] / E);
        float *tot = r->pool + (size_t)k * pooled;
        qsort(tot, pooled, sizeof *tot, cmp_float);
        pred->p10[i] = tot[(size_t)floor(0.1 * (double)(pooled - 1) + 0.5)];
        pred->p90[i] = tot[(size_t)floor(0.9 * (double)(pooled - 1) + 0.5)];
    }
    for (uint32_t w = 0; w < pred->weeks; w++) chunk_week[w] = r->acc_week[w] / (double)pooled;
    return CLV_OK;
}

/* The roll-out over every customer, in chunks of customers so that paths x
 * hidden state stay cache-sized, the chunks split over f->o.threads threads.
 * Chunks are cut from the customer order alone, never from the thread
 * count, so the thread count does not change a bit of any result. The chunk
 * size does, in the last bits: OpenBLAS's sgemm may round a row differently
 * with the number of rows (seen at hidden sizes >= 32), so a customer scored
 * alone and the same customer in a batch can differ by about one float ulp. */
typedef struct rollout_job {
    const clv_forecaster *f;
    const clv__seqdata *sd;
    clv_prediction *pred;
    uint64_t base;        /* prediction row of the first customer of sd */
    int32_t at_day;
    uint32_t horizon, C;
    uint64_t chunks;
    double *chunk_week;   /* [chunks][weeks]: summed in chunk order, so the totals do not depend on threads */
    int rc[CLV__MAX_WORKERS];
    char err[CLV__MAX_WORKERS][256];
} rollout_job;

static void rollout_part(void *ctx, uint32_t part, uint32_t parts)
{
    rollout_job *j = ctx;
    const uint64_t lo = j->chunks * part / parts, hi = j->chunks * (part + 1) / parts;
    int rc = CLV_OK;
    if (lo < hi) {
        rollout r;
        rc = rollout_alloc(&r, j->f, j->C, j->f->o.samples, j->sd->T, j->pred->weeks);
        for (uint64_t k = lo; rc == CLV_OK && k < hi; k++) {
            const uint64_t i = k * j->C;
            const uint32_t c = (uint32_t)(j->sd->n - i < j->C ? j->sd->n - i : j->C);
            rc = rollout_chunk(j->f, &r, j->sd, i, c, j->at_day, j->horizon, j->pred, j->base,
                               j->chunk_week + k * j->pred->weeks);
        }
        rollout_free(&r);   /* idempotent: also after a failed rollout_alloc */
    }
    j->rc[part] = rc;
    /* Errors are thread-local: carry the message back to the caller's thread. */
    if (rc != CLV_OK) snprintf(j->err[part], sizeof j->err[part], "%s", clv_last_error());
}

/* Customers per roll-out chunk when n are predicted: 8192 paths, but no
 * more than n (a single-customer request must not pay for a 256-customer
 * workspace). */
static uint32_t rollout_customers(const clv_forecaster *f, uint64_t n)
{
    const uint32_t S = f->o.samples, C = S >= 8192 ? 1 : 8192 / S;
    return C > n ? (uint32_t)(n ? n : 1) : C;
}

/* Roll out the customers of sd, prediction rows base .. base + sd->n, in
 * chunks of C (rollout_customers of the whole prediction, so that the chunks
 * are the same however the customers were split before); each week's
 * expected transactions are added to week_sum in chunk order. */
static int rollout_all(const clv_forecaster *f, const clv__seqdata *sd, uint64_t base, uint32_t C, int32_t at_day,
                       uint32_t horizon, clv_prediction *pred, double *week_sum)
{
    if (sd->n == 0) return CLV_OK;
    rollout_job *j = clv__calloc(1, sizeof *j);
    if (!j) return clv__oom();
    j->f = f;
    j->sd = sd;
    j->pred = pred;
    j->base = base;
    j->at_day = at_day;
    j->horizon = horizon;
    j->C = C;
    j->chunks = (sd->n + j->C - 1) / j->C;
    j->chunk_week = clv__calloc((size_t)j->chunks * pred->weeks, sizeof(double));
    if (!j->chunk_week) {
        clv__free(j);
        return clv__oom();
    }
    const uint32_t parts = (uint64_t)f->o.threads < j->chunks ? f->o.threads : (uint32_t)j->chunks;
    if (parts <= 1) rollout_part(j, 0, 1);
    else clv__parallel_run(parts, rollout_part, j);
    int rc = CLV_OK;
    for (uint32_t p = 0; p < (parts ? parts : 1) && rc == CLV_OK; p++)
        if (j->rc[p] != CLV_OK) rc = j->rc[p] == CLV_ENOMEM ? clv__oom() : clv__error(j->rc[p], "%s", j->err[p]);
    for (uint32_t w = 0; rc == CLV_OK && w < pred->weeks; w++)
        for (uint64_t k = 0; k < j->chunks; k++) week_sum[w] += j->chunk_week[k * pred->weeks + w];
    clv__free(j->chunk_week);
    clv__free(j);
    return rc;
}

CLV_API int clv_forecaster_set_threads(clv_forecaster *f, int32_t n)
{
    CLV__CHECK_ARG(f != NULL, "clv_forecaster_set_threads: forecaster is NULL");
    CLV__CHECK_ARG(n >= 1 && n <= CLV__MAX_WORKERS, "clv_forecaster_set_threads: n = %d, expected 1..%d", (int)n,
                   CLV__MAX_WORKERS);
    f->o.threads = (uint32_t)n;
    return CLV_OK;
}

CLV_API int32_t clv_forecaster_threads(const clv_forecaster *f) { return f ? (int32_t)f->o.threads : 0; }

int clv__forecast_customer_inputs(const clv_forecaster *f, const clv_txlog *log, int32_t at_day, const char *id,
                                  float **x, uint32_t *len)
{
    *x = NULL;
    *len = 0;
    clv_dataset *ds;
    uint32_t *members;
    CLV__TRY(customers_at(f, log, at_day, &members, &ds));
    uint64_t i = 0;
    while (i < ds->n && strcmp(ds->ids + ds->id_off[i], id) != 0) i++;
    char day[16] = "?";
    if (clv_date_format(at_day, day, sizeof day) != CLV_OK) day[0] = 0;
    int rc = i < ds->n ? CLV_OK : clv__error(CLV_EINVAL, "customer '%s' has no purchase on or before %s in the log", id, day);
    clv__seqdata sd;
    memset(&sd, 0, sizeof sd);
    if (rc == CLV_OK) rc = clv__seqdata_build(f, log, at_day, members + i, ds->lengths + i, 1, 0, &sd);
    clv_dataset_free(ds);
    clv__free(members);
    if (rc != CLV_OK) return rc;
    const uint32_t L = clv__seq_len(&sd, 0);
    *x = clv__calloc((size_t)(L ? L : 1) * CLV__IN_COUNT, sizeof(float));
    if (!*x) rc = clv__oom();
    else {
        clv__seqdata_rows(f, &sd, 0, 1, *x, NULL, NULL, NULL);
        *len = L;
    }
    clv__seqdata_free(&sd);
    return rc;
}

/* Customers whose inputs a prediction holds at once: a multiple of the
 * roll-out's chunk, so that splitting changes no result. */
#define PREDICT_BLOCK 16384u

CLV_API int clv_forecaster_predict(const clv_forecaster *f, const clv_txlog *log, int32_t at_day,
                                   uint32_t horizon, clv_prediction **out)
{
    static const char fn[] = "clv_forecaster_predict";
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    *out = NULL;
    CLV__CHECK_ARG(f != NULL && log != NULL, "%s: forecaster or log is NULL", fn);
    if (!f->fitted) return clv__error(CLV_ESTATE, "%s: the forecaster is not fitted", fn);
    if (horizon == 0) horizon = f->o.horizon_days;
    CLV__CHECK_ARG(horizon <= 36500, "%s: horizon_days = %u, expected 1..36500", fn, horizon);
    clv_dataset *ds;
    uint32_t *members;
    CLV__TRY(customers_at(f, log, at_day, &members, &ds));
    clv_prediction *pred = NULL;
    int rc = prediction_alloc(ds, &pred);
    double *week_sum = NULL;
    if (rc == CLV_OK) {
        pred->at_day = at_day;
        pred->horizon_days = horizon;
        pred->weeks = (horizon + 6) / 7;
        pred->week_tx = clv__calloc(pred->weeks, sizeof(float));
        week_sum = clv__calloc(pred->weeks, sizeof(double));
        if (!pred->week_tx || !week_sum) rc = clv__oom();
    }
    const uint32_t C = rollout_customers(f, ds->n), want = f->predict_block ? f->predict_block : PREDICT_BLOCK;
    const uint64_t block = (uint64_t)C * ((want + C - 1) / C);
    for (uint64_t first = 0; rc == CLV_OK && first < ds->n; first += block) {
        const uint64_t n = ds->n - first < block ? ds->n - first : block;
        clv__seqdata sd;
        rc = clv__seqdata_build(f, log, at_day, members + first, ds->lengths + first, n, 0, &sd);
        if (rc == CLV_OK) rc = rollout_all(f, &sd, first, C, at_day, horizon, pred, week_sum);
        clv__seqdata_free(&sd);
    }
    for (uint32_t w = 0; rc == CLV_OK && w < pred->weeks; w++) pred->week_tx[w] = (float)week_sum[w];
    clv__free(week_sum);
    clv_dataset_free(ds);
    clv__free(members);
    if (rc != CLV_OK) {
        clv_prediction_free(pred);
        return rc;
    }
    *out = pred;
    return CLV_OK;
}

CLV_API uint64_t clv_prediction_customers(const clv_prediction *p) { return p ? p->n : 0; }
CLV_API int32_t clv_prediction_at_day(const clv_prediction *p) { return p ? p->at_day : 0; }
CLV_API uint32_t clv_prediction_horizon_days(const clv_prediction *p) { return p ? p->horizon_days : 0; }
CLV_API const float *clv_prediction_spend(const clv_prediction *p) { return p ? p->spend : NULL; }
CLV_API const float *clv_prediction_transactions(const clv_prediction *p) { return p ? p->tx : NULL; }
CLV_API const float *clv_prediction_p_active(const clv_prediction *p) { return p ? p->p_active : NULL; }
CLV_API const float *clv_prediction_spend_p10(const clv_prediction *p) { return p ? p->p10 : NULL; }
CLV_API const float *clv_prediction_spend_p90(const clv_prediction *p) { return p ? p->p90 : NULL; }
CLV_API const int32_t *clv_prediction_stages(const clv_prediction *p) { return p ? p->stages : NULL; }
CLV_API const float *clv_prediction_weekly_transactions(const clv_prediction *p, uint32_t *weeks)
{
    if (weeks) *weeks = p ? p->weeks : 0;
    return p ? p->week_tx : NULL;
}
CLV_API const char *clv_prediction_customer_id(const clv_prediction *p, uint64_t i)
{
    return p && i < p->n ? p->ids + p->id_off[i] : NULL;
}
