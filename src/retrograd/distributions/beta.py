"""The Beta distribution on [0, 1]: the first coordinate of a two-category Dirichlet."""
from numbers import Number

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.dirichlet import Dirichlet
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.utils import broadcast_all

__all__ = ["Beta"]


class Beta(ExponentialFamily):
    r"""Beta(a = concentration1, b = concentration0): p(x) = x^(a-1) (1-x)^(b-1) / B(a, b)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        numbers = isinstance(concentration1, Number) and isinstance(concentration0, Number)
        # (x, 1 - x) ~ Dirichlet(a, b): sampling (with its gradients), mode and shapes reuse it
        self._dirichlet = Dirichlet(retrograd.stack(broadcast_all(concentration1, concentration0), -1),
                                    validate_args=validate_args)
        batch_shape = retrograd.Size() if numbers else self._dirichlet.batch_shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = retrograd.Size(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        super(Beta, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # a and b are read from the Dirichlet's (stacked) parameter, so both depend on the tensor
    # the Dirichlet holds, as torch's do
    @property
    def concentration1(self):
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        # (a - 1) / (a + b - 2), with the Dirichlet's conventions where a or b < 1
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        # a b / ((a + b)^2 (a + b + 1))
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        # log p(x) = (a - 1) log x + (b - 1) log(1 - x) - log B(a, b)
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        if isinstance(value, retrograd.Tensor) and value.dtype.is_floating_point and value.dtype != a.dtype:
            # torch's Beta is a Dirichlet over (x, 1 - x), whose parameters are never 0-dim: the
            # value and the parameters always promote together (a float32 value, float64 a: float64)
            dtype = retrograd.promote_types(a.dtype, value.dtype)
            a, b, value = a.to(dtype), b.to(dtype), value.to(dtype)
        return (retrograd.xlogy(a - 1, value) + retrograd.xlogy(b - 1, 1 - value)
                - self._log_normalizer(a, b))

    def entropy(self):
        # H = log B(a, b) - (a - 1) psi(a) - (b - 1) psi(b) + (a + b - 2) psi(a + b)
        a, b = self.concentration1, self.concentration0
        return (self._log_normalizer(a, b) - (a - 1) * retrograd.digamma(a) - (b - 1) * retrograd.digamma(b)
                + (a + b - 2) * retrograd.digamma(a + b))

    # Exponential-family form: natural parameters (a, b), log normalizer A = log B(a, b).
    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return retrograd.lgamma(x) + retrograd.lgamma(y) - retrograd.lgamma(x + y)
