"""Adam/AdamW's update of a large parameter runs block by block (retrograd._blocked), bitwise
equal to the same NumPy formulas on whole arrays; a 0-dim parameter updates as a 1-element one."""

import itertools
import math

import numpy as np
import pytest

import retrograd as R
from retrograd import _blocked


def _reference(d, grads, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled):
    """Adam on whole arrays (lerp and the running average of squares as optim/optimizer.py's)."""
    m, v, vmax = np.zeros_like(d), np.zeros_like(d), np.zeros_like(d)
    for step, g in enumerate(grads, 1):
        g = -g if maximize else g
        if wd != 0:
            if decoupled:
                d = d * (1 - lr * wd)
            else:
                g = g + d * wd
        m = m + (g - m) * (1 - beta1)  # lerp with weight < 0.5
        v = v * beta2 + ((1 - beta2) * g) * g  # (torch's order of addcmul_, unfused)
        if amsgrad:
            vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - beta2**step) + eps
        d = d + (-(lr / (1 - beta1**step)) * m) / denom  # (torch's addcdiv_)
    return d, m, v


@pytest.mark.parametrize("cls,wd,amsgrad,maximize", list(itertools.product(
    ["Adam", "AdamW"], [0, 0.01], [False, True], [False, True])))
def test_blocked_update_is_bitwise_the_whole_arrays_update(cls, wd, amsgrad, maximize):
    rng = np.random.default_rng(0)
    shape = (1024, 600)
    assert np.prod(shape) >= _blocked.MIN_SIZE
    d0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    p = R.nn.Parameter(R.tensor(d0.copy()))
    opt = getattr(R.optim, cls)([p], lr=0.01, weight_decay=wd, amsgrad=amsgrad, maximize=maximize)
    for g in grads:
        p.grad = R.tensor(g)
        opt.step()
    d, m, v = _reference(d0, grads, 0.01, 0.9, 0.999, 1e-8, wd, amsgrad, maximize, cls == "AdamW")
    assert np.array_equal(opt.state[p]["exp_avg"].numpy(), m)
    assert np.array_equal(opt.state[p]["exp_avg_sq"].numpy(), v)
    assert np.array_equal(p.detach().numpy(), d)


def test_blocks_and_a_zero_dim_parameter(monkeypatch):
    from retrograd.optim import adam

    calls = []
    update = adam._update
    monkeypatch.setattr(adam, "_update", lambda d, *a: (calls.append(d.shape), update(d, *a)))
    big = R.nn.Parameter(R.zeros(1024, 600))
    scalar, one = R.nn.Parameter(R.tensor(1.5)), R.nn.Parameter(R.tensor([1.5]))
    for p in (big, scalar, one):
        p.grad = R.ones(p.shape) * 0.3
    R.optim.Adam([big, scalar, one], lr=0.1, amsgrad=True).step()
    assert len(calls) == -(-1024 * 600 // _blocked.BLOCK) + 2
    assert scalar.shape == () and scalar.item() == one.item() != 1.5
