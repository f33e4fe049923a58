/* clv_txlog: the customer table, customer-day records and row policies. */
/* madvise() and MADV_HUGEPAGE are BSD/GNU extensions of <sys/mman.h>. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "txlog_impl.h"

uint64_t clv__hash_bytes(const void *data, size_t n, uint64_t seed)
{
    /* FNV-1a with a final avalanche: ids are short, and the mix keeps the
     * low bits (used for slot selection) well distributed. */
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

CLV_API void clv_txlog_options_init(clv_txlog_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->strict = 1;
    o->delimiter = 0;
    o->header = -1;
    o->negative_policy = CLV_NEGATIVE_NET;
    o->zero_policy = CLV_ZERO_KEEP;
    o->duplicate_policy = CLV_DUPLICATE_KEEP;
    o->order_policy = CLV_ORDER_ANY;
    o->max_line_bytes = 65536;
    o->threads = 1;
}

CLV_API void clv_txlog_report_init(clv_txlog_report *r)
{
    if (!r) return;
    memset(r, 0, sizeof *r);
    r->struct_size = sizeof *r;
}

static int validate_options(const clv_txlog_options *o)
{
    static const char fn[] = "clv_txlog_new";
    CLV__CHECK_ARG(o->strict == 0 || o->strict == 1, "%s: strict = %d, expected 0 or 1", fn, (int)o->strict);
    CLV__CHECK_ARG(o->delimiter == 0 || o->delimiter == ',' || o->delimiter == '\t' || o->delimiter == ';' ||
                       o->delimiter == ' ' || o->delimiter == '|',
                   "%s: delimiter = %d, expected 0 (detect), ',', '\\t', ';', '|' or ' ' (whitespace runs)", fn,
                   (int)o->delimiter);
    CLV__CHECK_ARG(o->header >= -1 && o->header <= 1, "%s: header = %d, expected -1, 0 or 1", fn, (int)o->header);
    CLV__CHECK_ARG(o->negative_policy >= CLV_NEGATIVE_NET && o->negative_policy <= CLV_NEGATIVE_ERROR,
                   "%s: negative_policy = %d is not a clv_negative_policy", fn, (int)o->negative_policy);
    CLV__CHECK_ARG(o->zero_policy >= CLV_ZERO_KEEP && o->zero_policy <= CLV_ZERO_ERROR,
                   "%s: zero_policy = %d is not a clv_zero_policy", fn, (int)o->zero_policy);
    CLV__CHECK_ARG(o->duplicate_policy >= CLV_DUPLICATE_KEEP && o->duplicate_policy <= CLV_DUPLICATE_ERROR,
                   "%s: duplicate_policy = %d is not a clv_duplicate_policy", fn, (int)o->duplicate_policy);
    CLV__CHECK_ARG(o->order_policy == CLV_ORDER_ANY || o->order_policy == CLV_ORDER_ERROR,
                   "%s: order_policy = %d is not a clv_order_policy", fn, (int)o->order_policy);
    CLV__CHECK_ARG(o->max_line_bytes >= 64 && o->max_line_bytes <= (1u << 30),
                   "%s: max_line_bytes = %u, expected 64..2^30", fn, o->max_line_bytes);
    CLV__CHECK_ARG(o->threads <= 256, "%s: threads = %u, expected 0 (one per online CPU) .. 256", fn, o->threads);
    CLV__CHECK_ARG(o->shard_count <= 1 || o->shard_index < o->shard_count,
                   "%s: shard_index = %u, expected 0..%u (shard_count = %u)", fn, o->shard_index,
                   o->shard_count - 1, o->shard_count);
    return CLV_OK;
}

