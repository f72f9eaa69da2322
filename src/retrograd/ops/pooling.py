"""Pooling: max (with indices), average, adaptive, Lp and max-unpooling, for 1-3 spatial dims.

Max pooling finds each window's argmax with a loop over the kernel offsets only (each
step one vectorised comparison over all windows), as flat indices into the input plane.
Its gradient scatters g to those indices; scatter and gather are each other's gradient,
so max pooling is twice differentiable.

Average pooling (plain and adaptive) is separable: it is a product of one (out, in)
averaging matrix per spatial dim, Y = X x_1 A_1 x_2 A_2 ..., so the forward is a few
BLAS matmuls and the backward the same with the transposed matrices.
"""

import math

import numpy as np

from . import _batching
from ..amp.autocast_mode import autocast_op
from .. import _backend
from .._device_checks import check
from .._float_warnings import silent
from ._select import _BITS
from ..autograd.function import Function
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.forward_ad import linear_jvp
from ..tensor import Tensor

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d", "max_pool1d_with_indices"]
FUNCTIONAL = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
              "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
              "adaptive_max_pool2d", "adaptive_max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
              "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
              "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "max_pool3d_with_indices",
              "adaptive_max_pool3d_with_indices"]


def _xp(arr):
    return _backend.array_module(arr)


# ---------------------------------------------------------------------------- scatter / gather by flat index


def _scatter_flat(g, idx, shape, unique):
    """zeros(shape) with g added at the flat spatial indices idx (per batch and channel)."""
    xp = _xp(g)
    nc = int(np.prod(shape[:2]))
    size = int(np.prod(shape[2:]))
    per = int(np.prod(g.shape[2:]))
    g2 = g.reshape(nc, per)
    i2 = idx.reshape(nc, per)
    if unique:
        out = xp.zeros((nc, size), dtype=g.dtype)
        xp.put_along_axis(out, i2, g2, axis=1)
    elif xp is np:
        flat = (i2 + (np.arange(nc) * size)[:, None]).ravel()
        out = np.bincount(flat, weights=g2.ravel(), minlength=nc * size).astype(g.dtype, copy=False)
    else:
        import cupyx

        from .._flags import alert_not_deterministic

        alert_not_deterministic("max-pool backward on CUDA (CuPy's atomic scatter-add)")
        out = xp.zeros((nc, size), dtype=g.dtype)
        _backend.call_into(cupyx.scatter_add, out, (xp.arange(nc)[:, None], i2), g2)
    return out.reshape(shape)


def _gather_flat(x, idx):
    n, c = x.shape[:2]
    out = _xp(x).take_along_axis(x.reshape(n * c, int(np.prod(x.shape[2:]))),
                                 idx.reshape(n * c, int(np.prod(idx.shape[2:]))), axis=1)
    return out.reshape(idx.shape)


class GatherFlat(Function):
    """z = x at flat spatial indices idx;  dx = g scattered (added) back to idx."""
    vmap = classmethod(_batching.fold_all)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, x, idx, unique):
        ctx.x_shape, ctx.unique = x.shape, unique
        ctx.save_for_backward(idx)
        return _gather_flat(x._data, idx._data)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return ScatterFlat.apply(g, idx, ctx.x_shape, ctx.unique), None, None


class ScatterFlat(Function):
    """z = zeros(shape) with g added at flat spatial indices idx;  dg = gz at idx."""

    @staticmethod
    def forward(ctx, g, idx, shape, unique):
        ctx.unique = unique
        ctx.save_for_backward(idx)
        return _scatter_flat(g._data, idx._data, tuple(shape), unique)

    @classmethod
    def vmap(cls, info, in_dims, g, idx, shape, unique):
        """The batch folded into N of g, idx and the shape (indices are per row and channel)."""
        out, _ = _batching.fold_all(cls, info, in_dims, g, idx, (info.batch_size * shape[0],) + tuple(shape[1:]), unique)
        return out, 0

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, gz):
        (idx,) = ctx.saved_tensors
        return GatherFlat.apply(gz, idx, ctx.unique), None, None, None


