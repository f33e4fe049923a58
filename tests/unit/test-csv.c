/* Delimited-text ingestion through the public API only: clv_txlog_read_csv()
 * and clv_txlog_read_csv_buffer(), column mapping, dialects, and every kind
 * of bad input in strict and lenient mode.
 *
 * What a read put into the log is observed as a user would: the read report
 * and clv_txlog_get_report() counts, and per-customer spend from a dataset
 * built at the last day (clv_dataset_calibration_spend). File reads are
 * compared with buffer reads of the same bytes, also through a pipe that
 * delivers a few bytes per read(), so buffer refills land everywhere.
 *
 * The CDNOW checks need ../shared/data/cdnow/CDNOW_master.txt: found through
 * $CLV_CDNOW_DIR or by walking up from the current directory; skipped (with a
 * message) when absent.
 *
 * The process runs on a counting allocator (installed in main() before any
 * libclv object) so that one test can show that reading a large file needs
 * memory bounded by one buffer, not by the file. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <clv/clv.h>

#include "test-common.h"

#define REQUIRE(cond, ...) \
    do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* ------------------------------------------------------------------ */
/* Counting allocator                                                  */

static size_t g_live, g_peak;
/* Reads with threads != 1 allocate from their parsing thread too. */
static pthread_mutex_t g_alloc_mu = PTHREAD_MUTEX_INITIALIZER;

static void *count_alloc(size_t n, void *user)
{
    (void)user;
    /* 16-byte prefix keeps malloc's alignment and remembers the size. */
    unsigned char *p = malloc(n + 16);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    pthread_mutex_lock(&g_alloc_mu);
    g_live += n;
    if (g_live > g_peak) g_peak = g_live;
    pthread_mutex_unlock(&g_alloc_mu);
    return p + 16;
}

static void count_free(void *ptr, void *user)
{
    (void)user;
    if (!ptr) return;
    unsigned char *p = (unsigned char *)ptr - 16;
    size_t n;
    memcpy(&n, p, sizeof n);
    pthread_mutex_lock(&g_alloc_mu);
    g_live -= n;
    pthread_mutex_unlock(&g_alloc_mu);
    free(p);
}

/* clv_txlog_options.threads of the logs the tests make: 1, or
 * $CLV_TEST_READ_THREADS (run the whole file with a parsing thread). The
 * "threads" test case compares 1 and 2 directly whatever this is. */
static uint32_t g_read_threads = 1;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static clv_txlog *new_log_opts(int strict, int delim, int header, uint32_t max_line)
{
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    o.strict = strict;
    o.delimiter = delim;
    o.header = header;
    if (max_line) o.max_line_bytes = max_line;
    o.threads = g_read_threads;
    clv_txlog *log = NULL;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    return log;
}

static clv_txlog *new_log(int strict) { return new_log_opts(strict, 0, -1, 0); }

static int read_text_n(clv_txlog *log, const char *text, size_t n, clv_txlog_report *rep)
{
    clv_txlog_report_init(rep);
    clv_clear_error();
    return clv_txlog_read_csv_buffer(log, text, n, "t.csv", rep);
}

static int read_text(clv_txlog *log, const char *text, clv_txlog_report *rep)
{
    return read_text_n(log, text, strlen(text), rep);
}

/* The message of the last failure contains every needle. */
static void expect_msg_at(int line, const char *const *needles)
{
    const char *msg = clv_last_error();
    for (; *needles; needles++)
        ck_assert_msg(strstr(msg, *needles) != NULL, "line %d: message \"%s\" lacks \"%s\"", line, msg, *needles);
}
#define EXPECT_MSG(...) expect_msg_at(__LINE__, (const char *const[]){ __VA_ARGS__, NULL })

/* Per-customer calibration spend at `cutoff`, through a fitted pipeline. */
typedef struct spend_table {
    clv_dataset *ds;
} spend_table;

static spend_table spends(const clv_txlog *log, int32_t cutoff)
{
    clv_pipeline *p = NULL;
    ck_assert_int_eq(clv_pipeline_new(&p, NULL), CLV_OK);
    int rc = clv_pipeline_fit(p, log, cutoff);
    ck_assert_msg(rc == CLV_OK, "fit: %s", clv_last_error());
    spend_table t = { NULL };
    rc = clv_pipeline_transform(p, log, cutoff, cutoff, &t.ds);
    ck_assert_msg(rc == CLV_OK, "transform: %s", clv_last_error());
    clv_pipeline_free(p);
    return t;
}

/* Spend of `id`, or NAN when the customer has no purchase in the dataset. */
static double spend_of(const spend_table *t, const char *id)
{
    uint64_t n = clv_dataset_customers(t->ds);
    const float *s = clv_dataset_calibration_spend(t->ds);
    for (uint64_t i = 0; i < n; i++)
        if (strcmp(clv_dataset_customer_id(t->ds, i), id) == 0) return s[i];
    return NAN;
}

static double spend_total(const spend_table *t)
{
    uint64_t n = clv_dataset_customers(t->ds);
    const float *s = clv_dataset_calibration_spend(t->ds);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++) sum += s[i];
    return sum;
}

#define EXPECT_SPEND(t, id, v)                                                                  \
    do {                                                                                        \
        double got_ = spend_of((t), (id));                                                      \
        ck_assert_msg(fabs(got_ - (v)) < 1e-4, "spend of \"%s\" = %g, expected %g", (id), got_, \
                      (double)(v));                                                             \
    } while (0)

static void free_spends(spend_table *t) { clv_dataset_free(t->ds); }

/* A private temporary directory per test (Check forks each test). */
static char g_tmp[64];

static void tmp_setup(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/clv-test-csv-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static void tmp_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
}

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static int same_counts(const clv_txlog_report *a, const clv_txlog_report *b)
{
    return a->rows_read == b->rows_read && a->rows_used == b->rows_used && a->bad_rows == b->bad_rows &&
           a->negative_rows == b->negative_rows && a->zero_rows == b->zero_rows &&
           a->duplicate_rows == b->duplicate_rows && a->customers == b->customers &&
           a->customer_days == b->customer_days && a->first_day == b->first_day && a->last_day == b->last_day;
}

static void print_report(const char *what, const clv_txlog_report *r)
{
    fprintf(stderr, "%s: read %llu used %llu bad %llu cust %llu days %llu first %lld last %lld\n", what,
            (unsigned long long)r->rows_read, (unsigned long long)r->rows_used, (unsigned long long)r->bad_rows,
            (unsigned long long)r->customers, (unsigned long long)r->customer_days, (long long)r->first_day,
            (long long)r->last_day);
}

/* ------------------------------------------------------------------ */
/* Dialects                                                            */

/* Three rows, two customers: A spends 10.50 + 2.25, B 3. */
static void check_abc(clv_txlog *log, const clv_txlog_report *rep, const char *what)
{
    ck_assert_msg(rep->rows_read == 3 && rep->rows_used == 3 && rep->bad_rows == 0, "%s: read %llu used %llu",
                  what, (unsigned long long)rep->rows_read, (unsigned long long)rep->rows_used);
    ck_assert_uint_eq(rep->customers, 2);
    ck_assert_uint_eq(rep->customer_days, 3);
    ck_assert_int_eq(rep->first_day, clv_test_day("2020-01-01"));
    ck_assert_int_eq(rep->last_day, clv_test_day("2020-01-05"));
    spend_table t = spends(log, clv_test_day("2020-01-05"));
    EXPECT_SPEND(&t, "A", 12.75);
    EXPECT_SPEND(&t, "B", 3.0);
    free_spends(&t);
}

static void abc_text(char *buf, size_t size, char d)
{
    snprintf(buf, size,
             "customer_id%cdate%camount\n"
             "A%c2020-01-01%c10.50\n"
             "B%c20200102%c3\n"
             "A%c2020-01-05T10:00:00Z%c2.25\n",
             d, d, d, d, d, d, d, d);
}

START_TEST(test_dialect_delimiters)
{
    const char delims[] = { ',', '\t', ';', '|' };
    for (size_t i = 0; i < sizeof delims; i++) {
        char text[256];
        abc_text(text, sizeof text, delims[i]);
        for (int explicit_delim = 0; explicit_delim < 2; explicit_delim++) {
            clv_txlog *log = new_log_opts(1, explicit_delim ? delims[i] : 0, -1, 0);
            clv_txlog_report rep;
            int rc = read_text(log, text, &rep);
            ck_assert_msg(rc == CLV_OK, "delimiter %d (explicit %d): %s", delims[i], explicit_delim,
                          clv_last_error());
            char what[32];
            snprintf(what, sizeof what, "delimiter %d", delims[i]);
            check_abc(log, &rep, what);
            clv_txlog_free(log);
        }
    }
}
END_TEST

START_TEST(test_dialect_whitespace_runs)
{
    /* CDNOW layout: leading spaces, runs of spaces and tabs, trailing blanks. */
    const char *text =
        "   customer_id  date\t amount  \n"
        "  A   2020-01-01   10.50\n"
        "B\t\t20200102 3   \n"
        "\t A  2020-01-05T10:00:00Z  \t 2.25\n";
    for (int explicit_delim = 0; explicit_delim < 2; explicit_delim++) {
        clv_txlog *log = new_log_opts(1, explicit_delim ? ' ' : 0, -1, 0);
        clv_txlog_report rep;
        ck_assert_msg(read_text(log, text, &rep) == CLV_OK, "%s", clv_last_error());
        check_abc(log, &rep, "whitespace");
        clv_txlog_free(log);
    }
}
END_TEST

