"""The negative binomial distribution: successes before `total_count` failures."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import BinaryProbsOrLogits, expand_params, given_param_shape, given_param_tensor
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.gamma import Gamma

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryProbsOrLogits, Distribution):
    r"""NegativeBinomial(r = total_count, p) given by `probs` (success probability) or `logits`:
    the number of successes k before the r-th failure,
    p(k) = Gamma(k + r) / (k! Gamma(r)) p^k (1 - p)^r, k = 0, 1, 2, ...  (r may be real)."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        (self.total_count,) = self._set_probs_or_logits(probs, logits, total_count)
        super().__init__(self.param_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, NegativeBinomial, batch_shape, _instance, ("total_count", "probs", "logits"))

    param_shape = given_param_shape
    _param = given_param_tensor

    @property
    def mean(self):
        # r p / (1 - p), i.e. r e^logits
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        # floor((r - 1) p / (1 - p)), 0 for r <= 1
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        # r p / (1 - p)^2
        return self.mean / (1 - self.probs)

    def sample(self, sample_shape=retrograd.Size()):
        # a Gamma-Poisson mixture: k ~ Poisson(lambda), lambda ~ Gamma(r, rate (1 - p) / p = e^-logits)
        with retrograd.no_grad():
            rate = Gamma(self.total_count, (-self.logits).exp(), validate_args=False).sample(sample_shape)
            return retrograd.poisson(rate)

    def log_prob(self, value):
        # log p(k) = log Gamma(k + r) - log k! - log Gamma(r) + k log p + r log(1 - p), where with
        # the logits l, k log p + r log(1 - p) = k l - (k + r) log(1 + e^l). At k = r = 0 the
        # coefficient is 1 (log 0): it is set to 0 there rather than inf - inf.
        if self._validate_args:
            self._validate_sample(value)
        r, l = self.total_count, self.logits
        log_terms = value * l - (value + r) * retrograd.logaddexp(retrograd.zeros_like(l), l)
        log_coef = retrograd.lgamma(value + r) - retrograd.lgamma(value + 1) - retrograd.lgamma(r)
        log_coef = retrograd.where(value + r == 0, 0.0, log_coef)
        return log_coef + log_terms
