"""Indexing: ``x[key]`` (basic indexing is a view, advanced indexing a copy) and
``x[key] = v``. Backward of a read scatters the gradient into zeros, adding over
repeated indices; backward of a write routes the gradient to the written value."""

import numpy as np

from .. import _backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._broadcast import sum_to_shape
from ._inplace import inplace

__all__ = ["index_put"]


def _convert_index(k):
    if isinstance(k, Tensor):
        arr = k._data
        if arr.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if arr.ndim == 0 and arr.dtype != np.bool_:
            return int(arr)
        return arr
    if isinstance(k, (list, tuple)) and not isinstance(k, range):
        converted = [_convert_index(x) for x in k]
        return np.array(converted)
    if isinstance(k, (slice, int, type(None), type(Ellipsis), np.ndarray, np.integer)):
        return k
    if isinstance(k, range):
        return np.arange(k.start, k.stop, k.step)
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
        f"valid indices (got {type(k).__name__})"
    )


def convert_key(key):
    """A NumPy index for a torch-style key; and whether it is advanced (copying) indexing."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, tuple):  # a tuple inside a tuple is a sequence index
            k = list(k)
        out.append(_convert_index(k))
    advanced = any(hasattr(k, "shape") and not isinstance(k, np.integer) for k in out)
    return tuple(out), advanced


def scatter_add(z, key, values):
    """z[key] += values, adding over repeated indices."""
    xp = _backend.array_module(z)
    if xp is np:
        np.add.at(z, key, values)
    else:  # CuPy
        import cupyx

        cupyx.scatter_add(z, key, values)


class Index(Function):
    """z = a[key];  da = zeros with g added at key."""

    @staticmethod
    def forward(ctx, a, key, advanced):
        ctx.shape, ctx.key, ctx.advanced = a.shape, key, advanced
        ctx._view = not advanced
        try:
            return a._data[key]
        except IndexError as e:
            raise IndexError(f"{e} (indexing a tensor of shape {list(a.shape)})") from None

    @staticmethod
    def backward(ctx, g):
        return IndexScatter.apply(g, ctx.shape, ctx.key, ctx.advanced), None, None


class IndexScatter(Function):
    """z = zeros(shape) with g added at key (the backward of Index);  dg = gz[key]."""

    @staticmethod
    def forward(ctx, g, shape, key, advanced):
        ctx.key, ctx.advanced = key, advanced
        z = _backend.array_module(g._data).zeros(shape, dtype=g._data.dtype)
        if advanced:
            scatter_add(z, key, g._data)
        else:
            z[key] = g._data
        return z

    @staticmethod
    def backward(ctx, gz):
        return Index.apply(gz, ctx.key, ctx.advanced), None, None, None


class IndexPut(Function):
    """z = a with z[key] = v;  da = g with zeros at key,  dv = g[key] (summed to v's shape)."""

    @staticmethod
    def forward(ctx, a, key, advanced, value, accumulate=False):
        out = a._data.copy()
        v = value._data if isinstance(value, Tensor) else value
        if isinstance(value, Tensor) and type(v) is not type(out):
            raise RuntimeError(f"index_put_: value is on {value.device} but the tensor is on {a.device}")
        ctx.key, ctx.advanced, ctx.accumulate = key, advanced, accumulate
        ctx.vshape = value.shape if isinstance(value, Tensor) else None
        try:
            if accumulate:
                scatter_add(out, key, v)
            else:
                out[key] = v
        except ValueError:
            target = np.empty(a.shape, dtype=np.bool_)[key].shape
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(np.shape(v))} cannot be broadcast "
                f"to indexing result of shape {list(target)}"
            ) from None
        return out

    @staticmethod
    def backward(ctx, g):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = g if ctx.accumulate else IndexPut.apply(g, ctx.key, ctx.advanced, 0.0)
        if ctx.needs_input_grad[3]:
            gv = sum_to_shape(Index.apply(g, ctx.key, ctx.advanced), ctx.vshape)
        return ga, None, None, gv, None


def getitem(self, key):
    key, advanced = convert_key(key)
    return Index.apply(self, key, advanced)


def setitem(self, key, value):
    key, advanced = convert_key(key)
    inplace(self, "__setitem__", IndexPut.apply, key, advanced, value)


def index_put(input, indices, values, accumulate=False):
    key, advanced = convert_key(tuple(indices))
    return IndexPut.apply(input, key, True, values, accumulate)


def index_put_(input, indices, values, accumulate=False):
    key, _ = convert_key(tuple(indices))
    return inplace(input, "index_put_", IndexPut.apply, key, True, values, accumulate)


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
Tensor.index_put = index_put
Tensor.index_put_ = index_put_
