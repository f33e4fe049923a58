"""BG/NBD, Pareto/NBD and Gamma-Gamma by maximum likelihood (btyd.h).

Inputs are the usual per-customer summaries: x (repeat transactions), t_x
(time of the last purchase from the first), T (age), m_x (mean repeat value),
in any time unit (weeks in the literature). from_dataset() takes them from a
Dataset in weeks, as `clv evaluate` does.
"""

import ctypes

import numpy as np

from ._lib import lib, check, new_options, BtydOptions, c_double_p
from ._util import f32, fptr


def _opts(max_iterations, tolerance, penalty):
    o = new_options(BtydOptions)
    if max_iterations is not None:
        o.max_iterations = max_iterations
    if tolerance is not None:
        o.tolerance = tolerance
    if penalty is not None:
        o.penalty = penalty
    return o


def summaries(dataset, unit_days=7.0):
    """(x, t_x, T, m_x) of a Dataset, times in units of `unit_days` (weeks by default)."""
    return (np.array(dataset.frequency), dataset.recency_days / np.float32(unit_days),
            dataset.age_days / np.float32(unit_days), np.array(dataset.monetary_repeat))


class _Btyd:
    """Shared by the two transaction models; params is a float64 array."""

    _fit = _expected = _loglik = None
    param_names = ()

    def __init__(self, params=None, max_iterations=None, tolerance=None, penalty=None):
        self._opts = _opts(max_iterations, tolerance, penalty)
        self.params = None if params is None else np.array(params, dtype=np.float64)
        self.loglik = None

    def _p(self):
        if self.params is None:
            raise RuntimeError("%s is not fitted: call fit() or pass params" % type(self).__name__)
        return self.params.ctypes.data_as(c_double_p)

    def fit(self, x, t_x, T):
        xa, ta, Ta = (f32(a, n, 1) for a, n in ((x, "x"), (t_x, "t_x"), (T, "T")))
        params = np.empty(4, np.float64)
        ll = ctypes.c_double()
        check(getattr(lib, self._fit)(ctypes.byref(self._opts), len(xa), fptr(xa), fptr(ta),
                                      fptr(Ta), params.ctypes.data_as(c_double_p), ctypes.byref(ll)))
        self.params, self.loglik = params, ll.value
        return self

    def predict(self, x, t_x, T, horizon):
        """(expected transactions over `horizon` after T, P(alive at T)), float32 arrays."""
        xa, ta, Ta = (f32(a, n, 1) for a, n in ((x, "x"), (t_x, "t_x"), (T, "T")))
        exp_tx = np.empty(len(xa), np.float32)
        alive = np.empty(len(xa), np.float32)
        check(getattr(lib, self._expected)(self._p(), len(xa), fptr(xa), fptr(ta), fptr(Ta),
                                           float(horizon), fptr(exp_tx), fptr(alive)))
        return exp_tx, alive

    def log_likelihood(self, x, t_x, T):
        xa, ta, Ta = (f32(a, n, 1) for a, n in ((x, "x"), (t_x, "t_x"), (T, "T")))
        out = ctypes.c_double()
        check(getattr(lib, self._loglik)(self._p(), len(xa), fptr(xa), fptr(ta), fptr(Ta),
                                         ctypes.byref(out)))
        return out.value

    def __repr__(self):
        if self.params is None:
            return "<clv.%s unfitted>" % type(self).__name__
        return "<clv.%s %s>" % (type(self).__name__, ", ".join(
            "%s=%.4g" % kv for kv in zip(self.param_names, self.params)))


class BGNBD(_Btyd):
    """BG/NBD (Fader, Hardie & Lee 2005): params r, alpha, a, b."""
    _fit, _expected, _loglik = "clv_bgnbd_fit", "clv_bgnbd_expected", "clv_bgnbd_loglik"
    param_names = ("r", "alpha", "a", "b")


class ParetoNBD(_Btyd):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): params r, alpha, s, beta."""
    _fit, _expected, _loglik = "clv_paretonbd_fit", "clv_paretonbd_expected", "clv_paretonbd_loglik"
    param_names = ("r", "alpha", "s", "beta")


class GammaGamma:
    """Gamma-Gamma spend model: params p, q, gamma."""

    param_names = ("p", "q", "gamma")

    def __init__(self, params=None, max_iterations=None, tolerance=None, penalty=None):
        self._opts = _opts(max_iterations, tolerance, penalty)
        self.params = None if params is None else np.array(params, dtype=np.float64)
        self.loglik = None

    def _p(self):
        if self.params is None:
            raise RuntimeError("GammaGamma is not fitted: call fit() or pass params")
        return self.params.ctypes.data_as(c_double_p)

    def fit(self, x, m_x):
        xa, ma = f32(x, "x", 1), f32(m_x, "m_x", 1)
        params = np.empty(3, np.float64)
        ll = ctypes.c_double()
        check(lib.clv_gammagamma_fit(ctypes.byref(self._opts), len(xa), fptr(xa), fptr(ma),
                                     params.ctypes.data_as(c_double_p), ctypes.byref(ll)))
        self.params, self.loglik = params, ll.value
        return self

    def expected_value(self, x, m_x):
        """E[mean transaction value | x, m_x] per customer (float32)."""
        xa, ma = f32(x, "x", 1), f32(m_x, "m_x", 1)
        out = np.empty(len(xa), np.float32)
        check(lib.clv_gammagamma_expected_value(self._p(), len(xa), fptr(xa), fptr(ma), fptr(out)))
        return out

    def log_likelihood(self, x, m_x):
        xa, ma = f32(x, "x", 1), f32(m_x, "m_x", 1)
        out = ctypes.c_double()
        check(lib.clv_gammagamma_loglik(self._p(), len(xa), fptr(xa), fptr(ma), ctypes.byref(out)))
        return out.value

    __repr__ = _Btyd.__repr__


def hyp2f1(a, b, c, z):
    """Gauss hypergeometric 2F1(a, b; c; z), z <= 1."""
    out = ctypes.c_double()
    check(lib.clv_hyp2f1(float(a), float(b), float(c), float(z), ctypes.byref(out)))
    return out.value
