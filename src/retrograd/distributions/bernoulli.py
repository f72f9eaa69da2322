"""The Bernoulli distribution: a coin that lands 1 with probability `probs`."""
from numbers import Number

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import expand_params
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits
from retrograd.nn.functional import binary_cross_entropy_with_logits

__all__ = ["Bernoulli"]


class Bernoulli(ExponentialFamily):
    r"""Bernoulli distribution given by `probs` (P(x = 1)) or by `logits` (log-odds), not both:
    p(x) = probs^x (1 - probs)^(1 - x), x in {0, 1}."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        batch_shape = retrograd.Size() if isinstance(given, Number) else self.param_shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Bernoulli, batch_shape, _instance, ("probs", "logits"))

    # Whichever of probs / logits was not given is computed from the other on first use.
    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        given = self.__dict__.get("probs", self.__dict__.get("logits"))
        return given.size()

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
        dtype = self.__dict__.get("probs", self.__dict__.get("logits")).dtype
        values = retrograd.arange(2, dtype=dtype).reshape((2,) + (1,) * len(self.batch_shape))
        return values.expand((2,) + self.batch_shape) if expand else values

    # Exponential-family form: natural parameter logits, log normalizer A(eta) = log(1 + e^eta).
    @property
    def _natural_params(self):
        return (retrograd.logit(self.probs),)

    def _log_normalizer(self, x):
        return retrograd.log1p(retrograd.exp(x))
