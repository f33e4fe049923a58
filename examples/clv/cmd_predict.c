/* clv predict: per-customer predictions from a saved model. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: clv predict --model MODEL --data FILE --out FILE.csv [--at DATE]\n"
    "                   [--horizon DAYS] [--discount-rate R] [--customer-col C]\n"
    "                   [--date-col C] [--amount-col C] [--lenient] [--threads N] [--quiet]\n"
    "\n"
    "One row per customer with a purchase on or before --at (default: the last\n"
    "date in the data), predicting (at, at + horizon]:\n"
    "  customer_id,predicted_spend,predicted_transactions,p_active,lifecycle_stage,\n"
    "  spend_p10,spend_p90[,discounted_clv]\n"
    "spend_p10 / spend_p90 bound an 80% prediction interval of the spend.\n"
    "\n"
    "  --horizon DAYS      default: the horizon the model was trained for\n"
    "  --discount-rate R   annual rate (e.g. 0.1); adds discounted_clv, the predicted\n"
    "                      spend discounted daily, spend assumed spread evenly\n"
    "  --threads N         prediction threads (default: the CPUs, at most 8); the\n"
    "                      predictions are the same for every N\n";

/* Mean of (1+r)^(-d/365) over days d = 1..H: the discount of spend spread evenly. */
static double discount_factor(double r, uint32_t H)
{
    if (r == 0) return 1.0;
    const double q = pow(1.0 + r, -1.0 / 365.0);
    return q * (1.0 - pow(q, H)) / (1.0 - q) / H;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {
        { "model", required_argument, 0, 'm' },         { "data", required_argument, 0, 'd' },
        { "out", required_argument, 0, 'o' },           { "at", required_argument, 0, 'a' },
        { "horizon", required_argument, 0, 'H' },       { "discount-rate", required_argument, 0, 'r' },
        { "customer-col", required_argument, 0, 'C' },  { "date-col", required_argument, 0, 'D' },
        { "amount-col", required_argument, 0, 'A' },    { "lenient", no_argument, 0, 'l' },
        { "quiet", no_argument, 0, 'q' },               { "help", no_argument, 0, 'h' },
        { "threads", required_argument, 0, 'T' },
        { 0, 0, 0, 0 },
    };
    data_opts d = { 0 };
    const char *model = NULL, *out = NULL, *at_s = NULL;
    uint32_t horizon = 0, threads = cli_default_threads();
    double rate = NAN;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': d.path = optarg; break;
        case 'o': out = optarg; break;
        case 'a': at_s = optarg; break;
        case 'H': if (cli_parse_u32("--horizon", optarg, 1, 36500, &horizon)) return CLI_USAGE; break;
        case 'r': if (cli_parse_float("--discount-rate", optarg, 0, 10, &rate)) return CLI_USAGE; break;
        case 'C': d.customer_col = optarg; break;
        case 'D': d.date_col = optarg; break;
        case 'A': d.amount_col = optarg; break;
        case 'l': d.lenient = 1; break;
        case 'T': if (cli_parse_u32("--threads", optarg, 1, 64, &threads)) return CLI_USAGE; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!model) return cli_usage_error("--model is required");
    if (!d.path) return cli_usage_error("--data is required");
    if (!out) return cli_usage_error("--out is required");
    int32_t at = 0;
    if (at_s && cli_parse_date("--at", at_s, &at)) return CLI_USAGE;

    clv_forecaster *f;
    clv_txlog *log;
    clv_txlog_report rep;
    int rc = cli_load_model_and_log(model, &d, &f, &log, &rep);
    if (rc != CLI_OK) return rc;
    int st;
    if (!at_s) at = (int32_t)rep.last_day;
    clv_prediction *p = NULL;
    st = clv_forecaster_set_threads(f, (int32_t)threads);
    if (st == CLV_OK) st = clv_forecaster_predict(f, log, at, horizon, &p);
    if (st != CLV_OK) {
        rc = cli_lib_fail("predict", st);
    } else {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) {
            clv_prediction_free(p);
            clv_txlog_free(log);
            clv_forecaster_free(f);
            return cli_fail("out of memory");
        }
        const uint32_t H = clv_prediction_horizon_days(p);
        const double disc = isnan(rate) ? 0 : discount_factor(rate, H);
        fputs("customer_id,predicted_spend,predicted_transactions,p_active,lifecycle_stage,spend_p10,spend_p90", m);
        fputs(isnan(rate) ? "\n" : ",discounted_clv\n", m);
        const float *sp = clv_prediction_spend(p), *tx = clv_prediction_transactions(p);
        const float *pa = clv_prediction_p_active(p), *lo = clv_prediction_spend_p10(p), *hi = clv_prediction_spend_p90(p);
        const int32_t *stg = clv_prediction_stages(p);
        for (uint64_t i = 0; i < clv_prediction_customers(p); i++) {
            csv_field(m, clv_prediction_customer_id(p, i));
            fprintf(m, ",%.2f,%.4f,%.4f,%s,%.2f,%.2f", sp[i], tx[i], pa[i], clv_stage_name(stg[i]), lo[i], hi[i]);
            if (!isnan(rate)) fprintf(m, ",%.2f", sp[i] * disc);
            fputc('\n', m);
        }
        if (fclose(m) != 0) rc = cli_fail("out of memory");
        else rc = cli_write_file_atomic(out, text, len);
        free(text);
        if (rc == CLI_OK && !cli_quiet) {
            char a[16];
            if (clv_date_format(at, a, sizeof a) != CLV_OK) a[0] = 0;
            fprintf(stderr, "clv predict: %llu customers at %s over %u days -> %s\n",
                    (unsigned long long)clv_prediction_customers(p), a, H, out);
        }
    }
    clv_prediction_free(p);
    clv_txlog_free(log);
    clv_forecaster_free(f);
    return rc;
}
