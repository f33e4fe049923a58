/* The model-file container: CRC-64/XZ, little-endian writer and bounds-checked
 * reader, atomic save and whole-file load (spec: docs/model-format.md). */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700   /* realpath */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "container.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 binary32/binary64 expected");

/* A file holds at most this many sections (keeps the duplicate check cheap
 * on hostile input; format 1.0 files have one to three). */
#define MAX_SECTIONS 4096u

uint64_t clv__io_fail_after_bytes = UINT64_MAX;
int clv__io_fail_step = CLV__IO_STEP_NONE;

CLV_API uint32_t clv_model_format_major(void) { return CLV_MODEL_FORMAT_MAJOR; }
CLV_API uint32_t clv_model_format_minor(void) { return CLV_MODEL_FORMAT_MINOR; }

/* ---- CRC-64/XZ ------------------------------------------------------------
 * The reflected form of the ECMA-182 polynomial x^64 + x^62 + x^57 + x^55 +
 * x^54 + x^53 + x^52 + x^47 + x^46 + x^45 + x^40 + x^39 + x^38 + x^37 + x^35 +
 * x^33 + x^32 + x^31 + x^29 + x^27 + x^24 + x^23 + x^22 + x^21 + x^19 + x^17 +
 * x^13 + x^12 + x^10 + x^9 + x^7 + x^4 + x + 1 (0x42F0E1EBA9EA3693; bit-reversed
 * 0xC96C5795D7870F42), register preset to all ones and complemented at the
 * end. table[0] is the classic byte-at-a-time table; table[k][b] is the CRC
 * of byte b followed by k zero bytes, which lets eight bytes be folded per
 * step ("slicing by 8"). */
#define CRC64_POLY_REFLECTED 0xC96C5795D7870F42ull

static uint64_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint64_t c = b;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            crc_table[k][b] = (crc_table[k - 1][b] >> 8) ^ crc_table[0][crc_table[k - 1][b] & 0xff];
}

uint64_t clv__crc64(uint64_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t v = crc;
        for (int k = 0; k < 8; k++) v ^= (uint64_t)p[k] << (8 * k);
        crc = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^ crc_table[5][(v >> 16) & 0xff] ^
              crc_table[4][(v >> 24) & 0xff] ^ crc_table[3][(v >> 32) & 0xff] ^
              crc_table[2][(v >> 40) & 0xff] ^ crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

const char *clv__tag_str(uint32_t tag, char buf[5])
{
    for (int k = 0; k < 4; k++) {
        unsigned c = (tag >> (8 * k)) & 0xff;
        buf[k] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[4] = '\0';
    return buf;
}

/* ---- little-endian codec -------------------------------------------------- */

static void enc_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void enc_u32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}

static void enc_u64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++) p[k] = (uint8_t)(v >> (8 * k));
}

static uint16_t dec_u16(const uint8_t *p) { return (uint16_t)(p[0] | (unsigned)p[1] << 8); }

static uint32_t dec_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t dec_u64(const uint8_t *p) { return (uint64_t)dec_u32(p) | (uint64_t)dec_u32(p + 4) << 32; }

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t f64_bits(double f)
{
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static double bits_f64(uint64_t u)
{
    double f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Finite from the bit pattern alone: exponent not all ones. */
static int f32_bits_finite(uint32_t u) { return (u & 0x7f800000u) != 0x7f800000u; }
static int f64_bits_finite(uint64_t u) { return (u & 0x7ff0000000000000ull) != 0x7ff0000000000000ull; }

/* ---- writer ------------------------------------------------------------- */

void clv__writer_init(clv__writer *w)
{
    memset(w, 0, sizeof *w);
}

void clv__writer_free(clv__writer *w)
{
    if (!w) return;
    clv__free(w->buf);
    memset(w, 0, sizeof *w);
}

static int wfail(clv__writer *w, int status)
{
    w->status = status;
    return status;
}

/* Room for n more bytes; the header is reserved on first use. */
static uint8_t *wreserve(clv__writer *w, uint64_t n)
{
    if (w->len == 0) {
        if (clv__grow((void **)&w->buf, &w->cap, CLV__HEADER_SIZE, 1) != CLV_OK) {
            wfail(w, CLV_ENOMEM);
            return NULL;
        }
        memset(w->buf, 0, CLV__HEADER_SIZE);
        w->len = CLV__HEADER_SIZE;
    }
    if (n > UINT64_MAX - w->len || w->len + n > SIZE_MAX) {
        wfail(w, clv__oom());
        return NULL;
    }
    if (clv__grow((void **)&w->buf, &w->cap, w->len + n, 1) != CLV_OK) {
        wfail(w, CLV_ENOMEM);
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

/* Data goes inside a section, before finish. */
static uint8_t *wtake(clv__writer *w, uint64_t n)
{
    if (w->status != CLV_OK) return NULL;
    if (w->finished) {
        wfail(w, clv__error(CLV_ESTATE, "model writer: data written after the file was finished"));
        return NULL;
    }
    if (!w->section) {
        wfail(w, clv__error(CLV_ESTATE, "model writer: data written outside a section"));
        return NULL;
    }
    return wreserve(w, n);
}

int clv__put_u8(clv__writer *w, uint8_t v)
{
    uint8_t *p = wtake(w, 1);
    if (p) *p = v;
    return w->status;
}

int clv__put_u16(clv__writer *w, uint16_t v)
{
    uint8_t *p = wtake(w, 2);
    if (p) enc_u16(p, v);
    return w->status;
}

int clv__put_u32(clv__writer *w, uint32_t v)
{
    uint8_t *p = wtake(w, 4);
    if (p) enc_u32(p, v);
    return w->status;
}

int clv__put_u64(clv__writer *w, uint64_t v)
{
    uint8_t *p = wtake(w, 8);
    if (p) enc_u64(p, v);
    return w->status;
}

/* Two's complement, as every supported compiler stores it. */
int clv__put_i32(clv__writer *w, int32_t v) { return clv__put_u32(w, (uint32_t)v); }
int clv__put_i64(clv__writer *w, int64_t v) { return clv__put_u64(w, (uint64_t)v); }

int clv__put_f32(clv__writer *w, float v) { return clv__put_f32_array(w, &v, 1, "a float field"); }
int clv__put_f64(clv__writer *w, double v) { return clv__put_f64_array(w, &v, 1, "a double field"); }

int clv__put_bytes(clv__writer *w, const void *data, uint64_t n)
{
    if (n == 0) return w->status;
    uint8_t *p = wtake(w, n);
    if (p) memcpy(p, data, (size_t)n);
    return w->status;
}

int clv__put_string(clv__writer *w, const char *s)
{
    if (w->status != CLV_OK) return w->status;
    size_t n = strlen(s);
    if (n > UINT32_MAX)
        return wfail(w, clv__error(CLV_EINVAL, "model writer: a string of %zu bytes is too long", n));
    clv__put_u32(w, (uint32_t)n);
    return clv__put_bytes(w, s, n);
}

int clv__put_f32_array(clv__writer *w, const float *x, uint64_t n, const char *what)
{
    if (w->status != CLV_OK) return w->status;
    for (uint64_t i = 0; i < n; i++)
        if (!f32_bits_finite(f32_bits(x[i])))
            return wfail(w, clv__error(CLV_EINVAL, "model writer: %s[%llu] is %s; a model containing "
                                       "non-finite weights is never written", what, (unsigned long long)i,
                                       x[i] != x[i] ? "NaN" : "infinite"));
    if (n > UINT64_MAX / 4) return wfail(w, clv__oom());
    uint8_t *p = wtake(w, n * 4);
    if (!p) return w->status;
    for (uint64_t i = 0; i < n; i++, p += 4) enc_u32(p, f32_bits(x[i]));
    return CLV_OK;
}

int clv__put_f64_array(clv__writer *w, const double *x, uint64_t n, const char *what)
{
    if (w->status != CLV_OK) return w->status;
    for (uint64_t i = 0; i < n; i++)
        if (!f64_bits_finite(f64_bits(x[i])))
            return wfail(w, clv__error(CLV_EINVAL, "model writer: %s[%llu] is %s; a model containing "
                                       "non-finite values is never written", what, (unsigned long long)i,
                                       x[i] != x[i] ? "NaN" : "infinite"));
    if (n > UINT64_MAX / 8) return wfail(w, clv__oom());
    uint8_t *p = wtake(w, n * 8);
    if (!p) return w->status;
    for (uint64_t i = 0; i < n; i++, p += 8) enc_u64(p, f64_bits(x[i]));
    return CLV_OK;
}

int clv__writer_fail(clv__writer *w, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (w->status != CLV_OK) return w->status;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wfail(w, clv__error(status, "%s", msg));
}

int clv__writer_begin_section(clv__writer *w, uint32_t tag, uint32_t version)
{
    char t[5];
    if (w->status != CLV_OK) return w->status;
    if (w->finished) return wfail(w, clv__error(CLV_ESTATE, "model writer: section added after finish"));
    if (w->section)
        return wfail(w, clv__error(CLV_ESTATE, "model writer: section '%s' opened while '%s' is still open",
                                   clv__tag_str(tag, t), clv__tag_str(w->section_tag, (char[5]){ 0 })));
    if (tag == 0) return wfail(w, clv__error(CLV_EINVAL, "model writer: section tag 0 is reserved"));
    /* One section per tag: walk those written so far. */
    for (uint64_t at = CLV__HEADER_SIZE; at < w->len; at += CLV__SECTION_HEADER_SIZE + dec_u64(w->buf + at + 8))
        if (dec_u32(w->buf + at) == tag)
            return wfail(w, clv__error(CLV_EINVAL, "model writer: section '%s' written twice",
                                       clv__tag_str(tag, t)));
    uint8_t *p = wreserve(w, CLV__SECTION_HEADER_SIZE);
    if (!p) return w->status;
    enc_u32(p, tag);
    enc_u32(p + 4, version);
    enc_u64(p + 8, 0);
    w->section = (uint64_t)(p - w->buf);
    w->section_tag = tag;
    return CLV_OK;
}

int clv__writer_end_section(clv__writer *w)
{
    if (w->status != CLV_OK) return w->status;
    if (!w->section) return wfail(w, clv__error(CLV_ESTATE, "model writer: no open section to end"));
    enc_u64(w->buf + w->section + 8, w->len - w->section - CLV__SECTION_HEADER_SIZE);
    w->section = 0;
    w->section_tag = 0;
    return CLV_OK;
}

int clv__writer_finish(clv__writer *w)
{
    char t[5];
    if (w->status != CLV_OK) return w->status;
    if (w->finished) return CLV_OK;
    if (w->section)
        return wfail(w, clv__error(CLV_ESTATE, "model writer: section '%s' was not ended",
                                   clv__tag_str(w->section_tag, t)));
    if (!wreserve(w, 0)) return w->status;
    uint8_t *h = w->buf;
    memcpy(h, CLV__FILE_MAGIC, 8);
    enc_u16(h + 8, (uint16_t)CLV_MODEL_FORMAT_MAJOR);
    enc_u16(h + 10, (uint16_t)CLV_MODEL_FORMAT_MINOR);
    enc_u32(h + 12, CLV__FLAGS_KNOWN);
    enc_u64(h + 16, w->len - CLV__HEADER_SIZE);
    uint64_t crc = clv__crc64(0, w->buf, (size_t)w->len);
    uint8_t *tr = wreserve(w, CLV__TRAILER_SIZE);
    if (!tr) return w->status;
    enc_u64(tr, crc);
    memcpy(tr + 8, CLV__FILE_END_MAGIC, 8);
    w->finished = 1;
    return CLV_OK;
}

uint8_t *clv__writer_release(clv__writer *w, size_t *len)
{
    *len = 0;
    if (w->status != CLV_OK || !w->finished) return NULL;
    uint8_t *b = w->buf;
    *len = (size_t)w->len;
    memset(w, 0, sizeof *w);
    return b;
}

/* ---- reader ------------------------------------------------------------- */

static int rfail_status(clv__reader *r, int status)
{
    r->status = status;
    return status;
}

int clv__reader_fail(clv__reader *r, const char *fmt, ...)
{
    char msg[400], t[5];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->status != CLV_OK) return r->status;
    if (r->tag)
        clv__error(CLV_EFORMAT, "%s: section '%s': %s", r->name, clv__tag_str(r->tag, t), msg);
    else
        clv__error(CLV_EFORMAT, "%s: %s", r->name, msg);
    return rfail_status(r, CLV_EFORMAT);
}

static int truncated(clv__reader *r, uint64_t need, const char *what)
{
    char t[5];
    if (r->status != CLV_OK) return r->status;
    clv__error(CLV_EFORMAT, "%s: truncated at byte %llu (%s%s%s needs %llu more bytes for %s)", r->name,
               (unsigned long long)r->end, r->tag ? "section '" : "the payload",
               r->tag ? clv__tag_str(r->tag, t) : "", r->tag ? "'" : "",
               (unsigned long long)(need - clv__reader_remaining(r)), what);
    return rfail_status(r, CLV_EFORMAT);
}

int clv__reader_need(clv__reader *r, uint64_t count, uint64_t elem, const char *what)
{
    if (r->status != CLV_OK) return r->status;
    if (elem != 0 && count > UINT64_MAX / elem)
        return clv__reader_fail(r, "%s claims %llu elements of %llu bytes (corrupt file)", what,
                                (unsigned long long)count, (unsigned long long)elem);
    if (count * elem > clv__reader_remaining(r)) return truncated(r, count * elem, what);
    return CLV_OK;
}

static const uint8_t *rtake(clv__reader *r, uint64_t n, const char *what)
{
    if (r->status != CLV_OK) return NULL;
    if (n > clv__reader_remaining(r)) {
        truncated(r, n, what);
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

int clv__get_u8(clv__reader *r, uint8_t *out)
{
    const uint8_t *p = rtake(r, 1, "a u8 field");
    if (p) *out = *p;
    return r->status;
}

int clv__get_u16(clv__reader *r, uint16_t *out)
{
    const uint8_t *p = rtake(r, 2, "a u16 field");
    if (p) *out = dec_u16(p);
    return r->status;
}

int clv__get_u32(clv__reader *r, uint32_t *out)
{
    const uint8_t *p = rtake(r, 4, "a u32 field");
    if (p) *out = dec_u32(p);
    return r->status;
}

int clv__get_u64(clv__reader *r, uint64_t *out)
{
    const uint8_t *p = rtake(r, 8, "a u64 field");
    if (p) *out = dec_u64(p);
    return r->status;
}

int clv__get_i32(clv__reader *r, int32_t *out)
{
    const uint8_t *p = rtake(r, 4, "an i32 field");
    if (!p) return r->status;
    uint32_t u = dec_u32(p);
    /* Two's complement without implementation-defined conversion. */
    *out = u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
    return CLV_OK;
}

int clv__get_i64(clv__reader *r, int64_t *out)
{
    const uint8_t *p = rtake(r, 8, "an i64 field");
    if (!p) return r->status;
    uint64_t u = dec_u64(p);
    *out = u <= INT64_MAX ? (int64_t)u : (int64_t)(u - 0x8000000000000000ull) + INT64_MIN;
    return CLV_OK;
}

int clv__get_f32(clv__reader *r, float *out) { return clv__get_f32_array(r, out, 1, "a float field"); }
int clv__get_f64(clv__reader *r, double *out) { return clv__get_f64_array(r, out, 1, "a double field"); }

int clv__get_bytes(clv__reader *r, void *dst, uint64_t n)
{
    const uint8_t *p = rtake(r, n, "a byte string");
    if (p && n) memcpy(dst, p, (size_t)n);
    return r->status;
}

int clv__get_string(clv__reader *r, char *dst, size_t cap, const char *what)
{
    uint32_t n = 0;
    if (clv__get_u32(r, &n) != CLV_OK) return r->status;
    if (n >= cap) return clv__reader_fail(r, "%s is %u bytes long, at most %zu allowed", what, n, cap - 1);
    const uint8_t *p = rtake(r, n, what);
    if (!p) return r->status;
    if (memchr(p, 0, n)) return clv__reader_fail(r, "%s contains a NUL byte", what);
    memcpy(dst, p, n);
    dst[n] = '\0';
    return CLV_OK;
}

int clv__get_f32_array(clv__reader *r, float *dst, uint64_t n, const char *what)
{
    if (clv__reader_need(r, n, 4, what) != CLV_OK) return r->status;
    const uint8_t *p = r->data + r->pos;
    for (uint64_t i = 0; i < n; i++, p += 4) {
        uint32_t u = dec_u32(p);
        if (!f32_bits_finite(u))
            return clv__reader_fail(r, "%s[%llu] is not finite (bits 0x%08x at byte %llu)", what,
                                    (unsigned long long)i, u, (unsigned long long)(p - r->data));
        dst[i] = bits_f32(u);
    }
    r->pos += n * 4;
    return CLV_OK;
}

int clv__get_f64_array(clv__reader *r, double *dst, uint64_t n, const char *what)
{
    if (clv__reader_need(r, n, 8, what) != CLV_OK) return r->status;
    const uint8_t *p = r->data + r->pos;
    for (uint64_t i = 0; i < n; i++, p += 8) {
        uint64_t u = dec_u64(p);
        if (!f64_bits_finite(u))
            return clv__reader_fail(r, "%s[%llu] is not finite (at byte %llu)", what, (unsigned long long)i,
                                    (unsigned long long)(p - r->data));
        dst[i] = bits_f64(u);
    }
    r->pos += n * 8;
    return CLV_OK;
}

int clv__reader_end(clv__reader *r)
{
    if (r->status != CLV_OK) return r->status;
    if (r->pos != r->end)
        return clv__reader_fail(r, "%llu unexpected bytes at the end of the section (byte %llu)",
                                (unsigned long long)(r->end - r->pos), (unsigned long long)r->pos);
    return CLV_OK;
}

static int bad_file(clv__reader *r, const char *fmt, ...) CLV__PRINTF(2, 3);
static int bad_file(clv__reader *r, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    clv__error(CLV_EFORMAT, "%s: %s", r->name, msg);
    return rfail_status(r, CLV_EFORMAT);
}

int clv__reader_open(clv__reader *r, const void *data, size_t len, const char *name)
{
    memset(r, 0, sizeof *r);
    r->name = name ? name : "<memory>";
    CLV__CHECK_ARG(data != NULL || len == 0, "%s: no data", r->name);
    r->data = data;
    const uint8_t *d = data;
    const size_t magic_len = 8;

    /* The first 12 bytes (magic, major, minor) are the same in every format
     * major, so a file of a newer major is recognised as such. */
    if (len == 0) return bad_file(r, "truncated at byte 0 (empty file)");
    if (len < magic_len) {
        if (memcmp(d, CLV__FILE_MAGIC, len) == 0)
            return bad_file(r, "truncated at byte %zu (the header needs %u bytes)", len, CLV__HEADER_SIZE);
        return bad_file(r, "not a libclv model file (bad magic)");
    }
    if (memcmp(d, CLV__FILE_MAGIC, magic_len) != 0) return bad_file(r, "not a libclv model file (bad magic)");
    if (len < 12) return bad_file(r, "truncated at byte %zu (the header needs %u bytes)", len, CLV__HEADER_SIZE);
    r->major = dec_u16(d + 8);
    r->minor = dec_u16(d + 10);
    if (r->major > CLV_MODEL_FORMAT_MAJOR)
        return bad_file(r, "model file format %u.%u is newer than this libclv (reads %u.x); upgrade libclv",
                        r->major, r->minor, CLV_MODEL_FORMAT_MAJOR);
    if (r->major < 1)
        return bad_file(r, "model file format %u.%u was never written by libclv (this libclv reads %u.x)",
                        r->major, r->minor, CLV_MODEL_FORMAT_MAJOR);
    if (len < CLV__HEADER_SIZE)
        return bad_file(r, "truncated at byte %zu (the header needs %u bytes)", len, CLV__HEADER_SIZE);
    r->flags = dec_u32(d + 12);
    const uint64_t payload = dec_u64(d + 16);
    const uint64_t frame = CLV__HEADER_SIZE + CLV__TRAILER_SIZE;
    if (payload > UINT64_MAX - frame || payload + frame > len) {
        if (payload > UINT64_MAX - frame)
            return bad_file(r, "truncated at byte %zu (the header declares a payload of %llu bytes)", len,
                            (unsigned long long)payload);
        return bad_file(r, "truncated at byte %zu (the header declares a payload of %llu bytes: %llu more "
                        "bytes needed)", len, (unsigned long long)payload,
                        (unsigned long long)(payload + frame - len));
    }
    const uint64_t end = CLV__HEADER_SIZE + payload;
    if (end + CLV__TRAILER_SIZE < len)
        return bad_file(r, "%llu unexpected bytes after the end of the file at byte %llu (corrupt file)",
                        (unsigned long long)(len - end - CLV__TRAILER_SIZE),
                        (unsigned long long)(end + CLV__TRAILER_SIZE));
    if (memcmp(d + end + 8, CLV__FILE_END_MAGIC, 8) != 0)
        return bad_file(r, "bad end marker at byte %llu (file truncated or corrupted)",
                        (unsigned long long)(end + 8));
    const uint64_t stored = dec_u64(d + end), computed = clv__crc64(0, d, (size_t)end);
    if (stored != computed)
        return bad_file(r, "checksum mismatch (file corrupted): stored %016llx, computed %016llx",
                        (unsigned long long)stored, (unsigned long long)computed);
    if (r->flags & CLV__FLAGS_MUST_UNDERSTAND & ~CLV__FLAGS_KNOWN)
        return bad_file(r, "header flags 0x%08x use features this libclv does not know; upgrade libclv",
                        (unsigned)r->flags);

    /* The section table: sections tile the payload exactly, no tag twice. */
    uint32_t nsec = 0;
    char t[5];
    for (uint64_t at = CLV__HEADER_SIZE; at < end;) {
        if (end - at < CLV__SECTION_HEADER_SIZE)
            return bad_file(r, "truncated section header at byte %llu (%llu bytes left in the payload, 16 "
                            "needed; corrupt file)", (unsigned long long)at, (unsigned long long)(end - at));
        const uint32_t tag = dec_u32(d + at);
        const uint64_t slen = dec_u64(d + at + 8), left = end - at - CLV__SECTION_HEADER_SIZE;
        if (tag == 0) return bad_file(r, "section with the reserved tag 0 at byte %llu", (unsigned long long)at);
        if (slen > left)
            return bad_file(r, "truncated at byte %llu (section '%s' at byte %llu claims %llu bytes, the payload "
                            "holds %llu more; corrupt file)", (unsigned long long)end, clv__tag_str(tag, t),
                            (unsigned long long)at, (unsigned long long)slen, (unsigned long long)left);
        if (++nsec > MAX_SECTIONS) return bad_file(r, "more than %u sections (corrupt file)", MAX_SECTIONS);
        for (uint64_t o = CLV__HEADER_SIZE; o < at; o += CLV__SECTION_HEADER_SIZE + dec_u64(d + o + 8))
            if (dec_u32(d + o) == tag)
                return bad_file(r, "section '%s' appears twice (bytes %llu and %llu)", clv__tag_str(tag, t),
                                (unsigned long long)o, (unsigned long long)at);
        at += CLV__SECTION_HEADER_SIZE + slen;
    }
    r->pos = CLV__HEADER_SIZE;
    r->end = end;
    r->next_section = CLV__HEADER_SIZE;
    return CLV_OK;
}

static void section_reader(const clv__reader *file, uint64_t at, clv__reader *sec)
{
    memset(sec, 0, sizeof *sec);
    sec->data = file->data;
    sec->name = file->name;
    sec->major = file->major;
    sec->minor = file->minor;
    sec->flags = file->flags;
    sec->tag = dec_u32(file->data + at);
    sec->pos = at + CLV__SECTION_HEADER_SIZE;
    sec->end = sec->pos + dec_u64(file->data + at + 8);
}

/* Offset of section `tag`'s header, or 0. Bounds were checked at open. */
static uint64_t find_section(const clv__reader *file, uint32_t tag)
{
    if (!file->data || file->tag != 0 || file->status != CLV_OK) return 0;
    for (uint64_t at = CLV__HEADER_SIZE; at < file->end;
         at += CLV__SECTION_HEADER_SIZE + dec_u64(file->data + at + 8))
        if (dec_u32(file->data + at) == tag) return at;
    return 0;
}

int clv__reader_has_section(const clv__reader *file, uint32_t tag) { return find_section(file, tag) != 0; }

int clv__reader_section(const clv__reader *file, uint32_t tag, uint32_t max_version, clv__reader *sec,
                        uint32_t *version)
{
    char t[5];
    memset(sec, 0, sizeof *sec);
    sec->name = file->name;
    sec->status = CLV_EFORMAT;   /* unusable until found */
    if (file->status != CLV_OK || file->tag != 0 || !file->data)
        return clv__error(CLV_EINVAL, "%s: not an open model file", file->name ? file->name : "<memory>");
    uint64_t at = find_section(file, tag);
    if (!at)
        return clv__error(CLV_EFORMAT, "%s: no section '%s' (the file does not hold this object)", file->name,
                          clv__tag_str(tag, t));
    uint32_t v = dec_u32(file->data + at + 4);
    if (v > max_version)
        return clv__error(CLV_EFORMAT, "%s: section '%s' version %u is newer than this libclv reads (%u); "
                          "upgrade libclv", file->name, clv__tag_str(tag, t), v, max_version);
    section_reader(file, at, sec);
    if (version) *version = v;
    return CLV_OK;
}

int clv__reader_next_section(clv__reader *file, clv__reader *sec, uint32_t *tag, uint32_t *version)
{
    if (file->status != CLV_OK || file->tag != 0 || !file->data || file->next_section >= file->end) return 0;
    const uint64_t at = file->next_section;
    section_reader(file, at, sec);
    if (tag) *tag = sec->tag;
    if (version) *version = dec_u32(file->data + at + 4);
    file->next_section = sec->end;
    return 1;
}

void clv__reader_rewind(clv__reader *file) { file->next_section = CLV__HEADER_SIZE; }

/* ---- files ------------------------------------------------------------- */

static int os_error(const char *fmt_action, const char *path, const char *step, int err)
{
    char msg[128];
    if (strerror_r(err, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "errno %d", err);
    return clv__error(CLV_EIO, "%s '%s': %s: %s", fmt_action, path, step, msg);
}

static int write_all(int fd, const uint8_t *p, uint64_t n)
{
    uint64_t done = 0;
    while (done < n) {
        uint64_t chunk = n - done;
        if (chunk > (1u << 20)) chunk = 1u << 20;
        if (clv__io_fail_after_bytes != UINT64_MAX) {
            if (done >= clv__io_fail_after_bytes) {
                errno = ENOSPC;
                return -1;
            }
            if (chunk > clv__io_fail_after_bytes - done) chunk = clv__io_fail_after_bytes - done;
        }
        ssize_t k = write(fd, p + done, (size_t)chunk);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (uint64_t)k;
    }
    return 0;
}

/* Make the rename durable. Filesystems that cannot sync a directory say
 * EINVAL (or ENOTSUP); that is no failure of ours. */
/* fsync the directory holding `path`, so that the rename is durable. Runs
 * after the rename, when the new file is already in place: it must not fail
 * for lack of memory (that would report a failed save that replaced the
 * file), so the directory name goes into the caller's buffer `dir`, which
 * holds at least strlen(path) + 2 bytes. */
static int sync_dir(const char *path, char *dir, const char *what)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        memcpy(dir, ".", 2);
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memmove(dir, path, n);
        dir[n] = '\0';
    }
    int rc = CLV_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
        {
            char action[64];
            snprintf(action, sizeof action, "saved %s to", what);
            rc = os_error(action, path, "syncing its directory failed (the new file is in place)", errno);
        }
        close(fd);
    }
    return rc;
}

int clv__container_save_path(const clv__writer *w, const char *path)
{
    CLV__CHECK_ARG(w != NULL && path != NULL && path[0] != '\0', "clv__container_save_path: writer or path is NULL");
    if (!w->finished)
        return clv__error(CLV_ESTATE, "cannot save model to '%s': the file was not finished", path);
    return clv__save_bytes_atomic(w->buf, w->len, path, "model");
}

static int save_file_atomic(const void *data, size_t len, const char *path, const char *action,
                            const char *what);

int clv__save_bytes_atomic(const void *data, size_t len, const char *path, const char *what)
{
    CLV__CHECK_ARG(data != NULL && path != NULL && path[0] != '\0' && what != NULL,
                   "clv__save_bytes_atomic: NULL argument or empty path");
    char action[64];
    snprintf(action, sizeof action, "cannot save %s to", what);

    int fd_out = -1;
    char *resolved = NULL;
    const int kind = clv__output_target(path, action, &fd_out, &resolved);
    if (kind < 0) return kind;
    if (kind != CLV__OUT_FILE) {
        int sfd = kind == CLV__OUT_FD ? fd_out : open(resolved, O_WRONLY | O_CLOEXEC);
        int werr = sfd < 0 ? errno : 0;
        if (!werr && write_all(sfd, data, len) != 0) werr = errno ? errno : EIO;
        if (sfd >= 0 && kind == CLV__OUT_STREAM && close(sfd) != 0 && !werr) werr = errno;
        clv__free(resolved);
        return werr ? os_error(action, path, "writing into it failed", werr) : CLV_OK;
    }
    path = resolved;   /* a symbolic link: replace its target, never the link */
    int rc_file = save_file_atomic(data, len, path, action, what);
    clv__free(resolved);
    return rc_file;
}

/* Does `path` name one of this process's descriptors? */
static int fd_alias(const char *path, int *fd)
{
    if (strcmp(path, "/dev/stdout") == 0) return *fd = 1, 1;
    if (strcmp(path, "/dev/stderr") == 0) return *fd = 2, 1;
    const char *num = strncmp(path, "/dev/fd/", 8) == 0 ? path + 8
                      : strncmp(path, "/proc/self/fd/", 14) == 0 ? path + 14 : NULL;
    if (!num || *num < '0' || *num > '9') return 0;
    char *end;
    long v = strtol(num, &end, 10);
    if (*end != '\0' || v > 1000000) return 0;
    *fd = (int)v;
    return 1;
}

int clv__output_target(const char *path, const char *action, int *fd, char **resolved)
{
    *resolved = NULL;
    if (fd_alias(path, fd)) return CLV__OUT_FD;
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) return os_error(action, path, "stat failed", errno);
        *resolved = clv__malloc(strlen(path) + 1);
        if (!*resolved) return clv__oom();
        memcpy(*resolved, path, strlen(path) + 1);
        return CLV__OUT_FILE;
    }
    char *target = NULL;
    if (S_ISLNK(st.st_mode)) {
        /* A link to a descriptor (ln -s /proc/self/fd/1 out): its first hop
         * says so, the fully resolved path would name the file behind it. */
        char hop[64];
        ssize_t hn = readlink(path, hop, sizeof hop - 1);
        if (hn > 0) {
            hop[hn] = '\0';
            if (fd_alias(hop, fd)) return CLV__OUT_FD;
        }
        char *rp = realpath(path, NULL);
        if (!rp && errno == ENOENT && hn > 0 && (size_t)hn < sizeof hop - 1) {
            /* A dangling link: create its target (one hop). */
            const char *slash = strrchr(path, '/');
            const size_t dir = hop[0] == '/' || !slash ? 0 : (size_t)(slash - path) + 1;
            target = clv__malloc(dir + (size_t)hn + 1);
            if (!target) return clv__oom();
            memcpy(target, path, dir);
            memcpy(target + dir, hop, (size_t)hn + 1);
            *resolved = target;
            return CLV__OUT_FILE;
        }
        if (!rp) return os_error(action, path, "resolving the symbolic link failed", errno);
        if (fd_alias(rp, fd)) {
            free(rp);
            return CLV__OUT_FD;
        }
        int ok = stat(rp, &st) == 0;
        int err = errno;
        target = clv__malloc(strlen(rp) + 1);
        if (target) memcpy(target, rp, strlen(rp) + 1);
        free(rp);
        if (!target) return clv__oom();
        if (!ok) {
            clv__free(target);
            return os_error(action, path, "stat of the link's target failed", err);
        }
    } else {
        target = clv__malloc(strlen(path) + 1);
        if (!target) return clv__oom();
        memcpy(target, path, strlen(path) + 1);
    }
    *resolved = target;
    if (S_ISREG(st.st_mode)) return CLV__OUT_FILE;
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) return CLV__OUT_STREAM;
    clv__free(target);
    *resolved = NULL;
    return clv__error(CLV_EIO, "%s '%s': it is neither a regular file nor a stream", action, path);
}

