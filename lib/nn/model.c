/* clv_model lifecycle, configuration and the flat parameter table. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/ops.h"
#include "../core/rng.h"
#include "model_impl.h"

CLV_API uint32_t clv_max_input_size(void) { return CLV_MAX_INPUT_SIZE; }
CLV_API uint32_t clv_max_hidden_size(void) { return CLV_MAX_HIDDEN_SIZE; }
CLV_API uint32_t clv_max_layers(void) { return CLV_MAX_LAYERS; }
CLV_API uint32_t clv_max_outputs(void) { return CLV_MAX_OUTPUTS; }

CLV_API void clv_model_options_init(clv_model_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->cell = CLV_CELL_LSTM;
    o->input_size = 0;
    o->hidden_size = 64;
    o->num_layers = 1;
    o->static_size = 0;
    o->final_outputs = 1;
    o->step_outputs = 0;
    o->seed = 42;
    o->forget_bias = 1.0f;
    o->dropout = 0.0;
}

/* Copy the caller's options field by field up to its struct_size, so an
 * application built against older (smaller) headers keeps working. */
static int read_options(clv_model_options *dst, const clv_model_options *src)
{
    clv_model_options_init(dst);
    CLV__CHECK_ARG(src != NULL, "clv_model_new: options are required (input_size has no default)");
    CLV__CHECK_ARG(CLV__HAS_FIELD(clv_model_options, src, input_size),
                   "clv_model_new: options struct_size %u is too small; call clv_model_options_init()",
                   src->struct_size);
    size_t n = src->struct_size < sizeof *dst ? src->struct_size : sizeof *dst;
    memcpy(dst, src, n);
    dst->struct_size = sizeof *dst;
    return CLV_OK;
}

static int validate_options(const clv_model_options *o)
{
    CLV__CHECK_ARG(o->cell == CLV_CELL_LSTM || o->cell == CLV_CELL_GRU,
                   "clv_model_new: cell = %d, expected CLV_CELL_LSTM (1) or CLV_CELL_GRU (2)", (int)o->cell);
    CLV__CHECK_ARG(o->input_size >= 1 && o->input_size <= CLV_MAX_INPUT_SIZE,
                   "clv_model_new: input_size = %u, expected 1..%u", o->input_size, CLV_MAX_INPUT_SIZE);
    CLV__CHECK_ARG(o->hidden_size >= 1 && o->hidden_size <= CLV_MAX_HIDDEN_SIZE,
                   "clv_model_new: hidden_size = %u, expected 1..%u", o->hidden_size, CLV_MAX_HIDDEN_SIZE);
    CLV__CHECK_ARG(o->num_layers >= 1 && o->num_layers <= CLV_MAX_LAYERS,
                   "clv_model_new: num_layers = %u, expected 1..%u", o->num_layers, CLV_MAX_LAYERS);
    CLV__CHECK_ARG(o->static_size <= CLV_MAX_INPUT_SIZE,
                   "clv_model_new: static_size = %u, expected 0..%u", o->static_size, CLV_MAX_INPUT_SIZE);
    CLV__CHECK_ARG(o->final_outputs <= CLV_MAX_OUTPUTS && o->step_outputs <= CLV_MAX_OUTPUTS,
                   "clv_model_new: final_outputs = %u, step_outputs = %u, expected 0..%u each",
                   o->final_outputs, o->step_outputs, CLV_MAX_OUTPUTS);
    CLV__CHECK_ARG(o->final_outputs + o->step_outputs >= 1,
                   "clv_model_new: final_outputs and step_outputs are both 0; the model needs a head");
    CLV__CHECK_ARG(isfinite(o->forget_bias), "clv_model_new: forget_bias is not finite");
    /* Written so that NaN fails; p = 1 would drop everything and scale by 1/0. */
    CLV__CHECK_ARG(o->dropout >= 0.0 && o->dropout < 1.0,
                   "clv_model_new: dropout = %g, expected 0 <= dropout < 1", o->dropout);
    return CLV_OK;
}

