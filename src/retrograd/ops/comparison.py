"""Comparisons (bool results, no gradient), where, and sign."""

import numpy as np

from .. import _backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._broadcast import sum_to_shape
from ._method import tensor_method
from .elementwise import broadcast_op, operands

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
           "not_equal", "where", "sign"]


def _compare(op):
    def compare(input, other, *, out=None):
        x, y = operands(input, other)
        return Tensor._make(broadcast_op(op, x, y, input, other))

    return compare


eq = tensor_method("eq", "__eq__")(_compare(lambda x, y: x == y))
ne = tensor_method("ne", "__ne__", "not_equal")(_compare(lambda x, y: x != y))
lt = tensor_method("lt", "__lt__", "less")(_compare(lambda x, y: x < y))
le = tensor_method("le", "__le__", "less_equal")(_compare(lambda x, y: x <= y))
gt = tensor_method("gt", "__gt__", "greater")(_compare(lambda x, y: x > y))
ge = tensor_method("ge", "__ge__", "greater_equal")(_compare(lambda x, y: x >= y))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
for _n in ("eq", "ne", "lt", "le", "gt", "ge"):
    _fn = globals()[_n]
    _fn.__name__ = _n


class Where(Function):
    """z = cond ? a : b;  da = g where cond,  db = g where not cond."""

    @staticmethod
    def forward(ctx, cond, a, b):
        x, y = operands(a, b)
        c = cond._data if isinstance(cond, Tensor) else cond
        if getattr(c, "dtype", np.bool_) != np.bool_:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {cond.dtype}")
        ctx.save_for_backward(cond)
        ctx.shapes = (a.shape if isinstance(a, Tensor) else None, b.shape if isinstance(b, Tensor) else None)
        xp = _backend.array_module(c)
        return xp.where(c, x, y)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        zero = g.new_zeros(())
        ga = sum_to_shape(where(cond, g, zero), sa) if ctx.needs_input_grad[1] else None
        gb = sum_to_shape(where(cond, zero, g), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


@tensor_method()
def where(condition, input=None, other=None, *, out=None):
    """where(cond, a, b): elements of a where cond is True, else of b.
    where(cond) alone: the indices of the True elements, as a tuple of tensors."""
    if input is None and other is None:
        return tuple(Tensor._make(i) for i in _backend.array_module(condition._data).nonzero(condition._data))
    return Where.apply(condition, input, other)


class Sign(Function):
    """z = sign(a);  da = 0."""

    @staticmethod
    def forward(ctx, a):
        return _backend.array_module(a._data).sign(a._data)

    @staticmethod
    def backward(ctx, g):
        return g * 0


@tensor_method()
def sign(input, *, out=None):
    return Sign.apply(input)


# ---------------------------------------------------------------------------- logic and bits


def _bitwise(op, name):
    def fn(input, other):
        x, y = operands(input, other)
        if any(isinstance(v, float) or getattr(v, "dtype", None) is not None and v.dtype.kind == "f" for v in (x, y)):
            raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Float': {name} takes integer or bool tensors")
        return Tensor._make(broadcast_op(op, x, y, input, other))

    fn.__name__ = name
    return fn


bitwise_and = tensor_method("bitwise_and", "__and__")(_bitwise(lambda x, y: x & y, "bitwise_and"))
bitwise_or = tensor_method("bitwise_or", "__or__")(_bitwise(lambda x, y: x | y, "bitwise_or"))
bitwise_xor = tensor_method("bitwise_xor", "__xor__")(_bitwise(lambda x, y: x ^ y, "bitwise_xor"))
Tensor.__rand__ = lambda self, other: bitwise_and(other, self)
Tensor.__ror__ = lambda self, other: bitwise_or(other, self)
Tensor.__rxor__ = lambda self, other: bitwise_xor(other, self)


@tensor_method("bitwise_not", "__invert__")
def bitwise_not(input):
    if input.dtype.is_floating_point:
        raise RuntimeError("bitwise_not is only implemented for integer and bool tensors")
    return Tensor._make(~input._data)


@tensor_method()
def logical_not(input):
    return Tensor._make(_backend.array_module(input._data).logical_not(input._data))


__all__ += ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "logical_not"]
