"""Reductions: sums and means, products, variances, max/min (values, indices and arg),
norms, log-sum-exp, cumulative sums and products, logical reductions, median and mode."""

import builtins
import functools
import math
from collections import namedtuple

import numpy as np

from . import _batching
from .. import _backend, _dtype
from .._float_warnings import silent
from ..amp import autocast_mode
from ..autograd.function import Function
from ..autograd.forward_ad import linear_jvp, slicewise_jvp
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor, _wrap_dim
from ._kernel_dtypes import check_floating, check_not_bool, not_implemented_for, scalar_name
from ._dims import expand_reduced, expand_reduced_array, normalize_dims
from ._inplace import make_inplace
from ._method import tensor_method
from .comparison import where
from .elementwise import float_data
from ._out import CAST, COPY, INTO, NONE, SAME, takes_out

__all__ = ["sum", "mean"]


_ndarray = np.ndarray  # (np.ndarray reads are not specialised by CPython 3.11: numpy has a module __getattr__)
_add_reduce = np.add.reduce  # what ndarray.sum calls through NumPy's Python wrapper (_methods._sum)


def _accumulation_input(a, dtype):
    """The array of ``a`` to sum or multiply: in ``dtype`` if given, else with integers and
    bools widened to int64 (torch's rule for sum, prod, cumsum, cumprod, nansum)."""
    x = a._data
    if dtype is not None:
        return x.astype(dtype.np)
    if x.dtype.kind in "biu":
        return x.astype(np.int64)
    return x


def _in_dtype(z, dtype):
    """The result of a sum or product in the requested dtype: NumPy widens small integer ones
    (int8 -> int64, uint8 -> uint64), and casting back wraps around as accumulating in the
    dtype does (torch); dtype=bool gives any/all."""
    return z if dtype is None or z.dtype == dtype.np else z.astype(dtype.np)


class Sum(Function):
    """z = sum over dims of a;  da = g broadcast back over those dims."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}
    _array_forward = True  # (Function._array_forward)

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = _accumulation_input(a, dtype)
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        if type(x) is not _ndarray:
            return _in_dtype(x.sum(axis=dims, keepdims=keepdim), dtype)
        # np.add.reduce called here, not through ndarray.sum's wrapper: inf + -inf = nan's warning
        # then comes from this module, which retrograd's warnings filter silences (_float_warnings)
        if x.dtype.itemsize == 2 and x.dtype.kind in "fV":  # half: accumulate in float32, as torch
            # (CuPy's float16 sum accumulates in float32 itself)
            return _add_reduce(x, dims, np.float32, None, keepdim).astype(x.dtype)
        return _in_dtype(_add_reduce(x, dims, None, None, keepdim), dtype)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:  # plain backward: a broadcast view, no graph
            return Tensor._make(expand_reduced_array(g._data, ctx.shape, ctx.dims, ctx.keepdim)), None, None, None
        return expand_reduced(g, ctx.shape, ctx.dims, ctx.keepdim), None, None, None


class Mean(Function):
    """z = mean over dims of a;  da = g/n broadcast back over those dims."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = a._data
        if dtype is not None:
            x = x.astype(dtype.np)
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        n = 1
        for d in dims:
            n *= a.shape[d]
        ctx.n = n
        with np.errstate(invalid="ignore", divide="ignore"):
            if n and type(x) is _ndarray and x.dtype.itemsize == 2:  # half: in float32, rounded once, as torch
                return x.mean(axis=dims, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
            return x.mean(axis=dims, keepdims=keepdim) if n else x.sum(axis=dims, keepdims=keepdim) * np.nan

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        if not _grad_state.enabled:  # plain backward: a broadcast view, no graph
            with np.errstate(divide="ignore", invalid="ignore"):
                gn = _backend.array_module(g._data).asarray(g._data / g._data.dtype.type(ctx.n))
            return Tensor._make(expand_reduced_array(gn, ctx.shape, ctx.dims, ctx.keepdim)), None, None, None
        return expand_reduced(g / ctx.n, ctx.shape, ctx.dims, ctx.keepdim), None, None, None


class SumDim(Sum):
    """Sum over given dims (torch names its node SumBackward1)."""

    _backward_name = "SumBackward1"


class MeanDim(Mean):
    """Mean over given dims (torch names its node MeanBackward1)."""

    _backward_name = "MeanBackward1"


# (a bound method kept: Op.apply looks the classmethod up and binds it on every call, ~460 machine instructions)
_sum_apply = Sum.apply


def _out_needs_dim(none_is_a_dim):
    """torch's sum and prod take out= only in their overload with dim (sum's dim may be None when
    passed, prod's must be an int): out= without it is a TypeError."""
    def decorate(fn):
        @functools.wraps(fn)
        def with_dim(*args, out=None, **kwargs):
            if out is not None:
                given = len(args) > 1 or "dim" in kwargs
                dim = args[1] if len(args) > 1 else kwargs.get("dim")
                if not given or dim is None and not none_is_a_dim:
                    name = fn.__name__
                    raise TypeError(f"{name}() received an invalid combination of arguments - got out= without "
                                    f"{'an int dim' if given else 'a dim'}: torch's {name} takes out= only with dim "
                                    f"({name}(input, dim, keepdim=False, *, dtype=None, out=None))")
            return fn(*args, out=out, **kwargs)
        return with_dim
    return decorate


@_out_needs_dim(none_is_a_dim=True)
@takes_out(dtype=INTO)
@tensor_method()
def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001
    """Sum of elements over ``dim`` (all by default). Integers and bools sum to int64."""
    dims = normalize_dims(dim, input.ndim)
    return (_sum_apply if dim is None else SumDim.apply)(
        input, dims, keepdim, None if dtype is None else _reduction_dtype(input, dtype))


def _reduction_dtype(input, dtype):
    """dtype= of a sum or product: torch's autograd refuses an integer result of an input that
    requires grad."""
    dtype = _dtype.to_dtype(dtype)
    if not dtype.is_floating_point and input.requires_grad and _grad_state.enabled:
        raise RuntimeError(f"Autograd not support dtype: {scalar_name(dtype)} (dtype={dtype} of a tensor that "
                           "requires grad: detach it first, or pass a floating dtype)")
    return dtype


@takes_out(dtype=CAST)
@tensor_method()
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of elements over ``dim`` (all by default)."""
    if dtype is None and not input.dtype.is_floating_point:  # checked before dim, as torch
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {input.dtype}. Use .float() first, or pass dtype=."
        )
    dtype = _float_dtype("mean", dtype)  # before dim, as torch
    dims = normalize_dims(dim, input.ndim)
    return (Mean if dim is None else MeanDim).apply(input, dims, keepdim, dtype)


def _float_dtype(name, dtype):
    """mean's and nanmean's dtype=: a floating dtype, or None."""
    dtype = _maybe_dtype(dtype)
    if dtype is not None and not dtype.is_floating_point:
        raise RuntimeError(f"{name}(): could not infer output dtype. Optional dtype must be either a floating "
                           f"point or complex dtype. Got: {dtype}. Pass a floating dtype= (torch.float32).")
    return dtype



# ---------------------------------------------------------------------------- helpers

__all__ += ["prod", "var", "std", "var_mean", "std_mean", "max", "min", "amax", "amin", "aminmax",
            "argmax", "argmin", "norm", "logsumexp", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp",
            "all", "any",
            "count_nonzero", "median", "nanmedian", "mode", "nansum", "nanmean", "quantile", "nanquantile"]


def _return_type(name, fields=("values", "indices")):
    """A named tuple that prints as torch's ``torch.return_types.<name>(values=..., indices=...)``."""
    cls = namedtuple(name, fields)
    cls.__module__ = "torch.return_types"
    cls.__repr__ = lambda self: f"torch.return_types.{name}(" + ",".join(
        f"\n{f}={v!r}" for f, v in zip(fields, self)) + ")"
    return cls


class return_types:  # noqa: N801 - torch's name
    """The named pairs that value-and-index reductions return (``torch.return_types``)."""

    max = _return_type("max")
    min = _return_type("min")
    median = _return_type("median")
    nanmedian = _return_type("nanmedian")
    mode = _return_type("mode")
    aminmax = _return_type("aminmax", ("min", "max"))
    cummax = _return_type("cummax")
    cummin = _return_type("cummin")


def _numel(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _require_nonempty(name, input, dims, full):
    """torch's errors for reductions without an identity over an empty dim."""
    if full and input.numel() == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    for d in dims:
        if input.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _float_dtype_for(name, input):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}(): std and var only support floating point and complex dtypes "
                           f"(got {input.dtype})")


