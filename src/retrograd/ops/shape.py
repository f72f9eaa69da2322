"""Shape ops. Each returns a view (same memory, shared version counter) when NumPy can;
the backward undoes the rearrangement."""

import math

import numpy as np

from . import _batching
from ..amp.autocast_mode import cast_args
from .._backend import array_module
from ..autograd.function import Function
from ..autograd.forward_ad import linear_jvp
from ..autograd.grad_mode import _state as _grad_state
from .._unsupported import reject
from .._warn_once import warn_once
from ..tensor import Tensor, _wrap_dim
from ._broadcast import broadcast_view, sum_to_shape
from ._inplace import make_inplace_view
from ._method import tensor_method
from ._out import SAME, takes_out

__all__ = ["reshape", "transpose", "swapaxes", "swapdims", "permute", "unsqueeze", "squeeze",
           "flatten", "t"]


def _infer_shape(shape, numel, src_shape):
    if -1 not in shape:  # the common case, without a generator
        if math.prod(shape) != numel:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {numel} (input shape {list(src_shape)})"
            )
        return tuple(shape)
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
    return tuple(map(int, shape))


class Reshape(Function):
    """z = a with a new shape;  da = g reshaped back."""
    vmap = classmethod(_batching.shape_arg)  # batching rule (retrograd.func.vmap)

    _view = True
    _backward_name = "ViewBackward0"  # torch's name

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

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:  # plain backward: the array reshaped, no op recorded
            return Tensor._make(g._data.reshape(ctx.shape)), None, None
        return g.reshape(ctx.shape), None, None


class UnsafeView(Reshape):
    """torch's _unsafe_view: the reshape that folds a matrix product's rows back (linear, matmul)."""

    _backward_name = "UnsafeViewBackward0"


class Permute(Function):
    """z = a with dims reordered;  da = g with the inverse order."""
    vmap = classmethod(_batching.permutation)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    _view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a._data.transpose(dims)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        if not _grad_state.enabled:  # plain backward: the array transposed back, no op recorded
            return Tensor._make(g._data.transpose(inverse)), None
        return Permute.apply(g, tuple(inverse)), None  # (dims known valid: no permute() checks)


class Expand(Function):
    """z = a broadcast to a larger shape;  da = g summed back to a's shape."""
    vmap = classmethod(_batching.expand)  # batching rule (retrograd.func.vmap)

    _view = True

    @staticmethod
    def forward(ctx, a, shape):
        x = a._data
        ctx.shape = x.shape
        try:
            return broadcast_view(x, shape)
        except ValueError:
            raise RuntimeError(
                f"The expanded size of the tensor ({list(shape)}) must match the existing size "
                f"({list(x.shape)}) at each non-singleton dimension."
            ) from None

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

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
        return _view_as_dtype(input, shape[0])
    return Reshape.apply(input, _shape_args(shape), True)


def _view_as_dtype(input, dtype):
    """view(dtype): the same bytes read as ``dtype``, memory and version shared, as torch's (no
    gradient flows through it). A wider or narrower dtype divides or multiplies the last size."""
    from ._kernel_dtypes import scalar_name

    old = input.dtype
    if dtype.itemsize != old.itemsize:
        where = f"to view {scalar_name(old)} as {scalar_name(dtype)} (different element sizes)"
        if input.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {where}")
        strides = input.stride()
        if strides[-1] != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {where}, but got {strides[-1]}")
        ratio = dtype.itemsize // old.itemsize
        if ratio > 1:
            checks = [("size(-1)", input.shape[-1]), ("storage_offset()", input.storage_offset())]
            checks += [(f"stride({d})", st) for d, st in enumerate(strides[:-1])]
            for what, value in checks:
                if value % ratio:
                    raise RuntimeError(f"self.{what} must be divisible by {ratio} {where}, but got {value}")
    out = Tensor._make(input._data.view(dtype.np))
    out._vc = input._vc  # an in-place write through either is a write to both
    return out


@tensor_method()
def view_as(input, other):
    """input viewed with other's shape."""
    return view(input, tuple(other.shape))


