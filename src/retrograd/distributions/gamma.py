"""The Gamma distribution with shape `concentration` and inverse scale `rate`."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._gamma_sampling import _gammainc, _standard_gamma
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import broadcast_all

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    r"""Gamma(concentration a, rate b): p(x) = b^a x^(a-1) e^(-b x) / Gamma(a), x > 0."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(batch_shape_of((concentration, rate), self.concentration), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        # a subclass (Chi2) passes its own fresh instance as _instance
        return expand_params(self, Gamma, batch_shape, _instance, ("concentration", "rate"))

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        # (a - 1) / b for a >= 1; for a < 1 the density is largest at 0.
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=retrograd.Size()):
        # x = g / b with g ~ Gamma(a, 1); g carries the implicit reparameterization gradient in a.
        # A draw that underflows to 0 is raised to the dtype's smallest normal number (log x finite).
        shape = self._extended_shape(sample_shape)
        x = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return x.clamp(min=retrograd.finfo(x.dtype).tiny)

    def log_prob(self, value):
        # log p(x) = a log b + (a - 1) log x - b x - log Gamma(a)
        value = retrograd.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (retrograd.xlogy(self.concentration, self.rate) + retrograd.xlogy(self.concentration - 1, value)
                - self.rate * value - retrograd.lgamma(self.concentration))

    def cdf(self, value):
        # F(x) = P(a, b x), the regularized lower incomplete gamma function
        if self._validate_args:
            self._validate_sample(value)
        return _gammainc(self.concentration, self.rate * value)

    def entropy(self):
        # H = a - log b + log Gamma(a) + (1 - a) psi(a)
        a = self.concentration
        return a - self.rate.log() + retrograd.lgamma(a) + (1.0 - a) * retrograd.digamma(a)

    # Exponential-family form: natural parameters (a - 1, -b), sufficient statistics (log x, x),
    # log normalizer A = log Gamma(eta1 + 1) - (eta1 + 1) log(-eta2).
    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return retrograd.lgamma(x + 1) + (x + 1) * retrograd.log(-y.reciprocal())
