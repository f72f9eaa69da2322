"""MultivariateNormal (covariance_matrix, precision_matrix, scale_tril) and
LowRankMultivariateNormal (src/retrograd/distributions/multivariate_normal.py,
lowrank_multivariate_normal.py): values and gradients against torch, shapes, rsample gradients,
sample moments, validation."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch, check_moments, rsample_gradcheck

LOC = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]])
L = np.array([[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.5, 1.5]])
COV = L @ L.T
X = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]])
W = np.array([[1.0, 0.2], [0.5, -0.3], [0.0, 0.7]])
DIAG = np.array([0.5, 1.0, 2.0])
METHODS = ["log_prob", "entropy", "mean", "mode", "variance", "stddev", "covariance_matrix",
           "precision_matrix", "scale_tril"]


def _sym(m, a):
    return a @ a.mT + 0.5 * m.eye(3, dtype=a.dtype)  # a differentiable positive definite matrix


BUILDS = {
    "scale_tril": (lambda m, loc, tril: m.distributions.MultivariateNormal(loc, scale_tril=m.tril(tril)), [LOC, L]),
    "covariance_matrix": (lambda m, loc, a: m.distributions.MultivariateNormal(loc, covariance_matrix=_sym(m, a)),
                          [LOC, L]),
    "precision_matrix": (lambda m, loc, a: m.distributions.MultivariateNormal(loc, precision_matrix=_sym(m, a)),
                         [LOC, L]),
    "lowrank": (lambda m, loc, w, d: m.distributions.LowRankMultivariateNormal(loc, w, d), [LOC, W, DIAG]),
}


@pytest.mark.parametrize("name", BUILDS)
def test_values_and_gradients_match_torch(name):
    build, params = BUILDS[name]
    check_against_torch(build, params, METHODS, {"log_prob": X}, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", BUILDS)
def test_shapes_expand_and_rsample_gradients(name):
    build, params = BUILDS[name]
    d = build(retrograd, *(retrograd.tensor(p) for p in params))
    assert d.batch_shape == (2,) and d.event_shape == (3,) and d.has_rsample
    assert d.rsample((4,)).shape == (4, 2, 3)
    e = d.expand((5, 2))
    assert type(e) is type(d) and e.sample().shape == (5, 2, 3) and e.covariance_matrix.shape == (5, 2, 3, 3)
    assert rsample_gradcheck(build, params, (2,))


def test_sample_moments_with_a_fixed_seed():
    retrograd.manual_seed(0)
    d = D.MultivariateNormal(retrograd.tensor(LOC[0]), covariance_matrix=retrograd.tensor(COV))
    x = d.sample((20000,)).numpy()
    check_moments(x, LOC[0], np.diag(COV))
    # the sample covariance within 0.1 of COV (its entries' standard errors are below 0.02)
    np.testing.assert_allclose(np.cov(x.T), COV, atol=0.1)


def test_lowrank_sample_covariance():
    retrograd.manual_seed(1)
    d = D.LowRankMultivariateNormal(retrograd.zeros(3, dtype=retrograd.float64), retrograd.tensor(W),
                                    retrograd.tensor(DIAG))
    x = d.sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(x.T), W @ W.T + np.diag(DIAG), atol=0.1)


def test_validation_errors_as_torch():
    loc = retrograd.zeros(3)
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified."):
        D.MultivariateNormal(loc)
    with pytest.raises(ValueError, match="loc must be at least one-dimensional."):
        D.MultivariateNormal(retrograd.tensor(0.0), scale_tril=retrograd.eye(1))
    with pytest.raises(ValueError, match="scale_tril matrix must be at least two-dimensional"):
        D.MultivariateNormal(loc, scale_tril=retrograd.ones(3))
    for name in ("covariance_matrix", "precision_matrix"):  # torch says "matrix" only after scale_tril
        with pytest.raises(ValueError, match=f"^{name} must be at least two-dimensional"):
            D.MultivariateNormal(loc, **{name: retrograd.ones(3)})
    with pytest.raises(ValueError, match="Expected parameter covariance_matrix .*PositiveDefinite"):
        D.MultivariateNormal(loc, covariance_matrix=-retrograd.eye(3))
    with pytest.raises(ValueError, match="Expected parameter scale_tril .*LowerCholesky"):
        D.MultivariateNormal(loc, scale_tril=retrograd.ones(3, 3))
    with pytest.raises(ValueError, match="cov_factor must be at least two-dimensional"):
        D.LowRankMultivariateNormal(loc, retrograd.ones(3), retrograd.ones(3))
    with pytest.raises(ValueError, match="Expected parameter cov_diag"):
        D.LowRankMultivariateNormal(loc, retrograd.ones(3, 1), retrograd.tensor([-10.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        D.MultivariateNormal(loc, scale_tril=retrograd.eye(3)).log_prob(retrograd.zeros(2))
