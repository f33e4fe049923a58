/* Argument parsing, data loading, progress and output helpers of clv. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char *cli_cmd = "";
int cli_quiet = 0;

static void vsay(const char *fmt, va_list ap)
{
    fprintf(stderr, "clv%s%s: ", cli_cmd[0] ? " " : "", cli_cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'clv %s%s--help'.\n", cli_cmd, cli_cmd[0] ? " " : "");
    return CLI_USAGE;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_lib_fail(const char *what, int status)
{
    const char *msg = clv_last_error();
    return cli_fail("%s: %s", what, msg[0] ? msg : clv_status_str(status));
}

int cli_parse_date(const char *opt, const char *text, int32_t *day)
{
    if (clv_date_parse(text, day) != CLV_OK)
        return cli_usage_error("%s: expected a date YYYY-MM-DD, got \"%s\"", opt, text);
    return CLI_OK;
}

int cli_parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!text[0] || *end || errno || text[0] == '-' || v < min || v > max)
        return cli_usage_error("%s: expected an integer in %llu..%llu, got \"%s\"", opt, (unsigned long long)min,
                               (unsigned long long)max, text);
    *out = v;
    return CLI_OK;
}

int cli_parse_u32(const char *opt, const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    int rc = cli_parse_u64(opt, text, min, max, &v);
    if (rc == CLI_OK) *out = (uint32_t)v;
    return rc;
}

int cli_parse_float(const char *opt, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!text[0] || *end || errno || !isfinite(v) || v < min || v > max)
        return cli_usage_error("%s: expected a number in [%g, %g], got \"%s\"", opt, min, max, text);
    *out = v;
    return CLI_OK;
}

/* A column given as a 1-based index ("3") or a header name. */
static int map_column(clv_txlog *log, int32_t role, const char *spec, const char *opt)
{
    if (!spec) return CLI_OK;
    const char *p = spec;
    while (*p >= '0' && *p <= '9') p++;
    int rc;
    if (!*p && p != spec) {
        long idx = strtol(spec, NULL, 10);
        if (idx < 1 || idx > 100000) return cli_usage_error("%s: column index must be 1..100000, got %s", opt, spec);
        rc = clv_txlog_set_column(log, role, NULL, (int32_t)idx);
    } else {
        rc = clv_txlog_set_column(log, role, spec, 0);
    }
    if (rc != CLV_OK) return cli_usage_error("%s: %s", opt, clv_last_error());
    return CLI_OK;
}

int cli_load_log(const data_opts *d, clv_txlog **out, clv_txlog_report *report)
{
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    o.strict = d->lenient ? 0 : 1;
    o.shard_count = d->shard_count;
    o.shard_index = d->shard_index;
    clv_txlog *log;
    int rc = clv_txlog_new(&log, &o);
    if (rc != CLV_OK) return cli_lib_fail("creating the log", rc);
    int u = map_column(log, CLV_COLUMN_CUSTOMER, d->customer_col, "--customer-col");
    if (u == CLI_OK) u = map_column(log, CLV_COLUMN_DATE, d->date_col, "--date-col");
    if (u == CLI_OK) u = map_column(log, CLV_COLUMN_AMOUNT, d->amount_col, "--amount-col");
    if (u != CLI_OK) {
        clv_txlog_free(log);
        return u;
    }
    clv_txlog_report_init(report);
    rc = clv_txlog_read_csv(log, d->path, report);
    if (rc != CLV_OK) {
        clv_txlog_free(log);
        /* A column mapping that names nothing in the file is the user's to fix. */
        if (rc == CLV_EINVAL) return cli_usage_error("%s", clv_last_error());
        return cli_lib_fail("reading --data", rc);
    }
    if (!cli_quiet) {
        char a[16], b[16];
        if (clv_date_format((int32_t)report->first_day, a, sizeof a) != CLV_OK) a[0] = 0;
        if (clv_date_format((int32_t)report->last_day, b, sizeof b) != CLV_OK) b[0] = 0;
        fprintf(stderr, "clv %s: read %llu rows (%llu customers, %llu transaction days, %s .. %s)", cli_cmd,
                (unsigned long long)report->rows_read, (unsigned long long)report->customers,
                (unsigned long long)report->customer_days, a, b);
        if (report->bad_rows) fprintf(stderr, "; skipped %llu bad rows", (unsigned long long)report->bad_rows);
        fputc('\n', stderr);
    }
    *out = log;
    return CLI_OK;
}

static int progress_shown;

uint32_t cli_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (uint32_t)n;
}

int cli_progress(const clv_fit_progress *p, void *user)
{
    (void)user;
    if (cli_quiet || !isatty(STDERR_FILENO)) return 0;
    fprintf(stderr, "\r\033[Kepoch %u/%u  loss %.5f  elapsed %.1fs  ETA %.1fs", p->epoch, p->epochs, p->train_loss,
            p->elapsed_seconds, p->eta_seconds);
    fflush(stderr);
    progress_shown = 1;
    return 0;
}

void cli_progress_done(void)
{
    if (progress_shown) fputc('\n', stderr);
    progress_shown = 0;
}

/* The library's writer: atomic for files, never renaming over a device,
 * a FIFO or a link (clv_write_file in clv/io.h). */
int cli_write_file_atomic(const char *path, const char *text, size_t len)
{
    const int rc = clv_write_file(path, text, len);
    return rc == CLV_OK ? CLI_OK : cli_lib_fail("cannot write output", rc);
}

int cli_load_model_and_log(const char *model, const data_opts *d, clv_forecaster **f, clv_txlog **log,
                           clv_txlog_report *report)
{
    int st = clv_forecaster_load(f, model);
    if (st != CLV_OK) return cli_lib_fail("loading --model", st);
    int rc = cli_load_log(d, log, report);
    if (rc != CLI_OK) {
        clv_forecaster_free(*f);
        *f = NULL;
    }
    return rc;
}

int cli_fit_and_save(const clv_txlog *log, int32_t cutoff, const clv_forecast_options *fo, const char *out)
{
    clv_forecaster *f;
    int st = clv_forecaster_new(&f, fo);
    if (st == CLV_OK) st = clv_forecaster_set_callback(f, cli_progress, NULL);
    if (st == CLV_OK) st = clv_forecaster_fit(f, log, cutoff);
    cli_progress_done();
    if (st == CLV_OK) st = clv_forecaster_save(f, out);
    clv_forecaster_free(f);
    if (st != CLV_OK) return cli_lib_fail("train", st);
    if (!cli_quiet) fprintf(stderr, "clv %s: saved %s\n", cli_cmd, out);
    return CLI_OK;
}