START_TEST(test_dialect_crlf_bom)
{
    /* BOM before the header, CRLF everywhere, no line end after the last row. */
    const char *text =
        "\xEF\xBB\xBF" "customer_id,date,amount\r\n"
        "A,2020-01-01,10.50\r\n"
        "\r\n"
        "B,20200102,3\r\n"
        "A,2020-01-05T10:00:00Z,2.25";
    clv_txlog *log = new_log(1);
    clv_txlog_report rep;
    ck_assert_msg(read_text(log, text, &rep) == CLV_OK, "%s", clv_last_error());
    check_abc(log, &rep, "crlf+bom");
    clv_txlog_free(log);

    /* Whitespace mode with CRLF, and a final line ending in CR only. */
    log = new_log(1);
    ck_assert_msg(read_text(log, "\xEF\xBB\xBF" "customer_id date amount\r\nA 2020-01-01 10.50\r\n"
                                 "B 20200102 3\r\nA 20200105 2.25\r",
                            &rep) == CLV_OK,
                  "%s", clv_last_error());
    check_abc(log, &rep, "ws crlf");
    clv_txlog_free(log);

    /* Comma mode, last line ending in a lone CR. */
    log = new_log(1);
    ck_assert_msg(read_text(log, "customer_id,date,amount\nA,2020-01-01,10.50\nB,20200102,3\nA,20200105,2.25\r",
                            &rep) == CLV_OK,
                  "%s", clv_last_error());
    check_abc(log, &rep, "final cr");
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_quoted_fields)
{
    const char *text =
        "customer_id,date,amount,note\n"
        "\"Smith, \"\"Jr\"\"\",2020-01-01,\"10.5\",\"a \"\"quoted\"\" note, with comma\"\n"
        "  \"B\"  ,2020-01-02, 3 ,plain\n"
        "C,2020-01-03,4,\"multi\nline, with comma\r\nnote\"\n"
        "D,\"2020-01-04\",5,\"\"\n"
        "E,2020-01-05,6,12\" vinyl\n"     /* a quote inside an unquoted field is data */
        "\n"
        "F,2020-99-01,7,x\n";
    clv_txlog *log = new_log(0);
    clv_txlog_report rep;
    ck_assert_msg(read_text(log, text, &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_read, 6);
    ck_assert_uint_eq(rep.rows_used, 5);
    ck_assert_uint_eq(rep.bad_rows, 1);
    spend_table t = spends(log, clv_test_day("2020-01-31"));
    EXPECT_SPEND(&t, "Smith, \"Jr\"", 10.5);
    EXPECT_SPEND(&t, "B", 3);
    EXPECT_SPEND(&t, "C", 4);
    EXPECT_SPEND(&t, "D", 5);
    EXPECT_SPEND(&t, "E", 6);
    free_spends(&t);
    clv_txlog_free(log);

    /* Strict: the physical line number counts the lines inside the quoted
     * field and the blank line. */
    log = new_log(1);
    ck_assert_int_eq(read_text(log, text, &rep), CLV_EFORMAT);
    EXPECT_MSG("t.csv:10:", "column 2 (date)", "got \"2020-99-01\"");
    ck_assert_uint_eq(rep.rows_used, 5);
    clv_txlog_free(log);

    /* Quotes in tab and whitespace modes. */
    log = new_log(1);
    ck_assert_msg(read_text(log, "customer\tdate\tamount\n\"a\tb\"\t20200101\t1\n\"c\"\t20200101\t\"2\"\n", &rep) ==
                      CLV_OK,
                  "%s", clv_last_error());
    t = spends(log, clv_test_day("2020-01-01"));
    EXPECT_SPEND(&t, "a\tb", 1);
    EXPECT_SPEND(&t, "c", 2);
    free_spends(&t);
    clv_txlog_free(log);

    log = new_log(1);
    ck_assert_msg(read_text(log, "customer date qty amount\n\"John Smith\"  19970101 1  10.00\n"
                                 "  \"\"\"Q\"\" Ltd\"\t19970102\t2 \"5.5\"\n",
                            &rep) == CLV_OK,
                  "%s", clv_last_error());
    t = spends(log, clv_test_day("1997-01-02"));
    EXPECT_SPEND(&t, "John Smith", 10);
    EXPECT_SPEND(&t, "\"Q\" Ltd", 5.5);
    free_spends(&t);
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_detection)
{
    clv_txlog_report rep;
    /* A quoted comma in every line must not make ',' look like two delimiters
     * per line in a semicolon file, and decimal commas are not numbers. */
    clv_txlog *log = new_log(1);
    ck_assert_msg(read_text(log, "customer;date;amount\n\"X, Y\";2020-01-01;5\n\"Z, W\";2020-01-02;6\n", &rep) ==
                      CLV_OK,
                  "%s", clv_last_error());
    spend_table t = spends(log, clv_test_day("2020-01-02"));
    EXPECT_SPEND(&t, "X, Y", 5);
    free_spends(&t);
    clv_txlog_free(log);

    log = new_log(1);
    ck_assert_int_eq(read_text(log, "customer;date;amount\nA;2020-01-01;12,50\nB;2020-01-02;3,10\n", &rep),
                     CLV_EFORMAT);
    EXPECT_MSG("t.csv:2:", "column 3 (amount)", "expected a number", "got \"12,50\"");
    clv_txlog_free(log);

    /* A tab file with a comma in a text column on every line: same count of
     * both, and the tie goes to the tab. */
    log = new_log(1);
    ck_assert_msg(read_text(log, "customer_id\tdate\tamount\tcity\nA\t20200101\t1\tParis, FR\nB\t20200101\t2\tRome, IT\n",
                            &rep) == CLV_OK,
                  "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_used, 2);
    clv_txlog_free(log);

    /* One line only (header): still detected. */
    log = new_log(1);
    ck_assert_msg(read_text(log, "customer_id|date|amount\n", &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_read, 0);
    clv_txlog_free(log);
}
END_TEST

/* Fields of every length at every offset: the splitter works on 64-byte
 * blocks, so fields, blank runs and empty fields must cross block edges.
 * Expected spends are summed here. */
START_TEST(test_block_boundaries)
{
    for (int ws = 0; ws < 2; ws++) {
        size_t cap = (size_t)4 << 20, len = 0;
        char *text = malloc(cap);
        ck_assert_ptr_nonnull(text);
        len += (size_t)snprintf(text, cap, ws ? "customer date pad qty amount\n" : "customer,date,pad,qty,amount\n");
        double expect[8] = { 0 };
        char ids[8][160];
        uint32_t s = 4242u + (uint32_t)ws;
        for (int c = 0; c < 8; c++) {
            size_t n = 1 + (size_t)c * 19;    /* 1 .. 134 bytes */
            for (size_t k = 0; k < n; k++) ids[c][k] = (char)('a' + (k * 7 + (size_t)c) % 26);
            ids[c][n] = '\0';
        }
        for (int row = 0; row < 4000; row++) {
            s = s * 1664525u + 1013904223u;
            int c = (int)((s >> 8) % 8);
            unsigned cents = (s >> 12) % 100000;
            int pad = (int)((s >> 3) % 150);
            char blanks[4][100];
            for (int b = 0; b < 4; b++) {
                s = s * 1664525u + 1013904223u;
                int nb = ws ? 1 + (int)((s >> 9) % 70) : 0;
                for (int k = 0; k < nb; k++) blanks[b][k] = ((s >> (k % 24)) & 1) ? ' ' : '\t';
                blanks[b][nb] = '\0';
            }
            char padtext[160];
            memset(padtext, 'p', (size_t)pad);
            padtext[pad] = '\0';
            if (ws && pad == 0) strcpy(padtext, "-");
            const char *sep = ws ? "" : ",";
            len += (size_t)snprintf(text + len, cap - len, "%s%s%s%s2020-01-%02d%s%s%s%s%s%s%s%s%u.%02u%s\n",
                                    ws ? blanks[3] : "", ids[c], sep, blanks[0], 1 + row % 28, sep, blanks[1],
                                    padtext, sep, blanks[2], ws ? "1" : "", sep, ws ? " " : "", cents / 100,
                                    cents % 100, ws ? blanks[3] : "");
            expect[c] += cents / 100.0;
            ck_assert_uint_lt(len, cap - 1024);
        }
        clv_txlog *log = new_log_opts(1, ws ? ' ' : ',', -1, 0);
        clv_txlog_report rep;
        int rc = read_text_n(log, text, len, &rep);
        ck_assert_msg(rc == CLV_OK, "ws %d: %s", ws, clv_last_error());
        ck_assert_uint_eq(rep.rows_used, 4000);
        spend_table t = spends(log, clv_test_day("2020-01-28"));
        for (int c = 0; c < 8; c++) {
            double got = spend_of(&t, ids[c]);
            /* Spend is float per customer-day: 1e-5 relative. */
            ck_assert_msg(fabs(got - expect[c]) < 1e-5 * (1 + expect[c]), "ws %d id %d: %f vs %f", ws, c, got,
                          expect[c]);
        }
        free_spends(&t);
        clv_txlog_free(log);
        free(text);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Header and mapping                                                  */

START_TEST(test_headerless_defaults)
{
    clv_txlog_report rep;
    /* customer = 1, date = 2, amount = last. */
    clv_txlog *log = new_log(1);
    ck_assert_msg(read_text(log, "A,2020-01-01,10.50\nB,20200102,3\nA,2020-01-05,2.25\n", &rep) == CLV_OK, "%s",
                  clv_last_error());
    check_abc(log, &rep, "headerless");
    clv_txlog_free(log);

    /* CDNOW without its header: 4 whitespace-separated columns. */
    log = new_log(1);
    ck_assert_msg(read_text(log, " 00001 19970101 1 11.77\r\n 00002 19970112 2 12.00\r\n", &rep) == CLV_OK, "%s",
                  clv_last_error());
    spend_table t = spends(log, clv_test_day("1997-01-31"));
    EXPECT_SPEND(&t, "00001", 11.77);
    EXPECT_SPEND(&t, "00002", 12.0);
    free_spends(&t);
    clv_txlog_free(log);

    /* Fewer than three fields: nothing to default to. */
    log = new_log(1);
    ck_assert_int_eq(read_text(log, "A,2020-01-01\n", &rep), CLV_EINVAL);
    EXPECT_MSG("t.csv", "no header line", "clv_txlog_set_column");
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_header_forced)
{
    clv_txlog_report rep;
    /* header = 0 on a file with a header: the header is a bad data row. */
    clv_txlog *log = new_log_opts(1, 0, 0, 0);
    ck_assert_int_eq(read_text(log, "customer_id,date,amount\nA,2020-01-01,1\n", &rep), CLV_EFORMAT);
    EXPECT_MSG("t.csv:1:", "column 2 (date)", "got \"date\"");
    clv_txlog_free(log);
    log = new_log_opts(0, 0, 0, 0);
    ck_assert_int_eq(read_text(log, "customer_id,date,amount\nA,2020-01-01,1\n", &rep), CLV_OK);
    ck_assert_uint_eq(rep.rows_read, 2);
    ck_assert_uint_eq(rep.bad_rows, 1);
    clv_txlog_free(log);

    /* header = 1 on a headerless file: the first row names no known column. */
    log = new_log_opts(1, 0, 1, 0);
    ck_assert_int_eq(read_text(log, "A,2020-01-01,1\nB,2020-01-02,2\n", &rep), CLV_EINVAL);
    EXPECT_MSG("t.csv", "no customer column", "A, 2020-01-01, 1");
    clv_txlog_free(log);

    /* header = 1 with a header that detection alone would also find. */
    log = new_log_opts(1, 0, 1, 0);
    ck_assert_int_eq(read_text(log, "customer_id,date,amount\nA,2020-01-01,1\n", &rep), CLV_OK);
    ck_assert_uint_eq(rep.rows_read, 1);
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_mapping_by_name)
{
    clv_txlog_report rep;
    const char *text =
        "Customer_ID,Date,Amount,NET,price\n"
        "A,2020-01-01,10,8,99\n"
        "B,2020-01-02,20,16,99\n";
    /* Case-insensitive, and the mapping beats the "amount" alias. */
    clv_txlog *log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, "net", 0), CLV_OK);
    ck_assert_msg(read_text(log, text, &rep) == CLV_OK, "%s", clv_last_error());
    spend_table t = spends(log, clv_test_day("2020-01-02"));
    EXPECT_SPEND(&t, "A", 8);
    EXPECT_SPEND(&t, "B", 16);
    free_spends(&t);
    clv_txlog_free(log);

    /* A mapped name missing from the header: EINVAL naming it and listing the header. */
    log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, "revenue_usd", 0), CLV_OK);
    ck_assert_int_eq(read_text(log, text, &rep), CLV_EINVAL);
    EXPECT_MSG("t.csv", "\"revenue_usd\"", "(amount)", "Customer_ID, Date, Amount, NET, price");
    ck_assert_uint_eq(rep.rows_read, 0);
    clv_txlog_free(log);

    /* Mapping by name on a file read without header. */
    log = new_log_opts(1, 0, 0, 0);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, "net", 0), CLV_OK);
    ck_assert_int_eq(read_text(log, "A,2020-01-01,10,8\n", &rep), CLV_EINVAL);
    EXPECT_MSG("\"net\"", "no header", "index");
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_mapping_by_index)
{
    clv_txlog_report rep;
    /* Headerless, columns in an unusual order (CDNOW_sample layout). */
    const char *text = "00004 0001 19970101 2 29.33\n00004 0001 19970118 2 29.73\n00018 0002 19970101 1 14.96\n";
    clv_txlog *log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CUSTOMER, NULL, 1), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_DATE, NULL, 3), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_QUANTITY, NULL, 4), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 5), CLV_OK);
    ck_assert_msg(read_text(log, text, &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_used, 3);
    ck_assert_uint_eq(rep.customers, 2);
    spend_table t = spends(log, clv_test_day("1997-01-31"));
    EXPECT_SPEND(&t, "00004", 59.06);
    EXPECT_SPEND(&t, "00018", 14.96);
    free_spends(&t);

    /* The same log reads a file with a header by the same indexes: the header
     * is recognised because its date column is not a date. */
    ck_assert_msg(read_text(log, "a b when n value\n00099 0003 19970105 1 1.00\n", &rep) == CLV_OK, "%s",
                  clv_last_error());
    ck_assert_uint_eq(rep.rows_read, 1);
    clv_txlog_free(log);

    /* Index beyond the columns. */
    log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CUSTOMER, NULL, 1), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_DATE, NULL, 3), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 9), CLV_OK);
    ck_assert_int_eq(read_text(log, text, &rep), CLV_EINVAL);
    EXPECT_MSG("t.csv", "column 9 (amount)", "5 columns");
    clv_txlog_free(log);

    /* Headerless with only some required columns mapped. */
    log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 5), CLV_OK);
    ck_assert_int_eq(read_text(log, text, &rep), CLV_EINVAL);
    EXPECT_MSG("t.csv", "no header line", "customer column is not mapped");
    clv_txlog_free(log);

    /* By index together with a header. */
    log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 4), CLV_OK);
    ck_assert_msg(read_text(log, "customer_id,date,amount,net\nA,2020-01-01,10,8\n", &rep) == CLV_OK, "%s",
                  clv_last_error());
    t = spends(log, clv_test_day("2020-01-01"));
    EXPECT_SPEND(&t, "A", 8);
    free_spends(&t);
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_aliases)
{
    const char *texts[] = {
        "CustomerID,InvoiceDate,Revenue\nA,2020-01-01,7\n",
        "user_id;timestamp;sales\nA;2020-01-01T08:00:00+01:00;7\n",
        "Customer ID\tOrder Date\tValue\nA\t20200101\t7\n",
        "customer|order_date|amount\nA|2020-01-01|7\n",
        "CUSTOMER_ID DATE NUMBER_OF_CDS DOLLAR_VALUE\nA 19970101 3 7\n",   /* amount is not the 3rd column */
        "qty,dollar_value,date,customer\n2,7,2020-01-01,A\n",
        "customer_id,date,items,amount,event_type\nA,2020-01-01,1,7,purchase\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        clv_txlog *log = new_log(1);
        clv_txlog_report rep;
        ck_assert_msg(read_text(log, texts[i], &rep) == CLV_OK, "text %zu: %s", i, clv_last_error());
        ck_assert_uint_eq(rep.rows_used, 1);
        spend_table t = spends(log, (int32_t)rep.last_day);
        ck_assert_msg(fabs(spend_of(&t, "A") - 7) < 1e-6, "text %zu: spend %g", i, spend_of(&t, "A"));
        free_spends(&t);
        clv_txlog_free(log);
    }
    /* No known name at all. */
    clv_txlog *log = new_log(1);
    clv_txlog_report rep;
    ck_assert_int_eq(read_text(log, "id,date,amount\nA,2020-01-01,1\n", &rep), CLV_EINVAL);
    EXPECT_MSG("t.csv", "no customer column", "customerid", "Header: id, date, amount");
    clv_txlog_free(log);
    log = new_log(1);
    ck_assert_int_eq(read_text(log, "customer_id,day,amount\nA,2020-01-01,1\n", &rep), CLV_EINVAL);
    EXPECT_MSG("no date column");
    clv_txlog_free(log);
    log = new_log(1);
    ck_assert_int_eq(read_text(log, "customer_id,date,price\nA,2020-01-01,1\n", &rep), CLV_EINVAL);
    EXPECT_MSG("no amount column");
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_events)
{
    const char *text =
        "user_id,timestamp,event_type,revenue\n"
        "u1,2020-01-01T10:00:00Z,view,\n"
        "u1,2020-01-01T10:05:00Z,Add_To_Cart,\n"
        "u1,2020-01-01T10:06:00Z,PURCHASE,20\n"
        "u2,2020-01-02 09:00:00,page_view,\n"
        "u2,2020-01-02 09:00:00, click ,\n"
        "u3,2020-01-03,order,5\n"
        "u3,2020-01-04,transaction,6\n"
        "u3,2020-01-04,cart,0\n";
    clv_txlog *log = new_log(1);
    clv_txlog_report rep;
    ck_assert_msg(read_text(log, text, &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_used, 8);
    ck_assert_uint_eq(rep.customers, 3);
    ck_assert_uint_eq(rep.customer_days, 4);
    spend_table t = spends(log, clv_test_day("2020-01-04"));
    EXPECT_SPEND(&t, "u1", 20);
    EXPECT_SPEND(&t, "u3", 11);
    ck_assert(isnan(spend_of(&t, "u2")));   /* views only: no purchase */
    free_spends(&t);
    clv_txlog_free(log);

    /* Unknown event, purchase without amount, view with a non-number. */
    const char *bad =
        "user_id,date,event,amount\n"
        "u1,2020-01-01,refund,5\n"
        "u1,2020-01-01,purchase,\n"
        "u1,2020-01-01,view,abc\n"
        "u1,2020-01-01,,1\n";
    log = new_log(1);
    ck_assert_int_eq(read_text(log, bad, &rep), CLV_EFORMAT);
    EXPECT_MSG("t.csv:2:", "column 3 (event)", "expected an event", "got \"refund\"");
    clv_txlog_free(log);
    log = new_log(0);
    ck_assert_int_eq(read_text(log, bad, &rep), CLV_OK);
    ck_assert_uint_eq(rep.bad_rows, 4);
    ck_assert_uint_eq(rep.rows_used, 0);
    clv_txlog_free(log);

    /* An event log without an amount column: views are fine, a purchase is bad. */
    log = new_log(1);
    ck_assert_int_eq(read_text(log, "user_id,date,event\nu1,2020-01-01,view\nu1,2020-01-02,purchase\n", &rep),
                     CLV_EFORMAT);
    EXPECT_MSG("t.csv:3:", "no amount column");
    ck_assert_uint_eq(rep.rows_used, 1);
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_quantity_and_categories)
{
    clv_txlog *log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "Channel", 0), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, NULL, 5), CLV_OK);
    clv_txlog_report rep;
    const char *text =
        "customer_id,date,amount,quantity,region,channel\n"
        "A,2020-01-01,10,,  north ,web\n"
        "B,2020-01-02,5,2,south, \"store\" \n"
        "C,2020-01-03,5,1.5,,\n";
    ck_assert_msg(read_text(log, text, &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_used, 3);
    clv_txlog_free(log);

    log = new_log(1);
    ck_assert_int_eq(read_text(log, "customer_id,date,amount,qty\nA,2020-01-01,10,two\n", &rep), CLV_EFORMAT);
    EXPECT_MSG("t.csv:2:", "column 4 (qty)", "expected a number", "got \"two\"");
    clv_txlog_free(log);
    log = new_log(1);
    ck_assert_int_eq(read_text(log, "customer_id,date,amount,qty\nA,2020-01-01,10,inf\n", &rep), CLV_EFORMAT);
    clv_txlog_free(log);

    /* A category named but absent. */
    log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "segment", 0), CLV_OK);
    ck_assert_int_eq(read_text(log, "customer_id,date,amount\nA,2020-01-01,1\n", &rep), CLV_EINVAL);
    EXPECT_MSG("\"segment\"", "(category)", "customer_id, date, amount");
    clv_txlog_free(log);
}
END_TEST

