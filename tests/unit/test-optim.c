/* Optimizer tests through the public API only. Expected values come from
 * arithmetic worked out by hand in the comments, or from the double-precision
 * reference optimizer below (written from the formulas in optim.h, sharing no
 * code with the library). */
#include <clv/clv.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"

/* ------------------------------------------------------------------ */
/* Helpers */

static clv_optim *make(const clv_optim_options *o)
{
    clv_optim *opt = NULL;
    int rc = clv_optim_new(&opt, o);
    ck_assert_msg(rc == CLV_OK, "clv_optim_new: %s", clv_last_error());
    ck_assert_ptr_nonnull(opt);
    return opt;
}

static void step_ok(clv_optim *opt, uint64_t n, float *p, const float *g)
{
    int rc = clv_optim_step_raw(opt, n, p, g);
    ck_assert_msg(rc == CLV_OK, "clv_optim_step_raw: %d %s", rc, clv_last_error());
}

/* |got - want| <= tol * max(1, |want|): absolute near 0, relative elsewhere. */
#define ck_close(got, want, tol)                                                        \
    do {                                                                                \
        double got_ = (got), want_ = (want);                                            \
        ck_assert_msg(fabs(got_ - want_) <= (tol) * fmax(1.0, fabs(want_)),             \
                      "%s = %.9g, expected %.9g (tol %g)", #got, got_, want_, (double)(tol)); \
    } while (0)

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* ------------------------------------------------------------------ */
/* Double-precision reference, straight from the header's formulas. */

#define REF_MAX 64

typedef struct ref_optim {
    clv_optim_options o;
    uint64_t t;
    double a[REF_MAX], b[REF_MAX];
} ref_optim;

static double ref_lr(const clv_optim_options *o, uint64_t t)
{
    double lr = o->lr;
    if (o->schedule == CLV_SCHEDULE_STEP) {
        uint64_t k = (t - 1) / o->step_size;
        for (uint64_t i = 0; i < k; i++) lr *= (double)o->gamma;
    } else if (o->schedule == CLV_SCHEDULE_COSINE) {
        double x = (double)(t - 1);
        if (x > (double)o->total_steps) x = (double)o->total_steps;
        double lo = o->min_lr;
        lr = lo + (lr - lo) * 0.5 * (1.0 + cos(acos(-1.0) * x / (double)o->total_steps));
    }
    return lr;
}

static void ref_step(ref_optim *r, size_t n, double *p, const float *gf)
{
    const clv_optim_options *o = &r->o;
    uint64_t t = ++r->t;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)gf[i] * gf[i];
    double norm = sqrt(ss);
    double k = (o->clip_norm > 0 && norm > o->clip_norm) ? o->clip_norm / norm : 1.0;
    double lr = ref_lr(o, t);
    double b1 = o->beta1, b2 = o->beta2, wd = o->weight_decay, eps = o->eps;
    double mu = o->momentum, damp = o->dampening, rho = o->rho;
    for (size_t i = 0; i < n; i++) {
        double g = gf[i] * k;
        switch (o->kind) {
        case CLV_OPTIM_ADAM:
        case CLV_OPTIM_ADAMW: {
            if (o->kind == CLV_OPTIM_ADAMW) p[i] -= lr * wd * p[i];
            else g += wd * p[i];
            r->a[i] = b1 * r->a[i] + (1 - b1) * g;
            r->b[i] = b2 * r->b[i] + (1 - b2) * g * g;
            double mhat = r->a[i] / (1 - pow(b1, (double)t));
            double vhat = r->b[i] / (1 - pow(b2, (double)t));
            p[i] -= lr * mhat / (sqrt(vhat) + eps);
            break;
        }
        case CLV_OPTIM_SGD:
            g += wd * p[i];
            if (mu > 0) {
                r->a[i] = t == 1 ? g : mu * r->a[i] + (1 - damp) * g;
                g = o->nesterov ? g + mu * r->a[i] : r->a[i];
            }
            p[i] -= lr * g;
            break;
        case CLV_OPTIM_ADAGRAD:
            g += wd * p[i];
            r->a[i] += g * g;
            p[i] -= lr * g / (sqrt(r->a[i]) + eps);
            break;
        case CLV_OPTIM_ADADELTA: {
            g += wd * p[i];
            r->a[i] = rho * r->a[i] + (1 - rho) * g * g;
            double d = sqrt(r->b[i] + eps) / sqrt(r->a[i] + eps) * g;
            r->b[i] = rho * r->b[i] + (1 - rho) * d * d;
            p[i] -= lr * d;
            break;
        }
        default:
            ck_abort_msg("bad kind");
        }
    }
}

/* ------------------------------------------------------------------ */
/* 1. Adam */

START_TEST(adam_two_steps_by_hand)
{
    /* lr 0.5, beta1 0.5, beta2 0.75, eps 1e-8.
     * p[0] = 2, grads 2 then 4:
     *  t=1: m = 0.5*2 = 1, v = 0.25*4 = 1; mhat = 1/(1-0.5) = 2, vhat = 1/(1-0.75) = 4
     *       update = 0.5 * 2/(2 + 1e-8) = 0.4999999975 -> p = 1.5000000025
     *  t=2: m = 0.5*1 + 0.5*4 = 2.5, v = 0.75*1 + 0.25*16 = 4.75
     *       mhat = 2.5/(1-0.25) = 3.3333333, vhat = 4.75/(1-0.5625) = 10.857142857
     *       sqrt(vhat) = 3.295017884; update = 0.5*3.3333333/3.295017884 = 0.505814147
     *       -> p = 0.994185855
     * p[1] = 0, grads -1 then 0 (a zero gradient still moves through m):
     *  t=1: m = -0.5, v = 0.25; mhat = -1, vhat = 1; update = -0.5 -> p = 0.5
     *  t=2: m = -0.25, v = 0.1875; mhat = -1/3, vhat = 0.428571429, sqrt = 0.654653671
     *       update = 0.5 * (-1/3)/0.654653671 = -0.254587535 -> p = 0.754587530 */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.lr = 0.5f;
    o.beta1 = 0.5f;
    o.beta2 = 0.75f;
    clv_optim *opt = make(&o);
    float p[2] = { 2.0f, 0.0f };
    const float g1[2] = { 2.0f, -1.0f }, g2[2] = { 4.0f, 0.0f };
    step_ok(opt, 2, p, g1);
    ck_close(p[0], 1.5000000025, 1e-6);
    ck_close(p[1], 0.4999999950, 1e-6);
    step_ok(opt, 2, p, g2);
    ck_close(p[0], 0.9941858551, 1e-6);
    ck_close(p[1], 0.7545875297, 1e-6);
    ck_assert_uint_eq(clv_optim_step_count(opt), 2);
    clv_optim_free(opt);
}
END_TEST

