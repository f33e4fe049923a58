/* Fuzz target: the field parsers (lib/pipeline/parse.c): dates and ISO 8601
 * timestamps, decimal numbers, and the public clv_date_parse/format.
 *
 * Oracles: a number clv__parse_double accepts must equal strtod's reading of
 * the same (trimmed) text bit for bit, and a number it refuses as out of
 * range must overflow in strtod too; a parsed day must format back to a date
 * that parses to the same day; civil <-> days conversions invert each other. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "clv_internal.h"
#include "fuzz.h"
#include "pipeline/parse.h"

static void check_number(const char *s, size_t n)
{
    double v;
    const char *why = NULL;
    int rc = clv__parse_double(s, n, &v, &why);
    /* Trimmed NUL-terminated copy for strtod (the C locale: nothing here calls setlocale). */
    size_t a = 0, b = n;
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
    char *t = malloc(b - a + 1);
    if (!t) FUZZ_FAIL("malloc");
    memcpy(t, s + a, b - a);
    t[b - a] = '\0';
    if (rc == 0) {
        if (!isfinite(v)) FUZZ_FAIL("\"%s\" parsed to a non-finite value", t);
        if (memchr(t, '\0', b - a) == NULL) {
            char *end;
            errno = 0;
            double r = strtod(t, &end);
            if (*end != '\0') FUZZ_FAIL("\"%s\" accepted but strtod stops at byte %zu", t, (size_t)(end - t));
            if (memcmp(&r, &v, sizeof v) != 0) FUZZ_FAIL("\"%s\": parsed %.17g, strtod %.17g", t, v, r);
        }
    } else {
        if (!why || !why[0]) FUZZ_FAIL("\"%s\" refused without a reason", t);
        if (strstr(why, "beyond the double range") && memchr(t, '\0', b - a) == NULL) {
            double r = strtod(t, NULL);
            if (isfinite(r)) FUZZ_FAIL("\"%s\" refused as out of range; strtod gives %.17g", t, r);
        }
    }
    free(t);
}

static void check_day(const char *s, size_t n)
{
    int32_t day;
    const char *why = NULL;
    if (clv__parse_day(s, n, &day, &why) != 0) {
        if (!why || strncmp(why, "expected", 8) != 0) FUZZ_FAIL("date refused without a reason");
        return;
    }
    /* Years 0001..9999, +-1 day for a zone. */
    const int32_t lo = clv__days_from_civil(1, 1, 1) - 1, hi = clv__days_from_civil(9999, 12, 31) + 1;
    if (day < lo || day > hi) FUZZ_FAIL("day %d outside years 1..9999", (int)day);
    int32_t y;
    uint32_t m, d;
    clv__civil_from_days(day, &y, &m, &d);
    if (clv__days_from_civil(y, m, d) != day) FUZZ_FAIL("civil round trip of day %d", (int)day);
    char buf[11];
    if (clv_date_format(day, buf, sizeof buf) == CLV_OK) {
        int32_t back;
        if (clv_date_parse(buf, &back) != CLV_OK || back != day)
            FUZZ_FAIL("day %d formats as %s, which does not parse back", (int)day, buf);
    } else if (y >= 1 && y <= 9999) {
        FUZZ_FAIL("day %d (year %d) does not format", (int)day, (int)y);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_number(s, size);
    check_day(s, size);
    /* The public parser on a NUL-terminated copy agrees with the internal one. */
    char *t = malloc(size + 1);
    if (!t) FUZZ_FAIL("malloc");
    memcpy(t, s, size);
    t[size] = '\0';
    int32_t d1 = 0, d2 = 0;
    const char *why;
    int a = clv_date_parse(t, &d1) == CLV_OK;
    int b = clv__parse_day(t, strlen(t), &d2, &why) == 0;
    if (a != b || (a && d1 != d2)) FUZZ_FAIL("clv_date_parse and clv__parse_day disagree on \"%s\"", t);
    free(t);
    /* Arbitrary day numbers through the civil conversion. */
    if (size >= 4) {
        int32_t z = (int32_t)((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                              (uint32_t)data[3] << 24);
        z %= 5000000;   /* the calendar's int64 arithmetic is exact for years well beyond 9999 */
        int32_t y;
        uint32_t m, d;
        clv__civil_from_days(z, &y, &m, &d);
        if (m < 1 || m > 12 || d < 1 || d > 31 || clv__days_from_civil(y, m, d) != z)
            FUZZ_FAIL("civil conversion of day %d gives %d-%u-%u", (int)z, (int)y, m, d);
    }
    return 0;
}
