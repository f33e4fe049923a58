"""Synthetic transaction logs with a known ground truth (simulate.h)."""

import ctypes
import os

import numpy as np

from ._lib import lib, check, new_options, SimOptions
from ._util import fptr, to_day
from .txlog import TransactionLog

_NAMES = [f for f, _ in SimOptions._fields_ if f != "struct_size"]


def sim_options(**kw):
    """clv_sim_options from keywords: customers, seed, start_day (a date),
    days, acquisition_days, r, alpha, a, b, p, q, gamma, weekly_amplitude,
    yearly_amplitude, browse_share."""
    o = new_options(SimOptions)
    for k, v in kw.items():
        if k not in _NAMES:
            raise TypeError("unknown simulation option %r (known: %s)" % (k, ", ".join(_NAMES)))
        setattr(o, k, to_day(v) if k == "start_day" else v)
    return o


def simulate(path=None, log=None, **options):
    """Generate a synthetic log. With `path`, write it as CSV (atomically)
    and return the path; otherwise append it to `log` (default: a new
    TransactionLog) and return the log. Same options, same rows."""
    o = sim_options(**options)
    if path is not None:
        check(lib.clv_simulate_to_csv(ctypes.byref(o), os.fsencode(path)))
        return path
    log = log if log is not None else TransactionLog()
    check(lib.clv_simulate_to_txlog(ctypes.byref(o), log._ptr))
    return log


def simulate_truth(cutoff, holdout_end, **options):
    """The generator's exact expectations over (cutoff, holdout_end] for
    customers 1..n: a dict of float32 arrays expected_transactions,
    expected_spend, alive_at_cutoff (index i is customer id i+1)."""
    o = sim_options(**options)
    n = o.customers
    tx, sp, alive = (np.empty(n, np.float32) for _ in range(3))
    check(lib.clv_simulate_truth(ctypes.byref(o), to_day(cutoff), to_day(holdout_end),
                                 fptr(tx), fptr(sp), fptr(alive)))
    return {"expected_transactions": tx, "expected_spend": sp, "alive_at_cutoff": alive}
