/* Loss module through the public API only: hand-computed reference values,
 * finite-difference gradient checks, stability at extreme logits, the ZILN
 * mean, options/struct_size handling and every documented error path.
 * Reference numbers are worked out by hand (or with a calculator) and written
 * as literals, never by calling libclv, so a wrong formula cannot agree with
 * itself. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <clv/clv.h>

#include "test-common.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* Tolerance for values and gradients computed in double and compared with
 * 10-digit literals; gradients are stored as float (relative 6e-8). */
#define REL_TOL 1e-6
#define SENTINEL 12345.0

static clv_loss_options make_opts(int32_t kind, int32_t reduction)
{
    clv_loss_options o;
    clv_loss_options_init(&o);
    o.kind = kind;
    o.reduction = reduction;
    return o;
}

static void assert_close(double got, double want, const char *what, size_t i)
{
    ck_assert_msg(clv_test_relerr(got, want, 1e-6) < REL_TOL, "%s[%zu]: got %.10g, want %.10g",
                  what, i, got, want);
}

/* Evaluate and compare the value and (when want_grad != NULL) every gradient entry. */
static void expect_loss(const clv_loss_options *o, uint32_t rows, uint32_t dim, const float *pred,
                        const float *target, const float *weight, const float *mask,
                        double want, const double *want_grad)
{
    float grad[64];
    double v = SENTINEL;
    ck_assert_uint_le((size_t)rows * dim, NELEM(grad));
    ck_assert_int_eq(clv_loss_eval(o, rows, dim, pred, target, weight, mask, &v,
                                   want_grad ? grad : NULL), CLV_OK);
    assert_close(v, want, "value", 0);
    for (size_t i = 0; want_grad && i < (size_t)rows * dim; i++)
        assert_close(grad[i], want_grad[i], "grad", i);
}

static void scale(double *dst, const double *src, size_t n, double f)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i] * f;
}

/* ---- 1. reference values ------------------------------------------------ */

/* Three rows of width 2 shared by MSE and MAE:
 *   pred   {1, 2 | 0, 0 | 3, -1},  target {0, 4 | 1, 1 | 3, 1}
 *   d = pred - target = {1, -2 | -1, -1 | 0, -2}. */
static const float ew_pred[] = { 1, 2, 0, 0, 3, -1 };
static const float ew_target[] = { 0, 4, 1, 1, 3, 1 };
static const float ew_weight[] = { 1, 2, 0.5f };

START_TEST(ref_mse)
{
    clv_loss_options mean = make_opts(CLV_LOSS_MSE, CLV_REDUCE_MEAN);
    clv_loss_options sum = make_opts(CLV_LOSS_MSE, CLV_REDUCE_SUM);
    /* The header's example: pred {1,2} vs {0,4}, one column: (1 + 4) / 2 = 2.5. */
    static const float p1[] = { 1, 2 }, t1[] = { 0, 4 };
    static const double g1[] = { 2.0 * 1 / 2, 2.0 * -2 / 2 };
    expect_loss(&mean, 2, 1, p1, t1, NULL, NULL, 2.5, g1);
    expect_loss(NULL, 2, 1, p1, t1, NULL, NULL, 2.5, g1); /* NULL opts = MSE, mean */

    /* Row losses l = {1+4, 1+1, 0+4} = {5, 2, 4}.
     * Unweighted: SUM 11; MEAN 11 / (3 rows * 2 columns) = 1.8333... */
    expect_loss(&sum, 3, 2, ew_pred, ew_target, NULL, NULL, 11.0, NULL);
    expect_loss(&mean, 3, 2, ew_pred, ew_target, NULL, NULL, 11.0 / 6.0, NULL);

    /* weight {1, 2, 0.5} * mask {1, 1, 0} = w {1, 2, 0}:
     * SUM = 1*5 + 2*2 = 9; MEAN = 9 / ((1+2+0) * 2) = 1.5.
     * grad SUM = w * 2d = {2, -4 | -4, -4 | 0, 0}; MEAN grad = SUM grad / 6. */
    static const float mask[] = { 1, 1, 0 };
    static const double gs[] = { 2, -4, -4, -4, 0, 0 };
    double gm[6];
    scale(gm, gs, 6, 1.0 / 6.0);
    expect_loss(&sum, 3, 2, ew_pred, ew_target, ew_weight, mask, 9.0, gs);
    expect_loss(&mean, 3, 2, ew_pred, ew_target, ew_weight, mask, 1.5, gm);
}
END_TEST

START_TEST(ref_mae)
{
    clv_loss_options mean = make_opts(CLV_LOSS_MAE, CLV_REDUCE_MEAN);
    clv_loss_options sum = make_opts(CLV_LOSS_MAE, CLV_REDUCE_SUM);
    /* l = {1+2, 1+1, 0+2} = {3, 2, 2}: SUM 7, MEAN 7/6. */
    expect_loss(&sum, 3, 2, ew_pred, ew_target, NULL, NULL, 7.0, NULL);
    expect_loss(&mean, 3, 2, ew_pred, ew_target, NULL, NULL, 7.0 / 6.0, NULL);

    /* w = {1, 2, 0.5} * {1, 0, 1} = {1, 0, 0.5}: SUM = 3 + 0.5*2 = 4;
     * MEAN = 4 / ((1 + 0.5) * 2) = 4/3. grad SUM = w * sign(d), with the
     * subgradient 0 at d = 0 (row 2, column 0): {1, -1 | 0, 0 | 0, -0.5}. */
    static const float mask[] = { 1, 0, 1 };
    static const double gs[] = { 1, -1, 0, 0, 0, -0.5 };
    double gm[6];
    scale(gm, gs, 6, 1.0 / 3.0);
    expect_loss(&sum, 3, 2, ew_pred, ew_target, ew_weight, mask, 4.0, gs);
    expect_loss(&mean, 3, 2, ew_pred, ew_target, ew_weight, mask, 4.0 / 3.0, gm);
}
END_TEST

