/* The forecaster's weekly inputs from compact raw weeks (inputs.h). */
#include <math.h>
#include <string.h>

#include "../pipeline/parse.h"
#include "../pipeline/pipeline_impl.h"
#include "inputs.h"

/* Customers whose padded sequences are held at once while building: 16,384
 * x 104 weeks x 7 channels is 48 MB, whatever the log's size. */
#define BUILD_CHUNK 16384u

void clv__season(int32_t day, float *s, float *c)
{
    int32_t y;
    uint32_t m, d;
    clv__civil_from_days(day, &y, &m, &d);
    double doy = (double)(day - clv__days_from_civil(y, 1, 1)) + 0.5;
    double a = 6.283185307179586 * doy / 365.2425;
    *s = (float)sin(a);
    *c = (float)cos(a);
}

float clv__lg(double v) { return (float)log1p(v > 0 ? v : 0); }

void clv__normalise_row(const clv_forecaster *f, float *x)
{
    for (int k = 0; k < CLV__IN_COUNT; k++) x[k] = (x[k] - f->in_mean[k]) * f->in_scale[k];
}

void clv__seqdata_free(clv__seqdata *sd)
{
    clv__free(sd->off);
    clv__free(sd->wk);
    clv__free(sd->freq);
    clv__free(sd->cal_spend);
    clv__free(sd->age_days);
    clv__free(sd->first_amount);
    clv__free(sd->idh);
    memset(sd, 0, sizeof *sd);
}

/* Copy the raw weeks and per-customer values of a chunk's dataset into rows
 * first .. first + ds->n. */
static void take_chunk(clv__seqdata *sd, const clv_dataset *ds, uint64_t first)
{
    const uint32_t Tin = ds->steps, F = ds->nseq, S = ds->nstatic;
    for (uint64_t k = 0; k < ds->n; k++) {
        const uint64_t i = first + k;
        const float *seq = ds->seq + k * Tin * F;
        float *w = sd->wk + sd->off[i] * 2;
        for (uint32_t t = 0; t < clv__seq_len(sd, i); t++) {
            w[2 * t] = seq[t * F + CLV__S_TX];
            w[2 * t + 1] = seq[t * F + CLV__S_SPEND];
        }
        sd->freq[i] = ds->frequency[k];
        sd->cal_spend[i] = ds->cal_spend[k];
        sd->age_days[i] = ds->age[k];
        sd->first_amount[i] = ds->stat[k * S + CLV__F_FIRST_AMOUNT];
        const char *id = ds->ids + ds->id_off[k];
        sd->idh[i] = clv__hash_bytes(id, strlen(id), 0x1d5);
    }
}

int clv__seqdata_build(const clv_forecaster *f, const clv_txlog *log, int32_t cutoff, const uint32_t *members,
                       const int32_t *lengths, uint64_t n, int with_targets, clv__seqdata *sd)
{
    memset(sd, 0, sizeof *sd);
    const size_t m = n ? (size_t)n : 1;
    sd->n = n;
    sd->T = 1;
    sd->cutoff = cutoff;
    sd->with_targets = with_targets;
    sd->off = clv__calloc(m + 1, sizeof *sd->off);
    if (!sd->off) return clv__oom();
    for (uint64_t i = 0; i < n; i++) {
        const uint32_t L = (uint32_t)lengths[i];
        sd->off[i + 1] = sd->off[i] + L;
        if (L > sd->T) sd->T = L;
    }
    sd->rows = sd->off[n];
    sd->wk = clv__calloc(sd->rows ? sd->rows : 1, 2 * sizeof(float));
    sd->freq = clv__calloc(m, sizeof(float));
    sd->cal_spend = clv__calloc(m, sizeof(float));
    sd->age_days = clv__calloc(m, sizeof(float));
    sd->first_amount = clv__calloc(m, sizeof(float));
    sd->idh = clv__calloc(m, sizeof(uint64_t));
    if (!sd->wk || !sd->freq || !sd->cal_spend || !sd->age_days || !sd->first_amount || !sd->idh) {
        clv__seqdata_free(sd);
        return clv__oom();
    }
    int rc = CLV_OK;
    const uint64_t chunk = f->input_chunk ? f->input_chunk : BUILD_CHUNK;
    for (uint64_t first = 0; first < n && rc == CLV_OK; first += chunk) {
        const uint64_t c = n - first < chunk ? n - first : chunk;
        clv_dataset *ds = NULL;
        rc = clv__pipeline_transform_subset(f->pipe, log, cutoff, cutoff, members + first, c, 1, &ds);
        for (uint64_t k = 0; rc == CLV_OK && k < c; k++)
            if (ds->lengths[k] != lengths[first + k])   /* the two transforms disagree: a bug, not bad data */
                rc = clv__error(CLV_ESTATE, "clv_forecaster: customer row %llu has %d weeks, expected %d",
                                (unsigned long long)(first + k), ds->lengths[k], lengths[first + k]);
        if (rc == CLV_OK) take_chunk(sd, ds, first);
        clv_dataset_free(ds);
    }
    if (rc != CLV_OK) clv__seqdata_free(sd);
    return rc;
}

