/* The data-parallel fit (clv_comm) without MPI: a fake communicator joins
 * 2 or 3 threads of one process as ranks. Checks that the shards cover
 * every customer exactly once, that a 1-rank communicator changes no bit,
 * that 2 and 3 ranks fit the single-process model up to the documented
 * tolerance (docs/scale-out.md) with every rank ending identical, that a
 * checkpointed fit resumes bit for bit, and that bad setups are refused. */
#define _POSIX_C_SOURCE 200809L   /* pthread barriers, mkstemp, strdup */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clv/clv.h>

#include "test-common.h"

/* Largest relative difference allowed between the predictions of an
 * N-rank fit and the single-process fit (docs/scale-out.md). */
#define DIST_TOL 1e-3

enum { MAX_RANKS = 4, CUSTOMERS = 400 };

/* ---- a communicator over threads ---------------------------------------- */

typedef struct world {
    int size;
    pthread_barrier_t bar;
    void *slot[MAX_RANKS];
} world;

typedef struct rank_ctx {
    world *w;
    int rank;
} rank_ctx;

/* Every rank reduces the slots in rank order into a copy: the same bits on
 * every rank, as MPI_Allreduce gives. */
static int fake_allreduce(void *ctx, void *buf, uint64_t count, int32_t type, int32_t op)
{
    rank_ctx *c = ctx;
    world *w = c->w;
    const size_t es = type == CLV_COMM_FLOAT64 ? sizeof(double) : sizeof(float);
    void *tmp = malloc(count * es);
    if (!tmp) return -1;
    w->slot[c->rank] = buf;
    pthread_barrier_wait(&w->bar);
    for (uint64_t i = 0; i < count; i++) {
        double acc = 0;
        for (int r = 0; r < w->size; r++) {
            double v = type == CLV_COMM_FLOAT64 ? ((double *)w->slot[r])[i] : ((float *)w->slot[r])[i];
            if (type == CLV_COMM_FLOAT32 && op == CLV_COMM_SUM) v = (float)((float)acc + (float)v);
            else if (op == CLV_COMM_SUM) v = acc + v;
            else if (r > 0) v = v > acc ? v : acc;
            acc = v;
        }
        if (type == CLV_COMM_FLOAT64) ((double *)tmp)[i] = acc;
        else ((float *)tmp)[i] = (float)acc;
    }
    pthread_barrier_wait(&w->bar);
    memcpy(buf, tmp, count * es);
    free(tmp);
    return 0;
}

static int fake_broadcast(void *ctx, void *buf, uint64_t bytes, int32_t root)
{
    rank_ctx *c = ctx;
    c->w->slot[c->rank] = buf;
    pthread_barrier_wait(&c->w->bar);
    if (c->rank != root) memcpy(buf, c->w->slot[root], bytes);
    pthread_barrier_wait(&c->w->bar);
    return 0;
}

/* ---- data and fits -------------------------------------------------------- */

static int32_t cutoff(void)
{
    int32_t d;
    ck_assert_int_eq(clv_date_parse("1997-12-31", &d), CLV_OK);
    return d;
}

/* The generator's log, or the shard `index` of `count` of it. */
static clv_txlog *sim_log(uint32_t count, uint32_t index)
{
    clv_txlog_options lo;
    clv_txlog_options_init(&lo);
    lo.shard_count = count;
    lo.shard_index = index;
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = CUSTOMERS;
    so.seed = 5;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, &lo), CLV_OK);
    ck_assert_msg(clv_simulate_to_txlog(&so, log) == CLV_OK, "%s", clv_last_error());
    return log;
}

static void small_options(clv_forecast_options *o)
{
    clv_forecast_options_init(o);
    o->hidden_size = 8;
    o->ensemble = 2;        /* two networks: the checkpoint's finished-network path */
    o->max_epochs = 4;      /* auto epochs: the early-stopping run too */
    o->batch_size = 64;
    o->samples = 8;
}

