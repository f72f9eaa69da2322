"""``linear_cross_entropy``: cross_entropy(linear(input, W, b), target) in one call.

With ``options=None`` it is that composition, op by op (torch's reference path). With a
``nn.LinearCrossEntropyOptions`` it takes the chunked path: the batch goes through in chunks of
rows, so no more than one (chunk, C) block of logits exists at a time, never the whole (N, C)
matrix (a language model's vocabulary head: C = 50k classes, N = thousands of tokens). The
forward keeps each row's log-sum-exp; the backward recomputes each chunk's logits from it and
turns them into that chunk's gradients:

    loss_i = w_{t_i} (lse_i - z_{i,t_i}),   z = x W^T + b,   lse_i = log sum_c exp z_ic
    dz_i = s_i w_{t_i} (softmax(z_i) - onehot(t_i)),   dx = dz W,  dW = dz^T x,  db = sum_i dz_i

with s_i the upstream gradient (divided by sum_i w_{t_i} for the mean). Configurations the chunked
path does not cover fall back to the reference path with torch's warning.
"""

import warnings

import numpy as np

from .. import _backend
from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from .linear import linear
from .loss import _check_class_target, _check_reduction, _target_weights, cross_entropy

__all__ = []  # nn-only: exported through retrograd.nn.functional
FUNCTIONAL = ["linear_cross_entropy"]

