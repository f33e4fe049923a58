/* Delimited text files into a clv_txlog: column mapping, header handling,
 * row parsing, and strict/lenient treatment of bad input.
 *
 * Each row becomes a clv__row whose strings point into the tokenizer's
 * buffer and goes straight to clv__txlog_add(); nothing per row is
 * allocated, so memory stays bounded by the log itself plus one buffer.
 * With clv_txlog_options.threads != 1 a second thread tokenizes and parses
 * into a bounded ring while the calling thread folds rows (see "Reading
 * with a parsing thread" below); results are the same either way. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../clv_internal.h"
#include "csv.h"
#include "parse.h"
#include "txlog_impl.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define NROLES (CLV_COLUMN_EVENT + 1)
#define NO_COL (-1)

static const char *const role_names[] = { "?", "customer", "date", "amount", "quantity", "event", "category" };

/* Header aliases, compared after normalising (lowercase, without ' ', '_',
 * '-', '.'), so "CustomerID", "customer_id" and "Customer ID" all match
 * "customerid". Earlier entries win when a header has several. */
static const char *const aliases[NROLES][6] = {
    [CLV_COLUMN_CUSTOMER] = { "customerid", "customer", "userid", NULL },
    [CLV_COLUMN_DATE] = { "date", "invoicedate", "timestamp", "orderdate", NULL },
    [CLV_COLUMN_AMOUNT] = { "amount", "dollarvalue", "revenue", "sales", "value", NULL },
    [CLV_COLUMN_QUANTITY] = { "quantity", "numberofcds", "items", "qty", NULL },
    [CLV_COLUMN_EVENT] = { "event", "eventtype", NULL },
};

typedef struct reader {
    clv_txlog *log;
    const char *fn;       /* public function, for argument/IO messages */
    const char *path;     /* as given (I/O messages) */
    const char *name;     /* basename or caller's name (format messages) */
    clv__csv csv;

    int has_header;
    char *hdr;            /* header names, NUL-terminated, back to back */
    uint32_t *hdr_off;
    uint32_t nhdr;

    int32_t col[NROLES];                      /* 0-based field index or NO_COL */
    int32_t cat[CLV__MAX_CATEGORY_COLUMNS];
    uint32_t nexpect;                         /* fields per record */
    uint64_t expect_line;                     /* line that set nexpect */
} reader;

/* ------------------------------------------------------------------ */
/* Small text helpers                                                  */

static inline void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t k = *n;
    while (k > 0 && (*p == ' ' || *p == '\t')) { p++; k--; }
    while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t')) k--;
    *s = p;
    *n = k;
}

static inline char lower(char ch) { return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch; }

/* Case-insensitive equality of a trimmed field and a NUL-terminated name. */
static int name_eq(const char *f, size_t n, const char *name)
{
    size_t m = strlen(name);
    trim(&f, &n);
    while (m > 0 && (name[0] == ' ' || name[0] == '\t')) { name++; m--; }
    while (m > 0 && (name[m - 1] == ' ' || name[m - 1] == '\t')) m--;
    if (n != m) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(f[i]) != lower(name[i])) return 0;
    return 1;
}

/* Normalised header name (see `aliases`) into out[size]. */
static void normalise(const char *f, size_t n, char *out, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < size; i++) {
        char ch = f[i];
        if (ch == ' ' || ch == '_' || ch == '-' || ch == '.' || ch == '\t') continue;
        out[k++] = lower(ch);
    }
    out[k] = '\0';
}

/* A message-safe excerpt of a field: at most 40 bytes, control bytes as '?',
 * "..." when cut, so that one bad field cannot flood or garble the message. */
