"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""

import math

from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _adam_moments, _bump, _check, _check_betas, _check_lr, _differentiable_grad,
                        _eval_closure, _incr_step, _run_update, _step, _step_tensor, _zeros_like)

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
            decoupled, maximize, diff = group["decoupled_weight_decay"], group["maximize"], group["differentiable"]
            if diff:
                lr = group["lr"]  # (a Tensor lr gets a gradient)
            for p in group["params"]:
                g = _differentiable_grad(self, p, group) if diff else p.grad
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                _check_capturable(group, p)
                step = _incr_step(state)
                args = (step, lr, beta1, beta2, eps, wd, decoupled, maximize)
                if diff:
                    run_on_tensors(_update, p, [state["exp_avg"], state["exp_avg_sq"]], Slot(g), *args)
                else:
                    _run_update(_update, (p._data, state["exp_avg"]._data, state["exp_avg_sq"]._data), g._data, *args)
                    _bump(p)
        return loss


def _update(d, m, v, g, step, lr, beta1, beta2, eps, wd, decoupled, maximize, xp=ARRAYS):
    """One parameter's update: on arrays, or on slots of Tensors with ``xp=TENSORS``
    (differentiable=True: optim/_update_ops.py)."""
    g, _ = _adam_moments(d, m, v, g, lr, beta1, beta2, wd, decoupled, maximize, xp)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    upd = xp.divide(m, bias_correction1)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    upd *= lr
    if rho_t > 5.0:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        denom = xp.sqrt(v)
        denom += eps
        denom = xp.divide(math.sqrt(bias_correction2), denom, out=denom)
        upd *= denom
        upd *= rect
    d -= upd