START_TEST(test_set_column_arguments)
{
    clv_txlog *log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(NULL, CLV_COLUMN_AMOUNT, "x", 0), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_set_column(log, 0, "x", 0), CLV_EINVAL);
    EXPECT_MSG("role");
    ck_assert_int_eq(clv_txlog_set_column(log, 7, "x", 0), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 0), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, "x", 2), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, -1), CLV_EINVAL);
    EXPECT_MSG("1-based");
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, "", 0), CLV_EINVAL);
    char name[70];
    memset(name, 'n', sizeof name);
    name[64] = '\0';
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, name, 0), CLV_EINVAL);
    name[63] = '\0';
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, name, 0), CLV_OK);
    /* Remapping a role replaces the earlier mapping. */
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, "amount", 0), CLV_OK);
    for (int i = 1; i <= 16; i++) ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, NULL, i), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, NULL, 17), CLV_EINVAL);
    EXPECT_MSG("16");
    clv_txlog_free(log);

    log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "seg", 0), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "SEG", 0), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, NULL, 4), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, NULL, 4), CLV_EINVAL);
    clv_txlog_report rep;
    ck_assert_msg(read_text(log, "customer_id,date,amount,seg\nA,2020-01-01,1,x\n", &rep) == CLV_OK, "%s",
                  clv_last_error());
    /* Categories cannot be added once customers are in the log. */
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "other", 0), CLV_ESTATE);
    clv_txlog_free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad input                                                           */