typedef struct job {
    world *w;
    rank_ctx ctx;
    clv_forecast_options o;
    const char *checkpoint;
    uint32_t cancel_epoch;   /* rank 1 asks to stop after this epoch of its first run; 0 = never */
    clv_txlog *log;
    clv_forecaster *f;
    int rc;
    char err[256];
} job;

static int cancel_cb(const clv_fit_progress *p, void *user)
{
    const job *j = user;
    return j->ctx.rank == 1 && p->epoch == j->cancel_epoch;
}

/* Fault injection on one rank: the allocator is the process's, the count
 * is per thread, and only the thread running rank `fail_rank` counts. */
static _Thread_local int my_rank = -1;
static _Thread_local uint64_t my_allocs;
static int fail_rank = -1;
static uint64_t fail_at;   /* 1-based allocation of that rank that fails; 0 = none, count only */
static uint64_t counted;   /* allocations rank fail_rank made (fail_at = 0) */

static void *inject_alloc(size_t n, void *user)
{
    (void)user;
    if (my_rank >= 0 && my_rank == fail_rank) {
        my_allocs++;
        if (fail_at == 0) counted = my_allocs;
        else if (my_allocs == fail_at) return NULL;
    }
    return malloc(n);
}
static void inject_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static void *run_rank(void *arg)
{
    job *j = arg;
    my_allocs = 0;
    clv_comm c;
    clv_comm_init(&c);
    c.rank = j->ctx.rank;
    c.size = j->w->size;
    c.ctx = &j->ctx;
    c.allreduce = fake_allreduce;
    c.broadcast = fake_broadcast;
    j->rc = clv_forecaster_new(&j->f, &j->o);
    if (j->rc == CLV_OK) j->rc = clv_forecaster_set_comm(j->f, &c);
    if (j->rc == CLV_OK && j->checkpoint) j->rc = clv_forecaster_set_checkpoint(j->f, j->checkpoint);
    if (j->rc == CLV_OK && j->cancel_epoch) j->rc = clv_forecaster_set_callback(j->f, cancel_cb, j);
    my_rank = j->ctx.rank;   /* faults are injected into the fit only: the collective part */
    if (j->rc == CLV_OK) j->rc = clv_forecaster_fit(j->f, j->log, cutoff());
    my_rank = -1;
    snprintf(j->err, sizeof j->err, "%s", clv_last_error());
    return NULL;
}

/* Where set, rank r's log instead of its shard (owned by the caller). */
static clv_txlog *rank_log[MAX_RANKS];

/* Fit on `size` ranks, each with its shard (or with `same_log` on every
 * rank); returns the forecasters (NULL where a rank failed) and statuses. */
static void fit_ranks(int size, const clv_forecast_options *o, const char *checkpoint, uint32_t cancel_epoch,
                      const clv_txlog *same_log, clv_forecaster **out, int *rc)
{
    world w = { .size = size };
    pthread_barrier_init(&w.bar, NULL, (unsigned)size);
    job jobs[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    for (int r = 0; r < size; r++) {
        memset(&jobs[r], 0, sizeof jobs[r]);
        jobs[r].w = &w;
        jobs[r].ctx = (rank_ctx){ &w, r };
        jobs[r].o = *o;
        jobs[r].checkpoint = checkpoint;
        jobs[r].cancel_epoch = cancel_epoch;
        jobs[r].log = rank_log[r] ? rank_log[r] : same_log ? (clv_txlog *)same_log : sim_log((uint32_t)size, (uint32_t)r);
        ck_assert_int_eq(pthread_create(&th[r], NULL, run_rank, &jobs[r]), 0);
    }
    for (int r = 0; r < size; r++) {
        pthread_join(th[r], NULL);
        if (!same_log && !rank_log[r]) clv_txlog_free(jobs[r].log);
        rc[r] = jobs[r].rc;
        if (rc[r] != CLV_OK && rc[r] != CLV_ECANCELED) fprintf(stderr, "rank %d: %s\n", r, jobs[r].err);
        out[r] = jobs[r].f;
    }
    pthread_barrier_destroy(&w.bar);
}

static clv_forecaster *fit_single(const clv_forecast_options *o, const clv_txlog *log)
{
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, o), CLV_OK);
    ck_assert_msg(clv_forecaster_fit(f, log, cutoff()) == CLV_OK, "%s", clv_last_error());
    return f;
}

