/* Collectives of a data-parallel fit over the caller's clv_comm hook. With
 * no communicator installed every function is the identity (one rank holds
 * everything), so the single-process fit runs the same code unchanged. */
#ifndef CLV_FORECAST_DIST_H
#define CLV_FORECAST_DIST_H

#include "forecast_impl.h"

/* Non-zero when a communicator is installed (even of size 1). */
int clv__dist_on(const clv_forecaster *f);
int32_t clv__dist_rank(const clv_forecaster *f);

/* In place over all ranks; CLV_EIO when the hook fails. */
int clv__dist_sum_f64(const clv_forecaster *f, double *buf, uint64_t n);
int clv__dist_max_f64(const clv_forecaster *f, double *buf, uint64_t n);
int clv__dist_sum_f32(const clv_forecaster *f, float *buf, uint64_t n);
int clv__dist_bcast(const clv_forecaster *f, void *buf, uint64_t bytes, int32_t root);

/* Make a local outcome collective: every rank returns CLV_OK only when every
 * rank's rc was CLV_OK. A failed rank keeps its own error; the others fail
 * with CLV_ESTATE naming `what`. */
int clv__dist_agree(const clv_forecaster *f, int rc, const char *what);

/* The customers of every rank in one order, sorted by id: the order the
 * single-process fit uses, whatever the number of ranks. */
typedef struct clv__global_order {
    uint64_t n;        /* customers over all ranks */
    uint64_t *pos;     /* [local customer] its global position */
    uint64_t *local;   /* [global position] the local customer there, or CLV__NOT_LOCAL */
    uint64_t id_hash;  /* hash of every id in order: tells one customer set from another */
} clv__global_order;
#define CLV__NOT_LOCAL UINT64_MAX

/* From the local dataset's ids and their local id order `order`. Collective;
 * CLV_EINVAL (on every rank) when an id is on two ranks. */
int clv__dist_global_order(const clv_forecaster *f, const char *ids, const uint64_t *id_off, uint64_t nlocal,
                           const uint64_t *order, clv__global_order *g);
void clv__global_order_free(clv__global_order *g);

#endif