typedef struct bad_case {
    const char *what;
    const char *text;
    size_t size;             /* 0: strlen(text) */
    uint32_t max_line;       /* 0: default */
    int negative_policy;     /* 0: default */
    int strict_rc;
    const char *needles[5];
    int lenient_rc;
    uint64_t lenient_read, lenient_used, lenient_bad;
} bad_case;

#define HDR "customer_id,date,amount\n"

static const char over_long[] =
    HDR "A,2020-01-01,1\n"
    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB,2020-01-02,2\n"
    "C,2020-01-03,3\n";
static const char nul_byte[] = HDR "A,2020-01-01,1\nB,2020-\0" "01-02,2\nC,2020-01-03,3\n";

static const bad_case bad_cases[] = {
    { "empty", "", 0, 0, 0, CLV_EFORMAT, { "t.csv", "empty file" }, CLV_EFORMAT, 0, 0, 0 },
    { "blank lines", "\n \r\n\t\n\n", 0, 0, 0, CLV_EFORMAT, { "t.csv: empty file" }, CLV_EFORMAT, 0, 0, 0 },
    { "bom only", "\xEF\xBB\xBF", 0, 0, 0, CLV_EFORMAT, { "empty file" }, CLV_EFORMAT, 0, 0, 0 },
    { "header only", HDR, 0, 0, 0, CLV_OK, { "" }, CLV_OK, 0, 0, 0 },
    { "header only crlf, blank tail", "customer_id,date,amount\r\n\r\n", 0, 0, 0, CLV_OK, { "" }, CLV_OK, 0, 0, 0 },
    { "missing column", "customer_id,amount\nA,1\n", 0, 0, 0, CLV_EINVAL,
      { "t.csv", "no date column", "customer_id, amount" }, CLV_EINVAL, 0, 0, 0 },
    { "bad date", HDR "A,2020-01-01,1\nB,2020-02-30,2\nC,2020-01-03,3\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:3: column 2 (date): expected YYYYMMDD, YYYY-MM-DD or an ISO 8601 timestamp", "got \"2020-02-30\"" },
      CLV_OK, 3, 2, 1 },
    { "bad date form", HDR "A,01/02/2020,1\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:2:", "column 2 (date)", "got \"01/02/2020\"" }, CLV_OK, 1, 0, 1 },
    { "bad number", HDR "A,2020-01-01,1\nB,2020-01-02,12.5.1\nC,2020-01-03,3\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:3: column 3 (amount): expected a number", "got \"12.5.1\"" }, CLV_OK, 3, 2, 1 },
    { "empty amount", HDR "A,2020-01-01,\n", 0, 0, 0, CLV_EFORMAT, { "t.csv:2:", "column 3 (amount)", "empty" },
      CLV_OK, 1, 0, 1 },
    { "infinite amount", HDR "A,2020-01-01,1e999\nB,2020-01-01,nan\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:2:", "finite" }, CLV_OK, 2, 0, 2 },
    { "empty id", HDR "A,2020-01-01,1\n  ,2020-01-02,2\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:3: column 1 (customer_id): expected a customer id" }, CLV_OK, 2, 1, 1 },
    { "over-long line", over_long, 0, 64, 0, CLV_EFORMAT, { "t.csv:3: line longer than max_line_bytes (64)" },
      CLV_OK, 3, 2, 1 },
    { "NUL byte", nul_byte, sizeof nul_byte - 1, 0, 0, CLV_EFORMAT, { "t.csv:3: NUL byte" }, CLV_OK, 3, 2, 1 },
    { "unterminated quote", HDR "A,2020-01-01,1\n\"B,2020-01-02,2\nC,2020-01-03,3\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:3: unterminated quoted field" }, CLV_OK, 3, 2, 1 },
    { "unterminated quote, long tail",
      HDR "\"A,2020-01-01,1\nB,2020-01-02,2\nC,2020-01-03,3\nD,2020-01-04,4\nE,2020-01-05,5\n", 0, 64, 0,
      CLV_EFORMAT, { "t.csv:2: unterminated quoted field, or a quoted record longer than max_line_bytes (64)" },
      CLV_OK, 5, 4, 1 },
    { "text after quote", HDR "\"A\"x,2020-01-01,1\nB,2020-01-02,2\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:2:", "closing quote" }, CLV_OK, 2, 1, 1 },
    { "too few fields", HDR "A,2020-01-01,1\nB,2020-01-02\nC,2020-01-03,3\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:3: expected 3 fields as in the header on line 1, got 2" }, CLV_OK, 3, 2, 1 },
    { "too many fields", HDR "A,2020-01-01,1,9\n", 0, 0, 0, CLV_EFORMAT, { "t.csv:2:", "got 4" }, CLV_OK, 1, 0, 1 },
    { "headerless field count", "A,2020-01-01,1\nB,2020-01-02,2,3\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:2: expected 3 fields as on line 1, got 4" }, CLV_OK, 2, 1, 1 },
    { "negative refused", HDR "A,2020-01-01,1\nA,2020-01-02,-1\n", 0, 0, CLV_NEGATIVE_ERROR, CLV_EFORMAT,
      { "t.csv:3: negative amount" }, CLV_OK, 2, 1, 1 },
    { "line numbers after blanks", HDR "\n\nA,2020-01-01,1\n\n\nB,2020-13-01,1\n", 0, 0, 0, CLV_EFORMAT,
      { "t.csv:7:", "month out of range" }, CLV_OK, 2, 1, 1 },
    { "long text is cut", HDR "A,2020-01-01,123456789012345678901234567890123456789012345678901234567890x\n", 0, 0,
      0, CLV_EFORMAT, { "got \"1234567890123456789012345678901234567890...\"" }, CLV_OK, 1, 0, 1 },
};

START_TEST(test_bad_input)
{
    const bad_case *bc = &bad_cases[_i];
    for (int strict = 1; strict >= 0; strict--) {
        clv_txlog_options o;
        clv_txlog_options_init(&o);
        o.strict = strict;
        o.threads = g_read_threads;
        if (bc->max_line) o.max_line_bytes = bc->max_line;
        if (bc->negative_policy) o.negative_policy = bc->negative_policy;
        clv_txlog *log;
        ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
        clv_txlog_report rep;
        int rc = read_text_n(log, bc->text, bc->size ? bc->size : strlen(bc->text), &rep);
        int want = strict ? bc->strict_rc : bc->lenient_rc;
        ck_assert_msg(rc == want, "%s (strict %d): rc %d, expected %d; message \"%s\"", bc->what, strict, rc, want,
                      clv_last_error());
        if (strict && rc != CLV_OK) {
            for (const char *const *n = bc->needles; *n; n++)
                ck_assert_msg(strstr(clv_last_error(), *n) != NULL, "%s: message \"%s\" lacks \"%s\"", bc->what,
                              clv_last_error(), *n);
        }
        if (!strict && rc == CLV_OK) {
            ck_assert_msg(rep.rows_read == bc->lenient_read && rep.rows_used == bc->lenient_used &&
                              rep.bad_rows == bc->lenient_bad,
                          "%s (lenient): read %llu used %llu bad %llu, expected %llu %llu %llu", bc->what,
                          (unsigned long long)rep.rows_read, (unsigned long long)rep.rows_used,
                          (unsigned long long)rep.bad_rows, (unsigned long long)bc->lenient_read,
                          (unsigned long long)bc->lenient_used, (unsigned long long)bc->lenient_bad);
        }
        clv_txlog_free(log);
    }
}
END_TEST

