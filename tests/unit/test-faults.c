/* Fault injection along the whole life of a model: train -> save -> load ->
 * predict, for a plain model and for the forecaster, failing the k-th
 * allocation (through clv_set_allocator) for every k until a run sees no
 * failure. Each run must
 *  - report CLV_ENOMEM from the call that met the failure (nothing else),
 *  - leak nothing (allocations and frees through the hook balance),
 *  - leave the handles it has usable (a model still predicts, a forecaster
 *    whose fit failed says it is not fitted) or cleanly freeable,
 *  - leave a previous model file at the save path intact when the save failed,
 *    with no temporary file beside it,
 *  - and, when nothing failed, predict after loading bit for bit as before.
 * The counts are printed ("faults: ..."). I/O failures of a save are injected
 * through the container's test hook (clv__io_fail_*), for the forecaster too. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clv_internal.h"
#include "io/container.h"
#include "io/serialize.h"
#include "test-common.h"

typedef struct counting {
    long allocs, live, fail_at, failed;
    int sticky;   /* 0: only allocation fail_at fails; 1: it and every later one */
} counting;

static void *c_alloc(size_t n, void *u)
{
    counting *c = u;
    long k = __atomic_fetch_add(&c->allocs, 1, __ATOMIC_RELAXED);
    const long at = __atomic_load_n(&c->fail_at, __ATOMIC_RELAXED);
    if (at >= 0 && (k == at || (c->sticky && k > at))) {
        __atomic_add_fetch(&c->failed, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    void *p = malloc(n);
    if (p) __atomic_add_fetch(&c->live, 1, __ATOMIC_RELAXED);
    return p;
}

static void c_free(void *p, void *u)
{
    counting *c = u;
    if (!p) return;
    __atomic_sub_fetch(&c->live, 1, __ATOMIC_RELAXED);
    free(p);
}

static void use_counting(counting *c)
{
    memset(c, 0, sizeof *c);
    c->fail_at = -1;
    clv_allocator a = { sizeof a, c_alloc, c_free, c };
    ck_assert_int_eq(clv_set_allocator(&a), CLV_OK);
}

/* Start counting allocations from here; fail number k (0-based), and with
 * c->sticky every later one too. */
static void arm(counting *c, long k)
{
    c->allocs = 0;
    c->failed = 0;
    c->fail_at = k;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clv-test-faults-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(EXIT_FAILURE);
    }
}

static void remove_tmpdir(void)
{
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

/* Files in the temporary directory whose name starts with `prefix`
 * (a save's temporary file is "<name>.tmp.<pid>.<n>"). */
static int entries_with_prefix(const char *prefix)
{
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);
}

/* The file at path holds exactly data[0..n) (read with stdio: no libclv allocation). */
static int file_is(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    char *b = malloc(n + 1);
    size_t got = fread(b, 1, n + 1, fp);
    fclose(fp);
    int same = got == n && memcmp(b, data, n) == 0;
    free(b);
    return same;
}

static const char OLD_FILE[] = "a previous model file that a failed save must leave alone";

/* A failing call must say out of memory; record where. */
#define EXPECT_NOMEM(rc, k, what)                                                                        \
    do {                                                                                                 \
        ck_assert_msg((rc) == CLV_ENOMEM, "allocation %ld failed inside %s: status %d (%s), expected CLV_ENOMEM", \
                      (k), (what), (rc), clv_last_error());                                             \
        c->fail_at = -1; /* memory is back: what survived must work */                                   \
    } while (0)

/* Failed runs per stage, for the printed summary. */
typedef struct tally {
    const char *names[8];
    long counts[8];
    int n;
} tally;

static void tally_add(tally *t, const char *stage)
{
    int s = 0;
    while (s < t->n && strcmp(t->names[s], stage) != 0) s++;
    if (s == t->n && t->n < 8) t->names[t->n++] = stage;
    if (s < 8) t->counts[s]++;
}

static void tally_print(const tally *t)
{
    for (int s = 0; s < t->n; s++) printf("%s%s %ld", s ? ", " : "", t->names[s], t->counts[s]);
}

static const char *const MODE[2] = { "the k-th allocation fails", "the k-th and every later allocation fail" };

/* ---- plain model ---------------------------------------------------------- */

enum { B = 4, T = 6, F = 3 };

typedef struct plain_data {
    float x[B * T * F], y[B];
    int32_t len[B];
} plain_data;

/* One run with allocation k failing. Returns 1 when some allocation failed. */
static int plain_run(counting *c, long k, const plain_data *d, const char *path, const char **stage)
{
    write_file(path, OLD_FILE, sizeof OLD_FILE);
    arm(c, k);
    clv_model *m = NULL, *back = NULL;
    clv_optim *opt = NULL;
    clv_workspace *ws = NULL;
    int rc;
    *stage = "none";
    float ref[B], got[B];

    clv_model_options o;
    clv_model_options_init(&o);
    o.input_size = F;
    o.hidden_size = 5;
    o.num_layers = 2;
    rc = clv_model_new(&m, &o);
    if (rc != CLV_OK) {
        *stage = "clv_model_new";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_ptr_null(m);
        goto done;
    }
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
    rc = clv_optim_new(&opt, &oo);
    if (rc != CLV_OK) {
        *stage = "clv_optim_new";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_ptr_null(opt);
        /* The model is untouched and usable. */
        ck_assert_int_eq(clv_model_predict(m, NULL, B, T, d->x, d->len, NULL, ref, NULL), CLV_OK);
        goto done;
    }
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    for (int step = 0; step < 2; step++) {
        rc = clv_model_train_step(m, opt, &lo, B, T, d->x, d->len, NULL, d->y, NULL, NULL);
        if (rc != CLV_OK) {
            *stage = "clv_model_train_step";
            EXPECT_NOMEM(rc, k, *stage);
            /* Still a working model: it predicts finite values and trains on. */
            ck_assert_int_eq(clv_model_predict(m, NULL, B, T, d->x, d->len, NULL, ref, NULL), CLV_OK);
            for (int b = 0; b < B; b++) ck_assert(isfinite(ref[b]));
            ck_assert_int_eq(clv_model_train_step(m, opt, &lo, B, T, d->x, d->len, NULL, d->y, NULL, NULL), CLV_OK);
            goto done;
        }
    }
    rc = clv_workspace_new(&ws);
    if (rc == CLV_OK) rc = clv_model_predict(m, ws, B, T, d->x, d->len, NULL, ref, NULL);
    if (rc != CLV_OK) {
        *stage = "clv_workspace_new/clv_model_predict";
        EXPECT_NOMEM(rc, k, *stage);
        goto done;
    }
    /* Save: write the section, finish, replace the file atomically. */
    clv__writer w;
    clv__writer_init(&w);
    rc = clv__model_write(&w, m);
    if (rc == CLV_OK) rc = clv__writer_finish(&w);
    if (rc == CLV_OK) rc = clv__container_save_path(&w, path);
    clv__writer_free(&w);
    if (rc != CLV_OK) {
        *stage = "save";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_msg(file_is(path, OLD_FILE, sizeof OLD_FILE), "allocation %ld: a failed save changed %s (%s)", k, path, clv_last_error());
        ck_assert_int_eq(entries_with_prefix(strrchr(path, '/') + 1), 1);   /* no temporary file left */
        goto done;
    }
    /* Load. */
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = clv__container_load_path(path, &buf, &len);
    if (rc == CLV_OK) {
        clv__reader r;
        rc = clv__reader_open(&r, buf, len, path);
        ck_assert_int_eq(rc, CLV_OK);   /* allocates nothing */
        rc = clv__model_read(&r, &back);
    }
    clv__free(buf);
    if (rc != CLV_OK) {
        *stage = "load";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_ptr_null(back);
        goto done;
    }
    rc = clv_model_predict(back, ws, B, T, d->x, d->len, NULL, got, NULL);
    if (rc != CLV_OK) {
        *stage = "clv_model_predict (loaded)";
        EXPECT_NOMEM(rc, k, *stage);
        goto done;
    }
    ck_assert_mem_eq(got, ref, sizeof ref);
done:
    c->fail_at = -1;
    clv_model_free(back);
    clv_workspace_free(ws);
    clv_optim_free(opt);
    clv_model_free(m);
    ck_assert_msg(c->live == 0, "allocation %ld failed in %s: %ld blocks leaked", k, *stage, c->live);
    return c->failed > 0;
}

START_TEST(plain_model_every_allocation_fails_once)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    plain_data d;
    clv_test_fill(d.x, sizeof d.x / sizeof *d.x, 11, -1, 1);
    clv_test_fill(d.y, B, 12, 0, 2);
    for (int b = 0; b < B; b++) d.len[b] = 1 + b % T;
    char path[128];
    snprintf(path, sizeof path, "%s/plain.clv", tmpdir);
    counting c;
    use_counting(&c);
    for (int sticky = 0; sticky < 2; sticky++) {
        c.sticky = sticky;
        tally t = { 0 };
        long k = 0;
        for (;; k++) {
            const char *stage;
            if (!plain_run(&c, k, &d, path, &stage)) break;
            tally_add(&t, stage);
            ck_assert_msg(k < 100000, "runaway");
        }
        printf("faults: plain model, %s: %ld runs over the %ld allocations of train -> save -> load -> predict; every "
               "run returned CLV_ENOMEM, leaked nothing, left usable handles (failures in: ", MODE[sticky], k, k);
        tally_print(&t);
        printf(")\n");
        ck_assert_int_gt(k, 10);
    }
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
}
END_TEST

