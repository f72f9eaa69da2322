"""softmax, log_softmax and softmin along a dim: computed after subtracting the max (so
large magnitudes stay finite), with the fused backward formulas.

One signature serves torch.softmax(input, dim, dtype), Tensor.softmax(dim, dtype) and
nn.functional.softmax(input, dim=None, _stacklevel=3, dtype=None), including the latter's
deprecated implicit dim.
"""

import warnings

import numpy as np

from . import _batching, _cuda_kernels
from .. import _backend, _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..tensor import Tensor, _wrap_dim
from ._kernel_dtypes import check_floating
from ._method import tensor_method
from ._rows import exp_sums, last_dim_rows, numpy_rows_ok, row_blocks, row_sums, sums, unshifted_exp_sums, \
    vecdot as _vecdot

__all__ = ["softmax", "log_softmax"]

FUNCTIONAL = ["softmax", "log_softmax", "softmin"]


def _float32(*arrays):
    """The arrays in float32 where they are half precision (float16, bfloat16: torch's kernels
    compute those in float32), and that dtype to round the result back to (None otherwise)."""
    low = arrays[0].dtype if arrays[0].dtype.itemsize == 2 else None
    return [a if low is None else a.astype(np.float32) for a in arrays] + [low]


def _round(a, low):
    """a (float32) rounded to the half-precision dtype ``low``, kept in float32."""
    return _backend.cast(a, low).astype(np.float32)


def _along(x, fn, dim, kernel=None):
    """fn(x, dim, low) for a 0-dim x as one element; an empty x is returned as a copy.
    Half precision is computed in float32 and rounded back at the end (see _float32).
    On CUDA the last dim of a contiguous array goes through the fused ``kernel``."""
    if type(x) is np.ndarray:
        rows = _ROWS.get(fn) if dim == x.ndim - 1 and numpy_rows_ok(x) else None
        if rows is not None:  # the common case without the general set-up
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                return rows(x.reshape(-1, x.shape[-1])).reshape(x.shape)
    elif dim == x.ndim - 1 and x.size and _cuda_kernels.fits(x):
        return kernel(x)
    if x.size == 0:
        return x.copy()
    xf, low = _float32(x)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        out = fn(xf.reshape(x.shape or (1,)), dim, low).reshape(x.shape)
    return out if low is None else _backend.cast(out, low)


def _softmax(x, dim, low=None):
    rows = last_dim_rows(dim, x)
    if rows is not None:  # (for the last dim, half precision is not rounded in between)
        return _softmax_rows(rows[0]).reshape(x.shape)
    e, s = exp_sums(x, dim)
    if low is not None and dim != x.ndim - 1:  # torch's kernel for a dim not last rounds e^(x - max)
        e = _round(e, low)
    _backend.array_module(s).reciprocal(s, out=s)  # one division per row, then multiplications
    e *= s
    return e


def _log_softmax(x, dim, low=None):
    rows = last_dim_rows(dim, x) if low is None else None
    if rows is not None:
        return _log_softmax_rows(rows[0]).reshape(x.shape)
    xp = _backend.array_module(x)
    z = x - xp.max(x, axis=dim, keepdims=True)
    s = sums(xp.exp(z), dim)
    if low is not None and dim == x.ndim - 1:  # torch's last-dim kernel rounds sum and log(sum)
        z -= _round(xp.log(_round(s, low)), low)
    else:
        z -= xp.log(s)
    return z


# The same formulas on (rows, width) NumPy arrays along the last dim, computed by blocks of
# rows (see _rows.row_blocks): one block's passes run in cache before the next block's.

def _softmax_block(x, out):
    """e^x/sum(e^x) (shifted by the row max where needed: exp_sums), times the reciprocals."""
    e, s = exp_sums(x, 1, out)
    np.reciprocal(s, out=s)
    e *= s


# NumPy's arithmetic between a (rows, width) array and a column of row values costs ~2-3 plain
# passes (an inner loop per row), a copy of the column into every element of its row one: so
# x - c is computed as c copied by rows, then subtracted from x (the same operation: same bits).

def _log_softmax_block(x, out):
    """x - ln(sum(e^x)) where no row sum overflows or underflows (unshifted_exp_sums), else
    x - m - ln(sum(e^(x - m))) with m the row max."""
    found = unshifted_exp_sums(x, out)
    if found is not None:
        out[...] = np.log(found[1], out=found[1])  # (e^x is done with: its sums are taken)
        np.subtract(x, out, out=out)
    else:
        np.subtract(x, x.max(axis=1, keepdims=True), out=out)
        out -= np.log(row_sums(np.exp(out), keepdims=True))


def _softmax_rows(x):
    return row_blocks(_softmax_block, np.empty_like(x), x)


def _log_softmax_rows(x):
    return row_blocks(_log_softmax_block, np.empty_like(x), x)


# _along's functions -> their forms on (rows, width) arrays
_ROWS = {_softmax: _softmax_rows, _log_softmax: _log_softmax_rows}


# rows at least this long take sum(g*z) as NumPy 2's np.vecdot (no product array: (512, 128)
# 6.9 us against 11.4 for the product and its matrix-vector sum); shorter rows pay vecdot's
# per-row setup ((2048, 16): 24 us against 8.7)
_VECDOT_MIN_WIDTH = 64


