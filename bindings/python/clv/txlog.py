"""Transaction logs: from CSV files, pandas DataFrames or numpy columns (pipeline.h)."""

import ctypes
import os

import numpy as np

from ._lib import lib, check, new_options, TxlogOptions, TxlogReport, c_uint64_p
from ._util import Closeable, new_handle, f32, fptr, iptr, to_day

_POLICIES = {
    "negative": {"net": 1, "drop": 2, "error": 3},
    "zero": {"keep": 1, "drop": 2, "error": 3},
    "duplicate": {"keep": 1, "drop": 2, "error": 3},
    "order": {"any": 1, "error": 2},
}
_ROLES = {"customer": 1, "date": 2, "amount": 3, "quantity": 4, "event": 5, "category": 6}
EVENTS = {"purchase": 1, "order": 1, "transaction": 1, "view": 2, "click": 3,
          "cart": 4, "add_to_cart": 4}

# The header names the C reader recognises (pipeline.h), for DataFrames too.
_DEFAULT_COLUMNS = {
    "customer": ("customer_id", "customerid", "customer", "user_id"),
    "date": ("date", "invoicedate", "timestamp", "order_date"),
    "amount": ("amount", "dollar_value", "revenue", "sales", "value"),
    "quantity": ("quantity", "number_of_cds", "items", "qty"),
    "event": ("event", "event_type"),
}


