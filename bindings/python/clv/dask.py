"""Distributed scoring with Dask: clv.dask.predict(dataframe, model_path).

A forecaster's prediction for a customer depends only on that customer's
own rows (the Monte Carlo paths are seeded per customer), so a log can be
split by customer and scored anywhere. predict() hash-partitions the
transactions on the customer column (dask's shuffle), which puts every row
of a customer in the same partition, then scores each partition with the
forecaster loaded from `model_path` once per worker process and kept for
later partitions. The result equals single-process prediction exactly.

Each worker sets OpenBLAS and the forecaster to one thread: Dask already
runs one task per worker thread, and nested threads would oversubscribe the
cores (docs/threading.md).
"""

import os
import threading

import numpy as np
import pandas as pd

from ._util import to_day
from .forecast import Forecaster
from .txlog import TransactionLog, _DEFAULT_COLUMNS, _days

COLUMNS = ["customer_id", "predicted_spend", "predicted_transactions", "p_active",
           "lifecycle_stage", "spend_p10", "spend_p90"]

_cache = {}
_lock = threading.Lock()
_stats = {"loads": 0, "partitions": 0}


def worker_stats():
    """{"loads": models loaded by this process, "partitions": partitions it scored}."""
    return dict(_stats)


def _model(path):
    """The forecaster for `path`, loaded once per process (reloaded if the file changes)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    with _lock:
        f = _cache.get(key)
        if f is None:
            from . import set_blas_threads
            set_blas_threads(1)
            f = Forecaster.load(path)
            f.threads = 1
            _cache.clear()
            _cache[key] = f
            _stats["loads"] += 1
        return f


def _meta():
    return pd.DataFrame({"customer_id": pd.Series(dtype=object),
                         "predicted_spend": pd.Series(dtype=np.float32),
                         "predicted_transactions": pd.Series(dtype=np.float32),
                         "p_active": pd.Series(dtype=np.float32),
                         "lifecycle_stage": pd.Series(dtype=object),
                         "spend_p10": pd.Series(dtype=np.float32),
                         "spend_p90": pd.Series(dtype=np.float32)})


def predict_partition(part, model_path, at_day, horizon_days=0, columns=None):
    """Score one pandas partition that holds whole customers (a pandas DataFrame of predictions)."""
    _stats["partitions"] += 1
    if len(part) == 0:
        return _meta()
    f = _model(model_path)
    with TransactionLog.from_dataframe(part, **(columns or {})) as log:
        with f.predict(log, at=at_day, horizon_days=horizon_days) as p:
            d = p.to_dict()
    if len(d["customer_id"]) == 0:
        return _meta()
    return pd.DataFrame(d)[COLUMNS]


def _column(df, role, given):
    if given is not None:
        return given
    names = {str(c).lower(): c for c in df.columns}
    for n in _DEFAULT_COLUMNS[role]:
        if n in names:
            return names[n]
    raise ValueError("no %s column: name it with %s=... (looked for %s)"
                     % (role, role, ", ".join(_DEFAULT_COLUMNS[role])))


def _max_day(part, date_col):
    return pd.Series([int(_days(part[date_col]).max()) if len(part) else np.iinfo(np.int32).min])


def _workers():
    """Workers of the current distributed client (1 without one)."""
    try:
        from distributed import default_client
        return max(1, len(default_client().scheduler_info()["workers"]))
    except (ImportError, ValueError):
        return 1


def predict(dataframe, model_path, at=None, horizon_days=0, npartitions=None,
            customer=None, date=None, amount=None, quantity=None, event=None):
    """Predictions for every customer of a transaction table, computed on the
    Dask workers of the current client (or Dask's default scheduler).

    dataframe: a dask or pandas DataFrame of transactions (columns found by
      the same names as in files, or named with customer=, date=, ...).
    model_path: a model file saved by Forecaster.save() or `clv train`,
      readable at that path by every worker.
    at: prediction date (default: the last date in the data, over all
      partitions); horizon_days: 0 = the model's.
    npartitions: partitions after the shuffle by customer (default: as many
      as the input has; for a pandas DataFrame, one per worker).
    Returns a lazy dask DataFrame with the columns of `clv predict`
    (customer_id, predicted_spend, predicted_transactions, p_active,
    lifecycle_stage, spend_p10, spend_p90), one row per customer, in
    partition order (sort by customer_id for a stable order).
    """
    import dask.dataframe as dd

    if not isinstance(dataframe, dd.DataFrame):
        dataframe = dd.from_pandas(dataframe, npartitions=npartitions or _workers(), sort=False)
    ddf = dataframe
    cust = _column(ddf, "customer", customer)
    date_col = _column(ddf, "date", date)
    columns = {"customer": cust, "date": date_col}
    for role, given in (("amount", amount), ("quantity", quantity), ("event", event)):
        try:
            columns[role] = _column(ddf, role, given)
        except ValueError:
            if role == "amount" or given is not None:
                raise
    if at is None:
        at_day = int(ddf.map_partitions(_max_day, date_col, meta=(None, np.int64)).max().compute())
    else:
        at_day = to_day(at)
    # Whole customers per partition: rows are hash-partitioned on the customer id.
    by_customer = ddf.shuffle(on=cust, npartitions=npartitions or ddf.npartitions)
    return by_customer.map_partitions(predict_partition, os.path.abspath(model_path), at_day,
                                      horizon_days, columns, meta=_meta())
