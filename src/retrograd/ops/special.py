"""Special functions (torch.special, and the top-level ops torch has for them: lgamma, digamma,
polygamma, mvlgamma, i0, sinc, igamma, igammac): the gamma family, Bessel functions, the error
and normal functions, entropy, Hurwitz zeta, the incomplete gamma functions, the orthogonal
polynomials.

Each op's forward computes in float64 with the NumPy kernels of ``_special_kernels.py`` (the
algorithms of torch's CPU kernels, so poles give torch's infinities and nans) and rounds to
the input's dtype; integer and bool inputs give the default float dtype, as in torch. Each
backward is written with these ops, so that it can be differentiated again. The functions
torch does not differentiate (Bessel J, Y, K, Airy, the polynomials) return tensors that do not
require grad, as torch's do; zeta and the incomplete gamma functions have no derivative in their
first argument (NotImplementedError, as torch).
"""

import math

import numpy as np

from . import _batching
from .. import _backend, _dtype
from ..autograd.function import Function
from ..autograd.forward_ad import diagonal_jvp, fsum, tangent_of
from ..tensor import Tensor
from . import _special_kernels as K
from ._inplace import make_inplace
from ._kernel_dtypes import check_floating_result, not_implemented_for
from ._method import tensor_method
from ._out import CAST, NONE, takes_out
from .comparison import where
from .elementwise import broadcast_op, float_data, float_operands
from .math import _UnaryFloat, _back, _load_pair, _save_pair, _unary

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "i0", "sinc", "igamma", "igammac"]


def _kernel(fn, name):
    """``fn`` (a float64 NumPy kernel) as an ``f(xp, x)`` of ``_UnaryFloat``: computed in float64,
    returned in x's dtype; on a GPU, cupyx.scipy.special's ``name``."""

    def f(xp, x):
        if xp is not np:
            from cupyx.scipy import special

            return getattr(special, name)(x)
        return fn(x.astype(np.float64)).astype(x.dtype, copy=False)

    return staticmethod(f)