class Report(dict):
    """What a read did: rows_read, rows_used, bad_rows, ..., customers,
    customer_days, first_day/last_day (days since 1970-01-01)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _report(r):
    return Report((name, getattr(r, name)) for name, _ in TxlogReport._fields_[1:])


class TransactionLog(Closeable):
    """An ingested transaction log: one record per customer and day.

    Build it with TransactionLog.read_csv(path), TransactionLog.from_dataframe(df),
    TransactionLog.from_arrays(ids, dates, amounts), clv.simulate(...), or
    TransactionLog() followed by read_csv()/append() calls.

    Options: strict (stop at the first bad row, default) or lenient; delimiter
    (None = detect); header (None = detect); negative ("net", "drop", "error"),
    zero, duplicate ("keep", "drop", "error"), order ("any", "error"); threads.
    """

    def __init__(self, strict=True, delimiter=None, header=None, negative="net", zero="keep",
                 duplicate="keep", order="any", threads=1):
        o = new_options(TxlogOptions)
        o.strict = 1 if strict else 0
        if delimiter is not None:
            if len(delimiter) != 1:
                raise ValueError("delimiter must be one character, got %r" % (delimiter,))
            o.delimiter = ord(delimiter)
        if header is not None:
            o.header = 1 if header else 0
        for field, value in (("negative", negative), ("zero", zero),
                             ("duplicate", duplicate), ("order", order)):
            try:
                setattr(o, field + "_policy", _POLICIES[field][value])
            except KeyError:
                raise ValueError("%s: expected one of %s, got %r"
                                 % (field, ", ".join(_POLICIES[field]), value)) from None
        o.threads = threads
        self._h = new_handle(lib.clv_txlog_new, lib.clv_txlog_free, ctypes.byref(o))

    # -- construction -------------------------------------------------------

    @classmethod
    def read_csv(cls, path, customer=None, date=None, amount=None, quantity=None, event=None,
                 categories=(), **options):
        """Read a delimited file; columns found by header name unless given
        (a header name, or a 1-based index)."""
        log = cls(**options)
        log.set_columns(customer=customer, date=date, amount=amount, quantity=quantity,
                        event=event, categories=categories)
        log.read(path)
        return log

    @classmethod
    def from_dataframe(cls, df, customer=None, date=None, amount=None, quantity=None,
                       event=None, **options):
        """A log from a pandas DataFrame (or a dict of columns). Columns are
        found by the same names as in files (customer_id, date, amount,
        quantity, event, ...) unless given."""
        names = {str(c).lower(): c for c in df.keys()}

        def pick(role, given, required):
            if given is not None:
                return df[given]
            for n in _DEFAULT_COLUMNS[role]:
                if n in names:
                    return df[names[n]]
            if required:
                raise ValueError("no %s column: name it with %s=... (looked for %s)"
                                 % (role, role, ", ".join(_DEFAULT_COLUMNS[role])))
            return None

        ids = pick("customer", customer, True)
        days = pick("date", date, True)
        amt = pick("amount", amount, True)
        log = cls(**options)
        log.append(ids, days, amt, quantities=pick("quantity", quantity, False),
                   events=pick("event", event, False))
        return log

    @classmethod
    def from_arrays(cls, ids, dates, amounts, quantities=None, events=None, **options):
        """A log from columns (numpy arrays, lists or pandas Series)."""
        log = cls(**options)
        log.append(ids, dates, amounts, quantities=quantities, events=events)
        return log

    def set_columns(self, customer=None, date=None, amount=None, quantity=None, event=None,
                    categories=()):
        """Map column roles to header names or 1-based indexes for read()."""
        for role, spec in (("customer", customer), ("date", date), ("amount", amount),
                           ("quantity", quantity), ("event", event)):
            if spec is not None:
                self._set_column(role, spec)
        for spec in categories:
            self._set_column("category", spec)

    def _set_column(self, role, spec):
        if isinstance(spec, int):
            check(lib.clv_txlog_set_column(self._ptr, _ROLES[role], None, spec))
        else:
            check(lib.clv_txlog_set_column(self._ptr, _ROLES[role], str(spec).encode(), 0))

    def read(self, path):
        """Stream one more file into the log; returns this call's Report."""
        r = new_options(TxlogReport)
        check(lib.clv_txlog_read_csv(self._ptr, os.fsencode(path), ctypes.byref(r)))
        return _report(r)

    def read_text(self, text, name=None):
        """Read CSV text (str or bytes) held in memory."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        r = new_options(TxlogReport)
        check(lib.clv_txlog_read_csv_buffer(self._ptr, data, len(data),
                                            name.encode() if name else None, ctypes.byref(r)))
        return _report(r)

    def append(self, ids, dates, amounts, quantities=None, events=None):
        """Append rows. ids: integers (passed as uint64, no text) or strings;
        dates: datetime64, dates, text in any clv_date_parse() form, or int
        days since 1970-01-01; amounts float; events names or clv codes."""
        n = len(ids)
        days = _days(dates)
        amts = f32(_values(amounts), "amounts", 1)
        qty = None if quantities is None else f32(_values(quantities), "quantities", 1)
        ev = None if events is None else _events(events)
        for name, arr in (("dates", days), ("amounts", amts), ("quantities", qty), ("events", ev)):
            if arr is not None and len(arr) != n:
                raise ValueError("%s has %d rows, ids has %d" % (name, len(arr), n))
        r = new_options(TxlogReport)
        idv = _values(ids)
        if idv.dtype.kind in "iu":
            if idv.dtype.kind == "i" and n and idv.min() < 0:
                raise ValueError("integer customer ids must be >= 0")
            u = np.ascontiguousarray(idv, dtype=np.uint64)
            check(lib.clv_txlog_append_u64(self._ptr, n, u.ctypes.data_as(c_uint64_p), iptr(days),
                                           fptr(amts), fptr(qty), iptr(ev), ctypes.byref(r)))
        else:
            encoded = [str(v).encode() for v in idv]
            arr = (ctypes.c_char_p * n)(*encoded)
            check(lib.clv_txlog_append(self._ptr, n, arr, iptr(days), fptr(amts), fptr(qty),
                                       iptr(ev), ctypes.byref(r)))
        return _report(r)

    # -- inspection ----------------------------------------------------------

    @property
    def report(self):
        """Totals of everything read or appended so far."""
        r = new_options(TxlogReport)
        check(lib.clv_txlog_get_report(self._ptr, ctypes.byref(r)))
        return _report(r)

    @property
    def customers(self):
        return self.report.customers

    @property
    def last_day(self):
        return self.report.last_day

    def __repr__(self):
        if self.closed:
            return "<clv.TransactionLog closed>"
        r = self.report
        return "<clv.TransactionLog %d customers, %d customer-days>" % (r.customers, r.customer_days)


def _values(col):
    """A numpy array from a list, array, or pandas Series (no copy when possible)."""
    values = getattr(col, "to_numpy", None)
    return values() if values is not None else np.asarray(col)


def _days(dates):
    dt = getattr(dates, "dt", None)           # a pandas datetime Series
    if dt is not None and getattr(dt, "tz", None) is not None:
        dates = dt.tz_convert("UTC").dt.tz_localize(None)   # as the C reader does with zones
    v = _values(dates)
    if v.dtype.kind == "M":
        return np.ascontiguousarray(v.astype("datetime64[D]").astype(np.int64), dtype=np.int32)
    if v.dtype.kind in "iu":
        return np.ascontiguousarray(v, dtype=np.int32)
    # Text: parse each distinct value once, with the C reader's own parser.
    if v.dtype.kind in "US" or (v.dtype.kind == "O" and all(isinstance(x, str) for x in v)):
        uniq, inverse = np.unique(v.astype(str), return_inverse=True)
        parsed = np.array([to_day(u) for u in uniq], dtype=np.int32)
        return np.ascontiguousarray(parsed[inverse])
    # Date objects, timestamps: one at a time.
    return np.array([to_day(x) for x in v], dtype=np.int32)


def _events(events):
    v = _values(events)
    if v.dtype.kind in "iu":
        return np.ascontiguousarray(v, dtype=np.int32)
    uniq, inverse = np.unique(v.astype(str), return_inverse=True)
    codes = []
    for u in uniq:
        key = u.strip().lower()
        if key not in EVENTS:
            raise ValueError("unknown event %r: expected purchase, view, click, cart or add_to_cart" % u)
        codes.append(EVENTS[key])
    return np.ascontiguousarray(np.array(codes, dtype=np.int32)[inverse])
