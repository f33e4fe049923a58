"""The CLV forecaster: fit on a log up to a cutoff, predict per customer (forecast.h)."""

import ctypes
import os

import numpy as np

from ._lib import lib, check, new_options, ForecastOptions, FIT_CALLBACK
from ._util import Closeable, Handle, new_handle, borrow, to_day, to_date
from .model import CELLS, _CELL_NAMES, _key
from .pipeline import stage_name

_OPTION_NAMES = [f for f, _ in ForecastOptions._fields_ if f != "struct_size"]


def forecast_options(**kw):
    """clv_forecast_options from keywords (cell "lstm"/"gru", hidden_size,
    num_layers, epochs, batch_size, lr, weight_decay, max_steps, samples,
    horizon_days, seed, valid_weeks, max_epochs, ensemble, threads, dropout)."""
    o = new_options(ForecastOptions)
    for k, v in kw.items():
        if k not in _OPTION_NAMES:
            raise TypeError("unknown forecaster option %r (known: %s)" % (k, ", ".join(_OPTION_NAMES)))
        setattr(o, k, _key(CELLS, v, "cell") if k == "cell" else v)
    return o


class _Callback:
    """A Python progress callback wrapped for C. An exception inside it stops
    the fit and is re-raised in place of the C status CLV_ECANCELED."""

    def __init__(self, fn):
        self.fn, self.error = fn, None
        self.c = FIT_CALLBACK(self._call)

    def _call(self, progress, user):
        p = progress.contents
        info = {"epoch": p.epoch, "epochs": p.epochs, "train_loss": p.train_loss,
                "valid_loss": p.valid_loss, "elapsed_seconds": p.elapsed_seconds,
                "eta_seconds": p.eta_seconds}
        try:
            return 1 if self.fn(info) else 0
        except BaseException as e:  # noqa: B902 - carried across C and re-raised
            self.error = e
            return 1


class Forecaster(Closeable):
    """Forecaster(**options): see forecast_options() for the keywords; e.g.
    Forecaster(hidden_size=32, epochs=0, ensemble=3, horizon_days=273, seed=1)."""

    def __init__(self, **options):
        o = forecast_options(**options)
        self._h = new_handle(lib.clv_forecaster_new, lib.clv_forecaster_free, ctypes.byref(o))

    @classmethod
    def _wrap(cls, ptr):
        f = cls.__new__(cls)
        f._h = Handle(ptr, lib.clv_forecaster_free)
        return f

    @property
    def options(self):
        o = new_options(ForecastOptions)
        check(lib.clv_forecaster_get_options(self._ptr, ctypes.byref(o)))
        d = {k: getattr(o, k) for k in _OPTION_NAMES}
        d["cell"] = _CELL_NAMES[d["cell"]]
        return d

    def fit(self, log, cutoff, progress=None):
        """Fit on `log` up to `cutoff` (inclusive). progress: optional
        callable(dict) after every epoch; a true return value stops fitting
        (clv.Canceled). Returns self."""
        cb = _Callback(progress) if progress is not None else None
        if cb is not None:
            check(lib.clv_forecaster_set_callback(self._ptr, cb.c, None))
        try:
            st = lib.clv_forecaster_fit(self._ptr, log._ptr, to_day(cutoff))
        finally:
            if cb is not None:
                check(lib.clv_forecaster_set_callback(self._ptr, FIT_CALLBACK(), None))
        if cb is not None and cb.error is not None:
            raise cb.error
        check(st)
        return self

    @property
    def fitted(self):
        return bool(lib.clv_forecaster_is_fitted(self._ptr))

    @property
    def fit_cutoff(self):
        return to_date(lib.clv_forecaster_fit_cutoff(self._ptr))

    @property
    def threads(self):
        return lib.clv_forecaster_threads(self._ptr)

    @threads.setter
    def threads(self, n):
        check(lib.clv_forecaster_set_threads(self._ptr, n))

    def predict(self, log, at=None, horizon_days=0):
        """Predictions for every customer with a purchase on or before `at`
        (default: the log's last day) over (at, at + horizon_days]
        (0 = the fitted horizon). Returns a Prediction."""
        day = to_day(at) if at is not None else log.last_day
        out = ctypes.c_void_p()
        check(lib.clv_forecaster_predict(self._ptr, log._ptr, day, horizon_days, ctypes.byref(out)))
        return Prediction(Handle(out.value, lib.clv_prediction_free))

    def explain(self, log, customer_id, at=None):
        """Integrated-gradient attribution of one customer's first-week spend."""
        day = to_day(at) if at is not None else log.last_day
        out = ctypes.c_void_p()
        check(lib.clv_forecaster_explain(self._ptr, log._ptr, day, str(customer_id).encode(),
                                         ctypes.byref(out)))
        return Explanation(Handle(out.value, lib.clv_explanation_free))

    def save(self, path):
        """Save atomically to a model file (the same format as `clv train`)."""
        check(lib.clv_forecaster_save(self._ptr, os.fsencode(path)))

    def to_bytes(self):
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.clv_forecaster_save_buffer(self._ptr, ctypes.byref(buf), ctypes.byref(size)))
        try:
            return ctypes.string_at(buf.value, size.value)
        finally:
            lib.clv_free(buf)

    @classmethod
    def load(cls, path):
        out = ctypes.c_void_p()
        check(lib.clv_forecaster_load(ctypes.byref(out), os.fsencode(path)))
        return cls._wrap(out.value)

    @classmethod
    def from_bytes(cls, data):
        data = bytes(data)
        out = ctypes.c_void_p()
        check(lib.clv_forecaster_load_buffer(ctypes.byref(out), data, len(data)))
        return cls._wrap(out.value)


