/* libclv's side of `bench/run pipeline`: one timed run of the feature
 * pipeline on one CSV file, as a user would write it (only <clv/clv.h>).
 *
 *   bench_pipeline [--cutoff YYYY-MM-DD] [--holdout-end YYYY-MM-DD] [--threads N] [--dump DIR] FILE
 *   bench_pipeline --version
 *
 * Threads: clv_pipeline_options.threads (fit and transform) and
 * clv_txlog_options.threads (the CSV read, which uses at most 2: one parses
 * while the calling thread folds rows into the log) are both --threads N,
 * else $CLV_BENCH_THREADS, else 0 = one per online CPU. The pandas side runs single-threaded; --version and the RESULT
 * line (threads=) say what was used.
 *
 * Timed (CLOCK_MONOTONIC, wall clock), in this process:
 *   clv_txlog_new + clv_txlog_read_csv (parse, same-day merge)
 *   clv_pipeline_new + clv_pipeline_fit at the cutoff
 *   clv_pipeline_transform (the finished arrays: sequences [N][T][F],
 *   lengths, static features [N][S], targets, stages, raw summaries, ids)
 * Everything is freed after the clock stops. Printed on stdout, one line:
 *   RESULT side=libclv threads=... seconds=... read_s=... fit_s=... transform_s=...
 *          rows=... peak_kb=... base_kb=... <check counts>
 * peak_kb is getrusage(RUSAGE_SELF).ru_maxrss at the end (the whole process,
 * one run per process); base_kb the same at the start of main(), read_peak_kb
 * and fit_peak_kb after the read and the fit (where the peak comes from). The check
 * counts (computed from the outputs after the clock stops) are compared with
 * pandas' by bench/run. --dump DIR writes every output array for
 * bench/pipeline_check.py (never in a timed run). Exit 1 on any libclv error. */
#define _POSIX_C_SOURCE 200809L

#include <clv/clv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss;   /* kilobytes on Linux */
}

static void die_clv(const char *what, int rc)
{
    fprintf(stderr, "bench_pipeline: %s failed (%d): %s\n", what, rc, clv_last_error());
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_pipeline [--cutoff YYYY-MM-DD] [--holdout-end YYYY-MM-DD] [--threads N] [--dump DIR] FILE\n"
                    "       bench_pipeline --version\n");
    exit(2);
}

static void dump_array(const char *dir, const char *name, const void *data, size_t elem, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, elem, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "bench_pipeline: cannot write %s\n", path);
        exit(1);
    }
}

static void dump(const char *dir, const clv_pipeline *p, const clv_dataset *ds)
{
    const uint64_t n = clv_dataset_customers(ds);
    const uint32_t T = clv_dataset_steps(ds), F = clv_dataset_seq_features(ds), S = clv_dataset_static_features(ds);
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_pipeline: cannot write %s\n", path);
        exit(1);
    }
    fprintf(f, "N %llu\nT %u\nF %u\nS %u\n", (unsigned long long)n, T, F, S);
    for (uint32_t k = 0; k < F; k++) fprintf(f, "seq %s\n", clv_pipeline_seq_feature_name(p, k));
    for (uint32_t k = 0; k < S; k++) fprintf(f, "static %s\n", clv_pipeline_static_feature_name(p, k));
    fclose(f);
    snprintf(path, sizeof path, "%s/ids.txt", dir);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_pipeline: cannot write %s\n", path);
        exit(1);
    }
    for (uint64_t i = 0; i < n; i++) fprintf(f, "%s\n", clv_dataset_customer_id(ds, i));
    fclose(f);
    dump_array(dir, "seq.f32", clv_dataset_sequences(ds), 4, (size_t)n * T * F);
    dump_array(dir, "lengths.i32", clv_dataset_lengths(ds), 4, (size_t)n);
    if (S) dump_array(dir, "static.f32", clv_dataset_static(ds), 4, (size_t)n * S);
    dump_array(dir, "target_spend.f32", clv_dataset_target_spend(ds), 4, (size_t)n);
    dump_array(dir, "target_tx.f32", clv_dataset_target_transactions(ds), 4, (size_t)n);
    dump_array(dir, "target_active.f32", clv_dataset_target_active(ds), 4, (size_t)n);
    dump_array(dir, "stages.i32", clv_dataset_stages(ds), 4, (size_t)n);
    dump_array(dir, "frequency.f32", clv_dataset_frequency(ds), 4, (size_t)n);
    dump_array(dir, "recency.f32", clv_dataset_recency_days(ds), 4, (size_t)n);
    dump_array(dir, "age.f32", clv_dataset_age_days(ds), 4, (size_t)n);
    dump_array(dir, "monetary_repeat.f32", clv_dataset_monetary_repeat(ds), 4, (size_t)n);
    dump_array(dir, "cal_spend.f32", clv_dataset_calibration_spend(ds), 4, (size_t)n);
}

