"""Python binding of libclv: customer lifetime value from transaction logs.

    import clv
    log = clv.TransactionLog.read_csv("orders.csv")
    with clv.Forecaster(seed=1) as f:
        f.fit(log, cutoff="2024-12-31")
        df = f.predict(log).to_pandas()

The package talks to libclv's C ABI through ctypes. It loads, in order:
$CLV_LIBRARY, a libclv.so.0 next to this file, then the system's libclv.so.0.
Every C failure raises a clv.ClvError subclass carrying the C message.
"""

from .errors import (ClvError, InvalidArgument, OutOfMemory, IOFailure, FormatError, ShapeError,
                     StateError, NotSupported, NumericError, Canceled, LibraryNotFound)
from ._lib import lib as _c, path as library_path, ABI_VERSION
from ._util import live_handles, to_day, to_date, day_to_str
from .txlog import TransactionLog
from .pipeline import Pipeline, Dataset, stage_name
from .model import Model, Loss, Optimizer, Adam, AdamW, SGD, Adagrad, Adadelta
from .forecast import Forecaster, Prediction, Explanation, forecast_options
from .baselines import BGNBD, ParetoNBD, GammaGamma, summaries, hyp2f1
from .evaluate import evaluate, Backtest, metrics, auc, decile_table, model_available
from .simulate import simulate, simulate_truth, sim_options

__version__ = "0.1.0"


def library_version():
    """The loaded libclv's version string, e.g. "0.1.0"."""
    return _c.clv_version().decode()


def model_file_version(path):
    """(major, minor) format version from a model file's header."""
    import ctypes
    import os
    major, minor = ctypes.c_uint32(), ctypes.c_uint32()
    from ._lib import check
    check(_c.clv_file_format_version(os.fsencode(path), ctypes.byref(major), ctypes.byref(minor)))
    return major.value, minor.value


def set_blas_threads(n):
    """OpenBLAS's thread count for this process (docs/threading.md): 1 when
    work already runs in parallel (Dask workers, threads), else the cores."""
    from ._lib import check
    check(_c.clv_blas_set_num_threads(int(n)))


def blas_threads():
    return int(_c.clv_blas_num_threads())


__all__ = [n for n in dir() if not n.startswith("_")]