START_TEST(adam_degenerate_exact)
{
    /* beta1 = beta2 = 0: m = g, v = g^2, no bias correction (1 - 0^t = 1), so
     * every update is lr*g/(|g| + eps) independent of history. With lr 0.5
     * and eps 1 every number is a dyadic fraction, so float is exact:
     *  g = 3 -> 0.5*3/4 = 0.375; g = -1 -> 0.5*(-1)/2 = -0.25; g = 0 -> 0. */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.lr = 0.5f;
    o.beta1 = 0.0f;
    o.beta2 = 0.0f;
    o.eps = 1.0f;
    clv_optim *opt = make(&o);
    float p[3] = { 1.0f, 1.0f, 1.0f };
    const float g[3] = { 3.0f, -1.0f, 0.0f };
    step_ok(opt, 3, p, g);
    ck_assert_float_eq(p[0], 0.625f);
    ck_assert_float_eq(p[1], 1.25f);
    ck_assert_float_eq(p[2], 1.0f);
    step_ok(opt, 3, p, g);
    ck_assert_float_eq(p[0], 0.25f);
    ck_assert_float_eq(p[1], 1.5f);
    ck_assert_float_eq(p[2], 1.0f);
    clv_optim_free(opt);
}
END_TEST

START_TEST(adam_vs_adamw_weight_decay)
{
    /* beta1 = beta2 = 0, eps 1, lr 0.25, weight_decay 0.5, p = 1, g = 0.5.
     * ADAM (coupled):    g' = 0.5 + 0.5*1 = 1; update = 0.25*1/(1+1) = 0.125 -> p = 0.875
     * ADAMW (decoupled): p = 1 - 0.25*0.5*1 = 0.875; update = 0.25*0.5/(0.5+1)
     *                    = 0.0833333 -> p = 0.7916667 */
    float pa = 1.0f, pw = 1.0f;
    const float g = 0.5f;
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.lr = 0.25f;
    o.beta1 = 0.0f;
    o.beta2 = 0.0f;
    o.eps = 1.0f;
    o.weight_decay = 0.5f;
    clv_optim *adam = make(&o);
    o.kind = CLV_OPTIM_ADAMW;
    clv_optim *adamw = make(&o);
    step_ok(adam, 1, &pa, &g);
    step_ok(adamw, 1, &pw, &g);
    ck_assert_float_eq(pa, 0.875f);
    ck_close(pw, 0.7916666667, 1e-6);
    clv_optim_free(adam);
    clv_optim_free(adamw);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. SGD (lr 0.5 and dyadic inputs throughout, so results are exact) */

static void sgd_two_steps(float momentum, float dampening, int nesterov, float wd,
                          float g1, float g2, float want1, float want2)
{
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 0.5f;
    o.momentum = momentum;
    o.dampening = dampening;
    o.nesterov = nesterov;
    o.weight_decay = wd;
    clv_optim *opt = make(&o);
    float p = 1.0f;
    step_ok(opt, 1, &p, &g1);
    ck_assert_msg(p == want1, "mom %g damp %g nest %d wd %g: step 1 p = %.9g, expected %.9g",
                  (double)momentum, (double)dampening, nesterov, (double)wd, (double)p,
                  (double)want1);
    step_ok(opt, 1, &p, &g2);
    ck_assert_msg(p == want2, "mom %g damp %g nest %d wd %g: step 2 p = %.9g, expected %.9g",
                  (double)momentum, (double)dampening, nesterov, (double)wd, (double)p,
                  (double)want2);
    clv_optim_free(opt);
}

START_TEST(sgd_plain)
{
    /* p = 1, g = 0.5 twice: 1 - 0.25 = 0.75, 0.75 - 0.25 = 0.5 */
    sgd_two_steps(0.0f, 0.0f, 0, 0.0f, 0.5f, 0.5f, 0.75f, 0.5f);
}
END_TEST

START_TEST(sgd_momentum)
{
    /* momentum 0.5, g 2 then 1: t=1 buf = g = 2 (no decay yet), p = 1 - 1 = 0;
     * t=2 buf = 0.5*2 + 1 = 2, p = 0 - 1 = -1 */
    sgd_two_steps(0.5f, 0.0f, 0, 0.0f, 2.0f, 1.0f, 0.0f, -1.0f);
}
END_TEST

START_TEST(sgd_dampening)
{
    /* momentum 0.5, dampening 0.5, g 2 then 1: t=1 buf = 2 (dampening is not
     * applied to the first gradient), p = 0; t=2 buf = 0.5*2 + 0.5*1 = 1.5,
     * p = -0.75 */
    sgd_two_steps(0.5f, 0.5f, 0, 0.0f, 2.0f, 1.0f, 0.0f, -0.75f);
}
END_TEST

START_TEST(sgd_nesterov)
{
    /* momentum 0.5, Nesterov, g 2 then 1: t=1 buf = 2, step = 2 + 0.5*2 = 3,
     * p = 1 - 1.5 = -0.5; t=2 buf = 0.5*2 + 1 = 2, step = 1 + 0.5*2 = 2,
     * p = -0.5 - 1 = -1.5 */
    sgd_two_steps(0.5f, 0.0f, 1, 0.0f, 2.0f, 1.0f, -0.5f, -1.5f);
}
END_TEST

START_TEST(sgd_weight_decay)
{
    /* wd 0.5, g = 0.5 twice: t=1 g' = 0.5 + 0.5*1 = 1, p = 0.5;
     * t=2 g' = 0.5 + 0.5*0.5 = 0.75, p = 0.5 - 0.375 = 0.125 */
    sgd_two_steps(0.0f, 0.0f, 0, 0.5f, 0.5f, 0.5f, 0.5f, 0.125f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. Adagrad, Adadelta */

START_TEST(adagrad_two_steps)
{
    /* lr 0.5, eps 1e-10, p = 1, g 3 then 4:
     * t=1 sum = 9,  p = 1 - 0.5*3/3 = 0.5
     * t=2 sum = 25, p = 0.5 - 0.5*4/5 = 0.1 */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAGRAD);
    o.lr = 0.5f;
    clv_optim *opt = make(&o);
    float p = 1.0f;
    const float g1 = 3.0f, g2 = 4.0f;
    step_ok(opt, 1, &p, &g1);
    ck_close(p, 0.5, 1e-6);
    step_ok(opt, 1, &p, &g2);
    ck_close(p, 0.1, 1e-6);
    clv_optim_free(opt);
}
END_TEST

START_TEST(adadelta_two_steps)
{
    /* lr 1, rho 0.5, eps 1, p = 1, g = 2 twice:
     * t=1 sq = 0.5*4 = 2; d = sqrt(0+1)/sqrt(2+1)*2 = 1.154700538
     *     acc = 0.5*d^2 = 2/3; p = 1 - 1.154700538 = -0.154700538
     * t=2 sq = 0.5*2 + 0.5*4 = 3; d = sqrt(2/3+1)/sqrt(3+1)*2 = sqrt(5/3) = 1.290994449
     *     acc = 0.5*(2/3) + 0.5*(5/3) = 7/6; p = -0.154700538 - 1.290994449 = -1.445694987 */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADADELTA);
    o.lr = 1.0f;
    o.rho = 0.5f;
    o.eps = 1.0f;
    clv_optim *opt = make(&o);
    float p = 1.0f;
    const float g = 2.0f;
    step_ok(opt, 1, &p, &g);
    ck_close(p, -0.1547005384, 1e-6);
    step_ok(opt, 1, &p, &g);
    ck_close(p, -1.4456949871, 1e-6);
    clv_optim_free(opt);
}
END_TEST

/* Several steps of every kind on random data against the double reference. */
START_TEST(all_kinds_vs_reference)
{
    enum { N = 17, STEPS = 6 };
    clv_optim_options cfg[8];
    clv_optim_options_init(&cfg[0], CLV_OPTIM_ADAM);
    cfg[0].lr = 0.01f;
    cfg[0].weight_decay = 0.01f;
    clv_optim_options_init(&cfg[1], CLV_OPTIM_ADAMW);
    cfg[1].lr = 0.01f;
    cfg[1].weight_decay = 0.1f;
    clv_optim_options_init(&cfg[2], CLV_OPTIM_SGD);
    cfg[2].momentum = 0.9f;
    cfg[2].dampening = 0.1f;
    cfg[2].weight_decay = 0.01f;
    clv_optim_options_init(&cfg[3], CLV_OPTIM_SGD);
    cfg[3].momentum = 0.9f;
    cfg[3].nesterov = 1;
    clv_optim_options_init(&cfg[4], CLV_OPTIM_ADAGRAD);
    cfg[4].weight_decay = 0.01f;
    clv_optim_options_init(&cfg[5], CLV_OPTIM_ADADELTA);
    cfg[5].weight_decay = 0.01f;
    /* Clipping and schedules combined with a stateful optimizer. */
    clv_optim_options_init(&cfg[6], CLV_OPTIM_ADAM);
    cfg[6].lr = 0.05f;
    cfg[6].clip_norm = 0.5f;
    cfg[6].schedule = CLV_SCHEDULE_COSINE;
    cfg[6].total_steps = 4;
    cfg[6].min_lr = 0.01f;
    clv_optim_options_init(&cfg[7], CLV_OPTIM_SGD);
    cfg[7].lr = 0.1f;
    cfg[7].momentum = 0.5f;
    cfg[7].clip_norm = 1.5f; /* != 1 so that clip_norm/norm differs from 1/norm */
    cfg[7].schedule = CLV_SCHEDULE_STEP;
    cfg[7].step_size = 2;
    cfg[7].gamma = 0.5f;

    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        clv_optim *opt = make(&cfg[c]);
        static ref_optim ref;
        memset(&ref, 0, sizeof ref);
        ref.o = cfg[c];
        float p[N], p0[N], g[N];
        double pr[N];
        clv_test_fill(p0, N, 100 + (uint32_t)c, -1.0f, 1.0f);
        memcpy(p, p0, sizeof p);
        for (size_t i = 0; i < N; i++) pr[i] = p0[i];
        for (uint32_t s = 0; s < STEPS; s++) {
            clv_test_fill(g, N, 1000 + 10 * (uint32_t)c + s, -1.0f, 1.0f);
            step_ok(opt, N, p, g);
            ref_step(&ref, N, pr, g);
            ck_close(clv_optim_last_lr(opt), ref_lr(&cfg[c], s + 1), 1e-6);
        }
        double moved = 0.0;
        for (size_t i = 0; i < N; i++) {
            moved = fmax(moved, fabs(pr[i] - p0[i]));
            ck_assert_msg(fabs(p[i] - pr[i]) <= 2e-6 * fmax(1.0, fabs(pr[i])),
                          "config %zu, p[%zu] = %.9g, reference %.9g", c, i, (double)p[i], pr[i]);
        }
        /* The comparison would be empty if nothing moved. */
        ck_assert_msg(moved > 1e-3, "config %zu: parameters barely moved (%g)", c, moved);
        clv_optim_free(opt);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. Clipping */

START_TEST(clip_global_norm)
{
    /* grads (3, 4): norm 5 > clip 2, so SGD sees (3, 4) * 2/5 = (1.2, 1.6):
     * p = (1 - 0.5*1.2, 1 - 0.5*1.6) = (0.4, 0.2). */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 0.5f;
    o.clip_norm = 2.0f;
    clv_optim *opt = make(&o);
    float p[2] = { 1.0f, 1.0f };
    const float g[2] = { 3.0f, 4.0f };
    step_ok(opt, 2, p, g);
    ck_close(p[0], 0.4, 1e-6);
    ck_close(p[1], 0.2, 1e-6);
    ck_assert_float_eq(g[0], 3.0f);
    ck_assert_float_eq(g[1], 4.0f);
    ck_close(clv_optim_last_grad_norm(opt), 5.0, 1e-6);

    /* Below the threshold nothing is scaled: (0.3, 0.4) has norm 0.5. */
    const float small[2] = { 0.3f, 0.4f };
    step_ok(opt, 2, p, small);
    ck_close(p[0], 0.4 - 0.15, 1e-6);
    ck_close(p[1], 0.2 - 0.2, 1e-6);
    ck_close(clv_optim_last_grad_norm(opt), 0.5, 1e-6);
    clv_optim_free(opt);
}
END_TEST

START_TEST(clip_equals_prescaled_adam)
{
    /* Adam's first step ignores the gradient's scale, so compare two steps of
     * different norms: clipped (3,4)->(0.6,0.8) then unclipped (0.3,0.4) must
     * match an unclipped optimizer fed (0.6,0.8) then (0.3,0.4). */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.lr = 0.1f;
    o.clip_norm = 1.0f;
    clv_optim *clipped = make(&o);
    o.clip_norm = 0.0f;
    clv_optim *plain = make(&o);
    float pc[2] = { 1.0f, -1.0f }, pp[2] = { 1.0f, -1.0f };
    const float big[2] = { 3.0f, 4.0f }, unit[2] = { 0.6f, 0.8f }, small[2] = { 0.3f, 0.4f };
    step_ok(clipped, 2, pc, big);
    step_ok(plain, 2, pp, unit);
    step_ok(clipped, 2, pc, small);
    step_ok(plain, 2, pp, small);
    ck_close(pc[0], pp[0], 1e-6);
    ck_close(pc[1], pp[1], 1e-6);
    /* Without clipping the second step would differ noticeably. */
    clv_optim *noclip = make(&o);
    float pn[2] = { 1.0f, -1.0f };
    step_ok(noclip, 2, pn, big);
    step_ok(noclip, 2, pn, small);
    ck_assert(fabs(pn[0] - pp[0]) > 1e-3);
    clv_optim_free(clipped);
    clv_optim_free(plain);
    clv_optim_free(noclip);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 5. Schedules */

/* SGD with g = 1 moves p by exactly -lr: the schedule is visible both in
 * last_lr and in the parameter. */
static void check_schedule(const clv_optim_options *o, const double *want, int steps)
{
    clv_optim *opt = make(o);
    ck_close(clv_optim_last_lr(opt), o->lr, 0);
    float p = 0.0f;
    const float g = 1.0f;
    for (int t = 0; t < steps; t++) {
        float before = p;
        step_ok(opt, 1, &p, &g);
        ck_close(clv_optim_last_lr(opt), want[t], 1e-6);
        ck_close(before - p, want[t], 1e-5);
    }
    clv_optim_free(opt);
}

START_TEST(schedule_step)
{
    /* lr 1, step_size 2, gamma 0.5: 1*0.5^floor((t-1)/2) */
    static const double want[] = { 1, 1, 0.5, 0.5, 0.25, 0.25, 0.125 };
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 1.0f;
    o.schedule = CLV_SCHEDULE_STEP;
    o.step_size = 2;
    o.gamma = 0.5f;
    check_schedule(&o, want, 7);
}
END_TEST

START_TEST(schedule_cosine)
{
    /* lr 1, min_lr 0.2, total 4: 0.2 + 0.8*(1 + cos(pi*min(t-1,4)/4))/2
     * t=1: 1; t=2: 0.2 + 0.4*(1 + 0.707106781) = 0.882842712; t=3: 0.6;
     * t=4: 0.2 + 0.4*(1 - 0.707106781) = 0.317157288; t=5, 6: 0.2 (held) */
    static const double want[] = { 1, 0.882842712, 0.6, 0.317157288, 0.2, 0.2 };
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 1.0f;
    o.schedule = CLV_SCHEDULE_COSINE;
    o.total_steps = 4;
    o.min_lr = 0.2f;
    check_schedule(&o, want, 6);
}
END_TEST

typedef struct cb_log {
    int calls;
    uint64_t steps[8];
    float base[8];
    int use_ret;
    float ret;              /* returned when use_ret, else 0.125 * step */
} cb_log;

static float lr_cb(uint64_t step, float base_lr, void *user)
{
    cb_log *log = user;
    if (log->calls < 8) {
        log->steps[log->calls] = step;
        log->base[log->calls] = base_lr;
    }
    log->calls++;
    return log->use_ret ? log->ret : 0.125f * (float)step;
}

START_TEST(schedule_callback)
{
    /* Base lr 1 with a STEP schedule (gamma 0.5 every step) underneath. */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 1.0f;
    o.schedule = CLV_SCHEDULE_STEP;
    o.step_size = 1;
    o.gamma = 0.5f;
    clv_optim *opt = make(&o);
    cb_log log;
    memset(&log, 0, sizeof log);
    ck_assert_int_eq(clv_optim_set_lr_callback(opt, lr_cb, &log), CLV_OK);
    float p = 0.0f;
    const float g = 1.0f;
    step_ok(opt, 1, &p, &g);     /* callback: 0.125*1 */
    ck_assert_float_eq(clv_optim_last_lr(opt), 0.125f);
    ck_assert_float_eq(p, -0.125f);
    step_ok(opt, 1, &p, &g);     /* callback: 0.125*2 */
    ck_assert_float_eq(clv_optim_last_lr(opt), 0.25f);
    ck_assert_float_eq(p, -0.375f);
    ck_assert_int_eq(log.calls, 2);
    ck_assert_uint_eq(log.steps[0], 1);
    ck_assert_uint_eq(log.steps[1], 2);
    ck_assert_float_eq(log.base[0], 1.0f);
    ck_assert_float_eq(log.base[1], 1.0f);

    /* A bad rate refuses the step and changes nothing. */
    const float bad[] = { 0.0f, -1.0f, NAN, INFINITY };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        log.use_ret = 1;
        log.ret = bad[i];
        ck_assert_int_eq(clv_optim_step_raw(opt, 1, &p, &g), CLV_EINVAL);
        ck_assert_msg(contains(clv_last_error(), "callback"), "%s", clv_last_error());
        ck_assert_float_eq(p, -0.375f);
        ck_assert_uint_eq(clv_optim_step_count(opt), 2);
        ck_assert_float_eq(clv_optim_last_lr(opt), 0.25f);
    }

    /* NULL restores the schedule: step 3 of STEP is 1*0.5^2 = 0.25. */
    int calls = log.calls;
    ck_assert_int_eq(clv_optim_set_lr_callback(opt, NULL, NULL), CLV_OK);
    step_ok(opt, 1, &p, &g);
    ck_assert_int_eq(log.calls, calls);
    ck_assert_float_eq(clv_optim_last_lr(opt), 0.25f);
    ck_assert_float_eq(p, -0.625f);
    clv_optim_free(opt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 6. Convergence on sum_i a_i (p_i - c_i)^2, gradient 2 a_i (p_i - c_i) */

static int converge(const clv_optim_options *o, int max_steps)
{
    enum { N = 10 };
    float a[N], c[N], p[N], g[N];
    clv_test_fill(a, N, 7, 0.5f, 5.0f);
    clv_test_fill(c, N, 8, -2.0f, 2.0f);
    for (int i = 0; i < N; i++) p[i] = 0.0f;
    clv_optim *opt = make(o);
    int reached = -1;
    for (int s = 1; s <= max_steps && reached < 0; s++) {
        for (int i = 0; i < N; i++) g[i] = 2.0f * a[i] * (p[i] - c[i]);
        step_ok(opt, N, p, g);
        float worst = 0.0f;
        for (int i = 0; i < N; i++) worst = fmaxf(worst, fabsf(p[i] - c[i]));
        if (worst < 1e-3f) reached = s;
    }
    clv_optim_free(opt);
    return reached;
}

START_TEST(converge_adam)
{
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.lr = 0.05f;
    /* 144 steps at the time of writing. */
    int s = converge(&o, 400);
    ck_assert_msg(s > 0, "Adam did not reach |p - c| < 1e-3 in 400 steps");
}
END_TEST

START_TEST(converge_sgd_momentum)
{
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 0.05f;
    o.momentum = 0.9f;
    /* 137 steps at the time of writing. */
    int s = converge(&o, 300);
    ck_assert_msg(s > 0, "SGD+momentum did not reach |p - c| < 1e-3 in 300 steps");
}
END_TEST

/* ------------------------------------------------------------------ */
/* 7. Errors */

typedef struct bad_case {
    const char *field;
    void (*apply)(clv_optim_options *o);
} bad_case;

#define BAD(name, kind, body)                                                     \
    static void bad_##name(clv_optim_options *o)                                  \
    {                                                                             \
        clv_optim_options_init(o, kind);                                          \
        body;                                                                     \
    }

BAD(kind0, 0, (void)0)
BAD(kind6, 6, (void)0)
BAD(lr0, CLV_OPTIM_ADAM, o->lr = 0.0f)
BAD(lrneg, CLV_OPTIM_SGD, o->lr = -1.0f)
BAD(lrnan, CLV_OPTIM_ADAM, o->lr = NAN)
BAD(lrinf, CLV_OPTIM_ADAM, o->lr = INFINITY)
BAD(beta1neg, CLV_OPTIM_ADAM, o->beta1 = -0.1f)
BAD(beta1one, CLV_OPTIM_ADAM, o->beta1 = 1.0f)
BAD(beta2big, CLV_OPTIM_ADAMW, o->beta2 = 1.5f)
BAD(beta2one, CLV_OPTIM_ADAM, o->beta2 = 1.0f)
BAD(beta2nan, CLV_OPTIM_ADAM, o->beta2 = NAN)
BAD(eps0, CLV_OPTIM_ADAM, o->eps = 0.0f)
BAD(epsneg, CLV_OPTIM_ADAGRAD, o->eps = -1e-8f)
BAD(epsnan, CLV_OPTIM_ADADELTA, o->eps = NAN)
BAD(wdneg, CLV_OPTIM_ADAMW, o->weight_decay = -0.01f)
BAD(wdnan, CLV_OPTIM_SGD, o->weight_decay = NAN)
BAD(momneg, CLV_OPTIM_SGD, o->momentum = -0.5f)
BAD(mominf, CLV_OPTIM_SGD, o->momentum = INFINITY)
BAD(dampneg, CLV_OPTIM_SGD, o->dampening = -0.1f)
BAD(dampbig, CLV_OPTIM_SGD, (o->momentum = 0.9f, o->dampening = 1.5f))
BAD(nestnomom, CLV_OPTIM_SGD, o->nesterov = 1)
BAD(nestdamp, CLV_OPTIM_SGD, (o->nesterov = 1, o->momentum = 0.9f, o->dampening = 0.1f))
BAD(rhoone, CLV_OPTIM_ADADELTA, o->rho = 1.0f)
BAD(rhoneg, CLV_OPTIM_ADADELTA, o->rho = -0.1f)
BAD(clipneg, CLV_OPTIM_ADAM, o->clip_norm = -1.0f)
BAD(clipnan, CLV_OPTIM_ADAM, o->clip_norm = NAN)
BAD(sched0, CLV_OPTIM_ADAM, o->schedule = 0)
BAD(sched4, CLV_OPTIM_ADAM, o->schedule = 4)
BAD(stepsize0, CLV_OPTIM_ADAM, (o->schedule = CLV_SCHEDULE_STEP, o->step_size = 0))
BAD(gamma0, CLV_OPTIM_ADAM, (o->schedule = CLV_SCHEDULE_STEP, o->gamma = 0.0f))
BAD(gammabig, CLV_OPTIM_ADAM, (o->schedule = CLV_SCHEDULE_STEP, o->gamma = 1.5f))
BAD(total0, CLV_OPTIM_ADAM, (o->schedule = CLV_SCHEDULE_COSINE, o->total_steps = 0))
BAD(minlrneg, CLV_OPTIM_ADAM, (o->schedule = CLV_SCHEDULE_COSINE, o->min_lr = -1e-4f))
BAD(minlrbig, CLV_OPTIM_ADAM, (o->schedule = CLV_SCHEDULE_COSINE, o->min_lr = 1.0f))
BAD(size0, CLV_OPTIM_ADAM, o->struct_size = 0)
BAD(size7, CLV_OPTIM_ADAM, o->struct_size = 7)

static const bad_case bad_cases[] = {
    { "kind", bad_kind0 },           { "kind", bad_kind6 },
    { "lr", bad_lr0 },               { "lr", bad_lrneg },
    { "lr", bad_lrnan },             { "lr", bad_lrinf },
    { "beta1", bad_beta1neg },       { "beta1", bad_beta1one },
    { "beta2", bad_beta2big },       { "beta2", bad_beta2nan },
    { "beta2", bad_beta2one },
    { "eps", bad_eps0 },             { "eps", bad_epsneg },
    { "eps", bad_epsnan },           { "weight_decay", bad_wdneg },
    { "weight_decay", bad_wdnan },   { "momentum", bad_momneg },
    { "momentum", bad_mominf },      { "dampening", bad_dampneg },
    { "dampening", bad_dampbig },    { "nesterov", bad_nestnomom },
    { "nesterov", bad_nestdamp },    { "rho", bad_rhoone },
    { "rho", bad_rhoneg },           { "clip_norm", bad_clipneg },
    { "clip_norm", bad_clipnan },    { "schedule", bad_sched0 },
    { "schedule", bad_sched4 },      { "step_size", bad_stepsize0 },
    { "gamma", bad_gamma0 },         { "gamma", bad_gammabig },
    { "total_steps", bad_total0 },   { "min_lr", bad_minlrneg },
    { "min_lr", bad_minlrbig },      { "struct_size", bad_size0 },
    { "struct_size", bad_size7 },
};
#define N_BAD ((int)(sizeof bad_cases / sizeof bad_cases[0]))

START_TEST(invalid_option)
{
    const bad_case *bc = &bad_cases[_i];
    clv_optim_options o;
    bc->apply(&o);
    clv_optim *opt = (clv_optim *)&o; /* any non-NULL value: must be reset */
    clv_clear_error();
    ck_assert_int_eq(clv_optim_new(&opt, &o), CLV_EINVAL);
    ck_assert_ptr_null(opt);
    const char *msg = clv_last_error();
    ck_assert_msg(contains(msg, "clv_optim_new") && contains(msg, bc->field),
                  "case %d: message \"%s\" does not name %s", _i, msg, bc->field);
}
END_TEST

START_TEST(invalid_option_message)
{
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.beta2 = 1.5f;
    clv_optim *opt = NULL;
    ck_assert_int_eq(clv_optim_new(&opt, &o), CLV_EINVAL);
    ck_assert_str_eq(clv_last_error(), "clv_optim_new: beta2 = 1.5, expected 0 <= beta2 < 1");
    ck_assert_int_eq(clv_last_error_code(), CLV_EINVAL);
}
END_TEST

START_TEST(boundary_options_accepted)
{
    /* The closed ends of every range are valid. */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.beta1 = 0.0f;
    o.beta2 = 0.0f;
    o.momentum = 0.9f;
    o.dampening = 1.0f;
    o.rho = 0.0f;
    o.clip_norm = 0.0f;
    o.schedule = CLV_SCHEDULE_STEP;
    o.gamma = 1.0f;
    o.step_size = 1;
    clv_optim_free(make(&o));
    o.schedule = CLV_SCHEDULE_COSINE;
    o.total_steps = 1;
    o.min_lr = o.lr;
    clv_optim_free(make(&o));
    o.min_lr = 0.0f;
    clv_optim_free(make(&o));
}
END_TEST

START_TEST(defaults_per_kind)
{
    static const struct { int32_t kind; float lr, eps, wd; } want[] = {
        { CLV_OPTIM_ADAM, 1e-3f, 1e-8f, 0.0f },     { CLV_OPTIM_ADAMW, 1e-3f, 1e-8f, 1e-2f },
        { CLV_OPTIM_SGD, 1e-2f, 1e-8f, 0.0f },      { CLV_OPTIM_ADAGRAD, 1e-2f, 1e-10f, 0.0f },
        { CLV_OPTIM_ADADELTA, 1.0f, 1e-6f, 0.0f },
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        clv_optim_options o;
        memset(&o, 0xff, sizeof o);
        clv_optim_options_init(&o, want[k].kind);
        ck_assert_uint_eq(o.struct_size, sizeof o);
        ck_assert_int_eq(o.kind, want[k].kind);
        ck_assert_float_eq(o.lr, want[k].lr);
        ck_assert_float_eq(o.eps, want[k].eps);
        ck_assert_float_eq(o.weight_decay, want[k].wd);
        ck_assert_float_eq(o.beta1, 0.9f);
        ck_assert_float_eq(o.beta2, 0.999f);
        ck_assert_float_eq(o.momentum, 0.0f);
        ck_assert_float_eq(o.dampening, 0.0f);
        ck_assert_int_eq(o.nesterov, 0);
        ck_assert_float_eq(o.rho, 0.9f);
        ck_assert_float_eq(o.clip_norm, 0.0f);
        ck_assert_int_eq(o.schedule, CLV_SCHEDULE_CONSTANT);
        ck_assert_uint_eq(o.step_size, 1000);
        ck_assert_float_eq(o.gamma, 0.1f);
        ck_assert_uint_eq(o.total_steps, 1000);
        ck_assert_float_eq(o.min_lr, 0.0f);
        clv_optim *opt = make(&o);
        ck_assert_float_eq(clv_optim_last_lr(opt), want[k].lr);
        ck_assert_uint_eq(clv_optim_step_count(opt), 0);
        ck_assert_float_eq(clv_optim_last_grad_norm(opt), 0.0f);
        clv_optim_free(opt);
    }
    /* An unknown kind keeps its value (so clv_optim_new names it) over Adam's defaults. */
    clv_optim_options o;
    clv_optim_options_init(&o, 42);
    ck_assert_int_eq(o.kind, 42);
    ck_assert_float_eq(o.lr, 1e-3f);
    clv_optim_options_init(NULL, CLV_OPTIM_ADAM); /* ignored */
}
END_TEST

START_TEST(short_struct_size)
{
    /* A caller built against a header that ended after `lr`: fields past
     * struct_size are never read (beta2 = 5 would be refused) and default. */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.struct_size = (uint32_t)(offsetof(clv_optim_options, lr) + sizeof o.lr);
    o.lr = 0.5f;
    o.beta2 = 5.0f;
    o.momentum = 0.5f;
    clv_optim *opt = make(&o);
    ck_assert_float_eq(clv_optim_last_lr(opt), 0.5f);
    /* momentum defaulted to 0: two steps of plain SGD, p = 1 - 0.5 - 0.5 = 0 */
    float p = 1.0f;
    const float g = 1.0f;
    step_ok(opt, 1, &p, &g);
    step_ok(opt, 1, &p, &g);
    ck_assert_float_eq(p, 0.0f);
    clv_optim_free(opt);

    /* Covering only struct_size and kind is enough: everything else defaults. */
    o.struct_size = 8;
    opt = make(&o);
    ck_assert_float_eq(clv_optim_last_lr(opt), 1e-2f);
    clv_optim_free(opt);
}
END_TEST

START_TEST(count_change_is_eshape)
{
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    clv_optim *opt = make(&o);
    float p[13], g[13], keep[13];
    clv_test_fill(p, 13, 1, -1.0f, 1.0f);
    clv_test_fill(g, 13, 2, -1.0f, 1.0f);
    step_ok(opt, 7, p, g);
    memcpy(keep, p, sizeof p);
    ck_assert_int_eq(clv_optim_step_raw(opt, 13, p, g), CLV_ESHAPE);
    const char *msg = clv_last_error();
    ck_assert_msg(contains(msg, "13") && contains(msg, "7"), "%s", msg);
    ck_assert_mem_eq(p, keep, sizeof p);
    ck_assert_uint_eq(clv_optim_step_count(opt), 1);
    /* The original count still works, and reset forgets the count. */
    step_ok(opt, 7, p, g);
    ck_assert_int_eq(clv_optim_reset(opt), CLV_OK);
    step_ok(opt, 13, p, g);
    ck_assert_uint_eq(clv_optim_step_count(opt), 1);
    clv_optim_free(opt);
}
END_TEST

START_TEST(nonfinite_gradient)
{
    /* A stateful optimizer: a refused step must not touch params, moments or t.
     * A: g1, NaN, Inf, g2; B: g1, g2 -- identical results. */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.lr = 0.1f;
    clv_optim *a = make(&o), *b = make(&o);
    float pa[3] = { 1, 2, 3 }, pb[3] = { 1, 2, 3 }, keep[3];
    const float g1[3] = { 0.5f, -0.25f, 1.0f }, g2[3] = { -1.0f, 0.5f, 0.25f };
    const float gnan[3] = { 0.1f, NAN, 0.1f }, ginf[3] = { -INFINITY, 0.1f, 0.1f };
    step_ok(a, 3, pa, g1);
    step_ok(b, 3, pb, g1);
    memcpy(keep, pa, sizeof pa);
    float lr = clv_optim_last_lr(a), norm = clv_optim_last_grad_norm(a);

    ck_assert_int_eq(clv_optim_step_raw(a, 3, pa, gnan), CLV_ENUMERIC);
    ck_assert_int_eq(clv_last_error_code(), CLV_ENUMERIC);
    /* Refused on the gradient itself, before any update is computed. */
    ck_assert_msg(contains(clv_last_error(), "grads[1]"), "%s", clv_last_error());
    ck_assert_mem_eq(pa, keep, sizeof pa);
    ck_assert_uint_eq(clv_optim_step_count(a), 1);
    ck_assert_int_eq(clv_optim_step_raw(a, 3, pa, ginf), CLV_ENUMERIC);
    ck_assert_mem_eq(pa, keep, sizeof pa);
    ck_assert_uint_eq(clv_optim_step_count(a), 1);
    ck_assert_float_eq(clv_optim_last_lr(a), lr);
    ck_assert_float_eq(clv_optim_last_grad_norm(a), norm);

    step_ok(a, 3, pa, g2);
    step_ok(b, 3, pb, g2);
    ck_assert_mem_eq(pa, pb, sizeof pa);
    ck_assert_uint_eq(clv_optim_step_count(a), 2);
    clv_optim_free(a);
    clv_optim_free(b);
}
END_TEST

START_TEST(overflowing_update)
{
    /* SGD, lr 1e38: p[0] would become 1 - 1e38 (finite) but p[1] = 1 - 1e39
     * overflows, so neither may be written. */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 1e38f;
    clv_optim *opt = make(&o);
    float p[2] = { 1.0f, 1.0f };
    const float g[2] = { 1.0f, 10.0f };
    ck_assert_int_eq(clv_optim_step_raw(opt, 2, p, g), CLV_ENUMERIC);
    ck_assert_float_eq(p[0], 1.0f);
    ck_assert_float_eq(p[1], 1.0f);
    ck_assert_uint_eq(clv_optim_step_count(opt), 0);
    clv_optim_free(opt);

    /* Adam, lr 1e38: the first step moves each weight by ~lr*sign(g). From
     * 3e38 with g < 0 that is 4e38 > FLT_MAX. After the refusal the moments
     * must be untouched: the next step equals a fresh optimizer's first. */
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.lr = 1e38f;
    clv_optim *a = make(&o), *b = make(&o);
    float pa[2] = { 0.0f, 3e38f }, pb[2] = { 0.0f, 3e38f };
    const float up[2] = { 1.0f, -1.0f }, down[2] = { 1.0f, 1.0f };
    ck_assert_int_eq(clv_optim_step_raw(a, 2, pa, up), CLV_ENUMERIC);
    ck_assert_float_eq(pa[0], 0.0f);
    ck_assert_float_eq(pa[1], 3e38f);
    step_ok(a, 2, pa, down);
    step_ok(b, 2, pb, down);
    ck_assert_mem_eq(pa, pb, sizeof pa);
    ck_assert_uint_eq(clv_optim_step_count(a), 1);
    clv_optim_free(a);
    clv_optim_free(b);
}
END_TEST

START_TEST(overflowing_state)
{
    /* beta2 = 0: v = g^2 = 1e40 overflows float although the weight itself
     * would stay finite; a moment stuck at Inf would freeze that weight for
     * good, so the step is refused. */
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    o.beta2 = 0.0f;
    clv_optim *opt = make(&o);
    float p = 1.0f;
    const float g = 1e20f;
    ck_assert_int_eq(clv_optim_step_raw(opt, 1, &p, &g), CLV_ENUMERIC);
    ck_assert_float_eq(p, 1.0f);
    ck_assert_uint_eq(clv_optim_step_count(opt), 0);
    clv_optim_free(opt);
}
END_TEST

START_TEST(null_handles)
{
    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_ADAM);
    clv_optim *opt = NULL;
    ck_assert_int_eq(clv_optim_new(NULL, &o), CLV_EINVAL);
    ck_assert_int_eq(clv_optim_new(&opt, NULL), CLV_EINVAL);
    ck_assert_ptr_null(opt);
    opt = make(&o);
    float p = 1.0f;
    const float g = 1.0f;
    ck_assert_int_eq(clv_optim_step_raw(NULL, 1, &p, &g), CLV_EINVAL);
    ck_assert_int_eq(clv_optim_step_raw(opt, 1, NULL, &g), CLV_EINVAL);
    ck_assert_msg(contains(clv_last_error(), "params"), "%s", clv_last_error());
    ck_assert_int_eq(clv_optim_step_raw(opt, 1, &p, NULL), CLV_EINVAL);
    ck_assert_msg(contains(clv_last_error(), "grads"), "%s", clv_last_error());
    ck_assert_int_eq(clv_optim_step_raw(opt, 0, &p, &g), CLV_EINVAL);
    ck_assert_msg(contains(clv_last_error(), "count"), "%s", clv_last_error());
    ck_assert_int_eq(clv_optim_step(NULL, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_optim_step(opt, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_optim_set_lr_callback(NULL, lr_cb, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_optim_reset(NULL), CLV_EINVAL);
    ck_assert_uint_eq(clv_optim_step_count(NULL), 0);
    ck_assert_float_eq(clv_optim_last_lr(NULL), 0.0f);
    ck_assert_float_eq(clv_optim_last_grad_norm(NULL), 0.0f);
    ck_assert_float_eq(p, 1.0f);
    ck_assert_uint_eq(clv_optim_step_count(opt), 0);
    clv_optim_free(NULL);
    clv_optim_free(opt);
}
END_TEST

START_TEST(reset_starts_afresh)
{
    /* After reset, SGD momentum re-initialises its buffer from g at t=1 and
     * Adam restarts its bias correction: both equal a fresh optimizer. */
    static const int32_t kinds[] = { CLV_OPTIM_SGD, CLV_OPTIM_ADAM, CLV_OPTIM_ADADELTA };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        clv_optim_options o;
        clv_optim_options_init(&o, kinds[k]);
        o.momentum = kinds[k] == CLV_OPTIM_SGD ? 0.9f : 0.0f;
        clv_optim *a = make(&o), *b = make(&o);
        float pa[4] = { 1, 2, 3, 4 }, pb[4] = { 1, 2, 3, 4 };
        const float g1[4] = { 1, -1, 2, -2 }, g2[4] = { 0.5f, 0.25f, -0.5f, 1 };
        step_ok(a, 4, pa, g1);
        step_ok(a, 4, pa, g1);
        ck_assert_int_eq(clv_optim_reset(a), CLV_OK);
        ck_assert_uint_eq(clv_optim_step_count(a), 0);
        ck_assert_float_eq(clv_optim_last_lr(a), o.lr);
        ck_assert_float_eq(clv_optim_last_grad_norm(a), 0.0f);
        memcpy(pb, pa, sizeof pa);
        step_ok(a, 4, pa, g2);
        step_ok(b, 4, pb, g2);
        ck_assert_mem_eq(pa, pb, sizeof pa);
        ck_assert_uint_eq(clv_optim_step_count(a), 1);
        clv_optim_free(a);
        clv_optim_free(b);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* 8. A real model */

START_TEST(step_on_model)
{
    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = 3;
    mo.hidden_size = 4;
    clv_model *m = NULL;
    ck_assert_msg(clv_model_new(&m, &mo) == CLV_OK, "%s", clv_last_error());
    uint64_t n = clv_model_param_count(m);
    ck_assert_uint_gt(n, 0);
    float *params = clv_model_params(m), *grads = clv_model_grads(m);
    ck_assert_ptr_nonnull(params);
    ck_assert_ptr_nonnull(grads);
    clv_test_fill(grads, (size_t)n, 99, -1.0f, 1.0f);
    float *before = malloc((size_t)n * sizeof *before);
    float *gcopy = malloc((size_t)n * sizeof *gcopy);
    ck_assert_ptr_nonnull(before);
    ck_assert_ptr_nonnull(gcopy);
    memcpy(before, params, (size_t)n * sizeof *before);
    memcpy(gcopy, grads, (size_t)n * sizeof *gcopy);

    clv_optim_options o;
    clv_optim_options_init(&o, CLV_OPTIM_SGD);
    o.lr = 0.1f;
    clv_optim *opt = make(&o);
    ck_assert_msg(clv_optim_step(opt, m) == CLV_OK, "%s", clv_last_error());
    for (uint64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(params[i] - ((double)before[i] - 0.1 * gcopy[i])) <= 1e-6,
                      "param %llu: %.9g, expected %.9g", (unsigned long long)i,
                      (double)params[i], (double)before[i] - 0.1 * gcopy[i]);
    /* The step reads the gradients and leaves them for the caller to zero. */
    ck_assert_mem_eq(grads, gcopy, (size_t)n * sizeof *gcopy);
    ck_assert_uint_eq(clv_optim_step_count(opt), 1);

    /* The same optimizer refuses a buffer of another size (state is per count). */
    float p1 = 0.0f, g1 = 0.0f;
    ck_assert_int_eq(clv_optim_step_raw(opt, 1, &p1, &g1), CLV_ESHAPE);

    /* Freed in either order: the optimizer holds no reference to the model. */
    clv_model_free(m);
    float *extra = malloc((size_t)n * sizeof *extra);
    ck_assert_ptr_nonnull(extra);
    memcpy(extra, before, (size_t)n * sizeof *extra);
    step_ok(opt, n, extra, gcopy);
    clv_optim_free(opt);
    free(extra);
    free(before);
    free(gcopy);
}
END_TEST

/* ------------------------------------------------------------------ */

/* One TCase per behaviour, named after its test. */
#define ADD(s, test)                                                                \
    do {                                                                            \
        TCase *tc_ = tcase_create(#test);                                           \
        tcase_add_test(tc_, test);                                                  \
        suite_add_tcase(s, tc_);                                                    \
    } while (0)

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    ADD(s, adam_two_steps_by_hand);
    ADD(s, adam_degenerate_exact);
    ADD(s, adam_vs_adamw_weight_decay);
    ADD(s, sgd_plain);
    ADD(s, sgd_momentum);
    ADD(s, sgd_dampening);
    ADD(s, sgd_nesterov);
    ADD(s, sgd_weight_decay);
    ADD(s, adagrad_two_steps);
    ADD(s, adadelta_two_steps);
    ADD(s, all_kinds_vs_reference);
    ADD(s, clip_global_norm);
    ADD(s, clip_equals_prescaled_adam);
    ADD(s, schedule_step);
    ADD(s, schedule_cosine);
    ADD(s, schedule_callback);
    ADD(s, converge_adam);
    ADD(s, converge_sgd_momentum);
    TCase *tc = tcase_create("invalid_option");
    tcase_add_loop_test(tc, invalid_option, 0, N_BAD);
    suite_add_tcase(s, tc);
    ADD(s, invalid_option_message);
    ADD(s, boundary_options_accepted);
    ADD(s, defaults_per_kind);
    ADD(s, short_struct_size);
    ADD(s, count_change_is_eshape);
    ADD(s, nonfinite_gradient);
    ADD(s, overflowing_update);
    ADD(s, overflowing_state);
    ADD(s, null_handles);
    ADD(s, reset_starts_afresh);
    ADD(s, step_on_model);
    return s;
}

int main(void)
{
    return clv_test_run(optim_suite());
}
