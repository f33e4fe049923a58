/* clv_backtest_write_report: one self-contained HTML file with inline SVG
 * charts (learning curves, deciles, gain curves, tracking plots). No
 * script and no external resource: it opens anywhere, offline, as is. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/container.h"
#include "backtest_impl.h"

/* ---- a growable string ---------------------------------------------------- */

typedef struct sbuf {
    char *p;
    uint64_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) CLV__PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || clv__grow((void **)&b->p, &b->cap, b->len + (uint64_t)n + 1, 1) != CLV_OK) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (uint64_t)n;
}

/* Text for HTML content and attribute values alike. */
static void sb_esc(sbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': sb_printf(b, "&lt;"); break;
        case '>': sb_printf(b, "&gt;"); break;
        case '&': sb_printf(b, "&amp;"); break;
        case '"': sb_printf(b, "&quot;"); break;
        case '\'': sb_printf(b, "&#39;"); break;
        default: sb_printf(b, "%c", *s);
        }
    }
}

/* ---- charts --------------------------------------------------------------- */

static const char *const PALETTE[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b" };
#define ACTUAL_COLOR "#222222"
#define ML 72   /* margins: room for tick labels and axis titles */
#define MR 16
#define MT 14
#define MB 46
#define LEGEND_ROW 18

typedef struct chart {
    sbuf *b;
    double x0, x1, y0, y1;
    int w, h;        /* whole SVG */
    int plot_h;      /* height above the legend */
    int date_x;      /* x values are days: label ticks as dates */
    double xstep;    /* x tick step; 0 = automatic */
    int legend_n, legend_cols;
} chart;

static double px(const chart *c, double x) { return ML + (x - c->x0) / (c->x1 - c->x0) * (c->w - ML - MR); }
static double py(const chart *c, double y) { return c->plot_h - MB - (y - c->y0) / (c->y1 - c->y0) * (c->plot_h - MT - MB); }

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks. */
static double nice_step(double range, int n)
{
    double raw = range / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void fmt_num(char *s, size_t size, double v)
{
    double a = fabs(v);
    if (a >= 1e6) snprintf(s, size, "%.3gM", v / 1e6);
    else if (a >= 1e4) snprintf(s, size, "%.3gk", v / 1e3);
    else snprintf(s, size, "%.4g", fabs(v) < 1e-12 ? 0.0 : v);
}

/* Data range with headroom; a flat range is widened so the scale exists. */
static void pad_range(double *lo, double *hi, int from_zero)
{
    if (from_zero && *lo > 0) *lo = 0;
    if (!(*hi > *lo)) *hi = *lo + (fabs(*lo) > 0 ? fabs(*lo) : 1.0);
    const double mag = fmax(fabs(*lo), fabs(*hi));
    if (*hi - *lo < 1e-6 * mag) {   /* values a few ulp apart: a readable axis around them */
        *lo -= 1e-3 * mag;
        *hi += 1e-3 * mag;
    }
    double pad = 0.05 * (*hi - *lo);
    *hi += pad;
    if (!from_zero || *lo < 0) *lo -= pad;
}

static void chart_begin(chart *c, const char *kind, const char *model, const char *label, const char *xlabel,
                        const char *ylabel, int legend_n, int w)
{
    sbuf *b = c->b;
    c->w = w;
    c->plot_h = w >= 600 ? 340 : 260;
    c->legend_n = 0;
    c->legend_cols = 2;
    c->h = c->plot_h + LEGEND_ROW * ((legend_n + c->legend_cols - 1) / c->legend_cols) + 6;
    sb_printf(b, "<svg class=\"chart\" data-chart=\"%s\"", kind);
    if (model) {
        sb_printf(b, " data-model=\"");
        sb_esc(b, model);
        sb_printf(b, "\"");
    }
    sb_printf(b, " xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                 "aria-label=\"", c->w, c->h, c->w, c->h);
    sb_esc(b, label);
    sb_printf(b, "\">\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", c->w, c->h);
    /* Grid and tick labels. */
    const double xs = c->xstep > 0 ? c->xstep
                      : c->date_x ? 7.0 * ceil(nice_step((c->x1 - c->x0) / 7.0, 6))
                                  : nice_step(c->x1 - c->x0, 6);
    const double ys = nice_step(c->y1 - c->y0, 5);
    char t[32];
    /* Ticks by an integer count: a step below half an ulp of the values
     * (losses 1 ulp apart) would never move y. */
    const double yfirst = ceil(c->y0 / ys) * ys;
    for (int i = 0; i <= 64; i++) {
        const double y = yfirst + i * ys;
        if (!(y <= c->y1 + 1e-9 * ys) || (i > 0 && y == yfirst + (i - 1) * ys)) break;
        fmt_num(t, sizeof t, y);
        sb_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                     "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                  ML, py(c, y), c->w - MR, py(c, y), ML - 6, py(c, y) + 4, t);
    }
    const double xfirst = c->date_x ? c->x0 : ceil(c->x0 / xs) * xs;
    for (int i = 0; i <= 64; i++) {
        const double x = xfirst + i * xs;
        if (!(x <= c->x1 + 1e-9 * xs) || (i > 0 && x == xfirst + (i - 1) * xs)) break;
        if (c->date_x) {
            if (clv_date_format((int32_t)x, t, sizeof t) != CLV_OK) snprintf(t, sizeof t, "day %.0f", x);
        } else {
            fmt_num(t, sizeof t, x);
        }
        sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                     "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                  px(c, x), MT, px(c, x), py(c, c->y0), px(c, x), py(c, c->y0) + 16, t);
    }
    sb_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                 "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>\n",
              ML, py(c, c->y0), c->w - MR, py(c, c->y0), ML, MT, ML, py(c, c->y0));
    sb_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", (ML + c->w - MR) / 2.0,
              c->plot_h - 8);
    sb_esc(b, xlabel);
    sb_printf(b, "</text><text class=\"label\" transform=\"translate(16,%.1f) rotate(-90)\" text-anchor=\"middle\">",
              (MT + c->plot_h - MB) / 2.0);
    sb_esc(b, ylabel);
    sb_printf(b, "</text>\n");
}

