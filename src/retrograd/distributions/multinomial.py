"""The multinomial distribution: counts of `total_count` independent Categorical draws."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.binomial import Binomial
from retrograd.distributions.categorical import _OverCategorical
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import broadcast_all
from retrograd.nn.functional import one_hot

__all__ = ["Multinomial"]


class Multinomial(_OverCategorical, Distribution):
    r"""Multinomial distribution over count vectors x (event shape (K,), sum x = total_count):
    p(x) = n! / prod_k x_k! * prod_k p_k^x_k, n = total_count. Parameters as for Categorical.
    sample() needs one shared integer total_count; log_prob does not use it."""

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._init_over_categorical(probs, logits, validate_args)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_over_categorical(Multinomial, batch_shape, _instance)
        new.total_count = self.total_count
        new._binomial = self._binomial.expand(retrograd.Size(batch_shape) + self.event_shape)
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        # Each count is Binomial(n, p_k): variance n p_k (1 - p_k).
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=retrograd.Size()):
        # n Categorical draws per count vector, tallied by summing their one-hot vectors.
        draws = self._categorical.sample(retrograd.Size((self.total_count,)) + retrograd.Size(sample_shape))
        return one_hot(draws, self.event_shape[0]).sum(0).to(self.probs.dtype)

    def log_prob(self, value):
        # log p(x) = log Gamma(n + 1) - sum_k log Gamma(x_k + 1) + sum_k x_k log p_k, n = sum_k x_k;
        # a category of probability 0 (logit -inf) with count 0 adds 0, not nan.
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_powers = (logits.masked_fill(value == 0, 0.0) * value).sum(-1)
        return retrograd.lgamma(value.sum(-1) + 1) - retrograd.lgamma(value + 1).sum(-1) + log_powers

    def entropy(self):
        # H = -log n! - n sum_k p_k log p_k + sum_k E[log x_k!], each x_k ~ Binomial(n, p_k):
        # E[log x_k!] = sum_{j=0..n} Binomial(n, p_k)(j) log j!.
        n = self.total_count
        j = self._binomial.enumerate_support()
        binomial_pmf = self._binomial.log_prob(j).exp()
        expected_log_factorials = (retrograd.lgamma(j + 1) * binomial_pmf).sum([0, -1])
        return n * self._categorical.entropy() - retrograd.lgamma(retrograd.tensor(n + 1.0)) + expected_log_factorials
