"""Sequence models (LSTM/GRU), optimizers and losses (model.h, optim.h, loss.h, train.h).

Arrays in: numpy float32 C-contiguous arrays are passed to C as they are
(no copy); anything else (float64, Fortran order, lists) is converted once.
Arrays out are numpy arrays allocated here and filled by C.
"""

import ctypes
import json

import numpy as np

from ._lib import lib, check, new_options, ModelOptions, OptimOptions, LossOptions
from ._util import Closeable, new_handle, f32, i32, fptr, iptr

CELLS = {"lstm": 1, "gru": 2}
_CELL_NAMES = {v: k for k, v in CELLS.items()}
LOSSES = {"mse": 1, "mae": 2, "huber": 3, "bce_logits": 4, "ce_logits": 5, "ziln": 6}
_REDUCTIONS = {"mean": 1, "sum": 2}
OPTIMIZERS = {"adam": 1, "adamw": 2, "sgd": 3, "adagrad": 4, "adadelta": 5}
_SCHEDULES = {"constant": 1, "step": 2, "cosine": 3}


def _key(table, value, what):
    try:
        return table[value.lower() if isinstance(value, str) else value]
    except KeyError:
        raise ValueError("%s: expected one of %s, got %r" % (what, ", ".join(table), value)) from None


class Loss:
    """Loss configuration: kind ("mse", "mae", "huber", "bce_logits",
    "ce_logits", "ziln"), reduction ("mean", "sum"), huber_delta."""

    def __init__(self, kind="mse", reduction="mean", huber_delta=1.0):
        o = new_options(LossOptions)
        o.kind = _key(LOSSES, kind, "loss")
        o.reduction = _key(_REDUCTIONS, reduction, "reduction")
        o.huber_delta = huber_delta
        self._opts = o

    def target_dim(self, pred_dim):
        out = ctypes.c_uint32()
        check(lib.clv_loss_target_dim(ctypes.byref(self._opts), pred_dim, ctypes.byref(out)))
        return out.value

    def __call__(self, pred, target, weight=None, mask=None, grad=False):
        """The loss value of pred[rows][pred_dim] against target; with
        grad=True, (value, gradient array like pred)."""
        p = f32(pred, "pred")
        if p.ndim == 1:
            p = p.reshape(-1, 1)
        rows, dim = p.shape
        t = f32(target, "target").reshape(rows, -1)
        w = None if weight is None else f32(weight, "weight", 1)
        m = None if mask is None else f32(mask, "mask", 1)
        g = np.empty_like(p) if grad else None
        value = ctypes.c_double()
        check(lib.clv_loss_eval(ctypes.byref(self._opts), rows, dim, fptr(p), fptr(t), fptr(w),
                                fptr(m), ctypes.byref(value), fptr(g)))
        return (value.value, g) if grad else value.value


def _as_loss(loss):
    return loss if isinstance(loss, Loss) else Loss(loss)


class Optimizer(Closeable):
    """An optimizer's state. kind: "adam", "adamw", "sgd", "adagrad",
    "adadelta"; any field of clv_optim_options as a keyword (lr, beta1,
    beta2, eps, weight_decay, momentum, dampening, nesterov, rho, clip_norm,
    schedule ("constant", "step", "cosine"), step_size, gamma, total_steps,
    min_lr). Unset fields keep the library's defaults for that kind."""

    kind = None

    def __init__(self, kind=None, **options):
        kind = kind or self.kind
        if kind is None:
            raise ValueError("Optimizer needs a kind: " + ", ".join(OPTIMIZERS))
        o = new_options(OptimOptions, _key(OPTIMIZERS, kind, "optimizer"))
        names = {f for f, _ in OptimOptions._fields_} - {"struct_size", "kind"}
        for k, v in options.items():
            if k not in names:
                raise TypeError("unknown optimizer option %r (known: %s)" % (k, ", ".join(sorted(names))))
            if k == "schedule":
                v = _key(_SCHEDULES, v, "schedule")
            setattr(o, k, int(v) if k == "nesterov" else v)
        self._h = new_handle(lib.clv_optim_new, lib.clv_optim_free, ctypes.byref(o))

    def step(self, model):
        """Update model's parameters from its gradients."""
        check(lib.clv_optim_step(self._ptr, model._ptr))

    def step_raw(self, params, grads):
        """The same update on a flat float32 array, in place (params must be
        C-contiguous float32: it is written through)."""
        if not (isinstance(params, np.ndarray) and params.dtype == np.float32
                and params.flags.c_contiguous and params.flags.writeable):
            raise ValueError("params must be a writeable C-contiguous float32 numpy array")
        g = f32(grads, "grads")
        if g.size != params.size:
            raise ValueError("grads has %d values, params %d" % (g.size, params.size))
        check(lib.clv_optim_step_raw(self._ptr, params.size, fptr(params), fptr(g)))

    def reset(self):
        check(lib.clv_optim_reset(self._ptr))

    @property
    def step_count(self):
        return int(lib.clv_optim_step_count(self._ptr))

    @property
    def last_lr(self):
        return float(lib.clv_optim_last_lr(self._ptr))

    @property
    def last_grad_norm(self):
        return float(lib.clv_optim_last_grad_norm(self._ptr))


