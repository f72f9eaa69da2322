r"""The LKJ distribution over Cholesky factors of correlation matrices (Lewandowski, Kurowicka
and Joe, 2009), sampled by the onion method.

A correlation matrix's lower Cholesky factor L has unit rows: row i (0-based) is (w_i, L_ii, 0...)
with w_i in the unit ball of R^i and L_ii = sqrt(1 - |w_i|^2). LKJ(eta) puts density
det(C)^(eta - 1) on C = L L^T; with the Jacobian prod_i L_ii^(d - 1 - i) of L -> C, the density of
the rows w_i (Lebesgue in each) is

    p(L) = prod_{i=1}^{d-1} (1 - |w_i|^2)^(a_i) / Z_i,   a_i = eta - 1 + (d - 1 - i) / 2,

so the rows are independent, and the unit ball's integral of (1 - |w|^2)^a in R^n gives
Z_i = pi^(i/2) Gamma(a_i + 1) / Gamma(a_i + 1 + i/2). Equivalently |w_i|^2 ~ Beta(i/2, a_i + 1)
and w_i / |w_i| is uniform on the sphere: the onion sampler."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import expand_params
from retrograd.distributions.beta import Beta
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import _standard_normal, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    r"""LKJCholesky(dim, concentration eta): lower Cholesky factors of dim x dim correlation
    matrices with density proportional to det(L L^T)^(eta - 1) on the matrices."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        super().__init__(self.concentration.size(), retrograd.Size((dim, dim)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        new.dim = self.dim
        return expand_params(self, LKJCholesky, batch_shape, new, ("concentration",))

    def _row_params(self):
        """For rows i = 1..d-1: the ball's dimension i and a_i + 1 = eta + (d - 1 - i) / 2."""
        i = retrograd.arange(1, self.dim, dtype=self.concentration.dtype, device=self.concentration.device)
        return i, self.concentration.unsqueeze(-1) + (self.dim - 1 - i) / 2

    def sample(self, sample_shape=retrograd.Size()):
        with retrograd.no_grad():
            i, a1 = self._row_params()
            # |w_i|^2 ~ Beta(i / 2, a_i + 1), one per row below the first
            y = Beta(i / 2, a1, validate_args=False).sample(sample_shape)
            y = retrograd.cat([retrograd.zeros_like(y[..., :1]), y], -1)  # row 0 is e_1
            # uniform directions: normal vectors on each row's first i entries, normalized
            shape = self._extended_shape(sample_shape)
            u = retrograd.tril(_standard_normal(shape, dtype=y.dtype, device=y.device), diagonal=-1)
            norm = u.norm(dim=-1, keepdim=True)
            u = u / retrograd.where(norm == 0, 1.0, norm)
            w = u * y.sqrt().unsqueeze(-1)
            return w + retrograd.diag_embed((1 - y).clamp(min=0).sqrt())

    def log_prob(self, value):
        # log p(L) = sum_{i>=1} [2 a_i log L_ii - (i/2) log pi - log Gamma(a_i + 1) + log Gamma(a_i + 1 + i/2)]
        if self._validate_args:
            self._validate_sample(value)
        i, a1 = self._row_params()
        log_diag = value.diagonal(dim1=-2, dim2=-1)[..., 1:].log()
        unnormalized = (2 * (a1 - 1) * log_diag).sum(-1)
        log_z = (i / 2 * math.log(math.pi) + retrograd.lgamma(a1) - retrograd.lgamma(a1 + i / 2)).sum(-1)
        return unnormalized - log_z
