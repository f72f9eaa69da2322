"""SGD's update of a large parameter runs block by block (retrograd._blocked), bitwise equal to
the same NumPy formulas on the whole arrays, with every option."""

import itertools

import numpy as np
import pytest

import retrograd as R
from retrograd import _blocked


def _reference(d, grads, lr, momentum, dampening, wd, nesterov, maximize):
    """The update on whole arrays, step after step: (parameter, momentum buffer)."""
    buf = None
    for g in grads:
        g = -g if maximize else g
        if wd != 0:
            g = g + d * wd
        if momentum != 0:
            if buf is None:
                buf = g.copy()
            else:
                buf = buf * momentum
                buf = buf + (g if dampening == 0 else g * (1 - dampening))
            g = g + buf * momentum if nesterov else buf
        d = d - g * lr
    return d, buf


@pytest.mark.parametrize("momentum,dampening,wd,nesterov,maximize", [
    c for c in itertools.product([0, 0.9], [0, 0.1], [0, 0.01], [False, True], [False, True])
    if not (c[3] and (c[0] == 0 or c[1] != 0))])
@pytest.mark.parametrize("shape", [(1024, 600), (512, 512)])
def test_blocked_update_is_bitwise_the_whole_arrays_update(momentum, dampening, wd, nesterov, maximize, shape):
    from retrograd.optim import sgd

    rng = np.random.default_rng(0)
    assert np.prod(shape) >= sgd.BLOCKED_FROM  # updated block by block
    d0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    p = R.nn.Parameter(R.tensor(d0.copy()))
    opt = R.optim.SGD([p], lr=0.1, momentum=momentum, dampening=dampening, weight_decay=wd, nesterov=nesterov,
                      maximize=maximize)
    for g in grads:
        p.grad = R.tensor(g)
        opt.step()
    d, buf = _reference(d0, grads, np.float32(0.1), momentum, dampening, wd, nesterov, maximize)
    assert np.array_equal(p.detach().numpy(), d)
    if momentum:
        assert np.array_equal(opt.state[p]["momentum_buffer"].numpy(), buf)


def test_a_large_parameter_is_updated_in_blocks_and_a_small_one_whole(monkeypatch):
    from retrograd.optim import sgd

    calls = []
    update = sgd._update
    monkeypatch.setattr(sgd, "_update", lambda out, *a: (calls.append(1), update(out, *a)))
    # from 256K elements (1 MiB of float32) on, below _blocked.MIN_SIZE: an mlp's 512x784 weight
    big, mid, small = (R.nn.Parameter(R.zeros(*shape)) for shape in [(1024, 600), (512, 784), (511, 512)])
    for p in (big, mid, small):
        p.grad = R.ones(p.shape)
    R.optim.SGD([big], lr=0.5, momentum=0.9).step()
    assert len(calls) == -(-1024 * 600 // _blocked.BLOCK)
    calls.clear()
    R.optim.SGD([mid], lr=0.5).step()
    assert len(calls) == -(-512 * 784 // _blocked.BLOCK)
    calls.clear()
    R.optim.SGD([small], lr=0.5).step()
    assert len(calls) == 1
    assert all((p.detach().numpy() == -0.5).all() for p in (big, mid, small))