class Adam(Optimizer):
    kind = "adam"


class AdamW(Optimizer):
    kind = "adamw"


class SGD(Optimizer):
    kind = "sgd"


class Adagrad(Optimizer):
    kind = "adagrad"


class Adadelta(Optimizer):
    kind = "adadelta"


class Model(Closeable):
    """A stack of LSTM or GRU layers with a final-state head and/or a per-step head.

    Model(input_size, hidden_size=64, cell="lstm", num_layers=1, static_size=0,
          final_outputs=1, step_outputs=0, seed=42, forget_bias=1.0, dropout=0.0)

    Inputs x are [B][T][F] float32, lengths [B] (None = all T), static [B][S].
    """

    def __init__(self, input_size, hidden_size=64, cell="lstm", num_layers=1, static_size=0,
                 final_outputs=1, step_outputs=0, seed=42, forget_bias=1.0, dropout=0.0):
        o = new_options(ModelOptions)
        o.cell = _key(CELLS, cell, "cell")
        o.input_size, o.hidden_size, o.num_layers = input_size, hidden_size, num_layers
        o.static_size, o.final_outputs, o.step_outputs = static_size, final_outputs, step_outputs
        o.seed, o.forget_bias, o.dropout = seed, forget_bias, dropout
        self._h = new_handle(lib.clv_model_new, lib.clv_model_free, ctypes.byref(o))

    @property
    def options(self):
        """The configuration as a dict (the keyword arguments of Model())."""
        o = new_options(ModelOptions)
        check(lib.clv_model_get_options(self._ptr, ctypes.byref(o)))
        return {"input_size": o.input_size, "hidden_size": o.hidden_size,
                "cell": _CELL_NAMES[o.cell], "num_layers": o.num_layers,
                "static_size": o.static_size, "final_outputs": o.final_outputs,
                "step_outputs": o.step_outputs, "seed": o.seed, "forget_bias": o.forget_bias,
                "dropout": o.dropout}

    @property
    def num_threads(self):
        return lib.clv_model_num_threads(self._ptr)

    @num_threads.setter
    def num_threads(self, n):
        check(lib.clv_model_set_num_threads(self._ptr, n))

    def _inputs(self, x, lengths, static):
        xa = f32(x, "x", 3)
        b, t, _ = xa.shape
        la = None if lengths is None else i32(lengths, "lengths", 1)
        sa = None if static is None else f32(static, "static", 2)
        if la is not None and len(la) != b:
            raise ValueError("lengths has %d entries, x has %d sequences" % (len(la), b))
        return xa, la, sa, b, t

    def _outputs(self, b, t, final, step):
        o = self.options
        fo = np.empty((b, o["final_outputs"]), np.float32) if final and o["final_outputs"] else None
        so = np.empty((b, t, o["step_outputs"]), np.float32) if step and o["step_outputs"] else None
        return fo, so

    def predict(self, x, lengths=None, static=None, final=True, step=True):
        """Inference. Returns the final head's [B][final_outputs] array, the
        per-step head's [B][T][step_outputs], or both as a tuple when the
        model has both heads."""
        xa, la, sa, b, t = self._inputs(x, lengths, static)
        fo, so = self._outputs(b, t, final, step)
        check(lib.clv_model_predict(self._ptr, None, b, t, fptr(xa), iptr(la), fptr(sa),
                                    fptr(fo), fptr(so)))
        return _one_or_both(fo, so)

    def forward(self, x, lengths=None, static=None):
        """Training forward pass (keeps activations for backward())."""
        xa, la, sa, b, t = self._inputs(x, lengths, static)
        fo, so = self._outputs(b, t, True, True)
        check(lib.clv_model_forward(self._ptr, b, t, fptr(xa), iptr(la), fptr(sa),
                                    fptr(fo), fptr(so)))
        self._last_shape = (b, t, xa.shape[2], 0 if sa is None else sa.shape[1])
        return _one_or_both(fo, so)

    def backward(self, d_final=None, d_step=None, input_grads=False):
        """Backpropagation through time for the last forward(); adds to the
        gradients. With input_grads=True returns (d_x, d_static)."""
        df = None if d_final is None else f32(d_final, "d_final")
        ds = None if d_step is None else f32(d_step, "d_step")
        dx = dst = None
        if input_grads:
            b, t, f, s = self._last_shape
            dx = np.empty((b, t, f), np.float32)
            dst = np.empty((b, s), np.float32) if s else None
        check(lib.clv_model_backward(self._ptr, fptr(df), fptr(ds), fptr(dx), fptr(dst)))
        return (dx, dst) if input_grads else None

    def zero_grad(self):
        check(lib.clv_model_zero_grad(self._ptr))

    def train_step(self, optimizer, x, target, lengths=None, static=None, weight=None,
                   loss="mse"):
        """zero_grad + forward + loss + backward + optimizer step; returns the
        loss before the update."""
        xa, la, sa, b, t = self._inputs(x, lengths, static)
        ta = f32(target, "target")
        wa = None if weight is None else f32(weight, "weight", 1)
        lo = _as_loss(loss)._opts
        out = ctypes.c_double()
        check(lib.clv_model_train_step(self._ptr, optimizer._ptr, ctypes.byref(lo), b, t, fptr(xa),
                                       iptr(la), fptr(sa), fptr(ta), fptr(wa), ctypes.byref(out)))
        return out.value

    # -- parameters ----------------------------------------------------------

    @property
    def param_count(self):
        return int(lib.clv_model_param_count(self._ptr))

    def param_tensors(self):
        """[(name, offset, rows, cols)] in the order of the flat parameter buffer."""
        p = self._ptr
        out = []
        for i in range(lib.clv_model_param_tensor_count(p)):
            name, off = ctypes.c_char_p(), ctypes.c_uint64()
            rows, cols = ctypes.c_uint32(), ctypes.c_uint32()
            check(lib.clv_model_param_tensor_info(p, i, ctypes.byref(name), ctypes.byref(off),
                                                  ctypes.byref(rows), ctypes.byref(cols)))
            out.append((name.value.decode(), off.value, rows.value, cols.value))
        return out

    def get_params(self):
        """A copy of every parameter, flat float32."""
        out = np.empty(self.param_count, np.float32)
        check(lib.clv_model_get_params(self._ptr, fptr(out), out.size))
        return out

    def set_params(self, values):
        v = f32(values, "params").ravel()
        check(lib.clv_model_set_params(self._ptr, fptr(v), v.size))

    def get_grads(self):
        out = np.empty(self.param_count, np.float32)
        check(lib.clv_model_get_grads(self._ptr, fptr(out), out.size))
        return out

    def state_dict(self):
        """{tensor name: float32 array of its shape} (copies), PyTorch style."""
        flat = self.get_params()
        return {n: flat[o:o + r * c].reshape(r, c) for n, o, r, c in self.param_tensors()}

    # -- files ----------------------------------------------------------------

    def save(self, path):
        """Save configuration and parameters as a numpy .npz file (this
        binding's format: libclv's C API saves forecasters, not bare models)."""
        with open(path, "wb") as f:
            np.savez(f, options=np.array(json.dumps(self.options)), params=self.get_params())

    @classmethod
    def load(cls, path):
        with np.load(path, allow_pickle=False) as z:
            model = cls(**json.loads(str(z["options"])))
            model.set_params(z["params"])
        return model


def _one_or_both(final, step):
    if final is not None and step is not None:
        return final, step
    return final if final is not None else step
