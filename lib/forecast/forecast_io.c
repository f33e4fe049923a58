/* Saving and loading a clv_forecaster: one model file with three sections,
 * 'FCST' (options, input scalers, sampling statistics), 'PIPE' (the fitted
 * pipeline) and 'MODL' (the sequence model). Format: docs/model-format.md. */
#include <math.h>
#include <string.h>

#include "../io/container.h"
#include "../io/serialize.h"
#include "../pipeline/pipeline_impl.h"
#include "forecast_impl.h"

#define TAG_FCST CLV__FOURCC('F', 'C', 'S', 'T')
/* Version 3 appends the dropout rate. A forecaster trained without dropout
 * is written as version 2, byte for byte as before, which older libclv
 * still reads; version 2 files read as dropout 0. */
#define FCST_VERSION 3u
#define FCST_VERSION_MIN 2u

/* Network k of the ensemble: 'MODL' for the first, 'MExx' (two decimal
 * digits) for the others. */
static uint32_t member_tag(uint32_t k)
{
    return k == 0 ? CLV__TAG_MODL : CLV__FOURCC('M', 'E', (char)('0' + k / 10), (char)('0' + k % 10));
}

static int write_all(const clv_forecaster *f, clv__writer *w)
{
    if (!f->fitted) return clv__error(CLV_ESTATE, "clv_forecaster_save: the forecaster is not fitted; nothing to save");
    const clv_forecast_options *o = &f->o;
    clv__writer_begin_section(w, TAG_FCST, o->dropout > 0 ? FCST_VERSION : FCST_VERSION_MIN);
    clv__put_i32(w, o->cell);
    clv__put_u32(w, o->hidden_size);
    clv__put_u32(w, o->num_layers);
    clv__put_u32(w, o->epochs);
    clv__put_u32(w, o->batch_size);
    clv__put_f32(w, o->lr);
    clv__put_f32(w, o->weight_decay);
    clv__put_u32(w, o->max_steps);
    clv__put_u32(w, o->samples);
    clv__put_u32(w, o->horizon_days);
    clv__put_u64(w, o->seed);
    clv__put_u32(w, o->valid_weeks);
    clv__put_u32(w, o->max_epochs);
    clv__put_u32(w, o->ensemble);
    clv__put_u32(w, f->epochs_trained);
    clv__put_i32(w, f->fit_cutoff);
    clv__put_i32(w, f->use_season);
    clv__put_u32(w, CLV__IN_COUNT);
    clv__put_f32_array(w, f->in_mean, CLV__IN_COUNT, "input means");
    clv__put_f32_array(w, f->in_scale, CLV__IN_COUNT, "input scales");
    clv__put_f64(w, f->top_class_mean);
    for (uint32_t k = 0; k < o->ensemble; k++) clv__put_f64(w, f->value_sigma[k]);
    clv__put_f32(w, f->age_cap);
    clv__put_f32(w, f->since_cap);
    clv__put_i32(w, f->use_prior);
    for (int k = 0; k < 4; k++) clv__put_f64(w, f->prior_bgnbd[k]);
    for (int k = 0; k < 3; k++) clv__put_f64(w, f->prior_gg[k]);
    if (o->dropout > 0) clv__put_f32(w, o->dropout);
    clv__writer_end_section(w);
    clv__pipeline_write(w, f->pipe);
    for (uint32_t k = 0; k < o->ensemble; k++) clv__model_write_tagged(w, member_tag(k), f->members[k]);
    return clv__writer_finish(w);
}

CLV_API int clv_forecaster_save(const clv_forecaster *f, const char *path)
{
    CLV__CHECK_ARG(f != NULL && path != NULL, "clv_forecaster_save: forecaster or path is NULL");
    clv__writer w;
    clv__writer_init(&w);
    int rc = write_all(f, &w);
    if (rc == CLV_OK) rc = clv__container_save_path(&w, path);
    clv__writer_free(&w);
    return rc;
}

CLV_API int clv_forecaster_save_buffer(const clv_forecaster *f, void **out, size_t *size)
{
    CLV__CHECK_ARG(f != NULL && out != NULL && size != NULL, "clv_forecaster_save_buffer: NULL argument");
    *out = NULL;
    *size = 0;
    clv__writer w;
    clv__writer_init(&w);
    int rc = write_all(f, &w);
    if (rc == CLV_OK) {
        /* Hand the writer's buffer over: the caller frees it with clv_free(). */
        *out = w.buf;
        *size = (size_t)w.len;
        w.buf = NULL;
    }
    clv__writer_free(&w);
    return rc;
}