/* ---- forecaster ---------------------------------------------------------- */

static clv_txlog *small_log(void)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 40;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, NULL), CLV_OK);
    ck_assert_int_eq(clv_simulate_to_txlog(&so, log), CLV_OK);
    return log;
}

static void small_options(clv_forecast_options *o)
{
    clv_forecast_options_init(o);
    o->epochs = 1;
    o->hidden_size = 4;
    o->samples = 2;
    o->max_steps = 30;
    o->batch_size = 64;
}

static int same_predictions(const clv_prediction *a, const clv_prediction *b)
{
    uint64_t n = clv_prediction_customers(a);
    return n == clv_prediction_customers(b) && memcmp(clv_prediction_spend(a), clv_prediction_spend(b), n * 4) == 0 &&
           memcmp(clv_prediction_p_active(a), clv_prediction_p_active(b), n * 4) == 0;
}

static int forecaster_run(counting *c, long k, const clv_txlog *log, int32_t cut, const char *path, const char **stage)
{
    write_file(path, OLD_FILE, sizeof OLD_FILE);
    arm(c, k);
    clv_forecaster *f = NULL, *g = NULL;
    clv_prediction *p = NULL, *q = NULL;
    *stage = "none";
    clv_forecast_options o;
    small_options(&o);
    int rc = clv_forecaster_new(&f, &o);
    if (rc != CLV_OK) {
        *stage = "clv_forecaster_new";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_ptr_null(f);
        goto done;
    }
    rc = clv_forecaster_fit(f, log, cut);
    if (rc != CLV_OK) {
        *stage = "clv_forecaster_fit";
        EXPECT_NOMEM(rc, k, *stage);
        /* Not half fitted: it says so, and refuses to predict or save. */
        ck_assert_int_eq(clv_forecaster_is_fitted(f), 0);
        ck_assert_int_eq(clv_forecaster_predict(f, log, cut, 28, &p), CLV_ESTATE);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(clv_forecaster_save(f, path), CLV_ESTATE);
        goto done;
    }
    rc = clv_forecaster_predict(f, log, cut, 28, &p);
    if (rc != CLV_OK) {
        *stage = "clv_forecaster_predict";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_ptr_null(p);
        goto done;
    }
    rc = clv_forecaster_save(f, path);
    if (rc != CLV_OK) {
        *stage = "clv_forecaster_save";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_msg(file_is(path, OLD_FILE, sizeof OLD_FILE), "allocation %ld: a failed save changed %s", k, path);
        ck_assert_int_eq(entries_with_prefix(strrchr(path, '/') + 1), 1);   /* no temporary file left */
        goto done;
    }
    rc = clv_forecaster_load(&g, path);
    if (rc != CLV_OK) {
        *stage = "clv_forecaster_load";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_ptr_null(g);
        goto done;
    }
    rc = clv_forecaster_predict(g, log, cut, 28, &q);
    if (rc != CLV_OK) {
        *stage = "clv_forecaster_predict (loaded)";
        EXPECT_NOMEM(rc, k, *stage);
        ck_assert_ptr_null(q);
        goto done;
    }
    ck_assert_msg(same_predictions(p, q), "a loaded forecaster predicts differently");
done:
    c->fail_at = -1;
    clv_prediction_free(p);
    clv_prediction_free(q);
    clv_forecaster_free(f);
    clv_forecaster_free(g);
    return c->failed > 0;
}

