/* clv_txlog from memory: same-day merge, customer identity across id forms,
 * the row policies (negative, zero, duplicate, order), strict vs lenient,
 * and the report's per-call and total counts. */
#include <math.h>
#include <string.h>

#include <clv/clv.h>

#include "test-common.h"

static clv_txlog *new_log(int strict, int neg, int zero, int dup, int order)
{
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    o.strict = strict;
    if (neg) o.negative_policy = neg;
    if (zero) o.zero_policy = zero;
    if (dup) o.duplicate_policy = dup;
    if (order) o.order_policy = order;
    clv_txlog *log;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_OK);
    return log;
}

START_TEST(options_defaults)
{
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_int_eq(o.strict, 1);
    ck_assert_int_eq(o.delimiter, 0);
    ck_assert_int_eq(o.header, -1);
    ck_assert_int_eq(o.negative_policy, CLV_NEGATIVE_NET);
    ck_assert_int_eq(o.zero_policy, CLV_ZERO_KEEP);
    ck_assert_int_eq(o.duplicate_policy, CLV_DUPLICATE_KEEP);
    ck_assert_int_eq(o.order_policy, CLV_ORDER_ANY);
    o.delimiter = 'x';
    clv_txlog *log = NULL;
    ck_assert_int_eq(clv_txlog_new(&log, &o), CLV_EINVAL);
    ck_assert_ptr_null(log);
    ck_assert(strstr(clv_last_error(), "delimiter") != NULL);
}
END_TEST

/* Same-day rows merge into one customer-day; integer and string ids meet. */
START_TEST(same_day_merge_and_ids)
{
    clv_txlog *log = new_log(1, 0, 0, 0, 0);
    const uint64_t ids[] = { 7, 7, 8, 7 };
    const int32_t days[] = { clv_test_day("1997-01-01"), clv_test_day("1997-01-01"), clv_test_day("1997-01-02"), clv_test_day("1997-01-05") };
    const float amt[] = { 10.0f, 5.5f, 3.0f, 2.0f };
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    ck_assert_int_eq(clv_txlog_append_u64(log, 4, ids, days, amt, NULL, NULL, &r), CLV_OK);
    ck_assert_uint_eq(r.rows_read, 4);
    ck_assert_uint_eq(r.rows_used, 4);
    ck_assert_uint_eq(r.customers, 2);
    ck_assert_uint_eq(r.customer_days, 3);
    ck_assert_int_eq(r.first_day, clv_test_day("1997-01-01"));
    ck_assert_int_eq(r.last_day, clv_test_day("1997-01-05"));
    const char *sid[] = { "7" };
    const int32_t d2[] = { clv_test_day("1997-01-05") };
    const float a2[] = { 1.0f };
    ck_assert_int_eq(clv_txlog_append(log, 1, sid, d2, a2, NULL, NULL, &r), CLV_OK);
    ck_assert_uint_eq(r.rows_read, 1);     /* per call */
    ck_assert_uint_eq(r.customers, 2);     /* totals: "7" is customer 7 */
    ck_assert_uint_eq(r.customer_days, 3);
    clv_txlog_report t;
    clv_txlog_report_init(&t);
    ck_assert_int_eq(clv_txlog_get_report(log, &t), CLV_OK);
    ck_assert_uint_eq(t.rows_read, 5);
    clv_txlog_free(log);
}
END_TEST

static void one_row(clv_txlog *log, const char *id, const char *date, float amount, int expect)
{
    const char *ids[] = { id };
    const int32_t d[] = { clv_test_day(date) };
    const float a[] = { amount };
    ck_assert_int_eq(clv_txlog_append(log, 1, ids, d, a, NULL, NULL, NULL), expect);
}

START_TEST(negative_policies)
{
    clv_txlog *drop = new_log(1, CLV_NEGATIVE_DROP, 0, 0, 0), *err = new_log(1, CLV_NEGATIVE_ERROR, 0, 0, 0);
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    one_row(drop, "a", "2020-01-01", -5.0f, CLV_OK);
    ck_assert_int_eq(clv_txlog_get_report(drop, &r), CLV_OK);
    ck_assert_uint_eq(r.negative_rows, 1);
    ck_assert_uint_eq(r.rows_used, 0);
    ck_assert_uint_eq(r.customers, 0);
    one_row(err, "a", "2020-01-01", -5.0f, CLV_EFORMAT);
    ck_assert(strstr(clv_last_error(), "row 0") != NULL);
    ck_assert(strstr(clv_last_error(), "negative") != NULL);
    clv_txlog_free(drop);
    clv_txlog_free(err);
}
END_TEST

START_TEST(zero_policies)
{
    clv_txlog *keep = new_log(1, 0, CLV_ZERO_KEEP, 0, 0), *drop = new_log(1, 0, CLV_ZERO_DROP, 0, 0);
    clv_txlog *err = new_log(1, 0, CLV_ZERO_ERROR, 0, 0);
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    one_row(keep, "a", "2020-01-01", 0.0f, CLV_OK);
    ck_assert_int_eq(clv_txlog_get_report(keep, &r), CLV_OK);
    ck_assert_uint_eq(r.zero_rows, 1);
    ck_assert_uint_eq(r.customer_days, 1);
    one_row(drop, "a", "2020-01-01", 0.0f, CLV_OK);
    ck_assert_int_eq(clv_txlog_get_report(drop, &r), CLV_OK);
    ck_assert_uint_eq(r.customer_days, 0);
    one_row(err, "a", "2020-01-01", 0.0f, CLV_EFORMAT);
    ck_assert(strstr(clv_last_error(), "zero") != NULL);
    clv_txlog_free(keep);
    clv_txlog_free(drop);
    clv_txlog_free(err);
}
END_TEST

