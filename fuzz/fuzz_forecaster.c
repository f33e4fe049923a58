/* Fuzz target: the forecaster loader, clv_forecaster_load_buffer() and
 * clv_forecaster_load() (from a file), each on the input as is and on the
 * input "resealed" (payload length, end marker and CRC-64 patched, see
 * fuzz_model.c). A forecaster that loads must predict on a small log and
 * save again. */
#include <string.h>

#include "clv_internal.h"
#include "fuzz.h"
#include "io/container.h"

static clv_txlog *small_log(void)
{
    static clv_txlog *log;
    if (log) return log;
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 12;
    if (clv_txlog_new(&log, NULL) != CLV_OK || clv_simulate_to_txlog(&so, log) != CLV_OK)
        FUZZ_FAIL("simulate: %s", clv_last_error());
    return log;
}

static void use(clv_forecaster *f)
{
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    if (clv_forecaster_get_options(f, &o) != CLV_OK) FUZZ_FAIL("get_options: %s", clv_last_error());
    if (!clv_forecaster_is_fitted(f)) FUZZ_FAIL("a loaded forecaster is not fitted");
    /* Bounded work per input: skip predicting with huge (valid) settings. */
    if (o.samples <= 16 && o.hidden_size <= 64 && o.num_layers <= 2 && o.max_steps <= 160) {
        clv_prediction *p = NULL;
        int rc = clv_forecaster_predict(f, small_log(), clv_forecaster_fit_cutoff(f), 28, &p);
        if (rc != CLV_OK && rc != CLV_EINVAL && rc != CLV_ENOMEM && rc != CLV_ENUMERIC)
            FUZZ_FAIL("predict with a loaded forecaster: status %d: %s", rc, clv_last_error());
        /* An invalid argument must be one the caller passed, not an internal
         * call's (e.g. "clv__model_step: x[82][0][1] is not finite"). */
        if (rc == CLV_EINVAL && strncmp(clv_last_error(), "clv_forecaster_predict", 22) != 0 &&
            strncmp(clv_last_error(), "clv_pipeline_transform", 22) != 0)
            FUZZ_FAIL("predict with a loaded forecaster: an internal call's CLV_EINVAL: %s", clv_last_error());
        if (rc == CLV_OK) {
            uint64_t n = clv_prediction_customers(p);
            for (uint64_t i = 0; i < n; i++)
                if (!(clv_prediction_spend(p)[i] >= 0) && !(clv_prediction_spend(p)[i] < 0))
                    FUZZ_FAIL("prediction %llu is NaN", (unsigned long long)i);
        }
        clv_prediction_free(p);
    }
    void *buf = NULL;
    size_t size = 0;
    int rc = clv_forecaster_save_buffer(f, &buf, &size);
    if (rc != CLV_OK && rc != CLV_ENOMEM) FUZZ_FAIL("a loaded forecaster does not save: %s", clv_last_error());
    clv_free(buf);
}

static void try_load(const uint8_t *data, size_t size, int from_file)
{
    clv_forecaster *f = (clv_forecaster *)&f;   /* must be reset to NULL on failure */
    int rc;
    char path[64] = "";
    if (from_file) {
        snprintf(path, sizeof path, "%s/clv-fuzz-fcst-%d.clv", fuzz_tmpdir(), (int)getpid());
        FILE *fp = fopen(path, "wb");
        if (!fp) FUZZ_FAIL("cannot create %s", path);
        if (size && fwrite(data, 1, size, fp) != size) FUZZ_FAIL("cannot write %s", path);
        fclose(fp);
        size_t mark = fuzz_mark();
        rc = clv_forecaster_load(&f, path);
        fuzz_check_growth(mark, size, "clv_forecaster_load");
        unlink(path);
    } else {
        size_t mark = fuzz_mark();
        rc = clv_forecaster_load_buffer(&f, size ? data : (const uint8_t *)"", size);
        fuzz_check_growth(mark, size, "clv_forecaster_load_buffer");
    }
    if (rc != CLV_OK && rc != CLV_EFORMAT && rc != CLV_ENOMEM) FUZZ_FAIL("load status %d: %s", rc, clv_last_error());
    if (rc != CLV_OK) {
        if (f != NULL) FUZZ_FAIL("failed load left *out = %p", (void *)f);
        if (from_file && !strstr(clv_last_error(), path)) FUZZ_FAIL("message does not name the file: %s", clv_last_error());
        return;
    }
    use(f);
    clv_forecaster_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        fuzz_init();
        fuzz_install_allocator();
        small_log();
        init = 1;
    }
    /* The last byte's low bit picks the path variant: both share the parser. */
    int from_file = size > 0 && (data[size - 1] & 1) && (data[0] & 1);
    try_load(data, size, from_file);
    if (size >= CLV__HEADER_SIZE + CLV__TRAILER_SIZE) {
        uint8_t *c = malloc(size);
        if (!c) FUZZ_FAIL("malloc");
        memcpy(c, data, size);
        fuzz_put_le64(c + 16, (uint64_t)(size - CLV__HEADER_SIZE - CLV__TRAILER_SIZE));
        memcpy(c + size - 8, CLV__FILE_END_MAGIC, 8);
        fuzz_put_le64(c + size - 16, clv__crc64(0, c, size - 16));
        try_load(c, size, 0);
        free(c);
    }
    return 0;
}
