"""The implicit reparameterization kernels (src/retrograd/distributions/_gamma_sampling.py):
dz/dalpha of Gamma samples against central differences of the CDF (-(dP/dalpha) / p(z)) and
against torch's _standard_gamma_grad; Beta's dx/da in closed form where it has one and
against torch's _dirichlet_grad; P(a, x) against torch's gammainc; the Functions' seeded draws."""

import math

import numpy as np
import pytest

import retrograd
from retrograd.distributions._gamma_sampling import (
    _sample_dirichlet,
    _standard_gamma,
    beta_grad,
    dirichlet_grad,
    regularized_gamma_p,
    standard_gamma_grad,
)
from tests.reference.store import reference

# (alpha, z) over small and large shapes, from far in the lower tail to far in the upper one
ALPHAS = np.array([0.002, 0.05, 0.5, 1.0, 3.0, 10.0, 150.0, 5000.0])
Z_OVER_MEAN = np.array([1e-6, 0.05, 0.5, 0.9, 1.0, 1.1, 2.0, 6.0])
GRID_A, GRID_Z = (g.ravel() for g in np.meshgrid(ALPHAS, Z_OVER_MEAN))
GRID_Z = GRID_Z * GRID_A + np.where(GRID_Z > 1, 3 * np.sqrt(GRID_A) * (GRID_Z - 1), 0.0)  # upper tail wider


def test_gamma_grad_is_minus_the_cdf_derivative_over_the_density():
    h = 1e-5 * GRID_A
    dp_dalpha = (regularized_gamma_p(GRID_A + h, GRID_Z) - regularized_gamma_p(GRID_A - h, GRID_Z)) / (2 * h)
    log_density = (GRID_A - 1) * np.log(GRID_Z) - GRID_Z - np.array([math.lgamma(a) for a in GRID_A])
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = -dp_dalpha / np.exp(log_density)
    got = standard_gamma_grad(GRID_Z, GRID_A)
    # the central difference loses digits where P is near 1 (cancellation in P(a+h) - P(a-h))
    usable = (regularized_gamma_p(GRID_A, GRID_Z) < 0.999) & (np.abs(dp_dalpha) > 1e-8)
    assert usable.sum() > 40
    np.testing.assert_allclose(got[usable], expected[usable], rtol=2e-5)
    assert (got > 0).all()


def test_gamma_grad_matches_torch():
    def torch_grad():
        import torch
        return torch._standard_gamma_grad(torch.tensor(GRID_A), torch.tensor(GRID_Z)).numpy()

    expected = reference(torch_grad, [GRID_A, GRID_Z])
    got = standard_gamma_grad(GRID_Z, GRID_A)
    # torch returns 0 where its small-z series underflows (z = 1e-6 alpha for alpha 150 and 5000);
    # elsewhere its rational and saddle-point approximations agree to 2e-2, mostly far better
    zero = expected == 0
    assert (GRID_A[zero] >= 150).all() and (GRID_Z[zero] < 0.01).all() and (got[zero] > 1e-5).all()
    np.testing.assert_allclose(got[~zero], expected[~zero], rtol=2e-2)
    assert np.median(np.abs(got[~zero] / expected[~zero] - 1)) < 1e-4


def test_gamma_grad_far_in_the_lower_tail():
    """At small z, P(a, z) = z^a / Gamma(a + 1) (1 + O(z)), so dz/dalpha = z (psi(a + 1) - log z) / a."""
    z = np.array([1e-300, 1e-30, 1e-8])
    for a in (0.01, 1.0, 7.0):
        expected = z * (float(_digamma(a + 1)) - np.log(z)) / a
        np.testing.assert_allclose(standard_gamma_grad(z, a), expected, rtol=1e-6)


def _digamma(x):
    from retrograd.ops._special_kernels import digamma
    with np.errstate(divide="ignore"):
        return digamma(np.asarray(x, dtype=np.float64))


@pytest.mark.parametrize("a", [0.03, 0.7, 2.5, 40.0, 3000.0])
def test_beta_grad_in_closed_form_for_b_equal_one(a):
    """Beta(a, 1) has CDF x^a: x = u^(1/a), so dx/da = -x log(x) / a."""
    x = np.array([1e-200, 1e-9, 0.01, 0.3, 0.9, 0.999, 1 - 1e-9])
    np.testing.assert_allclose(beta_grad(x, a, 1.0), -x * np.log(x) / a, rtol=1e-6)


