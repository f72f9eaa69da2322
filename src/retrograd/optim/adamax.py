"""Adamax: Adam with the infinity norm in place of the second moment."""

import numpy as np

from .optimizer import (Optimizer, _bump, _check, _check_betas, _check_lr, _eval_closure, _grad_array, _incr_step,
                        _lerp_, _step, _step_tensor, _zeros_like)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """m = lerp(m, g, 1-b1);  u = max(b2*u, |g| + eps);  p -= lr/(1-b1^t) * m/u."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps, wd = group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_inf"] = _zeros_like(p)
                d = p._data
                g = _grad_array(p, group["maximize"])
                step = _incr_step(state)
                if wd != 0:
                    g = np.add(g, np.multiply(d, wd))
                m = state["exp_avg"]._data
                u = state["exp_inf"]._data
                _lerp_(m, g, 1 - beta1)
                u *= beta2
                a = np.abs(g)
                a += eps
                np.maximum(u, a, out=u)
                clr = lr / (1 - beta1**step)
                np.divide(m, u, out=a)
                a *= -clr
                d += a
                _bump(p)
        return loss
