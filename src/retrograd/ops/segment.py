"""segment_reduce: reduce consecutive segments of ``data`` along an axis ('sum', 'mean', 'max',
'min', 'prod'), the segments given by their lengths or offsets (one row of them for each index
of the dims before the axis).

The op sees data as (B, N, R): B the rows (the dims before the axis), N the axis, R the dims
after it, and its key lists each element taking part as (row b, position j, segment s). Its
derivative is one partial per element (backward: g of its segment times it; forward AD: the
tangent times it, summed over the segment). As in torch, the backward has no derivative of
its own (a second backward raises)."""

import numpy as np

from .. import _backend
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim
from . import _batching
from .counting import NotDifferentiable
from .indexing import add_at, multiply_at

__all__ = ["segment_reduce"]

_REDUCES = {"sum": "sum", "mean": "mean", "max": "max", "amax": "max", "min": "min", "amin": "min", "prod": "prod"}
_EMPTY = {"sum": 0.0, "mean": np.nan, "max": -np.inf, "min": np.inf, "prod": 1.0}  # a segment without elements


def _reduce_at(out, key, values, reduce):
    """out[key] reduced with values (repeats reduce together)."""
    if reduce in ("sum", "mean"):
        add_at(out, key, values)
    elif reduce == "prod":
        multiply_at(out, key, values)
    elif _backend.array_module(out) is np:
        (np.maximum if reduce == "max" else np.minimum).at(out, key, values)
    else:  # CuPy
        import cupyx

        _backend.call_into(cupyx.scatter_max if reduce == "max" else cupyx.scatter_min, out, key, values)


def _cells(key, r, xp):
    """The full NumPy keys of the key's elements in x (b, j, each of the R columns) and of their
    results in z (b, s, the same columns): (M, R) each, as ufunc.at and CuPy's scatters take them."""
    b, j, s = key
    cols = xp.arange(r)[None, :]
    return (b[:, None], j[:, None], cols), (b[:, None], s[:, None], cols)


class SegmentReduce(Function):
    """z[b, s] = reduce(x[b, j] for the elements (b, j) of segment s) (initial joins each segment).
    Partials: sum 1; mean 1/length; max/min 1 shared evenly among the elements equal to the
    result; prod the product of the segment's other members (and initial), exact with zeros."""

    @staticmethod
    def forward(ctx, x, reduce, key, segments, lengths, initial):
        a = x._data
        xp = _backend.array_module(key[0])  # (the index arrays': data of a half type may be a wrapper)
        work = a.dtype if a.dtype.itemsize >= 4 else np.float32  # half types accumulate in float32
        at_x, at_z = _cells(key, a.shape[2], xp)
        start = _EMPTY[reduce] if initial is None else initial
        out = xp.full((a.shape[0], segments, a.shape[2]), start if reduce != "mean" else 0.0, dtype=work)
        _reduce_at(out, at_z, _backend.cast(a[at_x], work), reduce)
        if reduce == "mean":
            count = lengths[..., None].astype(work)
            with np.errstate(invalid="ignore", divide="ignore"):
                total = out + (0.0 if initial is None else initial)
                out = xp.where(count > 0, total / xp.where(count > 0, count, 1), start)
        ctx.key, ctx.reduce, ctx.lengths, ctx.initial = key, reduce, lengths, initial
        ctx.shape = a.shape
        ctx.result = _backend.cast(out, a.dtype)
        ctx.save_for_backward(x)
        return ctx.result

    @staticmethod
    def _partials(ctx, a):
        """d z[b, s] / d x[b, j] for each element of the key, as (M, R) values (M elements)."""
        xp = _backend.array_module(ctx.key[0])
        at_x, at_z = _cells(ctx.key, a.shape[2], xp)
        v = _backend.cast(a[at_x], np.float64)
        reduce = ctx.reduce
        if reduce == "sum":
            return xp.ones_like(v)
        if reduce == "mean":
            return xp.broadcast_to(1.0 / ctx.lengths[at_z[:2]], v.shape)
        if reduce in ("max", "min"):
            hit = (v == _backend.cast(ctx.result, np.float64)[at_z]).astype(np.float64)
            ties = xp.zeros(ctx.result.shape, np.float64)
            add_at(ties, at_z, hit)
            return hit / xp.maximum(ties[at_z], 1.0)
        zero = v == 0  # prod: the product of the others, counting the zeros apart
        zeros = xp.zeros(ctx.result.shape, np.float64)
        add_at(zeros, at_z, zero.astype(np.float64))
        nonzero = xp.full(ctx.result.shape, 1.0 if ctx.initial is None else float(ctx.initial))
        multiply_at(nonzero, at_z, xp.where(zero, 1.0, v))
        others_zero = zeros[at_z] - zero
        with np.errstate(invalid="ignore", divide="ignore"):
            return xp.where(others_zero > 0, 0.0, nonzero[at_z] / xp.where(zero, 1.0, v))

    @staticmethod
    def jvp(ctx, t, *_):
        """dz[b, s] = sum over the segment of dx[b, j] * partial (a segment sum of the op itself)."""
        a = ctx._fw_args[0]._data
        xp = _backend.array_module(ctx.key[0])
        p = xp.zeros(ctx.shape, np.float64)
        p[_cells(ctx.key, a.shape[2], xp)[0]] = SegmentReduce._partials(ctx, a)
        return SegmentReduce.apply(t * Tensor._make(_backend.cast(p, a.dtype)), "sum", ctx.key,
                                   ctx.result.shape[1], ctx.lengths, None)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = _backend.array_module(ctx.key[0])
        at_x, at_z = _cells(ctx.key, ctx.shape[2], xp)
        grad = xp.zeros(ctx.shape, np.float64)
        grad[at_x] = _backend.cast(g._data, np.float64)[at_z] * SegmentReduce._partials(ctx, x._data)
        # torch has no derivative for this backward: a second backward through it raises
        return (NotDifferentiable.apply("_segment_reduce_backward", _backend.cast(grad, g._data.dtype), g, x),
                None, None, None, None, None)