CLV_API int clv_txlog_new(clv_txlog **out, const clv_txlog_options *opts)
{
    CLV__CHECK_ARG(out != NULL, "clv_txlog_new: out is NULL");
    *out = NULL;
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    if (opts) {
        CLV__CHECK_ARG(CLV__HAS_FIELD(clv_txlog_options, opts, strict), "clv_txlog_new: options struct_size %u is too small; call clv_txlog_options_init()",
                       opts->struct_size);
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    CLV__TRY(validate_options(&o));
    clv_txlog *log = clv__calloc(1, sizeof *log);
    if (!log) return clv__oom();
    log->o = o;
    clv_txlog_report_init(&log->totals);
    log->totals.first_day = INT32_MAX;
    log->totals.last_day = INT32_MIN;
    log->last_customer = UINT32_MAX;
    *out = log;
    return CLV_OK;
}

CLV_API void clv_txlog_free(clv_txlog *log)
{
    if (!log) return;
    for (uint32_t c = 0; c < log->ncats; c++) {
        clv__category_column *cc = &log->cats[c];
        clv__free(cc->values);
        clv__free(cc->value_off);
        clv__free(cc->value_hash);
        clv__free(cc->dict.slots);
        clv__free(cc->customer_value);
        clv__free(cc->customer_value_day);
    }
    clv__free(log->customers);
    clv__free(log->dict.slots);
    clv__free(log->ids);
    clv__free(log->recs);
    clv__free(log);
}

/* ---- dictionaries ------------------------------------------------------ */

/* Open addressing keyed by (hash, string); `key_at` resolves an entry index
 * to its string and hash so the dictionary stores only 32-bit indices. */
typedef struct dict_keys {
    const char *base;          /* strings back to back */
    const uint64_t *off;       /* per entry: offset in base (NULL: use customers) */
    const uint64_t *hashes;
    const clv__customer *customers;
} dict_keys;

static void key_of(const dict_keys *k, uint32_t i, const char **s, uint64_t *h)
{
    if (k->customers) {
        *s = k->base + k->customers[i].id_off;
        *h = k->customers[i].hash;
    } else {
        *s = k->base + k->off[i];
        *h = k->hashes[i];
    }
}

/* Slots hold the entry index and the upper half of its hash: probing
 * compares that tag first and looks at an entry's string (a cache miss into
 * the customer table) only when the tags agree, and growing the table never
 * touches the entries. The probe sequence starts at the tag, so the tag
 * alone places an entry on rehash. */
static inline uint64_t dict_home(uint64_t h, uint64_t mask) { return (h >> 32) & mask; }

/* Returns the entry index or UINT32_MAX; *slot gets where it would go. */
static uint32_t dict_find(const clv__dict *d, const dict_keys *k, const char *s, size_t n, uint64_t h,
                          uint64_t *slot)
{
    if (!d->cap) {
        *slot = 0;
        return UINT32_MAX;
    }
    const uint64_t mask = d->cap - 1, tag = h >> 32;
    for (uint64_t i = dict_home(h, mask);; i = (i + 1) & mask) {
        uint64_t v = d->slots[i];
        uint32_t e = (uint32_t)v;
        if (e == 0) {
            *slot = i;
            return UINT32_MAX;
        }
        if ((v >> 32) != tag) continue;
        const char *ks;
        uint64_t kh;
        key_of(k, e - 1, &ks, &kh);
        if (kh == h && strncmp(ks, s, n) == 0 && ks[n] == '\0') return e - 1;
    }
}

/* Lookups land at random in the table: on a large one nearly every lookup
 * is a TLB miss, which 2 MiB pages avoid (a hint; harmless if refused). */
static void huge_hint(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t page = (uintptr_t)2 << 20;
    if (bytes < ((size_t)4 << 20)) return;
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + bytes) & ~(page - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* Keep the load factor below 1/2 for `count` entries. Returns 1 in *moved
 * when the table was rebuilt (slots found before are stale). */
static int dict_reserve(clv__dict *d, uint64_t count, int *moved)
{
    *moved = 0;
    if (count * 2 < d->cap) return CLV_OK;
    uint64_t cap = d->cap ? d->cap * 2 : 1024;
    while (count * 2 >= cap) cap *= 2;
    uint64_t *slots = clv__calloc(cap, sizeof *slots);
    if (!slots) return clv__oom();
    huge_hint(slots, cap * sizeof *slots);
    for (uint64_t i = 0; i < d->cap; i++) {
        uint64_t v = d->slots[i];
        if (!(uint32_t)v) continue;
        uint64_t j = (v >> 32) & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = v;
    }
    clv__free(d->slots);
    d->slots = slots;
    d->cap = cap;
    *moved = 1;
    return CLV_OK;
}

static inline uint64_t dict_slot_value(uint64_t h, uint64_t index) { return (h >> 32) << 32 | (index + 1); }

static int append_string(char **buf, uint64_t *len, uint64_t *cap, const char *s, size_t n, uint64_t *off)
{
    void *b = *buf;
    CLV__TRY(clv__grow(&b, cap, *len + n + 1, 1));
    *buf = b;
    memcpy(*buf + *len, s, n);
    (*buf)[*len + n] = '\0';
    *off = *len;
    *len += n + 1;
    return CLV_OK;
}

/* Two arrays that share one capacity. If the second growth fails the first
 * keeps its larger block; the shared capacity stays the smaller, which is safe. */
static int grow_pair(void **a, size_t ea, void **b, size_t eb, uint64_t *cap, uint64_t need)
{
    uint64_t ca = *cap, cb = *cap;
    int rc = clv__grow(a, &ca, need, ea);
    if (rc == CLV_OK) rc = clv__grow(b, &cb, need, eb);
    if (rc == CLV_OK) *cap = ca < cb ? ca : cb;
    return rc;
}

static uint32_t find_customer(const clv_txlog *log, const char *id, size_t n, uint64_t h, uint64_t *slot)
{
    dict_keys k = { log->ids, NULL, NULL, log->customers };
    return dict_find(&log->dict, &k, id, n, h, slot);
}

/* `slot`: where find_customer() said the id would go. */
static int add_customer(clv_txlog *log, const char *id, size_t n, uint64_t h, uint64_t slot, uint32_t *out)
{
    if (log->ncustomers >= UINT32_MAX - 1)
        return clv__error(CLV_ENOMEM, "clv_txlog: more than %u customers", UINT32_MAX - 1);
    dict_keys k = { log->ids, NULL, NULL, log->customers };
    int moved;
    CLV__TRY(dict_reserve(&log->dict, log->ncustomers + 1, &moved));
    void *cs = log->customers;
    CLV__TRY(clv__grow(&cs, &log->customers_cap, log->ncustomers + 1, sizeof *log->customers));
    log->customers = cs;
    for (uint32_t c = 0; c < log->ncats; c++) {
        clv__category_column *cc = &log->cats[c];
        CLV__TRY(grow_pair((void **)&cc->customer_value, sizeof *cc->customer_value,
                           (void **)&cc->customer_value_day, sizeof *cc->customer_value_day,
                           &cc->customer_cap, log->ncustomers + 1));
        cc->customer_value[log->ncustomers] = 0;
        cc->customer_value_day[log->ncustomers] = INT32_MAX;
    }
    uint64_t off;
    CLV__TRY(append_string(&log->ids, &log->ids_len, &log->ids_cap, id, n, &off));
    clv__customer *c = &log->customers[log->ncustomers];
    c->id_off = off;
    c->hash = h;
    c->head = CLV__NO_RECORD;
    c->ndays = 0;
    c->last_row_day = INT32_MIN;
    c->last_row_hash = 0;
    if (moved) {
        k.base = log->ids;
        k.customers = log->customers;
        dict_find(&log->dict, &k, id, n, h, &slot);
    }
    log->dict.slots[slot] = dict_slot_value(h, log->ncustomers);
    *out = (uint32_t)log->ncustomers++;
    log->totals.customers = log->ncustomers;
    return CLV_OK;
}

static int category_id(clv__category_column *cc, const char *s, size_t n, uint32_t *out)
{
    uint64_t h = clv__hash_bytes(s, n, 0x5eed);
    dict_keys k = { cc->values, cc->value_off, cc->value_hash, NULL };
    uint64_t slot;
    uint32_t id = dict_find(&cc->dict, &k, s, n, h, &slot);
    if (id != UINT32_MAX) {
        *out = id;
        return CLV_OK;
    }
    int moved;
    CLV__TRY(dict_reserve(&cc->dict, cc->nvalues + 1, &moved));
    CLV__TRY(grow_pair((void **)&cc->value_off, sizeof *cc->value_off, (void **)&cc->value_hash,
                       sizeof *cc->value_hash, &cc->nvalues_cap, cc->nvalues + 1));
    uint64_t off;
    CLV__TRY(append_string(&cc->values, &cc->values_len, &cc->values_cap, s, n, &off));
    cc->value_off[cc->nvalues] = off;
    cc->value_hash[cc->nvalues] = h;
    if (moved) {
        k.base = cc->values;
        k.off = cc->value_off;
        k.hashes = cc->value_hash;
        dict_find(&cc->dict, &k, s, n, h, &slot);
    }
    cc->dict.slots[slot] = dict_slot_value(h, cc->nvalues);
    *out = (uint32_t)cc->nvalues++;
    return CLV_OK;
}

/* ---- rows -------------------------------------------------------------- */

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 32);
}

