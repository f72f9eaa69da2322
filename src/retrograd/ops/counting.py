"""Counting: histc, histogram, histogramdd, bincount, diff, and one_hot (torch.nn.functional.one_hot).

histc, histogram, histogramdd, bincount and one_hot count (no gradient, as in torch); diff is
differentiable (it is made of slices and a subtraction)."""

import numpy as np

from .._backend import array_module
from .._linspace import linspace_array
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim
from . import _batching
from ._kernel_dtypes import check_floating, not_implemented_for
from ._method import tensor_method
from ._out import NONE, SAME, takes_out

__all__ = ["histc", "histogram", "histogramdd", "bincount", "diff"]

FUNCTIONAL = ["one_hot"]  # torch.nn.functional names, re-exported by nn/functional.py


@takes_out(dtype=SAME, grad=NONE)  # histc has no derivative in torch
@tensor_method()
def histc(input, bins=100, min=0, max=0):  # noqa: A002
    """Histogram of ``bins`` equal bins over [min, max] (the data's range when min == max);
    values outside are ignored, the max goes into the last bin."""
    check_floating("histogram_cpu", input)
    x = input._data
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dimension 0")
    xp = array_module(x)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc(): max must be larger than min (got min={min}, max={max})")
    flat = x.reshape(-1)
    flat = flat[(flat >= lo) & (flat <= hi)]
    idx = ((flat - lo) * bins / (hi - lo)).astype(np.int64)
    idx = xp.minimum(idx, bins - 1)
    return Tensor._make(xp.bincount(idx, minlength=bins).astype(x.dtype))


class NotDifferentiable(Function):
    """An op that torch records in the graph without a derivative (histogram; bincount with
    weights): its outputs require grad when an input does, and backward raises torch's error."""

    def name(self):
        return "torch::autograd::NotImplemented"  # what torch's graph shows for such a node

    def __repr__(self):
        return f"<NotImplemented object at {hex(id(self))}>"  # (torch's repr: the class name)

    @staticmethod
    def forward(ctx, name, outputs, *inputs):
        ctx.op = name
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{ctx.op} is not implemented")


# ---------------------------------------------------------------------------- histogram

from .reduction import _return_type, return_types  # noqa: E402

return_types.histogram = _return_type("histogram", ("hist", "bin_edges"))


def _upper_bound(edges, x):
    """For each x, the index std::upper_bound finds in ``edges`` (the first edge > x, by torch's
    binary search: on edges that are not increasing, where that search ends, as in torch)."""
    first = np.zeros(x.shape, dtype=np.int64)
    count = np.full(x.shape, edges.size, dtype=np.int64)
    while (count > 0).any():
        half = count // 2
        probe = first + half
        right = (count > 0) & ~(x < edges[np.minimum(probe, edges.size - 1)])
        first = np.where(right, probe + 1, first)
        count = np.where(right, count - half - 1, half)
    return first


def _fmt(v):
    return f"{v:g}"  # C++'s default formatting of a double, as in torch's messages


def _outer_edges(x, range, bins, dim=0):  # noqa: A002 - torch's name
    if range is not None:
        range = tuple(range)  # noqa: A001
        if len(range) != 2:
            raise RuntimeError(f"torch.histogramdd: for a 1-dimensional histogram range should have 2 elements, "
                               f"but got {len(range)}")
        lo, hi = float(range[0]), float(range[1])
    elif x.size:
        lo, hi = float(x.min()), float(x.max())
    else:
        lo, hi = 0.0, 1.0
    if lo == hi:  # as numpy: an empty range becomes one of width 1
        lo, hi = lo - 0.5, hi + 0.5
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension {dim}'s range [{_fmt(lo)}, {_fmt(hi)}] is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {_fmt(lo)} max {_fmt(hi)} "
                           f"for dimension {dim}")
    return lo, hi


