"""Normalization layers' ops: batch, layer, group, instance, RMS and local response norm.

Batch, layer, group and instance norm share one fused Function: statistics over some
axes of x (seen through a reshape), x_hat = (x - mean) * rstd, y = x_hat * w + b.
Its backward is the closed form (means over the normalized axes, M elements each):

    g_hat = g * w
    dx = rstd * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))
    dw = sum of g * x_hat,   db = sum of g   (over the axes w is broadcast along)

written with tensor ops. Under create_graph the statistics are recomputed from x with
tensor ops, so the gradient is itself differentiable in x (double backward works);
otherwise the forward's saved mean and rstd are used.
"""

import math

import numpy as np

from ..amp.autocast_mode import autocast_op
from .. import _backend
from .._float_warnings import silent
from . import _cuda_kernels
from ..autograd.function import Function
from ..autograd.forward_ad import fsum
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor, _wrap_dim
from ._inplace import make_inplace
from ._kernel_dtypes import check_floating, not_implemented_for
from ._method import tensor_method
from ._out import SAME, takes_out
from . import _batching
from ._broadcast import sum_to_shape
from ._rows import _ones, block_rows, col_sums, numpy_rows_ok, row_sums, vecdot as _vecdot

__all__ = ["layer_norm", "group_norm", "rms_norm"]
FUNCTIONAL = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm", "local_response_norm"]


def _xp(arr):
    return _backend.array_module(arr)


class Normalize(Function):
    """y = (x - mean) * rstd * w + b, statistics over `axes` of x.reshape(view) (given as arrays);
    dx = rstd * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) with g_hat = g * w,
    dw = sum g * x_hat,  db = sum g.

    wview: w's shape in the view when w is constant over each normalized group (batch and
    instance norm), which lets the backward fold w into per-group coefficients."""

    _listed_inputs = 3  # (input, weight, bias), None where absent, as torch
    centered = False  # True where the forward saved x - mean in x_hat's place (layer norm's rows)
    low = None  # float16/bfloat16 x (computed in float32): the dtypes of (x, w, b), for the gradients

    @staticmethod
    def forward(ctx, x, w, b, view, axes, wshape, mean, rstd, eps, xc=None, wview=None):
        ctx.view, ctx.axes, ctx.wshape, ctx.eps, ctx.wview = view, axes, wshape, eps, wview
        xd = x._data
        ctx.x_shape = xd.shape
        ctx.b_shape = None if b is None else b._data.shape
        if mean is None:  # CUDA layer norm (see layer_norm): statistics and affine in one kernel
            y, mean, rstd = _cuda_kernels.layer_norm_forward(
                xd.reshape(view), *(None if t is None else t._data.reshape(-1) for t in (w, b)), eps)
            ctx.save_for_backward(x, w, Tensor._make(mean), Tensor._make(rstd), None)
            return y.reshape(xd.shape)
        wd, bd, xf = None if w is None else w._data, None if b is None else b._data, xd
        if xd.dtype.itemsize == 2:  # float16/bfloat16 x: float32 statistics and math, as torch (see _stats)
            ctx.low = tuple(None if t is None else t.dtype for t in (x, w, b))  # the gradients' dtypes
            xf, wd, bd = (a if a is None or a.dtype.itemsize == 4 else _backend.cast(a, np.float32)
                          for a in (xd, wd, bd))
        if xc is not None and w is not None and wview is None and ctx.low is None and _rows_ok(xc, w, view):
            y = _layer_norm_rows(xc, rstd, wd, bd)
            ctx.centered = True  # the backward reads x - mean (saved in x_hat's place) and rstd
            ctx.save_for_backward(x, w, Tensor._make(mean), Tensor._make(rstd), Tensor._make(xc))
            return y.reshape(xd.shape)
        y = xf.reshape(view) - mean if xc is None else xc  # xc: a scratch copy made by the caller
        xhat = None
        if w is not None and wview is not None:
            y *= rstd * wd.reshape(wview)
        else:
            y *= rstd
            if w is not None:  # x_hat is kept for the backward (it would cost two passes again)
                xhat = Tensor._make(y)
                y = y.reshape(xd.shape) * wd.reshape(wshape)
        y = y.reshape(xd.shape)
        if b is not None:
            y += bd.reshape(wshape)
        ctx.save_for_backward(x, w, Tensor._make(mean), Tensor._make(rstd), xhat)
        if ctx.low is not None:  # computed in float32: rounded once to the input's dtype
            return _backend.cast(y, xd.dtype)
        return y.astype(xd.dtype, copy=False)

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        """dy = d(x_hat)*w + x_hat*dw + db,  d(x_hat) = rstd*(dx - mean(dx) - x_hat*mean(dx*x_hat))
        over the normalized axes (the statistics as functions of x, as the backward's)."""
        x, w, b, view, axes, wshape = ctx._fw_args[:6]
        xv = x.reshape(view)
        xc = xv - xv.mean(axes, keepdim=True)
        rstd = ((xc * xc).mean(axes, keepdim=True) + ctx.eps) ** -0.5
        xhat = xc * rstd
        tv = tx.reshape(view)
        dxhat = (rstd * (tv - tv.mean(axes, keepdim=True) - xhat * (tv * xhat).mean(axes, keepdim=True))
                 ).reshape(ctx.x_shape)
        xhat = xhat.reshape(ctx.x_shape)
        return fsum(dxhat if w is None else dxhat * w.reshape(wshape),
                    None if tw is None else xhat * tw.reshape(wshape),
                    None if tb is None else tb.reshape(wshape))

    @staticmethod
    def backward(ctx, g):
        x, w, mean, rstd, xhat = ctx.saved_tensors
        low = ctx.low
        if low is not None:  # float16/bfloat16 x: in float32 (as the forward), each gradient cast back
            if all(dt is None or dt == low[0] for dt in low[1:]):
                # parameters of x's dtype (or none): torch saves the statistics in that dtype, and its
                # backward reads them rounded (layer and group norm: the forward used them unrounded)
                mean, rstd = (Tensor._make(_backend.cast(_backend.cast(t._data, x._data.dtype), np.float32))
                              for t in (mean, rstd))
                xhat = None  # (recomputed from the rounded statistics)
            x, w, g = x.float(), None if w is None else w.float(), g.float()
        if not is_grad_enabled():
            grads = _normalize_backward_arrays(ctx, x, w, mean, rstd, xhat, g)
            return grads if low is None else _in_dtypes(grads, low)
        view, axes, wshape = ctx.view, ctx.axes, ctx.wshape
        need = ctx.needs_input_grad
        # create_graph: the statistics as functions of x, so that the gradient is differentiable in x
        xv = x.reshape(view)
        mean = xv.mean(axes, keepdim=True)
        xc = xv - mean
        rstd = ((xc * xc).mean(axes, keepdim=True) + ctx.eps) ** -0.5
        xhat = xc * rstd
        gx = gw = gb = None
        if need[0]:
            ghat = (g * w.reshape(wshape) if w is not None else g).reshape(view)
            gx = rstd * (ghat - ghat.mean(axes, keepdim=True)
                         - xhat * (ghat * xhat).mean(axes, keepdim=True))
            gx = gx.reshape(ctx.x_shape)
        if w is not None and need[1]:
            gw = sum_to_shape(g * xhat.reshape(ctx.x_shape), wshape).reshape(w.shape)
        if need[2]:
            gb = sum_to_shape(g, wshape).reshape(ctx.b_shape)
        grads = gx, gw, gb, None, None, None, None, None, None, None, None
        return grads if low is None else _in_dtypes(grads, low)


