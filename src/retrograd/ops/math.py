"""Elementwise math beyond the basic arithmetic of ``elementwise.py``: rounding and
remainders, logs and exponentials, trigonometric and hyperbolic functions, erf, clamp,
maximum/minimum, lerp, addcmul/addcdiv, hypot, logaddexp, xlogy and nan_to_num.

Each op's forward works on arrays; its backward is written with tensor ops so that
it can be differentiated again. Integer inputs to floating-point functions give the
default float dtype, as in torch; rounding ops keep integer dtypes.
"""

import functools
import math

import numpy as np

from . import _batching
from ..amp.autocast_mode import autocast_op
from .. import _backend, _dtype
from ..autograd.function import Function
from ..autograd.forward_ad import diagonal_jvp, fsum
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor
from ._broadcast import broadcast_shapes as _broadcast_shapes, sum_to_shape
from ._inplace import make_inplace
from ._kernel_dtypes import (SCALAR_NAME, check_floating, check_floating_result, check_not_bool,
                             not_implemented_for, opmath)
from ._method import tensor_method
from .comparison import sign, where
from .elementwise import (_SMALL, broadcast_op, div, float_data, float_operands, input_not_tensor, operands,
                          require_tensor, sigmoid, square, true_divide)
from ._out import CAST, NONE, SAME, takes_out
from ._select import zero_where_not


@functools.cache
def _scipy_special():
    """scipy.special for erf, erfc and erfinv, or None without SciPy (then the fallbacks
    below). Imported on first use: importing SciPy takes ~0.2 s and loads a second
    OpenBLAS with its own thread pool."""
    try:
        from scipy import special
    except ImportError:  # pragma: no cover - exercised only without SciPy
        return None
    return special

__all__ = ["true_divide", "floor_divide", "remainder", "fmod", "reciprocal", "rsqrt", "square",
           "log2", "log10", "log1p", "exp2", "expm1", "sin", "cos", "tan", "asin", "acos", "atan",
           "atan2", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "asinh", "acosh", "atanh",
           "arcsinh", "arccosh", "arctanh", "erf", "erfc", "erfinv", "sgn", "signbit", "floor", "ceil",
           "round", "trunc", "fix", "frac", "clamp", "clip", "clamp_min", "clamp_max", "maximum",
           "minimum", "fmax", "fmin", "lerp", "addcmul", "addcdiv", "hypot", "logaddexp", "logaddexp2",
           "xlogy", "nan_to_num", "deg2rad", "rad2deg", "logit", "positive", "float_power"]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


# ---------------------------------------------------------------------------- helpers


def _xp(x):
    return _backend.array_module(x) if hasattr(x, "dtype") and not isinstance(x, np.generic) else np


def _save_pair(ctx, a, b):
    """Save both operands of a binary op (tensors through save_for_backward, numbers as such)."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    ctx.save_for_backward(a if ta else None, b if tb else None)
    ctx.scalars = (None if ta else a, None if tb else b)
    ctx.shapes = (a.shape if ta else None, b.shape if tb else None)


def _load_pair(ctx):
    ta, tb = ctx.saved_tensors
    sa, sb = ctx.scalars
    return (ta if ta is not None else sa), (tb if tb is not None else sb)


def _back(g, shape):
    return None if shape is None else sum_to_shape(g, shape)


def _zeros(g):
    return g.new_zeros(g.shape)


def _check_int_division(name, x, y):
    """torch has no bool kernel for rounded division, and integer division by zero raises
    (only when some quotient is computed: an empty broadcast result divides nothing)."""
    if all(getattr(v, "dtype", None) == np.bool_ or isinstance(v, bool) for v in (x, y)):
        raise not_implemented_for(f"{name}_cpu", _dtype.bool, "convert the bool tensor with .int() or .float() first")
    if not all(v.dtype.kind in "biu" if hasattr(v, "dtype") else isinstance(v, (int, np.integer)) for v in (x, y)):
        return  # a floating result: division by zero gives inf/nan
    if hasattr(y, "dtype"):  # (torch's CUDA kernels divide without the check)
        if _xp(y) is np and 0 not in _broadcast_shapes(getattr(x, "shape", ()), y.shape) and bool((y == 0).any()):
            raise RuntimeError("ZeroDivisionError")
    elif y == 0 and getattr(x, "size", 1):  # 0 or False, dividing something
        raise RuntimeError("ZeroDivisionError")


def _erf_array(x):
    xp = _xp(x)
    if xp is not np:
        from cupyx.scipy import special

        return _backend.call(special.erf, x)
    special = _scipy_special()
    if special is not None:
        return special.erf(x).astype(x.dtype, copy=False)
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


def _erfinv_array(y):
    xp = _xp(y)
    if xp is not np:
        from cupyx.scipy import special

        return special.erfinv(y)
    special = _scipy_special()
    if special is not None:
        return special.erfinv(y).astype(y.dtype, copy=False)
    # Newton's method on erf(x) = y from a logarithmic first guess
    y64 = y.astype(np.float64)
    with np.errstate(all="ignore"):
        w = -np.log((1.0 - y64) * (1.0 + y64))
        x = np.sign(y64) * np.sqrt(np.sqrt((4.3 + w / 2) ** 2 - w) - (4.3 + w / 2)) * 1.0
        x = np.where(np.abs(y64) < 1, np.copysign(np.sqrt(np.maximum(-np.log1p(-np.abs(y64)), 0)), y64) * 0.9, x)
        for _ in range(60):
            x = x - (np.vectorize(math.erf, otypes=[np.float64])(x) - y64) / (2 / math.sqrt(math.pi) * np.exp(-x * x))
        x = np.where(y64 == 1, np.inf, np.where(y64 == -1, -np.inf, x))
        x = np.where(np.abs(y64) > 1, np.nan, x)
    return x.astype(y.dtype)


# ---------------------------------------------------------------------------- unary ops


class _UnaryFloat(Function):
    """Base of the floating-point unary ops: ``f`` computes the output array, ``df`` the
    input gradient from (g, a, z). ``saves`` names what backward needs: 'a', 'z' or ''."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    saves = "a"

    @staticmethod
    def f(xp, x):
        raise NotImplementedError("each op subclass defines f (abstract base)")

    @staticmethod
    def df(g, a, z):
        raise NotImplementedError("each op subclass defines df (abstract base)")

    @staticmethod
    def forward(ctx, a):
        x = float_data(a)
        wide, _ = opmath(x)
        with np.errstate(all="ignore"):  # (float16/bfloat16 in float32, rounded once, as torch's opmath)
            out = ctx.f(_backend.array_module(x), wide)
        if out.dtype != x.dtype:  # (and a Python-float constant widens a CUDA bfloat16 to float32)
            out = out.astype(x.dtype)
        if ctx.saves == "z":
            out = Tensor._make(out)
            ctx.save_for_backward(out)
        elif ctx.saves == "a":
            ctx.save_for_backward(a)
        return out

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        s = saved[0] if saved else None
        return ctx.df(g, s if ctx.saves == "a" else None, s if ctx.saves == "z" else None)