@tensor_method()
def reshape_as(input, other):
    """input reshaped to other's shape."""
    return reshape(input, tuple(other.shape))


@tensor_method()
def permute(input, *dims):
    """The dims reordered as ``dims`` (a view)."""
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
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


@tensor_method("transpose", "swapdims")
def transpose(input, dim0, dim1):
    """Swap two dims (a view)."""
    n = input.ndim
    d0, d1 = _wrap_dim(dim0, max(n, 1)), _wrap_dim(dim1, max(n, 1))  # a 0-d tensor takes dims 0 and -1
    if n == 0:
        return input.view(())
    perm = list(range(n))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return Transpose.apply(input, tuple(perm))


swapdims = transpose


@tensor_method()
def swapaxes(input, axis0, axis1):
    """transpose(input, axis0, axis1): torch's NumPy-named alias (``x.swapaxes(axis0=0, axis1=1)``)."""
    return transpose(input, axis0, axis1)


# the same ops under torch's node names (grad_fn=<TransposeBackward0> and so on)
class Transpose(Permute):
    _backward_name = "TransposeBackward0"


class TMatrix(Permute):
    _backward_name = "TBackward0"


class Unsqueeze(Reshape):
    _backward_name = "UnsqueezeBackward0"


class Squeeze(Reshape):
    _backward_name = "SqueezeBackward0"


class SqueezeDim(Reshape):
    _backward_name = "SqueezeBackward1"


class SqueezeDims(Reshape):  # (a tuple of dims: torch's squeeze.dims overload)
    _backward_name = "SqueezeBackward2"


# (a bound method kept: Op.apply looks the classmethod up and binds it on every call, ~460 machine instructions)
_t_apply = TMatrix.apply


@tensor_method()
def t(input):
    """Transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    ndim = input.ndim  # (read once: a property)
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    return _t_apply(input, (1, 0) if ndim == 2 else tuple(range(ndim)))  # (TBackward0 for 0-D and 1-D too)


def _reversed_dims(self):
    """All dimensions reversed (a matrix's transpose); deprecated by torch for other than 1 or 2
    dims, which it warns about once per process."""
    ndim = self.ndim
    if ndim > 2:
        warn_once("T of ndim > 2", "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
                  "deprecated and it will throw an error in a future release. Consider `x.mT` to transpose batches "
                  "of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                  "tensor.")
    elif ndim == 0:
        warn_once("T of 0-D", "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.")
    return Permute.apply(self, tuple(reversed(range(ndim))))


Tensor.T = property(_reversed_dims, doc="All dimensions reversed (a matrix's transpose).")
Tensor.mT = property(lambda self: transpose(self, -2, -1),
                     doc="The last two dimensions transposed (mH is the same: tensors are real).")
Tensor.mH = Tensor.mT
Tensor.H = property(lambda self: t(self), doc="A matrix's conjugate transpose: t() (tensors are real).")


@tensor_method()
def unsqueeze(input, dim):
    """Insert a dim of size 1 at ``dim``."""
    n = input.ndim + 1
    dim = _wrap_dim(dim, n)
    shape = list(input.shape)
    shape.insert(dim, 1)
    return Unsqueeze.apply(input, tuple(shape))


@tensor_method()
def squeeze(input, dim=None):
    """Remove dims of size 1 (only ``dim`` if given)."""
    shape = input.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = {_wrap_dim(d, input.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return (Squeeze if dim is None else SqueezeDim if isinstance(dim, int) else SqueezeDims).apply(input, new)


for _name, _op in [("unsqueeze_", unsqueeze), ("squeeze_", squeeze), ("t_", t), ("transpose_", transpose),
                   ("swapaxes_", swapaxes), ("swapdims_", swapdims)]:
    setattr(Tensor, _name, make_inplace_view(_op, _name))


@tensor_method()
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    s, e = _wrap_dim(start_dim, input.ndim or 1), _wrap_dim(end_dim, input.ndim or 1)  # 0-d: dims 0 and -1
    if input.ndim == 0:
        return input.reshape(1)
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
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    if shape == tuple(input.shape):
        return input
    if min(shape, default=0) < 0:  # (a -1 left for a new leading dim: broadcast_view would take it)
        _check_expand(input, sizes, shape)
    try:
        return Expand.apply(input, shape)
    except RuntimeError:  # (diagnosed only on failure: the call itself stays lean)
        _check_expand(input, sizes, shape)
        raise


def _check_expand(input, sizes, shape):
    """torch's error for the first size expand cannot take, naming its dimension."""
    lead = len(sizes) - input.ndim
    for i, s in enumerate(shape):
        if i < lead and s < 0:
            raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, non-existing "
                               f"dimension {i} (expand{tuple(sizes)} of a {input.ndim}-dim tensor: -1 keeps one of "
                               "the tensor's own dimensions; a new leading one needs its size)") from None
        have = input.shape[i - lead] if i >= lead else s
        if s != have and (have != 1 or s < 0):
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({have}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(input.shape)}") from None


