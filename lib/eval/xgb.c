/* The XGBoost baseline: see xgb.h and docs/baselines.md. */
#include "xgb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../clv_internal.h"

void clv__xgb_options_init(clv__xgb_options *o)
{
    memset(o, 0, sizeof *o);
    clv__examples_options_init(&o->examples);
    o->examples.pipeline.max_steps = 1;   /* only static features are used */
    o->examples.pipeline.threads = 2;     /* byte-identical output whatever the count */
    o->threads = 0;
    o->max_rounds = 500;
    o->patience = 30;
    o->max_depth = 5;
    o->eta = 0.1;
    o->min_child_weight = 1.0;
    o->lambda = 1.0;
    o->tweedie_power = 1.5;
    o->seed = 0;
    o->btyd_features = 1;
}

#ifndef CLV_HAVE_XGBOOST

int clv__xgb_built(void) { return 0; }

int clv__xgb_available(void)
{
    return clv__error(CLV_ENOTSUP, "model 'xgboost' is not available: libclv was built without XGBoost "
                                   "(install libxgboost-dev and configure with -Dxgboost=enabled)");
}

int clv__xgb_predict(const clv_txlog *log, int32_t cutoff, uint32_t horizon_days, const clv__xgb_options *opts,
                     uint64_t n, float *spend, float *tx, float *p_active, clv__xgb_report *rep)
{
    (void)log, (void)cutoff, (void)horizon_days, (void)opts, (void)n, (void)spend, (void)tx, (void)p_active;
    (void)rep;
    return clv__xgb_available();
}

#else /* CLV_HAVE_XGBOOST */

#include <xgboost/c_api.h>

int clv__xgb_built(void) { return 1; }
int clv__xgb_available(void) { return CLV_OK; }

/* BTYD columns: bgnbd_tx_per_day, bgnbd_p_alive, gg_value, bgnbd_gg_spend_per_day. */
#define NBTYD 4

static int xgb_fail(const char *what)
{
    const char *msg = XGBGetLastError();
    return clv__error(CLV_ENUMERIC, "xgboost: %s failed: %s", what, msg && *msg ? msg : "(no message)");
}
#define XGB_TRY(call, what) \
    do { if ((call) != 0) { rc = xgb_fail(what); goto done; } } while (0)

/* BG/NBD and Gamma-Gamma fitted on the rows [r0, r1) of one cutoff (their
 * calibration summaries, nothing later), predicted over that row's window:
 * 4 columns written at `cols` stride from dst. A fit that fails (tiny or
 * degenerate windows) leaves NaN: XGBoost treats it as missing. */
static int btyd_block(const clv__examples *ex, uint64_t r0, uint64_t r1, float *dst, uint32_t stride)
{
    const uint64_t n = r1 - r0;
    float *tw = clv__calloc(n ? n : 1, sizeof(float)), *Tw = clv__calloc(n ? n : 1, sizeof(float));
    float *e = clv__calloc(n ? n : 1, sizeof(float)), *pa = clv__calloc(n ? n : 1, sizeof(float));
    float *v = clv__calloc(n ? n : 1, sizeof(float));
    if (!tw || !Tw || !e || !pa || !v) {
        clv__free(tw), clv__free(Tw), clv__free(e), clv__free(pa), clv__free(v);
        return clv__oom();
    }
    for (uint64_t i = 0; i < n; i++) {
        /* A customer whose first purchase is on the cutoff has T = 0: the
         * models need T > 0, so T is floored at one day. */
        const float T = ex->age_days[r0 + i] > 1.0f ? ex->age_days[r0 + i] : 1.0f;
        tw[i] = ex->recency_days[r0 + i] / 7.0f;
        Tw[i] = T / 7.0f;
        if (tw[i] > Tw[i]) tw[i] = Tw[i];
    }
    const float *x = ex->frequency + r0, *mx = ex->monetary_repeat + r0;
    const double h = ex->days[r0];
    double bg[4], gg[3];
    int ok_bg = clv_bgnbd_fit(NULL, n, x, tw, Tw, bg, NULL) == CLV_OK &&
                clv_bgnbd_expected(bg, n, x, tw, Tw, h / 7.0, e, pa) == CLV_OK;
    int ok_gg = clv_gammagamma_fit(NULL, n, x, mx, gg, NULL) == CLV_OK &&
                clv_gammagamma_expected_value(gg, n, x, mx, v) == CLV_OK;
    for (uint64_t i = 0; i < n; i++) {
        float *row = dst + (size_t)i * stride;
        row[0] = ok_bg ? (float)(e[i] / h) : NAN;
        row[1] = ok_bg ? pa[i] : NAN;
        row[2] = ok_gg ? v[i] : NAN;
        row[3] = ok_bg && ok_gg ? (float)(e[i] * v[i] / h) : NAN;
    }
    clv__free(tw), clv__free(Tw), clv__free(e), clv__free(pa), clv__free(v);
    return CLV_OK;
}

