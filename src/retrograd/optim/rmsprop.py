"""RMSprop: divide the gradient by a running root mean square (centered, with momentum)."""

from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _addcdiv_, _bump, _check, _check_lr, _differentiable_grad, _eval_closure,
                        _incr_step, _lerp_, _mul_addcmul_, _run_update, _signed_decayed, _step, _step_tensor,
                        _zeros_like)

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
            maximize, diff = group["maximize"], group["differentiable"]
            for p in group["params"]:
                g = _differentiable_grad(self, p, group, tensor_lr=False) if diff else p.grad
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if centered:
                        state["grad_avg"] = _zeros_like(p)
                _check_capturable(group, p, foreach_xla=True)
                _incr_step(state)
                states = [state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer")]
                args = (lr, alpha, eps, wd, momentum, centered, maximize)
                if diff:
                    run_on_tensors(_update, p, states, Slot(g), *args)
                else:
                    _run_update(_update, [p._data, *(None if s is None else s._data for s in states)], g._data, *args,
                                whole=momentum > 0)
                    _bump(p)
        return loss


def _update(d, v, gavg, buf, g, lr, alpha, eps, wd, momentum, centered, maximize, xp=ARRAYS):
    """One parameter's update (``gavg`` with centered, ``buf`` with momentum, else None): on
    arrays, or on slots of Tensors with ``xp=TENSORS`` (differentiable=True: optim/_update_ops.py)."""
    g = _signed_decayed(g, d, wd, maximize, xp)
    scratch = _mul_addcmul_(v, alpha, g, g, 1 - alpha, xp)
    if centered:
        _lerp_(gavg, g, 1 - alpha, xp)
        avg = xp.subtract(v, xp.multiply(gavg, gavg))
        avg = xp.sqrt(avg, out=avg)
    else:
        avg = xp.sqrt(v)
    avg += eps
    if momentum > 0:
        buf *= momentum
        buf += xp.divide(g, avg)
        xp.axpy(-lr, buf, d)
    else:
        _addcdiv_(d, g, avg, -lr, xp, out=scratch)
