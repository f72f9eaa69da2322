"""ASGD: averaged stochastic gradient descent."""

import numpy as np

from ..tensor import Tensor
from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _bump, _check, _check_lr, _differentiable_grad, _eval_closure, _incr_step,
                        _signed_decayed, _step, _step_tensor, _zeros_like)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """p = p*(1 - lambd*eta) - eta*g;  ax = average of the iterates after step t0 (ax += mu*(p - ax));
    eta = lr / (1 + lambd*lr*t)^alpha;  mu = 1 / max(1, t - t0)."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            lambd, alpha, t0, wd = group["lambd"], group["alpha"], group["t0"], group["weight_decay"]
            maximize, diff = group["maximize"], group["differentiable"]
            for p in group["params"]:
                g = _differentiable_grad(self, p, group) if diff else p.grad
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # eta and mu are float32 scalars, rounded as torch keeps them
                    state["step"] = _step_tensor()
                    state["eta"] = Tensor._make(np.array(lr, dtype=np.float32))
                    state["mu"] = Tensor._make(np.ones((), dtype=np.float32))
                    state["ax"] = _zeros_like(p)
                _check_capturable(group, p, "params, mus, etas, and state_steps")
                step = _incr_step(state)
                args = (float(state["eta"]._data), float(state["mu"]._data), lambd, wd, maximize)
                if diff:  # (eta and mu are numbers there too: a Tensor lr gets no gradient, as torch's)
                    run_on_tensors(_update, p, [state["ax"]], Slot(g), *args)
                else:
                    _update(p._data, state["ax"]._data, g._data, *args)
                    _bump(p)
                state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** alpha)
                state["mu"]._data[...] = 1 / max(1, step - t0)
        return loss


def _update(d, ax, g, eta, mu, lambd, wd, maximize, xp=ARRAYS):
    """One parameter's update and its running average ``ax``: on arrays, or on slots of Tensors
    with ``xp=TENSORS`` (differentiable=True: optim/_update_ops.py)."""
    g = _signed_decayed(g, d, wd, maximize, xp)
    d *= 1 - lambd * eta
    xp.axpy(-eta, g, d)
    if mu != 1:
        ax += xp.multiply(xp.subtract(d, ax), mu)
    else:
        xp.copyto(ax, d)
