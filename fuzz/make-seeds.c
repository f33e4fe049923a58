/* Writes the seed corpora of the fuzz targets into OUTDIR/<target>/, made at
 * run time from what this build produces (models, pipelines, forecasters,
 * simulated logs) and, when given, from slices of a real transaction file:
 *
 *   fuzz-make-seeds OUTDIR [REAL_LOG.txt]
 *
 * Nothing generated here is committed; fuzz/seeds/ holds only tiny
 * hand-written inputs. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clv_internal.h"
#include "io/container.h"
#include "io/serialize.h"

static const char *outdir;

static void die(const char *what)
{
    fprintf(stderr, "fuzz-make-seeds: %s: %s\n", what, clv_last_error());
    exit(1);
}

static void put(const char *target, const char *name, const void *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die(path);
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || (n && fwrite(data, 1, n, fp) != n) || fclose(fp) != 0) die(path);
}

/* txlog seeds carry 4 option bytes first (see fuzz_txlog.c). */
static void put_csv(const char *name, const uint8_t opt[4], const char *text, size_t n)
{
    uint8_t *b = malloc(n + 4);
    if (!b) die("malloc");
    memcpy(b, opt, 4);
    memcpy(b + 4, text, n);
    put("txlog", name, b, n + 4);
    free(b);
}

static void model_seeds(void)
{
    static const struct { int32_t cell; uint32_t in, hid, layers, stat, fin, step; } cfg[] = {
        { CLV_CELL_LSTM, 3, 4, 1, 0, 1, 0 },
        { CLV_CELL_GRU, 2, 3, 2, 2, 2, 1 },
        { CLV_CELL_LSTM, 1, 2, 2, 0, 0, 3 },
    };
    for (size_t k = 0; k < sizeof cfg / sizeof *cfg; k++) {
        clv_model_options o;
        clv_model_options_init(&o);
        o.cell = cfg[k].cell;
        o.input_size = cfg[k].in;
        o.hidden_size = cfg[k].hid;
        o.num_layers = cfg[k].layers;
        o.static_size = cfg[k].stat;
        o.final_outputs = cfg[k].fin;
        o.step_outputs = cfg[k].step;
        clv_model *m;
        if (clv_model_new(&m, &o) != CLV_OK) die("clv_model_new");
        clv__writer w;
        clv__writer_init(&w);
        if (clv__model_write(&w, m) != CLV_OK || clv__writer_finish(&w) != CLV_OK) die("model write");
        char name[32];
        snprintf(name, sizeof name, "model-%zu.clv", k);
        put("model", name, w.buf, (size_t)w.len);
        clv__writer_free(&w);
        clv_model_free(m);
    }
    /* A fitted pipeline (with a category column) and an unfitted one. */
    static const char csv[] =
        "customer_id,date,amount,channel\n"
        "a,1997-01-01,10.5,web\nb,1997-01-03,3,store\na,1997-02-10,7.25,web\nc,1997-03-01,0,phone\n"
        "b,1997-03-09,12,store\n";
    clv_txlog *log;
    if (clv_txlog_new(&log, NULL) != CLV_OK) die("txlog");
    if (clv_txlog_set_column(log, CLV_COLUMN_CATEGORY, "channel", 0) != CLV_OK) die("set_column");
    if (clv_txlog_read_csv_buffer(log, csv, sizeof csv - 1, "seed", NULL) != CLV_OK) die("read");
    for (int fitted = 0; fitted < 2; fitted++) {
        clv_pipeline *p;
        if (clv_pipeline_new(&p, NULL) != CLV_OK) die("pipeline_new");
        int32_t cut;
        if (clv_date_parse("1997-03-01", &cut) != CLV_OK) die("date");
        if (fitted && clv_pipeline_fit(p, log, cut) != CLV_OK) die("pipeline_fit");
        clv__writer w;
        clv__writer_init(&w);
        if (clv__pipeline_write(&w, p) != CLV_OK || clv__writer_finish(&w) != CLV_OK) die("pipeline write");
        put("model", fitted ? "pipeline-fitted.clv" : "pipeline-unfitted.clv", w.buf, (size_t)w.len);
        clv__writer_free(&w);
        clv_pipeline_free(p);
    }
    clv_txlog_free(log);
}

