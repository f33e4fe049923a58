/* Training checkpoints of the forecaster: where a fit stands (which run,
 * how many passes) and everything needed to go on bit for bit. */
#ifndef CLV_FORECAST_CHECKPOINT_H
#define CLV_FORECAST_CHECKPOINT_H

#include "forecast_impl.h"

typedef struct clv__ckpt {
    uint64_t fingerprint;    /* options, cutoff and customers it was written for */
    uint32_t stage;          /* 0: the early-stopping run; 1 + k: network k of the ensemble */
    uint32_t epoch;          /* passes completed in this stage */
    uint32_t epochs;         /* stage >= 1: passes per network, as chosen by stage 0 */
    uint32_t best_epoch;     /* stage 0: the pass with the lowest held-out loss so far */
    uint32_t total_epochs;   /* passes completed over every stage */
    double best;             /* stage 0: that loss (may be +inf) */
    uint64_t rng[4];         /* the shuffling generator after `epoch` passes */
    uint64_t opt_t;          /* optimizer steps taken */
    uint64_t opt_n;          /* optimizer state floats */
    float *opt_state;
    uint64_t nparams;        /* per network */
    float *params;           /* the network being trained */
    uint32_t ndone;          /* networks of the ensemble already finished */
    float *done;             /* [ndone][nparams] */
} clv__ckpt;

void clv__ckpt_free(clv__ckpt *c);
/* Atomically replace `path` (lib/io's writer: temporary file, fsync, rename). */
int clv__ckpt_save(const char *path, const clv__ckpt *c);
/* Collective: rank 0 reads f->ckpt_path (a missing file is no checkpoint)
 * and broadcasts it; every rank parses the same bytes. *found = 0 when
 * there is none. CLV_ESTATE when it was written for another fingerprint,
 * CLV_EFORMAT when damaged. */
int clv__ckpt_load(const clv_forecaster *f, uint64_t fingerprint, clv__ckpt *c, int *found);

#endif