def _in_dtypes(grads, dtypes):
    """The gradients of (x, w, b) computed in float32 for a float16/bfloat16 x, in those inputs' dtypes."""
    return tuple(v if v is None else v.to(dt) for v, dt in zip(grads, dtypes)) + grads[3:]


# torch's node names for the normalizations Normalize computes. Under vmap their functionals
# pass None for the statistics (which they would read from the batch's arrays), and each rule
# normalizes the whole batch by its functional on plain tensors: w and b batched (an ensemble's,
# or the parameters of vmap(grad(f))) are applied after, per sample.
def _batch_first(info, x, d):
    return x.expand((info.batch_size,) + tuple(x.shape)) if d is None else _batching.front(x, d)


def _affine_per_sample(y, w, dw, b, db, shape):
    """y * w + b for a batch y (batch dim first), w and b (batched or not) as `shape` per sample."""
    if w is not None:
        y = y * (w.reshape(shape) if dw is None else _batching.front(w, dw).reshape((-1,) + tuple(shape)))
    if b is not None:
        y = y + (b.reshape(shape) if db is None else _batching.front(b, db).reshape((-1,) + tuple(shape)))
    return y


def _folded(x, norm):
    """``norm`` of x (B, N, ...) with the batch folded into N (norms of each sample's rows)."""
    y = norm(x.reshape((-1,) + tuple(x.shape[2:])))
    return y.reshape(tuple(x.shape))


class BatchNorm(Normalize):
    _backward_name = "NativeBatchNormBackward0"

    @classmethod
    def vmap(cls, info, in_dims, x, w, b, view, axes, cshape, mean, rstd, eps, *rest):
        """Instance norm (statistics per row and channel): the batch folded into N. Batch norm
        in training (statistics per channel over N and space): the samples' channels side by
        side, (N, B*C, ...), so each sample's statistics are its own."""
        x = _batch_first(info, x, in_dims[0])
        if 0 not in axes:
            y = _folded(x, lambda v: instance_norm(v, eps=eps))
        else:
            n, c = x.shape[1], x.shape[2]
            side = x.movedim(0, 1).reshape((n, -1) + tuple(x.shape[3:]))
            y = batch_norm(side, None, None, training=True, eps=eps).reshape(
                (n, x.shape[0], c) + tuple(x.shape[3:])).movedim(1, 0)
        return _affine_per_sample(y, w, in_dims[1], b, in_dims[2], cshape), 0


class LayerNorm(Normalize):
    _backward_name = "NativeLayerNormBackward0"

    @classmethod
    def vmap(cls, info, in_dims, x, w, b, view, axes, shape, mean, rstd, eps, *rest):
        """Layer norm over the last dims: the batch dim is one more leading dim."""
        x = _batch_first(info, x, in_dims[0])
        if in_dims[1] is None and in_dims[2] is None:
            return layer_norm(x, shape, w, b, eps), 0
        y = layer_norm(x, shape, None, None, eps)
        return _affine_per_sample(y, w, in_dims[1], b, in_dims[2], (1,) * (x.ndim - 1 - len(shape)) + shape), 0


