"""Fisher-Snedecor's F distribution: the ratio of two scaled chi-squared variables."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.gamma import Gamma
from retrograd.distributions.utils import broadcast_all

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    r"""F(d1 = df1, d2 = df2), the law of (X1 / d1) / (X2 / d2) with X_i ~ Chi2(d_i):
    p(x) = (d1 / d2)^(d1/2) x^(d1/2 - 1) (1 + d1 x / d2)^(-(d1 + d2)/2) / B(d1/2, d2/2), x > 0."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        # X_i / d_i ~ Gamma(d_i / 2, rate d_i / 2): the two reparameterized draws
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(batch_shape_of((df1, df2), self.df1), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, FisherSnedecor, batch_shape, _instance, ("df1", "df2"))
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self):
        # d2 / (d2 - 2) for d2 > 2, undefined (nan) otherwise
        return retrograd.where(self.df2 > 2, self.df2 / (self.df2 - 2), float("nan"))

    @property
    def mode(self):
        # (d1 - 2) / d1 * d2 / (d2 + 2) for d1 > 2, undefined (nan) otherwise
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return retrograd.where(self.df1 > 2, mode, float("nan"))

    @property
    def variance(self):
        # 2 d2^2 (d1 + d2 - 2) / (d1 (d2 - 2)^2 (d2 - 4)) for d2 > 4, undefined (nan) otherwise
        d1, d2 = self.df1, self.df2
        var = 2 * d2.pow(2) * (d1 + d2 - 2) / (d1 * (d2 - 2).pow(2) * (d2 - 4))
        return retrograd.where(d2 > 4, var, float("nan"))

    def rsample(self, sample_shape=retrograd.Size()):
        # (X1 / d1) / (X2 / d2), each a Gamma(d/2, rate 1/2) / d = Gamma(d/2, rate d/2) draw; the
        # ratio kept within (tiny, max) of the dtype (a 0 or inf sample is outside the support)
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape)
        info = retrograd.finfo(x1.dtype)
        return (x1 / x2).clamp(min=info.tiny, max=info.max)

    def log_prob(self, value):
        # log p(x) = (d1/2) log(d1 / d2) + (d1/2 - 1) log x - ((d1 + d2)/2) log(1 + d1 x / d2)
        #            - log B(d1/2, d2/2)
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = self.df1 * 0.5, self.df2 * 0.5
        log_beta = retrograd.lgamma(h1) + retrograd.lgamma(h2) - retrograd.lgamma(h1 + h2)
        ratio = self.df1 / self.df2
        return (h1 * ratio.log() + (h1 - 1) * value.log() - (h1 + h2) * retrograd.log1p(ratio * value)
                - log_beta)