@tensor_method()
def expand_as(input, other):
    """expand(other.shape): broadcast to other's shape without copying."""
    return expand(input, tuple(other.shape))


@tensor_method()
def contiguous(input, memory_format=None):
    """The tensor itself when contiguous, else a contiguous copy."""
    reject("contiguous", memory_format=memory_format)
    if input._data.flags.c_contiguous:
        return input
    return input.clone()


# ---------------------------------------------------------------------------- more shape ops

__all__ += ["unflatten", "movedim", "moveaxis", "broadcast_to", "repeat_interleave", "tile", "flip",
            "fliplr", "flipud", "roll", "narrow", "select", "atleast_1d", "atleast_2d", "atleast_3d",
            "ravel", "broadcast_tensors", "rot90"]

FUNCTIONAL = ["pad"]  # torch.nn.functional names, re-exported by nn/functional.py


@tensor_method()
def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
    dim = _wrap_dim(dim, input.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    inner = _infer_shape(sizes, input.shape[dim], (input.shape[dim],))
    shape = tuple(input.shape[:dim]) + inner + tuple(input.shape[dim + 1:])
    return Reshape.apply(input, shape)


@tensor_method("movedim", "moveaxis")
def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination`` (a view)."""
    n = input.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    src = tuple(_wrap_dim(d, n) for d in src)
    dst = tuple(_wrap_dim(d, n) for d in dst)
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(source)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(destination)})")
    if n == 0:
        return input.view(())
    perm = [-1] * n
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(d for d in range(n) if d not in src)
    perm = [p if p != -1 else next(rest) for p in perm]
    return Permute.apply(input, tuple(perm))


moveaxis = movedim


@tensor_method()
def broadcast_to(input, size):
    """Broadcast to ``size`` (a view); -1 keeps a dim."""
    return expand(input, tuple(size))


@tensor_method()
def sum_to_size(input, *size):
    """input summed down to ``size`` (sizes or one tuple), which must broadcast to input's shape:
    the dims that broadcasting would add or stretch are summed (expand's converse)."""
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    have = tuple(input.shape)
    lead = len(have) - len(shape)
    if lead < 0 or any(s not in (1, h) for s, h in zip(shape, have[lead:])):
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(have)}}}: each size must "
                           "be 1 or input's size at that dim, counting from the last")
    return sum_to_shape(input, shape)


def broadcast_tensors(*tensors):
    """Broadcast all tensors to one shape (views)."""
    from ._broadcast import broadcast_shapes

    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


class Tile(Function):
    """z = a tiled reps times along each dim;  da = g viewed as (r0, s0, r1, s1, ...) summed over the r's."""

    @staticmethod
    def forward(ctx, a, reps):
        x = a._data
        ctx.shape, ctx.reps = a.shape, reps
        return array_module(x).tile(x, reps)

    @classmethod
    def vmap(cls, info, in_dims, a, reps):
        """The batch dim first (the sample padded to len(reps) dims), tiled once."""
        return cls.apply(_batching._pad_to(_batching.front(a, in_dims[0]), len(reps)), (1,) + tuple(reps)), 0

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        split = []
        for r, s in zip(ctx.reps, ctx.shape):
            split += [r, s]
        return g.reshape(tuple(split)).sum(tuple(range(0, 2 * len(ctx.reps), 2))), None


