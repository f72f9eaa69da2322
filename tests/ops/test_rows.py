"""Row and column sums as matrix-vector products, and softmax's shift-free exp (ops/_rows.py)."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import _rows
from retrograd.ops._rows import col_sums, exp_sums, last_dim_rows, row_blocks, row_sums, unshifted_exp_sums


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 4), (4, 0), (0, 3)])
def test_row_and_col_sums_equal_numpy(dtype, shape):
    a = (np.random.default_rng(0).standard_normal(shape) * 10).astype(dtype)
    tol = 1e-2 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(row_sums(a), a.sum(-1), rtol=tol, atol=tol)
    assert row_sums(a, keepdims=True).shape == a.sum(-1, keepdims=True).shape
    np.testing.assert_allclose(col_sums(a), a.sum(axis=tuple(range(a.ndim - 1))), rtol=tol, atol=tol)


def test_col_sums_of_half_precision_sum_in_float32_and_round_once():
    """As torch's reductions of float16/bfloat16: NumPy's bfloat16 sum rounds every add."""
    for dt in (np.float16, retrograd.bfloat16.np):
        big = 2048.0 if dt == np.float16 else 256.0
        a = np.array([[big, 1.0]] + [[1.0, 1.0]] * 8, dtype=dt)
        got = col_sums(a)
        assert got.dtype == dt and got.tolist() == [big + 8, 9.0]


def test_sums_of_a_non_contiguous_array():
    a = np.arange(24.0).reshape(4, 6)[:, ::2]
    np.testing.assert_array_equal(row_sums(a), a.sum(-1))
    np.testing.assert_array_equal(col_sums(a), a.sum(0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_by_one_kept_ones_vector_per_shape(monkeypatch, dtype):
    """The ones vector is made once per (length, dtype), read-only, and the cache is bounded;
    the sums are the very products with a fresh np.ones (bitwise)."""
    monkeypatch.setattr(_rows, "_ONES", {})
    a = np.random.default_rng(1).standard_normal((4, 8, 64)).astype(dtype)
    rows = a.reshape(-1, 64)
    np.testing.assert_array_equal(col_sums(a), np.ones(32, dtype) @ rows)
    np.testing.assert_array_equal(row_sums(a), (rows @ np.ones(64, dtype)).reshape(4, 8))
    kept = _rows._ones(a, 32)
    assert kept is _rows._ones(a, 32) and not kept.flags.writeable and kept.dtype == dtype
    assert set(_rows._ONES) == {(32, a.dtype), (64, a.dtype)}
    monkeypatch.setattr(_rows, "_ONES_KEPT", 2)
    _rows._ones(a, 5)  # a third shape: the cache starts over
    assert set(_rows._ONES) == {(5, a.dtype)}


def _reference(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


@pytest.mark.parametrize("rows", [
    [[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]],  # the shift-free path
    [[79.0, -79.0, 0.0], [1.0, 2.0, 3.0]],  # still shift-free
    [[100.0, 1.0, 2.0], [1.0, 2.0, 3.0]],  # e^100 overflows float32: row max
    [[0.0, 1.0, 2.0], [-100.0, -101.0, -150.0]],  # a row that underflows: row max
    [[0.0, 1.0, 2.0], [-np.inf, 0.0, 3.0]],  # -inf entries are fine either way
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_sums_give_the_shifted_softmax(rows, dtype):
    x = np.array(rows, dtype=dtype)
    with np.errstate(over="ignore"):
        e, s = exp_sums(x, 1)
    np.testing.assert_allclose(e / s, _reference(x, 1), rtol=1e-6)
    e0, s0 = exp_sums(np.ascontiguousarray(x.T), 0)  # not the last dim: always the row max
    np.testing.assert_allclose(e0 / s0, _reference(x.T, 0), rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_exp_sums_make_a_row_with_nan_or_inf_nan(bad):
    x = np.array([[0.0, 1.0, bad], [1.0, 2.0, 3.0]], dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        e, s = exp_sums(x, 1)
        p = e / s
    assert np.isnan(p[0]).all()
    np.testing.assert_allclose(p[1], _reference(x[1:], 1)[0], rtol=1e-6)


def test_exp_sums_make_an_all_minus_inf_row_nan():
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0]], dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        e, s = exp_sums(x, 1)
        p = e / s
    assert np.isnan(p[0]).all() and np.isfinite(p[1]).all()


def test_exp_sums_of_long_rows_whose_sum_would_overflow():
    x = np.full((2, 100_000), 80.0, dtype=np.float32)  # 1e5 * e^80 overflows float32
    with np.errstate(over="ignore"):
        e, s = exp_sums(x, 1)
    np.testing.assert_allclose(e / s, 1e-5, rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unshifted_exp_sums_only_where_every_row_sum_is_safe(dtype):
    """e^x and its row sums without the row max where no sum overflows or underflows; None
    (the caller takes the row max) for an overflowing entry or sum, inf, nan, a row that
    underflows, other dtypes and layouts."""
    x = np.array([[0.0, 1.0, -2.0], [3.0, -np.inf, 0.5]], dtype=dtype)
    e, s = unshifted_exp_sums(x)
    np.testing.assert_array_equal(e, np.exp(x))
    np.testing.assert_allclose(s, np.exp(x).sum(1, keepdims=True), rtol=1e-6)
    big = 100.0 if dtype == np.float32 else 800.0  # e^x overflows the dtype
    with np.errstate(over="ignore", invalid="ignore"):
        for bad in ([big, 0.0, 0.0], [np.inf, 0.0, 0.0], [np.nan, 0.0, 0.0], [-big, -big, -np.inf]):
            assert unshifted_exp_sums(np.array([[0.0, 1.0, 2.0], bad], dtype=dtype)) is None
        long_rows = np.full((2, 100_000), 80.0 if dtype == np.float32 else 700.0, dtype=dtype)
        assert unshifted_exp_sums(long_rows) is None  # each e^x finite, their sum not
    assert unshifted_exp_sums(np.asfortranarray(np.ones((3, 4), dtype))) is None
    assert unshifted_exp_sums(np.ones((3, 4), np.float16)) is None


@pytest.mark.parametrize("rows,width", [(1, 5), (10, 7), (3, 100), (64, 1)])
def test_row_blocks_cover_every_row_once_in_order(monkeypatch, rows, width):
    monkeypatch.setattr(_rows, "ROW_BLOCK", 20)
    x = np.arange(rows * width, dtype=np.float32).reshape(rows, width)
    spans = []

    def block(xb, ob):  # a block's rows of x and of out, as views
        assert np.shares_memory(ob, out) and xb.shape == ob.shape
        spans.append((int(xb[0, 0]) // width, int(xb[-1, 0]) // width + 1))
        np.negative(xb, out=ob)
    out = np.empty_like(x)
    assert row_blocks(block, out, x) is out
    step = max(1, 20 // width)
    assert spans == [(lo, min(lo + step, rows)) for lo in range(0, rows, step)]
    np.testing.assert_array_equal(out, -x)


def test_last_dim_rows_takes_contiguous_float_arrays_of_one_shape():
    a, b = np.ones((2, 3, 4), np.float32), np.zeros((2, 3, 4), np.float32)
    views = last_dim_rows(2, a, b)
    assert [v.shape for v in views] == [(6, 4), (6, 4)] and np.shares_memory(views[0], a)
    assert last_dim_rows(1, a, b) is None  # not the last dim
    assert last_dim_rows(2, a, b.astype(np.float64)) is None
    assert last_dim_rows(2, a, np.ones((2, 3, 4), np.float32)[:, ::-1]) is None
    assert last_dim_rows(2, a.astype(np.float16)) is None and last_dim_rows(0, np.ones(0, np.float32)) is None
