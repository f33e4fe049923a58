/* The model-file container (docs/model-format.md): a growable little-endian
 * writer, a bounds-checked reader, CRC-64/XZ, and atomic file save/load.
 *
 *   file    = header(24) payload(payload_length) trailer(16)
 *   header  = "CLVMODEL" u16 major u16 minor u32 flags u64 payload_length
 *   payload = section*      section = u32 tag u32 version u64 length bytes[length]
 *   trailer = u64 crc64(header + payload) "CLVEND\0\0"
 *
 * Writing:
 *   clv__writer w; clv__writer_init(&w);
 *   clv__writer_begin_section(&w, tag, version); clv__put_u32(&w, ...); ...
 *   clv__writer_end_section(&w);            (or clv__model_write(&w, m), ...)
 *   rc = clv__writer_finish(&w);            w.buf[0..w.len) is the file
 *   rc = clv__container_save_path(&w, path);
 *   clv__writer_free(&w);
 * Errors are sticky: after the first failure every put is a no-op returning
 * that status, and finish returns it, so a run of puts may be checked once.
 *
 * Reading:
 *   uint8_t *buf; size_t len;
 *   rc = clv__container_load_path(path, &buf, &len);
 *   clv__reader file; rc = clv__reader_open(&file, buf, len, path);
 *   clv__reader sec; uint32_t ver;
 *   rc = clv__reader_section(&file, tag, max_version, &sec, &ver);
 *   rc = clv__get_u32(&sec, &x); ...; rc = clv__reader_end(&sec);
 *   clv__free(buf);                         (readers borrow buf)
 * clv__reader_open checks magic, version, lengths, end marker and checksum
 * and walks the section table before anything is parsed. Every get_* is
 * bounds checked; a reader never reads outside [data, data + len). */
#ifndef CLV_IO_CONTAINER_H
#define CLV_IO_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "../clv_internal.h"
#include "clv/io.h"

