"""RMSprop: divide the gradient by a running root mean square (centered, with momentum)."""

import numpy as np

from .optimizer import (Optimizer, _bump, _check, _check_lr, _eval_closure, _grad_array, _incr_step, _lerp_,
                        _mul_addcmul_, _step, _step_tensor, _zeros_like)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """v = alpha*v + (1-alpha)*g^2;  avg = sqrt(v - gavg^2) if centered else sqrt(v), + eps;
    buf = momentum*buf + g/avg, p -= lr*buf (momentum > 0), else p -= lr*g/avg."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            alpha, eps, wd = group["alpha"], group["eps"], group["weight_decay"]
            momentum, centered = group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if centered:
                        state["grad_avg"] = _zeros_like(p)
                d = p._data
                g = _grad_array(p, group["maximize"])
                _incr_step(state)
                if wd != 0:
                    g = np.add(g, np.multiply(d, wd))
                v = state["square_avg"]._data
                _mul_addcmul_(v, alpha, g, g, 1 - alpha)
                if centered:
                    gavg = state["grad_avg"]._data
                    _lerp_(gavg, g, 1 - alpha)
                    avg = np.subtract(v, np.multiply(gavg, gavg))
                    np.sqrt(avg, out=avg)
                else:
                    avg = np.sqrt(v)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += np.divide(g, avg)
                    d -= np.multiply(buf, lr)
                else:
                    np.divide(g, avg, out=avg)
                    avg *= -lr
                    d += avg
                _bump(p)
        return loss
