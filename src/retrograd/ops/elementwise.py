"""Elementwise arithmetic and the first activations, each forward beside its derivative.

Binary ops broadcast, and their backward sums the gradient back to each input's shape
(``sum_to_shape``). Operands are cast to torch's promoted dtype first; Python scalars
stay scalars (they never widen a tensor's dtype).
"""

import operator

import numpy as np

from . import _batching
from .. import _backend, _blocked, _dtype
from ..autograd.function import Function
from ..autograd.forward_ad import diagonal_jvp, fsum, linear_jvp
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor
from ._kernel_dtypes import check_not_bool, not_implemented_for, opmath, opmath_tensors, rounded, rounded_tensor
from ._broadcast import broadcast_error, sum_to_shape
from ._method import tensor_method
from .._unsupported import reject
from ._out import CAST, SAME, takes_out

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow",
           "neg", "negative", "exp", "log", "sqrt", "abs", "absolute", "tanh", "sigmoid", "relu",
           "rsub", "clone", "square"]


# ---------------------------------------------------------------------------- helpers


def _device_error(x, y):
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{_backend.device_of(x)} and {_backend.device_of(y)}! Move them with .to(device)."
    )


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v


def require_tensor(name, v):
    """torch's binary ops whose ``other`` has no Scalar overload refuse Python numbers."""
    if not isinstance(v, Tensor):
        raise TypeError(f"{name}(): argument 'other' must be Tensor, not {type(v).__name__}")


def input_not_tensor(name, *args, overloads=True):
    """torch's TypeError for a function called with a Python number (or anything not a tensor) where
    its input tensor goes: the "invalid combination" of a function with several overloads (``eq``,
    ``pow``), else "argument 'input' (position 1) must be Tensor" (``maximum``). Callers check only
    when the first argument is not a tensor, so the tensor path pays nothing."""
    if not overloads:
        return TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(args[0]).__name__}")
    got = ", ".join("Tensor" if isinstance(a, Tensor) else type(a).__name__ for a in args)
    return TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected one of: "
                     f"({name} needs a tensor for its first argument: wrap a number with torch.tensor(x))")


_PY_NUMBERS = (float, int)
_ndarray, _maximum, _tanh, _subtract = np.ndarray, np.maximum, np.tanh, np.subtract  # (np.X reads are not specialised by CPython 3.11: numpy has a module __getattr__)


def operands(a, b):
    """The arrays (or Python scalars) of ``a`` and ``b``, cast to their promoted dtype."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        x, y = a._data, b._data
        if (type(x) is not type(y) or (type(x) is not _ndarray and x.device != y.device)) \
                and _backend.device_of(x) != _backend.device_of(y):  # CPU and GPU, two GPUs
            raise _device_error(x, y)
        if x.dtype is y.dtype or x.dtype == y.dtype:  # (the identity: a C call less, usually)
            return x, y
    elif ta:  # a float tensor and a Python number: the tensor's dtype (the common scalar case)
        if type(b) in _PY_NUMBERS and a._data.dtype.kind == "f":
            return a._data, b
    elif tb and type(a) in _PY_NUMBERS and b._data.dtype.kind == "f":
        return a, b._data
    rt = _dtype.result_type(a, b)
    dt = rt.np
    x = a._data if ta else _scalar(a)
    y = b._data if tb else _scalar(b)
    if ta and x.dtype != dt:
        x = x.astype(dt) if type(x) is _ndarray else _backend.cast(x, dt)  # (CUDA bfloat16: no astype)
    if tb and y.dtype != dt:
        y = y.astype(dt) if type(y) is _ndarray else _backend.cast(y, dt)
    if rt is _dtype.bfloat16 and not (ta and tb):  # ml_dtypes widens bfloat16 op Python float to float32
        x, y = (x if ta else np.asarray(x, dtype=dt)), (y if tb else np.asarray(y, dtype=dt))
    return x, y



def float_operands(a, b):
    """Like ``operands``, but integer results become the default float dtype (true division)."""
    x, y = operands(a, b)
    dt = getattr(x, "dtype", None) or getattr(y, "dtype", None)
    if dt is not None and dt.kind in "biu":
        f = _dtype.get_default_dtype().np
        x = x.astype(f) if hasattr(x, "astype") else x
        y = y.astype(f) if hasattr(y, "astype") else y
        if not hasattr(x, "astype") and not hasattr(y, "astype"):
            x = np.asarray(x, dtype=f)
    return x, y


def float_data(t):
    """The array of ``t``, as the default float dtype when ``t`` holds integers or bools."""
    x = t._data
    if x.dtype.kind in "biu":
        x = x.astype(_dtype.get_default_dtype().np)
    return x


def _shape(v):
    return v._data.shape if isinstance(v, Tensor) else None


def _shapes(a, b):
    """(_shape(a), _shape(b)), in one call."""
    return (a._data.shape if isinstance(a, Tensor) else None, b._data.shape if isinstance(b, Tensor) else None)


def broadcast_op(op, x, y, a, b):
    """``op(x, y)`` with torch's error when the shapes do not broadcast."""
    try:
        return op(x, y)
    except ValueError as e:
        raise _broadcast_failure(e, a, b) from None
    except OverflowError:  # a Python int outside the tensor's integer range wraps, as in torch
        return op(_wrap_int(x, y), _wrap_int(y, x))


