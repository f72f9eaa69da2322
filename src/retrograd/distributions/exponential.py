"""The exponential distribution with rate lambda: p(x) = lambda exp(-lambda x), x >= 0."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import broadcast_all

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    r"""Exponential distribution parameterized by `rate` (the inverse of its mean)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(batch_shape_of((rate,), self.rate), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Exponential, batch_shape, _instance, ("rate",))

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return retrograd.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=retrograd.Size()):
        # Reparameterization: x = e / rate, e ~ Exponential(1).
        shape = self._extended_shape(sample_shape)
        e = retrograd.empty(shape, dtype=self.rate.dtype, device=self.rate.device).exponential_()
        return e / self.rate

    def log_prob(self, value):
        # log p(x) = log rate - rate x
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        # F(x) = 1 - exp(-rate x)
        if self._validate_args:
            self._validate_sample(value)
        return 1 - retrograd.exp(-self.rate * value)

    def icdf(self, value):
        # F^-1(q) = -log(1 - q) / rate
        return -retrograd.log1p(-value) / self.rate

    def entropy(self):
        # H = 1 - log rate
        return 1.0 - self.rate.log()

    # Exponential-family form: natural parameter -rate, log normalizer A(eta) = -log(-eta).
    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -retrograd.log(-x)
