"""The normal (Gaussian) distribution N(loc, scale^2)."""
import math

import retrograd
from retrograd.distributions._params import LocScale, expand_params
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import _standard_normal

__all__ = ["Normal"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class Normal(LocScale, ExponentialFamily):
    r"""Normal distribution with mean `loc` and standard deviation `scale`:
    p(x) = exp(-(x - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))."""

    _mean_carrier_measure = 0

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Normal, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def sample(self, sample_shape=retrograd.Size()):
        # torch.normal, as torch's: loc's dtype, and a negative scale raises (validate_args=False)
        shape = self._extended_shape(sample_shape)
        with retrograd.no_grad():
            return retrograd.normal(self.loc.expand(shape), self.scale.expand(shape))

    def rsample(self, sample_shape=retrograd.Size()):
        # Reparameterization: x = loc + scale * eps, eps ~ N(0, 1), so x is differentiable in both.
        eps = _standard_normal(self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + self.scale * eps

    def log_prob(self, value):
        # log p(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi)
        if self._validate_args:
            self._validate_sample(value)
        return -((value - self.loc) ** 2) / (2 * self.scale.pow(2)) - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value):
        # F(x) = (1 + erf((x - loc) / (scale sqrt 2))) / 2
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + retrograd.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        # F^-1(q) = loc + scale sqrt(2) erfinv(2q - 1)
        return self.loc + self.scale * math.sqrt(2) * retrograd.erfinv(2 * value - 1)

    def entropy(self):
        # H = 1/2 + log(sqrt(2 pi) scale)
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()

    # Exponential-family form: natural parameters (loc / scale^2, -1 / (2 scale^2)) and the log
    # normalizer A(eta1, eta2) = -eta1^2 / (4 eta2) + log(pi / -eta2) / 2.
    @property
    def _natural_params(self):
        return (self.loc / self.scale.pow(2), -0.5 / self.scale.pow(2))

    def _log_normalizer(self, x, y):
        return -0.25 * x.pow(2) / y + 0.5 * retrograd.log(-math.pi / y)
