"""Shape ops. Each returns a view (same memory, shared version counter) when NumPy can;
the backward undoes the rearrangement."""

import math

from .._backend import array_module
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim
from ._broadcast import sum_to_shape
from ._method import tensor_method

__all__ = ["reshape", "transpose", "swapaxes", "swapdims", "permute", "unsqueeze", "squeeze",
           "flatten", "t"]


def _infer_shape(shape, numel, src_shape):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    elif known != numel:
        raise RuntimeError(
            f"shape '{shape}' is invalid for input of size {numel} (input shape {list(src_shape)})"
        )
    return tuple(shape)


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


class Reshape(Function):
    """z = a with a new shape;  da = g reshaped back."""

    _view = True

    @staticmethod
    def forward(ctx, a, shape, strict_view=False):
        x = a._data
        shape = _infer_shape(shape, x.size, x.shape)
        ctx.shape = x.shape
        if strict_view and not x.flags.c_contiguous and x.size > 1:
            try:
                out = x.view()
                out.shape = shape  # raises if no copy-free view exists
                return out
            except AttributeError:
                raise RuntimeError(
                    f"view size is not compatible with input tensor's size and stride (input "
                    f"shape {list(x.shape)}, requested {list(shape)}): at least one dimension "
                    "spans across two contiguous subspaces. Use .reshape(...) instead."
                ) from None
        out = x.reshape(shape)
        ctx._view = out.base is not None
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None, None


class Permute(Function):
    """z = a with dims reordered;  da = g with the inverse order."""

    _view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a._data.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.permute(inverse), None


class Expand(Function):
    """z = a broadcast to a larger shape;  da = g summed back to a's shape."""

    _view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        x = a._data
        try:
            return array_module(x).broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(
                f"The expanded size of the tensor ({list(shape)}) must match the existing size "
                f"({list(x.shape)}) at each non-singleton dimension."
            ) from None

    @staticmethod
    def backward(ctx, g):
        return sum_to_shape(g, ctx.shape), None


@tensor_method()
def reshape(input, *shape):
    """The same elements in a new shape (a view when possible, else a copy)."""
    return Reshape.apply(input, _shape_args(shape))


@tensor_method()
def view(input, *shape):
    """The same memory in a new shape; RuntimeError when that needs a copy."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        return input.to(shape[0])  # view(dtype) with the same itemsize is not supported
    return Reshape.apply(input, _shape_args(shape), True)


@tensor_method()
def view_as(input, other):
    return view(input, tuple(other.shape))


@tensor_method()
def reshape_as(input, other):
    return reshape(input, tuple(other.shape))


@tensor_method()
def permute(input, *dims):
    dims = _shape_args(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {input.ndim} is "
            f"not equal to len(dims) = {len(dims)}"
        )
    dims = tuple(_wrap_dim(d, input.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


@tensor_method("transpose", "swapaxes", "swapdims")
def transpose(input, dim0, dim1):
    """Swap two dims (a view)."""
    n = input.ndim
    if n == 0:
        return input.view(())
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    perm = list(range(n))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return Permute.apply(input, tuple(perm))


swapaxes = swapdims = transpose


@tensor_method()
def t(input):
    """Transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input.view(tuple(input.shape))


Tensor.T = property(lambda self: Permute.apply(self, tuple(reversed(range(self.ndim)))))
Tensor.mT = property(lambda self: transpose(self, -2, -1))
Tensor.mH = Tensor.mT
Tensor.H = property(lambda self: t(self))


@tensor_method()
def unsqueeze(input, dim):
    """Insert a dim of size 1 at ``dim``."""
    n = input.ndim + 1
    dim = _wrap_dim(dim, n)
    shape = list(input.shape)
    shape.insert(dim, 1)
    return Reshape.apply(input, tuple(shape))


@tensor_method()
def squeeze(input, dim=None):
    """Remove dims of size 1 (only ``dim`` if given)."""
    shape = input.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = {_wrap_dim(d, input.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return Reshape.apply(input, new)


@tensor_method()
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    if input.ndim == 0:
        return input.reshape(1)
    s, e = _wrap_dim(start_dim, input.ndim), _wrap_dim(end_dim, input.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input.shape
    return Reshape.apply(input, tuple(shape[:s]) + (math.prod(shape[s:e + 1]),) + tuple(shape[e + 1:]))


@tensor_method()
def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying (-1 keeps a dim)."""
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(input.shape)}}}, size={list(sizes)}): the number of "
            f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
            f"in the tensor ({input.ndim})"
        )
    lead = len(sizes) - input.ndim
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    if shape == tuple(input.shape):
        return input
    return Expand.apply(input, shape)


@tensor_method()
def expand_as(input, other):
    return expand(input, tuple(other.shape))


@tensor_method()
def contiguous(input, memory_format=None):
    """The tensor itself when contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return input.clone()