/* Largest relative difference of spend, transactions and P(active). */
static double max_rel_diff(const clv_forecaster *a, const clv_forecaster *b, const clv_txlog *log)
{
    clv_prediction *pa, *pb;
    ck_assert_int_eq(clv_forecaster_predict(a, log, cutoff(), 0, &pa), CLV_OK);
    ck_assert_int_eq(clv_forecaster_predict(b, log, cutoff(), 0, &pb), CLV_OK);
    const uint64_t n = clv_prediction_customers(pa);
    ck_assert_uint_eq(n, clv_prediction_customers(pb));
    ck_assert_uint_gt(n, CUSTOMERS / 2);
    double worst = 0;
    const float *xa[3] = { clv_prediction_spend(pa), clv_prediction_transactions(pa), clv_prediction_p_active(pa) };
    const float *xb[3] = { clv_prediction_spend(pb), clv_prediction_transactions(pb), clv_prediction_p_active(pb) };
    for (int k = 0; k < 3; k++)
        for (uint64_t i = 0; i < n; i++) {
            ck_assert(isfinite(xa[k][i]) && isfinite(xb[k][i]));
            double e = clv_test_relerr(xa[k][i], xb[k][i], 1e-3);
            worst = e > worst ? e : worst;
        }
    clv_prediction_free(pa);
    clv_prediction_free(pb);
    return worst;
}

static int same_bytes(const clv_forecaster *a, const clv_forecaster *b)
{
    void *ba, *bb;
    size_t na, nb;
    ck_assert_int_eq(clv_forecaster_save_buffer(a, &ba, &na), CLV_OK);
    ck_assert_int_eq(clv_forecaster_save_buffer(b, &bb, &nb), CLV_OK);
    int same = na == nb && memcmp(ba, bb, na) == 0;
    clv_free(ba);
    clv_free(bb);
    return same;
}

/* ---- tests ------------------------------------------------------------------ */

/* Every customer id of a log, through a dataset at a late cutoff. */
static char **ids_of(const clv_txlog *log, uint64_t *n)
{
    clv_pipeline *p;
    clv_dataset *ds;
    int32_t end;
    ck_assert_int_eq(clv_date_parse("1999-12-31", &end), CLV_OK);
    ck_assert_int_eq(clv_pipeline_new(&p, NULL), CLV_OK);
    ck_assert_int_eq(clv_pipeline_fit(p, log, end), CLV_OK);
    ck_assert_int_eq(clv_pipeline_transform(p, log, end, end, &ds), CLV_OK);
    *n = clv_dataset_customers(ds);
    char **ids = calloc(*n, sizeof *ids);
    for (uint64_t i = 0; i < *n; i++) ids[i] = strdup(clv_dataset_customer_id(ds, i));
    clv_dataset_free(ds);
    clv_pipeline_free(p);
    return ids;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

START_TEST(shards_cover_every_customer_once)
{
    /* FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c, 0x82a2a958a9bece5b after fmix64: the rule
     * other programs reproduce (clv_customer_shard). */
    ck_assert_uint_eq(clv_customer_shard("a", 1000), (uint32_t)(0x82a2a958a9bece5bULL % 1000));
    ck_assert_uint_eq(clv_customer_shard("a", 1), 0);
    ck_assert_uint_eq(clv_customer_shard(NULL, 5), 0);
    clv_txlog *full = sim_log(0, 0);
    uint64_t n;
    char **all = ids_of(full, &n);
    ck_assert_uint_eq(n, CUSTOMERS);
    enum { S = 3 };
    char **got = calloc(n + 1, sizeof *got);
    uint64_t total = 0;
    for (uint32_t s = 0; s < S; s++) {
        clv_txlog *part = sim_log(S, s);
        uint64_t m;
        char **ids = ids_of(part, &m);
        ck_assert_uint_gt(m, 0);
        ck_assert_uint_le(total + m, n);   /* no more than the whole: no duplicates across shards */
        for (uint64_t i = 0; i < m; i++) {
            ck_assert_uint_eq(clv_customer_shard(ids[i], S), s);
            got[total++] = ids[i];
        }
        free(ids);
        clv_txlog_free(part);
    }
    ck_assert_uint_eq(total, n);
    qsort(all, n, sizeof *all, cmp_str);
    qsort(got, n, sizeof *got, cmp_str);
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_str_eq(all[i], got[i]);   /* the same set: union is everything, each once */
        free(all[i]);
        free(got[i]);
    }
    free(all);
    free(got);
    clv_txlog_free(full);
    clv_txlog_options lo;
    clv_txlog_options_init(&lo);
    lo.shard_count = 2;
    lo.shard_index = 2;
    clv_txlog *bad;
    ck_assert_int_eq(clv_txlog_new(&bad, &lo), CLV_EINVAL);
}
END_TEST

