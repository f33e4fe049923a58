/* Losses with value and gradient; the formulas are in clv/loss.h.
 * Row losses and the reduction run in double and only the gradient is stored
 * as float: the value then stays accurate enough to be differenced, which is
 * what finite-difference checks and loss curves over large batches rely on. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "../clv_internal.h"
#include "../core/ops.h"

/* Below this sigma the Gaussian term's curvature (1/sigma^2) makes training
 * blow up; the floor is part of the documented model, shared with the mean. */
#define SIGMA_FLOOR 1e-3
#define HALF_LOG_2PI 0.91893853320467274178

/* Options with every field resolved, so later code never looks at struct_size. */
typedef struct config {
    int32_t kind;
    int32_t reduction;
    double delta;
} config;

/* Everything one evaluation needs, validated; keeps the helpers' argument lists short. */
typedef struct problem {
    config c;
    uint32_t rows, pred_dim, target_dim;
    const float *pred, *target, *weight, *mask;
} problem;

/* A field is read only when the caller's struct (possibly from an older
 * header) is long enough to contain it. */
#define COVERS(o, f) ((size_t)(o)->struct_size >= offsetof(clv_loss_options, f) + sizeof((o)->f))

static double sigmoid(double x)
{
    /* Keeps exp's argument non-positive so neither branch overflows. */
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* Out-of-range double-to-float conversion is undefined in C; make it an Inf
 * that the finiteness checks then catch. */
static float narrow(double v)
{
    return fabs(v) <= FLT_MAX ? (float)v : INFINITY;
}

static int is_elementwise(int32_t kind)
{
    return kind == CLV_LOSS_MSE || kind == CLV_LOSS_MAE || kind == CLV_LOSS_HUBER ||
           kind == CLV_LOSS_BCE_LOGITS;
}

static const char *nonfinite_name(float v)
{
    if (isnan(v)) return "NaN";
    return v > 0.0f ? "+Inf" : "-Inf";
}

/* rows * cols elements, refusing counts whose float buffer could not exist. */
static int element_count(uint32_t rows, uint32_t cols, size_t *n)
{
    if (clv__mul_size(rows, cols, n) != 0 || *n > SIZE_MAX / sizeof(float)) return -1;
    return 0;
}

CLV_API void clv_loss_options_init(clv_loss_options *opts)
{
    if (!opts) return;
    opts->struct_size = (uint32_t)sizeof *opts;
    opts->kind = CLV_LOSS_MSE;
    opts->reduction = CLV_REDUCE_MEAN;
    opts->huber_delta = 1.0f;
}

static int read_config(const clv_loss_options *opts, const char *fn, config *c)
{
    c->kind = CLV_LOSS_MSE;
    c->reduction = CLV_REDUCE_MEAN;
    c->delta = 1.0;
    if (!opts) return CLV_OK;
    CLV__CHECK_ARG(COVERS(opts, kind),
                   "%s: opts->struct_size %u is too small (fill opts with clv_loss_options_init())",
                   fn, (unsigned)opts->struct_size);
    c->kind = opts->kind;
    if (COVERS(opts, reduction)) c->reduction = opts->reduction;
    if (COVERS(opts, huber_delta)) c->delta = opts->huber_delta;
    return CLV_OK;
}

static int resolve_target_dim(const config *c, uint32_t pred_dim, const char *fn, uint32_t *out)
{
    if (is_elementwise(c->kind)) {
        CLV__CHECK_ARG(pred_dim >= 1, "%s: pred_dim must be >= 1", fn);
        *out = pred_dim;
        return CLV_OK;
    }
    if (c->kind == CLV_LOSS_CE_LOGITS) {
        CLV__CHECK_ARG(pred_dim >= 2, "%s: CE_LOGITS needs pred_dim >= 2 classes, got %u", fn,
                       (unsigned)pred_dim);
        *out = 1;
        return CLV_OK;
    }
    if (c->kind == CLV_LOSS_ZILN) {
        CLV__CHECK_ARG(pred_dim == 3, "%s: ZILN needs pred_dim 3 ([logit, mu, s]), got %u", fn,
                       (unsigned)pred_dim);
        *out = 1;
        return CLV_OK;
    }
    return clv__error(CLV_EINVAL, "%s: unknown loss kind %d", fn, (int)c->kind);
}

CLV_API int clv_loss_target_dim(const clv_loss_options *opts, uint32_t pred_dim, uint32_t *out)
{
    static const char fn[] = "clv_loss_target_dim";
    config c;
    uint32_t dim = 0;
    CLV__CHECK_ARG(out != NULL, "%s: out is NULL", fn);
    CLV__TRY(read_config(opts, fn, &c));
    CLV__TRY(resolve_target_dim(&c, pred_dim, fn, &dim));
    *out = dim;
    return CLV_OK;
}

/* ---- validation -------------------------------------------------------- */

static int check_finite(const char *fn, const char *name, const float *x, size_t n, uint32_t cols)
{
    size_t bad;
    if (clv__all_finite(x, n, &bad)) return CLV_OK;
    if (cols == 0)
        return clv__error(CLV_EINVAL, "%s: %s[%zu] is %s", fn, name, bad, nonfinite_name(x[bad]));
    return clv__error(CLV_EINVAL, "%s: %s[%zu][%zu] is %s", fn, name, bad / cols, bad % cols,
                      nonfinite_name(x[bad]));
}

static int check_config(const config *c)
{
    CLV__CHECK_ARG(c->reduction == CLV_REDUCE_MEAN || c->reduction == CLV_REDUCE_SUM,
                   "clv_loss_eval: unknown reduction %d", (int)c->reduction);
    if (c->kind == CLV_LOSS_HUBER)
        CLV__CHECK_ARG(isfinite(c->delta) && c->delta > 0.0,
                       "clv_loss_eval: huber_delta must be finite and > 0, got %g", c->delta);
    return CLV_OK;
}

static int check_target_row(const problem *pb, uint32_t r)
{
    const float *t = pb->target + (size_t)r * pb->target_dim;
    if (pb->c.kind == CLV_LOSS_BCE_LOGITS) {
        for (uint32_t j = 0; j < pb->target_dim; j++)
            CLV__CHECK_ARG(t[j] >= 0.0f && t[j] <= 1.0f,
                           "clv_loss_eval: BCE_LOGITS target[%u][%u] = %g is outside [0, 1]",
                           (unsigned)r, (unsigned)j, (double)t[j]);
    } else if (pb->c.kind == CLV_LOSS_CE_LOGITS) {
        double y = t[0];
        CLV__CHECK_ARG(y >= 0.0 && y < (double)pb->pred_dim && y == floor(y),
                       "clv_loss_eval: CE_LOGITS target[%u][0] = %g is not a class index in [0, %u)",
                       (unsigned)r, y, (unsigned)pb->pred_dim);
    } else if (pb->c.kind == CLV_LOSS_ZILN) {
        CLV__CHECK_ARG(t[0] >= 0.0f, "clv_loss_eval: ZILN target[%u][0] = %g is negative",
                       (unsigned)r, (double)t[0]);
    }
    return CLV_OK;
}

/* Domain checks after the finiteness checks, so comparisons below see numbers.
 * Masked rows are validated too: a bad target there is a caller bug all the same. */
static int check_rows(const problem *pb)
{
    for (uint32_t r = 0; r < pb->rows; r++) {
        CLV__CHECK_ARG(!pb->weight || pb->weight[r] >= 0.0f,
                       "clv_loss_eval: weight[%u] = %g is negative", (unsigned)r, (double)pb->weight[r]);
        CLV__CHECK_ARG(!pb->mask || pb->mask[r] >= 0.0f,
                       "clv_loss_eval: mask[%u] = %g is negative", (unsigned)r, (double)pb->mask[r]);
        CLV__TRY(check_target_row(pb, r));
    }
    return CLV_OK;
}

static int check_arrays(const problem *pb)
{
    static const char fn[] = "clv_loss_eval";
    size_t np, nt;
    CLV__CHECK_ARG(element_count(pb->rows, pb->pred_dim, &np) == 0 &&
                       element_count(pb->rows, pb->target_dim, &nt) == 0,
                   "%s: rows * pred_dim = %u * %u overflows", fn, (unsigned)pb->rows,
                   (unsigned)pb->pred_dim);
    CLV__TRY(check_finite(fn, "pred", pb->pred, np, pb->pred_dim));
    CLV__TRY(check_finite(fn, "target", pb->target, nt, pb->target_dim));
    if (pb->weight) CLV__TRY(check_finite(fn, "weight", pb->weight, pb->rows, 0));
    if (pb->mask) CLV__TRY(check_finite(fn, "mask", pb->mask, pb->rows, 0));
    return check_rows(pb);
}

/* ---- row losses: return l_r, write gscale * dl_r/dpred when g != NULL ---- */

/* softplus(z) - y z, arranged so that for large |z| neither exp overflows nor
 * the two O(|z|) terms cancel. */
static double bce_logits(double z, double y, double *dl)
{
    *dl = sigmoid(z) - y;
    if (z > 0.0) return (1.0 - y) * z + log1p(exp(-z));
    return log1p(exp(z)) - y * z;
}

static double huber(double d, double delta, double *dl)
{
    double a = fabs(d);
    if (a <= delta) {
        *dl = d;
        return 0.5 * d * d;
    }
    *dl = d > 0.0 ? delta : -delta;
    return delta * (a - 0.5 * delta);
}

static double element_loss(const config *c, double p, double t, double *dl)
{
    double d = p - t;
    switch (c->kind) {
    case CLV_LOSS_MSE:
        *dl = 2.0 * d;
        return d * d;
    case CLV_LOSS_MAE:
        /* Subgradient 0 at the kink: a prediction already on target stays put. */
        *dl = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);
        return fabs(d);
    case CLV_LOSS_HUBER:
        return huber(d, c->delta, dl);
    default:
        return bce_logits(p, t, dl);
    }
}

