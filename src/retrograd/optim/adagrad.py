"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from ..tensor import Tensor
from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import (Optimizer, _addcdiv_, _bump, _check, _check_lr, _differentiable_grad, _eval_closure,
                        _incr_step, _run_update, _scratch, _signed_decayed, _step, _step_tensor)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """s += g^2;  p -= lr/(1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        _check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= initial_accumulator_value,
               f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:  # torch creates the state eagerly
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            arr = p._data.copy()
            arr[...] = group["initial_accumulator_value"]
            state["sum"] = Tensor._make(arr)
        return state

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            lr_decay, eps, wd, maximize = group["lr_decay"], group["eps"], group["weight_decay"], group["maximize"]
            diff = group["differentiable"]
            for p in group["params"]:
                g = _differentiable_grad(self, p, group, tensor_lr=False) if diff else p.grad
                if g is None:
                    continue
                state = self._init_state(p, group)
                step = _incr_step(state)
                clr = lr / (1 + (step - 1) * lr_decay)
                if diff:
                    run_on_tensors(_update, p, [state["sum"]], Slot(g), wd, eps, clr, maximize)
                else:
                    _run_update(_update, (p._data, state["sum"]._data), g._data, wd, eps, clr, maximize)
                    _bump(p)
        return loss


def _update(d, s, g, wd, eps, clr, maximize, xp=ARRAYS):
    """One parameter's update: on arrays, or on slots of Tensors with ``xp=TENSORS``
    (differentiable=True: optim/_update_ops.py)."""
    g = _signed_decayed(g, d, wd, maximize, xp)
    sq = xp.multiply(g, g)  # (torch's addcmul_ with value 1 fuses this with the sum: see _mul_addcmul_)
    s += sq
    std = xp.sqrt(s)
    std += eps
    _addcdiv_(d, g, std, -clr, xp, out=_scratch(sq))