class MaxPool(Function):
    """z = max over each window (values already found with the flat indices idx);
    dx = g scattered to idx."""

    _unlisted_inputs = (1, 2)  # the values and their indices
    # under vmap the values and indices come as tensors of the batch (_window_arrays)
    vmap = classmethod(_batching.fold_all)  # batching rule (retrograd.func.vmap)

    def name(self):  # torch's names by the pooled dims (it pools 1-d as 2-d)
        return "MaxPool3DWithIndicesBackward0" if len(self.x_shape) == 5 else "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, values, idx, unique):
        ctx.x_shape, ctx.unique = x.shape, unique
        ctx.save_for_backward(idx)
        return values._data if isinstance(values, Tensor) else values

    @staticmethod
    def jvp(ctx, tx, *_):
        """dz = dx at each window's maximum (the flat indices idx)."""
        x, values, idx, unique = ctx._fw_args
        return GatherFlat.apply(tx, idx, unique)

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return ScatterFlat.apply(g, idx, ctx.x_shape, ctx.unique), None, None, None


def _blocks(a, k):
    """(N, C, n1, n2, ..) as the view (N, C, n1/k1, k1, n2/k2, k2, ..) of its k-blocks."""
    return a.reshape(a.shape[:2] + sum(((n // ki, ki) for n, ki in zip(a.shape[2:], k)), ()))


def _offset(off):
    """Index of kernel offset ``off`` in every block of a ``_blocks`` view."""
    return (slice(None), slice(None)) + sum(((slice(None), i) for i in off), ())


def _first_hits(xb, offsets, test):
    """For each offset in turn, where ``test`` holds there and at no offset before it."""
    taken = None
    for off in offsets:
        hit = test(xb[_offset(off)])
        if taken is None:
            taken = hit.copy()
        else:
            _xp(hit).greater(hit, taken, out=hit)  # hit and not taken
            taken |= hit
        yield off, hit, taken


def _first_max_hits(x, out, k):
    """For each kernel offset: (its index in the block view, where it holds its block's max).
    As torch: the first maximum of a block, or its last NaN when it has one."""
    xb = _blocks(x, k)
    offsets = list(np.ndindex(*k))
    xp = _xp(out)  # on a device the NaN-aware way always (the same hits without NaN; no round trip to ask)
    if out.dtype.kind == "f" and (xp is not np or bool(xp.isnan(out).any())):
        nan_hits = {off: hit for off, hit, _ in _first_hits(xb, offsets[::-1], lambda v: v != v)}
        for off, hit, _ in _first_hits(xb, offsets, lambda v: v == out):  # never true in NaN blocks
            yield _offset(off), hit | nan_hits[off]
        return
    # without NaN every block holds its max, so the last offset holds the first one exactly where
    # no offset before it did: no comparison needed there
    taken = None
    for off, hit, seen in _first_hits(xb, offsets[:-1], lambda v: v == out):
        taken = seen  # where an earlier offset holds the max (grows in place)
        yield _offset(off), hit
    yield _offset(offsets[-1]), (~taken if taken is not None else _xp(out).ones(out.shape, dtype=bool))


class MaxPoolBlocks(Function):
    """Max pooling over non-overlapping blocks (stride = kernel, no padding or dilation, sizes
    divisible by the kernel): z = max of each block;  dx = g at each block's first maximum."""
    vmap = classmethod(_batching.fold_batch)  # batching rule (retrograd.func.vmap)

    name = MaxPool.name

    @staticmethod
    def forward(ctx, x, k):
        ctx.k, ctx.x_shape = k, x.shape
        where = None
        if _quads_apply(x._data, k):
            best, where = _quad_max(x._data, ctx.needs_input_grad[0])
        else:
            best = _block_max(x._data, k)
        out = Tensor._make(best)
        # 2x2 blocks keep where each block's maximum lies (as torch keeps indices); others find it from the values
        ctx.quads = where is not None
        ctx.save_for_backward(x, *((out,) if where is None else (Tensor._make(a) for a in where)))
        return out

    @staticmethod
    def jvp(ctx, tx, _k):
        """dz = dx at each block's first maximum."""
        x, k = ctx._fw_args
        if _quads_apply(x._data, k):
            return MaxQuadGather.apply(tx, *(Tensor._make(a) for a in _quad_max(x._data, True)[1]))
        return MaxPoolBlocksGather.apply(tx, x, ctx._fw_results[0], k)

    @staticmethod
    def backward(ctx, g):
        x, *at = ctx.saved_tensors
        if ctx.quads:
            if not _grad_state.enabled:  # plain backward: the scatter on arrays, without recording it
                return Tensor._make(_quad_scatter(g._data, *(a._data for a in at))), None
            return MaxQuadScatter.apply(g, *at), None
        return MaxPoolBlocksScatter.apply(g, x, *at, ctx.k), None


def _block_max(x, k):
    """The maximum of each k-block of x (NaN propagates, as in torch; of equal values -0 and +0
    it may keep another than torch's first in row-major order, see _quad_max for 2x2 blocks)."""
    xp = _xp(x)
    best = _blocks(x, k)
    # one block dim at a time, the first first: for 2-d its rows are whole input rows, so
    # that maximum runs along contiguous memory and halves the data for the strided ones after it
    for i, ki in enumerate(k):
        axis = 3 + i  # dim i's block axis, once those before it are reduced away
        parts = [best[(slice(None),) * axis + (j,)] for j in range(ki)]
        best = parts[0] if ki == 1 else xp.maximum(parts[0], parts[1])
        for part in parts[2:]:
            xp.maximum(best, part, out=best)
    if all(ki == 1 for ki in k):  # no maximum taken: best is a view of x
        best = best.copy()
    return best


# ---------------------------------------------------------------------------- 2x2 blocks
# MaxPool2d(2) of an (N, C, H, W) float array: each row's pair of a block is reduced first (one
# long stride-2 loop over the whole input), then the block's two rows. The forward keeps where
# each block's first maximum lies, `where` = two bool arrays:
#   right (N, C, H, w): the right element of a row's pair holds the pair's first maximum,
#   lower (N, C, h, w): the block's lower row holds its first maximum (right says where in it);
# so the first maximum in row-major order, as torch's, or the block's last NaN when it has one
# (torch's scan takes every NaN it meets). The backward places g's bits (_select's reasoning:
# g's exact bits at the maximum, +0 elsewhere, as torch's zeros; kept or zeroed by an integer
# product with the 0/1 flags, see _kept) from `where`, without
# reading x again: a few whole-array passes instead of a strided compare and a strided multiply
# per kernel offset. cnn step, min / median of 40 interleaved rounds under chrt -f on the loaded
# machine: one BLAS thread 10.87 / 11.71 -> 10.75 / 11.50 and 11.61 / 12.06 -> 11.26 / 11.78 ms CPU,
# two 11.30 / 11.74 -> 11.03 / 11.39 and 11.70 / 12.20 -> 11.19 / 11.82 ms wall. (The two arrays
# kept in one buffer, each sample's right then its lower, measured 0.3 ms slower than apart.)


def _quads_apply(x, k):
    return k == (2, 2) and type(x) is np.ndarray and x.ndim == 4 and x.size > 0 and x.dtype.kind == "f" \
        and x.dtype.itemsize in _BITS


def _quad_max(x, keep_where):
    """(the maximum of each 2x2 block of x, its `where` (right, lower) or None unless keep_where)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    # (N, C, H, w); NaN propagates; NumPy's maximum returns its second operand of equal values
    # (-0, +0), so the first of the pair, then of the two rows: torch's first in row-major order
    pair = np.maximum(x1, x0)
    p0, p1 = pair[:, :, 0::2], pair[:, :, 1::2]
    best = np.maximum(p1, p0)
    if not keep_where:
        return best, None
    right = np.greater(x1, x0)  # of equal values the first
    if np.isnan(best).any():  # a NaN wins over anything before it
        right |= x1 != x1
        lower = np.greater(p1, p0)
        lower |= p1 != p1
    else:  # best is p1 exactly where p1 > p0: one strided operand, not two (cnn's 150 -> 95 us)
        lower = np.not_equal(best, p0)
    return best, (right, lower)


def _kept(words, flags, out=None):
    """words (unsigned) where flags is True, 0 where False: an integer product with the flags'
    0/1 bytes, exact, one pass (a bitwise and needs the flags spread to all-ones words first:
    cnn's first pooling backward 1097 -> 889 us)."""
    return np.multiply(words, flags.view(np.uint8), out=out)


def _quad_scatter(g, right, lower):
    """dx (N, C, 2h, 2w): g's (N, C, h, w) bits at each block's first maximum, +0 elsewhere."""
    n, c, h, w = g.shape
    u = _BITS[g.dtype.itemsize]
    gu = g.view(u)
    rows = np.empty((n, c, h, 2, w), dtype=u)  # g in the block's row that holds the maximum, 0 in the other
    _kept(gu, lower, out=rows[:, :, :, 1])
    np.bitwise_xor(gu, rows[:, :, :, 1], out=rows[:, :, :, 0])
    rows = rows.reshape(n, c, 2 * h, w)
    dx = np.empty((n, c, 2 * h, 2 * w), dtype=g.dtype)
    du = dx.view(u)
    _kept(rows, right, out=du[..., 1::2])
    np.bitwise_xor(rows, du[..., 1::2], out=du[..., 0::2])
    return dx


def _quad_gather(y, right, lower):
    """z (N, C, h, w): y's element (its bits) at each block's first maximum."""
    u = _BITS[y.dtype.itemsize]
    yu = y.view(u)
    y0 = yu[..., 0::2]
    pair = np.bitwise_xor(y0, yu[..., 1::2])
    _kept(pair, right, out=pair)
    pair ^= y0  # each row's pair: its element at the maximum
    p0 = pair[:, :, 0::2]
    z = np.bitwise_xor(p0, pair[:, :, 1::2])
    _kept(z, lower, out=z)
    z ^= p0
    return z.view(y.dtype)


class MaxQuadScatter(Function):
    """dx = g placed at each 2x2 block's first maximum (`where`: right, lower), 0 elsewhere;
    dg = gather of the incoming gradient there."""
    vmap = classmethod(_batching.fold_all)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, g, right, lower):
        ctx.save_for_backward(right, lower)
        return _quad_scatter(g._data, right._data, lower._data)

    @staticmethod
    def jvp(ctx, tg, *_where):
        """Linear in g (where only says where each block's maximum is): the same scatter of tg."""
        return MaxQuadScatter.apply(tg, *ctx._fw_args[1:])

    @staticmethod
    def backward(ctx, gz):
        return MaxQuadGather.apply(gz, *ctx.saved_tensors), None, None


class MaxQuadGather(Function):
    """z = y at each 2x2 block's first maximum (`where`: right, lower);  dy = g placed back there."""
    vmap = classmethod(_batching.fold_all)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, y, right, lower):
        ctx.save_for_backward(right, lower)
        return _quad_gather(y._data, right._data, lower._data)

    @staticmethod
    def jvp(ctx, ty, *_where):
        """Linear in y (where only says where each block's maximum is): the same gather of ty."""
        return MaxQuadGather.apply(ty, *ctx._fw_args[1:])

    @staticmethod
    def backward(ctx, g):
        return MaxQuadScatter.apply(g, *ctx.saved_tensors), None, None


class MaxPoolBlocksScatter(Function):
    """dx = g placed at each block's first maximum of x, 0 elsewhere;  dg = gather of the
    incoming gradient at those places."""
    vmap = classmethod(_batching.fold_all)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, g, x, out, k):
        ctx.k = k
        ctx.save_for_backward(x, out)
        # the blocks tile x, so the loop below writes every element of dx
        dx = _xp(x._data).empty(x._data.shape, dtype=g._data.dtype)
        db = _blocks(dx, k)
        for at, hit in _first_max_hits(x._data, out._data, k):
            _xp(dx).multiply(g._data, hit, out=db[at])
        return dx

    @staticmethod
    def jvp(ctx, tg, *_):
        """Linear in g (x only says where each block's maximum is): the same scatter of tg."""
        return MaxPoolBlocksScatter.apply(tg, *ctx._fw_args[1:])

    @staticmethod
    def backward(ctx, gz):
        x, out = ctx.saved_tensors
        return MaxPoolBlocksGather.apply(gz, x, out, ctx.k), None, None, None


class MaxPoolBlocksGather(Function):
    """z = y at each block's first maximum of x;  dy = g placed back there."""
    vmap = classmethod(_batching.fold_all)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, y, x, out, k):
        ctx.k = k
        ctx.save_for_backward(x, out)
        yb = _blocks(y._data, k)
        z = _xp(y._data).zeros(out._data.shape, dtype=y._data.dtype)
        for at, hit in _first_max_hits(x._data, out._data, k):
            z += yb[at] * hit
        return z

    @staticmethod
    def jvp(ctx, ty, *_):
        """Linear in y (x only says where each block's maximum is): the same gather of ty."""
        return MaxPoolBlocksGather.apply(ty, *ctx._fw_args[1:])

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return MaxPoolBlocksScatter.apply(g, x, out, ctx.k), None, None, None


# ---------------------------------------------------------------------------- separable linear pooling


def _apply_mats(x, mats):
    """x contracted along each spatial dim i with mats[i] (out_i, in_i)."""
    xp = _xp(x)
    nd = len(mats)
    with silent():  # (inf * 0 is nan silently, as in torch)
        for i in range(nd - 1, -1, -1):
            axis = 2 + i
            # tensordot puts the new axis last; move it back to its place
            x = xp.moveaxis(xp.tensordot(x, mats[i], axes=([axis], [1])), -1, axis)
    return xp.ascontiguousarray(x)


class SeparablePool(Function):
    """z = x x_1 A_1 ... x_d A_d (average pooling);  dx = g x_1 A_1^T ... x_d A_d^T."""
    vmap = classmethod(_batching.fold_batch)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, x, mats, name=None):
        ctx.mats = mats
        if name is not None:  # the node's name in torch (interpolate's modes: UpsampleBilinear2DBackward0 ...)
            ctx._backward_name = name
        return _apply_mats(x._data, [_backend.cast(m, x._data.dtype) for m in mats])

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return SeparablePool.apply(g, [m.T for m in ctx.mats]), None, None


