"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""

import math

import numpy as np

from .optimizer import (Optimizer, _bump, _check, _check_betas, _check_lr, _eval_closure, _grad_array, _incr_step,
                        _lerp_, _mul_addcmul_, _step, _step_tensor, _zeros_like)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """m, v as Adam;  rho_t = rho_inf - 2t b2^t/(1-b2^t);  if rho_t > 5:
    p -= lr * m/(1-b1^t) * sqrt(1-b2^t)/(sqrt(v)+eps) * r_t (the rectification), else
    p -= lr * m/(1-b1^t)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
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
                    state["exp_avg_sq"] = _zeros_like(p)
                d = p._data
                g = _grad_array(p, group["maximize"])
                step = _incr_step(state)
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        d *= 1 - lr * wd
                    else:
                        g = np.add(g, np.multiply(d, wd))
                m = state["exp_avg"]._data
                v = state["exp_avg_sq"]._data
                _lerp_(m, g, 1 - beta1)
                _mul_addcmul_(v, beta2, g, g, 1 - beta2)
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                upd = np.divide(m, bias_correction1)
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
                upd *= lr
                if rho_t > 5.0:
                    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                    denom = np.sqrt(v)
                    denom += eps
                    np.divide(math.sqrt(bias_correction2), denom, out=denom)
                    upd *= denom
                    upd *= rect
                d -= upd
                _bump(p)
        return loss
