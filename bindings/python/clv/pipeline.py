"""Feature pipelines and the datasets they produce (pipeline.h)."""

import ctypes

import numpy as np

from ._lib import lib, check, new_options, PipelineOptions
from ._util import Closeable, Handle, new_handle, borrow, to_day

_PERIODS = {"day": 1, "week": 2, "month": 3}
_NORMS = {"none": 1, "minmax": 2, "zscore": 3, "log1p": 4}
_PADS = {"post": 1, "pre": 2}


def stage_name(stage):
    """"new", "active", "at-risk", "churned" for a clv_stage code."""
    return lib.clv_stage_name(int(stage)).decode()


def _choice(table, value, what):
    try:
        return table[value]
    except KeyError:
        raise ValueError("%s: expected one of %s, got %r" % (what, ", ".join(table), value)) from None


class Pipeline(Closeable):
    """Fitted feature state: scalers and category encoders learnt at a cutoff.

    Pipeline(period="week", max_steps=52, pad="post", norm="log1p", seq_log1p=True,
             max_categories=32, new_days=30, active_days=90, churn_days=180, threads=1)
    """

    def __init__(self, period="week", max_steps=52, pad="post", norm="log1p", seq_log1p=True,
                 max_categories=32, new_days=30, active_days=90, churn_days=180, threads=1):
        o = new_options(PipelineOptions)
        o.period = _choice(_PERIODS, period, "period")
        o.max_steps = max_steps
        o.pad = _choice(_PADS, pad, "pad")
        o.norm = _choice(_NORMS, norm, "norm")
        o.seq_log1p = 1 if seq_log1p else 0
        o.max_categories = max_categories
        o.new_days, o.active_days, o.churn_days = new_days, active_days, churn_days
        o.threads = threads
        self._h = new_handle(lib.clv_pipeline_new, lib.clv_pipeline_free, ctypes.byref(o))

    def fit(self, log, cutoff):
        """Learn the state from `log`'s customers up to `cutoff` (inclusive); returns self."""
        check(lib.clv_pipeline_fit(self._ptr, log._ptr, to_day(cutoff)))
        return self

    @property
    def fitted(self):
        return bool(lib.clv_pipeline_is_fitted(self._ptr))

    def transform(self, log, cutoff, holdout_end=None):
        """The Dataset at `cutoff`, with holdout targets up to `holdout_end` (None: no targets)."""
        c = to_day(cutoff)
        h = to_day(holdout_end) if holdout_end is not None else c
        out = ctypes.c_void_p()
        check(lib.clv_pipeline_transform(self._ptr, log._ptr, c, h, ctypes.byref(out)))
        return Dataset(Handle(out.value, lib.clv_dataset_free))

    def fit_transform(self, log, cutoff, holdout_end=None):
        return self.fit(log, cutoff).transform(log, cutoff, holdout_end)

    @property
    def seq_feature_names(self):
        p = self._ptr
        return [lib.clv_pipeline_seq_feature_name(p, i).decode()
                for i in range(lib.clv_pipeline_seq_features(p))]

    @property
    def static_feature_names(self):
        p = self._ptr
        return [lib.clv_pipeline_static_feature_name(p, i).decode()
                for i in range(lib.clv_pipeline_static_features(p))]


class Dataset(Closeable):
    """Per-customer arrays at a cutoff. Every array property is a read-only,
    zero-copy numpy view of the library's memory; a view keeps that memory
    alive even after the dataset is closed."""

    _lends_memory = True

    def __init__(self, handle):
        self._h = handle

    def __len__(self):
        return int(lib.clv_dataset_customers(self._ptr))

    @property
    def shape(self):
        """(N customers, T steps, F sequence features, S static features)."""
        p = self._ptr
        return (int(lib.clv_dataset_customers(p)), int(lib.clv_dataset_steps(p)),
                int(lib.clv_dataset_seq_features(p)), int(lib.clv_dataset_static_features(p)))

    @property
    def cutoff_day(self):
        return lib.clv_dataset_cutoff_day(self._ptr)

    @property
    def holdout_end_day(self):
        return lib.clv_dataset_holdout_end_day(self._ptr)

    def _view(self, name, ctype, shape):
        return borrow(self._h, getattr(lib, "clv_dataset_" + name)(self._ptr), ctype, shape)

    @property
    def sequences(self):
        """[N][T][F] float32."""
        n, t, f, _ = self.shape
        return self._view("sequences", ctypes.c_float, (n, t, f))

    @property
    def lengths(self):
        return self._view("lengths", ctypes.c_int32, (len(self),))

    @property
    def static(self):
        """[N][S] float32 (S may be 0)."""
        n, _, _, s = self.shape
        return self._view("static", ctypes.c_float, (n, s))

    @property
    def stages(self):
        return self._view("stages", ctypes.c_int32, (len(self),))

    @property
    def customer_ids(self):
        p = self._ptr
        return [lib.clv_dataset_customer_id(p, i).decode() for i in range(len(self))]

    def __getattr__(self, name):
        # The [N] float arrays: targets and raw calibration summaries.
        if name in _FLOAT_COLUMNS:
            return self._view(name, ctypes.c_float, (len(self),))
        raise AttributeError(name)

    def to_pandas(self):
        """One row per customer: ids, stage, targets and calibration summaries (copied)."""
        import pandas as pd
        cols = {"customer_id": self.customer_ids,
                "lifecycle_stage": [stage_name(s) for s in self.stages]}
        for name in _FLOAT_COLUMNS:
            cols[name] = np.array(getattr(self, name))
        return pd.DataFrame(cols)


_FLOAT_COLUMNS = ("target_spend", "target_transactions", "target_active", "frequency",
                  "recency_days", "age_days", "monetary_repeat", "calibration_spend")
