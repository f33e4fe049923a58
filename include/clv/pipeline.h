/**
 * @file pipeline.h
 * @brief Transaction logs in; per-customer sequences, features and targets out.
 *
 * Three handles, used in this order:
 *  - clv_txlog: the ingested log. Rows come from delimited text files
 *    (clv_txlog_read_csv) or from memory (clv_txlog_append*). Rows are folded
 *    as they stream in into one record per customer and day (same-day records
 *    merge into one transaction, as is standard for CDNOW), so memory grows
 *    with customers and their purchase days, never with the raw row count.
 *  - clv_pipeline: configuration plus fitted state (scalers, category
 *    encoders). clv_pipeline_fit() learns that state from a log at a cutoff
 *    date, reading nothing dated after the cutoff; clv_pipeline_transform()
 *    applies it to a log at any cutoff, identically every time.
 *  - clv_dataset: the output for every customer with a transaction on or
 *    before the cutoff: sequences [N][T][F], lengths [N], static features
 *    [N][S], holdout targets, lifecycle stages and customer ids, each a
 *    contiguous array owned by the dataset (borrow it zero-copy from bindings).
 *
 * Dates are days since 1970-01-01 (int32, UTC) in this API; helper
 * clv_date_parse() turns "1997-09-30", "19970930" or an ISO 8601 timestamp
 * into one. A cutoff day is the last day of calibration (inclusive); the
 * holdout runs from cutoff+1 to holdout_end (inclusive).
 *
 * Threading: a txlog or pipeline is single-writer; clv_pipeline_transform()
 * only reads its pipeline and log, so transforms may run concurrently.
 */
#ifndef CLV_PIPELINE_H
#define CLV_PIPELINE_H

#include "common.h"

CLV_BEGIN_DECLS

/** An ingested transaction log: one record per customer and day. */
typedef struct clv_txlog clv_txlog;
/** Feature configuration plus its fitted state (scalers, category encoders). */
typedef struct clv_pipeline clv_pipeline;
/** Sequences, features, targets and summaries of every customer at a cutoff. */
typedef struct clv_dataset clv_dataset;

/* ------------------------------------------------------------------ */
/** @name Transaction logs */

/** Event types of a row (stored as int32_t). Rows without an event column are purchases. */
typedef enum clv_event {
    CLV_EVENT_PURCHASE = 1,
    CLV_EVENT_VIEW = 2,
    CLV_EVENT_CLICK = 3,
    CLV_EVENT_CART = 4
} clv_event;

/** What to do with a row whose amount is negative (a return). */
typedef enum clv_negative_policy {
    CLV_NEGATIVE_NET = 1,     /**< default: subtract from that day's spend (a day's spend may go below 0 only then) */
    CLV_NEGATIVE_DROP = 2,    /**< skip the row (counted in the read report) */
    CLV_NEGATIVE_ERROR = 3    /**< treat the row as bad input */
} clv_negative_policy;

/** What to do with a row whose amount is exactly 0. */
typedef enum clv_zero_policy {
    CLV_ZERO_KEEP = 1,        /**< default: a transaction worth 0 (CDNOW keeps them) */
    CLV_ZERO_DROP = 2,
    CLV_ZERO_ERROR = 3
} clv_zero_policy;

/** Duplicates: a row identical in every mapped column to the previous row of the same customer. */
typedef enum clv_duplicate_policy {
    CLV_DUPLICATE_KEEP = 1,   /**< default: same-day records are legitimate (CDNOW has many) */
    CLV_DUPLICATE_DROP = 2,
    CLV_DUPLICATE_ERROR = 3
} clv_duplicate_policy;

/** Out-of-order rows: a row dated before the previous row of the same customer. */
typedef enum clv_order_policy {
    CLV_ORDER_ANY = 1,        /**< default: aggregation does not depend on row order */
    CLV_ORDER_ERROR = 2
} clv_order_policy;

/** Column roles for clv_txlog_set_column(). */
typedef enum clv_column_role {
    CLV_COLUMN_CUSTOMER = 1,  /**< required */
    CLV_COLUMN_DATE = 2,      /**< required: YYYYMMDD, YYYY-MM-DD or ISO 8601 timestamp */
    CLV_COLUMN_AMOUNT = 3,    /**< required for purchases */
    CLV_COLUMN_QUANTITY = 4,  /**< optional: items */
    CLV_COLUMN_EVENT = 5,     /**< optional: purchase / view / click / cart (case-insensitive; also add_to_cart) */
    CLV_COLUMN_CATEGORY = 6   /**< optional, repeatable: a categorical customer attribute */
} clv_column_role;

