/* Fuzz target: the transaction-log reader from memory
 * (clv_txlog_read_csv_buffer) and, through its file descriptor path, from a
 * file (clv_txlog_read_csv).
 *
 * Input: 4 option bytes, then the CSV text.
 *   byte 0: bit 0 strict, bits 1-2 header (-1 detect, 0, 1), bit 3 threads
 *           (1 or 2), bits 4-5 order/duplicate policies, bits 6-7 which
 *           reader (memory / regular file / pipe in small chunks)
 *   byte 1: delimiter (0 = detect, else taken if one of , ; | \t space)
 *   byte 2: max_line_bytes = 64 + byte * 4 (0 -> default 65536)
 *   byte 3: chunk size of the pipe writer (1..256), column mapping choice
 * The pipe reader is read through /proc/self/fd/N, so the reader's refill
 * logic sees records split across read() calls at chosen boundaries. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clv/clv.h"
#include "fuzz.h"

typedef struct feeder {
    int fd;
    const uint8_t *data;
    size_t size, chunk;
} feeder;

/* Write the text in chunks, waiting until the reader drained each one so
 * that every read() returns exactly one chunk (deterministic splits). */
static void *feed(void *arg)
{
    feeder *f = arg;
    size_t at = 0;
    while (at < f->size) {
        size_t n = f->size - at < f->chunk ? f->size - at : f->chunk;
        ssize_t w = write(f->fd, f->data + at, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;   /* EPIPE: the reader stopped early (strict mode) */
        }
        at += (size_t)w;
        for (int spins = 0; spins < 100000; spins++) {
            int pending = 0;
            if (ioctl(f->fd, FIONREAD, &pending) != 0 || pending == 0) break;
            sched_yield();
        }
    }
    close(f->fd);
    return NULL;
}