/* The model's feature matrix: the examples' columns, then (optionally) the
 * BTYD columns computed per window. */
static int design(const clv__examples *ex, int btyd, float **out, uint32_t *cols)
{
    const uint32_t F = ex->features, C = F + (btyd ? NBTYD : 0);
    size_t nx;
    if (clv__mul_size((size_t)ex->rows, C, &nx) != 0) return clv__oom();
    float *m = clv__malloc((nx ? nx : 1) * sizeof(float));
    if (!m) return clv__oom();
    for (uint64_t r = 0; r < ex->rows; r++) memcpy(m + (size_t)r * C, ex->x + (size_t)r * F, F * sizeof(float));
    for (uint32_t k = 0; btyd && k < ex->windows; k++) {
        int rc = btyd_block(ex, ex->row_start[k], ex->row_start[k + 1], m + (size_t)ex->row_start[k] * C + F, C);
        if (rc != CLV_OK) {
            clv__free(m);
            return rc;
        }
    }
    *out = m;
    *cols = C;
    return CLV_OK;
}

static int dmatrix(const float *x, uint64_t rows, uint32_t cols, const float *label, DMatrixHandle *out)
{
    int rc = CLV_OK;
    *out = NULL;
    XGB_TRY(XGDMatrixCreateFromMat(x, (bst_ulong)rows, (bst_ulong)cols, NAN, out), "XGDMatrixCreateFromMat");
    if (label) XGB_TRY(XGDMatrixSetFloatInfo(*out, "label", label, (bst_ulong)rows), "XGDMatrixSetFloatInfo");
done:
    if (rc != CLV_OK && *out) {
        XGDMatrixFree(*out);
        *out = NULL;
    }
    return rc;
}

typedef struct task {
    const char *objective, *metric;
    int tweedie;
    int log_link;   /* margins are log(mean) (Tweedie, Poisson) rather than the mean */
} task;

