"""Poisson, Binomial and Geometric (src/retrograd/distributions/poisson.py, binomial.py,
geometric.py): values and parameter gradients against torch, enumerate_support, shapes and
expand, chi-square tests of seeded samples, validation errors."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch, check_moments, chi_square_statistic

COUNTS = [[0.0, 2.0, 5.0], [1.0, 0.0, 3.0]]
RATES = np.array([[0.5, 2.0, 7.0]])
PROBS = np.array([[0.1, 0.5, 0.8], [0.3, 0.95, 0.02]])
LOGITS = np.array([[-1.0, 0.5, 2.0]])

CASES = {  # name: (build, params, log_prob values, methods)
    "Poisson": (lambda m, r: m.distributions.Poisson(r), [RATES], COUNTS, ["log_prob", "mean", "mode", "variance"]),
    "Binomial-probs": (lambda m, p: m.distributions.Binomial(10, probs=p), [PROBS], COUNTS,
                       ["log_prob", "entropy", "mean", "mode", "variance", "logits"]),
    "Binomial-logits": (lambda m, lg: m.distributions.Binomial(m.tensor([[5.0], [8.0]], dtype=m.float64), logits=lg),
                        [LOGITS], COUNTS, ["log_prob", "mean", "mode", "variance", "probs"]),
    "Geometric-probs": (lambda m, p: m.distributions.Geometric(probs=p), [PROBS], COUNTS,
                        ["log_prob", "entropy", "mean", "mode", "variance", "logits"]),
    "Geometric-logits": (lambda m, lg: m.distributions.Geometric(logits=lg), [LOGITS], COUNTS,
                         ["log_prob", "entropy", "mean", "variance", "probs"]),
}


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_torch(case):
    build, params, x, methods = CASES[case]
    check_against_torch(build, params, methods, {"log_prob": x})


def test_geometric_with_probability_one_puts_all_mass_at_zero():
    check_against_torch(lambda m, p: m.distributions.Geometric(probs=p), [[1.0, 0.5]], ["log_prob"],
                        {"log_prob": [[0.0, 0.0], [3.0, 3.0]]})


def test_binomial_enumerate_support_and_shapes():
    d = D.Binomial(3, probs=retrograd.tensor([0.2, 0.7]))
    assert d.batch_shape == (2,) and d.event_shape == () and not d.has_rsample and d.has_enumerate_support
    assert d.enumerate_support().tolist() == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    assert d.enumerate_support(expand=False).shape == (4, 1) and d.param_shape == (2,)
    assert d.support.upper_bound.tolist() == [3.0, 3.0] and d.sample((5,)).shape == (5, 2)
    e = d.expand((4, 2))
    assert type(e) is Binomial and e.batch_shape == (4, 2) and e.total_count.shape == (4, 2)
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        D.Binomial(retrograd.tensor([2.0, 3.0]), probs=retrograd.tensor([0.5, 0.5])).entropy()
    with pytest.raises(NotImplementedError):
        d.rsample()


Binomial = D.Binomial


@pytest.mark.parametrize("make, batch", [(lambda: D.Poisson(retrograd.tensor([1.0, 4.0])), (2,)),
                                         (lambda: D.Geometric(retrograd.tensor([[0.3], [0.6]])), (2, 1))])
def test_shapes_and_expand(make, batch):
    d = make()
    assert d.batch_shape == batch and not d.has_rsample and d.sample((3,)).shape == (3, *batch)
    e = d.expand((4, *batch))
    assert type(e) is type(d) and e.sample().shape == (4, *batch)


def _pmf(d, support):
    return np.exp(d.log_prob(retrograd.tensor(support, dtype=retrograd.float64)).numpy())


@pytest.mark.parametrize("make, top", [
    (lambda: D.Poisson(retrograd.tensor(3.5, dtype=retrograd.float64)), 12),
    (lambda: D.Binomial(9, probs=retrograd.tensor(0.35, dtype=retrograd.float64)), 9),
    (lambda: D.Geometric(probs=retrograd.tensor(0.3, dtype=retrograd.float64)), 12),
])
def test_seeded_samples_pass_a_chi_square_test(make, top):
    """Counts 0..top-1 and a last bin for >= top, against the pmf: below the 99.9% quantile."""
    retrograd.manual_seed(0)
    d = make()
    x = d.sample((20000,)).numpy()
    assert (x == np.floor(x)).all() and x.min() >= 0
    counts = np.bincount(np.minimum(x.astype(np.int64), top), minlength=top + 1)
    probs = _pmf(d, np.arange(top, dtype=np.float64))
    probs = np.append(probs, 1 - probs.sum())
    keep = probs > 1e-9
    stat = chi_square_statistic(counts[keep], probs[keep] / probs[keep].sum())
    assert stat < {12: 32.9, 9: 27.9}.get(keep.sum() - 1, 34.5)  # chi-square 99.9% quantiles for df 12, 9


def test_sample_moments_with_a_fixed_seed():
    retrograd.manual_seed(2)
    t = lambda v: retrograd.tensor(v, dtype=retrograd.float64)  # noqa: E731
    for d, mean, variance in [(D.Poisson(t([0.2, 30.0])), [0.2, 30.0], [0.2, 30.0]),
                              (D.Binomial(t([4.0, 50.0]), probs=t([0.5, 0.1])), [2.0, 5.0], [1.0, 4.5]),
                              (D.Geometric(t([0.25, 0.9])), [3.0, 1 / 9], [12.0, (1 / 0.9 - 1) / 0.9])]:
        check_moments(d.sample((20000,)).numpy(), mean, variance)
        np.testing.assert_allclose(d.mean.numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(d.variance.numpy(), variance, rtol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda: D.Poisson(retrograd.tensor([-1.0])), "Expected parameter rate"),
    (lambda: D.Binomial(-1, probs=retrograd.tensor(0.5)), "Expected parameter total_count"),
    (lambda: D.Binomial(2.5, probs=retrograd.tensor(0.5)), "Expected parameter total_count"),
    (lambda: D.Binomial(3, probs=retrograd.tensor(1.5)), "Expected parameter probs"),
    (lambda: D.Binomial(3), "Either `probs` or `logits` must be specified"),
    (lambda: D.Geometric(retrograd.tensor([0.0, 0.5])), "to be positive but found invalid values"),
    (lambda: D.Geometric(probs=0.5, logits=0.0), "Either `probs` or `logits` must be specified"),
])
def test_bad_parameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_values_outside_the_support_raise_value_error():
    with pytest.raises(ValueError, match="to be within the support .*IntegerGreaterThan"):
        D.Poisson(retrograd.tensor(1.0)).log_prob(retrograd.tensor(1.5))
    with pytest.raises(ValueError, match="to be within the support .*IntegerInterval"):
        D.Binomial(3, probs=retrograd.tensor(0.5)).log_prob(retrograd.tensor(4.0))
    with pytest.raises(ValueError, match="to be within the support"):
        D.Geometric(retrograd.tensor(0.5)).log_prob(retrograd.tensor(-1.0))


def test_samples_of_scalar_parameters_and_through_torch_binomial():
    # Poisson(3.).sample() raised AttributeError (a 0-dim rate); NegativeBinomial's valid
    # total_count 0 raised in its Gamma draw (torch: all zeros)
    assert D.Poisson(3.0).sample().shape == () and D.Poisson(3.0).sample((2,)).shape == (2,)
    assert D.NegativeBinomial(retrograd.tensor([0.0, 0.0]), 0.5).sample((3,)).tolist() == [[0.0, 0.0]] * 3
    # Binomial.sample is torch.binomial's: an integer total_count raises its ValueError, and with
    # validation off probs above 1 are clipped and negative counts draw 0 (NumPy's errors leaked)
    with pytest.raises(ValueError, match="binomial only supports floating-point dtypes for count, got: Long"):
        D.Binomial(retrograd.tensor([2, 3]), 0.5).sample()
    assert D.Binomial(10, 1.2, validate_args=False).sample((2,)).tolist() == [10.0, 10.0]
    assert D.Binomial(-1, 0.5, validate_args=False).sample((2,)).tolist() == [0.0, 0.0]
