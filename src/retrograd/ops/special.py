"""Special functions (torch.special and the top-level ops torch has for them): log gamma and
its derivatives (digamma, polygamma, mvlgamma), the Hurwitz zeta function, ...

Each op's forward computes in float64 with the NumPy kernels of ``_special_kernels.py`` (the
algorithms of torch's CPU kernels, so poles give torch's infinities and nans) and rounds to
the input's dtype; integer and bool inputs give the default float dtype, as in torch. Each
backward is written with these ops, so that it can be differentiated again.
"""

import math

import numpy as np

from .. import _backend
from ..autograd.function import Function
from ..tensor import Tensor
from . import _special_kernels as K
from ._inplace import make_inplace
from ._method import tensor_method
from ._out import CAST, takes_out
from .elementwise import float_data
from .math import _UnaryFloat, _unary

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma"]


def _kernel(fn, name):
    """``fn`` (a float64 NumPy kernel) as an ``f(xp, x)`` of ``_UnaryFloat``: computed in float64,
    returned in x's dtype; on a GPU, cupyx.scipy.special's ``name``."""

    def f(xp, x):
        if xp is not np:
            from cupyx.scipy import special

            return getattr(special, name)(x)
        return fn(x.astype(np.float64)).astype(x.dtype, copy=False)

    return staticmethod(f)


# ---------------------------------------------------------------------------- log gamma family


class Lgamma(_UnaryFloat):
    """z = ln|Gamma(a)|;  da = g*digamma(a)."""
    f = _kernel(K.lgamma, "gammaln")
    df = staticmethod(lambda g, a, z: g * digamma(a))


class Digamma(_UnaryFloat):
    """z = digamma(a) = d/da ln Gamma(a);  da = g*polygamma(1, a)."""
    f = _kernel(K.digamma, "digamma")
    df = staticmethod(lambda g, a, z: g * polygamma(1, a))


class Polygamma(Function):
    """z = polygamma(n, a), the n-th derivative of digamma;  da = g*polygamma(n + 1, a)."""

    @staticmethod
    def forward(ctx, a, n):
        x = float_data(a)
        ctx.n = n
        ctx.save_for_backward(a)
        xp = _backend.array_module(x)
        with np.errstate(all="ignore"):
            if xp is not np:
                from cupyx.scipy import special

                return special.polygamma(n, x).astype(x.dtype, copy=False)
            return K.polygamma(n, x.astype(np.float64)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, a), None


# ---------------------------------------------------------------------------- public API


lgamma = _unary(Lgamma, "lgamma")
digamma = _unary(Digamma, "digamma")


def _order(n, name):
    """The derivative order n of polygamma: a non-negative int (or an integer 0-d tensor)."""
    if isinstance(n, Tensor):
        if n.numel() != 1 or n.dtype.is_floating_point:
            raise TypeError(f"{name}(): argument 'n' must be int, not a {n.dtype} tensor of shape {list(n.shape)}")
        n = n.item()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n = {n}).")
    return int(n)


@takes_out(dtype=CAST)
def polygamma(n, input):
    """The n-th derivative of the digamma function: polygamma(0, x) = digamma(x)."""
    return Polygamma.apply(input, _order(n, "polygamma"))


def _polygamma_method(self, n):
    """Tensor.polygamma(n): polygamma(n, self)."""
    return polygamma(n, self)


_polygamma_method.__name__ = "polygamma"
Tensor.polygamma = _polygamma_method


@takes_out(dtype=CAST)
@tensor_method()
def mvlgamma(input, p):
    """The log of the multivariate gamma function of dimension p:
    sum_{i<p} ln Gamma(a - i/2) + p(p-1)/4 ln pi (inf where an a - i/2 is a pole, as torch:
    torch 2.13 no longer checks a > (p-1)/2)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1 (got p = {p})")
    if input.dtype.name == "bool":
        raise RuntimeError("The input tensor may not be a boolean tensor. (mvlgamma: convert it with .float())")
    if not input.dtype.is_floating_point:
        input = input.to(_default_float())
    offsets = Tensor._make((-np.arange(p, dtype=np.float64) / 2).astype(input._data.dtype))
    total = lgamma(input.unsqueeze(-1) + offsets.to(input.device)).sum(-1)
    return total + p * (p - 1) / 4 * math.log(math.pi)


def _default_float():
    from .. import _dtype

    return _dtype.get_default_dtype()


def _register_inplace():
    for name, fn in (("lgamma", lgamma), ("digamma", digamma), ("mvlgamma", mvlgamma)):
        setattr(Tensor, name + "_", make_inplace(fn, name + "_"))
    Tensor.polygamma_ = make_inplace(_polygamma_method, "polygamma_")


_register_inplace()
