"""NAdam: Adam with Nesterov momentum (and momentum decay)."""

import numpy as np

from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import _check_capturable
from .optimizer import (Optimizer, _adam_moments, _addcdiv_, _bump, _check, _check_betas, _check_lr,
                        _differentiable_grad, _eval_closure, _incr_step, _run_update, _step, _step_tensor, _zeros_like)
from ..tensor import Tensor

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """mu_t = b1*(1 - 0.5*0.96^(t*psi));  m, v as Adam;  denom = sqrt(v/(1-b2^t)) + eps;
    p -= lr*(1-mu_t)/(1-prod mu) * g/denom + lr*mu_{t+1}/(1-prod mu * mu_{t+1}) * m/denom."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps, wd, psi = group["eps"], group["weight_decay"], group["momentum_decay"]
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
                    state["mu_product"] = Tensor._make(np.ones((), dtype=np.float32))
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                _check_capturable(group, p, "params, mu_products, and state_steps" if group["foreach"]
                                  else "params, mu_products and state_steps")
                step = _incr_step(state)
                bias_correction2 = 1 - beta2**step
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
                mp = state["mu_product"]._data  # a float32 scalar, rounded as torch rounds it
                mp *= mu
                # (differentiable: the coefficients from the float32 tensor, torch's rounding there)
                mu_product = state["mu_product"] if diff else float(mp)
                mu_product_next = mu_product * mu_next
                coefs = (-lr * (1.0 - mu) / (1.0 - mu_product), (-lr * mu_next) / (1.0 - mu_product_next))
                args = (lr, beta1, beta2, eps, wd, decoupled, maximize, bias_correction2, *coefs)
                if diff:
                    run_on_tensors(_update, p, [state["exp_avg"], state["exp_avg_sq"]], Slot(g), *args)
                else:
                    _run_update(_update, (p._data, state["exp_avg"]._data, state["exp_avg_sq"]._data), g._data, *args)
                    _bump(p)
        return loss


def _update(d, m, v, g, lr, beta1, beta2, eps, wd, decoupled, maximize, bias_correction2, coef_g, coef_m, xp=ARRAYS):
    """One parameter's update: on arrays, or on slots of Tensors with ``xp=TENSORS``
    (differentiable=True: optim/_update_ops.py)."""
    g, scratch = _adam_moments(d, m, v, g, lr, beta1, beta2, wd, decoupled, maximize, xp)
    denom = xp.divide(v, bias_correction2)
    denom = xp.sqrt(denom, out=denom)
    denom += eps
    _addcdiv_(d, g, denom, coef_g, xp, out=scratch)
    _addcdiv_(d, m, denom, coef_m, xp, out=scratch)
