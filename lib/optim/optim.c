#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../clv_internal.h"
#include "../core/ops.h"
#include "optim_state.h"

/* Smallest struct_size we can act on: without `kind` there are no defaults
 * to fill the rest from. */
#define OPTIONS_MIN_SIZE (offsetof(clv_optim_options, kind) + sizeof(int32_t))

struct clv_optim {
    clv_optim_options o;
    clv_lr_callback lr_fn;
    void *lr_user;
    uint64_t t;             /* completed steps */
    size_t count;           /* parameter count the state is sized for; 0 = unsized */
    float *state;           /* one block: nbuf * count floats */
    float *s0, *s1;         /* Adam m,v; SGD momentum; Adagrad sum; Adadelta sq,acc */
    float last_lr;
    float last_grad_norm;
};

static int kind_known(int32_t k) { return k >= CLV_OPTIM_ADAM && k <= CLV_OPTIM_ADADELTA; }

CLV_API void clv_optim_options_init(clv_optim_options *opts, int32_t kind)
{
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = (uint32_t)sizeof *opts;
    /* An unknown kind is kept so that clv_optim_new() names it instead of
     * silently training with Adam. */
    opts->kind = kind;
    opts->lr = 1e-3f;
    opts->beta1 = 0.9f;
    opts->beta2 = 0.999f;
    opts->eps = 1e-8f;
    opts->weight_decay = 0.0f;
    opts->momentum = 0.0f;
    opts->dampening = 0.0f;
    opts->nesterov = 0;
    opts->rho = 0.9f;
    opts->clip_norm = 0.0f;
    opts->schedule = CLV_SCHEDULE_CONSTANT;
    opts->step_size = 1000;
    opts->gamma = 0.1f;
    opts->total_steps = 1000;
    opts->min_lr = 0.0f;
    switch (kind) {
    case CLV_OPTIM_ADAMW: opts->weight_decay = 1e-2f; break;
    case CLV_OPTIM_SGD: opts->lr = 1e-2f; break;
    case CLV_OPTIM_ADAGRAD: opts->lr = 1e-2f; opts->eps = 1e-10f; break;
    case CLV_OPTIM_ADADELTA: opts->lr = 1.0f; opts->eps = 1e-6f; break;
    default: break;
    }
}

/* Copy the fields the caller's struct covers in full; a field cut by
 * struct_size keeps its default rather than mixing bytes of two values. */
static void copy_covered(clv_optim_options *dst, const clv_optim_options *src, size_t size)
{
#define COPY_FIELD(f)                                                            \
    do {                                                                         \
        if (size >= offsetof(clv_optim_options, f) + sizeof dst->f)              \
            memcpy(&dst->f, (const char *)src + offsetof(clv_optim_options, f),  \
                   sizeof dst->f);                                               \
    } while (0)
    COPY_FIELD(lr);
    COPY_FIELD(beta1);
    COPY_FIELD(beta2);
    COPY_FIELD(eps);
    COPY_FIELD(weight_decay);
    COPY_FIELD(momentum);
    COPY_FIELD(dampening);
    COPY_FIELD(nesterov);
    COPY_FIELD(rho);
    COPY_FIELD(clip_norm);
    COPY_FIELD(schedule);
    COPY_FIELD(step_size);
    COPY_FIELD(gamma);
    COPY_FIELD(total_steps);
    COPY_FIELD(min_lr);
#undef COPY_FIELD
}

/* Every field is checked whatever the kind: defaults are valid for all kinds,
 * so a rejected value is a caller mistake worth reporting even when this kind
 * would not read it. Comparisons are written so that NaN fails them. */