START_TEST(ref_huber)
{
    /* d = {0.5, 3 | 0, -2 | 0, -2}. */
    static const float pred[] = { 0.5f, 3, 0, 0, 2, -1 };
    static const float target[] = { 0, 0, 0, 2, 2, 1 };
    clv_loss_options o = make_opts(CLV_LOSS_HUBER, CLV_REDUCE_SUM);

    /* delta 1: l0 = 0.5^2/2 + 1*(3 - 0.5) = 2.625, l1 = l2 = 1*(2 - 0.5) = 1.5;
     * SUM 5.625, MEAN 5.625/6 = 0.9375; grad SUM {0.5, 1 | 0, -1 | 0, -1}. */
    static const double g1[] = { 0.5, 1, 0, -1, 0, -1 };
    double g1m[6];
    scale(g1m, g1, 6, 1.0 / 6.0);
    expect_loss(&o, 3, 2, pred, target, NULL, NULL, 5.625, g1);
    o.reduction = CLV_REDUCE_MEAN;
    expect_loss(&o, 3, 2, pred, target, NULL, NULL, 0.9375, g1m);

    /* delta 2: |d| = 2 sits on the threshold, both branches give l = 2, g = d.
     * l0 = 0.125 + 2*(3 - 1) = 4.125, l1 = l2 = 2. weight {1, 2, 0.5}:
     * SUM = 4.125 + 4 + 1 = 9.125; MEAN = 9.125 / (3.5 * 2) = 1.303571428...
     * grad SUM = w * {0.5, 2 | 0, -2 | 0, -2} = {0.5, 2 | 0, -4 | 0, -1}. */
    static const double g2[] = { 0.5, 2, 0, -4, 0, -1 };
    double g2m[6];
    scale(g2m, g2, 6, 1.0 / 7.0);
    o.huber_delta = 2.0f;
    o.reduction = CLV_REDUCE_SUM;
    expect_loss(&o, 3, 2, pred, target, ew_weight, NULL, 9.125, g2);
    o.reduction = CLV_REDUCE_MEAN;
    expect_loss(&o, 3, 2, pred, target, ew_weight, NULL, 9.125 / 7.0, g2m);
}
END_TEST

START_TEST(ref_bce)
{
    /* l = softplus(z) - y z, g = sigmoid(z) - y:
     *   z 0,  y 1:    log 2 = 0.6931471806,         g = -0.5
     *   z 2,  y 0:    log(1 + e^2) = 2.1269280110,   g = sigmoid(2) = 0.8807970780
     *   z -1, y 0.25: log(1 + e^-1) + 0.25 = 0.3132616875 + 0.25 = 0.5632616875,
     *                 g = 0.2689414214 - 0.25 = 0.0189414214 */
    static const float z[] = { 0, 2, -1 }, y[] = { 1, 0, 0.25f };
    clv_loss_options sum = make_opts(CLV_LOSS_BCE_LOGITS, CLV_REDUCE_SUM);
    clv_loss_options mean = make_opts(CLV_LOSS_BCE_LOGITS, CLV_REDUCE_MEAN);
    static const double g[] = { -0.5, 0.8807970780, 0.0189414214 };
    double gm[3];
    scale(gm, g, 3, 1.0 / 3.0);
    expect_loss(&sum, 3, 1, z, y, NULL, NULL, 3.3833368791, g);
    expect_loss(&mean, 3, 1, z, y, NULL, NULL, 3.3833368791 / 3.0, gm);

    /* w = {2, 1, 1} * {1, 0, 1} = {2, 0, 1}: SUM = 2*0.6931471806 + 0.5632616875
     * = 1.9495560487; MEAN = / 3. grad SUM = {-1, 0, 0.0189414214}. */
    static const float w[] = { 2, 1, 1 }, m[] = { 1, 0, 1 };
    static const double gw[] = { -1.0, 0.0, 0.0189414214 };
    double gwm[3];
    scale(gwm, gw, 3, 1.0 / 3.0);
    expect_loss(&sum, 3, 1, z, y, w, m, 1.9495560487, gw);
    expect_loss(&mean, 3, 1, z, y, w, m, 1.9495560487 / 3.0, gwm);
}
END_TEST

START_TEST(ref_ce)
{
    /* l = logsumexp(z) - z_y, g = softmax(z) - onehot(y):
     *   {1, 2, 3}, y 2:  3 + log(1 + e^-1 + e^-2) - 3 = log(1.5032147244) = 0.4076059644
     *                    softmax = {0.0900305732, 0.2447284711, 0.6652409558}
     *   {0, 0, 0}, y 0:  log 3 = 1.0986122887, softmax = 1/3 each
     *   {-1, .5, 2}, y 1: 2 + log(e^-3 + e^-1.5 + 1) - 0.5 = 1.7413112967
     *                    softmax = {0.0391125733, 0.1752903921, 0.7855970346}
     * MEAN divides by the row weights only (not by the class count). */
    static const float z[] = { 1, 2, 3, 0, 0, 0, -1, 0.5f, 2 };
    static const float y[] = { 2, 0, 1 };
    static const double g[] = { 0.0900305732, 0.2447284711, -0.3347590442,
                                -2.0 / 3.0,   1.0 / 3.0,    1.0 / 3.0,
                                0.0391125733, -0.8247096079, 0.7855970346 };
    clv_loss_options sum = make_opts(CLV_LOSS_CE_LOGITS, CLV_REDUCE_SUM);
    clv_loss_options mean = make_opts(CLV_LOSS_CE_LOGITS, CLV_REDUCE_MEAN);
    double gm[9];
    scale(gm, g, 9, 1.0 / 3.0);
    expect_loss(&sum, 3, 3, z, y, NULL, NULL, 3.2475295498, g);
    expect_loss(&mean, 3, 3, z, y, NULL, NULL, 3.2475295498 / 3.0, gm);

    /* w = {1, 0.5, 2} * {1, 1, 0} = {1, 0.5, 0}:
     * SUM = 0.4076059644 + 0.5 * 1.0986122887 = 0.9569121088; MEAN = / 1.5. */
    static const float w[] = { 1, 0.5f, 2 }, m[] = { 1, 1, 0 };
    double gw[9];
    scale(gw, g, 9, 1.0);
    scale(gw + 3, g + 3, 3, 0.5);
    scale(gw + 6, g + 6, 3, 0.0);
    expect_loss(&sum, 3, 3, z, y, w, m, 0.9569121088, gw);
    scale(gw, gw, 9, 1.0 / 1.5);
    expect_loss(&mean, 3, 3, z, y, w, m, 0.9569121088 / 1.5, gw);
}
END_TEST

