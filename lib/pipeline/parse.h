/* Field parsers for transaction logs: dates, timestamps and numbers, on
 * (pointer, length) fields that are not NUL-terminated. Locale-independent. */
#ifndef CLV_PIPELINE_PARSE_H
#define CLV_PIPELINE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 for a valid proleptic Gregorian date (any year 1..9999). */
int32_t clv__days_from_civil(int32_t y, uint32_t m, uint32_t d);
void clv__civil_from_days(int32_t z, int32_t *y, uint32_t *m, uint32_t *d);

/* "YYYYMMDD", "YYYY-MM-DD", or ISO 8601 "YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM|+HHMM]"
 * (surrounding spaces ignored). Zoned timestamps are converted to UTC.
 * Returns 0 and sets *day, or -1 with *why = a static phrase saying what was expected. */
int clv__parse_day(const char *s, size_t n, int32_t *day, const char **why);

/* A decimal number: optional sign, digits with optional '.', optional exponent;
 * surrounding spaces ignored; no NaN/Inf, no thousands separators.
 * Returns 0 and sets *out (correctly rounded), or -1 with *why. */
int clv__parse_double(const char *s, size_t n, double *out, const char **why);

#endif
