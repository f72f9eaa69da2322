"""where(cond, g, 0) and where(cond, 0, g) as bit masks (ops/_select.py): bitwise NumPy's where."""

import ml_dtypes
import numpy as np
import pytest

from retrograd.ops._select import zero_where_not

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
