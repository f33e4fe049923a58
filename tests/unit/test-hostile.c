/* Hostile model files against the forecaster loader: whatever a file
 * claims, loading it allocates no more than its size justifies (a small
 * multiple of its bytes plus fixed-size handles), and every refused file is
 * CLV_EFORMAT with *out NULL and nothing leaked. The plain model and
 * pipeline sections have their own hostile-size tests in test-io.c; this
 * covers the forecaster section 'FCST' and the file as a whole, field by
 * field, with the checksum recomputed (anyone can). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_internal.h"
#include "io/container.h"
#include "io/serialize.h"
#include "pipeline/pipeline_impl.h"
#include "test-common.h"

typedef struct counting {
    size_t live_bytes, peak_bytes, largest;
    long live;
} counting;

/* Each block carries its size in a 16-byte prefix so that frees can be counted in bytes. */
static void *c_alloc(size_t n, void *u)
{
    counting *c = u;
    if (n > SIZE_MAX - 16) return NULL;
    size_t *p = malloc(n + 16);
    if (!p) return NULL;
    p[0] = n;
    c->live++;
    c->live_bytes += n;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
    if (n > c->largest) c->largest = n;
    return (char *)p + 16;
}

static void c_free(void *q, void *u)
{
    counting *c = u;
    if (!q) return;
    size_t *p = (size_t *)((char *)q - 16);
    c->live--;
    c->live_bytes -= p[0];
    free(p);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++) p[k] = (uint8_t)(v >> (8 * k));
}

static void reseal(uint8_t *b, size_t n) { put_le64(b + n - 16, clv__crc64(0, b, n - 16)); }

/* Load under the counting allocator; check the bound and the leak. */
static int load_bounded(const uint8_t *b, size_t n, size_t *peak, const char *what)
{
    counting c = { 0 };
    clv_allocator a = { sizeof a, c_alloc, c_free, &c };
    ck_assert_int_eq(clv_set_allocator(&a), CLV_OK);
    clv_forecaster *f = (clv_forecaster *)&c;
    int rc = clv_forecaster_load_buffer(&f, b, n);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", clv_last_error());
    clv_forecaster_free(rc == CLV_OK ? f : NULL);
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
    ck_assert_msg(rc == CLV_OK || rc == CLV_EFORMAT, "%s: status %d (%s)", what, rc, msg);
    if (rc != CLV_OK) ck_assert_msg(f == NULL, "%s: refused but *out was set", what);
    ck_assert_msg(c.live == 0, "%s: %ld blocks leaked", what, c.live);
    /* A loaded model keeps its weights and gradients (2 floats per stored
     * float), the pipeline its tables: 4x the file plus fixed-size handles. */
    const size_t bound = 4 * n + (64u << 10);
    ck_assert_msg(c.peak_bytes <= bound, "%s: %zu bytes live at the peak (largest block %zu) for a %zu-byte file (bound %zu)",
                  what, c.peak_bytes, c.largest, n, bound);
    *peak = c.peak_bytes;
    return rc;
}

