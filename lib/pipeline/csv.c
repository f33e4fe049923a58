/* Streaming tokenizer for delimited text (see csv.h for the dialect).
 *
 * Speed comes from touching each byte as few times as possible: one memchr
 * finds the line end, quotes and NUL bytes are located once per buffer (not
 * per line), then fields are cut with memchr on the delimiter (or one byte
 * loop in whitespace mode) and handed out as (pointer, length) with no copy.
 * Only lines that contain a '"' take the slower quote-aware path. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../clv_internal.h"
#include "csv.h"

/* Read size: large enough that read() calls are rare (one per ~7000 CDNOW
 * lines), small enough to stay in L2 and to cost few page faults on each
 * call; measured on CDNOW, 256 KiB beat 1 MiB by ~5% of the whole read. */
#define CSV_BUF ((size_t)1 << 18)
/* Detection looks at this many leading bytes and records. */
#define DETECT_BYTES ((size_t)64 << 10)
#define DETECT_RECORDS 20

static void init_common(clv__csv *c, size_t max_record)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->max_record = max_record;
    c->delim = ',';
}

/* Skip a UTF-8 byte order mark; spreadsheet exports often begin with one. */
static void skip_bom(clv__csv *c)
{
    if (c->end - c->cur >= 3 && memcmp(c->cur, "\xEF\xBB\xBF", 3) == 0) c->cur += 3;
}

/* Move the unconsumed bytes to the front, grow the buffer if they fill it
 * (never past cap_limit), and read once. Callers only ask for more while the
 * pending record is at most max_record + 2 bytes, so there is always room. */
static int fill(clv__csv *c)
{
    size_t keep = (size_t)(c->end - c->cur);
    if (c->cur != c->buf && keep) memmove(c->buf, c->cur, keep);
    if (keep == c->cap) {
        size_t ncap = c->cap * 2;
        if (ncap > c->cap_limit) ncap = c->cap_limit;
        if (ncap <= keep) return clv__error(CLV_EFORMAT, "csv: internal buffer limit reached");
        char *nb = clv__malloc(ncap);
        if (!nb) return clv__oom();
        memcpy(nb, c->buf, keep);
        clv__free(c->buf);
        c->buf = nb;
        c->cap = ncap;
    }
    c->cur = c->buf;
    c->end = c->buf + keep;
    c->quote_at = c->nul_at = NULL;
    for (;;) {
        ssize_t n = read(c->fd, c->buf + keep, c->cap - keep);
        if (n > 0) {
            c->end += n;
            return CLV_OK;
        }
        if (n == 0) {
            c->eof = 1;
            return CLV_OK;
        }
        if (errno == EINTR) continue;
        c->err = errno;
        return CLV_EIO;   /* the caller names the file in the message */
    }
}

int clv__csv_open_fd(clv__csv *c, int fd, size_t max_record)
{
    init_common(c, max_record);
    c->fd = fd;
    /* Room for one maximal record plus CRLF and slack, so that a record of
     * exactly max_record bytes is never cut by the buffer. */
    c->cap_limit = max_record + 64 > CSV_BUF ? max_record + 64 : CSV_BUF;
    c->cap = CSV_BUF;
    struct stat st;
    /* A small regular file needs no full-size buffer (tests and many small
     * reads); the buffer still grows if the file does. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size + 1 < CSV_BUF)
        c->cap = (size_t)st.st_size + 1 > 4096 ? (size_t)st.st_size + 1 : 4096;
    c->buf = clv__malloc(c->cap);
    if (!c->buf) return clv__oom();
    c->cur = c->end = c->buf;
    /* Fill for detection (and the BOM), reading until the buffer is full or
     * EOF: a pipe may return a few bytes per read(). */
    while (!c->eof && (size_t)(c->end - c->buf) < c->cap) {
        size_t have = (size_t)(c->end - c->buf);
        ssize_t n = read(fd, c->buf + have, c->cap - have);
        if (n > 0) c->end += n;
        else if (n == 0) c->eof = 1;
        else if (errno != EINTR) {
            c->err = errno;
            return CLV_EIO;
        }
        if (have + (size_t)(n > 0 ? n : 0) >= DETECT_BYTES) break;
    }
    skip_bom(c);
    return CLV_OK;
}

