/* Shared pieces of the clv command-line tool. The tool uses only the public
 * libclv API (<clv/clv.h>), like any application would. */
#ifndef CLV_CLI_H
#define CLV_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <clv/clv.h>

/* Exit codes. */
#define CLI_OK 0
#define CLI_FAIL 1    /* runtime failure */
#define CLI_USAGE 2   /* usage error */

/* Options every subcommand that reads --data accepts. */
typedef struct data_opts {
    const char *path;
    const char *customer_col, *date_col, *amount_col;
    int lenient;
    uint32_t shard_count, shard_index;   /* keep only this shard's customers (clv train --mpi); 0 = all */
} data_opts;

extern const char *cli_cmd;   /* "train", "predict", ... for messages */
extern int cli_quiet;

/* "clv CMD: message" on stderr; returns the code. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A failed library call: its status name and the library's message. */
int cli_lib_fail(const char *what, int status);

/* Value parsers for option arguments; on failure they print a usage error. */
int cli_parse_date(const char *opt, const char *text, int32_t *day);
int cli_parse_u32(const char *opt, const char *text, uint32_t min, uint32_t max, uint32_t *out);
int cli_parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max, uint64_t *out);
int cli_parse_float(const char *opt, const char *text, double min, double max, double *out);

/* Read --data into a new log, applying the column options. */
int cli_load_log(const data_opts *d, clv_txlog **out, clv_txlog_report *report);
/* Load --model and the log; on failure nothing is left to free. */
int cli_load_model_and_log(const char *model, const data_opts *d, clv_forecaster **f, clv_txlog **log,
                           clv_txlog_report *report);
/* Fit a forecaster with `fo` on `log` up to `cutoff` (progress on stderr)
 * and save it atomically to `out`; says so unless --quiet. */
int cli_fit_and_save(const clv_txlog *log, int32_t cutoff, const clv_forecast_options *fo, const char *out);

/* Training progress on stderr when it is a terminal (and not --quiet). */
int cli_progress(const clv_fit_progress *p, void *user);
/* Prediction threads when --threads is not given: the online CPUs, at most
 * 8 (predictions do not depend on it; training stays on one thread). */
uint32_t cli_default_threads(void);
void cli_progress_done(void);

/* --models LIST (comma-separated row names): usage error for an unknown
 * name, runtime failure (with the library's message) for a model this build
 * lacks. NULL is fine (all models). */
int cli_check_models(const char *list);
/* Rows of bt to show for --models LIST (NULL = all, in the backtest's order),
 * in the order of the list; rows has room for 16. */
int cli_backtest_rows(const clv_backtest *bt, const char *list, uint32_t *rows, uint32_t *nrows);

/* The evaluate table and JSON, shared with demo: the rows given. */
int cli_print_backtest(const clv_backtest *bt, const uint32_t *rows, uint32_t nrows, int32_t cutoff,
                       int32_t holdout_end, const char *title);
int cli_write_backtest_json(const clv_backtest *bt, const uint32_t *rows, uint32_t nrows, int32_t cutoff,
                            int32_t holdout_end, const char *path);

/* Write `text` of `len` bytes to `path` atomically (temporary file + rename). */
int cli_write_file_atomic(const char *path, const char *text, size_t len);

/* clv train with --mpi and/or --checkpoint (train_dist.c): the data-parallel
 * fit over MPI_COMM_WORLD when use_mpi, checkpointed when checkpoint is set. */
int cli_train_dist(data_opts *d, int32_t cutoff, const clv_forecast_options *fo, const char *out,
                   const char *checkpoint, int use_mpi);

int cmd_demo(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#endif
