"""Gradient clipping: rescale (``clip_grad_norm_``) or clamp (``clip_grad_value_``) the
``.grad`` of parameters in place. One norm per gradient, then the norm of those norms:
no concatenation of all gradients into one buffer."""

import functools
import math

from ... import _backend, _dtype
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _grads(parameters):
    return [p.grad for p in _as_list(parameters) if p.grad is not None]


def _norm_of(arr, norm_type):
    xp = _backend.array_module(arr)
    a = xp.abs(arr)
    if norm_type == math.inf:
        return a.max() if a.size else xp.asarray(0.0, dtype=arr.dtype)
    if norm_type == -math.inf:
        return a.min() if a.size else xp.asarray(math.inf, dtype=arr.dtype)
    if norm_type == 0:
        return xp.asarray((a != 0).sum(), dtype=arr.dtype)
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:
        flat = arr.reshape(-1)
        return xp.sqrt(flat @ flat)
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together (as one vector)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._make(_backend.np.asarray(0.0, dtype="float32"))
    xp = _backend.array_module(tensors[0]._data)
    # each norm in its tensor's dtype, stacked in their promoted dtype as torch (float32 and float64
    # grads give a float64 total)
    dtype = functools.reduce(_dtype.promote_types, [t.dtype for t in tensors]).np
    norms = xp.stack([xp.asarray(xp.asarray(_norm_of(t._data, norm_type), dtype=t._data.dtype), dtype=dtype)
                      for t in tensors])
    total = _norm_of(norms, norm_type)
    total = xp.asarray(total, dtype=dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = _grads(parameters)
    if not grads:
        return
    if isinstance(total_norm, Tensor) and _backend.array_module(total_norm._data) is not _backend.np:
        # a device's norm stays there (no round trip): the coefficient min(max_norm / (total + 1e-6), 1)
        # is computed on the device too, nan for a nan norm as on the host
        xp = _backend.array_module(total_norm._data)
        coef = xp.minimum(float(max_norm) / (total_norm._data.astype(_backend.np.float64) + 1e-6), 1.0)
        for g in grads:
            g._data *= coef.astype(g._data.dtype)
            g._vc[0] += 1
        return
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    coef = min(float(max_norm) / (total + 1e-6), 1.0) if total == total else math.nan
    for g in grads:
        g._data *= g._data.dtype.type(coef)
        g._vc[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients so that their total norm is at most ``max_norm``; returns the
    total norm before clipping (a 0-d tensor)."""
    return _clip_norm(_as_list(parameters), max_norm, norm_type, error_if_nonfinite, foreach)


def _clip_norm(params, max_norm, norm_type, error_if_nonfinite, foreach):
    """clip_grad_norm_ on a list of parameters (a compiled function's capture records this call, replayed
    after its backward; _compile/capture.py)."""
    grads = _grads(params)
    if not grads:
        return Tensor._make(_backend.np.asarray(0.0, dtype="float32"))
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of ``clip_grad_norm_``."""
    import warnings

    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    _clip_value(_as_list(parameters), clip_value)  # (foreach: torch's _foreach kernels; the same values)


def _clip_value(params, clip_value):
    """clip_grad_value_ on a list of parameters (recorded by a compiled function's capture, as _clip_norm)."""
    clip_value = float(clip_value)
    for g in _grads(params):
        xp = _backend.array_module(g._data)
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vc[0] += 1
