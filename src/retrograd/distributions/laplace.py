"""The Laplace (double exponential) distribution."""
import math

import retrograd
from retrograd.distributions._params import LocScale, expand_params
from retrograd.distributions.distribution import Distribution

__all__ = ["Laplace"]


class Laplace(LocScale, Distribution):
    r"""Laplace distribution: p(x) = exp(-|x - loc| / scale) / (2 scale)."""

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Laplace, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    def rsample(self, sample_shape=retrograd.Size()):
        # Reparameterization by the inverse cdf with u = 2q - 1 drawn in the open (-1, 1), so
        # log1p(-|u|) stays finite: x = loc - scale sign(u) log(1 - |u|).
        shape = self._extended_shape(sample_shape)
        eps = retrograd.finfo(self.loc.dtype).eps
        u = retrograd.empty(shape, dtype=self.loc.dtype, device=self.loc.device).uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * retrograd.log1p(-u.abs())

    def log_prob(self, value):
        # log p(x) = -log(2 scale) - |x - loc| / scale
        if self._validate_args:
            self._validate_sample(value)
        return -retrograd.log(2 * self.scale) - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        # F(x) = 1/2 - sign(x - loc) (exp(-|x - loc| / scale) - 1) / 2
        if self._validate_args:
            self._validate_sample(value)
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * retrograd.expm1(-z.abs() / self.scale)

    def icdf(self, value):
        # F^-1(q) = loc - scale sign(q - 1/2) log(1 - 2|q - 1/2|)
        t = value - 0.5
        return self.loc - self.scale * t.sign() * retrograd.log1p(-2 * t.abs())

    def entropy(self):
        # H = 1 + log(2 scale)
        return 1 + retrograd.log(2 * self.scale)
