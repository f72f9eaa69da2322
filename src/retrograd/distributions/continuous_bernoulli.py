"""The continuous Bernoulli distribution of Loaiza-Ganem and Cunningham (2019)."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import BinaryProbsOrLogits, expand_params, given_param_shape, given_param_tensor
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import broadcast_all, clamp_probs, lazy_property, logits_to_probs
from retrograd.nn.functional import binary_cross_entropy_with_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(BinaryProbsOrLogits, ExponentialFamily):
    r"""Continuous Bernoulli on [0, 1], given by `probs` (lambda) or `logits`, not both:
    p(x) = C(lambda) lambda^x (1 - lambda)^(1 - x), with the normalizer
    C(lambda) = 2 atanh(1 - 2 lambda) / (1 - 2 lambda) (2 at lambda = 1/2).

    The closed forms divide 0 by 0 at lambda = 1/2; for lambda inside `lims` they are replaced by
    their Taylor expansions about 1/2 (the exact forms are evaluated at a safe lambda there, so
    that neither branch of the selection produces nan gradients)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        self._set_probs_or_logits(probs, logits)
        if probs is not None:
            validate = Distribution._validate_args if validate_args is None else validate_args
            if validate and not constraints.unit_interval.check(self.probs).all():
                raise ValueError("The parameter probs has invalid values")
            # Keep lambda off 0 and 1, where log lambda or log(1 - lambda) is infinite.
            self.probs = clamp_probs(self.probs)
        self._lims = lims
        super().__init__(self.param_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, ContinuousBernoulli, batch_shape, _instance, ("probs", "logits"))
        new._lims = self._lims
        return new

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    param_shape = given_param_shape
    _param = given_param_tensor

    def _outside_unstable_region(self):
        # lims[0] itself counts as outside (the exact forms are used there), as in torch.
        lo, hi = self._lims
        return (self.probs <= lo) | (self.probs > hi)

    def _cut_probs(self):
        """lambda where the closed forms are used; a harmless stand-in (lims[0]) elsewhere."""
        return retrograd.where(self._outside_unstable_region(), self.probs, self._lims[0] * retrograd.ones_like(self.probs))

    def _cont_bern_log_norm(self):
        # log C(lambda) = log|log(1 - lambda) - log(lambda)| - log|1 - 2 lambda|;
        # about 1/2, with x = (lambda - 1/2)^2: log 2 + (4/3 + 104/45 x) x.
        lam = self._cut_probs()
        exact = (retrograd.log1p(-lam) - lam.log()).abs().log() - (1 - 2 * lam).abs().log()
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return retrograd.where(self._outside_unstable_region(), exact, taylor)

    @property
    def mean(self):
        # E x = lambda / (2 lambda - 1) + 1 / (2 atanh(1 - 2 lambda)); about 1/2, with
        # x = lambda - 1/2: 1/2 + (1/3 + 16/45 x^2) x.
        lam = self._cut_probs()
        exact = lam / (2 * lam - 1) + 1 / (retrograd.log1p(-lam) - lam.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return retrograd.where(self._outside_unstable_region(), exact, taylor)

    @property
    def stddev(self):
        return self.variance.sqrt()

    @property
    def variance(self):
        # Var x = lambda (lambda - 1) / (1 - 2 lambda)^2 + 1 / (log(1 - lambda) - log lambda)^2;
        # about 1/2, with x = (lambda - 1/2)^2: 1/12 - (1/15 - 128/945 x) x.
        lam = self._cut_probs()
        exact = lam * (lam - 1) / (1 - 2 * lam).pow(2) + 1 / (retrograd.log1p(-lam) - lam.log()).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return retrograd.where(self._outside_unstable_region(), exact, taylor)

    def rsample(self, sample_shape=retrograd.Size()):
        # Reparameterization by the inverse cdf: x = F^-1(u), u ~ U(0, 1).
        shape = self._extended_shape(sample_shape)
        u = retrograd.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def sample(self, sample_shape=retrograd.Size()):
        with retrograd.no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value):
        # log p(x) = x log lambda + (1 - x) log(1 - lambda) + log C(lambda) = -BCE(logits, x) + log C
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        # F(x) = (lambda^x (1 - lambda)^(1 - x) + lambda - 1) / (2 lambda - 1), x about 1/2,
        # clamped to 0 below the support and 1 above.
        if self._validate_args:
            self._validate_sample(value)
        lam = self._cut_probs()
        exact = (lam.pow(value) * (1 - lam).pow(1 - value) + lam - 1) / (2 * lam - 1)
        inside = retrograd.where(self._outside_unstable_region(), exact, value)
        return retrograd.where(value <= 0, 0.0, retrograd.where(value >= 1, 1.0, inside))

    def icdf(self, value):
        # F^-1(q) = (log(1 - lambda + q (2 lambda - 1)) - log(1 - lambda)) / (log lambda - log(1 - lambda)),
        # q about 1/2.
        lam = self._cut_probs()
        exact = (retrograd.log1p(-lam + value * (2 * lam - 1)) - retrograd.log1p(-lam)) / (lam.log() - retrograd.log1p(-lam))
        return retrograd.where(self._outside_unstable_region(), exact, value)

    def entropy(self):
        # H = -E log p = mu (log(1 - lambda) - log lambda) - log C(lambda) - log(1 - lambda)
        log_1m = retrograd.log1p(-self.probs)
        return self.mean * (log_1m - self.probs.log()) - self._cont_bern_log_norm() - log_1m

    # Exponential-family form: natural parameter eta = logits, log normalizer
    # A(eta) = log((e^eta - 1) / eta), about 0: eta/2 + eta^2/24 - eta^4/2880.
    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        lo, hi = self._lims
        outside = (x <= lo - 0.5) | (x > hi - 0.5)
        eta = retrograd.where(outside, x, (lo - 0.5) * retrograd.ones_like(x))
        exact = (eta.exp() - 1).abs().log() - eta.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return retrograd.where(outside, exact, taylor)