/* Write data to a new temporary file beside `path`, then rename it over. */
static int save_file_atomic(const void *data, size_t len, const char *path, const char *action, const char *what)
{
    static atomic_uint counter;
    /* "<path>.tmp.<pid>.<n>", created exclusively with mode 0666 so that the
     * umask applies as for any new file (mkstemp would force 0600). */
    const size_t plen = strlen(path), tcap = plen + 48;
    char *tmp = clv__malloc(tcap);
    if (!tmp) return clv__oom();
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(tmp, tcap, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1u));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int rc = os_error(action, path, "creating a temporary file failed", errno);
        clv__free(tmp);
        return rc;
    }

    const char *step = NULL;
    int err = 0;
    if (write_all(fd, data, len) != 0) {
        step = "writing failed";
        err = errno;
    } else if (clv__io_fail_step == CLV__IO_STEP_FSYNC || fsync(fd) != 0) {
        step = "fsync failed";
        err = clv__io_fail_step == CLV__IO_STEP_FSYNC ? EIO : errno;
    }
    /* close() can report a deferred write error (NFS): it counts. */
    if (close(fd) != 0 && !step) {
        step = "closing failed";
        err = errno;
    }
    if (!step && clv__io_fail_step == CLV__IO_STEP_CLOSE) {
        step = "closing failed";
        err = EIO;
    }
    if (!step && (clv__io_fail_step == CLV__IO_STEP_RENAME || rename(tmp, path) != 0)) {
        step = "renaming the temporary file over it failed";
        err = clv__io_fail_step == CLV__IO_STEP_RENAME ? EIO : errno;
    }
    if (step) {
        unlink(tmp);
        clv__free(tmp);
        return os_error(action, path, step, err);
    }
    /* The temporary name's buffer (longer than path) holds the directory. */
    int rc = sync_dir(path, tmp, what);
    clv__free(tmp);
    return rc;
}

