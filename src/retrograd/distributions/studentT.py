"""Student's t distribution with `df` degrees of freedom, location `loc` and scale `scale`."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.chi2 import Chi2
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    r"""StudentT(df v, loc m, scale s), with y = (x - m) / s:
    p(x) = Gamma((v+1)/2) / (Gamma(v/2) sqrt(v pi) s) (1 + y^2 / v)^(-(v+1)/2)."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(batch_shape_of((df, loc, scale), self.df), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, StudentT, batch_shape, _instance, ("df", "loc", "scale"))

    @property
    def mean(self):
        # loc for v > 1; undefined (nan) otherwise
        return retrograd.where(self.df > 1, self.loc, float("nan"))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        # s^2 v / (v - 2) for v > 2; infinite for 1 < v <= 2; undefined (nan) for v <= 1
        finite = self.scale.pow(2) * self.df / (self.df - 2)
        var = retrograd.where(self.df > 2, finite, float("inf"))
        return retrograd.where(self.df > 1, var, float("nan"))

    def rsample(self, sample_shape=retrograd.Size()):
        # x = m + s z / sqrt(c / v) with z ~ N(0, 1) and c ~ Chi2(v); c is reparameterized in v
        shape = self._extended_shape(sample_shape)
        z = _standard_normal(shape, dtype=self.df.dtype, device=self.df.device)
        c = Chi2(self.df).rsample(sample_shape)
        return self.loc + self.scale * z * retrograd.rsqrt(c / self.df)

    def log_prob(self, value):
        # log p(x) = -(v+1)/2 log(1 + y^2/v) - log s - log(v pi)/2 - log Gamma(v/2) + log Gamma((v+1)/2)
        if self._validate_args:
            self._validate_sample(value)
        v = self.df
        y = (value - self.loc) / self.scale
        log_norm = (self.scale.log() + 0.5 * v.log() + 0.5 * math.log(math.pi)
                    + retrograd.lgamma(0.5 * v) - retrograd.lgamma(0.5 * (v + 1.0)))
        return -0.5 * (v + 1.0) * retrograd.log1p(y.pow(2) / v) - log_norm

    def entropy(self):
        # H = (v+1)/2 (psi((v+1)/2) - psi(v/2)) + log(sqrt(v) B(v/2, 1/2)) + log s
        v = self.df
        log_beta = retrograd.lgamma(0.5 * v) + math.lgamma(0.5) - retrograd.lgamma(0.5 * (v + 1))
        return (self.scale.log() + 0.5 * (v + 1) * (retrograd.digamma(0.5 * (v + 1)) - retrograd.digamma(0.5 * v))
                + 0.5 * v.log() + log_beta)
