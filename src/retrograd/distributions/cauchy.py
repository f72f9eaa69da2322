"""The Cauchy (Lorentz) distribution."""
import math

import retrograd
from retrograd.distributions._params import LocScale, expand_params
from retrograd.distributions.distribution import Distribution

__all__ = ["Cauchy"]


class Cauchy(LocScale, Distribution):
    r"""Cauchy distribution: p(x) = 1 / (pi scale (1 + ((x - loc) / scale)^2)).
    Its mean is undefined (nan) and its variance infinite."""

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Cauchy, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self):
        return retrograd.full(self._extended_shape(), float("nan"), dtype=self.loc.dtype, device=self.loc.device)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return retrograd.full(self._extended_shape(), float("inf"), dtype=self.loc.dtype, device=self.loc.device)

    def rsample(self, sample_shape=retrograd.Size()):
        # Reparameterization: x = loc + scale c, c ~ Cauchy(0, 1).
        shape = self._extended_shape(sample_shape)
        c = retrograd.empty(shape, dtype=self.loc.dtype, device=self.loc.device).cauchy_()
        return self.loc + self.scale * c

    def log_prob(self, value):
        # log p(x) = -log pi - log scale - log(1 + ((x - loc) / scale)^2)
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - retrograd.log1p(z.pow(2))

    def cdf(self, value):
        # F(x) = 1/2 + atan((x - loc) / scale) / pi
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 + retrograd.atan((value - self.loc) / self.scale) / math.pi

    def icdf(self, value):
        # F^-1(q) = loc + scale tan(pi (q - 1/2))
        return self.loc + self.scale * retrograd.tan(math.pi * (value - 0.5))

    def entropy(self):
        # H = log(4 pi scale)
        return math.log(4 * math.pi) + self.scale.log()
