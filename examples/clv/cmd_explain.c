/* clv explain: why one customer's prediction is what it is. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: clv explain --model MODEL --data FILE --customer ID [--at DATE] [--weeks N]\n"
    "                   [--customer-col C] [--date-col C] [--amount-col C] [--lenient]\n"
    "\n"
    "Attribute the customer's expected spend in the first week after --at (default:\n"
    "the last date in the data), where every roll-out path of 'clv predict' starts,\n"
    "to the model's weekly inputs, by integrated gradients against the average\n"
    "training week. Prints each input's total over the history, largest first, and\n"
    "the attribution of each of the last --weeks weeks (default 8). Attributions are\n"
    "in dollars of that week's expected spend and add up to prediction - baseline.\n";

typedef struct input_total {
    const char *name;
    double total;
} input_total;

static int by_size(const void *a, const void *b)
{
    double x = fabs(((const input_total *)a)->total), y = fabs(((const input_total *)b)->total);
    return (x < y) - (x > y);
}

static int print_explanation(const clv_explanation *e, const char *id, int32_t at, uint32_t show_weeks)
{
    char day[16];
    if (clv_date_format(at, day, sizeof day) != CLV_OK) return cli_fail("bad date");
    const uint32_t W = clv_explanation_weeks(e), K = clv_explanation_inputs(e);
    const float *a = clv_explanation_attributions(e);
    const double v = clv_explanation_value(e), b = clv_explanation_baseline(e);
    printf("customer %s at %s: expected spend in the next week $%.4f (average training week $%.4f)\n", id, day, v, b);
    printf("%u weeks of history; attributions add up to %+.4f\n\n", W, v - b);
    input_total t[64];
    if (K > 64) return cli_fail("too many inputs");
    for (uint32_t k = 0; k < K; k++) {
        t[k].name = clv_explanation_input_name(e, k);
        t[k].total = 0;
        for (uint32_t w = 0; w < W; w++) t[k].total += a[(size_t)w * K + k];
    }
    qsort(t, K, sizeof *t, by_size);
    printf("%-26s %12s\n", "input", "attribution");
    for (uint32_t k = 0; k < K; k++) printf("%-26s %+12.4f\n", t[k].name, t[k].total);
    const uint32_t from = W > show_weeks ? W - show_weeks : 0;
    printf("\n%-26s %12s\n", "week (0 = the week of --at)", "attribution");
    for (uint32_t w = from; w < W; w++) {
        double s = 0;
        for (uint32_t k = 0; k < K; k++) s += a[(size_t)w * K + k];
        printf("%-26d %+12.4f\n", -(int)(W - 1 - w), s);
    }
    return CLI_OK;
}

int cmd_explain(int argc, char **argv)
{
    static const struct option opts[] = {
        { "model", required_argument, 0, 'm' },        { "data", required_argument, 0, 'd' },
        { "customer", required_argument, 0, 'c' },     { "at", required_argument, 0, 'a' },
        { "weeks", required_argument, 0, 'w' },        { "customer-col", required_argument, 0, 'C' },
        { "date-col", required_argument, 0, 'D' },     { "amount-col", required_argument, 0, 'A' },
        { "lenient", no_argument, 0, 'l' },            { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    data_opts d = { 0 };
    const char *model = NULL, *id = NULL, *at_s = NULL;
    uint32_t weeks = 8;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': d.path = optarg; break;
        case 'c': id = optarg; break;
        case 'a': at_s = optarg; break;
        case 'w': if (cli_parse_u32("--weeks", optarg, 1, 10000, &weeks)) return CLI_USAGE; break;
        case 'C': d.customer_col = optarg; break;
        case 'D': d.date_col = optarg; break;
        case 'A': d.amount_col = optarg; break;
        case 'l': d.lenient = 1; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!model) return cli_usage_error("--model is required");
    if (!d.path) return cli_usage_error("--data is required");
    if (!id) return cli_usage_error("--customer is required");
    int32_t at = 0;
    if (at_s && cli_parse_date("--at", at_s, &at)) return CLI_USAGE;
    cli_quiet = 1;
    clv_forecaster *f;
    clv_txlog *log;
    clv_txlog_report rep;
    int rc = cli_load_model_and_log(model, &d, &f, &log, &rep);
    if (rc != CLI_OK) return rc;
    int st;
    if (!at_s) at = (int32_t)rep.last_day;
    clv_explanation *e;
    st = clv_forecaster_explain(f, log, at, id, &e);
    if (st != CLV_OK) rc = cli_lib_fail("explain", st);
    else {
        rc = print_explanation(e, id, at, weeks);
        clv_explanation_free(e);
    }
    clv_txlog_free(log);
    clv_forecaster_free(f);
    return rc;
}
