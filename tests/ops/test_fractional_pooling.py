"""Fractional max pooling (ops/fractional_pooling.py, nn.FractionalMaxPool2d/3d) against torch:
with the same _random_samples the windows, values and indices are torch's exactly."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd.nn import functional as F
from tests.helpers import reference, torch

CASES = [  # (nd, input shape, kernel_size, output_size, dtype)
    (2, (2, 3, 11, 9), 2, (5, 4), "float64"),
    (2, (2, 3, 11, 9), (3, 2), (4, 6), "float32"),
    (2, (3, 10, 12), 3, (8, 10), "float32"),  # unbatched; windows overlap
    (2, (1, 2, 7, 7), 1, (3, 6), "float16"),
    (2, (1, 2, 9, 8), 2, (1, 3), "bfloat16"),  # an output size of 1: the window at the end
    (3, (2, 2, 7, 6, 8), 2, (3, 4, 5), "float64"),
    (3, (2, 6, 5, 7), (1, 2, 3), (4, 2, 3), "float32"),  # unbatched
]


def _inputs(shape, nd, dtype_name, seed):
    rng = np.random.default_rng(seed)
    n, c = (shape[0], shape[1]) if len(shape) == nd + 2 else (1, shape[0])
    return rng.standard_normal(shape), rng.random((n, c, nd)), dtype_name


def _run(lib, nd, x, u, dtype_name, kernel_size, output_size):
    dtype = getattr(lib, dtype_name)
    xt = lib.tensor(x).to(dtype).requires_grad_()
    fn = lib.nn.functional.fractional_max_pool2d if nd == 2 else lib.nn.functional.fractional_max_pool3d
    y, idx = fn(xt, kernel_size, output_size=output_size, return_indices=True,
                _random_samples=lib.tensor(u).to(dtype))
    g = np.random.default_rng(5).standard_normal(tuple(y.shape))
    (y * lib.tensor(g).to(dtype)).sum().backward()
    return {"y": y.detach().float().numpy(), "idx": idx.numpy(), "grad": xt.grad.float().numpy(),
            "node": y.grad_fn.name(), "dtype": str(y.dtype)}


@pytest.mark.parametrize("nd,shape,kernel_size,output_size,dtype", CASES)
def test_values_indices_and_gradients_equal_torchs_for_the_same_samples(nd, shape, kernel_size, output_size, dtype):
    x, u, _ = _inputs(shape, nd, dtype, seed=len(shape) + nd)
    got = _run(retrograd, nd, x, u, dtype, kernel_size, output_size)
    want = reference(lambda: _run(torch, nd, x, u, dtype, kernel_size, output_size),
                     inputs=[x, u, dtype, kernel_size, output_size])
    assert got["dtype"] == want["dtype"] and got["node"] == want["node"]
    np.testing.assert_array_equal(got["idx"], want["idx"])
    np.testing.assert_array_equal(got["y"], want["y"])
    tol = 1e-2 if dtype in ("float16", "bfloat16") else 1e-6  # overlapping windows add up in another order
    np.testing.assert_allclose(got["grad"], want["grad"], rtol=tol, atol=tol)


def test_nan_wins_ties_keep_the_first_and_all_minus_inf_keeps_the_windows_start():
    """torch's rule, observed: a window's max is updated by a larger value or by any NaN."""
    inf, nan = float("inf"), float("nan")
    x = retrograd.tensor([[[[1., 1, 2, 2], [nan, 0, 2, nan], [-inf, -inf, 3, 3], [-inf, -inf, 3, 3]]]])
    y, idx = F.fractional_max_pool2d(x, 2, output_size=2, return_indices=True,
                                     _random_samples=retrograd.tensor([[[0.5, 0.5]]]))
    np.testing.assert_array_equal(y.numpy(), [[[[nan, nan], [-inf, 3]]]])
    np.testing.assert_array_equal(idx.numpy(), [[[[4, 7], [8, 10]]]])
    y, idx = F.fractional_max_pool2d(retrograd.full((1, 1, 6, 6), -inf), 0, output_size=3, return_indices=True,
                                     _random_samples=retrograd.tensor([[[0.3, 0.6]]]))
    assert (y.numpy() == -inf).all()  # a 0-size kernel (torch accepts it): nothing read, the start as index
    np.testing.assert_array_equal(idx.numpy(), [[[[0, 3, 6], [18, 21, 24], [36, 39, 42]]]])


def test_window_starts_follow_the_formula():
    """Window i starts at int((i + u) * alpha) - int(u * alpha), alpha = (in - k) / (out - 1), the
    last at in - k; with increasing input each max sits at its window's last element."""
    x = retrograd.arange(7 * 9, dtype=retrograd.float32).reshape(1, 1, 7, 9)
    _, idx = F.fractional_max_pool2d(x, 2, output_size=(4, 5), return_indices=True,
                                     _random_samples=retrograd.tensor([[[0.3, 0.7]]]))  # (u of width, of height)
    rows, cols = [0, 1, 3, 5], [0, 2, 4, 5, 7]  # by hand: alpha 5/3 (u 0.7), 7/4 (u 0.3)
    want = [[(r + 1) * 9 + c + 1 for c in cols] for r in rows]
    np.testing.assert_array_equal(idx.numpy()[0, 0], want)


