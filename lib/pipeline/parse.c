/* Field parsers for transaction logs: civil dates, ISO 8601 timestamps and
 * decimal numbers, on (pointer, length) fields straight out of the CSV
 * buffer. Nothing here allocates or depends on the process locale: a CSV
 * file means the same thing whatever setlocale() the host application ran. */
#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "../clv_internal.h"
#include "parse.h"

/* ------------------------------------------------------------------ */
/* Civil calendar                                                      */

/* The proleptic Gregorian calendar repeats every 400 years (146097 days).
 * Counting years from March puts the leap day at the end of the year, so
 * the day of the year follows from the month by one linear formula
 * (153 days per 5 months) and the era arithmetic needs no leap table.
 * 719468 is the number of days from 0000-03-01 to 1970-01-01. int64 keeps
 * the intermediate products exact for every int32 day. */
int32_t clv__days_from_civil(int32_t y, uint32_t m, uint32_t d)
{
    int64_t yy = (int64_t)y - (m <= 2 ? 1 : 0);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                              /* [0, 399] */
    int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;      /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;         /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;       /* [0, 146096] */
    return (int32_t)(era * 146097 + doe - 719468);
}

void clv__civil_from_days(int32_t z, int32_t *y, uint32_t *m, uint32_t *d)
{
    int64_t zz = (int64_t)z + 719468;
    int64_t era = (zz >= 0 ? zz : zz - 146096) / 146097;
    int64_t doe = zz - era * 146097;                                        /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;    /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                       /* [0, 11] */
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int32_t)(yoe + era * 400 + (mm <= 2 ? 1 : 0));
    *m = (uint32_t)mm;
    *d = (uint32_t)dd;
}

