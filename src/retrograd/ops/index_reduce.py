"""index_reduce: reduce rows of ``source`` into ``input`` along a dim at a 1-D index, with
'prod', 'mean', 'amax' or 'amin' (torch's beta op). It is scatter_reduce with the index
repeated along every other dim, so its gradients, tangents and batching rule are
ScatterReduce's (torch's index_reduce gradients are scatter_reduce's too: shared evenly
among the tied extremes, products of the other members for 'prod')."""

import numpy as np

from ..tensor import Tensor, _wrap_dim
from ._inplace import make_inplace
from ._method import tensor_method
from ._out import SAME, takes_out
from .indexing import ScatterReduce, _dim_key
from .._backend import array_module
from .._warn_once import warn_once

__all__ = ["index_reduce"]

_REDUCES = ("prod", "mean", "amax", "amin")


class IndexReduce(ScatterReduce):
    """ScatterReduce under torch's node name (IndexReduceBackward0)."""


def _index_key(input, dim, index, source):
    """The key of every element of source (dim ``dim`` of it picked by ``index``), after torch's checks."""
    if not isinstance(index, Tensor):
        raise TypeError(f"index_reduce(): argument 'index' (position 3) must be Tensor, not {type(index).__name__}")
    if not isinstance(source, Tensor):
        raise TypeError(f"index_reduce(): argument 'source' (position 4) must be Tensor, not {type(source).__name__}")
    nd = max(input.ndim, 1)
    dim = _wrap_dim(dim, nd)
    if index.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                         f"{index.dtype} and size: {list(index.shape)}")
    if index.dtype.name not in ("int32", "int64"):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: {index.dtype} "
                           "(convert it with .long())")
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_reduce_(): self ({input.dtype}) and source ({source.dtype}) must have the same "
                           f"scalar type (convert source with .to({input.dtype}))")
    src_shape = tuple(source.shape) or (1,)
    shape = tuple(input.shape) or (1,)
    n = index.numel()
    if len(src_shape) != nd or any(s != t for d, (s, t) in enumerate(zip(src_shape, shape)) if d != dim):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
    if src_shape[dim] != n:
        raise RuntimeError(f"index_reduce_(): Number of indices ({n}) should be equal to source.size(dim): "
                           f"({src_shape[dim]}), for dim: {dim}")
    idx = index._data.reshape(-1).astype(np.int64)
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0:
            raise IndexError(f"index out of range in self (index_reduce got index {lo}; indices must be in "
                             f"[0, {shape[dim]}) along dim {dim})")
        if hi >= shape[dim]:
            raise IndexError(f"index {hi} is out of bounds for dimension {dim} with size {shape[dim]}")
    view = [1] * nd
    view[dim] = n
    full = array_module(idx).broadcast_to(idx.reshape(view), src_shape)
    return _dim_key(full, dim, array_module(idx))


@takes_out(dtype=SAME)
@tensor_method()
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """z = input with source's slices along ``dim`` reduced into z's slices ``index[i]`` by ``reduce``
    ('prod', 'mean', 'amax' or 'amin'; input's own values take part when include_self)."""
    warn_once("index_reduce", "index_reduce() is in beta and the API may change at any time.")
    if reduce not in _REDUCES:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    key = _index_key(input, dim, index, source)
    if input.dtype.name == "bool" and (input.ndim < 2 or reduce == "mean" or not include_self):
        kernel = ("index_func_" if input.ndim < 2 else "div_floor_cpu" if reduce == "mean"
                  else "index_reduce_func_exclude_input_init")  # torch's bool cases: these raise, the rest run
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool' (index_reduce '{reduce}' of a "
                                  f"{input.ndim}-dim bool tensor, include_self={include_self}: convert it with .int())")
    x = input.reshape(1) if input.ndim == 0 else input
    s = source.reshape(1) if source.ndim == 0 else source
    out = IndexReduce.apply(x, s, key, reduce, include_self)
    return out.reshape(()) if input.ndim == 0 else out


Tensor.index_reduce_ = make_inplace(index_reduce, "index_reduce_")