def test_gradient_goes_to_the_chosen_maxima_and_is_twice_differentiable():
    x = retrograd.tensor(np.random.default_rng(0).permutation(2 * 2 * 8 * 7).reshape(2, 2, 8, 7) * 0.1,
                         requires_grad=True)
    u = retrograd.tensor(np.random.default_rng(1).random((2, 2, 2)))
    y, idx = F.fractional_max_pool2d(x, 3, output_size=(5, 4), return_indices=True, _random_samples=u)
    (gx,) = retrograd.autograd.grad(y.sum(), x, create_graph=True)
    counts = np.zeros((4, 56))
    np.add.at(counts, (np.arange(4)[:, None], idx.numpy().reshape(4, -1)), 1.0)
    np.testing.assert_array_equal(gx.detach().numpy(), counts.reshape(x.shape))
    assert retrograd.autograd.gradcheck(
        lambda t: F.fractional_max_pool2d(t, 3, output_size=(5, 4), _random_samples=u), (x,))
    x3 = retrograd.tensor(np.random.default_rng(2).permutation(2 * 4 * 4 * 5).reshape(2, 4, 4, 5) * 0.1,
                          requires_grad=True)  # unbatched (C, T, H, W)
    u3 = retrograd.tensor(np.random.default_rng(3).random((1, 2, 3)))

    def pool3(t):
        return F.fractional_max_pool3d(t, 2, output_size=(2, 2, 3), _random_samples=u3)

    assert retrograd.autograd.gradgradcheck(pool3, (x3,))
    tangent = retrograd.randn(x3.shape)
    _, jvp = retrograd.func.jvp(pool3, (x3.detach(),), (tangent,))
    _, idx3 = F.fractional_max_pool3d(x3, 2, output_size=(2, 2, 3), return_indices=True, _random_samples=u3)
    np.testing.assert_array_equal(jvp.numpy(), np.take_along_axis(tangent.numpy().reshape(2, -1), idx3.numpy().reshape(
        2, -1), 1).reshape(jvp.shape))


def test_samples_are_drawn_from_retrograds_generator():
    x = retrograd.randn(2, 3, 12, 10)
    retrograd.manual_seed(3)
    y = F.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.7))
    retrograd.manual_seed(3)
    u = retrograd.rand(2, 3, 2)  # (N, C, 2) in the input's dtype
    assert y.shape == (2, 3, 6, 7)
    assert retrograd.equal(y, F.fractional_max_pool2d(x, 2, output_size=(6, 7), _random_samples=u))
    y3 = F.fractional_max_pool3d(retrograd.randn(2, 3, 5, 12, 10), 2, output_ratio=0.5)  # int(5 * 0.5), ...
    assert y3.shape == (2, 3, 2, 6, 5)


def test_under_vmap_equals_a_loop():
    x, u = retrograd.randn(4, 2, 3, 10, 12), retrograd.rand(4, 2, 3, 2)
    fixed = retrograd.func.vmap(lambda a: F.fractional_max_pool2d(a, 3, output_size=4, _random_samples=u[0]))(x)
    assert retrograd.equal(fixed, retrograd.stack([F.fractional_max_pool2d(a, 3, output_size=4, _random_samples=u[0])
                                                   for a in x]))
    per = retrograd.func.vmap(lambda a, s: F.fractional_max_pool2d(a, 3, output_size=4, _random_samples=s))(x, u)
    assert retrograd.equal(per, retrograd.stack([F.fractional_max_pool2d(a, 3, output_size=4, _random_samples=s)
                                                 for a, s in zip(x, u)]))
    with pytest.raises(RuntimeError, match="randomness"):
        retrograd.func.vmap(lambda a: F.fractional_max_pool2d(a, 3, output_size=4))(x)


