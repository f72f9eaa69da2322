"""Embedding lookups: rows of a weight matrix picked by integer indices, and bags of them.

The lookup z = W[idx] and the scatter-add of row gradients dW = sum over positions of
g[pos] into row idx[pos] are each other's gradient (twice differentiable). Positions
holding padding_idx get no gradient; with scale_grad_by_freq each position's gradient
is divided by how often its index occurs in the batch. Both are a per-position factor c,
so dW = scatter(c * g) and its gradient gather(gz) * c.
"""

import numpy as np

from . import _batching
from .. import _backend
from .._device_checks import check
from ..autograd.function import Function
from ..autograd.forward_ad import linear_jvp
from ..autograd.grad_mode import no_grad
from .._unsupported import reject
from ..tensor import Tensor

__all__ = []
FUNCTIONAL = ["embedding", "embedding_bag"]


def _xp(arr):
    return _backend.array_module(arr)


class Lookup(Function):
    """z = W[idx] (rows);  dW = rows of c * g added into zeros at idx."""

    @classmethod
    def vmap(cls, info, in_dims, w, idx, factor):
        """Batched indices into a shared table: one more leading index dim (index_lookup).
        Per-sample tables (an ensemble's, or vmap(grad(f))'s parameters): the rows of every
        sample's table at the indices (by (sample, index)), the gradient scaled by the factor."""
        if in_dims[0] is None:
            return _batching.index_lookup(cls, info, in_dims, w, idx, factor)
        from ..creation import arange

        b = info.batch_size
        i = idx.expand((b,) + tuple(idx.shape)) if in_dims[1] is None else _batching.front(idx, in_dims[1])
        rows = _batching.front(w, in_dims[0])[(arange(b).reshape((-1,) + (1,) * (i.ndim - 1)), i)]
        if factor is None:
            return rows, 0
        f = factor.expand((b,) + tuple(factor.shape)) if in_dims[2] is None else _batching.front(factor, in_dims[2])
        f = f.unsqueeze(-1)
        return rows * f + rows.detach() * (1 - f), 0  # the values of rows, the gradient f * g

    _backward_name = "EmbeddingBackward0"
    _unlisted_inputs = (1, 2)  # the indices and the frequency scale

    @staticmethod
    def forward(ctx, w, idx, factor):
        ctx.num = w.shape[0]
        ctx.save_for_backward(idx, factor)
        return w._data[idx._data]

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        idx, factor = ctx.saved_tensors
        return RowScatter.apply(g, idx, ctx.num, factor), None, None


class RowScatter(Function):
    """z = zeros(num, D) with row c[pos] * g[pos] added at idx[pos];  dg = gz[idx] * c."""

    @classmethod
    def vmap(cls, info, in_dims, g, idx, num, factor):
        """The samples' rows into one (B*num, D) table (sample s's indices moved by s*num)."""
        from ..creation import arange

        b = info.batch_size

        def first(t, d):
            return t.expand((b,) + tuple(t.shape)) if d is None else _batching.front(t, d)

        rows = first(g, in_dims[0])
        rows = rows.reshape(b, -1, rows.shape[-1])
        at = first(idx, in_dims[1]).reshape(b, -1) + arange(b).reshape(b, 1) * num
        scale = None if factor is None else first(factor, in_dims[3]).reshape(-1)
        out = cls.apply(rows.reshape(-1, rows.shape[-1]), at.reshape(-1), b * num, scale)
        return out.reshape(b, num, -1), 0

    @staticmethod
    def forward(ctx, g, idx, num, factor):
        ctx.save_for_backward(idx, factor)
        gd = g._data
        d = gd.shape[-1]
        rows = gd.reshape(-1, d)
        if factor is not None:
            rows = rows * factor._data.reshape(-1, 1)
        xp = _xp(gd)
        out = xp.zeros((num, d), dtype=gd.dtype)
        flat = idx._data.reshape(-1)
        if xp is np:
            _add_rows(out, flat, rows)
        else:
            import cupyx

            _backend.call_into(cupyx.scatter_add, out, flat, rows)
        return out

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, gz):
        idx, factor = ctx.saved_tensors
        dg = Lookup.apply(gz, idx, None)
        if factor is not None:
            dg = dg * factor.unsqueeze(-1)
        return dg, None, None, None


def _add_rows(out, idx, rows):
    """out[idx[i]] += rows[i], repeated indices adding up. Sorting groups the repeats; round r
    adds every index's r-th occurrence with one vectorised (repeat-free) fancy-index add, so
    the rounds are as many as the largest repeat count (np.add.at is ~10x slower)."""
    if len(idx) == 0:
        return
    order = np.argsort(idx, kind="stable")
    si = idx[order]
    pos = np.arange(len(si))
    first = np.empty(len(si), dtype=bool)
    first[0] = True
    np.not_equal(si[1:], si[:-1], out=first[1:])
    rank = pos - np.maximum.accumulate(np.where(first, pos, 0))
    rounds = int(rank.max()) + 1
    if rounds > 16:  # heavy repeats (padding tokens): few distinct rows, sum each run at once
        starts = np.flatnonzero(first)
        out[si[starts]] += np.add.reduceat(rows[order], starts, axis=0)
        return
    for r in range(rounds):
        sel = np.flatnonzero(rank == r)
        out[si[sel]] += rows[order[sel]]