static int set_params(BoosterHandle b, const clv__xgb_options *o, const task *t, double base_score)
{
    char buf[64];
    int rc = CLV_OK;
    const struct { const char *k; char v[40]; } fixed[] = {
        { "verbosity", "0" }, { "booster", "gbtree" }, { "tree_method", "hist" }, { "subsample", "1" },
        { "colsample_bytree", "1" }, { "max_bin", "256" },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        XGB_TRY(XGBoosterSetParam(b, fixed[i].k, fixed[i].v), "XGBoosterSetParam");
    snprintf(buf, sizeof buf, "%u", o->threads);
    XGB_TRY(XGBoosterSetParam(b, "nthread", buf), "XGBoosterSetParam(nthread)");
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->seed);
    XGB_TRY(XGBoosterSetParam(b, "seed", buf), "XGBoosterSetParam(seed)");
    snprintf(buf, sizeof buf, "%u", o->max_depth);
    XGB_TRY(XGBoosterSetParam(b, "max_depth", buf), "XGBoosterSetParam(max_depth)");
    snprintf(buf, sizeof buf, "%.17g", o->eta);
    XGB_TRY(XGBoosterSetParam(b, "eta", buf), "XGBoosterSetParam(eta)");
    snprintf(buf, sizeof buf, "%.17g", o->min_child_weight);
    XGB_TRY(XGBoosterSetParam(b, "min_child_weight", buf), "XGBoosterSetParam(min_child_weight)");
    snprintf(buf, sizeof buf, "%.17g", o->lambda);
    XGB_TRY(XGBoosterSetParam(b, "lambda", buf), "XGBoosterSetParam(lambda)");
    XGB_TRY(XGBoosterSetParam(b, "objective", t->objective), "XGBoosterSetParam(objective)");
    if (t->tweedie) {
        snprintf(buf, sizeof buf, "%.17g", o->tweedie_power);
        XGB_TRY(XGBoosterSetParam(b, "tweedie_variance_power", buf), "XGBoosterSetParam(tweedie_variance_power)");
    }
    snprintf(buf, sizeof buf, "%.17g", base_score);
    XGB_TRY(XGBoosterSetParam(b, "base_score", buf), "XGBoosterSetParam(base_score)");
    XGB_TRY(XGBoosterSetParam(b, "eval_metric", t->metric), "XGBoosterSetParam(eval_metric)");
    if (strcmp(t->metric, "rmse") != 0)
        XGB_TRY(XGBoosterSetParam(b, "eval_metric", "rmse"), "XGBoosterSetParam(eval_metric)");
done:
    return rc;
}

static double mean_label(const float *y, uint64_t n, int logistic)
{
    double s = 0;
    for (uint64_t i = 0; i < n; i++) s += y[i];
    double m = n ? s / (double)n : 0.5;
    if (logistic) return m < 1e-3 ? 1e-3 : m > 1 - 1e-3 ? 1 - 1e-3 : m;
    return m > 1e-6 ? m : 1e-6;   /* log link objectives need a positive base */
}

/* Value of metric `name` in an XGBoosterEvalOneIter line such as
 * "[12]\tvalid-tweedie-nloglik@1.5:3.25\tvalid-rmse:90.1". */
static double eval_value(const char *s, const char *name)
{
    char key[96];
    snprintf(key, sizeof key, "valid-%s", name);
    const char *p = s ? strstr(s, key) : NULL;
    const char *c = p ? strchr(p + strlen(key), ':') : NULL;
    return c ? strtod(c + 1, NULL) : NAN;
}

/* Early stopping: train on dtr, watch the objective's own loss (t->metric)
 * on dva; out: the best round count, that loss and the RMSE at that round. */
static int select_rounds(DMatrixHandle dtr, DMatrixHandle dva, double base, const clv__xgb_options *o,
                         const task *t, uint32_t *rounds, double *best, double *rmse)
{
    BoosterHandle b = NULL;
    int rc = CLV_OK;
    DMatrixHandle cache[2] = { dtr, dva };
    XGB_TRY(XGBoosterCreate(cache, 2, &b), "XGBoosterCreate");
    rc = set_params(b, o, t, base);
    if (rc != CLV_OK) goto done;
    *best = INFINITY;
    *rmse = NAN;
    *rounds = 1;
    for (uint32_t it = 0; it < o->max_rounds; it++) {
        XGB_TRY(XGBoosterUpdateOneIter(b, (int)it, dtr), "XGBoosterUpdateOneIter");
        const char *names[1] = { "valid" }, *res = NULL;
        DMatrixHandle ev[1] = { dva };
        XGB_TRY(XGBoosterEvalOneIter(b, (int)it, ev, names, 1, &res), "XGBoosterEvalOneIter");
        const double v = eval_value(res, t->metric), e = eval_value(res, "rmse");
        if (!isfinite(v) || !isfinite(e)) {
            rc = clv__error(CLV_ENUMERIC, "xgboost: validation %s is not finite at round %u (%s)", t->metric, it,
                            res ? res : "");
            goto done;
        }
        if (v < *best) {
            *best = v;
            *rmse = e;
            *rounds = it + 1;
        } else if (it + 1 - *rounds >= o->patience) {
            break;
        }
    }
done:
    if (b) XGBoosterFree(b);
    return rc;
}

