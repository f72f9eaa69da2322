"""Joining and splitting: cat/stack and their relatives, split/chunk/unbind/tensor_split.

``cat`` copies; its backward hands each input its slice of the gradient. The split
family returns views of the input (shared memory and version counter, replayable for
in-place writes); one node takes all pieces' gradients and concatenates them, so
splitting into n pieces costs O(n) in backward, not n full-size scatters.
"""

import numpy as np

from . import _batching
from .. import _dtype
from .._warn_once import warn_once
from .._backend import array_module
from ..autograd.function import Function, _link_view
from ..autograd.forward_ad import linear_jvp
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor, _wrap_dim
from ._method import tensor_method
from .indexing import Index
from .shape import atleast_1d, atleast_2d, atleast_3d
from ._out import CAST, takes_out

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "split", "chunk", "unbind", "tensor_split", "hsplit", "vsplit", "dsplit",
           "meshgrid"]


def _tensor_list(tensors, name):
    if isinstance(tensors, Tensor):
        raise TypeError(
            f"{name}(): argument 'tensors' must be tuple of Tensors, not Tensor"
        )
    tensors = list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{name}(): expected a sequence of Tensors, but an element is {type(t).__name__}"
            )
    return tensors


class Cat(Function):
    """z = [a_1, ..., a_n] joined along dim;  da_i = g's slice for a_i."""
    vmap = classmethod(_batching.join)  # batching rule (retrograd.func.vmap)
    _autocast = {"cpu": "promote"}

    @staticmethod
    def forward(ctx, dim, *tensors):
        arrays = [t._data for t in tensors]
        x0 = arrays[0]
        dt, nd = x0.dtype, x0.ndim
        for x in arrays:  # (loops, not generators: cat runs per step in hand-written RNN cells)
            if x.dtype != dt or x.ndim != nd:
                break
        else:  # the common case: one dtype and rank, so no 1-D empty tensor to skip
            ctx.dim, ctx.skip = dim, None
            ctx.sizes = [x.shape[dim] for x in arrays]
            return array_module(x0).concatenate(arrays, dim)
        mixed = False
        for x in arrays:
            mixed = mixed or x.dtype != dt
            nd = max(nd, x.ndim)
        if mixed:
            for t in tensors[1:]:
                dt = _dtype.promote_types(_dtype.from_numpy_dtype(dt), t.dtype).np
            arrays = [x if x.dtype == dt else x.astype(dt) for x in arrays]
        ctx.dim = dim
        ctx.sizes, ctx.skip, keep = [], [], []
        for x in arrays:
            skip = x.ndim == 1 and x.shape[0] == 0 and nd != 1
            ctx.sizes.append(x.shape[dim] if x.ndim == nd else 0)
            ctx.skip.append(skip)
            if not skip:
                keep.append(x)
        xp = array_module(arrays[0])
        if not keep:
            return xp.concatenate(arrays, 0)
        return xp.concatenate(keep, dim)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        grads, start = [None], 0
        for i, (size, skip) in enumerate(zip(ctx.sizes, ctx.skip or [False] * len(ctx.sizes))):
            if skip:
                grads.append(g.new_zeros(0) if ctx.needs_input_grad[i + 1] else None)
                continue
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
            elif _grad_state.enabled:
                grads.append(g.narrow(ctx.dim, start, size))
            else:  # plain backward: the slice of the array, without a view op per input
                grads.append(Tensor._make(g._data[(slice(None),) * ctx.dim + (slice(start, start + size),)]))
            start += size
        return tuple(grads)


@takes_out(dtype=CAST, cast_error=TypeError)
@tensor_method()
def cat(tensors, dim=0):
    """Join tensors along an existing dim (1-D empty tensors are skipped, as torch does)."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    ref = tensors[0]
    for t in tensors:  # the first that is not a 1-D empty tensor
        if not (t._data.ndim == 1 and t._data.shape[0] == 0):
            ref = t
            break
    for i, t in enumerate(tensors):  # before dim, as torch
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    all_skipped = ref._data.ndim == 1 and ref._data.shape[0] == 0  # torch checks dim against no tensor then
    d = 0 if all_skipped and isinstance(dim, int) else _wrap_dim(dim, ref.ndim)
    rs = ref._data.shape
    for i, t in enumerate(tensors):
        ts = t._data.shape
        if len(ts) == len(rs) and ts[:d] == rs[:d] and ts[d + 1:] == rs[d + 1:]:
            continue  # the common case, checked on the arrays' shapes (no Size objects)
        if t.ndim == 1 and t.shape[0] == 0 and ref.ndim != 1:
            continue
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        if t.ndim != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim} "
                f"(tensor {i} has shape {list(t.shape)})"
            )
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[k]} but got size {t.shape[k]} for tensor number {i} in the list."
                )
    return Cat.apply(d, *tensors)


concat = concatenate = cat


@takes_out(dtype=CAST, cast_error=TypeError)
@tensor_method()
def stack(tensors, dim=0):
    """Join tensors of one shape along a new dim."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    d = _wrap_dim(dim, len(shape) + 1)  # before the sizes, as torch
    for i, t in enumerate(tensors):
        if t._data.shape != shape:  # (the arrays' shape tuples: no Size objects)
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(t.shape)} at entry {i}"
            )
    return Stack.apply(d, *tensors)


