"""torch.special: special functions with torch's names (``retrograd.special.gammaln(x)``).

The functions live in ``ops/special.py`` and, where torch.special repeats a top-level op (erf,
expit, logsumexp, softmax, ...), in that op's module; this module gives them torch.special's
names and signatures. All are computed here in NumPy, with no SciPy (erf, erfc and erfinv, in
ops/math.py, use SciPy when it is installed, else the C library's erf and Newton's method)."""

from .ops.elementwise import sigmoid as expit
from .ops.math import erf, erfc, erfinv, exp2, expm1, log1p, logit, round, xlogy  # noqa: A004
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


def multigammaln(input, p, *, out=None):
    """The log of the multivariate gamma function of dimension p (torch.mvlgamma)."""
    return _mvlgamma(input, p, out=out)


def softmax(input, dim, *, dtype=None):
    """softmax along dim (torch.softmax; dim is required here, as in torch.special)."""
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """log_softmax along dim (torch.log_softmax; dim is required here, as in torch.special)."""
    return _log_softmax(input, dim, dtype=dtype)
