/* The optimizer's state as plain numbers, for training checkpoints
 * (lib/forecast/checkpoint.c): steps taken and the per-parameter buffers. */
#ifndef CLV_OPTIM_STATE_H
#define CLV_OPTIM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "clv/optim.h"

/* *t: completed steps; *state: nfloats floats (0 before the first step), borrowed. */
void clv__optim_state(const clv_optim *opt, uint64_t *t, const float **state, size_t *nfloats);
/* Put back what clv__optim_state gave, for `count` parameters. CLV_ESHAPE
 * when nfloats does not fit this optimizer's kind and count; CLV_ENOMEM. */
int clv__optim_restore(clv_optim *opt, uint64_t t, const float *state, size_t nfloats, size_t count);

#endif