def test_dirichlet_grad_matches_torch():
    rng = np.random.default_rng(0)
    alpha = np.array([0.01, 0.3, 1.0, 4.0, 60.0, 2000.0])
    total = alpha + np.array([0.02, 7.0, 1.0, 0.5, 300.0, 40.0])
    x = np.concatenate([rng.beta(alpha, total - alpha) for _ in range(4)])
    a, t = np.tile(alpha, 4), np.tile(total, 4)
    x = np.clip(x, 1e-300, 1 - 1e-12)

    def torch_grad():
        import torch
        return torch._dirichlet_grad(torch.tensor(x), torch.tensor(a), torch.tensor(t)).numpy()

    expected = reference(torch_grad, [x, a, t])
    np.testing.assert_allclose(dirichlet_grad(x, a, t), expected, rtol=2e-2, atol=1e-12)


def test_regularized_gamma_p_matches_torch_gammainc():
    a = np.repeat([1e-3, 0.1, 1.0, 2.5, 30.0, 1e4], 5)
    x = a * np.tile([1e-4, 0.5, 1.0, 1.3, 4.0], 6) + np.tile([0, 0, 0, 0, 1.0], 6)

    def torch_p():
        import torch
        return torch.special.gammainc(torch.tensor(a), torch.tensor(x)).numpy()

    # torch's value at a = x = 30 is 6e-10 off (mpmath: 0.52428301389368, as here)
    np.testing.assert_allclose(regularized_gamma_p(a, x), reference(torch_p, [a, x]), rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(regularized_gamma_p([2.0, 2.0], [0.0, np.inf]), [0.0, 1.0])


def test_seeded_draws_repeat_and_keep_dtype():
    alpha = retrograd.tensor([0.5, 2.0, 9.0])
    retrograd.manual_seed(11)
    first = _standard_gamma(alpha)
    retrograd.manual_seed(11)
    assert first.dtype == retrograd.float32 and _standard_gamma(alpha).tolist() == first.tolist()
    g = retrograd.Generator().manual_seed(3)
    x = _sample_dirichlet(retrograd.tensor([[1.0, 2.0], [0.5, 0.5]], dtype=retrograd.float64), g)
    assert x.dtype == retrograd.float64 and np.allclose(x.sum(-1).numpy(), 1.0)
    # a concentration <= 0 or nan draws the smallest normal number, as torch's sampler (it raised)
    tiny = retrograd.finfo(retrograd.float32).tiny
    assert _standard_gamma(retrograd.tensor([1.0, 0.0, -1.0, float("nan")])).tolist()[1:] == [tiny] * 3
    assert _sample_dirichlet(retrograd.tensor([0.0, 0.0])).tolist() == [0.5, 0.5]
    with pytest.raises(NotImplementedError, match="\"gamma_cpu\" not implemented for 'Long'"):
        _standard_gamma(retrograd.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"dirichlet\" not implemented for 'Long'"):
        _sample_dirichlet(retrograd.tensor([1, 2]))


def test_gamma_sample_gradient_has_no_second_derivative_as_torch():
    a = retrograd.tensor([2.0], dtype=retrograd.float64, requires_grad=True)
    z = _standard_gamma(a)
    (g,) = retrograd.autograd.grad(z.sum(), [a], create_graph=True)
    np.testing.assert_allclose(g.item(), standard_gamma_grad(z.detach().numpy(), 2.0)[0], rtol=1e-12)
    with pytest.raises(NotImplementedError, match="_standard_gamma_grad"):
        g.backward()


@pytest.mark.parametrize("draw", [lambda a: _standard_gamma(a), lambda a: _sample_dirichlet(a)])
def test_a_sample_changed_in_place_cannot_be_differentiated(draw):
    a = retrograd.tensor([2.0, 1.0], requires_grad=True)
    x = draw(a)
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        x.sum().backward()


def test_half_precision_samplers_raise_on_the_cpu_as_torch():
    # torch's CPU gamma/dirichlet/binomial kernels have no float16/bfloat16 version (retrograd drew)
    for dtype, name in ((retrograd.float16, "Half"), (retrograd.bfloat16, "BFloat16")):
        ones = retrograd.ones(2, dtype=dtype)
        with pytest.raises(NotImplementedError, match=f"\"gamma_cpu\" not implemented for '{name}'"):
            _standard_gamma(ones)
        with pytest.raises(NotImplementedError, match=f"\"dirichlet\" not implemented for '{name}'"):
            _sample_dirichlet(ones)
        with pytest.raises(NotImplementedError, match=f"\"binomial_cpu\" not implemented for '{name}'"):
            retrograd.binomial(ones, ones / 2)
        with pytest.raises(NotImplementedError):
            retrograd.distributions.Beta(ones, 1.0).rsample()