START_TEST(ranks_fit_the_single_process_model)
{
    clv_forecast_options o;
    small_options(&o);
    clv_txlog *full = sim_log(0, 0);
    clv_forecaster *one = fit_single(&o, full);
    /* One rank through the hook: not a bit changes. */
    clv_forecaster *f1[MAX_RANKS];
    int rc[MAX_RANKS];
    fit_ranks(1, &o, NULL, 0, NULL, f1, rc);
    ck_assert_int_eq(rc[0], CLV_OK);
    ck_assert(same_bytes(one, f1[0]));
    clv_forecaster_free(f1[0]);
    for (int size = 2; size <= 3; size++) {
        clv_forecaster *f[MAX_RANKS];
        fit_ranks(size, &o, NULL, 0, NULL, f, rc);
        for (int r = 0; r < size; r++) ck_assert_int_eq(rc[r], CLV_OK);
        /* Every rank holds the same networks and statistics: identical predictions. */
        for (int r = 1; r < size; r++) ck_assert_double_eq(max_rel_diff(f[0], f[r], full), 0.0);
        double d = max_rel_diff(one, f[0], full);
        fprintf(stderr, "dist: %d ranks vs one process: max relative difference %.3g\n", size, d);
        ck_assert_double_lt(d, DIST_TOL);
        for (int r = 0; r < size; r++) clv_forecaster_free(f[r]);
    }
    clv_forecaster_free(one);
    clv_txlog_free(full);
}
END_TEST

START_TEST(checkpoint_resumes_bit_for_bit)
{
    char path[] = "/tmp/clv-dist-ckpt-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);   /* the fit must create it */
    clv_forecast_options o;
    small_options(&o);
    clv_txlog *full = sim_log(0, 0);
    clv_forecaster *f[MAX_RANKS], *g[MAX_RANKS], *ref[MAX_RANKS];
    int rc[MAX_RANKS];
    fit_ranks(2, &o, NULL, 0, NULL, ref, rc);
    ck_assert_int_eq(rc[0], CLV_OK);
    /* Rank 1 stops every rank after the 2nd pass of the early-stopping run ... */
    fit_ranks(2, &o, path, 2, NULL, f, rc);
    ck_assert_int_eq(rc[0], CLV_ECANCELED);
    ck_assert_int_eq(rc[1], CLV_ECANCELED);
    ck_assert_int_eq(access(path, F_OK), 0);
    /* ... and the rerun takes it from the checkpoint to the same model. */
    fit_ranks(2, &o, path, 0, NULL, g, rc);
    ck_assert_int_eq(rc[0], CLV_OK);
    ck_assert_int_eq(rc[1], CLV_OK);
    ck_assert_uint_eq(clv_forecaster_resumed_epoch(g[0]), 2);
    ck_assert(same_bytes(ref[0], g[0]));
    /* A finished checkpoint resumed by one process, and one written for
     * other options refused. */
    clv_forecaster *single;
    ck_assert_int_eq(clv_forecaster_new(&single, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_set_checkpoint(single, path), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(single, full, cutoff()), CLV_OK);
    ck_assert_uint_gt(clv_forecaster_resumed_epoch(single), 2);
    ck_assert_double_lt(max_rel_diff(ref[0], single, full), DIST_TOL);
    clv_forecaster_free(single);
    o.seed = 99;
    ck_assert_int_eq(clv_forecaster_new(&single, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_set_checkpoint(single, path), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(single, full, cutoff()), CLV_ESTATE);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "other options"));
    clv_forecaster_free(single);
    for (int r = 0; r < 2; r++) {
        clv_forecaster_free(f[r]);
        clv_forecaster_free(g[r]);
        clv_forecaster_free(ref[r]);
    }
    clv_txlog_free(full);
    unlink(path);
}
END_TEST