static int read_fcst(clv__reader *r, uint32_t version, clv_forecaster *f)
{
    clv_forecast_options *o = &f->o;
    clv_forecast_options_init(o);
    uint32_t nin = 0;
    clv__get_i32(r, &o->cell);
    clv__get_u32(r, &o->hidden_size);
    clv__get_u32(r, &o->num_layers);
    clv__get_u32(r, &o->epochs);
    clv__get_u32(r, &o->batch_size);
    clv__get_f32(r, &o->lr);
    clv__get_f32(r, &o->weight_decay);
    clv__get_u32(r, &o->max_steps);
    clv__get_u32(r, &o->samples);
    clv__get_u32(r, &o->horizon_days);
    clv__get_u64(r, &o->seed);
    clv__get_u32(r, &o->valid_weeks);
    clv__get_u32(r, &o->max_epochs);
    clv__get_u32(r, &o->ensemble);
    o->threads = 1;   /* a runtime setting, not stored */
    /* Checked now: it sizes the arrays read below. */
    if (r->status == CLV_OK && (o->ensemble < 1 || o->ensemble > CLV__MAX_ENSEMBLE))
        return clv__reader_fail(r, "ensemble of %u networks, expected 1..%d", o->ensemble, CLV__MAX_ENSEMBLE);
    clv__get_u32(r, &f->epochs_trained);
    clv__get_i32(r, &f->fit_cutoff);
    clv__get_i32(r, &f->use_season);
    clv__get_u32(r, &nin);
    if (r->status == CLV_OK && nin != CLV__IN_COUNT)
        return clv__reader_fail(r, "the model has %u inputs per week; this libclv's forecaster has %d", nin, CLV__IN_COUNT);
    clv__get_f32_array(r, f->in_mean, CLV__IN_COUNT, "input means");
    clv__get_f32_array(r, f->in_scale, CLV__IN_COUNT, "input scales");
    clv__get_f64(r, &f->top_class_mean);
    for (uint32_t k = 0; k < o->ensemble; k++) clv__get_f64(r, &f->value_sigma[k]);
    clv__get_f32(r, &f->age_cap);
    clv__get_f32(r, &f->since_cap);
    clv__get_i32(r, &f->use_prior);
    for (int k = 0; k < 4; k++) clv__get_f64(r, &f->prior_bgnbd[k]);
    for (int k = 0; k < 3; k++) clv__get_f64(r, &f->prior_gg[k]);
    if (version >= 3) {
        clv__get_f32(r, &o->dropout);
        /* Version 3 is written only for dropout > 0 (0 is version 2). */
        if (r->status == CLV_OK && !(o->dropout > 0))
            return clv__reader_fail(r, "dropout %g in a version 3 section, expected > 0", (double)o->dropout);
    }
    CLV__TRY(r->status);
    CLV__TRY(clv__reader_end(r));
    o->struct_size = sizeof *o;
    /* The same checks as clv_forecaster_new: a file must not smuggle in options the API refuses. */
    clv_forecaster *probe = NULL;
    int rc = clv_forecaster_new(&probe, o);
    clv_forecaster_free(probe);
    if (rc == CLV_ENOMEM) return rc;   /* the probe could not allocate: not the file's fault */
    if (rc != CLV_OK) return clv__reader_fail(r, "invalid forecaster options (%s)", clv_last_error());
    for (uint32_t k = 0; k < o->ensemble; k++)
        if (!(f->value_sigma[k] >= 0 && f->value_sigma[k] <= CLV__VALUE_SIGMA_MAX))
            return clv__reader_fail(r, "invalid value spread %g of network %u", f->value_sigma[k], k);
    if (!(f->top_class_mean >= 0) || (f->use_season != 0 && f->use_season != 1))
        return clv__reader_fail(r, "invalid sampling statistics");
    if (!(f->age_cap >= 0 && f->age_cap <= 1e6 && f->since_cap >= 0 && f->since_cap <= 1e6))
        return clv__reader_fail(r, "invalid input caps (age %g, weeks since last purchase %g)", (double)f->age_cap,
                                (double)f->since_cap);
    if (f->use_prior != 0 && f->use_prior != 1) return clv__reader_fail(r, "invalid posterior-input flag %d", f->use_prior);
    /* The fit's own rule (prior.c), so that whatever a fit saves loads. */
    if (f->use_prior && !clv__prior_params_ok(f))
        return clv__reader_fail(r, "invalid BG/NBD or Gamma-Gamma parameters (r %g, alpha %g, a %g, b %g, p %g, q %g, gamma %g; "
                                "expected 0 < each <= %g and q > 1)", f->prior_bgnbd[0], f->prior_bgnbd[1], f->prior_bgnbd[2],
                                f->prior_bgnbd[3], f->prior_gg[0], f->prior_gg[1], f->prior_gg[2], CLV__PRIOR_PARAM_MAX);
    /* Finite is not enough: the roll-out computes (x - mean) * scale in
     * float and samples with these statistics, so values no fit can produce
     * (a scale is 1/sd with sd > 1e-6, or 1) would make its inputs Inf. */
    for (int k = 0; k < CLV__IN_COUNT; k++)
        if (!(f->in_scale[k] > 0 && f->in_scale[k] <= 1e6f) || !(fabsf(f->in_mean[k]) <= 1e9f))
            return clv__reader_fail(r, "input scaler %d out of range (mean %g, scale %g; expected |mean| <= 1e9, 0 < scale <= 1e6)",
                                    k, (double)f->in_mean[k], (double)f->in_scale[k]);
    if (f->top_class_mean > 1e9)
        return clv__reader_fail(r, "sampling statistics out of range (top_class_mean %g, expected <= 1e9)", f->top_class_mean);
    return CLV_OK;
}