def _bool_tensor(arr):
    return Tensor._make(arr)


def _keep(g, shape, dims, keepdim):
    """g broadcast back to the input's shape over the reduced dims."""
    return expand_reduced(g, shape, dims, keepdim)


def _evenly(g, a, z, dims, keepdim, nan_equal=True):
    """Gradient of a value-selecting reduction whose value ties share it evenly:
    da = g/count where a equals the result. nan_equal: a nan result goes to the nan
    elements (torch's max(), median()); else nan poisons the slice (torch's amax/amin)."""
    shape = a.shape
    zk = _keep(z, shape, dims, keepdim)
    xp = _backend.array_module(a._data)
    ad, zd = a._data, zk._data
    mask = ad == zd
    if nan_equal and ad.dtype.kind == "f":
        mask |= xp.isnan(ad) & xp.isnan(zd)
    with np.errstate(all="ignore"):
        count = _backend.cast(mask.sum(axis=dims, keepdims=True), ad.dtype)
    share = _keep(g, shape, dims, keepdim) / Tensor._make(count)
    if nan_equal:
        return where(_bool_tensor(mask), share, 0.0)
    return share * Tensor._make(_backend.cast(mask, ad.dtype))


def _index_mask(indices, shape, dim, keepdim):
    """A bool array of ``shape``, True where position along ``dim`` equals ``indices``."""
    xp = _backend.array_module(indices)
    idx = indices if keepdim or not len(shape) else xp.expand_dims(indices, dim)
    pos = xp.arange(shape[dim]).reshape([-1 if i == dim else 1 for i in range(len(shape))]) if shape else 0
    return pos == idx


class _SelectAlongDim(Function):
    """Base of value-and-index reductions along one dim (max, min, median, mode):
    forward finds ``indices``; z = a at those indices;  da = g at the indices, 0 elsewhere."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def indices(xp, x, dim):
        raise NotImplementedError("each reduction subclass defines indices (abstract base)")

    @staticmethod
    def forward(ctx, a, dim, keepdim):
        x = a._data
        xp = _backend.array_module(x)
        if x.ndim == 0:
            idx = xp.zeros((), dtype=np.int64)
            values = x.copy()
        else:
            idx = ctx.indices(xp, x, dim).astype(np.int64)
            values = xp.take_along_axis(x, xp.expand_dims(idx, dim), axis=dim)
            if keepdim:
                idx = xp.expand_dims(idx, dim)
            else:
                values = values.squeeze(dim)
        ctx.shape, ctx.dim, ctx.keepdim = tuple(a.shape), dim, keepdim
        idx_t = Tensor._make(idx)
        ctx.mark_non_differentiable(idx_t)
        ctx.save_for_backward(idx_t)
        return values, idx_t

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = ta at the selected indices along dim; the indices have no tangent."""
        a, dim, keepdim = ctx._fw_args
        idx = ctx._fw_results[1]
        if a.dim() == 0:
            return ta, None
        t = ta.gather(dim, idx if keepdim else idx.unsqueeze(dim))
        return (t if keepdim else t.squeeze(dim)), None

    @staticmethod
    def backward(ctx, g, g_idx=None):
        (idx,) = ctx.saved_tensors
        if not ctx.shape:
            return g, None, None
        mask = _bool_tensor(_index_mask(idx._data, ctx.shape, ctx.dim, ctx.keepdim))
        return where(mask, _keep(g, ctx.shape, (ctx.dim,), ctx.keepdim), 0.0), None, None


class MaxDim(_SelectAlongDim):
    """(values, indices) of the max along dim (first index among ties; nan is the max)."""
    indices = staticmethod(lambda xp, x, dim: xp.argmax(x, axis=dim))


class MinDim(_SelectAlongDim):
    """(values, indices) of the min along dim (first index among ties; nan is the min)."""
    indices = staticmethod(lambda xp, x, dim: xp.argmin(x, axis=dim))


