"""Rprop: resilient backpropagation (per-coordinate step sizes from gradient signs)."""

import numpy as np

from ..tensor import Tensor
from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _bump, _check_lr, _differentiable_grad, _eval_closure, _incr_step, _step,
                        _step_tensor, _zeros_like)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """s = sign(g * g_prev);  step *= etaplus where s > 0, etaminus where s < 0, clipped to
    step_sizes;  g = 0 where s < 0;  p -= sign(g) * step;  g_prev = g."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_min, step_max = group["step_sizes"]
            maximize, diff = group["maximize"], group["differentiable"]
            for p in group["params"]:
                g = _differentiable_grad(self, p, group, tensor_lr=False) if diff else p.grad
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["prev"] = _zeros_like(p)
                    arr = g._data.copy()
                    arr[...] = float(group["lr"])
                    state["step_size"] = Tensor._make(arr)
                _check_capturable(group, p, foreach_xla=True)
                _incr_step(state)
                args = (etaminus, etaplus, step_min, step_max, maximize)
                if diff:
                    run_on_tensors(_update, p, [state["prev"], state["step_size"]], Slot(g), *args)
                else:
                    _update(p._data, state["prev"]._data, state["step_size"]._data, g._data, *args)
                    _bump(p)
        return loss


def _update(d, prev, step_size, g, etaminus, etaplus, step_min, step_max, maximize, xp=ARRAYS):
    """One parameter's update: on arrays, or on slots of Tensors with ``xp=TENSORS``
    (differentiable=True: optim/_update_ops.py; no gradient goes through the signs)."""
    if maximize:
        g = xp.negative(g)
    prod = xp.value(xp.multiply(g, prev))
    factor = np.where(prod > 0, etaplus, np.where(prod < 0, etaminus, 1.0)).astype(prod.dtype)
    step_size *= factor
    xp.clip(step_size, step_min, step_max, out=step_size)
    g = xp.where(prod < 0, 0, g)
    d -= xp.multiply(xp.sign(g), step_size)
    xp.copyto(prev, g)
