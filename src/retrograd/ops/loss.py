"""Loss functions, as ``torch.nn.functional``'s.

The classification losses are fused ops (one node each, numerically stable through
log-sum-exp, finite gradients for large logits): ``cross_entropy`` from logits with the
backward ``dx = coef * (s * softmax(x) - q)`` (q: the target distribution), ``nll_loss``,
``binary_cross_entropy``; ``binary_cross_entropy_with_logits`` uses a stable softplus.
The others compose tensor ops. Every backward is written with tensor ops, so
double backward (gradient penalties, gradgradcheck) works.
"""

import math
import numbers
import warnings

import numpy as np

from . import _batching, _cuda_kernels
from ..amp.autocast_mode import autocast_op
from .. import _backend
from .._device_checks import check
from ..autograd.function import Function
from ..autograd.forward_ad import diagonal_jvp, fsum
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from ._kernel_dtypes import check_floating, scalar_name
from .softmax import LogSoftmax

__all__ = []  # nn-only: exported through retrograd.nn.functional
FUNCTIONAL = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
              "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
              "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
              "triplet_margin_with_distance_loss", "gaussian_nll_loss", "poisson_nll_loss",
              "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
              "multi_margin_loss", "multilabel_margin_loss", "ctc_loss"]


# ---------------------------------------------------------------------------- helpers


def legacy_reduction(size_average, reduce, reduction="mean", elementwise_mean=True):
    """torch's deprecated ``size_average`` / ``reduce`` arguments as a reduction string (the warning
    names it); without them ``reduction``, its deprecated alias 'elementwise_mean' read as 'mean'
    with torch's warning where torch's function takes it (``elementwise_mean``)."""
    if size_average is None and reduce is None:
        if reduction == "elementwise_mean" and elementwise_mean:
            warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                          UserWarning, stacklevel=3)
            return "mean"
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  UserWarning, stacklevel=3)
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _warn_size(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=3)


def _const(arr):
    return Tensor._make(arr)


def _xp(t):
    return _backend.array_module(t._data)


def log_softmax(x, dim):
    """Stable log-softmax along an int dim (the op of ``nn.functional.log_softmax``, without its
    dtype and implicit-dim handling)."""
    return LogSoftmax.apply(x, dim % max(x.ndim, 1))


class _Softplus(Function):
    """y = log(1 + e^z) computed as max(z, 0) + log1p(e^-|z|);  dz = g * sigmoid(z)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, z):
        a = z._data
        xp = _backend.array_module(a)
        ctx.save_for_backward(z)
        return xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * z.sigmoid()


class _ClampMin(Function):
    """y = max(x, m);  dx = g where x >= m, else 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, x, m):
        a = x._data
        ctx.save_for_backward(_const(a >= m))
        return _backend.array_module(a).maximum(a, a.dtype.type(m))

    @staticmethod
    def jvp(ctx, tx, _m):
        """dy = dx where x >= m (m is a number)."""
        x, m = ctx._fw_args
        return tx * (x >= m).to(tx.dtype)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask.to(g.dtype), None


def _clamp_min(x, m):
    return _ClampMin.apply(x, m)


# ---------------------------------------------------------------------------- regression


class MseLoss(Function):
    """l = c * sum (x - y)^2 with c = 1/n for the mean, 1 for the sum;  dx = 2c g (x - y),  dy = -dx."""
    vmap = classmethod(_batching.mse_loss)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    @staticmethod
    def forward(ctx, x, y, mean):
        ctx.scale = 2.0 / x._data.size if mean else 2.0
        ctx.save_for_backward(x, y)
        d = x._data - y._data
        d *= d
        total = d.sum()
        return _backend.array_module(d).asarray(total / d.size if mean else total, dtype=d.dtype)

    @staticmethod
    def jvp(ctx, tx, ty, _mean):
        """dl = 2c sum((x - y)(dx - dy))."""
        x, y, mean = ctx._fw_args
        c = 2.0 / x.numel() if mean else 2.0
        return ((x - y) * (tx - ty)).sum() * c

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not _state.enabled:  # plain backward: one array
            d = x._data - y._data
            d *= g._data * d.dtype.type(ctx.scale)
            return (Tensor._make(d) if need_x else None), (Tensor._make(-d) if need_y else None), None
        gx = (x - y) * (g * ctx.scale)
        return (gx if need_x else None), (-gx if need_y else None), None


# (a bound method kept: Op.apply looks the classmethod up and binds it on every call, ~460 machine instructions)
_mse_apply = MseLoss.apply


