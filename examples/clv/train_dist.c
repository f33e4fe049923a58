/* clv train --mpi / --checkpoint: the data-parallel fit of the forecaster
 * over MPI_COMM_WORLD (docs/scale-out.md). libclv knows nothing of MPI: this
 * file fills its communicator hook (clv_comm) with MPI_Allreduce and
 * MPI_Bcast. Built with MPI when meson's `mpi` feature finds it; without,
 * --mpi says how to get it and --checkpoint still works in one process. */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef CLV_HAVE_MPI
#include <mpi.h>

static MPI_Comm world;
/* What the fit sent through the hook, for the closing line of each rank. */
static struct { uint64_t calls, bytes; double seconds; } traffic;

/* Chunks of at most INT_MAX elements: MPI counts are int. */
static int mpi_allreduce(void *ctx, void *buf, uint64_t count, int32_t type, int32_t op)
{
    (void)ctx;
    const MPI_Datatype t = type == CLV_COMM_FLOAT64 ? MPI_DOUBLE : MPI_FLOAT;
    const size_t esize = type == CLV_COMM_FLOAT64 ? sizeof(double) : sizeof(float);
    const double t0 = MPI_Wtime();
    traffic.calls++;
    traffic.bytes += count * esize;
    for (uint64_t at = 0; at < count;) {
        const int n = count - at > INT_MAX ? INT_MAX : (int)(count - at);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * esize, n, t, op == CLV_COMM_MAX ? MPI_MAX : MPI_SUM, world);
        if (rc != MPI_SUCCESS) return rc;
        at += (uint64_t)n;
    }
    traffic.seconds += MPI_Wtime() - t0;
    return 0;
}

static int mpi_broadcast(void *ctx, void *buf, uint64_t bytes, int32_t root)
{
    (void)ctx;
    for (uint64_t at = 0; at < bytes;) {
        const int n = bytes - at > INT_MAX ? INT_MAX : (int)(bytes - at);
        int rc = MPI_Bcast((char *)buf + at, n, MPI_BYTE, root, world);
        if (rc != MPI_SUCCESS) return rc;
        at += (uint64_t)n;
    }
    return 0;
}

static int mpi_start(clv_comm *c)
{
    int argc = 0;
    char **argv = NULL;
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return cli_fail("MPI_Init failed");
    world = MPI_COMM_WORLD;
    int rank, size;
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
    clv_comm_init(c);
    c->rank = rank;
    c->size = size;
    c->allreduce = mpi_allreduce;
    c->broadcast = mpi_broadcast;
    return CLI_OK;
}

/* A failed rank ends the job: the others may be waiting in a collective. */
static void mpi_report(int32_t rank)
{
    fprintf(stderr, "clv %s: rank %d: %llu allreduce calls, %.1f MB, %.2f s in MPI_Allreduce\n", cli_cmd, (int)rank,
            (unsigned long long)traffic.calls, traffic.bytes / 1e6, traffic.seconds);
}

static int mpi_finish(int rc, int size)
{
    if (rc != CLI_OK && size > 1) MPI_Abort(world, rc);
    MPI_Finalize();
    return rc;
}
#else
static int mpi_start(clv_comm *c)
{
    (void)c;
    return cli_fail("--mpi: this clv was built without MPI; install Open MPI (Debian: libopenmpi-dev openmpi-bin) "
                    "and reconfigure with meson -Dmpi=enabled");
}
static int mpi_finish(int rc, int size)
{
    (void)size;
    return rc;
}
static void mpi_report(int32_t rank) { (void)rank; }
#endif

typedef struct progress_ctx {
    int32_t rank;
    int kill_rank;        /* test hook, see below; -1 = off */
    uint32_t kill_epoch;
} progress_ctx;

static int progress(const clv_fit_progress *p, void *user)
{
    const progress_ctx *pc = user;
    /* Test hook for tests/mpi: CLV_TEST_KILL_AFTER_EPOCH=RANK:EPOCH makes that
     * rank die by SIGKILL once that epoch of a training run has ended, as a
     * node lost mid-training would. */
    if (pc->rank == pc->kill_rank && p->epoch == pc->kill_epoch) raise(SIGKILL);
    if (pc->rank == 0) return cli_progress(p, NULL);
    return 0;
}

/* "--data part-{rank}.csv": per-rank files, already sharded. */
static char *rank_path(const char *pattern, int32_t rank)
{
    const char *at = strstr(pattern, "{rank}");
    if (!at) return NULL;
    size_t n = strlen(pattern) + 16;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%.*s%d%s", (int)(at - pattern), pattern, (int)rank, at + 6);
    return s;
}

int cli_train_dist(data_opts *d, int32_t cutoff, const clv_forecast_options *fo, const char *out,
                   const char *checkpoint, int use_mpi)
{
    clv_comm comm;
    clv_comm_init(&comm);
    if (use_mpi && mpi_start(&comm) != CLI_OK) return CLI_FAIL;
    char *path = use_mpi ? rank_path(d->path, comm.rank) : NULL;
    if (path) d->path = path;
    else if (use_mpi && comm.size > 1) {
        d->shard_count = (uint32_t)comm.size;
        d->shard_index = (uint32_t)comm.rank;
    }
    /* Only rank 0 talks, save for errors. */
    const int quiet = cli_quiet;
    if (comm.rank != 0) cli_quiet = 1;
    clv_txlog *log = NULL;
    clv_txlog_report rep;
    int rc = cli_load_log(d, &log, &rep);
    if (rc == CLI_OK && use_mpi && !quiet)
        fprintf(stderr, "clv %s: rank %d of %d holds %llu customers\n", cli_cmd, (int)comm.rank, (int)comm.size,
                (unsigned long long)rep.customers);
    progress_ctx pc = { comm.rank, -1, 0 };
    const char *kill = getenv("CLV_TEST_KILL_AFTER_EPOCH");
    unsigned kr, ke;
    if (kill && sscanf(kill, "%u:%u", &kr, &ke) == 2) {
        pc.kill_rank = (int)kr;
        pc.kill_epoch = ke;
    }
    clv_forecaster *f = NULL;
    int st = CLV_OK;
    if (rc == CLI_OK) {
        st = clv_forecaster_new(&f, fo);
        if (st == CLV_OK) st = clv_forecaster_set_callback(f, progress, &pc);
        if (st == CLV_OK && use_mpi) st = clv_forecaster_set_comm(f, &comm);
        if (st == CLV_OK && checkpoint) st = clv_forecaster_set_checkpoint(f, checkpoint);
        if (st == CLV_OK) st = clv_forecaster_fit(f, log, cutoff);
        cli_progress_done();
        if (st == CLV_OK && !cli_quiet && clv_forecaster_resumed_epoch(f) > 0)
            fprintf(stderr, "clv %s: resumed from checkpoint %s after %u epochs\n", cli_cmd, checkpoint,
                    clv_forecaster_resumed_epoch(f));
        if (st == CLV_OK && comm.rank == 0) st = clv_forecaster_save(f, out);
        if (st != CLV_OK) {
            if (use_mpi) fprintf(stderr, "clv %s: rank %d: ", cli_cmd, (int)comm.rank);
            rc = cli_lib_fail("train", st);
        } else {
            if (!cli_quiet) fprintf(stderr, "clv %s: saved %s\n", cli_cmd, out);
            if (use_mpi && !quiet) mpi_report(comm.rank);
        }
    }
    clv_forecaster_free(f);
    clv_txlog_free(log);
    free(path);
    cli_quiet = quiet;
    return use_mpi ? mpi_finish(rc, comm.size) : rc;
}