/* --threads, else $CLV_BENCH_THREADS, else 0 (auto). */
static uint32_t parse_threads(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v > 256) {
        fprintf(stderr, "bench_pipeline: threads \"%s\", expected 0 (one per online CPU) .. 256\n", s);
        exit(2);
    }
    return (uint32_t)v;
}

/* What threads = 0 means here: the library resolves it the same way. */
static long online_cpus(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? c : 1;
}

int main(int argc, char **argv)
{
    const long base = peak_kb();
    const char *cutoff_s = "1997-09-30", *end_s = "1998-06-30", *dump_dir = NULL, *file = NULL;
    const char *env_threads = getenv("CLV_BENCH_THREADS");
    uint32_t threads = env_threads && *env_threads ? parse_threads(env_threads) : 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = parse_threads(argv[++i]);
        else if (strcmp(argv[i], "--cutoff") == 0 && i + 1 < argc) cutoff_s = argv[++i];
        else if (strcmp(argv[i], "--holdout-end") == 0 && i + 1 < argc) end_s = argv[++i];
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump_dir = argv[++i];
        else if (strcmp(argv[i], "--version") == 0) {
            printf("libclv %s (headers %s); libclv pipeline threads %u%s (fit and transform; the CSV read "
                   "uses at most 2; the pandas side is single-threaded)\n",
                   clv_version(), CLV_VERSION_STRING, threads ? threads : (uint32_t)online_cpus(),
                   threads ? "" : " = online CPUs");
            return 0;
        }
        else if (argv[i][0] == '-' || file) usage();
        else file = argv[i];
    }
    if (!file) usage();
    int32_t cutoff, end;
    int rc;
    if ((rc = clv_date_parse(cutoff_s, &cutoff)) != CLV_OK) die_clv("clv_date_parse(--cutoff)", rc);
    if ((rc = clv_date_parse(end_s, &end)) != CLV_OK) die_clv("clv_date_parse(--holdout-end)", rc);

    /* ---- timed ---- */
    const double t0 = now_s();
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    po.threads = threads;
    clv_txlog_options lo;
    clv_txlog_options_init(&lo);
    lo.threads = threads;
    clv_txlog *log = NULL;
    if ((rc = clv_txlog_new(&log, &lo)) != CLV_OK) die_clv("clv_txlog_new", rc);
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    if ((rc = clv_txlog_read_csv(log, file, &rep)) != CLV_OK) die_clv("clv_txlog_read_csv", rc);
    const double t1 = now_s();
    const long peak_read = peak_kb();
    clv_pipeline *p = NULL;
    if ((rc = clv_pipeline_new(&p, &po)) != CLV_OK) die_clv("clv_pipeline_new", rc);
    if ((rc = clv_pipeline_fit(p, log, cutoff)) != CLV_OK) die_clv("clv_pipeline_fit", rc);
    const double t2 = now_s();
    const long peak_fit = peak_kb();
    clv_dataset *ds = NULL;
    if ((rc = clv_pipeline_transform(p, log, cutoff, end, &ds)) != CLV_OK) die_clv("clv_pipeline_transform", rc);
    const double t3 = now_s();
    const long peak = peak_kb();
    /* ---- end of timed section ---- */

    const uint64_t n = clv_dataset_customers(ds);
    const float *freq = clv_dataset_frequency(ds), *htx = clv_dataset_target_transactions(ds);
    const float *cs = clv_dataset_calibration_spend(ds), *hs = clv_dataset_target_spend(ds);
    const int32_t *len = clv_dataset_lengths(ds);
    uint64_t cal_tx = 0, hold_tx = 0, steps = 0;
    double cal_spend = 0.0, hold_spend = 0.0;
    for (uint64_t i = 0; i < n; i++) {
        cal_tx += (uint64_t)freq[i] + 1;
        hold_tx += (uint64_t)htx[i];
        steps += (uint64_t)len[i];
        cal_spend += cs[i];
        hold_spend += hs[i];
    }
    if (dump_dir) dump(dump_dir, p, ds);

    printf("RESULT side=libclv threads=%u seconds=%.6f read_s=%.6f fit_s=%.6f transform_s=%.6f rows=%llu peak_kb=%ld "
           "base_kb=%ld read_peak_kb=%ld fit_peak_kb=%ld customers=%llu customer_days=%llu N=%llu T=%u F=%u S=%u cal_tx=%llu hold_tx=%llu "
           "steps=%llu cal_spend=%.2f hold_spend=%.2f\n",
           threads ? threads : (uint32_t)online_cpus(), t3 - t0, t1 - t0, t2 - t1, t3 - t2,
           (unsigned long long)rep.rows_read, peak, base,
           peak_read, peak_fit,
           (unsigned long long)rep.customers, (unsigned long long)rep.customer_days, (unsigned long long)n,
           clv_dataset_steps(ds), clv_dataset_seq_features(ds), clv_dataset_static_features(ds),
           (unsigned long long)cal_tx, (unsigned long long)hold_tx, (unsigned long long)steps, cal_spend,
           hold_spend);
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    clv_txlog_free(log);
    return 0;
}
