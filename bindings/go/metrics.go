package clv

/*
#include <clv/clv.h>
*/
import "C"

import "runtime"

// Metrics are the spend metrics of one prediction (docs/metrics.md). A
// metric undefined for the data (R² with constant actuals, decile MAPE for
// fewer than 10 customers, ...) is NaN.
type Metrics struct {
	MAE, RMSE, R2, Spearman, GiniNorm float64
	DecileMAPE                        float64 // a fraction: 0.2 = 20%
	TotalPctError                     float64 // 100 * (sum pred - sum actual) / sum actual
}

func metricsFromC(c *C.clv_metrics) Metrics {
	return Metrics{
		MAE: float64(c.mae), RMSE: float64(c.rmse), R2: float64(c.r2), Spearman: float64(c.spearman),
		GiniNorm: float64(c.gini_norm), DecileMAPE: float64(c.decile_mape), TotalPctError: float64(c.total_pct_error),
	}
}

func pair(a, b []float32, an, bn string) error {
	if len(a) != len(b) {
		return errorf(ErrShape, "%s has %d entries, %s %d", an, len(a), bn, len(b))
	}
	return nil
}

// Evaluate computes every metric of pred against actual.
func Evaluate(pred, actual []float32) (Metrics, error) {
	if err := pair(pred, actual, "pred", "actual"); err != nil {
		return Metrics{}, err
	}
	var m C.clv_metrics
	C.clv_metrics_init(&m)
	err := call(func() C.int {
		return C.clv_metrics_compute(C.uint64_t(len(pred)), floatPtr(pred), floatPtr(actual), &m)
	})
	return metricsFromC(&m), err
}

// AUC is the area under the ROC curve of score for 0/1 labels.
func AUC(score, label []float32) (float64, error) {
	if err := pair(score, label, "score", "label"); err != nil {
		return 0, err
	}
	var out C.double
	err := call(func() C.int { return C.clv_metric_auc(C.uint64_t(len(score)), floatPtr(score), floatPtr(label), &out) })
	return float64(out), err
}

// Decile is one tenth of the customers sorted by prediction.
type Decile struct {
	MeanPred, MeanActual float64
	Count                int
}

// DecileTable sorts by pred ascending and averages each tenth (n >= 10).
func DecileTable(pred, actual []float32) ([10]Decile, error) {
	var out [10]Decile
	if err := pair(pred, actual, "pred", "actual"); err != nil {
		return out, err
	}
	var mp, ma [10]C.double
	var cnt [10]C.uint64_t
	err := call(func() C.int {
		return C.clv_decile_table(C.uint64_t(len(pred)), floatPtr(pred), floatPtr(actual), &mp[0], &ma[0], &cnt[0])
	})
	for k := range out {
		out[k] = Decile{float64(mp[k]), float64(ma[k]), int(cnt[k])}
	}
	return out, err
}

// BacktestModel is one row of a backtest: a model's scores and predictions.
type BacktestModel struct {
	Name             string // "lstm", "bgnbd_gg", "paretonbd_gg", "naive", "xgboost"
	Spend            Metrics
	TxMAE            float64
	TxTotalPctError  float64
	AUC              float64
	FitSeconds       float64
	IntervalCoverage float64 // share of actual spend inside the 80% interval; NaN without intervals
	PredSpend        []float32
	PredTransactions []float32
}

// BacktestResult is what RunBacktest measured.
type BacktestResult struct {
	Customers              int
	ActualSpend            float64 // holdout totals
	ActualTransactions     float64
	ActualActive           float64
	ActualSpendPerCustomer []float32
	Models                 []BacktestModel
}

// RunBacktest fits every model on l up to cutoff, predicts
// (cutoff, holdoutEnd] and scores against what happened (clv evaluate).
// fopts nil means the default forecaster.
func RunBacktest(l *TxLog, cutoff, holdoutEnd Day, fopts *ForecastOptions) (*BacktestResult, error) {
	if l == nil || l.ptr == nil {
		return nil, closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	var copts *C.clv_forecast_options
	if fopts != nil {
		c := fopts.toC()
		copts = &c
	}
	var bt *C.clv_backtest
	if err := call(func() C.int {
		return C.clv_backtest_run(l.ptr, C.int32_t(cutoff), C.int32_t(holdoutEnd), copts, nil, nil, &bt)
	}); err != nil {
		return nil, err
	}
	defer C.clv_backtest_free(bt)
	n := uint64(C.clv_backtest_customers(bt))
	res := &BacktestResult{
		Customers:              int(n),
		ActualSpend:            float64(C.clv_backtest_actual_spend(bt)),
		ActualTransactions:     float64(C.clv_backtest_actual_transactions(bt)),
		ActualActive:           float64(C.clv_backtest_actual_active(bt)),
		ActualSpendPerCustomer: cFloats(C.clv_backtest_actual_spend_per_customer(bt), n),
	}
	for k := C.uint32_t(0); k < C.clv_backtest_models(bt); k++ {
		var m C.clv_metrics
		C.clv_metrics_init(&m)
		var txMAE, txPct, auc, secs, cov C.double
		if err := call(func() C.int { return C.clv_backtest_scores(bt, k, &m, &txMAE, &txPct, &auc, &secs) }); err != nil {
			return nil, err
		}
		if err := call(func() C.int { return C.clv_backtest_interval_coverage(bt, k, &cov) }); err != nil {
			return nil, err
		}
		res.Models = append(res.Models, BacktestModel{
			Name: C.GoString(C.clv_backtest_model_name(bt, k)), Spend: metricsFromC(&m),
			TxMAE: float64(txMAE), TxTotalPctError: float64(txPct), AUC: float64(auc),
			FitSeconds: float64(secs), IntervalCoverage: float64(cov),
			PredSpend:        cFloats(C.clv_backtest_pred_spend(bt, k), n),
			PredTransactions: cFloats(C.clv_backtest_pred_transactions(bt, k), n),
		})
	}
	return res, nil
}