int clv__container_load_path(const char *path, uint8_t **buf, size_t *len)
{
    CLV__CHECK_ARG(path != NULL && buf != NULL && len != NULL, "clv__container_load_path: NULL argument");
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot read model file", path, "open failed", errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = os_error("cannot read model file", path, "stat failed", errno);
        close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return os_error("cannot read model file", path, "not a file", EISDIR);
    }
    /* Regular files: the stated size plus one byte to see the end; others
     * (pipes) grow as they deliver. Either way memory follows real bytes. */
    uint64_t cap = 0, n = 0;
    uint8_t *b = NULL;
    uint64_t want = S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t)st.st_size + 1 : 4096;
    if (want > SIZE_MAX || !(b = clv__malloc((size_t)want))) {
        close(fd);
        return clv__oom();
    }
    cap = want;
    for (;;) {
        if (n == cap && clv__grow((void **)&b, &cap, cap + 1, 1) != CLV_OK) {
            clv__free(b);
            close(fd);
            return CLV_ENOMEM;
        }
        ssize_t k = read(fd, b + n, (size_t)(cap - n));
        if (k < 0) {
            if (errno == EINTR) continue;
            int rc = os_error("cannot read model file", path, "read failed", errno);
            clv__free(b);
            close(fd);
            return rc;
        }
        if (k == 0) break;
        n += (uint64_t)k;
    }
    close(fd);
    *buf = b;
    *len = (size_t)n;
    return CLV_OK;
}

