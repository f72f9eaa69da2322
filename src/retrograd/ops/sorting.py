"""Sorting and searching: sort, argsort, topk, kthvalue, msort, unique, searchsorted, bucketize.

Indices are computed on arrays (int64, never differentiable); the values are then picked
from the input by those indices (``gather``), so their gradient flows back through the
indices: d input = g scattered to where each value came from. NaN sorts as the largest
value, as in torch; sorts are stable.
"""

from collections import namedtuple

import numpy as np

from . import _batching
from .._backend import array_module
from ..tensor import Tensor, _wrap_dim
from ._kernel_dtypes import check_not_bool
from ._method import tensor_method
from .indexing import Index, _dim_key
from .reduction import return_types
from ._out import NONE, SAME, takes_out

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive",
           "searchsorted", "bucketize", "return_types"]


def _return_type(name, fields):
    cls = namedtuple(name, fields)
    cls.__module__ = "torch.return_types"
    cls.__qualname__ = name
    cls.__repr__ = lambda self: f"torch.return_types.{name}(" + ",".join(
        f"\n{f}={v!r}" for f, v in zip(fields, self)) + ")"
    return cls


# one torch.return_types for the package: the reductions' class, with the sorting pairs added
return_types.sort = _return_type("sort", ["values", "indices"])
return_types.topk = _return_type("topk", ["values", "indices"])
return_types.kthvalue = _return_type("kthvalue", ["values", "indices"])


def _argsort(x, axis, descending):
    """Stable argsort along ``axis`` with NaN as the largest value."""
    xp = array_module(x)
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    if x.dtype.kind == "f":
        idx = xp.argsort(-x, axis=axis, kind="stable")
        nan_last = ~xp.isnan(xp.take_along_axis(x, idx, axis))  # NaNs go first when descending
        return xp.take_along_axis(idx, xp.argsort(nan_last, axis=axis, kind="stable"), axis)
    return xp.argsort(-x.astype(np.int64), axis=axis, kind="stable")


def _indices(input, dim, descending, k=None):
    """The indices that sort ``input`` along ``dim`` (the first ``k``: topk's), from its array outside an op
    (one function, so that retrograd.compile can record it)."""
    idx = _argsort(input._data, dim, descending)
    return idx if k is None else idx[(slice(None),) * dim + (slice(0, k),)]


def _pick(input, dim, idx):
    """input's values at ``idx`` along dim (a differentiable gather)."""
    return Index.apply(input, _dim_key(idx, dim, array_module(idx)), True)


def _int64(x):
    return Tensor._make(x.astype(np.int64, copy=False))


@takes_out(dtype=SAME)
@tensor_method()
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along ``dim``; d input = g scattered back through indices."""
    if input.ndim == 0:
        _wrap_dim(dim, 1)  # dims 0 and -1 only, as torch
        return return_types.sort(input.clone(), _int64(array_module(input._data).zeros((), np.int64)))
    dim = _wrap_dim(dim, input.ndim)
    if _batching.batched(input):  # under vmap: the batch sorted along dim + 1 at once
        return _batching.on_batch(lambda x: sort(x, dim + 1, descending, stable), input)
    idx = _indices(input, dim, descending)
    return return_types.sort(_pick(input, dim, idx), _int64(idx))


@tensor_method()
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim``."""
    if input.ndim == 0:
        _wrap_dim(dim, 1)  # dims 0 and -1 only, as torch
        return _int64(array_module(input._data).zeros((), np.int64))
    if _batching.batched(input):  # under vmap: the batch's indices along dim + 1 at once
        d = _wrap_dim(dim, input.ndim)
        return _batching.on_batch(lambda x: argsort(x, d + 1, descending, stable), input)
    return _int64(_indices(input, _wrap_dim(dim, input.ndim), descending))


@takes_out(dtype=SAME)
@tensor_method()
def msort(input):
    """Sorted along dim 0."""
    return sort(input, 0).values


@takes_out(dtype=SAME)
@tensor_method()
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The k largest (or smallest) values along ``dim`` and their indices."""
    if input._data.dtype == np.bool_ and type(input._data) is np.ndarray:
        raise RuntimeError("topk does not support bool dtypes on CPU (convert the bool tensor with .int() or "
                           ".float() first)")
    dim = _wrap_dim(dim, max(input.ndim, 1))
    n = input.shape[dim] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k = {k}, size of dim {dim} = {n})")
    if input.ndim == 0:
        return return_types.topk(input.clone(), _int64(array_module(input._data).zeros((), np.int64)))
    if _batching.batched(input):  # under vmap: the batch's top k along dim + 1 at once
        return _batching.on_batch(lambda x: topk(x, k, dim + 1, largest, sorted), input)
    idx = _indices(input, dim, largest, k)
    return return_types.topk(_pick(input, dim, idx), _int64(idx))


@takes_out(dtype=SAME)
@tensor_method()
def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest value (1-based) along ``dim`` and its index."""
    if type(input._data) is np.ndarray:  # (torch's CPU kernel has no Bool version)
        check_not_bool("kthvalue_cpu", input)
    dim = _wrap_dim(dim, max(input.ndim, 1))
    n = input.shape[dim] if input.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {dim} (k = {k}, size {n})"
        )
    if input.ndim == 0:
        return return_types.kthvalue(input.clone(), _int64(array_module(input._data).zeros((), np.int64)))
    if _batching.batched(input):  # under vmap: the batch's k-th values along dim + 1 at once
        return _batching.on_batch(lambda x: kthvalue(x, k, dim + 1, keepdim), input)
    idx = _argsort(input._data, dim, False)
    idx = idx[(slice(None),) * dim + (slice(k - 1, k),)]
    values = _pick(input, dim, idx)
    if not keepdim:
        values, idx = values.squeeze(dim), idx.squeeze(dim)
    return return_types.kthvalue(values, _int64(idx))


