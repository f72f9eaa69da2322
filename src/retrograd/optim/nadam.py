"""NAdam: Adam with Nesterov momentum (and momentum decay)."""

import numpy as np

from .optimizer import (Optimizer, _bump, _check, _check_betas, _check_lr, _eval_closure, _grad_array, _incr_step,
                        _lerp_, _mul_addcmul_, _step, _step_tensor, _zeros_like)
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
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["mu_product"] = Tensor._make(np.ones((), dtype=np.float32))
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                d = p._data
                g = _grad_array(p, group["maximize"])
                step = _incr_step(state)
                bias_correction2 = 1 - beta2**step
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        d *= 1 - lr * wd
                    else:
                        g = np.add(g, np.multiply(d, wd))
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
                mp = state["mu_product"]._data  # a float32 scalar, rounded as torch rounds it
                mp *= mu
                mu_product = float(mp)
                m = state["exp_avg"]._data
                v = state["exp_avg_sq"]._data
                _lerp_(m, g, 1 - beta1)
                _mul_addcmul_(v, beta2, g, g, 1 - beta2)
                denom = np.divide(v, bias_correction2)
                np.sqrt(denom, out=denom)
                denom += eps
                mu_product_next = mu_product * mu_next
                d += np.multiply(np.divide(g, denom), -lr * (1.0 - mu) / (1.0 - mu_product))
                d += np.multiply(np.divide(m, denom), (-lr * mu_next) / (1.0 - mu_product_next))
                _bump(p)
        return loss
