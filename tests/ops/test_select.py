"""where(cond, g, 0) and where(cond, 0, g) as bit masks (ops/_select.py): bitwise NumPy's where."""

import ml_dtypes
import numpy as np
import pytest

from retrograd.ops._select import fill_where, zero_where_not

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("shapes", [((5, 7), (5, 7)), ((3, 4, 6), (1, 4, 1)), ((3, 4), (4,)), ((0, 3), (3,)), ((), ())])
@pytest.mark.parametrize("keep", [True, False])
def test_zero_where_not_is_bitwise_numpy_where(dtype, shapes, keep):
    rng = np.random.default_rng(0)
    gshape, cshape = shapes
    g = rng.standard_normal(gshape).astype(dtype)
    if g.size > 3:
        g.flat[::3], g.flat[1::5], g.flat[2::7] = -0.0, np.nan, -np.inf
    c = rng.random(cshape) > 0.5
    zero = np.zeros((), dtype)
    want = np.where(c, g, zero) if keep else np.where(c, zero, g)
    got = zero_where_not(c, g, keep)
    assert type(got) is np.ndarray and got.shape == want.shape and got.dtype == want.dtype
    u = _UINT.get(g.dtype.itemsize, np.uint64)
    if g.dtype.kind == "c":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_array_equal(got.view(u), want.view(u))


def test_zero_where_not_on_a_strided_gradient():
    g = np.arange(-12.0, 12.0, dtype=np.float32).reshape(4, 6)[:, ::2]
    c = g > 0
    np.testing.assert_array_equal(zero_where_not(c, g), np.where(c, g, np.float32(0)))
    np.testing.assert_array_equal(zero_where_not(c, g, False), np.where(c, np.float32(0), g))


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32, np.float64])
@pytest.mark.parametrize("cshape", [(4, 6), (1, 6), (6,)])
@pytest.mark.parametrize("value", [-np.inf, 0.0, -0.0, np.nan, 2.5])
def test_fill_where_is_bitwise_copyto(dtype, cshape, value):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6)).astype(dtype)
    x.flat[::5], x.flat[1::7] = -0.0, np.nan
    c = rng.random(cshape) > 0.5
    v = np.asarray(value, dtype)
    want = x.copy()
    np.copyto(want, v, where=c)
    got = fill_where(c, x, v)
    u = _UINT[x.dtype.itemsize]
    assert got.shape == x.shape and got.dtype == x.dtype and not np.shares_memory(got, x)
    np.testing.assert_array_equal(got.view(u), want.view(u))


def test_fill_where_leaves_other_arrays_to_the_caller():
    c = np.array([True, False])
    assert fill_where(c, np.array([1, 2]), np.asarray(0)) is None  # integers
    assert fill_where(c, np.array([1.0, 2.0], np.complex64), np.asarray(0, np.complex64)) is None
    assert fill_where(np.array([1, 0]), np.array([1.0, 2.0]), np.asarray(0.0)) is None  # not a bool mask
