"""Distances: cdist, pdist, pairwise_distance, cosine_similarity, dist.

All go through one p-norm over the last dim whose gradient is 0 (not nan) where the norm
is 0, as torch's. Large Euclidean cdist uses the matrix-product form
|x|^2 + |y|^2 - 2 x.y (torch's 'use_mm_for_euclid_dist_if_necessary').
"""

import math

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._backend import array_module
from .._dtype import result_type
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim
from . import _batching
from ._broadcast import broadcast_shapes
from ._kernel_dtypes import not_implemented_for, scalar_name

__all__ = ["cdist", "pdist", "pairwise_distance", "cosine_similarity", "dist"]

FUNCTIONAL = ["pdist", "pairwise_distance", "cosine_similarity"]  # also in torch.nn.functional


def _mask(cond):
    return Tensor._make(cond)


class PNorm(Function):
    """n = ||x||_p over the last dim (p = 0, inf, or > 0);
    dx = g sign(x) |x|^(p-1) / n^(p-1)  (0 where n = 0; inf: shared among the maxima; 0: none)."""
    vmap = classmethod(_batching.unbatched_params)  # batching rule: the batch is one more leading dim

    @staticmethod
    def forward(ctx, x, p, keepdim):
        a = x._data
        xp = array_module(a)
        ctx.p, ctx.keepdim = p, keepdim
        if p == 0:
            n = (a != 0).sum(-1, keepdims=keepdim).astype(a.dtype)
        elif p == math.inf:
            n = xp.abs(a).max(-1, keepdims=keepdim, initial=0)
        elif p == 1:
            n = xp.abs(a).sum(-1, keepdims=keepdim)
        elif p == 2:
            n = xp.sqrt((a * a).sum(-1, keepdims=keepdim))
        else:
            n = (xp.abs(a) ** p).sum(-1, keepdims=keepdim) ** (1.0 / p)
        out = Tensor._make(xp.asarray(n, dtype=a.dtype))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def jvp(ctx, tx, *_):
        """dn = sum over the last dim of dx * dn/dx (the backward of ones: each x feeds one n)."""
        n = ctx._fw_results[0]
        return (tx * PNorm.backward(ctx, n.new_ones(n.shape))[0]).sum(-1, keepdim=ctx.keepdim)

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved_tensors
        p = ctx.p
        if not ctx.keepdim:
            g, n = g.unsqueeze(-1), n.unsqueeze(-1)
        if p == 0:
            return x * 0, None, None
        if p == 1:
            return g * x.sign(), None, None
        zero = n == 0
        safe = n.masked_fill(zero, 1.0)
        if p == math.inf:
            at_max = (x.abs() == n) & ~zero
            count = at_max.sum(-1, keepdim=True).to(x.dtype)
            share = g * x.sign() / count.masked_fill(count == 0, 1.0)
            return share.masked_fill(~at_max, 0.0), None, None
        if p == 2:
            return (g * x / safe).masked_fill(zero, 0.0), None, None
        ax = x.abs()
        if p < 1:  # |x|^(p-1) is infinite at x = 0: torch's gradient is 0 there
            zero = zero | (x == 0)
            ax = ax.masked_fill(x == 0, 1.0)
        grad = g * x.sign() * ax ** (p - 1) / safe ** (p - 1)
        return grad.masked_fill(zero, 0.0), None, None


def _pnorm(x, p, keepdim=False):
    if p < 0:
        raise RuntimeError(f"p should be at least 0 (got p={p})")
    return PNorm.apply(x, float(p), keepdim)


