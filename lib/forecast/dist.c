/* Collectives of a data-parallel fit (dist.h): thin checks around the
 * caller's clv_comm callbacks, and the global customer order. */
#include <stdlib.h>
#include <string.h>

#include "../pipeline/txlog_impl.h"
#include "dist.h"

CLV_API void clv_comm_init(clv_comm *c)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
    c->rank = 0;
    c->size = 1;
}

CLV_API int clv_forecaster_set_comm(clv_forecaster *f, const clv_comm *c)
{
    static const char fn[] = "clv_forecaster_set_comm";
    CLV__CHECK_ARG(f != NULL, "%s: forecaster is NULL", fn);
    if (!c) {
        memset(&f->comm, 0, sizeof f->comm);
        return CLV_OK;
    }
    CLV__CHECK_ARG(CLV__HAS_FIELD(clv_comm, c, broadcast), "%s: comm struct_size %u is too small; call clv_comm_init()", fn, c->struct_size);
    CLV__CHECK_ARG(c->size >= 1 && c->rank >= 0 && c->rank < c->size, "%s: rank %d of size %d, expected 0 <= rank < size", fn,
                   (int)c->rank, (int)c->size);
    CLV__CHECK_ARG(c->allreduce != NULL && c->broadcast != NULL, "%s: allreduce and broadcast are required", fn);
    /* A caller built against an older, smaller clv_comm: copy what it has. */
    memset(&f->comm, 0, sizeof f->comm);
    memcpy(&f->comm, c, c->struct_size < sizeof f->comm ? c->struct_size : sizeof f->comm);
    f->comm.struct_size = sizeof f->comm;
    return CLV_OK;
}

int clv__dist_on(const clv_forecaster *f) { return f->comm.size >= 1; }
int32_t clv__dist_rank(const clv_forecaster *f) { return clv__dist_on(f) ? f->comm.rank : 0; }

static int hook_failed(const char *what, int rc)
{
    return clv__error(CLV_EIO, "clv_forecaster_fit: the communicator's %s failed (returned %d)", what, rc);
}

static int reduce(const clv_forecaster *f, void *buf, uint64_t n, int32_t type, int32_t op)
{
    if (!clv__dist_on(f) || n == 0) return CLV_OK;
    int rc = f->comm.allreduce(f->comm.ctx, buf, n, type, op);
    return rc == 0 ? CLV_OK : hook_failed("allreduce", rc);
}

int clv__dist_sum_f64(const clv_forecaster *f, double *b, uint64_t n) { return reduce(f, b, n, CLV_COMM_FLOAT64, CLV_COMM_SUM); }
int clv__dist_max_f64(const clv_forecaster *f, double *b, uint64_t n) { return reduce(f, b, n, CLV_COMM_FLOAT64, CLV_COMM_MAX); }
int clv__dist_sum_f32(const clv_forecaster *f, float *b, uint64_t n) { return reduce(f, b, n, CLV_COMM_FLOAT32, CLV_COMM_SUM); }

int clv__dist_bcast(const clv_forecaster *f, void *buf, uint64_t bytes, int32_t root)
{
    if (!clv__dist_on(f) || bytes == 0) return CLV_OK;
    int rc = f->comm.broadcast(f->comm.ctx, buf, bytes, root);
    return rc == 0 ? CLV_OK : hook_failed("broadcast", rc);
}

int clv__dist_agree(const clv_forecaster *f, int rc, const char *what)
{
    if (!clv__dist_on(f)) return rc;
    double failed = rc != CLV_OK;
    int hr = clv__dist_max_f64(f, &failed, 1);
    if (rc != CLV_OK) return rc;   /* keep this rank's own message */
    if (hr != CLV_OK) return hr;
    return failed > 0 ? clv__error(CLV_ESTATE, "clv_forecaster_fit: another rank failed %s (see its message)", what) : CLV_OK;
}

void clv__global_order_free(clv__global_order *g)
{
    clv__free(g->pos);
    clv__free(g->local);
    memset(g, 0, sizeof *g);
}

typedef struct id_owner { const char *id; int32_t rank; } id_owner;