START_TEST(test_max_line_boundary)
{
    /* A line of exactly max_line_bytes is fine with LF or CRLF; one more is not. */
    char text[512];
    for (int extra = 0; extra < 2; extra++) {
        for (int crlf = 0; crlf < 2; crlf++) {
            char id[80];
            size_t id_len = 64 - strlen(",2020-01-01,1") + (size_t)extra;
            memset(id, 'x', id_len);
            id[id_len] = '\0';
            snprintf(text, sizeof text, "%s%s,2020-01-01,1%s%s,2020-01-02,2%s", HDR, id, crlf ? "\r\n" : "\n", id,
                     crlf ? "\r\n" : "\n");
            clv_txlog *log = new_log_opts(1, 0, -1, 64);
            clv_txlog_report rep;
            int rc = read_text(log, text, &rep);
            ck_assert_msg(rc == (extra ? CLV_EFORMAT : CLV_OK), "extra %d crlf %d: %s", extra, crlf,
                          clv_last_error());
            if (extra) EXPECT_MSG("t.csv:2: line longer than max_line_bytes (64)");
            clv_txlog_free(log);
        }
    }
}
END_TEST

START_TEST(test_policies_in_files)
{
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    o.threads = g_read_threads;
    o.zero_policy = CLV_ZERO_DROP;
    o.negative_policy = CLV_NEGATIVE_DROP;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    clv_txlog_report rep;
    ck_assert_int_eq(read_text(log, HDR "A,2020-01-01,0\nA,2020-01-01,-2\nA,2020-01-02,5\n", &rep), CLV_OK);
    ck_assert_uint_eq(rep.rows_read, 3);
    ck_assert_uint_eq(rep.rows_used, 1);
    ck_assert_uint_eq(rep.zero_rows, 1);
    ck_assert_uint_eq(rep.negative_rows, 1);
    ck_assert_uint_eq(rep.bad_rows, 0);
    clv_txlog_free(log);

    clv_txlog_options_init(&o);
    o.threads = g_read_threads;
    o.duplicate_policy = CLV_DUPLICATE_ERROR;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    ck_assert_int_eq(read_text(log, HDR "A,2020-01-01,5\nB,2020-01-01,5\nA,2020-01-01,5.0\n", &rep), CLV_EFORMAT);
    EXPECT_MSG("t.csv:4:", "duplicate");
    ck_assert_uint_eq(rep.rows_used, 2);
    ck_assert_uint_eq(rep.duplicate_rows, 1);
    clv_txlog_free(log);

    clv_txlog_options_init(&o);
    o.threads = g_read_threads;
    o.order_policy = CLV_ORDER_ERROR;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    ck_assert_int_eq(read_text(log, HDR "A,2020-01-05,5\nA,2020-01-01,5\n", &rep), CLV_EFORMAT);
    EXPECT_MSG("t.csv:3:");
    clv_txlog_free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reports and repeated reads                                          */

START_TEST(test_report_and_totals)
{
    clv_txlog *log = new_log(1);
    clv_txlog_report rep;
    ck_assert_int_eq(read_text(log, HDR "A,2020-01-01,1\nB,2020-01-02,2\n", &rep), CLV_OK);
    ck_assert_uint_eq(rep.rows_read, 2);
    ck_assert_int_eq(read_text(log, HDR "A,2020-01-03,1\nC,2020-01-04,2\nD,2020-01-44,2\n", &rep), CLV_EFORMAT);
    /* Per-call counts; the rows before the bad one stay. */
    ck_assert_uint_eq(rep.rows_read, 3);
    ck_assert_uint_eq(rep.rows_used, 2);
    ck_assert_uint_eq(rep.customers, 3);
    ck_assert_uint_eq(rep.customer_days, 4);
    ck_assert_int_eq(rep.first_day, clv_test_day("2020-01-01"));
    ck_assert_int_eq(rep.last_day, clv_test_day("2020-01-04"));
    clv_txlog_report tot;
    clv_txlog_report_init(&tot);
    ck_assert_int_eq(clv_txlog_get_report(log, &tot), CLV_OK);
    ck_assert_uint_eq(tot.rows_read, 5);
    ck_assert_uint_eq(tot.rows_used, 4);

    /* A report from an older, smaller struct: nothing written past it. */
    unsigned char raw[sizeof(clv_txlog_report) + 16];
    memset(raw, 0xAB, sizeof raw);
    clv_txlog_report *small = (clv_txlog_report *)(void *)raw;
    small->struct_size = (uint32_t)offsetof(clv_txlog_report, bad_rows);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, HDR "E,2020-01-05,1\n", strlen(HDR "E,2020-01-05,1\n"), NULL,
                                               small),
                     CLV_OK);
    ck_assert_uint_eq(small->rows_read, 1);
    for (size_t i = offsetof(clv_txlog_report, bad_rows); i < sizeof raw; i++)
        ck_assert_msg(raw[i] == 0xAB, "byte %zu written past struct_size", i);

    /* NULL report is fine; struct_size 0 is a misuse. */
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, HDR "F,2020-01-06,1\n", strlen(HDR "F,2020-01-06,1\n"), NULL,
                                               NULL),
                     CLV_OK);
    clv_txlog_report zero;
    memset(&zero, 0, sizeof zero);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, HDR, strlen(HDR), NULL, &zero), CLV_EINVAL);
    EXPECT_MSG("clv_txlog_report_init");
    ck_assert_int_eq(clv_txlog_read_csv_buffer(NULL, HDR, strlen(HDR), NULL, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, NULL, 5, NULL, NULL), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, NULL, 0, NULL, NULL), CLV_EFORMAT);
    EXPECT_MSG("<buffer>: empty file");
    /* The caller's name appears in messages. */
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, HDR "A,x,1\n", strlen(HDR "A,x,1\n"), "orders-2020.csv", NULL),
                     CLV_EFORMAT);
    EXPECT_MSG("orders-2020.csv:2: column 2 (date)");
    clv_txlog_free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Files                                                               */

START_TEST(test_file_errors)
{
    clv_txlog *log = new_log(1);
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    char path[256];
    snprintf(path, sizeof path, "%s/no-such-file.csv", g_tmp);
    ck_assert_int_eq(clv_txlog_read_csv(log, path, &rep), CLV_EIO);
    EXPECT_MSG(path, strerror(ENOENT));
    ck_assert_int_eq(clv_txlog_read_csv(log, g_tmp, &rep), CLV_EIO);
    EXPECT_MSG(g_tmp, "directory");
    ck_assert_int_eq(clv_txlog_read_csv(log, NULL, &rep), CLV_EINVAL);
    ck_assert_int_eq(clv_txlog_read_csv(NULL, path, &rep), CLV_EINVAL);

    /* Format messages name the file by its base name. */
    snprintf(path, sizeof path, "%s/orders.csv", g_tmp);
    const char *text = HDR "A,2020-01-01,1\nB,2020-01-02,x\n";
    write_file(path, text, strlen(text));
    ck_assert_int_eq(clv_txlog_read_csv(log, path, &rep), CLV_EFORMAT);
    EXPECT_MSG("orders.csv:3: column 3 (amount)");
    ck_assert_msg(strstr(clv_last_error(), g_tmp) == NULL, "message has the directory: %s", clv_last_error());
    ck_assert_uint_eq(rep.rows_used, 1);

    /* Empty file. */
    write_file(path, "", 0);
    ck_assert_int_eq(clv_txlog_read_csv(log, path, &rep), CLV_EFORMAT);
    EXPECT_MSG("orders.csv: empty file");
    clv_txlog_free(log);
}
END_TEST

/* Generated input: many customers, every dialect feature, lines of all
 * lengths, optionally bad rows. Returns a malloc'd text. */
typedef struct gen_opts {
    uint64_t rows;
    int bad;                 /* include bad rows (for lenient reads) */
    size_t long_line;        /* every 5000th row gets a note of this many bytes (0: none) */
} gen_opts;

