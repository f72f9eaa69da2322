"""NumPy arrays as operands of Tensor's Python operators, as torch 2.13 treats them.

torch's operators take a NumPy scalar (``np.float64(2.0)``) as a number, but not an ndarray, 0-dim
ones included: ``t + a`` returns NotImplemented, so Python asks the array, and NumPy computes the
reflected operator itself on ``np.asarray(t)`` and hands its result to ``Tensor.__array_wrap__``,
which makes it a tensor. So the result follows NumPy's rules: NumPy's dtype promotion (a float32
tensor plus a float64 array, even a 0-dim one, is float64; an int64 tensor times a float32 array
float64), no graph (a tensor that requires grad raises numpy()'s RuntimeError), a bitwise op of a
float tensor NumPy's TypeError, and never in place: ``t += a`` finds ``__iadd__`` and ``__add__``
refusing too, so t is rebound to the new tensor and its old memory keeps its values.

With the array on the left, NumPy defers to the tensor (Tensor's ``__array_priority__`` is higher
and it has the reflected operator), whose reflected operator refuses too: ``a + t``, ``a * t``,
``a < t`` are TypeErrors, as in torch. Two operators answer anyway, as torch's: ``t == a`` (and
``a == t``) compares elementwise with the array as a tensor (torch.as_tensor(a)), and ``a / t`` is
``t.reciprocal() * a`` (torch's ``__rtruediv__``), which NumPy computes. NumPy ufuncs called on
tensors (``np.exp(t)``, ``np.add(t, a)``) also come back as tensors through ``__array_wrap__``.

The hot operators (``+ - * / **``) check for an array themselves (ops/elementwise.py); the rest are
wrapped here, once every op family has registered them.
"""

import numpy as np

from .._dtype import from_numpy_dtype
from ..tensor import Tensor

_ndarray = np.ndarray


def defers_to_arrays(method):
    """``method`` as a Python operator: NotImplemented when the other operand is a NumPy array."""

    def operator(self, other):
        if isinstance(other, _ndarray):
            return NotImplemented
        return method(self, other)

    operator.__name__ = operator.__qualname__ = method.__name__
    operator.__doc__ = method.__doc__
    return operator


def _wrap_operators():
    for kind in ("floordiv", "mod", "matmul", "and", "or", "xor", "lshift", "rshift"):
        for name in (f"__{kind}__", f"__r{kind}__", f"__i{kind}__"):
            if name in vars(Tensor):  # (there is no __imatmul__: x @= a falls back to __matmul__, as torch's)
                setattr(Tensor, name, defers_to_arrays(getattr(Tensor, name)))
    for kind in ("add", "sub", "mul", "truediv", "pow"):
        setattr(Tensor, f"__i{kind}__", defers_to_arrays(getattr(Tensor, f"__i{kind}__")))


def _eq(method):
    def __eq__(self, other):
        """self == other; a NumPy array is compared as torch.as_tensor(other) (NotImplemented for a dtype a
        tensor cannot hold: strings, objects), as torch's."""
        if isinstance(other, _ndarray):
            try:
                from_numpy_dtype(other.dtype)
            except TypeError:
                return NotImplemented
            other = Tensor._make(np.asarray(other))  # (np.matrix too: as a plain array)
        return method(self, other)

    return __eq__


_wrap_operators()
Tensor.__eq__ = _eq(Tensor.__eq__)