START_TEST(ref_ziln)
{
    /* pred = [z, mu, s], sigma = softplus(s); s = log(e^k - 1) gives sigma = k.
     * row 0: [2, 5, 0], y = 0: only the BCE term, l = softplus(2) = 2.1269280110,
     *        g = {sigmoid(2), 0, 0} = {0.8807970780, 0, 0} (mu, s unused).
     * row 1: [0, 1, log(e^2-1) = 1.8545865421], y = 1, sigma = 2, r = log 1 - 1 = -1:
     *        l = log 2 + log 1 + log 2 + log(2 pi)/2 + 1/(2*4)
     *          = 0.6931471806 + 0.6931471806 + 0.9189385332 + 0.125 = 2.4302328943
     *        dz = 0.5 - 1 = -0.5; dmu = -r/sigma^2 = 0.25;
     *        ds = (1/sigma - r^2/sigma^3) * sigmoid(s) = (0.5 - 0.125) * (1 - e^-2)
     *           = 0.375 * 0.8646647168 = 0.3242492688
     * row 2: [1, 0.5, log(e-1) = 0.5413248546], y = e, sigma = 1, r = 1 - 0.5 = 0.5:
     *        l = softplus(-1) + log e + log 1 + log(2 pi)/2 + 0.25/2
     *          = 0.3132616875 + 1 + 0 + 0.9189385332 + 0.125 = 2.3572002207
     *        dz = sigmoid(1) - 1 = -0.2689414214; dmu = -0.5;
     *        ds = (1 - 0.25) * sigmoid(s) = 0.75 * (1 - e^-1) = 0.4740904191
     * Unweighted SUM 2.1269280110 + 2.4302328943 + 2.3572002207 = 6.9143611261,
     * MEAN / 3 (rows, not rows * 3). */
    static const float pred[] = { 2, 5, 0, 0, 1, 1.8545865421f, 1, 0.5f, 0.5413248546f };
    static const float y[] = { 0, 1, 2.7182818f };
    static const double g[] = { 0.8807970780, 0, 0, -0.5, 0.25, 0.3242492688,
                                -0.2689414214, -0.5, 0.4740904191 };
    clv_loss_options sum = make_opts(CLV_LOSS_ZILN, CLV_REDUCE_SUM);
    clv_loss_options mean = make_opts(CLV_LOSS_ZILN, CLV_REDUCE_MEAN);
    double gm[9];
    scale(gm, g, 9, 1.0 / 3.0);
    expect_loss(&sum, 3, 3, pred, y, NULL, NULL, 6.9143611261, g);
    expect_loss(&mean, 3, 3, pred, y, NULL, NULL, 6.9143611261 / 3.0, gm);

    /* w = {0.5, 1, 3} * {1, 1, 0} = {0.5, 1, 0}:
     * SUM = 0.5 * 2.1269280110 + 2.4302328943 = 3.4936968998; MEAN = / 1.5. */
    static const float w[] = { 0.5f, 1, 3 }, m[] = { 1, 1, 0 };
    double gw[9];
    scale(gw, g, 3, 0.5);
    scale(gw + 3, g + 3, 3, 1.0);
    scale(gw + 6, g + 6, 3, 0.0);
    expect_loss(&sum, 3, 3, pred, y, w, m, 3.4936968998, gw);
    scale(gw, gw, 9, 1.0 / 1.5);
    expect_loss(&mean, 3, 3, pred, y, w, m, 3.4936968998 / 1.5, gw);
}
END_TEST

/* ---- 2. finite-difference gradient checks -------------------------------- */

/* Central differences with h = 1e-3 on float predictions. The divisor is the
 * step actually taken ((p+h) - (p-h) after rounding to float), so float
 * rounding of the perturbed point adds no error. Remaining error sources:
 *  - truncation h^2 |f'''| / 6: with the data ranges below (logits within
 *    +-4, sigma >= 0.3, |log y - mu| <= 4) this is below ~1e-5 relative;
 *    MSE and the quadratic part of Huber have f''' = 0, MAE is piecewise linear;
 *  - cancellation in v+ - v-: the value is double, ~1e-16 |f| / h ~ 1e-13;
 *  - the analytic gradient is stored as float: relative 6e-8.
 * rel err = |fd - an| / max(|fd|, |an|, 1e-4) < 1e-4 therefore has a margin of
 * ~10x, while any real gradient bug (wrong factor, sign, divisor, weight) is
 * O(1) relative. Points within 0.05 of a kink are moved away from it. */
#define FD_H 1e-3f
#define FD_FLOOR 1e-4
#define FD_BOUND 1e-4
#define FD_MAX 256

typedef struct fd_case {
    clv_loss_options o;
    uint32_t rows, dim, target_dim;
    float pred[FD_MAX], target[FD_MAX], weight[FD_MAX], mask[FD_MAX];
} fd_case;

static double eval_value(const fd_case *c)
{
    double v = SENTINEL;
    ck_assert_int_eq(clv_loss_eval(&c->o, c->rows, c->dim, c->pred, c->target, c->weight,
                                   c->mask, &v, NULL), CLV_OK);
    return v;
}

/* Returns the worst relative error over every prediction entry; masked or
 * zero-weight rows must have an exactly zero gradient both ways. */
static double fd_check(fd_case *c)
{
    float grad[FD_MAX];
    double v;
    ck_assert_int_eq(clv_loss_eval(&c->o, c->rows, c->dim, c->pred, c->target, c->weight,
                                   c->mask, &v, grad), CLV_OK);
    ck_assert_msg(fabs(v - eval_value(c)) == 0.0, "value differs with grad == NULL");
    double worst = 0.0;
    for (uint32_t i = 0; i < c->rows * c->dim; i++) {
        float p = c->pred[i], hi = p + FD_H, lo = p - FD_H;
        c->pred[i] = hi;
        double vh = eval_value(c);
        c->pred[i] = lo;
        double vl = eval_value(c);
        c->pred[i] = p;
        double fd = (vh - vl) / ((double)hi - (double)lo);
        uint32_t r = i / c->dim;
        if (c->weight[r] * c->mask[r] == 0.0f) {
            ck_assert_msg(grad[i] == 0.0f && fd == 0.0, "row %u has w = 0 but grad %g, fd %g",
                          r, (double)grad[i], fd);
            continue;
        }
        double e = clv_test_relerr(fd, grad[i], FD_FLOOR);
        ck_assert_msg(e < FD_BOUND, "kind %d red %d dim %u entry %u: fd %.9g analytic %.9g (rel %.3g)",
                      c->o.kind, c->o.reduction, c->dim, i, fd, (double)grad[i], e);
        if (e > worst) worst = e;
    }
    return worst;
}

/* B = 4 sequences of T = 5 steps with lengths {5, 3, 1, 4}: the per-step mask
 * mask[b*T + t] = (t < lengths[b]), as documented in docs/losses.md. Weights
 * are random in [0.2, 2]. */
