"""The generalized Pareto distribution (peaks over a threshold), with shape `concentration`."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    r"""GeneralizedPareto(loc m, scale s, concentration c), with z = (x - m) / s:
    p(x) = (1 + c z)^(-1/c - 1) / s, on z >= 0 (and z <= -1/c when c < 0); c = 0 is the
    exponential limit p(x) = e^-z / s. Every formula below takes that limit where c == 0."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(batch_shape_of((loc, scale, concentration), self.loc), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, GeneralizedPareto, batch_shape, _instance, ("loc", "scale", "concentration"))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        # [m, m - s / c] for c < 0, [m, inf) otherwise
        upper = retrograd.where(self.concentration < 0, self.loc - self.scale / self.concentration, float("inf"))
        return constraints.interval(self.loc, upper)

    def _z(self, value):
        return (value - self.loc) / self.scale

    def _safe_c(self):
        """c, with 1 where c == 0 (that branch is replaced by the limit; no 0 / 0 in gradients)."""
        c = self.concentration
        return retrograd.where(c == 0, 1.0, c)

    def log_survival_function(self, value):
        # log(1 - F(x)) = -log(1 + c z) / c;  c = 0: -z
        z, c = self._z(value), self._safe_c()
        return retrograd.where(self.concentration == 0, -z, -retrograd.log1p(c * z) / c)

    def log_prob(self, value):
        # log p(x) = -(1/c + 1) log(1 + c z) - log s;  c = 0: -z - log s
        if self._validate_args:
            self._validate_sample(value)
        z, c = self._z(value), self._safe_c()
        log_kernel = retrograd.where(self.concentration == 0, -z, -(1 / c + 1) * retrograd.log1p(c * z))
        return log_kernel - self.scale.log()

    def cdf(self, value):
        # F(x) = 1 - (1 + c z)^(-1/c); nan below loc (validation off), as torch's (the formula gave
        # negative probabilities there)
        if self._validate_args:
            self._validate_sample(value)
        return retrograd.where(self._z(value) < 0, float("nan"), -retrograd.expm1(self.log_survival_function(value)))

    def log_cdf(self, value):
        # log F(x) = log(1 - exp(log survival))
        return retrograd.log1p(-self.log_survival_function(value).exp())

    def icdf(self, value):
        # F^-1(q) = m + s ((1 - q)^(-c) - 1) / c;  c = 0: m - s log(1 - q)
        c = self._safe_c()
        log_tail = retrograd.log1p(-value)
        z = retrograd.where(self.concentration == 0, -log_tail, retrograd.expm1(-c * log_tail) / c)
        return self.loc + self.scale * z

    def rsample(self, sample_shape=retrograd.Size()):
        # inversion: x = F^-1(u), u ~ U(0, 1)
        shape = self._extended_shape(sample_shape)
        u = retrograd.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    @property
    def mean(self):
        # m + s / (1 - c) for c < 1, undefined (nan) otherwise
        c = self.concentration
        return retrograd.where(c < 1, self.loc + self.scale / (1 - c), float("nan"))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        # s^2 / ((1 - c)^2 (1 - 2c)) for c < 1/2, undefined (nan) otherwise
        c = self.concentration
        var = self.scale.pow(2) / ((1 - c).pow(2) * (1 - 2 * c))
        return retrograd.where(c < 0.5, var, float("nan"))

    def entropy(self):
        # H = log s + c + 1
        return self.scale.log() + self.concentration + 1