static char *generate(const gen_opts *g, size_t *out_len)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    uint64_t s = 12345;
#define GEN_PUT(...)                                                             \
    do {                                                                         \
        for (;;) {                                                               \
            int n_ = snprintf(buf + len, cap - len, __VA_ARGS__);                \
            if ((size_t)n_ < cap - len) {                                        \
                len += (size_t)n_;                                               \
                break;                                                           \
            }                                                                    \
            cap *= 2;                                                            \
            buf = realloc(buf, cap);                                             \
            ck_assert_ptr_nonnull(buf);                                          \
        }                                                                        \
    } while (0)
    GEN_PUT("\xEF\xBB\xBF" "customer_id,date,amount,quantity,note\r\n");
    for (uint64_t i = 0; i < g->rows; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t)(s >> 33);
        unsigned cust = r % 5000;
        int32_t d = 9862 + (int32_t)((r >> 13) % 540);
        char date[16];
        ck_assert_int_eq(clv_date_format(d, date, sizeof date), CLV_OK);
        const char *eol = (r & 1) ? "\r\n" : "\n";
        unsigned cents = (r >> 3) % 100000;
        if (g->bad && i % 997 == 500) {
            GEN_PUT("C%u,%s,%u.%02u.5,1,bad amount%s", cust, date, cents / 100, cents % 100, eol);
            continue;
        }
        if (g->bad && i % 1999 == 1000) {
            GEN_PUT("\"C%u,%s,1,1,unterminated%s", cust, date, eol);
            continue;
        }
        if (g->long_line && i % 5000 == 2500) {
            GEN_PUT("C%u,%s,%u.%02u,1,\"", cust, date, cents / 100, cents % 100);
            while (cap - len < g->long_line + 16) {
                cap *= 2;
                buf = realloc(buf, cap);
                ck_assert_ptr_nonnull(buf);
            }
            memset(buf + len, 'z', g->long_line);
            len += g->long_line;
            GEN_PUT("\"%s", eol);
            continue;
        }
        switch (r % 7) {
        case 0: GEN_PUT("\"C%u\",\"%s\",\"%u.%02u\",2,\"a, \"\"b\"\"\"%s", cust, date, cents / 100, cents % 100, eol); break;
        case 1: GEN_PUT("C%u,%.4s%.2s%.2s,%u.%02u,,%s", cust, date, date + 5, date + 8, cents / 100, cents % 100, eol); break;
        case 2: GEN_PUT("C%u,%sT12:00:00-03:00,%u.%02u,1,\"multi%sline\"%s", cust, date, cents / 100, cents % 100, eol, eol); break;
        case 3: GEN_PUT("%s", eol); i--; break;
        default: GEN_PUT("C%u,%s,%u.%02u,1,plain%s", cust, date, cents / 100, cents % 100, eol); break;
        }
    }
#undef GEN_PUT
    *out_len = len;
    return buf;
}