static void fd_setup(fd_case *c, int32_t kind, int32_t red, uint32_t dim, uint32_t seed)
{
    static const uint32_t lengths[] = { 5, 3, 1, 4 };
    const uint32_t B = 4, T = 5;
    memset(c, 0, sizeof *c);
    c->o = make_opts(kind, red);
    c->rows = B * T;
    c->dim = dim;
    c->target_dim = (kind == CLV_LOSS_CE_LOGITS || kind == CLV_LOSS_ZILN) ? 1 : dim;
    ck_assert_uint_le(c->rows * dim, FD_MAX);
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t t = 0; t < T; t++) c->mask[b * T + t] = t < lengths[b] ? 1.0f : 0.0f;
    clv_test_fill(c->weight, c->rows, seed + 1, 0.2f, 2.0f);
    clv_test_fill(c->pred, c->rows * dim, seed + 2, -2.0f, 2.0f);
    clv_test_fill(c->target, c->rows * c->target_dim, seed + 3, -2.0f, 2.0f);
}

/* Move every |d| at least 0.05 away from each kink in `kinks`. */
static void avoid_kinks(fd_case *c, const double *kinks, size_t nk)
{
    for (uint32_t i = 0; i < c->rows * c->dim; i++)
        for (int moved = 1; moved;) {
            moved = 0;
            for (size_t k = 0; k < nk; k++)
                if (fabs(fabs((double)c->pred[i] - c->target[i]) - kinks[k]) < 0.05) {
                    c->pred[i] += 0.13f;
                    moved = 1;
                }
        }
}

static const int32_t reductions[] = { CLV_REDUCE_MEAN, CLV_REDUCE_SUM };

static void report(const char *name, double worst)
{
    printf("loss gradcheck %-10s worst relative error %.3e (bound %.0e)\n", name, worst, FD_BOUND);
    fflush(stdout);
}

static void fd_elementwise(int32_t kind, const char *name, float delta)
{
    static const uint32_t dims[] = { 1, 4 };
    double worst = 0.0, kinks[] = { 0.0, delta };
    for (size_t r = 0; r < NELEM(reductions); r++)
        for (size_t d = 0; d < NELEM(dims); d++) {
            fd_case c;
            fd_setup(&c, kind, reductions[r], dims[d], 100u * (uint32_t)kind + (uint32_t)d);
            c.o.huber_delta = delta;
            if (kind == CLV_LOSS_MAE) avoid_kinks(&c, kinks, 1);
            if (kind == CLV_LOSS_HUBER) avoid_kinks(&c, kinks + 1, 1);
            worst = fmax(worst, fd_check(&c));
        }
    report(name, worst);
}

START_TEST(fd_mse) { fd_elementwise(CLV_LOSS_MSE, "MSE", 1.0f); }
END_TEST

START_TEST(fd_mae) { fd_elementwise(CLV_LOSS_MAE, "MAE", 1.0f); }
END_TEST

/* delta 0.7 puts a good share of |d| (up to 4) on each side of the threshold. */
START_TEST(fd_huber) { fd_elementwise(CLV_LOSS_HUBER, "HUBER", 0.7f); }
END_TEST

START_TEST(fd_bce)
{
    static const uint32_t dims[] = { 1, 4 };
    double worst = 0.0;
    for (size_t r = 0; r < NELEM(reductions); r++)
        for (size_t d = 0; d < NELEM(dims); d++) {
            fd_case c;
            fd_setup(&c, CLV_LOSS_BCE_LOGITS, reductions[r], dims[d], 400u + (uint32_t)d);
            uint32_t n = c.rows * c.dim;
            clv_test_fill(c.pred, n, 401u + (uint32_t)d, -4.0f, 4.0f);
            clv_test_fill(c.target, n, 402u + (uint32_t)d, 0.0f, 1.0f);
            c.target[0] = 0.0f; /* hard labels too */
            c.target[n - 1] = 1.0f;
            worst = fmax(worst, fd_check(&c));
        }
    report("BCE_LOGITS", worst);
}
END_TEST

START_TEST(fd_ce)
{
    double worst = 0.0;
    for (size_t r = 0; r < NELEM(reductions); r++) {
        fd_case c;
        fd_setup(&c, CLV_LOSS_CE_LOGITS, reductions[r], 5, 500u);
        clv_test_fill(c.pred, c.rows * 5, 501u, -3.0f, 3.0f);
        clv_test_fill(c.target, c.rows, 502u, 0.0f, 5.0f);
        for (uint32_t i = 0; i < c.rows; i++) c.target[i] = floorf(c.target[i]);
        worst = fmax(worst, fd_check(&c));
    }
    report("CE_LOGITS", worst);
}
END_TEST

START_TEST(fd_ziln)
{
    double worst = 0.0;
    for (size_t r = 0; r < NELEM(reductions); r++) {
        fd_case c;
        fd_setup(&c, CLV_LOSS_ZILN, reductions[r], 3, 600u);
        float u[FD_MAX];
        clv_test_fill(u, c.rows * 3, 601u, 0.0f, 1.0f);
        for (uint32_t i = 0; i < c.rows; i++) {
            c.pred[3 * i + 0] = -3.0f + 6.0f * u[3 * i];     /* z in [-3, 3] */
            c.pred[3 * i + 1] = -1.0f + 3.0f * u[3 * i + 1]; /* mu in [-1, 2] */
            /* s in [-1, 2]: softplus(s) in [0.31, 2.13], far above the 1e-3 floor */
            c.pred[3 * i + 2] = -1.0f + 3.0f * u[3 * i + 2];
            /* every third row a non-buyer, the others spend in [0.1, 10] */
            c.target[i] = i % 3 == 0 ? 0.0f : expf(-2.3f + 4.6f * u[(3 * i + 5) % (c.rows * 3)]);
        }
        /* Floor active (softplus(-20) ~ 2e-9): gradient and difference both 0 in s. */
        c.pred[3 * 1 + 2] = -20.0f;
        c.pred[3 * 1 + 1] = 0.2f; /* keep (log y - mu)^2 / sigma^2 moderate there */
        c.target[1] = 1.2f;
        worst = fmax(worst, fd_check(&c));
    }
    report("ZILN", worst);
}
END_TEST

/* ---- 3. stability --------------------------------------------------------- */

static void expect_finite_grad(const float *g, size_t n)
{
    for (size_t i = 0; i < n; i++) ck_assert_msg(isfinite(g[i]), "grad[%zu] = %g", i, (double)g[i]);
}

