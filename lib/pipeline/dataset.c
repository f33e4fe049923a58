/* clv_dataset: contiguous output arrays of a transform. */
#include <string.h>

#include "pipeline_impl.h"

int clv__dataset_alloc(clv_dataset **out, uint64_t n, uint32_t steps, uint32_t nseq, uint32_t nstatic,
                       uint64_t ids_len, int zero_rows)
{
    clv_dataset *ds = clv__calloc(1, sizeof *ds);
    if (!ds) return clv__oom();
    ds->n = n;
    ds->steps = steps;
    ds->nseq = nseq;
    ds->nstatic = nstatic;
    size_t nseq_total, nstat_total;
    int ovf = clv__mul_size((size_t)n, (size_t)steps * nseq, &nseq_total) != 0 ||
              clv__mul_size((size_t)n, nstatic, &nstat_total) != 0;
    /* Zeroed: padding and absent one-hot slots must read as 0. */
    const size_t m = n ? (size_t)n : 1;
    if (!ovf) {
        if (zero_rows) {
            ds->seq = clv__calloc(nseq_total ? nseq_total : 1, sizeof(float));
            ds->stat = nstatic ? clv__calloc(nstat_total, sizeof(float)) : NULL;
        } else {
            size_t b1, b2;
            ovf = clv__mul_size(nseq_total ? nseq_total : 1, sizeof(float), &b1) != 0 ||
                  clv__mul_size(nstat_total, sizeof(float), &b2) != 0;
            if (!ovf) {
                ds->seq = clv__malloc(b1);
                ds->stat = nstatic ? clv__malloc(b2) : NULL;
            }
        }
        ds->lengths = clv__calloc(m, sizeof(int32_t));
        ds->stages = clv__calloc(m, sizeof(int32_t));
        ds->target_spend = clv__calloc(m, sizeof(float));
        ds->target_tx = clv__calloc(m, sizeof(float));
        ds->target_active = clv__calloc(m, sizeof(float));
        ds->frequency = clv__calloc(m, sizeof(float));
        ds->recency = clv__calloc(m, sizeof(float));
        ds->age = clv__calloc(m, sizeof(float));
        ds->monetary_repeat = clv__calloc(m, sizeof(float));
        ds->cal_spend = clv__calloc(m, sizeof(float));
        ds->ids = clv__malloc(ids_len ? ids_len : 1);
        ds->id_off = clv__calloc(m, sizeof(uint64_t));
    }
    if (ovf || !ds->seq || (nstatic && !ds->stat) || !ds->lengths || !ds->stages || !ds->target_spend ||
        !ds->target_tx || !ds->target_active || !ds->frequency || !ds->recency || !ds->age ||
        !ds->monetary_repeat || !ds->cal_spend || !ds->ids || !ds->id_off) {
        clv_dataset_free(ds);
        return clv__oom();
    }
    return (*out = ds, CLV_OK);
}

CLV_API void clv_dataset_free(clv_dataset *ds)
{
    if (!ds) return;
    clv__free(ds->seq);
    clv__free(ds->stat);
    clv__free(ds->lengths);
    clv__free(ds->stages);
    clv__free(ds->target_spend);
    clv__free(ds->target_tx);
    clv__free(ds->target_active);
    clv__free(ds->frequency);
    clv__free(ds->recency);
    clv__free(ds->age);
    clv__free(ds->monetary_repeat);
    clv__free(ds->cal_spend);
    clv__free(ds->ids);
    clv__free(ds->id_off);
    clv__free(ds);
}

CLV_API uint64_t clv_dataset_customers(const clv_dataset *ds) { return ds ? ds->n : 0; }
CLV_API uint32_t clv_dataset_steps(const clv_dataset *ds) { return ds ? ds->steps : 0; }
CLV_API uint32_t clv_dataset_seq_features(const clv_dataset *ds) { return ds ? ds->nseq : 0; }
CLV_API uint32_t clv_dataset_static_features(const clv_dataset *ds) { return ds ? ds->nstatic : 0; }
CLV_API int32_t clv_dataset_cutoff_day(const clv_dataset *ds) { return ds ? ds->cutoff : 0; }
CLV_API int32_t clv_dataset_holdout_end_day(const clv_dataset *ds) { return ds ? ds->holdout_end : 0; }
CLV_API const float *clv_dataset_sequences(const clv_dataset *ds) { return ds ? ds->seq : NULL; }
CLV_API const int32_t *clv_dataset_lengths(const clv_dataset *ds) { return ds ? ds->lengths : NULL; }
CLV_API const float *clv_dataset_static(const clv_dataset *ds) { return ds && ds->nstatic ? ds->stat : NULL; }
CLV_API const float *clv_dataset_target_spend(const clv_dataset *ds) { return ds ? ds->target_spend : NULL; }
CLV_API const float *clv_dataset_target_transactions(const clv_dataset *ds) { return ds ? ds->target_tx : NULL; }
CLV_API const float *clv_dataset_target_active(const clv_dataset *ds) { return ds ? ds->target_active : NULL; }
CLV_API const int32_t *clv_dataset_stages(const clv_dataset *ds) { return ds ? ds->stages : NULL; }
CLV_API const float *clv_dataset_frequency(const clv_dataset *ds) { return ds ? ds->frequency : NULL; }
CLV_API const float *clv_dataset_recency_days(const clv_dataset *ds) { return ds ? ds->recency : NULL; }
CLV_API const float *clv_dataset_age_days(const clv_dataset *ds) { return ds ? ds->age : NULL; }
CLV_API const float *clv_dataset_monetary_repeat(const clv_dataset *ds) { return ds ? ds->monetary_repeat : NULL; }
CLV_API const float *clv_dataset_calibration_spend(const clv_dataset *ds) { return ds ? ds->cal_spend : NULL; }

CLV_API const char *clv_dataset_customer_id(const clv_dataset *ds, uint64_t i)
{
    return ds && i < ds->n ? ds->ids + ds->id_off[i] : NULL;
}

CLV_API const char *clv_stage_name(int32_t stage)
{
    switch (stage) {
    case CLV_STAGE_NEW: return "new";
    case CLV_STAGE_ACTIVE: return "active";
    case CLV_STAGE_AT_RISK: return "at-risk";
    case CLV_STAGE_CHURNED: return "churned";
    default: return "unknown";
    }
}
