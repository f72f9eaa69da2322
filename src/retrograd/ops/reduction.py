"""Reductions: sum and mean (the rest of the family lives beside them, in reduction_more)."""

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ._dims import expand_reduced, normalize_dims
from ._method import tensor_method

__all__ = ["sum", "mean"]


class Sum(Function):
    """z = sum over dims of a;  da = g broadcast back over those dims."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = a._data
        if dtype is not None:
            x = x.astype(dtype.np)
        elif x.dtype.kind in "biu":
            x = x.astype(np.int64)
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        return x.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return expand_reduced(g, ctx.shape, ctx.dims, ctx.keepdim), None, None, None


class Mean(Function):
    """z = mean over dims of a;  da = g/n broadcast back over those dims."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = a._data
        if dtype is not None:
            x = x.astype(dtype.np)
        elif x.dtype.kind in "biu":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {a.dtype}. Use .float() first, or pass dtype=."
            )
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        n = 1
        for d in dims:
            n *= a.shape[d]
        ctx.n = n
        with np.errstate(invalid="ignore", divide="ignore"):
            return x.mean(axis=dims, keepdims=keepdim) if n else x.sum(axis=dims, keepdims=keepdim) * np.nan

    @staticmethod
    def backward(ctx, g):
        return expand_reduced(g / ctx.n, ctx.shape, ctx.dims, ctx.keepdim), None, None, None


@tensor_method()
def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001
    """Sum of elements over ``dim`` (all by default). Integers and bools sum to int64."""
    dims = normalize_dims(dim, input.ndim)
    return Sum.apply(input, dims, keepdim, _dtype.to_dtype(dtype) if dtype is not None else None)


@tensor_method()
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of elements over ``dim`` (all by default)."""
    dims = normalize_dims(dim, input.ndim)
    return Mean.apply(input, dims, keepdim, _dtype.to_dtype(dtype) if dtype is not None else None)