START_TEST(stable_bce)
{
    /* |z| = 1e4: l = max(z, 0) - y z exactly to double precision:
     *   z  1e4, y 0: 1e4    z -1e4, y 1: 1e4    z 1e4, y 1: 0
     *   z -1e4, y 0: 0      z  1e4, y 0.5: 5e3
     * SUM = 2.5e4; grad = sigmoid(z) - y = {1, -1, 0, 0, 0.5}. */
    static const float z[] = { 1e4f, -1e4f, 1e4f, -1e4f, 1e4f };
    static const float y[] = { 0, 1, 1, 0, 0.5f };
    static const double g[] = { 1, -1, 0, 0, 0.5 };
    clv_loss_options o = make_opts(CLV_LOSS_BCE_LOGITS, CLV_REDUCE_SUM);
    float grad[5];
    double v;
    ck_assert_int_eq(clv_loss_eval(&o, 5, 1, z, y, NULL, NULL, &v, grad), CLV_OK);
    ck_assert(isfinite(v));
    expect_finite_grad(grad, 5);
    expect_loss(&o, 5, 1, z, y, NULL, NULL, 2.5e4, g);
}
END_TEST

START_TEST(stable_ce)
{
    /* {1e4, -1e4, 0}: logsumexp = 1e4 (other terms below 1e-4000).
     * y 1: l = 2e4, g = {1, -1, 0}; y 0: l = 0, g = {0, 0, 0}.
     * {0, -1e4, 1e4} puts the max last: y 2 gives l = 0, y 0 gives l = 1e4. */
    static const float z[] = { 1e4f, -1e4f, 0, 1e4f, -1e4f, 0, 0, -1e4f, 1e4f, 0, -1e4f, 1e4f };
    static const float y[] = { 1, 0, 2, 0 };
    static const double g[] = { 1, -1, 0, 0, 0, 0, 0, 0, 0, -1, 0, 1 };
    clv_loss_options o = make_opts(CLV_LOSS_CE_LOGITS, CLV_REDUCE_SUM);
    float grad[12];
    double v;
    ck_assert_int_eq(clv_loss_eval(&o, 4, 3, z, y, NULL, NULL, &v, grad), CLV_OK);
    ck_assert(isfinite(v));
    expect_finite_grad(grad, 12);
    expect_loss(&o, 4, 3, z, y, NULL, NULL, 3e4, g);
}
END_TEST

START_TEST(stable_ziln)
{
    /* s = -50: softplus = 2e-22, so sigma = 1e-3 (floor), r = log 1 - 0.5 = -0.5:
     * l = log 2 + log 1e-3 + 0.9189385332 + 0.25 / 2e-6 = 124994.7043304348
     * dmu = -r / sigma^2 = 5e5, ds = 0 (floor active), dz = -0.5.
     * Row 1 adds extreme logits: z = 1e4 with y = 0 gives l = 1e4 and dz = 1;
     * z = -1e4 with y > 0 gives BCE 1e4 and dz = -1. */
    static const float pred[] = { 0, 0.5f, -50, 1e4f, 0, 0, -1e4f, 0, 0.5413248546f };
    static const float y[] = { 1, 0, 1 };
    clv_loss_options o = make_opts(CLV_LOSS_ZILN, CLV_REDUCE_SUM);
    float grad[9];
    double v;
    ck_assert_int_eq(clv_loss_eval(&o, 1, 3, pred, y, NULL, NULL, &v, grad), CLV_OK);
    ck_assert(isfinite(v));
    expect_finite_grad(grad, 3);
    assert_close(v, 124994.7043304348, "value", 0);
    assert_close(grad[0], -0.5, "grad", 0);
    assert_close(grad[1], 5e5, "grad", 1);
    ck_assert(grad[2] == 0.0f);

    ck_assert_int_eq(clv_loss_eval(&o, 3, 3, pred, y, NULL, NULL, &v, grad), CLV_OK);
    expect_finite_grad(grad, 9);
    assert_close(grad[3], 1.0, "grad", 3);
    assert_close(grad[6], -1.0, "grad", 6);
    /* 124994.7043304348 + 1e4 + (1e4 + 0.9189385332 + sigma = 1: log 1 = 0) */
    assert_close(v, 124994.7043304348 + 1e4 + 1e4 + 0.9189385332, "value", 0);
}
END_TEST

/* ---- 4. ZILN mean --------------------------------------------------------- */

START_TEST(ziln_mean_reference)
{
    /* mean = sigmoid(z) * exp(mu + sigma^2/2):
     *   [0, 0, log(e-1)]:   0.5 * e^0.5 = 0.8243606354
     *   [2, 1, log(e^2-1)]: 0.8807970780 * e^(1 + 2) = 0.8807970780 * 20.0855369232 = 17.6912822316
     *   [0, 0, -50]:        sigma floored to 1e-3: 0.5 * e^(5e-7) = 0.5000002500
     *   [-1e4, 800, 0]:     p underflows to 0 and e^800 overflows double; the
     *                       product is e^(800 - 1e4 + ...) = 0, not 0 * Inf = NaN */
    static const float pred[] = { 0, 0, 0.5413248546f, 2, 1, 1.8545865421f, 0, 0, -50,
                                  -1e4f, 800, 0 };
    static const double want_mean[] = { 0.8243606354, 17.6912822316, 0.5000002500, 0 };
    static const double want_p[] = { 0.5, 0.8807970780, 0.5, 0 };
    float mean[4], p[4];
    ck_assert_int_eq(clv_ziln_mean(4, pred, mean, p), CLV_OK);
    for (size_t i = 0; i < 4; i++) {
        assert_close(mean[i], want_mean[i], "mean", i);
        assert_close(p[i], want_p[i], "p", i);
    }
    /* The floor's effect on the mean is tiny (sigma^2/2 <= 5e-7) but visible in
     * float: without it the mean would be exactly 0.5f, 4 ulps lower. */
    ck_assert(mean[2] > 0.5f);
    /* Either output alone. */
    float only[4] = { -1, -1, -1, -1 };
    ck_assert_int_eq(clv_ziln_mean(4, pred, only, NULL), CLV_OK);
    assert_close(only[1], want_mean[1], "mean", 1);
    ck_assert_int_eq(clv_ziln_mean(4, pred, NULL, only), CLV_OK);
    assert_close(only[1], want_p[1], "p", 1);
}
END_TEST

/* The lognormal mean identity E[Y] = p * exp(mu + sigma^2/2), with p from the
 * library and sigma recomputed here from its definition. */