_HALF = ("float16", "bfloat16")


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...): input (in,) or (N, in);
    linear_weight (C, in) or (C, d1..dK, in) for a K-dimensional loss (logits (N, C, d1..dK));
    ignore_index None means -100. ``options`` (nn.LinearCrossEntropyOptions): the chunked path
    (see the module), which never holds the whole logits matrix."""
    _check_reduction(reduction)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim} (linear_cross_entropy: "
                           f"input {list(input.shape)} must be (in_features,) or (N, in_features))")
    if ignore_index is None:
        ignore_index = -100
    if options is not None:
        out_features = tuple(linear_weight.shape[1:-1])
        if (label_smoothing == 0 and target.dtype.name == "int64" and out_features == ()
                and (linear_bias is None or linear_bias.ndim == 1)):
            return _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options)
        bias_shape = None if linear_bias is None else tuple(linear_bias.shape)
        warnings.warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in {'mean','sum','none'}, "
            "label_smoothing == 0, target.dtype == int64, out_features == (). Got "
            f"reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype=torch.{target.dtype.name}, "
            f"out_features={out_features}, tracing=False, linear_bias.shape={bias_shape}.", UserWarning, stacklevel=2)
    c, *out_features, in_features = linear_weight.shape
    logits = linear(input, linear_weight.reshape(-1, in_features),
                    None if linear_bias is None else linear_bias.reshape(-1))
    logits = logits.reshape(*input.shape[:-1], c, *out_features)
    return cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                         label_smoothing=label_smoothing)


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options):
    c, in_features = linear_weight.shape
    _check_class_target(input.reshape(-1, in_features) if input.ndim == 1 else input,
                        target.reshape(1) if input.ndim == 1 and target.ndim == 0 else target,
                        "cross_entropy")
    acc = _acc_dtype(input, options)
    n = 1 if input.ndim == 1 else input.shape[0]
    if options.batch_chunk_size is not None:
        chunk = options.batch_chunk_size
    else:
        ratio = 2 if options.chunking_method in (None, "auto") else int(options.chunking_method.split(":")[1])
        chunk = max(1, ratio * in_features)
    loss = _ChunkedLinearCrossEntropy.apply(input, linear_weight, linear_bias, target, weight, ignore_index,
                                            reduction, min(chunk, max(n, 1)), acc, options.allow_retain_graph)
    return loss


def _acc_dtype(input, options):
    """The dtype the chunks are computed in: float32 for float16/bfloat16 input (torch's mixed
    precision), else the input's own; torch's RuntimeError for another ``acc_dtype``."""
    name = input.dtype.name
    acc = options.acc_dtype
    if acc is not None and acc.name != name and not (acc.name == "float32" and name in _HALF):
        raise RuntimeError(f"linear_cross_entropy supports float32 acc_dtype with float16/bfloat16 inputs, but got "
                           f"torch.{acc.name} acc_dtype and torch.{name} inputs.")
    if name in _HALF:
        if options.acc_policy in ("compact", "balanced"):
            raise NotImplementedError(
                f"linear_cross_entropy: LinearCrossEntropyOptions(acc_policy={options.acc_policy!r}) with "
                f"torch.{name} input is not implemented in retrograd (it keeps every intermediate in float32, "
                "acc_policy='accurate'): use acc_policy='accurate' or 'auto'")
        return np.dtype(np.float32)
    return input._data.dtype


class _ChunkedLinearCrossEntropy(Function):
    """The chunked path's loss (see the module): the forward keeps the rows' log-sum-exp, the
    backward recomputes the logits chunk by chunk."""

    _backward_name = "LinearCrossEntropyChunkedBackward0"

    @staticmethod
    def forward(ctx, x, w, b, target, weight, ignore_index, reduction, chunk, acc, allow_retain_graph):
        xa, wa = x._data.reshape(-1, w.shape[1]), w._data
        ba = None if b is None else b._data
        if xa.dtype != wa.dtype or (ba is not None and ba.dtype != xa.dtype):
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {x.dtype} != {w.dtype} "
                               f"(linear_cross_entropy: input, linear_weight and linear_bias must share a dtype)")
        if ba is not None and ba.shape != (wa.shape[0],):
            raise RuntimeError(f"linear_cross_entropy: linear_bias of shape {list(ba.shape)} does not match "
                               f"num_classes {wa.shape[0]} of linear_weight {list(wa.shape)}")
        xp = _backend.array_module(xa)
        n, c = xa.shape[0], wa.shape[0]
        wc = None if weight is None else weight._data.astype(acc, copy=False)
        _, tt, wt = _target_weights(xp, target._data.reshape(-1), c, wc, ignore_index, acc)
        lse = xp.empty(n, dtype=acc)
        rows = xp.empty(n, dtype=acc)
        for s in range(0, n, chunk):
            z = _logits(xa[s:s + chunk], wa, ba, acc)
            top = z.max(axis=1, keepdims=True)
            z -= top
            shifted_lse = xp.log(xp.exp(z).sum(axis=1))  # lse - max
            lse[s:s + chunk] = shifted_lse + top[:, 0]
            rows[s:s + chunk] = wt[s:s + chunk] * (shifted_lse - z[xp.arange(z.shape[0]), tt[s:s + chunk]])
        total = wt.sum()
        ctx.save_for_backward(x, w, b)
        ctx.rows = lse, tt, wt, total
        ctx.opts = reduction, chunk, acc, allow_retain_graph
        ctx.used = False
        dtype = xa.dtype
        if reduction == "none":
            return _backend.cast(rows, dtype).reshape(tuple(target.shape))
        with np.errstate(invalid="ignore", divide="ignore"):  # torch: nan for a mean over no weight
            return _backend.cast(xp.asarray(rows.sum() / total if reduction == "mean" else rows.sum()), dtype)

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        """d row = wt (softmax(z) . dz - dz[target]), dz = dx W^T + x dW^T + db, chunk by chunk
        (torch's chunked path drops the tangent; this is the reference path's)."""
        x, w, b = ctx._fw_args[:3]
        reduction, chunk, acc, _ = ctx.opts
        lse, tt, wt, total = ctx.rows
        xa, wa = x._data.reshape(-1, w.shape[1]), w._data
        ba = None if b is None else b._data
        xp = _backend.array_module(xa)
        txa = None if tx is None else tx._data.reshape(xa.shape).astype(acc, copy=False)
        trows = xp.empty(xa.shape[0], dtype=acc)
        for s in range(0, xa.shape[0], chunk):
            xc = xa[s:s + chunk]
            p = _logits(xc, wa, ba, acc)
            p -= lse[s:s + chunk, None]
            p = xp.exp(p, out=p)  # softmax(z)
            dz = xp.zeros_like(p)
            if txa is not None:
                dz += txa[s:s + chunk] @ wa.astype(acc, copy=False).T
            if tw is not None:
                dz += xc.astype(acc, copy=False) @ tw._data.astype(acc, copy=False).T
            if tb is not None:
                dz += tb._data.astype(acc, copy=False)
            rows = xp.arange(dz.shape[0])
            trows[s:s + chunk] = wt[s:s + chunk] * ((p * dz).sum(axis=1) - dz[rows, tt[s:s + chunk]])
        dtype = xa.dtype
        if reduction == "none":
            return Tensor._make(_backend.cast(trows, dtype).reshape(tuple(ctx._fw_args[3].shape)))
        with np.errstate(invalid="ignore", divide="ignore"):
            total_tangent = trows.sum() / total if reduction == "mean" else trows.sum()
            return Tensor._make(_backend.cast(xp.asarray(total_tangent), dtype))

    @staticmethod
    def backward(ctx, g):
        reduction, chunk, acc, allow_retain_graph = ctx.opts
        if ctx.used and not allow_retain_graph:
            raise RuntimeError("linear_cross_entropy chunked backward called twice; retain_graph=True / double "
                               "backward are not supported. (Pass LinearCrossEntropyOptions(allow_retain_graph=True) "
                               "to allow it.)")
        if _state.enabled:
            raise RuntimeError("linear_cross_entropy's chunked path does not support create_graph=True (higher-order "
                               "gradients), as torch's: use options=None, the reference path")
        ctx.used = True
        x, w, b = ctx.saved_tensors
        lse, tt, wt, total = ctx.rows
        xa, wa = x._data.reshape(-1, w.shape[1]), w._data
        ba = None if b is None else b._data
        xp = _backend.array_module(xa)
        ga = g._data.astype(acc, copy=False)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = wt * (ga.reshape(-1) if reduction == "none" else (ga / total if reduction == "mean" else ga))
        need = ctx.needs_input_grad
        dx = xp.empty(xa.shape, dtype=acc) if need[0] else None
        dw = xp.zeros(wa.shape, dtype=acc) if need[1] else None
        db = xp.zeros(wa.shape[0], dtype=acc) if b is not None and need[2] else None
        for s in range(0, xa.shape[0], chunk):
            xc = xa[s:s + chunk]
            dz = _logits(xc, wa, ba, acc)
            dz -= lse[s:s + chunk, None]
            dz = xp.exp(dz, out=dz)  # softmax(z)
            dz[xp.arange(dz.shape[0]), tt[s:s + chunk]] -= 1
            dz *= scale[s:s + chunk, None]
            if dx is not None:
                dx[s:s + chunk] = dz @ wa.astype(acc, copy=False)
            if dw is not None:
                dw += dz.T @ xc.astype(acc, copy=False)
            if db is not None:
                db += dz.sum(axis=0)
        dtype = xa.dtype
        wrap = Tensor._make
        cast = _backend.cast  # (to bfloat16 on CUDA too, which CuPy's astype cannot do)
        return (None if dx is None else wrap(cast(dx, dtype).reshape(tuple(x.shape))),
                None if dw is None else wrap(cast(dw, dtype)),
                None if db is None else wrap(cast(db, dtype))) + (None,) * 7


def _logits(xc, wa, ba, acc):
    """One chunk's logits x W^T + b, in the accumulation dtype."""
    z = xc.astype(acc, copy=False) @ wa.astype(acc, copy=False).T
    if ba is not None:
        z += ba.astype(acc, copy=False)
    return z