static uint64_t row_hash(const clv__row *r)
{
    /* Everything mapped except the id (the customer is already fixed),
     * mixed a word at a time: this runs once per row. */
    uint64_t a, q;
    memcpy(&a, &r->amount, sizeof a);
    memcpy(&q, &r->quantity, sizeof q);
    uint64_t h = mix64(mix64(mix64((uint64_t)(uint32_t)r->day, a), q), (uint64_t)(uint32_t)r->event);
    for (uint32_t c = 0; c < CLV__MAX_CATEGORY_COLUMNS; c++)
        if (r->cat[c]) h = mix64(h, clv__hash_bytes(r->cat[c], r->cat_len[c], c));
    return h | 1u;   /* 0 means "no previous row" */
}

/* The record for (customer, day), inserted in newest-first order if new.
 * Logs sorted by date hit the head at once; unsorted ones walk the list. */
static int day_record(clv_txlog *log, uint32_t ci, int32_t day, clv__day_rec **out)
{
    clv__customer *c = &log->customers[ci];
    uint32_t prev = CLV__NO_RECORD, cur = c->head;
    while (cur != CLV__NO_RECORD && log->recs[cur].day > day) {
        prev = cur;
        cur = log->recs[cur].next;
    }
    if (cur != CLV__NO_RECORD && log->recs[cur].day == day) {
        *out = &log->recs[cur];
        return CLV_OK;
    }
    if (log->nrecs >= CLV__NO_RECORD - 1)
        return clv__error(CLV_ENOMEM, "clv_txlog: more than %u customer-days", CLV__NO_RECORD - 1);
    void *recs = log->recs;
    CLV__TRY(clv__grow(&recs, &log->recs_cap, log->nrecs + 1, sizeof *log->recs));
    log->recs = recs;
    uint32_t idx = (uint32_t)log->nrecs++;
    clv__day_rec *r = &log->recs[idx];
    memset(r, 0, sizeof *r);
    r->day = day;
    r->next = cur;
    if (prev == CLV__NO_RECORD) c->head = idx;
    else log->recs[prev].next = idx;
    c->ndays++;
    log->totals.customer_days = log->nrecs;
    *out = r;
    return CLV_OK;
}