START_TEST(ziln_mean_identity)
{
    enum { N = 40 };
    float pred[3 * N], mean[N], p[N];
    clv_test_fill(pred, 3 * N, 77u, -3.0f, 3.0f);
    pred[2] = -30.0f; /* one floored sigma */
    ck_assert_int_eq(clv_ziln_mean(N, pred, mean, p), CLV_OK);
    for (size_t i = 0; i < N; i++) {
        double z = pred[3 * i], mu = pred[3 * i + 1], s = pred[3 * i + 2];
        double sigma = fmax(log1p(exp(s)), 1e-3);
        assert_close(p[i], 1.0 / (1.0 + exp(-z)), "p", i);
        assert_close(mean[i], p[i] * exp(mu + 0.5 * sigma * sigma), "mean", i);
    }
}
END_TEST

/* ---- 5. errors ------------------------------------------------------------ */

static void expect_error(int rc, int status, const char *fn, const char *needle)
{
    const char *msg = clv_last_error();
    ck_assert_msg(rc == status, "rc %d, want %d (%s)", rc, status, msg);
    ck_assert_int_eq(clv_last_error_code(), status);
    ck_assert_msg(strncmp(msg, fn, strlen(fn)) == 0, "message '%s' does not start with %s", msg, fn);
    ck_assert_msg(strstr(msg, needle) != NULL, "message '%s' lacks '%s'", msg, needle);
}

/* Clear first so that a stale message cannot satisfy the check. */
#define EXPECT_ERR(status, needle, call)                             \
    do {                                                             \
        clv_clear_error();                                           \
        expect_error((call), (status), "clv_loss_eval: ", (needle)); \
    } while (0)

/* 16 rows, width 1, valid for MSE/MAE/Huber/BCE; callers spoil one entry. */
typedef struct bad_case {
    float pred[48], target[16], weight[16], mask[16], grad[48];
    double value;
} bad_case;

static void bad_setup(bad_case *b)
{
    clv_test_fill(b->pred, 48, 5u, -1.0f, 1.0f);
    clv_test_fill(b->target, 16, 6u, 0.0f, 1.0f);
    for (int i = 0; i < 16; i++) b->weight[i] = b->mask[i] = 1.0f;
    for (int i = 0; i < 48; i++) b->grad[i] = 7.0f;
    b->value = SENTINEL;
}

static int eval_bad(bad_case *b, const clv_loss_options *o, uint32_t rows, uint32_t dim)
{
    return clv_loss_eval(o, rows, dim, b->pred, b->target, b->weight, b->mask, &b->value, b->grad);
}

/* Nothing is written on a validation failure. */
static void expect_untouched(const bad_case *b)
{
    ck_assert(b->value == SENTINEL);
    for (int i = 0; i < 48; i++) ck_assert(b->grad[i] == 7.0f);
}

START_TEST(err_null_and_sizes)
{
    bad_case b;
    bad_setup(&b);
    EXPECT_ERR(CLV_EINVAL, "pred", clv_loss_eval(NULL, 4, 1, NULL, b.target, NULL, NULL, &b.value, NULL));
    EXPECT_ERR(CLV_EINVAL, "target", clv_loss_eval(NULL, 4, 1, b.pred, NULL, NULL, NULL, &b.value, NULL));
    EXPECT_ERR(CLV_EINVAL, "out_value", clv_loss_eval(NULL, 4, 1, b.pred, b.target, NULL, NULL, NULL, NULL));
    EXPECT_ERR(CLV_EINVAL, "rows", clv_loss_eval(NULL, 0, 1, b.pred, b.target, NULL, NULL, &b.value, NULL));
    EXPECT_ERR(CLV_EINVAL, "pred_dim", clv_loss_eval(NULL, 4, 0, b.pred, b.target, NULL, NULL, &b.value, NULL));
    expect_untouched(&b);
}
END_TEST

START_TEST(err_nonfinite)
{
    bad_case b;
    clv_loss_options o = make_opts(CLV_LOSS_MSE, CLV_REDUCE_SUM);
    bad_setup(&b);
    b.pred[12] = NAN;
    EXPECT_ERR(CLV_EINVAL, "pred[12][0] is NaN", eval_bad(&b, &o, 16, 1));
    bad_setup(&b);
    b.pred[13] = -INFINITY; /* width 4: flat index 13 is row 3, column 1 */
    EXPECT_ERR(CLV_EINVAL, "pred[3][1] is -Inf", eval_bad(&b, &o, 4, 4));
    bad_setup(&b);
    b.target[9] = INFINITY;
    EXPECT_ERR(CLV_EINVAL, "target[9][0] is +Inf", eval_bad(&b, &o, 16, 1));
    bad_setup(&b);
    b.weight[3] = NAN;
    EXPECT_ERR(CLV_EINVAL, "weight[3] is NaN", eval_bad(&b, &o, 16, 1));
    bad_setup(&b);
    b.mask[15] = INFINITY;
    EXPECT_ERR(CLV_EINVAL, "mask[15] is +Inf", eval_bad(&b, &o, 16, 1));
    expect_untouched(&b);
}
END_TEST

START_TEST(err_domain)
{
    bad_case b;
    clv_loss_options o = make_opts(CLV_LOSS_MSE, CLV_REDUCE_MEAN);
    bad_setup(&b);
    b.weight[5] = -0.5f;
    EXPECT_ERR(CLV_EINVAL, "weight[5]", eval_bad(&b, &o, 16, 1));
    bad_setup(&b);
    b.mask[7] = -1.0f;
    EXPECT_ERR(CLV_EINVAL, "mask[7]", eval_bad(&b, &o, 16, 1));

    o.kind = CLV_LOSS_BCE_LOGITS;
    bad_setup(&b);
    b.target[4] = 1.5f;
    EXPECT_ERR(CLV_EINVAL, "target[4][0]", eval_bad(&b, &o, 16, 1));
    bad_setup(&b);
    b.target[6] = -0.1f; /* width 2: row 3, column 0 */
    EXPECT_ERR(CLV_EINVAL, "target[3][0]", eval_bad(&b, &o, 8, 2));

    o.kind = CLV_LOSS_CE_LOGITS; /* 16 rows of 3 classes */
    static const float bad_class[] = { 3.0f, -1.0f, 1.5f };
    for (size_t k = 0; k < NELEM(bad_class); k++) {
        bad_setup(&b);
        for (int i = 0; i < 16; i++) b.target[i] = (float)(i % 3);
        b.target[11] = bad_class[k];
        EXPECT_ERR(CLV_EINVAL, "target[11][0]", eval_bad(&b, &o, 16, 3));
    }

    o.kind = CLV_LOSS_ZILN;
    bad_setup(&b);
    b.target[2] = -1.0f;
    EXPECT_ERR(CLV_EINVAL, "target[2][0]", eval_bad(&b, &o, 16, 3));
    expect_untouched(&b);
}
END_TEST