@tensor_method()
def repeat(input, *sizes):
    """Tile the tensor ``sizes`` times along each dim (len(sizes) >= ndim; leading dims are new)."""
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            f"tensor (repeat dims {list(sizes)}, tensor shape {list(input.shape)})"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: repeats {list(sizes)}")
    lead = len(sizes) - input.ndim
    x = input.reshape((1,) * lead + tuple(input.shape)) if lead else input
    return Tile.apply(x, sizes)


@tensor_method()
def tile(input, dims):
    """Like repeat, but ``dims`` shorter than ndim are padded with leading 1s."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def _index_along(input, dim, idx):
    """input indexed by the integer array ``idx`` along ``dim`` (differentiable, accumulating)."""
    from .indexing import Index

    key = (slice(None),) * dim + (idx,)
    return Index.apply(input, key, True)


@tensor_method()
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int or a tensor of counts) along ``dim``
    (flattened when dim is None). ``repeat_interleave(counts)`` gives the repeated indices."""
    xp = array_module(input._data)
    if repeats is None:  # repeat_interleave(repeats_tensor)
        counts = input._data
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave: repeats must be a 1-d integer tensor")
        idx = xp.repeat(xp.arange(counts.shape[0], dtype=np.int64), counts)
        if output_size is not None and output_size != idx.shape[0]:
            raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {idx.shape[0]} but got {output_size}")
        return Tensor._make(idx)
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    dim = _wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        input = input.reshape(1)
    n = input.shape[dim]
    r = repeats._data if isinstance(repeats, Tensor) else int(repeats)
    if isinstance(r, int) or getattr(r, "ndim", 1) == 0:
        r = int(r)
        if r < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
    elif r.shape[0] not in (1, n):
        raise RuntimeError(
            f"repeat_interleave: repeats must have the same size as input along dim, but got "
            f"repeats.size(0) = {r.shape[0]} and input.size({dim}) = {n}"
        )
    elif (r < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    idx = xp.repeat(xp.arange(n, dtype=np.int64), r)
    if output_size is not None and output_size != idx.shape[0]:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {idx.shape[0]} but got {output_size}")
    return _index_along(input, dim, idx)


class Flip(Function):
    """z = a reversed along dims (a copy, as torch);  da = g flipped back."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        x = a._data
        return array_module(x).flip(x, dims).copy() if dims else x.copy()

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input, dims):
    """Reverse the order of elements along ``dims`` (a tuple or list; ``Tensor.flip`` also takes
    the dims unpacked)."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"flip(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    n = input.ndim
    wrapped = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"dim {wrapped[0]} appears multiple times in the list of dims")
    return Flip.apply(input, wrapped if n else ())


def _flip_method(self, *dims, **kwargs):
    """Tensor.flip(*dims), Tensor.flip(dims) or Tensor.flip(dims=dims)."""
    if kwargs:
        if dims or set(kwargs) != {"dims"}:
            raise TypeError("flip() got multiple values for argument 'dims'" if dims else
                            f"flip() got an unexpected keyword argument '{next(k for k in kwargs if k != 'dims')}'")
        return flip(self, kwargs["dims"])
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    return flip(self, _shape_args(dims))


Tensor.flip = _flip_method


@tensor_method()
def fliplr(input):
    """Reversed along dim 1 (left/right)."""
    if input.ndim < 2:
        raise RuntimeError(f"Input must be >= 2-d (got a {input.ndim}-d tensor).")
    return flip(input, (1,))


@tensor_method()
def flipud(input):
    """Reversed along dim 0 (up/down)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d (got a 0-d tensor).")
    return flip(input, (0,))


@tensor_method()
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees k times in the plane ``dims``."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    d0, d1 = (_wrap_dim(d, input.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return flip(input, (d1,)).transpose(d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(input, (d0,)).transpose(d0, d1)
    return input.clone()


class Roll(Function):
    """z = a shifted cyclically;  da = g rolled back by -shifts."""

    @classmethod
    def vmap(cls, info, in_dims, a, shifts, dims):
        """Rolls of the samples' dims (one past the batch dim); of each flattened sample for dims=None."""
        x = _batching.front(a, in_dims[0])
        if dims is not None:
            return cls.apply(x, shifts, tuple(d + 1 for d in dims)), 0
        return cls.apply(x.reshape(x.shape[0], -1), (shifts,), (1,)).reshape(tuple(x.shape)), 0

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        x = a._data
        xp = array_module(x)
        if dims is None:
            return xp.roll(x.reshape(-1), shifts).reshape(x.shape)
        return xp.roll(x, shifts, dims)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if ctx.dims is not None else -ctx.shifts
        return Roll.apply(g, neg, ctx.dims), None, None


@tensor_method()
def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (of the flattened tensor when dims is None)."""
    if dims is None:
        if not isinstance(shifts, int):
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
            shifts = shifts[0]
        return Roll.apply(input, int(shifts), None)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    if input.numel() == 0:  # torch returns an empty input before it looks at dims
        return input.clone()
    dims = tuple(_wrap_dim(d, input.ndim) for d in dims)
    return Roll.apply(input, tuple(int(s) for s in shifts), dims)


@tensor_method()
def narrow(input, dim, start, length):
    """The slice [start, start+length) of dim ``dim`` (a view)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, input.ndim)
    start = int(start)
    size = input.shape[dim]
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    from .indexing import Slice

    return Slice.apply(input, (slice(None),) * dim + (slice(start, start + length),), False)


