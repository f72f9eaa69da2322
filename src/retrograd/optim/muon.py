"""Muon: momentum SGD whose update is orthogonalized by a Newton-Schulz iteration (2-D parameters)."""

import math

import numpy as np

from .._backend import array_module
from .._bfloat16 import from_bits, to_bits
from ..tensor import Tensor
from .optimizer import Optimizer, _bump, _check, _eval_closure, _lerp_, _step, _zeros_like

__all__ = ["Muon"]

_ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def _bf16(x):
    """float32 array x rounded to bfloat16 (kept as float32): torch runs the iteration in bfloat16,
    each operation (a matmul, a fused a*X + B@X) computed in float32 and rounded once."""
    return from_bits(to_bits(x))


def _newton_schulz(g, a, b, c, eps, steps):
    """An approximately orthogonal matrix with g's singular vectors: X = g / max(||g||, eps) (torch's
    docs call eps a term added to the denominator; its Muon clamps the norm to eps, as here), then
    ``steps`` times A = X X^T, B = b A + c A A, X = a X + B X (on the wide orientation of X), in
    bfloat16 as torch's. Returns a float32 array of g's shape."""
    xp = array_module(g)
    x = _bf16(g.astype(np.float32))
    norm = _bf16(xp.sqrt(xp.sum(x * x, dtype=np.float32)).astype(np.float32))
    x = _bf16(x / _bf16(xp.maximum(norm, np.float32(eps))))
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    a, b, c = np.float32(a), np.float32(b), np.float32(c)
    for _ in range(steps):
        gram = _bf16(x @ x.T)
        poly = _bf16(b * gram + c * (gram @ gram))
        x = _bf16(a * x + poly @ x)
    return x.T if tall else x


def _adjusted_lr(lr, shape, adjust_lr_fn):
    """The step size for a rows x cols update: Keller Jordan's ``lr * sqrt(max(1, rows/cols))``
    ("original", the default) or Moonshot's ``0.2 * lr * sqrt(max(rows, cols))`` ("match_rms_adamw"),
    which gives the update AdamW's RMS."""
    rows, cols = shape
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols)) * lr
    return lr * math.sqrt(max(1.0, rows / cols))


class Muon(Optimizer):
    """B = lerp(B, g, 1 - momentum);  U = lerp(g, B, momentum) if nesterov else B;
    O = NewtonSchulz(U);  p *= 1 - lr*wd;  p -= adjusted_lr * O.  For 2-D parameters only (the
    hidden layers' weights): optimize biases and embeddings with another optimizer, as torch says."""

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        _check(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}")
        _check(0.0 <= momentum, f"momentum should be >= 0 but is: {momentum}")
        _check(0.0 <= weight_decay, f"weight decay should be >= 0 but is: {weight_decay}")
        _check(adjust_lr_fn in _ADJUST_LR_FNS, f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}")

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            wd, mu = group["weight_decay"], group["momentum"]
            a, b, c = group["ns_coefficients"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if g.ndim != 2:
                    raise ValueError("Param gradient must be a 2D matrix")
                state = self.state[p]
                if len(state) == 0:
                    state["momentum_buffer"] = _zeros_like(p)
                buf = state["momentum_buffer"]._data
                data = p._data
                # float16/bfloat16: each of torch's ops computes in float32 and rounds once
                wide = np.float32 if data.dtype.itemsize == 2 else data.dtype
                buf_w, g_w = buf.astype(wide, copy=False), g.astype(wide, copy=False)
                _lerp_(buf_w, g_w, 1 - mu)
                if buf_w is not buf:
                    buf[...] = buf_w.astype(buf.dtype)
                if group["nesterov"]:
                    update = g_w.copy()
                    _lerp_(update, buf.astype(wide, copy=False), mu)
                    update = update.astype(data.dtype, copy=False)
                else:
                    update = buf
                ortho = _newton_schulz(update, a, b, c, group["eps"], group["ns_steps"])
                ortho = ortho.astype(wide, copy=False)
                ortho *= _adjusted_lr(lr, data.shape, group["adjust_lr_fn"])
                if wide is data.dtype:
                    data *= 1 - lr * wd
                    data -= ortho
                else:
                    decayed = (data.astype(wide) * (1 - lr * wd)).astype(data.dtype)
                    data[...] = (decayed.astype(wide) - ortho).astype(data.dtype)
                _bump(p)
        return loss