/* FNV-1a 64, then MurmurHash3's 64-bit finaliser: simple enough for any
 * other program to reproduce when it writes per-rank files, independent of
 * the log's own (seeded) hash. The finaliser matters: FNV-1a's low bits are
 * poorly mixed (its lowest bit is the parity of the bytes' lowest bits), and
 * a shard count of 2, 4, 8 ... reads only those. */
static uint64_t shard_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

CLV_API uint32_t clv_customer_shard(const char *id, uint32_t shards)
{
    if (!id || shards <= 1) return 0;
    return (uint32_t)(shard_hash(id, strlen(id)) % shards);
}

int clv__txlog_add(clv_txlog *log, const clv__row *row, const char **why)
{
    const clv_txlog_options *o = &log->o;
    clv_txlog_report *t = &log->totals;
    const int purchase = row->event == CLV_EVENT_PURCHASE;
    *why = NULL;
    /* Another rank's customer: not ours to check, count or keep. */
    if (o->shard_count > 1 && shard_hash(row->id, row->id_len) % o->shard_count != o->shard_index) return CLV_OK;

    /* Day records keep float sums. A finite double such as 1e39 is inf as a
     * float, and a few 3e38 rows overflow a day's or a customer's total:
     * features would turn non-finite far from the row that caused it. Rows
     * beyond CLV__MAX_AMOUNT are refused here, before anything changes, so
     * that any sum of up to 2^32 rows per customer stays finite. */
    if (purchase && !(fabs(row->amount) <= CLV__MAX_AMOUNT)) {
        *why = "amount out of range (|amount| must be at most 1e15)";
        return CLV_EFORMAT;
    }
    if (!(fabs(row->quantity) <= CLV__MAX_AMOUNT)) {
        *why = "quantity out of range (|quantity| must be at most 1e15)";
        return CLV_EFORMAT;
    }

    if (purchase && row->amount < 0) {
        t->negative_rows++;
        if (o->negative_policy == CLV_NEGATIVE_DROP) return CLV_OK;
        if (o->negative_policy == CLV_NEGATIVE_ERROR) {
            *why = "negative amount (a return), refused by CLV_NEGATIVE_ERROR";
            return CLV_EFORMAT;
        }
    } else if (purchase && row->amount == 0) {
        t->zero_rows++;
        if (o->zero_policy == CLV_ZERO_DROP) return CLV_OK;
        if (o->zero_policy == CLV_ZERO_ERROR) {
            *why = "zero amount, refused by CLV_ZERO_ERROR";
            return CLV_EFORMAT;
        }
    }

    uint64_t h, rh = row_hash(row);
    uint32_t ci = log->last_customer;
    /* Logs usually come grouped by customer or order: most rows belong to
     * the previous row's customer, and a string compare beats a hash lookup
     * (a cache miss per row on millions of customers). */
    if (ci != UINT32_MAX) {
        const char *prev = log->ids + log->customers[ci].id_off;
        if (strncmp(prev, row->id, row->id_len) == 0 && prev[row->id_len] == '\0') h = log->customers[ci].hash;
        else ci = UINT32_MAX;
    }
    uint64_t slot = 0;
    if (ci == UINT32_MAX) {
        h = clv__hash_bytes(row->id, row->id_len, 0);
        ci = find_customer(log, row->id, row->id_len, h, &slot);
    }
    if (ci != UINT32_MAX) {
        clv__customer *c = &log->customers[ci];
        if (row->day < c->last_row_day) {
            t->out_of_order_rows++;
            if (o->order_policy == CLV_ORDER_ERROR) {
                *why = "date earlier than the customer's previous row, refused by CLV_ORDER_ERROR";
                return CLV_EFORMAT;
            }
        }
        if (rh == c->last_row_hash) {
            t->duplicate_rows++;
            if (o->duplicate_policy == CLV_DUPLICATE_DROP) return CLV_OK;
            if (o->duplicate_policy == CLV_DUPLICATE_ERROR) {
                *why = "duplicate of the customer's previous row, refused by CLV_DUPLICATE_ERROR";
                return CLV_EFORMAT;
            }
        }
    } else {
        CLV__TRY(add_customer(log, row->id, row->id_len, h, slot, &ci));
    }

    clv__day_rec *r = NULL;
    CLV__TRY(day_record(log, ci, row->day, &r));
    switch (row->event) {
    case CLV_EVENT_PURCHASE:
        r->spend += (float)row->amount;
        if (row->amount >= 0) {
            r->purchases++;
            r->items += (float)row->quantity;
        }
        break;
    case CLV_EVENT_VIEW: r->views++; log->has_events = 1; break;
    case CLV_EVENT_CLICK: r->clicks++; log->has_events = 1; break;
    default: r->carts++; log->has_events = 1; break;
    }

    for (uint32_t c = 0; c < log->ncats; c++) {
        if (!row->cat[c]) continue;
        clv__category_column *cc = &log->cats[c];
        if (row->day >= cc->customer_value_day[ci]) continue;
        uint32_t id;
        CLV__TRY(category_id(cc, row->cat[c], row->cat_len[c], &id));
        cc->customer_value[ci] = id + 1;
        cc->customer_value_day[ci] = row->day;
    }

    clv__customer *c = &log->customers[ci];
    if (row->day > c->last_row_day) c->last_row_day = row->day;
    c->last_row_hash = rh;
    log->last_customer = ci;
    t->rows_used++;
    if (row->day < t->first_day) t->first_day = row->day;
    if (row->day > t->last_day) t->last_day = row->day;
    return CLV_OK;
}

