"""Adam and AdamW: adaptive moment estimation (AdamW: decoupled weight decay)."""

import math

import numpy as np

from ..ops import _cuda_kernels

from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _bump, _check, _check_betas, _check_lr, _differentiable_grad, _eval_closure,
                        _incr_step, _adam_moments, _addcdiv_, _run_update, _step, _step_tensor, _zeros_like)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g^2;  (vmax = max(vmax, v) with amsgrad)
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).  Weight decay adds wd*p to g, or,
    when decoupled (AdamW), scales p by (1 - lr*wd) first."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = group["eps"]
            wd = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            params = group["params"]
            if group["differentiable"]:
                _step_tensors(self, group, beta1, beta2, eps, wd, amsgrad, maximize, decoupled)
                continue
            if params and type(params[0]._data) is not np.ndarray and _step_cuda(
                    self, params, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled):
                continue
            for p in params:
                if p._grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    _init_state(state, p, amsgrad)
                _check_capturable(group, p)
                step = _incr_step(state)
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                d, m, v = p._data, state["exp_avg"]._data, state["exp_avg_sq"]._data
                vmax = state["max_exp_avg_sq"]._data if amsgrad else None
                args = (p._grad._data, lr, beta1, beta2, eps, wd, decoupled, maximize, lr / bias_correction1,
                        math.sqrt(bias_correction2))
                _run_update(_update, (d, m, v, vmax), *args)
                _bump(p)
        return loss


def _update(d, m, v, vmax, g, lr, beta1, beta2, eps, wd, decoupled, maximize, step_size, bc2_sqrt, xp=ARRAYS):
    """One parameter's update on arrays, or on matching blocks of them (retrograd._blocked: the
    temporaries stay in cache): the parameter ``d``, its moments ``m`` and ``v``, and with
    amsgrad ``vmax`` (else None). On slots of Tensors with ``xp=TENSORS`` (differentiable=True:
    optim/_update_ops.py)."""
    g, scratch = _adam_moments(d, m, v, g, lr, beta1, beta2, wd, decoupled, maximize, xp)
    if vmax is not None:  # amsgrad
        xp.maximum(vmax, v, out=vmax)
        v = vmax
    denom = xp.sqrt(v) if v.ndim else xp.sqrt(v, out=xp.empty_like(v))  # (an array for a 0-dim parameter too)
    denom /= bc2_sqrt
    denom += eps
    _addcdiv_(d, m, denom, -step_size, xp, out=scratch)


def _step_tensors(opt, group, beta1, beta2, eps, wd, amsgrad, maximize, decoupled):
    """The group's update with differentiable=True: _update on the Tensors, recorded by autograd.
    As torch's, the bias corrections are computed from the step tensor (float32 unless the
    default dtype is float64), a Tensor lr gets a gradient, and the step's scale goes into the
    denominator: d += m / (sqrt(v)/(bc2_sqrt*s) + eps/s), s = -lr/(1-b1^t) (torch's rounding)."""
    lr = group["lr"]
    for p in group["params"]:
        g = _differentiable_grad(opt, p, group)
        if g is None:
            continue
        state = opt.state[p]
        if len(state) == 0:
            _init_state(state, p, amsgrad)
        step = state["step"]
        if step.requires_grad:
            raise RuntimeError("`requires_grad` is not supported for `step` in differentiable mode")
        _check_capturable(group, p)
        _incr_step(state)
        scale = -(lr / (1 - beta1**step))
        bc2_sqrt = (1 - beta2**step).sqrt()
        states = [state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"] if amsgrad else None]
        run_on_tensors(_update, p, states, Slot(g), lr, beta1, beta2, eps / scale, wd, decoupled, maximize, -1,
                       bc2_sqrt * scale)


def _init_state(state, p, amsgrad):
    state["step"] = _step_tensor()
    state["exp_avg"] = _zeros_like(p)
    state["exp_avg_sq"] = _zeros_like(p)
    if amsgrad:
        state["max_exp_avg_sq"] = _zeros_like(p)


def _step_cuda(opt, params, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled):
    """The group's update as one CUDA kernel launch (one per distinct step count), when every
    parameter, gradient and state is a CuPy array of one dtype the kernels take; False otherwise."""
    params = [p for p in params if p.grad is not None]
    if not params:
        return False
    states = [opt.state[p] for p in params]
    for state, p in zip(states, params):
        if len(state) == 0:
            _init_state(state, p, amsgrad)
    keys = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
    if not _cuda_kernels.fits(*(p._data for p in params), *(p.grad._data for p in params),
                              *(state[k]._data for state in states for k in keys)):
        return False
    by_step = {}
    for state, p in zip(states, params):
        by_step.setdefault(_incr_step(state), []).append((p, state))
    for step, group in by_step.items():
        _cuda_kernels.adam_step(
            *([p._data for p, _ in group], [p.grad._data for p, _ in group],
              [state["exp_avg"]._data for _, state in group], [state["exp_avg_sq"]._data for _, state in group],
              [state["max_exp_avg_sq"]._data for _, state in group] if amsgrad else None),
            lr=lr, beta1=beta1, beta2=beta2, eps=eps, wd=wd, step_size=lr / (1 - beta1**step),
            bc2_sqrt=math.sqrt(1 - beta2**step), decoupled=decoupled, maximize=maximize)
    for p in params:
        _bump(p)
    return True


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr*wd before the Adam update."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True



