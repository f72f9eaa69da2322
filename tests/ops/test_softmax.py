"""softmax / log_softmax / softmin (ops/softmax.py): gradients, torch parity, stability."""

import warnings

import numpy as np
import pytest

import retrograd
from retrograd.ops import softmax as S
from tests.helpers import check_op, requires_torch, torch


def F(t):
    return S if t is retrograd else t.nn.functional


CASES = [
    ("softmax_last", lambda t, x: t.softmax(x, -1)),
    ("softmax_dim0", lambda t, x: x.softmax(0)),
    ("log_softmax_last", lambda t, x: t.log_softmax(x, dim=-1)),
    ("log_softmax_dim0", lambda t, x: x.log_softmax(0)),
    ("softmin", lambda t, x: F(t).softmin(x, dim=1)),
    ("functional_softmax", lambda t, x: F(t).softmax(x, dim=-2)),
    ("functional_log_softmax", lambda t, x: F(t).log_softmax(x, 1)),
]


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2), (0, 3)])
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_softmax_family(name, fn, shape):
    check_op(fn, shape, low=-3, high=3)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_zero_dim(name):
    check_op(lambda t, x: getattr(t, name)(x, 0), ())
    check_op(lambda t, x: getattr(t, name)(x, -1), ())


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_dtype_argument(name):
    check_op(lambda t, x: getattr(t, name)(x.float(), -1, dtype=t.float64), (2, 3), gradgradcheck=False,
             gradcheck=False, atol=1e-6, rtol=1e-5)
    check_op(lambda t, x: getattr(t, name)(x.float(), -1, t.float64), (2, 3), gradcheck=False,
             gradgradcheck=False, atol=1e-6, rtol=1e-5)
    check_op(lambda t, x: getattr(F(t), name)(x, 1, dtype=t.float32), (2, 3), gradcheck=False,
             gradgradcheck=False, atol=1e-6, rtol=1e-5)
    out = getattr(retrograd, name)(retrograd.tensor([1, 2]), 0, dtype=retrograd.float64)
    assert out.dtype == retrograd.float64


@requires_torch
@pytest.mark.parametrize("scale", [1e4, -1e4, 1e30])
def test_finite_at_large_magnitudes(scale):
    arr = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]]) * scale
    for dtype in ("float32", "float64"):
        for name in ("softmax", "log_softmax"):
            r = retrograd.tensor(arr, dtype=getattr(retrograd, dtype), requires_grad=True)
            t = torch.tensor(arr, dtype=getattr(torch, dtype), requires_grad=True)
            ry, ty = getattr(retrograd, name)(r, 1), getattr(torch, name)(t, 1)
            if name == "softmax":
                assert np.all(np.isfinite(ry.detach().numpy()))
            np.testing.assert_allclose(ry.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
            g = np.arange(6.0).reshape(2, 3)
            (ry * retrograd.tensor(g, dtype=ry.dtype)).sum().backward()
            (ty * torch.tensor(g, dtype=ty.dtype)).sum().backward()
            assert np.all(np.isfinite(r.grad.numpy()))
            np.testing.assert_allclose(r.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@requires_torch
def test_inf_and_nan_like_torch():
    inf = float("inf")
    arr = np.array([[inf, 1.0, 2.0], [-inf, 1.0, 2.0], [-inf, -inf, -inf], [np.nan, 1.0, 0.0]])
    for name in ("softmax", "log_softmax"):
        with np.errstate(all="ignore"):
            r = getattr(retrograd, name)(retrograd.tensor(arr), 1).numpy()
        t = getattr(torch, name)(torch.tensor(arr), 1).numpy()
        np.testing.assert_allclose(r, t, rtol=1e-7)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-14)])
def test_log_softmax_with_and_without_the_row_max(dtype, tol):
    """log_softmax over the last dim is x - ln(sum e^x) where no row sum can overflow or
    underflow (no row max), x - max - ln(sum e^(x - max)) where one can: both within a few
    rounding errors of the float64 value, relative to the magnitude of x."""
    rng = np.random.default_rng(1)
    for scale, shift in ((1.0, 0.0), (8.0, -20.0), (30.0, 60.0), (1.0, 95.0), (1.0, -120.0)):
        x = (rng.standard_normal((6, 50)) * scale + shift).astype(dtype)
        x64 = x.astype(np.float64)
        want = x64 - x64.max(1, keepdims=True)
        want -= np.log(np.exp(want).sum(1, keepdims=True))
        got = S.log_softmax(retrograd.tensor(x), 1).numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=tol * (1 + np.abs(x64).max()))