class EuclidCdist(Function):
    """d_ij = ||x_i - y_j||_2 via |x|^2 + |y|^2 - 2 x.y;
    with w = g/d (0 where d = 0): dx = x * rowsum(w) - w y,  dy = y * colsum(w) - w^T x."""

    @classmethod
    def vmap(cls, info, in_dims, x1, x2):
        """The batch dim first in both (an unbatched one expanded over it): one more batch dim."""
        b = info.batch_size
        a1, a2 = (x.expand((b,) + tuple(x.shape)) if d is None else _batching.front(x, d)
                  for x, d in zip((x1, x2), in_dims))
        return cls.apply(a1, a2), 0

    @staticmethod
    def forward(ctx, x1, x2):
        a, b = x1._data, x2._data
        xp = array_module(a)
        sq = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[..., None, :] - 2 * (a @ b.swapaxes(-1, -2))
        d = Tensor._make(xp.sqrt(xp.maximum(sq, 0)))
        ctx.save_for_backward(x1, x2, d)
        return d

    @staticmethod
    def jvp(ctx, t1, t2):
        """dd_ij = (x_i - y_j).(dx_i - dy_j)/d_ij (0 where d_ij = 0)."""
        x1, x2 = ctx._fw_args
        d = ctx._fw_results[0]
        dot = ((x1.unsqueeze(-2) - x2.unsqueeze(-3)) * (t1.unsqueeze(-2) - t2.unsqueeze(-3))).sum(-1)
        return (dot / d.masked_fill(d == 0, 1.0)).masked_fill(d == 0, 0.0)

    @staticmethod
    def backward(ctx, g):
        x1, x2, d = ctx.saved_tensors
        w = (g / d.masked_fill(d == 0, 1.0)).masked_fill(d == 0, 0.0)
        g1 = x1 * w.sum(-1).unsqueeze(-1) - w @ x2 if ctx.needs_input_grad[0] else None
        g2 = x2 * w.sum(-2).unsqueeze(-1) - w.mT @ x1 if ctx.needs_input_grad[1] else None
        return g1, g2


@autocast_op("fp32")
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Distances between each row of x1 [..., P, M] and each row of x2 [..., R, M]: [..., P, R]."""
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    for name, x in (("X1", x1), ("X2", x2)):
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {scalar_name(x.dtype)}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values (got p={p})")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"expected scalar type {scalar_name(x1.dtype)} but found {scalar_name(x2.dtype)} "
                           f"(cdist of X1 {x1.dtype} and X2 {x2.dtype}): convert them to one dtype first")
    if x1.dtype.name in ("float16", "bfloat16"):
        raise not_implemented_for("cdist", x1.dtype, "convert with .float() first")
    batch = broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    a = x1.expand(batch + tuple(x1.shape[-2:])) if tuple(x1.shape[:-2]) != batch else x1
    b = x2.expand(batch + tuple(x2.shape[-2:])) if tuple(x2.shape[:-2]) != batch else x2
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == "use_mm_for_euclid_dist_if_necessary" and (x1.shape[-2] > 25 or x2.shape[-2] > 25)))
    if use_mm:
        return EuclidCdist.apply(a, b)
    return _pnorm(a.unsqueeze(-2) - b.unsqueeze(-3), p)


@autocast_op({"cuda": "fp32"})
def pdist(input, p=2):
    """The distances between all pairs of rows i < j of a 2-D tensor, as a 1-D tensor."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    from .indexing import Index

    rows_i = Index.apply(input, (i,), True)
    rows_j = Index.apply(input, (j,), True)
    return _pnorm(rows_i - rows_j, p)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (inputs broadcast)."""
    nd = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if nd == 0:  # a 0-dim distance, with or without keepdim (torch)
        return _pnorm(diff.reshape(1), p, False)
    out = _pnorm(diff, p, keepdim)
    return out


@autocast_op({"cuda": "fp32"})
def dist(input, other, p=2):
    """||input - other||_p over all elements (the two broadcast), p any number (0 counts the
    non-zeros, inf and -inf take the largest and smallest magnitude); gradients as vector_norm's
    (0 where the distance is 0)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        from .elementwise import input_not_tensor

        raise input_not_tensor("dist", input, overloads=False)
    for t in (input, other):
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got "
                               f"{t.dtype} instead: convert the tensors with .float() first")
    p = float(p.item()) if isinstance(p, Tensor) else float(p)
    return (input - other).reshape(-1).norm(p)


Tensor.dist = dist


@autocast_op({"cuda": "fp32"})
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1/max(||x1||, eps) * x2/max(||x2||, eps)) over ``dim`` (inputs broadcast)."""
    common = result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {common} "
                           "(convert the inputs with .float() first)")
    x1, x2 = (x if x.dtype == common else x.to(common) for x in (x1, x2))  # computed in the common dtype
    shape = broadcast_shapes(x1.shape, x2.shape)
    d = _wrap_dim(dim, max(len(shape), 1))
    a = x1.expand(shape) if tuple(x1.shape) != shape else x1
    b = x2.expand(shape) if tuple(x2.shape) != shape else x2
    if not shape:
        a, b = a.reshape(1), b.reshape(1)
    na = _pnorm(a.movedim(d, -1), 2).unsqueeze(d)
    nb = _pnorm(b.movedim(d, -1), 2).unsqueeze(d)
    na = na.masked_fill(na < eps, eps)
    nb = nb.masked_fill(nb < eps, eps)
    out = ((a / na) * (b / nb)).sum(d)
    return out.reshape(()) if not shape else out
