"""Adamax: Adam with the infinity norm in place of the second moment."""

from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _addcdiv_, _bump, _check, _check_betas, _check_lr, _differentiable_grad,
                        _eval_closure, _incr_step, _lerp_, _run_update, _signed_decayed, _step, _step_tensor,
                        _zeros_like)

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
            eps, wd, maximize = group["eps"], group["weight_decay"], group["maximize"]
            diff = group["differentiable"]
            for p in group["params"]:
                g = _differentiable_grad(self, p, group, tensor_lr=False) if diff else p.grad
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_inf"] = _zeros_like(p)
                _check_capturable(group, p)
                step = _incr_step(state)
                clr = lr / (1 - beta1**step)
                if diff:
                    run_on_tensors(_update, p, [state["exp_avg"], state["exp_inf"]], Slot(g), beta1, beta2, eps, wd,
                                   clr, maximize)
                else:
                    _run_update(_update, (p._data, state["exp_avg"]._data, state["exp_inf"]._data), g._data, beta1,
                                beta2, eps, wd, clr, maximize)
                    _bump(p)
        return loss


def _update(d, m, u, g, beta1, beta2, eps, wd, clr, maximize, xp=ARRAYS):
    """One parameter's update: on arrays, or on slots of Tensors with ``xp=TENSORS``
    (differentiable=True: optim/_update_ops.py)."""
    g = _signed_decayed(g, d, wd, maximize, xp)
    _lerp_(m, g, 1 - beta1, xp)
    u *= beta2
    a = xp.abs(g)
    a += eps
    xp.maximum(u, a, out=u)
    _addcdiv_(d, m, u, -clr, xp, out=a)