#define CLV__FOURCC(a, b, c, d)                                                      \
    ((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | (uint32_t)(uint8_t)(c) << 16 | \
     (uint32_t)(uint8_t)(d) << 24)

/* Section tags of format 1.x (the bytes appear in this order in the file). */
#define CLV__TAG_MODL CLV__FOURCC('M', 'O', 'D', 'L')   /* clv_model (serialize.c) */
#define CLV__TAG_PIPE CLV__FOURCC('P', 'I', 'P', 'E')   /* clv_pipeline (serialize.c) */

#define CLV__FILE_MAGIC "CLVMODEL"
#define CLV__FILE_END_MAGIC "CLVEND\0\0"   /* 8 bytes: the two NULs are part of it */
#define CLV__HEADER_SIZE 24u
#define CLV__TRAILER_SIZE 16u
#define CLV__SECTION_HEADER_SIZE 16u
/* Header flags: bits 0..15 must be understood (a reader refuses a file with
 * an unknown one set), bits 16..31 may be ignored. Format 1.0 defines none. */
#define CLV__FLAGS_MUST_UNDERSTAND 0x0000ffffu
#define CLV__FLAGS_KNOWN 0u

/* CRC-64/XZ (ECMA-182 polynomial, reflected; also Go's crc64.ECMA table):
 * poly 0x42F0E1EBA9EA3693, init and xorout all ones, check 0x995DC9BBDF1939FA.
 * Incremental: crc = clv__crc64(0, a, n); crc = clv__crc64(crc, b, m). */
uint64_t clv__crc64(uint64_t crc, const void *data, size_t len);

/* Render a tag as 4 printable characters ('?' for others) into buf[5]. */
const char *clv__tag_str(uint32_t tag, char buf[5]);

/* ---- writer ------------------------------------------------------------- */

typedef struct clv__writer {
    uint8_t *buf;          /* the file so far; complete after clv__writer_finish() */
    uint64_t len, cap;
    uint64_t section;      /* offset of the open section's header, 0 when none */
    uint32_t section_tag;
    int status;            /* first error (sticky), CLV_OK while fine */
    int finished;
} clv__writer;

void clv__writer_init(clv__writer *w);
void clv__writer_free(clv__writer *w);
static inline int clv__writer_status(const clv__writer *w) { return w->status; }

/* Append a scalar, little-endian. Floats are IEEE 754 binary32/binary64 bit
 * patterns; non-finite floats are refused (CLV_EINVAL) and never written. */
int clv__put_u8(clv__writer *w, uint8_t v);
int clv__put_u16(clv__writer *w, uint16_t v);
int clv__put_u32(clv__writer *w, uint32_t v);
int clv__put_u64(clv__writer *w, uint64_t v);
int clv__put_i32(clv__writer *w, int32_t v);
int clv__put_i64(clv__writer *w, int64_t v);
int clv__put_f32(clv__writer *w, float v);
int clv__put_f64(clv__writer *w, double v);
/* Raw bytes (no length prefix). */
int clv__put_bytes(clv__writer *w, const void *data, uint64_t n);
/* u32 byte length, then the bytes without the NUL. */
int clv__put_string(clv__writer *w, const char *s);
/* n floats (no count prefix; write the count yourself when the reader needs
 * it). Any NaN/Inf refuses the whole array with a message naming `what` and
 * the index: a model containing non-finite weights is never written. */
int clv__put_f32_array(clv__writer *w, const float *x, uint64_t n, const char *what);
int clv__put_f64_array(clv__writer *w, const double *x, uint64_t n, const char *what);

/* Open a section (sections do not nest; a tag may appear once per file);
 * end_section patches its length. */
int clv__writer_begin_section(clv__writer *w, uint32_t tag, uint32_t version);
int clv__writer_end_section(clv__writer *w);
/* Record a failure found by the caller (sticky, like the puts' own):
 * clv__error(status, fmt, ...) and return status. */
int clv__writer_fail(clv__writer *w, int status, const char *fmt, ...) CLV__PRINTF(3, 4);
/* Write the header (format CLV_MODEL_FORMAT_MAJOR.MINOR, flags 0) and the
 * trailer. The writer then holds the complete file in buf[0..len). */
int clv__writer_finish(clv__writer *w);
/* Hand the finished file's bytes to the caller (free with clv__free, or
 * clv_free from the public API) and reset the writer; NULL when the writer
 * is not finished. For "save to memory" entry points. */
uint8_t *clv__writer_release(clv__writer *w, size_t *len);

/* ---- reader ------------------------------------------------------------- */

typedef struct clv__reader {
    const uint8_t *data;   /* the whole file (borrowed) */
    uint64_t pos, end;     /* absolute offsets: next byte, limit of this reader */
    const char *name;      /* for messages: the path, or "<memory>" (borrowed) */
    uint32_t tag;          /* section tag, or 0 for the file-level reader */
    uint32_t major, minor, flags;
    uint64_t next_section; /* file-level reader: iteration cursor */
    int status;            /* first error (sticky) */
} clv__reader;

/* Validate a whole file in memory: magic, format version, lengths, end
 * marker, checksum, flags, then the section table (sections tile the payload
 * exactly; no tag twice). CLV_OK or CLV_EFORMAT with a message naming `name`.
 * `data` must stay alive while the reader and its section readers are used. */
int clv__reader_open(clv__reader *r, const void *data, size_t len, const char *name);

/* Find section `tag` and return a reader over its bytes. A section whose
 * version is newer than `max_version` is refused ("section 'MODL' version 2
 * is newer than this libclv reads (1); upgrade libclv"); a missing section
 * is CLV_EFORMAT too. `version` (may be NULL) receives the section version. */
int clv__reader_section(const clv__reader *file, uint32_t tag, uint32_t max_version,
                        clv__reader *sec, uint32_t *version);
/* Non-zero when the file has section `tag`. */
int clv__reader_has_section(const clv__reader *file, uint32_t tag);
/* Iterate over the sections in file order: 1 and a section reader, or 0 at
 * the end. Restart with clv__reader_rewind(). */
int clv__reader_next_section(clv__reader *file, clv__reader *sec, uint32_t *tag, uint32_t *version);
void clv__reader_rewind(clv__reader *file);

static inline uint64_t clv__reader_remaining(const clv__reader *r) { return r->end - r->pos; }
/* CLV_OK when count * elem more bytes remain (overflow-safe), else CLV_EFORMAT
 * "NAME: truncated at byte E (section 'MODL' needs N more bytes for WHAT)".
 * Call it before allocating anything whose size the file states. */
int clv__reader_need(clv__reader *r, uint64_t count, uint64_t elem, const char *what);
/* CLV_OK when a section reader consumed all its bytes, else CLV_EFORMAT. */
int clv__reader_end(clv__reader *r);
/* Report a semantic error in the data (CLV_EFORMAT, sticky): the message
 * reads "NAME: section 'MODL': <fmt...>". */
int clv__reader_fail(clv__reader *r, const char *fmt, ...) CLV__PRINTF(2, 3);

int clv__get_u8(clv__reader *r, uint8_t *out);
int clv__get_u16(clv__reader *r, uint16_t *out);
int clv__get_u32(clv__reader *r, uint32_t *out);
int clv__get_u64(clv__reader *r, uint64_t *out);
int clv__get_i32(clv__reader *r, int32_t *out);
int clv__get_i64(clv__reader *r, int64_t *out);
/* Non-finite values are refused (CLV_EFORMAT). */
int clv__get_f32(clv__reader *r, float *out);
int clv__get_f64(clv__reader *r, double *out);
int clv__get_bytes(clv__reader *r, void *dst, uint64_t n);
/* A string written by clv__put_string into dst[cap] (NUL-terminated); longer
 * than cap - 1 bytes or containing a NUL is CLV_EFORMAT. */
int clv__get_string(clv__reader *r, char *dst, size_t cap, const char *what);
/* n floats into dst[n]; checks the bytes exist first and refuses NaN/Inf. */
int clv__get_f32_array(clv__reader *r, float *dst, uint64_t n, const char *what);
int clv__get_f64_array(clv__reader *r, double *dst, uint64_t n, const char *what);

/* ---- files ------------------------------------------------------------- */

/* Atomically replace `path` with the finished writer's bytes: write a
 * temporary file in the same directory, fsync, rename over `path`, fsync the
 * directory. On failure the temporary file is removed, any previous file at
 * `path` is left untouched, and CLV_EIO names the path and the OS error. */
int clv__container_save_path(const clv__writer *w, const char *path);
/* The same for any bytes; `what` names them in messages ("model", "report"). */
int clv__save_bytes_atomic(const void *data, size_t len, const char *path, const char *what);

/* Where an output path leads. Writers replace a regular file atomically
 * (temporary file beside it, then rename), but must never rename over a
 * device, a FIFO, a socket or a symbolic link (as root, /dev/null or the
 * /dev/stdout link itself would be replaced):
 *  - CLV__OUT_FD:     /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N:
 *                     write to descriptor *fd as it is (its offset, O_APPEND);
 *  - CLV__OUT_STREAM: an existing device, FIFO or socket (through links):
 *                     open *resolved for writing and write into it;
 *  - CLV__OUT_FILE:   a regular file or a new name: replace *resolved (the
 *                     link's target when path is a symbolic link) atomically.
 * *resolved (CLV__OUT_STREAM, CLV__OUT_FILE) is owned by the caller (clv__free).
 * Returns the kind, or a negative status (CLV_EIO naming the path: a
 * directory, a dangling link) with the error set. */
enum { CLV__OUT_FD = 1, CLV__OUT_STREAM = 2, CLV__OUT_FILE = 3 };
int clv__output_target(const char *path, const char *action, int *fd, char **resolved);
/* Read a whole file into *buf (clv__malloc'd, free with clv__free) and *len.
 * CLV_EIO (naming the path) when it cannot be opened or read. The size is
 * what the file holds; nothing else is allocated. */
int clv__container_load_path(const char *path, uint8_t **buf, size_t *len);

/* Failure injection for tests only (not thread-safe; defaults do nothing):
 *  - clv__io_fail_after_bytes: writing the temporary file fails with ENOSPC
 *    once this many bytes were written (UINT64_MAX = never);
 *  - clv__io_fail_step: fail that step with EIO (CLV__IO_STEP_*; 0 = none). */
enum { CLV__IO_STEP_NONE, CLV__IO_STEP_FSYNC, CLV__IO_STEP_CLOSE, CLV__IO_STEP_RENAME };
extern uint64_t clv__io_fail_after_bytes;
extern int clv__io_fail_step;

#endif