class Stack(Function):
    """z = [a_1, ..., a_n] stacked along a new dim;  da_i = g.select(dim, i)."""
    vmap = classmethod(_batching.join)  # batching rule (retrograd.func.vmap)
    _autocast = {"cpu": "promote"}

    @staticmethod
    def forward(ctx, dim, *tensors):
        arrays = [t._data for t in tensors]
        dt = arrays[0].dtype
        for x in arrays:  # (a loop: stack runs per step in hand-written RNNs)
            if x.dtype != dt:
                for t in tensors[1:]:
                    dt = _dtype.promote_types(_dtype.from_numpy_dtype(dt), t.dtype).np
                arrays = [x if x.dtype == dt else x.astype(dt) for x in arrays]
                break
        ctx.dim = dim
        shape = arrays[0].shape
        if dim == len(shape):
            return array_module(arrays[0]).stack(arrays, dim)
        # joined along the existing dim, then that dim split in two (a view of the fresh
        # contiguous result): the same copy as np.stack without its per-array Python work
        # (16 arrays (32, 64) along dim 1: 12.4 -> 8.1 us)
        joined = array_module(arrays[0]).concatenate(arrays, dim)
        return joined.reshape(shape[:dim] + (len(arrays),) + shape[dim:])

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad[1:]
        if not _grad_state.enabled:  # plain backward: views of the array, without an op per input
            ga, lead = g._data, (slice(None),) * ctx.dim
            return (None,) + tuple(Tensor._make(ga[lead + (i,)]) if nd else None for i, nd in enumerate(need))
        if all(need):
            return (None,) + tuple(g.unbind(ctx.dim))
        return (None,) + tuple(g.select(ctx.dim, i) if nd else None for i, nd in enumerate(need))


@takes_out(dtype=CAST, cast_error=TypeError)
def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = atleast_1d(*_tensor_list(tensors, "hstack"))
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@takes_out(dtype=CAST, cast_error=TypeError)
def vstack(tensors):
    """Join along dim 0 after making each tensor at least 2-D."""
    return cat(atleast_2d(*_tensor_list(tensors, "vstack")), 0)


row_stack = vstack


@takes_out(dtype=CAST, cast_error=TypeError)
def dstack(tensors):
    """Join along dim 2 after making each tensor at least 3-D."""
    return cat(atleast_3d(*_tensor_list(tensors, "dstack")), 2)


@takes_out(dtype=CAST, cast_error=TypeError)
def column_stack(tensors):
    """Join along dim 1; 0-D and 1-D tensors become columns."""
    tensors = _tensor_list(tensors, "column_stack")
    cols = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)


# ---------------------------------------------------------------------------- splitting


class Split(Function):
    """(z_1, ..., z_n) = pieces [b_i, e_i) of a along dim (views);  da = cat(g_1, ..., g_n)."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, dim, bounds):
        x = a._data
        ctx.dim, ctx.shape = dim, a.shape
        lead = (slice(None),) * dim
        return tuple(x[lead + (slice(b, e),)] for b, e in bounds)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, *grads):
        if len(grads) == 1:
            return grads[0], None, None
        return cat(grads, ctx.dim), None, None


def _split_at(input, dim, bounds):
    """Views of ``input`` for the ranges ``bounds`` along ``dim``, sharing its memory and version."""
    bounds = [(b, max(b, e)) for b, e in bounds]
    n = input.shape[dim]
    tiles = all(b == e0 for (_, e0), (b, _) in zip(bounds, bounds[1:]))
    if not (tiles and bounds and bounds[0][0] == 0 and bounds[-1][1] == n):
        # overlapping pieces (tensor_split with unsorted indices): one slice view each
        lead = (slice(None),) * dim
        return tuple(Index.apply(input, lead + (slice(b, e),), False) for b, e in bounds)
    outs = Split.apply(input, dim, tuple(bounds))
    lead = (slice(None),) * dim
    enabled = _grad_state.enabled
    for o, (b, e) in zip(outs, bounds):
        # each piece replays as the basic slice it is, for in-place writes through it
        _link_view(input, o, Index, (input, lead + (slice(b, e),), False), {}, enabled)
    return outs


def _bounds(sizes):
    out, start = [], 0
    for s in sizes:
        out.append((start, start + s))
        start += s
    return out


@tensor_method()
def split(tensor, split_size_or_sections=None, dim=0, *, split_size=None):
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the listed sizes."""
    if split_size_or_sections is None:
        split_size_or_sections = split_size  # Tensor.split's argument name
    if split_size_or_sections is None:
        raise TypeError("split() missing required argument 'split_size_or_sections'")
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = _wrap_dim(dim, tensor.ndim)
    n = tensor.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)) or (
            isinstance(split_size_or_sections, Tensor) and split_size_or_sections.ndim == 0):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
        if not sizes:
            sizes = [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                f"dimension {dim}), but got split_sizes={sizes}"
            )
    return _split_at(tensor, dim, _bounds(sizes))


