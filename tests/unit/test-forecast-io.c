/* A forecaster file whose sections disagree must be refused at load, even
 * with a valid checksum (anyone can recompute one): the roll-out sizes its
 * buffers from the forecaster section and would overflow them otherwise. */
#include <stdlib.h>
#include <string.h>

#include "forecast/forecast_impl.h"
#include "io/container.h"
#include "pipeline/pipeline_impl.h"
#include "test-common.h"

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(disagreeing_sections_refused)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 200;
    clv_txlog *log = clv_test_sim_log(&so);
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 1;
    o.hidden_size = 16;
    clv_forecaster *f;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    const int32_t cutoff = clv_test_day("1997-09-30");
    ck_assert_int_eq(clv_forecaster_fit(f, log, cutoff), CLV_OK);
    uint8_t *buf;
    size_t size;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, (void **)&buf, &size), CLV_OK);
    /* The first section is 'FCST': header 24 bytes, section header 16, then
     * cell (i32) and hidden_size (u32) at offset 44. */
    ck_assert_mem_eq(buf + 24, "FCST", 4);
    const size_t fields[] = { 44 /* hidden_size */, 48 /* num_layers */ };
    const uint32_t values[] = { 1, 2 };
    for (int k = 0; k < 2; k++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, buf, size);
        put_le32(copy + fields[k], values[k]);
        put_le64(copy + size - 16, clv__crc64(0, copy, size - 16));
        clv_forecaster *g = (clv_forecaster *)1;
        ck_assert_int_eq(clv_forecaster_load_buffer(&g, copy, size), CLV_EFORMAT);
        ck_assert_ptr_null(g);
        ck_assert(strstr(clv_last_error(), "disagrees") != NULL);
        free(copy);
    }
    /* A version 1 'FCST' section (8 inputs, before the posterior inputs) is
     * refused with a request to refit, not misread. */
    uint8_t *old = malloc(size);
    memcpy(old, buf, size);
    put_le32(old + 28, 1);
    put_le64(old + size - 16, clv__crc64(0, old, size - 16));
    clv_forecaster *h = (clv_forecaster *)1;
    ck_assert_int_eq(clv_forecaster_load_buffer(&h, old, size), CLV_EFORMAT);
    ck_assert_ptr_null(h);
    ck_assert(strstr(clv_last_error(), "refit") != NULL);
    free(old);
    /* The untouched buffer, with the same recomputation, still loads. */
    put_le64(buf + size - 16, clv__crc64(0, buf, size - 16));
    clv_forecaster *g;
    ck_assert_int_eq(clv_forecaster_load_buffer(&g, buf, size), CLV_OK);
    clv_forecaster_free(g);
    clv_free(buf);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

/* A forecaster trained with dropout writes 'FCST' version 3 with its rate
 * and loads it back; without dropout the section stays version 2, as
 * before the field existed. Predictions do not depend on the rate. */
START_TEST(dropout_is_saved_as_version_3)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 200;
    clv_txlog *log = clv_test_sim_log(&so);
    const int32_t cutoff = clv_test_day("1997-09-30");
    const float rates[] = { 0.0f, 0.25f };
    for (int k = 0; k < 2; k++) {
        clv_forecast_options o;
        clv_forecast_options_init(&o);
        o.epochs = 1;
        o.hidden_size = 16;
        o.ensemble = 1;
        o.dropout = rates[k];
        clv_forecaster *f, *g;
        ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
        ck_assert_int_eq(clv_forecaster_fit(f, log, cutoff), CLV_OK);
        uint8_t *buf;
        size_t size;
        ck_assert_int_eq(clv_forecaster_save_buffer(f, (void **)&buf, &size), CLV_OK);
        ck_assert_mem_eq(buf + 24, "FCST", 4);
        ck_assert_uint_eq(buf[28], k ? 3 : 2);
        ck_assert_int_eq(clv_forecaster_load_buffer(&g, buf, size), CLV_OK);
        clv_forecast_options got;
        clv_forecast_options_init(&got);
        ck_assert_int_eq(clv_forecaster_get_options(g, &got), CLV_OK);
        ck_assert(got.dropout == rates[k]);
        uint8_t *again;
        size_t again_size;
        ck_assert_int_eq(clv_forecaster_save_buffer(g, (void **)&again, &again_size), CLV_OK);
        ck_assert_uint_eq(again_size, size);
        ck_assert_mem_eq(again, buf, size);
        clv_free(again);
        clv_free(buf);
        clv_forecaster_free(g);
        clv_forecaster_free(f);
    }
    clv_txlog_free(log);
}
END_TEST

/* The forecaster reads its weekly history from the start of each padded
 * sequence (lib/forecast/inputs.c, take_chunk): a file whose pipeline pads
 * at the front would give every customer the weeks of the padding. Such a
 * file (checksums can be recomputed by anyone) is refused like the other
 * pipelines that are not the forecaster's. */
START_TEST(front_padded_pipeline_refused)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 100;
    clv_txlog *log = clv_test_sim_log(&so);
    const int32_t cutoff = clv_test_day("1997-09-30");
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    o.epochs = 1;
    o.hidden_size = 8;
    o.ensemble = 1;
    o.samples = 4;
    clv_forecaster *f, *g = NULL;
    ck_assert_int_eq(clv_forecaster_new(&f, &o), CLV_OK);
    ck_assert_int_eq(clv_forecaster_fit(f, log, cutoff), CLV_OK);
    f->pipe->o.pad = CLV_PAD_PRE;
    void *buf;
    size_t size;
    ck_assert_int_eq(clv_forecaster_save_buffer(f, &buf, &size), CLV_OK);
    ck_assert_int_eq(clv_forecaster_load_buffer(&g, buf, size), CLV_EFORMAT);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "pipeline section is not the forecaster's"));
    clv_free(buf);
    clv_forecaster_free(f);
    clv_txlog_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("forecast-io");
    TCase *tc = tcase_create("forecast-io");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, disagreeing_sections_refused);
    tcase_add_test(tc, dropout_is_saved_as_version_3);
    tcase_add_test(tc, front_padded_pipeline_refused);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