class BlockPool(Function):
    """z = scale * sum over non-overlapping k-blocks of x (avg pooling with stride = kernel, no padding);
    dx = scale * g repeated over each block."""
    vmap = classmethod(_batching.fold_batch)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, x, k, scale):
        ctx.k, ctx.scale = k, scale
        xd = x._data
        z = None
        for off in np.ndindex(*k):  # one strided slice per kernel offset: faster than a reshaped sum
            v = xd[(slice(None), slice(None)) + tuple(slice(oi, None, ki) for oi, ki in zip(off, k))]
            if z is None:
                z = v.copy()
            else:
                z += v
        z *= z.dtype.type(scale)
        return z

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return BlockRepeat.apply(g, ctx.k, ctx.scale), None, None


class BlockRepeat(Function):
    """z = scale * g repeated over k-blocks (the adjoint of BlockPool);  dg = scale * block sums of gz."""
    vmap = classmethod(_batching.fold_batch)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, g, k, scale):
        ctx.k, ctx.scale = k, scale
        xp = _xp(g._data)
        n, c = g.shape[:2]
        spread = (n, c) + tuple(v for o, ki in zip(g.shape[2:], k) for v in (o, ki))
        expanded = tuple(v for o in g.shape[2:] for v in (o, 1))
        z = xp.empty(spread, dtype=g._data.dtype)
        z[...] = g._data.reshape((n, c) + expanded) * g._data.dtype.type(scale)
        return z.reshape((n, c) + tuple(o * ki for o, ki in zip(g.shape[2:], k)))

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, gz):
        return BlockPool.apply(gz, ctx.k, ctx.scale), None, None


