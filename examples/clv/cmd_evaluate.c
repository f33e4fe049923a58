/* clv evaluate: the honest backtest of ../shared/PROTOCOL.md, and clv demo,
 * the same on built-in synthetic data. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char evaluate_usage[] =
    "usage: clv evaluate --data FILE --cutoff DATE --holdout-end DATE [--json FILE] [--report FILE]\n"
    "                    [--customer-col C] [--date-col C] [--amount-col C] [--lenient]\n"
    "                    [--models LIST] [--seed S] [--dropout P] [--quiet]\n"
    "\n"
    "Fit every model on the log up to --cutoff (nothing later is read for fitting),\n"
    "predict the holdout (cutoff, holdout-end], and print one row per model:\n"
    "the sequence model (lstm) with its default configuration, BG/NBD and\n"
    "Pareto/NBD with Gamma-Gamma spend, the naive spend-rate baseline and, when\n"
    "libclv was built with XGBoost, gradient-boosted trees (xgboost), and the\n"
    "direct horizon network (ziln: zero-inflated lognormal spend + Poisson count).\n"
    "\n"
    "  --data FILE          transaction log (CSV, TSV, semicolon or whitespace separated)\n"
    "  --cutoff DATE        last day of calibration (YYYY-MM-DD)\n"
    "  --holdout-end DATE   last day of the holdout\n"
    "  --json FILE          also write the results as JSON\n"
    "  --report FILE        also write an HTML report with charts (learning curve, deciles,\n"
    "                       gain curves, weekly tracking); one self-contained file\n"
    "  --customer-col C, --date-col C, --amount-col C\n"
    "                       column by header name or 1-based index (default: common names)\n"
    "  --lenient            skip and count malformed rows instead of stopping\n"
    "  --models LIST        rows to show, comma-separated, in that order (lstm, bgnbd_gg,\n"
    "                       paretonbd_gg, naive, xgboost, ziln; default: every model of this build;\n"
    "                       every available model is still fitted)\n"
    "  --seed S             seed of the sequence model (default 1)\n"
    "  --dropout P          the sequence model's dropout rate in training, 0..0.9 (default 0)\n"
    "  --quiet              no progress on stderr\n";

/* Run the backtest and print the rows `models` selects (NULL: all); on
 * success *out holds it and rows/nrows the selection, for the caller. */
static int run(clv_txlog *log, int32_t cutoff, int32_t end, uint64_t seed, double dropout, const char *title,
               const char *models, clv_backtest **out, uint32_t *rows, uint32_t *nrows)
{
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    fo.seed = seed;
    fo.dropout = (float)dropout;
    fo.threads = cli_default_threads();   /* prediction only: the results do not depend on it */
    clv_backtest *bt;
    int rc = clv_backtest_run(log, cutoff, end, &fo, cli_progress, NULL, &bt);
    cli_progress_done();
    if (rc != CLV_OK) return cli_lib_fail("backtest", rc);
    int res = cli_backtest_rows(bt, models, rows, nrows);
    if (res == CLI_OK) res = cli_print_backtest(bt, rows, *nrows, cutoff, end, title);
    if (res != CLI_OK) {
        clv_backtest_free(bt);
        return res;
    }
    *out = bt;
    return CLI_OK;
}

static int write_report(const clv_backtest *bt, const char *path, const char *title)
{
    int rc = clv_backtest_write_report(bt, path, title);
    if (rc != CLV_OK) return cli_lib_fail("writing the report", rc);
    if (!cli_quiet) fprintf(stderr, "clv %s: report written to %s\n", cli_cmd, path);
    return CLI_OK;
}

