/* Unit tests of the model-file container and the model/pipeline sections
 * (lib/io/container.c, lib/io/serialize.c; spec docs/model-format.md).
 *
 * Oracles are independent of the code under test: CRC-64/XZ known answers
 * taken from xz (Python's lzma with CHECK_CRC64) and a bit-at-a-time CRC
 * written here from the definition; byte layouts written out by hand; a
 * golden format-1.0 file embedded below; predictions and transforms of the
 * original objects. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clv_internal.h"
#include "io/container.h"
#include "io/serialize.h"
#include "nn/model_impl.h"
#include "pipeline/pipeline_impl.h"
#include "test-common.h"

/* Check's passing asserts are slow inside long loops. */
#define REQUIRE(cond, ...) \
    do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

#define TAG(s) CLV__FOURCC((s)[0], (s)[1], (s)[2], (s)[3])

/* ---- helpers ------------------------------------------------------------- */

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | p[k];
    return v;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++) p[k] = (uint8_t)(v >> (8 * k));
}

/* CRC-64/XZ bit by bit, straight from the definition (reflected input and
 * output, so the register shifts right and the polynomial is bit-reversed). */
static uint64_t ref_crc64(const uint8_t *p, size_t n)
{
    const uint64_t poly = 0x42F0E1EBA9EA3693ull;
    uint64_t rpoly = 0;
    for (int k = 0; k < 64; k++)
        if (poly >> k & 1) rpoly |= 1ull << (63 - k);
    uint64_t crc = ~0ull;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) crc = (crc >> 1) ^ ((crc & 1) ? rpoly : 0);
    }
    return ~crc;
}

/* After patching a file: recompute its checksum so only the patch differs. */
static void reseal(uint8_t *b)
{
    const uint64_t end = 24 + le64(b + 16);
    put_le64(b + end, ref_crc64(b, (size_t)end));
}

/* Offset of section `tag`'s header in a finished file, or 0. */
static size_t section_at(const uint8_t *b, uint32_t tag)
{
    const uint64_t end = 24 + le64(b + 16);
    for (uint64_t at = 24; at < end; at += 16 + le64(b + at + 8))
        if ((uint32_t)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | (uint32_t)b[at + 3] << 24) == tag)
            return (size_t)at;
    return 0;
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n) memcpy(c, p, n);
    return c;
}

typedef struct model_cfg {
    int32_t cell;
    uint32_t in, hid, layers, stat, fin, step;
} model_cfg;

static clv_model *make_model(const model_cfg *c, uint32_t seed)
{
    clv_model_options o;
    clv_model_options_init(&o);
    o.cell = c->cell;
    o.input_size = c->in;
    o.hidden_size = c->hid;
    o.num_layers = c->layers;
    o.static_size = c->stat;
    o.final_outputs = c->fin;
    o.step_outputs = c->step;
    o.seed = 1000 + seed;
    o.forget_bias = 0.75f;
    clv_model *m;
    ck_assert_int_eq(clv_model_new(&m, &o), CLV_OK);
    /* Weights unlike the initialiser's, with some exact and tiny values. */
    float *p = clv_model_params(m);
    const uint64_t n = clv_model_param_count(m);
    clv_test_fill(p, n, seed, -1.5f, 1.5f);
    if (n > 3) {
        p[0] = -0.0f;
        p[1] = 1e-40f;   /* subnormal */
        p[2] = 3.4e38f;
    }
    return m;
}

static const model_cfg small_cfg = { CLV_CELL_LSTM, 2, 3, 1, 1, 1, 1 };

/* Finish a writer holding whatever sections were added. */
static void finish(clv__writer *w)
{
    ck_assert_msg(clv__writer_finish(w) == CLV_OK, "finish: %s", clv_last_error());
}

static clv_model *load_model(const uint8_t *buf, size_t len)
{
    clv__reader r;
    ck_assert_msg(clv__reader_open(&r, buf, len, "test.clv") == CLV_OK, "open: %s", clv_last_error());
    clv_model *m = NULL;
    ck_assert_msg(clv__model_read(&r, &m) == CLV_OK, "model read: %s", clv_last_error());
    return m;
}

static void assert_same_model(const clv_model *a, const clv_model *b)
{
    clv_model_options oa, ob;
    clv_model_options_init(&oa);
    clv_model_options_init(&ob);
    ck_assert_int_eq(clv_model_get_options(a, &oa), CLV_OK);
    ck_assert_int_eq(clv_model_get_options(b, &ob), CLV_OK);
    ck_assert_int_eq(oa.cell, ob.cell);
    ck_assert_uint_eq(oa.input_size, ob.input_size);
    ck_assert_uint_eq(oa.hidden_size, ob.hidden_size);
    ck_assert_uint_eq(oa.num_layers, ob.num_layers);
    ck_assert_uint_eq(oa.static_size, ob.static_size);
    ck_assert_uint_eq(oa.final_outputs, ob.final_outputs);
    ck_assert_uint_eq(oa.step_outputs, ob.step_outputs);
    ck_assert_uint_eq(oa.seed, ob.seed);
    ck_assert_mem_eq(&oa.forget_bias, &ob.forget_bias, sizeof(float));
    const uint64_t n = clv_model_param_count(a);
    ck_assert_uint_eq(n, clv_model_param_count(b));
    ck_assert_uint_eq(clv_model_param_tensor_count(a), clv_model_param_tensor_count(b));
    ck_assert_mem_eq(a->params, b->params, n * sizeof(float));

    /* Predictions, bit for bit, with ragged lengths. */
    enum { B = 5, T = 6 };
    const uint32_t F = oa.input_size, S = oa.static_size, Of = oa.final_outputs, Os = oa.step_outputs;
    float *x = malloc(sizeof(float) * B * T * F), *st = malloc(sizeof(float) * B * (S ? S : 1));
    float *fa = calloc((size_t)B * (Of ? Of : 1), sizeof(float)), *fb = calloc((size_t)B * (Of ? Of : 1), sizeof(float));
    float *sa = calloc((size_t)B * T * (Os ? Os : 1), sizeof(float)), *sb = calloc((size_t)B * T * (Os ? Os : 1), sizeof(float));
    const int32_t len[B] = { 6, 1, 3, 0, 5 };
    clv_test_fill(x, (size_t)B * T * F, 77, -2.0f, 2.0f);
    clv_test_fill(st, (size_t)B * (S ? S : 1), 78, -1.0f, 1.0f);
    ck_assert_int_eq(clv_model_predict(a, NULL, B, T, x, len, S ? st : NULL, Of ? fa : NULL, Os ? sa : NULL), CLV_OK);
    ck_assert_int_eq(clv_model_predict(b, NULL, B, T, x, len, S ? st : NULL, Of ? fb : NULL, Os ? sb : NULL), CLV_OK);
    ck_assert_mem_eq(fa, fb, sizeof(float) * B * (Of ? Of : 1));
    ck_assert_mem_eq(sa, sb, sizeof(float) * B * T * (Os ? Os : 1));
    free(x), free(st), free(fa), free(fb), free(sa), free(sb);
}

/* A purchase log with events and quantities over ~14 months (clv_txlog_append). */
static clv_txlog *make_log(uint32_t seed, int with_events)
{
    enum { N = 2500, D0 = 10000 };
    static char idbuf[N][12];
    static const char *ids[N];
    static int32_t d[N], ev[N];
    static float a[N], q[N];
    uint32_t s = seed, n = 0;
    while (n < N) {
        s = s * 1664525u + 1013904223u;
        snprintf(idbuf[n], sizeof idbuf[n], "c%u", (s >> 8) % 150);
        ids[n] = idbuf[n];
        d[n] = D0 + (int32_t)((s >> 4) % 420);
        a[n] = (float)((s >> 12) % 10000) / 100.0f;
        q[n] = (float)(1 + (s >> 20) % 3);
        ev[n] = with_events && (s >> 24) % 4 == 0 ? (int32_t)(2 + (s >> 26) % 3) : CLV_EVENT_PURCHASE;
        n++;
    }
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_msg(clv_txlog_append(log, n, ids, d, a, q, ev, NULL) == CLV_OK, "%s", clv_last_error());
    return log;
}

/* A log with two categorical columns, one mapped by name, one by index. */
static clv_txlog *make_cat_log(void)
{
    static const char csv[] =
        "customer,date,amount,channel,region\n"
        "a,2020-01-01,5,web,north\nb,2020-01-02,7,web,south\nc,2020-01-03,9,store,north\n"
        "d,2020-01-04,5,phone,east\na,2020-02-01,15,store,north\ne,2020-02-11,1,web,\n"
        "f,2020-02-12,3,kiosk,west\nb,2020-03-02,4,web,south\ng,2020-03-05,8,,north\n";
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "channel", 0), CLV_OK);
    ck_assert_int_eq(clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, NULL, 5), CLV_OK);
    ck_assert_msg(clv_txlog_read_csv_buffer(log, csv, sizeof csv - 1, "cats.csv", NULL) == CLV_OK, "%s",
                  clv_last_error());
    return log;
}

static clv_pipeline *make_pipeline(const clv_pipeline_options *o, const clv_txlog *log, int32_t cutoff)
{
    clv_pipeline *p;
    ck_assert_int_eq(clv_pipeline_new(&p, o), CLV_OK);
    if (log) ck_assert_msg(clv_pipeline_fit(p, log, cutoff) == CLV_OK, "fit: %s", clv_last_error());
    return p;
}

