"""torch.special: special functions with torch's names (``retrograd.special.gammaln(x)``).

The functions live in ``ops/special.py`` (and, where torch.special repeats a top-level op,
in the op's own module); this module gives them torch.special's names."""

from .ops.special import digamma, lgamma as gammaln, mvlgamma as _mvlgamma, polygamma

psi = digamma

__all__ = ["digamma", "gammaln", "multigammaln", "polygamma", "psi"]


def multigammaln(input, p, *, out=None):
    """The log of the multivariate gamma function of dimension p (torch.mvlgamma)."""
    return _mvlgamma(input, p, out=out)
