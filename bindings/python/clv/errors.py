"""Exceptions raised for libclv's status codes (include/clv/error.h).

Every failed C call raises a subclass of ClvError that carries the status
code (`.status`), its C name (`.status_name`) and the library's own message
from clv_last_error() (`str(e)`). The subclasses also derive from the
closest built-in exception, so `except ValueError` catches bad arguments and
`except OSError` catches I/O failures as a Python user would expect.
"""


class ClvError(Exception):
    """A libclv call failed. `status` is the C status code (negative)."""

    status = None
    status_name = ""

    def __init__(self, message, status=None, status_name=""):
        super().__init__(message)
        if status is not None:
            self.status = status
        self.status_name = status_name or self.status_name


class InvalidArgument(ClvError, ValueError):
    """CLV_EINVAL: invalid argument (NULL, bad size, NaN/Inf input, bad option)."""
    status = -1


class OutOfMemory(ClvError, MemoryError):
    """CLV_ENOMEM."""
    status = -2


class IOFailure(ClvError, OSError):
    """CLV_EIO: a file could not be opened, read or written."""
    status = -3


class FormatError(ClvError, ValueError):
    """CLV_EFORMAT: malformed file or record."""
    status = -4


class ShapeError(ClvError, ValueError):
    """CLV_ESHAPE: shapes do not agree."""
    status = -5


class StateError(ClvError, RuntimeError):
    """CLV_ESTATE: a call made in the wrong order (e.g. predict before fit)."""
    status = -6


class NotSupported(ClvError, NotImplementedError):
    """CLV_ENOTSUP: not supported by this build or configuration."""
    status = -7


class NumericError(ClvError, ArithmeticError):
    """CLV_ENUMERIC: NaN or Inf arose (training diverged, optimiser did not converge)."""
    status = -8


class Canceled(ClvError):
    """CLV_ECANCELED: stopped by the caller's callback."""
    status = -9


class LibraryNotFound(ClvError, ImportError):
    """libclv could not be loaded, or it does not match this package."""


_BY_STATUS = {cls.status: cls for cls in (InvalidArgument, OutOfMemory, IOFailure, FormatError,
                                          ShapeError, StateError, NotSupported, NumericError,
                                          Canceled)}


def from_status(status, message, status_name=""):
    """The exception for a C status (an unknown code gives a plain ClvError)."""
    cls = _BY_STATUS.get(status, ClvError)
    return cls(message or status_name, status, status_name)
