"""SGD: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _bump, _check, _check_lr, _step, _eval_closure

__all__ = ["SGD"]


class SGD(Optimizer):
    """g = grad (+ wd*p);  buf = momentum*buf + (1-dampening)*g (buf = g at the first step);
    g = g + momentum*buf if nesterov else buf;  p -= lr*g  (negated grad when maximize)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check_lr(lr)
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    @_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            wd = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                g = p._grad  # (params are leaves: the .grad property's non-leaf warning never applies)
                if g is None:
                    continue
                d = p._data
                g = np.negative(g._data) if maximize else g._data
                if wd != 0:
                    g = np.add(g, np.multiply(d, wd))
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = Tensor._make(g.copy())
                        state["momentum_buffer"] = buf
                    else:
                        b = buf._data
                        b *= momentum
                        if dampening == 0:
                            b += g
                        else:
                            b += np.multiply(g, 1 - dampening)
                    if nesterov:
                        g = np.add(g, np.multiply(buf._data, momentum))
                    else:
                        g = buf._data
                d -= np.multiply(g, lr)
                _bump(p)
        return loss
