#!/usr/bin/env python3
"""Use libclv from Python through ctypes, as a binding would (standard library only).

    python3 test_ctypes.py path/to/libclv.so

Checks that the C API is callable without a C compiler: the options struct
declared here has the size the library expects, inference runs on a small
batch from array('f') buffers, and errors come back as CLV_EINVAL with a
message naming the field. Exits 0 on success, 1 on failure.
"""

import ctypes
import math
import sys
from array import array

CLV_OK = 0
CLV_EINVAL = -1


class ModelOptions(ctypes.Structure):
    """clv_model_options, field for field as in include/clv/model.h."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("cell", ctypes.c_int32),
        ("input_size", ctypes.c_uint32),
        ("hidden_size", ctypes.c_uint32),
        ("num_layers", ctypes.c_uint32),
        ("static_size", ctypes.c_uint32),
        ("final_outputs", ctypes.c_uint32),
        ("step_outputs", ctypes.c_uint32),
        ("seed", ctypes.c_uint64),
        ("forget_bias", ctypes.c_float),
        ("dropout", ctypes.c_double),
    ]


class Model(ctypes.Structure):
    """Opaque clv_model."""


ModelP = ctypes.POINTER(Model)
FloatP = ctypes.POINTER(ctypes.c_float)
Int32P = ctypes.POINTER(ctypes.c_int32)


def load(path):
    lib = ctypes.CDLL(path)
    lib.clv_version.argtypes = []
    lib.clv_version.restype = ctypes.c_char_p
    lib.clv_status_str.argtypes = [ctypes.c_int]
    lib.clv_status_str.restype = ctypes.c_char_p
    lib.clv_last_error.argtypes = []
    lib.clv_last_error.restype = ctypes.c_char_p
    lib.clv_model_options_init.argtypes = [ctypes.POINTER(ModelOptions)]
    lib.clv_model_options_init.restype = None
    lib.clv_model_new.argtypes = [ctypes.POINTER(ModelP), ctypes.POINTER(ModelOptions)]
    lib.clv_model_new.restype = ctypes.c_int
    lib.clv_model_free.argtypes = [ModelP]
    lib.clv_model_free.restype = None
    lib.clv_model_predict.argtypes = [
        ModelP,           # const clv_model *model
        ctypes.c_void_p,  # clv_workspace *ws (NULL here)
        ctypes.c_uint32,  # batch
        ctypes.c_uint32,  # steps
        FloatP,           # const float *x          [B][T][F]
        Int32P,           # const int32_t *lengths  [B]
        FloatP,           # const float *static_x   (NULL)
        FloatP,           # float *final_out        [B][final_outputs]
        FloatP,           # float *step_out         (NULL)
    ]
    lib.clv_model_predict.restype = ctypes.c_int
    return lib


def as_ptr(buf, ctype):
    """Borrow an array.array's memory as a ctypes pointer (no copy)."""
    return (ctype * len(buf)).from_buffer(buf)


class Checker:
    def __init__(self, lib):
        self.lib = lib
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print("ok:", what)
        else:
            self.failed += 1
            print("FAIL:", what, file=sys.stderr)
        return cond

    def status(self, st, call):
        if st == CLV_OK:
            return True
        msg = "%s returned %d (%s): %s" % (
            call, st, self.lib.clv_status_str(st).decode(), self.lib.clv_last_error().decode())
        return self.check(False, msg)


def main(argv):
    if len(argv) != 2:
        print("usage: test_ctypes.py path/to/libclv.so", file=sys.stderr)
        return 2
    try:
        lib = load(argv[1])
    except (OSError, AttributeError) as e:
        print("FAIL: cannot use %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    c = Checker(lib)
    version = lib.clv_version().decode()
    c.check(version.count(".") == 2, "clv_version() = %r" % version)

    # Layout: clv_model_options_init() writes sizeof(clv_model_options) as C
    # sees it into struct_size; it must equal the ctypes size.
    opts = ModelOptions()
    lib.clv_model_options_init(ctypes.byref(opts))
    c.check(opts.struct_size == ctypes.sizeof(ModelOptions),
            "struct_size %d == ctypes.sizeof %d" % (opts.struct_size, ctypes.sizeof(ModelOptions)))
    c.check((opts.hidden_size, opts.num_layers, opts.final_outputs, opts.seed) == (64, 1, 1, 42)
            and opts.forget_bias == 1.0,
            "documented defaults read back through ctypes (fields line up)")

    # Inference on B = 3 sequences of T = 4 steps with F = 2 features.
    B, T, F = 3, 4, 2
    opts.input_size = F
    opts.hidden_size = 8
    opts.final_outputs = 1
    model = ModelP()
    st = lib.clv_model_new(ctypes.byref(model), ctypes.byref(opts))
    if not c.status(st, "clv_model_new"):
        return 1
    try:
        x = array("f", [math.sin(0.3 * i) for i in range(B * T * F)])
        lengths = array("i", [4, 2, 1])
        assert lengths.itemsize == 4
        out = array("f", [float("nan")] * B)
        st = lib.clv_model_predict(model, None, B, T, as_ptr(x, ctypes.c_float),
                                   as_ptr(lengths, ctypes.c_int32), None,
                                   as_ptr(out, ctypes.c_float), None)
        if c.status(st, "clv_model_predict"):
            c.check(len(out) == B and all(math.isfinite(v) for v in out),
                    "predict: %d finite outputs %s" % (B, ["%.4f" % v for v in out]))
            # Padding must not matter: change sequence 1's steps t >= 2.
            for t in range(2, T):
                for f in range(F):
                    x[(1 * T + t) * F + f] = 100.0
            out2 = array("f", [float("nan")] * B)
            st = lib.clv_model_predict(model, None, B, T, as_ptr(x, ctypes.c_float),
                                       as_ptr(lengths, ctypes.c_int32), None,
                                       as_ptr(out2, ctypes.c_float), None)
            if c.status(st, "clv_model_predict (padded)"):
                c.check(out2[1] == out[1], "padded steps do not change a prediction")
    finally:
        lib.clv_model_free(model)
    lib.clv_model_free(None)  # NULL is a no-op

    # Errors: input_size 0 is refused with CLV_EINVAL and a message naming it.
    bad = ModelOptions()
    lib.clv_model_options_init(ctypes.byref(bad))
    bad.input_size = 0
    model = ModelP()
    st = lib.clv_model_new(ctypes.byref(model), ctypes.byref(bad))
    msg = lib.clv_last_error().decode()
    c.check(st == CLV_EINVAL, "clv_model_new(input_size=0) -> %d (CLV_EINVAL = -1)" % st)
    c.check("input_size" in msg, "clv_last_error() names the field: %r" % msg)
    c.check(lib.clv_status_str(CLV_EINVAL).decode().startswith("CLV_EINVAL"),
            "clv_status_str(-1) = %r" % lib.clv_status_str(CLV_EINVAL).decode())
    if st == CLV_OK:
        lib.clv_model_free(model)

    print("ctypes: libclv %s, %d checks passed, %d failed" % (version, c.passed, c.failed))
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
