"""The Dirichlet distribution on the probability simplex, with parameter `concentration`."""
import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._gamma_sampling import _sample_dirichlet
from retrograd.distributions._params import expand_params
from retrograd.distributions.exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


def _log_beta(alpha):
    """log B(alpha) = sum_j log Gamma(alpha_j) - log Gamma(sum_j alpha_j), over the last dim."""
    return retrograd.lgamma(alpha).sum(-1) - retrograd.lgamma(alpha.sum(-1))


class Dirichlet(ExponentialFamily):
    r"""Dirichlet(alpha) over the last dim of `concentration`:
    p(x) = prod_j x_j^(alpha_j - 1) / B(alpha), x on the simplex."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Dirichlet, batch_shape, _instance, ("concentration",))

    def rsample(self, sample_shape=()):
        # x = g / sum(g), g_j ~ Gamma(alpha_j, 1); gradients by implicit reparameterization
        return _sample_dirichlet(self.concentration.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        # log p(x) = sum_j (alpha_j - 1) log x_j - log B(alpha)
        if self._validate_args:
            self._validate_sample(value)
        return retrograd.xlogy(self.concentration - 1.0, value).sum(-1) - _log_beta(self.concentration)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        # (alpha_j - 1) / (alpha_0 - k) where every alpha_j >= 1 (alpha_j < 1 clamps to 0, as torch).
        # When every alpha_j < 1 the density is unbounded at each vertex; torch (and so here) gives
        # the first vertex.
        excess = (self.concentration - 1).clamp(min=0.0)
        mode = excess / excess.sum(-1, True)
        first_vertex = retrograd.zeros_like(mode)
        first_vertex[..., 0] = 1
        all_below_one = (self.concentration < 1).all(-1, keepdim=True)
        return retrograd.where(all_below_one, first_vertex, mode)

    @property
    def variance(self):
        # Var x_j = alpha_j (alpha_0 - alpha_j) / (alpha_0^2 (alpha_0 + 1))
        total = self.concentration.sum(-1, True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def entropy(self):
        # H = log B(alpha) + (alpha_0 - k) psi(alpha_0) - sum_j (alpha_j - 1) psi(alpha_j)
        k = self.concentration.size(-1)
        total = self.concentration.sum(-1)
        return (_log_beta(self.concentration) + (total - k) * retrograd.digamma(total)
                - ((self.concentration - 1.0) * retrograd.digamma(self.concentration)).sum(-1))

    # Exponential-family form: natural parameter alpha, log normalizer A = log B(alpha).
    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return _log_beta(x)