static void excerpt(const char *s, size_t n, char *out /* >= 48 bytes */)
{
    size_t k = n > 40 ? 40 : n;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (n > 40) {
        memcpy(out + k, "...", 4);
    } else {
        out[k] = '\0';
    }
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* "a, b, c" from the header (or the first line's fields), cut to fit. */
static void header_list(const reader *r, char *out, size_t size)
{
    size_t k = 0;
    out[0] = '\0';
    uint32_t n = r->has_header ? r->nhdr : r->csv.nfields;
    for (uint32_t i = 0; i < n; i++) {
        const char *f = r->has_header ? r->hdr + r->hdr_off[i] : r->csv.fp[i];
        size_t fl = r->has_header ? strlen(f) : r->csv.fn[i];
        size_t need = fl + (i ? 2 : 0);
        if (k + need + 4 >= size) {
            snprintf(out + k, size - k, "%s...", i ? ", " : "");
            return;
        }
        if (i) {
            memcpy(out + k, ", ", 2);
            k += 2;
        }
        for (size_t j = 0; j < fl; j++) {
            unsigned char ch = (unsigned char)f[j];
            out[k++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
        out[k] = '\0';
    }
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */

/* The column label in messages: "column 2 (date)", using the header name
 * when there is one. */
static const char *col_label(const reader *r, int32_t col, int role)
{
    if (r->has_header && col >= 0 && (uint32_t)col < r->nhdr && r->hdr[r->hdr_off[col]] != '\0')
        return r->hdr + r->hdr_off[col];
    return role_names[role];
}

/* One bad row: strict mode stops with a message naming file, line, column,
 * expectation and the offending text (ex: its excerpt()); lenient mode
 * counts it and goes on. The line is passed in: with a parsing thread the
 * tokenizer is already further on. */
static int bad_field(reader *r, uint64_t line, int32_t col, int role, const char *why, const char *ex)
{
    if (!r->log->o.strict) {
        r->log->totals.bad_rows++;
        return CLV_OK;
    }
    return clv__error(CLV_EFORMAT, "%s:%llu: column %d (%.40s): %s, got \"%s\"", r->name,
                      (unsigned long long)line, (int)col + 1, col_label(r, col, role), why, ex);
}

static int bad_row(reader *r, uint64_t line, const char *why)
{
    if (!r->log->o.strict) {
        r->log->totals.bad_rows++;
        return CLV_OK;
    }
    return clv__error(CLV_EFORMAT, "%s:%llu: %s", r->name, (unsigned long long)line, why);
}

static int bad_field_count(reader *r, uint64_t line, uint32_t nfields)
{
    if (!r->log->o.strict) {
        r->log->totals.bad_rows++;
        return CLV_OK;
    }
    return clv__error(CLV_EFORMAT, "%s:%llu: expected %u fields as %s %llu, got %u", r->name,
                      (unsigned long long)line, r->nexpect,
                      r->has_header ? "in the header on line" : "on line",
                      (unsigned long long)r->expect_line, nfields);
}

/* ------------------------------------------------------------------ */
/* Columns                                                             */

static int copy_header(reader *r)
{
    const clv__csv *c = &r->csv;
    size_t total = 0;
    for (uint32_t i = 0; i < c->nfields; i++) total += c->fn[i] + 1;
    r->hdr = clv__malloc(total);
    r->hdr_off = clv__malloc(c->nfields * sizeof *r->hdr_off);
    if (!r->hdr || !r->hdr_off) return clv__oom();
    size_t k = 0;
    for (uint32_t i = 0; i < c->nfields; i++) {
        const char *f = c->fp[i];
        size_t n = c->fn[i];
        trim(&f, &n);
        r->hdr_off[i] = (uint32_t)k;
        memcpy(r->hdr + k, f, n);
        r->hdr[k + n] = '\0';
        k += n + 1;
    }
    r->nhdr = c->nfields;
    return CLV_OK;
}

static int32_t find_name(const reader *r, const char *name)
{
    for (uint32_t i = 0; i < r->nhdr; i++) {
        const char *h = r->hdr + r->hdr_off[i];
        if (name_eq(h, strlen(h), name)) return (int32_t)i;
    }
    return NO_COL;
}

static int32_t find_alias(const reader *r, int role)
{
    for (const char *const *a = aliases[role]; *a; a++) {
        for (uint32_t i = 0; i < r->nhdr; i++) {
            const char *h = r->hdr + r->hdr_off[i];
            char norm[64];
            normalise(h, strlen(h), norm, sizeof norm);
            if (strcmp(norm, *a) == 0) return (int32_t)i;
        }
    }
    return NO_COL;
}

/* One mapped column (by name or by 1-based index) to a field index. */
static int resolve_mapped(reader *r, const char *name, int32_t index, int role, int32_t *out)
{
    char list[320];
    uint32_t n = r->has_header ? r->nhdr : r->csv.nfields;
    if (index > 0) {
        if ((uint32_t)index > n) {
            header_list(r, list, sizeof list);
            return clv__error(CLV_EINVAL, "%s: column %d (%s) is mapped by index but %s has %u columns: %s",
                              r->name, (int)index, role_names[role],
                              r->has_header ? "the header" : "the first line", n, list);
        }
        *out = index - 1;
        return CLV_OK;
    }
    if (!r->has_header) {
        return clv__error(CLV_EINVAL,
                          "%s: column \"%s\" (%s) is mapped by name but the file has no header line; "
                          "map it by 1-based index",
                          r->name, name, role_names[role]);
    }
    *out = find_name(r, name);
    if (*out == NO_COL) {
        header_list(r, list, sizeof list);
        return clv__error(CLV_EINVAL, "%s: column \"%s\" (%s) is not in the header: %s", r->name, name,
                          role_names[role], list);
    }
    return CLV_OK;
}

static int any_mapping(const clv_txlog *log)
{
    for (int role = CLV_COLUMN_CUSTOMER; role < NROLES; role++)
        if (log->col[role].set) return 1;
    return log->ncats > 0;
}

static int resolve_columns(reader *r)
{
    clv_txlog *log = r->log;
    char list[320];
    for (int role = 0; role < NROLES; role++) r->col[role] = NO_COL;
    for (uint32_t k = 0; k < CLV__MAX_CATEGORY_COLUMNS; k++) r->cat[k] = NO_COL;

    if (!r->has_header && !any_mapping(log)) {
        /* Headerless and unmapped: the common customer, date, ..., amount
         * layout (CDNOW without its header line, for instance). */
        uint32_t n = r->csv.nfields;
        if (n < 3) {
            header_list(r, list, sizeof list);
            return clv__error(CLV_EINVAL,
                              "%s: no header line and %u fields on line %llu (%s): map the customer, date "
                              "and amount columns with clv_txlog_set_column()",
                              r->name, n, (unsigned long long)r->csv.line, list);
        }
        r->col[CLV_COLUMN_CUSTOMER] = 0;
        r->col[CLV_COLUMN_DATE] = 1;
        r->col[CLV_COLUMN_AMOUNT] = (int32_t)n - 1;
        return CLV_OK;
    }

    for (int role = CLV_COLUMN_CUSTOMER; role < NROLES; role++) {
        const clv__column_map *m = &log->col[role];
        if (m->set) {
            CLV__TRY(resolve_mapped(r, m->name, m->index, role, &r->col[role]));
        } else if (r->has_header) {
            r->col[role] = find_alias(r, role);
        }
    }
    for (uint32_t k = 0; k < log->ncats; k++)
        CLV__TRY(resolve_mapped(r, log->cats[k].name, log->cats[k].index, CLV_COLUMN_CATEGORY, &r->cat[k]));

    /* Amount is needed for purchases; a log with an event column may hold
     * only views, clicks and carts, so it is checked per row there. */
    for (int role = CLV_COLUMN_CUSTOMER; role <= CLV_COLUMN_AMOUNT; role++) {
        if (r->col[role] != NO_COL) continue;
        if (role == CLV_COLUMN_AMOUNT && r->col[CLV_COLUMN_EVENT] != NO_COL) continue;
        header_list(r, list, sizeof list);
        if (!r->has_header) {
            return clv__error(CLV_EINVAL,
                              "%s: no header line, and the %s column is not mapped: map the customer, date "
                              "and amount columns by 1-based index (first line: %s)",
                              r->name, role_names[role], list);
        }
        char known[160];
        size_t k = 0;
        for (const char *const *a = aliases[role]; *a && k + 40 < sizeof known; a++)
            k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", *a);
        return clv__error(CLV_EINVAL,
                          "%s: no %s column: the header has none of %s (case, ' ', '_' and '-' ignored); "
                          "map it with clv_txlog_set_column(). Header: %s",
                          r->name, role_names[role], known, list);
    }
    return CLV_OK;
}

/* Does the first record look like a header? See docs/data-format.md. */
static int looks_like_header(const reader *r)
{
    const clv_txlog *log = r->log;
    const clv__csv *c = &r->csv;
    if (log->o.header >= 0) return log->o.header;
    for (int role = CLV_COLUMN_CUSTOMER; role < NROLES; role++)
        if (log->col[role].set && log->col[role].index == 0) return 1;
    for (uint32_t k = 0; k < log->ncats; k++)
        if (log->cats[k].index == 0) return 1;

    int32_t dcol = log->col[CLV_COLUMN_DATE].set ? log->col[CLV_COLUMN_DATE].index - 1 : NO_COL;
    int32_t acol = log->col[CLV_COLUMN_AMOUNT].set ? log->col[CLV_COLUMN_AMOUNT].index - 1 : NO_COL;
    const char *why;
    int32_t day;
    double v;
    if (dcol != NO_COL || acol != NO_COL) {
        /* Columns known by index: a header is a line whose date or amount
         * field is not a date or a number. */
        if (dcol != NO_COL && (uint32_t)dcol < c->nfields &&
            clv__parse_day(c->fp[dcol], c->fn[dcol], &day, &why) != 0)
            return 1;
        if (acol != NO_COL && (uint32_t)acol < c->nfields &&
            clv__parse_double(c->fp[acol], c->fn[acol], &v, &why) != 0)
            return 1;
        return 0;
    }
    /* Columns unknown: every data row has a date and an amount, so a line
     * with no field that is a number or a date is a header. */
    for (uint32_t i = 0; i < c->nfields; i++) {
        if (clv__parse_double(c->fp[i], c->fn[i], &v, &why) == 0) return 0;
        if (clv__parse_day(c->fp[i], c->fn[i], &day, &why) == 0) return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Rows                                                                */

static int parse_event(const char *s, size_t n, int32_t *out)
{
    static const struct { const char *name; int32_t ev; } names[] = {
        { "purchase", CLV_EVENT_PURCHASE }, { "order", CLV_EVENT_PURCHASE },
        { "transaction", CLV_EVENT_PURCHASE }, { "view", CLV_EVENT_VIEW },
        { "page_view", CLV_EVENT_VIEW }, { "click", CLV_EVENT_CLICK },
        { "cart", CLV_EVENT_CART }, { "add_to_cart", CLV_EVENT_CART },
    };
    /* Exports nearly always spell events in lower case: an exact match
     * first, the case-insensitive one only for the rest (8% of a read's
     * instructions went to the loop below, measured with callgrind). */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == n && memcmp(s, names[i].name, n) == 0) {
            *out = names[i].ev;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (name_eq(s, n, names[i].name)) {
            *out = names[i].ev;
            return 0;
        }
    }
    return -1;
}

/* What is wrong with a row that parse_fields() refused. */
enum { PE_COUNT = 1, PE_FIELD, PE_ROW };
typedef struct parse_err {
    int kind;
    int32_t col;          /* PE_FIELD */
    int role;             /* PE_FIELD */
    const char *why;      /* PE_FIELD, PE_ROW: static phrase */
    const char *text;     /* PE_FIELD: the offending field */
    size_t n;
} parse_err;

static inline int field_err(parse_err *e, const clv__csv *c, int32_t col, int role, const char *why)
{
    e->kind = PE_FIELD;
    e->col = col;
    e->role = role;
    e->why = why;
    e->text = c->fp[col];
    e->n = c->fn[col];
    return 1;
}

/* Parse the current record of c into row (strings point into c's buffer).
 * 0, or 1 with *e saying what is wrong. Reads r but never changes it, so a
 * parsing thread may call it while the calling thread folds rows. */
static inline int parse_fields(const reader *r, const clv__csv *c, uint32_t ncats, clv__row *row, parse_err *e)
{
    const char *why;
    if (CLV__UNLIKELY(c->nfields != r->nexpect)) {
        e->kind = PE_COUNT;
        return 1;
    }

    int32_t ci = r->col[CLV_COLUMN_CUSTOMER];
    const char *id = c->fp[ci];
    size_t id_len = c->fn[ci];
    trim(&id, &id_len);
    if (CLV__UNLIKELY(id_len == 0))
        return field_err(e, c, ci, CLV_COLUMN_CUSTOMER, "expected a customer id (the field is empty)");
    row->id = id;
    row->id_len = id_len;

    int32_t di = r->col[CLV_COLUMN_DATE];
    if (CLV__UNLIKELY(clv__parse_day(c->fp[di], c->fn[di], &row->day, &why) != 0))
        return field_err(e, c, di, CLV_COLUMN_DATE, why);

    row->event = CLV_EVENT_PURCHASE;
    int32_t ei = r->col[CLV_COLUMN_EVENT];
    if (ei != NO_COL && CLV__UNLIKELY(parse_event(c->fp[ei], c->fn[ei], &row->event) != 0)) {
        return field_err(e, c, ei, CLV_COLUMN_EVENT,
                         "expected an event: purchase, order, transaction, view, page_view, click, cart "
                         "or add_to_cart");
    }

    int32_t ai = r->col[CLV_COLUMN_AMOUNT];
    row->amount = 0.0;
    if (row->event == CLV_EVENT_PURCHASE) {
        if (CLV__UNLIKELY(ai == NO_COL)) {
            e->kind = PE_ROW;
            e->why = "a purchase needs an amount, and the file has no amount column";
            return 1;
        }
        if (CLV__UNLIKELY(clv__parse_double(c->fp[ai], c->fn[ai], &row->amount, &why) != 0))
            return field_err(e, c, ai, CLV_COLUMN_AMOUNT, why);
    } else if (ai != NO_COL) {
        /* Views and clicks carry no amount; a value there must still be a
         * number, or the file is not what its header says. */
        const char *s = c->fp[ai];
        size_t n = c->fn[ai];
        trim(&s, &n);
        if (n && clv__parse_double(s, n, &row->amount, &why) != 0)
            return field_err(e, c, ai, CLV_COLUMN_AMOUNT, why);
    }

    row->quantity = 1.0;
    int32_t qi = r->col[CLV_COLUMN_QUANTITY];
    if (qi != NO_COL) {
        const char *s = c->fp[qi];
        size_t n = c->fn[qi];
        trim(&s, &n);
        if (n && clv__parse_double(s, n, &row->quantity, &why) != 0)
            return field_err(e, c, qi, CLV_COLUMN_QUANTITY, why);
    }

    for (uint32_t k = 0; k < ncats; k++) {
        const char *s = c->fp[r->cat[k]];
        size_t n = c->fn[r->cat[k]];
        trim(&s, &n);
        row->cat[k] = n ? s : NULL;   /* empty = unknown */
        row->cat_len[k] = n;
    }
    return 0;
}

/* A row parse_fields() refused (ex: excerpt of e->text for PE_FIELD). */
static int bad_parse(reader *r, uint64_t line, uint32_t nfields, const parse_err *e, const char *ex)
{
    if (e->kind == PE_COUNT) return bad_field_count(r, line, nfields);
    if (e->kind == PE_ROW) return bad_row(r, line, e->why);
    return bad_field(r, line, e->col, e->role, e->why, ex);
}

/* Fold a parsed row of `line` into the log. */
static inline int fold_row(reader *r, const clv__row *row, uint64_t line)
{
    clv_txlog *log = r->log;
    const char *why;
    int rc = clv__txlog_add(log, row, &why);
    if (CLV__LIKELY(rc == CLV_OK)) return CLV_OK;
    if (rc != CLV_EFORMAT) return rc;
    if (!log->o.strict) {
        log->totals.bad_rows++;
        return CLV_OK;
    }
    return clv__error(CLV_EFORMAT, "%s:%llu: %s", r->name, (unsigned long long)line,
                      why ? why : "row refused by the log's policies");
}

/* Parse the current record and add it to the log. */
static int do_row(reader *r, clv__row *row)
{
    const clv__csv *c = &r->csv;
    r->log->totals.rows_read++;
    parse_err e;
    if (CLV__UNLIKELY(parse_fields(r, c, r->log->ncats, row, &e) != 0)) {
        char ex[48];
        if (e.kind == PE_FIELD) excerpt(e.text, e.n, ex);
        return bad_parse(r, c->line, c->nfields, &e, ex);
    }
    return fold_row(r, row, c->line);
}

/* A record the tokenizer could not read (over-long line, NUL byte,
 * unterminated quote). */
static int bad_record(reader *r, int data_row, uint64_t line, const char *bad)
{
    if (data_row) r->log->totals.rows_read++;
    if (!r->log->o.strict) {
        r->log->totals.bad_rows++;
        return CLV_OK;
    }
    if (bad == NULL) bad = "unreadable line";
    if (strstr(bad, "max_line_bytes") != NULL) {
        return clv__error(CLV_EFORMAT, "%s:%llu: %s (%u)", r->name, (unsigned long long)line, bad,
                          r->log->o.max_line_bytes);
    }
    return clv__error(CLV_EFORMAT, "%s:%llu: %s", r->name, (unsigned long long)line, bad);
}

static int io_error(const reader *r)
{
    char msg[128];
    if (strerror_r(r->csv.err, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "errno %d", r->csv.err);
    return clv__error(CLV_EIO, "%s: cannot read \"%s\": %s", r->fn, r->path, msg);
}

static int next_record(reader *r)
{
    int rc = clv__csv_next(&r->csv);
    if (rc == CLV_EIO) return io_error(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading with a parsing thread                                       */

/* With clv_txlog_options.threads != 1, a second thread tokenizes and parses
 * records (parse_fields) into a bounded ring of blocks while the calling
 * thread folds them into the log in file order. The producer never touches
 * the log nor reports anything: a row it cannot parse becomes a slot saying
 * what was wrong (line, column, phrase, excerpt), and the calling thread
 * turns it into exactly the count or message a single-threaded read gives.
 * Memory: RING_BLOCKS blocks of RING_ROWS slots plus their string arenas,
 * whatever the file's size. */
#define RING_ROWS 4096u
#define RING_BLOCKS 4u
#define RING_ARENA ((size_t)64 << 10)
#define EXCERPT_BYTES 48

enum { SLOT_ROW, SLOT_PARSE_ERR, SLOT_BAD_RECORD };

typedef struct rslot {
    uint64_t line;
    double amount, quantity;
    const char *why;      /* SLOT_PARSE_ERR (parse_err.why), SLOT_BAD_RECORD (csv.bad) */
    uint32_t id_off, id_len;   /* customer id in the block's arena; PE_FIELD: the excerpt */
    int32_t day, event;
    uint32_t nfields;     /* PE_COUNT */
    int32_t col;          /* PE_FIELD */
    uint8_t kind, pe_kind, role;
} rslot;

typedef struct rblock {
    rslot *slots;
    uint32_t n;
    uint32_t *cat_off, *cat_len;   /* [RING_ROWS][ncats]; len 0 = unknown */
    char *arena;
    size_t alen, acap;
    int end;              /* last block: nothing follows */
    int fatal;            /* after the rows: the producer failed with this status (0: none) */
} rblock;

typedef struct ring {
    reader *r;
    uint32_t ncats;
    rblock b[RING_BLOCKS];
    pthread_mutex_t mu;
    pthread_cond_t filled, freed;
    uint64_t produced, consumed;   /* blocks published / released */
    int stop;                      /* the consumer wants no more */
    char msg[512];                 /* message of a fatal producer failure */
} ring;

static void ring_free(ring *g)
{
    for (uint32_t i = 0; i < RING_BLOCKS; i++) {
        clv__free(g->b[i].slots);
        clv__free(g->b[i].cat_off);
        clv__free(g->b[i].cat_len);
        clv__free(g->b[i].arena);
    }
}

static int ring_alloc(ring *g)
{
    for (uint32_t i = 0; i < RING_BLOCKS; i++) {
        rblock *b = &g->b[i];
        b->slots = clv__malloc(RING_ROWS * sizeof *b->slots);
        b->arena = clv__malloc(RING_ARENA);
        b->acap = RING_ARENA;
        if (!b->slots || !b->arena) return CLV_ENOMEM;
        if (g->ncats) {
            b->cat_off = clv__malloc((size_t)RING_ROWS * g->ncats * sizeof *b->cat_off);
            b->cat_len = clv__malloc((size_t)RING_ROWS * g->ncats * sizeof *b->cat_len);
            if (!b->cat_off || !b->cat_len) return CLV_ENOMEM;
        }
    }
    return CLV_OK;
}

/* Producer: the next block to fill, or NULL when the consumer stopped. */
static rblock *ring_acquire(ring *g)
{
    rblock *b = NULL;
    pthread_mutex_lock(&g->mu);
    while (!g->stop && g->produced - g->consumed >= RING_BLOCKS) pthread_cond_wait(&g->freed, &g->mu);
    if (!g->stop) b = &g->b[g->produced % RING_BLOCKS];
    pthread_mutex_unlock(&g->mu);
    if (b) {
        b->n = 0;
        b->alen = 0;
        b->end = 0;
        b->fatal = 0;
    }
    return b;
}

static void ring_publish(ring *g)
{
    pthread_mutex_lock(&g->mu);
    g->produced++;
    pthread_cond_signal(&g->filled);
    pthread_mutex_unlock(&g->mu);
}

/* Room for `need` more arena bytes and one more slot in *pb, publishing it
 * and taking the next block when full. 0, 1 = stop, or CLV_ENOMEM. */
static int ring_room(ring *g, rblock **pb, size_t need)
{
    rblock *b = *pb;
    if (b->n < RING_ROWS && b->alen + need <= b->acap) return 0;
    if (b->n > 0) {
        ring_publish(g);
        b = *pb = ring_acquire(g);
        if (!b) return 1;
    }
    if (need > b->acap) {
        /* One record's strings beyond the arena: only with a large
         * max_line_bytes; the arena then holds that one record. */
        char *na = clv__malloc(need);
        if (!na) return CLV_ENOMEM;
        clv__free(b->arena);
        b->arena = na;
        b->acap = need;
    }
    return 0;
}

static inline uint32_t arena_put(rblock *b, const char *s, size_t n)
{
    uint32_t off = (uint32_t)b->alen;
    if (n) memcpy(b->arena + b->alen, s, n);
    b->alen += n;
    return off;
}

static void *producer_main(void *arg)
{
    ring *g = arg;
    const reader *r = g->r;
    clv__csv *c = &g->r->csv;
    const uint32_t ncats = g->ncats;
    const int32_t ci = r->col[CLV_COLUMN_CUSTOMER];
    clv__row row;
    memset(&row, 0, sizeof row);
    rblock *b = ring_acquire(g);
    if (!b) return NULL;
    for (;;) {
        int rc = clv__csv_next(c);
        if (CLV__LIKELY(rc == CLV__CSV_RECORD)) {
            size_t need = EXCERPT_BYTES;
            if (c->nfields == r->nexpect) {
                need += c->fn[ci];
                for (uint32_t k = 0; k < ncats; k++) need += c->fn[r->cat[k]];
            }
            int room = ring_room(g, &b, need);
            if (room == 1) return NULL;
            if (room != 0) {
                rc = room;
                goto fatal;
            }
            rslot *s = &b->slots[b->n];
            s->line = c->line;
            parse_err e;
            if (CLV__LIKELY(parse_fields(r, c, ncats, &row, &e) == 0)) {
                s->kind = SLOT_ROW;
                s->id_len = (uint32_t)row.id_len;
                s->id_off = arena_put(b, row.id, row.id_len);
                s->day = row.day;
                s->event = row.event;
                s->amount = row.amount;
                s->quantity = row.quantity;
                if (ncats) {
                    uint32_t *co = b->cat_off + (size_t)b->n * ncats, *cl = b->cat_len + (size_t)b->n * ncats;
                    for (uint32_t k = 0; k < ncats; k++) {
                        cl[k] = (uint32_t)row.cat_len[k];
                        co[k] = row.cat[k] ? arena_put(b, row.cat[k], row.cat_len[k]) : 0;
                    }
                }
            } else {
                s->kind = SLOT_PARSE_ERR;
                s->pe_kind = (uint8_t)e.kind;
                s->why = e.why;
                s->nfields = c->nfields;
                s->col = e.col;
                s->role = (uint8_t)e.role;
                if (e.kind == PE_FIELD) {
                    s->id_off = (uint32_t)b->alen;
                    excerpt(e.text, e.n, b->arena + b->alen);
                    b->alen += EXCERPT_BYTES;
                }
            }
            b->n++;
        } else if (rc == CLV__CSV_BAD) {
            int room = ring_room(g, &b, 0);
            if (room == 1) return NULL;
            if (room != 0) {
                rc = room;
                goto fatal;
            }
            rslot *s = &b->slots[b->n++];
            s->kind = SLOT_BAD_RECORD;
            s->line = c->line;
            s->why = c->bad;
        } else if (rc == CLV__CSV_END) {
            b->end = 1;
            ring_publish(g);
            return NULL;
        } else {
            goto fatal;
        }
        continue;
    fatal:
        /* The rows before the failure are in b; the calling thread reports
         * it after them. clv_last_error() is per thread: pass it on. */
        snprintf(g->msg, sizeof g->msg, "%s", clv_last_error());
        b->fatal = rc;
        b->end = 1;
        ring_publish(g);
        return NULL;
    }
}

/* Fold the slots of one block; CLV_OK or the first error. */
static int consume_block(reader *r, const ring *g, const rblock *b, clv__row *row)
{
    clv_txlog *log = r->log;
    const uint32_t ncats = g->ncats;
    for (uint32_t i = 0; i < b->n; i++) {
        const rslot *s = &b->slots[i];
        int rc;
        if (CLV__LIKELY(s->kind == SLOT_ROW)) {
            log->totals.rows_read++;
            row->id = b->arena + s->id_off;
            row->id_len = s->id_len;
            row->day = s->day;
            row->event = s->event;
            row->amount = s->amount;
            row->quantity = s->quantity;
            if (ncats) {
                const uint32_t *co = b->cat_off + (size_t)i * ncats, *cl = b->cat_len + (size_t)i * ncats;
                for (uint32_t k = 0; k < ncats; k++) {
                    row->cat[k] = cl[k] ? b->arena + co[k] : NULL;
                    row->cat_len[k] = cl[k];
                }
            }
            rc = fold_row(r, row, s->line);
        } else if (s->kind == SLOT_PARSE_ERR) {
            log->totals.rows_read++;
            parse_err e;
            memset(&e, 0, sizeof e);
            e.kind = s->pe_kind;
            e.col = s->col;
            e.role = s->role;
            e.why = s->why;
            rc = bad_parse(r, s->line, s->nfields, &e, e.kind == PE_FIELD ? b->arena + s->id_off : "");
        } else {
            rc = bad_record(r, 1, s->line, s->why);
        }
        if (CLV__UNLIKELY(rc != CLV_OK)) return rc;
    }
    return CLV_OK;
}

/* Whether this read uses a parsing thread. */
static int read_threads(const clv_txlog *log)
{
    uint32_t t = log->o.threads;
    if (t == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n >= 2 ? 2 : 1;
    }
    return t >= 2 ? 2 : 1;
}

/* The records after the first data row, with a parsing thread. *started = 0
 * when the thread could not be had (nothing was read: go on alone). */
static int read_rest_threaded(reader *r, clv__row *row, int *started)
{
    ring *g = clv__calloc(1, sizeof *g);
    *started = 0;
    if (!g) return CLV_OK;
    g->r = r;
    g->ncats = r->log->ncats;
    if (ring_alloc(g) != CLV_OK) {
        ring_free(g);
        clv__free(g);
        return CLV_OK;
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->filled, NULL);
    pthread_cond_init(&g->freed, NULL);
    pthread_t tid;
    if (pthread_create(&tid, NULL, producer_main, g) != 0) {
        pthread_cond_destroy(&g->freed);
        pthread_cond_destroy(&g->filled);
        pthread_mutex_destroy(&g->mu);
        ring_free(g);
        clv__free(g);
        return CLV_OK;
    }
    *started = 1;

    int rc = CLV_OK, fatal = 0;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (g->consumed == g->produced) pthread_cond_wait(&g->filled, &g->mu);
        const rblock *b = &g->b[g->consumed % RING_BLOCKS];
        pthread_mutex_unlock(&g->mu);

        rc = consume_block(r, g, b, row);
        int end = b->end;
        if (rc == CLV_OK) fatal = b->fatal;

        pthread_mutex_lock(&g->mu);
        g->consumed++;
        pthread_cond_signal(&g->freed);
        pthread_mutex_unlock(&g->mu);
        if (rc != CLV_OK || end) break;
    }
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->freed);
    pthread_mutex_unlock(&g->mu);
    pthread_join(tid, NULL);

    if (rc == CLV_OK && fatal != 0) {
        if (fatal == CLV_EIO) rc = io_error(r);
        else if (fatal == CLV_ENOMEM) rc = clv__oom();
        else rc = clv__error(fatal, "%s", g->msg);
    }
    pthread_cond_destroy(&g->freed);
    pthread_cond_destroy(&g->filled);
    pthread_mutex_destroy(&g->mu);
    ring_free(g);
    clv__free(g);
    return rc;
}

static int read_all(reader *r)
{
    clv_txlog *log = r->log;
    int rc;
    int32_t delim = log->o.delimiter;
    r->csv.delim = delim == 0 ? clv__csv_detect(&r->csv) : delim;

    /* The first readable record: header or first data row. Bad records
     * before it are data rows (the header is the first readable line). */
    int seen = 0;
    for (;;) {
        rc = next_record(r);
        if (rc == CLV__CSV_RECORD) break;
        if (rc == CLV__CSV_END) {
            if (!seen) return clv__error(CLV_EFORMAT, "%s: empty file", r->name);
            return CLV_OK;
        }
        if (rc != CLV__CSV_BAD) return rc;
        seen = 1;
        CLV__TRY(bad_record(r, 1, r->csv.line, r->csv.bad));
    }

    r->has_header = looks_like_header(r);
    if (r->has_header) CLV__TRY(copy_header(r));
    CLV__TRY(resolve_columns(r));
    r->nexpect = r->csv.nfields;
    r->expect_line = r->csv.line;

    clv__row row;
    memset(&row, 0, sizeof row);   /* unused category slots stay NULL */
    if (!r->has_header) CLV__TRY(do_row(r, &row));
    if (read_threads(log) > 1) {
        int started;
        rc = read_rest_threaded(r, &row, &started);
        if (started) return rc;
    }
    for (;;) {
        rc = next_record(r);
        if (CLV__LIKELY(rc == CLV__CSV_RECORD)) {
            CLV__TRY(do_row(r, &row));
        } else if (rc == CLV__CSV_BAD) {
            CLV__TRY(bad_record(r, 1, r->csv.line, r->csv.bad));
        } else if (rc == CLV__CSV_END) {
            return CLV_OK;
        } else {
            return rc;
        }
    }
}

static int check_report(const clv_txlog_report *report, const char *fn)
{
    CLV__CHECK_ARG(report == NULL || report->struct_size >= sizeof(uint32_t),
                   "%s: report->struct_size is 0; call clv_txlog_report_init()", fn);
    return CLV_OK;
}

static int run(reader *r, clv_txlog_report *report)
{
    const clv_txlog_report before = r->log->totals;
    int rc = read_all(r);
    /* Counts are reported on failure too: in strict mode the rows before
     * the bad one stay in the log and the caller may want to know. */
    clv__txlog_report_since(r->log, &before, report);
    clv__free(r->hdr);
    clv__free(r->hdr_off);
    clv__csv_close(&r->csv);
    return rc;
}

static size_t max_record_of(const clv_txlog *log)
{
    return log->o.max_line_bytes ? log->o.max_line_bytes : 65536;
}

CLV_API int clv_txlog_read_csv(clv_txlog *log, const char *path, clv_txlog_report *report)
{
    static const char fn[] = "clv_txlog_read_csv";
    CLV__CHECK_ARG(log != NULL, "%s: log is NULL", fn);
    CLV__CHECK_ARG(path != NULL, "%s: path is NULL", fn);
    CLV__TRY(check_report(report, fn));

    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        char msg[128];
        int e = errno;
        if (strerror_r(e, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "errno %d", e);
        return clv__error(CLV_EIO, "%s: cannot open \"%s\": %s", fn, path, msg);
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return clv__error(CLV_EIO, "%s: cannot read \"%s\": it is a directory", fn, path);
    }

    reader r;
    memset(&r, 0, sizeof r);
    r.log = log;
    r.fn = fn;
    r.path = path;
    r.name = base_name(path);
    int rc = clv__csv_open_fd(&r.csv, fd, max_record_of(log));
    if (rc == CLV_EIO) rc = io_error(&r);
    if (rc == CLV_OK) {
        rc = run(&r, report);
    } else {
        clv__csv_close(&r.csv);
    }
    close(fd);
    return rc;
}

CLV_API int clv_txlog_read_csv_buffer(clv_txlog *log, const char *data, size_t size, const char *name,
                                      clv_txlog_report *report)
{
    static const char fn[] = "clv_txlog_read_csv_buffer";
    CLV__CHECK_ARG(log != NULL, "%s: log is NULL", fn);
    CLV__CHECK_ARG(data != NULL || size == 0, "%s: data is NULL", fn);
    CLV__TRY(check_report(report, fn));
    reader r;
    memset(&r, 0, sizeof r);
    r.log = log;
    r.fn = fn;
    r.path = name ? name : "<buffer>";
    r.name = r.path;
    clv__csv_open_mem(&r.csv, data ? data : "", size, max_record_of(log));
    return run(&r, report);
}

/* ------------------------------------------------------------------ */
/* Column mapping                                                      */

CLV_API int clv_txlog_set_column(clv_txlog *log, int32_t role, const char *name, int32_t index)
{
    static const char fn[] = "clv_txlog_set_column";
    CLV__CHECK_ARG(log != NULL, "%s: log is NULL", fn);
    CLV__CHECK_ARG(role >= CLV_COLUMN_CUSTOMER && role <= CLV_COLUMN_CATEGORY,
                   "%s: role = %d is not a clv_column_role", fn, (int)role);
    CLV__CHECK_ARG(name != NULL || index != 0, "%s: give a column name or a 1-based index (both are empty)",
                   fn);
    CLV__CHECK_ARG(name == NULL || index == 0,
                   "%s: give a column name (index = 0) or a 1-based index (name = NULL), not both", fn);
    size_t len = 0;
    if (name) {
        len = strlen(name);
        CLV__CHECK_ARG(len >= 1 && len < 64, "%s: column name \"%.64s\" must be 1..63 bytes long", fn, name);
    } else {
        CLV__CHECK_ARG(index >= 1, "%s: column index %d, expected >= 1 (indexes are 1-based)", fn, (int)index);
    }

    if (role == CLV_COLUMN_CATEGORY) {
        CLV__CHECK_ARG(log->ncats < CLV__MAX_CATEGORY_COLUMNS, "%s: at most %d category columns", fn,
                       CLV__MAX_CATEGORY_COLUMNS);
        for (uint32_t k = 0; k < log->ncats; k++) {
            const clv__category_column *cc = &log->cats[k];
            if (name && cc->index == 0 && name_eq(cc->name, strlen(cc->name), name))
                return clv__error(CLV_EINVAL, "%s: category column \"%s\" is already mapped", fn, name);
            if (!name && cc->index == index)
                return clv__error(CLV_EINVAL, "%s: category column %d is already mapped", fn, (int)index);
        }
        /* Per-customer category arrays are sized as customers arrive; a
         * column added later would have no entries for earlier customers. */
        if (log->ncustomers > 0)
            return clv__error(CLV_ESTATE, "%s: map category columns before reading rows into the log", fn);
        clv__category_column *cc = &log->cats[log->ncats];
        memset(cc->name, 0, sizeof cc->name);
        if (name) memcpy(cc->name, name, len);
        cc->index = name ? 0 : index;
        log->ncats++;
        return CLV_OK;
    }

    clv__column_map *m = &log->col[role];
    memset(m, 0, sizeof *m);
    if (name) memcpy(m->name, name, len);
    m->index = name ? 0 : index;
    m->set = 1;
    return CLV_OK;
}