/* ---- public appenders and report --------------------------------------- */

static void report_since(const clv_txlog *log, const clv_txlog_report *before, clv_txlog_report *out)
{
    if (!out || out->struct_size < sizeof(uint32_t)) return;
    clv_txlog_report r = log->totals;
    r.rows_read -= before->rows_read;
    r.rows_used -= before->rows_used;
    r.bad_rows -= before->bad_rows;
    r.negative_rows -= before->negative_rows;
    r.zero_rows -= before->zero_rows;
    r.duplicate_rows -= before->duplicate_rows;
    r.out_of_order_rows -= before->out_of_order_rows;
    if (log->nrecs == 0) r.first_day = r.last_day = 0;   /* no date range yet */
    uint32_t keep = out->struct_size;
    memcpy(out, &r, keep < sizeof r ? keep : sizeof r);
    out->struct_size = keep;
}

void clv__txlog_report_since(const clv_txlog *log, const clv_txlog_report *before, clv_txlog_report *out)
{
    report_since(log, before, out);
}

CLV_API int clv_txlog_get_report(const clv_txlog *log, clv_txlog_report *out)
{
    CLV__CHECK_ARG(log != NULL && out != NULL, "clv_txlog_get_report: log or out is NULL");
    CLV__CHECK_ARG(out->struct_size >= sizeof(uint32_t), "clv_txlog_get_report: out->struct_size is 0; call clv_txlog_report_init()");
    clv_txlog_report zero;
    memset(&zero, 0, sizeof zero);
    report_since(log, &zero, out);
    return CLV_OK;
}

