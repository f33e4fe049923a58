/* Fuzz target: the model-file loader for a plain model (section 'MODL') and
 * a pipeline (section 'PIPE'), from memory, plus the file-level checks
 * (clv__reader_open: framing, checksum, section table).
 *
 * Every input is tried twice: as is (framing and checksum must refuse the
 * mutations) and "resealed": payload length, end marker and CRC-64 patched
 * to match, so that the fuzzer reaches the section parsers (anyone can
 * recompute a checksum; the parsers must stand on their own). A model that
 * loads must predict on a small batch and round-trip through the writer. */
#include <math.h>
#include <string.h>

#include "clv_internal.h"
#include "fuzz.h"
#include "io/container.h"
#include "io/serialize.h"

static void use_model(clv_model *m)
{
    clv_model_options o;
    clv_model_options_init(&o);
    if (clv_model_get_options(m, &o) != CLV_OK) FUZZ_FAIL("get_options: %s", clv_last_error());
    /* Predict on B=2, T=3 when that is cheap (a file may hold a large valid model). */
    uint64_t np = clv_model_param_count(m);
    if (np > (1u << 20) || o.input_size > 4096 || o.static_size > 4096) return;
    enum { B = 2, T = 3 };
    float *x = calloc((size_t)B * T * o.input_size + 1, sizeof *x);
    float *st = calloc((size_t)B * o.static_size + 1, sizeof *st);
    float *out = calloc((size_t)B * (o.final_outputs + 1), sizeof *out);
    float *sout = calloc((size_t)B * T * (o.step_outputs + 1), sizeof *sout);
    if (!x || !st || !out || !sout) FUZZ_FAIL("calloc");
    for (size_t i = 0; i < (size_t)B * T * o.input_size; i++) x[i] = (float)((i % 7) - 3) * 0.25f;
    for (size_t i = 0; i < (size_t)B * o.static_size; i++) st[i] = (float)(i % 5) * 0.5f;
    const int32_t len[B] = { T, 1 };
    clv_workspace *ws;
    if (clv_workspace_new(&ws) != CLV_OK) FUZZ_FAIL("workspace_new");
    int rc = clv_model_predict(m, ws, B, T, x, len, o.static_size ? st : NULL, o.final_outputs ? out : NULL,
                               o.step_outputs ? sout : NULL);
    if (rc != CLV_OK && rc != CLV_ENOMEM && rc != CLV_ENUMERIC)
        FUZZ_FAIL("predict on a loaded model: status %d: %s", rc, clv_last_error());
    clv_workspace_free(ws);
    free(x);
    free(st);
    free(out);
    free(sout);
}

static void try_load(const uint8_t *data, size_t size)
{
    clv__reader r;
    if (clv__reader_open(&r, data, size, "fuzz.clv") != CLV_OK) return;
    clv_model *m = NULL;
    size_t mark = fuzz_mark();
    int rc = clv__model_read(&r, &m);
    fuzz_check_growth(mark, size, "clv__model_read");
    if (rc != CLV_OK && rc != CLV_EFORMAT && rc != CLV_ENOMEM) FUZZ_FAIL("model_read status %d", rc);
    if ((rc == CLV_OK) != (m != NULL)) FUZZ_FAIL("model_read: status %d but model %p", rc, (void *)m);
    if (m) {
        use_model(m);
        /* What loads saves again (finite weights were checked at load). */
        clv__writer w;
        clv__writer_init(&w);
        int wrc = clv__model_write(&w, m);
        if (wrc == CLV_OK) wrc = clv__writer_finish(&w);
        if (wrc != CLV_OK && wrc != CLV_ENOMEM) FUZZ_FAIL("a loaded model does not save: %s", clv_last_error());
        clv__writer_free(&w);
        clv_model_free(m);
    }
    clv_pipeline *p = NULL;
    mark = fuzz_mark();
    rc = clv__pipeline_read(&r, &p);
    fuzz_check_growth(mark, size, "clv__pipeline_read");
    if (rc != CLV_OK && rc != CLV_EFORMAT && rc != CLV_ENOMEM) FUZZ_FAIL("pipeline_read status %d", rc);
    if (p) {
        clv__writer w;
        clv__writer_init(&w);
        int wrc = clv__pipeline_write(&w, p);
        if (wrc == CLV_OK) wrc = clv__writer_finish(&w);
        if (wrc != CLV_OK && wrc != CLV_ENOMEM) FUZZ_FAIL("a loaded pipeline does not save: %s", clv_last_error());
        clv__writer_free(&w);
        clv_pipeline_free(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        fuzz_init();
        fuzz_install_allocator();
        init = 1;
    }
    try_load(data, size);
    if (size >= CLV__HEADER_SIZE + CLV__TRAILER_SIZE) {
        uint8_t *c = malloc(size);
        if (!c) FUZZ_FAIL("malloc");
        memcpy(c, data, size);
        fuzz_put_le64(c + 16, (uint64_t)(size - CLV__HEADER_SIZE - CLV__TRAILER_SIZE));
        memcpy(c + size - 8, CLV__FILE_END_MAGIC, 8);
        fuzz_put_le64(c + size - 16, clv__crc64(0, c, size - 16));
        try_load(c, size);
        free(c);
    }
    return 0;
}