static int validate(const clv_optim_options *o)
{
    static const char fn[] = "clv_optim_new";
    CLV__CHECK_ARG(kind_known(o->kind),
                   "%s: kind = %" PRId32 ", expected CLV_OPTIM_ADAM (1) to CLV_OPTIM_ADADELTA (5)",
                   fn, o->kind);
    CLV__CHECK_ARG(isfinite(o->lr) && o->lr > 0.0f,
                   "%s: lr = %g, expected a finite lr > 0", fn, (double)o->lr);
    CLV__CHECK_ARG(o->beta1 >= 0.0f && o->beta1 < 1.0f,
                   "%s: beta1 = %g, expected 0 <= beta1 < 1", fn, (double)o->beta1);
    CLV__CHECK_ARG(o->beta2 >= 0.0f && o->beta2 < 1.0f,
                   "%s: beta2 = %g, expected 0 <= beta2 < 1", fn, (double)o->beta2);
    CLV__CHECK_ARG(isfinite(o->eps) && o->eps > 0.0f,
                   "%s: eps = %g, expected a finite eps > 0", fn, (double)o->eps);
    CLV__CHECK_ARG(isfinite(o->weight_decay) && o->weight_decay >= 0.0f,
                   "%s: weight_decay = %g, expected a finite weight_decay >= 0", fn,
                   (double)o->weight_decay);
    CLV__CHECK_ARG(isfinite(o->momentum) && o->momentum >= 0.0f,
                   "%s: momentum = %g, expected a finite momentum >= 0", fn, (double)o->momentum);
    CLV__CHECK_ARG(o->dampening >= 0.0f && o->dampening <= 1.0f,
                   "%s: dampening = %g, expected 0 <= dampening <= 1", fn, (double)o->dampening);
    CLV__CHECK_ARG(!o->nesterov || (o->momentum > 0.0f && o->dampening == 0.0f),
                   "%s: nesterov = %" PRId32 " needs momentum > 0 and dampening = 0 "
                   "(momentum = %g, dampening = %g)",
                   fn, o->nesterov, (double)o->momentum, (double)o->dampening);
    CLV__CHECK_ARG(o->rho >= 0.0f && o->rho < 1.0f,
                   "%s: rho = %g, expected 0 <= rho < 1", fn, (double)o->rho);
    CLV__CHECK_ARG(isfinite(o->clip_norm) && o->clip_norm >= 0.0f,
                   "%s: clip_norm = %g, expected a finite clip_norm >= 0 (0 = off)", fn,
                   (double)o->clip_norm);
    CLV__CHECK_ARG(o->schedule >= CLV_SCHEDULE_CONSTANT && o->schedule <= CLV_SCHEDULE_COSINE,
                   "%s: schedule = %" PRId32
                   ", expected CLV_SCHEDULE_CONSTANT (1) to CLV_SCHEDULE_COSINE (3)",
                   fn, o->schedule);
    if (o->schedule == CLV_SCHEDULE_STEP) {
        CLV__CHECK_ARG(o->step_size >= 1,
                       "%s: step_size = %" PRIu32 ", expected step_size >= 1 for CLV_SCHEDULE_STEP",
                       fn, o->step_size);
        CLV__CHECK_ARG(o->gamma > 0.0f && o->gamma <= 1.0f,
                       "%s: gamma = %g, expected 0 < gamma <= 1 for CLV_SCHEDULE_STEP", fn,
                       (double)o->gamma);
    } else if (o->schedule == CLV_SCHEDULE_COSINE) {
        CLV__CHECK_ARG(o->total_steps >= 1,
                       "%s: total_steps = %" PRIu64
                       ", expected total_steps >= 1 for CLV_SCHEDULE_COSINE",
                       fn, o->total_steps);
        CLV__CHECK_ARG(o->min_lr >= 0.0f && o->min_lr <= o->lr,
                       "%s: min_lr = %g, expected 0 <= min_lr <= lr (%g) for CLV_SCHEDULE_COSINE",
                       fn, (double)o->min_lr, (double)o->lr);
    }
    return CLV_OK;
}

CLV_API int clv_optim_new(clv_optim **out, const clv_optim_options *opts)
{
    CLV__CHECK_ARG(out != NULL, "clv_optim_new: out is NULL");
    *out = NULL;
    CLV__CHECK_ARG(opts != NULL, "clv_optim_new: opts is NULL");
    CLV__CHECK_ARG(opts->struct_size >= OPTIONS_MIN_SIZE,
                   "clv_optim_new: struct_size = %" PRIu32 ", expected at least %zu "
                   "(call clv_optim_options_init())",
                   opts->struct_size, (size_t)OPTIONS_MIN_SIZE);

    clv_optim_options o;
    clv_optim_options_init(&o, opts->kind);
    copy_covered(&o, opts, opts->struct_size);
    CLV__TRY(validate(&o));

    clv_optim *opt = clv__calloc(1, sizeof *opt);
    if (!opt) return clv__oom();
    opt->o = o;
    opt->last_lr = o.lr;
    *out = opt;
    return CLV_OK;
}