static const char *event_ok(int32_t e)
{
    return (e >= CLV_EVENT_PURCHASE && e <= CLV_EVENT_CART) ? NULL : "event is not a clv_event";
}

/* Shared by both appenders: `id_at` gives row i's id text. */
static int append_rows(clv_txlog *log, uint64_t n, const char *(*id_at)(const void *, uint64_t, char *),
                       const void *ids, const int32_t *days, const float *amounts,
                       const float *quantities, const int32_t *events, clv_txlog_report *report,
                       const char *fn)
{
    CLV__CHECK_ARG(log != NULL, "%s: log is NULL", fn);
    CLV__CHECK_ARG(n == 0 || (ids != NULL && days != NULL && amounts != NULL),
                   "%s: ids, days and amounts are required", fn);
    const clv_txlog_report before = log->totals;
    char buf[24];
    int rc = CLV_OK;
    for (uint64_t i = 0; i < n && rc == CLV_OK; i++) {
        log->totals.rows_read++;
        clv__row row;
        memset(&row, 0, sizeof row);
        row.id = id_at(ids, i, buf);
        const char *bad = NULL;
        if (!row.id || !row.id[0]) bad = "customer id is NULL or empty";
        else row.id_len = strlen(row.id);
        row.day = days[i];
        row.event = events ? events[i] : CLV_EVENT_PURCHASE;
        row.amount = amounts[i];
        row.quantity = quantities ? quantities[i] : 1.0;
        if (!bad) bad = event_ok(row.event);
        if (!bad && row.event == CLV_EVENT_PURCHASE && !isfinite(amounts[i])) bad = "amount is not finite";
        if (!bad && !isfinite(row.quantity)) bad = "quantity is not finite";
        if (!bad && (row.day < -719162 || row.day > 2932896)) bad = "day is outside years 1..9999";
        if (!bad) {
            rc = clv__txlog_add(log, &row, &bad);
            if (rc != CLV_OK && rc != CLV_EFORMAT) break;
            rc = CLV_OK;
        }
        if (bad) {
            if (log->o.strict) {
                rc = clv__error(CLV_EFORMAT, "%s: row %llu: %s", fn, (unsigned long long)i, bad);
            } else {
                log->totals.bad_rows++;
            }
        }
    }
    report_since(log, &before, report);
    return rc;
}

static const char *string_id(const void *ids, uint64_t i, char *buf)
{
    (void)buf;
    return ((const char *const *)ids)[i];
}

static const char *u64_id(const void *ids, uint64_t i, char *buf)
{
    snprintf(buf, 24, "%llu", (unsigned long long)((const uint64_t *)ids)[i]);
    return buf;
}

CLV_API int clv_txlog_append(clv_txlog *log, uint64_t n, const char *const *ids, const int32_t *days,
                             const float *amounts, const float *quantities, const int32_t *events,
                             clv_txlog_report *report)
{
    return append_rows(log, n, string_id, ids, days, amounts, quantities, events, report,
                       "clv_txlog_append");
}

CLV_API int clv_txlog_append_u64(clv_txlog *log, uint64_t n, const uint64_t *ids, const int32_t *days,
                                 const float *amounts, const float *quantities, const int32_t *events,
                                 clv_txlog_report *report)
{
    return append_rows(log, n, u64_id, ids, days, amounts, quantities, events, report,
                       "clv_txlog_append_u64");
}