def _require_tensor(name, input, arg="input"):
    """torch's TypeError for a number (or anything else) where torch.special takes a Tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"special_{name}(): argument '{arg}' (position 1) must be Tensor, not "
                        f"{type(input).__name__} (wrap the value with torch.tensor(...))")


def _refuse_half(name, array):
    """torch's NotImplementedError for float16/bfloat16, which these kernels have no version for
    (``array``: the values the kernel would compute on, integers already made float)."""
    dtype = _dtype.from_numpy_dtype(array.dtype)
    if dtype.name in ("float16", "bfloat16"):
        raise not_implemented_for(f"{name}_cpu", dtype, "convert with .float() first")


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
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

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

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, a), None


# ---------------------------------------------------------------------------- Bessel, error and normal functions

_SQRT_2PI = math.sqrt(2 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class I0(_UnaryFloat):
    """z = I0(a);  da = g*I1(a)."""
    f = _kernel(K.i0, "i0")
    df = staticmethod(lambda g, a, z: g * i1(a))


class I0e(_UnaryFloat):
    """z = exp(-|a|) I0(a);  da = g*(i1e(a) - sgn(a)*z)."""
    f = _kernel(K.i0e, "i0e")
    df = staticmethod(lambda g, a, z: g * (i1e(a) - a.sign() * i0e(a)))


def _near_zero(a):
    """|a| <= eps of a's dtype, or nan: where torch's I1/I1e derivative is its limit 1/2 at 0
    (z/a loses all digits there, and overflows for subnormal a)."""
    from .._type_info import finfo

    return ~(a.abs() > finfo(a.dtype if a.dtype.is_floating_point else None).eps)


class I1(_UnaryFloat):
    """z = I1(a);  da = g*(I0(a) - z/a), g/2 for |a| <= eps (and nan), as torch."""
    f = _kernel(K.i1, "i1")
    df = staticmethod(lambda g, a, z: g * where(_near_zero(a), 0.5, i0(a) - i1(a) / where(_near_zero(a), 1.0, a)))


class I1e(_UnaryFloat):
    """z = exp(-|a|) I1(a);  da = g*(i0e(a) - z*(sgn(a) + 1/a)), g/2 for |a| <= eps (and nan), as torch."""
    f = _kernel(K.i1e, "i1e")
    df = staticmethod(lambda g, a, z: g * where(_near_zero(a), 0.5,
                                                i0e(a) - i1e(a) * (a.sign() + 1 / where(_near_zero(a), 1.0, a))))


class Erfcx(_UnaryFloat):
    """z = exp(a^2) erfc(a);  da = g*(2 a z - 2/sqrt(pi))."""
    f = _kernel(K.erfcx, "erfcx")
    df = staticmethod(lambda g, a, z: g * (2 * a * erfcx(a) - _TWO_OVER_SQRT_PI))


class Ndtr(_UnaryFloat):
    """z = (1 + erf(a/sqrt 2))/2, the standard normal CDF;  da = g*exp(-a^2/2)/sqrt(2 pi)."""
    f = _kernel(K.ndtr, "ndtr")
    df = staticmethod(lambda g, a, z: g * (-(a * a) / 2).exp() / _SQRT_2PI)


class Ndtri(_UnaryFloat):
    """z = ndtr^-1(a);  da = g*sqrt(2 pi)*exp(z^2/2)."""
    saves = "z"
    f = _kernel(K.ndtri, "ndtri")
    df = staticmethod(lambda g, a, z: g * _SQRT_2PI * (z * z / 2).exp())


class LogNdtr(_UnaryFloat):
    """z = ln ndtr(a);  da = g*exp(-a^2/2 - z)/sqrt(2 pi)."""
    f = _kernel(K.log_ndtr, "log_ndtr")
    df = staticmethod(lambda g, a, z: g * (-(a * a) / 2 - log_ndtr(a)).exp() / _SQRT_2PI)


class Entr(_UnaryFloat):
    """z = -a ln a (0 at 0, -inf below 0);  da = -g*(1 + ln a)."""
    f = staticmethod(lambda xp, x: xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1)),
                                            xp.where(x == 0, 0, xp.where(x < 0, -xp.inf, x))).astype(x.dtype))
    df = staticmethod(lambda g, a, z: -g * (1 + a.log()))


class Sinc(_UnaryFloat):
    """z = sin(pi a)/(pi a), 1 at 0;  da = g*(cos(pi a) - z)/a, 0 at a = 0."""
    f = staticmethod(lambda xp, x: xp.sinc(x))
    df = staticmethod(lambda g, a, z: g * where(a == 0, 0.0, ((math.pi * a).cos() - sinc(a)) / where(a == 0, 1.0, a)))


# ---------------------------------------------------------------------------- binary ops


class _Binary(Function):
    """Base of the elementwise functions of two operands (tensors or numbers, broadcast, integers
    promoted to the default float): ``f(x, y)`` on float64 arrays (``gpu``: the name of
    cupyx.scipy.special's function for CuPy arrays); subclasses' backward."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    gpu = None

    @staticmethod
    def f(x, y):
        raise NotImplementedError("each op subclass defines f (abstract base)")

    @classmethod
    def forward(cls, ctx, a, b):
        x, y = float_operands(a, b)
        _save_pair(ctx, a, b)
        xp = np if not hasattr(x, "dtype") and not hasattr(y, "dtype") else _backend.array_module(
            x if hasattr(x, "dtype") else y)
        dt = (x if hasattr(x, "dtype") else y).dtype
        if xp is not np:  # on a GPU: cupyx.scipy.special's function of the same name
            from cupyx.scipy import special

            return broadcast_op(getattr(special, cls.gpu), x, y, a, b).astype(dt, copy=False)
        with np.errstate(all="ignore"):
            out = broadcast_op(lambda u, v: cls.f(xp.asarray(u, np.float64), xp.asarray(v, np.float64)), x, y, a, b)
        return out.astype(dt, copy=False)


class Xlog1py(_Binary):
    """z = a*ln(1 + b), 0 where a = 0 (unless b is nan);  da = g*ln(1 + b) (0 where a = 0 and b <= -1),
    db = g*a/(1 + b)."""

    gpu = "xlog1py"

    @staticmethod
    def f(x, y):
        return np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log1p(y))

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = ta*ln(1 + b) (0 where a = 0 and b <= -1) + tb*a/(1 + b)."""
        a, b = ctx._fw_args
        da = db = None
        if ta is not None:
            da = xlog1py(ta, b)
            da = where((a == 0) & (b <= -1), 0.0, da) if isinstance(b, Tensor) or b <= -1 else da
        if tb is not None:
            db = tb * a / (b + 1)
        return fsum(da, db)

    @staticmethod
    def backward(ctx, g):
        a, b = _load_pair(ctx)
        sa, sb = ctx.shapes
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = xlog1py(g, b)
            ga = _back(where((a == 0) & (b <= -1), 0.0, ga) if isinstance(b, Tensor) or b <= -1 else ga, sa)
        if ctx.needs_input_grad[1]:
            gb = _back(g * a / (b + 1), sb)
        return ga, gb


class Zeta(_Binary):
    """z = zeta(a, b) = sum_k (k + b)^-a (Hurwitz);  db = -g*a*zeta(a + 1, b); no derivative in a
    (as torch)."""

    f = staticmethod(K.zeta)
    gpu = "zeta"

    @staticmethod
    def jvp(ctx, ta, tb):
        """dz = -tb*a*zeta(a + 1, b); no derivative in a (as torch)."""
        a, b = ctx._fw_args
        if isinstance(a, Tensor) and tangent_of(a) is not None:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        return None if tb is None else -tb * a * zeta(a + 1, b)

    @staticmethod
    def backward(ctx, g):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        a, b = _load_pair(ctx)
        return None, _back(-g * a * zeta(a + 1, b), ctx.shapes[1])


def _gamma_density(a, b):
    """d/db P(a, b) = b^(a-1) e^-b / Gamma(a) (a and b tensors or numbers)."""
    as_tensor = lambda v: v if isinstance(v, Tensor) else Tensor._make(np.asarray(float(v)))  # noqa: E731
    return ((a - 1) * as_tensor(b).log() - b - lgamma(as_tensor(a))).exp()


class Igamma(_Binary):
    """z = P(a, b), the regularized lower incomplete gamma function (series or continued fraction);
    db = g*exp((a - 1) ln b - b - lgamma(a)); no derivative in a (as torch)."""

    f = staticmethod(lambda x, y: K.incomplete_gamma(x, y, upper=False))
    sign = 1
    gpu = "gammainc"

    @classmethod
    def jvp(cls, ctx, ta, tb):
        """dz = sign*tb*exp((a - 1) ln b - b - lgamma(a)); no derivative in a (as torch)."""
        a, b = ctx._fw_args
        if isinstance(a, Tensor) and tangent_of(a) is not None:
            raise NotImplementedError(f"the derivative for '{cls.__name__.lower()}: input' is not implemented.")
        if tb is None:
            return None
        density = _gamma_density(a, b)
        return cls.sign * tb * density

    @classmethod
    def backward(cls, ctx, g):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{cls.__name__.lower()}: input' is not implemented.")
        a, b = _load_pair(ctx)
        density = _gamma_density(a, b)
        return None, _back(cls.sign * g * density, ctx.shapes[1])


class Igammac(Igamma):
    """z = Q(a, b) = 1 - P(a, b), the regularized upper incomplete gamma function;
    db = -g*exp((a - 1) ln b - b - lgamma(a)); no derivative in a (as torch)."""

    f = staticmethod(lambda x, y: K.incomplete_gamma(x, y, upper=True))
    sign = -1
    gpu = "gammaincc"


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


def _special(cls, name, half=True):
    """torch.special's function for the unary op ``cls`` (no Tensor method, as in torch);
    ``half=False``: float16/bfloat16 raise, as torch's kernel has no version for them."""

    def fn(input):
        _require_tensor(name, input)
        if not half:
            _refuse_half(name, input._data)
        return cls.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = cls.__doc__
    return takes_out(fn, dtype=CAST)