START_TEST(err_options)
{
    bad_case b;
    clv_loss_options o;
    bad_setup(&b);

    o = make_opts(CLV_LOSS_MSE, CLV_REDUCE_MEAN);
    o.struct_size = 0;
    EXPECT_ERR(CLV_EINVAL, "struct_size", eval_bad(&b, &o, 16, 1));
    o.struct_size = 4; /* ends before `kind` */
    EXPECT_ERR(CLV_EINVAL, "struct_size", eval_bad(&b, &o, 16, 1));

    static const int32_t bad_kinds[] = { 0, 7, -1 };
    for (size_t k = 0; k < NELEM(bad_kinds); k++) {
        o = make_opts(bad_kinds[k], CLV_REDUCE_MEAN);
        EXPECT_ERR(CLV_EINVAL, "kind", eval_bad(&b, &o, 16, 1));
    }
    static const int32_t bad_reductions[] = { 0, 3 };
    for (size_t k = 0; k < NELEM(bad_reductions); k++) {
        o = make_opts(CLV_LOSS_MSE, bad_reductions[k]);
        EXPECT_ERR(CLV_EINVAL, "reduction", eval_bad(&b, &o, 16, 1));
    }
    static const float bad_deltas[] = { 0.0f, -1.0f, NAN, INFINITY };
    for (size_t k = 0; k < NELEM(bad_deltas); k++) {
        o = make_opts(CLV_LOSS_HUBER, CLV_REDUCE_MEAN);
        o.huber_delta = bad_deltas[k];
        EXPECT_ERR(CLV_EINVAL, "huber_delta", eval_bad(&b, &o, 16, 1));
    }
    o = make_opts(CLV_LOSS_ZILN, CLV_REDUCE_MEAN);
    EXPECT_ERR(CLV_EINVAL, "pred_dim 3", eval_bad(&b, &o, 16, 2));
    o = make_opts(CLV_LOSS_CE_LOGITS, CLV_REDUCE_MEAN);
    EXPECT_ERR(CLV_EINVAL, "pred_dim >= 2", eval_bad(&b, &o, 16, 1));
    expect_untouched(&b);
}
END_TEST

START_TEST(err_numeric)
{
    /* d = 6e38 fits in double (l = 3.6e77) but the gradient 2d overflows float. */
    static const float pred[] = { 0, 3e38f }, target[] = { 0, -3e38f };
    clv_loss_options o = make_opts(CLV_LOSS_MSE, CLV_REDUCE_SUM);
    float grad[2] = { 7, 7 };
    double v = SENTINEL;
    clv_clear_error();
    expect_error(clv_loss_eval(&o, 2, 1, pred, target, NULL, NULL, &v, grad), CLV_ENUMERIC,
                 "clv_loss_eval: ", "row 1");
    ck_assert(v == SENTINEL);
    ck_assert(grad[0] == 0.0f && grad[1] == 0.0f); /* zeroed, never Inf */
    ck_assert_int_eq(clv_loss_eval(&o, 2, 1, pred, target, NULL, NULL, &v, NULL), CLV_OK);
    assert_close(v, 3.6e77, "value", 0);
}
END_TEST

START_TEST(grad_null_and_zero_weight)
{
    static const float pred[] = { 1, 2, 3, 4 }, target[] = { 0, 0, 0, 0 };
    static const float zeros[] = { 0, 0, 0, 0 }, ones[] = { 1, 1, 1, 1 };
    static const int32_t kinds[] = { CLV_LOSS_MSE, CLV_LOSS_CE_LOGITS };
    for (size_t k = 0; k < NELEM(kinds); k++)
        for (size_t r = 0; r < NELEM(reductions); r++) {
            clv_loss_options o = make_opts(kinds[k], reductions[r]);
            float grad[4] = { 7, 7, 7, 7 };
            double a = SENTINEL, b = SENTINEL;
            /* 2 rows x 2 (CE: class 0 of 2). */
            ck_assert_int_eq(clv_loss_eval(&o, 2, 2, pred, target, ones, NULL, &a, NULL), CLV_OK);
            ck_assert_int_eq(clv_loss_eval(&o, 2, 2, pred, target, ones, NULL, &b, grad), CLV_OK);
            ck_assert(a == b && a > 0.0);
            /* Zero total weight, by weights or by mask: value 0 and gradient 0. */
            ck_assert_int_eq(clv_loss_eval(&o, 2, 2, pred, target, zeros, NULL, &a, grad), CLV_OK);
            ck_assert(a == 0.0);
            for (int i = 0; i < 4; i++) ck_assert(grad[i] == 0.0f);
            for (int i = 0; i < 4; i++) grad[i] = 7;
            ck_assert_int_eq(clv_loss_eval(&o, 2, 2, pred, target, ones, zeros, &a, grad), CLV_OK);
            ck_assert(a == 0.0);
            for (int i = 0; i < 4; i++) ck_assert(grad[i] == 0.0f);
        }
}
END_TEST

START_TEST(err_ziln_mean)
{
    float pred[9] = { 0, 0, 0, 1, 1, 1, 2, 2, 2 }, mean[3] = { 7, 7, 7 }, p[3] = { 7, 7, 7 };
    clv_clear_error();
    expect_error(clv_ziln_mean(3, NULL, mean, p), CLV_EINVAL, "clv_ziln_mean: ", "pred");
    clv_clear_error();
    expect_error(clv_ziln_mean(3, pred, NULL, NULL), CLV_EINVAL, "clv_ziln_mean: ", "NULL");
    clv_clear_error();
    expect_error(clv_ziln_mean(0, pred, mean, p), CLV_EINVAL, "clv_ziln_mean: ", "rows");
    pred[7] = NAN;
    clv_clear_error();
    expect_error(clv_ziln_mean(3, pred, mean, p), CLV_EINVAL, "clv_ziln_mean: ", "pred[2][1] is NaN");
    pred[7] = 100.0f; /* exp(100) > FLT_MAX */
    clv_clear_error();
    expect_error(clv_ziln_mean(3, pred, mean, p), CLV_ENUMERIC, "clv_ziln_mean: ", "row 2");
    for (int i = 0; i < 3; i++) ck_assert(mean[i] == 7.0f && p[i] == 7.0f);
}
END_TEST

/* ---- options and target_dim ------------------------------------------------ */

