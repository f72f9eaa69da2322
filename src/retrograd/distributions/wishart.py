r"""The Wishart distribution over p x p positive definite matrices: X = sum of df outer products
of N(0, Sigma) vectors (for integer df), with Sigma given as covariance_matrix,
precision_matrix (Sigma^-1) or scale_tril (L, Sigma = L L^T)."""
import math
import warnings
from numbers import Number

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions.chi2 import Chi2
from retrograd.distributions.exp_family import ExponentialFamily
from retrograd.distributions.multivariate_normal import _GivenBySigma
from retrograd.distributions.utils import _standard_normal

__all__ = ["Wishart"]

_DEFAULT_TRIES = 3  # redraws of singular samples when rsample's max_try_correction is None


def _mvdigamma(x, p):
    """psi_p(x) = sum_{j=0}^{p-1} psi(x - j/2), the derivative of log Gamma_p(x)."""
    j = retrograd.arange(p, dtype=x.dtype, device=x.device)
    return retrograd.digamma(x.unsqueeze(-1) - j / 2).sum(-1)


class Wishart(_GivenBySigma, ExponentialFamily):
    r"""Wishart(df nu, Sigma) on p x p matrices X:
    p(X) = det(X)^((nu - p - 1)/2) exp(-tr(Sigma^-1 X) / 2) / (2^(nu p / 2) det(Sigma)^(nu/2) Gamma_p(nu/2)),
    nu > p - 1."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        # torch raises AssertionError when not exactly one is given
        name, matrix = self._the_given_sigma(covariance_matrix, precision_matrix, scale_tril, AssertionError)
        if matrix.dim() < 2:
            raise ValueError(f"{name} must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Number):
            df = retrograd.tensor(df, dtype=matrix.dtype, device=matrix.device)
        p = matrix.shape[-1]
        batch_shape = retrograd.broadcast_shapes(matrix.shape[:-2], df.shape)
        event_shape = matrix.shape[-2:]
        self.df = df.expand(batch_shape)
        setattr(self, name, matrix.expand(batch_shape + event_shape))
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        self._set_scale_tril(name, matrix)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.")
        # the Bartlett factor's diagonal: A_ii^2 ~ Chi2(nu - i), i = 0..p-1
        self._dist_chi2 = Chi2(self.df.unsqueeze(-1) - retrograd.arange(p, dtype=self.df.dtype, device=self.df.device))

    @property
    def arg_constraints(self):
        p = self._event_shape[-1]
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(p - 1)}

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = retrograd.Size(batch_shape)
        matrix_shape = batch_shape + self.event_shape
        new.df = self.df.expand(batch_shape)
        self._expand_sigma(new, matrix_shape)
        new._dist_chi2 = self._dist_chi2.expand(batch_shape + self.event_shape[-1:])
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape

    def _df_matrix(self):
        return self.df.view(self._batch_shape + (1, 1))

    @property
    def mean(self):
        # E X = nu Sigma
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        # (nu - p - 1) Sigma for nu > p + 1; undefined (nan) otherwise
        factor = self._df_matrix() - self._event_shape[-1] - 1
        return retrograd.where(factor > 0, factor * self.covariance_matrix, float("nan"))

    @property
    def variance(self):
        # Var X_ij = nu (Sigma_ij^2 + Sigma_ii Sigma_jj)
        cov = self.covariance_matrix
        diag = cov.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (cov.pow(2) + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=retrograd.Size()):
        """X = (L A)(L A)^T with the Bartlett factor A: lower triangular, A_ii = sqrt(Chi2(nu - i)),
        A_ij ~ N(0, 1) below the diagonal (Bartlett decomposition); reparameterized in nu and L."""
        shape = self._extended_shape(sample_shape)
        noise = retrograd.tril(_standard_normal(shape, dtype=self.df.dtype, device=self.df.device), diagonal=-1)
        A = noise + retrograd.diag_embed(self._dist_chi2.rsample(sample_shape).sqrt())
        LA = self._unbroadcasted_scale_tril @ A
        return LA @ LA.mT

    def rsample(self, sample_shape=retrograd.Size(), max_try_correction=None):
        """Draws by the Bartlett decomposition. A draw that comes out singular (possible in floating
        point, likely when df < p) is drawn again, up to `max_try_correction` times (default 3)
        with a "Singular sample detected." warning; it may stay singular after the last try."""
        tries = _DEFAULT_TRIES if max_try_correction is None else max_try_correction
        sample_shape = retrograd.Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = ~constraints.positive_definite.check(sample)
        if bool(singular.any()):
            warnings.warn("Singular sample detected.")
            for _ in range(tries):
                n = int(singular.sum())
                if n == 0:
                    break
                redraw = self._bartlett_sampling(retrograd.Size((n,)))
                sample = sample.clone()
                sample[singular] = redraw
                singular = ~constraints.positive_definite.check(sample)
        return sample

    def _log_det_sigma(self):
        # log det Sigma = 2 sum_i log L_ii
        return 2 * self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        # log p(X) = (nu - p - 1)/2 log det X - tr(Sigma^-1 X)/2 - nu p/2 log 2 - nu/2 log det Sigma
        #            - log Gamma_p(nu/2)
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        trace = (self.precision_matrix * value).sum((-2, -1))  # tr(P X), P and X symmetric
        return ((nu - p - 1) / 2 * retrograd.logdet(value) - trace / 2 - nu * p / 2 * math.log(2)
                - nu / 2 * self._log_det_sigma() - retrograd.mvlgamma(nu / 2, p))

    def entropy(self):
        # H = log Z - (nu - p - 1)/2 E[log det X] + nu p / 2, with
        # log Z = nu p/2 log 2 + nu/2 log det Sigma + log Gamma_p(nu/2) and
        # E log det X = psi_p(nu/2) + p log 2 + log det Sigma
        nu, p = self.df, self._event_shape[-1]
        log_det = self._log_det_sigma()
        log_z = nu * p / 2 * math.log(2) + nu / 2 * log_det + retrograd.mvlgamma(nu / 2, p)
        mean_log_det = _mvdigamma(nu / 2, p) + p * math.log(2) + log_det
        return log_z - (nu - p - 1) / 2 * mean_log_det + nu * p / 2

    # Exponential-family form: natural parameters (-P/2, (nu - p - 1)/2) for statistics (X, log det X);
    # with nu = 2 eta2 + p + 1 and Sigma = (-2 eta1)^-1, A = nu/2 (p log 2 - log det(-2 eta1)) + log Gamma_p(nu/2).
    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return -0.5 * self.precision_matrix, 0.5 * (self.df - p - 1)

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        half_nu = y + (p + 1) / 2
        return half_nu * (p * math.log(2) - retrograd.logdet(-2 * x)) + retrograd.mvlgamma(half_nu, p)