/* With dropout the masks follow the step number (not the network's count of
 * its own passes), so a resumed fit draws the masks of the uninterrupted one
 * and ends with the same bytes; the checkpoint of a fit without dropout is
 * refused by one with it, and the other way round. */
START_TEST(checkpoint_with_dropout_resumes_bit_for_bit)
{
    char path[] = "/tmp/clv-dist-ckpt-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    clv_forecast_options o;
    small_options(&o);
    o.dropout = 0.2f;
    /* Fixed passes: the first run is network 0's, whose weights are kept,
     * so the interruption falls where the masks decide the result (an
     * early-stopping run only picks a number of passes). */
    o.epochs = 3;
    clv_txlog *full = sim_log(0, 0);
    clv_forecaster *f[MAX_RANKS], *g[MAX_RANKS], *ref[MAX_RANKS];
    int rc[MAX_RANKS];
    fit_ranks(2, &o, NULL, 0, NULL, ref, rc);
    ck_assert_int_eq(rc[0], CLV_OK);
    fit_ranks(2, &o, path, 2, NULL, f, rc);
    ck_assert_int_eq(rc[0], CLV_ECANCELED);
    fit_ranks(2, &o, path, 0, NULL, g, rc);
    ck_assert_int_eq(rc[0], CLV_OK);
    ck_assert_int_eq(rc[1], CLV_OK);
    ck_assert_uint_eq(clv_forecaster_resumed_epoch(g[0]), 2);
    ck_assert(same_bytes(ref[0], g[0]));
    /* a single process resuming the finished checkpoint: same fingerprint */
    clv_forecaster *single;
    ck_assert_int_eq(clv_forecaster_new(&single, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_set_checkpoint(single, path), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(single, full, cutoff()), CLV_OK);
    ck_assert_uint_gt(clv_forecaster_resumed_epoch(single), 2);
    clv_forecaster_free(single);
    o.dropout = 0.0f;
    ck_assert_int_eq(clv_forecaster_new(&single, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_set_checkpoint(single, path), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(single, full, cutoff()), CLV_ESTATE);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "other options"));
    clv_forecaster_free(single);
    for (int r = 0; r < 2; r++) {
        clv_forecaster_free(f[r]);
        clv_forecaster_free(g[r]);
        clv_forecaster_free(ref[r]);
    }
    clv_txlog_free(full);
    unlink(path);
}
END_TEST

