"""SGD: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

import numpy as np

from .. import _blas, _blocked
from ..ops import _cuda_kernels
from ..tensor import Tensor
from ._update_ops import ARRAYS, Slot, run_on_tensors
from .optimizer import (Optimizer, _bump, _check, _check_lr, _differentiable_grad, _eval_closure, _signed_decayed,
                        _step)

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
            params = group["params"]
            if group["differentiable"]:
                _step_tensors(self, group, momentum, dampening, wd, nesterov, maximize)
                continue
            if params and type(params[0]._data) is not np.ndarray and _step_cuda(
                    self, params, lr, momentum, dampening, wd, nesterov, maximize):
                continue
            for p in params:
                g = p._grad  # (params are leaves: the .grad property's non-leaf warning never applies)
                if g is None:
                    continue
                d = p._data
                buf = first = None
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    first = buf is None
                    if first:
                        buf = state["momentum_buffer"] = Tensor._make(np.empty_like(g._data))
                    buf = buf._data
                if d.size < BLOCKED_FROM or _blas.available(d.dtype):  # (in cache, or axpy's one pass)
                    _update(d, buf, g._data, lr, momentum, dampening, wd, nesterov, maximize, first)
                else:
                    _blocked.run(_update, d, buf, g._data, lr, momentum, dampening, wd, nesterov, maximize, first,
                                 min_size=BLOCKED_FROM)  # (buf: an input cut as d, its blocks updated in place)
                p._vc[0] += 1  # (_bump, inline: a call per parameter)
        return loss


# elements from which the update runs in blocks when NumPy's formulas run it (no BLAS, or a
# dtype that retrograd._blas does not take): its temporary g*lr, as large as the weight, stays
# in cache from 256K float32 (1 MiB, the L2 of a core here) on, where the other chains of
# retrograd._blocked.MIN_SIZE gain only from twice that. Measured (wall clock under chrt -f, min
# of 150, caches stirred by a matmul between calls): one update 401K elements 218 -> 157 us, 262K
# 129 -> 113, 131K 59 -> 76 (lost). With BLAS's axpy (one pass, no temporary) whole arrays win:
# the mlp's six parameters alone (chrt -f 10, min of 15 x 50, interleaved) 139 us in blocks
# against 82 whole (NumPy in blocks: 250), with momentum 374 against 280 (428), deep's 32 1M
# weights 10.7 ms against 8.4 (24.6).
BLOCKED_FROM = 1 << 18


def _update(d, buf, g, lr, momentum, dampening, wd, nesterov, maximize, first, xp=ARRAYS):
    """One parameter's update on arrays (or on matching blocks of them: BLOCKED_FROM), the
    parameter ``d`` and the momentum buffer ``buf`` (None without momentum; ``first``: the
    buffer is new, set to g) updated in place, in torch's formula: each ``y.add_(x, alpha=a)``
    of it is ``xp.axpy(a, x, y)``, one BLAS call on the arrays that retrograd._blas takes (one
    rounding: torch's values bitwise, tests/optim/test_sgd.py), NumPy's multiply and add on
    others. On slots of Tensors with ``xp=TENSORS`` (differentiable=True: optim/_update_ops.py)."""
    fresh = maximize or wd != 0  # g is then an array of this update's own (not the .grad's)
    g = _signed_decayed(g, d, wd, maximize, xp)
    if buf is not None:
        if first:
            xp.start_buffer(buf, g)
        else:
            buf *= momentum
            xp.axpy(1 - dampening, g, buf)
        g = xp.axpy(momentum, buf, g if fresh else xp.copy(g)) if nesterov else buf
    xp.axpy(-lr, g, d)


def _step_tensors(opt, group, momentum, dampening, wd, nesterov, maximize):
    """The group's update with differentiable=True: _update on the Tensors, recorded by autograd
    (the gradient, a Tensor lr and a momentum buffer given in the state get gradients too)."""
    for p in group["params"]:
        g = _differentiable_grad(opt, p, group, foreach=True)
        if g is None:
            continue
        buf = first = None
        if momentum != 0:
            state = opt.state[p]
            buf = state.get("momentum_buffer")
            first = buf is None
            if first:
                buf = state["momentum_buffer"] = Tensor._make(np.empty_like(p._data))
        run_on_tensors(_update, p, [buf], Slot(g), group["lr"], momentum, dampening, wd, nesterov, maximize, first)


def _step_cuda(opt, params, lr, momentum, dampening, wd, nesterov, maximize):
    """The group's update in one CUDA kernel launch (two when some momentum buffers are new,
    which the kernel fills with g), when every parameter, gradient and buffer is a CuPy array
    of one dtype the kernels take; False otherwise."""
    params = [p for p in params if p._grad is not None]
    if not params or not _cuda_kernels.fits(*(p._data for p in params), *(p._grad._data for p in params)):
        return False
    scalars = dict(lr=lr, momentum=momentum, dampening=dampening, wd=wd, nesterov=nesterov, maximize=maximize)
    if momentum == 0:
        _cuda_kernels.sgd_step([p._data for p in params], [p._grad._data for p in params], None, first=False,
                               **scalars)
    else:
        bufs = [opt.state[p].get("momentum_buffer") for p in params]
        if not _cuda_kernels.fits(*(b._data for b in bufs if b is not None), params[0]._data):
            return False
        for first in (True, False):
            chosen = [(p, b) for p, b in zip(params, bufs) if (b is None) == first]
            if not chosen:
                continue
            if first:
                chosen = [(p, _new_buffer(opt, p)) for p, _ in chosen]
            _cuda_kernels.sgd_step([p._data for p, _ in chosen], [p._grad._data for p, _ in chosen],
                                   [b._data for _, b in chosen], first=first, **scalars)
    for p in params:
        _bump(p)
    return True


def _new_buffer(opt, p):
    """A momentum buffer for p, filled by the kernel's first step."""
    buf = opt.state[p]["momentum_buffer"] = Tensor._make(np.empty_like(p._data))
    return buf
