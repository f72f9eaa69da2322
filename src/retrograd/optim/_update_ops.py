"""The operations the optimizers' updates are written with, for arrays and for Tensors.

Each update formula is written once, over a namespace ``xp`` of NumPy's names (``xp.add``,
``xp.divide(a, b, out=b)``, ...), Python's in-place operators (``d -= u``) and ``xp.axpy(a, x,
y)`` for torch's ``y.add_(x, alpha=a)``:

- ``ARRAYS`` (the default, ``differentiable=False``): NumPy's own functions on the parameters'
  arrays, updated in place, outside autograd; ``axpy`` one BLAS call (retrograd._blas: one
  pass, one rounding as torch's) where it takes the arrays;
- ``TENSORS`` (``differentiable=True``): the same names on ``Slot``s, each holding a Tensor that
  every operation replaces by a new one recorded by autograd, so that one can backpropagate
  through the update (to the parameters before it, the gradients, the state, a Tensor lr).

On slots nothing is modified in place: ``out=`` and ``d -= u`` rebind the slot to the result, so
no tensor that a backward saved changes afterwards. ``run_on_tensors`` wraps the parameter and
its state tensors in slots (clones: the update reads them, never changes them) and writes the
results back with ``copy_``, which autograd records: the parameter and the state are updated in
place, as in torch, and a leaf that requires grad raises torch's RuntimeError.
"""

import numpy as np

from .. import _blas
from ..tensor import Tensor
from ..ops import comparison as _comparison, elementwise as _elementwise, math as _math

__all__ = ["ARRAYS", "TENSORS", "Slot", "run_on_tensors"]


class ARRAYS:
    """NumPy's functions under the names the formulas use (class attributes: one lookup each)."""

    add = np.add
    subtract = np.subtract
    multiply = np.multiply
    divide = np.divide
    negative = np.negative
    sqrt = np.sqrt
    maximum = np.maximum
    abs = np.abs
    sign = np.sign
    clip = np.clip
    where = np.where
    copyto = np.copyto
    copy = np.copy
    empty_like = np.empty_like

    @staticmethod
    def value(x):
        """The array of x (here x itself): for what no gradient goes through (a sign, a mask)."""
        return x

    @staticmethod
    def axpy(alpha, x, y):
        """``y += alpha * x`` in place, torch's ``y.add_(x, alpha=alpha)``; returns y. One BLAS
        call where retrograd._blas takes the arrays (one rounding, as torch's), else NumPy's
        multiply and add."""
        if y.nbytes < _blas.MIN_BYTES or not _blas.axpy(alpha, x, y):  # (small: no call, ~0.5 us a parameter)
            y += x if alpha == 1 else x * alpha
        return y

    @staticmethod
    def start_buffer(buf, g):
        """A running buffer's first value, a copy of g (SGD's momentum buffer)."""
        np.copyto(buf, g)


def _t(x):
    """The Tensor of a slot; an array (a constant: a mask, factors) as a Tensor; numbers as they are."""
    if type(x) is Slot:
        return x.t
    return Tensor._make(x) if type(x) is np.ndarray else x


class Slot:
    """A Tensor that the formulas' in-place operations replace by their (autograd) result."""

    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t

    @property
    def ndim(self):
        return self.t.ndim

    def __iadd__(self, other):
        self.t = self.t + _t(other)
        return self

    def __isub__(self, other):
        self.t = self.t - _t(other)
        return self

    def __imul__(self, other):
        self.t = self.t * _t(other)
        return self

    def __itruediv__(self, other):
        self.t = self.t / _t(other)
        return self


def _slot_op(fn):
    def op(*args, out=None):
        result = fn(*map(_t, args))
        if out is None:
            return Slot(result)
        out.t = result
        return out

    op.__name__ = fn.__name__
    return op


class TENSORS:
    """The same names on Slots (differentiable=True): every result is a new autograd Tensor."""

    add = staticmethod(_slot_op(lambda a, b: a + b))
    subtract = staticmethod(_slot_op(lambda a, b: a - b))
    multiply = staticmethod(_slot_op(lambda a, b: a * b))
    divide = staticmethod(_slot_op(lambda a, b: a / b))
    negative = staticmethod(_slot_op(lambda a: -a))
    sqrt = staticmethod(_slot_op(_elementwise.sqrt))
    maximum = staticmethod(_slot_op(_math.maximum))
    abs = staticmethod(_slot_op(_elementwise.abs))
    sign = staticmethod(_slot_op(_comparison.sign))
    clip = staticmethod(_slot_op(lambda x, lo, hi: _math.clamp(x, lo, hi)))
    where = staticmethod(_slot_op(_comparison.where))
    copy = staticmethod(_slot_op(lambda a: a))  # (a slot is never written in place: its tensor serves)

    @staticmethod
    def axpy(alpha, x, y):
        """``y + alpha * x`` (``y + x`` for alpha 1), y's slot rebound to it; returns y."""
        y.t = y.t + (_t(x) if type(alpha) in (int, float) and alpha == 1 else _t(x) * alpha)
        return y

    @staticmethod
    def copyto(dst, src):
        dst.t = _t(src)

    @staticmethod
    def empty_like(x):
        return Slot(None)

    @staticmethod
    def value(x):
        return _t(x).detach()._data

    @staticmethod
    def start_buffer(buf, g):
        """torch's differentiable SGD starts the momentum buffer from a detached copy of the
        gradient: no gradient flows into the first step's gradient through the buffer."""
        buf.t = _t(g).detach().clone()


def run_on_tensors(update, p, state_tensors, *args, **kwargs):
    """``update(d, *states, *args, xp=TENSORS, **kwargs)`` on slots of the parameter ``p`` and of
    its ``state_tensors`` (a state entry None stays None), then their results copied back into
    them (in place, recorded by autograd)."""
    d = Slot(p.clone())
    slots = [None if s is None else Slot(s.clone()) for s in state_tensors]
    update(d, *slots, *args, xp=TENSORS, **kwargs)
    p.copy_(d.t)
    for s, slot in zip(state_tensors, slots):
        if s is not None:
            s.copy_(slot.t)
