"""Multinomial (src/retrograd/distributions/multinomial.py): log_prob, entropy, moments against
torch, sample counts, validation."""

import numpy as np
import pytest

import retrograd
from retrograd import distributions as D
from tests.distributions.checks import check_against_torch, chi_square_statistic

PROBS = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])


def build(m, p):
    return m.distributions.Multinomial(5, probs=p)


def test_values_and_gradients_match_torch():
    check_against_torch(build, [PROBS], ["log_prob", "entropy", "mean", "variance"],
                        {"log_prob": [[1.0, 2.0, 2.0], [5.0, 0.0, 0.0]]}, rtol=1e-6)
    check_against_torch(lambda m, lg: m.distributions.Multinomial(3, logits=lg), [np.log(PROBS)], ["log_prob"],
                        {"log_prob": [[0.0, 1.0, 2.0]]}, rtol=1e-6)


def test_samples_sum_to_total_count_with_the_right_frequencies():
    retrograd.manual_seed(0)
    d = D.Multinomial(10, probs=retrograd.tensor([0.5, 0.3, 0.2]))
    x = d.sample((2000,))
    assert x.shape == (2000, 3) and d.event_shape == (3,) and (x.sum(-1) == 10).all().item()
    assert chi_square_statistic(x.numpy().sum(0), [0.5, 0.3, 0.2]) < 13.82  # 99.9% with 2 degrees
    assert d.expand((4,)).sample().shape == (4, 3)


def test_validation_errors_as_torch():
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count is not supported"):
        D.Multinomial(retrograd.tensor([1, 2]), probs=retrograd.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="Expected value argument .* to be within the support"):
        D.Multinomial(2, probs=retrograd.tensor([0.5, 0.5])).log_prob(retrograd.tensor([1.0, 2.0]))