@tensor_method()
def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of ceil(n / chunks) (possibly fewer pieces)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    dim = _wrap_dim(dim, input.ndim)
    n = input.shape[dim]
    size = -(-n // chunks)
    if n == 0:
        return _split_at(input, dim, [(0, 0)] * chunks)
    return split(input, size, dim)


@tensor_method()
def split_with_sizes(input, split_sizes, dim=0):
    """Pieces of the listed sizes along ``dim`` (they must sum to its size): split with a list."""
    if isinstance(split_sizes, (int, np.integer)) or isinstance(split_sizes, Tensor):
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' must be a sequence of ints, not "
                        f"{type(split_sizes).__name__} (torch.split takes one size)")
    return split(input, list(split_sizes), dim)


@tensor_method()
def unsafe_split(input, split_size, dim=0):
    """split, whose pieces torch does not track as views (the caller promises not to write them in
    place); retrograd's pieces permit in-place writes either way."""
    return split(input, split_size, dim)


@tensor_method()
def unsafe_split_with_sizes(input, split_sizes, dim=0):
    """split_with_sizes without view tracking (see unsafe_split)."""
    return split_with_sizes(input, split_sizes, dim)


@tensor_method()
def unsafe_chunk(input, chunks, dim=0):
    """chunk without view tracking (see unsafe_split)."""
    return chunk(input, chunks, dim)


__all__ += ["split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk"]


@tensor_method()
def unbind(input, dim=0):
    """The slices along ``dim``, each without that dim."""
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = _wrap_dim(dim, input.ndim)
    n = input.shape[dim]
    if n == 0:
        return ()
    pieces = _split_at(input, dim, [(i, i + 1) for i in range(n)])
    return tuple(p.squeeze(dim) for p in pieces)


@tensor_method()
def tensor_split(input, indices_or_sections, dim=0):
    """Split like NumPy's array_split: n near-equal sections, or at the given indices."""
    if input.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    dim = _wrap_dim(dim, input.ndim)
    n = input.shape[dim]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios.dtype.is_floating_point or ios.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have a long dtype and be 0-D or 1-D"
            )
        ios = ios.item() if ios.ndim == 0 else ios.tolist()
    if isinstance(ios, (int, np.integer)):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return _split_at(input, dim, _bounds(sizes))
    bounds, prev = [], 0
    for i in list(ios) + [n]:
        i = int(i)
        i = min(max(i + n if i < 0 else i, 0), n)
        bounds.append((prev, i))
        prev = i
    return _split_at(input, dim, bounds)


def _nsplit(input, ios, dim, name, min_dim):
    if input.ndim < min_dim:
        raise RuntimeError(
            f"torch.{name} requires a tensor with at least {min_dim} dimension, but got a tensor "
            f"with {input.ndim} dimensions!"
        )
    if isinstance(ios, int) and input.shape[dim] % ios:
        raise RuntimeError(
            f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
            f"{input.shape[dim]} is not divisible by the split_size {ios}!"
        )
    return tensor_split(input, ios, dim)


@tensor_method()
def hsplit(input, indices_or_sections):
    """tensor_split along dim 1 (dim 0 for 1-D); equal sections must divide the size."""
    return _nsplit(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit", 1)


@tensor_method()
def vsplit(input, indices_or_sections):
    """tensor_split along dim 0 of an at least 2-D tensor."""
    return _nsplit(input, indices_or_sections, 0, "vsplit", 2)


@tensor_method()
def dsplit(input, indices_or_sections):
    """tensor_split along dim 2 of an at least 3-D tensor."""
    return _nsplit(input, indices_or_sections, 2, "dsplit", 3)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors (``indexing`` 'ij', the default, or 'xy'); views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        return ()
    if indexing is None:
        warn_once("meshgrid indexing", "torch.meshgrid: in an upcoming release, it will be required to pass the "
                  "indexing argument.")
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}"
        )
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {list(t.shape)}"
            )
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    n = len(flat)
    grids = [t.reshape(tuple(-1 if k == i else 1 for k in range(n))).expand(shape)
             for i, t in enumerate(flat)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)
