"""The Poisson distribution: counts of events occurring at `rate` per unit."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    r"""Poisson(rate r): p(k) = r^k e^(-r) / k!, k = 0, 1, 2, ..."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(batch_shape_of((rate,), self.rate), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Poisson, batch_shape, _instance, ("rate",))

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=retrograd.Size()):
        with retrograd.no_grad():
            return retrograd.poisson(self.rate.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        # log p(k) = k log r - r - log k!   (k log r = 0 at k = 0 even for r = 0)
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return retrograd.xlogy(value, rate) - rate - retrograd.lgamma(value + 1)

    # Exponential-family form: natural parameter log r, log normalizer A = e^eta.
    @property
    def _natural_params(self):
        return (retrograd.log(self.rate),)

    def _log_normalizer(self, x):
        return retrograd.exp(x)