static int is_leap(int32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static uint32_t days_in_month(int32_t y, uint32_t m)
{
    static const uint8_t dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29u : dim[m - 1];
}

/* Digit value, or a value > 9 for any other byte (one compare per digit). */
static inline unsigned dig(char c) { return (unsigned)(unsigned char)c - (unsigned)'0'; }

/* Two digits at s as 0..99, or -1. */
static inline int two_digits(const char *s)
{
    unsigned a = dig(s[0]), b = dig(s[1]);
    return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

static inline void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t k = *n;
    while (k > 0 && (*p == ' ' || *p == '\t')) { p++; k--; }
    while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t')) k--;
    *s = p;
    *n = k;
}

/* The phrases are static so that callers can put them into their own
 * message (file, line, column) without copying. Each starts with the generic
 * expectation, so a reader always learns which forms are accepted. */
#define DATE_EXPECT "expected YYYYMMDD, YYYY-MM-DD or an ISO 8601 timestamp"

int clv__parse_day(const char *s, size_t n, int32_t *day, const char **why)
{
    trim(&s, &n);
    if (n < 8) goto bad_form;

    unsigned y0 = dig(s[0]), y1 = dig(s[1]), y2 = dig(s[2]), y3 = dig(s[3]);
    if (y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9) goto bad_form;
    int32_t y = (int32_t)(y0 * 1000 + y1 * 100 + y2 * 10 + y3);
    int mon, mday;
    size_t pos;
    if (n == 8) {
        mon = two_digits(s + 4);
        mday = two_digits(s + 6);
        if (mon < 0 || mday < 0) goto bad_form;
        pos = 8;
    } else {
        if (n < 10 || s[4] != '-' || s[7] != '-') goto bad_form;
        mon = two_digits(s + 5);
        mday = two_digits(s + 8);
        if (mon < 0 || mday < 0) goto bad_form;
        pos = 10;
    }
    if (y < 1) {
        *why = DATE_EXPECT " (year 0000 is out of range)";
        return -1;
    }
    if (mon < 1 || mon > 12) {
        *why = DATE_EXPECT " (month out of range 01..12)";
        return -1;
    }
    if (mday < 1 || (uint32_t)mday > days_in_month(y, (uint32_t)mon)) {
        *why = DATE_EXPECT " (no such day in that month)";
        return -1;
    }
    int32_t z = clv__days_from_civil(y, (uint32_t)mon, (uint32_t)mday);
    if (pos == n) {
        *day = z;
        return 0;
    }

    /* A time of day follows: [T t space]HH:MM[:SS[.frac]][zone]. Only the
     * date part of the UTC instant is wanted, so seconds never matter (even
     * a leap second 60 stays inside its minute); the zone can move the
     * instant across midnight, by at most one day since |offset| < 24 h. */
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') goto bad_form;
    pos++;
    if (n - pos < 5 || s[pos + 2] != ':') goto bad_form;
    int hh = two_digits(s + pos), mi = two_digits(s + pos + 3);
    if (hh < 0 || mi < 0) goto bad_form;
    pos += 5;
    int ss = 0;
    if (pos < n && s[pos] == ':') {
        if (n - pos < 3) goto bad_form;
        ss = two_digits(s + pos + 1);
        if (ss < 0) goto bad_form;
        pos += 3;
        if (pos < n && s[pos] == '.') {
            pos++;
            size_t f0 = pos;
            while (pos < n && dig(s[pos]) <= 9) pos++;
            if (pos == f0) goto bad_form;
        }
    }
    if (hh > 23 || mi > 59 || ss > 60) {
        *why = DATE_EXPECT " (time of day out of range 00:00..23:59:60)";
        return -1;
    }
    int offset = 0; /* minutes east of UTC */
    if (pos < n) {
        char c = s[pos];
        if ((c == 'Z' || c == 'z') && pos + 1 == n) {
            offset = 0;
        } else if (c == '+' || c == '-') {
            size_t rest = n - pos - 1;
            const char *o = s + pos + 1;
            int oh, om;
            if (rest == 5 && o[2] == ':') {          /* +HH:MM */
                oh = two_digits(o);
                om = two_digits(o + 3);
            } else if (rest == 4) {                  /* +HHMM */
                oh = two_digits(o);
                om = two_digits(o + 2);
            } else if (rest == 2) {                  /* +HH */
                oh = two_digits(o);
                om = 0;
            } else {
                goto bad_zone;
            }
            if (oh < 0 || om < 0 || oh > 23 || om > 59) goto bad_zone;
            offset = (oh * 60 + om) * (c == '-' ? -1 : 1);
        } else {
            goto bad_zone;
        }
    }
    int minutes = hh * 60 + mi - offset;
    if (minutes < 0) z -= 1;
    else if (minutes >= 24 * 60) z += 1;
    *day = z;
    return 0;

bad_zone:
    *why = DATE_EXPECT " (time zone must be Z, +HH:MM, +HHMM or -HH:MM)";
    return -1;
bad_form:
    *why = DATE_EXPECT;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */

/* Powers of ten that are exact in a double (10^22 < 2^53 * 2^22 and its odd
 * part 5^22 < 2^53). */
static const double exact_pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#define NUM_EXPECT "expected a number (digits, optional sign, '.' and exponent)"
#define TWO53 ((uint64_t)1 << 53)
/* Significant digits kept for strtod. A double is decided by at most 767
 * significant digits (the longest exact halfway case); any digits beyond are
 * summarised by one sticky non-zero digit, which keeps the rounding side. */
#define SLOW_DIGITS 780
/* Exponents beyond this give 0 or overflow whatever the digits; clamping the
 * running value keeps the arithmetic from overflowing on "1e99999999999". */
#define EXP_CLAMP 1000000000LL

/* The digits of a number are two spans (integer part, fraction part) seen as
 * one sequence; this returns digit i of it. */
static inline unsigned digit_at(const char *ip, size_t ni, const char *fp, size_t i)
{
    return dig(i < ni ? ip[i] : fp[i - ni]);
}

int clv__parse_double(const char *s, size_t n, double *out, const char **why)
{
    trim(&s, &n);
    if (n == 0) {
        *why = "expected a number (the field is empty)";
        return -1;
    }
    const char *p = s, *e = s + n;
    int neg = 0;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    /* w accumulates every digit; it is only used when there are at most 19
     * (then it cannot wrap), which is the common case of money amounts. */
    uint64_t w = 0;
    const char *ip = p;
    for (unsigned d; p < e && (d = dig(*p)) <= 9; p++) w = w * 10 + d;
    size_t ni = (size_t)(p - ip);
    const char *fp = p;
    size_t nf = 0;
    if (p < e && *p == '.') {
        fp = ++p;
        for (unsigned d; p < e && (d = dig(*p)) <= 9; p++) w = w * 10 + d;
        nf = (size_t)(p - fp);
    }
    /* "", "+", "." and "nan"/"inf" all end here: no digit at all. */
    if (ni + nf == 0) goto bad;
    int64_t ex = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < e && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        const char *e0 = p;
        while (p < e && dig(*p) <= 9) {
            if (ex < EXP_CLAMP) ex = ex * 10 + dig(*p);
            p++;
        }
        if (p == e0) goto bad;
        if (eneg) ex = -ex;
    }
    /* Trailing garbage, hex ("0x1p3": stops at 'x'), thousands separators. */
    if (p != e) goto bad;

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    /* Fast path (Clinger), see below; here for short texts like "11.77"
     * without the digit-span bookkeeping. */
    if (ni + nf <= 19 && w <= TWO53 && ex - (int64_t)nf >= -22 && ex - (int64_t)nf <= 22) {
        int64_t fe = ex - (int64_t)nf;
        double v = (double)w;
        v = fe < 0 ? v / exact_pow10[-fe] : v * exact_pow10[fe];
        *out = neg ? -v : v;
        return 0;
    }
#endif

    /* Value = (all digits as one integer) * 10^(ex - nf). Leading zeros add
     * nothing and trailing zeros only move the exponent, so the significant
     * run [first, last] decides which path can be exact. */
    size_t nd = ni + nf, first = 0, last = nd;
    while (first < nd && digit_at(ip, ni, fp, first) == 0) first++;
    if (first == nd) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    while (digit_at(ip, ni, fp, last - 1) == 0) last--;
    size_t sig = last - first;
    int64_t e10 = ex - (int64_t)nf + (int64_t)(nd - last);

    /* Fast path (Clinger): a mantissa w <= 2^53 and 10^|e10| are both exact
     * doubles, so one IEEE multiply or divide rounds the exact product once:
     * the correctly rounded result. This needs double arithmetic evaluated
     * in double (not x87 extended precision, which would round twice). */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (sig <= 19) {
        w = 0;
        for (size_t i = first; i < last; i++) w = w * 10 + digit_at(ip, ni, fp, i);
        if (w <= TWO53) {
            /* Beyond 10^22, shift exact powers into the mantissa while it
             * stays an exact integer ("12e25" = 12000e22). */
            int64_t fe = e10;
            while (fe > 22 && w <= TWO53 / 10) {
                w *= 10;
                fe--;
            }
            if (fe >= -22 && fe <= 22) {
                double v = (double)w;
                v = fe < 0 ? v / exact_pow10[-fe] : v * exact_pow10[fe];
                *out = neg ? -v : v;
                return 0;
            }
        }
    }
#endif

    /* Slow path: strtod on the significant digits with the decimal point
     * folded into the exponent ("123.45e6" -> "12345e4"). Without a '.' the
     * text means the same in every locale, so no locale object is needed and
     * the call is thread-safe whatever setlocale() the application uses. */
    char buf[SLOW_DIGITS + 32];
    size_t k = 0;
    size_t keep = sig <= SLOW_DIGITS ? sig : SLOW_DIGITS;
    if (neg) buf[k++] = '-';
    for (size_t i = 0; i < keep; i++) buf[k++] = (char)('0' + digit_at(ip, ni, fp, first + i));
    if (keep < sig) {
        /* Dropped digits: [first+keep, last) contains a non-zero one (digit
         * last-1), so the sticky digit is 1 and it takes their place value. */
        buf[k++] = '1';
        e10 += (int64_t)(sig - keep) - 1;
    }
    buf[k++] = 'e';
    /* Print e10 by hand: snprintf may be locale-aware for nothing here, and
     * this is the only formatting needed. */
    uint64_t ue = e10 < 0 ? (uint64_t)(-e10) : (uint64_t)e10;
    if (e10 < 0) buf[k++] = '-';
    char tmp[24];
    size_t nt = 0;
    do {
        tmp[nt++] = (char)('0' + ue % 10);
        ue /= 10;
    } while (ue);
    while (nt) buf[k++] = tmp[--nt];
    buf[k] = '\0';

    int saved = errno;
    errno = 0;
    char *endp;
    double v = strtod(buf, &endp);
    int range = errno == ERANGE;
    errno = saved;
    if (endp != buf + k) goto bad; /* cannot happen: the text is ours */
    if (range && (v > DBL_MAX || v < -DBL_MAX)) {
        *why = "expected a finite number (beyond the double range)";
        return -1;
    }
    /* ERANGE on underflow: the correctly rounded subnormal or zero is kept. */
    *out = v;
    return 0;

bad:
    *why = NUM_EXPECT;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Public date helpers                                                 */

CLV_API int clv_date_parse(const char *text, int32_t *out_day)
{
    CLV__CHECK_ARG(text != NULL, "clv_date_parse: text is NULL");
    CLV__CHECK_ARG(out_day != NULL, "clv_date_parse: out_day is NULL");
    const char *why;
    int32_t day;
    size_t n = strlen(text);
    if (clv__parse_day(text, n, &day, &why) != 0) {
        return clv__error(CLV_EFORMAT, "clv_date_parse: %s, got \"%.40s%s\"", why, text,
                          n > 40 ? "..." : "");
    }
    *out_day = day;
    return CLV_OK;
}

CLV_API int clv_date_format(int32_t day, char *buf, size_t size)
{
    CLV__CHECK_ARG(buf != NULL, "clv_date_format: buf is NULL");
    CLV__CHECK_ARG(size >= 11, "clv_date_format: buf holds %zu bytes, need at least 11", size);
    int32_t y;
    uint32_t m, d;
    clv__civil_from_days(day, &y, &m, &d);
    /* Four-digit years only, the range clv_date_parse() accepts, so that
     * format and parse are inverses and 11 bytes always suffice. */
    CLV__CHECK_ARG(y >= 1 && y <= 9999,
                   "clv_date_format: day %d is year %d, outside 0001..9999", (int)day, (int)y);
    char *p = buf;
    p[0] = (char)('0' + y / 1000);
    p[1] = (char)('0' + y / 100 % 10);
    p[2] = (char)('0' + y / 10 % 10);
    p[3] = (char)('0' + y % 10);
    p[4] = '-';
    p[5] = (char)('0' + m / 10);
    p[6] = (char)('0' + m % 10);
    p[7] = '-';
    p[8] = (char)('0' + d / 10);
    p[9] = (char)('0' + d % 10);
    p[10] = '\0';
    return CLV_OK;
}
