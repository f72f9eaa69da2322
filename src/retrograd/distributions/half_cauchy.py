"""The half-Cauchy distribution: |X| for X ~ Cauchy(0, scale)."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._folded import FoldedAtZero
from retrograd.distributions.cauchy import Cauchy
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import AbsTransform

__all__ = ["HalfCauchy"]


class HalfCauchy(FoldedAtZero, TransformedDistribution):
    r"""Half-Cauchy distribution: p(y) = 2 / (pi scale (1 + (y / scale)^2)), y >= 0. Its mean
    and variance are infinite."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        super().__init__(Cauchy(0, scale, validate_args=False), AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return retrograd.full(self._extended_shape(), float("inf"), dtype=self.scale.dtype, device=self.scale.device)

    @property
    def mode(self):
        return retrograd.zeros_like(self.scale)

    @property
    def variance(self):
        return self.base_dist.variance