static void check_report(const clv_txlog *log)
{
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    if (clv_txlog_get_report(log, &r) != CLV_OK) FUZZ_FAIL("get_report failed: %s", clv_last_error());
    if (r.rows_used > r.rows_read) FUZZ_FAIL("rows_used %llu > rows_read %llu", (unsigned long long)r.rows_used,
                                             (unsigned long long)r.rows_read);
    if (r.customers > r.rows_used || r.customer_days > r.rows_used)
        FUZZ_FAIL("more customers/days than rows used");
    if (r.customers && r.first_day > r.last_day) FUZZ_FAIL("first_day > last_day");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        fuzz_init();
        init = 1;
    }
    if (size < 4) return 0;
    const uint8_t b0 = data[0], b1 = data[1], b2 = data[2], b3 = data[3];
    data += 4;
    size -= 4;

    clv_txlog_options o;
    clv_txlog_options_init(&o);
    o.strict = b0 & 1;
    o.header = (int32_t)((b0 >> 1) & 3) - 1;
    if (o.header > 1) o.header = -1;
    o.threads = (b0 & 8) ? 2 : 1;
    o.order_policy = (b0 & 16) ? CLV_ORDER_ERROR : CLV_ORDER_ANY;
    o.duplicate_policy = (b0 & 32) ? CLV_DUPLICATE_DROP : CLV_DUPLICATE_KEEP;
    if (b1 == ',' || b1 == ';' || b1 == '|' || b1 == '\t' || b1 == ' ') o.delimiter = b1;
    if (b2) o.max_line_bytes = 64u + 4u * b2;
    clv_txlog *log;
    if (clv_txlog_new(&log, &o) != CLV_OK) FUZZ_FAIL("clv_txlog_new: %s", clv_last_error());
    if (b3 & 0x80) {
        /* Map by index (CDNOW-like: id, date, amount in columns 1, 3, 5). */
        int rc = clv_txlog_set_column(log, CLV_COLUMN_CUSTOMER, NULL, 1);
        if (rc == CLV_OK) rc = clv_txlog_set_column(log, CLV_COLUMN_DATE, NULL, 1 + (b3 & 3));
        if (rc == CLV_OK) rc = clv_txlog_set_column(log, CLV_COLUMN_AMOUNT, NULL, 1 + ((b3 >> 2) & 7));
        if (rc == CLV_OK && (b3 & 0x40)) rc = clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, NULL, 2);
        if (rc != CLV_OK) FUZZ_FAIL("set_column: %s", clv_last_error());
    }
    clv_txlog_report rep;
    clv_txlog_report_init(&rep);
    int rc;
    const int mode = b0 >> 6;
    if (mode == 0 || mode == 3) {
        rc = clv_txlog_read_csv_buffer(log, (const char *)data, size, "fuzz.csv", &rep);
    } else if (mode == 1) {
        char path[64];
        snprintf(path, sizeof path, "%s/clv-fuzz-txlog-%d.csv", fuzz_tmpdir(), (int)getpid());
        FILE *fp = fopen(path, "wb");
        if (!fp) FUZZ_FAIL("cannot create %s", path);
        if (size && fwrite(data, 1, size, fp) != size) FUZZ_FAIL("cannot write %s", path);
        fclose(fp);
        rc = clv_txlog_read_csv(log, path, &rep);
        unlink(path);
    } else {
        int p[2];
        if (pipe(p) != 0) FUZZ_FAIL("pipe");
        feeder f = { p[1], data, size, 1u + (b3 & 0x3f) * 4u };
        pthread_t th;
        if (pthread_create(&th, NULL, feed, &f) != 0) FUZZ_FAIL("pthread_create");
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
        rc = clv_txlog_read_csv(log, path, &rep);
        close(p[0]);   /* the writer gets EPIPE if the reader stopped early */
        pthread_join(th, NULL);
    }
    if (rc != CLV_OK && rc != CLV_EFORMAT && rc != CLV_EINVAL && rc != CLV_EIO)
        FUZZ_FAIL("unexpected status %d: %s", rc, clv_last_error());
    if (rc != CLV_OK && clv_last_error()[0] == '\0') FUZZ_FAIL("status %d without a message", rc);
    check_report(log);
    /* What was read must be usable: fit a pipeline on it when there is data. */
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    if (clv_txlog_get_report(log, &r) == CLV_OK && r.customers > 0 && r.customers < 2000) {
        clv_pipeline *p;
        if (clv_pipeline_new(&p, NULL) == CLV_OK) {
            if (clv_pipeline_fit(p, log, (int32_t)r.last_day) == CLV_OK) {
                clv_dataset *ds = NULL;
                int trc = clv_pipeline_transform(p, log, (int32_t)r.last_day, 0, &ds);
                if (trc == CLV_OK) {
                    uint64_t n = clv_dataset_customers(ds);
                    for (uint64_t i = 0; i < n; i++)
                        if (!clv_dataset_customer_id(ds, i)) FUZZ_FAIL("customer %llu has no id", (unsigned long long)i);
                    /* Whatever the rows held, the features are finite. */
                    const uint64_t nseq = n * clv_dataset_steps(ds) * clv_dataset_seq_features(ds);
                    const uint64_t nst = n * clv_dataset_static_features(ds);
                    for (uint64_t i = 0; i < nseq; i++)
                        if (!isfinite(clv_dataset_sequences(ds)[i])) FUZZ_FAIL("sequence feature %llu is not finite", (unsigned long long)i);
                    for (uint64_t i = 0; i < nst; i++)
                        if (!isfinite(clv_dataset_static(ds)[i])) FUZZ_FAIL("static feature %llu is not finite", (unsigned long long)i);
                    for (uint64_t i = 0; i < n; i++)
                        if (!isfinite(clv_dataset_target_spend(ds)[i]) || !isfinite(clv_dataset_monetary_repeat(ds)[i]))
                            FUZZ_FAIL("customer %llu: a target or monetary value is not finite", (unsigned long long)i);
                } else if (trc != CLV_ENOMEM) {
                    FUZZ_FAIL("transform of a fitted pipeline: status %d: %s", trc, clv_last_error());
                }
                clv_dataset_free(ds);
            }
            clv_pipeline_free(p);
        }
    }
    clv_txlog_free(log);
    return 0;
}