class Reciprocal(_UnaryFloat):
    """z = 1/a;  da = -g*z^2."""
    _autocast = {"cuda": "fp32"}
    saves = "z"
    f = staticmethod(lambda xp, x: 1 / x if x.dtype.kind == "f" else xp.reciprocal(x))
    df = staticmethod(lambda g, a, z: -g * (z * z))  # (torch's order: its roundings in float16/bfloat16)


class Rsqrt(_UnaryFloat):
    """z = 1/sqrt(a);  da = -g*z^3/2."""
    _autocast = {"cuda": "fp32"}
    saves = "z"
    f = staticmethod(lambda xp, x: 1 / xp.sqrt(x))
    df = staticmethod(lambda g, a, z: -0.5 * g * z.pow(3))  # (torch's order and pow: its roundings)


class Log2(_UnaryFloat):
    """z = log2 a;  da = g/(a ln 2)."""
    _autocast = {"cuda": "fp32"}
    f = staticmethod(lambda xp, x: xp.log2(x))
    df = staticmethod(lambda g, a, z: g / (a * _LN2))


class Log10(_UnaryFloat):
    """z = log10 a;  da = g/(a ln 10)."""
    _autocast = {"cuda": "fp32"}
    f = staticmethod(lambda xp, x: xp.log10(x))
    df = staticmethod(lambda g, a, z: g / (a * _LN10))


class Log1p(_UnaryFloat):
    """z = ln(1 + a);  da = g/(1 + a)."""
    _autocast = {"cuda": "fp32"}
    f = staticmethod(lambda xp, x: xp.log1p(x))
    df = staticmethod(lambda g, a, z: g / (a + 1))


class Exp2(_UnaryFloat):
    """z = 2^a;  da = g*z*ln 2."""
    saves = "z"
    f = staticmethod(lambda xp, x: xp.exp2(x))
    df = staticmethod(lambda g, a, z: g * z * _LN2)


class Expm1(_UnaryFloat):
    """z = e^a - 1;  da = g*(z + 1)."""
    _autocast = {"cuda": "fp32"}
    saves = "z"
    f = staticmethod(lambda xp, x: xp.expm1(x))
    df = staticmethod(lambda g, a, z: g * (z + 1))


class Sin(_UnaryFloat):
    """z = sin a;  da = g*cos a."""
    f = staticmethod(lambda xp, x: xp.sin(x))
    df = staticmethod(lambda g, a, z: g * cos(a))


class Cos(_UnaryFloat):
    """z = cos a;  da = -g*sin a."""
    f = staticmethod(lambda xp, x: xp.cos(x))
    df = staticmethod(lambda g, a, z: -g * sin(a))


class Tan(_UnaryFloat):
    """z = tan a;  da = g*(1 + z^2)."""
    _autocast = {"cuda": "fp32"}
    saves = "z"
    f = staticmethod(lambda xp, x: xp.tan(x))
    df = staticmethod(lambda g, a, z: g * (1 + z * z))


class Asin(_UnaryFloat):
    """z = asin a;  da = g/sqrt(1 - a^2)."""
    _autocast = {"cuda": "fp32"}
    f = staticmethod(lambda xp, x: xp.arcsin(x))
    df = staticmethod(lambda g, a, z: g * rsqrt(1 - a * a))


class Acos(_UnaryFloat):
    """z = acos a;  da = -g/sqrt(1 - a^2)."""
    _autocast = {"cuda": "fp32"}
    f = staticmethod(lambda xp, x: xp.arccos(x))
    df = staticmethod(lambda g, a, z: -g * rsqrt(1 - a * a))


class Atan(_UnaryFloat):
    """z = atan a;  da = g/(1 + a^2)."""
    f = staticmethod(lambda xp, x: xp.arctan(x))
    df = staticmethod(lambda g, a, z: g / (1 + a * a))


class Sinh(_UnaryFloat):
    """z = sinh a;  da = g*cosh a."""
    _autocast = {"cuda": "fp32"}
    f = staticmethod(lambda xp, x: xp.sinh(x))
    df = staticmethod(lambda g, a, z: g * cosh(a))


class Cosh(_UnaryFloat):
    """z = cosh a;  da = g*sinh a."""
    _autocast = {"cuda": "fp32"}
    f = staticmethod(lambda xp, x: xp.cosh(x))
    df = staticmethod(lambda g, a, z: g * sinh(a))


class Asinh(_UnaryFloat):
    """z = asinh a;  da = g/sqrt(a^2 + 1)."""
    f = staticmethod(lambda xp, x: xp.arcsinh(x))
    df = staticmethod(lambda g, a, z: g * rsqrt(a * a + 1))


class Acosh(_UnaryFloat):
    """z = acosh a;  da = g/sqrt(a^2 - 1)."""
    f = staticmethod(lambda xp, x: xp.arccosh(x))
    df = staticmethod(lambda g, a, z: g * rsqrt(a * a - 1))