static int load(clv_forecaster **out, const void *data, size_t size, const char *name)
{
    *out = NULL;
    clv__reader file, sec;
    CLV__TRY(clv__reader_open(&file, data, size, name));
    uint32_t version = 0;
    CLV__TRY(clv__reader_section(&file, TAG_FCST, FCST_VERSION, &sec, &version));
    /* Version 1 forecasters had other inputs: their weights mean nothing to this model. */
    if (version < FCST_VERSION_MIN)
        return clv__error(CLV_EFORMAT, "%s: section 'FCST' version %u was written by an older libclv whose forecaster "
                          "had other inputs; refit the model (this libclv reads versions %u to %u)",
                          name ? name : "<memory>", version, FCST_VERSION_MIN, FCST_VERSION);
    clv_forecaster *f = clv__calloc(1, sizeof *f);
    if (!f) return clv__oom();
    int rc = read_fcst(&sec, version, f);
    if (rc == CLV_OK) rc = clv__pipeline_read(&file, &f->pipe);
    /* read_fcst validated o.ensemble (1..CLV__MAX_ENSEMBLE) as clv_forecaster_new does. */
    for (uint32_t k = 0; rc == CLV_OK && k < f->o.ensemble; k++) {
        rc = clv__model_read_tagged(&file, member_tag(k), &f->members[k]);
        clv_model_options mo;
        clv_model_options_init(&mo);
        if (rc == CLV_OK) rc = clv_model_get_options(f->members[k], &mo);
        /* The roll-out sizes its buffers from the forecaster's options and
         * runs the model: a file whose sections disagree (checksums can be
         * recomputed by anyone) must be refused here, not overflow later. */
        if (rc == CLV_OK && (mo.input_size != CLV__IN_COUNT || mo.step_outputs != CLV__OUT_COUNT ||
                             mo.static_size != 0 || mo.final_outputs != 0 || mo.cell != f->o.cell ||
                             mo.hidden_size != f->o.hidden_size || mo.num_layers != f->o.num_layers))
            rc = clv__error(CLV_EFORMAT, "%s: the sequence model's shape disagrees with the forecaster section", name);
    }
    if (rc == CLV_OK) {
        clv_pipeline_options po;
        clv_pipeline_options_init(&po);
        if (rc == CLV_OK && (!clv_pipeline_is_fitted(f->pipe) || clv__pipeline_options(f->pipe, &po) != CLV_OK ||
                             po.period != CLV_PERIOD_WEEK || po.max_steps != f->o.max_steps ||
                             po.norm != CLV_NORM_NONE || po.seq_log1p != 0 || po.pad != CLV_PAD_POST))
            rc = clv__error(CLV_EFORMAT, "%s: the pipeline section is not the forecaster's (weekly, raw, %u steps, "
                            "padded at the end)", name, f->o.max_steps);
    }
    if (rc != CLV_OK) {
        clv_forecaster_free(f);
        return rc;
    }
    f->fitted = 1;
    *out = f;
    return CLV_OK;
}

CLV_API int clv_forecaster_load(clv_forecaster **out, const char *path)
{
    CLV__CHECK_ARG(out != NULL && path != NULL, "clv_forecaster_load: out or path is NULL");
    *out = NULL;
    uint8_t *buf;
    size_t len;
    CLV__TRY(clv__container_load_path(path, &buf, &len));
    int rc = load(out, buf, len, path);
    clv__free(buf);
    return rc;
}

CLV_API int clv_forecaster_load_buffer(clv_forecaster **out, const void *data, size_t size)
{
    CLV__CHECK_ARG(out != NULL && data != NULL, "clv_forecaster_load_buffer: out or data is NULL");
    *out = NULL;
    return load(out, data, size, "<memory>");
}