static double elementwise_row(const config *c, const float *p, const float *t, uint32_t n,
                              float *g, double gscale)
{
    double l = 0.0, dl;
    for (uint32_t j = 0; j < n; j++) {
        l += element_loss(c, p[j], t[j], &dl);
        if (g) g[j] = narrow(gscale * dl);
    }
    return l;
}

static double ce_row(const float *z, uint32_t n, uint32_t y, float *g, double gscale)
{
    /* Subtracting the max keeps every exp in (0, 1]: no overflow for huge logits. */
    double m = z[0], s = 0.0;
    for (uint32_t j = 1; j < n; j++) m = fmax(m, z[j]);
    for (uint32_t j = 0; j < n; j++) s += exp(z[j] - m);
    if (g)
        for (uint32_t j = 0; j < n; j++)
            g[j] = narrow(gscale * (exp(z[j] - m) / s - (j == y ? 1.0 : 0.0)));
    return m + log(s) - z[y];
}

/* -log density of y when log y ~ N(mu, sigma^2), sigma = max(softplus(s), floor). */
static double lognormal_nll(double y, double mu, double s, double *dmu, double *ds)
{
    double sp = clv__softplus(s);
    double sigma = fmax(sp, SIGMA_FLOOR);
    double r = log(y) - mu, var = sigma * sigma;
    *dmu = -r / var;
    /* Where the floor holds, sigma is a constant and s gets no gradient. */
    *ds = sp > SIGMA_FLOOR ? (1.0 / sigma - r * r / (var * sigma)) * sigmoid(s) : 0.0;
    return log(y) + log(sigma) + HALF_LOG_2PI + r * r / (2.0 * var);
}