int cmd_evaluate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, 0, 'd' },         { "cutoff", required_argument, 0, 'c' },
        { "holdout-end", required_argument, 0, 'e' },  { "json", required_argument, 0, 'j' },
        { "customer-col", required_argument, 0, 'C' }, { "date-col", required_argument, 0, 'D' },
        { "amount-col", required_argument, 0, 'A' },   { "lenient", no_argument, 0, 'l' },
        { "seed", required_argument, 0, 's' },         { "quiet", no_argument, 0, 'q' },
        { "models", required_argument, 0, 'm' },       { "help", no_argument, 0, 'h' },
        { "report", required_argument, 0, 'r' },       { "dropout", required_argument, 0, 'P' },
        { 0, 0, 0, 0 },
    };
    data_opts d = { 0 };
    const char *cutoff_s = NULL, *end_s = NULL, *json = NULL, *models = NULL, *report = NULL;
    uint64_t seed = 1;
    double dropout = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': d.path = optarg; break;
        case 'c': cutoff_s = optarg; break;
        case 'e': end_s = optarg; break;
        case 'j': json = optarg; break;
        case 'r': report = optarg; break;
        case 'C': d.customer_col = optarg; break;
        case 'D': d.date_col = optarg; break;
        case 'A': d.amount_col = optarg; break;
        case 'l': d.lenient = 1; break;
        case 'm': models = optarg; break;
        case 's': if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &seed)) return CLI_USAGE; break;
        case 'P': if (cli_parse_float("--dropout", optarg, 0, 0.9, &dropout)) return CLI_USAGE; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(evaluate_usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!d.path) return cli_usage_error("--data is required");
    if (!cutoff_s) return cli_usage_error("--cutoff is required");
    if (!end_s) return cli_usage_error("--holdout-end is required");
    int32_t cutoff, end;
    if (cli_parse_date("--cutoff", cutoff_s, &cutoff) || cli_parse_date("--holdout-end", end_s, &end)) return CLI_USAGE;
    if (end <= cutoff) return cli_usage_error("--holdout-end (%s) must be after --cutoff (%s)", end_s, cutoff_s);
    int mrc = cli_check_models(models);
    if (mrc != CLI_OK) return mrc;
    clv_txlog *log;
    clv_txlog_report rep;
    int rc = cli_load_log(&d, &log, &rep);
    if (rc != CLI_OK) return rc;
    char title[600];
    snprintf(title, sizeof title, "clv evaluate: %s", d.path);
    clv_backtest *bt = NULL;
    uint32_t rows[16], nrows = 0;
    rc = run(log, cutoff, end, seed, dropout, title, models, &bt, rows, &nrows);
    if (rc == CLI_OK && json) rc = cli_write_backtest_json(bt, rows, nrows, cutoff, end, json);
    if (rc == CLI_OK && report) rc = write_report(bt, report, title);
    clv_backtest_free(bt);
    clv_txlog_free(log);
    return rc;
}

static const char demo_usage[] =
    "usage: clv demo [--customers N] [--seed S] [--scenario NAME] [--dropout P] [--json FILE]\n"
    "                [--report FILE] [--quiet]\n"
    "\n"
    "Generate the built-in synthetic transaction log (a BG/NBD purchase process\n"
    "with Gamma-Gamma spend and seasonality, see docs/simulator.md), then run the\n"
    "same honest backtest as 'clv evaluate': calibration 1997-01-01 .. 1997-09-30,\n"
    "holdout to 1998-06-30. Also scores the oracle, the generator's true expected\n"
    "holdout spend per customer, and each model's gap to it.\n"
    "\n"
    "  --customers N    synthetic customers (default 5000)\n"
    "  --seed S         generator and model seed (default 1)\n"
    "  --scenario NAME  generator setting: base (default), seasonal (strong weekly\n"
    "                   and yearly seasonality), churn (half the customers drop\n"
    "                   out after each purchase, on average), frequent (purchase\n"
    "                   rates four times higher)\n"
    "  --dropout P      the sequence model's dropout rate in training, 0..0.9 (default 0)\n"
    "  --json FILE      also write the results as JSON\n"
    "  --report FILE    also write an HTML report with charts, as clv evaluate --report\n"
    "  --quiet          no progress on stderr\n";

/* The generator settings of --scenario; base is the simulator's defaults. */
static int apply_scenario(const char *name, clv_sim_options *so)
{
    if (strcmp(name, "base") == 0) return 0;
    if (strcmp(name, "seasonal") == 0) {
        so->weekly_amplitude = 0.6;
        so->yearly_amplitude = 0.9;
        return 0;
    }
    if (strcmp(name, "churn") == 0) {   /* mean dropout a / (a + b) = 0.5 (default 0.25) */
        so->a = 1.5;
        so->b = 1.5;
        return 0;
    }
    if (strcmp(name, "frequent") == 0) {   /* mean weekly rate r / alpha = 0.22 (default 0.055) */
        so->alpha = so->alpha / 4.0;
        return 0;
    }
    return -1;
}

/* The oracle row and every model's gap to it. The generator's latent truth
 * lines up with the backtest's customers when all were acquired by the
 * cutoff (customer i has id i+1 and the log lists them in id order). */
