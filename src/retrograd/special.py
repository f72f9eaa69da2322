"""torch.special: special functions with torch's names (``retrograd.special.gammaln(x)``).

The functions live in ``ops/special.py`` and, where torch.special repeats a top-level op (erf,
expit, logsumexp, softmax, ...), in that op's module; this module gives them torch.special's
names and signatures. All are computed here in NumPy, with no SciPy (erf, erfc and erfinv, in
ops/math.py, use SciPy when it is installed, else the C library's erf and Newton's method)."""

from .ops.elementwise import sigmoid as expit
from .tensor import Tensor
from .ops._kernel_dtypes import not_implemented_for
from .ops.math import erf, erfc, erfinv, exp2, expm1, log1p, logit, round as _round, xlogy
from .ops.reduction import logsumexp
from .ops.softmax import log_softmax as _log_softmax, softmax as _softmax
from .ops.special import (  # noqa: F401
    airy_ai, bessel_j0, bessel_j1, bessel_y0, bessel_y1, chebyshev_polynomial_t, chebyshev_polynomial_u,
    chebyshev_polynomial_v, chebyshev_polynomial_w, digamma, entr, erfcx, hermite_polynomial_h, hermite_polynomial_he,
    i0, i0e, i1, i1e, igamma as gammainc, igammac as gammaincc, laguerre_polynomial_l, legendre_polynomial_p,
    lgamma as gammaln, log_ndtr, modified_bessel_i0, modified_bessel_i1, modified_bessel_k0, modified_bessel_k1,
    mvlgamma as _mvlgamma, ndtr, ndtri, polygamma, scaled_modified_bessel_k0, scaled_modified_bessel_k1,
    shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w, sinc, spherical_bessel_j0, xlog1py, zeta)

psi = digamma

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf",
           "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
           "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
           "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta"]


def _check_args(name, input, dim=0):
    """torch.special's TypeErrors: input must be a Tensor, dim an int (not None, a bool or a float)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if dim is None or isinstance(dim, bool) or not hasattr(type(dim), "__index__"):
        raise TypeError(f"special_{name}(): argument 'dim' (position 2) must be int, not {type(dim).__name__}")


def multigammaln(input, p, *, out=None):
    """The log of the multivariate gamma function of dimension p (torch.mvlgamma)."""
    _check_args("multigammaln", input)
    return _mvlgamma(input, p, out=out)


def softmax(input, dim, *, dtype=None):
    """softmax along dim (torch.softmax; dim is required here, and an int, as in torch.special)."""
    _check_args("softmax", input, dim)
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """log_softmax along dim (torch.log_softmax; dim is required here, and an int, as in torch.special)."""
    _check_args("log_softmax", input, dim)
    return _log_softmax(input, dim, dtype=dtype)


def round(input, *, decimals=None, out=None):  # noqa: A001
    """torch.round, but integer and bool tensors raise (torch.special.round's kernel is float-only,
    where torch.round returns them unchanged)."""
    _check_args("round", input)
    if not input.dtype.is_floating_point:
        raise not_implemented_for("round_vml_cpu" if decimals in (None, 0) else "round_cpu", input.dtype,
                                  "torch.special.round takes float tensors: convert with .float(), or use torch.round")
    return _round(input, decimals=decimals, out=out)
