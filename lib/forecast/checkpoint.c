/* Training checkpoints (checkpoint.h) in the model-file container: one
 * 'CKPT' section, CRC-checked and saved atomically like a model, so a rank
 * killed in the middle of a write leaves the previous checkpoint intact. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../io/container.h"
#include "checkpoint.h"
#include "dist.h"

#define TAG_CKPT CLV__FOURCC('C', 'K', 'P', 'T')
#define CKPT_VERSION 1u

CLV_API int clv_forecaster_set_checkpoint(clv_forecaster *f, const char *path)
{
    CLV__CHECK_ARG(f != NULL, "clv_forecaster_set_checkpoint: forecaster is NULL");
    CLV__CHECK_ARG(path == NULL || path[0] != '\0', "clv_forecaster_set_checkpoint: path is empty");
    char *copy = NULL;
    if (path) {
        size_t n = strlen(path) + 1;
        if (!(copy = clv__malloc(n))) return clv__oom();
        memcpy(copy, path, n);
    }
    clv__free(f->ckpt_path);
    f->ckpt_path = copy;
    return CLV_OK;
}

CLV_API uint32_t clv_forecaster_resumed_epoch(const clv_forecaster *f) { return f ? f->resumed_epoch : 0; }

void clv__ckpt_free(clv__ckpt *c)
{
    clv__free(c->opt_state);
    clv__free(c->params);
    clv__free(c->done);
    memset(c, 0, sizeof *c);
}

static uint64_t f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

int clv__ckpt_save(const char *path, const clv__ckpt *c)
{
    clv__writer w;
    clv__writer_init(&w);
    clv__writer_begin_section(&w, TAG_CKPT, CKPT_VERSION);
    clv__put_u64(&w, c->fingerprint);
    clv__put_u32(&w, c->stage);
    clv__put_u32(&w, c->epoch);
    clv__put_u32(&w, c->epochs);
    clv__put_u32(&w, c->best_epoch);
    clv__put_u32(&w, c->total_epochs);
    clv__put_u64(&w, f64_bits(c->best));   /* bits: +inf before the first held-out loss */
    for (int k = 0; k < 4; k++) clv__put_u64(&w, c->rng[k]);
    clv__put_u64(&w, c->opt_t);
    clv__put_u64(&w, c->opt_n);
    clv__put_f32_array(&w, c->opt_state, c->opt_n, "optimizer state");
    clv__put_u64(&w, c->nparams);
    clv__put_f32_array(&w, c->params, c->nparams, "network parameters");
    clv__put_u32(&w, c->ndone);
    clv__put_f32_array(&w, c->done, (uint64_t)c->ndone * c->nparams, "finished network parameters");
    clv__writer_end_section(&w);
    int rc = clv__writer_finish(&w);
    if (rc == CLV_OK) rc = clv__container_save_path(&w, path);
    clv__writer_free(&w);
    return rc;
}

/* Counts read from the file bound the allocations: a damaged count is
 * refused by clv__reader_need before anything that size is allocated. */
static int get_floats(clv__reader *s, uint64_t n, float **out, const char *what)
{
    CLV__TRY(clv__reader_need(s, n, sizeof(float), what));
    *out = clv__calloc(n ? n : 1, sizeof(float));
    if (!*out) return clv__oom();
    return clv__get_f32_array(s, *out, n, what);
}

static int parse(const uint8_t *buf, size_t len, const char *name, clv__ckpt *c)
{
    clv__reader file, s;
    CLV__TRY(clv__reader_open(&file, buf, len, name));
    CLV__TRY(clv__reader_section(&file, TAG_CKPT, CKPT_VERSION, &s, NULL));
    uint64_t best_bits;
    clv__get_u64(&s, &c->fingerprint);
    clv__get_u32(&s, &c->stage);
    clv__get_u32(&s, &c->epoch);
    clv__get_u32(&s, &c->epochs);
    clv__get_u32(&s, &c->best_epoch);
    clv__get_u32(&s, &c->total_epochs);
    clv__get_u64(&s, &best_bits);
    memcpy(&c->best, &best_bits, sizeof c->best);
    for (int k = 0; k < 4; k++) clv__get_u64(&s, &c->rng[k]);
    clv__get_u64(&s, &c->opt_t);
    CLV__TRY(clv__get_u64(&s, &c->opt_n));
    CLV__TRY(get_floats(&s, c->opt_n, &c->opt_state, "optimizer state"));
    CLV__TRY(clv__get_u64(&s, &c->nparams));
    CLV__TRY(get_floats(&s, c->nparams, &c->params, "network parameters"));
    CLV__TRY(clv__get_u32(&s, &c->ndone));
    /* Run k + 1 comes after the k networks before it, never without them. */
    if (c->stage > CLV__MAX_ENSEMBLE || c->ndone != (c->stage > 0 ? c->stage - 1 : 0))
        return clv__reader_fail(&s, "run %u with %u finished networks", c->stage, c->ndone);
    CLV__TRY(get_floats(&s, (uint64_t)c->ndone * c->nparams, &c->done, "finished network parameters"));
    return clv__reader_end(&s);
}

int clv__ckpt_load(const clv_forecaster *f, uint64_t fingerprint, clv__ckpt *c, int *found)
{
    memset(c, 0, sizeof *c);
    *found = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = CLV_OK;
    if (clv__dist_rank(f) == 0) {
        struct stat st;
        if (stat(f->ckpt_path, &st) == 0) {
            rc = clv__container_load_path(f->ckpt_path, &buf, &len);
            /* An empty file is damage (a full disk), not "no checkpoint": starting
             * afresh would silently overwrite it. */
            if (rc == CLV_OK && len == 0)
                rc = clv__error(CLV_EFORMAT, "checkpoint '%s' is empty; remove it to start afresh", f->ckpt_path);
        }
        else if (errno != ENOENT)
            rc = clv__error(CLV_EIO, "cannot read checkpoint '%s': %s", f->ckpt_path, strerror(errno));
    }
    rc = clv__dist_agree(f, rc, "to read the checkpoint");
    uint64_t n = len;
    if (rc == CLV_OK) rc = clv__dist_bcast(f, &n, sizeof n, 0);
    if (rc == CLV_OK && n > 0 && !buf) rc = (buf = clv__malloc((size_t)n)) ? CLV_OK : clv__oom();
    rc = clv__dist_agree(f, rc, "to receive the checkpoint");
    if (rc == CLV_OK) rc = clv__dist_bcast(f, buf, n, 0);
    if (rc == CLV_OK && n > 0) {
        rc = parse(buf, (size_t)n, f->ckpt_path, c);
        if (rc == CLV_OK && c->fingerprint != fingerprint)
            rc = clv__error(CLV_ESTATE, "checkpoint '%s' was written for other options, cutoff or customers; "
                            "remove it to start afresh", f->ckpt_path);
        /* Parsing allocates on every rank: a failure on one must fail all. */
        rc = clv__dist_agree(f, rc, "to parse the checkpoint");
        if (rc == CLV_OK) *found = 1;
        else clv__ckpt_free(c);
    }
    clv__free(buf);
    return rc;
}
