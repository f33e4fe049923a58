/* Unit tests of the field parsers (lib/pipeline/parse.c): civil dates,
 * ISO 8601 timestamps and decimal numbers.
 *
 * References are independent of the code under test: a day-by-day walk of
 * the calendar with its own leap rule, hand-worked dates, and the C
 * library's strtod() for numbers (glibc's is correctly rounded), compared
 * bit for bit. */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clv_internal.h"
#include "pipeline/parse.h"
#include "test-common.h"

/* Check's passing asserts are slow inside million-iteration loops. */
#define REQUIRE(cond, ...) \
    do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

static int day_of(const char *s, int32_t *day, const char **why)
{
    return clv__parse_day(s, strlen(s), day, why);
}

/* The day of a date, computed here by the reference walk's own rule (used for
 * hand-written expectations). */
static int ref_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int32_t ref_days(int y, int m, int d)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t z = 0;
    if (y >= 1970) {
        for (int k = 1970; k < y; k++) z += ref_leap(k) ? 366 : 365;
    } else {
        for (int k = y; k < 1970; k++) z -= ref_leap(k) ? 366 : 365;
    }
    for (int k = 1; k < m; k++) z += dim[k - 1] + (k == 2 && ref_leap(y));
    return (int32_t)(z + d - 1);
}

#define EXPECT_DAY(text, y, m, d)                                                               \
    do {                                                                                        \
        int32_t got_ = 0;                                                                       \
        const char *why_ = NULL;                                                                \
        int rc_ = day_of((text), &got_, &why_);                                                 \
        ck_assert_msg(rc_ == 0, "\"%s\" rejected: %s", (text), why_ ? why_ : "(null)");        \
        ck_assert_msg(got_ == ref_days((y), (m), (d)), "\"%s\" -> %d, expected %d (%04d-%02d-%02d)", \
                      (text), (int)got_, (int)ref_days((y), (m), (d)), (y), (m), (d));         \
    } while (0)

#define EXPECT_BAD_DAY(text, needle)                                                           \
    do {                                                                                       \
        int32_t got_ = 12345;                                                                  \
        const char *why_ = NULL;                                                               \
        int rc_ = day_of((text), &got_, &why_);                                                \
        ck_assert_msg(rc_ == -1, "\"%s\" accepted as day %d", (text), (int)got_);             \
        ck_assert_msg(got_ == 12345, "\"%s\": *day written on failure", (text));              \
        ck_assert_msg(why_ && strstr(why_, (needle)), "\"%s\": why = \"%s\", expected \"%s\"", \
                      (text), why_ ? why_ : "(null)", (needle));                              \
    } while (0)

/* ------------------------------------------------------------------ */
/* Civil calendar                                                      */