def _lower_median_index(xp, x, dim):
    # stable sort puts nan last; torch's median returns nan if any (its index: the first nan)
    order = xp.argsort(x, axis=dim, kind="stable")
    n = x.shape[dim]
    idx = xp.take(order, (n - 1) // 2, axis=dim)
    has_nan = xp.isnan(x).any(axis=dim) if x.dtype.kind == "f" else None
    if has_nan is not None and (xp is not np or bool(has_nan.any())):  # (a device is not asked)
        idx = xp.where(has_nan, xp.argmax(xp.isnan(x), axis=dim), idx)
    return idx


def _lower_nanmedian_index(xp, x, dim):
    order = xp.argsort(x, axis=dim, kind="stable")  # nan sorts last
    count = (~xp.isnan(x)).sum(axis=dim, keepdims=True) if x.dtype.kind == "f" else x.shape[dim]
    k = xp.maximum((count - 1) // 2, 0)
    k = xp.broadcast_to(k, order.shape[:dim] + (1,) + order.shape[dim + 1:]) if hasattr(k, "shape") else k
    if not hasattr(k, "shape"):
        return xp.take(order, k, axis=dim)
    return xp.take_along_axis(order, k, axis=dim).squeeze(dim)


def _mode_index(xp, x, dim):
    moved = xp.moveaxis(x, dim, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.empty(rows.shape[0], dtype=np.int64)
    host = rows if xp is np else _backend.to_device(rows, "cpu")
    for r, row in enumerate(host):
        vals, counts = np.unique(row, return_counts=True)
        v = vals[np.argmax(counts)]  # most frequent; the smallest among equally frequent
        out[r] = np.nonzero(row == v)[0][-1] if v == v else np.nonzero(np.isnan(row))[0][-1]
    out = out.reshape(moved.shape[:-1])
    return out if xp is np else xp.asarray(out)


class MedianDim(_SelectAlongDim):
    """(values, indices) of the lower median along dim."""
    indices = staticmethod(_lower_median_index)


class NanMedianDim(_SelectAlongDim):
    """(values, indices) of the lower median along dim, ignoring nan."""
    indices = staticmethod(_lower_nanmedian_index)


class ModeDim(_SelectAlongDim):
    """(values, indices) of the most frequent value along dim (smallest among ties; its last index)."""
    indices = staticmethod(_mode_index)


class _ValueReduction(Function):
    """Base of the full or multi-dim value reductions whose ties share the gradient evenly
    (max(), min(), amax, amin, median()): da = g/count where a equals z."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def f(xp, x, dims, keepdim):
        raise NotImplementedError("each reduction subclass defines f (abstract base)")

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        x = a._data
        out = Tensor._make(ctx.f(_backend.array_module(x), x, dims, keepdim))
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(a, out)
        return out

    nan_equal = True

    jvp = staticmethod(slicewise_jvp)  # each element feeds one output: J t = slice sums of t·Jᵀ1

    @staticmethod
    def backward(ctx, g):
        a, z = ctx.saved_tensors
        return _evenly(g, a, z, ctx.dims, ctx.keepdim, ctx.nan_equal), None, None


class MaxAll(_ValueReduction):
    """z = max of all elements;  da = g shared evenly among the elements equal to z (or nan)."""
    f = staticmethod(lambda xp, x, dims, keepdim: xp.max(x, axis=dims, keepdims=keepdim))


class MinAll(_ValueReduction):
    """z = min of all elements;  da = g shared evenly among the elements equal to z (or nan)."""
    f = staticmethod(lambda xp, x, dims, keepdim: xp.min(x, axis=dims, keepdims=keepdim))


class Amax(MaxAll):
    """z = max of a over dims;  da = g shared evenly among the elements equal to z (nan where z is)."""
    nan_equal = False


class Amin(MinAll):
    """z = min of a over dims;  da = g shared evenly among the elements equal to z (nan where z is)."""
    nan_equal = False


def _median_all(xp, x, dims, keepdim):
    flat = x.reshape(-1)
    if flat.size == 0:
        return xp.full((1,) * x.ndim if keepdim else (), xp.nan, dtype=x.dtype)
    v = xp.sort(flat)[(flat.size - 1) // 2]
    if flat.dtype.kind == "f":  # nan if there is one (selected on the device: no round trip to ask)
        v = xp.where(xp.isnan(flat).any(), xp.asarray(xp.nan, dtype=x.dtype), v)
    return v.reshape((1,) * x.ndim) if keepdim else xp.asarray(v)


def _nanmedian_all(xp, x, dims, keepdim):
    flat = x.reshape(-1)
    if flat.dtype.kind == "f":
        flat = flat[~xp.isnan(flat)]
    if flat.size == 0:
        return xp.asarray(xp.nan, dtype=x.dtype)
    return xp.asarray(xp.sort(flat)[(flat.size - 1) // 2])


class MedianAll(_ValueReduction):
    """z = the lower median of all elements;  da = g shared evenly among the elements equal to z."""
    f = staticmethod(_median_all)


class NanMedianAll(_ValueReduction):
    """z = the lower median of the non-nan elements;  da = g shared evenly among those equal to z."""
    f = staticmethod(_nanmedian_all)


class Prod(Function):
    """z = product of a over dims;  da = g*z/a, computed as the product of the other
    elements where a has zeros (so one zero still passes a gradient to itself)."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _autocast = "fp32"

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = _accumulation_input(a, dtype)
        out = Tensor._make(_in_dtype(x.prod(axis=dims, keepdims=keepdim), dtype))
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(a, out)
        return out

    jvp = staticmethod(slicewise_jvp)  # each element feeds one output: J t = slice sums of t·Jᵀ1

    @staticmethod
    def backward(ctx, g):
        a, z = ctx.saved_tensors
        dims, keepdim, shape = ctx.dims, ctx.keepdim, a.shape
        gk = _keep(g, shape, dims, keepdim)
        zk = _keep(z, shape, dims, keepdim)
        # the quotient where no element is 0 (asked on the host only: on a device the zero-safe
        # formula, equal without zeros, costs less than a round trip)
        if _backend.array_module(a._data) is np and not bool((a._data == 0).any()):
            return gk * zk / a, None, None, None
        zero = a == 0
        others = prod_dims(where(zero, 1.0, a), dims, True)  # product of the nonzero elements
        n_zero = zero.sum(dims, keepdim=True)
        at_zero = where(n_zero == 1, gk * others, 0.0)
        # a nonzero element of a slice that holds a zero: the product of the others is 0
        elsewhere = where(n_zero > 0, 0.0, gk * zk / where(zero, 1.0, a))
        return where(zero, at_zero, elsewhere), None, None, None


def prod_dims(a, dims, keepdim):
    return Prod.apply(a, dims, keepdim, None)


class Var(Function):
    """z = sum((a - mean)^2)/(N - correction) over dims;  da = g*2*(a - mean)/(N - correction)."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, dims, correction, keepdim):
        out, half = Var.variance(ctx, a, dims, correction, keepdim)
        return out if half is None else out.astype(half)

    @staticmethod
    def variance(ctx, a, dims, correction, keepdim):
        """The variance's array, and the half dtype to round it to: float16/bfloat16 are computed
        in float32, as torch's CPU kernels (None for other dtypes, computed in their own)."""
        x, half = a._data, None
        if type(x) is _ndarray and x.dtype.itemsize == 2:
            x, half = x.astype(np.float32), x.dtype
        xp = _backend.array_module(x)
        n = _numel(x.shape, dims)
        ctx.dims, ctx.keepdim, ctx.denom = dims, keepdim, n - correction
        ctx.save_for_backward(a)
        with np.errstate(all="ignore"):
            mu = x.mean(axis=dims, keepdims=True) if n else xp.full([1] * x.ndim, xp.nan, x.dtype)
            dev = x - mu
            return (dev * dev).sum(axis=dims, keepdims=keepdim) / x.dtype.type(builtins.max(n - correction, 0)), half

    jvp = staticmethod(slicewise_jvp)  # each element feeds one output: J t = slice sums of t·Jᵀ1

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dev = a - a.mean(ctx.dims, keepdim=True)
        return _keep(g, a.shape, ctx.dims, ctx.keepdim) * dev * (2.0 / ctx.denom if ctx.denom > 0 else
                                                                   float("inf")), None, None, None


class Std(Function):
    """z = sqrt(var(a));  da = g*(a - mean)/((N - correction)*z), 0 where z = 0."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, dims, correction, keepdim):
        prev, half = Var.variance(ctx, a, dims, correction, keepdim)
        root = _backend.array_module(prev).sqrt(prev)
        out = Tensor._make(root if half is None else root.astype(half))
        ctx.save_for_backward(a, out)
        return out

    jvp = staticmethod(slicewise_jvp)  # each element feeds one output: J t = slice sums of t·Jᵀ1

    @staticmethod
    def backward(ctx, g):
        a, z = ctx.saved_tensors
        dims, keepdim = ctx.dims, ctx.keepdim
        dev = a - a.mean(dims, keepdim=True)
        zk = _keep(z, a.shape, dims, keepdim)
        scale = where(zk == 0, 0.0, _keep(g, a.shape, dims, keepdim) / (zk * ctx.denom))
        return scale * dev, None, None, None


class Logsumexp(Function):
    """z = m + ln(sum(e^(a - m))) with m = max a (stable);  da = g*e^(a - z)."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        x = float_data(a)
        xp = _backend.array_module(x)
        with np.errstate(all="ignore"):
            if x.size:
                m = xp.max(x, axis=dims, keepdims=True) if dims else x
                m = xp.where(xp.isfinite(m), m, 0)
            else:
                m = xp.zeros([1] * x.ndim, dtype=x.dtype)
            e = xp.exp(x - m)
            if type(x) is _ndarray and x.dtype.itemsize == 2:  # half: torch's steps each round, the sum in float32
                s = xp.log(e.sum(axis=dims, keepdims=True, dtype=np.float32).astype(x.dtype)) + m
            else:
                s = xp.log(e.sum(axis=dims, keepdims=True)) + m
        out = s if keepdim else s.reshape([n for i, n in enumerate(s.shape) if i not in dims])
        out = Tensor._make(out)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(a, out)
        return out

    jvp = staticmethod(slicewise_jvp)  # each element feeds one output: J t = slice sums of t·Jᵀ1

    @staticmethod
    def backward(ctx, g):
        a, z = ctx.saved_tensors
        zk = _keep(z, a.shape, ctx.dims, ctx.keepdim)
        return _keep(g, a.shape, ctx.dims, ctx.keepdim) * (a - zk).exp(), None, None


class Cumsum(Function):
    """z_i = sum_{j<=i} a_j along dim;  da_i = sum_{j>=i} g_j (a reversed cumulative sum)."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a, dim, dtype):
        x = _accumulation_input(a, dtype)
        ctx.dim = dim
        if x.ndim and type(x) is _ndarray and x.dtype.itemsize == 2 and x.dtype.kind in "fV":
            return x.cumsum(axis=dim, dtype=np.float32).astype(x.dtype)  # half: float32 running sums, as torch
        return _in_dtype(x.cumsum(axis=dim), dtype) if x.ndim else x.copy()

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        if g.ndim == 0:
            return g, None, None
        return g - cumsum(g, ctx.dim) + g.sum(ctx.dim, keepdim=True), None, None


class Cumprod(Function):
    """z_i = prod_{j<=i} a_j along dim;  da_i = sum_{j>=i} g_j*z_j/a_i (without dividing by
    zero: where a has zeros the sum is built right to left, S_i = g_i + a_{i+1}*S_{i+1})."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a, dim, dtype):
        x = _accumulation_input(a, dtype)
        out = Tensor._make(_in_dtype(x.cumprod(axis=dim), dtype) if x.ndim else x.copy())
        ctx.dim = dim
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = z * cumsum(da/a); where a has zeros, the product rule step by step instead:
        dz_i = dz_{i-1} a_i + z_{i-1} da_i."""
        a, z = ctx._fw_args[0], ctx._fw_results[0]
        if a.ndim == 0:
            return ta
        d = ctx.dim
        if not bool((a._data == 0).any()):
            return z * cumsum(ta / a, d)
        cols, tcols, zcols = ([t.select(d, i).unsqueeze(d) for i in range(a.shape[d])] for t in (a, ta, z))
        out = [tcols[0]]
        for i in range(1, len(cols)):
            out.append(out[-1] * cols[i] + zcols[i - 1] * tcols[i])
        return _cat(out, d)

    @staticmethod
    def backward(ctx, g):
        a, z = ctx.saved_tensors
        if g.ndim == 0:
            return g, None, None
        d = ctx.dim
        if not bool((a._data == 0).any()):
            gz = g * z
            return (gz - cumsum(gz, d) + gz.sum(d, keepdim=True)) / a, None, None
        n = a.shape[d]
        # exclusive prefix products E_i = prod_{k<i} a_k, and S_i = g_i + a_{i+1} S_{i+1}
        cols = [a.select(d, i).unsqueeze(d) for i in range(n)]
        gcols = [g.select(d, i).unsqueeze(d) for i in range(n)]
        excl = [a.new_ones(cols[0].shape)]
        for i in range(1, n):
            excl.append(excl[-1] * cols[i - 1])
        s = [None] * n
        s[n - 1] = gcols[n - 1]
        for i in range(n - 2, -1, -1):
            s[i] = gcols[i] + cols[i + 1] * s[i + 1]
        return _cat([e * si for e, si in zip(excl, s)], d), None, None


def _cat(parts, dim):
    from . import join

    return join.cat(parts, dim)


class Logcumsumexp(Function):
    """z_i = ln sum_{j<=i} e^(a_j) along dim;  da_i = sum_{j>=i} g_j e^(a_i - z_j), summed in log
    space for the positive and the negative parts of g (so large magnitudes stay finite)."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, dim):
        x = float_data(a)
        xp = _backend.array_module(x)
        ctx.dim = dim
        if x.ndim == 0 or x.size == 0:
            out = x.copy()
        else:
            with np.errstate(all="ignore"):
                out = scan(xp, xp.logaddexp, x, dim)
        out = Tensor._make(out)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz_i = sum_{j<=i} e^(a_j - z_i) da_j, summed in log space for the positive and the
        negative parts of da: dz = e^(lcse(a + log da+) - z) - e^(lcse(a + log da-) - z)."""
        a, z = ctx._fw_args[0], ctx._fw_results[0]
        if a.ndim == 0:
            return ta
        log_pos, log_neg = _signed_logs(ta)
        return (Logcumsumexp.apply(a + log_pos, ctx.dim) - z).exp() - \
            (Logcumsumexp.apply(a + log_neg, ctx.dim) - z).exp()

    @staticmethod
    def backward(ctx, g):
        a, z = ctx.saved_tensors
        if g.ndim == 0:
            return g, None
        d = ctx.dim

        def reverse_lcse(t):
            return Logcumsumexp.apply(t.flip(d), d).flip(d)

        log_pos, log_neg = _signed_logs(g)
        return (a + reverse_lcse(log_pos - z)).exp() - (a + reverse_lcse(log_neg - z)).exp(), None


def _signed_logs(g):
    """(log g where g > 0, log -g where g < 0), a huge finite negative elsewhere: exact zeros
    after exp, and no inf - inf (nan) in logcumsumexp's derivatives or in their own."""
    low = _very_negative(g._data.dtype)
    pos, neg = g > 0, g < 0
    return where(pos, where(pos, g, 1.0).log(), low), where(neg, where(neg, -g, 1.0).log(), low)


def _very_negative(dt):
    try:
        return float(np.finfo(dt).min) / 4
    except ValueError:  # bfloat16 (ml_dtypes)
        return -1e37


def scan(xp, ufunc, x, axis):
    """The inclusive scan of ``ufunc`` (associative) along ``axis``: NumPy's ``accumulate`` on the
    host; on a device (CuPy's ufuncs accumulate only add) log2(n) elementwise passes, each
    combining every element with the one 2**k before it."""
    if xp is np:
        return ufunc.accumulate(x, axis=axis)
    out, k = xp.moveaxis(x, axis, 0).copy(), 1
    while k < out.shape[0]:
        out = xp.concatenate([out[:k], ufunc(out[k:], out[:-k])])
        k *= 2
    return xp.moveaxis(out, 0, axis)


class _CumExtreme(Function):
    """Base of cummax/cummin: z_i = the running extreme of a along dim, with the index it came
    from (the latest among ties, nan sticks);  da = g summed into those indices."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        xp = _backend.array_module(x)
        if x.ndim == 0:
            values, idx = x.copy(), xp.zeros((), dtype=np.int64)
        else:
            values = scan(xp, ctx.ufunc(xp), x, dim) if x.size else x.copy()
            pos = xp.arange(x.shape[dim]).reshape([-1 if i == dim else 1 for i in range(x.ndim)])
            hit = x == values
            if x.dtype.kind == "f":
                hit |= xp.isnan(x)
            idx = scan(xp, xp.maximum, xp.where(hit, pos, 0), dim) if x.size else xp.zeros(x.shape, np.int64)
        idx_t = Tensor._make(idx.astype(np.int64))
        ctx.dim = dim
        ctx.mark_non_differentiable(idx_t)
        ctx.save_for_backward(idx_t)
        return values, idx_t

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = ta at the index each running extreme came from; the indices have no tangent."""
        a, dim = ctx._fw_args
        if a.dim() == 0:
            return ta, None
        return ta.gather(dim, ctx._fw_results[1]), None

    @staticmethod
    def backward(ctx, g, g_idx=None):
        (idx,) = ctx.saved_tensors
        if g.ndim == 0:
            return g, None
        return g.new_zeros(g.shape).scatter_add(ctx.dim, idx, g), None


class CumMax(_CumExtreme):
    """(values, indices) of the running max along dim."""
    ufunc = staticmethod(lambda xp: xp.maximum)


class CumMin(_CumExtreme):
    """(values, indices) of the running min along dim."""
    ufunc = staticmethod(lambda xp: xp.minimum)


def _autocast_device(array):
    """The device type of an array as autocast sees it (its tests see NumPy arrays as CUDA ones,
    where torch's quantile takes float16 and bfloat16)."""
    return autocast_mode._device_type(array)


class Quantile(Function):
    """z = sorted(a)[lo] + w*(sorted(a)[hi] - sorted(a)[lo]) at position q*(n-1) along dim;
    da = g*(1 - w) into the source of sorted[lo] and g*w into that of sorted[hi]."""
    _autocast = {"cpu": "fp32"}

    @classmethod
    def vmap(cls, info, in_dims, a, qs, dim, keepdim, interpolation, ignore_nan):
        """The batch dim first: quantiles along dim + 1, or of each flattened sample (dim None);
        the result's batch dim follows the quantiles' dim."""
        x = _batching.front(a, in_dims[0])
        if x.ndim == 1:
            raise _batching.NoRule("quantile of 0-dim samples")
        if dim is not None:
            return cls.apply(x, qs, dim + 1, keepdim, interpolation, ignore_nan), 1
        z = cls.apply(x.reshape(x.shape[0], -1), qs, 1, True, interpolation, ignore_nan)
        return z.reshape((len(qs), x.shape[0]) + ((1,) * (x.ndim - 1) if keepdim else ())), 1

    @staticmethod
    def forward(ctx, a, qs, dim, keepdim, interpolation, ignore_nan):
        x = a._data
        if x.dtype.itemsize == 2 and _autocast_device(x) == "cpu":  # (after CPU autocast's float32 cast)
            raise RuntimeError(f"quantile() input tensor must be either float or double dtype (got {a.dtype}: "
                               "torch's CPU quantile takes float32 and float64 only; convert it with .float())")
        xp = _backend.array_module(x)
        flat = dim is None
        if flat:
            x, dim = x.reshape(-1), 0
        elif x.ndim == 0:
            x = x.reshape(1)
        order = xp.argsort(x, axis=dim, kind="stable")  # nan sorts last
        srt = xp.take_along_axis(x, order, axis=dim)
        n = x.shape[dim]
        nan = xp.isnan(x)
        valid = (~nan).sum(axis=dim, keepdims=True) if ignore_nan else xp.full(
            [1 if i == dim else s for i, s in enumerate(x.shape)], n)
        values, lo_idx, hi_idx, weights = [], [], [], []
        for q in qs:
            pos = q * (valid - 1).astype(np.float64)
            lo, hi = xp.floor(pos), xp.ceil(pos)
            if interpolation == "lower":
                hi = lo
            elif interpolation == "higher":
                lo = hi
            elif interpolation == "nearest":
                lo = hi = xp.round(pos)
            w = pos - lo if interpolation == "linear" else xp.full(pos.shape, 0.5 if interpolation == "midpoint"
                                                                   else 0.0)
            if not ignore_nan:  # a slice with nan takes its last sorted element (a nan), as torch
                bad = nan.any(axis=dim, keepdims=True)
                lo, hi, w = xp.where(bad, n - 1, lo), xp.where(bad, n - 1, hi), xp.where(bad, 0.0, w)
            w = _backend.cast(w, x.dtype)
            lo = xp.clip(lo, 0, builtins.max(n - 1, 0)).astype(np.int64)
            hi = xp.clip(hi, 0, builtins.max(n - 1, 0)).astype(np.int64)
            vlo, vhi = xp.take_along_axis(srt, lo, axis=dim), xp.take_along_axis(srt, hi, axis=dim)
            values.append(vlo + w * (vhi - vlo))
            lo_idx.append(xp.take_along_axis(order, lo, axis=dim))
            hi_idx.append(xp.take_along_axis(order, hi, axis=dim))
            weights.append(w)
        out = xp.stack(values)  # (Q, ...keepdim shape)
        if flat:
            out = out.reshape((len(qs),) + ((1,) * a.ndim if keepdim else ()))
        elif not keepdim:
            out = out.squeeze(dim + 1) if a.ndim else out.reshape(len(qs))
        elif not a.ndim:
            out = out.reshape(len(qs))
        ctx.flat, ctx.dim, ctx.shape = flat, dim, tuple(a.shape)
        ctx.save_for_backward(Tensor._make(xp.stack(lo_idx)), Tensor._make(xp.stack(hi_idx)),
                              Tensor._make(xp.stack(weights)))
        return out

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = (1 - w) da[source of sorted[lo]] + w da[source of sorted[hi]]."""
        lo, hi, w = ctx.saved_tensors
        dim = ctx.dim + 1  # after the leading q dimension
        work = ta.reshape(-1) if ctx.flat else (ta if ta.ndim else ta.reshape(1))
        work = work.unsqueeze(0).expand((lo.shape[0],) + tuple(work.shape))
        dz = (1 - w) * work.gather(dim, lo) + w * work.gather(dim, hi)
        return dz.reshape(ctx._fw_results[0].shape)

    @staticmethod
    def backward(ctx, g):
        lo, hi, w = ctx.saved_tensors
        dim = ctx.dim + 1  # after the leading q dimension
        gk = g.reshape(w.shape)  # (Q, ...) with the reduced dim kept
        work = (lo.shape[0],) + (((int(np.prod(ctx.shape, dtype=np.int64)),)) if ctx.flat else
                                 (ctx.shape if ctx.shape else (1,)))
        ga = g.new_zeros(work)
        ga = ga.scatter_add(dim, lo, gk * (1 - w)).scatter_add(dim, hi, gk * w)
        return ga.sum(0).reshape(ctx.shape), None, None, None, None, None


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                           f"Got {interpolation}")
    scalar = not isinstance(q, Tensor) or q.ndim == 0
    qs = [float(q)] if scalar else [float(v) for v in q.tolist()]
    if isinstance(q, Tensor) and q.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    for v in qs:
        if not 0 <= v <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {v}")
    d = None if dim is None else _wrap_dim(dim, input.ndim)
    if d is not None and input.ndim:
        _require_nonempty(name, input, (d,), False)
    out = Quantile.apply(input, qs, d, keepdim, interpolation, ignore_nan)
    return out.squeeze(0) if scalar else out


@takes_out(dtype=SAME, grad=COPY)  # composite in torch
@tensor_method()
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles along ``dim`` (of all elements by default); nan if a slice has nan.
    A 1-D q puts its dimension first."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@takes_out(dtype=SAME, grad=COPY)  # composite in torch
@tensor_method()
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile ignoring nan (nan only where a slice is all nan)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


class NanSum(Function):
    """z = sum of the non-nan elements over dims;  da = g where a is not nan, else 0."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = _accumulation_input(a, dtype)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(a)
        with silent():  # (inf + -inf is nan silently, as in torch)
            if type(x) is np.ndarray and x.dtype.itemsize == 2 and x.dtype.kind in "fV":  # half: accumulate in
                # float32, as torch (on NumPy: CuPy's half sums accumulate in float32 themselves)
                return np.nansum(x.astype(np.float32), axis=dims, keepdims=keepdim).astype(x.dtype)
            return _in_dtype(_backend.array_module(x).nansum(x, axis=dims, keepdims=keepdim), dtype)

    jvp = staticmethod(slicewise_jvp)  # each element feeds one output: J t = slice sums of t·Jᵀ1

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        nan = _bool_tensor(_backend.array_module(a._data).isnan(a._data))
        return where(nan, 0.0, _keep(g, a.shape, ctx.dims, ctx.keepdim)), None, None, None


class VectorNorm(Function):
    """z = (sum |a|^p)^(1/p) over dims (max |a| for inf, min for -inf, count of nonzeros for 0);
    da = g*a*|a|^(p-2)/z^(p-1) (g*sign(a) for p = 1; ties share for +-inf; 0 where z = 0)."""
    _backward_name = "LinalgVectorNormBackward0"  # torch's node name
    vmap = classmethod(_batching.along_dims(2))  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a, ord, dims, keepdim):
        x = float_data(a)
        xp = _backend.array_module(x)
        low = x.dtype if x.dtype.itemsize == 2 else None  # half precision: computed in float32 and
        if low is not None:  # rounded once, as torch's kernels (bfloat16 sums of squares lost bits)
            x = x.astype(np.float32)
        ax = xp.abs(x)
        with np.errstate(all="ignore"):
            if ord == math.inf:
                out = ax.max(axis=dims, keepdims=keepdim)
            elif ord == -math.inf:
                out = ax.min(axis=dims, keepdims=keepdim)
            elif ord == 0:
                out = (x != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)
            elif ord == 1:
                out = ax.sum(axis=dims, keepdims=keepdim)
            elif ord == 2:
                out = xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
            else:
                out = (ax ** ord).sum(axis=dims, keepdims=keepdim) ** (1.0 / ord)
        out = Tensor._make(xp.asarray(out, dtype=x.dtype) if low is None else _backend.cast(xp.asarray(out), low))
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        ctx.save_for_backward(a, out)
        return out

    jvp = staticmethod(slicewise_jvp)  # each element feeds one output: J t = slice sums of t·Jᵀ1

    @staticmethod
    def backward(ctx, g):
        a, z = ctx.saved_tensors
        p, dims, keepdim, shape = ctx.ord, ctx.dims, ctx.keepdim, a.shape
        if p == 0:
            return a * 0, None, None, None
        if p in (math.inf, -math.inf):
            return _evenly(g, a.abs(), z, dims, keepdim) * a.sign(), None, None, None
        gk = _keep(g, shape, dims, keepdim)
        if p == 1:
            return gk * a.sign(), None, None, None
        zk = _keep(z, shape, dims, keepdim)
        if p == 2:
            return where(zk == 0, 0.0, gk / zk) * a, None, None, None
        scale = where(zk == 0, 0.0, gk / zk ** (p - 1))
        return scale * where(a == 0, 0.0, a * a.abs() ** (p - 2)), None, None, None  # (0, not 0 * inf, at a = 0)


# ---------------------------------------------------------------------------- public API


def _dims_or_all(dim, ndim):
    return normalize_dims(dim, ndim)


def _maybe_dtype(dtype):
    return _dtype.to_dtype(dtype) if dtype is not None else None


@_out_needs_dim(none_is_a_dim=False)
@takes_out(dtype=INTO)
@tensor_method()
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of elements (over one ``dim``, or all). Integers and bools give int64."""
    if dim is not None:
        if not isinstance(dim, int):
            raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__} (prod reduces one "
                            "dim at a time)")
        dim = _wrap_dim(dim, input.ndim or 1)  # a 0-d tensor takes dim 0 or -1
    dims = tuple(range(input.ndim)) if dim is None else (dim,) if input.ndim else ()
    dtype = None if dtype is None else _reduction_dtype(input, dtype)
    return Prod.apply(input, dims, keepdim and dim is not None, dtype)


def _correction(dim, unbiased, correction, name):
    if isinstance(dim, bool):  # var(input, unbiased) overload
        dim, unbiased = None, dim
    if correction is not None and unbiased is not None:
        raise RuntimeError(f"{name}: can't pass both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


@tensor_method()
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with ``correction`` (1: Bessel's, the default; ``unbiased=False``: 0)."""
    dim, c = _correction(dim, unbiased, correction, "var")
    _float_dtype_for("var", input)
    return Var.apply(input, _dims_or_all(dim, input.ndim), c, keepdim)


@tensor_method()
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim`` with ``correction`` (see var); gradient 0 where it is 0."""
    dim, c = _correction(dim, unbiased, correction, "std")
    _float_dtype_for("std", input)
    return Std.apply(input, _dims_or_all(dim, input.ndim), c, keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over ``dim``."""
    return var(input, dim, unbiased, keepdim, correction=correction), mean(
        input, None if isinstance(dim, bool) else dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over ``dim``."""
    return std(input, dim, unbiased, keepdim, correction=correction), mean(
        input, None if isinstance(dim, bool) else dim, keepdim)


def _select(cls, name, rtype, input, dim, keepdim):
    d = _wrap_dim(dim, input.ndim)
    if input.ndim:
        _require_nonempty(name, input, (d,), False)
    values, indices = cls.apply(input, d, keepdim)
    return rtype(values, indices)


def _full(cls, name, input):
    _require_nonempty(name, input, (), True)
    return cls.apply(input, tuple(range(input.ndim)), False)


@takes_out(dtype=SAME)
@tensor_method()
def max(input, dim=None, keepdim=False):  # noqa: A001
    """max(input): the largest element (ties share the gradient);
    max(input, dim, keepdim=False): the named pair (values, indices) along dim;
    max(input, other): the elementwise maximum."""
    if isinstance(dim, Tensor):
        from .math import maximum

        return maximum(input, dim)
    if dim is None:
        return _full(MaxAll, "max", input)
    return _select(MaxDim, "max", return_types.max, input, dim, keepdim)


@takes_out(dtype=SAME)
@tensor_method()
def min(input, dim=None, keepdim=False):  # noqa: A001
    """min(input), min(input, dim, keepdim) -> (values, indices), or min(input, other)."""
    if isinstance(dim, Tensor):
        from .math import minimum

        return minimum(input, dim)
    if dim is None:
        return _full(MinAll, "min", input)
    return _select(MinDim, "min", return_types.min, input, dim, keepdim)


def _amax_like(cls, name, input, dim, keepdim):
    full = dim is None or dim == () or dim == []
    if not full:  # an empty reduced dim is reported before a repeated one, as torch
        wrapped = [_wrap_dim(d, input.ndim or 1) for d in ((dim,) if isinstance(dim, int) else dim)]
        _require_nonempty(name, input, wrapped if input.ndim else (), False)
    dims = normalize_dims(None if full else dim, input.ndim)
    _require_nonempty(name, input, dims if not full or input.ndim else (), full)
    return cls.apply(input, dims, keepdim)


@takes_out(dtype=SAME)
@tensor_method()
def amax(input, dim=(), keepdim=False):
    """Largest elements over ``dim`` (all by default); ties share the gradient evenly."""
    return _amax_like(Amax, "amax", input, dim, keepdim)


@takes_out(dtype=SAME)
@tensor_method()
def amin(input, dim=(), keepdim=False):
    """Smallest elements over ``dim`` (all by default); ties share the gradient evenly."""
    return _amax_like(Amin, "amin", input, dim, keepdim)


@tensor_method()
def aminmax(input, *, dim=None, keepdim=False):
    """The named pair (min, max) over ``dim`` (all by default)."""
    d = () if dim is None else dim
    return return_types.aminmax(_amax_like(Amin, "aminmax", input, d, keepdim),
                                _amax_like(Amax, "aminmax", input, d, keepdim))


def _arg(fn_name, input, dim, keepdim):
    if input.dtype.name == "bool":
        raise RuntimeError(f"{fn_name}(): does not support bool input (convert with .int() first)")
    if _batching.batched(input) and input.ndim:  # under vmap: the batch's indices at once
        if dim is not None:
            d = _wrap_dim(dim, input.ndim)
            return _batching.on_batch(lambda x: _arg(fn_name, x, d + 1, keepdim), input)
        shape = (1,) * input.ndim if keepdim else ()
        return _batching.on_batch(lambda x: _arg(fn_name, x.reshape(x.shape[0], -1), 1, False).reshape(
            (x.shape[0],) + shape), input)
    x = input._data
    xp = _backend.array_module(x)
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{fn_name}(): Expected reduction dim to be specified for input.numel() == 0.")
        out = getattr(xp, fn_name)(x.reshape(-1))
        return Tensor._make(xp.asarray(out, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    d = _wrap_dim(dim, input.ndim)
    if x.ndim == 0:
        return Tensor._make(xp.zeros((), dtype=np.int64))
    _require_nonempty(fn_name, input, (d,), False)
    out = getattr(xp, fn_name)(x, axis=d).astype(np.int64)
    return Tensor._make(xp.expand_dims(out, d) if keepdim else out)


@takes_out(dtype=SAME, grad=NONE)
@tensor_method()
def argmax(input, dim=None, keepdim=False):
    """Index of the largest element (flattened when dim is None; the first among ties)."""
    return _arg("argmax", input, dim, keepdim)


@takes_out(dtype=SAME, grad=NONE)
@tensor_method()
def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element (flattened when dim is None; the first among ties)."""
    return _arg("argmin", input, dim, keepdim)


@tensor_method()
def median(input, dim=None, keepdim=False):
    """median(input): the lower median of all elements (nan if any is nan; ties share the
    gradient); median(input, dim, keepdim) -> (values, indices)."""
    _check_median_dtype(input, dim)
    if dim is None:
        return MedianAll.apply(input, tuple(range(input.ndim)), False)
    return _select(MedianDim, "median", return_types.median, input, dim, keepdim)


def _check_median_dtype(input, dim):
    """torch's median kernels have no bool version: refused, but for an empty input without dim
    (returned before a kernel is chosen) and an empty reduced dim (its IndexError comes first)."""
    if dim is None:
        if input.numel():
            check_not_bool("median_cpu", input)
    elif input.ndim == 0:
        _wrap_dim(dim, 1)  # dims 0 and -1 only: another is an IndexError first
        check_not_bool("median_out", input)
    elif input.shape[_wrap_dim(dim, input.ndim)]:
        check_not_bool("median_out", input)


@tensor_method()
def nanmedian(input, dim=None, keepdim=False):
    """median that ignores nan (nan only where all are nan)."""
    _check_median_dtype(input, dim)
    if dim is None:
        return NanMedianAll.apply(input, tuple(range(input.ndim)), False)
    return _select(NanMedianDim, "nanmedian", return_types.nanmedian, input, dim, keepdim)


@tensor_method()
def mode(input, dim=-1, keepdim=False):
    """(values, indices): the most frequent value along ``dim`` (the smallest among equally
    frequent ones) and the index of its last occurrence."""
    return _select(ModeDim, "mode", return_types.mode, input, dim, keepdim)


@takes_out(dtype=CAST)
@tensor_method()
def logsumexp(input, dim, keepdim=False):
    """ln(sum(exp(input))) over ``dim``, without overflow."""
    if dim is None:  # (torch's dim is required: None is not "all dims" here)
        raise TypeError("logsumexp(): argument 'dim' (position 2) must be tuple of ints, not NoneType")
    return Logsumexp.apply(input, normalize_dims(dim, input.ndim), keepdim)


@takes_out(dtype=INTO)
@tensor_method()
def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim`` (integers and bools give int64)."""
    return Cumsum.apply(input, _wrap_dim(dim, input.ndim), _cumulative_dtype("cumsum", input, dtype))


@takes_out(dtype=INTO)
@tensor_method()
def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim`` (integers and bools give int64)."""
    return Cumprod.apply(input, _wrap_dim(dim, input.ndim), _cumulative_dtype("cumprod", input, dtype))


def _cumulative_dtype(name, input, dtype):
    dtype = None if dtype is None else _reduction_dtype(input, dtype)
    if dtype is _dtype.bool_ and input.ndim and input.numel():  # (a 0-dim or empty input runs no kernel)
        raise not_implemented_for(f"{name}_out_cpu", dtype, f"{name} has no bool kernel: pass an integer dtype=")
    return dtype


@takes_out(dtype=SAME)
@tensor_method()
def logcumsumexp(input, dim):
    """ln(cumsum(exp(input))) along ``dim``, without overflow."""
    check_floating("logcumsumexp_out_cpu", input)
    return Logcumsumexp.apply(input, _wrap_dim(dim, input.ndim))


@tensor_method()
def cummax(input, dim):
    """(values, indices): the running maximum along ``dim`` and where each came from."""
    return return_types.cummax(*CumMax.apply(input, _wrap_dim(dim, input.ndim)))


@tensor_method()
def cummin(input, dim):
    """(values, indices): the running minimum along ``dim`` and where each came from."""
    return return_types.cummin(*CumMin.apply(input, _wrap_dim(dim, input.ndim)))


Tensor.cumsum_ = make_inplace(cumsum, "cumsum_")
Tensor.cumprod_ = make_inplace(cumprod, "cumprod_")


def _logical_reduce(name, input, dim, keepdim):
    if _batching.batched(input):  # under vmap: the whole batch at once, over the samples' dims
        dims = tuple(d + 1 for d in normalize_dims(dim, input.ndim))
        return _batching.on_batch(lambda x: _logical_reduce(name, x, dims, keepdim), input)
    x = input._data
    xp = _backend.array_module(x)
    dims = normalize_dims(dim, x.ndim)
    out = getattr(xp, name)(x, axis=dims, keepdims=keepdim)
    if x.dtype == np.uint8:  # torch keeps uint8 for uint8 inputs
        out = out.astype(np.uint8)
    return Tensor._make(xp.asarray(out))


@takes_out(dtype=SAME)
@tensor_method()
def all(input, dim=None, keepdim=False):  # noqa: A001
    """Whether every element (over ``dim``) is nonzero; a bool tensor."""
    return _logical_reduce("all", input, dim, keepdim)


@takes_out(dtype=SAME)
@tensor_method()
def any(input, dim=None, keepdim=False):  # noqa: A001
    """Whether some element (over ``dim``) is nonzero; a bool tensor."""
    return _logical_reduce("any", input, dim, keepdim)


@tensor_method()
def count_nonzero(input, dim=None):
    """The number of nonzero elements (over ``dim``), as int64."""
    x = input._data
    dims = normalize_dims(dim, x.ndim)
    return Tensor._make(_backend.array_module(x).asarray((x != 0).sum(axis=dims), dtype=np.int64))


@tensor_method()
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum treating nan as zero."""
    return NanSum.apply(input, normalize_dims(dim, input.ndim), keepdim,
                        None if dtype is None else _reduction_dtype(input, dtype))


@tensor_method()
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-nan elements."""
    if not input.dtype.is_floating_point:  # with or without dtype=, as torch
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got {input.dtype}")
    dtype = _float_dtype("nanmean", dtype)
    x = input._data
    dims = normalize_dims(dim, x.ndim)
    count = Tensor._make((~_backend.array_module(x).isnan(x)).sum(axis=dims, keepdims=keepdim)
                         .astype(x.dtype if dtype is None else dtype.np))
    return nansum(input, dim, keepdim, dtype=dtype) / count


@takes_out(dtype=SAME)
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x|^ord)^(1/ord) over ``dim`` (all by default); ord may be inf, -inf or 0."""
    if dtype is not None:
        x = x.to(_dtype.to_dtype(dtype))
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype}")
    ord = float(ord)
    dims = normalize_dims(dim, x.ndim)
    if ord < 0 or ord == math.inf:
        if x.numel() == 0 and (dim is None or builtins.any(x.shape[d] == 0 for d in dims)):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty tensor "
                               "because the operation does not have an identity")
    return VectorNorm.apply(x, ord, dims, keepdim)


@takes_out(dtype=SAME)
@tensor_method()
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm: the vector p-norm over ``dim`` (all by default); 'fro' is the 2-norm,
    'nuc' the nuclear norm of the matrices over the last two (or the two given) dims."""
    if p == "nuc":
        from ..linalg import matrix_norm

        return matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else dim, keepdim=keepdim, dtype=dtype)
    if p == "fro" or p is None:
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


@takes_out(dtype=SAME, grad=COPY)  # composite in torch
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms over the two dims ``dim``: 'fro', 'nuc' (sum of singular values), inf/-inf
    (max/min absolute row sum), 1/-1 (max/min absolute column sum), 2/-2 (max/min singular value)."""
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions "
                           f"(got shape {list(A.shape)}).")
    if dtype is not None:
        A = A.to(_dtype.to_dtype(dtype))
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor as input. Got {A.dtype}")
    d0, d1 = (_wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    keep_shape = tuple(1 if i in (d0, d1) else s for i, s in enumerate(A.shape))
    out_shape = keep_shape if keepdim else tuple(s for i, s in enumerate(A.shape) if i not in (d0, d1))
    if ord in ("nuc", 2, -2):
        from ..linalg import svdvals

        rest = [i for i in range(A.ndim) if i not in (d0, d1)]
        s = svdvals(A.permute(*rest, d0, d1))
        r = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        return r.reshape(out_shape)
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # 1-norms sum |A| over rows (dim d0) per column; inf-norms over columns per row
    summed = A.abs().sum(d0 if builtins.abs(ord) == 1 else d1, keepdim=True)
    r = summed.amax((d0, d1), keepdim=True) if ord > 0 else summed.amin((d0, d1), keepdim=True)
    return r.reshape(out_shape)


@takes_out(dtype=SAME, grad=COPY)  # composite in torch
def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """linalg.norm: a matrix norm when ``dim`` is a pair (or A is 2-D and ``ord`` is given),
    else a vector norm (the 2-norm of all elements by default)."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is not None and (dim is not None and len(dim) == 2 or dim is None and A.ndim == 2) \
            or isinstance(ord, str):
        return matrix_norm(A, ord if ord is not None else "fro", (-2, -1) if dim is None else dim, keepdim,
                           dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
