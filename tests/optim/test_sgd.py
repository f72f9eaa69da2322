"""SGD's update: each ``add_(x, alpha=a)`` of torch's formula is one BLAS axpy (retrograd._blas),
so parameters and momentum buffers equal torch's bitwise, with every option, foreach on and
off, float32 and float64. Where axpy does not run (small parameters, no BLAS), NumPy's formulas,
run block by block on large parameters without BLAS, bitwise the same formulas on whole arrays."""

import itertools

import numpy as np
import pytest

import retrograd as R
from helpers import reference, requires_torch, torch
from retrograd import _blas, _blocked

needs_blas = pytest.mark.skipif(not _blas.available(), reason="no BLAS library found under NumPy")

OPTIONS = [c for c in itertools.product([0, 0.9], [0, 0.1], [0, 0.01], [False, True], [False, True])
           if not (c[3] and (c[0] == 0 or c[1] != 0))]  # (momentum, dampening, wd, nesterov, maximize)


def _steps(lib, d0, grads, **kwargs):
    """Parameter and momentum buffer (or None) after one SGD step per gradient."""
    p = lib.nn.Parameter(lib.tensor(d0.copy()))
    opt = lib.optim.SGD([p], **kwargs)
    for g in grads:
        p.grad = lib.tensor(g.copy())
        opt.step()
    buf = opt.state[p].get("momentum_buffer")
    return [p.detach().numpy().copy(), None if buf is None else buf.numpy().copy()]


def _options(momentum, dampening, wd, nesterov, maximize):
    return dict(lr=0.1, momentum=momentum, dampening=dampening, weight_decay=wd, nesterov=nesterov,
                maximize=maximize)


def _data(shape, dtype, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(dtype), [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum,dampening,wd,nesterov,maximize", OPTIONS)
def test_equals_torch_bitwise_with_foreach_on_and_off(momentum, dampening, wd, nesterov, maximize, dtype,
                                                      monkeypatch):
    monkeypatch.setattr(_blas, "MIN_BYTES", 0)  # (a small parameter through axpy: small recorded values)
    kwargs = _options(momentum, dampening, wd, nesterov, maximize)
    d0, grads = _data((7, 5), dtype)
    ours = _steps(R, d0, grads, **kwargs)
    theirs = reference(lambda: [_steps(torch, d0, grads, foreach=f, **kwargs) for f in (True, False)],
                       [d0, *grads, *kwargs.values()])
    for expected in theirs:  # (foreach's _foreach_add_ and the per-tensor add_ round alike)
        assert np.array_equal(ours[0], expected[0])
        assert (ours[1] is None) == (expected[1] is None)
        if ours[1] is not None:
            assert np.array_equal(ours[1], expected[1])


@needs_blas
@requires_torch
@pytest.mark.parametrize("options", [OPTIONS[0], (0.9, 0.1, 0.01, False, True), (0.9, 0, 0.01, True, False)])
def test_an_mlp_weight_equals_torch_bitwise(options):
    d0, grads = _data((512, 784), np.float32, steps=3)
    assert d0.nbytes >= _blas.MIN_BYTES
    ours = _steps(R, d0, grads, **_options(*options))
    theirs = _steps(torch, d0, grads, **_options(*options))
    assert all(a is None and b is None or np.array_equal(a, b) for a, b in zip(ours, theirs))


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


@pytest.mark.parametrize("momentum,dampening,wd,nesterov,maximize", OPTIONS)
@pytest.mark.parametrize("shape", [(1024, 600), (512, 512)])
def test_without_blas_the_blocked_update_is_bitwise_the_whole_arrays_update(momentum, dampening, wd, nesterov,
                                                                            maximize, shape, monkeypatch):
    from retrograd.optim import sgd

    monkeypatch.setattr(_blas, "enabled", False)
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


@pytest.mark.parametrize("blas", [False, pytest.param(True, marks=needs_blas)])
def test_without_blas_a_large_parameter_is_updated_in_blocks_and_with_it_whole(blas, monkeypatch):
    from retrograd.optim import sgd

    monkeypatch.setattr(_blas, "enabled", blas)
    calls = []
    update = sgd._update
    monkeypatch.setattr(sgd, "_update", lambda out, *a: (calls.append(1), update(out, *a)))
    # from 256K elements (1 MiB of float32) on, below _blocked.MIN_SIZE: an mlp's 512x784 weight
    big, mid, small = (R.nn.Parameter(R.zeros(*shape)) for shape in [(1024, 600), (512, 784), (511, 512)])
    for p in (big, mid, small):
        p.grad = R.ones(p.shape)
    R.optim.SGD([big], lr=0.5, momentum=0.9).step()
    assert len(calls) == (1 if blas else -(-1024 * 600 // _blocked.BLOCK))
    calls.clear()
    R.optim.SGD([mid], lr=0.5).step()
    assert len(calls) == (1 if blas else -(-512 * 784 // _blocked.BLOCK))
    calls.clear()
    R.optim.SGD([small], lr=0.5).step()
    assert len(calls) == 1
    assert all((p.detach().numpy() == -0.5).all() for p in (big, mid, small))


@pytest.mark.parametrize("momentum,dampening,wd,nesterov,maximize", OPTIONS)
def test_a_parameter_below_axpys_size_takes_numpys_formulas(momentum, dampening, wd, nesterov, maximize):
    d0, grads = _data((7, 5), np.float32, steps=3)
    assert d0.nbytes < _blas.MIN_BYTES
    ours = _steps(R, d0, grads, **_options(momentum, dampening, wd, nesterov, maximize))
    d, buf = _reference(d0, grads, np.float32(0.1), momentum, dampening, wd, nesterov, maximize)
    assert np.array_equal(ours[0], d)
    assert buf is None if ours[1] is None else np.array_equal(ours[1], buf)


@needs_blas
@pytest.mark.parametrize("momentum", [0, 0.9])
def test_a_compiled_training_step_replays_the_axpy_update_as_eager(momentum):
    """retrograd.compile calls optimizer.step() again at each replay: the BLAS update runs there
    as in eager mode (a 512x256 float32 weight: axpy's MIN_BYTES)."""
    calls = []

    def run(compiled):
        R.manual_seed(0)
        model = R.nn.Sequential(R.nn.Linear(256, 512), R.nn.ReLU(), R.nn.Linear(512, 4))
        opt = R.optim.SGD(model.parameters(), lr=0.05, momentum=momentum, weight_decay=1e-3)
        x, y = R.randn(16, 256), R.randint(0, 4, (16,))

        def step():
            opt.zero_grad()
            loss = R.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = R.compile(step) if compiled else step
        losses = [fn().item() for _ in range(5)]
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    axpy = _blas.axpy
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_blas, "axpy", lambda *a: calls.append(axpy(*a)) or calls[-1])
        eager = run(False)
        in_eager = sum(calls)
        calls.clear()
        compiled = run(True)
    assert in_eager > 0 and sum(calls) == in_eager
    assert eager[0] == compiled[0]
    assert all(np.array_equal(a, b) for a, b in zip(eager[1], compiled[1]))
