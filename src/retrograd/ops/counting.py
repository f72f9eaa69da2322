"""Counting: histc, bincount, diff, and one_hot (torch.nn.functional.one_hot).

histc, bincount and one_hot count (no gradient, as in torch); diff is differentiable
(it is made of slices and a subtraction)."""

import numpy as np

from .._backend import array_module
from ..tensor import Tensor, _wrap_dim
from ._kernel_dtypes import check_floating
from ._method import tensor_method
from ._out import NONE, SAME, takes_out

__all__ = ["histc", "bincount", "diff"]

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


@tensor_method()
def bincount(input, weights=None, minlength=0):
    """Occurrences of each value 0..max of a 1-D non-negative integer tensor (summed weights if given)."""
    x = input._data
    if x.ndim != 1 or x.dtype.kind not in "iub" or (x.size and x.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = array_module(x)
    if weights is None:
        return Tensor._make(xp.bincount(x, minlength=minlength).astype(np.int64))
    w = weights._data
    if w.shape != x.shape:
        raise RuntimeError(
            f"weights should be 1-d and have the same length as input (got {list(weights.shape)} "
            f"for input {list(input.shape)})"
        )
    dt = w.dtype if w.dtype.kind == "f" else np.float64
    return Tensor._make(xp.bincount(x, weights=w, minlength=minlength).astype(dt))


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
