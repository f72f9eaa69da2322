"""The Gumbel (type-I extreme value) distribution."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import AffineTransform, ExpTransform
from retrograd.distributions.uniform import Uniform
from retrograd.distributions.utils import broadcast_all, euler_constant  # re-exported, as torch's gumbel does

__all__ = ["Gumbel"]

class Gumbel(TransformedDistribution):
    r"""Gumbel distribution: p(x) = exp(-(z + e^-z)) / scale, z = (x - loc) / scale. Built as
    x = loc - scale log(-log u) for u ~ Uniform(0, 1), which makes rsample reparameterized."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        finfo = retrograd.finfo(self.loc.dtype)
        # u stays inside (0, 1) by the dtype's margins, so that both logs are finite.
        base = Uniform(
            retrograd.full_like(self.loc, finfo.tiny), retrograd.full_like(self.loc, 1 - finfo.eps),
            validate_args=validate_args)
        log = ExpTransform().inv
        # u -> log u -> -log u -> log(-log u) -> loc - scale log(-log u)
        transforms = [log, AffineTransform(loc=0, scale=-1), log, AffineTransform(loc=self.loc, scale=-self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gumbel, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    def log_prob(self, value):
        # log p(x) = -z - exp(-z) - log scale, z = (x - loc) / scale (closed form: more accurate
        # than the chain of logs).
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -z - retrograd.exp(-z) - self.scale.log()

    @property
    def mean(self):
        # E X = loc + scale gamma (Euler-Mascheroni)
        return self.loc + self.scale * euler_constant

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        # sd = pi scale / sqrt(6)
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def entropy(self):
        # H = log scale + gamma + 1
        return self.scale.log() + (1 + euler_constant)
