"""ops/linear.py internals: the product of a small linear layer through a column-major copy of
the input (the nn-level behaviour of linear is tested in tests/nn/test_linear.py)."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import linear as linear_ops


def _copies(monkeypatch):
    """Count the column-major copies _product makes (np.asfortranarray as seen by linear.py)."""
    calls = []

    def counting(a):
        calls.append(a.shape)
        return np.asfortranarray(a)

    monkeypatch.setattr(linear_ops, "np", type("np", (), {"ndarray": np.ndarray, "asfortranarray": staticmethod(counting)}))
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_product_is_bitwise_the_plain_one(dtype, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 128)).astype(dtype)
    w = rng.standard_normal((64, 128)).astype(dtype)
    calls = _copies(monkeypatch)
    y = linear_ops._product(x, w.T)
    assert calls == [(32, 128)]  # the column-major path was taken
    np.testing.assert_array_equal(y, x @ w.T)
    assert y.dtype == dtype and y.shape == (32, 64)


@pytest.mark.parametrize("xshape, wshape, dtype, transposed", [
    ((32, 16), (16, 16), np.float32, True),     # rows*out <= 1200: OpenBLAS's small kernel takes it
    ((128, 256), (256, 256), np.float32, True),  # over 2^18 multiply-adds
    ((32, 128), (64, 128), np.float16, True),    # half: through float32 BLAS (_backend.matmul)
    ((32, 128), (128, 64), np.float32, False),   # m not a transposed view
])
def test_other_products_are_left_to_matmul(xshape, wshape, dtype, transposed, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    m = w.T if transposed else w
    calls = _copies(monkeypatch)
    y = linear_ops._product(x, m)
    assert calls == []
    np.testing.assert_array_equal(y, retrograd._backend.matmul(x, m))


def test_linear_layer_uses_it_and_keeps_gradients(monkeypatch):
    retrograd.manual_seed(0)
    lin = retrograd.nn.Linear(128, 64)
    x = retrograd.randn(32, 128, requires_grad=True)
    calls = _copies(monkeypatch)
    y = lin(x)
    assert calls == [(32, 128)]  # nn.Linear's forward went through _product's column-major path
    xd, wd, bd = x.detach().numpy(), lin.weight.detach().numpy(), lin.bias.detach().numpy()
    np.testing.assert_array_equal(y.detach().numpy(), xd @ wd.T + bd)
    g = np.ones((32, 64), np.float32)
    y.backward(retrograd.from_numpy(g))
    np.testing.assert_allclose(x.grad.numpy(), g @ wd, rtol=1e-6)
    np.testing.assert_allclose(lin.weight.grad.numpy(), g.T @ xd, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
@pytest.mark.parametrize("shape", [(32, 16, 16), (1, 7, 3), (64, 128, 1)])
def test_matrix_products_through_dot_are_bitwise_matmul(dtype, shape):
    """_mm and _product take np.dot for NumPy float32/float64 matrices (the same BLAS call as @,
    without the matmul ufunc's dispatch): bitwise @ in every layout Addmm passes; other dtypes
    go through @ itself."""
    rows, inner, cols = shape
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((rows, inner)) * 4).astype(dtype)
    b = (rng.standard_normal((cols, inner)) * 4).astype(dtype)
    for x, m in ((a, b.T), (np.asfortranarray(a), b.T), (a, np.ascontiguousarray(b.T)), (a.T.copy().T, b.T)):
        for got in (linear_ops._mm(x, m), linear_ops._mm(m.T, x.T).T):
            want = x @ m if got.shape == (rows, cols) else (m.T @ x.T).T
            assert got.dtype == want.dtype and np.array_equal(got, want)
    if dtype in (np.float32, np.float64):
        assert np.array_equal(linear_ops._product(a, b.T), a @ b.T)
        assert np.array_equal(linear_ops._mm(a, a.T), a @ a.T)  # (BLAS's syrk for a product with its own transpose)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("lead", [(7,), (2, 7)])
def test_half_precision_linear_rounds_product_plus_bias_once(dtype, lead):
    """torch's addmm on the CPU sums x W^T and the bias in float32 and rounds once; rounding
    the product first and adding the bias in half precision is off by an ulp in many elements."""
    rng = np.random.default_rng(0)
    x, w, b = (rng.normal(size=s).astype(np.float32) for s in (lead + (5,), (6, 5), (6,)))
    half = getattr(retrograd, dtype)
    x16, w16, b16 = (retrograd.tensor(a).to(half) for a in (x, w, b))
    x32, w32, b32 = (t.float().numpy() for t in (x16, w16, b16))  # the exact half values
    once = retrograd.tensor(x32 @ w32.T + b32).to(half)
    out = retrograd.nn.functional.linear(x16, w16, b16)
    assert out.dtype == half
    np.testing.assert_array_equal(out.float().numpy(), once.float().numpy())
    twice = (retrograd.tensor(x32 @ w32.T).to(half) + b16).float().numpy()
    assert (twice != once.float().numpy()).any()  # (the inputs tell the two roundings apart)


@pytest.mark.parametrize("dtype, big", [("bfloat16", 256.0), ("float16", 2048.0)])
def test_half_precision_linear_bias_gradient_is_summed_in_float32(dtype, big):
    """The bias's gradient sums the output gradient's rows in float32 and rounds once, as torch's:
    big + eight 1s is big + 8 (bfloat16's own running sum lost every 1 and gave 256, torch 264)."""
    half = getattr(retrograd, dtype)
    lin = retrograd.nn.Linear(1, 1).to(half)
    lin(retrograd.ones(9, 1, dtype=half)).backward(retrograd.tensor([[big]] + [[1.0]] * 8, dtype=half))
    assert lin.bias.grad.dtype == half
    assert lin.bias.grad.item() == lin.weight.grad.item() == big + 8