static void assert_same_dataset(const clv_dataset *x, const clv_dataset *y)
{
    const uint64_t n = clv_dataset_customers(x);
    ck_assert_uint_eq(n, clv_dataset_customers(y));
    const uint32_t T = clv_dataset_steps(x), F = clv_dataset_seq_features(x), S = clv_dataset_static_features(x);
    ck_assert_uint_eq(T, clv_dataset_steps(y));
    ck_assert_uint_eq(F, clv_dataset_seq_features(y));
    ck_assert_uint_eq(S, clv_dataset_static_features(y));
    ck_assert_int_eq(clv_dataset_cutoff_day(x), clv_dataset_cutoff_day(y));
    ck_assert_mem_eq(clv_dataset_sequences(x), clv_dataset_sequences(y), n * T * F * sizeof(float));
    ck_assert_mem_eq(clv_dataset_lengths(x), clv_dataset_lengths(y), n * sizeof(int32_t));
    ck_assert_mem_eq(clv_dataset_static(x), clv_dataset_static(y), n * S * sizeof(float));
    ck_assert_mem_eq(clv_dataset_target_spend(x), clv_dataset_target_spend(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_target_transactions(x), clv_dataset_target_transactions(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_target_active(x), clv_dataset_target_active(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_stages(x), clv_dataset_stages(y), n * sizeof(int32_t));
    ck_assert_mem_eq(clv_dataset_frequency(x), clv_dataset_frequency(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_recency_days(x), clv_dataset_recency_days(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_age_days(x), clv_dataset_age_days(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_monetary_repeat(x), clv_dataset_monetary_repeat(y), n * sizeof(float));
    ck_assert_mem_eq(clv_dataset_calibration_spend(x), clv_dataset_calibration_spend(y), n * sizeof(float));
    for (uint64_t i = 0; i < n; i++) ck_assert_str_eq(clv_dataset_customer_id(x, i), clv_dataset_customer_id(y, i));
}

static void assert_same_pipeline(const clv_pipeline *a, const clv_pipeline *b)
{
    ck_assert_mem_eq(&a->o, &b->o, sizeof a->o);
    ck_assert_int_eq(clv_pipeline_is_fitted(a), clv_pipeline_is_fitted(b));
    if (!a->fitted) return;
    ck_assert_int_eq(a->fit_cutoff, b->fit_cutoff);
    ck_assert_int_eq(a->has_events, b->has_events);
    ck_assert_uint_eq(a->n_numeric, b->n_numeric);
    ck_assert_mem_eq(a->shift, b->shift, sizeof a->shift);
    ck_assert_mem_eq(a->scale, b->scale, sizeof a->scale);
    ck_assert_uint_eq(a->ncats, b->ncats);
    for (uint32_t c = 0; c < a->ncats; c++) {
        ck_assert_str_eq(a->cats[c].name, b->cats[c].name);
        ck_assert_int_eq(a->cats[c].index, b->cats[c].index);
        ck_assert_uint_eq(a->cats[c].nkept, b->cats[c].nkept);
        ck_assert_uint_eq(a->cats[c].kept_len, b->cats[c].kept_len);
        if (a->cats[c].kept_len) ck_assert_mem_eq(a->cats[c].kept, b->cats[c].kept, a->cats[c].kept_len);
    }
    const uint32_t F = clv_pipeline_seq_features(a), S = clv_pipeline_static_features(a);
    ck_assert_uint_eq(F, clv_pipeline_seq_features(b));
    ck_assert_uint_eq(S, clv_pipeline_static_features(b));
    for (uint32_t i = 0; i < F; i++)
        ck_assert_str_eq(clv_pipeline_seq_feature_name(a, i), clv_pipeline_seq_feature_name(b, i));
    for (uint32_t i = 0; i < S; i++)
        ck_assert_str_eq(clv_pipeline_static_feature_name(a, i), clv_pipeline_static_feature_name(b, i));
}

static void assert_same_transform(const clv_pipeline *a, const clv_pipeline *b, const clv_txlog *log,
                                  int32_t cutoff, int32_t holdout_end)
{
    clv_dataset *x, *y;
    ck_assert_msg(clv_pipeline_transform(a, log, cutoff, holdout_end, &x) == CLV_OK, "%s", clv_last_error());
    ck_assert_msg(clv_pipeline_transform(b, log, cutoff, holdout_end, &y) == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_gt(clv_dataset_customers(x), 0);
    assert_same_dataset(x, y);
    clv_dataset_free(x);
    clv_dataset_free(y);
}

static clv_pipeline *roundtrip_pipeline(const clv_pipeline *p)
{
    clv__writer w;
    clv__writer_init(&w);
    ck_assert_int_eq(clv__pipeline_write(&w, p), CLV_OK);
    finish(&w);
    clv__reader r;
    ck_assert_msg(clv__reader_open(&r, w.buf, w.len, "p.clv") == CLV_OK, "%s", clv_last_error());
    clv_pipeline *q = NULL;
    ck_assert_msg(clv__pipeline_read(&r, &q) == CLV_OK, "pipeline read: %s", clv_last_error());
    clv__writer_free(&w);
    return q;
}

/* A small file with a model and a fitted pipeline with categories. */
static void small_file(clv__writer *w)
{
    clv_model *m = make_model(&small_cfg, 3);
    clv_txlog *log = make_cat_log();
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    po.max_steps = 4;
    clv_pipeline *p = make_pipeline(&po, log, 18350);
    clv__writer_init(w);
    ck_assert_int_eq(clv__model_write(w, m), CLV_OK);
    ck_assert_int_eq(clv__pipeline_write(w, p), CLV_OK);
    finish(w);
    clv_model_free(m);
    clv_pipeline_free(p);
    clv_txlog_free(log);
}

/* Open and read everything a forecaster would; the first failure's status. */
static int load_all(const uint8_t *buf, size_t len)
{
    clv__reader r;
    int rc = clv__reader_open(&r, buf, len, "model.clv");
    if (rc != CLV_OK) return rc;
    clv_model *m = NULL;
    clv_pipeline *p = NULL;
    rc = clv__model_read(&r, &m);
    if (rc == CLV_OK) rc = clv__pipeline_read(&r, &p);
    clv_model_free(m);
    clv_pipeline_free(p);
    return rc;
}

/* load_all under a counting allocator: the status, and no block leaked. */
typedef struct counting counting;
static void use_counting(counting *c, long fail_after);
static int load_all_checked(const uint8_t *buf, size_t len);

/* ---- checksum and byte layout --------------------------------------------- */

START_TEST(crc64_known_answers)
{
    /* Values from xz itself (Python lzma, CHECK_CRC64). */
    static const char fox[] = "The quick brown fox jumps over the lazy dog";
    uint8_t seq[1000];
    for (int i = 0; i < 1000; i++) seq[i] = (uint8_t)(i * 7 + 3);
    ck_assert_uint_eq(clv__crc64(0, "123456789", 9), 0x995DC9BBDF1939FAull);
    ck_assert_uint_eq(clv__crc64(0, "a", 1), 0x330284772E652B05ull);
    ck_assert_uint_eq(clv__crc64(0, fox, sizeof fox - 1), 0x5B5EB8C2E54AA1C4ull);
    ck_assert_uint_eq(clv__crc64(0, seq, sizeof seq), 0xF033761AEB8E0B26ull);
    ck_assert_uint_eq(clv__crc64(0, "", 0), 0);
    ck_assert_uint_eq(ref_crc64((const uint8_t *)"123456789", 9), 0x995DC9BBDF1939FAull);
    /* Every length and split point against the bitwise reference. */
    for (size_t n = 0; n <= 64; n++) {
        const uint64_t want = ref_crc64(seq + 5, n);
        REQUIRE(clv__crc64(0, seq + 5, n) == want, "length %zu", n);
        for (size_t k = 0; k <= n; k++)
            REQUIRE(clv__crc64(clv__crc64(0, seq + 5, k), seq + 5 + k, n - k) == want, "split %zu/%zu", k, n);
    }
}
END_TEST

START_TEST(little_endian_layout)
{
    clv__writer w;
    clv__writer_init(&w);
    ck_assert_int_eq(clv__writer_begin_section(&w, TAG("TEST"), 7), CLV_OK);
    clv__put_u8(&w, 0xAB);
    clv__put_u16(&w, 0x0102);
    clv__put_u32(&w, 0x01020304u);
    clv__put_u64(&w, 0x0102030405060708ull);
    clv__put_i32(&w, -2);
    clv__put_i64(&w, -3);
    clv__put_f32(&w, 1.0f);
    clv__put_f64(&w, -2.0);
    clv__put_string(&w, "hi");
    const float fa[2] = { -0.0f, 0.5f };
    clv__put_f32_array(&w, fa, 2, "fa");
    ck_assert_int_eq(clv__writer_end_section(&w), CLV_OK);
    finish(&w);

    static const uint8_t body[] = {
        0xAB, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        0xFE, 0xFF, 0xFF, 0xFF, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0,
        0x02, 0x00, 0x00, 0x00, 'h', 'i',
        0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x3F,
    };
    uint8_t want[24 + 16 + sizeof body + 16];
    memcpy(want, "CLVMODEL", 8);
    put_le16(want + 8, 1);
    put_le16(want + 10, 0);
    put_le32(want + 12, 0);
    put_le64(want + 16, 16 + sizeof body);
    memcpy(want + 24, "TEST", 4);
    put_le32(want + 28, 7);
    put_le64(want + 32, sizeof body);
    memcpy(want + 40, body, sizeof body);
    put_le64(want + 40 + sizeof body, ref_crc64(want, 40 + sizeof body));
    memcpy(want + 48 + sizeof body, "CLVEND\0\0", 8);
    ck_assert_uint_eq(w.len, sizeof want);
    ck_assert_mem_eq(w.buf, want, sizeof want);

    /* And back. */
    clv__reader f, r;
    uint32_t ver = 0;
    ck_assert_int_eq(clv__reader_open(&f, want, sizeof want, "t"), CLV_OK);
    ck_assert_int_eq(clv__reader_section(&f, TAG("TEST"), 7, &r, &ver), CLV_OK);
    ck_assert_uint_eq(ver, 7);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int32_t i32;
    int64_t i64;
    float f32, fb[2];
    double f64;
    char s[8];
    ck_assert_int_eq(clv__get_u8(&r, &u8), CLV_OK);
    ck_assert_int_eq(clv__get_u16(&r, &u16), CLV_OK);
    ck_assert_int_eq(clv__get_u32(&r, &u32), CLV_OK);
    ck_assert_int_eq(clv__get_u64(&r, &u64), CLV_OK);
    ck_assert_int_eq(clv__get_i32(&r, &i32), CLV_OK);
    ck_assert_int_eq(clv__get_i64(&r, &i64), CLV_OK);
    ck_assert_int_eq(clv__get_f32(&r, &f32), CLV_OK);
    ck_assert_int_eq(clv__get_f64(&r, &f64), CLV_OK);
    ck_assert_int_eq(clv__get_string(&r, s, sizeof s, "s"), CLV_OK);
    ck_assert_int_eq(clv__get_f32_array(&r, fb, 2, "fb"), CLV_OK);
    ck_assert_int_eq(clv__reader_end(&r), CLV_OK);
    ck_assert_uint_eq(u8, 0xAB);
    ck_assert_uint_eq(u16, 0x0102);
    ck_assert_uint_eq(u32, 0x01020304u);
    ck_assert_uint_eq(u64, 0x0102030405060708ull);
    ck_assert_int_eq(i32, -2);
    ck_assert_int_eq(i64, -3);
    ck_assert(f32 == 1.0f && f64 == -2.0);
    ck_assert_str_eq(s, "hi");
    ck_assert_mem_eq(fb, fa, sizeof fa);
    clv__writer_free(&w);
}
END_TEST

START_TEST(writer_misuse)
{
    clv__writer w;
    clv__writer_init(&w);
    ck_assert_int_eq(clv__put_u32(&w, 1), CLV_ESTATE);                      /* outside a section */
    ck_assert_int_eq(clv__writer_finish(&w), CLV_ESTATE);                   /* sticky */
    clv__writer_free(&w);

    clv__writer_init(&w);
    ck_assert_int_eq(clv__writer_begin_section(&w, 0, 1), CLV_EINVAL);
    clv__writer_free(&w);

    clv__writer_init(&w);
    ck_assert_int_eq(clv__writer_begin_section(&w, TAG("AAAA"), 1), CLV_OK);
    ck_assert_int_eq(clv__writer_begin_section(&w, TAG("BBBB"), 1), CLV_ESTATE);   /* no nesting */
    clv__writer_free(&w);

    clv__writer_init(&w);
    ck_assert_int_eq(clv__writer_begin_section(&w, TAG("AAAA"), 1), CLV_OK);
    ck_assert_int_eq(clv__writer_finish(&w), CLV_ESTATE);                   /* not ended */
    clv__writer_free(&w);

    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG("AAAA"), 1);
    clv__put_u32(&w, 5);
    clv__writer_end_section(&w);
    ck_assert_int_eq(clv__writer_begin_section(&w, TAG("AAAA"), 2), CLV_EINVAL);   /* twice */
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "twice"));
    clv__writer_free(&w);

    /* An empty container is valid; saving an unfinished one is not. */
    clv__writer_init(&w);
    ck_assert_int_eq(clv__container_save_path(&w, "/nonexistent/x.clv"), CLV_ESTATE);
    finish(&w);
    ck_assert_uint_eq(w.len, 40);
    clv__reader r;
    ck_assert_int_eq(clv__reader_open(&r, w.buf, w.len, "empty"), CLV_OK);
    ck_assert_int_eq(clv__reader_has_section(&r, CLV__TAG_MODL), 0);
    clv_model *m = (clv_model *)&r;
    ck_assert_int_eq(clv__model_read(&r, &m), CLV_EFORMAT);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "no section 'MODL'"));
    ck_assert_int_eq(clv__put_u8(&w, 1), CLV_ESTATE);                       /* after finish */
    clv__writer_free(&w);

    /* Release: the bytes change hands, the writer is reset. */
    size_t len = 99;
    clv__writer_init(&w);
    ck_assert_ptr_null(clv__writer_release(&w, &len));                   /* not finished */
    ck_assert_uint_eq(len, 0);
    finish(&w);
    uint8_t *bytes = clv__writer_release(&w, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(len, 40);
    ck_assert_ptr_null(w.buf);
    ck_assert_int_eq(clv__reader_open(&r, bytes, len, "released"), CLV_OK);
    clv_free(bytes);
    clv__writer_free(&w);
}
END_TEST

START_TEST(section_table)
{
    clv__writer w;
    clv__writer_init(&w);
    const char *tags[3] = { "AAAA", "b_cd", "ZZ99" };
    for (uint32_t i = 0; i < 3; i++) {
        clv__writer_begin_section(&w, TAG(tags[i]), 10 + i);
        for (uint32_t k = 0; k < i; k++) clv__put_u32(&w, 100 + k);
        clv__writer_end_section(&w);
    }
    finish(&w);
    clv__reader f, s;
    ck_assert_int_eq(clv__reader_open(&f, w.buf, w.len, "t.clv"), CLV_OK);
    uint32_t tag, ver, i = 0;
    while (clv__reader_next_section(&f, &s, &tag, &ver)) {
        ck_assert_uint_lt(i, 3);
        ck_assert_uint_eq(tag, TAG(tags[i]));
        ck_assert_uint_eq(ver, 10 + i);
        ck_assert_uint_eq(clv__reader_remaining(&s), 4 * i);
        i++;
    }
    ck_assert_uint_eq(i, 3);
    clv__reader_rewind(&f);
    ck_assert_int_eq(clv__reader_next_section(&f, &s, &tag, &ver), 1);
    ck_assert_uint_eq(tag, TAG("AAAA"));

    ck_assert(clv__reader_has_section(&f, TAG("b_cd")) && !clv__reader_has_section(&f, TAG("b_ce")));
    ck_assert_int_eq(clv__reader_section(&f, TAG("ZZ99"), 12, &s, &ver), CLV_OK);
    uint32_t v;
    ck_assert_int_eq(clv__get_u32(&s, &v), CLV_OK);
    ck_assert_uint_eq(v, 100);
    ck_assert_int_eq(clv__reader_end(&s), CLV_EFORMAT);                     /* 4 bytes left */
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "4 unexpected bytes"));
    ck_assert_int_eq(clv__get_u32(&s, &v), CLV_EFORMAT);                    /* sticky */

    ck_assert_int_eq(clv__reader_section(&f, TAG("ZZ99"), 12, &s, NULL), CLV_OK);
    uint64_t u64;
    ck_assert_int_eq(clv__get_u64(&s, &u64), CLV_OK);
    ck_assert_int_eq(clv__get_u8(&s, (uint8_t *)&v), CLV_EFORMAT);           /* past the section */
    ck_assert_str_eq(clv_last_error(), "t.clv: truncated at byte 84 (section 'ZZ99' needs 1 more bytes for a u8 field)");

    ck_assert_int_eq(clv__reader_section(&f, TAG("ZZ99"), 11, &s, NULL), CLV_EFORMAT);
    ck_assert_str_eq(clv_last_error(), "t.clv: section 'ZZ99' version 12 is newer than this libclv reads (11); upgrade libclv");
    ck_assert_int_eq(clv__reader_section(&f, TAG("QQQQ"), 1, &s, NULL), CLV_EFORMAT);
    ck_assert_int_eq(clv__reader_remaining(&s), 0);
    clv__writer_free(&w);

    /* Strings: too long for the destination, or with a NUL inside. */
    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG("STR "), 1);
    clv__put_string(&w, "abcdefgh");
    clv__put_u32(&w, 3);
    clv__put_bytes(&w, "a\0b", 3);
    clv__writer_end_section(&w);
    finish(&w);
    char buf[8];
    ck_assert_int_eq(clv__reader_open(&f, w.buf, w.len, "s"), CLV_OK);
    ck_assert_int_eq(clv__reader_section(&f, TAG("STR "), 1, &s, NULL), CLV_OK);
    ck_assert_int_eq(clv__get_string(&s, buf, sizeof buf, "name"), CLV_EFORMAT);
    ck_assert_int_eq(clv__reader_section(&f, TAG("STR "), 1, &s, NULL), CLV_OK);
    s.pos += 12;
    ck_assert_int_eq(clv__get_string(&s, buf, sizeof buf, "name"), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "NUL"));
    clv__writer_free(&w);
}
END_TEST