/** Log configuration; fill with clv_txlog_options_init(). */
typedef struct clv_txlog_options {
    uint32_t struct_size;      /**< set by clv_txlog_options_init() */
    int32_t strict;            /**< 1 (default): the first bad row stops reading with CLV_EFORMAT; 0: skip and count */
    int32_t delimiter;         /**< 0 (default) = detect among ',' '\\t' ';' '|' and runs of whitespace (' '); or that byte */
    int32_t header;            /**< -1 (default) = detect, 1 = first line is a header, 0 = no header */
    int32_t negative_policy;   /**< clv_negative_policy */
    int32_t zero_policy;       /**< clv_zero_policy */
    int32_t duplicate_policy;  /**< clv_duplicate_policy */
    int32_t order_policy;      /**< clv_order_policy */
    uint32_t max_line_bytes;   /**< longer lines are bad input (default 65536) */
    /** Threads for clv_txlog_read_csv() and clv_txlog_read_csv_buffer():
     *  1 (default) = the calling thread only; 0 = one per online CPU; a read
     *  uses at most 2 (one parses records while the calling thread folds them
     *  into the log). Logs, reports and errors are identical whatever the value. */
    uint32_t threads;
    /** Sharding for data-parallel training (docs/scale-out.md): with
     *  shard_count > 1, only the customers with
     *  clv_customer_shard(id, shard_count) == shard_index are kept; every
     *  other row is skipped before it is checked or counted. 0 or 1 (default)
     *  keeps every customer. */
    uint32_t shard_count;
    uint32_t shard_index;    /**< 0 .. shard_count - 1 */
} clv_txlog_options;

/** Counts of what a read did; fill with clv_txlog_report_init(). */
typedef struct clv_txlog_report {
    uint32_t struct_size;      /**< set by clv_txlog_report_init() */
    uint64_t rows_read;        /**< data rows seen (header excluded) */
    uint64_t rows_used;        /**< rows that reached the log */
    uint64_t bad_rows;         /**< malformed rows skipped (lenient mode) */
    uint64_t negative_rows;    /**< rows with a negative amount (netted, dropped or refused) */
    uint64_t zero_rows;        /**< rows with a zero amount */
    uint64_t duplicate_rows;   /**< duplicates seen */
    uint64_t out_of_order_rows;/**< rows dated before the customer's previous row */
    uint64_t customers;        /**< distinct customers in the log so far */
    uint64_t customer_days;    /**< distinct (customer, day) records so far */
    int64_t first_day;         /**< earliest day in the log (days since 1970-01-01); 0 while the log is empty */
    int64_t last_day;          /**< latest day; 0 while the log is empty */
} clv_txlog_report;

/** Set `struct_size` and every default (see the field comments). NULL is ignored. */
CLV_API void clv_txlog_options_init(clv_txlog_options *opts);
/** Set `struct_size` and zero every count. NULL is ignored. */
CLV_API void clv_txlog_report_init(clv_txlog_report *report);

/** Create an empty log. opts NULL = defaults. */
CLV_API CLV_NODISCARD int clv_txlog_new(clv_txlog **out, const clv_txlog_options *opts);
/** Free a log. NULL is a no-op. */
CLV_API void clv_txlog_free(clv_txlog *log);

/**
 * Map a column role to a header name (case-insensitive) or a 1-based index.
 * Pass name = NULL to use the index, index = 0 to use the name. Calling it
 * for CLV_COLUMN_CATEGORY adds one more categorical column each time (up to 16),
 * and only while the log is still empty (CLV_ESTATE afterwards).
 * Without any mapping, read_csv finds columns by common header names
 * (customer_id/CustomerID/customer/user_id, date/InvoiceDate/timestamp/order_date,
 * amount/dollar_value/revenue/sales/value, quantity/number_of_cds/items/qty, event/event_type).
 */
