/* clv_model ('MODL') and clv_pipeline ('PIPE') sections. Fields are written
 * one by one in a fixed order (never a struct image), and read back with
 * every size checked against the bytes the section holds before anything
 * is allocated. Layouts: docs/model-format.md. */
#include <string.h>

#include "../nn/model_impl.h"
#include "../pipeline/pipeline_impl.h"
#include "serialize.h"

/* ---- model ------------------------------------------------------------- */

/* Tensors and floats implied by validated options (the same table as
 * nn/model.c builds: per layer w_ih, w_hh, b (LSTM) or b_ih, b_hh (GRU);
 * then each head's w and b). Fits in 64 bits under the CLV_MAX_* caps. */
static void model_shape(const clv_model_options *o, uint32_t *ntensors, uint64_t *nparams)
{
    const uint64_t g = o->cell == CLV_CELL_LSTM ? 4 : 3, gh = g * o->hidden_size;
    const uint64_t hs = (uint64_t)o->hidden_size + o->static_size;
    uint64_t n = 0;
    uint32_t t = 0;
    for (uint32_t l = 0; l < o->num_layers; l++) {
        uint64_t in = l == 0 ? o->input_size : o->hidden_size;
        n += gh * in + gh * o->hidden_size + gh;
        t += 3;
        if (o->cell == CLV_CELL_GRU) {
            n += gh;
            t++;
        }
    }
    if (o->final_outputs) {
        n += (uint64_t)o->final_outputs * hs + o->final_outputs;
        t += 2;
    }
    if (o->step_outputs) {
        n += (uint64_t)o->step_outputs * hs + o->step_outputs;
        t += 2;
    }
    *ntensors = t;
    *nparams = n;
}

int clv__model_write_tagged(clv__writer *w, uint32_t tag, const clv_model *m)
{
    CLV__CHECK_ARG(w != NULL && m != NULL, "clv__model_write: writer or model is NULL");
    if (w->status != CLV_OK) return w->status;
    /* Name the offending tensor, not just a flat index. */
    for (uint32_t i = 0; i < m->ntable; i++) {
        const clv__param_entry *e = &m->table[i];
        size_t n = (size_t)e->rows * e->cols, bad;
        if (!clv__all_finite(m->params + e->offset, n, &bad)) {
            float v = m->params[e->offset + bad];
            return clv__writer_fail(w, CLV_EINVAL,
                                    "cannot save model: weight %s[%zu][%zu] is %s; a model containing "
                                    "non-finite weights is never written", e->name, bad / e->cols,
                                    bad % e->cols, v != v ? "NaN" : "infinite");
        }
    }
    const clv_model_options *o = &m->o;
    clv__writer_begin_section(w, tag, CLV__MODL_VERSION);
    clv__put_i32(w, o->cell);
    clv__put_u32(w, o->input_size);
    clv__put_u32(w, o->hidden_size);
    clv__put_u32(w, o->num_layers);
    clv__put_u32(w, o->static_size);
    clv__put_u32(w, o->final_outputs);
    clv__put_u32(w, o->step_outputs);
    clv__put_u64(w, o->seed);
    clv__put_f32(w, o->forget_bias);
    clv__put_u32(w, m->ntable);
    for (uint32_t i = 0; i < m->ntable; i++) {
        clv__put_string(w, m->table[i].name);
        clv__put_u32(w, m->table[i].rows);
        clv__put_u32(w, m->table[i].cols);
    }
    clv__put_u64(w, m->nparams);
    clv__put_f32_array(w, m->params, m->nparams, "parameters");
    return clv__writer_end_section(w);
}

int clv__model_write(clv__writer *w, const clv_model *m) { return clv__model_write_tagged(w, CLV__TAG_MODL, m); }

static int check_u32(clv__reader *r, const char *field, uint32_t v, uint32_t lo, uint32_t hi)
{
    if (v < lo || v > hi) return clv__reader_fail(r, "%s = %u, expected %u..%u", field, v, lo, hi);
    return CLV_OK;
}