void clv__csv_open_mem(clv__csv *c, const char *data, size_t size, size_t max_record)
{
    init_common(c, max_record);
    c->cur = data;
    c->end = data + size;
    c->eof = 1;
    skip_bom(c);
}

void clv__csv_close(clv__csv *c)
{
    clv__free(c->buf);
    clv__free(c->fp);
    clv__free(c->fn);
    clv__free(c->scratch);
    c->buf = c->scratch = NULL;
    c->fp = NULL;
    c->fn = NULL;
}

/* ------------------------------------------------------------------ */
/* Detection                                                           */

/* Delimiter count of up to DETECT_RECORDS non-blank records of [p, e) for
 * candidate d, with the tokenizer's quoting rule (a '"' opens a quote only at
 * the start of a field). A trailing record is counted only if the sample is
 * the whole input. */
static int sample_counts(const char *p, const char *e, int whole, char d, uint32_t *counts)
{
    int nrec = 0, in_quote = 0, field_start = 1, nonblank = 0;
    uint32_t nd = 0;
    for (; p < e && nrec < DETECT_RECORDS; p++) {
        char ch = *p;
        if (in_quote) {
            if (ch == '"') {
                if (p + 1 < e && p[1] == '"') p++;
                else in_quote = 0;
            }
            continue;
        }
        if (ch == '\n') {
            if (nonblank) counts[nrec++] = nd;
            nd = 0;
            nonblank = 0;
            field_start = 1;
        } else if (ch == d) {
            nd++;
            nonblank = 1;
            field_start = 1;
        } else if (ch == '"' && field_start) {
            in_quote = 1;
            nonblank = 1;
        } else if (ch == ' ' || ch == '\t' || ch == '\r') {
            /* blanks before a quote keep the field start */
        } else {
            field_start = 0;
            nonblank = 1;
        }
    }
    if (whole && p == e && nonblank && !in_quote && nrec < DETECT_RECORDS) counts[nrec++] = nd;
    return nrec;
}

int clv__csv_detect(const clv__csv *c)
{
    /* Tab first: on a tie it wins, since commas inside text columns of a
     * tab-separated file are more common than tabs inside a CSV. */
    static const char cand[] = { '\t', ',', ';', '|' };
    size_t avail = (size_t)(c->end - c->cur);
    size_t n = avail < DETECT_BYTES ? avail : DETECT_BYTES;
    int whole = n == avail && c->eof;
    int best = CLV__CSV_WS;
    int best_match = 0;
    uint32_t best_count = 0;
    for (size_t k = 0; k < sizeof cand; k++) {
        uint32_t counts[DETECT_RECORDS];
        int nrec = sample_counts(c->cur, c->cur + n, whole, cand[k], counts);
        if (nrec == 0) continue;
        /* The most common count (mode) and how many records have it. A
         * real delimiter gives the same field count on (nearly) every line;
         * a stray comma in text does not. */
        uint32_t mode = 0;
        int match = 0;
        for (int i = 0; i < nrec; i++) {
            int m = 0;
            for (int j = 0; j < nrec; j++) m += counts[j] == counts[i];
            if (m > match) {   /* ties keep the earlier count: the first line's */
                match = m;
                mode = counts[i];
            }
        }
        /* At least half the sampled records must agree, the first one
         * (the header, or the row that fixes the field count) included: a
         * real delimiter survives a few malformed lines (lenient reading,
         * or a short file whose one bad row is a third of the sample), and
         * tabs in a space-aligned file do not line up with the first line. */
        if (mode == 0 || counts[0] != mode || match * 2 < nrec) continue;
        if (match > best_match || (match == best_match && mode > best_count)) {
            best = cand[k];
            best_match = match;
            best_count = mode;
        }
    }
    return best;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static int grow_fields(clv__csv *c)
{
    uint32_t ncap = c->fields_cap ? c->fields_cap * 2 : 64;
    const char **fp = clv__malloc(ncap * sizeof *fp);
    size_t *fn = clv__malloc(ncap * sizeof *fn);
    if (!fp || !fn) {
        clv__free(fp);
        clv__free(fn);
        return clv__oom();
    }
    if (c->nfields) {
        memcpy(fp, c->fp, c->nfields * sizeof *fp);
        memcpy(fn, c->fn, c->nfields * sizeof *fn);
    }
    clv__free(c->fp);
    clv__free(c->fn);
    c->fp = fp;
    c->fn = fn;
    c->fields_cap = ncap;
    return CLV_OK;
}

static inline int push(clv__csv *c, const char *p, size_t n)
{
    if (CLV__UNLIKELY(c->nfields == c->fields_cap) && grow_fields(c) != CLV_OK) return CLV_ENOMEM;
    c->fp[c->nfields] = p;
    c->fn[c->nfields] = n;
    c->nfields++;
    return CLV_OK;
}

static inline int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Word-at-a-time splitting. Lines are short and fields shorter, so a byte
 * loop spends its time on mispredicted branches at every field edge; here a
 * 64-byte block of the line becomes one bit mask of separator bytes, and
 * fields fall out of its set bits with count-trailing-zeros. */
#define CSV_SWAR 1

#define ONES 0x0101010101010101ULL
#define LOW7 0x7F7F7F7F7F7F7F7FULL

/* High bit of each byte of w that equals b (exact: no false positives). */
static inline uint64_t bytes_eq(uint64_t w, unsigned char b)
{
    uint64_t x = w ^ (ONES * b);
    return ~(((x & LOW7) + LOW7) | x | LOW7);
}

/* One bit per byte (bit k = byte k) from the high bits of the bytes. The
 * multiply moves bit 8k to bit 56 + k; no two partial products collide. */
static inline uint64_t gather(uint64_t hb) { return ((hb >> 7) * 0x0102040810204080ULL) >> 56; }

/* Separator bytes of [p, p + n), n <= 64: the delimiter, or in whitespace
 * mode space, tab and CR. */
static inline uint64_t sep_mask(const char *p, size_t n, int ws, unsigned char d)
{
    uint64_t m = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t hb = ws ? bytes_eq(w, ' ') | bytes_eq(w, '\t') | bytes_eq(w, '\r') : bytes_eq(w, d);
        m |= gather(hb) << i;
    }
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        uint64_t hit = ws ? (uint64_t)(ch == ' ' || ch == '\t' || ch == '\r') : (uint64_t)(ch == d);
        m |= hit << i;
    }
    return m;
}
#endif