/* ---- round trips --------------------------------------------------------------- */

START_TEST(model_roundtrip_bit_exact)
{
    static const model_cfg cfgs[] = {
        { CLV_CELL_LSTM, 3, 5, 1, 0, 1, 0 },  { CLV_CELL_GRU, 1, 1, 1, 0, 0, 2 },
        { CLV_CELL_LSTM, 4, 8, 3, 4, 2, 3 },  { CLV_CELL_GRU, 7, 16, 2, 2, 1, 1 },
        { CLV_CELL_LSTM, 2, 3, 2, 1, 0, 1 },  { CLV_CELL_GRU, 5, 4, 3, 0, 3, 0 },
        { CLV_CELL_LSTM, 1, 1, 1, 3, 1, 1 },  { CLV_CELL_GRU, 9, 32, 1, 5, 4, 2 },
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
        clv_model *m = make_model(&cfgs[i], (uint32_t)i);
        clv__writer w;
        clv__writer_init(&w);
        ck_assert_int_eq(clv__model_write(&w, m), CLV_OK);
        finish(&w);
        clv_model *back = load_model(w.buf, w.len);
        assert_same_model(m, back);
        /* The loaded model saves to the same bytes. */
        clv__writer w2;
        clv__writer_init(&w2);
        ck_assert_int_eq(clv__model_write(&w2, back), CLV_OK);
        finish(&w2);
        ck_assert_uint_eq(w.len, w2.len);
        ck_assert_mem_eq(w.buf, w2.buf, w.len);
        clv__writer_free(&w);
        clv__writer_free(&w2);
        clv_model_free(m);
        clv_model_free(back);
    }
}
END_TEST

START_TEST(model_tagged_sections)
{
    clv_model *a = make_model(&small_cfg, 1);
    model_cfg gc = { CLV_CELL_GRU, 2, 4, 2, 0, 1, 0 };
    clv_model *b = make_model(&gc, 2);
    clv__writer w;
    clv__writer_init(&w);
    ck_assert_int_eq(clv__model_write(&w, a), CLV_OK);
    ck_assert_int_eq(clv__model_write_tagged(&w, TAG("MOD2"), b), CLV_OK);
    ck_assert_int_eq(clv__model_write(&w, b), CLV_EINVAL);                /* 'MODL' twice */
    clv__writer_free(&w);
    clv__writer_init(&w);
    ck_assert_int_eq(clv__model_write(&w, a), CLV_OK);
    ck_assert_int_eq(clv__model_write_tagged(&w, TAG("MOD2"), b), CLV_OK);
    finish(&w);
    clv__reader r;
    clv_model *ra, *rb;
    ck_assert_int_eq(clv__reader_open(&r, w.buf, w.len, "two.clv"), CLV_OK);
    ck_assert_int_eq(clv__model_read(&r, &ra), CLV_OK);
    ck_assert_int_eq(clv__model_read_tagged(&r, TAG("MOD2"), &rb), CLV_OK);
    assert_same_model(a, ra);
    assert_same_model(b, rb);
    clv_model_free(a), clv_model_free(b), clv_model_free(ra), clv_model_free(rb);
    clv__writer_free(&w);
}
END_TEST