@autocast_op("fp32")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """mean((input - target)^2) (or sum / none)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    check_floating("mse_cpu", input, target)
    _warn_size(input, target)
    if (weight is None and reduction != "none" and isinstance(input, Tensor) and isinstance(target, Tensor)
            and input._data.shape == target._data.shape and input._data.dtype == target._data.dtype
            and input._data.dtype.kind == "f" and input._data.size):
        return _mse_apply(input, target, reduction == "mean")  # one fused node: the common case
    d = input - target
    loss = d * d
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@autocast_op("fp32")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """mean(|input - target|)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _warn_size(input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class _SmoothL1(Function):
    """l = 0.5 d^2 / beta where |d| < beta else |d| - 0.5 beta (times ``scale``);
    dd = g * scale * (d / beta where |d| < beta else sign d)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, d, beta, scale):
        a = d._data
        xp = _backend.array_module(a)
        ad = xp.abs(a)
        small = ad < beta
        ctx.beta, ctx.scale = beta, scale
        ctx.save_for_backward(d, _const(_backend.cast(small, a.dtype)))
        loss = xp.where(small, 0.5 * a * a / beta, ad - 0.5 * beta)
        return loss * scale if scale != 1 else loss

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        d, small = ctx.saved_tensors
        sign = _const(_backend.array_module(d._data).sign(d._data))
        gd = d * (small * (ctx.scale / ctx.beta)) + sign * ((1 - small) * ctx.scale)
        return g * gd, None, None


@autocast_op("fp32")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    check_floating("smooth_l1_cpu", input, target)
    _warn_size(input, target)
    d = input - target
    loss = d.abs() if beta == 0 else _SmoothL1.apply(d, float(beta), 1.0)
    return _reduce(loss, reduction)


@autocast_op("fp32")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    reduction = legacy_reduction(None, None, reduction)
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    check_floating("huber_cpu", input, target)
    _warn_size(input, target)
    loss = _SmoothL1.apply(input - target, float(delta), float(delta))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------- classification


def _classes_last(a, ndim):
    """(N, C, d1..) -> (N*d1*.., C); (C,) -> (1, C)."""
    if ndim == 1:
        return a.reshape(1, -1)
    if ndim > 2:
        a = _backend.array_module(a).moveaxis(a, 1, -1)
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def _grad_layout(gx2, shape):
    """Inverse of ``_classes_last`` for a gradient tensor."""
    if len(shape) == 1:
        return gx2.reshape(shape)
    if len(shape) == 2:
        return gx2
    n, c, rest = shape[0], shape[1], tuple(shape[2:])
    return gx2.reshape(n, *rest, c).movedim(-1, 1)


def _check_ignore_index(ignore_index, aten):
    """torch's argument check of ignore_index (an int; aten: the name torch's message gives)."""
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"{aten}(): argument 'ignore_index' (position 5) must be int, not "
                        f"{type(ignore_index).__name__}")


def _check_class_target(input, target, fn):
    """torch's checks of class-index targets; the target to use (an unbatched input's [1] target as 0-d)."""
    if input.ndim == 0:  # (torch's nll_loss raises ValueError, its cross_entropy RuntimeError)
        raise (ValueError if fn == "nll_loss" else RuntimeError)(
            f"{fn}: input must have at least 1 dimension (classes), got a 0-d tensor")
    if target.dtype.is_floating_point or target.dtype.name == "bool":
        raise RuntimeError(
            f"expected scalar type Long but found {target.dtype} (the target of {fn} holds class "
            "indices; for class probabilities pass a float target of the input's shape)"
        )
    if target.dtype.name not in ("int64", "uint8"):  # torch takes Long or Byte class indices only
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype} (the target "
                           f"of {fn} holds class indices: convert it with .long())")
    if input.ndim == 1:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.ndim == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        return target.reshape(()) if target.ndim else target
    if target.ndim == 0 or target.shape[0] != input.shape[0]:
        n = target.shape[0] if target.ndim else 0
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({n})."
        )
    expect = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expect:
        raise RuntimeError(f"Expected target size {list(expect)}, got {list(target.shape)}")
    return target


def _target_weights(xp, t, c, w, ignore_index, dtype):
    """From class indices ``t`` (M,): the valid mask, the targets with ignored rows set to 0,
    and each row's class weight w_t (0 on ignored rows)."""
    valid = t != ignore_index
    if xp is np:  # on the host: the common case (nothing ignored, no weights) in fewer passes
        tt = t if valid.all() else np.where(valid, t, 0)
        if tt.size and (tt.min() < 0 or tt.max() >= c):
            raise IndexError(f"Target {int(tt[(tt < 0) | (tt >= c)][0])} is out of bounds.")
        if w is None:
            return valid, tt, valid.astype(dtype)  # (0 and 1: exact in every float dtype)
    else:
        tt = xp.where(valid, t, 0)
        bad = (tt < 0) | (tt >= c)  # on a device: read at the next synchronisation (torch's device-side assert)
        check(bad, lambda: IndexError(f"Target {int(tt[bad][0])} is out of bounds."))
    wt = w[tt] * valid if w is not None else valid
    return valid, tt, _backend.cast(wt, dtype)


