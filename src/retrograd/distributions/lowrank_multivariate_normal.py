"""The multivariate normal with covariance Sigma = W W^T + diag(D) (a low-rank factor W, n x m,
plus a positive diagonal D): n x n work is replaced by m x m work through the capacitance
matrix C = I_m + W^T D^-1 W (Woodbury identity and matrix determinant lemma)."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.multivariate_normal import _solve_lower
from retrograd.distributions.utils import _standard_normal, lazy_property

__all__ = ["LowRankMultivariateNormal"]


class LowRankMultivariateNormal(Distribution):
    r"""N(loc, cov_factor cov_factor^T + diag(cov_diag)) over the last dim."""

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if cov_factor.shape[-2] != n:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m")
        if cov_diag.dim() < 1 or cov_diag.shape[-1:] != loc.shape[-1:]:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {loc.shape[-1:]}")
        try:
            batch_shape = retrograd.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1])
        except RuntimeError:
            raise ValueError(f"Incompatible batch shapes: loc {loc.shape}, cov_factor {cov_factor.shape}, "
                             f"cov_diag {cov_diag.shape}") from None
        event_shape = loc.shape[-1:]
        self.loc = loc.expand(batch_shape + event_shape)
        self.cov_factor = cov_factor.expand(batch_shape + cov_factor.shape[-2:])
        self.cov_diag = cov_diag.expand(batch_shape + event_shape)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._set_capacitance(cov_factor, cov_diag)

    def _set_capacitance(self, W, D):
        """Keep W and D at their own batch shapes, and the Cholesky factor of C = I + W^T D^-1 W."""
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = W, D
        Wt_Dinv = W.mT / D.unsqueeze(-2)
        eye = retrograd.eye(W.shape[-1], dtype=W.dtype, device=W.device)
        self._capacitance_tril = retrograd.linalg.cholesky(eye + Wt_Dinv @ W)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = retrograd.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new.cov_factor = self.cov_factor.expand(batch_shape + self.cov_factor.shape[-2:])
        new.cov_diag = self.cov_diag.expand(batch_shape + self.event_shape)
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        super(LowRankMultivariateNormal, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        # diag(W W^T + D)_i = sum_j W_ij^2 + D_i
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W @ W.mT + retrograd.diag_embed(D)).expand(self._matrix_shape())

    @lazy_property
    def scale_tril(self):
        return retrograd.linalg.cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self):
        # Woodbury: Sigma^-1 = D^-1 - D^-1 W C^-1 W^T D^-1 = D^-1 - A^T A,  A = Lc^-1 W^T D^-1
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        A = _solve_lower(self._capacitance_tril, W.mT / D.unsqueeze(-2))
        return (retrograd.diag_embed(D.reciprocal()) - A.mT @ A).expand(self._matrix_shape())

    def rsample(self, sample_shape=retrograd.Size()):
        # x = mu + W eps_m + sqrt(D) eps_n, eps ~ N(0, I): covariance W W^T + D
        shape = self._extended_shape(sample_shape)
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        eps_m = _standard_normal(shape[:-1] + W.shape[-1:], dtype=self.loc.dtype, device=self.loc.device)
        eps_n = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (W @ eps_m.unsqueeze(-1)).squeeze(-1) + D.sqrt() * eps_n

    def _log_det(self):
        # determinant lemma: log det Sigma = log det C + sum_i log D_i, log det C = 2 sum log Lc_ii
        Lc_diag = self._capacitance_tril.diagonal(dim1=-2, dim2=-1)
        return 2 * Lc_diag.log().sum(-1) + self._unbroadcasted_cov_diag.log().sum(-1)

    def log_prob(self, value):
        # log p(x) = -(n log(2 pi) + log det Sigma + d^T Sigma^-1 d) / 2, d = x - mu, with
        # d^T Sigma^-1 d = d^T D^-1 d - |Lc^-1 W^T D^-1 d|^2 (Woodbury)
        if self._validate_args:
            self._validate_sample(value)
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        d = value - self.loc
        Dinv_d = d / D
        proj = _solve_lower(self._capacitance_tril, (W.mT @ Dinv_d.unsqueeze(-1))).squeeze(-1)
        m = (d * Dinv_d).sum(-1) - proj.pow(2).sum(-1)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + self._log_det() + m)

    def entropy(self):
        # H = (n (1 + log(2 pi)) + log det Sigma) / 2
        n = self._event_shape[0]
        h = 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return h.expand(self._batch_shape) if len(self._batch_shape) else h
