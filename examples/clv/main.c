/* clv: customer lifetime value from the command line.
 *
 * Introduces usage of: the whole pipeline as an application sees it —
 * clv_txlog (reading logs), clv_forecaster (fit, save, load, predict),
 * clv_backtest (honest evaluation against BTYD baselines), clv_simulate. */
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: clv COMMAND [OPTIONS]\n"
    "\n"
    "Predict customer lifetime value from a transaction log.\n"
    "\n"
    "commands:\n"
    "  demo       backtest on built-in synthetic data (no input needed)\n"
    "  simulate   write a synthetic transaction log\n"
    "  train      fit a model on data up to a cutoff and save it\n"
    "  predict    per-customer spend, transactions, P(active) and stage\n"
    "  evaluate   honest backtest: the sequence model against BG/NBD, Pareto/NBD\n"
    "             (with Gamma-Gamma spend) and a naive baseline\n"
    "  explain    why one customer's prediction is what it is (attributions)\n"
    "  tune       bounded hyper-parameter search on the temporal validation split\n"
    "  version    print the library version\n"
    "\n"
    "'clv COMMAND --help' describes each command. Exit status: 0 success,\n"
    "1 runtime failure, 2 usage error.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("clv %s (libclv ABI %u)\n", clv_version(), clv_abi_version());
        return CLI_OK;
    }
    /* Training is full of small GEMMs: one BLAS thread avoids the pool
     * fighting over two cores, and keeps results bit-reproducible. */
    if (clv_blas_set_num_threads(1) != CLV_OK) return cli_fail("cannot set BLAS threads");
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        { "demo", cmd_demo },       { "simulate", cmd_simulate }, { "train", cmd_train },
        { "predict", cmd_predict }, { "evaluate", cmd_evaluate }, { "explain", cmd_explain },
        { "tune", cmd_tune },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(cmd, cmds[i].name)) {
            cli_cmd = cmds[i].name;
            return cmds[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "clv: unknown command '%s'\n", cmd);
    fputs(usage, stderr);
    return CLI_USAGE;
}
