"""ASGD: averaged stochastic gradient descent."""

import numpy as np

from ..tensor import Tensor
from .optimizer import (Optimizer, _bump, _check, _check_lr, _eval_closure, _grad_array, _incr_step, _step,
                        _step_tensor, _zeros_like)

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
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # eta and mu are float32 scalars, rounded as torch keeps them
                    state["step"] = _step_tensor()
                    state["eta"] = Tensor._make(np.array(lr, dtype=np.float32))
                    state["mu"] = Tensor._make(np.ones((), dtype=np.float32))
                    state["ax"] = _zeros_like(p)
                d = p._data
                g = _grad_array(p, group["maximize"])
                step = _incr_step(state)
                if wd != 0:
                    g = np.add(g, np.multiply(d, wd))
                eta = float(state["eta"]._data)
                d *= 1 - lambd * eta
                d -= np.multiply(g, eta)
                ax = state["ax"]._data
                mu = float(state["mu"]._data)
                if mu != 1:
                    ax += np.multiply(np.subtract(d, ax), mu)
                else:
                    ax[...] = d
                state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** alpha)
                state["mu"]._data[...] = 1 / max(1, step - t0)
                _bump(p)
        return loss