class Atanh(_UnaryFloat):
    """z = atanh a;  da = g/(1 - a^2)."""
    f = staticmethod(lambda xp, x: xp.arctanh(x))
    df = staticmethod(lambda g, a, z: g / (1 - a * a))


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(_UnaryFloat):
    """z = erf a;  da = g*2/sqrt(pi)*e^(-a^2)."""
    f = staticmethod(lambda xp, x: _erf_array(x))
    df = staticmethod(lambda g, a, z: _TWO_OVER_SQRT_PI * (-(a * a)).exp() * g)  # (torch's order: its roundings)


class Erfc(_UnaryFloat):
    """z = 1 - erf a;  da = -g*2/sqrt(pi)*e^(-a^2)."""
    f = staticmethod(lambda xp, x: _scipy_special().erfc(x).astype(x.dtype, copy=False)
                     if xp is np and _scipy_special() is not None else 1 - _erf_array(x))
    df = staticmethod(lambda g, a, z: -_TWO_OVER_SQRT_PI * (-(a * a)).exp() * g)  # (torch's order: its roundings)


class Erfinv(_UnaryFloat):
    """z = erf^-1(a);  da = g*sqrt(pi)/2*e^(z^2)."""
    _autocast = {"cuda": "fp32"}
    saves = "z"
    f = staticmethod(lambda xp, x: _erfinv_array(x))
    df = staticmethod(lambda g, a, z: (math.sqrt(math.pi) / 2) * (z * z).exp() * g)  # (torch's order: its roundings)


class Frac(_UnaryFloat):
    """z = a - trunc(a);  da = g."""
    saves = ""
    f = staticmethod(lambda xp, x: x - xp.trunc(x))
    df = staticmethod(lambda g, a, z: g)


class Deg2rad(_UnaryFloat):
    """z = a*pi/180;  da = g*pi/180."""
    saves = ""
    f = staticmethod(lambda xp, x: x * (math.pi / 180))
    df = staticmethod(lambda g, a, z: g * (math.pi / 180))


class Rad2deg(_UnaryFloat):
    """z = a*180/pi;  da = g*180/pi."""
    saves = ""
    f = staticmethod(lambda xp, x: x * (180 / math.pi))
    df = staticmethod(lambda g, a, z: g * (180 / math.pi))


class Logit(Function):
    """z = ln(a/(1-a)) (a clamped to [eps, 1-eps] when eps is given);  da = g/(a(1-a)),
    0 outside [eps, 1-eps] (nan outside [0, 1] without eps)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, eps):
        x = float_data(a)
        dt = x.dtype
        ctx.eps = eps
        ctx.save_for_backward(a)
        if eps is not None:
            x = _backend.array_module(x).clip(x, eps, 1 - eps)
        with np.errstate(all="ignore"):
            return _backend.array_module(x).log(x / (1 - x)).astype(dt, copy=False)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        ga = g / (a * (1 - a))
        if ctx.eps is not None:
            ga = where((a < ctx.eps) | (a > 1 - ctx.eps), 0.0, ga)
        else:  # outside [0, 1] torch reports nan
            ga = where((a < 0) | (a > 1), float("nan"), ga)
        return ga, None


class _Rounding(Function):
    """Base of the piecewise-constant ops (floor, ceil, round, trunc): da = 0.
    Integer tensors pass through unchanged, as torch does; bool tensors are refused."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def f(xp, x):
        raise NotImplementedError("each op subclass defines f (abstract base)")

    @staticmethod
    def forward(ctx, a, *args):
        check_not_bool(f"{type(ctx).__name__.lower()}_vml_cpu", a)
        x = a._data
        if x.dtype.kind in "iu":
            return x.copy()
        return ctx.f(_backend.array_module(x), x, *args)

    @staticmethod
    def jvp(ctx, ta, *_):
        """Piecewise constant: dz = 0."""
        return ta.new_zeros(())

    @staticmethod
    def backward(ctx, g):
        return (_zeros(g),) + (None,) * (len(ctx.needs_input_grad) - 1)


class Floor(_Rounding):
    """z = floor a;  da = 0."""
    f = staticmethod(lambda xp, x: xp.floor(x))


class Ceil(_Rounding):
    """z = ceil a;  da = 0."""
    f = staticmethod(lambda xp, x: xp.ceil(x))


class Trunc(_Rounding):
    """z = trunc a;  da = 0."""
    f = staticmethod(lambda xp, x: xp.trunc(x))


class Round(_Rounding):
    """z = a rounded half to even (to ``decimals`` places);  da = 0."""
    f = staticmethod(lambda xp, x, decimals=0: xp.round(x, decimals))


class Signbit(Function):
    """z = (a has its sign bit set), a bool tensor; no gradient."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        return _backend.array_module(a._data).signbit(a._data)

    @staticmethod
    def jvp(ctx, ta):
        """A bool output: no tangent."""
        return None

    @staticmethod
    def backward(ctx, g):
        return None


# ---------------------------------------------------------------------------- binary ops


class DivRounded(Function):
    """z = a/b rounded toward zero ('trunc') or down ('floor');  da = db = 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b, mode):
        x, y = operands(a, b)
        _check_int_division("div_floor" if mode in ("floor", "floor_divide") else "div_trunc", x, y)
        ctx.shapes = (getattr(a, "shape", None), getattr(b, "shape", None))
        ctx.mode = mode
        xp = _xp(x if hasattr(x, "dtype") else y)
        with np.errstate(all="ignore"):
            if mode in ("floor", "floor_divide"):
                return broadcast_op(xp.floor_divide, x, y, a, b)
            if getattr(x, "dtype", getattr(y, "dtype", None)).kind in "biu":
                q = broadcast_op(xp.floor_divide, x, y, a, b)
                r = broadcast_op(xp.remainder, x, y, a, b)
                # integer floor division rounds down; step back toward zero where signs differ
                return q + ((r != 0) & ((xp.asarray(x) < 0) != (xp.asarray(y) < 0))).astype(q.dtype)
            return xp.trunc(broadcast_op(lambda u, v: u / v, x, y, a, b))

    @staticmethod
    def jvp(ctx, ta, tb, mode):
        """Piecewise constant: dz = 0."""
        return fsum(ta, tb).new_zeros(())

    @staticmethod
    def backward(ctx, g):
        if ctx.mode == "floor_divide":
            raise RuntimeError("derivative for floor_divide is not implemented (use div with rounding_mode="
                               "'floor', whose gradient is zero)")
        sa, sb = ctx.shapes
        return _back(_zeros(g), sa), _back(_zeros(g), sb), None