static void drop_state(clv_optim *opt)
{
    clv__free(opt->state);
    opt->state = opt->s0 = opt->s1 = NULL;
    opt->count = 0;
}

CLV_API void clv_optim_free(clv_optim *opt)
{
    if (!opt) return;
    drop_state(opt);
    clv__free(opt);
}

static size_t state_buffers(const clv_optim_options *o)
{
    switch (o->kind) {
    case CLV_OPTIM_SGD: return o->momentum > 0.0f ? 1 : 0;
    case CLV_OPTIM_ADAGRAD: return 1;
    default: return 2;
    }
}

static int check_count(const clv_optim *opt, const char *fn, size_t count)
{
    if (opt->count == 0 || opt->count == count) return CLV_OK;
    return clv__error(CLV_ESHAPE,
                      "%s: parameter count %zu differs from the %zu the optimizer state "
                      "was sized for (clv_optim_reset() to start over)",
                      fn, count, opt->count);
}

static int ensure_state(clv_optim *opt, size_t count)
{
    if (opt->count != 0) return CLV_OK;
    size_t nbuf = state_buffers(&opt->o);
    if (nbuf > 0) {
        size_t total;
        if (clv__mul_size(nbuf, count, &total) != 0) return clv__oom();
        opt->state = clv__calloc(total, sizeof(float));
        if (!opt->state) return clv__oom();
        opt->s0 = opt->state;
        opt->s1 = nbuf > 1 ? opt->state + count : NULL;
    }
    opt->count = count;
    return CLV_OK;
}

/* Learning rate for 1-based step t from the built-in schedule, in double so
 * that gamma^k and the cosine do not lose digits before the final rounding. */
static double scheduled_lr(const clv_optim_options *o, uint64_t t)
{
    double lr = o->lr;
    switch (o->schedule) {
    case CLV_SCHEDULE_STEP:
        return lr * pow((double)o->gamma, (double)((t - 1) / o->step_size));
    case CLV_SCHEDULE_COSINE: {
        double total = (double)o->total_steps;
        double done = (double)(t - 1 < o->total_steps ? t - 1 : o->total_steps);
        double min_lr = o->min_lr;
        const double pi = 3.14159265358979323846; /* M_PI is not ISO C */
        return min_lr + (lr - min_lr) * (1.0 + cos(pi * done / total)) * 0.5;
    }
    default:
        return lr;
    }
}

/* Per-step constants shared by the check pass and the commit pass. */
typedef struct step_consts {
    int32_t kind;
    double scale;           /* clipping factor, applied only when clip is set */
    int clip;
    float lr, wd;
    float b1, b2, omb1, omb2;
    float inv_bc1;          /* Adam: 1 / (1 - b1^t) */
    float bc2_sqrt;         /* Adam: sqrt(1 - b2^t) */
    float decay;            /* AdamW: 1 - lr*wd */
    float eps;
    float mom, omdamp;
    int nesterov, first;
    float rho, omrho;
} step_consts;

/* New parameter and state for element i, computed without writing anything.
 * Both passes call this same function so that the values checked in the
 * first pass are exactly the values committed in the second. */
