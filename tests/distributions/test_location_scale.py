"""Continuous families with closed forms: Uniform, Exponential, Laplace, Cauchy, Gumbel,
LogNormal, HalfNormal, HalfCauchy (src/retrograd/distributions/<family>.py). Values and
parameter gradients against torch, shapes, rsample gradients, sample moments, validation."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch, check_moments, rsample_gradcheck

A = np.array([[-1.0, 0.5, 2.0]])
B = np.array([[0.5], [2.0]])
X = [0.3, 1.0, 2.5]  # in every family's support (Uniform's below)
P = [0.1, 0.5, 0.95]

FAMILIES = {  # name: (build, params, log_prob/cdf values, methods)
    "Uniform": (lambda m, lo, w: m.distributions.Uniform(lo, lo + w), [A, B], [-0.8, 0.7, 2.3],
                ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]),
    "Exponential": (lambda m, r: m.distributions.Exponential(r), [np.array([0.5, 2.0, 3.0])], X,
                    ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]),
    "Laplace": (lambda m, loc, s: m.distributions.Laplace(loc, s), [A, B], X,
                ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]),
    "Cauchy": (lambda m, loc, s: m.distributions.Cauchy(loc, s), [A, B], X,
               ["log_prob", "cdf", "icdf", "entropy", "mode"]),
    "Gumbel": (lambda m, loc, s: m.distributions.Gumbel(loc, s), [A, B], X,
               ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]),
    "LogNormal": (lambda m, loc, s: m.distributions.LogNormal(loc, s), [A, B], X,
                  ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]),
    "HalfNormal": (lambda m, s: m.distributions.HalfNormal(s), [np.array([0.5, 1.0, 2.0])], X,
                   ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]),
    "HalfCauchy": (lambda m, s: m.distributions.HalfCauchy(s), [np.array([0.5, 1.0, 2.0])], X,
                   ["log_prob", "cdf", "icdf", "entropy", "mode"]),
}


@pytest.mark.parametrize("name", FAMILIES)
def test_values_and_gradients_match_torch(name):
    build, params, x, methods = FAMILIES[name]
    check_against_torch(build, params, methods, {"log_prob": x, "cdf": x, "icdf": P}, rtol=1e-6)


@pytest.mark.parametrize("name", FAMILIES)
def test_rsample_shapes_expand_and_gradients(name):
    build, params, _, _ = FAMILIES[name]
    d = build(retrograd, *(retrograd.tensor(p) for p in params))
    batch = np.broadcast_shapes(*(np.shape(p) for p in params))
    assert d.batch_shape == batch and d.event_shape == () and d.has_rsample
    assert d.rsample((4,)).shape == (4, *batch) and d.sample().shape == batch
    e = d.expand((5, *batch))
    assert type(e) is type(d) and e.batch_shape == (5, *batch) and e.sample((2,)).shape == (2, 5, *batch)
    assert rsample_gradcheck(build, params, (2,))


MOMENTS = {  # name: (distribution, mean, variance) in float64
    "Uniform": (lambda t: D.Uniform(t([-1.0, 2.0]), t([3.0, 2.5])), [1.0, 2.25], [16 / 12, 0.25 / 12]),
    "Exponential": (lambda t: D.Exponential(t([0.5, 4.0])), [2.0, 0.25], [4.0, 1 / 16]),
    "Laplace": (lambda t: D.Laplace(t([1.0, -2.0]), t([0.5, 2.0])), [1.0, -2.0], [0.5, 8.0]),
    "Gumbel": (lambda t: D.Gumbel(t([1.0, -2.0]), t([0.5, 2.0])), [1.0 + 0.5 * 0.5772156649, -2.0 + 2 * 0.5772156649],
               [np.pi ** 2 / 6 * 0.25, np.pi ** 2 / 6 * 4]),
    "LogNormal": (lambda t: D.LogNormal(t([0.0, 0.5]), t([0.25, 0.5])),
                  [np.exp(0.25 ** 2 / 2), np.exp(0.5 + 0.125)],
                  [(np.exp(0.0625) - 1) * np.exp(0.0625), (np.exp(0.25) - 1) * np.exp(1.25)]),
    "HalfNormal": (lambda t: D.HalfNormal(t([0.5, 2.0])), [0.5 * np.sqrt(2 / np.pi), 2 * np.sqrt(2 / np.pi)],
                   [0.25 * (1 - 2 / np.pi), 4 * (1 - 2 / np.pi)]),
}


@pytest.mark.parametrize("name", MOMENTS)
def test_sample_moments_with_a_fixed_seed(name):
    make, mean, variance = MOMENTS[name]
    retrograd.manual_seed(1)
    d = make(lambda v: retrograd.tensor(v, dtype=retrograd.float64))
    check_moments(d.sample((20000,)).numpy(), mean, variance)
    np.testing.assert_allclose(d.mean.numpy(), mean, rtol=1e-9)
    np.testing.assert_allclose(d.variance.numpy(), variance, rtol=1e-12)


def test_cauchy_samples_have_the_median_and_quartiles():
    retrograd.manual_seed(2)
    x = D.Cauchy(retrograd.tensor(1.0), retrograd.tensor(2.0)).sample((20000,)).numpy()
    # the sample quartiles of 20000 draws are within about 0.05 of -1, 1, 3
    np.testing.assert_allclose(np.quantile(x, [0.25, 0.5, 0.75]), [-1.0, 1.0, 3.0], atol=0.12)
    assert D.Cauchy(0.0, 1.0).mean.isnan().item() and D.Cauchy(0.0, 1.0).variance.isinf().item()


@pytest.mark.parametrize("make, message", [
    (lambda: D.Uniform(retrograd.tensor([0.0, 1.0]), retrograd.tensor([1.0, 0.5])), "Expected parameter low"),
    (lambda: D.Exponential(retrograd.tensor([-1.0])), "Expected parameter rate"),
    (lambda: D.Laplace(0.0, 0.0), "Expected parameter scale"),
    (lambda: D.Cauchy(float("nan"), 1.0), "Expected parameter loc"),
    (lambda: D.Gumbel(0.0, -1.0), "Expected parameter scale"),
    (lambda: D.HalfNormal(-1.0), "Expected parameter scale"),
])
def test_bad_parameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_values_outside_the_support_raise_value_error():
    with pytest.raises(ValueError, match="Expected value argument .* to be within the support"):
        D.Uniform(0.0, 1.0).log_prob(retrograd.tensor(1.5))
    with pytest.raises(ValueError, match="to be within the support .*GreaterThanEq"):
        D.Exponential(1.0).log_prob(retrograd.tensor(-0.5))
    with pytest.raises(ValueError, match="to be within the support"):
        D.LogNormal(0.0, 1.0).log_prob(retrograd.tensor(-1.0))
    assert D.Uniform(0.0, 1.0, validate_args=False).log_prob(retrograd.tensor(1.5)).item() == float("-inf")


def test_half_normal_log_prob_keeps_the_value_dtype_half_cauchy_casts_it_as_torch():
    # torch's HalfNormal.log_prob computes with the value as given; its HalfCauchy converts the
    # value to the parameters' dtype first (retrograd converted for both)
    f32, f64 = retrograd.float32, retrograd.float64
    value = retrograd.tensor([0.5, 1.0], dtype=f64)
    assert D.HalfNormal(retrograd.tensor(1.0)).log_prob(value).dtype == f64
    assert D.HalfCauchy(retrograd.tensor(1.0)).log_prob(value).dtype == f32
    assert D.HalfNormal(retrograd.tensor(1.0, dtype=f64)).log_prob(value.float()).dtype == f32
    with pytest.raises(RuntimeError, match="bool"):
        D.HalfNormal(1.0).log_prob(retrograd.tensor([True, False]))