CLV_API int clv_write_file(const char *path, const void *data, size_t size)
{
    CLV__CHECK_ARG(path != NULL && path[0] != '\0', "clv_write_file: path is NULL or empty");
    CLV__CHECK_ARG(data != NULL || size == 0, "clv_write_file: data is NULL");
    static const char none = 0;
    return clv__save_bytes_atomic(data ? data : &none, size, path, "file");
}

CLV_API int clv_file_format_version(const char *path, uint32_t *major, uint32_t *minor)
{
    CLV__CHECK_ARG(path != NULL && major != NULL && minor != NULL, "clv_file_format_version: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot read model file", path, "open failed", errno);
    uint8_t h[12];
    size_t n = 0;
    while (n < sizeof h) {
        ssize_t k = read(fd, h + n, sizeof h - n);
        if (k < 0) {
            if (errno == EINTR) continue;
            int rc = os_error("cannot read model file", path, "read failed", errno);
            close(fd);
            return rc;
        }
        if (k == 0) break;
        n += (size_t)k;
    }
    close(fd);
    size_t cmp = n < 8 ? n : 8;
    if (n == 0 || memcmp(h, CLV__FILE_MAGIC, cmp) != 0)
        return clv__error(CLV_EFORMAT, "%s: not a libclv model file (bad magic)", path);
    if (n < sizeof h)
        return clv__error(CLV_EFORMAT, "%s: truncated at byte %zu (the header needs %u bytes)", path, n,
                          CLV__HEADER_SIZE);
    *major = dec_u16(h + 8);
    *minor = dec_u16(h + 10);
    return CLV_OK;
}
