/* clv_model and clv_pipeline to and from model-file sections
 * (layouts: docs/model-format.md, sections 'MODL' and 'PIPE').
 *
 * Writers append one whole section to an unfinished writer (the caller then
 * adds its own sections and calls clv__writer_finish). Readers take a reader
 * opened with clv__reader_open() on the whole file, find their section, and
 * validate every field before allocating: a loaded model predicts bit for
 * bit as the saved one, a loaded pipeline transforms byte for byte as the
 * saved one. Gradients, optimizer state and cached activations are not part
 * of a model file. */
#ifndef CLV_IO_SERIALIZE_H
#define CLV_IO_SERIALIZE_H

#include "container.h"

/* Section versions this libclv writes, and the newest it reads. */
#define CLV__MODL_VERSION 1u
#define CLV__PIPE_VERSION 1u

/* Section 'MODL'. Non-finite weights are refused (CLV_EINVAL) and nothing
 * of the section is kept usable: the writer's status stays failed. */
int clv__model_write(clv__writer *w, const clv_model *m);
/* CLV_OK and a new model in *out, or CLV_EFORMAT / CLV_ENOMEM and *out NULL. */
int clv__model_read(const clv__reader *file, clv_model **out);

/* Section 'PIPE' (fitted or not). */
int clv__pipeline_write(clv__writer *w, const clv_pipeline *p);
int clv__pipeline_read(const clv__reader *file, clv_pipeline **out);

/* The same under another tag, to keep several objects of one kind in a file
 * (each tag appears at most once). The layout is the same as 'MODL' / 'PIPE'
 * and the section version is CLV__MODL_VERSION / CLV__PIPE_VERSION. */
int clv__model_write_tagged(clv__writer *w, uint32_t tag, const clv_model *m);
int clv__model_read_tagged(const clv__reader *file, uint32_t tag, clv_model **out);
int clv__pipeline_write_tagged(clv__writer *w, uint32_t tag, const clv_pipeline *p);
int clv__pipeline_read_tagged(const clv__reader *file, uint32_t tag, clv_pipeline **out);

#endif
