"""The half-Cauchy distribution: |X| for X ~ Cauchy(0, scale)."""
import retrograd
from retrograd.distributions._folded import FoldedAtZero
from retrograd.distributions.cauchy import Cauchy
from retrograd.distributions.transformed_distribution import TransformedDistribution

__all__ = ["HalfCauchy"]


class HalfCauchy(FoldedAtZero, TransformedDistribution):
    r"""Half-Cauchy distribution: p(y) = 2 / (pi scale (1 + (y / scale)^2)), y >= 0. Its mean
    and variance are infinite."""

    _base_family = Cauchy
    _casts_value = True

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return retrograd.full(self._extended_shape(), float("inf"), dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self):
        return self.base_dist.variance
