"""The half-normal distribution: |X| for X ~ Normal(0, scale)."""
import math

from retrograd.distributions._folded import FoldedAtZero
from retrograd.distributions.normal import Normal
from retrograd.distributions.transformed_distribution import TransformedDistribution

__all__ = ["HalfNormal"]


class HalfNormal(FoldedAtZero, TransformedDistribution):
    r"""Half-normal distribution: p(y) = sqrt(2 / pi) / scale * exp(-y^2 / (2 scale^2)), y >= 0."""

    _base_family = Normal

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        # E|X| = scale sqrt(2 / pi)
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        # Var|X| = E X^2 - (E|X|)^2 = scale^2 (1 - 2 / pi)
        return self.scale.pow(2) * (1 - 2 / math.pi)