CLV_API CLV_NODISCARD int clv_txlog_set_column(clv_txlog *log, int32_t role, const char *name,
                                               int32_t index);

/**
 * Stream a delimited text file into the log (may be called for several files).
 * Quoted fields ("a, b" and "" escapes), CRLF and a UTF-8 BOM are handled.
 * @param log     the log to add to.
 * @param path    file to read.
 * @param report  optional: receives the counts of this call plus log totals.
 * @return CLV_OK; CLV_EIO (cannot open or read: the message names the file);
 *         CLV_EFORMAT in strict mode, naming file, line, column and what was
 *         expected; CLV_EINVAL (bad arguments or a column mapping that names
 *         no column in the header); CLV_ENOMEM. In strict mode the rows
 *         before the bad one stay in the log.
 */
CLV_API CLV_NODISCARD int clv_txlog_read_csv(clv_txlog *log, const char *path,
                                             clv_txlog_report *report);

/** Same from a memory buffer of `size` bytes; `name` (may be NULL) is used in messages. */
CLV_API CLV_NODISCARD int clv_txlog_read_csv_buffer(clv_txlog *log, const char *data, size_t size,
                                                    const char *name, clv_txlog_report *report);

/**
 * Append rows from memory. ids[i] are NUL-terminated customer ids; days[i]
 * days since 1970-01-01; amounts[i] finite; quantities and events may be NULL
 * (1 item, CLV_EVENT_PURCHASE). Rows are validated as file rows are (policies,
 * strict/lenient); the message names the row index.
 */
CLV_API CLV_NODISCARD int clv_txlog_append(clv_txlog *log, uint64_t n, const char *const *ids,
                                           const int32_t *days, const float *amounts,
                                           const float *quantities, const int32_t *events,
                                           clv_txlog_report *report);

/** As clv_txlog_append with integer ids (stored as their decimal text, so "42" in a file is the same customer). */
CLV_API CLV_NODISCARD int clv_txlog_append_u64(clv_txlog *log, uint64_t n, const uint64_t *ids,
                                               const int32_t *days, const float *amounts,
                                               const float *quantities, const int32_t *events,
                                               clv_txlog_report *report);

/**
 * The shard of a customer id among `shards` (0 .. shards - 1; 0 when shards
 * is 0 or 1): FNV-1a 64 of the id's bytes, mixed by MurmurHash3's fmix64
 * (h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 33;
 * h *= 0xc4ceb9fe1a85ec53; h ^= h >> 33), modulo shards. Stable across
 * platforms and releases, so that per-rank files written by another program
 * with the same rule shard exactly as clv_txlog_options.shard_count does.
 */
CLV_API uint32_t clv_customer_shard(const char *id, uint32_t shards);

/** Totals of the log so far (the per-call counts are those of all calls together). */
CLV_API CLV_NODISCARD int clv_txlog_get_report(const clv_txlog *log, clv_txlog_report *out);

/**
 * Parse a date: "YYYYMMDD", "YYYY-MM-DD", or ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH:MM|-HH:MM]"
 * (a space may replace the T). Timestamps with a zone are converted to UTC first.
 * @param text     NUL-terminated date text.
 * @param out_day  receives days since 1970-01-01.
 * @return CLV_OK or CLV_EFORMAT (the message says what was expected).
 */