class GroupNorm(Normalize):
    _backward_name = "NativeGroupNormBackward0"

    @classmethod
    def vmap(cls, info, in_dims, x, w, b, view, axes, cshape, mean, rstd, eps, *rest):
        """Group norm (statistics per row and group): the batch folded into N."""
        x = _batch_first(info, x, in_dims[0])
        if in_dims[1] is None and in_dims[2] is None:
            return _folded(x, lambda v: group_norm(v, view[1], w, b, eps)), 0
        y = _folded(x, lambda v: group_norm(v, view[1], None, None, eps))
        return _affine_per_sample(y, w, in_dims[1], b, in_dims[2], cshape), 0


def _running_stats_not_batched(input, running_mean, running_var):
    """torch's error for batch statistics of a batched input that would update unbatched running ones."""
    if _batching.batched(input) and any(t is not None and not _batching.batched(t) for t in (running_mean, running_var)):
        return RuntimeError(
            "Batch norm got a batched tensor as input while the running_mean or running_var, which will be "
            "updated in place, were not batched.\nIf you are using a module and do not need eval mode, please "
            "set `track_running_stats` to be False.If you are using a prebuilt module and do not need eval "
            "mode, please see the functorch website for resources on how to patch your module to work with vmap")
    return None


def _sum_to(a, shape):
    """a summed over the axes where `shape` (same ndim, or trailing dims) is 1 or missing."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1)
    return a.sum(axis=axes).reshape(shape) if axes else a.reshape(shape)


def _normalize_backward_arrays(ctx, x, w, mean, rstd, xhat, g):
    """The closed-form backward on arrays, in few passes (the path without create_graph)."""
    view, axes, wshape, wview = ctx.view, ctx.axes, ctx.wshape, ctx.wview
    need = ctx.needs_input_grad
    if type(g._data) is not np.ndarray and type(ctx) is LayerNorm and _cuda_kernels.fits(
            x._data, g._data, mean._data, rstd._data, None if w is None else w._data):
        dx, dw, db = _cuda_kernels.layer_norm_backward(
            x._data.reshape(view), None if w is None else w._data.reshape(-1), g._data.reshape(view),
            mean._data, rstd._data, need[0], w is not None and need[1], need[2])
        return (None if dx is None else Tensor._make(dx.reshape(ctx.x_shape)),
                None if dw is None else Tensor._make(dw.reshape(w.shape)),
                None if db is None else Tensor._make(db.reshape(ctx.b_shape)),
                None, None, None, None, None, None, None, None)
    if ctx.centered:  # layer norm's rows: x - mean saved in x_hat's place
        return _layer_norm_backward_rows(ctx, w._data.reshape(-1), rstd._data, xhat._data.reshape(view),
                                         g._data.reshape(view))
    rstd = rstd._data
    if xhat is None:
        xhat = x._data.reshape(view) - mean._data
        xhat *= rstd
    else:  # saved by the forward: read only
        xhat = xhat._data.reshape(view)
    gd = g._data
    gv = gd.reshape(view)
    m = math.prod([view[a] for a in axes])
    gx = gw = gb = None
    if wview is not None or w is None:  # w constant over each group: dx = g*a + xhat*c1 + c0
        s1 = gv.sum(axis=axes, keepdims=True)
        s2 = (gv * xhat).sum(axis=axes, keepdims=True)
        if w is not None and need[1]:
            gw = Tensor._make(_sum_to(s2, wview).reshape(w.shape))
        if need[2]:
            gb = Tensor._make((_sum_to(s1, wview) if wview is not None else _sum_to(gd, wshape)).reshape(ctx.b_shape))
        if need[0]:
            a = rstd if w is None else rstd * w._data.reshape(wview)
            gx = gv * a
            xhat *= a * s2 * (-1.0 / m)
            gx += xhat
            gx -= a * s1 * (1.0 / m)
            gx = Tensor._make(gx.reshape(ctx.x_shape))
        return gx, gw, gb, None, None, None, None, None, None, None, None
    # per-channel w over groups of channels (group norm)
    if need[1]:
        gw = Tensor._make(_sum_to(gd * xhat.reshape(ctx.x_shape), wshape).reshape(w.shape))
    if need[2]:
        gb = Tensor._make(_sum_to(gd, wshape).reshape(ctx.b_shape))
    if need[0]:
        ghat = (gd * w._data.reshape(wshape)).reshape(view)
        m1 = ghat.mean(axis=axes, keepdims=True)
        m2 = (ghat * xhat).mean(axis=axes, keepdims=True)
        ghat -= m1
        ghat -= xhat * m2
        ghat *= rstd
        gx = Tensor._make(ghat.reshape(ctx.x_shape))
    return gx, gw, gb, None, None, None, None, None, None, None, None


def _rows_ok(xc, w, view):
    """Whether layer norm takes the (rows, features) path below: a contiguous NumPy float32 or
    float64 x - mean of shape view = (rows, features), w one per feature in the same dtype."""
    return (numpy_rows_ok(xc) and len(view) == 2 and xc.shape == tuple(view) and w._data.dtype == xc.dtype
            and w._data.size == view[1])


def _pad(a):
    """a's values as the first of two rows, the second zeros (see _outer)."""
    p = np.zeros((2, a.size), dtype=a.dtype)
    p[0] = a.reshape(-1)
    return p


