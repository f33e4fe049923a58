/* clv tune: a bounded hyper-parameter search on the temporal validation
 * split (the last weeks before the cutoff), nothing after the cutoff read. */
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: clv tune --data FILE --cutoff DATE [--out MODEL --horizon DAYS] [--seed S]\n"
    "                [--customer-col C] [--date-col C] [--amount-col C] [--lenient] [--quiet]\n"
    "\n"
    "Try a small grid of configurations (cell lstm/gru, hidden 16/32/64, learning\n"
    "rate 0.001/0.003/0.01: 18 runs without dropout), then the best of them with\n"
    "dropout 0.1/0.2/0.3 (3 runs) on the log up to --cutoff. Each run is the\n"
    "early-stopping run of 'clv train' with one network: trained on every week but\n"
    "the last 4 before the cutoff, scored by its best loss on those 4 weeks\n"
    "(cross-entropy of next week's transactions plus squared error of log spend,\n"
    "per held-out week; lower is better). Prints every run and the best; with --out,\n"
    "trains the best configuration as 'clv train' would (ensemble of 3) and saves it.\n";

typedef struct trial {
    int32_t cell;
    uint32_t hidden;
    float lr, dropout;
    double best;
    uint32_t epoch;
} trial;

/* Keeps the lowest held-out loss; stops the fit once the early-stopping run
 * is over (the final run reports no held-out loss). */
static int watch(const clv_fit_progress *p, void *user)
{
    trial *t = user;
    if (isnan(p->valid_loss)) return 1;
    if (p->valid_loss < t->best) {
        t->best = p->valid_loss;
        t->epoch = p->epoch;
    }
    return 0;
}

/* One early-stopping run of t's configuration; prints its row. A diverged
 * configuration scores +inf and is not an error: the others still count. */
static int run_trial(const clv_txlog *log, int32_t cutoff, uint64_t seed, trial *t)
{
    const char *cell = t->cell == CLV_CELL_GRU ? "gru" : "lstm";
    t->best = INFINITY;
    t->epoch = 0;
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    fo.cell = t->cell;
    fo.hidden_size = t->hidden;
    fo.lr = t->lr;
    fo.dropout = t->dropout;
    fo.seed = seed;
    fo.ensemble = 1;
    clv_forecaster *f;
    int st = clv_forecaster_new(&f, &fo);
    if (st == CLV_OK) st = clv_forecaster_set_callback(f, watch, t);
    if (st == CLV_OK) st = clv_forecaster_fit(f, log, cutoff);
    clv_forecaster_free(f);
    if (st == CLV_ENUMERIC) {
        printf("%-5s %6u %7.4f %7.2f %12s %6s\n", cell, t->hidden, (double)t->lr, (double)t->dropout, "diverged", "-");
        t->best = INFINITY;
        return CLI_OK;
    }
    if (st != CLV_OK && st != CLV_ECANCELED) return cli_lib_fail("tune", st);
    if (isinf(t->best)) return cli_fail("no held-out weeks before the cutoff: the log is too short to tune on");
    printf("%-5s %6u %7.4f %7.2f %12.6f %6u\n", cell, t->hidden, (double)t->lr, (double)t->dropout, t->best, t->epoch);
    fflush(stdout);
    return CLI_OK;
}

int cmd_tune(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, 0, 'd' },         { "cutoff", required_argument, 0, 'c' },
        { "out", required_argument, 0, 'o' },          { "horizon", required_argument, 0, 'H' },
        { "seed", required_argument, 0, 's' },         { "customer-col", required_argument, 0, 'C' },
        { "date-col", required_argument, 0, 'D' },     { "amount-col", required_argument, 0, 'A' },
        { "lenient", no_argument, 0, 'l' },            { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },               { 0, 0, 0, 0 },
    };
    data_opts d = { 0 };
    const char *cutoff_s = NULL, *out = NULL;
    uint32_t horizon = 0;
    uint64_t seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': d.path = optarg; break;
        case 'c': cutoff_s = optarg; break;
        case 'o': out = optarg; break;
        case 'H': if (cli_parse_u32("--horizon", optarg, 1, 36500, &horizon)) return CLI_USAGE; break;
        case 's': if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &seed)) return CLI_USAGE; break;
        case 'C': d.customer_col = optarg; break;
        case 'D': d.date_col = optarg; break;
        case 'A': d.amount_col = optarg; break;
        case 'l': d.lenient = 1; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!d.path) return cli_usage_error("--data is required");
    if (!cutoff_s) return cli_usage_error("--cutoff is required");
    if (out && !horizon) return cli_usage_error("--out needs --horizon");
    int32_t cutoff;
    if (cli_parse_date("--cutoff", cutoff_s, &cutoff)) return CLI_USAGE;
    clv_txlog *log;
    clv_txlog_report rep;
    int rc = cli_load_log(&d, &log, &rep);
    if (rc != CLI_OK) return rc;
    static const int32_t cells[] = { CLV_CELL_LSTM, CLV_CELL_GRU };
    static const uint32_t hiddens[] = { 16, 32, 64 };
    static const float lrs[] = { 1e-3f, 3e-3f, 1e-2f };
    /* Dropout is tried on the best configuration only: 3 runs, not 3 x 18. */
    static const float dropouts[] = { 0.1f, 0.2f, 0.3f };
    trial trials[21], *best = NULL;
    uint32_t n = 0;
    printf("%-5s %6s %7s %7s %12s %6s\n", "cell", "hidden", "lr", "dropout", "valid_loss", "epoch");
    for (size_t a = 0; a < 2 && rc == CLI_OK; a++)
        for (size_t b = 0; b < 3 && rc == CLI_OK; b++)
            for (size_t k = 0; k < 3 && rc == CLI_OK; k++) {
                trial *t = &trials[n++];
                *t = (trial){ cells[a], hiddens[b], lrs[k], 0.0f, INFINITY, 0 };
                rc = run_trial(log, cutoff, seed, t);
                if (rc == CLI_OK && !isinf(t->best) && (!best || t->best < best->best)) best = t;
            }
    if (rc == CLI_OK && !best) rc = cli_fail("every configuration diverged");
    for (size_t k = 0; k < 3 && rc == CLI_OK; k++) {
        trial *t = &trials[n++];
        *t = (trial){ best->cell, best->hidden, best->lr, dropouts[k], INFINITY, 0 };
        rc = run_trial(log, cutoff, seed, t);
        if (rc == CLI_OK && !isinf(t->best) && t->best < best->best) best = t;
    }
    if (rc == CLI_OK && best) {
        printf("best: --model %s --hidden %u --lr %g --dropout %g (held-out loss %.6f)\n",
               best->cell == CLV_CELL_GRU ? "gru" : "lstm", best->hidden, (double)best->lr, (double)best->dropout,
               best->best);
        if (out) {
            clv_forecast_options fo;
            clv_forecast_options_init(&fo);
            fo.cell = best->cell;
            fo.hidden_size = best->hidden;
            fo.lr = best->lr;
            fo.dropout = best->dropout;
            fo.seed = seed;
            fo.horizon_days = horizon;
            rc = cli_fit_and_save(log, cutoff, &fo, out);
        }
    }
    clv_txlog_free(log);
    return rc;
}