static inline float update_one(const step_consts *c, float p, float gin, float *st0, float *st1)
{
    float g = c->clip ? (float)(gin * c->scale) : gin;
    switch (c->kind) {
    case CLV_OPTIM_ADAMW:
        p = p * c->decay;
        /* fall through */
    case CLV_OPTIM_ADAM: {
        if (c->kind == CLV_OPTIM_ADAM) g = g + c->wd * p;
        float m = c->b1 * *st0 + c->omb1 * g;
        float v = c->b2 * *st1 + c->omb2 * g * g;
        *st0 = m;
        *st1 = v;
        /* lr multiplies last: folding it into the bias correction would
         * overflow (lr/(1-b1) = 10 lr) before the ratio brings it back. */
        return p - c->lr * ((m * c->inv_bc1) / (sqrtf(v) / c->bc2_sqrt + c->eps));
    }
    case CLV_OPTIM_SGD:
        g = g + c->wd * p;
        if (c->mom > 0.0f) {
            float buf = c->first ? g : c->mom * *st0 + c->omdamp * g;
            *st0 = buf;
            g = c->nesterov ? g + c->mom * buf : buf;
        }
        return p - c->lr * g;
    case CLV_OPTIM_ADAGRAD: {
        g = g + c->wd * p;
        float sum = *st0 + g * g;
        *st0 = sum;
        return p - c->lr * g / (sqrtf(sum) + c->eps);
    }
    default: { /* ADADELTA */
        g = g + c->wd * p;
        float sq = c->rho * *st0 + c->omrho * g * g;
        float d = sqrtf(*st1 + c->eps) / sqrtf(sq + c->eps) * g;
        float acc = c->rho * *st1 + c->omrho * d * d;
        *st0 = sq;
        *st1 = acc;
        return p - c->lr * d;
    }
    }
}

static int do_step(clv_optim *opt, const char *fn, uint64_t count64, float *params,
                   const float *grads)
{
    CLV__CHECK_ARG(count64 >= 1, "%s: count is 0", fn);
    CLV__CHECK_ARG(count64 <= SIZE_MAX / sizeof(float), "%s: count %" PRIu64 " is too large",
                   fn, count64);
    size_t count = (size_t)count64;
    CLV__TRY(check_count(opt, fn, count));

    double norm = sqrt(clv__vec_sumsq(grads, count));
    if (!isfinite(norm)) {
        size_t bad = 0;
        (void)clv__all_finite(grads, count, &bad);
        return clv__error(CLV_ENUMERIC,
                          "%s: gradient norm is not finite (grads[%zu] = %g); nothing updated",
                          fn, bad, (double)grads[bad]);
    }

    const clv_optim_options *o = &opt->o;
    uint64_t t = opt->t + 1;
    double lr;
    if (opt->lr_fn) {
        float r = opt->lr_fn(t, o->lr, opt->lr_user);
        CLV__CHECK_ARG(isfinite(r) && r > 0.0f,
                       "%s: the lr callback returned %g for step %" PRIu64
                       ", expected a finite lr > 0; nothing updated",
                       fn, (double)r, t);
        lr = r;
    } else {
        lr = scheduled_lr(o, t);
    }

    CLV__TRY(ensure_state(opt, count));

    step_consts c;
    memset(&c, 0, sizeof c);
    c.kind = o->kind;
    c.clip = o->clip_norm > 0.0f && norm > (double)o->clip_norm;
    c.scale = c.clip ? (double)o->clip_norm / norm : 1.0;
    c.lr = (float)lr;
    c.wd = o->weight_decay;
    c.b1 = o->beta1;
    c.b2 = o->beta2;
    c.omb1 = 1.0f - o->beta1;
    c.omb2 = 1.0f - o->beta2;
    /* Bias corrections in double: 1 - b^t cancels badly in float for small t
     * and b close to 1 (0.999 -> 1e-3 with only ~4 correct digits). */
    c.inv_bc1 = (float)(1.0 / (1.0 - pow((double)o->beta1, (double)t)));
    c.bc2_sqrt = (float)sqrt(1.0 - pow((double)o->beta2, (double)t));
    c.decay = (float)(1.0 - lr * (double)o->weight_decay);
    c.eps = o->eps;
    c.mom = o->momentum;
    c.omdamp = 1.0f - o->dampening;
    c.nesterov = o->nesterov != 0;
    c.first = t == 1;
    c.rho = o->rho;
    c.omrho = 1.0f - o->rho;

    /* Two passes instead of write-then-roll-back: the first computes every new
     * parameter and state value into locals and only checks them, the second
     * recomputes and commits. A rejected step (absurd lr, overflowing moments,
     * non-finite weights) therefore leaves params and state untouched without
     * a scratch copy of the parameters; the update is O(count), negligible
     * next to the forward/backward pass that produced the gradients. */
    for (size_t i = 0; i < count; i++) {
        float a = opt->s0 ? opt->s0[i] : 0.0f;
        float b = opt->s1 ? opt->s1[i] : 0.0f;
        float p = update_one(&c, params[i], grads[i], &a, &b);
        if (!isfinite(p) || !isfinite(a) || !isfinite(b))
            return clv__error(CLV_ENUMERIC,
                              "%s: step %" PRIu64 " would make %s %zu non-finite "
                              "(param %g, grad %g, lr %g); nothing updated",
                              fn, t, isfinite(p) ? "the optimizer state of parameter" : "parameter",
                              i, (double)params[i], (double)grads[i], lr);
    }
    for (size_t i = 0; i < count; i++) {
        float a = opt->s0 ? opt->s0[i] : 0.0f;
        float b = opt->s1 ? opt->s1[i] : 0.0f;
        params[i] = update_one(&c, params[i], grads[i], &a, &b);
        if (opt->s0) opt->s0[i] = a;
        if (opt->s1) opt->s1[i] = b;
    }

    opt->t = t;
    opt->last_lr = c.lr;
    opt->last_grad_norm = (float)norm;
    return CLV_OK;
}