def _outer(u, v, out):
    """out[i, j] = u[0, i] v[0, j] (the second rows zeros) as one BLAS product (rows, 2) @ (2,
    features): the table written at memory speed, where NumPy's broadcast of a column against
    a row costs ~3 elementwise passes (and OpenBLAS's inner size 1 is slower still)."""
    return np.matmul(u.T, v, out=out)


def _layer_norm_rows(xc, rstd, w, b):
    """y = (x - mean) * (rstd w) + b, in the scratch xc's dtype: the table rstd_i w_j as one
    product (see _outer), then two in-place passes. xc itself is kept (saved for the backward)."""
    y = _outer(_pad(rstd), _pad(w), np.empty_like(xc))
    y *= xc
    if b is not None:
        y += b.reshape(-1)
    return y


def _layer_norm_backward_rows(ctx, w, rstd, xc, g):
    """Layer norm's backward for (rows, features) arrays g and xc = x - mean, w per feature
    (x_hat = xc * rstd). With g_hat = g * w, m1 = mean(g_hat), m2 = mean(g_hat * xc):
        dx = g * (rstd w) + xc * (-rstd^3 m2) - rstd m1
        dw = sum over rows of rstd * g * xc,  db = sum over rows of g
    every sum over rows or features a matrix-vector product (see _rows.py), the table
    rstd_i w_j one product (see _outer); computed by blocks of rows (see _rows.row_blocks),
    the blocks' sums for dw and db added after (rows of one block: written directly)."""
    need = ctx.needs_input_grad
    n, m = g.shape
    step = block_rows(m)
    gx = np.empty_like(g) if need[0] else None
    pw = _pad(w) if need[0] else None
    r = rstd[:, 0]
    if n <= step:
        dw = np.empty(m, dtype=g.dtype) if need[1] else None
        db = np.empty(m, dtype=g.dtype) if need[2] else None
        _layer_norm_backward_block(g, xc, r, w, pw, gx, dw, db)
    else:
        parts = np.empty((2, -(-n // step), m), dtype=g.dtype)  # each block's sums for dw and db
        for k, lo in enumerate(range(0, n, step)):
            hi = lo + step
            _layer_norm_backward_block(g[lo:hi], xc[lo:hi], r[lo:hi], w, pw, None if gx is None else gx[lo:hi],
                                       parts[0, k] if need[1] else None, parts[1, k] if need[2] else None)
        dw = parts[0].sum(0) if need[1] else None
        db = parts[1].sum(0) if need[2] else None
    return (None if gx is None else Tensor._make(gx.reshape(ctx.x_shape)),
            None if dw is None else Tensor._make(dw.reshape(ctx.wshape)),
            None if db is None else Tensor._make(db.reshape(ctx.b_shape))) + _NO_GRADS


_NO_GRADS = (None,) * 8  # the gradients of Normalize's arguments after (input, weight, bias)


def _layer_norm_backward_block(g, xc, r, w, pw, gx, dw, db):
    """_layer_norm_backward_rows on one block of rows: dx into gx, the block's sums for dw and
    db into dw and db (each where not None); r: rstd as a vector, pw: _pad(w)."""
    gxc = g * xc
    if dw is not None:
        np.matmul(r, gxc, out=dw)  # sum of g*x_hat
    if db is not None:
        db[...] = col_sums(g)  # sum of g
    if gx is not None:
        c0 = g @ w  # sum of g_hat, then -rstd m1
        c0 *= r
        c0 *= -1.0 / len(w)
        c1 = gxc @ w  # sum of g_hat*xc, then -rstd^3 m2
        c1 *= r
        c1 *= r
        c1 *= r
        c1 *= -1.0 / len(w)
        # xc*c1 + c0 (per-row c1, c0) in gx first, the row values copied by rows (NumPy's
        # arithmetic with a column costs ~2-3 passes, the copy one: see softmax.py), then g*(rstd w)
        t = gx
        t[...] = c1[:, None]
        np.multiply(xc, t, out=t)
        gxc[...] = c0[:, None]
        t += gxc
        out = _outer(_pad(r), pw, gxc)
        out *= g
        np.add(out, t, out=t)


def _stats(xd, view, axes, eps):
    """(mean, rstd, biased var, x - mean) of x.reshape(view) over axes, keeping dims; of a float16
    or bfloat16 x, in float32 (torch's accumulation type for them), all four float32."""
    if axes == (1,) and len(view) == 2 and type(xd) is np.ndarray and xd.dtype.char in "fd" and xd.size \
            and xd.flags.c_contiguous:
        return _row_stats(xd.reshape(view), eps)
    if xd.dtype.itemsize == 2:
        return _stats(_backend.cast(xd, np.float32), view, axes, eps)
    xp = _xp(xd)
    xv = xd.reshape(view)
    rows = len(view) == 2 and axes == (1,) and xd.dtype.itemsize >= 4
    with silent():  # (ndarray.mean's inf + -inf is nan silently, as in torch)
        mean = row_sums(xv, keepdims=True) * (1.0 / max(view[1], 1)) if rows else xv.mean(axis=axes, keepdims=True)
        xc = xv - mean
        if rows:  # a sum of squares without a temporary (NumPy 2's vecdot: 30% faster than einsum)
            sq = _vecdot(xc, xc) if xp is np and _vecdot is not None else xp.einsum("ij,ij->i", xc, xc)
            var = sq[:, None] * (1.0 / max(view[1], 1))
        else:
            var = (xc * xc).mean(axis=axes, keepdims=True)
    rstd = 1.0 / xp.sqrt(var + eps)
    return mean, rstd.astype(xd.dtype, copy=False), var, xc


def _row_stats(x, eps):
    """_stats of a contiguous, non-empty NumPy float32 or float64 (rows, features) array x, in
    few NumPy calls (on short rows each call's own ~0.3-0.5 us counts): the row sums as one
    matrix-vector product (see _rows.py), x - mean as -mean copied by rows plus x (NumPy's
    arithmetic with a column costs ~2-3 passes, the copy one: see softmax.py), the sums of
    squares by vecdot, the rest in place."""
    m = x.shape[1]
    inv = 1.0 / m
    mean = np.matmul(x, _ones(x, m))
    mean *= inv
    xc = np.empty_like(x)
    xc[...] = np.subtract(0.0, mean)[:, None]  # -mean (+0.0 for a zero mean)
    xc += x
    var = (_vecdot(xc, xc) if _vecdot is not None else np.einsum("ij,ij->i", xc, xc))[:, None]
    var *= inv
    rstd = var + eps
    np.sqrt(rstd, out=rstd)
    np.divide(1.0, rstd, out=rstd)
    return mean[:, None], rstd, var, xc


def _affine_eval(x, mean, var, weight, bias, eps, cshape):
    """(x - mean) / sqrt(var + eps) * w + b with fixed statistics: y = x * scale + shift. Of a
    float16/bfloat16 x: (x - mean) * scale + b in float32, rounded once, as torch's CPU kernel."""
    if x._data.dtype.itemsize == 2:
        f = [None if t is None else t.float() for t in (x, mean, var, weight, bias)]
        scale = (f[2] + eps).rsqrt()
        if weight is not None:
            scale = scale * f[3]
        y = (f[0] - f[1].reshape(cshape)) * scale.reshape(cshape)
        return (y if bias is None else y + f[4].reshape(cshape)).to(x.dtype)
    if _batching.batched(mean, var):  # an ensemble's running statistics: by ops, on the batch
        rstd, mean = (var + eps).rsqrt().to(x.dtype), mean.to(x.dtype)
    else:
        rstd, mean = _eval_stats(mean, var, eps, x._data.dtype)
        rstd, mean = Tensor._make(rstd), Tensor._make(mean)
    scale = rstd if weight is None else weight * rstd
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return x * scale.reshape(cshape) + shift.reshape(cshape)


def _half_statistics(input, params, mean, rstd, xc, eps):
    """Batch (and instance) norm of a float16/bfloat16 input whose parameters are of its dtype (or
    absent): the float32 mean and rstd rounded to its dtype, then used in float32 (x - mean is
    recomputed from the rounded mean), as torch's CPU kernel; with float32 parameters, as they are.
    bfloat16's rstd comes from the variance as torch's kernel keeps it: the float32 sum of squares
    of x - mean (x - the rounded mean for a 2-D input: torch's channels-last kernel) rounded to
    bfloat16, divided by the count and rounded again (rstd from the float32 variance was 1 ulp off
    for 10-20% of the outputs); float16's is from the float32 variance, as torch's."""
    dt = input._data.dtype
    if dt.itemsize != 2 or any(t is not None and t._data.dtype != dt for t in params):
        return mean, rstd, xc

    def rounded(a):
        return _backend.cast(_backend.cast(a, dt), np.float32)

    mean = rounded(mean)
    if dt.kind != "f":  # bfloat16
        axes = tuple(i for i in range(xc.ndim) if mean.shape[i] == 1)
        d = _backend.cast(input._data, np.float32).reshape(xc.shape) - mean if input.ndim == 2 else xc
        sq = rounded((d * d).sum(axis=axes, keepdims=True, dtype=np.float32))
        var = rounded(sq / np.float32(xc.size // mean.size))
        rstd = np.float32(1) / _xp(var).sqrt(var + np.float32(eps))
    # (xc None: the forward takes x - mean from the rounded mean)
    return mean, rounded(rstd), None


def _batch_stats(xd, shape, axes, eps, running_mean, running_var, momentum):
    """batch_norm's training statistics of the array xd (of ``shape``): (mean, rstd, biased var, x - mean)
    over ``axes`` (_stats), with the running statistics (tensors, or None) updated from them (unbiased
    variance). One function: compile's capture records it as one step, called again at each replay."""
    mean, rstd, var, xc = _stats(xd, shape, axes, eps)
    c = shape[1]
    if running_mean is not None:
        _update_running(running_mean, mean.reshape(c), momentum)
    if running_var is not None:
        n = xd.size // c
        _update_running(running_var, var.reshape(c) * (n / (n - 1)), momentum)
    return mean, rstd, var, xc


def _instance_stats(xd, view, eps, running_mean, running_var, momentum):
    """instance_norm's statistics of the array xd over each (sample, channel) of ``view`` (n, c, m) (_stats),
    with the running statistics (tensors, or None) updated from their means over the batch. One function:
    compile's capture records it as one step, called again at each replay."""
    mean, rstd, var, xc = _stats(xd, view, (2,), eps)
    n, c, m = view
    if running_mean is not None:
        _update_running(running_mean, mean.reshape(n, c).mean(0), momentum)
    if running_var is not None:
        _update_running(running_var, var.reshape(n, c).mean(0) * (m / (m - 1)), momentum)
    return mean, rstd, var, xc


def _eval_stats(mean, var, eps, dtype):
    """The (rstd, mean) arrays in ``dtype`` of the running statistics (tensors) ``mean`` and ``var`` (batch
    norm in eval mode). One function: compile's capture records it as one step, called again at each replay."""
    v = var._data
    return _backend.cast(1.0 / _xp(v).sqrt(v + eps), dtype), mean._data.astype(dtype, copy=False)


def _update_running(running, new, momentum):
    with no_grad():
        d = running._data
        if d.dtype.itemsize == 2:  # float16/bfloat16 running statistics: updated in float32, rounded once
            d[...] = _backend.cast(_backend.cast(d, np.float32) * (1.0 - momentum) + momentum * new, d.dtype)
        else:
            d *= 1.0 - momentum
            d += momentum * new.astype(d.dtype, copy=False)
        running._vc[0] += 1


def _check_param_dtypes(input, params):
    """torch's CPU rule for the parameters (weight, bias, running statistics) of batch, layer,
    group and instance norm: each of the input's dtype, or all float32 for a float16/bfloat16
    input (its "mixed type"); anything else raises RuntimeError."""
    dt = input._data.dtype
    for t in params:
        if t is not None and t._data.dtype != dt:
            break
    else:
        return
    found = {t._data.dtype for t in params if t is not None}
    got = ", ".join(sorted(str(d) for d in found))
    if found != {np.dtype(np.float32)}:
        raise RuntimeError(f"mixed dtype (CPU): expect parameter to have scalar type of Float (input {input.dtype}, "
                           f"parameters {got}: give the parameters the input's dtype, or float32 for a "
                           "float16/bfloat16 input)")
    if dt.itemsize != 2:
        raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype. (input {input.dtype}, "
                           f"parameters {got}: convert the parameters with .to({input.dtype}))")


def _check_param(name, t, c, what):
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name}: expected {what} to have {c} elements (one per channel), but got "
                           f"{what} of size {list(t.shape)}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-05):
    """Normalize each channel (dim 1) over batch and space. training: batch statistics, and the
    running ones updated as (1 - momentum) * running + momentum * batch (unbiased variance);
    otherwise the running statistics."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected 2D or more input (N, C, ...), got input of size {list(input.shape)}")
    check_floating("batch_norm", input)
    _check_param_dtypes(input, (running_mean, running_var, weight, bias))
    c = input.shape[1]
    for t, what in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"),
                    (bias, "bias")):
        _check_param("batch_norm", t, c, what)
    cshape = (1, c) + (1,) * (input.ndim - 2)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in evaluation mode")
        return _affine_eval(input, running_mean, running_var, weight, bias, eps, cshape)
    n = input.numel() // c
    if n <= 1:
        raise _one_value_per_channel(input.shape)
    axes = (0,) + tuple(range(2, input.ndim))
    error = _running_stats_not_batched(input, running_mean, running_var)
    if error is not None:
        raise error
    if running_mean is None and running_var is None and _batching.batched(input, weight, bias):
        return BatchNorm.apply(input, weight, bias, tuple(input.shape), axes, cshape, None, None, eps)
    mean, rstd, var, xc = _batch_stats(input._data, input.shape, axes, eps, running_mean, running_var, momentum)
    mean, rstd, xc = _half_statistics(input, (running_mean, running_var, weight, bias), mean, rstd, xc, eps)
    return BatchNorm.apply(input, weight, bias, tuple(input.shape), axes, cshape, mean, rstd, eps, xc, cshape)


def _empty_norm(input, weight, bias, shape=None):
    """An empty input's (empty) output, still connected to the parameters (whose gradients are zeros)."""
    y = input * 0.0
    for t in (weight, bias):
        if t is not None:
            y = y + (t if shape is None else t.reshape(shape)) * 0.0
    return y


@autocast_op({"cuda": "fp32"})
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    """Normalize over the last len(normalized_shape) dims; w and b have normalized_shape."""
    check_floating("LayerNormKernelImpl", input)
    xd = input._data
    dt = xd.dtype
    if (weight is not None and weight._data.dtype is not dt) or (bias is not None and bias._data.dtype is not dt):
        _check_param_dtypes(input, (weight, bias))  # (NumPy's dtypes are singletons: `is` is the fast test)
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    shape = xd.shape  # (the arrays' shapes: a Size per .shape costs ~0.5 us, and layer norm runs on small rows)
    if k == 0 or len(shape) < k or shape[len(shape) - k:] != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, normalized_shape))}], but got input of size{list(shape)}")
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and t._data.shape != normalized_shape:
            raise RuntimeError(f"layer_norm: expected {what} of shape {list(normalized_shape)}, got {list(t.shape)}")
    m = math.prod(normalized_shape)
    n = math.prod(shape)
    if n == 0:
        return _empty_norm(input, weight, bias)
    view = (n // m if m else 0, m)
    if _batching.batched(input, weight, bias):  # statistics by the rule, on the batch
        return LayerNorm.apply(input, weight, bias, view, (1,), normalized_shape, None, None, eps)
    params = (weight, bias)
    if type(xd) is not np.ndarray and _cuda_kernels.fits(xd, *(t._data for t in params if t is not None)):
        # CUDA: the forward computes the statistics in its fused kernel (mean and rstd None)
        return LayerNorm.apply(input, weight, bias, view, (1,), normalized_shape, None, None, eps)
    mean, rstd, _, xc = _stats(xd, view, (1,), eps)
    return LayerNorm.apply(input, weight, bias, view, (1,), normalized_shape, mean, rstd, eps, xc)


def _one_value_per_channel(size):
    """torch's error where batch statistics would come from one value each (its message names the
    shape the statistics are taken over)."""
    return ValueError(f"Expected more than 1 value per channel when training, got input size {list(size)} "
                      "(statistics of one value each: use a batch of more than one sample)")


@autocast_op({"cuda": "fp32"})
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    """Normalize each group of num_groups channel groups over its channels and space; w, b per channel."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected input of at least 2 dims (N, C, *), got {list(input.shape)}")
    check_floating("GroupNormKernelImpl", input)
    _check_param_dtypes(input, (weight, bias))
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input "
                           f"of shape {list(input.shape)} and num_groups={num_groups}")
    for t, what in ((weight, "weight"), (bias, "bias")):
        _check_param("group_norm", t, c, what)
    size = [n * c // num_groups, num_groups] + list(input.shape[2:])  # torch checks this view's batch
    if math.prod([size[0]] + size[2:]) == 1:  # (every group one value, and one sample)
        raise _one_value_per_channel(size)
    if input.numel() == 0:
        return _empty_norm(input, weight, bias, (1, c) + (1,) * (input.ndim - 2))
    view = (n, num_groups, input.numel() // max(n * num_groups, 1))
    cshape = (1, c) + (1,) * (input.ndim - 2)
    if _batching.batched(input, weight, bias):  # statistics by the rule, on the batch
        return GroupNorm.apply(input, weight, bias, view, (2,), cshape, None, None, eps)
    mean, rstd, _, xc = _stats(input._data, view, (2,), eps)
    return GroupNorm.apply(input, weight, bias, view, (2,), cshape, mean, rstd, eps, xc,
                           (1, num_groups, 1) if num_groups == c else None)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-05):
    """Normalize each (sample, channel) over space; running statistics (if given) averaged over the batch."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected 3D or more input (N, C, *), got input of size "
                         f"{list(input.shape)}")
    check_floating("batch_norm", input)  # (torch's instance norm is its batch norm: its kernel's name)
    _check_param_dtypes(input, (weight, bias))  # (running statistics of another dtype: accepted, as torch)
    n, c = input.shape[:2]
    for t, what in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"),
                    (bias, "bias")):
        _check_param("instance_norm", t, c, what)
    cshape = (1, c) + (1,) * (input.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("instance_norm: Expected running_mean and running_var to be defined when "
                               "use_input_stats is false")
        return _affine_eval(input, running_mean, running_var, weight, bias, eps, cshape)
    m = input.numel() // max(n * c, 1)
    if m <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(input.shape)}")
    view = (n, c, m)
    error = _running_stats_not_batched(input, running_mean, running_var)
    if error is not None:
        raise error
    if running_mean is None and running_var is None and _batching.batched(input, weight, bias):
        return BatchNorm.apply(input, weight, bias, view, (2,), cshape, None, None, eps)
    mean, rstd, var, xc = _instance_stats(input._data, view, eps, running_mean, running_var, momentum)
    mean, rstd, xc = _half_statistics(input, (running_mean, running_var, weight, bias), mean, rstd, xc, eps)
    return BatchNorm.apply(input, weight, bias, view, (2,), cshape, mean, rstd, eps, xc, (1, c, 1))


