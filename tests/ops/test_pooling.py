"""Pooling: finite differences (first and second order) and torch, for the functional forms."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import pooling as P
from tests.helpers import check_op, rand, requires_torch, torch


def F(t):
    return P if t is retrograd else t.nn.functional


def distinct(*shape, seed=0):
    """Values far apart, so that finite differences never cross a max's tie."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


MAX2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(3, 6), stride=1),  # more than 16 kernel offsets
]


@pytest.mark.parametrize("kw", MAX2D)
def test_max_pool2d(kw):
    check_op(lambda t, x: F(t).max_pool2d(x, **kw), distinct(1, 2, 5, 6))
    check_op(lambda t, x: F(t).max_pool2d(x, return_indices=True, **kw), distinct(1, 2, 5, 6),
             gradcheck=False, gradgradcheck=False)


def test_max_pool1d_3d():
    check_op(lambda t, x: F(t).max_pool1d(x, 3, 2, 1, return_indices=True), distinct(2, 2, 7))
    check_op(lambda t, x: F(t).max_pool3d(x, 2, (1, 2, 2)), distinct(1, 1, 3, 4, 4))


def test_max_pool_unbatched_and_nan():
    check_op(lambda t, x: F(t).max_pool2d(x, 2), distinct(2, 4, 4))
    x = retrograd.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]])
    assert np.isnan(P.max_pool2d(x, 2).item())


AVG2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), divisor_override=5),
]


@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d(kw):
    check_op(lambda t, x: F(t).avg_pool2d(x, **kw), (1, 2, 5, 6))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), divisor_override=5)])
def test_avg_pool2d_blocks(kw):
    check_op(lambda t, x: F(t).avg_pool2d(x, **kw), (1, 2, 4, 6))


def test_avg_pool1d_3d():
    check_op(lambda t, x: F(t).avg_pool1d(x, 3, 2, 1, count_include_pad=False), (2, 2, 7))
    check_op(lambda t, x: F(t).avg_pool3d(x, 2, ceil_mode=True), (1, 1, 3, 4, 5))


@pytest.mark.parametrize("size", [1, 3, (2, 4), (None, 2)])
def test_adaptive_avg_pool2d(size):
    check_op(lambda t, x: F(t).adaptive_avg_pool2d(x, size), (1, 2, 5, 7))


def test_adaptive_avg_pool1d():
    check_op(lambda t, x: F(t).adaptive_avg_pool1d(x, 4), (2, 2, 7))


@pytest.mark.parametrize("size", [1, 2, (3, 4), (2, 7)])
def test_adaptive_max_pool2d(size):
    check_op(lambda t, x: F(t).adaptive_max_pool2d(x, size), distinct(1, 2, 5, 7))
    check_op(lambda t, x: F(t).adaptive_max_pool2d(x, size, return_indices=True), distinct(1, 2, 5, 7),
             gradcheck=False, gradgradcheck=False)


def test_adaptive_max_pool1d():
    check_op(lambda t, x: F(t).adaptive_max_pool1d(x, 3, return_indices=True), distinct(2, 2, 7))


def test_max_unpool2d():
    x = distinct(1, 1, 4, 4)

    def fn(t, x):
        y, i = F(t).max_pool2d(x, 2, return_indices=True)
        return F(t).max_unpool2d(y, i, 2)

    check_op(fn, x)


def test_lp_pool2d():
    check_op(lambda t, x: F(t).lp_pool2d(x, 2, 2), (1, 1, 4, 4), low=0.5, high=1.0)


def test_errors():
    x = retrograd.zeros(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        P.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        P.avg_pool2d(x, 5)
    with pytest.raises(RuntimeError, match="Expected 3D or 4D"):
        P.max_pool2d(retrograd.zeros(4, 4), 2)


@requires_torch
def test_float32_bigger_against_torch():
    x = rand(4, 3, 11, 12, dtype=np.float32)
    out = []
    for t in (retrograd, torch):
        xs = t.tensor(x, requires_grad=True)
        y = F(t).max_pool2d(xs, 3, 2, 1) + F(t).avg_pool2d(xs, 3, 2, 1)
        (y * y).sum().backward()
        out.append([y.detach().numpy(), xs.grad.numpy()])
    for r, t in zip(*out):
        assert r.dtype == np.float32
        np.testing.assert_allclose(r, t, rtol=1e-5, atol=1e-5)


def test_max_pool_non_overlapping_blocks():
    """stride = kernel, no padding, divisible sizes: the fast path without flat indices."""
    check_op(lambda t, x: F(t).max_pool2d(x, 2), distinct(2, 3, 4, 6))
    check_op(lambda t, x: F(t).max_pool2d(x, (2, 3)), distinct(1, 2, 4, 6))
    check_op(lambda t, x: F(t).max_pool1d(x, 3), distinct(2, 2, 6))
    check_op(lambda t, x: F(t).max_pool3d(x, 2), distinct(1, 1, 4, 4, 2))
    check_op(lambda t, x: F(t).max_pool2d(x.transpose(-1, -2), 2), distinct(1, 2, 4, 6))  # strided input


@requires_torch
def test_max_pool_blocks_ties_and_nan_like_torch():
    a = np.array([[[[1.0, 1.0, 2.0, 0.0], [1.0, 0.0, 2.0, 2.0],
                    [float("nan"), 5.0, 3.0, 3.0], [float("nan"), 1.0, 3.0, 3.0]]]], dtype=np.float32)
    g = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2) + 1
    grads = []
    for mod in (retrograd, torch):
        x = mod.tensor(a, requires_grad=True)
        y = F(mod).max_pool2d(x, 2)
        y.backward(mod.tensor(g))
        grads.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
