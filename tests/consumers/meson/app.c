/* A meson project's use of libclv: dependency('clv'), <clv/clv.h>. */
#include <clv/clv.h>

#include <stdio.h>

int main(void)
{
    const char *customers[] = {"ann", "bob", "ann"};
    const int32_t days[] = {10000, 10003, 10020};
    const float amounts[] = {12.5f, 40.0f, 7.5f};
    clv_txlog *log = NULL;
    clv_txlog_report report;

    clv_txlog_report_init(&report);
    if (clv_txlog_new(&log, NULL) != CLV_OK ||
        clv_txlog_append(log, 3, customers, days, amounts, NULL, NULL, &report) != CLV_OK) {
        fprintf(stderr, "libclv: %s\n", clv_last_error());
        clv_txlog_free(log);
        return 1;
    }
    printf("libclv %s (headers %s): %llu customers, %llu purchase days\n", clv_version(),
           CLV_VERSION_STRING, (unsigned long long)report.customers,
           (unsigned long long)report.customer_days);
    clv_txlog_free(log);
    return 0;
}