class Prediction(Closeable):
    """Per-customer predictions. Array properties are read-only zero-copy
    numpy views (float32) that keep the prediction's memory alive."""

    _lends_memory = True
    _ARRAYS = ("spend", "transactions", "p_active", "spend_p10", "spend_p90")

    def __init__(self, handle):
        self._h = handle

    def __len__(self):
        return int(lib.clv_prediction_customers(self._ptr))

    @property
    def at(self):
        return to_date(lib.clv_prediction_at_day(self._ptr))

    @property
    def horizon_days(self):
        return int(lib.clv_prediction_horizon_days(self._ptr))

    @property
    def customer_ids(self):
        p = self._ptr
        return [lib.clv_prediction_customer_id(p, i).decode() for i in range(len(self))]

    @property
    def stages(self):
        return borrow(self._h, lib.clv_prediction_stages(self._ptr), ctypes.c_int32, (len(self),))

    def __getattr__(self, name):
        if name in Prediction._ARRAYS:
            return borrow(self._h, getattr(lib, "clv_prediction_" + name)(self._ptr),
                          ctypes.c_float, (len(self),))
        raise AttributeError(name)

    def to_dict(self):
        """Columns as `clv predict` writes them (arrays are copies)."""
        d = {"customer_id": self.customer_ids}
        d["predicted_spend"] = np.array(self.spend)
        d["predicted_transactions"] = np.array(self.transactions)
        d["p_active"] = np.array(self.p_active)
        d["lifecycle_stage"] = [stage_name(s) for s in self.stages]
        d["spend_p10"] = np.array(self.spend_p10)
        d["spend_p90"] = np.array(self.spend_p90)
        return d

    def to_pandas(self):
        import pandas as pd
        return pd.DataFrame(self.to_dict())


class Explanation(Closeable):
    """Attributions [weeks][inputs] (dollars of first-week expected spend, oldest week first)."""

    _lends_memory = True

    def __init__(self, handle):
        self._h = handle

    @property
    def input_names(self):
        p = self._ptr
        return [lib.clv_explanation_input_name(p, k).decode()
                for k in range(lib.clv_explanation_inputs(p))]

    @property
    def attributions(self):
        p = self._ptr
        shape = (lib.clv_explanation_weeks(p), lib.clv_explanation_inputs(p))
        return borrow(self._h, lib.clv_explanation_attributions(p), ctypes.c_float, shape)

    @property
    def value(self):
        return lib.clv_explanation_value(self._ptr)

    @property
    def baseline(self):
        return lib.clv_explanation_baseline(self._ptr)

    def totals(self):
        """{input name: attribution summed over the weeks}."""
        return dict(zip(self.input_names, (float(v) for v in self.attributions.sum(axis=0))))

    def to_pandas(self):
        import pandas as pd
        return pd.DataFrame(np.array(self.attributions), columns=self.input_names)