START_TEST(pipeline_roundtrip_transform_identical)
{
    clv_txlog *log = make_log(11, 1), *plain = make_log(12, 0);
    const int32_t cutoff = 10300, later = 10360, end = 10419;
    clv_pipeline_options o[4];
    for (int i = 0; i < 4; i++) clv_pipeline_options_init(&o[i]);
    o[1].period = CLV_PERIOD_DAY, o[1].max_steps = 30, o[1].pad = CLV_PAD_PRE, o[1].norm = CLV_NORM_ZSCORE,
    o[1].seq_log1p = 0;
    o[2].period = CLV_PERIOD_MONTH, o[2].max_steps = 12, o[2].norm = CLV_NORM_MINMAX, o[2].new_days = 10,
    o[2].active_days = 20, o[2].churn_days = 400;
    o[3].norm = CLV_NORM_NONE, o[3].max_steps = 7;
    for (int i = 0; i < 4; i++) {
        for (int e = 0; e < 2; e++) {
            const clv_txlog *l = e ? log : plain;
            clv_pipeline *p = make_pipeline(&o[i], l, cutoff);
            ck_assert_int_eq(p->has_events, e);
            clv_pipeline *q = roundtrip_pipeline(p);
            assert_same_pipeline(p, q);
            assert_same_transform(p, q, l, cutoff, end);
            assert_same_transform(p, q, l, later, end);
            assert_same_transform(p, q, e ? plain : log, cutoff, cutoff);
            clv_pipeline_free(p);
            clv_pipeline_free(q);
        }
    }
    clv_txlog_free(log);
    clv_txlog_free(plain);
}
END_TEST

START_TEST(pipeline_roundtrip_categories_and_unfitted)
{
    clv_txlog *log = make_cat_log();
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    o.max_categories = 2;
    o.period = CLV_PERIOD_DAY;
    o.max_steps = 20;
    clv_pipeline *p = make_pipeline(&o, log, 18330);   /* 2020-03-09 */
    ck_assert_uint_eq(p->ncats, 2);
    ck_assert_str_eq(p->cats[0].name, "channel");
    ck_assert_int_eq(p->cats[1].index, 5);
    clv_pipeline *q = roundtrip_pipeline(p);
    assert_same_pipeline(p, q);
    ck_assert_str_eq(clv_pipeline_static_feature_name(q, p->n_numeric), "cat.channel=web");
    ck_assert_str_eq(clv_pipeline_static_feature_name(q, p->n_numeric + 3), "cat.col5=north");
    assert_same_transform(p, q, log, 18330, 18400);
    assert_same_transform(p, q, log, 18300, 18330);
    clv_pipeline_free(p);
    clv_pipeline_free(q);

    /* Unfitted: options only; both refuse to transform alike. */
    o.churn_days = 365;
    p = make_pipeline(&o, NULL, 0);
    q = roundtrip_pipeline(p);
    assert_same_pipeline(p, q);
    ck_assert(!clv_pipeline_is_fitted(q));
    clv_dataset *ds = NULL;
    ck_assert_int_eq(clv_pipeline_transform(q, log, 18330, 18330, &ds), CLV_ESTATE);
    clv_pipeline_free(p);
    clv_pipeline_free(q);
    clv_txlog_free(log);
}
END_TEST

START_TEST(saved_bytes_deterministic)
{
    /* Two independently built, equal objects give identical files. */
    clv__writer w[2];
    for (int k = 0; k < 2; k++) {
        clv_model *m = make_model(&small_cfg, 9);
        clv_txlog *log = make_log(5, 1);
        clv_pipeline *p = make_pipeline(NULL, log, 10300);
        clv__writer_init(&w[k]);
        ck_assert_int_eq(clv__pipeline_write(&w[k], p), CLV_OK);
        ck_assert_int_eq(clv__model_write(&w[k], m), CLV_OK);
        finish(&w[k]);
        clv_model_free(m);
        clv_pipeline_free(p);
        clv_txlog_free(log);
    }
    ck_assert_uint_eq(w[0].len, w[1].len);
    ck_assert_mem_eq(w[0].buf, w[1].buf, w[0].len);
    /* A different weight changes the bytes (the comparison can fail). */
    clv_model *m = make_model(&small_cfg, 9);
    clv_model_params(m)[5] = nextafterf(clv_model_params(m)[5], 10.0f);
    clv__writer w3;
    clv__writer_init(&w3);
    ck_assert_int_eq(clv__model_write(&w3, m), CLV_OK);
    finish(&w3);
    clv_model *m0 = make_model(&small_cfg, 9);
    clv__writer w4;
    clv__writer_init(&w4);
    ck_assert_int_eq(clv__model_write(&w4, m0), CLV_OK);
    finish(&w4);
    ck_assert_uint_eq(w3.len, w4.len);
    ck_assert(memcmp(w3.buf, w4.buf, w3.len) != 0);
    clv_model_free(m);
    clv_model_free(m0);
    for (int k = 0; k < 2; k++) clv__writer_free(&w[k]);
    clv__writer_free(&w3);
    clv__writer_free(&w4);
}
END_TEST

/* ---- damaged files ------------------------------------------------------------- */

START_TEST(truncated_at_every_offset)
{
    clv__writer w;
    small_file(&w);
    ck_assert_int_eq(load_all_checked(w.buf, w.len), CLV_OK);
    for (size_t k = 0; k < w.len; k++) {
        uint8_t *cut = dup_bytes(w.buf, k);   /* exactly k bytes: an over-read is a memory error */
        int rc = load_all_checked(cut, k);
        const char *msg = clv_last_error();
        REQUIRE(rc == CLV_EFORMAT, "truncated to %zu of %llu bytes: status %d (%s)", k,
                (unsigned long long)w.len, rc, msg);
        REQUIRE(strstr(msg, "truncated") || strstr(msg, "checksum"), "truncated to %zu bytes: \"%s\"", k, msg);
        REQUIRE(strncmp(msg, "model.clv: ", 11) == 0, "message does not name the file: \"%s\"", msg);
        free(cut);
    }
    clv__writer_free(&w);
}
END_TEST

START_TEST(every_byte_flip_refused)
{
    clv__writer w;
    small_file(&w);
    static const uint8_t masks[] = { 0x01, 0x80, 0xFF, 0x5A };
    for (size_t i = 0; i < w.len; i++) {
        for (size_t k = 0; k < sizeof masks; k++) {
            uint8_t *bad = dup_bytes(w.buf, w.len);
            bad[i] ^= masks[k];
            int rc = load_all_checked(bad, w.len);
            REQUIRE(rc == CLV_EFORMAT, "byte %zu ^ 0x%02x accepted (status %d)", i, masks[k], rc);
            free(bad);
        }
    }
    clv__writer_free(&w);
}
END_TEST

START_TEST(bad_magic_and_framing)
{
    static const uint8_t png[] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                   0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0, 0, 0, 0 };
    clv__reader r;
    ck_assert_int_eq(clv__reader_open(&r, png, sizeof png, "x.png"), CLV_EFORMAT);
    ck_assert_str_eq(clv_last_error(), "x.png: not a libclv model file (bad magic)");
    ck_assert_int_eq(clv__reader_open(&r, "hello", 5, "h.txt"), CLV_EFORMAT);
    ck_assert_str_eq(clv_last_error(), "h.txt: not a libclv model file (bad magic)");
    ck_assert_int_eq(clv__reader_open(&r, "", 0, "empty"), CLV_EFORMAT);

    clv__writer w;
    small_file(&w);
    uint8_t *b = dup_bytes(w.buf, w.len);
    b[7] = 'X';
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "not a libclv model file (bad magic)"));
    free(b);
    /* Trailing garbage after a complete file. */
    b = malloc(w.len + 3);
    memcpy(b, w.buf, w.len);
    memcpy(b + w.len, "xyz", 3);
    ck_assert_int_eq(load_all_checked(b, w.len + 3), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "3 unexpected bytes after the end"));
    free(b);
    /* End marker damaged. */
    b = dup_bytes(w.buf, w.len);
    b[w.len - 3] = 'Q';
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "bad end marker"));
    free(b);
    /* A payload bit flipped: the checksum says so. */
    b = dup_bytes(w.buf, w.len);
    b[60] ^= 4;
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "model.clv: checksum mismatch (file corrupted)"));
    free(b);
    clv__writer_free(&w);
}
END_TEST

/* ---- versions ---------------------------------------------------------------- */

START_TEST(future_major_refused)
{
    clv__writer w;
    small_file(&w);
    uint8_t *b = dup_bytes(w.buf, w.len);
    put_le16(b + 8, 2);
    put_le16(b + 10, 3);
    reseal(b);
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_str_eq(clv_last_error(),
                     "model.clv: model file format 2.3 is newer than this libclv (reads 1.x); upgrade libclv");
    /* Whatever a 2.x file holds after its first 12 bytes. */
    memset(b + 12, 0xEE, w.len - 12);
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "format 2.3 is newer than this libclv (reads 1.x); upgrade libclv"));
    ck_assert_int_eq(load_all_checked(b, 12), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "is newer"));
    /* Major 0 was never written. */
    memcpy(b, w.buf, w.len);
    put_le16(b + 8, 0);
    reseal(b);
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "format 0.0 was never written"));
    free(b);
    clv__writer_free(&w);
}
END_TEST

START_TEST(future_minor_with_unknown_section_loads)
{
    clv_model *m = make_model(&small_cfg, 4);
    clv_txlog *log = make_cat_log();
    clv_pipeline *p = make_pipeline(NULL, log, 18350);
    clv__writer w;
    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG("XTRA"), 9);   /* before the known ones */
    for (uint32_t i = 0; i < 50; i++) clv__put_u32(&w, 0xDEADBEEF ^ i);
    clv__writer_end_section(&w);
    ck_assert_int_eq(clv__model_write(&w, m), CLV_OK);
    clv__writer_begin_section(&w, TAG("meta"), 1);
    clv__put_string(&w, "trained by a future libclv");
    clv__writer_end_section(&w);
    ck_assert_int_eq(clv__pipeline_write(&w, p), CLV_OK);
    clv__writer_begin_section(&w, TAG("EMPT"), 0);
    clv__writer_end_section(&w);
    finish(&w);
    put_le16(w.buf + 10, 7);                  /* format 1.7 */
    put_le32(w.buf + 12, 1u << 16);           /* an ignorable flag */
    reseal(w.buf);

    clv__reader r;
    ck_assert_msg(clv__reader_open(&r, w.buf, w.len, "future.clv") == CLV_OK, "%s", clv_last_error());
    ck_assert_uint_eq(r.major, 1);
    ck_assert_uint_eq(r.minor, 7);
    clv_model *back;
    clv_pipeline *pb;
    ck_assert_msg(clv__model_read(&r, &back) == CLV_OK, "%s", clv_last_error());
    ck_assert_msg(clv__pipeline_read(&r, &pb) == CLV_OK, "%s", clv_last_error());
    assert_same_model(m, back);
    assert_same_pipeline(p, pb);
    assert_same_transform(p, pb, log, 18350, 18400);
    clv_model_free(back);
    clv_pipeline_free(pb);

    /* A must-understand flag this libclv does not know is refused. */
    put_le32(w.buf + 12, 1u);
    reseal(w.buf);
    ck_assert_int_eq(clv__reader_open(&r, w.buf, w.len, "future.clv"), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "flags"));
    clv__writer_free(&w);
    clv_model_free(m);
    clv_pipeline_free(p);
    clv_txlog_free(log);
}
END_TEST