def _every_target_a_class(t, c, ignore_index):
    """Whether NumPy class indices ``t`` (M,) all lie in [0, c) and none is ``ignore_index``:
    from their min and max alone (an ignore_index outside that span is in no row)."""
    if not t.size:
        return False
    lo, hi = t.min(), t.max()
    return 0 <= lo and hi < c and not lo <= ignore_index <= hi


def _coef(g, reduction, total, m, valid):
    """The upstream gradient's factor per row: g / (sum of the rows' target weights) for the
    mean, g for the sum, g_i for none. A mean over no weight (every target ignored) is nan, but
    torch's gradient is still 0 on ignored rows (not 0 * inf = nan): where(valid, g / 0, 0)."""
    if reduction == "mean":
        if not isinstance(total, float) or total == 0:  # (a device total is not read on the host)
            if isinstance(g, Tensor):
                from .comparison import where

                return where(_const(valid.reshape(m, 1)), g / (total if isinstance(total, float) else _const(total)),
                             0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                return _backend.call(_backend.array_module(valid).where, valid.reshape(m, 1), g / total, 0)
        return g / total
    if reduction == "sum":
        return g
    return g.reshape(m, 1)


@autocast_op("fp32")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy between logits ``input`` (N, C, d1..) / (C,) and class indices
    (N, d1..) or class probabilities (input's shape), with log-softmax inside."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_ignore_index(ignore_index, "cross_entropy_loss")
    if label_smoothing > 1.0:  # (torch checks the upper bound only: a negative value is no smoothing)
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    label_smoothing = max(label_smoothing, 0.0)
    check_floating("log_softmax_lastdim_kernel_impl", input)
    c = input.shape[0] if input.ndim == 1 else (input.shape[1] if input.ndim else 0)
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(
            f"weight tensor should be defined either for all {c} classes or no classes but got "
            f"weight tensor of shape: {list(weight.shape)}"
        )
    if target.dtype.is_floating_point:
        if ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    target = _check_class_target(input, target, "cross_entropy")
    return _cross_entropy_indices(input, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy_indices(input, target, weight, ignore_index, reduction, eps):
    """torch's definition, op by op: nll_loss(log_softmax(input)), mixed with the smoothing term
    -sum_c w_c log p_c. The graph is torch's (NllLossBackward0 after LogSoftmaxBackward0), and
    the rounding too: each op rounds to the dtype as torch's do."""
    cdim = 0 if input.ndim == 1 else 1
    logp = log_softmax(input, cdim)
    loss = NLLLoss.apply(logp, target, weight, ignore_index, reduction)  # nll_loss, its checks done
    if not eps:
        return loss
    c = input.shape[cdim]
    ignored = target == ignore_index
    if weight is not None:
        logp = logp * weight.reshape([c if d == cdim else 1 for d in range(input.ndim)])
    smooth = (-logp.sum(cdim)).masked_fill(ignored, 0.0)
    if reduction == "mean":
        kept = ~ignored
        smooth = smooth.sum() / (weight[target[kept]].sum() if weight is not None else kept.sum())
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - eps) * loss + smooth * (eps / c)


def _cross_entropy_probs(input, target, weight, reduction, eps):
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(
            f"cross_entropy: a float target holds class probabilities and must have the input's "
            f"shape {list(input.shape)}, got {list(target.shape)} (pass int64 class indices "
            "otherwise)"
        )
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    if eps:
        target = target * (1 - eps) + eps / c
    prod = logp * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[cdim] = c
        prod = prod * weight.reshape(shape)
    loss = -prod.sum(cdim)
    if reduction == "mean":
        return loss.sum() / (input.numel() // c) if input.ndim > 1 else loss
    return _reduce(loss, reduction)


class NLLLoss(Function):
    """L_i = -w_{t_i} logp_{i,t_i};  dlogp_i = -coef * w_{t_i} onehot(t_i), coef = g / sum w_t
    for the mean."""
    vmap = classmethod(_batching.nll_loss)  # batching rule (retrograd.func.vmap)

    _unlisted_inputs = (1, 2)  # target and class weights

    def name(self):  # torch's names: spatial inputs (N, C, d1, ...) go through nll_loss2d
        return "NllLoss2DBackward0" if len(self.shape) > 2 else "NllLossBackward0"

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        xp = _xp(logp)
        a = _classes_last(logp._data, logp.ndim)
        m, c = a.shape
        dtype = a.dtype
        w = weight._data.astype(dtype, copy=False) if weight is not None else None
        t = target._data.reshape(-1)
        acc = np.float32 if dtype.itemsize == 2 else None  # torch sums half precision in float32
        if type(a) is not np.ndarray and t.dtype == np.int64 and _cuda_kernels.fits(a, w):
            valid, tt, wt, rows = _nll_rows_cuda(a, t, w, ignore_index)
        elif w is None and type(a) is np.ndarray and m <= 1 << 24 and _every_target_a_class(t, c, ignore_index):
            # the common case in fewer passes: every weight w_t is 1 (valid and wt stay None), so
            # -w_t logp[i, t_i] is the picked entry times -1 and their sum is m (exact up to 2^24)
            valid = wt = None
            tt = t
            rows = a[np.arange(m), t] * dtype.type(-1)
            total = float(m)
        else:
            valid, tt, wt = _target_weights(xp, t, c, w, ignore_index, dtype)
            rows = -wt * a[xp.arange(m), tt]
        if wt is not None:
            total = wt.sum(dtype=acc)  # on a device it stays there: the mean divides by it without a round trip
            total = float(total) if xp is np else total
        ctx.reduction, ctx.total, ctx.ignore_index, ctx.shape = reduction, total, ignore_index, tuple(logp.shape)
        ctx.mc = (m, c)
        ctx.rows = valid, tt, wt  # read from target and weight, which are saved for their version checks
        ctx.save_for_backward(target, weight)
        if wt is None and reduction != "none":  # (the common case's total m > 0: no 0/0 to silence)
            s = rows.sum(dtype=acc)
            return np.asarray(s / total if reduction == "mean" else s, dtype=dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            if reduction == "mean":
                return xp.asarray(rows.sum(dtype=acc) / total if xp is not np or total else xp.nan,
                                  dtype=dtype)  # torch: nan for a mean over no weight (on a device: 0/0)
            if reduction == "sum":
                return xp.asarray(rows.sum(dtype=acc), dtype=dtype)
        return rows.reshape(tuple(target.shape))

    @staticmethod
    def jvp(ctx, tlogp, *_):
        """Linear in logp (targets and class weights are constants): the loss of dlogp."""
        return NLLLoss.apply(tlogp, *ctx._fw_args[1:])

    @staticmethod
    def backward(ctx, g):
        ctx.saved_tensors  # noqa: B018  (the version checks of target and weight)
        if not ctx.needs_input_grad[0]:
            return (None,) * 5
        xp = _backend.array_module(g._data)
        m, c = ctx.mc
        dtype = g._data.dtype
        valid, tt, wt = ctx.rows
        if not _state.enabled:  # plain backward: write the m nonzeros -w_t coef, no dense one-hot product
            if wt is None:  # every w_t 1, on the host (total m > 0: no 0/0 to silence)
                coef = _coef(g._data, ctx.reduction, ctx.total, m, valid)
                neg = coef * dtype.type(-1)  # one number but for reduction="none" (a number is
                neg = neg.reshape(-1) if neg.ndim else neg  # written ~3x faster than an array)
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    coef = _coef(g._data, ctx.reduction, ctx.total, m, valid)
                if type(wt) is not np.ndarray and _cuda_kernels.fits(wt):  # CUDA: every entry in one kernel
                    gx = _cuda_kernels.nll_backward(tt, wt, coef, c)
                    return _grad_layout(_const(gx), ctx.shape), None, None, None, None
                neg = -wt * xp.broadcast_to(coef, (m, 1))[:, 0]
            gx = xp.zeros((m, c), dtype=dtype)
            gx[xp.arange(m), tt] = neg
            return _grad_layout(_const(gx), ctx.shape), None, None, None, None
        onehot = xp.zeros((m, c), dtype=dtype)
        onehot[xp.arange(m), tt] = 1 if wt is None else wt
        gx = -(_const(onehot) * _coef(g, ctx.reduction, ctx.total, m, valid))
        return _grad_layout(gx, ctx.shape), None, None, None, None


def _nll_rows_cuda(a, t, w, ignore_index):
    """_target_weights and the rows' losses -w_t logp[i, t_i] of a CuPy (M, C) array in one kernel."""
    rows, wt, bad = _cuda_kernels.nll_forward(a, t, w, ignore_index)
    # the first row whose target is out of bounds (2**31 - 1: none), read at the next synchronisation
    check(bad != 2**31 - 1, lambda: IndexError(f"Target {int(t[int(bad)])} is out of bounds."))
    valid = t != ignore_index
    return valid, _backend.array_module(t).where(valid, t, 0), wt, rows


@autocast_op("fp32")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of class indices under log-probabilities ``input``."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    check_floating("nll_loss_out_frame" if input.ndim <= 2 else "nll_loss2d_forward_out_frame", input)
    target = _check_class_target(input, target, "nll_loss")
    _check_ignore_index(ignore_index, "nll_loss_nd")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(
            f"weight tensor should be defined either for all {c} classes or no classes but got "
            f"weight tensor of shape: {list(weight.shape)}"
        )
    return NLLLoss.apply(input, target, weight, ignore_index, reduction)


class BinaryCrossEntropy(Function):
    """l = -w (y log p + (1-y) log(1-p)) (logs clamped at -100);
    dp = g w (p - y) / max(p (1-p), 1e-12),  dy = g w (log(1-p) - log p)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, p, y, weight):
        a, b = p._data, y._data
        xp = _backend.array_module(a)
        # on a device: read at the next synchronisation, as torch's device-side assert
        check((a < 0) | (a > 1) | xp.isnan(a), lambda: RuntimeError("all elements of input should be between 0 and 1"))
        with np.errstate(divide="ignore"):
            lp = xp.maximum(xp.log(a), -100)
            l1p = xp.maximum(xp.log1p(-a), -100)
        loss = -(b * lp + (1 - b) * l1p)
        if weight is not None:
            loss = loss * weight._data
        ctx.save_for_backward(p, y, weight)
        return loss.astype(a.dtype, copy=False)

    @staticmethod
    def jvp(ctx, tp, ty, _tw):
        """dl = w (dp (p - y) / max(p (1-p), 1e-12) + dy (log(1-p) - log p)) (weight: a constant)."""
        p, y, w = ctx._fw_args
        dl = fsum(None if tp is None else tp * (p - y) / _clamp_min(p * (1 - p), 1e-12),
                  None if ty is None else ty * (_clamp_min((1 - p).log(), -100) - _clamp_min(p.log(), -100)))
        return dl if w is None else dl * w

    @staticmethod
    def backward(ctx, g):
        p, y, w = ctx.saved_tensors
        gw = g * w if w is not None else g
        gp = gy = None
        if ctx.needs_input_grad[0]:
            gp = gw * (p - y) / _clamp_min(p * (1 - p), 1e-12)
        if ctx.needs_input_grad[1]:
            gy = gw * (_clamp_min((1 - p).log(), -100) - _clamp_min(p.log(), -100))
        return gp, gy, None


@autocast_op({"cpu": "fp32", "cuda": "unsafe"})
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w (y log p + (1-y) log(1-p)) for probabilities ``input`` in [0, 1]."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        weight = weight.expand(input.shape)
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


@autocast_op("fp32")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE of sigmoid(input) without forming it: (1-y) x + (1 + (pw-1) y) softplus(-x),
    stable for large |x|."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    check_floating("log_sigmoid_cpu", input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    if not target.dtype.is_floating_point:  # torch computes into a tensor of target's dtype
        if target.dtype.name == "bool":
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "(binary_cross_entropy_with_logits: pass a float target, target.float())")
        raise RuntimeError(f"result type {scalar_name(input.dtype)} can't be cast to the desired output type "
                           f"{scalar_name(target.dtype)} (binary_cross_entropy_with_logits: pass a float target)")
    sp = _Softplus.apply(-input)
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    if loss.dtype != target.dtype:  # the loss has target's dtype (float64 logits, float32 target: float32)
        loss = loss.to(target.dtype)
    return _reduce(loss, reduction)


@autocast_op("fp32")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """target * (log target - input) (0 where target = 0); with ``log_target``,
    exp(target) * (target - input). ``batchmean`` divides the sum by the batch size."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    warn_mean = reduction == "mean"  # (not for its alias 'elementwise_mean', as torch)
    reduction = legacy_reduction(None, None, reduction)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if not (input.dtype.is_floating_point and target.dtype.is_floating_point):
        raise RuntimeError(f"kl_div: Integral inputs not supported. (input {input.dtype}, target {target.dtype}: "
                           "convert them with .float())")
    if warn_mean:
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", UserWarning, stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy_self(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


class _XLogX(Function):
    """y = x log x (0 at x = 0);  dx = g (log x + 1)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, x):
        a = x._data
        xp = _backend.array_module(a)
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.where(a == 0, 0, a * xp.log(a)).astype(a.dtype, copy=False)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.log() + 1)


def _xlogy_self(t):
    return _XLogX.apply(t)


# ---------------------------------------------------------------------------- embedding / ranking


def _mask(cond_array, dtype):
    return _const(_backend.cast(cond_array, dtype.np))


@autocast_op("fp32")
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input1.shape != input2.shape:
        raise RuntimeError(
            f"cosine_embedding_loss: input1 {list(input1.shape)} and input2 {list(input2.shape)} "
            "must have the same shape"
        )
    dim = input1.ndim - 1
    if input1.ndim not in (1, 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    m1 = (input1 * input1).sum(dim) + eps
    m2 = (input2 * input2).sum(dim) + eps
    cos = prod / (m1 * m2).sqrt()
    y = target._data
    pos = _mask(y == 1, cos.dtype)
    neg = _mask(y == -1, cos.dtype)
    loss = pos * (1 - cos) + neg * (cos - margin).relu()
    return _reduce(loss, reduction)


@autocast_op("fp32")
def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} "
        )
    return _reduce((-target * (input1 - input2) + margin).relu(), reduction)


@autocast_op("fp32")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    y = target._data
    pos = _mask(y == 1, input.dtype)
    neg = _mask(y == -1, input.dtype)
    loss = pos * input + neg * (margin - input).relu()
    return _reduce(loss, reduction)


@autocast_op("fp32")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-y x))."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return _reduce(_Softplus.apply(-target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """-mean_c [y log sigmoid(x) + (1-y) log sigmoid(-x)] per sample."""
    reduction = legacy_reduction(size_average, reduce, reduction, elementwise_mean=False)
    _check_reduction(reduction)
    loss = target * _Softplus.apply(-input) + (1 - target) * _Softplus.apply(input)
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


@autocast_op("fp32")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """sum_{j != y} max(0, margin - x_y + x_j)^p / C (times w_y)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    n, c = x.shape
    t = target._data.reshape(-1)
    xp = _xp(x)
    onehot = xp.zeros((n, c), dtype=x._data.dtype)
    onehot[xp.arange(n), t] = 1
    oh = _const(onehot)
    xy = (x * oh).sum(1, keepdim=True)
    z = (margin - xy + x).relu() * (1 - oh)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * _const(weight._data[t][:, None])
    loss = z.sum(1) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


@autocast_op("fp32")
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over target classes j (up to the first -1) and non-target classes i of
    max(0, 1 - (x_j - x_i)) / C."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    x = input if input.ndim == 2 else input.reshape(1, -1)
    n, c = x.shape
    t = target._data.reshape(n, c)
    xp = _xp(x)
    is_t = xp.zeros((n, c), dtype=bool)
    for i in range(n):
        for j in t[i]:
            if j < 0:
                break
            is_t[i, j] = True
    pair = (is_t[:, :, None] & ~is_t[:, None, :]).astype(x._data.dtype)  # [n, j, i]
    diff = 1 - (x.unsqueeze(2) - x.unsqueeze(1))
    loss = (diff.relu() * _const(pair)).sum((1, 2)) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def _pairwise_distance(x1, x2, p, eps):
    d = x1 - x2 + eps
    if p == 2:
        return (d * d).sum(-1).sqrt()
    if p == 1:
        return d.abs().sum(-1)
    return (d.abs() ** p).sum(-1) ** (1.0 / p)


@autocast_op("fp32")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin) with d the p-norm distance (+eps)."""
    _check_margin(margin)
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
            f"{negative.ndim}D inputs")
    d_ap = _pairwise_distance(anchor, positive, p, eps)
    d_an = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_pn = _pairwise_distance(positive, negative, p, eps)
        d_an = _minimum(d_an, d_pn)
    return _reduce((d_ap - d_an + margin).relu(), reduction)


def _check_margin(margin):
    if margin <= 0:  # torch 2.13's triplet losses
        raise ValueError(f"margin must be greater than 0, got {margin}")


def _minimum(a, b):
    m = _mask(a._data <= b._data, a.dtype)
    return a * m + b * (1 - m)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin) with a user distance (default pairwise L2)."""
    _check_margin(margin)
    _check_reduction(reduction)
    dist = distance_function or (lambda a, b: _pairwise_distance(a, b, 2, 1e-6))
    d_ap = dist(anchor, positive)
    d_an = dist(anchor, negative)
    if swap:
        d_an = _minimum(d_an, dist(positive, negative))
    return _reduce((d_ap - d_an + margin).relu(), reduction)


# ---------------------------------------------------------------------------- likelihoods


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log max(var, eps) + (input - target)^2 / max(var, eps)) (+ 0.5 log 2 pi if full).
    The clamp of var is outside autograd, as in torch."""
    _check_reduction(reduction)
    if isinstance(var, (int, float)):
        var = input.new_full(tuple(input.shape), float(var))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    xp = _xp(var)
    # var + (clamped - var) held constant: the value is clamped, the gradient is identity
    shift = _const(xp.maximum(var._data, eps) - var._data)
    v = var + shift
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@autocast_op("fp32")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(input) - target * input (log_input), else input - target * log(input + eps);
    ``full`` adds Stirling's term target log target - target + 0.5 log(2 pi target) for target > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction, elementwise_mean=False)
    _check_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        mask = _mask(target._data > 1, target.dtype)
        t = target * mask + (1 - mask)  # 1 (a zero term) where target <= 1
        loss = loss + mask * (t * t.log() - t + 0.5 * (2 * math.pi * t).log())
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------- CTC


def _logaddexp(*arrays):
    out = arrays[0]
    for a in arrays[1:]:
        out = np.logaddexp(out, a)
    return out


def _ctc_one(lp, labels, blank):
    """-log p(labels | lp) for one sequence (lp: (T, C) log-probabilities) by the
    forward-backward recursions over the blank-extended labels; also log(alpha*beta)."""
    t_len = lp.shape[0]
    ext = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    ext[1::2] = labels
    s_len = len(ext)
    neg = -np.inf
    # a skip from s-2 to s is allowed unless l'_s is blank or repeats l'_{s-2}
    skip = np.zeros(s_len, dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    em = lp[:, ext]  # (T, S) emission log-probabilities
    alpha = np.full((t_len, s_len), neg)
    alpha[0, 0] = em[0, 0]
    if s_len > 1:
        alpha[0, 1] = em[0, 1]
    for t in range(1, t_len):
        prev = alpha[t - 1]
        a1 = np.concatenate(([neg], prev[:-1]))
        a2 = np.where(skip, np.concatenate(([neg, neg], prev[:-2])), neg)
        alpha[t] = _logaddexp(prev, a1, a2) + em[t]
    beta = np.full((t_len, s_len), neg)
    beta[-1, -1] = em[-1, -1]
    if s_len > 1:
        beta[-1, -2] = em[-1, -2]
    skip_next = np.zeros(s_len, dtype=bool)
    skip_next[:-2] = skip[2:]
    for t in range(t_len - 2, -1, -1):
        nxt = beta[t + 1]
        b1 = np.concatenate((nxt[1:], [neg]))
        b2 = np.where(skip_next, np.concatenate((nxt[2:], [neg, neg])), neg)
        beta[t] = _logaddexp(nxt, b1, b2) + em[t]
    tail = alpha[-1, -1] if s_len == 1 else np.logaddexp(alpha[-1, -1], alpha[-1, -2])
    return -tail, alpha + beta, ext


class CTCLoss(Function):
    """Connectionist temporal classification: L_n = -log sum over alignments of prod_t
    p_t(label);  dlp[t, c] = g_n (exp(lp[t, c]) - exp(log sum_{s: l'_s = c} alpha_t(s) beta_t(s)
    + L_n - lp[t, c])), torch's gradient (exact after a log_softmax). Not twice differentiable:
    differentiating dlp (or the tangent, forward over reverse) raises torch's error."""

    @classmethod
    def vmap(cls, info, in_dims, log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity):
        """The samples' sequences side by side, (T, B*N, C), their targets and lengths one after
        another; each sample's losses reduced as torch reduces them ('mean': by target length)."""
        b = info.batch_size

        def first(t, d):
            return t.expand((b,) + tuple(t.shape)) if d is None else _batching.front(t, d)

        lp = first(log_probs, in_dims[0])
        single = lp.ndim == 3  # samples of (T, C): one sequence each
        if single:
            lp = lp.unsqueeze(2)
        t, n = lp.shape[1], lp.shape[2]
        tg = first(targets, in_dims[1])
        tg = tg.reshape(b * n, -1) if single or tg.ndim == 3 else tg.reshape(-1)  # padded rows, or concatenated
        losses = cls.apply(lp.movedim(0, 1).reshape(t, b * n, -1), tg, list(input_lengths) * b,
                           list(target_lengths) * b, blank, "none", zero_infinity).reshape(b, n)
        if reduction == "sum":
            return losses.sum(1), 0
        if reduction == "mean":
            lengths = losses.new_tensor([max(k, 1) for k in target_lengths])
            return (losses / lengths).mean(1), 0
        return (losses.reshape(b) if single else losses), 0

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity):
        lp_all = _backend.to_device(log_probs._data, "cpu").astype(np.float64)
        unbatched = lp_all.ndim == 2
        if unbatched:
            lp_all = lp_all[:, None, :]
        t_max, n, c = lp_all.shape
        tg = _backend.to_device(targets._data, "cpu").astype(np.int64)
        if unbatched and tg.ndim == 1 and len(target_lengths) == 1 and tg.shape[0] >= target_lengths[0]:
            tg = tg[None, :]
        losses = np.zeros(n)
        grad = np.zeros_like(lp_all)
        offset = 0
        for i in range(n):
            t_len, l_len = int(input_lengths[i]), int(target_lengths[i])
            if t_len > t_max:
                raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value {t_len}")
            if tg.ndim == 2:
                labels = tg[i, :l_len]
            else:
                labels = tg[offset:offset + l_len]
                offset += l_len
            lp = lp_all[:t_len, i]
            if t_len == 0:
                losses[i] = 0.0 if l_len == 0 else np.inf
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                nll, ab, ext = _ctc_one(lp, labels, blank)
                lcab = np.full((t_len, c), -np.inf)
                for s, k in enumerate(ext):
                    lcab[:, k] = np.logaddexp(lcab[:, k], ab[:, s])
                g = np.exp(lp) - np.exp(lcab + nll - lp)
            if zero_infinity and np.isinf(nll):
                nll, g = 0.0, np.zeros_like(g)
            losses[i] = nll
            grad[:t_len, i] = g
        dtype = log_probs._data.dtype
        ctx.scale = None
        if reduction == "mean":
            lengths = np.maximum(np.asarray(target_lengths, dtype=np.float64), 1)
            out = np.asarray((losses / lengths).mean())
            ctx.scale = 1.0 / (lengths * n)
        elif reduction == "sum":
            out = np.asarray(losses.sum())
        else:
            out = losses[0] if unbatched else losses
            out = np.asarray(out)
        ctx.reduction = reduction
        grad = grad[:, 0] if unbatched else grad
        xp = _xp(log_probs)
        ctx.save_for_backward(_const(xp.asarray(grad.astype(dtype))), log_probs)
        return xp.asarray(out.astype(dtype))

    @staticmethod
    def jvp(ctx, tlp, *_):
        """dL_n = sum_{t,c} dL_n/dlp[t, n, c] dlp[t, n, c] (backward's per-sample gradient), then
        the reduction ('mean': each L_n / (target length * N))."""
        grad = CTCLoss._gradient(ctx)
        per = (grad * tlp).sum((0, 2)) if grad.ndim == 3 else (grad * tlp).sum()
        if ctx.reduction == "none":
            return per
        if ctx.reduction == "mean":
            per = per * _const(_backend.array_module(grad._data).asarray(ctx.scale.astype(grad._data.dtype)))
        return per.sum()

    @staticmethod
    def _gradient(ctx):
        """dL_n/dlp (torch's _ctc_loss_backward) as a node of log_probs whose own derivative
        raises torch's error (NotDifferentiable), not as a constant (a silent zero)."""
        from .counting import NotDifferentiable

        grad, log_probs = ctx.saved_tensors
        return NotDifferentiable.apply("_ctc_loss_backward", grad, log_probs)

    @staticmethod
    def backward(ctx, g):
        grad = CTCLoss._gradient(ctx)
        if ctx.reduction == "none":
            gn = g.reshape(1, -1, 1) if grad.ndim == 3 else g
        elif ctx.reduction == "mean":
            gn = g * _const(_backend.array_module(grad._data).asarray(
                ctx.scale.astype(grad._data.dtype))).reshape(1, -1, 1)
            if grad.ndim == 2:
                gn = gn.reshape(1, 1)
        else:
            gn = g
        return grad * gn, None, None, None, None, None, None


def _lengths(v):
    if isinstance(v, Tensor):
        return [int(x) for x in _backend.to_device(v._data, "cpu").reshape(-1)]
    return [int(x) for x in v]


@autocast_op({"cpu": "fp32"})
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """CTC loss of log-probabilities (T, N, C) (or (T, C)) against targets (N, S) padded or
    concatenated 1-D; lengths as tensors or sequences. Twice differentiable it is not."""
    reduction = legacy_reduction(None, None, reduction)
    _check_reduction(reduction)
    c = log_probs.shape[-1]
    if not 0 <= blank < c:
        raise RuntimeError(f"blank must be in label range (blank={blank}, {c} classes)")
    il, tl = _lengths(input_lengths), _lengths(target_lengths)
    n = 1 if log_probs.ndim == 2 else log_probs.shape[1]
    if len(il) != n or len(tl) != n:
        raise RuntimeError(
            f"ctc_loss: input_lengths ({len(il)}) and target_lengths ({len(tl)}) must have one entry "
            f"per batch element ({n})"
        )
    return CTCLoss.apply(log_probs, targets, il, tl, blank, reduction, zero_infinity)