/* Train `rounds` rounds on dall and predict the rows of dpred into out[n]. */
static int fit_predict(DMatrixHandle dall, DMatrixHandle dpred, double base, const clv__xgb_options *o,
                       const task *t, uint32_t rounds, uint64_t n, float *out)
{
    BoosterHandle b = NULL;
    int rc = CLV_OK;
    XGB_TRY(XGBoosterCreate(&dall, 1, &b), "XGBoosterCreate");
    rc = set_params(b, o, t, base);
    if (rc != CLV_OK) goto done;
    for (uint32_t it = 0; it < rounds; it++)
        XGB_TRY(XGBoosterUpdateOneIter(b, (int)it, dall), "XGBoosterUpdateOneIter");
    bst_ulong len = 0;
    const float *pred = NULL;
    XGB_TRY(XGBoosterPredict(b, dpred, 0, 0, 0, &len, &pred), "XGBoosterPredict");
    if (len != n) {
        rc = clv__error(CLV_ESTATE, "xgboost: %llu predictions for %llu rows", (unsigned long long)len,
                        (unsigned long long)n);
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (!isfinite(pred[i])) {
            rc = clv__error(CLV_ENUMERIC, "xgboost: prediction %llu is not finite", (unsigned long long)i);
            goto done;
        }
        out[i] = pred[i];
    }
done:
    if (b) XGBoosterFree(b);
    return rc;
}

/* One target: choose rounds (and, for spend, the objective) on the temporal
 * validation split, retrain on all windows, predict at C. */
typedef struct frame {
    DMatrixHandle tr, va, all;
} frame;

static void frame_free(frame *f)
{
    if (f->tr) XGDMatrixFree(f->tr);
    if (f->va) XGDMatrixFree(f->va);
    if (f->all) XGDMatrixFree(f->all);
    f->tr = f->va = f->all = NULL;
}

/* Gather the rows of one split (train or validation) into m2 / y2 / g2. */
static uint64_t gather(const float *m, const float *y, const float *g, uint32_t cols, const clv__examples *ex,
                       int split, float *m2, float *y2, float *g2)
{
    uint64_t j = 0;
    for (uint64_t r = 0; r < ex->rows; r++) {
        if (ex->split[r] != split) continue;
        memcpy(m2 + (size_t)j * cols, m + (size_t)r * cols, cols * sizeof(float));
        if (g) g2[j] = g[r];
        y2[j++] = y[r];
    }
    return j;
}

static int set_margin(DMatrixHandle d, const float *g, uint64_t n)
{
    int rc = CLV_OK;
    if (g) XGB_TRY(XGDMatrixSetFloatInfo(d, "base_margin", g, (bst_ulong)n), "XGDMatrixSetFloatInfo(base_margin)");
done:
    return rc;
}

/* DMatrices of the training and validation splits and of all rows, with
 * labels y and (when g is not NULL) per-row base margins g. */
static int frame_new(frame *f, const float *m, uint32_t cols, const clv__examples *ex, const float *y, const float *g)
{
    const uint64_t ntr = ex->train_rows, nva = ex->valid_rows;
    float *mt = clv__malloc(((size_t)ntr * cols + 1) * sizeof(float)), *yt = clv__malloc((ntr + 1) * sizeof(float));
    float *mv = clv__malloc(((size_t)nva * cols + 1) * sizeof(float)), *yv = clv__malloc((nva + 1) * sizeof(float));
    float *gt = clv__malloc((ntr + 1) * sizeof(float)), *gv = clv__malloc((nva + 1) * sizeof(float));
    int rc = mt && yt && mv && yv && gt && gv ? CLV_OK : clv__oom();
    if (rc == CLV_OK && (gather(m, y, g, cols, ex, CLV__EX_TRAIN, mt, yt, gt) != ntr ||
                         gather(m, y, g, cols, ex, CLV__EX_VALID, mv, yv, gv) != nva))
        rc = clv__error(CLV_ESTATE, "xgboost: the examples' split counts are inconsistent");
    if (rc == CLV_OK) rc = dmatrix(mt, ntr, cols, yt, &f->tr);
    if (rc == CLV_OK) rc = set_margin(f->tr, g ? gt : NULL, ntr);
    if (rc == CLV_OK) rc = dmatrix(mv, nva, cols, yv, &f->va);
    if (rc == CLV_OK) rc = set_margin(f->va, g ? gv : NULL, nva);
    if (rc == CLV_OK) rc = dmatrix(m, ex->rows, cols, y, &f->all);
    if (rc == CLV_OK) rc = set_margin(f->all, g, ex->rows);
    clv__free(mt), clv__free(yt), clv__free(mv), clv__free(yv), clv__free(gt), clv__free(gv);
    if (rc != CLV_OK) frame_free(f);
    return rc;
}

