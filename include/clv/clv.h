/**
 * @file clv.h
 * @brief libclv umbrella header: customer lifetime value with sequence models.
 *
 * Quick tour:
 * @code
 * clv_model_options mo; clv_model_options_init(&mo);
 * mo.input_size = 16; mo.hidden_size = 64;
 * clv_model *m; if (clv_model_new(&m, &mo) != CLV_OK) puts(clv_last_error());
 * clv_optim_options oo; clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
 * clv_optim *opt; clv_optim_new(&opt, &oo);
 * clv_loss_options lo; clv_loss_options_init(&lo);
 * double loss; clv_model_train_step(m, opt, &lo, B, T, x, lengths, NULL, y, NULL, &loss);
 * clv_model_predict(m, NULL, B, T, x, lengths, NULL, yhat, NULL);
 * clv_optim_free(opt); clv_model_free(m);
 * @endcode
 */
#ifndef CLV_CLV_H
#define CLV_CLV_H

#include "common.h"
#include "version.h"
#include "error.h"
#include "model.h"
#include "loss.h"
#include "optim.h"
#include "train.h"
#include "pipeline.h"
#include "simulate.h"
#include "io.h"
#include "metrics.h"
#include "forecast.h"
#include "backtest.h"
#include "btyd.h"

#endif
