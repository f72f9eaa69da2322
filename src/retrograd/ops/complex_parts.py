"""torch's functions of complex numbers, on retrograd's real dtypes (it has no complex ones):
conj, conj_physical, resolve_conj, resolve_neg, is_conj, is_neg, real, imag, adjoint, angle.

On a real tensor, as in torch, the conjugate is the tensor itself (conj, conj_physical,
resolve_conj, resolve_neg, real return their input, the same object), no tensor carries a
conjugate or negative bit, imag is an error, adjoint is the transpose of the last two dims (a
view), and angle is pi where the input is negative, else 0 (nan stays nan), with a zero gradient.
"""

import math

from .. import _dtype
from .._backend import array_module
from ..autograd.function import Function
from ..tensor import Tensor
from . import _batching
from ._method import tensor_method
from ._out import CAST, SAME, takes_out
from .shape import transpose

__all__ = ["conj", "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "real",
           "imag", "adjoint", "angle"]


@tensor_method()
def conj(input):
    """The complex conjugate: a real tensor itself."""
    return input


@takes_out(dtype=SAME)
@tensor_method()
def conj_physical(input):
    """The complex conjugate, computed (not a conjugate bit): a real tensor itself."""
    return input


@tensor_method()
def conj_physical_(input):
    """In-place conjugate: nothing to change in a real tensor, which is returned."""
    return input


@tensor_method()
def resolve_conj(input):
    """input with its conjugate bit materialised: a real tensor has none, and is returned."""
    return input


@tensor_method()
def resolve_neg(input):
    """input with its negative bit materialised: retrograd's tensors have none, and are returned."""
    return input


@tensor_method()
def is_conj(input):
    """Whether input's conjugate bit is set: never in retrograd (no complex dtypes)."""
    return False


@tensor_method()
def is_neg(input):
    """Whether input's negative bit is set: never in retrograd (no complex dtypes)."""
    return False


def real(input):
    """The real part: a real tensor itself."""
    return input


def imag(input):
    """The imaginary part: an error for the real dtypes, as in torch."""
    raise RuntimeError(f"imag is not implemented for tensors with non-complex dtypes (got {input.dtype}).")


Tensor.real = property(real, doc="The real part: a real tensor itself.")
Tensor.imag = property(imag, doc="The imaginary part: an error for the real dtypes, as in torch.")


@tensor_method()
def adjoint(input):
    """The conjugate transpose of the last two dims, a view: for real tensors, transpose(-2, -1)."""
    if input.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                           f"{input.ndim}-D tensor.")
    return transpose(input, -2, -1)


class Angle(Function):
    """z = pi where a < 0, 0 where a >= 0 (nan stays nan);  da = 0 (z is piecewise constant)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        x = a._data
        if x.dtype.kind in "biu":
            x = x.astype(_dtype.get_default_dtype().np)
        xp = array_module(x)
        z = xp.where(x < 0, x.dtype.type(math.pi), x.dtype.type(0))
        return Tensor._make(xp.where(xp.isnan(x), x, z))

    @staticmethod
    def jvp(ctx, ta):
        return ta.new_zeros(ta.shape)

    @staticmethod
    def backward(ctx, g):
        return g.new_zeros(g.shape)


@takes_out(dtype=CAST)
@tensor_method()
def angle(input):
    """The argument of each element as a complex number: pi for the negative reals, 0 otherwise;
    integers give floats."""
    return Angle.apply(input)
