/* clv train: fit the forecaster on data up to a cutoff and save the model. */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: clv train --data FILE --cutoff DATE --horizon DAYS --out MODEL\n"
    "                 [--period week] [--model lstm|gru] [--loss default]\n"
    "                 [--hidden H] [--layers L] [--epochs E] [--batch B] [--lr X] [--dropout P]\n"
    "                 [--seed S] [--samples N] [--ensemble K] [--customer-col C] [--date-col C]\n"
    "                 [--amount-col C] [--lenient] [--quiet] [--mpi] [--checkpoint FILE]\n"
    "\n"
    "Learn from the log up to --cutoff only (nothing later is read) to predict\n"
    "the next --horizon days, and save everything predict needs in one model\n"
    "file (written atomically). Without tuning flags the library's default\n"
    "configuration is used, the one 'clv evaluate' reports.\n"
    "\n"
    "  --period week      the sequence period; the per-week model supports week only\n"
    "  --model lstm|gru   recurrent cell (default lstm)\n"
    "  --loss default     the per-week model's loss: cross-entropy on next week's\n"
    "                     transactions plus squared error of log spend (fixed)\n"
    "  --hidden H (32), --layers L (1), --epochs E (auto), --batch B (128), --lr X (0.003)\n"
    "  --dropout P        dropout rate on the recurrent layers' outputs in training,\n"
    "                     0..0.9 (0: off; docs/accuracy.md)\n"
    "  --samples N        Monte Carlo paths per customer at prediction (32)\n"
    "  --ensemble K       networks trained with seeds S, S+1, ... and averaged (3)\n"
    "  --seed S           initialisation, shuffling and sampling seed (1)\n"
    "  --mpi              data-parallel training under mpirun: each rank reads its\n"
    "                     shard of the customers from --data (or --data part-{rank}.csv,\n"
    "                     per-rank files), gradients are averaged over the ranks, and\n"
    "                     rank 0 writes --out (docs/scale-out.md)\n"
    "  --checkpoint FILE  save the training state to FILE after every epoch (rank 0,\n"
    "                     atomically) and resume from it when it exists\n";

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, 0, 'd' },         { "cutoff", required_argument, 0, 'c' },
        { "horizon", required_argument, 0, 'H' },      { "out", required_argument, 0, 'o' },
        { "period", required_argument, 0, 'p' },       { "model", required_argument, 0, 'm' },
        { "loss", required_argument, 0, 'L' },         { "hidden", required_argument, 0, 'n' },
        { "layers", required_argument, 0, 'y' },       { "epochs", required_argument, 0, 'e' },
        { "batch", required_argument, 0, 'b' },        { "lr", required_argument, 0, 'r' },
        { "seed", required_argument, 0, 's' },         { "samples", required_argument, 0, 'S' },
        { "ensemble", required_argument, 0, 'E' },     { "dropout", required_argument, 0, 'P' },
        { "customer-col", required_argument, 0, 'C' }, { "date-col", required_argument, 0, 'D' },
        { "amount-col", required_argument, 0, 'A' },   { "lenient", no_argument, 0, 'l' },
        { "quiet", no_argument, 0, 'q' },              { "help", no_argument, 0, 'h' },
        { "mpi", no_argument, 0, 'M' },                { "checkpoint", required_argument, 0, 'K' },
        { 0, 0, 0, 0 },
    };
    data_opts d = { 0 };
    clv_forecast_options fo;
    clv_forecast_options_init(&fo);
    const char *cutoff_s = NULL, *out = NULL, *checkpoint = NULL;
    int have_h = 0, use_mpi = 0, c;
    double lr, dropout;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': d.path = optarg; break;
        case 'c': cutoff_s = optarg; break;
        case 'H':
            if (cli_parse_u32("--horizon", optarg, 1, 36500, &fo.horizon_days)) return CLI_USAGE;
            have_h = 1;
            break;
        case 'o': out = optarg; break;
        case 'p':
            if (strcmp(optarg, "week") != 0)
                return cli_usage_error("--period %s: the per-week sequence model supports 'week' only", optarg);
            break;
        case 'm':
            if (strcmp(optarg, "lstm") == 0) fo.cell = CLV_CELL_LSTM;
            else if (strcmp(optarg, "gru") == 0) fo.cell = CLV_CELL_GRU;
            else return cli_usage_error("--model: expected lstm or gru, got \"%s\"", optarg);
            break;
        case 'L':
            if (strcmp(optarg, "default") != 0)
                return cli_usage_error("--loss %s: the per-week model's loss is fixed; only 'default' is accepted", optarg);
            break;
        case 'n': if (cli_parse_u32("--hidden", optarg, 1, 1024, &fo.hidden_size)) return CLI_USAGE; break;
        case 'y': if (cli_parse_u32("--layers", optarg, 1, 8, &fo.num_layers)) return CLI_USAGE; break;
        case 'e': if (cli_parse_u32("--epochs", optarg, 0, 10000, &fo.epochs)) return CLI_USAGE; break;
        case 'b': if (cli_parse_u32("--batch", optarg, 1, 65536, &fo.batch_size)) return CLI_USAGE; break;
        case 'r':
            if (cli_parse_float("--lr", optarg, 1e-7, 1, &lr)) return CLI_USAGE;
            fo.lr = (float)lr;
            break;
        case 'P':
            if (cli_parse_float("--dropout", optarg, 0, 0.9, &dropout)) return CLI_USAGE;
            fo.dropout = (float)dropout;
            break;
        case 's': if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &fo.seed)) return CLI_USAGE; break;
        case 'S': if (cli_parse_u32("--samples", optarg, 1, 100000, &fo.samples)) return CLI_USAGE; break;
        case 'E': if (cli_parse_u32("--ensemble", optarg, 1, 16, &fo.ensemble)) return CLI_USAGE; break;
        case 'C': d.customer_col = optarg; break;
        case 'D': d.date_col = optarg; break;
        case 'A': d.amount_col = optarg; break;
        case 'l': d.lenient = 1; break;
        case 'q': cli_quiet = 1; break;
        case 'M': use_mpi = 1; break;
        case 'K': checkpoint = optarg; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!d.path) return cli_usage_error("--data is required");
    if (!cutoff_s) return cli_usage_error("--cutoff is required");
    if (!have_h) return cli_usage_error("--horizon is required");
    if (!out) return cli_usage_error("--out is required");
    int32_t cutoff;
    if (cli_parse_date("--cutoff", cutoff_s, &cutoff)) return CLI_USAGE;
    if (use_mpi || checkpoint) return cli_train_dist(&d, cutoff, &fo, out, checkpoint, use_mpi);
    clv_txlog *log;
    clv_txlog_report rep;
    int rc = cli_load_log(&d, &log, &rep);
    if (rc != CLI_OK) return rc;
    rc = cli_fit_and_save(log, cutoff, &fo, out);
    clv_txlog_free(log);
    return rc;
}