static void add_entry(clv_model *m, const char *name, uint64_t *off, uint32_t rows, uint32_t cols)
{
    clv__param_entry *e = &m->table[m->ntable++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->offset = *off;
    e->rows = rows;
    e->cols = cols;
    *off += (uint64_t)rows * cols;
}

/* Build the table (names, offsets, shapes); with the buffers set, also wire
 * the weight and gradient views into it. */
static void build_table(clv_model *m)
{
    const clv_model_options *o = &m->o;
    const uint32_t gh = m->gates * o->hidden_size, hs = o->hidden_size + o->static_size;
    const char *cell = o->cell == CLV_CELL_LSTM ? "lstm" : "gru";
    char name[32];
    uint64_t off = 0;
    m->ntable = 0;
    for (uint32_t l = 0; l < o->num_layers; l++) {
        uint32_t in = l == 0 ? o->input_size : o->hidden_size;
        snprintf(name, sizeof name, "%s.%u.w_ih", cell, l);
        add_entry(m, name, &off, gh, in);
        snprintf(name, sizeof name, "%s.%u.w_hh", cell, l);
        add_entry(m, name, &off, gh, o->hidden_size);
        snprintf(name, sizeof name, o->cell == CLV_CELL_LSTM ? "%s.%u.b" : "%s.%u.b_ih", cell, l);
        add_entry(m, name, &off, 1, gh);
        if (o->cell == CLV_CELL_GRU) {
            snprintf(name, sizeof name, "%s.%u.b_hh", cell, l);
            add_entry(m, name, &off, 1, gh);
        }
    }
    if (o->final_outputs) {
        add_entry(m, "head.final.w", &off, o->final_outputs, hs);
        add_entry(m, "head.final.b", &off, 1, o->final_outputs);
    }
    if (o->step_outputs) {
        add_entry(m, "head.step.w", &off, o->step_outputs, hs);
        add_entry(m, "head.step.b", &off, 1, o->step_outputs);
    }
    m->nparams = off;
}

static void wire_views(clv_model *m, float *base, clv__rnn_weights *w, clv__head_weights *fh,
                       clv__head_weights *sh)
{
    const clv_model_options *o = &m->o;
    uint32_t k = 0;
    for (uint32_t l = 0; l < o->num_layers; l++) {
        w[l].w_ih = base + m->table[k++].offset;
        w[l].w_hh = base + m->table[k++].offset;
        w[l].b_ih = base + m->table[k++].offset;
        w[l].b_hh = o->cell == CLV_CELL_GRU ? base + m->table[k++].offset : NULL;
    }
    if (o->final_outputs) {
        fh->w = base + m->table[k++].offset;
        fh->b = base + m->table[k++].offset;
    }
    if (o->step_outputs) {
        sh->w = base + m->table[k++].offset;
        sh->b = base + m->table[k++].offset;
    }
}

static void init_params(clv_model *m)
{
    const clv_model_options *o = &m->o;
    clv__rng rng;
    clv__rng_seed(&rng, o->seed);
    const float k = 1.0f / sqrtf((float)o->hidden_size);
    for (uint32_t i = 0; i < m->ntable; i++) {
        const clv__param_entry *e = &m->table[i];
        float *p = m->params + e->offset;
        size_t n = (size_t)e->rows * e->cols;
        if (strncmp(e->name, "head.", 5) == 0) {
            int is_bias = e->rows == 1 && e->name[strlen(e->name) - 1] == 'b';
            float kh = 1.0f / sqrtf((float)(o->hidden_size + o->static_size));
            for (size_t j = 0; j < n; j++) p[j] = is_bias ? 0.0f : clv__rng_range(&rng, -kh, kh);
        } else {
            for (size_t j = 0; j < n; j++) p[j] = clv__rng_range(&rng, -k, k);
        }
    }
    if (o->cell == CLV_CELL_LSTM) {
        /* A forget-gate bias of 1 keeps early gradients flowing through the
         * cell state (Jozefowicz et al. 2015); gate f is rows H..2H-1. */
        for (uint32_t l = 0; l < o->num_layers; l++)
            for (uint32_t j = 0; j < o->hidden_size; j++)
                m->w[l].b_ih[o->hidden_size + j] = o->forget_bias;
    }
}

CLV_API int clv_model_new(clv_model **out, const clv_model_options *opts)
{
    CLV__CHECK_ARG(out != NULL, "clv_model_new: out is NULL");
    *out = NULL;
    clv_model_options o;
    CLV__TRY(read_options(&o, opts));
    CLV__TRY(validate_options(&o));

    clv_model *m = clv__calloc(1, sizeof *m);
    if (!m) return clv__oom();
    m->o = o;
    m->gates = o.cell == CLV_CELL_LSTM ? 4 : 3;
    m->threads = 1;
    m->table = clv__calloc((size_t)o.num_layers * 4 + 4, sizeof *m->table);
    if (!m->table) {
        clv_model_free(m);
        return clv__oom();
    }
    build_table(m);
    m->params = clv__calloc(m->nparams, sizeof(float));
    m->grads = clv__calloc(m->nparams, sizeof(float));
    if (!m->params || !m->grads) {
        clv_model_free(m);
        return clv__oom();
    }
    wire_views(m, m->params, m->w, &m->final_w, &m->step_w);
    wire_views(m, m->grads, m->g, &m->final_g, &m->step_g);
    clv__arena_init(&m->train_arena);
    init_params(m);
    *out = m;
    return CLV_OK;
}

CLV_API int clv_model_set_num_threads(clv_model *m, int32_t n)
{
    CLV__CHECK_ARG(m != NULL, "clv_model_set_num_threads: model is NULL");
    CLV__CHECK_ARG(n >= 1 && n <= CLV__MAX_WORKERS, "clv_model_set_num_threads: n = %d, expected 1..%d",
                   (int)n, CLV__MAX_WORKERS);
    m->threads = n;
    return CLV_OK;
}

CLV_API int32_t clv_model_num_threads(const clv_model *m) { return m ? m->threads : 0; }

void clv__model_set_dropout_pass(clv_model *m, uint64_t pass) { m->dropout_pass = pass; }
uint64_t clv__model_dropout_pass(const clv_model *m) { return m->dropout_pass; }

CLV_API void clv_model_free(clv_model *m)
{
    if (!m) return;
    clv__arena_free(&m->train_arena);
    clv__free(m->params);
    clv__free(m->grads);
    clv__free(m->table);
    clv__free(m);
}

CLV_API int clv_model_get_options(const clv_model *m, clv_model_options *out)
{
    CLV__CHECK_ARG(m != NULL && out != NULL, "clv_model_get_options: model or out is NULL");
    CLV__CHECK_ARG(out->struct_size >= sizeof(uint32_t),
                   "clv_model_get_options: out->struct_size is 0; call clv_model_options_init()");
    uint32_t keep = out->struct_size;
    size_t n = keep < sizeof m->o ? keep : sizeof m->o;
    memcpy(out, &m->o, n);
    out->struct_size = keep;
    return CLV_OK;
}

CLV_API uint64_t clv_model_param_count(const clv_model *m) { return m ? m->nparams : 0; }
CLV_API uint32_t clv_model_param_tensor_count(const clv_model *m) { return m ? m->ntable : 0; }
CLV_API float *clv_model_params(clv_model *m) { return m ? m->params : NULL; }
CLV_API float *clv_model_grads(clv_model *m) { return m ? m->grads : NULL; }

CLV_API int clv_model_param_tensor_info(const clv_model *m, uint32_t index, const char **name,
                                        uint64_t *offset, uint32_t *rows, uint32_t *cols)
{
    CLV__CHECK_ARG(m != NULL, "clv_model_param_tensor_info: model is NULL");
    CLV__CHECK_ARG(index < m->ntable, "clv_model_param_tensor_info: index %u, model has %u tensors",
                   index, m->ntable);
    const clv__param_entry *e = &m->table[index];
    if (name) *name = e->name;
    if (offset) *offset = e->offset;
    if (rows) *rows = e->rows;
    if (cols) *cols = e->cols;
    return CLV_OK;
}

static int check_count(const clv_model *m, const void *buf, uint64_t count, const char *fn)
{
    CLV__CHECK_ARG(m != NULL && buf != NULL, "%s: model or buffer is NULL", fn);
    CLV__CHECK_ARG(count == m->nparams, "%s: count = %llu, the model has %llu parameters", fn,
                   (unsigned long long)count, (unsigned long long)m->nparams);
    return CLV_OK;
}

CLV_API int clv_model_get_params(const clv_model *m, float *out, uint64_t count)
{
    CLV__TRY(check_count(m, out, count, "clv_model_get_params"));
    memcpy(out, m->params, count * sizeof(float));
    return CLV_OK;
}

CLV_API int clv_model_set_params(clv_model *m, const float *in, uint64_t count)
{
    CLV__TRY(check_count(m, in, count, "clv_model_set_params"));
    size_t bad;
    if (!clv__all_finite(in, count, &bad))
        return clv__error(CLV_EINVAL, "clv_model_set_params: in[%zu] is not finite", bad);
    memcpy(m->params, in, count * sizeof(float));
    return CLV_OK;
}

CLV_API int clv_model_get_grads(const clv_model *m, float *out, uint64_t count)
{
    CLV__TRY(check_count(m, out, count, "clv_model_get_grads"));
    memcpy(out, m->grads, count * sizeof(float));
    return CLV_OK;
}

CLV_API int clv_model_zero_grad(clv_model *m)
{
    CLV__CHECK_ARG(m != NULL, "clv_model_zero_grad: model is NULL");
    clv__vec_zero(m->grads, m->nparams);
    return CLV_OK;
}
