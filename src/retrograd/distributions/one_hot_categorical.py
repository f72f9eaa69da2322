"""The one-hot categorical distribution: a Categorical whose outcomes are one-hot vectors."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.categorical import _OverCategorical
from retrograd.distributions.distribution import Distribution
from retrograd.nn.functional import one_hot

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategorical(_OverCategorical, Distribution):
    r"""Categorical distribution over one-hot vectors of length K (its event shape is (K,)):
    p(e_k) = probs[..., k]. Parameters as for Categorical."""

    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        # All the work is the Categorical's over the index of the hot entry.
        self._init_over_categorical(probs, logits, validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_over_categorical(OneHotCategorical, batch_shape, _instance)

    @property
    def _param(self):
        return self._categorical._param

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return one_hot(self.probs.argmax(dim=-1), self.event_shape[-1]).to(self.probs.dtype)

    @property
    def variance(self):
        # Each coordinate is a Bernoulli(p_k): variance p_k (1 - p_k).
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=retrograd.Size()):
        index = self._categorical.sample(retrograd.Size(sample_shape))
        return one_hot(index, self.event_shape[-1]).to(self.probs.dtype)

    def log_prob(self, value):
        # log p(e_k) = log probs[..., k], k the position of the hot entry.
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(dim=-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self.event_shape[0]
        values = retrograd.eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + self.batch_shape + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    r"""OneHotCategorical with the straight-through gradient estimator (Bengio et al., 2013):
    rsample returns the one-hot sample in the forward pass and lets the gradient flow as if the
    sample were `probs`."""

    has_rsample = True

    def rsample(self, sample_shape=retrograd.Size()):
        # sample + (probs - stop_gradient(probs)): value = sample, d value / d probs = identity.
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
