"""Activation functions, each forward beside its derivative, with torch's gradient at the
kinks (hardtanh/relu6 pass no gradient at their bounds, leaky_relu and elu use their
negative branch at 0, and so on).

``__all__`` holds the names torch has at top level (selu, celu, threshold, prelu, ...);
``FUNCTIONAL`` the ones ``torch.nn.functional`` has, which nn/functional.py re-exports.
Arguments named ``inplace`` write the result into the input, as torch does.
"""

import math

import numpy as np

from . import _batching, _cuda_kernels
from ..amp.autocast_mode import autocast_op
from .. import _backend
from ..autograd.function import Function
from ..autograd.forward_ad import diagonal_jvp
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor
from ._kernel_dtypes import check_floating, check_not_bool, opmath, opmath_tensors, rounded, rounded_tensor
from ._inplace import inplace as _inplace_op
from ._method import tensor_method
from .comparison import where
from .elementwise import float_data, relu as _relu, sigmoid, sigmoid_array, tanh
from .math import _erf_array, erf

__all__ = ["selu", "selu_", "celu", "celu_", "threshold", "threshold_", "prelu", "rrelu", "rrelu_",
           "hardshrink", "relu_"]

FUNCTIONAL = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_",
              "celu", "celu_", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "hardtanh_",
              "hardsigmoid", "hardswish", "logsigmoid", "threshold", "threshold_", "prelu", "rrelu",
              "rrelu_", "glu", "hardshrink", "softshrink", "tanhshrink"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Hardtanh(Function):
    """z = clamp(a, lo, hi);  da = g where lo < a < hi (0 at the bounds, as torch)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(a)
        x = a._data
        return _backend.array_module(x).clip(x, lo, hi).astype(x.dtype, copy=False)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where((a > ctx.lo) & (a < ctx.hi), g, 0.0), None, None


class LeakyRelu(Function):
    """z = a if a > 0 else slope*a;  da = g if a > 0 else slope*g."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, slope):
        check_floating("leaky_relu", a)
        ctx.slope = slope
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        return rounded(_backend.array_module(x).where(x > 0, x, x * x.dtype.type(slope)), half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where(a > 0, g, g * ctx.slope), None


class Elu(Function):
    """z = scale*alpha*(e^(a*s) - 1) if a <= 0 else scale*a, s = input_scale;
    da = g*scale*alpha*s*e^(a*s) if a <= 0 else scale*g (the negative branch at 0, as torch)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, alpha, scale, input_scale):
        check_floating("elu", a)
        ctx.params = (alpha, scale, input_scale)
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        xp = _backend.array_module(x)
        with np.errstate(over="ignore"):
            neg = alpha * xp.expm1(x * x.dtype.type(input_scale))
        return rounded((xp.where(x <= 0, neg, x) * x.dtype.type(scale)).astype(x.dtype, copy=False), half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a, g), half = opmath_tensors(*ctx.saved_tensors, g)  # (half: in float32, rounded once, as torch)
        alpha, scale, s = ctx.params
        neg = g * s * (scale * alpha) * (where(a <= 0, a, 0.0) * s).exp()
        return rounded_tensor(where(a <= 0, neg, g * scale), half), None, None, None


class Gelu(Function):
    """z = a*Phi(a), Phi the standard normal cdf ('tanh': 0.5a(1 + tanh(k(a + 0.044715a^3))));
    da = g*(Phi(a) + a*phi(a)), phi the normal pdf (the tanh form's derivative for 'tanh')."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, approximate):
        check_floating("GeluKernelImpl", a)
        ctx.approximate = approximate
        x = a._data
        if type(x) is not np.ndarray and _cuda_kernels.fits(x):  # CUDA: one fused kernel each way
            ctx.save_for_backward(a, None)
            return _cuda_kernels.gelu_forward(x, approximate)
        xp = _backend.array_module(x)
        x, half = opmath(x)
        if approximate == "tanh":
            ctx.save_for_backward(a)
            inner = x.dtype.type(_SQRT_2_OVER_PI) * (x + x.dtype.type(0.044715) * x * x * x)
            out = x.dtype.type(0.5) * x * (1 + _tanh_opmath(xp, inner, half))
        else:
            out, d = _gelu_erf(x, ctx.needs_input_grad[0])
            if d is not None:  # (float32 for a half input: the plain backward rounds g*d once)
                ctx.save_for_backward(a, Tensor._make(d))
        return rounded(out, half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        a, d = saved[0], saved[-1]  # d: Phi + a*phi (CPU erf form), None from CUDA, else a again
        if d is None and not _grad_state.enabled:  # saved by the CUDA forward: the fused kernel
            return Tensor._make(_cuda_kernels.gelu_backward(a._data, g._data, ctx.approximate)), None
        if ctx.approximate == "tanh":
            (a, g), half = opmath_tensors(a, g)  # (half: in float32, rounded once, as torch)
            a2 = a * a
            inner = _SQRT_2_OVER_PI * (a + 0.044715 * (a2 * a))
            t = tanh(inner) if half is None else tanh(inner.double()).float()  # (as _tanh_opmath)
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a2)
            return rounded_tensor(g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * d_inner), half), None
        if d is not None and not _grad_state.enabled:  # plain backward: g times the derivative saved by forward
            gd = g._data
            return Tensor._make((gd * d._data).astype(gd.dtype, copy=False)), None
        (a, g), half = opmath_tensors(a, g)  # (half: in float32, rounded once, as torch)
        cdf = 0.5 * (1 + erf(a * _INV_SQRT_2))
        pdf = _INV_SQRT_2PI * (-0.5 * a * a).exp()
        return rounded_tensor(g * (cdf + a * pdf), half), None


def _tanh_opmath(xp, inner, half):
    """tanh of the float32 ``inner`` of a half-precision GELU, correctly rounded (through float64) as
    torch's vectorized tanh nearly always is: NumPy's float32 tanh is an ulp off in ~30% of elements,
    which 1 + tanh magnifies where tanh is near -1 (x < -3: 35% of float16 results differed, now 3%)."""
    if half is None:
        return xp.tanh(inner)
    return xp.tanh(inner.astype(np.float64)).astype(np.float32)


# Abramowitz & Stegun 7.1.26: erfc(z) = t P(t) e^(-z^2), t = 1/(1 + p z), z >= 0; |error| < 1.5e-7
_ERFC_P = 0.3275911
_ERFC_COEFFS = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
# with z = |x|/sqrt 2: Phi(-|x|) = erfc(z)/2 = (sqrt(2 pi)/2) t P(t) phi(x), phi the normal pdf
_PHI_COEFFS = tuple(-0.5 * math.sqrt(2 * math.pi) * c for c in _ERFC_COEFFS)  # -Phi(-|x|)/phi(x)
_LOG_INV_SQRT_2PI = math.log(_INV_SQRT_2PI)
_INV_K = math.sqrt(2.0) / _ERFC_P
_SIGN_BIT = np.int32(-2**31)


def _normal_cdf_pdf(x):
    """(Phi(x), phi(x)): the standard normal cdf and pdf of an array by erf and exp (the float32
    NumPy arrays that GELU meets take _normal_cdf_pdf_float32 instead)."""
    f = x.dtype.type
    xp = _backend.array_module(x)  # (asarray: 0-dim results stay arrays)
    return (xp.asarray(f(0.5) * (1 + _erf_array(x * f(_INV_SQRT_2)))),
            xp.asarray(f(_INV_SQRT_2PI) * xp.exp(f(-0.5) * x * x)))


def _normal_cdf_pdf_float32(x, a, t, p):
    """(Phi(x), phi(x)) of a float32 NumPy array, by the rational erfc form above in ~20 in-place
    passes over three buffers of x's shape (4x faster than scipy's erf, and the pdf comes for
    free): a is scratch, the pdf is written into t and the cdf into p (GELU's absolute error is
    < 5e-7, below torch's own float32 gelu: 1.1e-6, where 1 + erf cancels)."""
    f = np.float32
    np.abs(x, out=a)
    np.add(a, f(_INV_K), out=t)
    np.divide(f(_INV_K), t, out=t)  # t = 1/(1 + k|x|) = (1/k)/(1/k + |x|), k = p/sqrt 2
    np.multiply(t, f(_PHI_COEFFS[-1]), out=p)
    for c in _PHI_COEFFS[-2::-1]:  # Horner: p = -(sqrt(2 pi)/2) t P(t)
        p += f(c)
        p *= t
    pdf = np.multiply(a, a, out=t)
    pdf *= f(-0.5)
    pdf += f(_LOG_INV_SQRT_2PI)
    np.exp(pdf, out=pdf)  # phi(x) = e^(-x^2/2 - log sqrt(2 pi))
    p *= pdf
    p += f(0.5)  # p = 1/2 - Phi(-|x|) = Phi(|x|) - 1/2 >= 0
    # Phi(x) - 1/2 takes the sign of x: copy x's sign bit (np.copysign and np.where are slower)
    sign = np.bitwise_and(x.view(np.int32), _SIGN_BIT, out=a.view(np.int32))
    np.bitwise_or(p.view(np.int32), sign, out=p.view(np.int32))
    p += f(0.5)
    return p, pdf


# elements per piece of _gelu_erf's NumPy float32 loop: its ~20 passes' operands (256 KiB each)
# then stay in the core's L2 cache instead of going to memory each pass (1M floats: 6.1 -> 3.6 ms)
_GELU_PIECE = 1 << 16


def _gelu_erf(x, need_d):
    """(x*Phi(x), Phi(x) + x*phi(x) when need_d else None): the erf GELU and its derivative.
    A float32 NumPy array goes through in L2-sized pieces (the same operations on every element:
    the same bits as in one piece), each piece's passes in the output's (and the derivative's)
    own piece and one piece of scratch reused by all pieces: four arrays' pieces in cache rather
    than six (1M floats with the derivative: 4.3 -> 3.9 ms, cache-warm)."""
    if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim == 0:
        cdf, pdf = _normal_cdf_pdf(x)
        xp = _backend.array_module(x)
        with np.errstate(invalid="ignore"):
            out = xp.multiply(x, cdf)
            d = None
            if need_d:  # the local derivative Phi + a*phi, while both are at hand
                d = xp.multiply(x, pdf, out=pdf)
                d += cdf
        return out, d
    out = np.empty_like(x)
    d = np.empty_like(x) if need_d else None
    if x.size <= _GELU_PIECE or not x.flags.c_contiguous:
        _gelu_erf_float32(x, out, d if need_d else np.empty_like(x), np.empty_like(x), need_d)
        return out, d
    xf, of = x.reshape(-1), out.reshape(-1)
    tf = d.reshape(-1) if need_d else np.empty(_GELU_PIECE, np.float32)
    p = np.empty(_GELU_PIECE, np.float32)
    for s in range(0, xf.size, _GELU_PIECE):
        e = min(s + _GELU_PIECE, xf.size)
        _gelu_erf_float32(xf[s:e], of[s:e], tf[s:e] if need_d else tf[:e - s], p[:e - s], need_d)
    return out, d


def _gelu_erf_float32(x, out, t, p, need_d):
    """out = x*Phi(x) and, when need_d, t = Phi(x) + x*phi(x) (t is scratch otherwise), p scratch:
    float32 NumPy arrays of one shape."""
    with np.errstate(invalid="ignore"):
        cdf, pdf = _normal_cdf_pdf_float32(x, out, t, p)  # (out: scratch until the last pass)
        np.multiply(x, cdf, out=out)
        if need_d:  # the local derivative Phi + a*phi, while both are at hand
            d = np.multiply(x, pdf, out=pdf)
            d += cdf


class Silu(Function):
    """z = a*s, s = sigmoid(a);  da = g*s*(1 + a*(1 - s))."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        check_floating("silu", a)
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        return rounded(x * sigmoid_array(x), half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a, g), half = opmath_tensors(*ctx.saved_tensors, g)  # (half: in float32, rounded once, as torch)
        s = sigmoid(a)
        return rounded_tensor(g * s * (1 + a * (1 - s)), half)


def _softplus_array(x, beta, threshold):
    xp = _backend.array_module(x)
    bx = x * x.dtype.type(beta)
    with np.errstate(all="ignore"):
        soft = xp.logaddexp(x.dtype.type(0), bx) / x.dtype.type(beta)
    return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)


class Mish(Function):
    """z = a*tanh(softplus(a));  da = g*(t + a*sigmoid(a)*(1 - t^2)), t = tanh(softplus(a))."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        check_floating("mish", a)
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        return rounded(x * _backend.array_module(x).tanh(_softplus_array(x, 1.0, 20.0)), half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a, g), half = opmath_tensors(*ctx.saved_tensors, g)  # (half: in float32, rounded once, as torch)
        t = tanh(softplus(a))
        return rounded_tensor(g * (t + a * sigmoid(a) * (1 - t * t)), half)


class Softplus(Function):
    """z = ln(1 + e^(beta*a))/beta, or a where beta*a > threshold;
    da = g*sigmoid(beta*a), or g where beta*a > threshold."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)
    _autocast = {"cuda": "fp32"}

    @staticmethod
    def forward(ctx, a, beta, threshold):
        check_floating("softplus", a)
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        return rounded(_softplus_array(x, beta, threshold), half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a, g), half = opmath_tensors(*ctx.saved_tensors, g)  # (half: in float32, rounded once, as torch)
        ba = a * ctx.beta
        return rounded_tensor(where(ba > ctx.threshold, g, g * sigmoid(ba)), half), None, None


class Softsign(Function):
    """z = a/(1 + |a|);  da = g/d - g*(a/d/d)*sign(a) = g/d^2, d = 1 + |a| (torch's composite a/(|a| + 1)
    differentiated: its roundings; g/(d*d) differed from torch's in 68% of float32 elements)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x = float_data(a)
        return x / (1 + _backend.array_module(x).abs(x))

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        d = 1 + a.abs()
        return g / d + (-g * (a / d / d)) * a.sign()


class Hardsigmoid(Function):
    """z = clamp(a + 3, 0, 6)/6;  da = g/6 where -3 < a < 3, else 0."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        check_floating("hardsigmoid", a)
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        six = x.dtype.type(6)  # clamp(a + 3, 0, 6)/6: torch's roundings (a/6 + 1/2 differs in 25% of float32 elements)
        return rounded((_backend.array_module(x).clip(x + x.dtype.type(3), 0, six) / six).astype(x.dtype, copy=False),
                       half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where((a > -3) & (a < 3), g / 6, 0.0)


class Hardswish(Function):
    """z = a*relu6(a + 3)/6;  da = 0 where a <= -3, g*(a/3 + 1/2) where a < 3, else g."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        check_floating("hardswish", a)
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        six = x.dtype.type(6)
        return rounded((x * _backend.array_module(x).clip(x + x.dtype.type(3), 0, six) / six).astype(x.dtype, copy=False),
                         half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a, g), half = opmath_tensors(*ctx.saved_tensors, g)  # (half: in float32, rounded once, as torch)
        return rounded_tensor(where(a <= -3, 0.0, where(a < 3, g * (a / 3 + 0.5), g)), half)


class Logsigmoid(Function):
    """z = ln sigmoid(a) = min(a, 0) - ln(1 + e^-|a|);  da = g*sigmoid(-a) = g*(1 - r) where a < 0, else g*r,
    r = e^-|a|/(1 + e^-|a|)."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a):
        check_floating("log_sigmoid_forward", a)
        ctx.save_for_backward(a)
        x, half = opmath(a._data)
        xp = _backend.array_module(x)
        return rounded(xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x))), half)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        e = (-a.abs()).exp()  # in a's dtype: torch keeps e^-|a| from the forward, a half one in half
        (a, g, e), half = opmath_tensors(a, g, e)  # (half: in float32, rounded once, as torch)
        r = e / (1 + e)  # sigmoid(-|a|), in torch's form (its log_sigmoid_backward's roundings)
        return rounded_tensor(g * where(a < 0, 1 - r, r), half)


class Threshold(Function):
    """z = value if a <= threshold else a;  da = 0 where a <= threshold, else g."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, threshold, value):
        ctx.threshold = threshold
        ctx.save_for_backward(a)
        x = a._data
        xp = _backend.array_module(x)
        return xp.where(x <= threshold, _backend.cast(xp.asarray(value), x.dtype), x)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where(a <= ctx.threshold, 0.0, g), None, None


class Hardshrink(Function):
    """z = a where |a| > lambd, else 0;  da = g where |a| > lambd."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, lambd):
        ctx.lambd = lambd
        ctx.save_for_backward(a)
        x = a._data
        xp = _backend.array_module(x)
        return xp.where((x >= -lambd) & (x <= lambd), xp.zeros((), x.dtype), x)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where((a >= -ctx.lambd) & (a <= ctx.lambd), 0.0, g), None


class Softshrink(Function):
    """z = a - lambd if a > lambd, a + lambd if a < -lambd, else 0;  da = g where |a| > lambd."""
    vmap = classmethod(_batching.elementwise)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, a, lambd):
        check_floating("softshrink", a)
        ctx.lambd = lambd
        ctx.save_for_backward(a)
        x = a._data
        xp = _backend.array_module(x)
        lam = x.dtype.type(lambd)
        return xp.where((x >= -lam) & (x <= lam), xp.zeros((), x.dtype), x - xp.sign(x) * lam)

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where((a >= -ctx.lambd) & (a <= ctx.lambd), 0.0, g), None


class RreluWithNoise(Function):
    """z = a if a >= 0 else r*a, r drawn uniformly from [lower, upper] per element;
    da = g if a >= 0 else r*g."""

    vmap = classmethod(_batching.random_draws)  # batching rule (retrograd.func.vmap's randomness modes)

    @staticmethod
    def forward(ctx, a, lower, upper, generator):
        from ..random import _rng

        x = a._data
        r = _backend.cast(_rng(generator, a).uniform(lower, upper, size=x.shape), x.dtype)
        if _backend.device_of(x).type != "cpu":
            r = _backend.to_device(r, _backend.device_of(x))
        xp = _backend.array_module(x)
        slopes = Tensor._make(xp.where(x >= 0, xp.ones((), x.dtype), r))
        ctx.save_for_backward(slopes)
        return x * slopes._data

    jvp = staticmethod(diagonal_jvp)  # elementwise: J v = Jᵀ v

    @staticmethod
    def backward(ctx, g):
        (slopes,) = ctx.saved_tensors
        return g * slopes, None, None, None


# ---------------------------------------------------------------------------- public API


def _maybe_inplace(input, inplace, name, fn, *args):
    """fn(input, *args), written into ``input`` when ``inplace`` (as torch's inplace=True)."""
    if inplace:
        return _inplace_op(input, name, fn, *args)
    return fn(input, *args)


def relu(input, inplace=False):
    """max(a, 0) (nn.functional's form, with ``inplace``)."""
    return _maybe_inplace(input, inplace, "relu_", _relu)


def relu_(input):
    """In-place relu: input = max(0, input)."""
    return _inplace_op(input, "relu_", _relu)


def _hardtanh(input, min_val, max_val):
    return Hardtanh.apply(input, min_val, max_val)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(a, min_val, max_val); zero gradient at and beyond the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.dtype.name == "bool":
        raise RuntimeError("Bool inputs not supported for hardtanh (convert with .float() first)")
    return _maybe_inplace(input, inplace, "hardtanh_", _hardtanh, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place hardtanh: input = min(max(input, min_val), max_val)."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(a, 0), 6) (hardtanh(a, 0, 6))."""
    return _maybe_inplace(input, inplace, "relu6_", _hardtanh, 0.0, 6.0)


def _leaky_relu(input, negative_slope):
    return LeakyRelu.apply(input, negative_slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """a if a > 0 else negative_slope*a."""
    return _maybe_inplace(input, inplace, "leaky_relu_", _leaky_relu, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    """In-place leaky_relu: input = input if input > 0 else negative_slope*input."""
    return leaky_relu(input, negative_slope, inplace=True)


def _elu(input, alpha, scale=1.0, input_scale=1.0):
    return Elu.apply(input, alpha, scale, input_scale)


def elu(input, alpha=1.0, inplace=False):
    """a if a > 0 else alpha*(e^a - 1)."""
    return _maybe_inplace(input, inplace, "elu_", _elu, alpha)


def elu_(input, alpha=1.0):
    """In-place elu: input = input if input > 0 else alpha*(e^input - 1)."""
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale*elu(a, alpha) with the self-normalizing constants."""
    return _maybe_inplace(input, inplace, "selu_", _elu, _SELU_ALPHA, _SELU_SCALE)


def selu_(input):
    """In-place selu: input = scale*elu(input, alpha) with the self-normalizing constants."""
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """max(0, a) + min(0, alpha*(e^(a/alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu's alpha must not be 0")
    return _maybe_inplace(input, inplace, "celu_", _elu, alpha, 1.0, 1.0 / alpha)


def celu_(input, alpha=1.0):
    """In-place celu: input = max(0, input) + min(0, alpha*(e^(input/alpha) - 1))."""
    return celu(input, alpha, inplace=True)


def gelu(input, approximate="none"):
    """a*Phi(a) (exact, with erf) or its tanh approximation (approximate='tanh')."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh (got {approximate!r})")
    return Gelu.apply(input, approximate)


def _silu(input):
    return Silu.apply(input)


def silu(input, inplace=False):
    """a*sigmoid(a) (swish)."""
    return _maybe_inplace(input, inplace, "silu_", _silu)


def _mish(input):
    return Mish.apply(input)


def mish(input, inplace=False):
    """a*tanh(softplus(a))."""
    return _maybe_inplace(input, inplace, "mish_", _mish)


def softplus(input, beta=1.0, threshold=20.0):
    """ln(1 + e^(beta*a))/beta, linear where beta*a > threshold."""
    return Softplus.apply(input, beta, threshold)


def softsign(input):
    """a/(1 + |a|)."""
    check_not_bool("abs_cpu", input)
    return Softsign.apply(input)


def _hardsigmoid(input):
    return Hardsigmoid.apply(input)


def hardsigmoid(input, inplace=False):
    """clamp(a/6 + 1/2, 0, 1)."""
    return _maybe_inplace(input, inplace, "hardsigmoid_", _hardsigmoid)


def _hardswish(input):
    return Hardswish.apply(input)


def hardswish(input, inplace=False):
    """a*relu6(a + 3)/6."""
    return _maybe_inplace(input, inplace, "hardswish_", _hardswish)


def logsigmoid(input):
    """ln(sigmoid(a)), stable for large |a|."""
    return Logsigmoid.apply(input)


def _threshold(input, threshold, value):
    return Threshold.apply(input, threshold, value)


def threshold(input, threshold, value, inplace=False):
    """a where a > threshold, else value."""
    return _maybe_inplace(input, inplace, "threshold_", _threshold, threshold, value)


def threshold_(input, threshold, value):
    """In-place threshold: input = input if input > threshold else value."""
    return _inplace_op(input, "threshold_", _threshold, threshold, value)


@tensor_method()
@autocast_op("lower")
def prelu(input, weight):
    """a if a > 0 else w*a, with one learnable slope per channel (dim 1) or one shared."""
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() not in (1, channels):
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    w = weight
    if input.ndim >= 2 and weight.numel() > 1:
        w = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1 and input.ndim == 0:
        w = weight.reshape(())
    return where(input > 0, input, w * input)


def _rrelu(input, lower, upper, training, generator=None):
    if training:
        return RreluWithNoise.apply(input, lower, upper, generator)
    return LeakyRelu.apply(input, (lower + upper) / 2)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky relu: negative slopes drawn from U(lower, upper) when training,
    (lower + upper)/2 otherwise."""
    return _maybe_inplace(input, inplace, "rrelu_", _rrelu, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place rrelu: leaky_relu with slopes drawn from U(lower, upper) when training, else (lower + upper)/2."""
    return rrelu(input, lower, upper, training, inplace=True)


def glu(input, dim=-1):
    """a*sigmoid(b), where a and b are the two halves of ``input`` along ``dim``."""
    check_floating("glu_cpu", input)
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.ndim if -input.ndim <= dim < input.ndim else dim
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.narrow(d, 0, n // 2), input.narrow(d, n // 2, n // 2)
    return a * sigmoid(b)


@tensor_method()
def hardshrink(input, lambd=0.5):
    """a where |a| > lambd, else 0."""
    check_floating("hardshrink_cpu", input)
    return Hardshrink.apply(input, lambd)


def softshrink(input, lambd=0.5):
    """a - lambd*sign(a) where |a| > lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return Softshrink.apply(input, lambd)


def tanhshrink(input):
    """a - tanh(a)."""
    return input - tanh(input)