/* Feeds a pipe in small random chunks from a thread. */
typedef struct feeder {
    int fd;
    const char *data;
    size_t len;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    uint32_t s = 77;
    size_t off = 0;
    while (off < f->len) {
        s = s * 1664525u + 1013904223u;
        size_t n = 1 + (s >> 8) % 5000;
        if (n > f->len - off) n = f->len - off;
        ssize_t w = write(f->fd, f->data + off, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;
        }
        off += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

static void read_three_ways(const char *text, size_t len, int strict, uint32_t max_line, int want_rc,
                            clv_txlog_report *out, double *spend)
{
    clv_txlog_report rep[3];
    double sp[3];
    for (int way = 0; way < 3; way++) {
        clv_txlog *log = new_log_opts(strict, 0, -1, max_line);
        clv_txlog_report_init(&rep[way]);
        int rc;
        char path[256];
        if (way == 0) {
            rc = clv_txlog_read_csv_buffer(log, text, len, "gen.csv", &rep[way]);
        } else if (way == 1) {
            snprintf(path, sizeof path, "%s/gen.csv", g_tmp);
            write_file(path, text, len);
            rc = clv_txlog_read_csv(log, path, &rep[way]);
        } else {
            int fds[2];
            ck_assert_int_eq(pipe(fds), 0);
            feeder f = { fds[1], text, len };
            pthread_t th;
            ck_assert_int_eq(pthread_create(&th, NULL, feed, &f), 0);
            snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
            rc = clv_txlog_read_csv(log, path, &rep[way]);
            close(fds[0]);   /* the writer sees EPIPE if the read stopped early */
            pthread_join(th, NULL);
        }
        ck_assert_msg(rc == want_rc, "way %d: rc %d (%s)", way, rc, clv_last_error());
        sp[way] = NAN;
        if (rc == CLV_OK && rep[way].customers > 0) {
            spend_table t = spends(log, (int32_t)rep[way].last_day);
            sp[way] = spend_total(&t);
            free_spends(&t);
        }
        clv_txlog_free(log);
    }
    for (int way = 1; way < 3; way++) {
        if (!same_counts(&rep[0], &rep[way])) {
            print_report("buffer", &rep[0]);
            print_report(way == 1 ? "file" : "pipe", &rep[way]);
            ck_abort_msg("file/pipe read differs from buffer read");
        }
        ck_assert_msg(isnan(sp[0]) ? isnan(sp[way]) : sp[way] == sp[0], "spend %f vs %f", sp[way], sp[0]);
    }
    *out = rep[0];
    *spend = sp[0];
}

START_TEST(test_file_buffer_pipe_agree)
{
    /* About 6 MB: several refills of the 1 MiB buffer, records cut at every
     * possible position by the pipe's small writes. */
    gen_opts g = { 150000, 0, 0 };
    size_t len;
    char *text = generate(&g, &len);
    clv_txlog_report rep;
    double spend;
    read_three_ways(text, len, 1, 0, CLV_OK, &rep, &spend);
    ck_assert_uint_eq(rep.rows_read, rep.rows_used);
    ck_assert_uint_eq(rep.customers, 5000);
    ck_assert_msg(rep.rows_read > 120000, "rows %llu", (unsigned long long)rep.rows_read);
    free(text);

    /* With bad rows, lenient: the same rows are skipped every way. */
    gen_opts gb = { 150000, 1, 0 };
    text = generate(&gb, &len);
    read_three_ways(text, len, 0, 0, CLV_OK, &rep, &spend);
    ck_assert_msg(rep.bad_rows > 150, "bad %llu", (unsigned long long)rep.bad_rows);
    /* Strict stops at the first bad row (line 502 at the latest), every way. */
    read_three_ways(text, len, 1, 0, CLV_EFORMAT, &rep, &spend);
    free(text);
}
END_TEST

START_TEST(test_long_lines)
{
    /* Notes of 1.5 MiB: longer than the read buffer, accepted with a 4 MiB
     * limit (the buffer grows once), skipped as bad with the 64 KiB default
     * (skipping spans several reads). */
    gen_opts g = { 20000, 0, (size_t)3 << 19 };
    size_t len;
    char *text = generate(&g, &len);
    clv_txlog_report rep, rep2;
    double spend, spend2;
    read_three_ways(text, len, 1, 4u << 20, CLV_OK, &rep, &spend);
    ck_assert_uint_eq(rep.bad_rows, 0);
    read_three_ways(text, len, 0, 0, CLV_OK, &rep2, &spend2);
    ck_assert_uint_eq(rep2.bad_rows, 4);
    ck_assert_uint_eq(rep2.rows_read, rep.rows_read);
    read_three_ways(text, len, 1, 0, CLV_EFORMAT, &rep2, &spend2);
    free(text);

    /* An over-long unquoted line without any line end, at the end of a file. */
    size_t n = (size_t)3 << 20;
    char *big = malloc(n);
    ck_assert_ptr_nonnull(big);
    const char *head = HDR "A,2020-01-01,1\n";
    memcpy(big, head, strlen(head));
    memset(big + strlen(head), 'q', n - strlen(head));
    read_three_ways(big, n, 0, 0, CLV_OK, &rep, &spend);
    ck_assert_uint_eq(rep.rows_used, 1);
    ck_assert_uint_eq(rep.bad_rows, 1);
    free(big);
}
END_TEST

/* Reading a large file needs one buffer, not memory in proportion to it. */
static void memory_bounded(uint32_t threads)
{
    /* 40 customers, 30 days: the log stays tiny while the file is ~20 MB. */
    char path[256];
    snprintf(path, sizeof path, "%s/big.csv", g_tmp);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(HDR, f);
    for (int i = 0; i < 800000; i++) fprintf(f, "customer-%02d,2020-01-%02d,%d.%02d\n", i % 40, 1 + i % 30, i % 500, i % 100);
    ck_assert_int_eq(fclose(f), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);

    clv_txlog_options o;
    clv_txlog_options_init(&o);
    o.threads = threads;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    size_t base = g_live;
    g_peak = g_live;
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    ck_assert_msg(clv_txlog_read_csv(log, path, &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_used, 800000);
    size_t used = g_peak - base;
    fprintf(stderr, "memory: file %lld bytes, threads %u, peak extra %zu bytes\n", (long long)st.st_size, threads, used);
    ck_assert_msg(used < ((size_t)3 << 20), "reading a %lld-byte file took %zu bytes", (long long)st.st_size, used);
    clv_txlog_free(log);
}

START_TEST(test_memory_bounded) { memory_bounded(g_read_threads); }
END_TEST

/* With a parsing thread: a bounded ring of parsed rows, not the file. */
START_TEST(test_memory_bounded_threads) { memory_bounded(2); }
END_TEST

/* ------------------------------------------------------------------ */
/* A parsing thread: identical results                                 */

/* Everything a read leaves behind that a user can see. */
typedef struct read_result {
    int rc;
    char msg[512];
    clv_txlog_report rep, totals;
    int fit_rc;
    clv_dataset *ds;   /* at the last day; NULL when the log is empty or the fit failed */
} read_result;

typedef struct read_setup {
    clv_txlog_options o;   /* threads is set per read */
    const char *cats[3];   /* category columns to map by name (NULL-terminated) */
} read_setup;

static void read_setup_init(read_setup *st, int strict)
{
    memset(st, 0, sizeof *st);
    clv_txlog_options_init(&st->o);
    st->o.strict = strict;
}

/* way 0: buffer, 1: file (both named "t.csv" in messages). The text is read
 * twice into the same log when `twice` (a second read appends). */
static void read_with(const read_setup *st, const char *text, size_t len, uint32_t threads, int way, int twice,
                      read_result *out)
{
    clv_txlog_options o = st->o;
    o.threads = threads;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    for (int k = 0; k < 3 && st->cats[k]; k++)
        ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, st->cats[k], 0), CLV_OK);
    char path[256];
    if (way == 1) {
        snprintf(path, sizeof path, "%s/t.csv", g_tmp);
        write_file(path, text, len);
    }
    memset(out, 0, sizeof *out);
    for (int pass = 0; pass < (twice ? 2 : 1); pass++) {
        clv_txlog_report_init(&out->rep);
        clv_clear_error();
        out->rc = way == 0 ? clv_txlog_read_csv_buffer(log, text, len, "t.csv", &out->rep)
                           : clv_txlog_read_csv(log, path, &out->rep);
        snprintf(out->msg, sizeof out->msg, "%s", clv_last_error());
        if (out->rc != CLV_OK) break;
    }
    clv_txlog_report_init(&out->totals);
    ck_assert_int_eq(clv_txlog_get_report(log, &out->totals), CLV_OK);
    out->fit_rc = -1;
    if (out->totals.customers > 0) {
        clv_pipeline *p = NULL;
        ck_assert_int_eq(clv_pipeline_new(&p, NULL), CLV_OK);
        int32_t cutoff = (int32_t)out->totals.last_day;
        int32_t mid = (int32_t)((out->totals.first_day + out->totals.last_day) / 2);
        out->fit_rc = clv_pipeline_fit(p, log, mid);
        if (out->fit_rc == CLV_OK) {
            ck_assert_msg(clv_pipeline_transform(p, log, mid, cutoff, &out->ds) == CLV_OK, "transform: %s",
                          clv_last_error());
        }
        clv_pipeline_free(p);
    }
    clv_txlog_free(log);
}

static void same_floats(const float *a, const float *b, size_t n, const char *what, const char *name)
{
    if (n == 0) return;
    ck_assert_msg(a && b && memcmp(a, b, n * sizeof *a) == 0, "%s: %s differ between 1 and 2 threads", what, name);
}

static void same_reports(const clv_txlog_report *a, const clv_txlog_report *b, const char *what)
{
    if (!same_counts(a, b) || a->out_of_order_rows != b->out_of_order_rows) {
        print_report("threads 1", a);
        print_report("threads 2", b);
        ck_abort_msg("%s: reports differ between 1 and 2 threads", what);
    }
}

static void expect_same_result(const read_result *a, const read_result *b, const char *what)
{
    ck_assert_msg(a->rc == b->rc, "%s: rc %d with 1 thread, %d with 2 (\"%s\" / \"%s\")", what, a->rc, b->rc,
                  a->msg, b->msg);
    if (a->rc != CLV_OK)
        ck_assert_msg(strcmp(a->msg, b->msg) == 0, "%s: message \"%s\" with 1 thread, \"%s\" with 2", what, a->msg,
                      b->msg);
    same_reports(&a->rep, &b->rep, what);
    same_reports(&a->totals, &b->totals, what);
    ck_assert_int_eq(a->fit_rc, b->fit_rc);
    ck_assert_int_eq(a->ds != NULL, b->ds != NULL);
    if (!a->ds) return;
    const clv_dataset *x = a->ds, *y = b->ds;
    uint64_t n = clv_dataset_customers(x);
    ck_assert_uint_eq(n, clv_dataset_customers(y));
    uint32_t T = clv_dataset_steps(x), F = clv_dataset_seq_features(x), S = clv_dataset_static_features(x);
    ck_assert_uint_eq(T, clv_dataset_steps(y));
    ck_assert_uint_eq(F, clv_dataset_seq_features(y));
    ck_assert_uint_eq(S, clv_dataset_static_features(y));
    for (uint64_t i = 0; i < n; i++)
        ck_assert_str_eq(clv_dataset_customer_id(x, i), clv_dataset_customer_id(y, i));
    same_floats(clv_dataset_sequences(x), clv_dataset_sequences(y), (size_t)n * T * F, what, "sequences");
    same_floats(clv_dataset_static(x), clv_dataset_static(y), (size_t)n * S, what, "static features");
    same_floats(clv_dataset_calibration_spend(x), clv_dataset_calibration_spend(y), (size_t)n, what, "spend");
    same_floats(clv_dataset_target_spend(x), clv_dataset_target_spend(y), (size_t)n, what, "target spend");
    same_floats(clv_dataset_frequency(x), clv_dataset_frequency(y), (size_t)n, what, "frequency");
    ck_assert(n == 0 || memcmp(clv_dataset_lengths(x), clv_dataset_lengths(y), n * sizeof(int32_t)) == 0);
}

static void free_result(read_result *r) { clv_dataset_free(r->ds); }

/* Buffer and file, threads 1 and 2, one and two reads into a log: all the same. */
static void expect_threads_agree(const read_setup *st, const char *text, size_t len, const char *what)
{
    read_result ref, got;
    read_with(st, text, len, 1, 0, 0, &ref);
    for (int way = 0; way < 2; way++) {
        for (uint32_t t = 1; t <= 2; t++) {
            if (way == 0 && t == 1) continue;
            read_with(st, text, len, t, way, 0, &got);
            expect_same_result(&ref, &got, what);
            free_result(&got);
        }
    }
    free_result(&ref);
    /* Repeated reads append; threads 0 (one per online CPU) is 1 or 2. */
    read_with(st, text, len, 1, 0, 1, &ref);
    read_with(st, text, len, 2, 0, 1, &got);
    expect_same_result(&ref, &got, what);
    free_result(&got);
    read_with(st, text, len, 0, 0, 1, &got);
    expect_same_result(&ref, &got, what);
    free_result(&got);
    free_result(&ref);
}

START_TEST(test_threads_bad_input)
{
    const bad_case *bc = &bad_cases[_i];
    for (int strict = 1; strict >= 0; strict--) {
        read_setup st;
        read_setup_init(&st, strict);
        if (bc->max_line) st.o.max_line_bytes = bc->max_line;
        if (bc->negative_policy) st.o.negative_policy = bc->negative_policy;
        char what[128];
        snprintf(what, sizeof what, "%s (strict %d)", bc->what, strict);
        expect_threads_agree(&st, bc->text, bc->size ? bc->size : strlen(bc->text), what);
    }
}
END_TEST

/* Append printf output to a growing malloc'd text. */
typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf;

static void tb_put(text_buf *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        while (t->len + n + 1 > t->cap) t->cap = t->cap ? t->cap * 2 : 4096;
        t->p = realloc(t->p, t->cap);
        ck_assert_ptr_nonnull(t->p);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

#if defined(__GNUC__)
static void tb_printf(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
static void tb_printf(text_buf *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ck_assert(n >= 0 && (size_t)n < sizeof line);
    tb_put(t, line, (size_t)n);
}

START_TEST(test_threads_generated)
{
    read_setup st;
    size_t len;
    /* Valid (quotes, CRLF, timestamps, multi-line fields, blank lines). */
    gen_opts g = { 150000, 0, 0 };
    char *text = generate(&g, &len);
    read_setup_init(&st, 1);
    expect_threads_agree(&st, text, len, "generated");
    free(text);

    /* Bad rows: lenient skips the same rows, strict stops at the same one. */
    gen_opts gb = { 150000, 1, 0 };
    text = generate(&gb, &len);
    read_setup_init(&st, 0);
    expect_threads_agree(&st, text, len, "generated, bad rows, lenient");
    read_setup_init(&st, 1);
    expect_threads_agree(&st, text, len, "generated, bad rows, strict");
    free(text);

    /* A strict error far into the file (many blocks after the first), and
     * the same rows leniently: the parsing thread is ahead when it stops. */
    text_buf t = { 0 };
    gen_opts gv = { 60000, 0, 0 };
    text = generate(&gv, &len);
    tb_put(&t, text, len);
    free(text);
    tb_printf(&t, "C7,2020-02-30,1,1,bad date\n");
    for (int i = 0; i < 30000; i++) tb_printf(&t, "C%d,2020-01-%02d,%d.5,1,tail\n", i % 3000, 1 + i % 28, i % 97);
    read_setup_init(&st, 1);
    expect_threads_agree(&st, t.p, t.len, "late strict error");
    read_setup_init(&st, 0);
    expect_threads_agree(&st, t.p, t.len, "late bad row, lenient");
    /* A refused row (policy) far into the file. */
    read_setup_init(&st, 1);
    st.o.order_policy = CLV_ORDER_ERROR;
    expect_threads_agree(&st, t.p, t.len, "order policy");
    read_setup_init(&st, 0);
    st.o.duplicate_policy = CLV_DUPLICATE_DROP;
    st.o.zero_policy = CLV_ZERO_DROP;
    expect_threads_agree(&st, t.p, t.len, "drop policies");
    free(t.p);
}
END_TEST

START_TEST(test_threads_long_lines)
{
    read_setup st;
    size_t len;
    /* Records longer than the read buffer: accepted with a 4 MiB limit,
     * over-long (bad) with the default. */
    gen_opts g = { 20000, 0, (size_t)3 << 19 };
    char *text = generate(&g, &len);
    read_setup_init(&st, 1);
    st.o.max_line_bytes = 4u << 20;
    expect_threads_agree(&st, text, len, "long lines accepted");
    read_setup_init(&st, 0);
    expect_threads_agree(&st, text, len, "long lines, lenient");
    read_setup_init(&st, 1);
    expect_threads_agree(&st, text, len, "long lines, strict");
    free(text);

    /* Ids and categories longer than a block's string arena. */
    text_buf t = { 0 };
    tb_printf(&t, "customer_id,date,amount,channel\n");
    char *big = malloc(100001);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    for (int i = 0; i < 9000; i++) {
        if (i % 1000 == 10) {
            tb_printf(&t, "L%d", i);
            tb_put(&t, big, 100000);
            tb_printf(&t, ",2020-01-%02d,%d,", 1 + i % 28, i % 50);
            tb_put(&t, big, 90000);
            tb_printf(&t, "\n");
        } else {
            tb_printf(&t, "C%d,2020-01-%02d,%d,ch%d\n", i % 700, 1 + i % 28, i % 50, i % 5);
        }
    }
    free(big);
    read_setup_init(&st, 1);
    st.o.max_line_bytes = 1u << 20;
    st.cats[0] = "channel";
    expect_threads_agree(&st, t.p, t.len, "long ids and categories");
    free(t.p);
}
END_TEST

START_TEST(test_threads_events_categories)
{
    /* Events, quantities, two category columns (one sometimes empty), bad
     * events and quantities, over more than a few blocks. */
    text_buf t = { 0 };
    tb_printf(&t, "customer_id,date,amount,quantity,event,channel,region\n");
    static const char *const events[] = { "purchase", "view", "Click", "add_to_cart", "order", "bogus" };
    for (int i = 0; i < 40000; i++) {
        const char *ev = events[(i * 7) % 5];
        if (i % 4999 == 17) ev = events[5];
        const char *qty = i % 3001 == 5 ? "lots" : (i % 3 ? "2" : "");
        const char *amount = (i % 5 == 1 || i % 5 == 2) && i % 2 ? "" : "3.25";
        tb_printf(&t, "U%d,2020-%02d-%02d,%s,%s,%s, web%d ,%s\n", i % 4321, 1 + i % 12, 1 + i % 28, amount, qty, ev,
                  i % 4, i % 7 ? "north" : "");
    }
    for (int strict = 1; strict >= 0; strict--) {
        read_setup st;
        read_setup_init(&st, strict);
        st.cats[0] = "channel";
        st.cats[1] = "region";
        expect_threads_agree(&st, t.p, t.len, strict ? "events, strict" : "events, lenient");
    }
    /* Headerless, mapped by index, whitespace-separated. */
    text_buf h = { 0 };
    for (int i = 0; i < 20000; i++) tb_printf(&h, "  %d   1997%02d%02d   %d.%02d\n", i % 999, 1 + i % 12, 1 + i % 28, i % 40, i % 100);
    read_setup st;
    read_setup_init(&st, 1);
    expect_threads_agree(&st, h.p, h.len, "headerless whitespace");
    free(h.p);
    free(t.p);
}
END_TEST

START_TEST(test_threads_option)
{
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    ck_assert_uint_eq(o.threads, 1);
    o.threads = 257;
    clv_txlog *log = NULL;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_EINVAL);
    ck_assert_ptr_null(log);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "threads"));
    o.threads = 256;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    clv_txlog_report rep;
    ck_assert_int_eq(read_text(log, HDR "A,2020-01-01,1\nB,2020-01-02,2\n", &rep), CLV_OK);
    ck_assert_uint_eq(rep.rows_used, 2);
    clv_txlog_free(log);
    /* A file that cannot be read reports the same with a parsing thread. */
    o.threads = 2;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv(log, "/nonexistent/dir/x.csv", &rep), CLV_EIO);
    EXPECT_MSG("x.csv");
    clv_txlog_free(log);
}
END_TEST