class _RoundedRemainder(Function):
    """z = a - q(a/b)*b with the quotient q(a/b) rounded by ``quotient``;  da = g,  db = -g*q(a/b).
    Subclasses name the array function (``op``) and the rounding."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    op = quotient = None

    @classmethod
    def forward(cls, ctx, a, b):
        x, y = operands(a, b)
        _check_int_division(cls.op, x, y)
        _save_pair(ctx, a, b)
        with np.errstate(all="ignore"):
            return broadcast_op(getattr(_xp(x if hasattr(x, "dtype") else y), cls.op), x, y, a, b)

    @classmethod
    def jvp(cls, ctx, ta, tb):
        """dz = ta - tb*q(a/b)."""
        a, b = ctx._fw_args
        return fsum(ta, None if tb is None else -tb * cls.quotient(div(a, b)))

    @classmethod
    def backward(cls, ctx, g):
        a, b = _load_pair(ctx)
        sa, sb = ctx.shapes
        ga = _back(g, sa) if ctx.needs_input_grad[0] else None
        gb = _back(-g * cls.quotient(div(a, b)), sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Remainder(_RoundedRemainder):
    """z = a - floor(a/b)*b (the sign of b, as Python's %);  da = g,  db = -g*floor(a/b)."""

    op = "remainder"
    quotient = staticmethod(lambda q: floor(q))  # (floor and trunc are defined further down)


class Fmod(_RoundedRemainder):
    """z = a - trunc(a/b)*b (the sign of a, as C's fmod);  da = g,  db = -g*trunc(a/b)."""

    op = "fmod"
    quotient = staticmethod(lambda q: trunc(q))


class Atan2(Function):
    """z = atan2(a, b);  da = g*b/(a^2 + b^2),  db = -g*a/(a^2 + b^2) (both 0 where a^2 + b^2 = 0)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "promote"}

    @staticmethod
    def forward(ctx, a, b):
        x, y = float_operands(a, b)
        _save_pair(ctx, a, b)
        with np.errstate(all="ignore"):
            return broadcast_op(_xp(x if hasattr(x, "dtype") else y).arctan2, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = (ta*b - tb*a)/(a^2 + b^2) (0 where a^2 + b^2 = 0)."""
        a, b = ctx._fw_args
        r2 = a * a + b * b
        num = fsum(None if ta is None else ta * b, None if tb is None else -tb * a)
        return where(r2 == 0, 0.0, num / where(r2 == 0, 1.0, r2))

    @staticmethod
    def backward(ctx, g):
        a, b = _load_pair(ctx)
        sa, sb = ctx.shapes
        r2 = a * a + b * b
        recip = where(r2 == 0, 0.0, 1 / r2)  # 0 at a = b = 0, as torch (not 0/0 = nan)
        ga = _back(g * b * recip, sa) if ctx.needs_input_grad[0] else None
        gb = _back(-g * a * recip, sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Hypot(Function):
    """z = sqrt(a^2 + b^2);  da = g*a/z,  db = g*b/z."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        if not (a.dtype.is_floating_point or b.dtype.is_floating_point):  # the promoted dtype must be float
            check_floating("hypot_cpu", a)
        out = Tensor._make(broadcast_op(_xp(x).hypot, x, y, a, b))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = (ta*a + tb*b)/z."""
        a, b = ctx._fw_args
        return fsum(ta * a, tb * b) / ctx._fw_results[0]

    @staticmethod
    def backward(ctx, g):
        a, b, z = ctx.saved_tensors
        ga = sum_to_shape(g * a / z, a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(g * b / z, b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Logaddexp(Function):
    """z = ln(e^a + e^b) (computed without overflow);  da = g*sigmoid(a - b),  db = g*sigmoid(b - a)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        check_floating_result("logaddexp_cpu", a, b)
        x, y = float_operands(a, b)
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return broadcast_op(_xp(x).logaddexp, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta*sigmoid(a - b) + tb*sigmoid(b - a)."""
        a, b = ctx._fw_args
        return fsum(ta * sigmoid(a - b), tb * sigmoid(b - a))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = sum_to_shape(g * sigmoid(a - b), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(g * sigmoid(b - a), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Logaddexp2(Function):
    """z = log2(2^a + 2^b);  da = g*sigmoid((a - b) ln 2),  db = g*sigmoid((b - a) ln 2)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        check_floating_result("logaddexp2_cpu", a, b)
        x, y = float_operands(a, b)
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return broadcast_op(_xp(x).logaddexp2, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta*sigmoid((a - b) ln 2) + tb*sigmoid((b - a) ln 2)."""
        a, b = ctx._fw_args
        return fsum(ta * sigmoid((a - b) * _LN2), tb * sigmoid((b - a) * _LN2))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = sum_to_shape(g * sigmoid((a - b) * _LN2), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(g * sigmoid((b - a) * _LN2), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Xlogy(Function):
    """z = a*ln b, 0 where a = 0 (unless b is nan);  da = g*ln b (0 where a = 0 and b <= 0),
    db = g*a/b."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = float_operands(a, b)
        _save_pair(ctx, a, b)
        xp = _xp(x if hasattr(x, "dtype") else y)
        dt = (x if hasattr(x, "dtype") else y).dtype
        x, y = xp.asarray(x, dtype=dt), xp.asarray(y, dtype=dt)
        with np.errstate(all="ignore"):
            prod = broadcast_op(lambda u, v: u * xp.log(v), x, y, a, b)
            return xp.where((xp.asarray(x) == 0) & ~xp.isnan(y), xp.zeros((), prod.dtype), prod)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta*ln b (0 where a = 0 and b <= 0) + tb*a/b."""
        a, b = ctx._fw_args
        da = db = None
        if ta is not None:
            da = xlogy(ta, b)
            if isinstance(b, Tensor):
                da = where((a == 0) & (b <= 0), 0.0, da)
            elif b <= 0:
                da = where(a == 0, 0.0, da)
        if tb is not None:
            db = tb * a / b
        return fsum(da, db)

    @staticmethod
    def backward(ctx, g):
        a, b = _load_pair(ctx)
        sa, sb = ctx.shapes
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = xlogy(g, b)
            if isinstance(b, Tensor):
                ga = where((a == 0) & (b <= 0), 0.0, ga)
            elif b <= 0:
                ga = where(a == 0, 0.0, ga)
            ga = _back(ga, sa)
        if ctx.needs_input_grad[1]:
            gb = _back(g * a / b, sb)
        return ga, gb


class Maximum(Function):
    """z = max(a, b);  da = g where a > b, g/2 where a = b (ties share), else 0; db likewise."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        ctx.save_for_backward(a, b)
        return broadcast_op(_xp(x).maximum, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta where a > b, tb where a < b, (ta + tb)/2 at ties."""
        a, b = ctx._fw_args
        return where(a > b, ta, where(a < b, tb, (ta + tb) / 2))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = where(a == b, g / 2, g)
        ga = sum_to_shape(where(a < b, 0.0, half), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(where(a > b, 0.0, half), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Minimum(Function):
    """z = min(a, b);  da = g where a < b, g/2 where a = b (ties share), else 0; db likewise."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        ctx.save_for_backward(a, b)
        return broadcast_op(_xp(x).minimum, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta where a < b, tb where a > b, (ta + tb)/2 at ties."""
        a, b = ctx._fw_args
        return where(a < b, ta, where(a > b, tb, (ta + tb) / 2))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = where(a == b, g / 2, g)
        ga = sum_to_shape(where(a > b, 0.0, half), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(where(a < b, 0.0, half), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Fmax(Function):
    """z = max(a, b), ignoring a nan operand;  da = g where a >= b or b is nan, db = g elsewhere."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        ctx.save_for_backward(a, b)
        return broadcast_op(_xp(x).fmax, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta where a >= b or b is nan, else tb."""
        a, b = ctx._fw_args
        return where((a >= b) | _isnan(b), ta, tb)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        take_a = (a >= b) | _isnan(b)
        ga = sum_to_shape(where(take_a, g, 0.0), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(where(take_a, 0.0, g), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Fmin(Function):
    """z = min(a, b), ignoring a nan operand;  da = g where a <= b or b is nan, db = g elsewhere."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        ctx.save_for_backward(a, b)
        return broadcast_op(_xp(x).fmin, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta where a <= b or b is nan, else tb."""
        a, b = ctx._fw_args
        return where((a <= b) | _isnan(b), ta, tb)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        take_a = (a <= b) | _isnan(b)
        ga = sum_to_shape(where(take_a, g, 0.0), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(where(take_a, 0.0, g), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def _isnan(t):
    return Tensor._make(_backend.array_module(t._data).isnan(t._data))


# the largest finite float32 and float64 (a number bound beyond it is not clip's)
_CLIP_MAX = {np.dtype(np.float32): 3.4028234663852886e38, np.dtype(np.float64): 1.7976931348623157e308}


def _clip_numbers(x, lo, hi):
    """max(x, lo) then min(., hi) by one np.clip (its vectorised loop: (256, 256) float32 26 -> 8
    us; its Python wrapper costs more on small arrays) for a large NumPy float32/float64 x and
    number bounds (None: that side open) that are finite and not zero: then no element equals a
    bound unless bitwise, so which of two equal operands max/min return (+-0) cannot differ and
    the result is maximum/minimum's, bit for bit. None where that does not hold."""
    big = _CLIP_MAX.get(x.dtype) if type(x) is np.ndarray and x.size >= _SMALL else None
    if big is None or lo is None and hi is None:
        return None
    bounds = []
    for v, open_end in ((lo, -np.inf), (hi, np.inf)):
        if v is None:
            bounds.append(x.dtype.type(open_end))
        elif type(v) in (int, float) and v != 0 and -big <= v <= big:
            bounds.append(x.dtype.type(v))
        else:
            return None
    return np.clip(x, *bounds)


class Clamp(Function):
    """z = min(max(a, lo), hi);  da = g where lo <= a <= hi (bounds included, as torch),
    dlo = g where a < lo < hi,  dhi = g where a > hi or hi < lo."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, lo, hi):
        dt = _dtype.result_type(*[v for v in (a, lo, hi) if v is not None]).np
        xp = _backend.array_module(a._data)

        def arr(v):
            if v is None:
                return None
            return v._data.astype(dt, copy=False) if isinstance(v, Tensor) else v

        x, lo_, hi_ = arr(a), arr(lo), arr(hi)
        ctx.save_for_backward(a, lo if isinstance(lo, Tensor) else None, hi if isinstance(hi, Tensor) else None)
        ctx.scalars = (None if isinstance(lo, Tensor) else lo, None if isinstance(hi, Tensor) else hi)
        out = _clip_numbers(x, lo_, hi_)
        if out is not None:
            return out
        out = x
        try:
            if lo_ is not None:
                out = xp.maximum(out, lo_)
            if hi_ is not None:
                out = xp.minimum(out, hi_)
        except ValueError:
            from ._broadcast import broadcast_error

            shapes = [tuple(v.shape) for v in (a, lo, hi) if isinstance(v, Tensor)]
            raise broadcast_error(shapes[0], shapes[-1]) from None
        if out is x:
            out = x.copy()
        return out.astype(dt, copy=False)

    @staticmethod
    def jvp(ctx, ta, tlo, thi):
        """dz = ta where lo <= a <= hi, tlo where a < lo < hi, thi where a > hi or hi < lo."""
        a, lo, hi = ctx._fw_args
        mask = None
        if lo is not None:
            mask = a >= lo
        if hi is not None:
            mask = (a <= hi) if mask is None else mask & (a <= hi)
        dz = where(mask, ta, 0.0)
        if tlo is not None:
            dz = dz + where(a < lo if hi is None else (a < lo) & (lo < hi), tlo, 0.0)
        if thi is not None:
            dz = dz + where(a > hi if lo is None else (a > hi) | (hi < lo), thi, 0.0)
        return dz

    @staticmethod
    def backward(ctx, g):
        a, tlo, thi = ctx.saved_tensors
        slo, shi = ctx.scalars
        lo = tlo if tlo is not None else slo
        hi = thi if thi is not None else shi
        if tlo is None and thi is None and not _grad_state.enabled and type(a._data) is np.ndarray \
                and a._data.dtype.kind == "f":
            # plain backward with number bounds: the same mask on arrays, g selected by bit masks
            return sum_to_shape(Tensor._make(zero_where_not(_inside(a._data, lo, hi), g._data)), a.shape), None, None
        ga = glo = ghi = None
        if ctx.needs_input_grad[0]:
            ga = sum_to_shape(where(_inside(a, lo, hi), g, 0.0), a.shape)
        if ctx.needs_input_grad[1]:
            m = a < lo if hi is None else (a < lo) & (lo < hi)
            glo = sum_to_shape(where(m, g, 0.0), tlo.shape)
        if ctx.needs_input_grad[2]:
            m = a > hi if lo is None else (a > hi) | (hi < lo)
            ghi = sum_to_shape(where(m, g, 0.0), thi.shape)
        return ga, glo, ghi


def _inside(a, lo, hi):
    """Where clamp passes its gradient to the input: lo <= a <= hi, bounds included as torch
    (a tensor, or an array in the plain backward; a None bound: that side open)."""
    mask = a >= lo if lo is not None else None
    if hi is not None:
        mask = (a <= hi) if mask is None else mask & (a <= hi)
    return mask


class Lerp(Function):
    """z = a + w*(b - a);  da = g*(1 - w),  db = g*w,  dw = g*(b - a)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b, w):
        check_floating("lerp_kernel", a, b)
        x, y = operands(a, b)
        wv = w._data if isinstance(w, Tensor) else w
        xp = _xp(x)
        ctx.save_for_backward(a if ctx.needs_input_grad[2] else None,
                              b if ctx.needs_input_grad[2] else None,
                              w if isinstance(w, Tensor) else None)
        ctx.weight = None if isinstance(w, Tensor) else w
        ctx.shapes = (a.shape, b.shape, getattr(w, "shape", None))
        try:
            # torch's two-sided form: exact at w = 0 and w = 1
            diff = y - x
            out = xp.where(xp.abs(wv) < 0.5, x + wv * diff, y - diff * (1 - wv))
        except ValueError:
            from ._broadcast import broadcast_error

            raise broadcast_error(tuple(a.shape), tuple(b.shape)) from None
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def jvp(ctx, ta, tb, tw):
        """dz = ta*(1 - w) + tb*w + tw*(b - a)."""
        a, b, w = ctx._fw_args
        return fsum(ta * (1 - w), tb * w, None if tw is None else tw * (b - a))

    @staticmethod
    def backward(ctx, g):
        a, b, tw = ctx.saved_tensors
        w = tw if tw is not None else ctx.weight
        sa, sb, sw = ctx.shapes
        ga = sum_to_shape(g * (1 - w), sa) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(g * w, sb) if ctx.needs_input_grad[1] else None
        gw = sum_to_shape(g * (b - a), sw) if ctx.needs_input_grad[2] else None
        return ga, gb, gw


class NanToNum(Function):
    """z = a with nan, +inf, -inf replaced;  da = g where a is finite, else 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        x = a._data
        if x.dtype.kind in "biu":
            return x.copy()
        ctx.save_for_backward(a)
        xp = _backend.array_module(x)
        try:
            info = np.finfo(x.dtype)
        except ValueError:  # bfloat16 (ml_dtypes) has its own finfo
            import ml_dtypes

            info = ml_dtypes.finfo(x.dtype)
        posinf = info.max if posinf is None else posinf
        neginf = info.min if neginf is None else neginf
        out = xp.where(xp.isnan(x), nan, x)
        out = xp.where(xp.isposinf(x), posinf, out)
        out = xp.where(xp.isneginf(x), neginf, out)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def jvp(ctx, ta, *_):
        """dz = ta where a is finite, else 0."""
        a = ctx._fw_args[0]
        return where(Tensor._make(_backend.array_module(a._data).isfinite(a._data)), ta, 0.0)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where(Tensor._make(_backend.array_module(a._data).isfinite(a._data)), g, 0.0), None, None, None


# ---------------------------------------------------------------------------- public API


def _unary(cls, name, *aliases, out_dtype=CAST):
    def fn(input):
        return cls.apply(input)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = cls.__doc__
    tensor_method(name, *aliases)(fn)
    return takes_out(fn, dtype=out_dtype)


reciprocal = _unary(Reciprocal, "reciprocal")
rsqrt = _unary(Rsqrt, "rsqrt")
log2 = _unary(Log2, "log2")
log10 = _unary(Log10, "log10")
log1p = _unary(Log1p, "log1p")
exp2 = _unary(Exp2, "exp2")
expm1 = _unary(Expm1, "expm1")
sin = _unary(Sin, "sin")
cos = _unary(Cos, "cos")
tan = _unary(Tan, "tan")
asin = arcsin = _unary(Asin, "asin", "arcsin")
acos = arccos = _unary(Acos, "acos", "arccos")
atan = arctan = _unary(Atan, "atan", "arctan")
sinh = _unary(Sinh, "sinh")
cosh = _unary(Cosh, "cosh")
asinh = arcsinh = _unary(Asinh, "asinh", "arcsinh")
acosh = arccosh = _unary(Acosh, "acosh", "arccosh")
atanh = arctanh = _unary(Atanh, "atanh", "arctanh")
erf = _unary(Erf, "erf")
erfc = _unary(Erfc, "erfc")
erfinv = _unary(Erfinv, "erfinv")
deg2rad = _unary(Deg2rad, "deg2rad")
rad2deg = _unary(Rad2deg, "rad2deg")
floor = _unary(Floor, "floor", out_dtype=SAME)
ceil = _unary(Ceil, "ceil", out_dtype=SAME)
trunc = fix = _unary(Trunc, "trunc", "fix", out_dtype=SAME)
sgn = sign
Tensor.sgn = Tensor.sign


@takes_out(dtype=SAME)
@tensor_method()
def frac(input):
    """a - trunc(a) (float tensors only, as torch)."""
    check_floating("frac_cpu", input)
    return Frac.apply(input)


@takes_out(dtype=SAME)
@tensor_method()
def round(input, *, decimals=None):  # noqa: A001
    """Round half to even, to ``decimals`` decimal places (None: 0 places). As torch, integer
    tensors pass through unchanged, but only without ``decimals``: given, even as 0, it needs a
    float tensor."""
    if decimals is not None and not input.dtype.is_floating_point:
        raise not_implemented_for("round_vml_cpu" if decimals == 0 else "round_cpu", input.dtype,
                                  "round(decimals=) takes float tensors: convert with .float(), or leave decimals out")
    return Round.apply(input, 0 if decimals is None else decimals)


@takes_out(dtype=SAME, grad=NONE)
@tensor_method()
def signbit(input):
    """Elementwise test of the sign bit (True for negatives and -0.0): a bool tensor, no gradient."""
    return Signbit.apply(input)


@takes_out(dtype=CAST)
@tensor_method()
def logit(input, eps=None):
    """ln(p/(1-p)), with p clamped to [eps, 1-eps] when eps is given."""
    return Logit.apply(input, eps)


@tensor_method()
def positive(input):
    """Returns input itself: z = +a (a bool tensor is refused, as torch)."""
    if input.dtype is _dtype.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported. (positive of a bool tensor: "
                           "convert it with .int() first)")
    return input


Tensor.__pos__ = positive


@takes_out(dtype=CAST)
@tensor_method()
def floor_divide(input, other):
    """a // b, rounding the quotient down (Python's //); not differentiable (as torch)."""
    return DivRounded.apply(input, other, "floor_divide")


def div_rounded(input, other, rounding_mode):
    """div(..., rounding_mode='trunc' or 'floor'): the rounded quotient, zero gradient."""
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    return DivRounded.apply(input, other, rounding_mode)


@takes_out(dtype=CAST)
@tensor_method()
def remainder(input, other):
    """a - floor(a/b)*b: the remainder with the sign of b (Python's %)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise input_not_tensor("remainder", input, other)
    return Remainder.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def fmod(input, other):
    """a - trunc(a/b)*b: the remainder with the sign of a (C's fmod)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("fmod", input, other)
    return Fmod.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method("atan2", "arctan2")
def atan2(input, other):
    """Elementwise arctangent of input/other in the quadrant of (other, input): z = atan2(a, b)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("atan2", input, overloads=False)
    require_tensor("atan2", other)
    return Atan2.apply(input, other)


arctan2 = atan2


@takes_out(dtype=CAST)
@tensor_method()
def hypot(input, other):
    """Elementwise hypotenuse: z = sqrt(a^2 + b^2)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("hypot", input, overloads=False)
    require_tensor("hypot", other)
    return Hypot.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def logaddexp(input, other):
    """Elementwise z = ln(e^a + e^b), computed without overflow."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("logaddexp", input, overloads=False)
    require_tensor("logaddexp", other)
    return Logaddexp.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def logaddexp2(input, other):
    """Elementwise z = log2(2^a + 2^b), computed without overflow."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("logaddexp2", input, overloads=False)
    require_tensor("logaddexp2", other)
    return Logaddexp2.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def xlogy(input, other):
    """input * log(other), 0 where input is 0 (either may be a Python number)."""
    return Xlogy.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def maximum(input, other):
    """Elementwise max (nan propagates); ties split the gradient evenly."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("maximum", input, overloads=False)
    require_tensor("maximum", other)
    return Maximum.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def minimum(input, other):
    """Elementwise min (nan propagates); ties split the gradient evenly."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("minimum", input, overloads=False)
    require_tensor("minimum", other)
    return Minimum.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def fmax(input, other):
    """Elementwise max that ignores a nan operand."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("fmax", input, overloads=False)
    require_tensor("fmax", other)
    return Fmax.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def fmin(input, other):
    """Elementwise min that ignores a nan operand."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("fmin", input, overloads=False)
    require_tensor("fmin", other)
    return Fmin.apply(input, other)


@takes_out(dtype=SAME)
@tensor_method("clamp", "clip")
def clamp(input, min=None, max=None):  # noqa: A002
    """min(max(input, min), max), bounds numbers or tensors; gradient 1 at the bounds."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("clamp", input, min, max)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bounds = (min, max)  # torch's two overloads: number bounds (a 0-dim tensor is one) or tensor bounds
    if any(isinstance(b, Tensor) and b.ndim for b in bounds) and \
            not all(b is None or isinstance(b, Tensor) for b in bounds):
        kinds = ", ".join(f"{n}={'Tensor' if isinstance(b, Tensor) else type(b).__name__}"
                          for n, b in zip(("min", "max"), bounds))
        raise TypeError(f"clamp() received an invalid combination of arguments - got (Tensor, {kinds}): "
                        "a bound with dimensions needs the other to be a tensor too (or None)")
    if input.dtype is _dtype.bool_:  # torch has no bool clamp kernel
        kernel = "clamp_cpu" if any(isinstance(b, Tensor) for b in bounds) else "clamp_scalar_cpu"
        raise not_implemented_for(kernel, input.dtype, "convert the bool tensor with .int() first")
    return Clamp.apply(input, _int_bound(input, min), _int_bound(input, max))


def _int_bound(input, v, what="clamp bound"):
    """A Python int bound in an integer tensor's type, converted as torch converts it: exact for
    signed types, modulo 2^bits for unsigned ones (so -1 is 255 for uint8), else an error. (A float
    must lie in the type's range: -1.5 is an error for uint8, as in torch's writes.)"""
    if isinstance(v, bool) or input.dtype.is_floating_point or input.dtype.name == "bool":
        return v
    info = np.iinfo(input._data.dtype)
    if isinstance(v, float) and what != "clamp bound":  # (clamp compares with a float bound instead)
        if not info.min <= v <= info.max:  # (nan and inf too)
            raise RuntimeError(f"value cannot be converted to type {input.dtype.name}_t without overflow "
                               f"({what} {v} on a {input.dtype} tensor)")
        return v
    if not isinstance(v, int):
        return v
    lo = -info.max if info.min == 0 else info.min
    if not lo <= v <= info.max:
        raise RuntimeError(f"value cannot be converted to type {input.dtype.name}_t without overflow "
                           f"({what} {v} on a {input.dtype} tensor)")
    return v % (info.max + 1) if info.min == 0 else v


clip = clamp


@tensor_method()
def clamp_min(input, min):  # noqa: A002
    """Elementwise lower bound: z = max(a, min); min a number or a tensor."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("clamp_min", input, min)
    if input.dtype is _dtype.bool_ and not isinstance(min, Tensor):  # (a bool tensor bound: maximum's kernel)
        raise not_implemented_for("clamp_min_scalar_cpu", input.dtype, "convert the bool tensor with .int() first")
    return Clamp.apply(input, _int_bound(input, min), None)


@tensor_method()
def clamp_max(input, max):  # noqa: A002
    """Elementwise upper bound: z = min(a, max); max a number or a tensor."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("clamp_max", input, max)
    if input.dtype is _dtype.bool_ and not isinstance(max, Tensor):  # (a bool tensor bound: minimum's kernel)
        raise not_implemented_for("clamp_max_scalar_cpu", input.dtype, "convert the bool tensor with .int() first")
    return Clamp.apply(input, None, _int_bound(input, max))


@takes_out(dtype=CAST)
@tensor_method()
def lerp(input, end, weight):
    """input + weight*(end - input); weight a number or a tensor. As torch, end and a weight tensor
    with dimensions have input's dtype (a 0-dim weight is a number)."""
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.dtype != input.dtype and (name == "end" or t.ndim):
            raise RuntimeError(f"expected dtype {input.dtype} for `{name}` but got dtype {t.dtype} (lerp computes "
                               f"in input's dtype: convert {name} with .to({input.dtype}))")
    return Lerp.apply(input, end, weight)


@takes_out(dtype=CAST)
@tensor_method()
@autocast_op({"cuda": "promote"})
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2 (for integer tensors value is truncated to an integer, as torch)."""
    common = _dtype.result_type(input, tensor1, tensor2)
    if common is _dtype.bool_:
        raise not_implemented_for("addcmul_cpu_out", common, "convert the bool tensors with .int() first")
    if isinstance(value, float) and not common.is_floating_point:
        value = int(value)
    tensor1, tensor2 = _in_common(common, tensor1, tensor2)
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else value * prod)


@takes_out(dtype=CAST)
@tensor_method()
@autocast_op({"cuda": "promote"})
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2 (integer tensors are refused, as torch does)."""
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release addcdiv "
            "will perform a true division of tensor1 and tensor2. Use torch.div with rounding_mode."
        )
    tensor1, tensor2 = _in_common(_dtype.result_type(input, tensor1, tensor2), tensor1, tensor2)
    q = tensor1 / tensor2
    return input + (q if value == 1 else value * q)


def _in_common(common, *tensors):
    """addcmul's and addcdiv's operands in the dtype of all three (torch computes the product or
    quotient in it: bfloat16 operands of a float64 input are not multiplied in bfloat16)."""
    return tuple(t.to(common) if isinstance(t, Tensor) and t.dtype != common else t for t in tensors)


@takes_out(dtype=SAME)
@tensor_method()
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace nan by ``nan``, +inf by ``posinf`` (default: the dtype's max), -inf by ``neginf``."""
    return NanToNum.apply(input, nan, posinf, neginf)


def _float64(operand, name):
    """An operand of float_power as float64: a tensor converted (differentiably), a number as float."""
    if isinstance(operand, Tensor):
        return operand.to(_dtype.float64)
    if isinstance(operand, complex):
        raise NotImplementedError(f"float_power with the complex {name} {operand}: retrograd has no complex "
                                  "tensors (torch computes in complex128)")
    return float(operand)


@takes_out(dtype=SAME)
@tensor_method()
def float_power(input, exponent):
    """input ** exponent computed in float64 whatever the operands' dtypes (either may be a number)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"float_power(): expected a Tensor as input or exponent, got {type(input).__name__} "
                        f"and {type(exponent).__name__}")
    from .elementwise import pow

    return pow(_float64(input, "input"), _float64(exponent, "exponent"))


_float_power_inplace = make_inplace(float_power, "float_power_")


def _float_power_(self, exponent):
    """Tensor.float_power_: only a float64 tensor can hold the result, as in torch."""
    if self.dtype is not _dtype.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {SCALAR_NAME[self.dtype.name]} but the "
                           "operation's result requires dtype Double; convert it with .double() first")
    return _float_power_inplace(self, exponent)


def _register_inplace():
    Tensor.float_power_ = _float_power_
    pairs = [(n, globals()[n]) for n in (
        "reciprocal", "rsqrt", "log2", "log10", "log1p", "exp2", "expm1", "sin", "cos", "tan", "asin",
        "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh", "acosh", "atanh",
        "arcsinh", "arccosh", "arctanh", "erf", "erfc", "erfinv", "floor", "ceil", "trunc", "fix", "frac",
        "round", "clamp", "clip", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv", "hypot",
        "xlogy", "nan_to_num", "remainder", "fmod", "floor_divide", "atan2", "arctan2", "deg2rad",
        "rad2deg", "logit", "sgn")]
    for name, fn in pairs:
        setattr(Tensor, name + "_", make_inplace(fn, name + "_"))
    Tensor.__floordiv__ = Tensor.floor_divide
    Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
    Tensor.__ifloordiv__ = Tensor.floor_divide_
    Tensor.__mod__ = Tensor.remainder
    Tensor.__rmod__ = lambda self, other: remainder(other, self)
    Tensor.__imod__ = Tensor.remainder_


_register_inplace()