START_TEST(newer_section_version_refused)
{
    clv__writer w;
    small_file(&w);
    const uint32_t tags[2] = { CLV__TAG_MODL, CLV__TAG_PIPE };
    const char *names[2] = { "MODL", "PIPE" };
    for (int k = 0; k < 2; k++) {
        uint8_t *b = dup_bytes(w.buf, w.len);
        size_t at = section_at(b, tags[k]);
        ck_assert_uint_gt(at, 0);
        put_le32(b + at + 4, 2);
        reseal(b);
        ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
        char want[160];
        snprintf(want, sizeof want, "model.clv: section '%s' version 2 is newer than this libclv reads (1); upgrade libclv",
                 names[k]);
        ck_assert_str_eq(clv_last_error(), want);
        free(b);
    }
    clv__writer_free(&w);
}
END_TEST

/* ---- hostile files (valid checksums) ----------------------------------------------- */

struct counting {
    size_t max_request, total;
    long live, calls, fail_after;   /* fail_after < 0: never fail */
};

static void *count_alloc(size_t n, void *u)
{
    counting *c = u;
    if (c->fail_after >= 0 && c->calls >= c->fail_after) return NULL;
    c->calls++;
    if (n > c->max_request) c->max_request = n;
    c->total += n;
    void *p = malloc(n);
    if (p) c->live++;
    return p;
}

static void count_free(void *p, void *u)
{
    counting *c = u;
    c->live--;
    free(p);
}

static void use_counting(counting *c, long fail_after)
{
    memset(c, 0, sizeof *c);
    c->fail_after = fail_after;
    clv_allocator a = { sizeof a, count_alloc, count_free, c };
    ck_assert_int_eq(clv_set_allocator(&a), CLV_OK);
}

static int load_all_checked(const uint8_t *buf, size_t len)
{
    counting c;
    use_counting(&c, -1);
    int rc = load_all(buf, len);
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
    REQUIRE(c.live == 0, "%ld blocks leaked (status %d: %s)", c.live, rc, clv_last_error());
    return rc;
}

/* Model options followed by a table and a parameter count; the floats are
 * left out (or as many as `nfloats`). */
static void hostile_model(clv__writer *w, const clv_model_options *o, int table_mode, uint64_t nparams,
                          uint64_t nfloats)
{
    clv__writer_init(w);
    clv__writer_begin_section(w, CLV__TAG_MODL, 1);
    clv__put_i32(w, o->cell);
    clv__put_u32(w, o->input_size);
    clv__put_u32(w, o->hidden_size);
    clv__put_u32(w, o->num_layers);
    clv__put_u32(w, o->static_size);
    clv__put_u32(w, o->final_outputs);
    clv__put_u32(w, o->step_outputs);
    clv__put_u64(w, o->seed);
    clv__put_f32(w, o->forget_bias);
    /* The table this libclv would build for these options (LSTM). */
    const uint32_t gh = 4 * o->hidden_size, hs = o->hidden_size + o->static_size;
    uint32_t nt = 3 * o->num_layers + (o->final_outputs ? 2 : 0) + (o->step_outputs ? 2 : 0);
    clv__put_u32(w, nt);
    char name[32];
    for (uint32_t l = 0; l < o->num_layers; l++) {
        snprintf(name, sizeof name, "lstm.%u.w_ih", l);
        clv__put_string(w, name);
        if (table_mode == 1 && l == 0) {   /* a 2^20 x 2^20 = 2^40-float tensor */
            clv__put_u32(w, 1u << 20);
            clv__put_u32(w, 1u << 20);
        } else {
            clv__put_u32(w, gh);
            clv__put_u32(w, l ? o->hidden_size : o->input_size);
        }
        snprintf(name, sizeof name, "lstm.%u.w_hh", l);
        clv__put_string(w, name);
        clv__put_u32(w, gh);
        clv__put_u32(w, o->hidden_size);
        snprintf(name, sizeof name, "lstm.%u.b", l);
        clv__put_string(w, name);
        clv__put_u32(w, 1);
        clv__put_u32(w, gh);
    }
    if (o->final_outputs) {
        clv__put_string(w, "head.final.w");
        clv__put_u32(w, o->final_outputs);
        clv__put_u32(w, hs);
        clv__put_string(w, "head.final.b");
        clv__put_u32(w, 1);
        clv__put_u32(w, o->final_outputs);
    }
    if (o->step_outputs) {
        clv__put_string(w, "head.step.w");
        clv__put_u32(w, o->step_outputs);
        clv__put_u32(w, hs);
        clv__put_string(w, "head.step.b");
        clv__put_u32(w, 1);
        clv__put_u32(w, o->step_outputs);
    }
    clv__put_u64(w, nparams);
    for (uint64_t i = 0; i < nfloats; i++) clv__put_f32(w, 0.25f);
    clv__writer_end_section(w);
    finish(w);
}

/* Read a crafted file under a counting allocator: refused, with no
 * allocation larger than the file itself. */
static void expect_refused_small(const clv__writer *w, int pipeline, const char *needle)
{
    counting c;
    use_counting(&c, -1);
    clv__reader r;
    int rc = clv__reader_open(&r, w->buf, w->len, "hostile.clv");
    if (rc == CLV_OK) {
        if (pipeline) {
            clv_pipeline *p = NULL;
            rc = clv__pipeline_read(&r, &p);
            clv_pipeline_free(p);
        } else {
            clv_model *m = NULL;
            rc = clv__model_read(&r, &m);
            clv_model_free(m);
        }
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s", clv_last_error());
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
    ck_assert_msg(rc == CLV_EFORMAT, "hostile file accepted (status %d): %s", rc, msg);
    ck_assert_msg(strstr(msg, needle), "message \"%s\" lacks \"%s\"", msg, needle);
    /* Handles of fixed size may be allocated; nothing sized by the file's claims. */
    ck_assert_msg(c.max_request <= 65536 && c.total <= 65536, "allocated %zu bytes (largest %zu) for a %llu-byte file",
                  c.total, c.max_request, (unsigned long long)w->len);
    ck_assert_int_eq(c.live, 0);
}

START_TEST(hostile_sizes_refused_without_allocating)
{
    clv__writer w;
    clv_model_options o;
    clv_model_options_init(&o);
    o.input_size = 3;
    o.hidden_size = 2;

    /* A consistent tiny model loads (the crafted layout is right). */
    hostile_model(&w, &o, 0, 4 * 2 * (3 + 2 + 1) + 3, 4 * 2 * (3 + 2 + 1) + 3);
    clv__reader r;
    clv_model *m;
    ck_assert_int_eq(clv__reader_open(&r, w.buf, w.len, "ok"), CLV_OK);
    ck_assert_msg(clv__model_read(&r, &m) == CLV_OK, "%s", clv_last_error());
    clv_model_free(m);
    clv__writer_free(&w);

    /* A table entry claiming a 2^40-float tensor. */
    hostile_model(&w, &o, 1, 1ull << 40, 0);
    expect_refused_small(&w, 0, "more parameters than the options imply");
    clv__writer_free(&w);
    /* A parameter count of 2^40 with a consistent table. */
    hostile_model(&w, &o, 0, 1ull << 40, 0);
    expect_refused_small(&w, 0, "parameter count 1099511627776");
    clv__writer_free(&w);
    /* Consistent but the floats are missing: half of them. */
    hostile_model(&w, &o, 0, 51, 25);
    expect_refused_small(&w, 0, "truncated at byte");
    clv__writer_free(&w);
    /* Options at every cap: ~2^36 floats implied, a few hundred bytes given. */
    clv_model_options big = o;
    big.input_size = CLV_MAX_INPUT_SIZE;
    big.hidden_size = CLV_MAX_HIDDEN_SIZE;
    big.num_layers = CLV_MAX_LAYERS;
    big.static_size = CLV_MAX_INPUT_SIZE;
    big.final_outputs = CLV_MAX_OUTPUTS;
    big.step_outputs = CLV_MAX_OUTPUTS;
    uint64_t gh = 4ull * big.hidden_size, n = 0;
    for (uint32_t l = 0; l < big.num_layers; l++)
        n += gh * (l ? big.hidden_size : big.input_size) + gh * big.hidden_size + gh;
    n += 2 * ((uint64_t)CLV_MAX_OUTPUTS * (big.hidden_size + big.static_size) + CLV_MAX_OUTPUTS);
    hostile_model(&w, &big, 0, n, 0);
    char want[128];
    snprintf(want, sizeof want, "(section 'MODL' needs %llu more bytes for the parameters)",
             (unsigned long long)n * 4);
    expect_refused_small(&w, 0, want);
    clv__writer_free(&w);
    /* Options over the caps. */
    big.hidden_size = CLV_MAX_HIDDEN_SIZE + 1;
    hostile_model(&w, &big, 0, n, 0);
    expect_refused_small(&w, 0, "hidden_size = 16385, expected 1..16384");
    clv__writer_free(&w);

    /* Pipelines: a 2^40-byte category value list, too many columns, a huge
     * feature count, value lists that are not nkept NUL-terminated strings
     * (transform would read past them), n_static not adding up. */
    static const struct {
        uint32_t n_numeric, ncats, nkept, n_static;
        uint64_t kept_len;
        const char *bytes, *needle;
    } pv[] = {
        { 12, 1, 2, 15, 1ull << 40, "a\0b\0", "truncated at byte" },
        { 12, 1000, 2, 15, 4, "a\0b\0", "1000 category columns" },
        { 0x7fffffffu, 1, 2, 15, 4, "a\0b\0", "2147483647 numeric" },
        { 12, 1, 2, 15, 4, "a\0bc", "not 2 NUL-terminated strings" },
        { 12, 1, 2, 15, 4, "abc\0", "not 2 NUL-terminated strings" },
        { 12, 1, 2, 15, 0, "", "2 kept values in 0 bytes" },
        { 12, 1, 40, 15, 4, "a\0b\0", "keeps 40 values, max_categories is 32" },
        { 12, 1, 2, 16, 4, "a\0b\0", "n_static = 16, the features above make 15" },
    };
    for (size_t k = 0; k < sizeof pv / sizeof *pv; k++) {
        clv__writer_init(&w);
        clv__writer_begin_section(&w, CLV__TAG_PIPE, 1);
        clv__put_i32(&w, CLV_PERIOD_WEEK);
        clv__put_u32(&w, 52);
        clv__put_i32(&w, CLV_PAD_POST);
        clv__put_i32(&w, CLV_NORM_LOG1P);
        clv__put_i32(&w, 1);
        clv__put_u32(&w, 32);
        clv__put_u32(&w, 30);
        clv__put_u32(&w, 90);
        clv__put_u32(&w, 180);
        clv__put_i32(&w, 1);         /* fitted */
        clv__put_i32(&w, 10000);
        clv__put_i32(&w, 0);         /* has_events */
        clv__put_u32(&w, pv[k].n_numeric);
        clv__put_u32(&w, 3);
        clv__put_u32(&w, pv[k].n_static);
        double z[12] = { 0 };
        clv__put_f64_array(&w, z, 12, "z");
        clv__put_f64_array(&w, z, 12, "z");
        clv__put_u32(&w, pv[k].ncats);
        clv__put_string(&w, "channel");
        clv__put_i32(&w, 0);
        clv__put_u32(&w, pv[k].nkept);
        clv__put_u64(&w, pv[k].kept_len);
        clv__put_bytes(&w, pv[k].bytes, pv[k].kept_len < 4 ? pv[k].kept_len : 4);
        clv__writer_end_section(&w);
        finish(&w);
        expect_refused_small(&w, 1, pv[k].needle);
        clv__writer_free(&w);
    }

    /* A section header claiming 2^62 bytes; a header claiming a huge payload. */
    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG("XXXX"), 1);
    clv__put_u64(&w, 0);
    clv__writer_end_section(&w);
    finish(&w);
    put_le64(w.buf + 32, 1ull << 62);
    reseal(w.buf);
    expect_refused_small(&w, 0, "claims 4611686018427387904 bytes");
    put_le64(w.buf + 16, UINT64_MAX - 8);
    expect_refused_small(&w, 0, "truncated at byte");
    clv__writer_free(&w);

    /* The same tag twice (the writer refuses; patch a file). */
    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG("AAAA"), 1);
    clv__writer_end_section(&w);
    clv__writer_begin_section(&w, TAG("AAAB"), 1);
    clv__writer_end_section(&w);
    finish(&w);
    w.buf[24 + 16 + 3] = 'A';
    reseal(w.buf);
    expect_refused_small(&w, 0, "section 'AAAA' appears twice (bytes 24 and 40)");
    clv__writer_free(&w);

    /* More sections than a file may hold. */
    clv__writer_init(&w);
    for (uint32_t i = 0; i <= 4096; i++) {
        clv__writer_begin_section(&w, CLV__FOURCC('s', (i + 1) & 0xff, (i + 1) >> 8, 'x'), 1);
        clv__writer_end_section(&w);
    }
    finish(&w);
    expect_refused_small(&w, 0, "more than 4096 sections");
    clv__writer_free(&w);
}
END_TEST