@takes_out(dtype=SAME, resize_warning=None)  # torch resizes narrow_copy's out silently
@tensor_method()
def narrow_copy(input, dim, start, length):
    """The slice [start, start+length) of dim ``dim``, as a new tensor (narrow's copy)."""
    return narrow(input, dim, start, length).clone()


__all__ += ["narrow_copy"]


@tensor_method()
def select(input, dim, index):
    """input[..., index, ...] at dim ``dim`` (a view with that dim removed)."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {dim}"
        )
    from .indexing import Select

    return Select.apply(input, (slice(None),) * dim + (index % size,), False)


def _atleast(n, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        if t.ndim >= n:
            out.append(t)
        elif n == 3 and t.ndim == 2:
            out.append(t.unsqueeze(-1))
        elif n == 3 and t.ndim == 1:
            out.append(t.reshape(1, -1, 1))
        else:
            out.append(t.reshape((1,) * (n - t.ndim) + tuple(t.shape)))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-dim becomes shape [1])."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (new dims in front)."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims (as NumPy: [n] -> [1, n, 1], [m, n] -> [m, n, 1])."""
    return _atleast(3, tensors)


@tensor_method()
def ravel(input):
    """The flattened tensor (a view when possible)."""
    return input.reshape(-1)


# ---------------------------------------------------------------------------- padding


