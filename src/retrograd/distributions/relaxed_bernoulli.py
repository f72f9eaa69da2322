"""The relaxed (Concrete / Gumbel-softmax) Bernoulli distribution of Maddison et al. (2017) and
Jang et al. (2017): a continuous stand-in for a coin flip that can be reparameterized."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import BinaryProbsOrLogits, RelaxedOfBase, expand_params, given_param_shape
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.transformed_distribution import TransformedDistribution
from retrograd.distributions.transforms import SigmoidTransform
from retrograd.distributions.utils import broadcast_all, clamp_probs

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]


class LogitRelaxedBernoulli(BinaryProbsOrLogits, Distribution):
    r"""The logit of a RelaxedBernoulli: y = (logit(p) + logit(u)) / temperature, u ~ U(0, 1)
    (logit(u) is a Logistic(0, 1) noise). With x = logits (log-odds) and t = temperature,
    log p(y) = log t + x - t y - 2 log(1 + exp(x - t y))."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        self._set_probs_or_logits(probs, logits)
        super().__init__(self.param_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, LogitRelaxedBernoulli, batch_shape, _instance, ("probs", "logits"))
        new.temperature = self.temperature
        return new

    param_shape = given_param_shape

    def rsample(self, sample_shape=retrograd.Size()):
        # y = (logit(p) + logit(u)) / t, with p and u kept off 0 and 1 so both logits are finite.
        shape = self._extended_shape(sample_shape)
        p = clamp_probs(self.probs.expand(shape))
        u = clamp_probs(retrograd.rand(shape, dtype=p.dtype, device=p.device))
        logit = lambda q: q.log() - retrograd.log1p(-q)
        return (logit(p) + logit(u)) / self.temperature

    def log_prob(self, value):
        # log p(y) = log t + (x - t y) - 2 log(1 + exp(x - t y))
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        z = logits - self.temperature * value
        return retrograd.log(retrograd.as_tensor(self.temperature, dtype=z.dtype)) + z - 2 * retrograd.log1p(z.exp())


class RelaxedBernoulli(RelaxedOfBase, TransformedDistribution):
    r"""Relaxed Bernoulli on (0, 1): sigmoid of a LogitRelaxedBernoulli. As the temperature goes
    to 0 its samples approach a Bernoulli(probs)'s 0s and 1s."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return super().expand(batch_shape, _instance=new)