static int read_model_options(clv__reader *r, clv_model_options *o)
{
    clv_model_options_init(o);
    CLV__TRY(clv__get_i32(r, &o->cell));
    CLV__TRY(clv__get_u32(r, &o->input_size));
    CLV__TRY(clv__get_u32(r, &o->hidden_size));
    CLV__TRY(clv__get_u32(r, &o->num_layers));
    CLV__TRY(clv__get_u32(r, &o->static_size));
    CLV__TRY(clv__get_u32(r, &o->final_outputs));
    CLV__TRY(clv__get_u32(r, &o->step_outputs));
    CLV__TRY(clv__get_u64(r, &o->seed));
    CLV__TRY(clv__get_f32(r, &o->forget_bias));
    if (o->cell != CLV_CELL_LSTM && o->cell != CLV_CELL_GRU)
        return clv__reader_fail(r, "cell = %d, expected 1 (LSTM) or 2 (GRU)", (int)o->cell);
    CLV__TRY(check_u32(r, "input_size", o->input_size, 1, CLV_MAX_INPUT_SIZE));
    CLV__TRY(check_u32(r, "hidden_size", o->hidden_size, 1, CLV_MAX_HIDDEN_SIZE));
    CLV__TRY(check_u32(r, "num_layers", o->num_layers, 1, CLV_MAX_LAYERS));
    CLV__TRY(check_u32(r, "static_size", o->static_size, 0, CLV_MAX_INPUT_SIZE));
    CLV__TRY(check_u32(r, "final_outputs", o->final_outputs, 0, CLV_MAX_OUTPUTS));
    CLV__TRY(check_u32(r, "step_outputs", o->step_outputs, 0, CLV_MAX_OUTPUTS));
    if (o->final_outputs == 0 && o->step_outputs == 0)
        return clv__reader_fail(r, "final_outputs and step_outputs are both 0");
    return CLV_OK;
}

int clv__model_read_tagged(const clv__reader *file, uint32_t tag, clv_model **out)
{
    CLV__CHECK_ARG(file != NULL && out != NULL, "clv__model_read: reader or out is NULL");
    *out = NULL;
    clv__reader r;
    CLV__TRY(clv__reader_section(file, tag, CLV__MODL_VERSION, &r, NULL));
    clv_model_options o;
    CLV__TRY(read_model_options(&r, &o));
    uint32_t want_nt;
    uint64_t want_np;
    model_shape(&o, &want_nt, &want_np);

    /* Pass 1 over the tensor table: shapes must add up to what the options
     * imply, and the section must hold that many floats, before the model
     * (which allocates for them) is built. */
    uint32_t nt;
    CLV__TRY(clv__get_u32(&r, &nt));
    if (nt != want_nt)
        return clv__reader_fail(&r, "the tensor table has %u entries; the options imply %u", nt, want_nt);
    const uint64_t table_at = r.pos;
    uint64_t sum = 0;
    char name[32];
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t rows, cols;
        CLV__TRY(clv__get_string(&r, name, sizeof name, "a tensor name"));
        CLV__TRY(clv__get_u32(&r, &rows));
        CLV__TRY(clv__get_u32(&r, &cols));
        uint64_t n = (uint64_t)rows * cols;   /* < 2^64: both factors < 2^32 */
        if (n > want_np - sum)
            return clv__reader_fail(&r, "tensor %u '%s' is %ux%u, more parameters than the options imply (%llu)",
                                    i, name, rows, cols, (unsigned long long)want_np);
        sum += n;
    }
    if (sum != want_np)
        return clv__reader_fail(&r, "the tensor table holds %llu parameters; the options imply %llu",
                                (unsigned long long)sum, (unsigned long long)want_np);
    uint64_t np;
    CLV__TRY(clv__get_u64(&r, &np));
    if (np != want_np)
        return clv__reader_fail(&r, "parameter count %llu; the options imply %llu", (unsigned long long)np,
                                (unsigned long long)want_np);
    CLV__TRY(clv__reader_need(&r, np, sizeof(float), "the parameters"));
    const uint64_t params_at = r.pos;

    clv_model *m;
    int rc = clv_model_new(&m, &o);
    if (rc == CLV_EINVAL) return clv__reader_fail(&r, "invalid model options (%s)", clv_last_error());
    if (rc != CLV_OK) return rc;

    /* Pass 2: the table must be exactly the one this libclv builds. */
    r.pos = table_at;
    for (uint32_t i = 0; i < nt && rc == CLV_OK; i++) {
        uint32_t rows = 0, cols = 0;
        if ((rc = clv__get_string(&r, name, sizeof name, "a tensor name")) != CLV_OK) break;
        if ((rc = clv__get_u32(&r, &rows)) != CLV_OK || (rc = clv__get_u32(&r, &cols)) != CLV_OK) break;
        const clv__param_entry *e = &m->table[i];
        if (strcmp(name, e->name) != 0 || rows != e->rows || cols != e->cols)
            rc = clv__reader_fail(&r, "tensor %u is '%s' %ux%u; this model's layout has '%s' %ux%u", i, name,
                                  rows, cols, e->name, e->rows, e->cols);
    }
    if (rc == CLV_OK) {
        r.pos = params_at;
        rc = clv__get_f32_array(&r, m->params, np, "parameters");
    }
    if (rc == CLV_OK) rc = clv__reader_end(&r);
    if (rc != CLV_OK) {
        clv_model_free(m);
        return rc;
    }
    *out = m;
    return CLV_OK;
}