/* A table that adds up but is not the layout the options build. */
START_TEST(tensor_layout_mismatch_refused)
{
    clv_model *m = make_model(&small_cfg, 6);
    clv__writer w;
    clv__writer_init(&w);
    ck_assert_int_eq(clv__model_write(&w, m), CLV_OK);
    finish(&w);
    clv_model_free(m);
    /* Table entry 0 starts after the options (40 bytes) and the count (4). */
    const size_t e0 = section_at(w.buf, CLV__TAG_MODL) + 16 + 40 + 4;
    ck_assert_mem_eq(w.buf + e0, "\x0b\0\0\0lstm.0.w_ih", 15);
    /* A renamed tensor. */
    uint8_t *b = dup_bytes(w.buf, w.len);
    b[e0 + 14] = 'x';
    reseal(b);
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "tensor 0 is 'lstm.0.w_ix' 12x2; this model's layout has 'lstm.0.w_ih' 12x2"));
    free(b);
    /* Rows and columns swapped: the same count, another shape. */
    b = dup_bytes(w.buf, w.len);
    put_le32(b + e0 + 15, 2);
    put_le32(b + e0 + 19, 12);
    reseal(b);
    ck_assert_int_eq(load_all_checked(b, w.len), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "'lstm.0.w_ih' 2x12"));
    free(b);
    clv__writer_free(&w);
}
END_TEST

START_TEST(nonfinite_weights_never_written)
{
    const float bad[3] = { NAN, INFINITY, -INFINITY };
    for (int k = 0; k < 3; k++) {
        clv_model *m = make_model(&small_cfg, 5);
        /* clv_model_set_params refuses them; a diverged training run may not. */
        uint32_t idx = k == 0 ? 1 : clv_model_param_tensor_count(m) - 1;
        const char *name;
        uint64_t off;
        uint32_t rows, cols;
        ck_assert_int_eq(clv_model_param_tensor_info(m, idx, &name, &off, &rows, &cols), CLV_OK);
        clv_model_params(m)[off + cols - 1] = bad[k];
        clv__writer w;
        clv__writer_init(&w);
        ck_assert_int_eq(clv__model_write(&w, m), CLV_EINVAL);
        ck_assert_ptr_nonnull(strstr(clv_last_error(), "non-finite weights is never written"));
        ck_assert_ptr_nonnull(strstr(clv_last_error(), name));
        ck_assert_int_eq(clv__writer_finish(&w), CLV_EINVAL);            /* sticky */
        ck_assert_int_eq(clv__container_save_path(&w, "/tmp/never.clv"), CLV_ESTATE);
        clv__writer_free(&w);
        clv_model_free(m);
    }
    /* The array writer itself, and scalars. */
    clv__writer w;
    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG("F   "), 1);
    const float xs[4] = { 1, 2, NAN, 4 };
    ck_assert_int_eq(clv__put_f32_array(&w, xs, 4, "xs"), CLV_EINVAL);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "xs[2] is NaN"));
    clv__writer_free(&w);
    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG("F   "), 1);
    ck_assert_int_eq(clv__put_f64(&w, -INFINITY), CLV_EINVAL);
    clv__writer_free(&w);

    /* A pipeline with a broken scaler. */
    clv_txlog *log = make_log(3, 0);
    clv_pipeline *p = make_pipeline(NULL, log, 10300);
    p->scale[3] = INFINITY;
    clv__writer_init(&w);
    ck_assert_int_eq(clv__pipeline_write(&w, p), CLV_EINVAL);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "scale[3] is infinite"));
    clv__writer_free(&w);
    clv_pipeline_free(p);
    clv_txlog_free(log);

    /* And a file with a NaN weight (valid checksum) does not load. */
    clv_model *m = make_model(&small_cfg, 5);
    clv__writer_init(&w);
    ck_assert_int_eq(clv__model_write(&w, m), CLV_OK);
    finish(&w);
    put_le32(w.buf + w.len - 16 - 4, 0x7fc00000u);   /* the last float */
    reseal(w.buf);
    clv__reader r;
    clv_model *back = NULL;
    ck_assert_int_eq(clv__reader_open(&r, w.buf, w.len, "nan.clv"), CLV_OK);
    ck_assert_int_eq(clv__model_read(&r, &back), CLV_EFORMAT);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "is not finite"));
    clv__writer_free(&w);
    clv_model_free(m);
}
END_TEST

/* Allocation failure at every allocation of a load and a save. */
START_TEST(allocation_failures)
{
    clv__writer w;
    small_file(&w);
    int done = 0;
    for (long n = 0; n < 200 && !done; n++) {
        counting c;
        use_counting(&c, n);
        int rc = load_all(w.buf, w.len);
        ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
        ck_assert_msg(rc == CLV_OK || rc == CLV_ENOMEM, "failing allocation %ld: status %d", n, rc);
        ck_assert_msg(c.live == 0, "failing allocation %ld: %ld blocks leaked", n, c.live);
        done = rc == CLV_OK;
    }
    ck_assert_msg(done, "load never succeeded");
    clv_model *m = make_model(&small_cfg, 5);
    done = 0;
    for (long n = 0; n < 50 && !done; n++) {
        counting c;
        clv__writer w2;
        use_counting(&c, n);
        clv__writer_init(&w2);
        clv__model_write(&w2, m);
        int rc = clv__writer_finish(&w2);
        clv__writer_free(&w2);
        ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
        ck_assert_msg(rc == CLV_OK || rc == CLV_ENOMEM, "failing allocation %ld: status %d", n, rc);
        ck_assert_int_eq(c.live, 0);
        done = rc == CLV_OK;
    }
    ck_assert(done);
    clv_model_free(m);
    clv__writer_free(&w);
}
END_TEST

/* ---- files ------------------------------------------------------------------ */

static char tmpdir[64];

/* Unchecked fixture: runs in the parent process, so the directory is removed
 * even when the test fails. */
static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clv-test-io-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(EXIT_FAILURE);
    }
}

