"""Sums over the last axis ("rows") or over the leading axes ("columns") of a contiguous
float array, as matrix-vector products.

NumPy reduces a (rows, n) array along its last axis one row at a time (~70 ns of setup per
row), so for rows of a few hundred elements ``a.sum(-1)`` costs several elementwise passes;
BLAS's gemv does the same sum at memory speed (``a @ ones``: 17 us against 150 us for a
(4096, 128) float32 array here). Softmax, cross-entropy and layer norm reduce rows on every
call. Other dtypes and layouts fall back to ``sum``.
"""

import numpy as np

from .. import _blocked
from .._backend import array_module


vecdot = getattr(np, "vecdot", None)  # (NumPy >= 2.0) row dot products without a product array


def _blas_ok(a):
    return a.dtype.char in "fd" and a.ndim >= 1 and a.size and a.flags.c_contiguous


# NumPy ones vectors by (length, dtype), read-only: np.ones costs ~0.8 us, more than the
# (32, 64) product it feeds (~0.7 us), and a program sums a few shapes over and over
_ONES = {}
_ONES_KEPT = 256


def _ones(a, n):
    """A ones vector of length n in a's dtype, on a's device (made once per shape for NumPy)."""
    if type(a) is not np.ndarray:
        return array_module(a).ones(n, dtype=a.dtype)
    key = (n, a.dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) >= _ONES_KEPT:
            _ONES.clear()
        v = np.ones(n, dtype=a.dtype)
        v.flags.writeable = False
        _ONES[key] = v
    return v


def row_sums(a, keepdims=False):
    """a.sum(axis=-1) (with keepdims like NumPy's)."""
    if not _blas_ok(a):
        return a.sum(axis=-1, keepdims=keepdims)
    n = a.shape[-1]
    s = (a.reshape(-1, n) @ _ones(a, n)).reshape(a.shape[:-1])
    return s[..., None] if keepdims else s


def col_sums(a):
    """a summed over every axis but the last: shape (a.shape[-1],). Half precision is summed in
    float32 and rounded once, as torch (NumPy's own float16/bfloat16 sum rounds every add)."""
    if not _blas_ok(a) or a.ndim < 2:
        if a.dtype.itemsize == 2 and a.dtype.kind in "fV" and type(a) is np.ndarray:
            return a.sum(axis=tuple(range(a.ndim - 1)), dtype=np.float32).astype(a.dtype)
        return a.sum(axis=tuple(range(a.ndim - 1)))
    rows = a if a.ndim == 2 else a.reshape(-1, a.shape[-1])
    return _ones(a, rows.shape[0]) @ rows


def sums(a, dim):
    """a.sum(axis=dim, keepdims=True), through row_sums for the last dim."""
    return row_sums(a, keepdims=True) if dim == a.ndim - 1 else a.sum(axis=dim, keepdims=True)


# Softmax and log-softmax may skip the shift by the row max when no e^x overflows and no row
# sum of e^x does (every sum finite), and every row's sum is at least the number below (no row
# lost to underflow): then z = x exactly, which is at least as accurate as x - max (that
# subtraction rounds). The sums tell: an overflow, an inf or a nan anywhere in a row makes its
# sum inf or nan, so the exp is tried first and the row max taken only where a sum fails.
_MIN_ROW_SUM = {np.dtype(np.float32): 1e-20, np.dtype(np.float64): 1e-280}


def numpy_rows_ok(a):
    """Whether a is an array the NumPy row kernels here and their callers take: a contiguous,
    non-empty NumPy float32 or float64 array of at least one dim."""
    return type(a) is np.ndarray and a.dtype in _MIN_ROW_SUM and _blas_ok(a)


def unshifted_exp_sums(x, out=None):
    """(e, s) = (e^x, its row sums with keepdims) for the last dim of a contiguous NumPy float32
    or float64 array where that is safe (see _MIN_ROW_SUM); None where it is not (``out``, where
    given, then holds garbage). NumPy reduces short rows one at a time (~70 ns each), so a row
    max costs more than the exp. Call it under np.errstate(over="ignore", invalid="ignore"), as
    softmax's _along does: the overflows it meets are expected."""
    if not numpy_rows_ok(x):
        return None
    tiny = _MIN_ROW_SUM[x.dtype]
    e = np.exp(x, out=out)
    s = row_sums(e, keepdims=True)
    # (written so that a nan sum fails both comparisons)
    return (e, s) if s.max() < np.inf and s.min() >= tiny else None


def exp_sums(x, dim, out=None):
    """(e, s): e = e^(x - m) (into ``out`` where given) and s = sum(e) along dim (keepdims),
    m = max(x) along dim, the stable parts of softmax(x) = e/s; m = 0 for the last dim where
    that is safe (see unshifted_exp_sums, also for the errstate to call it under). A row
    holding inf or nan, or only -inf, gives nan, as in torch."""
    if dim == x.ndim - 1:
        found = unshifted_exp_sums(x, out)
        if found is not None:
            return found
    xp = array_module(x)
    e = xp.subtract(x, xp.max(x, axis=dim, keepdims=True), out=out)
    xp.exp(e, out=e)
    return e, sums(e, dim)


# elements per block of a chain of NumPy passes over rows (row_blocks), retrograd._blocked's
# block size: each array's block (256 KiB in float32) stays in the core's L2 cache from one pass
# to the next, where arrays of a few MiB go to memory on every pass (softmax's backward on
# (4096, 128): 0.67 -> 0.50 ms)
ROW_BLOCK = _blocked.BLOCK


def block_rows(width):
    """Rows of ``width`` elements per block of row_blocks (at least one)."""
    return max(1, ROW_BLOCK // max(width, 1))


def row_blocks(block, out, *arrays):
    """block(rows of each of ``arrays``..., the same rows of ``out``) for consecutive spans of
    block_rows(width) rows of the (rows, width) array out (the last span fewer): block computes
    its rows' part of the result, through every pass of its chain, before the next span starts.
    Returns out. (One span holding every row: the arrays themselves, no slices.)"""
    n, m = out.shape
    step = block_rows(m)
    if n <= step:
        block(*arrays, out)
    else:
        for lo in range(0, n, step):
            hi = lo + step
            block(*[a[lo:hi] for a in arrays], out[lo:hi])
    return out


def last_dim_rows(dim, *arrays):
    """(rows, width) views of arrays of one shape and dtype (contiguous NumPy float32 or
    float64, not empty) for work along their last dim ``dim``, for row_blocks; None otherwise."""
    a = arrays[0]
    if dim != a.ndim - 1:
        return None
    for b in arrays:
        if not numpy_rows_ok(b) or b.dtype != a.dtype or b.shape != a.shape:
            return None
    return [b.reshape(-1, a.shape[-1]) for b in arrays]