/* Base margins from the BTYD expectation over each row's window, scaled to
 * the horizon (raw; NaN where a BTYD fit failed, replaced by `fallback`). */
static void margins(const task *t, const float *raw, uint64_t n, double fallback, float *out)
{
    for (uint64_t i = 0; i < n; i++) {
        double v = isfinite(raw[i]) ? raw[i] : fallback;
        if (t->log_link) v = log(v > 1e-6 ? v : 1e-6);
        out[i] = (float)v;
    }
}

/* Mean label of the training split (the base score of a selection run). */
static double train_mean(const float *y, const clv__examples *ex, int logistic)
{
    double s = 0;
    for (uint64_t r = 0; r < ex->rows; r++)
        if (ex->split[r] == CLV__EX_TRAIN) s += y[r];
    double mu = ex->train_rows ? s / (double)ex->train_rows : 0.5;
    if (logistic) return mu < 1e-3 ? 1e-3 : mu > 1 - 1e-3 ? 1 - 1e-3 : mu;
    return mu > 1e-6 ? mu : 1e-6;
}

/* Early stopping of one objective on the validation split; frame rebuilt
 * for the objective's margins. */
static int run_task(frame *fr, const float *m, uint32_t cols, const clv__examples *ex, const float *y,
                    const float *graw, const clv__xgb_options *o, const task *t, uint32_t *rounds, double *best,
                    double *rmse)
{
    const double base = train_mean(y, ex, !t->log_link && strcmp(t->objective, "binary:logistic") == 0);
    float *g = NULL;
    if (graw) {
        g = clv__malloc((ex->rows ? ex->rows : 1) * sizeof(float));
        if (!g) return clv__oom();
        margins(t, graw, ex->rows, base, g);
    }
    int rc = frame_new(fr, m, cols, ex, y, g);
    if (rc == CLV_OK) rc = select_rounds(fr->tr, fr->va, base, o, t, rounds, best, rmse);
    frame_free(fr);
    clv__free(g);
    return rc;
}

/* Refit on all rows with the chosen rounds and predict the rows at C. */
static int refit(frame *fr, const float *m, uint32_t cols, const clv__examples *ex, const float *y,
                 const float *graw, const float *pm, const float *praw, uint64_t n, const clv__xgb_options *o,
                 const task *t, uint32_t rounds, float *out)
{
    const int logistic = strcmp(t->objective, "binary:logistic") == 0;
    const double base = mean_label(y, ex->rows, logistic);
    float *g = NULL, *pg = NULL;
    if (graw) {
        g = clv__malloc((ex->rows ? ex->rows : 1) * sizeof(float));
        pg = clv__malloc((n ? n : 1) * sizeof(float));
        if (!g || !pg) {
            clv__free(g), clv__free(pg);
            return clv__oom();
        }
        margins(t, graw, ex->rows, base, g);
        margins(t, praw, n, base, pg);
    }
    DMatrixHandle dp = NULL;
    int rc = frame_new(fr, m, cols, ex, y, g);
    if (rc == CLV_OK) rc = dmatrix(pm, n, cols, NULL, &dp);
    if (rc == CLV_OK) rc = set_margin(dp, pg, n);
    if (rc == CLV_OK) rc = fit_predict(fr->all, dp, base, o, t, rounds, n, out);
    /* Squared error can go below 0; an expected spend cannot. */
    for (uint64_t i = 0; rc == CLV_OK && i < n; i++)
        if (out[i] < 0) out[i] = 0;
    if (dp) XGDMatrixFree(dp);
    frame_free(fr);
    clv__free(g), clv__free(pg);
    return rc;
}