i0 = _unary(I0, "i0")
sinc = _unary(Sinc, "sinc")
i0e = _special(I0e, "i0e")
i1 = _special(I1, "i1")
i1e = _special(I1e, "i1e")
erfcx = _special(Erfcx, "erfcx", half=False)
ndtr = _special(Ndtr, "ndtr")
ndtri = _special(Ndtri, "ndtri", half=False)
log_ndtr = _special(LogNdtr, "log_ndtr", half=False)
entr = _special(Entr, "entr")


@takes_out(dtype=CAST)
def xlog1py(input, other):
    """input * log1p(other), 0 where input is 0 (either may be a Python number)."""
    _require_pair("xlog1py", input, other)
    return Xlog1py.apply(input, other)


@takes_out(dtype=CAST)
def zeta(input, other):
    """The Hurwitz zeta function sum_k (k + other)^-input (either may be a Python number)."""
    _require_pair("zeta", input, other)
    _refuse_half("zeta", float_operands(input, other)[0 if isinstance(input, Tensor) else 1])
    return Zeta.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def igamma(input, other):
    """The regularized lower incomplete gamma function P(input, other)."""
    _require_tensors("igamma", input, other)
    check_floating_result("igamma_cpu", input, other)
    return Igamma.apply(input, other)


@takes_out(dtype=CAST)
@tensor_method()
def igammac(input, other):
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other)."""
    _require_tensors("igammac", input, other)
    check_floating_result("igammac_cpu", input, other)
    return Igammac.apply(input, other)


def _require_pair(name, input, other):
    """torch's TypeError when neither operand is a Tensor."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"special_{name}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}): input, other or both must be Tensors")