def _check_weight(input, weight):
    if weight.dtype != input.dtype:
        raise RuntimeError(
            "torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should have the "
            f"same dtype, but got input({_CPP[input.dtype.name]}), and weight({_CPP[weight.dtype.name]})")
    if weight.numel() != input.numel():
        raise RuntimeError(
            "torch.histogramdd: if weight tensor is provided it should have the same shape as the input tensor "
            f"excluding its innermost dimension, but got input with shape [{input.numel()}, 1] and weight with "
            f"shape [{weight.numel()}]")


def _check_bins_tensor(input, bins, dim=0):
    if bins.dtype != input.dtype:
        raise RuntimeError(
            "torch.histogramdd: input tensor and bins tensors should have the same dtype, but got input with "
            f"dtype {_CPP[input.dtype.name]} and bins for dimension {dim} with dtype {_CPP[bins.dtype.name]}")
    if bins.ndim != 1:
        raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {bins.ndim} "
                           f"dimensions in the bins tensor for dimension {dim}")
    if bins.numel() == 0:
        raise RuntimeError("torch.histogramdd: bins tensor should have at least 1 element, but got 0 elements in "
                           f"the bins tensor for dimension {dim}")


_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
        "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
        "bool": "bool"}  # torch's C++ dtype names in its histogram messages


def _check_histogram_dtype(input):
    if input.dtype.name not in ("float32", "float64"):
        raise not_implemented_for("histogramdd", input.dtype, "histogram counts float32 and float64 tensors: "
                                  "convert with .float() first")


@takes_out(dtype=SAME)  # torch records histogram in the graph (its backward raises): out refuses grad
@tensor_method()
def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002 - torch's name
    """(hist, bin_edges) of the flattened input: ``bins`` equal bins over ``range`` (default the
    data's min and max), or the edges given as a 1-D tensor. A value counts in bin i when
    edges[i] <= value < edges[i+1], the last bin including its right edge; values outside and nan
    are left out. weight: each value's weight (default 1); density: hist / (sum(hist) * bin width)."""
    if input.is_cuda:
        raise NotImplementedError(f"torch.histogram has no CUDA kernel in torch (input on {input.device}): use "
                                  "torch.histc on CUDA tensors, or histogram(input.cpu(), ...)")
    if isinstance(bins, Tensor):
        if range is not None:
            raise TypeError("histogram(): range= is taken with an int bins only; with a bins tensor the "
                            "edges are the tensor's values")
        _check_bins_tensor(input, bins)
        if weight is not None:
            _check_weight(input, weight)
        if bins.numel() - 1 <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins.numel() - 1} for dimension 0")
        _check_histogram_dtype(input)
        edges = bins._data.copy()
    else:
        if isinstance(bins, (bool, float)) or not isinstance(bins, (int, np.integer)):
            raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not {type(bins).__name__}")
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
        lo, hi = _outer_edges(input._data, range, bins)
        _check_histogram_dtype(input)
        if weight is not None:
            _check_weight(input, weight)
        edges = linspace_array(lo, hi, int(bins) + 1, input._data.dtype)
    dtype = input._data.dtype
    x = input._data.reshape(-1)
    w = None if weight is None else weight._data.reshape(-1)
    inside = (x >= edges[0]) & (x <= edges[-1])  # false for nan
    pos = np.minimum(_upper_bound(edges, x[inside]) - 1, edges.size - 2)  # the last bin holds its right edge
    hist = np.bincount(pos, weights=None if w is None else w[inside], minlength=edges.size - 1).astype(dtype)
    if density:  # 0/0 = nan for an empty histogram, as in torch
        with np.errstate(invalid="ignore", divide="ignore"):
            hist = hist / dtype.type(hist.sum())
            hist = (hist / np.diff(edges)).astype(dtype)
    return return_types.histogram(*NotDifferentiable.apply("histogram", (hist, edges), input, weight))


return_types.histogramdd = _return_type("histogramdd", ("hist", "bin_edges"))


