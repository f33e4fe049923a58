/* clv simulate: write the built-in synthetic transaction log as CSV. */
#include <getopt.h>

#include "cli.h"

static const char usage[] =
    "usage: clv simulate --customers N --out FILE [--seed S] [--days D] [--quiet]\n"
    "\n"
    "Write a synthetic transaction log (header customer_id,date,amount,quantity,event)\n"
    "from the built-in generator (docs/simulator.md). The file is written\n"
    "atomically: a failure never leaves a partial file under FILE.\n"
    "\n"
    "  --customers N   number of customers (1 .. 100000000)\n"
    "  --out FILE      output CSV\n"
    "  --seed S        generator seed (default 1)\n"
    "  --days D        length of the simulated window from 1997-01-01 (default 546)\n";

int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "customers", required_argument, 0, 'n' }, { "seed", required_argument, 0, 's' },
        { "out", required_argument, 0, 'o' },       { "days", required_argument, 0, 'D' },
        { "quiet", no_argument, 0, 'q' },           { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    clv_sim_options so;
    clv_sim_options_init(&so);
    const char *out = NULL;
    int have_n = 0, c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_u64("--customers", optarg, 1, 100000000, &so.customers)) return CLI_USAGE;
            have_n = 1;
            break;
        case 's': if (cli_parse_u64("--seed", optarg, 0, UINT64_MAX, &so.seed)) return CLI_USAGE; break;
        case 'D': if (cli_parse_u32("--days", optarg, 1, 100000, &so.days)) return CLI_USAGE; break;
        case 'o': out = optarg; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        case ':': return cli_usage_error("%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!have_n) return cli_usage_error("--customers is required");
    if (!out) return cli_usage_error("--out is required");
    int rc = clv_simulate_to_csv(&so, out);
    if (rc != CLV_OK) return cli_lib_fail("simulate", rc);
    if (!cli_quiet) fprintf(stderr, "clv simulate: wrote %llu customers to %s\n", (unsigned long long)so.customers, out);
    return CLI_OK;
}
