"""The two-parameter Weibull distribution."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.exponential import Exponential
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import AffineTransform, PowerTransform
from retrograd.distributions.utils import broadcast_all, euler_constant

__all__ = ["Weibull"]


class Weibull(TransformedDistribution):
    r"""Weibull distribution with scale lambda and concentration (shape) k:
    p(x) = (k / lambda) (x / lambda)^(k - 1) exp(-(x / lambda)^k), x > 0. Built as
    x = lambda e^(1/k), e ~ Exponential(1)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(retrograd.ones_like(self.scale), validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration_reciprocal), AffineTransform(loc=0, scale=self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Weibull, _instance)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.concentration_reciprocal = new.concentration.reciprocal()
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        # E x = lambda Gamma(1 + 1/k)
        return self.scale * retrograd.lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self):
        # lambda ((k - 1) / k)^(1/k) for k > 1; for k <= 1 the density is largest at 0.
        k = self.concentration
        inner = ((k - 1) / k).clamp(min=0)
        return self.scale * inner.pow(self.concentration_reciprocal)

    @property
    def variance(self):
        # Var x = lambda^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2)
        g1 = retrograd.lgamma(1 + self.concentration_reciprocal).exp()
        g2 = retrograd.lgamma(1 + 2 * self.concentration_reciprocal).exp()
        return self.scale.pow(2) * (g2 - g1.pow(2))

    def entropy(self):
        # H = gamma (1 - 1/k) + log(lambda / k) + 1
        return euler_constant * (1 - self.concentration_reciprocal) + (self.scale / self.concentration).log() + 1