START_TEST(forecaster_every_allocation_fails_once)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/fc.clv", tmpdir);
    counting c;
    use_counting(&c);
    /* The log is made with the same allocator (objects must be freed with
     * the allocator that made them) and stays alive across the runs. */
    clv_txlog *log = small_log();
    const long log_blocks = c.live;
    int32_t cut;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &cut), CLV_OK);
    for (int sticky = 0; sticky < 2; sticky++) {
        c.sticky = sticky;
        tally t = { 0 };
        long k = 0;
        for (;; k++) {
            const char *stage;
            int failed = forecaster_run(&c, k, log, cut, path, &stage);
            ck_assert_msg(c.live == log_blocks, "allocation %ld failed in %s: %ld blocks leaked", k, stage,
                          c.live - log_blocks);
            if (!failed) break;
            tally_add(&t, stage);
            ck_assert_msg(k < 1000000, "runaway");
        }
        printf("faults: forecaster, %s: %ld runs over the %ld allocations of fit -> predict -> save -> load -> predict; "
               "every run returned CLV_ENOMEM, leaked nothing, left usable handles (failures in: ", MODE[sticky], k, k);
        tally_print(&t);
        printf(")\n");
        ck_assert_int_gt(k, 20);
    }
    clv_txlog_free(log);
    ck_assert_int_eq(c.live, 0);
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
}
END_TEST