CLV_API int clv_optim_step_raw(clv_optim *opt, uint64_t count, float *params, const float *grads)
{
    static const char fn[] = "clv_optim_step_raw";
    CLV__CHECK_ARG(opt != NULL, "%s: opt is NULL", fn);
    CLV__CHECK_ARG(params != NULL, "%s: params is NULL", fn);
    CLV__CHECK_ARG(grads != NULL, "%s: grads is NULL", fn);
    return do_step(opt, fn, count, params, grads);
}

CLV_API int clv_optim_step(clv_optim *opt, clv_model *model)
{
    static const char fn[] = "clv_optim_step";
    CLV__CHECK_ARG(opt != NULL, "%s: opt is NULL", fn);
    CLV__CHECK_ARG(model != NULL, "%s: model is NULL", fn);
    float *params = clv_model_params(model);
    const float *grads = clv_model_grads(model);
    CLV__CHECK_ARG(params != NULL && grads != NULL, "%s: the model has no parameter buffer", fn);
    return do_step(opt, fn, clv_model_param_count(model), params, grads);
}

CLV_API int clv_optim_set_lr_callback(clv_optim *opt, clv_lr_callback fn, void *user_data)
{
    CLV__CHECK_ARG(opt != NULL, "clv_optim_set_lr_callback: opt is NULL");
    opt->lr_fn = fn;
    opt->lr_user = fn ? user_data : NULL;
    return CLV_OK;
}

CLV_API int clv_optim_reset(clv_optim *opt)
{
    CLV__CHECK_ARG(opt != NULL, "clv_optim_reset: opt is NULL");
    /* Freeing rather than zeroing lets the next run use another parameter
     * count (a new model) with the same configuration. */
    drop_state(opt);
    opt->t = 0;
    opt->last_lr = opt->o.lr;
    opt->last_grad_norm = 0.0f;
    return CLV_OK;
}

CLV_API uint64_t clv_optim_step_count(const clv_optim *opt) { return opt ? opt->t : 0; }
CLV_API float clv_optim_last_lr(const clv_optim *opt) { return opt ? opt->last_lr : 0.0f; }
CLV_API float clv_optim_last_grad_norm(const clv_optim *opt)
{
    return opt ? opt->last_grad_norm : 0.0f;
}

/* ---- checkpoint access (optim_state.h) ----------------------------------- */

void clv__optim_state(const clv_optim *opt, uint64_t *t, const float **state, size_t *nfloats)
{
    *t = opt->t;
    *state = opt->state;
    *nfloats = opt->count ? state_buffers(&opt->o) * opt->count : 0;
}

int clv__optim_restore(clv_optim *opt, uint64_t t, const float *state, size_t nfloats, size_t count)
{
    drop_state(opt);
    opt->t = t;
    if (t == 0 && nfloats == 0) return CLV_OK;
    if (nfloats != state_buffers(&opt->o) * count)
        return clv__error(CLV_ESHAPE, "optimizer state of %zu floats does not fit %zu parameters", nfloats, count);
    CLV__TRY(ensure_state(opt, count));
    if (nfloats) memcpy(opt->state, state, nfloats * sizeof(float));
    return CLV_OK;
}