/* Entries of the temporary directory other than . and .., and the first name. */
static int dir_entries(char *first, size_t cap)
{
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    if (first) first[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (first && n == 0) snprintf(first, cap, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void remove_tmpdir(void)
{
    chmod(tmpdir, 0755);
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static void file_bytes(const char *path, uint8_t **buf, size_t *len)
{
    ck_assert_msg(clv__container_load_path(path, buf, len) == CLV_OK, "%s", clv_last_error());
}

START_TEST(atomic_save_survives_injected_failures)
{
    char path[128];
    snprintf(path, sizeof path, "%s/m.clv", tmpdir);
    clv__writer a, b;
    small_file(&a);
    clv_model *mb = make_model(&small_cfg, 99);
    clv__writer_init(&b);
    ck_assert_int_eq(clv__model_write(&b, mb), CLV_OK);
    finish(&b);
    clv_model_free(mb);
    ck_assert_msg(clv__container_save_path(&a, path) == CLV_OK, "%s", clv_last_error());

    const uint64_t cuts[] = { 0, 1, 23, 100, b.len - 1 };
    for (int k = 0; k < 8; k++) {
        if (k < 5) clv__io_fail_after_bytes = cuts[k];
        else clv__io_fail_step = k == 5 ? CLV__IO_STEP_FSYNC : k == 6 ? CLV__IO_STEP_CLOSE : CLV__IO_STEP_RENAME;
        int rc = clv__container_save_path(&b, path);
        clv__io_fail_after_bytes = UINT64_MAX;
        clv__io_fail_step = CLV__IO_STEP_NONE;
        ck_assert_int_eq(rc, CLV_EIO);
        ck_assert_msg(strstr(clv_last_error(), path), "message \"%s\" does not name the path", clv_last_error());
        if (k < 5) ck_assert_ptr_nonnull(strstr(clv_last_error(), "No space left on device"));
        uint8_t *now;
        size_t len;
        file_bytes(path, &now, &len);
        ck_assert_uint_eq(len, a.len);
        ck_assert_mem_eq(now, a.buf, a.len);
        clv__free(now);
        char first[256];
        ck_assert_int_eq(dir_entries(first, sizeof first), 1);   /* no temporary file left */
        ck_assert_str_eq(first, "m.clv");
    }
    /* Without injection the new file replaces the old one. */
    ck_assert_int_eq(clv__container_save_path(&b, path), CLV_OK);
    uint8_t *now;
    size_t len;
    file_bytes(path, &now, &len);
    ck_assert_uint_eq(len, b.len);
    ck_assert_mem_eq(now, b.buf, b.len);
    clv__free(now);
    ck_assert_int_eq(dir_entries(NULL, 0), 1);
    clv_model *back = load_model(b.buf, b.len);
    clv_model_free(back);

    /* A failed first save leaves nothing at all. */
    char path2[128];
    snprintf(path2, sizeof path2, "%s/new.clv", tmpdir);
    clv__io_fail_after_bytes = 10;
    ck_assert_int_eq(clv__container_save_path(&b, path2), CLV_EIO);
    clv__io_fail_after_bytes = UINT64_MAX;
    ck_assert_int_eq(access(path2, F_OK), -1);
    ck_assert_int_eq(dir_entries(NULL, 0), 1);
    clv__writer_free(&a);
    clv__writer_free(&b);
}
END_TEST

START_TEST(save_and_load_os_errors)
{
    clv__writer w;
    small_file(&w);
    /* Runs as root too: a directory that does not exist. */
    ck_assert_int_eq(clv__container_save_path(&w, "/nonexistent-clv-dir/m.clv"), CLV_EIO);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "'/nonexistent-clv-dir/m.clv'"));
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "No such file or directory"));
    uint8_t *buf = (uint8_t *)&w;
    size_t len = 7;
    ck_assert_int_eq(clv__container_load_path("/nonexistent-clv-dir/m.clv", &buf, &len), CLV_EIO);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "'/nonexistent-clv-dir/m.clv'"));
    ck_assert_int_eq(clv__container_load_path("/tmp", &buf, &len), CLV_EIO);

    char path[128];
    snprintf(path, sizeof path, "%s/m.clv", tmpdir);
    /* A directory in the way of the target. */
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(clv__container_save_path(&w, path), CLV_EIO);
    ck_assert_int_eq(dir_entries(NULL, 0), 1);
    rmdir(path);
    /* A device is written into, never replaced: renaming over /dev/null as
     * root would replace the device node itself. */
    struct stat st;
    ck_assert_int_eq(clv__container_save_path(&w, "/dev/null"), CLV_OK);
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    /* A FIFO gets the bytes of the file: the child saves, the parent reads. */
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) _exit(clv__container_save_path(&w, path) == CLV_OK ? 0 : 1);
    FILE *fifo = fopen(path, "rb");
    ck_assert_ptr_nonnull(fifo);
    uint8_t got[4096];
    size_t n = fread(got, 1, sizeof got, fifo);
    fclose(fifo);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(n, w.len);
    ck_assert_int_eq(memcmp(got, w.buf, n), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    unlink(path);
    /* A symbolic link to a regular file: the target is replaced, the link
     * stays a link. A link to a descriptor (the /dev/stdout case) writes to
     * the descriptor as it is: here a file opened by the test, whose
     * contents must then be the saved bytes. */
    char target[160], link[160], viafd[64];
    snprintf(target, sizeof target, "%s/target.clv", tmpdir);
    snprintf(link, sizeof link, "%s/link.clv", tmpdir);
    FILE *old = fopen(target, "wb");
    ck_assert_ptr_nonnull(old);
    fputs("old contents", old);
    fclose(old);
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_eq(clv__container_save_path(&w, link), CLV_OK);
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert_int_eq((long long)st.st_size, (long long)w.len);
    unlink(link);
    int ofd = open(target, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(ofd, 0);
    snprintf(viafd, sizeof viafd, "/proc/self/fd/%d", ofd);
    ck_assert_int_eq(symlink(viafd, link), 0);
    ck_assert_int_eq(clv__container_save_path(&w, link), CLV_OK);
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    snprintf(viafd, sizeof viafd, "/dev/fd/%d", ofd);
    ck_assert_int_eq(clv__container_save_path(&w, viafd), CLV_OK);   /* appended: same description */
    close(ofd);
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert_int_eq((long long)st.st_size, 2 * (long long)w.len);
    unlink(link);
    unlink(target);
    ck_assert_int_eq(dir_entries(NULL, 0), 0);
    /* The public face of the same writer, for callers' own outputs. */
    ck_assert_int_eq(clv_write_file(target, "abc", 3), CLV_OK);
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert_int_eq((long long)st.st_size, 3);
    ck_assert_int_eq(clv_write_file(target, NULL, 0), CLV_OK);
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert_int_eq((long long)st.st_size, 0);
    ck_assert_int_eq(clv_write_file(target, NULL, 1), CLV_EINVAL);
    ck_assert_int_eq(clv_write_file("", "x", 1), CLV_EINVAL);
    ck_assert_int_eq(clv_write_file(tmpdir, "x", 1), CLV_EIO);   /* a directory */
    ck_assert_ptr_nonnull(strstr(clv_last_error(), tmpdir));
    unlink(target);

    if (geteuid() == 0) {
        fprintf(stderr, "save_and_load_os_errors: running as root, permission check skipped\n");
    } else {
        ck_assert_int_eq(chmod(tmpdir, 0555), 0);
        int rc = clv__container_save_path(&w, path);
        char msg[600];
        snprintf(msg, sizeof msg, "%s", clv_last_error());
        chmod(tmpdir, 0755);
        ck_assert_int_eq(rc, CLV_EIO);
        ck_assert_msg(strstr(msg, path) && strstr(msg, "Permission denied"), "message: %s", msg);
        ck_assert_int_eq(dir_entries(NULL, 0), 0);
    }
    clv__writer_free(&w);
}
END_TEST

START_TEST(format_version_probe)
{
    ck_assert_uint_eq(clv_model_format_major(), CLV_MODEL_FORMAT_MAJOR);
    ck_assert_uint_eq(clv_model_format_minor(), CLV_MODEL_FORMAT_MINOR);
    ck_assert_uint_eq(CLV_MODEL_FORMAT_MAJOR, 1);
    char path[128];
    snprintf(path, sizeof path, "%s/m.clv", tmpdir);
    clv__writer w;
    small_file(&w);
    ck_assert_int_eq(clv__container_save_path(&w, path), CLV_OK);
    uint32_t major = 9, minor = 9;
    ck_assert_int_eq(clv_file_format_version(path, &major, &minor), CLV_OK);
    ck_assert_uint_eq(major, 1);
    ck_assert_uint_eq(minor, 0);
    /* A future file: the probe reports it, the loader refuses it. */
    put_le16(w.buf + 8, 3);
    put_le16(w.buf + 10, 14);
    w.finished = 1;
    ck_assert_int_eq(clv__container_save_path(&w, path), CLV_OK);
    ck_assert_int_eq(clv_file_format_version(path, &major, &minor), CLV_OK);
    ck_assert_uint_eq(major, 3);
    ck_assert_uint_eq(minor, 14);
    uint8_t *buf;
    size_t len;
    file_bytes(path, &buf, &len);
    ck_assert_int_eq(load_all_checked(buf, len), CLV_EFORMAT);
    clv__free(buf);

    FILE *f = fopen(path, "wb");
    fputs("CLVMO", f);
    fclose(f);
    ck_assert_int_eq(clv_file_format_version(path, &major, &minor), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "truncated"));
    f = fopen(path, "wb");
    fputs("customer,date,amount\n", f);
    fclose(f);
    ck_assert_int_eq(clv_file_format_version(path, &major, &minor), CLV_EFORMAT);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "not a libclv model file (bad magic)"));
    ck_assert_int_eq(clv_file_format_version("/nonexistent-clv-dir/m.clv", &major, &minor), CLV_EIO);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "/nonexistent-clv-dir/m.clv"));
    ck_assert_int_eq(clv_file_format_version(NULL, &major, &minor), CLV_EINVAL);
    ck_assert_int_eq(clv_file_format_version(path, NULL, &minor), CLV_EINVAL);
    clv__writer_free(&w);
}
END_TEST

/* ---- golden file ------------------------------------------------------------------ */

/* A format 1.0 file as libclv 0.1 wrote it: an LSTM (F=2, H=2, 1 layer,
 * S=1, final and per-step heads, seed 7, forget_bias 0.5) with weights
 * params[i] = ((i % 17) - 8) / 16, then a pipeline (period DAY, max_steps 5,
 * norm ZSCORE, max_categories 2) fitted at 2020-03-10 on the categorical log
 * above. Never regenerate it: a reader must keep loading these bytes. */