/* I/O failures while saving a forecaster (injected through the container's
 * hooks: ENOSPC after N bytes, EIO at fsync, close or rename) leave the
 * previous file byte for byte, loadable, with no temporary file beside it. */
START_TEST(forecaster_save_io_failures_keep_previous_file)
{
    ck_assert_int_eq(clv_blas_set_num_threads(1), CLV_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/io.clv", tmpdir);
    clv_txlog *log = small_log();
    int32_t cut;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &cut), CLV_OK);
    clv_forecast_options o;
    small_options(&o);
    clv_forecaster *a, *b;
    ck_assert_int_eq(clv_forecaster_new(&a, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(a, log, cut), CLV_OK);
    o.seed = 2;
    ck_assert_int_eq(clv_forecaster_new(&b, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(b, log, cut), CLV_OK);
    void *abuf, *bbuf;
    size_t alen, blen;
    ck_assert_int_eq(clv_forecaster_save_buffer(a, &abuf, &alen), CLV_OK);
    ck_assert_int_eq(clv_forecaster_save_buffer(b, &bbuf, &blen), CLV_OK);
    ck_assert(alen != blen || memcmp(abuf, bbuf, alen) != 0);
    ck_assert_int_eq(clv_forecaster_save(a, path), CLV_OK);
    const uint64_t cuts[] = { 0, 1, 24, blen / 2, blen - 1 };
    const int nc = (int)(sizeof cuts / sizeof *cuts);
    for (int k = 0; k < nc + 3; k++) {
        if (k < nc) clv__io_fail_after_bytes = cuts[k];
        else clv__io_fail_step = k == nc ? CLV__IO_STEP_FSYNC : k == nc + 1 ? CLV__IO_STEP_CLOSE : CLV__IO_STEP_RENAME;
        int rc = clv_forecaster_save(b, path);
        clv__io_fail_after_bytes = UINT64_MAX;
        clv__io_fail_step = CLV__IO_STEP_NONE;
        ck_assert_int_eq(rc, CLV_EIO);
        ck_assert_msg(strstr(clv_last_error(), path), "message \"%s\" does not name the path", clv_last_error());
        ck_assert_msg(file_is(path, abuf, alen), "injected failure %d changed %s", k, path);
        ck_assert_int_eq(entries_with_prefix("io.clv"), 1);
        clv_forecaster *back;
        ck_assert_int_eq(clv_forecaster_load(&back, path), CLV_OK);
        clv_forecaster_free(back);
    }
    ck_assert_int_eq(clv_forecaster_save(b, path), CLV_OK);
    ck_assert(file_is(path, bbuf, blen));
    clv_free(abuf);
    clv_free(bbuf);
    clv_forecaster_free(a);
    clv_forecaster_free(b);
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("allocation");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
    tcase_add_test(tc, plain_model_every_allocation_fails_once);
    tcase_add_test(tc, forecaster_every_allocation_fails_once);
    tcase_add_test(tc, forecaster_save_io_failures_keep_previous_file);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
