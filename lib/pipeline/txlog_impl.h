/* Internal layout of clv_txlog: customers, their day records, and the row
 * interface that the CSV reader (ingest.c) and the in-memory appenders
 * (txlog.c) both feed. */
#ifndef CLV_PIPELINE_TXLOG_IMPL_H
#define CLV_PIPELINE_TXLOG_IMPL_H

#include <stdint.h>

#include "../clv_internal.h"

#define CLV__MAX_CATEGORY_COLUMNS 16
#define CLV__NO_RECORD UINT32_MAX

/* One customer-day: all rows of that customer on that day folded together. */
/* Largest |amount| and |quantity| of a row (clv__txlog_add refuses more):
 * float sums of 2^32 such rows stay finite (1e15 * 2^32 < 1e25 << FLT_MAX). */
#define CLV__MAX_AMOUNT 1e15

typedef struct clv__day_rec {
    int32_t day;          /* days since 1970-01-01 */
    uint32_t next;        /* next OLDER record of the same customer, or CLV__NO_RECORD */
    float spend;          /* net amount (returns subtract under CLV_NEGATIVE_NET) */
    float items;          /* quantity of purchase rows */
    uint32_t purchases;   /* purchase rows with amount >= 0; > 0 makes the day a transaction */
    uint32_t views, clicks, carts;
} clv__day_rec;

typedef struct clv__customer {
    uint64_t id_off;      /* NUL-terminated id at log->ids + id_off */
    uint64_t hash;        /* hash of the id */
    uint32_t head;        /* newest day record, or CLV__NO_RECORD; list sorted newest first */
    uint32_t ndays;
    int32_t last_row_day; /* order policy: day of the previous row */
    uint64_t last_row_hash; /* duplicate policy: hash of the previous row, 0 = none */
} clv__customer;

/* A growable string-keyed dictionary (customers, category values). */
typedef struct clv__dict {
    uint64_t *slots;      /* low 32 bits: index+1 into the owner's entries, 0 = empty;
                           * high 32 bits: the entry's hash >> 32 (probe position and tag) */
    uint64_t cap;         /* power of two */
} clv__dict;

typedef struct clv__category_column {
    char name[64];        /* header name, or "" when mapped by index */
    int32_t index;        /* 1-based column index when mapped by index, else 0 */
    char *values;         /* NUL-terminated category values, back to back */
    uint64_t values_len, values_cap;
    uint64_t *value_off;  /* per category id: offset into values */
    uint64_t *value_hash; /* per category id: hash of the value */
    uint64_t nvalues, nvalues_cap;
    clv__dict dict;
    uint32_t *customer_value;    /* per customer: category id + 1 of its earliest row, 0 = none */
    int32_t *customer_value_day; /* per customer: day of that row */
    uint64_t customer_cap;
} clv__category_column;

typedef struct clv__column_map {
    char name[64];        /* requested header name, "" if by index */
    int32_t index;        /* requested 1-based index, 0 if by name */
    int32_t set;
} clv__column_map;

struct clv_txlog {
    clv_txlog_options o;
    clv__column_map col[CLV_COLUMN_EVENT + 1];   /* by role; CATEGORY lives in cats */
    clv__category_column cats[CLV__MAX_CATEGORY_COLUMNS];
    uint32_t ncats;

    clv__customer *customers;
    uint64_t ncustomers, customers_cap;
    clv__dict dict;
    char *ids;
    uint64_t ids_len, ids_cap;

    clv__day_rec *recs;
    uint64_t nrecs, recs_cap;

    clv_txlog_report totals;  /* cumulative counts */
    uint32_t last_customer;   /* customer of the previous row (logs come grouped), or UINT32_MAX */
    int32_t has_events;       /* any non-purchase event seen */
};

/* One parsed row, whatever its source. Strings are not NUL-terminated. */
typedef struct clv__row {
    const char *id;
    size_t id_len;
    int32_t day;
    double amount;        /* ignored for non-purchase events */
    double quantity;      /* 1 when the log has no quantity column */
    int32_t event;        /* clv_event */
    const char *cat[CLV__MAX_CATEGORY_COLUMNS];
    size_t cat_len[CLV__MAX_CATEGORY_COLUMNS];
} clv__row;

/* Apply the policies and fold one row into the log; counts go to totals.
 * Returns CLV_OK (also when a policy drops the row), CLV_EFORMAT when a policy
 * refuses it, with *why set to a static phrase ("negative amount") for the
 * caller to put in context, or CLV_ENOMEM. Non-finite amount/quantity and
 * unknown events are the caller's to reject before this call. */
int clv__txlog_add(clv_txlog *log, const clv__row *row, const char **why);

/* Report of what happened since `before` (a copy of log->totals): per-call
 * row counts, log totals for customers/days/date range. Respects out->struct_size. */
void clv__txlog_report_since(const clv_txlog *log, const clv_txlog_report *before,
                             clv_txlog_report *out);

/* 64-bit FNV-1a-style hash used for ids and rows. */
uint64_t clv__hash_bytes(const void *data, size_t n, uint64_t seed);

#endif