/* ------------------------------------------------------------------ */
/* CDNOW                                                               */

static int find_cdnow(char *out, size_t size, const char *file)
{
    const char *env = getenv("CLV_CDNOW_DIR");
    if (env && *env) {
        snprintf(out, size, "%s/%s", env, file);
        return access(out, R_OK) == 0;
    }
    char dir[4096];
    if (!getcwd(dir, sizeof dir)) return 0;
    for (;;) {
        snprintf(out, size, "%s/shared/data/cdnow/%s", dir, file);
        if (access(out, R_OK) == 0) return 1;
        char *slash = strrchr(dir, '/');
        if (!slash) return 0;
        if (slash == dir) {
            if (dir[1] == '\0') return 0;
            dir[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_cdnow_master)
{
    char path[4200];
    if (!find_cdnow(path, sizeof path, "CDNOW_master.txt")) {
        fprintf(stderr, "test_cdnow_master: CDNOW_master.txt not found (set CLV_CDNOW_DIR); skipped\n");
        return;
    }
    /* Independent reference: sscanf line by line. */
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));   /* header */
    uint64_t rows = 0;
    double total = 0;
    static uint64_t keys[80000];
    static unsigned char seen[30000];
    uint64_t ncust = 0;
    int min_date = 99999999, max_date = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned id;
        int date, cds;
        double dollars;
        if (sscanf(line, "%u %d %d %lf", &id, &date, &cds, &dollars) != 4) continue;
        ck_assert(id < 30000 && rows < 80000);
        keys[rows++] = (uint64_t)id * 100000000u + (uint64_t)date;
        if (!seen[id]) {
            seen[id] = 1;
            ncust++;
        }
        if (date < min_date) min_date = date;
        if (date > max_date) max_date = date;
        total += dollars;
    }
    fclose(f);
    /* Distinct (customer, day): sort the keys and count changes. */
    qsort(keys, rows, sizeof keys[0], cmp_u64);
    uint64_t ndays = rows ? 1 : 0;
    for (uint64_t i = 1; i < rows; i++) ndays += keys[i] != keys[i - 1];
    ck_assert_uint_eq(rows, 69659);
    ck_assert_uint_eq(ncust, 23570);
    ck_assert_uint_eq(ndays, 67591);

    clv_txlog *log = new_log(1);
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    ck_assert_msg(clv_txlog_read_csv(log, path, &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_read, 69659);
    ck_assert_uint_eq(rep.rows_used, 69659);
    ck_assert_uint_eq(rep.bad_rows, 0);
    ck_assert_uint_eq(rep.customers, 23570);
    ck_assert_uint_eq(rep.customer_days, 67591);
    ck_assert_int_eq(rep.first_day, clv_test_day("1997-01-01"));
    ck_assert_int_eq(rep.last_day, clv_test_day("1998-06-30"));
    ck_assert_int_eq(min_date, 19970101);
    ck_assert_int_eq(max_date, 19980630);

    spend_table t = spends(log, (int32_t)rep.last_day);
    ck_assert_uint_eq(clv_dataset_customers(t.ds), 23570);
    double got = spend_total(&t);
    ck_assert_msg(clv_test_relerr(got, total, 1e-12) < 1e-6, "total dollar_value %.6f, reference %.6f", got, total);
    fprintf(stderr, "CDNOW_master.txt: %llu rows, %llu customers, %llu customer-days, total $%.2f (reference $%.2f)\n",
            (unsigned long long)rep.rows_read, (unsigned long long)rep.customers,
            (unsigned long long)rep.customer_days, got, total);
    free_spends(&t);
    clv_txlog_free(log);

    /* Throughput (informational): best of several reads into fresh logs. */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    double best = 1e30;
    for (int k = 0; k < 7; k++) {
        clv_txlog *l2 = new_log(1);
        double t0 = now_s();
        int rc = clv_txlog_read_csv(l2, path, NULL);
        double dt = now_s() - t0;
        ck_assert_int_eq(rc, CLV_OK);
        if (dt < best) best = dt;
        clv_txlog_free(l2);
    }
    fprintf(stderr, "CDNOW_master.txt throughput: %.2f ms per read, %.2f M rows/s, %.0f MB/s (best of 7)\n",
            best * 1e3, 69659 / best / 1e6, (double)st.st_size / best / 1e6);
}
END_TEST

START_TEST(test_cdnow_sample_by_index)
{
    char path[4200];
    if (!find_cdnow(path, sizeof path, "CDNOW_sample.txt")) {
        fprintf(stderr, "test_cdnow_sample_by_index: CDNOW_sample.txt not found; skipped\n");
        return;
    }
    clv_txlog *log = new_log(1);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CUSTOMER, NULL, 1), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_DATE, NULL, 3), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_QUANTITY, NULL, 4), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 5), CLV_OK);
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    ck_assert_msg(clv_txlog_read_csv(log, path, &rep) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(rep.rows_read, 6919);
    ck_assert_uint_eq(rep.customers, 2357);
    clv_txlog_free(log);
}
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("dialects");
    tcase_add_test(tc, test_dialect_delimiters);
    tcase_add_test(tc, test_dialect_whitespace_runs);
    tcase_add_test(tc, test_dialect_crlf_bom);
    tcase_add_test(tc, test_quoted_fields);
    tcase_add_test(tc, test_detection);
    tcase_add_test(tc, test_block_boundaries);
    suite_add_tcase(s, tc);

    tc = tcase_create("columns");
    tcase_add_test(tc, test_headerless_defaults);
    tcase_add_test(tc, test_header_forced);
    tcase_add_test(tc, test_mapping_by_name);
    tcase_add_test(tc, test_mapping_by_index);
    tcase_add_test(tc, test_aliases);
    tcase_add_test(tc, test_events);
    tcase_add_test(tc, test_quantity_and_categories);
    tcase_add_test(tc, test_set_column_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad-input");
    tcase_add_loop_test(tc, test_bad_input, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_max_line_boundary);
    tcase_add_test(tc, test_policies_in_files);
    tcase_add_test(tc, test_report_and_totals);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_file_buffer_pipe_agree);
    tcase_add_test(tc, test_long_lines);
    tcase_add_test(tc, test_memory_bounded);
    tcase_add_test(tc, test_memory_bounded_threads);
    tcase_set_timeout(tc, 240);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_loop_test(tc, test_threads_bad_input, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_threads_generated);
    tcase_add_test(tc, test_threads_long_lines);
    tcase_add_test(tc, test_threads_events_categories);
    tcase_add_test(tc, test_threads_option);
    tcase_set_timeout(tc, 600);
    suite_add_tcase(s, tc);

    tc = tcase_create("cdnow");
    tcase_add_test(tc, test_cdnow_master);
    tcase_add_test(tc, test_cdnow_sample_by_index);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *rt = getenv("CLV_TEST_READ_THREADS");
    if (rt && *rt) g_read_threads = (uint32_t)strtoul(rt, NULL, 10);
    clv_allocator a = { sizeof(clv_allocator), count_alloc, count_free, NULL };
    if (clv_set_allocator(&a) != CLV_OK) return 1;
    /* The pipe feeder may write after a strict read stopped early. */
    signal(SIGPIPE, SIG_IGN);
    return clv_test_run(csv_suite());
}