static const uint8_t golden_v1_0[] = {
    0x43, 0x4c, 0x56, 0x4d, 0x4f, 0x44, 0x45, 0x4c, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xf8, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x4d, 0x4f, 0x44, 0x4c, 0x01, 0x00, 0x00, 0x00, 0x94, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x07, 0x00, 0x00, 0x00,
    0x0b, 0x00, 0x00, 0x00, 0x6c, 0x73, 0x74, 0x6d, 0x2e, 0x30, 0x2e, 0x77,
    0x5f, 0x69, 0x68, 0x08, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0b,
    0x00, 0x00, 0x00, 0x6c, 0x73, 0x74, 0x6d, 0x2e, 0x30, 0x2e, 0x77, 0x5f,
    0x68, 0x68, 0x08, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x00,
    0x00, 0x00, 0x6c, 0x73, 0x74, 0x6d, 0x2e, 0x30, 0x2e, 0x62, 0x01, 0x00,
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x68, 0x65,
    0x61, 0x64, 0x2e, 0x66, 0x69, 0x6e, 0x61, 0x6c, 0x2e, 0x77, 0x01, 0x00,
    0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x68, 0x65,
    0x61, 0x64, 0x2e, 0x66, 0x69, 0x6e, 0x61, 0x6c, 0x2e, 0x62, 0x01, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x68, 0x65,
    0x61, 0x64, 0x2e, 0x73, 0x74, 0x65, 0x70, 0x2e, 0x77, 0x01, 0x00, 0x00,
    0x00, 0x03, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x68, 0x65, 0x61,
    0x64, 0x2e, 0x73, 0x74, 0x65, 0x70, 0x2e, 0x62, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0xe0, 0xbe, 0x00, 0x00, 0xc0, 0xbe,
    0x00, 0x00, 0xa0, 0xbe, 0x00, 0x00, 0x80, 0xbe, 0x00, 0x00, 0x40, 0xbe,
    0x00, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x80, 0xbd, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x3d, 0x00, 0x00, 0x00, 0x3e, 0x00, 0x00, 0x40, 0x3e,
    0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0xa0, 0x3e, 0x00, 0x00, 0xc0, 0x3e,
    0x00, 0x00, 0xe0, 0x3e, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0xbf,
    0x00, 0x00, 0xe0, 0xbe, 0x00, 0x00, 0xc0, 0xbe, 0x00, 0x00, 0xa0, 0xbe,
    0x00, 0x00, 0x80, 0xbe, 0x00, 0x00, 0x40, 0xbe, 0x00, 0x00, 0x00, 0xbe,
    0x00, 0x00, 0x80, 0xbd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3d,
    0x00, 0x00, 0x00, 0x3e, 0x00, 0x00, 0x40, 0x3e, 0x00, 0x00, 0x80, 0x3e,
    0x00, 0x00, 0xa0, 0x3e, 0x00, 0x00, 0xc0, 0x3e, 0x00, 0x00, 0xe0, 0x3e,
    0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0xe0, 0xbe,
    0x00, 0x00, 0xc0, 0xbe, 0x00, 0x00, 0xa0, 0xbe, 0x00, 0x00, 0x80, 0xbe,
    0x00, 0x00, 0x40, 0xbe, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x00, 0x80, 0xbd,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3d, 0x00, 0x00, 0x00, 0x3e,
    0x00, 0x00, 0x40, 0x3e, 0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0xa0, 0x3e,
    0x50, 0x49, 0x50, 0x45, 0x01, 0x00, 0x00, 0x00, 0x44, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x5a, 0x00, 0x00, 0x00,
    0xb4, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x9b, 0x47, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    0x12, 0x00, 0x00, 0x00, 0x93, 0x24, 0x49, 0x92, 0x24, 0x49, 0xd2, 0x3f,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x40, 0x25, 0x49, 0x92, 0x24,
    0x49, 0x92, 0x47, 0x40, 0x25, 0x49, 0x92, 0x24, 0x49, 0x12, 0x41, 0x40,
    0x92, 0x24, 0x49, 0x92, 0x24, 0x49, 0x20, 0x40, 0x6d, 0xdb, 0xb6, 0x6d,
    0xdb, 0xb6, 0x17, 0x40, 0x6d, 0xdb, 0xb6, 0x6d, 0xdb, 0xb6, 0x05, 0x40,
    0x6c, 0x2f, 0x95, 0x55, 0x7d, 0x04, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x2a, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x6e, 0xdb, 0xb6, 0x6d, 0xdb, 0xb6, 0x15, 0x40, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xf0, 0x3f, 0xed, 0x3f, 0xff, 0xf5, 0x70, 0xb5, 0x01, 0x40,
    0x23, 0x32, 0x55, 0x56, 0xa1, 0x4e, 0xa7, 0x3f, 0x03, 0xcb, 0xe2, 0xd0,
    0x16, 0xe0, 0xa4, 0x3f, 0x1b, 0x5f, 0x85, 0x9c, 0x77, 0x2d, 0xa6, 0x3f,
    0x0a, 0xbf, 0x4c, 0xff, 0x34, 0x01, 0xc6, 0x3f, 0x47, 0x4c, 0xcf, 0x43,
    0x73, 0x21, 0xd5, 0x3f, 0x9e, 0x85, 0xd6, 0x18, 0x11, 0x9b, 0xc8, 0x3f,
    0x7a, 0xaa, 0x80, 0xc2, 0x35, 0x37, 0x14, 0x40, 0x23, 0x32, 0x55, 0x56,
    0xa1, 0x4e, 0xa7, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x8e, 0xa5, 0x37, 0xba, 0x72, 0x83, 0xd8, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
    0x63, 0x68, 0x61, 0x6e, 0x6e, 0x65, 0x6c, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
    0x65, 0x62, 0x00, 0x6b, 0x69, 0x6f, 0x73, 0x6b, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x05, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x6e, 0x6f, 0x72, 0x74, 0x68, 0x00, 0x65,
    0x61, 0x73, 0x74, 0x00, 0x9e, 0x13, 0xb5, 0x3e, 0xbb, 0xeb, 0x3b, 0xd5,
    0x43, 0x4c, 0x56, 0x45, 0x4e, 0x44, 0x00, 0x00,
};

START_TEST(golden_v1_0_loads)
{
    clv__reader r;
    ck_assert_msg(clv__reader_open(&r, golden_v1_0, sizeof golden_v1_0, "golden-1.0.clv") == CLV_OK, "%s",
                  clv_last_error());
    ck_assert_uint_eq(r.major, 1);
    ck_assert_uint_eq(r.minor, 0);
    clv_model *m;
    clv_pipeline *p;
    ck_assert_msg(clv__model_read(&r, &m) == CLV_OK, "%s", clv_last_error());
    ck_assert_msg(clv__pipeline_read(&r, &p) == CLV_OK, "%s", clv_last_error());
    clv_model_options o;
    clv_model_options_init(&o);
    ck_assert_int_eq(clv_model_get_options(m, &o), CLV_OK);
    ck_assert_int_eq(o.cell, CLV_CELL_LSTM);
    ck_assert_uint_eq(o.input_size, 2);
    ck_assert_uint_eq(o.hidden_size, 2);
    ck_assert_uint_eq(o.static_size, 1);
    ck_assert_uint_eq(o.final_outputs, 1);
    ck_assert_uint_eq(o.step_outputs, 1);
    ck_assert_uint_eq(o.seed, 7);
    ck_assert(o.forget_bias == 0.5f);
    const uint64_t n = clv_model_param_count(m);
    ck_assert_uint_eq(n, 48);
    for (uint64_t i = 0; i < n; i++)
        ck_assert_msg(clv_model_params(m)[i] == (float)((int)(i % 17) - 8) / 16.0f, "param %llu", (unsigned long long)i);
    ck_assert(clv_pipeline_is_fitted(p));
    ck_assert_int_eq(p->o.period, CLV_PERIOD_DAY);
    ck_assert_uint_eq(p->o.max_steps, 5);
    ck_assert_int_eq(p->fit_cutoff, 18331);
    ck_assert_uint_eq(clv_pipeline_static_features(p), 12 + 3 + 3);
    ck_assert_str_eq(clv_pipeline_static_feature_name(p, 12), "cat.channel=web");
    ck_assert_str_eq(clv_pipeline_static_feature_name(p, 17), "cat.col5=other");

    /* Today's writer reproduces the 1.0 bytes from the loaded objects. */
    clv__writer w;
    clv__writer_init(&w);
    ck_assert_int_eq(clv__model_write(&w, m), CLV_OK);
    ck_assert_int_eq(clv__pipeline_write(&w, p), CLV_OK);
    finish(&w);
    ck_assert_uint_eq(w.len, sizeof golden_v1_0);
    ck_assert_mem_eq(w.buf, golden_v1_0, sizeof golden_v1_0);
    clv__writer_free(&w);

    /* The golden pipeline transforms a log like a freshly fitted one. */
    clv_txlog *log = make_cat_log();
    clv_pipeline_options po;
    clv_pipeline_options_init(&po);
    po.period = CLV_PERIOD_DAY;
    po.max_steps = 5;
    po.norm = CLV_NORM_ZSCORE;
    po.max_categories = 2;
    clv_pipeline *fresh = make_pipeline(&po, log, 18331);
    assert_same_transform(fresh, p, log, 18331, 18400);
    clv_pipeline_free(fresh);
    clv_txlog_free(log);
    clv_model_free(m);
    clv_pipeline_free(p);
}
END_TEST

static Suite *io_suite(void)
{
    Suite *s = suite_create("io");
#define ADD(name, fn)                  \
    do {                                \
        TCase *tc = tcase_create(name); \
        tcase_add_test(tc, fn);         \
        tcase_set_timeout(tc, 120);     \
        suite_add_tcase(s, tc);         \
    } while (0)
#define ADD_FS(name, fn)                                          \
    do {                                                          \
        TCase *tc = tcase_create(name);                           \
        tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir); \
        tcase_add_test(tc, fn);                                   \
        tcase_set_timeout(tc, 120);                               \
        suite_add_tcase(s, tc);                                   \
    } while (0)
    ADD("checksum", crc64_known_answers);
    ADD("layout", little_endian_layout);
    ADD("writer", writer_misuse);
    ADD("sections", section_table);
    ADD("model", model_roundtrip_bit_exact);
    ADD("model-tagged", model_tagged_sections);
    ADD("pipeline", pipeline_roundtrip_transform_identical);
    ADD("pipeline-categories", pipeline_roundtrip_categories_and_unfitted);
    ADD("deterministic", saved_bytes_deterministic);
    ADD("truncation", truncated_at_every_offset);
    ADD("bit-flips", every_byte_flip_refused);
    ADD("framing", bad_magic_and_framing);
    ADD("future-major", future_major_refused);
    ADD("future-minor", future_minor_with_unknown_section_loads);
    ADD("section-version", newer_section_version_refused);
    ADD("hostile", hostile_sizes_refused_without_allocating);
    ADD("layout-mismatch", tensor_layout_mismatch_refused);
    ADD("non-finite", nonfinite_weights_never_written);
    ADD("alloc-failures", allocation_failures);
    ADD_FS("atomic-save", atomic_save_survives_injected_failures);
    ADD_FS("os-errors", save_and_load_os_errors);
    ADD_FS("version-probe", format_version_probe);
    ADD("golden-1.0", golden_v1_0_loads);
#undef ADD
#undef ADD_FS
    return s;
}

int main(void) { return clv_test_run(io_suite()); }