START_TEST(options_defaults)
{
    clv_loss_options o;
    memset(&o, 0xab, sizeof o);
    clv_loss_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_int_eq(o.kind, CLV_LOSS_MSE);
    ck_assert_int_eq(o.reduction, CLV_REDUCE_MEAN);
    ck_assert(o.huber_delta == 1.0f);
    clv_loss_options_init(NULL); /* ignored, must not crash */
}
END_TEST

START_TEST(options_struct_size)
{
    /* An older caller's struct that ends after `kind`: reduction and delta
     * are not read (garbage here) and take their defaults. MAE of d = {1, -2}
     * with the default MEAN = 3 / 2. */
    static const float pred[] = { 1, 0 }, target[] = { 0, 2 };
    clv_loss_options o;
    double v = SENTINEL;
    memset(&o, 0, sizeof o);
    o.kind = CLV_LOSS_MAE;
    o.reduction = 99;
    o.huber_delta = NAN;
    o.struct_size = (uint32_t)(offsetof(clv_loss_options, kind) + sizeof o.kind);
    ck_assert_int_eq(clv_loss_eval(&o, 2, 1, pred, target, NULL, NULL, &v, NULL), CLV_OK);
    assert_close(v, 1.5, "value", 0);

    /* Up to `reduction`: Huber with SUM and the default delta 1, not -5:
     * 0.5 + (2 - 0.5) = 2. */
    o.kind = CLV_LOSS_HUBER;
    o.reduction = CLV_REDUCE_SUM;
    o.huber_delta = -5.0f;
    o.struct_size = (uint32_t)(offsetof(clv_loss_options, reduction) + sizeof o.reduction);
    ck_assert_int_eq(clv_loss_eval(&o, 2, 1, pred, target, NULL, NULL, &v, NULL), CLV_OK);
    assert_close(v, 2.0, "value", 0);

    /* A newer caller's longer struct is accepted. */
    struct { clv_loss_options o; char tail[16]; } big;
    memset(&big, 0, sizeof big);
    clv_loss_options_init(&big.o);
    big.o.struct_size = (uint32_t)sizeof big;
    big.o.reduction = CLV_REDUCE_SUM;
    ck_assert_int_eq(clv_loss_eval(&big.o, 2, 1, pred, target, NULL, NULL, &v, NULL), CLV_OK);
    assert_close(v, 5.0, "value", 0);
}
END_TEST

START_TEST(target_dims)
{
    static const struct { int32_t kind; uint32_t pred_dim, want; } ok[] = {
        { CLV_LOSS_MSE, 4, 4 }, { CLV_LOSS_MAE, 1, 1 }, { CLV_LOSS_HUBER, 2, 2 },
        { CLV_LOSS_BCE_LOGITS, 3, 3 }, { CLV_LOSS_CE_LOGITS, 5, 1 }, { CLV_LOSS_CE_LOGITS, 2, 1 },
        { CLV_LOSS_ZILN, 3, 1 },
    };
    for (size_t i = 0; i < NELEM(ok); i++) {
        clv_loss_options o = make_opts(ok[i].kind, CLV_REDUCE_MEAN);
        uint32_t d = 0;
        ck_assert_int_eq(clv_loss_target_dim(&o, ok[i].pred_dim, &d), CLV_OK);
        ck_assert_uint_eq(d, ok[i].want);
    }
    uint32_t d = 0;
    ck_assert_int_eq(clv_loss_target_dim(NULL, 6, &d), CLV_OK);
    ck_assert_uint_eq(d, 6);

    static const struct { int32_t kind; uint32_t pred_dim; const char *needle; } bad[] = {
        { CLV_LOSS_ZILN, 2, "ZILN" }, { CLV_LOSS_ZILN, 4, "ZILN" }, { CLV_LOSS_CE_LOGITS, 1, "CE" },
        { CLV_LOSS_MSE, 0, "pred_dim" }, { 0, 3, "kind" }, { 7, 3, "kind" },
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        clv_loss_options o = make_opts(bad[i].kind, CLV_REDUCE_MEAN);
        clv_clear_error();
        expect_error(clv_loss_target_dim(&o, bad[i].pred_dim, &d), CLV_EINVAL,
                     "clv_loss_target_dim: ", bad[i].needle);
    }
    clv_clear_error();
    expect_error(clv_loss_target_dim(NULL, 3, NULL), CLV_EINVAL, "clv_loss_target_dim: ", "out");
    clv_loss_options o = make_opts(CLV_LOSS_MSE, CLV_REDUCE_MEAN);
    o.struct_size = 0;
    clv_clear_error();
    expect_error(clv_loss_target_dim(&o, 3, &d), CLV_EINVAL, "clv_loss_target_dim: ", "struct_size");
}
END_TEST

static Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc;

    tc = tcase_create("reference values");
    tcase_add_test(tc, ref_mse);
    tcase_add_test(tc, ref_mae);
    tcase_add_test(tc, ref_huber);
    tcase_add_test(tc, ref_bce);
    tcase_add_test(tc, ref_ce);
    tcase_add_test(tc, ref_ziln);
    suite_add_tcase(s, tc);

    tc = tcase_create("finite-difference gradients");
    tcase_add_test(tc, fd_mse);
    tcase_add_test(tc, fd_mae);
    tcase_add_test(tc, fd_huber);
    tcase_add_test(tc, fd_bce);
    tcase_add_test(tc, fd_ce);
    tcase_add_test(tc, fd_ziln);
    suite_add_tcase(s, tc);

    tc = tcase_create("stability");
    tcase_add_test(tc, stable_bce);
    tcase_add_test(tc, stable_ce);
    tcase_add_test(tc, stable_ziln);
    suite_add_tcase(s, tc);

    tc = tcase_create("ziln mean");
    tcase_add_test(tc, ziln_mean_reference);
    tcase_add_test(tc, ziln_mean_identity);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, err_null_and_sizes);
    tcase_add_test(tc, err_nonfinite);
    tcase_add_test(tc, err_domain);
    tcase_add_test(tc, err_options);
    tcase_add_test(tc, err_numeric);
    tcase_add_test(tc, err_ziln_mean);
    suite_add_tcase(s, tc);

    tc = tcase_create("weights and optional grad");
    tcase_add_test(tc, grad_null_and_zero_weight);
    suite_add_tcase(s, tc);

    tc = tcase_create("options");
    tcase_add_test(tc, options_defaults);
    tcase_add_test(tc, options_struct_size);
    tcase_add_test(tc, target_dims);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return clv_test_run(loss_suite());
}
