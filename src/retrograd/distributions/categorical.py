"""The categorical distribution over K classes {0, ..., K-1}."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import expand_params, given_param_shape, given_param_tensor
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    r"""Categorical distribution given by `probs` (non-negative, normalized here along the last
    dimension) or by `logits` (unnormalized log-probabilities), not both. The last dimension
    indexes the K categories; the others are the batch. p(x = k) = probs[..., k]."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._given = "probs"
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            # Normalize: logits - logsumexp(logits) are the log-probabilities.
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            self._given = "logits"
        self._num_events = self.param_shape[-1]
        super().__init__(self.param_shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, Categorical, batch_shape, _instance, ("probs", "logits"))
        new._num_events = self._num_events
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    param_shape = given_param_shape
    _param = given_param_tensor

    @property
    def mean(self):
        # Category labels have no mean.
        return retrograd.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):
        return retrograd.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape=retrograd.Size()):
        # One multinomial draw (with replacement) of n = prod(sample_shape) per batch row.
        sample_shape = retrograd.Size(sample_shape)
        with retrograd.no_grad():
            rows = self.probs.reshape(-1, self._num_events)
            draws = retrograd.multinomial(rows, sample_shape.numel(), True).T
            return draws.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        # log p(k) = logits[..., k] (the logits are normalized), value broadcast against the batch.
        if self._validate_args:
            self._validate_sample(value)
        index = value.long().unsqueeze(-1)
        index, log_pmf = retrograd.broadcast_tensors(index, self.logits)
        return log_pmf.gather(-1, index[..., :1]).squeeze(-1)

    def entropy(self):
        # H = -sum_k p_k log p_k; logits of -inf (p_k = 0) are clamped to the dtype's lowest finite
        # value so that 0 * log 0 counts 0.
        logits = self.logits.clamp(min=retrograd.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        n = self._num_events
        values = retrograd.arange(n, dtype=retrograd.long, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape))
        return values.expand((n,) + self.batch_shape) if expand else values


class _OverCategorical:
    """Mixin for the families built on a Categorical over the K categories (`self._categorical`,
    given the same probs or logits): its probs, logits and param_shape are theirs, and their
    event shape is (K,)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}

    def _init_over_categorical(self, probs, logits, validate_args):
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args=validate_args)

    def _expand_over_categorical(self, cls, batch_shape, _instance):
        """`expand` for class `cls`: a new instance over the expanded Categorical (the caller adds
        its other state)."""
        new = self._get_checked_instance(cls, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        super(cls, new).__init__(retrograd.Size(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape
