"""What HalfNormal and HalfCauchy share: each is |X| for X a symmetric distribution about 0
(self.base_dist), so its density is twice the base's on [0, inf)."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.transforms import AbsTransform


class FoldedAtZero:
    """Mixin for a TransformedDistribution(symmetric base centered at 0, AbsTransform()); the
    class names the base family (a location-scale family) as `_base_family`."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base_family = None
    _casts_value = False  # log_prob converts a value tensor to the parameters' dtype (torch's HalfCauchy
    # does; its HalfNormal keeps the value's dtype, so float64 values give float64 densities)

    def __init__(self, scale, validate_args=None):
        super().__init__(self._base_family(0, scale, validate_args=False), AbsTransform(), validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return retrograd.zeros_like(self.scale)

    def log_prob(self, value):
        # log p(y) = log 2 + log p_base(y) for y >= 0, -inf below.
        if self._validate_args:
            self._validate_sample(value)
        if self._casts_value or not isinstance(value, retrograd.Tensor):
            value = retrograd.as_tensor(value, dtype=self.base_dist.scale.dtype, device=self.base_dist.scale.device)
        log_p = self.base_dist.log_prob(value) + math.log(2)
        return retrograd.where(value >= 0, log_p, float("-inf"))

    def cdf(self, value):
        # F(y) = P(-y <= X <= y) = 2 F_base(y) - 1
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        # F^-1(q) = F_base^-1((1 + q) / 2)
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        # Folding halves the density's support and doubles it: H = H_base - log 2.
        return self.base_dist.entropy() - math.log(2)