class ConstantPad(Function):
    """z = a surrounded by ``value`` (negative pads crop);  da = g sliced back to a's region."""

    @classmethod
    def vmap(cls, info, in_dims, a, pads, value):
        """The batch dim first, not padded."""
        return cls.apply(_batching.front(a, in_dims[0]), ((0, 0),) + tuple(pads), value), 0

    @staticmethod
    def forward(ctx, a, pads, value):
        x = a._data
        xp = array_module(x)
        crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(pads, x.shape))
        x = x[crop]
        shape = tuple(s + max(lo, 0) + max(hi, 0) for (lo, hi), s in zip(pads, x.shape))
        out = xp.full(shape, value, dtype=x.dtype)
        region = tuple(slice(max(lo, 0), max(lo, 0) + s) for (lo, _), s in zip(pads, x.shape))
        out[region] = x
        ctx.pads = pads
        return out

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = ta padded with zeros (the pad value is a constant)."""
        a, pads, value = ctx._fw_args
        return ConstantPad.apply(ta, pads, 0.0)

    @staticmethod
    def backward(ctx, g):
        inverse = tuple((-lo, -hi) for lo, hi in ctx.pads)
        return ConstantPad.apply(g, inverse, 0), None, None


def _pad_source_index(n, lo, hi, mode, xp):
    """For padding a dim of size n by (lo, hi): the source position of each output position."""
    pos = xp.arange(-lo, n + hi, dtype=np.int64)
    if mode == "replicate":
        return xp.clip(pos, 0, n - 1)
    if mode == "circular":
        return pos % n
    period = 2 * (n - 1)  # reflect (the edge is not repeated)
    pos = xp.abs(pos) % period if period else pos * 0
    return xp.where(pos >= n, period - pos, pos)


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: ``pad`` lists (left, right) pairs from the last dim backwards.
    Modes: constant (value, default 0; negative pads crop), reflect, replicate, circular."""
    for i, p in enumerate(pad):
        if isinstance(p, float):  # int() would truncate it silently
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                            f"float at pos {i}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2 (got pad={list(pad)})")
    npairs = len(pad) // 2
    if npairs > input.ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pad)} and input of dimension {input.ndim}"
        )
    pairs = [(0, 0)] * input.ndim
    for i in range(npairs):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        for (lo, hi), s in zip(pairs, input.shape):
            if s + lo + hi < 0:
                raise RuntimeError(
                    f"The input size {s}, plus negative padding {lo} and {hi} resulted in a negative "
                    f"output size, which is invalid. Check dimension of your input."
                )
        return ConstantPad.apply(input, tuple(pairs), 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value not in (None, 0):
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if input.ndim not in (npairs + 1, npairs + 2) or npairs > 3:  # torch's kernels: 1-3 dims, batched or not
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode != "circular" and 0 in input.shape[input.ndim - npairs - 1:]:  # only the batch dim may be 0
        raise RuntimeError(
            f"Expected {npairs + 1}D or {npairs + 2}D (batch mode) tensor with possibly 0 batch size and other "
            f"non-zero dimensions for input, but got: {list(input.shape)} ({mode} padding takes its values "
            "from the input, which has none along a 0-size dimension)")
    if mode == "replicate" or (mode == "reflect" and npairs <= 2):  # torch's replication_pad1d-3d and
        input, = cast_args({"cpu": "fp32"}, (input,))  # reflection_pad1d-2d run in float32 under cpu autocast
    xp = array_module(input._data)
    out = input
    for d, (lo, hi) in enumerate(pairs):
        if lo == 0 and hi == 0:
            continue
        n = input.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension {d} of input {list(input.shape)}"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(
                f"Padding value causes wrapping around more than once (padding ({lo}, {hi}) at "
                f"dimension {d} of input {list(input.shape)})"
            )
        if lo < 0 or hi < 0:
            keep = slice(max(-lo, 0), n - max(-hi, 0))
            out = out[(slice(None),) * d + (keep,)]
            n = out.shape[d]
            lo, hi = max(lo, 0), max(hi, 0)
        out = _index_along(out, d, _pad_source_index(n, lo, hi, mode, xp))
    return out


__all__ += ["detach"]


def detach(input):
    """torch.detach: the same memory with no graph history."""
    return input.detach()


@tensor_method()
def unfold(input, dimension, size, step):
    """Sliding windows of ``size`` every ``step`` along ``dimension``, as a new last dim
    (a copy here, a view in torch);  d input = g added back to each window's positions."""
    d = _wrap_dim(dimension, max(input.ndim, 1))
    n = input.shape[d] if input.ndim else 1
    if size > n:
        raise RuntimeError(
            f"maximum size for tensor at dimension {d} is {n} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input.ndim == 0:
        return input.reshape(1)
    xp = array_module(input._data)
    count = (n - size) // step + 1
    idx = xp.arange(count, dtype=np.int64)[:, None] * step + xp.arange(size, dtype=np.int64)
    from .indexing import Index

    out = Index.apply(input, (slice(None),) * d + (idx,), True)
    return out.movedim(d + 1, -1)