def _softmax_backward_block(z, g, out):
    """(g - sum(g*z))*z, the sums copied by rows before the subtraction (see _log_softmax_block)."""
    if _vecdot is not None and z.shape[1] >= _VECDOT_MIN_WIDTH:
        s = _vecdot(g, z)[:, None]
    else:
        s = row_sums(np.multiply(g, z, out=out), keepdims=True)
    out[...] = s
    np.subtract(g, out, out=out)
    out *= z


def _log_softmax_backward_block(z, g, out):
    """g - e^z*sum(g)."""
    np.exp(z, out=out)
    out *= row_sums(g, keepdims=True)
    np.subtract(g, out, out=out)


def _softmax_backward_rows(z, g):
    return row_blocks(_softmax_backward_block, np.empty_like(z), z, g)


def _log_softmax_backward_rows(z, g):
    return row_blocks(_log_softmax_backward_block, np.empty_like(z), z, g)


def _plain_rows(z, g, dim):
    """(rows, width) views of z and g for the backward's common case (see last_dim_rows: NumPy
    float32 or float64 arrays of one shape and dtype, contiguous, along the last dim) without
    the general set-up; None otherwise."""
    if dim == z.ndim - 1 and type(g) is np.ndarray and g.dtype == z.dtype and g.shape == z.shape \
            and numpy_rows_ok(z) and numpy_rows_ok(g):
        w = z.shape[-1]
        return z.reshape(-1, w), g.reshape(-1, w)
    return None


def _fused(z, g, dim):
    """Whether the backward runs as one CUDA kernel: CuPy arrays, rows along the last dim."""
    return type(z) is not np.ndarray and dim == z.ndim - 1 and _cuda_kernels.fits(z, g)


class Softmax(Function):
    """z = e^(a - max a)/sum(e^(a - max a));  da = z*(g - sum(g*z))."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        out = Tensor._make(_along(a._data, _softmax, dim, _cuda_kernels.softmax_forward))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = z*(ta - sum(ta*z)) along dim."""
        z, dim = ctx._fw_results[0], ctx._fw_args[1]
        return z * (ta - (ta * z).sum(dim, keepdim=True))

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        if not _state.enabled and z.ndim:  # plain backward: (g - sum(g*z))*z, on arrays
            rows = _plain_rows(z._data, g._data, ctx.dim)
            if rows is not None:
                return Tensor._make(_softmax_backward_rows(*rows).reshape(z._data.shape)), None
            if _fused(z._data, g._data, ctx.dim):
                return Tensor._make(_cuda_kernels.softmax_backward(z._data, g._data)), None
            zd, gd, low = _float32(z._data, g._data)
            rows = last_dim_rows(ctx.dim, zd, gd)
            if rows is not None:
                gz = _softmax_backward_rows(*rows).reshape(zd.shape)
            else:
                gz = gd - sums(gd * zd, ctx.dim)
                gz *= zd
            return Tensor._make(gz if low is None else _backend.cast(gz, low)), None
        return z * (g - (g * z).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    """z = a - max a - ln(sum(e^(a - max a)));  da = g - e^z*sum(g)."""
    vmap = classmethod(_batching.along_dims(1))  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        out = Tensor._make(_along(a._data, _log_softmax, dim, _cuda_kernels.log_softmax_forward))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = ta - sum(ta*e^z) along dim."""
        z, dim = ctx._fw_results[0], ctx._fw_args[1]
        return ta - (ta * z.exp()).sum(dim, keepdim=True)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        if not _state.enabled and z.ndim:  # plain backward: g - e^z*sum(g), on arrays
            rows = _plain_rows(z._data, g._data, ctx.dim)
            if rows is not None:
                return Tensor._make(_log_softmax_backward_rows(*rows).reshape(z._data.shape)), None
            if _fused(z._data, g._data, ctx.dim):
                return Tensor._make(_cuda_kernels.log_softmax_backward(z._data, g._data)), None
            zd, gd, low = _float32(z._data, g._data)
            rows = last_dim_rows(ctx.dim, zd, gd)
            if rows is not None:
                e = _log_softmax_backward_rows(*rows).reshape(zd.shape)
            else:
                xp = _backend.array_module(zd)
                e = xp.exp(zd)
                e *= sums(gd, ctx.dim)
                xp.subtract(gd, e, out=e)
            return Tensor._make(e if low is None else _backend.cast(e, low)), None
        return g - z.exp() * g.sum(ctx.dim, keepdim=True), None


def _prepare(name, input, dim, stacklevel, dtype):
    if isinstance(stacklevel, (_dtype.dtype, type)):  # torch.softmax(input, dim, dtype)
        dtype = stacklevel
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                      "include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if dtype is not None:
        input = input.to(_dtype.to_dtype(dtype))
    dim = _wrap_dim(dim, max(input.ndim, 1))  # a 0-d tensor takes dim 0 or -1
    if input.numel():  # torch returns an empty input of any dtype unchanged
        check_floating(f"{name}_lastdim_kernel_impl", input)
    return input, dim


@tensor_method()
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """e^x / sum e^x along ``dim`` (computed in ``dtype`` when given)."""
    input, d = _prepare("softmax", input, dim, _stacklevel, dtype)
    return Softmax.apply(input, d)


@tensor_method()
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - log(sum e^x) along ``dim``, stable at large magnitudes."""
    input, d = _prepare("log_softmax", input, dim, _stacklevel, dtype)
    return LogSoftmax.apply(input, d)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``."""
    input, d = _prepare("softmin", input, dim, _stacklevel, dtype)
    return Softmax.apply(-input, d)
