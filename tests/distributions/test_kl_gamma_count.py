"""The KL pairs of Gamma, Beta, Dirichlet, Poisson, Binomial and Geometric
(src/retrograd/distributions/_kl_gamma_count.py): values and gradients w.r.t. both distributions'
parameters against torch's, the infinite pairs, and the registry listing them."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.test_kl import check_kl

A = np.array([0.5, 2.0, 7.0])
B = np.array([1.5, 0.3, 2.0])
U = np.array([0.1, 0.3, 0.7])  # uniform's low, high = low + 0.2: inside (0, 1)

GAMMA = lambda m, a, r: m.distributions.Gamma(a, r)  # noqa: E731
BETA = lambda m, a, b: m.distributions.Beta(a, b)  # noqa: E731
UNIFORM = lambda m, lo: m.distributions.Uniform(lo, lo + 0.2)  # noqa: E731

PAIRS = {  # name: (build p, build q, p's parameters, q's parameters)
    "Gamma-Gamma": (GAMMA, GAMMA, [A, B], [B, A]),
    "Beta-Beta": (BETA, BETA, [A, B], [B, A]),
    "Dirichlet-Dirichlet": (lambda m, a: m.distributions.Dirichlet(a), lambda m, a: m.distributions.Dirichlet(a),
                            [np.array([[0.5, 2.0, 7.0], [1.0, 1.0, 3.0]])], [np.array([[1.5, 0.3, 2.0]])]),
    "Poisson-Poisson": (lambda m, r: m.distributions.Poisson(r), lambda m, r: m.distributions.Poisson(r), [A], [B]),
    "Binomial-Binomial": (lambda m, p: m.distributions.Binomial(5, probs=p),
                          lambda m, p: m.distributions.Binomial(5, probs=p), [U], [U[::-1].copy()]),
    "Geometric-Geometric": (lambda m, p: m.distributions.Geometric(p), lambda m, p: m.distributions.Geometric(p),
                            [U], [U[::-1].copy()]),
    "Bernoulli-Poisson": (lambda m, p: m.distributions.Bernoulli(p), lambda m, r: m.distributions.Poisson(r),
                          [U], [A]),
    "Beta-Exponential": (BETA, lambda m, r: m.distributions.Exponential(r), [A, B], [A]),
    "Beta-Gamma": (BETA, GAMMA, [A, B], [B, A]),
    "Beta-Normal": (BETA, lambda m, loc, s: m.distributions.Normal(loc, s), [A, B], [U, A]),
    "Beta-Uniform": (BETA, lambda m, lo: m.distributions.Uniform(lo * 0 - 0.5, lo + 1.0), [A, B], [U]),
    "Exponential-Gamma": (lambda m, r: m.distributions.Exponential(r), GAMMA, [A], [B, A]),
    "Gamma-Exponential": (GAMMA, lambda m, r: m.distributions.Exponential(r), [A, B], [A]),
    "Gamma-Gumbel": (GAMMA, lambda m, loc, s: m.distributions.Gumbel(loc, s), [A, B], [U, A]),
    "Gamma-Normal": (GAMMA, lambda m, loc, s: m.distributions.Normal(loc, s), [A, B], [U, A]),
    "Uniform-Beta": (UNIFORM, BETA, [U], [A, B]),
    "Uniform-Gamma": (lambda m, lo: m.distributions.Uniform(lo, lo + 2.0), GAMMA, [U], [A, B]),
}


@pytest.mark.parametrize("pair", PAIRS)
def test_kl_values_and_gradients_match_torch(pair):
    build_p, build_q, p_params, q_params = PAIRS[pair]
    check_kl(build_p, build_q, p_params, q_params, rtol=1e-6)


def test_binomial_kl_is_infinite_for_more_trials_and_refused_for_fewer():
    p = D.Binomial(retrograd.tensor([5.0, 6.0]), probs=retrograd.tensor([0.3, 0.3]))
    q = D.Binomial(retrograd.tensor([5.0, 5.0]), probs=retrograd.tensor([0.4, 0.4]))
    kl = D.kl_divergence(p, q)
    assert np.isfinite(kl[0].item()) and kl[1].item() == float("inf")
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(q, p)


@pytest.mark.parametrize("p, q", [
    (D.Exponential(1.0), D.Beta(1.0, 2.0)), (D.Gamma(1.0, 1.0), D.Beta(1.0, 2.0)),
    (D.Gamma(1.0, 1.0), D.Uniform(0.0, 1.0)), (D.Gumbel(0.0, 1.0), D.Beta(1.0, 2.0)),
    (D.Gumbel(0.0, 1.0), D.Gamma(1.0, 1.0)), (D.Laplace(0.0, 1.0), D.Beta(1.0, 2.0)),
    (D.Laplace(0.0, 1.0), D.Gamma(1.0, 1.0)), (D.Normal(0.0, 1.0), D.Beta(1.0, 2.0)),
    (D.Normal(0.0, 1.0), D.Gamma(1.0, 1.0)), (D.Poisson(1.0), D.Bernoulli(0.5)),
    (D.Poisson(1.0), D.Binomial(3, probs=retrograd.tensor(0.5))),
])
def test_pairs_with_a_wider_support_under_p_are_infinite(p, q):
    assert D.kl_divergence(p, q).item() == float("inf")


def test_chi2_and_student_t_dispatch_through_their_base_pairs():
    # Chi2 is a Gamma: its KL pairs are the Gamma ones
    np.testing.assert_allclose(D.kl_divergence(D.Chi2(3.0), D.Chi2(5.0)).item(),
                               D.kl_divergence(D.Gamma(1.5, 0.5), D.Gamma(2.5, 0.5)).item(), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="StudentT"):
        D.kl_divergence(D.StudentT(3.0), D.StudentT(4.0))


def test_the_pairs_are_listed_in_kl_divergence_docs():
    for p, q in ["Gamma", "Gamma"], ["Beta", "Normal"], ["Poisson", "Binomial"], ["Uniform", "Gamma"]:
        assert f"distributions.{p}` and :class:`~retrograd.distributions.{q}`" in D.kl_divergence.__doc__