static int by_id_then_rank(const void *a, const void *b)
{
    const id_owner *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->rank > y->rank) - (x->rank < y->rank);
}

/* Every rank's ids, gathered by one broadcast per rank (the hook has no
 * all-gather): each rank then knows where each of its customers stands in
 * the global id order, and which ranks own the others. */
int clv__dist_global_order(const clv_forecaster *f, const char *ids, const uint64_t *id_off, uint64_t nlocal,
                           const uint64_t *order, clv__global_order *g)
{
    memset(g, 0, sizeof *g);
    const int32_t size = clv__dist_on(f) ? f->comm.size : 1, me = clv__dist_rank(f);
    uint64_t mine = 0;
    for (uint64_t j = 0; j < nlocal; j++) mine += strlen(ids + id_off[order[j]]) + 1;
    char *blob = clv__malloc(mine ? mine : 1);
    char **all = clv__calloc((size_t)size, sizeof *all);
    uint64_t *lens = clv__calloc((size_t)size, sizeof *lens);
    int rc = blob && all && lens ? CLV_OK : clv__oom();
    if (rc == CLV_OK) {
        char *w = blob;
        for (uint64_t j = 0; j < nlocal; j++) {
            const char *id = ids + id_off[order[j]];
            size_t k = strlen(id) + 1;
            memcpy(w, id, k);
            w += k;
        }
    }
    rc = clv__dist_agree(f, rc, "to list its customers");
    for (int32_t r = 0; r < size && rc == CLV_OK; r++) {
        lens[r] = r == me ? mine : 0;
        rc = clv__dist_bcast(f, &lens[r], sizeof lens[r], r);
        if (rc != CLV_OK) break;
        if (r == me) {
            all[r] = blob;
            blob = NULL;
        } else {
            all[r] = clv__malloc(lens[r] ? lens[r] : 1);
        }
        rc = clv__dist_agree(f, all[r] ? CLV_OK : clv__oom(), "to receive the customer ids");
        if (rc == CLV_OK) rc = clv__dist_bcast(f, all[r], lens[r], r);
    }
    uint64_t n = 0;
    for (int32_t r = 0; r < size && rc == CLV_OK; r++)
        for (uint64_t at = 0; at < lens[r]; at += strlen(all[r] + at) + 1) n++;
    id_owner *refs = NULL;
    if (rc == CLV_OK) {
        refs = clv__calloc(n ? n : 1, sizeof *refs);
        g->pos = clv__calloc(nlocal ? nlocal : 1, sizeof *g->pos);
        g->local = clv__calloc(n ? n : 1, sizeof *g->local);
        rc = clv__dist_agree(f, refs && g->pos && g->local ? CLV_OK : clv__oom(), "to order the customers");
    }
    if (rc == CLV_OK) {
        uint64_t k = 0;
        for (int32_t r = 0; r < size; r++)
            for (uint64_t at = 0; at < lens[r]; at += strlen(all[r] + at) + 1) refs[k++] = (id_owner){ all[r] + at, r };
        qsort(refs, n, sizeof *refs, by_id_then_rank);
        uint64_t h = 0x1d5, mine_k = 0;
        for (uint64_t p = 0; p < n && rc == CLV_OK; p++) {
            if (p > 0 && strcmp(refs[p - 1].id, refs[p].id) == 0)
                rc = clv__error(CLV_EINVAL, "clv_forecaster_fit: customer '%s' is on ranks %d and %d; each customer must be "
                                "on one rank only (shard by clv_customer_shard())", refs[p].id, (int)refs[p - 1].rank,
                                (int)refs[p].rank);
            h = clv__hash_bytes(refs[p].id, strlen(refs[p].id) + 1, h);
            if (refs[p].rank == me) {
                const uint64_t i = order[mine_k++];
                g->local[p] = i;
                g->pos[i] = p;
            } else {
                g->local[p] = CLV__NOT_LOCAL;
            }
        }
        g->n = n;
        g->id_hash = h;
    }
    clv__free(refs);
    for (int32_t r = 0; all && r < size; r++) clv__free(all[r]);
    clv__free(all);
    clv__free(lens);
    clv__free(blob);
    if (rc != CLV_OK) clv__global_order_free(g);
    return rc;
}