# ---------------------------------------------------------------------------- argument handling


def _tuple(v, n, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1 and n > 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f"{name} must either be a single int, or a tuple of {n} ints, got {list(v)}")
    return v


def _batched(input, nd, name):
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    if input.ndim != nd + 2:
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got input of size: {list(input.shape)}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype}")
    return input, False


def _out_size(size, k, s, p, d, ceil_mode):
    eff = d * (k - 1) + 1
    num = size + 2 * p - eff
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= size + p:  # the last window must start inside the input
        o -= 1
    return o


def _pool_args(name, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    k = _tuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _tuple(stride, nd, "stride")
    p = _tuple(padding, nd, "padding")
    d = _tuple(dilation, nd, "dilation")
    for ki, pi, di in zip(k, p, d):
        if pi * 2 > di * (ki - 1) + 1:
            raise RuntimeError(f"{name}: pad should be at most half of effective kernel size, but got "
                               f"pad={pi}, kernel_size={ki} and dilation={di}")
    if any(v <= 0 for v in k + s + d):
        raise RuntimeError(f"{name}: kernel_size, stride and dilation must be greater than zero, but got "
                           f"kernel_size={list(k)}, stride={list(s)}, dilation={list(d)}")
    out = tuple(_out_size(n, ki, si, pi, di, ceil_mode) for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"{name}: Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated output "
                           f"size: ({'x'.join(map(str, (x.shape[1],) + out))}). Output size is too small")
    return k, s, p, d, out


# ---------------------------------------------------------------------------- max pooling


def _max_pool_arrays(x, k, s, p, d, out):
    """(max values, flat input indices) of each window, looping over kernel offsets only."""
    xp = _xp(x)
    nd = len(k)
    spatial = x.shape[2:]
    need = tuple((o - 1) * si + di * (ki - 1) + 1 for o, si, di, ki in zip(out, s, d, k))
    hi = tuple(max(0, nn - n - pi) for nn, n, pi in zip(need, spatial, p))
    if any(p) or any(hi):
        padded = xp.full(x.shape[:2] + tuple(n + pi + h for n, pi, h in zip(spatial, p, hi)), -np.inf,
                         dtype=x.dtype)
        padded[(slice(None), slice(None)) + tuple(slice(pi, pi + n) for pi, n in zip(p, spatial))] = x
    else:
        padded = x
    def window(off):  # the input element at kernel offset `off` of every window
        return padded[(slice(None), slice(None)) + tuple(
            slice(di * oi, di * oi + si * (o - 1) + 1, si) for di, oi, si, o in zip(d, off, s, out))]

    offsets = list(np.ndindex(*k))
    best = window(offsets[0]).copy()
    for off in offsets[1:]:
        xp.maximum(best, window(off), out=best)  # NaN propagates, as in torch
    # flat input index = base(window) + shift(offset), both linear in the coordinates
    strides = [int(np.prod(spatial[j + 1:])) for j in range(nd)]
    base = 0
    for j in range(nd):
        pos = (np.arange(out[j]) * s[j] - p[j]) * strides[j]
        base = base + xp.asarray(pos.reshape((out[j],) + (1,) * (nd - 1 - j)))
    shifts = np.array([sum(di * oi * st for di, oi, st in zip(d, off, strides)) for off in offsets], dtype=np.int64)
    # the NaN-aware hits where there are NaNs; on a device always (the same without NaN; no round trip to ask)
    nan = best.dtype.kind == "f" and (xp is not np or bool(xp.isnan(best).any()))
    K = len(offsets)
    if K <= 16:
        # bit i of `code` says offset i holds the max; its lowest set bit is the first such offset
        # (in a window with a NaN the bits are its NaNs, and torch's scan keeps the last: the highest)
        code = xp.zeros(best.shape, dtype=np.uint8 if K <= 8 else np.uint16)
        for i, off in enumerate(offsets):
            v = window(off)
            hit = v == best
            if nan:
                hit |= v != v
            hit = hit.view(np.uint8).astype(code.dtype, copy=False)
            code |= hit << code.dtype.type(i) if i else hit
        c = np.arange(1 << K)
        lut = np.zeros(1 << K, dtype=np.int64)
        lut[1:] = shifts[np.log2(c[1:] & -c[1:]).astype(np.int64)]
        shift = xp.asarray(lut).take(code)
        if nan:
            last = np.zeros(1 << K, dtype=np.int64)
            last[1:] = shifts[np.frexp(c[1:])[1] - 1]
            shift = xp.where(best != best, xp.asarray(last).take(code), shift)
    else:
        shift = xp.zeros(best.shape, dtype=np.int64)
        for i in range(K - 1, -1, -1):  # backwards: the first offset holding the max is written last
            hit = window(offsets[i]) == best  # (never in a window with a NaN)
            shift *= ~hit
            shift += hit * shifts[i]
        for i in range(K if nan else 0):  # forwards: a window's last NaN is written last, as torch's scan
            v = window(offsets[i])
            hit = v != v
            shift *= ~hit
            shift += hit * shifts[i]
    flat = shift + base
    return best, flat


def _window_arrays(find, x):
    """(max values, flat indices) of x's windows by ``find`` on arrays; under vmap found once on
    the whole batch, as tensors of it."""
    if _batching.batched(x):
        return _batching.rows_arrays(find, x)
    values, idx = find(x._data)
    return values, Tensor._make(idx)


def _max_pool(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _batched(input, nd, name)
    k, s, p, d, out = _pool_args(name, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices and s == k and not any(p) and all(di == 1 for di in d) \
            and all(n % ki == 0 for n, ki in zip(x.shape[2:], k)):
        y = MaxPoolBlocks.apply(x, k)  # the common MaxPool2d(2): no flat indices needed
        return y.squeeze(0) if unbatched else y
    values, idx_t = _window_arrays(lambda a: _max_pool_arrays(a, k, s, p, d, out), x)
    unique = all(si >= di * (ki - 1) + 1 for si, di, ki in zip(s, d, k))
    y = MaxPool.apply(x, values, idx_t, unique)
    if unbatched:
        y, idx_t = y.squeeze(0), idx_t.squeeze(0)
    return (y, idx_t) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of (N, C, L) input; with return_indices, also their flat input indices."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of (N, C, H, W) input (padding counts as -inf); indices are h*W + w."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@autocast_op({"cpu": "fp32"})
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of (N, C, D, H, W) input."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """max_pool1d returning (values, flat input indices)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """max_pool2d returning (values, flat input indices h*W + w)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """max_pool3d returning (values, flat input indices d*H*W + h*W + w), whatever return_indices."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---------------------------------------------------------------------------- average pooling


def _avg_matrix(n, out, k, s, p, count_include_pad, ones=False):
    """(out, n) matrix averaging each window of one spatial dim (torch's divisors)."""
    a = np.zeros((out, n))
    for o in range(out):
        start = o * s - p
        end = min(start + k, n + p)
        lo, hi = max(start, 0), min(end, n)
        div = (end - start) if count_include_pad else (hi - lo)
        if hi > lo:
            a[o, lo:hi] = 1.0 if ones else 1.0 / div
    return a


def _avg_pool(name, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, unbatched = _batched(input, nd, name)
    k, s, p, _, out = _pool_args(name, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{name}: divisor must be not zero")
    ones = divisor_override is not None
    if k == s and not any(p) and all(n == o * ki for n, o, ki in zip(x.shape[2:], out, k)):
        y = BlockPool.apply(x, k, 1.0 / (divisor_override or math.prod(k)))
        return y.squeeze(0) if unbatched else y
    mats = [_avg_matrix(n, o, ki, si, pi, count_include_pad, ones)
            for n, o, ki, si, pi in zip(x.shape[2:], out, k, s, p)]
    if ones:
        mats[0] = mats[0] / divisor_override
    xp = _xp(x._data)
    y = SeparablePool.apply(x, [xp.asarray(m) for m in mats])
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over sliding windows of (N, C, L) input."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over sliding windows of (N, C, H, W) input (divisor: window size, or divisor_override)."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


@autocast_op({"cpu": "fp32"})
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over sliding windows of (N, C, D, H, W) input."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---------------------------------------------------------------------------- adaptive pooling


def _adaptive_bounds(n, out):
    return [(o * n // out, -(-(o + 1) * n // out)) for o in range(out)]


def _adaptive_args(name, nd, input, output_size):
    x, unbatched = _batched(input, nd, name)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:  # (torch expands no 1-element tuple here)
        what = "one int" if nd == 1 else f"{nd} values (ints or None)"
        raise RuntimeError(f"{name}: output_size must be {nd} (an int or {what}), got {len(output_size)}: "
                           f"{output_size}")
    out = tuple(n if o is None else int(o) for o, n in zip(output_size, x.shape[2:]))
    if any(o <= 0 for o in out) or any(n == 0 for n in x.shape[2:]):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 1 and the input "
                           f"must have non-zero spatial size, got output_size={list(out)} for input of size "
                           f"{list(input.shape)}")
    return x, unbatched, out


def _adaptive_avg(name, nd, input, output_size):
    x, unbatched, out = _adaptive_args(name, nd, input, output_size)
    xp = _xp(x._data)
    mats = []
    for n, o in zip(x.shape[2:], out):
        a = np.zeros((o, n))
        for i, (lo, hi) in enumerate(_adaptive_bounds(n, o)):
            a[i, lo:hi] = 1.0 / (hi - lo)
        mats.append(xp.asarray(a))
    y = SeparablePool.apply(x, mats)
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool1d(input, output_size):
    """Mean over input windows chosen so that the output has length output_size."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Mean over input windows chosen so that the output is output_size (None keeps that dim)."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


@autocast_op({"cpu": "fp32"})
def adaptive_avg_pool3d(input, output_size):
    """Mean over input windows chosen so that the (D, H, W) output is output_size."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max_arrays(x, out):
    """Separable windowed argmax: one spatial dim at a time, carrying the coordinates found."""
    xp = _xp(x)
    nd = len(out)
    vals, coords = x, []
    for j in range(nd - 1, -1, -1):
        axis = 2 + j
        pieces, args = [], []
        for lo, hi in _adaptive_bounds(x.shape[axis], out[j]):
            w = vals[(slice(None),) * axis + (slice(lo, hi),)]
            a = xp.argmax(w, axis=axis)
            a = xp.expand_dims(a, axis)
            pieces.append(xp.take_along_axis(w, a, axis=axis))
            args.append(a + lo)
        vals = xp.concatenate(pieces, axis=axis)
        sel = xp.concatenate(args, axis=axis)
        coords = [xp.take_along_axis(c, sel, axis=axis) for c in coords] + [sel]
    coords = coords[::-1]  # coords[j] is the coordinate along spatial dim j
    flat = 0
    for j in range(nd):
        flat = flat + coords[j] * int(np.prod(x.shape[3 + j:]))
    return vals, flat


def _adaptive_max(name, nd, input, output_size, return_indices):
    x, unbatched, out = _adaptive_args(name, nd, input, output_size)
    values, idx_t = _window_arrays(lambda a: _adaptive_max_arrays(a, out), x)
    unique = all(n % o == 0 for n, o in zip(x.shape[2:], out))  # windows overlap otherwise
    y = MaxPool.apply(x, values, idx_t, unique)
    if unbatched:
        y, idx_t = y.squeeze(0), idx_t.squeeze(0)
    return (y, idx_t) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over input windows chosen so that the output has length output_size."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over input windows chosen so that the output is output_size (None keeps that dim)."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


@autocast_op({"cpu": "fp32"})
def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over input windows chosen so that the (D, H, W) output is output_size."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    """adaptive_max_pool1d returning (values, indices)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    """adaptive_max_pool2d returning (values, flat input indices)."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool3d returning (values, flat input indices), whatever return_indices."""
    return adaptive_max_pool3d(input, output_size, True)


# ---------------------------------------------------------------------------- unpooling, Lp pooling


def _max_unpool(name, nd, input, indices, kernel_size, stride, padding, output_size):
    x, unbatched = _batched(input, nd, name)
    idx = indices.unsqueeze(0) if unbatched else indices
    k, s, p = (v if v is None or not isinstance(v, (int, np.integer)) else (int(v),) * nd
               for v in (kernel_size, stride, padding))
    s = k if s is None else s
    if output_size is None:  # torch's default size: one per kernel_size value (a 1-element tuple is not expanded)
        if len(s) < len(k) or len(p) < len(k) or len(k) > x.ndim:
            raise IndexError(f"{name}: kernel_size={list(k)}, stride={list(s)} and padding={list(p)} should each "
                             f"be an int or {nd} ints (tuple index out of range)")
        size = tuple((n - 1) * s[i] - 2 * p[i] + k[i] for i, n in enumerate(x.shape[x.ndim - len(k):]))
    else:
        size = tuple(output_size)[-nd:]
    if len(size) != nd:
        names = ("(length)", "(height, width)", "(depth, height, width)")[nd - 1]
        raise RuntimeError(f"There should be exactly {('one', 'two', 'three')[nd - 1]} elements {names} in "
                           f"output_size, but got {len(size)} elements. (kernel_size={list(k)}: give one int or "
                           f"{nd} ints)")
    if tuple(idx.shape) != tuple(x.shape):
        raise RuntimeError(f"{name}: Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    total = int(np.prod(size))
    i = idx._data  # on a device: read at the next synchronisation, as torch's device-side assert
    check((i < 0) | (i >= total), lambda: RuntimeError(
        f"{name}: Found an invalid max index: {int(i.max())} (output volumes are of size {'x'.join(map(str, size))})"))
    y = ScatterFlat.apply(x, idx, x.shape[:2] + size, True)
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d: values placed at their indices, zeros elsewhere."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


@autocast_op({"cpu": "fp32"})
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d: values placed at their indices, zeros elsewhere."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


@autocast_op({"cpu": "fp32"})
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool3d: values placed at their indices, zeros elsewhere."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def _lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode):
    if nd > 1 and not isinstance(kernel_size, (int, np.integer)) and len(kernel_size) != nd:
        raise ValueError(f"lp_pool{nd}d: kernel_size must be an int or {nd} ints (as torch, which unpacks "
                         f"it), got {list(kernel_size)}")
    k = _tuple(kernel_size, nd, "kernel_size")
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[nd - 1]
    out = pool(input ** norm_type, k, stride, 0, ceil_mode)
    return (out * math.prod(k)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p)."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p)."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p)."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)