def _broadcast_failure(error, a, b):
    """What to raise for ``error``, a ValueError from NumPy's op on a's and b's arrays: torch's
    RuntimeError where their shapes do not broadcast, else ``error`` itself (an uninitialized
    parameter's placeholder raises torch's ValueError from its NumPy math: it passes through)."""
    sa, sb = _shape(a) or (), _shape(b) or ()
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        return broadcast_error(sa, sb)
    return error


def _wrap_int(v, other):
    if isinstance(v, int) and hasattr(other, "dtype"):
        return np.array(v).astype(other.dtype)[()]
    return v


def _unbroadcast(g, shape):
    return None if shape is None else sum_to_shape(g, shape)


def _sum_to(arr, shape):
    """Array ``arr`` summed over the dims that broadcasting added or stretched to reach ``shape``."""
    if arr.shape == shape:
        return arr
    lead = arr.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and arr.shape[lead + i] != 1)
    return arr.sum(axis=dims, keepdims=True).reshape(shape)


# ---------------------------------------------------------------------------- arithmetic


def _scaled_bool(a, b, y, alpha):
    """alpha*b of a bool b in the result's dtype, as torch: and-ed for a bool result, else cast first."""
    common = _dtype.result_type(a, b).np
    return y & bool(alpha) if common == np.bool_ else y.astype(common) * alpha


class Add(Function):
    """z = a + alpha*b;  da = g,  db = alpha*g."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    _listed_inputs = 2  # a Python number operand is listed as None (torch wraps it as a tensor)

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        x, y = operands(a, b)
        ctx.shapes = _shapes(a, b)
        ctx.alpha = alpha
        if alpha != 1:
            y = y * alpha if getattr(y, "dtype", None) != np.bool_ else _scaled_bool(a, b, y, alpha)
        try:  # (broadcast_op's steps, without its two calls)
            return x + y
        except ValueError as e:
            raise _broadcast_failure(e, a, b) from None
        except OverflowError:
            return broadcast_op(_add, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb, *_):
        """dz = ta + alpha*tb."""
        return fsum(ta, None if tb is None else tb * ctx.alpha)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        ga = _unbroadcast(g, sa) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            gb = _unbroadcast(g if ctx.alpha == 1 else g * ctx.alpha, sb)
        return ga, gb, None


class Sub(Function):
    """z = a - alpha*b;  da = g,  db = -alpha*g."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    def name(self):  # torch's names: a Python number minus a tensor is RsubBackward1
        return "SubBackward0" if self.shapes[0] is not None else "RsubBackward1"

    @property
    def _listed_inputs(self):  # tensor - number lists the number as None; rsub(tensor, number) not
        return 2 if self.shapes[0] is not None else 0

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        bools = [isinstance(v, bool) or isinstance(v, Tensor) and v._data.dtype.kind == "b" for v in (a, b)]
        if all(bools):
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead."
            )
        if any(bools):
            raise RuntimeError(
                "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                "to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        x, y = operands(a, b)
        ctx.shapes = _shapes(a, b)
        ctx.alpha = alpha
        if alpha != 1:
            y = y * alpha
        return broadcast_op(_sub, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb, *_):
        """dz = ta - alpha*tb."""
        args = ctx._fw_args
        alpha = args[2] if len(args) > 2 else ctx._fw_kwargs.get("alpha", 1)
        return fsum(ta, None if tb is None else tb * -alpha)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        ga = _unbroadcast(g, sa) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1] and ctx.alpha == 1 and not _grad_state.enabled:  # plain: one array
            return ga, Tensor._make(_sum_to(-g._data, sb)), None
        gb = _unbroadcast(-g if ctx.alpha == 1 else g * -ctx.alpha, sb) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def _scalars(a, b):
    """The Python-number operands (tensors reach backward only through save_for_backward)."""
    return (None if isinstance(a, Tensor) else a, None if isinstance(b, Tensor) else b)


def _save_other_operand(ctx, a, b):
    """Save for each input's gradient the other operand, and only when that gradient is needed."""
    need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    if not (need_a or need_b):  # nothing will be recorded (e.g. inside backward)
        return
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    ctx.save_for_backward(a if need_b and ta else None, b if need_a and tb else None)
    ctx.scalars = (None if ta else a, None if tb else b)  # (_scalars and _shapes, with the
    ctx.shapes = (a._data.shape if ta else None, b._data.shape if tb else None)  # tests done once)