START_TEST(forecaster_fields_cannot_inflate_allocations)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 100;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(&so, log), CLV_OK);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 1;
    o.hidden_size = 4;
    o.samples = 2;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    int32_t cut;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &cut), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(f, log, cut), CLV_OK);
    uint8_t *file;
    size_t n;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, (void **)&file, &n), CLV_OK);
    clv_forecaster_free(f);
    clv_txlog_free(log);

    size_t peak;
    ck_assert_int_eq(load_bounded(file, n, &peak, "the valid file"), CLV_OK);
    const size_t valid_peak = peak;

    /* Every aligned 32-bit word of the payload (section headers, the FCST
     * fields, the pipeline's counts and lengths, the model's table), set to
     * hostile values, checksum recomputed. */
    static const uint32_t vals[] = { 0, 1, 2, 0x7fffffffu, 0x80000000u, 0xffffffffu, 100000, 1u << 20 };
    uint8_t *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    long loaded = 0, refused = 0;
    size_t worst = 0;
    for (size_t off = 24; off + 4 <= n - 16; off += 4) {
        for (size_t v = 0; v < sizeof vals / sizeof *vals; v++) {
            memcpy(b, file, n);
            put_le32(b + off, vals[v]);
            reseal(b, n);
            char what[64];
            snprintf(what, sizeof what, "word at byte %zu = 0x%x", off, vals[v]);
            if (load_bounded(b, n, &peak, what) == CLV_OK) loaded++;
            else refused++;
            if (peak > worst) worst = peak;
        }
    }
    printf("hostile: %ld forecaster files with a hostile 32-bit field: %ld refused, %ld loaded; peak allocation %zu bytes "
           "(valid file: %zu) for a %zu-byte file\n", loaded + refused, refused, loaded, worst, valid_peak, n);
    ck_assert_int_gt(refused, 500);   /* most words are weights: changing one still loads */

    /* Finite values no fit can produce in the FCST section (header 24 +
     * section header 16; FCST version 2: input means at 116, scales at 164,
     * top_class_mean at 212, the first network's value_sigma at 220): the
     * roll-out would compute Inf inputs. */
    ck_assert_mem_eq(file + 24, "FCST", 4);
    const struct { size_t off; int f64; double v; const char *needle; } bad[] = {
        { 164, 0, 1e30, "input scaler 0 out of range" },
        { 164 + 4 * 7, 0, -1.0, "input scaler 7 out of range" },
        { 116 + 4 * 7, 0, 1e20, "input scaler 7 out of range" },
        { 212, 1, 1e300, "sampling statistics out of range" },
        { 220, 1, 1e10, "invalid value spread" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        memcpy(b, file, n);
        if (bad[k].f64) memcpy(b + bad[k].off, &bad[k].v, 8);   /* little-endian host, as the format */
        else {
            float fv = (float)bad[k].v;
            memcpy(b + bad[k].off, &fv, 4);
        }
        reseal(b, n);
        ck_assert_int_eq(load_bounded(b, n, &peak, "out-of-range statistic"), CLV_EFORMAT);
        ck_assert_msg(strstr(clv_last_error(), bad[k].needle), "case %zu: %s", k, clv_last_error());
    }
    free(b);
    clv_free(file);
}
END_TEST

/* A fitted pipeline stores its scalers; without normalisation they are the
 * identity. A file with another (finite) shift or scale used to load, and
 * the forecaster's roll-out then met Inf inputs ("clv__model_history:
 * x[0][0][7] is not finite", found by fuzzing). Refused at load now. */
START_TEST(pipeline_scalers_must_be_what_a_fit_writes)
{
    static const char csv[] = "customer_id,date,amount\na,1997-01-01,10\na,1997-02-01,12\nb,1997-01-03,7\n";
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(log, csv, sizeof csv - 1, "t", NULL), CLV_OK);
    int32_t cut;
    ck_assert_int_eq(clv_date_parse("1997-06-30", &cut), CLV_OK);
    const struct { int32_t norm; double shift, scale; const char *needle; } cases[] = {
        { CLV_NORM_NONE, 0.0, 1e300, "without normalisation it must be 0, 1" },
        { CLV_NORM_NONE, -5.0, 1.0, "without normalisation it must be 0, 1" },
        { CLV_NORM_ZSCORE, 0.0, -1.0, "negative scale" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        clv_pipeline_options po;
        clv_pipeline_options_init(&po);
        po.norm = cases[k].norm;
        clv_pipeline *p;
        ck_assert_int_eq(clv_pipeline_new(&p, &po), CLV_OK);
        ck_assert_int_eq(clv_pipeline_fit(p, log, cut), CLV_OK);
        p->shift[3] = cases[k].shift;
        p->scale[3] = cases[k].scale;
        clv__writer w;
        clv__writer_init(&w);
        ck_assert_int_eq(clv__pipeline_write(&w, p), CLV_OK);
        ck_assert_int_eq(clv__writer_finish(&w), CLV_OK);
        clv__reader r;
        ck_assert_int_eq(clv__reader_open(&r, w.buf, (size_t)w.len, "p.clv"), CLV_OK);
        clv_pipeline *back = NULL;
        ck_assert_int_eq(clv__pipeline_read(&r, &back), CLV_EFORMAT);
        ck_assert_ptr_null(back);
        ck_assert_msg(strstr(clv_last_error(), cases[k].needle) && strstr(clv_last_error(), "scaler 3"),
                      "case %zu: %s", k, clv_last_error());
        clv__writer_free(&w);
        clv_pipeline_free(p);
    }
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("forecaster-file");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, forecaster_fields_cannot_inflate_allocations);
    tcase_add_test(tc, pipeline_scalers_must_be_what_a_fit_writes);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