static void forecaster_seeds(void)
{
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 150;
    clv_txlog *log;
    if (clv_txlog_new(&log, NULL) != CLV_OK || clv_simulate_to_txlog(&so, log) != CLV_OK) die("simulate");
    int32_t cut;
    if (clv_date_parse("1997-09-30", &cut) != CLV_OK) die("date");
    for (int k = 0; k < 2; k++) {
        clv_forecast_options o;
        clv_forecast_options_init(&o);
        o.cell = k ? CLV_CELL_GRU : CLV_CELL_LSTM;
        o.hidden_size = 4;
        o.epochs = 1;
        o.samples = 4;
        o.max_steps = 40;
        clv_forecaster *f;
        if (clv_forecaster_new(&f, &o) != CLV_OK || clv_forecaster_fit(f, log, cut) != CLV_OK) die("forecaster fit");
        void *buf;
        size_t n;
        if (clv_forecaster_save_buffer(f, &buf, &n) != CLV_OK) die("save_buffer");
        put("forecaster", k ? "gru.clv" : "lstm.clv", buf, n);
        put("model", k ? "forecaster-gru.clv" : "forecaster-lstm.clv", buf, n);
        clv_free(buf);
        clv_forecaster_free(f);
    }
    clv_txlog_free(log);
}

static void txlog_seeds(const char *real)
{
    const uint8_t dflt[4] = { 0, 0, 0, 0 }, lenient[4] = { 0x01, 0, 0, 0 }, file[4] = { 0x41, 0, 0, 0 },
                  pipe_small[4] = { 0x80, 0, 0, 0x03 }, cdnow_idx[4] = { 0x41, ' ', 0, 0x80 | 0x02 | (3 << 2) };
    /* A simulated log as CSV (with events), sliced. */
    char path[1024];
    snprintf(path, sizeof path, "%s/sim.csv.tmp", outdir);
    clv_sim_options so;
    clv_sim_options_init(&so);
    so.customers = 40;
    if (clv_simulate_to_csv(&so, path) != CLV_OK) die("simulate_to_csv");
    FILE *fp = fopen(path, "rb");
    static char text[1 << 16];
    size_t n = fp ? fread(text, 1, sizeof text, fp) : 0;
    if (fp) fclose(fp);
    remove(path);
    if (n > 3000) n = 3000;
    put_csv("sim-default", dflt, text, n);
    put_csv("sim-pipe", pipe_small, text, n);
    /* Slices of a real file (CDNOW: id, id, YYYYMMDD, count, amount; space separated). */
    if (real) {
        fp = fopen(real, "rb");
        if (!fp) die(real);
        n = fread(text, 1, sizeof text, fp);
        fclose(fp);
        size_t cuts[] = { 300, 1500, 6000 };
        for (int k = 0; k < 3; k++) {
            char name[32];
            snprintf(name, sizeof name, "real-%d", k);
            put_csv(name, k == 1 ? cdnow_idx : k == 2 ? file : lenient, text, n < cuts[k] ? n : cuts[k]);
        }
    }
}

static void parse_seeds(void)
{
    static const char *s[] = {
        "19970101", "1997-01-18", "2024-02-29T23:59:60.999-00:30", "2000-03-01 00:00+01", "  11.77 ",
        "-0.0", "1e308", "2.2250738585072011e-308", "123456789012345678901234567890e-10", "4.9e-324",
        "9007199254740993", "1.7976931348623159e308",
    };
    for (size_t k = 0; k < sizeof s / sizeof *s; k++) {
        char name[16];
        snprintf(name, sizeof name, "gen-%zu", k);
        put("parse", name, s[k], strlen(s[k]));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: fuzz-make-seeds OUTDIR [REAL_LOG]\n");
        return 2;
    }
    outdir = argv[1];
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) die(outdir);
    model_seeds();
    forecaster_seeds();
    txlog_seeds(argc == 3 ? argv[2] : NULL);
    parse_seeds();
    return 0;
}