/* A line without quotes, [p, e) with the line end already removed. */
static int split_simple(clv__csv *c, const char *p, const char *e)
{
    c->nfields = 0;
#ifdef CSV_SWAR
    const size_t n = (size_t)(e - p);
    if (c->delim == CLV__CSV_WS) {
        /* Fields are runs of non-separators: a field starts at a
         * non-separator whose predecessor is a separator (or the line
         * start), and ends at the next separator. */
        const char *start = p;
        uint64_t in = 0;   /* inside a field at the end of the previous block */
        for (size_t off = 0; off < n; off += 64) {
            size_t bn = n - off < 64 ? n - off : 64;
            uint64_t valid = bn == 64 ? ~0ULL : (1ULL << bn) - 1;
            uint64_t sep = sep_mask(p + off, bn, 1, 0);
            uint64_t word = ~sep & valid;
            uint64_t prev = (word << 1) | in;
            uint64_t starts = word & ~prev, ends = sep & prev;
            for (uint64_t t = starts | ends; t; t &= t - 1) {
                unsigned k = (unsigned)__builtin_ctzll(t);
                if ((starts >> k) & 1) start = p + off + k;
                else CLV__TRY(push(c, start, (size_t)(p + off + k - start)));
            }
            in = (word >> (bn - 1)) & 1;
        }
        if (in) CLV__TRY(push(c, start, (size_t)(e - start)));
        return CLV_OK;
    }
    const char *start = p;
    for (size_t off = 0; off < n; off += 64) {
        size_t bn = n - off < 64 ? n - off : 64;
        for (uint64_t m = sep_mask(p + off, bn, 0, (unsigned char)c->delim); m; m &= m - 1) {
            const char *s = p + off + (unsigned)__builtin_ctzll(m);
            CLV__TRY(push(c, start, (size_t)(s - start)));
            start = s + 1;
        }
    }
    return push(c, start, (size_t)(e - start));
#else
    if (c->delim == CLV__CSV_WS) {
        for (;;) {
            while (p < e && is_blank(*p)) p++;
            if (p == e) return CLV_OK;
            const char *f = p;
            while (p < e && !is_blank(*p)) p++;
            CLV__TRY(push(c, f, (size_t)(p - f)));
        }
    }
    const char d = (char)c->delim;
    for (;;) {
        const char *r = memchr(p, d, (size_t)(e - p));
        if (!r) return push(c, p, (size_t)(e - p));
        CLV__TRY(push(c, p, (size_t)(r - p)));
        p = r + 1;
    }
#endif
}