START_TEST(bad_setups_are_refused)
{
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, NULL), CLV_OK);
    clv_comm c;
    clv_comm_init(&c);
    ck_assert_int_eq(c.size, 1);
    ck_assert_int_eq(clv_forecaster_set_comm(f, &c), CLV_EINVAL);   /* no callbacks */
    c.allreduce = fake_allreduce;
    c.broadcast = fake_broadcast;
    c.rank = 2;
    c.size = 2;
    ck_assert_int_eq(clv_forecaster_set_comm(f, &c), CLV_EINVAL);
    ck_assert_int_eq(clv_forecaster_set_comm(f, NULL), CLV_OK);
    ck_assert_int_eq(clv_forecaster_set_checkpoint(f, ""), CLV_EINVAL);
    ck_assert_int_eq(clv_forecaster_set_checkpoint(f, NULL), CLV_OK);
    clv_forecaster_free(f);
    /* An empty checkpoint file is damage, not "no checkpoint". */
    char empty[] = "/tmp/clv-dist-empty-XXXXXX";
    int efd = mkstemp(empty);
    ck_assert_int_ge(efd, 0);
    close(efd);
    {
        clv_forecast_options eo;
        small_options(&eo);
        clv_txlog *one = sim_log(0, 0);
        clv_forecaster *fe;
        ck_assert_int_eq(clv_forecaster_new(&fe, &eo), CLV_OK);
        ck_assert_int_eq(clv_forecaster_set_checkpoint(fe, empty), CLV_OK);
        ck_assert_int_eq(clv_forecaster_fit(fe, one, cutoff()), CLV_EFORMAT);
        ck_assert_ptr_nonnull(strstr(clv_last_error(), "is empty"));
        clv_forecaster_free(fe);
        clv_txlog_free(one);
    }
    unlink(empty);
    /* The same customers on two ranks: every rank says so. */
    clv_forecast_options o;
    small_options(&o);
    clv_txlog *full = sim_log(0, 0);
    clv_forecaster *fs[MAX_RANKS];
    int rc[MAX_RANKS];
    fit_ranks(2, &o, NULL, 0, full, fs, rc);
    ck_assert_int_eq(rc[0], CLV_EINVAL);
    ck_assert_int_eq(rc[1], CLV_EINVAL);
    clv_forecaster_free(fs[0]);
    clv_forecaster_free(fs[1]);
    clv_txlog_free(full);
}
END_TEST

/* Running out of memory on one rank only, at every allocation it makes in
 * a fit (with a checkpoint, so that writing and resuming are covered): every
 * rank must return an error and none may wait forever in a collective (a
 * hang fails the test by its timeout). The first optimizer step, parsing a
 * checkpoint and the BTYD fit allocate on one rank and used to hang. */
START_TEST(one_rank_out_of_memory_fails_every_rank)
{
    clv_forecast_options o;
    small_options(&o);
    o.ensemble = 1;
    char path[] = "/tmp/clv-dist-oom-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    clv_allocator a = { sizeof a, inject_alloc, inject_free, NULL };
    ck_assert_int_eq(clv_set_allocator(&a), CLV_OK);
    clv_forecaster *fs[MAX_RANKS];
    int rc[MAX_RANKS];
    for (int resume = 0; resume < 2; resume++) {
        /* resume = 1: a finished run's checkpoint is there to read first. */
        unlink(path);
        fail_rank = 1, fail_at = 0;
        if (resume) {   /* a first run leaves the checkpoint the counted run resumes from */
            fit_ranks(2, &o, path, 0, NULL, fs, rc);
            ck_assert_int_eq(rc[0], CLV_OK);
            clv_forecaster_free(fs[0]);
            clv_forecaster_free(fs[1]);
        }
        fit_ranks(2, &o, path, 0, NULL, fs, rc);   /* counts rank 1's allocations */
        ck_assert_int_eq(rc[0], CLV_OK);
        ck_assert_int_eq(rc[1], CLV_OK);
        clv_forecaster_free(fs[0]);
        clv_forecaster_free(fs[1]);
        const uint64_t total = counted;
        ck_assert_uint_gt(total, 20);
        uint64_t failed_runs = 0;
        for (uint64_t k = 1; k <= total; k++) {
            if (!resume) unlink(path);
            fail_at = k;
            if (getenv("CLV_TEST_DIST_TRACE")) fprintf(stderr, "resume %d: allocation %llu of %llu\n", resume, (unsigned long long)k, (unsigned long long)total);
            fit_ranks(2, &o, path, 0, NULL, fs, rc);
            ck_assert_msg((rc[0] == CLV_OK) == (rc[1] == CLV_OK),
                          "allocation %llu of %llu on rank 1: rank 0 returned %d, rank 1 %d",
                          (unsigned long long)k, (unsigned long long)total, rc[0], rc[1]);
            failed_runs += rc[1] != CLV_OK;
            if (rc[1] != CLV_OK) ck_assert_int_eq(rc[1], CLV_ENOMEM);
            clv_forecaster_free(fs[0]);
            clv_forecaster_free(fs[1]);
        }
        fprintf(stderr, "dist: rank 1 out of memory at each of its %llu allocations (%s): %llu fits failed on "
                        "both ranks, none hung\n", (unsigned long long)total, resume ? "resuming" : "fresh",
                (unsigned long long)failed_runs);
        ck_assert_uint_gt(failed_runs, total / 2);
    }
    fail_rank = -1;
    ck_assert_int_eq(clv_set_allocator(NULL), CLV_OK);
    unlink(path);
}
END_TEST

