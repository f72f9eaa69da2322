"""torch.special: special functions with torch's names (``retrograd.special.gammaln(x)``).

The functions live in ``ops/special.py`` and, where torch.special repeats a top-level op (erf,
expit, logsumexp, softmax, ...), in that op's module; this module gives them torch.special's
names and signatures. Computed by SciPy (an optional dependency, imported on first use):
gammainc, gammaincc, bessel_j0, bessel_j1; the rest are computed here in NumPy (erf, erfc and
erfinv use SciPy when it is installed, else the C library's erf and Newton's method)."""

from .ops.elementwise import sigmoid as expit
from .ops.math import erf, erfc, erfinv, exp2, expm1, log1p, logit, round, xlogy  # noqa: A004
from .ops.reduction import logsumexp
from .ops.special import (bessel_j0, bessel_j1, digamma, entr, erfcx, i0, i0e, i1, i1e, igamma as gammainc,
                          igammac as gammaincc, lgamma as gammaln, log_ndtr, mvlgamma as _mvlgamma, ndtr, ndtri,
                          polygamma, sinc, xlog1py, zeta)
from .ops.softmax import log_softmax as _log_softmax, softmax as _softmax

psi = digamma

__all__ = ["bessel_j0", "bessel_j1", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py",
           "xlogy", "zeta"]


def multigammaln(input, p, *, out=None):
    """The log of the multivariate gamma function of dimension p (torch.mvlgamma)."""
    return _mvlgamma(input, p, out=out)


def softmax(input, dim, *, dtype=None):
    """softmax along dim (torch.softmax; dim is required here, as in torch.special)."""
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """log_softmax along dim (torch.log_softmax; dim is required here, as in torch.special)."""
    return _log_softmax(input, dim, dtype=dtype)
