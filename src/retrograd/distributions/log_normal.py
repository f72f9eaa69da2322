"""The log-normal distribution: exp(X) for X ~ Normal(loc, scale)."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.normal import Normal
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import ExpTransform

__all__ = ["LogNormal"]


class LogNormal(TransformedDistribution):
    r"""Log-normal distribution: log Y ~ Normal(loc, scale);
    p(y) = exp(-(log y - loc)^2 / (2 scale^2)) / (y scale sqrt(2 pi)), y > 0."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LogNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def loc(self):
        return self.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        # E Y = exp(loc + scale^2 / 2)
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        # argmax p = exp(loc - scale^2)
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self):
        # Var Y = (exp(scale^2) - 1) exp(2 loc + scale^2)
        s2 = self.scale.pow(2)
        return retrograd.expm1(s2) * (2 * self.loc + s2).exp()

    def entropy(self):
        # H = H_Normal + loc (the change of variables adds E[log Y] = loc)
        return self.base_dist.entropy() + self.loc
