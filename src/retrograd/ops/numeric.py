"""Elementwise functions of a number's representation and of integers, torch's top-level
names: copysign, ldexp, frexp, nextafter (floats by sign, exponent and mantissa), heaviside
(a step), gcd and lcm (integers).

Only copysign, ldexp, frexp's mantissa and nextafter carry gradients, as in torch: copysign
scales by the sign it applies, ldexp = input * 2^other is made of mul and exp2, frexp's
mantissa is input / 2^exponent, and nextafter passes the gradient through (torch's derivative).
"""

from .. import _dtype
from ..autograd.function import Function
from ..tensor import Tensor
from . import _batching
from ._broadcast import sum_to_shape
from ._kernel_dtypes import check_floating_result, check_integer_result, not_implemented_for
from ._method import tensor_method
from ._out import CAST, NONE, SAME, takes_out
from .comparison import sign
from .counting import NotDifferentiable
from .elementwise import broadcast_op, float_operands, input_not_tensor, operands, require_tensor
from .math import _xp
from .reduction import _return_type, return_types

__all__ = ["copysign", "ldexp", "frexp", "nextafter", "heaviside", "gcd", "lcm"]


class Copysign(Function):
    """z = |a| with the sign of b;  da = g * sign(a) * (sign bit of b ? -1 : 1),  db = 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    def name(self):
        return "CopysignBackward1" if self._scalar else "CopysignBackward0"  # torch's Scalar overload

    @staticmethod
    def forward(ctx, a, b):
        x, y = float_operands(a, b)
        ctx._scalar = not isinstance(b, Tensor)
        out = Tensor._make(broadcast_op(_xp(x).copysign, x, y, a, b))
        ctx.save_for_backward(a, out)
        ctx.b_shape = b.shape if isinstance(b, Tensor) else None
        return out

    @staticmethod
    def jvp(ctx, ta, tb):
        a, out = ctx._fw_args[0], ctx._fw_results[0]
        return None if ta is None else ta * sign(a) * sign(out)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        # the sign z gives a's magnitude, times a's own sign: +-1 where a != 0, 0 at a == 0
        ga = sum_to_shape(g * sign(a) * sign(out), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to_shape(g * 0, ctx.b_shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Frexp(Function):
    """(mantissa, exponent) with input = mantissa * 2^exponent, 0.5 <= |mantissa| < 1;
    d mantissa = g / 2^exponent (the exponent is an integer: no gradient)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        mantissa, exponent = _xp(a._data).frexp(a._data)
        ctx.exponent = exponent
        exponent_t = Tensor._make(exponent.astype("int32"))
        ctx.mark_non_differentiable(exponent_t)
        return Tensor._make(mantissa), exponent_t

    @staticmethod
    def jvp(ctx, ta):
        return Frexp._scaled(ctx, ta), None

    @staticmethod
    def backward(ctx, g, _):
        return Frexp._scaled(ctx, g)

    @staticmethod
    def _scaled(ctx, t):
        """t / 2^exponent (exact: a power of two)."""
        return t * Tensor._make(_xp(t._data).ldexp(t._data.dtype.type(1), -ctx.exponent))


class Nextafter(Function):
    """The next float after a toward b;  da = g,  db = 0 (torch's derivatives)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return Tensor._make(broadcast_op(_xp(x).nextafter, x, y, a, b))

    @staticmethod
    def jvp(ctx, ta, tb):
        return None if ta is None else ta.expand(tuple(ctx._fw_results[0].shape))

    @staticmethod
    def backward(ctx, g):
        gb = sum_to_shape(g * 0, ctx.b_shape) if ctx.needs_input_grad[1] else None
        return sum_to_shape(g, ctx.a_shape), gb


@takes_out(dtype=CAST)
@tensor_method()
def copysign(input, other):
    """|input| with the sign of other (a tensor or a number), elementwise; integers become floats."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("copysign", input, other)
    return Copysign.apply(input, other)


@takes_out(dtype=SAME)
@tensor_method()
def ldexp(input, other):
    """input * 2^other, elementwise, as a float: torch computes it as mul and exp2 (and so do its
    gradients), in the operands' promoted dtype when that is floating (bfloat16 with float16 is
    float32, float16 with int8 float16), else in the default dtype."""
    require_tensor("ldexp", other)
    common = _dtype.result_type(input, other)
    if not common.is_floating_point:
        return input * other.exp2()  # exp2 of integers and bools gives the default dtype
    if other.dtype is _dtype.bool_:
        raise not_implemented_for("ldexp_cpu_exp", other.dtype, f"a bool exponent with a {common} input: convert "
                                  "it with .int() first")
    return input.to(common) * other.to(common).exp2()


return_types.frexp = _return_type("frexp", ("mantissa", "exponent"))


@takes_out(dtype=SAME)
@tensor_method()
def frexp(input):
    """(mantissa, exponent): input = mantissa * 2^exponent with 0.5 <= |mantissa| < 1 (0 for 0),
    exponent int32."""
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    return return_types.frexp(*Frexp.apply(input))


@takes_out(dtype=CAST)
@tensor_method()
def nextafter(input, other):
    """The next representable float after input in the direction of other, elementwise."""
    require_tensor("nextafter", other)
    check_floating_result("nextafter_cpu", input, other)
    return Nextafter.apply(input, other)


@takes_out(dtype=SAME)
@tensor_method()
def heaviside(input, values):
    """The step: 0 where input < 0, values where input == 0, 1 where input > 0 (one dtype for
    both; no derivative, as in torch)."""
    require_tensor("heaviside", values)
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    x, v = input._data, values._data
    xp = _xp(x)
    out = Tensor._make(broadcast_op(lambda a, b: xp.where(a == 0, b, a > 0).astype(a.dtype), x, v, input, values))
    if input.requires_grad or values.requires_grad:
        return NotDifferentiable.apply("heaviside", out, input, values)
    return out


def _integers(name, input, other):
    require_tensor(name, other)
    check_integer_result(f"{name}_cpu", input, other)
    return operands(input, other)


@takes_out(dtype=CAST, grad=NONE)
@tensor_method()
def gcd(input, other):
    """The greatest common divisor of integers, elementwise (non-negative; gcd(0, 0) = 0)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("gcd", input, overloads=False)
    x, y = _integers("gcd", input, other)
    return Tensor._make(broadcast_op(_xp(x).gcd, x, y, input, other))


@takes_out(dtype=CAST, grad=NONE)
@tensor_method()
def lcm(input, other):
    """The least common multiple of integers, elementwise (non-negative; 0 if either is 0)."""
    if input.__class__ is not Tensor and not isinstance(input, Tensor):
        raise input_not_tensor("lcm", input, overloads=False)
    x, y = _integers("lcm", input, other)
    return Tensor._make(broadcast_op(_xp(x).lcm, x, y, input, other))