int clv__xgb_predict(const clv_txlog *log, int32_t C, uint32_t H, const clv__xgb_options *opts, uint64_t n,
                     float *spend, float *tx, float *p_active, clv__xgb_report *rep)
{
    clv__xgb_options o;
    if (opts) o = *opts;
    else clv__xgb_options_init(&o);
    const uint32_t want_threads = o.threads;
    CLV__CHECK_ARG(o.max_rounds >= 1 && o.max_rounds <= 100000, "xgboost: max_rounds = %u, must be 1 .. 100000",
                   o.max_rounds);
    CLV__CHECK_ARG(o.patience >= 1, "xgboost: patience must be at least 1");
    CLV__CHECK_ARG(o.max_depth >= 1 && o.max_depth <= 30, "xgboost: max_depth = %u, must be 1 .. 30", o.max_depth);
    CLV__CHECK_ARG(o.eta > 0 && o.eta <= 1, "xgboost: eta = %g, must be in (0, 1]", o.eta);
    CLV__CHECK_ARG(o.tweedie_power > 1 && o.tweedie_power < 2, "xgboost: tweedie_power = %g, must be in (1, 2)",
                   o.tweedie_power);
    CLV__CHECK_ARG(o.threads <= 256, "xgboost: threads = %u, at most 256", o.threads);

    clv__examples *ex = NULL, *px = NULL;
    float *m = NULL, *pm = NULL, *y = NULL, *graw = NULL, *praw = NULL;
    frame fr = { 0 };
    uint32_t cols = 0, pcols = 0;
    clv__xgb_report r;
    memset(&r, 0, sizeof r);
    int rc = clv__examples_build(log, C, H, &o.examples, &ex);
    if (rc == CLV_OK) rc = clv__examples_build_predict(log, C, H, &o.examples, &px);
    if (rc == CLV_OK && px->rows != n)
        rc = clv__error(CLV_ESTATE, "xgboost: %llu customers at the cutoff, expected %llu",
                        (unsigned long long)px->rows, (unsigned long long)n);
    if (rc == CLV_OK && !clv__examples_same_columns(ex, px))
        rc = clv__error(CLV_ESTATE, "xgboost: the features at the cutoff differ from those of the training windows");
    if (rc == CLV_OK) rc = design(ex, o.btyd_features, &m, &cols);
    if (rc == CLV_OK) rc = design(px, o.btyd_features, &pm, &pcols);
    if (rc == CLV_OK) {
        y = clv__malloc((ex->rows ? ex->rows : 1) * sizeof(float));
        graw = clv__malloc((ex->rows ? ex->rows : 1) * sizeof(float));
        praw = clv__malloc((n ? n : 1) * sizeof(float));
        if (!y || !graw || !praw) rc = clv__oom();
    }
    /* Threads: on small sets XGBoost's per-round synchronisation costs more
     * than it saves (and spins on a busy machine), so auto is 1 thread below
     * 50,000 example rows and 2 from there (the library's 2-core budget). */
    if (rc == CLV_OK && want_threads == 0) o.threads = ex->rows < 50000 ? 1 : 2;
    if (rc == CLV_OK && pcols != cols)
        rc = clv__error(CLV_ESTATE, "xgboost: %u columns at the cutoff, %u in training", pcols, cols);
    r.windows = ex ? ex->windows : 0;
    r.features = cols;
    r.train_rows = ex ? ex->train_rows : 0;
    r.valid_rows = ex ? ex->valid_rows : 0;
    const int offset = o.btyd_features != 0;
    const uint32_t F = ex ? ex->features : 0;

    /* Spend: totals over each window scaled to the horizon, y H / h_k; the
     * Tweedie candidate needs y >= 0 (returns netting below 0 count as 0).
     * With BTYD features, BG/NBD x Gamma-Gamma's expected spend over the
     * row's window (scaled the same way) is the base margin: the trees learn
     * a correction of it, and at C the margin is the expectation over H. */
    char tweedie_metric[48];
    snprintf(tweedie_metric, sizeof tweedie_metric, "tweedie-nloglik@%g", o.tweedie_power);
    double lpo = 0;
    if (rc == CLV_OK && spend) {
        for (uint64_t i = 0; i < ex->rows; i++) {
            const float v = ex->y_spend[i] * (float)H / ex->days[i];
            y[i] = v > 0 ? v : 0;
            graw[i] = offset ? m[(size_t)i * cols + F + 3] * (float)H : NAN;
        }
        for (uint64_t i = 0; i < n; i++) praw[i] = offset ? pm[(size_t)i * pcols + F + 3] * (float)H : NAN;
        const task sq = { "reg:squarederror", "rmse", 0, 0 }, tw = { "reg:tweedie", tweedie_metric, 1, 1 };
        uint32_t rsq = 0, rtw = 0;
        double lsq, ltw;
        rc = run_task(&fr, m, cols, ex, y, offset ? graw : NULL, &o, &sq, &rsq, &lsq, &r.valid_rmse_squared);
        if (rc == CLV_OK)
            rc = run_task(&fr, m, cols, ex, y, offset ? graw : NULL, &o, &tw, &rtw, &ltw,
                         &r.valid_rmse_tweedie);
        if (rc == CLV_OK) {
            /* The lower validation RMSE wins; a tie goes to squared error. */
            r.spend_objective = r.valid_rmse_tweedie < r.valid_rmse_squared;
            r.spend_rounds = r.spend_objective ? rtw : rsq;
            rc = refit(&fr, m, cols, ex, y, offset ? graw : NULL, pm, offset ? praw : NULL, n, &o,
                       r.spend_objective ? &tw : &sq, r.spend_rounds, spend);
        }
    }
    /* Transactions: a Poisson count model of y_tx H / h_k (base margin:
     * log of BG/NBD's expected transactions). */
    if (rc == CLV_OK && tx) {
        for (uint64_t i = 0; i < ex->rows; i++) {
            y[i] = ex->y_tx[i] * (float)H / ex->days[i];
            graw[i] = offset ? m[(size_t)i * cols + F] * (float)H : NAN;
        }
        for (uint64_t i = 0; i < n; i++) praw[i] = offset ? pm[(size_t)i * pcols + F] * (float)H : NAN;
        const task po = { "count:poisson", "poisson-nloglik", 0, 1 };
        rc = run_task(&fr, m, cols, ex, y, offset ? graw : NULL, &o, &po, &r.tx_rounds, &lpo, &r.valid_rmse_tx);
        if (rc == CLV_OK)
            rc = refit(&fr, m, cols, ex, y, offset ? graw : NULL, pm, offset ? praw : NULL, n, &o, &po,
                       r.tx_rounds, tx);
    }
    /* Any purchase: a logistic classifier on the window's 0/1 (windows are
     * shorter than H: a ranking score more than a calibrated probability). */
    if (rc == CLV_OK && p_active) {
        for (uint64_t i = 0; i < ex->rows; i++) y[i] = ex->y_active[i] > 0 ? 1.0f : 0.0f;
        const task lg = { "binary:logistic", "logloss", 0, 0 };
        rc = run_task(&fr, m, cols, ex, y, NULL, &o, &lg, &r.active_rounds, &r.valid_logloss_active,
                      &lpo);
        if (rc == CLV_OK) rc = refit(&fr, m, cols, ex, y, NULL, pm, NULL, n, &o, &lg, r.active_rounds, p_active);
    }
    clv__free(m);
    clv__free(pm);
    clv__free(y);
    clv__free(graw);
    clv__free(praw);
    clv__examples_free(ex);
    clv__examples_free(px);
    if (rc == CLV_OK && rep) *rep = r;
    return rc;
}

#endif /* CLV_HAVE_XGBOOST */
