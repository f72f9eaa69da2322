"""Bernoulli, Categorical, OneHotCategorical (src/retrograd/distributions/bernoulli.py,
categorical.py, one_hot_categorical.py): probs and logits parameterizations against torch,
enumerate_support, shapes, chi-square tests of seeded samples, validation."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch, chi_square_statistic

PROBS = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
LOGITS = np.array([[1.0, -0.5, 2.0], [0.0, 0.3, -1.0]])
P_BERN = np.array([[0.2, 0.7, 0.5]])

# 99.9% quantiles of chi-square with k degrees of freedom (k = categories - 1)
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27}

CASES = {
    "Bernoulli-probs": (lambda m, p: m.distributions.Bernoulli(probs=p), [P_BERN], [[1.0, 0.0, 1.0]],
                        ["log_prob", "entropy", "mean", "mode", "variance", "logits"]),
    "Bernoulli-logits": (lambda m, lg: m.distributions.Bernoulli(logits=lg), [LOGITS], [[1.0, 0.0, 1.0]],
                         ["log_prob", "entropy", "mean", "mode", "variance", "probs"]),
    "Categorical-probs": (lambda m, p: m.distributions.Categorical(probs=p), [PROBS], [[2, 0], [1, 1]],
                          ["log_prob", "entropy", "mode", "logits", "probs"]),
    "Categorical-logits": (lambda m, lg: m.distributions.Categorical(logits=lg), [LOGITS], [[2, 0], [1, 1]],
                           ["log_prob", "entropy", "mode", "logits", "probs"]),
    "OneHotCategorical-probs": (lambda m, p: m.distributions.OneHotCategorical(probs=p), [PROBS],
                                [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
                                ["log_prob", "entropy", "mean", "mode", "variance", "logits"]),
    "OneHotCategorical-logits": (lambda m, lg: m.distributions.OneHotCategorical(logits=lg), [LOGITS],
                                 [[0.0, 1.0, 0.0]], ["log_prob", "entropy", "mean", "variance", "probs"]),
}


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_torch(case):
    build, params, x, methods = CASES[case]
    check_against_torch(build, params, methods, {"log_prob": x})


def test_categorical_shapes_and_enumerate_support():
    d = D.Categorical(probs=retrograd.tensor(PROBS))
    assert d.batch_shape == (2,) and d.event_shape == () and not d.has_rsample and d.has_enumerate_support
    assert d.sample((4,)).shape == (4, 2) and d.sample().dtype == retrograd.int64
    assert d.param_shape == (2, 3) and d.support.upper_bound == 2
    s = d.enumerate_support()
    assert s.shape == (3, 2) and s[:, 0].tolist() == [0, 1, 2]
    assert d.enumerate_support(expand=False).shape == (3, 1)
    assert d.expand((5, 2)).sample().shape == (5, 2)
    np.testing.assert_allclose(d.mean.isnan().all().item(), True)
    with pytest.raises(NotImplementedError):
        d.rsample()


def test_bernoulli_and_one_hot_enumerate_support():
    b = D.Bernoulli(probs=retrograd.tensor([0.3, 0.6]))
    assert b.enumerate_support().tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert b.enumerate_support(expand=False).shape == (2, 1)
    o = D.OneHotCategorical(probs=retrograd.tensor([0.2, 0.8]))
    assert o.event_shape == (2,) and o.enumerate_support().tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_normalizes_probs_as_torch():
    d = D.Categorical(probs=retrograd.tensor([2.0, 6.0]))
    np.testing.assert_allclose(d.probs.numpy(), [0.25, 0.75])


@pytest.mark.parametrize("make, k", [
    (lambda: D.Categorical(probs=retrograd.tensor([0.1, 0.2, 0.3, 0.4])), 4),
    (lambda: D.Categorical(logits=retrograd.tensor([1.0, 0.0, -1.0])), 3),
])
def test_categorical_sample_frequencies_chi_square(make, k):
    retrograd.manual_seed(0)
    d = make()
    counts = np.bincount(d.sample((8000,)).numpy(), minlength=k)
    assert chi_square_statistic(counts, d.probs.numpy()) < CHI2_999[k - 1]


def test_one_hot_and_bernoulli_sample_frequencies():
    retrograd.manual_seed(1)
    o = D.OneHotCategorical(probs=retrograd.tensor([0.5, 0.3, 0.2]))
    x = o.sample((6000,)).numpy()
    assert (x.sum(-1) == 1).all()
    assert chi_square_statistic(x.sum(0), [0.5, 0.3, 0.2]) < CHI2_999[2]
    b = D.Bernoulli(probs=retrograd.tensor(0.3)).sample((6000,)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert chi_square_statistic([(b == 0).sum(), (b == 1).sum()], [0.7, 0.3]) < CHI2_999[1]


def test_straight_through_gradients():
    probs = retrograd.tensor([0.2, 0.3, 0.5], requires_grad=True)
    retrograd.manual_seed(0)
    x = D.OneHotCategoricalStraightThrough(probs=probs).rsample((4,))
    assert x.shape == (4, 3) and (x.detach().sum(-1) == 1).all().item()
    (x * retrograd.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert probs.grad is not None and probs.grad.abs().sum().item() > 0


def test_validation_errors_as_torch():
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Bernoulli()
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Categorical(probs=retrograd.tensor([0.5, 0.5]), logits=retrograd.tensor([0.0, 0.0]))
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.Bernoulli(probs=retrograd.tensor([1.5]))
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.Categorical(probs=retrograd.tensor([-0.5, 1.5]))
    with pytest.raises(ValueError, match="`probs` parameter must be at least one-dimensional."):
        D.Categorical(probs=retrograd.tensor(1.0))
    with pytest.raises(ValueError, match="Expected value argument .* to be within the support"):
        D.Categorical(probs=retrograd.tensor([0.5, 0.5])).log_prob(retrograd.tensor(2))
    with pytest.raises(ValueError, match="to be within the support"):
        D.Bernoulli(probs=retrograd.tensor(0.5)).log_prob(retrograd.tensor(0.5))


def test_bernoulli_log_prob_dtype_and_integer_values_as_torch():
    # log_prob is -BCE-with-logits(logits, value): the value's dtype (float64 probs, float32 value:
    # float32), and an integer value raises as torch's (retrograd computed it)
    for cls in (D.Bernoulli, D.ContinuousBernoulli):
        d = cls(probs=retrograd.tensor(0.3, dtype=retrograd.float64))
        assert d.log_prob(retrograd.tensor([1.0, 0.0])).dtype == retrograd.float32
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
            cls(probs=retrograd.tensor(0.3)).log_prob(retrograd.tensor([1, 0]))


def test_probs_or_logits_families_have_torchs_private_param():
    # `_param` (the given probs or logits tensor, which code written for torch reads) was missing
    p = retrograd.tensor([0.3, 0.7])
    for d, given in [(D.Bernoulli(p), "probs"), (D.Bernoulli(logits=p), "logits"), (D.Categorical(p), "probs"),
                     (D.Binomial(3, logits=p), "logits"), (D.NegativeBinomial(3.0, p), "probs"),
                     (D.ContinuousBernoulli(p), "probs"), (D.OneHotCategorical(logits=p), "logits")]:
        assert d._param is getattr(d, given), type(d).__name__
    assert D.Categorical(logits=p).expand((2,))._param.shape == (2, 2)
