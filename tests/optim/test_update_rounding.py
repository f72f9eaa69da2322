"""The adaptive optimizers' updates in torch 2.13's order of operations (optim/optimizer.py's
_addcdiv_, _mul_addcmul_, _run_update), compared with torch's default CPU path: foreach=None
is the per-tensor (foreach=False) path for CPU tensors (torch's _default_to_fused_or_foreach),
and the references below are torch's default step, with foreach=True where it rounds alike.

- ``p.addcdiv_(a, b, value=v)`` is ``p + (v*a)/b``: the parameters after one step equal torch's
  bitwise (they differed by an ulp in 0.1-13% of the elements with (a/b)*v);
- ``s.mul_(beta).addcmul_(a, b, value=v)``: torch fuses (v*a)*b and the sum (one rounding);
  NumPy has none, so s equals torch's at the first step (s = 0 then) and differs by an ulp
  afterwards, as does lerp_'s fused multiply-add: only the first step is compared bitwise.
torch's sqrt on the CPU (MKL's vector math in its wheels) is an ulp below the correctly rounded
value in ~0.7% of the elements, NumPy's is correctly rounded: the comparisons give the update
torch's sqrt (recorded), so that they check the rest of the formula."""

import numpy as np
import pytest

import retrograd as R
from helpers import reference, torch
from retrograd import _blas
from retrograd.optim import optimizer as _optimizer
from retrograd.optim._update_ops import ARRAYS

FIRST_STEP = [  # (optimizer, options, whether torch's foreach=True path rounds as its default path)
    ("Adam", {}, True),
    ("Adam", dict(amsgrad=True, weight_decay=0.01, maximize=True), True),
    ("AdamW", dict(amsgrad=True), True),
    ("Adagrad", dict(lr_decay=0.01, weight_decay=0.1), True),
    ("Adamax", dict(weight_decay=0.1), True),
    ("NAdam", dict(decoupled_weight_decay=True, weight_decay=0.1), False),
    ("RAdam", {}, False),
    ("Adadelta", dict(lr=0.5), True),
    ("RMSprop", dict(weight_decay=0.1), True),
    ("RMSprop", dict(alpha=0.9, maximize=True), True),
]  # (not centered RMSprop: its v.addcmul(gavg, gavg, value=-1) fuses a product into a nonzero v)


def _torchs_sqrt(x, out=None):
    """torch.sqrt's values (recorded): NumPy's sqrt is correctly rounded, torch's not always."""
    result = reference(lambda: torch.sqrt(torch.from_numpy(np.array(x))).numpy(), [np.asarray(x)])
    if out is None:
        return result
    np.copyto(out, result)
    return out


def _step(lib, name, kwargs, d0, g, foreach=None):
    """The parameter and the state's arrays after one step."""
    p = lib.nn.Parameter(lib.tensor(d0.copy()))
    opt = getattr(lib.optim, name)([p], **kwargs, foreach=foreach)
    p.grad = lib.tensor(g.copy())
    opt.step()
    state = opt.state[p]
    return [p.detach().numpy().copy()] + [state[k].numpy().copy() for k in sorted(state) if k != "step"]


@pytest.mark.skipif(not _blas.available(), reason="no BLAS library found under NumPy")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs,foreach_alike", FIRST_STEP)
def test_first_step_equals_torchs_default_path_bitwise(name, kwargs, foreach_alike, dtype, monkeypatch):
    monkeypatch.setattr(_blas, "MIN_BYTES", 0)  # (the weight decay's and Adadelta's axpy on a small parameter)
    monkeypatch.setattr(ARRAYS, "sqrt", staticmethod(_torchs_sqrt))
    rng = np.random.default_rng(3)
    d0, g = rng.standard_normal((24, 17)).astype(dtype), rng.standard_normal((24, 17)).astype(dtype)
    ours = _step(R, name, kwargs, d0, g)
    theirs = reference(lambda: _torchs_step(name, kwargs, d0, g, foreach_alike), [d0, g, *kwargs.items()])
    assert len(theirs) == len(ours)
    for a, b in zip(ours, theirs):
        assert np.array_equal(a, b)


