/* Writes a synthetic transaction log with clv_simulate_to_csv (default
 * simulator options but the customer count and seed) and prints its data row
 * count, for bench/run's data cache.
 *
 *   bench_gen --customers N [--seed S] OUT.csv
 *
 * Prints "ROWS <data rows> CUSTOMERS <N> SECONDS <generation time>". */
#define _POSIX_C_SOURCE 200809L

#include <clv/clv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(void)
{
    fprintf(stderr, "usage: bench_gen --customers N [--seed S] OUT.csv\n");
    exit(2);
}

int main(int argc, char **argv)
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--customers") == 0 && i + 1 < argc) o.customers = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) o.seed = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] == '-' || out) usage();
        else out = argv[i];
    }
    if (!out) usage();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = clv_simulate_to_csv(&o, out);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc != CLV_OK) {
        fprintf(stderr, "bench_gen: clv_simulate_to_csv failed (%d): %s\n", rc, clv_last_error());
        return 1;
    }
    FILE *f = fopen(out, "rb");
    if (!f) {
        fprintf(stderr, "bench_gen: cannot reopen %s\n", out);
        return 1;
    }
    static char buf[1 << 16];
    unsigned long long lines = 0;
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < k; i++) lines += buf[i] == '\n';
    fclose(f);
    printf("ROWS %llu CUSTOMERS %llu SECONDS %.3f\n", lines ? lines - 1 : 0, (unsigned long long)o.customers,
           (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9);
    return 0;
}