CLV_API CLV_NODISCARD int clv_date_parse(const char *text, int32_t *out_day);
/** Format a day as "YYYY-MM-DD" into buf (at least 11 bytes). */
CLV_API CLV_NODISCARD int clv_date_format(int32_t day, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/** @name Pipelines: fitted feature state */

/** Period of the sequences (stored as int32_t). */
typedef enum clv_period {
    CLV_PERIOD_DAY = 1,
    CLV_PERIOD_WEEK = 2,      /**< 7-day blocks counted back from the cutoff */
    CLV_PERIOD_MONTH = 3      /**< calendar months */
} clv_period;

/** Normalisation of static features (stored as int32_t). */
typedef enum clv_norm {
    CLV_NORM_NONE = 1,
    CLV_NORM_MINMAX = 2,      /**< (v - min) / (max - min) over the fit customers */
    CLV_NORM_ZSCORE = 3,      /**< (v - mean) / std */
    CLV_NORM_LOG1P = 4,       /**< sign(v) log(1 + |v|), then z-score */
} clv_norm;

/** Where padding goes when a sequence is shorter than max_steps (stored as int32_t). */
typedef enum clv_pad {
    CLV_PAD_POST = 1,         /**< default: valid steps first, as clv_model expects */
    CLV_PAD_PRE = 2           /**< valid steps last (right-aligned) */
} clv_pad;

/** Lifecycle stages (stored as int32_t in the dataset). */
typedef enum clv_stage {
    CLV_STAGE_NEW = 1,        /**< first purchase within new_days of the cutoff */
    CLV_STAGE_ACTIVE = 2,     /**< otherwise, last purchase within active_days */
    CLV_STAGE_AT_RISK = 3,    /**< otherwise, last purchase within churn_days */
    CLV_STAGE_CHURNED = 4     /**< no purchase for more than churn_days */
} clv_stage;

/** Pipeline configuration; fill with clv_pipeline_options_init(). */
typedef struct clv_pipeline_options {
    uint32_t struct_size;      /**< set by clv_pipeline_options_init() */
    int32_t period;            /**< clv_period (default WEEK) */
    uint32_t max_steps;        /**< T: sequence length; longer histories keep the most recent steps (default 52) */
    int32_t pad;               /**< clv_pad (default POST) */
    int32_t norm;              /**< clv_norm for static features (default LOG1P) */
    int32_t seq_log1p;         /**< 1 (default): sequence spend/items/events as log1p(v) */
    uint32_t max_categories;   /**< per categorical column: most frequent kept, rest share "other" (default 32) */
    uint32_t new_days;         /**< lifecycle: "new" window (default 30) */
    uint32_t active_days;      /**< lifecycle: "active" window (default 90) */
    uint32_t churn_days;       /**< lifecycle: beyond this without purchase, "churned" (default 180) */
    /** Threads for clv_pipeline_fit() and clv_pipeline_transform():
     *  1 (default) = the calling thread only; 0 = one per online CPU; n = at most n
     *  (the calling thread is one of them; small logs use fewer). Outputs are
     *  byte-identical whatever the value. A runtime setting: not saved with the model. */
    uint32_t threads;
} clv_pipeline_options;

/** Set `struct_size` and every default (see the field comments). NULL is ignored. */
CLV_API void clv_pipeline_options_init(clv_pipeline_options *opts);
/** Create an unfitted pipeline (opts NULL = defaults).
 *  @return CLV_OK, CLV_EINVAL (the message names the bad option), CLV_ENOMEM. */
CLV_API CLV_NODISCARD int clv_pipeline_new(clv_pipeline **out, const clv_pipeline_options *opts);
/** Free a pipeline. NULL is a no-op. */
CLV_API void clv_pipeline_free(clv_pipeline *p);

/**
 * Learn scalers and category encoders from the customers of `log` seen on or
 * before `cutoff_day`, reading no record dated after it.
 * @return CLV_OK, CLV_EINVAL, CLV_ESTATE (no customer before the cutoff), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_pipeline_fit(clv_pipeline *p, const clv_txlog *log, int32_t cutoff_day);

/** Non-zero once clv_pipeline_fit() succeeded. */
CLV_API int32_t clv_pipeline_is_fitted(const clv_pipeline *p);

/**
 * Build the dataset at `cutoff_day` for every customer with a purchase on or
 * before it. Features read only records dated on or before the cutoff.
 * @param p     a fitted pipeline (read only: transforms may run concurrently).
 * @param log   the transaction log.
 * @param cutoff_day  last day of calibration (inclusive).
 * @param holdout_end_day  last day of the holdout window for the targets, or
 *        any value <= cutoff_day for none (targets are then 0).
 * @param out   receives the dataset; free it with clv_dataset_free().
 * @return CLV_OK, CLV_ESTATE (not fitted), CLV_EINVAL, CLV_ENOMEM;
 *         a log with no customer before the cutoff gives an empty dataset.
 */
CLV_API CLV_NODISCARD int clv_pipeline_transform(const clv_pipeline *p, const clv_txlog *log,
                                                 int32_t cutoff_day, int32_t holdout_end_day,
                                                 clv_dataset **out);

/** Number of sequence features per step (F) the pipeline produces. */
CLV_API uint32_t clv_pipeline_seq_features(const clv_pipeline *p);
/** Number of static features (S) the pipeline produces. */
CLV_API uint32_t clv_pipeline_static_features(const clv_pipeline *p);
/** Name of sequence feature `index` ("spend", ...); borrowed until the pipeline is freed. */
CLV_API const char *clv_pipeline_seq_feature_name(const clv_pipeline *p, uint32_t index);
/** Name of static feature `index` ("recency_days", "cat.channel=web", ...); borrowed until the pipeline is freed. */
CLV_API const char *clv_pipeline_static_feature_name(const clv_pipeline *p, uint32_t index);

/* ------------------------------------------------------------------ */
/** @name Datasets */

/** Free a dataset. NULL is a no-op. */
CLV_API void clv_dataset_free(clv_dataset *ds);
/** Customers (N). 0 for NULL. */
CLV_API uint64_t clv_dataset_customers(const clv_dataset *ds);
/** Steps per sequence (T). 0 for NULL. */
CLV_API uint32_t clv_dataset_steps(const clv_dataset *ds);
/** Sequence features per step (F). 0 for NULL. */
CLV_API uint32_t clv_dataset_seq_features(const clv_dataset *ds);
/** Static features (S). 0 for NULL. */
CLV_API uint32_t clv_dataset_static_features(const clv_dataset *ds);
/** The cutoff day the dataset was built for. */
CLV_API int32_t clv_dataset_cutoff_day(const clv_dataset *ds);
/** The holdout end day the dataset was built for. */
CLV_API int32_t clv_dataset_holdout_end_day(const clv_dataset *ds);

/**
 * Borrowed arrays, valid until clv_dataset_free() (NULL for NULL or, for
 * static features, when S = 0):
 *  - sequences [N][T][F] float, padded with 0 as options.pad says;
 *  - lengths [N] int32: valid steps (>= 1);
 *  - static features [N][S] float, normalised;
 *  - targets: holdout spend [N], holdout transactions [N], active in holdout (0/1) [N];
 *  - stages [N] int32 (clv_stage), at the cutoff;
 *  - raw calibration summaries (unnormalised, for baselines): frequency x (repeat
 *    transactions) [N], recency t_x and age T in days [N], mean repeat-transaction
 *    value [N], total calibration spend [N].
 *
 * The sequences [N][T][F].
 */
CLV_API const float *clv_dataset_sequences(const clv_dataset *ds);
/** Valid steps per customer [N]. */
CLV_API const int32_t *clv_dataset_lengths(const clv_dataset *ds);
/** Normalised static features [N][S] (NULL when S = 0). */
CLV_API const float *clv_dataset_static(const clv_dataset *ds);
/** Holdout spend per customer [N]. */
CLV_API const float *clv_dataset_target_spend(const clv_dataset *ds);
/** Holdout transactions per customer [N]. */
CLV_API const float *clv_dataset_target_transactions(const clv_dataset *ds);
/** Whether each customer bought in the holdout, 0/1 [N]. */
CLV_API const float *clv_dataset_target_active(const clv_dataset *ds);
/** Lifecycle stage at the cutoff per customer [N] (clv_stage). */
CLV_API const int32_t *clv_dataset_stages(const clv_dataset *ds);
/** Calibration repeat transactions x per customer [N]. */
CLV_API const float *clv_dataset_frequency(const clv_dataset *ds);
/** Calibration recency t_x in days per customer [N]. */
CLV_API const float *clv_dataset_recency_days(const clv_dataset *ds);
/** Calibration age T in days per customer [N]. */
CLV_API const float *clv_dataset_age_days(const clv_dataset *ds);
/** Mean repeat-transaction value m_x per customer [N]. */
CLV_API const float *clv_dataset_monetary_repeat(const clv_dataset *ds);
/** Total calibration spend per customer [N]. */
CLV_API const float *clv_dataset_calibration_spend(const clv_dataset *ds);
/** Customer id of row i (NUL-terminated, borrowed), or NULL when out of range. */
CLV_API const char *clv_dataset_customer_id(const clv_dataset *ds, uint64_t i);
/** Stage name: "new", "active", "at-risk", "churned" (static), or "unknown". */
CLV_API const char *clv_stage_name(int32_t stage);

CLV_END_DECLS

#endif
