"""The Kumaraswamy distribution on (0, 1)."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import AffineTransform, PowerTransform
from retrograd.distributions.uniform import Uniform
from retrograd.distributions.utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _moment(a, b, n):
    """E[x^n] = b B(1 + n/a, b) = b Gamma(1 + n/a) Gamma(b) / Gamma(1 + n/a + b)."""
    m = 1 + n / a
    return (b.log() + retrograd.lgamma(m) + retrograd.lgamma(b) - retrograd.lgamma(m + b)).exp()


class Kumaraswamy(TransformedDistribution):
    r"""Kumaraswamy distribution with a = concentration1 and b = concentration0:
    p(x) = a b x^(a - 1) (1 - x^a)^(b - 1), 0 < x < 1. Its cdf inverts in closed form, so it is
    built as x = (1 - u^(1/b))^(1/a), u ~ Uniform(0, 1) (1 - u is uniform too)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(retrograd.zeros_like(self.concentration0), retrograd.ones_like(self.concentration0),
                       validate_args=validate_args)
        transforms = [
            PowerTransform(exponent=self.concentration0.reciprocal()),  # u^(1/b)
            AffineTransform(loc=1.0, scale=-1.0),  # 1 - u^(1/b)
            PowerTransform(exponent=self.concentration1.reciprocal()),  # (1 - u^(1/b))^(1/a)
        ]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        # ((a - 1) / (ab - 1))^(1/a) for a >= 1, b >= 1 (not both 1); otherwise the density
        # grows without bound at an end (or is flat) and there is no interior mode: nan.
        # (torch 2.13 returns nan everywhere here.)
        a, b = self.concentration1, self.concentration0
        mode = ((a - 1) / (a * b - 1)).pow(a.reciprocal())
        return retrograd.where((a < 1) | (b < 1) | ((a == 1) & (b == 1)), float("nan"), mode)

    @property
    def variance(self):
        # Var x = E[x^2] - (E x)^2
        a, b = self.concentration1, self.concentration0
        return _moment(a, b, 2) - _moment(a, b, 1).pow(2)

    def entropy(self):
        # H = (1 - 1/b) + (1 - 1/a) H_b - log(a b), H_b = digamma(b + 1) + gamma the b-th
        # harmonic number.
        a, b = self.concentration1, self.concentration0
        harmonic = retrograd.digamma(b + 1) + euler_constant
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic - (a * b).log()
