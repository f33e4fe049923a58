/* The backtest table (stdout) and its JSON form (--json). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_print_backtest(const clv_backtest *bt, int32_t cutoff, int32_t end, const char *title)
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
    for (uint32_t k = 0; k < clv_backtest_models(bt); k++) {
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
    return CLI_OK;
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

int cli_write_backtest_json(const clv_backtest *bt, int32_t cutoff, int32_t end, const char *path)
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
    for (uint32_t k = 0; k < clv_backtest_models(bt); k++) {
        clv_metrics m;
        clv_metrics_init(&m);
        double tmae, tpct, auc, secs;
        if (clv_backtest_scores(bt, k, &m, &tmae, &tpct, &auc, &secs) != CLV_OK) continue;
        fprintf(f, "%s{\"name\":\"%s\",\"spend\":{", k ? "," : "", clv_backtest_model_name(bt, k));
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
