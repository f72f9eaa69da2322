"""Adafactor: Adam-like steps with a factored (row x column) second moment for matrices."""

import math

import numpy as np

from .._backend import array_module
from ..tensor import Tensor
from .optimizer import Optimizer, _bump, _eval_closure, _grad_array, _incr_step, _lerp_, _step, _step_tensor

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """beta2_t = 1 - t^beta2_decay;  rho = min(lr, 1/sqrt t);  alpha = max(eps2, RMS(p)) * rho;
    p *= 1 - lr*wd;  for matrices R, C = running means of g^2 over rows and columns and
    V = R C / mean(R) (else V = running mean of g^2);  U = g / sqrt(max(V, eps1^2));
    p -= alpha * U / max(1, RMS(U)/d).  eps1 None means the dtype's machine epsilon."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= float(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            eps1, eps2 = group["eps"]
            d_clip, wd, decay = group["d"], group["weight_decay"], group["beta2_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p._data
                xp = array_module(data)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    if data.ndim > 1:
                        state["row_var"] = Tensor._make(xp.zeros(data.shape[:-1] + (1,), data.dtype))
                        state["col_var"] = Tensor._make(xp.zeros(data.shape[:-2] + (1, data.shape[-1]), data.dtype))
                    else:
                        state["variance"] = Tensor._make(np.zeros_like(data))
                g = _grad_array(p, group["maximize"])
                e1 = float(np.finfo(data.dtype).eps) if eps1 is None else eps1
                t = _incr_step(state)
                one_minus_beta2 = t**decay
                rho = min(lr, 1 / math.sqrt(t))
                if xp is np:
                    alpha = max(eps2, float(np.linalg.norm(data.reshape(-1))) / math.sqrt(data.size)) * rho
                else:  # the norms stay on the device (no round trip per parameter)
                    alpha = xp.maximum(eps2, xp.linalg.norm(data.reshape(-1)) / math.sqrt(data.size)) * rho
                if wd != 0:
                    data *= 1 - lr * wd
                sq = np.multiply(g, g)
                if data.ndim > 1:
                    row_var = state["row_var"]._data
                    col_var = state["col_var"]._data
                    _lerp_(row_var, sq.mean(axis=-1, keepdims=True), one_minus_beta2)
                    _lerp_(col_var, sq.mean(axis=-2, keepdims=True), one_minus_beta2)
                    var = np.matmul(row_var, col_var)
                    var /= np.maximum(row_var.mean(axis=-2, keepdims=True), e1)
                else:
                    variance = state["variance"]._data
                    _lerp_(variance, sq, one_minus_beta2)
                    var = variance.copy()
                np.maximum(var, e1 * e1, out=var)
                update = np.sqrt(var, out=var)
                np.divide(g, update, out=update)
                rms = xp.linalg.norm(update.reshape(-1)) / (math.sqrt(update.size) * d_clip)
                denom = max(1.0, float(rms)) if xp is np else xp.maximum(1.0, rms)  # (on a device: stays there)
                update *= -alpha / denom
                data += update
                _bump(p)
        return loss