static double ziln_row(const float *p, double y, float *g, double gscale)
{
    double dz, dmu = 0.0, ds = 0.0;
    double l = bce_logits(p[0], y > 0.0 ? 1.0 : 0.0, &dz);
    if (y > 0.0) l += lognormal_nll(y, p[1], p[2], &dmu, &ds);
    if (g) {
        g[0] = narrow(gscale * dz);
        g[1] = narrow(gscale * dmu);
        g[2] = narrow(gscale * ds);
    }
    return l;
}

static double row_loss(const problem *pb, uint32_t r, float *g, double gscale)
{
    const float *p = pb->pred + (size_t)r * pb->pred_dim;
    const float *t = pb->target + (size_t)r * pb->target_dim;
    if (pb->c.kind == CLV_LOSS_CE_LOGITS) return ce_row(p, pb->pred_dim, (uint32_t)t[0], g, gscale);
    if (pb->c.kind == CLV_LOSS_ZILN) return ziln_row(p, t[0], g, gscale);
    return elementwise_row(&pb->c, p, t, pb->pred_dim, g, gscale);
}

/* ---- reduction ---------------------------------------------------------- */

static double row_weight(const problem *pb, uint32_t r)
{
    double w = pb->weight ? pb->weight[r] : 1.0;
    return pb->mask ? w * pb->mask[r] : w;
}

static double divisor(const problem *pb)
{
    if (pb->c.reduction == CLV_REDUCE_SUM) return 1.0;
    double s = 0.0;
    for (uint32_t r = 0; r < pb->rows; r++) s += row_weight(pb, r);
    return is_elementwise(pb->c.kind) ? s * pb->pred_dim : s;
}