class Mul(Function):
    """z = a*b;  da = g*b,  db = g*a."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    _listed_inputs = 2  # a Python number operand is listed as None (torch wraps it as a tensor)

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        _save_other_operand(ctx, a, b)
        try:  # a Python float stays one (operands makes it a bfloat16 array for a bfloat16 tensor)
            if type(x) is _ndarray and type(y) is _ndarray and type(a) is not float and type(b) is not float:
                return x * y  # (two arrays and no Python float: _mul's first case, without the call)
            return _mul(a if type(a) is float else x, b if type(b) is float else y)
        except ValueError as e:
            raise _broadcast_failure(e, a, b) from None
        except OverflowError:
            return broadcast_op(_mul, x, y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta*b + a*tb."""
        a, b = ctx._fw_args
        return fsum(None if ta is None else ta * b, None if tb is None else a * tb)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        shape_a, shape_b = ctx.shapes
        if not _grad_state.enabled:  # plain backward: the same products on arrays
            gd = g._data
            ga = gb = None
            if ctx.needs_input_grad[0]:  # (a saved operand is an array: no _mul call, which only
                d = gd * b._data if b is not None else _mul(gd, sb)  # a Python float needs)
                ga = Tensor._make(d if d.shape == shape_a else _sum_to(d, shape_a))
            if ctx.needs_input_grad[1]:
                d = gd * a._data if a is not None else _mul(gd, sa)
                gb = Tensor._make(d if d.shape == shape_b else _sum_to(d, shape_b))
            return ga, gb
        ga = _unbroadcast(g * (b if b is not None else sb), shape_a) if ctx.needs_input_grad[0] else None
        gb = _unbroadcast(g * (a if a is not None else sa), shape_b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """z = a/b;  da = g/b,  db = -g*a/b^2."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    _listed_inputs = 2  # a Python number operand is listed as None (torch wraps it as a tensor)

    def name(self):  # torch computes number / tensor as a product (MulBackward0)
        return "DivBackward0" if self.scalars[0] is None else "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        x, y = float_operands(a, b)
        ctx.save_for_backward(a if ctx.needs_input_grad[1] and isinstance(a, Tensor) else None,
                              b if isinstance(b, Tensor) else None)
        ctx.scalars = _scalars(a, b)
        ctx.shapes = _shapes(a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if not isinstance(a, Tensor):  # number / tensor is torch's reciprocal(tensor) * number
                return _mul(a if type(a) is float else x, _backend.array_module(y).reciprocal(y))
            return broadcast_op(_div, x, b if type(b) is float else y, a, b)

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta/b - tb*z/b."""
        a, b = ctx._fw_args
        return fsum(None if ta is None else ta / b, None if tb is None else -tb * ctx._fw_results[0] / b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        bv = b if b is not None else sb
        ga = _unbroadcast(g / bv, ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            if a is None:  # number / b = number * r with r = 1/b:  db = (g * number) * -(r * r)
                r = b.reciprocal()
                gb = _unbroadcast((g * sa) * -(r * r), ctx.shapes[1])
            else:
                gb = _unbroadcast(-g * a / (b * b), ctx.shapes[1])
        return ga, gb


class Pow(Function):
    """z = a^b;  da = g*b*a^(b-1) (0 where b = 0),  db = g*z*log(a) (0 where a = 0 and b >= 0)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    def name(self):  # torch's names: tensor^number 0, tensor^tensor 1, number^tensor 2
        sa, sb = self.scalars
        return "PowBackward2" if sa is not None else "PowBackward0" if sb is not None else "PowBackward1"

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        if all(getattr(v, "dtype", None) == np.bool_ for v in (x, y)):
            raise not_implemented_for("pow", _dtype.bool, "convert the bool tensors with .int() or .float() first")
        if getattr(x, "dtype", np.dtype(float)).kind in "iu" and isinstance(y, int) and y < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = broadcast_op(_pow, x, y, a, b)
        out = Tensor._make(out)
        ctx.save_for_backward(a if isinstance(a, Tensor) else None,
                              b if isinstance(b, Tensor) else None,
                              out if isinstance(b, Tensor) else None)
        ctx.scalars = _scalars(a, b)
        ctx.shapes = _shapes(a, b)
        return out

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta*b*a^(b-1) (0 where b = 0) + tb*z*ln a (0 where a = 0 and b >= 0)."""
        from .comparison import where

        a, b = ctx._fw_args
        da = db = None
        if ta is not None:
            if isinstance(b, Tensor):
                da = where(b == 0, 0.0, ta * b * a ** (b - 1))
            else:
                da = ta * (b * a ** (b - 1)) if b != 0 else ta * 0
        if tb is not None:
            if isinstance(a, Tensor):
                log_a = where((a == 0) & (b >= 0), 0.0, log(a))
            else:
                log_a = float(np.log(a)) if a != 0 else where(b >= 0, 0.0, -np.inf)
            db = tb * ctx._fw_results[0] * log_a
        return fsum(da, db)

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        sa, sb = ctx.scalars
        ga = gb = None
        from .comparison import where

        if ctx.needs_input_grad[0]:  # 0 where b = 0 (not 0 * a^-1 = nan at a = 0)
            if b is None:
                ga = g * (sb * a ** (sb - 1)) if sb != 0 else g * 0  # torch's order of products
            else:
                ga = _unbroadcast(where(b == 0, 0.0, g * b * a ** (b - 1)), a.shape)
        if ctx.needs_input_grad[1]:
            if a is None:
                log_a = float(np.log(sa)) if sa != 0 else where(b >= 0, 0.0, -np.inf)
                gb = g * out * log_a
            else:
                log_a = where((a == 0) & (b >= 0), 0.0, log(a))
                gb = _unbroadcast(g * out * log_a, b.shape)
        return ga, gb


class Neg(Function):
    """z = -a;  da = -g."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        if a._data.dtype == np.bool_:
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return -a._data

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return -g


def _add(x, y):
    return x + y


def _sub(x, y):
    return x - y


def _half_and_float(x, y):
    """One operand a Python float, the other a float16/bfloat16 array: torch computes such a
    product or quotient in float32 and rounds once, where NumPy first rounds the number to the
    half type (x * 0.9 then differs from torch in 15-30% of the elements)."""
    if type(y) is float:
        x, y = y, x
    elif type(x) is not float:
        return False
    return getattr(y, "dtype", None) is not None and y.dtype.itemsize == 2 and y.dtype.kind in "fV"


def _in_float32(op, x, y):
    """op(x, y) computed in float32 and rounded once to the half operand's dtype."""
    dtype = (y if type(x) is float else x).dtype
    with np.errstate(over="ignore"):  # beyond the half type's range is inf, as in torch
        return _backend.cast(op(*(np.float32(v) if type(v) is float else v.astype(np.float32) for v in (x, y))),
                             dtype)  # (CUDA bfloat16 has no astype to it)


def _mul(x, y):
    if type(x) is not float and type(y) is not float:  # (no Python float: no half-and-float case)
        return x * y
    return _in_float32(operator.mul, x, y) if _half_and_float(x, y) else x * y


def _div(x, y):
    if type(x) is not float and type(y) is not float:  # (no Python float: no half-and-float case)
        return x / y
    return _in_float32(operator.truediv, x, y) if _half_and_float(x, y) else x / y


def _pow(x, y):
    if getattr(x, "dtype", None) == np.bool_ and isinstance(y, bool):  # stays bool, as in torch (NumPy: int8)
        return x.copy() if y else _backend.array_module(x).ones_like(x)
    if getattr(y, "dtype", None) is not None and y.dtype.kind == "i" and (y < 0).any():
        return _int_pow(x, y)
    if isinstance(y, (int, float)) and getattr(x, "dtype", None) is not None and x.dtype.kind == "f":
        special = _FLOAT_POWERS.get(y)
        if special is not None:
            if x.dtype.itemsize == 2 and type(x) is _ndarray:  # float16: in float32, rounded once, as torch
                return special(x.astype(np.float32)).astype(x.dtype)  # (x.pow(3): 24% of elements differed)
            return special(x)
    elif type(x) is _ndarray and x.dtype.kind == "V" and getattr(y, "ndim", None) == 0 and float(y) in (3, -2):
        return _FLOAT_POWERS[float(y)](x)  # torch's bfloat16 x^3 and x^-2 round at each product (22-26% differed)
        # (operands gives bfloat16's exponent as a 0-dim array)
    return x ** y


# torch's float tensor ^ number special cases, written as it computes them (the same roundings,
# and several times faster than NumPy's general power: x ** 3.0 costs ~30x x * x * x)
_FLOAT_POWERS = {
    3: lambda x: x * x * x,
    -1: lambda x: 1 / x,
    -2: lambda x: 1 / (x * x),
    -0.5: lambda x: 1 / _backend.array_module(x).sqrt(x),
}


def _int_pow(x, y):
    """Integers to integer powers as torch computes them: a negative exponent gives 1 for base 1,
    +-1 for base -1 (even/odd exponent) and 0 for any other base (NumPy raises instead)."""
    xp = _backend.array_module(y)
    neg = y < 0
    x = xp.asarray(x, dtype=y.dtype)
    out = x ** xp.where(neg, 0, y)
    return xp.where(neg, xp.where(x == 1, 1, xp.where(x == -1, 1 - 2 * (y & 1), 0)), out).astype(out.dtype)


# ---------------------------------------------------------------------------- unary


class Exp(Function):
    """z = e^a;  da = g*z."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a):
        xp = _backend.array_module(a._data)
        with np.errstate(over="ignore"):
            out = Tensor._make(xp.exp(float_data(a)))
        ctx.save_for_backward(out)
        return out

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    """z = ln a;  da = g/a."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        xp = _backend.array_module(a._data)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.log(float_data(a))

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    """z = sqrt(a);  da = g/(2z)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        xp = _backend.array_module(a._data)
        with np.errstate(invalid="ignore"):
            out = Tensor._make(xp.sqrt(float_data(a)))
        ctx.save_for_backward(out)
        return out

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    """z = |a|;  da = g*sign(a) (0 at a = 0)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        check_not_bool("abs_cpu", a)
        ctx.save_for_backward(a)
        return _backend.array_module(a._data).abs(a._data)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.sign()


class Tanh(Function):
    """z = tanh a;  da = g*(1 - z^2)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if type(x) is _ndarray and x.dtype.kind == "f":  # (float_data and array_module's answer, inline)
            out = Tensor._make(_tanh(x))
        else:
            out = Tensor._make(_backend.array_module(x).tanh(float_data(a)))
        ctx.save_for_backward(out)
        return out

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        z = out._data
        if not _grad_state.enabled and z.ndim and z.dtype.itemsize != 2:  # plain backward: one array, in place
            gd = g._data
            if type(z) is _ndarray and z.size >= _blocked.MIN_SIZE:
                return Tensor._make(_blocked.run(_tanh_grad, np.empty_like(z), z, gd))
            return Tensor._make(_tanh_grad(None, z, gd))
        (out, g), half = opmath_tensors(out, g)  # (half: in float32, rounded once, as torch's tanh_backward)
        return rounded_tensor(g * (1 - out * out), half)


def _tanh_grad(d, z, g):
    """d = g*(1 - z^2) in torch's order: (1 - z*z)*g, into d (None: a new array)."""
    if d is None:
        d = z * z
    else:
        np.multiply(z, z, out=d)
    (_subtract if type(d) is _ndarray else _backend.array_module(d).subtract)(1, d, out=d)
    d *= g
    return d


def sigmoid_array(x):
    """1/(1+e^-x). NumPy float32/float64 arrays take torch's CPU formula as it reads, in 4 passes:
    e^-x overflows to inf below x ~ -88.7 (float32), which gives torch's 0 there (on 1M float32
    draws of N(0, 8^2) torch's results differ from it in 17% of elements, at most 4 ulp, from
    the form below in 28%; 2K float32 7.2 -> 4.4 us, 256K 700 -> 240 us, process_time).
    NumPy float16/bfloat16 arrays go through float32 and round once (torch's opmath). CuPy
    arrays (half precision: e^-x overflows already at x ~ -11): without
    overflow, with e = e^-|x| and r = 1/(1+e), r where x >= 0 and e*r elsewhere; on NumPy
    arrays as r * max(e, [x >= 0]) (e <= 1; NaN stays NaN): the same products as
    ``where(x >= 0, r, e*r)``, whose select costs NumPy ~5 ns per element."""
    wide, half = opmath(x)
    if half is not None:  # float16/bfloat16: in float32, rounded once, as torch
        return rounded(sigmoid_array(wide), half)
    if type(x) is _ndarray and x.ndim and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
        e = np.negative(x)
        with np.errstate(over="ignore"):
            np.exp(e, out=e)
        e += 1
        return np.reciprocal(e, out=e)
    xp = _backend.array_module(x)
    e = xp.exp(-xp.abs(x))
    r = 1 / (1 + e)
    if type(x) is not _ndarray or x.ndim == 0 or x.dtype.kind not in "fV":
        return xp.where(x >= 0, r, e * r)
    e = xp.maximum(e, (x >= 0).astype(e.dtype), out=e)
    r *= e
    return r


class Sigmoid(Function):
    """z = 1/(1+e^-a);  da = g*(1 - z)*z."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    @staticmethod
    def forward(ctx, a):
        out = Tensor._make(sigmoid_array(float_data(a)))
        ctx.save_for_backward(out)
        return out

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        z = out._data
        if not _grad_state.enabled and z.ndim and z.dtype.kind == "f" and z.dtype.itemsize >= 4:
            d = 1 - z  # plain backward: one array, g*(1-z)*z in torch's order
            d *= g._data
            d *= z
            return Tensor._make(d)
        half = None
        if out._data.dtype != np.float16:  # torch's sigmoid_backward: bfloat16 in float32, rounded once;
            (out, g), half = opmath_tensors(out, g)  # float16 rounded op by op, in this order
        return rounded_tensor(g * (1 - out) * out, half)


class Relu(Function):
    """z = max(0, a);  da = g where z != 0 (z > 0 or NaN, as torch's threshold_backward), else 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    @staticmethod
    def forward(ctx, a):
        x = a._data
        xp = np if type(x) is _ndarray else _backend.array_module(x)
        if x.dtype.kind == "f":
            # NaN propagates and -0 stays -0, as in torch. On large arrays clip with both bounds
            # in x's dtype runs NumPy's vectorised clip loop, ~3x faster than maximum with a
            # scalar (which takes a slow path); on small ones clip's Python wrapper (~2 us) costs
            # more. A NumPy array's own clip method: np.clip's dispatch costs ~5 us more (NumPy 2.4;
            # the mlp step's 128x512 relu 29 -> 14 us)
            zero = _zero_of(x.dtype)
            if x.size < _SMALL:
                z = _maximum(zero, x) if xp is np else xp.maximum(zero, x)
            else:
                inf = x.dtype.type(np.inf)
                z = x.clip(zero, inf) if type(x) is _ndarray else xp.clip(x, zero, inf)
        elif x.dtype == np.bool_:
            raise RuntimeError("Boolean inputs not supported for relu (convert with .float() first)")
        else:
            z = xp.maximum(x, 0)
        out = Tensor._make(z)
        ctx.save_for_backward(out)
        return out

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if not _grad_state.enabled:  # plain backward: ReluGrad's product, without recording it
            return Tensor._make(_relu_grad(g._data, out._data))
        return ReluGrad.apply(g, out)


def _relu_grad(g, z):
    """g where z != 0, else 0 (large NumPy arrays block by block: the mask stays in cache)."""
    if type(g) is _ndarray and type(z) is _ndarray and g.shape == z.shape and g.size >= _SMALL:
        out = np.empty_like(g, np.result_type(g, z))
        if g.size >= _blocked.MIN_SIZE:
            return _blocked.run(_relu_grad_into, out, g, z)
        return _relu_grad_into(out, g, z)
    return g * _relu_mask(z)


def _relu_grad_into(out, g, z):
    """out = g times the mask, the mask written as 1/0 straight into out: two passes, not three
    (cnn's (64,16,28,28) 588-617 -> 505-510 us, (64,32,14,14) 285-295 -> 263-281 us; bitwise the same)."""
    np.not_equal(z, 0, out=out, casting="unsafe")
    np.multiply(g, out, out=out)
    return out


def _relu_mask(out):
    """Where relu passes its gradient: z != 0, i.e. z > 0 or NaN (torch: not z <= 0), as 1/0 in
    z's dtype for large arrays (NumPy multiplies by a bool array through a slow casting loop:
    ~20% slower there; on small ones the extra call costs more)."""
    if out.size < _SMALL:  # (a float's cast to bool is z != 0, NaN included: ~4K machine instructions
        return out.astype(bool) if out.dtype.kind == "f" else out != 0  # less than comparing with 0)
    return (out != 0).astype(out.dtype)


_ZEROS = {}  # a zero scalar of each dtype: making one (dtype.type(0)) costs ~2.7K machine instructions


def _zero_of(dtype):
    zero = _ZEROS.get(dtype)
    if zero is None:
        zero = _ZEROS[dtype] = dtype.type(0)
    return zero


_SMALL = 1 << 12  # elements: below this NumPy's per-call overhead outweighs a faster loop


class ReluGrad(Function):
    """z = g where out != 0, else 0 (relu's backward, one op);  dg = gz where out != 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    _backward_name = "ThresholdBackwardBackward0"

    @staticmethod
    def forward(ctx, g, out):
        ctx.save_for_backward(out)
        return _relu_grad(g._data, out._data)

    @staticmethod
    def jvp(ctx, tg, tout):
        """Linear in g (the mask of out is piecewise constant): dz = tg where out != 0."""
        return ReluGrad.apply(tg, ctx._fw_args[1])

    @staticmethod
    def backward(ctx, gz):
        (out,) = ctx.saved_tensors
        return ReluGrad.apply(gz, out) if ctx.needs_input_grad[0] else None, None


class Clone(Function):
    """A copy that stays in the graph;  da = g."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        return a._data.copy()

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return g


class To(Function):
    """Change dtype and/or device;  da = g converted back."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    _backward_name = "ToCopyBackward0"  # torch's name

    @staticmethod
    def forward(ctx, a, dtype, device):
        ctx.src = (a.dtype, a.device)
        x = a._data
        if dtype is not None and x.dtype != dtype.np:
            x = _backend.cast(x, dtype.np)
        if device is not None:
            x = _backend.to_device(x, device)
        return x.copy() if x is a._data else x  # (.to('cpu:0') of a CPU tensor: a copy, as torch's)

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        dtype, device = ctx.src
        return _to(g, dtype, device), None, None


def _to(t, dtype, device, copy=False):
    same_dtype = dtype is None or t._data.dtype == dtype.np
    same_device = device is None or t.device == _backend.with_current_index(device)  # 'cuda': the current GPU
    if same_dtype and same_device:
        return t.clone() if copy else t
    if dtype is not None and t._requires_grad and not dtype.is_floating_point:
        return To.apply(t.detach(), dtype, device)
    return To.apply(t, dtype, device)


# ---------------------------------------------------------------------------- public API

# (a bound method kept: Op.apply looks the classmethod up and binds it on every call, ~460 machine instructions)
_add_apply, _mul_apply, _tanh_apply, _relu_apply = Add.apply, Mul.apply, Tanh.apply, Relu.apply


@takes_out(dtype=CAST)
@tensor_method()
def add(input, other, *, alpha=1):
    """input + alpha * other, with broadcasting."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        input = _numbers_input("add", input, other)
    if alpha.__class__ is not int:
        _check_alpha(input, other, alpha)
    return _add_apply(input, other, alpha)


def _numbers_input(name, input, other):
    """The input of add/sub/mul/div called with two Python numbers, as torch takes it: a 0-dim
    tensor of the number (``torch.add(1, 2)`` is ``tensor(3)``, ``torch.div(1, 2)`` ``tensor(0.5)``).
    With a tensor other the number stays as it is (``torch.add(2, t)``); anything else is torch's
    TypeError."""
    from ..creation import tensor

    if isinstance(other, Tensor):
        return input
    if not isinstance(input, (bool, int, float)) or not isinstance(other, (bool, int, float)):
        raise input_not_tensor(name, input, overloads=False)
    return tensor(input)


def _check_alpha(a, b, alpha):
    """torch's alpha rules: a bool alpha only for a bool result, a float one not for an integer result."""
    result = _dtype.result_type(a, b)
    if isinstance(alpha, bool) and result is not _dtype.bool_:
        raise RuntimeError(f"Boolean alpha only supported for Boolean results. (alpha={alpha} with a {result} "
                           "result: pass alpha as a number)")
    if isinstance(alpha, float) and not result.is_floating_point:
        raise RuntimeError(f"For integral input tensors, argument alpha must not be a floating point number. "
                           f"(alpha={alpha} with a {result} result: pass an int alpha or convert with .float())")


@takes_out(dtype=CAST)
@tensor_method()
def sub(input, other, *, alpha=1):
    """input - alpha * other, with broadcasting."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        input = _numbers_input("sub", input, other)
    if alpha.__class__ is not int:
        _check_alpha(input, other, alpha)
    return Sub.apply(input, other, alpha)


@tensor_method()
def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("rsub", input, other)
    if alpha.__class__ is not int:
        _check_alpha(input, other, alpha)
    return Sub.apply(other, input * alpha if alpha != 1 else input)


@takes_out(dtype=CAST)
@tensor_method()
def mul(input, other):
    """input * other, with broadcasting."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        input = _numbers_input("mul", input, other)
    return _mul_apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def div(input, other, *, rounding_mode=None):
    """input / other (true division; integer inputs give floats)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        input = _numbers_input("div", input, other)
    if rounding_mode is not None:
        from .math import div_rounded

        return div_rounded(input, other, rounding_mode)
    return Div.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def pow(input, exponent):  # noqa: A001
    """input ** exponent (either may be a Python number, not both)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise input_not_tensor("pow", input, exponent)
    return Pow.apply(input, exponent)


@takes_out(dtype=SAME)
@tensor_method()
def neg(input):
    """Elementwise negation: z = -a."""
    return Neg.apply(input)


@takes_out(dtype=CAST)
@tensor_method()
def exp(input):
    """Elementwise exponential: z = e^a."""
    return Exp.apply(input)


@takes_out(dtype=CAST)
@tensor_method()
def log(input):
    """Elementwise natural logarithm: z = ln a."""
    return Log.apply(input)


@takes_out(dtype=CAST)
@tensor_method()
def sqrt(input):
    """Elementwise square root: z = sqrt(a)."""
    return Sqrt.apply(input)


@takes_out(dtype=SAME)
@tensor_method()
def abs(input):  # noqa: A001
    """Elementwise absolute value: z = |a|."""
    return Abs.apply(input)


@takes_out(dtype=CAST)
@tensor_method()
def tanh(input):
    """Elementwise hyperbolic tangent: z = (e^a - e^-a)/(e^a + e^-a)."""
    return _tanh_apply(input)


@takes_out(dtype=CAST)
@tensor_method()
def sigmoid(input):
    """Elementwise logistic sigmoid: z = 1/(1 + e^-a)."""
    return Sigmoid.apply(input)


@tensor_method()
def relu(input):
    """Elementwise rectified linear unit: z = max(0, a)."""
    return _relu_apply(input)


@tensor_method()
def square(input):
    """Elementwise square: z = a*a (a ** 2 for bool tensors, which gives int64 as in torch)."""
    if input.dtype.name == "bool":
        return Pow.apply(input, 2)
    return Mul.apply(input, input)


@tensor_method()
def clone(input, *, memory_format=None):
    """A differentiable copy."""
    reject("clone", memory_format=memory_format)
    return Clone.apply(input)


subtract, multiply, divide, true_divide, negative, absolute = sub, mul, div, div, neg, abs
for _name, _fn in [("subtract", sub), ("multiply", mul), ("divide", div), ("true_divide", div),
                   ("negative", neg), ("absolute", abs)]:
    setattr(Tensor, _name, _fn.__wrapped__)  # the method, without the function's out=


# ---------------------------------------------------------------------------- operators

# A NumPy array operand: NotImplemented, so NumPy computes it (ops/_numpy_operands.py says why), but
# a / t, which is torch's t.reciprocal() * a. Each calls the op's apply itself: one call, as the
# methods (whose out= and alpha= the operators have not).


def _add_operator(self, other):
    if other.__class__ is not Tensor and isinstance(other, _ndarray):
        return NotImplemented
    return _add_apply(self, other, 1)


def _radd_operator(self, other):
    if isinstance(other, _ndarray):
        return NotImplemented
    return Add.apply(self, other)  # as torch: self + other (edges in that order)


def _sub_operator(self, other):
    if other.__class__ is not Tensor and isinstance(other, _ndarray):
        return NotImplemented
    return Sub.apply(self, other, 1)


def _rsub_operator(self, other):
    if isinstance(other, _ndarray):
        return NotImplemented
    return Sub.apply(other, self)


def _mul_operator(self, other):
    if other.__class__ is not Tensor and isinstance(other, _ndarray):
        return NotImplemented
    return _mul_apply(self, other)


def _rmul_operator(self, other):
    if isinstance(other, _ndarray):
        return NotImplemented
    return Mul.apply(self, other)  # as torch: self * other


def _truediv_operator(self, other):
    if other.__class__ is not Tensor and isinstance(other, _ndarray):
        return NotImplemented
    return Div.apply(self, other)


def _rtruediv_operator(self, other):
    if isinstance(other, _ndarray):
        return self.reciprocal() * other  # torch's __rtruediv__ of an array: NumPy computes the product
    return Div.apply(other, self)


def _pow_operator(self, other):
    if other.__class__ is not Tensor and isinstance(other, _ndarray):
        return NotImplemented
    return Pow.apply(self, other)


def _rpow_operator(self, other):
    if isinstance(other, _ndarray):
        return NotImplemented
    return Pow.apply(other, self)


Tensor.__add__, Tensor.__radd__ = _add_operator, _radd_operator
Tensor.__sub__, Tensor.__rsub__ = _sub_operator, _rsub_operator
Tensor.__mul__, Tensor.__rmul__ = _mul_operator, _rmul_operator
Tensor.__truediv__, Tensor.__rtruediv__ = _truediv_operator, _rtruediv_operator
Tensor.__pow__, Tensor.__rpow__ = _pow_operator, _rpow_operator
Tensor.__neg__ = Tensor.neg
Tensor.__abs__ = Tensor.abs


# ---------------------------------------------------------------------------- in-place forms


class Fill(Function):
    """z = value everywhere;  da = 0 (overwritten),  dvalue = sum(g)."""

    @classmethod
    def vmap(cls, info, in_dims, a, value):
        """The batch dim first; a per-sample value is each sample's copy source instead."""
        x = a.expand((info.batch_size,) + tuple(a.shape)) if in_dims[0] is None else _batching.front(a, in_dims[0])
        if in_dims[1] is None:
            return cls.apply(x, value), 0
        return CopyFrom.apply(x, _batching._pad_to(_batching.front(value, in_dims[1]), x.ndim - 1)), 0

    @staticmethod
    def forward(ctx, a, value):
        xp = _backend.array_module(a._data)
        v = value._data if isinstance(value, Tensor) else value
        return xp.full(a._data.shape, v, dtype=a._data.dtype)

    @staticmethod
    def jvp(ctx, ta, tvalue):
        """dz = tvalue everywhere (a number value is a constant: 0)."""
        return Fill.apply(ta, 0.0 if tvalue is None else tvalue)

    @staticmethod
    def backward(ctx, g):
        # zeros (not None) for the overwritten input, as torch: the graph behind it still runs
        ga = g.new_zeros(g.shape) if ctx.needs_input_grad[0] else None
        return ga, g.sum() if ctx.needs_input_grad[1] else None


class CopyFrom(Function):
    """z = src broadcast to a's shape, in a's dtype;  da = 0 (overwritten),  dsrc = g summed back."""

    @classmethod
    def vmap(cls, info, in_dims, a, src):
        """The batch dim first in both (src padded to a's rank, so it broadcasts as a sample's does)."""
        x = a.expand((info.batch_size,) + tuple(a.shape)) if in_dims[0] is None else _batching.front(a, in_dims[0])
        if in_dims[1] is not None:
            src = _batching._pad_to(_batching.front(src, in_dims[1]), x.ndim - 1)
        return cls.apply(x, src), 0

    @staticmethod
    def forward(ctx, a, src):
        x = src._data if isinstance(src, Tensor) else np.asarray(src)
        if _backend.device_of(x) != a.device:
            x = _backend.to_device(x, a.device)
        ctx.src_shape = x.shape
        xp = _backend.array_module(a._data)
        try:
            return _backend.cast(xp.broadcast_to(x, a._data.shape), a._data.dtype)
        except ValueError:
            raise broadcast_error(tuple(a.shape), x.shape, ("self", "src")) from None

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        ga = g.new_zeros(g.shape) if ctx.needs_input_grad[0] else None
        return ga, sum_to_shape(g, ctx.src_shape) if ctx.needs_input_grad[1] else None


def _fill(t, value):
    return Fill.apply(t, value)


def _copy(t, src, non_blocking=False):
    return CopyFrom.apply(t, src)


def _register_inplace():
    from ._inplace import make_inplace

    for name, fn in [("add_", add), ("sub_", sub), ("subtract_", sub), ("mul_", mul),
                     ("multiply_", mul), ("div_", div), ("divide_", div), ("true_divide_", div),
                     ("pow_", pow), ("neg_", neg), ("negative_", neg), ("exp_", exp),
                     ("log_", log), ("sqrt_", sqrt), ("abs_", abs), ("absolute_", abs),
                     ("tanh_", tanh), ("sigmoid_", sigmoid), ("relu_", relu), ("square_", square),
                     ("fill_", _fill), ("copy_", _copy)]:
        setattr(Tensor, name, make_inplace(fn, name))

    def zero_(self):
        """Fill with zeros, in place (z = 0;  da = 0)."""
        return self.fill_(0)

    Tensor.zero_ = zero_
    Tensor.__iadd__ = Tensor.add_
    Tensor.__isub__ = Tensor.sub_
    Tensor.__imul__ = Tensor.mul_
    Tensor.__itruediv__ = Tensor.div_
    Tensor.__ipow__ = Tensor.pow_


_register_inplace()