@pytest.mark.parametrize("call,error,match", [
    (lambda x: F.fractional_max_pool2d(x, 3), ValueError, "either an output_size or an output_ratio"),
    (lambda x: F.fractional_max_pool2d(x, 3, output_size=9), RuntimeError, "pool height 3 too large relative to input"),
    (lambda x: F.fractional_max_pool2d(x, 3, output_size=(8, 11)), RuntimeError, "pool width 3 too large"),
    (lambda x: F.fractional_max_pool2d(x, (3, 3, 3), output_size=4), RuntimeError, "kernel_size"),
    (lambda x: F.fractional_max_pool2d(x[0, 0], 3, output_size=4), IndexError, "Expected 3D or 4D"),
    (lambda x: F.fractional_max_pool2d(x[None], 3, output_size=4), RuntimeError, "Expected 3D or 4D"),
    (lambda x: F.fractional_max_pool2d(x, 3, output_size=4, _random_samples=retrograd.rand(2, 3, 3)),
     RuntimeError, r"size\(2\) equals to 2"),
    (lambda x: F.fractional_max_pool2d(x, 3, output_size=4, _random_samples=retrograd.rand(2, 3)),
     RuntimeError, "3 dimensions"),
    (lambda x: F.fractional_max_pool2d(x, 3, output_size=4, _random_samples=retrograd.rand(1, 3, 2)),
     RuntimeError, "batch size"),
    (lambda x: F.fractional_max_pool2d(x, 3, output_size=4, _random_samples=retrograd.rand(2, 2, 2)),
     RuntimeError, "channel size"),
    (lambda x: F.fractional_max_pool2d(x, 3, output_size=4, _random_samples=retrograd.rand(2, 3, 2).double()),
     RuntimeError, "same dtype"),
    (lambda x: F.fractional_max_pool2d(x.long(), 3, output_size=4), NotImplementedError, "floating point"),
    (lambda x: F.fractional_max_pool2d(x[:, :0], 3, output_size=4), RuntimeError, "dimension 1 being empty"),
    (lambda x: F.fractional_max_pool3d(retrograd.randn(2, 3, 6, 6, 6), 3, output_size=4), RuntimeError,
     "pool time 3 too large"),  # torch's 3-d check is strict: 4 + 3 - 1 == 6 is refused
    (lambda x: nn.FractionalMaxPool2d(3), ValueError, "either an output size, or a pooling ratio"),
    (lambda x: nn.FractionalMaxPool2d(3, output_size=4, output_ratio=0.5), ValueError, "only one of"),
    (lambda x: nn.FractionalMaxPool2d(3, output_ratio=(0.5, 1.0)), ValueError, "between 0 and 1"),
])
def test_errors_are_torchs(call, error, match):
    with pytest.raises(error, match=match):
        call(retrograd.randn(2, 3, 10, 12))


def test_modules():
    u = retrograd.rand(1, 2, 2)
    m = nn.FractionalMaxPool2d([2, 3], output_ratio=0.5, return_indices=True, _random_samples=u)
    assert repr(m) == "FractionalMaxPool2d()" and m.kernel_size == (2, 3) and m.output_ratio == (0.5, 0.5)
    assert list(m.state_dict()) == ["_random_samples"]  # given samples are a buffer, as torch's
    x = retrograd.randn(1, 2, 8, 9, requires_grad=True)
    y, idx = m(x)
    want = F.fractional_max_pool2d(x, (2, 3), output_size=(4, 4), return_indices=True, _random_samples=u)
    assert retrograd.equal(y, want[0]) and retrograd.equal(idx, want[1])
    assert y.grad_fn.name() == "FractionalMaxPool2DBackward0"
    m3 = nn.FractionalMaxPool3d(2, output_size=(3, 2, 4))
    assert m3.output_size == (3, 2, 4) and m3.output_ratio is None and list(m3.state_dict()) == []
    y3 = m3(retrograd.randn(2, 7, 6, 9, requires_grad=True))
    assert y3.shape == (2, 3, 2, 4) and y3.grad_fn.name() == "FractionalMaxPool3DBackward0"
    assert F.fractional_max_pool2d_with_indices(x, 2, output_size=3)[1].dtype == retrograd.int64