def _torchs_step(name, kwargs, d0, g, foreach_alike):
    """torch's default step (foreach=None: the per-tensor path on the CPU), checked equal to its
    foreach=True step where they round alike."""
    default = _step(torch, name, kwargs, d0, g)
    assert all(np.array_equal(a, b) for a, b in zip(default, _step(torch, name, kwargs, d0, g, foreach=False)))
    if foreach_alike:
        assert all(np.array_equal(a, b) for a, b in zip(default, _step(torch, name, kwargs, d0, g, foreach=True)))
    return default


@pytest.mark.parametrize("name,kwargs", [
    ("Adam", dict(amsgrad=True)), ("Adagrad", dict(lr_decay=0.01)), ("Adamax", {}),
    ("NAdam", dict(weight_decay=0.1)), ("RAdam", dict(weight_decay=0.1)), ("RMSprop", dict(centered=True))])
def test_block_by_block_updates_equal_the_whole_arrays_ones(name, kwargs, monkeypatch):
    """From BLOCKED_FROM elements the updates run in cache-sized blocks (retrograd._blocked),
    bitwise the whole arrays' values (with the weight decay's two roundings, as in blocks)."""
    rng = np.random.default_rng(0)
    d0 = rng.standard_normal((512, 784)).astype(np.float32)
    grads = [rng.standard_normal(d0.shape).astype(np.float32) for _ in range(3)]
    assert _optimizer.BLOCKED_FROM <= d0.size < R._blocked.MIN_SIZE
    monkeypatch.setattr(_blas, "enabled", False)

    def run():
        p = R.nn.Parameter(R.tensor(d0.copy()))
        opt = getattr(R.optim, name)([p], lr=0.01, **kwargs)
        for g in grads:
            p.grad = R.tensor(g)
            opt.step()
        return [p.detach().numpy()] + [v.numpy() for k, v in sorted(opt.state[p].items()) if k != "step"]

    calls = []
    run_blocks = R._blocked.run
    monkeypatch.setattr(R._blocked, "run", lambda *a, **k: (calls.append(1), run_blocks(*a, **k))[1])
    blocks = run()
    assert len(calls) == 3
    monkeypatch.setattr(_optimizer, "BLOCKED_FROM", d0.size + 1)
    whole = run()
    assert len(calls) == 3
    for a, b in zip(blocks, whole):
        assert np.array_equal(a, b)


def test_addcdiv_and_addcmul_round_in_torchs_order():
    """torch's p.addcdiv_(a, b, value=v) is p + (v*a)/b; addcmul_'s (v*a)*b, here rounded before
    the sum (torch fuses it): equal where the sum is exact (s = 0)."""
    rng = np.random.default_rng(1)
    p, a = rng.standard_normal(1000).astype(np.float32), rng.standard_normal(1000).astype(np.float32)
    b = (rng.random(1000) + 0.1).astype(np.float32)
    d = p.copy()
    _optimizer._addcdiv_(d, a, b.copy(), -0.37)
    assert np.array_equal(d, p + (np.float32(-0.37) * a) / b)
    assert not np.array_equal(d, p + (a / b) * np.float32(-0.37))
    s = np.zeros_like(a)
    _optimizer._mul_addcmul_(s, 0.9, a, a, 0.001)
    assert np.array_equal(s, (np.float32(0.001) * a) * a)
    assert not np.array_equal(s, (a * a) * np.float32(0.001))



def test_lerp_takes_one_minus_weight_in_float32_as_torch():
    """torch's lerp_ with weight >= 0.5 is end - (end - start)*(1 - weight), 1 - weight in the
    tensor's float32 (not rounded from double: an ulp off for 0.9). Its multiply-add is fused,
    NumPy's rounds twice: they differ by an ulp in some elements (measured below)."""
    from retrograd.optim.optimizer import _lerp_

    rng = np.random.default_rng(2)
    end = rng.standard_normal(2000).astype(np.float32)
    start = rng.standard_normal(2000).astype(np.float32)
    theirs = reference(lambda: torch.from_numpy(start.copy()).lerp_(torch.from_numpy(end), 0.9).numpy(), [start, end])
    ours = start.copy()
    _lerp_(ours, end, 0.9)
    assert np.mean(ours != theirs) < 0.2  # (13%; 48% with 1 - 0.9 from double)
    assert np.max(np.abs(ours - theirs)) <= np.max(np.spacing(np.abs(theirs)))
