"""Gamma, Chi2, Beta, Dirichlet and StudentT (src/retrograd/distributions/gamma.py, chi2.py,
beta.py, dirichlet.py, studentT.py): values and parameter gradients against torch, shapes and
expand, reparameterized samples (their gradients against the implicit formula, and the
identity E[dz/dalpha] = dE[z]/dalpha), seeded sample moments, validation errors."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from retrograd.distributions._gamma_sampling import dirichlet_grad, standard_gamma_grad
from tests.distributions.checks import check_against_torch, check_moments
from tests.helpers import requires_torch

CONC = np.array([[0.5, 2.0, 7.0]])
RATE = np.array([[1.5], [0.3]])
X_POS = [0.3, 1.7, 4.0]
X_UNIT = [0.3, 0.7, 0.95]
ALPHA = np.array([[0.5, 2.0, 7.0], [1.0, 1.0, 3.0]])
SIMPLEX = [[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]
MOMENTS_AND_ENTROPY = ["entropy", "mean", "mode", "variance", "stddev"]

FAMILIES = {  # name: (build, params, values, methods)
    "Gamma": (lambda m, a, r: m.distributions.Gamma(a, r), [CONC, RATE], X_POS,
              ["log_prob", *MOMENTS_AND_ENTROPY]),
    "Chi2": (lambda m, df: m.distributions.Chi2(df), [np.array([0.5, 3.0, 7.0])], X_POS,
             ["log_prob", "df", *MOMENTS_AND_ENTROPY]),
    "Beta": (lambda m, a, b: m.distributions.Beta(a, b), [CONC, RATE], X_UNIT,
             ["log_prob", "concentration1", "concentration0", *MOMENTS_AND_ENTROPY]),
    "Dirichlet": (lambda m, a: m.distributions.Dirichlet(a), [ALPHA], SIMPLEX,
                  ["log_prob", *MOMENTS_AND_ENTROPY]),
    "StudentT": (lambda m, df, loc, s: m.distributions.StudentT(df, loc, s),
                 [np.array([0.8, 1.5, 7.0]), np.array([[0.0], [-1.0]]), np.array([[1.0], [2.0]])], X_POS,
                 ["log_prob", "entropy", "mean", "mode", "variance"]),
}


@pytest.mark.parametrize("name", FAMILIES)
def test_values_and_gradients_match_torch(name):
    build, params, x, methods = FAMILIES[name]
    check_against_torch(build, params, methods, {"log_prob": x, "cdf": x}, rtol=1e-6)


def test_gamma_cdf_and_its_rate_gradient_match_torch():
    """torch.special.gammainc has no concentration derivative, so the concentration is a constant here."""
    build = lambda m, r: m.distributions.Gamma(m.tensor(CONC, dtype=m.float64), r)  # noqa: E731
    check_against_torch(build, [RATE], ["cdf"], {"cdf": [1e-3, 1.7, 40.0]}, rtol=1e-9)
    build = lambda m: m.distributions.Chi2(m.tensor([0.5, 3.0, 700.0], dtype=m.float64)).expand((2, 3))  # noqa: E731
    check_against_torch(build, [], ["cdf"], {"cdf": [[0.2], [690.0]]}, rtol=1e-9)


def test_dirichlet_mode_with_concentrations_below_one_is_a_vertex():
    alpha = [[0.5, 0.2, 0.9], [2.0, 3.0, 0.5]]
    check_against_torch(lambda m, a: m.distributions.Dirichlet(a), [alpha], ["mode"])


@pytest.mark.parametrize("name, batch, event", [("Gamma", (2, 3), ()), ("Chi2", (3,), ()),
                                                ("Beta", (2, 3), ()), ("Dirichlet", (2,), (3,)),
                                                ("StudentT", (2, 3), ())])
def test_shapes_expand_and_rsample(name, batch, event):
    build, params, _, _ = FAMILIES[name]
    d = build(retrograd, *(retrograd.tensor(p) for p in params))
    assert d.batch_shape == batch and d.event_shape == event and d.has_rsample
    assert d.rsample((4,)).shape == (4, *batch, *event) and d.sample().shape == (*batch, *event)
    e = d.expand((5, *batch))
    assert type(e) is type(d) and e.batch_shape == (5, *batch) and e.sample((2,)).shape == (2, 5, *batch, *event)
    assert e.support is d.support and not d.sample().requires_grad


def test_gamma_rsample_gradient_is_the_implicit_derivative_over_the_rate():
    retrograd.manual_seed(0)
    alpha = retrograd.tensor([0.3, 1.0, 4.0, 50.0], dtype=retrograd.float64, requires_grad=True)
    rate = retrograd.tensor([2.0, 0.5, 1.0, 3.0], dtype=retrograd.float64, requires_grad=True)
    z = D.Gamma(alpha, rate).rsample()
    ga, gr = retrograd.autograd.grad(z.sum(), [alpha, rate])
    raw = (z * rate).detach().numpy()  # the Gamma(alpha, 1) draw
    np.testing.assert_allclose(ga.numpy(), standard_gamma_grad(raw, alpha.detach().numpy()) / rate.detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(gr.numpy(), -z.detach().numpy() / rate.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 3.5, 40.0])
def test_expected_rsample_gradients_equal_the_moment_derivatives(alpha):
    """d/dalpha E[z] = 1 and d/dalpha E[z^2] = 2 alpha + 1 for z ~ Gamma(alpha, 1): the mean of the
    pathwise gradients over seeded draws is within 5 standard errors."""
    retrograd.manual_seed(3)
    a = retrograd.tensor(alpha, dtype=retrograd.float64, requires_grad=True)
    z = D.Gamma(a, 1.0).rsample((8000,))
    for power, expected in [(1, 1.0), (2, 2 * alpha + 1)]:
        per_draw = power * z.detach().numpy() ** (power - 1) * standard_gamma_grad(z.detach().numpy(), alpha)
        (g,) = retrograd.autograd.grad((z ** power).mean(), [a], retain_graph=True)
        np.testing.assert_allclose(g.item(), per_draw.mean(), rtol=1e-10)
        assert abs(g.item() - expected) < 5 * per_draw.std() / np.sqrt(per_draw.size)


def test_beta_rsample_gradients_have_the_moment_derivatives():
    """d/da E[x] = b / (a + b)^2 and d/db E[x] = -a / (a + b)^2 for x ~ Beta(a, b)."""
    retrograd.manual_seed(4)
    a = retrograd.tensor([0.4, 2.0, 9.0], dtype=retrograd.float64, requires_grad=True)
    b = retrograd.tensor([1.5, 0.3, 9.0], dtype=retrograd.float64, requires_grad=True)
    x = D.Beta(a, b).rsample((6000,))
    ga, gb = retrograd.autograd.grad(x.mean(0).sum(), [a, b])
    an, bn = a.detach().numpy(), b.detach().numpy()
    # the standard error of each mean gradient, from the per-draw gradients of x
    xn = x.detach().numpy()
    per_draw_a = dirichlet_grad(xn, an, an + bn) * (1 - xn)
    per_draw_b = -xn * dirichlet_grad(1 - xn, bn, an + bn)
    for g, per_draw, expected in [(ga, per_draw_a, bn / (an + bn) ** 2), (gb, per_draw_b, -an / (an + bn) ** 2)]:
        np.testing.assert_allclose(g.numpy(), per_draw.mean(0), rtol=1e-9)
        np.testing.assert_array_less(np.abs(g.numpy() - expected), 5 * per_draw.std(0) / np.sqrt(6000))


def test_dirichlet_rsample_gradient_has_the_mean_derivative():
    """d/dalpha_j E[x_i] = (delta_ij A - alpha_i) / A^2 for A = sum(alpha)."""
    retrograd.manual_seed(5)
    alpha = np.array([0.7, 2.0, 4.0])
    a = retrograd.tensor(alpha, dtype=retrograd.float64, requires_grad=True)
    x = D.Dirichlet(a).rsample((6000,))
    total = alpha.sum()
    for i in range(3):
        (g,) = retrograd.autograd.grad(x[:, i].mean(), [a], retain_graph=True)
        expected = ((np.arange(3) == i) * total - alpha[i]) / total ** 2
        np.testing.assert_allclose(g.numpy(), expected, atol=0.006)
    assert np.allclose(x.detach().numpy().sum(-1), 1.0)


@requires_torch
def test_dirichlet_backward_matches_torch_for_the_same_samples():
    import torch
    from torch.distributions.dirichlet import _Dirichlet_backward

    retrograd.manual_seed(6)
    alpha = np.array([[0.3, 1.0, 5.0, 2.0], [4.0, 0.05, 1.0, 30.0]])
    weights = np.array([[1.0, -2.0, 0.5, 3.0], [0.2, 1.0, -1.0, 2.0]])
    a = retrograd.tensor(alpha, requires_grad=True)
    x = D.Dirichlet(a).rsample()
    (got,) = retrograd.autograd.grad((x * retrograd.tensor(weights)).sum(), [a])
    expected = _Dirichlet_backward(torch.tensor(x.detach().numpy()), torch.tensor(alpha), torch.tensor(weights))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=2e-3, atol=1e-8)


def test_student_t_rsample_is_loc_plus_scale_times_a_ratio():
    retrograd.manual_seed(7)
    df, loc, scale = (retrograd.tensor(v, dtype=retrograd.float64, requires_grad=True) for v in (3.0, 1.0, 2.0))
    y = D.StudentT(df, loc, scale).rsample((5,))
    g_loc, g_scale, g_df = retrograd.autograd.grad(y.sum(), [loc, scale, df])
    assert g_loc.item() == 5.0
    np.testing.assert_allclose(g_scale.item(), ((y - loc) / scale).sum().item(), rtol=1e-12)
    assert np.isfinite(g_df.item()) and g_df.item() != 0.0


def test_student_t_df_gradient_has_the_variance_derivative():
    """E[y^2] = df / (df - 2) for y ~ StudentT(df), so its pathwise df-gradient averages to
    -2 / (df - 2)^2: within 5 standard errors (from 10 batches) over seeded draws."""
    retrograd.manual_seed(9)
    df = retrograd.tensor(12.0, dtype=retrograd.float64, requires_grad=True)
    y = D.StudentT(df).rsample((10, 2000))
    grads = [retrograd.autograd.grad((y[i] ** 2).mean(), [df], retain_graph=True)[0].item() for i in range(10)]
    assert abs(np.mean(grads) + 2 / 10 ** 2) < 5 * np.std(grads, ddof=1) / np.sqrt(10)


MOMENTS = {  # name: (distribution, mean, variance) in float64
    "Gamma": (lambda t: D.Gamma(t([0.3, 4.0]), t([2.0, 0.5])), [0.15, 8.0], [0.075, 16.0]),
    "Chi2": (lambda t: D.Chi2(t([1.0, 6.0])), [1.0, 6.0], [2.0, 12.0]),
    "Beta": (lambda t: D.Beta(t([0.5, 3.0]), t([0.5, 1.5])), [0.5, 2 / 3], [0.125, 4.5 / (4.5 ** 2 * 5.5)]),
    "Dirichlet": (lambda t: D.Dirichlet(t([1.0, 2.0, 5.0])), [0.125, 0.25, 0.625],
                  [7 / (64 * 9), 12 / (64 * 9), 15 / (64 * 9)]),
    "StudentT": (lambda t: D.StudentT(t([6.0, 9.0]), t([1.0, -2.0]), t([0.5, 2.0])), [1.0, -2.0],
                 [0.25 * 1.5, 4 * 9 / 7]),
}


@pytest.mark.parametrize("name", MOMENTS)
def test_sample_moments_with_a_fixed_seed(name):
    make, mean, variance = MOMENTS[name]
    retrograd.manual_seed(1)
    d = make(lambda v: retrograd.tensor(v, dtype=retrograd.float64))
    check_moments(d.sample((20000,)).numpy(), mean, variance)
    np.testing.assert_allclose(d.mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(d.variance.numpy(), variance, rtol=1e-12)


def test_float32_samples_stay_positive_and_finite():
    retrograd.manual_seed(8)
    z = D.Gamma(retrograd.tensor([1e-3, 0.05]), 1.0).sample((1000,))
    assert z.dtype == retrograd.float32 and (z > 0).all().item() and z.isfinite().all().item()
    x = D.Dirichlet(retrograd.tensor([0.01, 0.01, 0.01])).sample((100,))
    assert x.isfinite().all().item() and np.allclose(x.sum(-1).numpy(), 1.0, atol=1e-5)


def test_student_t_moments_are_nan_or_inf_without_them():
    d = D.StudentT(retrograd.tensor([0.5, 1.5, 3.0]))
    assert d.mean[0].isnan().item() and d.mean[1:].tolist() == [0.0, 0.0]
    assert d.variance[0].isnan().item() and d.variance[1].isinf().item() and d.variance[2].item() == 3.0


def test_gamma_cdf_has_no_concentration_gradient_as_torch():
    a = retrograd.tensor([2.0], requires_grad=True)
    c = D.Gamma(a, 1.0).cdf(retrograd.tensor([1.0]))
    np.testing.assert_allclose(c.item(), 1 - 2 * np.exp(-1.0), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="igamma: input"):
        c.backward()


@pytest.mark.parametrize("make, error, message", [
    (lambda: D.Gamma(retrograd.tensor([1.0, -1.0]), 1.0), ValueError, "Expected parameter concentration"),
    (lambda: D.Gamma(1.0, 0.0), ValueError, "Expected parameter rate"),
    (lambda: D.Chi2(retrograd.tensor([-2.0])), ValueError, "Expected parameter df"),
    (lambda: D.Beta(0.0, 1.0), ValueError, "Expected parameter concentration"),
    (lambda: D.Dirichlet(retrograd.tensor([1.0, -0.5])), ValueError, "Expected parameter concentration"),
    (lambda: D.Dirichlet(retrograd.tensor(1.0)), ValueError, "must be at least one-dimensional"),
    (lambda: D.StudentT(retrograd.tensor([1.0]), scale=-1.0), ValueError, "Expected parameter scale"),
])
def test_bad_parameters_raise(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_values_outside_the_support_raise_value_error():
    with pytest.raises(ValueError, match="to be within the support"):
        D.Gamma(1.0, 1.0).log_prob(retrograd.tensor(-0.5))
    with pytest.raises(ValueError, match="to be within the support"):
        D.Beta(1.0, 1.0).log_prob(retrograd.tensor(1.5))
    with pytest.raises(ValueError, match="to be within the support .*Simplex"):
        D.Dirichlet(retrograd.tensor([1.0, 1.0])).log_prob(retrograd.tensor([0.7, 0.7]))
    assert D.Gamma(1.0, 1.0, validate_args=False).log_prob(retrograd.tensor(-0.5)).item() == 0.5


def test_beta_log_prob_promotes_the_value_and_scalar_parameters_as_torch():
    # torch's Beta is a Dirichlet over (x, 1 - x) whose parameters are never 0-dim: a float32
    # value with float64 scalar parameters gives float64 (retrograd gave float32)
    d = D.Beta(retrograd.tensor(2.0, dtype=retrograd.float64), retrograd.tensor(3.0, dtype=retrograd.float64))
    lp = d.log_prob(retrograd.tensor([0.25, 0.5]))
    assert lp.dtype == retrograd.float64
    np.testing.assert_allclose(lp.numpy(), np.log(12 * np.array([0.25, 0.5]) * (1 - np.array([0.25, 0.5])) ** 2),
                               rtol=1e-7)
    assert D.Beta(2.0, 3.0).log_prob(retrograd.tensor(0.5, dtype=retrograd.float64)).dtype == retrograd.float64