def _require_tensors(name, *operands):
    for position, (arg, value) in enumerate(zip(("input", "other"), operands), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not "
                            f"{type(value).__name__}")


# ---------------------------------------------------------------------------- without a derivative (as in torch)


def _on_host(kernel, *arrays):
    """``kernel`` (float64 NumPy) on ``arrays``, in the first array's dtype and on its device
    (a CuPy array's values go through the host: these kernels have no GPU version)."""
    first = next(a for a in arrays if hasattr(a, "dtype"))
    dev = _backend.device_of(first)
    host = [np.asarray(_backend.to_device(a, "cpu") if hasattr(a, "dtype") else a, np.float64) for a in arrays]
    with np.errstate(all="ignore"):
        out = np.asarray(kernel(*host)).astype(first.dtype, copy=False)
    return _backend.to_device(out, dev)


def _not_differentiable(name, kernel):
    """torch.special's ``name`` computed by the float64 NumPy ``kernel``; as in torch, its result
    does not require grad."""

    def fn(input):
        _require_tensor(name, input, "x" if name in ("airy_ai", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1")
                        else "input")
        x = float_data(input)
        _refuse_half(name, x)
        return Tensor._make(_on_host(kernel, x))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{kernel.__doc__.splitlines()[0]} Not differentiable (as torch)."
    return takes_out(fn, dtype=CAST, grad=NONE)


modified_bessel_i0 = _not_differentiable("modified_bessel_i0", K.i0)
modified_bessel_i1 = _not_differentiable("modified_bessel_i1", K.i1)
globals().update({name: _not_differentiable(name, getattr(K, name)) for name in (
    "spherical_bessel_j0", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0",
    "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai")})


def _polynomial_function(name):
    """torch.special.<name>(input, n): the polynomial of degree n (truncated to an integer; 0 for
    n < 0) at input, either a number; not differentiable (as torch)."""

    def fn(input, n):
        if not isinstance(input, Tensor) and not isinstance(n, Tensor):
            raise TypeError(f"special_{name}() received an invalid combination of arguments - got "
                            f"({type(input).__name__}, {type(n).__name__}): input, n or both must be Tensors")
        x, degree = float_operands(input, n)
        _refuse_half(name, x if isinstance(input, Tensor) else degree)
        return Tensor._make(broadcast_op(lambda u, v: _on_host(lambda a, b: K.polynomial(name, a, b), u, v),
                                         x, degree, input, n))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.special.{name}(input, n): {K.polynomial.__doc__.splitlines()[0]} Not differentiable."
    return takes_out(fn, dtype=CAST, grad=NONE)


globals().update({name: _polynomial_function(name) for name in K.POLYNOMIALS})


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
    if isinstance(p, Tensor) and p.dim() == 0 and not p.dtype.is_floating_point and p.dtype.name != "bool":
        p = p.item()  # a 0-dim integer tensor is an int, as torch's parser takes it
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1 (got p = {p})")
    if input.dtype.name == "bool":
        raise RuntimeError("The input tensor may not be a boolean tensor. (mvlgamma: convert it with .float())")
    if not input.dtype.is_floating_point:
        input = input.to(_dtype.get_default_dtype())
    # 0, -1/2, ..., -(p-1)/2 (+0., not -0.: at x = -0. the first term is lgamma(+0.), as torch's)
    offsets = Tensor._make((-np.arange(p, dtype=np.float64) / 2 + 0.0).astype(input._data.dtype))
    total = lgamma(input.unsqueeze(-1) + offsets.to(input.device)).sum(-1)
    return total + p * (p - 1) / 4 * math.log(math.pi)


def _register_inplace():
    for name, fn in (("lgamma", lgamma), ("digamma", digamma), ("mvlgamma", mvlgamma), ("i0", i0), ("sinc", sinc),
                     ("igamma", igamma), ("igammac", igammac)):
        setattr(Tensor, name + "_", make_inplace(fn, name + "_"))
    Tensor.polygamma_ = make_inplace(_polygamma_method, "polygamma_")


_register_inplace()
