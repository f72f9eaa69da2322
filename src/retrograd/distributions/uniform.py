"""The continuous uniform distribution on the half-open interval [low, high)."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import broadcast_all

__all__ = ["Uniform"]


class Uniform(Distribution):
    r"""Uniform distribution on [low, high): p(x) = 1 / (high - low) there, 0 elsewhere."""

    has_rsample = True

    @property
    def arg_constraints(self):
        # Each bound is constrained by the other: low < high.
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(batch_shape_of((low, high), self.low), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Uniform, batch_shape, _instance, ("low", "high"))

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def mode(self):
        # Every point of the interval is a mode: there is no single one. (Computed from `high`
        # so that, as in torch, it stays in the graph.)
        return self.high * float("nan")

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=retrograd.Size()):
        # Reparameterization: x = low + u (high - low), u ~ U[0, 1).
        u = retrograd.rand(self._extended_shape(sample_shape), dtype=self.low.dtype, device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        # log p(x) = log 1[low <= x < high] - log(high - low)
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value) & (value < self.high)
        return inside.to(self.low.dtype).log() - (self.high - self.low).log()

    def cdf(self, value):
        # F(x) = (x - low) / (high - low), clamped to [0, 1] outside the interval
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        # F^-1(q) = low + q (high - low)
        return self.low + value * (self.high - self.low)

    def entropy(self):
        # H = log(high - low)
        return (self.high - self.low).log()
