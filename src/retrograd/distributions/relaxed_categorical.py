"""The relaxed one-hot categorical (Concrete / Gumbel-softmax) distribution of Maddison et al.
(2017) and Jang et al. (2017): a continuous, reparameterizable stand-in for a one-hot sample."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import RelaxedOfBase
from retrograd.distributions.categorical import _OverCategorical
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import ExpTransform
from retrograd.distributions.utils import clamp_probs

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


class ExpRelaxedCategorical(_OverCategorical, Distribution):
    r"""The log of a RelaxedOneHotCategorical (the ExpConcrete distribution): with Gumbel noise
    g_k, y = log_softmax((logits + g) / t). For K categories, x = logits and t = temperature,
    log p(y) = log (K-1)! + (K-1) log t + sum_k (x_k - t y_k) - K logsumexp_k(x_k - t y_k)."""

    support = constraints.independent(constraints.real, 1)
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        self._init_over_categorical(probs, logits, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_over_categorical(ExpRelaxedCategorical, batch_shape, _instance)
        new.temperature = self.temperature
        return new

    def rsample(self, sample_shape=retrograd.Size()):
        # Gumbel noise g = -log(-log u), u ~ U(0, 1) kept off 0 and 1; then the scores
        # (logits + g) / t normalized in log space.
        shape = self._extended_shape(sample_shape)
        u = clamp_probs(retrograd.rand(shape, dtype=self.logits.dtype, device=self.logits.device))
        gumbel = -(-u.log()).log()
        scores = (self.logits + gumbel) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.event_shape[-1]
        t = retrograd.as_tensor(self.temperature, dtype=self.logits.dtype)
        # log (K-1)! + (K-1) log t
        log_scale = math.lgamma(k) + (k - 1) * t.log()
        # sum_k (x_k - t y_k) - K logsumexp_k(x_k - t y_k)
        z = self.logits - t * value
        return (z - z.logsumexp(dim=-1, keepdim=True)).sum(-1) + log_scale


class RelaxedOneHotCategorical(RelaxedOfBase, TransformedDistribution):
    r"""Relaxed one-hot categorical on the simplex: exp of an ExpRelaxedCategorical, i.e.
    softmax((logits + Gumbel noise) / temperature). As the temperature goes to 0 its samples
    approach one-hot vectors drawn from Categorical(probs)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedOneHotCategorical, _instance)
        return super().expand(batch_shape, _instance=new)