@pytest.mark.parametrize("width", [16, 80])  # softmax's backward sums rows of 64 or more by np.vecdot
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_last_dim_by_row_blocks(monkeypatch, name, width):
    """The last dim of float32 arrays is computed by blocks of rows (ops/_rows.row_blocks; a
    small block size here, so that there are many), each block shifted by its rows' max only
    where one of its row sums would overflow or underflow: values and gradients against
    float64, and close to one block's (the blocks without an overflowing row skip the shift)."""
    from retrograd.ops import _rows

    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 9, width)) * 4
    x[1, 4, 3] = 95.0  # e^95 overflows float32: that row's block takes the row max
    x[2, 7] -= 200.0  # every e^x of this row underflows: its block too
    g = rng.standard_normal(x.shape)

    def run():
        xt = retrograd.tensor(x.astype(np.float32), requires_grad=True)
        y = getattr(retrograd, name)(xt, -1)
        y.backward(retrograd.tensor(g.astype(np.float32)))
        return y.detach().numpy(), xt.grad.numpy()

    monkeypatch.setattr(_rows, "ROW_BLOCK", 3 * width)  # 3 rows per block
    y, dx = run()
    monkeypatch.setattr(_rows, "ROW_BLOCK", 1 << 20)
    y1, dx1 = run()
    x64 = retrograd.tensor(x, requires_grad=True)
    y64 = getattr(retrograd, name)(x64, -1)
    y64.backward(retrograd.tensor(g))
    np.testing.assert_allclose(y, y64.detach().numpy(), rtol=1e-5, atol=2e-5 if name == "log_softmax" else 1e-7)
    np.testing.assert_allclose(dx, x64.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, y1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, dx1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_contiguous_rows_path_equals_the_general_path(name, dtype):
    """Contiguous float rows along the last dim go straight to the (rows, width) kernels (_along's
    and the backwards' short paths); the same values through the general set-up (here a
    non-contiguous view, a zero-stride incoming gradient: every row shifted by its max, sums in
    another order) agree to a few ulps, forward and backward, odd width included."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((37, 5, 27)) * 3).astype(dtype)
    x[3, 2, 4] = 700.0 if dtype == np.float64 else 95.0  # a row whose e^x overflows: shifted by its max
    g = rng.standard_normal(27).astype(dtype)
    fn = getattr(retrograd, name)
    xt = retrograd.tensor(x, requires_grad=True)
    y = fn(xt, -1)
    y.backward(retrograd.tensor(np.ascontiguousarray(np.broadcast_to(g, x.shape))))
    xt2 = retrograd.tensor(np.ascontiguousarray(x.transpose(2, 0, 1)), requires_grad=True)
    y2 = fn(xt2.permute(1, 2, 0), -1)  # a non-contiguous input: the general path
    y2.sum(0).backward(retrograd.tensor(np.broadcast_to(g, x.shape[1:])))  # a zero-stride gradient
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y.detach().numpy(), y2.detach().numpy(), rtol=tol, atol=tol)
    dx = xt.grad.numpy()
    np.testing.assert_allclose(dx, xt2.grad.numpy().transpose(1, 2, 0), rtol=tol, atol=tol * np.abs(dx).max())



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [27, 300])
def test_row_kernels_subtract_the_row_values_bit_for_bit(dtype, width):
    """log_softmax's rows (unshifted) and softmax's backward rows subtract a value per row, written
    as that value copied by rows and then subtracted (NumPy's arithmetic with a column is slower):
    the bits of NumPy's x - c itself, the sign of a nan included (x + -c would flip it)."""
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((40, width)) * 3).astype(dtype)
    x[0, :] = -0.0  # e^x sums to width: x - ln(width)
    want = np.subtract(x, np.log(np.exp(x) @ np.ones(width, dtype))[:, None])
    got = S._log_softmax_rows(x)
    assert np.array_equal(got.view(f"i{got.itemsize}"), want.view(f"i{want.itemsize}"))
    z, g = S._softmax_rows(x), rng.standard_normal(x.shape).astype(dtype)
    g[1, 3] = np.nan
    s = np.array([np.dot(a, b) for a, b in zip(g, z)], dtype)[:, None] if width >= S._VECDOT_MIN_WIDTH \
        else (g * z) @ np.ones(width, dtype)[:, None]
    want = np.subtract(g, s) * z
    got = S._softmax_backward_rows(z, g)
    assert np.isnan(got[1]).all() and not np.signbit(got[1]).any()  # (g - nan: the nan as it came)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-13, atol=0)  # (sums in another order)

def test_implicit_dim_warns_and_picks_torchs_dim():
    x = retrograd.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = S.softmax(x)
    np.testing.assert_allclose(y.sum(1).numpy(), np.ones(2), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = S.log_softmax(retrograd.randn(3))
    assert z.shape == (3,)


def test_errors():
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        retrograd.softmax(retrograd.tensor([1, 2]), 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        retrograd.softmax(retrograd.ones(2, 3), 2)


def test_double_backward_of_log_softmax_matches_torch():
    if torch is None:
        pytest.skip("torch is not installed")
    arr = np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.5]])
    grads = []
    for mod in (retrograd, torch):
        x = mod.tensor(arr, requires_grad=True)
        y = mod.log_softmax(x, 1)
        (g,) = mod.autograd.grad((y * y).sum(), x, create_graph=True)
        (g * g).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-7)


def test_names_exported():
    assert set(S.__all__) <= set(dir(retrograd))
    assert not hasattr(retrograd, "softmin")
    assert callable(retrograd.Tensor.softmax) and callable(retrograd.Tensor.log_softmax)


# torch 2.13's float16 values and gradients (recorded): its CPU kernels compute half precision in
# float32 and round at its own points (e^(x - max) for a dim that is not the last, sum and
# log(sum) for log_softmax along the last dim); computing in float16 gave other values
HALF_X = [[1.0, 2.0, 3.0, 4.0, 5.5], [3.099609375, -0.7001953125, 2.19921875, 9.5, 0.300048828125]]
HALF_G = [[0.5, -1.0, 0.25, 2.0, -0.75], [1.0, 0.5, -2.0, 0.125, 1.5]]
HALF_CASES = [
    ("softmax", 1,
     [[0.00824737548828125, 0.022430419921875, 0.06097412109375, 0.1656494140625, 0.74267578125],
      [0.0016565322875976562, 3.707408905029297e-05, 0.0006732940673828125, 0.99755859375, 0.00010079145431518555]],
     [[0.006011962890625, -0.017303466796875, 0.0291900634765625, 0.369140625, -0.38720703125],
      [0.0014495849609375, 1.3887882232666016e-05, -0.001430511474609375, -0.00017404556274414062,
       0.0001385211944580078]]),
    ("softmax", 0,
     [[0.109130859375, 0.93701171875, 0.68994140625, 0.004070281982421875, 0.99462890625],
      [0.890625, 0.06298828125, 0.309814453125, 0.99609375, 0.00548553466796875]],
     [[-0.048583984375, -0.0885009765625, 0.48095703125, 0.007598876953125, -0.0121917724609375],
      [0.048828125, 0.0885009765625, -0.481201171875, -0.00762176513671875, 0.01227569580078125]]),
    ("log_softmax", 1,
     [[-4.796875, -3.796875, -2.796875, -1.7978515625, -0.297607421875],
      [-6.40234375, -10.203125, -7.3046875, -0.002925872802734375, -9.203125]],
     [[0.49169921875, -1.0224609375, 0.18896484375, 1.833984375, -1.4921875],
      [0.998046875, 0.5, -2.0, -0.99658203125, 1.5]]),
    ("log_softmax", 0,
     [[-2.21484375, -0.06500244140625, -0.370849609375, -5.50390625, -0.00550079345703125],
      [-0.11553955078125, -2.765625, -1.171875, -0.004077911376953125, -5.20703125]],
     [[0.336181640625, -0.53125, 1.4580078125, 1.9912109375, -1.49609375],
      [-0.33642578125, 0.53125, -1.4580078125, -1.9912109375, 1.49609375]]),
]


@pytest.mark.parametrize("name,dim,value,grad", HALF_CASES, ids=[f"{c[0]}_dim{c[1]}" for c in HALF_CASES])
def test_float16_like_torch(name, dim, value, grad):
    for t in (retrograd,) if torch is None else (retrograd, torch):
        x = t.tensor(HALF_X, dtype=t.float16, requires_grad=True)
        y = getattr(t, name)(x, dim)
        (gx,) = t.autograd.grad(y, x, t.tensor(HALF_G, dtype=t.float16))
        assert y.dtype == t.float16 and gx.dtype == t.float16
        np.testing.assert_array_equal(y.detach().numpy(), np.array(value, dtype=np.float16))
        np.testing.assert_array_equal(gx.numpy(), np.array(grad, dtype=np.float16))