/* Legend entry: a line sample (dash = NULL for solid) or a square (bar). */
static void legend(chart *c, const char *color, const char *dash, int square, const char *text)
{
    const int col = c->legend_n % c->legend_cols, row = c->legend_n / c->legend_cols;
    const double x = ML + col * (double)(c->w - ML - MR) / c->legend_cols, y = c->plot_h + row * LEGEND_ROW + 8;
    if (square)
        sb_printf(c->b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"%s\"/>", x, y - 4, color);
    else
        sb_printf(c->b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"%s%s%s/>",
                  x, y + 1, x + 22, y + 1, color, dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    sb_printf(c->b, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">", x + 28, y + 5);
    sb_esc(c->b, text);
    sb_printf(c->b, "</text>\n");
    c->legend_n++;
}

static void polyline(chart *c, const char *model, const char *color, const char *dash, uint64_t n, const double *x,
                     const double *y)
{
    sb_printf(c->b, "<polyline class=\"series\" data-model=\"");
    sb_esc(c->b, model);
    sb_printf(c->b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s points=\"", color,
              dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    for (uint64_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) sb_printf(c->b, "%s%.1f,%.1f", i ? " " : "", px(c, x[i]), py(c, y[i]));
    sb_printf(c->b, "\"/>\n");
}

static void dot(chart *c, const char *color, double x, double y, double r)
{
    if (!isfinite(x) || !isfinite(y)) return;   /* a diverged loss: no point rather than cy="nan" */
    sb_printf(c->b, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>", px(c, x), py(c, y), r,
              color);
}

static void chart_end(chart *c) { sb_printf(c->b, "</svg>\n"); }

static void minmax(const double *v, uint64_t n, double *lo, double *hi)
{
    for (uint64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (v[i] < *lo) *lo = v[i];
            if (v[i] > *hi) *hi = v[i];
        }
}

/* ---- the four sections ---------------------------------------------------- */

static void learning_curve(sbuf *b, const clv_backtest *bt)
{
    sb_printf(b, "<section><h2>Learning curve of the sequence model (%s)</h2>\n", bt->r[0].name);
    if (bt->nlc == 0) {
        sb_printf(b, "<p class=\"note\">No epochs were recorded.</p></section>\n");
        return;
    }
    uint32_t runs = 0, max_epoch = 1, final_epochs = 0;
    int has_valid = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (uint64_t i = 0; i < bt->nlc; i++) {
        const clv__lc_point *p = &bt->lc[i];
        if (p->run > runs) runs = p->run;
        if (p->epoch > max_epoch) max_epoch = p->epoch;
        if (isfinite(p->valid)) has_valid = 1;
        minmax(&p->train, 1, &lo, &hi);
        minmax(&p->valid, 1, &lo, &hi);
    }
    for (uint64_t i = 0; i < bt->nlc; i++)
        if (bt->lc[i].run == runs) final_epochs = bt->lc[i].epoch;
    pad_range(&lo, &hi, 0);
    chart c = { .b = b, .x0 = has_valid || max_epoch > 1 ? 1 : 0, .x1 = max_epoch, .y0 = lo, .y1 = hi };
    if (c.x1 <= c.x0) c.x1 = c.x0 + 1;
    const uint32_t nets = has_valid ? runs - 1 : runs;
    chart_begin(&c, "learning-curve", bt->r[0].name, "learning curve", "epoch",
                "loss per target week (cross-entropy + value error)", (has_valid ? 2 : 0) + (nets > 0), 720);
    double *x = clv__calloc(max_epoch, sizeof *x), *y = clv__calloc(max_epoch, sizeof *y);
    if (!x || !y) {
        b->oom = 1;
    } else {
        for (uint32_t run = 1; run <= runs; run++) {
            const int early = has_valid && run == 1;
            uint32_t m = 0;
            for (uint64_t i = 0; i < bt->nlc; i++)
                if (bt->lc[i].run == run && m < max_epoch) {
                    x[m] = bt->lc[i].epoch;
                    y[m++] = bt->lc[i].train;
                }
            polyline(&c, bt->r[0].name, early ? PALETTE[0] : PALETTE[2], early ? NULL : "5,3", m, x, y);
            if (!early) continue;
            m = 0;
            for (uint64_t i = 0; i < bt->nlc; i++)
                if (bt->lc[i].run == run && m < max_epoch) {
                    x[m] = bt->lc[i].epoch;
                    y[m++] = bt->lc[i].valid;
                }
            polyline(&c, bt->r[0].name, PALETTE[1], NULL, m, x, y);
            for (uint32_t k = 0; k < m; k++) dot(&c, PALETTE[1], x[k], y[k], 2.5);
        }
        if (has_valid && final_epochs > 0 && runs > 1) {
            sb_printf(b, "<line class=\"marker\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                         "<text class=\"tick\" x=\"%.1f\" y=\"%d\">epochs used: %u</text>\n",
                      px(&c, final_epochs), MT, px(&c, final_epochs), py(&c, c.y0), px(&c, final_epochs) + 4, MT + 12,
                      final_epochs);
        }
    }
    clv__free(x);
    clv__free(y);
    char t[160];
    if (has_valid) {
        legend(&c, PALETTE[0], NULL, 0, "early stopping: train loss");
        legend(&c, PALETTE[1], NULL, 0, "early stopping: validation loss (held-out weeks)");
    }
    if (nets > 0) {
        snprintf(t, sizeof t, "%u final network%s: train loss, all weeks", nets, nets == 1 ? "" : "s");
        legend(&c, PALETTE[2], "5,3", 0, t);
    }
    chart_end(&c);
    sb_printf(b, "<p class=\"note\">Mean loss per training week after each epoch. %s</p></section>\n",
              has_valid ? "The early-stopping run holds out the last weeks before the cutoff and picks the number "
                          "of epochs where their loss is lowest; the ensemble is then trained on every week for "
                          "that many epochs." : "The number of epochs was fixed: no validation run.");
}

/* Customers ranked by a key, largest first; ties by index, so the output is stable. */
typedef struct ranked {
    float key;
    uint64_t i;
} ranked;

static int by_key_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void order_by(const float *key, uint64_t n, ranked *idx)
{
    for (uint64_t i = 0; i < n; i++) idx[i] = (ranked){ key[i], i };
    qsort(idx, (size_t)n, sizeof *idx, by_key_desc);
}

static void deciles(sbuf *b, const clv_backtest *bt, ranked *idx)
{
    sb_printf(b, "<section><h2>Predicted vs actual holdout spend by decile</h2>\n");
    const uint64_t n = bt->n;
    if (n < 10) {
        sb_printf(b, "<p class=\"note\">Fewer than 10 customers: no deciles.</p></section>\n");
        return;
    }
    sb_printf(b, "<p class=\"note\">Customers ranked by each model's predicted spend and cut into ten equal groups "
                 "(decile 1 = highest predicted); bars are the group's mean predicted and mean actual holdout "
                 "spend.</p>\n<div class=\"grid\">\n");
    for (uint32_t k = 0; k < bt->nmodels; k++) {
        const clv__bt_model *r = &bt->r[k];
        order_by(r->spend, n, idx);
        double pred[10], act[10], lo = 0, hi = 0;
        for (int d = 0; d < 10; d++) {
            const uint64_t a = n * d / 10, e = n * (d + 1) / 10;
            double sp = 0, sa = 0;
            for (uint64_t i = a; i < e; i++) {
                sp += r->spend[idx[i].i];
                sa += bt->y_spend[idx[i].i];
            }
            pred[d] = sp / (double)(e - a);
            act[d] = sa / (double)(e - a);
        }
        minmax(pred, 10, &lo, &hi);
        minmax(act, 10, &lo, &hi);
        pad_range(&lo, &hi, 1);
        chart c = { .b = b, .x0 = 0.5, .x1 = 10.5, .y0 = lo, .y1 = hi, .xstep = 1 };
        char label[96];
        snprintf(label, sizeof label, "%s: deciles", r->name);
        chart_begin(&c, "deciles", r->name, label, "decile of predicted spend (1 = highest)", "mean holdout spend", 2,
                    460);
        const char *color = PALETTE[k % 6];
        for (int d = 0; d < 10; d++) {
            const double x = d + 1.0, bw = 0.36 * (px(&c, 1) - px(&c, 0));
            const double y0 = py(&c, lo > 0 ? lo : 0);
            double yp = py(&c, pred[d]), ya = py(&c, act[d]);
            sb_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>"
                         "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#9e9e9e\"/>\n",
                      px(&c, x) - bw, fmin(yp, y0), bw, fabs(y0 - yp), color, px(&c, x), fmin(ya, y0), bw,
                      fabs(y0 - ya));
        }
        sb_printf(b, "<text class=\"title\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", c.w - MR - 4, MT + 14);
        sb_esc(b, r->name);
        sb_printf(b, "</text>\n");
        legend(&c, color, NULL, 1, "mean predicted");
        legend(&c, "#9e9e9e", NULL, 1, "mean actual");
        chart_end(&c);
    }
    sb_printf(b, "</div></section>\n");
}

/* Up to `points` + 1 points of the gain curve of ranking `idx`. */
static uint32_t gain_curve(const float *actual, uint64_t n, const ranked *idx, double total, uint32_t points,
                           double *x, double *y)
{
    uint32_t m = 0;
    double cum = 0;
    uint64_t next = 0;
    x[m] = 0;
    y[m++] = 0;
    for (uint32_t j = 1; j <= points; j++) {
        const uint64_t upto = n * j / points;
        for (; next < upto; next++) cum += actual[idx[next].i];
        if (upto == 0) continue;
        x[m] = (double)upto / (double)n;
        y[m++] = cum / total;
    }
    return m;
}

static void gains(sbuf *b, const clv_backtest *bt, ranked *idx)
{
    sb_printf(b, "<section><h2>Gain curve (Lorenz curve of holdout spend)</h2>\n");
    double total = 0;
    for (uint64_t i = 0; i < bt->n; i++) total += bt->y_spend[i];
    if (!(total > 0)) {
        sb_printf(b, "<p class=\"note\">Nobody spent anything in the holdout: no gain curve.</p></section>\n");
        return;
    }
    enum { POINTS = 200 };
    double x[POINTS + 1], y[POINTS + 1];
    chart c = { .b = b, .x0 = 0, .x1 = 1, .y0 = 0, .y1 = 1.02 };
    chart_begin(&c, "gain", NULL, "gain curve", "share of customers, ranked by predicted spend",
                "share of actual holdout spend", bt->nmodels + 2, 720);
    const double diag[2] = { 0, 1 };
    polyline(&c, "random", "#9e9e9e", "2,3", 2, diag, diag);
    order_by(bt->y_spend, bt->n, idx);
    uint32_t m = gain_curve(bt->y_spend, bt->n, idx, total, POINTS, x, y);
    polyline(&c, "perfect", ACTUAL_COLOR, "6,3", m, x, y);
    char t[160];
    for (uint32_t k = 0; k < bt->nmodels; k++) {
        order_by(bt->r[k].spend, bt->n, idx);
        m = gain_curve(bt->y_spend, bt->n, idx, total, POINTS, x, y);
        polyline(&c, bt->r[k].name, PALETTE[k % 6], NULL, m, x, y);
    }
    legend(&c, ACTUAL_COLOR, "6,3", 0, "perfect ranking (by actual spend)");
    legend(&c, "#9e9e9e", "2,3", 0, "random ranking");
    for (uint32_t k = 0; k < bt->nmodels; k++) {
        if (isfinite(bt->r[k].m.gini_norm))
            snprintf(t, sizeof t, "%s (normalised Gini %.3f)", bt->r[k].name, bt->r[k].m.gini_norm);
        else
            snprintf(t, sizeof t, "%s (normalised Gini undefined)", bt->r[k].name);
        legend(&c, PALETTE[k % 6], NULL, 0, t);
    }
    chart_end(&c);
    sb_printf(b, "<p class=\"note\">The normalised Gini is the model's area between its curve and the diagonal "
                 "divided by the perfect ranking's: 1 ranks as well as the truth, 0 as chance.</p></section>\n");
}

/* Cumulative (weekly = 0) or per-week (weekly = 1) repeat transactions of the cohort. */
static void tracking(sbuf *b, const clv_backtest *bt, int weekly)
{
    const clv__tracking *tr = &bt->tr;
    const uint32_t G = tr->grid, C = tr->cal_weeks, H = tr->hold_weeks;
    double *x = clv__calloc(G, sizeof *x), *y = clv__calloc(G, sizeof *y);
    if (!x || !y) {
        b->oom = 1;
        clv__free(x);
        clv__free(y);
        return;
    }
    const double at_cutoff = tr->actual_cum[C];
    /* Series value at grid point k from cumulative values; weekly: the increment since k-1. */
#define VAL(cum, k, prev) (weekly ? (cum) - (prev) : (cum))
    double lo = 0, hi = 0;
    for (uint32_t k = 1; k < G; k++) {
        double v = VAL(tr->actual_cum[k], k, tr->actual_cum[k - 1]);
        if (v > hi) hi = v;
    }
    for (uint32_t m = 0; m < bt->nmodels; m++) {
        const clv__bt_model *r = &bt->r[m];
        for (uint32_t k = 1; r->pop_cum && k < G; k++) {
            double v = VAL(r->pop_cum[k], k, r->pop_cum[k - 1]);
            if (v > hi) hi = v;
        }
        for (uint32_t w = 0; r->hold_cum && w < H; w++) {
            double v = weekly ? r->hold_cum[w] - (w ? r->hold_cum[w - 1] : 0) : at_cutoff + r->hold_cum[w];
            if (v > hi) hi = v;
        }
        if (!r->hold_cum && !weekly) {
            double tot = 0;
            for (uint64_t i = 0; i < bt->n; i++) tot += r->tx[i];
            if (at_cutoff + tot > hi) hi = at_cutoff + tot;
        }
    }
    pad_range(&lo, &hi, 1);
    chart c = { .b = b, .x0 = tr->day[0], .x1 = tr->day[G - 1], .y0 = lo, .y1 = hi, .date_x = 1 };
    int nleg = 1;
    for (uint32_t m = 0; m < bt->nmodels; m++)
        nleg += (bt->r[m].pop_cum != NULL) + (bt->r[m].hold_cum != NULL || !weekly);
    chart_begin(&c, weekly ? "tracking-weekly" : "tracking", NULL, weekly ? "weekly tracking" : "cumulative tracking",
                "end of week", weekly ? "repeat transactions in the week" : "cumulative repeat transactions", nleg,
                720);
    sb_printf(b, "<line class=\"marker\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                 "<text class=\"tick\" x=\"%.1f\" y=\"%d\">cutoff</text>\n",
              px(&c, bt->cutoff), MT, px(&c, bt->cutoff), py(&c, c.y0), px(&c, bt->cutoff) + 4, MT + 12);
    /* Weekly: the points of grid days 1..G-1; cumulative: 0..G-1. */
    const uint32_t k0 = weekly ? 1 : 0;
    uint32_t m = 0;
    for (uint32_t k = k0; k < G; k++) {
        x[m] = tr->day[k];
        y[m++] = VAL(tr->actual_cum[k], k, k ? tr->actual_cum[k - 1] : 0);
    }
    polyline(&c, "actual", ACTUAL_COLOR, NULL, m, x, y);
    char t[160];
    legend(&c, ACTUAL_COLOR, NULL, 0, "actual");
    for (uint32_t j = 0; j < bt->nmodels; j++) {
        const clv__bt_model *r = &bt->r[j];
        const char *color = PALETTE[j % 6];
        if (r->pop_cum) {
            m = 0;
            for (uint32_t k = k0; k < G; k++) {
                x[m] = tr->day[k];
                y[m++] = VAL(r->pop_cum[k], k, k ? r->pop_cum[k - 1] : 0);
            }
            polyline(&c, r->name, color, "6,4", m, x, y);
            snprintf(t, sizeof t, "%s: from first purchase (unconditional)", r->name);
            legend(&c, color, "6,4", 0, t);
        }
        if (r->hold_cum) {
            m = 0;
            x[m] = tr->day[C];
            y[m++] = weekly ? NAN : at_cutoff;
            for (uint32_t w = 0; w < H; w++) {
                x[m] = tr->day[C + 1 + w];
                y[m++] = weekly ? r->hold_cum[w] - (w ? r->hold_cum[w - 1] : 0) : at_cutoff + r->hold_cum[w];
            }
            polyline(&c, r->name, color, NULL, m, x, y);
            snprintf(t, sizeof t, "%s: forecast from the cutoff", r->name);
            legend(&c, color, NULL, 0, t);
        } else if (!weekly) {
            double tot = 0;
            for (uint64_t i = 0; i < bt->n; i++) tot += r->tx[i];
            dot(&c, color, tr->day[G - 1], at_cutoff + tot, 5);
            snprintf(t, sizeof t, "%s: horizon total only (no weekly path)", r->name);
            legend(&c, color, NULL, 1, t);
        }
    }
#undef VAL
    chart_end(&c);
    clv__free(x);
    clv__free(y);
}

static void tracking_section(sbuf *b, const clv_backtest *bt)
{
    sb_printf(b, "<section><h2>Tracking: actual vs expected repeat transactions</h2>\n"
                 "<p class=\"note\">The cohort is every customer whose first purchase is on or before the cutoff; "
                 "repeat transactions are purchase days after the first. Dashed: the BTYD models' unconditional "
                 "expectation from each customer's first purchase (the tracking plot of lifetimes and CLVTools). "
                 "Solid: each model's forecast for these customers from the cutoff on, given their "
                 "histories (the sequence model's weekly roll-out; it draws no calibration curve). A model with "
                 "a horizon total only is one point at the holdout end.</p>\n");
    tracking(b, bt, 0);
    tracking(b, bt, 1);
    /* The plotted totals as numbers. */
    const clv__tracking *tr = &bt->tr;
    const double at_cutoff = tr->actual_cum[tr->cal_weeks], in_holdout = tr->actual_cum[tr->grid - 1] - at_cutoff;
    sb_printf(b, "<table class=\"tracking\"><thead><tr><th>repeat transactions</th><th>by the cutoff</th>"
                 "<th>in the holdout</th><th>holdout error %%</th></tr></thead><tbody>\n"
                 "<tr><td>actual</td><td>%.0f</td><td>%.0f</td><td></td></tr>\n", at_cutoff, in_holdout);
    for (uint32_t k = 0; k < bt->nmodels; k++) {
        const clv__bt_model *r = &bt->r[k];
        double h = 0;
        for (uint64_t i = 0; i < bt->n; i++) h += r->tx[i];
        sb_printf(b, "<tr><td>");
        sb_esc(b, r->name);
        if (r->pop_cum) sb_printf(b, "</td><td>%.0f</td>", r->pop_cum[tr->cal_weeks]);
        else sb_printf(b, "</td><td>&ndash;</td>");
        sb_printf(b, "<td>%.0f</td><td>%+.1f</td></tr>\n", h, in_holdout > 0 ? 100.0 * (h - in_holdout) / in_holdout : 0.0);
    }
    sb_printf(b, "</tbody></table>\n<p class=\"note\">By the cutoff: the unconditional expectation of the BTYD "
                 "models for the cohort. In the holdout: each model's forecast.</p></section>\n");
}

static void summary(sbuf *b, const clv_backtest *bt, const char *title)
{
    char c[16], e[16];
    if (clv_date_format(bt->cutoff, c, sizeof c) != CLV_OK) snprintf(c, sizeof c, "day %d", (int)bt->cutoff);
    if (clv_date_format(bt->holdout_end, e, sizeof e) != CLV_OK) snprintf(e, sizeof e, "day %d", (int)bt->holdout_end);
    sb_printf(b, "<h1>");
    sb_esc(b, title);
    sb_printf(b, "</h1>\n<p>Honest backtest: every model is fitted on the log up to the cutoff <b>%s</b> and "
                 "predicts the holdout to <b>%s</b> (%d days) for <b>%llu</b> customers. Actual holdout: spend "
                 "%.2f, %.0f transactions, %.0f customers buying. libclv %s.</p>\n",
              c, e, (int)(bt->holdout_end - bt->cutoff), (unsigned long long)bt->n, bt->act_spend, bt->act_tx,
              bt->act_active, clv_version());
    sb_printf(b, "<table class=\"scores\"><thead><tr><th>model</th><th>MAE</th><th>RMSE</th><th>R&sup2;</th><th>Spearman</th>"
                 "<th>Gini</th><th>decile MAPE</th><th>spend %%</th><th>tx MAE</th><th>tx %%</th><th>AUC</th>"
                 "<th>seconds</th></tr></thead><tbody>\n");
    for (uint32_t k = 0; k < bt->nmodels; k++) {
        const clv__bt_model *r = &bt->r[k];
        sb_printf(b, "<tr><td>");
        sb_esc(b, r->name);
        sb_printf(b, "</td>");
        /* A score that does not exist (AUC with one class in the holdout)
         * is a dash, never "nan". */
        const double v[11] = { r->m.mae, r->m.rmse, r->m.r2, r->m.spearman, r->m.gini_norm, r->m.decile_mape,
                               r->m.total_pct_error, r->tx_mae, r->tx_pct, r->auc, r->seconds };
        static const int decimals[11] = { 2, 2, 3, 3, 3, 3, 1, 3, 1, 3, 1 };
        static const int signed_[11] = { 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0 };
        for (int j = 0; j < 11; j++) {
            if (!isfinite(v[j])) sb_printf(b, "<td>&ndash;</td>");
            else if (signed_[j]) sb_printf(b, "<td>%+.*f</td>", decimals[j], v[j]);
            else sb_printf(b, "<td>%.*f</td>", decimals[j], v[j]);
        }
        sb_printf(b, "</tr>\n");
    }
    sb_printf(b, "</tbody></table>\n");
}

static const char STYLE[] =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px}"
    "table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:13px}"
    ".grid{display:flex;flex-wrap:wrap;gap:12px}svg.chart{display:block;margin:8px 0}"
    "svg .grid{stroke:#e6e6e6;stroke-width:1}svg .axis{stroke:#444;stroke-width:1}"
    "svg .marker{stroke:#777;stroke-width:1;stroke-dasharray:4,3}"
    "svg text{font-family:sans-serif;fill:#333}svg .tick{font-size:11px}svg .label{font-size:12px}"
    "svg .legend{font-size:12px}svg .title{font-size:13px;font-weight:bold}";

CLV_API int clv_backtest_write_report(const clv_backtest *bt, const char *path, const char *title)
{
    static const char fn[] = "clv_backtest_write_report";
    CLV__CHECK_ARG(bt != NULL, "%s: backtest is NULL", fn);
    CLV__CHECK_ARG(path != NULL && path[0] != '\0', "%s: path is NULL or empty", fn);
    if (!title) title = "libclv backtest report";
    sbuf b = { 0 };
    ranked *idx = clv__calloc(bt->n ? bt->n : 1, sizeof *idx);
    if (!idx) return clv__oom();
    sb_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    sb_esc(&b, title);
    sb_printf(&b, "</title>\n<style>%s</style></head>\n<body>\n", STYLE);
    summary(&b, bt, title);
    learning_curve(&b, bt);
    deciles(&b, bt, idx);
    gains(&b, bt, idx);
    tracking_section(&b, bt);
    sb_printf(&b, "</body></html>\n");
    clv__free(idx);
    int rc = b.oom ? clv__oom() : clv__save_bytes_atomic(b.p, (size_t)b.len, path, "report");
    clv__free(b.p);
    return rc;
}