START_TEST(test_civil_anchors)
{
    ck_assert_int_eq(clv__days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(clv__days_from_civil(1969, 12, 31), -1);
    ck_assert_int_eq(clv__days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(clv__days_from_civil(1997, 1, 1), 9862);
    ck_assert_int_eq(clv__days_from_civil(1998, 6, 30), 10407);
    ck_assert_int_eq(clv__days_from_civil(1, 1, 1), -719162);
    ck_assert_int_eq(clv__days_from_civil(9999, 12, 31), 2932896);
}
END_TEST

/* Walk every day of years 1..9999 with a naive successor rule and check both
 * conversions at each step. */
START_TEST(test_civil_walk)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = 1, m = 1, d = 1;
    int32_t z = -719162;
    for (;;) {
        REQUIRE(clv__days_from_civil(y, (uint32_t)m, (uint32_t)d) == z, "days_from_civil(%d-%d-%d) != %d",
                y, m, d, (int)z);
        int32_t yy;
        uint32_t mm, dd;
        clv__civil_from_days(z, &yy, &mm, &dd);
        REQUIRE(yy == y && (int)mm == m && (int)dd == d, "civil_from_days(%d) = %d-%u-%u, expected %d-%d-%d",
                (int)z, (int)yy, mm, dd, y, m, d);
        if (y == 9999 && m == 12 && d == 31) break;
        int last = dim[m - 1] + (m == 2 && ref_leap(y));
        if (++d > last) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
        z++;
    }
    ck_assert_int_eq(z, 2932896);
}
END_TEST

/* Round trip far outside 1..9999 (the formulas hold for any int32 day). */
START_TEST(test_civil_round_trip_wide)
{
    uint32_t s = 7;
    for (int i = 0; i < 200000; i++) {
        s = s * 1664525u + 1013904223u;
        int32_t z = (int32_t)(s >> 1) - (int32_t)0x3fffffff;  /* about +-1.07e9 days */
        if (i < 4) z = i == 0 ? -2000000000 : i == 1 ? 2000000000 : i == 2 ? -1 : 0;
        int32_t y;
        uint32_t m, d;
        clv__civil_from_days(z, &y, &m, &d);
        REQUIRE(m >= 1 && m <= 12 && d >= 1 && d <= 31, "day %d gives month %u day %u", (int)z, m, d);
        REQUIRE(clv__days_from_civil(y, m, d) == z, "round trip of %d via %d-%u-%u", (int)z, (int)y, m, d);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dates and timestamps                                                */

START_TEST(test_date_forms)
{
    EXPECT_DAY("19970101", 1997, 1, 1);
    EXPECT_DAY("1997-01-01", 1997, 1, 1);
    EXPECT_DAY("1998-06-30", 1998, 6, 30);
    EXPECT_DAY("  19980630\t", 1998, 6, 30);     /* surrounding blanks */
    EXPECT_DAY("1997-09-30T00:00", 1997, 9, 30);
    EXPECT_DAY("1997-09-30T23:59:59", 1997, 9, 30);
    EXPECT_DAY("1997-09-30 12:34:56", 1997, 9, 30);
    EXPECT_DAY("1997-09-30t12:34", 1997, 9, 30);
    EXPECT_DAY("1997-09-30T12:34:56.789", 1997, 9, 30);
    EXPECT_DAY("1997-09-30T12:34:56.123456789Z", 1997, 9, 30);
    EXPECT_DAY("1997-09-30T12:34:56Z", 1997, 9, 30);
    EXPECT_DAY("1997-09-30T12:34:56z", 1997, 9, 30);
    EXPECT_DAY("0001-01-01", 1, 1, 1);
    EXPECT_DAY("9999-12-31", 9999, 12, 31);
    EXPECT_DAY("1969-12-31", 1969, 12, 31);
}
END_TEST

START_TEST(test_date_leap_years)
{
    EXPECT_DAY("2000-02-29", 2000, 2, 29);   /* divisible by 400 */
    EXPECT_DAY("20240229", 2024, 2, 29);     /* divisible by 4 */
    EXPECT_DAY("1600-02-29", 1600, 2, 29);
    EXPECT_BAD_DAY("1900-02-29", "no such day");   /* divisible by 100 */
    EXPECT_BAD_DAY("2023-02-29", "no such day");
    EXPECT_BAD_DAY("21000229", "no such day");
    EXPECT_DAY("1900-02-28", 1900, 2, 28);
    EXPECT_DAY("1900-03-01", 1900, 3, 1);
}
END_TEST

START_TEST(test_date_invalid)
{
    EXPECT_BAD_DAY("19971341", "month out of range");
    EXPECT_BAD_DAY("1997-13-01", "month out of range");
    EXPECT_BAD_DAY("1997-00-10", "month out of range");
    EXPECT_BAD_DAY("1997-01-00", "no such day");
    EXPECT_BAD_DAY("1997-01-32", "no such day");
    EXPECT_BAD_DAY("1997-04-31", "no such day");
    EXPECT_BAD_DAY("1997-06-31", "no such day");
    EXPECT_BAD_DAY("1997-09-31", "no such day");
    EXPECT_BAD_DAY("1997-11-31", "no such day");
    EXPECT_BAD_DAY("0000-01-01", "year");
    /* Forms. Every message names the accepted forms. */
    const char *bad[] = {
        "", "   ", "1997", "1997011", "199701011", "1997-1-01", "1997-01-1", "97-01-01",
        "1997/01/01", "01/02/1997", "1997-01-01T", "1997-01-01T1", "1997-01-01T10", "1997-01-01T10:0",
        "1997-01-01T1000", "1997-01-01X10:00", "1997-01-01T10:00:", "1997-01-01T10:00:5",
        "1997-01-01T10:00:00.", "1997-01-01  10:00", "1997-01-01T10:00 Z", "abcdefgh",
        "1997-01-01Z", "+1997-01-01", "1997-01-01T10:00:00.5.5", "1997\x00" "0101",
        "19970101T100000", "1997-01-01T10:00:00,5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_BAD_DAY(bad[i], "expected YYYYMMDD, YYYY-MM-DD or an ISO 8601 timestamp");
    /* An embedded NUL (not NUL-terminated input): the length decides. */
    int32_t day;
    const char *why;
    ck_assert_int_eq(clv__parse_day("1997\0" "0101", 9, &day, &why), -1);
}
END_TEST

START_TEST(test_time_range)
{
    EXPECT_DAY("1997-01-01T23:59:60", 1997, 1, 1);    /* leap second */
    EXPECT_DAY("1998-12-31T23:59:60Z", 1998, 12, 31);
    EXPECT_DAY("1997-01-01T00:00:00", 1997, 1, 1);
    EXPECT_BAD_DAY("1997-01-01T24:00", "time of day out of range");
    EXPECT_BAD_DAY("1997-01-01T23:60", "time of day out of range");
    EXPECT_BAD_DAY("1997-01-01T23:59:61", "time of day out of range");
}
END_TEST

START_TEST(test_time_zones)
{
    /* East of UTC: early local times are the previous UTC day. */
    EXPECT_DAY("1997-03-01T00:30+01:00", 1997, 2, 28);
    EXPECT_DAY("1997-03-01T00:30+0100", 1997, 2, 28);
    EXPECT_DAY("1997-03-01T00:30+01", 1997, 2, 28);
    EXPECT_DAY("1997-03-01T01:00+01:00", 1997, 3, 1);    /* exactly midnight UTC */
    EXPECT_DAY("2000-03-01T05:00+05:30", 2000, 2, 29);   /* into a leap day */
    EXPECT_DAY("1997-01-01T00:00:00.5+00:01", 1996, 12, 31);  /* across a year */
    /* West of UTC: late local times are the next UTC day. */
    EXPECT_DAY("1997-12-31T23:30-01:00", 1998, 1, 1);
    EXPECT_DAY("1997-12-31T22:59-01:00", 1997, 12, 31);
    EXPECT_DAY("1997-12-31T23:00-01:00", 1998, 1, 1);
    EXPECT_DAY("1997-06-15T20:00-0500", 1997, 6, 16);
    EXPECT_DAY("1997-06-15T18:59:59.999-05:00", 1997, 6, 15);
    EXPECT_DAY("2024-02-28T23:00-02:00", 2024, 2, 29);
    EXPECT_DAY("1997-06-15T12:00+00:00", 1997, 6, 15);
    EXPECT_DAY("1997-06-15T12:00-00:00", 1997, 6, 15);
    /* A leap second written in a zone east of UTC belongs to the UTC day it falls in. */
    EXPECT_DAY("1999-01-01T00:59:60+01:00", 1998, 12, 31);
    EXPECT_BAD_DAY("1997-06-15T12:00+24:00", "time zone");
    EXPECT_BAD_DAY("1997-06-15T12:00+01:60", "time zone");
    EXPECT_BAD_DAY("1997-06-15T12:00+1", "time zone");
    EXPECT_BAD_DAY("1997-06-15T12:00+01:0", "time zone");
    EXPECT_BAD_DAY("1997-06-15T12:00+01:00Z", "time zone");
    EXPECT_BAD_DAY("1997-06-15T12:00 UTC", "time zone");
    EXPECT_BAD_DAY("1997-06-15T12:00Zulu", "time zone");
}
END_TEST

/* Every valid YYYYMMDD of a few years agrees with the YYYY-MM-DD form and the
 * reference count. */
START_TEST(test_date_all_days)
{
    for (int y = 1995; y <= 2001; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 31; d++) {
                char a[16], b[16];
                snprintf(a, sizeof a, "%04d%02d%02d", y, m, d);
                snprintf(b, sizeof b, "%04d-%02d-%02d", y, m, d);
                int32_t za = 0, zb = 0;
                const char *why;
                int ra = day_of(a, &za, &why), rb = day_of(b, &zb, &why);
                static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
                int valid = d <= dim[m - 1] + (m == 2 && ref_leap(y));
                REQUIRE(ra == (valid ? 0 : -1) && rb == ra, "%s: %d, %s: %d", a, ra, b, rb);
                if (valid) REQUIRE(za == ref_days(y, m, d) && zb == za, "%s -> %d", a, (int)za);
            }
        }
    }
}
END_TEST

START_TEST(test_public_date_helpers)
{
    int32_t day = -1;
    ck_assert_int_eq(clv_date_parse("1997-09-30", &day), CLV_OK);
    ck_assert_int_eq(day, ref_days(1997, 9, 30));
    ck_assert_int_eq(clv_date_parse("19970930", &day), CLV_OK);
    ck_assert_int_eq(day, ref_days(1997, 9, 30));
    ck_assert_int_eq(clv_date_parse("1997-09-30T23:00:00-02:00", &day), CLV_OK);
    ck_assert_int_eq(day, ref_days(1997, 10, 1));

    day = 77;
    ck_assert_int_eq(clv_date_parse("1997-02-30", &day), CLV_EFORMAT);
    ck_assert_int_eq(day, 77);
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "clv_date_parse"));
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "\"1997-02-30\""));
    ck_assert_ptr_nonnull(strstr(clv_last_error(), "YYYY-MM-DD"));
    ck_assert_int_eq(clv_date_parse(NULL, &day), CLV_EINVAL);
    ck_assert_int_eq(clv_date_parse("1997-01-01", NULL), CLV_EINVAL);

    char buf[11];
    ck_assert_int_eq(clv_date_format(0, buf, sizeof buf), CLV_OK);
    ck_assert_str_eq(buf, "1970-01-01");
    ck_assert_int_eq(clv_date_format(ref_days(1998, 6, 30), buf, sizeof buf), CLV_OK);
    ck_assert_str_eq(buf, "1998-06-30");
    ck_assert_int_eq(clv_date_format(-719162, buf, sizeof buf), CLV_OK);
    ck_assert_str_eq(buf, "0001-01-01");
    ck_assert_int_eq(clv_date_format(2932896, buf, sizeof buf), CLV_OK);
    ck_assert_str_eq(buf, "9999-12-31");
    ck_assert_int_eq(clv_date_format(0, buf, 10), CLV_EINVAL);
    ck_assert_int_eq(clv_date_format(0, NULL, 11), CLV_EINVAL);
    ck_assert_int_eq(clv_date_format(-719163, buf, sizeof buf), CLV_EINVAL);
    ck_assert_int_eq(clv_date_format(2932897, buf, sizeof buf), CLV_EINVAL);

    /* format and parse are inverses over the whole range. */
    for (int32_t z = -719162; z <= 2932896; z += 97) {
        char t[11];
        int32_t back = 0;
        REQUIRE(clv_date_format(z, t, sizeof t) == CLV_OK, "format %d", (int)z);
        REQUIRE(clv_date_parse(t, &back) == CLV_OK && back == z, "%s -> %d, expected %d", t, (int)back,
                (int)z);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Numbers                                                             */

static int num(const char *s, double *v, const char **why)
{
    return clv__parse_double(s, strlen(s), v, why);
}

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Parse `s` both ways. strtod overflow (ERANGE with +-HUGE_VAL) must be a
 * rejection; otherwise the bits must match. */
static void check_vs_strtod(const char *s)
{
    errno = 0;
    char *end;
    double ref = strtod(s, &end);
    int overflow = errno == ERANGE && isinf(ref);
    REQUIRE(*end == '\0', "test bug: strtod stopped early on \"%s\"", s);
    double v = 0;
    const char *why = NULL;
    int rc = num(s, &v, &why);
    if (overflow) {
        REQUIRE(rc == -1, "\"%s\" overflows but was accepted as %g", s, v);
        REQUIRE(why && strstr(why, "finite"), "\"%s\": why = %s", s, why ? why : "(null)");
    } else {
        REQUIRE(rc == 0, "\"%s\" rejected: %s", s, why ? why : "(null)");
        REQUIRE(same_double(v, ref), "\"%s\" -> %.17g, strtod gives %.17g", s, v, ref);
    }
}

START_TEST(test_number_basic)
{
    struct { const char *s; double v; } ok[] = {
        { "0", 0.0 }, { "1", 1.0 }, { "-1", -1.0 }, { "+1", 1.0 }, { "11.77", 11.77 },
        { "  29.33 ", 29.33 }, { "\t0.00", 0.0 }, { ".5", 0.5 }, { "5.", 5.0 }, { "-.25", -0.25 },
        { "1e3", 1000.0 }, { "1E3", 1000.0 }, { "1e+3", 1000.0 }, { "2.5e-3", 0.0025 },
        { "000123.4500", 123.45 }, { "1e0", 1.0 }, { "123456789012345678", 123456789012345678.0 },
        { "0.1", 0.1 }, { "0.3", 0.3 }, { "1e22", 1e22 }, { "1e23", 1e23 }, { "12e25", 12e25 },
        { "1e-22", 1e-22 }, { "1e-23", 1e-23 }, { "4.9e-324", 4.9e-324 },
        { "1.7976931348623157e308", DBL_MAX }, { "2.2250738585072014e-308", DBL_MIN },
        { "0e999999999999999", 0.0 }, { "1e-99999999999999", 0.0 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -12345;
        const char *why = NULL;
        ck_assert_msg(num(ok[i].s, &v, &why) == 0, "\"%s\" rejected: %s", ok[i].s, why);
        ck_assert_msg(same_double(v, ok[i].v), "\"%s\" -> %.17g, expected %.17g", ok[i].s, v, ok[i].v);
    }
    double v = 1;
    const char *why;
    ck_assert_int_eq(num("-0", &v, &why), 0);
    ck_assert_msg(v == 0 && signbit(v), "-0 keeps its sign");
    ck_assert_int_eq(num("-0.000e5", &v, &why), 0);
    ck_assert_msg(v == 0 && signbit(v), "-0.000e5 keeps its sign");
}
END_TEST

START_TEST(test_number_rejects)
{
    const char *bad[] = {
        "", " ", "+", "-", ".", "+.", "-.e1", "e5", "1e", "1e+", "1e-", "1.2.3", "1,5", "1,000",
        "0x10", "0x1p3", "nan", "NaN", "inf", "-inf", "Infinity", "1e5x", "12 34", "$12", "12$",
        "--1", "+-1", "1e5.5", "1d5", "١٢", "0b101", "1_000", "1e1e1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 42;
        const char *why = NULL;
        ck_assert_msg(num(bad[i], &v, &why) == -1, "\"%s\" accepted as %.17g", bad[i], v);
        ck_assert_msg(v == 42, "\"%s\": *out written on failure", bad[i]);
        ck_assert_msg(why && strncmp(why, "expected", 8) == 0, "\"%s\": why = %s", bad[i], why);
    }
    double v;
    const char *why = NULL;
    ck_assert_int_eq(num("", &v, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "empty"));
    ck_assert_int_eq(num("1e400", &v, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "finite"));
    ck_assert_int_eq(num("-1.8e308", &v, &why), -1);
    /* Length decides, not a NUL: "12" followed by garbage within the field. */
    ck_assert_int_eq(clv__parse_double("12\0" "3", 4, &v, &why), -1);
    ck_assert_int_eq(clv__parse_double("123", 2, &v, &why), 0);
    ck_assert(v == 12.0);
}
END_TEST

/* Hard cases for correct rounding: halfway points just above 2^53, the
 * subnormal boundary, 20+ digit mantissas whose tail decides the rounding. */
START_TEST(test_number_hard_cases)
{
    const char *hard[] = {
        "9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995",
        "9007199254740993.0000000000000000001", "18014398509481985", "18014398509481986",
        "2.2250738585072011e-308", "2.2250738585072012e-308", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "1.7976931348623158e308", "1.7976931348623159e308",
        "0.1000000000000000055511151231257827021181583404541015625",
        "0.1000000000000000055511151231257827021181583404541015624",
        "0.1000000000000000055511151231257827021181583404541015626",
        "123456789012345678901234567890", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "3.141592653589793238462643383279502884197169399375105820974944",
        "8.98846567431158e307", "4.9406564584124654e-324", "7.2057594037927933e16",
        "1e-400", "1e400", "-1e-400", "100000000000000000000000", "99999999999999999999e-20",
        "5e-324", "2e-324", "3e-324",
    };
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) check_vs_strtod(hard[i]);

    /* More than 780 significant digits: the sticky digit must still round
     * a value just above a halfway point up, and the halfway point itself to even. */
    static char big[2400];
    /* 2^53 + 1 (halfway between 2^53 and 2^53+2) followed by many zeros then a 1. */
    snprintf(big, sizeof big, "9007199254740993.");
    size_t k = strlen(big);
    for (int j = 0; j < 2000; j++) big[k++] = '0';
    big[k++] = '1';
    big[k] = '\0';
    check_vs_strtod(big);
    big[k - 1] = '0';
    check_vs_strtod(big);
}
END_TEST

static uint64_t rng64(uint64_t *s)
{
    /* splitmix64: independent of libclv's RNG. */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Random decimal texts of every shape the grammar allows, against strtod. */
START_TEST(test_number_random_vs_strtod)
{
    uint64_t s = 2024;
    char buf[160];
    for (int i = 0; i < 400000; i++) {
        size_t k = 0;
        uint64_t r = rng64(&s);
        int sign = (int)(r % 3);
        if (sign == 1) buf[k++] = '-';
        if (sign == 2) buf[k++] = '+';
        r /= 3;
        /* Mantissa lengths: mostly short (the fast path), some 17..40 digits. */
        int nint = (int)(r % 8 == 0 ? 17 + (r >> 3) % 24 : (r >> 3) % 10);
        int nfrac = (int)((r >> 12) % 8 == 0 ? 10 + (r >> 15) % 30 : (r >> 15) % 6);
        int zeros = (int)((r >> 20) % 4 == 0);     /* leading zeros */
        if (zeros) buf[k++] = '0';
        for (int j = 0; j < nint; j++) buf[k++] = (char)('0' + rng64(&s) % 10);
        int dot = nfrac > 0 || (r >> 23) % 5 == 0;
        if (nint == 0 && nfrac == 0 && !zeros) buf[k++] = '7';
        if (dot) {
            buf[k++] = '.';
            for (int j = 0; j < nfrac; j++) buf[k++] = (char)('0' + rng64(&s) % 10);
        }
        uint64_t r2 = rng64(&s);
        if (r2 % 3 != 0) {
            buf[k++] = (r2 & 8) ? 'e' : 'E';
            if (r2 & 16) buf[k++] = '-';
            else if (r2 & 32) buf[k++] = '+';
            /* Exponents mostly small (fast path), some up to +-340. */
            int ex = (int)((r2 >> 8) % 4 == 0 ? (r2 >> 10) % 341 : (r2 >> 10) % 25);
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%d", ex);
        }
        buf[k] = '\0';
        check_vs_strtod(buf);
    }
}
END_TEST

/* Round trip of random doubles printed with 17 significant digits (%.17g
 * re-reads exactly) and with fewer digits (still correctly rounded). */
START_TEST(test_number_random_doubles)
{
    uint64_t s = 99;
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = rng64(&s);
        double x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x)) continue;
        snprintf(buf, sizeof buf, "%.17g", x);
        double v;
        const char *why;
        REQUIRE(num(buf, &v, &why) == 0 && same_double(v, x), "%s -> %.17g", buf, v);
        snprintf(buf, sizeof buf, "%.*e", (int)(rng64(&s) % 16), x);
        check_vs_strtod(buf);
        /* Money-like values: the CSV case. */
        snprintf(buf, sizeof buf, "%.2f", (double)(rng64(&s) % 10000000) / 100.0);
        check_vs_strtod(buf);
    }
}
END_TEST