/* A rank with no customers at the cutoff (an empty log, or one whose
 * customers all buy after it) cannot fit its pipeline: every rank fails
 * together, none waits in a collective. A rank with a single customer of a
 * single week (no target, no batch of its own) takes part in every
 * collective: the fit succeeds and every rank predicts the same bits, with
 * and without dropout. */
START_TEST(ranks_with_no_or_one_customer)
{
    clv_forecast_options o;
    small_options(&o);
    static const char late_csv[] = "customer_id,date,amount\nlate-1,1998-02-01,10\nlate-2,1998-03-01,5\n";
    static const char one_csv[] = "customer_id,date,amount\nonly-1,1997-12-30,10\n";
    clv_txlog *empty, *late, *one;
    ck_assert_int_eq(clv_txlog_new(&empty, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_new(&late, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(late, late_csv, strlen(late_csv), "late.csv", NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_new(&one, NULL), CLV_OK);
    ck_assert_int_eq(clv_txlog_read_csv_buffer(one, one_csv, strlen(one_csv), "one.csv", NULL), CLV_OK);
    clv_txlog *full = sim_log(0, 0);
    clv_txlog *second[3] = { empty, late, one };
    for (int k = 0; k < 3; k++) {
        for (int d = 0; d < 2; d++) {
            o.dropout = d ? 0.2f : 0.0f;
            clv_forecaster *fs[MAX_RANKS];
            int rc[MAX_RANKS];
            rank_log[0] = full;
            rank_log[1] = second[k];
            fit_ranks(2, &o, NULL, 0, NULL, fs, rc);
            rank_log[0] = rank_log[1] = NULL;
            if (k < 2) {
                ck_assert_int_ne(rc[0], CLV_OK);
                ck_assert_int_ne(rc[1], CLV_OK);
            } else {
                ck_assert_int_eq(rc[0], CLV_OK);
                ck_assert_int_eq(rc[1], CLV_OK);
                ck_assert_double_eq(max_rel_diff(fs[0], fs[1], full), 0.0);   /* the pipelines differ (docs/scale-out.md) */
            }
            clv_forecaster_free(fs[0]);
            clv_forecaster_free(fs[1]);
        }
    }
    clv_txlog_free(full);
    clv_txlog_free(empty);
    clv_txlog_free(late);
    clv_txlog_free(one);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("dist");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, shards_cover_every_customer_once);
    tcase_add_test(tc, ranks_fit_the_single_process_model);
    tcase_add_test(tc, checkpoint_resumes_bit_for_bit);
    tcase_add_test(tc, checkpoint_with_dropout_resumes_bit_for_bit);
    tcase_add_test(tc, bad_setups_are_refused);
    tcase_add_test(tc, ranks_with_no_or_one_customer);
    tcase_add_test(tc, one_rank_out_of_memory_fails_every_rank);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