void clv__seqdata_rows(const clv_forecaster *f, const clv__seqdata *sd, uint64_t i, int normalised, float *x,
                       int8_t *cls, float *val, clv__carry *carry)
{
    const float *w = sd->wk + sd->off[i] * 2;
    const int32_t L = (int32_t)clv__seq_len(sd, i);
    const double total_tx = sd->freq[i] + 1.0;
    const double age_weeks = floor(sd->age_days[i] / 7.0);
    const float first = clv__lg(sd->first_amount[i]);
    /* Transactions after each week, to give lifetime running totals even
     * when the window truncates the history. */
    double after = 0, spend_after = 0;
    for (int32_t t = 0; t < L; t++) {
        after += w[2 * t];
        spend_after += w[2 * t + 1];
    }
    double since = 0;
    for (int32_t t = 0; t < L; t++) {
        const double tx = w[2 * t], spend = w[2 * t + 1];
        after -= tx;
        spend_after -= spend;
        const double cum = total_tx - after, cum_spend = sd->cal_spend[i] - spend_after;
        since = tx > 0 ? 0 : since + 1;
        float *xr = x + (size_t)t * CLV__IN_COUNT;
        xr[CLV__IN_TX] = (float)tx;
        xr[CLV__IN_SPEND] = clv__lg(spend);
        xr[CLV__IN_CUM_TX] = clv__lg(cum);
        xr[CLV__IN_SINCE_LAST] = clv__lg(since);
        xr[CLV__IN_AGE] = clv__lg(age_weeks - (L - 1 - t));
        xr[CLV__IN_SEASON_SIN] = xr[CLV__IN_SEASON_COS] = 0.0f;
        if (f->use_season) clv__season(sd->cutoff - 7 * (L - 1 - t), &xr[CLV__IN_SEASON_SIN], &xr[CLV__IN_SEASON_COS]);
        xr[CLV__IN_FIRST] = first;
        xr[CLV__IN_AVG_VALUE] = clv__lg(cum > 0 ? cum_spend / cum : 0);
        clv__prior_inputs(f, cum, cum_spend, sd->first_amount[i], since, age_weeks - (L - 1 - t), xr);
        if (normalised) clv__normalise_row(f, xr);
        if (cls) {
            cls[t] = -1;
            val[t] = NAN;
            if (sd->with_targets && t + 1 < L) {
                const double ntx = w[2 * (t + 1)], nsp = w[2 * (t + 1) + 1];
                cls[t] = (int8_t)(ntx >= CLV__TX_CLASSES - 1 ? CLV__TX_CLASSES - 1 : ntx);
                if (ntx > 0) val[t] = clv__lg(nsp / ntx);
            }
        }
        if (carry && t == L - 1) {
            carry->cum = (float)cum;
            carry->cum_spend = (float)cum_spend;
            carry->since = (float)since;
            carry->age = (float)age_weeks;
            carry->first = first;
        }
    }
}
