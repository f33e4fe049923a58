"""Honest backtests and evaluation metrics (backtest.h, metrics.h)."""

import ctypes

import numpy as np

from ._lib import lib, check, new_options, Metrics, FIT_CALLBACK
from ._util import Closeable, Handle, borrow, f32, fptr, to_day
from .forecast import forecast_options, _Callback

_METRIC_NAMES = [f for f, _ in Metrics._fields_ if f != "struct_size"]


def metrics(pred, actual):
    """Every spend metric of clv_metrics_compute() as a dict (undefined ones are NaN)."""
    p, a = f32(pred, "pred", 1), f32(actual, "actual", 1)
    if len(p) != len(a):
        raise ValueError("pred has %d values, actual %d" % (len(p), len(a)))
    m = new_options(Metrics)
    check(lib.clv_metrics_compute(len(p), fptr(p), fptr(a), ctypes.byref(m)))
    return {k: getattr(m, k) for k in _METRIC_NAMES}


def auc(score, label):
    """Area under the ROC curve of `score` for 0/1 labels."""
    s, y = f32(score, "score", 1), f32(label, "label", 1)
    out = ctypes.c_double()
    check(lib.clv_metric_auc(len(s), fptr(s), fptr(y), ctypes.byref(out)))
    return out.value


def decile_table(pred, actual):
    """(mean_pred[10], mean_actual[10], count[10]) of the deciles by prediction."""
    p, a = f32(pred, "pred", 1), f32(actual, "actual", 1)
    mp, ma = np.empty(10), np.empty(10)
    cnt = np.empty(10, np.uint64)
    check(lib.clv_decile_table(len(p), fptr(p), fptr(a), mp.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                               ma.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                               cnt.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64))))
    return mp, ma, cnt


def model_available(name):
    """Whether this libclv build runs the backtest model `name` ("xgboost", ...)."""
    model = ctypes.c_int32()
    check(lib.clv_backtest_model_lookup(name.encode(), ctypes.byref(model)))
    return lib.clv_backtest_model_available(model.value) == 0


def evaluate(log, cutoff, holdout_end, progress=None, **forecast_opts):
    """Fit every model on `log` up to `cutoff`, predict (cutoff, holdout_end],
    score against what happened. Keywords are forecaster options (see
    clv.forecast_options). Returns a Backtest."""
    o = forecast_options(**forecast_opts)
    cb = _Callback(progress) if progress is not None else None
    out = ctypes.c_void_p()
    st = lib.clv_backtest_run(log._ptr, to_day(cutoff), to_day(holdout_end), ctypes.byref(o),
                              cb.c if cb else FIT_CALLBACK(), None, ctypes.byref(out))
    if cb is not None and cb.error is not None:
        raise cb.error
    check(st)
    return Backtest(Handle(out.value, lib.clv_backtest_free))


class Backtest(Closeable):
    """The result of evaluate(): one row of scores per model (table(),
    to_pandas()), the per-customer predictions and the actual holdout."""

    _lends_memory = True

    def __init__(self, handle):
        self._h = handle

    def __len__(self):
        return int(lib.clv_backtest_customers(self._ptr))

    @property
    def models(self):
        p = self._ptr
        return [lib.clv_backtest_model_name(p, i).decode() for i in range(lib.clv_backtest_models(p))]

    @property
    def actual(self):
        """Holdout totals: spend, transactions, customers buying."""
        p = self._ptr
        return {"spend": lib.clv_backtest_actual_spend(p),
                "transactions": lib.clv_backtest_actual_transactions(p),
                "active": lib.clv_backtest_actual_active(p)}

    def _index(self, model):
        names = self.models
        if isinstance(model, str):
            if model not in names:
                raise KeyError("no model %r in this backtest (models: %s)" % (model, ", ".join(names)))
            return names.index(model)
        return model

    def scores(self, model):
        """One model's row: spend metrics, tx_mae, tx_total_pct_error, auc,
        interval_coverage, fit_seconds."""
        i = self._index(model)
        m = new_options(Metrics)
        tx_mae, tx_pct, a, secs, cov = (ctypes.c_double() for _ in range(5))
        check(lib.clv_backtest_scores(self._ptr, i, ctypes.byref(m), ctypes.byref(tx_mae),
                                      ctypes.byref(tx_pct), ctypes.byref(a), ctypes.byref(secs)))
        check(lib.clv_backtest_interval_coverage(self._ptr, i, ctypes.byref(cov)))
        row = {"model": self.models[i]}
        row.update({k: getattr(m, k) for k in _METRIC_NAMES})
        row.update(tx_mae=tx_mae.value, tx_total_pct_error=tx_pct.value, auc=a.value,
                   interval_coverage=cov.value, fit_seconds=secs.value)
        return row

    def table(self):
        """[row dict per model], in the order of `clv evaluate`."""
        return [self.scores(i) for i in range(len(self.models))]

    def to_pandas(self):
        import pandas as pd
        return pd.DataFrame(self.table()).set_index("model")

    def pred_spend(self, model):
        return borrow(self._h, lib.clv_backtest_pred_spend(self._ptr, self._index(model)),
                      ctypes.c_float, (len(self),))

    def pred_transactions(self, model):
        return borrow(self._h, lib.clv_backtest_pred_transactions(self._ptr, self._index(model)),
                      ctypes.c_float, (len(self),))

    @property
    def actual_spend(self):
        """Actual holdout spend per customer."""
        return borrow(self._h, lib.clv_backtest_actual_spend_per_customer(self._ptr),
                      ctypes.c_float, (len(self),))
