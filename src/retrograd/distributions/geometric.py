"""The geometric distribution: the number of failures before the first success."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import BinaryProbsOrLogits, expand_params, given_param
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import broadcast_all
from retrograd.nn.functional import binary_cross_entropy_with_logits

__all__ = ["Geometric"]


class Geometric(BinaryProbsOrLogits, Distribution):
    r"""Geometric(p) given by `probs` (success probability) or `logits`, not both:
    p(k) = (1 - p)^k p, k = 0, 1, 2, ..."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_probs_or_logits(probs, logits)
        super().__init__(given_param(self).size(), validate_args=validate_args)
        # p = 0 passes unit_interval but makes no distribution (no success ever): torch rejects it
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                             f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive but found "
                             f"invalid values:\n{self.probs[self.probs <= 0]}")

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Geometric, batch_shape, _instance, ("probs", "logits"))

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return retrograd.zeros_like(self.probs)

    @property
    def variance(self):
        # (1 - p) / p^2
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=retrograd.Size()):
        # Inversion: P(K >= k) = (1 - p)^k, so K = floor(log U / log(1 - p)), U ~ U(0, 1]
        shape = self._extended_shape(sample_shape)
        tiny = retrograd.finfo(self.probs.dtype).tiny
        with retrograd.no_grad():
            u = retrograd.rand(shape, dtype=self.probs.dtype, device=self.probs.device).clamp(min=tiny)
            return (u.log() / retrograd.log1p(-self.probs)).floor()

    def log_prob(self, value):
        # log p(k) = k log(1 - p) + log p; at p = 1 the mass sits at k = 0 (0 log 0 = 0 there)
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # (p is replaced by 0 inside the masked term too, so no 0 * inf reaches its gradient)
        certain = (probs == 1) & (value == 0)
        failures = value * retrograd.log1p(-retrograd.where(certain, 0.0, probs))
        return retrograd.where(certain, 0.0, failures) + probs.log()

    def entropy(self):
        # H = (-(1 - p) log(1 - p) - p log p) / p, the coin's entropy per expected trial
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs
