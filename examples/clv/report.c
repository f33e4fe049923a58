/* The backtest table (stdout) and its JSON form (--json). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Next name of a comma-separated list into buf; returns the rest or NULL at the end. */
static const char *next_name(const char *p, char *buf, size_t size)
{
    if (!p || !*p) return NULL;
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    if (n >= size) n = size - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return c ? c + 1 : p + strlen(p);
}

int cli_check_models(const char *list)
{
    if (!list) return CLI_OK;
    if (!*list) return cli_usage_error("--models needs at least one model name");
    char name[64];
    int32_t id;
    for (const char *p = list; (p = next_name(p, name, sizeof name)) != NULL;) {
        if (clv_backtest_model_lookup(name, &id) != CLV_OK) return cli_usage_error("--models: %s", clv_last_error());
        int rc = clv_backtest_model_available(id);
        if (rc != CLV_OK) return cli_lib_fail("--models", rc);
    }
    return CLI_OK;
}

int cli_backtest_rows(const clv_backtest *bt, const char *list, uint32_t *rows, uint32_t *nrows)
{
    const uint32_t m = clv_backtest_models(bt);
    *nrows = 0;
    if (!list) {
        for (uint32_t k = 0; k < m && k < 16; k++) rows[(*nrows)++] = k;
        return CLI_OK;
    }
    char name[64];
    for (const char *p = list; (p = next_name(p, name, sizeof name)) != NULL;) {
        int32_t want, id;
        if (clv_backtest_model_lookup(name, &want) != CLV_OK) return cli_usage_error("--models: %s", clv_last_error());
        uint32_t k = 0;
        for (; k < m; k++)
            if (clv_backtest_model_lookup(clv_backtest_model_name(bt, k), &id) == CLV_OK && id == want) break;
        if (k == m)
            return cli_fail("model '%s' has no row: the log is too short for it (xgboost needs a calibration "
                            "window with room for two training cutoffs)", name);
        if (*nrows < 16) rows[(*nrows)++] = k;
    }
    return CLI_OK;
}

int cli_print_backtest(const clv_backtest *bt, const uint32_t *rows, uint32_t nrows, int32_t cutoff, int32_t end,
                       const char *title)
{
    char c[16], h0[16], h1[16];
    if (clv_date_format(cutoff, c, sizeof c) != CLV_OK || clv_date_format(cutoff + 1, h0, sizeof h0) != CLV_OK ||
        clv_date_format(end, h1, sizeof h1) != CLV_OK)
        return cli_fail("bad dates");
    printf("%s\n", title);
    printf("calibration up to %s, holdout %s .. %s (%d days), %llu customers\n", c, h0, h1, (int)(end - cutoff),
           (unsigned long long)clv_backtest_customers(bt));
    printf("holdout truth: %.0f transactions, $%.2f spend, %.0f customers buying\n\n",
           clv_backtest_actual_transactions(bt), clv_backtest_actual_spend(bt), clv_backtest_actual_active(bt));
    printf("%-13s %8s %8s %7s %8s %7s %7s %8s %7s %8s %6s %8s\n", "model", "MAE", "RMSE", "R2", "Spearman",
           "Gini", "dMAPE", "spend%", "txMAE", "tx%", "AUC", "secs");
    for (uint32_t i = 0; i < nrows; i++) {
        const uint32_t k = rows[i];
        clv_metrics m;
        clv_metrics_init(&m);
        double tmae, tpct, auc, secs;
        int rc = clv_backtest_scores(bt, k, &m, &tmae, &tpct, &auc, &secs);
        if (rc != CLV_OK) return cli_lib_fail("scores", rc);
        printf("%-13s %8.2f %8.2f %7.3f %8.3f %7.3f %7.3f %+8.1f %7.3f %+8.1f ", clv_backtest_model_name(bt, k), m.mae,
               m.rmse, m.r2, m.spearman, m.gini_norm, m.decile_mape, m.total_pct_error, tmae, tpct);
        if (isfinite(auc)) printf("%6.3f", auc);
        else printf("%6s", "-");
        printf(" %8.1f\n", secs);
    }
    for (uint32_t j = 0; j < nrows; j++) {
        const uint32_t k = rows[j];
        double cov;
        if (clv_backtest_interval_coverage(bt, k, &cov) == CLV_OK && isfinite(cov))
            printf("%-13s 80%% spend interval holds the actual spend for %.1f%% of customers\n",
                   clv_backtest_model_name(bt, k), 100.0 * cov);
        const double pen = clv_backtest_model_penalty(bt, k);
        if (pen > 0)
            printf("%-13s fitted with penalty %g: maximum likelihood ran off to infinity "
                   "(the data do not identify the model)\n", clv_backtest_model_name(bt, k), pen);
    }
    return CLI_OK;
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

int cli_write_backtest_json(const clv_backtest *bt, const uint32_t *rows, uint32_t nrows, int32_t cutoff,
                            int32_t end, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return cli_fail("out of memory");
    char c[16], e[16];
    if (clv_date_format(cutoff, c, sizeof c) != CLV_OK || clv_date_format(end, e, sizeof e) != CLV_OK) {
        fclose(f);
        free(text);
        return cli_fail("bad dates");
    }
    fprintf(f, "{\"cutoff\":\"%s\",\"holdout_end\":\"%s\",\"customers\":%llu,", c, e,
            (unsigned long long)clv_backtest_customers(bt));
    fprintf(f, "\"actual\":{\"spend\":");
    json_num(f, clv_backtest_actual_spend(bt));
    fprintf(f, ",\"transactions\":");
    json_num(f, clv_backtest_actual_transactions(bt));
    fprintf(f, ",\"active\":");
    json_num(f, clv_backtest_actual_active(bt));
    fprintf(f, "},\"models\":[");
    for (uint32_t ri = 0; ri < nrows; ri++) {
        const uint32_t k = rows[ri];
        clv_metrics m;
        clv_metrics_init(&m);
        double tmae, tpct, auc, secs;
        if (clv_backtest_scores(bt, k, &m, &tmae, &tpct, &auc, &secs) != CLV_OK) continue;
        fprintf(f, "%s{\"name\":\"%s\",\"spend\":{", ri ? "," : "", clv_backtest_model_name(bt, k));
        const char *names[] = { "mae", "rmse", "r2", "spearman", "gini_norm", "decile_mape", "total_pct_error" };
        const double vals[] = { m.mae, m.rmse, m.r2, m.spearman, m.gini_norm, m.decile_mape, m.total_pct_error };
        for (int i = 0; i < 7; i++) {
            fprintf(f, "%s\"%s\":", i ? "," : "", names[i]);
            json_num(f, vals[i]);
        }
        fprintf(f, "},\"transactions\":{\"mae\":");
        json_num(f, tmae);
        fprintf(f, ",\"total_pct_error\":");
        json_num(f, tpct);
        fprintf(f, "},\"active\":{\"auc\":");
        json_num(f, auc);
        double cov = NAN;
        if (clv_backtest_interval_coverage(bt, k, &cov) != CLV_OK) cov = NAN;
        fprintf(f, "},\"interval80\":{\"coverage\":");
        json_num(f, cov);
        fprintf(f, "},\"fit_seconds\":");
        json_num(f, secs);
        fprintf(f, "}");
    }
    fprintf(f, "]}\n");
    if (fclose(f) != 0) {
        free(text);
        return cli_fail("out of memory");
    }
    int rc = cli_write_file_atomic(path, text, len);
    free(text);
    return rc;
}