/* The parser must not follow the process locale (a ',' decimal point would
 * break strtod-based parsing of "1.5"). Skipped when no such locale exists. */
START_TEST(test_number_locale_independent)
{
    const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE", "fr_FR" };
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (!got) {
        fprintf(stderr, "test_number_locale_independent: no comma-decimal locale installed; skipped\n");
        return;
    }
    double v;
    const char *why;
    ck_assert_int_eq(num("1.5", &v, &why), 0);
    ck_assert(v == 1.5);
    /* The slow path too. */
    ck_assert_int_eq(num("1.00000000000000000000000000001", &v, &why), 0);
    ck_assert(v == 1.0);
    ck_assert_int_eq(num("1,5", &v, &why), -1);
    setlocale(LC_NUMERIC, "C");
}
END_TEST

static Suite *parse_suite(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("civil");
    tcase_add_test(tc, test_civil_anchors);
    tcase_add_test(tc, test_civil_walk);
    tcase_add_test(tc, test_civil_round_trip_wide);
    suite_add_tcase(s, tc);
    tc = tcase_create("dates");
    tcase_add_test(tc, test_date_forms);
    tcase_add_test(tc, test_date_leap_years);
    tcase_add_test(tc, test_date_invalid);
    tcase_add_test(tc, test_time_range);
    tcase_add_test(tc, test_time_zones);
    tcase_add_test(tc, test_date_all_days);
    tcase_add_test(tc, test_public_date_helpers);
    suite_add_tcase(s, tc);
    tc = tcase_create("numbers");
    tcase_add_test(tc, test_number_basic);
    tcase_add_test(tc, test_number_rejects);
    tcase_add_test(tc, test_number_hard_cases);
    tcase_add_test(tc, test_number_random_vs_strtod);
    tcase_add_test(tc, test_number_random_doubles);
    tcase_add_test(tc, test_number_locale_independent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return clv_test_run(parse_suite());
}