def _bin_index(edges, x):
    """Each value's bin among ``edges`` (the last bin holding its right edge), and whether it is
    inside them (false for nan)."""
    inside = (x >= edges[0]) & (x <= edges[-1])
    return np.clip(_upper_bound(edges, x) - 1, 0, edges.size - 2), inside


def histogramdd(input, bins, range=None, weight=None, density=False):  # noqa: A002 - torch's names
    """(hist, bin_edges) of the points ``input[..., :]`` (the innermost dim holds each point's D
    coordinates): ``bins`` an int (that many equal bins along every dim), D ints, or D 1-D tensors
    of edges; ``range`` D (min, max) pairs flattened (default each dim's min and max). A point
    counts in the bin whose edges hold each coordinate (the last bin of a dim includes its right
    edge); points outside or with nan are left out. weight: each point's weight (input.shape[:-1]);
    density: hist / (sum(hist) * bin volume). bin_edges is a tuple of D tensors."""
    if not isinstance(input, Tensor):
        raise TypeError(f"histogramdd(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.is_cuda:
        raise NotImplementedError(f"torch.histogramdd has no CUDA kernel in torch (input on {input.device}): "
                                  "histogramdd(input.cpu(), ...)")
    if input.ndim < 2:
        raise RuntimeError(f"torch.histogramdd: input tensor should have at least 2 dimensions (got shape "
                           f"{list(input.shape)}; the innermost dim holds each point's coordinates)")
    d = input.shape[-1]
    if isinstance(bins, (bool, float)) or not isinstance(bins, (int, np.integer, list, tuple)):
        raise TypeError(f"histogramdd(): argument 'bins' must be int, tuple of ints or tuple of Tensors, not "
                        f"{type(bins).__name__}")
    if isinstance(bins, (list, tuple)):
        tensors = [isinstance(b, Tensor) for b in bins]
        if any(tensors) and not all(tensors):
            raise TypeError(f"expected Tensor as element {tensors.index(False)} in argument 1, but got "
                            f"{type(bins[tensors.index(False)]).__name__}")
        if bins and not any(tensors) and not all(isinstance(b, (int, np.integer)) and not isinstance(b, bool)
                                                 for b in bins):
            raise TypeError("histogramdd(): argument 'bins' must be a tuple of ints or of Tensors")
        if bins and all(tensors):
            if len(bins) != d:
                raise RuntimeError(f"torch.histogramdd: expected {d} sequences of bin edges for a {d}-dimensional "
                                   f"histogram but got {len(bins)}")
        elif len(bins) != d:
            raise RuntimeError(f"histogramdd: The size of bins must be equal to the innermost dimension of the input "
                               f"(got {len(bins)} bin counts for points of {d} coordinates).")
    x = input._data.reshape(-1, d)
    if weight is not None:
        if not isinstance(weight, Tensor):
            raise TypeError(f"histogramdd(): argument 'weight' must be Tensor, not {type(weight).__name__}")
        if weight.dtype != input.dtype:
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should have the "
                f"same dtype, but got input({_CPP[input.dtype.name]}), and weight({_CPP[weight.dtype.name]})")
        if tuple(weight.shape) != tuple(input.shape[:-1]):
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided it should have the same shape as the input tensor "
                f"excluding its innermost dimension, but got input with shape {list(input.shape)} and weight with "
                f"shape {list(weight.shape)}")
    edges = []
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor):
        for i, b in enumerate(bins):
            _check_bins_tensor(input, b, i)
        for i, b in enumerate(bins):
            if b.numel() < 2:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {b.numel() - 1} for dimension {i} "
                                   "(a bins tensor holds the edges: one more than the bins)")
        _check_histogram_dtype(input)
        edges = [b._data.copy() for b in bins]
    else:
        counts = [int(bins)] * d if not isinstance(bins, (list, tuple)) else [int(b) for b in bins]
        for i, n in enumerate(counts):
            if n <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {n} for dimension {i}")
        if range is not None and len(tuple(range)) != 2 * d:
            raise RuntimeError(f"torch.histogramdd: for a {d}-dimensional histogram range should have {2 * d} "
                               f"elements, but got {len(tuple(range))}")
        _check_histogram_dtype(input)
        for i, n in enumerate(counts):
            lo, hi = _outer_edges(x[:, i], None if range is None else tuple(range)[2 * i:2 * i + 2], n, i)
            edges.append(linspace_array(lo, hi, n + 1, input._data.dtype))
    shape = tuple(e.size - 1 for e in edges)
    keep = np.ones(x.shape[0], dtype=bool)
    flat = np.zeros(x.shape[0], dtype=np.int64)
    for i, e in enumerate(edges):
        pos, inside = _bin_index(e, x[:, i])
        keep &= inside
        flat = flat * shape[i] + pos
    w = None if weight is None else weight._data.reshape(-1)[keep]
    hist = np.bincount(flat[keep], weights=w, minlength=int(np.prod(shape))).reshape(shape).astype(input._data.dtype)
    if density:  # 0/0 = nan for an empty histogram, as in torch
        volume = np.ones(shape)
        for i, e in enumerate(edges):
            volume = volume * np.diff(e).reshape((-1,) + (1,) * (d - 1 - i))
        with np.errstate(invalid="ignore", divide="ignore"):
            hist = (hist / hist.sum() / volume).astype(input._data.dtype)
    hist, *edges = NotDifferentiable.apply("_histogramdd_from_bin_cts", (hist, *edges), input, weight)
    return return_types.histogramdd(hist, tuple(edges))


