/* Which backtest models exist and which this build can run (backtest.h). */
#include <string.h>

#include "../clv_internal.h"
#include "xgb.h"

CLV_API int clv_backtest_model_available(int32_t model)
{
    switch (model) {
    case CLV_BACKTEST_SEQUENCE:
    case CLV_BACKTEST_BGNBD_GG:
    case CLV_BACKTEST_PARETONBD_GG:
    case CLV_BACKTEST_NAIVE:
    case CLV_BACKTEST_ZILN:
        return CLV_OK;
    case CLV_BACKTEST_XGBOOST:
        return clv__xgb_available();
    default:
        return clv__error(CLV_EINVAL, "clv_backtest_model_available: unknown model %d", (int)model);
    }
}

CLV_API int clv_backtest_model_lookup(const char *name, int32_t *model)
{
    static const struct { const char *name; int32_t id; } names[] = {
        { "lstm", CLV_BACKTEST_SEQUENCE },          { "gru", CLV_BACKTEST_SEQUENCE },
        { "bgnbd_gg", CLV_BACKTEST_BGNBD_GG },      { "paretonbd_gg", CLV_BACKTEST_PARETONBD_GG },
        { "naive", CLV_BACKTEST_NAIVE },            { "xgboost", CLV_BACKTEST_XGBOOST },
        { "ziln", CLV_BACKTEST_ZILN },
    };
    CLV__CHECK_ARG(name != NULL && model != NULL, "clv_backtest_model_lookup: NULL argument");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *model = names[i].id;
            return CLV_OK;
        }
    return clv__error(CLV_EINVAL,
                      "unknown model '%.64s'; models: lstm (or gru), bgnbd_gg, paretonbd_gg, naive, xgboost, ziln", name);
}