static int print_oracle(const clv_backtest *bt, const uint32_t *rows, uint32_t nrows, const clv_sim_options *so,
                        int32_t cutoff, int32_t end)
{
    const uint64_t n = clv_backtest_customers(bt);
    if (n != so->customers) {
        printf("oracle: not scored (%llu of %llu customers bought by the cutoff)\n", (unsigned long long)n,
               (unsigned long long)so->customers);
        return CLI_OK;
    }
    float *spend = calloc(n, sizeof *spend), *tx = calloc(n, sizeof *tx);
    if (!spend || !tx) {
        free(spend);
        free(tx);
        return cli_fail("out of memory");
    }
    int rc = clv_simulate_truth(so, cutoff, end, tx, spend, NULL);
    clv_metrics o;
    clv_metrics_init(&o);
    if (rc == CLV_OK) rc = clv_metrics_compute(n, spend, clv_backtest_actual_spend_per_customer(bt), &o);
    double tx_total = 0;
    for (uint64_t i = 0; i < n; i++) tx_total += tx[i];
    free(spend);
    free(tx);
    if (rc != CLV_OK) return cli_lib_fail("scoring the oracle", rc);
    const double act_tx = clv_backtest_actual_transactions(bt);
    printf("%-13s %8.2f %8.2f %7.3f %8.3f %7.3f %7.3f %+8.1f %7s %+8.1f %6s %8s\n", "oracle", o.mae, o.rmse, o.r2,
           o.spearman, o.gini_norm, o.decile_mape, o.total_pct_error, "-",
           act_tx > 0 ? 100.0 * (tx_total - act_tx) / act_tx : 0.0, "-", "-");
    printf("\ngap to the oracle   RMSE    Spearman    Gini    dMAPE   |spend%%|\n");
    for (uint32_t j = 0; j < nrows; j++) {
        const uint32_t k = rows[j];
        clv_metrics m;
        clv_metrics_init(&m);
        rc = clv_backtest_scores(bt, k, &m, NULL, NULL, NULL, NULL);
        if (rc != CLV_OK) return cli_lib_fail("scores", rc);
        printf("%-13s %+10.2f %+10.3f %+8.3f %+8.3f %+9.1f\n", clv_backtest_model_name(bt, k), m.rmse - o.rmse,
               m.spearman - o.spearman, m.gini_norm - o.gini_norm, m.decile_mape - o.decile_mape,
               fabs(m.total_pct_error) - fabs(o.total_pct_error));
    }
    return CLI_OK;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        { "customers", required_argument, 0, 'n' }, { "seed", required_argument, 0, 's' },
        { "json", required_argument, 0, 'j' },      { "quiet", no_argument, 0, 'q' },
        { "scenario", required_argument, 0, 'S' },  { "help", no_argument, 0, 'h' },
        { "report", required_argument, 0, 'r' },    { "dropout", required_argument, 0, 'P' },
        { 0, 0, 0, 0 },
    };
    uint64_t n = 5000, seed = 1;
    double dropout = 0;
    const char *json = NULL, *scenario = "base", *report = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': if (cli_parse_u64("--customers", optarg, 10, 10000000, &n)) return CLI_USAGE; break;
        case 's': if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &seed)) return CLI_USAGE; break;
        case 'S': scenario = optarg; break;
        case 'P': if (cli_parse_float("--dropout", optarg, 0, 0.9, &dropout)) return CLI_USAGE; break;
        case 'j': json = optarg; break;
        case 'r': report = optarg; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(demo_usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = n;
    so.seed = seed;
    if (apply_scenario(scenario, &so) != 0)
        return cli_usage_error("unknown --scenario '%s' (base, seasonal, churn or frequent)", scenario);
    int32_t cutoff, end;
    if (clv_date_parse("1997-09-30", &cutoff) != CLV_OK || clv_date_parse("1998-06-30", &end) != CLV_OK)
        return cli_fail("date parsing is broken");
    clv_txlog *log = NULL;
    int rc = clv_txlog_new(&log, NULL);
    if (rc == CLV_OK) rc = clv_simulate_to_txlog(&so, log);
    if (rc != CLV_OK) {
        clv_txlog_free(log);
        return cli_lib_fail("simulating", rc);
    }
    char title[300];
    snprintf(title, sizeof title, "clv demo: %llu synthetic customers (scenario %s, seed %llu)", (unsigned long long)n,
             scenario, (unsigned long long)seed);
    clv_backtest *bt = NULL;
    uint32_t rows[16], nrows = 0;
    int out = run(log, cutoff, end, seed, dropout, title, NULL, &bt, rows, &nrows);
    if (out == CLI_OK) out = print_oracle(bt, rows, nrows, &so, cutoff, end);
    if (out == CLI_OK && json) out = cli_write_backtest_json(bt, rows, nrows, cutoff, end, json);
    if (out == CLI_OK && report) out = write_report(bt, report, title);
    clv_backtest_free(bt);
    clv_txlog_free(log);
    return out;
}
