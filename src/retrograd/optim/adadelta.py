"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _bump, _check, _check_lr, _differentiable_grad, _eval_closure, _incr_step,
                        _mul_addcmul_, _signed_decayed, _step, _step_tensor, _zeros_like)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """v = rho*v + (1-rho)*g^2;  delta = sqrt(u + eps)/sqrt(v + eps) * g;
    u = rho*u + (1-rho)*delta^2;  p -= lr*delta."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check_lr(lr)
        _check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            rho, eps, wd, maximize = group["rho"], group["eps"], group["weight_decay"], group["maximize"]
            diff = group["differentiable"]
            for p in group["params"]:
                g = _differentiable_grad(self, p, group, tensor_lr=False) if diff else p.grad
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _zeros_like(p)
                    state["acc_delta"] = _zeros_like(p)
                _check_capturable(group, p, xla=False)
                _incr_step(state)
                if diff:
                    run_on_tensors(_update, p, [state["square_avg"], state["acc_delta"]], Slot(g), lr, rho, eps, wd,
                                   maximize)
                else:
                    _update(p._data, state["square_avg"]._data, state["acc_delta"]._data, g._data, lr, rho, eps, wd,
                            maximize)
                    _bump(p)
        return loss


def _update(d, v, u, g, lr, rho, eps, wd, maximize, xp=ARRAYS):
    """One parameter's update: on arrays, or on slots of Tensors with ``xp=TENSORS``
    (differentiable=True: optim/_update_ops.py)."""
    g = _signed_decayed(g, d, wd, maximize, xp)
    _mul_addcmul_(v, rho, g, g, 1 - rho, xp)
    std = xp.add(v, eps)
    std = xp.sqrt(std, out=std)
    delta = xp.add(u, eps)
    delta = xp.sqrt(delta, out=delta)
    delta /= std
    delta *= g
    _mul_addcmul_(u, rho, delta, delta, 1 - rho, xp)
    xp.axpy(-lr, delta, d)
