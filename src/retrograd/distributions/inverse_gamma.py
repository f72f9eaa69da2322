"""The inverse-gamma distribution: 1 / X for X ~ Gamma(concentration, rate)."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.gamma import Gamma
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import PowerTransform

__all__ = ["InverseGamma"]


class InverseGamma(TransformedDistribution):
    r"""InverseGamma(a = concentration, b = rate): Y = 1 / X, X ~ Gamma(a, b);
    p(y) = b^a y^(-a-1) e^(-b / y) / Gamma(a), y > 0."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        minus_one = -base.rate.new_ones(())  # y = x^-1
        super().__init__(base, PowerTransform(minus_one), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(InverseGamma, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def concentration(self):
        return self.base_dist.concentration

    @property
    def rate(self):
        return self.base_dist.rate

    @property
    def mean(self):
        # b / (a - 1) for a > 1; infinite otherwise
        return retrograd.where(self.concentration > 1, self.rate / (self.concentration - 1), float("inf"))

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        # b^2 / ((a - 1)^2 (a - 2)) for a > 2; infinite otherwise
        a = self.concentration
        var = self.rate.pow(2) / ((a - 1).pow(2) * (a - 2))
        return retrograd.where(a > 2, var, float("inf"))

    def entropy(self):
        # H = a + log b + log Gamma(a) - (1 + a) psi(a)
        a = self.concentration
        return a + self.rate.log() + retrograd.lgamma(a) - (1 + a) * retrograd.digamma(a)
