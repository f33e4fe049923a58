/* Streaming tokenizer for delimited text: records out of a file descriptor
 * or a memory buffer, each as (pointer, length) fields.
 *
 * Memory is bounded by the longest record, never by the file: a file is read
 * through one buffer (256 KiB, grown only to hold a record up to max_record
 * bytes). Fields point into that buffer, or into a scratch copy for quoted
 * fields, and are valid until the next clv__csv_next() call.
 *
 * Dialect: one delimiter byte, or CLV__CSV_WS (fields separated by runs of
 * spaces/tabs, leading and trailing blanks ignored). RFC 4180 quoting: a field
 * that starts with '"' (after optional blanks) ends at the matching '"'; ""
 * inside stands for one '"'; delimiters and newlines inside are data. A '"'
 * elsewhere in a field is an ordinary byte. LF and CRLF line ends, a UTF-8
 * BOM at the start is skipped, lines holding only blanks are skipped. */
#ifndef CLV_PIPELINE_CSV_H
#define CLV_PIPELINE_CSV_H

#include <stddef.h>
#include <stdint.h>

#define CLV__CSV_WS ' '

/* clv__csv_next() results (errors are negative clv_status values). */
#define CLV__CSV_END 0      /* no more records */
#define CLV__CSV_RECORD 1   /* fields/nfields describe the record at line `line` */
#define CLV__CSV_BAD 2      /* malformed record at line `line`, reason in `bad`; skipped */

typedef struct clv__csv {
    /* Source: fd >= 0 reads the descriptor into buf; fd < 0 reads memory. */
    int fd;
    char *buf;
    size_t cap, cap_limit;
    const char *cur, *end;  /* unconsumed bytes */
    int eof;                /* no bytes beyond `end` */
    size_t max_record;
    int delim;              /* byte, or CLV__CSV_WS */
    int err;                /* errno of a failed read() */

    uint64_t lines;         /* physical lines consumed so far */
    uint64_t line;          /* first physical line (1-based) of the last record */

    /* Fields of the last record. */
    const char **fp;
    size_t *fn;
    uint32_t nfields, fields_cap;
    char *scratch;          /* unescaped quoted fields */
    size_t scratch_cap;

    const char *bad;        /* static phrase for CLV__CSV_BAD */

    /* Next '"' and NUL byte at or after some point of the window (`end`
     * when none; NULL = unknown): one memchr per window instead of two per
     * line when a file has no quotes. Reset whenever the window moves. */
    const char *quote_at, *nul_at;
} clv__csv;

/* Open over a descriptor the caller owns (closed by the caller) or over
 * memory. max_record: longest accepted record in bytes, excluding its line
 * end. CLV_OK or CLV_ENOMEM/CLV_EIO (first read); c->err holds the errno. */
int clv__csv_open_fd(clv__csv *c, int fd, size_t max_record);
void clv__csv_open_mem(clv__csv *c, const char *data, size_t size, size_t max_record);
void clv__csv_close(clv__csv *c);

/* The delimiter that best explains the first lines of the input (it does not
 * consume anything): among ',', '\t', ';' and '|', the one found outside
 * quotes the same number of times (>= 1) on the first line and on at least
 * half of the sampled lines, the more frequent one on a tie; otherwise
 * CLV__CSV_WS. */
int clv__csv_detect(const clv__csv *c);

/* Next non-blank record: CLV__CSV_RECORD, CLV__CSV_BAD (the record is
 * skipped; reading continues at the next line), CLV__CSV_END, or a negative
 * status (CLV_EIO with c->err, CLV_ENOMEM). */
int clv__csv_next(clv__csv *c);

#endif