int clv__model_read(const clv__reader *file, clv_model **out)
{
    return clv__model_read_tagged(file, CLV__TAG_MODL, out);
}

/* ---- pipeline ------------------------------------------------------------ */

int clv__pipeline_write_tagged(clv__writer *w, uint32_t tag, const clv_pipeline *p)
{
    CLV__CHECK_ARG(w != NULL && p != NULL, "clv__pipeline_write: writer or pipeline is NULL");
    if (w->status != CLV_OK) return w->status;
    const clv_pipeline_options *o = &p->o;
    clv__writer_begin_section(w, tag, CLV__PIPE_VERSION);
    clv__put_i32(w, o->period);
    clv__put_u32(w, o->max_steps);
    clv__put_i32(w, o->pad);
    clv__put_i32(w, o->norm);
    clv__put_i32(w, o->seq_log1p);
    clv__put_u32(w, o->max_categories);
    clv__put_u32(w, o->new_days);
    clv__put_u32(w, o->active_days);
    clv__put_u32(w, o->churn_days);
    clv__put_i32(w, p->fitted ? 1 : 0);
    if (p->fitted) {
        clv__put_i32(w, p->fit_cutoff);
        clv__put_i32(w, p->has_events ? 1 : 0);
        clv__put_u32(w, p->n_numeric);
        clv__put_u32(w, p->n_channels);
        clv__put_u32(w, p->n_static);
        clv__put_f64_array(w, p->shift, p->n_numeric, "pipeline scaler shift");
        clv__put_f64_array(w, p->scale, p->n_numeric, "pipeline scaler scale");
        clv__put_u32(w, p->ncats);
        for (uint32_t c = 0; c < p->ncats; c++) {
            const clv__fitted_category *fc = &p->cats[c];
            clv__put_string(w, fc->name);
            clv__put_i32(w, fc->index);
            clv__put_u32(w, fc->nkept);
            clv__put_u64(w, fc->kept_len);
            clv__put_bytes(w, fc->kept, fc->kept_len);
        }
    }
    return clv__writer_end_section(w);
}

int clv__pipeline_write(clv__writer *w, const clv_pipeline *p)
{
    return clv__pipeline_write_tagged(w, CLV__TAG_PIPE, p);
}

static int read_bool(clv__reader *r, const char *field, int32_t *v)
{
    CLV__TRY(clv__get_i32(r, v));
    if (*v != 0 && *v != 1) return clv__reader_fail(r, "%s = %d, expected 0 or 1", field, (int)*v);
    return CLV_OK;
}

/* One category encoder: name, column index, kept values (nkept strings, each
 * NUL-terminated, back to back). */
static int read_category(clv__reader *r, clv_pipeline *p, uint32_t c, uint64_t *slots)
{
    clv__fitted_category *fc = &p->cats[c];
    uint32_t nkept;
    uint64_t len;
    CLV__TRY(clv__get_string(r, fc->name, sizeof fc->name, "a category column name"));
    CLV__TRY(clv__get_i32(r, &fc->index));
    CLV__TRY(clv__get_u32(r, &nkept));
    CLV__TRY(clv__get_u64(r, &len));
    if (fc->index < 0) return clv__reader_fail(r, "category %u: column index %d < 0", c, (int)fc->index);
    if (nkept > p->o.max_categories)
        return clv__reader_fail(r, "category %u keeps %u values, max_categories is %u", c, nkept,
                                p->o.max_categories);
    if ((len == 0) != (nkept == 0))
        return clv__reader_fail(r, "category %u: %u kept values in %llu bytes", c, nkept, (unsigned long long)len);
    CLV__TRY(clv__reader_need(r, len, 1, "category values"));
    const uint8_t *v = r->data + r->pos;
    uint64_t nul = 0;
    for (uint64_t i = 0; i < len; i++) nul += v[i] == 0;
    if (nul != nkept || (len && v[len - 1] != 0))
        return clv__reader_fail(r, "category %u: the value list is not %u NUL-terminated strings", c, nkept);
    if (len) {
        fc->kept = clv__malloc((size_t)len);
        if (!fc->kept) return clv__oom();
        CLV__TRY(clv__get_bytes(r, fc->kept, len));
    }
    fc->nkept = nkept;
    fc->kept_len = len;
    *slots += (uint64_t)nkept + 1;
    return CLV_OK;
}