def _unique_result(output, inverse, counts, return_inverse, return_counts):
    if return_inverse and return_counts:
        return output, inverse, counts
    if return_inverse:
        return output, inverse
    if return_counts:
        return output, counts
    return output


@tensor_method()
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct elements (or slices along ``dim``), sorted; optionally the inverse map and counts.
    Not differentiable (as in torch)."""
    x = input._data
    xp = array_module(x)
    if dim is None:
        vals, inv, cnt = xp.unique(x.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(x.shape)
    else:
        dim = _wrap_dim(dim, x.ndim)
        if x.shape[dim] == 0:
            vals = x
            inv, cnt = xp.zeros(0, np.int64), xp.zeros(0, np.int64)
        else:
            vals, inv, cnt = xp.unique(x, return_inverse=True, return_counts=True, axis=dim)
            inv = inv.reshape(-1)
    return _unique_result(Tensor._make(vals), _int64(inv), _int64(cnt), return_inverse, return_counts)


@tensor_method()
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    x = input._data
    xp = array_module(x)
    if dim is None:
        flat = x.reshape(-1)
        change = flat[1:] != flat[:-1]
        shape = x.shape
        moved = flat
    else:
        dim = _wrap_dim(dim, x.ndim)
        moved = xp.moveaxis(x, dim, 0)
        change = (moved[1:] != moved[:-1]).reshape(max(moved.shape[0] - 1, 0), -1).any(axis=1)
        shape = (moved.shape[0],)
    n = moved.shape[0]
    if n == 0:
        vals = moved if dim is None else x
        inv = xp.zeros(shape, np.int64)
        cnt = xp.zeros(0, np.int64)
    else:
        starts = xp.concatenate([xp.zeros(1, bool), change]).astype(bool)
        inv = xp.cumsum(starts).astype(np.int64)
        first = xp.nonzero(xp.concatenate([xp.ones(1, bool), change]))[0]
        cnt = xp.diff(xp.concatenate([first, xp.array([n])])).astype(np.int64)
        vals = moved[first]
        if dim is not None:
            vals = xp.moveaxis(vals, 0, dim)
        inv = inv.reshape(shape)
    return _unique_result(Tensor._make(vals), _int64(inv), _int64(cnt), return_inverse, return_counts)


def _search(seq, vals, right, sorter, xp):
    side = "right" if right else "left"
    if seq.ndim == 1:
        return xp.searchsorted(seq, vals, side=side, sorter=sorter)
    lead = seq.shape[:-1]
    s2 = seq.reshape(-1, seq.shape[-1])
    v2 = vals.reshape(s2.shape[0], -1)
    so = None if sorter is None else sorter.reshape(s2.shape)
    out = xp.stack([xp.searchsorted(s2[i], v2[i], side=side, sorter=None if so is None else so[i])
                    for i in range(s2.shape[0])]) if s2.shape[0] else xp.zeros(v2.shape, np.int64)
    return out.reshape(lead + vals.shape[len(lead):])


@takes_out(dtype=SAME, grad=NONE)
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """For each value, the index at which it would be inserted into the sorted innermost dim
    (``right``/``side='right'``: after equal elements)."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got "
                               "side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input) if scalar else input._data
    xp = array_module(seq)
    if seq.ndim > 1 and (vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(
            f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
            f"of boundaries tensor and input value tensor must match, but we got boundaries tensor "
            f"{list(seq.shape)} and input value tensor {list(vals.shape)}"
        )
    srt = sorter._data if isinstance(sorter, Tensor) else sorter
    out_arr = _search(seq, vals, right, srt, xp)
    return Tensor._make(xp.asarray(out_arr).astype(np.int32 if out_int32 else np.int64))


@takes_out(dtype=SAME, grad=NONE)
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among 1-D ``boundaries`` (right=False: b[i-1] < x <= b[i])."""
    if boundaries.ndim != 1:
        raise RuntimeError(
            f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def _bucketize_method(self, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among 1-D ``boundaries``."""
    return bucketize(self, boundaries, out_int32=out_int32, right=right)


Tensor.bucketize = _bucketize_method