START_TEST(duplicate_and_order_policies)
{
    clv_txlog *keep = new_log(1, 0, 0, 0, 0), *drop = new_log(1, 0, 0, CLV_DUPLICATE_DROP, 0);
    clv_txlog *dup_err = new_log(1, 0, 0, CLV_DUPLICATE_ERROR, 0), *ord_err = new_log(1, 0, 0, 0, CLV_ORDER_ERROR);
    clv_txlog *logs[] = { keep, drop, dup_err };
    for (int i = 0; i < 3; i++) {
        one_row(logs[i], "a", "2020-01-01", 3.0f, CLV_OK);
        one_row(logs[i], "a", "2020-01-01", 3.0f, i == 2 ? CLV_EFORMAT : CLV_OK);
        one_row(logs[i], "a", "2020-01-01", 4.0f, CLV_OK);   /* not identical: fine */
    }
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    ck_assert_int_eq(clv_txlog_get_report(keep, &r), CLV_OK);
    ck_assert_uint_eq(r.duplicate_rows, 1);
    ck_assert_uint_eq(r.rows_used, 3);
    ck_assert_int_eq(clv_txlog_get_report(drop, &r), CLV_OK);
    ck_assert_uint_eq(r.duplicate_rows, 1);
    ck_assert_uint_eq(r.rows_used, 2);
    one_row(ord_err, "a", "2020-01-05", 1.0f, CLV_OK);
    one_row(ord_err, "b", "2020-01-01", 1.0f, CLV_OK);       /* other customer: fine */
    one_row(ord_err, "a", "2020-01-04", 1.0f, CLV_EFORMAT);
    ck_assert(strstr(clv_last_error(), "earlier") != NULL);
    one_row(keep, "a", "2019-12-31", 1.0f, CLV_OK);          /* ANY: accepted, counted */
    ck_assert_int_eq(clv_txlog_get_report(keep, &r), CLV_OK);
    ck_assert_uint_eq(r.out_of_order_rows, 1);
    ck_assert_uint_eq(r.customer_days, 2);
    for (int i = 0; i < 3; i++) clv_txlog_free(logs[i]);
    clv_txlog_free(ord_err);
}
END_TEST

START_TEST(lenient_counts_bad_rows)
{
    clv_txlog *log = new_log(0, 0, 0, 0, 0);
    const char *ids[] = { "a", "", "b", NULL, "c" };
    const int32_t d[] = { 10000, 10000, 10001, 10002, 10003 };
    const float a[] = { 1.0f, 2.0f, NAN, 4.0f, 5.0f };
    const int32_t ev[] = { CLV_EVENT_PURCHASE, CLV_EVENT_PURCHASE, CLV_EVENT_PURCHASE, CLV_EVENT_PURCHASE, 99 };
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    ck_assert_int_eq(clv_txlog_append(log, 5, ids, d, a, NULL, ev, &r), CLV_OK);
    ck_assert_uint_eq(r.rows_read, 5);
    ck_assert_uint_eq(r.bad_rows, 4);
    ck_assert_uint_eq(r.rows_used, 1);
    clv_txlog_free(log);
    log = new_log(1, 0, 0, 0, 0);
    ck_assert_int_eq(clv_txlog_append(log, 5, ids, d, a, NULL, ev, &r), CLV_EFORMAT);
    ck_assert(strstr(clv_last_error(), "row 1") != NULL);
    ck_assert_uint_eq(r.rows_used, 1);   /* rows before the bad one stay */
    clv_txlog_free(log);
}
END_TEST

/* Many customers, rows in scrambled order: the store must find every customer
 * again (dictionary growth) and keep each one's days. */
START_TEST(many_customers_unsorted)
{
    clv_txlog *log = new_log(1, 0, 0, 0, 0);
    enum { N = 50000, R = 3 * N };
    static uint64_t ids[R];
    static int32_t d[R];
    static float a[R];
    for (uint32_t i = 0; i < R; i++) {
        /* i -> i * prime mod R is a permutation of 0..R-1 (the prime does not divide R). */
        uint32_t k = (uint32_t)((uint64_t)i * 2654435761u % R);
        ids[i] = k % N;
        d[i] = 10000 + (int32_t)(k / N) * 3;
        a[i] = 1.0f;
    }
    clv_txlog_report r;
    clv_txlog_report_init(&r);
    ck_assert_int_eq(clv_txlog_append_u64(log, R, ids, d, a, NULL, NULL, &r), CLV_OK);
    ck_assert_uint_eq(r.customers, N);
    ck_assert_uint_eq(r.customer_days, R);
    clv_txlog_free(log);
}
END_TEST

START_TEST(dates_parse_and_format)
{
    char buf[16];
    ck_assert_int_eq(clv_test_day("1970-01-01"), 0);
    ck_assert_int_eq(clv_test_day("19970101"), 9862);
    ck_assert_int_eq(clv_date_format(9862, buf, sizeof buf), CLV_OK);
    ck_assert_str_eq(buf, "1997-01-01");
    int32_t d;
    ck_assert_int_eq(clv_date_parse("1997-02-30", &d), CLV_EFORMAT);
    ck_assert_int_eq(clv_date_format(0, buf, 5), CLV_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("txlog");
    TCase *tc = tcase_create("txlog");
    tcase_add_test(tc, options_defaults);
    tcase_add_test(tc, same_day_merge_and_ids);
    tcase_add_test(tc, negative_policies);
    tcase_add_test(tc, zero_policies);
    tcase_add_test(tc, duplicate_and_order_policies);
    tcase_add_test(tc, lenient_counts_bad_rows);
    tcase_add_test(tc, many_customers_unsorted);
    tcase_add_test(tc, dates_parse_and_format);
    suite_add_tcase(s, tc);
    return clv_test_run(s);
}