static int read_pipeline_body(clv__reader *r, clv_pipeline **out)
{
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    CLV__TRY(clv__get_i32(r, &o.period));
    CLV__TRY(clv__get_u32(r, &o.max_steps));
    CLV__TRY(clv__get_i32(r, &o.pad));
    CLV__TRY(clv__get_i32(r, &o.norm));
    CLV__TRY(clv__get_i32(r, &o.seq_log1p));
    CLV__TRY(clv__get_u32(r, &o.max_categories));
    CLV__TRY(clv__get_u32(r, &o.new_days));
    CLV__TRY(clv__get_u32(r, &o.active_days));
    CLV__TRY(clv__get_u32(r, &o.churn_days));
    int32_t fitted;
    CLV__TRY(read_bool(r, "fitted", &fitted));

    clv_pipeline *p;
    int rc = clv_pipeline_new(&p, &o);
    if (rc == CLV_EINVAL) return clv__reader_fail(r, "invalid pipeline options (%s)", clv_last_error());
    if (rc != CLV_OK) return rc;
    *out = p;   /* freed by the caller on failure */
    if (!fitted) return CLV_OK;

    int32_t has_events;
    CLV__TRY(clv__get_i32(r, &p->fit_cutoff));
    CLV__TRY(read_bool(r, "has_events", &has_events));
    CLV__TRY(clv__get_u32(r, &p->n_numeric));
    CLV__TRY(clv__get_u32(r, &p->n_channels));
    CLV__TRY(clv__get_u32(r, &p->n_static));
    p->has_events = has_events;
    /* Format 1.0 pipelines have this libclv's feature set (docs/model-format.md). */
    const uint32_t want_numeric = has_events ? CLV__F_NUMERIC_MAX : CLV__F_NUMERIC_BASE;
    const uint32_t want_channels = has_events ? CLV__S_MAX : CLV__S_BASE;
    if (p->n_numeric != want_numeric || p->n_channels != want_channels)
        return clv__reader_fail(r, "%u numeric features and %u sequence channels; with has_events = %d this "
                                "format has %u and %u", p->n_numeric, p->n_channels, (int)has_events,
                                want_numeric, want_channels);
    CLV__TRY(clv__get_f64_array(r, p->shift, p->n_numeric, "scaler shift"));
    CLV__TRY(clv__get_f64_array(r, p->scale, p->n_numeric, "scaler scale"));
    /* What a fit writes: the identity without normalisation, else a scale
     * >= 0 (0 for a constant feature). Anything else is not a fitted
     * scaler and could push features past the float range. */
    for (uint32_t k = 0; k < p->n_numeric; k++) {
        if (p->o.norm == CLV_NORM_NONE && (p->shift[k] != 0.0 || p->scale[k] != 1.0))
            return clv__reader_fail(r, "scaler %u is shift %g, scale %g; without normalisation it must be 0, 1", k,
                                    p->shift[k], p->scale[k]);
        if (!(p->scale[k] >= 0.0)) return clv__reader_fail(r, "scaler %u has a negative scale %g", k, p->scale[k]);
    }
    uint32_t ncats;
    CLV__TRY(clv__get_u32(r, &ncats));
    if (ncats > CLV__MAX_CATEGORY_COLUMNS)
        return clv__reader_fail(r, "%u category columns, at most %u", ncats, CLV__MAX_CATEGORY_COLUMNS);
    uint64_t slots = p->n_numeric;
    for (uint32_t c = 0; c < ncats; c++) {
        p->ncats = c + 1;   /* so that clv_pipeline_free() releases what was read */
        CLV__TRY(read_category(r, p, c, &slots));
    }
    if (slots != p->n_static)
        return clv__reader_fail(r, "n_static = %u, the features above make %llu", p->n_static,
                                (unsigned long long)slots);
    CLV__TRY(clv__reader_end(r));
    return clv__pipeline_finish_load(p);
}

int clv__pipeline_read_tagged(const clv__reader *file, uint32_t tag, clv_pipeline **out)
{
    CLV__CHECK_ARG(file != NULL && out != NULL, "clv__pipeline_read: reader or out is NULL");
    *out = NULL;
    clv__reader r;
    CLV__TRY(clv__reader_section(file, tag, CLV__PIPE_VERSION, &r, NULL));
    clv_pipeline *p = NULL;
    int rc = read_pipeline_body(&r, &p);
    if (rc == CLV_OK && p && !p->fitted) rc = clv__reader_end(&r);
    if (rc != CLV_OK) {
        clv_pipeline_free(p);
        return rc;
    }
    *out = p;
    return CLV_OK;
}

int clv__pipeline_read(const clv__reader *file, clv_pipeline **out)
{
    return clv__pipeline_read_tagged(file, CLV__TAG_PIPE, out);
}