static int all_finite_f(const float *g, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++)
        if (!isfinite(g[j])) return 0;
    return 1;
}

static void zero_f(float *g, size_t n)
{
    for (size_t i = 0; i < n; i++) g[i] = 0.0f;
}

/* A zeroed gradient on failure keeps a caller who ignores the status from
 * feeding Inf into an optimizer. */
static int numeric_failure(const problem *pb, float *grad, uint32_t r)
{
    if (grad) zero_f(grad, (size_t)pb->rows * pb->pred_dim);
    return clv__error(CLV_ENUMERIC, "clv_loss_eval: loss or gradient of row %u is not finite",
                      (unsigned)r);
}

static int evaluate(const problem *pb, double *out_value, float *grad)
{
    double div = divisor(pb), total = 0.0;
    for (uint32_t r = 0; r < pb->rows; r++) {
        float *g = grad ? grad + (size_t)r * pb->pred_dim : NULL;
        double w = row_weight(pb, r);
        if (w == 0.0) {
            if (g) zero_f(g, pb->pred_dim);
            continue;
        }
        /* w > 0 somewhere implies div > 0, so the quotient is safe. */
        double l = row_loss(pb, r, g, w / div);
        if (!isfinite(l) || (g && !all_finite_f(g, pb->pred_dim))) return numeric_failure(pb, grad, r);
        total += w * l;
    }
    if (div > 0.0) total /= div;
    if (!isfinite(total)) return numeric_failure(pb, grad, pb->rows - 1);
    *out_value = total;
    return CLV_OK;
}

CLV_API int clv_loss_eval(const clv_loss_options *opts, uint32_t rows, uint32_t pred_dim,
                          const float *pred, const float *target, const float *weight,
                          const float *mask, double *out_value, float *grad)
{
    static const char fn[] = "clv_loss_eval";
    problem pb = { { 0, 0, 0.0 }, rows, pred_dim, 0, pred, target, weight, mask };
    CLV__CHECK_ARG(pred != NULL, "%s: pred is NULL", fn);
    CLV__CHECK_ARG(target != NULL, "%s: target is NULL", fn);
    CLV__CHECK_ARG(out_value != NULL, "%s: out_value is NULL", fn);
    CLV__CHECK_ARG(rows >= 1, "%s: rows must be >= 1", fn);
    CLV__CHECK_ARG(pred_dim >= 1, "%s: pred_dim must be >= 1", fn);
    CLV__TRY(read_config(opts, fn, &pb.c));
    CLV__TRY(resolve_target_dim(&pb.c, pred_dim, fn, &pb.target_dim));
    CLV__TRY(check_config(&pb.c));
    CLV__TRY(check_arrays(&pb));
    return evaluate(&pb, out_value, grad);
}

/* ---- ZILN predictive mean ---------------------------------------------- */

/* In log space, log p = -softplus(-z): p -> 0 times a huge exp never forms 0 * Inf. */
static double ziln_row_mean(const float *p)
{
    double sigma = fmax(clv__softplus(p[2]), SIGMA_FLOOR);
    return exp(p[1] + 0.5 * sigma * sigma - clv__softplus(-(double)p[0]));
}

CLV_API int clv_ziln_mean(uint32_t rows, const float *pred, float *mean, float *p_positive)
{
    static const char fn[] = "clv_ziln_mean";
    size_t n;
    CLV__CHECK_ARG(pred != NULL, "%s: pred is NULL", fn);
    CLV__CHECK_ARG(mean != NULL || p_positive != NULL, "%s: mean and p_positive are both NULL", fn);
    CLV__CHECK_ARG(rows >= 1, "%s: rows must be >= 1", fn);
    CLV__CHECK_ARG(element_count(rows, 3, &n) == 0, "%s: rows * 3 overflows (rows = %u)", fn,
                   (unsigned)rows);
    CLV__TRY(check_finite(fn, "pred", pred, n, 3));
    /* A separate pass so that an overflow leaves the outputs untouched. */
    for (uint32_t r = 0; mean && r < rows; r++)
        if (!isfinite(narrow(ziln_row_mean(pred + (size_t)r * 3))))
            return clv__error(CLV_ENUMERIC, "%s: mean of row %u overflows float", fn, (unsigned)r);
    for (uint32_t r = 0; r < rows; r++) {
        const float *p = pred + (size_t)r * 3;
        if (mean) mean[r] = narrow(ziln_row_mean(p));
        if (p_positive) p_positive[r] = (float)sigmoid(p[0]);
    }
    return CLV_OK;
}