def _check_indices(input, num, name, runtime=False):
    """Every index in [0, num): IndexError, as torch's embedding; RuntimeError (``runtime``) as
    its embedding_bag and its embedding of an empty weight (another kernel checks there)."""
    if input.dtype.is_floating_point or input.dtype.name == "bool":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for {name})")
    if not input.numel():
        return
    x = input._data

    def error():
        lo, hi = int(x.min()), int(x.max())
        kind = RuntimeError if runtime else IndexError
        return kind(f"index out of range in self ({name}: index {hi if hi >= num else lo} is not in "
                    f"[0, {num}) for a weight with {num} rows)")

    if type(x) is np.ndarray:
        if x.min() < 0 or x.max() >= num:
            raise error()
    else:  # on a device: read at the next synchronisation, as torch's device-side assert
        check((x < 0) | (x >= num), error)


def _padding_idx(padding_idx, num):
    if padding_idx is None:
        return None
    if padding_idx >= num or padding_idx < -num:
        raise AssertionError(f"Padding_idx must be within num_embeddings (got {padding_idx} for {num})")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _renorm_(weight, idx, max_norm, norm_type):
    """Rows of weight used by idx rescaled in place to norm at most max_norm (torch's embedding_renorm_)."""
    with no_grad():
        xp = _xp(weight._data)
        rows = xp.unique(idx.reshape(-1))
        w = weight._data
        sel = w[rows]
        if norm_type == float("inf"):
            norms = xp.abs(sel).max(axis=1)
        else:
            norms = (xp.abs(sel) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
        w[rows] = sel * scale[:, None]
        weight._vc[0] += 1


def _factor(idx, padding_idx, scale_grad_by_freq, dtype):
    """Per-position gradient factor (None when every factor is 1)."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    xp = _xp(idx)
    f = xp.ones(idx.shape, dtype=dtype)
    if scale_grad_by_freq:
        _, inverse, counts = xp.unique(idx.reshape(-1), return_inverse=True, return_counts=True)
        f = (1.0 / counts[inverse.reshape(-1)]).astype(dtype).reshape(idx.shape)
    if padding_idx is not None:
        f = f * (idx != padding_idx)
    return Tensor._make(f.astype(dtype, copy=False))


def _batched_lookup(input, weight, padding_idx):
    """embedding of per-sample indices under vmap, once for the batch: a table shared by the
    samples looks up the batch's indices; per-sample tables (an ensemble's, or vmap(grad(f))'s
    parameters) are indexed at (sample, index), the padding rows detached (no gradient)."""
    if _batching.level(weight) < _batching.level(input):
        return _batching.on_batch(lambda i: embedding(i, weight, padding_idx), input)

    def per_sample(i, w):
        from ..creation import arange

        _check_indices(i, w.shape[1], "embedding")
        rows = w[(arange(w.shape[0]).reshape((-1,) + (1,) * (i.ndim - 1)), i)]
        pad = _padding_idx(padding_idx, w.shape[1])
        return rows if pad is None else rows.detach().where((i == pad).unsqueeze(-1), rows)

    return _batching.on_batch(per_sample, input, weight)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """weight[input]: one row of weight (num_embeddings, D) per index. padding_idx's row gets no gradient;
    max_norm renormalizes the rows used, in place; sparse=True (sparse gradients) raises NotImplementedError."""
    reject("embedding", sparse=sparse)
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got weight of size {list(weight.shape)}")
    num = weight.shape[0]
    if _batching.batched(input) and max_norm is None and not scale_grad_by_freq:
        return _batched_lookup(input, weight, padding_idx)
    _check_indices(input, num, "embedding", runtime=weight.numel() == 0)
    padding_idx = _padding_idx(padding_idx, num)
    idx = input._data.astype(np.int64, copy=False)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    factor = _factor(idx, padding_idx, scale_grad_by_freq, weight._data.dtype)
    return Lookup.apply(weight, Tensor._make(idx), factor)


def _bags_of_rows(input, weight, mode, per_sample_weights, padding_idx):
    """embedding_bag of a 2-D input (one bag per row) by batched ops, for vmap: the rows' embeddings
    (embedding's batched lookup), padding entries left out, reduced over each row; empty bags 0."""
    rows = embedding(input, weight)  # (bags, length, D)
    keep = None if padding_idx is None else (input != _padding_idx(padding_idx, weight.shape[-2])).unsqueeze(-1)
    if mode == "max":
        if keep is None:
            return rows.amax(1)
        picked = rows.masked_fill(keep.logical_not(), float("-inf")).amax(1)
        return picked.masked_fill(keep.any(1).logical_not(), 0.0)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.unsqueeze(-1)
    if keep is not None:
        rows = rows * keep.to(rows.dtype)
    total = rows.sum(1)
    if mode == "sum":
        return total
    count = rows.new_full((1, 1), float(input.shape[1])) if keep is None else keep.sum(1).to(rows.dtype)
    return total / count.clamp(min=1.0)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sum, mean or max of the embeddings of each bag: the rows of a 2-D input, or the segments of a 1-D
    input starting at offsets. Entries equal to padding_idx are left out; empty bags give zeros."""
    reject("embedding_bag", sparse=sparse)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                  "on GitHub.")
    if input.ndim == 2 and offsets is None and max_norm is None and not scale_grad_by_freq \
            and _batching.batched(input, weight, per_sample_weights):
        return _bags_of_rows(input, weight, mode, per_sample_weights, padding_idx)
    num = weight.shape[0]
    xp = _xp(weight._data)
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch "
                             "of fixed length sequences.")
        nbags, length = input.shape
        flat_idx = input._data.reshape(-1).astype(np.int64)
        bag = xp.repeat(xp.arange(nbags), length)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    elif input.ndim == 1:
        if offsets is None or offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor but got None" if offsets is None else
                             f"offsets has to be a 1D Tensor, got offsets of size {list(offsets.shape)}")
        off = offsets._data.astype(np.int64)
        if include_last_offset:
            off = off[:-1]
        nbags = len(off)
        if nbags and int(off[0]) != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {int(off[0])}")
        flat_idx = input._data.astype(np.int64)
        bag = xp.searchsorted(off, xp.arange(len(flat_idx)), side="right") - 1
        psw = per_sample_weights
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    _check_indices(Tensor._make(flat_idx), num, "embedding_bag", runtime=True)
    padding_idx = _padding_idx(padding_idx, num)
    if max_norm is not None:
        _renorm_(weight, flat_idx, max_norm, norm_type)
    if padding_idx is not None:  # padding entries take no part in any bag
        keep = xp.nonzero(flat_idx != padding_idx)[0]
        flat_idx, bag = flat_idx[keep], bag[keep]
        if psw is not None:
            psw = psw[Tensor._make(keep)]
    factor = _factor(flat_idx, None, scale_grad_by_freq, weight._data.dtype)
    rows = Lookup.apply(weight, Tensor._make(flat_idx), factor)  # (entries, D)
    bag_t = Tensor._make(bag.astype(np.int64))
    if mode == "max":
        return _bag_max(rows, bag, nbags, xp)
    if psw is not None:
        rows = rows * psw.unsqueeze(-1)
    out = RowScatter.apply(rows, bag_t, nbags, None)
    if mode == "mean":
        counts = xp.bincount(bag, minlength=nbags) if len(bag) else xp.zeros(nbags, dtype=np.int64)
        inv = (1.0 / xp.maximum(counts, 1)).astype(weight._data.dtype)
        out = out * Tensor._make(inv[:, None])
    return out


def _bag_max_scattered(rows, bag, nbags, xp):
    """_bag_max on a device, where CuPy has no maximum/minimum.reduceat: each bag's max and the
    first row holding it by scatter max/min (ufunc.at), and no host round trip."""
    n, d = rows.shape
    r = rows._data
    mx = xp.full((nbags, d), -np.inf, dtype=r.dtype)
    xp.maximum.at(mx, bag, r)
    first = xp.full((nbags, d), n, dtype=np.int64)
    xp.minimum.at(first, bag, xp.where(r == mx[bag], xp.arange(n)[:, None], n))
    filled = xp.zeros(nbags, dtype=bool)
    filled[bag] = True
    picked = rows[Tensor._make(xp.where(filled[:, None], first, 0)), Tensor._make(xp.arange(d)[None, :])]
    return picked * Tensor._make(filled[:, None].astype(r.dtype))


def _bag_max(rows, bag, nbags, xp):
    """Per-bag, per-column max of rows (bags are contiguous runs of `bag`); empty bags are zeros."""
    n, d = rows.shape
    out_rows = xp.zeros((nbags, d), dtype=np.int64)
    if n == 0:
        return Tensor._make(xp.zeros((nbags, d), dtype=rows._data.dtype))
    if xp is not np:
        return _bag_max_scattered(rows, bag, nbags, xp)
    starts = xp.nonzero(xp.r_[True, bag[1:] != bag[:-1]])[0]
    ids = bag[starts]
    r = rows._data
    mx = xp.maximum.reduceat(r, starts, axis=0)
    cand = xp.where(r == mx[xp.searchsorted(starts, xp.arange(n), side="right") - 1], xp.arange(n)[:, None], n)
    first = xp.minimum.reduceat(cand, starts, axis=0)  # the first row holding each max
    out_rows[ids] = first
    picked = rows[Tensor._make(out_rows), Tensor._make(xp.arange(d)[None, :])]
    empty = xp.ones(nbags, dtype=bool)
    empty[ids] = False
    if empty.any():
        picked = picked * Tensor._make((~empty)[:, None].astype(r.dtype))
    return picked
