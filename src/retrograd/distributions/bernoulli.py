"""The Bernoulli distribution: a coin that lands 1 with probability `probs`."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import BinaryProbsOrLogits, expand_params, given_param, given_param_shape, given_param_tensor
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import broadcast_all
from retrograd.nn.functional import binary_cross_entropy_with_logits

__all__ = ["Bernoulli"]


class Bernoulli(BinaryProbsOrLogits, ExponentialFamily):
    r"""Bernoulli distribution given by `probs` (P(x = 1)) or by `logits` (log-odds), not both:
    p(x) = probs^x (1 - probs)^(1 - x), x in {0, 1}."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_probs_or_logits(probs, logits)
        super().__init__(self.param_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Bernoulli, batch_shape, _instance, ("probs", "logits"))

    param_shape = given_param_shape
    _param = given_param_tensor

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        # 1 where probs > 1/2, 0 where below; at exactly 1/2 both are modes, so nan.
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return retrograd.where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=retrograd.Size()):
        with retrograd.no_grad():
            return retrograd.bernoulli(self.probs.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        # log p(x) = x log(probs) + (1 - x) log(1 - probs) = -BCE(logits, x), computed from logits
        # for stability.
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        # H = -probs log(probs) - (1 - probs) log(1 - probs) = BCE(logits, probs)
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        dtype = given_param(self).dtype
        values = retrograd.arange(2, dtype=dtype).reshape((2,) + (1,) * len(self.batch_shape))
        return values.expand((2,) + self.batch_shape) if expand else values

    # Exponential-family form: natural parameter logits, log normalizer A(eta) = log(1 + e^eta).
    @property
    def _natural_params(self):
        return (retrograd.logit(self.probs),)

    def _log_normalizer(self, x):
        return retrograd.log1p(retrograd.exp(x))