# ---------------------------------------------------------------------------- bincount


@tensor_method()
def bincount(input, weights=None, minlength=0):
    """Occurrences of each value 0..max of a 1-D non-negative integer tensor (summed weights if
    given: float32 weights give float32, any other dtype float64; an empty input gives int64)."""
    x = input._data
    if x.dtype.kind not in "iu":
        raise not_implemented_for("bincount_cpu", input.dtype, "bincount counts integer tensors: convert "
                                  "with .long() first")
    if x.ndim != 1 or (x.size and x.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = array_module(x)
    if weights is None or x.size == 0:  # torch counts an empty input as int64 even with weights
        return Tensor._make(xp.bincount(x, minlength=minlength).astype(np.int64))
    w = weights._data
    if w.shape != x.shape:
        raise RuntimeError(
            f"weights should be 1-d and have the same length as input (got {list(weights.shape)} "
            f"for input {list(input.shape)})"
        )
    dt = np.float32 if w.dtype == np.float32 else np.float64
    counts = xp.bincount(x, weights=w.astype(np.float64), minlength=minlength).astype(dt)
    return NotDifferentiable.apply("bincount", counts, input, weights)


@tensor_method()
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along ``dim`` (prepend/append joined first);  differentiable."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = _wrap_dim(dim, input.ndim)
    from .join import cat

    if prepend is not None or append is not None:
        def as_tensor(e):
            if isinstance(e, Tensor):
                return e
            shape = list(input.shape)
            shape[dim] = 1
            return input.new_full(shape, e)
        parts = ([as_tensor(prepend)] if prepend is not None else []) + [input] + (
            [as_tensor(append)] if append is not None else [])
        input = cat(parts, dim)
    lead = (slice(None),) * dim
    for _ in range(n):
        if input.shape[dim] == 0:
            break
        if input.dtype.name == "bool":
            input = input[lead + (slice(1, None),)] ^ input[lead + (slice(None, -1),)]
        else:
            input = input[lead + (slice(1, None),)] - input[lead + (slice(None, -1),)]
    return input


def one_hot(tensor, num_classes=-1):
    """int64 tensor with a trailing dim of size num_classes: 1 at each value, 0 elsewhere."""
    if num_classes != -1 and _batching.batched(tensor):  # under vmap: the whole batch at once
        return _batching.on_batch(lambda t: one_hot(t, num_classes), tensor)
    x = tensor._data
    if x.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = array_module(x)
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(x.max()) + 1
    if x.size and x.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if x.size and x.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (x[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._make(out)
