"""The multivariate normal distribution N(loc, Sigma), given by Sigma, its inverse, or its
Cholesky factor; every quantity is computed from the lower Cholesky factor L (Sigma = L L^T)."""
import math

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _solve_lower(L, b):
    """L^-1 b for lower-triangular L (batch dims broadcast)."""
    return retrograd.linalg.solve_triangular(L, b, upper=False)


def _precision_to_scale_tril(P):
    """The lower Cholesky factor of P^-1 without forming P^-1. With J the order-reversing
    permutation, J P J = M M^T (M lower), so P = U U^T with U = J M J upper and
    P^-1 = U^-T U^-1: its lower factor is U^-T = J M^-T J."""
    flip = lambda a: retrograd.flip(a, (-2, -1))  # noqa: E731  (J a J)
    M = retrograd.linalg.cholesky(flip(P))
    eye = retrograd.eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return flip(_solve_lower(M, eye).mT)


def _mahalanobis_sq(L, diff):
    """|L^-1 diff|^2 = diff^T Sigma^-1 diff over the last dim, batch dims of L and diff broadcast."""
    return _solve_lower(L, diff.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


class _GivenBySigma:
    """Mixin for the families (MultivariateNormal, Wishart) given a covariance Sigma by exactly one
    of `covariance_matrix`, `precision_matrix` or `scale_tril`: they keep the given matrix
    (broadcast) and its lower Cholesky factor L at the matrix's own batch shape
    (`_unbroadcasted_scale_tril`, no copies for a shared Sigma); the matrices not given are
    derived from L on first use, in the shape `_matrix_shape()`."""

    @staticmethod
    def _the_given_sigma(covariance_matrix, precision_matrix, scale_tril, error):
        """(name, matrix) of the one Sigma parameter given; `error` (torch's type) if not exactly one."""
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix,
                 "scale_tril": scale_tril}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise error("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        ((name, matrix),) = given.items()
        return name, matrix

    def _set_scale_tril(self, name, matrix):
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = retrograd.linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def _expand_sigma(self, new, matrix_shape):
        """Give the expanded instance `new` L and the Sigma parameters computed so far."""
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(matrix_shape))

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        # Sigma = L L^T
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        # Sigma^-1 = L^-T L^-1
        L = self._unbroadcasted_scale_tril
        L_inv = _solve_lower(L, retrograd.eye(L.shape[-1], dtype=L.dtype, device=L.device))
        return (L_inv.mT @ L_inv).expand(self._matrix_shape())


class MultivariateNormal(_GivenBySigma, Distribution):
    r"""MultivariateNormal(loc mu, Sigma) over the last dim, Sigma given by exactly one of
    `covariance_matrix`, `precision_matrix` (Sigma^-1) or `scale_tril` (L, Sigma = L L^T):
    p(x) = exp(-(x - mu)^T Sigma^-1 (x - mu) / 2) / sqrt((2 pi)^n det Sigma)."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        name, matrix = self._the_given_sigma(covariance_matrix, precision_matrix, scale_tril, ValueError)
        if matrix.dim() < 2:
            raise ValueError(f"{name}{' matrix' if name == 'scale_tril' else ''} must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        batch_shape = retrograd.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        event_shape = loc.shape[-1:]
        # the given matrix is kept (broadcast to the batch shape); the others are derived lazily
        setattr(self, name, matrix.expand(batch_shape + matrix.shape[-2:]))
        self.loc = loc.expand(batch_shape + event_shape)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._set_scale_tril(name, matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = retrograd.Size(batch_shape)
        matrix_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        self._expand_sigma(new, matrix_shape)
        super(MultivariateNormal, new).__init__(batch_shape, self.event_shape, validate_args=False)
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

    @property
    def variance(self):
        # diag(L L^T)_i = sum_j L_ij^2
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=retrograd.Size()):
        # x = mu + L eps, eps ~ N(0, I)
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        # log sqrt(det Sigma) = sum_i log L_ii
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        # log p(x) = -(n log(2 pi) + |L^-1 (x - mu)|^2) / 2 - sum_i log L_ii
        if self._validate_args:
            self._validate_sample(value)
        n = self._event_shape[0]
        m = _mahalanobis_sq(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (n * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        # H = n (1 + log(2 pi)) / 2 + sum_i log L_ii
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(self._batch_shape) if len(self._batch_shape) else h