def _segment_key(rows, n, lengths, offsets, unsafe, xp):
    """(b, j, s) of every element taking part, the number of segments, and the lengths (B, S)."""
    if lengths is not None:
        length = lengths.reshape(rows, -1)
        if (length < 0).any():
            raise RuntimeError("lengths contains negative value! (segment_reduce needs lengths >= 0)")
        ends = xp.cumsum(length, axis=1)
        starts = ends - length
        covered = ends[:, -1] if length.shape[1] else xp.zeros(rows, np.int64)
        if not unsafe and rows and (covered != n).any():
            raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                               "data.size(lengths.dim()-1) "
                               f"when !unsafe (the data's size along axis is {n}, lengths sum to "
                               f"{covered.tolist()})")
    else:
        bounds = offsets.reshape(rows, -1)
        if bounds.shape[1] == 0:
            raise RuntimeError("segment_reduce(): offsets must hold at least one offset (the first segment's start)")
        starts, ends = bounds[:, :-1], bounds[:, 1:]
        length = ends - starts
        if (length < 0).any():
            raise RuntimeError("Expected segment_length >= 0 to be true, but got false. (segment_reduce's offsets "
                               f"must not decrease: got {offsets.tolist()})")
    if length.size and ((length > 0) & ((starts < 0) | (ends > n))).any():
        raise RuntimeError(f"segment_reduce(): a segment reaches outside the data's {n} positions along axis "
                           "(torch with unsafe=True reads past its end; here it is an error)")
    segments = length.shape[1]
    b, s = xp.nonzero(length > 0) if length.size else (xp.zeros(0, np.int64), xp.zeros(0, np.int64))
    counts = length[b, s]
    b, s = xp.repeat(b, counts), xp.repeat(s, counts)
    first = xp.repeat(xp.cumsum(counts) - counts, counts)
    j = starts[b, s] + (xp.arange(b.size) - first)
    return (b, j.astype(np.int64), s), segments, length


def _index_tensor(t, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"segment_reduce(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if t.dtype.name not in ("int32", "int64"):
        kernel = "_segment_reduce_lengths_cpu_kernel1" if name == "lengths" else "_segment_reduce_offsets_cpu_kernel1"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{t.dtype}' (segment_reduce's {name} must be "
                                  "an int32 or int64 tensor)")
    return t._data.astype(np.int64)


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False, initial=None):
    """Reduce consecutive segments of ``data`` along ``axis`` with ``reduce`` ('sum', 'mean', 'max',
    'min' or 'prod'). The segments: ``lengths`` (their sizes) or ``offsets`` (their bounds, one more
    than segments), shaped data.shape[:axis] + (segments,). An empty segment gives ``initial``, or
    0 / nan / -inf / inf / 1; ``initial`` joins every segment. ``unsafe=True`` skips the check that
    the lengths cover the axis."""
    if _batching.batched(*(t for t in (data, lengths, offsets) if isinstance(t, Tensor))):
        tensors = [t for t in (data, lengths, offsets) if t is not None]

        def per_batch(d, *rest):  # the batch as one more dim before axis (of data and of the segments)
            it = iter(rest)
            return segment_reduce(d, reduce, lengths=None if lengths is None else next(it),
                                  offsets=None if offsets is None else next(it), axis=_wrap_dim(axis, data.ndim) + 1,
                                  unsafe=unsafe, initial=initial)

        return _batching.on_batch(per_batch, *tensors)
    if not isinstance(data, Tensor):
        raise TypeError(f"segment_reduce(): argument 'data' (position 1) must be Tensor, not {type(data).__name__}")
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if initial is not None and (not isinstance(initial, (int, float, np.number)) or isinstance(initial, str)):
        raise TypeError(f"segment_reduce(): argument 'initial' must be Number, not {type(initial).__name__}")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet. (torch's neither: "
                           "pass lengths= or offsets=)")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    bounds = _index_tensor(lengths if lengths is not None else offsets, "lengths" if lengths is not None else "offsets")
    if data.dtype.name not in ("float16", "bfloat16", "float32", "float64"):
        raise NotImplementedError(f"\"_segment_reduce_cpu\" not implemented for '{data.dtype}' (segment_reduce "
                                  "reduces floating tensors: convert data with .float())")
    axis = _wrap_dim(axis, data.ndim)
    if bounds.ndim - 1 != axis:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of "
                           f"{'lengths' if lengths is not None else 'offsets'} but got {axis}.")
    shape = tuple(data.shape)
    if tuple(bounds.shape[:-1]) != shape[:axis]:
        raise RuntimeError(f"segment_reduce(): the segments' leading shape {list(bounds.shape[:-1])} must be the "
                           f"data's dims before axis {list(shape[:axis])} (data {list(shape)}, axis {axis})")
    rows, n = int(np.prod(shape[:axis], dtype=np.int64)), shape[axis]
    xp = _backend.array_module(data._data)
    key, segments, length = _segment_key(rows, n, xp.asarray(bounds) if lengths is not None else None,
                                         xp.asarray(bounds) if lengths is None else None, unsafe, xp)
    x = data.reshape(rows, n, int(np.prod(shape[axis + 1:], dtype=np.int64)))
    out = SegmentReduce.apply(x, _REDUCES[reduce], key, segments, length, None if initial is None else float(initial))
    return out.reshape(shape[:axis] + (segments,) + shape[axis + 1:])