@autocast_op({"cuda": "fp32"})
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / sqrt(mean(x^2 over the last dims) + eps) * w  (eps defaults to the dtype's machine
    epsilon). float16/bfloat16 x: computed in float32 (eps float32's epsilon), then cast back, as torch."""
    check_floating("rms_norm", input)
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, normalized_shape))}], but got input of size{list(input.shape)}")
    x = input.float() if input._data.dtype.itemsize == 2 else input
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = x * ((x * x).mean(dims, keepdim=True) + eps) ** -0.5
    if weight is not None:
        y = y * weight
    return y if y.dtype == input.dtype else y.to(input.dtype)  # half input, float32 weight: as torch


def local_response_norm(input, size, alpha=0.0001, beta=0.75, k=1.0):
    """y = x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    n, c = input.shape[:2]
    integer = not input.dtype.is_floating_point
    if integer and input.dtype.name != "int64":  # torch averages by its avg_pool, whose CPU kernels take int64 only
        raise not_implemented_for("avg_pool2d" if input.ndim == 3 else "avg_pool3d_out_frame", input.dtype,
                                  "local_response_norm takes float or int64 tensors: convert with .float()")
    if input.numel() == 0:
        return input
    lo = size // 2
    a = np.zeros((c, c))
    for i in range(c):
        a[i, max(0, i - lo):min(c, i - lo + size)] = 1.0 if integer else 1.0 / size
    xp = _xp(input._data)
    avg = Tensor._make(xp.asarray(a, dtype=input._data.dtype))
    sq = (input * input).reshape(n, c, -1)
    div = (avg @ sq).reshape(input.shape)
    if integer:  # int64: the window sums divided as integers (torch's int64 avg_pool), then float32
        div = div // size
    return input / (div * alpha + k) ** beta


def _channel_windows(c, lo, hi, first=False):
    """(C, C) 0/1 matrix whose row i sums channels i - lo .. i + hi (those that exist); with
    ``first``, channel 0 too (once)."""
    i = np.arange(c)
    d = i[None, :] - i[:, None]
    m = (d >= -lo) & (d <= hi)
    if first and c:
        m[:, 0] = True
    return m.astype(np.float64)


class CrossMapLRN2d(Function):
    """Lua Torch's cross-channel LRN of (N, C, H, W) x, as torch.nn.CrossMapLRN2d computes it:
    s_c = k + alpha/size * (x_0^2 + sum of x_j^2 over 1 <= j, |j - c| <= (size-1)//2);  y = x s^-beta.
    dx = g s^-beta - 2 alpha beta/size * x * (sum of g y / s over channels c - p .. c + size-1-p,
    p = (size+1)//2): torch's backward, kept as it is although it is not the derivative of that
    forward (channel 0 is not special in it, and its window is shifted by about half a window).
    As torch's, it has no forward-mode derivative and its backward is not differentiable."""

    _backward_name = "CrossMapLRN2dBackward"  # torch's (a Python Function there)

    @staticmethod
    def _scale(x, size, alpha, k):
        """s, and x in the dtype s is computed in (float32 for the 16-bit types, torch's opmath)."""
        xp = _xp(x)
        x = x if x.dtype.itemsize >= 4 else x.astype(np.float32)
        n, c = x.shape[:2]
        h = (size - 1) // 2
        window = xp.asarray(_channel_windows(c, h, h, first=True), dtype=x.dtype)
        sums = (window @ (x * x).reshape(n, c, math.prod(x.shape[2:]))).reshape(x.shape)
        return sums * (alpha / size) + k, x

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        ctx.args = (size, alpha, beta, k)
        ctx.save_for_backward(x)
        s, xw = CrossMapLRN2d._scale(x._data, size, alpha, k)
        return (xw * s ** -beta).astype(x._data.dtype, copy=False)

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError("CrossMapLRN2d has no forward-mode derivative (torch's has none either); use "
                                  "torch.nn.LocalResponseNorm, whose forward AD is there")

    @staticmethod
    def backward(ctx, g):
        from .counting import NotDifferentiable

        size, alpha, beta, k = ctx.args
        if size == 1:
            raise RuntimeError("CrossMapLRN2d(size=1)'s backward fails in torch (its window runs past the "
                               "channels); use size >= 2, or torch.nn.LocalResponseNorm(1)")
        (x,) = ctx.saved_tensors
        s, xw = CrossMapLRN2d._scale(x._data, size, alpha, k)
        gd = g._data.astype(xw.dtype, copy=False)
        ws = s ** -beta
        n, c = xw.shape[:2]
        lo = (size + 1) // 2
        window = _xp(xw).asarray(_channel_windows(c, lo, size - 1 - lo), dtype=xw.dtype)
        ratio = (gd * xw * ws / s).reshape(n, c, math.prod(xw.shape[2:]))
        dx = gd * ws - (2 * alpha * beta / size) * xw * (window @ ratio).reshape(xw.shape)
        dx = dx.astype(x._data.dtype, copy=False)  # (a node whose own backward raises, under create_graph)
        return NotDifferentiable.apply("cross_map_lrn2d_backward", dx, g, x), None, None, None, None



__all__ += ["renorm"]


@takes_out(dtype=SAME)
@tensor_method()
@autocast_op({"cuda": "fp32"})
def renorm(input, p, dim, maxnorm):
    """Each slice of ``input`` along ``dim`` whose p-norm exceeds ``maxnorm`` scaled to norm maxnorm
    (by maxnorm / (norm + 1e-7), as torch); the others unchanged. Differentiable through the norm."""
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported (got p={p})")
    dim = _wrap_dim(dim, input.ndim)
    norms = input.norm(p, dim=[d for d in range(input.ndim) if d != dim], keepdim=True)
    factor = (maxnorm / (norms + 1e-7)).masked_fill(norms <= maxnorm, 1.0)
    return input * factor


Tensor.renorm_ = make_inplace(renorm, "renorm_")
