"""Handles, numpy buffers and dates shared by the wrapper classes."""

import ctypes
import datetime

import numpy as np

from ._lib import lib, check, c_float_p, c_int32_p

_EPOCH = datetime.date(1970, 1, 1)
_live = {"count": 0}


def live_handles():
    """Number of C objects created through this package and not yet freed (for tests and leak hunts)."""
    return _live["count"]


class Handle:
    """Owns one C object and frees it exactly once: on close(), or when collected.

    Numpy views of memory the object owns keep a reference to its Handle, so
    the memory outlives the wrapper while a view still uses it.
    """

    __slots__ = ("ptr", "_free", "__weakref__")

    def __init__(self, ptr, free):
        if not ptr:
            raise ValueError("NULL handle")
        self.ptr = ptr
        self._free = free
        _live["count"] += 1

    def free(self):
        if self.ptr:
            ptr, self.ptr = self.ptr, None
            self._free(ptr)
            _live["count"] -= 1

    def __del__(self):
        self.free()


def new_handle(create, free, *args):
    """Call a clv_X_new-style function (out pointer first) and wrap the result."""
    out = ctypes.c_void_p()
    check(create(ctypes.byref(out), *args))
    return Handle(out.value, free)


class Closeable:
    """Context-manager support for wrappers holding one Handle in self._h."""

    _h = None

    @property
    def _ptr(self):
        h = self._h
        if h is None or not h.ptr:
            raise ValueError("%s is closed" % type(self).__name__)
        return h.ptr

    # Objects whose arrays are lent to numpy views (datasets, predictions)
    # set this: close() then only drops the wrapper's reference, and CPython
    # frees the C object at once unless a view still uses its memory.
    _lends_memory = False

    def close(self):
        """Release the C object now (for datasets and predictions: as soon as
        no numpy view of their arrays is left)."""
        h, self._h = self._h, None
        if h is not None and not self._lends_memory:
            h.free()

    @property
    def closed(self):
        return self._h is None or not self._h.ptr

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def borrow(handle, address, ctype, shape):
    """A read-only numpy view of C-owned memory, keeping `handle` alive."""
    n = int(np.prod(shape)) if len(shape) else 1
    if n == 0 or not address:
        return np.empty(shape, dtype=_dtype(ctype))
    buf = (ctype * n).from_address(address)
    buf._clv_owner = handle   # ctypes arrays take attributes: the view's base keeps the owner alive
    arr = np.frombuffer(buf, dtype=_dtype(ctype)).reshape(shape)
    arr.flags.writeable = False
    return arr


def _dtype(ctype):
    return {ctypes.c_float: np.float32, ctypes.c_int32: np.int32,
            ctypes.c_double: np.float64, ctypes.c_uint64: np.uint64}[ctype]


def f32(a, name="array", ndim=None):
    """A C-contiguous float32 array: the caller's own memory when it already is one
    (no copy), otherwise one converted copy."""
    arr = np.ascontiguousarray(a, dtype=np.float32)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError("%s must have %d dimensions, got shape %s" % (name, ndim, arr.shape))
    return arr


def i32(a, name="array", ndim=None):
    arr = np.ascontiguousarray(a, dtype=np.int32)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError("%s must have %d dimensions, got shape %s" % (name, ndim, arr.shape))
    return arr


def fptr(arr):
    return None if arr is None else arr.ctypes.data_as(c_float_p)


def iptr(arr):
    return None if arr is None else arr.ctypes.data_as(c_int32_p)


def to_day(value):
    """Days since 1970-01-01 from an int, a date/datetime, a numpy/pandas
    timestamp, or text in any form clv_date_parse() accepts."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        day = ctypes.c_int32()
        check(lib.clv_date_parse(value.encode(), ctypes.byref(day)))
        return day.value
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[D]").astype(np.int64))
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return (value.date() - _EPOCH).days
    if isinstance(value, datetime.date):
        return (value - _EPOCH).days
    raise TypeError("cannot use %r as a date" % (value,))


def day_to_str(day):
    buf = ctypes.create_string_buffer(16)
    check(lib.clv_date_format(int(day), buf, len(buf)))
    return buf.value.decode()


def to_date(day):
    return _EPOCH + datetime.timedelta(days=int(day))