enum { Q_OK, Q_MORE, Q_LONG, Q_BAD };

/* Outcome when the scan reaches `e` before the record is complete: more
 * input may follow (read and rescan), or the scan was cut at the record
 * limit, or this is the true end of input. */
static int at_limit(const clv__csv *c, const char *e)
{
    if (e != c->end) return Q_LONG;
    return c->eof ? Q_BAD : Q_MORE;
}

/* A record that contains quotes, from s, scanned no further than e. Quoted
 * fields are unescaped into c->scratch (which holds e - s bytes: output
 * never outruns input). *rend receives the end of the record, past its
 * line end. */
static int split_quoted(clv__csv *c, const char *s, const char *e, const char **rend)
{
    const int ws = c->delim == CLV__CSV_WS;
    const char d = (char)c->delim;
    const int eof_here = e == c->end && c->eof;
    char *out = c->scratch;
    const char *p = s;
    c->nfields = 0;
    if (ws) {
        while (p < e && is_blank(*p)) p++;
    }
    for (;;) {
        const char *q = p;
        if (!ws) {
            while (q < e && (*q == ' ' || (*q == '\t' && d != '\t'))) q++;
        }
        if (q < e && *q == '"') {
            q++;
            char *f = out;
            for (;;) {
                const char *r = memchr(q, '"', (size_t)(e - q));
                if (!r) {
                    c->bad = "unterminated quoted field";
                    return at_limit(c, e);
                }
                memcpy(out, q, (size_t)(r - q));
                out += r - q;
                if (r + 1 < e && r[1] == '"') {
                    *out++ = '"';
                    q = r + 2;
                    continue;
                }
                if (r + 1 == e && !eof_here) return at_limit(c, e);  /* "" split by the read? */
                q = r + 1;
                break;
            }
            CLV__TRY(push(c, f, (size_t)(out - f)));
            const char *after = q;
            while (q < e && (is_blank(*q) && !(*q == d && !ws))) q++;
            if (q == e) {
                if (eof_here) {
                    *rend = e;
                    return Q_OK;
                }
                return at_limit(c, e);
            }
            if (*q == '\n') {
                *rend = q + 1;
                return Q_OK;
            }
            if (ws ? q > after : *q == d) {
                p = ws ? q : q + 1;
                continue;
            }
            c->bad = "unexpected text after a closing quote (expected a delimiter)";
            return Q_BAD;
        }
        /* Unquoted field: up to the delimiter or the line end. */
        const char *r = p;
        if (ws) {
            while (r < e && !is_blank(*r) && *r != '\n') r++;
        } else {
            while (r < e && *r != d && *r != '\n') r++;
        }
        if (r == e && !eof_here) return at_limit(c, e);
        const char *fe = r;
        if (!ws && (r == e || *r == '\n') && fe > p && fe[-1] == '\r') fe--;
        CLV__TRY(push(c, p, (size_t)(fe - p)));
        if (r == e) {
            *rend = e;
            return Q_OK;
        }
        if (*r == '\n') {
            *rend = r + 1;
            return Q_OK;
        }
        if (ws) {
            while (r < e && is_blank(*r)) r++;
            if (r == e) {
                if (!eof_here) return at_limit(c, e);
                *rend = e;
                return Q_OK;
            }
            if (*r == '\n') {
                *rend = r + 1;
                return Q_OK;
            }
            p = r;
        } else {
            p = r + 1;
        }
    }
}

/* Skip the rest of the physical line that starts at c->cur (reading more
 * from a file as needed) and report the record as bad. */
static int skip_line_bad(clv__csv *c, const char *why)
{
    c->bad = why;
    for (;;) {
        const char *nl = memchr(c->cur, '\n', (size_t)(c->end - c->cur));
        if (nl) {
            c->cur = nl + 1;
            break;
        }
        c->cur = c->end;
        if (c->eof) break;
        CLV__TRY(fill(c));
        if (c->cur == c->end && c->eof) break;
    }
    c->lines++;
    return CLV__CSV_BAD;
}

