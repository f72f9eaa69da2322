"""The binomial distribution: successes in `total_count` independent trials."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import BinaryProbsOrLogits, expand_params, given_param, given_param_shape, given_param_tensor
from retrograd.distributions.distribution import Distribution

__all__ = ["Binomial"]


class Binomial(BinaryProbsOrLogits, Distribution):
    r"""Binomial(n = total_count, p) given by `probs` or `logits` (not both):
    p(k) = C(n, k) p^k (1 - p)^(n - k), k = 0..n."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        (self.total_count,) = self._set_probs_or_logits(probs, logits, total_count)
        super().__init__(self.param_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Binomial, batch_shape, _instance, ("total_count", "probs", "logits"))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    param_shape = given_param_shape
    _param = given_param_tensor

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        # floor((n + 1) p), at most n
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=retrograd.Size()):
        # torch.binomial: total_count's dtype, probs outside [0, 1] clipped, negative counts draw 0,
        # and an integer total_count raises (its kernel takes float counts)
        shape = self._extended_shape(sample_shape)
        with retrograd.no_grad():
            return retrograd.binomial(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value):
        # log p(k) = log C(n, k) + k log p + (n - k) log(1 - p), with log p = l - log(1 + e^l) and
        # log(1 - p) = -log(1 + e^l) for the logits l:  = log C(n, k) + k l - n log(1 + e^l),
        # log(1 + e^l) by logaddexp(0, l), which does not overflow.
        if self._validate_args:
            self._validate_sample(value)
        n, l = self.total_count, self.logits
        log_choose = retrograd.lgamma(n + 1) - retrograd.lgamma(value + 1) - retrograd.lgamma(n - value + 1)
        return log_choose + value * l - n * retrograd.logaddexp(retrograd.zeros_like(l), l)

    def entropy(self):
        # H = -sum_k p(k) log p(k) over the support 0..n (n must be the same everywhere)
        n = int(self.total_count.max())
        if not bool((self.total_count == n).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        log_p = self.log_prob(self.enumerate_support(expand=False))
        return -(retrograd.exp(log_p) * log_p).sum(0)

    def enumerate_support(self, expand=True):
        n = int(self.total_count.max())
        if not bool((self.total_count == n).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = retrograd.arange(1 + n, dtype=given_param(self).dtype, device=self.total_count.device)
        values = values.view((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + self.batch_shape) if expand else values
