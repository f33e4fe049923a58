/* clv evaluate: the honest backtest of ../shared/PROTOCOL.md, and clv demo,
 * the same on built-in synthetic data. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char evaluate_usage[] =
    "usage: clv evaluate --data FILE --cutoff DATE --holdout-end DATE [--json FILE]\n"
    "                    [--customer-col C] [--date-col C] [--amount-col C] [--lenient]\n"
    "                    [--models LIST] [--seed S] [--quiet]\n"
    "\n"
    "Fit every model on the log up to --cutoff (nothing later is read for fitting),\n"
    "predict the holdout (cutoff, holdout-end], and print one row per model:\n"
    "the sequence model (lstm) with its default configuration, BG/NBD and\n"
    "Pareto/NBD with Gamma-Gamma spend, the naive spend-rate baseline and, when\n"
    "libclv was built with XGBoost, gradient-boosted trees (xgboost).\n"
    "\n"
    "  --data FILE          transaction log (CSV, TSV, semicolon or whitespace separated)\n"
    "  --cutoff DATE        last day of calibration (YYYY-MM-DD)\n"
    "  --holdout-end DATE   last day of the holdout\n"
    "  --json FILE          also write the results as JSON\n"
    "  --customer-col C, --date-col C, --amount-col C\n"
    "                       column by header name or 1-based index (default: common names)\n"
    "  --lenient            skip and count malformed rows instead of stopping\n"
    "  --models LIST        rows to show, comma-separated, in that order (lstm, bgnbd_gg,\n"
    "                       paretonbd_gg, naive, xgboost; default: every model of this build;\n"
    "                       every available model is still fitted)\n"
    "  --seed S             seed of the sequence model (default 1)\n"
    "  --quiet              no progress on stderr\n";

static int run(clv_txlog *log, int32_t cutoff, int32_t end, uint64_t seed, const char *json, const char *title,
               const char *models)
{
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    fo.seed = seed;
    clv_backtest *bt;
    int rc = clv_backtest_run(log, cutoff, end, &fo, cli_progress, NULL, &bt);
    cli_progress_done();
    if (rc != CLV_OK) return cli_lib_fail("backtest", rc);
    uint32_t rows[16], nrows = 0;
    int out = cli_backtest_rows(bt, models, rows, &nrows);
    if (out == CLI_OK) out = cli_print_backtest(bt, rows, nrows, cutoff, end, title);
    if (out == CLI_OK && json) out = cli_write_backtest_json(bt, rows, nrows, cutoff, end, json);
    clv_backtest_free(bt);
    return out;
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
        { 0, 0, 0, 0 },
    };
    data_opts d = { 0 };
    const char *cutoff_s = NULL, *end_s = NULL, *json = NULL, *models = NULL;
    uint64_t seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': d.path = optarg; break;
        case 'c': cutoff_s = optarg; break;
        case 'e': end_s = optarg; break;
        case 'j': json = optarg; break;
        case 'C': d.customer_col = optarg; break;
        case 'D': d.date_col = optarg; break;
        case 'A': d.amount_col = optarg; break;
        case 'l': d.lenient = 1; break;
        case 'm': models = optarg; break;
        case 's': if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &seed)) return CLI_USAGE; break;
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
    rc = run(log, cutoff, end, seed, json, title, models);
    clv_txlog_free(log);
    return rc;
}

static const char demo_usage[] =
    "usage: clv demo [--customers N] [--seed S] [--json FILE] [--quiet]\n"
    "\n"
    "Generate the built-in synthetic transaction log (a BG/NBD purchase process\n"
    "with Gamma-Gamma spend and seasonality, see docs/simulator.md), then run the\n"
    "same honest backtest as 'clv evaluate': calibration 1997-01-01 .. 1997-09-30,\n"
    "holdout to 1998-06-30. Also prints the oracle: the generator's true expected\n"
    "holdout spend per customer.\n"
    "\n"
    "  --customers N   synthetic customers (default 5000)\n"
    "  --seed S        generator and model seed (default 1)\n"
    "  --json FILE     also write the results as JSON\n"
    "  --quiet         no progress on stderr\n";

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        { "customers", required_argument, 0, 'n' }, { "seed", required_argument, 0, 's' },
        { "json", required_argument, 0, 'j' },      { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },            { 0, 0, 0, 0 },
    };
    uint64_t n = 5000, seed = 1;
    const char *json = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': if (cli_parse_u64("--customers", optarg, 10, 10000000, &n)) return CLI_USAGE; break;
        case 's': if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &seed)) return CLI_USAGE; break;
        case 'j': json = optarg; break;
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
    char title[200];
    snprintf(title, sizeof title, "clv demo: %llu synthetic customers (seed %llu)", (unsigned long long)n,
             (unsigned long long)seed);
    int out = run(log, cutoff, end, seed, json, title, NULL);
    if (out == CLI_OK) {
        /* The oracle: the generator's own expectation, against the same truth. */
        float *truth = calloc(n, sizeof *truth);
        double tot = 0;
        if (truth && clv_simulate_truth(&so, cutoff, end, NULL, truth, NULL) == CLV_OK) {
            for (uint64_t i = 0; i < n; i++) tot += truth[i];
            printf("%-13s expected holdout spend from the generator's latent truth: $%.2f\n", "oracle", tot);
        }
        free(truth);
    }
    clv_txlog_free(log);
    return out;
}