static uint64_t count_newlines(const char *p, const char *e)
{
    uint64_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

static int ensure_scratch(clv__csv *c, size_t n)
{
    if (c->scratch_cap >= n) return CLV_OK;
    size_t ncap = c->scratch_cap ? c->scratch_cap : 4096;
    while (ncap < n) ncap *= 2;
    char *s = clv__malloc(ncap);
    if (!s) return clv__oom();
    clv__free(c->scratch);
    c->scratch = s;
    c->scratch_cap = ncap;
    return CLV_OK;
}

/* The first `ch` at or after `from` in the window, or c->end; *cache keeps
 * the answer for the following lines until they pass it. */
static inline const char *next_of(const clv__csv *c, const char **cache, const char *from, int ch)
{
    if (*cache == NULL || *cache < from) {
        const char *p = memchr(from, ch, (size_t)(c->end - from));
        *cache = p ? p : c->end;
    }
    return *cache;
}

static const char TOO_LONG[] = "line longer than max_line_bytes";

int clv__csv_next(clv__csv *c)
{
    for (;;) {
        size_t avail = (size_t)(c->end - c->cur);
        if (avail == 0) {
            if (c->eof) return CLV__CSV_END;
            CLV__TRY(fill(c));
            continue;
        }
        c->line = c->lines + 1;
        const char *nl = memchr(c->cur, '\n', avail);
        if (!nl && !c->eof) {
            /* Without a line end in max_record + 2 bytes the line cannot fit
             * (at most max_record bytes plus a '\r'). */
            if (avail >= c->max_record + 2) return skip_line_bad(c, TOO_LONG);
            CLV__TRY(fill(c));
            continue;
        }
        const char *le = nl ? nl : c->end;
        const char *next = nl ? nl + 1 : c->end;
        if (le > c->cur && le[-1] == '\r') le--;
        size_t n = (size_t)(le - c->cur);
        if (n > c->max_record) return skip_line_bad(c, TOO_LONG);

        if (CLV__UNLIKELY(next_of(c, &c->quote_at, c->cur, '"') < le)) {
            /* The record may run over several lines; scan at most one
             * maximal record (plus CRLF) of what is buffered. */
            size_t lim = avail < c->max_record + 2 ? avail : c->max_record + 2;
            CLV__TRY(ensure_scratch(c, lim));
            const char *rend = NULL;
            int q = split_quoted(c, c->cur, c->cur + lim, &rend);
            if (q == Q_MORE) {
                CLV__TRY(fill(c));
                continue;
            }
            if (q == Q_LONG) {
                return skip_line_bad(c, "unterminated quoted field, or a quoted record longer than "
                                        "max_line_bytes");
            }
            if (q == Q_BAD) return skip_line_bad(c, c->bad);
            const char *body_end = rend;
            if (body_end > c->cur && body_end[-1] == '\n') body_end--;
            if (body_end > c->cur && body_end[-1] == '\r') body_end--;
            uint64_t nls = count_newlines(c->cur, rend);
            int nul = next_of(c, &c->nul_at, c->cur, '\0') < rend;
            int long_rec = (size_t)(body_end - c->cur) > c->max_record;
            /* The record was well formed: resume after it even when bad. */
            c->lines += nls + (rend[-1] != '\n');
            c->cur = rend;
            if (nul || long_rec) {
                c->bad = nul ? "NUL byte in the line" : TOO_LONG;
                return CLV__CSV_BAD;
            }
            return CLV__CSV_RECORD;
        }

        if (CLV__UNLIKELY(next_of(c, &c->nul_at, c->cur, '\0') < le)) {
            c->cur = next;
            c->lines++;
            c->bad = "NUL byte in the line";
            return CLV__CSV_BAD;
        }
        const char *p = c->cur;
        c->cur = next;
        c->lines++;
        if (c->delim != CLV__CSV_WS) {
            /* A line of blanks only is skipped in every mode. */
            const char *b = p;
            while (b < le && (*b == ' ' || *b == '\t')) b++;
            if (b == le) continue;
        }
        CLV__TRY(split_simple(c, p, le));
        if (c->nfields == 0) continue;
        return CLV__CSV_RECORD;
    }
}
